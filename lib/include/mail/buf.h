/*
 * buf.h - growable byte buffers with a hard size cap.
 *
 * A mail_buf always holds a NUL after its `len` bytes (so `data` can be used
 * as a C string when the content has no NUL), may contain NUL bytes, and
 * never grows past `cap_max` (0 means the default of 64 MiB): anything that
 * comes from a server or a message must have a bound.  Allocation failure and
 * exceeding the cap both make the append functions return -1 and leave the
 * buffer as it was.
 */
#ifndef MAIL_BUF_H
#define MAIL_BUF_H

#pragma GCC visibility push(default)

#include <stdarg.h>
#include <stddef.h>

#include "error.h"

struct mail_buf {
    char *data;       /* NULL until the first append; NUL-terminated after */
    size_t len;       /* bytes in use, not counting the NUL */
    size_t alloc;     /* bytes allocated */
    size_t cap_max;   /* largest len allowed; 0 = MAIL_BUF_DEFAULT_MAX;
                         the top bit: secret mode (mail_buf_set_secret) */
};

#define MAIL_BUF_DEFAULT_MAX ((size_t)64 << 20)
#define MAIL_BUF_INIT { NULL, 0, 0, 0 }

void mail_buf_init(struct mail_buf *b, size_t cap_max);
/* Free the memory; the buffer is then as after mail_buf_init. */
void mail_buf_release(struct mail_buf *b);
/* Like release, but wipes the bytes first (for credentials). */
void mail_buf_release_secret(struct mail_buf *b);
/*
 * Secret mode (for buffers that will hold credentials; set it before the
 * first secret byte goes in): growth copies into a fresh block and wipes
 * the old one before freeing it (never realloc, which may free a block
 * with the bytes still in it), reset and consume wipe the bytes they
 * drop, and release wipes like release_secret.  The mode stays until
 * mail_buf_init.
 */
void mail_buf_set_secret(struct mail_buf *b);
int mail_buf_is_secret(const struct mail_buf *b);
/* Empty the buffer, keep the allocation. */
void mail_buf_reset(struct mail_buf *b);
/* Make room for `extra` more bytes; -1 on ENOMEM or when over the cap. */
int mail_buf_reserve(struct mail_buf *b, size_t extra);

int mail_buf_add(struct mail_buf *b, const void *data, size_t len);
int mail_buf_addstr(struct mail_buf *b, const char *s);
int mail_buf_addch(struct mail_buf *b, char c);
int mail_buf_printf(struct mail_buf *b, const char *fmt, ...)
    MAIL_PRINTF(2, 3);
int mail_buf_vprintf(struct mail_buf *b, const char *fmt, va_list ap)
    MAIL_PRINTF(2, 0);
/* Drop the first n bytes. */
void mail_buf_consume(struct mail_buf *b, size_t n);
/* Hand the data over to the caller (free() it); the buffer becomes empty.
 * Never NULL on success: an empty buffer yields "". NULL on ENOMEM. */
char *mail_buf_detach(struct mail_buf *b);

/* Small string helpers. */
/* Copy at most size-1 bytes and NUL-terminate; returns strlen(src) (like
 * BSD strlcpy) so that truncation is detectable. */
size_t mail_strlcpy(char *dst, const char *src, size_t size);
/* snprintf that returns -1 on truncation or error instead of a length. */
int mail_snprintf(char *dst, size_t size, const char *fmt, ...)
    MAIL_PRINTF(3, 4);
/* ASCII case-insensitive compare (locale-independent). */
int mail_strcasecmp(const char *a, const char *b);
int mail_strncasecmp(const char *a, const char *b, size_t n);
/* Wipe memory so the compiler cannot drop the store. */
void mail_wipe(void *p, size_t n);

/* base64 (RFC 4648), used by SASL and MIME.
 * encode appends to out; decode appends and returns -1 on bad input
 * (characters outside the alphabet, bad padding).  Whitespace is not
 * accepted by mail_base64_decode. */
int mail_base64_encode(struct mail_buf *out, const void *data, size_t len);
int mail_base64_decode(struct mail_buf *out, const char *in, size_t len);

/* A hint for a large block about to be filled (a big folder's names,
 * entries or rows: tens of MB): transparent huge pages where the system
 * gives them on request (madvise mode), so that filling it takes a page
 * fault per 2 MB rather than per 4 KiB, a sixth of a warm listing of
 * 100,000 messages.  Only the whole pages inside the block; nothing for
 * blocks under 4 MiB. */
void mail_big_block_hint(void *p, size_t len);

#pragma GCC visibility pop

#endif
