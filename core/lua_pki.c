/* lua_pki.c unit provides wm.crypto's public-key functions over pki.h.
 * Verification answers true or false (false plus a reason when the key or
 * certificate itself is unusable); bad arguments raise. */
#include "pki.h"
#include "wm.h"

#include <lauxlib.h>

static int push_verdict(lua_State *L, int rc, const char *err)
{
    lua_pushboolean(L, rc == 1);
    if (rc < 0) {
        lua_pushstring(L, err);
        return 2;
    }
    return 1;
}

/* ecdsa_p256_verify(pubkey, msg, sig) -> true | false[, err] */
static int l_ecdsa_p256_verify(lua_State *L)
{
    size_t kl, ml, sl;
    const char *k = luaL_checklstring(L, 1, &kl);
    const char *m = luaL_checklstring(L, 2, &ml);
    const char *s = luaL_checklstring(L, 3, &sl);
    char err[WM_PKI_ERR_MAX] = "";
    return push_verdict(L, wm_pki_ecdsa_p256_verify(k, kl, m, ml, s, sl, err), err);
}

/* x509_verify(cert_pem, msg, sig, "sha1"|"sha256") -> true | false[, err] */
static int l_x509_verify(lua_State *L)
{
    size_t cl, ml, sl;
    const char *c = luaL_checklstring(L, 1, &cl);
    const char *m = luaL_checklstring(L, 2, &ml);
    const char *s = luaL_checklstring(L, 3, &sl);
    const char *hash = luaL_optstring(L, 4, "sha256");
    char err[WM_PKI_ERR_MAX] = "";
    return push_verdict(L, wm_pki_x509_verify(c, cl, m, ml, s, sl, hash, err), err);
}

/* x509_info(cert_pem) -> {subject=, issuer=, not_before=, not_after=} | nil, err */
static int l_x509_info(lua_State *L)
{
    size_t cl;
    const char *c = luaL_checklstring(L, 1, &cl);
    wm_pki_cert_info_t info;
    char err[WM_PKI_ERR_MAX] = "";
    if (wm_pki_x509_info(c, cl, &info, err) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    lua_createtable(L, 0, 4);
    lua_pushstring(L, info.subject);
    lua_setfield(L, -2, "subject");
    lua_pushstring(L, info.issuer);
    lua_setfield(L, -2, "issuer");
    lua_pushnumber(L, (lua_Number)info.not_before);
    lua_setfield(L, -2, "not_before");
    lua_pushnumber(L, (lua_Number)info.not_after);
    lua_setfield(L, -2, "not_after");
    return 1;
}

/* rsa_sign_sha256(private_key_pem, msg) -> signature bytes | nil, err */
static int l_rsa_sign_sha256(lua_State *L)
{
    size_t kl, ml, sl = 0;
    const char *k = luaL_checklstring(L, 1, &kl);
    const char *m = luaL_checklstring(L, 2, &ml);
    char err[WM_PKI_ERR_MAX] = "";
    unsigned char *sig = wm_pki_rsa_sign_sha256(k, kl, m, ml, &sl, err);
    if (!sig) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    lua_pushlstring(L, (const char *)sig, sl);
    wm_free(sig);
    return 1;
}

void wm_pki_lua_register(lua_State *L)
{
    static const luaL_Reg funcs[] = {{"ecdsa_p256_verify", l_ecdsa_p256_verify},
                                     {"x509_verify", l_x509_verify},
                                     {"x509_info", l_x509_info},
                                     {"rsa_sign_sha256", l_rsa_sign_sha256},
                                     {NULL, NULL}};
    luaL_register(L, NULL, funcs);
}
