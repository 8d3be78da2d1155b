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
rm -rf "$tmp"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
