/*
 * alias.c - `mail alias`: the address book on the command line.
 *
 *   mail alias                  the aliases, NAME<TAB>VALUE (--json)
 *   mail alias NAME             its expansion (66 when there is none)
 *   mail alias NAME ADDR...     set it in the aliases file
 *   mail alias -d NAME          remove it
 *   mail alias -q STRING        query the whole book (aliases, collected
 *                               addresses, the address-command) in
 *                               mutt's query_command format, so that
 *                               `set query_command="mail alias -q %s"`
 *                               works in mutt and neomutt
 *
 * The work is the library's (mail/aliases.h, mail/addrbook.h); this file
 * parses arguments and prints, terminal-safe.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cmd.h"
#include "mail/addrbook.h"
#include "mail/aliases.h"
#include "mail/termsafe.h"

enum { OPT_DELETE = OPT_FIRST_COMMAND_OPTION, OPT_QUERY };

/* The account for its address-command and domain: none is fine (no
 * config file, no account), a broken config file is not. */
static int book_account(struct cmd_ctx *ctx, const struct mail_account **acct)
{
    struct mail_account *a = NULL;
    struct mail_error err;

    *acct = NULL;
    mail_error_clear(&err);
    if (!ctx->cfg_loaded) {
        if (mail_config_load(&ctx->cfg, ctx->config_path, &ctx->paths,
                             &err) < 0)
            return cmd_fail(&err);
        ctx->cfg_loaded = true;
    }
    if (ctx->cfg.naccounts == 0 && !ctx->account_name)
        return 0;
    if (mail_config_select(&ctx->cfg, ctx->account_name, &ctx->ov, &a,
                           &err) < 0)
        return cmd_fail(&err);
    *acct = a;
    return 0;
}

static int open_book(struct cmd_ctx *ctx, struct mail_addrbook **book,
                     const struct mail_account **acct)
{
    struct mail_addrbook_opts o = { .paths = &ctx->paths };
    struct mail_error err;
    int rc = book_account(ctx, acct);

    if (rc)
        return rc;
    o.address_command = *acct ? (*acct)->address_command : NULL;
    mail_error_clear(&err);
    if (!(*book = mail_addrbook_open(&o, &err)))
        return cmd_fail(&err);
    return 0;
}

/* One field on one line: terminal-safe, tabs and line breaks shown. */
static void field(const char *s)
{
    if (s)
        out_safe_str(stdout, s);
}

static int list_aliases(struct cmd_ctx *ctx, bool json)
{
    struct mail_addrbook *book;
    const struct mail_account *acct;
    const struct mail_aliases *al;
    bool first = true;
    int rc = open_book(ctx, &book, &acct);

    if (rc)
        return rc;
    al = mail_addrbook_aliases(book);
    if (json)
        fputc('[', stdout);
    for (size_t i = 0; i < al->n; i++) {
        bool later = false;

        /* A later definition wins: show that one only. */
        for (size_t k = i + 1; k < al->n && !later; k++)
            later = mail_strcasecmp(al->v[k].name, al->v[i].name) == 0;
        if (later)
            continue;
        if (json) {
            fputs(first ? "\n  {\"name\": " : ",\n  {\"name\": ", stdout);
            json_str(stdout, al->v[i].name);
            fputs(", \"value\": ", stdout);
            json_str(stdout, al->v[i].value);
            fputc('}', stdout);
        } else {
            field(al->v[i].name);
            fputc('\t', stdout);
            field(al->v[i].value);
            fputc('\n', stdout);
        }
        first = false;
    }
    if (json)
        fputs(first ? "]\n" : "\n]\n", stdout);
    mail_addrbook_free(book);
    return 0;
}

static int show_alias(struct cmd_ctx *ctx, const char *name)
{
    struct mail_addrbook *book;
    const struct mail_account *acct;
    struct mail_buf out = MAIL_BUF_INIT;
    struct mail_error err;
    int rc = open_book(ctx, &book, &acct);

    if (rc)
        return rc;
    mail_error_clear(&err);
    if (!mail_aliases_lookup(mail_addrbook_aliases(book), name)) {
        rc = cmd_failf(EX_NOINPUT, "no alias '%s'", name);
    } else if (mail_rcpt_resolve(mail_addrbook_aliases(book),
                                 acct ? acct->domain : NULL, name, false,
                                 &out, &err) < 0) {
        rc = cmd_fail(&err);
    } else {
        field(out.data ? out.data : "");
        fputc('\n', stdout);
    }
    mail_buf_release(&out);
    mail_addrbook_free(book);
    return rc;
}

static int change_alias(struct cmd_ctx *ctx, const char *name,
                        char *const *addrs, size_t n)
{
    struct mail_buf value = MAIL_BUF_INIT;
    struct mail_error err;
    char *path;
    int rc = 0;

    mail_error_clear(&err);
    if (!(path = mail_aliases_default_path(&ctx->paths, &err)))
        return cmd_fail(&err);
    for (size_t i = 0; i < n; i++)
        if ((i && mail_buf_addstr(&value, ", ") < 0) ||
            mail_buf_addstr(&value, addrs[i]) < 0) {
            rc = cmd_failf(EX_USAGE, "addresses too long");
            goto out;
        }
    if (mail_aliases_file_set(path, name, n ? value.data : NULL, &err) < 0)
        rc = cmd_fail(&err);
out:
    mail_buf_release(&value);
    free(path);
    return rc;
}

static const char *source_name(enum mail_addrbook_source s)
{
    return s == MAIL_ADDRBOOK_ALIAS ? "alias"
           : s == MAIL_ADDRBOOK_COLLECTED ? "sent" : "command";
}

