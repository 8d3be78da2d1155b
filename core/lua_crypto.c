/* lua_crypto.c unit provides the wm.crypto bindings over crypto.h. Password
 * hashing runs on libuv's thread pool so the loop keeps serving. */
#include "crypto.h"
#include "pki.h"
#include "sched.h"

#include <lauxlib.h>
#include <sodium.h>
#include <string.h>

struct pw_work {
    uv_work_t req;
    wm_co_t *co;
    char *pw;
    size_t len;
    char encoded[128];
    int verify;            /* 0 hash, 1 verify */
    int result;
    int cancelled;
};

static void pw_work_cb(uv_work_t *req)
{
    struct pw_work *w = req->data;
    if (w->verify)
        w->result = wm_crypto_password_verify(w->encoded, w->pw, w->len);
    else
        w->result = wm_crypto_password_hash(w->pw, w->len, w->encoded);
}

static void pw_free(struct pw_work *w)
{
    sodium_memzero(w->pw, w->len);
    wm_free(w->pw);
    wm_free(w);
}

static void pw_after_cb(uv_work_t *req, int status)
{
    struct pw_work *w = req->data;
    WM_UNUSED(status);
    if (w->cancelled) {
        pw_free(w);
        return;
    }
    wm_sched_resume(w->co);
}

static int pw_push(wm_co_t *co, lua_State *L, void *op)
{
    struct pw_work *w = op;
    WM_UNUSED(co);
    int n = 1;
    if (w->verify) {
        lua_pushboolean(L, w->result);
    } else if (w->result == 0) {
        lua_pushstring(L, w->encoded);
    } else {
        lua_pushnil(L);
        lua_pushliteral(L, "password hashing failed (out of memory)");
        n = 2;
    }
    pw_free(w);
    return n;
}

static void pw_cancel(wm_co_t *co, void *op)
{
    struct pw_work *w = op;
    WM_UNUSED(co);
    w->cancelled = 1;       /* freed by pw_after_cb */
}

static int start_pw(lua_State *L, int verify)
{
    size_t len;
    const char *pw = luaL_checklstring(L, verify ? 2 : 1, &len);
    const char *encoded = verify ? luaL_checkstring(L, 1) : NULL;
    if (verify && strlen(encoded) >= 128) {
        lua_pushboolean(L, 0);
        return 1;
    }
    struct pw_work *w = wm_calloc(1, sizeof(*w));
    w->pw = wm_strndup(pw, len);
    w->len = len;
    w->verify = verify;
    if (verify)
        strcpy(w->encoded, encoded);
    w->req.data = w;
    wm_co_t *co = wm_sched_current(L);
    if (co == NULL) {
        /* Outside a task (boot code): compute inline. */
        pw_work_cb(&w->req);
        return pw_push(NULL, L, w);
    }
    w->co = co;
    uv_queue_work(wm_sched_loop(), &w->req, pw_work_cb, pw_after_cb);
    return wm_sched_yield(co, w, pw_push, pw_cancel);
}

static int l_password_hash(lua_State *L) { return start_pw(L, 0); }
static int l_password_verify(lua_State *L) { return start_pw(L, 1); }

static int l_hmac_sha256(lua_State *L)
{
    size_t klen, mlen;
    const char *key = luaL_checklstring(L, 1, &klen);
    const char *msg = luaL_checklstring(L, 2, &mlen);
    unsigned char mac[32];
    wm_crypto_hmac_sha256(key, klen, msg, mlen, mac);
    const char *enc = luaL_optstring(L, 3, "raw");
    if (strcmp(enc, "hex") == 0) {
        char hex[65];
        sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
        lua_pushstring(L, hex);
    } else {
        lua_pushlstring(L, (const char *)mac, sizeof(mac));
    }
    return 1;
}

static int b64_encode(lua_State *L, int variant)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    size_t outlen = sodium_base64_encoded_len(len, variant);
    char *out = wm_malloc(outlen);
    sodium_bin2base64(out, outlen, (const unsigned char *)s, len, variant);
    lua_pushstring(L, out);
    wm_free(out);
    return 1;
}

static int b64_decode(lua_State *L, int variant, int alt_variant)
{
    size_t len, binlen;
    const char *s = luaL_checklstring(L, 1, &len);
    unsigned char *out = wm_malloc(len + 1);
    int rc = sodium_base642bin(out, len + 1, s, len, "\n\r ", &binlen, NULL, variant);
    if (rc != 0)
        rc = sodium_base642bin(out, len + 1, s, len, "\n\r ", &binlen, NULL, alt_variant);
    if (rc != 0) {
        wm_free(out);
        lua_pushnil(L);
        lua_pushliteral(L, "invalid base64");
        return 2;
    }
    lua_pushlstring(L, (const char *)out, binlen);
    wm_free(out);
    return 1;
}

static int l_b64_encode(lua_State *L) { return b64_encode(L, sodium_base64_VARIANT_ORIGINAL); }
static int l_b64url_encode(lua_State *L) { return b64_encode(L, sodium_base64_VARIANT_URLSAFE_NO_PADDING); }
static int l_b64_decode(lua_State *L)
{
    return b64_decode(L, sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
}
static int l_b64url_decode(lua_State *L)
{
    return b64_decode(L, sodium_base64_VARIANT_URLSAFE_NO_PADDING, sodium_base64_VARIANT_URLSAFE);
}

static int l_random_bytes(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n > 0 && n <= 65536, 1, "byte count must be 1..65536");
    unsigned char *buf = wm_malloc((size_t)n);
    randombytes_buf(buf, (size_t)n);
    lua_pushlstring(L, (const char *)buf, (size_t)n);
    wm_free(buf);
    return 1;
}

/* random_token(bytes=32): that many random bytes as unpadded base64url. */
static int l_random_token(lua_State *L)
{
    lua_Integer n = luaL_optinteger(L, 1, 32);
    luaL_argcheck(L, n > 0 && n <= 1024, 1, "byte count must be 1..1024");
    unsigned char buf[1024];
    randombytes_buf(buf, (size_t)n);
    char out[1400];
    sodium_bin2base64(out, sizeof(out), buf, (size_t)n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    lua_pushstring(L, out);
    return 1;
}

static int l_equal(lua_State *L)
{
    size_t alen, blen;
    const char *a = luaL_checklstring(L, 1, &alen);
    const char *b = luaL_checklstring(L, 2, &blen);
    lua_pushboolean(L, wm_crypto_equal(a, alen, b, blen));
    return 1;
}

static int l_sha256(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)s, len);
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    lua_pushstring(L, hex);
    return 1;
}

static int l_hex(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    char *hex = wm_malloc(2 * len + 1);
    sodium_bin2hex(hex, 2 * len + 1, (const unsigned char *)s, len);
    lua_pushstring(L, hex);
    wm_free(hex);
    return 1;
}

void wm_crypto_lua_register(lua_State *L)
{
    static const luaL_Reg funcs[] = {
        {"password_hash", l_password_hash}, {"password_verify", l_password_verify},
        {"hmac_sha256", l_hmac_sha256},     {"random_token", l_random_token},
        {"random_bytes", l_random_bytes},   {"equal", l_equal},
        {"constant_time_equal", l_equal},   {"b64_encode", l_b64_encode},
        {"b64_decode", l_b64_decode},       {"b64url_encode", l_b64url_encode},
        {"b64url_decode", l_b64url_decode}, {"sha256_hex", l_sha256},
        {"hex", l_hex},                     {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, funcs);
    wm_pki_lua_register(L);
    lua_setfield(L, -2, "crypto");
}
