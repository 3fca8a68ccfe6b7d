/*
 * rfc2047.c - encoded words: a lenient decoder for display and a strict
 * encoder for composing.
 */
#include <string.h>

#include "mail/charset.h"
#include "mail/codec.h"
#include "mail/hex.h"
#include "mail/rfc2047.h"

#define EW_MAX 75           /* longest encoded word we write */
#define EW_SCAN_MAX 4096    /* longest encoded word we accept when reading */
#define CHARSET_MAX 64

struct ew {
    char charset[CHARSET_MAX];
    char enc;                /* 'Q' or 'B' */
    const char *text;
    size_t textlen;
    size_t len;              /* whole word, "=?" to "?=" */
};

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Parse an encoded word at s[0..len) (s starts with "=?"). */
static int parse_ew(const char *s, size_t len, struct ew *w)
{
    size_t i = 2, cs, n;
    const char *end;

    if (len < 8 || s[0] != '=' || s[1] != '?')
        return -1;
    cs = i;
    while (i < len && s[i] != '?' && !is_blank(s[i]) &&
           i - cs < CHARSET_MAX - 1)
        i++;
    if (i >= len || s[i] != '?' || i == cs)
        return -1;
    n = i - cs;
    memcpy(w->charset, s + cs, n);
    w->charset[n] = '\0';
    /* RFC 2231 language suffix: "utf-8*en". */
    if (strchr(w->charset, '*'))
        *strchr(w->charset, '*') = '\0';
    i++;
    if (i + 1 >= len || s[i + 1] != '?')
        return -1;
    switch (s[i]) {
    case 'Q':
    case 'q':
        w->enc = 'Q';
        break;
    case 'B':
    case 'b':
        w->enc = 'B';
        break;
    default:
        return -1;
    }
    i += 2;
    w->text = s + i;
    /* The text runs to the next "?=", on the same line, bounded. */
    n = len - i < EW_SCAN_MAX ? len - i : EW_SCAN_MAX;
    end = NULL;
    for (size_t k = 0; k + 1 < n; k++) {
        if (w->text[k] == '\r' || w->text[k] == '\n')
            break;
        if (w->text[k] == '?' && w->text[k + 1] == '=') {
            end = w->text + k;
            break;
        }
    }
    if (!end)
        return -1;
    w->textlen = (size_t)(end - w->text);
    w->len = i + w->textlen + 2;
    return 0;
}

static int q_decode(struct mail_buf *out, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        char c = s[i];
        int h1, h2;

        if (c == '_') {
            c = ' ';
        } else if (c == '=' && i + 2 < n &&
                   (h1 = mail_hex_value((unsigned char)s[i + 1])) >= 0 &&
                   (h2 = mail_hex_value((unsigned char)s[i + 2])) >= 0) {
            c = (char)(h1 * 16 + h2);
            i += 2;
        }
        if (mail_buf_addch(out, c) < 0)
            return -1;
    }
    return 0;
}

/* Convert the raw bytes of a run of words in one charset and append them,
 * with CR, LF and NUL turned into spaces. */
static int flush_run(struct mail_buf *out, struct mail_buf *raw,
                     const char *charset)
{
    size_t start = out->len, i;

    if (raw->len == 0)
        return 0;
    if (mail_charset_to_utf8(out, charset, raw->data, raw->len) < 0)
        return -1;
    for (i = start; i < out->len; i++)
        if (out->data[i] == '\0' || out->data[i] == '\r' ||
            out->data[i] == '\n')
            out->data[i] = ' ';
    mail_buf_reset(raw);
    return 0;
}

int mail_rfc2047_decode(struct mail_buf *out, const char *s, size_t len)
{
    struct mail_buf raw;
    char runcs[CHARSET_MAX] = "";
    size_t i = 0, plain = 0;
    size_t after_ew = (size_t)-1;   /* end of the last encoded word */
    int r = -1;

    mail_buf_init(&raw, len + 1);
    while (i < len) {
        struct ew w;
        const char *q = memchr(s + i, '=', len - i);

        if (!q)
            break;
        i = (size_t)(q - s);
        if (i + 1 >= len || s[i + 1] != '?' || parse_ew(s + i, len - i, &w)) {
            i++;
            continue;
        }
        /* Text between the previous encoded word and this one: dropped
         * if it is only whitespace, else the run ends. */
        if (after_ew != (size_t)-1) {
            size_t k = after_ew;

            while (k < i && is_blank(s[k]))
                k++;
            if (k < i || mail_strcasecmp(runcs, w.charset) != 0) {
                if (flush_run(out, &raw, runcs) < 0)
                    goto done;
            }
            if (k < i && mail_utf8_sanitize(out, s + after_ew,
                                            i - after_ew) < 0)
                goto done;
        } else if (mail_utf8_sanitize(out, s + plain, i - plain) < 0) {
            goto done;
        }
        mail_strlcpy(runcs, w.charset, sizeof runcs);
        if (w.enc == 'Q') {
            if (q_decode(&raw, w.text, w.textlen) < 0)
                goto done;
        } else if (mail_decode(&raw, MAIL_CTE_BASE64, w.text,
                               w.textlen) < 0) {
            goto done;
        }
        i += w.len;
        after_ew = plain = i;
    }
    if (flush_run(out, &raw, runcs) < 0 ||
        mail_utf8_sanitize(out, s + plain, len - plain) < 0)
        goto done;
    r = 0;
done:
    mail_buf_release(&raw);
    return r;
}

