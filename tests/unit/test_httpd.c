/* Unit tests of core/httpd.c's request parsing and deadlines.
 *
 * Parsing runs on virtual connections (no socket): each input is fed whole,
 * then again one byte per feed (so every check that spans two reads is
 * exercised too), and the bytes the server writes back are compared. The
 * deadlines need real time, so those tests talk to a listening server over
 * a loopback socket while the test drives the loop. */
#include "test.h"
#include "httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- virtual connections ---- */

struct vrun {
    wm_buf_t out;         /* everything the server wrote */
    wm_buf_t bodies;      /* "[body]" per request handed to the handler */
    int requests;
};

static void vwrite(void *ud, const char *data, size_t len)
{
    struct vrun *v = ud;
    wm_buf_append(&v->out, data, len);
}

/* Answers every request at once with 200 and its body echoed. */
static void echo_cb(wm_httpd_req_t *r, void *ud)
{
    struct vrun *v = ud;
    wm_httpd_req_info_t in;
    wm_httpd_req_info(r, &in);
    v->requests++;
    wm_buf_puts(&v->bodies, "[");
    wm_buf_append(&v->bodies, in.body, in.body_len);
    wm_buf_puts(&v->bodies, "]");
    wm_httpd_respond(r, 200, "text/plain", in.body, in.body_len);
}

/* Feeds `req` to a fresh server's virtual connection (configured by `conf`,
 * NULL: the defaults), whole or one byte at a time, and leaves what came
 * back in `v`. */
static void vrun_conf(struct vrun *v, const wm_httpd_conf_t *conf, const char *req, size_t len, int bytewise)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    wm_buf_init(&v->out);
    wm_buf_init(&v->bodies);
    v->requests = 0;
    wm_httpd_t *s = wm_httpd_new(&loop, conf, echo_cb, v);
    wm_httpd_vconn_t *c = wm_httpd_virtual_open(s, vwrite, v);
    if (bytewise) {
        for (size_t i = 0; i < len; i++) {
            if (wm_httpd_virtual_feed(c, req + i, 1) < 0)
                break;
        }
    } else {
        wm_httpd_virtual_feed(c, req, len);
    }
    wm_httpd_virtual_close(c);
    wm_httpd_free(s);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    if (v->out.data == NULL)
        wm_buf_puts(&v->out, "");
    if (v->bodies.data == NULL)
        wm_buf_puts(&v->bodies, "");
}

static void vrun(struct vrun *v, const char *req, size_t len, int bytewise)
{
    vrun_conf(v, NULL, req, len, bytewise);
}

static void vrun_free(struct vrun *v)
{
    wm_buf_free(&v->out);
    wm_buf_free(&v->bodies);
}

/* The status of each answer in `out`, space-separated ("200 400"). */
static void statuses(const char *out, char *dst, size_t cap)
{
    size_t n = 0;
    dst[0] = '\0';
    for (const char *p = strstr(out, "HTTP/1.1 "); p != NULL; p = strstr(p + 1, "HTTP/1.1 ")) {
        if (n + 5 >= cap)
            break;
        if (n > 0)
            dst[n++] = ' ';
        memcpy(dst + n, p + 9, 3);
        n += 3;
        dst[n] = '\0';
    }
}

/* Runs `req` both ways and checks the statuses (and the bodies the handler
 * saw, when `bodies` is not NULL). Returns 0 or 1 like a test. */
static int expect(const char *req, size_t len, const char *want, const char *bodies, int line)
{
    for (int bytewise = 0; bytewise <= 1; bytewise++) {
        struct vrun v;
        char got[256];
        vrun(&v, req, len, bytewise);
        statuses(v.out.data, got, sizeof(got));
        int ok = strcmp(got, want) == 0 && (bodies == NULL || strcmp(v.bodies.data, bodies) == 0);
        if (!ok) {
            fprintf(stderr, "line %d (%s): statuses \"%s\", want \"%s\"; bodies \"%s\"%s%s\n", line,
                    bytewise ? "byte by byte" : "whole", got, want, v.bodies.data,
                    bodies ? ", want " : "", bodies ? bodies : "");
            vrun_free(&v);
            return 1;
        }
        vrun_free(&v);
    }
    return 0;
}

#define EXPECT(req, want, bodies) \
    do { \
        if (expect((req), sizeof(req) - 1, (want), (bodies), __LINE__) != 0) \
            return 1; \
    } while (0)

#define CHUNKED "POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"

/* RFC 9112 5.1: whitespace between a field name and the colon is a 400, for
 * every field (and a trailer), not only Transfer-Encoding. */
