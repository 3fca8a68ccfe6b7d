/*
 * send.c - `mail send`: compose (or take whole with -t) a message and
 * submit it over SMTP; the queue for when the server cannot be reached;
 * --batch for many messages over one connection.  sendmail.c holds the
 * sendmail(8) and mailx(1) front ends, compose_ui.c the interactive part;
 * spooling, sender addresses and the sent copy are in lib/service
 * (outgoing.h), aliases and recipient checks in lib/config (aliases.h).
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
#include "mail/aliases.h"
#include "mail/compose.h"
#include "mail/folder.h"
#include "mail/outgoing.h"
#include "mail/queue.h"
#include "mail/smtp.h"
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

/* ---- the SMTP side ---- */

struct sender {
    struct cmd_ctx *ctx;
    struct mail_account *acct;
    struct mail_server srv;
    struct cmd_trace tr;
    struct mail_session *s;
    /* Why the last attempt to reach the server failed: a second attempt
     * in the same run (the queue first, then the new message) would only
     * wait for the same timeout again. */
    bool unreachable;
    struct mail_error unreachable_err;
    /* The server asked for AUTH and no password source was there: the
     * message may wait in the queue (--queue) for a run that has one. */
    bool no_password;
};

/* Failures to reach the server are temporary for sending: the network or
 * the server will be back, and the message must wait, not be lost. */
static void reach_is_temporary(struct mail_error *err)
{
    if (err->kind == MAIL_ERR_HOST || err->kind == MAIL_ERR_UNAVAIL ||
        err->kind == MAIL_ERR_PROTOCOL)
        err->kind = MAIL_ERR_TEMP;
}

static bool has_credentials(const struct mail_account *a)
{
    return a->password_command || a->password;
}

static int sender_open(struct sender *snd, struct mail_error *err)
{
    struct mail_account *a = snd->acct;
    struct mail_buf pw = MAIL_BUF_INIT;
    int rc;

    if (snd->s)
        return 0;
    if (snd->unreachable) {
        *err = snd->unreachable_err;
        return -1;
    }
    if (!a->has_smtp)
        return mail_error_set(err, MAIL_ERR_CONFIG, "account '%s' has no "
                              "smtp server (set smtp = URL or give --smtp)",
                              a->name);
    mail_server_from_account(&snd->srv, a, &a->smtp);
    if (snd->ctx->verbose) {
        snd->tr.proto = "smtp";
        snd->srv.trace = cmd_trace_fn;
        snd->srv.trace_arg = &snd->tr;
    }
    snd->s = mail_smtp_open(&snd->srv, NULL, err);
    if (!snd->s) {
        reach_is_temporary(err);
        if (err->kind == MAIL_ERR_TEMP) {
            snd->unreachable = true;
            snd->unreachable_err = *err;
        }
        return -1;
    }
    if (mail_session_has_cap(snd->s, "AUTH")) {
        struct mail_error perr;

        mail_error_clear(&perr);
        if (mail_account_password(a, snd->srv.host, snd->srv.user,
                                  cmd_prompt_password, NULL, &pw,
                                  &perr) < 0) {
            /* The server wants a login and nothing gives a password (no
             * password-command, no ~/.netrc entry, no terminal, as under
             * cron): sending without AUTH would only be refused after the
             * recipients.  Fail before the message, or queue it. */
            *err = perr;
            if (!has_credentials(a) && perr.kind == MAIL_ERR_AUTH) {
                mail_error_set(err, MAIL_ERR_AUTH, "no password available "
                               "for %.100s at %.200s (set password-command, "
                               "add it to ~/.netrc, or run on a terminal)",
                               snd->srv.user ? snd->srv.user : "",
                               snd->srv.host ? snd->srv.host : "");
                snd->no_password = true;
                /* The queue first, then the message: ask once. */
                snd->unreachable = true;
                snd->unreachable_err = *err;
            }
            goto fail;
        }
        rc = mail_smtp_login(snd->s, pw.data ? pw.data : "", err);
        mail_buf_release_secret(&pw);
        if (rc < 0) {
            if (err->kind != MAIL_ERR_AUTH && err->kind != MAIL_ERR_TLS)
                reach_is_temporary(err);
            goto fail;
        }
    } else if (has_credentials(a) && !mail_conn_is_tls(snd->s->conn) &&
               snd->srv.tls != MAIL_TLS_NONE) {
        /* Unreachable in practice (open requires TLS), kept as a guard. */
        mail_error_set(err, MAIL_ERR_TLS, "%s: not encrypted", snd->s->name);
        goto fail;
    }
    return 0;
fail:
    mail_buf_release_secret(&pw);
    mail_session_free(snd->s);
    snd->s = NULL;
    return -1;
}

