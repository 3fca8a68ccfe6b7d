/*
 * draft.c - the flow `mail reply` and `mail forward` share (draft.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "draft.h"
#include "send.h"
#include "mail/compose.h"
#include "mail/fsutil.h"
#include "mail/mime.h"
#include "mail/outgoing.h"
#include "mail/render.h"
#include "mail/spawn.h"
#include "mail_build_config.h"
#include "select.h"

#if HAVE_READLINE
#include <readline/readline.h>
#endif

/* Most text read from standard input for a reply. */
#define DRAFT_INPUT_MAX ((size_t)16 << 20)

/* ---- the editor and the prompt ---- */

/* One key: 'y', 'e', 'a' ('q' and end of input are 'a'). */
static char ask_key(const char *prompt)
{
    char c = 'a';
#if HAVE_READLINE
    char *l = readline(prompt);

    if (l) {
        c = l[0] ? l[0] : '?';
        free(l);
    }
#else
    char buf[64];

    fputs(prompt, stderr);
    fflush(stderr);
    if (fgets(buf, sizeof buf, stdin))
        c = buf[0];
#endif
    if (c >= 'A' && c <= 'Z')
        c = (char)(c - 'A' + 'a');
    return c == 'q' ? 'a' : c;
}

static int write_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read a whole file or fd (bounded). */
static int read_all(int fd, struct mail_buf *b, size_t max)
{
    char buf[65536];
    ssize_t n;

    while ((n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (b->len + (size_t)n > max) {
            errno = EFBIG;
            return -1;
        }
        if (mail_buf_add(b, buf, (size_t)n) < 0)
            return -1;
    }
    return mail_buf_addstr(b, "");
}

/*
 * The editor on the draft, then y/e/a.  Returns 0 to send (d updated
 * from the edit), -1 when the user aborted, or an exit code.
 */
static int edit_loop(struct cmd_ctx *ctx, struct mail_draft *d)
{
    char path[4096];
    struct mail_buf text = MAIL_BUF_INIT;
    struct mail_error err;
    bool rewrite = true;
    int fd, code = 0;

    fd = mail_render_temp(ctx->paths.tmp_dir, "eml", path, sizeof path);
    if (fd < 0)
        return cmd_failf(EX_CANTCREAT, "a temporary file for the draft: %s",
                         strerror(errno));
    close(fd);
    for (;;) {
        char key;

        mail_error_clear(&err);
        if (rewrite) {
            struct mail_buf out = MAIL_BUF_INIT;

            fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
            if (fd < 0 || mail_draft_write(d, mail_sink_buf, &out, &err) < 0 ||
                write_all(fd, out.data, out.len) < 0) {
                if (fd >= 0)
                    close(fd);
                mail_buf_release(&out);
                code = cmd_failf(EX_IOERR, "%s: cannot write the draft", path);
                break;
            }
            close(fd);
            mail_buf_release(&out);
        }
        if ((code = cmd_run_editor(path)) != 0)
            break;
        mail_buf_reset(&text);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read_all(fd, &text, DRAFT_INPUT_MAX) < 0) {
            if (fd >= 0)
                close(fd);
            code = cmd_failf(EX_IOERR, "%s: %s", path, strerror(errno));
            break;
        }
        close(fd);
        if (mail_draft_parse(d, text.data, text.len, &err) < 0) {
            cmd_fail(&err);
            rewrite = false;     /* edit what you wrote, as it is */
            key = ask_key("(e)dit again, (a)bort? ");
            if (key == 'e')
                continue;
            code = -1;
            break;
        }
        rewrite = true;
        key = ask_key("Send it? (y)es, (e)dit, (a)bort: ");
        if (key == 'y')
            break;
        if (key == 'e')
            continue;
        if (key != 'a') {
            cmd_failf(0, "unknown answer; aborted");
        }
        code = -1;
        break;
    }
    if (code == -1 && !ctx->quiet)
        fputs("mail: not sent\n", stderr);
    unlink(path);
    mail_buf_release(&text);
    return code;
}

