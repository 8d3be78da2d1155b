/* pg.c unit provides the PostgreSQL pool declared in pg.h.
 *
 * A connection goes CONNECTING -> READY -> (on any socket or protocol
 * failure) BROKEN, and a backoff timer takes it back to CONNECTING. While
 * READY it is in libpq pipeline mode: queries are appended to `inflight` as
 * they are sent and completed in order when their PGRES_PIPELINE_SYNC comes
 * back. Completed queries are collected first and their callbacks run after
 * the read loop, so a callback that submits more work never runs inside
 * libpq's reading. */
#include "pg.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum conn_state { CONN_BROKEN, CONN_CONNECTING, CONN_READY, CONN_CLOSED };

struct wm_pg_conn_s {
    wm_pg_pool_t *pool;
    PGconn *pg;
    uv_poll_t *poll;           /* heap: a socket change means a new handle */
    int poll_fd;
    int poll_events;
    uv_timer_t timer;          /* connect timeout and reconnect backoff */
    enum conn_state state;
    wm_pg_query_t *inflight_head, *inflight_tail;
    int inflight;
    int pinned;                /* owned by one transaction */
    int draining;              /* reserved for a waiting transaction */
    int tx_broken;             /* the pinned transaction lost its connection */
    int unpin_after_idle;      /* ROLLBACK sent for a dead task; unpin when done */
    int listener;
    int simple_mode;           /* out of pipeline mode for one script */
    int needs_flush;
    double backoff;
    int closing_handles;
    wm_pg_conn_t *next_flush;
};

struct wm_pg_pin_wait_s {
    wm_pg_pin_cb cb;
    void *data;
    wm_pg_conn_t *granted;
    wm_pg_pin_wait_t *next;
};

struct listen_channel {
    char *name;
    struct listen_channel *next;
};

struct wm_pg_pool_s {
    uv_loop_t *loop;
    char *conninfo;
    char *appname;
    int size, depth;
    double connect_timeout, backoff_max;
    wm_pg_conn_t *conns;
    wm_pg_conn_t listener;
    int listener_started;
    struct listen_channel *channels;
    wm_pg_notify_cb notify_cb;
    void *notify_data;
    wm_pg_query_t *wait_head, *wait_tail;   /* queries with no connection yet */
    int waiting;
    wm_pg_pin_wait_t *pin_head, *pin_tail;
    wm_pg_pin_wait_t *granted_head;         /* pins granted, callbacks pending */
    uv_prepare_t prepare;                    /* flushes and deferred callbacks */
    wm_pg_conn_t *flush_list;
    wm_pg_query_t *done_head, *done_tail;   /* failures to report next turn */
    char last_error[512];
    int dispatching, redispatch;
    int closing;
    int open_handles;
    unsigned long nqueries, nerrors, nreconnects;
};

static void conn_connect(wm_pg_conn_t *c);
static void conn_fail(wm_pg_conn_t *c, const char *why);
static void pool_dispatch(wm_pg_pool_t *p);
static void conn_send(wm_pg_conn_t *c, wm_pg_query_t *q);
static void poll_cb(uv_poll_t *h, int status, int events);
static void pool_maybe_free(wm_pg_pool_t *p);
static void prepare_cb(uv_prepare_t *h);

static void pool_start_prepare(wm_pg_pool_t *p)
{
    uv_prepare_start(&p->prepare, prepare_cb);
}

/* ---- queries ---- */

wm_pg_query_t *wm_pg_query_new(const char *sql, size_t sqllen, int nparams, const char *const *values,
                               const size_t *lens)
{
    size_t total = sqllen + 1;
    for (int i = 0; i < nparams; i++)
        total += values[i] ? lens[i] + 1 : 0;
    wm_pg_query_t *q = wm_calloc(1, sizeof(*q));
    q->storage = wm_malloc(total);
    q->values = nparams ? wm_calloc((size_t)nparams, sizeof(char *)) : NULL;
    char *s = q->storage;
    memcpy(s, sql, sqllen);
    s[sqllen] = '\0';
    q->sql = s;
    s += sqllen + 1;
    for (int i = 0; i < nparams; i++) {
        if (values[i] == NULL) {
            q->values[i] = NULL;
            continue;
        }
        memcpy(s, values[i], lens[i]);
        s[lens[i]] = '\0';
        q->values[i] = s;
        s += lens[i] + 1;
    }
    q->nparams = nparams;
    return q;
}

