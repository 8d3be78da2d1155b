/* proc.h unit provides child processes that never block the loop: wm.exec
 * runs argv (no shell), feeds stdin, collects stdout and stderr up to a cap,
 * and kills the child's process group when the timeout passes. */
#ifndef WM_PROC_H
#define WM_PROC_H

#include <lua.h>

/* For every spawner (wm.exec, wm serve's workers): the `argv` and `env`
 * fields of the table at `idx` as NULL-terminated vectors for uv_spawn.
 * argv must be a non-empty array of strings; env (may be nil) adds or
 * replaces variables of the parent's environment (false removes one), and
 * *env is NULL without it. Raises, naming `fn`, before allocating anything;
 * release both with wm_proc_strv_free. */
void wm_proc_argv_env(lua_State *L, int idx, const char *fn, char ***argv, char ***env);
void wm_proc_strv_free(char **v);

/* wm.exec into the table on top. */
void wm_proc_lua_register(lua_State *L);

#endif
