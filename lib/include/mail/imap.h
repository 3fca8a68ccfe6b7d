/*
 * imap.h - IMAP client (RFC 3501, RFC 9051).
 *
 * Call sequence: mail_imap_open (greeting, CAPABILITY, STARTTLS,
 * CAPABILITY again), mail_imap_login, mail_imap_list, mail_imap_select,
 * mail_imap_uids_after, mail_imap_fetch_messages, ... mail_imap_logout.
 *
 * Everything blocks (each wait bounded by the session's timeout).  The
 * commands below read the server's responses with the streaming parser of
 * imap_parse.h, so message bodies are never held in memory.  Errors name
 * the server and the command ("imap.example.com:993: SELECT Archive: NO
 * Mailbox doesn't exist"), with the server's own text; kinds:
 * MAIL_ERR_PROTOCOL (malformed or oversized responses), MAIL_ERR_UNAVAIL
 * (connection closed, BYE, a needed extension is missing),
 * MAIL_ERR_NOTFOUND (no such mailbox), MAIL_ERR_TEMP (timeouts, [INUSE]
 * and the like), MAIL_ERR_IO (a body sink failed), MAIL_ERR_INTERNAL.
 * After an error other than the server refusing a command (NO/BAD), the
 * session is in an unknown state: log out.
 */
#ifndef MAIL_IMAP_H
#define MAIL_IMAP_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>

#include "flags.h"
#include "imap_parse.h"
#include "session.h"
#include "sink.h"

/* A PREAUTH greeting on a connection that should have used STARTTLS is
 * refused (MAIL_ERR_TLS): the server could never be made to encrypt. */
struct mail_session *mail_imap_open(const struct mail_server *srv,
                                    struct mail_error *err);

/* AUTHENTICATE (SASL) when the server offers AUTH= mechanisms, else LOGIN
 * (only over TLS or with tls = none-i-know, and never when LOGINDISABLED
 * is advertised). */
int mail_imap_login(struct mail_session *s, const char *secret,
                    struct mail_error *err);

/* Run one tagged command to completion; untagged lines land in r. */
int mail_imap_command(struct mail_session *s, struct mail_reply *r,
                      struct mail_error *err, const char *fmt, ...)
    MAIL_PRINTF(4, 5);

void mail_imap_logout(struct mail_session *s);

/* CAPABILITY again, replacing s->caps (s->mechs is kept when the new
 * list has no AUTH=).  Call it after mail_imap_login: servers offer more
 * once authenticated, and LIST (SPECIAL-USE), SELECT (CONDSTORE) and
 * ENABLE use only what s->caps lists.  MOVE and UIDPLUS are re-checked
 * by mail_imap_move and mail_imap_expunge_uids themselves. */
int mail_imap_capability(struct mail_session *s, struct mail_error *err);

/* ---- mailboxes ---- */

/* LIST attributes (RFC 3501 7.2.2, RFC 5258, RFC 6154 SPECIAL-USE). */
enum {
    MAIL_IMAP_MBX_NOSELECT      = 1 << 0,
    MAIL_IMAP_MBX_NOINFERIORS   = 1 << 1,
    MAIL_IMAP_MBX_HASCHILDREN   = 1 << 2,
    MAIL_IMAP_MBX_HASNOCHILDREN = 1 << 3,
    MAIL_IMAP_MBX_MARKED        = 1 << 4,
    MAIL_IMAP_MBX_UNMARKED      = 1 << 5,
    MAIL_IMAP_MBX_NONEXISTENT   = 1 << 6,
    MAIL_IMAP_MBX_ALL           = 1 << 8,
    MAIL_IMAP_MBX_ARCHIVE       = 1 << 9,
    MAIL_IMAP_MBX_DRAFTS        = 1 << 10,
    MAIL_IMAP_MBX_FLAGGED       = 1 << 11,
    MAIL_IMAP_MBX_JUNK          = 1 << 12,
    MAIL_IMAP_MBX_SENT          = 1 << 13,
    MAIL_IMAP_MBX_TRASH         = 1 << 14,
    MAIL_IMAP_MBX_IMPORTANT     = 1 << 15,
};

