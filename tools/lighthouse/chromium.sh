#!/bin/sh
# The browser run.mjs starts: $CHROME_PATH (Debian's chromium by default),
# killed when node dies. chrome-launcher starts it detached, with no pipe
# to node, so a node killed with wm (wm.exec's setpriv --pdeathsig) would
# leave it running; Chromium's own processes follow their browser.
chromium=${CHROME_PATH:-/usr/bin/chromium}
if [ -x /usr/bin/setpriv ]; then
    exec /usr/bin/setpriv --pdeathsig KILL -- "$chromium" "$@"
fi
exec "$chromium" "$@"
