/* httpd.c unit provides the HTTP/1.1 server declared in httpd.h.
 *
 * Shape. A connection (struct wm_httpd_conn_s) owns a uv_tcp_t, one
 * uv_timer_t, an http_parser and a FIFO of requests whose answers it owes.
 * Requests come from a per-server free list and keep their buffers between
 * uses, so a keep-alive connection in steady state allocates nothing. All
 * connections read into one shared 64 KiB buffer (libuv calls alloc_cb and
 * read_cb back to back for one stream); bytes are copied out only into the
 * request being parsed, or, when the pipeline is full and parsing pauses,
 * into a per-connection "held" copy that is replayed later.
 *
 * Answers. wm_httpd_resp_* build the head in the server's scratch buffer.
 * When the request is at the front of its connection's queue and no write is
 * in flight, head and body go out with one uv_try_write (writev of two bufs);
 * what the kernel did not take is copied and sent with uv_write. An answer
 * that is ready before the ones ahead of it is copied into its request and
 * sent when its turn comes, so answers leave in request order.
 *
 * Strictness. http-parser 2.9 as Debian builds it is lenient where RFC 9112
 * says a server must refuse: it takes "Name : value" (the space becomes part
 * of the name, and "Transfer-Encoding : chunked" still means chunked), any
 * byte where the CRLF after chunk data belongs, any byte after a CR that ends
 * a chunk-size line or the header block, and folded lines. So field names
 * are checked for token characters in on_header_field, the byte after chunk
 * data must be CR (on_body), and conn_parse() scans what it feeds for the
 * two byte pairs that are only legal inside body data, a CR not followed by
 * LF and a LF followed by SP/HT: at such a byte the parser is run up to it,
 * and unless the parser then stands in body data the request is a 400. A
 * pair split between two reads is checked at the start of the next one.
 *
 * Timeouts. One timer per connection, armed lazily: conn_deadline() computes
 * when the connection's current state expires (header timeout from a
 * request's first byte; while a body comes in, the earliest of the idle
 * timeout since the last byte, the body timeout since the last header, and
 * the minimum-rate deadline; idle timeout from the last answer while
 * keep-alive idle, so stray bytes between requests do not extend it; idle
 * timeout while a write stalls; none while handlers run), the timer is
 * restarted only when that deadline moves earlier, and when it fires it
 * re-checks and re-arms if the deadline moved later. Bytes trickled in never
 * move the header or body deadline.
 *
 * Closing. A close the server decides on after an answer (an error, a
 * "Connection: close") is a lingering close: shutdown(SHUT_WR), then read and
 * drop until the client hangs up or 2 s pass, so a client still sending does
 * not get a RST that destroys the answer. Memory is freed in the last
 * close_cb, and not before every request handed out has been answered. */
#include "httpd.h"
#include "log.h"

#include <errno.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RBUF_SIZE 65536
#define MAX_HEADERS 100
#define REQ_POOL_MAX 512
#define REQ_KEEP_BYTES 16384          /* larger request buffers are freed on recycle */
#define WBUF_KEEP_BYTES (256u << 10)  /* larger write buffers are freed when drained */
#define OUT_HIGH_WATER (1u << 20)     /* queued output that pauses reading */
#define LINGER_MS 2000
#define LISTEN_BACKLOG 4096

enum { RQ_PARSING, RQ_HANDLING, RQ_READY };

struct hdr {
    uint32_t name_off, name_len, val_off, val_len;
};

struct wm_httpd_req_s {
    struct wm_httpd_conn_s *conn;
    wm_httpd_req_t *next;          /* connection queue, or the free list */
    int state;
    wm_buf_t data;                 /* url at 0, then header names/values, then the body */
    wm_buf_t out;                  /* a finished answer waiting for its turn */
    struct hdr *hdrs;
    int nhdrs, cap_hdrs;
    uint32_t url_len;
    uint32_t path_off, path_len, query_off, query_len;
    size_t body_off, body_len;
    size_t max_body;               /* this request's body limit (its path chose it) */
    size_t header_bytes;
    uint64_t start;                /* loop ms of the first byte */
    uint64_t body_start;           /* loop ms of the end of the headers */
    int method;
    unsigned short http_major, http_minor;
    int resp_status;
    unsigned keep_alive : 1;
    unsigned headers_done : 1;
    unsigned in_value : 1;
    unsigned orphan : 1;           /* its connection closed: the answer is dropped */
    unsigned dispatched : 1;       /* handed to the request callback */
    unsigned resp_bad : 1;
    unsigned resp_close : 1;
    unsigned resp_has_date : 1;
    unsigned close_after : 1;      /* close the connection after this answer */
    unsigned chunk_data : 1;       /* between a chunk-size line and the end of its data */
    char id[32];
};

struct wm_httpd_conn_s {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t wreq;
    uv_shutdown_t sreq;
    http_parser parser;
    wm_httpd_t *srv;
    struct wm_httpd_conn_s *next, *prev;   /* the server's open connections */
    wm_httpd_req_t *head, *tail;           /* answers owed, oldest first */
    wm_httpd_req_t *cur;                   /* being parsed (the tail), or NULL */
    int nhandling;                         /* queued requests in RQ_HANDLING */
    int refs;                              /* requests handed out, not answered */
    unsigned long nreqs;                   /* requests begun on this connection */
    wm_buf_t wbuf[2];                      /* [0] in flight with uv_write, [1] next */
    char *held;                            /* unparsed bytes kept while paused */
    size_t held_len;
    uint64_t opened, last_io, last_out, armed, linger_until;
    const char *feed_end;                  /* end of the bytes being parsed */
    int handles;                           /* open uv handles */
    int error_status;                      /* set by a parser callback that failed */
    wm_httpd_vwrite_fn vwrite;
    void *vud;
    unsigned virt : 1;
    unsigned reading : 1;
    unsigned paused : 1;
    unsigned no_more : 1;                  /* parse no further requests */
    unsigned draining : 1;
    unsigned eof : 1;
    unsigned closed : 1;
    unsigned writing : 1;
    unsigned in_parse : 1;
    unsigned owner_gone : 1;               /* virtual: wm_httpd_virtual_close was called */
    unsigned close_when_done : 1;          /* linger-close once the queue and writes drain */
    unsigned lingering : 1;
    unsigned cr_pending : 1;               /* the last read ended in a CR outside body data */
    unsigned lf_pending : 1;               /* ... in a LF, and no body data comes next */
    unsigned want_cr : 1;                  /* ... at the end of chunk data */
    char remote[48];
};

typedef struct wm_httpd_conn_s conn_t;

struct wm_httpd_s {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_timer_t timer;                      /* drain timeout, and deferred stop report */
    wm_httpd_conf_t conf;                  /* conf.upload_paths points at upload_paths */
    char **upload_paths;                   /* the server's own copies */
    uint64_t header_ms, idle_ms, body_ms, grace_ms;
    wm_httpd_request_cb cb;
    void *ud;
    wm_httpd_stopped_cb stopped_cb;
    void *stopped_ud;
    conn_t *conns;
    int nconns;                            /* open */
    int nconn_structs;                     /* allocated */
    wm_httpd_req_t *pool;
    int npool;
    wm_buf_t scratch;
    wm_httpd_stats_t st;
    char date[48];                         /* "Date: ...\r\n" */
    size_t date_len;
    time_t date_sec;
    char id_prefix[12];
    unsigned long next_id;
    int handles;
    unsigned listening : 1;
    unsigned stopping : 1;
    unsigned stop_reported : 1;
    unsigned freeing : 1;
};

