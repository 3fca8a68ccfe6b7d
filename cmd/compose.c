/*
 * compose.c - `mail compose [-s SUBJECT] [-c ADDR]... [-b ADDR]...
 * [-A FILE]... [--dry-run] [ADDR]...` and `mail compose --resume [N]`.
 *
 * A new message through the flow reply and forward use (cmd/draft.c):
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
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmd.h"
#include "draft.h"
#include "mail/draft.h"
#include "mail/drafts.h"
#include "mail/folder.h"
#include "mail/fsutil.h"
#include "mail/mime.h"
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
        return cmd_failf(EX_OSERR, "out of memory");
    }
    if (in.len) {
        mail_buf_addstr(&in, "");
        mail_buf_release(&d->body);
        d->body = in;
    }
    return 0;
}

/*
 * Send the draft of flow fl on a terminal through the session, or as it
 * is.  A send that fails leaves the draft in the drafts folder (a new
 * one is postponed; a resumed one stays).  *sent: delivered or queued.
 */
static int run_flow(struct draft_flow *fl, bool interactive, bool *sent,
                    bool *delivered)
{
    int code = DRAFT_SEND;

    *sent = *delivered = false;
    if (interactive) {
        code = draft_session(fl);
        if (code != DRAFT_SEND)
            return code < 0 ? 0 : code;
    }
    code = draft_send(fl, delivered);
    if (code == 0 && !fl->dry_run) {
        *sent = true;
        return 0;
    }
    if (code && interactive && !fl->dry_run) {
        if (fl->key) {
            fputs("mail: the draft stays in the drafts folder\n", stderr);
        } else {
            struct mail_error err;
            char *path = mail_drafts_path(fl->acct, &err);

            if (path) {
                free(path);
                draft_postpone(fl);     /* says where */
            }
        }
    }
    return code;
}

/* Flag the original of a resumed reply or forward, found by Message-ID
 * in the folder it was in. */
static void flag_original(struct cmd_ctx *ctx, const struct mail_draft *d)
{
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct mail_folder *f;
    struct mail_error err;

    if (d->kind == MAIL_DRAFT_NEW || !d->orig_id || !d->orig_folder)
        return;
    mail_error_clear(&err);
    if (strncmp(d->orig_folder, "imap:", 5) == 0) {
        /* Through the run's IMAP session; it says why it cannot. */
        if (cmd_open_imap_folder(ctx, d->orig_folder + 5, MAIL_FOLDER_RDWR,
                                 &f) != 0)
            return;
    } else {
        f = mail_folder_open(d->orig_folder, MAIL_FOLDER_RDWR, &ctx->paths,
                             &err);
    }
    if (!f) {
        fputs("mail: warning: sent, but the original could not be "
              "flagged: ", stderr);
        out_safe_str(stderr, err.msg);
        fputc('\n', stderr);
        return;
    }
    if (mail_folder_list(f, &l, 0, &err) == 0) {
        for (size_t i = 0; i < l.n; i++)
            if (l.v[i].message_id &&
                strcmp(l.v[i].message_id, d->orig_id) == 0) {
                draft_flag_original(ctx, f, &l.v[i],
                                    d->kind == MAIL_DRAFT_FORWARD);
                break;
            }
    }
    mail_envelope_list_release(&l);
    if (mail_folder_close(f, &err) < 0) {
        fputs("mail: warning: ", stderr);
        out_safe_str(stderr, err.msg);
        fputc('\n', stderr);
    }
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
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct mail_draft d = MAIL_DRAFT_INIT;
    struct mail_folder *f;
    struct mail_mime *m = NULL;
    struct mail_error err;
    struct draft_flow fl;
    char dir[4096] = "", *key = NULL, *pick = NULL;
    bool tty = isatty(STDIN_FILENO), sent, delivered;
    size_t idx = 0;
    int fd = -1, code = 0;

    mail_error_clear(&err);
    if ((code = draft_open_drafts(ctx, acct, false, &f, NULL)) != 0)
        return code == DRAFT_NONE ? cmd_failf(EX_NOINPUT, "no postponed "
                                              "drafts") : code;
    if (mail_folder_list(f, &l, 0, &err) < 0) {
        code = cmd_fail(&err);
        goto out;
    }
    if (l.n == 0) {
        code = cmd_failf(EX_NOINPUT, "no postponed drafts");
        goto out;
    }
    if (!a->which && l.n > 1) {
        list_drafts(&l);
        if (!tty) {
            code = cmd_usage_error("compose", "%zu postponed drafts: give "
                                   "the number of one", l.n);
            goto out;
        }
        if (!(pick = draft_ask_line("Resume which? ", NULL))) {
            code = 0;
            goto out;
        }
    }
    if (a->which || pick) {
        const char *s = a->which ? a->which : pick;
        char *end;
        unsigned long n = strtoul(s, &end, 10);

        if (end == s || *end || n < 1 || n > l.n) {
            code = cmd_failf(EX_NOINPUT, "%s: no such draft (1-%zu)", s, l.n);
            goto out;
        }
        idx = (size_t)n - 1;
    }
    if (!tty && !a->dry_run) {
        code = cmd_usage_error("compose", "--resume edits the draft: it "
                               "needs a terminal (or --dry-run)");
        goto out;
    }
    if (mail_folder_message_fd(f, &l.v[idx], &fd, &err) < 0 ||
        !(m = mail_mime_parse_fd(fd, NULL, &err))) {
        code = cmd_fail(&err);
        goto out;
    }
    if (mail_snprintf(dir, sizeof dir, "%s/mail-draft.XXXXXX",
                      ctx->paths.tmp_dir ? ctx->paths.tmp_dir : "/tmp") < 0 ||
        !mkdtemp(dir)) {
        code = cmd_failf(EX_CANTCREAT, "%s: %s", dir, strerror(errno));
        *dir = '\0';
        goto out;
    }
    if (mail_draft_from_message(fd, m, dir, &d, &err) < 0) {
        code = cmd_fail(&err);
        goto out;
    }
    if (!(key = strdup(l.v[idx].key))) {
        code = cmd_failf(EX_OSERR, "out of memory");
        goto out;
    }
    /* The folder is not held while the draft is edited. */
    mail_envelope_list_release(&l);
    mail_folder_close(f, NULL);
    f = NULL;
    memset(&fl, 0, sizeof fl);
    fl.ctx = ctx;
    fl.acct = acct;
    fl.d = &d;
    fl.rfc822_fd = -1;
    fl.key = key;
    fl.dry_run = a->dry_run;
    code = run_flow(&fl, tty, &sent, &delivered);
    if (sent) {
        /* Sent (or queued): only now does the draft go. */
        if (draft_open_drafts(ctx, acct, false, &f, NULL) != 0) {
            f = NULL;
            fputs("mail: warning: sent, but the draft could not be "
                  "removed\n", stderr);
        } else if (mail_drafts_remove_in(f, key, &err) < 0 ||
                   mail_folder_close(f, &err) < 0) {
            fputs("mail: warning: sent, but the draft could not be "
                  "removed: ", stderr);
            out_safe_str(stderr, err.msg);
            fputc('\n', stderr);
        }
        f = NULL;
        if (delivered)
            flag_original(ctx, &d);
    }
out:
    if (f)
        mail_folder_close(f, NULL);
    if (fd >= 0)
        close(fd);
    if (*dir)
        mail_draft_dir_remove(dir);
    mail_mime_free(m);
    mail_envelope_list_release(&l);
    mail_draft_release(&d);
    free(key);
    free(pick);
    return code;
}

