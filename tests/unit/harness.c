/* harness.c unit provides what the C unit tests share beyond test.h: a
 * whole wm VM (the API scripts see) on a loop of its own, running Lua in a
 * task until everything it spawned has ended; and a fresh database of the
 * test cluster. */
#include "test.h"
#include "sched.h"
#include "vm.h"

#include <lauxlib.h>
#include <libpq-fe.h>
#include <unistd.h>

static void stop_loop(void *ud)
{
    uv_stop(ud);
}

int test_vm_open(test_vm_t *vm)
{
    memset(vm, 0, sizeof(*vm));
    uv_loop_init(&vm->loop);
    wm_vm_opts_t opts = {.root = WM_SOURCE_DIR, .config_file = NULL};
    wm_err_t err;
    if (wm_vm_open(&vm->loop, &opts, &vm->L, &err) != 0) {
        fprintf(stderr, "wm_vm_open: %s\n", err.msg);
        return -1;
    }
    wm_sched_on_idle(stop_loop, &vm->loop);
    return 0;
}

struct run_result {
    int done, ok;
    char *err;
};

static void run_done(wm_co_t *co, int ok, int nres, const char *err, void *ud)
{
    struct run_result *r = ud;
    WM_UNUSED(co);
    WM_UNUSED(nres);
    r->done = 1;
    r->ok = ok;
    if (!ok)
        r->err = wm_strdup(err ? err : "?");
}

int test_vm_run(test_vm_t *vm, const char *chunk)
{
    if (luaL_loadbuffer(vm->L, chunk, strlen(chunk), "=test") != 0) {
        fprintf(stderr, "%s\n", lua_tostring(vm->L, -1));
        lua_pop(vm->L, 1);
        return -1;
    }
    struct run_result r = {0, 0, NULL};
    wm_sched_spawn(vm->L, 0, run_done, &r);
    uv_run(&vm->loop, UV_RUN_DEFAULT);
    if (!r.done) {
        fprintf(stderr, "the task did not end\n");
        return -1;
    }
    if (!r.ok) {
        fprintf(stderr, "%s\n", r.err);
        wm_free(r.err);
        return -1;
    }
    return 0;
}

void test_vm_close(test_vm_t *vm)
{
    wm_vm_close(vm->L);
    uv_run(&vm->loop, UV_RUN_DEFAULT);
    uv_loop_close(&vm->loop);
}

static char db_url[1024];
static char db_name[64];

static int admin(const char *sql)
{
    const char *base = getenv("WM_TEST_DATABASE_URL");
    PGconn *c = PQconnectdb(base);
    int rc = 0;
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "%s", PQerrorMessage(c));
        rc = -1;
    } else {
        PGresult *res = PQexec(c, sql);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
            rc = -1;
        }
        PQclear(res);
    }
    PQfinish(c);
    return rc;
}

const char *test_db_create(const char *name)
{
    const char *base = getenv("WM_TEST_DATABASE_URL");
    if (base == NULL) {
        fprintf(stderr, "WM_TEST_DATABASE_URL is not set\n");
        return NULL;
    }
    snprintf(db_name, sizeof(db_name), "wmu_%s_%ld", name, (long)getpid());
    char sql[128];
    snprintf(sql, sizeof(sql), "CREATE DATABASE \"%s\"", db_name);
    if (admin(sql) != 0)
        return NULL;
    snprintf(db_url, sizeof(db_url), "%s dbname=%s", base, db_name);
    return db_url;
}

void test_db_drop(void)
{
    if (db_name[0] == '\0')
        return;
    char sql[160];
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", db_name);
    admin(sql);
    db_name[0] = '\0';
}
