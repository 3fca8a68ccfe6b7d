/*
 * outgoing.c - sending a message (outgoing.h): spooling, sender
 * addresses, recipients, a message given whole, the SMTP delivery with
 * the queue decisions, the queue flush and the sent copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/addrbook.h"
#include "mail/compose.h"
#include "mail/folder.h"
#include "mail/fsutil.h"
#include "mail/oauth2.h"
#include "mail/outgoing.h"
#include "mail/queue.h"
#include "mail/remote.h"
#include "mail/session.h"
#include "mail/smtp.h"

int mail_spool_tmpfile(const struct mail_paths *paths,
                       struct mail_error *err)
{
    return mail_tmpfile(mail_paths_tmp_dir(paths), err);
}

int mail_spool_fd(const struct mail_paths *paths, int in, bool dots,
                  int *out, struct mail_error *err)
{
    char buf[65536];
    struct mail_fd_sink fs = { .fd = -1 };
    bool bol = true;
    int fd = mail_spool_tmpfile(paths, err);

    if (fd < 0)
        return -1;
    fs.fd = fd;
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        size_t len;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            mail_error_set(err, MAIL_ERR_IO, "standard input: %s",
                           strerror(errno));
            goto fail;
        }
        if (n == 0)
            break;
        len = (size_t)n;
        if (dots) {
            /* Look for "\n.\n" (or ".\n" at the start). */
            for (size_t i = 0; i < len; i++) {
                if (bol && buf[i] == '.' &&
                    ((i + 1 < len && buf[i + 1] == '\n') ||
                     (i + 2 < len && buf[i + 1] == '\r' &&
                      buf[i + 2] == '\n'))) {
                    len = i;
                    dots = false;
                    n = 0;
                    break;
                }
                bol = buf[i] == '\n';
            }
        }
        if (mail_fd_sink_write(&fs, buf, len, err) < 0)
            goto fail;
        if (n == 0)
            break;
    }
    *out = fd;
    return 0;
fail:
    close(fd);
    return -1;
}

int mail_envelope_from(const char *opt_from, const struct mail_account *a,
                       const char *msg_from, char **out,
                       struct mail_error *err)
{
    const char *src = opt_from ? opt_from
                    : a && a->address ? a->address : NULL;
    struct mail_addrlist l = MAIL_ADDRLIST_INIT;

    if (!src) {
        if (msg_from && *msg_from) {
            *out = strdup(msg_from);
            return *out ? 0 : mail_error_set(err, MAIL_ERR_INTERNAL, "oom");
        }
        return mail_error_set(err, MAIL_ERR_CONFIG, "no sender address: set "
                              "address in the account or give -f ADDR");
    }
    if (mail_compose_parse_addrs(&l, src, err) < 0) {
        mail_addrlist_release(&l);
        return mail_error_prefix(err, "sender");
    }
    *out = strdup(l.v[0].addr);
    mail_addrlist_release(&l);
    return *out ? 0 : mail_error_set(err, MAIL_ERR_INTERNAL, "oom");
}

int mail_header_from(const char *opt_from, const char *name,
                     const struct mail_account *a, struct mail_buf *out)
{
    const char *src = opt_from ? opt_from
                    : a && a->address ? a->address : NULL;

    if (!src)
        return 0;
    if (name && *name && !strchr(src, '<')) {
        struct mail_addrlist l = MAIL_ADDRLIST_INIT;
        int r;

        if (mail_addrlist_parse(&l, src, NULL) < 0 || l.n == 0) {
            mail_addrlist_release(&l);
            return -1;
        }
        r = mail_address_format(out, name, l.v[0].addr);
        mail_addrlist_release(&l);
        return r;
    }
    return mail_buf_addstr(out, src);
}

int mail_sent_save(const struct mail_account *a, int fd, off_t off,
                   const struct mail_buf *bcc, char **where,
                   struct mail_error *err)
{
    struct mail_folder *f = NULL;
    struct mail_append *ap = NULL;
    char *path = NULL;
    char buf[65536];

