/* image.c unit: see image.h. Every length read from the file is checked
 * against what is left before it is used; the output is built in a buffer
 * of the input's size (cleaning only removes). */
#include "image.h"
#include "wm.h"

#include <lauxlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

typedef struct {
    unsigned char *p;
    size_t len;
} outbuf_t;

static void put(outbuf_t *o, const void *src, size_t n)
{
    memcpy(o->p + o->len, src, n);
    o->len += n;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint32_t le24(const unsigned char *p)
{
    return (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

__attribute__((format(printf, 2, 3)))
static int fail(char err[160], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, 160, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- PNG ---- */

static const unsigned char PNG_SIG[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

/* Ancillary chunks that only describe how to draw the pixels. */
static int png_keep_ancillary(const unsigned char *type)
{
    static const char *keep[] = {"tRNS", "gAMA", "cHRM", "sRGB", "iCCP", "sBIT", "bKGD", "pHYs",
                                 "acTL", "fcTL", "fdAT", NULL};
    for (int i = 0; keep[i]; i++)
        if (memcmp(type, keep[i], 4) == 0)
            return 1;
    return 0;
}

static int clean_png(const unsigned char *b, size_t len, wm_image_t *img, outbuf_t *o, char err[160])
{
    size_t pos = 8;
    int seen_ihdr = 0, seen_idat = 0;
    put(o, PNG_SIG, 8);
    for (;;) {
        if (len - pos < 12)
            return fail(err, "a damaged PNG: it ends before its IEND chunk");
        uint32_t n = be32(b + pos);
        const unsigned char *type = b + pos + 4;
        if (n > 0x7fffffffu || n > len - pos - 12)
            return fail(err, "a damaged PNG: a chunk runs past the end of the file");
        for (int i = 0; i < 4; i++)
            if (!((type[i] >= 'A' && type[i] <= 'Z') || (type[i] >= 'a' && type[i] <= 'z')))
                return fail(err, "a damaged PNG: a chunk has no valid type");
        uint32_t crc = (uint32_t)crc32(0L, type, n + 4);
        if (crc != be32(b + pos + 8 + n))
            return fail(err, "a damaged PNG: a chunk fails its checksum");
        size_t whole = (size_t)n + 12;
        int critical = type[0] >= 'A' && type[0] <= 'Z';
        if (!seen_ihdr) {
            if (memcmp(type, "IHDR", 4) != 0 || n != 13)
                return fail(err, "a damaged PNG: it does not start with its header");
            img->width = be32(b + pos + 8);
            img->height = be32(b + pos + 12);
            seen_ihdr = 1;
            put(o, b + pos, whole);
        } else if (memcmp(type, "IEND", 4) == 0) {
            if (!seen_idat)
                return fail(err, "a damaged PNG: it has no image data");
            put(o, b + pos, whole);
            img->removed += pos + whole < len; /* anything after IEND */
            return 0;
        } else if (critical) {
            if (memcmp(type, "IDAT", 4) == 0)
                seen_idat = 1;
            else if (memcmp(type, "PLTE", 4) != 0)
                return fail(err, "a PNG with a chunk this system does not know (critical)");
            put(o, b + pos, whole);
        } else if (png_keep_ancillary(type)) {
            put(o, b + pos, whole);
        } else {
            img->removed++; /* tEXt, zTXt, iTXt, eXIf, tIME, and anything unknown */
        }
        pos += whole;
    }
}

/* ---- JPEG ---- */

static int clean_jpeg(const unsigned char *b, size_t len, wm_image_t *img, outbuf_t *o, char err[160])
{
    size_t pos = 2;
    int seen_sof = 0;
    put(o, b, 2);
    for (;;) {
        if (len - pos < 2 || b[pos] != 0xff)
            return fail(err, "a damaged JPEG: a segment is missing where one should start");
        while (len - pos >= 2 && b[pos + 1] == 0xff)
            pos++; /* fill bytes */
        if (len - pos < 2)
            return fail(err, "a damaged JPEG: it ends early");
        unsigned m = b[pos + 1];
        if (m == 0xd9) { /* EOI */
            put(o, b + pos, 2);
            img->removed += pos + 2 < len;
            if (!seen_sof)
                return fail(err, "a damaged JPEG: it has no frame header");
            return 0;
        }
        if (m == 0xd8 || m == 0x01 || (m >= 0xd0 && m <= 0xd7) || m == 0x00)
            return fail(err, "a damaged JPEG: a marker out of place");
        if (len - pos < 4)
            return fail(err, "a damaged JPEG: it ends early");
        size_t n = (size_t)b[pos + 2] << 8 | b[pos + 3];
        if (n < 2 || n > len - pos - 2)
            return fail(err, "a damaged JPEG: a segment runs past the end of the file");
        const unsigned char *seg = b + pos + 4;
        size_t seglen = n - 2;
        size_t whole = n + 2;
        int keep = 1;
        if (m >= 0xe0 && m <= 0xef) {
            /* APP0 JFIF, APP2 ICC profile, APP14 Adobe (colour transform) draw
             * the picture; EXIF/XMP (APP1) and the rest describe its maker. */
            keep = (m == 0xe0 && seglen >= 5 && memcmp(seg, "JFIF", 5) == 0)
                   || (m == 0xe2 && seglen >= 12 && memcmp(seg, "ICC_PROFILE", 12) == 0)
                   || (m == 0xee && seglen >= 5 && memcmp(seg, "Adobe", 5) == 0);
        } else if (m == 0xfe) {
            keep = 0; /* COM */
        } else if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) {
            if (seglen < 6)
                return fail(err, "a damaged JPEG: a short frame header");
            img->height = (uint32_t)seg[1] << 8 | seg[2];
            img->width = (uint32_t)seg[3] << 8 | seg[4];
            seen_sof = 1;
        }
        if (keep)
            put(o, b + pos, whole);
        else
            img->removed++;
        pos += whole;
        if (m == 0xda) {
            /* Entropy-coded data up to the next marker that is not a
             * stuffed 0xff00, a restart marker or fill. */
            size_t start = pos;
            while (len - pos >= 2) {
                if (b[pos] == 0xff && b[pos + 1] != 0x00 && !(b[pos + 1] >= 0xd0 && b[pos + 1] <= 0xd7)
                    && b[pos + 1] != 0xff)
                    break;
                pos++;
            }
            if (len - pos < 2)
                return fail(err, "a damaged JPEG: its image data never ends");
            put(o, b + start, pos - start);
        }
    }
}

/* ---- WebP ---- */

static int clean_webp(const unsigned char *b, size_t len, wm_image_t *img, outbuf_t *o, char err[160])
{
    uint32_t riff = le32(b + 4);
    if (riff < 4 || riff > len - 8)
        return fail(err, "a damaged WebP: its size is wrong");
    size_t end = (size_t)riff + 8, pos = 12;
    size_t vp8x_at = 0;
    int seen_image = 0;
    put(o, b, 12);
    while (pos < end) {
        if (end - pos < 8)
            return fail(err, "a damaged WebP: a chunk header is cut short");
        const unsigned char *cc = b + pos;
        uint32_t n = le32(b + pos + 4);
        if (n > end - pos - 8)
            return fail(err, "a damaged WebP: a chunk runs past the end of the file");
        size_t whole = 8 + (size_t)n + (n & 1);
        if (whole > end - pos)
            whole = end - pos; /* a last odd chunk without its pad byte */
        const unsigned char *d = b + pos + 8;
        int keep = 1;
        if (memcmp(cc, "VP8X", 4) == 0) {
            if (n < 10 || pos != 12)
                return fail(err, "a damaged WebP: a bad extended header");
            img->width = le24(d + 4) + 1;
            img->height = le24(d + 7) + 1;
            vp8x_at = o->len;
        } else if (memcmp(cc, "VP8 ", 4) == 0) {
            if (n < 10 || d[3] != 0x9d || d[4] != 0x01 || d[5] != 0x2a)
                return fail(err, "a damaged WebP: a bad lossy frame");
            if (!vp8x_at) {
                img->width = (uint32_t)(d[6] | d[7] << 8) & 0x3fff;
                img->height = (uint32_t)(d[8] | d[9] << 8) & 0x3fff;
            }
            seen_image = 1;
        } else if (memcmp(cc, "VP8L", 4) == 0) {
            if (n < 5 || d[0] != 0x2f)
                return fail(err, "a damaged WebP: a bad lossless frame");
            if (!vp8x_at) {
                uint32_t bits = le32(d + 1);
                img->width = (bits & 0x3fff) + 1;
                img->height = ((bits >> 14) & 0x3fff) + 1;
            }
            seen_image = 1;
        } else if (memcmp(cc, "ANMF", 4) == 0) {
            seen_image = 1;
        } else if (memcmp(cc, "ALPH", 4) != 0 && memcmp(cc, "ICCP", 4) != 0 && memcmp(cc, "ANIM", 4) != 0) {
            keep = 0; /* EXIF, XMP and anything unknown */
        }
        if (keep)
            put(o, b + pos, whole);
        else
            img->removed++;
        pos += whole;
    }
    if (!seen_image)
        return fail(err, "a damaged WebP: it has no image data");
    if (vp8x_at)
        o->p[vp8x_at + 8] &= (unsigned char)~0x0c; /* no EXIF (0x08) or XMP (0x04) any more */
    uint32_t size = (uint32_t)(o->len - 8);
    o->p[4] = size & 0xff;
    o->p[5] = (size >> 8) & 0xff;
    o->p[6] = (size >> 16) & 0xff;
    o->p[7] = (size >> 24) & 0xff;
    img->removed += end < len;
    return 0;
}

int wm_image_clean(const void *buf, size_t len, uint64_t max_pixels, wm_image_t *out, char err[160])
{
    const unsigned char *b = buf;
    memset(out, 0, sizeof(*out));
    outbuf_t o = {wm_malloc(len ? len : 1), 0};
    int rc;
    if (len >= 8 && memcmp(b, PNG_SIG, 8) == 0) {
        out->type = "png";
        rc = clean_png(b, len, out, &o, err);
    } else if (len >= 4 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff) {
        out->type = "jpeg";
        rc = clean_jpeg(b, len, out, &o, err);
    } else if (len >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0) {
        out->type = "webp";
        rc = clean_webp(b, len, out, &o, err);
    } else {
        rc = fail(err, "not a PNG, JPEG or WebP image");
    }
    if (rc == 0 && (out->width == 0 || out->height == 0))
        rc = fail(err, "an image without a size");
    if (rc == 0 && (uint64_t)out->width * out->height > max_pixels)
        rc = fail(err, "too many pixels (%ux%u)", out->width, out->height);
    if (rc != 0) {
        wm_free(o.p);
        out->data = NULL;
        return -1;
    }
    out->data = o.p;
    out->len = o.len;
    return 0;
}

static int l_image_clean(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    lua_Number max = luaL_optnumber(L, 2, 40e6);
    wm_image_t img;
    char err[160];
    if (wm_image_clean(s, len, (uint64_t)max, &img, err) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    lua_createtable(L, 0, 5);
    lua_pushstring(L, img.type);
    lua_setfield(L, -2, "type");
    lua_pushnumber(L, img.width);
    lua_setfield(L, -2, "width");
    lua_pushnumber(L, img.height);
    lua_setfield(L, -2, "height");
    lua_pushlstring(L, (const char *)img.data, img.len);
    lua_setfield(L, -2, "data");
    lua_pushinteger(L, img.removed);
    lua_setfield(L, -2, "removed");
    wm_free(img.data);
    return 1;
}

void wm_image_lua_register(lua_State *L)
{
    lua_pushcfunction(L, l_image_clean);
    lua_setfield(L, -2, "image_clean");
}
