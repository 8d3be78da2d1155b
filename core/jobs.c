/* jobs.c unit provides the job scheduler declared in jobs.h and its Lua
 * binding "wm.core.jobs":
 *
 *   start{host=, lease=, poll=, batch=, backoff_base=, backoff_max=,
 *         kinds = { {name=, concurrency=, timeout=}, ... }, runner = fn}
 *       runner(job) runs in a task per job and returns "completed", or
 *       "retry", err[, delay], or "discard", err, or "snooze", nil, delay.
 *   set_kinds(kinds)      after a reload: new limits, new kinds
 *   wake([kind])          a job may be claimable (LISTEN wm_jobs)
 *   stop(deadline)        yields until running jobs finished or were handed back
 *   stats()               {running=, claimed=, completed=, retried=, discarded=, kinds={...}}
 */
#include "jobs.h"
#include "json.h"
#include "log.h"
#include "sched.h"
#include "vm.h"

#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KINDS 64

struct kind {
    char *name;
    int concurrency;
    double timeout;
    int running;
    int claiming;
    int maybe_more;            /* the last claim was full, or a wake-up came */
};

struct run {
    wm_jobs_t *jobs;
    long long id;
    struct kind *kind;
    wm_co_t *co;
    uv_timer_t timer;
    int attempt, max_attempts;
    int timed_out, handed_back;
    struct run *next, *prev;
};

enum write_kind { WRITE_COMPLETE, WRITE_RETRY, WRITE_DISCARD, WRITE_HANDBACK, WRITE_SNOOZE, WRITE_LEASE };

struct wm_jobs_s {
    wm_pg_pool_t *pool;
    char *host;
    double lease, poll, backoff_base, backoff_max;
    int batch;
    struct kind kinds[MAX_KINDS];
    int nkinds;
    int runner_ref;
    uv_timer_t poll_timer, lease_timer, flush_timer;
    uv_timer_t retry_timer;    /* wakes the claims when the soonest retry is due */
    double retry_due;          /* monotonic seconds, 0 when none */
    long long *done_ids;
    int ndone, done_cap;
    int flushing;
    int writes;                /* outcome writes in flight */
    struct run *runs;
    int nrunning;
    int stopping;
    wm_co_t *stop_waiter;
    uv_timer_t stop_timer;
    int closed_handles;
    unsigned long claimed, completed, retried, discarded;
};

static wm_jobs_t *J;

static void try_claim(wm_jobs_t *j, struct kind *k);
static void maybe_stopped(wm_jobs_t *j);

/* ---- small query helpers ---- */

static wm_pg_query_t *make_query(const char *sql, int n, const char **vals, wm_pg_query_cb cb, void *data)
{
    size_t lens[16];
    for (int i = 0; i < n; i++)
        lens[i] = vals[i] ? strlen(vals[i]) : 0;
    wm_pg_query_t *q = wm_pg_query_new(sql, strlen(sql), n, vals, lens);
    q->cb = cb;
    q->data = data;
    return q;
}

static int submit(wm_jobs_t *j, wm_pg_query_t *q)
{
    wm_err_t err;
    if (wm_pg_submit(j->pool, q, &err) < 0) {
        wm_log_warn("jobs: database write failed", "error", err.msg);
        wm_pg_query_free(q);
        return -1;
    }
    return 0;
}

static struct kind *find_kind(wm_jobs_t *j, const char *name)
{
    for (int i = 0; i < j->nkinds; i++) {
        if (strcmp(j->kinds[i].name, name) == 0)
            return &j->kinds[i];
    }
    return NULL;
}

/* ---- outcomes ---- */

static void write_done(wm_pg_query_t *q)
{
    wm_jobs_t *j = q->data;
    if (q->errmsg != NULL)
        wm_log_warn("jobs: recording an outcome failed", "error", q->errmsg);
    wm_pg_query_free(q);
    j->writes--;
    maybe_stopped(j);
}