    *where = NULL;
    if (mail_sent_kind(a, NULL) != MAIL_SENT_LOCAL)
        return 0;   /* none, or on the IMAP server: mail_sent_copy_imap */
    /* As trash-folder: a path when it starts with / or ~, else a folder
     * of the store ("=Sent" or "Sent"). */
    if (a->sent_folder[0] == '/' || a->sent_folder[0] == '~')
        path = mail_paths_expand_home(a->paths, a->sent_folder);
    else if (a->store && *a->store)
        path = mail_store_folder_path(a->store, a->sent_folder +
                                      (a->sent_folder[0] == '='), err);
    else
        mail_error_set(err, MAIL_ERR_CONFIG, "sent-folder '%s' is a folder "
                       "of the store, but account '%s' has no store",
                       a->sent_folder, a->name);
    if (!path) {
        if (err->kind == MAIL_OK)
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto fail;
    }
    f = mail_folder_open(path, MAIL_FOLDER_RDWR | MAIL_FOLDER_CREATE,
                         a->paths, err);
    if (!f)
        goto fail;
    ap = mail_folder_append_begin(f, MAIL_FLAG_SEEN, 0, err);
    if (!ap)
        goto fail;
    /* The copy shows the Bcc recipients, as the sender should see them. */
    if (bcc && bcc->len && mail_append_write(ap, bcc->data, bcc->len,
                                             err) < 0)
        goto fail;
    for (;;) {
        ssize_t n = pread(fd, buf, sizeof buf, off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            mail_error_set(err, MAIL_ERR_IO, "%s", strerror(errno));
            goto fail;
        }
        if (n == 0)
            break;
        if (mail_append_write(ap, buf, (size_t)n, err) < 0)
            goto fail;
        off += n;
    }
    if (mail_append_commit(ap, NULL, err) < 0) {
        ap = NULL;
        goto fail;
    }
    ap = NULL;
    if (mail_folder_close(f, err) < 0) {
        f = NULL;
        goto fail;
    }
    free(path);
    return 0;
fail:
    if (ap)
        mail_append_abort(ap);
    if (f)
        mail_folder_close(f, NULL);
    *where = path ? path : strdup(a->sent_folder);
    return -1;
}

/* The connection layer marks a loss where it sees one (net/conn.c: EOF,
 * reset, broken pipe, a TLS stream cut); the kind alone cannot tell it
 * from a refused connection or a 5xx reply (both MAIL_ERR_UNAVAIL). */
bool mail_error_connection_lost(const struct mail_error *e)
{
    return e->conn_lost;
}

/* ---- recipients ---- */

static int push_str(const char ***v, size_t *n, size_t *alloc, const char *s)
{
    if (*n == *alloc) {
        size_t na = *alloc ? *alloc * 2 : 8;
        const char **nv = realloc(*v, na * sizeof *nv);

        if (!nv)
            return -1;
        *v = nv;
        *alloc = na;
    }
    (*v)[(*n)++] = s;
    return 0;
}

int mail_rcpts_init(struct mail_rcpts *r, const struct mail_account *acct,
                    const struct mail_paths *paths, struct mail_error *err)
{
    char *path;

    memset(r, 0, sizeof *r);
    if (acct && acct->domain && !(r->domain = strdup(acct->domain)))
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    path = mail_aliases_default_path(paths, err);
    if (!path) {
        mail_error_clear(err);      /* no home: no aliases file */
        return 0;
    }
    if (mail_aliases_load(&r->aliases, path, err) < 0) {
        free(path);
        return -1;
    }
    free(path);
    return 0;
}

void mail_rcpts_release(struct mail_rcpts *r)
{
    for (size_t i = 0; i < r->nkeep; i++)
        mail_addrlist_release(&r->keep[i]);
    free(r->keep);
    for (size_t i = 0; i < r->nowned; i++)
        free(r->owned[i]);
    free(r->owned);
    free(r->v);
    free(r->domain);
    mail_aliases_release(&r->aliases);
    memset(r, 0, sizeof *r);
}

void mail_rcpts_reset(struct mail_rcpts *r)
{
    r->n = 0;
}

/* Keep a resolved text; the struct owns it. */
static int rcpts_own(struct mail_rcpts *r, char *s)
{
    char **no = realloc(r->owned, (r->nowned + 1) * sizeof *no);

    if (!no)
        return -1;
    r->owned = no;
    r->owned[r->nowned++] = s;
    return 0;
}

/* One argument: checked, resolved (args[i] replaced), its addresses
 * added. */
static int rcpts_add_one(struct mail_rcpts *r, const char **arg,
                         struct mail_error *err)
{
    struct mail_addrlist *nk = realloc(r->keep, (r->nkeep + 1) * sizeof *nk);
    struct mail_buf b = MAIL_BUF_INIT;

