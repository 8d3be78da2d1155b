/* fs.h unit provides whole-file operations that never block the loop: each
 * step (open, fstat, read, write, fsync, close, rename, unlink, mkdir, stat)
 * is a libuv file request that runs on the loop's thread pool, and the next
 * step starts from the previous one's callback.
 *
 * Every operation has two modes. With a callback it returns at once and the
 * callback runs later, exactly once, from the loop (never inside the call).
 * With cb == NULL it runs to the end in the calling thread and returns its
 * status: for code that runs before the loop does (boot, the CLI's first
 * steps), where there is nothing else to wait for.
 *
 * After the operation ended, wm_fs_status / wm_fs_error / wm_fs_data /
 * wm_fs_statbuf read its outcome and wm_fs_free releases it. */
#ifndef WM_FS_H
#define WM_FS_H

#include <uv.h>
#include "wm.h"

typedef struct wm_fs_op_s wm_fs_op_t;

typedef void (*wm_fs_cb)(wm_fs_op_t *op, void *data);

enum { WM_FS_FILE = 1, WM_FS_DIR, WM_FS_OTHER };

typedef struct {
    int type;                  /* WM_FS_FILE, WM_FS_DIR or WM_FS_OTHER */
    uint64_t size;
    double mtime;              /* seconds since the epoch */
    unsigned mode;             /* permission bits */
    unsigned long uid;
} wm_fs_stat_t;

/* write_file flags. */
enum {
    WM_FS_FSYNC = 1,           /* the data is on disk before the call succeeds */
    WM_FS_ATOMIC = 2           /* written under a hidden temporary name in the
                                * same folder, then renamed into place: a
                                * reader sees the old file or the whole new
                                * one, never a part (with WM_FS_FSYNC, the
                                * folder is synced after the rename too) */
};

/* Reads the whole regular file at `path`; more than `max_bytes` fails with
 * UV_EFBIG (nothing is kept). */
int wm_fs_read_file(uv_loop_t *loop, const char *path, size_t max_bytes, wm_fs_cb cb, void *data,
                    wm_fs_op_t **out);

/* Writes `len` bytes (copied) to `path`, created with `mode` or truncated.
 * A failed atomic write removes its temporary file and leaves `path` as it
 * was. */
int wm_fs_write_file(uv_loop_t *loop, const char *path, const void *bytes, size_t len, int flags,
                     int mode, wm_fs_cb cb, void *data, wm_fs_op_t **out);

/* stat(2) of `path` (symbolic links followed). */
int wm_fs_stat(uv_loop_t *loop, const char *path, wm_fs_cb cb, void *data, wm_fs_op_t **out);

/* Creates `path` and every missing parent with `mode`; a folder that
 * already exists is not an error. */
int wm_fs_mkdir_p(uv_loop_t *loop, const char *path, int mode, wm_fs_cb cb, void *data,
                  wm_fs_op_t **out);

/* The operation's outcome: 0, or a negative UV_E* code; its message names
 * the step and the path ("open /x/y: no such file or directory"). */
int wm_fs_status(const wm_fs_op_t *op);
const char *wm_fs_error(wm_fs_op_t *op);

/* What read_file read (NUL-terminated; `len` may be NULL), and what stat
 * found. */
const char *wm_fs_data(const wm_fs_op_t *op, size_t *len);
const wm_fs_stat_t *wm_fs_statbuf(const wm_fs_op_t *op);

/* Releases an operation that has ended. */
void wm_fs_free(wm_fs_op_t *op);

/* Gives up an operation that has not ended (its task went away): the
 * callback never runs; what the operation opened is closed, an atomic
 * write's temporary file is removed, and the memory goes when the step in
 * flight comes back. */
void wm_fs_abandon(wm_fs_op_t *op);

#endif
