/*
 * codec.c - streaming base64 and quoted-printable, both ways.
 *
 * Each filter is a small state machine fed one byte at a time (with a fast
 * path for runs that need no work), writing into a fixed output buffer
 * that is handed to the sink when full and at finish.
 */
#include <string.h>

#include "mail/buf.h"
#include "mail/codec.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static const char hexdig[] = "0123456789ABCDEF";

/* 0..63 for the base64 alphabet (also the URL-safe "-_" seen in the wild),
 * -1 otherwise. */
/* b64_value() as a table, for the decoder's fast path. */
static const signed char b64_table[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, 62, -1, 63,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
    -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, 63,
    -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

enum mail_cte mail_cte_from_name(const char *value)
{
    static const struct {
        const char *name;
        enum mail_cte cte;
    } names[] = {
        { "7bit", MAIL_CTE_7BIT },
        { "8bit", MAIL_CTE_8BIT },
        { "binary", MAIL_CTE_BINARY },
        { "quoted-printable", MAIL_CTE_QP },
        { "base64", MAIL_CTE_BASE64 },
    };
    char word[32];
    size_t n = 0, i;

    if (!value)
        return MAIL_CTE_7BIT;
    while (*value == ' ' || *value == '\t' || *value == '"')
        value++;
    while (value[n] && value[n] != ' ' && value[n] != '\t' &&
           value[n] != '(' && value[n] != ';' && value[n] != '"') {
        if (n + 1 >= sizeof word)
            return MAIL_CTE_UNKNOWN;
        word[n] = value[n];
        n++;
    }
    word[n] = '\0';
    if (n == 0)
        return MAIL_CTE_7BIT;
    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        if (mail_strcasecmp(word, names[i].name) == 0)
            return names[i].cte;
    return MAIL_CTE_UNKNOWN;
}

const char *mail_cte_name(enum mail_cte cte)
{
    switch (cte) {
    case MAIL_CTE_7BIT:
        return "7bit";
    case MAIL_CTE_8BIT:
        return "8bit";
    case MAIL_CTE_BINARY:
        return "binary";
    case MAIL_CTE_QP:
        return "quoted-printable";
    case MAIL_CTE_BASE64:
        return "base64";
    case MAIL_CTE_UNKNOWN:
    default:
        return "unknown";
    }
}

/* --- decoders ----------------------------------------------------------- */

enum {
    QP_TEXT,      /* in text; d->ws holds pending blanks */
    QP_CR,        /* a CR, maybe the start of CRLF */
    QP_EQ,        /* after '=' */
    QP_EQ1,       /* after '=' and one hex digit (kept in ws[0]) */
    QP_EQWS,      /* after '=' and blanks (kept in ws, for the fallback) */
    QP_EQCR,      /* after '=' [blanks] CR */
};

static int dec_flush(struct mail_decoder *d)
{
    if (d->outlen && !d->failed && d->sink(d->ctx, d->out, d->outlen) < 0)
        d->failed = 1;
    d->outlen = 0;
    return d->failed ? -1 : 0;
}

static void dec_put(struct mail_decoder *d, char c)
{
    if (d->outlen == sizeof d->out)
        dec_flush(d);
    d->out[d->outlen++] = c;
}

static void dec_put_ws(struct mail_decoder *d)
{
    size_t i;

    for (i = 0; i < d->nws; i++)
        dec_put(d, d->ws[i]);
    d->nws = 0;
}

void mail_decoder_init(struct mail_decoder *d, enum mail_cte cte,
                       mail_sink_fn sink, void *ctx)
{
    d->cte = cte;
    d->sink = sink;
    d->ctx = ctx;
    d->failed = 0;
    d->state = QP_TEXT;
    d->acc = 0;
    d->nacc = 0;
    d->nws = 0;
    d->outlen = 0;
}

static void qp_byte(struct mail_decoder *d, unsigned char c)
{
    int h;

    for (;;) {
        switch (d->state) {
        case QP_TEXT:
            if (c == ' ' || c == '\t') {
                if (d->nws == sizeof d->ws)
                    dec_put_ws(d);
                d->ws[d->nws++] = (char)c;
            } else if (c == '\r') {
                d->state = QP_CR;
            } else if (c == '\n') {
                d->nws = 0;    /* trailing blanks are transport padding */
                dec_put(d, '\n');
            } else {
                dec_put_ws(d);
                if (c == '=')
                    d->state = QP_EQ;
                else
                    dec_put(d, (char)c);
            }
            return;
        case QP_CR:
            d->state = QP_TEXT;
            if (c == '\n') {
                d->nws = 0;
                dec_put(d, '\r');
                dec_put(d, '\n');
                return;
            }
            dec_put_ws(d);      /* a bare CR is data */
            dec_put(d, '\r');
            continue;
        case QP_EQ:
            if (hex_value(c) >= 0) {
                d->ws[0] = (char)c;
                d->state = QP_EQ1;
            } else if (c == ' ' || c == '\t') {
                d->nws = 0;
                d->ws[d->nws++] = (char)c;
                d->state = QP_EQWS;
            } else if (c == '\r') {
                d->state = QP_EQCR;
            } else if (c == '\n') {
                d->state = QP_TEXT;     /* soft line break */
            } else {
                dec_put(d, '=');        /* invalid escape: kept */
                d->state = QP_TEXT;
                continue;
            }
            return;
        case QP_EQ1:
            d->state = QP_TEXT;
            h = hex_value(c);
            if (h >= 0) {
                dec_put(d, (char)(hex_value((unsigned char)d->ws[0]) * 16 +
                                  h));
                return;
            }
            dec_put(d, '=');
            dec_put(d, d->ws[0]);
            continue;
        case QP_EQWS:
            if (c == ' ' || c == '\t') {
                if (d->nws < sizeof d->ws) {
                    d->ws[d->nws++] = (char)c;
                    return;
                }
            } else if (c == '\r') {
                d->nws = 0;
                d->state = QP_EQCR;
                return;
            } else if (c == '\n') {
                d->nws = 0;
                d->state = QP_TEXT;     /* soft break with padding */
                return;
            }
            /* "= x": not an escape, keep it all as text. */
            dec_put(d, '=');
            dec_put_ws(d);
            d->state = QP_TEXT;
            continue;
        case QP_EQCR:
        default:
            d->state = QP_TEXT;
            if (c == '\n')
                return;
            continue;           /* "=\r" then data: still a soft break */
        }
    }
}

static void b64_byte(struct mail_decoder *d, unsigned char c)
{
    int v = b64_value(c);

    if (v < 0) {
        if (c == '=') {
            /* Padding ends the quantum; what follows starts afresh
             * (concatenated base64 blocks are seen in the wild). */
            if (d->nacc >= 2)
                dec_put(d, (char)(d->acc >> (d->nacc == 2 ? 4 : 10)));
            if (d->nacc == 3)
                dec_put(d, (char)(d->acc >> 2));
            d->acc = 0;
            d->nacc = 0;
        }
        return;     /* whitespace and junk are skipped */
    }
    d->acc = (d->acc << 6) | (unsigned)v;
    if (++d->nacc == 4) {
        dec_put(d, (char)(d->acc >> 16));
        dec_put(d, (char)(d->acc >> 8));
        dec_put(d, (char)d->acc);
        d->acc = 0;
        d->nacc = 0;
    }
}

int mail_decoder_push(struct mail_decoder *d, const char *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data;
    size_t i;

    if (d->failed)
        return -1;
    switch (d->cte) {
    case MAIL_CTE_QP:
        for (i = 0; i < len; i++) {
            /* Fast path: plain text in the text state. */
            if (d->state == QP_TEXT && d->nws == 0 && p[i] != '=' &&
                p[i] != ' ' && p[i] != '\t' && p[i] != '\r' &&
                p[i] != '\n') {
                if (d->outlen == sizeof d->out && dec_flush(d) < 0)
                    return -1;
                d->out[d->outlen++] = (char)p[i];
                continue;
            }
            qp_byte(d, p[i]);
            if (d->failed)
                return -1;
        }
        break;
    case MAIL_CTE_BASE64:
        for (i = 0; i < len; i++) {
            /* Fast path: four alphabet characters at a quantum boundary
             * (nearly all of a well-formed body) decode at once. */
            if (d->nacc == 0 && len - i >= 4) {
                int a = b64_table[p[i]], b = b64_table[p[i + 1]],
                    c = b64_table[p[i + 2]], e = b64_table[p[i + 3]];

                if ((a | b | c | e) >= 0) {
                    unsigned v = (unsigned)a << 18 | (unsigned)b << 12 |
                                 (unsigned)c << 6 | (unsigned)e;

                    if (sizeof d->out - d->outlen < 3 && dec_flush(d) < 0)
                        return -1;
                    d->out[d->outlen++] = (char)(v >> 16);
                    d->out[d->outlen++] = (char)(v >> 8);
                    d->out[d->outlen++] = (char)v;
                    i += 3;
                    continue;
                }
            }
            b64_byte(d, p[i]);
            if (d->failed)
                return -1;
        }
        break;
    case MAIL_CTE_7BIT:
    case MAIL_CTE_8BIT:
    case MAIL_CTE_BINARY:
    case MAIL_CTE_UNKNOWN:
    default:
        while (len > 0 && !d->failed) {
            size_t k = len < MAIL_CODEC_OUT_MAX ? len : MAIL_CODEC_OUT_MAX;

            if (d->sink(d->ctx, data, k) < 0)
                d->failed = 1;
            data += k;
            len -= k;
        }
        return d->failed ? -1 : 0;
    }
    return 0;
}

int mail_decoder_finish(struct mail_decoder *d)
{
    if (d->failed)
        return -1;
    if (d->cte == MAIL_CTE_BASE64) {
        if (d->nacc >= 2)   /* missing padding */
            b64_byte(d, '=');
        d->nacc = 0;
    } else if (d->cte == MAIL_CTE_QP) {
        switch (d->state) {
        case QP_CR:
            dec_put_ws(d);
            dec_put(d, '\r');
            break;
        case QP_EQ1:
            dec_put(d, '=');
            dec_put(d, d->ws[0]);
            break;
        default:
            /* Trailing blanks and a final "=" (a soft break at the end
             * of the data) are dropped. */
            break;
        }
        d->nws = 0;
        d->state = QP_TEXT;
    }
    return dec_flush(d);
}

/* --- encoders ----------------------------------------------------------- */

static int enc_flush(struct mail_encoder *e)
{
    if (e->outlen && !e->failed && e->sink(e->ctx, e->out, e->outlen) < 0)
        e->failed = 1;
    e->outlen = 0;
    return e->failed ? -1 : 0;
}

static void enc_put(struct mail_encoder *e, const char *s, size_t n)
{
    while (n > 0) {
        size_t k = sizeof e->out - e->outlen;

        if (k == 0) {
            enc_flush(e);
            continue;
        }
        if (k > n)
            k = n;
        memcpy(e->out + e->outlen, s, k);
        e->outlen += k;
        s += k;
        n -= k;
    }
}

static void enc_eol(struct mail_encoder *e)
{
    if (e->flags & MAIL_ENC_CRLF)
        enc_put(e, "\r\n", 2);
    else
        enc_put(e, "\n", 1);
    e->col = 0;
}

void mail_encoder_init(struct mail_encoder *e, enum mail_cte cte, int flags,
                       mail_sink_fn sink, void *ctx)
{
    e->cte = cte;
    e->flags = flags;
    e->sink = sink;
    e->ctx = ctx;
    e->failed = 0;
    e->acc = 0;
    e->nacc = 0;
    e->col = 0;
    e->pend = -1;
    e->outlen = 0;
}

static void b64_quantum(struct mail_encoder *e, unsigned acc, unsigned n)
{
    char q[4];

    q[0] = b64_alphabet[(acc >> 18) & 63];
    q[1] = b64_alphabet[(acc >> 12) & 63];
    q[2] = n > 1 ? b64_alphabet[(acc >> 6) & 63] : '=';
    q[3] = n > 2 ? b64_alphabet[acc & 63] : '=';
    if (e->col + 4 > MAIL_ENC_LINE_MAX)
        enc_eol(e);
    enc_put(e, q, 4);
    e->col += 4;
}

/* Emit a QP token (a literal byte or "=XX"), breaking softly first if the
 * line would exceed 75 characters plus the '=' of a soft break. */
static void qp_token(struct mail_encoder *e, const char *tok, unsigned n)
{
    if (e->col + n > MAIL_ENC_LINE_MAX - 1) {
        enc_put(e, "=", 1);
        enc_eol(e);
    }
    enc_put(e, tok, n);
    e->col += n;
}

static void qp_escape(struct mail_encoder *e, unsigned char c)
{
    char t[3];

    t[0] = '=';
    t[1] = hexdig[c >> 4];
    t[2] = hexdig[c & 15];
    qp_token(e, t, 3);
}

static void qp_enc_byte(struct mail_encoder *e, unsigned char c)
{
    bool binary = (e->flags & MAIL_ENC_QP_BINARY) != 0;

    if (e->pend == '\r') {
        e->pend = -1;
        if (c == '\n') {
            enc_eol(e);
            return;
        }
        qp_escape(e, '\r');
    } else if (e->pend >= 0) {
        /* A held blank: encoded when a line break follows. */
        unsigned char ws = (unsigned char)e->pend;

        e->pend = -1;
        if (!binary && (c == '\n' || c == '\r')) {
            qp_escape(e, ws);
        } else {
            char t = (char)ws;

            qp_token(e, &t, 1);
        }
    }
    if (!binary && c == '\r') {
        e->pend = '\r';
    } else if (!binary && c == '\n') {
        enc_eol(e);
    } else if (c == ' ' || c == '\t') {
        e->pend = c;
    } else if (c == '=' || c < 32 || c > 126 ||
               ((e->flags & MAIL_ENC_QP_SAFE) && e->col == 0 &&
                (c == '.' || c == 'F'))) {
        qp_escape(e, c);
    } else {
        char t = (char)c;

        qp_token(e, &t, 1);
    }
}

int mail_encoder_push(struct mail_encoder *e, const char *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data;
    size_t i;

    if (e->failed)
        return -1;
    switch (e->cte) {
    case MAIL_CTE_BASE64:
        for (i = 0; i < len && !e->failed; i++) {
            e->acc = (e->acc << 8) | p[i];
            if (++e->nacc == 3) {
                b64_quantum(e, e->acc, 3);
                e->acc = 0;
                e->nacc = 0;
            }
        }
        break;
    case MAIL_CTE_QP:
        for (i = 0; i < len && !e->failed; i++)
            qp_enc_byte(e, p[i]);
        break;
    case MAIL_CTE_7BIT:
    case MAIL_CTE_8BIT:
    case MAIL_CTE_BINARY:
    case MAIL_CTE_UNKNOWN:
    default:
        for (i = 0; i < len && !e->failed; i += MAIL_CODEC_OUT_MAX) {
            size_t k = len - i;

            if (k > MAIL_CODEC_OUT_MAX)
                k = MAIL_CODEC_OUT_MAX;
            if (e->sink(e->ctx, data + i, k) < 0)
                e->failed = 1;
        }
        break;
    }
    return e->failed ? -1 : 0;
}

int mail_encoder_finish(struct mail_encoder *e)
{
    if (e->failed)
        return -1;
    if (e->cte == MAIL_CTE_BASE64) {
        if (e->nacc)
            b64_quantum(e, e->acc << (8 * (3 - e->nacc)), e->nacc);
        e->acc = 0;
        e->nacc = 0;
        if (e->col > 0)
            enc_eol(e);
    } else if (e->cte == MAIL_CTE_QP) {
        if (e->pend >= 0)
            qp_escape(e, (unsigned char)e->pend);   /* trailing blank/CR */
        e->pend = -1;
        if (e->col > 0) {
            /* A soft break: the decoded text gets no extra newline. */
            enc_put(e, "=", 1);
            enc_eol(e);
        }
    }
    return enc_flush(e);
}

int mail_decode(struct mail_buf *out, enum mail_cte cte, const char *data,
                size_t len)
{
    struct mail_decoder d;

    mail_decoder_init(&d, cte, mail_sink_buf, out);
    if (mail_decoder_push(&d, data, len) < 0)
        return -1;
    return mail_decoder_finish(&d);
}

int mail_encode(struct mail_buf *out, enum mail_cte cte, int flags,
                const char *data, size_t len)
{
    struct mail_encoder e;

    mail_encoder_init(&e, cte, flags, mail_sink_buf, out);
    if (mail_encoder_push(&e, data, len) < 0)
        return -1;
    return mail_encoder_finish(&e);
}