TEST_IMPL(httpd_space_before_colon)
{
    EXPECT(CHUNKED "3\r\nabc\r\n0\r\n\r\n", "200", "[abc]");
    EXPECT("POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
           "400", "");
    EXPECT("GET / HTTP/1.1\r\nHost : x\r\n\r\n", "400", "");
    EXPECT("GET / HTTP/1.1\r\nHost: x\r\nX-A  : 1\r\n\r\n", "400", "");
    EXPECT("GET / HTTP/1.1\r\nHost: x\r\nX-A\t: 1\r\n\r\n", "400", "");
    EXPECT("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length : 3\r\n\r\nabc", "400", "");
    EXPECT(CHUNKED "3\r\nabc\r\n0\r\nX-Trailer : 1\r\n\r\n", "400", "");
    /* A valid trailer still passes. */
    EXPECT(CHUNKED "3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n", "200", "[abc]");
    return 0;
}

/* Chunk data must be followed by CRLF; http-parser skips any two bytes. */
TEST_IMPL(httpd_chunk_needs_crlf)
{
    EXPECT(CHUNKED "3\r\nabcXX0\r\n\r\n", "400", "");
    EXPECT(CHUNKED "3\r\nabc\n0\r\n\r\n", "400", "");
    EXPECT(CHUNKED "3\r\nabc\rX0\r\n\r\n", "400", "");
    EXPECT(CHUNKED "3\r\nabc0\r\n\r\n", "400", "");
    /* The same bytes after a chunk-size line and at the end of the message. */
    EXPECT(CHUNKED "3\rXabc\r\n0\r\n\r\n", "400", "");
    EXPECT(CHUNKED "3\r\nabc\r\n0\r\n\rX", "400", "");
    EXPECT(CHUNKED "2\r\nab\r\n1\r\nc\r\n0\r\n\r\n", "200", "[abc]");
    return 0;
}

/* Every CR outside body data must be followed by LF; a line starting with
 * whitespace (obs-fold, or before the first field) is refused. */
TEST_IMPL(httpd_line_endings)
{
    EXPECT("GET / HTTP/1.1\r\nHost: x\r\n\rX", "400", "");
    EXPECT("GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n", "400", "");
    EXPECT("GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\tfolded\r\n\r\n", "400", "");
    EXPECT("GET / HTTP/1.1\r\n Host: x\r\n\r\n", "400", "");
    /* Bare LF line ends stay accepted (RFC 9112 2.2 allows it). */
    EXPECT("GET / HTTP/1.1\nHost: x\n\n", "200", "[]");
    return 0;
}

/* Inside body data any byte goes, CR, LF and spaces included, however the
 * bytes are split between reads. */
TEST_IMPL(httpd_body_bytes_pass)
{
    EXPECT("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\n\r \n\t\rX\n ", "200",
           "[\r \n\t\rX\n ]");
    EXPECT(CHUNKED "4\r\n\r \rX\r\n2\r\n\n\t\r\n0\r\n\r\n", "200", "[\r \rX\n\t]");
    EXPECT(CHUNKED "1\r\n\r\r\n0\r\n\r\n", "200", "[\r]");
    /* A body ending in CR, then a pipelined request. */
    EXPECT("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n\r"
           "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
           "200 200", "[\r][]");
    return 0;
}

/* A bad request after good pipelined ones: those are answered, in order,
 * then the 400. */
TEST_IMPL(httpd_bad_after_good)
{
    EXPECT("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
           "POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok"
           "GET /b HTTP/1.1\r\nHost: x\r\nX-B : 1\r\n\r\n",
           "200 200 400", "[][ok]");
    return 0;
}

/* The status of `body_len` bytes of body POSTed to `path` (Content-Length,
 * or chunked in 64 KiB chunks) to a server with a 1 MiB body limit and a
 * 16 MiB one for the upload prefixes "/portal/support/" and "/up". */
static int upload_status(const char *path, size_t body_len, int chunked, int *requests)
{
    static const char *const prefixes[] = { "/portal/support/", "/up" };
    wm_httpd_conf_t conf;
    wm_httpd_conf_default(&conf);
    conf.max_body_bytes = 1u << 20;
    conf.upload_paths = prefixes;
    conf.nupload_paths = 2;
    wm_buf_t req;
    wm_buf_init(&req);
    char head[256];
    if (chunked) {
        snprintf(head, sizeof(head), "POST %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", path);
        wm_buf_puts(&req, head);
        char *chunk = wm_malloc(65536);
        memset(chunk, 'u', 65536);
        for (size_t left = body_len; left > 0;) {
            size_t n = left < 65536 ? left : 65536;
            snprintf(head, sizeof(head), "%zx\r\n", n);
            wm_buf_puts(&req, head);
            wm_buf_append(&req, chunk, n);
            wm_buf_puts(&req, "\r\n");
            left -= n;
        }
        wm_buf_puts(&req, "0\r\n\r\n");
        wm_free(chunk);
    } else {
        snprintf(head, sizeof(head), "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", path, body_len);
        wm_buf_puts(&req, head);
        char *body = wm_malloc(body_len + 1);
        memset(body, 'u', body_len);
        wm_buf_append(&req, body, body_len);
        wm_free(body);
    }
    struct vrun v;
    vrun_conf(&v, &conf, req.data, req.len, 0);
    char got[16];
    statuses(v.out.data, got, sizeof(got));
    *requests = v.requests;
    vrun_free(&v);
    wm_buf_free(&req);
    return atoi(got);
}

