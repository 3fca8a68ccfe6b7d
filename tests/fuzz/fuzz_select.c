/*
 * fuzz_select.c - libFuzzer target for the MSG number/range parser and the
 * listing-state file parser (lib/store/select.c).
 *
 * The input's first line is a MSG argument, the rest a listing file of
 * the folder "/f".  A parsed argument calls back only numbers of at most
 * nine digits, a bad one calls back nothing; a parsed listing's keys are
 * single lines inside the buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/select.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(void *arg, size_t num, struct mail_error *err)
{
    size_t *n = arg;

    (void)err;
    if (num > 999999999)
        abort();
    (*n)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), *nl, *rest;
    struct mail_listing l;
    struct mail_error err;
    size_t calls = 0;
    int rc;

    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    nl = strchr(s, '\n');
    if (nl)
        *nl = '\0';
    mail_error_clear(&err);
    /* Only check large ranges, do not walk them. */
    rc = mail_parse_numbers(s, NULL, NULL, &err);
    if (rc == -1 && err.kind != MAIL_ERR_USAGE)
        abort();
    if (rc == 0 && strlen(s) < 12) {
        rc = mail_parse_numbers(s, count, &calls, &err);
        if (rc != 0 || calls == 0)
            abort();
    }
    rest = strdup(nl ? nl + 1 : "");
    if (rest && mail_listing_parse(rest, "/f", &l, &err) == 0) {
        for (size_t i = 0; i < l.n; i++)
            if (strchr(l.keys[i], '\n') || l.keys[i] < l.buf)
                abort();
        if (l.n && !l.exists)
            abort();
        mail_listing_release(&l);
    }
    free(s);
    return 0;
}
