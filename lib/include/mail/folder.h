/*
 * folder.h - one interface to a folder of messages, whatever holds it.
 *
 * Drivers: Maildir (maildir.c), mbox (mbox.c) and IMAP (imapfolder.c,
 * opened with mail_imap_folder_open).  `mail ls`, `read`, `flag`, `mv`,
 * `rm`, the reader and `fetch` are written once against this interface.  The driver table is
 * struct mail_folder_driver below; a driver fills it and folder.c
 * dispatches.
 *
 *     f = mail_folder_open("~/Mail/INBOX", MAIL_FOLDER_RDWR, &paths, &err);
 *     mail_folder_list(f, &list, &err);           // envelopes, cached
 *     mail_folder_message_fd(f, &list.v[3], &fd, &err);  // the raw bytes
 *     mail_folder_set_flags(f, &list.v[3], MAIL_FLAG_SEEN, 0, &err);
 *     mail_folder_close(f, &err);                 // mbox: writes changes
 *
 * Delivery (append) is a stream, so a message is never held in memory:
 *
 *     a = mail_folder_append_begin(f, MAIL_FLAG_SEEN, when, &err);
 *     mail_append_write(a, chunk, n, &err); ...
 *     mail_append_commit(a, &key, &err);   // durable when this returns 0
 *
 * Maildir: written in tmp/, fsynced, renamed into new/ (cur/ when it has
 * flags), and the directory fsynced.  mbox: appended under an fcntl lock
 * plus a dot-lock, with mboxrd ">From " quoting, fsynced; a failed append
 * truncates the file back to its old size.
 */
#ifndef MAIL_FOLDER_H
#define MAIL_FOLDER_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "error.h"
#include "paths.h"
#include "flags.h"
#include "sink.h"

enum mail_folder_kind {
    MAIL_FOLDER_MAILDIR,
    MAIL_FOLDER_MBOX,
    MAIL_FOLDER_IMAP,
};

enum {
    MAIL_FOLDER_RDONLY = 0,
    MAIL_FOLDER_RDWR = 1,
    MAIL_FOLDER_CREATE = 2,   /* create a missing Maildir (cur/new/tmp) or
                                 an empty mbox file */
};

/*
 * One message as a listing shows it.  Strings are owned by the envelope
 * list (freed by mail_envelope_list_release).  Header values are as in
 * the message, unfolded but not decoded (callers decode with rfc2047.h
 * and address.h), or NULL when absent.
 */
struct mail_envelope {
    char *key;            /* stable within the folder: Maildir unique name
                             (the file name before ":2,"), mbox
                             "OFFSET:ID" (byte offset of the From_ line in
                             decimal, a hash of the From_ line, header and
                             body length in hex), IMAP UID */
    char *path;           /* Maildir: the file now; else NULL */
    uint64_t offset;      /* mbox: offset of the From_ line */
    uint32_t uid;         /* IMAP */
    unsigned flags;       /* MAIL_FLAG_* */
    uint64_t size;        /* bytes of the message (mbox: unquoted) */
    time_t date;          /* Date: header; see has_date */
    int date_offset;      /* its zone, minutes east of UTC */
    bool has_date;        /* false when Date: is missing or unparseable */
    time_t received;      /* delivery time: Maildir file mtime or name,
                             mbox From_ line, IMAP INTERNALDATE */
    char *from, *to, *cc, *subject;
    char *message_id, *in_reply_to, *references;
    char *content_type;   /* for has-attachment without a body parse */
    unsigned attachments; /* parts with a file name or disposition
                             attachment (0 when not known: see
                             MAIL_FOLDER_LIST_ATTACHMENTS) */
    /* What a listing shows, when the driver has it ready (Maildir with
     * MAIL_FOLDER_LIST_BORROW), else NULL (decode from and subject
     * yourself): the first sender's name, else its address, and the
     * subject, RFC 2047-decoded and made terminal-safe on one line
     * (mail_term_safe MAIL_SAFE_ONELINE).  NULL also when empty. */
    const char *from_display, *subject_display;
    /* The strings are not each malloc'd (MAIL_FOLDER_LIST_BORROW): the
     * folder owns them. */
    bool borrowed;
};

struct mail_envelope_list {
    struct mail_envelope *v;
    size_t n, alloc;
    char *arena;          /* drivers may put all strings in one block */
};

