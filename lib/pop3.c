/*
 * pop3.c - POP3 client; see mail/pop3.h.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "mail/pop3.h"

#define POP3_LINE_MAX (64 * 1024)

int mail_pop3_multiline(struct mail_session *s, const char *cmd,
                        struct mail_reply *r, struct mail_buf *out,
                        struct mail_error *err)
{
    if (mail_conn_printf(s->conn, err, "%s\r\n", cmd) < 0 ||
        mail_session_read_reply(s, r, err) < 0)
        return -1;
    if (r->status != MAIL_REPLY_OK)
        return 0;
    for (;;) {
        char *line;
        size_t len;

        if (mail_conn_read_line(s->conn, &line, &len, POP3_LINE_MAX, err) < 0)
            return -1;
        if (len == 1 && line[0] == '.')
            return 0;
        if (len > 0 && line[0] == '.') {   /* dot-unstuffing */
            line++;
            len--;
        }
        if (mail_buf_add(out, line, len) < 0 || mail_buf_addch(out, '\n') < 0)
            return mail_error_set(err, MAIL_ERR_PROTOCOL,
                                  "%s: %s reply too large", s->name, cmd);
    }
}

static int pop3_capa(struct mail_session *s, struct mail_reply *r,
                     struct mail_error *err)
{
    char mechs[1024];

    mail_buf_reset(&s->caps);
    mail_buf_reset(&s->mechs);
    if (mail_pop3_multiline(s, "CAPA", r, &s->caps, err) < 0)
        return -1;
    if (r->status != MAIL_REPLY_OK)
        mail_buf_reset(&s->caps);   /* an RFC 1939-only server */
    if (mail_session_cap_value(s, "SASL", mechs, sizeof mechs))
        mail_buf_addstr(&s->mechs, mechs);
    return 0;
}

struct mail_session *mail_pop3_open(const struct mail_server *srv,
                                    struct mail_error *err)
{
    struct mail_session *s = mail_session_connect(srv, err);
    struct mail_reply r;

    if (!s)
        return NULL;
    mail_reply_init(&r);
    if (mail_session_read_reply(s, &r, err) < 0)
        goto fail;
    if (r.status != MAIL_REPLY_OK) {
        mail_session_reply_error(s, &r, MAIL_ERR_UNAVAIL,
                                 "the server refused the connection", err);
        goto fail;
    }
    mail_buf_add(&s->greeting, r.text.data, r.text.len);
    if (pop3_capa(s, &r, err) < 0)
        goto fail;
    if (srv->tls == MAIL_TLS_STARTTLS) {
        /* Without CAPA we cannot know; RFC 2595 lets us just try STLS. */
        if (s->caps.len && !mail_session_has_cap(s, "STLS")) {
            mail_error_set(err, MAIL_ERR_TLS,
                           "%s: STLS (STARTTLS) not offered by the server "
                           "(refusing to continue without TLS)", s->name);
            goto fail;
        }
        if (mail_conn_printf(s->conn, err, "STLS\r\n") < 0 ||
            mail_session_read_reply(s, &r, err) < 0)
            goto fail;
        if (r.status != MAIL_REPLY_OK) {
            mail_session_reply_error(s, &r, MAIL_ERR_TLS,
                                     "STLS (STARTTLS) refused", err);
            goto fail;
        }
        if (mail_conn_start_tls(s->conn, err) < 0 || pop3_capa(s, &r, err) < 0)
            goto fail;
    }
    mail_reply_release(&r);
    return s;
fail:
    mail_reply_release(&r);
    mail_session_free(s);
    return NULL;
}

/* The <...> timestamp of an APOP-capable greeting (RFC 1939 7). */
static int apop_timestamp(const struct mail_session *s, char *buf, size_t size)
{
    const char *g = s->greeting.data, *a, *b;

    if (!g || !(a = strchr(g, '<')) || !(b = strchr(a, '>')) ||
        !memchr(a, '@', (size_t)(b - a)) || (size_t)(b - a + 2) > size)
        return 0;
    memcpy(buf, a, (size_t)(b - a + 1));
    buf[b - a + 1] = '\0';
    return 1;
}

static int pop3_apop(struct mail_session *s, const char *ts,
                     const char *secret, struct mail_error *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    struct mail_buf in = MAIL_BUF_INIT;
    struct mail_reply r;
    int rc;

    if (mail_buf_addstr(&in, ts) < 0 || mail_buf_addstr(&in, secret) < 0 ||
        !EVP_Digest(in.data, in.len, md, &mdlen, EVP_md5(), NULL)) {
        mail_buf_release_secret(&in);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "APOP digest failed");
    }
    mail_buf_release_secret(&in);
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    mail_reply_init(&r);
    rc = mail_conn_printf(s->conn, err, "APOP %s %s\r\n", s->srv->user, hex);
    if (rc == 0)
        rc = mail_session_read_reply(s, &r, err);
    if (rc == 0 && r.status != MAIL_REPLY_OK)
        rc = mail_session_reply_error(s, &r, MAIL_ERR_AUTH, "login with APOP failed", err);
    mail_reply_release(&r);
    if (rc == 0)
        s->login_method = "APOP";
    return rc;
}

static int pop3_userpass(struct mail_session *s, const char *secret,
                         struct mail_error *err)
{
    struct mail_buf cmd = MAIL_BUF_INIT;
    struct mail_reply r;
    int rc;

    mail_reply_init(&r);
    rc = mail_conn_printf(s->conn, err, "USER %s\r\n", s->srv->user);
    if (rc == 0)
        rc = mail_session_read_reply(s, &r, err);
    if (rc == 0 && r.status != MAIL_REPLY_OK)
        rc = mail_session_reply_error(s, &r, MAIL_ERR_AUTH, "login with USER/PASS failed", err);
    if (rc == 0) {
        if (mail_buf_printf(&cmd, "PASS %s\r\n", secret) < 0)
            rc = mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        else
            rc = mail_conn_write_masked(s->conn, cmd.data, cmd.len, 5, err);
    }
    if (rc == 0)
        rc = mail_session_read_reply(s, &r, err);
    if (rc == 0 && r.status != MAIL_REPLY_OK)
        rc = mail_session_reply_error(s, &r, MAIL_ERR_AUTH, "login with USER/PASS failed", err);
    mail_buf_release_secret(&cmd);
    mail_reply_release(&r);
    if (rc == 0)
        s->login_method = "USER/PASS";
    return rc;
}

int mail_pop3_login(struct mail_session *s, const char *secret,
                    struct mail_error *err)
{
    char ts[512];
    int rc;

    if (s->mechs.len && mail_sasl_choose(s->mechs.data, s->srv->auth,
                                         mail_conn_is_tls(s->conn),
                                         s->srv->tls == MAIL_TLS_NONE,
                                         NULL) != MAIL_SASL_NONE)
        rc = mail_session_auth(s, secret, err);
    else if (s->srv->auth != MAIL_SASL_NONE)
        rc = mail_session_auth(s, secret, err);   /* reports what is missing */
    else if (mail_session_may_send_password(s))
        rc = pop3_userpass(s, secret, err);
    else if (apop_timestamp(s, ts, sizeof ts))
        rc = pop3_apop(s, ts, secret, err);
    else
        rc = mail_error_set(err, MAIL_ERR_AUTH,
                            "%s: refusing to send a password in clear text "
                            "over an unencrypted connection; use TLS",
                            s->name);
    if (rc == 0)
        s->authenticated = true;
    return rc;
}

void mail_pop3_quit(struct mail_session *s)
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