static void write_outcome(wm_jobs_t *j, enum write_kind w, long long id, const char *err, double delay,
                          int attempt)
{
    char idbuf[32], delaybuf[32], attemptbuf[16];
    snprintf(idbuf, sizeof(idbuf), "%lld", id);
    snprintf(delaybuf, sizeof(delaybuf), "%.3f", delay);
    snprintf(attemptbuf, sizeof(attemptbuf), "%d", attempt);
    const char *sql = NULL;
    const char *vals[5] = {idbuf, j->host, err ? err : "", NULL, NULL};
    int n = 3;
    switch (w) {
    case WRITE_RETRY:
        sql = "UPDATE jobs SET status = 'retryable', run_at = now() + make_interval(secs => $4::float8),"
              " last_error = $3::text, errors = errors || jsonb_build_array(jsonb_build_object("
              "'attempt', $5::int, 'error', $3::text, 'at', now(), 'host', $2::text)),"
              " lease_owner = NULL, lease_expires_at = NULL, updated_at = now()"
              " WHERE id = $1 AND lease_owner = $2 AND status = 'running'";
        vals[3] = delaybuf;
        vals[4] = attemptbuf;
        n = 5;
        break;
    case WRITE_DISCARD:
        sql = "UPDATE jobs SET status = 'discarded', finished_at = now(), last_error = $3::text,"
              " errors = errors || jsonb_build_array(jsonb_build_object("
              "'attempt', $4::int, 'error', $3::text, 'at', now(), 'host', $2::text)),"
              " lease_owner = NULL, lease_expires_at = NULL, updated_at = now()"
              " WHERE id = $1 AND lease_owner = $2 AND status = 'running'";
        vals[3] = attemptbuf;
        n = 4;
        break;
    case WRITE_HANDBACK:
        /* Stopped before it finished: not an attempt. */
        sql = "UPDATE jobs SET status = 'available', attempt = GREATEST(attempt - 1, 0), run_at = now(),"
              " lease_owner = NULL, lease_expires_at = NULL, updated_at = now()"
              " WHERE id = $1 AND lease_owner = $2 AND status = 'running' AND $3::text IS NOT NULL";
        break;
    case WRITE_SNOOZE:
        sql = "UPDATE jobs SET status = 'scheduled', attempt = GREATEST(attempt - 1, 0),"
              " run_at = now() + make_interval(secs => $4::float8),"
              " lease_owner = NULL, lease_expires_at = NULL, updated_at = now()"
              " WHERE id = $1 AND lease_owner = $2 AND status = 'running' AND $3::text IS NOT NULL";
        vals[3] = delaybuf;
        n = 4;
        break;
    default:
        return;
    }
    j->writes++;
    if (submit(j, make_query(sql, n, vals, write_done, j)) < 0)
        j->writes--;
}

static void flush_completions(wm_jobs_t *j);

static void flush_timer_cb(uv_timer_t *t)
{
    wm_jobs_t *j = t->data;
    flush_completions(j);
    maybe_stopped(j);
}

static void flush_done(wm_pg_query_t *q)
{
    wm_jobs_t *j = q->data;
    j->flushing = 0;
    if (q->errmsg != NULL) {
        /* Keep the ids (they were restored by the caller) and try again. */
        wm_log_warn("jobs: recording completions failed, will retry", "error", q->errmsg);
        uv_timer_start(&j->flush_timer, flush_timer_cb, 500, 0);
    }
    wm_pg_query_free(q);
    j->writes--;
    if (j->ndone > 0 && !uv_is_active((uv_handle_t *)&j->flush_timer))
        flush_completions(j);
    maybe_stopped(j);
}

/* One UPDATE for every completion gathered since the last one: under load
 * completions batch themselves while the previous write is in flight. */
static void flush_completions(wm_jobs_t *j)
{
    if (j->flushing || j->ndone == 0)
        return;
    wm_buf_t b;
    wm_buf_init(&b);
    wm_buf_puts(&b, "{");
    for (int i = 0; i < j->ndone; i++)
        wm_buf_printf(&b, i ? ",%lld" : "%lld", j->done_ids[i]);
    wm_buf_puts(&b, "}");
    const char *vals[2] = {b.data, j->host};
    wm_pg_query_t *q = make_query(
        "UPDATE jobs SET status = 'completed', finished_at = now(), updated_at = now(),"
        " lease_owner = NULL, lease_expires_at = NULL"
        " WHERE id = ANY($1::bigint[]) AND lease_owner = $2 AND status = 'running'",
        2, vals, flush_done, j);
    wm_buf_free(&b);
    int n = j->ndone;
    j->ndone = 0;
    j->flushing = 1;
    j->writes++;
    if (submit(j, q) < 0) {
        j->ndone = n;          /* the ids are still in done_ids */
        j->flushing = 0;
        j->writes--;
        uv_timer_start(&j->flush_timer, flush_timer_cb, 500, 0);
    }
}