/* ---- sending, as `mail send -t` does ---- */

/* Compose the draft into a new temporary file (*out); forward --attach
 * adds the original (orig) as message/rfc822. */
static int compose(struct cmd_ctx *ctx, const struct mail_account *acct,
                   const struct draft_args *a, const struct mail_draft *d,
                   int orig, int *out, struct mail_error *err)
{
    struct mail_buf fromhdr = MAIL_BUF_INIT, irt = MAIL_BUF_INIT,
                    refs = MAIL_BUF_INIT, bcc = MAIL_BUF_INIT;
    const char *to[1], *cc[1], *hdrs[3];
    struct mail_compose c;
    struct mail_fd_sink fs = { -1, 0 };
    int body = -1, msg = -1, rc = -1;
    size_t nh = 0;

    memset(&c, 0, sizeof c);
    if (mail_header_from(NULL, NULL, acct, &fromhdr) < 0 || !fromhdr.len) {
        mail_error_set(err, MAIL_ERR_CONFIG, "the account has no address "
                       "to send from");
        goto done;
    }
    if (d->in_reply_to && mail_buf_printf(&irt, "In-Reply-To: %s",
                                          d->in_reply_to) < 0)
        goto nomem;
    if (d->references && mail_buf_printf(&refs, "References: %s",
                                         d->references) < 0)
        goto nomem;
    if (d->bcc && *d->bcc && mail_buf_printf(&bcc, "Bcc: %s", d->bcc) < 0)
        goto nomem;
    if (irt.len)
        hdrs[nh++] = irt.data;
    if (refs.len)
        hdrs[nh++] = refs.data;
    if (bcc.len)
        hdrs[nh++] = bcc.data;
    to[0] = d->to;
    cc[0] = d->cc;
    c.from = fromhdr.data;
    c.to = to;
    c.nto = d->to && *d->to ? 1 : 0;
    c.cc = cc;
    c.ncc = d->cc && *d->cc ? 1 : 0;
    c.subject = d->subject;
    c.headers = hdrs;
    c.nheaders = nh;
    c.id_domain = acct->domain;
    if ((body = mail_tmpfile(ctx->paths.tmp_dir, err)) < 0)
        goto done;
    if (d->body.len && write_all(body, d->body.data, d->body.len) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "temporary file: %s", strerror(errno));
        goto done;
    }
    c.body_fd = body;
    if ((msg = fs.fd = mail_tmpfile(ctx->paths.tmp_dir, err)) < 0)
        goto done;
    if (mail_compose_write(&c, mail_fd_sink_write, &fs, err) < 0) {
        mail_fd_sink_explain(&fs, err);
        goto done;
    }
    if (a->forward && a->attach) {
        int whole = mail_tmpfile(ctx->paths.tmp_dir, err);

        if (whole < 0)
            goto done;
        fs.fd = whole;
        fs.error = 0;
        if (mail_forward_attach_write(msg, orig, mail_fd_sink_write, &fs,
                                      err) < 0) {
            mail_fd_sink_explain(&fs, err);
            close(whole);
            goto done;
        }
        close(msg);
        msg = whole;
    }
    *out = msg;
    msg = -1;
    rc = 0;
    goto done;
nomem:
    mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
done:
    if (body >= 0)
        close(body);
    if (msg >= 0)
        close(msg);
    mail_buf_release(&fromhdr);
    mail_buf_release(&irt);
    mail_buf_release(&refs);
    mail_buf_release(&bcc);
    return rc;
}

/* Print the message (--dry-run): as it is into a pipe or file, defused
 * on a terminal. */
static int print_msg(int fd)
{
    struct mail_buf b = MAIL_BUF_INIT;
    int tty = isatty(STDOUT_FILENO);

    if (lseek(fd, 0, SEEK_SET) < 0 || read_all(fd, &b, (size_t)1 << 30) < 0) {
        mail_buf_release(&b);
        return cmd_failf(EX_IOERR, "reading the message: %s", strerror(errno));
    }
    if (tty)
        out_safe(stdout, b.data, b.len, 0);
    else if (b.len && fwrite(b.data, 1, b.len, stdout) != b.len)
        cmd_failf(EX_IOERR, "standard output: %s", strerror(errno));
    mail_buf_release(&b);
    if (fflush(stdout) != 0)
        return cmd_failf(EX_IOERR, "standard output: %s", strerror(errno));
    return 0;
}

