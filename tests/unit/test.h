/* test.h unit provides the C unit tests' tiny framework: TEST_IMPL(name)
 * defines a test, ASSERT* fail it with file:line. The runner (runner.c)
 * runs one test by name or all of them. */
#ifndef WM_TEST_H
#define WM_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_IMPL(name) int test_##name(void)

#define ASSERT(expr)                                                                    \
    do {                                                                                \
        if (!(expr)) {                                                                  \
            fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #expr); \
            return 1;                                                                   \
        }                                                                               \
    } while (0)

#define ASSERT_EQ_INT(a, b)                                                                  \
    do {                                                                                     \
        long long _a = (long long)(a), _b = (long long)(b);                                  \
        if (_a != _b) {                                                                      \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, \
                    #b, _a, _b);                                                             \
            return 1;                                                                        \
        }                                                                                    \
    } while (0)

#define ASSERT_EQ_STR(a, b)                                                                   \
    do {                                                                                      \
        const char *_a = (a), *_b = (b);                                                      \
        if (_a == NULL || _b == NULL || strcmp(_a, _b) != 0) {                                \
            fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__, \
                    #a, #b, _a ? _a : "(null)", _b ? _b : "(null)");                          \
            return 1;                                                                         \
        }                                                                                     \
    } while (0)

/* harness.c: a whole wm VM on a loop of its own. test_vm_run runs `chunk`
 * in a task until it and all it spawned have ended; 0 when it did not
 * raise (otherwise the error is printed). */
#include <lua.h>
#include <uv.h>
typedef struct {
    uv_loop_t loop;
    lua_State *L;
} test_vm_t;
int test_vm_open(test_vm_t *vm);
int test_vm_run(test_vm_t *vm, const char *chunk);
void test_vm_close(test_vm_t *vm);

/* A fresh database in the test cluster (WM_TEST_DATABASE_URL): returns its
 * conninfo; test_db_drop drops it. */
const char *test_db_create(const char *name);
void test_db_drop(void);

#endif