static int compose_new(struct cmd_ctx *ctx, const struct mail_account *acct,
                       const struct compose_args *a)
{
    struct mail_draft d = MAIL_DRAFT_INIT;
    struct mail_error err;
    struct draft_flow fl;
    bool tty = isatty(STDIN_FILENO), sent, delivered;
    char *sig = NULL;
    int code = 0;

    mail_error_clear(&err);
    if (!(d.to = join(&a->to)) || !(d.cc = join(&a->cc)) ||
        !(d.bcc = join(&a->bcc)) ||
        !(d.subject = strdup(a->subject ? a->subject : ""))) {
        code = cmd_failf(EX_OSERR, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < a->attach.n; i++) {
        struct stat st;

        if (stat(a->attach.v[i], &st) < 0) {
            code = cmd_failf(errno == ENOENT ? EX_NOINPUT : EX_IOERR,
                             "%s: %s", a->attach.v[i], strerror(errno));
            goto out;
        }
        if (!S_ISREG(st.st_mode)) {
            code = cmd_failf(EX_NOINPUT, "%s: not a regular file",
                             a->attach.v[i]);
            goto out;
        }
        if (mail_draft_attach_add(&d, a->attach.v[i], &err) < 0) {
            code = cmd_fail(&err);
            goto out;
        }
    }
    if (tty && !*d.to) {
        char *l = draft_ask_line("To: ", NULL);

        if (!l || !*l) {
            free(l);
            code = cmd_usage_error("compose", "no recipients");
            goto out;
        }
        free(d.to);
        d.to = l;
    }
    if (tty && !a->subject) {
        char *l = draft_ask_line("Subject: ", NULL);

        if (!l) {
            code = cmd_usage_error("compose", "no subject given");
            goto out;
        }
        free(d.subject);
        d.subject = l;
    }
    if (acct->signature_file)
        sig = mail_paths_expand_home(acct->paths, acct->signature_file);
    if (mail_signature_append(&d.body, sig, &err) < 0) {
        code = cmd_fail(&err);
        goto out;
    }
    if (!tty && (code = body_from_stdin(&d)) != 0)
        goto out;
    memset(&fl, 0, sizeof fl);
    fl.ctx = ctx;
    fl.acct = acct;
    fl.d = &d;
    fl.rfc822_fd = -1;
    fl.dry_run = a->dry_run;
    code = run_flow(&fl, tty, &sent, &delivered);
out:
    mail_draft_release(&d);
    free(sig);
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
            rc = cmd_failf(EX_OSERR, "out of memory");
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
                rc = cmd_failf(EX_OSERR, "out of memory");
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
