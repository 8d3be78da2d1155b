/* lua_httpd.c unit provides the "wm.core.httpd" module: the Lua face of
 * core/httpd.c, plus the few process calls `wm serve --workers N` needs.
 *
 *   httpd.listen{host=, port=, handler=fn, reuseport=, max_header_bytes=,
 *                max_body_bytes=, max_connections=, max_pipeline=,
 *                header_timeout=, idle_timeout=, body_timeout=,
 *                min_body_rate=, body_rate_grace=, upload_paths={prefixes},
 *                upload_max_body_bytes=}   -> server | nil, err
 *       handler(req) runs as a new task per request; req = {method, path,
 *       query (decoded table), query_string, headers (lower-case keys,
 *       repeats joined with ", "), body, remote_addr, id, http_version}.
 *       It returns {status=, headers={name=value|{values}}, body=} (a bare
 *       string is a 200 text/html answer). If the task fails, the client
 *       gets a 500 naming the request id and the traceback is logged.
 *   server:stop([drain_seconds=10])   -> true, once every connection closed
 *       (waits when called from a task; starts the stop and returns otherwise)
 *   server:close()                    closes everything now
 *   server:address()                  -> host, port
 *   server:stats()                    -> {connections, accepted, requests,
 *                                         active, rejected, timeouts}
 *   httpd.decode(s[, plus_space])     -> percent-decoded s
 *   httpd.parse_query(s)              -> table (a=1&b=x+y; the last repeat wins)
 *   httpd.spawn_worker{argv=, env={K=V}} -> pid | nil, err (stdio inherited)
 *   httpd.wait_worker(pid)            -> code, signal (waits in a task)
 *   httpd.kill_worker(pid[, signum])  -> true | nil, err
 *   httpd.exepath()                   -> path of the running binary
 *   httpd.die_with_parent()           the process gets SIGTERM when its
 *                                     parent dies (Linux prctl)
 *   httpd.cache_put{host=, path=, accept_encoding=, ok=res, not_modified=res,
 *                   etag=, ttl=, label=, log_rate=} -> true | false
 *       Keeps an answer for `ttl` seconds (respcache.h): the next GET or
 *       HEAD of that host (lower case, no port), path (no query) and
 *       Accept-Encoding value, with no body, is answered in C: `ok`, or
 *       `not_modified` when If-None-Match is exactly `etag`. The hit is
 *       logged as an access line (share `log_rate`) and counted under
 *       `label`. false when the answer cannot be kept (a header the server
 *       writes itself, a bad header).
 *   httpd.cache_clear()               forgets every kept answer
 *   httpd.cache_touched()             -> {host, ...} of the answers given since
 *                                        the last call (each once)
 *   httpd.cache_hits()                -> {{label=, status=, count=}, ...}
 *                                        answered from the cache since start
 */
#include "httpd.h"
#include "lua_httpd.h"
#include "json.h"
#include "log.h"
#include "proc.h"
#include "respcache.h"
#include "sched.h"
#include "vm.h"

#include <lauxlib.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static const char SERVER_MT[] = "wm.httpd.server";

struct stop_op {
    wm_co_t *co;                   /* NULL once the waiting task went away */
    struct lserver *ls;
};

struct lserver {
    wm_httpd_t *srv;
    int handler_ref;
    int self_ref;                  /* anchors the userdata while it serves */
    int closed;                    /* srv handed to wm_httpd_free */
    int stopped;
    struct stop_op *stop;
    struct lserver *next, *prev;   /* every open server, for the shutdown hook */
};

static struct lserver *servers;
static int closer_registered;

/* ---- requests in, answers out ---- */

static void push_query(lua_State *L, const char *q, size_t n)
{
    lua_newtable(L);
    if (n == 0)
        return;
    char stackbuf[512];
    char *tmp = n <= sizeof(stackbuf) ? stackbuf : wm_malloc(n);
    size_t i = 0;
    while (i < n) {
        size_t e = i;
        while (e < n && q[e] != '&')
            e++;
        if (e > i) {
            size_t eq = i;
            while (eq < e && q[eq] != '=')
                eq++;
            size_t kl = wm_httpd_pct_decode(tmp, q + i, eq - i, 1);
            lua_pushlstring(L, tmp, kl);
            if (eq < e) {
                size_t vl = wm_httpd_pct_decode(tmp, q + eq + 1, e - eq - 1, 1);
                lua_pushlstring(L, tmp, vl);
            } else {
                lua_pushliteral(L, "");
            }
            lua_rawset(L, -3);
        }
        i = e + 1;
    }
    if (tmp != stackbuf)
        wm_free(tmp);
}

