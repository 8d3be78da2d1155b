/* json.h unit provides JSON for the core and for Lua: decoding with cJSON
 * into Lua values and a direct encoder from Lua values.
 *
 * Lua mapping: JSON null <-> wm.null (a light userdata); arrays decode to
 * tables carrying the metatable wm.json.array_mt, so an empty array encodes
 * back as [] and an empty plain table as {}; a table whose keys are exactly
 * 1..n encodes as an array. Integral numbers up to 2^53 print without an
 * exponent or fraction. */
#ifndef WM_JSON_H
#define WM_JSON_H

#include <lua.h>
#include <stddef.h>
#include "wm.h"

/* Appends `s` as a quoted JSON string. */
void wm_json_quote(wm_buf_t *b, const char *s, size_t len);

/* Appends the JSON for the Lua value at `idx`. Returns 0, or WM_EINVAL with
 * a message (a function, NaN, a cycle, a bad key). */
int wm_json_encode(lua_State *L, int idx, wm_buf_t *b, wm_err_t *err);
int wm_json_encode_pretty(lua_State *L, int idx, wm_buf_t *b, wm_err_t *err);

/* Pushes the Lua value for `text`; on malformed input pushes nothing and
 * returns WM_EINVAL with a message that says where. */
int wm_json_decode(lua_State *L, const char *text, size_t len, wm_err_t *err);

/* Pushes wm.null. */
void wm_json_push_null(lua_State *L);
int wm_json_is_null(lua_State *L, int idx);

/* wm.json.encode/decode/array/array_mt and wm.null into the table on top. */
void wm_json_lua_register(lua_State *L);

#endif
