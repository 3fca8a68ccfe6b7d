/*
 * cachefile.h - the small checksummed files the IMAP caches keep
 * (imapcache.c: a folder's listing; foldercache.c: the account's
 * folder list).  Private to store/.
 *
 * Every such file, all numbers little-endian:
 *
 *   magic                8  ("MAILIMC\0", "MAILFLC\0", ...)
 *   version              4
 *   header length        4  CACHEFILE_FIXED
 *   body length          8  bytes after the fixed header
 *   checksum             8  FNV-1a 64 of the body (hcache_hash)
 *   body                    the caller's fields: add32/add64/addstr
 *                           on writing, get32/get64/getstr on reading
 *
 * A file is written whole to a unique temporary file, fsynced and
 * renamed over the old one, so a reader sees the old file or the new,
 * never a mix; a reader checks magic, version, length and checksum
 * before it looks at the body, and then reads with bounds checks
 * (struct cachefile_rd: a read past the end sets bad and yields 0).
 */
#ifndef MAIL_STORE_CACHEFILE_H
#define MAIL_STORE_CACHEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mail/buf.h"
#include "mail/error.h"

#define CACHEFILE_FIXED 32

/* ---- writing the body ---- */

/* Append a number or a string (4 bytes of length, 0xffffffff for NULL,
 * then the bytes) to b; -1 when b is full (its cap). */
int cachefile_add32(struct mail_buf *b, uint32_t v);
int cachefile_add64(struct mail_buf *b, uint64_t v);
int cachefile_addstr(struct mail_buf *b, const char *s);

/* Write the fixed header (magic: 8 bytes, NUL padded) and body as file,
 * atomically; parent directories are made.  -1 with err
 * (MAIL_ERR_CANTCREAT, MAIL_ERR_IO, MAIL_ERR_INTERNAL); the old file is
 * then untouched. */
int cachefile_write(const char *file, const char *magic, uint32_t version,
                    const struct mail_buf *body, struct mail_error *err);

/* ---- reading the body ---- */

struct cachefile_rd {
    const unsigned char *p, *end;
    bool bad;                   /* a read went past the end, or a bad value */
};

uint32_t cachefile_get32(struct cachefile_rd *r);
uint64_t cachefile_get64(struct cachefile_rd *r);
/* A string: *out NULL when absent (or on a bad file); *oom on ENOMEM. */
void cachefile_getstr(struct cachefile_rd *r, char **out, bool *oom);
/* Is the next string want (consumed when it is)? */
bool cachefile_samestr(struct cachefile_rd *r, const char *want);

/* Read file whole (at most max bytes) and check its fixed header: the
 * data (free it) with *body set to its body, or NULL when the file is
 * missing, not a regular file, too big or too small, of another magic
 * or version, or its length or checksum does not match. */
unsigned char *cachefile_read(const char *file, const char *magic,
                              uint32_t version, uint64_t max,
                              struct cachefile_rd *body);

#endif