/* stack: ... -> ..., req */
static void push_req(lua_State *L, wm_httpd_req_t *r)
{
    wm_httpd_req_info_t in;
    wm_httpd_req_info(r, &in);
    lua_createtable(L, 0, 12);
    lua_pushstring(L, in.method);
    lua_setfield(L, -2, "method");
    lua_pushlstring(L, in.path, in.path_len);
    lua_setfield(L, -2, "path");
    push_query(L, in.query, in.query_len);
    lua_setfield(L, -2, "query");
    lua_pushlstring(L, in.query, in.query_len);
    lua_setfield(L, -2, "query_string");
    lua_createtable(L, 0, in.nheaders);
    for (int i = 0; i < in.nheaders; i++) {
        const char *name, *value;
        size_t nl, vl;
        wm_httpd_req_header(r, i, &name, &nl, &value, &vl);
        lua_pushlstring(L, name, nl);           /* stack: req, hdrs, name */
        lua_pushvalue(L, -1);
        lua_rawget(L, -3);                      /* stack: req, hdrs, name, old */
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            lua_pushlstring(L, value, vl);
        } else {
            lua_pushstring(L, nl == 6 && memcmp(name, "cookie", 6) == 0 ? "; " : ", ");
            lua_pushlstring(L, value, vl);
            lua_concat(L, 3);
        }
        lua_rawset(L, -3);
    }
    lua_setfield(L, -2, "headers");
    lua_pushlstring(L, in.body, in.body_len);
    lua_setfield(L, -2, "body");
    lua_pushstring(L, in.remote_addr);
    lua_setfield(L, -2, "remote_addr");
    lua_pushstring(L, in.id);
    lua_setfield(L, -2, "id");
    lua_pushnumber(L, in.http_major + in.http_minor / 10.0);
    lua_setfield(L, -2, "http_version");
}

static void log_request_error(const char *msg, const char *id, const char *err)
{
    wm_buf_t b;
    wm_buf_init(&b);
    wm_buf_puts(&b, "\"request_id\":");
    wm_json_quote(&b, id, strlen(id));
    wm_buf_puts(&b, ",\"error\":");
    wm_json_quote(&b, err, strlen(err));
    wm_log_write(WM_LOG_ERROR, msg, b.data);
    wm_buf_free(&b);
}

static void respond_500(wm_httpd_req_t *r, const char *id)
{
    char body[128];
    int n = snprintf(body, sizeof(body), "Internal Server Error\nrequest id: %s\n", id);
    wm_httpd_respond(r, 500, "text/plain; charset=utf-8", body, (size_t)n);
}

/* Adds the headers of the table at `idx`; a name or value that is not a
 * string (or number) poisons the answer into a 500. */
static void add_headers(lua_State *L, int idx, wm_httpd_req_t *r)
{
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {              /* stack: ..., name, value */
        if (lua_type(L, -2) != LUA_TSTRING) {
            wm_httpd_resp_header(r, "", 0, "", 0);
            lua_pop(L, 1);
            continue;
        }
        size_t nl, vl;
        const char *name = lua_tolstring(L, -2, &nl);
        int t = lua_type(L, -1);
        if (t == LUA_TSTRING || t == LUA_TNUMBER) {
            const char *v = lua_tolstring(L, -1, &vl);
            wm_httpd_resp_header(r, name, nl, v, vl);
        } else if (t == LUA_TTABLE) {
            int n = (int)lua_objlen(L, -1);
            for (int i = 1; i <= n; i++) {
                lua_rawgeti(L, -1, i);
                const char *v = lua_tolstring(L, -1, &vl);
                if (v != NULL && lua_type(L, -1) != LUA_TNIL)
                    wm_httpd_resp_header(r, name, nl, v, vl);
                else
                    wm_httpd_resp_header(r, "", 0, "", 0);
                lua_pop(L, 1);
            }
        } else if (t != LUA_TBOOLEAN || lua_toboolean(L, -1)) {
            wm_httpd_resp_header(r, "", 0, "", 0);
        }
        lua_pop(L, 1);
    }
}

/* Pushes t[key] without metamethods: no Lua code may run here. */
static void raw_field(lua_State *L, int t, const char *key)
{
    lua_pushstring(L, key);
    lua_rawget(L, t);
}

