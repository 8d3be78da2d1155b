#!/bin/sh
# http_page.sh [SECONDS]: the page case of http_bench.sh (a generated site,
# gzip, wm vs nginx with gzip_static).
exec "$(dirname "$0")/http_bench.sh" page "$@"
