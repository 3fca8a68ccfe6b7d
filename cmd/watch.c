/*
 * watch.c - mail watch: report new mail in IMAP folders as it arrives
 * (lib/service/watch.c does the waiting; this prints, or runs --exec).
 */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmd.h"
#include "mail/date.h"
#include "mail/spawn.h"
#include "mail/termsafe.h"
#include "mail/watch.h"

enum {
    OPT_EXEC = OPT_FIRST_COMMAND_OPTION, OPT_INTERVAL, OPT_KEEPALIVE,
    OPT_NO_NOTIFY, OPT_EXEC_TIMEOUT,
};

static volatile sig_atomic_t got_signal;
static volatile pid_t exec_pid;   /* an --exec command running, else 0 */

/* SIGINT, SIGTERM: stop, and end an --exec command under way (it runs in
 * a process group of its own when it has a time limit, where neither
 * a SIGTERM to mail nor the terminal's ^C reaches it). */
static void on_signal(int sig)
{
    pid_t pid = exec_pid;

    got_signal = sig;
    if (pid > 0 && kill(-pid, SIGTERM) < 0)
        kill(pid, SIGTERM);
}

static bool should_stop(void *arg)
{
    (void)arg;
    return got_signal != 0;
}

struct pending;

struct watch_out {
    struct cmd_ctx *ctx;
    bool json;
    const char *exec;
    unsigned exec_timeout;        /* seconds; 0: no limit */
    bool notes;                   /* the watching line, reconnect notes */
    size_t nfolders, nready;
    unsigned nidle, nnotify;
    struct pending *pend;         /* --exec: printed, not yet run */
    size_t npend, pend_cap;
};

/* The -v trace, one write per line (the connections are threads). */
static void watch_trace(void *arg, char dir, const char *data, size_t len)
{
    struct mail_buf b = MAIL_BUF_INIT;

    (void)arg;
    if (mail_buf_printf(&b, "imap%c ", dir) == 0 &&
        mail_term_safe(&b, data, len, MAIL_SAFE_ONELINE) == 0 &&
        mail_buf_addch(&b, '\n') == 0)
        fwrite(b.data, 1, b.len, stderr);
    mail_buf_release(&b);
}

/* "Name" or "addr" for each author, ", " between. */
static void from_text(struct mail_buf *b, const struct mail_addrlist *l)
{
    for (size_t i = 0; l && i < l->n; i++) {
        const struct mail_address *a = &l->v[i];
        const char *s = a->name && *a->name ? a->name : a->addr;

        if (!s || !*s)
            continue;
        if (b->len)
            mail_buf_addstr(b, ", ");
        mail_buf_addstr(b, s);
    }
}

/* "Name <addr>" (or addr) for the environment. */
static void from_full(struct mail_buf *b, const struct mail_addrlist *l)
{
    for (size_t i = 0; l && i < l->n; i++) {
        const struct mail_address *a = &l->v[i];

        if (b->len)
            mail_buf_addstr(b, ", ");
        if (a->name && *a->name && a->addr && *a->addr)
            mail_buf_printf(b, "%s <%s>", a->name, a->addr);
        else
            mail_buf_addstr(b, a->name && *a->name ? a->name
                                                   : a->addr ? a->addr : "");
    }
}