static char rbuf[RBUF_SIZE];

static int on_message_begin(http_parser *p);
static int on_url(http_parser *p, const char *at, size_t len);
static int on_header_field(http_parser *p, const char *at, size_t len);
static int on_header_value(http_parser *p, const char *at, size_t len);
static int on_headers_complete(http_parser *p);
static int on_body(http_parser *p, const char *at, size_t len);
static int on_chunk_header(http_parser *p);
static int on_message_complete(http_parser *p);

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_chunk_header = on_chunk_header,
    .on_message_complete = on_message_complete,
};

static void conn_close(conn_t *c);
static void conn_fail(conn_t *c, int status);
static void conn_update_timer(conn_t *c);
static void conn_after_progress(conn_t *c);
static void conn_feed(conn_t *c, const char *data, size_t len);
static void srv_check_stopped(wm_httpd_t *s);
static void srv_maybe_free(wm_httpd_t *s);

/* ---- small helpers ---- */

void wm_httpd_conf_default(wm_httpd_conf_t *c)
{
    c->max_header_bytes = 16384;
    c->max_body_bytes = 8u << 20;
    c->max_connections = 10000;
    c->max_pipeline = 32;
    c->header_timeout = 10;
    c->idle_timeout = 60;
    c->body_timeout = 60;
    c->min_body_rate = 1024;
    c->body_rate_grace = 5;
    c->upload_paths = NULL;
    c->nupload_paths = 0;
    c->upload_max_body_bytes = 16u << 20;
}

/* The body limit for a request to `path` (as sent, not decoded): an upload
 * path prefix's, or the server's. A prefix ending in "/" also covers the
 * path without it ("/portal/support/" covers the form posted to
 * "/portal/support"). A path with a ".." segment never gets the bigger
 * limit, so "/portal/support/../x" cannot carry one elsewhere. */
static size_t body_limit(const wm_httpd_t *s, const char *path, size_t len)
{
    for (size_t i = 0; i + 2 < len; i++) {
        if (path[i] == '/' && path[i + 1] == '.' && path[i + 2] == '.' && (i + 3 == len || path[i + 3] == '/'))
            return s->conf.max_body_bytes;
    }
    for (int i = 0; i < s->conf.nupload_paths; i++) {
        size_t n = strlen(s->conf.upload_paths[i]);
        const char *pre = s->conf.upload_paths[i];
        if (n > 0 && n <= len && memcmp(path, pre, n) == 0)
            return s->conf.upload_max_body_bytes;
        if (n > 1 && pre[n - 1] == '/' && len == n - 1 && memcmp(path, pre, n - 1) == 0)
            return s->conf.upload_max_body_bytes;
    }
    return s->conf.max_body_bytes;
}

const char *wm_httpd_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 422: return "Unprocessable Content";
    case 425: return "Too Early";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

size_t wm_httpd_pct_decode(char *dst, const char *src, size_t len, int plus_space)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = src[i];
        if (ch == '%' && i + 2 < len) {
            int hi = hexval((unsigned char)src[i + 1]), lo = hexval((unsigned char)src[i + 2]);
            if (hi >= 0 && lo >= 0) {
                dst[o++] = (char)(hi * 16 + lo);
                i += 2;
                continue;
            }
        }
        dst[o++] = (plus_space && ch == '+') ? ' ' : ch;
    }
    return o;
}

static void buf_put(wm_buf_t *b, const char *s, size_t n)
{
    wm_buf_append(b, s, n);
}

#define BUF_LIT(b, s) buf_put((b), (s), sizeof(s) - 1)

static void buf_put_uint(wm_buf_t *b, unsigned long long v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    buf_put(b, tmp + sizeof(tmp) - n, (size_t)n);
}

static int ascii_ieq(const char *a, size_t alen, const char *lit)
{
    size_t n = strlen(lit);
    if (alen != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = a[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch + 32);
        if (ch != lit[i])
            return 0;
    }
    return 1;
}

/* Whether `lit` (lower case) occurs in s, ignoring case. */
static int ascii_icontains(const char *s, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    for (size_t i = 0; i + m <= n; i++) {
        if (ascii_ieq(s + i, m, lit))
            return 1;
    }
    return 0;
}

/* RFC 9110 token characters. */
static int is_tchar(unsigned char ch)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
        return 1;
    return ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static void update_date(wm_httpd_t *s)
{
    time_t now = time(NULL);
    if (now == s->date_sec)
        return;
    struct tm tm;
    gmtime_r(&now, &tm);
    s->date_len = strftime(s->date, sizeof(s->date), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
    s->date_sec = now;
}

/* ---- requests ---- */

static wm_httpd_req_t *req_alloc(wm_httpd_t *s, conn_t *c)
{
    wm_httpd_req_t *r = s->pool;
    if (r != NULL) {
        s->pool = r->next;
        s->npool--;
    } else {
        r = wm_calloc(1, sizeof(*r));
        wm_buf_init(&r->data);
        wm_buf_init(&r->out);
    }
    r->conn = c;
    r->next = NULL;
    r->state = RQ_PARSING;
    r->data.len = 0;
    r->out.len = 0;
    r->nhdrs = 0;
    r->url_len = 0;
    r->path_off = r->path_len = r->query_off = r->query_len = 0;
    r->body_off = r->body_len = 0;
    r->header_bytes = 0;
    r->method = HTTP_GET;
    r->http_major = 1;
    r->http_minor = 1;
    r->resp_status = 0;
    r->keep_alive = 0;
    r->headers_done = 0;
    r->in_value = 0;
    r->orphan = 0;
    r->dispatched = 0;
    r->resp_bad = 0;
    r->resp_close = 0;
    r->resp_has_date = 0;
    r->close_after = 0;
    r->chunk_data = 0;
    r->start = uv_now(s->loop);
    r->body_start = r->start;
    /* The id is "<process prefix>-<counter in hex>". */
    char *p = r->id;
    size_t plen = strlen(s->id_prefix);
    memcpy(p, s->id_prefix, plen);
    p += plen;
    *p++ = '-';
    unsigned long v = ++s->next_id;
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v != 0);
    while (n > 0)
        *p++ = tmp[--n];
    *p = '\0';
    return r;
}

static void req_destroy(wm_httpd_req_t *r)
{
    wm_buf_free(&r->data);
    wm_buf_free(&r->out);
    wm_free(r->hdrs);
    wm_free(r);
}

static void req_release(wm_httpd_t *s, wm_httpd_req_t *r)
{
    if (s->freeing || s->npool >= REQ_POOL_MAX) {
        req_destroy(r);
        return;
    }
    if (r->data.cap > REQ_KEEP_BYTES)
        wm_buf_free(&r->data);
    if (r->out.cap > REQ_KEEP_BYTES)
        wm_buf_free(&r->out);
    r->conn = NULL;
    r->next = s->pool;
    s->pool = r;
    s->npool++;
}

