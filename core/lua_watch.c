/* lua_watch.c unit provides the "wm.core.watch" module, the Lua face of
 * watch.c, plus the one process call hot reload needs:
 *
 *   start(dirs, fn[, debounce]) -> watcher | nil, err
 *     Watches each directory of `dirs` (a string or an array of strings)
 *     recursively. Each debounced batch of changed paths runs fn(paths) in a
 *     new task. The watcher stays alive until watcher:close() or shutdown.
 *   watcher:add(dir) -> true | nil, err
 *   watcher:dirs() -> sorted array of the directories watched
 *   watcher:close()
 *   kill(pid, sig) -> true | nil, err
 *     Sends "hup", "term", "int", "usr1", "usr2", "kill", or 0 (only checks
 *     that the process exists and may be signalled). err is "no such
 *     process", "permission denied" or strerror. */
#include "sched.h"
#include "vm.h"
#include "watch.h"

#include <errno.h>
#include <lauxlib.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static const char WATCH_MT[] = "wm.core.watch";

struct lwatch {
    wm_watch_t *w;         /* NULL once closed */
    int fn_ref, self_ref;
    struct lwatch *next, *prev;
};

static struct lwatch *all;
static int closer_registered;

static void batch_cb(wm_watch_t *w, const char *const *paths, int n, void *ud)
{
    struct lwatch *lw = ud;
    lua_State *L = wm_sched_main_state();
    WM_UNUSED(w);
    lua_rawgeti(L, LUA_REGISTRYINDEX, lw->fn_ref);   /* stack: fn */
    lua_createtable(L, n, 0);                         /* stack: fn, paths */
    for (int i = 0; i < n; i++) {
        lua_pushstring(L, paths[i]);
        lua_rawseti(L, -2, i + 1);
    }
    wm_sched_spawn(L, 1, NULL, NULL);                 /* pops both */
}

static void lwatch_close(lua_State *L, struct lwatch *lw)
{
    if (lw->w == NULL)
        return;
    wm_watch_close(lw->w);
    lw->w = NULL;
    if (lw->prev != NULL)
        lw->prev->next = lw->next;
    else
        all = lw->next;
    if (lw->next != NULL)
        lw->next->prev = lw->prev;
    lw->next = lw->prev = NULL;
    if (L != NULL) {
        luaL_unref(L, LUA_REGISTRYINDEX, lw->fn_ref);
        luaL_unref(L, LUA_REGISTRYINDEX, lw->self_ref);
    }
    lw->fn_ref = lw->self_ref = LUA_NOREF;
}

/* Shutdown: runs before the Lua state closes. */
static void close_all(void *ud)
{
    WM_UNUSED(ud);
    lua_State *L = wm_sched_main_state();
    while (all != NULL)
        lwatch_close(L, all);
    closer_registered = 0;
}

static int add_dirs(lua_State *L, struct lwatch *lw, int idx)
{
    wm_err_t err;
    if (lua_type(L, idx) == LUA_TSTRING) {
        if (wm_watch_add(lw->w, lua_tostring(L, idx), &err) < 0) {
            lua_pushnil(L);
            lua_pushstring(L, err.msg);
            return 2;
        }
        return 0;
    }
    int n = (int)lua_objlen(L, idx);
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, i);
        const char *dir = lua_tostring(L, -1);
        if (wm_watch_add(lw->w, dir, &err) < 0) {
            lua_pushnil(L);
            lua_pushstring(L, err.msg);
            return 2;
        }
        lua_pop(L, 1);
    }
    return 0;
}

static int l_start(lua_State *L)
{
    if (lua_type(L, 1) != LUA_TSTRING && !lua_istable(L, 1))
        return luaL_argerror(L, 1, "a directory or an array of directories");
    luaL_checktype(L, 2, LUA_TFUNCTION);
    double debounce = luaL_optnumber(L, 3, 0.1);
    if (lua_istable(L, 1)) {
        int n = (int)lua_objlen(L, 1);
        for (int i = 1; i <= n; i++) {
            lua_rawgeti(L, 1, i);
            if (lua_type(L, -1) != LUA_TSTRING)
                return luaL_error(L, "watch.start: dirs[%d] must be a string", i);
            lua_pop(L, 1);
        }
    }

    struct lwatch *lw = lua_newuserdata(L, sizeof(*lw));   /* stack: dirs, fn, [deb], ud */
    memset(lw, 0, sizeof(*lw));
    lw->fn_ref = lw->self_ref = LUA_NOREF;
    luaL_getmetatable(L, WATCH_MT);
    lua_setmetatable(L, -2);
    int ud_idx = lua_gettop(L);
    wm_err_t err;
    if (wm_watch_open(wm_sched_loop(), debounce, batch_cb, lw, &lw->w, &err) < 0) {
        lua_pushnil(L);
        lua_pushstring(L, err.msg);
        return 2;
    }
    lw->next = all;
    if (all != NULL)
        all->prev = lw;
    all = lw;
    if (!closer_registered) {
        wm_vm_on_close(close_all, NULL);
        closer_registered = 1;
    }
    lua_pushvalue(L, 2);
    lw->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushvalue(L, ud_idx);
    lw->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    int nret = add_dirs(L, lw, 1);
    if (nret > 0) {
        lwatch_close(L, lw);
        return nret;
    }
    lua_settop(L, ud_idx);
    return 1;
}

