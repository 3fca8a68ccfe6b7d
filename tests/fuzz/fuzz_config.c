/*
 * fuzz_config.c - libFuzzer target for the config parser (and through it
 * the URL parser and every value checker).
 *
 * Built with -fsanitize=fuzzer when meson is set up with -Dfuzz=true, and
 * linked with replay/replay.c in every build so that the corpus runs as
 * an ordinary test.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_config(const struct mail_config *cfg)
{
    size_t i;

    /* What the parser promises about an accepted file. */
    for (i = 0; i < cfg->naccounts; i++) {
        const struct mail_account *a = &cfg->accounts[i];

        if (!a->name || !*a->name || !a->file || a->line < 1)
            abort();
        if (a->tls_fingerprint && strlen(a->tls_fingerprint) != 64)
            abort();
        if (a->timeout < 1 || a->timeout > 3600 || a->fetch_max_size < 0)
            abort();
        if (a->has_imap && (!a->imap.host || a->imap.port == 0 ||
                            a->imap.proto != MAIL_PROTO_IMAP))
            abort();
        if (a->has_smtp && (!a->smtp.host || a->smtp.port == 0 ||
                            a->smtp.proto != MAIL_PROTO_SMTP))
            abort();
        if (a->has_pop3 && (!a->pop3.host || a->pop3.port == 0 ||
                            a->pop3.proto != MAIL_PROTO_POP3))
            abort();
        (void)mail_account_user(a, a->has_imap ? &a->imap : NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mail_config cfg;
    struct mail_account *acct;
    struct mail_error err;
    int priv;

    for (priv = 0; priv <= 1; priv++) {
        if (mail_config_parse(&cfg, (const char *)data, size, "fuzz.conf",
                              priv, NULL, &err) == 0) {
            check_config(&cfg);
            (void)mail_config_account(&cfg, NULL, &err);
            (void)mail_config_select(&cfg, NULL, NULL, &acct, &err);
        } else if (err.kind != MAIL_ERR_CONFIG ||
                   strncmp(err.msg, "fuzz.conf:", 10) != 0) {
            /* Every parse error names the file (and line). */
            abort();
        }
        mail_config_release(&cfg);
    }
    return 0;
}
