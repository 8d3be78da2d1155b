/* Unit tests of the whole-file operations in fs.c on a bare loop: atomic
 * writes leave the old file or the whole new one and no temporary file,
 * failures name the step and the path, an abandoned write cleans up after
 * itself and never calls back, and the synchronous mode does the same. */
#include "test.h"
#include "fs.h"

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

static int callbacks;
static void count_cb(wm_fs_op_t *op, void *data)
{
    WM_UNUSED(op);
    callbacks++;
    *(wm_fs_op_t **)data = op;
}

static int entries(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void rm_rf(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

TEST_IMPL(fs_atomic_write_read_stat)
{
    char dir[] = "/tmp/wm-unit-fs-XXXXXX";
    ASSERT(mkdtemp(dir) != NULL);
    uv_loop_t loop;
    uv_loop_init(&loop);
    char path[600], deep[600];
    snprintf(path, sizeof(path), "%s/a.txt", dir);
    snprintf(deep, sizeof(deep), "%s/x/y/z", dir);

    wm_fs_op_t *op = NULL, *done = NULL;
    callbacks = 0;
    ASSERT(wm_fs_mkdir_p(&loop, deep, 0755, count_cb, &done, &op) == 0);
    ASSERT_EQ_INT(callbacks, 0);           /* never inside the call */
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT(done == op && wm_fs_status(op) == 0);
    wm_fs_free(op);

    /* 3 MB, more than one read, written atomically and synced. */
    size_t n = 3u << 20;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    ASSERT(wm_fs_write_file(&loop, path, "old", 3, 0, 0644, count_cb, &done, &op) == 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT(wm_fs_status(op) == 0);
    wm_fs_free(op);
    ASSERT(wm_fs_write_file(&loop, path, big, n, WM_FS_ATOMIC | WM_FS_FSYNC, 0600, count_cb, &done, &op) == 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT(wm_fs_status(op) == 0);
    wm_fs_free(op);
    ASSERT_EQ_INT(entries(dir), 2);        /* a.txt and x: no temporary file */

    ASSERT(wm_fs_read_file(&loop, path, n, count_cb, &done, &op) == 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT(wm_fs_status(op) == 0);
    size_t len;
    const char *data = wm_fs_data(op, &len);
    ASSERT(len == n && memcmp(data, big, n) == 0);
    wm_fs_free(op);

    ASSERT(wm_fs_stat(&loop, path, count_cb, &done, &op) == 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT(wm_fs_status(op) == 0);
    const wm_fs_stat_t *st = wm_fs_statbuf(op);
    ASSERT_EQ_INT(st->type, WM_FS_FILE);
    ASSERT_EQ_INT(st->size, n);
    ASSERT_EQ_INT(st->mode, 0600);
    wm_fs_free(op);
    ASSERT_EQ_INT(callbacks, 5);

    /* Synchronous mode (cb NULL): the same, inline. */
    ASSERT(wm_fs_read_file(&loop, "/proc/self/status", 1 << 20, NULL, NULL, &op) == 0);
    ASSERT(strstr(wm_fs_data(op, NULL), "Pid:") != NULL);
    wm_fs_free(op);
    ASSERT(wm_fs_stat(&loop, deep, NULL, NULL, &op) == 0);
    ASSERT_EQ_INT(wm_fs_statbuf(op)->type, WM_FS_DIR);
    wm_fs_free(op);
    ASSERT_EQ_INT(callbacks, 5);

    free(big);
    ASSERT(uv_loop_close(&loop) == 0);
    rm_rf(dir);
    return 0;
}

TEST_IMPL(fs_failures_name_step_and_path)
{
    char dir[] = "/tmp/wm-unit-fs-XXXXXX";
    ASSERT(mkdtemp(dir) != NULL);
    uv_loop_t loop;
    uv_loop_init(&loop);
    char p[600];
    wm_fs_op_t *op, *done;

    snprintf(p, sizeof(p), "%s/missing", dir);
    ASSERT(wm_fs_read_file(&loop, p, 100, NULL, NULL, &op) == UV_ENOENT);
    ASSERT(strstr(wm_fs_error(op), "open ") == wm_fs_error(op));
    ASSERT(strstr(wm_fs_error(op), p) != NULL);
    wm_fs_free(op);

    ASSERT(wm_fs_read_file(&loop, dir, 100, NULL, NULL, &op) == UV_EISDIR);
    wm_fs_free(op);

    snprintf(p, sizeof(p), "%s/ten", dir);
    ASSERT(wm_fs_write_file(&loop, p, "0123456789", 10, 0, 0644, NULL, NULL, &op) == 0);
    wm_fs_free(op);
    ASSERT(wm_fs_read_file(&loop, p, 9, count_cb, &done, &op) == 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT_EQ_INT(wm_fs_status(op), UV_EFBIG);
    wm_fs_free(op);
    ASSERT(wm_fs_read_file(&loop, p, 10, NULL, NULL, &op) == 0);
    ASSERT_EQ_STR(wm_fs_data(op, NULL), "0123456789");
    wm_fs_free(op);

    /* An atomic write that cannot rename (the target is a folder) leaves
     * the folder alone and no temporary file. */
    snprintf(p, sizeof(p), "%s/sub", dir);
    ASSERT(wm_fs_mkdir_p(&loop, p, 0755, NULL, NULL, &op) == 0);
    wm_fs_free(op);
    ASSERT(wm_fs_write_file(&loop, p, "x", 1, WM_FS_ATOMIC, 0644, count_cb, &done, &op) == 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT(wm_fs_status(op) < 0);
    ASSERT(strstr(wm_fs_error(op), "rename ") == wm_fs_error(op));
    wm_fs_free(op);
    ASSERT_EQ_INT(entries(dir), 2);        /* ten and sub */

    snprintf(p, sizeof(p), "%s/no/such/folder/f", dir);
    ASSERT(wm_fs_write_file(&loop, p, "x", 1, WM_FS_ATOMIC, 0644, NULL, NULL, &op) == UV_ENOENT);
    wm_fs_free(op);
    ASSERT(uv_loop_close(&loop) == 0);
    rm_rf(dir);
    return 0;
}

/* Given up in flight: no callback, the temporary file removed, the target
 * never created, and the memory freed (LeakSanitizer in the sanitizer
 * build). */
TEST_IMPL(fs_abandon_cleans_up)
{
    char dir[] = "/tmp/wm-unit-fs-XXXXXX";
    ASSERT(mkdtemp(dir) != NULL);
    uv_loop_t loop;
    uv_loop_init(&loop);
    char p[600];
    snprintf(p, sizeof(p), "%s/big", dir);
    size_t n = 8u << 20;
    char *big = calloc(1, n);
    callbacks = 0;
    for (int i = 0; i < 3; i++) {
        wm_fs_op_t *op, *done = NULL;
        ASSERT(wm_fs_write_file(&loop, p, big, n, WM_FS_ATOMIC | WM_FS_FSYNC, 0644, count_cb, &done, &op) == 0);
        /* Give the thread pool a step or two before giving up. */
        for (int k = 0; k < i; k++)
            uv_run(&loop, UV_RUN_ONCE);
        wm_fs_abandon(op);
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    ASSERT_EQ_INT(callbacks, 0);
    ASSERT_EQ_INT(entries(dir), 0);
    free(big);
    ASSERT(uv_loop_close(&loop) == 0);
    rm_rf(dir);
    return 0;
}
