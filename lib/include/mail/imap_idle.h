/*
 * imap_idle.h - waiting for news in the selected mailbox (IDLE, RFC 2177)
 * and fetching the envelopes of new messages by UID.
 *
 * Everything here reads the server with its own response parser
 * (imap_parse.h), which takes exactly the bytes of each response, so it
 * mixes with the commands of imap.h on the same session.
 *
 *     mail_imap_idle_start   "TAG IDLE", until the server's "+"
 *     mail_imap_idle_wait    up to N seconds for untagged responses
 *     mail_imap_idle_done    "DONE", until the tagged OK
 *
 * An untagged BYE (the server shutting down) is MAIL_ERR_UNAVAIL with
 * conn_lost set: the connection is as good as gone.  Other errors as in
 * imap.h; after any error the session must not be used again.
 */
#ifndef MAIL_IMAP_IDLE_H
#define MAIL_IMAP_IDLE_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "imap_envelope.h"
#include "imap_parse.h"
#include "session.h"

/* What untagged responses said while waiting (bits). */
enum {
    MAIL_IMAP_IDLE_EXISTS  = 1 << 0,  /* "* N EXISTS": maybe new mail */
    MAIL_IMAP_IDLE_EXPUNGE = 1 << 1,
    MAIL_IMAP_IDLE_FETCH   = 1 << 2,  /* flags changed */
    MAIL_IMAP_IDLE_STATUS  = 1 << 3,  /* "* STATUS mailbox (...)" (NOTIFY) */
};

/* An untagged STATUS (NOTIFY, RFC 5465, sends them for mailboxes that are
 * not selected). */
struct mail_imap_idle_status {
    const char *mailbox;      /* as the server sent it (modified UTF-7) */
    uint32_t messages, uidnext, uidvalidity;   /* 0: not in the response */
};
typedef void (*mail_imap_idle_status_fn)(void *arg,
                                         const struct mail_imap_idle_status *st);

struct mail_imap_idle {
    /* set after mail_imap_idle_init to hear of STATUS responses */
    mail_imap_idle_status_fn status_fn;
    void *status_arg;
    struct mail_imap_parser parser;
    char tag[16];
    bool idling;              /* "+" seen, DONE not sent yet */
    unsigned events;          /* MAIL_IMAP_IDLE_* seen since start */
    uint32_t exists;          /* the last EXISTS count, 0 when none */
};

void mail_imap_idle_init(struct mail_imap_idle *st);
void mail_imap_idle_release(struct mail_imap_idle *st);

/* Send IDLE and read until the "+".  A server that answers NO or BAD
 * (no IDLE) gives MAIL_ERR_UNAVAIL. */
int mail_imap_idle_start(struct mail_session *s, struct mail_imap_idle *st,
                         struct mail_error *err);

/*
 * Wait up to `seconds` (>= 1) for untagged responses and read every one
 * that arrives meanwhile.  Returns the MAIL_IMAP_IDLE_* bits seen in this
 * call (0: the time passed quietly), or -1 with err.  The connection's own
 * timeout is put back before returning.
 */
int mail_imap_idle_wait(struct mail_session *s, struct mail_imap_idle *st,
                        int seconds, struct mail_error *err);

/* Send DONE and read until IDLE's tagged OK (untagged responses on the
 * way are added to st->events). */
int mail_imap_idle_done(struct mail_session *s, struct mail_imap_idle *st,
                        struct mail_error *err);

/* One message of mail_imap_fetch_new. */
typedef int (*mail_imap_new_fn)(void *arg, uint32_t uid,
                                const struct mail_imap_envelope *env,
                                struct mail_error *err);

/*
 * UID FETCH from:* (UID FLAGS ENVELOPE) in the selected mailbox, and fn
 * for each message with uid >= from (RFC 3501: "from:*" names the last
 * message even when its UID is below from; it is not reported), in the
 * server's order, each UID once.  fn returning -1 stops with its error
 * (the rest of the response is still read).  A NO is MAIL_ERR_UNAVAIL.
 */
int mail_imap_fetch_new(struct mail_session *s, uint32_t from,
                        mail_imap_new_fn fn, void *arg,
                        struct mail_error *err);

#pragma GCC visibility pop

#endif