static void on_done(wm_co_t *co, int ok, int nres, const char *err, void *ud)
{
    wm_httpd_req_t *r = ud;
    wm_httpd_req_info_t in;
    wm_httpd_req_info(r, &in);
    char id[32];
    snprintf(id, sizeof(id), "%s", in.id);
    if (!ok) {
        log_request_error("http: request task failed", id, err != NULL ? err : "?");
        respond_500(r, id);
        return;
    }
    lua_State *L = co->L;
    int t = lua_gettop(L) - nres + 1;
    if (nres >= 1 && lua_type(L, t) == LUA_TSTRING) {
        size_t len;
        const char *body = lua_tolstring(L, t, &len);
        wm_httpd_respond(r, 200, "text/html; charset=utf-8", body, len);
        return;
    }
    if (nres < 1 || !lua_istable(L, t)) {
        log_request_error("http: handler returned no response table", id,
                          nres < 1 ? "nothing" : luaL_typename(L, t));
        respond_500(r, id);
        return;
    }
    raw_field(L, t, "body");                     /* stack: res, body */
    int bt = lua_type(L, -1);
    if (bt != LUA_TNIL && bt != LUA_TSTRING && bt != LUA_TNUMBER) {
        log_request_error("http: response body must be a string", id, luaL_typename(L, -1));
        lua_pop(L, 1);
        respond_500(r, id);
        return;
    }
    size_t blen = 0;
    const char *body = bt == LUA_TNIL ? NULL : lua_tolstring(L, -1, &blen);
    raw_field(L, t, "status");                   /* stack: res, body, status */
    int status = lua_isnumber(L, -1) ? (int)lua_tointeger(L, -1) : 200;
    lua_pop(L, 1);
    if (status < 200 || status > 999) {
        char got[32];
        snprintf(got, sizeof(got), "%d", status);
        log_request_error("http: response status must be 200..999", id, got);
        lua_pop(L, 1);
        respond_500(r, id);
        return;
    }
    wm_httpd_resp_begin(r, status);
    raw_field(L, t, "headers");                  /* stack: res, body, headers */
    if (lua_istable(L, -1))
        add_headers(L, lua_gettop(L), r);
    lua_pop(L, 1);
    if (wm_httpd_resp_finish(r, body, blen) < 0)
        log_request_error("http: bad response header (CR/LF or bad name)", id, "500 sent");
    lua_pop(L, 1);
}

/* ---- answers kept in C (respcache.h) ---- */

#define HIT_LABELS 16

static struct {
    char *label;
    int status;
    unsigned long count;
} hits[HIT_LABELS];

static void count_hit(const char *label, int status)
{
    for (int i = 0; i < HIT_LABELS; i++) {
        if (hits[i].label == NULL) {
            hits[i].label = wm_strdup(label);
            hits[i].status = status;
        }
        if (hits[i].status == status && strcmp(hits[i].label, label) == 0) {
            hits[i].count++;
            return;
        }
    }
}

static void log_hit(const wm_httpd_req_info_t *in, const wm_respcache_entry_t *e, int status, size_t bytes,
                    double started)
{
    double sampled = 0;
    if (e->log_rate <= 0)
        return;
    if (e->log_rate < 1) {
        if (randombytes_uniform(1000000) >= (uint32_t)(e->log_rate * 1000000))
            return;
        sampled = e->log_rate;
    }
    wm_buf_t b;
    wm_buf_init(&b);
    wm_buf_puts(&b, "\"id\":");
    wm_json_quote(&b, in->id, strlen(in->id));
    wm_buf_puts(&b, ",\"method\":");
    wm_json_quote(&b, in->method, strlen(in->method));
    wm_buf_puts(&b, ",\"route\":");
    wm_json_quote(&b, e->label, strlen(e->label));
    double ms = (wm_monotonic() - started) * 1000.0;
    wm_buf_printf(&b, ",\"status\":%d,\"bytes\":%zu,\"ms\":%.2f,\"cached\":true", status, bytes, ms);
    if (sampled > 0)
        wm_buf_printf(&b, ",\"sample\":%g", sampled);
    wm_log_access(b.data);
    wm_buf_free(&b);
}

/* Answers `r` from the cache when it holds its answer: 1, or 0 (then the
 * request goes to Lua as usual). Only a GET or HEAD with no query, no body,
 * one Host and at most one Accept-Encoding and If-None-Match; an
 * If-None-Match other than the kept ETag goes to Lua (weak or listed tags). */