/* --- encoding ----------------------------------------------------------- */

int mail_rfc2047_needed(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if ((c < 32 && c != '\t') || c >= 127)
            return 1;
        if (c == '=' && i + 1 < len && s[i + 1] == '?')
            return 1;
    }
    return 0;
}

static int q_literal(unsigned char c, enum mail_rfc2047_context ctx)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9'))
        return 1;
    if (ctx == MAIL_RFC2047_PHRASE)
        return c == '!' || c == '*' || c == '+' || c == '-' || c == '/';
    return c > 32 && c < 127 && c != '=' && c != '?' && c != '_';
}

/* Bytes needed to Q-encode c. */
static size_t q_len(unsigned char c, enum mail_rfc2047_context ctx)
{
    return (c == ' ' || q_literal(c, ctx)) ? 1 : 3;
}

static int encode_run(struct mail_buf *out, const char *s, size_t len,
                      enum mail_rfc2047_context ctx)
{
    static const char hex[] = "0123456789ABCDEF";
    static const char prefix_q[] = "=?UTF-8?Q?", prefix_b[] = "=?UTF-8?B?";
    /* 75 minus "=?UTF-8?X?" and "?=". */
    const size_t payload = EW_MAX - (sizeof prefix_q - 1) - 2;
    size_t nchars = 0, nonascii = 0, i = 0;
    int use_q;

    /* Q when mostly ASCII (readable in the raw header), else B. */
    for (i = 0; i < len;) {
        size_t cl = mail_utf8_seqlen(s + i, len - i);

        /* A byte that is not UTF-8 is one character below too. */
        nchars++;
        if (cl != 1)
            nonascii++;
        i += cl ? cl : 1;
    }
    use_q = nonascii * 2 <= nchars;
    i = 0;
    while (i < len) {
        size_t start = i, used = 0;

        /* Take whole characters while they fit. */
        while (i < len) {
            size_t cl = mail_utf8_seqlen(s + i, len - i), cost = 0, k;

            if (cl == 0)
                cl = 1;
            if (use_q) {
                for (k = 0; k < cl; k++)
                    cost += q_len((unsigned char)s[i + k], ctx);
                if (used + cost > payload)
                    break;
            } else {
                cost = cl;
                if ((used + cost + 2) / 3 * 4 > payload)
                    break;
            }
            used += cost;
            i += cl;
        }
        if (i == start)
            i++;        /* cannot happen with valid UTF-8; be safe */
        if (start > 0 && mail_buf_addch(out, ' ') < 0)
            return -1;
        if (mail_buf_addstr(out, use_q ? prefix_q : prefix_b) < 0)
            return -1;
        if (use_q) {
            size_t k;

            for (k = start; k < i; k++) {
                unsigned char c = (unsigned char)s[k];
                int rr;

                if (c == ' ')
                    rr = mail_buf_addch(out, '_');
                else if (q_literal(c, ctx))
                    rr = mail_buf_addch(out, (char)c);
                else
                    rr = mail_buf_printf(out, "=%c%c", hex[c >> 4],
                                         hex[c & 15]);
                if (rr < 0)
                    return -1;
            }
        } else if (mail_base64_encode(out, s + start, i - start) < 0) {
            return -1;
        }
        if (mail_buf_addstr(out, "?=") < 0)
            return -1;
    }
    return 0;
}

int mail_rfc2047_encode(struct mail_buf *out, const char *s, size_t len,
                        enum mail_rfc2047_context ctx)
{
    struct mail_buf clean;
    size_t i, run_start = 0, run_end = 0;
    int in_run = 0, r = -1;

    if (!mail_rfc2047_needed(s, len))
        return mail_buf_add(out, s, len);
    mail_buf_init(&clean, 0);
    if (mail_utf8_sanitize(&clean, s, len) < 0)
        goto done;
    s = clean.data;
    len = clean.len;
    if (ctx == MAIL_RFC2047_PHRASE) {
        r = encode_run(out, s, len, ctx);
        goto done;
    }
    /* Unstructured text: words needing encoding, with the blanks between
     * them, form runs; other words and blanks are copied. */
    i = 0;
    while (i <= len) {
        size_t ws = i, we;

        while (ws < len && (s[ws] == ' ' || s[ws] == '\t'))
            ws++;
        we = ws;
        while (we < len && s[we] != ' ' && s[we] != '\t')
            we++;
        if (ws == len) {
            /* Trailing blanks. */
            if (in_run && encode_run(out, s + run_start,
                                     run_end - run_start, ctx) < 0)
                goto done;
            if (mail_buf_add(out, s + (in_run ? run_end : i),
                             len - (in_run ? run_end : i)) < 0)
                goto done;
            break;
        }
        if (mail_rfc2047_needed(s + ws, we - ws)) {
            if (!in_run) {
                if (mail_buf_add(out, s + i, ws - i) < 0)
                    goto done;
                run_start = ws;
                in_run = 1;
            }
            run_end = we;
        } else {
            if (in_run) {
                if (encode_run(out, s + run_start, run_end - run_start,
                               ctx) < 0)
                    goto done;
                in_run = 0;
                i = run_end;
            }
            if (mail_buf_add(out, s + i, we - i) < 0)
                goto done;
        }
        i = we;
        if (we == len) {
            if (in_run && encode_run(out, s + run_start,
                                     run_end - run_start, ctx) < 0)
                goto done;
            break;
        }
    }
    r = 0;
done:
    mail_buf_release(&clean);
    return r;
}