    if (!nk)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    r->keep = nk;
    nk[r->nkeep] = (struct mail_addrlist)MAIL_ADDRLIST_INIT;
    nk += r->nkeep++;
    if (mail_compose_check_value("an address", *arg, strlen(*arg), err) < 0 ||
        mail_rcpt_resolve(&r->aliases, r->domain, *arg, false, &b,
                          err) < 0) {
        mail_buf_release(&b);
        return -1;
    }
    if (b.data && rcpts_own(r, b.data) < 0) {
        mail_buf_release(&b);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    if (mail_compose_parse_addrs(nk, b.data ? b.data : *arg, err) < 0)
        return -1;
    if (b.data)
        *arg = b.data;
    for (size_t k = 0; k < nk->n; k++)
        if (push_str(&r->v, &r->n, &r->alloc, nk->v[k].addr) < 0)
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    return 0;
}

int mail_rcpts_add_args(struct mail_rcpts *r, const char **args, size_t n,
                        struct mail_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (rcpts_add_one(r, &args[i], err) < 0)
            return -1;
    return 0;
}

int mail_rcpts_add_message(struct mail_rcpts *r,
                           const struct mail_complete_result *res,
                           struct mail_error *err)
{
    for (size_t k = 0; k < res->rcpts.n; k++) {
        const char *one = res->rcpts.v[k].addr;

        if (rcpts_add_one(r, &one, err) < 0)
            return -1;
    }
    return 0;
}

void mail_rcpts_dedup(struct mail_rcpts *r)
{
    size_t k = 0;

    for (size_t i = 0; i < r->n; i++) {
        bool seen = false;

        for (size_t j = 0; j < k && !seen; j++)
            seen = mail_strcasecmp(r->v[j], r->v[i]) == 0;
        if (!seen)
            r->v[k++] = r->v[i];
    }
    r->n = k;
}

/* ---- a message given whole ---- */

/* Replace the message in *msg by itself with the files attached. */
static int attach_whole_files(const struct mail_paths *paths, int *msg,
                              const char *const *attach, size_t nattach,
                              struct mail_error *err)
{
    struct mail_fd_sink fs = { .fd = -1 };

    if ((fs.fd = mail_spool_tmpfile(paths, err)) < 0)
        return -1;
    if (mail_message_attach(*msg, attach, nattach, NULL, mail_fd_sink_write,
                            &fs, err) < 0) {
        close(fs.fd);
        return -1;
    }
    close(*msg);
    *msg = fs.fd;
    return 0;
}

int mail_send_prepare_whole(const struct mail_paths *paths, int in,
                            const struct mail_whole_opts *o, int *msg,
                            struct mail_complete_result *res,
                            struct mail_error *err)
{
    struct mail_complete_opts co = {
        .from = o->from,
        .check_rcpts = o->check_rcpts,
        .id_domain = o->id_domain,
    };
    struct mail_fd_sink fs = { .fd = -1 };

    *msg = -1;
    if ((fs.fd = mail_spool_tmpfile(paths, err)) < 0)
        return -1;
    if (mail_message_complete(in, &co, mail_fd_sink_write, &fs, res,
                              err) < 0) {
        close(fs.fd);
        return -1;
    }
    /* -t -A: the message becomes multipart/mixed. */
    if (o->nattach &&
        attach_whole_files(paths, &fs.fd, o->attach, o->nattach, err) < 0) {
        close(fs.fd);
        return -1;
    }
    *msg = fs.fd;
    return 0;
}

/* ---- the sender ---- */

struct mail_sender {
    struct mail_sender_opts o;
    struct mail_server srv;
    struct mail_session *s;
    /* The IMAP server, for Sent copies there (connected when first
     * needed); pending copies are tried once per sender. */
    struct mail_remote *remote;
    bool pending_tried;
    /* Why the last attempt to reach the server failed: a second attempt
     * in the same run (the queue first, then the new message) would only
     * wait for the same timeout again. */
    bool unreachable;
    struct mail_error unreachable_err;
    /* The server asked for AUTH and no password source was there: the
     * message may wait in the queue for a run that has one. */
    bool no_password;
};

/* The result of one delivery attempt. */
struct attempt {
    bool delivered;
    bool unknown;                 /* no reply after the final dot */
    const char **later;           /* recipients refused for now */
    size_t nlater, later_alloc;
    const char **refused;         /* recipients refused for good */
    size_t nrefused, refused_alloc;
    struct mail_error err;        /* when !delivered */
    char reply[512];
};

static void attempt_release(struct attempt *a)
{
    free(a->later);
    free(a->refused);
}

static void emit(struct mail_sender *s, const struct mail_send_event *ev)
{
    if (s->o.event)
        s->o.event(s->o.event_arg, ev);
}

static void emit_err(struct mail_sender *s, enum mail_send_event_kind kind,
                     const char *name, const struct mail_error *err)
{
    struct mail_send_event ev = { .kind = kind, .name = name, .err = err };

    emit(s, &ev);
}

struct mail_sender *mail_sender_new(const struct mail_sender_opts *o,
                                    struct mail_error *err)
{
    struct mail_sender *s = calloc(1, sizeof *s);

