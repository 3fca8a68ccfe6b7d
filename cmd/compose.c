/*
 * compose.c - `mail compose [-s SUBJECT] [-c ADDR]... [-b ADDR]...
 * [-A FILE]... [--dry-run] [ADDR]...` and `mail compose --resume [N]`.
 *
 * A new message through the flow reply and forward use (the library's
 * compose flow, mail/compose_flow.h, with the menu of compose_menu.c):
 * To and Subject from the arguments or prompts, $VISUAL/$EDITOR on the
 * whole draft, the compose menu, postponing to the drafts folder
 * (mail/drafts.h).  --resume brings a postponed draft back into the same
 * flow; it leaves the drafts folder only after a successful send (or
 * for its newer version, when postponed again), and a reply's original
 * is flagged answered then (a forward's passed).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmd.h"
#include "mail/compose_flow.h"
#include "mail/drafts.h"
#include "mail/folder.h"
#include "mail/rfc2047.h"

enum { OPT_DRY_RUN = OPT_FIRST_COMMAND_OPTION, OPT_RESUME };

struct compose_args {
    const char *subject;
    struct send_strv to, cc, bcc, attach;
    bool resume, dry_run;
    const char *which;       /* --resume N */
};

/* The strings joined with ", " (malloc'd). */
static char *join(const struct send_strv *v)
{
    struct mail_buf b = MAIL_BUF_INIT;

    mail_buf_addstr(&b, "");
    for (size_t i = 0; i < v->n; i++)
        if ((i && mail_buf_addstr(&b, ", ") < 0) ||
            mail_buf_addstr(&b, v->v[i]) < 0) {
            mail_buf_release(&b);
            return NULL;
        }
    return mail_buf_detach(&b);
}

/* Standard input (not a terminal) goes first in the body. */
static int body_from_stdin(struct mail_draft *d)
{
    struct mail_buf in = MAIL_BUF_INIT;
    char buf[65536];
    ssize_t n;

    while ((n = read(STDIN_FILENO, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || mail_buf_add(&in, buf, (size_t)n) < 0) {
            mail_buf_release(&in);
            return cmd_failf(EX_IOERR, "standard input: %s", strerror(errno));
        }
    }
    if (in.len && d->body.len && mail_buf_add(&in, d->body.data,
                                               d->body.len) < 0) {
        mail_buf_release(&in);
        return cmd_failf(EX_SOFTWARE, "out of memory");
    }
    if (in.len) {
        mail_buf_addstr(&in, "");
        mail_buf_release(&d->body);
        d->body = in;
    }
    return 0;
}

/*
 * Send the draft of flow fl on a terminal through the menu, or as it
 * is.  A send that fails leaves the draft in the drafts folder (a new
 * one is postponed; a resumed one stays).
 */
static int run_flow(struct cmd_ctx *ctx, const struct mail_account *acct,
                    struct mail_compose_flow *fl, bool interactive,
                    bool resumed, bool dry_run)
{
    int code;
    bool sent;

    if (interactive) {
        code = cmd_flow_menu(ctx, fl, acct);
        if (code != CMD_FLOW_SEND)
            return code < 0 ? 0 : code;
    }
    code = cmd_flow_send(ctx, fl, dry_run, &sent);
    if (code && interactive && !dry_run) {
        if (resumed) {
            fputs("mail: the draft stays in the drafts folder\n", stderr);
        } else {
            struct mail_error err;
            char *path = mail_drafts_path(acct, &err);

            if (path) {
                free(path);
                cmd_flow_postpone(ctx, fl);     /* says where */
            }
        }
    }
    return code;
}

static void show_decoded(const char *v, size_t width)
{
    struct mail_buf b = MAIL_BUF_INIT;

    if (v && mail_rfc2047_decode(&b, v, strlen(v)) == 0 &&
        mail_buf_addstr(&b, "") == 0) {
        if (b.len > width)
            b.data[width] = '\0';
        out_safe_str(stdout, b.data);
    }
    mail_buf_release(&b);
}

/* The postponed drafts, numbered from 1. */
static void list_drafts(const struct mail_envelope_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        printf("%3zu  To: ", i + 1);
        show_decoded(l->v[i].to, 30);
        fputs("  Subject: ", stdout);
        show_decoded(l->v[i].subject, 50);
        fputc('\n', stdout);
    }
    fflush(stdout);
}

static int resume(struct cmd_ctx *ctx, const struct mail_account *acct,
                  const struct compose_args *a)
{
    const struct mail_envelope_list *l;
    struct mail_compose_flow *fl;
    struct mail_error err;
    char *pick = NULL;
    bool tty = isatty(STDIN_FILENO);
    size_t idx = 0;
    int code = 0;

    mail_error_clear(&err);
    if (!(fl = cmd_flow_new(ctx, acct)))
        return EX_SOFTWARE;
    if (!(l = mail_compose_flow_drafts(fl, &err))) {
        code = err.kind == MAIL_ERR_NOTFOUND
                   ? cmd_failf(EX_NOINPUT, "no postponed drafts")
                   : cmd_fail(&err);
        goto out;
    }
    if (l->n == 0) {
        code = cmd_failf(EX_NOINPUT, "no postponed drafts");
        goto out;
    }
    if (!a->which && l->n > 1) {
        list_drafts(l);
        if (!tty) {
            code = cmd_usage_error("compose", "%zu postponed drafts: give "
                                   "the number of one", l->n);
            goto out;
        }
        if (!(pick = cmd_ask_line("Resume which? ", NULL))) {
            code = 0;
            goto out;
        }
    }
    if (a->which || pick) {
        const char *s = a->which ? a->which : pick;
        char *end;
        unsigned long n = strtoul(s, &end, 10);

        if (end == s || *end || n < 1 || n > l->n) {
            code = cmd_failf(EX_NOINPUT, "%s: no such draft (1-%zu)", s,
                             l->n);
            goto out;
        }
        idx = (size_t)n - 1;
    }
    if (!tty && !a->dry_run) {
        code = cmd_usage_error("compose", "--resume edits the draft: it "
                               "needs a terminal (or --dry-run)");
        goto out;
    }
    /* Sent (or queued): only then does the draft leave the drafts
     * folder, and a reply's original is flagged (the library). */
    if (mail_compose_flow_start_resume(fl, idx, &err) < 0)
        code = cmd_fail(&err);
    else
        code = run_flow(ctx, acct, fl, tty, true, a->dry_run);
out:
    mail_compose_flow_free(fl);
    free(pick);
    return code;
}

