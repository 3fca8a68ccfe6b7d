/*
 * sink.h - where streaming decoders and converters send their output.
 *
 * A sink is a callback plus an opaque pointer.  It is given each piece of
 * output as it is produced (pieces are small: a few KiB at most) and returns
 * 0 to go on or -1 to stop; the producer then returns -1 itself and leaves
 * any error reporting to whoever set up the sink.  The data pointer is valid
 * only during the call.
 */
#ifndef MAIL_SINK_H
#define MAIL_SINK_H

#pragma GCC visibility push(default)

#include <stddef.h>

typedef int (*mail_sink_fn)(void *ctx, const char *data, size_t len);

/*
 * A ready-made sink that appends to a `struct mail_buf *` passed as ctx.
 * Returns -1 when the buffer's cap is reached or on ENOMEM (the bytes that
 * did not fit are not added).
 */
int mail_sink_buf(void *ctx, const char *data, size_t len);

/* A sink that only counts: ctx is a `uint64_t *` incremented by len. */
int mail_sink_count(void *ctx, const char *data, size_t len);

#pragma GCC visibility pop

#endif