#define MAIL_ENVELOPE_LIST_INIT { NULL, 0, 0, NULL }
void mail_envelope_list_release(struct mail_envelope_list *l);

enum {
    /* Count attachments (needs a body parse of each message the cache
     * does not know yet). */
    MAIL_FOLDER_LIST_ATTACHMENTS = 1,
    /* Let the strings of the envelopes point into memory the folder owns
     * (Maildir: its mapped header cache), with no allocation per message,
     * and fill from_display and subject_display.  They stay valid until
     * mail_folder_close, so the list must not be used after that (its
     * release is still needed, and safe after the close).  Only when out
     * is empty or holds only borrowed envelopes; otherwise, and for other
     * drivers, it is ignored. */
    MAIL_FOLDER_LIST_BORROW = 2,
    /* Only what a plain listing shows is needed: key, path, flags, size,
     * dates, attachments, from_display and subject_display; with it a
     * driver may leave the other strings NULL, except that content_type
     * is then "multipart/mixed" for such a message and NULL otherwise
     * (Maildir with BORROW: the raw header strings of the cache are then
     * not read).  Drivers may ignore it and fill everything. */
    MAIL_FOLDER_LIST_DISPLAY = 4,
    /* With BORROW, into an empty list: only what orders and counts the
     * folder is made now (Maildir: from the file names and the cache's
     * fixed-size records, no string of the cache read or checked): every
     * envelope's flags, size, received, date, date_offset, has_date,
     * attachments and content_type as with DISPLAY; key, path and the
     * other strings are NULL until mail_folder_list_fill fills them.  An
     * envelope whose key is NULL is not filled yet: pass only filled ones
     * to the other calls.  Drivers may ignore it and fill everything
     * (mbox, IMAP); with it, DISPLAY is ignored (a fill gives every
     * string). */
    MAIL_FOLDER_LIST_LAZY = 8,
    /* With DISPLAY: message_id, in_reply_to and references too, what
     * threading needs (mail/thread.h); the other raw strings may still be
     * NULL (Maildir and mbox with BORROW: the cache's threading strings
     * are read, its other raw header strings are not). */
    MAIL_FOLDER_LIST_THREAD = 16,
};

struct mail_folder;
struct mail_append;

/*
 * Open a folder by path: a directory with cur/ new/ tmp/ is a Maildir, a
 * regular file (empty, or starting with "From ") is an mbox.  A path
 * starting with "mbox:" forces mbox (for CREATE).  "~" is expanded with
 * paths' home.  paths also gives the header cache's directory (none: no
 * cache), the state directory (mbox sync backups) and the temporary
 * directory; it must outlive the folder.  NULL: none of them.
 * MAIL_ERR_NOTFOUND when missing (and no CREATE), MAIL_ERR_DATA when it
 * is neither kind, MAIL_ERR_IO otherwise.  RDWR on an mbox takes no lock
 * yet; changes lock when they are written.
 */
struct mail_folder *mail_folder_open(const char *path, int mode,
                                     const struct mail_paths *paths,
                                     struct mail_error *err);
enum mail_folder_kind mail_folder_kind(const struct mail_folder *f);
const char *mail_folder_path(const struct mail_folder *f);

/*
 * List the messages, oldest delivery first (Maildir: by delivery time,
 * then name; mbox: file order).  Uses the header cache in
 * CACHE_HOME/mail/ (paths->cache_home).  Maildir: keyed by the unique
 * part of the file name (a delivered message file never changes, only
 * its name and directory), so a second listing reads cur/ and new/ and
 * the cache, with no stat() and no open() per message; flags come from
 * the names.  mbox: an unchanged file (inode, size, mtime) is listed from
 * the cache without reading it, a grown one by reading its tail.
 * Envelopes are appended to out.
 */
int mail_folder_list(struct mail_folder *f, struct mail_envelope_list *out,
                     int flags, struct mail_error *err);

/*
 * Fill out->v[from..to) of a MAIL_FOLDER_LIST_LAZY listing (to is capped
 * at out->n): each envelope not filled yet gets what a borrowed listing
 * gives (key, path, every header string, from_display and
 * subject_display).  Its order, flags and size stay as listed.  A record
 * of the cache found damaged is read from the message file instead (at
 * its new name if it was renamed meanwhile; a message removed meanwhile
 * keeps NULL strings but gets its key and path).  A list that is not a
 * lazy listing, or is filled already: nothing to do.  -1 with err
 * (MAIL_ERR_INTERNAL: out of memory, or out is not the folder's latest
 * lazy listing).
 */
