/*
 * select.h - what FOLDER and MSG arguments mean, shared by ls, read, flag,
 * mv, rm, reply, forward and the reader (implemented in cmd/select.c).
 *
 * FOLDER: a path to a Maildir (a directory with cur/ new/ tmp/) or an mbox
 * file; "=NAME" for a folder of the account's local store ("=Sent");
 * "imap:NAME" for a folder on the account's IMAP server.  Without FOLDER:
 * the account's store (its inbox).
 *
 * MSG: a number from the last `mail ls` of that folder (remembered in
 * $XDG_STATE_HOME/mail/, else ~/.local/state/mail/), ranges "3-7" and
 * lists "5,9" (and both: "1-3,7"); a path to a message file; a
 * "<message-id>"; "uid:N" in an IMAP folder.
 */
#ifndef MAIL_CMD_SELECT_H
#define MAIL_CMD_SELECT_H

#include "cmd.h"
#include "mail/folder.h"

/*
 * Open FOLDER (NULL: the default) for the chosen account.  The account
 * may be NULL when arg is a path (no config needed then).  Prints the
 * error and returns its exit code (66 for a missing folder), or 0.
 * *display gets a short name for messages and the listing state
 * ("=Sent", the path as given, "INBOX"); it points into static or arg
 * storage, valid until the next call.
 */
int cmd_open_folder(struct cmd_ctx *ctx, const char *arg, int mode,
                    struct mail_folder **f, const char **display);

/* Remember a listing: the keys of the envelopes, in the order shown, so
 * that number i (from 1) means list->v[order[i-1]].  order may be NULL
 * (identity). */
int cmd_save_listing(struct mail_folder *f,
                     const struct mail_envelope_list *list,
                     const size_t *order, size_t n);

/* The messages a command works on. */
struct cmd_selection {
    struct mail_envelope_list all;  /* the folder's listing */
    size_t *idx;                    /* selected: indexes into all.v */
    size_t *number;                 /* their listing numbers (0 if none) */
    size_t n;
};

/*
 * Resolve MSG arguments against folder f: listing numbers (ranges and
 * lists), "<message-id>", "uid:N", or a file path inside that folder.
 * Every argument must match (else exit 66 naming it); numbers need a
 * saved listing of this folder (else 66: "run 'mail ls' first").  A bad
 * argument is 64.  Prints the error and returns the exit code, or 0.
 */
int cmd_select_messages(struct cmd_ctx *ctx, struct mail_folder *f,
                        int argc, char **argv, struct cmd_selection *sel);
void cmd_selection_release(struct cmd_selection *sel);

/*
 * For commands that take message file paths without a FOLDER (mail read
 * ~/Mail/INBOX/cur/123:2,S): when every MSG argument is a path to a file
 * in a Maildir's cur/ or new/, open that Maildir.  Returns 1 when it did
 * (and *f is set), 0 when the arguments are not paths, or an exit code
 * > 1 after printing the error.
 */
int cmd_folder_from_paths(struct cmd_ctx *ctx, int argc, char **argv,
                          int mode, struct mail_folder **f);

/* ---- flag, mv and rm: MSG... in one folder, changed as one set ---- */

/*
 * Their options, from the command's own getopt_long table (shortopts,
 * longopts: the common ones, -f/--folder FOLDER into *folder, and at most
 * one flag of the command's own, OPT_FIRST_COMMAND_OPTION, setting
 * *extra_set).  A bad option is "mail CMD: <what>: ARG<hint>" (64).
 * Returns 0 with optind at the first operand, -1 when -h printed the
 * usage (exit 0), or an exit code.
 */
struct option;
int cmd_msg_options(struct cmd_ctx *ctx, const char *cmdname, int argc,
                    char **argv, const char *shortopts,
                    const struct option *longopts, bool *extra_set,
                    const char **folder, const char *what,
                    const char *hint);

/* The folder of MSG... (nmsg of them at msgs): -f's folder; else the
 * Maildir of message file paths (cmd_folder_from_paths); else the
 * account's inbox.  Opened read-write.  A folder name among the messages
 * (imap:NAME, =NAME) is a usage error of cmdname that points at -f.
 * Prints the error and returns its exit code, or 0. */
int cmd_open_msg_folder(struct cmd_ctx *ctx, const char *cmdname,
                        const char *folder, int nmsg, char **msgs,
                        struct mail_folder **f);

/* A change of a set of messages v[0..n) of f (mail_folder_*_many):
 * *done counts the first messages that left f. */
typedef int (*cmd_set_fn)(struct mail_folder *f, struct mail_envelope **v,
                          size_t n, void *arg, size_t *done,
                          struct mail_error *err);

/*
 * Run fn once on the selected messages of f, as one set (one UID command
 * for an imap: folder); close dest (may be NULL: the folder the messages
 * went to, durable before f forgets them) and then f (cmd_folder_done,
 * told which left it when removes).  Prints errors; returns the exit
 * code.
 */
int cmd_change_selected(struct mail_folder *f, struct cmd_selection *sel,
                        cmd_set_fn fn, void *arg, bool removes,
                        struct mail_folder *dest);

#endif
