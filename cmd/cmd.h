/*
 * cmd.h - what the subcommands of `mail` share.
 *
 * Adding a command:
 *   1. write cmd/NAME.c with `int cmd_NAME(struct cmd_ctx *ctx, int argc,
 *      char **argv)` returning an exit code (0, or EX_* from sysexits.h);
 *   2. declare it below and add it to the table in main.c, with its flags
 *      and one-line usage;
 *   3. list NAME.c in cmd/meson.build;
 *   4. write man/mail-NAME.1, add it to man/meson.build, and teach the
 *      bash, zsh and fish completions its options;
 *   5. add tests/bats/NNNN-NAME.bats (and register it in
 *      tests/bats/meson.build).
 * tests/bats/0000-cli.bats checks that every command answers -h and that
 * each has a man page and completions.
 */
#ifndef MAIL_CMD_H
#define MAIL_CMD_H

#include <stdbool.h>
#include <stdio.h>

#include "mail/buf.h"
#include "mail/config.h"
#include "mail/conn.h"
#include "mail/error.h"
#include "mail/paths.h"
#include "mail/reply.h"

enum color_when { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };

struct cmd_ctx {
    const char *argv0;
    const char *config_path;       /* -C */
    const char *account_name;      /* -a */
    struct mail_overrides ov;      /* --imap --pop3 --smtp --user */
    int verbose;                   /* -v, repeatable */
    bool quiet;                    /* -q */
    enum color_when color;
    struct mail_paths paths;       /* from the environment, once */
    struct mail_config cfg;
    bool cfg_loaded;
};

/* Options every command accepts, for getopt_long tables.  Use
 * CMD_COMMON_SHORT in the short string and CMD_COMMON_LONG in the long
 * table, then pass unknown-to-you options to cmd_common_option. */
#define CMD_COMMON_SHORT "a:C:vqh"
enum {
    OPT_COLOR = 1000, OPT_IMAP, OPT_POP3, OPT_SMTP, OPT_USER, OPT_JSON,
    OPT_FIRST_COMMAND_OPTION = 1100,
};
#define CMD_COMMON_LONG                                   \
    { "account", required_argument, NULL, 'a' },          \
    { "config", required_argument, NULL, 'C' },           \
    { "verbose", no_argument, NULL, 'v' },                \
    { "quiet", no_argument, NULL, 'q' },                  \
    { "help", no_argument, NULL, 'h' },                   \
    { "color", required_argument, NULL, OPT_COLOR },      \
    { "imap", required_argument, NULL, OPT_IMAP },        \
    { "pop3", required_argument, NULL, OPT_POP3 },        \
    { "smtp", required_argument, NULL, OPT_SMTP },        \
    { "user", required_argument, NULL, OPT_USER }

/* Handle a common option.  Returns 0 if handled, 1 if not common, or an
 * exit code > 1 (64 for a bad value; for -h, prints usage and returns
 * -1 meaning "exit 0"). */
int cmd_common_option(struct cmd_ctx *ctx, const char *cmdname, int opt,
                      const char *arg);

/* Load the config (once) and pick the account with -a and the overrides.
 * Prints the error and returns its exit code, or 0. */
int cmd_load_account(struct cmd_ctx *ctx, struct mail_account **acct);

/* The account's IMAP remote (mail/remote.h), made once: every imap:
 * folder of the run shares its logged-in session (logged out at exit),
 * traced with -vv.  Prints the error and returns its exit code, or 0. */
struct mail_remote;
int cmd_remote(struct cmd_ctx *ctx, struct mail_remote **r);

/* Open the mailbox NAME (UTF-8, without "imap:") of the account's IMAP
 * server, a name the server gave (rm's SPECIAL-USE \Trash); a FOLDER a
 * person gives goes through cmd_open_folder.  Prints the error and
 * returns its exit code, or 0. */
struct mail_folder;
int cmd_open_imap_folder(struct cmd_ctx *ctx, const char *name, int mode,
                         struct mail_folder **f);

/* Print "mail: <text>" (terminal-safe) as one line, also when other
 * threads write to stderr (the watch's -v trace). */
void cmd_note(const char *text);
/* Print "mail: <message>" (terminal-safe) and return the exit code for
 * the error's kind. */
int cmd_fail(const struct mail_error *err);
/* Print "mail: <formatted>" and return code. */
int cmd_failf(int code, const char *fmt, ...) MAIL_PRINTF(2, 3);
/* A usage error: "mail CMD: what" plus a hint, exit 64. */
int cmd_usage_error(const char *cmdname, const char *fmt, ...)
    MAIL_PRINTF(2, 3);
/* help.c: print the help of a command (usage, every option with a line
 * of description, examples, its man page) to f. */
