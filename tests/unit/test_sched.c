/* Unit tests of the scheduler in sched.c on a bare Lua state: tasks start
 * on the next loop turn, a C operation yields and is resumed by its
 * callback (the one protocol of sched.h), cancelling runs the operation's
 * cancel, the task's defers and its done callback, and errors carry their
 * traceback. */
#include "test.h"
#include "sched.h"
#include "wm.h"

#include <lauxlib.h>
#include <lualib.h>

struct env {
    uv_loop_t loop;
    lua_State *L;
};

static void env_open(struct env *e)
{
    uv_loop_init(&e->loop);
    e->L = luaL_newstate();
    luaL_openlibs(e->L);
    wm_sched_init(&e->loop, e->L);
    lua_newtable(e->L);
    wm_sched_lua_register(e->L);
    lua_setglobal(e->L, "wm");
}

static void env_close(struct env *e)
{
    wm_sched_cancel_all("closing");
    wm_sched_close();
    uv_run(&e->loop, UV_RUN_DEFAULT);
    lua_close(e->L);
    uv_loop_close(&e->loop);
}

/* ---- a C operation following sched.h's protocol: wait_op(ms, value) ---- */

struct wait_op {
    uv_timer_t timer;
    wm_co_t *co;
    int value;
};

static int ops_started, ops_cancelled, ops_pushed;

static void wait_op_closed(uv_handle_t *h) { wm_free(h->data); }

static void wait_op_fired(uv_timer_t *t)
{
    struct wait_op *op = t->data;
    wm_sched_resume(op->co);
}

static int wait_op_push(wm_co_t *co, lua_State *L, void *p)
{
    struct wait_op *op = p;
    WM_UNUSED(co);
    ops_pushed++;
    lua_pushinteger(L, op->value * 2);
    uv_close((uv_handle_t *)&op->timer, wait_op_closed);
    return 1;
}

static void wait_op_cancel(wm_co_t *co, void *p)
{
    struct wait_op *op = p;
    WM_UNUSED(co);
    ops_cancelled++;
    uv_timer_stop(&op->timer);
    uv_close((uv_handle_t *)&op->timer, wait_op_closed);
}

static int l_wait_op(lua_State *L)
{
    int ms = (int)luaL_checkinteger(L, 1);
    int value = (int)luaL_checkinteger(L, 2);
    wm_co_t *co = wm_sched_current(L);
    if (co == NULL)
        return luaL_error(L, "wait_op: must be called from a wm task");
    struct wait_op *op = wm_malloc(sizeof(*op));
    uv_timer_init(wm_sched_loop(), &op->timer);
    op->timer.data = op;
    op->co = co;
    op->value = value;
    ops_started++;
    uv_timer_start(&op->timer, wait_op_fired, (uint64_t)ms, 0);
    return wm_sched_yield(co, op, wait_op_push, wait_op_cancel);
}

struct done_rec {
    int calls, ok, nres;
    lua_Integer first;
    char err[512];
};

static void record_done(wm_co_t *co, int ok, int nres, const char *err, void *ud)
{
    struct done_rec *d = ud;
    d->calls++;
    d->ok = ok;
    d->nres = nres;
    if (ok && nres >= 1)
        d->first = lua_tointeger(co->L, -nres);
    snprintf(d->err, sizeof(d->err), "%s", err ? err : "");
}

static wm_co_t *spawn_chunk(lua_State *L, const char *chunk, struct done_rec *d)
{
    if (luaL_loadstring(L, chunk) != 0) {
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
        return NULL;
    }
    return wm_sched_spawn(L, 0, record_done, d);
}

static void stop_cb(uv_timer_t *t) { uv_stop(t->loop); }

