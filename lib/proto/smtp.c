/*
 * smtp.c - SMTP submission client; see mail/smtp.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail/smtp.h"
#include "mail/termsafe.h"

/*
 * Timeouts (RFC 5321 4.5.3.2): connecting, the greeting, EHLO, STARTTLS
 * and AUTH wait the account's timeout; the mail transaction waits at
 * least what the RFC asks of a client, and the account's timeout when
 * that is longer: MAIL and RCPT 5 minutes, DATA 2 minutes, each block of
 * data 3 minutes, and the reply to the final dot 10 minutes (a server
 * that runs content filters takes its time then, and giving up early
 * only leaves the message's fate unknown).
 */
#define SMTP_TIMEOUT_ENVELOPE 300  /* MAIL, RCPT (DATA's 2 min is less) */
#define SMTP_TIMEOUT_BLOCK 180     /* each write of the message */
#define SMTP_TIMEOUT_DOT 600       /* the reply to the final dot */

static int account_timeout(const struct mail_session *s)
{
    return s->srv->timeout > 0 ? s->srv->timeout : 30;
}

/* Waits of the connection from now on: at least rfc seconds. */
static void phase_timeout(struct mail_session *s, int rfc)
{
    int t = account_timeout(s);

    mail_conn_set_timeout(s->conn, t > rfc ? t : rfc);
}

static void restore_timeout(struct mail_session *s)
{
    mail_conn_set_timeout(s->conn, account_timeout(s));
}

/* Commands in flight at most when pipelining (RFC 2920 5: the client must
 * not fill the server's receive window while it is not reading ours). */
#define SMTP_PIPELINE_WINDOW 100

/* Capabilities from an EHLO reply: every line after the first. */
static int smtp_parse_ehlo(struct mail_session *s, const struct mail_reply *r,
                           struct mail_error *err)
{
    const char *nl = r->text.data ? strchr(r->text.data, '\n') : NULL;
    char mechs[1024];

    mail_buf_reset(&s->caps);
    mail_buf_reset(&s->mechs);
    if (nl && mail_buf_addstr(&s->caps, nl + 1) < 0)
        return mail_error_set(err, MAIL_ERR_PROTOCOL,
                              "%s: EHLO reply too large", s->name);
    /* "AUTH PLAIN LOGIN", or the pre-standard "AUTH=PLAIN LOGIN". */
    if (mail_session_cap_value(s, "AUTH", mechs, sizeof mechs))
        mail_buf_addstr(&s->mechs, mechs);
    return 0;
}

static void ehlo_name_default(char *buf, size_t size)
{
    if (gethostname(buf, size) < 0 || !strchr(buf, '.'))
        mail_strlcpy(buf, "localhost", size);
    buf[size - 1] = '\0';
}

static int smtp_ehlo(struct mail_session *s, const char *name,
                     struct mail_reply *r, struct mail_error *err)
{
    if (mail_conn_printf(s->conn, err, "EHLO %s\r\n", name) < 0 ||
        mail_session_read_reply(s, r, err) < 0)
        return -1;
    if (r->status == MAIL_REPLY_OK)
        return smtp_parse_ehlo(s, r, err);
    /* An old server without ESMTP: HELO is only acceptable when we need
     * nothing from extensions before logging in, i.e. no STARTTLS. */
    if (s->srv->tls == MAIL_TLS_STARTTLS && !mail_conn_is_tls(s->conn))
        return mail_session_reply_error(s, r, MAIL_ERR_TLS,
                                        "EHLO refused, so STARTTLS is "
                                        "impossible", err);
    if (mail_conn_printf(s->conn, err, "HELO %s\r\n", name) < 0 ||
        mail_session_read_reply(s, r, err) < 0)
        return -1;
    if (r->status != MAIL_REPLY_OK)
        return mail_session_reply_error(s, r, MAIL_ERR_UNAVAIL, "HELO", err);
    mail_buf_reset(&s->caps);
    mail_buf_reset(&s->mechs);
    return 0;
}

struct mail_session *mail_smtp_open(const struct mail_server *srv,
                                    const char *ehlo_name,
                                    struct mail_error *err)
{
    struct mail_session *s = mail_session_connect(srv, err);
    struct mail_reply r;
    char host[256];