static void print_json(const struct mail_watch_event *ev, const char *date)
{
    struct mail_buf b = MAIL_BUF_INIT, folder = MAIL_BUF_INIT;

    mail_buf_printf(&folder, "imap:%s", ev->folder);
    mail_buf_addstr(&b, "{\"folder\":");
    mail_json_escape(&b, folder.data, folder.len);
    mail_buf_printf(&b, ",\"uidvalidity\":%u,\"uid\":%u,\"from\":[",
                    (unsigned)ev->uidvalidity, (unsigned)ev->uid);
    for (size_t i = 0; ev->from && i < ev->from->n; i++) {
        const struct mail_address *a = &ev->from->v[i];

        mail_buf_addstr(&b, i ? ",{\"name\":" : "{\"name\":");
        if (a->name)
            mail_json_escape(&b, a->name, strlen(a->name));
        else
            mail_buf_addstr(&b, "null");
        mail_buf_addstr(&b, ",\"address\":");
        mail_json_escape(&b, a->addr ? a->addr : "",
                         a->addr ? strlen(a->addr) : 0);
        mail_buf_addch(&b, '}');
    }
    mail_buf_addstr(&b, "],\"subject\":");
    mail_json_escape(&b, ev->subject, strlen(ev->subject));
    mail_buf_addstr(&b, ",\"date\":");
    if (date)
        mail_json_escape(&b, date, strlen(date));
    else
        mail_buf_addstr(&b, "null");
    mail_buf_addstr(&b, "}\n");
    if (b.data)
        fwrite(b.data, 1, b.len, stdout);
    mail_buf_release(&b);
    mail_buf_release(&folder);
}

static void print_human(const struct mail_watch_event *ev)
{
    struct mail_buf b = MAIL_BUF_INIT, from = MAIL_BUF_INIT;

    from_text(&from, ev->from);
    mail_buf_addstr(&b, "imap:");
    mail_term_safe(&b, ev->folder, strlen(ev->folder), MAIL_SAFE_ONELINE);
    mail_buf_printf(&b, "  uid:%u  ", (unsigned)ev->uid);
    mail_term_safe(&b, from.data ? from.data : "", from.len,
                   MAIL_SAFE_ONELINE);
    mail_buf_addstr(&b, "  ");
    mail_term_safe(&b, ev->subject, strlen(ev->subject), MAIL_SAFE_ONELINE);
    mail_buf_addch(&b, '\n');
    if (b.data)
        fwrite(b.data, 1, b.len, stdout);
    mail_buf_release(&b);
    mail_buf_release(&from);
}

/* A new message waiting for its --exec run (at the end of its batch). */
struct pending {
    const char *folder;           /* the event's name: lives as long */
    uint32_t uid, uidvalidity;
    char *from, *subject, *date;  /* terminal-safe, one line */
};

static int queue_exec(struct watch_out *o, const struct mail_watch_event *ev,
                      const char *date)
{
    struct mail_buf fb = MAIL_BUF_INIT;
    struct pending *p;

    if (o->npend == o->pend_cap) {
        size_t cap = o->pend_cap ? o->pend_cap * 2 : 8;
        struct pending *v = realloc(o->pend, cap * sizeof *v);

        if (!v)
            return -1;
        o->pend = v;
        o->pend_cap = cap;
    }
    p = &o->pend[o->npend];
    from_full(&fb, ev->from);
    p->folder = ev->folder;
    p->uid = ev->uid;
    p->uidvalidity = ev->uidvalidity;
    /* one terminal-safe line each: what --exec's environment gets */
    p->from = mail_term_safe_dup(fb.data ? fb.data : "", fb.len,
                                 MAIL_SAFE_ONELINE);
    p->subject = mail_term_safe_dup(ev->subject, strlen(ev->subject),
                                    MAIL_SAFE_ONELINE);
    p->date = mail_term_safe_dup(date ? date : "", date ? strlen(date) : 0,
                                 MAIL_SAFE_ONELINE);
    mail_buf_release(&fb);
    if (!p->from || !p->subject || !p->date) {
        free(p->from);
        free(p->subject);
        free(p->date);
        return -1;
    }
    o->npend++;
    return 0;
}

/* Start the --exec command, wait for it (a SIGINT or SIGTERM ends it,
 * see on_signal) and say on stderr how it failed, if it did. */
