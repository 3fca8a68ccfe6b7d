/*
 * fuzz_address.c - libFuzzer target for the header parser and the
 * address-list parser and formatter.
 *
 * The input is a header block; every field is parsed as an address list,
 * the list is formatted and parsed again.  Checks that names and
 * addresses are valid UTF-8 C strings and that formatting is stable
 * (format(parse(format(list))) == format(list)).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/address.h"
#include "mail/charset.h"
#include "mail/header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_list(const struct mail_addrlist *l)
{
    size_t i;

    for (i = 0; i < l->n; i++) {
        const struct mail_address *a = &l->v[i];

        if (!a->addr || !mail_utf8_valid(a->addr, strlen(a->addr)))
            abort();
        if (a->name && (!*a->name ||
                        !mail_utf8_valid(a->name, strlen(a->name))))
            abort();
        if (a->group && !mail_utf8_valid(a->group, strlen(a->group)))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mail_header h = MAIL_HEADER_INIT;
    size_t i;

    if (mail_header_parse(&h, (const char *)data, size, NULL) < 0)
        return 0;
    if (h.len > size)
        abort();
    for (i = 0; i < h.nfields; i++) {
        struct mail_addrlist l = MAIL_ADDRLIST_INIT, l2 = MAIL_ADDRLIST_INIT;
        struct mail_buf f1 = MAIL_BUF_INIT, f2 = MAIL_BUF_INIT;

        if (strlen(h.fields[i].value) != h.fields[i].value_len)
            abort();
        if (mail_addrlist_parse(&l, h.fields[i].value, NULL) < 0)
            abort();
        check_list(&l);
        if (mail_addrlist_format(&f1, &l) < 0 ||
            mail_addrlist_parse(&l2, f1.data ? f1.data : "", NULL) < 0)
            abort();
        check_list(&l2);
        if (mail_addrlist_format(&f2, &l2) < 0)
            abort();
        /* Formatting is a fixed point after one round. */
        {
            struct mail_addrlist l3 = MAIL_ADDRLIST_INIT;
            struct mail_buf f3 = MAIL_BUF_INIT;

            if (mail_addrlist_parse(&l3, f2.data ? f2.data : "", NULL) < 0 ||
                mail_addrlist_format(&f3, &l3) < 0)
                abort();
            if (f2.len != f3.len ||
                (f2.len && memcmp(f2.data, f3.data, f2.len) != 0))
                abort();
            mail_addrlist_release(&l3);
            mail_buf_release(&f3);
        }
        mail_addrlist_release(&l);
        mail_addrlist_release(&l2);
        mail_buf_release(&f1);
        mail_buf_release(&f2);
    }
    mail_header_release(&h);
    return 0;
}