static void queue_push(conn_t *c, wm_httpd_req_t *r)
{
    r->next = NULL;
    if (c->tail != NULL)
        c->tail->next = r;
    else
        c->head = r;
    c->tail = r;
}

static wm_httpd_req_t *queue_pop(conn_t *c)
{
    wm_httpd_req_t *r = c->head;
    c->head = r->next;
    if (c->head == NULL)
        c->tail = NULL;
    r->next = NULL;
    return r;
}

/* Drops the request being parsed (it is the queue's tail). */
static void conn_drop_partial(conn_t *c)
{
    wm_httpd_req_t *r = c->cur;
    if (r == NULL)
        return;
    c->cur = NULL;
    if (c->head == r) {
        c->head = c->tail = NULL;
    } else {
        wm_httpd_req_t *p = c->head;
        while (p != NULL && p->next != r)
            p = p->next;
        if (p != NULL) {
            p->next = NULL;
            c->tail = p;
        }
    }
    req_release(c->srv, r);
}

/* Empties the queue: requests with a handler still running become orphans
 * (answered into the void later), the rest go back to the pool. */
static void conn_clear_queue(conn_t *c)
{
    wm_httpd_req_t *r = c->head;
    c->head = c->tail = c->cur = NULL;
    while (r != NULL) {
        wm_httpd_req_t *next = r->next;
        r->next = NULL;
        if (r->state == RQ_HANDLING)
            r->orphan = 1;
        else
            req_release(c->srv, r);
        r = next;
    }
    c->nhandling = 0;
}

/* ---- connection state ---- */

static void conn_maybe_free(conn_t *c)
{
    if (!c->closed || c->handles > 0 || c->refs > 0 || c->in_parse)
        return;
    if (c->virt && !c->owner_gone)
        return;
    wm_httpd_t *s = c->srv;
    wm_buf_free(&c->wbuf[0]);
    wm_buf_free(&c->wbuf[1]);
    wm_free(c->held);
    wm_free(c);
    s->nconn_structs--;
    srv_maybe_free(s);
}

static void conn_close_cb(uv_handle_t *h)
{
    conn_t *c = h->data;
    c->handles--;
    if (c->handles == 0) {
        srv_check_stopped(c->srv);
        conn_maybe_free(c);      /* may free the server too: last */
    }
}

static void conn_stop_reading(conn_t *c)
{
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
    }
}

static void conn_close(conn_t *c)
{
    if (c->closed)
        return;
    wm_httpd_t *s = c->srv;
    c->closed = 1;
    c->no_more = 1;
    conn_clear_queue(c);
    wm_free(c->held);
    c->held = NULL;
    c->held_len = 0;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->next = c->prev = NULL;
    s->nconns--;
    if (c->virt) {
        srv_check_stopped(s);
        conn_maybe_free(c);
        return;
    }
    c->reading = 0;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, conn_close_cb);
    uv_close((uv_handle_t *)&c->tcp, conn_close_cb);
}

static void conn_pause(conn_t *c)
{
    c->paused = 1;
    conn_stop_reading(c);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    WM_UNUSED(h);
    WM_UNUSED(suggested);
    buf->base = rbuf;
    buf->len = sizeof(rbuf);
}

static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

static void conn_start_reading(conn_t *c)
{
    if (c->reading || c->closed || c->virt)
        return;
    if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) == 0)
        c->reading = 1;
    else
        conn_close(c);
}

static size_t conn_pending_out(conn_t *c)
{
    return c->wbuf[0].len + c->wbuf[1].len;
}

static void conn_maybe_resume(conn_t *c)
{
    if (!c->paused || c->closed || c->no_more || c->in_parse)
        return;
    if (c->nhandling >= c->srv->conf.max_pipeline || conn_pending_out(c) > OUT_HIGH_WATER)
        return;
    c->paused = 0;
    http_parser_pause(&c->parser, 0);
    if (c->held != NULL) {
        char *h = c->held;
        size_t n = c->held_len;
        c->held = NULL;
        c->held_len = 0;
        conn_feed(c, h, n);
        wm_free(h);
    }
    if (!c->paused && !c->no_more)
        conn_start_reading(c);
}

/* When the connection's current state expires (loop ms), or 0 for never. */
static uint64_t conn_deadline(conn_t *c)
{
    wm_httpd_t *s = c->srv;
    if (c->lingering)
        return c->linger_until;
    wm_httpd_req_t *r = c->cur;
    if (r != NULL) {
        if (!r->headers_done)
            return r->start + s->header_ms;
        uint64_t d = c->last_io + s->idle_ms;
        if (s->body_ms > 0 && r->body_start + s->body_ms < d)
            d = r->body_start + s->body_ms;
        if (s->conf.min_body_rate > 0) {
            /* When the average since the headers would fall under the
             * minimum: each byte received buys 1/rate seconds. */
            uint64_t earned = (uint64_t)((double)r->body_len * 1000.0 / s->conf.min_body_rate);
            uint64_t rate_d = r->body_start + (earned > s->grace_ms ? earned : s->grace_ms);
            if (rate_d < d)
                d = rate_d;
        }
        return d;
    }
    if (c->writing)
        return c->last_io + s->idle_ms;
    if (c->head != NULL)
        return 0;
    if (c->nreqs == 0)
        return c->opened + s->header_ms;
    return c->last_out + s->idle_ms;
}

static void conn_timeout(conn_t *c)
{
    wm_httpd_t *s = c->srv;
    s->st.timeouts++;
    if (!c->lingering && c->cur != NULL && c->head == c->cur && !c->writing) {
        conn_fail(c, 408);
        return;
    }
    conn_close(c);
}

static void timer_cb(uv_timer_t *t)
{
    conn_t *c = t->data;
    c->armed = 0;
    if (c->closed)
        return;
    uint64_t d = conn_deadline(c), now = uv_now(c->srv->loop);
    if (d == 0)
        return;
    if (d > now) {
        uv_timer_start(t, timer_cb, d - now, 0);
        c->armed = d;
        return;
    }
    conn_timeout(c);
}

static void conn_update_timer(conn_t *c)
{
    if (c->virt || c->closed)
        return;
    uint64_t d = conn_deadline(c);
    if (d == 0 || (c->armed != 0 && c->armed <= d))
        return;
    uint64_t now = uv_now(c->srv->loop);
    uv_timer_start(&c->timer, timer_cb, d > now ? d - now : 0, 0);
    c->armed = d;
}

/* ---- writing ---- */

static void write_cb(uv_write_t *req, int status);

static void conn_start_write(conn_t *c)
{
    uv_buf_t b = uv_buf_init(c->wbuf[0].data, (unsigned int)c->wbuf[0].len);
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, write_cb) < 0) {
        conn_close(c);
        return;
    }
    c->writing = 1;
}