static int compose_new(struct cmd_ctx *ctx, const struct mail_account *acct,
                       const struct compose_args *a)
{
    struct mail_compose_flow *fl;
    struct mail_compose_new n = {
        .subject = a->subject, .attach = a->attach.v, .nattach = a->attach.n,
    };
    struct mail_draft *d;
    struct mail_error err;
    char *to = join(&a->to), *cc = join(&a->cc), *bcc = join(&a->bcc);
    bool tty = isatty(STDIN_FILENO);
    int code = 0;

    mail_error_clear(&err);
    if (!(fl = cmd_flow_new(ctx, acct))) {
        code = EX_SOFTWARE;
        goto out;
    }
    if (!to || !cc || !bcc) {
        code = cmd_failf(EX_SOFTWARE, "out of memory");
        goto out;
    }
    n.to = to;
    n.cc = cc;
    n.bcc = bcc;
    if (mail_compose_flow_start_new(fl, &n, &err) < 0) {
        code = cmd_fail(&err);
        goto out;
    }
    d = mail_compose_flow_draft(fl);
    if (tty && !*d->to) {
        char *l = cmd_ask_line("To: ", NULL);

        if (!l || !*l) {
            free(l);
            code = cmd_usage_error("compose", "no recipients");
            goto out;
        }
        free(d->to);
        d->to = l;
    }
    if (tty && !a->subject) {
        char *l = cmd_ask_line("Subject: ", NULL);

        if (!l) {
            code = cmd_usage_error("compose", "no subject given");
            goto out;
        }
        free(d->subject);
        d->subject = l;
    }
    if (!tty && (code = body_from_stdin(d)) != 0)
        goto out;
    code = run_flow(ctx, acct, fl, tty, false, a->dry_run);
out:
    mail_compose_flow_free(fl);
    free(to);
    free(cc);
    free(bcc);
    return code;
}

int cmd_compose(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        CMD_COMMON_LONG,
        { "subject", required_argument, NULL, 's' },
        { "cc", required_argument, NULL, 'c' },
        { "bcc", required_argument, NULL, 'b' },
        { "attach", required_argument, NULL, 'A' },
        { "resume", no_argument, NULL, OPT_RESUME },
        { "dry-run", no_argument, NULL, OPT_DRY_RUN },
        { NULL, 0, NULL, 0 },
    };
    struct compose_args a;
    struct mail_account *acct = NULL;
    int opt, rc;

    memset(&a, 0, sizeof a);
    opterr = 0;
    while ((opt = getopt_long(argc, argv, CMD_COMMON_SHORT "s:c:b:A:",
                              longopts, NULL)) != -1) {
        rc = 0;
        switch (opt) {
        case 's':
            a.subject = optarg;
            break;
        case 'c':
            rc = send_strv_push(&a.cc, optarg);
            break;
        case 'b':
            rc = send_strv_push(&a.bcc, optarg);
            break;
        case 'A':
            rc = send_strv_push(&a.attach, optarg);
            break;
        case OPT_RESUME:
            a.resume = true;
            break;
        case OPT_DRY_RUN:
            a.dry_run = true;
            break;
        case '?':
        case ':':
            rc = cmd_usage_error("compose", "unknown option or missing "
                                 "value: %s", argv[optind - 1]);
            goto out;
        default:
            rc = cmd_common_option(ctx, "compose", opt, optarg);
            if (rc == -1) {
                rc = 0;
                goto out;
            }
            if (rc > 1)
                goto out;
            rc = 0;
        }
        if (rc < 0) {
            rc = cmd_failf(EX_SOFTWARE, "out of memory");
            goto out;
        }
    }
    if (a.resume) {
        if (a.subject || a.cc.n || a.bcc.n || a.attach.n ||
            argc - optind > 1) {
            rc = cmd_usage_error("compose", "--resume takes only the "
                                 "number of a draft");
            goto out;
        }
        a.which = optind < argc ? argv[optind] : NULL;
    } else {
        for (int i = optind; i < argc; i++)
            if (send_strv_push(&a.to, argv[i]) < 0) {
                rc = cmd_failf(EX_SOFTWARE, "out of memory");
                goto out;
            }
    }
    if ((rc = cmd_load_account(ctx, &acct)) != 0)
        goto out;
    rc = a.resume ? resume(ctx, acct, &a) : compose_new(ctx, acct, &a);
out:
    send_strv_release(&a.to);
    send_strv_release(&a.cc);
    send_strv_release(&a.bcc);
    send_strv_release(&a.attach);
    return rc;
}
