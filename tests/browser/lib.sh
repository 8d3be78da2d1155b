# What the browser checks' ctest scripts share (ctest_sites.sh,
# ctest_purchase.sh, ctest_admin.sh, ctest_support.sh and the demo fixture
# ctest_demo.sh), sourced after they set
#   name (browser_sites ...), wm, var (ctest's VARDIR, the db fixture's),
#   here (tests/browser), root, chromium.
# Not run on its own.

fail() {
    echo "$name: FAIL: $*" >&2
    exit 1
}
say() {
    echo "$name: $*"
}

# The Debian packages (nodejs 18+, npm, chromium, psql) and the npm packages
# of tests/browser: `npm ci` again only when package.json or
# package-lock.json changed (stamp: node_modules/.wm-stamp, the one
# .ci/setup.sh --test writes). When a package is missing this FAILS and
# names it.
browser_needs() {
    missing=""
    command -v node >/dev/null 2>&1 || missing="$missing nodejs"
    command -v npm >/dev/null 2>&1 || missing="$missing npm"
    [ -x "$chromium" ] || missing="$missing chromium"
    [ -z "$missing" ] || fail "missing the Debian package(s)$missing: apt-get install$missing (or sh .ci/setup.sh --test)"
    major=$(node -p 'process.versions.node.split(".")[0]')
    [ "$major" -ge 18 ] ||
        fail "node $(node --version) is too old: the npm packages need Node.js 18 or later (Debian 12's nodejs is 18)"
    command -v psql >/dev/null 2>&1 || fail "psql not found: apt-get install postgresql-client"
    [ -x "$wm" ] || fail "$wm not built"
    want=$(cd "$here" && cat package.json package-lock.json | cksum | cut -d' ' -f1,2)
    stamp=$here/node_modules/.wm-stamp
    if [ ! -d "$here/node_modules/html-validate" ] || [ ! -d "$here/node_modules/playwright-core" ] ||
        [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        say "npm ci in $here (node_modules missing or package-lock.json changed)"
        (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) ||
            fail "npm ci failed in $here (is the npm registry reachable?)"
        echo "$want" >"$stamp"
    fi
}

# browser_db TMPNAME: a fresh database in the test cluster (dropped on exit)
# and a temp folder $tmp (with $tmp/var, WM_PATHS_VAR), removed on success
# and named on failure; wm works on them from here on, its providers pinned
# to the offline ones whatever the environment says (the test must never
# reach the network), Lighthouse off. A wm serve started by browser_serve is
# stopped on exit.
browser_db() {
    export WM_PATHS_VAR="$var"    # the test cluster's folder: wm db url finds it there
    unset WM_DATABASE_URL || true
    base=$(WM_DATABASE_URL= "$wm" db url)
    db="wmt_${name}_$$"
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1-XXXXXX")
    pid=""
    ok=0
    trap browser_cleanup EXIT
    trap 'exit 1' INT TERM HUP
    psql -X -q -d "$base" -c "CREATE DATABASE \"$db\"" >/dev/null
    mkdir -p "$tmp/var"
    browser_env "$db" "$tmp/var"
}

# browser_env DB VAR: wm on database DB of the test cluster ($base) and the
# var folder VAR, its providers pinned to the offline ones.
browser_env() {
    export WM_DATABASE_URL="$base dbname=$1" WM_PATHS_VAR="$2" \
        WM_PROVIDERS_LEADS=simulated WM_PROVIDERS_WEBSITE=simulated WM_PROVIDERS_LLM=offline \
        WM_LIGHTHOUSE_ENABLED=false WM_HTTP_SITES_DOMAIN=localhost
}

# The demo's database and var folder, made once by the browser_demo fixture
# (ctest_demo.sh) and copied by each check; .ready marks a finished one.
BROWSER_DEMO_DB=wmt_browser_demo
browser_demo_var() {
    echo "$(cd "$var/.." && pwd)/browser-demo-var"
}

browser_cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        sleep 1
        kill -KILL "$pid" 2>/dev/null || true
    fi
    psql -X -q -d "$base" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
    if [ "$ok" = 1 ]; then rm -rf "$tmp"; else echo "$name: logs kept in $tmp" >&2; fi
}

# Preview sites through the real pipeline: scripts/batch/demo.lua, one city
# and one industry (simulated leads, offline LLM).
# Made once by the fixture and copied here (CREATE DATABASE ... TEMPLATE,
# the var folder with its screenshots, outbox and tracking key) when it is
# there: each check starts from the same sites, and the suite runs the demo
# once instead of four times. A check run by itself makes its own.
browser_demo() {
    demo_var=$(browser_demo_var)
    if [ -f "$demo_var/.ready" ] && [ "$(psql -X -A -t -q -d "$base" -c \
        "SELECT 1 FROM pg_database WHERE datname = '$BROWSER_DEMO_DB'")" = 1 ]; then
        tries=0
        until psql -X -q -d "$base" -c "DROP DATABASE \"$db\"" \
            -c "CREATE DATABASE \"$db\" TEMPLATE \"$BROWSER_DEMO_DB\"" >"$tmp/clone.log" 2>&1; do
            tries=$((tries + 1))
            # Another check copying it at the same moment: try again.
            [ $tries -lt 20 ] || { cat "$tmp/clone.log" >&2; fail "cannot copy the demo database $BROWSER_DEMO_DB"; }
            psql -X -q -d "$base" -c "CREATE DATABASE \"$db\"" >/dev/null 2>&1 || true
            sleep 0.5
        done
        cp -a "$demo_var/." "$tmp/var/"
        rm -f "$tmp/var/.ready"
        return
    fi
    browser_run_demo
}

browser_run_demo() {
    (cd "$root" && "$wm" run scripts/batch/demo.lua --cities 1 --industries 1 --quiet) >"$tmp/demo.log" 2>&1 ||
        { tail -40 "$tmp/demo.log" >&2; fail "wm run scripts/batch/demo.lua failed"; }
}

# browser_serve [wm serve options]: wm serve --quiet --listen 127.0.0.1:0 in
# the background ($pid is wm itself), $port the port it picked (read from
# its "http: listening" log line).
browser_serve() {
    "$wm" serve --quiet "$@" --listen 127.0.0.1:0 >"$tmp/serve.out" 2>"$tmp/serve.log" &
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
}

# Stops the server with SIGTERM: status=1 unless it exits 0 having logged
# no error (nor a sanitizer report).
browser_stop() {
    kill -TERM "$pid"
    rc=0
    wait "$pid" || rc=$?
    pid=""
    [ "$rc" -eq 0 ] || { tail -20 "$tmp/serve.log" >&2; echo "$name: wm serve exited with $rc after SIGTERM" >&2; status=1; }
    if grep -q -e "AddressSanitizer" -e "runtime error:" -e '"level":"error"' "$tmp/serve.log"; then
        grep -e "AddressSanitizer" -e "runtime error:" -e '"level":"error"' "$tmp/serve.log" | head -20 >&2
        echo "$name: wm serve logged errors" >&2
        status=1
    fi
}