void wm_pg_query_free(wm_pg_query_t *q)
{
    if (q == NULL)
        return;
    if (q->res != NULL)
        PQclear(q->res);
    wm_free(q->errmsg);
    wm_free(q->values);
    wm_free(q->storage);
    wm_free(q);
}

static void query_set_error(wm_pg_query_t *q, const char *msg, const char *sqlstate)
{
    if (q->errmsg != NULL)
        return;                /* keep the first error */
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;                   /* libpq messages end in a newline */
    q->errmsg = wm_strndup(msg, n);
    snprintf(q->sqlstate, sizeof(q->sqlstate), "%s", sqlstate ? sqlstate : "");
}

static void query_complete(wm_pg_query_t *q)
{
    if (q->errmsg != NULL && q->res != NULL) {
        PQclear(q->res);
        q->res = NULL;
    }
    if (q->internal || q->cb == NULL) {
        wm_pg_query_free(q);
        return;
    }
    q->cb(q);
}

/* Failures found while submitting are reported on the next loop turn, so a
 * callback never runs inside wm_pg_submit. */
static void defer_complete(wm_pg_pool_t *p, wm_pg_query_t *q)
{
    q->next = NULL;
    if (p->done_tail != NULL)
        p->done_tail->next = q;
    else
        p->done_head = q;
    p->done_tail = q;
}

/* ---- connections ---- */

static void poll_closed(uv_handle_t *h)
{
    wm_pg_conn_t *c = h->data;
    wm_free(h);
    c->closing_handles--;
    c->pool->open_handles--;
    pool_maybe_free(c->pool);
}

static void conn_poll_stop(wm_pg_conn_t *c)
{
    if (c->poll != NULL) {
        uv_poll_stop(c->poll);
        uv_close((uv_handle_t *)c->poll, poll_closed);
        c->closing_handles++;
        c->poll = NULL;
        c->poll_fd = -1;
        c->poll_events = 0;
    }
}

/* Watches the connection's current socket for `events`. libpq may change
 * sockets while connecting, so a new fd gets a new handle. */
static int conn_poll(wm_pg_conn_t *c, int events)
{
    int fd = PQsocket(c->pg);
    if (fd < 0)
        return -1;
    if (c->poll != NULL && c->poll_fd != fd)
        conn_poll_stop(c);
    if (c->poll == NULL) {
        c->poll = wm_malloc(sizeof(uv_poll_t));
        if (uv_poll_init(c->pool->loop, c->poll, fd) != 0) {
            wm_free(c->poll);
            c->poll = NULL;
            return -1;
        }
        c->pool->open_handles++;
        c->poll->data = c;
        c->poll_fd = fd;
        c->poll_events = 0;
    }
    if (events != c->poll_events) {
        uv_poll_start(c->poll, events, poll_cb);
        c->poll_events = events;
    }
    return 0;
}

static void conn_close_pg(wm_pg_conn_t *c)
{
    conn_poll_stop(c);         /* before PQfinish: the fd must leave epoll first */
    if (c->pg != NULL) {
        PQfinish(c->pg);
        c->pg = NULL;
    }
}

static void timer_cb(uv_timer_t *t);

static void conn_init(wm_pg_pool_t *p, wm_pg_conn_t *c)
{
    memset(c, 0, sizeof(*c));
    c->pool = p;
    c->poll_fd = -1;
    uv_timer_init(p->loop, &c->timer);
    c->timer.data = c;
    p->open_handles++;
    c->state = CONN_BROKEN;
    c->backoff = 0.05;
}

static int pool_ready_count(wm_pg_pool_t *p, int *connecting)
{
    int ready = 0, conn = 0;
    for (int i = 0; i < p->size; i++) {
        if (p->conns[i].state == CONN_READY)
            ready++;
        else if (p->conns[i].state == CONN_CONNECTING)
            conn++;
    }
    if (connecting)
        *connecting = conn;
    return ready;
}

/* No connection is up and none is trying: everything waiting fails now
 * instead of hanging until the server comes back. */
