/*
 * flags.h - message flags, shared by the IMAP client (proto) and the
 * folder drivers (store), so that neither has to include the other.
 */
#ifndef MAIL_FLAGS_H
#define MAIL_FLAGS_H

#pragma GCC visibility push(default)

/* Message flags, as in IMAP (RFC 9051 2.3.2) and Maildir's info. */
enum {
    MAIL_FLAG_SEEN     = 1 << 0,   /* Maildir S, mbox Status: R, \Seen */
    MAIL_FLAG_ANSWERED = 1 << 1,   /* R, A, \Answered */
    MAIL_FLAG_FLAGGED  = 1 << 2,   /* F, F, \Flagged */
    MAIL_FLAG_DRAFT    = 1 << 3,   /* D, X-Status: T, \Draft */
    MAIL_FLAG_DELETED  = 1 << 4,   /* T, D, \Deleted */
    MAIL_FLAG_PASSED   = 1 << 5,   /* P (forwarded), $Forwarded */
    /* Not stored as a flag: the message is new (Maildir new/, mbox
     * without Status: O, IMAP \Recent).  Reported by list, cleared by
     * set_flags when SEEN is added. */
    MAIL_FLAG_NEW      = 1 << 8,
};

#pragma GCC visibility pop

#endif
