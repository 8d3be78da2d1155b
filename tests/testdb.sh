#!/bin/sh
# testdb.sh up|down WM VARDIR: the throwaway cluster for a test run.
set -eu
cmd=$1 wm=$2 var=$3
export WM_PATHS_VAR="$var" WM_DATABASE_URL=
case $cmd in
up)
    mkdir -p "$var"
    "$wm" db start
    ;;
down)
    "$wm" db destroy --yes
    rm -rf "$var"
    ;;
esac
