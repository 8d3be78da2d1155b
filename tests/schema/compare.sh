#!/bin/sh
# tests/schema/compare.sh: prove that two databases have the same seed schema.
#
# usage: compare.sh PSQL_CONNINFO_A PSQL_CONNINFO_B
#   e.g. compare.sh "host=/tmp/pg dbname=seed" "host=/tmp/pg dbname=migrated"
#
# Runs facts.sql (next to this script) on both databases and diffs the outputs.
# Exit 0 and "schema facts identical (N facts)" when equal; otherwise the diff
# (A = "-", B = "+") and exit 1. Exit 2 on usage or psql errors.
# Set PSQL to use another psql binary.

set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 PSQL_CONNINFO_A PSQL_CONNINFO_B" >&2
    exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
facts_sql="$here/facts.sql"
psql_bin=${PSQL:-psql}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wm-schema.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM

run_facts() {
    # -X: no ~/.psqlrc; -q: no command tags; -A -t: bare rows, one per line.
    "$psql_bin" -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" -f "$facts_sql" >"$2"
}

if ! run_facts "$1" "$tmp/a"; then
    echo "compare.sh: psql failed on A ($1)" >&2
    exit 2
fi
if ! run_facts "$2" "$tmp/b"; then
    echo "compare.sh: psql failed on B ($2)" >&2
    exit 2
fi

if [ ! -s "$tmp/a" ] && [ ! -s "$tmp/b" ]; then
    echo "compare.sh: no seed tables in either database" >&2
    exit 1
fi

if diff -u --label "A: $1" --label "B: $2" "$tmp/a" "$tmp/b"; then
    n=$(wc -l <"$tmp/a" | tr -d ' ')
    echo "schema facts identical ($n facts)"
    exit 0
fi
exit 1
