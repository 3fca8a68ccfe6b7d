/*
 * pop3.h - POP3 client (RFC 1939, 2449 CAPA, 2595 STLS, 5034 SASL).
 *
 * Call sequence: mail_pop3_open (greeting, CAPA, STLS, CAPA again),
 * mail_pop3_login, ... mail_pop3_quit.
 */
#ifndef MAIL_POP3_H
#define MAIL_POP3_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stdint.h>

#include "session.h"
#include "sink.h"

struct mail_session *mail_pop3_open(const struct mail_server *srv,
                                    struct mail_error *err);

/* SASL when the server lists SASL mechanisms in CAPA, else USER/PASS
 * (over TLS, or with tls = none-i-know), else APOP when the greeting has
 * a timestamp. */
int mail_pop3_login(struct mail_session *s, const char *secret,
                    struct mail_error *err);

/* Send a command that has a multi-line answer and collect its lines
 * (dot-unstuffed, '\n' between) into out, bounded by out's cap. */
int mail_pop3_multiline(struct mail_session *s, const char *cmd,
                        struct mail_reply *r, struct mail_buf *out,
                        struct mail_error *err);

void mail_pop3_quit(struct mail_session *s);

/* ---- the transaction state (after login) ----
 *
 * Conventions: every function blocks (each wait bounded by the session's
 * timeout).  Commands that name a message return 0 on +OK; 1 when the
 * server answered -ERR (err then names the server and command and quotes
 * the server; MAIL_ERR_TEMP for [IN-USE], [SYS/TEMP]...; the session can
 * go on); -1 on any other failure (connection, protocol, a sink that
 * stopped): the session is then out of step and must only be freed with
 * mail_session_free, not quit.  Everything the server sends is bounded:
 * lines MAIL_POP3_LINE_MAX, listings MAIL_POP3_MAX_MSGS entries, bodies
 * the caller's max (0: MAIL_POP3_BODY_MAX).
 */

#define MAIL_POP3_LINE_MAX 1024             /* listing lines (RFC: 512) */
#define MAIL_POP3_MAX_MSGS 10000000u        /* entries of LIST/UIDL */
#define MAIL_POP3_BODY_MAX ((uint64_t)2 << 30)  /* wire bytes of one body */
#define MAIL_POP3_UID_MAX 70                /* RFC 1939 7 */
#define MAIL_POP3_WINDOW 32                 /* commands in flight */

/* One message of the maildrop. */
struct mail_pop3_msg {
    unsigned msgno;                 /* 1.. */
    uint64_t size;                  /* octets, from LIST (0 if unknown) */
    char uid[MAIL_POP3_UID_MAX + 1];  /* from UIDL, "" if unknown */
    bool dup_uid;                   /* another message has the same uid */
};

/* The maildrop listing, ordered by msgno.  Owned by the caller:
 * mail_pop3_msgs_release frees it.  MAIL_POP3_MSGS_INIT or zeroed. */
struct mail_pop3_msgs {
    struct mail_pop3_msg *v;
    size_t n;
    size_t alloc;
};
#define MAIL_POP3_MSGS_INIT { NULL, 0, 0 }
void mail_pop3_msgs_release(struct mail_pop3_msgs *m);
/* The entry of msgno, or NULL. */
struct mail_pop3_msg *mail_pop3_msgs_find(const struct mail_pop3_msgs *m,
                                          unsigned msgno);

/* Parsers of one listing line ("msgno size", "msgno uid"; also the
 * text of "+OK count size" for STAT), for the fuzzer and the tests.
 * 0, or -1 when malformed (uid: 1-70 bytes in 0x21-0x7E). */
int mail_pop3_parse_list_line(const char *line, size_t len, unsigned *msgno,
                              uint64_t *size);
int mail_pop3_parse_uidl_line(const char *line, size_t len, unsigned *msgno,
                              char uid[MAIL_POP3_UID_MAX + 1]);

/* STAT: message count and total octets.  0, 1 (-ERR) or -1. */
int mail_pop3_stat(struct mail_session *s, unsigned *count, uint64_t *size,
                   struct mail_error *err);

