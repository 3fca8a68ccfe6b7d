/*
 * base64.c - base64 (RFC 4648): the one table of digits for every
 * alphabet the library reads (see mail/base64.h), the one decoder of
 * whole quanta, and the strict encoder and decoder for SASL.
 *
 * The strict decoder is deliberately strict: no whitespace, length a
 * multiple of four, '=' only as the last one or two characters.  MIME
 * bodies, which are line-wrapped and often sloppy, go through the
 * streaming decoder of codec.h, which uses the same table and runs.
 */
#include <stdint.h>

#include "mail/base64.h"
#include "mail/buf.h"

/* Each byte's digit value (low 6 bits) and the alphabets it is a digit
 * of (one bit each, 0x100 << enum mail_base64_alphabet); 0: none. */
#define STD 0x100
#define MIME 0x200
#define IMAP 0x400
#define ALL (STD | MIME | IMAP)

static const uint16_t digit[256] = {
    ['A'] = 0 | ALL, ['B'] = 1 | ALL, ['C'] = 2 | ALL, ['D'] = 3 | ALL,
    ['E'] = 4 | ALL, ['F'] = 5 | ALL, ['G'] = 6 | ALL, ['H'] = 7 | ALL,
    ['I'] = 8 | ALL, ['J'] = 9 | ALL, ['K'] = 10 | ALL, ['L'] = 11 | ALL,
    ['M'] = 12 | ALL, ['N'] = 13 | ALL, ['O'] = 14 | ALL, ['P'] = 15 | ALL,
    ['Q'] = 16 | ALL, ['R'] = 17 | ALL, ['S'] = 18 | ALL, ['T'] = 19 | ALL,
    ['U'] = 20 | ALL, ['V'] = 21 | ALL, ['W'] = 22 | ALL, ['X'] = 23 | ALL,
    ['Y'] = 24 | ALL, ['Z'] = 25 | ALL, ['a'] = 26 | ALL, ['b'] = 27 | ALL,
    ['c'] = 28 | ALL, ['d'] = 29 | ALL, ['e'] = 30 | ALL, ['f'] = 31 | ALL,
    ['g'] = 32 | ALL, ['h'] = 33 | ALL, ['i'] = 34 | ALL, ['j'] = 35 | ALL,
    ['k'] = 36 | ALL, ['l'] = 37 | ALL, ['m'] = 38 | ALL, ['n'] = 39 | ALL,
    ['o'] = 40 | ALL, ['p'] = 41 | ALL, ['q'] = 42 | ALL, ['r'] = 43 | ALL,
    ['s'] = 44 | ALL, ['t'] = 45 | ALL, ['u'] = 46 | ALL, ['v'] = 47 | ALL,
    ['w'] = 48 | ALL, ['x'] = 49 | ALL, ['y'] = 50 | ALL, ['z'] = 51 | ALL,
    ['0'] = 52 | ALL, ['1'] = 53 | ALL, ['2'] = 54 | ALL, ['3'] = 55 | ALL,
    ['4'] = 56 | ALL, ['5'] = 57 | ALL, ['6'] = 58 | ALL, ['7'] = 59 | ALL,
    ['8'] = 60 | ALL, ['9'] = 61 | ALL, ['+'] = 62 | ALL,
    ['/'] = 63 | STD | MIME, ['-'] = 62 | MIME, ['_'] = 63 | MIME,
    [','] = 63 | IMAP,
};

static const char chars[][65] = {
    [MAIL_BASE64_STD] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    [MAIL_BASE64_MIME] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    [MAIL_BASE64_IMAP] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,",
};

const char *mail_base64_chars(enum mail_base64_alphabet a)
{
    return chars[a];
}

int mail_base64_digit(enum mail_base64_alphabet a, unsigned char c)
{
    return (digit[c] & (STD << a)) ? digit[c] & 63 : -1;
}

size_t mail_base64_decode_run(enum mail_base64_alphabet a, const char *in,
                              size_t len, unsigned char *out)
{
    const unsigned char *p = (const unsigned char *)in;
    const unsigned mask = (unsigned)STD << a;
    size_t i = 0;

    /* two quanta a step while both are whole, then one */
    for (; i + 8 <= len; i += 8, out += 6) {
        unsigned t0 = digit[p[i]], t1 = digit[p[i + 1]],
                 t2 = digit[p[i + 2]], t3 = digit[p[i + 3]],
                 t4 = digit[p[i + 4]], t5 = digit[p[i + 5]],
                 t6 = digit[p[i + 6]], t7 = digit[p[i + 7]];
        uint32_t v, w;

        if (!(t0 & t1 & t2 & t3 & t4 & t5 & t6 & t7 & mask))
            break;
        v = (t0 & 63) << 18 | (t1 & 63) << 12 | (t2 & 63) << 6 | (t3 & 63);
        w = (t4 & 63) << 18 | (t5 & 63) << 12 | (t6 & 63) << 6 | (t7 & 63);
        out[0] = (unsigned char)(v >> 16);
        out[1] = (unsigned char)(v >> 8);
        out[2] = (unsigned char)v;
        out[3] = (unsigned char)(w >> 16);
        out[4] = (unsigned char)(w >> 8);
        out[5] = (unsigned char)w;
    }
    for (; i + 4 <= len; i += 4, out += 3) {
        unsigned t0 = digit[p[i]], t1 = digit[p[i + 1]],
                 t2 = digit[p[i + 2]], t3 = digit[p[i + 3]];
        uint32_t v;

        if (!(t0 & t1 & t2 & t3 & mask))
            break;
        v = (t0 & 63) << 18 | (t1 & 63) << 12 | (t2 & 63) << 6 | (t3 & 63);
        out[0] = (unsigned char)(v >> 16);
        out[1] = (unsigned char)(v >> 8);
        out[2] = (unsigned char)v;
    }
    return i;
}

int mail_base64_encode(struct mail_buf *out, const void *data, size_t len)
{
    const char *b64_alphabet = chars[MAIL_BASE64_STD];
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
    /* whole quanta at once; the last (padding) and any bad one below */
    i = mail_base64_decode_run(MAIL_BASE64_STD, in, len, o);
    o += i / 4 * 3;
    for (; i < len; i += 4) {
        int v[4], pad = 0;

        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)in[i + k];
            if (c == '=' && i + 4 == len && k >= 2) {
                /* "x=" in the last quantum must be followed by '='. */
                pad++;
                v[k] = 0;
                continue;
            }
            if (pad || (v[k] = mail_base64_digit(MAIL_BASE64_STD, c)) < 0)
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
