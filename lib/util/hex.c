/*
 * hex.c - hexadecimal digits and the one percent-decoder (mail/hex.h).
 */
#include "mail/hex.h"

int mail_hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int mail_hex_escape(const char *s, size_t len)
{
    int hi, lo;

    if (len < 3 || (hi = mail_hex_value((unsigned char)s[1])) < 0 ||
        (lo = mail_hex_value((unsigned char)s[2])) < 0)
        return -1;
    return hi * 16 + lo;
}

int mail_pct_decode(struct mail_buf *out, const char *s, size_t len,
                    unsigned flags)
{
    size_t i, run;

    /* the decoded text is never longer: one allocation at most (a hint:
     * a result shorter than len may still fit where len would not) */
    (void)mail_buf_reserve(out, len);
    for (i = 0; i < len; i += run) {
        char c = s[i];
        int v;

        run = 1;
        if (c == '%') {
            v = mail_hex_escape(s + i, len - i);
            if (v >= 0) {
                c = (char)v;
                run = 3;
            } else if (flags & MAIL_PCT_STRICT) {
                return -2;
            }
        } else if (c == '+' && (flags & MAIL_PCT_PLUS_SPACE)) {
            c = ' ';
        }
        if (mail_buf_addch(out, c) < 0)
            return -1;
    }
    return 0;
}
