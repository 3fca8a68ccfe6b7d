/*
 * hex.h - the value of one hexadecimal digit, for the decoders that read
 * %XX and =XX escapes (quoted-printable in codec.c, Q encoded words in
 * rfc2047.c).  A private header of the lowest layer (util), included by
 * path ("../util/hex.h") from the layers above; nothing is exported.
 */
#ifndef MAIL_UTIL_HEX_H
#define MAIL_UTIL_HEX_H

/* 0-15 for 0-9, A-F and a-f; -1 for anything else. */
static inline int mail_hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

#endif
