#!/bin/sh
# tests/browser/ctest_purchase.sh WM VARDIR: ctest's browser_purchase.
#
# A preview site bought end to end on embedded defaults, in Chromium:
#   1. a fresh database in the test cluster; `wm run scripts/batch/demo.lua
#      --cities 1 --industries 1 --quiet` makes preview sites into it;
#   2. `wm serve --listen 127.0.0.1:0` with jobs (the webhook's apply job)
#      and the autopilot off, providers.payments = offline;
#   3. purchase.js: site -> claim -> checkout -> "Pay with test card" ->
#      back on the site, which turns live once the signed webhooks that the
#      /pay page posted to /hooks/recurrente are applied;
#   4. the rows: one paid checkout, one payment, the site live; the server
#      must stop cleanly on SIGTERM and log no error.
# Needs what ctest_sites.sh needs (nodejs, npm, chromium; npm ci there).
set -eu
[ $# -eq 2 ] || { echo "usage: ctest_purchase.sh WM VARDIR" >&2; exit 2; }
wm=$1 var=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
chromium=${CHROMIUM:-/usr/bin/chromium}

fail() {
    echo "browser_purchase: FAIL: $*" >&2
    exit 1
}
say() {
    echo "browser_purchase: $*"
}

missing=""
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -x "$chromium" ] || missing="$missing chromium"
[ -z "$missing" ] || fail "missing the Debian package(s)$missing: apt-get install$missing (or sh .ci/setup.sh --test)"
command -v psql >/dev/null 2>&1 || fail "psql not found: apt-get install postgresql-client"
cd "$here"
want=$(cat package.json package-lock.json | cksum | cut -d' ' -f1,2)
if [ ! -d node_modules/playwright-core ] || [ "$(cat node_modules/.wm-stamp 2>/dev/null)" != "$want" ]; then
    npm ci --no-audit --no-fund --loglevel=error || fail "npm ci failed in $here"
    echo "$want" >node_modules/.wm-stamp
fi

export WM_PATHS_VAR="$var"
unset WM_DATABASE_URL || true
base=$(WM_DATABASE_URL= "$wm" db url)
db="wmt_browser_purchase_$$"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wm-purchase-XXXXXX")
pid=""
ok=0
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        sleep 1
        kill -KILL "$pid" 2>/dev/null || true
    fi
    psql -X -q -d "$base" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
    if [ "$ok" = 1 ]; then rm -rf "$tmp"; else echo "browser_purchase: logs kept in $tmp" >&2; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
psql -X -q -d "$base" -c "CREATE DATABASE \"$db\"" >/dev/null
mkdir -p "$tmp/var"
export WM_DATABASE_URL="$base dbname=$db" WM_PATHS_VAR="$tmp/var" \
    WM_PROVIDERS_LEADS=simulated WM_PROVIDERS_WEBSITE=simulated WM_PROVIDERS_LLM=offline WM_LIGHTHOUSE_ENABLED=false \
    WM_PROVIDERS_PAYMENTS=offline WM_HTTP_SITES_DOMAIN=localhost WM_AUTOPILOT_ENABLED=false
unset WM_RECURRENTE_WEBHOOK_SECRET WM_SITES_BASE_URL WM_SITES_SITE_URL_PATTERN WM_COMMERCE_OFFLINE_HOOKS_URL || true

cd "$root"
"$wm" run scripts/batch/demo.lua --cities 1 --industries 1 --quiet >"$tmp/demo.log" 2>&1 ||
    { tail -40 "$tmp/demo.log" >&2; fail "wm run scripts/batch/demo.lua failed"; }
sub=$(psql -X -A -t -q -d "$WM_DATABASE_URL" -c "SELECT subdomain FROM generated_sites
    WHERE status = 'preview' AND claim_token IS NOT NULL ORDER BY created_at, subdomain LIMIT 1")
[ -n "$sub" ] || fail "the demo run made no preview site"

"$wm" serve --quiet --listen 127.0.0.1:0 >"$tmp/serve.out" 2>"$tmp/serve.log" &
pid=$!
port=""
i=0
while [ $i -lt 200 ]; do
    port=$(grep '"http: listening"' "$tmp/serve.log" 2>/dev/null | head -1 | sed -n 's/.*"port":\([0-9][0-9]*\).*/\1/p')
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
    i=$((i + 1))
done
[ -n "$port" ] || { cat "$tmp/serve.log" >&2; fail "wm serve did not start listening"; }
say "wm serve (pid $pid) on 127.0.0.1:$port; buying $sub"

status=0
(cd "$here" && CHROMIUM="$chromium" node purchase.js "$port" "$sub") || status=1

rows=$(psql -X -A -t -q -d "$WM_DATABASE_URL" -v sub="$sub" <<'SQL'
SELECT (SELECT count(*) FROM checkouts k JOIN generated_sites s ON s.id = k.site_id
          WHERE s.subdomain = :'sub' AND k.status = 'paid' AND k.provider = 'offline') || ' ' ||
       (SELECT count(*) FROM payments WHERE status = 'succeeded') || ' ' ||
       (SELECT status FROM generated_sites WHERE subdomain = :'sub')
SQL
)
say "paid checkouts, payments, site status: $rows"
[ "$rows" = "1 1 live" ] || { echo "browser_purchase: expected '1 1 live'" >&2; status=1; }

kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
[ "$rc" -eq 0 ] || { tail -20 "$tmp/serve.log" >&2; echo "browser_purchase: wm serve exited with $rc" >&2; status=1; }
if grep -q -e '"level":"error"' "$tmp/serve.log"; then
    grep -e '"level":"error"' "$tmp/serve.log" | head -20 >&2
    echo "browser_purchase: wm serve logged errors" >&2
    status=1
fi
[ "$status" = 0 ] || fail "see above"
ok=1
say "ok"
