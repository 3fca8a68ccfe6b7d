/*
 * base64.h - the one base64 table and decoder of the library (RFC 4648).
 *
 * Three readers share them, each with its alphabet: the strict decoder
 * for SASL (mail_base64_decode in buf.h), the lenient streaming decoder
 * of MIME bodies (codec.h) and modified UTF-7 folder names (utf7.h).
 * The digits are the same table; the alphabets differ in their last two
 * characters.
 */
#ifndef MAIL_BASE64_H
#define MAIL_BASE64_H

#pragma GCC visibility push(default)

#include <stddef.h>

enum mail_base64_alphabet {
    MAIL_BASE64_STD,    /* "+/" (RFC 4648 section 4) */
    MAIL_BASE64_MIME,   /* "+/", and the URL-safe "-_" seen in the wild */
    MAIL_BASE64_IMAP,   /* "+," (modified base64, RFC 3501 5.1.3) */
};

/* The 64 characters of alphabet a in digit order (NUL-terminated); for
 * MIME the standard ones, which is what an encoder writes. */
const char *mail_base64_chars(enum mail_base64_alphabet a);

/* The digit c stands for in alphabet a (0..63), or -1. */
int mail_base64_digit(enum mail_base64_alphabet a, unsigned char c);

/*
 * Decode whole quanta of in[0..len): four digits of alphabet a give three
 * bytes at out (room for len / 4 * 3).  Stops before the first quantum
 * with anything else in it (padding, a line end, junk), which the caller
 * handles one character at a time.  Returns the input bytes decoded, a
 * multiple of four.
 */
size_t mail_base64_decode_run(enum mail_base64_alphabet a, const char *in,
                              size_t len, unsigned char *out);

#pragma GCC visibility pop

#endif
