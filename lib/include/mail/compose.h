/*
 * compose.h - writing messages for submission.
 *
 * Four jobs, all streaming (a message is never held in memory; only a
 * header block is, bounded by MAIL_HEADER_MAX):
 *
 *   - the composer (mail_compose_write): From, To, Cc, Subject, Date,
 *     Message-ID, MIME-Version, a text body from a file, attachments;
 *     encoded words for non-ASCII names and subjects, quoted-printable for
 *     a text body that is not plain short-lined ASCII, base64 for
 *     attachments typed from mime.types, RFC 2231 file names, and
 *     multipart/mixed only when there are attachments.  The result is
 *     always 7-bit, so it is valid for any server as it is.
 *   - completing a message given whole (`mail send -t`,
 *     mail_message_complete): recipients from To, Cc and Bcc, Bcc and
 *     Resent-Bcc removed,
 *     missing From, Date, Message-ID and MIME headers added, everything
 *     else copied byte for byte.
 *   - scanning a message (mail_message_scan): what a server must support
 *     to take it as it is (8BITMIME, SMTPUTF8) and its size on the wire.
 *   - re-encoding a message to 7 bits (mail_message_to_7bit) for a server
 *     that lacks 8BITMIME or SMTPUTF8, or when a line is longer than the
 *     998 octets SMTP allows.
 *
 * Output goes to a sink (sink.h), input comes from seekable file
 * descriptors read with pread(2) from a given offset.  Every function
 * below gives its err to the sink; when the sink fails, it returns -1
 * with err as the sink set it.  Line ends in the
 * output are LF (the SMTP layer makes them CRLF; Maildir keeps LF).
 *
 * A header value the user gives can never start a new header field: CR,
 * LF or NUL in it is MAIL_ERR_USAGE.
 */
#ifndef MAIL_COMPOSE_H
#define MAIL_COMPOSE_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "address.h"
#include "buf.h"
#include "error.h"
#include "sink.h"

/* MAIL_ERR_USAGE "WHAT contains a line break" when s has CR, LF or NUL
 * (len bytes; use strlen for C strings).  0 otherwise. */
int mail_compose_check_value(const char *what, const char *s, size_t len,
                             struct mail_error *err);

/*
 * Parse an address list the user typed ("a@x", "Name <a@x>, b@y") into l
 * (which must be initialised or released).  Every item must have an
 * address: a bare name, an empty group or an empty string is
 * MAIL_ERR_USAGE, as is a CR or LF anywhere.
 */
int mail_compose_parse_addrs(struct mail_addrlist *l, const char *arg,
                             struct mail_error *err);

/* The domain of an address ("example.com" for "a@example.com"), or NULL
 * when it has none ("root").  Points into addr. */
const char *mail_compose_domain(const char *addr);

/* This machine's name for a Message-ID: gethostname(), qualified through
 * the resolver when it has no dot; never "localhost" (a machine called so
 * gets "localhost.invalid").  -1 if it does not fit in size. */
int mail_compose_host_domain(char *dst, size_t size);

/* Append a new Message-ID "<TIME.RANDOM@domain>" with its brackets. */
int mail_compose_message_id(struct mail_buf *out, const char *domain);

/*
 * Append one header field "Name: value\n", folded at blanks so that lines
 * stay within 78 characters where the value allows it (never split inside
 * a word).  value is used as given: it must already be 7-bit or encoded.
 */
int mail_compose_fold(struct mail_buf *out, const char *name,
                      const char *value);

struct mail_compose {
    const char *from;            /* "Name <addr>" or "addr": From */
    const char *const *to;       /* address lists as the user typed them */
    size_t nto;
    const char *const *cc;
    size_t ncc;
    /* Bcc recipients are not written into the message. */
    const char *subject;         /* UTF-8; NULL: no Subject */
    const char *const *headers;  /* extra "Name: value" fields (In-Reply-To,
                                    References...), checked for line
                                    breaks; ASCII */
    size_t nheaders;
    int body_fd;                 /* text read from offset 0 to its end;
                                    -1: empty body */
    const char *const *attach;   /* file paths */
    size_t nattach;
    const char *mime_types;      /* NULL: /etc/mime.types */
    time_t date;                 /* 0: now */
    const char *message_id;      /* with brackets; NULL: a new one at the
                                    From address's domain */
    const char *id_domain;       /* for a new Message-ID when From has no
                                    domain (the account's `domain`); NULL:
                                    mail_compose_host_domain */
};

