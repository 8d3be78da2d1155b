/* httpc.c unit provides the outbound HTTP client declared in httpc.h: the
 * libcurl multi handle driven by the libuv loop.
 *
 * How it is driven (curl's docs/examples/multi-uv.c):
 *   - CURLMOPT_SOCKETFUNCTION: curl says which socket it wants to wait on
 *     and for what; we keep one uv_poll per socket, found again through
 *     curl_multi_assign, and close it on CURL_POLL_REMOVE.
 *   - CURLMOPT_TIMERFUNCTION: curl asks for one timeout; we keep one
 *     uv_timer. A 0 ms timeout becomes 1 ms, so curl_multi_socket_action
 *     never runs inside curl's own callback.
 *   - After each socket_action, curl_multi_info_read tells which transfers
 *     ended; CURLINFO_PRIVATE leads back to the request. Finished requests
 *     are taken off the multi handle first and their callbacks run after the
 *     info_read loop, so a callback (which resumes Lua) never runs while
 *     curl's message queue is being walked.
 *
 * A request is in one of three states: NEW (not started), RUNNING (its easy
 * handle is on the multi handle, linked on C.running), DONE (taken off the
 * multi handle, waiting on C.done for its callback), FINISHED (callback
 * ran).
 *
 * IMAP requests share the multi handle (one mailbox session reused by each
 * poll's search, fetches and stores); their answer is read like an HTTP
 * body. SMTP has its own client (smtp.c): curl's cannot pipeline. */
#include "httpc.h"
#include "log.h"
#include "vm.h"

#include <curl/curl.h>
#include <ctype.h>
#include <sodium.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_MAX_BODY (10u << 20)
#define DEFAULT_MAX_CONNECTIONS 32
#define DEFAULT_TIMEOUT 30.0
#define EASY_POOL_MAX 16

enum { REQ_NEW, REQ_RUNNING, REQ_DONE, REQ_FINISHED };

struct wm_httpc_req_s {
    CURL *easy;
    char *method, *url;
    struct curl_slist *headers;
    int has_expect;           /* the caller set Expect: itself */
    char *body;
    size_t body_len;
    int has_body;
    double timeout;           /* 0: client default */
    int follow;
    size_t max_body;          /* 0: client default */
    size_t cap;               /* the cap in force while running */
    char *aws_sigv4;          /* CURLOPT_AWS_SIGV4 spec, or NULL */
    char *aws_key_id, *aws_secret;
    size_t uploaded;          /* CURLINFO_SIZE_UPLOAD_T when it ended */

    wm_httpc_done_cb cb;
    void *ud;
    int state;
    struct wm_httpc_req_s *next, *prev;

    wm_buf_t resp_body;
    wm_buf_t head;            /* the final response's header lines, raw */
    int too_large;
    wm_httpc_outcome_t outcome;
    long status;
    char *eff_url;
    char errbuf[CURL_ERROR_SIZE];

    char *ca_file;

    /* IMAP only */
    int imap;
    char *username, *password;
    char *imap_command;       /* CURLOPT_CUSTOMREQUEST, or NULL: the URL's fetch */
};

struct sock_ctx {
    uv_poll_t poll;
    curl_socket_t fd;
    struct sock_ctx *next, *prev;
};

static struct {
    int inited, closing, close_registered;
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    size_t max_body;
    long max_connections;
    double timeout;
    char *user_agent;
    CURL *pool[EASY_POOL_MAX];
    int npool;
    wm_httpc_req_t *running;          /* doubly linked */
    wm_httpc_req_t *done_head, *done_tail;
    struct sock_ctx *socks;
    int active;
} C;

/* ---- lists ---- */

static void running_link(wm_httpc_req_t *r)
{
    r->prev = NULL;
    r->next = C.running;
    if (C.running != NULL)
        C.running->prev = r;
    C.running = r;
}

static void running_unlink(wm_httpc_req_t *r)
{
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        C.running = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    r->next = r->prev = NULL;
}

static void done_push(wm_httpc_req_t *r)
{
    r->next = NULL;
    r->prev = C.done_tail;
    if (C.done_tail != NULL)
        C.done_tail->next = r;
    else
        C.done_head = r;
    C.done_tail = r;
}

static void done_unlink(wm_httpc_req_t *r)
{
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        C.done_head = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    else
        C.done_tail = r->prev;
    r->next = r->prev = NULL;
}

