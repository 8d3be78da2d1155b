/* codec.h unit provides the content encodings the HTTP server sends: gzip
 * (zlib) and brotli (libbrotli), both ways. Encoding is for bytes published
 * once and served many times, so it favours size over speed; decoding is for
 * checks and tests, bounded by the caller's limit. And quoted-printable, the
 * transfer encoding of every mail body (in C: in Lua it was most of the
 * mail benchmark's time). */
#ifndef WM_CODEC_H
#define WM_CODEC_H

#include <lua.h>
#include <stddef.h>
#include "wm.h"

/* gzip (RFC 1952) of in[len] at level 1..9 into out (appended). */
int wm_codec_gzip(const void *in, size_t len, int level, wm_buf_t *out, wm_err_t *err);
/* The bytes of one gzip member in[len], appended to out; WM_EINVAL when the
 * input is not gzip, is truncated, or would decode to more than `limit`. */
int wm_codec_gunzip(const void *in, size_t len, size_t limit, wm_buf_t *out, wm_err_t *err);

/* brotli (RFC 7932) of in[len] at quality 0..11 into out (appended). */
int wm_codec_brotli(const void *in, size_t len, int quality, wm_buf_t *out, wm_err_t *err);
/* The bytes of brotli stream in[len], appended to out; WM_EINVAL as gunzip. */
int wm_codec_unbrotli(const void *in, size_t len, size_t limit, wm_buf_t *out, wm_err_t *err);

/* Quoted-printable (RFC 2045 6.7) of in[len], appended to out: CRLF, CR
 * and LF each end a line, joined again by CRLF; "=" and bytes outside
 * 33..126 but tab are =XX, and so is a space or tab ending a line, a
 * leading "." and the F of a leading "From " (no transport needs to touch
 * the text); soft line breaks ("=" CRLF) keep every line at 76 characters
 * or fewer. */
void wm_codec_qp(const void *in, size_t len, wm_buf_t *out);

/* wm.codec.* into the table on top (lua_codec.c). */
void wm_codec_lua_register(lua_State *L);

#endif
