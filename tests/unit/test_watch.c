/* Unit tests of the directory watcher in watch.c on a bare loop: a burst
 * of writes arrives as one batch of distinct paths, after the debounce's
 * quiet time; a folder made later is watched, and what is in it reported. */
#include "test.h"
#include "watch.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

struct seen {
    int batches;
    char paths[16][512];
    int npaths;
    uint64_t first_batch_at;
    uv_loop_t *loop;
    int stop_after;
};

static void on_batch(wm_watch_t *w, const char *const *paths, int n, void *ud)
{
    struct seen *s = ud;
    WM_UNUSED(w);
    if (s->batches++ == 0)
        s->first_batch_at = uv_now(s->loop);
    for (int i = 0; i < n && s->npaths < 16; i++)
        snprintf(s->paths[s->npaths++], sizeof(s->paths[0]), "%s", paths[i]);
    if (s->batches >= s->stop_after)
        uv_stop(s->loop);
}

static int has_path(const struct seen *s, const char *p)
{
    for (int i = 0; i < s->npaths; i++) {
        if (strcmp(s->paths[i], p) == 0)
            return 1;
    }
    return 0;
}

static void write_file(const char *path, const char *data)
{
    FILE *f = fopen(path, "w");
    fputs(data, f);
    fclose(f);
}

struct burst {
    uv_timer_t timer;
    char dir[256];
    int step;
    uint64_t last_write_at;
};

/* Four writes to two files, 10 ms apart. */
static void burst_cb(uv_timer_t *t)
{
    struct burst *b = t->data;
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", b->dir, b->step % 2 ? "b.lua" : "a.lua");
    write_file(p, "return 1\n");
    b->last_write_at = uv_now(t->loop);
    if (++b->step == 4)
        uv_timer_stop(t);
}

static void guard_cb(uv_timer_t *t) { uv_stop(t->loop); }

static void cleanup(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

TEST_IMPL(watch_debounced_batch)
{
    char tmpl[] = "/tmp/wm-unit-watch-XXXXXX";
    ASSERT(mkdtemp(tmpl) != NULL);
    char *dir = realpath(tmpl, NULL);
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct seen s = {.loop = &loop, .stop_after = 1};
    wm_watch_t *w;
    wm_err_t err;
    ASSERT(wm_watch_open(&loop, 0.15, on_batch, &s, &w, &err) == 0);
    ASSERT(wm_watch_add(w, dir, &err) == 0);
    ASSERT_EQ_INT(wm_watch_count(w), 1);
    ASSERT(wm_watch_add(w, "/nonexistent/wm-unit", &err) < 0);

    struct burst b = {.step = 0};
    snprintf(b.dir, sizeof(b.dir), "%s", dir);
    uv_timer_init(&loop, &b.timer);
    b.timer.data = &b;
    uv_timer_start(&b.timer, burst_cb, 10, 10);
    uv_timer_t guard;
    uv_timer_init(&loop, &guard);
    uv_timer_start(&guard, guard_cb, 3000, 0);
    uv_run(&loop, UV_RUN_DEFAULT);

    ASSERT_EQ_INT(b.step, 4);
    ASSERT_EQ_INT(s.batches, 1);
    char a[512], bb[512];
    snprintf(a, sizeof(a), "%s/a.lua", dir);
    snprintf(bb, sizeof(bb), "%s/b.lua", dir);
    ASSERT_EQ_INT(s.npaths, 2);            /* four writes, two distinct paths */
    ASSERT(has_path(&s, a) && has_path(&s, bb));
    /* Delivered only after 150 ms without events (the loop clock may be a
     * few ms coarse). */
    ASSERT(s.first_batch_at >= b.last_write_at + 140);

    /* Ignored names make no batch; a folder made now is watched, and the
     * file already in it reported. */
    s.npaths = 0;
    s.stop_after = 2;
    char p[600];
    snprintf(p, sizeof(p), "%s/.hidden", dir);
    write_file(p, "x");
    snprintf(p, sizeof(p), "%s/x.lua~", dir);
    write_file(p, "x");
    snprintf(p, sizeof(p), "%s/sub", dir);
    ASSERT(mkdir(p, 0755) == 0);
    snprintf(p, sizeof(p), "%s/sub/c.lua", dir);
    write_file(p, "x");
    uv_timer_start(&guard, guard_cb, 3000, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT_EQ_INT(s.batches, 2);
    ASSERT(has_path(&s, p));
    for (int i = 0; i < s.npaths; i++) {
        ASSERT(strstr(s.paths[i], ".hidden") == NULL);
        ASSERT(strstr(s.paths[i], "~") == NULL);
    }
    ASSERT_EQ_INT(wm_watch_count(w), 2);

    wm_watch_close(w);
    uv_close((uv_handle_t *)&b.timer, NULL);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT(uv_loop_close(&loop) == 0);
    cleanup(dir);
    free(dir);
    return 0;
}