    if (!s) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    s->o = *o;
    return s;
}

void mail_sender_free(struct mail_sender *s)
{
    if (!s)
        return;
    if (s->s)
        mail_smtp_quit(s->s);
    mail_remote_close(s->remote);
    free(s);
}

/* Failures to reach the server are temporary for sending: the network or
 * the server will be back, and the message must wait, not be lost. */
static void reach_is_temporary(struct mail_error *err)
{
    if (err->kind == MAIL_ERR_HOST || err->kind == MAIL_ERR_UNAVAIL ||
        err->kind == MAIL_ERR_PROTOCOL)
        err->kind = MAIL_ERR_TEMP;
}

/* A source of credentials other than ~/.netrc and the terminal: a
 * failure from it is its own error ("run mail auth again"), not "no
 * password available". */
static bool has_credentials(const struct mail_account *a)
{
    return a->password_command || a->password || mail_account_uses_oauth2(a);
}

/* Log in when the server offers AUTH.  -1 with err; a missing password
 * source marks the sender no_password (and unreachable: ask once). */
static int sender_login(struct mail_sender *snd, struct mail_error *err)
{
    const struct mail_account *a = snd->o.acct;
    struct mail_buf pw = MAIL_BUF_INIT;
    struct mail_error perr;
    int rc;

    mail_error_clear(&perr);
    if (mail_account_password(a, snd->srv.host, snd->srv.user, snd->o.prompt,
                              snd->o.prompt_arg, &pw, &perr) < 0) {
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
        mail_buf_release_secret(&pw);
        return -1;
    }
    rc = mail_smtp_login(snd->s, pw.data ? pw.data : "", err);
    mail_buf_release_secret(&pw);
    if (rc < 0 && err->kind != MAIL_ERR_AUTH && err->kind != MAIL_ERR_TLS)
        reach_is_temporary(err);
    return rc;
}

static int sender_open(struct mail_sender *snd, struct mail_error *err)
{
    const struct mail_account *a = snd->o.acct;

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
    snd->srv.trace = snd->o.trace;
    snd->srv.trace_arg = snd->o.trace_arg;
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
        if (sender_login(snd, err) < 0)
            goto fail;
    } else if (has_credentials(a) && !mail_conn_is_tls(snd->s->conn) &&
               snd->srv.tls != MAIL_TLS_NONE) {
        /* Unreachable in practice (open requires TLS), kept as a guard. */
        mail_error_set(err, MAIL_ERR_TLS, "%s: not encrypted", snd->s->name);
        goto fail;
    }
    return 0;
fail:
    mail_session_free(snd->s);
    snd->s = NULL;
    return -1;
}

static bool addr_is_ascii(const char *a)
{
    for (; *a; a++)
        if ((unsigned char)*a >= 0x80)
            return false;
    return true;
}

/*
 * What the message needs from the server: re-encoded to 7 bits in a new
 * temporary file (*tmp, then *fd and *off point there) when it has 8-bit
 * text the server cannot take or lines too long; *smtputf8 when an
 * address needs SMTPUTF8.  Fills *info for the message that goes.
 */
static int fit_message(struct mail_sender *snd, int *fd, off_t *off,
                       const struct mail_send_envelope *env, int *tmp,
                       struct mail_message_info *info, bool *smtputf8,
                       struct mail_error *err)
{
    bool has8 = mail_session_has_cap(snd->s, "8BITMIME");
    bool hasutf8 = mail_session_has_cap(snd->s, "SMTPUTF8") && has8;
    bool addr_utf8 = !addr_is_ascii(env->from);
    struct mail_fd_sink fs = { .fd = -1 };
    int flags = 0;

