/*
 * codec.c - streaming base64 and quoted-printable, both ways.
 *
 * Each filter is a small state machine fed one byte at a time (with a fast
 * path for runs that need no work), writing into a fixed output buffer
 * that is handed to the sink when full and at finish.
 */
#include <string.h>

#include "mail/base64.h"
#include "mail/buf.h"
#include "mail/codec.h"
#include "mail/hex.h"

static const char hexdig[] = "0123456789ABCDEF";

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

/* Hand the output buffer to the sink.  -1 with err as the sink set it. */
static int dec_flush(struct mail_decoder *d, struct mail_error *err)
{
    size_t n = d->outlen;

    d->outlen = 0;
    return n ? d->sink(d->ctx, d->out, n, err) : 0;
}

static int dec_put(struct mail_decoder *d, char c, struct mail_error *err)
{
    if (d->outlen == sizeof d->out && dec_flush(d, err) < 0)
        return -1;
    d->out[d->outlen++] = c;
    return 0;
}

static int dec_put_ws(struct mail_decoder *d, struct mail_error *err)
{
    size_t i, n = d->nws;

    d->nws = 0;
    for (i = 0; i < n; i++)
        if (dec_put(d, d->ws[i], err) < 0)
            return -1;
    return 0;
}

void mail_decoder_init(struct mail_decoder *d, enum mail_cte cte,
                       mail_sink_fn sink, void *ctx)
{
    d->cte = cte;
    d->sink = sink;
    d->ctx = ctx;
    d->state = QP_TEXT;
    d->acc = 0;
    d->nacc = 0;
    d->nws = 0;
    d->outlen = 0;
}

/* One byte of quoted-printable.  -1 when the sink failed (err set). */
static int qp_byte(struct mail_decoder *d, unsigned char c,
                   struct mail_error *err)
{
    int h;

    for (;;) {
        switch (d->state) {
        case QP_TEXT:
            if (c == ' ' || c == '\t') {
                if (d->nws == sizeof d->ws && dec_put_ws(d, err) < 0)
                    return -1;
                d->ws[d->nws++] = (char)c;
            } else if (c == '\r') {
                d->state = QP_CR;
            } else if (c == '\n') {
                d->nws = 0;    /* trailing blanks are transport padding */
                return dec_put(d, '\n', err);
            } else {
                if (dec_put_ws(d, err) < 0)
                    return -1;
                if (c == '=')
                    d->state = QP_EQ;
                else
                    return dec_put(d, (char)c, err);
            }
            return 0;
        case QP_CR:
            d->state = QP_TEXT;
            if (c == '\n') {
                d->nws = 0;
                if (dec_put(d, '\r', err) < 0)
                    return -1;
                return dec_put(d, '\n', err);
            }
            /* a bare CR is data */
            if (dec_put_ws(d, err) < 0 || dec_put(d, '\r', err) < 0)
                return -1;
            continue;
        case QP_EQ:
            if (mail_hex_value(c) >= 0) {
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
                d->state = QP_TEXT;
                if (dec_put(d, '=', err) < 0)   /* invalid escape: kept */
                    return -1;
                continue;
            }
            return 0;
        case QP_EQ1:
            d->state = QP_TEXT;
            h = mail_hex_value(c);
            if (h >= 0)
                return dec_put(d,
                               (char)(mail_hex_value((unsigned char)d->ws[0]) *
                                          16 + h),
                               err);
            if (dec_put(d, '=', err) < 0 || dec_put(d, d->ws[0], err) < 0)
                return -1;
            continue;
        case QP_EQWS:
            if (c == ' ' || c == '\t') {
                if (d->nws < sizeof d->ws) {
                    d->ws[d->nws++] = (char)c;
                    return 0;
                }
            } else if (c == '\r') {
                d->nws = 0;
                d->state = QP_EQCR;
                return 0;
            } else if (c == '\n') {
                d->nws = 0;
                d->state = QP_TEXT;     /* soft break with padding */
                return 0;
            }
            /* "= x": not an escape, keep it all as text. */
            d->state = QP_TEXT;
            if (dec_put(d, '=', err) < 0 || dec_put_ws(d, err) < 0)
                return -1;
            continue;
        case QP_EQCR:
        default:
            d->state = QP_TEXT;
            if (c == '\n')
                return 0;
            continue;           /* "=\r" then data: still a soft break */
        }
    }
}

