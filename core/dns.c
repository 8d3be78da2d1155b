/* dns.c unit: see dns.h. c-ares tells us which sockets it wants watched
 * (sock_state_cb) and when it next needs a timeout tick (ares_timeout); one
 * uv_poll per socket and one uv_timer per query drive it. The query's
 * callback runs inside ares_process_fd, where the channel must not be
 * destroyed, so teardown happens on the next timer tick. The query itself
 * is sent from the first tick too: c-ares answers some failures (a name it
 * cannot encode) inside ares_query, and the callback must never run inside
 * wm_dns_lookup, before its caller has the query. */
#include "dns.h"
#include "sched.h"
#include "wm.h"

#include <arpa/inet.h>
#include <ares.h>
#include <ares_nameser.h>
#include <lauxlib.h>
#include <string.h>

struct sock_watch {
    uv_poll_t poll;
    ares_socket_t fd;
    wm_dns_query_t *q;
    struct sock_watch *next;
};

struct wm_dns_query_s {
    uv_loop_t *loop;
    ares_channel channel;
    int channel_open;
    uv_timer_t timer;
    struct sock_watch *socks;
    int handles;          /* open uv handles (timer + polls) */
    enum wm_dns_type type;
    char *name;           /* until the query is sent */
    wm_dns_cb cb;
    void *data;
    int answered, cancelled, teardown;
};

static void free_if_closed(wm_dns_query_t *q)
{
    if (q->handles == 0) {
        wm_free(q->name);
        wm_free(q);
    }
}

static void on_handle_close(uv_handle_t *h)
{
    wm_dns_query_t *q = h->data;
    if (h->type == UV_POLL)
        wm_free(h);
    q->handles--;
    free_if_closed(q);
}

static void on_timer(uv_timer_t *t);

static void rearm(wm_dns_query_t *q)
{
    if (q->teardown) {
        uv_timer_start(&q->timer, on_timer, 0, 0);
        return;
    }
    struct timeval tv, *tvp = ares_timeout(q->channel, NULL, &tv);
    if (tvp)
        uv_timer_start(&q->timer, on_timer, (uint64_t)tvp->tv_sec * 1000 + (uint64_t)tvp->tv_usec / 1000, 0);
}

static void teardown(wm_dns_query_t *q)
{
    if (q->channel_open) {
        q->channel_open = 0;
        ares_destroy(q->channel); /* closes its sockets through sock_state_cb */
    }
    uv_close((uv_handle_t *)&q->timer, on_handle_close);
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen);

static void on_timer(uv_timer_t *t)
{
    wm_dns_query_t *q = t->data;
    if (q->teardown) {
        teardown(q);
        return;
    }
    if (q->name != NULL) {
        ares_query(q->channel, q->name, C_IN, q->type == WM_DNS_TXT ? T_TXT : T_A, on_answer, q);
        wm_free(q->name);
        q->name = NULL;
    } else {
        ares_process_fd(q->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    }
    rearm(q);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    struct sock_watch *w = p->data;
    wm_dns_query_t *q = w->q;
    /* An error on the socket: let c-ares read it and see the failure. */
    int readable = status < 0 || (events & UV_READABLE);
    ares_process_fd(q->channel, readable ? w->fd : ARES_SOCKET_BAD,
                    (events & UV_WRITABLE) ? w->fd : ARES_SOCKET_BAD);
    rearm(q);
}

static void sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
    wm_dns_query_t *q = data;
    struct sock_watch **pp = &q->socks, *w;
    while ((w = *pp) != NULL && w->fd != fd)
        pp = &w->next;
    if (!readable && !writable) {
        if (w) {
            *pp = w->next;
            uv_poll_stop(&w->poll);
            w->poll.data = q;
            uv_close((uv_handle_t *)&w->poll, on_handle_close);
        }
        return;
    }
    if (!w) {
        w = wm_calloc(1, sizeof(*w));
        w->fd = fd;
        w->q = q;
        if (uv_poll_init_socket(q->loop, &w->poll, fd) != 0) {
            wm_free(w);
            return; /* c-ares times the query out */
        }
        w->poll.data = w;
        q->handles++;
        w->next = q->socks;
        q->socks = w;
    }
    uv_poll_start(&w->poll, (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0), on_poll);
}

