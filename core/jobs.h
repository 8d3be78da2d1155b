/* jobs.h unit provides the job scheduler: it claims jobs of each kind in
 * batches (UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)) up to
 * the kind's concurrency, runs each in a task through a Lua runner function,
 * renews the leases of what runs here, records outcomes (completions in
 * batches; retries with exponential backoff and jitter; discards with every
 * error kept), and stops gracefully: running jobs get a deadline, the rest
 * are handed back without counting an attempt.
 *
 * Wake-ups come from outside (wm_jobs_wake, fed by LISTEN on "wm_jobs"); a
 * slow safety poll catches scheduled run_at times and missed notifications. */
#ifndef WM_JOBS_H
#define WM_JOBS_H

#include <lua.h>
#include "pg.h"

typedef struct wm_jobs_s wm_jobs_t;

typedef struct {
    const char *host_id;       /* unique per process: lease owner */
    double lease_seconds;
    double poll_seconds;
    int batch;                 /* most jobs claimed by one query */
    double backoff_base;       /* seconds; attempt n waits base * 2^(n-1) */
    double backoff_max;
} wm_jobs_conf_t;

/* "wm.core.jobs" Lua module (see lua binding in jobs.c). */
int wm_lua_jobs_open(lua_State *L);

/* The pool opened by wm.db (lua_pg.c), or NULL. */
wm_pg_pool_t *wm_lua_pg_pool(void);

#endif