static void retry_timer_cb(uv_timer_t *t)
{
    wm_jobs_t *j = t->data;
    j->retry_due = 0;
    for (int i = 0; i < j->nkinds; i++)
        j->kinds[i].maybe_more = 1;
    for (int i = 0; i < j->nkinds; i++)
        try_claim(j, &j->kinds[i]);
}

/* A retry or snooze written by this host is due in `delay` seconds: claim
 * then, rather than at the next safety poll. */
static void wake_at(wm_jobs_t *j, double delay)
{
    double due = wm_monotonic() + delay;
    if (j->retry_due != 0 && j->retry_due <= due)
        return;
    j->retry_due = due;
    uv_timer_start(&j->retry_timer, retry_timer_cb, (uint64_t)(delay * 1000.0) + 5, 0);
}

static double backoff(wm_jobs_t *j, int attempt)
{
    double d = j->backoff_base * pow(2.0, attempt > 0 ? attempt - 1 : 0);
    if (d > j->backoff_max)
        d = j->backoff_max;
    /* +-25% jitter, so retries of a batch do not stampede together. */
    double jitter = 0.75 + 0.5 * ((double)rand() / (double)RAND_MAX);
    return d * jitter;
}

static void run_timer_closed(uv_handle_t *h)
{
    wm_free(h->data);
}

static void run_free(wm_jobs_t *j, struct run *r)
{
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        j->runs = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    uv_timer_stop(&r->timer);
    uv_close((uv_handle_t *)&r->timer, run_timer_closed);
}

static void job_done(wm_co_t *co, int ok, int nres, const char *err, void *ud)
{
    struct run *r = ud;
    wm_jobs_t *j = r->jobs;
    lua_State *L = co->L;
    const char *status = "retry";
    const char *msg = err;
    double delay = -1;
    char timeout_msg[64];

    if (r->handed_back) {
        write_outcome(j, WRITE_HANDBACK, r->id, "stopping", 0, r->attempt);
    } else {
        if (r->timed_out) {
            snprintf(timeout_msg, sizeof(timeout_msg), "timeout after %g s", r->kind->timeout);
            msg = timeout_msg;
        } else if (ok && nres >= 1) {
            int base = lua_gettop(L) - nres;
            status = lua_tostring(L, base + 1);
            if (status == NULL)
                status = "retry";
            msg = nres >= 2 ? lua_tostring(L, base + 2) : NULL;
            if (nres >= 3 && lua_isnumber(L, base + 3))
                delay = lua_tonumber(L, base + 3);
        }
        if (strcmp(status, "completed") == 0) {
            if (j->ndone == j->done_cap) {
                j->done_cap = j->done_cap ? j->done_cap * 2 : 256;
                j->done_ids = wm_realloc(j->done_ids, (size_t)j->done_cap * sizeof(long long));
            }
            j->done_ids[j->ndone++] = r->id;
            j->completed++;
            flush_completions(j);
        } else if (strcmp(status, "snooze") == 0) {
            write_outcome(j, WRITE_SNOOZE, r->id, "snoozed", delay >= 0 ? delay : 1, r->attempt);
            wake_at(j, delay >= 0 ? delay : 1);
        } else if (strcmp(status, "discard") == 0 || r->attempt >= r->max_attempts) {
            write_outcome(j, WRITE_DISCARD, r->id, msg ? msg : "failed", 0, r->attempt);
            j->discarded++;
            wm_log_warn("job discarded", "error", msg ? msg : "failed");
        } else {
            double wait = delay >= 0 ? delay : backoff(j, r->attempt);
            write_outcome(j, WRITE_RETRY, r->id, msg ? msg : "failed", wait, r->attempt);
            wake_at(j, wait);
            j->retried++;
        }
    }
    r->kind->running--;
    j->nrunning--;
    struct kind *k = r->kind;
    run_free(j, r);
    if (!j->stopping)
        try_claim(j, k);
    maybe_stopped(j);
}

static void run_timeout_cb(uv_timer_t *t)
{
    struct run *r = t->data;
    r->timed_out = 1;
    wm_sched_cancel(r->co, "timeout");
}