    if (mail_message_scan(*fd, *off, info, err) < 0)
        return -1;
    for (size_t i = 0; i < env->nrcpts; i++)
        addr_utf8 |= !addr_is_ascii(env->rcpts[i]);
    if (addr_utf8 && !hasutf8)
        return mail_error_set(err, MAIL_ERR_DATA, "%s: an address is not "
                              "ASCII and the server does not offer "
                              "SMTPUTF8", snd->s->name);
    /* 8-bit header text goes as encoded words even when the server
     * offers SMTPUTF8: a later hop may not (Postfix to an LMTP without it
     * bounces).  SMTPUTF8 is used only when an address needs it. */
    if (info->header_8bit)
        flags |= MAIL_7BIT_HEADERS;
    if ((info->body_8bit && !has8) || info->body_binary || info->long_lines)
        flags |= MAIL_7BIT_BODY;
    *smtputf8 = (info->header_8bit || addr_utf8) && hasutf8;
    if (!flags)
        return 0;
    if ((*tmp = mail_spool_tmpfile(snd->o.acct->paths, err)) < 0)
        return -1;
    fs.fd = *tmp;
    if (mail_message_to_7bit(*fd, *off, flags, mail_fd_sink_write, &fs,
                             err) < 0) {
        if (err->kind != MAIL_ERR_DATA || !hasutf8 ||
            (flags & MAIL_7BIT_BODY))
            return -1;
        /* An address in the header is not ASCII: that is what SMTPUTF8
         * is for; send the message as it is. */
        close(*tmp);
        *tmp = -1;
        mail_error_clear(err);
        *smtputf8 = true;
        return 0;
    }
    mail_conn_note(snd->s->conn, "re-encoded the message to 7 bits for "
                   "this server");
    *fd = *tmp;
    *off = 0;
    return mail_message_scan(*fd, *off, info, err);
}

/* MAIL FROM and RCPT TO; the recipients not taken are reported and
 * sorted into later and refused. */
static int send_envelope(struct mail_sender *snd,
                         const struct mail_send_envelope *env,
                         const struct mail_message_info *info,
                         bool smtputf8, struct attempt *out)
{
    struct mail_smtp_envelope e;
    struct mail_smtp_rcpt *rv = calloc(env->nrcpts ? env->nrcpts : 1,
                                       sizeof *rv);
    int rc;

    if (!rv)
        return mail_error_set(&out->err, MAIL_ERR_INTERNAL, "out of memory");
    for (size_t i = 0; i < env->nrcpts; i++)
        rv[i].addr = env->rcpts[i];
    memset(&e, 0, sizeof e);
    e.from = env->from;
    e.rcpts = rv;
    e.nrcpts = env->nrcpts;
    e.size = info->wire_size;
    e.body_8bit = info->body_8bit;
    e.smtputf8 = smtputf8;
    rc = mail_smtp_envelope(snd->s, &e, &out->err);
    for (size_t i = 0; i < env->nrcpts; i++) {
        struct mail_send_event ev = {
            .kind = MAIL_SEND_EV_RCPT, .addr = env->rcpts[i],
            .reply = rv[i].reply, .temporary = rv[i].temporary,
        };

        if (rv[i].accepted || !rv[i].code)
            continue;
        emit(snd, &ev);
        if (rv[i].temporary
            ? push_str(&out->later, &out->nlater, &out->later_alloc,
                       env->rcpts[i]) < 0
            : push_str(&out->refused, &out->nrefused, &out->refused_alloc,
                       env->rcpts[i]) < 0)
            rc = mail_error_set(&out->err, MAIL_ERR_INTERNAL,
                                "out of memory");
    }
    free(rv);
    return rc;
}

/* DATA, the message, the final dot and its reply. */
static int send_data(struct mail_sender *snd, int fd, off_t off,
                     struct attempt *out)
{
    struct mail_error *err = &out->err;
    struct mail_buf reply = MAIL_BUF_INIT;
    struct mail_smtp_data d;
    bool dot = false;

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
        out->nlater = 0;
        mail_buf_release(&reply);
        return -1;
    }
    mail_strlcpy(out->reply, reply.data ? reply.data : "", sizeof out->reply);
    mail_buf_release(&reply);
    out->delivered = true;
    return 0;
}

/*
 * Send one message (fd from offset) over snd, re-encoding it to 7 bits
 * first when the server needs that.  Fills out; returns 0 when the
 * server took it (for at least one recipient), -1 otherwise.
 */
static int deliver(struct mail_sender *snd, int fd, off_t off,
                   const struct mail_send_envelope *env, struct attempt *out)
{
    struct mail_error *err = &out->err;
    struct mail_message_info info;
    bool smtputf8 = false;
    int tmp = -1, rc = -1;

    memset(out, 0, sizeof *out);
    mail_error_clear(err);
    if (sender_open(snd, err) < 0)
        return -1;
    if (fit_message(snd, &fd, &off, env, &tmp, &info, &smtputf8, err) == 0 &&
        send_envelope(snd, env, &info, smtputf8, out) == 0)
        rc = send_data(snd, fd, off, out);
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
    if (tmp >= 0)
        close(tmp);
    return rc;
}

/* ---- the queue ---- */

/* Put the message in the queue for these recipients; reports it.
 * sent_copy: the flush that sends it files the Sent copy (with bcc) and
 * collects the recipients (a message not delivered to anyone yet).
 * Returns MAIL_OK, or the kind of the failure (reported). */
