/*
 * help.c - `mail help [COMMAND]` and `mail COMMAND --help`: the usage
 * line, every option of the command with one line of description, and an
 * example or two, like git's -h.  tests/bats/0000-cli.bats checks that
 * every option a command accepts is here, and that every man page named
 * exists.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cmd.h"

struct opt_help {
    const char *opt;          /* "-f, --folder FOLDER" */
    const char *what;
};

struct cmd_help {
    const char *name;
    const char *usage;        /* after "mail NAME " */
    const char *summary;
    const struct opt_help *opts;
    const char *examples;     /* lines, each "$ ..." then an optional
                                 "  # comment" */
    const char *man;          /* "mail-ls(1)" */
    bool common;              /* takes the common options */
};

static const struct opt_help check_opts[] = {
    { "--json", "print one JSON document instead of the report" },
    { NULL, NULL },
};

static const struct opt_help auth_opts[] = {
    { "--device", "the device flow: a code to enter on another machine's "
                  "browser, instead of a browser here" },
    { "--timeout SECONDS", "how long to wait for the browser (default "
                           "300)" },
    { NULL, NULL },
};

static const struct opt_help ls_opts[] = {
    { "-f, --folder FOLDER", "the folder to list (as the FOLDER operand)" },
    { "-n N", "only the last N messages, after the other filters" },
    { "-u, --unread", "only unread messages" },
    { "--since DATE", "only messages since YYYY-MM-DD, or a time ago: "
                      "7d, 12h, 2w, 3m, 1y" },
    { "-t, --thread", "group the messages into threads" },
    { "-S, --sort KEY", "order by date, from, subject or size (after -n "
                        "picked the messages)" },
    { "-r, --reverse", "reverse the order" },
    { "-F, --format FORMAT", "one line per message in this format: %n "
                             "number, %f from, %d date, %s subject..." },
    { "--json", "print one JSON document" },
    { "QUERY", "terms from:, to:, cc:, subject:, body: TEXT; since:, "
               "before: DATE; larger:, smaller: SIZE (10k, 2M); "
               "flag:seen|unseen|flagged|answered|draft|deleted; "
               "has:attachment; a word or \"phrase\" (from, to, cc or "
               "subject); joined by AND (implicit), OR, NOT and ( ); "
               "see QUERY in mail-ls(1)" },
    { NULL, NULL },
};

static const struct opt_help alias_opts[] = {
    { "-d, --delete NAME", "remove the alias from the aliases file" },
    { "-q, --query STRING", "the entries of the address book that contain "
                            "STRING, in mutt's query format" },
    { "--json", "print one JSON document (the list, or the query)" },
    { NULL, NULL },
};

static const struct opt_help folders_opts[] = {
    { "--json", "print one JSON document" },
    { "--remote", "the folders on the account's IMAP server, with counts "
                  "and special use (the names are kept for completion)" },
    { "--cached", "with --remote: the names from the last listing, one a "
                  "line, without connecting (for shell completion)" },
    { "--create FOLDER", "create imap:NAME on the server, or =NAME in the "
                         "store" },
    { "--rename OLD NEW", "rename a folder (both imap:NAME or both local)" },
    { "--delete FOLDER", "delete a folder (a local one only when empty)" },
    { NULL, NULL },
};

static const struct opt_help flag_opts[] = {
    { "-f, --folder FOLDER", "the folder of the messages (default: the "
                             "inbox)" },
    { "+FLAG, -FLAG", "set or clear seen, flagged, answered or draft" },
    { NULL, NULL },
};

static const struct opt_help mv_opts[] = {
    { "-f, --folder FOLDER", "the folder of the messages (default: the "
                             "inbox)" },
    { "--create", "create DEST when it does not exist (else exit 66)" },
    { NULL, NULL },
};

static const struct opt_help rm_opts[] = {
    { "-f, --folder FOLDER", "the folder of the messages (default: the "
                             "inbox)" },
    { "--expunge", "delete for good instead of moving to the trash" },
    { NULL, NULL },
};

static const struct opt_help read_opts[] = {
    { "-f, --folder FOLDER", "the folder of the numbered messages" },
    { "--raw", "print the message as it is stored" },
    { "--peek", "do not mark the message as seen" },
    { "--headers all", "show every header field, decoded" },
    { "--part N", "print one part (1, 1.2) decoded: as text on a "
                  "terminal, as bytes otherwise" },
    { "--save DIR", "save the attachments into DIR" },
    { "--json", "print one JSON document: envelope, text and parts" },
    { NULL, NULL },
};

