/* sink.c - the ready-made output sinks (buffer, counter, file
 * descriptor). */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "mail/buf.h"
#include "mail/fsutil.h"
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

int mail_fd_sink_write(void *ctx, const char *data, size_t len,
                       struct mail_error *err)
{
    struct mail_fd_sink *s = ctx;

    if (mail_write_all(s->fd, data, len) == 0)
        return 0;
    s->failed = true;
    return mail_error_set(err, MAIL_ERR_IO, "%s: %s",
                          s->name ? s->name : "temporary file",
                          strerror(errno));
}
