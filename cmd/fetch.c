/*
 * fetch.c - `mail fetch`: download new mail from the account's POP3 or
 * IMAP server into its store (or an MDA), exactly once, from cron.
 *
 * The algorithm is mail_fetch_account in lib/service/fetch.c (state,
 * journal, lock, deadline, the POP3 and IMAP runs); this file parses the
 * arguments and prints: the progress line on a terminal, the -v summary
 * per folder, notes and errors on stderr, the -vv protocol trace.  Silent
 * on success.
 */
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmd.h"
#include "mail/fetch.h"

struct fetch_opts {
    bool all, keep, del, catch_up, wait, idle, no_notify;
    unsigned keepalive;
    const char *mda;
    const char **folders;
    size_t nfolders;
};

struct fetch_out {
    struct cmd_ctx *ctx;
    bool catch_up;
    bool tty;                  /* draw the progress line */
};

/* A byte count in human units: "512 B", "9.9 KB", "1.2 MB", "3.4 GB"
 * (powers of 1000, one decimal). */
static void human_size(char *out, size_t size, uint64_t n)
{
    static const char *const unit[] = { "KB", "MB", "GB", "TB" };
    double v = (double)n;
    size_t u = 0;

    if (n < 1000) {
        snprintf(out, size, "%u B", (unsigned)n);
        return;
    }
    v /= 1000;
    while (v >= 999.95 && u + 1 < sizeof unit / sizeof *unit) {
        v /= 1000;
        u++;
    }
    snprintf(out, size, "%.1f %s", v, unit[u]);
}

static void on_progress(void *arg, const struct mail_fetch_progress *p)
{
    struct fetch_out *fo = arg;
    char sz[32];

    if (!fo->tty)
        return;
    if (p->end) {
        fputs("\r\033[K", stderr);
        return;
    }
    human_size(sz, sizeof sz, p->bytes);
    /* the names come from the config and the server: never raw */
    fputc('\r', stderr);
    out_safe_str(stderr, p->account);
    fputc('/', stderr);
    out_safe_str(stderr, p->folder);
    fprintf(stderr, ": %zu/%zu messages, %s\033[K", p->done, p->total, sz);
}

static void on_folder_done(void *arg, const char *account, const char *folder,
                           const struct mail_fetch_stats *st)
{
    struct fetch_out *fo = arg;
    char sz[32];

    if (fo->ctx->verbose < 1 || fo->ctx->quiet)
        return;
    human_size(sz, sizeof sz, st->bytes);
    out_safe_str(stdout, account);
    fputc('/', stdout);
    out_safe_str(stdout, folder);
    fputc(':', stdout);
    if (fo->catch_up)
        printf(" %zu marked as fetched without downloading,", st->marked);
    printf(" %zu new, %s", st->delivered, sz);
    if (st->duplicates)
        printf(", %zu already here", st->duplicates);
    if (st->recovered)
        printf(", %zu recovered after an interruption", st->recovered);
    fputc('\n', stdout);
}

static void on_note(void *arg, const char *text)
{
    struct fetch_out *fo = arg;

    if (fo->ctx->quiet)
        return;
    cmd_note(text);
}

/* --idle: the watch reconnects (on a terminal only, unless -q: a lost
 * connection that comes back is no error for cron's mail). */
static void on_note_idle(void *arg, const char *text)
{
    struct fetch_out *fo = arg;

    if (fo->tty)
        on_note(arg, text);
}

static void on_folder_error(void *arg, const struct mail_error *err)
{
    (void)arg;
    cmd_fail(err);
}

/* Names in the server's LIST reply that could not be used: one warning
 * line (the account name comes from the config: never raw). */
static void on_folders_skipped(void *arg, const char *account, size_t n)
{
    struct fetch_out *fo = arg;

    if (fo->ctx->quiet)
        return;
    fputs("mail: warning: fetch ", stderr);
    out_safe_str(stderr, account);
    fprintf(stderr, ": %zu folder name%s in the server's LIST reply %s "
            "skipped (empty, longer than 1 KiB, or holding a NUL byte)\n",
            n, n == 1 ? "" : "s", n == 1 ? "was" : "were");
}

