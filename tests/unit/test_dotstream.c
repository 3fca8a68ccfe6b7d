/*
 * test_dotstream.c - the POP3 multi-line body decoder: dot-unstuffing,
 * the terminator and what follows it, whatever the chunking.
 */
#include <stdlib.h>
#include <string.h>

#include "mail/buf.h"
#include "mail/dotstream.h"
#include "test.h"

/* Decode in (len bytes) pushed `step` bytes at a time (0: at once; -1:
 * random splits).  Returns the count of bytes that belonged to the body,
 * or -1 if no terminator was found. */
static long decode(struct mail_buf *out, const char *in, size_t len, bool lf,
                   long step)
{
    struct mail_dotstream d;
    size_t i = 0;

    mail_buf_reset(out);
    mail_dotstream_init(&d, lf, 0, mail_sink_buf, out);
    while (i < len && !d.done) {
        size_t n = step > 0 ? (size_t)step
                 : step < 0 ? 1 + (size_t)(rand() % 7) : len;
        ssize_t used;

        if (n > len - i)
            n = len - i;
        used = mail_dotstream_feed(&d, in + i, n, NULL);
        if (used < 0)
            return -2;
        if (!d.done && (size_t)used != n)
            return -3;
        i += (size_t)used;
    }
    return d.done ? (long)i : -1;
}

/* Every chunking gives want (raw mode) / want_lf (lf mode), and the body
 * ends after `body` bytes of in. */
static void check(const char *in, const char *want, const char *want_lf,
                  long body)
{
    struct mail_buf out = MAIL_BUF_INIT;
    size_t len = strlen(in);

    for (long step = -1; step <= 4; step++) {
        for (int repeat = 0; repeat < (step < 0 ? 20 : 1); repeat++) {
            long got = decode(&out, in, len, false, step);
            CHECK(got == body);
            CHECK_STR(out.data ? out.data : "", want);
            got = decode(&out, in, len, true, step);
            CHECK(got == body);
            CHECK_STR(out.data ? out.data : "", want_lf);
        }
    }
    mail_buf_release(&out);
}

static void test_plain(void)
{
    check("a\r\nb\r\n.\r\n", "a\r\nb\r\n", "a\nb\n", 9);
    check("Subject: x\r\n\r\nbody\r\n.\r\n", "Subject: x\r\n\r\nbody\r\n",
          "Subject: x\n\nbody\n", 23);
}

static void test_empty(void)
{
    check(".\r\n", "", "", 3);
    check("\r\n.\r\n", "\r\n", "\n", 5);
}

static void test_stuffing(void)
{
    check("..\r\n.\r\n", ".\r\n", ".\n", 7);
    check("...\r\n.\r\n", "..\r\n", "..\n", 8);
    check("a\r\n..\r\nb\r\n.\r\n", "a\r\n.\r\nb\r\n", "a\n.\nb\n", 13);
    check("..x\r\n.\r\n", ".x\r\n", ".x\n", 8);
    /* An unstuffed ".text": RFC 1939 says the first dot goes. */
    check(".text\r\n.\r\n", "text\r\n", "text\n", 10);
    check("x.y\r\n.\r\n", "x.y\r\n", "x.y\n", 8);
    check("From me\r\n>From you\r\n.\r\n", "From me\r\n>From you\r\n",
          "From me\n>From you\n", 23);
}

static void test_cr(void)
{
    /* Bare CRs are data. */
    check("a\rb\r\n.\r\n", "a\rb\r\n", "a\rb\n", 8);
    check("a\r\r\n.\r\n", "a\r\r\n", "a\r\n", 7);
    check(".\rx\r\n.\r\n", "\rx\r\n", "\rx\n", 8);
    check(".\r\r\n.\r\n", "\r\r\n", "\r\n", 7);
}

static void test_bare_lf(void)
{
    check("a\nb\n.\n", "a\nb\n", "a\nb\n", 6);
    check("..\n.\n", ".\n", ".\n", 5);
    check(".\n", "", "", 2);
    check("a\r\nb\n.\r\n", "a\r\nb\n", "a\nb\n", 8);
}

