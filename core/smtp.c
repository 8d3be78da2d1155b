/* smtp.c unit provides the SMTP client declared in smtp.h.
 *
 * A session is a state machine driven by the relay's replies: resolve,
 * connect, (TLS), greeting, EHLO, (STARTTLS, TLS, EHLO), (AUTH), ready; then
 * per message the envelope (MAIL, RCPT..., DATA, pipelined when offered) and
 * the body. Replies are parsed from `in`, the plaintext received so far.
 * Session memory is freed only in the close callbacks of its handles, so a
 * callback that ends a message (and may run Lua, which may start another
 * message or cancel one) never leaves a dangling session behind. */
#include "smtp.h"
#include "vm.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_TIMEOUT 30.0
#define READ_SIZE 65536
#define REPLY_MAX 65536   /* a reply line longer than this is not SMTP */
#define ERR_MAX 256

typedef enum {
    ST_RESOLVE, ST_CONNECT, ST_HANDSHAKE, ST_GREETING, ST_EHLO, ST_HELO, ST_STARTTLS,
    ST_AUTH_PLAIN, ST_AUTH_LOGIN, ST_AUTH_USER, ST_AUTH_PASS, ST_READY, ST_ENVELOPE, ST_BODY
} state_t;

typedef struct session_s session_t;

struct wm_smtp_msg_s {
    char *key;                  /* the session key (see session_key) */
    char *host, port[8], *ehlo;
    int implicit_tls, tls_optional;
    char *username, *password, *ca_file;
    double timeout, deadline;
    char *mail_from;            /* "<addr>" */
    char **rcpt;                /* "<addr>" each */
    int nrcpt;
    wm_buf_t body;              /* normalised, dot-stuffed, ending CRLF.CRLF */
    wm_smtp_done_cb cb;
    void *ud;
    session_t *s;
    int retried;                /* replaced a dead idle session once already */
    wm_httpc_outcome_t outcome;
    int code;
    wm_httpc_data_t data;
    char err[ERR_MAX];
};

struct session_s {
    char *key;
    state_t st;
    uv_tcp_t *tcp;              /* NULL until connecting; freed in its close callback */
    uv_timer_t timer;           /* the message's deadline, or the idle limit */
    uv_getaddrinfo_t gai;
    struct addrinfo *addrs, *next_addr;
    uv_connect_t conn;
    int refs;                   /* live handles and requests; freed at 0 once closing */
    int closing;
    int idle;
    int reused;                 /* the message took it from the idle list */
    int replies;                /* replies seen during the current message */
    int implicit_tls, tls;
    int pipelining, can_starttls, auth_plain, auth_login;
    int size_ext;               /* SIZE (RFC 1870): the MAIL FROM declares the message's size... */
    unsigned long long size_max; /* ...and one over this is not sent (0: no limit stated) */
    SSL *ssl;
    BIO *rbio, *wbio;
    wm_buf_t in;
    char read_buf[READ_SIZE];
    int code;                   /* the reply being read: its code, its first line */
    int first_line;
    char last[ERR_MAX];         /* its last line's text */
    int drop_input;             /* STARTTLS: what came with the 220 is discarded */
    int env_replied, env_failed;
    char env_text[ERR_MAX];
    wm_smtp_msg_t *msg;
    session_t *prev, *next;     /* every session */
};

typedef struct {
    uv_write_t req;
    session_t *s;
    int last_of_body;
    char data[];
} write_req_t;

typedef struct ctx_s {
    char *ca_file;              /* NULL: the system's */
    SSL_CTX *ctx;
    struct ctx_s *next;
} ctx_t;

static struct {
    uv_loop_t *loop;
    int inited, close_registered;
    session_t *all;
    int active, nidle;
    ctx_t *ctxs;
} C;

static void session_close(session_t *s, int quit);
static void read_replies(session_t *s);

/* ---- messages ---- */

static int addr_ok(const char *a)
{
    if (a == NULL || *a == '\0' || strlen(a) > 320)
        return 0;
    for (; *a != '\0'; a++) {
        unsigned char c = (unsigned char)*a;
        if (c <= ' ' || c == '<' || c == '>' || c == 0x7f)
            return 0;
    }
    return 1;
}

static char *bracketed(const char *a)
{
    size_t n = strlen(a) + 3;
    char *s = wm_malloc(n);
    snprintf(s, n, "<%s>", a);
    return s;
}

