/* sched.c unit provides the coroutine scheduler declared in sched.h, the
 * `wm.spawn` task handles, `wm.sleep`, `wm.now` and `wm.event`. */
#include "sched.h"
#include "log.h"
#include "wm.h"

#include <lauxlib.h>
#include <string.h>

struct wm_defer_s {
    wm_co_defer_fn fn;
    void *data;
    struct wm_defer_s *next;
};

static struct {
    uv_loop_t *loop;
    lua_State *L;          /* main state */
    uv_idle_t idle;        /* drains the ready queue */
    wm_co_t *ready_head, *ready_tail;
    wm_co_t *all;          /* every live task, linked by next_live/prev_live */
    wm_co_t *running;
    unsigned long next_id;
    int live;
    void (*on_idle)(void *);
    void *on_idle_ud;
    int initialized;
} S;

static void ready_push(wm_co_t *co);
static void idle_cb(uv_idle_t *h);

int wm_sched_init(uv_loop_t *loop, lua_State *L)
{
    memset(&S, 0, sizeof(S));
    S.loop = loop;
    S.L = L;
    S.next_id = 1;
    uv_idle_init(loop, &S.idle);
    S.initialized = 1;
    return 0;
}

void wm_sched_close(void)
{
    if (!S.initialized)
        return;
    uv_idle_stop(&S.idle);
    uv_close((uv_handle_t *)&S.idle, NULL);
    S.initialized = 0;
}

uv_loop_t *wm_sched_loop(void) { return S.loop; }
lua_State *wm_sched_main_state(void) { return S.L; }
int wm_sched_live(void) { return S.live; }

void wm_sched_on_idle(void (*fn)(void *), void *ud)
{
    S.on_idle = fn;
    S.on_idle_ud = ud;
}

static int traceback_handler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

int wm_lua_pcall(lua_State *L, int nargs, int nres)
{
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, traceback_handler);
    lua_insert(L, base);
    int rc = lua_pcall(L, nargs, nres, base);
    lua_remove(L, base);
    return rc;
}

wm_co_t *wm_sched_current(lua_State *L)
{
    return (S.running != NULL && S.running->L == L) ? S.running : NULL;
}

wm_co_t *wm_sched_spawn(lua_State *L, int nargs, wm_co_done_cb done, void *ud)
{
    wm_co_t *co = wm_calloc(1, sizeof(*co));
    co->L = lua_newthread(L);
    co->ref = luaL_ref(L, LUA_REGISTRYINDEX);     /* stack: fn, args */
    lua_xmove(L, co->L, nargs + 1);               /* the thread now holds them */
    co->id = S.next_id++;
    co->done = done;
    co->done_ud = ud;
    co->nargs_ready = nargs;
    co->next_live = S.all;
    if (S.all != NULL)
        S.all->prev_live = co;
    S.all = co;
    S.live++;
    ready_push(co);
    return co;
}

static void ready_push(wm_co_t *co)
{
    if (co->queued)
        return;
    co->queued = 1;
    co->next_ready = NULL;
    if (S.ready_tail != NULL)
        S.ready_tail->next_ready = co;
    else
        S.ready_head = co;
    S.ready_tail = co;
    if (!uv_is_active((uv_handle_t *)&S.idle))
        uv_idle_start(&S.idle, idle_cb);
}

static void ready_remove(wm_co_t *co)
{
    wm_co_t **pp = &S.ready_head, *prev = NULL;
    while (*pp != NULL && *pp != co) {
        prev = *pp;
        pp = &(*pp)->next_ready;
    }
    if (*pp == NULL)
        return;
    *pp = co->next_ready;
    if (S.ready_tail == co)
        S.ready_tail = prev;
    co->queued = 0;
}

static void finish(wm_co_t *co, int ok, int nres, const char *err)
{
    co->finished = 1;
    while (co->defers != NULL) {
        struct wm_defer_s *d = co->defers;
        co->defers = d->next;
        d->fn(co, d->data);
        wm_free(d);
    }
    if (co->done != NULL)
        co->done(co, ok, nres, err, co->done_ud);
    else if (!ok && !co->cancelled)
        wm_log_error("task failed", "error", err);
    luaL_unref(S.L, LUA_REGISTRYINDEX, co->ref);
    if (co->queued)
        ready_remove(co);
    if (co->prev_live != NULL)
        co->prev_live->next_live = co->next_live;
    else
        S.all = co->next_live;
    if (co->next_live != NULL)
        co->next_live->prev_live = co->prev_live;
    wm_free(co);
    S.live--;
    if (S.live == 0 && S.on_idle != NULL)
        S.on_idle(S.on_idle_ud);
}

