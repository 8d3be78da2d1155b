#!/bin/sh
# cli_test.sh WM: usage and exit codes of the command line.
wm=$1
fail=0 pass=0
check() { # check DESCRIPTION EXPECTED_RC GREP_PATTERN -- command...
    desc=$1 want=$2 pat=$3
    shift 4
    out=$("$@" 2>&1)
    rc=$?
    if [ "$rc" -ne "$want" ]; then
        echo "FAIL $desc: exit $rc, want $want"; echo "$out" | head -5; fail=$((fail + 1)); return
    fi
    if [ -n "$pat" ] && ! printf '%s' "$out" | grep -q -- "$pat"; then
        echo "FAIL $desc: output lacks '$pat'"; echo "$out" | head -5; fail=$((fail + 1)); return
    fi
    echo "ok   $desc"; pass=$((pass + 1))
}
export WM_DATABASE_URL=
check "no command prints usage, exits 2" 2 "usage: wm" -- "$wm"
check "--help exits 0" 0 "commands:" -- "$wm" --help
check "unknown command exits 2" 2 "unknown command 'frobnicate'" -- "$wm" frobnicate
check "bad flag exits 2" 2 "unknown option --nope" -- "$wm" test --nope x.lua
check "version" 0 "^wm [0-9]" -- "$wm" version
for c in run serve work jobs grid migrate db config prompts reload test version; do
    check "$c --help" 0 "usage: wm" -- "$wm" "$c" --help
done
check "run without a file exits 2" 2 "which file" -- "$wm" run
check "--config without a file exits 2" 2 "needs a file" -- "$wm" --config
check "--config with a missing file exits 1" 1 "cannot open" -- "$wm" --config /nonexistent.lua config
tmp=$(mktemp -d)
printf 'local x = \n' > "$tmp/broken.lua"
check "a script that does not compile exits 1 with file:line" 1 "broken.lua:2" -- "$wm" run "$tmp/broken.lua"
printf 'local function f() error("kaboom") end\nf()\n' > "$tmp/err.lua"
check "a script error exits 1 with a traceback" 1 "stack traceback" -- "$wm" run "$tmp/err.lua"
printf 'wm.spawn(function() wm.sleep(0.05); io.write("late ", arg[1], "\\n") end)\n' > "$tmp/spawn.lua"
check "run waits for spawned tasks; arg holds the arguments" 0 "late hello" -- "$wm" run "$tmp/spawn.lua" hello
printf 'wm.spawn(function() error("in a task") end)\n' > "$tmp/taskerr.lua"
check "an unhandled error in a spawned task exits 1" 1 "in a task" -- "$wm" run "$tmp/taskerr.lua"
printf 'return 7\n' > "$tmp/code.lua"
check "a script's number is its exit status" 7 "" -- "$wm" run "$tmp/code.lua"

# Batch and test scripts answer --help before touching anything (the
# database URL points at a closed port: a query would fail the check).
root=$(cd "$(dirname "$0")/.." && pwd)
bogus_db='postgresql://127.0.0.1:1/none?connect_timeout=1'
for f in "$root"/scripts/batch/*.lua "$root"/tests/bench/*.lua "$root"/tests/browser/render_samples.lua \
         "$root"/tests/chaos/setup.lua; do
    name=${f#"$root"/}
    check "wm run $name --help" 0 "usage: wm run" -- env WM_DATABASE_URL="$bogus_db" "$wm" run "$f" --help
done
check "a batch script's bad option exits 2" 2 "unknown option --nope" -- \
    env WM_DATABASE_URL="$bogus_db" "$wm" run "$root/scripts/batch/demo.lua" --nope

# Config is checked, from a file and from the environment.
printf 'return { http = { max_body_bytes = -5 } }\n' > "$tmp/neg.lua"
check "a negative body limit in a file is refused, naming key, value and file" 1 \
    "http.max_body_bytes must be an integer >= 1 (got -5 from $tmp/neg.lua)" -- "$wm" --config "$tmp/neg.lua" config
printf 'return { htttp = { workers = 2 } }\n' > "$tmp/typo.lua"
check "an unknown section is refused" 1 'unknown section "htttp"; did you mean "http"' -- \
    "$wm" --config "$tmp/typo.lua" config
check "a bad value from the environment is refused" 1 'http.workers must be an integer from 1 to 1024 (got "many"' -- \
    env WM_HTTP_WORKERS=many "$wm" config
check "an unknown WM_ variable is a warning naming the closest setting" 0 \
    "WM_HTTP_WORKER is not a setting (did you mean WM_HTTP_WORKERS, http.workers?)" -- env WM_HTTP_WORKER=4 "$wm" config
check "a URL password holding @ is masked whole" 0 'database.url = "postgres://u:\*\*\*\*@host/db"' -- \
    env WM_DATABASE_URL='postgres://u:p@ss@host/db' "$wm" config

# The sites' address follows --listen: the banner of a server on another port.
port=$((18450 + $$ % 40))
WM_PATHS_VAR="$tmp/var" WM_DATABASE_URL="$bogus_db" "$wm" serve --no-jobs --listen "127.0.0.1:$port" \
    >"$tmp/serve.out" 2>"$tmp/serve.err" &
serve_pid=$!
for _ in $(seq 50); do grep -q "sites:" "$tmp/serve.out" 2>/dev/null && break; sleep 0.1; done
kill "$serve_pid" 2>/dev/null; wait "$serve_pid" 2>/dev/null
check "wm serve --listen: site addresses on that port" 0 "sites:  http://<subdomain>.localhost:$port/" -- \
    cat "$tmp/serve.out"
rm -rf "$tmp"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
