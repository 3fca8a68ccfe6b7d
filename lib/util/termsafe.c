/* termsafe.c - make untrusted text safe to print; see mail/termsafe.h. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/termsafe.h"

/* ---- the one UTF-8 decoder and encoder --------------------------------- */

int mail_utf8_check(const char *str, size_t len, uint32_t *cp, size_t *used)
{
    const unsigned char *s = (const unsigned char *)str;
    /* The second byte's range narrows for E0 (no overlongs), ED (no
     * surrogates), F0 (no overlongs) and F4 (nothing past U+10FFFF), so
     * an invalid sequence is known at its first bad byte. */
    unsigned lo = 0x80, hi = 0xbf;
    uint32_t c = s[0];
    size_t need, i;

    if (c < 0x80) {
        if (cp)
            *cp = c;
        *used = 1;
        return MAIL_UTF8_VALID;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        need = 1;
        c &= 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
        c &= 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
        c &= 0x07;
    } else {
        *used = 1;              /* a continuation byte, C0, C1, F5..FF */
        return MAIL_UTF8_INVALID;
    }
    for (i = 1; i <= need; i++) {
        if (i >= len) {
            *used = len;
            return MAIL_UTF8_INCOMPLETE;
        }
        if (s[i] < lo || s[i] > hi) {
            *used = i;
            return MAIL_UTF8_INVALID;
        }
        c = (c << 6) | (s[i] & 0x3f);
        lo = 0x80;
        hi = 0xbf;
    }
    if (cp)
        *cp = c;
    *used = need + 1;
    return MAIL_UTF8_VALID;
}

size_t mail_utf8_decode(const char *s, size_t len, uint32_t *cp)
{
    size_t used;

    return mail_utf8_check(s, len, cp, &used) == MAIL_UTF8_VALID ? used : 0;
}

size_t mail_utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp >= 0xd800 && cp <= 0xdfff)
        return 0;
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    if (cp > 0x10ffff)
        return 0;
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

size_t mail_utf8_incomplete(const char *s, size_t n)
{
    /* A sequence is at most 4 bytes: its start is among the last 3. */
    for (size_t k = 1; k <= 3 && k <= n; k++) {
        size_t used;
        int r = mail_utf8_check(s + n - k, k, NULL, &used);

        if (r == MAIL_UTF8_INCOMPLETE)
            return k;
        if (r == MAIL_UTF8_VALID)
            return 0;
        /* invalid from here: a continuation byte; try one further back */
    }
    return 0;
}

static int is_bidi_control(uint32_t cp)
{
    return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
           cp == 0x200e || cp == 0x200f || cp == 0x061c;
}

/* Code points a terminal or a viewer may act on: never shown raw. */
static int is_unsafe(uint32_t cp)
{
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) ||
           is_bidi_control(cp) || cp == 0x2028 || cp == 0x2029;
}

int mail_term_safe(struct mail_buf *out, const char *str, size_t len,
                   int flags)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    while (i < len) {
        uint32_t cp;
        size_t n = mail_utf8_decode(str + i, len - i, &cp);
        char tmp[16];
        int r;

        if (n == 0) {
            snprintf(tmp, sizeof tmp, "\\x%02X", s[i]);
            r = mail_buf_addstr(out, tmp);
            n = 1;
        } else if (cp < 0x20 || cp == 0x7f) {
            if ((cp == '\n' || cp == '\t') && !(flags & MAIL_SAFE_ONELINE)) {
                r = mail_buf_addch(out, (char)cp);
            } else {
                tmp[0] = '^';
                tmp[1] = cp == 0x7f ? '?' : (char)(cp + 0x40);
                r = mail_buf_add(out, tmp, 2);
            }
        } else if (is_unsafe(cp)) {
            snprintf(tmp, sizeof tmp, "<U+%04X>", cp);
            r = mail_buf_addstr(out, tmp);
        } else {
            r = mail_buf_add(out, s + i, n);
        }
        if (r < 0)
            return -1;
        i += n;
    }
    return 0;
}

/* Does the word w (eight bytes) hold a byte outside printable ASCII
 * (below 0x20, or 0x7f and above)?  Exact for "below 0x20" (the usual
 * has-less-than trick); the 0x7f test may also fire for a byte next to
 * one >= 0x80, which is outside anyway. */
static bool word_not_printable(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ULL, high = ones * 0x80;

    return (((w - ones * 0x20) & ~w) | (w + ones) | w) & high;
}

