/* lua_core.c unit provides the "wm.core" module: the scheduler calls, log,
 * json, crypto, codec, exec, signals and a few file-system helpers, gathered into
 * one table that scripts/wm/init.lua turns into the global `wm`. */
#include "codec.h"
#include "crypto.h"
#include "dns.h"
#include "image.h"
#include "json.h"
#include "log.h"
#include "proc.h"
#include "sched.h"
#include "vm.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

void wm_fs_lua_register(lua_State *L);   /* lua_fs.c: read_file, write_file, stat, mkdir_p */

/* ---- signals: wm.on_signal(name, fn) runs fn in a new task ---- */

struct sig_watch {
    uv_signal_t h;
    int fn_ref;
};

static struct sig_watch sigs[4];
static const struct { const char *name; int signum; } sig_names[] = {
    {"int", SIGINT}, {"term", SIGTERM}, {"hup", SIGHUP}, {"usr1", SIGUSR1}};

static void signal_cb(uv_signal_t *h, int signum)
{
    struct sig_watch *w = h->data;
    lua_State *L = wm_sched_main_state();
    lua_rawgeti(L, LUA_REGISTRYINDEX, w->fn_ref);
    for (size_t i = 0; i < WM_ARRAY_LEN(sig_names); i++) {
        if (sig_names[i].signum == signum)
            lua_pushstring(L, sig_names[i].name);
    }
    wm_sched_spawn(L, 1, NULL, NULL);
}

static void signals_close(void *ud)
{
    WM_UNUSED(ud);
    for (size_t i = 0; i < WM_ARRAY_LEN(sigs); i++) {
        if (sigs[i].h.data != NULL && !uv_is_closing((uv_handle_t *)&sigs[i].h)) {
            uv_close((uv_handle_t *)&sigs[i].h, NULL);
            sigs[i].h.data = NULL;
        }
    }
}

static int l_on_signal(lua_State *L)
{
    static const char *const names[] = {"int", "term", "hup", "usr1", NULL};
    int i = luaL_checkoption(L, 1, NULL, names);
    struct sig_watch *w = &sigs[i];
    if (lua_isnil(L, 2)) {
        if (w->h.data != NULL && w->fn_ref != LUA_NOREF) {
            uv_signal_stop(&w->h);
            luaL_unref(L, LUA_REGISTRYINDEX, w->fn_ref);
            w->fn_ref = LUA_NOREF;
        }
        return 0;
    }
    luaL_checktype(L, 2, LUA_TFUNCTION);
    static int closer_registered;
    if (!closer_registered) {
        wm_vm_on_close(signals_close, NULL);
        closer_registered = 1;
    }
    if (w->h.data == NULL) {
        uv_signal_init(wm_sched_loop(), &w->h);
        w->h.data = w;
        uv_unref((uv_handle_t *)&w->h);
    } else if (w->fn_ref != LUA_NOREF) {
        luaL_unref(L, LUA_REGISTRYINDEX, w->fn_ref);
    }
    lua_pushvalue(L, 2);
    w->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    uv_signal_start(&w->h, signal_cb, sig_names[i].signum);
    return 0;
}

/* ---- files ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* list_dir(path) -> sorted array of names (no . and ..) | nil, err */
static int l_list_dir(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    DIR *d = opendir(path);
    if (d == NULL) {
        lua_pushnil(L);
        lua_pushfstring(L, "%s: %s", path, strerror(errno));
        return 2;
    }
    size_t n = 0, cap = 32;
    char **names = wm_malloc(cap * sizeof(char *));
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n == cap) {
            cap *= 2;
            names = wm_realloc(names, cap * sizeof(char *));
        }
        names[n++] = wm_strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(char *), cmp_str);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushstring(L, names[i]);
        lua_rawseti(L, -2, (int)i + 1);
        wm_free(names[i]);
    }
    wm_free(names);
    return 1;
}

