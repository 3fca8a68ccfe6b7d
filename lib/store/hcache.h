/*
 * hcache.h - private to lib/: the header cache of local folders, and the
 * few helpers that folder.c shares with the Maildir and mbox drivers.
 *
 * The cache is one file per folder in $XDG_CACHE_HOME/mail/ (else
 * ~/.cache/mail/), named after a hash of the folder's real path.  It holds
 * records: the envelope fields that need the header (strings and the
 * parsed date) plus eight numbers the driver defines (Maildir: the file's
 * size and mtime; mbox: offsets and flags), and eight folder-wide numbers
 * (mbox: the file's inode, size and mtime).  It is only ever a hint: a
 * missing, foreign, truncated or corrupt file loads as empty (every
 * length is bounded and a checksum covers the whole file), and a cache
 * that cannot be written is silently skipped.
 */
#ifndef MAIL_HCACHE_H
#define MAIL_HCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mail/error.h"
#include "mail/folder.h"
#include "mail/fsutil.h"
#include "mail/header.h"

/* The strings of a record; HC_KEY is the Maildir unique name (NULL for
 * mbox, whose records are found by position). */
enum {
    HC_KEY, HC_FROM, HC_TO, HC_CC, HC_SUBJECT, HC_MESSAGE_ID,
    HC_IN_REPLY_TO, HC_REFERENCES, HC_CONTENT_TYPE,
    HC_NSTR
};

#define HC_NNUM 8

/* bits of hcache_rec.bits */
enum {
    HC_HAS_DATE = 1,
    HC_ATTACH_KNOWN = 2,   /* attachments was counted */
};

struct hcache_rec {
    uint64_t num[HC_NNUM];   /* the driver's numbers */
    int64_t date;
    int32_t date_offset;
    uint32_t bits;           /* HC_* */
    uint32_t attachments;
    char *str[HC_NSTR];      /* NULL when absent */
    uint32_t owned;          /* bit i: str[i] is malloc'd (else it points
                                into the loaded file) */
};

struct hcache {
    char *file;              /* the cache file, NULL: no caching */
    char *folder;            /* the folder's real path, checked on load */
    uint32_t kind;           /* enum mail_folder_kind, checked on load */
    uint64_t meta[HC_NNUM];  /* folder-wide numbers */
    char *data;              /* the loaded file; old records point in */
    size_t data_len;
    struct hcache_rec *v;    /* the records as loaded */
    size_t n;
    uint32_t *index;         /* open addressing over v by HC_KEY */
    size_t index_size;       /* a power of two, or 0 */
};

/*
 * Set up c for the folder at path (any spelling: it is resolved with
 * realpath) and load its cache file if there is a valid one.  Never
 * fails: without a usable cache directory c->file is NULL and nothing is
 * cached; a bad file loads as empty.
 */
void hcache_open(struct hcache *c, const struct mail_paths *paths,
                 const char *path, enum mail_folder_kind kind);

/* The loaded record with str[HC_KEY] == key, or NULL. */
const struct hcache_rec *hcache_find(const struct hcache *c, const char *key);

/*
 * Write meta and recs[0..n) (which may point into c's loaded data) as the
 * folder's new cache, atomically (a temporary file renamed over).  Errors
 * are ignored: the next listing just parses again.
 */
void hcache_save(struct hcache *c, const uint64_t *meta,
                 const struct hcache_rec *recs, size_t n);

/* Free everything c holds. */
void hcache_close(struct hcache *c);

/* Free the owned strings of r and clear it. */
void hcache_rec_release(struct hcache_rec *r);

/* 64-bit FNV-1a, for the cache's checksum and names and mbox tails. */
uint64_t hcache_hash(uint64_t h, const void *data, size_t len);
#define HCACHE_HASH_INIT 0xcbf29ce484222325ULL

/* ---- shared by the drivers (folder.c) ---- */

/* Fill r's strings and date from a parsed header (strings owned by r).
 * -1 with err set (MAIL_ERR_INTERNAL) when out of memory. */
int folder_rec_from_header(struct hcache_rec *r, const struct mail_header *h,
                           struct mail_error *err);

/* Append a zeroed envelope to l; NULL with err set on ENOMEM. */
struct mail_envelope *folder_env_push(struct mail_envelope_list *l,
                                      struct mail_error *err);

/* Free the envelopes l->v[n..] (strings each malloc'd) and drop them. */
void folder_env_truncate(struct mail_envelope_list *l, size_t n);

/* Copy r's header fields (not key, path, flags, size, received) into e.
 * -1 with err set on ENOMEM (e keeps what was copied: release frees it). */
int folder_env_from_rec(struct mail_envelope *e, const struct hcache_rec *r,
                        struct mail_error *err);

/* A running attachment count: push the message through the MIME parser. */
struct folder_attach {
    struct mail_mime *mime;
    struct mail_error *err;
};
int folder_attach_begin(struct folder_attach *a, struct mail_error *err);
int folder_attach_sink(void *ctx, const char *data, size_t len);
/* Finish and count; frees the parser. */
int folder_attach_end(struct folder_attach *a, unsigned *count);
void folder_attach_abort(struct folder_attach *a);


/* Driver entry points, called by mail_folder_open with the expanded path. */
struct mail_folder *mail_maildir_open(const char *path, int mode,
                                      const struct mail_paths *paths,
                                      struct mail_error *err);
struct mail_folder *mail_mbox_open(const char *path, int mode,
                                   const struct mail_paths *paths,
                                   struct mail_error *err);

#endif
