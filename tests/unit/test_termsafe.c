/* test_termsafe.c - the one terminal-safe path: mail_term_safe for the
 * terminal and mail_json_escape for --json share one decoder and one set
 * of dangerous code points. */
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

int main(void)
{
    RUN(test_json_plain);
    RUN(test_json_controls);
    RUN(test_json_invalid);
    RUN(test_json_exhaustive);
    RUN(test_term);
    return test_done();
}
