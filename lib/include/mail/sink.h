/*
 * sink.h - where streaming decoders and converters send their output.
 *
 * A sink is a callback plus an opaque pointer.  It is given each piece of
 * output as it is produced (pieces are small: a few KiB at most) and returns
 * 0 to go on, or -1 to stop after filling err with a kind and a message
 * that names what failed (MAIL_ERR_IO "temporary file: No space left on
 * device").  err may be NULL (the error is then dropped, as with
 * mail_error_set).  The data pointer is valid only during the call.
 *
 * This is the one way a sink's failure travels: a producer passes the err
 * it was given through to its sink and, when the sink returns -1, returns
 * -1 itself with err as the sink left it (never a generic "cannot write"
 * on top).  A filter that is itself a sink (a decoder feeding a charset
 * converter feeding a terminal-safe stream) passes its own err argument
 * on the same way.
 */
#ifndef MAIL_SINK_H
#define MAIL_SINK_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

typedef int (*mail_sink_fn)(void *ctx, const char *data, size_t len,
                            struct mail_error *err);

/*
 * A ready-made sink that appends to a `struct mail_buf *` passed as ctx.
 * Returns -1 when the buffer's cap is reached (MAIL_ERR_INTERNAL "output
 * longer than the limit of N bytes") or on ENOMEM (MAIL_ERR_INTERNAL "out
 * of memory"); the bytes that did not fit are not added.
 */
int mail_sink_buf(void *ctx, const char *data, size_t len,
                  struct mail_error *err);

/* A sink that only counts: ctx is a `uint64_t *` incremented by len. */
int mail_sink_count(void *ctx, const char *data, size_t len,
                    struct mail_error *err);

/*
 * The one sink that writes to a file descriptor (ctx: a struct
 * mail_fd_sink), all of each piece (EINTR retried).  A write that fails
 * sets failed (so that a producer's caller can tell the sink's failure
 * from its own reading) and gives MAIL_ERR_IO "NAME: <cause>" ("No space
 * left on device"), NAME being name, or "temporary file" when name is
 * NULL.  `struct mail_fd_sink fs = { .fd = fd }` is a temporary file's sink.
 */
struct mail_fd_sink {
    int fd;
    const char *name;
    bool failed;
};
int mail_fd_sink_write(void *ctx, const char *data, size_t len,
                       struct mail_error *err);

#pragma GCC visibility pop

#endif
