/* respcache.h unit provides the HTTP server's answer cache: whole answers a
 * Lua handler marked as the same for everyone for a while (a published site
 * page within sites.serve_max_age), kept by host, path and Accept-Encoding,
 * so the next requests for them are answered in C without running Lua.
 *
 * An entry holds the answer's header lines (already checked: no CR/LF, good
 * names), its body, its ETag and the header lines of its 304, the route's
 * label and access-log share (the server logs and counts a hit as the Lua
 * dispatch would), and when it expires. What is not in an entry is never
 * answered from it: the Lua handler decides what goes in.
 *
 * At most WM_RESPCACHE_MAX entries and WM_RESPCACHE_BYTES of bodies; a put
 * past either empties the cache first (entries live a second or so: the
 * next requests refill it). One cache per process. */
#ifndef WM_RESPCACHE_H
#define WM_RESPCACHE_H

#include <stddef.h>
#include "wm.h"

#define WM_RESPCACHE_MAX 4096
#define WM_RESPCACHE_BYTES (64u << 20)

typedef struct {
    int status;                 /* of the full answer (200) */
    const char *head;           /* its header lines, "Name: value\r\n" each */
    size_t head_len;
    const char *body;
    size_t body_len;
    const char *etag;           /* "" when none: no 304 from the cache */
    size_t etag_len;
    const char *head304;        /* the 304's header lines */
    size_t head304_len;
    const char *label;          /* the route's label, for the access log and metrics */
    double log_rate;            /* the access log's share for it: 0 none, 1 all */
} wm_respcache_entry_t;

/* The key of a request: host (lower case, no port), path, Accept-Encoding,
 * joined by "\n". Returns its length, or 0 when it does not fit `cap`. */
size_t wm_respcache_key(char *out, size_t cap, const char *host, size_t host_len, const char *path,
                        size_t path_len, const char *accept_encoding, size_t ae_len);

/* Keeps `e` (copied) under `key` until `expires` (wm_monotonic seconds). */
void wm_respcache_put(const char *key, size_t key_len, const wm_respcache_entry_t *e, double expires);

/* The entry under `key` that has not expired at `now`, or NULL. Valid until
 * the next put or clear. */
const wm_respcache_entry_t *wm_respcache_get(const char *key, size_t key_len, double now);

/* Marks the entry answered (wm_respcache_touched reports it). */
void wm_respcache_touch(const wm_respcache_entry_t *e);

/* Calls fn with the host part of each entry answered since the last call
 * (once per entry), and clears the marks: the LRU of what the entries were
 * made from learns they are in use. */
void wm_respcache_touched(void (*fn)(const char *host, size_t len, void *ud), void *ud);

/* Forgets every entry (a site changed, routes were reloaded). */
void wm_respcache_clear(void);

/* Entries kept now. */
size_t wm_respcache_count(void);

#endif