static enum mail_error_kind queue_message(struct mail_sender *snd, int fd,
                                          off_t off, const char *from,
                                          const char *const *rcpts, size_t n,
                                          bool sent_copy,
                                          const struct mail_buf *bcc,
                                          const struct mail_error *why)
{
    struct mail_error err;
    char *dir, *id = NULL;

    mail_error_clear(&err);
    dir = mail_queue_default_dir(snd->o.acct->paths, &err);
    if (!dir || mail_queue_add_sent(dir, snd->o.acct->name, from, rcpts, n,
                                    sent_copy, bcc, fd, off, &id,
                                    &err) < 0) {
        free(dir);
        mail_error_prefix(&err, "cannot queue the message");
        emit_err(snd, MAIL_SEND_EV_ERROR, NULL, &err);
        return err.kind ? err.kind : MAIL_ERR_INTERNAL;
    }
    emit_err(snd, MAIL_SEND_EV_QUEUED, id, why);
    free(dir);
    free(id);
    return MAIL_OK;
}

/* A new held entry (mail_queue_add_held's place: DIR/held/) that keeps
 * the message's Sent copy (sent_copy, bcc) for the send that may follow:
 * no copy until the message is known to be sent; when the user moves it
 * back into the queue, the flush that sends it files the copy, as for
 * any queued message. */
static int add_held(const char *dir, const char *account,
                    const struct mail_send_envelope *env, int fd, off_t off,
                    char **path, struct mail_error *err)
{
    struct mail_buf held = MAIL_BUF_INIT;
    char *id = NULL;
    int rc = -1;

    if (mail_buf_printf(&held, "%s/held", dir) < 0) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto done;
    }
    if (mail_queue_add_sent(held.data, account, env->from, env->rcpts,
                            env->nrcpts, env->save_sent, env->bcc, fd, off,
                            &id, err) < 0)
        goto done;
    if (mail_buf_printf(&held, "/%s", id) < 0 ||
        !(*path = mail_buf_detach(&held))) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto done;
    }
    rc = 0;
done:
    free(id);
    mail_buf_release(&held);
    return rc;
}

/* No reply after the final dot: keep the message where no flush sends it
 * again by itself (e: a queued one, its Sent copy mark kept), and say so.
 * No Sent copy now: it follows the send, if the user retries it.  Always
 * MAIL_ERR_TEMP. */
static enum mail_error_kind hold_unknown(struct mail_sender *snd, int fd,
                                         off_t off,
                                         const struct mail_send_envelope *env,
                                         struct mail_queue_entry *e)
{
    struct mail_error err;
    char *dir = NULL, *path = NULL;
    int r;

    mail_error_clear(&err);
    if (e) {
        r = mail_queue_hold(e, &path, &err);
    } else {
        dir = mail_queue_default_dir(snd->o.acct->paths, &err);
        r = dir ? add_held(dir, snd->o.acct->name, env, fd, off, &path, &err)
                : -1;
    }
    if (r < 0) {
        mail_error_prefix(&err, "no reply after the end of the message: it "
                          "may or may not have been delivered; it could not "
                          "be kept");
        emit_err(snd, MAIL_SEND_EV_ERROR, NULL, &err);
    } else {
        emit_err(snd, MAIL_SEND_EV_HELD, path, NULL);
    }
    free(dir);
    free(path);
    return MAIL_ERR_TEMP;
}

/* The account's IMAP server for Sent copies (not connected yet), or
 * NULL when it has none. */
static struct mail_remote *sender_remote(struct mail_sender *snd)
{
    struct mail_remote_opts ro = {
        .prompt = snd->o.prompt, .prompt_arg = snd->o.prompt_arg,
        .trace = snd->o.imap_trace, .trace_arg = snd->o.imap_trace_arg,
    };

    if (!snd->remote && snd->o.acct->has_imap)
        snd->remote = mail_remote_new(snd->o.acct, &ro, NULL);
    return snd->remote;
}

/* File the copies an earlier run could not file (once per sender); a
 * failure is a warning, the records stay. */
static void flush_pending_copies(struct mail_sender *snd)
{
    struct mail_error err;
    char *where = NULL;
    size_t filed = 0;

    if (snd->pending_tried)
        return;
    snd->pending_tried = true;
    mail_error_clear(&err);
    if (mail_sent_flush_pending(snd->o.acct, sender_remote(snd), &filed,
                                &where, &err) == 0) {
        if (filed)
            emit_err(snd, MAIL_SEND_EV_COPY_FILED, where, NULL);
        free(where);
        return;
    }
    emit_err(snd, MAIL_SEND_EV_COPY_FAILED,
             where ? where : "the sent folder", &err);
    free(where);
}