/* ---- easy handle pool ---- */

static CURL *easy_get(void)
{
    if (C.npool > 0)
        return C.pool[--C.npool];
    return curl_easy_init();
}

static void easy_put(CURL *e)
{
    if (e == NULL)
        return;
    if (!C.closing && C.npool < EASY_POOL_MAX) {
        curl_easy_reset(e);
        C.pool[C.npool++] = e;
    } else {
        curl_easy_cleanup(e);
    }
}

/* ---- requests ---- */

wm_httpc_req_t *wm_httpc_req_new(const char *method, const char *url)
{
    wm_httpc_req_t *r = wm_calloc(1, sizeof(*r));
    r->method = wm_strdup(method);
    r->url = wm_strdup(url);
    wm_buf_init(&r->resp_body);
    wm_buf_init(&r->head);
    r->state = REQ_NEW;
    return r;
}

static int header_char_ok(unsigned char c)
{
    return c != '\r' && c != '\n' && c != '\0';
}

int wm_httpc_req_header(wm_httpc_req_t *r, const char *name, size_t nlen,
                        const char *value, size_t vlen)
{
    if (nlen == 0)
        return WM_EINVAL;
    for (size_t i = 0; i < nlen; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!header_char_ok(c) || c == ':' || c == ' ' || c == '\t')
            return WM_EINVAL;
    }
    for (size_t i = 0; i < vlen; i++) {
        if (!header_char_ok((unsigned char)value[i]))
            return WM_EINVAL;
    }
    /* curl reads "Name:" as "remove this header" and "Name;" as "send it
     * empty". */
    wm_buf_t line;
    wm_buf_init(&line);
    wm_buf_append(&line, name, nlen);
    if (vlen == 0) {
        wm_buf_puts(&line, ";");
    } else {
        wm_buf_puts(&line, ": ");
        wm_buf_append(&line, value, vlen);
    }
    struct curl_slist *l = curl_slist_append(r->headers, line.data);
    wm_buf_free(&line);
    if (l == NULL)
        return WM_ENOMEM;
    r->headers = l;
    if (nlen == 6 && strncasecmp(name, "expect", 6) == 0)
        r->has_expect = 1;
    return 0;
}

void wm_httpc_req_body(wm_httpc_req_t *r, const char *body, size_t len)
{
    wm_free(r->body);
    r->body = wm_strndup(body, len);
    r->body_len = len;
    r->has_body = 1;
}

void wm_httpc_req_timeout(wm_httpc_req_t *r, double seconds)
{
    r->timeout = seconds > 0 ? seconds : 0;
}

void wm_httpc_req_follow(wm_httpc_req_t *r, int follow)
{
    r->follow = follow != 0;
}

void wm_httpc_req_max_body(wm_httpc_req_t *r, size_t max)
{
    r->max_body = max;
}

void wm_httpc_req_ca_file(wm_httpc_req_t *r, const char *path)
{
    wm_free(r->ca_file);
    r->ca_file = path != NULL && *path != '\0' ? wm_strdup(path) : NULL;
}

/* The spec goes to curl as it is: letters, digits, '-', '_' and at most
 * three ':' between non-empty parts. */
static int sigv4_spec_ok(const char *spec)
{
    int colons = 0;
    size_t part = 0;
    for (const char *p = spec; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == ':') {
            if (part == 0 || ++colons > 3)
                return 0;
            part = 0;
        } else if (isalnum(c) || c == '-' || c == '_') {
            part++;
        } else {
            return 0;
        }
    }
    return part > 0;
}

int wm_httpc_req_aws_sigv4(wm_httpc_req_t *r, const char *spec, const char *key_id,
                           const char *secret)
{
    if (spec == NULL || !sigv4_spec_ok(spec) || key_id == NULL || *key_id == '\0'
        || secret == NULL || *secret == '\0')
        return WM_EINVAL;
    wm_free(r->aws_sigv4);
    wm_free_secret(r->aws_key_id);
    wm_free_secret(r->aws_secret);
    r->aws_sigv4 = wm_strdup(spec);
    r->aws_key_id = wm_strdup(key_id);
    r->aws_secret = wm_strdup(secret);
    return 0;
}

/* ---- IMAP requests ---- */

