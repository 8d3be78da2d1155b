/* crypto.c unit provides the primitives declared in crypto.h. */
#include "crypto.h"

#include <sodium.h>
#include <string.h>

int wm_crypto_init(void)
{
    return sodium_init() < 0 ? WM_EINVAL : 0;
}

int wm_crypto_password_hash(const char *pw, size_t len, char out[128])
{
    if (crypto_pwhash_str_alg(out, pw, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return WM_ENOMEM;
    return 0;
}

int wm_crypto_password_verify(const char *encoded, const char *pw, size_t len)
{
    return crypto_pwhash_str_verify(encoded, pw, len) == 0;
}

void wm_crypto_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t len,
                           unsigned char out[32])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, keylen);
    crypto_auth_hmacsha256_update(&st, msg, len);
    crypto_auth_hmacsha256_final(&st, out);
}

int wm_crypto_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    if (alen != blen)
        return 0;
    if (alen == 0)
        return 1;
    return sodium_memcmp(a, b, alen) == 0;
}