/* One byte of base64.  -1 when the sink failed (err set). */
static int b64_byte(struct mail_decoder *d, unsigned char c,
                    struct mail_error *err)
{
    int v = mail_base64_digit(MAIL_BASE64_MIME, c);
    unsigned acc = d->acc, nacc = d->nacc;

    if (v < 0) {
        if (c != '=')
            return 0;   /* whitespace and junk are skipped */
        /* Padding ends the quantum; what follows starts afresh
         * (concatenated base64 blocks are seen in the wild). */
        d->acc = 0;
        d->nacc = 0;
        if (nacc >= 2 &&
            dec_put(d, (char)(acc >> (nacc == 2 ? 4 : 10)), err) < 0)
            return -1;
        if (nacc == 3 && dec_put(d, (char)(acc >> 2), err) < 0)
            return -1;
        return 0;
    }
    d->acc = (acc << 6) | (unsigned)v;
    if (++d->nacc == 4) {
        acc = d->acc;
        d->acc = 0;
        d->nacc = 0;
        if (dec_put(d, (char)(acc >> 16), err) < 0 ||
            dec_put(d, (char)(acc >> 8), err) < 0 ||
            dec_put(d, (char)acc, err) < 0)
            return -1;
    }
    return 0;
}

int mail_decoder_push(struct mail_decoder *d, const char *data, size_t len,
                      struct mail_error *err)
{
    const unsigned char *p = (const unsigned char *)data;
    size_t i;

    switch (d->cte) {
    case MAIL_CTE_QP:
        for (i = 0; i < len; i++) {
            /* Fast path: plain text in the text state. */
            if (d->state == QP_TEXT && d->nws == 0 && p[i] != '=' &&
                p[i] != ' ' && p[i] != '\t' && p[i] != '\r' &&
                p[i] != '\n') {
                if (d->outlen == sizeof d->out && dec_flush(d, err) < 0)
                    return -1;
                d->out[d->outlen++] = (char)p[i];
                continue;
            }
            if (qp_byte(d, p[i], err) < 0)
                return -1;
        }
        break;
    case MAIL_CTE_BASE64:
        for (i = 0; i < len;) {
            /* Whole quanta at a quantum boundary (nearly all of a
             * well-formed body) decode a run at a time, as many as the
             * output buffer takes; line ends, padding and junk one
             * character at a time. */
            if (d->nacc == 0 && len - i >= 4) {
                size_t room = (sizeof d->out - d->outlen) / 3 * 4, n;

                if (room == 0) {
                    if (dec_flush(d, err) < 0)
                        return -1;
                    continue;
                }
                n = mail_base64_decode_run(
                    MAIL_BASE64_MIME, data + i, len - i < room ? len - i : room,
                    (unsigned char *)d->out + d->outlen);
                if (n > 0) {
                    d->outlen += n / 4 * 3;
                    i += n;
                    continue;
                }
            }
            if (b64_byte(d, p[i++], err) < 0)
                return -1;
        }
        break;
    case MAIL_CTE_7BIT:
    case MAIL_CTE_8BIT:
    case MAIL_CTE_BINARY:
    case MAIL_CTE_UNKNOWN:
    default:
        while (len > 0) {
            size_t k = len < MAIL_CODEC_OUT_MAX ? len : MAIL_CODEC_OUT_MAX;

            if (d->sink(d->ctx, data, k, err) < 0)
                return -1;
            data += k;
            len -= k;
        }
        return 0;
    }
    return 0;
}

