/*
 * fetch.h - `mail fetch`: mail_fetch_account runs it for one account
 * (at the end of this file); below it, the protocol-independent engine:
 * where fetched messages go, what has been fetched, and how a crash at
 * any moment neither loses nor duplicates a message.
 *
 * Files, in the state directory ($XDG_STATE_HOME/mail/fetch, else
 * ~/.local/state/mail/fetch), names percent-encoded:
 *
 *   ACCOUNT.lock           flock(2)ed for the whole run of one account
 *   SOURCE.state           what was fetched from one source (a POP3
 *                          maildrop, or one IMAP folder): "mail-fetch 1",
 *                          "uidvalidity N" (IMAP), then one "= UID HASH"
 *                          line per message; replaced atomically (temp
 *                          file, fsync, rename, fsync the directory)
 *   SOURCE.journal         appended (and fsynced) during a run:
 *                            P UID WHERE   about to deliver UID; WHERE is
 *                                          the Maildir unique name we
 *                                          will use ("-" for an MDA)
 *                            O UID OFFSET  mbox: its size before appending
 *                            D UID HASH    UID is delivered and durable
 *
 * The protocol, per batch of messages:
 *   1. mail_fetch_batch_begin: P records for the batch, fsynced;
 *   2. each message: mail_fetch_msg_begin / _write / _end (Maildir: the
 *      file in tmp/, fsynced, renamed into new/ or cur/; mbox: appended
 *      under its locks and fsynced; MDA: the whole message spooled to an
 *      unlinked file in the state directory, then the command run on it
 *      (mail_spawn_run, the file as its standard input), counted only on
 *      exit 0; 75 is a temporary failure);
 *   3. mail_fetch_batch_commit: the Maildir directories fsynced, then D
 *      records, fsynced.  Only now do the UIDs count as fetched, and only
 *      now may the caller delete them on the server.
 * On the next open, a P without D is settled by looking: a Maildir file of
 * that unique name (in new/ or cur/, any flags) means delivered; an mbox
 * that grew past the recorded offset and has a From_ line there means
 * delivered; otherwise the message is fetched again (an MDA message too:
 * an MDA may get a message twice after a crash, never lose one).  Leftover
 * tmp/ files of ours are removed.  mail_fetch_src_close folds the journal
 * into the state file and removes the journal.
 *
 * A UIDVALIDITY change keeps the content hashes (SHA-256, first 128 bits)
 * of everything fetched before, and a message re-fetched whose hash is
 * known is dropped instead of delivered again, whatever the destination:
 * a Maildir file is dropped from tmp/; for an mbox, while such hashes are
 * known, each message is first written to an unlinked spool file in the
 * state directory and delivered from there only once its hash is known to
 * be new (an MDA's messages are always spooled so).  (The hash covers
 * every byte, so the Message-ID and the size are in it.)
 *
 * Within a batch, a UID delivered (or dropped) once is not delivered again:
 * a second copy in the same reply is read and thrown away.
 */
#ifndef MAIL_FETCH_H
#define MAIL_FETCH_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conn.h"
#include "error.h"
#include "paths.h"

struct mail_account;
struct mail_buf;

/* The state directory, created (mode 0700) if missing.  malloc'd. */
char *mail_fetch_state_dir(const struct mail_paths *paths,
                           struct mail_error *err);

/*
 * Take the per-account lock (dir/ACCOUNT.lock).  wait false: another
 * holder gives MAIL_ERR_TEMP "another mail fetch for account X is
 * running" at once; wait true blocks until it is free.  Returns the lock
 * descriptor (>= 0) or -1; mail_fetch_unlock releases it.
 */
int mail_fetch_lock(const char *dir, const char *account, bool wait,
                    struct mail_error *err);
void mail_fetch_unlock(int fd);

/* ---- destinations ---- */

enum mail_fetch_dest_kind {
    MAIL_FETCH_MAILDIR,
    MAIL_FETCH_MBOX,
    MAIL_FETCH_MDA,
};

struct mail_fetch_dest;

/*
 * A Maildir (created if missing), an mbox file ("mbox:PATH", or an
 * existing regular file; created if missing), or with mda not NULL a
 * command run by /bin/sh -c with each message on its standard input.
 */
