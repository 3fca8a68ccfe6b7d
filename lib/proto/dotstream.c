/*
 * dotstream.c - the streaming decoder of a POP3 multi-line body; see
 * mail/dotstream.h.
 *
 * A byte-level state machine, so that the terminator and a stuffed dot are
 * recognised whatever the chunking (curl pop3.c does the same):
 *
 *   BOL     at the start of a line (the body starts here)
 *   MID     inside a line
 *   CR      after a CR that may start a CRLF
 *   DOT     after a "." at the start of a line
 *   DOT_CR  after ".\r" at the start of a line: CRLF.CRLF if LF comes next
 */
#include <string.h>

#include "mail/dotstream.h"

enum { ST_BOL, ST_MID, ST_CR, ST_DOT, ST_DOT_CR };

void mail_dotstream_init(struct mail_dotstream *d, bool lf, uint64_t max,
                         mail_sink_fn sink, void *ctx)
{
    d->sink = sink;
    d->ctx = ctx;
    d->lf = lf;
    d->done = false;
    d->too_big = false;
    d->max = max;
    d->in_bytes = 0;
    d->out_bytes = 0;
    d->state = ST_BOL;
    d->outlen = 0;
}

static int flush(struct mail_dotstream *d, struct mail_error *err)
{
    if (d->outlen == 0)
        return 0;
    if (d->sink(d->ctx, d->out, d->outlen, err) < 0)
        return -1;
    d->out_bytes += d->outlen;
    d->outlen = 0;
    return 0;
}

static int emit(struct mail_dotstream *d, const char *p, size_t n,
                struct mail_error *err)
{
    while (n > 0) {
        size_t room = sizeof d->out - d->outlen;
        size_t k = n < room ? n : room;

        memcpy(d->out + d->outlen, p, k);
        d->outlen += k;
        p += k;
        n -= k;
        if (d->outlen == sizeof d->out && flush(d, err) < 0)
            return -1;
    }
    return 0;
}

static int emit_eol(struct mail_dotstream *d, struct mail_error *err)
{
    return d->lf ? emit(d, "\n", 1, err) : emit(d, "\r\n", 2, err);
}

ssize_t mail_dotstream_feed(struct mail_dotstream *d, const char *data,
                            size_t len, struct mail_error *err)
{
    size_t i = 0;

    if (d->done)
        return 0;
    while (i < len) {
        char c = data[i];

        switch (d->state) {
        case ST_BOL:
            if (c == '.') {
                d->state = ST_DOT;
                i++;
                continue;
            }
            d->state = ST_MID;
            continue;   /* the same byte, as inside a line */
        case ST_MID: {
            size_t j = i;

            while (j < len && data[j] != '\r' && data[j] != '\n')
                j++;
            if (j > i && emit(d, data + i, j - i, err) < 0)
                return -1;
            i = j;
            if (i == len)
                break;
            if (data[i] == '\n') {
                if (emit(d, "\n", 1, err) < 0)   /* a bare-LF line end */
                    return -1;
                d->state = ST_BOL;
            } else {
                d->state = ST_CR;
            }
            i++;
            continue;
        }
        case ST_CR:
            if (c == '\n') {
                if (emit_eol(d, err) < 0)
                    return -1;
                d->state = ST_BOL;
                i++;
                continue;
            }
            /* The CR was data; look at c again inside the line. */
            if (emit(d, "\r", 1, err) < 0)
                return -1;
            d->state = c == '\r' ? ST_CR : ST_MID;
            if (c == '\r')
                i++;
            continue;
        case ST_DOT:
            if (c == '\n') {            /* ".\n": a bare-LF server's end */
                i++;
                goto end;
            }
            if (c == '\r') {
                d->state = ST_DOT_CR;
                i++;
                continue;
            }
            /* A stuffed dot: it is dropped, the rest is the line. */
            d->state = ST_MID;
            continue;
        case ST_DOT_CR:
            if (c == '\n') {
                i++;
                goto end;
            }
            /* ".\rX": the dot was stuffing, the CR is data. */
            d->state = ST_CR;
            continue;
        }
    }
    d->in_bytes += len;
    if (d->max && d->in_bytes > d->max) {
        d->too_big = true;
        return -1;
    }
    return (ssize_t)len;
end:
    d->in_bytes += i;
    if (d->max && d->in_bytes > d->max) {
        d->too_big = true;
        return -1;
    }
    d->done = true;
    if (flush(d, err) < 0)
        return -1;
    return (ssize_t)i;
}