static const struct opt_help send_opts[] = {
    { "-s, --subject SUBJECT", "the subject" },
    { "-c, --cc ADDR", "add a Cc recipient (repeatable)" },
    { "-b, --bcc ADDR", "add a Bcc recipient (repeatable)" },
    { "-A, --attach FILE", "attach a file (repeatable)" },
    { "-f, -r, --from ADDR", "the sender: From and envelope sender" },
    { "-F, --name NAME", "the sender's display name" },
    { "-t, --extract", "standard input is a whole message: recipients "
                       "from To, Cc and Bcc" },
    { "-i", "accepted for sendmail compatibility (dots are never "
            "special)" },
    { "-o OPTION", "a sendmail option such as -oi, -odi, -oem (ignored)" },
    { "--header 'NAME: VALUE'", "add a header field (repeatable)" },
    { "--dry-run", "print the message instead of sending it" },
    { "--queue", "queue the message when the server cannot take it now" },
    { "--no-queue", "never queue, even with queue = true" },
    { "--flush", "send the queued messages, nothing else" },
    { "--no-flush", "do not send the queue before this message" },
    { "--no-save", "no copy in the sent folder (sent-folder) this time" },
    { "--batch MBOX", "send every message of an mbox over one connection" },
    { NULL, NULL },
};

static const struct opt_help sendmail_opts[] = {
    { "-t", "take the recipients from the To, Cc and Bcc of the message "
            "(Bcc is removed)" },
    { "-i, -oi", "a line with a single dot does not end the message" },
    { "-f, -r ADDR", "the sender's address (the envelope sender)" },
    { "-F NAME", "the sender's full name, for a From that is added" },
    { "-C FILE", "read this config file" },
    { "-v", "print the SMTP dialogue on standard error" },
    { "-q", "send the queued messages" },
    { "-bm", "deliver a message: the default mode" },
    { "-odi, -odb, -oem, -o OPTION", "delivery and error modes: accepted "
                                     "and ignored" },
    { "-B TYPE, -N DSN, -R RET, -V ENVID, -X FILE, -L TAG, -O OPT=V, -h N",
      "accepted and ignored (Debian's cron passes -B8BITMIME)" },
    { "-G, -U, -n, -m, -e, -x", "accepted and ignored" },
    { NULL, NULL },
};

static const struct opt_help reply_opts[] = {
    { "--all, -g, --group", "reply to everyone: the original's To and Cc "
                            "in Cc, minus your own addresses" },
    { "--list", "reply to the mailing list (List-Post) only" },
    { "-f, --folder FOLDER", "the folder of the numbered message" },
    { "--dry-run", "print the reply instead of sending it" },
    { "MSG", "the message: a number from mail ls, a path, <message-id>" },
    { NULL, NULL },
};

static const struct opt_help forward_opts[] = {
    { "--attach", "forward the original as a message/rfc822 attachment, "
                  "its bytes untouched" },
    { "-f, --folder FOLDER", "the folder of the numbered message" },
    { "--dry-run", "print the message instead of sending it" },
    { "ADDR", "a recipient (repeatable)" },
    { NULL, NULL },
};

static const struct opt_help compose_opts[] = {
    { "-s, --subject SUBJECT", "the subject" },
    { "-c, --cc ADDR", "a Cc recipient (repeatable)" },
    { "-b, --bcc ADDR", "a Bcc recipient (repeatable)" },
    { "-A, --attach FILE", "attach a file (repeatable)" },
    { "--resume", "resume a postponed draft: the only one, or number N "
                  "of the list" },
    { "--dry-run", "print the message instead of sending it" },
    { NULL, NULL },
};

