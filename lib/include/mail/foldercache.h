/*
 * foldercache.h - the folder list of an account's IMAP server, as of the
 * last LIST, kept so that shell completion (`mail folders --remote
 * --cached`) can offer imap:NAME without connecting (store/foldercache.c).
 *
 * One file per account, beside the listing caches of its folders
 * (imapcache.h): CACHE_HOME/mail/imap/ACCOUNT/folders.list, the account
 * percent-encoded as there.  A folder's listing cache is always
 * "NAME.cache", so no folder's file can take this name.  It holds, in the
 * server's order, each mailbox's UTF-8 name, the server's raw name, the
 * hierarchy delimiter and the LIST attributes (SPECIAL-USE included).
 *
 * As with the listing cache the file is only a hint: a magic, a format
 * version, the account it belongs to, the body's length and a 64-bit
 * checksum come first; a file that is missing, of another version or
 * account, truncated or damaged loads as "no cache".  Writes go to a
 * unique temporary file in the same directory, fsynced and renamed over
 * the old one: two writers each leave a whole file, a reader never sees
 * half of one.
 *
 * The cache is a hint: a caller that LISTs anyway may save what it got
 * and ignore a failure (err may be NULL in every call below).
 */
#ifndef MAIL_FOLDERCACHE_H
#define MAIL_FOLDERCACHE_H

#pragma GCC visibility push(default)

#include "error.h"
#include "imap.h"
#include "paths.h"

/* The file of account `account`, malloc'd; its directory is not
 * created.  NULL with err when there is no cache directory. */
char *mail_imap_foldercache_file(const struct mail_paths *paths,
                                 const char *account,
                                 struct mail_error *err);

/* Write the list l (as mail_imap_list or mail_imap_list_status gave it)
 * as the account's folder list, atomically (directories made as
 * needed).  -1 with err (MAIL_ERR_CONFIG: no cache directory;
 * MAIL_ERR_IO, MAIL_ERR_CANTCREAT); the old file is then untouched. */
int mail_imap_foldercache_save(const struct mail_paths *paths,
                               const char *account,
                               const struct mail_imap_mailboxes *l,
                               struct mail_error *err);

/* Read the account's folder list into out (emptied first; release with
 * mail_imap_mailboxes_release; raw may be NULL for a name added by
 * mail_imap_foldercache_change).  1 when a valid file of this account
 * was read, 0 when there is none (out empty: no file, no cache
 * directory, a foreign or damaged file), -1 with err only when out of
 * memory.  Never touches the network. */
int mail_imap_foldercache_load(const struct mail_paths *paths,
                               const char *account,
                               struct mail_imap_mailboxes *out,
                               struct mail_error *err);

/*
 * Bring the cached list up to date after a change the server accepted:
 * from NULL: `to` was created; to NULL: `from` was deleted; both: `from`
 * was renamed `to`, with the folders below it (RFC 3501 6.3.5; renaming
 * INBOX moves its messages and leaves INBOX).  Names are UTF-8.  Without
 * a cache nothing is written (the next LIST makes one).  0, or -1 with
 * err as for mail_imap_foldercache_save.
 */
int mail_imap_foldercache_change(const struct mail_paths *paths,
                                 const char *account, const char *from,
                                 const char *to, struct mail_error *err);

#pragma GCC visibility pop

#endif
