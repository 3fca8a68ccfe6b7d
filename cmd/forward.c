/*
 * forward.c - `mail forward [--attach] [--dry-run] [-f FOLDER] MSG
 * [ADDR]...`.
 *
 * The draft comes from the library's compose flow (mail/compose_flow.h):
 * inline, or with the original as a message/rfc822 attachment, its
 * bytes untouched; after a successful send the original is marked passed
 * (Maildir "P").  compose_ui.c parses these options (shared with reply)
 * and runs the flow with the menu of compose_menu.c.
 */
#include <getopt.h>
#include <stddef.h>

#include "cmd.h"

int cmd_forward(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        CMD_COMMON_LONG,
        { "attach", no_argument, NULL, OPT_REPLY_ATTACH },
        { "folder", required_argument, NULL, 'f' },
        { "dry-run", no_argument, NULL, OPT_REPLY_DRY_RUN },
        { NULL, 0, NULL, 0 },
    };

    return cmd_reply_parse(ctx, true, argc, argv, longopts,
                           CMD_COMMON_SHORT "f:");
}