/* Copy a sent message to the sent folder; a failure is reported, never
 * made a failure of the send (a script would send it again). */
static void save_sent(struct mail_sender *snd, int fd, off_t off,
                      const struct mail_buf *bcc)
{
    struct mail_error err;
    char *where = NULL;
    struct mail_remote *rem;

    mail_error_clear(&err);
    if (mail_sent_kind(snd->o.acct, NULL) == MAIL_SENT_IMAP) {
        flush_pending_copies(snd);   /* older copies first */
        rem = sender_remote(snd);
        if (!rem)
            mail_error_set(&err, MAIL_ERR_CONFIG, "sent-folder '%s' is on "
                           "the IMAP server, but account '%s' has no imap "
                           "server", snd->o.acct->sent_folder ?
                           snd->o.acct->sent_folder : "imap:",
                           snd->o.acct->name);
        else if (mail_sent_copy_imap(rem, fd, off, bcc, &where, &err) == 0)
            return;
    } else if (mail_sent_save(snd->o.acct, fd, off, bcc, &where,
                              &err) == 0) {
        return;
    }
    emit_err(snd, MAIL_SEND_EV_COPY_FAILED,
             where ? where : "the sent folder", &err);
    free(where);
}

void mail_send_outcome_release(struct mail_send_outcome *oc)
{
    free(oc->refused);
    oc->refused = NULL;
    oc->nrefused = 0;
}

/* A message the server took, for the first time: the address book
 * learns its recipients, and its copy goes to the sent folder (also for
 * a queued message when the flush sends it). */
static void after_sent(struct mail_sender *snd, int fd, off_t off,
                       const struct mail_send_envelope *env,
                       const struct attempt *a)
{
    (void)mail_addrbook_collect_sent(snd->o.acct->paths, fd, off,
                                     env->rcpts, env->nrcpts, a->refused,
                                     a->nrefused, env->bcc, NULL);
    save_sent(snd, fd, off, env->bcc);
}

/* The message was taken: the copy, then its deferred recipients. */
static enum mail_error_kind after_delivery(struct mail_sender *snd, int fd,
                                           off_t off,
                                           const struct mail_send_envelope *env,
                                           const struct attempt *a)
{
    enum mail_error_kind st = MAIL_OK;

    if (env->save_sent)
        after_sent(snd, fd, off, env, a);
    if (a->nlater) {
        struct mail_error why;

        /* The copy is filed now: the recipients left for later do not
         * make a second one when the queue sends to them. */
        mail_error_set(&why, MAIL_ERR_TEMP, "%zu recipient(s) deferred",
                       a->nlater);
        st = snd->o.queue ? queue_message(snd, fd, off, env->from, a->later,
                                          a->nlater, false, NULL, &why)
                          : MAIL_ERR_TEMP;
    }
    if (a->nrefused && st == MAIL_OK)
        st = MAIL_ERR_RECIPIENT;
    return st;
}

/* The message was not taken: held, queued, or failed. */
static enum mail_error_kind after_failure(struct mail_sender *snd, int fd,
                                          off_t off,
                                          const struct mail_send_envelope *env,
                                          const struct attempt *a)
{
    enum mail_error_kind st;

    if (a->unknown)
        return hold_unknown(snd, fd, off, env, NULL);
    if ((a->err.kind == MAIL_ERR_TEMP || snd->no_password) && snd->o.queue)
        return queue_message(snd, fd, off, env->from, env->rcpts,
                             env->nrcpts, env->save_sent, env->bcc, &a->err);
    emit_err(snd, MAIL_SEND_EV_FAILED, NULL, &a->err);
    st = a->err.kind ? a->err.kind : MAIL_ERR_INTERNAL;
    /* Some refused for good, the rest only for now: those wait (and get
     * the copy when they are sent: nobody has the message yet). */
    if (a->nlater && snd->o.queue &&
        queue_message(snd, fd, off, env->from, a->later, a->nlater,
                      env->save_sent, env->bcc, &a->err) != MAIL_OK)
        st = MAIL_ERR_TEMP;
    return st;
}

int mail_send_message(struct mail_sender *snd, int fd, off_t off,
                      const struct mail_send_envelope *env,
                      struct mail_send_outcome *oc)
{
    struct attempt a;
    int rc = deliver(snd, fd, off, env, &a);

