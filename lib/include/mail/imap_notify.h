/*
 * imap_notify.h - IMAP NOTIFY (RFC 5465): news of many mailboxes on one
 * connection.  With no mailbox selected, the server sends an untagged
 * STATUS (MESSAGES UIDNEXT UIDVALIDITY) for a watched mailbox when a
 * message arrives or goes; mail_imap_idle (imap_idle.h) reads them.
 */
#ifndef MAIL_IMAP_NOTIFY_H
#define MAIL_IMAP_NOTIFY_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "session.h"
#include "imap_idle.h"
#include "imap_parse.h"

/* NOTIFY SET (mailboxes NAME...) (MessageNew MessageExpunge), names in
 * UTF-8.  A server that refuses it (NO, BAD: say, too many mailboxes) is
 * MAIL_ERR_UNAVAIL; one that does not offer NOTIFY too, without a
 * command. */
int mail_imap_notify_set(struct mail_session *s, const char *const *names,
                         size_t n, struct mail_error *err);

/* Leave the selected mailbox without expunging: UNSELECT (RFC 3691), else
 * CLOSE (the mailboxes here are EXAMINEd: nothing to expunge). */
int mail_imap_unselect(struct mail_session *s, struct mail_error *err);

/* Does the server's mailbox name raw (modified UTF-7, as in a STATUS
 * response) name the UTF-8 name?  INBOX in any case. */
bool mail_imap_mailbox_is(const char *raw, const char *utf8);

/* The untagged STATUS r (MAIL_IMAP_T_STATUS_MBX) as NOTIFY sends it:
 * the mailbox (raw, pointing into r) and the numbers it holds (0 for
 * those it leaves out).  -1 when r is no well-formed STATUS. */
int mail_imap_notify_status(const struct mail_imap_resp *r,
                            struct mail_imap_idle_status *ms);

#pragma GCC visibility pop

#endif
