#include <stdlib.h>
#include <string.h>

#include "mail/base64.h"
#include "mail/buf.h"
#include "test.h"

/* RFC 4648 section 10 test vectors, both ways. */
static void test_rfc4648_vectors(void)
{
    static const char *const v[][2] = {
        { "", "" },          { "f", "Zg==" },         { "fo", "Zm8=" },
        { "foo", "Zm9v" },   { "foob", "Zm9vYg==" },  { "fooba", "Zm9vYmE=" },
        { "foobar", "Zm9vYmFy" },
    };

    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        struct mail_buf b = MAIL_BUF_INIT;

        CHECK(mail_base64_encode(&b, v[i][0], strlen(v[i][0])) == 0);
        CHECK_STR(b.data ? b.data : "", v[i][1]);
        mail_buf_reset(&b);
        CHECK(mail_base64_decode(&b, v[i][1], strlen(v[i][1])) == 0);
        CHECK_STR(b.data, v[i][0]);
        mail_buf_release(&b);
    }
}

/* Binary data with every byte value round-trips; output is appended. */
static void test_binary_roundtrip(void)
{
    struct mail_buf enc = MAIL_BUF_INIT, dec = MAIL_BUF_INIT;
    unsigned char all[256];

    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    CHECK(mail_base64_encode(&enc, all, sizeof all) == 0);
    CHECK(enc.len == (sizeof all + 2) / 3 * 4);
    CHECK(mail_buf_addstr(&dec, "xy") == 0);
    CHECK(mail_base64_decode(&dec, enc.data, enc.len) == 0);
    CHECK(dec.len == 2 + sizeof all);
    CHECK(memcmp(dec.data, "xy", 2) == 0);
    CHECK(memcmp(dec.data + 2, all, sizeof all) == 0);
    mail_buf_release(&enc);
    mail_buf_release(&dec);
}

/* Garbage, whitespace and misplaced padding are rejected, and the output
 * buffer is left as it was. */
static void test_rejects(void)
{
    static const char *const bad[] = {
        "Zg=", "Zg", "Z", "Zm9", "Zg===", "=Zg=", "Z===", "====",
        "Zm9v=", "Zg==Zg==", "Zm=v", "Zm9v\n", "Zm 9v", "Zm9v YmFy",
        "Zm9-", "Zm9_", "Zm9*", "Zg=A",
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct mail_buf b = MAIL_BUF_INIT;

        mail_buf_addstr(&b, "keep");
        CHECK(mail_base64_decode(&b, bad[i], strlen(bad[i])) == -1);
        if (b.len != 4)
            printf("# bad input %zu was accepted\n", i);
        CHECK_STR(b.data, "keep");
        mail_buf_release(&b);
    }
    {
        /* An embedded NUL is garbage too. */
        struct mail_buf b = MAIL_BUF_INIT;

        CHECK(mail_base64_decode(&b, "Zm\0v", 4) == -1);
        CHECK(b.len == 0);
        mail_buf_release(&b);
    }
}

/* The decode fails cleanly when the buffer's cap is too small. */
static void test_cap(void)
{
    struct mail_buf b;

    mail_buf_init(&b, 4);
    CHECK(mail_base64_decode(&b, "Zm9vYmFy", 8) == -1);
    CHECK(b.len == 0);
    CHECK(mail_base64_encode(&b, "foobar", 6) == -1);
    CHECK(mail_base64_encode(&b, "foo", 3) == 0);
    CHECK_STR(b.data, "Zm9v");
    mail_buf_release(&b);
}

/* The one table (mail/base64.h): the three alphabets share the 62
 * letters and digits and differ in the last two; the run decoder takes
 * whole quanta of its alphabet and stops before anything else. */
static void test_shared_table(void)
{
    static const char *abc =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char out[16];

    for (int i = 0; i < 62; i++)
        for (int a = MAIL_BASE64_STD; a <= MAIL_BASE64_IMAP; a++) {
            CHECK(mail_base64_digit((enum mail_base64_alphabet)a,
                                    (unsigned char)abc[i]) == i);
            CHECK(mail_base64_chars((enum mail_base64_alphabet)a)[i] ==
                  abc[i]);
        }
    CHECK_STR(mail_base64_chars(MAIL_BASE64_STD) + 62, "+/");
    CHECK_STR(mail_base64_chars(MAIL_BASE64_MIME) + 62, "+/");
    CHECK_STR(mail_base64_chars(MAIL_BASE64_IMAP) + 62, "+,");
    CHECK(mail_base64_digit(MAIL_BASE64_STD, '/') == 63);
    CHECK(mail_base64_digit(MAIL_BASE64_STD, '-') == -1);
    CHECK(mail_base64_digit(MAIL_BASE64_STD, ',') == -1);
    CHECK(mail_base64_digit(MAIL_BASE64_MIME, '-') == 62);
    CHECK(mail_base64_digit(MAIL_BASE64_MIME, '_') == 63);
    CHECK(mail_base64_digit(MAIL_BASE64_MIME, ',') == -1);
    CHECK(mail_base64_digit(MAIL_BASE64_IMAP, ',') == 63);
    CHECK(mail_base64_digit(MAIL_BASE64_IMAP, '+') == 62);
    CHECK(mail_base64_digit(MAIL_BASE64_IMAP, '/') == -1);
    for (int c = 0; c < 256; c++)
        if (!strchr(abc, c) && !strchr("+/-_,", c) && c)
            CHECK(mail_base64_digit(MAIL_BASE64_MIME, (unsigned char)c) == -1);
    CHECK(mail_base64_decode_run(MAIL_BASE64_STD, "aGVsbG8gd29y", 12, out)
          == 12);
    CHECK_MEM((char *)out, 9, "hello wor", 9);
    /* stops before a quantum with padding, a line end or another
     * alphabet's character */
    CHECK(mail_base64_decode_run(MAIL_BASE64_STD, "aGVsbG8=", 8, out) == 4);
    CHECK(mail_base64_decode_run(MAIL_BASE64_STD, "aGVsbG8gd2\r\n", 12,
                                 out) == 8);
    CHECK(mail_base64_decode_run(MAIL_BASE64_STD, "aGVs-_-_", 8, out) == 4);
    CHECK(mail_base64_decode_run(MAIL_BASE64_MIME, "aGVs-_-_", 8, out) == 8);
    CHECK(mail_base64_decode_run(MAIL_BASE64_IMAP, "AOkA6Q,,", 8, out) == 8);
    CHECK(mail_base64_decode_run(MAIL_BASE64_STD, "aGV", 3, out) == 0);
}

int main(void)
{
    RUN(test_rfc4648_vectors);
    RUN(test_binary_roundtrip);
    RUN(test_rejects);
    RUN(test_cap);
    RUN(test_shared_table);
    return test_done();
}
