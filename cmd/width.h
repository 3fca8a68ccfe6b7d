/*
 * width.h - what the commands add to the library's display widths
 * (mail/width.h, the one width function): printing fitted text to a
 * stdio stream, and the terminal's width.
 */
#ifndef MAIL_CMD_WIDTH_H
#define MAIL_CMD_WIDTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "mail/width.h"

/* The library's, under the names cmd/ used before they moved there. */
static inline int cmd_char_width(const char *s, size_t len, size_t *n)
{
    return mail_char_width(s, len, n);
}

static inline size_t cmd_width(const char *s, size_t len)
{
    return mail_width(s, len);
}

static inline size_t cmd_width_fit(const char *s, size_t len, size_t cols,
                                   size_t *used)
{
    return mail_width_fit(s, len, cols, used);
}

/*
 * Print s[0..len) in exactly `cols` columns: cut with "…" when it is
 * wider, then padded with spaces on the right (pad_left: on the left)
 * when pad is set.  Returns the columns printed.
 */
size_t cmd_print_fitted(FILE *f, const char *s, size_t len, size_t cols,
                        bool pad, bool pad_left);

/* The terminal width for f: $COLUMNS when set, else the window size when
 * f is a terminal; 0 when unknown (then nothing is cut). */
size_t cmd_term_columns(FILE *f);

#endif
