/*
 * session.c - the line-protocol engine and SASL driver shared by SMTP, POP3
 * and IMAP; see mail/session.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/session.h"
#include "mail/termsafe.h"

#define LINE_MAX_BYTES (64 * 1024)
#define REPLY_MAX_LINES 1000
#define REPLY_MAX_BYTES (1024 * 1024)
#define QUOTE_MAX 200   /* bytes of a server reply quoted in an error */

void mail_reply_init(struct mail_reply *r)
{
    memset(r, 0, sizeof *r);
    mail_buf_init(&r->text, REPLY_MAX_BYTES);
    mail_buf_init(&r->untagged, REPLY_MAX_BYTES);
}

void mail_reply_release(struct mail_reply *r)
{
    mail_buf_release_secret(&r->text);
    mail_buf_release(&r->untagged);
}

static void reply_reset(struct mail_reply *r)
{
    r->status = MAIL_REPLY_NO;
    r->code = 0;
    r->temporary = false;
    r->enhanced[0] = '\0';
    mail_buf_reset(&r->text);
    mail_buf_reset(&r->untagged);
}

struct mail_session *mail_session_connect(const struct mail_server *srv,
                                          struct mail_error *err)
{
    struct mail_conn_opts o = {
        .host = srv->host, .port = srv->port, .tls = srv->tls,
        .timeout = srv->timeout, .ca_file = srv->ca_file,
        .fingerprint = srv->fingerprint, .trace = srv->trace,
        .trace_arg = srv->trace_arg, .deadline = srv->deadline,
    };
    struct mail_session *s = calloc(1, sizeof *s);
    struct mail_buf name = MAIL_BUF_INIT;