static void exec_wait(const struct watch_out *o, const struct mail_spawn *sp,
                      uint32_t uid)
{
    struct mail_spawn_child child;
    struct mail_spawn_result res;
    struct mail_error err;
    int rc;

    mail_error_clear(&err);
    rc = mail_spawn_start(sp, &child, &err);
    if (rc == 0) {
        exec_pid = child.pid;
        if (got_signal)         /* came before exec_pid was set */
            on_signal(got_signal);
        rc = mail_spawn_wait(&child, &res, &err);
        exec_pid = 0;
    }
    if (rc < 0) {
        fputs("mail: warning: --exec: ", stderr);
        out_safe_str(stderr, err.msg);
        fputc('\n', stderr);
    } else if (got_signal) {
        /* ended because mail was asked to stop: no warning */
    } else if (res.how == MAIL_SPAWN_TIMEOUT) {
        fprintf(stderr, "mail: warning: --exec command still running after "
                "%u s for uid %u: killed (--exec-timeout)\n",
                o->exec_timeout, (unsigned)uid);
    } else if (res.how != MAIL_SPAWN_EXITED || res.code != 0) {
        fprintf(stderr, "mail: warning: --exec command %s %d for uid %u\n",
                res.how == MAIL_SPAWN_EXITED ? "exited with"
                : res.how == MAIL_SPAWN_SIGNALED ? "killed by signal"
                                                 : "failed to run, error",
                res.code, (unsigned)uid);
    }
}

/* --exec: the command through the shell, once for the new messages of
 * folder (of the first one waiting when NULL) that one look found, the
 * details in its environment only (never in the command's text). */
static void run_exec(struct watch_out *o, const char *folder)
{
    enum { NENV = 9 };
    struct mail_buf b[NENV];
    struct mail_spawn sp = MAIL_SPAWN_INIT;
    const char *env[NENV + 1];
    struct pending last = { 0 };
    size_t count = 0, i, j, k;
    bool oom = false;

    for (i = 0; !folder && i < o->npend; i++)
        folder = o->pend[i].folder;
    if (!folder)
        return;
    for (k = 0; k < NENV; k++)
        mail_buf_init(&b[k], 0);
    mail_buf_addstr(&b[7], "MAIL_SUBJECTS=");
    mail_buf_addstr(&b[8], "MAIL_UIDS=");
    for (i = j = 0; i < o->npend; i++) {
        struct pending *p = &o->pend[i];

        if (strcmp(p->folder, folder) != 0) {
            o->pend[j++] = *p;
            continue;
        }
        if (count++) {
            mail_buf_addch(&b[7], '\n');
            mail_buf_addch(&b[8], ' ');
        }
        mail_buf_addstr(&b[7], p->subject);
        mail_buf_printf(&b[8], "%u", (unsigned)p->uid);
        free(last.from);
        free(last.subject);
        free(last.date);
        last = *p;
    }
    o->npend = j;
    if (!count)
        return;
    mail_buf_addstr(&b[0], "MAIL_FOLDER=imap:");
    if (mail_term_safe(&b[0], folder, strlen(folder), MAIL_SAFE_ONELINE) < 0)
        oom = true;
    mail_buf_printf(&b[1], "MAIL_COUNT=%zu", count);
    mail_buf_printf(&b[2], "MAIL_UID=%u", (unsigned)last.uid);
    mail_buf_printf(&b[3], "MAIL_UIDVALIDITY=%u", (unsigned)last.uidvalidity);
    mail_buf_printf(&b[4], "MAIL_FROM=%s", last.from);
    mail_buf_printf(&b[5], "MAIL_SUBJECT=%s", last.subject);
    mail_buf_printf(&b[6], "MAIL_DATE=%s", last.date);
    for (k = 0; k < NENV; k++) {
        if (!b[k].data || mail_buf_addch(&b[k], '\0') < 0)
            oom = true;
        env[k] = b[k].data;
    }
    env[NENV] = NULL;
    sp.command = o->exec;
    sp.env_default = env;
    sp.timeout_ms = (int)o->exec_timeout * 1000;
    fflush(stdout);
    if (oom)
        fputs("mail: warning: out of memory for --exec\n", stderr);
    else if (!got_signal)       /* asked to stop: no new command */
        exec_wait(o, &sp, last.uid);
    free(last.from);
    free(last.subject);
    free(last.date);
    for (k = 0; k < NENV; k++)
        mail_buf_release(&b[k]);
}