int mail_folder_list_fill(struct mail_folder *f,
                          struct mail_envelope_list *out, size_t from,
                          size_t to, struct mail_error *err);

/*
 * The last `last` messages of mail_folder_list's order (0: all): the same
 * envelopes as the tail of a full listing, appended to out.  A driver
 * that can (Maildir) orders the messages by what the directory and the
 * cache give and builds envelopes only for those returned; others list
 * everything and drop the rest.
 */
int mail_folder_list_last(struct mail_folder *f,
                          struct mail_envelope_list *out, size_t last,
                          int flags, struct mail_error *err);

/*
 * Stream the raw message (exactly its bytes; mbox: without the From_ line
 * and with ">From " unquoted) to sink.  A sink that fails gives its own
 * error (err is given to it).
 */
int mail_folder_fetch(struct mail_folder *f, const struct mail_envelope *e,
                      mail_sink_fn sink, void *ctx, struct mail_error *err);

/*
 * A file descriptor that reads exactly the message from offset 0, for
 * parsers that need to seek (MIME part offsets).  Maildir: the file
 * itself; mbox and IMAP: an unlinked temporary file.  The caller closes
 * it.
 */
int mail_folder_message_fd(struct mail_folder *f,
                           const struct mail_envelope *e, int *fd,
                           struct mail_error *err);

/*
 * A message for reading it (mail read, the reader): *fd reads from
 * offset 0 either the whole message (MAIL_FOLDER_READ_ALL, and always
 * from a driver without a cheaper way: mail_folder_message_fd) or, from
 * the IMAP driver (imapparts.c), a copy with the message's header, each
 * part's MIME header and the bodies of only the parts needed: the text a
 * person reads (READ_TEXT, mail_mime_readable's choice), the parts that
 * --save writes (READ_SAVED, mail_render_part_saved), or part `part`
 * (READ_PART).  The other bodies are empty and their true sizes are
 * added to *sizes (render.h's struct mail_part_sizes; may be NULL) for
 * the attachment list.  Flags are not changed.
 */
enum {
    MAIL_FOLDER_READ_ALL,
    MAIL_FOLDER_READ_TEXT,
    MAIL_FOLDER_READ_SAVED,
    MAIL_FOLDER_READ_PART,
};
struct mail_part_sizes;
int mail_folder_message_read(struct mail_folder *f,
                             const struct mail_envelope *e, int what,
                             const char *part, int *fd,
                             struct mail_part_sizes *sizes,
                             struct mail_error *err);
/*
 * Add and remove flags.  Maildir: renames the file (new/ to cur/ as
 * well) and updates e->path and e->flags.  mbox: updates Status and
 * X-Status, written on mail_folder_sync or close.
 */
int mail_folder_set_flags(struct mail_folder *f, struct mail_envelope *e,
                          unsigned add, unsigned remove,
                          struct mail_error *err);

/* Remove a message for good (Maildir: unlink; mbox: on sync). */
int mail_folder_expunge(struct mail_folder *f, struct mail_envelope *e,
                        struct mail_error *err);

/*
 * Copy a message into another folder (any kinds) and, when it is durable
 * there, expunge it here.  The key in the destination is returned when
 * new_key is not NULL (caller frees).
 */
int mail_folder_move(struct mail_folder *from, struct mail_envelope *e,
                     struct mail_folder *to, char **new_key,
                     struct mail_error *err);

/*
 * The keep-source variant of mail_folder_move (the reader's s, which then
 * marks the original deleted as mutt's save does): the message is copied
 * into `to` (any kinds; its flags less \Deleted, its delivery time) and
 * durable there when this returns 0; `from` is not changed and may be
 * read-only.  Between two imap: folders of one account the server copies
 * it (UID COPY; COPYUID, where offered, gives the new key and goes into
 * the destination's listing cache as for a move); another imap:
 * destination takes it with APPEND, its APPENDUID going into that
 * folder's listing cache.  new_key as for mail_folder_move (NULL also
 * when the server does not say).
 */
int mail_folder_copy(struct mail_folder *from, const struct mail_envelope *e,
                     struct mail_folder *to, char **new_key,
                     struct mail_error *err);