static void conn_send(conn_t *c, const char *a, size_t alen, const char *b, size_t blen)
{
    if (c->closed)
        return;
    if (c->virt) {
        if (c->vwrite != NULL) {
            c->vwrite(c->vud, a, alen);
            if (blen > 0)
                c->vwrite(c->vud, b, blen);
        }
        return;
    }
    if (c->writing) {
        buf_put(&c->wbuf[1], a, alen);
        if (blen > 0)
            buf_put(&c->wbuf[1], b, blen);
        if (conn_pending_out(c) > OUT_HIGH_WATER)
            conn_pause(c);
        return;
    }
    uv_buf_t bufs[2] = {uv_buf_init((char *)a, (unsigned int)alen),
                        uv_buf_init((char *)b, (unsigned int)blen)};
    int w = uv_try_write((uv_stream_t *)&c->tcp, bufs, blen > 0 ? 2 : 1);
    c->last_io = c->last_out = uv_now(c->srv->loop);
    if (w >= 0 && (size_t)w == alen + blen)
        return;
    if (w < 0 && w != UV_EAGAIN) {
        conn_close(c);
        return;
    }
    size_t done = w < 0 ? 0 : (size_t)w;
    wm_buf_t *o = &c->wbuf[0];
    o->len = 0;
    if (done < alen) {
        buf_put(o, a + done, alen - done);
        if (blen > 0)
            buf_put(o, b, blen);
    } else {
        buf_put(o, b + (done - alen), blen - (done - alen));
    }
    conn_start_write(c);
}

static void write_cb(uv_write_t *req, int status)
{
    conn_t *c = req->data;
    c->writing = 0;
    c->wbuf[0].len = 0;
    if (c->closed)
        return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    c->last_io = c->last_out = uv_now(c->srv->loop);
    if (c->wbuf[0].cap > WBUF_KEEP_BYTES)
        wm_buf_free(&c->wbuf[0]);
    if (c->wbuf[1].len > 0) {
        wm_buf_t t = c->wbuf[0];
        c->wbuf[0] = c->wbuf[1];
        c->wbuf[1] = t;
        conn_start_write(c);
        if (c->closed)
            return;
    }
    conn_after_progress(c);
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
    conn_t *c = req->data;
    if (!c->closed && status < 0)
        conn_close(c);
}

/* Close after the answers: stop parsing, half-close, drop what the client
 * still sends until it hangs up or LINGER_MS pass. */
static void conn_linger(conn_t *c)
{
    if (c->closed || c->lingering)
        return;
    if (c->virt) {
        conn_close(c);
        return;
    }
    c->lingering = 1;
    c->no_more = 1;
    wm_free(c->held);
    c->held = NULL;
    c->held_len = 0;
    c->sreq.data = c;
    if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, shutdown_cb) < 0) {
        conn_close(c);
        return;
    }
    c->linger_until = uv_now(c->srv->loop) + LINGER_MS;
    c->paused = 0;
    conn_start_reading(c);
    conn_update_timer(c);
}

/* Called after an answer went out or a write finished. */
static void conn_after_progress(conn_t *c)
{
    if (c->closed)
        return;
    if (c->head == NULL && !c->writing) {
        if (c->close_when_done) {
            conn_linger(c);
            return;
        }
        if (c->draining || c->eof) {
            conn_close(c);
            return;
        }
    }
    conn_maybe_resume(c);
    conn_update_timer(c);
}

/* ---- answers ---- */

static void conn_deliver(conn_t *c, wm_httpd_req_t *r, const char *hdr, size_t hlen,
                         const char *body, size_t blen)
{
    wm_httpd_t *s = c->srv;
    r->state = RQ_READY;
    c->refs--;
    if (r->dispatched)
        s->st.active--;
    if (r->orphan || c->closed) {
        req_release(s, r);
        conn_maybe_free(c);
        return;
    }
    c->nhandling--;
    if (c->head != r) {
        r->out.len = 0;
        buf_put(&r->out, hdr, hlen);
        if (blen > 0)
            buf_put(&r->out, body, blen);
        return;
    }
    conn_send(c, hdr, hlen, body, blen);
    int close_after = r->close_after;
    queue_pop(c);
    req_release(s, r);
    while (!close_after && !c->closed && c->head != NULL && c->head->state == RQ_READY) {
        wm_httpd_req_t *n = queue_pop(c);
        conn_send(c, n->out.data, n->out.len, NULL, 0);
        close_after = n->close_after;
        req_release(s, n);
    }
    if (c->closed)
        return;
    if (close_after) {
        c->close_when_done = 1;
        c->no_more = 1;
        conn_stop_reading(c);
        conn_clear_queue(c);
    }
    conn_after_progress(c);
}

void wm_httpd_resp_begin(wm_httpd_req_t *r, int status)
{
    wm_httpd_t *s = r->conn->srv;
    wm_buf_t *b = &s->scratch;
    if (status < 100 || status > 999)
        status = 500;
    r->resp_status = status;
    r->resp_bad = 0;
    r->resp_close = 0;
    r->resp_has_date = 0;
    b->len = 0;
    BUF_LIT(b, "HTTP/1.1 ");
    buf_put_uint(b, (unsigned)status);
    BUF_LIT(b, " ");
    wm_buf_puts(b, wm_httpd_reason(status));
    BUF_LIT(b, "\r\n");
}

int wm_httpd_resp_header(wm_httpd_req_t *r, const char *name, size_t name_len, const char *value,
                         size_t value_len)
{
    wm_buf_t *b = &r->conn->srv->scratch;
    if (name_len == 0) {
        r->resp_bad = 1;
        return WM_EINVAL;
    }
    for (size_t i = 0; i < name_len; i++) {
        if (!is_tchar((unsigned char)name[i])) {
            r->resp_bad = 1;
            return WM_EINVAL;
        }
    }
    for (size_t i = 0; i < value_len; i++) {
        char ch = value[i];
        if (ch == '\r' || ch == '\n' || ch == '\0') {
            r->resp_bad = 1;
            return WM_EINVAL;
        }
    }
    switch (name[0]) {
    case 'c': case 'C':
        if (ascii_ieq(name, name_len, "content-length"))
            return 0;
        if (ascii_ieq(name, name_len, "connection")) {
            if (ascii_icontains(value, value_len, "close"))
                r->resp_close = 1;
            return 0;
        }
        break;
    case 't': case 'T':
        if (ascii_ieq(name, name_len, "transfer-encoding"))
            return 0;
        break;
    case 'd': case 'D':
        if (ascii_ieq(name, name_len, "date"))
            r->resp_has_date = 1;
        break;
    default:
        break;
    }
    buf_put(b, name, name_len);
    BUF_LIT(b, ": ");
    buf_put(b, value, value_len);
    BUF_LIT(b, "\r\n");
    return 0;
}

int wm_httpd_head_line(wm_buf_t *out, const char *name, size_t name_len, const char *value,
                       size_t value_len)
{
    if (name_len == 0 || ascii_ieq(name, name_len, "content-length") || ascii_ieq(name, name_len, "connection")
        || ascii_ieq(name, name_len, "transfer-encoding") || ascii_ieq(name, name_len, "date"))
        return WM_EINVAL;
    for (size_t i = 0; i < name_len; i++) {
        if (!is_tchar((unsigned char)name[i]))
            return WM_EINVAL;
    }
    for (size_t i = 0; i < value_len; i++) {
        char ch = value[i];
        if (ch == '\r' || ch == '\n' || ch == '\0')
            return WM_EINVAL;
    }
    buf_put(out, name, name_len);
    BUF_LIT(out, ": ");
    buf_put(out, value, value_len);
    BUF_LIT(out, "\r\n");
    return 0;
}

