#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/buf.h"
#include "mail/codec.h"
#include "test.h"

/* Decode in one go and one byte at a time; both must give `want`. */
static void check_decode(enum mail_cte cte, const char *in, const char *want,
                         size_t wantlen)
{
    struct mail_buf a = MAIL_BUF_INIT, b = MAIL_BUF_INIT;
    struct mail_decoder d;
    size_t i;

    CHECK(mail_decode(&a, cte, in, strlen(in)) == 0);
    CHECK_MEM(a.data ? a.data : "", a.len, want, wantlen);
    mail_decoder_init(&d, cte, mail_sink_buf, &b);
    for (i = 0; in[i]; i++)
        mail_decoder_push(&d, in + i, 1, NULL);
    CHECK(mail_decoder_finish(&d, NULL) == 0);
    CHECK_MEM(b.data ? b.data : "", b.len, want, wantlen);
    mail_buf_release(&a);
    mail_buf_release(&b);
}

#define DEC(cte, in, want) check_decode(cte, in, want, sizeof(want) - 1)

static void test_base64_decode(void)
{
    DEC(MAIL_CTE_BASE64, "aGVsbG8gd29ybGQ=", "hello world");
    DEC(MAIL_CTE_BASE64, "aGVs\r\nbG8g\n d29y bGQ=\n", "hello world");
    DEC(MAIL_CTE_BASE64, "aGVsbG8gd29ybGQ", "hello world");  /* no pad */
    DEC(MAIL_CTE_BASE64, "aGk", "hi");
    DEC(MAIL_CTE_BASE64, "aG!!V*s\x01" "bG8", "hello");          /* junk */
    DEC(MAIL_CTE_BASE64, "aGk=aGk=", "hihi");                 /* concat */
    DEC(MAIL_CTE_BASE64, "a", "");                            /* 1 char */
    DEC(MAIL_CTE_BASE64, "====", "");
    DEC(MAIL_CTE_BASE64, "AAEC", "\x00\x01\x02");
}

static void test_qp_decode(void)
{
    DEC(MAIL_CTE_QP, "Caf=E9", "Caf\xe9");
    DEC(MAIL_CTE_QP, "caf=e9", "caf\xe9");                    /* lowercase */
    DEC(MAIL_CTE_QP, "soft=\r\nbreak", "softbreak");
    DEC(MAIL_CTE_QP, "soft=\nbreak", "softbreak");
    DEC(MAIL_CTE_QP, "soft=  \r\nbreak", "softbreak");        /* padding */
    DEC(MAIL_CTE_QP, "trail   \r\nx", "trail\r\nx");
    DEC(MAIL_CTE_QP, "trail \t\nx", "trail\nx");
    DEC(MAIL_CTE_QP, "a =ZZ b", "a =ZZ b");                   /* invalid */
    DEC(MAIL_CTE_QP, "a =4 b", "a =4 b");
    DEC(MAIL_CTE_QP, "a = b", "a = b");
    DEC(MAIL_CTE_QP, "end=", "end");
    DEC(MAIL_CTE_QP, "end=4", "end=4");
    DEC(MAIL_CTE_QP, "x\ry", "x\ry");                         /* bare CR */
    DEC(MAIL_CTE_QP, "in  between", "in  between");
    DEC(MAIL_CTE_QP, "=3D=3d", "==");
}

static void test_passthrough(void)
{
    DEC(MAIL_CTE_7BIT, "as =3D is\r\n", "as =3D is\r\n");
    DEC(MAIL_CTE_UNKNOWN, "begin 644 x", "begin 644 x");
    CHECK(mail_cte_from_name(NULL) == MAIL_CTE_7BIT);
    CHECK(mail_cte_from_name(" Base64 ") == MAIL_CTE_BASE64);
    CHECK(mail_cte_from_name("Quoted-Printable (x)") == MAIL_CTE_QP);
    CHECK(mail_cte_from_name("x-uuencode") == MAIL_CTE_UNKNOWN);
    CHECK(mail_cte_from_name("\"8bit\"") == MAIL_CTE_8BIT);
    CHECK_STR(mail_cte_name(MAIL_CTE_QP), "quoted-printable");
}

