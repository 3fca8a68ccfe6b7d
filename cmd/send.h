/*
 * send.h - the ways into send_run (send.c) beyond cmd.h's, for the
 * sendmail(8) front end (sendmail.c).
 */
#ifndef MAIL_CMD_SEND_H
#define MAIL_CMD_SEND_H

#include "cmd.h"

/*
 * sendmail(8) without -t: standard input is a whole RFC 5322 message,
 * kept as it is (Bcc and Resent-Bcc removed, Date and Message-ID added
 * only when missing); the recipients are o->to only, never the
 * message's headers.  Returns the exit code.
 */
int send_run_whole(struct cmd_ctx *ctx, struct send_opts *o);

#endif