/* --idle: SIGINT and SIGTERM end the wait (exit 0). */
static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
}

static bool should_stop(void *arg)
{
    (void)arg;
    return got_signal != 0;
}

static void on_idle_ready(void *arg, size_t n, unsigned nidle, bool notify)
{
    struct fetch_out *fo = arg;

    if (!fo->tty)
        return;
    if (notify)
        fprintf(stderr, "mail: waiting for new mail in %zu folder%s "
                "(NOTIFY, one connection)\n", n, n == 1 ? "" : "s");
    else
        fprintf(stderr, "mail: waiting for new mail in %zu folder%s (%u "
                "with IDLE)\n", n, n == 1 ? "" : "s", nidle);
}

static void on_idle_run_error(void *arg, const struct mail_error *err,
                              unsigned retry)
{
    struct fetch_out *fo = arg;
    struct mail_error e = *err;

    (void)fo;
    mail_error_prefix(&e, "fetch");
    flockfile(stderr);          /* one line (cmd_note) */
    fputs("mail: ", stderr);
    out_safe_str(stderr, e.msg);
    fprintf(stderr, "; trying again in %u s\n", retry);
    funlockfile(stderr);
}

/* One account; prints its error (one line: account, server, cause) and
 * returns the exit code. */
static int fetch_account(struct cmd_ctx *ctx, const struct fetch_opts *o,
                         struct mail_account *acct)
{
    struct fetch_out fo = { ctx, o->catch_up, !ctx->quiet && isatty(2) };
    const struct mail_fetch_hooks hooks = {
        &fo, on_progress, on_folder_done, on_note, on_folder_error,
        on_folders_skipped,
    };
    struct mail_fetch_opts fopts;
    struct cmd_trace tr;
    struct mail_error err;
    const struct mail_url *u;
    char where[300];

    mail_error_clear(&err);
    if (!acct->has_pop3 && !acct->has_imap) {
        mail_error_set(&err, MAIL_ERR_CONFIG, "no imap or pop3 server "
                       "configured");
        mail_error_prefix(&err, "fetch %s", acct->name);
        return cmd_fail(&err);
    }
    memset(&fopts, 0, sizeof fopts);
    fopts.pop3 = acct->has_pop3 && (ctx->ov.pop3 || !acct->has_imap);
    fopts.keep = o->keep;
    fopts.del = o->del;
    fopts.catch_up = o->catch_up;
    fopts.wait = o->wait;
    fopts.mda = o->mda;
    fopts.folders = o->folders;
    fopts.nfolders = o->nfolders;
    fopts.prompt = cmd_prompt_password;
    tr.proto = fopts.pop3 ? "pop3" : "imap";
    if (ctx->verbose >= 2) {
        fopts.trace = cmd_trace_fn;
        fopts.trace_arg = &tr;
    }
    if (o->idle) {
        struct mail_fetch_idle_opts io;
        struct sigaction sa;

        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        memset(&io, 0, sizeof io);
        io.stop = should_stop;
        io.keepalive = o->keepalive;
        io.no_notify = o->no_notify;
        io.arg = &fo;
        io.ready = on_idle_ready;
        io.note = on_note_idle;
        io.run_error = on_idle_run_error;
        io.folder_note = on_note;
        if (mail_fetch_idle(acct, &fopts, &hooks, &io, &err) == 0)
            return 0;
    } else if (mail_fetch_account(acct, &fopts, &hooks, &err) == 0) {
        return 0;
    }
    u = fopts.pop3 ? &acct->pop3 : &acct->imap;
    snprintf(where, sizeof where, "%s %s:%u", mail_proto_name(u->proto),
             u->host, u->port);
    if (!strstr(err.msg, u->host))
        mail_error_prefix(&err, "fetch %s (%s)", acct->name, where);
    else
        mail_error_prefix(&err, "fetch %s", acct->name);
    return cmd_fail(&err);
}

enum {
    OPT_ALL = OPT_FIRST_COMMAND_OPTION, OPT_KEEP, OPT_DELETE, OPT_FOLDER,
    OPT_CATCH_UP, OPT_MDA, OPT_WAIT, OPT_IDLE, OPT_KEEPALIVE, OPT_NO_NOTIFY,
};