static void run(wm_co_t *co)
{
    int nargs;
    if (!co->started) {
        co->started = 1;
        nargs = co->nargs_ready;
    } else {
        nargs = 0;
        if (co->push != NULL)
            nargs = co->push(co, co->L, co->op);
        co->op = NULL;
        co->push = NULL;
        co->cancel = NULL;
    }
    S.running = co;
    int rc = lua_resume(co->L, nargs);
    S.running = NULL;
    if (rc == LUA_YIELD) {
        if (co->op == NULL && co->push == NULL) {
            /* A plain coroutine.yield(): give the loop a turn, then go on. */
            lua_settop(co->L, 0);
            ready_push(co);
        }
        return;
    }
    if (rc == 0) {
        finish(co, 1, lua_gettop(co->L), NULL);
        return;
    }
    const char *msg = lua_tostring(co->L, -1);
    if (msg == NULL)
        msg = lua_pushfstring(co->L, "(error object is a %s value)", luaL_typename(co->L, -1));
    luaL_traceback(S.L, co->L, msg, 0);
    char *tb = wm_strdup(lua_tostring(S.L, -1));
    lua_pop(S.L, 1);
    finish(co, 0, 0, tb);
    wm_free(tb);
}

static void idle_cb(uv_idle_t *h)
{
    /* Run only what is queued now; tasks queued while we run wait a turn so
     * that I/O callbacks get their share. */
    wm_co_t *tail = S.ready_tail;
    while (S.ready_head != NULL) {
        wm_co_t *co = S.ready_head;
        S.ready_head = co->next_ready;
        if (S.ready_head == NULL)
            S.ready_tail = NULL;
        co->queued = 0;
        int last = (co == tail);
        run(co);
        if (last)
            break;
    }
    if (S.ready_head == NULL)
        uv_idle_stop(h);
}

int wm_sched_yield(wm_co_t *co, void *op, wm_co_push_fn push, wm_co_cancel_fn cancel)
{
    co->op = op;
    co->push = push;
    co->cancel = cancel;
    return lua_yield(co->L, 0);
}

void wm_sched_resume(wm_co_t *co)
{
    if (co->finished)
        return;
    if (S.running != NULL)
        ready_push(co);
    else
        run(co);
}

void wm_sched_cancel(wm_co_t *co, const char *reason)
{
    if (co->finished || co == S.running)
        return;
    if (co->cancel != NULL && co->op != NULL)
        co->cancel(co, co->op);
    co->op = NULL;
    co->push = NULL;
    co->cancel = NULL;
    co->cancelled = 1;
    finish(co, 0, 0, reason);
}

void wm_sched_cancel_all(const char *reason)
{
    while (S.all != NULL) {
        wm_co_t *co = S.all;
        if (co == S.running)
            co = co->next_live;
        if (co == NULL)
            break;
        wm_sched_cancel(co, reason);
    }
}

struct wm_defer_s *wm_sched_defer(wm_co_t *co, wm_co_defer_fn fn, void *data)
{
    struct wm_defer_s *d = wm_malloc(sizeof(*d));
    d->fn = fn;
    d->data = data;
    d->next = co->defers;
    co->defers = d;
    return d;
}

void wm_sched_undefer(wm_co_t *co, struct wm_defer_s *d)
{
    for (struct wm_defer_s **pp = &co->defers; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == d) {
            *pp = d->next;
            wm_free(d);
            return;
        }
    }
}

/* ---- waiting: a list of parked tasks, each with an optional timeout ---- */

struct waiter {
    uv_timer_t timer;
    wm_co_t *co;
    struct waiter *next, *prev;
    struct waitlist *list;
    int outcome;           /* 1 woken, 0 timed out */
    int has_timer;
    int ctx_ref;           /* registry ref kept alive while waiting, or LUA_NOREF */
    wm_co_push_fn push_woken; /* pushes the results when woken, or NULL for `true` */
};

struct waitlist {
    struct waiter *head;
};

static void waiter_unlink(struct waiter *w)
{
    if (w->list == NULL)
        return;
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        w->list->head = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    w->list = NULL;
}

