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

fail() {
    echo "browser_sites: FAIL: $*" >&2
    exit 1
}
say() {
    echo "browser_sites: $*"
}

# --- what the machine needs -------------------------------------------------
missing=""
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -x "$chromium" ] || missing="$missing chromium"
if [ -n "$missing" ]; then
    fail "missing the Debian package(s)$missing: apt-get install$missing (or sh .ci/setup.sh --test)"
fi
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 18 ] ||
    fail "node $(node --version) is too old: the npm packages need Node.js 18 or later (Debian 12's nodejs is 18)"
command -v psql >/dev/null 2>&1 || fail "psql not found: apt-get install postgresql-client"
[ -x "$wm" ] || fail "$wm not built"

# --- npm packages: npm ci only when the lock changed ------------------------
cd "$here"
want=$(cat package.json package-lock.json | cksum | cut -d' ' -f1,2)
stamp=node_modules/.wm-stamp
if [ ! -d node_modules/html-validate ] || [ ! -d node_modules/playwright-core ] ||
    [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "npm ci in $here (node_modules missing or package-lock.json changed)"
    t0=$(date +%s)
    npm ci --no-audit --no-fund --loglevel=error ||
        fail "npm ci failed in $here (is the npm registry reachable?)"
    echo "$want" >"$stamp"
    say "npm ci took $(($(date +%s) - t0)) s"
fi

# --- a fresh database and a temp folder -------------------------------------
export WM_PATHS_VAR="$var"
unset WM_DATABASE_URL || true
base=$(WM_DATABASE_URL= "$wm" db url)
db="wmt_browser_sites_$$"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wm-browser-XXXXXX")
pid=""
ok=0
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        sleep 1
        kill -KILL "$pid" 2>/dev/null || true
    fi
    psql -X -q -d "$base" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
    if [ "$ok" = 1 ]; then
        rm -rf "$tmp"
    else
        echo "browser_sites: logs and fetched pages kept in $tmp" >&2
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
psql -X -q -d "$base" -c "CREATE DATABASE \"$db\"" >/dev/null
mkdir -p "$tmp/var" "$tmp/html"

# From here on wm works on that database. The pipeline's providers are
# pinned to the offline ones whatever the environment says: the test must
# never reach the network.
export WM_DATABASE_URL="$base dbname=$db" WM_PATHS_VAR="$tmp/var" \
    WM_PROVIDERS_LEADS=simulated WM_PROVIDERS_WEBSITE=simulated WM_PROVIDERS_LLM=offline WM_LIGHTHOUSE_ENABLED=false \
    WM_HTTP_SITES_DOMAIN=localhost

# --- 1. sites through the real pipeline -------------------------------------
cd "$root"
t0=$(date +%s)
if ! "$wm" run scripts/batch/demo.lua --cities 1 --industries 1 --quiet >"$tmp/demo.log" 2>&1; then
    tail -40 "$tmp/demo.log" >&2
    fail "wm run scripts/batch/demo.lua failed"
fi
sites=$(psql -X -A -t -q -d "$WM_DATABASE_URL" -c "SELECT subdomain FROM generated_sites
    WHERE status IN ('preview', 'live', 'sold') ORDER BY created_at, subdomain LIMIT $max")
nsites=$(echo "$sites" | grep -c . || true)
say "demo made sites in $(($(date +%s) - t0)) s; checking $nsites"
if [ "$nsites" -eq 0 ]; then
    tail -20 "$tmp/demo.log" >&2
    fail "the demo run made no site to check"
fi

# --- 2. wm serve on that database ------------------------------------------
# A plain command in the background: $! is wm itself (not a subshell).
"$wm" serve --no-jobs --quiet --listen 127.0.0.1:0 >"$tmp/serve.out" 2>"$tmp/serve.log" &
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
if [ -z "$port" ]; then
    cat "$tmp/serve.log" >&2
    fail "wm serve did not start listening"
fi
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
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
if [ "$rc" -ne 0 ]; then
    tail -20 "$tmp/serve.log" >&2
    echo "browser_sites: wm serve exited with $rc after SIGTERM" >&2
    status=1
fi
if grep -q -e "AddressSanitizer" -e "runtime error:" -e '"level":"error"' "$tmp/serve.log"; then
    grep -e "AddressSanitizer" -e "runtime error:" -e '"level":"error"' "$tmp/serve.log" | head -20 >&2
    echo "browser_sites: wm serve logged errors" >&2
    status=1
fi

[ "$status" = 0 ] || fail "see above"
ok=1
say "ok ($nsites sites: html-validate and Chromium)"
