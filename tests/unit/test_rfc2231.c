#include <stdlib.h>
#include <string.h>

#include "mail/buf.h"
#include "mail/rfc2231.h"
#include "test.h"

static void test_parse(void)
{
    struct mail_params p = MAIL_PARAMS_INIT;

    CHECK(mail_params_parse(&p, "Text/Plain; Charset=\"UTF-8\"; format=flowed",
                            NULL) == 0);
    CHECK_STR(p.value, "text/plain");
    CHECK(p.n == 2);
    CHECK_STR(mail_params_get(&p, "charset"), "UTF-8");
    CHECK_STR(mail_params_get(&p, "FORMAT"), "flowed");
    CHECK(mail_params_get(&p, "name") == NULL);

    CHECK(mail_params_parse(&p, "multipart/mixed;\n boundary=\"=_a\\\"b;c\"",
                            NULL) == 0);
    CHECK_STR(mail_params_get(&p, "boundary"), "=_a\"b;c");

    /* Comments, glued params, blanks in a token, unterminated quote. */
    CHECK(mail_params_parse(&p, "text/plain (x); charset=us-ascii (Plain "
                            "Text) format=flowed", NULL) == 0);
    CHECK_STR(p.value, "text/plain");
    CHECK_STR(mail_params_get(&p, "charset"), "us-ascii");
    CHECK_STR(mail_params_get(&p, "format"), "flowed");
    CHECK(mail_params_parse(&p, "attachment; filename=My File.pdf", NULL) == 0);
    CHECK_STR(mail_params_get(&p, "filename"), "My File.pdf");
    CHECK(mail_params_parse(&p, "attachment; filename=\"open.txt", NULL) == 0);
    CHECK_STR(mail_params_get(&p, "filename"), "open.txt");
    CHECK(mail_params_parse(&p, ";;; =x; novalue; a=1", NULL) == 0);
    CHECK_STR(p.value, "");
    CHECK(p.n == 1);
    CHECK_STR(mail_params_get(&p, "a"), "1");
    CHECK(mail_params_parse(&p, NULL, NULL) == 0);
    CHECK_STR(p.value, "");
    mail_params_release(&p);
}

static void test_2231(void)
{
    struct mail_params p = MAIL_PARAMS_INIT;

    CHECK(mail_params_parse(&p, "attachment; filename*=utf-8'en'%E2%82%AC%20rates.txt",
                            NULL) == 0);
    CHECK_STR(mail_params_get(&p, "filename"), "\xe2\x82\xac rates.txt");
    CHECK(mail_params_parse(&p, "attachment; filename*0*=utf-8''%E2%82;"
                            " filename*1*=%AC; filename*2=\" x\"", NULL) == 0);
    CHECK_STR(mail_params_get(&p, "filename"), "\xe2\x82\xac x");
    /* Out of order, and with a plain name= as well (2231 wins). */
    CHECK(mail_params_parse(&p, "a; name=plain; name*1=b; name*0=a", NULL) == 0);
    CHECK_STR(mail_params_get(&p, "name"), "ab");
    CHECK(p.n == 1);
    CHECK(mail_params_parse(&p, "a; title*=iso-8859-1''caf%E9", NULL) == 0);
    CHECK_STR(mail_params_get(&p, "title"), "caf\xc3\xa9");
    CHECK(mail_params_parse(&p, "a; t*=%41%4", NULL) == 0);  /* no charset */
    CHECK_STR(mail_params_get(&p, "t"), "A%4");
    CHECK(mail_params_parse(&p, "a; t*=''%00z", NULL) == 0);
    CHECK_STR(mail_params_get(&p, "t"), " z");
    /* RFC 2047 in a plain value, as sent by many mailers. */
    CHECK(mail_params_parse(&p, "a; name=\"=?UTF-8?B?w6lsw6ll?=.bin\"",
                            NULL) == 0);
    CHECK_STR(mail_params_get(&p, "name"), "\xc3\xa9l\xc3\xa9" "e.bin");
    /* Raw 8-bit. */
    CHECK(mail_params_parse(&p, "a; name=\"caf\xe9.txt\"", NULL) == 0);
    CHECK_STR(mail_params_get(&p, "name"), "caf\xc3\xa9.txt");
    mail_params_release(&p);
}

static char *encode(const char *name, const char *value)
{
    struct mail_buf b = MAIL_BUF_INIT;

    if (mail_rfc2231_encode(&b, name, value) < 0)
        return NULL;
    return mail_buf_detach(&b);
}

#define ENC(n, v, want) do { \
        char *got_ = encode(n, v); \
        CHECK_STR(got_, want); \
        free(got_); \
    } while (0)

static void test_encode(void)
{
    struct mail_params p = MAIL_PARAMS_INIT;
    char *e;
    static const char long_utf8[] =
        "\xc3\xa9t\xc3\xa9 \xe2\x82\xac rapport annuel tr\xc3\xa8s long "
        "avec beaucoup de mots \xc3\xa0 encoder.pdf";

    ENC("filename", "a.txt", "; filename=a.txt");
    ENC("filename", "my file.txt", "; filename=\"my file.txt\"");
    ENC("filename", "a\"b\\c", "; filename=\"a\\\"b\\\\c\"");
    ENC("filename", "", "; filename=\"\"");
    ENC("filename", "caf\xc3\xa9.txt", "; filename*=UTF-8''caf%C3%A9.txt");
    ENC("filename", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "; filename*0=\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""
        "; filename*1=\"aaaaaaaaaaaaaaaaaaaa\"");
    /* Long non-ASCII: sections, decodes back exactly. */
    e = encode("filename", long_utf8);
    CHECK(e && strstr(e, "filename*0*=UTF-8''") && strstr(e, "filename*1*="));
    mail_buf_release(&(struct mail_buf){ NULL, 0, 0, 0 });
    {
        struct mail_buf full = MAIL_BUF_INIT;

        mail_buf_addstr(&full, "attachment");
        mail_buf_addstr(&full, e);
        CHECK(mail_params_parse(&p, full.data, NULL) == 0);
        CHECK_STR(mail_params_get(&p, "filename"), long_utf8);
        mail_buf_release(&full);
    }
    free(e);
    mail_params_release(&p);
}

int main(void)
{
    RUN(test_parse);
    RUN(test_2231);
    RUN(test_encode);
    return test_done();
}