/* Starts the runner on row `i` of a claim result. */
static void start_job(wm_jobs_t *j, struct kind *k, PGresult *res, int i)
{
    lua_State *L = wm_sched_main_state();
    struct run *r = wm_calloc(1, sizeof(*r));
    r->jobs = j;
    r->kind = k;
    r->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
    r->attempt = atoi(PQgetvalue(res, i, 3));
    r->max_attempts = atoi(PQgetvalue(res, i, 4));
    uv_timer_init(wm_sched_loop(), &r->timer);
    r->timer.data = r;

    lua_rawgeti(L, LUA_REGISTRYINDEX, j->runner_ref);
    lua_createtable(L, 0, 6);
    lua_pushnumber(L, (lua_Number)r->id);
    lua_setfield(L, -2, "id");
    lua_pushstring(L, k->name);
    lua_setfield(L, -2, "kind");
    wm_err_t err;
    const char *payload = PQgetvalue(res, i, 2);
    if (wm_json_decode(L, payload, (size_t)PQgetlength(res, i, 2), &err) < 0)
        lua_newtable(L);
    lua_setfield(L, -2, "payload");
    lua_pushinteger(L, r->attempt);
    lua_setfield(L, -2, "attempt");
    lua_pushinteger(L, r->max_attempts);
    lua_setfield(L, -2, "max_attempts");
    lua_pushinteger(L, atoi(PQgetvalue(res, i, 5)));
    lua_setfield(L, -2, "priority");

    r->next = j->runs;
    if (j->runs != NULL)
        j->runs->prev = r;
    j->runs = r;
    k->running++;
    j->nrunning++;
    j->claimed++;
    r->co = wm_sched_spawn(L, 1, job_done, r);
    if (k->timeout > 0)
        uv_timer_start(&r->timer, run_timeout_cb, (uint64_t)(k->timeout * 1000.0), 0);
}

/* ---- claiming ---- */

struct claim {
    wm_jobs_t *jobs;
    struct kind *kind;
    int asked;
};

static void claim_done(wm_pg_query_t *q)
{
    struct claim *c = q->data;
    wm_jobs_t *j = c->jobs;
    struct kind *k = c->kind;
    k->claiming = 0;
    if (q->errmsg != NULL) {
        k->maybe_more = 0;     /* the safety poll tries again */
        if (!j->stopping)
            wm_log_warn("jobs: claim failed", "error", q->errmsg);
    } else if (q->res != NULL) {
        int n = PQntuples(q->res);
        k->maybe_more = n >= c->asked;
        for (int i = 0; i < n; i++)
            start_job(j, k, q->res, i);
    }
    wm_pg_query_free(q);
    wm_free(c);
    if (!j->stopping)
        try_claim(j, k);
    maybe_stopped(j);
}

static void try_claim(wm_jobs_t *j, struct kind *k)
{
    if (j->stopping || k->claiming || !k->maybe_more)
        return;
    int room = k->concurrency - k->running;
    if (room <= 0)
        return;
    if (room > j->batch)
        room = j->batch;
    char lease[32], n[16];
    snprintf(lease, sizeof(lease), "%.3f", j->lease);
    snprintf(n, sizeof(n), "%d", room);
    const char *vals[4] = {j->host, k->name, lease, n};
    struct claim *c = wm_malloc(sizeof(*c));
    c->jobs = j;
    c->kind = k;
    c->asked = room;
    wm_pg_query_t *q = make_query(
        "UPDATE jobs SET status = 'running', attempt = attempt + 1, lease_owner = $1,"
        " lease_expires_at = now() + make_interval(secs => $3::float8), attempted_at = now(),"
        " updated_at = now()"
        " WHERE id IN (SELECT id FROM jobs WHERE kind = $2"
        " AND status IN ('available', 'scheduled', 'retryable') AND run_at <= now()"
        " ORDER BY priority DESC, run_at, id LIMIT $4::int FOR UPDATE SKIP LOCKED)"
        " RETURNING id, kind, payload, attempt, max_attempts, priority",
        4, vals, claim_done, c);
    k->claiming = 1;
    wm_err_t err;
    if (wm_pg_submit(j->pool, q, &err) < 0) {
        k->claiming = 0;
        k->maybe_more = 0;
        wm_pg_query_free(q);
        wm_free(c);
    }
}

static void claim_all(wm_jobs_t *j)
{
    for (int i = 0; i < j->nkinds; i++) {
        j->kinds[i].maybe_more = 1;
        try_claim(j, &j->kinds[i]);
    }
}

static void poll_cb(uv_timer_t *t)
{
    claim_all(t->data);
}

static void lease_done(wm_pg_query_t *q)
{
    if (q->errmsg != NULL)
        wm_log_warn("jobs: lease renewal failed", "error", q->errmsg);
    wm_pg_query_free(q);
}