    if (!s || mail_buf_printf(&name, "%s", srv->host) < 0) {
        free(s);
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    s->proto = srv->proto;
    s->srv = srv;
    mail_buf_init(&s->greeting, LINE_MAX_BYTES);
    mail_buf_init(&s->caps, REPLY_MAX_BYTES);
    mail_buf_init(&s->mechs, LINE_MAX_BYTES);
    mail_buf_release(&name);
    s->conn = mail_conn_open(&o, err);
    if (!s->conn) {
        mail_session_free(s);
        return NULL;
    }
    s->name = strdup(mail_conn_name(s->conn));
    if (!s->name) {
        mail_session_free(s);
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    return s;
}

void mail_session_free(struct mail_session *s)
{
    if (!s)
        return;
    if (s->proto_free)
        s->proto_free(s->proto_data);
    mail_conn_close(s->conn);
    mail_buf_release(&s->greeting);
    mail_buf_release(&s->caps);
    mail_buf_release(&s->mechs);
    free(s->name);
    free(s);
}

/* Seconds to wait for the reply to LOGOUT/QUIT: on the way out a server
 * that does not answer is not worth the whole timeout. */
#define GOODBYE_TIMEOUT 5

void mail_session_say_goodbye(struct mail_session *s, const char *line)
{
    struct mail_reply r;
    int t;
    int x;

    if (!s)
        return;
    if (s->conn) {
        t = mail_conn_timeout(s->conn);
        mail_conn_set_timeout(s->conn, t > 0 && t < GOODBYE_TIMEOUT
                                           ? t : GOODBYE_TIMEOUT);
        mail_reply_init(&r);
        if (s->proto == MAIL_PROTO_IMAP)
            x = mail_imap_send(s, NULL, "%s", line);
        else
            x = mail_conn_printf(s->conn, NULL, "%s\r\n", line);
        /* the reply (IMAP: the tagged one, after "* BYE"); errors on the
         * way out change nothing */
        if (x == 0)
            mail_session_read_reply(s, &r, NULL);
        mail_reply_release(&r);
    }
    mail_session_free(s);
}

static const char *session_name(const struct mail_session *s)
{
    return s->name ? s->name : "server";
}

static int too_big(struct mail_session *s, struct mail_error *err)
{
    return mail_error_set(err, MAIL_ERR_PROTOCOL,
                          "%s: reply from the server is too large",
                          session_name(s));
}

static int malformed(struct mail_session *s, const char *line, size_t len,
                     struct mail_error *err)
{
    struct mail_buf q = MAIL_BUF_INIT;

    mail_term_safe(&q, line, len > QUOTE_MAX ? QUOTE_MAX : len,
                   MAIL_SAFE_ONELINE);
    mail_error_set(err, MAIL_ERR_PROTOCOL,
                   "%s: malformed reply from the server: \"%s\"",
                   session_name(s), q.data ? q.data : "");
    mail_buf_release(&q);
    return -1;
}

/* Does text start with a response code such as "[SYS/TEMP]" that means
 * "try later"?  (RFC 3206 for POP3, RFC 5530 for IMAP.) */
static bool temp_response_code(const char *text)
{
    static const char *const codes[] = {
        "[SYS/TEMP]", "[IN-USE]", "[UNAVAILABLE]", "[INUSE]", "[LIMIT]",
        "[SERVERBUG]",
    };

    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (mail_strncasecmp(text, codes[i], strlen(codes[i])) == 0)
            return true;
    return false;
}

/* "5.7.8 " at the start of an SMTP reply line (RFC 2034, 3463). */
static void parse_enhanced(struct mail_reply *r, const char *t)
{
    size_t i = 0;
    int dots = 0;

    if (t[0] != '2' && t[0] != '4' && t[0] != '5')
        return;
    while (i < sizeof r->enhanced - 1 &&
           (isdigit((unsigned char)t[i]) || t[i] == '.')) {
        dots += t[i] == '.';
        i++;
    }
    if (dots == 2 && (t[i] == ' ' || t[i] == '\0') && t[i - 1] != '.') {
        memcpy(r->enhanced, t, i);
        r->enhanced[i] = '\0';
    }
}

static int read_smtp_reply(struct mail_session *s, struct mail_reply *r,
                           struct mail_error *err)
{
    for (int n = 0;; n++) {
        char *line;
        size_t len;
        int code;

        if (n >= REPLY_MAX_LINES)
            return too_big(s, err);
        if (mail_conn_read_line(s->conn, &line, &len, LINE_MAX_BYTES, err) < 0)
            return -1;
        if (len < 3 || !isdigit((unsigned char)line[0]) ||
            !isdigit((unsigned char)line[1]) ||
            !isdigit((unsigned char)line[2]) ||
            (len > 3 && line[3] != ' ' && line[3] != '-'))
            return malformed(s, line, len, err);
        code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        if (code < 200 || code > 599 || (n > 0 && code != r->code))
            return malformed(s, line, len, err);
        r->code = code;
        if (n > 0 && mail_buf_addch(&r->text, '\n') < 0)
            return too_big(s, err);
        if (len > 4 && mail_buf_add(&r->text, line + 4, len - 4) < 0)
            return too_big(s, err);
        if (len == 3 || line[3] == ' ') {
            if (len > 4)
                parse_enhanced(r, line + 4);
            break;
        }
    }
    r->status = r->code < 300 ? MAIL_REPLY_OK
              : r->code < 400 ? MAIL_REPLY_CONT : MAIL_REPLY_NO;
    r->temporary = r->code >= 400 && r->code < 500;
    return 0;
}

static int read_pop3_reply(struct mail_session *s, struct mail_reply *r,
                           struct mail_error *err)
{
    char *line;
    size_t len, skip;

    if (mail_conn_read_line(s->conn, &line, &len, LINE_MAX_BYTES, err) < 0)
        return -1;
    if (len >= 3 && memcmp(line, "+OK", 3) == 0 &&
        (len == 3 || line[3] == ' ')) {
        r->status = MAIL_REPLY_OK;
        skip = 3;
    } else if (len >= 4 && memcmp(line, "-ERR", 4) == 0 &&
               (len == 4 || line[4] == ' ')) {
        r->status = MAIL_REPLY_NO;
        skip = 4;
    } else if (len >= 1 && line[0] == '+' && (len == 1 || line[1] == ' ')) {
        r->status = MAIL_REPLY_CONT;   /* RFC 5034 continuation */
        skip = 1;
    } else {
        return malformed(s, line, len, err);
    }
    while (skip < len && line[skip] == ' ')
        skip++;
    if (mail_buf_add(&r->text, line + skip, len - skip) < 0)
        return too_big(s, err);
    r->temporary = r->status == MAIL_REPLY_NO && temp_response_code(r->text.data);
    return 0;
}

int mail_session_read_reply(struct mail_session *s, struct mail_reply *r,
                            struct mail_error *err)
{
    reply_reset(r);
    if (s->read_reply)
        return s->read_reply(s, r, err);
    switch (s->proto) {
    case MAIL_PROTO_SMTP:
        return read_smtp_reply(s, r, err);
    case MAIL_PROTO_POP3:
        return read_pop3_reply(s, r, err);
    case MAIL_PROTO_IMAP:
        break;   /* only through the reader imap.c installs */
    }
    return mail_error_set(err, MAIL_ERR_INTERNAL,
                          "%s: no reply reader for this protocol",
                          session_name(s));
}

int mail_imap_send(struct mail_session *s, struct mail_error *err,
                   const char *fmt, ...)
{
    struct mail_buf b = MAIL_BUF_INIT;
    va_list ap;
    int r;

    snprintf(s->curtag, sizeof s->curtag, "A%u", ++s->tag);
    r = mail_buf_printf(&b, "%s ", s->curtag);
    va_start(ap, fmt);
    if (r == 0)
        r = mail_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (r == 0)
        r = mail_buf_addstr(&b, "\r\n");
    if (r < 0) {
        mail_buf_release(&b);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    r = mail_conn_write(s->conn, b.data, b.len, err);
    mail_buf_release(&b);
    return r;
}

int mail_session_reply_error(struct mail_session *s,
                             const struct mail_reply *r,
                             enum mail_error_kind kind, const char *what,
                             struct mail_error *err)
{
    struct mail_buf q = MAIL_BUF_INIT;
    size_t len = r->text.len > QUOTE_MAX ? QUOTE_MAX : r->text.len;

    if (r->code)
        mail_buf_printf(&q, "%d ", r->code);
    mail_term_safe(&q, r->text.data ? r->text.data : "", len,
                   MAIL_SAFE_ONELINE);
    if (len < r->text.len)
        mail_buf_addstr(&q, "...");
    mail_error_set(err, r->temporary ? MAIL_ERR_TEMP : kind, "%s: %s: %s",
                   session_name(s), what, q.data ? q.data : "");
    mail_buf_release(&q);
    return -1;
}

bool mail_session_has_cap(const struct mail_session *s, const char *name)
{
    char tmp[8];

    return mail_session_cap_value(s, name, tmp, sizeof tmp) != NULL;
}

const char *mail_session_cap_value(const struct mail_session *s,
                                   const char *name, char *buf, size_t size)
{
    const char *p = s->caps.data;
    size_t nlen = strlen(name);

    if (!p || size == 0)
        return NULL;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t llen = eol ? (size_t)(eol - p) : strlen(p);

        if (llen >= nlen && mail_strncasecmp(p, name, nlen) == 0 &&
            (llen == nlen || p[nlen] == ' ' || p[nlen] == '=')) {
            const char *v = p + nlen;
            size_t vlen = llen - nlen;

            while (vlen && (*v == ' ' || *v == '=')) {
                v++;
                vlen--;
            }
            if (vlen >= size)
                vlen = size - 1;
            memcpy(buf, v, vlen);
            buf[vlen] = '\0';
            return buf;
        }
        if (!eol)
            break;
        p = eol + 1;
    }
    return NULL;
}

bool mail_session_may_send_password(const struct mail_session *s)
{
    return mail_conn_is_tls(s->conn) || s->srv->tls == MAIL_TLS_NONE;
}

/* ---- SASL over the three protocols ---- */

/* The start command with an optional initial response (base64, or "=" for
 * an empty one). */
static int sasl_send_start(struct mail_session *s, const char *mech,
                           const char *ir, size_t irlen,
                           struct mail_error *err)
{
    struct mail_buf cmd = MAIL_BUF_INIT;
    size_t shown;
    int r;

    /* the initial response is a secret: growth must not free a copy */
    mail_buf_set_secret(&cmd);
    if (s->proto == MAIL_PROTO_IMAP) {
        snprintf(s->curtag, sizeof s->curtag, "A%u", ++s->tag);
        r = mail_buf_printf(&cmd, "%s AUTHENTICATE %s", s->curtag, mech);
    } else {
        r = mail_buf_printf(&cmd, "AUTH %s", mech);
    }
    shown = cmd.len;
    if (r == 0 && ir)
        r = mail_buf_addch(&cmd, ' ') | mail_buf_add(&cmd, ir, irlen);
    if (r == 0)
        r = mail_buf_addstr(&cmd, "\r\n");
    if (r < 0) {
        mail_buf_release_secret(&cmd);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    r = ir ? mail_conn_write_masked(s->conn, cmd.data, cmd.len, shown + 1, err)
           : mail_conn_write(s->conn, cmd.data, cmd.len, err);
    mail_buf_release_secret(&cmd);
    return r < 0 ? -1 : mail_conn_flush(s->conn, err);
}

/* May the initial response go on the command line?  SMTP: always (RFC
 * 4954), within the 512-octet line limit; IMAP: with SASL-IR (RFC 4959);
 * POP3: always (RFC 5034), within 255 octets. */
static bool sasl_ir_allowed(struct mail_session *s, size_t irlen)
{
    switch (s->proto) {
    case MAIL_PROTO_SMTP:
        return irlen <= 460;
    case MAIL_PROTO_POP3:
        return irlen <= 240;
    case MAIL_PROTO_IMAP:
        return mail_session_has_cap(s, "SASL-IR");
    }
    return false;
}

static int session_auth_once(struct mail_session *s, const char *secret,
                             struct mail_error *err)
{
    const struct mail_server *srv = s->srv;
    struct mail_sasl_creds creds = {
        .user = srv->user, .secret = secret, .host = srv->host,
        .port = srv->port,
    };
    enum mail_sasl_mech mech;
    struct mail_sasl *sasl;
    struct mail_buf out = MAIL_BUF_INIT, b64 = MAIL_BUF_INIT,
                    chal = MAIL_BUF_INIT;
    struct mail_reply r;
    const char *name;
    int rc = -1;

    mech = mail_sasl_choose(s->mechs.data ? s->mechs.data : "", srv->auth,
                            mail_conn_is_tls(s->conn),
                            srv->tls == MAIL_TLS_NONE, err);
    if (mech == MAIL_SASL_NONE)
        return mail_error_prefix(err, "%s", session_name(s));
    sasl = mail_sasl_new(mech, &creds, err);
    if (!sasl)
        return -1;
    /* responses and their base64 carry secrets: growth wipes */
    mail_buf_set_secret(&out);
    mail_buf_set_secret(&b64);
    mail_buf_set_secret(&chal);
    name = mail_sasl_mech_name(mech);
    mail_reply_init(&r);

    if (mail_sasl_has_initial_response(sasl)) {
        if (mail_sasl_step(sasl, NULL, 0, &out, err) < 0)
            goto done;
        if (out.len == 0 ? mail_buf_addch(&b64, '=') < 0
                         : mail_base64_encode(&b64, out.data, out.len) < 0) {
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            goto done;
        }
    }
    if (b64.len && sasl_ir_allowed(s, b64.len)) {
        if (sasl_send_start(s, name, b64.data, b64.len, err) < 0)
            goto done;
        mail_buf_release_secret(&b64);
    } else if (sasl_send_start(s, name, NULL, 0, err) < 0) {
        goto done;
    }

    for (int steps = 0;; steps++) {
        if (mail_session_read_reply(s, &r, err) < 0)
            goto done;
        if (r.status != MAIL_REPLY_CONT)
            break;
        if (steps > 10) {
            mail_error_set(err, MAIL_ERR_PROTOCOL,
                           "%s: too many SASL round trips", session_name(s));
            goto done;
        }
        /* A challenge: answer with the pending initial response if the
         * command could not carry it, else with the next step. */
        if (!b64.len) {
            mail_buf_reset(&chal);
            mail_buf_reset(&out);
            if (mail_base64_decode(&chal, r.text.data ? r.text.data : "",
                                   r.text.len) < 0) {
                mail_error_set(err, MAIL_ERR_PROTOCOL,
                               "%s: bad base64 in the server's SASL challenge",
                               session_name(s));
                goto done;
            }
            if (mail_sasl_step(sasl, (const unsigned char *)chal.data,
                               chal.len, &out, err) < 0) {
                /* Cancel the exchange politely, then report. */
                mail_conn_write(s->conn, "*\r\n", 3, NULL);
                mail_conn_flush(s->conn, NULL);
                mail_session_read_reply(s, &r, NULL);
                mail_error_prefix(err, "%s", session_name(s));
                goto done;
            }
            if (mail_base64_encode(&b64, out.data ? out.data : "", out.len) < 0) {
                mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
                goto done;
            }
        }
        if (mail_buf_addstr(&b64, "\r\n") < 0 ||
            mail_conn_write_masked(s->conn, b64.data, b64.len, 0, err) < 0 ||
            mail_conn_flush(s->conn, err) < 0)
            goto done;
        mail_buf_release_secret(&b64);
    }
    if (r.status != MAIL_REPLY_OK) {
        char what[256];

        snprintf(what, sizeof what, "login as %.100s with %s failed",
                 srv->user, name);
        mail_session_reply_error(s, &r, MAIL_ERR_AUTH, what, err);
        if (!r.temporary)
            err->kind = MAIL_ERR_AUTH;
        goto done;
    }
    if (mail_sasl_finish(sasl, NULL, 0, err) < 0) {
        mail_error_prefix(err, "%s", session_name(s));
        goto done;
    }
    s->authenticated = true;
    s->mech_used = mech;
    s->login_method = name;
    rc = 0;
done:
    if (rc < 0)
        s->mech_used = mech;    /* what was refused, for the retry */
    mail_reply_release(&r);
    mail_buf_release_secret(&out);
    mail_buf_release_secret(&b64);
    mail_buf_release_secret(&chal);
    mail_sasl_free(sasl);
    return rc;
}

int mail_session_auth(struct mail_session *s, const char *secret,
                      struct mail_error *err)
{
    struct mail_buf fresh = MAIL_BUF_INIT;
    int rc;

    s->mech_used = MAIL_SASL_NONE;
    rc = session_auth_once(s, secret, err);
    if (rc == 0 || !err || err->kind != MAIL_ERR_AUTH ||
        !s->srv->renew_token ||
        (s->mech_used != MAIL_SASL_XOAUTH2 &&
         s->mech_used != MAIL_SASL_OAUTHBEARER))
        return rc;
    /* The token may have been revoked before its time: a fresh one, once. */
    s->mech_used = MAIL_SASL_NONE;
    mail_buf_set_secret(&fresh);
    if (s->srv->renew_token(s->srv->renew_arg, &fresh, err) < 0) {
        mail_buf_release_secret(&fresh);
        return -1;      /* says why: e.g. run mail auth again */
    }
    mail_conn_note(s->conn, "the server refused the token; trying a fresh one");
    mail_error_clear(err);
    rc = session_auth_once(s, fresh.data ? fresh.data : "", err);
    mail_buf_release_secret(&fresh);
    if (rc < 0 && err->kind == MAIL_ERR_AUTH)
        mail_error_prefix(err, "a fresh OAuth 2.0 token was refused too "
                          "(run mail auth again)");
    return rc;
}
