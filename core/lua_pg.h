/* lua_pg.h unit provides what other parts of the core need from the
 * "wm.core.pg" binding (lua_pg.c): the module's opener and the pool that
 * wm.db opened, which the job scheduler shares. */
#ifndef WM_LUA_PG_H
#define WM_LUA_PG_H

#include <lua.h>
#include "pg.h"

/* "wm.core.pg" Lua module. */
int wm_lua_pg_open(lua_State *L);

/* The pool opened by wm.db.open, or NULL. */
wm_pg_pool_t *wm_lua_pg_pool(void);

#endif
