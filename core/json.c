/* json.c unit provides the JSON codec declared in json.h. */
#include "json.h"

#include <cJSON.h>
#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 1000

static char array_mt_key;

void wm_json_push_null(lua_State *L)
{
    lua_pushlightuserdata(L, NULL);
}

int wm_json_is_null(lua_State *L, int idx)
{
    return lua_type(L, idx) == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == NULL;
}

void wm_json_quote(wm_buf_t *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    wm_buf_reserve(b, len + 2);
    wm_buf_append(b, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[7];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default:
            u[0] = '\\'; u[1] = 'u'; u[2] = '0'; u[3] = '0';
            u[4] = hex[c >> 4]; u[5] = hex[c & 15]; u[6] = '\0';
            esc = u;
        }
        wm_buf_append(b, s + start, i - start);
        wm_buf_puts(b, esc);
        start = i + 1;
    }
    wm_buf_append(b, s + start, len - start);
    wm_buf_append(b, "\"", 1);
}

static void put_number(wm_buf_t *b, double x)
{
    char tmp[64];
    if (x == floor(x) && fabs(x) < 9007199254740992.0 * 2) {
        snprintf(tmp, sizeof(tmp), "%.0f", x);
        if (strcmp(tmp, "-0") == 0)
            strcpy(tmp, "0");
    } else {
        for (int prec = 14; prec <= 17; prec++) {
            snprintf(tmp, sizeof(tmp), "%.*g", prec, x);
            if (strtod(tmp, NULL) == x)
                break;
        }
    }
    wm_buf_puts(b, tmp);
}

/* Returns n > 0 when the table's keys are exactly 1..n, 0 when empty, -1
 * otherwise. */
static int array_length(lua_State *L, int idx)
{
    int n = 0, max = 0;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TNUMBER) {
            lua_pop(L, 1);
            return -1;
        }
        double k = lua_tonumber(L, -1);
        if (k != floor(k) || k < 1) {
            lua_pop(L, 1);
            return -1;
        }
        if (k > max)
            max = (int)k;
        n++;
    }
    return n == max ? n : -1;
}