static void lease_cb(uv_timer_t *t)
{
    wm_jobs_t *j = t->data;
    if (j->nrunning == 0)
        return;
    char lease[32];
    snprintf(lease, sizeof(lease), "%.3f", j->lease);
    const char *vals[2] = {j->host, lease};
    submit(j, make_query("UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $2::float8)"
                         " WHERE lease_owner = $1 AND status = 'running'",
                         2, vals, lease_done, j));
}

/* ---- stopping ---- */

static void jobs_close_hook(void *ud);

/* Stopped: the scheduler is gone, and start() may run again. */
static int stop_push(wm_co_t *co, lua_State *L, void *op)
{
    WM_UNUSED(co);
    WM_UNUSED(op);
    jobs_close_hook(NULL);
    lua_pushboolean(L, 1);
    return 1;
}

static void stop_cancel(wm_co_t *co, void *op)
{
    WM_UNUSED(co);
    wm_jobs_t *j = op;
    j->stop_waiter = NULL;
}

static void maybe_stopped(wm_jobs_t *j)
{
    if (!j->stopping || j->stop_waiter == NULL)
        return;
    if (j->nrunning > 0 || j->writes > 0 || j->ndone > 0)
        return;
    for (int i = 0; i < j->nkinds; i++) {
        if (j->kinds[i].claiming)
            return;
    }
    uv_timer_stop(&j->stop_timer);
    wm_co_t *w = j->stop_waiter;
    j->stop_waiter = NULL;
    wm_sched_resume(w);
}

static void stop_deadline_cb(uv_timer_t *t)
{
    wm_jobs_t *j = t->data;
    /* Hand back what is still running. Cancelling finishes each task, whose
     * done callback records the hand-back. */
    while (j->runs != NULL) {
        struct run *r = j->runs;
        r->handed_back = 1;
        wm_sched_cancel(r->co, "stopping");
    }
    flush_completions(j);
}

/* ---- Lua binding ---- */

