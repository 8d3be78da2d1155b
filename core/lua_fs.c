/* lua_fs.c unit provides the Lua side of fs.h, registered into "wm.core"
 * (scripts/wm/init.lua puts them under wm.fs):
 *
 *   read_file(path[, max_bytes]) -> data | nil, err, code
 *   write_file(path, data[, {fsync=, atomic=, mode=}]) -> true | nil, err, code
 *   stat(path[, {wait=true}]) -> {type="file"|"dir"|"other", size=, mtime=, mode=, uid=} | nil, err, code
 *   mkdir_p(path[, mode]) -> true | nil, err, code
 *
 * err names the step and the path, code is libuv's name ("ENOENT").
 * read_file and write_file move data: inside a task they wait for the
 * thread pool; outside one (boot code, a coroutine of the script's own) they
 * run inline. stat and mkdir_p always run inline, as they did before: they
 * are called while modules load, inside `require`, where a task cannot yield
 * ("attempt to yield across C-call boundary"), and they only touch
 * metadata. Arguments are checked before anything is allocated, so a raised
 * error leaks nothing. */
#include "fs.h"
#include "sched.h"

#include <lauxlib.h>

/* read_file's limit when the caller names none. */
#define DEFAULT_MAX_READ (64u << 20)

static int push_failure(lua_State *L, wm_fs_op_t *op)
{
    lua_pushnil(L);
    lua_pushstring(L, wm_fs_error(op));
    lua_pushstring(L, uv_err_name(wm_fs_status(op)));
    return 3;
}

static int push_data(wm_co_t *co, lua_State *L, void *p)
{
    wm_fs_op_t *op = p;
    WM_UNUSED(co);
    int n = 1;
    if (wm_fs_status(op) < 0) {
        n = push_failure(L, op);
    } else {
        size_t len;
        const char *data = wm_fs_data(op, &len);
        lua_pushlstring(L, data, len);
    }
    wm_fs_free(op);
    return n;
}

static int push_true(wm_co_t *co, lua_State *L, void *p)
{
    wm_fs_op_t *op = p;
    WM_UNUSED(co);
    int n = 1;
    if (wm_fs_status(op) < 0)
        n = push_failure(L, op);
    else
        lua_pushboolean(L, 1);
    wm_fs_free(op);
    return n;
}

static int push_stat(wm_co_t *co, lua_State *L, void *p)
{
    wm_fs_op_t *op = p;
    WM_UNUSED(co);
    if (wm_fs_status(op) < 0) {
        int n = push_failure(L, op);
        wm_fs_free(op);
        return n;
    }
    const wm_fs_stat_t *st = wm_fs_statbuf(op);
    lua_createtable(L, 0, 5);
    lua_pushstring(L, st->type == WM_FS_FILE ? "file" : st->type == WM_FS_DIR ? "dir" : "other");
    lua_setfield(L, -2, "type");
    lua_pushnumber(L, (lua_Number)st->size);
    lua_setfield(L, -2, "size");
    lua_pushnumber(L, st->mtime);
    lua_setfield(L, -2, "mtime");
    lua_pushinteger(L, (lua_Integer)st->mode);
    lua_setfield(L, -2, "mode");
    lua_pushinteger(L, (lua_Integer)st->uid);
    lua_setfield(L, -2, "uid");
    wm_fs_free(op);
    return 1;
}

static void on_done(wm_fs_op_t *op, void *data)
{
    WM_UNUSED(op);
    wm_sched_resume(data);
}

static void fs_cancel(wm_co_t *co, void *op)
{
    WM_UNUSED(co);
    wm_fs_abandon(op);
}

/* After wm_fs_*: inline, the results now; in a task, once they are ready. */
static int finish(lua_State *L, wm_co_t *co, int rc, wm_fs_op_t *op, wm_co_push_fn push)
{
    if (co == NULL)
        return push(NULL, L, op);
    if (op == NULL) {
        lua_pushnil(L);
        lua_pushstring(L, uv_strerror(rc));
        lua_pushstring(L, uv_err_name(rc));
        return 3;
    }
    return wm_sched_yield(co, op, push, fs_cancel);
}

static int l_read_file(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    lua_Number max = luaL_optnumber(L, 2, DEFAULT_MAX_READ);
    if (max < 0)
        return luaL_argerror(L, 2, "max_bytes must not be negative");
    wm_co_t *co = wm_sched_current(L);
    wm_fs_op_t *op;
    int rc = wm_fs_read_file(wm_sched_loop(), path, (size_t)max, co ? on_done : NULL, co, &op);
    return finish(L, co, rc, op, push_data);
}

static int l_write_file(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    size_t len;
    const char *data = luaL_checklstring(L, 2, &len);
    int flags = 0, mode = 0644;
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        lua_getfield(L, 3, "fsync");
        flags |= lua_toboolean(L, -1) ? WM_FS_FSYNC : 0;
        lua_getfield(L, 3, "atomic");
        flags |= lua_toboolean(L, -1) ? WM_FS_ATOMIC : 0;
        lua_getfield(L, 3, "mode");
        if (!lua_isnil(L, -1)) {
            if (!lua_isnumber(L, -1))
                return luaL_argerror(L, 3, "mode must be a number");
            mode = (int)lua_tointeger(L, -1);
        }
        lua_pop(L, 3);
    }
    wm_co_t *co = wm_sched_current(L);
    wm_fs_op_t *op;
    int rc = wm_fs_write_file(wm_sched_loop(), path, data, len, flags, mode, co ? on_done : NULL, co, &op);
    return finish(L, co, rc, op, push_true);
}

/* stat(path[, {wait = true}]): inline by default (see the top); with wait,
 * from a task that is not inside `require` (a request handler), it waits
 * for the thread pool like read_file, so a slow disk holds up no one. */
static int l_stat(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    int wait = 0;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        lua_getfield(L, 2, "wait");
        wait = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    wm_co_t *co = wait ? wm_sched_current(L) : NULL;
    wm_fs_op_t *op;
    int rc = wm_fs_stat(wm_sched_loop(), path, co ? on_done : NULL, co, &op);
    return finish(L, co, rc, op, push_stat);
}

static int l_mkdir_p(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    int mode = (int)luaL_optinteger(L, 2, 0755);
    wm_fs_op_t *op;
    int rc = wm_fs_mkdir_p(wm_sched_loop(), path, mode, NULL, NULL, &op);
    return finish(L, NULL, rc, op, push_true);
}

void wm_fs_lua_register(lua_State *L)
{
    static const luaL_Reg funcs[] = {
        {"read_file", l_read_file}, {"write_file", l_write_file},
        {"stat", l_stat},           {"mkdir_p", l_mkdir_p},
        {NULL, NULL}};
    luaL_register(L, NULL, funcs);
}
