/* test_termsafe.c - the one terminal-safe path: mail_term_safe for the
 * terminal and mail_json_escape for --json share one decoder and one set
 * of dangerous code points; the one UTF-8 decoder and encoder of libmail
 * (overlongs, surrogates, truncation, U+10FFFF, U+110000); the stream. */
#include <stdlib.h>
#include <string.h>

#include "mail/buf.h"
#include "mail/termsafe.h"
#include "test.h"

static char *json(const char *s, size_t len)
{
    struct mail_buf b = MAIL_BUF_INIT;

    if (mail_json_escape(&b, s, len) < 0) {
        mail_buf_release(&b);
        return NULL;
    }
    return mail_buf_detach(&b);
}

static char *term(const char *s, int flags)
{
    struct mail_buf b = MAIL_BUF_INIT;

    if (mail_term_safe(&b, s, strlen(s), flags) < 0) {
        mail_buf_release(&b);
        return NULL;
    }
    return mail_buf_detach(&b);
}

#define JSON(in, want) do { \
        char *got_ = json(in, sizeof(in) - 1); \
        CHECK_STR(got_, want); \
        free(got_); \
    } while (0)
#define TERM(in, flags, want) do { \
        char *got_ = term(in, flags); \
        CHECK_STR(got_, want); \
        free(got_); \
    } while (0)