/* smtp[s]://host[:port][/ehlo] into the message; 0 or WM_EINVAL. */
static int parse_url(wm_smtp_msg_t *m, const char *url, wm_err_t *err)
{
    const char *p;
    if (strncasecmp(url, "smtp://", 7) == 0) {
        p = url + 7;
    } else if (strncasecmp(url, "smtps://", 8) == 0) {
        p = url + 8;
        m->implicit_tls = 1;
    } else {
        return wm_err_set(err, WM_EINVAL, "smtp: the URL must start smtp:// or smtps:// (got \"%.40s\")", url);
    }
    const char *host = p, *host_end;
    if (*p == '[') {   /* [IPv6] */
        host = p + 1;
        host_end = strchr(host, ']');
        if (host_end == NULL)
            return wm_err_set(err, WM_EINVAL, "smtp: unclosed [ in the URL's host");
        p = host_end + 1;
    } else {
        p += strcspn(p, ":/?#");
        host_end = p;
    }
    if (host_end == host)
        return wm_err_set(err, WM_EINVAL, "smtp: the URL has no host");
    for (const char *h = host; h < host_end; h++) {
        if ((unsigned char)*h <= ' ' || *h == '@')
            return wm_err_set(err, WM_EINVAL, "smtp: the URL's host may not hold spaces, controls or '@'");
    }
    m->host = wm_strndup(host, (size_t)(host_end - host));
    long port = m->implicit_tls ? 465 : 25;
    if (*p == ':') {
        char *end;
        port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port < 1 || port > 65535 || (*end != '\0' && *end != '/'))
            return wm_err_set(err, WM_EINVAL, "smtp: the URL's port must be 1 to 65535");
        p = end;
    }
    snprintf(m->port, sizeof(m->port), "%ld", port);
    const char *ehlo = *p == '/' && p[1] != '\0' ? p + 1 : "localhost";
    size_t elen = strcspn(ehlo, "/?#");
    for (size_t i = 0; i < elen; i++) {
        unsigned char c = (unsigned char)ehlo[i];
        if (c <= ' ' || c == 0x7f)
            return wm_err_set(err, WM_EINVAL, "smtp: the EHLO name in the URL may not hold spaces or controls");
    }
    m->ehlo = wm_strndup(ehlo, elen);
    return 0;
}

wm_smtp_msg_t *wm_smtp_msg_new(const char *url, const char *mail_from, wm_err_t *err)
{
    if (!addr_ok(mail_from)) {
        wm_err_set(err, WM_EINVAL, "smtp: bad envelope sender address");
        return NULL;
    }
    wm_smtp_msg_t *m = wm_calloc(1, sizeof(*m));
    wm_buf_init(&m->body);
    if (url == NULL || parse_url(m, url, err) < 0) {
        if (url == NULL)
            wm_err_set(err, WM_EINVAL, "smtp: no URL");
        wm_smtp_msg_free(m);
        return NULL;
    }
    m->mail_from = bracketed(mail_from);
    m->timeout = DEFAULT_TIMEOUT;
    return m;
}

int wm_smtp_msg_rcpt(wm_smtp_msg_t *m, const char *addr)
{
    if (!addr_ok(addr))
        return WM_EINVAL;
    m->rcpt = wm_realloc(m->rcpt, sizeof(char *) * (size_t)(m->nrcpt + 1));
    m->rcpt[m->nrcpt++] = bracketed(addr);
    return 0;
}

void wm_smtp_msg_body(wm_smtp_msg_t *m, const char *body, size_t len)
{
    wm_buf_t *b = &m->body;
    b->len = 0;
    wm_buf_reserve(b, len + len / 64 + 8);
    int bol = 1;
    for (size_t i = 0; i < len;) {
        if (bol && body[i] == '.')
            wm_buf_append(b, ".", 1);
        size_t run = i;
        while (run < len && body[run] != '\r' && body[run] != '\n')
            run++;
        wm_buf_append(b, body + i, run - i);
        if (run == len) {
            i = len;
            bol = 0;
            break;
        }
        /* CRLF, a bare CR or a bare LF: one CRLF. */
        i = run + (body[run] == '\r' && run + 1 < len && body[run + 1] == '\n' ? 2 : 1);
        wm_buf_append(b, "\r\n", 2);
        bol = 1;
    }
    if (!bol)
        wm_buf_append(b, "\r\n", 2);
    wm_buf_append(b, ".\r\n", 3);
}

void wm_smtp_msg_wire(const wm_smtp_msg_t *m, const char **data, size_t *len)
{
    *data = m->body.data;
    *len = m->body.len;
}

void wm_smtp_msg_login(wm_smtp_msg_t *m, const char *username, const char *password)
{
    wm_free(m->username);
    wm_free_secret(m->password);
    m->username = username != NULL && *username != '\0' ? wm_strdup(username) : NULL;
    m->password = m->username != NULL ? wm_strdup(password != NULL ? password : "") : NULL;
}

void wm_smtp_msg_tls_optional(wm_smtp_msg_t *m, int optional) { m->tls_optional = optional != 0; }

void wm_smtp_msg_ca_file(wm_smtp_msg_t *m, const char *path)
{
    wm_free(m->ca_file);
    m->ca_file = path != NULL && *path != '\0' ? wm_strdup(path) : NULL;
}

void wm_smtp_msg_timeout(wm_smtp_msg_t *m, double seconds)
{
    if (seconds > 0)
        m->timeout = seconds;
}

void wm_smtp_msg_free(wm_smtp_msg_t *m)
{
    if (m == NULL)
        return;
    wm_free(m->key);
    wm_free(m->host);
    wm_free(m->ehlo);
    wm_free(m->username);
    wm_free_secret(m->password);
    wm_free(m->ca_file);
    wm_free(m->mail_from);
    for (int i = 0; i < m->nrcpt; i++)
        wm_free(m->rcpt[i]);
    wm_free(m->rcpt);
    wm_buf_free(&m->body);
    wm_free(m);
}