struct mail_fetch_dest *mail_fetch_dest_open(const struct mail_paths *paths,
                                             const char *path,
                                             const char *mda,
                                             struct mail_error *err);
enum mail_fetch_dest_kind mail_fetch_dest_kind(const struct mail_fetch_dest *d);
const char *mail_fetch_dest_path(const struct mail_fetch_dest *d);
void mail_fetch_dest_close(struct mail_fetch_dest *d);

/*
 * The local folder for a remote folder name: "INBOX" -> the store;
 * "Lists/dev" -> STORE/.Lists.dev (Maildir++); for an mbox store, the
 * mbox file itself for INBOX and an error otherwise.  sep is the server's
 * hierarchy separator.  malloc'd.
 */
char *mail_fetch_local_folder(const char *store, const char *remote,
                              char sep, struct mail_error *err);

/* Does name match an IMAP LIST-style pattern ('*' anything, '%' anything
 * but sep)?  "INBOX" matches case-insensitively. */
bool mail_fetch_pattern_match(const char *pattern, const char *name,
                              char sep);

/* ---- sources ---- */

struct mail_fetch_src;

/*
 * Open the state of one source: key names it uniquely, e.g.
 * "pop3 alice@pop.example.com:995" or "imap alice@host:993 INBOX",
 * together with the account.  Loads the state, replays the journal and
 * settles pending messages against dest (see above).  hashes: keep
 * content hashes (IMAP, for a UIDVALIDITY change).
 */
struct mail_fetch_src *mail_fetch_src_open(const char *dir,
                                           const char *account,
                                           const char *key,
                                           struct mail_fetch_dest *dest,
                                           bool hashes,
                                           struct mail_error *err);

/* Has uid been fetched (durably)? */
bool mail_fetch_seen(const struct mail_fetch_src *s, const char *uid);
size_t mail_fetch_seen_count(const struct mail_fetch_src *s);
/* The highest numeric UID fetched (IMAP), 0 when none. */
uint32_t mail_fetch_last_uid(const struct mail_fetch_src *s);

/* IMAP: the UIDVALIDITY recorded (0: none yet). */
uint32_t mail_fetch_uidvalidity(const struct mail_fetch_src *s);
/* Record v.  When another value was recorded, forget the UIDs (their
 * content hashes stay, so that the re-fetch drops known messages) and
 * return 1; else 0.  -1 on error (the journal could not be written). */
int mail_fetch_set_uidvalidity(struct mail_fetch_src *s, uint32_t v,
                               struct mail_error *err);

/* Mark uids as fetched without fetching them (--catch-up). */
int mail_fetch_mark(struct mail_fetch_src *s, const char *const *uids,
                    size_t n, struct mail_error *err);

/* Step 1: the next n messages to deliver, in the order they will be
 * delivered.  A batch must be committed before the next begins. */
int mail_fetch_batch_begin(struct mail_fetch_src *s, const char *const *uids,
                           size_t n, struct mail_error *err);

/* Step 2: message i of the batch.  flags: MAIL_FLAG_* (folder.h) for the
 * Maildir info; received: its delivery time (0: now). */
int mail_fetch_msg_begin(struct mail_fetch_src *s, size_t i, unsigned flags,
                         time_t received, struct mail_error *err);
/* A mail_sink_fn: ctx is the source.  A write that fails returns -1 with
 * err naming the store and the cause ("~/Mail/INBOX: No space left on
 * device", MAIL_ERR_IO); the caller then ends the message with ok false. */
int mail_fetch_msg_write(void *ctx, const char *data, size_t len,
                         struct mail_error *err);
/* The same, turning CRLF into LF (IMAP sends CRLF; Maildir files and
 * mbox hold LF). */
int mail_fetch_msg_write_crlf(void *ctx, const char *data, size_t len,
                              struct mail_error *err);
/* ok false: the download failed; throw the partial message away.
 * Returns 0 when delivered (or dropped as a known duplicate), -1. */
int mail_fetch_msg_end(struct mail_fetch_src *s, bool ok,
                       struct mail_error *err);

/* Step 3: everything delivered in the batch becomes durable and fetched.
 * Returns the number of messages delivered, or -1. */
