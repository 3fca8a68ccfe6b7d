/*
 * mime.h - a streaming MIME parser (RFC 2045, 2046) that builds the tree
 * of parts of a message with byte offsets, without holding the message.
 *
 *     struct mail_mime *m = mail_mime_new(NULL, &err);
 *     while ((n = read(fd, chunk, sizeof chunk)) > 0)
 *         if (mail_mime_push(m, chunk, n, &err) < 0) ...
 *     mail_mime_finish(m, &err);
 *     for (p = mail_mime_root(m); p; p = mail_part_next(p)) ...
 *     mail_part_decode_fd(p, fd, MAIL_DECODE_TEXT, sink, ctx, &err);
 *     mail_mime_free(m);
 *
 * (mail_mime_parse_fd and friends do the first four lines.)  Memory is
 * bounded by the limits below and does not grow with the size of bodies:
 * only headers and the start of each line are kept, and body bytes are
 * run through a counting decoder to learn each part's decoded size.
 *
 * Offsets are from the first byte pushed.  The line break before a
 * boundary line belongs to the boundary (RFC 2046 5.1.1), so body_end
 * excludes it.  Numbering follows IMAP (RFC 3501 6.4.5): a message that
 * is not multipart has one part "1"; the parts of a multipart are 1, 2...
 * and their parts 1.1, 1.2...; the root multipart has the number "".  An
 * encapsulated message (message/rfc822 part N) has its body numbered N.1
 * when it is not multipart, and its parts N.1, N.2... when it is (its
 * multipart then has the number N too; lookups find the message/rfc822
 * part first).
 *
 * Leniencies (doc/VIOLATIONS.md): missing final boundaries (the part ends
 * at the enclosing boundary or at the end), an outer boundary closes inner
 * multiparts, blanks after a boundary, bare LF line ends, NUL bytes, no
 * Content-Type (text/plain; us-ascii, or message/rfc822 in a digest), an
 * invalid Content-Type ("text" -> text/plain), a multipart with no usable
 * boundary (treated as text/plain, MAIL_PART_NO_BOUNDARY), base64 or QP
 * declared on a multipart (ignored).  message/rfc822 is parsed as a nested
 * message unless it is base64 or QP encoded (then it is a leaf).
 */
#ifndef MAIL_MIME_H
#define MAIL_MIME_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "codec.h"
#include "error.h"
#include "header.h"
#include "rfc2231.h"
#include "sink.h"

struct mail_mime_limits {
    size_t header_max;        /* bytes kept of one part's header (1 MiB) */
    size_t headers_total_max; /* bytes kept of all headers together (8 MiB) */
    unsigned depth_max;       /* nesting of multiparts and messages (32;
                                 at most 1000) */
    unsigned parts_max;       /* parts in the tree (10,000) */
};

/* Bits of mail_part.flags: what the parser had to work around. */
enum {
    MAIL_PART_HEADER_TRUNCATED = 1, /* header over the limit; rest = body */
    MAIL_PART_NO_END = 2,           /* multipart whose close delimiter
                                       never came (ended by an outer
                                       boundary or the end) */
    MAIL_PART_NO_BOUNDARY = 4,      /* multipart without a usable
                                       boundary, treated as text/plain */
    MAIL_PART_TOO_DEEP = 8,         /* children not parsed: depth limit */
    MAIL_PART_TOO_MANY = 16,        /* later parts not split: part limit */
    MAIL_PART_NO_SEPARATOR = 32,    /* header ended by a line that is not
                                       a field (no empty line); that line
                                       starts the body */
};

struct mail_part {
    struct mail_part *parent;
    struct mail_part *child;      /* first child */
    struct mail_part *next;       /* next sibling */
    char *number;                 /* IMAP part number, see above */
    unsigned depth;               /* 0 for the root */
    unsigned flags;
    struct mail_header header;    /* the part's own header */
    char *type;                   /* lowercase "type/subtype" */
    struct mail_params params;    /* Content-Type parameters, decoded */
    const char *charset;          /* lowercased charset parameter; for
                                     text/ parts "us-ascii" by default;
                                     otherwise NULL when absent */
    char *disposition;            /* lowercased "attachment", "inline"...
                                     or NULL when there is none */
    char *filename;               /* decoded UTF-8 (Content-Disposition
                                     filename, else Content-Type name), or
                                     NULL; not safe as a path as it is */
    enum mail_cte cte;
    uint64_t header_start;        /* offsets in the message */
    uint64_t body_start;
    uint64_t body_end;
    uint64_t decoded_size;        /* bytes after transfer decoding (leaf
                                     parts; 0 for multiparts) */
    struct mail_part *last_child; /* the parser's: appending a child and */
    size_t nchildren;             /* numbering it cost O(1) */
};

