/* pg.h unit provides the PostgreSQL pool: `size` non-blocking libpq
 * connections in pipeline mode, each socket on a uv_poll, a FIFO of queries
 * waiting when every connection is at its pipeline depth, connections pinned
 * to one task for a transaction, a separate connection for LISTEN, and
 * reconnection with backoff when the server goes away.
 *
 * Every query is sent with PQsendQueryParams followed by its own Sync, so
 * queries that share a connection never share an implicit transaction: an
 * error in one leaves the others alone. */
#ifndef WM_PG_H
#define WM_PG_H

#include <libpq-fe.h>
#include <uv.h>
#include "wm.h"

typedef struct wm_pg_pool_s wm_pg_pool_t;
typedef struct wm_pg_conn_s wm_pg_conn_t;
typedef struct wm_pg_query_s wm_pg_query_t;

typedef struct {
    const char *conninfo;      /* a postgres:// URL or key=value string */
    int size;                  /* connections in the pool */
    int pipeline_depth;        /* queries in flight per connection */
    double connect_timeout;    /* seconds per attempt */
    double backoff_max;        /* seconds between reconnect attempts, at most */
    const char *application_name;
} wm_pg_conf_t;

/* Runs exactly once per submitted query, never inside wm_pg_submit. On
 * success q->res holds the result (the callback owns it: PQclear), on
 * failure q->res is NULL and q->errmsg / q->sqlstate say why. */
typedef void (*wm_pg_query_cb)(wm_pg_query_t *q);

struct wm_pg_query_s {
    char *sql;
    int nparams;
    const char **values;       /* NULL entries are SQL NULL */
    char *storage;             /* owns sql and values */
    wm_pg_conn_t *conn;        /* pinned connection (transaction), or NULL */
    wm_pg_query_cb cb;
    void *data;
    void *data2;
    PGresult *res;
    char *errmsg;              /* owned by the query; freed by wm_pg_query_free */
    char sqlstate[6];
    wm_pg_query_t *next;
    int internal;              /* sent by the pool itself: no callback */
    int simple;                /* a multi-statement script, no parameters
                                * (simple protocol; pinned connections only) */
};

int wm_pg_pool_open(uv_loop_t *loop, const wm_pg_conf_t *conf, wm_pg_pool_t **out, wm_err_t *err);

/* Fails every queued and in-flight query with "closed" and closes the
 * connections; the pool is freed once its handles have closed. */
void wm_pg_pool_close(wm_pg_pool_t *p);

/* Builds a query from `sql` and `nparams` values (each NULL or a
 * NUL-terminated string); copies everything. */
wm_pg_query_t *wm_pg_query_new(const char *sql, size_t sqllen, int nparams, const char *const *values,
                               const size_t *lens);
void wm_pg_query_free(wm_pg_query_t *q);

/* Queues `q`. Returns 0, and the callback runs later; or a negative code with
 * `err` filled (database unavailable, closed), and the callback never runs
 * and the caller still owns `q`. */
int wm_pg_submit(wm_pg_pool_t *p, wm_pg_query_t *q, wm_err_t *err);

/* Detaches a submitted query from its callback (its task went away); the
 * pool frees it when its result arrives. */
void wm_pg_abandon(wm_pg_pool_t *p, wm_pg_query_t *q);

/* Transactions: wm_pg_pin asks for a connection of one's own. `cb(conn,
 * data)` runs once, never inside the call, with the connection or with NULL
 * when the database is unavailable (then see wm_pg_last_error). Queries with
 * q->conn = conn run there, in order. wm_pg_unpin gives it back;
 * wm_pg_unpin_rollback first sends ROLLBACK (for a task that died inside a
 * transaction). */
typedef void (*wm_pg_pin_cb)(wm_pg_conn_t *conn, void *data);
typedef struct wm_pg_pin_wait_s wm_pg_pin_wait_t;
int wm_pg_pin(wm_pg_pool_t *p, wm_pg_pin_cb cb, void *data, wm_pg_pin_wait_t **out, wm_err_t *err);
void wm_pg_pin_cancel(wm_pg_pool_t *p, wm_pg_pin_wait_t *w);
void wm_pg_unpin(wm_pg_pool_t *p, wm_pg_conn_t *conn);
void wm_pg_unpin_rollback(wm_pg_pool_t *p, wm_pg_conn_t *conn);

/* LISTEN: `cb(channel, payload, data)` runs for every notification on every
 * channel listened to. The listener reconnects and re-listens by itself. */
typedef void (*wm_pg_notify_cb)(const char *channel, const char *payload, void *data);
int wm_pg_listen(wm_pg_pool_t *p, const char *channel, wm_pg_notify_cb cb, void *data, wm_err_t *err);

typedef struct {
    int size, ready, busy, waiting, in_flight;
    unsigned long queries, errors, reconnects;
} wm_pg_stats_t;
void wm_pg_stats(wm_pg_pool_t *p, wm_pg_stats_t *out);
const char *wm_pg_last_error(wm_pg_pool_t *p);

#endif