static void sender_close(struct sender *snd)
{
    if (snd->s)
        mail_smtp_quit(snd->s);
    snd->s = NULL;
}

/* The outcome of one message. */
struct outcome {
    bool delivered;       /* 250 to DATA: some recipients have it */
    size_t refused;       /* recipients refused permanently */
    struct send_strv later;   /* recipients refused for now (addresses
                                 point into the message's rcpt list) */
    struct send_strv refused_v;   /* those refused for good (likewise) */
    struct mail_error err;    /* when !delivered */
    char reply[512];          /* the server's 250 text */
    bool unknown;             /* no reply after the final dot: it may have
                                 been delivered; never send it again
                                 unasked */
};

static void outcome_release(struct outcome *o)
{
    send_strv_release(&o->later);
    send_strv_release(&o->refused_v);
}

static bool addr_is_ascii(const char *a)
{
    for (; *a; a++)
        if ((unsigned char)*a >= 0x80)
            return false;
    return true;
}

/*
 * Send one message (fd from offset) to rcpts over snd, re-encoding it to
 * 7 bits first when the server needs that.  Fills out; returns 0 when the
 * server took it (for at least one recipient), -1 otherwise.
 */
static int deliver(struct sender *snd, int fd, off_t off, const char *from,
                   const char *const *rcpts, size_t nrcpts,
                   struct outcome *out)
{
    struct mail_error *err = &out->err;
    struct mail_message_info info;
    struct mail_smtp_envelope env;
    struct mail_smtp_rcpt *rv = NULL;
    struct mail_smtp_data d;
    struct mail_buf reply = MAIL_BUF_INIT;
    bool has8 = false, hasutf8 = false, addr_utf8 = false, dot = false;
    int tmp = -1, flags = 0, rc = -1;

    memset(out, 0, sizeof *out);
    mail_error_clear(err);
    if (sender_open(snd, err) < 0)
        return -1;
    has8 = mail_session_has_cap(snd->s, "8BITMIME");
    hasutf8 = mail_session_has_cap(snd->s, "SMTPUTF8") && has8;
    if (mail_message_scan(fd, off, &info, err) < 0)
        return -1;
    addr_utf8 = !addr_is_ascii(from);
    for (size_t i = 0; i < nrcpts; i++)
        addr_utf8 |= !addr_is_ascii(rcpts[i]);
    if (addr_utf8 && !hasutf8) {
        mail_error_set(err, MAIL_ERR_DATA, "%s: an address is not ASCII and "
                       "the server does not offer SMTPUTF8",
                       snd->s->name);
        return -1;
    }
    /* 8-bit header text goes as encoded words even when the server
     * offers SMTPUTF8: a later hop may not (Postfix to an LMTP without it
     * bounces).  SMTPUTF8 is used only when an address needs it. */
    if (info.header_8bit)
        flags |= MAIL_7BIT_HEADERS;
    if ((info.body_8bit && !has8) || info.body_binary || info.long_lines)
        flags |= MAIL_7BIT_BODY;
    if (flags) {
        struct mail_fd_sink fs = { -1, 0 };

        if ((tmp = send_tmpfile(&snd->ctx->paths, err)) < 0)
            return -1;
        fs.fd = tmp;
        if (mail_message_to_7bit(fd, off, flags, mail_fd_sink_write, &fs,
                                 err) < 0) {
            mail_fd_sink_explain(&fs, err);
            if (err->kind != MAIL_ERR_DATA || !hasutf8 ||
                (flags & MAIL_7BIT_BODY))
                goto done;
            /* An address in the header is not ASCII: that is what
             * SMTPUTF8 is for; send the message as it is. */
            close(tmp);
            tmp = -1;
            flags = 0;
            mail_error_clear(err);
            addr_utf8 = true;
        }
    }
    if (flags) {
        if (snd->ctx->verbose)
            mail_conn_note(snd->s->conn, "re-encoded the message to 7 bits "
                           "for this server");
        fd = tmp;
        off = 0;
        if (mail_message_scan(fd, off, &info, err) < 0)
            goto done;
    }
    rv = calloc(nrcpts ? nrcpts : 1, sizeof *rv);
    if (!rv) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nrcpts; i++)
        rv[i].addr = rcpts[i];
    memset(&env, 0, sizeof env);
    env.from = from;
    env.rcpts = rv;
    env.nrcpts = nrcpts;
    env.size = info.wire_size;
    env.body_8bit = info.body_8bit;
    env.smtputf8 = (info.header_8bit || addr_utf8) && hasutf8;

    rc = mail_smtp_envelope(snd->s, &env, err);
    for (size_t i = 0; i < nrcpts; i++) {
        if (rv[i].accepted || !rv[i].code)
            continue;
        fputs("mail: ", stderr);
        out_safe_str(stderr, rcpts[i]);
        fprintf(stderr, ": %s: ", rv[i].temporary ? "deferred" : "refused");
        out_safe_str(stderr, rv[i].reply);
        fputc('\n', stderr);
        if (rv[i].temporary) {
            send_strv_push(&out->later, rcpts[i]);
        } else {
            out->refused++;
            send_strv_push(&out->refused_v, rcpts[i]);
        }
    }
    if (rc < 0)
        goto done;
    rc = -1;
    mail_smtp_data_begin(&d, snd->s);
    if (mail_smtp_data_write_fd(&d, fd, off, err) < 0 ||
        (dot = true, mail_smtp_data_end(&d, &reply, err) < 0)) {
        /* After the final dot, no reply (smtp.c says so) or the
         * connection gone: the server may have the message. */
        out->unknown = dot && (d.outcome_unknown ||
                               mail_error_connection_lost(err));
        /* The session is in an unknown state now. */
        mail_session_free(snd->s);
        snd->s = NULL;
        /* A refused message is final for every recipient. */
        out->later.n = 0;
        goto done;
    }
    mail_strlcpy(out->reply, reply.data ? reply.data : "", sizeof out->reply);
    out->delivered = true;
    rc = 0;
