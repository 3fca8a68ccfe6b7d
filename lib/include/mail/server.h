/*
 * server.h - which protocol, and how TLS is used: what the connection
 * layer needs to know of a server, below the config layer that fills it.
 */
#ifndef MAIL_SERVER_H
#define MAIL_SERVER_H

#pragma GCC visibility push(default)

enum mail_proto {
    MAIL_PROTO_SMTP,
    MAIL_PROTO_IMAP,
    MAIL_PROTO_POP3,
};

/* How TLS is used on a connection. */
enum mail_tls {
    MAIL_TLS_IMPLICIT,   /* TLS from the first byte: smtps, imaps, pop3s */
    MAIL_TLS_STARTTLS,   /* plain, then STARTTLS/STLS which must succeed */
    MAIL_TLS_NONE,       /* no TLS at all: only with tls = none-i-know */
};

const char *mail_proto_name(enum mail_proto p);        /* "smtp" ... */
unsigned mail_proto_default_port(enum mail_proto p, enum mail_tls tls);

#pragma GCC visibility pop

#endif