void wm_httpd_resp_lines(wm_httpd_req_t *r, const char *lines, size_t len)
{
    buf_put(&r->conn->srv->scratch, lines, len);
}

int wm_httpd_resp_finish(wm_httpd_req_t *r, const char *body, size_t body_len)
{
    conn_t *c = r->conn;
    wm_httpd_t *s = c->srv;
    wm_buf_t *b = &s->scratch;
    int rc = 0;
    if (r->resp_bad) {
        static const char msg[] = "500 Internal Server Error (bad response header)\n";
        wm_httpd_resp_begin(r, 500);
        BUF_LIT(b, "Content-Type: text/plain; charset=utf-8\r\n");
        body = msg;
        body_len = sizeof(msg) - 1;
        rc = WM_EINVAL;
    }
    int status = r->resp_status;
    int no_body = r->method == HTTP_HEAD || status < 200 || status == 204 || status == 304;
    if (!r->resp_has_date) {
        update_date(s);
        buf_put(b, s->date, s->date_len);
    }
    if (status >= 200 && status != 204 && status != 304) {
        BUF_LIT(b, "Content-Length: ");
        buf_put_uint(b, body_len);
        BUF_LIT(b, "\r\n");
    }
    int close = !r->keep_alive || r->resp_close || c->draining || s->stopping || c->eof;
    if (close) {
        BUF_LIT(b, "Connection: close\r\n");
        r->close_after = 1;
    } else if (r->http_major == 1 && r->http_minor == 0) {
        BUF_LIT(b, "Connection: keep-alive\r\n");
    }
    BUF_LIT(b, "\r\n");
    if (no_body)
        body_len = 0;
    conn_deliver(c, r, b->data, b->len, body, body_len);
    return rc;
}

int wm_httpd_respond(wm_httpd_req_t *r, int status, const char *content_type, const char *body,
                     size_t body_len)
{
    wm_httpd_resp_begin(r, status);
    if (content_type != NULL)
        wm_httpd_resp_header(r, "Content-Type", 12, content_type, strlen(content_type));
    return wm_httpd_resp_finish(r, body, body_len);
}

/* An answer the server gives itself (400, 408, 413, 431): it goes out in
 * order after the answers owed, then the connection closes. */
static void conn_fail(conn_t *c, int status)
{
    wm_httpd_t *s = c->srv;
    if (c->closed)
        return;
    c->no_more = 1;
    conn_stop_reading(c);
    wm_free(c->held);
    c->held = NULL;
    c->held_len = 0;
    wm_httpd_req_t *r = c->cur;
    c->cur = NULL;
    if (r == NULL) {
        r = req_alloc(s, c);
        queue_push(c, r);
    }
    r->state = RQ_HANDLING;
    r->keep_alive = 0;
    if (!r->headers_done)
        r->method = HTTP_GET;
    c->nhandling++;
    c->refs++;
    s->st.rejected++;
    char body[96];
    int n = snprintf(body, sizeof(body), "%d %s\n", status, wm_httpd_reason(status));
    wm_httpd_resp_begin(r, status);
    wm_httpd_resp_header(r, "Content-Type", 12, "text/plain; charset=utf-8", 25);
    wm_httpd_resp_finish(r, body, (size_t)n);
}

/* ---- parsing ---- */

/* Fails the parse with `status`. -1, not 1: from on_headers_complete a 1
 * means "no body" to http-parser, and only other values are errors. */
static int cb_fail(conn_t *c, int status)
{
    if (c->error_status == 0)
        c->error_status = status;
    return -1;
}

