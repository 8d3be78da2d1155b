#!/bin/sh
# tests/browser/ctest_demo.sh WM VARDIR: ctest's browser_demo fixture. The
# preview sites every browser check starts from, made once for the suite:
# `wm run scripts/batch/demo.lua --cities 1 --industries 1 --quiet` into the
# database wmt_browser_demo of the test cluster and the var folder
# <build>/browser-demo-var (marked .ready when the demo finished); each check
# copies both (lib.sh browser_demo) instead of running the demo itself.
set -eu
[ $# -ge 2 ] || { echo "usage: ctest_demo.sh WM VARDIR" >&2; exit 2; }
wm=$1 var=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mkdir -p "$var"

name=browser_demo
. "$here/lib.sh"
command -v psql >/dev/null 2>&1 || fail "psql not found: apt-get install postgresql-client"
[ -x "$wm" ] || fail "$wm not built"
export WM_PATHS_VAR="$var"    # the test cluster's folder: wm db url finds it there
unset WM_DATABASE_URL || true
base=$(WM_DATABASE_URL= "$wm" db url)
demo_var=$(browser_demo_var)
rm -rf "$demo_var"
mkdir -p "$demo_var"
psql -X -q -d "$base" -c "DROP DATABASE IF EXISTS \"$BROWSER_DEMO_DB\" WITH (FORCE)" \
    -c "CREATE DATABASE \"$BROWSER_DEMO_DB\"" >/dev/null
browser_env "$BROWSER_DEMO_DB" "$demo_var"
tmp=$demo_var
browser_run_demo
rm -f "$demo_var/demo.log"
touch "$demo_var/.ready"
say "ok: $(psql -X -A -t -q -d "$WM_DATABASE_URL" -c "SELECT count(*) FROM generated_sites") sites in $BROWSER_DEMO_DB"