wm_httpc_outcome_t wm_smtp_msg_outcome(const wm_smtp_msg_t *m) { return m->outcome; }
int wm_smtp_msg_code(const wm_smtp_msg_t *m) { return m->code; }
wm_httpc_data_t wm_smtp_msg_data_sent(const wm_smtp_msg_t *m) { return m->data; }
const char *wm_smtp_msg_error(const wm_smtp_msg_t *m) { return m->err; }
int wm_smtp_active(void) { return C.active; }
int wm_smtp_idle(void) { return C.nidle; }

/* ---- ending a message ---- */

/* Detaches the message from its session and runs its callback: always the
 * last thing a caller does with either. */
static void finish(wm_smtp_msg_t *m)
{
    if (m->s != NULL && m->s->msg == m)
        m->s->msg = NULL;
    m->s = NULL;
    C.active--;
    m->cb(m, m->ud);
}

static void put_idle(session_t *s);
static void dispatch(wm_smtp_msg_t *m, int fresh);

/* Ends the session's message as failed and closes the session. */
static void fail(session_t *s, wm_httpc_outcome_t outcome, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(session_t *s, wm_httpc_outcome_t outcome, int code, const char *fmt, ...)
{
    wm_smtp_msg_t *m = s->msg;
    s->msg = NULL;
    session_close(s, outcome == WM_HTTPC_PROTOCOL || outcome == WM_HTTPC_AUTH);
    if (m == NULL)
        return;
    m->outcome = outcome;
    m->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->err, sizeof(m->err), fmt, ap);
    va_end(ap);
    finish(m);
}

static void succeed(session_t *s, int code)
{
    wm_smtp_msg_t *m = s->msg;
    m->outcome = WM_HTTPC_OK;
    m->code = code;
    m->err[0] = '\0';
    s->msg = NULL;
    put_idle(s);
    finish(m);
}

/* Whether the whole message (the final dot included) has left this
 * process: its write is no longer queued. */
static int body_out(const session_t *s)
{
    return s->st == ST_BODY && s->tcp != NULL && s->tcp->write_queue_size == 0;
}

/* The connection is gone (EOF, reset, a failed write). A message that had
 * just started on a reused session and heard nothing back goes again on a
 * fresh one: the relay closed the idle session before it saw anything. */
static void lost(session_t *s, int status)
{
    wm_smtp_msg_t *m = s->msg;
    const char *why = status == UV_EOF ? "the relay closed the connection" : uv_strerror(status);
    if (m != NULL && s->reused && s->replies == 0 && s->st == ST_ENVELOPE && !m->retried) {
        s->msg = NULL;
        session_close(s, 0);
        m->retried = 1;
        dispatch(m, 1);
        return;
    }
    if (m != NULL && body_out(s))
        m->data = WM_HTTPC_DATA_ALL;
    switch (s->st) {
    case ST_RESOLVE:
    case ST_CONNECT:
        fail(s, WM_HTTPC_CONNECT, 0, "cannot connect to %s:%s: %s", m ? m->host : "?", m ? m->port : "?", why);
        break;
    case ST_HANDSHAKE:
        fail(s, WM_HTTPC_TLS, 0, "TLS handshake: %s", why);
        break;
    default:
        fail(s, WM_HTTPC_ERROR, s->code, "%s", why);
    }
}

/* ---- sessions ---- */

static void session_unref(session_t *s)
{
    if (--s->refs > 0)
        return;
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        C.all = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    if (s->ssl != NULL)
        SSL_free(s->ssl);   /* frees its BIOs */
    if (s->addrs != NULL)
        uv_freeaddrinfo(s->addrs);
    wm_buf_free(&s->in);
    wm_free(s->key);
    wm_free(s);
}

static void on_handle_closed(uv_handle_t *h)
{
    session_t *s = h->data;
    if (h != (uv_handle_t *)&s->timer)
        wm_free(h);
    session_unref(s);
}

static void on_write(uv_write_t *req, int status)
{
    write_req_t *w = (write_req_t *)req;
    session_t *s = w->s;
    int last = w->last_of_body;
    wm_free(w);
    if (s->closing) {
        session_unref(s);
        return;
    }
    if (status < 0)
        lost(s, status);
    else if (last && s->msg != NULL && s->st == ST_BODY)
        s->msg->data = WM_HTTPC_DATA_ALL;
    session_unref(s);
}

static void on_broken(uv_timer_t *t)
{
    session_t *s = t->data;
    if (!s->closing)
        lost(s, UV_EPIPE);
}

static void write_raw(session_t *s, const char *data, size_t len, int last_of_body)
{
    if (s->closing || len == 0)
        return;
    write_req_t *w = wm_malloc(sizeof(*w) + len);
    memcpy(w->data, data, len);
    w->s = s;
    w->last_of_body = last_of_body;
    uv_buf_t buf = uv_buf_init(w->data, (unsigned)len);
    int rc = uv_write(&w->req, (uv_stream_t *)s->tcp, &buf, 1, on_write);
    if (rc < 0) {
        /* Reported from the loop, not from inside the caller (which may be
         * wm_smtp_send: its callback must not run there). */
        wm_free(w);
        uv_timer_stop(&s->timer);
        uv_timer_start(&s->timer, on_broken, 0, 0);
        return;
    }
    s->refs++;
}

