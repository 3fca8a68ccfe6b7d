/*
 * send.c - `mail send`: compose (or take whole with -t) a message and
 * submit it over SMTP; the queue for when the server cannot be reached;
 * --batch for many messages over one connection.  sendmail.c holds the
 * sendmail(8) and mailx(1) front ends, compose_ui.c the interactive part.
 * What sending does is the library's (lib/service/outgoing.c,
 * outgoing.h: recipients and aliases, a message given whole, the SMTP
 * delivery with the queue decisions, the queue flush, the sent copy);
 * this file parses arguments, builds the message and prints what the
 * library reports (send_report_event).
 *
 * Standard input is spooled to an unlinked temporary file and the message
 * is built in another one, so memory does not grow with the message:
 * the data phase and the queue read from those files.
 *
 * Never lose a notification: until the server said 250 to DATA the
 * message is either still the caller's (exit 75: try again) or in the
 * queue (queue = true, --queue), which every later send flushes first.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmd.h"
#include "send.h"
#include "mail/compose.h"
#include "mail/folder.h"
#include "mail/outgoing.h"
#include "mail/termsafe.h"

/* ---- small helpers ---- */

int send_strv_push(struct send_strv *v, const char *s)
{
    if (v->n == v->alloc) {
        size_t na = v->alloc ? v->alloc * 2 : 8;
        const char **nv = realloc(v->v, na * sizeof *nv);

        if (!nv)
            return -1;
        v->v = nv;
        v->alloc = na;
    }
    v->v[v->n++] = s;
    return 0;
}

void send_strv_release(struct send_strv *v)
{
    free(v->v);
    memset(v, 0, sizeof *v);
}

void send_opts_release(struct send_opts *o)
{
    send_strv_release(&o->to);
    send_strv_release(&o->cc);
    send_strv_release(&o->bcc);
    send_strv_release(&o->attach);
    send_strv_release(&o->headers);
    free(o->owned_subject);
    for (size_t i = 0; i < o->owned.n; i++)
        free((char *)o->owned.v[i]);
    send_strv_release(&o->owned);
}

int send_tmpfile(const struct mail_paths *paths, struct mail_error *err)
{
    return mail_spool_tmpfile(paths, err);
}

int send_spool_stdin(const struct mail_paths *paths, bool dots, int *out,
                     struct mail_error *err)
{
    return mail_spool_fd(paths, STDIN_FILENO, dots, out, err);
}

static bool fd_empty(int fd)
{
    struct stat st;

    return fstat(fd, &st) == 0 && st.st_size == 0;
}

/* ---- what the library reports ---- */