void wm_httpc_req_login(wm_httpc_req_t *r, const char *username, const char *password)
{
    wm_free(r->username);
    wm_free(r->password);
    r->username = username != NULL && *username != '\0' ? wm_strdup(username) : NULL;
    r->password = password != NULL ? wm_strdup(password) : NULL;
}


wm_httpc_req_t *wm_httpc_imap_new(const char *url, const char *command)
{
    if (command != NULL) {
        if (*command == '\0')
            return NULL;
        for (const char *c = command; *c != '\0'; c++) {
            if ((unsigned char)*c < ' ' || *c == 0x7f)
                return NULL;
        }
    }
    wm_httpc_req_t *r = wm_httpc_req_new("IMAP", url);
    r->imap = 1;
    r->imap_command = command != NULL ? wm_strdup(command) : NULL;
    return r;
}

void wm_httpc_req_free(wm_httpc_req_t *r)
{
    if (r == NULL)
        return;
    if (r->easy != NULL)
        easy_put(r->easy);
    curl_slist_free_all(r->headers);
    wm_free(r->imap_command);
    wm_free(r->username);
    wm_free(r->password);
    wm_free(r->ca_file);
    wm_free(r->aws_sigv4);
    wm_free_secret(r->aws_key_id);
    wm_free_secret(r->aws_secret);
    wm_free(r->method);
    wm_free(r->url);
    wm_free(r->body);
    wm_free(r->eff_url);
    wm_buf_free(&r->resp_body);
    wm_buf_free(&r->head);
    wm_free(r);
}

wm_httpc_outcome_t wm_httpc_req_outcome(const wm_httpc_req_t *r) { return r->outcome; }
const char *wm_httpc_req_error(const wm_httpc_req_t *r) { return r->errbuf; }
long wm_httpc_req_status(const wm_httpc_req_t *r) { return r->status; }
const char *wm_httpc_req_url(const wm_httpc_req_t *r) { return r->eff_url ? r->eff_url : r->url; }
wm_buf_t *wm_httpc_req_body_buf(wm_httpc_req_t *r) { return &r->resp_body; }
size_t wm_httpc_req_body_len(const wm_httpc_req_t *r) { return r->has_body ? r->body_len : 0; }

wm_httpc_data_t wm_httpc_req_body_sent(const wm_httpc_req_t *r)
{
    if (r->uploaded == 0)
        return WM_HTTPC_DATA_NONE;
    return r->uploaded >= r->body_len ? WM_HTTPC_DATA_ALL : WM_HTTPC_DATA_STARTED;
}
int wm_httpc_active(void) { return C.active; }

const char *wm_httpc_data_token(wm_httpc_data_t d)
{
    switch (d) {
    case WM_HTTPC_DATA_STARTED: return "started";
    case WM_HTTPC_DATA_ALL: return "all";
    default: return "none";
    }
}

const char *wm_httpc_outcome_token(wm_httpc_outcome_t o)
{
    switch (o) {
    case WM_HTTPC_OK: return "ok";
    case WM_HTTPC_TIMEOUT: return "timeout";
    case WM_HTTPC_CONNECT: return "connect";
    case WM_HTTPC_DNS: return "dns";
    case WM_HTTPC_TLS: return "tls";
    case WM_HTTPC_TOO_LARGE: return "too_large";
    case WM_HTTPC_PROTOCOL: return "protocol";
    case WM_HTTPC_AUTH: return "auth";
    default: return "error";
    }
}

/* Splits the raw header block into fields. Lines starting with a space or a
 * tab continue the previous field (obsolete folding), joined by one space. */
void wm_httpc_req_each_header(const wm_httpc_req_t *r,
                              void (*fn)(const char *name, size_t nlen,
                                         const char *value, size_t vlen, void *ud),
                              void *ud)
{
    const char *p = r->head.data, *end = p + r->head.len;
    wm_buf_t name, value;
    wm_buf_init(&name);
    wm_buf_init(&value);
    int have = 0;
    while (p != NULL && p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *next = eol ? eol + 1 : end;
        const char *le = eol ? eol : end;
        if (le > p && le[-1] == '\r')
            le--;
        if (p < le && (*p == ' ' || *p == '\t')) {
            if (have) {
                while (p < le && (*p == ' ' || *p == '\t'))
                    p++;
                wm_buf_puts(&value, " ");
                wm_buf_append(&value, p, (size_t)(le - p));
            }
            p = next;
            continue;
        }
        if (have) {
            fn(name.data, name.len, value.data, value.len, ud);
            have = 0;
        }
        const char *colon = memchr(p, ':', (size_t)(le - p));
        if (colon != NULL && colon > p) {
            name.len = 0;
            value.len = 0;
            for (const char *q = p; q < colon; q++) {
                char c = (char)tolower((unsigned char)*q);
                wm_buf_append(&name, &c, 1);
            }
            const char *v = colon + 1, *ve = le;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            wm_buf_append(&value, v, (size_t)(ve - v));
            have = 1;
        }
        p = next;
    }
    if (have)
        fn(name.data, name.len, value.data, value.len, ud);
    wm_buf_free(&name);
    wm_buf_free(&value);
}