static int on_event(void *arg, const struct mail_watch_event *ev,
                    struct mail_error *err)
{
    struct watch_out *o = arg;
    char date[64];
    const char *d = NULL;

    switch (ev->kind) {
    case MAIL_WATCH_READY:
        o->nready++;
        o->nidle += ev->idle;
        o->nnotify += ev->notify;
        if (o->nready == o->nfolders && o->notes) {
            if (o->nnotify == o->nfolders)
                fprintf(stderr, "mail: watching %zu folder%s (NOTIFY, one "
                        "connection)\n", o->nfolders,
                        o->nfolders == 1 ? "" : "s");
            else
                fprintf(stderr, "mail: watching %zu folder%s (%u with "
                        "IDLE)\n", o->nfolders, o->nfolders == 1 ? "" : "s",
                        o->nidle);
            fflush(stderr);
        }
        return 0;
    case MAIL_WATCH_RESET:
        cmd_note(ev->message ? ev->message : "");
        return 0;
    case MAIL_WATCH_RETRY:
        if (o->notes)
            cmd_note(ev->message ? ev->message : "");
        return 0;
    case MAIL_WATCH_BATCH:
        if (o->exec)
            run_exec(o, ev->folder);
        return 0;
    case MAIL_WATCH_NEW:
        break;
    }
    if (ev->has_date &&
        mail_date_format_rfc3339(date, sizeof date, ev->date,
                                 ev->date_offset) >= 0)
        d = date;
    if (o->json)
        print_json(ev, d);
    else
        print_human(ev);
    if (fflush(stdout) != 0 || ferror(stdout))
        return mail_error_set(err, MAIL_ERR_IO, "standard output: write "
                              "error");
    if (o->exec && queue_exec(o, ev, d) < 0)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    return 0;
}

