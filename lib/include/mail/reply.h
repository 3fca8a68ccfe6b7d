/*
 * reply.h - the draft of a reply or a forward, built from an original.
 *
 * `mail reply`, `mail forward` and the reader share it.  From the
 * original's header (mime.h's root part) and its readable text
 * (render.h), and the user's own addresses (the account's `address` and
 * `alternates`), it makes a draft: recipients, Subject, In-Reply-To,
 * References and a body.  The draft is text in UTF-8 (names and subject
 * decoded); the composer (compose.h) encodes it on output.
 *
 * Recipients, as mutt does it:
 *   - reply: Reply-To, else From; a message you sent yourself (its From
 *     is one of your addresses) goes to its To instead;
 *   - --all: the same, plus the original To and Cc as Cc, minus your own
 *     addresses and addresses already present (local part compared
 *     exactly, domain without case); Mail-Followup-To, when there is
 *     one, replaces all of that;
 *   - --list: the List-Post mailto: address only (MAIL_ERR_DATA when the
 *     message has none), or Mail-Followup-To when there is one.
 * Groups keep their syntax ("Team: a@x, b@y;"); an empty group is
 * dropped.
 *
 * The library never prints; errors come back in struct mail_error.
 */
#ifndef MAIL_REPLY_H
#define MAIL_REPLY_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"
#include "header.h"
#include "mime.h"
#include "render.h"
#include "sink.h"

/* ---- your own addresses ---- */

struct mail_identities;

/*
 * address: the account's address ("Alice <alice@example.com>", or NULL);
 * alternates: blank-separated list of addresses or POSIX extended regular
 * expressions (an entry with one of ^$*+?[]()|\ is a regex, matched
 * without case anywhere in the addr-spec, as neomutt's `alternates`;
 * any other entry is an address, compared as mail_addr_equal does).
 * NULL with err set: MAIL_ERR_CONFIG for a bad regex (named),
 * MAIL_ERR_INTERNAL when out of memory.
 */
struct mail_identities *mail_identities_new(const char *address,
                                            const char *alternates,
                                            struct mail_error *err);
void mail_identities_free(struct mail_identities *ids);

/* Whether the addr-spec is one of yours.  ids may be NULL (none). */
bool mail_identities_match(const struct mail_identities *ids,
                           const char *addr);

/* Two addr-specs are the same mailbox: local parts equal byte for byte,
 * domains equal without case. */
bool mail_addr_equal(const char *a, const char *b);

/* ---- pieces ---- */

/* "Re: " + subject (raw header value, encoded words decoded) with any
 * stack of reply prefixes removed (Re: RE: Aw: SV: Antw: VS: Odp: Re[2]:
 * Re(2): ...; "Fwd:" inside is kept).  subject may be NULL. */
int mail_reply_subject(struct mail_buf *out, const char *subject);
/* "Fwd: " + subject with forward prefixes removed (Fwd: FW: WG: TR: ...). */
int mail_forward_subject(struct mail_buf *out, const char *subject);

/* Most message ids kept in References: the first and the last ones. */
#define MAIL_REFERENCES_MAX 20

/*
 * References for a reply (RFC 5322 3.6.4): the original's References
 * (else its In-Reply-To when that is a single id) followed by its
 * Message-ID; at most MAIL_REFERENCES_MAX ids, keeping the first and the
 * latest.  Appends nothing when there is no id at all.
 */
int mail_reply_references(struct mail_buf *out, const struct mail_header *h);

/* The original's Message-ID ("<id>") for In-Reply-To, appended; nothing
 * when it has none or it is not an id. */
int mail_reply_in_reply_to(struct mail_buf *out, const struct mail_header *h);

/* "On Tue, 3 Dec 2026 10:00:00 +0100, Alice Example wrote:\n": the date
 * in the original's zone, the From name decoded (else its address); a
 * Date that does not parse leaves out "On DATE, ". */
int mail_reply_attribution(struct mail_buf *out, const struct mail_header *h);

/*
 * Append text[0..len) quoted: each line prefixed "> " (">" before a line
 * that already starts with '>', and on an empty line); the signature
 * (from a line "-- " on) and trailing empty lines left out.
 */
int mail_reply_quote(struct mail_buf *out, const char *text, size_t len);

/* Append "\n-- \n" and the file's content (a signature); nothing when path
 * is NULL or the file cannot be opened.  MAIL_ERR_IO for a read error. */
int mail_signature_append(struct mail_buf *out, const char *path,
                          struct mail_error *err);

/* Append the address field value (raw, RFC 2047 names) as a user types
 * it: names decoded to UTF-8, quoted where needed, "a, b" (bare names and
 * empty groups dropped).  MAIL_ERR_INTERNAL when out of memory. */
int mail_draft_addrs(struct mail_buf *out, const char *value,
                     struct mail_error *err);

