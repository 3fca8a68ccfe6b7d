/*
 * fuzz_date.c - libFuzzer target for the date reader and writers.
 *
 * Whatever parses must format, and the RFC 5322 form must parse back to
 * the same instant and zone.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/date.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    char buf[MAIL_DATE_MAX], buf2[MAIL_DATE_MAX];
    time_t t, t2;
    int off, off2;

    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    if (mail_date_parse(s, &t, &off) == 0) {
        if (off <= -24 * 60 || off >= 24 * 60)
            abort();
        if (mail_date_format_rfc5322(buf, sizeof buf, t, off) < 0 ||
            mail_date_format_rfc3339(buf2, sizeof buf2, t, off) < 0)
            abort();
        if (mail_date_parse(buf, &t2, &off2) < 0 || t2 != t || off2 != off)
            abort();
        if (mail_date_parse(buf2, &t2, &off2) < 0 || t2 != t || off2 != off)
            abort();
    }
    free(s);
    return 0;
}