/* ---- curl callbacks (never run Lua) ---- */

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    wm_httpc_req_t *r = ud;
    size_t n = size * nmemb;
    if (r->resp_body.len + n > r->cap) {
        r->too_large = 1;
        return 0;   /* != n: curl stops with CURLE_WRITE_ERROR */
    }
    wm_buf_append(&r->resp_body, ptr, n);
    return n;
}

static size_t header_cb(char *ptr, size_t size, size_t nitems, void *ud)
{
    wm_httpc_req_t *r = ud;
    size_t n = size * nitems;
    /* Every response (a 100 Continue, each redirect hop) starts with its
     * status line: keep only the last response's fields. */
    if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
        r->head.len = 0;
        if (r->head.data != NULL)
            r->head.data[0] = '\0';
        return n;
    }
    if (n == 2 && ptr[0] == '\r' && ptr[1] == '\n')
        return n;
    if (n == 1 && ptr[0] == '\n')
        return n;
    if (r->head.len + n > r->cap) {
        r->too_large = 1;   /* a header flood counts against the same cap */
        return 0;
    }
    wm_buf_append(&r->head, ptr, n);
    return n;
}

static void sock_closed(uv_handle_t *h)
{
    wm_free(h->data);
}

static void sock_close(struct sock_ctx *sc)
{
    if (sc->prev != NULL)
        sc->prev->next = sc->next;
    else
        C.socks = sc->next;
    if (sc->next != NULL)
        sc->next->prev = sc->prev;
    uv_poll_stop(&sc->poll);
    uv_close((uv_handle_t *)&sc->poll, sock_closed);
}

static void process_done(void);

static void poll_cb(uv_poll_t *h, int status, int events)
{
    struct sock_ctx *sc = h->data;
    int flags = 0, running = 0;
    if (status < 0) {
        flags = CURL_CSELECT_ERR;
    } else {
        if (events & UV_READABLE)
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    /* `sc` may be closed inside socket_action (CURL_POLL_REMOVE): do not
     * touch it afterwards. */
    curl_multi_socket_action(C.multi, sc->fd, flags, &running);
    process_done();
}

static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct sock_ctx *sc = socketp;
    WM_UNUSED(easy);
    WM_UNUSED(userp);
    if (what == CURL_POLL_REMOVE) {
        if (sc != NULL) {
            sock_close(sc);
            if (!C.closing)
                curl_multi_assign(C.multi, s, NULL);
        }
        return 0;
    }
    if (sc == NULL) {
        sc = wm_calloc(1, sizeof(*sc));
        int rc = uv_poll_init_socket(C.loop, &sc->poll, s);
        if (rc < 0) {
            wm_log_error("httpc: cannot poll a socket", "error", uv_strerror(rc));
            wm_free(sc);
            return -1;
        }
        sc->fd = s;
        sc->poll.data = sc;
        sc->next = C.socks;
        if (C.socks != NULL)
            C.socks->prev = sc;
        C.socks = sc;
        curl_multi_assign(C.multi, s, sc);
    }
    int events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        events |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        events |= UV_WRITABLE;
    uv_poll_start(&sc->poll, events, poll_cb);
    return 0;
}

static void on_timeout(uv_timer_t *t)
{
    int running = 0;
    WM_UNUSED(t);
    curl_multi_socket_action(C.multi, CURL_SOCKET_TIMEOUT, 0, &running);
    process_done();
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    WM_UNUSED(multi);
    WM_UNUSED(userp);
    if (C.closing)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&C.timer);
    else
        uv_timer_start(&C.timer, on_timeout, timeout_ms == 0 ? 1 : (uint64_t)timeout_ms, 0);
    return 0;
}

