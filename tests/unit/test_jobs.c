/* Unit tests of the job scheduler's state machine (jobs.c) against a fresh
 * migrated database of the test cluster, with a C runner instead of Lua:
 * claim -> complete; retry with exponential backoff until discarded at
 * max_attempts, every error kept; discard asked; snooze (no attempt
 * counted); a retry's own delay; a timeout as a failed attempt; and the
 * hand-back of a running job at the stop deadline. */
#include "test.h"
#include "jobs.h"
#include "pg.h"

#include <libpq-fe.h>
#include <math.h>
#include <stdlib.h>

struct rec {
    long long id;
    int attempt;
    double at;
};

static struct rec runs[128];
static int nruns;

struct pending {
    uv_timer_t timer;
    wm_jobs_run_t *run;
    wm_jobs_outcome_t o;
    int waits;                 /* hangs until cancelled */
};

static int runs_of(long long id)
{
    int n = 0;
    for (int i = 0; i < nruns; i++)
        n += runs[i].id == id;
    return n;
}

/* The gap between the n-th and the (n+1)-th run of `id`, in seconds. */
static double gap(long long id, int n)
{
    double prev = -1;
    int seen = 0;
    for (int i = 0; i < nruns; i++) {
        if (runs[i].id != id)
            continue;
        if (++seen == n)
            prev = runs[i].at;
        else if (seen == n + 1)
            return runs[i].at - prev;
    }
    return -1;
}

static void pending_closed(uv_handle_t *h) { free(h->data); }

/* Jobs running now, the most at once, and the most at once while `busy`. */
static int running_now, most_running, most_while_busy, busy;

static void finish_later(uv_timer_t *t)
{
    struct pending *p = t->data;
    running_now--;
    wm_jobs_finish(p->run, &p->o);
    uv_close((uv_handle_t *)&p->timer, pending_closed);
}

static uv_loop_t *the_loop;

static void test_run(wm_jobs_run_t *run, const wm_jobs_job_t *job, void *ud)
{
    WM_UNUSED(ud);
    runs[nruns].id = job->id;
    runs[nruns].attempt = job->attempt;
    runs[nruns].at = wm_monotonic();
    nruns++;
    running_now++;
    if (running_now > most_running)
        most_running = running_now;
    if (busy && running_now > most_while_busy)
        most_while_busy = running_now;
    int nth = runs_of(job->id);
    struct pending *p = calloc(1, sizeof(*p));
    p->run = run;
    p->o.outcome = WM_JOBS_COMPLETED;
    p->o.delay = -1;
    const char *pl = job->payload;
    if (strstr(pl, "\"retry_delay\"") && nth == 1) {
        p->o.outcome = WM_JOBS_RETRY;
        p->o.error = "later, please";
        p->o.delay = 0.4;
    } else if (strstr(pl, "\"retry\"")) {
        p->o.outcome = WM_JOBS_RETRY;
        p->o.error = "failed again";
    } else if (strstr(pl, "\"discard\"")) {
        p->o.outcome = WM_JOBS_DISCARD;
        p->o.error = "not worth it";
    } else if (strstr(pl, "\"snooze\"") && nth == 1) {
        p->o.outcome = WM_JOBS_SNOOZE;
        p->o.delay = 0.3;
    } else if (strstr(pl, "\"hang\"") || strstr(pl, "\"block\"")) {
        p->waits = 1;
    }
    uint64_t hold = strstr(pl, "\"hold\"") ? 60 : 1;
    uv_timer_init(the_loop, &p->timer);
    p->timer.data = p;
    wm_jobs_run_set_data(run, p);
    if (!p->waits)
        uv_timer_start(&p->timer, finish_later, hold, 0);   /* never inside run() */
}

static int cancels;

static void test_cancel(wm_jobs_run_t *run, void *ud)
{
    WM_UNUSED(ud);
    struct pending *p = wm_jobs_run_data(run);
    cancels++;
    p->o.outcome = WM_JOBS_COMPLETED;     /* the scheduler must not believe it */
    uv_timer_stop(&p->timer);
    wm_jobs_finish(run, &p->o);           /* inside the cancel: allowed */
    uv_close((uv_handle_t *)&p->timer, pending_closed);
}

