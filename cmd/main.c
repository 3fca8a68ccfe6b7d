/*
 * main.c - the `mail` program: global options, then one subcommand from
 * the table below.  Every command runs through run_command(), which also
 * checks that standard output was really written (a full disk is an
 * error, not a silent success).
 */
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmd.h"
#include "mail_build_config.h"

struct command {
    const char *name;
    int (*fn)(struct cmd_ctx *ctx, int argc, char **argv);
    const char *summary;   /* the usage and options are in help.c */
};

static const struct command commands[] = {
    { "check", cmd_check,
      "connect to each server of an account and report TLS, capabilities "
      "and login" },
    { "auth", cmd_auth,
      "authorize an account with OAuth 2.0 (Gmail, Microsoft 365), once" },
    /* --- ls, folders, flag, mv, rm --- */
    { "ls", cmd_ls,
      "list the messages of a folder, numbered for the other commands" },
    { "folders", cmd_folders,
      "list the folders of the account's store with message counts" },
    { "flag", cmd_flag, "set or clear flags of messages" },
    { "mv", cmd_mv, "move messages to another folder" },
    { "rm", cmd_rm,
      "move messages to the trash folder, or delete them for good" },
    /* --- read --- */
    { "read", cmd_read, "show messages: headers, readable text, attachments" },
    /* --- send --- */
    { "send", cmd_send, "send a message (body on standard input), or the "
      "queue" },
    /* Run by cmd_send_compat before this table is looked at; here for
     * the list of commands and `mail help sendmail`. */
    { "sendmail", cmd_sendmail, "the sendmail(8) interface, for cron, git "
      "send-email and mutt" },
    /* --- reply, forward --- */
    { "reply", cmd_reply, "reply to a message: quoted, to its sender, "
      "everyone (--all) or the list (--list)" },
    { "forward", cmd_forward, "forward a message inline or as an "
      "attachment (--attach)" },
    { "compose", cmd_compose, "write a new message in the editor, or "
      "resume a postponed draft (--resume)" },
    { "alias", cmd_alias, "list, show, set or remove aliases; query the "
      "address book (-q, for mutt's query_command)" },
    /* --- fetch --- */
    { "fetch", cmd_fetch,
      "download new mail from the POP3 or IMAP server into the store" },
    { "watch", cmd_watch,
      "report new mail in IMAP folders as it arrives (IDLE), or run a "
      "command for it" },
    /* --- the reader --- */
    { "tui", cmd_tui, "the reader: browse and read a folder in the "
      "terminal (also 'mail' alone)" },
    { "help", cmd_help, "show help for a command" },
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* --- send --- */
static bool is_command(const char *name)
{
    return find_command(name) != NULL;
}

void cmd_print_commands(FILE *f)
{
    fputs("usage: mail [-a ACCOUNT] [-C FILE] [-v] [-q] [--color WHEN]\n"
          "            [--imap URL] [--pop3 URL] [--smtp URL] [--user NAME]\n"
          "            COMMAND [ARGS]\n\n"
          "commands:\n", f);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fputs("\n'mail help COMMAND' or 'mail COMMAND --help' shows a command's "
          "options;\nsee mail(1), mail.conf(5).\n", f);
}

static int run_command(struct cmd_ctx *ctx, const struct command *c,
                       int argc, char **argv)
{
    int rc;

    optind = 0;   /* GNU getopt: start afresh for the command's options */
    rc = c->fn(ctx, argc, argv);
    /* Standard output must have been written in full (git does the same):
     * ENOSPC or EIO on a redirected stdout is an error. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (errno != EPIPE)
            return cmd_failf(EX_IOERR, "standard output: %s",
                             strerror(errno));
    }
    return rc;
}

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        CMD_COMMON_LONG,
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    const struct command *c;
    int opt, rc;

    /* `mail sendmail --help`: the help of help.c, like every command's
     * (a `sendmail` link keeps sendmail's own). */
    if (argc == 3 && strcmp(argv[1], "sendmail") == 0 &&
        (strcmp(argv[2], "-h") == 0 || strcmp(argv[2], "--help") == 0)) {
        cmd_print_usage(stdout, "sendmail");
        return 0;
    }

    /* --- send: called as `sendmail` or `mail sendmail`, or mailx's
     * `mail -s SUBJ ADDR...` (mailx options, or an address where a
     * command would be): hand over to the send code (cmd/sendmail.c). */
    if (cmd_send_compat(ctx, argc, argv, is_command, &rc)) {
        if (fflush(stdout) != 0 && errno != EPIPE)
            rc = cmd_failf(EX_IOERR, "standard output: %s", strerror(errno));
        return rc;
    }

    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+" CMD_COMMON_SHORT "V", longopts,
                              NULL)) != -1) {
        if (opt == 'V') {
            printf("mail %s\n", MAIL_VERSION);
            return 0;
        }
        if (opt == 'h') {
            cmd_print_commands(stdout);
            return 0;
        }
        if (opt == '?' || opt == ':') {
            if (optopt && optopt < 256)
                fprintf(stderr, "mail: unknown option '-%c' (see 'mail "
                                "--help')\n", optopt);
            else {
                fputs("mail: unknown or incomplete option '", stderr);
                out_safe_str(stderr, argv[optind - 1]);
                fputs("' (see 'mail --help')\n", stderr);
            }
            return EX_USAGE;
        }
        rc = cmd_common_option(ctx, NULL, opt, optarg);
        if (rc > 1)
            return rc;
    }
    if (optind >= argc) {
        /* On a terminal, `mail` alone opens the reader on the inbox. */
        static char tui_name[] = "tui";
        char *tui_argv[] = { tui_name, NULL };

        if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
            return run_command(ctx, find_command("tui"), 1, tui_argv);
        cmd_print_commands(stderr);
        return EX_USAGE;
    }
    c = find_command(argv[optind]);
    if (!c) {
        fprintf(stderr, "mail: unknown command '");
        out_safe_str(stderr, argv[optind]);
        fprintf(stderr, "' (see 'mail --help')\n");
        return EX_USAGE;
    }
    return run_command(ctx, c, argc - optind, argv + optind);
}

int main(int argc, char **argv)
{
    struct cmd_ctx ctx = { .argv0 = argv[0], .color = COLOR_AUTO };
    struct mail_error err;
    int rc;

    setlocale(LC_CTYPE, "");
    /* A server that hangs up must give an error, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    /* The one place that reads HOME, XDG_*_HOME and TMPDIR. */
    mail_error_clear(&err);
    if (mail_paths_from_env(&ctx.paths, &err) < 0)
        return cmd_fail(&err);
    /* MAIL_ALLOW_CORE_DUMPS=1: core dumps stay on once a secret is held
     * (mail/secure.h), for debugging a crash.  Any other value is not a
     * yes. */
    {
        const char *allow = getenv("MAIL_ALLOW_CORE_DUMPS");

        ctx.paths.allow_core_dumps = allow && strcmp(allow, "1") == 0;
    }
    rc = run(&ctx, argc, argv);
    if (ctx.cfg_loaded)
        mail_config_release(&ctx.cfg);
    mail_paths_release(&ctx.paths);
    return rc;
}