static const char *status_text(int status)
{
    switch (status) {
    case ARES_ENOTFOUND: return "no such domain";
    case ARES_ENODATA: return "no records";
    case ARES_ETIMEOUT: return "timeout";
    case ARES_ECONNREFUSED: return "connection refused";
    case ARES_ESERVFAIL: return "server failure";
    case ARES_EREFUSED: return "the server refused the query";
    case ARES_EBADRESP: return "a malformed answer";
    default: return ares_strerror(status);
    }
}

static void add_record(wm_dns_answer_t *a, char *s)
{
    a->records = wm_realloc(a->records, sizeof(char *) * (size_t)(a->count + 1));
    a->records[a->count++] = s;
}

static int parse_txt(const unsigned char *abuf, int alen, wm_dns_answer_t *a)
{
    struct ares_txt_ext *txt = NULL;
    int rc = ares_parse_txt_reply_ext(abuf, alen, &txt);
    if (rc != ARES_SUCCESS)
        return rc;
    for (struct ares_txt_ext *t = txt; t; t = t->next) {
        if (t->record_start || a->count == 0) {
            add_record(a, wm_strndup((const char *)t->txt, t->length));
        } else {
            /* A record of several strings is read as their concatenation. */
            char *prev = a->records[a->count - 1];
            size_t plen = strlen(prev);
            prev = wm_realloc(prev, plen + t->length + 1);
            memcpy(prev + plen, t->txt, t->length);
            prev[plen + t->length] = '\0';
            a->records[a->count - 1] = prev;
        }
    }
    ares_free_data(txt);
    return ARES_SUCCESS;
}

static int parse_a(const unsigned char *abuf, int alen, wm_dns_answer_t *a, char **canonical)
{
    struct hostent *host = NULL;
    struct ares_addrttl ttls[32];
    int n = 32;
    int rc = ares_parse_a_reply(abuf, alen, &host, ttls, &n);
    if (rc != ARES_SUCCESS)
        return rc;
    for (int i = 0; i < n; i++) {
        char ip[INET_ADDRSTRLEN];
        if (inet_ntop(AF_INET, &ttls[i].ipaddr, ip, sizeof(ip)))
            add_record(a, wm_strdup(ip));
    }
    if (host && host->h_name)
        *canonical = wm_strdup(host->h_name);
    ares_free_hostent(host);
    return ARES_SUCCESS;
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    wm_dns_query_t *q = arg;
    WM_UNUSED(timeouts);
    if (q->answered)
        return;
    q->answered = 1;
    q->teardown = 1;
    if (q->cancelled)
        return; /* ARES_EDESTRUCTION from our own teardown */
    wm_dns_answer_t a = {0};
    char *canonical = NULL;
    if (status == ARES_SUCCESS)
        status = q->type == WM_DNS_TXT ? parse_txt(abuf, alen, &a) : parse_a(abuf, alen, &a, &canonical);
    if (status != ARES_SUCCESS)
        a.error = status_text(status);
    else if (a.count == 0)
        a.error = "no records";
    a.canonical = canonical;
    q->cb(q, &a, q->data);
    for (int i = 0; i < a.count; i++)
        wm_free(a.records[i]);
    wm_free(a.records);
    wm_free(canonical);
}

static void library_init(void)
{
    static int done;
    if (!done) {
        ares_library_init(ARES_LIB_INIT_ALL);
        done = 1;
    }
}

