/*
 * imap.c - IMAP client; see mail/imap.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "mail/flags.h"
#include "mail/fsutil.h"
#include "mail/hex.h"
#include "mail/imap.h"
#include "mail/imap_compress.h"
#include "mail/termsafe.h"
#include "mail/utf7.h"

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

static const char *const temp_codes[] = {
    "SYS/TEMP", "INUSE", "IN-USE", "UNAVAILABLE", "LIMIT", "SERVERBUG",
};

/* The tagged reply as a mail_reply, for mail_session_reply_error. */
static void resp_to_reply(const struct mail_imap_resp *r,
                          struct mail_reply *rep)
{
    mail_buf_reset(&rep->text);
    rep->status = r->status == MAIL_IMAP_ST_OK   ? MAIL_REPLY_OK
                : r->status == MAIL_IMAP_ST_BAD ? MAIL_REPLY_BAD
                                                : MAIL_REPLY_NO;
    rep->temporary = false;
    if (*r->code) {
        mail_buf_printf(&rep->text, "[%s%s%s] ", r->code,
                        *r->code_args ? " " : "", r->code_args);
        for (size_t i = 0; i < sizeof temp_codes / sizeof temp_codes[0]; i++)
            if (strcmp(r->code, temp_codes[i]) == 0)
                rep->temporary = rep->status == MAIL_REPLY_NO;
    }
    mail_buf_addstr(&rep->text, r->text);
}

/* ---- the session's reply reader (installed as s->read_reply) ---- */

#define READER_LINE_MAX (64 * 1024)
#define READER_RESP_MAX (1024 * 1024)
#define READER_RESPS_MAX 1000

/* State of the IMAP side of a session (s->proto_data). */
struct imap_state {
    /* Mailboxes of the last LIST whose UTF-8 name does not encode back
     * to the server's name: SELECT/EXAMINE of that name send raw. */
    struct mail_imap_mailbox *alias;
    size_t nalias;
    bool qresync;       /* ENABLE QRESYNC accepted on this session */
};

static void imap_state_free(void *arg)
{
    struct imap_state *st = arg;

    if (!st)
        return;
    for (size_t i = 0; i < st->nalias; i++) {
        free(st->alias[i].name);
        free(st->alias[i].raw);
    }
    free(st->alias);
    free(st);
}

/* Errors from the parser or the connection, prefixed with the server
 * unless they already name it. */
static int name_error(struct mail_session *s, struct mail_error *err)
{
    size_t nlen = strlen(s->name);

    if (err && (strncmp(err->msg, s->name, nlen) != 0 ||
                err->msg[nlen] != ':'))
        mail_error_prefix(err, "%s", s->name);
    return -1;
}

/* Tokens of a response back as text (for the untagged lines of a
 * mail_reply: CAPABILITY, greetings).  Line breaks inside strings become
 * spaces. */
static void nodes_text(struct mail_buf *b, const struct mail_imap_node *n)
{
    for (; n; n = n->next) {
        switch (n->type) {
        case MAIL_IMAP_ATOM:
            mail_buf_addstr(b, n->data);
            break;
        case MAIL_IMAP_NIL:
            mail_buf_addstr(b, "NIL");
            break;
        case MAIL_IMAP_STRING:
            mail_buf_addch(b, '"');
            for (uint64_t i = 0; i < n->len; i++) {
                char c = n->data[i];

                if (c == '"' || c == '\\')
                    mail_buf_addch(b, '\\');
                mail_buf_addch(b, c == '\r' || c == '\n' || c == '\0' ? ' '
                                                                     : c);
            }
            mail_buf_addch(b, '"');
            break;
        case MAIL_IMAP_LIST:
            mail_buf_addch(b, '(');
            nodes_text(b, n->child);
            mail_buf_addch(b, ')');
            break;
        case MAIL_IMAP_STREAMED:
            mail_buf_printf(b, "{%llu}", (unsigned long long)n->len);
            break;
        }
        if (n->next)
            mail_buf_addch(b, ' ');
    }
}

/* One untagged response as a line of r->untagged: "OK [CODE args] text",
 * "CAPABILITY IMAP4rev1 ...", "3 EXISTS". */
static int untagged_line(struct mail_buf *u, const struct mail_imap_resp *x)
{
    size_t before = u->len;

    if (x->has_number)
        mail_buf_printf(u, "%u ", (unsigned)x->number);
    mail_buf_addstr(u, x->keyword);
    if (x->type == MAIL_IMAP_T_STATUS) {
        if (*x->code)
            mail_buf_printf(u, " [%s%s%s]", x->code, *x->code_args ? " " : "",
                            x->code_args);
        if (*x->text)
            mail_buf_printf(u, " %s", x->text);
    } else if (x->args.child) {
        mail_buf_addch(u, ' ');
        nodes_text(u, x->args.child);
    }
    mail_buf_addch(u, '\n');
    /* a full buffer refuses additions: then the line is incomplete */
    return u->len > before && u->data[u->len - 1] == '\n' ? 0 : -1;
}

/* A tagged OK [CAPABILITY ...] (AUTHENTICATE's, RFC 3501 7.1): the list
 * after login, without the round trip of asking.  The SASL mechanisms
 * offered before login are kept, as mail_imap_capability does. */
static void caps_from_tagged(struct mail_session *s,
                             const struct mail_imap_resp *x)
{
    struct mail_buf mechs = MAIL_BUF_INIT;

    if (x->status != MAIL_IMAP_ST_OK || strcmp(x->code, "CAPABILITY") != 0 ||
        mail_buf_add(&mechs, s->mechs.data ? s->mechs.data : "",
                     s->mechs.len) < 0) {
        mail_buf_release(&mechs);
        return;
    }
    imap_set_caps(s, x->code_args);
    if (s->mechs.len == 0)
        mail_buf_add(&s->mechs, mechs.data ? mechs.data : "", mechs.len);
    mail_buf_release(&mechs);
}

static int imap_read_reply(struct mail_session *s, struct mail_reply *r,
                           struct mail_error *err)
{
    struct mail_imap_limits lim;
    struct mail_imap_parser p;
    const struct mail_imap_resp *x = &p.resp;
    int rc = -1;

    mail_imap_limits_default(&lim);
    lim.line_max = READER_LINE_MAX;
    lim.response_max = READER_RESP_MAX;
    lim.inline_literal_max = READER_RESP_MAX;
    mail_imap_parser_init(&p, &lim, NULL, NULL);
    for (int n = 0;; n++) {
        if (n >= READER_RESPS_MAX) {
            mail_error_set(err, MAIL_ERR_PROTOCOL,
                           "%s: reply from the server is too large", s->name);
            break;
        }
        if (mail_imap_read_response(&p, s->conn, err) < 0) {
            name_error(s, err);
            break;
        }
        if (x->kind == MAIL_IMAP_RESP_CONT) {
            r->status = MAIL_REPLY_CONT;
            if (*x->code)
                mail_buf_printf(&r->text, "[%s%s%s] ", x->code,
                                *x->code_args ? " " : "", x->code_args);
            rc = mail_buf_addstr(&r->text, x->text) < 0
                     ? mail_error_set(err, MAIL_ERR_PROTOCOL,
                                      "%s: reply from the server is too "
                                      "large", s->name)
                     : 0;
            break;
        }
        if (x->kind == MAIL_IMAP_RESP_UNTAGGED) {
            if (untagged_line(&r->untagged, x) < 0) {
                mail_error_set(err, MAIL_ERR_PROTOCOL,
                               "%s: reply from the server is too large",
                               s->name);
                break;
            }
            if (!s->curtag[0]) {
                r->status = MAIL_REPLY_OK;   /* the greeting */
                rc = 0;
                break;
            }
            continue;
        }
        if (!s->curtag[0] || strcmp(x->tag, s->curtag) != 0) {
            struct mail_buf q = MAIL_BUF_INIT;

            mail_term_safe(&q, x->tag, strlen(x->tag), MAIL_SAFE_ONELINE);
            mail_error_set(err, MAIL_ERR_PROTOCOL,
                           "%s: reply with an unknown tag \"%s\"", s->name,
                           q.data ? q.data : "");
            mail_buf_release(&q);
            break;
        }
        resp_to_reply(x, r);
        caps_from_tagged(s, x);
        rc = 0;
        break;
    }
    mail_imap_parser_release(&p);
    return rc;
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
    s->proto_data = calloc(1, sizeof(struct imap_state));
    if (!s->proto_data) {
        mail_session_free(s);
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    s->proto_free = imap_state_free;
    s->read_reply = imap_read_reply;
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
    if (rc == 0)
        rc = mail_imap_compress(s, err);
    return rc;
}

void mail_imap_logout(struct mail_session *s)
{
    mail_session_say_goodbye(s, "LOGOUT");
}

/* ==== commands on the streaming parser ==== */

#define MAILBOXES_MAX 10000
#define MAILBOXES_BYTES_MAX (16u << 20)
#define MAILBOX_NAME_MAX 1024
#define UIDS_MAX (16u << 20)
#define CMD_UIDS_MAX 500        /* UIDs per STORE/EXPUNGE/MOVE command */
#define FETCH_WINDOW 4          /* UID FETCH commands in flight */
#define FETCH_BATCH 100

/* Errors from the parser or the connection, prefixed with the server and
 * the command unless they already name the server. */
static int cmd_error(struct mail_session *s, const char *what,
                     struct mail_error *err)
{
    size_t nlen = strlen(s->name);
    char rest[MAIL_ERROR_MSG_MAX];

    if (!err)
        return -1;
    if (strncmp(err->msg, s->name, nlen) != 0 || err->msg[nlen] != ':')
        return mail_error_prefix(err, "%s: %s", s->name, what);
    /* "host:port: connection closed" -> "host:port: WHAT: connection..." */
    mail_strlcpy(rest, err->msg + nlen + 1 + (err->msg[nlen + 1] == ' '),
                 sizeof rest);
    if (strncmp(rest, what, strlen(what)) == 0 && rest[strlen(what)] == ':')
        return -1;   /* names the command already */
    {
        bool lost = err->conn_lost;   /* a new message, the same loss */

        mail_error_set(err, err->kind, "%s: %s: %s", s->name, what, rest);
        err->conn_lost = lost;
    }
    return -1;
}

typedef int (*untagged_fn)(void *arg, const struct mail_imap_resp *r,
                           struct mail_error *err);

struct waiter {
    struct mail_session *s;
    struct mail_imap_parser *p;
    const char *what;           /* for messages: "UID FETCH" */
    untagged_fn fn;
    void *arg;
    struct mail_buf bye;        /* text of an untagged BYE */
    bool cont_ok;               /* a "+" is expected (a literal to send) */
    bool got_cont;
    /* NULL, or true when a read failed because a sink stopped it: err is
     * then the sink's own, complete error, not to be prefixed. */
    const bool *sink_stopped;
};

static void imap_caps_from_resp(struct mail_session *s,
                                const struct mail_imap_resp *r)
{
    struct mail_buf b = MAIL_BUF_INIT;

    for (const struct mail_imap_node *c = r->args.child; c; c = c->next)
        if (mail_imap_node_str(c)) {
            mail_buf_addstr(&b, c->data);
            mail_buf_addch(&b, ' ');
        }
    if (b.data)
        imap_set_caps(s, b.data);
    mail_buf_release(&b);
}

/* Read one response; untagged ones are handled here and return 0 with
 * *tagged NULL; a tagged one returns 0 with *tagged set. */
static int wait_one(struct waiter *w, const struct mail_imap_resp **tagged,
                    struct mail_error *err)
{
    const struct mail_imap_resp *r;