static struct lwatch *check_open(lua_State *L)
{
    struct lwatch *lw = luaL_checkudata(L, 1, WATCH_MT);
    if (lw->w == NULL)
        luaL_error(L, "watcher is closed");
    return lw;
}

static int l_add(lua_State *L)
{
    struct lwatch *lw = check_open(L);
    luaL_checkstring(L, 2);
    int nret = add_dirs(L, lw, 2);
    if (nret > 0)
        return nret;
    lua_pushboolean(L, 1);
    return 1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

struct collect {
    char **v;
    int n;
};

static void collect_dir(const char *dir, void *ud)
{
    struct collect *c = ud;
    c->v[c->n++] = (char *)dir;
}

static int l_dirs(lua_State *L)
{
    struct lwatch *lw = check_open(L);
    int n = wm_watch_count(lw->w);
    struct collect c = {wm_calloc((size_t)n + 1, sizeof(char *)), 0};
    wm_watch_each_dir(lw->w, collect_dir, &c);
    qsort(c.v, (size_t)c.n, sizeof(char *), cmp_str);
    lua_createtable(L, c.n, 0);
    for (int i = 0; i < c.n; i++) {
        lua_pushstring(L, c.v[i]);
        lua_rawseti(L, -2, i + 1);
    }
    wm_free(c.v);
    return 1;
}

static int l_close(lua_State *L)
{
    struct lwatch *lw = luaL_checkudata(L, 1, WATCH_MT);
    lwatch_close(L, lw);
    return 0;
}

static int l_gc(lua_State *L)
{
    /* Open watchers are anchored by self_ref, so this only sees closed
     * ones, or the state closing after close_all. */
    struct lwatch *lw = luaL_checkudata(L, 1, WATCH_MT);
    lwatch_close(NULL, lw);
    return 0;
}

static int l_kill(lua_State *L)
{
    static const struct { const char *name; int sig; } sigs[] = {
        {"hup", SIGHUP}, {"term", SIGTERM}, {"int", SIGINT}, {"usr1", SIGUSR1},
        {"usr2", SIGUSR2}, {"kill", SIGKILL}};
    lua_Integer pid = luaL_checkinteger(L, 1);
    if (pid <= 0)
        return luaL_argerror(L, 1, "pid must be positive");
    int sig = -1;
    if (lua_type(L, 2) == LUA_TNUMBER && lua_tointeger(L, 2) == 0) {
        sig = 0;
    } else {
        const char *name = luaL_checkstring(L, 2);
        for (size_t i = 0; i < WM_ARRAY_LEN(sigs); i++) {
            if (strcmp(name, sigs[i].name) == 0)
                sig = sigs[i].sig;
        }
        if (sig < 0)
            return luaL_argerror(L, 2, "hup, term, int, usr1, usr2, kill or 0");
    }
    if (kill((pid_t)pid, sig) != 0) {
        int e = errno;
        lua_pushnil(L);
        if (e == ESRCH)
            lua_pushliteral(L, "no such process");
        else if (e == EPERM)
            lua_pushliteral(L, "permission denied");
        else
            lua_pushstring(L, strerror(e));
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

int wm_lua_watch_open(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"add", l_add}, {"dirs", l_dirs}, {"close", l_close}, {NULL, NULL}};
    static const luaL_Reg funcs[] = {{"start", l_start}, {"kill", l_kill}, {NULL, NULL}};
    if (luaL_newmetatable(L, WATCH_MT)) {
        lua_newtable(L);
        luaL_register(L, NULL, methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    lua_newtable(L);
    luaL_register(L, NULL, funcs);
    return 1;
}
