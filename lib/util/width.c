/*
 * width.c - display width of UTF-8 text; see width.h.
 *
 * wcwidth(3) answers for the thread's LC_CTYPE locale, and a C or Latin-1
 * locale knows no width for U+4E2D.  Our output is UTF-8 whatever the
 * locale, so widths are asked of a UTF-8 locale, made once (pthread_once:
 * the reader's threads may ask first) and switched to with uselocale(3)
 * for the duration of the call.
 */
#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <wchar.h>

#include "mail/termsafe.h"
#include "mail/width.h"

static locale_t utf8_loc;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void make_utf8_locale(void)
{
    utf8_loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    if (!utf8_loc)
        utf8_loc = newlocale(LC_CTYPE_MASK, "en_US.UTF-8", (locale_t)0);
}

/* Without any UTF-8 locale: the common combining and wide ranges. */
static int fallback_width(uint32_t cp)
{
    if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) ||
        (cp >= 0x20d0 && cp <= 0x20ff) || (cp >= 0xfe00 && cp <= 0xfe0f) ||
        (cp >= 0xfe20 && cp <= 0xfe2f))
        return 0;
    if ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
        (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
        (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
        (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1faff) ||
        (cp >= 0x20000 && cp <= 0x3fffd))
        return 2;
    return 1;
}

static int cp_width(uint32_t cp)
{
    locale_t old;
    int w;

    if (cp < 0x7f)
        return cp < 0x20 ? 0 : 1;
    pthread_once(&utf8_once, make_utf8_locale);
    if (!utf8_loc)
        return fallback_width(cp);
    old = uselocale(utf8_loc);
    w = wcwidth((wchar_t)cp);
    uselocale(old);
    /* Unassigned or a control: the terminal shows something, say 1. */
    return w < 0 ? 1 : w;
}

int mail_char_width(const char *s, size_t len, size_t *n)
{
    uint32_t cp;

    if (len == 0) {
        *n = 0;
        return 0;
    }
    if ((unsigned char)s[0] < 0x80) {
        *n = 1;
        return cp_width((unsigned char)s[0]);
    }
    *n = mail_utf8_decode(s, len, &cp);
    if (*n == 0) {
        *n = 1;
        return 1;
    }
    return cp_width(cp);
}

size_t mail_width(const char *s, size_t len)
{
    size_t i = 0, w = 0, n;

    while (i < len) {
        w += (size_t)mail_char_width(s + i, len - i, &n);
        i += n;
    }
    return w;
}

size_t mail_width_fit(const char *s, size_t len, size_t cols, size_t *used)
{
    size_t i = 0, w = 0, n;

    while (i < len) {
        int cw = mail_char_width(s + i, len - i, &n);

        if (w + (size_t)cw > cols)
            break;
        w += (size_t)cw;
        i += n;
    }
    if (used)
        *used = w;
    return i;
}

static bool is_ascii(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80)
            return false;
    return true;
}

int mail_width_put(struct mail_buf *b, const char *s, size_t len,
                   size_t cols, bool pad, size_t min_cols)
{
    bool ascii = is_ascii(s, len);
    size_t w = ascii ? len : mail_width(s, len), used;
    int rc = 0;

    if (cols == 0) {
        rc |= mail_buf_add(b, s, len);
        for (; pad && w < min_cols; w++)
            rc |= mail_buf_addch(b, ' ');
        return rc < 0 ? -1 : 0;
    }
    if (w > cols) {
        size_t n = ascii ? cols - 1 : mail_width_fit(s, len, cols - 1, &used);

        if (ascii)
            used = n;
        rc |= mail_buf_add(b, s, n);
        rc |= mail_buf_add(b, "\xe2\x80\xa6", 3);
        /* a wide character that did not fit leaves a column */
        for (w = used + 1; pad && w < cols; w++)
            rc |= mail_buf_addch(b, ' ');
        return rc < 0 ? -1 : 0;
    }
    rc |= mail_buf_add(b, s, len);
    for (; pad && w < cols; w++)
        rc |= mail_buf_addch(b, ' ');
    return rc < 0 ? -1 : 0;
}
