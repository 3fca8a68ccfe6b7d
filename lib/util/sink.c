/* sink.c - the two ready-made output sinks (buffer, counter). */
#include <stdint.h>

#include "mail/buf.h"
#include "mail/sink.h"

int mail_sink_buf(void *ctx, const char *data, size_t len)
{
    return mail_buf_add(ctx, data, len);
}

int mail_sink_count(void *ctx, const char *data, size_t len)
{
    (void)data;
    *(uint64_t *)ctx += len;
    return 0;
}
