/* fuzz_image.c: libFuzzer target over core/image.c, the cleaner of
 * customers' uploaded pictures (PNG, JPEG, WebP by their bytes). Any input
 * must either be refused with a message or come back no longer than it went
 * in, as a picture with a size, and cleaning that output again must give
 * the same bytes (nothing left to remove).
 *
 * Without clang the same file builds with -DWM_FUZZ_STANDALONE into
 * fuzz_image_replay, which replays every file of the corpus directories it
 * is given; ctest runs it on tests/fuzz/corpus/image. */
#include "image.h"
#include "wm.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

#ifdef WM_FUZZ_STANDALONE
static void replay(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    size_t got = fread(buf, 1, (size_t)(n > 0 ? n : 0), f);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, got);
    free(buf);
}

int main(int argc, char **argv)
{
    int files = 0;
    for (int i = 1; i < argc; i++) {
        DIR *d = opendir(argv[i]);
        if (d == NULL) {
            replay(argv[i]);
            files++;
            continue;
        }
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
            replay(path);
            files++;
        }
        closedir(d);
    }
    printf("fuzz_image_replay: %d inputs, no failure\n", files);
    return files > 0 ? 0 : 1;
}
#endif
