/*
 * imapcache.h - the listing cache of an imap: folder (store/imapcache.c,
 * doc/IMAP-FOLDERS.md "Listing and its cache").
 *
 * One file per account and folder:
 * CACHE_HOME/mail/imap/ACCOUNT/FOLDER.cache, both names percent-encoded
 * (anything but [A-Za-z0-9._-] becomes %XX, so "Lists/dev" is one file
 * name).  It holds the folder's UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ as
 * of the listing that wrote it, and one record per message (ascending
 * UID): flags, size, INTERNALDATE, the envelope strings in header form
 * (as imap_envelope.c gives them), the parsed Date, the attachment count
 * and content type from BODYSTRUCTURE, and the message's MODSEQ.
 *
 * The file is only a hint.  It starts with a magic, a format version, the
 * account and folder it belongs to, the body's length and a 64-bit
 * checksum of everything; a file that is missing, of another version, of
 * another account or folder, truncated, or damaged anywhere loads as
 * empty (and the next listing fetches everything and writes it again).
 * Writes go to a unique temporary file in the same directory that is
 * fsynced and renamed over the old one, so two listings at once each
 * leave a whole file and a reader never sees half of one.
 */
#ifndef MAIL_IMAPCACHE_H
#define MAIL_IMAPCACHE_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>

#include "error.h"
#include "folder.h"
#include "paths.h"

struct mail_imap_cache {
    uint32_t uidvalidity;        /* 0: nothing cached */
    uint32_t uidnext;            /* as the server said at the listing */
    uint64_t highestmodseq;      /* 0: the server has no CONDSTORE */
    /* The messages, ascending by uid; key "UIDVALIDITY:UID", path NULL;
     * every string malloc'd (mail_envelope_list_release frees them). */
    struct mail_envelope_list list;
    uint64_t *modseq;            /* parallel to list.v (0: not known) */
    size_t modseq_alloc;
};

#define MAIL_IMAP_CACHE_INIT { 0, 0, 0, MAIL_ENVELOPE_LIST_INIT, NULL, 0 }

/* The cache file of folder `folder` (UTF-8) of account `account`,
 * malloc'd; the directory is not created.  NULL with err when there is
 * no cache directory (paths NULL, no XDG_CACHE_HOME nor HOME). */
char *mail_imap_cache_file(const struct mail_paths *paths,
                           const char *account, const char *folder,
                           struct mail_error *err);

/* Load file into c (emptied first).  Returns 1 when a valid cache of
 * this account and folder was read, 0 when c is left empty (no file, a
 * foreign or damaged one: never trusted), -1 with err only when out of
 * memory. */
int mail_imap_cache_load(struct mail_imap_cache *c, const char *file,
                         const char *account, const char *folder,
                         struct mail_error *err);

/* Write c atomically (directories made as needed).  -1 with err
 * (MAIL_ERR_IO, MAIL_ERR_CANTCREAT); the old file is then untouched. */
int mail_imap_cache_save(const struct mail_imap_cache *c, const char *file,
                         const char *account, const char *folder,
                         struct mail_error *err);

/* Make room for one more record at the end (zeroed, modseq 0); NULL
 * with err on ENOMEM. */
struct mail_envelope *mail_imap_cache_push(struct mail_imap_cache *c,
                                           struct mail_error *err);

/*
 * A message the client itself appended, with the server's [APPENDUID
 * uidvalidity uid] (RFC 4315): its bytes are fd's from off to the end
 * (read with pread and a header read; fd's offset is restored), its
 * envelope made as a listing would show it (RFC822.SIZE counting CRLF
 * line ends, the header fields, the attachment count, "type/subtype";
 * received: 0 for now, as the server stamps it), so the next listing
 * needs no fetch for it.  Returns 1 when it was put in its place by UID,
 * 0 when c is of another UIDVALIDITY (or empty) or already holds uid, -1
 * with err (c then as before).
 */
int mail_imap_cache_add_fd(struct mail_imap_cache *c, uint32_t uidvalidity,
                           uint32_t uid, unsigned flags, time_t received,
                           int fd, off_t off, struct mail_error *err);

/* The same on the cache file of account and folder (loaded, added,
 * written back): 0 when there is no valid cache of that UIDVALIDITY. */
int mail_imap_cache_file_add_fd(const struct mail_paths *paths,
                                const char *account, const char *folder,
                                uint32_t uidvalidity, uint32_t uid,
                                unsigned flags, time_t received, int fd,
                                off_t off, struct mail_error *err);

/* Empty c (keeps nothing) and free what it holds. */
void mail_imap_cache_release(struct mail_imap_cache *c);

/*
 * For the IMAP folder driver (store/imapfolder.c), set by its opener
 * (service/remote.c): the account the folder belongs to, which names its
 * cache file.  Without it (or without paths' cache directory) the folder
 * lists without a cache.  Ignored for other folders.
 */
int mail_imap_folder_set_account(struct mail_folder *f, const char *account,
                                 struct mail_error *err);

/* The account set above, or NULL (not an IMAP folder, or none set). */
const char *mail_imap_folder_account(const struct mail_folder *f);

/*
 * Progress of a listing that fetches new messages: fn(arg, done, total)
 * before each batch and after each batch completes (done messages of about
 * total new ones; total is the server's estimate and may be 0).  A
 * non-zero return cancels: no more batches are sent, the ones in flight
 * are read to their end (the session stays usable), nothing is written to
 * the cache, and the listing fails with MAIL_ERR_TEMP "cancelled".  NULL
 * fn: no progress.
 */
typedef int (*mail_imap_progress_fn)(void *arg, size_t done, size_t total);
void mail_imap_folder_set_progress(struct mail_folder *f,
                                   mail_imap_progress_fn fn, void *arg);

/* UIDs per UID FETCH batch of a listing (default 500, at least 1), for
 * tests and the benchmark. */
void mail_imap_folder_set_batch(struct mail_folder *f, size_t batch);

#pragma GCC visibility pop

#endif
