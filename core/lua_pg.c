/* lua_pg.c unit provides "wm.core.pg", the Lua binding of the pool in pg.h.
 * It translates Lua values to query parameters (text format) and results to
 * rows; scripts/wm/db.lua builds wm.db on top of it.
 *
 *   open{conninfo=, size=, depth=, connect_timeout=, backoff_max=} -> true | nil, err
 *   query(sql, ...)            -> rows, affected | nil, err, sqlstate
 *   pin()                      -> tx | nil, err          (a connection of one's own)
 *   tx_query(tx, sql, ...)     -> rows, affected | nil, err, sqlstate
 *   tx_script(tx, sql)         -> true | nil, err, sqlstate (several statements)
 *   unpin(tx[, rollback])      gives the connection back
 *   listen(channel, fn)        fn(payload, channel) runs in a new task per notification
 *   stats()                    -> {size=, ready=, busy=, waiting=, in_flight=, ...}
 *   close()
 */
#include "lua_pg.h"
#include "json.h"
#include "sched.h"
#include "vm.h"

#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARAMS 1000

static wm_pg_pool_t *pool;
static int listeners_ref = LUA_NOREF;    /* registry: channel -> fn */
static const char TX_MT[] = "wm.pg.tx";

struct tx {
    wm_pg_conn_t *conn;
    wm_co_t *owner;
    struct wm_defer_s *defer;
    wm_pg_pin_wait_t *wait;
    int failed;               /* a query inside failed: COMMIT would not commit */
    int anchor;               /* registry ref keeping the userdata alive while waiting */
};

wm_pg_pool_t *wm_lua_pg_pool(void)
{
    return pool;
}

/* ---- results ---- */

enum { OID_BOOL = 16, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23, OID_OID = 26,
       OID_JSON = 114, OID_FLOAT4 = 700, OID_FLOAT8 = 701, OID_JSONB = 3802 };

static void push_value(lua_State *L, PGresult *r, int row, int col, Oid type)
{
    if (PQgetisnull(r, row, col)) {
        wm_json_push_null(L);
        return;
    }
    const char *v = PQgetvalue(r, row, col);
    int len = PQgetlength(r, row, col);
    switch (type) {
    case OID_BOOL:
        lua_pushboolean(L, v[0] == 't');
        return;
    case OID_INT2:
    case OID_INT4:
    case OID_OID:
        lua_pushnumber(L, (lua_Number)strtol(v, NULL, 10));
        return;
    case OID_INT8: {
        long long x = strtoll(v, NULL, 10);
        if (llabs(x) <= 9007199254740992LL)
            lua_pushnumber(L, (lua_Number)x);
        else
            lua_pushlstring(L, v, (size_t)len);   /* beyond 2^53: exact as text */
        return;
    }
    case OID_FLOAT4:
    case OID_FLOAT8:
        lua_pushnumber(L, strtod(v, NULL));
        return;
    case OID_JSON:
    case OID_JSONB: {
        wm_err_t err;
        if (wm_json_decode(L, v, (size_t)len, &err) < 0)
            lua_pushlstring(L, v, (size_t)len);
        return;
    }
    default:
        lua_pushlstring(L, v, (size_t)len);
    }
}

static int push_rows(lua_State *L, PGresult *r)
{
    int nrows = PQntuples(r), ncols = PQnfields(r);
    luaL_checkstack(L, ncols + 4, "too many columns");
    lua_createtable(L, nrows, 0);
    int base = lua_gettop(L);
    Oid types[256];
    for (int c = 0; c < ncols; c++) {
        lua_pushstring(L, PQfname(r, c));   /* names at base+1 .. base+ncols */
        if (c < 256)
            types[c] = PQftype(r, c);
    }
    for (int row = 0; row < nrows; row++) {
        lua_createtable(L, 0, ncols);
        for (int c = 0; c < ncols; c++) {
            lua_pushvalue(L, base + 1 + c);
            push_value(L, r, row, c, c < 256 ? types[c] : PQftype(r, c));
            lua_rawset(L, -3);
        }
        lua_rawseti(L, base, row + 1);
    }
    lua_settop(L, base);
    const char *affected = PQcmdTuples(r);
    lua_pushnumber(L, affected && affected[0] ? strtod(affected, NULL) : nrows);
    return 2;
}

/* ---- parameters ---- */

