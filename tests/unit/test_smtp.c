/*
 * test_smtp.c - the SMTP data transformation: CRLF line ends, dot-stuffing
 * and the end of data, whatever the chunking.
 */
#include <stdbool.h>
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
    /* A bare CR is a line end too: never sent bare (SMTP smuggling). */
    check_all_chunkings("x\ry\n", "x\r\ny\r\n.\r\n");
    check_all_chunkings("x\r\ry\n", "x\r\n\r\ny\r\n.\r\n");
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

/* The smuggling shapes (CVE-2023-51764 and kin): each must come out as
 * a doubled dot on a CRLF line of its own, never as an end of data. */
static void test_smuggling(void)
{
    check_all_chunkings("a\n.\nb", "a\r\n..\r\nb\r\n.\r\n");
    check_all_chunkings("a\r.\rb", "a\r\n..\r\nb\r\n.\r\n");
    check_all_chunkings("a\r\n.\rb", "a\r\n..\r\nb\r\n.\r\n");
    check_all_chunkings("a\n.\r\nb", "a\r\n..\r\nb\r\n.\r\n");
    check_all_chunkings("a\r.\r\nb", "a\r\n..\r\nb\r\n.\r\n");
    check_all_chunkings("a\r\n.\nb", "a\r\n..\r\nb\r\n.\r\n");
    check_all_chunkings("\r.\r", "\r\n..\r\n.\r\n");
    check_all_chunkings(".\r", "..\r\n.\r\n");
}

/* Every CR is followed by LF, every LF preceded by CR, and CRLF.CRLF
 * appears only at the very end. */
static int clean_output(const char *o, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (o[i] == '\r' && (i + 1 >= n || o[i + 1] != '\n'))
            return 0;
        if (o[i] == '\n' && (i == 0 || o[i - 1] != '\r'))
            return 0;
    }
    if (n < 3 || memcmp(o + n - 3, ".\r\n", 3) != 0)
        return 0;
    for (size_t i = 0; i + 5 < n; i++)
        if (memcmp(o + i, "\r\n.\r\n", 5) == 0)
            return 0;
    /* A message starting with ".\r\n" would end at once. */
    return n == 3 || memcmp(o, ".\r\n", 3) != 0;
}

/* Every string of length up to 6 over CR, LF, '.' and 'x', pushed at
 * once and byte by byte. */
static void test_smuggling_exhaustive(void)
{
    static const char alpha[] = "\r\n.x";
    struct mail_buf out = MAIL_BUF_INIT;
    int bad = 0, runs = 0;

    for (int len = 0; len <= 6; len++) {
        int total = 1;

        for (int k = 0; k < len; k++)
            total *= 4;
        for (int v = 0; v < total; v++) {
            char in[8];
            int x = v;

            for (int k = 0; k < len; k++, x /= 4)
                in[k] = alpha[x % 4];
            in[len] = '\0';
            for (size_t step = 0; step <= 1; step++) {
                stuff(&out, in, step);
                runs++;
                if (!clean_output(out.data, out.len))
                    bad++;
            }
        }
    }
    CHECK(runs > 10000);
    CHECK(bad == 0);
    mail_buf_release(&out);
}

/* A sink that keeps everything and checks the piece size. */
struct piece_sink {
    struct mail_buf *out;
    size_t biggest;
};

static int piece_sink(void *ctx, const char *data, size_t len)
{
    struct piece_sink *ps = ctx;

    if (len > ps->biggest)
        ps->biggest = len;
    return mail_buf_add(ps->out, data, len);
}

/* Stuff in[0..len) cut at the given points (sorted, may repeat). */
static void stuff_cuts(struct mail_buf *out, const char *in, size_t len,
                       const size_t *cuts, size_t ncuts, size_t *biggest)
{
    struct mail_smtp_stuffer st;
    struct piece_sink ps = { out, 0 };
    size_t at = 0;

    mail_buf_reset(out);
    mail_smtp_stuffer_init(&st, piece_sink, &ps);
    for (size_t k = 0; k <= ncuts; k++) {
        size_t to = k < ncuts ? cuts[k] : len;

        if (to > len)
            to = len;
        if (to > at)
            mail_smtp_stuff(&st, in + at, to - at);
        at = to > at ? to : at;
    }
    mail_smtp_stuff_end(&st);
    if (ps.biggest > *biggest)
        *biggest = ps.biggest;
}

/* One line of n bytes with no line break (before the fix, any run longer
 * than the 8 KiB output buffer overflowed it), starting with a dot, with
 * and without a line end after it, in many chunkings. */
static void check_long_line(size_t n, bool every_split)
{
    struct mail_buf in = MAIL_BUF_INIT, want = MAIL_BUF_INIT,
                    out = MAIL_BUF_INIT;
    static const size_t steps[] = { 1, 2, 3, 7, 1000, 4095, 4096, 4097,
                                    8191, 8192, 8193, 16384, 65536 };
    size_t biggest = 0;
    int bad = 0;

    CHECK(mail_buf_reserve(&in, n + 1) == 0);
    mail_buf_addch(&in, '.');
    for (size_t i = 1; i < n; i++)
        mail_buf_addch(&in, (char)('a' + i % 26));
    mail_buf_addch(&want, '.');
    mail_buf_add(&want, in.data, in.len);
    mail_buf_addstr(&want, "\r\n.\r\n");

    for (int with_lf = 0; with_lf <= 1; with_lf++) {
        size_t len = in.len;

        if (with_lf)
            mail_buf_addch(&in, '\n');
        /* Whole, and fixed steps. */
        stuff_cuts(&out, in.data, in.len, NULL, 0, &biggest);
        bad += out.len != want.len || memcmp(out.data, want.data, out.len);
        for (size_t k = 0; k < sizeof steps / sizeof *steps; k++) {
            struct mail_smtp_stuffer st;
            struct piece_sink ps = { &out, 0 };

            mail_buf_reset(&out);
            mail_smtp_stuffer_init(&st, piece_sink, &ps);
            for (size_t i = 0; i < in.len; i += steps[k])
                mail_smtp_stuff(&st, in.data + i, in.len - i < steps[k]
                                ? in.len - i : steps[k]);
            mail_smtp_stuff_end(&st);
            if (ps.biggest > biggest)
                biggest = ps.biggest;
            bad += out.len != want.len ||
                   memcmp(out.data, want.data, out.len);
        }
        /* In two pieces, cut at every point (or around the buffer's
         * size and a sample elsewhere for the long ones). */
        for (size_t cut = 0; cut <= in.len; cut++) {
            if (!every_split && !(cut < 16 || (cut > 8180 && cut < 8200) ||
                                  cut % 9973 == 0 || cut + 16 > in.len))
                continue;
            stuff_cuts(&out, in.data, in.len, &cut, 1, &biggest);
            bad += out.len != want.len ||
                   memcmp(out.data, want.data, out.len);
        }
        in.len = len;
    }
    CHECK(bad == 0);
    CHECK(biggest <= 8192);
    mail_buf_release(&in);
    mail_buf_release(&want);
    mail_buf_release(&out);
}

static void test_long_lines(void)
{
    check_long_line(20000, true);
    check_long_line(1000000, false);
}

int main(void)
{
    RUN(test_crlf);
    RUN(test_dots);
    RUN(test_end);
    RUN(test_large);
    RUN(test_smuggling);
    RUN(test_smuggling_exhaustive);
    RUN(test_long_lines);
    return test_done();
}