/* Runs the loop for at most `ms` (it returns earlier when nothing is left). */
static void run_for(uv_loop_t *loop, int ms)
{
    uv_timer_t guard;
    uv_timer_init(loop, &guard);
    uv_timer_start(&guard, stop_cb, (uint64_t)ms, 0);
    uv_unref((uv_handle_t *)&guard);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

/* Tasks start on the next loop turn, in spawn order; each sees its own
 * arguments; done callbacks get the results. */
TEST_IMPL(sched_tasks_start_later_in_order)
{
    struct env e;
    env_open(&e);
    lua_State *L = e.L;
    luaL_dostring(L, "order = {}");
    struct done_rec d[3];
    memset(d, 0, sizeof(d));
    for (int i = 0; i < 3; i++) {
        luaL_loadstring(L, "local n = ... ; order[#order + 1] = n ; return n * 10");
        lua_pushinteger(L, i + 1);
        wm_sched_spawn(L, 1, record_done, &d[i]);
    }
    ASSERT_EQ_INT(lua_gettop(L), 0);
    ASSERT_EQ_INT(wm_sched_live(), 3);
    luaL_dostring(L, "return #order");
    ASSERT_EQ_INT(lua_tointeger(L, -1), 0);   /* nothing ran inside spawn */
    lua_pop(L, 1);
    run_for(&e.loop, 1000);
    ASSERT_EQ_INT(wm_sched_live(), 0);
    luaL_dostring(L, "return table.concat(order, ',')");
    ASSERT_EQ_STR(lua_tostring(L, -1), "1,2,3");
    lua_pop(L, 1);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ_INT(d[i].calls, 1);
        ASSERT_EQ_INT(d[i].ok, 1);
        ASSERT_EQ_INT(d[i].nres, 1);
        ASSERT_EQ_INT(d[i].first, (i + 1) * 10);
    }
    env_close(&e);
    return 0;
}

/* A C call yields; its callback resumes the task with the results its push
 * function gives; meanwhile other tasks run. Outside a task it raises. */
TEST_IMPL(sched_yield_and_resume)
{
    struct env e;
    env_open(&e);
    lua_State *L = e.L;
    lua_register(L, "wait_op", l_wait_op);
    ops_started = ops_pushed = ops_cancelled = 0;
    luaL_dostring(L, "log = {}");
    struct done_rec slow = {0}, fast = {0};
    spawn_chunk(L, "log[#log+1] = 'slow:start'; local v = wait_op(60, 21); log[#log+1] = 'slow:' .. v; return v",
                &slow);
    spawn_chunk(L, "log[#log+1] = 'fast:start'; local v = wait_op(10, 1); log[#log+1] = 'fast:' .. v; return v",
                &fast);
    uint64_t t0 = uv_now(&e.loop);
    run_for(&e.loop, 2000);
    uv_update_time(&e.loop);
    ASSERT(uv_now(&e.loop) - t0 >= 60);
    luaL_dostring(L, "return table.concat(log, ' ')");
    ASSERT_EQ_STR(lua_tostring(L, -1), "slow:start fast:start fast:2 slow:42");
    lua_pop(L, 1);
    ASSERT_EQ_INT(slow.first, 42);
    ASSERT_EQ_INT(fast.first, 2);
    ASSERT_EQ_INT(ops_started, 2);
    ASSERT_EQ_INT(ops_pushed, 2);
    ASSERT_EQ_INT(ops_cancelled, 0);
    /* Outside a task (the main state), a waiting call refuses. */
    ASSERT(luaL_dostring(L, "wait_op(1, 1)") != 0);
    ASSERT(strstr(lua_tostring(L, -1), "must be called from a wm task") != NULL);
    lua_pop(L, 1);
    env_close(&e);
    return 0;
}

static int defers_run;
static void count_defer(wm_co_t *co, void *data)
{
    WM_UNUSED(co);
    WM_UNUSED(data);
    defers_run++;
}

/* Cancelling a waiting task: its operation's cancel runs (its completion
 * never resumes it), then its defers, then its done callback with the
 * reason; task:wait() in another task sees false, reason. */