static void test_after(void)
{
    /* What follows the terminator is the next reply's. */
    check("a\r\n.\r\n+OK next\r\n", "a\r\n", "a\n", 6);
    check(".\r\n.\r\n", "", "", 3);
    check("x\r\n.\r\n..garbage", "x\r\n", "x\n", 6);
}

static void test_unterminated(void)
{
    check("a\r\n", "", "", -1);   /* nothing flushed yet: 8 KiB pieces */
    check("a\r\n.", "", "", -1);
    check("a\r\n.\r", "", "", -1);
    check("a\r\n.x\r\n", "", "", -1);
}

static int count_sink(void *ctx, const char *data, size_t len,
                      struct mail_error *err)
{
    size_t *max = ctx;

    (void)data;
    if (len > *max)
        *max = len;
    return len > MAIL_DOTSTREAM_CHUNK
        ? mail_error_set(err, MAIL_ERR_INTERNAL, "piece too large") : 0;
}

static int stop_sink(void *ctx, const char *data, size_t len,
                     struct mail_error *err)
{
    (void)ctx;
    (void)data;
    (void)len;
    return mail_error_set(err, MAIL_ERR_IO, "~/Mail/INBOX: Disk quota "
                          "exceeded");
}

static void test_large(void)
{
    /* 1 MiB of lines, some stuffed: pieces of at most 8 KiB, and the
     * output equals the input without stuffing. */
    struct mail_buf in = MAIL_BUF_INIT, want = MAIL_BUF_INIT,
                    out = MAIL_BUF_INIT;
    struct mail_dotstream d;
    size_t biggest = 0;

    mail_buf_init(&in, 0);
    for (int i = 0; in.len < (1u << 20); i++) {
        if (i % 5 == 0) {
            mail_buf_printf(&in, "..dot line %d\r\n", i);
            mail_buf_printf(&want, ".dot line %d\n", i);
        } else {
            mail_buf_printf(&in, "line %d with some text\r\n", i);
            mail_buf_printf(&want, "line %d with some text\n", i);
        }
    }
    mail_buf_addstr(&in, ".\r\n+OK");
    CHECK(decode(&out, in.data, in.len, true, -1) == (long)in.len - 3);
    CHECK_MEM(out.data, out.len, want.data, want.len);
    CHECK(decode(&out, in.data, in.len, true, 65536) == (long)in.len - 3);
    CHECK_MEM(out.data, out.len, want.data, want.len);

    mail_dotstream_init(&d, false, 0, count_sink, &biggest);
    CHECK(mail_dotstream_feed(&d, in.data, in.len, NULL) ==
          (ssize_t)in.len - 3);
    CHECK(biggest == MAIL_DOTSTREAM_CHUNK);
    CHECK(d.done && d.in_bytes == in.len - 3);

    /* The bound on input bytes. */
    mail_dotstream_init(&d, false, 1000, count_sink, &biggest);
    CHECK(mail_dotstream_feed(&d, in.data, in.len, NULL) == -1);
    CHECK(d.too_big);
    /* A sink that stops: its own error comes back. */
    {
        struct mail_error err;

        mail_error_clear(&err);
        mail_dotstream_init(&d, false, 0, stop_sink, NULL);
        CHECK(mail_dotstream_feed(&d, in.data, in.len, &err) == -1);
        CHECK(!d.too_big && !d.done);
        CHECK(err.kind == MAIL_ERR_IO);
        CHECK_STR(err.msg, "~/Mail/INBOX: Disk quota exceeded");
    }
    /* Fed after the end: nothing taken. */
    mail_dotstream_init(&d, false, 0, mail_sink_buf, &out);
    CHECK(mail_dotstream_feed(&d, ".\r\nabc", 6, NULL) == 3);
    CHECK(mail_dotstream_feed(&d, "abc", 3, NULL) == 0);

    mail_buf_release(&in);
    mail_buf_release(&want);
    mail_buf_release(&out);
}

int main(void)
{
    srand(1);
    RUN(test_plain);
    RUN(test_empty);
    RUN(test_stuffing);
    RUN(test_cr);
    RUN(test_bare_lf);
    RUN(test_after);
    RUN(test_unterminated);
    RUN(test_large);
    return test_done();
}
