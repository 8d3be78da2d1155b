/* jobs.c unit provides the job scheduler declared in jobs.h. It knows
 * nothing of Lua: the runner in conf (lua_jobs.c) starts each job and
 * reports its outcome through wm_jobs_finish. */
#include "jobs.h"
#include "log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KINDS 64
#define BUSY_RECHECK 0.05      /* seconds between claims while the host is busy */

struct kind {
    char *name;
    int concurrency;
    double timeout;
    int running;
    int claiming;
    int maybe_more;            /* the last claim was full, or a wake-up came */
};

struct wm_jobs_run_s {
    wm_jobs_t *jobs;
    long long id;
    struct kind *kind;
    void *data;                /* the runner's (its task) */
    uv_timer_t timer;
    int attempt, max_attempts;
    int timed_out, handed_back;
    struct wm_jobs_run_s *next, *prev;
};

typedef struct wm_jobs_run_s run_t;

/* Completions are not here: they are gathered and written in batches. */
enum write_kind { WRITE_RETRY, WRITE_DISCARD, WRITE_HANDBACK, WRITE_SNOOZE };

struct wm_jobs_s {
    uv_loop_t *loop;
    wm_pg_pool_t *pool;
    wm_jobs_conf_t conf;       /* conf.host points at `host` */
    char *host;
    struct kind kinds[MAX_KINDS];
    int nkinds;
    uv_timer_t poll_timer, lease_timer, flush_timer;
    uv_timer_t retry_timer;    /* wakes the claims when the soonest retry is due */
    double retry_due;          /* monotonic seconds, 0 when none */
    long long *done_ids;
    int ndone, done_cap;
    int flushing;
    int writes;                /* outcome writes in flight */
    run_t *runs;
    int nrunning;
    int stopping, closed;
    void (*stopped_cb)(wm_jobs_t *j, void *ud);
    void *stopped_ud;
    uv_timer_t stop_timer;
    int closed_handles;
    unsigned long claimed, completed, retried, discarded, snoozed;
};

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
    double d = j->conf.backoff_base * pow(2.0, attempt > 0 ? attempt - 1 : 0);
    if (d > j->conf.backoff_max)
        d = j->conf.backoff_max;
    /* +-25% jitter, so retries of a batch do not stampede together. */
    double jitter = 0.75 + 0.5 * ((double)rand() / (double)RAND_MAX);
    return d * jitter;
}

static void run_timer_closed(uv_handle_t *h)
{
    wm_free(h->data);
}

static void run_free(wm_jobs_t *j, run_t *r)
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

void wm_jobs_run_set_data(wm_jobs_run_t *run, void *data) { run->data = data; }
void *wm_jobs_run_data(const wm_jobs_run_t *run) { return run->data; }

