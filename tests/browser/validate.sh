#!/bin/sh
# tests/browser/validate.sh [--browser] [OUTDIR]
#
# Renders sample sites (ordinary, every hero style, dark and low-contrast
# palettes, hostile names and LLM HTML, a minimal business) and the outreach
# email with `wm run tests/browser/render_samples.lua`, then runs
# html-validate on them: sites with .htmlvalidate.json (the recommended
# preset, nothing turned off), the email with htmlvalidate-email.cjs.
# With --browser it also loads every site in Debian's Chromium under the
# server's Content-Security-Policy (site_check.js --serve) and fails on any
# console error or request to another origin.
#
# Node, npm and Chromium are installed here when missing (apt-get, as root),
# and the npm packages with `npm ci`. (ctest's browser_sites, ctest_sites.sh,
# checks sites served by `wm serve` instead and never installs packages.)
# Env: WM_BIN (default build/wm), CHROMIUM (default /usr/bin/chromium).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
wm=${WM_BIN:-$root/build/wm}

browser=0
if [ "${1:-}" = "--browser" ]; then
    browser=1
    shift
fi

apt_install() {
    if [ "$(id -u)" != 0 ]; then
        echo "validate.sh: $* missing and not root: install it first" >&2
        exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    apt_install nodejs npm
fi
if [ "$browser" = 1 ] && [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    apt_install chromium
fi

cd "$here"
if [ ! -d node_modules/html-validate ] || [ ! -d node_modules/playwright-core ]; then
    npm ci --no-audit --no-fund --loglevel=error || npm install --no-audit --no-fund --loglevel=error
fi

if [ $# -ge 1 ]; then
    out=$1
    mkdir -p "$out"
else
    out=$(mktemp -d /tmp/wm-sites-XXXXXX)
    trap 'rm -rf "$out"' EXIT
fi

[ -x "$wm" ] || { echo "validate.sh: $wm not built" >&2; exit 1; }
(cd "$root" && "$wm" run "$here/render_samples.lua" "$out")

status=0
echo "html-validate: sites"
npx --no-install html-validate --config .htmlvalidate.json "$out"/site-*.html || status=1
echo "html-validate: email"
npx --no-install html-validate --config htmlvalidate-email.cjs "$out"/email.html || status=1

if [ "$browser" = 1 ]; then
    echo "chromium: sites under the server's CSP"
    node site_check.js --serve --csp "$out/csp.txt" "$out"/site-*.html || status=1
fi

if [ "$status" = 0 ]; then
    echo "validate.sh: all checks passed"
fi
exit $status
