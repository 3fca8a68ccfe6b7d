/*
 * rm.c - `mail rm MSG...`: move messages to the account's trash folder
 * (trash-folder in the config, "Trash" of the store by default, created
 * when missing), or with --expunge delete them for good.  Removing from
 * the trash itself deletes for good, as in most mail programs.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cmd.h"
#include "select.h"

enum { OPT_EXPUNGE = OPT_FIRST_COMMAND_OPTION };

/* Open the trash folder of the account, creating it when missing. */
static int open_trash(struct cmd_ctx *ctx, struct mail_folder **trash)
{
    struct mail_account *acct;
    const char *name;
    char *arg = NULL;
    int rc;

    rc = cmd_load_account(ctx, &acct);
    if (rc)
        return rc;
    name = acct->trash_folder && *acct->trash_folder ? acct->trash_folder
                                                     : "Trash";
    if (name[0] == '/' || name[0] == '~' || name[0] == '=')
        arg = strdup(name);
    else if (asprintf(&arg, "=%s", name) < 0)
        arg = NULL;
    if (!arg)
        return cmd_failf(EX_OSERR, "out of memory");
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

static int expunge_selected(struct mail_folder *f, struct cmd_selection *sel)
{
    bool *removed = calloc(sel->all.n ? sel->all.n : 1, sizeof *removed);
    struct mail_error err;
    int rc = 0, rc2;

    mail_error_clear(&err);
    if (!removed) {
        rc = cmd_failf(EX_OSERR, "out of memory");
    } else {
        for (size_t i = 0; i < sel->n; i++) {
            if (mail_folder_expunge(f, &sel->all.v[sel->idx[i]], &err) < 0) {
                rc = cmd_fail(&err);
                break;
            }
            removed[sel->idx[i]] = true;
        }
    }
    rc2 = cmd_folder_done(f, &sel->all, removed);
    free(removed);
    return rc ? rc : rc2;
}

int cmd_rm(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        CMD_COMMON_LONG,
        { "folder", required_argument, NULL, 'f' },
        { "expunge", no_argument, NULL, OPT_EXPUNGE },
        { NULL, 0, NULL, 0 },
    };
    struct cmd_selection sel = { 0 };
    struct mail_folder *f = NULL, *trash = NULL;
    struct mail_error err;
    const char *folder = NULL;
    bool expunge = false;
    int opt, rc;

    mail_error_clear(&err);
    opterr = 0;
    while ((opt = getopt_long(argc, argv, CMD_COMMON_SHORT "f:", longopts,
                              NULL)) != -1) {
        switch (opt) {
        case 'f':
            folder = optarg;
            break;
        case OPT_EXPUNGE:
            expunge = true;
            break;
        case '?':
        case ':':
            return cmd_usage_error("rm", "unknown option or missing value: "
                                   "%s", argv[optind - 1]);
        default:
            rc = cmd_common_option(ctx, "rm", opt, optarg);
            if (rc == -1)
                return 0;
            if (rc > 1)
                return rc;
        }
    }
    if (optind >= argc)
        return cmd_usage_error("rm", "no message given");
    rc = 0;
    if (!folder)
        rc = cmd_folder_from_paths(ctx, argc - optind, argv + optind,
                                   MAIL_FOLDER_RDWR, &f);
    if (rc == 1)
        rc = 0;
    else if (rc == 0)
        rc = cmd_open_folder(ctx, folder, MAIL_FOLDER_RDWR, &f, NULL);
    if (rc)
        goto done;
    /* Resolve the messages before making the trash: a typo in a number
     * should not leave a new empty folder behind. */
    rc = cmd_select_messages(ctx, f, argc - optind, argv + optind, &sel);
    if (rc)
        goto done;
    if (!expunge) {
        rc = open_trash(ctx, &trash);
        if (rc)
            goto done;
        if (cmd_same_folder(f, trash)) {
            mail_folder_close(trash, &err);
            trash = NULL;
            expunge = true;
        }
    }
    if (expunge)
        rc = expunge_selected(f, &sel);
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
