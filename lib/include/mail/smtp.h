/*
 * smtp.h - SMTP submission client (RFC 5321, 6409, 3207, 4954).
 *
 * Call sequence: mail_smtp_open (greeting, EHLO, STARTTLS, EHLO again),
 * mail_smtp_login, ... mail_smtp_quit.
 */
#ifndef MAIL_SMTP_H
#define MAIL_SMTP_H

#include "session.h"

/* Connect, read the greeting, EHLO (HELO if EHLO is refused and TLS is
 * implicit or off), STARTTLS when srv->tls is MAIL_TLS_STARTTLS (a server
 * that does not offer it is MAIL_ERR_TLS: never a silent downgrade), then
 * EHLO again with the capabilities learnt afresh.  ehlo_name NULL: the
 * local host name. */
struct mail_session *mail_smtp_open(const struct mail_server *srv,
                                    const char *ehlo_name,
                                    struct mail_error *err);

/* AUTH with the strongest common mechanism.  A server that offers no AUTH
 * at all is not an error when secret is NULL (nothing to log in with). */
int mail_smtp_login(struct mail_session *s, const char *secret,
                    struct mail_error *err);

/* QUIT, wait for the reply (bounded by the timeout), close, free. */
void mail_smtp_quit(struct mail_session *s);

#endif