static void waiter_close_cb(uv_handle_t *h)
{
    wm_free(h->data);
}

static void waiter_free(struct waiter *w)
{
    waiter_unlink(w);
    if (w->has_timer) {
        uv_timer_stop(&w->timer);
        uv_close((uv_handle_t *)&w->timer, waiter_close_cb);
    } else {
        wm_free(w);
    }
}

static int waiter_push(wm_co_t *co, lua_State *L, void *op)
{
    struct waiter *w = op;
    int outcome = w->outcome;
    wm_co_push_fn push_woken = w->push_woken;
    int ctx_ref = w->ctx_ref;
    waiter_free(w);
    if (outcome) {
        int n = 1;
        if (push_woken != NULL) {
            lua_rawgeti(L, LUA_REGISTRYINDEX, ctx_ref);
            n = push_woken(co, L, lua_touserdata(L, -1));
            lua_remove(L, -n - 1);
        } else {
            lua_pushboolean(L, 1);
        }
        if (ctx_ref != LUA_NOREF)
            luaL_unref(L, LUA_REGISTRYINDEX, ctx_ref);
        return n;
    }
    if (ctx_ref != LUA_NOREF)
        luaL_unref(L, LUA_REGISTRYINDEX, ctx_ref);
    lua_pushnil(L);
    lua_pushliteral(L, "timeout");
    return 2;
}

static void waiter_cancel(wm_co_t *co, void *op)
{
    struct waiter *w = op;
    WM_UNUSED(co);
    if (w->ctx_ref != LUA_NOREF)
        luaL_unref(S.L, LUA_REGISTRYINDEX, w->ctx_ref);
    waiter_free(w);
}

static void waiter_timer_cb(uv_timer_t *t)
{
    struct waiter *w = t->data;
    waiter_unlink(w);
    w->outcome = 0;
    wm_sched_resume(w->co);
}

/* Parks `co` on `wl`. When woken, `push_woken(co, L, ud)` pushes the results,
 * where ud is the userdata at `ctx_idx` (kept alive meanwhile); with
 * push_woken NULL the wait returns true. A timeout returns nil, "timeout". */
static int waitlist_wait(lua_State *L, wm_co_t *co, struct waitlist *wl, double timeout,
                         wm_co_push_fn push_woken, int ctx_idx)
{
    struct waiter *w = wm_calloc(1, sizeof(*w));
    w->co = co;
    w->push_woken = push_woken;
    w->ctx_ref = LUA_NOREF;
    if (push_woken != NULL) {
        lua_pushvalue(L, ctx_idx);
        w->ctx_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    w->list = wl;
    w->next = wl->head;
    if (wl->head != NULL)
        wl->head->prev = w;
    wl->head = w;
    if (timeout >= 0) {
        w->has_timer = 1;
        uv_timer_init(S.loop, &w->timer);
        w->timer.data = w;
        uv_timer_start(&w->timer, waiter_timer_cb, (uint64_t)(timeout * 1000.0), 0);
    }
    return wm_sched_yield(co, w, waiter_push, waiter_cancel);
}

static void waitlist_wake_all(struct waitlist *wl)
{
    while (wl->head != NULL) {
        struct waiter *w = wl->head;
        waiter_unlink(w);
        if (w->has_timer)
            uv_timer_stop(&w->timer);
        w->outcome = 1;
        ready_push(w->co);   /* never resume inside the waker's own call */
    }
}

/* ---- wm.sleep, wm.now, wm.yield ---- */

struct sleep_op {
    uv_timer_t timer;
    wm_co_t *co;
};

static void sleep_close_cb(uv_handle_t *h) { wm_free(h->data); }

static int sleep_push(wm_co_t *co, lua_State *L, void *op)
{
    struct sleep_op *s = op;
    WM_UNUSED(co);
    WM_UNUSED(L);
    uv_close((uv_handle_t *)&s->timer, sleep_close_cb);
    return 0;
}

static void sleep_cancel(wm_co_t *co, void *op)
{
    struct sleep_op *s = op;
    WM_UNUSED(co);
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, sleep_close_cb);
}

static void sleep_timer_cb(uv_timer_t *t)
{
    struct sleep_op *s = t->data;
    wm_sched_resume(s->co);
}