    *tagged = NULL;
    if (mail_imap_read_response(w->p, w->s->conn, err) < 0) {
        if (w->sink_stopped && *w->sink_stopped)
            return -1;
        if (w->bye.len && err && err->kind == MAIL_ERR_UNAVAIL)
            return mail_error_set(err, MAIL_ERR_UNAVAIL,
                                  "%s: %s: the server closed the connection: "
                                  "%.200s", w->s->name, w->what, w->bye.data);
        return cmd_error(w->s, w->what, err);
    }
    r = &w->p->resp;
    if (r->kind == MAIL_IMAP_RESP_CONT && w->cont_ok) {
        w->cont_ok = false;
        w->got_cont = true;
        return 0;
    }
    if (r->kind == MAIL_IMAP_RESP_CONT)
        return mail_error_set(err, MAIL_ERR_PROTOCOL,
                              "%s: %s: unexpected continuation request",
                              w->s->name, w->what);
    if (r->kind == MAIL_IMAP_RESP_TAGGED) {
        *tagged = r;
        return 0;
    }
    if (r->type == MAIL_IMAP_T_STATUS && r->status == MAIL_IMAP_ST_BYE) {
        mail_buf_reset(&w->bye);
        mail_term_safe(&w->bye, r->text, strlen(r->text), MAIL_SAFE_ONELINE);
    }
    if (r->type == MAIL_IMAP_T_CAPABILITY)
        imap_caps_from_resp(w->s, r);
    if (r->type == MAIL_IMAP_T_STATUS && strcmp(r->code, "CAPABILITY") == 0)
        imap_set_caps(w->s, r->code_args);
    if (w->fn && w->fn(w->arg, r, err) < 0)
        return -1;
    return 0;
}

static void waiter_init(struct waiter *w, struct mail_session *s,
                        struct mail_imap_parser *p, const char *what,
                        untagged_fn fn, void *arg)
{
    w->s = s;
    w->p = p;
    w->what = what;
    w->fn = fn;
    w->arg = arg;
    w->cont_ok = w->got_cont = false;
    w->sink_stopped = NULL;
    mail_buf_init(&w->bye, 1024);
}

/*
 * Send one command (already formatted, without tag and CRLF), read its
 * responses (untagged to fn), and check the tagged reply: OK gives 0;
 * NO/BAD give -1 with the server's words and kind no_kind.  When code is
 * not NULL the tagged reply's code name and args are copied there.
 */
/* What a command needs beyond its text: a route for the literals of its
 * responses, and one literal argument sent after the server's "+"
 * (the command is then cmd, "{N}", the literal, tail). */
struct cmd_extra {
    mail_imap_route_fn route;
    void *route_arg;
    const char *lit;
    size_t litlen;
    const char *tail;
    /* a command sent just before, pipelined (its tag, NULL: none): its
     * tagged reply is read on the way and its status put in *pre_status
     * (-1 until then) */
    const char *pre_tag;
    int *pre_status;
};

static int run_cmd_x(struct mail_session *s, const char *what,
                     enum mail_error_kind no_kind, untagged_fn fn, void *arg,
                     struct mail_buf *code, struct mail_error *err,
                     const char *cmd, const struct cmd_extra *x);

static int run_cmd(struct mail_session *s, const char *what,
                   enum mail_error_kind no_kind, untagged_fn fn, void *arg,
                   struct mail_buf *code, struct mail_error *err,
                   const char *cmd)
{
    return run_cmd_x(s, what, no_kind, fn, arg, code, err, cmd, NULL);
}

/* The tagged reply t of a command: OK gives 0 (its code into code when
 * not NULL); NO/BAD give -1 with the server's words, kind no_kind, or
 * MAIL_ERR_NOTFOUND for [TRYCREATE]/[NONEXISTENT], MAIL_ERR_CANTCREAT for
 * [ALREADYEXISTS]. */
static int tagged_result(struct mail_session *s, const char *what,
                         enum mail_error_kind no_kind,
                         const struct mail_imap_resp *t,
                         struct mail_buf *code, struct mail_error *err)
{
    struct mail_reply rep;

    if (code) {
        mail_buf_reset(code);
        mail_buf_printf(code, "%s %s", t->code, t->code_args);
    }
    if (t->status == MAIL_IMAP_ST_OK)
        return 0;
    mail_reply_init(&rep);
    resp_to_reply(t, &rep);
    if (strcmp(t->code, "TRYCREATE") == 0 ||
        strcmp(t->code, "NONEXISTENT") == 0)
        no_kind = MAIL_ERR_NOTFOUND;
    else if (strcmp(t->code, "ALREADYEXISTS") == 0)
        no_kind = MAIL_ERR_CANTCREAT;
    mail_session_reply_error(s, &rep, no_kind, what, err);
    mail_reply_release(&rep);
    return -1;
}

/* Is t the tagged reply of the pipelined command before (x->pre_tag)?
 * Its status is kept. */
static bool pre_reply(const struct cmd_extra *x, const struct mail_imap_resp *t)
{
    if (!x || !x->pre_tag || strcmp(t->tag, x->pre_tag) != 0)
        return false;
    if (x->pre_status)
        *x->pre_status = (int)t->status;
    return true;
}

static int run_cmd_x(struct mail_session *s, const char *what,
                     enum mail_error_kind no_kind, untagged_fn fn, void *arg,
                     struct mail_buf *code, struct mail_error *err,
                     const char *cmd, const struct cmd_extra *x)
{
    struct mail_imap_parser p;
    struct waiter w;
    const struct mail_imap_resp *t = NULL;
    char tag[sizeof s->curtag];
    int rc = -1;

    mail_imap_parser_init(&p, NULL, x ? x->route : NULL,
                          x ? x->route_arg : NULL);
    waiter_init(&w, s, &p, what, fn, arg);
    if ((x && x->lit ? mail_imap_send(s, err, "%s{%zu}", cmd, x->litlen)
                     : mail_imap_send(s, err, "%s", cmd)) < 0 ||
        mail_conn_flush(s->conn, err) < 0) {
        cmd_error(s, what, err);
        goto done;
    }
    if (x && x->lit) {
        /* a synchronizing literal: wait for "+" (or the refusal) */
        w.cont_ok = true;
        while (!t && !w.got_cont) {
            if (wait_one(&w, &t, err) < 0)
                goto done;
            if (t && pre_reply(x, t))
                t = NULL;
        }
        if (w.got_cont &&
            (mail_conn_write(s->conn, x->lit, x->litlen, err) < 0 ||
             mail_conn_write(s->conn, x->tail ? x->tail : "",
                             x->tail ? strlen(x->tail) : 0, err) < 0 ||
             mail_conn_write(s->conn, "\r\n", 2, err) < 0 ||
             mail_conn_flush(s->conn, err) < 0)) {
            cmd_error(s, what, err);
            goto done;
        }
    }
    memcpy(tag, s->curtag, sizeof tag);
    while (!t) {
        if (wait_one(&w, &t, err) < 0)
            goto done;
        if (t && pre_reply(x, t))
            t = NULL;
    }
    if (strcmp(t->tag, tag) != 0) {
        mail_error_set(err, MAIL_ERR_PROTOCOL,
                       "%s: %s: reply with an unknown tag", s->name, what);
        goto done;
    }
    rc = tagged_result(s, what, no_kind, t, code, err);
done:
    mail_buf_release(&w.bye);
    mail_imap_parser_release(&p);
    return rc;
}

/* ---- helpers ---- */

static const struct {
    const char *name;
    unsigned flag;
} flag_names[] = {
    { "\\Seen", MAIL_FLAG_SEEN },
    { "\\Answered", MAIL_FLAG_ANSWERED },
    { "\\Flagged", MAIL_FLAG_FLAGGED },
    { "\\Draft", MAIL_FLAG_DRAFT },
    { "\\Deleted", MAIL_FLAG_DELETED },
    { "$Forwarded", MAIL_FLAG_PASSED },
    { "\\Recent", MAIL_FLAG_NEW },
};

static unsigned flag_of(const char *s)
{
    for (size_t i = 0; i < sizeof flag_names / sizeof flag_names[0]; i++)
        if (mail_strcasecmp(s, flag_names[i].name) == 0)
            return flag_names[i].flag;
    return 0;
}

unsigned mail_imap_flags_from_list(const struct mail_imap_node *list)
{
    unsigned f = 0;

    if (!list || list->type != MAIL_IMAP_LIST)
        return 0;
    for (const struct mail_imap_node *c = list->child; c; c = c->next)
        if (mail_imap_node_str(c))
            f |= flag_of(c->data);
    return f;
}

int mail_imap_flags_format(struct mail_buf *b, unsigned flags)
{
    bool first = true;

    for (size_t i = 0; i < sizeof flag_names / sizeof flag_names[0]; i++) {
        if (!(flags & flag_names[i].flag) ||
            flag_names[i].flag == MAIL_FLAG_NEW)
            continue;
        if ((!first && mail_buf_addch(b, ' ') < 0) ||
            mail_buf_addstr(b, flag_names[i].name) < 0)
            return -1;
        first = false;
    }
    return 0;
}

int mail_imap_uid_set(struct mail_buf *b, const uint32_t *uids, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t j = i;

        while (j + 1 < n && uids[j] != UINT32_MAX && uids[j + 1] == uids[j] + 1)
            j++;
        if ((i > 0 && mail_buf_addch(b, ',') < 0) ||
            (j > i ? mail_buf_printf(b, "%u:%u", (unsigned)uids[i],
                                     (unsigned)uids[j])
                   : mail_buf_printf(b, "%u", (unsigned)uids[i])) < 0)
            return -1;
        i = j + 1;
    }
    return 0;
}

int mail_imap_parse_date(const char *s, time_t *t)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    struct tm tm;
    int day, year, hh, mm, ss, zone, n = 0;
    char mon[4];
    const char *m;
    time_t v;

    memset(&tm, 0, sizeof tm);
    while (*s == ' ')
        s++;
    if (sscanf(s, "%2d-%3[A-Za-z]-%4d %2d:%2d:%2d %5d%n", &day, mon, &year,
               &hh, &mm, &ss, &zone, &n) != 7 || s[n] != '\0' ||
        strlen(mon) != 3)
        return -1;
    m = strstr(months, mon);
    if (!m || (m - months) % 3 || day < 1 || day > 31 || year < 1900 ||
        hh > 23 || mm > 59 || ss > 60 || zone < -2400 || zone > 2400 ||
        hh < 0 || mm < 0 || ss < 0 || (zone < 0 ? -zone : zone) % 100 > 59)
        return -1;
    tm.tm_mday = day;
    tm.tm_mon = (int)(m - months) / 3;
    tm.tm_year = year - 1900;
    tm.tm_hour = hh;
    tm.tm_min = mm;
    tm.tm_sec = ss;
    v = timegm(&tm);
    if (v == (time_t)-1)
        return -1;
    {
        int sign = zone < 0 ? -1 : 1, az = zone * sign;

        *t = v - sign * ((az / 100) * 3600 + (az % 100) * 60);
    }
    return 0;
}

int mail_imap_mailbox_arg(struct mail_buf *b, const char *utf8)
{
    struct mail_buf enc = MAIL_BUF_INIT;
    int rc = -1;

    if (mail_mutf7_encode(&enc, utf8, strlen(utf8)) < 0 ||
        mail_buf_addch(b, '"') < 0)
        goto done;
    for (size_t i = 0; i < enc.len; i++)
        if (((enc.data[i] == '"' || enc.data[i] == '\\') &&
             mail_buf_addch(b, '\\') < 0) ||
            mail_buf_addch(b, enc.data[i]) < 0)
            goto done;
    rc = mail_buf_addch(b, '"');
done:
    mail_buf_release(&enc);
    return rc;
}

/* A command line into cmd, with "out of memory" as the only failure. */
static int fmt_cmd(struct mail_buf *cmd, struct mail_error *err,
                   const char *fmt, ...) MAIL_PRINTF(3, 4);
static int fmt_cmd(struct mail_buf *cmd, struct mail_error *err,
                   const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = mail_buf_vprintf(cmd, fmt, ap);
    va_end(ap);
    return rc < 0 ? mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory")
                  : 0;
}

/* ---- LIST ---- */