static void test_json_plain(void)
{
    JSON("", "\"\"");
    JSON("hello", "\"hello\"");
    JSON("a\"b\\c", "\"a\\\"b\\\\c\"");
    JSON("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
         "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
}

static void test_json_controls(void)
{
    JSON("a\nb\tc\x1b[31m\x7f", "\"a\\u000ab\\u0009c\\u001b[31m\\u007f\"");
    JSON("x\0y", "\"x\\u0000y\"");
    /* C1: U+0080, U+009B (CSI), U+009F */
    JSON("\xc2\x80\xc2\x9b\xc2\x9f\xc2\xa0",
         "\"\\u0080\\u009b\\u009f\xc2\xa0\"");
    /* bidi controls */
    JSON("\xe2\x80\xae", "\"\\u202e\"");
    JSON("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad",
         "\"\\u202a\\u202b\\u202c\\u202d\"");
    JSON("\xe2\x80\x8e\xe2\x80\x8f", "\"\\u200e\\u200f\"");
    JSON("\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9",
         "\"\\u2066\\u2067\\u2068\\u2069\"");
    JSON("\xd8\x9c", "\"\\u061c\"");
    /* line and paragraph separators */
    JSON("a\xe2\x80\xa8" "b\xe2\x80\xa9", "\"a\\u2028b\\u2029\"");
    /* neighbours stay */
    JSON("\xe2\x80\xaf\xe2\x80\xa7", "\"\xe2\x80\xaf\xe2\x80\xa7\"");
}

static void test_json_invalid(void)
{
    JSON("\xff", "\"\\ufffd\"");
    JSON("a\xc3", "\"a\\ufffd\"");                 /* truncated */
    JSON("\xc0\xaf", "\"\\ufffd\\ufffd\"");        /* overlong */
    JSON("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""); /* surrogate */
    JSON("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
    JSON("\xc2\x9b", "\"\\u009b\"");               /* the UTF-8 form */
    JSON("\x9b", "\"\\ufffd\"");                   /* a raw C1 byte */
}

/* Every output byte is printable ASCII or part of valid UTF-8 that is
 * not dangerous, for every byte value and pair. */
static void test_json_exhaustive(void)
{
    char in[4];
    int a, b, bad = 0;

    for (a = 0; a < 256; a++)
        for (b = 0; b < 256; b++) {
            char *o;
            size_t i;

            in[0] = (char)a;
            in[1] = (char)b;
            in[2] = (char)0x80;
            o = json(in, 3);
            if (!o) {
                bad++;
                continue;
            }
            for (i = 0; o[i]; i++) {
                unsigned char c = (unsigned char)o[i];

                if (c < 0x20 || c == 0x7f || c == 0xc2)
                    /* 0xc2 would start U+0080..U+00BF: the only ones
                     * that could be there are U+00A0..U+00BF */
                    if (!(c == 0xc2 && (unsigned char)o[i + 1] >= 0xa0))
                        bad++;
            }
            free(o);
        }
    CHECK(bad == 0);
}

static void test_term(void)
{
    TERM("a\x1b]2;x\x07", MAIL_SAFE_ONELINE, "a^[]2;x^G");
    TERM("\xc2\x9b" "1m", 0, "<U+009B>1m");
    TERM("\xe2\x80\xae", 0, "<U+202E>");
    TERM("\xff", 0, "\\xFF");
    TERM("a\nb", 0, "a\nb");
    TERM("a\nb", MAIL_SAFE_ONELINE, "a^Jb");
    TERM("a\xe2\x80\xa8" "b\xe2\x80\xa9", 0, "a<U+2028>b<U+2029>");
    TERM("\xe2\x81\xa6\xd8\x9c", 0, "<U+2066><U+061C>");
}

/* ---- mail_term_is_safe: the predicate of the same set ---- */

/* Does mail_term_safe leave s[0..len) as it is? */
static int unchanged(const char *s, size_t len, int flags)
{
    struct mail_buf b = MAIL_BUF_INIT;
    int same;

    if (mail_term_safe(&b, s, len, flags) < 0)
        return -1;
    same = b.len == len && (len == 0 || memcmp(b.data, s, len) == 0);
    mail_buf_release(&b);
    return same;
}

/* safe_dup: a copy as it is when safe, else mail_term_safe's form; the
 * two agree byte for byte. */
static void test_safe_dup(void)
{
    static const char *const in[] = {
        "", "plain", "caf\xc3\xa9", "red \033[31mx", "bidi \xe2\x80\xae!",
        "bad \xff byte", "line\nbreak",
    };

    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        struct mail_buf b = MAIL_BUF_INIT;
        char *d = mail_term_safe_dup(in[i], strlen(in[i]),
                                     MAIL_SAFE_ONELINE);

        CHECK(mail_term_safe(&b, in[i], strlen(in[i]),
                             MAIL_SAFE_ONELINE) == 0);
        CHECK(d != NULL);
        CHECK_STR(d, b.data ? b.data : "");
        free(d);
        mail_buf_release(&b);
    }
}

static void test_is_safe(void)
{
    CHECK(mail_term_is_safe("", 0, MAIL_SAFE_ONELINE));
    CHECK(mail_term_is_safe("Re: hello, world ~", 18, MAIL_SAFE_ONELINE));
    CHECK(mail_term_is_safe("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14,
                            MAIL_SAFE_ONELINE));
    CHECK(!mail_term_is_safe("a\x1b[31mb", 7, MAIL_SAFE_ONELINE));
    CHECK(!mail_term_is_safe("a\nb", 3, MAIL_SAFE_ONELINE));
    CHECK(mail_term_is_safe("a\nb\tc", 5, 0));
    CHECK(!mail_term_is_safe("a\rb", 3, 0));
    CHECK(!mail_term_is_safe("\x7f", 1, 0));
    CHECK(!mail_term_is_safe("\xc2\x9b", 2, 0));          /* C1 CSI */
    CHECK(mail_term_is_safe("\xc2\xa0", 2, 0));           /* NBSP */
    CHECK(!mail_term_is_safe("x\xe2\x80\xae", 4, 0));     /* U+202E */
    CHECK(!mail_term_is_safe("\xe2\x81\xa9", 3, 0));      /* U+2069 */
    CHECK(!mail_term_is_safe("\xd8\x9c", 2, 0));           /* U+061C */
    CHECK(!mail_term_is_safe("\xe2\x80\xa8", 3, 0));      /* U+2028 */
    CHECK(!mail_term_is_safe("\xff", 1, 0));
    CHECK(!mail_term_is_safe("\xe2\x82", 2, 0));           /* cut short */
    CHECK(!mail_term_is_safe("\xc0\xaf", 2, 0));           /* overlong */
    CHECK(!mail_term_is_safe("\xed\xa0\x80", 3, 0));      /* surrogate */
    /* A NUL inside the length counts (no strlen). */
    CHECK(!mail_term_is_safe("ab\0cd", 5, 0));
    /* The eight-byte step: a bad byte at each place of a long line. */
    {
        char line[40];
        int bad = 0;

        for (size_t at = 0; at < sizeof line; at++)
            for (int k = 0; k < 4; k++) {
                static const unsigned char c[] = { 0x1b, 0x7f, 0x80, 0x0d };

                memset(line, 'a', sizeof line);
                line[at] = (char)c[k];
                if (mail_term_is_safe(line, sizeof line, 0))
                    bad++;
            }
        memset(line, '~', sizeof line);
        CHECK(mail_term_is_safe(line, sizeof line, MAIL_SAFE_ONELINE));
        memset(line, ' ', sizeof line);
        CHECK(mail_term_is_safe(line, sizeof line, MAIL_SAFE_ONELINE));
        CHECK(bad == 0);
    }
}

/* The predicate and mail_term_safe agree on every pair and triple of
 * bytes after 0 or 7 bytes of ASCII (so that the pair falls on both sides
 * of an eight-byte step), with both flags. */
static void test_is_safe_exhaustive(void)
{
    int disagree = 0, failed = 0;
    char in[16];

    for (int pre = 0; pre < 10; pre += 7)
        for (int a = 0; a < 256; a++)
            for (int b = 0; b < 256; b++)
                for (int fl = 0; fl < 2; fl++) {
                    int flags = fl ? MAIL_SAFE_ONELINE : 0;
                    size_t len = (size_t)pre + 3;
                    int u;

                    memset(in, 'x', sizeof in);
                    in[pre] = (char)a;
                    in[pre + 1] = (char)b;
                    in[pre + 2] = (char)(b >= 0x80 ? 0x80 : 'y');
                    u = unchanged(in, len, flags);
                    if (u < 0)
                        failed++;
                    else if ((u == 1) != mail_term_is_safe(in, len, flags))
                        disagree++;
                    /* and with the third byte cut (a short sequence) */
                    u = unchanged(in, len - 1, flags);
                    if (u < 0)
                        failed++;
                    else if ((u == 1) != mail_term_is_safe(in, len - 1,
                                                           flags))
                        disagree++;
                }
    CHECK(failed == 0);
    CHECK(disagree == 0);
    /* Every three-byte sequence E0..EF xx yy (the bidi and separators
     * live there) with a valid third byte. */
    disagree = 0;
    for (int a = 0xe0; a <= 0xef; a++)
        for (int b = 0x80; b <= 0xbf; b++)
            for (int c = 0x80; c <= 0xbf; c++) {
                in[0] = (char)a;
                in[1] = (char)b;
                in[2] = (char)c;
                if ((unchanged(in, 3, 0) == 1) != mail_term_is_safe(in, 3, 0))
                    disagree++;
            }
    CHECK(disagree == 0);
}

/* ---- the one UTF-8 decoder and encoder ---- */

#define DEC(in, want_len, want_cp) do { \
        uint32_t cp_ = 0xdeadbeef; \
        size_t n_ = mail_utf8_decode(in, sizeof(in) - 1, &cp_); \
        CHECK(n_ == (want_len)); \
        if ((want_len) > 0) \
            CHECK(cp_ == (want_cp)); \
    } while (0)
#define CHK(in, want_r, want_used) do { \
        size_t used_ = 99; \
        int r_ = mail_utf8_check(in, sizeof(in) - 1, NULL, &used_); \
        CHECK(r_ == (want_r) && used_ == (want_used)); \
    } while (0)