done:
    if (rc < 0 && err->kind == MAIL_OK)
        mail_error_set(err, MAIL_ERR_INTERNAL, "sending failed");
    if (rc < 0 && !out->unknown && mail_error_connection_lost(err)) {
        /* Before the end of the message: the server has nothing, and a
         * dropped connection is temporary. */
        char why[sizeof err->msg];

        mail_strlcpy(why, err->msg, sizeof why);
        mail_error_set(err, MAIL_ERR_TEMP, "%s; the message was not sent",
                       why);
    }
    if (!out->delivered && snd->s && err->kind != MAIL_ERR_TEMP &&
        err->kind != MAIL_ERR_RECIPIENT && err->kind != MAIL_ERR_UNAVAIL &&
        err->kind != MAIL_ERR_DATA && err->kind != MAIL_ERR_USAGE) {
        mail_session_free(snd->s);
        snd->s = NULL;
    }
    mail_buf_release(&reply);
    free(rv);
    if (tmp >= 0)
        close(tmp);
    return rc;
}

/* ---- queue ---- */

static char *queue_dir(const struct mail_paths *paths,
                       struct mail_error *err)
{
    return mail_queue_default_dir(paths, err);
}

static int queue_message(struct sender *snd, int fd, off_t off,
                         const char *from, const char *const *rcpts,
                         size_t n, const struct mail_error *why)
{
    struct mail_error err;
    char *dir, *id = NULL;

    mail_error_clear(&err);
    dir = queue_dir(&snd->ctx->paths, &err);
    if (!dir || mail_queue_add(dir, snd->acct->name, from, rcpts, n, fd, off,
                               &id, &err) < 0) {
        free(dir);
        mail_error_prefix(&err, "cannot queue the message");
        return cmd_fail(&err);
    }
    if (!snd->ctx->quiet) {
        fputs("mail: queued as ", stderr);
        out_safe_str(stderr, id);
        fputs(" (", stderr);
        out_safe_str(stderr, why->msg);
        fputs("); 'mail send --flush' sends it\n", stderr);
    }
    free(dir);
    free(id);
    return 0;
}

/* No reply after the final dot: keep the message where no flush sends
 * it again by itself, and say so.  Returns 75. */
static int hold_unknown(struct sender *snd, int fd, off_t off,
                        const char *from, const char *const *rcpts, size_t n,
                        struct mail_queue_entry *e)
{
    struct mail_error err;
    char *dir = NULL, *path = NULL;
    int r;

    mail_error_clear(&err);
    if (e) {
        r = mail_queue_hold(e, &path, &err);
    } else {
        dir = queue_dir(&snd->ctx->paths, &err);
        r = dir ? mail_queue_add_held(dir, snd->acct->name, from, rcpts, n,
                                      fd, off, &path, &err) : -1;
    }
    if (r < 0) {
        mail_error_prefix(&err, "no reply after the end of the message: it "
                          "may or may not have been delivered; it could not "
                          "be kept");
        cmd_fail(&err);
    } else {
        fputs("mail: no reply after the end of the message: it may or may "
              "not have been delivered; kept in ", stderr);
        out_safe_str(stderr, path);
        fputc('\n', stderr);
    }
    free(dir);
    free(path);
    return EX_TEMPFAIL;
}

