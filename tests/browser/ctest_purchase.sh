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

name=browser_purchase
. "$here/lib.sh"
browser_needs
browser_db wm-purchase
export WM_PROVIDERS_PAYMENTS=offline WM_AUTOPILOT_ENABLED=false
unset WM_RECURRENTE_WEBHOOK_SECRET WM_SITES_BASE_URL WM_SITES_SITE_URL_PATTERN WM_COMMERCE_OFFLINE_HOOKS_URL || true

cd "$root"
browser_demo
sub=$(psql -X -A -t -q -d "$WM_DATABASE_URL" -c "SELECT subdomain FROM generated_sites
    WHERE status = 'preview' AND claim_token IS NOT NULL ORDER BY created_at, subdomain LIMIT 1")
[ -n "$sub" ] || fail "the demo run made no preview site"

browser_serve
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

browser_stop
[ "$status" = 0 ] || fail "see above"
ok=1
say "ok"
