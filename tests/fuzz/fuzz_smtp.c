/* fuzz_smtp.c: libFuzzer target over what core/smtp.c reads and writes
 * from outside text: the relay's reply lines (wm_smtp_line_parse) and the
 * message body it normalises (wm_smtp_msg_body).
 *
 * Replies: every line read takes bytes from the input, no more than there
 * are, ends at a line feed, has a code 200..599 and its text inside the
 * line. Body: whatever the input, what goes on the wire ends CRLF "." CRLF,
 * holds no bare CR or LF, and no line of it is a lone "." before the end
 * (else the rest would be read as commands: SMTP smuggling); removing the
 * stuffed dots gives back the input's lines.
 *
 * Without clang the same file, linked with tests/fuzz/replay.c, builds
 * into fuzz_smtp_replay, which replays every file of the corpus
 * directories it is given; ctest runs it on tests/fuzz/corpus/smtp. */
#include "smtp.h"
#include "wm.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void replies(const char *p, size_t n)
{
    while (n > 0) {
        wm_smtp_line_t l;
        long took = wm_smtp_line_parse(p, n, &l);
        if (took <= 0)
            return;
        if ((size_t)took > n || p[took - 1] != '\n' || l.code < 200 || l.code > 599)
            abort();
        if (l.text < p || l.text + l.text_len > p + took || memchr(l.text, '\n', l.text_len) != NULL)
            abort();
        p += took;
        n -= (size_t)took;
    }
}

static void body(const char *p, size_t n)
{
    wm_smtp_msg_t *m = wm_smtp_msg_new("smtp://127.0.0.1", "a@example.com", NULL);
    if (m == NULL)
        abort();
    wm_smtp_msg_body(m, p, n);
    const char *out = NULL;
    size_t len = 0;
    wm_smtp_msg_wire(m, &out, &len);
    if (len < 3 || memcmp(out + len - 3, ".\r\n", 3) != 0 || (len > 3 && memcmp(out + len - 5, "\r\n", 2) != 0))
        abort();
    wm_buf_t plain;
    wm_buf_init(&plain);
    size_t i = 0;
    while (i < len - 3) {
        const char *cr = memchr(out + i, '\r', len - i);
        if (cr == NULL || (size_t)(cr - out) + 1 >= len || cr[1] != '\n')
            abort(); /* every line ends CRLF */
        size_t line = (size_t)(cr - out) - i;
        if (memchr(out + i, '\n', line) != NULL)
            abort(); /* no bare LF */
        if (line == 1 && out[i] == '.')
            abort(); /* a lone dot before the end */
        size_t skip = out[i] == '.' ? 1 : 0;
        if (skip && (line < 2 || out[i + 1] != '.'))
            abort(); /* a leading dot is always doubled */
        wm_buf_append(&plain, out + i + skip, line - skip);
        wm_buf_append(&plain, "\n", 1);
        i += line + 2;
    }
    /* The input with every CRLF, CR and LF as "\n" (and one at the end). */
    wm_buf_t want;
    wm_buf_init(&want);
    for (size_t k = 0; k < n; k++) {
        if (p[k] == '\r' && k + 1 < n && p[k + 1] == '\n')
            continue;
        wm_buf_append(&want, p[k] == '\r' ? "\n" : p + k, 1);
    }
    if (n > 0 && p[n - 1] != '\n' && p[n - 1] != '\r')
        wm_buf_append(&want, "\n", 1);
    if (want.len != plain.len || (want.len > 0 && memcmp(want.data, plain.data, want.len) != 0))
        abort();
    wm_buf_free(&want);
    wm_buf_free(&plain);
    wm_smtp_msg_free(m);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    /* The first byte picks the half of the input each part reads. */
    size_t cut = size > 0 ? data[0] * size / 256 : 0;
    const char *p = (const char *)data;
    replies(p, size);
    body(p + (size > 0 ? 1 : 0), size > 0 ? size - 1 : 0);
    replies(p + cut, size - cut);
    return 0;
}