/*
 * Write the whole message to sink.  Errors: MAIL_ERR_USAGE for a line
 * break in a value or a From/To/Cc without an address; MAIL_ERR_NOTFOUND
 * for a missing attachment, MAIL_ERR_IO when a file cannot be read; the
 * sink's own error when the sink fails.
 */
int mail_compose_write(const struct mail_compose *c, mail_sink_fn sink,
                       void *ctx, struct mail_error *err);

/* ---- -t: a whole message on input ---- */

struct mail_complete_opts {
    const char *from;            /* From when the message has none; may be
                                    "Name <addr>"; NULL: none added */
    time_t date;                 /* 0: now */
    bool keep_bcc;               /* copy Bcc instead of removing it */
    bool check_rcpts;            /* To, Cc and Bcc must pass
                                    mail_address_check (groups allowed):
                                    MAIL_ERR_USAGE otherwise */
    const char *id_domain;       /* as in struct mail_compose */
};

struct mail_complete_result {
    struct mail_addrlist rcpts;  /* To, Cc and Bcc of the message, in
                                    order, items without address dropped */
    struct mail_buf bcc;         /* the removed Bcc fields, raw, each
                                    ending in LF (for the sent copy) */
    char *from_addr;             /* addr-spec of the message's From after
                                    completion, or NULL; malloc'd */
};

void mail_complete_result_release(struct mail_complete_result *r);

/*
 * Copy the message in fd (offset 0 to end) to sink, with Bcc fields
 * removed (unless keep_bcc) and From, Date, Message-ID, MIME-Version (and,
 * when there is no Content-Type, a text/plain Content-Type and
 * Content-Transfer-Encoding) added at the end of the header where
 * missing.  Every other byte is copied unchanged.  res must be zeroed.
 * MAIL_ERR_DATA for a header larger than MAIL_HEADER_MAX.
 */
int mail_message_complete(int fd, const struct mail_complete_opts *o,
                          mail_sink_fn sink, void *ctx,
                          struct mail_complete_result *res,
                          struct mail_error *err);

/*
 * `mail send -t -A FILE`: copy the (completed) message in fd to sink as
 * multipart/mixed, its header fields kept but for the Content-* ones,
 * which go with the body into the first part; then one part per file in
 * attach, as the composer writes them.  MAIL_ERR_NOTFOUND or MAIL_ERR_IO
 * for a file that cannot be read, found before anything is written.
 */
int mail_message_attach(int fd, const char *const *attach, size_t nattach,
                        const char *mime_types, mail_sink_fn sink, void *ctx,
                        struct mail_error *err);

/* ---- what a message needs from a server ---- */

struct mail_message_info {
    uint64_t size;        /* bytes of the message */
    uint64_t wire_size;   /* size with every line end made CRLF */
    bool header_8bit;     /* a byte >= 0x80 in the header: SMTPUTF8 */
    bool body_8bit;       /* a byte >= 0x80 in the body: 8BITMIME */
    bool body_binary;     /* NUL or a bare CR in the body: neither 7bit
                             nor 8bit (RFC 2045 2.7, 2.8) */
    bool long_lines;      /* a line longer than 998 octets */
    bool has_header;      /* an empty line ends a header */
};

/* Scan the message in fd from offset to its end.  MAIL_ERR_IO. */
int mail_message_scan(int fd, off_t offset, struct mail_message_info *info,
                      struct mail_error *err);

enum {
    MAIL_7BIT_HEADERS = 1,   /* encode 8-bit header fields (no SMTPUTF8) */
    MAIL_7BIT_BODY = 2,      /* encode the body to 7 bits (no 8BITMIME);
                                also done for long lines and binary */
};

/*
 * Copy the message in fd (from offset) to sink, re-encoded so that it
 * passes a server without 8BITMIME (MAIL_7BIT_BODY) or SMTPUTF8
 * (MAIL_7BIT_HEADERS), and with no line over 998 octets.  Header fields
 * with 8-bit bytes become encoded words (address fields keep their
 * addresses, display names encoded; Content-Type and Content-Disposition
 * parameters in RFC 2231 form); a header line that is too long is folded.
 * In the body, every leaf part in 7bit, 8bit or binary (the whole body
 * when it is not multipart) is re-encoded: quoted-printable for text,
 * base64 for the rest; multipart structure, boundaries, parts already in
 * base64 or quoted-printable, and message/rfc822 parts are kept as they
 * are.  MAIL_ERR_DATA when an address in the header is not ASCII and
 * MAIL_7BIT_HEADERS is asked for (only SMTPUTF8 can carry it).
 */
int mail_message_to_7bit(int fd, off_t offset, int flags, mail_sink_fn sink,
                         void *ctx, struct mail_error *err);

#pragma GCC visibility pop

#endif