struct mail_imap_mailbox {
    char *name;         /* UTF-8, for display and local folder names:
                           decoded from modified UTF-7 when the name is
                           valid and encodes back to the same bytes, else
                           the server's bytes with anything but printable
                           ASCII (and '\\') as \xHH; "INBOX" in any case
                           is reported as "INBOX" */
    char *raw;          /* as the server sent it (quoted or literal), for
                           commands: sent back unchanged */
    char delim;         /* hierarchy delimiter, '\0' when NIL */
    unsigned attrs;     /* MAIL_IMAP_MBX_* */
};

struct mail_imap_mailboxes {
    struct mail_imap_mailbox *v;
    size_t n;
};

/* LIST "" "*" (with RETURN (SPECIAL-USE) when the server offers
 * LIST-EXTENDED and SPECIAL-USE).  out is filled in the server's order
 * and owned by the caller (mail_imap_mailboxes_release).  The reply is
 * bounded: a name longer than 1 KiB (or empty, or holding a NUL) is
 * skipped (counted in *skipped by mail_imap_list_counted, for a warning);
 * more than 10000 mailboxes or 16 MiB of names is MAIL_ERR_PROTOCOL.
 * The session remembers which names do not lead back to the server's
 * bytes, so that mail_imap_select/examine of such a name send raw. */
int mail_imap_list(struct mail_session *s, struct mail_imap_mailboxes *out,
                   struct mail_error *err);
int mail_imap_list_counted(struct mail_session *s,
                           struct mail_imap_mailboxes *out, size_t *skipped,
                           struct mail_error *err);
void mail_imap_mailboxes_release(struct mail_imap_mailboxes *l);

/* What SELECT/EXAMINE reported.  Zero for whatever the server left out. */
struct mail_imap_mailbox_state {
    uint32_t uidvalidity;
    uint32_t uidnext;
    uint32_t exists;
    uint32_t recent;
    uint64_t highestmodseq;     /* CONDSTORE; 0 with NOMODSEQ */
    unsigned flags;             /* FLAGS, as MAIL_FLAG_* */
    unsigned permanentflags;    /* PERMANENTFLAGS, as MAIL_FLAG_* */
    bool read_only;
    bool qresync;               /* selected with QRESYNC parameters
                                   (mail_imap_select_qresync) */
};

/* SELECT / EXAMINE a mailbox by its UTF-8 name (encoded to modified
 * UTF-7 here; a name from the last mail_imap_list that does not encode
 * back to the server's bytes is sent as those bytes).  With CONDSTORE
 * offered, "(CONDSTORE)" is added so that HIGHESTMODSEQ is reported.  A NO
 * is MAIL_ERR_NOTFOUND.  mail_imap_select_mailbox selects (rw) or
 * examines a LIST entry by its raw name: quoted when it is printable
 * ASCII, else a literal (LITERAL+ when offered). */
int mail_imap_select(struct mail_session *s, const char *name,
                     struct mail_imap_mailbox_state *st,
                     struct mail_error *err);
int mail_imap_examine(struct mail_session *s, const char *name,
                      struct mail_imap_mailbox_state *st,
                      struct mail_error *err);
int mail_imap_select_mailbox(struct mail_session *s,
                             const struct mail_imap_mailbox *m, bool rw,
                             struct mail_imap_mailbox_state *st,
                             struct mail_error *err);

/*
 * QRESYNC (RFC 7162 3.2.5): what the caller knew of the mailbox, so that
 * the SELECT itself reports what changed since: "* VANISHED (EARLIER)
 * set" for the known messages expunged since modseq (known_last: the
 * known UIDs are 1:known_last; 0 leaves the parameter out) and
 * "* N FETCH (UID u FLAGS (...) MODSEQ (m))" for those whose flags
 * changed.  Those untagged responses (and any other VANISHED or FETCH
 * during the select) go to fn.
 */
