/*
 * width.c - display width of UTF-8 text; see width.h.
 *
 * wcwidth(3) answers for the thread's LC_CTYPE locale, and a C or Latin-1
 * locale knows no width for U+4E2D.  Our output is UTF-8 whatever the
 * locale, so widths are asked of a UTF-8 locale, switched to with
 * uselocale(3) for the duration of the call.
 */
#include <langinfo.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <wchar.h>

#include "width.h"
#include "mail/termsafe.h"

locale_t cmd_utf8_locale(void)
{
    static locale_t loc;
    static bool done;
    const char *cs;

    if (done)
        return loc;
    done = true;
    cs = nl_langinfo(CODESET);
    if (cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0)) {
        loc = duplocale(LC_GLOBAL_LOCALE);
        if (loc)
            return loc;
    }
    loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    if (!loc)
        loc = newlocale(LC_CTYPE_MASK, "en_US.UTF-8", (locale_t)0);
    return loc;
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

static int cp_width(uint32_t cp, locale_t loc)
{
    locale_t old;
    int w;

    if (cp < 0x7f)
        return cp < 0x20 ? 0 : 1;
    if (!loc)
        return fallback_width(cp);
    old = uselocale(loc);
    w = wcwidth((wchar_t)cp);
    uselocale(old);
    /* Unassigned or a control: the terminal shows something, say 1. */
    return w < 0 ? 1 : w;
}

int cmd_char_width(const char *s, size_t len, size_t *n)
{
    uint32_t cp;

    if (len == 0) {
        *n = 0;
        return 0;
    }
    *n = mail_utf8_decode(s, len, &cp);
    if (*n == 0) {
        *n = 1;
        return 1;
    }
    return cp_width(cp, cmd_utf8_locale());
}

size_t cmd_width(const char *s, size_t len)
{
    size_t i = 0, w = 0, n;

    while (i < len) {
        w += (size_t)cmd_char_width(s + i, len - i, &n);
        i += n;
    }
    return w;
}

size_t cmd_width_fit(const char *s, size_t len, size_t cols, size_t *used)
{
    size_t i = 0, w = 0, n;

    while (i < len) {
        int cw = cmd_char_width(s + i, len - i, &n);

        if (w + (size_t)cw > cols)
            break;
        w += (size_t)cw;
        i += n;
    }
    if (used)
        *used = w;
    return i;
}

size_t cmd_print_fitted(FILE *f, const char *s, size_t len, size_t cols,
                        bool pad, bool pad_left)
{
    size_t w = cmd_width(s, len), used, n;
    bool cut = false;

    if (w > cols) {
        /* Room for the ellipsis (one column) when there is any. */
        n = cmd_width_fit(s, len, cols ? cols - 1 : 0, &used);
        len = n;
        w = used;
        cut = cols > 0;
    }
    if (pad && pad_left)
        for (size_t i = w + cut; i < cols; i++)
            fputc(' ', f);
    fwrite(s, 1, len, f);
    if (cut) {
        fputs("\xe2\x80\xa6", f);
        w++;
    }
    if (pad && !pad_left)
        for (size_t i = w; i < cols; i++)
            fputc(' ', f);
    return pad && w < cols ? cols : w;
}

size_t cmd_term_columns(FILE *f)
{
    const char *c = getenv("COLUMNS");
    struct winsize ws;

    if (c && *c) {
        char *end;
        unsigned long v = strtoul(c, &end, 10);

        if (*end == '\0' && v > 0 && v < 10000)
            return v;
    }
    if (isatty(fileno(f)) && ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 &&
        ws.ws_col > 0)
        return ws.ws_col;
    return 0;
}