/* Begin delivering a message; received is its delivery time (0: now). */
struct mail_append *mail_folder_append_begin(struct mail_folder *f,
                                             unsigned flags, time_t received,
                                             struct mail_error *err);
int mail_append_write(struct mail_append *a, const char *data, size_t len,
                      struct mail_error *err);
/* Make the message durable (fsync) and visible; frees a.  key: its key in
 * the folder (caller frees), may be NULL. */
int mail_append_commit(struct mail_append *a, char **key,
                       struct mail_error *err);
/* Throw the partial message away (nothing is left behind); frees a. */
void mail_append_abort(struct mail_append *a);

/*
 * Deferred sync (Maildir; other kinds make each commit durable and
 * ignore it): with MAIL_APPEND_DEFER_SYNC in the flags of
 * mail_folder_append_begin, mail_append_commit closes the file in tmp/
 * without an fsync and keeps it pending: it is neither durable nor
 * visible yet.  mail_folder_sync_pending then makes every pending
 * message durable at once (one syncfs(2) of the file system, else an
 * fsync per file), links each into new/ or cur/ in commit order and
 * fsyncs those directories: a message is visible only once it is
 * durable, and a crash before leaves only tmp/ files.  *placed (may be
 * NULL): how many, in commit order, were placed; on an error the rest are
 * removed.  Pending messages not synced are removed by
 * mail_folder_drop_pending and by closing the folder.
 */
#define MAIL_APPEND_DEFER_SYNC (1u << 30)
int mail_folder_sync_pending(struct mail_folder *f, size_t *placed,
                             struct mail_error *err);
size_t mail_folder_pending(const struct mail_folder *f);
void mail_folder_drop_pending(struct mail_folder *f);
/* Maildir: begin an append whose unique name the caller chose (one that
 * a journal recorded before, so that a crash can be told from a
 * delivery); MAIL_ERR_IO if tmp/UNIQUE exists.  Not a Maildir:
 * MAIL_ERR_INTERNAL. */
struct mail_append *mail_maildir_append_begin_named(struct mail_folder *f,
                                                    const char *unique,
                                                    unsigned flags,
                                                    time_t received,
                                                    struct mail_error *err);

/* Write pending mbox changes: in place under the locks, from the first
 * changed message on, with a backup of the old tail until the rewrite is
 * durable (the next open undoes a rewrite cut short by a crash); the
 * inode, and a symlink to it, stay.  Nothing to do for Maildir. */
int mail_folder_sync(struct mail_folder *f, struct mail_error *err);

/* Sync and free.  Returns the sync's result; f is freed either way. */
int mail_folder_close(struct mail_folder *f, struct mail_error *err);

/*
 * Subfolders of a local store, for `mail folders`: Maildir++ (".Sent",
 * ".Lists.dev" under the top Maildir, shown as "Sent", "Lists/dev") or a
 * directory of mbox files.  Each name is passed to cb with the folder's
 * path; the store itself is passed first with name "INBOX".
 */
typedef int (*mail_folder_each_fn)(void *ctx, const char *name,
                                   const char *path);
int mail_store_folders(const char *store, mail_folder_each_fn cb, void *ctx,
                       struct mail_error *err);

/* The path of folder NAME in a store ("Sent" -> STORE/.Sent for Maildir++,
 * STORE/Sent for an mbox directory; "INBOX" -> the store itself).
 * malloc'd. */
char *mail_store_folder_path(const char *store, const char *name,
                             struct mail_error *err);

/* ---- sets of messages ----
 *
 * Flag, expunge or move many messages of one folder at once: the IMAP
 * driver sends one UID command per set (so `mail flag 1-500 +seen` is one
 * command on the wire); for local folders these call the one-message
 * functions in turn.  On an error, *done (may be NULL) says how many of
 * v, from the first, were done (IMAP: 0 or all: the server refused or
 * took the whole set). */
int mail_folder_set_flags_many(struct mail_folder *f,
                               struct mail_envelope *const *v, size_t n,
                               unsigned add, unsigned remove, size_t *done,
                               struct mail_error *err);
int mail_folder_expunge_many(struct mail_folder *f,
                             struct mail_envelope *const *v, size_t n,
                             size_t *done, struct mail_error *err);
int mail_folder_move_many(struct mail_folder *from,
                          struct mail_envelope *const *v, size_t n,
                          struct mail_folder *to, size_t *done,
                          struct mail_error *err);

