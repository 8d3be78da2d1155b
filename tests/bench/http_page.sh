#!/bin/sh
# http_page.sh [SECONDS]: the 27 KB page case of http_bench.sh (wm vs nginx).
exec "$(dirname "$0")/http_bench.sh" page "$@"