int mail_decoder_finish(struct mail_decoder *d, struct mail_error *err)
{
    int r = 0;

    if (d->cte == MAIL_CTE_BASE64) {
        if (d->nacc >= 2)   /* missing padding */
            r = b64_byte(d, '=', err);
        d->nacc = 0;
    } else if (d->cte == MAIL_CTE_QP) {
        switch (d->state) {
        case QP_CR:
            if (dec_put_ws(d, err) < 0 || dec_put(d, '\r', err) < 0)
                r = -1;
            break;
        case QP_EQ1:
            if (dec_put(d, '=', err) < 0 || dec_put(d, d->ws[0], err) < 0)
                r = -1;
            break;
        default:
            /* Trailing blanks and a final "=" (a soft break at the end
             * of the data) are dropped. */
            break;
        }
        d->nws = 0;
        d->state = QP_TEXT;
    }
    if (r < 0) {
        d->outlen = 0;
        return -1;
    }
    return dec_flush(d, err);
}

/* --- encoders ----------------------------------------------------------- */

/* Hand the output buffer to the sink.  -1 with err as the sink set it. */
static int enc_flush(struct mail_encoder *e, struct mail_error *err)
{
    size_t n = e->outlen;

    e->outlen = 0;
    return n ? e->sink(e->ctx, e->out, n, err) : 0;
}

static int enc_put(struct mail_encoder *e, const char *s, size_t n,
                   struct mail_error *err)
{
    while (n > 0) {
        size_t k = sizeof e->out - e->outlen;

        if (k == 0) {
            if (enc_flush(e, err) < 0)
                return -1;
            continue;
        }
        if (k > n)
            k = n;
        memcpy(e->out + e->outlen, s, k);
        e->outlen += k;
        s += k;
        n -= k;
    }
    return 0;
}

static int enc_eol(struct mail_encoder *e, struct mail_error *err)
{
    e->col = 0;
    if (e->flags & MAIL_ENC_CRLF)
        return enc_put(e, "\r\n", 2, err);
    return enc_put(e, "\n", 1, err);
}

void mail_encoder_init(struct mail_encoder *e, enum mail_cte cte, int flags,
                       mail_sink_fn sink, void *ctx)
{
    e->cte = cte;
    e->flags = flags;
    e->sink = sink;
    e->ctx = ctx;
    e->acc = 0;
    e->nacc = 0;
    e->col = 0;
    e->pend = -1;
    e->outlen = 0;
}

static int b64_quantum(struct mail_encoder *e, unsigned acc, unsigned n,
                       struct mail_error *err)
{
    const char *b64_alphabet = mail_base64_chars(MAIL_BASE64_STD);
    char q[4];

    q[0] = b64_alphabet[(acc >> 18) & 63];
    q[1] = b64_alphabet[(acc >> 12) & 63];
    q[2] = n > 1 ? b64_alphabet[(acc >> 6) & 63] : '=';
    q[3] = n > 2 ? b64_alphabet[acc & 63] : '=';
    if (e->col + 4 > MAIL_ENC_LINE_MAX && enc_eol(e, err) < 0)
        return -1;
    e->col += 4;
    return enc_put(e, q, 4, err);
}

/* Emit a QP token (a literal byte or "=XX"), breaking softly first if the
 * line would exceed 75 characters plus the '=' of a soft break. */
static int qp_token(struct mail_encoder *e, const char *tok, unsigned n,
                    struct mail_error *err)
{
    if (e->col + n > MAIL_ENC_LINE_MAX - 1 &&
        (enc_put(e, "=", 1, err) < 0 || enc_eol(e, err) < 0))
        return -1;
    e->col += n;
    return enc_put(e, tok, n, err);
}

static int qp_escape(struct mail_encoder *e, unsigned char c,
                     struct mail_error *err)
{
    char t[3];

    t[0] = '=';
    t[1] = hexdig[c >> 4];
    t[2] = hexdig[c & 15];
    return qp_token(e, t, 3, err);
}

static int qp_enc_byte(struct mail_encoder *e, unsigned char c,
                       struct mail_error *err)
{
    bool binary = (e->flags & MAIL_ENC_QP_BINARY) != 0;

