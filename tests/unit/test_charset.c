#include <stdlib.h>
#include <string.h>

#include "mail/buf.h"
#include "mail/charset.h"
#include "test.h"

static char *conv(const char *cs, const char *in, size_t len)
{
    struct mail_buf b = MAIL_BUF_INIT;

    if (mail_charset_to_utf8(&b, cs, in, len) < 0)
        return NULL;
    return mail_buf_detach(&b);
}

#define CONV(cs, in, want) do { \
        char *got_ = conv(cs, in, sizeof(in) - 1); \
        CHECK_STR(got_, want); \
        free(got_); \
    } while (0)

static void test_names(void)
{
    static const struct { const char *in, *want; } t[] = {
        { "UTF-8", "utf-8" }, { "utf8", "utf-8" }, { "\"utf-8\"", "utf-8" },
        { "us-ascii", "auto" }, { NULL, "auto" }, { "", "auto" },
        { "unknown-8bit", "auto" }, { "x-unknown", "auto" },
        { "ISO-8859-1", "windows-1252" }, { "latin1", "windows-1252" },
        { "Windows-1252", "windows-1252" },
        { "ks_c_5601-1987", "CP949" }, { "gb2312", "GB18030" },
        { "GBK", "GB18030" }, { "Shift_JIS", "CP932" },
        { "iso-8859-15", "iso-8859-15" }, { "KOI8-R", "KOI8-R" },
        { "x-no-such-charset", "auto" }, { "utf-8//TRANSLIT", "auto" },
        { "utf-8 ; x", "utf-8" },
    };
    size_t i;

    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct mail_charset_conv *c =
            mail_charset_conv_new(t[i].in, mail_sink_buf, NULL, NULL);

        CHECK_STR(mail_charset_conv_name(c), t[i].want);
        mail_charset_conv_free(c);
    }
}

static void test_convert(void)
{
    CONV("utf-8", "caf\xc3\xa9", "caf\xc3\xa9");
    CONV("utf-8", "a\xff" "b", "a\xef\xbf\xbd" "b");           /* U+FFFD */
    CONV("utf-8", "a\xe2\x82", "a\xef\xbf\xbd");                /* cut */
    CONV("utf-8", "\xe2\x82x", "\xef\xbf\xbdx");                /* one FFFD */
    CONV("utf-8", "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    CONV("iso-8859-1", "caf\xe9 \x80", "caf\xc3\xa9 \xe2\x82\xac");
    CONV("us-ascii", "caf\xe9", "caf\xc3\xa9");                 /* auto */
    CONV("us-ascii", "caf\xc3\xa9", "caf\xc3\xa9");
    CONV(NULL, "na\xefve \xe2\x9c\x93", "na\xc3\xafve \xe2\x9c\x93");
    CONV("iso-8859-15", "\xa4", "\xe2\x82\xac");
    CONV("koi8-r", "\xf0\xd2\xc9", "\xd0\x9f\xd1\x80\xd0\xb8");
    CONV("ks_c_5601-1987", "\xc7\xd1", "\xed\x95\x9c");          /* 한 */
    CONV("gb2312", "\xd6\xd0", "\xe4\xb8\xad");                  /* 中 */
    CONV("shift_jis", "\x82\xa0", "\xe3\x81\x82");               /* あ */
    CONV("iso-2022-jp", "\x1b$B$\"\x1b(B", "\xe3\x81\x82");
    CONV("shift_jis", "a\x82", "a\xef\xbf\xbd");                 /* cut */
    CONV("gb2312", "\xff\xff" "a", "\xef\xbf\xbd\xef\xbf\xbd" "a");
}

/* Push one byte at a time: split characters must come out whole. */
static void test_streaming(void)
{
    static const struct { const char *cs, *in, *want; } t[] = {
        { "utf-8", "\xe2\x82\xac\xf0\x9f\x98\x80", "\xe2\x82\xac\xf0\x9f\x98\x80" },
        { "auto", "\xe2\x82\xac\xe9", "\xe2\x82\xac\xc3\xa9" },
        { "gb18030", "\xd6\xd0\x81\x30\x81\x30", "\xe4\xb8\xad\xc2\x80" },
        { "cp949", "\xc7\xd1\xb1\xdb", "\xed\x95\x9c\xea\xb8\x80" },
    };
    size_t i, k;

    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct mail_buf b = MAIL_BUF_INIT;
        struct mail_charset_conv *c =
            mail_charset_conv_new(t[i].cs, mail_sink_buf, &b, NULL);

        for (k = 0; t[i].in[k]; k++)
            CHECK(mail_charset_conv_push(c, t[i].in + k, 1, NULL) == 0);
        CHECK(mail_charset_conv_finish(c, NULL) == 0);
        CHECK_STR(b.data, t[i].want);
        mail_charset_conv_free(c);
        mail_buf_release(&b);
    }
}