/* ---- IMAP folders (imapfolder.c) ----
 *
 * The store layer cannot see accounts, so the IMAP driver does not
 * connect: it is given a connector that the service layer fills from the
 * account (mail_remote_folder_open in remote.h).  session() gives a
 * logged-in session (made again after a drop); drop() says the session
 * is in an unknown state (a lost connection, a protocol error) and must
 * not be used again; release() (may be NULL) is called by close.
 * *selected (shared by every folder of one connector) names the folder
 * whose mailbox is selected on that session, so that two folders of one
 * account (mv imap:INBOX ... imap:Archive) can share it.
 */
struct mail_session;
struct mail_imap_connector {
    struct mail_session *(*session)(void *arg, struct mail_error *err);
    void (*drop)(void *arg);
    void (*release)(void *arg);
    void *arg;
    const void **selected;
};

/*
 * Open the mailbox `name` (UTF-8; modified UTF-7 on the wire) of the
 * connector's server.  Nothing is sent yet: the mailbox is selected
 * (EXAMINE for RDONLY) by the first call that needs it, so that the
 * destination of a move costs nothing; a missing mailbox is then
 * MAIL_ERR_NOTFOUND.  mail_folder_path() is "imap:NAME".  Keys are
 * "UIDVALIDITY:UID"; an envelope's uid is the UID.  Reading a message
 * (fetch, message_fd) uses BODY.PEEK[]: flags change only through
 * set_flags.
 */
struct mail_folder *mail_imap_folder_open(const struct mail_imap_connector *c,
                                          const char *name, int mode,
                                          const struct mail_paths *paths,
                                          struct mail_error *err);
/* The mailbox name (UTF-8) of an IMAP folder, else NULL. */
const char *mail_imap_folder_name(const struct mail_folder *f);
/* The UIDVALIDITY the folder was selected with (0: not yet). */
uint32_t mail_imap_folder_uidvalidity(const struct mail_folder *f);
/* The name of the mailbox with SPECIAL-USE attribute `use` (a
 * MAIL_IMAP_MBX_* of imap.h, e.g. MAIL_IMAP_MBX_TRASH) on f's server,
 * from LIST.  *name malloc'd; 0 when found, 1 when the server names
 * none, -1 with err. */
int mail_imap_folder_special_use(struct mail_folder *f, unsigned use,
                                 char **name, struct mail_error *err);

/*
 * Run query q on the server: UID SEARCH with mail_query_imap's keys
 * (CHARSET UTF-8 when needed; literals only with LITERAL+).  *uids
 * (malloc'd, ascending, not NULL when 0 is returned) are the messages
 * that match; *filter is set when the query has terms IMAP cannot express
 * (has:attachment) and the result is a superset: run mail_query_match on
 * those too.  Returns 0, 1 when the
 * server cannot be asked (not an IMAP folder; literals without LITERAL+:
 * match locally then), or -1 with err.
 */
struct mail_query;
int mail_imap_folder_search(struct mail_folder *f, const struct mail_query *q,
                            uint32_t **uids, size_t *n, bool *filter,
                            struct mail_error *err);

/* ---- for drivers ---- */

