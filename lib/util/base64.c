/*
 * base64.c - strict base64 (RFC 4648, standard alphabet) for SASL.
 *
 * The decoder here is deliberately strict: no whitespace, length a multiple
 * of four, '=' only as the last one or two characters.  MIME bodies, which
 * are line-wrapped and often sloppy, get their own streaming decoder.
 */
#include <stdint.h>

#include "mail/buf.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int mail_base64_encode(struct mail_buf *out, const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t olen, i;
    char *o;

    if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
        return -1;
    olen = (len + 2) / 3 * 4;
    if (mail_buf_reserve(out, olen) < 0)
        return -1;
    o = out->data + out->len;
    for (i = 0; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = b64_alphabet[v >> 18];
        *o++ = b64_alphabet[v >> 12 & 63];
        *o++ = b64_alphabet[v >> 6 & 63];
        *o++ = b64_alphabet[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        *o++ = b64_alphabet[v >> 18];
        *o++ = b64_alphabet[v >> 12 & 63];
        *o++ = i + 1 < len ? b64_alphabet[v >> 6 & 63] : '=';
        *o++ = '=';
    }
    out->len += olen;
    out->data[out->len] = '\0';
    return 0;
}

/* The 6-bit value of c, or -1 for anything outside the alphabet. */
static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int mail_base64_decode(struct mail_buf *out, const char *in, size_t len)
{
    size_t start = out->len, i;
    unsigned char *o;

    if (len % 4)
        return -1;
    /* Reserve before decoding so that a failure can simply rewind. */
    if (mail_buf_reserve(out, len / 4 * 3) < 0)
        return -1;
    o = (unsigned char *)out->data + out->len;
    for (i = 0; i < len; i += 4) {
        int v[4], pad = 0;

        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)in[i + k];
            if (c == '=' && i + 4 == len && k >= 2) {
                /* "x=" in the last quantum must be followed by '='. */
                pad++;
                v[k] = 0;
                continue;
            }
            if (pad || (v[k] = b64_value(c)) < 0)
                goto bad;
        }
        /* Non-zero bits under the padding are tolerated (RFC 4648 3.5
         * makes rejecting them optional); they are simply dropped. */
        *o++ = (unsigned char)(v[0] << 2 | v[1] >> 4);
        if (pad < 2)
            *o++ = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
        if (pad < 1)
            *o++ = (unsigned char)((v[2] & 3) << 6 | v[3]);
    }
    out->len = (size_t)((char *)o - out->data);
    out->data[out->len] = '\0';
    return 0;

bad:
    /* The partial output may be part of a credential: wipe it. */
    mail_wipe(out->data + start, (size_t)((char *)o - out->data) - start);
    out->data[start] = '\0';
    return -1;
}
