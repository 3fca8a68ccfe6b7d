/*
 * rm.c - `mail rm MSG...`: move messages to the account's trash folder
 * (trash-folder in the config, "Trash" of the store by default, created
 * when missing; for an imap: folder, an imap: trash-folder or the
 * server's SPECIAL-USE \Trash mailbox), or with --expunge delete them for
 * good.  Removing from
 * the trash itself deletes for good, as in most mail programs.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cmd.h"
#include "mail/imap.h"
#include "select.h"

/* The trash of an IMAP folder: trash-folder when it is an imap: one,
 * else the mailbox the server marks SPECIAL-USE \Trash. */
static int open_imap_trash(struct cmd_ctx *ctx, struct mail_folder *f,
                           const struct mail_account *acct,
                           struct mail_folder **trash)
{
    const char *t = acct->trash_folder;
    struct mail_error err;
    char *name = NULL;
    int r, rc;

    if (t && strncmp(t, "imap:", 5) == 0)
        return cmd_open_folder(ctx, t, MAIL_FOLDER_RDWR, trash, NULL);
    mail_error_clear(&err);
    r = mail_imap_folder_special_use(f, MAIL_IMAP_MBX_TRASH, &name, &err);
    if (r < 0)
        return cmd_fail(&err);
    if (r == 1)
        return cmd_failf(EX_UNAVAILABLE, "%s: the server names no trash "
                         "folder (SPECIAL-USE \\Trash): set 'trash-folder = "
                         "imap:NAME' for the account, or delete for good "
                         "with 'mail rm --expunge'", mail_folder_path(f));
    rc = cmd_open_imap_folder(ctx, name, MAIL_FOLDER_RDWR, trash);
    free(name);
    return rc;
}

/* Open the trash folder of the account, creating it when missing. */
static int open_trash(struct cmd_ctx *ctx, struct mail_folder *f,
                      struct mail_folder **trash)
{
    struct mail_account *acct;
    const char *name;
    char *arg = NULL;
    int rc;

    rc = cmd_load_account(ctx, &acct);
    if (rc)
        return rc;
    if (mail_folder_kind(f) == MAIL_FOLDER_IMAP)
        return open_imap_trash(ctx, f, acct, trash);
    name = acct->trash_folder && *acct->trash_folder ? acct->trash_folder
                                                     : "Trash";
    if (strncmp(name, "imap:", 5) == 0)
        return cmd_open_folder(ctx, name, MAIL_FOLDER_RDWR, trash, NULL);
    if (name[0] == '/' || name[0] == '~' || name[0] == '=')
        arg = strdup(name);
    else if (asprintf(&arg, "=%s", name) < 0)
        arg = NULL;
    if (!arg)
        return cmd_failf(EX_SOFTWARE, "out of memory");
    if (arg[0] == '=' && (!acct->store || !*acct->store))
        rc = cmd_failf(EX_CONFIG, "account '%s' has no store for its trash "
                       "folder (set 'store', or 'trash-folder' to a path; "
                       "or delete for good with 'mail rm --expunge')",
                       acct->name);
    else
        rc = cmd_open_folder(ctx, arg, MAIL_FOLDER_RDWR | MAIL_FOLDER_CREATE,
                             trash, NULL);
    free(arg);
    return rc;
}

/* One set: IMAP expunges them with one UID EXPUNGE. */
static int expunge_set(struct mail_folder *f, struct mail_envelope **v,
                       size_t n, void *arg, size_t *done,
                       struct mail_error *err)
{
    (void)arg;
    return mail_folder_expunge_many(f, v, n, done, err);
}

int cmd_rm(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        CMD_COMMON_LONG,
        { "folder", required_argument, NULL, 'f' },
        { "expunge", no_argument, NULL, OPT_FIRST_COMMAND_OPTION },
        { NULL, 0, NULL, 0 },
    };
    struct cmd_selection sel = { 0 };
    struct mail_folder *f = NULL, *trash = NULL;
    struct mail_error err;
    const char *folder = NULL;
    bool expunge = false;
    int rc;

    mail_error_clear(&err);
    rc = cmd_msg_options(ctx, "rm", argc, argv, CMD_COMMON_SHORT "f:",
                         longopts, &expunge, &folder,
                         "unknown option or missing value", "");
    if (rc)
        return rc == -1 ? 0 : rc;
    if (optind >= argc)
        return cmd_usage_error("rm", "no message given");
    rc = cmd_open_msg_folder(ctx, "rm", folder, argc - optind, argv + optind, &f);
    if (rc)
        goto done;
    /* Resolve the messages before making the trash: a typo in a number
     * should not leave a new empty folder behind. */
    rc = cmd_select_messages(ctx, f, argc - optind, argv + optind, &sel);
    if (rc)
        goto done;
    if (!expunge) {
        rc = open_trash(ctx, f, &trash);
        if (rc)
            goto done;
        if (cmd_same_folder(f, trash)) {
            mail_folder_close(trash, &err);
            trash = NULL;
            expunge = true;
        }
    }
    if (expunge)
        rc = cmd_change_selected(f, &sel, expunge_set, NULL, true, NULL);
    else
        rc = cmd_move_selected(f, &sel, trash);
    f = trash = NULL;
done:
    if (trash)
        mail_folder_close(trash, &err);
    if (f)
        mail_folder_close(f, &err);
    cmd_selection_release(&sel);
    return rc;
}
