/* proc.c unit provides wm.exec{argv=, timeout=, cwd=, stdin=, env=,
 * max_output=} -> {code=, signal=, stdout=, stderr=} | nil, err[, partial].
 * err is "timeout" when the child had to be killed, or the spawn error
 * ("no such file or directory: prog"). Every child gets SIGKILL when wm
 * dies, however it dies (see die_with_wm). */
#include "proc.h"
#include "log.h"
#include "sched.h"
#include "wm.h"

#include <errno.h>
#include <lauxlib.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_MAX_OUTPUT (64u << 20)

struct exec_op {
    uv_process_t proc;
    uv_pipe_t out, err, in;
    uv_timer_t timer;
    uv_write_t write_req;
    wm_co_t *co;
    wm_buf_t out_buf, err_buf;
    char *stdin_data;
    size_t stdin_len;
    size_t max_output;
    int open_handles;
    int exited, exit_status, term_signal;
    int streams_open;      /* stdout, stderr not yet at EOF */
    int timed_out, truncated, cancelled, resumed;
};

static void op_maybe_free(struct exec_op *op)
{
    if (op->open_handles > 0 || (!op->cancelled && !op->resumed))
        return;
    wm_buf_free(&op->out_buf);
    wm_buf_free(&op->err_buf);
    wm_free(op->stdin_data);
    wm_free(op);
}

static void handle_closed(uv_handle_t *h)
{
    struct exec_op *op = h->data;
    op->open_handles--;
    op_maybe_free(op);
}

static void close_handle(struct exec_op *op, uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, handle_closed);
}

static void maybe_done(struct exec_op *op)
{
    if (!op->exited || op->streams_open > 0)
        return;
    uv_timer_stop(&op->timer);
    close_handle(op, (uv_handle_t *)&op->timer);
    close_handle(op, (uv_handle_t *)&op->proc);
    if (!op->cancelled)
        wm_sched_resume(op->co);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    WM_UNUSED(h);
    buf->base = wm_malloc(suggested);
    buf->len = suggested;
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct exec_op *op = s->data;
    wm_buf_t *dst = (s == (uv_stream_t *)&op->out) ? &op->out_buf : &op->err_buf;
    if (n > 0) {
        size_t room = op->max_output > dst->len ? op->max_output - dst->len : 0;
        size_t take = (size_t)n < room ? (size_t)n : room;
        if (take < (size_t)n)
            op->truncated = 1;
        if (take > 0)
            wm_buf_append(dst, buf->base, take);
    }
    wm_free(buf->base);
    if (n < 0) {
        uv_read_stop(s);
        close_handle(op, (uv_handle_t *)s);
        op->streams_open--;
        maybe_done(op);
    }
}

static void exit_cb(uv_process_t *p, int64_t status, int sig)
{
    struct exec_op *op = p->data;
    op->exited = 1;
    op->exit_status = (int)status;
    op->term_signal = sig;
    maybe_done(op);
}

static void timer_cb(uv_timer_t *t)
{
    struct exec_op *op = t->data;
    op->timed_out = 1;
    /* The child runs in its own process group: kill the whole group, so a
     * shell's grandchildren do not keep the pipes open. */
    if (op->proc.pid > 0)
        kill(-op->proc.pid, SIGKILL);
    uv_process_kill(&op->proc, SIGKILL);
}

static void write_cb(uv_write_t *req, int status)
{
    struct exec_op *op = req->data;
    WM_UNUSED(status);
    close_handle(op, (uv_handle_t *)&op->in);
}

static void push_result_table(lua_State *L, struct exec_op *op)
{
    lua_createtable(L, 0, 5);
    if (op->term_signal != 0) {
        lua_pushnil(L);
        lua_setfield(L, -2, "code");
        lua_pushinteger(L, op->term_signal);
        lua_setfield(L, -2, "signal");
    } else {
        lua_pushinteger(L, op->exit_status);
        lua_setfield(L, -2, "code");
    }
    lua_pushlstring(L, op->out_buf.data ? op->out_buf.data : "", op->out_buf.len);
    lua_setfield(L, -2, "stdout");
    lua_pushlstring(L, op->err_buf.data ? op->err_buf.data : "", op->err_buf.len);
    lua_setfield(L, -2, "stderr");
    if (op->truncated) {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "truncated");
    }
}

static int exec_push(wm_co_t *co, lua_State *L, void *p)
{
    struct exec_op *op = p;
    WM_UNUSED(co);
    int n;
    if (op->timed_out) {
        lua_pushnil(L);
        lua_pushliteral(L, "timeout");
        push_result_table(L, op);
        n = 3;
    } else {
        push_result_table(L, op);
        n = 1;
    }
    op->resumed = 1;
    op_maybe_free(op);
    return n;
}

