#!/bin/sh
# tests/browser/ctest_admin.sh WM VARDIR [OUTDIR]: ctest's browser_admin.
#
# The dashboard walked in Chromium by each role:
#   1. a fresh database in the test cluster; `wm run scripts/batch/demo.lua
#      --cities 1 --industries 1 --quiet` fills it (leads, sites, emails),
#      then hostile data is added: a lead named <img src=x onerror=alert(1)>
#      with a review containing </script>, a customer named with a <script>,
#      a payment, a subscription, a failed webhook event whose body carries
#      </script>, a discarded job and 30 days of analytics snapshots;
#   2. one account per role with `wm users add` (password on stdin);
#   3. `wm serve --no-jobs --listen 127.0.0.1:0`;
#   4. admin_walk.js (see there): every page of each role's nav, no console
#      error, nothing loaded from elsewhere, no dialog, charts drawn, hostile
#      strings as text, a viewer without edit controls and refused forced
#      POSTs, CSRF missing or wrong refused; screenshots at 1280 and 390 px
#      into OUTDIR (default: VARDIR/../admin-screenshots, i.e. in the build
#      folder, not committed);
#   5. nothing the refused POSTs aimed at changed; the server stops cleanly
#      on SIGTERM and logged no error.
# Needs what ctest_sites.sh needs (nodejs, npm, chromium; npm ci there).
set -eu
[ $# -ge 2 ] || { echo "usage: ctest_admin.sh WM VARDIR [OUTDIR]" >&2; exit 2; }
wm=$1 var=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
chromium=${CHROMIUM:-/usr/bin/chromium}
mkdir -p "$var"
shots=${3:-$(cd "$var/.." && pwd)/admin-screenshots}

name=browser_admin
. "$here/lib.sh"
browser_needs
browser_db wm-admin
export WM_PROVIDERS_PAYMENTS=offline WM_AUTOPILOT_ENABLED=false
unset WM_RECURRENTE_WEBHOOK_SECRET WM_SITES_BASE_URL WM_SITES_SITE_URL_PATTERN WM_COMMERCE_OFFLINE_HOOKS_URL || true

cd "$root"
browser_demo

q() {
    psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$WM_DATABASE_URL" "$@"
}
q >/dev/null <<'SQL' || fail "seeding the hostile data failed"
INSERT INTO businesses (gmb_id, slug, name, city, state, lead_status, email, rating, review_count, raw_place)
VALUES ('walk-hostile', 'walk-hostile', '<img src=x onerror=alert(1)>', 'Austin', 'TX', 'qualified',
        'hostile@walk.example', 4.8, 2,
        '{"reviews": [{"text": "Great </script><script>alert(2)</script> service"}]}');
WITH c AS (
    INSERT INTO customers (email, full_name, status, lifetime_value_cents, recurrente_user_id)
    VALUES ('eve@walk.example', 'Eve <script>alert(3)</script>', 'active', 80000, 'us_walk') RETURNING id),
s AS (
    INSERT INTO subscriptions (customer_id, recurrente_subscription_id, amount_cents, status, current_period_start,
                               current_period_end)
    SELECT id, 'su_walk', 80000, 'active', now(), now() + interval '1 month' FROM c RETURNING id, customer_id)
INSERT INTO payments (customer_id, subscription_id, recurrente_payment_id, amount_cents, fee_cents, net_cents,
                      payment_type, status, payment_method, card_last4, card_network, paid_at)
SELECT customer_id, id, 'pa_walk', 80000, 3600, 76400, 'subscription', 'succeeded', 'card', '4242', 'visa', now()
FROM s;
INSERT INTO jobs (kind, status, attempt, max_attempts, last_error)
VALUES ('scrape', 'discarded', 3, 3, 'walk: </script><b>boom</b>');
INSERT INTO analytics_snapshots (snapshot_date, leads_scraped, leads_qualified, sites_generated, emails_sent,
                                 emails_opened, emails_clicked, purchases, revenue_cents, mrr_cents)
SELECT d::date, 20 + i % 7, 5 + i % 3, 3 + i % 2, 3 + i % 2, 1 + i % 2, i % 2, (i % 5 = 0)::int,
       (i % 5 = 0)::int * 80000, 80000 * (1 + i / 5)
FROM generate_series(1, 30) i, LATERAL (SELECT current_date - (30 - i)) AS x(d);
INSERT INTO webhook_events (provider, event_id, event_type, body, status, error, attempts, processed_at)
VALUES ('recurrente', 'msg_walk_failed', 'payment_intent.succeeded',
        '{"id": "pa_x", "event_type": "payment_intent.succeeded", "customer": {"full_name": "</script><script>alert(4)</script>"}}',
        'failed', 'walk: no site for this payment', 7, now());
SQL
ids=$(q -c "SELECT json_build_object(
    'job', (SELECT max(id) FROM jobs WHERE kind = 'scrape' AND status = 'discarded'),
    'event', (SELECT id FROM webhook_events WHERE event_id = 'msg_walk_failed'),
    'subscription', (SELECT id FROM subscriptions WHERE recurrente_subscription_id = 'su_walk'),
    'payment', (SELECT id FROM payments WHERE recurrente_payment_id = 'pa_walk'),
    'customer', (SELECT id FROM customers WHERE recurrente_user_id = 'us_walk'))")
mkdir -p "$shots"
echo "$ids" >"$shots/ids.json"
state() {
    q -c "SELECT (SELECT status FROM jobs WHERE kind = 'scrape' AND last_error LIKE 'walk:%') || ' ' ||
        (SELECT status FROM webhook_events WHERE event_id = 'msg_walk_failed') || ' ' ||
        (SELECT status FROM subscriptions WHERE recurrente_subscription_id = 'su_walk') || ' ' ||
        (SELECT status FROM payments WHERE recurrente_payment_id = 'pa_walk') || ' ' ||
        (SELECT count(*) FROM portal_links) || ' ' || (SELECT count(*) FROM admin_users)"
}
before=$(state)

password="walk-$(date +%s)-$$-password"
for role in viewer editor admin super_admin; do
    printf '%s\n' "$password" | "$wm" users add "$role@walk.example" --role "$role" --name "Walk $role" \
        >>"$tmp/users.log" 2>&1 || { cat "$tmp/users.log" >&2; fail "wm users add $role failed"; }
done
after_users=$(state)

browser_serve --no-jobs
say "wm serve (pid $pid) on 127.0.0.1:$port; screenshots into $shots"

status=0
(cd "$here" && CHROMIUM="$chromium" node admin_walk.js "$port" "$password" "$shots") || status=1

# The admin's CSRF probes and every lower role's forced POSTs were refused:
# the rows they aimed at are as they were.
after=$(state)
say "job, event, subscription, payment, portal links, accounts: $after"
[ "$after" = "$after_users" ] || { echo "browser_admin: changed by refused POSTs: '$after_users' -> '$after'" >&2; status=1; }
[ "$before" != "$after_users" ] || { echo "browser_admin: wm users add made no account" >&2; status=1; }

browser_stop
[ "$status" = 0 ] || fail "see above"
ok=1
say "ok"
