/*
 * test_trace.c - net_trace_vprintf (lib/net/trace.c), the one formatter
 * of trace lines: the line given to the hook with its direction and exact
 * length, cut at 511 bytes, nothing without a hook.
 */
#include <stdarg.h>
#include <string.h>

#include "lib/net/trace.h"
#include "test.h"

struct seen {
    int calls;
    char dir;
    char data[1024];
    size_t len;
    int nul_at_len;            /* data[len] was a NUL */
};

static void hook(void *arg, char dir, const char *data, size_t len)
{
    struct seen *s = arg;

    s->calls++;
    s->dir = dir;
    s->len = len;
    s->nul_at_len = data[len] == '\0';
    if (len < sizeof s->data) {
        memcpy(s->data, data, len);
        s->data[len] = '\0';
    }
}

static void MAIL_PRINTF(4, 5) trace(mail_trace_fn fn, void *arg, char dir,
                                    const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    net_trace_vprintf(fn, arg, dir, fmt, ap);
    va_end(ap);
}

static void test_line(void)
{
    struct seen s = { 0 };

    trace(hook, &s, '*', "connected to %s:%u (%s)", "imap.example.test",
          993u, "TLSv1.3");
    CHECK(s.calls == 1);
    CHECK(s.dir == '*');
    CHECK_STR(s.data, "connected to imap.example.test:993 (TLSv1.3)");
    CHECK(s.len == strlen("connected to imap.example.test:993 (TLSv1.3)"));
    CHECK(s.nul_at_len);
    trace(hook, &s, '>', "%s", "");
    CHECK(s.calls == 2);
    CHECK(s.dir == '>');
    CHECK(s.len == 0);
    trace(hook, &s, '<', "100%% %d", -5);
    CHECK_STR(s.data, "100% -5");
    CHECK(s.dir == '<');
}

static void test_no_hook(void)
{
    struct seen s = { 0 };

    /* Nothing is formatted or called. */
    trace(NULL, &s, '*', "%s", "dropped");
    CHECK(s.calls == 0);
}

static void test_cut(void)
{
    struct seen s = { 0 };
    char big[2000];

    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    /* 511 bytes pass whole, 512 and more are cut to 511. */
    trace(hook, &s, '*', "%.511s", big);
    CHECK(s.len == 511);
    trace(hook, &s, '*', "%.512s", big);
    CHECK(s.len == 511);
    CHECK(s.nul_at_len);
    trace(hook, &s, '*', "head %s tail", big);
    CHECK(s.calls == 3);
    CHECK(s.len == 511);
    CHECK(strncmp(s.data, "head xxx", 8) == 0);
    CHECK(strspn(s.data + 5, "x") == 506);
    CHECK(strstr(s.data, "tail") == NULL);
}

int main(void)
{
    RUN(test_line);
    RUN(test_no_hook);
    RUN(test_cut);
    return test_done();
}