void send_report_event(void *arg, const struct mail_send_event *ev)
{
    struct send_ui *ui = arg;

    switch (ev->kind) {
    case MAIL_SEND_EV_RCPT:
        fputs("mail: ", stderr);
        out_safe_str(stderr, ev->addr);
        fprintf(stderr, ": %s: ", ev->temporary ? "deferred" : "refused");
        out_safe_str(stderr, ev->reply);
        fputc('\n', stderr);
        break;
    case MAIL_SEND_EV_FAILED:
        if (ui->msg_total)
            fprintf(stderr, "mail: message %zu of %zu: ", ui->msg_no,
                    ui->msg_total);
        cmd_fail(ev->err);
        break;
    case MAIL_SEND_EV_ERROR:
        cmd_fail(ev->err);
        break;
    case MAIL_SEND_EV_QUEUED:
        if (ui->ctx->quiet)
            break;
        fputs("mail: queued as ", stderr);
        out_safe_str(stderr, ev->name);
        fputs(" (", stderr);
        out_safe_str(stderr, ev->err->msg);
        fputs("); 'mail send --flush' sends it\n", stderr);
        break;
    case MAIL_SEND_EV_HELD:
        fputs("mail: no reply after the end of the message: it may or may "
              "not have been delivered; kept in ", stderr);
        out_safe_str(stderr, ev->name);
        fputc('\n', stderr);
        break;
    case MAIL_SEND_EV_FLUSHED:
        if (ui->ctx->verbose) {
            fputs("mail: sent queued message ", stderr);
            out_safe_str(stderr, ev->name);
            fputc('\n', stderr);
        }
        break;
    case MAIL_SEND_EV_QUEUE_FAILED:
        fputs("mail: queued message ", stderr);
        out_safe_str(stderr, ev->name);
        fputs(" cannot be sent: ", stderr);
        out_safe_str(stderr, ev->err->msg);
        fputs("; moved to failed/\n", stderr);
        break;
    case MAIL_SEND_EV_COPY_FILED:
        if (ui->ctx->verbose) {
            fputs("mail: filed the copies kept from before in ", stderr);
            out_safe_str(stderr, ev->name);
            fputc('\n', stderr);
        }
        break;
    case MAIL_SEND_EV_COPY_FAILED:
        /* The message is sent: a failed copy is a warning, not a failure
         * that would make a script send it again. */
        fputs("mail: warning: sent, but no copy saved in ", stderr);
        out_safe_str(stderr, ev->name);
        fputs(": ", stderr);
        out_safe_str(stderr, ev->err->msg);
        fputc('\n', stderr);
        break;
    }
}

/* A sender for acct that reports to ui (-v: the SMTP trace). */
static struct mail_sender *open_sender(struct send_ui *ui,
                                       const struct mail_account *acct,
                                       bool queue)
{
    struct mail_sender_opts so = {
        .acct = acct, .queue = queue,
        .prompt = cmd_prompt_password,
        .event = send_report_event, .event_arg = ui,
    };
    struct mail_error err;
    struct mail_sender *s;

    mail_error_clear(&err);
    if (ui->ctx->verbose) {
        ui->tr.proto = "smtp";
        so.trace = cmd_trace_fn;
        so.trace_arg = &ui->tr;
        ui->itr.proto = "imap";
        so.imap_trace = cmd_trace_fn;
        so.imap_trace_arg = &ui->itr;
    }
    s = mail_sender_new(&so, &err);
    if (!s)
        cmd_fail(&err);
    return s;
}

/* The exit code of a library kind. */
static int kind_code(enum mail_error_kind kind)
{
    return mail_error_exit_code(kind);
}

/* ---- one message, start to end ---- */

