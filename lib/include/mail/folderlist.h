/*
 * folderlist.h - the account's folders with their counts, as `mail
 * folders` (--remote) and the reader's folder list (c) show them: the
 * folders of the local store (each listed through the header cache, so
 * about a stat() per message) and the folders of the account's IMAP
 * server (LIST with SPECIAL-USE, counts from LIST-STATUS or STATUS each),
 * whose LIST also refreshes the account's folder list cache for
 * completion (mail/foldercache.h).
 */
#ifndef MAIL_FOLDERLIST_H
#define MAIL_FOLDERLIST_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "paths.h"
#include "remote.h"

struct mail_folderlist_entry {
    char *name;          /* "INBOX", "Lists/dev"; the server's name (UTF-8,
                          * raw: not terminal-safe) for a remote one */
    char *path;          /* the local path, or "imap:NAME" */
    size_t messages, unread;
    bool has_messages, has_unread;  /* false: not known */
    bool remote;
    bool selectable;     /* false: \Noselect (remote only) */
    unsigned attrs;      /* MAIL_IMAP_MBX_* (remote only) */
    const char *special_use;  /* "sent", "trash"... or NULL (static) */
    struct mail_error *error; /* why a local folder could not be counted,
                               * or NULL */
};

struct mail_folderlist {
    struct mail_folderlist_entry *v;
    size_t n, alloc;
    size_t skipped;      /* server names skipped (empty, too long, NUL) */
};

#define MAIL_FOLDERLIST_INIT { NULL, 0, 0, 0 }

/*
 * Append the folders of the store (mail_store_folders: INBOX first) to
 * out, each counted.  A folder that cannot be listed is kept, with
 * has_messages false and its error in ->error.  cancel (may be NULL) is
 * read atomically before each folder: non-zero stops with
 * MAIL_ERR_TEMP.  -1 with err when the store cannot be walked (entries
 * appended so far stay in out).
 */
int mail_folderlist_local(const char *store, const struct mail_paths *paths,
                          const int *cancel, struct mail_folderlist *out,
                          struct mail_error *err);

/*
 * Append the folders of the remote's server to out ("imap:NAME" paths),
 * and save the list as the account's folder list cache (a hint: failing
 * to write it is not an error).  A lost connection is tried once more on
 * a new one (unless *cancel): LIST and STATUS change nothing.  On a
 * failure the session is dropped and -1 returned with err.
 */
int mail_folderlist_remote(struct mail_remote *r,
                           const struct mail_paths *paths, const int *cancel,
                           struct mail_folderlist *out,
                           struct mail_error *err);

/* Append the server's folders as the account's folder list cache last
 * saw them (no connection; no counts; nothing when there is no cache). */
int mail_folderlist_cached(const struct mail_paths *paths,
                           const char *account, struct mail_folderlist *out,
                           struct mail_error *err);

/* "sent", "drafts", "trash"... for MAIL_IMAP_MBX_* attributes, or NULL. */
const char *mail_folderlist_special_use(unsigned attrs);

void mail_folderlist_release(struct mail_folderlist *l);

#pragma GCC visibility pop

#endif
