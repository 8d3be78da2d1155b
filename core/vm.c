/* vm.c unit provides the Lua runtime declared in vm.h. */
#include "vm.h"
#include "json.h"
#include "log.h"
#include "lua_httpd.h"
#include "lua_pg.h"
#include "sched.h"

#include <lauxlib.h>
#include <lualib.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

int wm_lua_core_open(lua_State *L);       /* lua_core.c */
int wm_lua_jobs_open(lua_State *L);       /* lua_jobs.c */
int wm_lua_httpc_open(lua_State *L);      /* lua_httpc.c */
int wm_lua_smtp_open(lua_State *L);       /* lua_smtp.c */
int wm_lua_watch_open(lua_State *L);      /* lua_watch.c */

#define MAX_CLOSERS 16

static struct {
    char *root;
    struct { void (*fn)(void *); void *ud; } closers[MAX_CLOSERS];
    int nclosers;
} V;

const char *wm_vm_root(void) { return V.root; }

void wm_vm_on_close(void (*fn)(void *), void *ud)
{
    if (V.nclosers < MAX_CLOSERS) {
        V.closers[V.nclosers].fn = fn;
        V.closers[V.nclosers].ud = ud;
        V.nclosers++;
    }
}

void wm_vm_preload(lua_State *L, const char *name, lua_CFunction open)
{
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "preload");
    lua_pushcfunction(L, open);
    lua_setfield(L, -2, name);
    lua_pop(L, 2);
}

/* package.path: each WM_SCRIPTS_PATH folder, then <root>/scripts. */
static void set_package_path(lua_State *L, const char *root)
{
    wm_buf_t b;
    wm_buf_init(&b);
    const char *extra = getenv("WM_SCRIPTS_PATH");
    if (extra != NULL && extra[0] != '\0') {
        char *copy = wm_strdup(extra), *save = NULL;
        for (char *dir = strtok_r(copy, ":", &save); dir != NULL; dir = strtok_r(NULL, ":", &save))
            wm_buf_printf(&b, "%s/?.lua;%s/?/init.lua;", dir, dir);
        wm_free(copy);
    }
    wm_buf_printf(&b, "%s/scripts/?.lua;%s/scripts/?/init.lua", root, root);
    lua_getglobal(L, "package");
    lua_pushlstring(L, b.data, b.len);
    lua_setfield(L, -2, "path");
    lua_pushliteral(L, "");
    lua_setfield(L, -2, "cpath");
    lua_pop(L, 1);
    wm_buf_free(&b);
}

int wm_vm_open(uv_loop_t *loop, const wm_vm_opts_t *opts, lua_State **out, wm_err_t *err)
{
    lua_State *L = luaL_newstate();
    if (L == NULL)
        return wm_err_set(err, WM_ENOMEM, "cannot create the Lua state");
    luaL_openlibs(L);
    V.root = wm_strdup(opts->root);
    wm_sched_init(loop, L);
    set_package_path(L, opts->root);

    wm_vm_preload(L, "wm.core", wm_lua_core_open);
    wm_vm_preload(L, "wm.core.pg", wm_lua_pg_open);
    wm_vm_preload(L, "wm.core.jobs", wm_lua_jobs_open);
    wm_vm_preload(L, "wm.core.httpd", wm_lua_httpd_open);
    wm_vm_preload(L, "wm.core.httpc", wm_lua_httpc_open);
    wm_vm_preload(L, "wm.core.smtp", wm_lua_smtp_open);
    wm_vm_preload(L, "wm.core.watch", wm_lua_watch_open);

    /* Boot facts the Lua side reads once: the root and the --config file. */
    lua_newtable(L);
    lua_pushstring(L, opts->root);
    lua_setfield(L, -2, "root");
    if (opts->config_file != NULL) {
        lua_pushstring(L, opts->config_file);
        lua_setfield(L, -2, "config_file");
    }
    lua_pushliteral(L, WM_VERSION);
    lua_setfield(L, -2, "version");
    lua_setglobal(L, "WM_BOOT");

    /* require "wm" builds the global table. */
    lua_getglobal(L, "require");
    lua_pushliteral(L, "wm");
    if (wm_lua_pcall(L, 1, 1) != 0) {
        wm_err_set(err, WM_ESCRIPT, "%s", lua_tostring(L, -1));
        lua_close(L);
        wm_sched_close();
        return err ? err->code : WM_ESCRIPT;
    }
    lua_setglobal(L, "wm");
    *out = L;
    return 0;
}

static void close_walk_cb(uv_handle_t *h, void *arg)
{
    WM_UNUSED(arg);
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

void wm_vm_close(lua_State *L)
{
    uv_loop_t *loop = wm_sched_loop();
    wm_sched_cancel_all("shutting down");
    for (int i = V.nclosers - 1; i >= 0; i--)
        V.closers[i].fn(V.closers[i].ud);
    V.nclosers = 0;
    wm_sched_close();
    /* Let subsystems finish their close callbacks before the Lua state goes
     * (their memory is freed there), then close what is left. */
    uv_run(loop, UV_RUN_NOWAIT);
    lua_close(L);
    uv_walk(loop, close_walk_cb, NULL);
    while (uv_run(loop, UV_RUN_NOWAIT) != 0) {
    }
    wm_free(V.root);
    V.root = NULL;
}
