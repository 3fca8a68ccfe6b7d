#include <stdlib.h>
#include <string.h>

#include "mail/buf.h"
#include "mail/rfc2047.h"
#include "test.h"

static char *dec(const char *in)
{
    struct mail_buf b = MAIL_BUF_INIT;

    if (mail_rfc2047_decode(&b, in, strlen(in)) < 0)
        return NULL;
    return mail_buf_detach(&b);
}

#define DEC(in, want) do { \
        char *got_ = dec(in); \
        CHECK_STR(got_, want); \
        free(got_); \
    } while (0)

static void test_decode(void)
{
    DEC("plain text", "plain text");
    DEC("=?utf-8?q?caf=C3=A9?=", "caf\xc3\xa9");
    DEC("=?UTF-8?B?Y2Fmw6k=?=", "caf\xc3\xa9");
    DEC("=?iso-8859-1?Q?Ren=E9_Dupont?=", "Ren\xc3\xa9 Dupont");
    DEC("=?utf-8?q?a?= =?utf-8?q?b?=", "ab");            /* joined */
    DEC("=?utf-8?q?a?=\t \t=?utf-8?q?b?=", "ab");
    DEC("=?utf-8?q?a?= x =?utf-8?q?b?=", "a x b");        /* kept */
    DEC("Re: =?utf-8?q?x?= tail", "Re: x tail");
    /* A character split across words, B and Q. */
    DEC("=?UTF-8?B?w6k=?= =?UTF-8?B?4oI=?= =?UTF-8?B?rA==?=",
        "\xc3\xa9\xe2\x82\xac");
    DEC("=?UTF-8?Q?cr=C3?= =?UTF-8?Q?=A8me?=", "cr\xc3\xa8me");
    DEC("=?utf-8?q?=C3?= =?iso-8859-1?q?=E9?=", "\xef\xbf\xbd\xc3\xa9");
    DEC("=?UTF-8*en?Q?hello?=", "hello");                 /* RFC 2231 */
    DEC("\"=?utf-8?q?Quoted_=C3=A9?=\"", "\"Quoted \xc3\xa9\"");
    DEC("glued=?utf-8?q?_word?=", "glued word");
    DEC("=?utf-8?q?sp ace?=", "sp ace");                  /* blank inside */
    /* Malformed: left alone. */
    DEC("=?utf-8?x?abc?=", "=?utf-8?x?abc?=");
    DEC("=?utf-8?q?no end", "=?utf-8?q?no end");
    DEC("=?" "?q?x?=", "=?" "?q?x?=");
    DEC("=?utf-8?q", "=?utf-8?q");
    DEC("a =? b ?= c", "a =? b ?= c");
    DEC("=?utf-8?q?" "?=", "");
    DEC("=?utf-8?q?bad=ZZ?=", "bad=ZZ");
    DEC("=?x-unknown?q?caf=E9?=", "caf\xc3\xa9");
    DEC("=?utf-8?q?line=0Abreak=00x?=", "line break x");  /* one line */
    /* Raw 8-bit outside encoded words. */
    DEC("Gr\xc3\xbc\xc3\x9f" "e", "Gr\xc3\xbc\xc3\x9f" "e");
    DEC("Fran\xe7ois =?utf-8?q?x?=", "Fran\xc3\xa7ois x");
}

static char *enc(const char *in, enum mail_rfc2047_context ctx)
{
    struct mail_buf b = MAIL_BUF_INIT;

    if (mail_rfc2047_encode(&b, in, strlen(in), ctx) < 0)
        return NULL;
    return mail_buf_detach(&b);
}

#define ENC(in, ctx, want) do { \
        char *got_ = enc(in, ctx); \
        CHECK_STR(got_, want); \
        free(got_); \
    } while (0)

static void test_encode(void)
{
    ENC("Hello world", MAIL_RFC2047_TEXT, "Hello world");
    ENC("Caf\xc3\xa9 au lait", MAIL_RFC2047_TEXT,
        "=?UTF-8?Q?Caf=C3=A9?= au lait");
    ENC("un caf\xc3\xa9 cr\xc3\xa8me ok", MAIL_RFC2047_TEXT,
        "un =?UTF-8?Q?caf=C3=A9_cr=C3=A8me?= ok");
    ENC("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" "", MAIL_RFC2047_TEXT,
        "=?UTF-8?B?5pel5pys6Kqe?=");
    ENC("looks =?like?= one", MAIL_RFC2047_TEXT,
        "looks =?UTF-8?Q?=3D=3Flike=3F=3D?= one");
    ENC("Ren\xc3\xa9 \"R\" Dupont", MAIL_RFC2047_PHRASE,
        "=?UTF-8?Q?Ren=C3=A9_=22R=22_Dupont?=");
    ENC("Jos\xc3\xa9, Mar\xc3\xad" "a", MAIL_RFC2047_PHRASE,
        "=?UTF-8?Q?Jos=C3=A9=2C_Mar=C3=ADa?=");
}

/* Long text: every word at most 75 characters, never a split character,
 * and it decodes back. */
static void test_encode_long(void)
{
    struct mail_buf in = MAIL_BUF_INIT, out = MAIL_BUF_INIT;
    char *back;
    size_t i, wl = 0;
    int ok = 1;

    for (i = 0; i < 40; i++)
        mail_buf_addstr(&in, "\xe2\x82\xac\xc3\xa9x");
    CHECK(mail_rfc2047_encode(&out, in.data, in.len, MAIL_RFC2047_TEXT) == 0);
    for (i = 0; i <= out.len; i++) {
        if (i == out.len || out.data[i] == ' ') {
            if (wl > 75)
                ok = 0;
            wl = 0;
        } else {
            wl++;
        }
    }
    CHECK(ok);
    back = dec(out.data);
    CHECK_STR(back, in.data);
    free(back);
    mail_buf_release(&in);
    mail_buf_release(&out);
}

int main(void)
{
    RUN(test_decode);
    RUN(test_encode);
    RUN(test_encode_long);
    return test_done();
}