static void pool_fail_waiting_if_down(wm_pg_pool_t *p)
{
    int connecting;
    if (pool_ready_count(p, &connecting) > 0 || connecting > 0)
        return;
    while (p->wait_head != NULL) {
        wm_pg_query_t *q = p->wait_head;
        p->wait_head = q->next;
        p->waiting--;
        query_set_error(q, p->last_error, "08006");
        defer_complete(p, q);
    }
    p->wait_tail = NULL;
    while (p->pin_head != NULL) {
        wm_pg_pin_wait_t *w = p->pin_head;
        p->pin_head = w->next;
        w->granted = NULL;
        w->next = p->granted_head;
        p->granted_head = w;
    }
    p->pin_tail = NULL;
}

static void conn_schedule_reconnect(wm_pg_conn_t *c)
{
    if (c->pool->closing)
        return;
    uv_timer_start(&c->timer, timer_cb, (uint64_t)(c->backoff * 1000.0), 0);
    c->backoff *= 2;
    if (c->backoff > c->pool->backoff_max)
        c->backoff = c->pool->backoff_max;
}

static void conn_fail(wm_pg_conn_t *c, const char *why)
{
    wm_pg_pool_t *p = c->pool;
    char msg[400];
    snprintf(msg, sizeof(msg), "%s", why && why[0] ? why : "connection lost");
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    int was_ready = c->state == CONN_READY;
    snprintf(p->last_error, sizeof(p->last_error), "database unavailable: %s", msg);
    uv_timer_stop(&c->timer);
    conn_close_pg(c);
    c->state = CONN_BROKEN;
    c->needs_flush = 0;
    c->simple_mode = 0;
    while (c->inflight_head != NULL) {
        wm_pg_query_t *q = c->inflight_head;
        c->inflight_head = q->next;
        char full[600];
        snprintf(full, sizeof(full), "connection lost: %s", msg);
        query_set_error(q, full, "08006");
        p->nerrors++;
        defer_complete(p, q);
    }
    c->inflight_tail = NULL;
    c->inflight = 0;
    if (c->pinned)
        c->tx_broken = 1;
    if (c->unpin_after_idle) {
        c->unpin_after_idle = 0;
        c->pinned = 0;
        c->tx_broken = 0;
    }
    if (was_ready && !c->listener)
        wm_log_warn("database connection lost", "error", msg);
    if (c->draining)
        c->draining = 0;
    conn_schedule_reconnect(c);
    if (!c->listener)
        pool_fail_waiting_if_down(p);
    pool_start_prepare(p);
}

/* Server notices (NOTICE, WARNING) go to the log at debug level, not raw to
 * stderr. */
static void notice_cb(void *arg, const char *message)
{
    WM_UNUSED(arg);
    size_t n = strlen(message);
    while (n > 0 && message[n - 1] == '\n')
        n--;
    char *text = wm_strndup(message, n);
    wm_log_debug_kv("database notice", "notice", text);
    wm_free(text);
}

static void on_ready(wm_pg_conn_t *c)
{
    wm_pg_pool_t *p = c->pool;
    uv_timer_stop(&c->timer);
    PQsetnonblocking(c->pg, 1);
    PQsetNoticeProcessor(c->pg, notice_cb, NULL);
    if (PQenterPipelineMode(c->pg) != 1) {
        conn_fail(c, PQerrorMessage(c->pg));
        return;
    }
    if (c->backoff > 0.05 || c->listener)
        p->nreconnects += c->backoff > 0.05;
    if (c->backoff > 0.05 && !c->listener)
        wm_log_info("database connection restored", NULL, NULL);
    c->backoff = 0.05;
    c->state = CONN_READY;
    conn_poll(c, UV_READABLE);
    if (c->listener) {
        for (struct listen_channel *ch = p->channels; ch != NULL; ch = ch->next) {
            char *id = PQescapeIdentifier(c->pg, ch->name, strlen(ch->name));
            char sql[600];
            snprintf(sql, sizeof(sql), "LISTEN %s", id ? id : "\"\"");
            PQfreemem(id);
            wm_pg_query_t *q = wm_pg_query_new(sql, strlen(sql), 0, NULL, NULL);
            q->internal = 1;
            conn_send(c, q);
        }
    }
    pool_dispatch(p);
}

