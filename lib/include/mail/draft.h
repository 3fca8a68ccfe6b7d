/*
 * draft.h - a draft (reply.h's struct mail_draft) as a whole MIME
 * message and back: what a postponed draft is in the drafts folder, and
 * what is sent.
 *
 * A postponed draft is a normal message (From, To, Cc, Subject, Date,
 * Message-ID, MIME; the text as its first text/plain part, every
 * attachment as a part) with the fields only the sender sees:
 *
 *     Bcc: ...                          the blind copies
 *     X-Mail-Draft: reply | forward | new
 *     X-Mail-Draft-Original: <id>       the Message-ID of the message a
 *                                       reply or forward answers
 *     X-Mail-Draft-Folder: /path        the folder it was in
 *
 * plus In-Reply-To and References for a reply.  Resuming reads them back,
 * so that the original is flagged answered (or passed) after the send.
 * None of the X-Mail-Draft fields is ever sent.
 *
 * The library never prints; errors come back in struct mail_error.
 */
#ifndef MAIL_DRAFT_H
#define MAIL_DRAFT_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "mime.h"
#include "reply.h"
#include "sink.h"

/* Add a file to attach (the path is copied; not checked here).
 * MAIL_ERR_INTERNAL when out of memory. */
int mail_draft_attach_add(struct mail_draft *d, const char *path,
                          struct mail_error *err);
/* Remove attachment i (nothing when out of range). */
void mail_draft_attach_remove(struct mail_draft *d, size_t i);

struct mail_draft_msg_opts {
    const char *from;        /* the From field ("Name <addr>"), required */
    const char *id_domain;   /* as struct mail_compose's */
    const char *mime_types;  /* NULL: /etc/mime.types */
    const char *tmp_dir;     /* for the text while composing; NULL: /tmp */
    int rfc822_fd;           /* -1, or a message attached byte for byte as
                                message/rfc822 (forward --attach), read
                                from offset 0; d->rfc822 is used when -1 */
    bool postpone;           /* add the X-Mail-Draft fields (see above) */
};

/*
 * Write the draft as a whole message to sink: the composer's (compose.h:
 * encoded words, quoted-printable text, base64 attachments from
 * d->attach), with In-Reply-To, References and Bcc when set, the
 * X-Mail-Draft fields with o->postpone, and the rfc822 message as the
 * last part.  Errors as mail_compose_write's: MAIL_ERR_USAGE for a bad
 * address or a line break in a field, MAIL_ERR_NOTFOUND for a missing
 * attachment, MAIL_ERR_IO.
 */
int mail_draft_message_write(const struct mail_draft *d,
                             const struct mail_draft_msg_opts *o,
                             mail_sink_fn sink, void *ctx,
                             struct mail_error *err);

/*
 * Read a draft back from a message (fd from offset 0, parsed as m), as
 * mail_draft_message_write wrote it (or any message: a plain one gives
 * its header and text): To, Cc, Bcc (names decoded), Subject (decoded),
 * In-Reply-To, References, the X-Mail-Draft fields; the body is the first
 * text/plain part that is not an attachment (decoded to UTF-8, LF line
 * ends); every other leaf part is written, decoded, to a file
 * DIR/N/NAME (N from 1, NAME the part's file name made safe, else
 * "attachment-N") and added to d->attach; a message/rfc822 part becomes
 * DIR/N/forwarded.eml, byte for byte, in d->rfc822 (the first one; later
 * ones are attachments).  dir must exist; the caller removes it
 * (mail_draft_dir_remove).  d is replaced.  MAIL_ERR_IO,
 * MAIL_ERR_INTERNAL.
 */
int mail_draft_from_message(int fd, const struct mail_mime *m,
                            const char *dir, struct mail_draft *d,
                            struct mail_error *err);

/* Remove dir and everything in it (the files of mail_draft_from_message);
 * best effort. */
void mail_draft_dir_remove(const char *dir);

#pragma GCC visibility pop

#endif