/*
 * Send what is queued for this account over snd.  Stops at the first
 * temporary failure (the server is in trouble: later messages would fail
 * too).  Returns an exit code (0 when the queue is empty now, or nothing
 * was there); reports on stderr.  quiet_unreachable: at the start of a
 * send, an unreachable server is reported by the send itself.
 */
static int flush_queue(struct sender *snd, bool explicit_flush)
{
    struct mail_error err;
    char **names = NULL;
    size_t n = 0;
    char *dir;
    int code = 0;

    mail_error_clear(&err);
    dir = queue_dir(&snd->ctx->paths, &err);
    if (!dir)
        return explicit_flush ? cmd_fail(&err) : 0;
    if (mail_queue_list(dir, &names, &n, &err) < 0) {
        free(dir);
        return cmd_fail(&err);
    }
    for (size_t i = 0; i < n; i++) {
        struct mail_queue_entry e;
        struct outcome oc;
        int r = mail_queue_open(dir, names[i], &e, &err);

        if (r == 1)
            continue;
        if (r < 0) {
            code = cmd_fail(&err);
            continue;
        }
        if (strcmp(e.account, snd->acct->name) != 0) {
            mail_queue_entry_release(&e);
            continue;
        }
        r = deliver(snd, e.fd, e.offset, e.from,
                    (const char *const *)e.rcpts, e.nrcpts, &oc);
        if (r == 0) {
            if (oc.later.n) {
                /* The rest waits, as a new queue entry. */
                char *id = NULL;

                if (mail_queue_add(dir, e.account, e.from, oc.later.v,
                                   oc.later.n, e.fd, e.offset, &id, &err) < 0)
                    code = cmd_fail(&err);
                free(id);
            }
            if (mail_queue_done(&e, &err) < 0)
                code = cmd_fail(&err);
            if (snd->ctx->verbose)
                fprintf(stderr, "mail: sent queued message %s\n", names[i]);
            if (oc.refused && !code)
                code = EX_NOUSER;
            outcome_release(&oc);
            continue;
        }
        if (oc.unknown) {
            code = hold_unknown(snd, -1, 0, NULL, NULL, 0, &e);
            outcome_release(&oc);
            break;
        }
        if (oc.err.kind == MAIL_ERR_TEMP || oc.err.kind == MAIL_ERR_AUTH ||
            oc.err.kind == MAIL_ERR_TLS || oc.err.kind == MAIL_ERR_CONFIG) {
            /* Not the message's fault: it stays; so do the others. */
            mail_queue_entry_release(&e);
            if (explicit_flush)
                code = cmd_fail(&oc.err);
            else
                code = mail_error_exit_code(oc.err.kind);
            outcome_release(&oc);
            break;
        }
        /* Refused for good: keep it aside, never lose it. */
        fputs("mail: queued message ", stderr);
        out_safe_str(stderr, names[i]);
        fputs(" cannot be sent: ", stderr);
        out_safe_str(stderr, oc.err.msg);
        fputs("; moved to failed/\n", stderr);
        code = mail_error_exit_code(oc.err.kind);
        mail_queue_fail(&e, NULL);
        outcome_release(&oc);
    }
    mail_queue_names_free(names, n);
    free(dir);
    return code;
}

/* ---- the sent folder ---- */

