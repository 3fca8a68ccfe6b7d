/*
 * fuzz_pop3.c - libFuzzer target for the POP3 multi-line body decoder and
 * the LIST/UIDL line parsers.
 *
 * The first byte picks the mode (LF or raw) and a chunk size; the rest is
 * a server's bytes after "+OK".  They are decoded at once and again in
 * chunks of that size (and 1 byte at a time for small inputs); all must
 * agree on the output and on where the body ends, the end must lie within
 * the input, and the output can never be longer than the input.  Then each
 * line of the input goes through both listing parsers, whose results must
 * obey their rules (msgno > 0, uid 1-70 bytes of 0x21-0x7E).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/buf.h"
#include "mail/dotstream.h"
#include "mail/pop3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ssize_t decode(const char *in, size_t len, bool lf, size_t step,
                      struct mail_buf *out)
{
    struct mail_dotstream d;
    size_t i = 0;

    mail_buf_reset(out);
    mail_dotstream_init(&d, lf, 0, mail_sink_buf, out);
    while (i < len && !d.done) {
        size_t n = len - i < step ? len - i : step;
        ssize_t used = mail_dotstream_feed(&d, in + i, n, NULL);

        if (used < 0 || (size_t)used > n || (!d.done && (size_t)used != n))
            abort();
        i += (size_t)used;
    }
    if (d.done && d.in_bytes != i)
        abort();
    return d.done ? (ssize_t)i : -1;
}

static void parse_lines(const char *in, size_t len)
{
    const char *p = in, *end = in + len;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char uid[MAIL_POP3_UID_MAX + 1];
        unsigned msgno;
        uint64_t sz;

        if (n && p[n - 1] == '\r')
            n--;
        if (mail_pop3_parse_list_line(p, n, &msgno, &sz) == 0 &&
            (msgno == 0 || sz > ((uint64_t)1 << 62)))
            abort();
        if (mail_pop3_parse_uidl_line(p, n, &msgno, uid) == 0) {
            size_t ul = strlen(uid);

            if (msgno == 0 || ul == 0 || ul > MAIL_POP3_UID_MAX)
                abort();
            for (size_t i = 0; i < ul; i++)
                if (uid[i] < 0x21 || uid[i] > 0x7e)
                    abort();
        }
        p += (nl ? (size_t)(nl - p) + 1 : (size_t)(end - p));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mail_buf a = MAIL_BUF_INIT, b = MAIL_BUF_INIT;
    const char *in = (const char *)data + 1;
    size_t len;
    bool lf;
    size_t step;
    ssize_t end_a, end_b;

    if (size == 0)
        return 0;
    len = size - 1;
    lf = data[0] & 1;
    step = 1 + (data[0] >> 1);
    mail_buf_init(&a, 0);
    mail_buf_init(&b, 0);
    end_a = decode(in, len, lf, len ? len : 1, &a);
    end_b = decode(in, len, lf, step, &b);
    if (end_a != end_b || a.len != b.len ||
        (a.len && memcmp(a.data, b.data, a.len) != 0) || a.len > len)
        abort();
    if (len <= 4096) {
        end_b = decode(in, len, lf, 1, &b);
        if (end_a != end_b || a.len != b.len ||
            (a.len && memcmp(a.data, b.data, a.len) != 0))
            abort();
    }
    /* LF mode never gives more than raw mode. */
    end_b = decode(in, len, !lf, len ? len : 1, &b);
    if (end_a != end_b || (lf ? a.len > b.len : b.len > a.len))
        abort();
    mail_buf_release(&a);
    mail_buf_release(&b);
    parse_lines(in, len);
    return 0;
}
