/* fs.c unit provides the whole-file operations declared in fs.h.
 *
 * An operation is a small state machine over one uv_fs_t: issue() starts
 * the current step (on the thread pool, or inline in synchronous mode),
 * advance() takes its result and picks the next step. A failure records the
 * first error and turns to the clean-up steps (close what is open, remove an
 * atomic write's temporary file), which run whatever happened before. */
#include "fs.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum step {
    S_OPEN, S_FSTAT, S_READ, S_WRITE, S_FSYNC, S_CLOSE, S_RENAME,
    S_DIROPEN, S_DIRFSYNC, S_DIRCLOSE, S_UNLINK, S_STAT, S_MKDIR, S_DONE
};

enum kind { K_READ, K_WRITE, K_STAT, K_MKDIR };

/* One write or read asks for at most this much (uv_buf_t lengths are
 * unsigned int). */
#define MAX_CHUNK (1u << 30)

struct wm_fs_op_s {
    uv_fs_t req;
    uv_loop_t *loop;
    wm_fs_cb cb;
    void *data;
    enum kind kind;
    enum step step;
    int status;
    char *errmsg;
    char *path;
    char *tmp;                 /* atomic write: the temporary name */
    char *dir;                 /* atomic + fsync write: the folder to sync */
    char *mk;                  /* mkdir_p: the path, cut at mk_pos */
    size_t mk_pos, mk_len;
    uv_file fd;
    int fd_is_dir;
    int tmp_exists;
    char *buf;                 /* read: what was read; write: a copy of the bytes */
    size_t len, cap, max, off;
    int flags, mode;
    wm_fs_stat_t st;
    unsigned sync : 1;
    unsigned abandoned : 1;
    unsigned ended : 1;
};

static void run_steps(wm_fs_op_t *op, int rc);

/* ---- lifetime ---- */

static wm_fs_op_t *op_new(uv_loop_t *loop, enum kind kind, const char *path, wm_fs_cb cb, void *data)
{
    wm_fs_op_t *op = wm_calloc(1, sizeof(*op));
    op->loop = loop;
    op->kind = kind;
    op->path = wm_strdup(path);
    op->cb = cb;
    op->data = data;
    op->fd = -1;
    op->sync = cb == NULL;
    op->req.data = op;
    return op;
}

void wm_fs_free(wm_fs_op_t *op)
{
    if (op == NULL)
        return;
    wm_free(op->errmsg);
    wm_free(op->path);
    wm_free(op->tmp);
    wm_free(op->dir);
    wm_free(op->mk);
    wm_free(op->buf);
    wm_free(op);
}

void wm_fs_abandon(wm_fs_op_t *op)
{
    if (op->ended) {
        wm_fs_free(op);
        return;
    }
    /* The step in flight comes back to run_steps, which sees the flag, turns
     * to the clean-up steps and frees the operation at the end. */
    op->abandoned = 1;
    op->cb = NULL;
}

int wm_fs_status(const wm_fs_op_t *op) { return op->status; }

const char *wm_fs_error(wm_fs_op_t *op)
{
    if (op->status == 0)
        return NULL;
    return op->errmsg ? op->errmsg : uv_strerror(op->status);
}

const char *wm_fs_data(const wm_fs_op_t *op, size_t *len)
{
    if (len != NULL)
        *len = op->len;
    return op->buf ? op->buf : "";
}

const wm_fs_stat_t *wm_fs_statbuf(const wm_fs_op_t *op) { return &op->st; }

/* ---- steps ---- */

/* Records the first failure and turns to the clean-up steps. */
static void fail(wm_fs_op_t *op, int rc, const char *what, const char *path)
{
    if (op->status == 0) {
        op->status = rc;
        size_t n = strlen(what) + strlen(path) + strlen(uv_strerror(rc)) + 8;
        op->errmsg = wm_malloc(n);
        snprintf(op->errmsg, n, "%s %s: %s", what, path, uv_strerror(rc));
    }
    if (op->fd >= 0)
        op->step = op->fd_is_dir ? S_DIRCLOSE : S_CLOSE;
    else if (op->tmp_exists)
        op->step = S_UNLINK;
    else
        op->step = S_DONE;
}