static wm_httpc_outcome_t classify(wm_httpc_req_t *r, CURLcode rc)
{
    switch (rc) {
    case CURLE_OK:
        return WM_HTTPC_OK;
    case CURLE_OPERATION_TIMEDOUT:
        return WM_HTTPC_TIMEOUT;
    case CURLE_COULDNT_CONNECT:
        return WM_HTTPC_CONNECT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return WM_HTTPC_DNS;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
        return WM_HTTPC_TLS;
    case CURLE_FILESIZE_EXCEEDED:
        return WM_HTTPC_TOO_LARGE;
    case CURLE_LOGIN_DENIED:
    case CURLE_AUTH_ERROR:
        return WM_HTTPC_AUTH;
    case CURLE_WRITE_ERROR:
        return r->too_large ? WM_HTTPC_TOO_LARGE : WM_HTTPC_ERROR;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_QUOTE_ERROR:             /* an IMAP command answered NO or BAD */
    case CURLE_REMOTE_FILE_NOT_FOUND:   /* an IMAP mailbox or message that is not there */
    case CURLE_REMOTE_ACCESS_DENIED:
        return WM_HTTPC_PROTOCOL;
    default:
        return WM_HTTPC_ERROR;
    }
}

/* Takes a finished transfer off the multi handle and queues its callback. */
static void req_finish(wm_httpc_req_t *r, CURLcode rc)
{
    char *eff = NULL;
    long status = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(r->easy, CURLINFO_EFFECTIVE_URL, &eff);
    curl_off_t up = 0;
    if (curl_easy_getinfo(r->easy, CURLINFO_SIZE_UPLOAD_T, &up) == CURLE_OK && up > 0)
        r->uploaded = (size_t)up;
    r->status = status;
    if (eff != NULL)
        r->eff_url = wm_strdup(eff);
    r->outcome = classify(r, rc);
    if (r->outcome != WM_HTTPC_OK && r->errbuf[0] == '\0')
        snprintf(r->errbuf, sizeof(r->errbuf), "%s", curl_easy_strerror(rc));
    if (r->outcome == WM_HTTPC_OK)
        r->errbuf[0] = '\0';
    running_unlink(r);
    curl_multi_remove_handle(C.multi, r->easy);
    easy_put(r->easy);
    r->easy = NULL;
    C.active--;
    r->state = REQ_DONE;
    done_push(r);
}

