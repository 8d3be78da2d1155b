/* fuzz_http.c: a libFuzzer target over the HTTP server's request parsing,
 * pipelining, answering and routing, without sockets (core/httpd.c virtual
 * connections, scripts/wm/router.lua in a plain Lua state).
 *
 * Input: byte 0 picks the feed chunk size, byte 1 how requests are answered
 * (at once inside the parser callback, later in order, later in reverse
 * order, or half of them then a client hang-up), byte 2 the answer's shape
 * (status, body, a header with CR/LF); the rest is the bytes a client sends.
 * Checks: AddressSanitizer/UBSan findings; every byte the server writes
 * parses as HTTP/1.1 responses; answers come out in request order (each
 * carries X-Seq, which must increase); the router never raises.
 *
 * Build and run with clang:
 *   cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DWM_FUZZ=ON
 *   cmake --build build-fuzz --target fuzz_http
 *   mkdir -p /tmp/http-corpus
 *   build-fuzz/tests/fuzz_http /tmp/http-corpus tests/fuzz/corpus/http   # until stopped
 *   build-fuzz/tests/fuzz_http -max_total_time=14400 -jobs=2 /tmp/http-corpus tests/fuzz/corpus/http
 * ctest runs a short smoke: 20000 runs from the seed corpus (new inputs go to
 * a scratch folder in the build tree, never into tests/fuzz/corpus/http).
 *
 * Without clang the same file, linked with tests/fuzz/replay.c, builds
 * into fuzz_http_replay, a plain program that replays every file of the
 * corpus directories (or files) it is given; ctest runs it on the seed
 * corpus. */
#include "httpd.h"

#include <http_parser.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PENDING 256

static uv_loop_t loop;
static wm_httpd_t *srv;
static lua_State *L;
static int router_ref = LUA_NOREF;

/* What the handler received, in order. */
static wm_httpd_req_t *pending[MAX_PENDING];
static int npending;
static int answer_mode, shape;
/* Per request handed to the handler, in arrival order: was it HEAD. Answers
 * go out in that order, so the k-th answer written is for the k-th request
 * (answers the server makes itself, and answers dropped after a close, only
 * ever come after all of those). */
static unsigned char heads[8192];
static int nheads;

/* Everything written to the virtual connection. */
static char *out;
static size_t out_len, out_cap;

static void vwrite(void *ud, const char *data, size_t len)
{
    (void)ud;
    if (out_len + len > out_cap) {
        out_cap = (out_len + len) * 2;
        out = realloc(out, out_cap);
        if (out == NULL)
            abort();
    }
    memcpy(out + out_len, data, len);
    out_len += len;
}

/* ---- routing through scripts/wm/router.lua ---- */

static void route_check(wm_httpd_req_t *r)
{
    if (L == NULL)
        return;
    wm_httpd_req_info_t in;
    wm_httpd_req_info(r, &in);
    const char *host = NULL;
    size_t host_len = 0;
    for (int i = 0; i < in.nheaders; i++) {
        const char *n, *v;
        size_t nl, vl;
        wm_httpd_req_header(r, i, &n, &nl, &v, &vl);
        if (nl == 4 && memcmp(n, "host", 4) == 0) {
            host = v;
            host_len = vl;
        }
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, router_ref);       /* stack: check */
    lua_pushstring(L, in.method);
    lua_pushlstring(L, in.path, in.path_len);
    if (host != NULL)
        lua_pushlstring(L, host, host_len);
    else
        lua_pushnil(L);
    if (lua_pcall(L, 3, 0, 0) != 0) {
        fprintf(stderr, "router raised: %s\n", lua_tostring(L, -1));
        abort();
    }
}

