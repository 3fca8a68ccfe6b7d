/*
 * width.h - display width of UTF-8 text on a terminal, and fitting text
 * into columns without splitting a character.
 *
 * Widths come from wcwidth(3) in a UTF-8 locale (C.UTF-8 when the
 * user's locale is not UTF-8, since everything we print is UTF-8): East
 * Asian wide characters count 2, combining marks 0.  Bytes that are not
 * valid UTF-8 count 1 each.  Pass text that went through mail_term_safe
 * first: control characters have no sensible width.
 */
#ifndef MAIL_CMD_WIDTH_H
#define MAIL_CMD_WIDTH_H

#include <locale.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Width in columns of the character at s[0..len), and its length in bytes
 * in *n (>= 1 when len > 0). */
int cmd_char_width(const char *s, size_t len, size_t *n);

/* Width in columns of s[0..len). */
size_t cmd_width(const char *s, size_t len);

/*
 * How many bytes of s[0..len) fit in `cols` columns, whole characters
 * only (combining marks stay with their base).  *used gets the width of
 * those bytes (may be NULL).
 */
size_t cmd_width_fit(const char *s, size_t len, size_t cols, size_t *used);

/*
 * Print s[0..len) in exactly `cols` columns: cut with "…" when it is
 * wider, then padded with spaces on the right (pad_left: on the left)
 * when pad is set.  Returns the columns printed.
 */
size_t cmd_print_fitted(FILE *f, const char *s, size_t len, size_t cols,
                        bool pad, bool pad_left);

/* A UTF-8 LC_CTYPE locale for wcwidth and towlower (the user's when it is
 * UTF-8, else C.UTF-8), or (locale_t)0 when none is available. */
locale_t cmd_utf8_locale(void);

/* The terminal width for f: $COLUMNS when set, else the window size when
 * f is a terminal; 0 when unknown (then nothing is cut). */
size_t cmd_term_columns(FILE *f);

#endif
