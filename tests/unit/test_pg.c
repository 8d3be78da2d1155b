/* Unit tests of the pool in pg.c against the test cluster
 * (WM_TEST_DATABASE_URL), driven from C on a bare uv loop. */
#include "test.h"
#include "pg.h"

#include <uv.h>

struct counter {
    int done, ok, wrong, failed;
    int expected;
    uv_loop_t *loop;
};

static void on_double(wm_pg_query_t *q)
{
    struct counter *c = q->data;
    int want = atoi(q->values[0]) * 2;
    if (q->res != NULL && PQntuples(q->res) == 1 && atoi(PQgetvalue(q->res, 0, 0)) == want)
        c->ok++;
    else if (q->res != NULL)
        c->wrong++;
    else
        c->failed++;
    wm_pg_query_free(q);
    if (++c->done == c->expected)
        uv_stop(c->loop);
}

static wm_pg_pool_t *open_pool(uv_loop_t *loop, int size)
{
    const char *url = getenv("WM_TEST_DATABASE_URL");
    if (url == NULL) {
        fprintf(stderr, "WM_TEST_DATABASE_URL is not set\n");
        return NULL;
    }
    wm_pg_conf_t conf = {.conninfo = url, .size = size, .pipeline_depth = 16};
    wm_pg_pool_t *p = NULL;
    wm_err_t err;
    if (wm_pg_pool_open(loop, &conf, &p, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return NULL;
    }
    return p;
}

static void close_all(uv_loop_t *loop, wm_pg_pool_t *p)
{
    wm_pg_pool_close(p);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
}

static void on_timeout(uv_timer_t *t)
{
    uv_stop(t->loop);
}

/* 1,000 queries on 8 connections, each with its own parameter, each answer
 * checked against its own question. */
TEST_IMPL(pg_thousand_queries)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    wm_pg_pool_t *p = open_pool(&loop, 8);
    ASSERT(p != NULL);
    struct counter c = {.expected = 1000, .loop = &loop};
    for (int i = 0; i < 1000; i++) {
        char v[16];
        snprintf(v, sizeof(v), "%d", i);
        const char *vals[1] = {v};
        size_t lens[1] = {strlen(v)};
        wm_pg_query_t *q = wm_pg_query_new("SELECT $1::int * 2", 18, 1, vals, lens);
        q->cb = on_double;
        q->data = &c;
        wm_err_t err;
        ASSERT(wm_pg_submit(p, q, &err) == 0);
    }
    uv_timer_t guard;
    uv_timer_init(&loop, &guard);
    uv_timer_start(&guard, on_timeout, 30000, 0);
    uv_unref((uv_handle_t *)&guard);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&guard, NULL);
    ASSERT_EQ_INT(c.ok, 1000);
    ASSERT_EQ_INT(c.wrong, 0);
    ASSERT_EQ_INT(c.failed, 0);
    wm_pg_stats_t st;
    wm_pg_stats(p, &st);
    ASSERT_EQ_INT(st.size, 8);
    ASSERT_EQ_INT(st.queries, 1000);
    close_all(&loop, p);
    return 0;
}

struct isolated {
    int n;
    char state[3][8];
    int ok[3];
    uv_loop_t *loop;
};

static void on_isolated(wm_pg_query_t *q)
{
    struct isolated *s = q->data;
    int i = (int)(intptr_t)q->data2;
    s->ok[i] = q->res != NULL;
    snprintf(s->state[i], sizeof(s->state[i]), "%s", q->sqlstate);
    wm_pg_query_free(q);
    if (++s->n == 3)
        uv_stop(s->loop);
}

/* On one connection, a failing query between two good ones fails alone:
 * each query has its own Sync, so nothing is aborted with it. */
TEST_IMPL(pg_errors_isolated)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    wm_pg_pool_t *p = open_pool(&loop, 1);
    ASSERT(p != NULL);
    struct isolated s = {.loop = &loop};
    const char *sql[3] = {"SELECT 1", "SELECT 1/0", "SELECT 2"};
    for (int i = 0; i < 3; i++) {
        wm_pg_query_t *q = wm_pg_query_new(sql[i], strlen(sql[i]), 0, NULL, NULL);
        q->cb = on_isolated;
        q->data = &s;
        q->data2 = (void *)(intptr_t)i;
        wm_err_t err;
        ASSERT(wm_pg_submit(p, q, &err) == 0);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT(s.ok[0] && !s.ok[1] && s.ok[2]);
    ASSERT_EQ_STR(s.state[1], "22012");
    close_all(&loop, p);
    return 0;
}
