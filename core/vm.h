/* vm.h unit provides the Lua runtime: one LuaJIT state on the process's
 * libuv loop, the module search path (WM_SCRIPTS_PATH folders first, then
 * the project's scripts/), the C modules preloaded as "wm.core.*", and the
 * global `wm` table built by scripts/wm/init.lua. */
#ifndef WM_VM_H
#define WM_VM_H

#include <lua.h>
#include <uv.h>
#include "wm.h"

typedef struct {
    const char *root;         /* project root: holds scripts/, config/, migrations/ */
    const char *config_file;  /* --config FILE, or NULL */
} wm_vm_opts_t;

/* Creates the Lua state and scheduler on `loop`. */
int wm_vm_open(uv_loop_t *loop, const wm_vm_opts_t *opts, lua_State **out, wm_err_t *err);

/* Closes every subsystem, the remaining handles, the loop's pending work and
 * the Lua state. */
void wm_vm_close(lua_State *L);

/* Registers a C module under package.preload[name]. */
void wm_vm_preload(lua_State *L, const char *name, lua_CFunction open);

/* Registers a function that wm_vm_close runs before closing handles (a
 * subsystem's shutdown), last registered first. */
void wm_vm_on_close(void (*fn)(void *), void *ud);

/* The project root the runtime was opened with. */
const char *wm_vm_root(void);

#endif