    memset(oc, 0, sizeof *oc);
    oc->delivered = a.delivered;
    oc->unknown = a.unknown;
    oc->ndeferred = a.nlater;
    mail_strlcpy(oc->reply, a.reply, sizeof oc->reply);
    oc->status = rc == 0 ? after_delivery(snd, fd, off, env, &a)
                         : after_failure(snd, fd, off, env, &a);
    oc->refused = a.refused;
    oc->nrefused = a.nrefused;
    a.refused = NULL;
    attempt_release(&a);
    return rc;
}

/* One queued message of the account.  Returns true to go on with the
 * next; *worst gets the kind to report. */
static bool flush_one(struct mail_sender *snd, const char *dir,
                      struct mail_queue_entry *e, bool explicit_flush,
                      enum mail_error_kind *worst)
{
    struct mail_send_envelope env = {
        .from = e->from, .rcpts = (const char *const *)e->rcpts,
        .nrcpts = e->nrcpts, .save_sent = e->sent_copy,
        .bcc = e->bcc.len ? &e->bcc : NULL,
    };
    struct mail_error err;
    struct attempt a;

    mail_error_clear(&err);
    if (deliver(snd, e->fd, e->offset, &env, &a) == 0) {
        /* Sent for the first time: its copy and the address book, as a
         * send does (never for the rest of a message delivered before,
         * whose entry is not marked). */
        if (e->sent_copy)
            after_sent(snd, e->fd, e->offset, &env, &a);
        if (a.nlater) {
            /* The rest waits, as a new queue entry, without a copy of
             * its own: this one is filed. */
            char *id = NULL;

            if (mail_queue_add(dir, e->account, e->from, a.later, a.nlater,
                               e->fd, e->offset, &id, &err) < 0) {
                emit_err(snd, MAIL_SEND_EV_ERROR, NULL, &err);
                *worst = err.kind;
            }
            free(id);
        }
        if (mail_queue_done(e, &err) < 0) {
            emit_err(snd, MAIL_SEND_EV_ERROR, NULL, &err);
            *worst = err.kind;
        }
        emit_err(snd, MAIL_SEND_EV_FLUSHED, e->name, NULL);
        if (a.nrefused && *worst == MAIL_OK)
            *worst = MAIL_ERR_RECIPIENT;
        attempt_release(&a);
        return true;
    }
    if (a.unknown) {
        *worst = hold_unknown(snd, -1, 0, NULL, e);
        attempt_release(&a);
        return false;
    }
    if (a.err.kind == MAIL_ERR_TEMP || a.err.kind == MAIL_ERR_AUTH ||
        a.err.kind == MAIL_ERR_TLS || a.err.kind == MAIL_ERR_CONFIG) {
        /* Not the message's fault: it stays; so do the others. */
        mail_queue_entry_release(e);
        if (explicit_flush)
            emit_err(snd, MAIL_SEND_EV_ERROR, NULL, &a.err);
        *worst = a.err.kind;
        attempt_release(&a);
        return false;
    }
    /* Refused for good: keep it aside, never lose it. */
    emit_err(snd, MAIL_SEND_EV_QUEUE_FAILED, e->name, &a.err);
    *worst = a.err.kind;
    mail_queue_fail(e, NULL);
    attempt_release(&a);
    return true;
}

enum mail_error_kind mail_send_flush_queue(struct mail_sender *snd,
                                           bool explicit_flush)
{
    enum mail_error_kind worst = MAIL_OK;
    struct mail_error err;
    char **names = NULL;
    size_t n = 0;
    char *dir;

    mail_error_clear(&err);
    flush_pending_copies(snd);
    dir = mail_queue_default_dir(snd->o.acct->paths, &err);
    if (!dir) {
        if (!explicit_flush)
            return MAIL_OK;
        emit_err(snd, MAIL_SEND_EV_ERROR, NULL, &err);
        return err.kind;
    }
    if (mail_queue_list(dir, &names, &n, &err) < 0) {
        free(dir);
        emit_err(snd, MAIL_SEND_EV_ERROR, NULL, &err);
        return err.kind;
    }
    for (size_t i = 0; i < n; i++) {
        struct mail_queue_entry e;
        int r = mail_queue_open(dir, names[i], &e, &err);

        if (r == 1)
            continue;
        if (r < 0) {
            emit_err(snd, MAIL_SEND_EV_ERROR, NULL, &err);
            worst = err.kind;
            continue;
        }
        if (strcmp(e.account, snd->o.acct->name) != 0) {
            mail_queue_entry_release(&e);
            continue;
        }
        if (!flush_one(snd, dir, &e, explicit_flush, &worst))
            break;
    }
    mail_queue_names_free(names, n);
    free(dir);
    return worst;
}