static void process_done(void)
{
    CURLMsg *msg;
    int left = 0;
    while ((msg = curl_multi_info_read(C.multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *e = msg->easy_handle;
        CURLcode rc = msg->data.result;
        wm_httpc_req_t *r = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&r);
        if (r != NULL)
            req_finish(r, rc);   /* msg is invalid from here on */
    }
    /* Callbacks last: each may resume Lua, which may start or cancel other
     * requests (cancel takes a request off C.done). */
    while (C.done_head != NULL) {
        wm_httpc_req_t *r = C.done_head;
        done_unlink(r);
        r->state = REQ_FINISHED;
        r->cb(r, r->ud);
    }
}

/* ---- start / cancel ---- */

#define SETOPT(e, opt, val)                                              \
    do {                                                                 \
        CURLcode setopt_rc_ = curl_easy_setopt((e), (opt), (val));       \
        if (setopt_rc_ != CURLE_OK)                                      \
            return wm_err_set(err, WM_EINVAL, "httpc: %s: %s", #opt,     \
                              curl_easy_strerror(setopt_rc_));           \
    } while (0)

/* What every request sets, whatever its protocol: its URL and owner, the
 * protocols it may speak, verified TLS, the timeout and the body cap. */
static int configure_common(wm_httpc_req_t *r, CURL *e, const char *protocols, wm_err_t *err)
{
    double timeout = r->timeout > 0 ? r->timeout : C.timeout;
    r->cap = r->max_body > 0 ? r->max_body : C.max_body;
    SETOPT(e, CURLOPT_URL, r->url);
    SETOPT(e, CURLOPT_PRIVATE, (void *)r);
    SETOPT(e, CURLOPT_ERRORBUFFER, r->errbuf);
    SETOPT(e, CURLOPT_NOSIGNAL, 1L);
    SETOPT(e, CURLOPT_PROTOCOLS_STR, protocols);
    SETOPT(e, CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (r->ca_file != NULL)
        SETOPT(e, CURLOPT_CAINFO, r->ca_file);
    SETOPT(e, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000.0 + 0.5));
    SETOPT(e, CURLOPT_TCP_KEEPALIVE, 1L);
    return 0;
}

/* The mailbox login (wm_httpc_req_login), when there is one. */
static int configure_login(wm_httpc_req_t *r, CURL *e, wm_err_t *err)
{
    if (r->username != NULL) {
        SETOPT(e, CURLOPT_USERNAME, r->username);
        SETOPT(e, CURLOPT_PASSWORD, r->password != NULL ? r->password : "");
    }
    return 0;
}

/* The mailbox's password and mail never go out in clear: imap:// must
 * upgrade with STARTTLS. The answer (a fetched message, or a command's
 * untagged lines) is the body, under the same cap as an HTTP body. */
static int configure_imap(wm_httpc_req_t *r, CURL *e, wm_err_t *err)
{
    SETOPT(e, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    SETOPT(e, CURLOPT_WRITEFUNCTION, write_cb);
    SETOPT(e, CURLOPT_WRITEDATA, (void *)r);
    if (r->imap_command != NULL)
        SETOPT(e, CURLOPT_CUSTOMREQUEST, r->imap_command);
    return configure_login(r, e, err);
}

static int configure_easy(wm_httpc_req_t *r, CURL *e, wm_err_t *err)
{
    const char *protocols = r->imap ? "imap,imaps" : "http,https";
    int rc = configure_common(r, e, protocols, err);
    if (rc < 0)
        return rc;
    if (r->imap)
        return configure_imap(r, e, err);

    SETOPT(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SETOPT(e, CURLOPT_FOLLOWLOCATION, r->follow ? 1L : 0L);
    SETOPT(e, CURLOPT_MAXREDIRS, (long)WM_HTTPC_MAX_REDIRECTS);
    SETOPT(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->cap);
    SETOPT(e, CURLOPT_WRITEFUNCTION, write_cb);
    SETOPT(e, CURLOPT_WRITEDATA, (void *)r);
    SETOPT(e, CURLOPT_HEADERFUNCTION, header_cb);
    SETOPT(e, CURLOPT_HEADERDATA, (void *)r);
    SETOPT(e, CURLOPT_USERAGENT, C.user_agent);
    /* Accept what curl can decode; the cap counts decoded bytes. */
    SETOPT(e, CURLOPT_ACCEPT_ENCODING, "");
    if (r->aws_sigv4 != NULL) {
        /* Setting it also selects CURLAUTH_AWS_SIGV4; the easy handle's
         * reset (easy_put) clears the credentials before its next use. */
        SETOPT(e, CURLOPT_AWS_SIGV4, r->aws_sigv4);
        SETOPT(e, CURLOPT_USERNAME, r->aws_key_id);
        SETOPT(e, CURLOPT_PASSWORD, r->aws_secret);
    }

    /* curl waits up to a second for "100 Continue" on large bodies unless
     * told not to send Expect. A signed request cannot say "Expect:" (no
     * such header): libcurl 7.88 would sign it as an empty header the
     * server never receives, so there curl may send Expect and is told
     * not to wait for its answer. */
    if (r->aws_sigv4 != NULL) {
        SETOPT(e, CURLOPT_EXPECT_100_TIMEOUT_MS, 0L);
    } else if (!r->has_expect) {
        struct curl_slist *l = curl_slist_append(r->headers, "Expect:");
        if (l == NULL)
            return wm_err_set(err, WM_ENOMEM, "httpc: out of memory");
        r->headers = l;
        r->has_expect = 1;
    }
    SETOPT(e, CURLOPT_HTTPHEADER, r->headers);

    if (r->has_body) {
        SETOPT(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
        SETOPT(e, CURLOPT_POSTFIELDS, r->body ? r->body : "");
        if (strcmp(r->method, "POST") != 0)
            SETOPT(e, CURLOPT_CUSTOMREQUEST, r->method);
    } else if (strcmp(r->method, "HEAD") == 0) {
        SETOPT(e, CURLOPT_NOBODY, 1L);
    } else if (strcmp(r->method, "POST") == 0) {
        SETOPT(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
        SETOPT(e, CURLOPT_POSTFIELDS, "");
    } else if (strcmp(r->method, "GET") != 0) {
        SETOPT(e, CURLOPT_CUSTOMREQUEST, r->method);
    }
    return 0;
}

int wm_httpc_start(wm_httpc_req_t *r, wm_httpc_done_cb cb, void *ud, wm_err_t *err)
{
    if (!C.inited || C.closing)
        return wm_err_set(err, WM_ECLOSED, "httpc: the client is closed");
    if (r->state != REQ_NEW)
        return wm_err_set(err, WM_EINVAL, "httpc: request already started");
    CURL *e = easy_get();
    if (e == NULL)
        return wm_err_set(err, WM_ENOMEM, "httpc: cannot create a curl handle");
    int rc = configure_easy(r, e, err);
    if (rc < 0) {
        easy_put(e);
        return rc;
    }
    r->cb = cb;
    r->ud = ud;
    r->easy = e;
    CURLMcode mrc = curl_multi_add_handle(C.multi, e);
    if (mrc != CURLM_OK) {
        r->easy = NULL;
        easy_put(e);
        return wm_err_set(err, WM_EIO, "httpc: %s", curl_multi_strerror(mrc));
    }
    r->state = REQ_RUNNING;
    running_link(r);
    C.active++;
    return 0;
}

void wm_httpc_cancel(wm_httpc_req_t *r)
{
    if (r == NULL)
        return;
    if (r->state == REQ_RUNNING) {
        running_unlink(r);
        curl_multi_remove_handle(C.multi, r->easy);
        C.active--;
    } else if (r->state == REQ_DONE) {
        done_unlink(r);
    }
    wm_httpc_req_free(r);
}

/* ---- init / close ---- */

static void apply_conf(const wm_httpc_conf_t *conf)
{
    if (conf != NULL && conf->max_body > 0)
        C.max_body = conf->max_body;
    if (conf != NULL && conf->timeout > 0)
        C.timeout = conf->timeout;
    if (conf != NULL && conf->user_agent != NULL) {
        wm_free(C.user_agent);
        C.user_agent = wm_strdup(conf->user_agent);
    }
    if (conf != NULL && conf->max_connections > 0) {
        C.max_connections = conf->max_connections;
        curl_multi_setopt(C.multi, CURLMOPT_MAXCONNECTS, C.max_connections);
    }
}

static void close_hook(void *ud)
{
    WM_UNUSED(ud);
    wm_httpc_close();
}

int wm_httpc_init(uv_loop_t *loop, const wm_httpc_conf_t *conf, int register_close, wm_err_t *err)
{
    if (C.inited) {
        apply_conf(conf);
        return 0;
    }
    memset(&C, 0, sizeof(C));
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return wm_err_set(err, WM_EIO, "httpc: curl_global_init failed");
    C.multi = curl_multi_init();
    if (C.multi == NULL) {
        curl_global_cleanup();
        return wm_err_set(err, WM_ENOMEM, "httpc: curl_multi_init failed");
    }
    C.loop = loop;
    C.max_body = DEFAULT_MAX_BODY;
    C.max_connections = DEFAULT_MAX_CONNECTIONS;
    C.timeout = DEFAULT_TIMEOUT;
    C.user_agent = wm_strdup("wm/" WM_VERSION);
    uv_timer_init(loop, &C.timer);
    curl_multi_setopt(C.multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(C.multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(C.multi, CURLMOPT_MAXCONNECTS, C.max_connections);
    C.inited = 1;
    apply_conf(conf);
    if (register_close && !C.close_registered) {
        wm_vm_on_close(close_hook, NULL);
        C.close_registered = 1;
    }
    return 0;
}

void wm_httpc_close(void)
{
    if (!C.inited)
        return;
    /* Requests still here belong to callers that never waited for them (a
     * task's own cancel has already taken its request away). */
    while (C.running != NULL)
        wm_httpc_cancel(C.running);
    while (C.done_head != NULL)
        wm_httpc_cancel(C.done_head);
    C.closing = 1;
    while (C.npool > 0)
        curl_easy_cleanup(C.pool[--C.npool]);
    curl_multi_cleanup(C.multi);   /* closes cached connections */
    C.multi = NULL;
    while (C.socks != NULL)
        sock_close(C.socks);
    uv_timer_stop(&C.timer);
    uv_close((uv_handle_t *)&C.timer, NULL);   /* static storage: no free */
    wm_free(C.user_agent);
    C.user_agent = NULL;
    curl_global_cleanup();
    C.inited = 0;
    C.closing = 0;
}