static int has_array_mt(lua_State *L, int idx)
{
    if (!lua_getmetatable(L, idx))
        return 0;
    lua_pushlightuserdata(L, &array_mt_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    int eq = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return eq;
}

static void newline(wm_buf_t *b, int pretty, int depth)
{
    if (!pretty)
        return;
    wm_buf_append(b, "\n", 1);
    for (int i = 0; i < depth; i++)
        wm_buf_append(b, "  ", 2);
}

/* With SANITIZE, what JSON cannot hold is mended instead of refused: bytes
 * that are not UTF-8 become U+FFFD, NUL is dropped, NaN, infinities and
 * values of other types become null. For storing scraped data as JSONB. */
enum { PRETTY = 1, SANITIZE = 2 };

static void quote_clean(wm_buf_t *b, const char *str, size_t len)
{
    wm_buf_t clean;
    wm_buf_init(&clean);
    if (wm_utf8_clean(&clean, str, len))
        wm_json_quote(b, clean.data, clean.len);
    else
        wm_json_quote(b, str, len);
    wm_buf_free(&clean);
}

static int encode(lua_State *L, int idx, wm_buf_t *b, wm_err_t *err, int depth, int flags)
{
    int pretty = flags & PRETTY;
    if (idx < 0)
        idx = lua_gettop(L) + idx + 1;
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        wm_buf_puts(b, "null");
        return 0;
    case LUA_TBOOLEAN:
        wm_buf_puts(b, lua_toboolean(L, idx) ? "true" : "false");
        return 0;
    case LUA_TNUMBER: {
        double x = lua_tonumber(L, idx);
        if ((isnan(x) || isinf(x)) && (flags & SANITIZE)) {
            wm_buf_puts(b, "null");
            return 0;
        }
        if (isnan(x) || isinf(x))
            return wm_err_set(err, WM_EINVAL, "cannot encode %s as JSON", isnan(x) ? "NaN" : "infinity");
        put_number(b, x);
        return 0;
    }
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        if (flags & SANITIZE)
            quote_clean(b, s, len);
        else
            wm_json_quote(b, s, len);
        return 0;
    }
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL) {
            wm_buf_puts(b, "null");
            return 0;
        }
        break;
    case LUA_TTABLE: {
        if (depth >= MAX_DEPTH)
            return wm_err_set(err, WM_EINVAL, "cannot encode: nested deeper than %d (a cycle?)", MAX_DEPTH);
        if (!lua_checkstack(L, 4))
            return wm_err_set(err, WM_EINVAL, "cannot encode: Lua stack exhausted");
        int n = has_array_mt(L, idx) ? (int)lua_objlen(L, idx) : array_length(L, idx);
        if (n > 0 || (n == 0 && has_array_mt(L, idx))) {
            wm_buf_append(b, "[", 1);
            for (int i = 1; i <= n; i++) {
                if (i > 1)
                    wm_buf_append(b, ",", 1);
                newline(b, pretty, depth + 1);
                lua_rawgeti(L, idx, i);
                int rc = encode(L, -1, b, err, depth + 1, flags);
                lua_pop(L, 1);
                if (rc < 0)
                    return rc;
            }
            if (n > 0)
                newline(b, pretty, depth);
            wm_buf_append(b, "]", 1);
            return 0;
        }
        wm_buf_append(b, "{", 1);
        int first = 1;
        lua_pushnil(L);
        while (lua_next(L, idx) != 0) {
            int kt = lua_type(L, -2);
            if (kt != LUA_TSTRING && kt != LUA_TNUMBER) {
                lua_pop(L, 2);
                return wm_err_set(err, WM_EINVAL, "cannot encode a table key of type %s",
                                  lua_typename(L, kt));
            }
            if (!first)
                wm_buf_append(b, ",", 1);
            first = 0;
            newline(b, pretty, depth + 1);
            if (kt == LUA_TSTRING) {
                size_t klen;
                const char *k = lua_tolstring(L, -2, &klen);
                if (flags & SANITIZE)
                    quote_clean(b, k, klen);
                else
                    wm_json_quote(b, k, klen);
            } else {
                wm_buf_t kb;
                wm_buf_init(&kb);
                put_number(&kb, lua_tonumber(L, -2));
                wm_json_quote(b, kb.data, kb.len);
                wm_buf_free(&kb);
            }
            wm_buf_append(b, pretty ? ": " : ":", pretty ? 2 : 1);
            int rc = encode(L, -1, b, err, depth + 1, flags);
            lua_pop(L, 1);
            if (rc < 0) {
                lua_pop(L, 1);
                return rc;
            }
        }
        if (!first)
            newline(b, pretty, depth);
        wm_buf_append(b, "}", 1);
        return 0;
    }
    default:
        break;
    }
    if (flags & SANITIZE) {
        wm_buf_puts(b, "null");
        return 0;
    }
    return wm_err_set(err, WM_EINVAL, "cannot encode a %s as JSON", luaL_typename(L, idx));
}

int wm_json_encode(lua_State *L, int idx, wm_buf_t *b, wm_err_t *err)
{
    return encode(L, idx, b, err, 0, 0);
}

int wm_json_encode_pretty(lua_State *L, int idx, wm_buf_t *b, wm_err_t *err)
{
    return encode(L, idx, b, err, 0, PRETTY);
}