struct mail_mime;

/*
 * A new parser.  lim may be NULL for the defaults; a 0 field also means
 * its default.  NULL with err set (MAIL_ERR_INTERNAL) when out of memory.
 */
struct mail_mime *mail_mime_new(const struct mail_mime_limits *lim,
                                struct mail_error *err);

/* Feed the next len bytes of the message.  -1 with err set
 * (MAIL_ERR_INTERNAL) only when out of memory; the parser is then
 * unusable except for mail_mime_free. */
int mail_mime_push(struct mail_mime *m, const char *data, size_t len,
                   struct mail_error *err);

/* End of the message: closes every open part.  -1 as for push. */
int mail_mime_finish(struct mail_mime *m, struct mail_error *err);

/* Free the parser and the whole tree (NULL is fine). */
void mail_mime_free(struct mail_mime *m);

/* The root part (after the root's header has been seen; NULL before). */
const struct mail_part *mail_mime_root(const struct mail_mime *m);
/* Number of parts in the tree. */
size_t mail_mime_count(const struct mail_mime *m);
/* Bytes pushed so far. */
uint64_t mail_mime_size(const struct mail_mime *m);

/* The next part in pre-order (document order), or NULL. */
const struct mail_part *mail_part_next(const struct mail_part *p);

/* The first part (pre-order) numbered `number`, or NULL. */
const struct mail_part *mail_mime_find(const struct mail_mime *m,
                                       const char *number);

/* Does the part have children (a parsed multipart)? */
bool mail_part_is_multipart(const struct mail_part *p);

/*
 * Is the part an attachment from the reader's point of view: a leaf with
 * Content-Disposition attachment, or a leaf with a filename, or any leaf
 * that is not text/plain or text/html (message/rfc822 counts)?  The root
 * of a one-part text message is not.
 */
bool mail_part_is_attachment(const struct mail_part *p);

/* Parse a whole message from fd (from its current position, blocking in
 * read(2)), FILE or memory.  NULL with err set: MAIL_ERR_IO on a read
 * error, MAIL_ERR_INTERNAL when out of memory. */
struct mail_mime *mail_mime_parse_fd(int fd, const struct mail_mime_limits *lim,
                                     struct mail_error *err);
struct mail_mime *mail_mime_parse_file(FILE *f,
                                       const struct mail_mime_limits *lim,
                                       struct mail_error *err);
struct mail_mime *mail_mime_parse_mem(const char *data, size_t len,
                                      const struct mail_mime_limits *lim,
                                      struct mail_error *err);

enum {
    /* Also convert the charset to UTF-8 (charset.h rules; non-text
     * parts as "auto") and CRLF line ends to LF. */
    MAIL_DECODE_TEXT = 1,
};

/*
 * Send the body of part p (a multipart gives its raw body),
 * transfer-decoded (and with MAIL_DECODE_TEXT converted), to
 * sink(ctx, ...), re-reading bytes
 * [body_start, body_end) with pread(2) from fd, in constant memory.
 * offsets must be those of a parse of the same file from offset 0.
 * Returns 0, or -1 with err set: MAIL_ERR_IO on a read error or a file
 * shorter than the part, MAIL_ERR_INTERNAL when out of memory, or, when
 * the sink returned -1, the error the sink set (err is given to it).
 */
int mail_part_decode_fd(const struct mail_part *p, int fd, int flags,
                        mail_sink_fn sink, void *ctx, struct mail_error *err);

/* The same from the whole message in memory, msg[0..len). */
int mail_part_decode_mem(const struct mail_part *p, const char *msg,
                         size_t len, int flags, mail_sink_fn sink, void *ctx,
                         struct mail_error *err);

#pragma GCC visibility pop

#endif