/* What OpenSSL has to send, sent. */
static void flush_tls(session_t *s, int last_of_body)
{
    size_t n = BIO_ctrl_pending(s->wbio);
    if (n == 0)
        return;
    char *tmp = wm_malloc(n);
    int got = BIO_read(s->wbio, tmp, (int)n);
    if (got > 0)
        write_raw(s, tmp, (size_t)got, last_of_body);
    wm_free(tmp);
}

static void send_bytes(session_t *s, const char *data, size_t len, int last_of_body)
{
    if (!s->tls) {
        write_raw(s, data, len, last_of_body);
        return;
    }
    if (len > 0 && SSL_write(s->ssl, data, (int)len) <= 0) {
        fail(s, WM_HTTPC_TLS, 0, "TLS write failed");
        return;
    }
    flush_tls(s, last_of_body);
}

static void send_line(session_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void send_line(session_t *s, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line) - 2)
        n = (int)sizeof(line) - 3;
    line[n++] = '\r';
    line[n++] = '\n';
    send_bytes(s, line, (size_t)n, 0);
}

static void session_close(session_t *s, int quit)
{
    if (s->closing)
        return;
    if (quit && s->tcp != NULL && s->st >= ST_GREETING && s->st != ST_HANDSHAKE && s->st != ST_BODY)
        send_line(s, "QUIT");
    s->closing = 1;
    if (s->idle) {
        s->idle = 0;
        C.nidle--;
    }
    if (s->st == ST_RESOLVE && s->addrs == NULL)
        uv_cancel((uv_req_t *)&s->gai);   /* its callback still runs, and drops its ref */
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, on_handle_closed);
    if (s->tcp != NULL) {
        /* The QUIT went out already if the socket took it at once (libuv
         * writes before queueing); closing cancels it otherwise, and the
         * relay sees the connection end instead: the same to it. */
        uv_close((uv_handle_t *)s->tcp, on_handle_closed);
        s->tcp = NULL;
    }
}

static void on_idle_timeout(uv_timer_t *t)
{
    session_close(t->data, 1);
}

static void put_idle(session_t *s)
{
    s->st = ST_READY;
    if (C.nidle >= WM_SMTP_IDLE_MAX) {
        session_close(s, 1);
        return;
    }
    s->idle = 1;
    C.nidle++;
    uv_timer_stop(&s->timer);
    uv_timer_start(&s->timer, on_idle_timeout, (uint64_t)(WM_SMTP_IDLE_SECONDS * 1000), 0);
}

/* ---- TLS ---- */

static SSL_CTX *ctx_for(const char *ca_file, char *why, size_t whylen)
{
    for (ctx_t *c = C.ctxs; c != NULL; c = c->next) {
        if ((c->ca_file == NULL && ca_file == NULL)
            || (c->ca_file != NULL && ca_file != NULL && strcmp(c->ca_file, ca_file) == 0))
            return c->ctx;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        snprintf(why, whylen, "cannot make a TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    int ok = ca_file != NULL ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
                             : SSL_CTX_set_default_verify_paths(ctx);
    if (ok != 1) {
        snprintf(why, whylen, "cannot read the CA file %s", ca_file != NULL ? ca_file : "(system)");
        SSL_CTX_free(ctx);
        ERR_clear_error();
        return NULL;
    }
    ctx_t *c = wm_calloc(1, sizeof(*c));
    c->ca_file = ca_file != NULL ? wm_strdup(ca_file) : NULL;
    c->ctx = ctx;
    c->next = C.ctxs;
    C.ctxs = c;
    return ctx;
}

static void send_ehlo(session_t *s);

static void handshake(session_t *s)
{
    ERR_clear_error();
    int rc = SSL_do_handshake(s->ssl);
    flush_tls(s, 0);
    if (s->closing)
        return;
    if (rc == 1) {
        s->tls = 1;
        if (s->implicit_tls) {
            s->st = ST_GREETING;
            read_replies(s);   /* the greeting may have come with the last flight */
        } else {
            send_ehlo(s);
        }
        return;
    }
    int e = SSL_get_error(s->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return;
    long v = SSL_get_verify_result(s->ssl);
    char buf[160];
    ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
    fail(s, WM_HTTPC_TLS, 0, "TLS handshake with %s failed: %s", s->msg ? s->msg->host : "?",
         v != X509_V_OK ? X509_verify_cert_error_string(v) : buf);
}

static void tls_start(session_t *s)
{
    wm_smtp_msg_t *m = s->msg;
    char why[160];
    SSL_CTX *ctx = ctx_for(m->ca_file, why, sizeof(why));
    if (ctx == NULL) {
        fail(s, WM_HTTPC_TLS, 0, "%s", why);
        return;
    }
    s->ssl = SSL_new(ctx);
    s->rbio = BIO_new(BIO_s_mem());
    s->wbio = BIO_new(BIO_s_mem());
    SSL_set_bio(s->ssl, s->rbio, s->wbio);
    SSL_set_connect_state(s->ssl);
    unsigned char ip[16];
    if (inet_pton(AF_INET, m->host, ip) == 1 || inet_pton(AF_INET6, m->host, ip) == 1) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s->ssl), m->host);
    } else {
        SSL_set_tlsext_host_name(s->ssl, m->host);
        SSL_set1_host(s->ssl, m->host);
    }
    s->st = ST_HANDSHAKE;
    handshake(s);
}

