/*
 * tui.c - `mail tui [FOLDER]`, and `mail` alone on a terminal: the reader
 * (tui/).  This file checks the arguments and the folder (so that a
 * missing folder exits 66 with the usual message before the screen is
 * taken), then hands the folder's path to the reader, whose worker thread
 * opens it again and owns it.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmd.h"
#include "select.h"
#include "mail_build_config.h"
#include "mail/remote.h"
#include "mail/termsafe.h"
#if HAVE_TUI
#include "../tui/keys.h"
#include "../tui/tui.h"
#endif

#if HAVE_TUI
struct local_source {
    char *path;                    /* a path, or "imap:NAME" */
    const struct mail_paths *paths;
    struct mail_remote *remote;    /* for imap:NAME */
};

/* Runs on the reader's worker thread: an imap: folder connects there,
 * so that the screen is up (and q works) while the server answers. */
static int open_local(void *arg, struct mail_folder **f,
                      struct mail_error *err)
{
    struct local_source *s = arg;

    if (s->remote && strncmp(s->path, "imap:", 5) == 0)
        *f = mail_remote_folder_open(s->remote, s->path + 5,
                                     MAIL_FOLDER_RDWR, s->paths, err);
    else
        *f = mail_folder_open(s->path, MAIL_FOLDER_RDWR, s->paths, err);
    return *f ? 0 : -1;
}

/* The account's IMAP server for the reader (nothing connects here): no
 * password prompt, the screen is the reader's (password-command, netrc
 * or the config file give it).  NULL when the account has none. */
static struct mail_remote *reader_remote(const struct mail_account *acct)
{
    struct mail_error err;

    mail_error_clear(&err);
    if (!acct || !acct->has_imap)
        return NULL;
    return mail_remote_new(acct, NULL, &err);
}

/* A in the reader: the accounts of the config, each one's remote made
 * when first switched to and closed after the reader. */
struct accounts {
    struct cmd_ctx *ctx;
    struct mail_remote **remotes;   /* per account of ctx->cfg */
    char *names;                    /* "a, b" (terminal-safe) */
};

static int switch_account(void *arg, const char *name, struct tui_account *a,
                          struct mail_error *err)
{
    struct accounts *as = arg;
    struct mail_config *cfg = &as->ctx->cfg;
    struct mail_account *acct = mail_config_account(cfg, name, err);
    struct mail_buf label = MAIL_BUF_INIT;
    size_t i;

    if (!acct)
        return -1;
    i = (size_t)(acct - cfg->accounts);
    if (!as->remotes[i] && acct->has_imap &&
        !(as->remotes[i] = mail_remote_new(acct, NULL, err)))
        return -1;
    memset(a, 0, sizeof *a);
    a->remote = as->remotes[i];
    a->store = acct->store && *acct->store ? acct->store : NULL;
    if (a->store)
        a->path = mail_store_folder_path(a->store, "INBOX", err);
    else if (a->remote)
        a->path = strdup("imap:INBOX");
    else
        return mail_error_set(err, MAIL_ERR_CONFIG, "account %s has "
                              "neither a store nor an imap server",
                              acct->name);
    mail_buf_addstr(&label, a->store ? "INBOX" : "imap:INBOX");
    mail_buf_addstr(&label, " (");
    mail_term_safe(&label, acct->name, strlen(acct->name),
                   MAIL_SAFE_ONELINE);
    mail_buf_addstr(&label, ")");
    a->label = mail_buf_detach(&label);
    if (!a->path || !a->label) {
        free(a->path);
        free(a->label);
        if (!err->kind)
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        return -1;
    }
    /* Replies and new messages from here on are this account's. */
    as->ctx->account_name = acct->name;
    return 0;
}

static int accounts_init(struct accounts *as, struct cmd_ctx *ctx)
{
    struct mail_buf names = MAIL_BUF_INIT;

    as->ctx = ctx;
    if (!ctx->cfg_loaded || ctx->cfg.naccounts < 2)
        return -1;
    as->remotes = calloc(ctx->cfg.naccounts, sizeof *as->remotes);
    for (size_t i = 0; i < ctx->cfg.naccounts; i++) {
        const char *n = ctx->cfg.accounts[i].name;

        if (i)
            mail_buf_addstr(&names, ", ");
        mail_term_safe(&names, n, strlen(n), MAIL_SAFE_ONELINE);
    }
    as->names = mail_buf_detach(&names);
    return as->remotes && as->names ? 0 : -1;
}

static void accounts_release(struct accounts *as)
{
    for (size_t i = 0; as->remotes && i < as->ctx->cfg.naccounts; i++)
        mail_remote_close(as->remotes[i]);
    free(as->remotes);
    free(as->names);
}

/* The account, when there is a config; reading a folder by path needs
 * none, so a missing config or account is no error here. */
static struct mail_account *account(struct cmd_ctx *ctx)
{
    struct mail_account *acct = NULL;
    struct mail_error err;

    mail_error_clear(&err);
    if (!ctx->cfg_loaded) {
        if (mail_config_load(&ctx->cfg, ctx->config_path, &ctx->paths,
                             &err) < 0)
            return NULL;
        ctx->cfg_loaded = true;
    }
    if (mail_config_select(&ctx->cfg, ctx->account_name, &ctx->ov, &acct,
                           &err) == 0)
        return acct;
    return NULL;
}

/* The [tui] section: bindings and colors, checked before the screen is
 * taken (an unknown key or action is a config error naming the line). */
