/* lua_codec.c unit provides the wm.codec bindings over codec.h:
 *
 *   wm.codec.gzip(data[, level=9])       -> bytes | nil, err
 *   wm.codec.brotli(data[, quality=11])  -> bytes | nil, err
 *   wm.codec.gunzip(data[, limit])       -> bytes | nil, err
 *   wm.codec.unbrotli(data[, limit])     -> bytes | nil, err
 *
 * Encoding at the top levels takes milliseconds (brotli 11: tens of them
 * for a 30 KB page), so inside a task it runs on libuv's thread pool and
 * the loop keeps serving; outside a task (boot code) it runs inline.
 * Decoding runs inline, bounded by `limit` (default 16 MiB). */
#include "codec.h"
#include "sched.h"

#include <lauxlib.h>
#include <string.h>

#define DEFAULT_LIMIT (16u * 1024 * 1024)

struct enc_work {
    uv_work_t req;
    wm_co_t *co;
    int brotli;
    int level;
    char *in;
    size_t len;
    wm_buf_t out;
    wm_err_t err;
    int rc;
    int cancelled;
};

static void enc_work_cb(uv_work_t *req)
{
    struct enc_work *w = req->data;
    w->rc = w->brotli ? wm_codec_brotli(w->in, w->len, w->level, &w->out, &w->err)
                      : wm_codec_gzip(w->in, w->len, w->level, &w->out, &w->err);
}

static void enc_free(struct enc_work *w)
{
    wm_buf_free(&w->out);
    wm_free(w->in);
    wm_free(w);
}

static void enc_after_cb(uv_work_t *req, int status)
{
    struct enc_work *w = req->data;
    WM_UNUSED(status);
    if (w->cancelled) {
        enc_free(w);
        return;
    }
    wm_sched_resume(w->co);
}

static int enc_push(wm_co_t *co, lua_State *L, void *op)
{
    struct enc_work *w = op;
    WM_UNUSED(co);
    int n = 1;
    if (w->rc == 0) {
        lua_pushlstring(L, w->out.len ? w->out.data : "", w->out.len);
    } else {
        lua_pushnil(L);
        lua_pushstring(L, w->err.msg);
        n = 2;
    }
    enc_free(w);
    return n;
}

static void enc_cancel(wm_co_t *co, void *op)
{
    struct enc_work *w = op;
    WM_UNUSED(co);
    w->cancelled = 1;       /* freed by enc_after_cb */
}

static int start_enc(lua_State *L, int brotli)
{
    size_t len;
    const char *in = luaL_checklstring(L, 1, &len);
    struct enc_work *w = wm_calloc(1, sizeof(*w));
    w->brotli = brotli;
    w->level = (int)luaL_optinteger(L, 2, brotli ? 11 : 9);
    w->in = wm_malloc(len ? len : 1);
    memcpy(w->in, in, len);
    w->len = len;
    wm_buf_init(&w->out);
    w->req.data = w;
    wm_co_t *co = wm_sched_current(L);
    if (co == NULL) {
        enc_work_cb(&w->req);
        return enc_push(NULL, L, w);
    }
    w->co = co;
    uv_queue_work(wm_sched_loop(), &w->req, enc_work_cb, enc_after_cb);
    return wm_sched_yield(co, w, enc_push, enc_cancel);
}

static int l_gzip(lua_State *L) { return start_enc(L, 0); }
static int l_brotli(lua_State *L) { return start_enc(L, 1); }

static int decode(lua_State *L, int brotli)
{
    size_t len;
    const char *in = luaL_checklstring(L, 1, &len);
    lua_Integer limit = luaL_optinteger(L, 2, DEFAULT_LIMIT);
    luaL_argcheck(L, limit >= 0, 2, "limit must be >= 0");
    wm_buf_t out;
    wm_buf_init(&out);
    wm_err_t err;
    int rc = brotli ? wm_codec_unbrotli(in, len, (size_t)limit, &out, &err)
                    : wm_codec_gunzip(in, len, (size_t)limit, &out, &err);
    if (rc == 0)
        lua_pushlstring(L, out.len ? out.data : "", out.len);
    wm_buf_free(&out);
    if (rc != 0) {
        lua_pushnil(L);
        lua_pushstring(L, err.msg);
        return 2;
    }
    return 1;
}

static int l_gunzip(lua_State *L) { return decode(L, 0); }
static int l_unbrotli(lua_State *L) { return decode(L, 1); }

static int l_quoted_printable(lua_State *L)
{
    size_t len;
    const char *in = luaL_checklstring(L, 1, &len);
    wm_buf_t out;
    wm_buf_init(&out);
    wm_codec_qp(in, len, &out);
    lua_pushlstring(L, out.len ? out.data : "", out.len);
    wm_buf_free(&out);
    return 1;
}

void wm_codec_lua_register(lua_State *L)
{
    static const luaL_Reg funcs[] = {
        {"gzip", l_gzip},     {"brotli", l_brotli},
        {"gunzip", l_gunzip}, {"unbrotli", l_unbrotli},
        {"quoted_printable", l_quoted_printable},
        {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, funcs);
    lua_setfield(L, -2, "codec");
}