static void check_encode(enum mail_cte cte, int flags, const char *in,
                         size_t inlen, const char *want)
{
    struct mail_buf a = MAIL_BUF_INIT, b = MAIL_BUF_INIT, back = MAIL_BUF_INIT;
    struct mail_encoder e;
    size_t i;

    CHECK(mail_encode(&a, cte, flags, in, inlen) == 0);
    CHECK_STR(a.data ? a.data : "", want);
    mail_encoder_init(&e, cte, flags, mail_sink_buf, &b);
    for (i = 0; i < inlen; i++)
        mail_encoder_push(&e, in + i, 1, NULL);
    CHECK(mail_encoder_finish(&e, NULL) == 0);
    CHECK_STR(b.data ? b.data : "", want);
    /* And back (for QP only when line ends survive as LF). */
    if (cte == MAIL_CTE_BASE64 || !(flags & MAIL_ENC_CRLF)) {
        CHECK(mail_decode(&back, cte, a.data ? a.data : "", a.len) == 0);
        CHECK_MEM(back.data ? back.data : "", back.len, in, inlen);
    }
    mail_buf_release(&a);
    mail_buf_release(&b);
    mail_buf_release(&back);
}

#define ENC(cte, flags, in, want) \
    check_encode(cte, flags, in, sizeof(in) - 1, want)

static void test_encode(void)
{
    char big[100];
    char want[200];

    check_encode(MAIL_CTE_BASE64, 0, "hello world", 11, "aGVsbG8gd29ybGQ=\n");
    check_encode(MAIL_CTE_BASE64, MAIL_ENC_CRLF, "hi", 2, "aGk=\r\n");
    check_encode(MAIL_CTE_BASE64, 0, "", 0, "");
    memset(big, 'x', 60);
    check_encode(MAIL_CTE_BASE64, 0, big, 60,
                 "eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4"
                 "eHh4eHh4eHh4eHh4eHh4\neHh4\n");
    ENC(MAIL_CTE_QP, 0, "Caf\xc3\xa9 = ok\n",
                 "Caf=C3=A9 =3D ok\n");
    ENC(MAIL_CTE_QP, 0, "trailing \nand tab\t\n",
                 "trailing=20\nand tab=09\n");
    ENC(MAIL_CTE_QP, 0, "no newline", "no newline=\n");
    ENC(MAIL_CTE_QP, 0, "end blank ", "end blank=20=\n");
    ENC(MAIL_CTE_QP, MAIL_ENC_QP_SAFE, ".\nFrom me\nok\n",
                 "=2E\n=46rom me\nok\n");
    ENC(MAIL_CTE_QP, MAIL_ENC_CRLF, "a\r\nb\n", "a\r\nb\r\n");
    ENC(MAIL_CTE_QP, MAIL_ENC_QP_BINARY, "a\r\nb",
                 "a=0D=0Ab=\n");
    /* Soft breaks keep lines at most 76 characters. */
    memset(big, 'a', 80);
    memcpy(want, big, 75);
    memcpy(want + 75, "=\naaaaa=\n", 10);
    check_encode(MAIL_CTE_QP, 0, big, 80, want);
    /* An escape is never split by a soft break. */
    memset(big, 'a', 74);
    big[74] = '=';
    memcpy(want, big, 74);
    memcpy(want + 74, "=\n=3D=\n", 8);
    check_encode(MAIL_CTE_QP, 0, big, 75, want);
}

static void test_long_lines(void)
{
    struct mail_buf out = MAIL_BUF_INIT;
    char *in = malloc(10000);
    size_t i, col = 0, maxcol = 0;

    for (i = 0; i < 10000; i++)
        in[i] = (char)(i * 7);
    CHECK(mail_encode(&out, MAIL_CTE_QP, 0, in, 10000) == 0);
    for (i = 0; i < out.len; i++) {
        if (out.data[i] == '\n') {
            col = 0;
            continue;
        }
        if (++col > maxcol)
            maxcol = col;
    }
    CHECK(maxcol <= 76);
    mail_buf_release(&out);
    free(in);
}

/* A sink that fails as a full disk does, after ctx (a size_t *) bytes. */
static int failing_sink(void *ctx, const char *data, size_t len,
                        struct mail_error *err)
{
    size_t *room = ctx;

    (void)data;
    if (len <= *room) {
        *room -= len;
        return 0;
    }
    return mail_error_set(err, MAIL_ERR_IO,
                          "temporary file: No space left on device");
}

#define ENOSPC_MSG "temporary file: No space left on device"

/* The sink's own error reaches the caller as it is, from push and from
 * finish, for every decoder and encoder. */
