/* watch.h unit provides recursive directory watching for hot reload: one
 * uv_fs_event (inotify on Linux, which is not recursive) per directory of
 * each tree, a watch added for every directory created later, and a
 * debounce timer, so that an editor's burst of writes, renames and
 * temporary files arrives as one batch of changed paths.
 *
 * Paths are absolute and built on the realpath of each watched directory.
 * Hidden names (".x"), editor droppings ("x~", "#x", "x.swp", "x.swx",
 * "4913") and hidden directories are ignored. A batch names files that were
 * written, created, renamed or removed; a directory created inside a
 * watched tree is watched and every file already in it is reported.
 *
 * The Lua binding (lua_watch.c, "wm.core.watch") delivers each batch to a
 * Lua function in a new task; scripts/wm/reload.lua builds hot reload on
 * it. */
#ifndef WM_WATCH_H
#define WM_WATCH_H

#include <uv.h>
#include "wm.h"

typedef struct wm_watch_s wm_watch_t;

/* Receives one batch: `paths[0..n-1]`, deduplicated, in the order first
 * seen. The array and the strings belong to the watcher and are valid only
 * during the call. Runs from a libuv timer callback; may call
 * wm_watch_close. */
typedef void (*wm_watch_cb)(wm_watch_t *w, const char *const *paths, int n, void *ud);

/* Creates a watcher with nothing watched yet; `debounce` is the quiet time
 * in seconds after the last event before a batch is delivered (<= 0: 0.1).
 * While events keep coming, a batch still goes out every max(1 s,
 * 10 x debounce). */
int wm_watch_open(uv_loop_t *loop, double debounce, wm_watch_cb cb, void *ud,
                  wm_watch_t **out, wm_err_t *err);

/* Watches `dir` and every directory below it. A directory already watched
 * is not watched twice. Fails (WM_EINVAL / UV_E*) when `dir` is not a
 * readable directory; subdirectories that cannot be watched are logged and
 * skipped. */
int wm_watch_add(wm_watch_t *w, const char *dir, wm_err_t *err);

/* Number of directories watched, and each one's path through `fn`. */
int wm_watch_count(const wm_watch_t *w);
void wm_watch_each_dir(const wm_watch_t *w, void (*fn)(const char *dir, void *ud), void *ud);

/* Stops watching; `cb` never runs again. The memory goes in the handles'
 * close callbacks. */
void wm_watch_close(wm_watch_t *w);

#endif