int cmd_fetch(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        CMD_COMMON_LONG,
        { "all", no_argument, NULL, OPT_ALL },
        { "keep", no_argument, NULL, OPT_KEEP },
        { "delete", no_argument, NULL, OPT_DELETE },
        { "folder", required_argument, NULL, OPT_FOLDER },
        { "catch-up", no_argument, NULL, OPT_CATCH_UP },
        { "mda", required_argument, NULL, OPT_MDA },
        { "wait", no_argument, NULL, OPT_WAIT },
        { "idle", no_argument, NULL, OPT_IDLE },
        { "keepalive", required_argument, NULL, OPT_KEEPALIVE },
        { "no-notify", no_argument, NULL, OPT_NO_NOTIFY },
        { NULL, 0, NULL, 0 },
    };
    struct fetch_opts o;
    struct mail_account *acct;
    int opt, rc = 0;

    memset(&o, 0, sizeof o);
    o.folders = calloc((size_t)argc + 1, sizeof *o.folders);
    if (!o.folders)
        return cmd_failf(EX_SOFTWARE, "out of memory");
    opterr = 0;
    while ((opt = getopt_long(argc, argv, CMD_COMMON_SHORT, longopts,
                              NULL)) != -1) {
        switch (opt) {
        case OPT_ALL:
            o.all = true;
            continue;
        case OPT_KEEP:
            o.keep = true;
            continue;
        case OPT_DELETE:
            o.del = true;
            continue;
        case OPT_FOLDER:
            o.folders[o.nfolders++] = optarg;
            continue;
        case OPT_CATCH_UP:
            o.catch_up = true;
            continue;
        case OPT_MDA:
            o.mda = optarg;
            continue;
        case OPT_WAIT:
            o.wait = true;
            continue;
        case OPT_IDLE:
            o.idle = true;
            continue;
        case OPT_NO_NOTIFY:
            o.no_notify = true;
            continue;
        case OPT_KEEPALIVE: {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);

            if (*end || !*optarg || v < 1 || v > 1500) {
                free(o.folders);
                return cmd_usage_error("fetch", "--keepalive takes seconds "
                                       "from 1 to 1500, not '%s'", optarg);
            }
            o.keepalive = (unsigned)v;
            continue;
        }
        case '?':
        case ':':
            free(o.folders);
            return cmd_usage_error("fetch", "unknown or incomplete option "
                                   "'%s'", argv[optind - 1]);
        }
        rc = cmd_common_option(ctx, "fetch", opt, optarg);
        if (rc == 1)
            rc = cmd_usage_error("fetch", "unknown option");
        if (rc != 0) {
            free(o.folders);
            return rc < 0 ? 0 : rc;
        }
    }
    if (optind < argc) {
        free(o.folders);
        return cmd_usage_error("fetch", "unexpected argument '%s'",
                               argv[optind]);
    }
    if (o.keep && o.del) {
        free(o.folders);
        return cmd_usage_error("fetch", "--keep and --delete exclude each "
                               "other");
    }
    if (o.idle && (o.all || o.catch_up)) {
        free(o.folders);
        return cmd_usage_error("fetch", "--idle watches one account: not "
                               "with --all or --catch-up");
    }
    if (o.keepalive && !o.idle) {
        free(o.folders);
        return cmd_usage_error("fetch", "--keepalive is for --idle");
    }
    if (o.no_notify && !o.idle) {
        free(o.folders);
        return cmd_usage_error("fetch", "--no-notify is for --idle");
    }
    if (o.all && ctx->account_name) {
        free(o.folders);
        return cmd_usage_error("fetch", "--all and -a exclude each other");
    }
    rc = cmd_load_account(ctx, &acct);
    if (rc) {
        free(o.folders);
        return rc;
    }
    if (!o.all) {
        rc = fetch_account(ctx, &o, acct);
    } else {
        for (size_t i = 0; i < ctx->cfg.naccounts; i++) {
            struct mail_account *a = &ctx->cfg.accounts[i];
            int r;

            if (!a->has_imap && !a->has_pop3)
                continue;
            r = fetch_account(ctx, &o, a);
            if (r && !rc)
                rc = r;
        }
    }
    free(o.folders);
    return rc;
}