    if (e->pend == '\r') {
        e->pend = -1;
        if (c == '\n')
            return enc_eol(e, err);
        if (qp_escape(e, '\r', err) < 0)
            return -1;
    } else if (e->pend >= 0) {
        /* A held blank: encoded when a line break follows. */
        unsigned char ws = (unsigned char)e->pend;

        e->pend = -1;
        if (!binary && (c == '\n' || c == '\r')) {
            if (qp_escape(e, ws, err) < 0)
                return -1;
        } else {
            char t = (char)ws;

            if (qp_token(e, &t, 1, err) < 0)
                return -1;
        }
    }
    if (!binary && c == '\r') {
        e->pend = '\r';
    } else if (!binary && c == '\n') {
        return enc_eol(e, err);
    } else if (c == ' ' || c == '\t') {
        e->pend = c;
    } else if (c == '=' || c < 32 || c > 126 ||
               ((e->flags & MAIL_ENC_QP_SAFE) && e->col == 0 &&
                (c == '.' || c == 'F'))) {
        return qp_escape(e, c, err);
    } else {
        char t = (char)c;

        return qp_token(e, &t, 1, err);
    }
    return 0;
}

int mail_encoder_push(struct mail_encoder *e, const char *data, size_t len,
                      struct mail_error *err)
{
    const unsigned char *p = (const unsigned char *)data;
    size_t i;

    switch (e->cte) {
    case MAIL_CTE_BASE64:
        for (i = 0; i < len; i++) {
            e->acc = (e->acc << 8) | p[i];
            if (++e->nacc == 3) {
                unsigned acc = e->acc;

                e->acc = 0;
                e->nacc = 0;
                if (b64_quantum(e, acc, 3, err) < 0)
                    return -1;
            }
        }
        break;
    case MAIL_CTE_QP:
        for (i = 0; i < len; i++)
            if (qp_enc_byte(e, p[i], err) < 0)
                return -1;
        break;
    case MAIL_CTE_7BIT:
    case MAIL_CTE_8BIT:
    case MAIL_CTE_BINARY:
    case MAIL_CTE_UNKNOWN:
    default:
        for (i = 0; i < len; i += MAIL_CODEC_OUT_MAX) {
            size_t k = len - i;

            if (k > MAIL_CODEC_OUT_MAX)
                k = MAIL_CODEC_OUT_MAX;
            if (e->sink(e->ctx, data + i, k, err) < 0)
                return -1;
        }
        break;
    }
    return 0;
}

int mail_encoder_finish(struct mail_encoder *e, struct mail_error *err)
{
    int r = 0;

    if (e->cte == MAIL_CTE_BASE64) {
        if (e->nacc)
            r = b64_quantum(e, e->acc << (8 * (3 - e->nacc)), e->nacc, err);
        e->acc = 0;
        e->nacc = 0;
        if (r == 0 && e->col > 0)
            r = enc_eol(e, err);
    } else if (e->cte == MAIL_CTE_QP) {
        if (e->pend >= 0)   /* trailing blank/CR */
            r = qp_escape(e, (unsigned char)e->pend, err);
        e->pend = -1;
        /* A soft break: the decoded text gets no extra newline. */
        if (r == 0 && e->col > 0 &&
            (enc_put(e, "=", 1, err) < 0 || enc_eol(e, err) < 0))
            r = -1;
    }
    if (r < 0) {
        e->outlen = 0;
        return -1;
    }
    return enc_flush(e, err);
}

int mail_decode(struct mail_buf *out, enum mail_cte cte, const char *data,
                size_t len)
{
    struct mail_decoder d;

    mail_decoder_init(&d, cte, mail_sink_buf, out);
    if (mail_decoder_push(&d, data, len, NULL) < 0)
        return -1;
    return mail_decoder_finish(&d, NULL);
}

int mail_encode(struct mail_buf *out, enum mail_cte cte, int flags,
                const char *data, size_t len)
{
    struct mail_encoder e;

    mail_encoder_init(&e, cte, flags, mail_sink_buf, out);
    if (mail_encoder_push(&e, data, len, NULL) < 0)
        return -1;
    return mail_encoder_finish(&e, NULL);
}