/* ---- the conversation ---- */

static void send_ehlo(session_t *s)
{
    s->pipelining = s->can_starttls = s->auth_plain = s->auth_login = s->size_ext = 0;
    s->size_max = 0;
    s->st = ST_EHLO;
    send_line(s, "EHLO %s", s->msg->ehlo);
}

/* One keyword line of an EHLO answer ("PIPELINING", "AUTH PLAIN LOGIN"). */
static void capability(session_t *s, const char *kw)
{
    if (strcasecmp(kw, "PIPELINING") == 0) {
        s->pipelining = 1;
    } else if (strcasecmp(kw, "STARTTLS") == 0) {
        s->can_starttls = 1;
    } else if (strncasecmp(kw, "SIZE", 4) == 0 && (kw[4] == '\0' || kw[4] == ' ')) {
        s->size_ext = 1;
        s->size_max = kw[4] == ' ' ? strtoull(kw + 5, NULL, 10) : 0;
    } else if (strncasecmp(kw, "AUTH", 4) == 0 && (kw[4] == ' ' || kw[4] == '=')) {
        char mechs[256];
        snprintf(mechs, sizeof(mechs), " %s ", kw + 5);
        for (char *p = mechs; *p; p++)
            *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        s->auth_plain |= strstr(mechs, " PLAIN ") != NULL;
        s->auth_login |= strstr(mechs, " LOGIN ") != NULL;
    }
}

static void b64_line(session_t *s, const char *prefix, const void *data, size_t len)
{
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *enc = wm_malloc(cap);
    sodium_bin2base64(enc, cap, data, len, sodium_base64_VARIANT_ORIGINAL);
    send_line(s, "%s%s", prefix, enc);
    sodium_memzero(enc, cap);
    wm_free(enc);
}

static void start_envelope(session_t *s);

static void ready(session_t *s)
{
    s->st = ST_READY;
    start_envelope(s);
}

static void after_ehlo(session_t *s)
{
    wm_smtp_msg_t *m = s->msg;
    if (!s->tls && !m->tls_optional) {
        if (!s->can_starttls) {
            fail(s, WM_HTTPC_TLS, 0, "%s:%s does not offer STARTTLS, and mail.smtp.starttls is \"required\" "
                 "(use smtps://, or \"off\" only for a relay on this machine)", m->host, m->port);
            return;
        }
        s->st = ST_STARTTLS;
        send_line(s, "STARTTLS");
        return;
    }
    if (m->username == NULL) {
        ready(s);
        return;
    }
    if (s->auth_plain) {
        size_t ul = strlen(m->username), pl = strlen(m->password);
        char *cred = wm_malloc(ul + pl + 2);
        cred[0] = '\0';
        memcpy(cred + 1, m->username, ul);
        cred[ul + 1] = '\0';
        memcpy(cred + ul + 2, m->password, pl);
        s->st = ST_AUTH_PLAIN;
        b64_line(s, "AUTH PLAIN ", cred, ul + pl + 2);
        sodium_memzero(cred, ul + pl + 2);
        wm_free(cred);
    } else if (s->auth_login) {
        s->st = ST_AUTH_LOGIN;
        send_line(s, "AUTH LOGIN");
    } else {
        fail(s, WM_HTTPC_AUTH, 0, "%s:%s offers no AUTH PLAIN or LOGIN%s", m->host, m->port,
             s->tls ? "" : " without TLS");
    }
}

static void start_envelope(session_t *s)
{
    wm_smtp_msg_t *m = s->msg;
    /* The body as sent: dot-stuffed, CRLF, ending in ".\r\n". */
    unsigned long long size = (unsigned long long)m->body.len;
    if (s->size_ext && s->size_max > 0 && size > s->size_max) {
        /* Refused before a byte of it goes: 552 is what the relay would say. */
        fail(s, WM_HTTPC_PROTOCOL, 552, "the message is %llu bytes, over the %llu the relay takes (SIZE)",
             size, s->size_max);
        return;
    }
    char size_param[32] = "";
    if (s->size_ext)
        snprintf(size_param, sizeof(size_param), " SIZE=%llu", size);
    s->st = ST_ENVELOPE;
    s->env_replied = 0;
    s->env_failed = 0;
    s->replies = 0;
    if (!s->pipelining) {
        send_line(s, "MAIL FROM:%s%s", m->mail_from, size_param);
        return;
    }
    wm_buf_t b;
    wm_buf_init(&b);
    wm_buf_printf(&b, "MAIL FROM:%s%s\r\n", m->mail_from, size_param);
    for (int i = 0; i < m->nrcpt; i++)
        wm_buf_printf(&b, "RCPT TO:%s\r\n", m->rcpt[i]);
    wm_buf_puts(&b, "DATA\r\n");
    send_bytes(s, b.data, b.len, 0);
    wm_buf_free(&b);
}