static int answer_from_cache(wm_httpd_req_t *r)
{
    if (wm_respcache_count() == 0)
        return 0;
    wm_httpd_req_info_t in;
    wm_httpd_req_info(r, &in);
    if ((strcmp(in.method, "GET") != 0 && strcmp(in.method, "HEAD") != 0) || in.query_len > 0 || in.body_len > 0)
        return 0;
    const char *host = NULL, *ae = "", *inm = NULL;
    size_t host_len = 0, ae_len = 0, inm_len = 0;
    int nhost = 0, nae = 0, ninm = 0;
    for (int i = 0; i < in.nheaders; i++) {
        const char *name, *value;
        size_t nl, vl;
        wm_httpd_req_header(r, i, &name, &nl, &value, &vl);
        if (nl == 4 && memcmp(name, "host", 4) == 0) {
            host = value, host_len = vl, nhost++;
        } else if (nl == 15 && memcmp(name, "accept-encoding", 15) == 0) {
            ae = value, ae_len = vl, nae++;
        } else if (nl == 13 && memcmp(name, "if-none-match", 13) == 0) {
            inm = value, inm_len = vl, ninm++;
        }
    }
    if (nhost != 1 || nae > 1 || ninm > 1 || host_len == 0 || host[0] == '[')
        return 0;
    const char *colon = memchr(host, ':', host_len);
    if (colon != NULL)
        host_len = (size_t)(colon - host);
    char key[1024];
    size_t klen = wm_respcache_key(key, sizeof(key), host, host_len, in.path, in.path_len, ae, ae_len);
    double now = wm_monotonic();
    const wm_respcache_entry_t *e = klen > 0 ? wm_respcache_get(key, klen, now) : NULL;
    if (e == NULL)
        return 0;
    int not_modified = 0;
    if (inm != NULL) {
        if (e->etag_len == 0 || inm_len != e->etag_len || memcmp(inm, e->etag, inm_len) != 0)
            return 0;
        not_modified = 1;
    }
    int status = not_modified ? 304 : e->status;
    size_t bytes = not_modified ? 0 : e->body_len;
    count_hit(e->label, status);
    wm_respcache_touch(e);
    log_hit(&in, e, status, bytes, now);
    wm_httpd_resp_begin(r, status);
    if (not_modified)
        wm_httpd_resp_lines(r, e->head304, e->head304_len);
    else
        wm_httpd_resp_lines(r, e->head, e->head_len);
    wm_httpd_resp_finish(r, not_modified ? NULL : e->body, bytes);
    return 1;
}

/* The header lines of the answer table at `idx`; 0, or -1 when one cannot be kept. */
static int cached_lines(lua_State *L, int idx, wm_buf_t *out)
{
    lua_getfield(L, idx, "headers");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return 0;
    }
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        return -1;
    }
    int t = lua_gettop(L), rc = 0;
    lua_pushnil(L);
    while (lua_next(L, t) != 0) {
        size_t nl, vl;
        if (lua_type(L, -2) != LUA_TSTRING || (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)) {
            lua_pop(L, 2);
            rc = -1;
            break;
        }
        const char *name = lua_tolstring(L, -2, &nl);
        const char *v = lua_tolstring(L, -1, &vl);
        if (wm_httpd_head_line(out, name, nl, v, vl) < 0) {
            lua_pop(L, 2);
            rc = -1;
            break;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return rc;
}

static const char *field_string(lua_State *L, int t, const char *name, size_t *len)
{
    lua_getfield(L, t, name);
    const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, len) : NULL;
    lua_pop(L, 1);   /* still anchored in the table */
    return v;
}

static int l_cache_put(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    size_t host_len, path_len, ae_len = 0, etag_len = 0, label_len, body_len;
    const char *host = field_string(L, 1, "host", &host_len);
    const char *path = field_string(L, 1, "path", &path_len);
    const char *ae = field_string(L, 1, "accept_encoding", &ae_len);
    const char *etag = field_string(L, 1, "etag", &etag_len);
    const char *label = field_string(L, 1, "label", &label_len);
    lua_getfield(L, 1, "ttl");
    double ttl = lua_tonumber(L, -1);
    lua_getfield(L, 1, "log_rate");
    double log_rate = lua_tonumber(L, -1);
    lua_getfield(L, 1, "ok");
    int ok_idx = lua_gettop(L);
    lua_getfield(L, 1, "not_modified");
    int nm_idx = lua_gettop(L);
    if (host == NULL || path == NULL || label == NULL || !lua_istable(L, ok_idx))
        return luaL_error(L, "usage: httpd.cache_put{host=, path=, accept_encoding=, ok=, not_modified=, etag=, "
                             "ttl=, label=, log_rate=}");
    if (ae == NULL)
        ae = "", ae_len = 0;
    if (etag == NULL || !lua_istable(L, nm_idx))
        etag = "", etag_len = 0;
    const char *body = field_string(L, ok_idx, "body", &body_len);
    lua_getfield(L, ok_idx, "status");
    int status = lua_isnumber(L, -1) ? (int)lua_tointeger(L, -1) : 200;
    char key[1024];
    size_t klen = wm_respcache_key(key, sizeof(key), host, host_len, path, path_len, ae, ae_len);
    if (ttl <= 0 || body == NULL || status < 200 || status > 599 || klen == 0) {
        lua_pushboolean(L, 0);
        return 1;
    }
    wm_buf_t head, head304;
    wm_buf_init(&head);
    wm_buf_init(&head304);
    int rc = cached_lines(L, ok_idx, &head);
    if (rc == 0 && etag_len > 0)
        rc = cached_lines(L, nm_idx, &head304);
    if (rc == 0) {
        wm_respcache_entry_t e = {
            .status = status, .head = head.data ? head.data : "", .head_len = head.len, .body = body,
            .body_len = body_len, .etag = etag, .etag_len = etag_len,
            .head304 = head304.data ? head304.data : "", .head304_len = head304.len, .label = label,
            .log_rate = log_rate,
        };
        wm_respcache_put(key, klen, &e, wm_monotonic() + ttl);
    }
    wm_buf_free(&head);
    wm_buf_free(&head304);
    lua_pushboolean(L, rc == 0);
    return 1;
}

