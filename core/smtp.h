/* smtp.h unit provides wm's SMTP client on the process's libuv loop: one
 * message per call, sent over a session kept open for the next message to
 * the same relay, with the envelope pipelined (RFC 2920: MAIL, RCPT and DATA
 * in one write when the relay offers PIPELINING), so a message costs two
 * round trips on a warm session.
 *
 * Why not libcurl, which the HTTP client uses: curl's SMTP waits for each
 * reply before the next command and re-registers its socket with the loop
 * several times a message; at 8 KB a message that was 26 system calls and a
 * quarter of smtp-source's rate (tests/bench/mail).
 *
 * Sessions: smtp://host[:port][/ehlo-name] upgrades with STARTTLS and refuses
 * a relay that cannot, unless the message says TLS is optional (a relay on
 * this machine); smtps:// is TLS from the first byte. TLS is OpenSSL's, with
 * the peer's certificate and name (or IP address) verified against the
 * system's CAs or a given CA file. AUTH PLAIN, else LOGIN, once a session,
 * only over TLS unless TLS is optional. A session is keyed on the relay, the
 * EHLO name, the login, the TLS mode and the CA file; at most
 * WM_SMTP_IDLE_MAX wait idle, each for WM_SMTP_IDLE_SECONDS, then QUIT.
 * A session found closed when a message starts on it (no reply yet) is
 * replaced once by a fresh one; a session that saw any refusal is closed.
 *
 * The body is normalised on the way in: every line end becomes CRLF (no
 * bare CR or LF reaches the relay: SMTP smuggling), a line starting with
 * "." gets another, and the final CRLF "." CRLF is added.
 *
 * The Lua binding (lua_smtp.c, "wm.core.smtp") turns a send into a task's
 * yield; scripts/providers/mail/smtp.lua is its user. */
#ifndef WM_SMTP_H
#define WM_SMTP_H

#include <stddef.h>
#include <uv.h>
#include "httpc.h"   /* the outcome and data-sent vocabulary, shared with HTTP */
#include "wm.h"

#define WM_SMTP_IDLE_MAX 32
#define WM_SMTP_IDLE_SECONDS 30.0

typedef struct wm_smtp_msg_s wm_smtp_msg_t;

/* Runs once when the message ends, from a libuv callback (never inside
 * wm_smtp_send). The message still belongs to the caller, who reads the
 * results and then calls wm_smtp_msg_free. */
typedef void (*wm_smtp_done_cb)(wm_smtp_msg_t *m, void *ud);

/* Sets the client up on `loop` (again: a no-op). Registers its shutdown
 * with wm_vm_on_close when `register_close` is set. */
int wm_smtp_init(uv_loop_t *loop, int register_close, wm_err_t *err);

/* Cancels every message still running (their callbacks never run) and
 * closes every session. Memory goes in the handles' close callbacks: run
 * the loop once more afterwards. */
void wm_smtp_close(void);

/* A message to the relay at `url` (smtp:// or smtps://, host, optional
 * port, optional /ehlo-name) from envelope sender `mail_from` (no angle
 * brackets). NULL and a message in `err` for a bad URL or address. */
wm_smtp_msg_t *wm_smtp_msg_new(const char *url, const char *mail_from, wm_err_t *err);
/* Adds an envelope recipient; WM_EINVAL for spaces, controls or brackets. */
int wm_smtp_msg_rcpt(wm_smtp_msg_t *m, const char *addr);
/* The whole RFC 5322 message; copied, normalised and dot-stuffed. */
void wm_smtp_msg_body(wm_smtp_msg_t *m, const char *body, size_t len);
/* The body as it goes on the wire (for checks). */
void wm_smtp_msg_wire(const wm_smtp_msg_t *m, const char **data, size_t *len);
/* AUTH with these (copied; the password is wiped when freed); a NULL or
 * empty username means no AUTH. */
void wm_smtp_msg_login(wm_smtp_msg_t *m, const char *username, const char *password);
/* smtp:// requires STARTTLS unless this is set (then it never upgrades). */
void wm_smtp_msg_tls_optional(wm_smtp_msg_t *m, int optional);
/* Trusts the CA certificates in `path` (PEM) instead of the system's. */
void wm_smtp_msg_ca_file(wm_smtp_msg_t *m, const char *path);
/* The whole send's timeout in seconds (default 30), connecting included. */
void wm_smtp_msg_timeout(wm_smtp_msg_t *m, double seconds);

/* Starts `m`. On success (0) `cb` runs exactly once, never from inside this
 * call, unless wm_smtp_cancel comes first. On failure (< 0, message in
 * `err`: no recipient, no body, the client closed) `cb` never runs and the
 * caller still owns `m`. */
int wm_smtp_send(wm_smtp_msg_t *m, wm_smtp_done_cb cb, void *ud, wm_err_t *err);

/* Stops a started message whose callback has not run (its session is
 * closed: what the relay saw is unknown to us); the callback never runs.
 * Frees `m`. */
void wm_smtp_cancel(wm_smtp_msg_t *m);

void wm_smtp_msg_free(wm_smtp_msg_t *m);

/* Results, valid once the callback has run. WM_HTTPC_OK: the relay said
 * 2xx to the final dot. Otherwise "timeout", "connect", "dns", "tls",
 * "auth", "protocol" (a refusal: its code) or "error" (the connection
 * dropped). */
wm_httpc_outcome_t wm_smtp_msg_outcome(const wm_smtp_msg_t *m);
/* The relay's last reply code (0: none). */
int wm_smtp_msg_code(const wm_smtp_msg_t *m);
/* How much of the message went out: none (no 354 to DATA), started, or
 * all (the final dot was handed to the kernel). */
wm_httpc_data_t wm_smtp_msg_data_sent(const wm_smtp_msg_t *m);
/* What went wrong, in words ("" on success). */
const char *wm_smtp_msg_error(const wm_smtp_msg_t *m);

/* One reply line from a relay ("250-PIPELINING", "354 go ahead"). */
typedef struct {
    int code;               /* 200..599 */
    int more;               /* "250-": more lines of this reply follow */
    const char *text;       /* after the code and separator; not NUL-ended */
    size_t text_len;        /* without the line end */
} wm_smtp_line_t;

/* Parses the first line of buf[len]: the bytes it took, line end included
 * (> 0); 0 when no whole line is there yet; WM_EINVAL when it is not a
 * reply line (three digits 2xx..5xx, then a space, "-" or the line end). */
long wm_smtp_line_parse(const char *buf, size_t len, wm_smtp_line_t *out);

/* Messages in flight, and sessions waiting idle. */
int wm_smtp_active(void);
int wm_smtp_idle(void);

#endif