    if (!s)
        return NULL;
    mail_reply_init(&r);
    if (!ehlo_name) {
        ehlo_name_default(host, sizeof host);
        ehlo_name = host;
    }
    if (mail_session_read_reply(s, &r, err) < 0)
        goto fail;
    if (r.code != 220) {
        mail_session_reply_error(s, &r, MAIL_ERR_UNAVAIL,
                                 "the server refused the connection", err);
        goto fail;
    }
    mail_buf_add(&s->greeting, r.text.data, r.text.len);
    if (smtp_ehlo(s, ehlo_name, &r, err) < 0)
        goto fail;
    if (srv->tls == MAIL_TLS_STARTTLS) {
        if (!mail_session_has_cap(s, "STARTTLS")) {
            mail_error_set(err, MAIL_ERR_TLS,
                           "%s: STARTTLS not offered by the server (refusing "
                           "to continue without TLS)", s->name);
            goto fail;
        }
        if (mail_conn_printf(s->conn, err, "STARTTLS\r\n") < 0 ||
            mail_session_read_reply(s, &r, err) < 0)
            goto fail;
        if (r.code != 220) {
            mail_session_reply_error(s, &r, MAIL_ERR_TLS, "STARTTLS refused",
                                     err);
            goto fail;
        }
        if (mail_conn_start_tls(s->conn, err) < 0)
            goto fail;
        /* Forget everything learnt in clear text (RFC 3207 4.2). */
        if (smtp_ehlo(s, ehlo_name, &r, err) < 0)
            goto fail;
    }
    mail_reply_release(&r);
    return s;
fail:
    mail_reply_release(&r);
    mail_session_free(s);
    return NULL;
}

int mail_smtp_login(struct mail_session *s, const char *secret,
                    struct mail_error *err)
{
    if (!mail_session_has_cap(s, "AUTH")) {
        if (!secret)
            return 0;
        return mail_error_set(err, MAIL_ERR_AUTH,
                              "%s: the server offers no authentication (no "
                              "AUTH in its EHLO reply)", s->name);
    }
    if (!secret)
        return 0;
    return mail_session_auth(s, secret, err);
}

uint64_t mail_smtp_size_limit(const struct mail_session *s)
{
    char v[32];
    char *end;
    unsigned long long n;

    if (!mail_session_cap_value(s, "SIZE", v, sizeof v) || !v[0])
        return 0;
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno || *end != '\0')
        return 0;
    return n;
}

/* An address that goes into "MAIL FROM:<%s>" or "RCPT TO:<%s>": no
 * control characters (CR LF would inject a command), no blanks or angle
 * brackets outside a quoted local part. */
static int check_envelope_addr(const char *a, bool utf8, bool *nonascii,
                               struct mail_error *err)
{
    bool quoted = false;

    for (const unsigned char *p = (const unsigned char *)a; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            goto bad;
        if (*p >= 0x80)
            *nonascii = true;
        if (*p == '"')
            quoted = !quoted;
        else if (*p == '\\' && quoted && p[1])
            p++;
        else if (!quoted && (*p == ' ' || *p == '<' || *p == '>'))
            goto bad;
    }
    if (*nonascii && !utf8)
        return mail_error_set(err, MAIL_ERR_DATA, "address %.200s is not "
                              "ASCII: it needs SMTPUTF8", a);
    return 0;
bad:
    {
        struct mail_buf q = MAIL_BUF_INIT;

        mail_term_safe(&q, a, strlen(a) > 200 ? 200 : strlen(a),
                       MAIL_SAFE_ONELINE);
        mail_error_set(err, MAIL_ERR_USAGE, "bad address '%s'",
                       q.data ? q.data : "");
        mail_buf_release(&q);
    }
    return -1;
}

/* The reply made one safe line for a per-recipient report. */
static void reply_line(const struct mail_reply *r, char *out, size_t size)
{
    struct mail_buf q = MAIL_BUF_INIT;
    size_t len = r->text.len > 200 ? 200 : r->text.len;

    mail_buf_printf(&q, "%d ", r->code);
    mail_term_safe(&q, r->text.data ? r->text.data : "", len,
                   MAIL_SAFE_ONELINE);
    if (len < r->text.len)
        mail_buf_addstr(&q, "...");
    mail_strlcpy(out, q.data ? q.data : "", size);
    mail_buf_release(&q);
}

static int smtp_command(struct mail_session *s, struct mail_smtp_envelope *env,
                        size_t i, struct mail_error *err)
{
    if (i == 0) {
        struct mail_buf cmd = MAIL_BUF_INIT;
        int rc;

        rc = mail_buf_printf(&cmd, "MAIL FROM:<%s>", env->from);
        if (rc == 0 && env->size && mail_session_has_cap(s, "SIZE"))
            rc = mail_buf_printf(&cmd, " SIZE=%llu",
                                 (unsigned long long)env->size);
        if (rc == 0 && env->body_8bit)
            rc = mail_buf_addstr(&cmd, " BODY=8BITMIME");
        if (rc == 0 && env->smtputf8)
            rc = mail_buf_addstr(&cmd, " SMTPUTF8");
        if (rc == 0)
            rc = mail_buf_addstr(&cmd, "\r\n");
        if (rc < 0) {
            mail_buf_release(&cmd);
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        }
        rc = mail_conn_write(s->conn, cmd.data, cmd.len, err);
        mail_buf_release(&cmd);
        return rc;
    }
    if (i <= env->nrcpts)
        return mail_conn_printf(s->conn, err, "RCPT TO:<%s>\r\n",
                                env->rcpts[i - 1].addr);
    return mail_conn_printf(s->conn, err, "DATA\r\n");
}