/* Complete and send the composed message; *delivered tells whether the
 * server took it.  Returns the exit code. */
static int send_msg(struct cmd_ctx *ctx, const struct mail_account *acct,
                    bool dry_run, int composed, bool *delivered)
{
    struct mail_whole_opts wo = {
        .check_rcpts = true, .id_domain = acct->domain,
    };
    struct mail_complete_result res;
    struct mail_rcpts r;
    struct mail_error err;
    struct send_ui ui = { .ctx = ctx };
    struct mail_sender_opts so = {
        .acct = acct, .queue = acct->queue,
        .prompt = cmd_prompt_password,
        .event = send_report_event, .event_arg = &ui,
    };
    struct mail_send_outcome oc;
    struct mail_sender *snd = NULL;
    char *from = NULL;
    int msg = -1, code = 0;

    *delivered = false;
    memset(&res, 0, sizeof res);
    memset(&r, 0, sizeof r);
    memset(&oc, 0, sizeof oc);
    mail_error_clear(&err);
    if (mail_send_prepare_whole(&ctx->paths, composed, &wo, &msg, &res,
                                &err) < 0 ||
        mail_rcpts_init(&r, acct, &ctx->paths, &err) < 0 ||
        mail_rcpts_add_message(&r, &res, &err) < 0) {
        code = cmd_fail(&err);
        goto out;
    }
    mail_rcpts_dedup(&r);
    if (r.n == 0) {
        code = cmd_failf(EX_USAGE, "no recipients: the draft's To and Cc "
                         "are empty");
        goto out;
    }
    if (dry_run) {
        code = print_msg(msg);
        goto out;
    }
    if (mail_envelope_from(NULL, acct, res.from_addr, &from, &err) < 0) {
        code = cmd_fail(&err);
        goto out;
    }
    if (ctx->verbose) {
        ui.tr.proto = "smtp";
        so.trace = cmd_trace_fn;
        so.trace_arg = &ui.tr;
    }
    if (!(snd = mail_sender_new(&so, &err))) {
        code = cmd_fail(&err);
        goto out;
    }
    {
        struct mail_send_envelope env = {
            .from = from, .rcpts = r.v, .nrcpts = r.n, .save_sent = true,
            .bcc = &res.bcc,
        };

        (void)mail_send_flush_queue(snd, false);
        mail_send_message(snd, msg, 0, &env, &oc);
        *delivered = oc.delivered;
        code = mail_error_exit_code(oc.status);
        mail_send_outcome_release(&oc);
    }
out:
    if (snd)
        mail_sender_free(snd);
    if (msg >= 0)
        close(msg);
    free(from);
    mail_rcpts_release(&r);
    mail_complete_result_release(&res);
    return code;
}

/* ---- the whole flow ---- */

static struct mail_render *renderer(struct cmd_ctx *ctx,
                                   const struct mail_account *acct)
{
    struct mail_render_opts o;

    memset(&o, 0, sizeof o);
    o.html_command = acct->html_command;
    o.tmpdir = ctx->paths.tmp_dir;
    return mail_render_new(&o);
}