static int on_message_begin(http_parser *p)
{
    conn_t *c = p->data;
    if (c->closed || c->no_more)
        return 1;
    wm_httpd_req_t *r = req_alloc(c->srv, c);
    queue_push(c, r);
    c->cur = r;
    c->nreqs++;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    conn_t *c = p->data;
    wm_httpd_req_t *r = c->cur;
    if (r == NULL)
        return 1;
    r->header_bytes += len;
    if (r->header_bytes > c->srv->conf.max_header_bytes)
        return cb_fail(c, 414);
    buf_put(&r->data, at, len);
    r->url_len += (uint32_t)len;
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    conn_t *c = p->data;
    wm_httpd_req_t *r = c->cur;
    if (r == NULL)
        return 1;
    r->header_bytes += len;
    if (r->header_bytes > c->srv->conf.max_header_bytes)
        return cb_fail(c, 431);
    /* RFC 9112 5.1: no whitespace between name and colon (http-parser would
     * keep it in the name, and still honour "Transfer-Encoding :"). */
    for (size_t i = 0; i < len; i++) {
        if (!is_tchar((unsigned char)at[i]))
            return cb_fail(c, 400);
    }
    if (r->headers_done)
        return 0;                     /* a trailer: counted, dropped */
    if (r->nhdrs == 0 || r->in_value) {
        if (r->nhdrs >= MAX_HEADERS)
            return cb_fail(c, 431);
        if (r->nhdrs == r->cap_hdrs) {
            r->cap_hdrs = r->cap_hdrs ? r->cap_hdrs * 2 : 16;
            r->hdrs = wm_realloc(r->hdrs, (size_t)r->cap_hdrs * sizeof(struct hdr));
        }
        struct hdr *h = &r->hdrs[r->nhdrs++];
        h->name_off = (uint32_t)r->data.len;
        h->name_len = 0;
        h->val_off = (uint32_t)r->data.len;
        h->val_len = 0;
        r->in_value = 0;
        r->header_bytes += 4;         /* ": " and CRLF */
    }
    struct hdr *h = &r->hdrs[r->nhdrs - 1];
    wm_buf_reserve(&r->data, len);
    char *dst = r->data.data + r->data.len;
    for (size_t i = 0; i < len; i++) {
        char ch = at[i];
        dst[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
    }
    r->data.len += len;
    r->data.data[r->data.len] = '\0';
    h->name_len += (uint32_t)len;
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    conn_t *c = p->data;
    wm_httpd_req_t *r = c->cur;
    if (r == NULL)
        return 1;
    r->header_bytes += len;
    if (r->header_bytes > c->srv->conf.max_header_bytes)
        return cb_fail(c, 431);
    if (r->headers_done || r->nhdrs == 0)
        return 0;
    struct hdr *h = &r->hdrs[r->nhdrs - 1];
    if (!r->in_value) {
        h->val_off = (uint32_t)r->data.len;
        h->val_len = 0;
        r->in_value = 1;
    }
    buf_put(&r->data, at, len);
    h->val_len += (uint32_t)len;
    return 0;
}

/* Splits the request target into path and query. Returns 0 or -1. */
static int split_target(wm_httpd_req_t *r)
{
    const char *u = r->data.data;
    size_t n = r->url_len;
    if (n == 0)
        return -1;
    if (u[0] == '/' || (n == 1 && u[0] == '*')) {
        size_t i = 0;
        while (i < n && u[i] != '?' && u[i] != '#')
            i++;
        r->path_off = 0;
        r->path_len = (uint32_t)i;
        if (i < n && u[i] == '?') {
            size_t q = i + 1, e = q;
            while (e < n && u[e] != '#')
                e++;
            r->query_off = (uint32_t)q;
            r->query_len = (uint32_t)(e - q);
        }
        return 0;
    }
    /* Absolute form (http://host/path?q), as a proxy would send it. */
    struct http_parser_url pu;
    http_parser_url_init(&pu);
    if (http_parser_parse_url(u, n, 0, &pu) != 0 || !(pu.field_set & (1 << UF_HOST)))
        return -1;
    if (pu.field_set & (1 << UF_PATH)) {
        r->path_off = pu.field_data[UF_PATH].off;
        r->path_len = pu.field_data[UF_PATH].len;
    } else {
        /* No path: point at a "/" appended after the url. */
        r->path_off = (uint32_t)r->data.len;
        r->path_len = 1;
        buf_put(&r->data, "/", 1);
    }
    if (pu.field_set & (1 << UF_QUERY)) {
        r->query_off = pu.field_data[UF_QUERY].off;
        r->query_len = pu.field_data[UF_QUERY].len;
    }
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    conn_t *c = p->data;
    wm_httpd_t *s = c->srv;
    wm_httpd_req_t *r = c->cur;
    if (r == NULL)
        return -1;
    r->headers_done = 1;
    r->in_value = 0;
    r->method = p->method;
    r->http_major = p->http_major;
    r->http_minor = p->http_minor;
    r->keep_alive = http_should_keep_alive(p) ? 1 : 0;
    if (p->method == HTTP_CONNECT)
        return cb_fail(c, 405);
    if (p->http_major != 1)
        return cb_fail(c, 505);
    if (split_target(r) != 0)
        return cb_fail(c, 400);
    /* RFC 9112 3.2: an HTTP/1.1 request needs exactly one Host. */
    int hosts = 0;
    for (int i = 0; i < r->nhdrs; i++) {
        struct hdr *h = &r->hdrs[i];
        if (h->name_len == 4 && memcmp(r->data.data + h->name_off, "host", 4) == 0)
            hosts++;
    }
    if (hosts > 1 || (hosts == 0 && r->http_minor >= 1))
        return cb_fail(c, 400);
    r->max_body = body_limit(s, r->data.data + r->path_off, r->path_len);
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > r->max_body)
        return cb_fail(c, 413);
    if (p->upgrade)
        r->keep_alive = 0;
    r->body_off = r->data.len;
    r->body_start = uv_now(s->loop);
    /* Expect: 100-continue, when nothing is owed before this request. */
    if (r->http_minor >= 1 && c->head == r && !c->writing) {
        for (int i = 0; i < r->nhdrs; i++) {
            struct hdr *h = &r->hdrs[i];
            if (h->name_len == 6 && memcmp(r->data.data + h->name_off, "expect", 6) == 0 &&
                ascii_ieq(r->data.data + h->val_off, h->val_len, "100-continue")) {
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                conn_send(c, cont, sizeof(cont) - 1, NULL, 0);
                break;
            }
        }
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    conn_t *c = p->data;
    wm_httpd_req_t *r = c->cur;
    if (r == NULL)
        return 1;
    r->body_len += len;
    if (r->body_len > r->max_body)
        return cb_fail(c, 413);
    buf_put(&r->data, at, len);
    if ((p->flags & F_CHUNKED) && p->content_length == 0) {
        /* This chunk's data is complete: CRLF must follow (http-parser
         * would skip any two bytes). The CR is checked here, or first thing
         * in the next read; the LF by the scan in conn_parse. */
        r->chunk_data = 0;
        const char *next = at + len;
        if (next < c->feed_end) {
            if (*next != '\r')
                return cb_fail(c, 400);
        } else {
            c->want_cr = 1;
        }
    }
    return 0;
}

static int on_chunk_header(http_parser *p)
{
    conn_t *c = p->data;
    wm_httpd_req_t *r = c->cur;
    if (r == NULL)
        return 1;
    r->chunk_data = p->content_length > 0;
    return 0;
}

static int on_message_complete(http_parser *p)
{
    conn_t *c = p->data;
    wm_httpd_t *s = c->srv;
    wm_httpd_req_t *r = c->cur;
    if (r == NULL)
        return 1;
    c->cur = NULL;
    r->state = RQ_HANDLING;
    r->dispatched = 1;
    c->nhandling++;
    c->refs++;
    s->st.requests++;
    s->st.active++;
    if (!r->keep_alive) {
        c->no_more = 1;
        http_parser_pause(p, 1);
    } else if (c->nhandling >= s->conf.max_pipeline) {
        http_parser_pause(p, 1);
    }
    s->cb(r, s->ud);
    return 0;
}

/* Whether the parser's next byte is body data (Content-Length bytes or chunk
 * data), where any byte may appear. */
static int conn_in_body(conn_t *c)
{
    wm_httpd_req_t *r = c->cur;
    const http_parser *p = &c->parser;
    if (r == NULL || !r->headers_done || p->content_length == 0 || p->content_length == UINT64_MAX)
        return 0;
    return (p->flags & F_CHUNKED) ? r->chunk_data : 1;
}

static int is_sp_ht(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* The first byte of data[from..len) that is legal only inside body data: a
 * CR not followed by LF (or the last byte, a CR whose LF is yet to come), or
 * a SP/HT at the start of a line. len when there is none. */
static size_t next_suspect(const char *data, size_t from, size_t len)
{
    for (size_t i = from; i < len; i++) {
        char ch = data[i];
        if (ch > ' ')
            continue;
        if (ch == '\r') {
            if (i + 1 == len || data[i + 1] != '\n')
                return i;
        } else if (is_sp_ht(ch) && i > 0 && data[i - 1] == '\n') {
            return i;
        }
    }
    return len;
}

/* Runs the parser over data[0..len) and returns how many bytes it took.
 * Sets *bad when the bytes break the framing rules http-parser lets pass
 * (see "Strictness" at the top). */
static size_t conn_parse(conn_t *c, const char *data, size_t len, int *bad)
{
    *bad = 0;
    if (len == 0)
        return 0;
    /* What the previous read left to check against this one's first byte. */
    char first = data[0];
    if ((c->cr_pending && first != '\n') || (c->lf_pending && is_sp_ht(first)) ||
        (c->want_cr && first != '\r')) {
        *bad = 1;
        return 0;
    }
    c->cr_pending = c->lf_pending = c->want_cr = 0;
    c->feed_end = data + len;
    size_t done = 0, scan = 0;
    int cr_last = 0;
    for (;;) {
        size_t i = next_suspect(data, scan, len);
        if (i > done) {
            done += http_parser_execute(&c->parser, &settings, data + done, i - done);
            /* Paused (the rest is replayed later), failed, or closed: the
             * parser's state says nothing about byte i. */
            if (done < i || HTTP_PARSER_ERRNO(&c->parser) != HPE_OK || c->closed)
                break;
        }
        if (i == len)
            break;
        if (!conn_in_body(c)) {
            if (i + 1 < len || data[i] != '\r') {
                *bad = 1;
                return done;
            }
            cr_last = 1;
        }
        scan = i + 1;
    }
    if (done == len && !c->closed) {
        if (cr_last)
            c->cr_pending = 1;
        else if (data[len - 1] == '\n' && !conn_in_body(c))
            c->lf_pending = 1;
    }
    return done;
}

static void conn_feed(conn_t *c, const char *data, size_t len)
{
    int bad;
    c->in_parse = 1;
    size_t n = conn_parse(c, data, len, &bad);
    c->in_parse = 0;
    if (c->closed) {
        conn_maybe_free(c);
        return;
    }
    if (bad) {
        conn_fail(c, 400);
        return;
    }
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    if (e == HPE_PAUSED) {
        if (!c->no_more && n < len) {
            char *h = wm_malloc(c->held_len + (len - n));
            if (c->held_len > 0)
                memcpy(h, c->held, c->held_len);
            memcpy(h + c->held_len, data + n, len - n);
            wm_free(c->held);
            c->held = h;
            c->held_len += len - n;
        }
        conn_pause(c);
        /* A handler that answered synchronously may have made room. */
        conn_maybe_resume(c);
    } else if (e != HPE_OK && c->no_more && c->error_status == 0) {
        conn_stop_reading(c);         /* bytes after the last request we take */
    } else if (e != HPE_OK) {
        int status = c->error_status;
        if (status == 0)
            status = e == HPE_HEADER_OVERFLOW ? 431 : 400;
        conn_fail(c, status);
        return;
    } else if (c->parser.upgrade || c->no_more) {
        /* The rest is not HTTP (an upgrade we do not do): stop here. */
        conn_stop_reading(c);
    }
    if (!c->closed)
        conn_update_timer(c);
}

static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    conn_t *c = st->data;
    if (c->closed)
        return;
    if (nread > 0) {
        c->last_io = uv_now(c->srv->loop);
        if (c->lingering || c->no_more)
            return;                   /* dropped */
        conn_feed(c, buf->base, (size_t)nread);
        return;
    }
    if (nread == 0)
        return;
    conn_stop_reading(c);
    if (nread != UV_EOF || c->lingering) {
        conn_close(c);
        return;
    }
    /* The client half-closed: answer what is complete, then close. */
    c->eof = 1;
    c->no_more = 1;
    conn_drop_partial(c);
    if (c->head == NULL && !c->writing)
        conn_close(c);
    else
        conn_update_timer(c);
}

/* ---- the server ---- */

wm_httpd_t *wm_httpd_new(uv_loop_t *loop, const wm_httpd_conf_t *conf, wm_httpd_request_cb cb,
                         void *ud)
{
    wm_httpd_t *s = wm_calloc(1, sizeof(*s));
    s->loop = loop;
    if (conf != NULL)
        s->conf = *conf;
    else
        wm_httpd_conf_default(&s->conf);
    if (s->conf.max_pipeline < 1)
        s->conf.max_pipeline = 1;
    if (s->conf.max_connections < 1)
        s->conf.max_connections = 1;
    if (s->conf.nupload_paths > 0 && s->conf.upload_paths != NULL) {
        s->upload_paths = wm_calloc((size_t)s->conf.nupload_paths, sizeof(char *));
        for (int i = 0; i < s->conf.nupload_paths; i++)
            s->upload_paths[i] = wm_strdup(s->conf.upload_paths[i]);
        s->conf.upload_paths = (const char *const *)s->upload_paths;
    } else {
        s->conf.upload_paths = NULL;
        s->conf.nupload_paths = 0;
    }
    s->header_ms = (uint64_t)(s->conf.header_timeout > 0 ? s->conf.header_timeout * 1000 : 1);
    s->idle_ms = (uint64_t)(s->conf.idle_timeout > 0 ? s->conf.idle_timeout * 1000 : 1);
    s->body_ms = (uint64_t)(s->conf.body_timeout > 0 ? s->conf.body_timeout * 1000 : 0);
    s->grace_ms = (uint64_t)(s->conf.body_rate_grace > 0 ? s->conf.body_rate_grace * 1000 : 0);
    s->cb = cb;
    s->ud = ud;
    wm_buf_init(&s->scratch);
    uv_timer_init(loop, &s->timer);
    s->timer.data = s;
    s->handles = 1;
    uint32_t rnd = 0;
    if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
        rnd = (uint32_t)(uv_hrtime() ^ ((uint64_t)getpid() << 16));
    snprintf(s->id_prefix, sizeof(s->id_prefix), "%08x", rnd);
    /* Our own limit is checked first; keep the parser's own ceiling above it. */
    size_t ceiling = s->conf.max_header_bytes + 4096;
    if (ceiling < 80 * 1024)
        ceiling = 80 * 1024;
    http_parser_set_max_header_size((uint32_t)ceiling);
    return s;
}

static void on_connection(uv_stream_t *server, int status)
{
    wm_httpd_t *s = server->data;
    if (status < 0) {
        wm_log_warn("http: accept failed", "error", uv_strerror(status));
        return;
    }
    conn_t *c = wm_calloc(1, sizeof(*c));
    c->srv = s;
    s->nconn_structs++;
    uv_tcp_init(s->loop, &c->tcp);
    c->tcp.data = c;
    c->handles = 1;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        c->closed = 1;
        uv_close((uv_handle_t *)&c->tcp, conn_close_cb);
        return;
    }
    s->st.accepted++;
    if (s->nconns >= s->conf.max_connections || s->stopping) {
        static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                   "Connection: close\r\n\r\n";
        uv_buf_t b = uv_buf_init((char *)busy, sizeof(busy) - 1);
        uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        s->st.rejected++;
        c->closed = 1;
        uv_close((uv_handle_t *)&c->tcp, conn_close_cb);
        return;
    }
    uv_timer_init(s->loop, &c->timer);
    c->timer.data = c;
    c->handles = 2;
    c->wreq.data = c;
    uv_tcp_nodelay(&c->tcp, 1);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    struct sockaddr_storage ss;
    int sslen = sizeof(ss);
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sslen) == 0) {
        if (ss.ss_family == AF_INET)
            uv_ip4_name((struct sockaddr_in *)&ss, c->remote, sizeof(c->remote));
        else if (ss.ss_family == AF_INET6)
            uv_ip6_name((struct sockaddr_in6 *)&ss, c->remote, sizeof(c->remote));
    }
    c->next = s->conns;
    if (s->conns != NULL)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    c->opened = c->last_io = c->last_out = uv_now(s->loop);
    conn_start_reading(c);
    conn_update_timer(c);
}

