/*
 * header.h - RFC 5322 header blocks.
 *
 * A parsed header is one buffer holding every field as "name\0value\0",
 * names lowercased, values unfolded (the line breaks of folded lines
 * removed, the leading blank of each continuation kept, RFC 5322 2.2.3)
 * and trimmed, plus an array of pointers into it in the original order
 * (the mblaze layout: one allocation to free, cheap lookups).
 *
 * Values are the raw bytes of the message: encoded words are not decoded
 * and 8-bit bytes are kept (see rfc2047.h for display text).  NUL bytes
 * and bare CRs in values become spaces, so values are C strings.  Lines
 * with no colon, or whose name is not printable ASCII, are skipped, as is
 * a continuation line with no field before it.
 *
 * Input lines may end in CRLF or bare LF.  The header ends at the first
 * empty line; `len` tells where the body starts.
 */
#ifndef MAIL_HEADER_H
#define MAIL_HEADER_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "buf.h"
#include "error.h"

/* Default bound on a header block read from a file or stream. */
#define MAIL_HEADER_MAX ((size_t)1 << 20)

struct mail_header_field {
    const char *name;     /* lowercased, NUL-terminated */
    const char *value;    /* unfolded, trimmed, NUL-terminated */
    size_t value_len;
};

struct mail_header {
    char *buf;                        /* owns all names and values */
    struct mail_header_field *fields; /* in message order */
    size_t nfields;
    size_t len;       /* bytes of header read, including the empty line:
                         the body starts at this offset */
    bool complete;    /* an empty line ended the header */
    bool truncated;   /* the size bound cut the header; the rest of the
                         input is treated as body */
};

#define MAIL_HEADER_INIT { NULL, NULL, 0, 0, false, false }

/*
 * Where the body of data[0..len) starts: the offset just after the first
 * empty line (LF or CRLF), or len when there is none (*found = false).
 * found may be NULL.
 */
size_t mail_header_end(const char *data, size_t len, bool *found);

/*
 * Parse the header at the start of data[0..len) (a header block or a whole
 * message; parsing stops at the first empty line).  h must be initialised
 * (MAIL_HEADER_INIT) or released; it is overwritten.  Returns 0, or -1 with
 * err set (MAIL_ERR_INTERNAL) when out of memory.  Any bytes parse: there
 * is no syntax error.  Free with mail_header_release.
 */
int mail_header_parse(struct mail_header *h, const char *data, size_t len,
                      struct mail_error *err);

/*
 * Read and parse the header of the message at fd's position, reading at
 * most max bytes of header (0: MAIL_HEADER_MAX; beyond that h->truncated
 * and the body is taken to start at the bound).  Reads in blocks, so a few
 * KiB of body may be read: on a seekable fd the position is moved back to
 * the body start; otherwise those bytes are appended to *rest (which may be
 * NULL only for seekable fds; they are then lost).  Blocks in read(2).
 * Returns 0, or -1 with err set: MAIL_ERR_IO for a read error,
 * MAIL_ERR_INTERNAL when out of memory.
 */
int mail_header_read_fd(struct mail_header *h, int fd, size_t max,
                        struct mail_buf *rest, struct mail_error *err);

/* The header of the file open at fd, from its start, with pread(2): fd's
 * position is left alone (a caller that reads only the header saves the
 * seek back).  Errors as for mail_header_read_fd. */
int mail_header_pread(struct mail_header *h, int fd, size_t max,
                      struct mail_error *err);

/*
 * The same from a stdio stream, reading byte by byte so that the stream is
 * left exactly at the start of the body.  Errors as for mail_header_read_fd.
 */
int mail_header_read_file(struct mail_header *h, FILE *f, size_t max,
                          struct mail_error *err);

/* Free the memory; h is then as after MAIL_HEADER_INIT. */
void mail_header_release(struct mail_header *h);

/* The value of the first field called name (any case), or NULL. */
const char *mail_header_get(const struct mail_header *h, const char *name);

/*
 * All fields called name, in order:
 *     size_t pos = 0;
 *     while ((v = mail_header_next(h, "received", &pos)) != NULL) ...
 * Returns NULL when there are no more.
 */
const char *mail_header_next(const struct mail_header *h, const char *name,
                             size_t *pos);

#pragma GCC visibility pop

#endif
