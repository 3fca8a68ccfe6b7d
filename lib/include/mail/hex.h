/*
 * hex.h - hexadecimal digits and %XX escapes: the one digit reader of the
 * library's decoders (quoted-printable and Q encoded words read =XX in
 * msg/codec.c and msg/rfc2047.c) and the one percent-decoder (RFC 2231
 * parameter values in msg/rfc2231.c, the user name of a server URL in
 * config/url.c, the query of an OAuth 2.0 redirect in config/oauth2.c).
 */
#ifndef MAIL_HEX_H
#define MAIL_HEX_H

#pragma GCC visibility push(default)

#include <stddef.h>

#include "buf.h"

/* 0-15 for 0-9, A-F and a-f; -1 for anything else. */
int mail_hex_value(unsigned char c);

/* The byte of the escape at s[0..len) whose lead character ('%', '=') is
 * s[0]: 0-255 when s[1] and s[2] are hex digits, else -1 (also when len
 * is under 3). */
int mail_hex_escape(const char *s, size_t len);

enum mail_pct_flags {
    MAIL_PCT_STRICT = 1,      /* a '%' without two hex digits: an error
                               * (else it is kept as it is) */
    MAIL_PCT_PLUS_SPACE = 2,  /* '+' is a space (HTML form data, as in a
                               * URL's query) */
};

/*
 * Append s[0..len) to out with each %XX decoded (RFC 3986 2.1).  The
 * decoded bytes may be anything, NUL included: what may not be in the
 * result is the caller's to check.  0; -1 when out cannot grow; -2 on a
 * bad escape with MAIL_PCT_STRICT.  On a failure out may hold part of
 * the result.
 */
int mail_pct_decode(struct mail_buf *out, const char *s, size_t len,
                    unsigned flags);

#pragma GCC visibility pop

#endif
