/* log.h unit provides structured logging: one JSON object per line on
 * stderr, {"ts":..., "level":..., "msg":..., <fields>}. */
#ifndef WM_LOG_H
#define WM_LOG_H

#include <lua.h>

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

/* Errors in spawned tasks that nobody waited for; `wm run` exits 1 if any. */
void wm_log_count_unhandled(void);
int wm_log_unhandled(void);

/* wm.log.info/warn/error/debug(msg, fields) on the table on top. */
void wm_log_lua_register(lua_State *L);

#endif