long mail_fetch_batch_commit(struct mail_fetch_src *s, struct mail_error *err);

/* Fold the journal into the state file.  present (may be NULL): the UIDs
 * now on the server; others are forgotten (POP3, once a listing is
 * complete).  Frees s (also on error). */
int mail_fetch_src_close(struct mail_fetch_src *s, const char *const *present,
                         size_t npresent, struct mail_error *err);
/* Free without writing anything more (the journal keeps what is done). */
void mail_fetch_src_free(struct mail_fetch_src *s);

/* Counters of a source since open (delivered, dropped duplicates,
 * recovered after a crash, marked by mail_fetch_mark, bytes). */
struct mail_fetch_stats {
    size_t delivered, duplicates, recovered, marked;
    uint64_t bytes;
};
void mail_fetch_stats(const struct mail_fetch_src *s,
                      struct mail_fetch_stats *out);

/*
 * The deadline of a run: a progress clock given to the run's connections
 * (struct mail_server's deadline, see conn.h), so that every wait is
 * bounded by it and, once no progress was reported for limit seconds, the
 * protocol call under way fails (MAIL_ERR_TEMP): a server that trickles
 * untagged responses forever, or a body one byte at a time, cannot hold
 * the account's lock for ever.  Progress: a message delivered or dropped
 * as a duplicate, each MiB of message data (both reported by a source
 * given to mail_fetch_src_watch), and whatever the caller reports (a
 * folder done).  mail_fetch_clock_passed tells a passed deadline from a
 * dropped connection.  No thread.
 */
struct mail_fetch_clock {
    struct mail_deadline dl;    /* what the connections look at */
    unsigned limit;             /* seconds without progress */
    char what[64];              /* "no progress for N s" */
};
void mail_fetch_clock_start(struct mail_fetch_clock *c, unsigned limit);
void mail_fetch_clock_progress(struct mail_fetch_clock *c);   /* NULL ok */
bool mail_fetch_clock_passed(const struct mail_fetch_clock *c);
/* Report s's progress to c (NULL: to none). */
void mail_fetch_src_watch(struct mail_fetch_src *s,
                          struct mail_fetch_clock *c);

/* ---- a whole run: one account ---- */

/* What a run reports as it goes (each hook may be NULL).  Names and texts
 * come from the server and the config: print them terminal-safe. */
struct mail_fetch_progress {
    const char *account, *folder;  /* folder: "INBOX" for POP3 */
    size_t done, total;            /* messages of the folder */
    uint64_t bytes;
    bool end;                      /* the folder's transfer is over */
};

struct mail_fetch_hooks {
    void *arg;
    /* after each message, and at the end of each folder's transfer */
    void (*progress)(void *arg, const struct mail_fetch_progress *p);
    /* one folder (POP3: the maildrop, "INBOX") done */
    void (*folder_done)(void *arg, const char *account, const char *folder,
                        const struct mail_fetch_stats *st);
    /* a message left on the server and why (not an error) */
    void (*note)(void *arg, const char *text);
    /* a folder the server listed could not be fetched; the run goes on
     * with the others and ends with MAIL_ERR_PROTOCOL */
    void (*folder_error)(void *arg, const struct mail_error *err);
    /* IMAP: n names in the server's LIST reply could not be used (empty,
     * longer than 1 KiB, or holding a NUL: see mail_imap_list_counted)
     * and were skipped; once per run, when n > 0.  A warning, not an
     * error: the other folders are fetched. */
    void (*folders_skipped)(void *arg, const char *account, size_t n);
};

struct mail_fetch_opts {
    bool pop3;                 /* the account's POP3 server, not IMAP */
    bool keep, del, catch_up;  /* --keep, --delete, --catch-up */
    bool wait;                 /* wait for another run's lock */
    bool skip_missing;         /* an IMAP folder named (not a pattern)
                                  that the server no longer has is
                                  skipped, not an error: --idle's later
                                  runs, whose watch tells of it */
    const char *mda;           /* --mda CMD, or NULL: the store */
    const char *const *folders; /* --folder NAME... (IMAP patterns) */
    size_t nfolders;
    mail_trace_fn trace;       /* the protocol dialogue (-vv), or NULL */
    void *trace_arg;
    /* asks for the password when no other source has it (config.h) */
    int (*prompt)(void *arg, const char *prompt, struct mail_buf *out,
                  struct mail_error *err);
    void *prompt_arg;
};