static void conn_continue_connect(wm_pg_conn_t *c)
{
    PostgresPollingStatusType st = PQconnectPoll(c->pg);
    switch (st) {
    case PGRES_POLLING_OK:
        on_ready(c);
        return;
    case PGRES_POLLING_FAILED:
        conn_fail(c, PQerrorMessage(c->pg));
        return;
    case PGRES_POLLING_READING:
        if (conn_poll(c, UV_READABLE) < 0)
            conn_fail(c, "no socket");
        return;
    case PGRES_POLLING_WRITING:
    default:
        if (conn_poll(c, UV_WRITABLE) < 0)
            conn_fail(c, "no socket");
        return;
    }
}

static void conn_connect(wm_pg_conn_t *c)
{
    wm_pg_pool_t *p = c->pool;
    char timeout[32];
    snprintf(timeout, sizeof(timeout), "%d", (int)(p->connect_timeout + 0.999));
    const char *keys[] = {"dbname", "application_name", "options", "connect_timeout", NULL};
    const char *vals[] = {p->conninfo, p->appname, "-c TimeZone=UTC", timeout, NULL};
    c->pg = PQconnectStartParams(keys, vals, 1);
    c->state = CONN_CONNECTING;
    if (c->pg == NULL) {
        conn_fail(c, "out of memory");
        return;
    }
    if (PQstatus(c->pg) == CONNECTION_BAD) {
        conn_fail(c, PQerrorMessage(c->pg));
        return;
    }
    uv_timer_start(&c->timer, timer_cb, (uint64_t)(p->connect_timeout * 1000.0), 0);
    if (conn_poll(c, UV_WRITABLE) < 0)
        conn_fail(c, "no socket");
}

static void timer_cb(uv_timer_t *t)
{
    wm_pg_conn_t *c = t->data;
    if (c->state == CONN_CONNECTING)
        conn_fail(c, "connect timed out");
    else if (c->state == CONN_BROKEN)
        conn_connect(c);
}

/* ---- sending and receiving ---- */

static void conn_mark_flush(wm_pg_conn_t *c)
{
    if (c->needs_flush)
        return;
    c->needs_flush = 1;
    c->next_flush = c->pool->flush_list;
    c->pool->flush_list = c;
}

static void conn_send(wm_pg_conn_t *c, wm_pg_query_t *q)
{
    int simple = q->simple;
    q->next = NULL;
    if (c->inflight_tail != NULL)
        c->inflight_tail->next = q;
    else
        c->inflight_head = q;
    c->inflight_tail = q;
    c->inflight++;
    c->pool->nqueries++;
    if (simple) {
        /* A script of several statements needs the simple protocol, which
         * pipeline mode does not allow: leave it for this one query (the
         * caller guarantees nothing else is in flight here). */
        if (!PQexitPipelineMode(c->pg) || !PQsendQuery(c->pg, q->sql)) {
            conn_fail(c, PQerrorMessage(c->pg));
            return;
        }
        c->simple_mode = 1;
    } else if (!PQsendQueryParams(c->pg, q->sql, q->nparams, NULL, q->values, NULL, NULL, 0) ||
               !PQpipelineSync(c->pg)) {
        conn_fail(c, PQerrorMessage(c->pg));
        return;
    }
    conn_mark_flush(c);
}

static void conn_flush(wm_pg_conn_t *c)
{
    c->needs_flush = 0;
    if (c->state != CONN_READY)
        return;
    int rc = PQflush(c->pg);
    if (rc < 0)
        conn_fail(c, PQerrorMessage(c->pg));
    else
        conn_poll(c, rc == 1 ? (UV_READABLE | UV_WRITABLE) : UV_READABLE);
}

