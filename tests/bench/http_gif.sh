#!/bin/sh
# http_gif.sh [SECONDS]: the 43-byte GIF case of http_bench.sh (wm vs nginx).
exec "$(dirname "$0")/http_bench.sh" gif "$@"