static const struct {
    const char *name;
    unsigned attr;
} mbx_attrs[] = {
    { "\\Noselect", MAIL_IMAP_MBX_NOSELECT },
    { "\\NoInferiors", MAIL_IMAP_MBX_NOINFERIORS },
    { "\\HasChildren", MAIL_IMAP_MBX_HASCHILDREN },
    { "\\HasNoChildren", MAIL_IMAP_MBX_HASNOCHILDREN },
    { "\\Marked", MAIL_IMAP_MBX_MARKED },
    { "\\Unmarked", MAIL_IMAP_MBX_UNMARKED },
    { "\\NonExistent", MAIL_IMAP_MBX_NONEXISTENT | MAIL_IMAP_MBX_NOSELECT },
    { "\\All", MAIL_IMAP_MBX_ALL },
    { "\\Archive", MAIL_IMAP_MBX_ARCHIVE },
    { "\\Drafts", MAIL_IMAP_MBX_DRAFTS },
    { "\\Flagged", MAIL_IMAP_MBX_FLAGGED },
    { "\\Junk", MAIL_IMAP_MBX_JUNK },
    { "\\Sent", MAIL_IMAP_MBX_SENT },
    { "\\Trash", MAIL_IMAP_MBX_TRASH },
    { "\\Important", MAIL_IMAP_MBX_IMPORTANT },
};

/*
 * Every name of a LIST reply is kept until the command ends: bound it.  A
 * name longer than MAILBOX_NAME_MAX (or holding a NUL) is skipped and
 * counted; more than MAILBOXES_MAX names or MAILBOXES_BYTES_MAX bytes of
 * names is a protocol error.
 */
struct list_ctx {
    struct mail_session *s;
    struct mail_imap_mailboxes *l;
    size_t bytes;
    size_t skipped;
};

static int list_discard(void *ctx, const char *data, size_t len,
                        struct mail_error *err)
{
    (void)ctx;
    (void)data;
    (void)len;
    (void)err;
    return 0;
}

/* A literal longer than a mailbox name may be is not kept in memory. */
static int list_route(void *arg, const struct mail_imap_resp *resp,
                      const struct mail_imap_node *list,
                      const struct mail_imap_node *prev, uint64_t size,
                      mail_sink_fn *sink, void **sink_ctx,
                      struct mail_error *err)
{
    (void)arg;
    (void)list;
    (void)prev;
    (void)err;
    if ((resp->type == MAIL_IMAP_T_LIST || resp->type == MAIL_IMAP_T_LSUB) &&
        size > MAILBOX_NAME_MAX) {
        *sink = list_discard;
        *sink_ctx = NULL;
    }
    return 0;
}

/* A name that is not modified UTF-7 (or does not encode back to the same
 * bytes) is shown as its bytes, printable ASCII as is and the rest as
 * \xHH: two server names never give the same local name. */
static int mailbox_display_name(struct mail_buf *out, const char *raw,
                                size_t len)
{
    struct mail_buf back = MAIL_BUF_INIT;
    bool ok;

    mail_buf_reset(out);
    ok = mail_mutf7_decode(out, raw, len) == 0 &&
         mail_mutf7_encode(&back, out->data ? out->data : "", out->len) == 0 &&
         back.len == len && memcmp(back.data ? back.data : "", raw, len) == 0;
    mail_buf_release(&back);
    if (ok)
        return 1;
    mail_buf_reset(out);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)raw[i];

        if (c >= 0x20 && c < 0x7f && c != '\\' ? mail_buf_addch(out, (char)c)
                                               : mail_buf_printf(out, "\\x%02x",
                                                                 c))
            return -1;
    }
    return out->data ? 0 : mail_buf_addstr(out, "");
}

static int list_untagged(void *arg, const struct mail_imap_resp *r,
                         struct mail_error *err)
{
    struct list_ctx *c = arg;
    struct mail_imap_mailboxes *l = c->l;
    const struct mail_imap_node *attrs = mail_imap_node_at(&r->args, 0),
                                *delim = mail_imap_node_at(&r->args, 1),
                                *name = mail_imap_node_at(&r->args, 2);
    struct mail_imap_mailbox *m, *v;
    struct mail_buf dec = MAIL_BUF_INIT;
    const char *raw;
    size_t rawlen;
    int d;

    if (r->type != MAIL_IMAP_T_LIST)
        return 0;
    if (!attrs || attrs->type != MAIL_IMAP_LIST || !delim || !name ||
        (delim->type != MAIL_IMAP_NIL && !mail_imap_node_str(delim)))
        return mail_error_set(err, MAIL_ERR_PROTOCOL,
                              "%s: LIST: malformed LIST response", c->s->name);
    raw = mail_imap_node_str(name);
    if (!raw && name->type != MAIL_IMAP_STREAMED)
        return mail_error_set(err, MAIL_ERR_PROTOCOL,
                              "%s: LIST: malformed LIST response", c->s->name);
    if (!raw || name->len > MAILBOX_NAME_MAX || name->len == 0 ||
        strlen(raw) != name->len) {
        c->skipped++;   /* too long, empty or with a NUL: not usable */
        return 0;
    }
    rawlen = (size_t)name->len;
    if (l->n >= MAILBOXES_MAX || c->bytes > MAILBOXES_BYTES_MAX - 8 * rawlen)
        return mail_error_set(err, MAIL_ERR_PROTOCOL,
                              "%s: LIST: more than %u mailboxes or %u MiB of "
                              "names in the server's reply", c->s->name,
                              (unsigned)MAILBOXES_MAX,
                              (unsigned)(MAILBOXES_BYTES_MAX >> 20));
    v = realloc(l->v, (l->n + 1) * sizeof *l->v);
    if (!v)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    l->v = v;
    m = &l->v[l->n];
    memset(m, 0, sizeof *m);
    for (const struct mail_imap_node *a = attrs->child; a; a = a->next)
        for (size_t i = 0; i < sizeof mbx_attrs / sizeof mbx_attrs[0]; i++)
            if (mail_imap_node_is(a, mbx_attrs[i].name))
                m->attrs |= mbx_attrs[i].attr;
    m->delim = delim->type == MAIL_IMAP_NIL ? '\0' : delim->data[0];
    if (mail_strcasecmp(raw, "INBOX") == 0)
        raw = "INBOX";
    m->raw = strdup(raw);
    d = mailbox_display_name(&dec, raw, rawlen);
    m->name = d < 0 ? NULL : mail_buf_detach(&dec);
    mail_buf_release(&dec);
    if (!m->raw || !m->name) {
        free(m->raw);
        free(m->name);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    c->bytes += strlen(m->raw) + strlen(m->name) + 2 + sizeof *m;
    l->n++;
    return 0;
}

void mail_imap_mailboxes_release(struct mail_imap_mailboxes *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].raw);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* Does a mailbox argument for name (modified UTF-7, quoted) give
 * exactly raw?  If not, SELECT/EXAMINE of name must send raw. */
static bool name_gives_raw(const char *name, const char *raw)
{
    struct mail_buf enc = MAIL_BUF_INIT;
    bool same = mail_mutf7_encode(&enc, name, strlen(name)) == 0 &&
                strcmp(enc.data ? enc.data : "", raw) == 0;

    mail_buf_release(&enc);
    return same;
}

/* Remember the mailboxes whose display name does not lead back to the
 * server's name. */
static int remember_aliases(struct mail_session *s,
                            const struct mail_imap_mailboxes *l)
{
    struct imap_state *st = s->proto_data;
    struct mail_imap_mailbox *v;
    size_t n = 0;

    if (!st)
        return 0;
    for (size_t i = 0; i < st->nalias; i++) {
        free(st->alias[i].name);
        free(st->alias[i].raw);
    }
    free(st->alias);
    st->alias = NULL;
    st->nalias = 0;
    for (size_t i = 0; i < l->n; i++)
        n += !name_gives_raw(l->v[i].name, l->v[i].raw);
    if (n == 0)
        return 0;
    v = calloc(n, sizeof *v);
    if (!v)
        return -1;
    st->alias = v;
    for (size_t i = 0; i < l->n; i++) {
        if (name_gives_raw(l->v[i].name, l->v[i].raw))
            continue;
        v->name = strdup(l->v[i].name);
        v->raw = strdup(l->v[i].raw);
        st->nalias++;
        if (!v->name || !v->raw)
            return -1;
        v++;
    }
    return 0;
}

int mail_imap_list_counted(struct mail_session *s,
                           struct mail_imap_mailboxes *out, size_t *skipped,
                           struct mail_error *err)
{
    bool special = mail_session_has_cap(s, "LIST-EXTENDED") &&
                   mail_session_has_cap(s, "SPECIAL-USE");
    struct list_ctx c = { s, out, 0, 0 };
    struct cmd_extra x = { list_route, NULL, NULL, 0, NULL, NULL, NULL };

    out->v = NULL;
    out->n = 0;
    if (skipped)
        *skipped = 0;
    if (run_cmd_x(s, "LIST", MAIL_ERR_UNAVAIL, list_untagged, &c, NULL, err,
                  special ? "LIST \"\" \"*\" RETURN (SPECIAL-USE)"
                          : "LIST \"\" \"*\"", &x) < 0) {
        mail_imap_mailboxes_release(out);
        return -1;
    }
    if (remember_aliases(s, out) < 0) {
        mail_imap_mailboxes_release(out);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    if (skipped)
        *skipped = c.skipped;
    return 0;
}

int mail_imap_list(struct mail_session *s, struct mail_imap_mailboxes *out,
                   struct mail_error *err)
{
    return mail_imap_list_counted(s, out, NULL, err);
}

/* ---- SELECT / EXAMINE ---- */

static int u32_arg(const char *s, uint32_t *v)
{
    char *end;
    unsigned long long x;

    if (*s < '0' || *s > '9')
        return -1;
    x = strtoull(s, &end, 10);
    if (x > UINT32_MAX || (*end && *end != ' '))
        return -1;
    *v = (uint32_t)x;
    return 0;
}

struct select_ctx {
    struct mail_imap_mailbox_state *st;
    const struct mail_imap_qresync *q;   /* NULL: no QRESYNC */
    bool enabled;                        /* "* ENABLED QRESYNC" heard */
};

static int select_untagged(void *arg, const struct mail_imap_resp *r,
                           struct mail_error *err)
{
    struct select_ctx *sc = arg;
    struct mail_imap_mailbox_state *st = sc->st;

    switch (r->type) {
    case MAIL_IMAP_T_ENABLED:
        for (const struct mail_imap_node *n = r->args.child; n; n = n->next)
            if (mail_imap_node_is(n, "QRESYNC"))
                sc->enabled = true;
        break;
    case MAIL_IMAP_T_VANISHED:
    case MAIL_IMAP_T_FETCH:
        if (sc->q && sc->q->fn)
            return sc->q->fn(sc->q->arg, r, err);
        break;
    case MAIL_IMAP_T_EXISTS:
        st->exists = r->number;
        break;
    case MAIL_IMAP_T_RECENT:
        st->recent = r->number;
        break;
    case MAIL_IMAP_T_FLAGS:
        st->flags = mail_imap_flags_from_list(r->args.child);
        break;
    case MAIL_IMAP_T_STATUS:
        if (strcmp(r->code, "UIDVALIDITY") == 0)
            u32_arg(r->code_args, &st->uidvalidity);
        else if (strcmp(r->code, "UIDNEXT") == 0)
            u32_arg(r->code_args, &st->uidnext);
        else if (strcmp(r->code, "HIGHESTMODSEQ") == 0)
            st->highestmodseq = strtoull(r->code_args, NULL, 10);
        else if (strcmp(r->code, "NOMODSEQ") == 0)
            st->highestmodseq = 0;
        else if (strcmp(r->code, "PERMANENTFLAGS") == 0) {
            /* "(\Seen \Deleted \*)": split on spaces and parentheses */
            const char *p = r->code_args;

            st->permanentflags = 0;
            while (*p) {
                size_t k = strcspn(p, " ()");
                char f[32];

                if (k > 0 && k < sizeof f) {
                    memcpy(f, p, k);
                    f[k] = '\0';
                    st->permanentflags |= flag_of(f);
                }
                p += k;
                if (*p)
                    p++;
            }
        }
        break;
    default:
        break;
    }
    return 0;
}

/* The server's name for a display name from the last LIST, or NULL. */
static const char *alias_raw(const struct mail_session *s, const char *name)
{
    const struct imap_state *st = s->proto_data;

    for (size_t i = 0; st && i < st->nalias; i++)
        if (strcmp(st->alias[i].name, name) == 0)
            return st->alias[i].raw;
    return NULL;
}

static bool quotable(const char *raw)
{
    for (const unsigned char *p = (const unsigned char *)raw; *p; p++)
        if (*p < 0x20 || *p >= 0x7f)
            return false;
    return true;
}

/* Does name hold "\xHH", as mailbox_display_name writes a byte of a
 * server name that is not modified UTF-7? */
static bool escaped_name(const char *name)
{
    for (const char *p = strstr(name, "\\x"); p; p = strstr(p + 1, "\\x"))
        if (mail_hex_value(p[2]) >= 0 && mail_hex_value(p[3]) >= 0)
            return true;
    return false;
}

/* A LIST for its aliases (remember_aliases); false when it failed. */
static bool learn_aliases(struct mail_session *s)
{
    struct mail_imap_mailboxes l;
    struct mail_error e;

    mail_error_clear(&e);
    if (mail_imap_list(s, &l, &e) < 0)
        return false;
    mail_imap_mailboxes_release(&l);
    return true;
}

/* "VERB name" with name as UTF-8 (raw NULL) or as the server's own bytes
 * (raw: quoted when it can be, else a literal). */
static int imap_select_cmd(struct mail_session *s, const char *verb,
                           const char *name, const char *raw,
                           const struct mail_imap_qresync *q,
                           struct mail_imap_mailbox_state *st,
                           struct mail_error *err)
{
    struct mail_buf cmd = MAIL_BUF_INIT, what = MAIL_BUF_INIT,
                    code = MAIL_BUF_INIT;
    struct cmd_extra x = { NULL, NULL, NULL, 0, NULL, NULL, NULL };
    struct imap_state *is = s->proto_data;
    struct select_ctx sc = { st, NULL, false };
    char qtail[96], enable_tag[sizeof s->curtag];
    int enable_status = -1;
    const char *tail = mail_session_has_cap(s, "CONDSTORE") ? " (CONDSTORE)"
                                                            : "";
    int rc = -1;

