/* respcache.c unit provides the answer cache declared in respcache.h: a
 * chained hash table of copied answers, emptied whole when it grows past
 * its bounds. */
#include "respcache.h"

#include <stdint.h>
#include <string.h>

#define NBUCKETS 8192   /* a power of two, twice WM_RESPCACHE_MAX */

struct item {
    wm_respcache_entry_t e;   /* first: an entry's address is its item's */
    int touched;
    char *key;
    size_t key_len;
    double expires;
    struct item *next;
};

static struct {
    struct item *buckets[NBUCKETS];
    size_t count, bytes;
} C;

static uint32_t hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;   /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

size_t wm_respcache_key(char *out, size_t cap, const char *host, size_t host_len, const char *path,
                        size_t path_len, const char *accept_encoding, size_t ae_len)
{
    size_t n = host_len + 1 + path_len + 1 + ae_len;
    if (n > cap)
        return 0;
    for (size_t i = 0; i < host_len; i++) {
        char c = host[i];
        out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    out[host_len] = '\n';
    memcpy(out + host_len + 1, path, path_len);
    out[host_len + 1 + path_len] = '\n';
    memcpy(out + host_len + 2 + path_len, accept_encoding, ae_len);
    return n;
}

static char *copy(const char *s, size_t n)
{
    char *d = wm_malloc(n + 1);
    if (n > 0)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static void item_free(struct item *it)
{
    wm_free(it->key);
    wm_free((char *)it->e.head);
    wm_free((char *)it->e.body);
    wm_free((char *)it->e.etag);
    wm_free((char *)it->e.head304);
    wm_free((char *)it->e.label);
    wm_free(it);
}

void wm_respcache_clear(void)
{
    if (C.count == 0)
        return;
    for (size_t i = 0; i < NBUCKETS; i++) {
        struct item *it = C.buckets[i];
        while (it != NULL) {
            struct item *next = it->next;
            item_free(it);
            it = next;
        }
        C.buckets[i] = NULL;
    }
    C.count = 0;
    C.bytes = 0;
}

/* Unlinks and frees the item under `key`, if any. */
static void drop(struct item **slot, const char *key, size_t key_len)
{
    for (struct item **pp = slot; *pp != NULL; pp = &(*pp)->next) {
        struct item *it = *pp;
        if (it->key_len == key_len && memcmp(it->key, key, key_len) == 0) {
            *pp = it->next;
            C.count--;
            C.bytes -= it->e.body_len + it->e.head_len;
            item_free(it);
            return;
        }
    }
}

void wm_respcache_put(const char *key, size_t key_len, const wm_respcache_entry_t *e, double expires)
{
    struct item **slot = &C.buckets[hash(key, key_len) & (NBUCKETS - 1)];
    drop(slot, key, key_len);
    size_t size = e->body_len + e->head_len;
    if (size > WM_RESPCACHE_BYTES)
        return;
    if (C.count >= WM_RESPCACHE_MAX || C.bytes + size > WM_RESPCACHE_BYTES)
        wm_respcache_clear();
    struct item *it = wm_calloc(1, sizeof(*it));
    it->key = copy(key, key_len);
    it->key_len = key_len;
    it->expires = expires;
    it->e.status = e->status;
    it->e.head = copy(e->head, e->head_len);
    it->e.head_len = e->head_len;
    it->e.body = copy(e->body, e->body_len);
    it->e.body_len = e->body_len;
    it->e.etag = copy(e->etag, e->etag_len);
    it->e.etag_len = e->etag_len;
    it->e.head304 = copy(e->head304, e->head304_len);
    it->e.head304_len = e->head304_len;
    it->e.label = copy(e->label, strlen(e->label));
    it->e.log_rate = e->log_rate;
    it->next = *slot;
    *slot = it;
    C.count++;
    C.bytes += size;
}

const wm_respcache_entry_t *wm_respcache_get(const char *key, size_t key_len, double now)
{
    if (C.count == 0)
        return NULL;
    struct item **slot = &C.buckets[hash(key, key_len) & (NBUCKETS - 1)];
    for (struct item *it = *slot; it != NULL; it = it->next) {
        if (it->key_len == key_len && memcmp(it->key, key, key_len) == 0) {
            if (now < it->expires)
                return &it->e;
            drop(slot, key, key_len);
            return NULL;
        }
    }
    return NULL;
}

void wm_respcache_touch(const wm_respcache_entry_t *e)
{
    ((struct item *)(void *)e)->touched = 1;
}

void wm_respcache_touched(void (*fn)(const char *host, size_t len, void *ud), void *ud)
{
    if (C.count == 0)
        return;
    for (size_t i = 0; i < NBUCKETS; i++) {
        for (struct item *it = C.buckets[i]; it != NULL; it = it->next) {
            if (!it->touched)
                continue;
            it->touched = 0;
            const char *nl = memchr(it->key, '\n', it->key_len);
            fn(it->key, nl != NULL ? (size_t)(nl - it->key) : it->key_len, ud);
        }
    }
}

size_t wm_respcache_count(void) { return C.count; }