/* A reply to the envelope: MAIL (index 0), RCPT (1..n), DATA (n+1). */
static void envelope_reply(session_t *s, int code)
{
    wm_smtp_msg_t *m = s->msg;
    int idx = s->env_replied++;
    int last = m->nrcpt + 1;
    int ok = idx == last ? code == 354 : idx == 0 ? code / 100 == 2 : code == 250 || code == 251;
    if (!ok && s->env_failed == 0) {
        s->env_failed = code;
        snprintf(s->env_text, sizeof(s->env_text), "%s", s->last);
    }
    if (code == 421 || (!ok && !s->pipelining)) {
        const char *what = idx == 0 ? "MAIL FROM" : idx == last ? "DATA" : "RCPT TO";
        fail(s, WM_HTTPC_PROTOCOL, code, "%s refused: %s", what, s->last);
        return;
    }
    if (!s->pipelining) {
        if (idx + 1 < last)
            send_line(s, "RCPT TO:%s", m->rcpt[idx]);
        else if (idx + 1 == last)
            send_line(s, "DATA");
        if (idx + 1 <= last)
            return;
    } else if (idx < last) {
        return;
    }
    if (s->env_failed != 0) {
        /* A 354 after a refused recipient would take a body for the
         * others; closing the connection makes the relay drop it. */
        fail(s, WM_HTTPC_PROTOCOL, s->env_failed, "the envelope was refused: %s", s->env_text);
        return;
    }
    s->st = ST_BODY;
    m->data = WM_HTTPC_DATA_STARTED;
    send_bytes(s, m->body.data, m->body.len, 1);
}

static void on_reply(session_t *s, int code)
{
    wm_smtp_msg_t *m = s->msg;
    s->replies++;
    if (m == NULL) {
        /* Unasked (an idle session's "421 timeout"), or after QUIT. */
        session_close(s, 0);
        return;
    }
    switch (s->st) {
    case ST_GREETING:
        if (code == 220)
            send_ehlo(s);
        else
            fail(s, WM_HTTPC_PROTOCOL, code, "greeting: %s", s->last);
        break;
    case ST_EHLO:
        if (code == 250) {
            after_ehlo(s);
        } else if (code >= 500 && code <= 504) {
            s->st = ST_HELO;
            send_line(s, "HELO %s", m->ehlo);
        } else {
            fail(s, WM_HTTPC_PROTOCOL, code, "EHLO: %s", s->last);
        }
        break;
    case ST_HELO:
        if (code == 250)
            after_ehlo(s);
        else
            fail(s, WM_HTTPC_PROTOCOL, code, "HELO: %s", s->last);
        break;
    case ST_STARTTLS:
        if (code == 220) {
            s->drop_input = 1;   /* nothing sent in clear after this counts */
            tls_start(s);
        } else {
            fail(s, WM_HTTPC_TLS, code, "STARTTLS refused: %s", s->last);
        }
        break;
    case ST_AUTH_LOGIN:
    case ST_AUTH_USER:
        if (code != 334) {
            fail(s, WM_HTTPC_AUTH, code, "AUTH LOGIN: %s", s->last);
        } else if (s->st == ST_AUTH_LOGIN) {
            s->st = ST_AUTH_USER;
            b64_line(s, "", m->username, strlen(m->username));
        } else {
            s->st = ST_AUTH_PASS;
            b64_line(s, "", m->password, strlen(m->password));
        }
        break;
    case ST_AUTH_PLAIN:
    case ST_AUTH_PASS:
        if (code == 235)
            ready(s);
        else
            fail(s, WM_HTTPC_AUTH, code, "login refused: %s", s->last);
        break;
    case ST_ENVELOPE:
        envelope_reply(s, code);
        break;
    case ST_BODY:
        if (code / 100 == 2)
            succeed(s, code);
        else
            fail(s, WM_HTTPC_PROTOCOL, code, "the message was refused: %s", s->last);
        break;
    default:
        fail(s, WM_HTTPC_PROTOCOL, code, "unexpected reply: %s", s->last);
    }
}

long wm_smtp_line_parse(const char *buf, size_t len, wm_smtp_line_t *out)
{
    const char *nl = len > 0 ? memchr(buf, '\n', len) : NULL;
    if (nl == NULL)
        return 0;
    size_t n = (size_t)(nl - buf);
    long took = (long)n + 1;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    if (n < 3 || buf[0] < '2' || buf[0] > '5' || buf[1] < '0' || buf[1] > '9' || buf[2] < '0' || buf[2] > '9'
        || (n > 3 && buf[3] != ' ' && buf[3] != '-'))
        return WM_EINVAL;
    out->code = (buf[0] - '0') * 100 + (buf[1] - '0') * 10 + (buf[2] - '0');
    out->more = n > 3 && buf[3] == '-';
    out->text = buf + (n > 3 ? 4 : 3);
    out->text_len = n > 3 ? n - 4 : 0;
    return took;
}

