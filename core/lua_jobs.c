/* lua_jobs.c unit provides "wm.core.jobs", the Lua binding of the scheduler
 * in jobs.h (one per process):
 *
 *   start{host=, lease=, poll=, batch=, backoff_base=, backoff_max=,
 *         kinds = { {name=, concurrency=, timeout=}, ... }, runner = fn}
 *       runner(job) runs in a task per job and returns the outcome as one
 *       table: {outcome = COMPLETED | RETRY | DISCARD | SNOOZE, error =,
 *       delay =} (scripts/wm/jobs.lua makes it). A runner that raises, or
 *       returns anything else, asks for a retry.
 *   set_kinds(kinds)      after a reload: new limits, new kinds
 *   wake([kind])          a job may be claimable (LISTEN wm_jobs)
 *   stop(deadline)        yields until running jobs finished or were handed back
 *   stats()               {running=, claimed=, completed=, retried=, discarded=,
 *                          snoozed=, stopping=, kinds={name={running=, concurrency=}}}
 *   COMPLETED, RETRY, DISCARD, SNOOZE: the outcome codes. */
#include "jobs.h"
#include "json.h"
#include "lua_httpd.h"
#include "lua_pg.h"
#include "sched.h"
#include "vm.h"

#include <lauxlib.h>

static wm_jobs_t *J;
static int runner_ref = LUA_NOREF;
static unsigned long busy_requests;      /* 0: never yield to requests */

/* Requests waiting for their answers on this process's servers: at or over
 * busy_requests the scheduler takes no more background work than one job. */
static int host_busy(void *ud)
{
    WM_UNUSED(ud);
    return busy_requests > 0 && wm_lua_httpd_active() >= busy_requests;
}

/* ---- runs ---- */

/* The outcome table on top of `L`, read without metamethods. Its strings
 * stay valid while the table is on the stack. */
static void read_outcome(lua_State *L, wm_jobs_outcome_t *o)
{
    o->outcome = WM_JOBS_RETRY;
    o->error = "the runner returned no outcome";
    o->delay = -1;
    if (!lua_istable(L, -1))
        return;
    lua_pushliteral(L, "outcome");
    lua_rawget(L, -2);
    if (lua_isnumber(L, -1))
        o->outcome = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    lua_pushliteral(L, "error");
    lua_rawget(L, -2);
    o->error = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    lua_pop(L, 1);
    lua_pushliteral(L, "delay");
    lua_rawget(L, -2);
    if (lua_isnumber(L, -1))
        o->delay = lua_tonumber(L, -1);
    lua_pop(L, 1);
}

static void job_done(wm_co_t *co, int ok, int nres, const char *err, void *ud)
{
    wm_jobs_run_t *run = ud;
    wm_jobs_outcome_t o = {.outcome = WM_JOBS_RETRY, .error = err, .delay = -1};
    lua_State *L = co->L;
    int top = lua_gettop(L);
    if (ok) {
        if (nres >= 1)
            lua_pushvalue(L, top - nres + 1);
        else
            lua_pushnil(L);
        read_outcome(L, &o);
    }
    wm_jobs_finish(run, &o);
    lua_settop(L, top);
}

static void run_job(wm_jobs_run_t *run, const wm_jobs_job_t *job, void *ud)
{
    WM_UNUSED(ud);
    lua_State *L = wm_sched_main_state();
    lua_rawgeti(L, LUA_REGISTRYINDEX, runner_ref);
    lua_createtable(L, 0, 6);
    lua_pushnumber(L, (lua_Number)job->id);
    lua_setfield(L, -2, "id");
    lua_pushstring(L, job->kind);
    lua_setfield(L, -2, "kind");
    wm_err_t err;
    if (wm_json_decode(L, job->payload, job->payload_len, &err) < 0)
        lua_newtable(L);
    lua_setfield(L, -2, "payload");
    lua_pushinteger(L, job->attempt);
    lua_setfield(L, -2, "attempt");
    lua_pushinteger(L, job->max_attempts);
    lua_setfield(L, -2, "max_attempts");
    lua_pushinteger(L, job->priority);
    lua_setfield(L, -2, "priority");
    wm_jobs_run_set_data(run, wm_sched_spawn(L, 1, job_done, run));
}

static void cancel_job(wm_jobs_run_t *run, void *ud)
{
    WM_UNUSED(ud);
    /* The task's done callback (job_done) finishes the run. */
    wm_sched_cancel(wm_jobs_run_data(run), "cancelled by the scheduler");
}

/* ---- start, kinds ---- */

/* Raises on a malformed kinds list; called before anything is allocated. */
static void check_kinds(lua_State *L, int idx)
{
    luaL_checktype(L, idx, LUA_TTABLE);
    int n = (int)lua_objlen(L, idx);
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, i);
        if (!lua_istable(L, -1))
            luaL_error(L, "jobs: kinds[%d] must be a table", i);
        lua_getfield(L, -1, "name");
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "jobs: kinds[%d].name must be a string", i);
        lua_pop(L, 2);
    }
}

static double field_num(lua_State *L, int idx, const char *k, double dflt)
{
    lua_getfield(L, idx, k);
    double v = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : dflt;
    lua_pop(L, 1);
    return v;
}

static void set_kinds(lua_State *L, int idx)
{
    int n = (int)lua_objlen(L, idx);
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, i);
        lua_getfield(L, -1, "name");
        wm_jobs_set_kind(J, lua_tostring(L, -1), (int)field_num(L, -2, "concurrency", 10),
                         field_num(L, -2, "timeout", 300));
        lua_pop(L, 2);
    }
}