static void test_large(void)
{
    /* More than the internal buffers, with a character on each seam. */
    size_t n = 100000, i;
    char *in = malloc(n * 2);
    struct mail_buf b = MAIL_BUF_INIT;

    for (i = 0; i < n; i++) {
        in[2 * i] = '\xc3';
        in[2 * i + 1] = '\xa9';
    }
    CHECK(mail_charset_to_utf8(&b, "utf-8", in, n * 2) == 0);
    CHECK(b.len == n * 2 && memcmp(b.data, in, n * 2) == 0);
    mail_buf_reset(&b);
    CHECK(mail_charset_to_utf8(&b, "iso-8859-2", in, n * 2) == 0);
    CHECK(b.len == n * 4);      /* two 2-byte characters per pair */
    mail_buf_release(&b);
    free(in);
}

static void test_sanitize(void)
{
    struct mail_buf b = MAIL_BUF_INIT;
    static const char raw[] = "J\xc3\xb6rg Fran\xe7ois \x93q\x94";

    CHECK(mail_utf8_sanitize(&b, raw, sizeof raw - 1) == 0);
    CHECK_STR(b.data, "J\xc3\xb6rg Fran\xc3\xa7ois \xe2\x80\x9cq\xe2\x80\x9d");
    mail_buf_release(&b);
    CHECK(mail_utf8_valid("\xc3\xa9", 2));
    CHECK(!mail_utf8_valid("\xc0\xaf", 2));     /* overlong */
    CHECK(!mail_utf8_valid("\xf4\x90\x80\x80", 4));
    CHECK(mail_utf8_seqlen("\xe2\x82\xac", 3) == 3);
    CHECK(mail_utf8_seqlen("\xe2\x82", 2) == 0);
    CHECK(mail_utf8_valid("\xf4\x8f\xbf\xbf", 4));  /* U+10FFFF */
    CHECK(!mail_utf8_valid("\xed\xbf\xbf", 3));      /* surrogate */
    CHECK(!mail_utf8_valid("a\xf0\x9f\x98", 4));     /* truncated */
}

/* mail_utf8_put: what cannot be UTF-8 becomes U+FFFD. */
static void test_put(void)
{
    struct mail_buf b = MAIL_BUF_INIT;

    CHECK(mail_utf8_put(&b, 'a') == 0 && mail_utf8_put(&b, 0xe9) == 0 &&
          mail_utf8_put(&b, 0x20ac) == 0 && mail_utf8_put(&b, 0x10ffff) == 0);
    CHECK_STR(b.data, "a\xc3\xa9\xe2\x82\xac\xf4\x8f\xbf\xbf");
    mail_buf_reset(&b);
    CHECK(mail_utf8_put(&b, 0xd800) == 0 && mail_utf8_put(&b, 0xdfff) == 0 &&
          mail_utf8_put(&b, 0x110000) == 0);
    CHECK_STR(b.data, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    mail_buf_release(&b);
}

int main(void)
{
    RUN(test_names);
    RUN(test_convert);
    RUN(test_streaming);
    RUN(test_large);
    RUN(test_sanitize);
    RUN(test_put);
    return test_done();
}
