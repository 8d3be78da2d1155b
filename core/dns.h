/* dns.h unit asks DNS servers questions on the loop, through c-ares: the
 * TXT and A records a custom domain's owner was told to create. Each lookup
 * has a channel of its own (so a test or an operator can name the servers),
 * a per-try timeout and a bounded number of tries. */
#ifndef WM_DNS_H
#define WM_DNS_H

#include <lua.h>
#include <uv.h>

enum wm_dns_type { WM_DNS_TXT, WM_DNS_A };

typedef struct wm_dns_query_s wm_dns_query_t;

/* The answer: records (TXT strings, chunks joined; or A addresses in dotted
 * form), the canonical name for A (after any CNAME), or an error: NULL on
 * success, else "no such domain", "no records", "timeout", ... */
typedef struct {
    const char *error;
    char **records;
    int count;
    const char *canonical;
} wm_dns_answer_t;

typedef void (*wm_dns_cb)(wm_dns_query_t *q, const wm_dns_answer_t *answer, void *data);

/* Starts a lookup. `servers` is NULL (the system's resolv.conf) or
 * "ip[:port],ip[:port]"; timeout_ms per try; tries >= 1. The callback runs
 * once, on the loop, unless the query is cancelled first; the answer is
 * valid only during the callback. NULL with *err set when it cannot start. */
wm_dns_query_t *wm_dns_lookup(uv_loop_t *loop, const char *name, enum wm_dns_type type,
                              const char *servers, int timeout_ms, int tries, wm_dns_cb cb,
                              void *data, const char **err);

/* The callback will not run; the query frees itself. */
void wm_dns_cancel(wm_dns_query_t *q);

/* wm.core dns_query into the table on top. */
void wm_dns_lua_register(lua_State *L);

#endif
