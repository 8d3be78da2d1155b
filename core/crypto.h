/* crypto.h unit provides the few primitives the system needs, all from
 * libsodium: argon2id password hashes, HMAC-SHA-256, random tokens, base64
 * and constant-time comparison. */
#ifndef WM_CRYPTO_H
#define WM_CRYPTO_H

#include <lua.h>
#include <stddef.h>
#include "wm.h"

int wm_crypto_init(void);

/* Argon2id (libsodium's "interactive" limits unless told otherwise): writes
 * the encoded string (with its salt and parameters) into out[128]. Slow by
 * design: call it off the loop. */
int wm_crypto_password_hash(const char *pw, size_t len, char out[128]);
/* 1 when `pw` matches `encoded`, 0 otherwise. */
int wm_crypto_password_verify(const char *encoded, const char *pw, size_t len);

void wm_crypto_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t len,
                           unsigned char out[32]);

/* 1 when equal; runs in time that depends only on the lengths. */
int wm_crypto_equal(const void *a, size_t alen, const void *b, size_t blen);

/* wm.crypto.* into the table on top. */
void wm_crypto_lua_register(lua_State *L);

#endif
