/*
 * draft.h - what `mail reply`, `mail forward` and `mail compose` share
 * (cmd/draft.c):
 * the original selected as for `mail read`, the draft built by the
 * library (mail/reply.h), $VISUAL/$EDITOR on the whole draft with its
 * header on a terminal (else the text on standard input goes above the
 * quote), the compose menu and postponing, sending as `mail send -t` does,
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

struct mail_folder;
struct mail_envelope;

/* One draft being written (reply, forward, compose). */
struct draft_flow {
    struct cmd_ctx *ctx;
    const struct mail_account *acct;
    struct mail_draft *d;
    int rfc822_fd;          /* forward --attach: the original; else -1 */
    const char *key;        /* resumed: its key in the drafts folder */
    bool dry_run;
};

enum { DRAFT_SEND = 0, DRAFT_ABORTED = -1, DRAFT_POSTPONED = -2 };

/*
 * $VISUAL/$EDITOR on the draft with its header, then the compose menu
 * (a summary above it through the terminal-safe printer): (y) send,
 * (e) edit again, (h) To/Cc/Bcc/Subject at prompts, (a) attach a file
 * (file name completion), (d) detach, (p) postpone to the drafts
 * folder, (q)/(x) quit (confirmed when the draft was changed).  Returns
 * DRAFT_SEND, DRAFT_ABORTED, DRAFT_POSTPONED (done, saved), or an exit
 * code.
 */
int draft_session(struct draft_flow *fl);

/* A line from the user (readline on a terminal), malloc'd; NULL at the
 * end of input.  initial: text to start from. */
char *draft_ask_line(const char *prompt, const char *initial);

/* Open the account's drafts folder (an imap: one through the run's IMAP
 * session); *where (may be NULL) its name.  0, DRAFT_NONE when a local
 * one does not exist (and !create; nothing printed), or an exit code
 * (printed). */
enum { DRAFT_NONE = -3 };
int draft_open_drafts(struct cmd_ctx *ctx, const struct mail_account *acct,
                      bool create, struct mail_folder **f, char **where);

/* Postpone to the drafts folder (replacing fl->key); 0 or an exit code. */
int draft_postpone(struct draft_flow *fl);

/* Compose and send (or print with dry_run) as `mail send -t`; *delivered:
 * the server took it.  Returns the exit code (0 also when queued). */
int draft_send(struct draft_flow *fl, bool *delivered);

/* Flag the original answered (reply) or passed (forward); a failure is
 * a warning. */
void draft_flag_original(struct cmd_ctx *ctx, struct mail_folder *f,
                         struct mail_envelope *e, bool forward);

int cmd_reply(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_forward(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_compose(struct cmd_ctx *ctx, int argc, char **argv);

#endif