static void answer(wm_httpd_req_t *r)
{
    wm_httpd_req_info_t in;
    wm_httpd_req_info(r, &in);
    /* X-Seq is the request id's counter, which increases per request. */
    const char *dash = strrchr(in.id, '-');
    int seq = dash ? (int)strtol(dash + 1, NULL, 16) : 0;
    char seqs[24];
    int n = snprintf(seqs, sizeof(seqs), "%d", seq);
    static const int statuses[] = {200, 201, 204, 304, 404, 500, 302, 101};
    int status = statuses[shape & 7];
    if (status == 101)
        status = 200;
    wm_httpd_resp_begin(r, status);
    wm_httpd_resp_header(r, "X-Seq", 5, seqs, (size_t)n);
    if (shape & 8)
        wm_httpd_resp_header(r, "X-Bad", 5, "a\r\nb", 4);
    if (shape & 16)
        wm_httpd_resp_header(r, "Connection", 10, "close", 5);
    if (shape & 32)
        wm_httpd_resp_header(r, "Content-Length", 14, "99", 2);
    const char *body = (shape & 64) ? in.body : "hello";
    size_t blen = (shape & 64) ? in.body_len : 5;
    wm_httpd_resp_finish(r, body, blen);
}

static void on_request(wm_httpd_req_t *r, void *ud)
{
    (void)ud;
    if (nheads < (int)sizeof(heads)) {
        wm_httpd_req_info_t in;
        wm_httpd_req_info(r, &in);
        heads[nheads++] = strcmp(in.method, "HEAD") == 0;
    }
    route_check(r);
    if (answer_mode == 0 || npending >= MAX_PENDING) {
        answer(r);
        return;
    }
    pending[npending++] = r;
}

static void answer_pending(int reverse, int keep)
{
    while (npending > keep) {
        if (reverse) {
            answer(pending[--npending]);
        } else {
            answer(pending[0]);
            memmove(pending, pending + 1, (size_t)(npending - 1) * sizeof(pending[0]));
            npending--;
        }
    }
}

/* ---- checking what the server wrote ---- */

struct check {
    int k;                            /* answers seen (not counting 100) */
    int last_seq;
    int cur_seq;
    int in_seq_header;
    int bad;
};

static int ck_header_field(http_parser *p, const char *at, size_t len)
{
    struct check *c = p->data;
    c->in_seq_header = (len == 5 && strncasecmp(at, "x-seq", 5) == 0);
    return 0;
}

static int ck_header_value(http_parser *p, const char *at, size_t len)
{
    struct check *c = p->data;
    if (c->in_seq_header) {
        char tmp[24];
        size_t n = len < sizeof(tmp) - 1 ? len : sizeof(tmp) - 1;
        memcpy(tmp, at, n);
        tmp[n] = '\0';
        c->cur_seq = atoi(tmp);
    }
    return 0;
}

static int ck_message_begin(http_parser *p)
{
    struct check *c = p->data;
    c->cur_seq = -1;
    return 0;
}

static int ck_headers_complete(http_parser *p)
{
    struct check *c = p->data;
    if (p->status_code == 100)
        return 0;
    if (c->cur_seq >= 0) {
        if (c->cur_seq <= c->last_seq) {
            fprintf(stderr, "answers out of order: %d after %d\n", c->cur_seq, c->last_seq);
            abort();
        }
        c->last_seq = c->cur_seq;
    }
    int k = c->k++;
    if (k < nheads && heads[k])
        return 1;                     /* an answer to HEAD has no body */
    return 0;
}

static void check_output(void)
{
    static const http_parser_settings ck = {
        .on_message_begin = ck_message_begin,
        .on_header_field = ck_header_field,
        .on_header_value = ck_header_value,
        .on_headers_complete = ck_headers_complete,
    };
    struct check c = {.k = 0, .last_seq = 0, .cur_seq = -1};
    http_parser p;
    http_parser_init(&p, HTTP_RESPONSE);
    p.data = &c;
    size_t n = http_parser_execute(&p, &ck, out, out_len);
    if (HTTP_PARSER_ERRNO(&p) != HPE_OK || n != out_len) {
        fprintf(stderr, "server wrote unparsable HTTP (%s) at %zu of %zu:\n%.*s\n",
                http_errno_name(HTTP_PARSER_ERRNO(&p)), n, out_len, (int)(out_len > 2000 ? 2000 : out_len), out);
        abort();
    }
}