struct mail_imap_qresync {
    uint32_t uidvalidity;
    uint64_t modseq;
    uint32_t known_last;
    int (*fn)(void *arg, const struct mail_imap_resp *r,
              struct mail_error *err);
    void *arg;
};

/* SELECT (rw) or EXAMINE name with QRESYNC parameters when the server
 * offers ENABLE and QRESYNC: "ENABLE QRESYNC" is sent once per session,
 * pipelined with the SELECT (no round trip of its own).  st->qresync
 * tells whether the select ran with them; when it did not (the server
 * has no QRESYNC, q NULL or without uidvalidity or modseq, or ENABLE
 * refused: then selected once more without), it is mail_imap_select or
 * mail_imap_examine and what fn heard must be ignored.  With a
 * UIDVALIDITY other than q->uidvalidity the server ignores the
 * parameters: compare st->uidvalidity.  Once enabled, the session gets
 * VANISHED instead of EXPUNGE (RFC 7162 3.2.10). */
int mail_imap_select_qresync(struct mail_session *s, const char *name,
                             bool rw, const struct mail_imap_qresync *q,
                             struct mail_imap_mailbox_state *st,
                             struct mail_error *err);

/* A VANISHED response ("* VANISHED (EARLIER) 1:3,7" or "* VANISHED 5"):
 * its UID set (NULL when r is no VANISHED or is malformed), *earlier set
 * for (EARLIER). */
const char *mail_imap_vanished(const struct mail_imap_resp *r, bool *earlier);

/* fn(arg, a, b) for each range of a UID set ("1:3,7,9:8": a <= b, in the
 * set's order), nothing expanded: "1:4294967295" is one call.  A
 * malformed set (empty, 0, "*", a number over 2^32-1, stray bytes) is
 * MAIL_ERR_PROTOCOL and fn is not called at all. */
int mail_imap_set_ranges(const char *set,
                         void (*fn)(void *arg, uint32_t a, uint32_t b),
                         void *arg, struct mail_error *err);

/* ---- messages in the selected mailbox ---- */

struct mail_imap_uids {
    uint32_t *v;        /* ascending, no duplicates */
    size_t n, alloc;
};
void mail_imap_uids_release(struct mail_imap_uids *u);

/* The UIDs greater than `after` (0: all), by UID FETCH after+1:* (UID).
 * RFC 3501 makes "*" the highest UID even when that is below after+1, so
 * the server may return the last message: UIDs <= after are dropped. */
int mail_imap_uids_after(struct mail_session *s, uint32_t after,
                         struct mail_imap_uids *out, struct mail_error *err);

/* One message of a FETCH. */
struct mail_imap_msg {
    uint32_t seq;
    uint32_t uid;             /* 0 when not (yet) known */
    unsigned flags;           /* MAIL_FLAG_*; \Recent gives MAIL_FLAG_NEW */
    time_t internaldate;      /* (time_t)-1 when not known or bad */
    uint64_t size;            /* RFC822.SIZE; 0 when not known */
    uint64_t body_size;       /* the size of the BODY[] literal */
    bool has_uid, has_flags, has_date, has_size;
};

/*
 * Where a body goes: fn(ctx, piece, len, err) for each piece of at most
 * MAIL_IMAP_CHUNK bytes; fn NULL skips the body.  When fn returns -1 it
 * has said why in err (the sink's own error: "~/Mail/INBOX: No space left
 * on device", MAIL_ERR_IO), and mail_imap_fetch_messages returns that
 * error as it is.
 */
struct mail_imap_body_sink {
    mail_sink_fn fn;
    void *ctx;
};

