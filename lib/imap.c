/*
 * imap.c - IMAP client; see mail/imap.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mail/imap.h"

#define IMAP_CAPS_MAX 4096

/* Replace the capability list with the atoms of `list` (space-separated,
 * up to ']' or the end). */
static void imap_set_caps(struct mail_session *s, const char *list)
{
    mail_buf_reset(&s->caps);
    mail_buf_reset(&s->mechs);
    while (*list && *list != ']') {
        size_t n = strcspn(list, " ]\r\n");

        if (n > 0 && n < IMAP_CAPS_MAX) {
            mail_buf_add(&s->caps, list, n);
            mail_buf_addch(&s->caps, '\n');
            if (n > 5 && mail_strncasecmp(list, "AUTH=", 5) == 0) {
                if (s->mechs.len)
                    mail_buf_addch(&s->mechs, ' ');
                mail_buf_add(&s->mechs, list + 5, n - 5);
            }
        }
        list += n;
        while (*list == ' ')
            list++;
        if (*list == '\r' || *list == '\n')
            break;
    }
}

/* Find capabilities in a reply: an untagged CAPABILITY line, or a
 * [CAPABILITY ...] response code in the text.  Returns 1 if found. */
static int imap_caps_from(struct mail_session *s, const char *text)
{
    const char *p;

    if (!text)
        return 0;
    for (p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (mail_strncasecmp(p, "CAPABILITY ", 11) == 0) {
            imap_set_caps(s, p + 11);
            return 1;
        }
        {
            /* "OK [CAPABILITY ...] text" */
            const char *b = strchr(p, '[');
            const char *eol = strchr(p, '\n');
            if (b && (!eol || b < eol) &&
                mail_strncasecmp(b + 1, "CAPABILITY ", 11) == 0) {
                imap_set_caps(s, b + 12);
                return 1;
            }
        }
    }
    return 0;
}

int mail_imap_command(struct mail_session *s, struct mail_reply *r,
                      struct mail_error *err, const char *fmt, ...)
{
    struct mail_buf cmd = MAIL_BUF_INIT;
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = mail_buf_vprintf(&cmd, fmt, ap);
    va_end(ap);
    if (rc < 0)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    rc = mail_imap_send(s, err, "%s", cmd.data);
    mail_buf_release(&cmd);
    if (rc < 0 || mail_session_read_reply(s, r, err) < 0)
        return -1;
    return 0;
}

static int imap_capability(struct mail_session *s, struct mail_reply *r,
                           struct mail_error *err)
{
    if (mail_imap_command(s, r, err, "CAPABILITY") < 0)
        return -1;
    if (r->status != MAIL_REPLY_OK)
        return mail_session_reply_error(s, r, MAIL_ERR_PROTOCOL,
                                        "CAPABILITY", err);
    if (!imap_caps_from(s, r->untagged.data) && !imap_caps_from(s, r->text.data))
        return mail_error_set(err, MAIL_ERR_PROTOCOL,
                              "%s: no CAPABILITY in the server's reply",
                              s->name);
    return 0;
}

struct mail_session *mail_imap_open(const struct mail_server *srv,
                                    struct mail_error *err)
{
    struct mail_session *s = mail_session_connect(srv, err);
    struct mail_reply r;
    const char *g;

    if (!s)
        return NULL;
    mail_reply_init(&r);
    s->curtag[0] = '\0';   /* read the greeting */
    if (mail_session_read_reply(s, &r, err) < 0)
        goto fail;
    g = r.untagged.data ? r.untagged.data : "";
    mail_buf_add(&s->greeting, g, strcspn(g, "\n"));
    if (mail_strncasecmp(g, "PREAUTH", 7) == 0) {
        if (srv->tls == MAIL_TLS_STARTTLS) {
            mail_error_set(err, MAIL_ERR_TLS,
                           "%s: the server greeted with PREAUTH before "
                           "STARTTLS, so TLS is impossible (refusing to "
                           "continue without it)", s->name);
            goto fail;
        }
        s->authenticated = true;
        s->login_method = "PREAUTH";
    } else if (mail_strncasecmp(g, "BYE", 3) == 0) {
        mail_buf_reset(&r.text);
        mail_buf_add(&r.text, g + 3, strcspn(g + 3, "\n"));
        mail_session_reply_error(s, &r, MAIL_ERR_UNAVAIL,
                                 "the server refused the connection", err);
        goto fail;
    } else if (mail_strncasecmp(g, "OK", 2) != 0) {
        mail_error_set(err, MAIL_ERR_PROTOCOL,
                       "%s: malformed IMAP greeting", s->name);
        goto fail;
    }
    if (!imap_caps_from(s, g) && imap_capability(s, &r, err) < 0)
        goto fail;
    if (srv->tls == MAIL_TLS_STARTTLS) {
        if (!mail_session_has_cap(s, "STARTTLS")) {
            mail_error_set(err, MAIL_ERR_TLS,
                           "%s: STARTTLS not offered by the server (refusing "
                           "to continue without TLS)", s->name);
            goto fail;
        }
        if (mail_imap_command(s, &r, err, "STARTTLS") < 0)
            goto fail;
        if (r.status != MAIL_REPLY_OK) {
            mail_session_reply_error(s, &r, MAIL_ERR_TLS, "STARTTLS refused",
                                     err);
            goto fail;
        }
        /* Capabilities from before TLS are not to be trusted (RFC 3501
         * 6.2.1): ask again. */
        if (mail_conn_start_tls(s->conn, err) < 0 ||
            imap_capability(s, &r, err) < 0)
            goto fail;
    }
    mail_reply_release(&r);
    return s;
fail:
    mail_reply_release(&r);
    mail_session_free(s);
    return NULL;
}

