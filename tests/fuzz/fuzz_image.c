/* fuzz_image.c: libFuzzer target over core/image.c, the cleaner of
 * customers' uploaded pictures (PNG, JPEG, WebP by their bytes). Any input
 * must either be refused with a message or come back no longer than it went
 * in, as a picture with a size, and cleaning that output again must give
 * the same bytes (nothing left to remove).
 *
 * Without clang the same file, linked with tests/fuzz/replay.c, builds
 * into fuzz_image_replay, which replays every file of the corpus
 * directories it is given; ctest runs it on tests/fuzz/corpus/image. */
#include "image.h"
#include "wm.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    wm_image_t img, again;
    char err[160];
    if (wm_image_clean(data, size, 1u << 26, &img, err) != 0) {
        if (err[0] == '\0')
            abort(); /* a refusal always says why */
        return 0;
    }
    if (img.len > size || img.width == 0 || img.height == 0 || img.type == NULL)
        abort();
    if (wm_image_clean(img.data, img.len, 1u << 26, &again, err) != 0)
        abort(); /* what came out must pass again */
    if (again.len != img.len || memcmp(again.data, img.data, img.len) != 0 || again.removed != 0)
        abort();
    wm_free(again.data);
    wm_free(img.data);
    return 0;
}
