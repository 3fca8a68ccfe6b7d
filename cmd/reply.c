/*
 * reply.c - `mail reply [--all|--list] [--dry-run] [-f FOLDER] MSG`.
 *
 * The draft comes from the library (mail/reply.h); cmd/draft.c edits,
 * sends and flags the original answered after a successful send.
 */
#include <getopt.h>
#include <stddef.h>

#include "cmd.h"
#include "draft.h"

enum { OPT_DRY_RUN = OPT_FIRST_COMMAND_OPTION, OPT_LIST };

int cmd_reply(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        CMD_COMMON_LONG,
        { "all", no_argument, NULL, 'A' },
        { "group", no_argument, NULL, 'g' },
        { "list", no_argument, NULL, OPT_LIST },
        { "folder", required_argument, NULL, 'f' },
        { "dry-run", no_argument, NULL, OPT_DRY_RUN },
        { NULL, 0, NULL, 0 },
    };
    struct draft_args a = { .cmdname = "reply", .mode = MAIL_REPLY_SENDER };
    int opt, rc;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, CMD_COMMON_SHORT "gf:", longopts,
                              NULL)) != -1) {
        switch (opt) {
        case 'A':
        case 'g':
            if (a.mode == MAIL_REPLY_LIST)
                return cmd_usage_error("reply", "--all and --list exclude "
                                       "each other");
            a.mode = MAIL_REPLY_ALL;
            break;
        case OPT_LIST:
            if (a.mode == MAIL_REPLY_ALL)
                return cmd_usage_error("reply", "--all and --list exclude "
                                       "each other");
            a.mode = MAIL_REPLY_LIST;
            break;
        case 'f':
            a.folder = optarg;
            break;
        case OPT_DRY_RUN:
            a.dry_run = true;
            break;
        case '?':
        case ':':
            return cmd_usage_error("reply", "unknown option or missing "
                                   "value: %s", argv[optind - 1]);
        default:
            rc = cmd_common_option(ctx, "reply", opt, optarg);
            if (rc == -1)
                return 0;
            if (rc > 1)
                return rc;
        }
    }
    if (optind >= argc)
        return cmd_usage_error("reply", "no message given");
    if (argc - optind > 1)
        return cmd_usage_error("reply", "one message at a time");
    a.msg = argv[optind];
    return draft_run(ctx, &a);
}
