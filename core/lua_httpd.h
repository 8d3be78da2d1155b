/* lua_httpd.h unit provides what other parts of the core need from the
 * "wm.core.httpd" binding (lua_httpd.c): the module's opener and how busy
 * this process's servers are, which the job scheduler yields to. */
#ifndef WM_LUA_HTTPD_H
#define WM_LUA_HTTPD_H

#include <lua.h>

/* "wm.core.httpd" Lua module. */
int wm_lua_httpd_open(lua_State *L);

/* Requests handed to handlers and not yet answered, over every server this
 * process runs. */
unsigned long wm_lua_httpd_active(void);

#endif
