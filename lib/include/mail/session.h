/*
 * session.h - the line-protocol engine shared by SMTP, POP3 and IMAP.
 *
 * A session is a connection plus what the server told us: its greeting,
 * its capabilities and the SASL mechanisms it offers.  The reply reader
 * knows the SMTP ("250-"/"250 " lines with codes) and POP3 ("+OK"/"-ERR"/
 * "+ ") reply syntaxes, with bounds on line length, line count and total
 * size.  IMAP replies are read by the protocol module: imap.c installs
 * its reader (built on the resumable parser of imap_parse.h) as
 * s->read_reply, since this layer may not know IMAP syntax.  One SASL
 * driver (mail_session_auth) runs every mechanism of sasl.h over any of
 * the three protocols.
 *
 * Protocol modules (smtp.h, pop3.h, imap.h) open sessions and add their
 * own commands on top.
 */
#ifndef MAIL_SESSION_H
#define MAIL_SESSION_H

#pragma GCC visibility push(default)

#include <stdbool.h>

#include "buf.h"
#include "conn.h"
#include "error.h"
#include "sasl.h"
#include "server.h"

/* Everything needed to reach and log in to one server. */
struct mail_server {
    enum mail_proto proto;
    const char *host;
    unsigned port;
    enum mail_tls tls;
    int timeout;                  /* seconds */
    const char *ca_file;          /* NULL: system store */
    const char *fingerprint;      /* NULL or 64 lowercase hex */
    enum mail_sasl_mech auth;     /* MAIL_SASL_NONE: choose */
    const char *user;
    mail_trace_fn trace;
    void *trace_arg;
    const struct mail_deadline *deadline; /* NULL: none (see conn.h) */
    bool compress;                /* IMAP: COMPRESS=DEFLATE when offered
                                     (imap_compress.h) */
    /* OAuth 2.0: when the server refuses a token (XOAUTH2, OAUTHBEARER),
     * mail_session_auth asks this for a fresh one into out and tries once
     * more.  NULL: no second try. */
    int (*renew_token)(const void *arg, struct mail_buf *out,
                       struct mail_error *err);
    const void *renew_arg;
};


enum mail_reply_status {
    MAIL_REPLY_OK,     /* 2xx, +OK, tagged OK */
    MAIL_REPLY_CONT,   /* 3xx, "+ " continuation */
    MAIL_REPLY_NO,     /* 4xx/5xx, -ERR, tagged NO */
    MAIL_REPLY_BAD,    /* tagged BAD */
};

struct mail_reply {
    enum mail_reply_status status;
    int code;               /* SMTP reply code, else 0 */
    bool temporary;         /* 4xx, or a [SYS/TEMP], [IN-USE], [UNAVAILABLE]
                               response code: try again later */
    char enhanced[16];      /* SMTP enhanced status "5.7.8", or "" */
    struct mail_buf text;   /* SMTP: each line's text, '\n' between;
                               POP3: the text after +OK/-ERR/+;
                               IMAP: the text after "TAG OK " or "+ " */
    struct mail_buf untagged; /* IMAP: untagged responses without "* ",
                                 one a line, as imap.c's reader writes
                                 them back from the parsed tokens
                                 ("OK [CODE args] text", "CAPABILITY
                                 ..."), '\n' between */
};

void mail_reply_init(struct mail_reply *r);
void mail_reply_release(struct mail_reply *r);

struct mail_session {
    struct mail_conn *conn;
    enum mail_proto proto;
    char *name;             /* "proto host:port" for messages */
    struct mail_buf greeting;
    struct mail_buf caps;   /* one capability per line: SMTP EHLO keyword
                               lines, IMAP atoms, POP3 CAPA lines */
    struct mail_buf mechs;  /* SASL mechanisms offered, space-separated */
    bool authenticated;
    enum mail_sasl_mech mech_used;   /* NONE: not SASL (see login_method) */
    const char *login_method;        /* "SCRAM-SHA-256", "LOGIN command",
                                        "USER/PASS", "APOP" */
    unsigned tag;           /* IMAP: last tag number used */
    char curtag[16];        /* IMAP: tag of the command in flight */
    const struct mail_server *srv;
    /* Set by a protocol module whose replies this layer cannot read
     * (IMAP): mail_session_read_reply calls it, with r already reset. */
    int (*read_reply)(struct mail_session *s, struct mail_reply *r,
                      struct mail_error *err);
    void *proto_data;                     /* the module's own state */
    void (*proto_free)(void *proto_data); /* called by mail_session_free */
};

/* Connect (TLS for implicit) and allocate; used by the protocol opens. */
struct mail_session *mail_session_connect(const struct mail_server *srv,
                                          struct mail_error *err);
void mail_session_free(struct mail_session *s);

/*
 * The end of a session: send line ("LOGOUT", "QUIT"; IMAP gets a tag),
 * read the server's reply with a short time limit (5 s, or the session's
 * timeout when shorter), close and free.  Errors on the way out are
 * ignored: the work is done or already reported.  s may be NULL.
 */
void mail_session_say_goodbye(struct mail_session *s, const char *line);

/*
 * Read one complete reply (through s->read_reply when set).  For IMAP
 * (imap.c's reader), untagged responses are collected until the tagged
 * response of s->curtag or a "+" continuation (or, when curtag is empty,
 * the greeting: one untagged response).  Bounds: 64 KiB per line, 1000
 * lines, 1 MiB in all; beyond them MAIL_ERR_PROTOCOL.
 */
int mail_session_read_reply(struct mail_session *s, struct mail_reply *r,
                            struct mail_error *err);

/* IMAP: start a command "TAG <cmd>\r\n" with a fresh tag (queued, not
 * flushed).  Returns the tag in s->curtag. */
int mail_imap_send(struct mail_session *s, struct mail_error *err,
                   const char *fmt, ...) MAIL_PRINTF(3, 4);

/*
 * Set err for a reply that was not what we wanted: "<name>: <what>: <the
 * server's reply, terminal-safe and cut>".  kind is used unless the reply
 * is temporary (then MAIL_ERR_TEMP).  Returns -1.
 */
int mail_session_reply_error(struct mail_session *s,
                             const struct mail_reply *r,
                             enum mail_error_kind kind, const char *what,
                             struct mail_error *err);

/* Capabilities: is `name` offered (case-insensitive, matched against the
 * first word of each line)?  value: the rest of that line, or NULL. */
bool mail_session_has_cap(const struct mail_session *s, const char *name);
const char *mail_session_cap_value(const struct mail_session *s,
                                   const char *name, char *buf, size_t size);

/*
 * Authenticate with SASL over the session's protocol, choosing the
 * mechanism with mail_sasl_choose (srv->auth forces one).  secret is the
 * password or token.  Errors: MAIL_ERR_AUTH for refused credentials (the
 * server's words quoted), MAIL_ERR_TEMP for a temporary refusal.  A
 * refused token is renewed once through srv->renew_token, when set.
 */
int mail_session_auth(struct mail_session *s, const char *secret,
                      struct mail_error *err);

/* True when a password may be sent in a reusable form: TLS is active, or
 * the account said tls = none-i-know. */
bool mail_session_may_send_password(const struct mail_session *s);

#pragma GCC visibility pop

#endif
