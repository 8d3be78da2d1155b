/* watch.c unit provides the recursive, debounced directory watcher declared
 * in watch.h.
 *
 * Each watched directory is a `struct wdir` holding its uv_fs_event handle.
 * An event names an entry of that directory: a new directory is watched
 * (with everything below it) and the files already in it are reported; any
 * other name goes into the pending set and restarts the debounce timer. A
 * name that no longer exists also unwatches any directory at or below it.
 * The watcher is freed when its last handle has closed. */
#include "watch.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DEPTH 32
#define MAX_PENDING 100000

struct wdir {
    uv_fs_event_t h;
    char *path;
    struct wm_watch_s *w;
    struct wdir *next, *prev;
    int removed;
};

struct wm_watch_s {
    uv_loop_t *loop;
    uv_timer_t timer;
    uint64_t debounce_ms;
    uint64_t max_wait_ms;  /* a batch goes out by then even if events go on */
    uint64_t batch_start;  /* loop time of the first pending change */
    wm_watch_cb cb;
    void *ud;
    struct wdir *dirs;
    int ndirs;
    char **pending;
    int npending, cap;
    int open_handles;      /* the timer and every wdir handle not yet closed */
    int closing;
    int overflow_logged;
};

/* ---- names ---- */

static int ignored_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || name[0] == '.' || name[0] == '#')
        return 1;
    if (name[n - 1] == '~')
        return 1;
    if (n > 4 && (strcmp(name + n - 4, ".swp") == 0 || strcmp(name + n - 4, ".swx") == 0))
        return 1;
    return strcmp(name, "4913") == 0;   /* vim's write test file */
}

static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = wm_malloc(a + b + 2);
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

/* 1 when `path` is `dir` or below it. */
static int path_under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* ---- lifetime ---- */

static void maybe_free(wm_watch_t *w)
{
    if (!w->closing || w->open_handles > 0)
        return;
    for (int i = 0; i < w->npending; i++)
        wm_free(w->pending[i]);
    wm_free(w->pending);
    wm_free(w);
}

static void wdir_closed(uv_handle_t *h)
{
    struct wdir *d = h->data;
    wm_watch_t *w = d->w;
    wm_free(d->path);
    wm_free(d);
    w->open_handles--;
    maybe_free(w);
}

static void timer_closed(uv_handle_t *h)
{
    wm_watch_t *w = h->data;
    w->open_handles--;
    maybe_free(w);
}

static void wdir_remove(wm_watch_t *w, struct wdir *d)
{
    if (d->prev != NULL)
        d->prev->next = d->next;
    else
        w->dirs = d->next;
    if (d->next != NULL)
        d->next->prev = d->prev;
    w->ndirs--;
    d->removed = 1;
    uv_fs_event_stop(&d->h);
    uv_close((uv_handle_t *)&d->h, wdir_closed);
}

static struct wdir *wdir_find(wm_watch_t *w, const char *path)
{
    for (struct wdir *d = w->dirs; d != NULL; d = d->next) {
        if (strcmp(d->path, path) == 0)
            return d;
    }
    return NULL;
}

/* ---- pending set and debounce ---- */

static void timer_cb(uv_timer_t *t)
{
    wm_watch_t *w = t->data;
    char **paths = w->pending;
    int n = w->npending;
    w->pending = NULL;
    w->npending = w->cap = 0;
    if (n > 0 && !w->closing)
        w->cb(w, (const char *const *)paths, n, w->ud);
    for (int i = 0; i < n; i++)
        wm_free(paths[i]);
    wm_free(paths);
}

/* Takes ownership of `path`. */
static void pending_add(wm_watch_t *w, char *path)
{
    for (int i = 0; i < w->npending; i++) {
        if (strcmp(w->pending[i], path) == 0) {
            wm_free(path);
            goto arm;
        }
    }
    if (w->npending >= MAX_PENDING) {
        if (!w->overflow_logged)
            wm_log_warn("watch: too many changes at once; some are not reported", "path", path);
        w->overflow_logged = 1;
        wm_free(path);
        goto arm;
    }
    if (w->npending == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 16;
        w->pending = wm_realloc(w->pending, (size_t)w->cap * sizeof(char *));
    }
    if (w->npending == 0)
        w->batch_start = uv_now(w->loop);
    w->pending[w->npending++] = path;
arm:
    /* Restart the quiet period, unless changes have kept coming for
     * max_wait_ms: then let the armed timer deliver what there is. */
    if (uv_is_active((uv_handle_t *)&w->timer) &&
        uv_now(w->loop) - w->batch_start >= w->max_wait_ms)
        return;
    uv_timer_start(&w->timer, timer_cb, w->debounce_ms, 0);
}

/* ---- trees ---- */

static void fs_event_cb(uv_fs_event_t *h, const char *filename, int events, int status);

/* Watches `real` (a realpath) and the directories below it. When `report`
 * is set, files found are added to the pending set (a directory that
 * appeared after the watch began). */