static int noop_push(wm_co_t *co, lua_State *L, void *op)
{
    WM_UNUSED(co);
    WM_UNUSED(L);
    WM_UNUSED(op);
    return 0;
}

static int yield_to_loop(lua_State *L, wm_co_t *co)
{
    WM_UNUSED(L);
    ready_push(co);
    return wm_sched_yield(co, NULL, noop_push, NULL);
}

static int l_sleep(lua_State *L)
{
    double s = luaL_checknumber(L, 1);
    wm_co_t *co = wm_sched_current(L);
    if (co == NULL)
        return luaL_error(L, "wm.sleep: must be called from a wm task");
    if (s <= 0)
        return yield_to_loop(L, co);
    struct sleep_op *op = wm_malloc(sizeof(*op));
    uv_timer_init(S.loop, &op->timer);
    op->timer.data = op;
    op->co = co;
    uv_timer_start(&op->timer, sleep_timer_cb, (uint64_t)(s * 1000.0 + 0.5), 0);
    return wm_sched_yield(co, op, sleep_push, sleep_cancel);
}

static int l_yield(lua_State *L)
{
    wm_co_t *co = wm_sched_current(L);
    if (co == NULL)
        return luaL_error(L, "wm.yield: must be called from a wm task");
    return yield_to_loop(L, co);
}

static int l_now(lua_State *L)
{
    lua_pushnumber(L, wm_wallclock());
    return 1;
}

static int l_monotonic(lua_State *L)
{
    lua_pushnumber(L, wm_monotonic());
    return 1;
}

/* ---- wm.event(): set() wakes every task in wait([timeout]) ---- */

static const char EVENT_MT[] = "wm.event";

struct event {
    struct waitlist wl;
    int is_set;
};

static int l_event_new(lua_State *L)
{
    struct event *ev = lua_newuserdata(L, sizeof(*ev));
    memset(ev, 0, sizeof(*ev));
    luaL_getmetatable(L, EVENT_MT);
    lua_setmetatable(L, -2);
    return 1;
}

static int l_event_wait(lua_State *L)
{
    struct event *ev = luaL_checkudata(L, 1, EVENT_MT);
    double timeout = luaL_optnumber(L, 2, -1);
    if (ev->is_set) {
        lua_pushboolean(L, 1);
        return 1;
    }
    wm_co_t *co = wm_sched_current(L);
    if (co == NULL)
        return luaL_error(L, "event:wait: must be called from a wm task");
    return waitlist_wait(L, co, &ev->wl, timeout, NULL, 0);
}

static int l_event_set(lua_State *L)
{
    struct event *ev = luaL_checkudata(L, 1, EVENT_MT);
    ev->is_set = 1;
    waitlist_wake_all(&ev->wl);
    return 0;
}

static int l_event_clear(lua_State *L)
{
    struct event *ev = luaL_checkudata(L, 1, EVENT_MT);
    ev->is_set = 0;
    return 0;
}

static int l_event_gc(lua_State *L)
{
    /* Tasks waiting on a collected event hold a reference to it on their
     * stack, so this only runs with no waiters left. */
    WM_UNUSED(L);
    return 0;
}

/* ---- wm.spawn(fn, ...) -> task; task:wait([timeout]) -> true, ... | false, err ---- */

static const char TASK_MT[] = "wm.task";

struct task {
    struct waitlist wl;
    wm_co_t *co;           /* while it runs */
    int finished, ok;
    int results_ref;       /* table {n=, ...} or the error string */
    int waited;
};

static void task_done(wm_co_t *co, int ok, int nres, const char *err, void *ud)
{
    lua_State *L = S.L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, (int)(intptr_t)ud);   /* stack: task */
    struct task *t = lua_touserdata(L, -1);
    t->finished = 1;
    t->co = NULL;
    t->ok = ok;
    if (ok) {
        lua_createtable(L, nres, 1);
        lua_xmove(co->L, L, nres);                           /* stack: task, tbl, r1..rn */
        for (int i = nres; i >= 1; i--)
            lua_rawseti(L, -1 - i, i);
        lua_pushinteger(L, nres);
        lua_setfield(L, -2, "n");
    } else {
        lua_pushstring(L, err);
        if (t->wl.head == NULL && !t->waited && !co->cancelled) {
            wm_log_error("spawned task failed", "error", err);
            wm_log_count_unhandled();
        }
    }
    t->results_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    waitlist_wake_all(&t->wl);
    lua_pop(L, 1);
    /* The task userdata was anchored while the task ran. */
    luaL_unref(L, LUA_REGISTRYINDEX, (int)(intptr_t)ud);
}

