/*
 * test_hex.c - the one hex digit reader and percent-decoder (mail/hex.h)
 * that quoted-printable, encoded words, RFC 2231 values, server URLs and
 * OAuth 2.0 redirects share.
 */
#include <string.h>

#include "mail/buf.h"
#include "mail/hex.h"
#include "test.h"

static void test_value(void)
{
    int bad = 0;

    for (int c = 0; c < 256; c++) {
        int want = c >= '0' && c <= '9'   ? c - '0'
                 : c >= 'A' && c <= 'F' ? c - 'A' + 10
                 : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                          : -1;

        bad += mail_hex_value((unsigned char)c) != want;
    }
    CHECK(bad == 0);
    CHECK(mail_hex_value('0') == 0);
    CHECK(mail_hex_value('9') == 9);
    CHECK(mail_hex_value('a') == 10);
    CHECK(mail_hex_value('F') == 15);
    CHECK(mail_hex_value('g') == -1);
    CHECK(mail_hex_value('/') == -1);
    CHECK(mail_hex_value(0xc1) == -1);   /* 'A' | 0x80 */
}

static void test_escape(void)
{
    CHECK(mail_hex_escape("%41", 3) == 0x41);
    CHECK(mail_hex_escape("=fF", 3) == 0xff);
    CHECK(mail_hex_escape("%00x", 4) == 0);
    CHECK(mail_hex_escape("%4", 2) == -1);
    CHECK(mail_hex_escape("%41", 2) == -1);   /* the 1 is past len */
    CHECK(mail_hex_escape("%4g", 3) == -1);
    CHECK(mail_hex_escape("%g4", 3) == -1);
    CHECK(mail_hex_escape("%", 1) == -1);
    CHECK(mail_hex_escape("", 0) == -1);
}

/* decode s with flags: the return value, and the text in got */
static int decode(const char *s, unsigned flags, struct mail_buf *got)
{
    mail_buf_reset(got);
    return mail_pct_decode(got, s, strlen(s), flags);
}

static void test_pct_lenient(void)
{
    struct mail_buf b = MAIL_BUF_INIT;

    CHECK(decode("caf%C3%a9 %2B+x", 0, &b) == 0);
    CHECK_STR(b.data, "caf\xc3\xa9 ++x");
    /* a '%' without two hex digits stays, and what follows is read again */
    CHECK(decode("100% %%41 %4 %g1 %", 0, &b) == 0);
    CHECK_STR(b.data, "100% %A %4 %g1 %");
    CHECK(decode("a%2", 0, &b) == 0);
    CHECK_STR(b.data, "a%2");
    /* a decoded NUL is kept: the length says so */
    CHECK(decode("x%00y", 0, &b) == 0);
    CHECK_MEM(b.data, b.len, "x\0y", 3);
    /* nothing in, nothing out; and it appends */
    CHECK(decode("", 0, &b) == 0);
    CHECK(b.len == 0);
    CHECK(mail_buf_addstr(&b, "k=") == 0);
    CHECK(mail_pct_decode(&b, "v%21", 4, 0) == 0);
    CHECK_STR(b.data, "k=v!");
    /* only len bytes are read */
    mail_buf_reset(&b);
    CHECK(mail_pct_decode(&b, "ab%41", 4, 0) == 0);
    CHECK_STR(b.data, "ab%4");
    mail_buf_release(&b);
}

static void test_pct_plus_space(void)
{
    struct mail_buf b = MAIL_BUF_INIT;

    CHECK(decode("a+b%2Bc+", MAIL_PCT_PLUS_SPACE, &b) == 0);
    CHECK_STR(b.data, "a b+c ");
    CHECK(decode("a+%zz", MAIL_PCT_PLUS_SPACE, &b) == 0);
    CHECK_STR(b.data, "a %zz");
    mail_buf_release(&b);
}

static void test_pct_strict(void)
{
    struct mail_buf b = MAIL_BUF_INIT;

    CHECK(decode("al%69ce%40example.test", MAIL_PCT_STRICT, &b) == 0);
    CHECK_STR(b.data, "alice@example.test");
    CHECK(decode("a+b", MAIL_PCT_STRICT, &b) == 0);
    CHECK_STR(b.data, "a+b");
    CHECK(decode("100%", MAIL_PCT_STRICT, &b) == -2);
    CHECK(decode("%4", MAIL_PCT_STRICT, &b) == -2);
    CHECK(decode("%4x", MAIL_PCT_STRICT, &b) == -2);
    CHECK(decode("%%41", MAIL_PCT_STRICT, &b) == -2);
    mail_buf_release(&b);
}

/* a buffer that cannot take the result: -1, not a bad escape */
static void test_pct_cap(void)
{
    struct mail_buf b;

    mail_buf_init(&b, 4);
    CHECK(mail_pct_decode(&b, "%41%42%43%44%45", 15, MAIL_PCT_STRICT) == -1);
    mail_buf_release(&b);
    mail_buf_init(&b, 4);
    CHECK(mail_pct_decode(&b, "%41%42%43", 9, 0) == 0);
    CHECK_STR(b.data, "ABC");
    mail_buf_release(&b);
}

int main(void)
{
    RUN(test_value);
    RUN(test_escape);
    RUN(test_pct_lenient);
    RUN(test_pct_plus_space);
    RUN(test_pct_strict);
    RUN(test_pct_cap);
    return test_done();
}