static void test_utf8_decode_edges(void)
{
    /* The smallest and largest of each length. */
    DEC("\x00", 1, 0);
    DEC("\x7f", 1, 0x7f);
    DEC("\xc2\x80", 2, 0x80);
    DEC("\xdf\xbf", 2, 0x7ff);
    DEC("\xe0\xa0\x80", 3, 0x800);
    DEC("\xef\xbf\xbf", 3, 0xffff);
    DEC("\xf0\x90\x80\x80", 4, 0x10000);
    DEC("\xf4\x8f\xbf\xbf", 4, 0x10ffff);
    /* Overlongs. */
    DEC("\xc0\x80", 0, 0);
    DEC("\xc1\xbf", 0, 0);
    DEC("\xe0\x80\x80", 0, 0);
    DEC("\xe0\x9f\xbf", 0, 0);
    DEC("\xf0\x80\x80\x80", 0, 0);
    DEC("\xf0\x8f\xbf\xbf", 0, 0);
    /* Surrogates, and their neighbours. */
    DEC("\xed\x9f\xbf", 3, 0xd7ff);
    DEC("\xed\xa0\x80", 0, 0);
    DEC("\xed\xbf\xbf", 0, 0);
    DEC("\xee\x80\x80", 3, 0xe000);
    /* Past U+10FFFF. */
    DEC("\xf4\x90\x80\x80", 0, 0);
    DEC("\xf5\x80\x80\x80", 0, 0);
    DEC("\xff", 0, 0);
    /* Truncated, and a stray continuation byte. */
    DEC("\xe2\x82", 0, 0);
    DEC("\xf0\x9f\x98", 0, 0);
    DEC("\x80", 0, 0);

    /* What a stream or a converter needs to know besides. */
    CHK("\xe2\x82", MAIL_UTF8_INCOMPLETE, 2);
    CHK("\xf0", MAIL_UTF8_INCOMPLETE, 1);
    CHK("\xe2\x82\x41", MAIL_UTF8_INVALID, 2);  /* one U+FFFD, then A */
    CHK("\xe0\x80\x80", MAIL_UTF8_INVALID, 1);
    CHK("\xed\xa0\x80", MAIL_UTF8_INVALID, 1);
    CHK("\xf4\x90\x80\x80", MAIL_UTF8_INVALID, 1);
    CHK("\xf0\x9f\x98\x41", MAIL_UTF8_INVALID, 3);
    CHK("\x80", MAIL_UTF8_INVALID, 1);
    CHK("\xc0\x80", MAIL_UTF8_INVALID, 1);
    CHK("\xe2\x82\xac", MAIL_UTF8_VALID, 3);
    CHK("a\x80", MAIL_UTF8_VALID, 1);
}

