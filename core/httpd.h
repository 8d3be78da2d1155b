/* httpd.h unit provides the HTTP/1.1 server: a libuv TCP listener (optionally
 * SO_REUSEPORT, so several processes share one port), requests parsed with
 * http-parser, keep-alive and pipelining (responses always leave in request
 * order, whatever order the handlers finish in), request bodies with
 * Content-Length or chunked encoding, limits on header bytes (431), body
 * bytes (413; a bigger limit for upload path prefixes, decided from the
 * path before any body byte is read), connections (503) and requests in flight per connection,
 * header, body and idle timeouts (408), 400 on a malformed request, and a
 * graceful stop (refuse new connections, finish the requests in flight, then
 * report).
 *
 * Stricter than http-parser alone (RFC 9112): a field name must be a token
 * (no whitespace before the colon, in headers and trailers alike), a line
 * starting with whitespace (obs-fold) is refused, every CR outside body data
 * must be followed by LF, and chunk data must be followed by CRLF; each of
 * these is a 400.
 *
 * The unit knows nothing of Lua: each complete request is handed to a
 * wm_httpd_request_cb, and the owner answers it later, exactly once, with
 * wm_httpd_resp_begin / _header / _finish. core/lua_httpd.c runs a Lua task
 * per request on top of this.
 *
 * A "virtual" connection (wm_httpd_virtual_open) runs the same parser and
 * response path without a socket: bytes are fed by the caller and output
 * goes to a callback. The fuzz target and unit tests use it.
 *
 * Everything runs on the loop's thread. */
#ifndef WM_HTTPD_H
#define WM_HTTPD_H

#include <stddef.h>
#include <uv.h>
#include "wm.h"

typedef struct wm_httpd_s wm_httpd_t;
typedef struct wm_httpd_req_s wm_httpd_req_t;

typedef struct {
    size_t max_header_bytes;   /* request line + header fields; over it: 431 */
    size_t max_body_bytes;     /* decoded body; over it: 413 */
    /* Paths that may take bigger bodies (uploads): a request whose path
     * starts with one of these prefixes is held to upload_max_body_bytes
     * instead. The server copies the strings; NULL/0: none. */
    const char *const *upload_paths;
    int nupload_paths;
    size_t upload_max_body_bytes;
    int max_connections;       /* open connections; over it a new one gets 503 */
    int max_pipeline;          /* requests in flight per connection before reading pauses */
    double header_timeout;     /* seconds from a request's first byte to its last header */
    double idle_timeout;       /* seconds of keep-alive idleness, body or write stall */
    double body_timeout;       /* seconds from the last header to the body's last byte */
    double min_body_rate;      /* bytes/s the body must average once the grace is over; 0: off */
    double body_rate_grace;    /* seconds after the last header before min_body_rate applies */
} wm_httpd_conf_t;

/* Fills `c` with the defaults: 16 KiB headers, 8 MiB body (no upload
 * paths; 16 MiB for them when some are given), 10000
 * connections, 32 pipelined requests, 10 s header and 60 s idle timeouts,
 * 60 s for a whole body, which must average 1024 bytes/s after 5 s. */
void wm_httpd_conf_default(wm_httpd_conf_t *c);

/* Runs for each complete request, on the loop's thread, possibly from inside
 * the read callback. The owner must answer `req` exactly once (now or later)
 * with wm_httpd_resp_begin/_finish; the request stays valid until then, even
 * if the client goes away (the answer is then dropped). */
typedef void (*wm_httpd_request_cb)(wm_httpd_req_t *req, void *ud);

/* Runs once when a stop has finished: the listener is closed and every
 * connection is closed. Never runs inside wm_httpd_stop. */
typedef void (*wm_httpd_stopped_cb)(wm_httpd_t *s, void *ud);

/* Creates a server on `loop` (no socket yet). `conf` may be NULL for the
 * defaults. Never fails for lack of memory (wm_malloc aborts). */
wm_httpd_t *wm_httpd_new(uv_loop_t *loop, const wm_httpd_conf_t *conf, wm_httpd_request_cb cb,
                         void *ud);

/* Binds and listens on host:port (IPv4 or IPv6 literal, or "localhost").
 * Port 0 picks a free port (see wm_httpd_address). With `reuseport` the
 * socket has SO_REUSEPORT, so sibling processes can bind the same port and
 * the kernel spreads connections between them. */
int wm_httpd_listen(wm_httpd_t *s, const char *host, int port, int reuseport, wm_err_t *err);

/* The bound address, after a successful listen: `host` gets the numeric
 * address. Returns 0 or a UV_E* code. */
int wm_httpd_address(wm_httpd_t *s, char *host, size_t hostlen, int *port);

/* Graceful stop: closes the listener, closes idle connections, stops
 * reading on the others and lets their requests in flight finish (answers
 * say "Connection: close"); after `drain_timeout` seconds whatever is left is
 * closed. `cb` (may be NULL) runs once when everything is closed. Calling it
 * twice only shortens nothing: the second call is ignored. */
void wm_httpd_stop(wm_httpd_t *s, double drain_timeout, wm_httpd_stopped_cb cb, void *ud);

