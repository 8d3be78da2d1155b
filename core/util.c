/* util.c unit provides the shared helpers declared in wm.h. */
#include "wm.h"

#include <stdio.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

int wm_err_set(wm_err_t *e, int code, const char *fmt, ...)
{
    if (e != NULL) {
        va_list ap;
        va_start(ap, fmt);
        e->code = code;
        vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *wm_strerror(int code)
{
    switch (code) {
    case WM_OK: return "ok";
    case WM_ENOMEM: return "out of memory";
    case WM_EINVAL: return "invalid argument";
    case WM_ESCRIPT: return "script error";
    case WM_EDB: return "database error";
    case WM_ECLOSED: return "closed";
    case WM_ETIMEDOUT: return "timeout";
    case WM_EIO: return "i/o error";
    default: return code < 0 && code > -10000 ? uv_strerror(code) : "unknown error";
    }
}

static void *oom(size_t n)
{
    fprintf(stderr, "{\"level\":\"error\",\"msg\":\"out of memory\",\"bytes\":%zu}\n", n);
    abort();
}

void *wm_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    return p ? p : oom(n);
}

void *wm_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    return p ? p : oom(n * size);
}

void *wm_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    return q ? q : oom(n);
}

char *wm_strndup(const char *s, size_t n)
{
    char *d = wm_malloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *wm_strdup(const char *s)
{
    return wm_strndup(s, strlen(s));
}

void wm_free(void *p)
{
    free(p);
}

void wm_free_secret(char *s)
{
    if (s == NULL)
        return;
    sodium_memzero(s, strlen(s));
    free(s);
}

double wm_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double wm_wallclock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void wm_buf_init(wm_buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void wm_buf_reserve(wm_buf_t *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->data = wm_realloc(b->data, cap);
    b->cap = cap;
}

void wm_buf_append(wm_buf_t *b, const void *p, size_t n)
{
    wm_buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void wm_buf_puts(wm_buf_t *b, const char *s)
{
    wm_buf_append(b, s, strlen(s));
}

void wm_buf_printf(wm_buf_t *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n > 0) {
        wm_buf_reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

void wm_buf_free(wm_buf_t *b)
{
    wm_free(b->data);
    wm_buf_init(b);
}

size_t wm_utf8_seq(const unsigned char *s, size_t i, size_t len)
{
    unsigned char c = s[i];
    size_t size = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (size == 0 || i + size > len)
        return 0;
    for (size_t k = 1; k < size; k++) {
        if (s[i + k] < 0x80 || s[i + k] > 0xBF)
            return 0;
    }
    unsigned char c2 = s[i + 1];
    if ((c == 0xE0 && c2 < 0xA0) || (c == 0xED && c2 > 0x9F) || (c == 0xF0 && c2 < 0x90) ||
        (c == 0xF4 && c2 > 0x8F))
        return 0;
    return size;
}

int wm_utf8_clean(wm_buf_t *out, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, start = 0;
    int dirty = 0;
    while (i < len) {
        if (s[i] != 0 && s[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = s[i] == 0 ? 0 : wm_utf8_seq(s, i, len);
        if (n > 0) {
            i += n;
            continue;
        }
        dirty = 1;
        wm_buf_append(out, s + start, i - start);
        if (s[i] != 0)
            wm_buf_append(out, "\xEF\xBF\xBD", 3);
        start = ++i;
    }
    if (dirty)
        wm_buf_append(out, s + start, len - start);
    return dirty;
}