static void exec_cancel(wm_co_t *co, void *p)
{
    struct exec_op *op = p;
    WM_UNUSED(co);
    op->cancelled = 1;
    if (!op->exited && op->proc.pid > 0) {
        kill(-op->proc.pid, SIGKILL);
        uv_process_kill(&op->proc, SIGKILL);
    }
    op_maybe_free(op);
}

/* ---- argv and environment from Lua ----
 *
 * Everything is checked before anything is allocated: a bad argument raises
 * with nothing to free. */

static void check_strv(lua_State *L, int idx, const char *fn)
{
    int n = (int)lua_objlen(L, idx);
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, i);
        if (!lua_isstring(L, -1))
            luaL_error(L, "%s: argv[%d] must be a string", fn, i);
        lua_pop(L, 1);
    }
}

/* Keys are names; a value is a string (or a number), or a boolean, which
 * removes the variable (false is the documented way). */
static void check_env(lua_State *L, int idx, const char *fn)
{
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "%s: env keys must be variable names (strings)", fn);
        int t = lua_type(L, -1);
        if (t != LUA_TSTRING && t != LUA_TNUMBER && t != LUA_TBOOLEAN)
            luaL_error(L, "%s: env.%s must be a string, or false to remove it", fn, lua_tostring(L, -2));
        lua_pop(L, 1);
    }
}

static char **make_strv(lua_State *L, int idx)
{
    int n = (int)lua_objlen(L, idx);
    char **v = wm_calloc((size_t)n + 1, sizeof(char *));
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, i);
        v[i - 1] = wm_strdup(lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    return v;
}

extern char **environ;

/* The parent's environment with the table at `idx` added or replaced. */
static char **make_env(lua_State *L, int idx)
{
    int n = 0, m = 0;
    for (char **e = environ; *e != NULL; e++)
        n++;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        m++;
        lua_pop(L, 1);
    }
    char **out = wm_calloc((size_t)(n + m + 1), sizeof(char *));
    int k = 0;
    for (char **e = environ; *e != NULL; e++) {
        const char *eq = strchr(*e, '=');
        size_t klen = eq ? (size_t)(eq - *e) : strlen(*e);
        lua_pushlstring(L, *e, klen);
        lua_rawget(L, idx);
        int overridden = !lua_isnil(L, -1);
        lua_pop(L, 1);
        if (!overridden)
            out[k++] = wm_strdup(*e);
    }
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        if (lua_type(L, -1) != LUA_TBOOLEAN) {
            /* The value is converted on the stack, never the key, which
             * lua_next still needs. */
            const char *key = lua_tostring(L, -2), *val = lua_tostring(L, -1);
            size_t len = strlen(key) + strlen(val) + 2;
            out[k] = wm_malloc(len);
            snprintf(out[k], len, "%s=%s", key, val);
            k++;
        }
        lua_pop(L, 1);
    }
    return out;
}

void wm_proc_argv_env(lua_State *L, int idx, const char *fn, char ***argv, char ***env)
{
    lua_getfield(L, idx, "argv");
    int a = lua_gettop(L);
    if (!lua_istable(L, a) || lua_objlen(L, a) == 0)
        luaL_error(L, "%s: argv must be a non-empty array of strings", fn);
    check_strv(L, a, fn);
    lua_getfield(L, idx, "env");
    int e = lua_gettop(L);
    if (!lua_isnil(L, e)) {
        if (!lua_istable(L, e))
            luaL_error(L, "%s: env must be a table", fn);
        check_env(L, e, fn);
    }
    *argv = make_strv(L, a);
    *env = lua_istable(L, e) ? make_env(L, e) : NULL;
    lua_pop(L, 2);
}

void wm_proc_strv_free(char **v)
{
    if (v == NULL)
        return;
    for (char **p = v; *p != NULL; p++)
        wm_free(*p);
    wm_free(v);
}

/* ---- children die with wm ----
 *
 * A wm killed with SIGKILL (or crashing) runs no cleanup: without more, its
 * children (Chromium, node, a test's fake server) would live on, holding
 * memory and ports. Linux's PR_SET_PDEATHSIG has to be set in the child
 * between fork and exec, and uv_spawn has no hook there, so the child is
 * util-linux's setpriv, which sets it and then execs argv. A process group
 * killed from an exit or signal path would not cover SIGKILL.
 *
 * The signal fires when the THREAD that forked the child ends, not the
 * process: uv_spawn runs on the loop thread, which lives as long as wm.
 * It is not inherited by the child's own children: programs that fork
 * (Chromium) have to watch their parent themselves. A wm killed between
 * the fork and setpriv's prctl leaves that one child behind. */

