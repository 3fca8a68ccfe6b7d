/*
 * sendmail.c - the two old interfaces to sending that scripts use:
 *
 *   sendmail(8), as cron, git send-email, mutt and countless scripts call
 *   it: `sendmail [-t] [-i] [-oi] [-f ADDR] [-F NAME] [-odi] [-oem] ADDR...`
 *   through a link named `sendmail`, or as `mail sendmail ...`;
 *
 *   POSIX mailx's sending form: `mail -s SUBJ [-c ADDR] [-b ADDR]
 *   [-a FILE] ADDR... < body`, where -a attaches as in s-nail and
 *   heirloom mailx and -A as in GNU mailutils.
 *
 * Both end up in send_run (send.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmd.h"
#include "send.h"

/* sendmail options that take a value we ignore (-B 8BITMIME from cron,
 * -N dsn, -R ret, -V envid, -X logfile, -L tag, -h hops, -O option). */
static bool ignored_with_value(char c)
{
    return strchr("BNRVXLhO", c) != NULL;
}

/* Parse sendmail(8) options into o.  Returns 0, or an exit code. */
static int sendmail_parse(struct cmd_ctx *ctx, int argc, char **argv,
                          struct send_opts *o)
{
    int i;

    o->dots = true;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || !a[1])
            break;
        for (size_t k = 1; a[k]; k++) {
            char c = a[k];
            const char *val = NULL;

            if (strchr("fFrCo", c) || ignored_with_value(c)) {
                /* The value is the rest of the word or the next one. */
                if (a[k + 1])
                    val = a + k + 1;
                else if (i + 1 < argc)
                    val = argv[++i];
                else
                    return cmd_usage_error("sendmail", "option '-%c' needs "
                                           "a value", c);
            }
            switch (c) {
            case 't': o->extract = true; break;
            case 'i': o->dots = false; break;
            case 'v': ctx->verbose++; break;
            case 'f': case 'r': o->from = val; break;
            case 'F': o->from_name = val; break;
            case 'C': ctx->config_path = val; break;
            case 'o':
                /* -oi is -i; -odi, -oem, -odb and the rest: nothing to do
                 * for a client that delivers at once. */
                if (strcmp(val, "i") == 0)
                    o->dots = false;
                break;
            case 'b':
                /* -bm is the default mode; the others (daemon, queue
                 * listing, address test) are not ours. */
                if (a[k + 1] == 'm' && !a[k + 2])
                    goto next;
                return cmd_usage_error("sendmail", "mode '%s' is not "
                                       "supported", a);
            case 'q':
                if (!a[k + 1]) {
                    o->flush = true;
                    break;
                }
                return cmd_usage_error("sendmail", "'%s' is not supported",
                                       a);
            case 'G': case 'U': case 'n': case 'm': case 'e': case 'x':
                break;
            default:
                if (ignored_with_value(c))
                    break;
                return cmd_usage_error("sendmail", "unknown option '-%c'",
                                       c);
            }
            if (val)
                break;
        }
next:;
    }
    for (; i < argc; i++)
        if (send_strv_push(&o->to, argv[i]) < 0)
            return cmd_failf(EX_SOFTWARE, "out of memory");
    return 0;
}

int cmd_sendmail(struct cmd_ctx *ctx, int argc, char **argv)
{
    struct send_opts o;
    int rc;

    if (argc == 2 && (strcmp(argv[1], "-h") == 0 ||
                      strcmp(argv[1], "--help") == 0)) {
        fputs("usage: sendmail [-t] [-i] [-oi] [-f ADDR] [-F NAME] [-odi] "
              "[-oem] [-o OPTION] [ADDR]...\n(see mail-send(1))\n", stdout);
        return 0;
    }
    memset(&o, 0, sizeof o);
    rc = sendmail_parse(ctx, argc, argv, &o);
    if (rc == 0) {
        if (!o.extract && !o.flush && o.to.n == 0)
            rc = cmd_usage_error("sendmail", "no recipients (give addresses "
                                 "or -t)");
        else if (o.extract || o.flush)
            rc = send_run(ctx, &o);
        else
            rc = send_run_whole(ctx, &o);   /* a whole message on input */
    }
    send_opts_release(&o);
    return rc;
}

/* ---- mailx ---- */

enum { OPT_ACCOUNT = OPT_FIRST_COMMAND_OPTION + 50 };