static const struct opt_help watch_opts[] = {
    { "--exec CMD", "run CMD (through sh -c) once for the new messages "
                    "of a folder that came together, with MAIL_FOLDER, "
                    "MAIL_COUNT, MAIL_SUBJECTS (one a line), MAIL_UIDS, "
                    "and MAIL_UID, MAIL_UIDVALIDITY, MAIL_FROM, "
                    "MAIL_SUBJECT and MAIL_DATE of the last, in its "
                    "environment, made terminal-safe" },
    { "--exec-timeout N", "kill an --exec command still running after N "
                          "seconds (default 60; 0: never)" },
    { "--json", "one JSON object a line for each new message" },
    { "--interval N", "seconds between STATUS polls of a folder that is "
                      "not watched with IDLE (default 60)" },
    { "--keepalive N", "re-issue IDLE, or NOOP on a quiet polled "
                       "connection, every N seconds (default 1500)" },
    { "--no-notify", "no IMAP NOTIFY even where offered: IDLE on a "
                     "connection per folder (mail written straight into "
                     "the server's Maildir)" },
    { "-q, --quiet", "no 'watching N folders' line, no reconnect notes "
                     "(shown on a terminal, or with -v, only)" },
    { "-v, --verbose", "trace the IMAP protocol on standard error "
                       "(passwords hidden)" },
    { NULL, NULL },
};

static const struct opt_help fetch_opts[] = {
    { "--all", "fetch every account that has a POP3 or IMAP server" },
    { "--keep", "leave the messages on the server" },
    { "--delete", "delete the fetched messages on the server" },
    { "--folder NAME", "IMAP: fetch this folder (* and % patterns; "
                       "repeatable)" },
    { "--catch-up", "record everything on the server as fetched, without "
                    "downloading it" },
    { "--mda CMD", "pipe each message to this command instead of the "
                   "store" },
    { "--wait", "wait for another mail fetch of the account instead of "
                "exiting 75" },
    { "--idle", "IMAP: after fetching, wait for new mail (NOTIFY, else "
                "IDLE) and fetch each arrival, until interrupted" },
    { "--keepalive N", "with --idle: re-issue IDLE every N seconds "
                       "(default 1500); below 60, poll that often too" },
    { "--no-notify", "with --idle: no IMAP NOTIFY even where offered: "
                     "IDLE on a connection per folder" },
    { NULL, NULL },
};

static const struct opt_help help_opts[] = {
    { "COMMAND", "the command to describe; without it, the list of "
                 "commands" },
    { NULL, NULL },
};

static const struct opt_help common_opts[] = {
    { "-a, --account NAME", "use this account of the config file" },
    { "-C, --config FILE", "read this config file" },
    { "-v, --verbose", "print the protocol dialogue on standard error" },
    { "-q, --quiet", "print nothing on success" },
    { "--color WHEN", "auto, always or never" },
    { "--imap URL, --pop3 URL, --smtp URL", "use this server instead of "
                                             "the account's" },
    { "--user NAME", "log in as this user" },
    { "-h, --help", "show this help" },
    { NULL, NULL },
};

static const struct opt_help tui_opts[] = {
    { "-f, --folder FOLDER", "the folder to read (as the FOLDER "
                             "operand)" },
    { "FOLDER", "the folder to read (a path, =NAME; default: the "
                "account's inbox)" },
    { NULL, NULL },
};

