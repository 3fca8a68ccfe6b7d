/*
 * forward.c - `mail forward [--attach] [--dry-run] [-f FOLDER] MSG
 * [ADDR]...`.
 *
 * The draft comes from the library (mail/reply.h): inline, or with the
 * original as a message/rfc822 attachment, its bytes untouched.
 * cmd/draft.c edits, sends and marks the original passed (Maildir "P")
 * after a successful send.
 */
#include <getopt.h>
#include <stddef.h>

#include "cmd.h"
#include "draft.h"

enum { OPT_DRY_RUN = OPT_FIRST_COMMAND_OPTION, OPT_ATTACH };

int cmd_forward(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        CMD_COMMON_LONG,
        { "attach", no_argument, NULL, OPT_ATTACH },
        { "folder", required_argument, NULL, 'f' },
        { "dry-run", no_argument, NULL, OPT_DRY_RUN },
        { NULL, 0, NULL, 0 },
    };
    struct draft_args a = { .cmdname = "forward", .forward = true };
    int opt, rc;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, CMD_COMMON_SHORT "f:", longopts,
                              NULL)) != -1) {
        switch (opt) {
        case OPT_ATTACH:
            a.attach = true;
            break;
        case 'f':
            a.folder = optarg;
            break;
        case OPT_DRY_RUN:
            a.dry_run = true;
            break;
        case '?':
        case ':':
            return cmd_usage_error("forward", "unknown option or missing "
                                   "value: %s", argv[optind - 1]);
        default:
            rc = cmd_common_option(ctx, "forward", opt, optarg);
            if (rc == -1)
                return 0;
            if (rc > 1)
                return rc;
        }
    }
    if (optind >= argc)
        return cmd_usage_error("forward", "no message given");
    a.msg = argv[optind];
    a.to = (const char *const *)argv + optind + 1;
    a.nto = (size_t)(argc - optind - 1);
    return draft_run(ctx, &a);
}
