/*
 * mv.c - `mail mv MSG... FOLDER`: move messages to another folder, of
 * any kind (Maildir, mbox, imap:).  A message is removed from its folder only
 * once its copy is durable in the other.  A destination that does not
 * exist (=NAME of the store, or a path) is created only with --create:
 * a typo would otherwise make a new folder and hide the messages in it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

#include "cmd.h"
#include "select.h"

/* Between folders of one IMAP server, one UID MOVE; otherwise each
 * message is copied, made durable there and only then removed here. */
static int move_set(struct mail_folder *from, struct mail_envelope **v,
                    size_t n, void *to, size_t *done, struct mail_error *err)
{
    return mail_folder_move_many(from, v, n, to, done, err);
}

int cmd_move_selected(struct mail_folder *from, struct cmd_selection *sel,
                      struct mail_folder *to)
{
    return cmd_change_selected(from, sel, move_set, to, true, to);
}

/* A =NAME destination that does not exist, without --create: 66 with a
 * hint.  Returns 0 when it exists (or cannot be told: then opening it
 * reports the error). */
static int store_dest_exists(struct cmd_ctx *ctx, const char *dest)
{
    struct mail_account *acct;
    struct mail_error err;
    struct stat st;
    char *path;
    int rc;

    if (dest[0] != '=' || !dest[1])
        return 0;
    rc = cmd_load_account(ctx, &acct);
    if (rc)
        return rc;
    if (!acct->store || !*acct->store)
        return 0;
    mail_error_clear(&err);
    path = mail_store_folder_path(acct->store, dest + 1, &err);
    if (!path)
        return 0;
    rc = 0;
    if (stat(path, &st) < 0 && errno == ENOENT)
        rc = cmd_failf(EX_NOINPUT, "no folder %s: use --create to make it",
                       dest);
    free(path);
    return rc;
}

int cmd_mv(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        CMD_COMMON_LONG,
        { "folder", required_argument, NULL, 'f' },
        { "create", no_argument, NULL, OPT_FIRST_COMMAND_OPTION },
        { NULL, 0, NULL, 0 },
    };
    struct cmd_selection sel = { 0 };
    struct mail_folder *from = NULL, *to = NULL;
    struct mail_error err;
    const char *folder = NULL, *dest;
    int rc, nmsg;
    bool create = false;

    mail_error_clear(&err);
    rc = cmd_msg_options(ctx, "mv", argc, argv, CMD_COMMON_SHORT "f:",
                         longopts, &create, &folder,
                         "unknown option or missing value", "");
    if (rc)
        return rc == -1 ? 0 : rc;
    nmsg = argc - optind - 1;
    if (nmsg < 1)
        return cmd_usage_error("mv", nmsg < 0 ? "no message and no "
                               "destination folder given" :
                               "no destination folder given (it comes "
                               "last: mail mv 3 =Archive)");
    dest = argv[argc - 1];
    rc = cmd_open_msg_folder(ctx, "mv", folder, nmsg, argv + optind, &from);
    if (rc)
        goto done;
    if (!create && (rc = store_dest_exists(ctx, dest)) != 0)
        goto done;
    rc = cmd_open_folder(ctx, dest, MAIL_FOLDER_RDWR |
                         (create ? MAIL_FOLDER_CREATE : 0), &to, NULL);
    if (rc)
        goto done;
    if (cmd_same_folder(from, to)) {
        rc = cmd_usage_error("mv", "'%s' is the folder the messages are "
                             "already in", dest);
        goto done;
    }
    rc = cmd_select_messages(ctx, from, nmsg, argv + optind, &sel);
    if (rc)
        goto done;
    rc = cmd_move_selected(from, &sel, to);
    from = to = NULL;
done:
    if (to)
        mail_folder_close(to, &err);
    if (from)
        mail_folder_close(from, &err);
    cmd_selection_release(&sel);
    return rc;
}