/*
 * Called when a message's body is about to be handed over, with the UID
 * (always known: has_uid is set) and what else the server sent before the
 * body.  The items of a FETCH response come in any order (RFC 3501
 * 7.4.2): when the UID comes before the body, the body streams straight
 * from the connection and fields after it are missing here (see the has_*
 * bits; end has them all); when the UID comes after the body, the body is
 * spooled to an unlinked temporary file (not memory; in the options'
 * tmp_dir) and begin is called once the whole response is read, with
 * every field.  Fill *sink (all NULL on entry) to receive the body; leave
 * sink->fn NULL to skip it.  Return -1 with err to stop.
 */
typedef int (*mail_imap_body_begin_fn)(void *arg,
                                       const struct mail_imap_msg *m,
                                       struct mail_imap_body_sink *sink,
                                       struct mail_error *err);
/* Called after the message's whole FETCH response, with every field the
 * server sent; return -1 with err to stop. */
typedef int (*mail_imap_body_end_fn)(void *arg, const struct mail_imap_msg *m,
                                     struct mail_error *err);

struct mail_imap_fetch_opts {
    size_t batch;             /* UIDs per command; 0: 100 */
    const char *tmp_dir;      /* for the spool of a body that comes before
                                 its UID (mail_tmpfile); NULL: /tmp */
};

/*
 * UID FETCH uids (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[]) in
 * batches of o->batch UIDs, with up to 4 commands in flight (o may be
 * NULL: the defaults).  Each body goes into the sink begin supplies; end
 * follows.  Each UID is reported at most once (a server that sends one
 * twice is heard once).  A body whose FETCH response has no UID, or a UID
 * that was not asked for, is MAIL_ERR_PROTOCOL.  Tagged completions may
 * come in any order, and untagged responses (EXISTS, EXPUNGE, FETCH of
 * flags, OK [ALERT]) at any point.  Messages expunged meanwhile are simply
 * not reported.  A sink that fails gives the sink's own error (see struct
 * mail_imap_body_sink); a spool file that cannot be created or written,
 * its error (MAIL_ERR_CANTCREAT or MAIL_ERR_IO).  When the call fails
 * after a begin without its end, that body is incomplete: discard it.  A
 * NO to one batch is reported after the batches in flight are drained
 * (their messages are then not reported).
 */
int mail_imap_fetch_messages(struct mail_session *s, const uint32_t *uids,
                             size_t n, const struct mail_imap_fetch_opts *o,
                             mail_imap_body_begin_fn begin,
                             mail_imap_body_end_fn end, void *arg,
                             struct mail_error *err);

/* UID STORE uids +FLAGS.SILENT (add) and -FLAGS.SILENT (remove); flags
 * are MAIL_FLAG_* (SEEN ANSWERED FLAGGED DRAFT DELETED PASSED). */
int mail_imap_store_flags(struct mail_session *s, const uint32_t *uids,
                          size_t n, unsigned add, unsigned remove,
                          struct mail_error *err);

/* Delete exactly these messages: +FLAGS.SILENT (\Deleted), then UID
 * EXPUNGE (RFC 4315 UIDPLUS).  Without UIDPLUS it refuses
 * (MAIL_ERR_UNAVAIL) rather than EXPUNGE every \Deleted message. */
int mail_imap_expunge_uids(struct mail_session *s, const uint32_t *uids,
                           size_t n, struct mail_error *err);

/* Move messages to the mailbox `dest` (UTF-8): UID MOVE (RFC 6851) when
 * offered, else UID COPY + \Deleted + UID EXPUNGE (needs UIDPLUS;
 * refused with MAIL_ERR_UNAVAIL before anything is copied otherwise).
 * A missing destination ([TRYCREATE]) is MAIL_ERR_NOTFOUND. */
int mail_imap_move(struct mail_session *s, const uint32_t *uids, size_t n,
                   const char *dest, struct mail_error *err);
/* The same, and what the server's COPYUID (RFC 4315 UIDPLUS; in the
 * tagged OK of COPY, or an untagged OK during MOVE) said: the
 * destination's UIDVALIDITY into *uidvalidity (0: not said) and the new
 * UID of uids[i] into new_uids[i] (0: not said; new_uids has n places). */