static int mailx_main(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        { "account", required_argument, NULL, OPT_ACCOUNT },
        { "config", required_argument, NULL, 'C' },
        { "verbose", no_argument, NULL, 'v' },
        { "quiet", no_argument, NULL, 'q' },
        { "color", required_argument, NULL, OPT_COLOR },
        { "imap", required_argument, NULL, OPT_IMAP },
        { "pop3", required_argument, NULL, OPT_POP3 },
        { "smtp", required_argument, NULL, OPT_SMTP },
        { "user", required_argument, NULL, OPT_USER },
        { "subject", required_argument, NULL, 's' },
        { "attach", required_argument, NULL, 'A' },
        { NULL, 0, NULL, 0 },
    };
    struct send_opts o;
    int opt, rc;

    memset(&o, 0, sizeof o);
    optind = 0;
    opterr = 0;
    /* "+": stop at the first address, like mailx. */
    while ((opt = getopt_long(argc, argv, "+:s:c:b:a:A:r:C:vqnNiE", longopts,
                              NULL)) != -1) {
        int bad = 0;

        switch (opt) {
        case 's': o.subject = optarg; break;
        case 'c': bad = send_strv_push(&o.cc, optarg); break;
        case 'b': bad = send_strv_push(&o.bcc, optarg); break;
        case 'a': case 'A': bad = send_strv_push(&o.attach, optarg); break;
        case 'r': o.from = optarg; break;
        case 'E': o.skip_empty = true; break;
        case 'n': case 'N': case 'i': break;
        case OPT_ACCOUNT: ctx->account_name = optarg; break;
        case ':':
            send_opts_release(&o);
            return cmd_failf(EX_USAGE, "option '%s' needs a value (see "
                             "mail-send(1))", argv[optind - 1]);
        case '?':
            send_opts_release(&o);
            if (optopt && optopt < 256)
                return cmd_failf(EX_USAGE, "unknown option '-%c' (see "
                                 "mail-send(1))", optopt);
            return cmd_failf(EX_USAGE, "unknown option '%s' (see "
                             "mail-send(1))", argv[optind - 1]);
        default:
            rc = cmd_common_option(ctx, NULL, opt, optarg);
            if (rc > 1) {
                send_opts_release(&o);
                return rc;
            }
        }
        if (bad) {
            send_opts_release(&o);
            return cmd_failf(EX_SOFTWARE, "out of memory");
        }
    }
    for (int i = optind; i < argc; i++)
        if (send_strv_push(&o.to, argv[i]) < 0) {
            send_opts_release(&o);
            return cmd_failf(EX_SOFTWARE, "out of memory");
        }
    if (o.to.n == 0) {
        send_opts_release(&o);
        return cmd_failf(EX_USAGE, "no recipients (usage: mail -s SUBJECT "
                         "ADDR... < body)");
    }
    o.interactive = isatty(STDIN_FILENO);
    rc = send_run(ctx, &o);
    send_opts_release(&o);
    return rc;
}

/* Options of the global command line that take a value. */
static bool global_takes_value(const char *longname)
{
    static const char *const names[] = {
        "account", "config", "color", "imap", "pop3", "smtp", "user",
    };

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(longname, names[i]) == 0)
            return true;
    return false;
}

bool cmd_send_compat(struct cmd_ctx *ctx, int argc, char **argv,
                     bool (*is_command)(const char *name), int *rc)
{
    const char *base = strrchr(argv[0], '/');
    bool mailx_opts = false;
    const char *first = NULL;

    base = base ? base + 1 : argv[0];
    if (strcmp(base, "sendmail") == 0) {
        *rc = cmd_sendmail(ctx, argc, argv);
        return true;
    }
    /* Find the first argument that is not an option or an option's
     * value, noting whether mailx's sending options are used. */
    for (int i = 1; i < argc && !first; i++) {
        const char *a = argv[i];

        if (strcmp(a, "--") == 0) {
            first = i + 1 < argc ? argv[i + 1] : NULL;
            break;
        }
        if (a[0] != '-' || !a[1]) {
            first = a;
            break;
        }
        if (a[1] == '-') {
            if (!strchr(a, '=') && global_takes_value(a + 2))
                i++;
            continue;
        }
        for (size_t k = 1; a[k]; k++) {
            if (strchr("scbAr", a[k]))
                mailx_opts = true;
            if (strchr("acCsbAr", a[k])) {
                if (!a[k + 1])
                    i++;
                break;
            }
        }
    }
    if (first && strcmp(first, "sendmail") == 0 && !mailx_opts) {
        /* `mail [OPTIONS] sendmail ...`: the global options first. */
        static const struct option longopts[] = {
            CMD_COMMON_LONG,
            { NULL, 0, NULL, 0 },
        };
        int idx = 1, opt;

        while (argv[idx] != first)
            idx++;
        optind = 0;
        opterr = 0;
        while ((opt = getopt_long(idx, argv, "+" CMD_COMMON_SHORT, longopts,
                                  NULL)) != -1) {
            int r = opt == '?' || opt == ':' ? EX_USAGE
                  : cmd_common_option(ctx, NULL, opt, optarg);

            if (r == EX_USAGE)
                fprintf(stderr, "mail: unknown option '%s'\n",
                        argv[optind - 1]);
            if (r > 1) {
                *rc = r;
                return true;
            }
        }
        *rc = cmd_sendmail(ctx, argc - idx, argv + idx);
        return true;
    }
    if (first && is_command(first) && !mailx_opts)
        return false;
    if (!mailx_opts && !(first && strchr(first, '@')))
        return false;
    *rc = mailx_main(ctx, argc, argv);
    return true;
}
