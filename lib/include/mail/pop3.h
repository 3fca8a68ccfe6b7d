/*
 * pop3.h - POP3 client (RFC 1939, 2449 CAPA, 2595 STLS, 5034 SASL).
 *
 * Call sequence: mail_pop3_open (greeting, CAPA, STLS, CAPA again),
 * mail_pop3_login, ... mail_pop3_quit.
 */
#ifndef MAIL_POP3_H
#define MAIL_POP3_H

#include "session.h"

struct mail_session *mail_pop3_open(const struct mail_server *srv,
                                    struct mail_error *err);

/* SASL when the server lists SASL mechanisms in CAPA, else USER/PASS
 * (over TLS, or with tls = none-i-know), else APOP when the greeting has
 * a timestamp. */
int mail_pop3_login(struct mail_session *s, const char *secret,
                    struct mail_error *err);

/* Send a command that has a multi-line answer and collect its lines
 * (dot-unstuffed, '\n' between) into out, bounded by out's cap. */
int mail_pop3_multiline(struct mail_session *s, const char *cmd,
                        struct mail_reply *r, struct mail_buf *out,
                        struct mail_error *err);

void mail_pop3_quit(struct mail_session *s);

#endif
