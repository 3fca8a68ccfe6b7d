/*
 * hcache.h - private to lib/: the header cache of local folders, and the
 * few helpers that folder.c shares with the Maildir and mbox drivers.
 *
 * The cache is one file per folder in CACHE_HOME/mail/ (paths->cache_home),
 * named after a hash of the folder's real path.  It holds records: the
 * envelope fields that need the header (strings, the parsed date, and the
 * display forms of From and Subject, already decoded and terminal-safe)
 * plus up to eight numbers the driver defines (Maildir: size and delivery
 * time; mbox: offsets and flags), and eight folder-wide numbers (mbox: the
 * file's inode, size and mtime).
 *
 * The file is mapped, not read: fixed-size record headers, then an area
 * of raw header strings, an area of display strings and an area of
 * threading strings (see hcache.c).
 * It is only ever a hint: a missing, foreign, truncated or damaged file
 * loads as empty (the header has a checksum, the length must match, the
 * record area has a checksum and every record is bounds-checked), and a
 * cache that cannot be written is silently skipped.  The strings of a
 * record are checked when it is used (hcache_verify, a checksum per
 * block): a record that fails it means the file is damaged, and the
 * caller drops the cache (hcache_drop) and rebuilds it.
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
 * mbox, whose records are found by position).  HC_FROM_DISP and
 * HC_SUBJECT_DISP are what a listing shows (hcache_rec_display). */
enum {
    HC_KEY, HC_FROM, HC_TO, HC_CC, HC_SUBJECT, HC_MESSAGE_ID,
    HC_IN_REPLY_TO, HC_REFERENCES, HC_CONTENT_TYPE,
    HC_FROM_DISP, HC_SUBJECT_DISP,
    HC_NSTR
};

#define HC_NNUM 8

/* The three blocks of a record's strings, each checked and read on its
 * own (hcache_verify_blocks, hcache_get_blocks): what a plain listing
 * shows, what threading needs, and the rest. */
enum {
    HC_BLOCK_DISPLAY = 1,   /* HC_KEY, HC_FROM_DISP, HC_SUBJECT_DISP */
    HC_BLOCK_THREAD = 2,    /* HC_MESSAGE_ID, HC_IN_REPLY_TO,
                               HC_REFERENCES */
    HC_BLOCK_RAW = 4,       /* HC_FROM, HC_TO, HC_CC, HC_SUBJECT,
                               HC_CONTENT_TYPE */
    HC_BLOCK_ALL = 7
};

/* bits of hcache_rec.bits */
enum {
    HC_HAS_DATE = 1,
    HC_ATTACH_KNOWN = 2,   /* attachments was counted */
    HC_DISPLAY = 4,        /* HC_FROM_DISP and HC_SUBJECT_DISP are set */
    HC_MIXED = 8,          /* Content-Type is multipart/mixed (set by
                              hcache_rec_display and when written) */
};

struct hcache_rec {
    uint64_t num[HC_NNUM];   /* the driver's numbers */
    int64_t date;
    int32_t date_offset;
    uint32_t bits;           /* HC_* */
    uint32_t attachments;
    char *str[HC_NSTR];      /* NULL when absent */
    uint32_t owned;          /* bit i: str[i] is malloc'd (else it points
                                into the mapped file) */
};

struct hcache {
    char *file;              /* the cache file, NULL: no caching */
    char *folder;            /* the folder's real path, checked on load */
    uint32_t kind;           /* enum mail_folder_kind, checked on load */
    uint64_t meta[HC_NNUM];  /* folder-wide numbers */
    void *map;               /* the mapped file (valid), or NULL */
    size_t map_len;
    const unsigned char *recs;   /* record headers in map */
    const char *area[3];         /* the display, thread and raw string
                                    areas in map (bit i of HC_BLOCK_*) */
    uint64_t area_size[3];
    size_t rec_size;
    unsigned nnum;
    size_t n;                /* records in the file */
    uint32_t *index;         /* Maildir: open addressing by HC_KEY */
    size_t index_size;       /* a power of two, or 0 */
};

/*
 * Set up c for the folder at path (any spelling: it is resolved with
 * realpath) and map its cache file if there is a valid one.  Never
 * fails: without a usable cache directory c->file is NULL and nothing is
 * cached; a bad file loads as empty.  mbox: the driver reads records
 * 0..n) in order (hcache_verify, then hcache_get or hcache_get_display).
 * Maildir: records are found with hcache_find and read with hcache_get.
 */
