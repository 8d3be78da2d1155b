#!/bin/sh
# tests/browser/ctest_sites.sh WM VARDIR: ctest's browser_sites.
#
# Sites made by the real pipeline, served by the real server, checked by a
# validator and a browser:
#   1. a fresh database in the test cluster (VARDIR, the db fixture);
#   2. `wm run scripts/batch/demo.lua --cities 1 --industries 1 --quiet`
#      into it (simulated leads, offline LLM), WM_PATHS_VAR a temp folder;
#   3. `wm serve --no-jobs --quiet --listen 127.0.0.1:0` on that database
#      (the port it picked is read from its "http: listening" log line);
#   4. up to 4 of the sites fetched by Host (<subdomain>.localhost, with
#      fetch_site.js) and run through `html-validate` (.htmlvalidate.json);
#   5. the same sites loaded in Debian's Chromium by site_check.js at
#      http://<subdomain>.localhost:<port>/ (Chromium resolves *.localhost to
#      loopback itself), under the server's own CSP: no console error, no
#      request leaving the page's origin, and the rest of its checks;
#   6. the server stopped with SIGTERM; it must exit 0.
#
# Needs the Debian packages nodejs, npm and chromium: when one is missing
# this FAILS and names it (sh .ci/setup.sh --test installs them). The npm
# packages come from `npm ci` in tests/browser, run again only when
# package.json or package-lock.json changed (stamp: node_modules/.wm-stamp).
# On failure the temp folder (logs, fetched HTML) is kept and named.
# Env: CHROMIUM (default /usr/bin/chromium), BROWSER_SITES_MAX (default 4).
set -eu
[ $# -eq 2 ] || { echo "usage: ctest_sites.sh WM VARDIR" >&2; exit 2; }
wm=$1 var=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
chromium=${CHROMIUM:-/usr/bin/chromium}
max=${BROWSER_SITES_MAX:-4}

name=browser_sites
. "$here/lib.sh"
browser_needs

# --- a fresh database and a temp folder (lib.sh) -----------------------------
browser_db wm-browser
mkdir -p "$tmp/html"

# --- 1. sites through the real pipeline -------------------------------------
cd "$root"
t0=$(date +%s)
browser_demo
sites=$(psql -X -A -t -q -d "$WM_DATABASE_URL" -c "SELECT subdomain FROM generated_sites
    WHERE status IN ('preview', 'live', 'sold') ORDER BY created_at, subdomain LIMIT $max")
nsites=$(echo "$sites" | grep -c . || true)
say "demo made sites in $(($(date +%s) - t0)) s; checking $nsites"
if [ "$nsites" -eq 0 ]; then
    tail -20 "$tmp/demo.log" >&2
    fail "the demo run made no site to check"
fi

# --- 2. wm serve on that database ------------------------------------------
browser_serve --no-jobs
say "wm serve (pid $pid) listening on 127.0.0.1:$port"

status=0
# --- 3. html-validate on the served HTML -----------------------------------
urls=""
for s in $sites; do
    node "$here/fetch_site.js" "$port" "$s.localhost" "$tmp/html/$s.html" || status=1
    urls="$urls http://$s.localhost:$port/"
done
cd "$here"
if [ "$status" = 0 ]; then
    say "html-validate"
    npx --no-install html-validate --config .htmlvalidate.json "$tmp"/html/*.html || status=1
fi

# --- 4. the pages in Chromium -----------------------------------------------
say "site_check.js in $chromium"
# shellcheck disable=SC2086
CHROMIUM="$chromium" node site_check.js $urls || status=1

# --- 5. stop the server -----------------------------------------------------
browser_stop

[ "$status" = 0 ] || fail "see above"
ok=1
say "ok ($nsites sites: html-validate and Chromium)"