/* ---- the draft ---- */

enum mail_reply_mode {
    MAIL_REPLY_SENDER,     /* `mail reply` */
    MAIL_REPLY_ALL,        /* --all */
    MAIL_REPLY_LIST,       /* --list */
};

enum mail_draft_kind {
    MAIL_DRAFT_NEW,        /* `mail compose` */
    MAIL_DRAFT_REPLY,
    MAIL_DRAFT_FORWARD,
};

struct mail_draft {
    char *to;              /* address lists as a user types them, UTF-8;
                              "" when none */
    char *cc;
    char *bcc;
    char *subject;         /* UTF-8 */
    char *in_reply_to;     /* "<id>" or NULL */
    char *references;      /* "<a> <b>" or NULL */
    struct mail_buf body;  /* UTF-8 text, LF line ends */
    /* Files to attach (draft.c), paths as given, each malloc'd. */
    char **attach;
    size_t nattach;
    /* What the draft answers, for a postponed draft (draft.c): the kind,
     * the original's folder (a path, or NULL) and Message-ID ("<id>", or
     * NULL), so that resuming can flag the original after the send. */
    enum mail_draft_kind kind;
    char *orig_folder;
    char *orig_id;
    /* A message attached byte for byte as message/rfc822 (a forward
     * --attach brought back from the drafts folder): a path, or NULL. */
    char *rfc822;
};

#define MAIL_DRAFT_INIT { NULL, NULL, NULL, NULL, NULL, NULL, MAIL_BUF_INIT, \
                          NULL, 0, MAIL_DRAFT_NEW, NULL, NULL, NULL }

void mail_draft_release(struct mail_draft *d);

/* Fill d->to and d->cc (replacing them) from the original's header. */
int mail_reply_recipients(const struct mail_header *h,
                          const struct mail_identities *ids,
                          enum mail_reply_mode mode, struct mail_draft *d,
                          struct mail_error *err);

struct mail_reply_opts {
    enum mail_reply_mode mode;
    const struct mail_identities *ids;
    struct mail_render *render;     /* renders the original's text */
    const char *signature_file;     /* expanded path, or NULL */
    const char *const *to;          /* forward: the recipients given */
    size_t nto;
    bool attach;                    /* forward: the original goes as a
                                       message/rfc822 part, not inline */
};

/*
 * A reply to the message read by fd (from offset 0) whose parse is m:
 * recipients, subject, In-Reply-To, References, and the body: an empty
 * line for your text, the attribution, the quoted readable text, your
 * signature.  d must be initialised (MAIL_DRAFT_INIT) or released.
 */
int mail_reply_draft(int fd, const struct mail_mime *m,
                     const struct mail_reply_opts *o, struct mail_draft *d,
                     struct mail_error *err);

/*
 * A forward: To from o->to, "Fwd: " subject, and the body: an empty line
 * for your text, then (inline) a "---------- Forwarded message ---------"
 * block with the original's From, Date, Subject, To and Cc and its
 * readable text, or (o->attach) nothing more; your signature.
 */
int mail_forward_draft(int fd, const struct mail_mime *m,
                       const struct mail_reply_opts *o, struct mail_draft *d,
                       struct mail_error *err);

/* Insert text (the user's, from standard input) at the start of the
 * body, ending it with an empty line before what follows. */
int mail_draft_prepend(struct mail_draft *d, const char *text, size_t len,
                       struct mail_error *err);

/*
 * The draft as a file for the editor: "To:", "Cc:", "Bcc:" (when set),
 * "Subject:", "In-Reply-To:", "References:" lines, an empty line, the
 * body.  A sink that fails gives its own error.
 */
int mail_draft_write(const struct mail_draft *d, mail_sink_fn sink, void *ctx,
                     struct mail_error *err);

/*
 * Read back an edited draft: the header lines (To, Cc, Bcc, Subject,
 * In-Reply-To, References, any case; continuation lines joined) up to
 * the first empty line, then the body.  Fields left out become empty.
 * MAIL_ERR_USAGE for another field or a line that is not a field.  The
 * attachments, kind, original and rfc822 of d are kept.
 */
int mail_draft_parse(struct mail_draft *d, const char *text, size_t len,
                     struct mail_error *err);

/*
 * Write a forward as an attachment: the message in `composed` (a whole
 * message from the composer, text/plain, read from offset 0; bounded
 * header) becomes the first part of a multipart/mixed whose second part
 * is the original, read from orig_fd at offset 0 to its end and copied
 * byte for byte as message/rfc822 (streamed in blocks: memory does not
 * grow with the original).  MAIL_ERR_IO for a read error; a failed sink
 * gives its own error.
 */
int mail_forward_attach_write(int composed, int orig_fd, mail_sink_fn sink,
                              void *ctx, struct mail_error *err);

#pragma GCC visibility pop

#endif