/* Reads every result that has arrived; moves finished queries to `done`. */
static int conn_read(wm_pg_conn_t *c, wm_pg_query_t **done_head, wm_pg_query_t **done_tail)
{
    if (!PQconsumeInput(c->pg)) {
        conn_fail(c, PQerrorMessage(c->pg));
        return -1;
    }
    while (c->inflight_head != NULL && !PQisBusy(c->pg)) {
        PGresult *r = PQgetResult(c->pg);
        wm_pg_query_t *q = c->inflight_head;
        if (r == NULL && !c->simple_mode)
            continue;          /* end of one query's results; its Sync follows */
        ExecStatusType st = r != NULL ? PQresultStatus(r) : PGRES_PIPELINE_SYNC;
        if (st == PGRES_PIPELINE_SYNC) {
            if (r != NULL)
                PQclear(r);
            if (r == NULL) {
                c->simple_mode = 0;
                if (PQenterPipelineMode(c->pg) != 1) {
                    conn_fail(c, PQerrorMessage(c->pg));
                    return -1;
                }
            }
            c->inflight_head = q->next;
            if (c->inflight_head == NULL)
                c->inflight_tail = NULL;
            c->inflight--;
            q->next = NULL;
            if (*done_tail != NULL)
                (*done_tail)->next = q;
            else
                *done_head = q;
            *done_tail = q;
            continue;
        }
        if (st == PGRES_FATAL_ERROR || st == PGRES_NONFATAL_ERROR || st == PGRES_PIPELINE_ABORTED ||
            st == PGRES_BAD_RESPONSE) {
            /* The primary message, with the detail and hint when there are
             * some ("duplicate key value ... Key (slug)=(x) already exists"). */
            const char *primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
            const char *detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
            const char *hint = PQresultErrorField(r, PG_DIAG_MESSAGE_HINT);
            char msg[1024];
            if (primary == NULL)
                snprintf(msg, sizeof(msg), "%s", st == PGRES_PIPELINE_ABORTED ? "aborted" : PQresultErrorMessage(r));
            else
                snprintf(msg, sizeof(msg), "%s%s%s%s", primary, detail ? " (" : "", detail ? detail : "",
                         detail ? ")" : "");
            if (hint != NULL) {
                size_t n = strlen(msg);
                snprintf(msg + n, sizeof(msg) - n, "; hint: %s", hint);
            }
            query_set_error(q, msg[0] ? msg : "query failed", PQresultErrorField(r, PG_DIAG_SQLSTATE));
            c->pool->nerrors++;
            PQclear(r);
            continue;
        }
        /* Keep the last result of a multi-result query. */
        if (q->res != NULL)
            PQclear(q->res);
        q->res = r;
    }
    if (c->listener) {
        PGnotify *n;
        while ((n = PQnotifies(c->pg)) != NULL) {
            if (c->pool->notify_cb != NULL)
                c->pool->notify_cb(n->relname, n->extra, c->pool->notify_data);
            PQfreemem(n);
        }
    }
    return 0;
}

static void deliver(wm_pg_query_t *q)
{
    while (q != NULL) {
        wm_pg_query_t *next = q->next;
        q->next = NULL;
        query_complete(q);
        q = next;
    }
}

static void conn_after_drain(wm_pg_conn_t *c)
{
    if (c->unpin_after_idle && c->inflight == 0) {
        c->unpin_after_idle = 0;
        c->pinned = 0;
        c->tx_broken = 0;
    }
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
    wm_pg_conn_t *c = h->data;
    wm_pg_pool_t *p = c->pool;
    if (c->poll != h)
        return;                /* a stale handle being closed */
    if (c->state == CONN_CONNECTING) {
        conn_continue_connect(c);
        return;
    }
    if (c->state != CONN_READY)
        return;
    if (status < 0) {
        conn_fail(c, uv_strerror(status));
        return;
    }
    if (events & UV_WRITABLE)
        conn_flush(c);
    if (c->state != CONN_READY)
        return;
    wm_pg_query_t *done_head = NULL, *done_tail = NULL;
    if ((events & UV_READABLE) && conn_read(c, &done_head, &done_tail) < 0) {
        deliver(done_head);
        pool_dispatch(p);
        return;
    }
    conn_after_drain(c);
    deliver(done_head);
    pool_dispatch(p);
}

/* ---- dispatch ---- */

static wm_pg_conn_t *pick_conn(wm_pg_pool_t *p)
{
    wm_pg_conn_t *best = NULL;
    for (int i = 0; i < p->size; i++) {
        wm_pg_conn_t *c = &p->conns[i];
        if (c->state != CONN_READY || c->pinned || c->draining || c->inflight >= p->depth)
            continue;
        if (best == NULL || c->inflight < best->inflight)
            best = c;
        if (c->inflight == 0)
            break;
    }
    return best;
}

