/*
 * imap.h - IMAP client (RFC 3501, RFC 9051).
 *
 * Call sequence: mail_imap_open (greeting, CAPABILITY, STARTTLS,
 * CAPABILITY again), mail_imap_login, ... mail_imap_logout.
 */
#ifndef MAIL_IMAP_H
#define MAIL_IMAP_H

#include "session.h"

/* A PREAUTH greeting on a connection that should have used STARTTLS is
 * refused (MAIL_ERR_TLS): the server could never be made to encrypt. */
struct mail_session *mail_imap_open(const struct mail_server *srv,
                                    struct mail_error *err);

/* AUTHENTICATE (SASL) when the server offers AUTH= mechanisms, else LOGIN
 * (only over TLS or with tls = none-i-know, and never when LOGINDISABLED
 * is advertised). */
int mail_imap_login(struct mail_session *s, const char *secret,
                    struct mail_error *err);

/* Run one tagged command to completion; untagged lines land in r. */
int mail_imap_command(struct mail_session *s, struct mail_reply *r,
                      struct mail_error *err, const char *fmt, ...)
    MAIL_PRINTF(4, 5);

void mail_imap_logout(struct mail_session *s);

#endif
