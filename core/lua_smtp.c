/* lua_smtp.c unit provides the "wm.core.smtp" module, the Lua face of
 * smtp.c:
 *
 *   send{url=, from=, to=, body=, username=, password=, starttls=,
 *        ca_file=, timeout=}
 *       -> {code=} | nil, err, {code=, outcome=, data=}
 *     Sends one message (body: the whole RFC 5322 text) over a session to
 *     the relay kept for the next message. `from` is the envelope sender,
 *     `to` one address or a list; starttls "required" (the default) or
 *     "off" (smtp:// never upgrades). On failure err is "<outcome>: <what
 *     happened>", `code` the relay's last reply code (0: none), `outcome`
 *     "timeout", "connect", "dns", "tls", "auth", "protocol" or "error",
 *     and `data` "none", "started" or "all": how much of the message left,
 *     which says whether the relay can have accepted it. Bad addresses, a
 *     bad URL and calls outside a task raise.
 *   active() -> messages in flight; idle() -> sessions kept open.
 *
 * scripts/providers/mail/smtp.lua is its user. */
#include "sched.h"
#include "smtp.h"

#include <lauxlib.h>
#include <string.h>

static void on_done(wm_smtp_msg_t *m, void *ud)
{
    WM_UNUSED(m);
    wm_sched_resume(ud);
}

static void send_cancel(wm_co_t *co, void *op)
{
    WM_UNUSED(co);
    wm_smtp_cancel(op);
}

static int send_push(wm_co_t *co, lua_State *L, void *op)
{
    wm_smtp_msg_t *m = op;
    WM_UNUSED(co);
    wm_httpc_outcome_t o = wm_smtp_msg_outcome(m);
    int code = wm_smtp_msg_code(m);
    if (o == WM_HTTPC_OK) {
        lua_createtable(L, 0, 1);
        lua_pushinteger(L, code);
        lua_setfield(L, -2, "code");
        wm_smtp_msg_free(m);
        return 1;
    }
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", wm_httpc_outcome_token(o), wm_smtp_msg_error(m));
    lua_createtable(L, 0, 3);
    lua_pushstring(L, wm_httpc_outcome_token(o));
    lua_setfield(L, -2, "outcome");
    lua_pushinteger(L, code);
    lua_setfield(L, -2, "code");
    lua_pushstring(L, wm_httpc_data_token(wm_smtp_msg_data_sent(m)));
    lua_setfield(L, -2, "data");
    wm_smtp_msg_free(m);
    return 3;
}

static const char *opt_string(lua_State *L, const char *field)
{
    lua_getfield(L, 1, field);
    if (lua_isnil(L, -1))
        return NULL;
    if (lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "wm.core.smtp.send: %s must be a string", field);
    return lua_tostring(L, -1);
}

/* Adds the recipient at the top of the stack; frees `m` and raises on a bad one. */
static void add_rcpt(lua_State *L, wm_smtp_msg_t *m)
{
    const char *a = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    if (a == NULL || wm_smtp_msg_rcpt(m, a) < 0) {
        wm_smtp_msg_free(m);
        luaL_error(L, "wm.core.smtp.send: bad recipient address");
    }
}

static int l_send(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    wm_co_t *co = wm_sched_current(L);
    if (co == NULL)
        return luaL_error(L, "wm.core.smtp.send: must be called from a wm task");
    const char *url = opt_string(L, "url");
    const char *from = opt_string(L, "from");
    const char *username = opt_string(L, "username");
    const char *password = opt_string(L, "password");
    const char *ca_file = opt_string(L, "ca_file");
    const char *starttls = opt_string(L, "starttls");
    lua_getfield(L, 1, "timeout");
    double timeout = 0;
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TNUMBER || lua_tonumber(L, -1) <= 0)
            return luaL_error(L, "wm.core.smtp.send: timeout must be a positive number of seconds");
        timeout = lua_tonumber(L, -1);
    }
    if (url == NULL || from == NULL)
        return luaL_error(L, "wm.core.smtp.send: url and from are required");
    int tls_optional = 0;
    if (starttls != NULL && strcmp(starttls, "off") == 0)
        tls_optional = 1;
    else if (starttls != NULL && strcmp(starttls, "required") != 0)
        return luaL_error(L, "wm.core.smtp.send: starttls must be \"required\" or \"off\"");
    lua_getfield(L, 1, "body");
    if (lua_type(L, -1) != LUA_TSTRING)
        return luaL_error(L, "wm.core.smtp.send: body must be a string");
    size_t body_len;
    const char *body = lua_tolstring(L, -1, &body_len);
    lua_getfield(L, 1, "to");
    int to_idx = lua_gettop(L);
    if (!lua_istable(L, to_idx) && lua_type(L, to_idx) != LUA_TSTRING)
        return luaL_error(L, "wm.core.smtp.send: to must be an address or a list of them");

    wm_err_t err;
    wm_smtp_msg_t *m = wm_smtp_msg_new(url, from, &err);
    if (m == NULL)
        return luaL_error(L, "wm.core.smtp.send: %s", err.msg);
    if (lua_istable(L, to_idx)) {
        int n = (int)lua_objlen(L, to_idx);
        for (int i = 1; i <= n; i++) {
            lua_rawgeti(L, to_idx, i);
            add_rcpt(L, m);
            lua_pop(L, 1);
        }
    } else {
        lua_pushvalue(L, to_idx);
        add_rcpt(L, m);
        lua_pop(L, 1);
    }
    wm_smtp_msg_body(m, body, body_len);
    wm_smtp_msg_login(m, username, password);
    wm_smtp_msg_tls_optional(m, tls_optional);
    wm_smtp_msg_ca_file(m, ca_file);
    if (timeout > 0)
        wm_smtp_msg_timeout(m, timeout);
    if (wm_smtp_send(m, on_done, co, &err) < 0) {
        wm_smtp_msg_free(m);
        return luaL_error(L, "wm.core.smtp.send: %s", err.msg);
    }
    return wm_sched_yield(co, m, send_push, send_cancel);
}

static int l_active(lua_State *L)
{
    lua_pushinteger(L, wm_smtp_active());
    return 1;
}

static int l_idle(lua_State *L)
{
    lua_pushinteger(L, wm_smtp_idle());
    return 1;
}

int wm_lua_smtp_open(lua_State *L)
{
    wm_err_t err;
    if (wm_smtp_init(wm_sched_loop(), 1, &err) < 0)
        return luaL_error(L, "%s", err.msg);
    static const luaL_Reg funcs[] = {{"send", l_send}, {"active", l_active}, {"idle", l_idle}, {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, funcs);
    return 1;
}