static int task_push_results(lua_State *L, struct task *t)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, t->results_ref);
    if (!t->ok) {
        lua_pushboolean(L, 0);
        lua_insert(L, -2);
        return 2;
    }
    int n = (int)(lua_getfield(L, -1, "n"), lua_tointeger(L, -1));
    lua_pop(L, 1);
    luaL_checkstack(L, n + 1, "too many results");
    lua_pushboolean(L, 1);
    for (int i = 1; i <= n; i++)
        lua_rawgeti(L, -1 - i, i);
    lua_remove(L, -2 - n);
    return n + 1;
}

static int task_woken_push(wm_co_t *co, lua_State *L, void *ud)
{
    WM_UNUSED(co);
    return task_push_results(L, ud);
}

static int l_spawn(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    int nargs = lua_gettop(L) - 1;
    struct task *t = lua_newuserdata(L, sizeof(*t));
    memset(t, 0, sizeof(*t));
    t->results_ref = LUA_NOREF;
    luaL_getmetatable(L, TASK_MT);
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    int tref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_insert(L, 1);                           /* stack: task, fn, args */
    t->co = wm_sched_spawn(L, nargs, task_done, (void *)(intptr_t)tref);
    return 1;
}

static int l_task_wait(lua_State *L)
{
    struct task *t = luaL_checkudata(L, 1, TASK_MT);
    double timeout = luaL_optnumber(L, 2, -1);
    t->waited = 1;
    if (t->finished)
        return task_push_results(L, t);
    wm_co_t *co = wm_sched_current(L);
    if (co == NULL)
        return luaL_error(L, "task:wait: must be called from a wm task");
    return waitlist_wait(L, co, &t->wl, timeout, task_woken_push, 1);
}

static int l_task_result(lua_State *L)
{
    /* After wait() returned true: the results, as wait() would give them. */
    struct task *t = luaL_checkudata(L, 1, TASK_MT);
    if (!t->finished)
        return luaL_error(L, "task:result: the task has not finished");
    return task_push_results(L, t);
}

static int l_task_gc(lua_State *L)
{
    struct task *t = luaL_checkudata(L, 1, TASK_MT);
    if (t->results_ref != LUA_NOREF)
        luaL_unref(L, LUA_REGISTRYINDEX, t->results_ref);
    return 0;
}

/* task:cancel([reason]): ends a task that is waiting; what it held (a
 * transaction's connection) is given back. Waiters see false, reason. */
static int l_task_cancel(lua_State *L)
{
    struct task *t = luaL_checkudata(L, 1, TASK_MT);
    const char *reason = luaL_optstring(L, 2, "cancelled");
    if (t->finished || t->co == NULL) {
        lua_pushboolean(L, 0);
        return 1;
    }
    if (wm_sched_current(L) == t->co)
        return luaL_error(L, "task:cancel: a task cannot cancel itself");
    t->waited = 1;       /* a cancel is not an unhandled error */
    wm_sched_cancel(t->co, reason);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_task_done(lua_State *L)
{
    struct task *t = luaL_checkudata(L, 1, TASK_MT);
    lua_pushboolean(L, t->finished);
    return 1;
}

void wm_sched_lua_register(lua_State *L)
{
    static const luaL_Reg event_methods[] = {
        {"wait", l_event_wait}, {"set", l_event_set}, {"clear", l_event_clear}, {NULL, NULL}};
    static const luaL_Reg task_methods[] = {
        {"wait", l_task_wait}, {"result", l_task_result}, {"done", l_task_done},
        {"cancel", l_task_cancel}, {NULL, NULL}};

    luaL_newmetatable(L, EVENT_MT);
    lua_newtable(L);
    luaL_register(L, NULL, event_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_event_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);

    luaL_newmetatable(L, TASK_MT);
    lua_newtable(L);
    luaL_register(L, NULL, task_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_task_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);

    static const luaL_Reg funcs[] = {
        {"spawn", l_spawn}, {"sleep", l_sleep}, {"yield", l_yield}, {"now", l_now},
        {"monotonic", l_monotonic}, {"event", l_event_new}, {NULL, NULL}};
    luaL_register(L, NULL, funcs);
}
