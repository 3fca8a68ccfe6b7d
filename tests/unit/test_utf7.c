/* test_utf7.c - modified UTF-7 mailbox names (RFC 3501 5.1.3). */
#include <string.h>

#include "mail/utf7.h"
#include "test.h"

static int dec(const char *in, struct mail_buf *out)
{
    mail_buf_reset(out);
    return mail_mutf7_decode(out, in, strlen(in));
}

static int enc(const char *in, struct mail_buf *out)
{
    mail_buf_reset(out);
    return mail_mutf7_encode(out, in, strlen(in));
}

static void test_rfc3501_example(void)
{
    struct mail_buf b = MAIL_BUF_INIT;
    /* "~peter/mail/" U+53F0 U+5317 "/" U+65E5 U+672C U+8A9E */
    const char *utf8 = "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
                       "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e";

    CHECK(dec("~peter/mail/&U,BTFw-/&ZeVnLIqe-", &b) == 0);
    CHECK_STR(b.data, utf8);
    CHECK(enc(utf8, &b) == 0);
    CHECK_STR(b.data, "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
    mail_buf_release(&b);
}

static void test_simple(void)
{
    struct mail_buf b = MAIL_BUF_INIT;

    CHECK(dec("INBOX", &b) == 0);
    CHECK_STR(b.data, "INBOX");
    CHECK(dec("Tom &- Jerry", &b) == 0);
    CHECK_STR(b.data, "Tom & Jerry");
    CHECK(enc("Tom & Jerry", &b) == 0);
    CHECK_STR(b.data, "Tom &- Jerry");
    CHECK(enc("Entw\xc3\xbc" "rfe", &b) == 0);
    CHECK_STR(b.data, "Entw&APw-rfe");
    CHECK(dec("Entw&APw-rfe", &b) == 0);
    CHECK_STR(b.data, "Entw\xc3\xbc" "rfe");
    /* outside the BMP: U+1F600 as a surrogate pair */
    CHECK(enc("\xf0\x9f\x98\x80", &b) == 0);
    CHECK_STR(b.data, "&2D3eAA-");
    CHECK(dec("&2D3eAA-", &b) == 0);
    CHECK_STR(b.data, "\xf0\x9f\x98\x80");
    mail_buf_release(&b);
}

static void test_bad(void)
{
    struct mail_buf b = MAIL_BUF_INIT;

    CHECK(dec("&U,BTFw", &b) < 0);        /* unterminated */
    CHECK(dec("&U/BTFw-", &b) < 0);       /* '/' is not modified base64 */
    CHECK(dec("&AGE-", &b) < 0);          /* "a" encoded */
    CHECK(dec("&2D0-", &b) < 0);          /* lone high surrogate */
    CHECK(dec("&3gA-", &b) < 0);          /* lone low surrogate */
    CHECK(dec("&APw-&APw-", &b) == 0);    /* two shifts are fine */
    CHECK(dec("&APx-", &b) < 0);          /* non-zero padding bits */
    CHECK(dec("&APy-", &b) < 0);          /* non-zero padding bits */
    CHECK(dec("a\tb", &b) < 0);           /* control character */
    CHECK(dec("\xc3\xbc", &b) < 0);       /* raw 8-bit */
    CHECK(enc("\xc3", &b) < 0);           /* truncated UTF-8 */
    CHECK(enc("\xc0\xaf", &b) < 0);       /* overlong */
    CHECK(enc("\xed\xa0\x80", &b) < 0);   /* surrogate */
    CHECK(enc("\xe0\x9f\xbf", &b) < 0);   /* overlong, 3 bytes */
    CHECK(enc("\xf4\x90\x80\x80", &b) < 0);   /* U+110000 */
    CHECK(enc("a\xe2\x82", &b) < 0);      /* truncated at the end */
    CHECK(enc("\x80", &b) < 0);            /* stray continuation */
    mail_buf_release(&b);
}

/* The ends of the range through the shared UTF-8 encoder and decoder. */
static void test_limits(void)
{
    struct mail_buf b = MAIL_BUF_INIT;

    CHECK(enc("\xf4\x8f\xbf\xbf", &b) == 0);   /* U+10FFFF */
    CHECK_STR(b.data, "&2,,f,w-");
    mail_buf_reset(&b);
    CHECK(dec("&2,,f,w-", &b) == 0);
    CHECK_STR(b.data, "\xf4\x8f\xbf\xbf");
    mail_buf_reset(&b);
    CHECK(enc("\xc2\x80\xef\xbf\xbf\xf0\x90\x80\x80", &b) == 0);
    CHECK_STR(b.data, "&AID,,9gA3AA-");
    mail_buf_reset(&b);
    CHECK(dec("&AID,,9gA3AA-", &b) == 0);
    CHECK_STR(b.data, "\xc2\x80\xef\xbf\xbf\xf0\x90\x80\x80");
    mail_buf_release(&b);
}

static void test_roundtrip(void)
{
    static const char *const names[] = {
        "", "a", "&", "&&", "\xc3\xa4", "a\xc3\xa4\x62",
        "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac",
        "x\xf0\x9f\x98\x80y\xe4\xb8\xad", "\x01\x02", "\x7f~",
    };
    struct mail_buf b = MAIL_BUF_INIT, c = MAIL_BUF_INIT;

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int ok;

        mail_buf_reset(&b);
        mail_buf_reset(&c);
        ok = mail_mutf7_encode(&b, names[i], strlen(names[i])) == 0 &&
             mail_mutf7_decode(&c, b.data ? b.data : "", b.len) == 0 &&
             c.len == strlen(names[i]) &&
             memcmp(c.data ? c.data : "", names[i], c.len) == 0;
        CHECK(ok);
    }
    mail_buf_release(&b);
    mail_buf_release(&c);
}

int main(void)
{
    RUN(test_rfc3501_example);
    RUN(test_simple);
    RUN(test_bad);
    RUN(test_limits);
    RUN(test_roundtrip);
    return test_done();
}
