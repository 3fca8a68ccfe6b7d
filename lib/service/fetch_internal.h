/*
 * fetch_internal.h - what the files of `mail fetch` share; private to
 * lib/service/ (not installed, not exported: none of these names starts
 * with mail_, and libmail.map exports only those).
 *
 *   fetch.c        mail_fetch_account: the run of one account (the lock,
 *                  the deadline, POP3 or IMAP), and the run's helpers
 *   fetch_state.c  a source: the state and journal files, what was
 *                  fetched (dedup), crash recovery, batches
 *   fetch_dest.c   destinations: Maildir (deferred sync), mbox, --mda;
 *                  one message's delivery (begin, write, end)
 *   fetch_imap.c   IMAP: folders, UIDVALIDITY, batches of UID FETCH
 *   fetch_pop3.c   POP3: UIDL, RETR, DELE after durable storage
 */
#ifndef MAIL_FETCH_INTERNAL_H
#define MAIL_FETCH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#include "mail/buf.h"
#include "mail/config.h"
#include "mail/fetch.h"
#include "mail/folder.h"
#include "mail/session.h"

#define HASH_HEX 32            /* 128 bits of SHA-256, in hex */
#define WBUF_SIZE (64 * 1024)
#define UID_MAX_LEN 200
#define WATCHDOG_BYTES (1024 * 1024)   /* this much data is progress */


/* ---- a string set with a value (uid -> hash) ---- */

struct fetch_entry {
    char *key;
    char hash[HASH_HEX + 1];   /* "" when not known */
};

struct fetch_set {
    struct fetch_entry *v;
    size_t n, cap;             /* cap: 0 or a power of two */
};

/* ---- destinations ---- */

struct mail_fetch_dest {
    enum mail_fetch_dest_kind kind;
    const struct mail_paths *paths;
    char *path;                 /* Maildir or mbox path; the MDA command */
    struct mail_folder *mbox;   /* open mbox folder */
    struct mail_folder *maildir;   /* open Maildir (deferred-sync appends) */
};

/* ---- sources ---- */

struct fetch_item {
    char *uid;
    char *name;              /* Maildir unique name */
    bool delivered;          /* renamed into place / appended / MDA ok */
    bool dropped;            /* a known duplicate, not delivered */
    char hash[HASH_HEX + 1];
    bool held;               /* Maildir: committed in tmp/, not yet
                                durable nor placed (deferred sync) */
    size_t held_seq;         /* its place in the folder's pending list */
};

struct mail_fetch_src {
    struct mail_fetch_dest *dest;
    char *dir, *state_path, *journal_path, *key;
    bool hashes;
    struct fetch_set seen;     /* uid -> hash */
    struct fetch_set known;    /* hashes from before a UIDVALIDITY change */
    uint32_t uidvalidity;
    uint32_t last_uid;
    int jfd;                   /* journal, -1 until written */
    struct mail_buf jbuf;      /* journal records not yet written */
    bool dirty;                /* the state file is out of date */

    struct fetch_item *batch;
    size_t nbatch;

    /* the message being delivered */
    struct fetch_item *cur;
    int fd;                    /* the spool file (mbox, MDA) */
    struct mail_append *app;
    size_t nheld;              /* messages held in this batch */
    EVP_MD_CTX *md;
    char *wbuf;
    size_t wlen;
    unsigned curflags;
    time_t curtime;
    bool pending_cr;           /* _write_crlf: a CR ended the last piece */
    bool discard;              /* a UID already delivered in this batch */
    bool spool;                /* mbox/MDA: s->fd is a spool file, the
                                  delivery starts once the hash is known */

    struct mail_fetch_stats stats;
    struct mail_fetch_clock *wd;      /* told of progress, or NULL */
    uint64_t wd_bytes;                /* bytes since the last telling */
};

/* ---- the run of one account (was cmd/fetch.c) ---- */

#define BATCH 256       /* messages per durable batch */

/* One account's run. */
struct fetch_run {
    const struct mail_fetch_opts *o;
    const struct mail_fetch_hooks *h;
    struct mail_account *acct;
    char *statedir;
    struct mail_fetch_dest *dest;
    struct mail_fetch_src *src;
    struct mail_fetch_clock wd;       /* the run's deadline */
    struct mail_server srv;
    struct mail_buf secret;
    const char *folder;          /* for messages: "INBOX" */
    size_t total, done;          /* progress of the current folder */
};

/* ---- shared between the files ---- */

/* fetch.c */
int fetch_nomem(struct mail_error *err);      /* MAIL_ERR_INTERNAL, -1 */
char *fetch_join(const char *dir, const char *name);   /* "dir/name" */
void fetch_progress(struct fetch_run *r, bool end);
void fetch_summary(struct fetch_run *r, const struct mail_fetch_stats *st);
void fetch_note(struct fetch_run *r, const char *fmt, ...) MAIL_PRINTF(2, 3);
int fetch_secret(struct fetch_run *r, struct mail_error *err);

/* fetch_state.c: the uid -> hash set; journal records (fsynced by
 * fetch_journal_sync) */
struct fetch_entry *fetch_set_find(const struct fetch_set *t, const char *key);
int fetch_set_put(struct fetch_set *t, const char *key, const char *hash);
void fetch_set_clear(struct fetch_set *t);
int fetch_journal_add(struct mail_fetch_src *s, struct mail_error *err,
                      const char *fmt, ...) MAIL_PRINTF(3, 4);
int fetch_journal_sync(struct mail_fetch_src *s, struct mail_error *err);

/* fetch_pop3.c, fetch_imap.c: one account's run over each protocol */
int fetch_run_pop3(struct fetch_run *r, struct mail_error *err);
int fetch_run_imap(struct fetch_run *r, struct mail_error *err);

#endif
