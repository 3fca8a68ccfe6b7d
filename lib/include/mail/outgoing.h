/*
 * outgoing.h - sending a message, for `mail send` (cmd/send.c) and every
 * other way a message leaves (reply, forward, compose, drafts):
 *   - spooling input to unlinked temporary files (memory does not grow
 *     with the message), the sender addresses of an account;
 *   - recipients: arguments and a message's To/Cc/Bcc resolved through
 *     the aliases and the account's domain (struct mail_rcpts);
 *   - a whole message (-t, sendmail, --batch) completed, Bcc removed
 *     (mail_send_prepare_whole);
 *   - a sender (struct mail_sender): one SMTP session opened when first
 *     needed, each message delivered with the queue decisions (a failure
 *     to reach the server is temporary: queue it with queue allowed; no
 *     reply after the final dot: held aside, never sent again unasked;
 *     no password source: fail before the message, or queue it), the
 *     queue flushed first, the copy in the sent folder.
 * The library prints nothing: what the user should hear arrives at the
 * caller's event hook (struct mail_send_event).
 */
#ifndef MAIL_OUTGOING_H
#define MAIL_OUTGOING_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <sys/types.h>

#include "aliases.h"
#include "buf.h"
#include "compose.h"
#include "config.h"
#include "conn.h"
#include "error.h"
#include "paths.h"
#include "sink.h"

/* An unlinked temporary file in paths' temporary directory (else /tmp),
 * read-write.  MAIL_ERR_CANTCREAT. */
int mail_spool_tmpfile(const struct mail_paths *paths,
                       struct mail_error *err);

/* Copy in (to its end) to a new temporary file (*out).  dots: a line
 * with a single "." ends the input (sendmail without -i). */
int mail_spool_fd(const struct mail_paths *paths, int in, bool dots,
                  int *out, struct mail_error *err);

/* The envelope sender: opt_from (-f), else the account's address, else
 * msg_from (the From of a message given whole); *out malloc'd addr-spec.
 * MAIL_ERR_CONFIG when there is none, MAIL_ERR_USAGE when it is bad. */
int mail_envelope_from(const char *opt_from, const struct mail_account *a,
                       const char *msg_from, char **out,
                       struct mail_error *err);

/* The From header of a composed message: opt_from, with name as the
 * display name when opt_from is a bare address; else the account's
 * address; nothing when neither.  -1 when opt_from is not an address. */
int mail_header_from(const char *opt_from, const char *name,
                     const struct mail_account *a, struct mail_buf *out);

/*
 * Append the message in fd (from off to its end) to the account's
 * sent-folder (a path when it starts with / or ~, else a folder of the
 * store),
 * flagged seen, with the Bcc fields in bcc (may be NULL) at its top.  0
 * when there is no sent-folder.  -1 with err and *where (malloc'd: the
 * folder's path or name) otherwise.
 */
int mail_sent_save(const struct mail_account *a, int fd, off_t off,
                   const struct mail_buf *bcc, char **where,
                   struct mail_error *err);

/* What the account's sent-folder says: nothing (unset, empty or
 * "none"), a local folder (a path or a folder of the store, for
 * mail_sent_save), or a folder on the IMAP server ("imap:NAME"; "imap:"
 * alone: the folder the server marks \Sent): *imap_name (may be NULL)
 * then points at NAME ("" for \Sent). */
enum mail_sent_kind { MAIL_SENT_NONE, MAIL_SENT_LOCAL, MAIL_SENT_IMAP };
enum mail_sent_kind mail_sent_kind(const struct mail_account *a,
                                   const char **imap_name);

/* DATA_HOME/mail/sent-pending (malloc'd; not created): the copies for
 * the IMAP Sent folder not filed yet. */
char *mail_sent_pending_dir(const struct mail_paths *paths,
                            struct mail_error *err);

struct mail_remote;

/*
 * File the message in fd (off to its end), with the Bcc lines in
 * bcc (may be NULL) at its top, in the IMAP Sent folder of rem's account
 * (sent-folder = imap:NAME, or the \Sent folder), flagged \Seen.  A
 * pending record (the copy and its Message-ID) is written durably to
 * mail_sent_pending_dir first and removed after the server's OK.  A lost
 * connection is tried once more on a new one, searching the folder for
 * the Message-ID before appending again (never two copies).  A folder
 * the server does not have ([TRYCREATE]) is created.  -1 with err and
 * *where ("imap:NAME", malloc'd) when the copy could not be filed: the
 * record is kept for mail_sent_flush_pending.
 */