static const struct cmd_help helps[] = {
    { "check", "[-a ACCOUNT] [--json] [-v]",
      "connect to each server of an account and report TLS, capabilities "
      "and login", check_opts,
      "$ mail check\n"
      "$ mail check -a work -v      # with the protocol dialogue\n",
      "mail-check(1)", true },
    { "auth", "[-a ACCOUNT] [--device] [--timeout SECONDS]",
      "authorize mail with OAuth 2.0 (Gmail, Microsoft 365), once; the "
      "tokens are kept and refreshed", auth_opts,
      "$ mail auth -a gmail          # opens $BROWSER, or prints the URL\n"
      "$ mail auth -a work --device  # on a machine without a browser\n",
      "mail-auth(1)", true },
    { "ls", "[FOLDER | -f FOLDER] [-n N] [--unread] [--since DATE] "
      "[--thread | -S KEY [-r]] [-F FORMAT] [--json] [QUERY...]",
      "list the messages of a folder, numbered for the other commands",
      ls_opts,
      "$ mail ls --unread\n"
      "$ mail ls =Lists/dev --since 7d from:bob\n"
      "$ mail ls -F '%n %f %s\\n' subject:invoice\n"
      "$ mail ls '(from:bob' OR 'from:carol)' NOT flag:seen\n"
      "$ mail ls body:\"the agenda\" since:1m larger:10k\n",
      "mail-ls(1)", true },
    { "folders", "[--json] [--remote [--cached]] | --create FOLDER "
      "| --rename OLD NEW | --delete FOLDER",
      "list the folders of the account's store or IMAP server with "
      "message counts; create, rename or delete one", folders_opts,
      "$ mail folders\n"
      "$ mail folders --remote -a work\n"
      "$ mail folders --create imap:Projects/2026\n",
      "mail-folders(1)", true },
    { "flag", "[-f FOLDER] MSG... +seen|-seen|+flagged|-flagged|"
      "+answered|-answered|+draft|-draft...",
      "set or clear flags of messages", flag_opts,
      "$ mail flag 3 +flagged\n"
      "$ mail flag 1-5 -seen\n",
      "mail-flag(1)", true },
    { "mv", "[-f FOLDER] [--create] MSG... DEST",
      "move messages to another folder", mv_opts,
      "$ mail mv 2 5 =Archive\n"
      "$ mail mv --create 3 =Receipts/2026\n",
      "mail-mv(1)", true },
    { "rm", "[-f FOLDER] [--expunge] MSG...",
      "move messages to the trash folder, or delete them for good",
      rm_opts,
      "$ mail rm 4\n"
      "$ mail rm -f =Spam --expunge 1-20\n",
      "mail-rm(1)", true },
    { "read", "[--raw] [--peek] [--headers all] [--part N] [--save DIR] "
      "[--json] [-f|--folder FOLDER] MSG...",
      "show messages: headers, readable text, attachments", read_opts,
      "$ mail read 3\n"
      "$ mail read --save ~/Downloads 3\n"
      "$ mail read --part 2 3 > report.pdf\n",
      "mail-read(1)", true },
    { "send", "[-s SUBJECT] [-c ADDR]... [-b ADDR]... [-A FILE]... "
      "[-f FROM] [-F NAME] [-t] [-i] [--header 'NAME: VALUE']... "
      "[--dry-run] [--queue | --no-queue] [--no-flush] [--no-save] "
      "[--flush] "
      "[--batch MBOX] [ADDR]...",
      "send a message (body on standard input), or the queue", send_opts,
      "$ echo 'See you at 3.' | mail send -s 'Meeting' bob@example.org\n"
      "$ mail send -s Report -A report.pdf boss@example.org < body.txt\n"
      "$ mail send -t < message.eml\n",
      "mail-send(1)", true },
    { "reply", "[--all | --list] [-f FOLDER] [--dry-run] MSG",
      "reply to a message: quoted, to its sender, everyone or the list; "
      "$EDITOR on the whole draft on a terminal, else the text on standard "
      "input goes above the quote; the original is marked answered after "
      "a successful send", reply_opts,
      "$ mail reply 3\n"
      "$ echo 'Agreed.' | mail reply --all 3\n"
      "$ mail reply --list '<1234@lists.example.org>'\n",
      "mail-reply(1)", true },
    { "forward", "[--attach] [-f FOLDER] [--dry-run] MSG [ADDR]...",
      "forward a message inline or as an attachment; the original is "
      "marked passed after a successful send", forward_opts,
      "$ mail forward 3 carol@example.org < note.txt\n"
      "$ mail forward --attach 3 carol@example.org </dev/null\n",
      "mail-forward(1)", true },
    { "compose", "[-s SUBJECT] [-c ADDR]... [-b ADDR]... [-A FILE]... "
      "[--dry-run] [ADDR]... | --resume [N]",
      "write a new message: $EDITOR on the whole draft, then the menu: "
      "(y) send, (e) edit, (h) headers, (a) attach, (d) detach, "
      "(p) postpone to the drafts folder, (q) quit; --resume brings a "
      "postponed draft back (reply and forward have the same menu)",
      compose_opts,
      "$ mail compose bob@example.org\n"
      "$ mail compose -s Report -A report.pdf boss@example.org\n"
      "$ mail compose --resume\n",
      "mail-compose(1)", true },
    { "sendmail", "[-t] [-i] [-oi] [-f ADDR] [-F NAME] [-odi] [-oem] "
      "[-o OPTION] [ADDR]...",
      "the sendmail(8) interface, for cron, git send-email and mutt: a "
      "whole message on standard input", sendmail_opts,
      "$ mail sendmail -t < message.eml\n"
      "$ git send-email --sendmail-cmd='mail sendmail' 0001-fix.patch\n"
      "$ sendmail -FCronDaemon -i -B8BITMIME -oem root < report\n",
      "mail-sendmail(1)", false },
    { "alias", "[--json] [NAME [ADDR...]] | -d NAME | -q STRING",
      "the address book: with no argument the aliases (NAME<TAB>VALUE), "
      "with NAME its expansion, with NAME ADDR... set it in the aliases "
      "file; -q queries the aliases, the addresses of mail sent and the "
      "account's address-command", alias_opts,
      "$ mail alias bob 'Bob Example <bob@example.org>'\n"
      "$ mail alias team bob carol@example.org\n"
      "$ mail alias -q bob          # mutt: set query_command=\"mail alias "
      "-q %s\"\n",
      "mail-alias(1)", true },
    { "fetch", "[--all] [--keep | --delete] [--folder NAME]... "
      "[--catch-up] [--mda CMD] [--wait] "
      "[--idle [--keepalive N] [--no-notify]] [-a ACCOUNT] [-v] [-q]",
      "download new mail from the POP3 or IMAP server into the store",
      fetch_opts,
      "$ mail fetch\n"
      "$ mail fetch --all -q        # from cron\n"
      "$ mail fetch --mda 'procmail'\n"
      "$ mail fetch --idle          # and each new message as it comes\n",
      "mail-fetch(1)", true },
    { "watch", "[-a ACCOUNT] [--exec CMD] [--exec-timeout N] [--json] "
      "[--interval N] "
      "[--keepalive N] [--no-notify] [-q] [-v] [FOLDER]...",
      "report each new message of IMAP folders (imap:NAME or NAME; "
      "default INBOX) once, as it arrives, until interrupted",
      watch_opts,
      "$ mail watch\n"
      "$ mail watch imap:INBOX imap:Lists/dev\n"
      "$ mail watch --exec 'notify-send \"$MAIL_COUNT new in $MAIL_FOLDER\" "
      "\"$MAIL_SUBJECTS\"'\n",
      "mail-watch(1)", true },
    { "tui", "[FOLDER | -f FOLDER]",
      "the reader: an index of the folder and a pager, on the terminal "
      "(also 'mail' with no command); keys: j/k move, Enter open, q back "
      "or quit, d/u delete/undelete, F flag, N new, $ sync, ? all keys",
      tui_opts,
      "$ mail tui\n"
      "$ mail tui =Lists/dev\n",
      "mail-tui(1)", true },
    { "help", "[COMMAND]", "show help for a command", help_opts,
      "$ mail help ls\n"
      "$ mail ls --help\n",
      "mail(1)", false },
};