/* Append an IMAP string: quoted when it is plain printable ASCII, else a
 * literal (RFC 3501 4.3).  *literal is set when a literal was used. */
static int imap_astring(struct mail_buf *b, const char *s, bool *literal)
{
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c >= 0x7f) {
            *literal = true;
            return mail_buf_printf(b, "{%zu}\r\n", strlen(s));
        }
    }
    *literal = false;
    if (mail_buf_addch(b, '"') < 0)
        return -1;
    for (const char *p = s; *p; p++)
        if ((*p == '"' || *p == '\\') && mail_buf_addch(b, '\\') < 0)
            return -1;
        else if (mail_buf_addch(b, *p) < 0)
            return -1;
    return mail_buf_addch(b, '"');
}

/* LOGIN user password, with synchronizing literals where needed. */
static int imap_login_cmd(struct mail_session *s, const char *secret,
                          struct mail_error *err)
{
    struct mail_buf cmd = MAIL_BUF_INIT;
    struct mail_reply r;
    bool lit_user = false, lit_pass = false;
    size_t pass_at;
    int rc = -1;

    mail_reply_init(&r);
    snprintf(s->curtag, sizeof s->curtag, "A%u", ++s->tag);
    if (mail_buf_printf(&cmd, "%s LOGIN ", s->curtag) < 0 ||
        imap_astring(&cmd, s->srv->user, &lit_user) < 0)
        goto oom;
    if (lit_user) {
        /* Send up to the literal announcement, wait for "+". */
        if (mail_conn_write(s->conn, cmd.data, cmd.len, err) < 0 ||
            mail_session_read_reply(s, &r, err) < 0)
            goto done;
        if (r.status != MAIL_REPLY_CONT)
            goto refused;
        mail_buf_reset(&cmd);
        if (mail_buf_addstr(&cmd, s->srv->user) < 0)
            goto oom;
    }
    if (mail_buf_addch(&cmd, ' ') < 0)
        goto oom;
    pass_at = cmd.len;
    if (imap_astring(&cmd, secret, &lit_pass) < 0)
        goto oom;
    if (lit_pass) {
        /* Up to "{N}": no secret in it yet. */
        if (mail_conn_write(s->conn, cmd.data, cmd.len, err) < 0 ||
            mail_session_read_reply(s, &r, err) < 0)
            goto done;
        if (r.status != MAIL_REPLY_CONT)
            goto refused;
        mail_buf_reset(&cmd);
        pass_at = 0;
        if (mail_buf_addstr(&cmd, secret) < 0)
            goto oom;
    }
    if (mail_buf_addstr(&cmd, "\r\n") < 0)
        goto oom;
    if (mail_conn_write_masked(s->conn, cmd.data, cmd.len, pass_at, err) < 0 ||
        mail_session_read_reply(s, &r, err) < 0)
        goto done;
    if (r.status != MAIL_REPLY_OK)
        goto refused;
    imap_caps_from(s, r.text.data);
    s->login_method = "LOGIN command";
    rc = 0;
    goto done;
refused:
    mail_session_reply_error(s, &r, MAIL_ERR_AUTH, "login with the LOGIN command failed", err);
    goto done;
oom:
    mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
done:
    mail_buf_release_secret(&cmd);
    mail_reply_release(&r);
    return rc;
}

int mail_imap_login(struct mail_session *s, const char *secret,
                    struct mail_error *err)
{
    bool sasl_ok;
    int rc;

    if (s->authenticated)
        return 0;   /* PREAUTH */
    sasl_ok = s->mechs.len &&
              mail_sasl_choose(s->mechs.data, s->srv->auth,
                               mail_conn_is_tls(s->conn),
                               s->srv->tls == MAIL_TLS_NONE, NULL) !=
                  MAIL_SASL_NONE;
    if (sasl_ok || s->srv->auth != MAIL_SASL_NONE ||
        mail_session_has_cap(s, "LOGINDISABLED"))
        rc = mail_session_auth(s, secret, err);
    else if (!mail_session_may_send_password(s))
        rc = mail_error_set(err, MAIL_ERR_AUTH,
                            "%s: refusing to send a password in clear text "
                            "over an unencrypted connection; use TLS",
                            s->name);
    else
        rc = imap_login_cmd(s, secret, err);
    if (rc == 0)
        s->authenticated = true;
    return rc;
}

void mail_imap_logout(struct mail_session *s)
{
    struct mail_reply r;

    if (!s)
        return;
    mail_reply_init(&r);
    mail_imap_command(s, &r, NULL, "LOGOUT");
    mail_reply_release(&r);
    mail_session_free(s);
}