/* Every whole reply in `in`, in order. */
static void read_replies(session_t *s)
{
    size_t pos = 0;
    while (!s->closing && pos < s->in.len) {
        wm_smtp_line_t l;
        long took = wm_smtp_line_parse(s->in.data + pos, s->in.len - pos, &l);
        if (took == 0)
            break;
        if (took < 0) {
            fail(s, WM_HTTPC_PROTOCOL, 0, "not an SMTP reply: \"%.60s\"", s->in.data + pos);
            return;
        }
        pos += (size_t)took;
        size_t tlen = l.text_len < sizeof(s->last) - 1 ? l.text_len : sizeof(s->last) - 1;
        memcpy(s->last, l.text, tlen);
        s->last[tlen] = '\0';
        for (char *p = s->last; *p; p++) {
            if ((unsigned char)*p < ' ' || *p == 0x7f)
                *p = '?';
        }
        if (s->st == ST_EHLO && !s->first_line)
            capability(s, s->last);
        s->first_line = 0;
        if (l.more)
            continue;
        s->first_line = 1;
        s->code = l.code;
        on_reply(s, l.code);
        if (s->drop_input) {
            s->drop_input = 0;
            pos = s->in.len;
        }
    }
    if (s->closing)
        return;
    if (pos > 0) {
        memmove(s->in.data, s->in.data + pos, s->in.len - pos);
        s->in.len -= pos;
    }
    if (s->in.len > REPLY_MAX)
        fail(s, WM_HTTPC_PROTOCOL, 0, "a reply line longer than %d bytes", REPLY_MAX);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    session_t *s = h->data;
    WM_UNUSED(suggested);
    *buf = uv_buf_init(s->read_buf, sizeof(s->read_buf));
}

static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    session_t *s = stream->data;
    if (s->closing || n == 0)
        return;
    if (n < 0) {
        if (s->msg == NULL)
            session_close(s, 0);   /* an idle session the relay closed */
        else
            lost(s, (int)n);
        return;
    }
    if (!s->tls && s->st != ST_HANDSHAKE) {
        wm_buf_append(&s->in, buf->base, (size_t)n);
        read_replies(s);
        return;
    }
    BIO_write(s->rbio, buf->base, (int)n);
    if (s->st == ST_HANDSHAKE) {
        handshake(s);
        if (s->closing || s->st == ST_HANDSHAKE)
            return;
    }
    char plain[16384];
    for (;;) {
        ERR_clear_error();
        int got = SSL_read(s->ssl, plain, sizeof(plain));
        if (got > 0) {
            wm_buf_append(&s->in, plain, (size_t)got);
            continue;
        }
        int e = SSL_get_error(s->ssl, got);
        if (e == SSL_ERROR_WANT_READ)
            break;
        if (e == SSL_ERROR_ZERO_RETURN) {
            flush_tls(s, 0);
            read_replies(s);
            if (!s->closing)
                lost(s, UV_EOF);
            return;
        }
        fail(s, WM_HTTPC_TLS, 0, "TLS read failed");
        return;
    }
    flush_tls(s, 0);
    read_replies(s);
}

static void on_deadline(uv_timer_t *t)
{
    session_t *s = t->data;
    wm_smtp_msg_t *m = s->msg;
    if (m == NULL)
        return;
    if (body_out(s))
        m->data = WM_HTTPC_DATA_ALL;
    fail(s, WM_HTTPC_TIMEOUT, s->code, "timeout: no answer within %.0f s (while %s)", m->timeout,
         s->st <= ST_CONNECT ? "connecting" : s->st == ST_BODY ? "waiting for the reply to the message"
                                                               : "talking to the relay");
}

static void try_connect(session_t *s);

static void on_connect(uv_connect_t *req, int status)
{
    session_t *s = req->data;
    int closing = s->closing;
    session_unref(s);   /* the request's; the timer's keeps s while open */
    if (closing)
        return;
    if (status < 0) {
        if (s->next_addr != NULL) {
            uv_close((uv_handle_t *)s->tcp, on_handle_closed);
            s->tcp = NULL;
            try_connect(s);
            return;
        }
        lost(s, status);
        return;
    }
    uv_tcp_nodelay(s->tcp, 1);
    uv_tcp_keepalive(s->tcp, 1, 60);
    uv_read_start((uv_stream_t *)s->tcp, on_alloc, on_read);
    if (s->implicit_tls)
        tls_start(s);
    else
        s->st = ST_GREETING;
}

static void try_connect(session_t *s)
{
    struct addrinfo *ai = s->next_addr;
    s->next_addr = ai->ai_next;
    s->tcp = wm_malloc(sizeof(*s->tcp));
    uv_tcp_init(C.loop, s->tcp);
    s->tcp->data = s;
    s->refs++;
    s->conn.data = s;
    int rc = uv_tcp_connect(&s->conn, s->tcp, ai->ai_addr, on_connect);
    if (rc < 0) {
        uv_close((uv_handle_t *)s->tcp, on_handle_closed);
        s->tcp = NULL;
        if (s->next_addr != NULL) {
            try_connect(s);
            return;
        }
        uv_timer_stop(&s->timer);
        uv_timer_start(&s->timer, on_broken, 0, 0);
        return;
    }
    s->refs++;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    session_t *s = req->data;
    s->addrs = res;
    int closing = s->closing;
    session_unref(s);   /* the request's; the timer's keeps s while open */
    if (closing)
        return;
    if (status < 0 || res == NULL) {
        wm_smtp_msg_t *m = s->msg;
        fail(s, WM_HTTPC_DNS, 0, "cannot resolve %s: %s", m ? m->host : "?", uv_strerror(status));
        return;
    }
    s->st = ST_CONNECT;
    s->next_addr = res;
    try_connect(s);
}