    memset(st, 0, sizeof *st);
    /* QRESYNC (RFC 7162 3.2.5): ENABLE once per session, pipelined with
     * the SELECT, which then reports what changed since q->modseq */
    if (q && q->uidvalidity && q->modseq && is &&
        (is->qresync || (mail_session_has_cap(s, "ENABLE") &&
                         mail_session_has_cap(s, "QRESYNC")))) {
        if (q->known_last)
            mail_snprintf(qtail, sizeof qtail, " (QRESYNC (%u %llu 1:%u))",
                          (unsigned)q->uidvalidity,
                          (unsigned long long)q->modseq,
                          (unsigned)q->known_last);
        else
            mail_snprintf(qtail, sizeof qtail, " (QRESYNC (%u %llu))",
                          (unsigned)q->uidvalidity,
                          (unsigned long long)q->modseq);
        if (!is->qresync) {
            if (mail_imap_send(s, err, "ENABLE QRESYNC") < 0) {
                cmd_error(s, "ENABLE", err);
                goto done;
            }
            memcpy(enable_tag, s->curtag, sizeof enable_tag);
            x.pre_tag = enable_tag;
            x.pre_status = &enable_status;
        }
        tail = qtail;
        sc.q = q;
    }
    if (!raw)
        raw = alias_raw(s, name);
    if (fmt_cmd(&cmd, err, "%s ", verb) < 0)
        goto done;
    if (!raw && mail_imap_mailbox_arg(&cmd, name) < 0) {
        mail_error_set(err, MAIL_ERR_USAGE,
                       "%s: mailbox name is not valid UTF-8", s->name);
        goto done;
    }
    if (raw && quotable(raw)) {
        int r = mail_buf_addch(&cmd, '"');

        for (const char *p = raw; *p && r == 0; p++)
            r = ((*p == '"' || *p == '\\') ? mail_buf_addch(&cmd, '\\') : 0) |
                mail_buf_addch(&cmd, *p);
        if (r < 0 || mail_buf_addch(&cmd, '"') < 0) {
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            goto done;
        }
    } else if (raw && (mail_session_has_cap(s, "LITERAL+") ||
                       (mail_session_has_cap(s, "LITERAL-") &&
                        strlen(raw) <= 4096))) {
        if (fmt_cmd(&cmd, err, "{%zu+}\r\n%s", strlen(raw), raw) < 0)
            goto done;
    } else if (raw) {
        x.lit = raw;       /* "{N}", wait for "+", then the name */
        x.litlen = strlen(raw);
        x.tail = tail;
        tail = "";
    }
    if (fmt_cmd(&cmd, err, "%s", tail) < 0)
        goto done;
    mail_buf_printf(&what, "%s ", verb);
    mail_term_safe(&what, name, strlen(name), MAIL_SAFE_ONELINE);
    if (!what.data) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto done;
    }
    rc = run_cmd_x(s, what.data, MAIL_ERR_NOTFOUND, select_untagged, &sc,
                   &code, err, cmd.data, &x);
    if (sc.q && x.pre_tag && sc.enabled &&
        enable_status == (int)MAIL_IMAP_ST_OK)
        is->qresync = true;
    if (rc == 0) {
        st->read_only = code.data &&
                        strncmp(code.data, "READ-ONLY", 9) == 0;
        st->qresync = sc.q && is->qresync;
    } else if (sc.q && !is->qresync && !err->conn_lost &&
               (err->kind == MAIL_ERR_NOTFOUND ||
                err->kind == MAIL_ERR_UNAVAIL)) {
        /* the server offered QRESYNC but would not have it (ENABLE or
         * the SELECT parameters refused): select without */
        mail_buf_release(&cmd);
        mail_buf_release(&what);
        mail_buf_release(&code);
        mail_error_clear(err);
        return imap_select_cmd(s, verb, name, raw, NULL, st, err);
    } else if (!raw && !err->conn_lost && err->kind == MAIL_ERR_NOTFOUND &&
               escaped_name(name) && learn_aliases(s) &&
               alias_raw(s, name)) {
        /* a name `folders --remote` showed with \xHH (the server's bytes
         * are not modified UTF-7) in a session that has not listed yet:
         * the LIST just made knows the server's own bytes */
        mail_buf_release(&cmd);
        mail_buf_release(&what);
        mail_buf_release(&code);
        mail_error_clear(err);
        return imap_select_cmd(s, verb, name, alias_raw(s, name), q, st,
                               err);
    }
done:
    mail_buf_release(&cmd);
    mail_buf_release(&what);
    mail_buf_release(&code);
    return rc;
}

int mail_imap_select(struct mail_session *s, const char *name,
                     struct mail_imap_mailbox_state *st,
                     struct mail_error *err)
{
    return imap_select_cmd(s, "SELECT", name, NULL, NULL, st, err);
}

int mail_imap_examine(struct mail_session *s, const char *name,
                      struct mail_imap_mailbox_state *st,
                      struct mail_error *err)
{
    return imap_select_cmd(s, "EXAMINE", name, NULL, NULL, st, err);
}

int mail_imap_select_qresync(struct mail_session *s, const char *name,
                             bool rw, const struct mail_imap_qresync *q,
                             struct mail_imap_mailbox_state *st,
                             struct mail_error *err)
{
    return imap_select_cmd(s, rw ? "SELECT" : "EXAMINE", name, NULL, q, st,
                           err);
}

const char *mail_imap_vanished(const struct mail_imap_resp *r, bool *earlier)
{
    const struct mail_imap_node *n;

    *earlier = false;
    if (r->kind != MAIL_IMAP_RESP_UNTAGGED || r->type != MAIL_IMAP_T_VANISHED)
        return NULL;
    n = r->args.child;
    if (n && n->type == MAIL_IMAP_LIST) {
        /* "(EARLIER)" */
        if (n->child && !n->child->next && mail_imap_node_is(n->child,
                                                             "EARLIER"))
            *earlier = true;
        n = n->next;
    }
    if (!n || n->type != MAIL_IMAP_ATOM || n->next)
        return NULL;
    return n->data;
}

/* One number of a set: 1 to 2^32-1; *p moved past it. */
static int set_number(const char **p, uint32_t *v)
{
    uint64_t x = 0;
    const char *s = *p;

    if (*s < '1' || *s > '9')
        return -1;
    while (*s >= '0' && *s <= '9') {
        x = x * 10 + (uint64_t)(*s - '0');
        if (x > UINT32_MAX)
            return -1;
        s++;
    }
    *v = (uint32_t)x;
    *p = s;
    return 0;
}

/* Walk set: 0 when well formed (fn, when not NULL, called per range). */
static int set_walk(const char *set,
                    void (*fn)(void *arg, uint32_t a, uint32_t b), void *arg)
{
    const char *p = set;

    if (!p || !*p)
        return -1;
    for (;;) {
        uint32_t a, b;

        if (set_number(&p, &a) < 0)
            return -1;
        b = a;
        if (*p == ':') {
            p++;
            if (set_number(&p, &b) < 0)
                return -1;
        }
        if (fn)
            fn(arg, a < b ? a : b, a < b ? b : a);
        if (!*p)
            return 0;
        if (*p != ',')
            return -1;
        p++;
    }
}

int mail_imap_set_ranges(const char *set,
                         void (*fn)(void *arg, uint32_t a, uint32_t b),
                         void *arg, struct mail_error *err)
{
    if (set_walk(set, NULL, NULL) < 0)
        return mail_error_set(err, MAIL_ERR_PROTOCOL,
                              "a malformed UID set from the server");
    set_walk(set, fn, arg);
    return 0;
}

int mail_imap_select_mailbox(struct mail_session *s,
                             const struct mail_imap_mailbox *m, bool rw,
                             struct mail_imap_mailbox_state *st,
                             struct mail_error *err)
{
    return imap_select_cmd(s, rw ? "SELECT" : "EXAMINE", m->name, m->raw,
                           NULL, st, err);
}

/* ---- UIDs ---- */

void mail_imap_uids_release(struct mail_imap_uids *u)
{
    free(u->v);
    u->v = NULL;
    u->n = u->alloc = 0;
}

static int uids_add(struct mail_imap_uids *u, uint32_t uid,
                    struct mail_error *err)
{
    if (u->n == u->alloc) {
        size_t na = u->alloc ? u->alloc * 2 : 256;
        uint32_t *v;

        if (na > UIDS_MAX)
            return mail_error_set(err, MAIL_ERR_PROTOCOL, "too many messages");
        v = realloc(u->v, na * sizeof *v);
        if (!v)
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        u->v = v;
        u->alloc = na;
    }
    u->v[u->n++] = uid;
    return 0;
}

struct uids_ctx {
    struct mail_imap_uids *out;
    uint32_t after;
};

static int uids_untagged(void *arg, const struct mail_imap_resp *r,
                         struct mail_error *err)
{
    struct uids_ctx *c = arg;
    uint32_t uid;

    if (r->type != MAIL_IMAP_T_FETCH ||
        mail_imap_node_u32(mail_imap_fetch_item(r, "UID"), &uid) < 0 ||
        uid <= c->after)
        return 0;
    return uids_add(c->out, uid, err);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

int mail_imap_uids_after(struct mail_session *s, uint32_t after,
                         struct mail_imap_uids *out, struct mail_error *err)
{
    struct uids_ctx c = { out, after };
    char cmd[64];
    size_t k = 0;

