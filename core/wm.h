/* wm.h unit provides what every core file shares: error codes, the error
 * carrier, allocation that never returns NULL, and small string helpers.
 *
 * Conventions (see README "Changing the core"): public functions are
 * wm_<subsystem>_<verb>, return 0 on success or a negative WM_E* / UV_E*
 * code on failure, and put a human message into a caller-owned wm_err_t. */
#ifndef WM_H
#define WM_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

#define WM_VERSION "0.1.0"

enum {
    WM_OK = 0,
    WM_ENOMEM = -10001,
    WM_EINVAL = -10002,
    WM_ESCRIPT = -10003,   /* a Lua file failed to load or run */
    WM_EDB = -10004,       /* database error */
    WM_ECLOSED = -10005,   /* the subsystem is shutting down */
    WM_ETIMEDOUT = -10006,
    WM_EIO = -10007
};

typedef struct {
    int code;
    char msg[512];
} wm_err_t;

/* Fills `e` (may be NULL) and returns `code`, so callers can write
 * `return wm_err_set(err, WM_EINVAL, "bad %s", x);`. */
int wm_err_set(wm_err_t *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Message for a WM_E* or UV_E* code. */
const char *wm_strerror(int code);

/* Allocation never returns NULL: on exhaustion it logs and aborts. */
void *wm_malloc(size_t n);
void *wm_calloc(size_t n, size_t size);
void *wm_realloc(void *p, size_t n);
char *wm_strdup(const char *s);
char *wm_strndup(const char *s, size_t n);
void wm_free(void *p);
/* Overwrites a NUL-ended secret (a password, a key) before its memory goes
 * back, with stores the compiler may not drop as dead; NULL is fine. */
void wm_free_secret(char *s);

/* Monotonic clock in seconds and wall clock in seconds (both doubles). */
double wm_monotonic(void);
double wm_wallclock(void);

/* A growable byte buffer. `data` is always NUL-terminated. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
} wm_buf_t;

void wm_buf_init(wm_buf_t *b);
void wm_buf_reserve(wm_buf_t *b, size_t extra);
void wm_buf_append(wm_buf_t *b, const void *p, size_t n);
void wm_buf_puts(wm_buf_t *b, const char *s);
void wm_buf_printf(wm_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void wm_buf_free(wm_buf_t *b);

/* The length of the well-formed UTF-8 sequence at s[i] (2..4), or 0 when
 * s[i] does not start one (overlongs, surrogates, past U+10FFFF). */
size_t wm_utf8_seq(const unsigned char *s, size_t i, size_t len);

/* Appends `s` to `out` as valid UTF-8: every byte that does not start a
 * well-formed sequence becomes U+FFFD, NUL is dropped. Returns 1 when
 * something had to change, 0 when `s` was clean (then nothing is appended). */
int wm_utf8_clean(wm_buf_t *out, const char *s, size_t len);

#define WM_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define WM_UNUSED(x) ((void)(x))

#endif
