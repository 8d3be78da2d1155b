/* sched.h unit provides the coroutine scheduler: every Lua entry point (a
 * script, a job, a request) runs as a task, one Lua thread anchored in the
 * registry. A C function that has to wait follows one protocol:
 *
 *     wm_co_t *co = wm_sched_current(L);
 *     if (co == NULL)
 *         return luaL_error(L, "x: must be called from a wm task");
 *     ...start the I/O; its completion callback later calls
 *     wm_sched_resume(co)...
 *     return wm_sched_yield(co, op, push_results, cancel);
 *
 * libuv callbacks never run Lua themselves: they store the outcome in their
 * operation and call wm_sched_resume(), which asks the operation to push its
 * results onto the task's stack and resumes it. Only this unit calls
 * lua_resume.
 *
 * There is one scheduler per process (one loop, one Lua state). */
#ifndef WM_SCHED_H
#define WM_SCHED_H

#include <lua.h>
#include <uv.h>

typedef struct wm_co_s wm_co_t;

/* Pushes the results of the finished operation onto `L` (the task's own
 * thread) and returns how many it pushed. Frees what the operation owns. */
typedef int (*wm_co_push_fn)(wm_co_t *co, lua_State *L, void *op);

/* Cancels the pending operation: after it returns, its completion must not
 * call wm_sched_resume for this task. Frees what it can, or arranges for the
 * completion to free it. */
typedef void (*wm_co_cancel_fn)(wm_co_t *co, void *op);

/* Runs when a task ends, successfully or not. On success the task's return
 * values are on co->L (`nres` of them); on failure `err` holds the message
 * with its traceback and nres is 0. */
typedef void (*wm_co_done_cb)(wm_co_t *co, int ok, int nres, const char *err, void *ud);

/* Runs when a task ends, whatever the reason, before it is released: used to
 * give back what the task held (a pinned database connection). */
typedef void (*wm_co_defer_fn)(wm_co_t *co, void *data);

struct wm_co_s {
    lua_State *L;          /* the task's thread */
    int ref;               /* anchors L in the registry */
    unsigned long id;
    void *op;              /* the pending operation, if any */
    wm_co_push_fn push;
    wm_co_cancel_fn cancel;
    wm_co_done_cb done;
    void *done_ud;
    struct wm_defer_s *defers;
    wm_co_t *next_ready;   /* ready queue link */
    wm_co_t *next_live, *prev_live;
    int nargs_ready;       /* args already on the stack for the first resume */
    unsigned queued : 1;
    unsigned started : 1;
    unsigned finished : 1;
    unsigned cancelled : 1;
};

int wm_sched_init(uv_loop_t *loop, lua_State *L);
void wm_sched_close(void);
uv_loop_t *wm_sched_loop(void);
lua_State *wm_sched_main_state(void);

/* Starts a task that calls the function at the top of `L`'s stack, below its
 * `nargs` arguments; pops the function and the arguments. The task first
 * runs on the next loop turn, never inside this call. `done` (may be NULL)
 * runs once when it ends. */
wm_co_t *wm_sched_spawn(lua_State *L, int nargs, wm_co_done_cb done, void *ud);

/* The task running on `L`, or NULL when `L` is not a task's thread (the main
 * state, or a coroutine the script made itself). */
wm_co_t *wm_sched_current(lua_State *L);

/* Suspends the task until its operation completes. Call as the return
 * expression of a lua_CFunction. */
int wm_sched_yield(wm_co_t *co, void *op, wm_co_push_fn push, wm_co_cancel_fn cancel);

/* Resumes a suspended task (from a libuv callback). Safe to call while
 * another task is running: the resume is then queued. */
void wm_sched_resume(wm_co_t *co);

/* Ends a task from outside: cancels its pending operation, runs its defers
 * and its done callback with `reason` as the error. */
void wm_sched_cancel(wm_co_t *co, const char *reason);

/* Cancels every task but the running one (shutdown). */
void wm_sched_cancel_all(const char *reason);

/* Registers `fn(co, data)` to run when the task ends. Returns a handle that
 * wm_sched_undefer removes (when the resource is given back early). */
struct wm_defer_s *wm_sched_defer(wm_co_t *co, wm_co_defer_fn fn, void *data);
void wm_sched_undefer(wm_co_t *co, struct wm_defer_s *d);

/* Number of tasks alive (spawned and not yet finished). */
int wm_sched_live(void);

/* Called when the live count drops to zero (used by `wm run` to stop the
 * loop once the script and everything it spawned have finished). */
void wm_sched_on_idle(void (*fn)(void *), void *ud);

/* pcall with a traceback message handler; on error leaves the message on
 * the stack. */
int wm_lua_pcall(lua_State *L, int nargs, int nres);

/* Lua bindings: wm.spawn, wm.sleep, wm.now, wm.yield (on the table on top). */
void wm_sched_lua_register(lua_State *L);

#endif
