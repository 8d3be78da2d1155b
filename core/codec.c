/* codec.c unit implements codec.h over zlib and libbrotli. */
#include "codec.h"

#include <brotli/decode.h>
#include <brotli/encode.h>
#include <string.h>
#include <zlib.h>

int wm_codec_gzip(const void *in, size_t len, int level, wm_buf_t *out, wm_err_t *err)
{
    if (level < 1 || level > 9)
        return wm_err_set(err, WM_EINVAL, "gzip level must be 1..9");
    if (len > UINT32_MAX)
        return wm_err_set(err, WM_EINVAL, "gzip input too large");
    z_stream z = {0};
    /* windowBits 15 + 16: a gzip header and trailer instead of zlib's. */
    if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        return wm_err_set(err, WM_ENOMEM, "gzip: deflateInit2 failed");
    size_t bound = deflateBound(&z, (uLong)len);
    wm_buf_reserve(out, bound);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out->data + out->len;
    z.avail_out = (uInt)bound;
    int rc = deflate(&z, Z_FINISH);
    size_t produced = bound - z.avail_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END)
        return wm_err_set(err, WM_EIO, "gzip: deflate failed (%d)", rc);
    out->len += produced;
    out->data[out->len] = '\0';
    return 0;
}

int wm_codec_gunzip(const void *in, size_t len, size_t limit, wm_buf_t *out, wm_err_t *err)
{
    if (len > UINT32_MAX)
        return wm_err_set(err, WM_EINVAL, "gunzip input too large");
    z_stream z = {0};
    if (inflateInit2(&z, 15 + 16) != Z_OK)
        return wm_err_set(err, WM_ENOMEM, "gunzip: inflateInit2 failed");
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    size_t start = out->len;
    int rc = Z_OK;
    while (rc == Z_OK) {
        wm_buf_reserve(out, 16384);
        size_t room = out->cap - out->len - 1;
        z.next_out = (Bytef *)out->data + out->len;
        z.avail_out = (uInt)room;
        rc = inflate(&z, Z_NO_FLUSH);
        out->len += room - z.avail_out;
        if (out->len - start > limit) {
            rc = Z_MEM_ERROR;
            break;
        }
    }
    inflateEnd(&z);
    out->data[out->len] = '\0';
    if (rc == Z_MEM_ERROR)
        return wm_err_set(err, WM_EINVAL, "gunzip: output over the limit of %zu bytes", limit);
    if (rc != Z_STREAM_END)
        return wm_err_set(err, WM_EINVAL, "gunzip: not gzip or truncated (%d)", rc);
    if (z.avail_in != 0)
        return wm_err_set(err, WM_EINVAL, "gunzip: trailing bytes after the gzip member");
    return 0;
}

int wm_codec_brotli(const void *in, size_t len, int quality, wm_buf_t *out, wm_err_t *err)
{
    if (quality < BROTLI_MIN_QUALITY || quality > BROTLI_MAX_QUALITY)
        return wm_err_set(err, WM_EINVAL, "brotli quality must be 0..11");
    size_t bound = BrotliEncoderMaxCompressedSize(len);
    if (bound == 0)
        return wm_err_set(err, WM_EINVAL, "brotli input too large");
    wm_buf_reserve(out, bound);
    size_t produced = bound;
    /* BROTLI_MODE_TEXT: the published bytes are HTML. */
    if (!BrotliEncoderCompress(quality, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, len, in, &produced,
                               (uint8_t *)out->data + out->len))
        return wm_err_set(err, WM_EIO, "brotli: compression failed");
    out->len += produced;
    out->data[out->len] = '\0';
    return 0;
}

int wm_codec_unbrotli(const void *in, size_t len, size_t limit, wm_buf_t *out, wm_err_t *err)
{
    BrotliDecoderState *d = BrotliDecoderCreateInstance(NULL, NULL, NULL);
    if (d == NULL)
        return wm_err_set(err, WM_ENOMEM, "unbrotli: out of memory");
    const uint8_t *next_in = in;
    size_t avail_in = len, start = out->len;
    BrotliDecoderResult rc = BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT;
    int over = 0;
    while (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT) {
        wm_buf_reserve(out, 16384);
        size_t room = out->cap - out->len - 1;
        uint8_t *next_out = (uint8_t *)out->data + out->len;
        size_t avail_out = room;
        rc = BrotliDecoderDecompressStream(d, &avail_in, &next_in, &avail_out, &next_out, NULL);
        out->len += room - avail_out;
        if (out->len - start > limit) {
            over = 1;
            break;
        }
    }
    BrotliDecoderDestroyInstance(d);
    out->data[out->len] = '\0';
    if (over)
        return wm_err_set(err, WM_EINVAL, "unbrotli: output over the limit of %zu bytes", limit);
    if (rc != BROTLI_DECODER_RESULT_SUCCESS)
        return wm_err_set(err, WM_EINVAL, "unbrotli: not brotli or truncated");
    if (avail_in != 0)
        return wm_err_set(err, WM_EINVAL, "unbrotli: trailing bytes after the stream");
    return 0;
}

/* One line (no line end) of quoted-printable at p, which has room for
 * the worst case; returns the end. See codec.h. */
static char *qp_line(const unsigned char *l, size_t n, char *p)
{
    static const char HEX[] = "0123456789ABCDEF";
    size_t col = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = l[i];
        int encode = c == '=' || (c < 32 && c != '\t') || c > 126 || ((c == ' ' || c == '\t') && i == n - 1)
                     || (i == 0 && c == '.') || (i == 0 && n >= 5 && memcmp(l, "From ", 5) == 0);
        size_t width = encode ? 3 : 1;
        if (col + width > 75) {
            *p++ = '=';
            *p++ = '\r';
            *p++ = '\n';
            col = 0;
        }
        if (encode) {
            *p++ = '=';
            *p++ = HEX[c >> 4];
            *p++ = HEX[c & 15];
        } else {
            *p++ = (char)c;
        }
        col += width;
    }
    return p;
}

void wm_codec_qp(const void *in, size_t len, wm_buf_t *out)
{
    const unsigned char *s = in;
    /* Worst case: every byte =XX, a soft break every 25 of them, and a
     * CRLF for every line end. */
    wm_buf_reserve(out, len * 3 + (len / 25 + 1) * 3 + len * 2 + 1);
    char *p = out->data + out->len;
    size_t start = 0;
    for (size_t i = 0;; i++) {
        if (i == len || s[i] == '\r' || s[i] == '\n') {
            p = qp_line(s + start, i - start, p);
            if (i == len)
                break;
            if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
                i++;
            *p++ = '\r';
            *p++ = '\n';
            start = i + 1;
        }
    }
    out->len = (size_t)(p - out->data);
    out->data[out->len] = '\0';
}
