/* replay.c: the driver a fuzz target is linked with when it is built
 * without libFuzzer (any compiler): it replays every file of the corpus
 * directories (or the files) it is given through the target's
 * LLVMFuzzerTestOneInput, so ctest runs the seeds with the target's own
 * checks (each aborts on a finding). Exits 1 when a file cannot be read or
 * there was nothing to replay. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    size_t got = fread(buf, 1, (size_t)(n > 0 ? n : 0), f);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, got);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0, errors = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            errors++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            errors += replay_file(argv[i]);
            files++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        struct dirent *e;
        while (d != NULL && (e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
            errors += replay_file(path);
            files++;
        }
        if (d != NULL)
            closedir(d);
    }
    const char *name = strrchr(argv[0], '/');
    printf("%s: %d inputs replayed, %d unreadable\n", name != NULL ? name + 1 : argv[0], files, errors);
    return errors == 0 && files > 0 ? 0 : 1;
}
