/*
 * dotstream.h - the streaming decoder of a POP3 multi-line body.
 *
 * After "+OK" to RETR or TOP the server sends the message line by line,
 * each line that starts with "." given one more "." (dot-stuffing), and
 * ends it with a line holding a single "." (RFC 1939 3).  The decoder is
 * fed the server's bytes in chunks of any size and split anywhere; it
 * removes the stuffing, finds the terminating CRLF.CRLF (a bare-LF server's
 * LF.LF too), and hands the message to a sink in pieces of at most
 * MAIL_DOTSTREAM_CHUNK bytes, never holding more than that.  It says how
 * many bytes of the last chunk belonged to the body, so that what follows
 * (the next pipelined reply) is left for the reader.
 *
 * Modes: raw keeps the line ends as received (CRLF from a conforming
 * server); lf turns each CRLF into LF, as Maildir files have them.  A bare
 * CR is data in both modes.  The first dot of every line that starts with
 * one is removed (".." -> ".", ".x" -> "x"), as RFC 1939 says.
 */
#ifndef MAIL_DOTSTREAM_H
#define MAIL_DOTSTREAM_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sink.h"

#define MAIL_DOTSTREAM_CHUNK 8192

struct mail_dotstream {
    mail_sink_fn sink;
    void *ctx;
    bool lf;              /* CRLF -> LF */
    bool done;            /* the terminator has been seen */
    bool too_big;         /* more than max input bytes without an end */
    uint64_t max;         /* input bytes allowed, terminator included;
                             0: no limit */
    uint64_t in_bytes;    /* input bytes consumed so far */
    uint64_t out_bytes;   /* bytes given to the sink so far */
    int state;            /* private from here on */
    size_t outlen;
    char out[MAIL_DOTSTREAM_CHUNK];
};

/* Start decoding one body.  sink gets the decoded bytes. */
void mail_dotstream_init(struct mail_dotstream *d, bool lf, uint64_t max,
                         mail_sink_fn sink, void *ctx);

/*
 * Decode data.  Returns the number of bytes that belong to the body: len
 * unless the terminator was found in data (then d->done is true, every
 * decoded byte has been given to the sink, and the bytes from the returned
 * count on are the next reply's).  Returns -1 when the sink returned -1
 * (err, which the sink is given, as the sink set it) or when more than
 * d->max input bytes came without a terminator (d->too_big, err not set:
 * the caller names the command).  Feeding after done returns 0.  Never
 * blocks.
 */
ssize_t mail_dotstream_feed(struct mail_dotstream *d, const char *data,
                            size_t len, struct mail_error *err);

#pragma GCC visibility pop

#endif
