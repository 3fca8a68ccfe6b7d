/*
 * select.c - FOLDER and MSG arguments; see select.h.
 *
 * The work is in the library (mail/select.h: the listing state, ranges,
 * resolution, the remapping after a change; mail/remote.h: a folder by
 * the name a person gives, as the reader opens it); this file fetches
 * what a FOLDER name needs of the account, finds the state directory
 * ($XDG_STATE_HOME/mail, else ~/.local/state/mail) and turns a struct
 * mail_error into the printed message and exit code.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cmd.h"
#include "select.h"
#include "mail/remote.h"
#include "mail/select.h"

static int nomem(void)
{
    return cmd_failf(EX_SOFTWARE, "out of memory");
}

/* ---- opening folders ---- */

static const char *account_store(struct cmd_ctx *ctx, const char *what,
                                 int *rc)
{
    struct mail_account *acct;

    *rc = cmd_load_account(ctx, &acct);
    if (*rc)
        return NULL;
    if (!acct->store || !*acct->store) {
        *rc = cmd_failf(EX_CONFIG, "account '%s' has no store, needed for "
                        "%s (add 'store = ~/Mail' to its section of the "
                        "config, or give a folder path)", acct->name, what);
        return NULL;
    }
    return acct->store;
}

int cmd_open_folder(struct cmd_ctx *ctx, const char *arg, int mode,
                    struct mail_folder **f, const char **display)
{
    struct mail_remote *r = NULL;
    struct mail_error err;
    const char *store = NULL;
    char *inbox = NULL;
    int needs, rc = 0;

    *f = NULL;
    mail_error_clear(&err);
    if (display)
        *display = arg ? arg : "INBOX";
    /* What the name needs of the account: the library says, and opens
     * it (mail_remote_open_any, as the reader does); here only what
     * the command line says about a missing store or folder. */
    needs = arg ? mail_remote_name_needs(arg, &err)
                : MAIL_FOLDER_NEEDS_NOTHING;
    if (needs < 0)
        return cmd_fail(&err);
    if (needs == MAIL_FOLDER_NEEDS_REMOTE)
        rc = cmd_remote(ctx, &r);
    else if (needs == MAIL_FOLDER_NEEDS_STORE)
        store = account_store(ctx, arg, &rc);
    if (rc)
        return rc;
    if (!arg) {
        /* the account's inbox: the store itself (a missing one is named
         * by its path) */
        store = account_store(ctx, "the default folder", &rc);
        if (!store)
            return rc;
        inbox = mail_store_folder_path(store, "INBOX", &err);
        if (!inbox)
            return cmd_fail(&err);
    }
    *f = mail_remote_open_any(r, store, inbox ? inbox : arg, mode,
                              &ctx->paths, &err);
    free(inbox);
    if (*f)
        return 0;
    if (err.kind == MAIL_ERR_NOTFOUND && needs == MAIL_FOLDER_NEEDS_STORE &&
        arg)
        return cmd_failf(EX_NOINPUT, "%s (see 'mail folders')", err.msg);
    return cmd_fail(&err);
}

/* ---- the listing state ---- */

/* $XDG_STATE_HOME/mail, else ~/.local/state/mail (malloc'd). */
static char *state_dir(void)
{
    const char *x = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    char *d = NULL;

    if (x && x[0] == '/') {
        if (asprintf(&d, "%s/mail", x) < 0)
            return NULL;
    } else {
        if (!home || !*home)
            home = "/";
        if (asprintf(&d, "%s/.local/state/mail", home) < 0)
            return NULL;
    }
    return d;
}

int cmd_save_listing(struct mail_folder *f,
                     const struct mail_envelope_list *list,
                     const size_t *order, size_t n)
{
    struct mail_error err;
    char *dir = state_dir();
    int rc;

    if (!dir)
        return nomem();
    mail_error_clear(&err);
    rc = mail_listing_save(dir, f, list, order, n, &err);
    free(dir);
    return rc < 0 ? cmd_fail(&err) : 0;
}

/* ---- resolving MSG arguments ---- */

int cmd_select_messages(struct cmd_ctx *ctx, struct mail_folder *f,
                        int argc, char **argv, struct cmd_selection *sel)
{
    struct mail_selection ms;
    struct mail_error err;
    char *dir = state_dir();
    int rc;

    (void)ctx;
    memset(sel, 0, sizeof *sel);
    if (!dir)
        return nomem();
    mail_error_clear(&err);
    rc = mail_select(dir, f, argc, argv, &ms, &err);
    free(dir);
    if (rc < 0)
        return cmd_fail(&err);
    sel->all = ms.all;
    sel->idx = ms.idx;
    sel->number = ms.number;
    sel->n = ms.n;
    return 0;
}

