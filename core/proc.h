/* proc.h unit provides child processes that never block the loop: wm.exec
 * runs argv (no shell), feeds stdin, collects stdout and stderr up to a cap,
 * and kills the child's process group when the timeout passes. */
#ifndef WM_PROC_H
#define WM_PROC_H

#include <lua.h>

/* wm.exec into the table on top. */
void wm_proc_lua_register(lua_State *L);

#endif
