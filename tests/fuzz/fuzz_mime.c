/*
 * fuzz_mime.c - libFuzzer target for the streaming MIME parser, and
 * through it the header parser, the parameter parser (RFC 2231/2047), the
 * transfer decoders and charset conversion.
 *
 * The first byte picks the chunk size the input is pushed in and small
 * limits, so that chunk seams and limit paths are explored.  Built with
 * -fsanitize=fuzzer when meson is set up with -Dfuzz=true, and linked with
 * replay/replay.c in every build so that the corpus runs as an ordinary
 * test.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/charset.h"
#include "mail/mime.h"
#include "mail/readable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_sink(void *ctx, const char *data, size_t len,
                      struct mail_error *err)
{
    uint64_t *n = ctx;

    (void)data;
    (void)err;
    *n += len;
    return 0;
}

static int utf8_sink(void *ctx, const char *data, size_t len,
                     struct mail_error *err)
{
    return mail_sink_buf(ctx, data, len, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mail_mime_limits lim = { 0, 0, 0, 0 };
    const struct mail_part *p;
    struct mail_readable r[4];
    struct mail_mime *m;
    const char *msg;
    size_t chunk, i, n, nparts = 0;

    if (size < 1)
        return 0;
    chunk = (size_t)(data[0] & 0x0F) + 1;
    if (data[0] & 0x10) {
        lim.header_max = 64;
        lim.headers_total_max = 256;
        lim.depth_max = 3;
        lim.parts_max = 8;
    }
    if (data[0] & 0x20)
        chunk = 4096;
    msg = (const char *)data + 1;
    size--;

    m = mail_mime_new(&lim, NULL);
    if (!m)
        return 0;
    for (i = 0; i < size; i += chunk)
        if (mail_mime_push(m, msg + i, size - i < chunk ? size - i : chunk,
                           NULL) < 0)
            abort();
    if (mail_mime_finish(m, NULL) < 0)
        abort();
    if (mail_mime_size(m) != size || !mail_mime_root(m))
        abort();

    for (p = mail_mime_root(m); p; p = mail_part_next(p)) {
        uint64_t got = 0;
        struct mail_buf text = MAIL_BUF_INIT;

        nparts++;
        if (!p->number || !p->type || !strchr(p->type, '/'))
            abort();
        if (p->header_start > p->body_start || p->body_start > p->body_end ||
            p->body_end > size)
            abort();
        if (p->parent && (p->header_start < p->parent->body_start ||
                          p->body_end > p->parent->body_end))
            abort();
        if (mail_mime_find(m, p->number) == NULL)
            abort();
        if (mail_part_decode_mem(p, msg, size, 0, count_sink, &got,
                                 NULL) < 0)
            abort();
        /* The size seen while streaming is the size decoded later. */
        if (!mail_part_is_multipart(p) && !p->child &&
            got != p->decoded_size)
            abort();
        if (mail_part_decode_mem(p, msg, size, MAIL_DECODE_TEXT, utf8_sink,
                                 &text, NULL) < 0)
            abort();
        if (!mail_utf8_valid(text.data ? text.data : "", text.len))
            abort();
        if (p->filename && !mail_utf8_valid(p->filename, strlen(p->filename)))
            abort();
        mail_buf_release(&text);
    }
    if (nparts != mail_mime_count(m))
        abort();
    n = mail_mime_readable(m, r, 4);
    if (n != mail_mime_readable(m, NULL, 0))
        abort();
    for (i = 0; i < n && i < 4; i++)
        if (strncmp(r[i].part->type, "text/", 5) != 0)
            abort();
    mail_mime_free(m);
    return 0;
}