struct params {
    const char *values[MAX_PARAMS];
    size_t lens[MAX_PARAMS];
    wm_buf_t scratch;          /* numbers and JSON, NUL-separated */
    size_t offsets[MAX_PARAMS];
    int from_scratch[MAX_PARAMS];
};

static int collect_params(lua_State *L, int first, int n, struct params *P)
{
    wm_buf_init(&P->scratch);
    for (int i = 0; i < n; i++) {
        int idx = first + i;
        P->from_scratch[i] = 0;
        switch (lua_type(L, idx)) {
        case LUA_TNIL:
            P->values[i] = NULL;
            break;
        case LUA_TLIGHTUSERDATA:
            if (lua_touserdata(L, idx) != NULL)
                goto bad;
            P->values[i] = NULL;
            break;
        case LUA_TBOOLEAN:
            P->values[i] = lua_toboolean(L, idx) ? "true" : "false";
            P->lens[i] = strlen(P->values[i]);
            break;
        case LUA_TNUMBER: {
            double x = lua_tonumber(L, idx);
            size_t start = P->scratch.len;
            if (isnan(x) || isinf(x))
                wm_buf_puts(&P->scratch, isnan(x) ? "NaN" : (x > 0 ? "Infinity" : "-Infinity"));
            else if (x == floor(x) && fabs(x) < 9.2e18)
                wm_buf_printf(&P->scratch, "%.0f", x);
            else
                wm_buf_printf(&P->scratch, "%.17g", x);
            P->offsets[i] = start;
            P->lens[i] = P->scratch.len - start;
            wm_buf_append(&P->scratch, "", 1);
            P->from_scratch[i] = 1;
            break;
        }
        case LUA_TSTRING:
            P->values[i] = lua_tolstring(L, idx, &P->lens[i]);
            break;
        case LUA_TTABLE: {
            wm_err_t err;
            size_t start = P->scratch.len;
            if (wm_json_encode(L, idx, &P->scratch, &err) < 0) {
                wm_buf_free(&P->scratch);
                return luaL_error(L, "query parameter %d: %s", i + 1, err.msg);
            }
            P->offsets[i] = start;
            P->lens[i] = P->scratch.len - start;
            wm_buf_append(&P->scratch, "", 1);
            P->from_scratch[i] = 1;
            break;
        }
        default:
        bad:
            wm_buf_free(&P->scratch);
            return luaL_error(L, "query parameter %d: cannot send a %s", i + 1, luaL_typename(L, idx));
        }
    }
    for (int i = 0; i < n; i++) {
        if (P->from_scratch[i])
            P->values[i] = P->scratch.data + P->offsets[i];
    }
    return 0;
}

/* ---- query ---- */

static void on_query_done(wm_pg_query_t *q)
{
    wm_sched_resume(q->data);
}

static int query_push(wm_co_t *co, lua_State *L, void *op)
{
    wm_pg_query_t *q = op;
    WM_UNUSED(co);
    struct tx *tx = q->conn != NULL ? (struct tx *)q->data2 : NULL;
    int n;
    if (q->errmsg != NULL || q->res == NULL) {
        if (tx != NULL)
            tx->failed = 1;
        lua_pushnil(L);
        lua_pushstring(L, q->errmsg ? q->errmsg : "query failed");
        lua_pushstring(L, q->sqlstate);
        n = 3;
    } else {
        n = push_rows(L, q->res);
    }
    wm_pg_query_free(q);
    return n;
}

static void query_cancel(wm_co_t *co, void *op)
{
    WM_UNUSED(co);
    wm_pg_abandon(pool, op);
}

static int need_pool(lua_State *L)
{
    if (pool == NULL)
        return luaL_error(L, "wm.db: the database is not open (call wm.db.open first)");
    return 0;
}