static void close_scheduler(void *ud)
{
    WM_UNUSED(ud);
    if (J == NULL)
        return;
    wm_jobs_close(J);
    J = NULL;
    luaL_unref(wm_sched_main_state(), LUA_REGISTRYINDEX, runner_ref);
    runner_ref = LUA_NOREF;
}

static int l_start(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    if (J != NULL)
        return luaL_error(L, "jobs: the scheduler is already running");
    wm_pg_pool_t *pool = wm_lua_pg_pool();
    if (pool == NULL)
        return luaL_error(L, "jobs: open the database first");
    lua_getfield(L, 1, "host");
    const char *host = luaL_checkstring(L, -1);
    lua_getfield(L, 1, "kinds");
    int kinds = lua_gettop(L);
    check_kinds(L, kinds);
    lua_getfield(L, 1, "runner");
    luaL_checktype(L, -1, LUA_TFUNCTION);
    wm_jobs_conf_t conf = {
        .host = host,
        .lease = field_num(L, 1, "lease", 30),
        .poll = field_num(L, 1, "poll", 2),
        .batch = (int)field_num(L, 1, "batch", 100),
        .backoff_base = field_num(L, 1, "backoff_base", 2),
        .backoff_max = field_num(L, 1, "backoff_max", 3600),
        .run = run_job,
        .cancel = cancel_job,
        .busy = host_busy,
    };
    busy_requests = (unsigned long)field_num(L, 1, "yield_to_requests", 0);
    wm_err_t err;
    if (wm_jobs_start(wm_sched_loop(), pool, &conf, &J, &err) < 0)
        return luaL_error(L, "%s", err.msg);
    runner_ref = luaL_ref(L, LUA_REGISTRYINDEX);     /* pops the runner */
    set_kinds(L, kinds);
    static int hooked;
    if (!hooked) {
        wm_vm_on_close(close_scheduler, NULL);
        hooked = 1;
    }
    wm_jobs_wake(J, NULL);
    return 0;
}

static int l_set_kinds(lua_State *L)
{
    check_kinds(L, 1);
    if (J == NULL)
        return 0;
    set_kinds(L, 1);
    wm_jobs_wake(J, NULL);
    return 0;
}

static int l_wake(lua_State *L)
{
    const char *name = luaL_optstring(L, 1, NULL);
    if (J != NULL)
        wm_jobs_wake(J, name);
    return 0;
}

/* ---- stop ---- */

static void on_stopped(wm_jobs_t *j, void *ud)
{
    WM_UNUSED(j);
    wm_sched_resume(ud);
}

/* Stopped: the scheduler goes, and start() may run again. */
static int stop_push(wm_co_t *co, lua_State *L, void *op)
{
    WM_UNUSED(co);
    WM_UNUSED(op);
    close_scheduler(NULL);
    lua_pushboolean(L, 1);
    return 1;
}

static void stop_cancel(wm_co_t *co, void *op)
{
    WM_UNUSED(co);
    /* Nobody waits any more; the scheduler stays stopping until the VM
     * closes it. */
    wm_jobs_stop(op, 0, NULL, NULL);
}

static int l_stop(lua_State *L)
{
    double deadline = luaL_optnumber(L, 1, 30);
    if (J == NULL) {
        lua_pushboolean(L, 1);
        return 1;
    }
    wm_co_t *co = wm_sched_current(L);
    if (co == NULL)
        return luaL_error(L, "jobs.stop: must be called from a wm task");
    wm_jobs_stop(J, deadline, on_stopped, co);
    return wm_sched_yield(co, J, stop_push, stop_cancel);
}

/* ---- stats ---- */

static int l_stats(lua_State *L)
{
    lua_createtable(L, 0, 8);
    if (J == NULL)
        return 1;
    wm_jobs_stats_t s;
    wm_jobs_stats(J, &s);
    lua_pushinteger(L, s.running);
    lua_setfield(L, -2, "running");
#define SET(name) (lua_pushnumber(L, (lua_Number)s.name), lua_setfield(L, -2, #name))
    SET(claimed); SET(completed); SET(retried); SET(discarded); SET(snoozed);
#undef SET
    lua_pushboolean(L, s.stopping);
    lua_setfield(L, -2, "stopping");
    int n = wm_jobs_kind_count(J);
    lua_createtable(L, 0, n);
    for (int i = 0; i < n; i++) {
        const char *name;
        int concurrency, running;
        wm_jobs_kind_at(J, i, &name, &concurrency, &running);
        lua_createtable(L, 0, 2);
        lua_pushinteger(L, running);
        lua_setfield(L, -2, "running");
        lua_pushinteger(L, concurrency);
        lua_setfield(L, -2, "concurrency");
        lua_setfield(L, -2, name);
    }
    lua_setfield(L, -2, "kinds");
    return 1;
}

int wm_lua_jobs_open(lua_State *L)
{
    static const luaL_Reg funcs[] = {{"start", l_start}, {"set_kinds", l_set_kinds}, {"wake", l_wake},
                                     {"stop", l_stop},   {"stats", l_stats},         {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, funcs);
    static const struct { const char *name; int code; } codes[] = {
        {"COMPLETED", WM_JOBS_COMPLETED}, {"RETRY", WM_JOBS_RETRY},
        {"DISCARD", WM_JOBS_DISCARD},     {"SNOOZE", WM_JOBS_SNOOZE}};
    for (size_t i = 0; i < WM_ARRAY_LEN(codes); i++) {
        lua_pushinteger(L, codes[i].code);
        lua_setfield(L, -2, codes[i].name);
    }
    return 1;
}