/* Write fd to standard output (--dry-run). */
static int print_fd(int fd)
{
    char buf[65536];
    off_t off = 0;

    for (;;) {
        ssize_t n = pread(fd, buf, sizeof buf, off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return cmd_failf(EX_IOERR, "reading the message: %s",
                             strerror(errno));
        if (n == 0)
            return 0;
        if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
            return cmd_failf(EX_IOERR, "standard output: %s",
                             strerror(errno));
        off += n;
    }
}

/* Recipients from -c/-b/arguments into r (each argument replaced by its
 * resolved text, owned by r). */
static int add_arg_rcpts(struct mail_rcpts *r, struct send_opts *o,
                         struct mail_error *err)
{
    return mail_rcpts_add_args(r, o->to.v, o->to.n, err) < 0 ||
           mail_rcpts_add_args(r, o->cc.v, o->cc.n, err) < 0 ||
           mail_rcpts_add_args(r, o->bcc.v, o->bcc.n, err) < 0 ? -1 : 0;
}

/* Load the account.  For --dry-run a missing config is no error when -f
 * gives the sender. */
static int load_account(struct cmd_ctx *ctx, const struct send_opts *o,
                        struct mail_account **acct)
{
    if (o->dry_run && o->from) {
        struct mail_error err;

        mail_error_clear(&err);
        if (!ctx->cfg_loaded) {
            if (mail_config_load(&ctx->cfg, ctx->config_path, &ctx->paths, &err) < 0)
                return cmd_fail(&err);
            ctx->cfg_loaded = true;
        }
        if (mail_config_select(&ctx->cfg, ctx->account_name, &ctx->ov, acct,
                               &err) < 0)
            *acct = NULL;
        return 0;
    }
    return cmd_load_account(ctx, acct);
}

/* Check the command line before reading anything: subject, name, the
 * recipients (into r), the sender. */
static int check_args(struct send_opts *o, struct mail_rcpts *r,
                      struct mail_error *err)
{
    if (o->subject && mail_compose_check_value("the subject (-s)", o->subject,
                                               strlen(o->subject), err) < 0)
        return -1;
    if (o->from_name && mail_compose_check_value("the name (-F)",
                                                 o->from_name,
                                                 strlen(o->from_name),
                                                 err) < 0)
        return -1;
    if (add_arg_rcpts(r, o, err) < 0)
        return -1;
    if (o->from) {
        struct mail_addrlist l = MAIL_ADDRLIST_INIT;
        int rc = mail_compose_parse_addrs(&l, o->from, err);

        mail_addrlist_release(&l);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* The body (or whole message) into *in: the prompts and the editor on a
 * terminal, else standard input.  Returns 0, or an exit code (-1 when
 * the user aborted). */
static int read_input(struct cmd_ctx *ctx, struct send_opts *o,
                      const struct mail_account *acct, struct mail_rcpts *r,
                      int *in)
{
    struct mail_error err;
    int code;

    mail_error_clear(&err);
    if (!o->interactive)
        return send_spool_stdin(&ctx->paths, o->dots, in, &err) < 0
               ? cmd_fail(&err) : 0;
    if ((code = send_interactive(ctx, o, acct, in)) != 0)
        return code;
    /* The prompts may have added recipients. */
    mail_rcpts_reset(r);
    if (add_arg_rcpts(r, o, &err) < 0)
        return cmd_fail(&err);
    if (r->n == 0)
        return cmd_usage_error("send", "no recipients");
    return 0;
}

/* Build the message in *msg from the input: completed as it is (-t,
 * sendmail's whole), or composed around the body.  res gets a whole
 * message's recipients and Bcc lines (or the -b ones for the copy).
 * Returns 0 or an exit code. */
static int build_message(struct cmd_ctx *ctx, struct send_opts *o,
                         const struct mail_account *acct, bool whole, int in,
                         struct mail_rcpts *r, struct mail_complete_result *res,
                         int *msg)
{
    struct mail_buf fromhdr = MAIL_BUF_INIT;
    struct mail_error err;
    int code = 0;

    mail_error_clear(&err);
    if (mail_header_from(o->from, o->from_name, acct, &fromhdr) < 0) {
        mail_error_set(&err, MAIL_ERR_USAGE, "bad sender address");
        goto fail;
    }
    if (o->extract || whole) {
        struct mail_whole_opts wo = {
            .from = fromhdr.len ? fromhdr.data : NULL,
            .check_rcpts = !whole,
            .id_domain = acct ? acct->domain : NULL,
            .attach = o->attach.v, .nattach = o->attach.n,
        };

        if (mail_send_prepare_whole(&ctx->paths, in, &wo, msg, res,
                                    &err) < 0)
            goto fail;
        /* Without -t the command line names the recipients. */
        if (!whole && mail_rcpts_add_message(r, res, &err) < 0)
            goto fail;
        if (r->n == 0)
            code = cmd_failf(EX_USAGE, "no recipients: the message has no "
                             "To, Cc or Bcc and none were given");
    } else {
        struct mail_compose c = {
            .from = fromhdr.data,
            .to = o->to.v, .nto = o->to.n,
            .cc = o->cc.v, .ncc = o->cc.n,
            .subject = o->subject,
            .headers = o->headers.v, .nheaders = o->headers.n,
            .body_fd = in,
            .attach = o->attach.v, .nattach = o->attach.n,
            .id_domain = acct ? acct->domain : NULL,
        };
        struct mail_fd_sink fs = { .fd = -1 };

        if ((*msg = fs.fd = send_tmpfile(&ctx->paths, &err)) < 0)
            goto fail;
        if (mail_compose_write(&c, mail_fd_sink_write, &fs, &err) < 0)
            goto fail;
        /* For the sent copy. */
        for (size_t i = 0; i < o->bcc.n; i++)
            if (mail_buf_printf(&res->bcc, "Bcc: %s\n", o->bcc.v[i]) < 0) {
                mail_error_set(&err, MAIL_ERR_INTERNAL, "out of memory");
                goto fail;
            }
    }
    mail_buf_release(&fromhdr);
    return code;
fail:
    mail_buf_release(&fromhdr);
    return cmd_fail(&err);
}

/* Send the message in msg: the queue first, then it.  Returns the exit
 * code. */
static int send_built(struct cmd_ctx *ctx, const struct send_opts *o,
                      const struct mail_account *acct, bool queue, int msg,
                      const struct mail_rcpts *r,
                      const struct mail_complete_result *res)
{
    struct send_ui ui = { .ctx = ctx };
    struct mail_send_envelope env = {
        .rcpts = r->v, .nrcpts = r->n, .save_sent = !o->no_save,
        .bcc = &res->bcc,
    };
    struct mail_send_outcome oc;
    struct mail_sender *snd;
    struct mail_error err;
    char *from = NULL;

    mail_error_clear(&err);
    if (mail_envelope_from(o->from, acct, res->from_addr, &from, &err) < 0)
        return cmd_fail(&err);
    if (!(snd = open_sender(&ui, acct, queue))) {
        free(from);
        return EX_SOFTWARE;
    }
    env.from = from;
    /* The queue first: older messages go before this one. */
    if (!o->no_flush)
        (void)mail_send_flush_queue(snd, false);
    if (mail_send_message(snd, msg, 0, &env, &oc) == 0 && ctx->verbose &&
        oc.reply[0])
        fprintf(stderr, "mail: sent: %s\n", oc.reply);
    mail_send_outcome_release(&oc);
    mail_sender_free(snd);
    free(from);
    return kind_code(oc.status);
}

/* --flush: send what is queued. */
static int send_flush(struct cmd_ctx *ctx, const struct mail_account *acct,
                      bool queue)
{
    struct send_ui ui = { .ctx = ctx };
    struct mail_sender *snd = open_sender(&ui, acct, queue);
    enum mail_error_kind k;

    if (!snd)
        return EX_SOFTWARE;
    k = mail_send_flush_queue(snd, true);
    mail_sender_free(snd);
    return kind_code(k);
}

/* whole: sendmail without -t (send.h). */
static int send_run_mode(struct cmd_ctx *ctx, struct send_opts *o, bool whole)
{
    struct mail_account *acct = NULL;
    struct mail_error err;
    struct mail_complete_result res;
    struct mail_rcpts r;
    int in = -1, msg = -1, code;
    bool queue;

    memset(&res, 0, sizeof res);
    memset(&r, 0, sizeof r);
    mail_error_clear(&err);
    if ((code = load_account(ctx, o, &acct)) != 0)
        return code;
    if (!acct && (o->flush || o->batch) &&
        (code = cmd_load_account(ctx, &acct)) != 0)
        return code;
    queue = o->queue > 0 || (o->queue == 0 && acct && acct->queue);
    if (o->flush)
        return send_flush(ctx, acct, queue);
    if (o->batch)
        return send_batch(ctx, o, acct);
    if (mail_rcpts_init(&r, acct, &ctx->paths, &err) < 0 ||
        check_args(o, &r, &err) < 0) {
        code = cmd_fail(&err);
        goto out;
    }
    if (!o->extract && r.n == 0 && !o->interactive) {
        code = cmd_usage_error("send", "no recipients");
        goto out;
    }
    if ((code = read_input(ctx, o, acct, &r, &in)) != 0) {
        if (code < 0)
            code = 0;     /* aborted by the user; the draft is kept */
        goto out;
    }
    if (o->skip_empty && fd_empty(in))
        goto out;         /* mailx -E: an empty body is not sent */
    if ((code = build_message(ctx, o, acct, whole, in, &r, &res, &msg)) != 0)
        goto out;
    mail_rcpts_dedup(&r);
    if (o->dry_run)
        code = print_fd(msg);
    else
        code = send_built(ctx, o, acct, queue, msg, &r, &res);
out:
    if (in >= 0)
        close(in);
    if (msg >= 0)
        close(msg);
    mail_rcpts_release(&r);
    mail_complete_result_release(&res);
    return code;
}

int send_run(struct cmd_ctx *ctx, struct send_opts *o)
{
    return send_run_mode(ctx, o, false);
}

int send_run_whole(struct cmd_ctx *ctx, struct send_opts *o)
{
    return send_run_mode(ctx, o, true);
}

/* ---- --batch: every message of an mbox over one connection ---- */

/* The tally of a batch. */
struct batch {
    struct cmd_ctx *ctx;
    const struct send_opts *o;
    const struct mail_account *acct;
    struct mail_sender *snd;
    struct send_ui *ui;
    size_t sent, failed, partly;
};

/* Send one completed message; returns its exit code, *part when it
 * reached some recipients only. */
static int batch_send(struct batch *b, int msg, const struct mail_rcpts *r,
                      const struct mail_complete_result *res, bool *part)
{
    struct mail_send_envelope env = {
        .rcpts = r->v, .nrcpts = r->n, .save_sent = !b->o->no_save,
        .bcc = &res->bcc,
    };
    struct mail_send_outcome oc;
    struct mail_error err;
    char *from = NULL;
    int c;

    mail_error_clear(&err);
    if (mail_envelope_from(b->o->from, b->acct, res->from_addr, &from,
                           &err) < 0) {
        fprintf(stderr, "mail: message %zu of %zu: ", b->ui->msg_no,
                b->ui->msg_total);
        return cmd_fail(&err);
    }
    env.from = from;
    mail_send_message(b->snd, msg, 0, &env, &oc);
    c = kind_code(oc.status);
    if (oc.delivered && oc.status == MAIL_ERR_RECIPIENT) {
        /* Delivered to the others: not a failed message. */
        *part = true;
        fprintf(stderr, "mail: message %zu of %zu: partly delivered, "
                "refused for", b->ui->msg_no, b->ui->msg_total);
        for (size_t k = 0; k < oc.nrefused; k++) {
            fputs(k ? ", " : " ", stderr);
            out_safe_str(stderr, oc.refused[k]);
        }
        fputc('\n', stderr);
    } else if (oc.delivered && c == 0 && !b->ctx->quiet &&
               isatty(STDERR_FILENO)) {
        fprintf(stderr, "mail: message %zu of %zu sent\n", b->ui->msg_no,
                b->ui->msg_total);
    }
    mail_send_outcome_release(&oc);
    free(from);
    return c;
}

/* One message of the mbox: completed, its recipients resolved, sent (or
 * printed with --dry-run).  Returns its exit code. */
static int batch_one(struct batch *b, struct mail_folder *f,
                     const struct mail_envelope *e, struct mail_rcpts *r,
                     bool *part)
{
    struct mail_complete_result res;
    struct mail_buf fromhdr = MAIL_BUF_INIT;
    struct mail_error err;
    int in = -1, msg = -1, c;

    memset(&res, 0, sizeof res);
    mail_error_clear(&err);
    mail_rcpts_reset(r);
    if (mail_header_from(b->o->from, b->o->from_name, b->acct, &fromhdr) < 0)
        mail_buf_reset(&fromhdr);
    if (mail_folder_message_fd(f, e, &in, &err) < 0)
        goto failed;
    {
        struct mail_whole_opts wo = {
            .from = fromhdr.len ? fromhdr.data : NULL,
            .check_rcpts = true,
            .id_domain = b->acct ? b->acct->domain : NULL,
        };

        if (mail_send_prepare_whole(&b->ctx->paths, in, &wo, &msg, &res,
                                    &err) < 0)
            goto failed;
    }
    if (mail_rcpts_add_message(r, &res, &err) < 0 ||
        mail_rcpts_add_args(r, b->o->to.v, b->o->to.n, &err) < 0)
        goto failed;
    mail_rcpts_dedup(r);
    if (r->n == 0) {
        mail_error_set(&err, MAIL_ERR_USAGE, "no recipients");
        goto failed;
    }
    c = b->o->dry_run ? print_fd(msg) : batch_send(b, msg, r, &res, part);
    goto done;
failed:
    fprintf(stderr, "mail: message %zu of %zu: ", b->ui->msg_no,
            b->ui->msg_total);
    c = cmd_fail(&err);
done:
    if (in >= 0)
        close(in);
    if (msg >= 0)
        close(msg);
    mail_buf_release(&fromhdr);
    mail_complete_result_release(&res);
    return c;
}

/* Every message of the list; returns the exit code. */
static int batch_loop(struct batch *b, struct mail_folder *f,
                      const struct mail_envelope_list *list,
                      struct mail_rcpts *r)
{
    int code = 0;

    for (size_t i = 0; i < list->n; i++) {
        bool part = false;
        int c;

        b->ui->msg_no = i + 1;
        c = batch_one(b, f, &list->v[i], r, &part);
        if (part)
            b->partly++;
        else if (c)
            b->failed++;
        else
            b->sent++;
        /* The worst code wins, temporary failures over the rest. */
        if (c && (code == 0 || c == EX_TEMPFAIL))
            code = c;
    }
    if (b->partly && !b->ctx->quiet)
        fprintf(stderr, "mail: %zu of %zu messages sent, %zu partly "
                "delivered, %zu failed\n", b->sent, list->n, b->partly,
                b->failed);
    else if (b->failed && !b->ctx->quiet)
        fprintf(stderr, "mail: %zu of %zu messages sent, %zu failed\n",
                b->sent, list->n, b->failed);
    return code;
}

int send_batch(struct cmd_ctx *ctx, struct send_opts *o,
               struct mail_account *acct)
{
    struct mail_envelope_list list = MAIL_ENVELOPE_LIST_INIT;
    struct send_ui ui = { .ctx = ctx };
    struct batch b = { .ctx = ctx, .o = o, .acct = acct, .ui = &ui };
    struct mail_folder *f = NULL;
    struct mail_error err;
    struct mail_rcpts r;
    int code = 0;

    mail_error_clear(&err);
    if (mail_rcpts_init(&r, acct, &ctx->paths, &err) < 0)
        return cmd_fail(&err);
    f = mail_folder_open(o->batch, MAIL_FOLDER_RDONLY, &ctx->paths, &err);
    if (!f)
        goto early;
    if (mail_folder_kind(f) != MAIL_FOLDER_MBOX) {
        mail_error_set(&err, MAIL_ERR_USAGE, "--batch takes an mbox file");
        goto early;
    }
    if (mail_folder_list(f, &list, 0, &err) < 0)
        goto early;
    if (!(b.snd = open_sender(&ui, acct,
                              o->queue > 0 || (o->queue == 0 && acct->queue)))) {
        code = EX_SOFTWARE;
        goto out;
    }
    if (!o->no_flush && !o->dry_run)
        (void)mail_send_flush_queue(b.snd, false);
    ui.msg_total = list.n;
    code = batch_loop(&b, f, &list, &r);
    goto out;
early:
    code = cmd_fail(&err);
out:
    mail_sender_free(b.snd);
    mail_rcpts_release(&r);
    mail_envelope_list_release(&list);
    if (f)
        mail_folder_close(f, NULL);
    return code;
}

/* ---- mail send ---- */

enum {
    OPT_DRY_RUN = OPT_FIRST_COMMAND_OPTION, OPT_QUEUE, OPT_NO_QUEUE,
    OPT_FLUSH, OPT_BATCH, OPT_HEADER, OPT_NO_FLUSH, OPT_NO_SAVE,
};

int cmd_send(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        CMD_COMMON_LONG,
        { "subject", required_argument, NULL, 's' },
        { "cc", required_argument, NULL, 'c' },
        { "bcc", required_argument, NULL, 'b' },
        { "attach", required_argument, NULL, 'A' },
        { "from", required_argument, NULL, 'f' },
        { "name", required_argument, NULL, 'F' },
        { "extract", no_argument, NULL, 't' },
        { "dry-run", no_argument, NULL, OPT_DRY_RUN },
        { "queue", no_argument, NULL, OPT_QUEUE },
        { "no-queue", no_argument, NULL, OPT_NO_QUEUE },
        { "flush", no_argument, NULL, OPT_FLUSH },
        { "no-flush", no_argument, NULL, OPT_NO_FLUSH },
        { "no-save", no_argument, NULL, OPT_NO_SAVE },
        { "batch", required_argument, NULL, OPT_BATCH },
        { "header", required_argument, NULL, OPT_HEADER },
        { NULL, 0, NULL, 0 },
    };
    struct send_opts o;
    int opt, rc;

    memset(&o, 0, sizeof o);
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":" CMD_COMMON_SHORT
                              "s:c:b:A:f:F:r:tio:", longopts, NULL)) != -1) {
        int bad = 0;

        switch (opt) {
        case 's': o.subject = optarg; break;
        case 'c': bad = send_strv_push(&o.cc, optarg); break;
        case 'b': bad = send_strv_push(&o.bcc, optarg); break;
        case 'A': bad = send_strv_push(&o.attach, optarg); break;
        case 'f': case 'r': o.from = optarg; break;
        case 'F': o.from_name = optarg; break;
        case 't': o.extract = true; break;
        case 'i': break;              /* dots are never special here */
        case 'o': break;              /* sendmail -oi, -odi, -oem... */
        case OPT_DRY_RUN: o.dry_run = true; break;
        case OPT_QUEUE: o.queue = 1; break;
        case OPT_NO_QUEUE: o.queue = -1; break;
        case OPT_FLUSH: o.flush = true; break;
        case OPT_NO_FLUSH: o.no_flush = true; break;
        case OPT_NO_SAVE: o.no_save = true; break;
        case OPT_BATCH: o.batch = optarg; break;
        case OPT_HEADER: bad = send_strv_push(&o.headers, optarg); break;
        case ':':
            send_opts_release(&o);
            return cmd_usage_error("send", "option '%s' needs a value",
                                   argv[optind - 1]);
        case '?':
            send_opts_release(&o);
            if (optopt && optopt < 256)
                return cmd_usage_error("send", "unknown option '-%c'",
                                       optopt);
            return cmd_usage_error("send", "unknown option '%s'",
                                   argv[optind - 1]);
        default:
            rc = cmd_common_option(ctx, "send", opt, optarg);
            if (rc == -1 || rc > 1) {
                send_opts_release(&o);
                return rc == -1 ? 0 : rc;
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
    if (o.flush && (o.to.n || o.extract || o.batch)) {
        send_opts_release(&o);
        return cmd_usage_error("send", "--flush takes no recipients");
    }
    o.interactive = !o.extract && !o.flush && !o.batch &&
                    isatty(STDIN_FILENO);
    rc = send_run(ctx, &o);
    send_opts_release(&o);
    return rc;
}
