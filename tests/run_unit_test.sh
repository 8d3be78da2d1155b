#!/bin/sh
# run_unit_test.sh RUNNER WM VARDIR TEST: one C unit test, with the test
# cluster's URL in WM_TEST_DATABASE_URL.
set -eu
runner=$1 wm=$2 var=$3 test=$4
export WM_PATHS_VAR="$var"
WM_TEST_DATABASE_URL=$(WM_DATABASE_URL= "$wm" db url)
export WM_TEST_DATABASE_URL
exec "$runner" "$test"
