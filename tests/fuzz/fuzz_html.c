/*
 * fuzz_html.c - libFuzzer target for the built-in HTML-to-text renderer.
 *
 * The first byte picks the chunk size the rest is pushed in.  Checked:
 * no crash or sanitizer report on any bytes; the text does not depend on
 * where the chunks are cut; valid UTF-8 in gives valid UTF-8 out; a
 * second document through the same renderer (after finish) renders as if
 * it were new.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/charset.h"
#include "mail/html.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mail_buf whole = MAIL_BUF_INIT, chunked = MAIL_BUF_INIT;
    struct mail_html *h;
    const char *in;
    size_t chunk, i;

    if (size < 1)
        return 0;
    chunk = (size_t)data[0] % 17 + 1;
    in = (const char *)data + 1;
    size--;

    if (mail_html_to_text(&whole, in, size) < 0)
        abort();

    h = mail_html_new(mail_sink_buf, &chunked, NULL);
    if (!h)
        return 0;
    for (int round = 0; round < 2; round++) {
        for (i = 0; i < size; i += chunk)
            if (mail_html_push(h, in + i,
                               size - i < chunk ? size - i : chunk,
                               NULL) < 0)
                abort();
        if (mail_html_finish(h, NULL) < 0)
            abort();
        if (chunked.len != whole.len ||
            memcmp(chunked.data ? chunked.data : "",
                   whole.data ? whole.data : "", whole.len) != 0)
            abort();
        mail_buf_reset(&chunked);
    }
    mail_html_free(h);

    if (mail_utf8_valid(in, size) &&
        !mail_utf8_valid(whole.data ? whole.data : "", whole.len))
        abort();
    /* No blank line at the start, a line break at the end. */
    if (whole.len && (whole.data[0] == '\n' ||
                      whole.data[whole.len - 1] != '\n'))
        abort();
    mail_buf_release(&whole);
    mail_buf_release(&chunked);
    return 0;
}