    memset(out, 0, sizeof *out);
    if (after == UINT32_MAX)
        return 0;
    snprintf(cmd, sizeof cmd, "UID FETCH %u:* (UID)", (unsigned)after + 1);
    if (run_cmd(s, "UID FETCH", MAIL_ERR_UNAVAIL, uids_untagged, &c, NULL, err,
                cmd) < 0) {
        mail_imap_uids_release(out);
        return -1;
    }
    if (out->n) {
        qsort(out->v, out->n, sizeof *out->v, cmp_u32);
        for (size_t i = 1; i < out->n; i++)
            if (out->v[i] != out->v[k])
                out->v[++k] = out->v[i];
        out->n = k + 1;
    }
    return 0;
}

/* ---- FETCH of whole messages ---- */

/*
 * RFC 3501 7.4.2 fixes no order of the items of a FETCH response: the UID
 * may come after the body.  A body whose UID is known when its literal
 * starts streams straight into the caller's sink; one whose UID is not yet
 * known is spooled to an unlinked temporary file and handed over once the
 * whole response is read.  A body whose UID is missing or was not asked
 * for is a protocol error; a UID already delivered in this call is not
 * delivered again.
 */

enum body_route {
    BODY_NONE,      /* no body in this response (yet) */
    BODY_DIRECT,    /* streaming into the caller's sink */
    BODY_SPOOL,     /* into the spool file: UID not yet known */
    BODY_SKIP,      /* discarded: a duplicate, or a command failed */
};

struct fetch_ctx {
    struct mail_session *s;
    mail_imap_body_begin_fn begin;
    mail_imap_body_end_fn end;
    void *arg;
    uint32_t *want;        /* the UIDs asked for: ascending, unique */
    unsigned char *got;    /* per want[]: delivered already */
    size_t nwant;
    struct mail_imap_msg msg;
    enum body_route body;  /* of the response being read */
    bool failed;           /* a command failed: drain, report nothing */
    /* The caller's sink or the spool stopped the reading: the err the
     * parser was given holds their own error (see struct waiter). */
    bool sink_stopped;
    struct mail_imap_body_sink us;   /* the caller's sink for this body */
    const char *tmp_dir;   /* where the spool file is made */
    FILE *spool;
};

static void msg_from_list(struct mail_imap_msg *m, uint32_t seq,
                          const struct mail_imap_node *list)
{
    memset(m, 0, sizeof *m);
    m->seq = seq;
    m->internaldate = (time_t)-1;
    if (!list || list->type != MAIL_IMAP_LIST)
        return;
    for (const struct mail_imap_node *c = list->child; c && c->next;
         c = c->next->next) {
        const struct mail_imap_node *v = c->next;

        if (mail_imap_node_is(c, "UID"))
            m->has_uid = mail_imap_node_u32(v, &m->uid) == 0;
        else if (mail_imap_node_is(c, "FLAGS")) {
            m->flags = mail_imap_flags_from_list(v);
            m->has_flags = v->type == MAIL_IMAP_LIST;
        } else if (mail_imap_node_is(c, "INTERNALDATE"))
            m->has_date = mail_imap_node_str(v) &&
                          mail_imap_parse_date(v->data, &m->internaldate) == 0;
        else if (mail_imap_node_is(c, "RFC822.SIZE"))
            m->has_size = mail_imap_node_u64(v, &m->size) == 0;
        else if (v->type == MAIL_IMAP_STREAMED)
            m->body_size = v->len;
    }
}

static bool is_body_item(const struct mail_imap_node *n)
{
    return mail_imap_node_is(n, "BODY[]") ||
           mail_imap_node_is(n, "BODY.PEEK[]") ||
           mail_imap_node_is(n, "RFC822");
}

/* Index of uid in c->want, or -1. */
static long want_index(const struct fetch_ctx *c, uint32_t uid)
{
    size_t lo = 0, hi = c->nwant;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (c->want[mid] < uid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->nwant && c->want[lo] == uid ? (long)lo : -1;
}

static int unasked(struct fetch_ctx *c, uint32_t uid, struct mail_error *err)
{
    return mail_error_set(err, MAIL_ERR_PROTOCOL,
                          "%s: UID FETCH: the server sent the body of UID %u, "
                          "which was not asked for", c->s->name,
                          (unsigned)uid);
}

static int discard_sink(void *ctx, const char *data, size_t len,
                        struct mail_error *err)
{
    (void)ctx;
    (void)data;
    (void)len;
    (void)err;
    return 0;
}

/* The caller's sink: its failure (err as it set it: the reason the store
 * gave) stops the reading as it is. */
static int fetch_sink(void *ctx, const char *data, size_t len,
                      struct mail_error *err)
{
    struct fetch_ctx *c = ctx;

    if (c->us.fn && c->us.fn(c->us.ctx, data, len, err) < 0) {
        c->sink_stopped = true;
        return -1;
    }
    return 0;
}

/* The spool file failed (e: its errno). */
static int spool_failed(struct fetch_ctx *c, int e, struct mail_error *err)
{
    c->sink_stopped = true;
    return mail_error_set(err, MAIL_ERR_IO,
                          "%s: UID FETCH: could not spool a message body to a "
                          "temporary file in %s: %s", c->s->name,
                          c->tmp_dir ? c->tmp_dir : "/tmp",
                          strerror(e ? e : EIO));
}

static int spool_sink(void *ctx, const char *data, size_t len,
                      struct mail_error *err)
{
    struct fetch_ctx *c = ctx;

    errno = 0;
    if (fwrite(data, 1, len, c->spool) != len)
        return spool_failed(c, errno, err);
    return 0;
}

/* An empty spool file for the body of this response. */
static int spool_reset(struct fetch_ctx *c, struct mail_error *err)
{
    if (!c->spool) {
        int fd = mail_tmpfile(c->tmp_dir, err);

        if (fd < 0) {
            c->sink_stopped = true;
            return -1;
        }
        c->spool = fdopen(fd, "w+");
        if (!c->spool) {
            int e = errno;

            close(fd);
            return spool_failed(c, e, err);
        }
    }
    errno = 0;
    if (fseeko(c->spool, 0, SEEK_SET) != 0 ||
        ftruncate(fileno(c->spool), 0) != 0)
        return spool_failed(c, errno, err);
    return 0;
}

static int fetch_route(void *arg, const struct mail_imap_resp *resp,
                       const struct mail_imap_node *list,
                       const struct mail_imap_node *prev, uint64_t size,
                       mail_sink_fn *sink, void **sink_ctx,
                       struct mail_error *err)
{
    struct fetch_ctx *c = arg;
    long k;

    if (resp->type != MAIL_IMAP_T_FETCH || list != resp->args.child ||
        !is_body_item(prev))
        return 0;   /* small literals stay in the tree */
    *sink_ctx = c;
    if (c->body != BODY_NONE || c->failed) {
        /* a second body in one response, or draining after a NO */
        if (c->body == BODY_NONE)
            c->body = BODY_SKIP;
        *sink = discard_sink;
        return 0;
    }
    msg_from_list(&c->msg, resp->number, list);
    c->msg.body_size = size;
    if (!c->msg.has_uid) {
        /* The UID may still come: keep the body until it does. */
        if (spool_reset(c, err) < 0)
            return -1;
        c->body = BODY_SPOOL;
        *sink = spool_sink;
        return 0;
    }
    k = want_index(c, c->msg.uid);
    if (k < 0)
        return unasked(c, c->msg.uid, err);
    if (c->got[k]) {
        c->body = BODY_SKIP;   /* the same UID twice: delivered once */
        *sink = discard_sink;
        return 0;
    }
    c->got[k] = 1;
    c->body = BODY_DIRECT;
    memset(&c->us, 0, sizeof c->us);
    *sink = fetch_sink;
    return c->begin ? c->begin(c->arg, &c->msg, &c->us, err) : 0;
}

/* The whole response of a spooled body is in: deliver it. */
static int spool_deliver(struct fetch_ctx *c, struct mail_error *err)
{
    char buf[MAIL_IMAP_CHUNK];
    uint64_t left = c->msg.body_size;
    long k;

    if (!c->msg.has_uid)
        return mail_error_set(err, MAIL_ERR_PROTOCOL,
                              "%s: UID FETCH: the server sent the body of "
                              "message %u without its UID", c->s->name,
                              (unsigned)c->msg.seq);
    k = want_index(c, c->msg.uid);
    if (k < 0)
        return unasked(c, c->msg.uid, err);
    if (c->got[k])
        return 0;   /* the same UID twice: delivered once */
    c->got[k] = 1;
    errno = 0;
    if (fflush(c->spool) != 0 || fseeko(c->spool, 0, SEEK_SET) != 0)
        return spool_failed(c, errno, err);
    memset(&c->us, 0, sizeof c->us);
    if (c->begin && c->begin(c->arg, &c->msg, &c->us, err) < 0)
        return -1;
    while (c->us.fn && left > 0) {
        size_t want = left < sizeof buf ? (size_t)left : sizeof buf;
        size_t got;

        errno = 0;
        got = fread(buf, 1, want, c->spool);
        if (got != want)
            return spool_failed(c, ferror(c->spool) ? errno : EIO, err);
        if (c->us.fn(c->us.ctx, buf, got, err) < 0)
            return -1;      /* the sink's own error */
        left -= got;
    }
    return c->end ? c->end(c->arg, &c->msg, err) : 0;
}

static int fetch_untagged(void *arg, const struct mail_imap_resp *r,
                          struct mail_error *err)
{
    struct fetch_ctx *c = arg;
    enum body_route body = c->body;

    c->body = BODY_NONE;
    /* EXISTS, EXPUNGE, FLAGS updates of other messages, OK [ALERT], ...:
     * nothing to deliver. */
    if (r->type != MAIL_IMAP_T_FETCH || body == BODY_NONE ||
        body == BODY_SKIP || c->failed)
        return 0;
    {
        uint64_t size = c->msg.body_size;

        msg_from_list(&c->msg, r->number, r->args.child);
        c->msg.body_size = size;
    }
    if (body == BODY_SPOOL)
        return spool_deliver(c, err);
    return c->end ? c->end(c->arg, &c->msg, err) : 0;
}

static int cmp_u32(const void *a, const void *b);

int mail_imap_fetch_messages(struct mail_session *s, const uint32_t *uids,
                             size_t n, const struct mail_imap_fetch_opts *o,
                             mail_imap_body_begin_fn begin,
                             mail_imap_body_end_fn end, void *arg,
                             struct mail_error *err)
{
    struct fetch_ctx c;
    struct mail_imap_parser p;
    struct waiter w;
    struct mail_buf cmd = MAIL_BUF_INIT;
    struct mail_error saved;
    char tags[FETCH_WINDOW][sizeof s->curtag];
    size_t inflight = 0, next = 0;
    size_t batch = o ? o->batch : 0;
    int rc = -1;

    memset(&c, 0, sizeof c);
    c.s = s;
    c.tmp_dir = o ? o->tmp_dir : NULL;
    c.begin = begin;
    c.end = end;
    c.arg = arg;
    mail_error_clear(&saved);
    if (err)
        mail_error_clear(err);
    if (batch == 0)
        batch = FETCH_BATCH;
    mail_imap_parser_init(&p, NULL, fetch_route, &c);
    waiter_init(&w, s, &p, "UID FETCH", fetch_untagged, &c);
    w.sink_stopped = &c.sink_stopped;
    c.want = malloc((n ? n : 1) * sizeof *c.want);
    c.got = calloc(n ? n : 1, 1);
    if (!c.want || !c.got) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto done;
    }
    if (n) {
        memcpy(c.want, uids, n * sizeof *uids);
        qsort(c.want, n, sizeof *c.want, cmp_u32);
        c.nwant = 1;
        for (size_t i = 1; i < n; i++)
            if (c.want[i] != c.want[c.nwant - 1])
                c.want[c.nwant++] = c.want[i];
    }
    for (;;) {
        const struct mail_imap_resp *t;
        bool sent = false;
        size_t i;

        while (!c.failed && next < n && inflight < FETCH_WINDOW) {
            size_t k = n - next < batch ? n - next : batch;

            mail_buf_reset(&cmd);
            if (fmt_cmd(&cmd, err, "UID FETCH ") < 0)
                goto done;
            if (mail_imap_uid_set(&cmd, uids + next, k) < 0 ||
                fmt_cmd(&cmd, err, " (UID FLAGS INTERNALDATE RFC822.SIZE "
                                   "BODY.PEEK[])") < 0) {
                mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
                goto done;
            }
            if (mail_imap_send(s, err, "%s", cmd.data) < 0) {
                cmd_error(s, "UID FETCH", err);
                goto done;
            }
            memcpy(tags[inflight], s->curtag, sizeof s->curtag);
            inflight++;
            next += k;
            sent = true;
        }
        if (sent && mail_conn_flush(s->conn, err) < 0) {
            cmd_error(s, "UID FETCH", err);
            goto done;
        }
        if (inflight == 0)
            break;
        if (wait_one(&w, &t, err) < 0)
            goto done;      /* a sink or the spool said why in err */
        if (!t)
            continue;
        /* Completions of pipelined commands may come in any order. */
        for (i = 0; i < inflight && strcmp(t->tag, tags[i]) != 0; i++)
            ;
        if (i == inflight) {
            mail_error_set(err, MAIL_ERR_PROTOCOL,
                           "%s: UID FETCH: reply with an unknown tag", s->name);
            goto done;
        }
        if (t->status != MAIL_IMAP_ST_OK && !c.failed) {
            struct mail_reply rep;

            mail_reply_init(&rep);
            resp_to_reply(t, &rep);
            mail_session_reply_error(s, &rep, MAIL_ERR_UNAVAIL, "UID FETCH",
                                     &saved);
            mail_reply_release(&rep);
            c.failed = true;   /* drain what is in flight, then report */
        }
        memmove(tags[i], tags[inflight - 1], sizeof tags[i]);
        inflight--;
    }
    if (c.failed) {
        if (err)
            *err = saved;
        goto done;
    }
    rc = 0;
done:
    if (c.spool)
        fclose(c.spool);
    free(c.want);
    free(c.got);
    mail_buf_release(&cmd);
    mail_buf_release(&w.bye);
    mail_imap_parser_release(&p);
    return rc;
}

/* ---- STORE, EXPUNGE, MOVE, ENABLE ---- */

/* COPYUID (RFC 4315) of a COPY or MOVE: "uidvalidity src-set dst-set",
 * in the tagged OK (COPY) or an untagged OK before the expunges (MOVE). */
struct copyuid_ctx {
    const uint32_t *src;         /* the UIDs asked for */
    size_t n;
    uint32_t *dst;               /* parallel to src: the new UIDs */
    uint32_t uidvalidity;
};

/* The k-th number of a set in its own order ("5:3" is 5 4 3), for up to
 * max numbers; the count, or 0 when malformed. */
static size_t set_expand(const char *set, uint32_t *out, size_t max)
{
    size_t k = 0;
    const char *p = set;

    while (*p && *p != ' ') {
        char *end;
        unsigned long long a = strtoull(p, &end, 10), b;

        if (end == p || a == 0 || a > UINT32_MAX)
            return 0;
        b = a;
        p = end;
        if (*p == ':') {
            b = strtoull(p + 1, &end, 10);
            if (end == p + 1 || b == 0 || b > UINT32_MAX)
                return 0;
            p = end;
        }
        for (unsigned long long v = a;; v = a <= b ? v + 1 : v - 1) {
            if (k == max)
                return 0;
            out[k++] = (uint32_t)v;
            if (v == b)
                break;
        }
        if (*p == ',')
            p++;
        else if (*p && *p != ' ')
            return 0;
    }
    return k;
}

static void copyuid_apply(struct copyuid_ctx *c, const char *args)
{
    uint32_t *a, *b;
    size_t na, nb;
    char *end;
    unsigned long uv = strtoul(args, &end, 10);
    const char *src, *dst;

    if (end == args || *end != ' ' || !uv || uv > UINT32_MAX)
        return;
    src = end + 1;
    dst = strchr(src, ' ');
    if (!dst)
        return;
    dst++;
    a = malloc((c->n + 1) * sizeof *a);
    b = malloc((c->n + 1) * sizeof *b);
    if (a && b && (na = set_expand(src, a, c->n)) &&
        (nb = set_expand(dst, b, c->n)) && na == nb) {
        c->uidvalidity = (uint32_t)uv;
        for (size_t i = 0; i < na; i++)
            for (size_t j = 0; j < c->n; j++)
                if (c->src[j] == a[i]) {
                    c->dst[j] = b[i];
                    break;
                }
    }
    free(a);
    free(b);
}

static int copyuid_untagged(void *arg, const struct mail_imap_resp *r,
                            struct mail_error *err)
{
    (void)err;
    if (r->type == MAIL_IMAP_T_STATUS && r->status == MAIL_IMAP_ST_OK &&
        mail_strcasecmp(r->code, "COPYUID") == 0)
        copyuid_apply(arg, r->code_args);
    return 0;
}

/* Run "<verb> <uid-set><suffix>" for uids in chunks of CMD_UIDS_MAX;
 * with cu, COPYUID is read into it. */
static int per_chunk_cu(struct mail_session *s, const char *what,
                        enum mail_error_kind no_kind, const uint32_t *uids,
                        size_t n, const char *verb, const char *suffix,
                        struct copyuid_ctx *cu, struct mail_error *err)
{
    struct mail_buf cmd = MAIL_BUF_INIT, code = MAIL_BUF_INIT;
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i += CMD_UIDS_MAX) {
        size_t k = n - i < CMD_UIDS_MAX ? n - i : CMD_UIDS_MAX;
        struct copyuid_ctx part;

        if (cu) {
            part = *cu;
            part.src = uids + i;
            part.n = k;
            part.dst = cu->dst + i;
        }
        mail_buf_reset(&cmd);
        if (mail_buf_printf(&cmd, "%s ", verb) < 0 ||
            mail_imap_uid_set(&cmd, uids + i, k) < 0 ||
            mail_buf_addstr(&cmd, suffix) < 0) {
            rc = mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            break;
        }
        rc = run_cmd(s, what, no_kind, cu ? copyuid_untagged : NULL,
                     cu ? &part : NULL, cu ? &code : NULL, err, cmd.data);
        if (rc == 0 && cu) {
            if (code.data && mail_strncasecmp(code.data, "COPYUID ", 8) == 0)
                copyuid_apply(&part, code.data + 8);
            if (part.uidvalidity)
                cu->uidvalidity = part.uidvalidity;
        }
    }
    mail_buf_release(&cmd);
    mail_buf_release(&code);
    return rc;
}