static const char SETPRIV[] = "/usr/bin/setpriv";

static int have_setpriv(void)
{
    static int state;   /* 0 unknown, 1 there, -1 missing (warned once) */
    if (state == 0) {
        state = access(SETPRIV, X_OK) == 0 ? 1 : -1;
        if (state < 0)
            wm_log_warn("wm.exec: setpriv (util-linux) is missing: children will outlive a killed wm",
                        "path", SETPRIV);
    }
    return state > 0;
}

/* 0 when `path` (relative to `cwd` when it is relative and cwd is given) is
 * a file exec could run, else the error exec would give. */
static int check_executable(const char *cwd, const char *path)
{
    char *full = NULL;
    if (path[0] != '/' && cwd != NULL) {
        size_t len = strlen(cwd) + strlen(path) + 2;
        full = wm_malloc(len);
        snprintf(full, len, "%s/%s", cwd, path);
    }
    struct stat st;
    int rc = 0;
    if (stat(full ? full : path, &st) != 0)
        rc = uv_translate_sys_error(errno);
    else if (!S_ISREG(st.st_mode))
        rc = UV_EACCES;
    else if (access(full ? full : path, X_OK) != 0)
        rc = uv_translate_sys_error(errno);
    wm_free(full);
    return rc;
}

/* The error uv_spawn would give for running `file` (no such file, not
 * executable), found like execvp does: a name with a slash as it is, else
 * along the child's PATH. With setpriv in between, the failed exec would
 * otherwise be setpriv's exit status 127, not an error. */
static int find_program(const char *file, const char *cwd, char **env)
{
    if (file[0] == '\0')
        return UV_ENOENT;
    if (strchr(file, '/') != NULL)
        return check_executable(cwd, file);
    const char *path = NULL;
    if (env != NULL) {
        for (char **e = env; *e != NULL && path == NULL; e++) {
            if (strncmp(*e, "PATH=", 5) == 0)
                path = *e + 5;
        }
    } else {
        path = getenv("PATH");
    }
    if (path == NULL)
        path = "/bin:/usr/bin";   /* glibc's execvp without PATH */
    int found_unrunnable = 0;
    for (const char *p = path;; p++) {
        const char *end = strchr(p, ':');
        if (end == NULL)
            end = p + strlen(p);
        /* An empty element is the current directory. */
        size_t dlen = (size_t)(end - p);
        size_t len = dlen + strlen(file) + 3;
        char *cand = wm_malloc(len);
        snprintf(cand, len, "%.*s/%s", (int)(dlen ? dlen : 1), dlen ? p : ".", file);
        int rc = check_executable(cwd, cand);
        wm_free(cand);
        if (rc == 0)
            return 0;
        if (rc == UV_EACCES)
            found_unrunnable = 1;
        if (*end == '\0')
            break;
        p = end;
    }
    return found_unrunnable ? UV_EACCES : UV_ENOENT;
}

/* argv run through setpriv --pdeathsig KILL; takes argv, returns the
 * vector to spawn (argv itself when setpriv is missing). */
static char **die_with_wm(char **argv)
{
    if (!have_setpriv())
        return argv;
    static const char *const prefix[] = {SETPRIV, "--pdeathsig", "KILL", "--"};
    size_t np = sizeof(prefix) / sizeof(prefix[0]), n = 0;
    while (argv[n] != NULL)
        n++;
    char **v = wm_calloc(np + n + 1, sizeof(char *));
    for (size_t i = 0; i < np; i++)
        v[i] = wm_strdup(prefix[i]);
    memcpy(v + np, argv, n * sizeof(char *));
    wm_free(argv);   /* the strings now belong to v */
    return v;
}

/* nil or false: the option is not given. */
static int absent(lua_State *L, int idx)
{
    return lua_isnil(L, idx) || (lua_isboolean(L, idx) && !lua_toboolean(L, idx));
}

