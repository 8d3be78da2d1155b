#!/bin/bash
# http_bench.sh [gif|page|all] [SECONDS]: `wm serve --workers 2` against
# nginx (2 workers, the same bytes as static files), both on 127.0.0.1, one
# `wrk -t1 -c64 -dSECONDS` at a time; prints req/s for each and the ratio
# wm/nginx (target >= 0.8 for gif, >= 1.0 for page). Then, with 1,000 idle
# connections held open on wm, times another client's requests (target < 50 ms).
#
#   gif   the open pixel (a 43-byte GIF from a bench route, no database)
#   page  a real generated site (tests/bench/http_page.lua renders and
#         publishes it, live, in a database of its own) served by
#         scripts/web/sites.lua by Host, gzip, against nginx serving the same
#         gzip bytes with gzip_static on; wrk sends Accept-Encoding: gzip
#
# Needs: build/wm (cmake --build build), nginx (Debian nginx-light), wrk,
# python3, and for page psql and the embedded cluster (`wm db start`) or
# WM_DATABASE_URL. Installs nothing. Not part of ctest. Access logs are off
# on both sides.
# Environment: WM (the binary), WM_BENCH_PORT (base port, default 18480),
# WM_BENCH_ROUNDS (alternating rounds per server, default 3).
set -euo pipefail

mode=${1:-all}
secs=${2:-10}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
wm=${WM:-$root/build/wm}
base=${WM_BENCH_PORT:-18480}
rounds=${WM_BENCH_ROUNDS:-3}
nginx_port=$base
wm_port=$((base + 1))
tmp=$(mktemp -d /tmp/wm-http-bench.XXXXXX)
nginx_pid="" wm_pid="" db="" base_url=""

cleanup() {
    [ -n "$wm_pid" ] && kill -TERM "$wm_pid" 2>/dev/null && wait "$wm_pid" 2>/dev/null || true
    [ -n "$nginx_pid" ] && kill -QUIT "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null || true
    [ -n "$db" ] && psql -X -q -d "$base_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

for tool in nginx wrk python3; do
    command -v "$tool" >/dev/null || { echo "http_bench: $tool is not installed" >&2; exit 2; }
done
[ -x "$wm" ] || { echo "http_bench: $wm not built" >&2; exit 2; }
ulimit -n 8192 2>/dev/null || true

# The same bytes for both servers: a 43-byte GIF, and for page a generated
# site (published in a database of its own) with its gzip.
mkdir -p "$tmp/www/bench" "$tmp/site" "$tmp/logs" "$tmp/var"
db_url="postgresql://127.0.0.1:1/none"
if [ "$mode" != gif ]; then
    command -v psql >/dev/null || { echo "http_bench: psql is not installed" >&2; exit 2; }
    if [ -z "${WM_DATABASE_URL:-}" ]; then
        "$wm" db start >/dev/null
        base_url=$("$wm" db url)
    else
        base_url=$WM_DATABASE_URL
    fi
    db=wm_bench_http_page
    psql -X -q -d "$base_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
    db_url="$base_url dbname=$db"
    WM_DATABASE_URL="$db_url" WM_PATHS_VAR="$tmp/var" "$wm" run "$here/http_page.lua" "$tmp/site"
fi
python3 - "$tmp/www/bench" <<'EOF'
import sys
d = sys.argv[1]
gif = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
       b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
assert len(gif) == 43
open(d + "/pixel.gif", "wb").write(gif)
EOF
chmod -R a+rX "$tmp"

cat > "$tmp/nginx.conf" <<EOF
worker_processes 2;
daemon off;
pid $tmp/nginx.pid;
error_log $tmp/logs/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 10000000;
    keepalive_timeout 60s;
    open_file_cache max=64;
    client_body_temp_path $tmp/body;
    proxy_temp_path $tmp/proxy;
    fastcgi_temp_path $tmp/fastcgi;
    uwsgi_temp_path $tmp/uwsgi;
    scgi_temp_path $tmp/scgi;
    types { image/gif gif; text/html html; }
    server {
        listen 127.0.0.1:$nginx_port reuseport;
        root $tmp/www;
    }
    server {
        listen 127.0.0.1:$nginx_port;
        server_name bench.localhost;
        root $tmp/site;
        index index.html;
        gzip_static on;
        gzip_vary on;
    }
}
EOF
nginx -p "$tmp" -c "$tmp/nginx.conf" 2>"$tmp/logs/nginx.stderr" &
nginx_pid=$!

WM_LOG_ACCESS=false WM_DATABASE_URL="$db_url" WM_PATHS_VAR="$tmp/var" \
    WM_BENCH_GIF="$tmp/www/bench/pixel.gif" \
    "$wm" serve --no-jobs --quiet --listen "127.0.0.1:$wm_port" --workers 2 --routes "$here/routes" 2>"$tmp/logs/wm.stderr" &
wm_pid=$!