int draft_run(struct cmd_ctx *ctx, const struct draft_args *a)
{
    struct mail_account *acct = NULL;
    struct mail_folder *f = NULL;
    struct cmd_selection sel = { 0 };
    struct mail_envelope *e;
    struct mail_identities *ids = NULL;
    struct mail_render *render = NULL;
    struct mail_mime *mime = NULL;
    struct mail_draft d = MAIL_DRAFT_INIT;
    struct mail_reply_opts ro;
    struct mail_error err;
    char *sig = NULL;
    int fd = -1, composed = -1, code;
    bool delivered = false;

    mail_error_clear(&err);
    if ((code = cmd_load_account(ctx, &acct)) != 0)
        return code;
    code = 0;
    if (!a->folder)
        code = cmd_folder_from_paths(ctx, 1, (char **)&a->msg,
                                     MAIL_FOLDER_RDWR, &f);
    if (code == 1)
        code = 0;
    else if (code == 0)
        code = cmd_open_folder(ctx, a->folder, MAIL_FOLDER_RDWR, &f, NULL);
    if (code)
        goto out;
    if ((code = cmd_select_messages(ctx, f, 1, (char **)&a->msg, &sel)) != 0)
        goto out;
    if (sel.n != 1) {
        code = cmd_usage_error(a->cmdname, "%s: one message at a time",
                               a->msg);
        goto out;
    }
    e = &sel.all.v[sel.idx[0]];
    if (mail_folder_message_fd(f, e, &fd, &err) < 0 ||
        !(mime = mail_mime_parse_fd(fd, NULL, &err))) {
        mail_error_prefix(&err, "message %s", a->msg);
        code = cmd_fail(&err);
        goto out;
    }
    if (!(ids = mail_identities_new(acct->address, acct->alternates, &err))) {
        code = cmd_fail(&err);
        goto out;
    }
    if (!(render = renderer(ctx, acct))) {
        code = cmd_failf(EX_OSERR, "out of memory");
        goto out;
    }
    if (acct->signature_file)
        sig = mail_paths_expand_home(acct->paths, acct->signature_file);
    memset(&ro, 0, sizeof ro);
    ro.mode = a->mode;
    ro.ids = ids;
    ro.render = render;
    ro.signature_file = sig;
    ro.to = a->to;
    ro.nto = a->nto;
    ro.attach = a->attach;
    if ((a->forward ? mail_forward_draft(fd, mime, &ro, &d, &err)
                    : mail_reply_draft(fd, mime, &ro, &d, &err)) < 0) {
        code = cmd_fail(&err);
        goto out;
    }
    if (isatty(STDIN_FILENO)) {
        if ((code = edit_loop(ctx, &d)) != 0) {
            if (code < 0)
                code = 0;      /* aborted by the user */
            goto out;
        }
    } else {
        struct mail_buf in = MAIL_BUF_INIT;

        if (read_all(STDIN_FILENO, &in, DRAFT_INPUT_MAX) < 0) {
            mail_buf_release(&in);
            code = cmd_failf(EX_IOERR, "standard input: %s", strerror(errno));
            goto out;
        }
        if (in.len && mail_draft_prepend(&d, in.data, in.len, &err) < 0) {
            mail_buf_release(&in);
            code = cmd_fail(&err);
            goto out;
        }
        mail_buf_release(&in);
    }
    if (compose(ctx, acct, a, &d, fd, &composed, &err) < 0) {
        code = cmd_fail(&err);
        goto out;
    }
    code = send_msg(ctx, acct, a->dry_run, composed, &delivered);
    /* Only now, and only when the server took it. */
    if (delivered && !a->dry_run) {
        unsigned flag = a->forward ? MAIL_FLAG_PASSED : MAIL_FLAG_ANSWERED;

        if (a->forward && mail_folder_kind(f) == MAIL_FOLDER_MBOX) {
            if (ctx->verbose)
                fputs("mail: an mbox folder has no passed flag: the "
                      "original is left as it is\n", stderr);
        } else if (mail_folder_set_flags(f, e, flag, 0, &err) < 0) {
            fputs("mail: warning: sent, but the original could not be "
                  "flagged: ", stderr);
            out_safe_str(stderr, err.msg);
            fputc('\n', stderr);
        }
    }
out:
    if (f) {
        int rc2 = cmd_folder_done(f, &sel.all, NULL);

        if (!code)
            code = rc2;
    }
    if (composed >= 0)
        close(composed);
    if (fd >= 0)
        close(fd);
    mail_draft_release(&d);
    mail_mime_free(mime);
    mail_render_free(render);
    mail_identities_free(ids);
    free(sig);
    cmd_selection_release(&sel);
    return code;
}
