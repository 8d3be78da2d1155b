/* Unit tests of child processes (proc.c) through wm.exec, in a task of a
 * whole VM: exit codes and signals, stdin and the environment, the output
 * cap, and a timeout that kills the child's whole process group (a shell's
 * background grandchild included), without blocking other tasks. */
#include "test.h"

TEST_IMPL(proc_exit_codes_io_env)
{
    test_vm_t vm;
    ASSERT(test_vm_open(&vm) == 0);
    int rc = test_vm_run(&vm,
        "local r = assert(wm.exec { argv = { 'sh', '-c', 'echo out; echo err >&2; exit 3' } })\n"
        "assert(r.code == 3 and r.signal == nil, tostring(r.code))\n"
        "assert(r.stdout == 'out\\n' and r.stderr == 'err\\n')\n"
        "r = assert(wm.exec { argv = { 'sh', '-c', 'kill -TERM $$' } })\n"
        "assert(r.code == nil and r.signal == 15, tostring(r.signal))\n"
        "r = assert(wm.exec { argv = { 'cat' }, stdin = ('x'):rep(200000) })\n"
        "assert(#r.stdout == 200000 and r.code == 0)\n"
        "r = assert(wm.exec { argv = { 'sh', '-c', 'printf %s:%s \"$WM_UNIT_A\" \"${HOME-unset}\"' },\n"
        "                     env = { WM_UNIT_A = 'a b', HOME = false } })\n"
        "assert(r.stdout == 'a b:unset', r.stdout)\n"
        "r = assert(wm.exec { argv = { 'pwd' }, cwd = '/tmp' })\n"
        "assert(r.stdout == '/tmp\\n', r.stdout)\n"
        "local nr, err = wm.exec { argv = { '/nonexistent/prog' } }\n"
        "assert(nr == nil and err:find('no such file', 1, true) and err:find('/nonexistent/prog', 1, true), err)\n");
    test_vm_close(&vm);
    ASSERT(rc == 0);
    return 0;
}

TEST_IMPL(proc_output_cap)
{
    test_vm_t vm;
    ASSERT(test_vm_open(&vm) == 0);
    int rc = test_vm_run(&vm,
        "local r = assert(wm.exec { argv = { 'head', '-c', '300000', '/dev/zero' }, max_output = 1000 })\n"
        "assert(r.code == 0, 'the child still runs to its end')\n"
        "assert(#r.stdout == 1000, #r.stdout)\n"
        "assert(r.truncated == true)\n"
        "r = assert(wm.exec { argv = { 'echo', 'small' }, max_output = 1000 })\n"
        "assert(r.stdout == 'small\\n' and r.truncated == nil)\n");
    test_vm_close(&vm);
    ASSERT(rc == 0);
    return 0;
}

TEST_IMPL(proc_timeout_kills_the_group)
{
    test_vm_t vm;
    ASSERT(test_vm_open(&vm) == 0);
    int rc = test_vm_run(&vm,
        "local pidfile = os.tmpname()\n"
        "local ticks = 0\n"
        "local ticker = wm.spawn(function() for _ = 1, 10 do wm.sleep(0.02); ticks = ticks + 1 end end)\n"
        "local t0 = wm.monotonic()\n"
        /* The shell leaves a grandchild that holds stdout open. */
        "local r, err, partial = wm.exec { argv = { 'sh', '-c',\n"
        "    'sleep 30 & echo $! > ' .. pidfile .. '; echo started; wait' }, timeout = 0.3 }\n"
        "local took = wm.monotonic() - t0\n"
        "assert(r == nil and err == 'timeout', tostring(err))\n"
        "assert(partial.stdout == 'started\\n', partial.stdout)\n"
        "assert(took >= 0.29 and took < 5, took)\n"
        "assert(ticks >= 5, 'other tasks ran meanwhile: ' .. ticks)\n"
        "local f = assert(io.open(pidfile)); local gc = f:read('*n'); f:close(); os.remove(pidfile)\n"
        "assert(gc and gc > 1)\n"
        /* Dead: gone, or a zombie nobody reaps (PID 1 in a container). */
        "local function alive(pid)\n"
        "    local st = wm.fs.read_file('/proc/' .. pid .. '/stat')\n"
        "    return st ~= nil and st:match('^%d+ %b() (%a)') ~= 'Z'\n"
        "end\n"
        "for _ = 1, 50 do\n"
        "    if not alive(gc) then break end\n"
        "    wm.sleep(0.02)\n"
        "end\n"
        "assert(not alive(gc), 'the grandchild ' .. gc .. ' was killed with its group')\n"
        "ticker:wait()\n");
    test_vm_close(&vm);
    ASSERT(rc == 0);
    return 0;
}
