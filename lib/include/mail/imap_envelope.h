/*
 * imap_envelope.h - the ENVELOPE and BODYSTRUCTURE of an IMAP FETCH
 * response (RFC 3501 7.4.2, RFC 9051 7.5.2) turned into what a listing
 * needs: header-form strings and the attachment count.
 *
 * The strings are given back in the form a message header has them, not
 * decoded, so that the folder driver fills struct mail_envelope exactly as
 * the local drivers do (callers decode with rfc2047.h and address.h):
 * an address list is rebuilt as "Name <local@domain>, ..." (the name
 * quoted when it needs it, RFC 2047 encoded words left as they are, so
 * that they decode later), RFC 5322 groups as "group: a, b;".  A string
 * may have come as a quoted string or a literal; NIL gives NULL.  CR, LF
 * and NUL inside a string become blanks (a header value is one line once
 * unfolded).  A malformed address is skipped, not fatal: the server's
 * bytes are untrusted, and one bad From must not hide a whole listing.
 * Bounds: at most 1000 addresses per list, 64 KiB per string (longer is
 * cut), nesting as imap_parse.h bounds it.
 */
#ifndef MAIL_IMAP_ENVELOPE_H
#define MAIL_IMAP_ENVELOPE_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "imap_parse.h"

struct mail_imap_envelope {
    char *date;          /* the Date: header as sent, or NULL */
    char *subject;
    char *from, *sender, *reply_to, *to, *cc, *bcc;
    char *in_reply_to, *message_id;
};

/* Parse an ENVELOPE value (a LIST of 10).  -1 with MAIL_ERR_PROTOCOL when
 * n is not a list of at least 10 elements, MAIL_ERR_INTERNAL when out of
 * memory; e is then released.  e is overwritten (not released first). */
int mail_imap_envelope_parse(const struct mail_imap_node *n,
                             struct mail_imap_envelope *e,
                             struct mail_error *err);
void mail_imap_envelope_release(struct mail_imap_envelope *e);

/*
 * What a listing needs from a BODYSTRUCTURE: the number of attachments
 * by the rule of mail_part_is_attachment (mime.h) - a leaf with
 * disposition attachment or a file name (disposition filename or
 * Content-Type name, RFC 2231 forms too), an encapsulated message, or a
 * leaf below a multipart that is neither text/plain nor text/html - and
 * the root's "type/subtype" (lowercase) in *content_type (malloc'd; may
 * be NULL to skip).  Nesting bounded (32), parts bounded (10000).
 * -1 with MAIL_ERR_PROTOCOL for a malformed structure.
 */
int mail_imap_body_summary(const struct mail_imap_node *bodystructure,
                           unsigned *attachments, char **content_type,
                           struct mail_error *err);

/* The same from a parsed tree (imap_parse.h). */
unsigned mail_imap_bodypart_attachments(const struct mail_imap_bodypart *b);

#pragma GCC visibility pop

#endif
