/* lua_httpc.c unit provides the "wm.core.httpc" module, the Lua face of
 * httpc.c:
 *
 *   request{method=, url=, headers=, body=, timeout=, follow_redirects=,
 *           max_body=, aws_sigv4=, aws_access_key_id=, aws_secret_access_key=}
 *       -> {status=, headers=, body=, url=} | nil, err, {body_sent=}
 *     Yields the calling task until the response is complete. `headers` in
 *     the result has lower-cased names; a field sent more than once is
 *     joined with ", " (set-cookie with "\n"). err is one of "timeout",
 *     "connect", "dns", "tls", "too_large", "protocol" or
 *     "error: <curl message>". body_sent ("none", "started", "all"; absent
 *     without a body) says how much of the body curl handed over before the
 *     failure: "all" means the server may have acted on the request.
 *     aws_sigv4 = "aws:amz:REGION:SERVICE" signs the request (AWS SigV4)
 *     with the two keys, which are required with it. Misuse (no url, a
 *     header with CR/LF, a bad aws_sigv4, called outside a task) raises.
 *   imap{url=, command=, username=, password=, ca_file=, timeout=, max_body=}
 *       -> {body=} | nil, err, {outcome=}
 *     One IMAP request over TLS (imaps://, or imap:// with STARTTLS
 *     required), reusing a cached session to the same server and login.
 *     Without `command` the URL says what to do (imaps://host/INBOX;UID=7:
 *     that message, raw); with one, the URL's mailbox is selected and the
 *     command sent as it is ("UID SEARCH UID 8:*", "UID STORE 7 +FLAGS
 *     (\Seen)"), `body` being its untagged answer lines. err as for
 *     request plus "auth"; a command answered NO/BAD is "protocol". A
 *     command with a control character raises.
 *   configure{max_body=, timeout=, max_connections=, user_agent=}
 *     Sets the client's defaults (from config http_client.*).
 *   active() -> number of requests in flight.
 *
 * scripts/wm/http.lua wraps it as wm.http. */
#include "httpc.h"
#include "sched.h"
#include "wm.h"

#include <lauxlib.h>
#include <string.h>

static void on_done(wm_httpc_req_t *r, void *ud)
{
    WM_UNUSED(r);
    wm_sched_resume(ud);
}

/* stack: ..., result, headers */
static void push_header(const char *name, size_t nlen, const char *value, size_t vlen, void *ud)
{
    lua_State *L = ud;
    lua_pushlstring(L, name, nlen);
    lua_pushvalue(L, -1);
    lua_rawget(L, -3);                      /* stack: headers, name, old */
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushlstring(L, value, vlen);
    } else {
        const char *sep = (nlen == 10 && memcmp(name, "set-cookie", 10) == 0) ? "\n" : ", ";
        lua_pushstring(L, sep);
        lua_pushlstring(L, value, vlen);
        lua_concat(L, 3);
    }
    lua_rawset(L, -3);
}

static int request_push(wm_co_t *co, lua_State *L, void *op)
{
    wm_httpc_req_t *r = op;
    WM_UNUSED(co);
    wm_httpc_outcome_t o = wm_httpc_req_outcome(r);
    if (o != WM_HTTPC_OK) {
        lua_pushnil(L);
        if (o == WM_HTTPC_ERROR)
            lua_pushfstring(L, "error: %s", wm_httpc_req_error(r));
        else
            lua_pushstring(L, wm_httpc_outcome_token(o));
        lua_createtable(L, 0, 1);
        if (wm_httpc_req_body_len(r) > 0) {
            lua_pushstring(L, wm_httpc_data_token(wm_httpc_req_body_sent(r)));
            lua_setfield(L, -2, "body_sent");
        }
        wm_httpc_req_free(r);
        return 3;
    }
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, (lua_Integer)wm_httpc_req_status(r));
    lua_setfield(L, -2, "status");
    lua_newtable(L);
    wm_httpc_req_each_header(r, push_header, L);
    lua_setfield(L, -2, "headers");
    wm_buf_t *b = wm_httpc_req_body_buf(r);
    lua_pushlstring(L, b->data ? b->data : "", b->len);
    lua_setfield(L, -2, "body");
    lua_pushstring(L, wm_httpc_req_url(r));
    lua_setfield(L, -2, "url");
    wm_httpc_req_free(r);
    return 1;
}

static void request_cancel(wm_co_t *co, void *op)
{
    WM_UNUSED(co);
    wm_httpc_cancel(op);
}

static int method_ok(const char *m)
{
    if (*m == '\0')
        return 0;
    for (; *m != '\0'; m++) {
        if (!((*m >= 'A' && *m <= 'Z') || *m == '-' || *m == '_'))
            return 0;
    }
    return 1;
}

