/*
 * width.c - fitted text on a stdio stream and the terminal's width; the
 * widths themselves are the library's (mail/width.h).
 */
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "width.h"

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