static int l_exec(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    wm_co_t *co = wm_sched_current(L);
    if (co == NULL)
        return luaL_error(L, "wm.exec: must be called from a wm task");
    /* Every option is read and checked before the first allocation. */
    lua_getfield(L, 1, "timeout");
    if (!lua_isnoneornil(L, -1) && !lua_isnumber(L, -1))
        return luaL_error(L, "wm.exec: timeout must be a number of seconds");
    double timeout = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : 60;
    lua_getfield(L, 1, "max_output");
    if (!lua_isnoneornil(L, -1) && !lua_isnumber(L, -1))
        return luaL_error(L, "wm.exec: max_output must be a number of bytes");
    lua_Number max_output = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : DEFAULT_MAX_OUTPUT;
    lua_getfield(L, 1, "cwd");
    if (!absent(L, -1) && lua_type(L, -1) != LUA_TSTRING)
        return luaL_error(L, "wm.exec: cwd must be a string");
    const char *cwd = absent(L, -1) ? NULL : lua_tostring(L, -1);
    lua_getfield(L, 1, "stdin");
    if (!absent(L, -1) && !lua_isstring(L, -1))
        return luaL_error(L, "wm.exec: stdin must be a string");
    size_t in_len = 0;
    const char *in = absent(L, -1) ? NULL : lua_tolstring(L, -1, &in_len);
    int have_stdin = in != NULL;
    char **argv, **env;
    wm_proc_argv_env(L, 1, "wm.exec", &argv, &env);
    /* Checked here, before anything is allocated for the child: once
     * setpriv runs in between, a program it cannot exec would be setpriv's
     * exit status 127, not this error. */
    int missing = find_program(argv[0], cwd, env);
    if (missing != 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "%s: %s", uv_strerror(missing), argv[0]);
        wm_proc_strv_free(argv);
        wm_proc_strv_free(env);
        return 2;
    }
    char *cwd_copy = cwd ? wm_strdup(cwd) : NULL;

    struct exec_op *op = wm_calloc(1, sizeof(*op));
    op->co = co;
    op->max_output = (size_t)max_output;
    wm_buf_init(&op->out_buf);
    wm_buf_init(&op->err_buf);
    if (have_stdin) {
        op->stdin_data = wm_strndup(in, in_len);
        op->stdin_len = in_len;
    }
    lua_pop(L, 4);

    uv_loop_t *loop = wm_sched_loop();
    uv_pipe_init(loop, &op->out, 0);
    uv_pipe_init(loop, &op->err, 0);
    uv_pipe_init(loop, &op->in, 0);
    uv_timer_init(loop, &op->timer);
    op->out.data = op->err.data = op->in.data = op->timer.data = op->proc.data = op;
    op->write_req.data = op;
    op->open_handles = 5;   /* out, err, in, timer, proc (after spawn) */

    uv_stdio_container_t stdio[3];
    if (have_stdin) {
        stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
        stdio[0].data.stream = (uv_stream_t *)&op->in;
    } else {
        stdio[0].flags = UV_IGNORE;
    }
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *)&op->out;
    stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[2].data.stream = (uv_stream_t *)&op->err;

    char *prog = wm_strdup(argv[0]);   /* for the error, as the caller named it */
    argv = die_with_wm(argv);
    uv_process_options_t o;
    memset(&o, 0, sizeof(o));
    o.file = argv[0];
    o.args = argv;
    o.env = env;
    o.cwd = cwd_copy;
    o.exit_cb = exit_cb;
    o.flags = UV_PROCESS_DETACHED;   /* own process group, for the group kill */
    o.stdio_count = 3;
    o.stdio = stdio;

    int rc = uv_spawn(loop, &op->proc, &o);
    wm_proc_strv_free(argv);
    wm_proc_strv_free(env);
    wm_free(cwd_copy);
    if (rc < 0) {
        /* uv_spawn failed: the process handle still has to be closed. */
        op->cancelled = 1;
        close_handle(op, (uv_handle_t *)&op->proc);
        close_handle(op, (uv_handle_t *)&op->out);
        close_handle(op, (uv_handle_t *)&op->err);
        close_handle(op, (uv_handle_t *)&op->in);
        close_handle(op, (uv_handle_t *)&op->timer);
        lua_pushnil(L);
        lua_pushfstring(L, "%s: %s", uv_strerror(rc), prog);
        wm_free(prog);
        return 2;
    }
    wm_free(prog);
    op->streams_open = 2;
    uv_read_start((uv_stream_t *)&op->out, alloc_cb, read_cb);
    uv_read_start((uv_stream_t *)&op->err, alloc_cb, read_cb);
    if (have_stdin) {
        uv_buf_t b = uv_buf_init(op->stdin_data, (unsigned)op->stdin_len);
        if (uv_write(&op->write_req, (uv_stream_t *)&op->in, &b, 1, write_cb) < 0)
            close_handle(op, (uv_handle_t *)&op->in);
    } else {
        close_handle(op, (uv_handle_t *)&op->in);
    }
    if (timeout > 0)
        uv_timer_start(&op->timer, timer_cb, (uint64_t)(timeout * 1000.0), 0);
    return wm_sched_yield(co, op, exec_push, exec_cancel);
}

void wm_proc_lua_register(lua_State *L)
{
    lua_pushcfunction(L, l_exec);
    lua_setfield(L, -2, "exec");
}
