/* log.c unit provides the JSON-lines logger declared in log.h. */
#include "log.h"
#include "json.h"
#include "wm.h"

#include <lauxlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/time.h>

static wm_log_level_t min_level = WM_LOG_INFO;
static int unhandled;

static const char *level_names[] = {"debug", "info", "warn", "error"};

void wm_log_set_level(wm_log_level_t min) { min_level = min; }
void wm_log_count_unhandled(void) { unhandled++; }
int wm_log_unhandled(void) { return unhandled; }

void wm_log_write(wm_log_level_t level, const char *msg, const char *fields_json)
{
    if (level < min_level)
        return;
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    char ts[64];
    snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));
    wm_buf_t b;
    wm_buf_init(&b);
    wm_buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":", ts, level_names[level]);
    wm_json_quote(&b, msg, strlen(msg));
    if (fields_json != NULL && fields_json[0] != '\0') {
        wm_buf_puts(&b, ",");
        wm_buf_puts(&b, fields_json);
    }
    wm_buf_puts(&b, "}\n");
    fwrite(b.data, 1, b.len, stderr);
    fflush(stderr);
    wm_buf_free(&b);
}

static void log_kv(wm_log_level_t level, const char *msg, const char *key, const char *value)
{
    if (key == NULL || value == NULL) {
        wm_log_write(level, msg, NULL);
        return;
    }
    wm_buf_t b;
    wm_buf_init(&b);
    wm_json_quote(&b, key, strlen(key));
    wm_buf_puts(&b, ":");
    wm_json_quote(&b, value, strlen(value));
    wm_log_write(level, msg, b.data);
    wm_buf_free(&b);
}

void wm_log_debug_kv(const char *msg, const char *k, const char *v) { log_kv(WM_LOG_DEBUG, msg, k, v); }
void wm_log_info(const char *msg, const char *k, const char *v) { log_kv(WM_LOG_INFO, msg, k, v); }
void wm_log_warn(const char *msg, const char *k, const char *v) { log_kv(WM_LOG_WARN, msg, k, v); }
void wm_log_error(const char *msg, const char *k, const char *v) { log_kv(WM_LOG_ERROR, msg, k, v); }

static int log_at(lua_State *L, wm_log_level_t level)
{
    size_t len;
    const char *msg = luaL_checklstring(L, 1, &len);
    if (level < min_level)
        return 0;
    if (lua_isnoneornil(L, 2)) {
        wm_log_write(level, msg, NULL);
        return 0;
    }
    luaL_checktype(L, 2, LUA_TTABLE);
    wm_buf_t b;
    wm_err_t err;
    wm_buf_init(&b);
    if (wm_json_encode(L, 2, &b, &err) < 0) {
        wm_buf_free(&b);
        return luaL_error(L, "wm.log: fields: %s", err.msg);
    }
    /* Strip the braces (or an empty array's brackets) to splice the fields. */
    if (b.len >= 2 && b.data[0] == '{') {
        b.data[b.len - 1] = '\0';
        wm_log_write(level, msg, b.data + 1);
    } else {
        wm_log_write(level, msg, NULL);
    }
    wm_buf_free(&b);
    return 0;
}

static int l_debug(lua_State *L) { return log_at(L, WM_LOG_DEBUG); }
static int l_info(lua_State *L) { return log_at(L, WM_LOG_INFO); }
static int l_warn(lua_State *L) { return log_at(L, WM_LOG_WARN); }
static int l_error(lua_State *L) { return log_at(L, WM_LOG_ERROR); }

static int l_set_level(lua_State *L)
{
    static const char *const names[] = {"debug", "info", "warn", "error", NULL};
    min_level = (wm_log_level_t)luaL_checkoption(L, 1, NULL, names);
    return 0;
}

void wm_log_lua_register(lua_State *L)
{
    static const luaL_Reg funcs[] = {{"debug", l_debug}, {"info", l_info}, {"warn", l_warn},
                                     {"error", l_error}, {"set_level", l_set_level}, {NULL, NULL}};
    luaL_register(L, NULL, funcs);
}
