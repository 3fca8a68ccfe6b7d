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

int cmd_move_selected(struct mail_folder *from, struct cmd_selection *sel,
                      struct mail_folder *to)
{
    bool *removed = calloc(sel->all.n ? sel->all.n : 1, sizeof *removed);
    struct mail_envelope **v = malloc((sel->n ? sel->n : 1) * sizeof *v);
    struct mail_error err;
    size_t done = 0;
    int rc = 0, rc2;

    mail_error_clear(&err);
    if (!removed || !v) {
        rc = cmd_failf(EX_OSERR, "out of memory");
    } else {
        /* One set: between folders of one IMAP server, one UID MOVE;
         * otherwise each message is copied, made durable there and only
         * then removed here. */
        for (size_t i = 0; i < sel->n; i++)
            v[i] = &sel->all.v[sel->idx[i]];
        if (mail_folder_move_many(from, v, sel->n, to, &done, &err) < 0)
            rc = cmd_fail(&err);
        for (size_t i = 0; i < done; i++)
            removed[sel->idx[i]] = true;
    }
    free(v);
    /* The destination first: what is there is durable already. */
    if (mail_folder_close(to, &err) < 0 && !rc)
        rc = cmd_fail(&err);
    rc2 = cmd_folder_done(from, &sel->all, removed);
    free(removed);
    return rc ? rc : rc2;
}

enum { OPT_CREATE = OPT_FIRST_COMMAND_OPTION };

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
        { "create", no_argument, NULL, OPT_CREATE },
        { NULL, 0, NULL, 0 },
    };
    struct cmd_selection sel = { 0 };
    struct mail_folder *from = NULL, *to = NULL;
    struct mail_error err;
    const char *folder = NULL, *dest;
    int opt, rc, nmsg;
    bool create = false;

    mail_error_clear(&err);
    opterr = 0;
    while ((opt = getopt_long(argc, argv, CMD_COMMON_SHORT "f:", longopts,
                              NULL)) != -1) {
        switch (opt) {
        case 'f':
            folder = optarg;
            break;
        case OPT_CREATE:
            create = true;
            break;
        case '?':
        case ':':
            return cmd_usage_error("mv", "unknown option or missing value: "
                                   "%s", argv[optind - 1]);
        default:
            rc = cmd_common_option(ctx, "mv", opt, optarg);
            if (rc == -1)
                return 0;
            if (rc > 1)
                return rc;
        }
    }
    nmsg = argc - optind - 1;
    if (nmsg < 1)
        return cmd_usage_error("mv", nmsg < 0 ? "no message and no "
                               "destination folder given" :
                               "no destination folder given (it comes "
                               "last: mail mv 3 =Archive)");
    dest = argv[argc - 1];
    rc = 0;
    if (!folder)
        rc = cmd_folder_from_paths(ctx, nmsg, argv + optind,
                                   MAIL_FOLDER_RDWR, &from);
    if (rc == 1)
        rc = 0;
    else if (rc == 0)
        rc = cmd_open_folder(ctx, folder, MAIL_FOLDER_RDWR, &from, NULL);
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