int wm_httpd_listen(wm_httpd_t *s, const char *host, int port, int reuseport, wm_err_t *err)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (s->listening || s->stopping || s->freeing)
        return wm_err_set(err, WM_EINVAL, "http: server already listening or stopped");
    if (host == NULL || strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    if (port < 0 || port > 65535)
        return wm_err_set(err, WM_EINVAL, "http: bad port %d", port);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0)
        return wm_err_set(err, WM_EINVAL, "http: bad listen address '%s' (want an IP literal)", host);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return wm_err_set(err, -errno, "http: socket: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
        int e = errno;
        close(fd);
        return wm_err_set(err, -e, "http: SO_REUSEPORT: %s", strerror(e));
    }
    socklen_t slen = ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    if (bind(fd, (struct sockaddr *)&ss, slen) != 0) {
        int e = errno;
        close(fd);
        return wm_err_set(err, -e, "http: cannot listen on %s:%d: %s", host, port, strerror(e));
    }
    uv_tcp_init(s->loop, &s->listener);
    s->listener.data = s;
    s->handles++;
    int rc = uv_tcp_open(&s->listener, fd);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->listener, LISTEN_BACKLOG, on_connection);
    if (rc < 0) {
        uv_close((uv_handle_t *)&s->listener, NULL);
        s->handles--;
        return wm_err_set(err, rc, "http: cannot listen on %s:%d: %s", host, port, uv_strerror(rc));
    }
    s->listening = 1;
    return 0;
}

