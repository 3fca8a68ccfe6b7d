/* sink.c - the two ready-made output sinks (buffer, counter). */
#include <errno.h>
#include <stdint.h>

#include "mail/buf.h"
#include "mail/sink.h"

int mail_sink_buf(void *ctx, const char *data, size_t len,
                  struct mail_error *err)
{
    struct mail_buf *b = ctx;
    size_t max = b->cap_max & (SIZE_MAX >> 1);    /* without secret mode */

    if (mail_buf_add(b, data, len) == 0)
        return 0;
    if (errno == EMSGSIZE)
        return mail_error_set(err, MAIL_ERR_INTERNAL,
                              "output longer than the limit of %zu bytes",
                              max ? max : MAIL_BUF_DEFAULT_MAX);
    return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
}

int mail_sink_count(void *ctx, const char *data, size_t len,
                    struct mail_error *err)
{
    (void)data;
    (void)err;
    *(uint64_t *)ctx += len;
    return 0;
}
