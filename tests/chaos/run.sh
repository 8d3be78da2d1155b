#!/bin/sh
# tests/chaos/run.sh [--long] [options]: the chaos suite by hand, with
# build/wm (or $WM). Options: python3 tests/chaos/chaos.py --help; the
# suite is described in tests/chaos/README.md.
here=$(cd "$(dirname "$0")" && pwd)
exec python3 "$here/chaos.py" --wm "${WM:-$here/../../build/wm}" "$@"