static int stopped;
static void on_stopped(wm_jobs_t *j, void *ud)
{
    WM_UNUSED(j);
    stopped++;
    uv_stop(ud);
}

static void stop_loop_cb(uv_timer_t *t) { uv_stop(t->loop); }

static PGresult *sql(PGconn *c, const char *q)
{
    PGresult *r = PQexec(c, q);
    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
        fprintf(stderr, "%s: %s", q, PQerrorMessage(c));
    return r;
}

/* One job's row: status, attempt, the number of errors, the first error. */
struct row {
    char status[16];
    int attempt, nerrors;
    char first_error[128], last_error[128];
};

static int job_row(PGconn *c, long long id, struct row *out)
{
    char q[256];
    snprintf(q, sizeof(q),
             "SELECT status, attempt, jsonb_array_length(errors), coalesce(errors->0->>'error', ''),"
             " coalesce(last_error, '') FROM jobs WHERE id = %lld", id);
    PGresult *r = sql(c, q);
    if (PQntuples(r) != 1) {
        PQclear(r);
        return -1;
    }
    snprintf(out->status, sizeof(out->status), "%s", PQgetvalue(r, 0, 0));
    out->attempt = atoi(PQgetvalue(r, 0, 1));
    out->nerrors = atoi(PQgetvalue(r, 0, 2));
    snprintf(out->first_error, sizeof(out->first_error), "%s", PQgetvalue(r, 0, 3));
    snprintf(out->last_error, sizeof(out->last_error), "%s", PQgetvalue(r, 0, 4));
    PQclear(r);
    return 0;
}

static int migrate(const char *url)
{
    setenv("WM_DATABASE_URL", url, 1);
    test_vm_t vm;
    if (test_vm_open(&vm) != 0)
        return -1;
    int rc = test_vm_run(&vm, "assert(wm.db.open()); assert(require('wm.migrate').up())");
    test_vm_close(&vm);
    return rc;
}

/* A test's scheduler: its loop, a pool of two connections, the scheduler
 * with test_run and test_cancel (poll and busy are the test's own), and a
 * timer that stops the loop. */
struct sched {
    uv_loop_t loop;
    wm_pg_pool_t *pool;
    wm_jobs_t *j;
    wm_jobs_conf_t conf;
    uv_timer_t until;
};

static int sched_open(struct sched *s, const char *url, double poll, int (*busy_fn)(void *))
{
    uv_loop_init(&s->loop);
    the_loop = &s->loop;
    wm_pg_conf_t pc = {.conninfo = url, .size = 2, .pipeline_depth = 8, .connect_timeout = 5};
    wm_err_t err;
    ASSERT(wm_pg_pool_open(&s->loop, &pc, &s->pool, &err) == 0);
    s->conf = (wm_jobs_conf_t){
        .host = "unit-host", .lease = 30, .poll = poll, .batch = 10, .backoff_base = 0.1, .backoff_max = 10,
        .run = test_run, .cancel = test_cancel, .busy = busy_fn,
    };
    ASSERT(wm_jobs_start(&s->loop, s->pool, &s->conf, &s->j, &err) == 0);
    uv_timer_init(&s->loop, &s->until);
    return 0;
}

/* Runs the loop for `ms` milliseconds (or until something stops it). */
static void sched_run_for(struct sched *s, uint64_t ms)
{
    uv_timer_start(&s->until, stop_loop_cb, ms, 0);
    uv_run(&s->loop, UV_RUN_DEFAULT);
}

/* Closes the scheduler, the pool and the loop, which must have nothing
 * left open (the test's own handles are closed before). */
static int sched_close(struct sched *s)
{
    wm_jobs_close(s->j);
    uv_close((uv_handle_t *)&s->until, NULL);
    wm_pg_pool_close(s->pool);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    ASSERT(uv_loop_close(&s->loop) == 0);
    return 0;
}

/* `body` against a fresh migrated database named `name`, dropped after. */
static int with_db(const char *name, int (*body)(const char *url))
{
    const char *url = test_db_create(name);
    ASSERT(url != NULL);
    int rc = migrate(url);
    if (rc == 0)
        rc = body(url);
    test_db_drop();
    ASSERT(rc == 0);
    return 0;
}