static void save_sent(struct sender *snd, int fd, const struct mail_buf *bcc)
{
    struct mail_error err;
    char *where = NULL;

    mail_error_clear(&err);
    if (mail_sent_save(snd->acct, fd, bcc, &where, &err) == 0)
        return;
    /* The message is sent: a failed copy is a warning, not a failure
     * that would make a script send it again. */
    fputs("mail: warning: sent, but no copy saved in ", stderr);
    out_safe_str(stderr, where ? where : "the sent folder");
    fputs(": ", stderr);
    out_safe_str(stderr, err.msg);
    fputc('\n', stderr);
    free(where);
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

/* How recipients are resolved (aliases, the account's domain), and the
 * parsed lists their strings live in. */
struct rcpt_keep {
    struct mail_aliases aliases;
    const char *domain;
    struct mail_addrlist *keep;
    size_t nkeep;
    struct send_strv *owned;    /* resolved strings (freed with o) */
};

static int rcpt_keep_init(struct rcpt_keep *rk, struct send_opts *o,
                          const struct mail_account *acct,
                          const struct mail_paths *paths,
                          struct mail_error *err)
{
    char *path;

    memset(rk, 0, sizeof *rk);
    rk->owned = &o->owned;
    rk->domain = acct ? acct->domain : NULL;
    path = mail_aliases_default_path(paths, err);
    if (!path) {
        mail_error_clear(err);      /* no home: no aliases file */
        return 0;
    }
    if (mail_aliases_load(&rk->aliases, path, err) < 0) {
        free(path);
        return -1;
    }
    free(path);
    return 0;
}

static void rcpt_keep_release(struct rcpt_keep *rk)
{
    for (size_t i = 0; i < rk->nkeep; i++)
        mail_addrlist_release(&rk->keep[i]);
    free(rk->keep);
    mail_aliases_release(&rk->aliases);
}

/* Resolve address arguments (aliases, the domain, strict syntax: see
 * aliases.h), replace each by its resolved text (what the header shows)
 * and collect the addr-specs into rcpts (strings owned by rk). */
static int add_rcpts(struct rcpt_keep *rk, struct send_strv *args,
                     struct send_strv *rcpts, struct mail_error *err)
{
    for (size_t i = 0; i < args->n; i++) {
        struct mail_addrlist *nk = realloc(rk->keep,
                                           (rk->nkeep + 1) * sizeof *nk);
        struct mail_buf b = MAIL_BUF_INIT;

        if (!nk)
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        rk->keep = nk;
        nk[rk->nkeep] = (struct mail_addrlist)MAIL_ADDRLIST_INIT;
        nk += rk->nkeep++;
        if (mail_compose_check_value("an address", args->v[i],
                                     strlen(args->v[i]), err) < 0 ||
            mail_rcpt_resolve(&rk->aliases, rk->domain, args->v[i], false,
                              &b, err) < 0)
            return -1;
        if (b.data && send_strv_push(rk->owned, b.data) < 0) {
            mail_buf_release(&b);
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        }
        if (mail_compose_parse_addrs(nk, b.data ? b.data : args->v[i],
                                     err) < 0)
            return -1;
        if (b.data)
            args->v[i] = b.data;
        for (size_t k = 0; k < nk->n; k++)
            if (send_strv_push(rcpts, nk->v[k].addr) < 0)
                return mail_error_set(err, MAIL_ERR_INTERNAL, "oom");
    }
    return 0;
}

/* The recipients of a message given whole (-t, --batch): each address
 * resolved as an argument would be. */
static int add_msg_rcpts(struct rcpt_keep *rk,
                         const struct mail_complete_result *res,
                         struct send_strv *rcpts, struct mail_error *err)
{
    for (size_t k = 0; k < res->rcpts.n; k++) {
        const char *one = res->rcpts.v[k].addr;
        struct send_strv v = { &one, 1, 1 };

        if (add_rcpts(rk, &v, rcpts, err) < 0)
            return -1;
    }
    return 0;
}

/* Drop repeated recipients (the server would deliver twice). */
static void dedup(struct send_strv *v)
{
    size_t k = 0;

    for (size_t i = 0; i < v->n; i++) {
        bool seen = false;

        for (size_t j = 0; j < k && !seen; j++)
            seen = mail_strcasecmp(v->v[j], v->v[i]) == 0;
        if (!seen)
            v->v[k++] = v->v[i];
    }
    v->n = k;
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

/* Replace the message in *msg by itself with o->attach attached. */
static int attach_whole_files(const struct mail_paths *paths, int *msg,
                              const struct send_strv *attach,
                              struct mail_error *err)
{
    struct mail_fd_sink fs = { -1, 0 };

    if ((fs.fd = send_tmpfile(paths, err)) < 0)
        return -1;
    if (mail_message_attach(*msg, attach->v, attach->n, NULL, mail_fd_sink_write,
                            &fs, err) < 0) {
        mail_fd_sink_explain(&fs, err);
        close(fs.fd);
        return -1;
    }
    close(*msg);
    *msg = fs.fd;
    return 0;
}

/* whole: sendmail without -t (send.h). */
static int send_run_mode(struct cmd_ctx *ctx, struct send_opts *o, bool whole)
{
    struct mail_account *acct = NULL;
    struct mail_error err;
    struct sender snd;
    struct mail_complete_result res;
    struct send_strv rcpts = SEND_STRV_INIT;
    struct rcpt_keep rk;
    struct mail_buf fromhdr = MAIL_BUF_INIT;
    char *from = NULL;
    int in = -1, msg = -1, code;
    bool queue;

    memset(&res, 0, sizeof res);
    memset(&snd, 0, sizeof snd);
    memset(&rk, 0, sizeof rk);
    mail_error_clear(&err);
    if ((code = load_account(ctx, o, &acct)) != 0)
        goto out;
    if (!acct && (o->flush || o->batch) &&
        (code = cmd_load_account(ctx, &acct)) != 0)
        goto out;
    queue = o->queue > 0 || (o->queue == 0 && acct && acct->queue);
    snd.ctx = ctx;
    snd.acct = acct;

    if (o->flush) {
        code = flush_queue(&snd, true);
        goto out;
    }
    if (o->batch)
        return send_batch(ctx, o, acct);

    /* Check the command line before reading anything. */
    if (rcpt_keep_init(&rk, o, acct, &ctx->paths, &err) < 0)
        goto fail;
    if (o->subject && mail_compose_check_value("the subject (-s)", o->subject,
                                               strlen(o->subject), &err) < 0)
        goto fail;
    if (o->from_name && mail_compose_check_value("the name (-F)",
                                                 o->from_name,
                                                 strlen(o->from_name),
                                                 &err) < 0)
        goto fail;
    if (add_rcpts(&rk, &o->to, &rcpts, &err) < 0 ||
        add_rcpts(&rk, &o->cc, &rcpts, &err) < 0 ||
        add_rcpts(&rk, &o->bcc, &rcpts, &err) < 0)
        goto fail;
    if (o->from) {
        struct mail_addrlist l = MAIL_ADDRLIST_INIT;
        int r = mail_compose_parse_addrs(&l, o->from, &err);

        mail_addrlist_release(&l);
        if (r < 0)
            goto fail;
    }
    if (!o->extract && rcpts.n == 0 && !o->interactive) {
        code = cmd_usage_error("send", "no recipients");
        goto out;
    }

    /* The input. */
    if (o->interactive) {
        if ((code = send_interactive(ctx, o, acct, &in)) != 0) {
            if (code < 0)
                code = 0;     /* aborted by the user; the draft is kept */
            goto out;
        }
        /* The prompts may have added recipients. */
        rcpts.n = 0;
        if (add_rcpts(&rk, &o->to, &rcpts, &err) < 0 ||
            add_rcpts(&rk, &o->cc, &rcpts, &err) < 0 ||
            add_rcpts(&rk, &o->bcc, &rcpts, &err) < 0)
            goto fail;
        if (rcpts.n == 0) {
            code = cmd_usage_error("send", "no recipients");
            goto out;
        }
    } else if (send_spool_stdin(&ctx->paths, o->dots, &in, &err) < 0) {
        goto fail;
    }
    if (o->skip_empty && fd_empty(in)) {
        code = 0;     /* mailx -E: an empty body is not sent */
        goto out;
    }

    /* The message. */
    {
        struct mail_fd_sink fs = { -1, 0 };

        if ((msg = send_tmpfile(&ctx->paths, &err)) < 0)
            goto fail;
        fs.fd = msg;
        if (mail_header_from(o->from, o->from_name, acct, &fromhdr) < 0) {
            mail_error_set(&err, MAIL_ERR_USAGE, "bad sender address");
            goto fail;
        }
        if (o->extract || whole) {
            struct mail_complete_opts co = {
                .from = fromhdr.len ? fromhdr.data : NULL,
                .check_rcpts = !whole,
                .id_domain = acct ? acct->domain : NULL,
            };

            if (mail_message_complete(in, &co, mail_fd_sink_write, &fs, &res,
                                      &err) < 0) {
                mail_fd_sink_explain(&fs, &err);
                goto fail;
            }
            /* -t -A: the message becomes multipart/mixed. */
            if (o->attach.n &&
                attach_whole_files(&ctx->paths, &msg, &o->attach, &err) < 0)
                goto fail;
            /* Without -t the command line names the recipients. */
            if (!whole && add_msg_rcpts(&rk, &res, &rcpts, &err) < 0)
                goto fail;
            if (rcpts.n == 0) {
                code = cmd_failf(EX_USAGE, "no recipients: the message has "
                                 "no To, Cc or Bcc and none were given");
                goto out;
            }
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
            struct mail_buf *bcc = &res.bcc;

            if (mail_compose_write(&c, mail_fd_sink_write, &fs, &err) < 0) {
                mail_fd_sink_explain(&fs, &err);
                goto fail;
            }
            /* For the sent copy. */
            for (size_t i = 0; i < o->bcc.n; i++)
                if (mail_buf_printf(bcc, "Bcc: %s\n", o->bcc.v[i]) < 0)
                    goto nomem;
        }
    }
    dedup(&rcpts);
    if (o->dry_run) {
        code = print_fd(msg);
        goto out;
    }
    if (mail_envelope_from(o->from, acct, res.from_addr, &from, &err) < 0)
        goto fail;

    /* The queue first: older messages go before this one. */
    if (!o->no_flush) {
        int fc = flush_queue(&snd, false);

        (void)fc;
    }
    {
        struct outcome oc;

        if (deliver(&snd, msg, 0, from, rcpts.v, rcpts.n, &oc) == 0) {
            save_sent(&snd, msg, &res.bcc);
            code = 0;
            if (oc.later.n) {
                struct mail_error why;

                mail_error_set(&why, MAIL_ERR_TEMP, "%zu recipient(s) "
                               "deferred", oc.later.n);
                if (queue)
                    code = queue_message(&snd, msg, 0, from, oc.later.v,
                                         oc.later.n, &why);
                else
                    code = EX_TEMPFAIL;
            }
            if (oc.refused && code == 0)
                code = EX_NOUSER;
            if (ctx->verbose && oc.reply[0])
                fprintf(stderr, "mail: sent: %s\n", oc.reply);
            outcome_release(&oc);
        } else if (oc.unknown) {
            code = hold_unknown(&snd, msg, 0, from, rcpts.v, rcpts.n, NULL);
            outcome_release(&oc);
        } else if ((oc.err.kind == MAIL_ERR_TEMP || snd.no_password) &&
                   queue) {
            code = queue_message(&snd, msg, 0, from, rcpts.v, rcpts.n,
                                 &oc.err);
            outcome_release(&oc);
        } else {
            code = cmd_fail(&oc.err);
            /* Some refused for good, the rest only for now: those wait. */
            if (oc.later.n && queue &&
                queue_message(&snd, msg, 0, from, oc.later.v, oc.later.n,
                              &oc.err) != 0)
                code = EX_TEMPFAIL;
            outcome_release(&oc);
        }
    }
    sender_close(&snd);
    goto out;
nomem:
    mail_error_set(&err, MAIL_ERR_INTERNAL, "out of memory");
fail:
    code = cmd_fail(&err);
out:
    sender_close(&snd);
    if (in >= 0)
        close(in);
    if (msg >= 0)
        close(msg);
    rcpt_keep_release(&rk);
    free(from);
    send_strv_release(&rcpts);
    mail_buf_release(&fromhdr);
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

int send_batch(struct cmd_ctx *ctx, struct send_opts *o,
               struct mail_account *acct)
{
    struct mail_envelope_list list = MAIL_ENVELOPE_LIST_INIT;
    struct mail_folder *f;
    struct mail_error err;
    struct sender snd;
    bool queue = o->queue > 0 || (o->queue == 0 && acct->queue);
    struct rcpt_keep rk;
    size_t sent = 0, failed = 0, partly = 0;
    int code = 0;

    mail_error_clear(&err);
    memset(&snd, 0, sizeof snd);
    snd.ctx = ctx;
    snd.acct = acct;
    if (rcpt_keep_init(&rk, o, acct, &ctx->paths, &err) < 0)
        return cmd_fail(&err);
    f = mail_folder_open(o->batch, MAIL_FOLDER_RDONLY, &ctx->paths, &err);
    if (!f) {
        rcpt_keep_release(&rk);
        return cmd_fail(&err);
    }
    if (mail_folder_kind(f) != MAIL_FOLDER_MBOX) {
        mail_error_set(&err, MAIL_ERR_USAGE, "--batch takes an mbox file");
        goto early;
    }
    if (mail_folder_list(f, &list, 0, &err) < 0)
        goto early;
    if (!o->no_flush && !o->dry_run)
        flush_queue(&snd, false);
    for (size_t i = 0; i < list.n; i++) {
        struct mail_complete_result res;
        struct send_strv rcpts = SEND_STRV_INIT;
        struct mail_buf fromhdr = MAIL_BUF_INIT;
        struct mail_fd_sink fs = { -1, 0 };
        struct outcome oc;
        char *from = NULL;
        int in = -1, msg = -1, c = 0;
        bool part = false;

        memset(&res, 0, sizeof res);
        mail_error_clear(&err);
        if (mail_folder_message_fd(f, &list.v[i], &in, &err) < 0 ||
            (msg = send_tmpfile(&ctx->paths, &err)) < 0)
            goto one_failed;
        fs.fd = msg;
        if (mail_header_from(o->from, o->from_name, acct, &fromhdr) < 0)
            mail_buf_reset(&fromhdr);
        {
            struct mail_complete_opts co = {
                .from = fromhdr.len ? fromhdr.data : NULL,
                .check_rcpts = true,
                .id_domain = acct ? acct->domain : NULL,
            };

            if (mail_message_complete(in, &co, mail_fd_sink_write, &fs, &res,
                                      &err) < 0) {
                mail_fd_sink_explain(&fs, &err);
                goto one_failed;
            }
        }
        if (add_msg_rcpts(&rk, &res, &rcpts, &err) < 0 ||
            add_rcpts(&rk, &o->to, &rcpts, &err) < 0)
            goto one_failed;
        dedup(&rcpts);
        if (rcpts.n == 0) {
            mail_error_set(&err, MAIL_ERR_USAGE, "no recipients");
            goto one_failed;
        }
        if (o->dry_run) {
            c = print_fd(msg);
            goto one_done;
        }
        if (mail_envelope_from(o->from, acct, res.from_addr, &from,
                               &err) < 0)
            goto one_failed;
        if (deliver(&snd, msg, 0, from, rcpts.v, rcpts.n, &oc) == 0) {
            save_sent(&snd, msg, &res.bcc);
            if (oc.later.n) {
                mail_error_set(&err, MAIL_ERR_TEMP, "%zu recipient(s) "
                               "deferred", oc.later.n);
                c = queue ? queue_message(&snd, msg, 0, from, oc.later.v,
                                          oc.later.n, &err)
                          : EX_TEMPFAIL;
            }
            if (oc.refused && c == 0) {
                /* Delivered to the others: not a failed message. */
                c = EX_NOUSER;
                part = true;
                fprintf(stderr, "mail: message %zu of %zu: partly "
                        "delivered, refused for", i + 1, list.n);
                for (size_t k = 0; k < oc.refused_v.n; k++) {
                    fputs(k ? ", " : " ", stderr);
                    out_safe_str(stderr, oc.refused_v.v[k]);
                }
                fputc('\n', stderr);
            } else if (!ctx->quiet && isatty(STDERR_FILENO)) {
                fprintf(stderr, "mail: message %zu of %zu sent\n", i + 1,
                        list.n);
            }
        } else if (oc.unknown) {
            c = hold_unknown(&snd, msg, 0, from, rcpts.v, rcpts.n, NULL);
        } else if ((oc.err.kind == MAIL_ERR_TEMP || snd.no_password) &&
                   queue) {
            c = queue_message(&snd, msg, 0, from, rcpts.v, rcpts.n, &oc.err);
        } else {
            fprintf(stderr, "mail: message %zu of %zu: ", i + 1, list.n);
            c = cmd_fail(&oc.err);
        }
        outcome_release(&oc);
        goto one_done;
one_failed:
        fprintf(stderr, "mail: message %zu of %zu: ", i + 1, list.n);
        c = cmd_fail(&err);
one_done:
        if (part)
            partly++;
        else if (c)
            failed++;
        else
            sent++;
        /* The worst code wins, temporary failures over the rest. */
        if (c && (code == 0 || c == EX_TEMPFAIL))
            code = c;
        if (in >= 0)
            close(in);
        if (msg >= 0)
            close(msg);
        free(from);
        send_strv_release(&rcpts);
        mail_buf_release(&fromhdr);
        mail_complete_result_release(&res);
    }
    sender_close(&snd);
    rcpt_keep_release(&rk);
    if (partly && !ctx->quiet)
        fprintf(stderr, "mail: %zu of %zu messages sent, %zu partly "
                "delivered, %zu failed\n", sent, list.n, partly, failed);
    else if (failed && !ctx->quiet)
        fprintf(stderr, "mail: %zu of %zu messages sent, %zu failed\n", sent,
                list.n, failed);
    mail_envelope_list_release(&list);
    mail_folder_close(f, NULL);
    return code;
early:
    rcpt_keep_release(&rk);
    mail_folder_close(f, NULL);
    return cmd_fail(&err);
}

/* ---- mail send ---- */

enum {
    OPT_DRY_RUN = OPT_FIRST_COMMAND_OPTION, OPT_QUEUE, OPT_NO_QUEUE,
    OPT_FLUSH, OPT_BATCH, OPT_HEADER, OPT_NO_FLUSH,
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
