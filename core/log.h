/* log.h unit provides structured logging: one JSON object per line on
 * stderr, {"ts":..., "level":..., "msg":..., <fields>}, and the HTTP access
 * log, which goes with them or to a file of its own that SIGUSR1 reopens
 * (wm_log_reopen) so logrotate can rename it. */
#ifndef WM_LOG_H
#define WM_LOG_H

#include <lua.h>
#include "wm.h"

typedef enum { WM_LOG_DEBUG, WM_LOG_INFO, WM_LOG_WARN, WM_LOG_ERROR } wm_log_level_t;

void wm_log_set_level(wm_log_level_t min);

/* Writes one line. `fields_json` is NULL or the inside of a JSON object
 * ("\"a\":1,\"b\":\"x\""), already encoded. */
void wm_log_write(wm_log_level_t level, const char *msg, const char *fields_json);

/* Convenience for C callers: up to one string field. */
void wm_log_debug_kv(const char *msg, const char *key, const char *value);
void wm_log_info(const char *msg, const char *key, const char *value);
void wm_log_warn(const char *msg, const char *key, const char *value);
void wm_log_error(const char *msg, const char *key, const char *value);

/* Sends the access log to the file at `path` (appended to, created 0640),
 * or back to stderr when `path` is NULL or "". Several processes may append
 * to one file: each line is one write(2) with O_APPEND. Returns 0, or an
 * error (the previous destination is kept). */
int wm_log_access_open(const char *path, wm_err_t *err);

/* Writes one access line, {"ts":..., "level":"info", "msg":"access",
 * <fields_json>}: to the access file when there is one (whatever the level),
 * else to stderr like wm_log_write at info. */
void wm_log_access(const char *fields_json);

/* Reopens the log files at their paths: after a rename, new lines go to a
 * new file of that name. Returns 0, or an error (lines keep going to the
 * file open before). */
int wm_log_reopen(wm_err_t *err);

/* Errors in spawned tasks that nobody waited for; `wm run` exits 1 if any. */
void wm_log_count_unhandled(void);
int wm_log_unhandled(void);

/* wm.log.info/warn/error/debug(msg, fields), set_level(name),
 * access(fields), access_open(path) -> true | nil, err and
 * reopen() -> true | nil, err on the table on top. */
void wm_log_lua_register(lua_State *L);

#endif
