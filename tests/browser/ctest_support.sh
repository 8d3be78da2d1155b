#!/bin/sh
# tests/browser/ctest_support.sh WM VARDIR [OUTDIR]: ctest's browser_support.
#
# A customer's whole support path after a purchase, in Chromium:
#   1. a fresh database in the test cluster; `wm run scripts/batch/demo.lua
#      --cities 1 --industries 1 --quiet` makes preview sites into it;
#   2. `wm serve --listen 127.0.0.1:0` with jobs (the webhooks' apply jobs,
#      the welcome email, interpret_ticket), the autopilot off, offline
#      payments and LLM;
#   3. support_walk.js (see there): buy the site, sign in to the portal from
#      the welcome email, request a phone change, see the diff, approve, see
#      it live, restore the version before, see the old number again, then a
#      hostile request shown as text and never reaching a page; screenshots
#      of each step into OUTDIR (default: VARDIR/../support-screenshots,
#      i.e. in the build folder, not committed);
#   4. the rows: the phone change completed, the site at version 3 (the
#      change, then the restore), and no page of the site's business, live,
#      archived or proposed, carrying evil.example, an executable <script>
#      or an onerror attribute; the server stops cleanly on SIGTERM and
#      logged no error.
# Needs what ctest_sites.sh needs (nodejs, npm, chromium; npm ci there).
set -eu
[ $# -ge 2 ] || { echo "usage: ctest_support.sh WM VARDIR [OUTDIR]" >&2; exit 2; }
wm=$1 var=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
chromium=${CHROMIUM:-/usr/bin/chromium}
mkdir -p "$var"
shots=${3:-$(cd "$var/.." && pwd)/support-screenshots}

name=browser_support
. "$here/lib.sh"
browser_needs
browser_db wm-support
export WM_PROVIDERS_PAYMENTS=offline WM_AUTOPILOT_ENABLED=false
unset WM_RECURRENTE_WEBHOOK_SECRET WM_SITES_BASE_URL WM_SITES_SITE_URL_PATTERN WM_COMMERCE_OFFLINE_HOOKS_URL || true

cd "$root"
browser_demo
q() {
    psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$WM_DATABASE_URL" "$@"
}
sub=$(q -c "SELECT subdomain FROM generated_sites
    WHERE status = 'preview' AND claim_token IS NOT NULL ORDER BY created_at, subdomain LIMIT 1")
[ -n "$sub" ] || fail "the demo run made no preview site"

browser_serve
rm -f "$shots"/*.png
mkdir -p "$shots"
say "wm serve (pid $pid) on 127.0.0.1:$port; walking $sub; screenshots into $shots"

status=0
(cd "$here" && CHROMIUM="$chromium" node support_walk.js "$port" "$sub" "$shots") || status=1

# What the walk did, as the rows have it: the phone change completed, and
# the site at version 3 (1 bought, 2 the change, 3 the restore of 1).
rows=$(q -v sub="$sub" <<'SQL'
SELECT (SELECT string_agg(t.status, ',' ORDER BY t.created_at) FROM support_tickets t
          JOIN generated_sites g ON g.id = t.site_id WHERE g.subdomain = :'sub') || ' ' ||
       (SELECT status || ' v' || coalesce(version, 1) FROM generated_sites WHERE subdomain = :'sub')
SQL
)
say "tickets, site: $rows"
case "$rows" in
"completed,needs_person live v3" | "completed,completed live v4" | "completed,rejected live v3") ;;
*) echo "browser_support: expected the phone change completed and the site live at version 3: '$rows'" >&2; status=1 ;;
esac

# No page of the business, whatever its status (the proposals included),
# carries the hostile request's script, handler or address.
bad=$(q -v sub="$sub" <<'SQL'
SELECT string_agg(g.status || ' v' || coalesce(g.version, 1), ', ') FROM generated_sites g
WHERE g.business_id = (SELECT business_id FROM generated_sites WHERE subdomain = :'sub')
  AND (g.html_content ILIKE '%evil.example%' OR g.html_content ~* '\sonerror\s*='
       OR g.html_content ~* '<script(?![^>]*type="application/ld\+json")')
SQL
)
[ -z "$bad" ] || { echo "browser_support: hostile markup stored in the page(s): $bad" >&2; status=1; }

browser_stop
[ "$status" = 0 ] || fail "see above"
ok=1
say "ok"