static void push_array_mt(lua_State *L)
{
    lua_pushlightuserdata(L, &array_mt_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
}

static int push_item(lua_State *L, const cJSON *item, int depth)
{
    if (depth > MAX_DEPTH || !lua_checkstack(L, 4))
        return -1;
    if (cJSON_IsNull(item)) {
        wm_json_push_null(L);
    } else if (cJSON_IsFalse(item)) {
        lua_pushboolean(L, 0);
    } else if (cJSON_IsTrue(item)) {
        lua_pushboolean(L, 1);
    } else if (cJSON_IsNumber(item)) {
        lua_pushnumber(L, item->valuedouble);
    } else if (cJSON_IsString(item)) {
        lua_pushstring(L, item->valuestring);
    } else if (cJSON_IsArray(item)) {
        lua_createtable(L, cJSON_GetArraySize(item), 0);
        int i = 1;
        for (const cJSON *c = item->child; c != NULL; c = c->next, i++) {
            if (push_item(L, c, depth + 1) < 0)
                return -1;
            lua_rawseti(L, -2, i);
        }
        push_array_mt(L);
        lua_setmetatable(L, -2);
    } else if (cJSON_IsObject(item)) {
        lua_createtable(L, 0, 4);
        for (const cJSON *c = item->child; c != NULL; c = c->next) {
            lua_pushstring(L, c->string);
            if (push_item(L, c, depth + 1) < 0)
                return -1;
            lua_rawset(L, -3);
        }
    } else {
        wm_json_push_null(L);
    }
    return 0;
}

int wm_json_decode(lua_State *L, const char *text, size_t len, wm_err_t *err)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (root == NULL) {
        size_t at = end != NULL && end >= text ? (size_t)(end - text) : 0;
        if (len == 0)
            return wm_err_set(err, WM_EINVAL, "malformed JSON: empty input");
        return wm_err_set(err, WM_EINVAL, "malformed JSON at byte %zu", at + 1);
    }
    /* Only whitespace may follow the value. */
    while (end != NULL && end < text + len && (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
        end++;
    if (end != NULL && end < text + len) {
        size_t at = (size_t)(end - text);
        cJSON_Delete(root);
        return wm_err_set(err, WM_EINVAL, "malformed JSON: trailing data at byte %zu", at + 1);
    }
    int top = lua_gettop(L);
    int rc = push_item(L, root, 0);
    cJSON_Delete(root);
    if (rc < 0) {
        lua_settop(L, top);
        return wm_err_set(err, WM_EINVAL, "malformed JSON: nested deeper than %d", MAX_DEPTH);
    }
    return 0;
}

static int l_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    int flags = 0;
    if (lua_istable(L, 2)) {
        lua_getfield(L, 2, "pretty");
        flags |= lua_toboolean(L, -1) ? PRETTY : 0;
        lua_getfield(L, 2, "sanitize");
        flags |= lua_toboolean(L, -1) ? SANITIZE : 0;
        lua_pop(L, 2);
    }
    lua_settop(L, 1);
    wm_buf_t b;
    wm_err_t err;
    wm_buf_init(&b);
    if (encode(L, 1, &b, &err, 0, flags) < 0) {
        wm_buf_free(&b);
        lua_pushnil(L);
        lua_pushstring(L, err.msg);
        return 2;
    }
    lua_pushlstring(L, b.data ? b.data : "", b.len);
    wm_buf_free(&b);
    return 1;
}

static int l_decode(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    wm_err_t err;
    if (wm_json_decode(L, s, len, &err) < 0) {
        lua_pushnil(L);
        lua_pushstring(L, err.msg);
        return 2;
    }
    return 1;
}

static int l_array(lua_State *L)
{
    if (lua_isnoneornil(L, 1))
        lua_newtable(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    push_array_mt(L);
    lua_setmetatable(L, 1);
    return 1;
}

void wm_json_lua_register(lua_State *L)
{
    lua_pushlightuserdata(L, &array_mt_key);
    lua_newtable(L);
    lua_pushliteral(L, "array");
    lua_setfield(L, -2, "__name");
    lua_rawset(L, LUA_REGISTRYINDEX);

    lua_newtable(L);
    lua_pushcfunction(L, l_encode);
    lua_setfield(L, -2, "encode");
    lua_pushcfunction(L, l_decode);
    lua_setfield(L, -2, "decode");
    lua_pushcfunction(L, l_array);
    lua_setfield(L, -2, "array");
    push_array_mt(L);
    lua_setfield(L, -2, "array_mt");
    wm_json_push_null(L);
    lua_setfield(L, -2, "null");
    lua_setfield(L, -2, "json");
    wm_json_push_null(L);
    lua_setfield(L, -2, "null");
}