static void keep_stat(wm_fs_op_t *op, const uv_stat_t *s)
{
    uint64_t fmt = s->st_mode & S_IFMT;
    op->st.type = fmt == S_IFREG ? WM_FS_FILE : fmt == S_IFDIR ? WM_FS_DIR : WM_FS_OTHER;
    op->st.size = s->st_size;
    op->st.mtime = (double)s->st_mtim.tv_sec + (double)s->st_mtim.tv_nsec / 1e9;
    op->st.mode = (unsigned)(s->st_mode & 07777);
    op->st.uid = (unsigned long)s->st_uid;
}

/* The result of a finished request, which is then released. */
static int collect(wm_fs_op_t *op, int rc)
{
    if (rc >= 0 && (op->req.fs_type == UV_FS_STAT || op->req.fs_type == UV_FS_FSTAT))
        keep_stat(op, &op->req.statbuf);
    uv_fs_req_cleanup(&op->req);
    return rc;
}

static void on_fs(uv_fs_t *req)
{
    wm_fs_op_t *op = req->data;
    run_steps(op, collect(op, (int)req->result));
}

/* Starts the current step. Asynchronous: 0 once submitted (on_fs brings
 * the result), or a negative code when it could not be. Synchronous: the
 * step's result. */
static int issue(wm_fs_op_t *op)
{
    uv_fs_cb cb = op->sync ? NULL : on_fs;
    uv_fs_t *r = &op->req;
    uv_buf_t b;
    int rc;
    switch (op->step) {
    case S_OPEN:
        if (op->kind == K_READ)
            rc = uv_fs_open(op->loop, r, op->path, O_RDONLY | O_CLOEXEC, 0, cb);
        else if (op->tmp != NULL)
            rc = uv_fs_open(op->loop, r, op->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, op->mode, cb);
        else
            rc = uv_fs_open(op->loop, r, op->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, op->mode, cb);
        break;
    case S_FSTAT:
        rc = uv_fs_fstat(op->loop, r, op->fd, cb);
        break;
    case S_READ: {
        size_t room = op->cap - op->len;
        b = uv_buf_init(op->buf + op->len, (unsigned)(room < MAX_CHUNK ? room : MAX_CHUNK));
        rc = uv_fs_read(op->loop, r, op->fd, &b, 1, -1, cb);
        break;
    }
    case S_WRITE: {
        size_t left = op->len - op->off;
        b = uv_buf_init(op->buf + op->off, (unsigned)(left < MAX_CHUNK ? left : MAX_CHUNK));
        rc = uv_fs_write(op->loop, r, op->fd, &b, 1, -1, cb);
        break;
    }
    case S_FSYNC:
    case S_DIRFSYNC:
        rc = uv_fs_fsync(op->loop, r, op->fd, cb);
        break;
    case S_CLOSE:
    case S_DIRCLOSE:
        rc = uv_fs_close(op->loop, r, op->fd, cb);
        break;
    case S_RENAME:
        rc = uv_fs_rename(op->loop, r, op->tmp, op->path, cb);
        break;
    case S_DIROPEN:
        rc = uv_fs_open(op->loop, r, op->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, cb);
        break;
    case S_UNLINK:
        rc = uv_fs_unlink(op->loop, r, op->tmp, cb);
        break;
    case S_STAT:
        rc = uv_fs_stat(op->loop, r, op->path, cb);
        break;
    case S_MKDIR:
        rc = uv_fs_mkdir(op->loop, r, op->mk, op->mode, cb);
        break;
    default:
        return UV_EINVAL;
    }
    if (op->sync || rc < 0)
        return collect(op, rc);
    return 0;
}

/* mkdir_p: cuts op->mk at the next '/' after mk_pos (or not at all for the
 * last component). Returns 0 when the whole path was done. */