static void query_json(const struct mail_addrbook_results *r)
{
    fputc('[', stdout);
    for (size_t i = 0; i < r->n; i++) {
        const struct mail_addrbook_entry *e = &r->v[i];

        fputs(i ? ",\n  {\"source\": " : "\n  {\"source\": ", stdout);
        json_str(stdout, source_name(e->source));
        fputs(", \"alias\": ", stdout);
        json_str(stdout, e->alias);
        fputs(e->alias ? ", \"value\": " : ", \"address\": ", stdout);
        json_str(stdout, e->addr);
        fputs(", \"name\": ", stdout);
        json_str(stdout, e->name);
        fputs(", \"info\": ", stdout);
        json_str(stdout, e->info);
        if (e->source == MAIL_ADDRBOOK_COLLECTED)
            fprintf(stdout, ", \"count\": %u", e->count);
        fputc('}', stdout);
    }
    fputs(r->n ? "\n]\n" : "]\n", stdout);
}

/* mutt's query format: a first line for the user, then one entry a line,
 * ADDRESS<TAB>NAME<TAB>OTHER. */
static void query_mutt(const struct mail_aliases *al, const char *q,
                       const struct mail_addrbook_results *r)
{
    fprintf(stdout, "mail alias: %zu %s for '", r->n,
            r->n == 1 ? "entry" : "entries");
    field(q);
    fputs("'\n", stdout);
    for (size_t i = 0; i < r->n; i++) {
        const struct mail_addrbook_entry *e = &r->v[i];
        struct mail_addrlist l = MAIL_ADDRLIST_INIT;
        struct mail_buf x = MAIL_BUF_INIT;

        if (e->alias) {
            /* Expanded (aliases in it too) when it can be; one address:
             * it and its name; a list: the list, named by the alias. */
            const char *v = mail_rcpt_resolve(al, NULL, e->alias, false, &x,
                                              NULL) == 0 && x.data
                            ? x.data : e->addr;

            if (mail_addrlist_parse(&l, v, NULL) == 0 && l.n == 1 &&
                strchr(l.v[0].addr, '@')) {
                field(l.v[0].addr);
                fputc('\t', stdout);
                field(l.v[0].name ? l.v[0].name : e->alias);
            } else {
                field(v);
                fputc('\t', stdout);
                field(e->alias);
            }
            fputs("\talias ", stdout);
            field(e->alias);
            mail_addrlist_release(&l);
            mail_buf_release(&x);
        } else {
            field(e->addr);
            fputc('\t', stdout);
            field(e->name);
            fputc('\t', stdout);
            if (e->source == MAIL_ADDRBOOK_COLLECTED)
                fprintf(stdout, "sent %u", e->count);
            else
                field(e->info);
        }
        fputc('\n', stdout);
    }
}

static int query(struct cmd_ctx *ctx, const char *q, bool json)
{
    struct mail_addrbook *book;
    const struct mail_account *acct;
    struct mail_addrbook_results r = MAIL_ADDRBOOK_RESULTS_INIT;
    struct mail_error err;
    int rc = open_book(ctx, &book, &acct), qr;

    if (rc)
        return rc;
    mail_error_clear(&err);
    qr = mail_addrbook_query(book, q, &r, &err);
    if (qr < 0) {
        rc = cmd_fail(&err);
        goto out;
    }
    if (qr > 0)       /* the command failed: said, the rest still shown */
        rc = cmd_fail(&err);
    if (json)
        query_json(&r);
    else
        query_mutt(mail_addrbook_aliases(book), q, &r);
    if (rc == 0 && r.n == 0)
        rc = EX_NOINPUT;
out:
    mail_addrbook_results_release(&r);
    mail_addrbook_free(book);
    return rc;
}

int cmd_alias(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        CMD_COMMON_LONG,
        { "json", no_argument, NULL, OPT_JSON },
        { "delete", required_argument, NULL, 'd' },
        { "query", required_argument, NULL, OPT_QUERY },
        { NULL, 0, NULL, 0 },
    };
    const char *del = NULL, *q = NULL;
    bool json = false;
    int opt, rc;

    opterr = 0;
    /* -q is the common --quiet elsewhere; here, followed by an argument,
     * it is --query (mutt runs "mail alias -q STRING"). */
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "-q") == 0) {
            static char query_opt[] = "--query";

            argv[i] = query_opt;
            break;
        }
    }
    while ((opt = getopt_long(argc, argv, CMD_COMMON_SHORT "d:", longopts,
                              NULL)) != -1) {
        switch (opt) {
        case OPT_JSON:
            json = true;
            break;
        case 'd':
            del = optarg;
            break;
        case OPT_QUERY:
            q = optarg;
            break;
        case '?':
        case ':':
            return cmd_usage_error("alias", "unknown option or missing "
                                   "value: %s", argv[optind - 1]);
        default:
            rc = cmd_common_option(ctx, "alias", opt, optarg);
            if (rc == -1)
                return 0;
            if (rc > 1)
                return rc;
        }
    }
    if (q) {
        if (del || optind < argc)
            return cmd_usage_error("alias", "--query takes no other "
                                   "arguments");
        return query(ctx, q, json);
    }
    if (del) {
        if (optind < argc || json)
            return cmd_usage_error("alias", "-d takes one NAME");
        return change_alias(ctx, del, NULL, 0);
    }
    if (optind == argc)
        return list_aliases(ctx, json);
    if (json)
        return cmd_usage_error("alias", "--json lists or queries");
    if (optind + 1 == argc) {
        struct mail_error err;

        mail_error_clear(&err);
        if (mail_alias_name_check(argv[optind], &err) < 0)
            return cmd_fail(&err);
        return show_alias(ctx, argv[optind]);
    }
    return change_alias(ctx, argv[optind], argv + optind + 1,
                        (size_t)(argc - optind - 1));
}
