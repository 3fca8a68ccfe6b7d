/*
 * utf7.h - modified UTF-7 for IMAP mailbox names (RFC 3501 5.1.3).
 *
 * Both functions append to out (whose cap bounds the result) and return 0,
 * or -1 on malformed input or when out cannot grow; out may then hold a
 * partial result.  Neither blocks nor allocates beyond out.
 */
#ifndef MAIL_UTF7_H
#define MAIL_UTF7_H

#pragma GCC visibility push(default)

#include <stddef.h>

#include "buf.h"

/* Modified UTF-7 to UTF-8.  Strict: a '&' shift must be closed by '-',
 * hold whole UTF-16 units with zero padding bits and proper surrogate
 * pairs, and bytes outside a shift must be printable ASCII. */
int mail_mutf7_decode(struct mail_buf *out, const char *in, size_t len);

/* UTF-8 to modified UTF-7; -1 on invalid UTF-8 (overlong forms,
 * surrogates, code points past U+10FFFF). */
int mail_mutf7_encode(struct mail_buf *out, const char *in, size_t len);

#pragma GCC visibility pop

#endif
