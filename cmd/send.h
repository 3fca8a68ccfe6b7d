/*
 * send.h - the ways into send_run (send.c) beyond cmd.h's, for the
 * sendmail(8) front end (sendmail.c), and what every command that sends
 * (send, reply, forward) says about the library's events.
 */
#ifndef MAIL_CMD_SEND_H
#define MAIL_CMD_SEND_H

#include "cmd.h"
#include "mail/outgoing.h"

/*
 * sendmail(8) without -t: standard input is a whole RFC 5322 message,
 * kept as it is (Bcc and Resent-Bcc removed, Date and Message-ID added
 * only when missing); the recipients are o->to only, never the
 * message's headers.  Returns the exit code.
 */
int send_run_whole(struct cmd_ctx *ctx, struct send_opts *o);

/* The user interface of one send: the event hook's argument. */
struct send_ui {
    struct cmd_ctx *ctx;
    size_t msg_no, msg_total;     /* --batch: "message i of n: " */
    struct cmd_trace tr;
    struct cmd_trace itr;         /* -v: the IMAP of Sent copies */
};

/* The event hook (struct mail_sender_opts.event): refused and deferred
 * recipients, failures, queued and held messages, failed Sent copies,
 * each as one terminal-safe line on standard error. */
void send_report_event(void *arg, const struct mail_send_event *ev);

#endif