wait_port() {
    for _ in $(seq 1 100); do
        if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',int(sys.argv[1])),0.2)" "$1" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "http_bench: nothing listens on port $1" >&2
    cat "$tmp/logs/"*.stderr >&2 || true
    exit 1
}
wait_port "$nginx_port"
wait_port "$wm_port"
sleep 0.5     # both wm workers up

page_headers=(-H "Host: bench.localhost" -H "Accept-Encoding: gzip")
if [ "$mode" != gif ]; then
    # Both compressed, and the very same gzip bytes (which decode to the page).
    for port in "$nginx_port" "$wm_port"; do
        curl -s -D "$tmp/h.$port" -o "$tmp/b.$port" "${page_headers[@]}" "http://127.0.0.1:$port/"
        grep -qi '^content-encoding: gzip' "$tmp/h.$port" \
            || { echo "http_bench: port $port did not send gzip" >&2; cat "$tmp/h.$port" >&2; exit 1; }
    done
    cmp "$tmp/b.$nginx_port" "$tmp/b.$wm_port" || { echo "http_bench: the two servers send different bytes" >&2; exit 1; }
    python3 -c "import gzip,sys; sys.exit(gzip.decompress(open(sys.argv[1],'rb').read()) != open(sys.argv[2],'rb').read())" \
        "$tmp/b.$wm_port" "$tmp/site/index.html" || { echo "http_bench: the gzip is not the page" >&2; exit 1; }
fi

rps() {   # url [wrk options...] -> requests/s
    local url=$1
    shift
    wrk -t1 -c64 -d"${secs}s" "$@" "$url" | awk '/^Requests\/sec:/ {print $2}'
}

run_case() {   # name path target [wrk options...]
    local name=$1 path=$2 target=$3
    shift 3
    wrk -t1 -c64 -d1s "$@" "http://127.0.0.1:$nginx_port$path" >/dev/null   # warm up
    wrk -t1 -c64 -d1s "$@" "http://127.0.0.1:$wm_port$path" >/dev/null
    # Rounds alternate the two servers, so that a machine whose load drifts
    # (other jobs on a shared host) weighs on both alike; the figures are
    # the means and the ratio is of the means.
    local ns="" ws="" i
    for i in $(seq 1 "$rounds"); do
        ns="$ns $(rps "http://127.0.0.1:$nginx_port$path" "$@")"
        ws="$ws $(rps "http://127.0.0.1:$wm_port$path" "$@")"
    done
    python3 - "$name" "$target" "$ns" "$ws" <<'EOF'
import sys
name, target = sys.argv[1], float(sys.argv[2])
ns, ws = [float(x) for x in sys.argv[3].split()], [float(x) for x in sys.argv[4].split()]
n, w = sum(ns) / len(ns), sum(ws) / len(ws)
ratio = w / n if n else 0
rounds = "" if len(ns) == 1 else "   (rounds: %s)" % ", ".join("%.2f" % (b / a if a else 0) for a, b in zip(ns, ws))
print("%-5s nginx %9.0f req/s   wm %9.0f req/s   wm/nginx %.2f  %s%s"
      % (name, n, w, ratio, "ok" if ratio >= target else "BELOW %.1f" % target, rounds))
EOF
}

echo "wrk -t1 -c64 -d${secs}s x $rounds rounds each, alternating; nginx 2 workers vs wm serve --workers 2 ($(nproc) cores)"
case $mode in
gif) run_case gif /bench/pixel.gif 0.8 ;;
page) run_case page / 1.0 "${page_headers[@]}" ;;
all)
    run_case gif /bench/pixel.gif 0.8
    run_case page / 1.0 "${page_headers[@]}"
    ;;
*) echo "usage: http_bench.sh [gif|page|all] [SECONDS]" >&2; exit 2 ;;
esac

# 1,000 idle connections held open; another client must still be answered fast.
python3 - "$wm_port" <<'EOF'
import socket, sys, time
port = int(sys.argv[1])
held = []
for _ in range(1000):
    held.append(socket.create_connection(("127.0.0.1", port), timeout=5))
time.sleep(0.5)
times = []
for _ in range(200):
    t = time.perf_counter()
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /bench/pixel.gif HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    assert data.startswith(b"HTTP/1.1 200"), data[:100]
    times.append((time.perf_counter() - t) * 1000)
times.sort()
alive = 0
for s in held:
    s.setblocking(False)
    try:
        alive += s.recv(1) == b"" and 0 or 1
    except BlockingIOError:
        alive += 1
    except OSError:
        pass
print("idle  1000 idle connections held (%d still open): new-client request p50 %.2f ms, p99 %.2f ms, max %.2f ms  %s"
      % (alive, times[len(times) // 2], times[int(len(times) * 0.99)], times[-1],
         "ok" if times[-1] < 50 else "OVER 50 ms"))
for s in held:
    s.close()
EOF
