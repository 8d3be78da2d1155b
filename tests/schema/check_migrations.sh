#!/bin/sh
# check_migrations.sh WM VARDIR: the seed migrations (001-003) on an empty
# database give the seed's schema fact by fact (tests/schema/compare.sh);
# every later migration only adds to it (each seed fact still holds after
# `wm migrate`); the seed's common queries run unchanged on the result.
set -eu
wm=$1 var=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export WM_PATHS_VAR="$var"
base=$(WM_DATABASE_URL= "$wm" db url)
a="wms_seed_$$" b="wms_migrated_$$" c="wms_all_$$"
tmp=$(mktemp -d)
cleanup() {
    for d in "$a" "$b" "$c"; do
        psql -X -q -d "$base" -c "DROP DATABASE IF EXISTS \"$d\" WITH (FORCE)" >/dev/null 2>&1 || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
psql -X -q -d "$base" -c "CREATE DATABASE \"$a\"" -c "CREATE DATABASE \"$b\"" -c "CREATE DATABASE \"$c\""
psql -X -q -v ON_ERROR_STOP=1 -1 -d "$base dbname=$a" -f "$here/seed.sql"

mkdir "$tmp/seed_migrations"
cp "$root"/migrations/00[1-3]_*.sql "$tmp/seed_migrations/"
WM_DATABASE_URL="$base dbname=$b" WM_PATHS_MIGRATIONS="$tmp/seed_migrations" "$wm" migrate
"$here/compare.sh" "$base dbname=$a" "$base dbname=$b"

WM_DATABASE_URL="$base dbname=$c" "$wm" migrate >/dev/null
psql -X -qtA -d "$base dbname=$a" -f "$here/facts.sql" | sort > "$tmp/seed.facts"
psql -X -qtA -d "$base dbname=$c" -f "$here/facts.sql" | sort > "$tmp/all.facts"
missing=$(comm -23 "$tmp/seed.facts" "$tmp/all.facts")
if [ -n "$missing" ]; then
    echo "later migrations changed the seed schema; these seed facts no longer hold:"
    echo "$missing"
    exit 1
fi
echo "every later migration only adds: all $(wc -l < "$tmp/seed.facts") seed facts still hold"
psql -X -q -v ON_ERROR_STOP=1 -d "$base dbname=$c" -f "$here/seed_queries.sql" >/dev/null
echo "seed common queries: ok"
echo "1 passed, 0 failed"