/* Upload path prefixes take bodies up to upload_max_body_bytes; every other
 * path keeps max_body_bytes, with Content-Length (refused before any body
 * byte) and chunked bodies alike. */
TEST_IMPL(httpd_upload_paths_body_limit)
{
    static const struct {
        const char *path;
        size_t len;
        int chunked, want, handled;
    } cases[] = {
        { "/portal/support/new", 2u << 20, 0, 200, 1 },
        { "/portal/support/new", 2u << 20, 1, 200, 1 },
        { "/upload/x?y=1", 2u << 20, 0, 200, 1 },
        { "/portal/other", 2u << 20, 0, 413, 0 },
        { "/portal/other", 2u << 20, 1, 413, 0 },
        { "/", 2u << 20, 0, 413, 0 },
        { "/portal/support", 2u << 20, 0, 200, 1 },              /* the prefix without its "/" */
        { "/portal/supportx", 2u << 20, 0, 413, 0 },
        { "/portal/suppor", 2u << 20, 0, 413, 0 },
        { "/u", 2u << 20, 0, 413, 0 },
        { "/portal/support/../../admin/x", 2u << 20, 0, 413, 0 }, /* a ".." segment leaves the prefix */
        { "/portal/support/..", 2u << 20, 1, 413, 0 },
        { "/portal/support/..x", 2u << 20, 0, 200, 1 },          /* not a ".." segment */
        { "/portal/other", 1u << 20, 0, 200, 1 },                /* at the limit */
        { "/portal/support/new", (16u << 20) + 1, 0, 413, 0 },
        { "/portal/support/new", (16u << 20) + 1, 1, 413, 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int requests = -1;
        int got = upload_status(cases[i].path, cases[i].len, cases[i].chunked, &requests);
        if (got != cases[i].want || requests != cases[i].handled) {
            fprintf(stderr, "%s %zu bytes%s: status %d (handled %d), want %d\n", cases[i].path, cases[i].len,
                    cases[i].chunked ? " chunked" : "", got, requests, cases[i].want);
            return 1;
        }
    }
    return 0;
}

/* ---- deadlines over a real socket ---- */

struct srun {
    uv_loop_t loop;
    wm_httpd_t *srv;
    int fd;
    const char *head;          /* sent at once */
    const char *trickle;       /* then one byte per tick */
    size_t sent;
    uv_timer_t tick;
    wm_buf_t in;               /* what the client read */
    int eof;
    uint64_t t0, t_end;
    int handled;
};

static void srun_cb(wm_httpd_req_t *r, void *ud)
{
    struct srun *t = ud;
    t->handled++;
    wm_httpd_respond(r, 200, "text/plain", "ok", 2);
}

static void srun_read(struct srun *t)
{
    char buf[4096];
    for (;;) {
        ssize_t n = recv(t->fd, buf, sizeof(buf), 0);
        if (n > 0) {
            wm_buf_append(&t->in, buf, (size_t)n);
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
            if (!t->eof)
                t->t_end = uv_now(&t->loop);
            t->eof = 1;
        }
        return;
    }
}

static void tick_cb(uv_timer_t *h)
{
    struct srun *t = h->data;
    srun_read(t);
    if (t->eof) {
        uv_timer_stop(h);
        return;
    }
    if (t->trickle[t->sent] != '\0') {
        if (send(t->fd, t->trickle + t->sent, 1, MSG_NOSIGNAL) == 1)
            t->sent++;
    }
}

/* Sends `head`, then one byte of `trickle` every `every_ms` until the
 * server closes (or `limit_ms` pass); returns the ms from the start to the
 * close, or -1 on a set-up failure. What came back is in t->in. */
static long srun(struct srun *t, const wm_httpd_conf_t *conf, const char *head, const char *trickle,
                 unsigned every_ms, unsigned limit_ms)
{
    memset(t, 0, sizeof(*t));
    wm_buf_init(&t->in);
    uv_loop_init(&t->loop);
    t->head = head;
    t->trickle = trickle;
    t->srv = wm_httpd_new(&t->loop, conf, srun_cb, t);
    wm_err_t err;
    char host[64];
    int port;
    if (wm_httpd_listen(t->srv, "127.0.0.1", 0, 0, &err) != 0 ||
        wm_httpd_address(t->srv, host, sizeof(host), &port) != 0)
        return -1;
    t->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(t->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        return -1;
    fcntl(t->fd, F_SETFL, fcntl(t->fd, F_GETFL) | O_NONBLOCK);
    uv_update_time(&t->loop);
    t->t0 = uv_now(&t->loop);
    send(t->fd, head, strlen(head), MSG_NOSIGNAL);
    uv_timer_init(&t->loop, &t->tick);
    t->tick.data = t;
    uv_timer_start(&t->tick, tick_cb, every_ms, every_ms);
    while (!t->eof && uv_now(&t->loop) - t->t0 < limit_ms)
        uv_run(&t->loop, UV_RUN_ONCE);
    uv_timer_stop(&t->tick);
    uv_close((uv_handle_t *)&t->tick, NULL);
    close(t->fd);
    wm_httpd_free(t->srv);
    uv_run(&t->loop, UV_RUN_DEFAULT);
    uv_loop_close(&t->loop);
    if (t->in.data == NULL)
        wm_buf_puts(&t->in, "");
    return t->eof ? (long)(t->t_end - t->t0) : (long)limit_ms;
}

static const char DRIP[] = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

/* A body trickled faster than the idle timeout still has to be complete
 * within body_timeout of the last header: 408, then close. */
TEST_IMPL(httpd_body_deadline)
{
    wm_httpd_conf_t conf;
    wm_httpd_conf_default(&conf);
    conf.idle_timeout = 5;
    conf.body_timeout = 0.6;
    conf.min_body_rate = 0;
    struct srun t;
    long ms = srun(&t, &conf, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n", DRIP, 50,
                   4000);
    ASSERT(ms >= 0);
    ASSERT(strncmp(t.in.data, "HTTP/1.1 408 ", 13) == 0);
    ASSERT(strstr(t.in.data, "Connection: close\r\n") != NULL);
    ASSERT_EQ_INT(t.handled, 0);
    ASSERT(ms >= 550 && ms < 2000);
    ASSERT(t.sent >= 5);      /* bytes kept coming: an idle timer alone would never fire */
    wm_buf_free(&t.in);
    return 0;
}

/* Under the minimum rate once the grace is over: 408 long before the body
 * timeout. */
TEST_IMPL(httpd_body_min_rate)
{
    wm_httpd_conf_t conf;
    wm_httpd_conf_default(&conf);
    conf.idle_timeout = 5;
    conf.body_timeout = 30;
    conf.min_body_rate = 100;           /* bytes/s; the client sends 10 */
    conf.body_rate_grace = 0.5;
    struct srun t;
    long ms = srun(&t, &conf, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n", DRIP, 100,
                   4000);
    ASSERT(ms >= 0);
    ASSERT(strncmp(t.in.data, "HTTP/1.1 408 ", 13) == 0);
    ASSERT(ms >= 450 && ms < 2000);
    wm_buf_free(&t.in);
    /* A body at the rate passes: 2 bytes every 10 ms is 200 bytes/s. */
    conf.min_body_rate = 100;
    ms = srun(&t, &conf, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 60\r\nConnection: close\r\n\r\n",
              DRIP, 5, 4000);
    ASSERT(ms >= 0);
    ASSERT(strncmp(t.in.data, "HTTP/1.1 200 ", 13) == 0);
    ASSERT_EQ_INT(t.handled, 1);
    wm_buf_free(&t.in);
    return 0;
}

/* Header bytes trickled in do not extend header_timeout. */
TEST_IMPL(httpd_header_deadline)
{
    wm_httpd_conf_t conf;
    wm_httpd_conf_default(&conf);
    conf.header_timeout = 0.5;
    conf.idle_timeout = 5;
    struct srun t;
    long ms = srun(&t, &conf, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ", DRIP, 50, 4000);
    ASSERT(ms >= 0);
    ASSERT(strncmp(t.in.data, "HTTP/1.1 408 ", 13) == 0);
    ASSERT(ms >= 450 && ms < 2000);
    ASSERT_EQ_INT(t.handled, 0);
    wm_buf_free(&t.in);
    return 0;
}

/* Empty lines trickled between keep-alive requests do not extend the idle
 * timeout either. */
TEST_IMPL(httpd_idle_deadline)
{
    wm_httpd_conf_t conf;
    wm_httpd_conf_default(&conf);
    conf.idle_timeout = 0.5;
    struct srun t;
    long ms = srun(&t, &conf, "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                   "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n", 50, 4000);
    ASSERT(ms >= 0);
    ASSERT(strncmp(t.in.data, "HTTP/1.1 200 ", 13) == 0);
    ASSERT(ms >= 450 && ms < 2000);
    ASSERT_EQ_INT(t.handled, 1);
    wm_buf_free(&t.in);
    return 0;
}