static int start_query(lua_State *L, int sql_idx, struct tx *tx, int simple)
{
    size_t sqllen;
    const char *sql = luaL_checklstring(L, sql_idx, &sqllen);
    need_pool(L);
    wm_co_t *co = wm_sched_current(L);
    if (co == NULL)
        return luaL_error(L, "wm.db: must be called from a wm task");
    int n = lua_gettop(L) - sql_idx;
    if (n > MAX_PARAMS)
        return luaL_error(L, "wm.db: at most %d parameters", MAX_PARAMS);
    if (simple && n > 0)
        return luaL_error(L, "wm.db: a script takes no parameters");
    /* Lua-owned: a parameter that cannot be sent raises out of
     * collect_params, and the collector takes the arrays back. */
    struct params *P = lua_newuserdata(L, sizeof(*P));
    collect_params(L, sql_idx + 1, n, P);
    wm_pg_query_t *q = wm_pg_query_new(sql, sqllen, n, P->values, P->lens);
    wm_buf_free(&P->scratch);
    lua_pop(L, 1);
    q->cb = on_query_done;
    q->data = co;
    q->simple = simple;
    if (tx != NULL) {
        q->conn = tx->conn;
        q->data2 = tx;
    }
    wm_err_t err;
    if (wm_pg_submit(pool, q, &err) < 0) {
        wm_pg_query_free(q);
        if (tx != NULL)
            tx->failed = 1;
        lua_pushnil(L);
        lua_pushstring(L, err.msg);
        lua_pushstring(L, err.code == WM_EDB ? "08006" : "");
        return 3;
    }
    return wm_sched_yield(co, q, query_push, query_cancel);
}

static int l_query(lua_State *L)
{
    return start_query(L, 1, NULL, 0);
}

/* ---- transactions ---- */

static void tx_defer(wm_co_t *co, void *data)
{
    /* The task ended while it held the connection: roll back, give it back. */
    struct tx *tx = data;
    WM_UNUSED(co);
    tx->defer = NULL;
    if (tx->conn != NULL && pool != NULL)
        wm_pg_unpin_rollback(pool, tx->conn);
    tx->conn = NULL;
}

static void on_pinned(wm_pg_conn_t *conn, void *data)
{
    struct tx *tx = data;
    tx->wait = NULL;
    tx->conn = conn;
    wm_sched_resume(tx->owner);
}

static int pin_push(wm_co_t *co, lua_State *L, void *op)
{
    struct tx *tx = op;
    lua_rawgeti(L, LUA_REGISTRYINDEX, tx->anchor);
    luaL_unref(L, LUA_REGISTRYINDEX, tx->anchor);
    tx->anchor = LUA_NOREF;
    if (tx->conn == NULL) {
        lua_pop(L, 1);
        lua_pushnil(L);
        lua_pushstring(L, pool ? wm_pg_last_error(pool) : "closed");
        return 2;
    }
    tx->defer = wm_sched_defer(co, tx_defer, tx);
    return 1;
}

static void pin_cancel(wm_co_t *co, void *op)
{
    struct tx *tx = op;
    WM_UNUSED(co);
    if (tx->wait != NULL && pool != NULL)
        wm_pg_pin_cancel(pool, tx->wait);
    tx->wait = NULL;
    luaL_unref(wm_sched_main_state(), LUA_REGISTRYINDEX, tx->anchor);
    tx->anchor = LUA_NOREF;
}

static int l_pin(lua_State *L)
{
    need_pool(L);
    wm_co_t *co = wm_sched_current(L);
    if (co == NULL)
        return luaL_error(L, "wm.db.tx: must be called from a wm task");
    struct tx *tx = lua_newuserdata(L, sizeof(*tx));
    memset(tx, 0, sizeof(*tx));
    luaL_getmetatable(L, TX_MT);
    lua_setmetatable(L, -2);
    tx->owner = co;
    wm_err_t err;
    if (wm_pg_pin(pool, on_pinned, tx, &tx->wait, &err) < 0) {
        lua_pushnil(L);
        lua_pushstring(L, err.msg);
        return 2;
    }
    tx->anchor = luaL_ref(L, LUA_REGISTRYINDEX);   /* pops the userdata */
    return wm_sched_yield(co, tx, pin_push, pin_cancel);
}

static struct tx *check_tx(lua_State *L, int idx)
{
    struct tx *tx = luaL_checkudata(L, idx, TX_MT);
    if (tx->conn == NULL)
        luaL_error(L, "wm.db.tx: the transaction is over");
    return tx;
}

static int l_tx_query(lua_State *L)
{
    struct tx *tx = check_tx(L, 1);
    return start_query(L, 2, tx, 0);
}

static int l_tx_script(lua_State *L)
{
    struct tx *tx = check_tx(L, 1);
    lua_settop(L, 2);
    return start_query(L, 2, tx, 1);
}

static int l_tx_failed(lua_State *L)
{
    struct tx *tx = luaL_checkudata(L, 1, TX_MT);
    lua_pushboolean(L, tx->failed);
    return 1;
}

