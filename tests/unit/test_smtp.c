/*
 * test_smtp.c - the SMTP data transformation: CRLF line ends, dot-stuffing
 * and the end of data, whatever the chunking.
 */
#include <string.h>

#include "mail/buf.h"
#include "mail/smtp.h"
#include "test.h"

/* Run the stuffer over in, pushed `step` bytes at a time (0: at once). */
static void stuff(struct mail_buf *out, const char *in, size_t step)
{
    struct mail_smtp_stuffer st;
    size_t len = strlen(in);

    mail_buf_reset(out);
    mail_smtp_stuffer_init(&st, mail_sink_buf, out);
    if (!step)
        step = len ? len : 1;
    for (size_t i = 0; i < len; i += step)
        mail_smtp_stuff(&st, in + i, len - i < step ? len - i : step);
    mail_smtp_stuff_end(&st);
}

static void check_all_chunkings(const char *in, const char *want)
{
    struct mail_buf out = MAIL_BUF_INIT;

    for (size_t step = 0; step <= 3; step++) {
        stuff(&out, in, step);
        CHECK_STR(out.data, want);
    }
    mail_buf_release(&out);
}

static void test_crlf(void)
{
    check_all_chunkings("a\nb\n", "a\r\nb\r\n.\r\n");
    check_all_chunkings("a\r\nb\r\n", "a\r\nb\r\n.\r\n");
    check_all_chunkings("mixed\r\nlf\ncr\r\n", "mixed\r\nlf\r\ncr\r\n.\r\n");
    /* A bare CR stays: it is data, not a line end. */
    check_all_chunkings("x\ry\n", "x\ry\r\n.\r\n");
    check_all_chunkings("\n\n", "\r\n\r\n.\r\n");
}

static void test_dots(void)
{
    check_all_chunkings(".\n", "..\r\n.\r\n");
    check_all_chunkings("a\n.\nb\n", "a\r\n..\r\nb\r\n.\r\n");
    check_all_chunkings("..x\n", "...x\r\n.\r\n");
    check_all_chunkings("a.b\n.c", "a.b\r\n..c\r\n.\r\n");
    check_all_chunkings("x\r\n.\r\n", "x\r\n..\r\n.\r\n");
}

static void test_end(void)
{
    check_all_chunkings("", ".\r\n");
    check_all_chunkings("no newline", "no newline\r\n.\r\n");
    check_all_chunkings("ends in cr\r", "ends in cr\r\n.\r\n");
}

static void test_large(void)
{
    /* More than the 8 KiB output buffer, with dots at line starts. */
    struct mail_buf in = MAIL_BUF_INIT, want = MAIL_BUF_INIT,
                    out = MAIL_BUF_INIT;

    for (int i = 0; i < 5000; i++) {
        mail_buf_addstr(&in, ".line\n");
        mail_buf_addstr(&want, "..line\r\n");
    }
    mail_buf_addstr(&want, ".\r\n");
    stuff(&out, in.data, 4093);
    CHECK(out.len == want.len);
    CHECK(memcmp(out.data, want.data, want.len) == 0);
    mail_buf_release(&in);
    mail_buf_release(&want);
    mail_buf_release(&out);
}

int main(void)
{
    RUN(test_crlf);
    RUN(test_dots);
    RUN(test_end);
    RUN(test_large);
    return test_done();
}
