/*
 * rfc2047.h - encoded words in header fields (RFC 2047), both ways.
 *
 * Decoding turns a raw header value into UTF-8 display text: encoded
 * words ("=?charset?Q?...?=" and "=?charset?B?...?=", any charset that
 * charset.h converts, an RFC 2231 language suffix "*en" ignored) are
 * decoded, whitespace between two adjacent encoded words is dropped, and
 * the bytes of adjacent words in the same charset are joined before
 * conversion, so a multi-byte character split across two words comes out
 * whole.  Text outside encoded words is made valid UTF-8 (raw 8-bit
 * bytes: UTF-8 if valid, else windows-1252).  Leniencies, listed in
 * doc/VIOLATIONS.md: encoded words are also decoded inside quoted strings
 * and when glued to other text, and may contain blanks; a malformed
 * encoded word is left as it is.  CR, LF and NUL produced by decoding
 * become spaces, so the result is one line and a C string.
 *
 * Encoding is for the composer: text that needs it (non-ASCII, control
 * characters, or something that looks like an encoded word) becomes
 * UTF-8 encoded words of at most 75 characters, split on character
 * boundaries, separated by single spaces (where the composer may fold),
 * Q when at most half the characters are non-ASCII, else B.
 */
#ifndef MAIL_RFC2047_H
#define MAIL_RFC2047_H

#pragma GCC visibility push(default)

#include <stddef.h>

#include "buf.h"

/*
 * Decode s[0..len) to UTF-8, appended to out.  Never fails on any input;
 * -1 only on ENOMEM or when out's cap is reached.
 */
int mail_rfc2047_decode(struct mail_buf *out, const char *s, size_t len);

enum mail_rfc2047_context {
    /* Unstructured text (Subject, Comments): only the words that need it
     * are encoded, and plain words stay readable. */
    MAIL_RFC2047_TEXT,
    /* A phrase (display name in an address): if anything needs encoding
     * the whole phrase becomes encoded words, with the stricter phrase
     * character set (RFC 2047 5(3)), so no quoting is needed. */
    MAIL_RFC2047_PHRASE,
};

/*
 * Encode UTF-8 text s[0..len) for a header field, appended to out.  Text
 * that needs no encoding is appended unchanged.  Invalid UTF-8 in s is
 * first read as windows-1252 (mail_utf8_sanitize).  -1 on ENOMEM or cap.
 */
int mail_rfc2047_encode(struct mail_buf *out, const char *s, size_t len,
                        enum mail_rfc2047_context ctx);

/* Does s[0..len) need encoding in a header (non-ASCII, control characters
 * other than tab, or "=?")?  Returns 1 or 0. */
int mail_rfc2047_needed(const char *s, size_t len);

#pragma GCC visibility pop

#endif