static void test_utf8_encode(void)
{
    char u[4];
    uint32_t cp, got;
    size_t bad = 0;

    CHECK(mail_utf8_encode(0, u) == 1 && u[0] == 0);
    CHECK(mail_utf8_encode(0x80, u) == 2 && memcmp(u, "\xc2\x80", 2) == 0);
    CHECK(mail_utf8_encode(0x7ff, u) == 2 && memcmp(u, "\xdf\xbf", 2) == 0);
    CHECK(mail_utf8_encode(0x800, u) == 3 &&
          memcmp(u, "\xe0\xa0\x80", 3) == 0);
    CHECK(mail_utf8_encode(0x20ac, u) == 3 &&
          memcmp(u, "\xe2\x82\xac", 3) == 0);
    CHECK(mail_utf8_encode(0xffff, u) == 3 &&
          memcmp(u, "\xef\xbf\xbf", 3) == 0);
    CHECK(mail_utf8_encode(0x10000, u) == 4 &&
          memcmp(u, "\xf0\x90\x80\x80", 4) == 0);
    CHECK(mail_utf8_encode(0x10ffff, u) == 4 &&
          memcmp(u, "\xf4\x8f\xbf\xbf", 4) == 0);
    CHECK(mail_utf8_encode(0x110000, u) == 0);
    CHECK(mail_utf8_encode(0xffffffff, u) == 0);
    CHECK(mail_utf8_encode(0xd800, u) == 0);
    CHECK(mail_utf8_encode(0xdbff, u) == 0);
    CHECK(mail_utf8_encode(0xdc00, u) == 0);
    CHECK(mail_utf8_encode(0xdfff, u) == 0);
    /* Every code point: the decoder reads back what the encoder wrote. */
    for (cp = 0; cp <= 0x10ffff; cp++) {
        size_t n = mail_utf8_encode(cp, u);

        if (cp >= 0xd800 && cp <= 0xdfff) {
            bad += n != 0;
            continue;
        }
        got = 0xffffffff;
        if (n == 0 || mail_utf8_decode(u, n, &got) != n || got != cp ||
            (n > 1 && mail_utf8_decode(u, n - 1, &got) != 0))
            bad++;
    }
    CHECK(bad == 0);
}

/* Every 1-, 2- and 3-byte string the decoder accepts is the encoding of
 * its code point: no overlong, no surrogate gets through. */