static int next_prefix(wm_fs_op_t *op)
{
    if (op->mk_pos >= op->mk_len)
        return 0;
    if (op->mk[op->mk_pos] == '\0')
        op->mk[op->mk_pos] = '/';
    char *slash = strchr(op->mk + op->mk_pos + 1, '/');
    if (slash != NULL) {
        op->mk_pos = (size_t)(slash - op->mk);
        *slash = '\0';
    } else {
        op->mk_pos = op->mk_len;
    }
    return 1;
}

/* Takes the result `rc` of the current step and picks the next one. */
static void advance(wm_fs_op_t *op, int rc)
{
    switch (op->step) {
    case S_OPEN:
        if (rc < 0) {
            fail(op, rc, "open", op->tmp ? op->tmp : op->path);
            return;
        }
        op->fd = rc;
        op->tmp_exists = op->tmp != NULL;
        if (op->kind == K_READ)
            op->step = S_FSTAT;
        else if (op->len > 0)
            op->step = S_WRITE;
        else
            op->step = (op->flags & WM_FS_FSYNC) ? S_FSYNC : S_CLOSE;
        break;
    case S_FSTAT:
        if (rc < 0) {
            fail(op, rc, "stat", op->path);
        } else if (op->st.type != WM_FS_FILE) {
            fail(op, op->st.type == WM_FS_DIR ? UV_EISDIR : UV_EINVAL, "read", op->path);
        } else if (op->st.size > op->max) {
            fail(op, UV_EFBIG, "read", op->path);
        } else {
            /* One byte more than the size: reading 0 there confirms the end
             * without a second buffer (files may also grow meanwhile).
             * Files that say 0 (/proc) start with a page. */
            op->cap = (size_t)op->st.size + 1;
            if (op->cap < 4096)
                op->cap = op->max < 4095 ? op->max + 1 : 4096;
            op->buf = wm_malloc(op->cap + 1);
            op->step = S_READ;
        }
        break;
    case S_READ:
        if (rc < 0) {
            fail(op, rc, "read", op->path);
        } else if (rc == 0) {
            op->buf[op->len] = '\0';
            op->step = S_CLOSE;
        } else {
            op->len += (size_t)rc;
            if (op->len > op->max) {
                fail(op, UV_EFBIG, "read", op->path);
            } else if (op->len == op->cap) {
                op->cap = op->cap * 2 < op->max + 1 ? op->cap * 2 : op->max + 1;
                op->buf = wm_realloc(op->buf, op->cap + 1);
            }
        }
        break;
    case S_WRITE:
        if (rc < 0) {
            fail(op, rc, "write", op->tmp ? op->tmp : op->path);
            return;
        }
        op->off += (size_t)rc;
        if (op->off >= op->len)
            op->step = (op->flags & WM_FS_FSYNC) ? S_FSYNC : S_CLOSE;
        break;
    case S_FSYNC:
        if (rc < 0)
            fail(op, rc, "fsync", op->tmp ? op->tmp : op->path);
        else
            op->step = S_CLOSE;
        break;
    case S_CLOSE:
        op->fd = -1;
        if (rc < 0 && op->status == 0 && op->kind == K_WRITE) {
            /* Some file systems report a failed write only at close. */
            fail(op, rc, "close", op->tmp ? op->tmp : op->path);
        } else if (op->status < 0) {
            op->step = op->tmp_exists ? S_UNLINK : S_DONE;
        } else {
            op->step = op->tmp != NULL ? S_RENAME : S_DONE;
        }
        break;
    case S_RENAME:
        if (rc < 0) {
            fail(op, rc, "rename", op->path);
            return;
        }
        op->tmp_exists = 0;
        op->step = (op->flags & WM_FS_FSYNC) ? S_DIROPEN : S_DONE;
        break;
    case S_DIROPEN:
        /* Syncing the folder makes the rename itself durable. Where that
         * cannot be done the file is in place and its data synced: not a
         * reason to report a write that happened as failed. */
        if (rc < 0) {
            op->step = S_DONE;
        } else {
            op->fd = rc;
            op->fd_is_dir = 1;
            op->step = S_DIRFSYNC;
        }
        break;
    case S_DIRFSYNC:
        op->step = S_DIRCLOSE;
        break;
    case S_DIRCLOSE:
        op->fd = -1;
        op->fd_is_dir = 0;
        op->step = S_DONE;
        break;
    case S_UNLINK:
        op->tmp_exists = 0;
        op->step = S_DONE;
        break;
    case S_STAT:
        if (rc < 0)
            fail(op, rc, "stat", op->path);
        else
            op->step = S_DONE;
        break;
    case S_MKDIR:
        if (rc < 0 && rc != UV_EEXIST)
            fail(op, rc, "mkdir", op->mk);
        else if (!next_prefix(op))
            op->step = S_DONE;
        break;
    case S_DONE:
        break;
    }
    if (op->abandoned && op->status == 0 && op->step != S_DONE)
        fail(op, UV_ECANCELED, "abandon", op->path);
}