static int load_keys(struct cmd_ctx *ctx, struct tui_keys **keys)
{
    struct mail_error err;
    const char *file;

    if (!(*keys = tui_keys_new()))
        return cmd_failf(EX_SOFTWARE, "out of memory");
    mail_error_clear(&err);
    if (!ctx->cfg_loaded) {
        if (mail_config_load(&ctx->cfg, ctx->config_path, &ctx->paths,
                             &err) < 0)
            return cmd_fail(&err);
        ctx->cfg_loaded = true;
    }
    file = ctx->cfg.path ? ctx->cfg.path : "config";
    for (size_t i = 0; i < ctx->cfg.ntui; i++) {
        const struct mail_config_line *l = &ctx->cfg.tui[i];
        int rc = strcmp(l->key, "bind") == 0 ?
                 tui_keys_bind(*keys, l->value, file, l->line, &err) :
                 tui_keys_color(*keys, l->value, file, l->line, &err);

        if (rc < 0)
            return cmd_fail(&err);
    }
    return 0;
}

static int run_reader(struct cmd_ctx *ctx, const char *folder)
{
    struct local_source src = { NULL, &ctx->paths, NULL };
    struct accounts as = { ctx, NULL, NULL };
    struct tui_opts o;
    struct mail_folder *f = NULL;
    struct mail_error err;
    struct mail_account *acct;
    struct tui_keys *keys = NULL;
    const char *display = NULL, *home = getenv("HOME");
    char *label = NULL, *mailcaps = NULL;
    int rc;

    rc = load_keys(ctx, &keys);
    if (rc) {
        tui_keys_free(keys);
        return rc;
    }
    if (folder && strncmp(folder, "imap:", 5) == 0) {
        /* Opened on the worker: only the account is checked here. */
        struct mail_buf safe = MAIL_BUF_INIT;

        if (!folder[5]) {
            tui_keys_free(keys);
            return cmd_usage_error("tui", "imap: needs a folder name, as "
                                   "in imap:INBOX");
        }
        rc = cmd_load_account(ctx, &acct);
        if (rc == 0 && !acct->has_imap)
            rc = cmd_failf(EX_CONFIG, "account %s has no imap server "
                           "(imap = URL)", acct->name);
        if (rc) {
            tui_keys_free(keys);
            return rc;
        }
        mail_term_safe(&safe, folder, strlen(folder), MAIL_SAFE_ONELINE);
        src.path = strdup(folder);
        label = mail_buf_detach(&safe);
    } else {
        rc = cmd_open_folder(ctx, folder, MAIL_FOLDER_RDWR, &f, &display);
        if (rc) {
            tui_keys_free(keys);
            return rc;
        }
        src.path = strdup(mail_folder_path(f));
        label = strdup(display ? display : mail_folder_path(f));
        mail_error_clear(&err);
        rc = mail_folder_close(f, &err);
        if (rc < 0) {
            rc = cmd_fail(&err);
            goto out;
        }
    }
    if (!src.path || !label) {
        rc = cmd_failf(EX_SOFTWARE, "out of memory");
        goto out;
    }
    memset(&o, 0, sizeof o);
    o.source.open = open_local;
    o.source.arg = &src;
    o.source.label = label;
    o.source.path = src.path;
    o.color = cmd_use_color(ctx, stdout);
    o.keys = keys;
    o.paths = &ctx->paths;
    if ((acct = account(ctx))) {
        if (acct->html_command && *acct->html_command)
            o.render.html_command = acct->html_command;
        if (acct->store && *acct->store)
            o.store = acct->store;
        o.flow = cmd_flow_opts(ctx, acct);
        o.remote = src.remote = reader_remote(acct);
        o.address_command = acct->address_command;
    }
    if (accounts_init(&as, ctx) == 0) {
        o.account = switch_account;
        o.account_arg = &as;
        o.accounts = as.names;
    }
    o.render.mailcaps = mailcaps =
        mail_render_mailcap_path(getenv("MAILCAPS"), home);
    if (!mailcaps) {
        rc = cmd_failf(EX_SOFTWARE, "out of memory");
        goto out;
    }
    o.render.tmpdir = getenv("TMPDIR");
    mail_error_clear(&err);
    rc = tui_run(&o, &err) < 0 ? cmd_fail(&err) : 0;
out:
    accounts_release(&as);
    mail_remote_close(src.remote);
    free(src.path);
    free(label);
    free(mailcaps);
    tui_keys_free(keys);
    return rc;
}
#endif

int cmd_tui(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        CMD_COMMON_LONG,
        { "folder", required_argument, NULL, 'f' },
        { NULL, 0, NULL, 0 },
    };
    const char *folder = NULL;
    int opt, rc;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, CMD_COMMON_SHORT "f:", longopts,
                              NULL)) != -1) {
        if (opt == 'f') {
            folder = optarg;
            continue;
        }
        if (opt == '?' || opt == ':')
            return cmd_usage_error("tui", "unknown option or missing value: "
                                   "%s", argv[optind - 1]);
        rc = cmd_common_option(ctx, "tui", opt, optarg);
        if (rc == -1)
            return 0;
        if (rc > 1)
            return rc;
    }
    if (optind < argc && !folder)
        folder = argv[optind++];
    if (optind < argc)
        return cmd_usage_error("tui", "one FOLDER at most");
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        return cmd_usage_error("tui", "the reader needs a terminal on "
                               "standard input and output");
#if HAVE_TUI
    return run_reader(ctx, folder);
#else
    (void)folder;
    return cmd_failf(EX_UNAVAILABLE, "this mail was built without the "
                     "reader (ncursesw was not found)");
#endif
}