void cmd_print_usage(FILE *f, const char *cmdname);
/* main.c: the global usage and the list of commands. */
void cmd_print_commands(FILE *f);

/* The -v trace: writes "proto> line" to stderr, terminal-safe. */
struct cmd_trace {
    const char *proto;
};
void cmd_trace_fn(void *arg, char dir, const char *data, size_t len);

/* Ask for a password on /dev/tty without echo (mail_prompt_fn). */
int cmd_prompt_password(void *arg, const char *prompt, struct mail_buf *out,
                        struct mail_error *err);

/* Print untrusted text safely. */
void out_safe(FILE *f, const char *s, size_t len, int flags);
void out_safe_str(FILE *f, const char *s);
/* JSON helpers: a string value (escaped, invalid UTF-8 replaced), or null
 * for NULL. */
void json_str(FILE *f, const char *s);
void json_strn(FILE *f, const char *s, size_t len);

/* Are we allowed to use color on f? */
bool cmd_use_color(const struct cmd_ctx *ctx, FILE *f);

/* The commands. */
int cmd_check(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_auth(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_help(struct cmd_ctx *ctx, int argc, char **argv);
/* --- ls, folders, flag, mv, rm --- */
int cmd_ls(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_folders(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_flag(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_mv(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_rm(struct cmd_ctx *ctx, int argc, char **argv);
/* select.c: finish with folder f after changing it (flags, moves,
 * deletions): close it, which writes an mbox, and keep the numbers of
 * its last `mail ls` pointing at the same messages.  before is the
 * listing the change worked on (cmd_selection.all), removed[i] true for
 * the messages that left the folder; both may be NULL for a Maildir,
 * whose keys never change.  Prints any error and returns its exit code,
 * or 0. */
struct mail_folder;
struct mail_envelope_list;
int cmd_folder_done(struct mail_folder *f,
                    const struct mail_envelope_list *before,
                    const bool *removed);
/* mv.c: move the selected messages of `from` to `to`, then close both
 * folders (also for rm).  Prints errors; returns an exit code. */
struct cmd_selection;
int cmd_move_selected(struct mail_folder *from, struct cmd_selection *sel,
                      struct mail_folder *to);
/* select.c: are a and b the same folder on disk? */
bool cmd_same_folder(struct mail_folder *a, struct mail_folder *b);
/* --- read --- */
int cmd_read(struct cmd_ctx *ctx, int argc, char **argv);
/* An envelope as a JSON object (DESIGN.md's fields: id (null when
 * number is 0), folder, path or uid, flags, date, from, to, cc, subject,
 * message_id, size, attachments), for every --json that shows messages.
 * Needs mail/folder.h. */
struct mail_envelope;
void cmd_json_envelope(FILE *f, const struct mail_envelope *e,
                       size_t number, const char *folder);
/* --- send --- */
int cmd_send(struct cmd_ctx *ctx, int argc, char **argv);
/* The sendmail(8) interface; argv[0] is "sendmail". */
int cmd_sendmail(struct cmd_ctx *ctx, int argc, char **argv);
/* main.c calls this first: when the program is called as `sendmail` or
 * `mail sendmail`, or
 * in mailx's sending form (`mail -s SUBJ ADDR...`: mailx options, or an
 * address where a command would be), it runs the send and returns true
 * with the exit code in *rc.  is_command tells the command names. */
bool cmd_send_compat(struct cmd_ctx *ctx, int argc, char **argv,
                     bool (*is_command)(const char *name), int *rc);

/* send.c: what `mail send`, sendmail and mailx share. */
struct send_strv {
    const char **v;
    size_t n, alloc;
};
#define SEND_STRV_INIT { NULL, 0, 0 }
int send_strv_push(struct send_strv *v, const char *s);
void send_strv_release(struct send_strv *v);

struct send_opts {
    const char *subject;
    struct send_strv to, cc, bcc, attach, headers;
    const char *from;        /* -f: From and envelope sender */
    const char *from_name;   /* -F */
    bool extract;            /* -t */
    bool dots;               /* a line "." ends the input (sendmail) */
    bool dry_run, flush, no_flush, interactive;
    bool no_save;            /* --no-save: no copy in the sent folder */
    bool skip_empty;         /* mailx -E */
    int queue;               /* 1 --queue, -1 --no-queue, 0 the account */
    const char *batch;       /* --batch MBOX */
    char *owned_subject;     /* set by the prompts */
    struct send_strv owned;  /* strings the prompts allocated */
};
void send_opts_release(struct send_opts *o);
/* Run a send; prints errors; returns the exit code. */
int send_run(struct cmd_ctx *ctx, struct send_opts *o);
struct mail_account;
int send_batch(struct cmd_ctx *ctx, struct send_opts *o,
               struct mail_account *acct);
/* An unlinked temporary file, read-write. */
int send_tmpfile(const struct mail_paths *paths, struct mail_error *err);
/* Standard input into a temporary file (dots: sendmail's "." line). */
int send_spool_stdin(const struct mail_paths *paths, bool dots, int *fd,
                     struct mail_error *err);
/* compose_ui.c: $VISUAL, else $EDITOR, else vi on path, through the shell
 * (the variable may carry options), on the terminal with no time limit;
 * 0, or the exit code after printing why it failed. */
int cmd_run_editor(const char *path);

/* compose_ui.c: on a terminal, prompt for missing To and Subject, run
 * the editor on the body, then send / edit / abort.  *body gets the body
 * file.  Returns 0 to send, -1 when the user aborted (the draft is
 * kept; exit 0), or an exit code. */
int send_interactive(struct cmd_ctx *ctx, struct send_opts *o,
                     const struct mail_account *acct, int *body);

/* --- reply, forward, compose: the library's compose flow
 * (mail/compose_flow.h) with the command line's hooks and menu --- */
int cmd_reply(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_forward(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_compose(struct cmd_ctx *ctx, int argc, char **argv);
struct mail_compose_flow;
/* compose_ui.c: $VISUAL, else $EDITOR, else vi. */
const char *cmd_editor(void);
/* compose_ui.c: a flow for acct with the password prompt, the send's
 * events on standard error and the -v traces; NULL after printing why. */
struct mail_compose_flow *cmd_flow_new(struct cmd_ctx *ctx,
                                       const struct mail_account *acct);
/* compose_ui.c: the options cmd_flow_new uses (the reader's too). */
struct mail_compose_flow_opts;
const struct mail_compose_flow_opts *cmd_flow_opts(struct cmd_ctx *ctx,
                                                   const struct mail_account *acct);
/* compose_ui.c: send the draft (dry_run: print the message instead) and
 * say what went wrong after the send (draft not removed, original not
 * flagged); *sent: delivered or queued.  Returns the exit code. */
int cmd_flow_send(struct cmd_ctx *ctx, struct mail_compose_flow *fl,
                  bool dry_run, bool *sent);
/* compose_menu.c: $VISUAL/$EDITOR on the draft, then the menu: (y) send,
 * (e) edit, (h) headers, (a) attach, (d) detach, (p) postpone, (q) quit.
 * Returns CMD_FLOW_SEND, CMD_FLOW_ABORTED, CMD_FLOW_POSTPONED (done,
 * saved), or an exit code. */
enum { CMD_FLOW_SEND = 0, CMD_FLOW_ABORTED = -1, CMD_FLOW_POSTPONED = -2 };
int cmd_flow_menu(struct cmd_ctx *ctx, struct mail_compose_flow *fl,
                  const struct mail_account *acct);
/* compose_menu.c: postpone and say where; 0 or the exit code. */
int cmd_flow_postpone(struct cmd_ctx *ctx, struct mail_compose_flow *fl);
/* compose_menu.c: a line (readline on a terminal; initial: the text to
 * start from), malloc'd; NULL at the end of input. */
char *cmd_ask_line(const char *prompt, const char *initial);
/* reply and forward (compose_ui.c runs them). */
struct cmd_reply_args {
    const char *cmdname;          /* "reply" or "forward" */
    bool forward;
    enum mail_reply_mode mode;    /* reply */
    bool attach;                  /* forward --attach */
    bool dry_run;                 /* print the message instead */
    const char *folder;           /* -f FOLDER, or NULL */
    const char *msg;              /* MSG */
    const char *const *to;        /* forward: ADDR... */
    size_t nto;
};
int cmd_reply_run(struct cmd_ctx *ctx, const struct cmd_reply_args *a);
/* The option parser of reply.c and forward.c (their own tables). */
enum { OPT_REPLY_DRY_RUN = OPT_FIRST_COMMAND_OPTION, OPT_REPLY_LIST,
       OPT_REPLY_ATTACH };
struct option;
int cmd_reply_parse(struct cmd_ctx *ctx, bool forward, int argc,
                    char **argv, const struct option *longopts,
                    const char *shortopts);

/* --- fetch --- */
int cmd_fetch(struct cmd_ctx *ctx, int argc, char **argv);

/* --- the address book, watching, the reader --- */
int cmd_alias(struct cmd_ctx *ctx, int argc, char **argv);  /* alias.c */
int cmd_watch(struct cmd_ctx *ctx, int argc, char **argv);  /* watch.c */
int cmd_tui(struct cmd_ctx *ctx, int argc, char **argv);    /* tui.c */

#endif