static void run_steps(wm_fs_op_t *op, int rc)
{
    for (;;) {
        advance(op, rc);
        if (op->step == S_DONE)
            break;
        rc = issue(op);
        if (!op->sync && rc >= 0)
            return;
    }
    op->ended = 1;
    if (op->abandoned)
        wm_fs_free(op);
    else if (op->cb != NULL)
        op->cb(op, op->data);
}

/* Runs the first step. Synchronous: everything, and the status. */
static int start(wm_fs_op_t *op, wm_fs_op_t **out)
{
    int rc = issue(op);
    if (op->sync) {
        run_steps(op, rc);
        *out = op;
        return op->status;
    }
    if (rc < 0) {
        wm_fs_free(op);
        *out = NULL;
        return rc;
    }
    *out = op;
    return 0;
}

/* ---- operations ---- */

int wm_fs_read_file(uv_loop_t *loop, const char *path, size_t max_bytes, wm_fs_cb cb, void *data,
                    wm_fs_op_t **out)
{
    wm_fs_op_t *op = op_new(loop, K_READ, path, cb, data);
    op->max = max_bytes;
    op->step = S_OPEN;
    return start(op, out);
}

int wm_fs_write_file(uv_loop_t *loop, const char *path, const void *bytes, size_t len, int flags,
                     int mode, wm_fs_cb cb, void *data, wm_fs_op_t **out)
{
    static unsigned long counter;
    wm_fs_op_t *op = op_new(loop, K_WRITE, path, cb, data);
    op->flags = flags;
    op->mode = mode;
    op->len = len;
    op->buf = wm_malloc(len + 1);
    memcpy(op->buf, bytes, len);
    if (flags & WM_FS_ATOMIC) {
        /* A hidden name in the same folder (rename does not cross file
         * systems), unique per process and call; O_EXCL refuses a leftover. */
        const char *slash = strrchr(path, '/');
        const char *base = slash ? slash + 1 : path;
        size_t dirlen = slash ? (size_t)(slash - path) : 0;
        op->dir = slash ? wm_strndup(path, dirlen == 0 ? 1 : dirlen) : wm_strdup(".");
        wm_buf_t t;
        wm_buf_init(&t);
        wm_buf_printf(&t, "%.*s.%.100s.%ld-%lu.tmp", (int)(slash ? dirlen + 1 : 0), path, base,
                      (long)getpid(), ++counter);
        op->tmp = t.data;
    }
    op->step = S_OPEN;
    return start(op, out);
}

int wm_fs_stat(uv_loop_t *loop, const char *path, wm_fs_cb cb, void *data, wm_fs_op_t **out)
{
    wm_fs_op_t *op = op_new(loop, K_STAT, path, cb, data);
    op->step = S_STAT;
    return start(op, out);
}

int wm_fs_mkdir_p(uv_loop_t *loop, const char *path, int mode, wm_fs_cb cb, void *data,
                  wm_fs_op_t **out)
{
    wm_fs_op_t *op = op_new(loop, K_MKDIR, path, cb, data);
    op->mode = mode;
    op->mk = wm_strdup(path);
    op->mk_len = strlen(path);
    /* An empty path goes to mkdir("") as it is, which fails with ENOENT. */
    if (op->mk_len > 0)
        next_prefix(op);
    op->step = S_MKDIR;
    return start(op, out);
}