void hcache_open(struct hcache *c, const struct mail_paths *paths,
                 const char *path, enum mail_folder_kind kind);

/* The index of the record whose key has key[0..len)'s 64-bit hash and
 * length, or -1.  The key's bytes are not read (they are in the display
 * block, not checked yet): before a found record is used, check it with
 * hcache_verify and then hcache_key_is. */
long hcache_find(const struct hcache *c, const char *key, size_t len);

/* Is record i's key exactly key[0..len)?  Call after hcache_verify.
 * false after a hcache_find hit: the file is not to be trusted (a hash
 * collision or damage): drop it. */
bool hcache_key_is(const struct hcache *c, size_t i, const char *key,
                   size_t len);

/* Are record i's blocks (HC_BLOCK_* bits) whole?  Reads them: call it
 * before using a block's strings, once.  false: the file is damaged
 * (drop it: hcache_drop). */
bool hcache_verify_blocks(const struct hcache *c, size_t i, unsigned blocks);

/* hcache_verify_blocks of the display block, with full of all three. */
bool hcache_verify(const struct hcache *c, size_t i, bool full);

/* Record i as a hcache_rec whose strings point into the map (owned 0),
 * with the strings of the blocks given (the others NULL).  Check those
 * blocks first (hcache_verify_blocks). */
void hcache_get_blocks(const struct hcache *c, size_t i, struct hcache_rec *r,
                       unsigned blocks);

/* hcache_get_blocks of all three blocks (check with full first). */
void hcache_get(const struct hcache *c, size_t i, struct hcache_rec *r);

/* The same with only the display block's strings (HC_KEY, HC_FROM_DISP,
 * HC_SUBJECT_DISP; the others NULL): hcache_verify without full is
 * enough. */
void hcache_get_display(const struct hcache *c, size_t i,
                        struct hcache_rec *r);

/* Keep only the strings of the blocks given in r, a copy that owns none
 * of the others (they are set to NULL, not freed); without the raw
 * block, HC_CONTENT_TYPE is "multipart/mixed" when HC_MIXED is set (what
 * MAIL_FOLDER_LIST_DISPLAY promises). */
void hcache_rec_keep_blocks(struct hcache_rec *r, unsigned blocks);

/* Point e's header strings (not the key) at r's, with its dates,
 * attachments and display strings: a borrowed envelope
 * (MAIL_FOLDER_LIST_BORROW; Maildir and mbox). */
void hcache_rec_borrow(struct mail_envelope *e, const struct hcache_rec *r);

/* Forget the file's records (a damaged file): c is then as for a folder
 * without a cache, and a later write replaces the file. */
void hcache_drop(struct hcache *c);

/* The delivery time, size and bits of record i without reading its
 * strings (num[0], num[1] and bits). */
void hcache_peek(const struct hcache *c, size_t i, uint64_t *num0,
                 uint64_t *num1, uint32_t *bits);

/*
 * Write a new cache file, atomically (records go to a temporary file that
 * is renamed over the old one; two writers at once each rename a whole
 * file).  nnum: how many numbers of each record to keep.  Errors are
 * ignored: the next listing just parses again.  Records may point into
 * c's map, which stays valid.
 */
struct hcache_writer;
struct hcache_writer *hcache_write_begin(struct hcache *c,
                                         const uint64_t *meta, size_t n,
                                         unsigned nnum);
void hcache_write_add(struct hcache_writer *w, const struct hcache_rec *r);
void hcache_write_commit(struct hcache_writer *w);

/* All of recs[0..n) with eight numbers each (what mbox keeps). */
void hcache_save(struct hcache *c, const uint64_t *meta,
                 const struct hcache_rec *recs, size_t n);

/* Hand the mapping over to the caller (who munmaps it later); c forgets
 * it.  *map NULL when there is none. */
void hcache_take_map(struct hcache *c, void **map, size_t *len);

/* Where a folder keeps a block until it is closed: p malloc'd, or a
 * mapping of map_len bytes when map_len > 0.  -1 on ENOMEM (p not
 * kept). */
typedef int (*hcache_keep_fn)(void *folder, void *p, size_t map_len);

/*
 * Blocks that borrowed envelopes point into, kept until their holder
 * lets go: a lease's, or a folder's own until it is closed.
 */
struct hcache_blocks {
    struct hcache_block {
        void *p;
        size_t map_len;     /* > 0: an mmap of that length, else malloc'd */
    } *v;
    size_t n, alloc;
};
/* An hcache_keep_fn: keep block p in the struct hcache_blocks arg.  -1 on
 * ENOMEM (p is not kept). */
