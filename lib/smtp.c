/*
 * smtp.c - SMTP submission client; see mail/smtp.h.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail/smtp.h"

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

void mail_smtp_quit(struct mail_session *s)
{
    struct mail_reply r;

    if (!s)
        return;
    mail_reply_init(&r);
    if (mail_conn_printf(s->conn, NULL, "QUIT\r\n") == 0)
        mail_session_read_reply(s, &r, NULL);
    mail_reply_release(&r);
    mail_session_free(s);
}