/* LIST (all messages): adds or updates the entries of m with their sizes.
 * A malformed line, a msgno of 0 or a repeated msgno is MAIL_ERR_PROTOCOL.
 * 0, 1 (-ERR) or -1. */
int mail_pop3_list(struct mail_session *s, struct mail_pop3_msgs *m,
                   struct mail_error *err);

/* UIDL (all messages): adds or updates the entries of m with their uids.
 * A uid outside RFC 1939's rules is MAIL_ERR_PROTOCOL.  Messages that
 * share a uid get dup_uid set (a server bug: such messages cannot be told
 * apart between sessions); *ndup (may be NULL) counts them.  0, 1 (-ERR:
 * the server has no UIDL) or -1. */
int mail_pop3_uidl(struct mail_session *s, struct mail_pop3_msgs *m,
                   size_t *ndup, struct mail_error *err);

/* RETR msgno: the message, dot-unstuffed, to sink (lf: CRLF -> LF), in
 * pieces of at most 8 KiB, never held whole.  max: wire bytes allowed
 * (0: MAIL_POP3_BODY_MAX); beyond it MAIL_ERR_PROTOCOL.  The sink is
 * given err; one that returns -1 makes this return -1 with err as the
 * sink set it.  0, 1 (-ERR) or -1. */
int mail_pop3_retr(struct mail_session *s, unsigned msgno, uint64_t max,
                   bool lf, mail_sink_fn sink, void *ctx,
                   struct mail_error *err);

/* TOP msgno lines: the header and the first `lines` lines of the body
 * (for a look at oversized messages), as mail_pop3_retr. */
int mail_pop3_top(struct mail_session *s, unsigned msgno, unsigned lines,
                  uint64_t max, bool lf, mail_sink_fn sink, void *ctx,
                  struct mail_error *err);

/* DELE msgno (done at QUIT; RSET undoes), NOOP, RSET.  0, 1 (-ERR), -1. */
int mail_pop3_dele(struct mail_session *s, unsigned msgno,
                   struct mail_error *err);
int mail_pop3_noop(struct mail_session *s, struct mail_error *err);
int mail_pop3_rset(struct mail_session *s, struct mail_error *err);

/* Is PIPELINING offered (RFC 2449)?  Without it the *_many functions send
 * one command at a time. */
bool mail_pop3_can_pipeline(const struct mail_session *s);

/*
 * What mail_pop3_retr_many does with each message, in order.  begin: the
 * server said +OK; set *sink and *sink_ctx for the body (return -1 with
 * err to abort).  end: the body is complete (refused NULL), or the server
 * answered -ERR (refused: its reply; err holds the error already written
 * as mail_pop3_retr would); return 0 to go on, -1 (with err) to abort.
 * i is the index in msgs.
 */
struct mail_pop3_retr_ops {
    int (*begin)(void *ctx, size_t i, mail_sink_fn *sink, void **sink_ctx,
                 struct mail_error *err);
    int (*end)(void *ctx, size_t i, const struct mail_reply *refused,
               struct mail_error *err);
};

/*
 * RETR msgs[0..n) with up to MAIL_POP3_WINDOW commands in flight when the
 * server offers PIPELINING (a bounded window: the server never has more
 * than that many replies to send ahead, so neither side's TCP buffers can
 * fill up and deadlock).  Each body's bound is twice its LIST size plus
 * 64 KiB, or MAIL_POP3_BODY_MAX when the size is 0.  0, or -1 with err
 * (from the connection, the decoder or a callback): the session is then
 * out of step (free it).
 */
int mail_pop3_retr_many(struct mail_session *s,
                        const struct mail_pop3_msg *msgs, size_t n, bool lf,
                        const struct mail_pop3_retr_ops *ops, void *ctx,
                        struct mail_error *err);

/*
 * DELE msgnos[0..n), pipelined the same way.  Every reply is read; 0 when
 * all were +OK, 1 when some were refused (their number in *refused, may be
 * NULL; err describes the first), -1 on a connection failure.
 */
int mail_pop3_dele_many(struct mail_session *s, const unsigned *msgnos,
                        size_t n, size_t *refused, struct mail_error *err);

#pragma GCC visibility pop

#endif