enum { J_COMPLETE, J_RETRY, J_DISCARD, J_SNOOZE, J_DELAY, J_HANG, J_BLOCK, NJOBS };

static int run_state_machine(const char *url)
{
    PGconn *c = PQconnectdb(url);
    ASSERT(PQstatus(c) == CONNECTION_OK);
    PGresult *r = sql(c,
        "INSERT INTO jobs (kind, payload, max_attempts) VALUES"
        " ('t', '{\"do\": \"complete\"}', 5), ('t', '{\"do\": \"retry\"}', 3),"
        " ('t', '{\"do\": \"discard\"}', 5), ('t', '{\"do\": \"snooze\"}', 5),"
        " ('t', '{\"do\": \"retry_delay\"}', 5), ('slow', '{\"do\": \"hang\"}', 2),"
        " ('block', '{\"do\": \"block\"}', 5) RETURNING id");
    ASSERT_EQ_INT(PQntuples(r), NJOBS);
    long long id[NJOBS];
    for (int i = 0; i < NJOBS; i++)
        id[i] = strtoll(PQgetvalue(r, i, 0), NULL, 10);
    PQclear(r);

    struct sched s;
    ASSERT(sched_open(&s, url, 0.1, NULL) == 0);
    wm_jobs_conf_t bad = s.conf;
    bad.cancel = NULL;
    wm_jobs_t *none;
    wm_err_t err;
    ASSERT(wm_jobs_start(&s.loop, s.pool, &bad, &none, &err) == WM_EINVAL);
    wm_jobs_t *j = s.j;
    wm_jobs_set_kind(j, "t", 10, 0);
    wm_jobs_set_kind(j, "slow", 2, 0.3);
    wm_jobs_set_kind(j, "block", 1, 0);
    wm_jobs_wake(j, NULL);
    sched_run_for(&s, 2000);

    /* Stop: the blocked job is cancelled at the deadline and handed back. */
    wm_jobs_stats_t st;
    wm_jobs_stats(j, &st);
    ASSERT_EQ_INT(st.running, 1);
    int cancels_before = cancels;
    wm_jobs_stop(j, 0.1, on_stopped, &s.loop);
    ASSERT_EQ_INT(stopped, 0);             /* never inside the call */
    sched_run_for(&s, 5000);
    ASSERT_EQ_INT(stopped, 1);
    ASSERT_EQ_INT(cancels, cancels_before + 1);
    wm_jobs_stats(j, &st);
    ASSERT_EQ_INT(st.running, 0);
    ASSERT_EQ_INT(st.completed, 3);        /* complete, snooze, retry_delay */
    ASSERT_EQ_INT(st.snoozed, 1);
    ASSERT_EQ_INT(st.discarded, 3);        /* retry, discard, hang */
    ASSERT(sched_close(&s) == 0);

    struct row w;
    ASSERT(job_row(c, id[J_COMPLETE], &w) == 0);
    ASSERT_EQ_STR(w.status, "completed");
    ASSERT_EQ_INT(w.attempt, 1);
    ASSERT_EQ_INT(runs_of(id[J_COMPLETE]), 1);

    /* Three attempts, every error kept, the backoff doubling: 0.1 s then
     * 0.2 s, each at most 25% shorter for the jitter. */
    ASSERT(job_row(c, id[J_RETRY], &w) == 0);
    ASSERT_EQ_STR(w.status, "discarded");
    ASSERT_EQ_INT(w.attempt, 3);
    ASSERT_EQ_INT(w.nerrors, 3);
    ASSERT_EQ_STR(w.last_error, "failed again");
    ASSERT_EQ_INT(runs_of(id[J_RETRY]), 3);
    ASSERT(gap(id[J_RETRY], 1) >= 0.074 && gap(id[J_RETRY], 1) < 1.0);
    ASSERT(gap(id[J_RETRY], 2) >= 0.149);

    ASSERT(job_row(c, id[J_DISCARD], &w) == 0);
    ASSERT_EQ_STR(w.status, "discarded");
    ASSERT_EQ_INT(w.attempt, 1);
    ASSERT_EQ_STR(w.last_error, "not worth it");
    ASSERT_EQ_INT(runs_of(id[J_DISCARD]), 1);

    /* A snooze is not an attempt: the second run is attempt 1 again. */
    ASSERT(job_row(c, id[J_SNOOZE], &w) == 0);
    ASSERT_EQ_STR(w.status, "completed");
    ASSERT_EQ_INT(w.attempt, 1);
    ASSERT_EQ_INT(w.nerrors, 0);
    ASSERT_EQ_INT(runs_of(id[J_SNOOZE]), 2);
    ASSERT(gap(id[J_SNOOZE], 1) >= 0.29);

    /* The runner's own delay wins over the backoff. */
    ASSERT(job_row(c, id[J_DELAY], &w) == 0);
    ASSERT_EQ_STR(w.status, "completed");
    ASSERT_EQ_INT(w.attempt, 2);
    ASSERT_EQ_STR(w.first_error, "later, please");
    ASSERT(gap(id[J_DELAY], 1) >= 0.39);

    /* Timed out twice: a failed attempt each time, whatever the runner
     * said when cancelled. */
    ASSERT(job_row(c, id[J_HANG], &w) == 0);
    ASSERT_EQ_STR(w.status, "discarded");
    ASSERT_EQ_INT(w.attempt, 2);
    ASSERT_EQ_INT(w.nerrors, 2);
    ASSERT_EQ_STR(w.first_error, "timeout after 0.3 s");

    /* Handed back at the stop deadline: available again, no attempt spent. */
    ASSERT(job_row(c, id[J_BLOCK], &w) == 0);
    ASSERT_EQ_STR(w.status, "available");
    ASSERT_EQ_INT(w.attempt, 0);
    ASSERT_EQ_INT(runs_of(id[J_BLOCK]), 1);
    r = sql(c, "SELECT count(*) FROM jobs WHERE lease_owner IS NOT NULL");
    ASSERT_EQ_STR(PQgetvalue(r, 0, 0), "0");
    PQclear(r);
    PQfinish(c);
    return 0;
}