static int add_tree(wm_watch_t *w, const char *real, int depth, int report, wm_err_t *err)
{
    if (wdir_find(w, real) != NULL)
        return 0;
    if (depth > MAX_DEPTH) {
        wm_log_warn("watch: directory tree too deep; not watched below", "path", real);
        return 0;
    }
    struct wdir *d = wm_calloc(1, sizeof(*d));
    d->w = w;
    d->path = wm_strdup(real);
    d->h.data = d;
    uv_fs_event_init(w->loop, &d->h);
    int rc = uv_fs_event_start(&d->h, fs_event_cb, real, 0);
    if (rc < 0) {
        /* Initialised: it still has to be closed. */
        d->next = d->prev = NULL;
        w->open_handles++;
        uv_close((uv_handle_t *)&d->h, wdir_closed);
        return wm_err_set(err, rc, "watch: %s: %s", real, uv_strerror(rc));
    }
    w->open_handles++;
    d->prev = NULL;
    d->next = w->dirs;
    if (w->dirs != NULL)
        w->dirs->prev = d;
    w->dirs = d;
    w->ndirs++;

    DIR *dir = opendir(real);
    if (dir == NULL)
        return 0;   /* raced with a removal: the event for it follows */
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (ignored_name(e->d_name))
            continue;
        char *child = join(real, e->d_name);
        struct stat st;
        if (stat(child, &st) != 0) {
            wm_free(child);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            char *creal = realpath(child, NULL);
            if (creal != NULL) {
                wm_err_t sub;
                if (add_tree(w, creal, depth + 1, report, &sub) < 0)
                    wm_log_warn("watch: cannot watch a directory", "error", sub.msg);
                free(creal);
            }
            wm_free(child);
        } else if (report) {
            pending_add(w, child);
        } else {
            wm_free(child);
        }
    }
    closedir(dir);
    return 0;
}

static void fs_event_cb(uv_fs_event_t *h, const char *filename, int events, int status)
{
    struct wdir *d = h->data;
    wm_watch_t *w = d->w;
    WM_UNUSED(events);
    if (w->closing || d->removed)
        return;
    if (status < 0) {
        wm_log_warn("watch: event error", "error", uv_strerror(status));
        return;
    }
    if (filename == NULL || ignored_name(filename))
        return;
    char *path = join(d->path, filename);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        char *real = realpath(path, NULL);
        if (real != NULL) {
            wm_err_t err;
            if (add_tree(w, real, 0, 1, &err) < 0)
                wm_log_warn("watch: cannot watch a new directory", "error", err.msg);
            free(real);
        }
        wm_free(path);
        return;
    }
    /* A removed directory stays valid until its close callback, so `d` may
     * be read after wdir_remove below. */
    if (access(path, F_OK) != 0) {
        /* Gone (removed or renamed away): so is anything watched below it. */
        struct wdir *x = w->dirs;
        while (x != NULL) {
            struct wdir *next = x->next;
            if (path_under(x->path, path))
                wdir_remove(w, x);
            x = next;
        }
    }
    if (!d->removed && access(d->path, F_OK) != 0) {
        /* The watched directory itself went away; libuv names such an event
         * after the directory, which is no file to report. */
        const char *base = strrchr(d->path, '/');
        int self_event = base != NULL && strcmp(base + 1, filename) == 0;
        wdir_remove(w, d);
        if (self_event) {
            wm_free(path);
            return;
        }
    }
    pending_add(w, path);
}

/* ---- public ---- */

int wm_watch_open(uv_loop_t *loop, double debounce, wm_watch_cb cb, void *ud,
                  wm_watch_t **out, wm_err_t *err)
{
    WM_UNUSED(err);
    wm_watch_t *w = wm_calloc(1, sizeof(*w));
    w->loop = loop;
    w->cb = cb;
    w->ud = ud;
    w->debounce_ms = (uint64_t)((debounce > 0 ? debounce : 0.1) * 1000.0 + 0.5);
    w->max_wait_ms = w->debounce_ms * 10 > 1000 ? w->debounce_ms * 10 : 1000;
    uv_timer_init(loop, &w->timer);
    w->timer.data = w;
    w->open_handles = 1;
    *out = w;
    return 0;
}

int wm_watch_add(wm_watch_t *w, const char *dir, wm_err_t *err)
{
    if (w->closing)
        return wm_err_set(err, WM_ECLOSED, "watch: closed");
    char *real = realpath(dir, NULL);
    if (real == NULL)
        return wm_err_set(err, WM_EINVAL, "watch: %s: %s", dir, strerror(errno));
    struct stat st;
    if (stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
        free(real);
        return wm_err_set(err, WM_EINVAL, "watch: %s: not a directory", dir);
    }
    int rc = add_tree(w, real, 0, 0, err);
    free(real);
    return rc;
}

int wm_watch_count(const wm_watch_t *w)
{
    return w->ndirs;
}

void wm_watch_each_dir(const wm_watch_t *w, void (*fn)(const char *dir, void *ud), void *ud)
{
    for (const struct wdir *d = w->dirs; d != NULL; d = d->next)
        fn(d->path, ud);
}

void wm_watch_close(wm_watch_t *w)
{
    if (w == NULL || w->closing)
        return;
    w->closing = 1;
    while (w->dirs != NULL)
        wdir_remove(w, w->dirs);
    uv_timer_stop(&w->timer);
    uv_close((uv_handle_t *)&w->timer, timer_closed);
}