static int l_cache_clear(lua_State *L)
{
    WM_UNUSED(L);
    wm_respcache_clear();
    return 0;
}

static void push_touched(const char *host, size_t len, void *ud)
{
    lua_State *L = ud;
    lua_pushlstring(L, host, len);
    lua_rawseti(L, -2, (int)lua_objlen(L, -2) + 1);
}

static int l_cache_touched(lua_State *L)
{
    lua_newtable(L);
    wm_respcache_touched(push_touched, L);
    return 1;
}

static int l_cache_hits(lua_State *L)
{
    lua_newtable(L);
    for (int i = 0; i < HIT_LABELS && hits[i].label != NULL; i++) {
        lua_createtable(L, 0, 3);
        lua_pushstring(L, hits[i].label);
        lua_setfield(L, -2, "label");
        lua_pushinteger(L, hits[i].status);
        lua_setfield(L, -2, "status");
        lua_pushnumber(L, (lua_Number)hits[i].count);
        lua_setfield(L, -2, "count");
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static void on_request(wm_httpd_req_t *r, void *ud)
{
    struct lserver *ls = ud;
    if (answer_from_cache(r))
        return;
    lua_State *L = wm_sched_main_state();
    lua_rawgeti(L, LUA_REGISTRYINDEX, ls->handler_ref);  /* stack: handler */
    push_req(L, r);                                      /* stack: handler, req */
    wm_sched_spawn(L, 1, on_done, r);
}

/* ---- servers ---- */

unsigned long wm_lua_httpd_active(void)
{
    unsigned long n = 0;
    for (struct lserver *ls = servers; ls != NULL; ls = ls->next) {
        if (ls->srv == NULL || ls->closed)
            continue;
        wm_httpd_stats_t st;
        wm_httpd_stats(ls->srv, &st);
        n += st.active;
    }
    return n;
}

static void lserver_unlink(struct lserver *ls)
{
    if (ls->prev != NULL)
        ls->prev->next = ls->next;
    else if (servers == ls)
        servers = ls->next;
    if (ls->next != NULL)
        ls->next->prev = ls->prev;
    ls->next = ls->prev = NULL;
}

static void lserver_release(lua_State *L, struct lserver *ls)
{
    if (ls->self_ref != LUA_NOREF) {
        luaL_unref(L, LUA_REGISTRYINDEX, ls->self_ref);
        ls->self_ref = LUA_NOREF;
    }
    if (ls->handler_ref != LUA_NOREF) {
        luaL_unref(L, LUA_REGISTRYINDEX, ls->handler_ref);
        ls->handler_ref = LUA_NOREF;
    }
}

static void lserver_close(lua_State *L, struct lserver *ls)
{
    if (ls->closed)
        return;
    ls->closed = 1;
    struct stop_op *op = ls->stop;
    ls->stop = NULL;
    if (op != NULL) {
        /* A task waiting in stop() returns now (queued: we may be inside
         * another task). */
        op->ls = NULL;
        if (op->co != NULL)
            wm_sched_resume(op->co);
        else
            wm_free(op);
    }
    wm_httpd_free(ls->srv);
    ls->srv = NULL;
    lserver_unlink(ls);
    lserver_release(L, ls);
}

static void servers_close_all(void *ud)
{
    WM_UNUSED(ud);
    lua_State *L = wm_sched_main_state();
    while (servers != NULL)
        lserver_close(L, servers);
}

static struct lserver *check_server(lua_State *L)
{
    return luaL_checkudata(L, 1, SERVER_MT);
}

static double opt_num_field(lua_State *L, int idx, const char *k, double def)
{
    lua_getfield(L, idx, k);
    double v = def;
    if (!lua_isnil(L, -1)) {
        if (!lua_isnumber(L, -1))
            luaL_error(L, "httpd.listen: %s must be a number", k);
        v = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

static int l_listen(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "handler");
    if (!lua_isfunction(L, -1))
        return luaL_error(L, "httpd.listen: handler must be a function");
    lua_getfield(L, 1, "host");
    const char *host = luaL_optstring(L, -1, "127.0.0.1");
    lua_getfield(L, 1, "reuseport");
    int reuseport = lua_toboolean(L, -1);
    lua_pop(L, 1);
    wm_httpd_conf_t conf;
    wm_httpd_conf_default(&conf);
    int port = (int)opt_num_field(L, 1, "port", -1);
    if (port < 0 || port > 65535)
        return luaL_error(L, "httpd.listen: port must be 0..65535");
    conf.max_header_bytes = (size_t)opt_num_field(L, 1, "max_header_bytes", (double)conf.max_header_bytes);
    conf.max_body_bytes = (size_t)opt_num_field(L, 1, "max_body_bytes", (double)conf.max_body_bytes);
    conf.max_connections = (int)opt_num_field(L, 1, "max_connections", conf.max_connections);
    conf.max_pipeline = (int)opt_num_field(L, 1, "max_pipeline", conf.max_pipeline);
    conf.header_timeout = opt_num_field(L, 1, "header_timeout", conf.header_timeout);
    conf.idle_timeout = opt_num_field(L, 1, "idle_timeout", conf.idle_timeout);
    conf.body_timeout = opt_num_field(L, 1, "body_timeout", conf.body_timeout);
    conf.min_body_rate = opt_num_field(L, 1, "min_body_rate", conf.min_body_rate);
    conf.body_rate_grace = opt_num_field(L, 1, "body_rate_grace", conf.body_rate_grace);
    conf.upload_max_body_bytes = (size_t)opt_num_field(L, 1, "upload_max_body_bytes",
                                                       (double)conf.upload_max_body_bytes);
    /* The prefixes stay on the Lua stack (the table holds them) until
     * wm_httpd_new has copied them. */
    const char *uploads[16];
    lua_getfield(L, 1, "upload_paths");
    if (!lua_isnil(L, -1)) {
        luaL_checktype(L, -1, LUA_TTABLE);
        int n = (int)lua_objlen(L, -1);
        if (n > (int)(sizeof(uploads) / sizeof(uploads[0])))
            return luaL_error(L, "httpd.listen: at most 16 upload_paths");
        for (int i = 1; i <= n; i++) {
            lua_rawgeti(L, -1, i);
            if (lua_type(L, -1) != LUA_TSTRING || lua_objlen(L, -1) == 0)
                return luaL_error(L, "httpd.listen: upload_paths[%d] must be a non-empty string", i);
            uploads[i - 1] = lua_tostring(L, -1);
            lua_pop(L, 1);
        }
        conf.upload_paths = uploads;
        conf.nupload_paths = n;
    }
    lua_pop(L, 1);

    struct lserver *ls = lua_newuserdata(L, sizeof(*ls));   /* stack: opts, handler, host, ls */
    memset(ls, 0, sizeof(*ls));
    ls->handler_ref = LUA_NOREF;
    ls->self_ref = LUA_NOREF;
    luaL_getmetatable(L, SERVER_MT);
    lua_setmetatable(L, -2);
    ls->srv = wm_httpd_new(wm_sched_loop(), &conf, on_request, ls);
    wm_err_t err;
    if (wm_httpd_listen(ls->srv, host, port, reuseport, &err) < 0) {
        wm_httpd_free(ls->srv);
        ls->srv = NULL;
        ls->closed = 1;
        lua_pushnil(L);
        lua_pushstring(L, err.msg);
        return 2;
    }
    lua_pushvalue(L, -1);
    ls->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushvalue(L, 2);
    ls->handler_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    ls->next = servers;
    if (servers != NULL)
        servers->prev = ls;
    servers = ls;
    if (!closer_registered) {
        wm_vm_on_close(servers_close_all, NULL);
        closer_registered = 1;
    }
    return 1;
}

static int stop_push(wm_co_t *co, lua_State *L, void *op)
{
    WM_UNUSED(co);
    wm_free(op);
    lua_pushboolean(L, 1);
    return 1;
}

static void stop_cancel(wm_co_t *co, void *op)
{
    WM_UNUSED(co);
    struct stop_op *s = op;
    s->co = NULL;
    if (s->ls == NULL)
        wm_free(s);
}

static void on_stopped(wm_httpd_t *srv, void *ud)
{
    WM_UNUSED(srv);
    struct lserver *ls = ud;
    ls->stopped = 1;
    struct stop_op *op = ls->stop;
    ls->stop = NULL;
    /* The server is done: let the userdata be collected once Lua drops it. */
    lserver_close(wm_sched_main_state(), ls);
    if (op == NULL)
        return;
    op->ls = NULL;
    if (op->co != NULL)
        wm_sched_resume(op->co);
    else
        wm_free(op);
}

static int l_server_stop(lua_State *L)
{
    struct lserver *ls = check_server(L);
    double drain = luaL_optnumber(L, 2, 10);
    if (ls->closed) {
        lua_pushboolean(L, 1);
        return 1;
    }
    if (ls->stop != NULL) {
        lua_pushnil(L);
        lua_pushliteral(L, "already stopping");
        return 2;
    }
    wm_co_t *co = wm_sched_current(L);
    struct stop_op *op = wm_calloc(1, sizeof(*op));
    op->co = co;
    op->ls = ls;
    ls->stop = op;
    wm_httpd_stop(ls->srv, drain, on_stopped, ls);
    if (co == NULL) {
        op->co = NULL;
        lua_pushboolean(L, 1);
        return 1;
    }
    return wm_sched_yield(co, op, stop_push, stop_cancel);
}

static int l_server_close(lua_State *L)
{
    lserver_close(L, check_server(L));
    return 0;
}

static int l_server_address(lua_State *L)
{
    struct lserver *ls = check_server(L);
    char host[64];
    int port = 0;
    if (ls->closed || wm_httpd_address(ls->srv, host, sizeof(host), &port) != 0) {
        lua_pushnil(L);
        lua_pushliteral(L, "closed");
        return 2;
    }
    lua_pushstring(L, host);
    lua_pushinteger(L, port);
    return 2;
}

static int l_server_stats(lua_State *L)
{
    struct lserver *ls = check_server(L);
    wm_httpd_stats_t st;
    memset(&st, 0, sizeof(st));
    if (!ls->closed)
        wm_httpd_stats(ls->srv, &st);
    lua_createtable(L, 0, 6);
#define F(name)                                   \
    lua_pushnumber(L, (lua_Number)st.name);       \
    lua_setfield(L, -2, #name)
    F(connections);
    F(accepted);
    F(requests);
    F(active);
    F(rejected);
    F(timeouts);
#undef F
    return 1;
}

static int l_server_gc(lua_State *L)
{
    struct lserver *ls = lua_touserdata(L, 1);
    lserver_close(L, ls);
    return 0;
}

/* ---- helpers ---- */

static int l_decode(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    int plus = lua_toboolean(L, 2);
    char *tmp = wm_malloc(n + 1);
    size_t m = wm_httpd_pct_decode(tmp, s, n, plus);
    lua_pushlstring(L, tmp, m);
    wm_free(tmp);
    return 1;
}

static int l_parse_query(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    push_query(L, s, n);
    return 1;
}

/* ---- worker processes ---- */

struct worker {
    uv_process_t proc;
    int pid;
    int exited, handle_open, waited;
    int64_t status;
    int term_signal;
    wm_co_t *waiter;
    struct worker *next;
};

static struct worker *workers;
static int workers_closer_registered;

static void worker_unlink_free(struct worker *w)
{
    for (struct worker **pp = &workers; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    }
    wm_free(w);
}

static void worker_close_cb(uv_handle_t *h)
{
    struct worker *w = h->data;
    w->handle_open = 0;
    if (w->waited)
        worker_unlink_free(w);
}

static void worker_exit_cb(uv_process_t *p, int64_t status, int sig)
{
    struct worker *w = p->data;
    w->exited = 1;
    w->status = status;
    w->term_signal = sig;
    uv_close((uv_handle_t *)p, worker_close_cb);
    if (w->waiter != NULL) {
        wm_co_t *co = w->waiter;
        w->waiter = NULL;
        wm_sched_resume(co);
    }
}

static void workers_close_all(void *ud)
{
    WM_UNUSED(ud);
    for (struct worker *w = workers; w != NULL; w = w->next) {
        w->waiter = NULL;
        w->waited = 1;
        if (!w->exited && w->handle_open) {
            uv_process_kill(&w->proc, SIGTERM);
            if (!uv_is_closing((uv_handle_t *)&w->proc))
                uv_close((uv_handle_t *)&w->proc, worker_close_cb);
        }
    }
}

static struct worker *find_worker(int pid)
{
    for (struct worker *w = workers; w != NULL; w = w->next) {
        if (w->pid == pid && !w->waited)
            return w;
    }
    return NULL;
}

static void spawn_failed_close_cb(uv_handle_t *h)
{
    wm_free(h->data);
}

static int l_spawn_worker(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    char **argv, **env;
    wm_proc_argv_env(L, 1, "httpd.spawn_worker", &argv, &env);

    struct worker *w = wm_calloc(1, sizeof(*w));
    uv_stdio_container_t stdio[3];
    for (int i = 0; i < 3; i++) {
        stdio[i].flags = UV_INHERIT_FD;
        stdio[i].data.fd = i;
    }
    uv_process_options_t o;
    memset(&o, 0, sizeof(o));
    o.file = argv[0];
    o.args = argv;
    o.env = env;
    o.exit_cb = worker_exit_cb;
    o.stdio_count = 3;
    o.stdio = stdio;
    w->proc.data = w;
    int rc = uv_spawn(wm_sched_loop(), &w->proc, &o);
    wm_proc_strv_free(argv);
    wm_proc_strv_free(env);
    if (rc < 0) {
        /* A failed spawn still has to close its handle; free it there. */
        uv_close((uv_handle_t *)&w->proc, spawn_failed_close_cb);
        lua_pushnil(L);
        lua_pushstring(L, uv_strerror(rc));
        return 2;
    }
    w->pid = w->proc.pid;
    w->handle_open = 1;
    w->next = workers;
    workers = w;
    if (!workers_closer_registered) {
        wm_vm_on_close(workers_close_all, NULL);
        workers_closer_registered = 1;
    }
    lua_pushinteger(L, w->pid);
    return 1;
}

static int push_exit(lua_State *L, struct worker *w)
{
    lua_pushinteger(L, (lua_Integer)w->status);
    if (w->term_signal != 0)
        lua_pushinteger(L, w->term_signal);
    else
        lua_pushnil(L);
    w->waited = 1;
    if (!w->handle_open)
        worker_unlink_free(w);
    return 2;
}

static int wait_push(wm_co_t *co, lua_State *L, void *op)
{
    WM_UNUSED(co);
    return push_exit(L, op);
}

static void wait_cancel(wm_co_t *co, void *op)
{
    WM_UNUSED(co);
    struct worker *w = op;
    w->waiter = NULL;
}

static int l_wait_worker(lua_State *L)
{
    int pid = (int)luaL_checkinteger(L, 1);
    struct worker *w = find_worker(pid);
    if (w == NULL) {
        lua_pushnil(L);
        lua_pushliteral(L, "no such worker");
        return 2;
    }
    if (w->exited)
        return push_exit(L, w);
    wm_co_t *co = wm_sched_current(L);
    if (co == NULL)
        return luaL_error(L, "httpd.wait_worker: must be called from a wm task");
    if (w->waiter != NULL)
        return luaL_error(L, "httpd.wait_worker: another task already waits for %d", pid);
    w->waiter = co;
    return wm_sched_yield(co, w, wait_push, wait_cancel);
}

static int l_kill_worker(lua_State *L)
{
    int pid = (int)luaL_checkinteger(L, 1);
    int sig = (int)luaL_optinteger(L, 2, SIGTERM);
    struct worker *w = find_worker(pid);
    if (w == NULL || w->exited) {
        lua_pushnil(L);
        lua_pushliteral(L, "no such worker");
        return 2;
    }
    int rc = uv_process_kill(&w->proc, sig);
    if (rc < 0) {
        lua_pushnil(L);
        lua_pushstring(L, uv_strerror(rc));
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int l_exepath(lua_State *L)
{
    char buf[4096];
    size_t n = sizeof(buf);
    if (uv_exepath(buf, &n) != 0) {
        lua_pushnil(L);
        lua_pushliteral(L, "unknown");
        return 2;
    }
    lua_pushlstring(L, buf, n);
    return 1;
}

static int l_die_with_parent(lua_State *L)
{
    WM_UNUSED(L);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() == 1)
        raise(SIGTERM);
    return 0;
}

int wm_lua_httpd_open(lua_State *L)
{
    static const luaL_Reg server_methods[] = {
        {"stop", l_server_stop}, {"close", l_server_close}, {"address", l_server_address},
        {"stats", l_server_stats}, {NULL, NULL}};
    static const luaL_Reg funcs[] = {
        {"listen", l_listen},           {"decode", l_decode},
        {"parse_query", l_parse_query}, {"spawn_worker", l_spawn_worker},
        {"wait_worker", l_wait_worker}, {"kill_worker", l_kill_worker},
        {"exepath", l_exepath},         {"die_with_parent", l_die_with_parent},
        {"cache_put", l_cache_put},     {"cache_clear", l_cache_clear},
        {"cache_hits", l_cache_hits},   {"cache_touched", l_cache_touched},
        {NULL, NULL}};
    if (luaL_newmetatable(L, SERVER_MT)) {
        lua_newtable(L);
        luaL_register(L, NULL, server_methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_server_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    lua_newtable(L);
    luaL_register(L, NULL, funcs);
    return 1;
}
