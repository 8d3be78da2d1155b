/* jobs.h unit provides the job scheduler: it claims jobs of each kind in
 * batches (UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)) up to
 * the kind's concurrency, hands each to a runner (the Lua binding,
 * lua_jobs.c, runs it in a task), renews the leases of what runs here,
 * records outcomes (completions in batches; retries with exponential backoff
 * and jitter; discards with every error kept; snoozes), and stops
 * gracefully: running jobs get a deadline, the rest are handed back without
 * counting an attempt.
 *
 * Wake-ups come from outside (wm_jobs_wake, fed by LISTEN on "wm_jobs"); a
 * slow safety poll catches scheduled run_at times and missed notifications. */
#ifndef WM_JOBS_H
#define WM_JOBS_H

#include "pg.h"

typedef struct wm_jobs_s wm_jobs_t;
typedef struct wm_jobs_run_s wm_jobs_run_t;   /* one claimed job running here */

/* How a run ended. */
enum { WM_JOBS_COMPLETED = 1, WM_JOBS_RETRY, WM_JOBS_DISCARD, WM_JOBS_SNOOZE };

typedef struct {
    int outcome;               /* WM_JOBS_* */
    const char *error;         /* retry, discard: what went wrong (copied) */
    double delay;              /* retry: seconds, < 0 for the backoff;
                                * snooze: seconds, < 0 for 1 s */
} wm_jobs_outcome_t;

typedef struct {
    long long id;
    const char *kind;
    const char *payload;       /* JSON text */
    size_t payload_len;
    int attempt, max_attempts, priority;
} wm_jobs_job_t;

typedef struct {
    const char *host;          /* unique per process: the lease owner */
    double lease;              /* seconds; renewed every lease / 3 */
    double poll;               /* seconds between safety polls */
    int batch;                 /* most jobs claimed by one query */
    double backoff_base;       /* seconds; attempt n waits base * 2^(n-1) */
    double backoff_max;
    /* Starts `job` (valid only during the call). The runner ends it later,
     * never inside this call, with wm_jobs_finish(run, ...). */
    void (*run)(wm_jobs_run_t *run, const wm_jobs_job_t *job, void *ud);
    /* Ends a started run early (its timeout passed, or the stop deadline):
     * the runner still calls wm_jobs_finish, possibly inside this call, and
     * the scheduler records a timeout or a hand-back whatever it says. */
    void (*cancel)(wm_jobs_run_t *run, void *ud);
    /* Whether the host is busy answering requests (NULL: never). While it
     * is, the scheduler keeps at most one job of its own running and claims
     * again every few tens of milliseconds: answers are not kept waiting by
     * background work on the same cores, which catches up afterwards. */
    int (*busy)(void *ud);
    void *ud;
} wm_jobs_conf_t;

/* Creates a scheduler on the pool's loop. It claims nothing until a kind is
 * set and a wake-up (or the first poll) comes. */
int wm_jobs_start(uv_loop_t *loop, wm_pg_pool_t *pool, const wm_jobs_conf_t *conf, wm_jobs_t **out,
                  wm_err_t *err);

/* Adds the kind `name`, or changes its limits (after a reload). */
void wm_jobs_set_kind(wm_jobs_t *j, const char *name, int concurrency, double timeout);

/* A job of `kind` (NULL: of any kind) may be claimable: claim now. */
void wm_jobs_wake(wm_jobs_t *j, const char *kind);

/* Records how `run` ended and releases it. Exactly once per run. */
void wm_jobs_finish(wm_jobs_run_t *run, const wm_jobs_outcome_t *o);

/* The runner's own pointer for a run (its task). */
void wm_jobs_run_set_data(wm_jobs_run_t *run, void *data);
void *wm_jobs_run_data(const wm_jobs_run_t *run);

/* Stops claiming; running jobs get `deadline` seconds, then are cancelled
 * and handed back. `cb(j, ud)` runs once every run has ended and every
 * outcome is written (never inside this call); then call wm_jobs_close.
 * Calling it again only replaces cb (NULL: nobody waits any more). */
void wm_jobs_stop(wm_jobs_t *j, double deadline, void (*cb)(wm_jobs_t *j, void *ud), void *ud);

/* Releases the scheduler (the memory goes when its timers have closed).
 * Runs still going are forgotten: call after wm_jobs_stop's callback, or at
 * shutdown when every task is gone. */
void wm_jobs_close(wm_jobs_t *j);

typedef struct {
    int running;
    unsigned long claimed, completed, retried, discarded, snoozed;
    int stopping;
} wm_jobs_stats_t;
void wm_jobs_stats(const wm_jobs_t *j, wm_jobs_stats_t *out);

/* The kinds, in the order they were added: name, concurrency, running. */
int wm_jobs_kind_count(const wm_jobs_t *j);
void wm_jobs_kind_at(const wm_jobs_t *j, int i, const char **name, int *concurrency, int *running);

#endif
