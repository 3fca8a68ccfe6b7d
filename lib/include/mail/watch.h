/*
 * watch.h - new mail in folders of one account's IMAP server, as it
 * arrives (`mail watch`).
 *
 * NOTIFY (RFC 5465) first, when o->notify asks for it and the server
 * offers it (and IDLE): one connection for every folder, NOTIFY SET
 * (mailboxes ...) (MessageNew MessageExpunge) with no mailbox selected,
 * waiting in IDLE for the untagged STATUS of a folder; each folder's
 * state is then asked with STATUS, and new messages are fetched after an
 * EXAMINE, the mailbox left again (UNSELECT, else CLOSE).  A server
 * without NOTIFY, or one that refuses NOTIFY SET (NO or BAD), is watched
 * as below, on the same session; so is one that offered NOTIFY at first
 * but, on the connection made again after a drop or a restart, no longer
 * offers it or refuses NOTIFY SET: the folders go on from their
 * remembered UIDNEXT (what came meanwhile is reported once), and NOTIFY is
 * not tried again during that watch.
 *
 * Shape: one thread per connection, each with its own struct mail_remote
 * (a logged-in session, reconnected after a drop).  With n folders and a
 * limit of c connections (o->connections, default
 * MAIL_WATCH_CONNECTIONS), when n <= c every folder has its own
 * connection and waits with IDLE (RFC 2177; re-issued every 25 minutes,
 * as servers may end an IDLE after 30); when n > c, c - 1 folders IDLE
 * and the rest share the last connection, polled with STATUS (UIDNEXT
 * UIDVALIDITY) every o->interval seconds (one LIST-STATUS, RFC 5819,
 * for all of them when the server offers it).  A server without IDLE is
 * polled the same way.  Keepalive: IDLE is re-issued, and a polled
 * connection gets a NOOP when it had no poll, every o->idle_renew seconds
 * (default 25 minutes: servers may log a client out after 30).  The threads call o->fn one at a time (a mutex), so the
 * callback needs no locking of its own.
 *
 * For each folder the UIDVALIDITY and UIDNEXT are remembered when it is
 * first examined; a change is looked up with UID FETCH next:* (UID FLAGS
 * ENVELOPE), only UIDs >= next are reported, and next moves past each one
 * reported: every message is reported once.  A lost connection (also an
 * untagged BYE, a timeout, a refused reconnect) is made again after 1, 2,
 * 4 ... 60 s (back to 1 s once a connection has stayed up for
 * MAIL_WATCH_STABLE seconds) and the folder resynced from the remembered UIDNEXT, so what
 * arrived meanwhile is reported then.  A new UIDVALIDITY reports nothing
 * old: MAIL_WATCH_RESET, and watching goes on from the new UIDNEXT.
 * A folder examined before that can no longer be opened (EXAMINE or
 * STATUS answered NO: deleted, renamed away) is MAIL_WATCH_RESET with a
 * note, and asked again every o->interval seconds while the others go
 * on; when it is back, MAIL_WATCH_RESET again and every message it
 * then holds is reported (from UID 1: all came after it went).
 *
 * Errors: until every folder has been examined once, any error ends the
 * watch (a wrong password, a missing folder, a server that is down: the
 * user is told at once).  After that only the permanent ones do
 * (MAIL_ERR_AUTH, MAIL_ERR_NOTFOUND other than a folder that went away
 * (above), MAIL_ERR_CONFIG, MAIL_ERR_USAGE,
 * MAIL_ERR_INTERNAL, and an error returned by the callback); the others
 * are retried with the backoff and reported as MAIL_WATCH_RETRY.
 *
 * The library does not handle signals: o->stop is asked at least once a
 * second (and during the backoff); when it says true every thread leaves
 * IDLE, logs out, and mail_watch_run returns 0.
 */
#ifndef MAIL_WATCH_H
#define MAIL_WATCH_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "address.h"
#include "config.h"
#include "error.h"
#include "remote.h"

#define MAIL_WATCH_CONNECTIONS 5      /* connections per watch */
#define MAIL_WATCH_INTERVAL 60        /* seconds between STATUS polls */
#define MAIL_WATCH_IDLE_RENEW (25 * 60)
#define MAIL_WATCH_STABLE 60          /* seconds up that reset the backoff */

enum mail_watch_event_kind {
    MAIL_WATCH_READY,     /* the folder was examined for the first time:
                             uidvalidity and uid (its UIDNEXT) are set */
    MAIL_WATCH_NEW,       /* a new message */
    MAIL_WATCH_RESET,     /* UIDVALIDITY changed; message says so */
    MAIL_WATCH_RETRY,     /* the connection failed; message says why and
                             when the next try is */
    MAIL_WATCH_BATCH,     /* the NEW events of the folder so far are what
                             one look found: after the last of them (a
                             caller that acts once per arrival, such as
                             `mail watch --exec`, acts now) */
};

struct mail_watch_event {
    enum mail_watch_event_kind kind;
    const char *folder;           /* the name given (UTF-8) */
    uint32_t uidvalidity;
    uint32_t uid;                 /* NEW: its UID; READY: UIDNEXT */
    bool idle;                    /* READY: waits with IDLE (else polled) */
    bool notify;                  /* READY: over NOTIFY (idle is true) */
    /* NEW: */
    const struct mail_addrlist *from;   /* decoded names */
    const char *subject;          /* decoded to UTF-8, "" when none */
    bool has_date;
    time_t date;                  /* the Date: header */
    int date_offset;              /* its zone, minutes east of UTC */
    /* RESET and RETRY: a sentence for the user (untrusted bytes in it
     * come from the server: print it terminal-safe). */
    const char *message;
};

/* Called for each event, one call at a time.  Return -1 with err to end
 * the watch with that error. */
typedef int (*mail_watch_fn)(void *arg, const struct mail_watch_event *ev,
                             struct mail_error *err);

struct mail_watch_opts {
    struct mail_remote_opts remote;   /* prompt (the answer is asked once
                                         and shared by the connections),
                                         trace */
    unsigned connections;             /* 0: MAIL_WATCH_CONNECTIONS */
    unsigned interval;                /* seconds; 0: MAIL_WATCH_INTERVAL */
    bool notify;                      /* NOTIFY first where offered (else
                                         IDLE and polling only); `mail
                                         watch` and `mail fetch --idle`
                                         set it unless --no-notify */
    unsigned idle_renew;              /* keepalive seconds: IDLE renewed,
                                         NOOP on a quiet polled connection;
                                         0: MAIL_WATCH_IDLE_RENEW */
    bool (*stop)(void *arg);          /* NULL: never */
    void *stop_arg;
    mail_watch_fn fn;
    void *fn_arg;
};

/* Watch folders[0..n) (UTF-8 names on the account's server) until
 * o->stop says so (0) or a permanent error (-1 with err). */
int mail_watch_run(const struct mail_account *acct,
                   const char *const *folders, size_t n,
                   const struct mail_watch_opts *o, struct mail_error *err);

#pragma GCC visibility pop

#endif