int mail_smtp_rset(struct mail_session *s, struct mail_error *err)
{
    struct mail_reply r;
    int rc = 0;

    mail_reply_init(&r);
    restore_timeout(s);
    if (mail_conn_printf(s->conn, err, "RSET\r\n") < 0 ||
        mail_conn_flush(s->conn, err) < 0 ||
        mail_session_read_reply(s, &r, err) < 0)
        rc = -1;
    else if (r.status != MAIL_REPLY_OK)
        rc = mail_session_reply_error(s, &r, MAIL_ERR_UNAVAIL, "RSET", err);
    mail_reply_release(&r);
    return rc;
}

int mail_smtp_envelope(struct mail_session *s, struct mail_smtp_envelope *env,
                       struct mail_error *err)
{
    bool pipelining = mail_session_has_cap(s, "PIPELINING");
    size_t window = pipelining ? SMTP_PIPELINE_WINDOW : 1;
    size_t total = env->nrcpts + 2;   /* MAIL, RCPT..., DATA */
    size_t sent = 0, got = 0, accepted = 0, temp = 0;
    uint64_t limit = mail_smtp_size_limit(s);
    bool nonascii = false, stop = false, data_open = false;
    struct mail_reply r;
    struct mail_error mail_err, data_err;
    int rc = -1;

    if (env->nrcpts == 0)
        return mail_error_set(err, MAIL_ERR_USAGE, "no recipients");
    if (limit && env->size > limit)
        return mail_error_set(err, MAIL_ERR_UNAVAIL,
                              "%s: the message (%llu bytes) is larger than "
                              "the server accepts (SIZE %llu bytes)", s->name,
                              (unsigned long long)env->size,
                              (unsigned long long)limit);
    if (env->body_8bit && !mail_session_has_cap(s, "8BITMIME"))
        return mail_error_set(err, MAIL_ERR_DATA, "%s: the message needs "
                              "8BITMIME, which the server does not offer",
                              s->name);
    if (env->smtputf8 && !mail_session_has_cap(s, "SMTPUTF8"))
        return mail_error_set(err, MAIL_ERR_DATA, "%s: the message needs "
                              "SMTPUTF8, which the server does not offer",
                              s->name);
    if (check_envelope_addr(env->from, env->smtputf8, &nonascii, err) < 0)
        return -1;
    for (size_t i = 0; i < env->nrcpts; i++) {
        struct mail_smtp_rcpt *rc_ = &env->rcpts[i];

        rc_->accepted = rc_->temporary = false;
        rc_->code = 0;
        rc_->reply[0] = '\0';
        if (check_envelope_addr(rc_->addr, env->smtputf8, &nonascii, err) < 0)
            return -1;
    }

    mail_reply_init(&r);
    mail_error_clear(&mail_err);
    mail_error_clear(&data_err);
    phase_timeout(s, SMTP_TIMEOUT_ENVELOPE);
    /* A send cursor and a receive cursor over MAIL, RCPT..., DATA.
     * Without PIPELINING the window is one command, and we stop as soon
     * as the answers make the rest pointless. */
    while (got < total) {
        while (!stop && sent < total && sent - got < window) {
            /* Without pipelining, DATA only when someone was accepted. */
            if (!pipelining && sent == total - 1 && accepted == 0) {
                stop = true;
                break;
            }
            if (smtp_command(s, env, sent, err) < 0)
                goto done;
            sent++;
        }
        if (got == sent)
            break;
        if (mail_conn_flush(s->conn, err) < 0 ||
            mail_session_read_reply(s, &r, err) < 0)
            goto done;
        if (got == 0) {
            if (r.status != MAIL_REPLY_OK) {
                char what[300];

                snprintf(what, sizeof what, "sender <%.200s> refused",
                         env->from);
                mail_session_reply_error(s, &r, MAIL_ERR_UNAVAIL, what,
                                         &mail_err);
                if (!pipelining)
                    stop = true;
            }
        } else if (got <= env->nrcpts) {
            struct mail_smtp_rcpt *rc_ = &env->rcpts[got - 1];

            /* After a refused MAIL FROM the replies say nothing about
             * the recipients (503): leave them unanswered. */
            if (mail_err.kind != MAIL_OK) {
                got++;
                continue;
            }
            rc_->code = r.code;
            if (r.status == MAIL_REPLY_OK) {
                rc_->accepted = true;
                accepted++;
            } else {
                rc_->temporary = r.temporary;
                temp += rc_->temporary;
                reply_line(&r, rc_->reply, sizeof rc_->reply);
            }
        } else {
            if (r.code == 354) {
                data_open = true;
            } else {
                mail_session_reply_error(s, &r, MAIL_ERR_UNAVAIL,
                                         "DATA refused", &data_err);
            }
        }
        got++;
    }