static int l_unpin(lua_State *L)
{
    struct tx *tx = luaL_checkudata(L, 1, TX_MT);
    int rollback = lua_toboolean(L, 2);
    if (tx->conn == NULL)
        return 0;
    if (tx->defer != NULL)
        wm_sched_undefer(tx->owner, tx->defer);
    tx->defer = NULL;
    if (pool != NULL) {
        if (rollback)
            wm_pg_unpin_rollback(pool, tx->conn);
        else
            wm_pg_unpin(pool, tx->conn);
    }
    tx->conn = NULL;
    return 0;
}

static int l_tx_gc(lua_State *L)
{
    struct tx *tx = luaL_checkudata(L, 1, TX_MT);
    if (tx->conn != NULL && pool != NULL)
        wm_pg_unpin_rollback(pool, tx->conn);
    tx->conn = NULL;
    return 0;
}

/* ---- listen ---- */

static void on_notify(const char *channel, const char *payload, void *data)
{
    WM_UNUSED(data);
    lua_State *L = wm_sched_main_state();
    lua_rawgeti(L, LUA_REGISTRYINDEX, listeners_ref);
    lua_getfield(L, -1, channel);
    lua_remove(L, -2);
    if (!lua_isfunction(L, -1)) {
        lua_pop(L, 1);
        return;
    }
    lua_pushstring(L, payload);
    lua_pushstring(L, channel);
    wm_sched_spawn(L, 2, NULL, NULL);
}

static int l_listen(lua_State *L)
{
    const char *channel = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    need_pool(L);
    if (listeners_ref == LUA_NOREF) {
        lua_newtable(L);
        listeners_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, listeners_ref);
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, channel);
    lua_pop(L, 1);
    wm_err_t err;
    if (wm_pg_listen(pool, channel, on_notify, NULL, &err) < 0) {
        lua_pushnil(L);
        lua_pushstring(L, err.msg);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* ---- lifecycle ---- */

static void pool_close_hook(void *ud)
{
    WM_UNUSED(ud);
    if (pool != NULL) {
        wm_pg_pool_t *p = pool;
        pool = NULL;
        wm_pg_pool_close(p);
    }
}

static double opt_field_num(lua_State *L, int idx, const char *k, double dflt)
{
    lua_getfield(L, idx, k);
    double v = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : dflt;
    lua_pop(L, 1);
    return v;
}

static int l_open(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    if (pool != NULL) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_getfield(L, 1, "conninfo");
    const char *conninfo = luaL_checkstring(L, -1);
    wm_pg_conf_t conf = {
        .conninfo = conninfo,
        .size = (int)opt_field_num(L, 1, "size", 8),
        .pipeline_depth = (int)opt_field_num(L, 1, "depth", 16),
        .connect_timeout = opt_field_num(L, 1, "connect_timeout", 5),
        .backoff_max = opt_field_num(L, 1, "backoff_max", 2),
        .application_name = "wm",
    };
    wm_err_t err;
    if (wm_pg_pool_open(wm_sched_loop(), &conf, &pool, &err) < 0) {
        lua_pushnil(L);
        lua_pushstring(L, err.msg);
        return 2;
    }
    static int hooked;
    if (!hooked) {
        wm_vm_on_close(pool_close_hook, NULL);
        hooked = 1;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int l_close(lua_State *L)
{
    WM_UNUSED(L);
    pool_close_hook(NULL);
    return 0;
}

static int l_is_open(lua_State *L)
{
    lua_pushboolean(L, pool != NULL);
    return 1;
}

static int l_stats(lua_State *L)
{
    wm_pg_stats_t s;
    if (pool == NULL) {
        lua_pushnil(L);
        return 1;
    }
    wm_pg_stats(pool, &s);
    lua_createtable(L, 0, 8);
#define SET(name) (lua_pushnumber(L, (lua_Number)s.name), lua_setfield(L, -2, #name))
    SET(size); SET(ready); SET(busy); SET(waiting); SET(in_flight);
    SET(queries); SET(errors); SET(reconnects);
#undef SET
    return 1;
}

int wm_lua_pg_open(lua_State *L)
{
    luaL_newmetatable(L, TX_MT);
    lua_pushcfunction(L, l_tx_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    static const luaL_Reg funcs[] = {
        {"open", l_open},         {"close", l_close},       {"is_open", l_is_open},
        {"query", l_query},       {"pin", l_pin},           {"tx_query", l_tx_query},
        {"tx_script", l_tx_script}, {"tx_failed", l_tx_failed}, {"unpin", l_unpin},
        {"listen", l_listen},     {"stats", l_stats},       {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, funcs);
    return 1;
}
