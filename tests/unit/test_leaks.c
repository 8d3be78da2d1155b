/* Bad arguments raise out of the C bindings (luaL_error longjmps) without
 * losing what they had allocated. Each call below raises inside pcall; the
 * sanitizer build's LeakSanitizer fails this process at exit if anything
 * was lost (before the fix: lua_pg.c's parameter block, wm.exec's argv,
 * cwd and environment vectors). */
#include "test.h"

static const char CHUNK[] =
    "local pg = require 'wm.core.pg'\n"
    "assert(pg.open { conninfo = os.getenv('WM_TEST_DATABASE_URL'), size = 1 })\n"
    "local function raises(pattern, fn, ...)\n"
    "    local ok, err = pcall(fn, ...)\n"
    "    assert(not ok, 'expected an error matching ' .. pattern)\n"
    "    assert(tostring(err):find(pattern, 1, true), tostring(err))\n"
    "end\n"
    "for _ = 1, 50 do\n"
    /* lua_pg.c: a parameter that cannot be sent, after the first ones. */
    "    raises('cannot send a function', pg.query, 'SELECT $1, $2', 1, function() end)\n"
    "    raises('cannot send a userdata', pg.query, 'SELECT $1, $2::jsonb', 'x', io.stdout)\n"
    "    local cyclic = {}; cyclic.self = cyclic\n"
    "    raises('nested deeper', pg.query, 'SELECT $1::jsonb', cyclic)\n"
    "    local tx = assert(pg.pin())\n"
    "    raises('cannot send a function', pg.tx_query, tx, 'SELECT $1', print)\n"
    "    pg.unpin(tx, true)\n"
    /* proc.c: every option after argv used to be read after argv was copied. */
    "    raises('timeout must be a number', wm.exec, { argv = { 'true' }, timeout = 'soon' })\n"
    "    raises('max_output must be a number', wm.exec, { argv = { 'true' }, max_output = {} })\n"
    "    raises('cwd must be a string', wm.exec, { argv = { 'true' }, cwd = 42 })\n"
    "    raises('env keys must be', wm.exec, { argv = { 'true' }, env = { 'positional' } })\n"
    "    raises('env.X must be a string', wm.exec, { argv = { 'true' }, env = { A = 'a', X = {} } })\n"
    "    raises('argv[2] must be a string', wm.exec, { argv = { 'true', {} } })\n"
    "    raises('argv must be a non-empty', wm.exec, { argv = {} })\n"
    "    raises('stdin must be a string', wm.exec, { argv = { 'cat' }, stdin = {} })\n"
    /* lua_fs.c: checked before the operation is made. */
    "    raises('mode must be a number', wm.fs.write_file, '/tmp/x', 'data', { mode = 'rw' })\n"
    "    raises('must not be negative', wm.fs.read_file, '/etc/hostname', -1)\n"
    /* jobs: a malformed kinds list raises before the scheduler is made. */
    "    raises('kinds[1].name must be a string', require('wm.core.jobs').start,\n"
    "           { host = 'h', kinds = { {} }, runner = print })\n"
    "end\n"
    /* The calls still work after all that. */
    "local rows = assert(pg.query('SELECT $1::int + 1 AS n', 41))\n"
    "assert(rows[1].n == 42)\n"
    "local r = assert(wm.exec { argv = { 'sh', '-c', 'printf %s \"$A\"' }, env = { A = 'ok', HOME = false } })\n"
    "assert(r.stdout == 'ok', r.stdout)\n";

TEST_IMPL(leaks_on_bad_arguments)
{
    test_vm_t vm;
    ASSERT(test_vm_open(&vm) == 0);
    int rc = test_vm_run(&vm, CHUNK);
    test_vm_close(&vm);
    ASSERT(rc == 0);
    return 0;
}