static void read_kinds(lua_State *L, int idx, wm_jobs_t *j)
{
    luaL_checktype(L, idx, LUA_TTABLE);
    int n = (int)lua_objlen(L, idx);
    for (int i = 1; i <= n && i <= MAX_KINDS; i++) {
        lua_rawgeti(L, idx, i);
        lua_getfield(L, -1, "name");
        const char *name = luaL_checkstring(L, -1);
        struct kind *k = find_kind(j, name);
        if (k == NULL && j->nkinds < MAX_KINDS) {
            k = &j->kinds[j->nkinds++];
            memset(k, 0, sizeof(*k));
            k->name = wm_strdup(name);
            k->maybe_more = 1;
        }
        lua_pop(L, 1);
        if (k != NULL) {
            lua_getfield(L, -1, "concurrency");
            k->concurrency = lua_isnumber(L, -1) ? (int)lua_tointeger(L, -1) : 10;
            lua_pop(L, 1);
            lua_getfield(L, -1, "timeout");
            k->timeout = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : 300;
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
}

static double field_num(lua_State *L, int idx, const char *k, double dflt)
{
    lua_getfield(L, idx, k);
    double v = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : dflt;
    lua_pop(L, 1);
    return v;
}

static int l_start(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    if (J != NULL)
        return luaL_error(L, "jobs: the scheduler is already running");
    wm_pg_pool_t *pool = wm_lua_pg_pool();
    if (pool == NULL)
        return luaL_error(L, "jobs: open the database first");
    wm_jobs_t *j = wm_calloc(1, sizeof(*j));
    j->pool = pool;
    lua_getfield(L, 1, "host");
    j->host = wm_strdup(luaL_checkstring(L, -1));
    lua_pop(L, 1);
    j->lease = field_num(L, 1, "lease", 30);
    j->poll = field_num(L, 1, "poll", 2);
    j->batch = (int)field_num(L, 1, "batch", 100);
    j->backoff_base = field_num(L, 1, "backoff_base", 2);
    j->backoff_max = field_num(L, 1, "backoff_max", 3600);
    lua_getfield(L, 1, "kinds");
    read_kinds(L, lua_gettop(L), j);
    lua_pop(L, 1);
    lua_getfield(L, 1, "runner");
    luaL_checktype(L, -1, LUA_TFUNCTION);
    j->runner_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    uv_loop_t *loop = wm_sched_loop();
    uv_timer_init(loop, &j->poll_timer);
    uv_timer_init(loop, &j->lease_timer);
    uv_timer_init(loop, &j->flush_timer);
    uv_timer_init(loop, &j->stop_timer);
    uv_timer_init(loop, &j->retry_timer);
    j->poll_timer.data = j->lease_timer.data = j->flush_timer.data = j->stop_timer.data = j;
    j->retry_timer.data = j;
    uint64_t poll_ms = (uint64_t)(j->poll * 1000.0);
    uv_timer_start(&j->poll_timer, poll_cb, poll_ms, poll_ms);
    uint64_t lease_ms = (uint64_t)(j->lease * 1000.0 / 3.0);
    uv_timer_start(&j->lease_timer, lease_cb, lease_ms, lease_ms);
    srand((unsigned)(wm_monotonic() * 1e6));
    J = j;
    static int hooked;
    if (!hooked) {
        wm_vm_on_close(jobs_close_hook, NULL);
        hooked = 1;
    }
    claim_all(j);
    return 0;
}

static int l_set_kinds(lua_State *L)
{
    if (J == NULL)
        return 0;
    read_kinds(L, 1, J);
    claim_all(J);
    return 0;
}

static int l_wake(lua_State *L)
{
    if (J == NULL || J->stopping)
        return 0;
    const char *name = luaL_optstring(L, 1, NULL);
    struct kind *k = name ? find_kind(J, name) : NULL;
    if (k != NULL) {
        k->maybe_more = 1;
        try_claim(J, k);
    } else if (name == NULL) {
        claim_all(J);
    }
    return 0;
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
    J->stopping = 1;
    uv_timer_stop(&J->poll_timer);
    uv_timer_stop(&J->retry_timer);
    flush_completions(J);
    J->stop_waiter = co;
    if (J->nrunning > 0)
        uv_timer_start(&J->stop_timer, stop_deadline_cb, (uint64_t)(deadline * 1000.0), 0);
    /* Even with nothing running, wait for writes and claims in flight. */
    uv_timer_start(&J->flush_timer, flush_timer_cb, 0, 0);
    return wm_sched_yield(co, J, stop_push, stop_cancel);
}

static void handle_closed(uv_handle_t *h)
{
    wm_jobs_t *j = h->data;
    if (++j->closed_handles < 5)
        return;
    for (int i = 0; i < j->nkinds; i++)
        wm_free(j->kinds[i].name);
    wm_free(j->done_ids);
    wm_free(j->host);
    wm_free(j);
}

static void jobs_close_hook(void *ud)
{
    WM_UNUSED(ud);
    if (J == NULL)
        return;
    wm_jobs_t *j = J;
    J = NULL;
    luaL_unref(wm_sched_main_state(), LUA_REGISTRYINDEX, j->runner_ref);
    uv_close((uv_handle_t *)&j->poll_timer, handle_closed);
    uv_close((uv_handle_t *)&j->lease_timer, handle_closed);
    uv_close((uv_handle_t *)&j->flush_timer, handle_closed);
    uv_close((uv_handle_t *)&j->stop_timer, handle_closed);
    uv_close((uv_handle_t *)&j->retry_timer, handle_closed);
}

static int l_stats(lua_State *L)
{
    lua_createtable(L, 0, 6);
    if (J == NULL)
        return 1;
    lua_pushinteger(L, J->nrunning);
    lua_setfield(L, -2, "running");
    lua_pushnumber(L, (lua_Number)J->claimed);
    lua_setfield(L, -2, "claimed");
    lua_pushnumber(L, (lua_Number)J->completed);
    lua_setfield(L, -2, "completed");
    lua_pushnumber(L, (lua_Number)J->retried);
    lua_setfield(L, -2, "retried");
    lua_pushnumber(L, (lua_Number)J->discarded);
    lua_setfield(L, -2, "discarded");
    lua_pushboolean(L, J->stopping);
    lua_setfield(L, -2, "stopping");
    lua_createtable(L, 0, J->nkinds);
    for (int i = 0; i < J->nkinds; i++) {
        lua_createtable(L, 0, 2);
        lua_pushinteger(L, J->kinds[i].running);
        lua_setfield(L, -2, "running");
        lua_pushinteger(L, J->kinds[i].concurrency);
        lua_setfield(L, -2, "concurrency");
        lua_setfield(L, -2, J->kinds[i].name);
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
    return 1;
}