static int l_realpath(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    char *r = realpath(path, NULL);
    if (r == NULL) {
        lua_pushnil(L);
        lua_pushstring(L, strerror(errno));
        return 2;
    }
    lua_pushstring(L, r);
    free(r);
    return 1;
}

/* lock_file(path) -> fd | nil, err: an exclusive flock(2) on path (created
 * when missing), held until unlock_file(fd) or the end of the process. The
 * kernel drops it when the process dies, however it dies, so a crash leaves
 * no stale lock; the descriptor is close-on-exec, so children (HTTP
 * workers, the embedded PostgreSQL) never hold it. err is "busy" when
 * another process holds the lock. */
static int l_lock_file(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "%s: %s", path, strerror(errno));
        return 2;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        lua_pushnil(L);
        if (e == EWOULDBLOCK)
            lua_pushliteral(L, "busy");
        else
            lua_pushfstring(L, "%s: %s", path, strerror(e));
        return 2;
    }
    lua_pushinteger(L, fd);
    return 1;
}

/* unlock_file(fd): releases a lock_file lock (closing its descriptor). */
static int l_unlock_file(lua_State *L)
{
    close((int)luaL_checkinteger(L, 1));
    return 0;
}

static int l_getuid(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)geteuid());
    return 1;
}

static int l_getpid(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)getpid());
    return 1;
}

static int l_isatty(lua_State *L)
{
    lua_pushboolean(L, isatty((int)luaL_optinteger(L, 1, 1)));
    return 1;
}

/* Lets `wm run` know whether spawned tasks failed unobserved. */
static int l_unhandled_errors(lua_State *L)
{
    lua_pushinteger(L, wm_log_unhandled());
    return 1;
}

static int l_live_tasks(lua_State *L)
{
    lua_pushinteger(L, wm_sched_live());
    return 1;
}

static int l_stop_loop(lua_State *L)
{
    WM_UNUSED(L);
    uv_stop(wm_sched_loop());
    return 0;
}

/* utf8_clean(s): s as valid UTF-8. A byte that does not start a
 * well-formed sequence (overlongs, surrogates, past U+10FFFF) becomes
 * U+FFFD; NUL bytes are dropped. Returns s itself when it is clean. */
static int l_utf8_clean(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    wm_buf_t b;
    wm_buf_init(&b);
    if (!wm_utf8_clean(&b, s, len)) {
        lua_settop(L, 1);
        return 1;
    }
    lua_pushlstring(L, b.data, b.len);
    wm_buf_free(&b);
    return 1;
}

static int l_hostname(lua_State *L)
{
    char buf[256];
    if (gethostname(buf, sizeof(buf)) != 0)
        strcpy(buf, "localhost");
    buf[sizeof(buf) - 1] = '\0';
    lua_pushstring(L, buf);
    return 1;
}

int wm_lua_core_open(lua_State *L)
{
    lua_newtable(L);
    wm_sched_lua_register(L);
    lua_newtable(L);
    wm_log_lua_register(L);
    lua_setfield(L, -2, "log");
    wm_json_lua_register(L);
    wm_crypto_init();
    wm_crypto_lua_register(L);
    wm_codec_lua_register(L);
    wm_proc_lua_register(L);
    wm_fs_lua_register(L);
    wm_dns_lua_register(L);
    wm_image_lua_register(L);

    static const luaL_Reg funcs[] = {
        {"on_signal", l_on_signal},       {"list_dir", l_list_dir},
        {"realpath", l_realpath},         {"getuid", l_getuid},
        {"getpid", l_getpid},             {"isatty", l_isatty},
        {"unhandled_errors", l_unhandled_errors}, {"live_tasks", l_live_tasks},
        {"stop_loop", l_stop_loop},       {"hostname", l_hostname},
        {"utf8_clean", l_utf8_clean},
        {"lock_file", l_lock_file},       {"unlock_file", l_unlock_file},
        {NULL, NULL}};
    luaL_register(L, NULL, funcs);
    return 1;
}