    if (data_open && (accepted == 0 || mail_err.kind != MAIL_OK)) {
        /* RFC 2920 3.1: the server opened DATA although nobody may
         * receive the message; end it empty, it will be refused. */
        if (mail_conn_printf(s->conn, err, ".\r\n") < 0 ||
            mail_conn_flush(s->conn, err) < 0 ||
            mail_session_read_reply(s, &r, err) < 0)
            goto done;
        data_open = false;
    }
    if (data_open) {
        rc = 0;
        goto done;
    }
    if (mail_err.kind != MAIL_OK) {
        *err = mail_err;
    } else if (accepted == 0) {
        if (temp == env->nrcpts)
            mail_error_set(err, MAIL_ERR_TEMP, "%s: every recipient was "
                           "refused for now (try again later)", s->name);
        else
            mail_error_set(err, MAIL_ERR_RECIPIENT, "%s: every recipient "
                           "was refused", s->name);
    } else if (data_err.kind != MAIL_OK) {
        *err = data_err;
    } else {
        mail_error_set(err, MAIL_ERR_PROTOCOL, "%s: DATA was not answered",
                       s->name);
    }
    /* Leave the session ready for another message. */
    mail_smtp_rset(s, NULL);
done:
    /* The message's blocks go out with their own timeout. */
    if (rc == 0)
        phase_timeout(s, SMTP_TIMEOUT_BLOCK);
    else
        restore_timeout(s);
    mail_reply_release(&r);
    return rc;
}

/* ---- the data phase ---- */

enum { ST_BOL, ST_MID, ST_CR };

void mail_smtp_stuffer_init(struct mail_smtp_stuffer *st, mail_sink_fn sink,
                            void *ctx)
{
    st->sink = sink;
    st->ctx = ctx;
    st->state = ST_BOL;
    st->in_bytes = 0;
    st->outlen = 0;
}

static int stuff_flush(struct mail_smtp_stuffer *st, struct mail_error *err)
{
    int rc = 0;

    if (st->outlen)
        rc = st->sink(st->ctx, st->out, st->outlen, err);
    st->outlen = 0;
    return rc;
}

/* Queue n bytes for the sink, in pieces of at most sizeof st->out: a
 * run of any length (a 1 MB line) streams through the fixed buffer. */
static int stuff_put(struct mail_smtp_stuffer *st, const char *p, size_t n,
                     struct mail_error *err)
{
    while (n > 0) {
        size_t room = sizeof st->out - st->outlen, k;

        if (room == 0) {
            if (stuff_flush(st, err) < 0)
                return -1;
            room = sizeof st->out;
        }
        k = n < room ? n : room;
        memcpy(st->out + st->outlen, p, k);
        st->outlen += k;
        p += k;
        n -= k;
    }
    return 0;
}

/*
 * Line ends: CRLF stays CRLF, and a bare LF or a bare CR becomes CRLF.
 * Nothing but CRLF ever leaves as a line break, so no "\n.\n", "\r.\r",
 * "\r\n.\r" or "\n.\r\n" can reach a server that would take it for the
 * end of the data (SMTP smuggling, CVE-2023-51764 and its kin), and every
 * '.' that starts a line in any server's reading is doubled.
 */
