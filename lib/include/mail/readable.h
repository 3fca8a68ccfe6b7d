/*
 * readable.h - which parts of a message are "the text" a reader shows.
 *
 * Rules, in the spirit of mutt and mblaze's mshow:
 *   - a text/plain or text/html leaf that is not an attachment is text
 *     (the root part is text even with Content-Disposition: attachment);
 *   - multipart/alternative: the first alternative that yields plain text,
 *     else the last one that yields anything (usually the HTML);
 *   - multipart/related and multipart/signed: the first part;
 *   - multipart/encrypted: nothing;
 *   - any other multipart (mixed, digest, unknown): every part in order;
 *   - message/rfc822 parts are attachments, not descended into.
 * HTML parts are marked so that the caller can render them (html-command)
 * or say that the message has no plain text.
 */
#ifndef MAIL_READABLE_H
#define MAIL_READABLE_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>

#include "mime.h"

struct mail_readable {
    const struct mail_part *part;
    bool html;
};

/*
 * Fill out[0..max) with the parts to show, in order; returns how many
 * there are (if more than max, only the first max are stored).  out may
 * be NULL when max is 0, to count.  Never fails.
 */
size_t mail_mime_readable(const struct mail_mime *m,
                          struct mail_readable *out, size_t max);

#pragma GCC visibility pop

#endif
