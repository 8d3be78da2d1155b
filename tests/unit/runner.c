/* runner.c runs the C unit tests: `wm_unit NAME` runs one, `wm_unit` all. */
#include "test.h"

#define TESTS(X)             \
    X(buf)                   \
    X(json_quote)            \
    X(json_roundtrip)        \
    X(crypto_hmac)           \
    X(crypto_password)       \
    X(pg_thousand_queries)   \
    X(pg_errors_isolated)    \
    X(httpd_space_before_colon) \
    X(httpd_chunk_needs_crlf) \
    X(httpd_line_endings)    \
    X(httpd_body_bytes_pass) \
    X(httpd_bad_after_good)  \
    X(httpd_upload_paths_body_limit) \
    X(httpd_body_deadline)   \
    X(httpd_body_min_rate)   \
    X(httpd_header_deadline) \
    X(httpd_idle_deadline) \
    X(sched_tasks_start_later_in_order) \
    X(sched_yield_and_resume) \
    X(sched_cancel) \
    X(sched_errors_timeouts_events) \
    X(jobs_state_machine) \
    X(jobs_yield_while_busy) \
    X(proc_exit_codes_io_env) \
    X(proc_output_cap) \
    X(proc_timeout_kills_the_group) \
    X(watch_debounced_batch) \
    X(leaks_on_bad_arguments) \
    X(fs_atomic_write_read_stat) \
    X(fs_failures_name_step_and_path) \
    X(fs_abandon_cleans_up)

#define DECLARE(name) int test_##name(void);
TESTS(DECLARE)

static const struct {
    const char *name;
    int (*fn)(void);
} tests[] = {
#define ENTRY(name) {#name, test_##name},
    TESTS(ENTRY)
};

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        if (argc > 1 && strcmp(argv[1], tests[i].name) != 0)
            continue;
        int rc = tests[i].fn();
        printf("%s %s\n", rc == 0 ? "ok  " : "FAIL", tests[i].name);
        if (rc == 0)
            passed++;
        else
            failed++;
    }
    if (passed + failed == 0) {
        fprintf(stderr, "no test named %s\n", argc > 1 ? argv[1] : "?");
        return 2;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
