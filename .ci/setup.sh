#!/bin/sh
# setup.sh [--test]: installs what this machine lacks (Debian 12 packages),
# then configures and builds wm into build/. Idempotent: a second run
# installs nothing and rebuilds only what changed. --test adds what the test
# suite needs (clang for the fuzz smoke, python3 for protocol fixtures,
# nodejs and npm for the browser checks; postfix, aiosmtpd, dkimpy,
# SpamAssassin and Dovecot for the mail tests; dnsmasq and caddy for custom
# domains).
# Chromium, nodejs and npm are always installed: the screenshot stage and
# Lighthouse (tools/lighthouse, npm ci from its lock file) need them.
set -eu
cd "$(dirname "$0")/.."

pkgs="build-essential cmake pkg-config libluajit-5.1-dev libuv1-dev libpq-dev
libcurl4-openssl-dev libcjson-dev libsodium-dev libhttp-parser-dev zlib1g-dev libbrotli-dev libssl-dev
libc-ares-dev postgresql postgresql-client ca-certificates chromium nodejs npm"
if [ "${1:-}" = "--test" ]; then
    pkgs="$pkgs clang libclang-rt-14-dev python3 procps postfix python3-aiosmtpd python3-dkim
spamassassin dnsmasq-base caddy python3-pil dovecot-imapd"
fi

missing=""
for p in $pkgs; do
    # A nodejs from elsewhere (NodeSource) bundles npm and conflicts with
    # Debian's npm package: an npm on PATH will do.
    if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then
        continue
    fi
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "setup: installing$missing"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    export DEBIAN_FRONTEND=noninteractive
    # postfix is there for the mail tests' smtp-sink and smtp-source: "No
    # configuration" installs it without a system MTA running.
    echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# Lighthouse scores sites in production (scripts/lib/lighthouse.lua): npm ci
# from the lock file, again only when the lock file is newer than what npm
# last installed (node_modules/.package-lock.json).
lh=tools/lighthouse
if [ ! -f $lh/node_modules/.package-lock.json ] || [ $lh/package-lock.json -nt $lh/node_modules/.package-lock.json ]; then
    echo "setup: installing Lighthouse (npm ci in $lh)"
    (cd $lh && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

# The browser checks' npm packages (tests/browser), installed here once so
# that ctest's parallel browser tests never run npm ci in one folder at the
# same time; the stamp is the one the test scripts check (they install only
# when it is missing or stale, for a test run on its own).
if [ "${1:-}" = "--test" ]; then
    want=$(cat tests/browser/package.json tests/browser/package-lock.json | cksum | cut -d' ' -f1,2)
    if [ ! -d tests/browser/node_modules/html-validate ] || [ ! -d tests/browser/node_modules/playwright-core ] ||
        [ "$(cat tests/browser/node_modules/.wm-stamp 2>/dev/null)" != "$want" ]; then
        echo "setup: installing the browser checks' packages (npm ci in tests/browser)"
        (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error >/dev/null) &&
            echo "$want" >tests/browser/node_modules/.wm-stamp
    fi
fi

# Debian starts a system PostgreSQL on install; wm does not need it (it runs
# its own embedded cluster), so leave it alone.
if [ ! -f build/CMakeCache.txt ]; then
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build build -j"$(nproc)" 2>&1 | grep -E "error|warning|Error" || true
test -x build/wm || { echo "setup: the build failed" >&2; exit 1; }
echo "setup: build/wm is ready"