static void test_utf8_decode_exhaustive(void)
{
    static const unsigned char third[] = {
        0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff,
    };
    unsigned char s[3];
    char u[4];
    size_t bad = 0, valid = 0;

    for (unsigned a = 0; a < 256; a++)
        for (unsigned b = 0; b < 256; b++)
            for (size_t k = 0; k < sizeof third; k++) {
                uint32_t cp;
                size_t n;

                s[0] = (unsigned char)a;
                s[1] = (unsigned char)b;
                s[2] = third[k];
                n = mail_utf8_decode((const char *)s, 3, &cp);
                if (n == 0)
                    continue;
                valid++;
                if (mail_utf8_encode(cp, u) != n || memcmp(u, s, n) != 0)
                    bad++;
            }
    CHECK(bad == 0 && valid > 0);
}

static void test_utf8_incomplete(void)
{
    CHECK(mail_utf8_incomplete("", 0) == 0);
    CHECK(mail_utf8_incomplete("abc", 3) == 0);
    CHECK(mail_utf8_incomplete("abc\xe2", 4) == 1);
    CHECK(mail_utf8_incomplete("abc\xe2\x82", 5) == 2);
    CHECK(mail_utf8_incomplete("abc\xe2\x82\xac", 6) == 0);
    CHECK(mail_utf8_incomplete("\xf0\x9f\x98", 3) == 3);
    CHECK(mail_utf8_incomplete("x\xf0\x9f\x98\x80", 5) == 0);
    CHECK(mail_utf8_incomplete("a\x80", 2) == 0);
    CHECK(mail_utf8_incomplete("a\x80\x80\x80", 4) == 0);
    /* Never the start of anything valid: nothing to wait for. */
    CHECK(mail_utf8_incomplete("a\xc0", 2) == 0);
    CHECK(mail_utf8_incomplete("a\xe0\x80", 3) == 0);
    CHECK(mail_utf8_incomplete("a\xed\xa0", 3) == 0);
    CHECK(mail_utf8_incomplete("a\xf4\x90", 3) == 0);
    CHECK(mail_utf8_incomplete("a\xff", 2) == 0);
}

static int collect(void *ctx, const char *data, size_t len,
                   struct mail_error *err)
{
    return mail_sink_buf(ctx, data, len, err);
}

/* The stream shows a text cut anywhere into two pieces exactly as
 * mail_term_safe shows it whole: valid characters are never split,
 * invalid bytes are escaped the same way. */
static void test_stream_splits(void)
{
    static const char text[] =
        "a\xe2\x82\xac" "b\xf0\x9f\x98\x80" "c\xe2\x82" "d\xc0\x80"
        "e\xed\xa0\x80" "f\xf4\x90\x80\x80" "g\x80\xc3\xa9\xe2\x80\xae";
    const size_t len = sizeof text - 1;
    struct mail_buf whole = MAIL_BUF_INIT, got = MAIL_BUF_INIT;
    size_t bad = 0;

    CHECK(mail_term_safe(&whole, text, len, 0) == 0);
    for (size_t cut = 0; cut <= len; cut++) {
        struct mail_term_stream t;

        mail_buf_reset(&got);
        mail_term_stream_init(&t, collect, &got);
        mail_term_stream_write(&t, text, cut, NULL);
        mail_term_stream_write(&t, text + cut, len - cut, NULL);
        mail_term_stream_flush(&t, NULL);
        mail_term_stream_release(&t);
        if (got.len != whole.len || memcmp(got.data, whole.data, got.len))
            bad++;
    }
    CHECK(bad == 0);
    /* The end of the stream: an incomplete sequence is shown escaped. */
    {
        struct mail_term_stream t;

        mail_buf_reset(&got);
        mail_term_stream_init(&t, collect, &got);
        mail_term_stream_write(&t, "x\xe2\x82", 3, NULL);
        CHECK(got.len == 1);
        mail_term_stream_flush(&t, NULL);
        mail_term_stream_release(&t);
        CHECK_MEM(got.data, got.len, "x\\xE2\\x82", 9);
    }
    mail_buf_release(&whole);
    mail_buf_release(&got);
}

int main(void)
{
    RUN(test_json_plain);
    RUN(test_json_controls);
    RUN(test_json_invalid);
    RUN(test_json_exhaustive);
    RUN(test_term);
    RUN(test_is_safe);
    RUN(test_safe_dup);
    RUN(test_is_safe_exhaustive);
    RUN(test_utf8_decode_edges);
    RUN(test_utf8_encode);
    RUN(test_utf8_decode_exhaustive);
    RUN(test_utf8_incomplete);
    RUN(test_stream_splits);
    return test_done();
}