static void grant_pins(wm_pg_pool_t *p)
{
    while (p->pin_head != NULL) {
        wm_pg_conn_t *free_conn = NULL, *draining = NULL, *candidate = NULL;
        for (int i = 0; i < p->size; i++) {
            wm_pg_conn_t *c = &p->conns[i];
            if (c->state != CONN_READY || c->pinned)
                continue;
            if (c->inflight == 0) {
                free_conn = c;
                break;
            }
            if (c->draining)
                draining = c;
            else if (candidate == NULL || c->inflight < candidate->inflight)
                candidate = c;
        }
        if (free_conn == NULL) {
            /* Reserve the least busy connection: it takes no new queries and
             * goes to the transaction once its pipeline is empty. */
            if (draining == NULL && candidate != NULL)
                candidate->draining = 1;
            return;
        }
        wm_pg_pin_wait_t *w = p->pin_head;
        p->pin_head = w->next;
        if (p->pin_head == NULL)
            p->pin_tail = NULL;
        free_conn->pinned = 1;
        free_conn->draining = 0;
        free_conn->tx_broken = 0;
        w->granted = free_conn;
        w->next = p->granted_head;
        p->granted_head = w;
    }
    for (int i = 0; i < p->size; i++)
        p->conns[i].draining = 0;   /* nobody waits for a connection any more */
}

static void pool_dispatch(wm_pg_pool_t *p)
{
    if (p->dispatching) {
        p->redispatch = 1;
        return;
    }
    p->dispatching = 1;
    do {
        p->redispatch = 0;
        grant_pins(p);
        while (p->wait_head != NULL) {
            wm_pg_conn_t *c = pick_conn(p);
            if (c == NULL)
                break;
            wm_pg_query_t *q = p->wait_head;
            p->wait_head = q->next;
            if (p->wait_head == NULL)
                p->wait_tail = NULL;
            p->waiting--;
            conn_send(c, q);
        }
    } while (p->redispatch);
    p->dispatching = 0;
    if (p->granted_head != NULL || p->done_head != NULL || p->flush_list != NULL)
        pool_start_prepare(p);
}

/* Runs once per loop turn before the loop blocks: writes what was queued
 * this turn (one flush per connection, however many queries), then runs
 * the callbacks that must not run inside a call. */
static void prepare_cb(uv_prepare_t *h)
{
    wm_pg_pool_t *p = h->data;
    while (p->flush_list != NULL) {
        wm_pg_conn_t *c = p->flush_list;
        p->flush_list = c->next_flush;
        conn_flush(c);
    }
    while (p->granted_head != NULL) {
        wm_pg_pin_wait_t *w = p->granted_head;
        p->granted_head = w->next;
        wm_pg_conn_t *c = w->granted;
        wm_pg_pin_cb cb = w->cb;
        void *data = w->data;
        wm_free(w);
        if (cb != NULL)
            cb(c, data);
        else if (c != NULL)
            wm_pg_unpin(p, c);   /* the task stopped waiting */
    }
    while (p->done_head != NULL) {
        wm_pg_query_t *q = p->done_head;
        p->done_head = q->next;
        if (p->done_head == NULL)
            p->done_tail = NULL;
        q->next = NULL;
        query_complete(q);
    }
    if (p->flush_list == NULL && p->granted_head == NULL && p->done_head == NULL)
        uv_prepare_stop(h);
}

/* ---- public ---- */

int wm_pg_pool_open(uv_loop_t *loop, const wm_pg_conf_t *conf, wm_pg_pool_t **out, wm_err_t *err)
{
    if (conf->size < 1 || conf->size > 1000)
        return wm_err_set(err, WM_EINVAL, "database.pool_size must be 1..1000 (got %d)", conf->size);
    wm_pg_pool_t *p = wm_calloc(1, sizeof(*p));
    p->loop = loop;
    p->conninfo = wm_strdup(conf->conninfo);
    p->appname = wm_strdup(conf->application_name ? conf->application_name : "wm");
    p->size = conf->size;
    p->depth = conf->pipeline_depth > 0 ? conf->pipeline_depth : 1;
    p->connect_timeout = conf->connect_timeout > 0 ? conf->connect_timeout : 5;
    p->backoff_max = conf->backoff_max > 0 ? conf->backoff_max : 2;
    snprintf(p->last_error, sizeof(p->last_error), "database unavailable: not connected yet");
    uv_prepare_init(loop, &p->prepare);
    p->prepare.data = p;
    p->open_handles++;
    p->conns = wm_calloc((size_t)p->size, sizeof(wm_pg_conn_t));
    for (int i = 0; i < p->size; i++) {
        conn_init(p, &p->conns[i]);
        conn_connect(&p->conns[i]);
    }
    *out = p;
    return 0;
}