int mail_sent_copy_imap(struct mail_remote *rem, int fd, off_t off,
                        const struct mail_buf *bcc, char **where,
                        struct mail_error *err);

/*
 * File the pending copies of account a (records of other accounts are
 * left alone), oldest first, each after a search by its Message-ID in
 * its folder so that one filed before a crash is not filed again; each
 * record is removed once its copy is there.  rem may be NULL when the
 * account has no IMAP server (then a record of it is an error).  Stops
 * at the first failure: -1 with err and *where (malloc'd).  *filed (may
 * be NULL) counts the copies filed or found.
 */
int mail_sent_flush_pending(const struct mail_account *a,
                            struct mail_remote *rem, size_t *filed,
                            char **where, struct mail_error *err);

/*
 * Whether err says the connection to the server was lost (closed by the
 * server, reset, broken pipe, or a TLS stream cut without close_notify)
 * rather than refused or answered with an error: the one place that
 * tells them apart, as a dropped connection in the middle of a
 * transaction is temporary and may leave the outcome unknown.
 */
bool mail_error_connection_lost(const struct mail_error *err);

/* ---- recipients ---- */

/*
 * The recipients of one message: each argument (or address of a message's
 * To, Cc and Bcc) checked (no control characters, no ESMTP parameters),
 * resolved through the aliases and qualified with the account's domain
 * (mail_rcpt_resolve), its addr-specs collected in v for RCPT TO.  The
 * strings are owned by the struct.
 */
struct mail_rcpts {
    const char **v;               /* addr-specs */
    size_t n;
    /* private */
    size_t alloc;
    struct mail_aliases aliases;
    char *domain;
    struct mail_addrlist *keep;   /* parsed lists v points into */
    size_t nkeep;
    char **owned;                 /* resolved texts */
    size_t nowned;
};

/* Load the aliases (paths' default file; none when there is no home)
 * and take the account's domain (acct may be NULL). */
int mail_rcpts_init(struct mail_rcpts *r, const struct mail_account *acct,
                    const struct mail_paths *paths, struct mail_error *err);
/* Resolve args[0..n) and add their addresses; each args[i] is replaced by
 * its resolved text (what a To or Cc header shows), owned by r.
 * MAIL_ERR_USAGE naming a bad address. */
int mail_rcpts_add_args(struct mail_rcpts *r, const char **args, size_t n,
                        struct mail_error *err);
/* The To, Cc and Bcc addresses of a message given whole, each resolved
 * as an argument would be. */
int mail_rcpts_add_message(struct mail_rcpts *r,
                           const struct mail_complete_result *res,
                           struct mail_error *err);
/* Forget the collected addresses (not the resolved texts). */
void mail_rcpts_reset(struct mail_rcpts *r);
/* Drop repeated addresses (case-insensitive): the server would deliver
 * twice. */
void mail_rcpts_dedup(struct mail_rcpts *r);
void mail_rcpts_release(struct mail_rcpts *r);

/* ---- a message given whole ---- */

struct mail_whole_opts {
    const char *from;             /* From when the message has none */
    bool check_rcpts;             /* To, Cc, Bcc must be valid addresses */
    const char *id_domain;        /* for a Message-ID (the account's) */
    const char *const *attach;    /* -t -A: files to attach */
    size_t nattach;
};

/*
 * Copy the message in `in` (offset 0 to end) to a new temporary file
 * *msg, completed (mail_message_complete: Bcc and Resent-Bcc removed into
 * res->bcc, From, Date, Message-ID and MIME headers added when missing),
 * made multipart/mixed with the attachments when there are some.  res
 * (zeroed by the caller) gets the message's recipients and From.
 */
int mail_send_prepare_whole(const struct mail_paths *paths, int in,
                            const struct mail_whole_opts *o, int *msg,
                            struct mail_complete_result *res,
                            struct mail_error *err);

/* ---- the sender ---- */