int mail_imap_move_uids(struct mail_session *s, const uint32_t *uids,
                        size_t n, const char *dest, uint32_t *uidvalidity,
                        uint32_t *new_uids, struct mail_error *err);

/* Copy messages to the mailbox `dest` (UTF-8) with UID COPY (RFC 3501
 * 6.4.7: the server keeps their flags and internal dates); the source
 * is not changed and may be selected read-only.  *uidvalidity and
 * new_uids (either may be NULL) as for mail_imap_move_uids, from
 * COPYUID when the server has UIDPLUS (0 when it does not say).  A
 * missing destination ([TRYCREATE]) is MAIL_ERR_NOTFOUND. */
int mail_imap_copy_uids(struct mail_session *s, const uint32_t *uids,
                        size_t n, const char *dest, uint32_t *uidvalidity,
                        uint32_t *new_uids, struct mail_error *err);

/* ENABLE ext (RFC 5161), e.g. "CONDSTORE" or "QRESYNC".  Returns 1 when
 * the server enabled it, 0 when it does not offer ENABLE or ext, -1 on
 * error. */
int mail_imap_enable(struct mail_session *s, const char *ext,
                     struct mail_error *err);

/* NAMESPACE (RFC 2342): the first personal namespace, its prefix
 * (decoded to UTF-8, e.g. "" or "INBOX.") into prefix and its delimiter
 * into *delim.  Returns 1, or 0 when the server has no NAMESPACE or no
 * personal namespace (prefix "" and delim '\0'), or -1. */
int mail_imap_namespace(struct mail_session *s, struct mail_buf *prefix,
                        char *delim, struct mail_error *err);

/* ---- mailboxes: APPEND, CREATE, DELETE, RENAME, STATUS ---- */

/* Gives up to max bytes of the message (fewer is fine), 0 at its end, -1
 * with err. */
typedef ssize_t (*mail_imap_read_fn)(void *arg, char *buf, size_t max,
                                     struct mail_error *err);

/*
 * APPEND a message of exactly size bytes, read through rd, to mailbox
 * (UTF-8; a name from the last LIST that does not encode back to the
 * server's bytes is sent as those bytes), with flags (MAIL_FLAG_*) and
 * internaldate (0: the server's time).  The literal is non-synchronizing
 * ({N+}) when the server offers LITERAL+ (or LITERAL- and N <= 4096),
 * else the command waits for the server's "+" (a NO instead of it is
 * the refusal, and nothing is sent).  The bytes stream in 64 KiB pieces
 * (constant memory; the trace shows their count).  With UIDPLUS the
 * server's [APPENDUID v u] goes to *uidvalidity and *uid (either may be
 * NULL; 0 when the server did not say).  A missing mailbox ([TRYCREATE])
 * is MAIL_ERR_NOTFOUND, another NO MAIL_ERR_UNAVAIL.  When rd gives fewer
 * than size bytes the literal cannot be finished: MAIL_ERR_IO, and the
 * session must not be used again (as after every error but a NO/BAD).
 */
int mail_imap_append(struct mail_session *s, const char *mailbox,
                     unsigned flags, time_t internaldate, uint64_t size,
                     mail_imap_read_fn rd, void *rd_arg,
                     uint32_t *uidvalidity, uint32_t *uid,
                     struct mail_error *err);
/* The same for the bytes of fd from off to its end (pread: fd's offset
 * is not moved). */
int mail_imap_append_fd(struct mail_session *s, const char *mailbox,
                        unsigned flags, time_t internaldate, int fd,
                        off_t off, uint32_t *uidvalidity, uint32_t *uid,
                        struct mail_error *err);

/* CREATE, DELETE, RENAME of mailboxes by UTF-8 name (encoded as for
 * APPEND).  [ALREADYEXISTS] is MAIL_ERR_CANTCREAT, [NONEXISTENT] (and
 * [TRYCREATE]) MAIL_ERR_NOTFOUND; another NO: MAIL_ERR_CANTCREAT for
 * CREATE and RENAME, MAIL_ERR_UNAVAIL for DELETE.  The server's words are
 * in the message. */