int wm_pg_submit(wm_pg_pool_t *p, wm_pg_query_t *q, wm_err_t *err)
{
    if (p->closing)
        return wm_err_set(err, WM_ECLOSED, "database pool is closed");
    if (q->simple && q->conn == NULL)
        return wm_err_set(err, WM_EINVAL, "a script of several statements runs only inside a transaction");
    if (q->conn != NULL) {
        wm_pg_conn_t *c = q->conn;
        if (c->tx_broken || c->state != CONN_READY)
            return wm_err_set(err, WM_EDB, "connection lost: the transaction was aborted");
        if (q->simple && c->inflight > 0)
            return wm_err_set(err, WM_EINVAL, "a script cannot run while other queries are in flight");
        conn_send(c, q);
        pool_start_prepare(p);
        return 0;
    }
    int connecting;
    if (pool_ready_count(p, &connecting) == 0 && connecting == 0)
        return wm_err_set(err, WM_EDB, "%s", p->last_error);
    q->next = NULL;
    if (p->wait_tail != NULL)
        p->wait_tail->next = q;
    else
        p->wait_head = q;
    p->wait_tail = q;
    p->waiting++;
    pool_dispatch(p);
    pool_start_prepare(p);
    return 0;
}

void wm_pg_abandon(wm_pg_pool_t *p, wm_pg_query_t *q)
{
    WM_UNUSED(p);
    q->cb = NULL;              /* query_complete frees it */
}

int wm_pg_pin(wm_pg_pool_t *p, wm_pg_pin_cb cb, void *data, wm_pg_pin_wait_t **out, wm_err_t *err)
{
    if (p->closing)
        return wm_err_set(err, WM_ECLOSED, "database pool is closed");
    int connecting;
    if (pool_ready_count(p, &connecting) == 0 && connecting == 0)
        return wm_err_set(err, WM_EDB, "%s", p->last_error);
    wm_pg_pin_wait_t *w = wm_calloc(1, sizeof(*w));
    w->cb = cb;
    w->data = data;
    if (p->pin_tail != NULL)
        p->pin_tail->next = w;
    else
        p->pin_head = w;
    p->pin_tail = w;
    *out = w;
    pool_dispatch(p);
    pool_start_prepare(p);
    return 0;
}

void wm_pg_pin_cancel(wm_pg_pool_t *p, wm_pg_pin_wait_t *w)
{
    /* Still waiting: unlink. Already granted: the grant is in granted_head;
     * replace its callback so the connection goes straight back. */
    wm_pg_pin_wait_t **pp = &p->pin_head, *prev = NULL;
    for (; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            if (p->pin_tail == w)
                p->pin_tail = prev;
            wm_free(w);
            return;
        }
    }
    for (wm_pg_pin_wait_t *g = p->granted_head; g != NULL; g = g->next) {
        if (g == w) {
            g->cb = NULL;
            return;
        }
    }
}

void wm_pg_unpin(wm_pg_pool_t *p, wm_pg_conn_t *c)
{
    if (c == NULL)
        return;
    c->pinned = 0;
    c->tx_broken = 0;
    c->draining = 0;
    pool_dispatch(p);
    pool_start_prepare(p);
}

void wm_pg_unpin_rollback(wm_pg_pool_t *p, wm_pg_conn_t *c)
{
    if (c == NULL)
        return;
    if (c->state != CONN_READY || c->tx_broken || p->closing) {
        wm_pg_unpin(p, c);
        return;
    }
    wm_pg_query_t *q = wm_pg_query_new("ROLLBACK", 8, 0, NULL, NULL);
    q->internal = 1;
    c->unpin_after_idle = 1;
    conn_send(c, q);
    pool_start_prepare(p);
}