int mail_smtp_stuff(struct mail_smtp_stuffer *st, const char *data,
                    size_t len, struct mail_error *err)
{
    size_t i = 0;

    st->in_bytes += len;
    while (i < len) {
        char c = data[i];

        if (st->state == ST_CR) {
            /* The CR was held back: CRLF, or a bare CR made a line end. */
            if (stuff_put(st, "\r\n", 2, err) < 0)
                return -1;
            st->state = ST_BOL;
            if (c == '\n')
                i++;
            continue;   /* else c again, at the start of a line */
        }
        if (c == '\r') {
            st->state = ST_CR;
            i++;
            continue;
        }
        if (c == '\n') {
            if (stuff_put(st, "\r\n", 2, err) < 0)
                return -1;
            st->state = ST_BOL;
            i++;
            continue;
        }
        if (st->state == ST_BOL && c == '.' && stuff_put(st, ".", 1, err) < 0)
            return -1;
        /* The rest of the run up to the next CR or LF, in one go. */
        {
            size_t j = i;

            while (j < len && data[j] != '\r' && data[j] != '\n')
                j++;
            if (stuff_put(st, data + i, j - i, err) < 0)
                return -1;
            i = j;
        }
        st->state = ST_MID;
    }
    return 0;
}

int mail_smtp_stuff_end(struct mail_smtp_stuffer *st, struct mail_error *err)
{
    if (st->state == ST_CR || st->state == ST_MID) {
        if (stuff_put(st, "\r\n", 2, err) < 0)
            return -1;
    }
    st->state = ST_BOL;
    if (stuff_put(st, ".\r\n", 3, err) < 0)
        return -1;
    return stuff_flush(st, err);
}

static int data_sink(void *ctx, const char *data, size_t len,
                     struct mail_error *err)
{
    struct mail_smtp_data *d = ctx;

    return mail_conn_write_quiet(d->s->conn, data, len, err);
}

void mail_smtp_data_begin(struct mail_smtp_data *d, struct mail_session *s)
{
    d->s = s;
    d->outcome_unknown = false;
    d->dot_timeout = SMTP_TIMEOUT_DOT;
    mail_smtp_stuffer_init(&d->st, data_sink, d);
}

int mail_smtp_data_write(struct mail_smtp_data *d, const char *data,
                         size_t len, struct mail_error *err)
{
    return mail_smtp_stuff(&d->st, data, len, err);
}

int mail_smtp_data_write_fd(struct mail_smtp_data *d, int fd, off_t offset,
                            struct mail_error *err)
{
    char buf[65536];

    for (;;) {
        ssize_t n = pread(fd, buf, sizeof buf, offset);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return mail_error_set(err, MAIL_ERR_IO, "reading the message: %s",
                                  strerror(errno));
        if (n == 0)
            return 0;
        if (mail_smtp_data_write(d, buf, (size_t)n, err) < 0)
            return -1;
        offset += n;
    }
}

int mail_smtp_data_end(struct mail_smtp_data *d, struct mail_buf *reply,
                       struct mail_error *err)
{
    struct mail_session *s = d->s;
    struct mail_reply r;
    int rc = -1;

    d->outcome_unknown = false;
    if (mail_smtp_stuff_end(&d->st, err) < 0) {
        restore_timeout(s);
        return -1;
    }
    mail_conn_note(s->conn, "(message: %llu bytes)",
                   (unsigned long long)d->st.in_bytes);
    mail_reply_init(&r);
    /* A failed flush means the final dot never left: the server drops an
     * unfinished transaction, nothing was delivered. */
    if (mail_conn_flush(s->conn, err) < 0)
        goto done;
    phase_timeout(s, d->dot_timeout > 0 ? d->dot_timeout : SMTP_TIMEOUT_DOT);
    if (mail_session_read_reply(s, &r, err) < 0) {
        /* The whole message is out and the server said nothing (timed
         * out, or the connection broke): it may have taken it.  Say so,
         * so that the caller does not quietly send it a second time. */
        const char *cause = err ? err->msg : "";
        size_t nl = strlen(s->name);
        struct mail_buf why = MAIL_BUF_INIT;

        if (strncmp(cause, s->name, nl) == 0 && cause[nl] == ':')
            cause += nl + 1 + (cause[nl + 1] == ' ');
        mail_buf_addstr(&why, cause);
        d->outcome_unknown = true;
        mail_error_set(err, MAIL_ERR_TEMP, "%s: no reply after the end of "
                       "the message: it may or may not have been delivered"
                       "%s%s%s", s->name, why.len ? " (" : "",
                       why.data ? why.data : "", why.len ? ")" : "");
        mail_buf_release(&why);
        goto done;
    }
    if (r.status != MAIL_REPLY_OK) {
        mail_session_reply_error(s, &r, MAIL_ERR_UNAVAIL,
                                 "the message was refused", err);
        goto done;
    }
    if (reply)
        mail_term_safe(reply, r.text.data ? r.text.data : "", r.text.len,
                       MAIL_SAFE_ONELINE);
    rc = 0;
done:
    restore_timeout(s);
    mail_reply_release(&r);
    return rc;
}

void mail_smtp_quit(struct mail_session *s)
{
    mail_session_say_goodbye(s, "QUIT");
}