int cmd_watch(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        CMD_COMMON_LONG,
        { "exec", required_argument, NULL, OPT_EXEC },
        { "exec-timeout", required_argument, NULL, OPT_EXEC_TIMEOUT },
        { "json", no_argument, NULL, OPT_JSON },
        { "interval", required_argument, NULL, OPT_INTERVAL },
        { "keepalive", required_argument, NULL, OPT_KEEPALIVE },
        { "no-notify", no_argument, NULL, OPT_NO_NOTIFY },
        { NULL, 0, NULL, 0 },
    };
    static const char *const envnames[] = {
        "MAIL_FOLDER", "MAIL_UID", "MAIL_UIDVALIDITY", "MAIL_FROM",
        "MAIL_SUBJECT", "MAIL_DATE", "MAIL_COUNT", "MAIL_SUBJECTS",
        "MAIL_UIDS",
    };
    struct watch_out out = { .ctx = ctx, .exec_timeout = 60 };
    struct mail_watch_opts wo = { .notify = true };
    struct mail_account *acct;
    struct mail_error err;
    const char **folders = NULL;
    const char *inbox = "INBOX";
    struct sigaction sa;
    unsigned long interval = 0, keepalive = 0;
    int opt, rc;
    size_t n;

    while ((opt = getopt_long(argc, argv, CMD_COMMON_SHORT, longopts,
                              NULL)) != -1) {
        char *end;

        switch (opt) {
        case OPT_EXEC:
            if (!*optarg)
                return cmd_usage_error("watch", "--exec: an empty command");
            out.exec = optarg;
            break;
        case OPT_EXEC_TIMEOUT: {
            unsigned long t = strtoul(optarg, &end, 10);

            if (*end || !*optarg || t > 86400)
                return cmd_usage_error("watch", "--exec-timeout takes "
                                       "seconds from 0 to 86400, not '%s'",
                                       optarg);
            out.exec_timeout = (unsigned)t;
            break;
        }
        case OPT_JSON:
            out.json = true;
            break;
        case OPT_INTERVAL:
            interval = strtoul(optarg, &end, 10);
            if (*end || !*optarg || interval < 1 || interval > 86400)
                return cmd_usage_error("watch", "--interval takes seconds "
                                       "from 1 to 86400, not '%s'", optarg);
            break;
        case OPT_NO_NOTIFY:
            wo.notify = false;
            break;
        case OPT_KEEPALIVE:
            keepalive = strtoul(optarg, &end, 10);
            if (*end || !*optarg || keepalive < 1 ||
                keepalive > MAIL_WATCH_IDLE_RENEW)
                return cmd_usage_error("watch", "--keepalive takes seconds "
                                       "from 1 to %d, not '%s'",
                                       MAIL_WATCH_IDLE_RENEW, optarg);
            break;
        case '?':
            return cmd_usage_error("watch", "unknown option '%s'",
                                   argv[optind - 1]);
        default:
            rc = cmd_common_option(ctx, "watch", opt, optarg);
            if (rc == -1)
                return 0;
            if (rc != 0)
                return rc == 1 ? EX_USAGE : rc;
        }
    }
    n = optind < argc ? (size_t)(argc - optind) : 1;
    folders = calloc(n, sizeof *folders);
    if (!folders)
        return cmd_failf(EX_SOFTWARE, "out of memory");
    if (optind >= argc)
        folders[0] = inbox;
    for (int i = optind; i < argc; i++) {
        const char *a = argv[i];

        if (strncmp(a, "imap:", 5) == 0)
            a += 5;
        else if (a[0] == '=' || a[0] == '/' || a[0] == '.' || a[0] == '~') {
            free(folders);
            return cmd_usage_error("watch", "'%s' is a local folder: watch "
                                   "takes imap:NAME or NAME", argv[i]);
        }
        if (!*a) {
            free(folders);
            return cmd_usage_error("watch", "an empty folder name");
        }
        for (size_t j = 0; j < (size_t)(i - optind); j++)
            if (strcmp(folders[j], a) == 0) {
                free(folders);
                return cmd_usage_error("watch", "imap:%s is named twice", a);
            }
        folders[i - optind] = a;
    }
    if ((rc = cmd_load_account(ctx, &acct)) != 0) {
        free(folders);
        return rc;
    }
    /* The details go to --exec only through these: none inherited. */
    for (size_t i = 0; i < sizeof envnames / sizeof envnames[0]; i++)
        unsetenv(envnames[i]);

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    out.nfolders = n;
    /* Quiet on a non-terminal except for errors (cron, a pipe): the
     * watching line and the reconnect notes on a terminal, or with -v. */
    out.notes = !ctx->quiet && (isatty(STDERR_FILENO) || ctx->verbose);
    wo.remote.prompt = cmd_prompt_password;
    if (ctx->verbose)
        wo.remote.trace = watch_trace;
    wo.interval = (unsigned)interval;
    wo.idle_renew = (unsigned)keepalive;
    wo.connections = acct->watch_connections;
    wo.stop = should_stop;
    wo.fn = on_event;
    wo.fn_arg = &out;
    mail_error_clear(&err);
    rc = mail_watch_run(acct, folders, n, &wo, &err) < 0 ? cmd_fail(&err) : 0;
    /* Messages printed whose look was cut short (a drop in the middle of
     * the fetch, then a stop): their command still runs, unless the user
     * asked to stop. */
    while (out.npend && !got_signal)
        run_exec(&out, NULL);
    for (size_t i = 0; i < out.npend; i++) {
        free(out.pend[i].from);
        free(out.pend[i].subject);
        free(out.pend[i].date);
    }
    free(out.pend);
    free(folders);
    return rc;
}
