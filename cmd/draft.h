/*
 * draft.h - what `mail reply` and `mail forward` share (cmd/draft.c):
 * the original selected as for `mail read`, the draft built by the
 * library (mail/reply.h), $VISUAL/$EDITOR on the whole draft with its
 * header on a terminal (else the text on standard input goes above the
 * quote), the send/edit/abort prompt, sending as `mail send -t` does,
 * and the original flagged answered (reply) or passed (forward) after a
 * successful send only.
 */
#ifndef MAIL_CMD_DRAFT_H
#define MAIL_CMD_DRAFT_H

#include <stdbool.h>

#include "cmd.h"
#include "mail/reply.h"

struct draft_args {
    const char *cmdname;          /* "reply" or "forward" */
    bool forward;
    enum mail_reply_mode mode;    /* reply */
    bool attach;                  /* forward --attach */
    bool dry_run;                 /* print the message instead of sending */
    const char *folder;           /* -f FOLDER, or NULL */
    char *msg;                    /* MSG */
    const char *const *to;        /* forward: ADDR... */
    size_t nto;
};

/* Run it; returns the exit code. */
int draft_run(struct cmd_ctx *ctx, const struct draft_args *a);

int cmd_reply(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_forward(struct cmd_ctx *ctx, int argc, char **argv);

#endif