#define NHELPS (sizeof helps / sizeof helps[0])

static const struct cmd_help *find_help(const char *name)
{
    for (size_t i = 0; i < NHELPS; i++)
        if (strcmp(helps[i].name, name) == 0)
            return &helps[i];
    return NULL;
}

static void print_opts(FILE *f, const struct opt_help *o)
{
    for (; o->opt; o++) {
        size_t n = strlen(o->opt);

        if (n <= 24)
            fprintf(f, "  %-24s  %s\n", o->opt, o->what);
        else
            fprintf(f, "  %s\n  %-24s  %s\n", o->opt, "", o->what);
    }
}

static void print_command_help(FILE *f, const struct cmd_help *h)
{
    fprintf(f, "usage: mail %s %s\n\n%s.\n\noptions:\n", h->name, h->usage,
            h->summary);
    print_opts(f, h->opts);
    if (h->common) {
        fputs("\ncommon options:\n", f);
        print_opts(f, common_opts);
    }
    fprintf(f, "\nexamples:\n");
    for (const char *p = h->examples; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);

        fprintf(f, "  %.*s\n", (int)n, p);
        p += n + (nl ? 1 : 0);
    }
    fprintf(f, "\nSee %s for details.\n", h->man);
}

void cmd_print_usage(FILE *f, const char *cmdname)
{
    const struct cmd_help *h = find_help(cmdname);

    if (h)
        print_command_help(f, h);
}

int cmd_help(struct cmd_ctx *ctx, int argc, char **argv)
{
    const struct cmd_help *h;

    (void)ctx;
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 ||
                      strcmp(argv[1], "--help") == 0)) {
        cmd_print_usage(stdout, "help");
        return 0;
    }
    if (argc < 2) {
        cmd_print_commands(stdout);
        return 0;
    }
    if (argc > 2)
        return cmd_usage_error("help", "too many arguments");
    h = find_help(argv[1]);
    if (!h)
        return cmd_failf(EX_USAGE, "unknown command '%s' (see 'mail --help')",
                         argv[1]);
    print_command_help(stdout, h);
    return 0;
}