/* ---- setup ---- */

static void init_lua(void)
{
    L = luaL_newstate();
    luaL_openlibs(L);
    const char *setup =
        "package.path = ... .. '/scripts/?.lua'\n"
        "local router = require 'wm.router'\n"
        "local h = function() end\n"
        "router.route('GET', '/healthz', h)\n"
        "router.route('GET', '/metrics', h)\n"
        "router.route('GET', '/static/*path', h)\n"
        "router.route('GET', '/t/o/:token.gif', h)\n"
        "router.route('GET', '/t/c/:token', h)\n"
        "router.route('POST', '/u/:token', h)\n"
        "router.route('*', '/api/v1/:kind/:id', h)\n"
        "router.route('GET', '/api/v1/sites/special', h)\n"
        "router.route_host('*.localhost', h)\n"
        "router.route_host('shop.example.com', h)\n"
        "return function(method, path, host)\n"
        "  local r, params = router.match(method, path, host)\n"
        "  if r then assert(type(params) == 'table') end\n"
        "  router.allowed(path)\n"
        "  if host then router.host_name(host) end\n"
        "end\n";
    if (luaL_loadstring(L, setup) != 0) {
        fprintf(stderr, "fuzz setup: %s\n", lua_tostring(L, -1));
        abort();
    }
    lua_pushstring(L, WM_SOURCE_DIR);
    if (lua_pcall(L, 1, 1, 0) != 0) {
        fprintf(stderr, "fuzz setup: %s\n", lua_tostring(L, -1));
        lua_close(L);
        L = NULL;
        return;
    }
    router_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

static void init(void)
{
    uv_loop_init(&loop);
    wm_httpd_conf_t conf;
    wm_httpd_conf_default(&conf);
    conf.max_header_bytes = 2048;
    conf.max_body_bytes = 4096;
    conf.max_pipeline = 4;
    srv = wm_httpd_new(&loop, &conf, on_request, NULL);
    init_lua();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (srv == NULL)
        init();
    if (size < 3)
        return 0;
    size_t chunk = data[0] % 64 == 0 ? size : (size_t)(data[0] % 64);
    answer_mode = data[1] % 4;
    shape = data[2];
    data += 3;
    size -= 3;
    out_len = 0;
    npending = 0;
    nheads = 0;

    wm_httpd_vconn_t *c = wm_httpd_virtual_open(srv, vwrite, NULL);
    size_t off = 0;
    int hung_up = 0;
    while (off < size) {
        size_t n = size - off < chunk ? size - off : chunk;
        int rc = wm_httpd_virtual_feed(c, (const char *)data + off, n);
        off += n;
        if (rc < 0)
            break;
        if (answer_mode == 3 && npending >= 2) {
            answer_pending(0, npending / 2);
            if (off > size / 2) {
                wm_httpd_virtual_close(c);
                hung_up = 1;
                break;
            }
        }
        if (rc == 0 || npending >= MAX_PENDING / 2)
            answer_pending(answer_mode == 2, 0);
        while (wm_httpd_virtual_feed(c, "", 0) == 0 && npending > 0)
            answer_pending(answer_mode == 2, 0);
    }
    answer_pending(answer_mode == 2, 0);
    if (!hung_up)
        wm_httpd_virtual_close(c);
    answer_pending(0, 0);
    /* An error answer the server makes itself is always the last thing it
     * writes; if it answers a HEAD it has no body, which the checker sees as
     * a body still to come: not an error. */
    check_output();
    uv_run(&loop, UV_RUN_NOWAIT);
    return 0;
}