/* Adds one header; on a bad one frees `r` and raises. stack: ..., name, value */
static void add_header(lua_State *L, wm_httpc_req_t *r)
{
    size_t nlen, vlen;
    const char *name = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &nlen) : NULL;
    int vt = lua_type(L, -1);
    const char *value = NULL;
    if (vt == LUA_TSTRING || vt == LUA_TNUMBER)
        value = lua_tolstring(L, -1, &vlen);
    if (name == NULL || value == NULL) {
        wm_httpc_req_free(r);
        luaL_error(L, "wm.http.request: headers must map names to strings");
    }
    if (wm_httpc_req_header(r, name, nlen, value, vlen) < 0) {
        wm_httpc_req_free(r);
        luaL_error(L, "wm.http.request: bad header %s (empty name, or CR/LF in it)", name);
    }
}

/* Option `field` of the table at 1: 0 when absent, else a number above 0
 * (of at least 1 for a count of bytes); anything else raises, naming `fn`. */
static double opt_positive(lua_State *L, const char *fn, const char *field, int bytes)
{
    lua_getfield(L, 1, field);
    if (lua_isnil(L, -1))
        return 0;
    double v = lua_tonumber(L, -1);
    if (lua_type(L, -1) != LUA_TNUMBER || !(bytes ? v >= 1 : v > 0))
        luaL_error(L, "%s: %s must be a positive number of %s", fn, field, bytes ? "bytes" : "seconds");
    return v;
}

static int l_request(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    wm_co_t *co = wm_sched_current(L);
    if (co == NULL)
        return luaL_error(L, "wm.http.request: must be called from a wm task");

    lua_getfield(L, 1, "url");
    const char *url = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    if (url == NULL)
        return luaL_error(L, "wm.http.request: url must be a string");
    lua_getfield(L, 1, "body");
    size_t body_len = 0;
    const char *body = NULL;
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TSTRING)
            return luaL_error(L, "wm.http.request: body must be a string");
        body = lua_tolstring(L, -1, &body_len);
    }
    lua_getfield(L, 1, "method");
    const char *method = body != NULL ? "POST" : "GET";
    if (!lua_isnil(L, -1)) {
        method = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        if (method == NULL || !method_ok(method))
            return luaL_error(L, "wm.http.request: method must be an upper-case token "
                                 "like \"GET\"");
    }
    double timeout = opt_positive(L, "wm.http.request", "timeout", 0);
    double max_body = opt_positive(L, "wm.http.request", "max_body", 1);
    lua_getfield(L, 1, "follow_redirects");
    int follow = lua_toboolean(L, -1);
    lua_getfield(L, 1, "headers");
    int headers_idx = lua_gettop(L);
    if (!lua_isnil(L, -1) && !lua_istable(L, -1))
        return luaL_error(L, "wm.http.request: headers must be a table");

    lua_getfield(L, 1, "aws_sigv4");
    const char *sigv4 = NULL;
    if (!lua_isnil(L, -1)) {
        sigv4 = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        if (sigv4 == NULL)
            return luaL_error(L, "wm.http.request: aws_sigv4 must be a string like \"aws:amz:us-east-1:ses\"");
    }
    lua_getfield(L, 1, "aws_access_key_id");
    const char *key_id = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    lua_getfield(L, 1, "aws_secret_access_key");
    const char *secret = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;

    /* From here on `r` is ours: free it before raising. */
    wm_httpc_req_t *r = wm_httpc_req_new(method, url);
    if (sigv4 != NULL && wm_httpc_req_aws_sigv4(r, sigv4, key_id, secret) < 0) {
        wm_httpc_req_free(r);
        /* the keys stay out of the message */
        return luaL_error(L, "wm.http.request: aws_sigv4 needs a spec like \"aws:amz:us-east-1:ses\" "
                             "and non-empty aws_access_key_id and aws_secret_access_key");
    }
    if (lua_istable(L, headers_idx)) {
        lua_pushnil(L);
        while (lua_next(L, headers_idx) != 0) {
            if (lua_istable(L, -1)) {
                /* name = {v1, v2}: the field sent once per value */
                int n = (int)lua_objlen(L, -1);
                for (int i = 1; i <= n; i++) {
                    lua_pushvalue(L, -2);
                    lua_rawgeti(L, -2, i);
                    add_header(L, r);
                    lua_pop(L, 2);
                }
            } else {
                add_header(L, r);
            }
            lua_pop(L, 1);
        }
    }
    if (body != NULL)
        wm_httpc_req_body(r, body, body_len);
    if (timeout > 0)
        wm_httpc_req_timeout(r, timeout);
    if (max_body >= 1)
        wm_httpc_req_max_body(r, (size_t)max_body);
    wm_httpc_req_follow(r, follow);

    wm_err_t err;
    if (wm_httpc_start(r, on_done, co, &err) < 0) {
        wm_httpc_req_free(r);
        lua_pushnil(L);
        lua_pushfstring(L, "error: %s", err.msg);
        return 2;
    }
    return wm_sched_yield(co, r, request_push, request_cancel);
}