int hcache_blocks_keep(void *blocks, void *p, size_t map_len);
/* Free (or unmap) the blocks kept after the first n; the array stays. */
void hcache_blocks_drop_since(struct hcache_blocks *b, size_t n);
/* Free every block and the array. */
void hcache_blocks_release(struct hcache_blocks *b);

/*
 * For borrowed envelopes (MAIL_FOLDER_LIST_BORROW): hand the strings
 * recs[0..n) own and the cache's mapping to keep(folder, ...), so that
 * they stay until the folder is closed; the records then own nothing.
 * The Maildir and mbox drivers both use it.  -1 with err on ENOMEM (the
 * mapping, when not kept, is unmapped).
 */
int hcache_keep_for_borrowers(struct hcache *c, struct hcache_rec *recs,
                              size_t n, hcache_keep_fn keep, void *folder,
                              struct mail_error *err);

/*
 * A borrowed listing's lease: the blocks its envelopes point into (the
 * cache's mapping, the strings parsed, the paths), held by the list (it
 * is the list's arena: mail_envelope_list_release drops it) and by the
 * folder (until a listing finds the list gone, or the folder closes).
 * The blocks go when both have let go, so that a re-list releases the
 * previous listing's memory once nothing borrows it.
 */
struct hcache_lease;
/* A new lease held by the list and, with folder, by the folder too.
 * NULL on ENOMEM. */
struct hcache_lease *hcache_lease_new(bool folder);
/* An hcache_keep_fn: keep block p in the lease (arg). */
int hcache_lease_keep(void *lease, void *p, size_t map_len);
/* Let go of it; the last one frees its blocks. */
void hcache_lease_drop(struct hcache_lease *l);
/* Does only the folder hold it now (the list was released)? */
bool hcache_lease_unborrowed(struct hcache_lease *l);

/* The leases a folder holds: one for each borrowed listing it made whose
 * list may still be in use. */
struct hcache_leases {
    struct hcache_lease **v;
    size_t n, alloc;
};
/* A new lease held by the folder (in h) and by the list it is made for.
 * First the leases whose lists were released since are let go, so that
 * a folder listed again and again keeps one listing's memory; each is
 * passed to before_drop(arg, l) first when that is not NULL.  NULL on
 * ENOMEM. */
struct hcache_lease *hcache_leases_add(struct hcache_leases *h,
                                       void (*before_drop)(void *arg,
                                                           struct hcache_lease *l),
                                       void *arg);
/* Let go of them all (the folder is closed). */
void hcache_leases_release(struct hcache_leases *h);

/* Free everything c holds (and unmap the file unless taken). */
void hcache_close(struct hcache *c);

/* Free the owned strings of r and clear it. */
void hcache_rec_release(struct hcache_rec *r);

/* Fill r's HC_FROM_DISP (the first sender's name, else its address) and
 * HC_SUBJECT_DISP from its raw From and Subject: RFC 2047 decoded, made
 * terminal-safe on one line (termsafe.h), NULL when empty; sets
 * HC_DISPLAY.  -1 on ENOMEM. */
int hcache_rec_display(struct hcache_rec *r);

/* 64-bit FNV-1a, for the cache's names and mbox tails. */
uint64_t hcache_hash(uint64_t h, const void *data, size_t len);

/* A hash a word at a time (the cache's checksums and keys; thread.c's
 * Message-ID table): any change of one word changes it. */
uint64_t hcache_fast_hash(uint64_t h, const void *data, size_t len);
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

/* A running attachment count: push the message through the MIME parser
 * (folder_attach_sink is a mail_sink_fn, ctx the struct folder_attach). */
struct folder_attach {
    struct mail_mime *mime;
};
int folder_attach_begin(struct folder_attach *a, struct mail_error *err);
int folder_attach_sink(void *ctx, const char *data, size_t len,
                       struct mail_error *err);
/* Finish and count; frees the parser. */
int folder_attach_end(struct folder_attach *a, unsigned *count,
                      struct mail_error *err);
void folder_attach_abort(struct folder_attach *a);


/* Driver entry points, called by mail_folder_open with the expanded path. */
struct mail_folder *mail_maildir_open(const char *path, int mode,
                                      const struct mail_paths *paths,
                                      struct mail_error *err);
struct mail_folder *mail_mbox_open(const char *path, int mode,
                                   const struct mail_paths *paths,
                                   struct mail_error *err);

#endif