static void test_sink_failure(void)
{
    static const enum mail_cte ctes[] = {
        MAIL_CTE_BASE64, MAIL_CTE_QP, MAIL_CTE_8BIT,
    };
    struct mail_error err;
    char big[8000];

    memset(big, 'A', sizeof big);
    for (size_t i = 0; i < sizeof ctes / sizeof ctes[0]; i++) {
        struct mail_decoder d;
        struct mail_encoder e;
        size_t room = 0;

        mail_error_clear(&err);
        mail_decoder_init(&d, ctes[i], failing_sink, &room);
        CHECK(mail_decoder_push(&d, big, sizeof big, &err) == -1);
        CHECK(err.kind == MAIL_ERR_IO);
        CHECK_STR(err.msg, ENOSPC_MSG);

        room = 100;
        mail_error_clear(&err);
        mail_encoder_init(&e, ctes[i], 0, failing_sink, &room);
        CHECK(mail_encoder_push(&e, big, sizeof big, &err) == -1);
        CHECK(err.kind == MAIL_ERR_IO);
        CHECK_STR(err.msg, ENOSPC_MSG);

        /* the failure at the end: everything fits but the last flush
         * (passed-through bytes go to the sink at once) */
        if (ctes[i] == MAIL_CTE_8BIT)
            continue;
        room = 10;
        mail_error_clear(&err);
        mail_decoder_init(&d, ctes[i], failing_sink, &room);
        CHECK(mail_decoder_push(&d, "QUJDREVGR0hJSktM", 16, &err) == 0);
        CHECK(mail_decoder_finish(&d, &err) == -1);
        CHECK_STR(err.msg, ENOSPC_MSG);

        room = 10;
        mail_error_clear(&err);
        mail_encoder_init(&e, ctes[i], 0, failing_sink, &room);
        CHECK(mail_encoder_push(&e, "0123456789ABCDEF", 16, &err) == 0);
        CHECK(mail_encoder_finish(&e, &err) == -1);
        CHECK_STR(err.msg, ENOSPC_MSG);
    }
}

/* A 100 KB binary body, base64 in 76-column lines, pushed in chunks of
 * every size from 1 to 9000 bytes (runs cut at any point, the output
 * buffer filled at any point): always the original bytes.  The same
 * body with the URL-safe "-_" decodes the same. */
static void test_base64_chunks(void)
{
    struct mail_buf enc = MAIL_BUF_INIT, url = MAIL_BUF_INIT;
    unsigned char *raw = malloc(100000);
    size_t i, sizes[] = { 1, 2, 3, 4, 5, 7, 8, 9, 77, 78, 79, 4095, 4096,
                          5461, 5462, 8191, 9000 };
    uint32_t x = 12345;

    CHECK(raw != NULL);
    if (!raw)
        return;
    for (i = 0; i < 100000; i++) {
        x = x * 1103515245u + 12345u;
        raw[i] = (unsigned char)(x >> 16);
    }
    CHECK(mail_encode(&enc, MAIL_CTE_BASE64, 0, (const char *)raw,
                      100000) == 0);
    CHECK(enc.len > 133000 && strchr(enc.data, '\n') != NULL);
    CHECK(mail_buf_add(&url, enc.data, enc.len) == 0);
    for (i = 0; i < url.len; i++)
        url.data[i] = url.data[i] == '+' ? '-' : url.data[i] == '/' ? '_'
                                                               : url.data[i];
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
        for (int u = 0; u < 2; u++) {
            const struct mail_buf *in = u ? &url : &enc;
            struct mail_buf out = MAIL_BUF_INIT;
            struct mail_decoder d;
            int bad = 0;

            mail_decoder_init(&d, MAIL_CTE_BASE64, mail_sink_buf, &out);
            for (i = 0; i < in->len; i += sizes[k])
                bad |= mail_decoder_push(&d, in->data + i,
                                         in->len - i < sizes[k] ? in->len - i
                                                                : sizes[k],
                                         NULL);
            CHECK(bad == 0 && mail_decoder_finish(&d, NULL) == 0);
            CHECK(out.len == 100000 && memcmp(out.data, raw, 100000) == 0);
            mail_buf_release(&out);
        }
    mail_buf_release(&enc);
    mail_buf_release(&url);
    free(raw);
}

int main(void)
{
    RUN(test_base64_decode);
    RUN(test_qp_decode);
    RUN(test_passthrough);
    RUN(test_encode);
    RUN(test_long_lines);
    RUN(test_sink_failure);
    RUN(test_base64_chunks);
    return test_done();
}
