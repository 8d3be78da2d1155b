#!/bin/sh
# run_lua_test.sh WM VARDIR FILE: runs one Lua test file against a fresh
# database of its own in the test cluster, then drops it.
set -eu
wm=$1 var=$2 file=$3
export WM_PATHS_VAR="$var"
unset WM_DATABASE_URL || true
base=$(WM_DATABASE_URL= "$wm" db url)
name=$(basename "$file" .lua)
db="wmt_${name}_$$"
psql -X -q -d "$base" -c "CREATE DATABASE \"$db\"" >/dev/null
trap 'psql -X -q -d "$base" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
export WM_DATABASE_URL="$base dbname=$db" WM_TEST_BASE_URL="$base" WM_TEST_WM="$wm"
# WM_TEST_TIMEOUT: seconds per test function instead of wm test's 120
# (a test that walks every route of the dashboard on a loaded machine).
"$wm" test ${WM_TEST_TIMEOUT:+--timeout "$WM_TEST_TIMEOUT"} "$file"
