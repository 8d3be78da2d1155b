/* log.c unit provides the JSON-lines logger declared in log.h.
 *
 * Lines to stderr go through stdio and are flushed at once. The access file
 * is a plain descriptor opened O_APPEND: one write(2) per line, so worker
 * processes sharing the file never interleave within a line, and a reopen
 * swaps the descriptor between two lines. */
#include "log.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/time.h>

static wm_log_level_t min_level = WM_LOG_INFO;
static int unhandled;

static int access_fd = -1;             /* -1: the access log goes to stderr */
static char *access_path;
static int access_write_failed;        /* reported once until the next reopen */

static const char *level_names[] = {"debug", "info", "warn", "error"};

void wm_log_set_level(wm_log_level_t min) { min_level = min; }
void wm_log_count_unhandled(void) { unhandled++; }
int wm_log_unhandled(void) { return unhandled; }

/* Formats one line, newline included, into `b`. */
static void format_line(wm_buf_t *b, wm_log_level_t level, const char *msg, const char *fields_json)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    char ts[64];
    snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));
    wm_buf_printf(b, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":", ts, level_names[level]);
    wm_json_quote(b, msg, strlen(msg));
    if (fields_json != NULL && fields_json[0] != '\0') {
        wm_buf_puts(b, ",");
        wm_buf_puts(b, fields_json);
    }
    wm_buf_puts(b, "}\n");
}

void wm_log_write(wm_log_level_t level, const char *msg, const char *fields_json)
{
    if (level < min_level)
        return;
    wm_buf_t b;
    wm_buf_init(&b);
    format_line(&b, level, msg, fields_json);
    fwrite(b.data, 1, b.len, stderr);
    fflush(stderr);
    wm_buf_free(&b);
}

/* ---- the access log ---- */

static int open_append(const char *path, wm_err_t *err)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return wm_err_set(err, -errno, "log: cannot open %s: %s", path, strerror(errno));
    return fd;
}

int wm_log_access_open(const char *path, wm_err_t *err)
{
    int fd = -1;
    if (path != NULL && path[0] != '\0') {
        fd = open_append(path, err);
        if (fd < 0)
            return fd;
    }
    if (access_fd >= 0)
        close(access_fd);
    wm_free(access_path);
    access_fd = fd;
    access_path = fd >= 0 ? wm_strdup(path) : NULL;
    access_write_failed = 0;
    return 0;
}

int wm_log_reopen(wm_err_t *err)
{
    if (access_fd < 0)
        return 0;
    int fd = open_append(access_path, err);
    if (fd < 0)
        return fd;
    close(access_fd);
    access_fd = fd;
    access_write_failed = 0;
    return 0;
}

void wm_log_access(const char *fields_json)
{
    if (access_fd < 0) {
        wm_log_write(WM_LOG_INFO, "access", fields_json);
        return;
    }
    wm_buf_t b;
    wm_buf_init(&b);
    format_line(&b, WM_LOG_INFO, "access", fields_json);
    size_t off = 0;
    while (off < b.len) {
        ssize_t n = write(access_fd, b.data + off, b.len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            /* A full disk must not flood stderr: say it once. */
            if (!access_write_failed) {
                access_write_failed = 1;
                wm_log_error("log: cannot write the access log", "error",
                             n < 0 ? strerror(errno) : "short write");
            }
            break;
        }
        off += (size_t)n;
    }
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

/* Encodes the fields table at `idx` into `b` and returns the inside of the
 * object (braces stripped, to splice), or NULL for no fields. On an
 * encoding error `b` is freed and the error raised. */
static const char *fields_arg(lua_State *L, int idx, wm_buf_t *b)
{
    wm_buf_init(b);
    if (lua_isnoneornil(L, idx))
        return NULL;
    luaL_checktype(L, idx, LUA_TTABLE);
    wm_err_t err;
    if (wm_json_encode(L, idx, b, &err) < 0) {
        wm_buf_free(b);
        luaL_error(L, "wm.log: fields: %s", err.msg);
        return NULL;
    }
    /* An empty table may encode as an array: no fields. */
    if (b->len < 2 || b->data[0] != '{')
        return NULL;
    b->data[b->len - 1] = '\0';
    return b->data + 1;
}

static int log_at(lua_State *L, wm_log_level_t level)
{
    const char *msg = luaL_checkstring(L, 1);
    if (level < min_level)
        return 0;
    wm_buf_t b;
    const char *fields = fields_arg(L, 2, &b);
    wm_log_write(level, msg, fields);
    wm_buf_free(&b);
    return 0;
}

static int l_access(lua_State *L)
{
    if (access_fd < 0 && WM_LOG_INFO < min_level)
        return 0;
    wm_buf_t b;
    const char *fields = fields_arg(L, 1, &b);
    wm_log_access(fields);
    wm_buf_free(&b);
    return 0;
}

static int push_result(lua_State *L, int rc, const wm_err_t *err)
{
    if (rc < 0) {
        lua_pushnil(L);
        lua_pushstring(L, err->msg);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int l_access_open(lua_State *L)
{
    wm_err_t err;
    int rc = wm_log_access_open(luaL_optstring(L, 1, NULL), &err);
    return push_result(L, rc, &err);
}

static int l_reopen(lua_State *L)
{
    wm_err_t err;
    int rc = wm_log_reopen(&err);
    return push_result(L, rc, &err);
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
    static const luaL_Reg funcs[] = {{"debug", l_debug},
                                     {"info", l_info},
                                     {"warn", l_warn},
                                     {"error", l_error},
                                     {"set_level", l_set_level},
                                     {"access", l_access},
                                     {"access_open", l_access_open},
                                     {"reopen", l_reopen},
                                     {NULL, NULL}};
    luaL_register(L, NULL, funcs);
}