TEST_IMPL(jobs_state_machine)
{
    return with_db("jobs", run_state_machine);
}

/* A host busy answering requests keeps one job running and claims the rest
 * once it is not; the same jobs then run side by side. */
static int host_busy(void *ud)
{
    WM_UNUSED(ud);
    return busy;
}

static void not_busy_cb(uv_timer_t *t)
{
    WM_UNUSED(t);
    busy = 0;
}

static int run_yield(const char *url)
{
    PGconn *c = PQconnectdb(url);
    ASSERT(PQstatus(c) == CONNECTION_OK);
    PQclear(sql(c, "INSERT INTO jobs (kind, payload) SELECT 'y', '{\"do\": \"hold\"}' FROM generate_series(1, 12)"));
    struct sched s;
    ASSERT(sched_open(&s, url, 5, host_busy) == 0);
    busy = 1;
    running_now = most_running = most_while_busy = 0;
    int runs_before = nruns;
    wm_jobs_set_kind(s.j, "y", 10, 0);
    wm_jobs_wake(s.j, NULL);
    /* Busy for 0.5 s: 60 ms jobs one at a time, about 8 of the 12. */
    uv_timer_t t_free;
    uv_timer_init(&s.loop, &t_free);
    uv_timer_start(&t_free, not_busy_cb, 500, 0);
    sched_run_for(&s, 1500);
    ASSERT_EQ_INT(most_while_busy, 1);
    ASSERT(most_running > 1);                  /* the rest ran side by side */
    ASSERT_EQ_INT(nruns - runs_before, 12);
    wm_jobs_stop(s.j, 1, on_stopped, &s.loop);
    uv_run(&s.loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t_free, NULL);
    ASSERT(sched_close(&s) == 0);
    PGresult *r = sql(c, "SELECT count(*) FROM jobs WHERE kind = 'y' AND status = 'completed'");
    ASSERT_EQ_STR(PQgetvalue(r, 0, 0), "12");
    PQclear(r);
    PQfinish(c);
    return 0;
}

TEST_IMPL(jobs_yield_while_busy)
{
    return with_db("jobs_yield", run_yield);
}