static int per_chunk(struct mail_session *s, const char *what,
                     enum mail_error_kind no_kind, const uint32_t *uids,
                     size_t n, const char *verb, const char *suffix,
                     struct mail_error *err)
{
    return per_chunk_cu(s, what, no_kind, uids, n, verb, suffix, NULL, err);
}

int mail_imap_store_flags(struct mail_session *s, const uint32_t *uids,
                          size_t n, unsigned add, unsigned remove,
                          struct mail_error *err)
{
    struct mail_buf f = MAIL_BUF_INIT;
    int rc = 0;

    add &= ~(unsigned)MAIL_FLAG_NEW;
    remove &= ~(unsigned)MAIL_FLAG_NEW;
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        unsigned which = pass == 0 ? add : remove;

        if (!which)
            continue;
        mail_buf_reset(&f);
        if (mail_buf_addstr(&f, pass == 0 ? " +FLAGS.SILENT ("
                                          : " -FLAGS.SILENT (") < 0 ||
            mail_imap_flags_format(&f, which) < 0 ||
            mail_buf_addch(&f, ')') < 0) {
            rc = mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            break;
        }
        rc = per_chunk(s, "UID STORE", MAIL_ERR_UNAVAIL, uids, n, "UID STORE",
                       f.data, err);
    }
    mail_buf_release(&f);
    return rc;
}