/*
 * `mail fetch` for one account: take its lock (MAIL_ERR_TEMP if another
 * run holds it, unless o->wait), start the deadline (no progress for 10 x
 * the account's timeout: MAIL_ERR_TEMP "no progress for N s"), then POP3
 * or IMAP: list, fetch what the state has not seen in durable batches,
 * delete on the server what is recorded (--delete), log out.  The error
 * is not prefixed with the account.
 */
int mail_fetch_account(struct mail_account *acct,
                       const struct mail_fetch_opts *o,
                       const struct mail_fetch_hooks *h,
                       struct mail_error *err);

/* ---- mail fetch --idle ---- */

#define MAIL_FETCH_IDLE_QUIET 1000    /* ms without a report before a run */
#define MAIL_FETCH_IDLE_GATHER 4000   /* ms at most from the first report */

struct mail_fetch_idle_opts {
    bool (*stop)(void *arg);    /* asked at least once a second; NULL:
                                   never (the library handles no signal) */
    void *stop_arg;
    unsigned keepalive;         /* seconds: IDLE renewed, NOOPs (watch.h),
                                   and the poll interval when shorter
                                   than MAIL_WATCH_INTERVAL; 0: the
                                   defaults */
    bool no_notify;             /* no IMAP NOTIFY even where offered
                                   (--no-notify): IDLE per folder */
    void *arg;                  /* for the hooks below, each may be NULL */
    /* every folder is watched: n folders, nidle of them with IDLE, all
     * over NOTIFY on one connection when notify is true */
    void (*ready)(void *arg, size_t n, unsigned nidle, bool notify);
    /* the watch lost its connection and connects again (a sentence;
     * untrusted bytes from the server in it: print it terminal-safe) */
    void (*note)(void *arg, const char *text);
    /* a run after the first failed for a reason that may pass (the
     * network, the server); it is tried again after `retry` seconds */
    void (*run_error)(void *arg, const struct mail_error *err,
                      unsigned retry);
    /* a watched folder was deleted on the server (watched for its
     * return, the other folders fetched meanwhile), is there again, or
     * was renumbered (UIDVALIDITY): a sentence as for note, to be shown
     * off a terminal too (mail watch does) */
    void (*folder_note)(void *arg, const char *text);
};

/*
 * `mail fetch --idle` for one IMAP account: mail_fetch_account once (its
 * error ends it), then watch the folders it fetches (--folder, else
 * fetch-folders, else INBOX; patterns expanded with LIST when it starts)
 * with the engine of watch.h (NOTIFY on one connection where the server
 * offers it and io->no_notify is false, else IDLE, polling beyond
 * watch-connections; reconnecting with backoff), and run
 * mail_fetch_account again (waiting for the lock of another run) when it
 * reports new mail: once the reports have been quiet for
 * MAIL_FETCH_IDLE_QUIET ms (at most MAIL_FETCH_IDLE_GATHER ms after the
 * first), so that a burst of arrivals costs one run, not one each.  Each
 * run is a whole fetch, so the crash safety is the same.  A password asked for
 * is asked once.  A folder deleted on the server after the first run
 * does not end it: io->folder_note tells, the later runs skip it
 * (o->skip_missing) and fetch all it holds once it is created again.
 * Returns 0 when io->stop says so, -1 with err on a
 * permanent error (a later run's network or server trouble is retried
 * with backoff and told to io->run_error).  POP3 or o->catch_up:
 * MAIL_ERR_USAGE.
 */
int mail_fetch_idle(struct mail_account *acct, const struct mail_fetch_opts *o,
                    const struct mail_fetch_hooks *h,
                    const struct mail_fetch_idle_opts *io,
                    struct mail_error *err);

/* Percent-encode a name for a file name (exposed for tests). malloc'd. */
char *mail_fetch_file_name(const char *account, const char *key,
                           const char *suffix);

#pragma GCC visibility pop

#endif
