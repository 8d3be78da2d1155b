/* httpc.h unit provides outbound HTTP over libcurl's multi interface on the
 * process's libuv loop (the shape of curl's docs/examples/multi-uv.c): one
 * multi handle per process, so connections and DNS answers are reused; one
 * uv_poll per socket curl asks about; one uv_timer for curl's timeouts; a
 * small pool of easy handles.
 *
 * Every request verifies TLS peers and host names, speaks only http and
 * https, follows no redirect unless asked (and then at most
 * WM_HTTPC_MAX_REDIRECTS), and stops reading a response body that grows
 * past its cap.
 *
 * The Lua binding (lua_httpc.c, "wm.core.httpc") turns a request into a
 * task's yield; scripts see it as wm.http.request{...}. */
#ifndef WM_HTTPC_H
#define WM_HTTPC_H

#include <stddef.h>
#include <uv.h>
#include "wm.h"

#define WM_HTTPC_MAX_REDIRECTS 5

/* How a request ended. Each has a stable token (wm_httpc_outcome_token). */
typedef enum {
    WM_HTTPC_OK = 0,        /* a response arrived (any status code) */
    WM_HTTPC_TIMEOUT,       /* "timeout": the whole request took longer than asked */
    WM_HTTPC_CONNECT,       /* "connect": refused, unreachable, reset while connecting */
    WM_HTTPC_DNS,           /* "dns": the host name did not resolve */
    WM_HTTPC_TLS,           /* "tls": handshake or certificate verification failed */
    WM_HTTPC_TOO_LARGE,     /* "too_large": the body passed max_body */
    WM_HTTPC_PROTOCOL,      /* "protocol": not HTTP, bad scheme, too many redirects, an
                             * SMTP relay's refusal (smtp.c: its code) */
    WM_HTTPC_AUTH,          /* "auth": the mail server refused the login */
    WM_HTTPC_ERROR          /* "error": anything else; see wm_httpc_req_error() */
} wm_httpc_outcome_t;

typedef struct {
    size_t max_body;        /* default response body cap, bytes (0: 10 MB) */
    long max_connections;   /* CURLMOPT_MAXCONNECTS: idle connections kept (0: 32) */
    double timeout;         /* default whole-request timeout, seconds (0: 30) */
    const char *user_agent; /* NULL: "wm/<version>" */
} wm_httpc_conf_t;

typedef struct wm_httpc_req_s wm_httpc_req_t;

/* How much of an SMTP payload (wm_smtp_msg_data_sent) or an HTTP request
 * body (wm_httpc_req_body_sent) went out. */
typedef enum {
    WM_HTTPC_DATA_NONE = 0,     /* none: the server never said 354 to DATA */
    WM_HTTPC_DATA_STARTED,      /* some, not all: the server cannot have accepted it */
    WM_HTTPC_DATA_ALL           /* all of it (SMTP: the final dot too) */
} wm_httpc_data_t;

/* Runs once when the request ends, from a libuv callback (never inside
 * wm_httpc_start). The request still belongs to the caller, who reads the
 * results and then calls wm_httpc_req_free. */
typedef void (*wm_httpc_done_cb)(wm_httpc_req_t *req, void *ud);

/* Creates the process's client on `loop`. Calling it again only updates
 * the defaults in `conf` (may be NULL). Registers its own shutdown with
 * wm_vm_on_close when `register_close` is set. */
int wm_httpc_init(uv_loop_t *loop, const wm_httpc_conf_t *conf, int register_close, wm_err_t *err);

/* Cancels every request still running (their callbacks never run), closes
 * the sockets, the timer and the multi handle. Memory goes in the handles'
 * close callbacks, so run the loop once more afterwards. */
void wm_httpc_close(void);

/* A new request; `method` and `url` are copied. Options not set take the
 * client's defaults. */
wm_httpc_req_t *wm_httpc_req_new(const char *method, const char *url);

/* Adds a request header; name and value are copied. A value with CR or LF
 * is refused with WM_EINVAL (header injection). */
int wm_httpc_req_header(wm_httpc_req_t *r, const char *name, size_t nlen,
                        const char *value, size_t vlen);
/* Sets the request body; copies it. */
void wm_httpc_req_body(wm_httpc_req_t *r, const char *body, size_t len);
/* Whole-request timeout in seconds (> 0). */
void wm_httpc_req_timeout(wm_httpc_req_t *r, double seconds);
/* Follow up to WM_HTTPC_MAX_REDIRECTS redirects when `follow` is set. */
void wm_httpc_req_follow(wm_httpc_req_t *r, int follow);
/* Response body cap in bytes (> 0). */
void wm_httpc_req_max_body(wm_httpc_req_t *r, size_t max);