enum mail_send_event_kind {
    MAIL_SEND_EV_RCPT,            /* a recipient refused (addr, reply,
                                     temporary: deferred) */
    MAIL_SEND_EV_FAILED,          /* the message was not sent (err) */
    MAIL_SEND_EV_ERROR,           /* another failure (err): queue, sent
                                     copy kept aside... */
    MAIL_SEND_EV_QUEUED,          /* put in the queue (name: its id; err:
                                     why) */
    MAIL_SEND_EV_HELD,            /* no reply after the final dot: kept
                                     aside (name: the path) */
    MAIL_SEND_EV_FLUSHED,         /* a queued message sent (name) */
    MAIL_SEND_EV_QUEUE_FAILED,    /* a queued message refused for good,
                                     moved to failed/ (name, err) */
    MAIL_SEND_EV_COPY_FAILED,     /* sent, but the sent copy failed (name:
                                     the folder; err) */
    MAIL_SEND_EV_COPY_FILED,      /* copies kept by an earlier run are now
                                     in the IMAP Sent folder (name: it) */
};

struct mail_send_event {
    enum mail_send_event_kind kind;
    const char *addr;
    const char *reply;
    bool temporary;
    const char *name;
    const struct mail_error *err;
};

typedef void (*mail_send_event_fn)(void *arg,
                                   const struct mail_send_event *ev);

struct mail_sender_opts {
    const struct mail_account *acct;   /* with acct->paths */
    bool queue;                   /* a message that cannot go now may wait
                                     in the queue */
    mail_trace_fn trace;          /* the SMTP dialogue (-v), or NULL */
    void *trace_arg;
    mail_trace_fn imap_trace;     /* the IMAP dialogue of Sent copies */
    void *imap_trace_arg;
    mail_prompt_fn prompt;        /* a password prompt, or NULL */
    void *prompt_arg;
    mail_send_event_fn event;     /* what to tell the user, or NULL */
    void *event_arg;
};

struct mail_sender;

/* A sender for the account; nothing is connected before the first
 * message.  NULL only when out of memory. */
struct mail_sender *mail_sender_new(const struct mail_sender_opts *o,
                                    struct mail_error *err);
/* QUIT (when connected) and free. */
void mail_sender_free(struct mail_sender *s);

/* One message's envelope. */
struct mail_send_envelope {
    const char *from;             /* reverse-path addr-spec */
    const char *const *rcpts;
    size_t nrcpts;
    bool save_sent;               /* copy to the account's sent-folder
                                     (mail_sent_kind: none, local, or
                                     the IMAP server) */
    const struct mail_buf *bcc;   /* Bcc lines at the copy's top, or NULL */
};

struct mail_send_outcome {
    /* What the exit status should say: MAIL_OK when every recipient has
     * it or it waits in the queue; MAIL_ERR_RECIPIENT when some were
     * refused for good; MAIL_ERR_TEMP when it must be tried again (or
     * was held); else the kind of the failure. */
    enum mail_error_kind status;
    bool delivered;               /* 250 to DATA: some recipients have it */
    bool unknown;                 /* no reply after the dot: held */
    size_t ndeferred;             /* recipients refused for now */
    const char **refused;         /* recipients refused for good (point
                                     into the envelope's) */
    size_t nrefused;
    char reply[512];              /* the server's 250 text */
};
void mail_send_outcome_release(struct mail_send_outcome *oc);

/*
 * Send the message in fd (from off) and decide what becomes of it:
 * delivered (the sent copy saved), its deferred recipients queued (queue
 * allowed) or status MAIL_ERR_TEMP, held when no reply came after the
 * final dot, queued when the server cannot be reached or has no password
 * source (queue allowed), or failed.  Reports through the event hook;
 * returns 0 when delivered, -1 otherwise.
 */
int mail_send_message(struct mail_sender *s, int fd, off_t off,
                      const struct mail_send_envelope *env,
                      struct mail_send_outcome *oc);

/*
 * Send what is queued for the account, oldest first; a message queued
 * before anyone had it (mail_queue_add_sent's mark) gets its Sent copy
 * and its recipients collected once the server takes it, exactly as a
 * send does; stop at the first
 * failure that is not the message's fault (temporary, auth, TLS,
 * config).  explicit_flush (--flush): that failure is reported as an
 * ERROR event, else only its kind is returned (the send that follows
 * reports it).  Returns the worst kind (MAIL_OK when nothing is left).
 */
enum mail_error_kind mail_send_flush_queue(struct mail_sender *s,
                                           bool explicit_flush);

#pragma GCC visibility pop

#endif