struct mail_folder_driver {
    const char *name;
    int (*list)(struct mail_folder *f, struct mail_envelope_list *out,
                int flags, struct mail_error *err);
    int (*fetch)(struct mail_folder *f, const struct mail_envelope *e,
                 mail_sink_fn sink, void *ctx, struct mail_error *err);
    int (*message_fd)(struct mail_folder *f, const struct mail_envelope *e,
                      int *fd, struct mail_error *err);
    int (*set_flags)(struct mail_folder *f, struct mail_envelope *e,
                     unsigned add, unsigned remove, struct mail_error *err);
    int (*expunge)(struct mail_folder *f, struct mail_envelope *e,
                   struct mail_error *err);
    struct mail_append *(*append_begin)(struct mail_folder *f, unsigned flags,
                                        time_t received,
                                        struct mail_error *err);
    int (*sync)(struct mail_folder *f, struct mail_error *err);
    void (*close)(struct mail_folder *f);
    /* The rest of an append (a->folder->drv is the driver). */
    int (*append_write)(struct mail_append *a, const char *data, size_t len,
                        struct mail_error *err);
    int (*append_commit)(struct mail_append *a, char **key,
                         struct mail_error *err);
    void (*append_abort)(struct mail_append *a);
    /* Optional (may be NULL): move e into `to` without copying the bytes
     * (Maildir to Maildir: a link and an unlink).  Returns 0 when done,
     * 1 when it cannot (another kind, another file system: folder.c then
     * copies), -1 on error. */
    int (*move)(struct mail_folder *from, struct mail_envelope *e,
                struct mail_folder *to, char **new_key,
                struct mail_error *err);
    /* Optional (may be NULL): mail_folder_copy without the bytes passing
     * through here (IMAP to IMAP on one connector: UID COPY), the copy
     * with e's flags less \Deleted.  Returns 0 when done, 1 when it
     * cannot (folder.c then appends), -1 on error. */
    int (*copy)(struct mail_folder *from, const struct mail_envelope *e,
                struct mail_folder *to, char **new_key,
                struct mail_error *err);
    /* Optional (may be NULL): mail_folder_message_read for what is not
     * READ_ALL; without it folder.c gives message_fd's whole message. */
    int (*message_read)(struct mail_folder *f, const struct mail_envelope *e,
                        int what, const char *part, int *fd,
                        struct mail_part_sizes *sizes,
                        struct mail_error *err);
    /* Optional (may be NULL): mail_folder_list_last; without it folder.c
     * lists everything and drops the first messages. */
    int (*list_last)(struct mail_folder *f, struct mail_envelope_list *out,
                     size_t last, int flags, struct mail_error *err);
    /* Optional: the set operations (see mail_folder_set_flags_many);
     * NULL: folder.c calls the one-message entries in turn.  move_many
     * returns 1 when it cannot move to `to` without copying (folder.c
     * then copies each message). */
    int (*set_flags_many)(struct mail_folder *f,
                          struct mail_envelope *const *v, size_t n,
                          unsigned add, unsigned remove,
                          struct mail_error *err);
    int (*expunge_many)(struct mail_folder *f, struct mail_envelope *const *v,
                        size_t n, struct mail_error *err);
    int (*move_many)(struct mail_folder *from, struct mail_envelope *const *v,
                     size_t n, struct mail_folder *to, struct mail_error *err);
    /* Optional: mail_folder_list_fill (NULL: lists are always filled). */
    int (*list_fill)(struct mail_folder *f, struct mail_envelope_list *out,
                     size_t from, size_t to, struct mail_error *err);
};

/*
 * The part of every open folder and append that folder.c reads.  A
 * driver puts it first in its own struct (an embedded base), sets it with
 * mail_folder_base_init, and frees its own struct and base.path in close.
 */
struct mail_folder {
    const struct mail_folder_driver *drv;
    enum mail_folder_kind kind;
    char *path;     /* as opened: "~" expanded, "mbox:" removed; owned */
    int mode;       /* the MAIL_FOLDER_* bits given to open */
    unsigned lock_timeout_ms; /* see mail_folder_set_lock_timeout */
    const struct mail_paths *paths; /* the caller's, or NULL */
};

struct mail_append {
    struct mail_folder *folder;
};

/* Fill the base; path is copied.  -1 (MAIL_ERR_INTERNAL) on ENOMEM. */
int mail_folder_base_init(struct mail_folder *f,
                          const struct mail_folder_driver *drv,
                          enum mail_folder_kind kind, const char *path,
                          int mode, const struct mail_paths *paths,
                          struct mail_error *err);

/* The default of mail_folder_set_lock_timeout, and the wait of the
 * path-only mbox calls below. */
#define MAIL_FOLDER_LOCK_TIMEOUT_MS 10000

/*
 * How long an append or sync of this folder waits for another process's
 * lock (mbox: fcntl or dot-lock) before failing with MAIL_ERR_TEMP, in
 * milliseconds (default MAIL_FOLDER_LOCK_TIMEOUT_MS).  Per folder, so
 * that one caller's impatience does not change another's.
 */
void mail_folder_set_lock_timeout(struct mail_folder *f, unsigned ms);

/*
 * Crash recovery for a delivery that began at byte `offset` of an mbox and
 * was never recorded as finished: under the mbox locks, when no other
 * message follows it, cut the file back to offset (the message will be
 * delivered again).  Returns 1 when the file now ends at offset, 0 when
 * another message follows (left alone), -1 with err.
 */
int mail_mbox_truncate_after(const struct mail_paths *paths,
                             const char *path, uint64_t offset,
                             struct mail_error *err);

#pragma GCC visibility pop

#endif
