/*
 * width.h - the one display width of UTF-8 text on a terminal, and fitting
 * text into columns without splitting a character: for `mail ls`, `mail
 * folders` and the reader alike.
 *
 * Widths come from wcwidth(3) asked of a UTF-8 locale (C.UTF-8, else
 * en_US.UTF-8; whatever the caller's locale, since everything we print is
 * UTF-8); without any, a built-in table of the common wide and combining
 * ranges.  East Asian wide characters and emoji count 2, combining marks
 * 0.  Bytes that are not valid UTF-8 count 1 each.  Pass text that went
 * through mail_term_safe first: control characters have no sensible width
 * (an ASCII control counts 0).
 */
#ifndef MAIL_WIDTH_H
#define MAIL_WIDTH_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Width in columns of the character at s[0..len), and its length in bytes
 * in *n (>= 1 when len > 0). */
int mail_char_width(const char *s, size_t len, size_t *n);

/* Width in columns of s[0..len). */
size_t mail_width(const char *s, size_t len);

/*
 * How many bytes of s[0..len) fit in `cols` columns, whole characters
 * only (combining marks stay with their base).  *used gets the width of
 * those bytes (may be NULL).
 */
size_t mail_width_fit(const char *s, size_t len, size_t cols, size_t *used);

/*
 * Append s[0..len) (terminal-safe) to b in `cols` columns: cut with "…"
 * (U+2026, one column) when it is wider, padded with blanks on the right
 * when pad (a wide character that did not fit leaves its column blank).
 * cols 0: the text whole, padded to min_cols when pad.  The width of
 * plain ASCII is its length (no decoding).  -1 on ENOMEM or cap.
 */
int mail_width_put(struct mail_buf *b, const char *s, size_t len,
                   size_t cols, bool pad, size_t min_cols);

#pragma GCC visibility pop

#endif