void cmd_selection_release(struct cmd_selection *sel)
{
    mail_envelope_list_release(&sel->all);
    free(sel->idx);
    free(sel->number);
    memset(sel, 0, sizeof *sel);
}

int cmd_folder_from_paths(struct cmd_ctx *ctx, int argc, char **argv,
                          int mode, struct mail_folder **f)
{
    struct mail_error err;
    int rc;

    (void)ctx;
    mail_error_clear(&err);
    rc = mail_folder_from_paths(argc, argv, mode, &ctx->paths, f, &err);
    return rc < 0 ? cmd_fail(&err) : rc;
}

/* ---- after a change ---- */

bool cmd_same_folder(struct mail_folder *a, struct mail_folder *b)
{
    return mail_folder_same(a, b);
}

int cmd_folder_done(struct mail_folder *f,
                    const struct mail_envelope_list *before,
                    const bool *removed)
{
    struct mail_error err;
    char *dir = state_dir();
    int rc;

    mail_error_clear(&err);
    if (dir)
        rc = mail_listing_remap(dir, f, before, removed, &err);
    else
        rc = mail_folder_close(f, &err);  /* the listing is left as it is */
    free(dir);
    return rc < 0 ? cmd_fail(&err) : 0;
}

/* ---- flag, mv and rm ---- */

int cmd_msg_options(struct cmd_ctx *ctx, const char *cmdname, int argc,
                    char **argv, const char *shortopts,
                    const struct option *longopts, bool *extra_set,
                    const char **folder, const char *what,
                    const char *hint)
{
    int opt, rc;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, shortopts, longopts,
                              NULL)) != -1) {
        switch (opt) {
        case 'f':
            *folder = optarg;
            break;
        case OPT_FIRST_COMMAND_OPTION:
            *extra_set = true;
            break;
        case '?':
        case ':':
            return cmd_usage_error(cmdname, "%s: %s%s", what,
                                   argv[optind - 1], hint);
        default:
            rc = cmd_common_option(ctx, cmdname, opt, optarg);
            if (rc == -1 || rc > 1)
                return rc;
        }
    }
    return 0;
}

int cmd_open_msg_folder(struct cmd_ctx *ctx, const char *cmdname,
                        const char *folder, int nmsg, char **msgs,
                        struct mail_folder **f)
{
    int rc = 0;

    /* Checked before the default folder is opened: otherwise "mail rm
     * imap:INBOX 3" would fail as the inbox's error, or worse, act on it. */
    for (int i = 0; i < nmsg; i++)
        if (strncmp(msgs[i], "imap:", 5) == 0 || msgs[i][0] == '=')
            return cmd_usage_error(cmdname, "'%s' is a folder, not a "
                                   "message: give it with -f (mail %s -f "
                                   "%s ...)", msgs[i], cmdname, msgs[i]);

    if (!folder)
        rc = cmd_folder_from_paths(ctx, nmsg, msgs, MAIL_FOLDER_RDWR, f);
    if (rc == 1)
        return 0;
    if (rc == 0)
        rc = cmd_open_folder(ctx, folder, MAIL_FOLDER_RDWR, f, NULL);
    return rc;
}

int cmd_change_selected(struct mail_folder *f, struct cmd_selection *sel,
                        cmd_set_fn fn, void *arg, bool removes,
                        struct mail_folder *dest)
{
    bool *removed = removes ? calloc(sel->all.n ? sel->all.n : 1,
                                     sizeof *removed) : NULL;
    struct mail_envelope **v = malloc((sel->n ? sel->n : 1) * sizeof *v);
    struct mail_error err;
    size_t done = 0;
    int rc = 0, rc2;

    mail_error_clear(&err);
    if ((removes && !removed) || !v) {
        rc = cmd_failf(EX_SOFTWARE, "out of memory");
    } else {
        for (size_t i = 0; i < sel->n; i++)
            v[i] = &sel->all.v[sel->idx[i]];
        if (fn(f, v, sel->n, arg, &done, &err) < 0)
            rc = cmd_fail(&err);
        for (size_t i = 0; removed && i < done; i++)
            removed[sel->idx[i]] = true;
    }
    free(v);
    /* The destination first: what is there is durable already. */
    if (dest && mail_folder_close(dest, &err) < 0 && !rc)
        rc = cmd_fail(&err);
    rc2 = cmd_folder_done(f, &sel->all, removed);
    free(removed);
    return rc ? rc : rc2;
}