int wm_pg_listen(wm_pg_pool_t *p, const char *channel, wm_pg_notify_cb cb, void *data, wm_err_t *err)
{
    if (p->closing)
        return wm_err_set(err, WM_ECLOSED, "database pool is closed");
    p->notify_cb = cb;
    p->notify_data = data;
    for (struct listen_channel *ch = p->channels; ch != NULL; ch = ch->next) {
        if (strcmp(ch->name, channel) == 0)
            return 0;
    }
    struct listen_channel *ch = wm_calloc(1, sizeof(*ch));
    ch->name = wm_strdup(channel);
    ch->next = p->channels;
    p->channels = ch;
    if (!p->listener_started) {
        p->listener_started = 1;
        conn_init(p, &p->listener);
        p->listener.listener = 1;
        conn_connect(&p->listener);
        return 0;
    }
    wm_pg_conn_t *c = &p->listener;
    if (c->state == CONN_READY) {
        char *id = PQescapeIdentifier(c->pg, channel, strlen(channel));
        char sql[600];
        snprintf(sql, sizeof(sql), "LISTEN %s", id ? id : "\"\"");
        PQfreemem(id);
        wm_pg_query_t *q = wm_pg_query_new(sql, strlen(sql), 0, NULL, NULL);
        q->internal = 1;
        conn_send(c, q);
        pool_start_prepare(p);
    }
    return 0;
}

void wm_pg_stats(wm_pg_pool_t *p, wm_pg_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    out->size = p->size;
    for (int i = 0; i < p->size; i++) {
        wm_pg_conn_t *c = &p->conns[i];
        if (c->state == CONN_READY)
            out->ready++;
        if (c->inflight > 0 || c->pinned)
            out->busy++;
        out->in_flight += c->inflight;
    }
    out->waiting = p->waiting;
    out->queries = p->nqueries;
    out->errors = p->nerrors;
    out->reconnects = p->nreconnects;
}

const char *wm_pg_last_error(wm_pg_pool_t *p)
{
    return p->last_error;
}

static void pool_maybe_free(wm_pg_pool_t *p)
{
    if (!p->closing || p->open_handles > 0)
        return;
    while (p->channels != NULL) {
        struct listen_channel *ch = p->channels;
        p->channels = ch->next;
        wm_free(ch->name);
        wm_free(ch);
    }
    wm_free(p->conns);
    wm_free(p->conninfo);
    wm_free(p->appname);
    wm_free(p);
}

static void handle_closed(uv_handle_t *h)
{
    wm_pg_pool_t *p = h->data;
    if (h->type == UV_TIMER)
        p = ((wm_pg_conn_t *)h->data)->pool;
    p->open_handles--;
    pool_maybe_free(p);
}

static void conn_shutdown(wm_pg_conn_t *c)
{
    c->state = CONN_CLOSED;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, handle_closed);
    conn_close_pg(c);
}

void wm_pg_pool_close(wm_pg_pool_t *p)
{
    if (p == NULL || p->closing)
        return;
    p->closing = 1;
    snprintf(p->last_error, sizeof(p->last_error), "closed");
    /* Fail everything that has not completed; callbacks run now, since the
     * loop is going away. */
    wm_pg_query_t *failed = NULL;
    for (int i = 0; i <= p->size; i++) {
        wm_pg_conn_t *c = i < p->size ? &p->conns[i] : (p->listener_started ? &p->listener : NULL);
        if (c == NULL)
            continue;
        while (c->inflight_head != NULL) {
            wm_pg_query_t *q = c->inflight_head;
            c->inflight_head = q->next;
            query_set_error(q, "closed", "08003");
            q->next = failed;
            failed = q;
        }
        c->inflight_tail = NULL;
        conn_shutdown(c);
    }
    while (p->wait_head != NULL) {
        wm_pg_query_t *q = p->wait_head;
        p->wait_head = q->next;
        query_set_error(q, "closed", "08003");
        q->next = failed;
        failed = q;
    }
    while (p->done_head != NULL) {
        wm_pg_query_t *q = p->done_head;
        p->done_head = q->next;
        q->next = failed;
        failed = q;
    }
    while (p->pin_head != NULL) {
        wm_pg_pin_wait_t *w = p->pin_head;
        p->pin_head = w->next;
        w->granted = NULL;
        w->next = p->granted_head;
        p->granted_head = w;
    }
    while (p->granted_head != NULL) {
        wm_pg_pin_wait_t *w = p->granted_head;
        p->granted_head = w->next;
        if (w->cb != NULL)
            w->cb(NULL, w->data);
        wm_free(w);
    }
    deliver(failed);
    uv_prepare_stop(&p->prepare);
    uv_close((uv_handle_t *)&p->prepare, handle_closed);
}