/* A failed SMTP or IMAP request: nil, "<outcome>: <curl message>",
 * {outcome=} (left on top for the caller to add to). */
static void push_mail_failure(lua_State *L, wm_httpc_req_t *r, wm_httpc_outcome_t o)
{
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", wm_httpc_outcome_token(o), wm_httpc_req_error(r));
    lua_createtable(L, 0, 3);
    lua_pushstring(L, wm_httpc_outcome_token(o));
    lua_setfield(L, -2, "outcome");
}

static const char *opt_string(lua_State *L, const char *field)
{
    lua_getfield(L, 1, field);
    if (lua_isnil(L, -1))
        return NULL;
    if (lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "wm.core.httpc: %s must be a string", field);
    return lua_tostring(L, -1);
}

/* The mailbox's options: the server, its login and trust, the timeout. */
typedef struct {
    const char *url, *username, *password, *ca_file;
    double timeout;
} mail_opts_t;

static void mail_opts_read(lua_State *L, const char *fn, mail_opts_t *m)
{
    m->url = opt_string(L, "url");
    m->username = opt_string(L, "username");
    m->password = opt_string(L, "password");
    m->ca_file = opt_string(L, "ca_file");
    m->timeout = opt_positive(L, fn, "timeout", 0);
}

/* Sets `m` on `r` and starts it, yielding the task until `push` answers;
 * frees `r` and raises when it cannot start. */
static int mail_start(lua_State *L, wm_co_t *co, wm_httpc_req_t *r, const mail_opts_t *m,
                      const char *fn, wm_co_push_fn push)
{
    wm_httpc_req_login(r, m->username, m->password);
    wm_httpc_req_ca_file(r, m->ca_file);
    if (m->timeout > 0)
        wm_httpc_req_timeout(r, m->timeout);
    wm_err_t err;
    if (wm_httpc_start(r, on_done, co, &err) < 0) {
        wm_httpc_req_free(r);
        return luaL_error(L, "%s: %s", fn, err.msg);
    }
    return wm_sched_yield(co, r, push, request_cancel);
}

static int imap_push(wm_co_t *co, lua_State *L, void *op)
{
    wm_httpc_req_t *r = op;
    WM_UNUSED(co);
    wm_httpc_outcome_t o = wm_httpc_req_outcome(r);
    if (o != WM_HTTPC_OK) {
        push_mail_failure(L, r, o);
        wm_httpc_req_free(r);
        return 3;
    }
    lua_createtable(L, 0, 1);
    wm_buf_t *b = wm_httpc_req_body_buf(r);
    lua_pushlstring(L, b->data ? b->data : "", b->len);
    lua_setfield(L, -2, "body");
    wm_httpc_req_free(r);
    return 1;
}

static int l_imap(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    wm_co_t *co = wm_sched_current(L);
    if (co == NULL)
        return luaL_error(L, "wm.core.httpc.imap: must be called from a wm task");
    mail_opts_t m;
    mail_opts_read(L, "wm.core.httpc.imap", &m);
    const char *command = opt_string(L, "command");
    if (m.url == NULL)
        return luaL_error(L, "wm.core.httpc.imap: url is required");
    double max_body = opt_positive(L, "wm.core.httpc.imap", "max_body", 1);

    wm_httpc_req_t *r = wm_httpc_imap_new(m.url, command);
    if (r == NULL)
        return luaL_error(L, "wm.core.httpc.imap: a command may not hold control characters");
    if (max_body > 0)
        wm_httpc_req_max_body(r, (size_t)max_body);
    return mail_start(L, co, r, &m, "wm.core.httpc.imap", imap_push);
}

static int l_configure(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    wm_httpc_conf_t conf;
    memset(&conf, 0, sizeof(conf));
    lua_getfield(L, 1, "max_body");
    conf.max_body = (size_t)luaL_optnumber(L, -1, 0);
    lua_getfield(L, 1, "timeout");
    conf.timeout = luaL_optnumber(L, -1, 0);
    lua_getfield(L, 1, "max_connections");
    conf.max_connections = (long)luaL_optnumber(L, -1, 0);
    lua_getfield(L, 1, "user_agent");
    conf.user_agent = luaL_optstring(L, -1, NULL);
    wm_err_t err;
    if (wm_httpc_init(wm_sched_loop(), &conf, 1, &err) < 0)
        return luaL_error(L, "%s", err.msg);
    return 0;
}

static int l_active(lua_State *L)
{
    lua_pushinteger(L, wm_httpc_active());
    return 1;
}

int wm_lua_httpc_open(lua_State *L)
{
    wm_err_t err;
    if (wm_httpc_init(wm_sched_loop(), NULL, 1, &err) < 0)
        return luaL_error(L, "%s", err.msg);
    static const luaL_Reg funcs[] = {
        {"request", l_request}, {"imap", l_imap}, {"configure", l_configure}, {"active", l_active}, {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, funcs);
    return 1;
}
