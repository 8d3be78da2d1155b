/* main.c unit provides the `wm` entry point: it finds the project root,
 * opens the runtime and runs scripts/wm/cli.lua's main(argv) as the first
 * task. Commands themselves live in Lua (scripts/wm/cli/). */
#include "log.h"
#include "sched.h"
#include "vm.h"
#include "wm.h"

#include <lauxlib.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int exit_code = 0;

static int has_scripts(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/scripts/wm/init.lua", dir);
    return access(path, R_OK) == 0;
}

/* WM_ROOT, else the folder above the binary (build/wm), else the source tree
 * the binary was built from. */
static char *find_root(void)
{
    const char *env = getenv("WM_ROOT");
    if (env != NULL && env[0] != '\0')
        return realpath(env, NULL);
    char *exe = realpath("/proc/self/exe", NULL);
    if (exe != NULL) {
        char *dir = dirname(exe);
        char up[4096];
        snprintf(up, sizeof(up), "%s/..", dir);
        char *r = realpath(up, NULL);
        if (r != NULL && has_scripts(r)) {
            free(exe);
            return r;
        }
        free(r);
        if (has_scripts(dir)) {
            r = strdup(dir);
            free(exe);
            return r;
        }
        free(exe);
    }
    return strdup(WM_SOURCE_DIR);
}

static void main_done(wm_co_t *co, int ok, int nres, const char *err, void *ud)
{
    WM_UNUSED(ud);
    if (!ok) {
        fprintf(stderr, "wm: %s\n", err);
        exit_code = 1;
        return;
    }
    if (nres > 0 && lua_isnumber(co->L, -nres))
        exit_code = (int)lua_tointeger(co->L, -nres);
}

static void on_all_tasks_done(void *ud)
{
    uv_stop(ud);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    const char *config_file = NULL;
    int first = 1;
    /* Global options before the command. */
    while (first < argc && strcmp(argv[first], "--config") == 0) {
        if (first + 1 >= argc) {
            fprintf(stderr, "wm: --config needs a file\nusage: wm [--config FILE] <command> [args]\n");
            return 2;
        }
        config_file = argv[first + 1];
        first += 2;
    }
    char *root = find_root();
    if (root == NULL) {
        fprintf(stderr, "wm: cannot find the project root (set WM_ROOT)\n");
        return 2;
    }

    uv_loop_t loop;
    uv_loop_init(&loop);
    wm_vm_opts_t opts = {.root = root, .config_file = config_file};
    lua_State *L;
    wm_err_t err;
    if (wm_vm_open(&loop, &opts, &L, &err) != 0) {
        fprintf(stderr, "wm: %s\n", err.msg);
        uv_run(&loop, UV_RUN_NOWAIT);
        uv_loop_close(&loop);
        free(root);
        return 1;
    }

    lua_getglobal(L, "require");
    lua_pushliteral(L, "wm.cli");
    if (wm_lua_pcall(L, 1, 1) != 0) {
        fprintf(stderr, "wm: %s\n", lua_tostring(L, -1));
        wm_vm_close(L);
        uv_loop_close(&loop);
        free(root);
        return 1;
    }
    lua_getfield(L, -1, "main");
    lua_remove(L, -2);
    lua_createtable(L, argc, 0);
    for (int i = first; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - first + 1);
    }
    wm_sched_on_idle(on_all_tasks_done, &loop);
    wm_sched_spawn(L, 1, main_done, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);

    if (exit_code == 0 && wm_log_unhandled() > 0)
        exit_code = 1;
    wm_sched_on_idle(NULL, NULL);
    wm_vm_close(L);
    if (uv_loop_close(&loop) != 0)
        wm_log_warn("loop closed with handles still open", NULL, NULL);
    free(root);
    return exit_code;
}