int mail_imap_create(struct mail_session *s, const char *name,
                     struct mail_error *err);
int mail_imap_delete(struct mail_session *s, const char *name,
                     struct mail_error *err);
int mail_imap_rename(struct mail_session *s, const char *from,
                     const char *to, struct mail_error *err);

/* What STATUS (or LIST-STATUS) said of a mailbox. */
struct mail_imap_mbx_status {
    uint32_t messages, unseen, uidnext, uidvalidity;
    bool has_messages, has_unseen;      /* false: not known */
};

/* STATUS name (MESSAGES UNSEEN UIDNEXT UIDVALIDITY).  A NO is
 * MAIL_ERR_NOTFOUND. */
int mail_imap_status(struct mail_session *s, const char *name,
                     struct mail_imap_mbx_status *st, struct mail_error *err);

/*
 * The mailboxes with their counts: LIST "" "*" RETURN (SPECIAL-USE STATUS
 * (...)) when the server offers LIST-STATUS (RFC 5819), else the LIST of
 * mail_imap_list_counted and one STATUS per selectable mailbox.
 * *status (malloc'd, free()) is parallel to out->v; a \Noselect mailbox,
 * or one the server refused to count, has has_messages false.
 */
int mail_imap_list_status(struct mail_session *s,
                          struct mail_imap_mailboxes *out,
                          struct mail_imap_mbx_status **status, size_t *skipped,
                          struct mail_error *err);

/* UID SEARCH HEADER field "value" in the selected mailbox: the UIDs
 * (ascending) of the messages whose field contains value (value printable
 * ASCII, else MAIL_ERR_USAGE). */
int mail_imap_search_header(struct mail_session *s, const char *field,
                            const char *value, struct mail_imap_uids *out,
                            struct mail_error *err);

/* ---- helpers (also for the folder driver and mail fetch) ---- */

/* MAIL_FLAG_* from a LIST node of flag atoms (case-insensitive; unknown
 * keywords are ignored). */
unsigned mail_imap_flags_from_list(const struct mail_imap_node *list);
/* Append "\Seen \Flagged ..." for MAIL_FLAG_* (NEW is not a flag). */
int mail_imap_flags_format(struct mail_buf *b, unsigned flags);
/* Append a UID set "1:3,7" for uids (runs of consecutive UIDs in the
 * given order become ranges). */
int mail_imap_uid_set(struct mail_buf *b, const uint32_t *uids, size_t n);
/* A sequence set of numbers ("1:3,7,9:8"; no "*") into out (appended,
 * then sorted ascending without duplicates; out as after
 * mail_imap_uids_release to start).  More than max numbers, or a
 * malformed set, is MAIL_ERR_PROTOCOL; (imap_parse.c) */
int mail_imap_seqset_parse(const char *set, struct mail_imap_uids *out,
                           size_t max, struct mail_error *err);
/* An ESEARCH response (RFC 4731: "* ESEARCH (TAG "A5") UID ALL 1:3,5
 * COUNT 4"): *found is set when r is one, and the ALL set is returned
 * (NULL when the server matched nothing: ALL is then left out). */
/* The correlator of an ESEARCH response ("A5" of (TAG "A5")): the tag of
 * the command it answers (RFC 4731 3.1); NULL when it has none. */
const char *mail_imap_esearch_tag(const struct mail_imap_resp *r);
const char *mail_imap_esearch_all(const struct mail_imap_resp *r,
                                  bool *found);
/* "17-Jul-1996 02:44:25 -0700" (day may be space-padded) to time_t;
 * -1 when malformed. */
int mail_imap_parse_date(const char *s, time_t *t);
/* Append a mailbox name as a quoted modified UTF-7 string; -1 on bad
 * UTF-8 or when out cannot grow. */
int mail_imap_mailbox_arg(struct mail_buf *b, const char *utf8);

#pragma GCC visibility pop

#endif
