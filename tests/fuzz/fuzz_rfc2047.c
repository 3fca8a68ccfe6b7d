/*
 * fuzz_rfc2047.c - libFuzzer target for RFC 2047 encoded words both ways,
 * the charset converter, and the base64 and quoted-printable codecs.
 *
 * Decoding must give valid UTF-8 on one line; encoding then decoding must
 * give back the (UTF-8-sanitized) input; the transfer encoders must round
 * trip through the decoders.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/charset.h"
#include "mail/codec.h"
#include "mail/rfc2047.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const charsets[] = {
    "utf-8", "us-ascii", "iso-8859-1", "windows-1251", "shift_jis",
    "iso-2022-jp", "gb2312", "big5", "ks_c_5601-1987", "utf-16", "utf-7",
    "x-unknown", "koi8-r", "euc-jp", "gb18030", "iso-8859-15",
};

static void check_codec(enum mail_cte cte, int flags, const char *s,
                        size_t len)
{
    struct mail_buf enc = MAIL_BUF_INIT, dec = MAIL_BUF_INIT;
    struct mail_buf want = MAIL_BUF_INIT;
    size_t i;

    if (mail_encode(&enc, cte, flags, s, len) < 0 ||
        mail_decode(&dec, cte, enc.data ? enc.data : "", enc.len) < 0)
        abort();
    /* Non-binary QP turns CRLF into LF. */
    for (i = 0; i < len; i++) {
        if (cte == MAIL_CTE_QP && !(flags & MAIL_ENC_QP_BINARY) &&
            s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
            continue;
        mail_buf_addch(&want, s[i]);
    }
    if (dec.len != want.len ||
        (dec.len && memcmp(dec.data, want.data, dec.len) != 0))
        abort();
    /* Lines are at most 76 characters. */
    for (i = 0; i < enc.len;) {
        const char *nl = memchr(enc.data + i, '\n', enc.len - i);
        size_t n = nl ? (size_t)(nl - enc.data) - i : enc.len - i;

        if (n > 76)
            abort();
        i += n + 1;
    }
    mail_buf_release(&enc);
    mail_buf_release(&dec);
    mail_buf_release(&want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct mail_buf out = MAIL_BUF_INIT, enc = MAIL_BUF_INIT;
    struct mail_buf back = MAIL_BUF_INIT, clean = MAIL_BUF_INIT;

    if (mail_rfc2047_decode(&out, s, size) < 0)
        abort();
    if (!mail_utf8_valid(out.data ? out.data : "", out.len))
        abort();
    mail_buf_reset(&out);

    /* Encode, decode: the same text back (when it is one line). */
    if (!memchr(s, '\0', size) && !memchr(s, '\r', size) &&
        !memchr(s, '\n', size)) {
        int ctx;

        if (mail_utf8_sanitize(&clean, s, size) < 0)
            abort();
        for (ctx = 0; ctx < 2; ctx++) {
            mail_buf_reset(&enc);
            mail_buf_reset(&back);
            if (mail_rfc2047_encode(&enc, clean.data, clean.len,
                                    ctx ? MAIL_RFC2047_PHRASE
                                        : MAIL_RFC2047_TEXT) < 0 ||
                mail_rfc2047_decode(&back, enc.data ? enc.data : "",
                                    enc.len) < 0)
                abort();
            if (back.len != clean.len ||
                (back.len && memcmp(back.data, clean.data, back.len) != 0))
                abort();
        }
    }

    /* Charset conversion always yields UTF-8. */
    if (size > 0) {
        const char *cs = charsets[data[0] % (sizeof charsets /
                                             sizeof charsets[0])];

        if (mail_charset_to_utf8(&out, cs, s + 1, size - 1) < 0)
            abort();
        if (!mail_utf8_valid(out.data ? out.data : "", out.len))
            abort();
    }

    check_codec(MAIL_CTE_BASE64, 0, s, size);
    check_codec(MAIL_CTE_QP, 0, s, size);
    check_codec(MAIL_CTE_QP, MAIL_ENC_QP_BINARY | MAIL_ENC_QP_SAFE, s, size);
    /* The lenient decoders take anything. */
    mail_buf_reset(&out);
    mail_decode(&out, MAIL_CTE_QP, s, size);
    mail_buf_reset(&out);
    mail_decode(&out, MAIL_CTE_BASE64, s, size);
    mail_buf_release(&out);
    mail_buf_release(&enc);
    mail_buf_release(&back);
    mail_buf_release(&clean);
    return 0;
}