static session_t *session_new(wm_smtp_msg_t *m)
{
    session_t *s = wm_calloc(1, sizeof(*s));
    s->key = wm_strdup(m->key);
    s->implicit_tls = m->implicit_tls;
    s->first_line = 1;
    wm_buf_init(&s->in);
    uv_timer_init(C.loop, &s->timer);
    s->timer.data = s;
    s->refs = 1;   /* the timer */
    s->next = C.all;
    if (C.all != NULL)
        C.all->prev = s;
    C.all = s;
    return s;
}

/* Starts `m` on an idle session of its kind, or on a new one. */
static void dispatch(wm_smtp_msg_t *m, int fresh)
{
    session_t *s = NULL;
    if (!fresh) {
        for (session_t *i = C.all; i != NULL; i = i->next) {
            if (i->idle && !i->closing && strcmp(i->key, m->key) == 0) {
                s = i;
                break;
            }
        }
    }
    double left = m->deadline - wm_monotonic();
    uint64_t ms = left > 0 ? (uint64_t)(left * 1000.0) : 0;
    if (s != NULL) {
        s->idle = 0;
        C.nidle--;
        s->reused = 1;
        s->msg = m;
        m->s = s;
        uv_timer_stop(&s->timer);
        uv_timer_start(&s->timer, on_deadline, ms, 0);
        start_envelope(s);
        return;
    }
    s = session_new(m);
    s->msg = m;
    m->s = s;
    uv_timer_start(&s->timer, on_deadline, ms, 0);
    s->st = ST_RESOLVE;
    s->gai.data = s;
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    int rc = uv_getaddrinfo(C.loop, &s->gai, on_resolved, m->host, m->port, &hints);
    if (rc < 0) {
        uv_timer_stop(&s->timer);
        uv_timer_start(&s->timer, on_broken, 0, 0);
        return;
    }
    s->refs++;
}

/* The session key: what must match for a session to carry a message. */
static char *session_key(const wm_smtp_msg_t *m)
{
    wm_buf_t b;
    wm_buf_init(&b);
    wm_buf_printf(&b, "%s\n%s\n%s\n%d%d\n%s\n%s", m->host, m->port, m->ehlo, m->implicit_tls, m->tls_optional,
                  m->username != NULL ? m->username : "", m->ca_file != NULL ? m->ca_file : "");
    return b.data;
}

int wm_smtp_send(wm_smtp_msg_t *m, wm_smtp_done_cb cb, void *ud, wm_err_t *err)
{
    if (!C.inited)
        return wm_err_set(err, WM_ECLOSED, "smtp: the client is not running");
    if (m->nrcpt == 0)
        return wm_err_set(err, WM_EINVAL, "smtp: no recipient");
    if (m->body.len == 0)
        wm_smtp_msg_body(m, "", 0);
    m->cb = cb;
    m->ud = ud;
    m->outcome = WM_HTTPC_ERROR;
    m->data = WM_HTTPC_DATA_NONE;
    m->code = 0;
    m->err[0] = '\0';
    wm_free(m->key);
    m->key = session_key(m);
    m->deadline = wm_monotonic() + m->timeout;
    C.active++;
    dispatch(m, 0);
    return 0;
}

void wm_smtp_cancel(wm_smtp_msg_t *m)
{
    if (m->s != NULL) {
        session_t *s = m->s;
        s->msg = NULL;
        m->s = NULL;
        session_close(s, 0);
    }
    C.active--;
    wm_smtp_msg_free(m);
}

/* ---- the client ---- */

static void close_hook(void *ud)
{
    WM_UNUSED(ud);
    wm_smtp_close();
}

int wm_smtp_init(uv_loop_t *loop, int register_close, wm_err_t *err)
{
    WM_UNUSED(err);
    if (!C.inited) {
        C.loop = loop;
        C.inited = 1;
    }
    if (register_close && !C.close_registered) {
        wm_vm_on_close(close_hook, NULL);
        C.close_registered = 1;
    }
    return 0;
}

void wm_smtp_close(void)
{
    if (!C.inited)
        return;
    for (session_t *s = C.all; s != NULL; s = s->next) {
        wm_smtp_msg_t *m = s->msg;
        if (m != NULL) {
            s->msg = NULL;
            m->s = NULL;
            C.active--;
            /* The owner never waited for it (a task's cancel takes its own
             * message away first): nobody else will free it. */
            wm_smtp_msg_free(m);
        }
        session_close(s, 1);
    }
    while (C.ctxs != NULL) {
        ctx_t *c = C.ctxs;
        C.ctxs = c->next;
        SSL_CTX_free(c->ctx);
        wm_free(c->ca_file);
        wm_free(c);
    }
    C.inited = 0;
}
