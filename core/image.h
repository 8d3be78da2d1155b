/* image.h unit checks an uploaded picture by its bytes and rewrites it
 * without its metadata (camera, GPS position, author, comments): PNG keeps
 * only the chunks that draw the picture, JPEG drops its APPn (except JFIF
 * and Adobe's colour transform) and COM segments, WebP drops its EXIF and
 * XMP chunks and their VP8X flags. The pixels are copied unchanged, so no
 * image library (and none of its decoders' bugs) is involved. Whatever the
 * file is called or claims to be, only these three formats, well formed,
 * get through. */
#ifndef WM_IMAGE_H
#define WM_IMAGE_H

#include <lua.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *type;    /* "png", "jpeg" or "webp" */
    uint32_t width, height;
    unsigned char *data; /* the cleaned file (wm_malloc'd), len bytes */
    size_t len;
    int removed;         /* metadata chunks/segments dropped */
} wm_image_t;

/* 0 with *out filled, or -1 with err ("not a PNG, JPEG or WebP image",
 * "a damaged PNG: ...", "too large: ..."). max_pixels bounds width*height. */
int wm_image_clean(const void *buf, size_t len, uint64_t max_pixels, wm_image_t *out, char err[160]);

/* wm.core image_clean(bytes[, max_pixels]) -> {type=, width=, height=, data=, removed=} | nil, err */
void wm_image_lua_register(lua_State *L);

#endif
