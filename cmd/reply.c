/*
 * reply.c - `mail reply [--all|--list] [--dry-run] [-f FOLDER] MSG`.
 *
 * The draft, the editor, the send and the original flagged answered
 * after a successful send are the library's compose flow
 * (mail/compose_flow.h); compose_ui.c parses these options (shared with
 * forward) and runs it with the menu of compose_menu.c.
 */
#include <getopt.h>
#include <stddef.h>

#include "cmd.h"

int cmd_reply(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        CMD_COMMON_LONG,
        { "all", no_argument, NULL, 'A' },
        { "group", no_argument, NULL, 'g' },
        { "list", no_argument, NULL, OPT_REPLY_LIST },
        { "folder", required_argument, NULL, 'f' },
        { "dry-run", no_argument, NULL, OPT_REPLY_DRY_RUN },
        { NULL, 0, NULL, 0 },
    };

    return cmd_reply_parse(ctx, false, argc, argv, longopts,
                           CMD_COMMON_SHORT "gf:");
}