bool mail_term_is_safe(const char *str, size_t len, int flags)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    while (i < len) {
        uint32_t cp;
        size_t n;

        if (len - i >= 8) {
            uint64_t w;

            memcpy(&w, s + i, 8);
            if (!word_not_printable(w)) {
                i += 8;
                continue;
            }
        }
        if (s[i] >= 0x20 && s[i] < 0x7f) {
            i++;
            continue;
        }
        if ((n = mail_utf8_decode(str + i, len - i, &cp)) == 0)
            return false;
        if ((cp == '\n' || cp == '\t') && !(flags & MAIL_SAFE_ONELINE)) {
            i++;
            continue;
        }
        if (is_unsafe(cp))
            return false;
        i += n;
    }
    return true;
}

char *mail_term_safe_dup(const char *s, size_t len, int flags)
{
    struct mail_buf b = MAIL_BUF_INIT;

    if (mail_term_is_safe(s, len, flags)) {
        char *out = malloc(len + 1);

        if (out) {
            memcpy(out, s, len);
            out[len] = '\0';
        }
        return out;
    }
    if (mail_term_safe(&b, s, len, flags) < 0) {
        mail_buf_release(&b);
        return NULL;
    }
    if (!b.data && mail_buf_addstr(&b, "") < 0)
        return NULL;
    return mail_buf_detach(&b);
}

int mail_json_escape(struct mail_buf *out, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, run = 0;

    if (mail_buf_addch(out, '"') < 0)
        return -1;
    while (i < len) {
        uint32_t cp;
        size_t n = mail_utf8_decode(str + i, len - i, &cp);
        char tmp[8];
        int r = 0;

        if (n == 1 && cp >= 0x20 && cp != 0x7f && cp != '"' && cp != '\\') {
            i++;
            run++;
            continue;
        }
        if (run && mail_buf_add(out, s + i - run, run) < 0)
            return -1;
        run = 0;
        if (n == 0) {
            r = mail_buf_addstr(out, "\\ufffd");
            n = 1;
        } else if (cp == '"' || cp == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)cp;
            r = mail_buf_add(out, tmp, 2);
        } else if (is_unsafe(cp)) {
            snprintf(tmp, sizeof tmp, "\\u%04x", (unsigned)cp);
            r = mail_buf_addstr(out, tmp);
        } else {
            r = mail_buf_add(out, s + i, n);
        }
        if (r < 0)
            return -1;
        i += n;
    }
    if (run && mail_buf_add(out, s + i - run, run) < 0)
        return -1;
    return mail_buf_addch(out, '"');
}

/* ---- the streaming form ------------------------------------------------ */

void mail_term_stream_init(struct mail_term_stream *t, mail_sink_fn sink,
                           void *ctx)
{
    memset(t, 0, sizeof *t);
    t->sink = sink;
    t->ctx = ctx;
}

void mail_term_stream_release(struct mail_term_stream *t)
{
    mail_buf_release(&t->scratch);
    mail_buf_release(&t->join);
}

static int stream_emit(struct mail_term_stream *t, const char *s, size_t n,
                       struct mail_error *err)
{
    if (!n)
        return 0;
    mail_buf_reset(&t->scratch);
    if (mail_term_safe(&t->scratch, s, n, 0) < 0)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    return t->sink(t->ctx, t->scratch.data, t->scratch.len, err);
}

int mail_term_stream_write(void *ctx, const char *data, size_t len,
                           struct mail_error *err)
{
    struct mail_term_stream *t = ctx;
    size_t keep;

    if (!len)
        return 0;
    t->last = data[len - 1];
    if (t->ncarry) {
        mail_buf_reset(&t->join);
        if (mail_buf_add(&t->join, t->carry, t->ncarry) < 0 ||
            mail_buf_add(&t->join, data, len) < 0)
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        data = t->join.data;
        len = t->join.len;
        t->ncarry = 0;
    }
    keep = mail_utf8_incomplete(data, len);
    if (stream_emit(t, data, len - keep, err) < 0)
        return -1;
    memcpy(t->carry, data + len - keep, keep);
    t->ncarry = keep;
    return 0;
}

int mail_term_stream_puts(struct mail_term_stream *t, const char *s,
                          struct mail_error *err)
{
    return mail_term_stream_write(t, s, strlen(s), err);
}

int mail_term_stream_flush(struct mail_term_stream *t, struct mail_error *err)
{
    int rc;

    rc = stream_emit(t, t->carry, t->ncarry, err);
    t->ncarry = 0;
    return rc;
}
