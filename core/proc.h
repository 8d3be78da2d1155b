/* proc.h unit provides child processes that never block the loop: wm.exec
 * runs argv (no shell), feeds stdin, collects stdout and stderr up to a cap,
 * and kills the child's process group when the timeout passes. */
#ifndef WM_PROC_H
#define WM_PROC_H

#include <lua.h>

/* For other spawners (wm serve's workers): the array of strings at `idx`
 * as a NULL-terminated vector (raises on a non-string); the parent's
 * environment with the table at `idx` added or replaced (false removes);
 * and the vectors' release. */
char **wm_proc_strv(lua_State *L, int idx, const char *what);
char **wm_proc_env(lua_State *L, int idx);
void wm_proc_strv_free(char **v);

/* wm.exec into the table on top. */
void wm_proc_lua_register(lua_State *L);

#endif
