/*
 * utf7.c - modified UTF-7 (RFC 3501 5.1.3); see mail/utf7.h.
 */
#include <stdint.h>

#include "mail/base64.h"
#include "mail/termsafe.h"
#include "mail/utf7.h"

/* modified base64: the shared table, alphabet "+," (mail/base64.h) */
static int b64val(unsigned char c)
{
    return mail_base64_digit(MAIL_BASE64_IMAP, c);
}

static int put_utf8(struct mail_buf *out, uint32_t cp)
{
    char u[4];
    size_t n = mail_utf8_encode(cp, u);

    return n ? mail_buf_add(out, u, n) : -1;
}

int mail_mutf7_decode(struct mail_buf *out, const char *in, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned char c = (unsigned char)in[i++];
        uint32_t bits = 0, hi = 0;
        int nbits = 0;
        size_t units = 0;

        if (c < 0x20 || c > 0x7e)
            return -1;
        if (c != '&') {
            if (mail_buf_addch(out, (char)c) < 0)
                return -1;
            continue;
        }
        if (i < len && in[i] == '-') {
            i++;
            if (mail_buf_addch(out, '&') < 0)
                return -1;
            continue;
        }
        for (;;) {
            int v;

            if (i >= len)
                return -1;          /* unterminated shift */
            c = (unsigned char)in[i++];
            if (c == '-')
                break;
            v = b64val(c);
            if (v < 0)
                return -1;
            bits = (bits << 6) | (uint32_t)v;
            nbits += 6;
            if (nbits >= 16) {
                uint32_t u = (bits >> (nbits - 16)) & 0xffff;

                nbits -= 16;
                bits &= (1u << nbits) - 1;
                units++;
                if (hi) {
                    if (u < 0xdc00 || u > 0xdfff)
                        return -1;
                    if (put_utf8(out, 0x10000 + ((hi - 0xd800) << 10) +
                                          (u - 0xdc00)) < 0)
                        return -1;
                    hi = 0;
                } else if (u >= 0xd800 && u <= 0xdbff) {
                    hi = u;
                } else if (u >= 0xdc00 && u <= 0xdfff) {
                    return -1;
                } else if (u >= 0x20 && u <= 0x7e) {
                    return -1;      /* must have been sent directly */
                } else if (put_utf8(out, u) < 0) {
                    return -1;
                }
            }
        }
        if (units == 0 || hi || nbits >= 6 || bits != 0)
            return -1;
    }
    return 0;
}

/* Next code point of UTF-8 at in[*i]; -1 when invalid. */
static int32_t next_cp(const unsigned char *in, size_t len, size_t *i)
{
    uint32_t cp;
    size_t n = mail_utf8_decode((const char *)in + *i, len - *i, &cp);

    if (n == 0)
        return -1;
    *i += n;
    return (int32_t)cp;
}

int mail_mutf7_encode(struct mail_buf *out, const char *in, size_t len)
{
    const char *b64 = mail_base64_chars(MAIL_BASE64_IMAP);
    const unsigned char *s = (const unsigned char *)in;
    size_t i = 0;

    while (i < len) {
        uint32_t bits = 0;
        int nbits = 0;

        if (s[i] >= 0x20 && s[i] <= 0x7e) {
            if (s[i] == '&' ? mail_buf_addstr(out, "&-") < 0
                            : mail_buf_addch(out, (char)s[i]) < 0)
                return -1;
            i++;
            continue;
        }
        if (mail_buf_addch(out, '&') < 0)
            return -1;
        while (i < len && (s[i] < 0x20 || s[i] > 0x7e)) {
            int32_t cp = next_cp(s, len, &i);
            uint32_t u[2];
            int nu = 1;

            if (cp < 0)
                return -1;
            if (cp >= 0x10000) {
                u[0] = 0xd800 + (((uint32_t)cp - 0x10000) >> 10);
                u[1] = 0xdc00 + (((uint32_t)cp - 0x10000) & 0x3ff);
                nu = 2;
            } else {
                u[0] = (uint32_t)cp;
            }
            for (int k = 0; k < nu; k++) {
                bits = (bits << 16) | u[k];
                nbits += 16;
                while (nbits >= 6) {
                    nbits -= 6;
                    if (mail_buf_addch(out, b64[(bits >> nbits) & 0x3f]) < 0)
                        return -1;
                }
                bits &= (1u << nbits) - 1;
            }
        }
        if (nbits > 0 &&
            mail_buf_addch(out, b64[(bits << (6 - nbits)) & 0x3f]) < 0)
            return -1;
        if (mail_buf_addch(out, '-') < 0)
            return -1;
    }
    return 0;
}