int mail_imap_capability(struct mail_session *s, struct mail_error *err)
{
    struct mail_reply r;
    struct mail_buf mechs = MAIL_BUF_INIT;
    int rc;

    mail_reply_init(&r);
    if (mail_buf_add(&mechs, s->mechs.data ? s->mechs.data : "",
                     s->mechs.len) < 0) {
        mail_reply_release(&r);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    rc = imap_capability(s, &r, err);
    if (rc == 0 && s->authenticated)
        rc = mail_imap_compress(s, err);   /* offered once logged in */
    if (s->mechs.len == 0) {
        /* after login the server no longer lists AUTH=: keep what it
         * offered before */
        mail_buf_reset(&s->mechs);
        mail_buf_add(&s->mechs, mechs.data, mechs.len);
    }
    mail_buf_release(&mechs);
    mail_reply_release(&r);
    return rc;
}

/* Is the extension offered?  Capabilities read before login may lack
 * it (servers list more once authenticated): ask once more then. */
static int has_cap_fresh(struct mail_session *s, const char *name,
                         struct mail_error *err)
{
    if (mail_session_has_cap(s, name))
        return 1;
    if (!s->authenticated)
        return 0;
    if (mail_imap_capability(s, err) < 0)
        return -1;
    return mail_session_has_cap(s, name);
}

static int need_uidplus(struct mail_session *s, const char *what,
                        struct mail_error *err)
{
    int has = has_cap_fresh(s, "UIDPLUS", err);

    if (has != 0)
        return has > 0 ? 0 : -1;
    return mail_error_set(err, MAIL_ERR_UNAVAIL,
                          "%s: %s: the server does not offer UIDPLUS, and a "
                          "plain EXPUNGE would also remove every other "
                          "message marked deleted; refusing", s->name, what);
}

int mail_imap_expunge_uids(struct mail_session *s, const uint32_t *uids,
                           size_t n, struct mail_error *err)
{
    if (n == 0)
        return 0;
    if (need_uidplus(s, "UID EXPUNGE", err) < 0 ||
        mail_imap_store_flags(s, uids, n, MAIL_FLAG_DELETED, 0, err) < 0)
        return -1;
    return per_chunk(s, "UID EXPUNGE", MAIL_ERR_UNAVAIL, uids, n,
                     "UID EXPUNGE", "", err);
}

int mail_imap_move(struct mail_session *s, const uint32_t *uids, size_t n,
                   const char *dest, struct mail_error *err)
{
    return mail_imap_move_uids(s, uids, n, dest, NULL, NULL, err);
}

/* "<verb> <uid-set> <dest>" in chunks (UID COPY or UID MOVE), COPYUID
 * read into cu when it is not NULL; a destination that is not UTF-8 is
 * MAIL_ERR_USAGE. */
static int copy_verb(struct mail_session *s, const char *verb,
                     const uint32_t *uids, size_t n, const char *dest,
                     struct copyuid_ctx *cu, struct mail_error *err)
{
    struct mail_buf arg = MAIL_BUF_INIT;
    int rc;

    if (mail_buf_addch(&arg, ' ') < 0 ||
        mail_imap_mailbox_arg(&arg, dest) < 0) {
        mail_buf_release(&arg);
        return mail_error_set(err, MAIL_ERR_USAGE,
                              "%s: mailbox name is not valid UTF-8", s->name);
    }
    rc = per_chunk_cu(s, verb, MAIL_ERR_UNAVAIL, uids, n, verb, arg.data, cu,
                      err);
    mail_buf_release(&arg);
    return rc;
}

int mail_imap_copy_uids(struct mail_session *s, const uint32_t *uids,
                        size_t n, const char *dest, uint32_t *uidvalidity,
                        uint32_t *new_uids, struct mail_error *err)
{
    struct copyuid_ctx cu = { uids, n, new_uids, 0 };

    if (uidvalidity)
        *uidvalidity = 0;
    if (new_uids)
        memset(new_uids, 0, n * sizeof *new_uids);
    if (n == 0)
        return 0;
    if (copy_verb(s, "UID COPY", uids, n, dest, new_uids ? &cu : NULL,
                  err) < 0)
        return -1;
    if (uidvalidity)
        *uidvalidity = cu.uidvalidity;
    return 0;
}

int mail_imap_move_uids(struct mail_session *s, const uint32_t *uids,
                        size_t n, const char *dest, uint32_t *uidvalidity,
                        uint32_t *new_uids, struct mail_error *err)
{
    struct copyuid_ctx cu = { uids, n, new_uids, 0 };
    int move;

    if (uidvalidity)
        *uidvalidity = 0;
    if (new_uids)
        memset(new_uids, 0, n * sizeof *new_uids);
    if (n == 0)
        return 0;
    move = has_cap_fresh(s, "MOVE", err);
    if (move < 0)
        return -1;
    if (!move && need_uidplus(s, "MOVE", err) < 0)
        return -1;
    if (move) {
        if (copy_verb(s, "UID MOVE", uids, n, dest, new_uids ? &cu : NULL,
                      err) < 0)
            return -1;
        if (uidvalidity)
            *uidvalidity = cu.uidvalidity;
        return 0;
    }
    if (mail_imap_copy_uids(s, uids, n, dest, uidvalidity, new_uids,
                            err) < 0 ||
        mail_imap_expunge_uids(s, uids, n, err) < 0) {
        if (uidvalidity)
            *uidvalidity = 0;
        return -1;
    }
    return 0;
}

struct enable_ctx {
    const char *ext;
    bool on;
};

static int enable_untagged(void *arg, const struct mail_imap_resp *r,
                           struct mail_error *err)
{
    struct enable_ctx *c = arg;

    (void)err;
    if (r->type == MAIL_IMAP_T_ENABLED)
        for (const struct mail_imap_node *n = r->args.child; n; n = n->next)
            if (mail_imap_node_is(n, c->ext))
                c->on = true;
    return 0;
}

int mail_imap_enable(struct mail_session *s, const char *ext,
                     struct mail_error *err)
{
    struct enable_ctx c = { ext, false };
    char cmd[128];

    if (!mail_session_has_cap(s, "ENABLE") || !mail_session_has_cap(s, ext) ||
        mail_snprintf(cmd, sizeof cmd, "ENABLE %s", ext) < 0 ||
        strcspn(ext, " \r\n\"(){") != strlen(ext))
        return 0;
    if (run_cmd(s, "ENABLE", MAIL_ERR_UNAVAIL, enable_untagged, &c, NULL, err,
                cmd) < 0)
        return -1;
    return c.on ? 1 : 0;
}

struct ns_ctx {
    struct mail_buf *prefix;
    char *delim;
    bool found;
    bool bad;
};

static int ns_untagged(void *arg, const struct mail_imap_resp *r,
                       struct mail_error *err)
{
    struct ns_ctx *c = arg;
    const struct mail_imap_node *first, *pfx, *dl;

    (void)err;
    if (r->type != MAIL_IMAP_T_NAMESPACE || c->found)
        return 0;
    first = mail_imap_node_at(mail_imap_node_at(&r->args, 0), 0);
    pfx = mail_imap_node_at(first, 0);
    dl = mail_imap_node_at(first, 1);
    if (!mail_imap_node_str(pfx))
        return 0;   /* NIL: no personal namespace */
    c->found = true;
    *c->delim = mail_imap_node_str(dl) ? dl->data[0] : '\0';
    if (mail_mutf7_decode(c->prefix, pfx->data, (size_t)pfx->len) < 0) {
        mail_buf_reset(c->prefix);
        c->bad = mail_buf_add(c->prefix, pfx->data, (size_t)pfx->len) < 0;
    }
    return 0;
}

int mail_imap_namespace(struct mail_session *s, struct mail_buf *prefix,
                        char *delim, struct mail_error *err)
{
    struct ns_ctx c = { prefix, delim, false, false };
    int has;

    mail_buf_reset(prefix);
    *delim = '\0';
    has = has_cap_fresh(s, "NAMESPACE", err);
    if (has <= 0)
        return has;
    if (run_cmd(s, "NAMESPACE", MAIL_ERR_UNAVAIL, ns_untagged, &c, NULL, err,
                "NAMESPACE") < 0)
        return -1;
    if (c.bad)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    return c.found ? 1 : 0;
}

/* ---- mailbox arguments by the server's own bytes ---- */

/* Append the mailbox argument for name (UTF-8): the server's bytes from
 * the last LIST when name does not encode back to them (quoted when
 * printable ASCII, else a literal: non-synchronizing when offered, else
 * *sync_lit is set to the raw bytes, which the caller sends after "+"),
 * else the modified UTF-7 quoted string.  -1 with err. */
static int add_mailbox_arg(struct mail_session *s, struct mail_buf *cmd,
                           const char *name, const char **sync_lit,
                           struct mail_error *err)
{
    const char *raw = alias_raw(s, name);

    if (sync_lit)
        *sync_lit = NULL;
    if (!raw) {
        if (mail_imap_mailbox_arg(cmd, name) < 0)
            return mail_error_set(err, MAIL_ERR_USAGE,
                                  "%s: mailbox name is not valid UTF-8",
                                  s->name);
        return 0;
    }
    if (quotable(raw)) {
        int r = mail_buf_addch(cmd, '"');

        for (const char *p = raw; *p && r == 0; p++)
            r = ((*p == '"' || *p == '\\') ? mail_buf_addch(cmd, '\\') : 0) |
                mail_buf_addch(cmd, *p);
        if (r < 0 || mail_buf_addch(cmd, '"') < 0)
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        return 0;
    }
    if (mail_session_has_cap(s, "LITERAL+") ||
        (mail_session_has_cap(s, "LITERAL-") && strlen(raw) <= 4096))
        return fmt_cmd(cmd, err, "{%zu+}\r\n%s", strlen(raw), raw);
    if (!sync_lit)
        return mail_error_set(err, MAIL_ERR_UNAVAIL,
                              "%s: the mailbox name needs a literal here",
                              s->name);
    *sync_lit = raw;
    return 0;
}

/* "WHAT name" for messages, the name made terminal-safe. */
static int what_name(struct mail_buf *what, const char *verb,
                     const char *name, struct mail_error *err)
{
    mail_buf_printf(what, "%s ", verb);
    mail_term_safe(what, name, strlen(name), MAIL_SAFE_ONELINE);
    return what->data ? 0
                      : mail_error_set(err, MAIL_ERR_INTERNAL,
                                       "out of memory");
}

/* ---- APPEND ---- */

#define APPEND_CHUNK 65536

/* Parse "[APPENDUID uidvalidity uid]" (RFC 4315) from a tagged code. */
static void appenduid(const char *code, uint32_t *uidvalidity, uint32_t *uid)
{
    unsigned long v, u;
    char *end;

    if (strncmp(code, "APPENDUID ", 10) != 0)
        return;
    v = strtoul(code + 10, &end, 10);
    if (*end != ' ' || v == 0 || v > UINT32_MAX)
        return;
    u = strtoul(end + 1, &end, 10);
    if ((*end && *end != ' ') || u == 0 || u > UINT32_MAX)
        return;
    if (uidvalidity)
        *uidvalidity = (uint32_t)v;
    if (uid)
        *uid = (uint32_t)u;
}

/* Stream size bytes from rd into the connection, quietly (the trace shows
 * a count). */
static int append_stream(struct mail_session *s, uint64_t size,
                         mail_imap_read_fn rd, void *rd_arg,
                         struct mail_error *err)
{
    char *buf = malloc(APPEND_CHUNK);
    uint64_t left = size;
    int rc = -1;

    if (!buf)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    while (left > 0) {
        size_t want = left < APPEND_CHUNK ? (size_t)left : APPEND_CHUNK;
        ssize_t n = rd(rd_arg, buf, want, err);

        if (n < 0)
            goto done;
        if (n == 0 || (size_t)n > want) {
            mail_error_set(err, MAIL_ERR_IO, "the message ended %llu bytes "
                           "before its announced size (it changed while it "
                           "was being sent)", (unsigned long long)left);
            goto done;
        }
        if (mail_conn_write_quiet(s->conn, buf, (size_t)n, err) < 0) {
            cmd_error(s, "APPEND", err);
            goto done;
        }
        left -= (uint64_t)n;
    }
    mail_conn_note(s->conn, "(%llu bytes of message)",
                   (unsigned long long)size);
    if (mail_conn_write(s->conn, "\r\n", 2, err) < 0 ||
        mail_conn_flush(s->conn, err) < 0) {
        cmd_error(s, "APPEND", err);
        goto done;
    }
    rc = 0;
done:
    free(buf);
    return rc;
}

int mail_imap_append(struct mail_session *s, const char *mailbox,
                     unsigned flags, time_t internaldate, uint64_t size,
                     mail_imap_read_fn rd, void *rd_arg,
                     uint32_t *uidvalidity, uint32_t *uid,
                     struct mail_error *err)
{
    struct mail_buf cmd = MAIL_BUF_INIT, what = MAIL_BUF_INIT,
                    code = MAIL_BUF_INIT;
    struct mail_imap_parser p;
    struct waiter w;
    const struct mail_imap_resp *t = NULL;
    char tag[sizeof s->curtag];
    bool nonsync = mail_session_has_cap(s, "LITERAL+") ||
                   (mail_session_has_cap(s, "LITERAL-") && size <= 4096);
    const char *lit = NULL;
    int rc = -1;

    if (uidvalidity)
        *uidvalidity = 0;
    if (uid)
        *uid = 0;
    mail_imap_parser_init(&p, NULL, NULL, NULL);
    waiter_init(&w, s, &p, "APPEND", NULL, NULL);
    if (what_name(&what, "APPEND", mailbox, err) < 0)
        goto done;
    w.what = what.data;
    if (fmt_cmd(&cmd, err, "APPEND ") < 0 ||
        add_mailbox_arg(s, &cmd, mailbox, &lit, err) < 0)
        goto done;
    if (lit) {
        mail_error_set(err, MAIL_ERR_UNAVAIL, "%s: %s: the mailbox name "
                       "needs LITERAL+", s->name, what.data);
        goto done;
    }
    flags &= ~(unsigned)MAIL_FLAG_NEW;
    if (flags) {
        if (fmt_cmd(&cmd, err, " (") < 0)
            goto done;
        if (mail_imap_flags_format(&cmd, flags) < 0 ||
            mail_buf_addch(&cmd, ')') < 0) {
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            goto done;
        }
    }
    if (internaldate > 0) {
        static const char mon[12][4] = { "Jan", "Feb", "Mar", "Apr", "May",
                                          "Jun", "Jul", "Aug", "Sep", "Oct",
                                          "Nov", "Dec" };
        struct tm tm;

        if (gmtime_r(&internaldate, &tm) && tm.tm_year >= 0 &&
            tm.tm_year < 8100 &&
            fmt_cmd(&cmd, err, " \"%02d-%s-%04d %02d:%02d:%02d +0000\"",
                    tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900,
                    tm.tm_hour, tm.tm_min, tm.tm_sec) < 0)
            goto done;
    }
    if (fmt_cmd(&cmd, err, " {%llu%s}", (unsigned long long)size,
                nonsync ? "+" : "") < 0)
        goto done;
    if (mail_imap_send(s, err, "%s", cmd.data) < 0) {
        cmd_error(s, w.what, err);
        goto done;
    }
    memcpy(tag, s->curtag, sizeof tag);
    if (!nonsync) {
        /* a synchronizing literal: the server says "+" or refuses */
        if (mail_conn_flush(s->conn, err) < 0) {
            cmd_error(s, w.what, err);
            goto done;
        }
        w.cont_ok = true;
        while (!t && !w.got_cont)
            if (wait_one(&w, &t, err) < 0)
                goto done;
    }
    if (!t && append_stream(s, size, rd, rd_arg, err) < 0)
        goto done;
    while (!t)
        if (wait_one(&w, &t, err) < 0)
            goto done;
    if (strcmp(t->tag, tag) != 0) {
        mail_error_set(err, MAIL_ERR_PROTOCOL,
                       "%s: %s: reply with an unknown tag", s->name, w.what);
        goto done;
    }
    if (tagged_result(s, w.what, MAIL_ERR_UNAVAIL, t, &code, err) < 0)
        goto done;
    appenduid(code.data ? code.data : "", uidvalidity, uid);
    rc = 0;
done:
    mail_buf_release(&w.bye);
    mail_imap_parser_release(&p);
    mail_buf_release(&cmd);
    mail_buf_release(&what);
    mail_buf_release(&code);
    return rc;
}

struct fd_reader {
    int fd;
    off_t off;
};

static ssize_t fd_read(void *arg, char *buf, size_t max,
                       struct mail_error *err)
{
    struct fd_reader *r = arg;

    for (;;) {
        ssize_t n = pread(r->fd, buf, max, r->off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return mail_error_set(err, MAIL_ERR_IO, "cannot read the "
                                  "message: %s", strerror(errno));
        r->off += n;
        return n;
    }
}

int mail_imap_append_fd(struct mail_session *s, const char *mailbox,
                        unsigned flags, time_t internaldate, int fd,
                        off_t off, uint32_t *uidvalidity, uint32_t *uid,
                        struct mail_error *err)
{
    struct fd_reader r = { fd, off };
    struct stat st;

    if (fstat(fd, &st) < 0 || st.st_size < off)
        return mail_error_set(err, MAIL_ERR_IO, "cannot read the message: "
                              "%s", strerror(errno ? errno : EINVAL));
    return mail_imap_append(s, mailbox, flags, internaldate,
                            (uint64_t)(st.st_size - off), fd_read, &r,
                            uidvalidity, uid, err);
}

/* ---- CREATE, DELETE, RENAME ---- */

/* "VERB name [name2]" */
static int mailbox_cmd(struct mail_session *s, const char *verb,
                       enum mail_error_kind no_kind, const char *name,
                       const char *name2, struct mail_error *err)
{
    struct mail_buf cmd = MAIL_BUF_INIT, what = MAIL_BUF_INIT;
    int rc = -1;

    if (what_name(&what, verb, name, err) < 0 ||
        fmt_cmd(&cmd, err, "%s ", verb) < 0 ||
        add_mailbox_arg(s, &cmd, name, NULL, err) < 0)
        goto done;
    if (name2 && (fmt_cmd(&cmd, err, " ") < 0 ||
                  add_mailbox_arg(s, &cmd, name2, NULL, err) < 0))
        goto done;
    rc = run_cmd(s, what.data, no_kind, NULL, NULL, NULL, err, cmd.data);
done:
    mail_buf_release(&cmd);
    mail_buf_release(&what);
    return rc;
}

int mail_imap_create(struct mail_session *s, const char *name,
                     struct mail_error *err)
{
    return mailbox_cmd(s, "CREATE", MAIL_ERR_CANTCREAT, name, NULL, err);
}

int mail_imap_delete(struct mail_session *s, const char *name,
                     struct mail_error *err)
{
    return mailbox_cmd(s, "DELETE", MAIL_ERR_UNAVAIL, name, NULL, err);
}

int mail_imap_rename(struct mail_session *s, const char *from,
                     const char *to, struct mail_error *err)
{
    return mailbox_cmd(s, "RENAME", MAIL_ERR_CANTCREAT, from, to, err);
}

/* ---- STATUS and LIST-STATUS ---- */

static void status_from_list(struct mail_imap_mbx_status *st,
                             const struct mail_imap_node *list)
{
    if (!list || list->type != MAIL_IMAP_LIST)
        return;
    for (const struct mail_imap_node *c = list->child; c && c->next;
         c = c->next->next) {
        uint32_t v;

        if (mail_imap_node_u32(c->next, &v) < 0)
            continue;
        if (mail_imap_node_is(c, "MESSAGES")) {
            st->messages = v;
            st->has_messages = true;
        } else if (mail_imap_node_is(c, "UNSEEN")) {
            st->unseen = v;
            st->has_unseen = true;
        } else if (mail_imap_node_is(c, "UIDNEXT")) {
            st->uidnext = v;
        } else if (mail_imap_node_is(c, "UIDVALIDITY")) {
            st->uidvalidity = v;
        }
    }
}

/* STATUS responses by the server's name, until they are matched to the
 * LIST entries. */
struct status_seen {
    char *raw;
    struct mail_imap_mbx_status st;
};

struct list_status_ctx {
    struct list_ctx list;
    struct status_seen *v;
    size_t n;
    const char *only_raw;          /* STATUS of one mailbox */
    struct mail_imap_mbx_status *one;
};

static int status_untagged(void *arg, const struct mail_imap_resp *r,
                           struct mail_error *err)
{
    struct list_status_ctx *c = arg;
    const struct mail_imap_node *name = mail_imap_node_at(&r->args, 0);
    const char *raw;
    struct status_seen *v;

    if (r->type == MAIL_IMAP_T_LIST && !c->one)
        return list_untagged(&c->list, r, err);
    if (r->type != MAIL_IMAP_T_STATUS_MBX)
        return 0;
    raw = mail_imap_node_str(name);
    if (!raw)
        return 0;
    if (mail_strcasecmp(raw, "INBOX") == 0)
        raw = "INBOX";
    if (c->one) {
        if (strcmp(raw, c->only_raw) == 0 ||
            (mail_strcasecmp(c->only_raw, "INBOX") == 0 &&
             strcmp(raw, "INBOX") == 0))
            status_from_list(c->one, mail_imap_node_at(&r->args, 1));
        return 0;
    }
    if (c->n >= MAILBOXES_MAX)
        return 0;
    v = realloc(c->v, (c->n + 1) * sizeof *v);
    if (!v)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    c->v = v;
    memset(&v[c->n], 0, sizeof v[c->n]);
    v[c->n].raw = strdup(raw);
    if (!v[c->n].raw)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    status_from_list(&v[c->n].st, mail_imap_node_at(&r->args, 1));
    c->n++;
    return 0;
}

/* STATUS of the mailbox m (its raw name). */
static int status_one(struct mail_session *s, const struct mail_imap_mailbox *m,
                      struct mail_imap_mbx_status *st, struct mail_error *err)
{
    struct list_status_ctx c;
    struct mail_buf cmd = MAIL_BUF_INIT, what = MAIL_BUF_INIT;
    struct cmd_extra x = { NULL, NULL, NULL, 0, NULL, NULL, NULL };
    const char *items = " (MESSAGES UNSEEN UIDNEXT UIDVALIDITY)";
    int rc = -1;

    memset(&c, 0, sizeof c);
    memset(st, 0, sizeof *st);
    c.only_raw = m->raw;
    c.one = st;
    if (what_name(&what, "STATUS", m->name, err) < 0 ||
        fmt_cmd(&cmd, err, "STATUS ") < 0)
        goto done;
    if (quotable(m->raw)) {
        int r = mail_buf_addch(&cmd, '"');

        for (const char *p = m->raw; *p && r == 0; p++)
            r = ((*p == '"' || *p == '\\') ? mail_buf_addch(&cmd, '\\') : 0) |
                mail_buf_addch(&cmd, *p);
        if (r < 0 || fmt_cmd(&cmd, err, "\"%s", items) < 0)
            goto done;
    } else if (mail_session_has_cap(s, "LITERAL+")) {
        if (fmt_cmd(&cmd, err, "{%zu+}\r\n%s%s", strlen(m->raw), m->raw,
                    items) < 0)
            goto done;
    } else {
        x.lit = m->raw;
        x.litlen = strlen(m->raw);
        x.tail = items;
    }
    rc = run_cmd_x(s, what.data, MAIL_ERR_NOTFOUND, status_untagged, &c, NULL,
                   err, cmd.data, &x);
done:
    mail_buf_release(&cmd);
    mail_buf_release(&what);
    return rc;
}

int mail_imap_status(struct mail_session *s, const char *name,
                     struct mail_imap_mbx_status *st, struct mail_error *err)
{
    struct mail_imap_mailbox m;
    struct mail_buf enc = MAIL_BUF_INIT;
    const char *raw = alias_raw(s, name);
    int rc;

    memset(&m, 0, sizeof m);
    m.name = (char *)name;
    if (!raw) {
        if (mail_mutf7_encode(&enc, name, strlen(name)) < 0 || !enc.data) {
            mail_buf_release(&enc);
            return mail_error_set(err, MAIL_ERR_USAGE,
                                  "%s: mailbox name is not valid UTF-8",
                                  s->name);
        }
        raw = enc.data;
    }
    m.raw = (char *)raw;
    rc = status_one(s, &m, st, err);
    mail_buf_release(&enc);
    return rc;
}

int mail_imap_list_status(struct mail_session *s,
                          struct mail_imap_mailboxes *out,
                          struct mail_imap_mbx_status **status, size_t *skipped,
                          struct mail_error *err)
{
    bool ext = mail_session_has_cap(s, "LIST-EXTENDED");
    bool special = ext && mail_session_has_cap(s, "SPECIAL-USE");
    bool liststatus = ext && mail_session_has_cap(s, "LIST-STATUS");
    struct list_status_ctx c;
    struct cmd_extra x = { list_route, NULL, NULL, 0, NULL, NULL, NULL };
    struct mail_imap_mbx_status *st = NULL;
    int rc = -1;

    memset(&c, 0, sizeof c);
    out->v = NULL;
    out->n = 0;
    *status = NULL;
    if (skipped)
        *skipped = 0;
    c.list.s = s;
    c.list.l = out;
    if (!liststatus) {
        if (mail_imap_list_counted(s, out, skipped, err) < 0)
            return -1;
    } else {
        if (run_cmd_x(s, "LIST", MAIL_ERR_UNAVAIL, status_untagged, &c, NULL,
                      err, special ? "LIST \"\" \"*\" RETURN (SPECIAL-USE "
                                     "STATUS (MESSAGES UNSEEN UIDNEXT "
                                     "UIDVALIDITY))"
                                   : "LIST \"\" \"*\" RETURN (STATUS "
                                     "(MESSAGES UNSEEN UIDNEXT "
                                     "UIDVALIDITY))", &x) < 0)
            goto done;
        if (remember_aliases(s, out) < 0) {
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            goto done;
        }
        if (skipped)
            *skipped = c.list.skipped;
    }
    st = calloc(out->n ? out->n : 1, sizeof *st);
    if (!st) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < out->n; i++) {
        const struct mail_imap_mailbox *m = &out->v[i];

        if (m->attrs & MAIL_IMAP_MBX_NOSELECT)
            continue;
        if (liststatus) {
            for (size_t k = 0; k < c.n; k++)
                if (strcmp(c.v[k].raw, m->raw) == 0) {
                    st[i] = c.v[k].st;
                    break;
                }
        }
        if (!st[i].has_messages) {
            struct mail_error e2;

            mail_error_clear(&e2);
            if (status_one(s, m, &st[i], &e2) < 0) {
                /* a mailbox gone since the LIST, or one the server will
                 * not count: shown without counts; a lost connection is
                 * an error */
                if (e2.kind != MAIL_ERR_NOTFOUND &&
                    e2.kind != MAIL_ERR_UNAVAIL) {
                    if (err)
                        *err = e2;
                    goto done;
                }
                if (e2.conn_lost) {
                    if (err)
                        *err = e2;
                    goto done;
                }
                memset(&st[i], 0, sizeof st[i]);
            }
        }
    }
    *status = st;
    st = NULL;
    rc = 0;
done:
    for (size_t k = 0; k < c.n; k++)
        free(c.v[k].raw);
    free(c.v);
    free(st);
    if (rc < 0)
        mail_imap_mailboxes_release(out);
    return rc;
}

/* ---- UID SEARCH HEADER ---- */

static int search_untagged(void *arg, const struct mail_imap_resp *r,
                           struct mail_error *err)
{
    struct mail_imap_uids *u = arg;

    if (r->type != MAIL_IMAP_T_SEARCH)
        return 0;
    for (const struct mail_imap_node *n = r->args.child; n; n = n->next) {
        uint32_t v;

        if (n->type == MAIL_IMAP_LIST)
            continue;   /* (MODSEQ n) of CONDSTORE */
        if (mail_imap_node_u32(n, &v) == 0 && v > 0 &&
            uids_add(u, v, err) < 0)
            return -1;
    }
    return 0;
}

int mail_imap_search_header(struct mail_session *s, const char *field,
                            const char *value, struct mail_imap_uids *out,
                            struct mail_error *err)
{
    struct mail_buf cmd = MAIL_BUF_INIT;
    int rc = -1;

    memset(out, 0, sizeof *out);
    for (const char *p = field; *p; p++)
        if (*p <= ' ' || *p >= 0x7f || *p == ':' || *p == '"' ||
            *p == '\\' || *p == '(' || *p == ')' || *p == '{')
            return mail_error_set(err, MAIL_ERR_USAGE,
                                  "bad header field name for SEARCH");
    if (fmt_cmd(&cmd, err, "UID SEARCH HEADER %s \"", field) < 0)
        goto done;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if (*p < 0x20 || *p >= 0x7f) {
            mail_error_set(err, MAIL_ERR_USAGE, "the value to SEARCH for is "
                           "not printable ASCII");
            goto done;
        }
        if ((*p == '"' || *p == '\\') && mail_buf_addch(&cmd, '\\') < 0)
            goto oom;
        if (mail_buf_addch(&cmd, (char)*p) < 0)
            goto oom;
    }
    if (mail_buf_addch(&cmd, '"') < 0)
        goto oom;
    rc = run_cmd(s, "UID SEARCH", MAIL_ERR_UNAVAIL, search_untagged, out,
                 NULL, err, cmd.data);
    if (rc < 0)
        mail_imap_uids_release(out);
    else if (out->n)
        qsort(out->v, out->n, sizeof *out->v, cmp_u32);
    goto done;
oom:
    mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
done:
    mail_buf_release(&cmd);
    return rc;
}