/* Trusts the CA certificates in `path` (PEM) instead of the system's. */
void wm_httpc_req_ca_file(wm_httpc_req_t *r, const char *path);

/* Signs the request with AWS Signature Version 4 (libcurl's
 * CURLOPT_AWS_SIGV4): `spec` is "provider1[:provider2[:region[:service]]]",
 * e.g. "aws:amz:us-east-1:ses" (name the service: curl would otherwise take
 * it from the host name, which for SES v2 is "email", not the signing name
 * "ses"). The key id and secret are copied, never logged, and wiped when the
 * request is freed. WM_EINVAL for an empty or odd spec or an empty key.
 * Temporary credentials add their x-amz-security-token header themselves. */
int wm_httpc_req_aws_sigv4(wm_httpc_req_t *r, const char *spec, const char *key_id,
                           const char *secret);

/* An IMAP request (imaps:// URL, or imap:// upgraded with STARTTLS, which
 * is required): `command` NULL runs what the URL says (imaps://host/INBOX;
 * UID=7 fetches that message whole: curl's FETCH sets \Seen); otherwise the
 * mailbox in the URL is selected and `command` ("UID SEARCH UID 8:*", "UID
 * STORE 7 +FLAGS (\Seen)") is sent as it is, its untagged answer lines
 * being the response body. NULL when `command` has a control character (a
 * CR/LF would start another command). Login with wm_httpc_req_login; a
 * tagged NO/BAD answer is WM_HTTPC_PROTOCOL. */
wm_httpc_req_t *wm_httpc_imap_new(const char *url, const char *command);
/* The mailbox login (copied); a NULL or empty username means none. */
void wm_httpc_req_login(wm_httpc_req_t *r, const char *username, const char *password);

/* Starts `r`. On success (0) `cb` runs exactly once, never from inside this
 * call, unless wm_httpc_cancel comes first. On failure (< 0, message in
 * `err`) `cb` never runs and the caller still owns `r`. */
int wm_httpc_start(wm_httpc_req_t *r, wm_httpc_done_cb cb, void *ud, wm_err_t *err);

/* Stops a started request whose callback has not run yet; the callback will
 * never run. Frees `r`. */
void wm_httpc_cancel(wm_httpc_req_t *r);

/* Frees a request that was never started, failed to start, or whose
 * callback has run. */
void wm_httpc_req_free(wm_httpc_req_t *r);

/* Results, valid once the callback has run. */
wm_httpc_outcome_t wm_httpc_req_outcome(const wm_httpc_req_t *r);
/* "none", "started" or "all". */
const char *wm_httpc_data_token(wm_httpc_data_t d);
/* "timeout", "connect", ... ("ok" for WM_HTTPC_OK). */
const char *wm_httpc_outcome_token(wm_httpc_outcome_t o);
/* libcurl's message for a failed request ("" when it succeeded). */
const char *wm_httpc_req_error(const wm_httpc_req_t *r);
long wm_httpc_req_status(const wm_httpc_req_t *r);
/* How much of an HTTP request's body curl handed to the connection (none
 * when it never connected), valid once the callback has run. For a request
 * that failed, all of it handed over means the server may have acted on
 * it; less means it cannot have. (SMTP: wm_smtp_msg_data_sent.) */
wm_httpc_data_t wm_httpc_req_body_sent(const wm_httpc_req_t *r);
/* The request body's length (0 without one). */
size_t wm_httpc_req_body_len(const wm_httpc_req_t *r);
/* The final URL (after redirects). */
const char *wm_httpc_req_url(const wm_httpc_req_t *r);
/* The body received. The caller may take `data` (then set it to NULL). */
wm_buf_t *wm_httpc_req_body_buf(wm_httpc_req_t *r);
/* The final response's header fields, in order: calls `fn` once per field
 * with the name lower-cased. Folded continuation lines are joined. */
void wm_httpc_req_each_header(const wm_httpc_req_t *r,
                              void (*fn)(const char *name, size_t nlen,
                                         const char *value, size_t vlen, void *ud),
                              void *ud);

/* Requests in flight (for tests and /metrics). */
int wm_httpc_active(void);

#endif