int wm_httpd_address(wm_httpd_t *s, char *host, size_t hostlen, int *port)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    if (!s->listening)
        return UV_ENOTCONN;
    int rc = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len);
    if (rc < 0)
        return rc;
    if (ss.ss_family == AF_INET) {
        uv_ip4_name((struct sockaddr_in *)&ss, host, hostlen);
        *port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    } else {
        uv_ip6_name((struct sockaddr_in6 *)&ss, host, hostlen);
        *port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return 0;
}

static void srv_handle_close_cb(uv_handle_t *h)
{
    wm_httpd_t *s = h->data;
    s->handles--;
    if (!s->freeing)
        srv_check_stopped(s);
    srv_maybe_free(s);
}

static void report_cb(uv_timer_t *t)
{
    wm_httpd_t *s = t->data;
    if (!s->stopping || s->stop_reported || s->nconns > 0 || s->listening || s->freeing)
        return;
    if (s->handles > 1)
        return;                       /* the listener is still closing */
    s->stop_reported = 1;
    if (s->stopped_cb != NULL)
        s->stopped_cb(s, s->stopped_ud);
}

/* Schedules the stop report once nothing is left; it runs from the loop,
 * never inside the call that closed the last connection. */
static void srv_check_stopped(wm_httpd_t *s)
{
    if (!s->stopping || s->stop_reported || s->freeing || s->nconns > 0)
        return;
    uv_timer_start(&s->timer, report_cb, 0, 0);
}

static void drain_timeout_cb(uv_timer_t *t)
{
    wm_httpd_t *s = t->data;
    while (s->conns != NULL)
        conn_close(s->conns);
    srv_check_stopped(s);
}

static void conn_drain(conn_t *c)
{
    c->draining = 1;
    c->no_more = 1;
    conn_stop_reading(c);
    wm_free(c->held);
    c->held = NULL;
    c->held_len = 0;
    conn_drop_partial(c);
    if (c->lingering)
        return;
    if (c->head == NULL && !c->writing)
        conn_close(c);
    else
        conn_update_timer(c);
}

void wm_httpd_stop(wm_httpd_t *s, double drain_timeout, wm_httpd_stopped_cb cb, void *ud)
{
    if (s->stopping || s->freeing)
        return;
    s->stopping = 1;
    s->stopped_cb = cb;
    s->stopped_ud = ud;
    if (s->listening) {
        s->listening = 0;
        uv_close((uv_handle_t *)&s->listener, srv_handle_close_cb);
    }
    conn_t *c = s->conns;
    while (c != NULL) {
        conn_t *next = c->next;
        conn_drain(c);
        c = next;
    }
    if (s->nconns == 0) {
        srv_check_stopped(s);
        return;
    }
    uint64_t ms = drain_timeout > 0 ? (uint64_t)(drain_timeout * 1000) : 0;
    uv_timer_start(&s->timer, drain_timeout_cb, ms, 0);
}

static void srv_maybe_free(wm_httpd_t *s)
{
    if (!s->freeing || s->handles > 0 || s->nconn_structs > 0)
        return;
    while (s->pool != NULL) {
        wm_httpd_req_t *r = s->pool;
        s->pool = r->next;
        req_destroy(r);
    }
    wm_buf_free(&s->scratch);
    for (int i = 0; i < s->conf.nupload_paths; i++)
        wm_free(s->upload_paths[i]);
    wm_free(s->upload_paths);
    wm_free(s);
}

void wm_httpd_free(wm_httpd_t *s)
{
    if (s->freeing)
        return;
    s->freeing = 1;
    s->stopped_cb = NULL;
    if (s->listening) {
        s->listening = 0;
        uv_close((uv_handle_t *)&s->listener, srv_handle_close_cb);
    }
    while (s->conns != NULL)
        conn_close(s->conns);
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, srv_handle_close_cb);
}

void wm_httpd_stats(wm_httpd_t *s, wm_httpd_stats_t *out)
{
    *out = s->st;
    out->connections = (unsigned long)s->nconns;
}

/* ---- request accessors ---- */

void wm_httpd_req_info(const wm_httpd_req_t *r, wm_httpd_req_info_t *out)
{
    const char *d = r->data.data ? r->data.data : "";
    out->method = http_method_str((enum http_method)r->method);
    out->path = d + r->path_off;
    out->path_len = r->path_len;
    out->query = r->query_len ? d + r->query_off : "";
    out->query_len = r->query_len;
    out->body = r->body_len ? d + r->body_off : "";
    out->body_len = r->body_len;
    out->http_major = r->http_major;
    out->http_minor = r->http_minor;
    out->nheaders = r->nhdrs;
    out->remote_addr = r->conn->remote;
    out->id = r->id;
}

int wm_httpd_req_header(const wm_httpd_req_t *r, int i, const char **name, size_t *name_len,
                        const char **value, size_t *value_len)
{
    if (i < 0 || i >= r->nhdrs)
        return WM_EINVAL;
    const struct hdr *h = &r->hdrs[i];
    *name = r->data.data + h->name_off;
    *name_len = h->name_len;
    *value = r->data.data + h->val_off;
    *value_len = h->val_len;
    return 0;
}

/* ---- virtual connections ---- */

wm_httpd_vconn_t *wm_httpd_virtual_open(wm_httpd_t *s, wm_httpd_vwrite_fn write, void *ud)
{
    conn_t *c = wm_calloc(1, sizeof(*c));
    c->srv = s;
    c->virt = 1;
    c->vwrite = write;
    c->vud = ud;
    s->nconn_structs++;
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    strcpy(c->remote, "0.0.0.0");
    c->next = s->conns;
    if (s->conns != NULL)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    s->st.accepted++;
    c->opened = c->last_io = c->last_out = uv_now(s->loop);
    return c;
}

int wm_httpd_virtual_feed(wm_httpd_vconn_t *c, const char *data, size_t len)
{
    if (c->closed || c->lingering)
        return -1;
    if (c->no_more)
        return c->closed ? -1 : 0;
    if (c->paused) {
        char *h = wm_malloc(c->held_len + len + 1);
        if (c->held_len > 0)
            memcpy(h, c->held, c->held_len);
        memcpy(h + c->held_len, data, len);
        wm_free(c->held);
        c->held = h;
        c->held_len += len;
        conn_maybe_resume(c);
    } else if (len > 0) {
        conn_feed(c, data, len);
    }
    if (c->closed)
        return -1;
    return c->paused ? 0 : 1;
}

void wm_httpd_virtual_close(wm_httpd_vconn_t *c)
{
    c->owner_gone = 1;
    if (!c->closed)
        conn_close(c);
    else
        conn_maybe_free(c);
}