/* Closes everything now (no drain) and frees the server once its handles
 * have closed and every request handed out has been answered. The pending
 * stop callback, if any, does not run. `s` must not be used afterwards. */
void wm_httpd_free(wm_httpd_t *s);

typedef struct {
    unsigned long connections;     /* open now */
    unsigned long accepted;        /* since start */
    unsigned long requests;        /* complete requests since start */
    unsigned long active;          /* handed out, not yet answered */
    unsigned long rejected;        /* 400/408/413/431/503 answered by the server itself */
    unsigned long timeouts;        /* connections closed by a timeout */
} wm_httpd_stats_t;

void wm_httpd_stats(wm_httpd_t *s, wm_httpd_stats_t *out);

/* ---- the request (valid from the request callback until it is answered) ---- */

typedef struct {
    const char *method;            /* "GET", ... (static string) */
    const char *path;              /* the request target's path, not decoded */
    size_t path_len;
    const char *query;             /* after '?', not decoded; "" when none */
    size_t query_len;
    const char *body;              /* decoded from chunked if need be; "" when none */
    size_t body_len;
    int http_major, http_minor;
    int nheaders;
    const char *remote_addr;       /* numeric peer address, "" when unknown */
    const char *id;                /* unique request id, "<process>-<counter>" */
} wm_httpd_req_info_t;

void wm_httpd_req_info(const wm_httpd_req_t *r, wm_httpd_req_info_t *out);

/* Header `i` (0-based, in arrival order). Names are lower-cased. Returns 0,
 * or WM_EINVAL when i is out of range. */
int wm_httpd_req_header(const wm_httpd_req_t *r, int i, const char **name, size_t *name_len,
                        const char **value, size_t *value_len);

/* ---- the response ----
 * begin, any number of header calls, then finish, with no other response
 * built in between (the three calls share the server's scratch buffer).
 * The server adds Date, Content-Length and Connection itself; a handler's
 * Content-Length, Transfer-Encoding and Connection headers are replaced
 * ("Connection: close" from a handler is honoured: the connection closes
 * after this answer). No body is sent for HEAD, 1xx, 204 and 304. */

/* Starts the answer to `r` with `status` (100..999). */
void wm_httpd_resp_begin(wm_httpd_req_t *r, int status);

/* Adds one header line. Returns WM_EINVAL (and adds nothing) when the name
 * is not an HTTP token or the value holds CR, LF or NUL; finish then sends
 * a 500 instead of the answer. */
int wm_httpd_resp_header(wm_httpd_req_t *r, const char *name, size_t name_len, const char *value,
                         size_t value_len);

/* Checks one header as wm_httpd_resp_header does and appends its line
 * ("Name: value" CRLF) to `out`, for an answer kept to be sent again with
 * wm_httpd_resp_lines. WM_EINVAL (nothing appended) for a bad name or value
 * and for the headers the server writes itself (Date, Content-Length,
 * Transfer-Encoding, Connection): a kept answer cannot carry them. */
int wm_httpd_head_line(wm_buf_t *out, const char *name, size_t name_len, const char *value,
                       size_t value_len);

/* Adds header lines made by wm_httpd_head_line, as they are. */
void wm_httpd_resp_lines(wm_httpd_req_t *r, const char *lines, size_t len);

/* Sends the answer with `body` (copied if it cannot be written at once).
 * After this call `r` belongs to the server again. Returns 0, or WM_EINVAL
 * when a header was rejected (a plain 500 went out instead). */
int wm_httpd_resp_finish(wm_httpd_req_t *r, const char *body, size_t body_len);

/* Convenience: begin + Content-Type + finish. */
int wm_httpd_respond(wm_httpd_req_t *r, int status, const char *content_type, const char *body,
                     size_t body_len);

/* Reason phrase for a status ("Not Found"), "Unknown" for an odd one. */
const char *wm_httpd_reason(int status);

/* ---- helpers shared with the Lua binding ---- */

/* Percent-decodes `len` bytes of `src` into `dst` (which may be `src`; it
 * needs `len` bytes). With `plus_space`, '+' becomes ' ' (query strings and
 * forms). A malformed escape is copied as is. Returns the decoded length. */
size_t wm_httpd_pct_decode(char *dst, const char *src, size_t len, int plus_space);

/* ---- virtual connections (no socket; for fuzzing and tests) ---- */

typedef struct wm_httpd_conn_s wm_httpd_vconn_t;

/* Receives everything the server writes to a virtual connection. */
typedef void (*wm_httpd_vwrite_fn)(void *ud, const char *data, size_t len);

wm_httpd_vconn_t *wm_httpd_virtual_open(wm_httpd_t *s, wm_httpd_vwrite_fn write, void *ud);

/* Feeds bytes as if read from the socket. Returns 1 while the connection is
 * open and reading, 0 when it is paused (pipeline full: answer some
 * requests, then feed again; bytes held back are replayed by itself), -1
 * when it is closed (after an error answer, or "Connection: close"). */
int wm_httpd_virtual_feed(wm_httpd_vconn_t *c, const char *data, size_t len);

/* Ends the connection as a client hang-up would. `c` must not be used
 * afterwards; requests still unanswered stay valid until answered. */
void wm_httpd_virtual_close(wm_httpd_vconn_t *c);

#endif
