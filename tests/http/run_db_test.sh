#!/bin/sh
# run_db_test.sh WM VARDIR: the HTTP tests that need the database: /healthz
# turns 200 once the background ping answers, and a route can query.
set -eu
wm=$1 var=$2
export WM_PATHS_VAR="$var"
unset WM_DATABASE_URL || true
WM_DATABASE_URL=$(WM_DATABASE_URL= "$wm" db url)
export WM_DATABASE_URL
exec python3 "$(dirname "$0")/test_httpd.py" "$wm" --db -k healthz
