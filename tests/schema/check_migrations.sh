#!/bin/sh
# check_migrations.sh WM VARDIR: `wm migrate` on an empty database gives
# the seed's schema fact by fact (tests/schema/compare.sh), and the seed's
# common queries run unchanged on it.
set -eu
wm=$1 var=$2
here=$(cd "$(dirname "$0")" && pwd)
export WM_PATHS_VAR="$var"
base=$(WM_DATABASE_URL= "$wm" db url)
a="wms_seed_$$" b="wms_migrated_$$"
cleanup() {
    psql -X -q -d "$base" -c "DROP DATABASE IF EXISTS \"$a\" WITH (FORCE)" >/dev/null 2>&1 || true
    psql -X -q -d "$base" -c "DROP DATABASE IF EXISTS \"$b\" WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
psql -X -q -d "$base" -c "CREATE DATABASE \"$a\"" -c "CREATE DATABASE \"$b\""
psql -X -q -v ON_ERROR_STOP=1 -1 -d "$base dbname=$a" -f "$here/seed.sql"
WM_DATABASE_URL="$base dbname=$b" "$wm" migrate
"$here/compare.sh" "$base dbname=$a" "$base dbname=$b"
psql -X -q -v ON_ERROR_STOP=1 -d "$base dbname=$b" -f "$here/seed_queries.sql" >/dev/null
echo "seed common queries: ok"
echo "1 passed, 0 failed"