void wm_jobs_finish(wm_jobs_run_t *r, const wm_jobs_outcome_t *o)
{
    wm_jobs_t *j = r->jobs;
    int outcome = o->outcome;
    const char *msg = o->error;
    double delay = o->delay;
    char timeout_msg[64];

    if (r->handed_back) {
        write_outcome(j, WRITE_HANDBACK, r->id, "stopping", 0, r->attempt);
    } else {
        if (r->timed_out) {
            snprintf(timeout_msg, sizeof(timeout_msg), "timeout after %g s", r->kind->timeout);
            outcome = WM_JOBS_RETRY;
            msg = timeout_msg;
            delay = -1;
        }
        switch (outcome) {
        case WM_JOBS_COMPLETED:
            if (j->ndone == j->done_cap) {
                j->done_cap = j->done_cap ? j->done_cap * 2 : 256;
                j->done_ids = wm_realloc(j->done_ids, (size_t)j->done_cap * sizeof(long long));
            }
            j->done_ids[j->ndone++] = r->id;
            j->completed++;
            flush_completions(j);
            break;
        case WM_JOBS_SNOOZE:
            write_outcome(j, WRITE_SNOOZE, r->id, "snoozed", delay >= 0 ? delay : 1, r->attempt);
            wake_at(j, delay >= 0 ? delay : 1);
            j->snoozed++;
            break;
        default:
            /* A retry, or anything else a runner might say: failing safe
             * means trying again, up to max_attempts. */
            if (outcome == WM_JOBS_DISCARD || r->attempt >= r->max_attempts) {
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
    run_t *r = t->data;
    wm_jobs_t *j = r->jobs;
    r->timed_out = 1;
    j->conf.cancel(r, j->conf.ud);
}

/* Hands row `i` of a claim result to the runner. */
static void start_job(wm_jobs_t *j, struct kind *k, PGresult *res, int i)
{
    run_t *r = wm_calloc(1, sizeof(*r));
    r->jobs = j;
    r->kind = k;
    r->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
    r->attempt = atoi(PQgetvalue(res, i, 3));
    r->max_attempts = atoi(PQgetvalue(res, i, 4));
    uv_timer_init(j->loop, &r->timer);
    r->timer.data = r;

    wm_jobs_job_t job = {
        .id = r->id,
        .kind = k->name,
        .payload = PQgetvalue(res, i, 2),
        .payload_len = (size_t)PQgetlength(res, i, 2),
        .attempt = r->attempt,
        .max_attempts = r->max_attempts,
        .priority = atoi(PQgetvalue(res, i, 5)),
    };
    r->next = j->runs;
    if (j->runs != NULL)
        j->runs->prev = r;
    j->runs = r;
    k->running++;
    j->nrunning++;
    j->claimed++;
    j->conf.run(r, &job, j->conf.ud);
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
    if (j->conf.busy != NULL && j->conf.busy(j->conf.ud)) {
        if (j->nrunning > 0) {
            wake_at(j, BUSY_RECHECK);
            return;
        }
        room = 1;
    }
    if (room > j->conf.batch)
        room = j->conf.batch;
    char lease[32], n[16];
    snprintf(lease, sizeof(lease), "%.3f", j->conf.lease);
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
    snprintf(lease, sizeof(lease), "%.3f", j->conf.lease);
    const char *vals[2] = {j->host, lease};
    submit(j, make_query("UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $2::float8)"
                         " WHERE lease_owner = $1 AND status = 'running'",
                         2, vals, lease_done, j));
}

/* ---- starting, waking ---- */

int wm_jobs_start(uv_loop_t *loop, wm_pg_pool_t *pool, const wm_jobs_conf_t *conf, wm_jobs_t **out,
                  wm_err_t *err)
{
    if (conf->host == NULL || conf->run == NULL || conf->cancel == NULL)
        return wm_err_set(err, WM_EINVAL, "jobs: host, run and cancel are required");
    if (conf->lease <= 0 || conf->poll <= 0 || conf->batch <= 0)
        return wm_err_set(err, WM_EINVAL, "jobs: lease, poll and batch must be positive");
    wm_jobs_t *j = wm_calloc(1, sizeof(*j));
    j->loop = loop;
    j->pool = pool;
    j->conf = *conf;
    j->host = wm_strdup(conf->host);
    j->conf.host = j->host;
    uv_timer_init(loop, &j->poll_timer);
    uv_timer_init(loop, &j->lease_timer);
    uv_timer_init(loop, &j->flush_timer);
    uv_timer_init(loop, &j->stop_timer);
    uv_timer_init(loop, &j->retry_timer);
    j->poll_timer.data = j->lease_timer.data = j->flush_timer.data = j->stop_timer.data = j;
    j->retry_timer.data = j;
    uint64_t poll_ms = (uint64_t)(conf->poll * 1000.0);
    uv_timer_start(&j->poll_timer, poll_cb, poll_ms, poll_ms);
    uint64_t lease_ms = (uint64_t)(conf->lease * 1000.0 / 3.0);
    uv_timer_start(&j->lease_timer, lease_cb, lease_ms, lease_ms);
    srand((unsigned)(wm_monotonic() * 1e6));
    *out = j;
    return 0;
}

void wm_jobs_set_kind(wm_jobs_t *j, const char *name, int concurrency, double timeout)
{
    struct kind *k = find_kind(j, name);
    if (k == NULL) {
        if (j->nkinds == MAX_KINDS) {
            wm_log_warn("jobs: too many kinds, ignored", "kind", name);
            return;
        }
        k = &j->kinds[j->nkinds++];
        memset(k, 0, sizeof(*k));
        k->name = wm_strdup(name);
    }
    k->concurrency = concurrency;
    k->timeout = timeout;
    k->maybe_more = 1;
}

void wm_jobs_wake(wm_jobs_t *j, const char *kind)
{
    if (j->stopping)
        return;
    if (kind == NULL) {
        claim_all(j);
        return;
    }
    struct kind *k = find_kind(j, kind);
    if (k != NULL) {
        k->maybe_more = 1;
        try_claim(j, k);
    }
}

/* ---- stopping ---- */

static void maybe_stopped(wm_jobs_t *j)
{
    if (!j->stopping || j->closed || j->stopped_cb == NULL)
        return;
    if (j->nrunning > 0 || j->writes > 0 || j->ndone > 0)
        return;
    for (int i = 0; i < j->nkinds; i++) {
        if (j->kinds[i].claiming)
            return;
    }
    uv_timer_stop(&j->stop_timer);
    void (*cb)(wm_jobs_t *, void *) = j->stopped_cb;
    j->stopped_cb = NULL;
    cb(j, j->stopped_ud);
}

static void stop_deadline_cb(uv_timer_t *t)
{
    wm_jobs_t *j = t->data;
    /* Hand back what is still running. The runner finishes each run, maybe
     * inside the cancel, and wm_jobs_finish records the hand-back. */
    run_t *next;
    for (run_t *r = j->runs; r != NULL; r = next) {
        next = r->next;
        r->handed_back = 1;
        j->conf.cancel(r, j->conf.ud);
    }
    flush_completions(j);
}

void wm_jobs_stop(wm_jobs_t *j, double deadline, void (*cb)(wm_jobs_t *j, void *ud), void *ud)
{
    j->stopped_cb = cb;
    j->stopped_ud = ud;
    if (j->stopping)
        return;
    j->stopping = 1;
    uv_timer_stop(&j->poll_timer);
    uv_timer_stop(&j->retry_timer);
    flush_completions(j);
    if (j->nrunning > 0)
        uv_timer_start(&j->stop_timer, stop_deadline_cb, (uint64_t)(deadline * 1000.0), 0);
    /* Even with nothing running, wait for writes and claims in flight; the
     * timer also keeps the callback out of this call. */
    uv_timer_start(&j->flush_timer, flush_timer_cb, 0, 0);
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

void wm_jobs_close(wm_jobs_t *j)
{
    j->stopping = 1;
    j->closed = 1;
    uv_close((uv_handle_t *)&j->poll_timer, handle_closed);
    uv_close((uv_handle_t *)&j->lease_timer, handle_closed);
    uv_close((uv_handle_t *)&j->flush_timer, handle_closed);
    uv_close((uv_handle_t *)&j->stop_timer, handle_closed);
    uv_close((uv_handle_t *)&j->retry_timer, handle_closed);
}

/* ---- figures ---- */

void wm_jobs_stats(const wm_jobs_t *j, wm_jobs_stats_t *out)
{
    out->running = j->nrunning;
    out->claimed = j->claimed;
    out->completed = j->completed;
    out->retried = j->retried;
    out->discarded = j->discarded;
    out->snoozed = j->snoozed;
    out->stopping = j->stopping;
}

int wm_jobs_kind_count(const wm_jobs_t *j) { return j->nkinds; }

void wm_jobs_kind_at(const wm_jobs_t *j, int i, const char **name, int *concurrency, int *running)
{
    *name = j->kinds[i].name;
    *concurrency = j->kinds[i].concurrency;
    *running = j->kinds[i].running;
}