TEST_IMPL(sched_cancel)
{
    struct env e;
    env_open(&e);
    lua_State *L = e.L;
    lua_register(L, "wait_op", l_wait_op);
    ops_started = ops_pushed = ops_cancelled = 0;
    defers_run = 0;
    struct done_rec victim = {0};
    wm_co_t *co = spawn_chunk(L, "wait_op(5000, 1); error('never gets here')", &victim);
    wm_sched_defer(co, count_defer, NULL);
    struct wm_defer_s *undone = wm_sched_defer(co, count_defer, NULL);
    wm_sched_undefer(co, undone);
    run_for(&e.loop, 30);                 /* the victim is now waiting */
    ASSERT_EQ_INT(ops_started, 1);
    ASSERT_EQ_INT(victim.calls, 0);
    wm_sched_cancel(co, "enough");
    ASSERT_EQ_INT(ops_cancelled, 1);
    ASSERT_EQ_INT(defers_run, 1);
    ASSERT_EQ_INT(victim.calls, 1);
    ASSERT_EQ_INT(victim.ok, 0);
    ASSERT_EQ_STR(victim.err, "enough");
    ASSERT_EQ_INT(wm_sched_live(), 0);

    /* Through Lua: task:cancel() and task:wait(). */
    struct done_rec d = {0};
    spawn_chunk(L,
                "local t = wm.spawn(function() wait_op(5000, 1) end)\n"
                "wm.sleep(0.01)\n"
                "assert(t:cancel('stop it'))\n"
                "local ok, err = t:wait()\n"
                "assert(ok == false and err == 'stop it', tostring(err))\n"
                "assert(t:done())\n"
                "return 7",
                &d);
    run_for(&e.loop, 2000);
    ASSERT_EQ_INT(d.ok, 1);
    ASSERT_EQ_INT(d.first, 7);
    ASSERT_EQ_INT(ops_cancelled, 2);
    ASSERT_EQ_INT(ops_pushed, 0);
    ASSERT_EQ_INT(wm_sched_live(), 0);
    env_close(&e);
    return 0;
}

/* A task that raises ends with its message and a traceback; wait with a
 * timeout returns nil, "timeout" while the task still runs; events wake
 * every waiter. */
TEST_IMPL(sched_errors_timeouts_events)
{
    struct env e;
    env_open(&e);
    lua_State *L = e.L;
    struct done_rec bad = {0};
    spawn_chunk(L, "local function inner() error('boom') end\ninner()", &bad);
    struct done_rec d = {0};
    spawn_chunk(L,
                "local t = wm.spawn(function() wm.sleep(0.2); return 'late', 2 end)\n"
                "local ok, err = t:wait(0.02)\n"
                "assert(ok == nil and err == 'timeout')\n"
                "local ok2, a, b = t:wait()\n"
                "assert(ok2 == true and a == 'late' and b == 2)\n"
                "local ev, woken = wm.event(), 0\n"
                "for i = 1, 3 do wm.spawn(function() assert(ev:wait(5)); woken = woken + 1 end) end\n"
                "wm.yield()\n"
                "assert(select(2, ev:wait(0.01)) == 'timeout')\n"
                "ev:set()\n"
                "wm.sleep(0.01)\n"
                "return woken",
                &d);
    run_for(&e.loop, 3000);
    ASSERT_EQ_INT(bad.calls, 1);
    ASSERT_EQ_INT(bad.ok, 0);
    ASSERT(strstr(bad.err, "boom") != NULL);
    ASSERT(strstr(bad.err, "stack traceback") != NULL);
    ASSERT(strstr(bad.err, "inner") != NULL);
    ASSERT_EQ_INT(d.calls, 1);
    if (!d.ok)
        fprintf(stderr, "%s\n", d.err);
    ASSERT_EQ_INT(d.ok, 1);
    ASSERT_EQ_INT(d.first, 3);
    env_close(&e);
    return 0;
}