wm_dns_query_t *wm_dns_lookup(uv_loop_t *loop, const char *name, enum wm_dns_type type,
                              const char *servers, int timeout_ms, int tries, wm_dns_cb cb,
                              void *data, const char **err)
{
    library_init();
    wm_dns_query_t *q = wm_calloc(1, sizeof(*q));
    q->loop = loop;
    q->type = type;
    q->cb = cb;
    q->data = data;
    struct ares_options opts;
    memset(&opts, 0, sizeof(opts));
    opts.sock_state_cb = sock_state_cb;
    opts.sock_state_cb_data = q;
    opts.timeout = timeout_ms > 0 ? timeout_ms : 2000;
    opts.tries = tries > 0 ? tries : 2;
    int rc = ares_init_options(&q->channel, &opts,
                               ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
    if (rc != ARES_SUCCESS) {
        *err = ares_strerror(rc);
        wm_free(q);
        return NULL;
    }
    q->channel_open = 1;
    if (servers && *servers && (rc = ares_set_servers_ports_csv(q->channel, servers)) != ARES_SUCCESS) {
        *err = "bad DNS server list (expected ip[:port],...)";
        ares_destroy(q->channel);
        wm_free(q);
        return NULL;
    }
    uv_timer_init(loop, &q->timer);
    q->timer.data = q;
    q->handles = 1;
    q->name = wm_strdup(name);
    uv_timer_start(&q->timer, on_timer, 0, 0); /* sends it */
    return q;
}

void wm_dns_cancel(wm_dns_query_t *q)
{
    q->cancelled = 1;
    q->teardown = 1;
    uv_timer_start(&q->timer, on_timer, 0, 0);
}

/* ---- Lua: dns_query(name, "TXT"|"A", servers, timeout_ms, tries) ---- */

struct lua_dns {
    wm_co_t *co;
    wm_dns_query_t *q;
    char *error;
    char **records;
    int count;
    char *canonical;
};

static void lua_dns_done(wm_dns_query_t *q, const wm_dns_answer_t *a, void *data)
{
    struct lua_dns *op = data;
    WM_UNUSED(q);
    op->q = NULL;
    if (a->error) {
        op->error = wm_strdup(a->error);
    } else {
        op->records = wm_calloc((size_t)a->count, sizeof(char *));
        for (int i = 0; i < a->count; i++)
            op->records[i] = wm_strdup(a->records[i]);
        op->count = a->count;
        op->canonical = a->canonical ? wm_strdup(a->canonical) : NULL;
    }
    wm_sched_resume(op->co);
}

static void lua_dns_free(struct lua_dns *op)
{
    for (int i = 0; i < op->count; i++)
        wm_free(op->records[i]);
    wm_free(op->records);
    wm_free(op->canonical);
    wm_free(op->error);
    wm_free(op);
}

static int lua_dns_push(wm_co_t *co, lua_State *L, void *p)
{
    struct lua_dns *op = p;
    WM_UNUSED(co);
    int n = 1;
    if (op->error) {
        lua_pushnil(L);
        lua_pushstring(L, op->error);
        n = 2;
    } else {
        lua_createtable(L, op->count, 1);
        for (int i = 0; i < op->count; i++) {
            lua_pushstring(L, op->records[i]);
            lua_rawseti(L, -2, i + 1);
        }
        if (op->canonical) {
            lua_pushstring(L, op->canonical);
            lua_setfield(L, -2, "canonical");
        }
    }
    lua_dns_free(op);
    return n;
}

static void lua_dns_cancel(wm_co_t *co, void *p)
{
    struct lua_dns *op = p;
    WM_UNUSED(co);
    if (op->q)
        wm_dns_cancel(op->q);
    lua_dns_free(op);
}

static int l_dns_query(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    const char *type = luaL_checkstring(L, 2);
    const char *servers = luaL_optstring(L, 3, NULL);
    int timeout_ms = (int)luaL_optinteger(L, 4, 2000);
    int tries = (int)luaL_optinteger(L, 5, 2);
    enum wm_dns_type t;
    if (strcmp(type, "TXT") == 0)
        t = WM_DNS_TXT;
    else if (strcmp(type, "A") == 0)
        t = WM_DNS_A;
    else
        return luaL_error(L, "dns query: type must be TXT or A, not %s", type);
    wm_co_t *co = wm_sched_current(L);
    if (co == NULL)
        return luaL_error(L, "dns query: must be called from a wm task");
    struct lua_dns *op = wm_calloc(1, sizeof(*op));
    op->co = co;
    const char *err = NULL;
    op->q = wm_dns_lookup(wm_sched_loop(), name, t, servers, timeout_ms, tries, lua_dns_done, op, &err);
    if (!op->q) {
        wm_free(op);
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    return wm_sched_yield(co, op, lua_dns_push, lua_dns_cancel);
}

void wm_dns_lua_register(lua_State *L)
{
    lua_pushcfunction(L, l_dns_query);
    lua_setfield(L, -2, "dns_query");
}
