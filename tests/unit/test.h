/*
 * test.h - a tiny TAP test helper for the C unit tests.
 *
 *     #include "test.h"
 *     static void test_foo(void) { CHECK(1 + 1 == 2); CHECK_STR(a, "b"); }
 *     int main(void) { RUN(test_foo); return test_done(); }
 *
 * Each CHECK prints one TAP line; meson runs these with protocol 'tap'.
 */
#ifndef MAIL_TEST_H
#define MAIL_TEST_H

#include <stdio.h>
#include <string.h>

static int test_count, test_failed;
static const char *test_current = "";

/* TAP lines go out as they are written: a test that forks (servers,
 * concurrent listings, spawned commands) must not leave half a buffer
 * that a child flushes again at its exit, which doubles lines (seen
 * under valgrind). */
__attribute__((constructor)) static void test_line_buffered(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
}

static inline void test_check(int ok, const char *what, const char *file,
                              int line)
{
    test_count++;
    if (!ok)
        test_failed++;
    printf("%sok %d - %s: %s\n", ok ? "" : "not ", test_count, test_current,
           what);
    if (!ok)
        printf("# failed at %s:%d\n", file, line);
}

static inline void test_check_str(const char *got, const char *want,
                                  const char *what, const char *file, int line)
{
    int ok = got && want ? strcmp(got, want) == 0 : got == want;

    test_check(ok, what, file, line);
    if (!ok)
        printf("#   got:  \"%s\"\n#   want: \"%s\"\n", got ? got : "(null)",
               want ? want : "(null)");
}

static inline void test_check_mem(const void *got, size_t gotlen,
                                  const void *want, size_t wantlen,
                                  const char *what, const char *file, int line)
{
    int ok = gotlen == wantlen && memcmp(got, want, gotlen) == 0;

    test_check(ok, what, file, line);
    if (!ok)
        printf("#   got %zu bytes, want %zu bytes\n", gotlen, wantlen);
}

static inline int test_done(void)
{
    printf("1..%d\n", test_count);
    return test_failed ? 1 : 0;
}

#define CHECK(cond) test_check(!!(cond), #cond, __FILE__, __LINE__)
#define CHECK_STR(got, want) \
    test_check_str((got), (want), #got " == " #want, __FILE__, __LINE__)
#define CHECK_MEM(got, gotlen, want, wantlen) \
    test_check_mem((got), (gotlen), (want), (wantlen), #got, __FILE__, __LINE__)
#define RUN(fn) do { test_current = #fn; fn(); } while (0)

#endif
