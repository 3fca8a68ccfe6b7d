/*
 * smtp.h - SMTP submission client (RFC 5321, 6409, 3207, 4954, 2920
 * PIPELINING, 1870 SIZE, 6152 8BITMIME, 6531 SMTPUTF8, 2034 enhanced
 * status codes).
 *
 * Call sequence: mail_smtp_open (greeting, EHLO, STARTTLS, EHLO again),
 * mail_smtp_login, then for each message mail_smtp_envelope (MAIL, RCPT...,
 * DATA, pipelined) and mail_smtp_data_write... mail_smtp_data_end (the
 * message, dot-stuffed, line ends made CRLF), mail_smtp_rset between
 * messages when one failed, and finally mail_smtp_quit.
 *
 * Everything blocks, each wait bounded: connecting, the greeting, EHLO,
 * STARTTLS and AUTH by the server's timeout; the transaction by RFC 5321
 * 4.5.3.2's timeouts or the server's when longer (MAIL and RCPT 5 min,
 * each block of data 3 min, the reply to the final dot 10 min).  The
 * message bytes are streamed: nothing here holds a message in memory.
 */
#ifndef MAIL_SMTP_H
#define MAIL_SMTP_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "session.h"
#include "sink.h"

/* Connect, read the greeting, EHLO (HELO if EHLO is refused and TLS is
 * implicit or off), STARTTLS when srv->tls is MAIL_TLS_STARTTLS (a server
 * that does not offer it is MAIL_ERR_TLS: never a silent downgrade), then
 * EHLO again with the capabilities learnt afresh.  ehlo_name NULL: the
 * local host name. */
struct mail_session *mail_smtp_open(const struct mail_server *srv,
                                    const char *ehlo_name,
                                    struct mail_error *err);

/* AUTH with the strongest common mechanism.  A server that offers no AUTH
 * at all is not an error when secret is NULL (nothing to log in with). */
int mail_smtp_login(struct mail_session *s, const char *secret,
                    struct mail_error *err);

/* The SIZE the server announced (RFC 1870): 0 when it has no fixed
 * limit or does not offer SIZE. */
uint64_t mail_smtp_size_limit(const struct mail_session *s);

/* One recipient of an envelope and what the server said about it. */
struct mail_smtp_rcpt {
    const char *addr;     /* in: the addr-spec, without angle brackets */
    /* out, filled by mail_smtp_envelope: */
    bool accepted;        /* 2xx to RCPT */
    bool temporary;       /* refused with 4xx: try again later */
    int code;             /* the reply code, 0 when never answered */
    char reply[256];      /* the server's reply, terminal-safe, one line,
                             shortened ("550 5.1.1 <x@y>: Recipient
                             address rejected: ..."); "" when accepted */
};

struct mail_smtp_envelope {
    const char *from;     /* reverse-path addr-spec; "" for <> */
    struct mail_smtp_rcpt *rcpts;
    size_t nrcpts;
    uint64_t size;        /* octets as sent (CRLF line ends, before dot-
                             stuffing), for SIZE=; 0: unknown, not sent */
    bool body_8bit;       /* BODY=8BITMIME: needs the extension */
    bool smtputf8;        /* SMTPUTF8: needs the extension */
};

/*
 * Start a message: MAIL FROM, one RCPT TO per recipient and DATA, all in
 * one flight when the server offers PIPELINING (in a window of at most
 * 100 commands, so the TCP buffers cannot deadlock), else one by one.
 * Before anything is sent: a message larger than the server's SIZE fails
 * (MAIL_ERR_UNAVAIL, naming both sizes), as does BODY=8BITMIME or
 * SMTPUTF8 asked of a server that does not offer them (MAIL_ERR_DATA: the
 * caller should have re-encoded), and an address with control characters
 * or blanks (MAIL_ERR_USAGE: it would inject a command).
 *
 * Each recipient's result is stored in env->rcpts[i].  Returns 0 when the
 * server accepted the sender, at least one recipient, and said 354 to
 * DATA: the caller must then send the message with mail_smtp_data_write
 * and mail_smtp_data_end (the refused recipients do not get it).  Returns
 * -1 with err otherwise, with the transaction reset (RSET) so that the
 * session can carry another message: MAIL_ERR_RECIPIENT when every
 * recipient was refused and at least one permanently, MAIL_ERR_TEMP when
 * every refusal was temporary (or MAIL FROM or DATA got a 4xx),
 * MAIL_ERR_UNAVAIL when MAIL FROM or DATA was refused with 5xx; errors
 * of the connection are returned as they come (conn.h).
 */
int mail_smtp_envelope(struct mail_session *s, struct mail_smtp_envelope *env,
                       struct mail_error *err);

/*
 * The SMTP data transformation as a streaming filter (RFC 5321 4.5.2,
 * 2.3.8): every line end becomes CRLF (a bare LF and a bare CR each
 * become CRLF, so no bare CR or LF is ever sent: the SMTP smuggling
 * shapes cannot form), a '.' at the start of a line is doubled, and the
 * end adds a CRLF when the text did not end with a line break, then
 * ".\r\n".  Lines of any length stream through: output goes to sink in
 * pieces of at most 8 KiB.
 * Exposed for the unit tests; mail_smtp_data_* use it.
 */
struct mail_smtp_stuffer {
    mail_sink_fn sink;
    void *ctx;
    int state;            /* private from here on */
    uint64_t in_bytes;
    size_t outlen;
    char out[8192];
};

void mail_smtp_stuffer_init(struct mail_smtp_stuffer *st, mail_sink_fn sink,
                            void *ctx);
/* err goes to the sink; -1 when the sink returned -1 (err as the sink
 * set it). */
int mail_smtp_stuff(struct mail_smtp_stuffer *st, const char *data,
                    size_t len, struct mail_error *err);
int mail_smtp_stuff_end(struct mail_smtp_stuffer *st, struct mail_error *err);

/* A message in transit over a session, after mail_smtp_envelope. */
struct mail_smtp_data {
    struct mail_session *s;
    struct mail_smtp_stuffer st;
    /* Set by mail_smtp_data_end when the whole message went out but no
     * reply to the final dot came (timeout, connection dropped): the
     * server may or may not have taken the message.  Sending it again
     * may deliver it twice; the caller should keep it and tell the user. */
    bool outcome_unknown;
    /* Seconds to wait for the reply to the final dot: mail_smtp_data_begin
     * sets 600 (RFC 5321 4.5.3.2.6); the server's timeout when that is
     * longer.  A caller may lower it (the tests do). */
    int dot_timeout;
};

void mail_smtp_data_begin(struct mail_smtp_data *d, struct mail_session *s);
/* Queue message bytes (any chunking; line ends LF or CRLF).  -1 with err
 * on a connection error. */
int mail_smtp_data_write(struct mail_smtp_data *d, const char *data,
                         size_t len, struct mail_error *err);
/* Send the whole of fd from offset to its end (pread: the file position
 * is not used).  -1 with err (MAIL_ERR_IO when reading fails). */
int mail_smtp_data_write_fd(struct mail_smtp_data *d, int fd, off_t offset,
                            struct mail_error *err);
/*
 * End the message (CRLF.CRLF), flush and read the server's verdict.
 * Returns 0 on 250: the message is the server's responsibility from now
 * on; reply (may be NULL) then gets the server's text ("2.0.0 Ok: queued
 * as 4Xy..."), terminal-safe.  -1 with err otherwise: MAIL_ERR_TEMP for
 * a 4xx, MAIL_ERR_UNAVAIL for a 5xx (the message was refused), or the
 * connection's error.  When the message was sent but no reply to the
 * final dot arrived (timeout, connection closed), d->outcome_unknown is
 * set and err is MAIL_ERR_TEMP "HOST:PORT: no reply after the end of the
 * message: it may or may not have been delivered".
 */
int mail_smtp_data_end(struct mail_smtp_data *d, struct mail_buf *reply,
                       struct mail_error *err);

/* RSET: abort the transaction in progress.  -1 with err when the server
 * does not answer 250. */
int mail_smtp_rset(struct mail_session *s, struct mail_error *err);

/* QUIT, wait for the reply (bounded by the timeout), close, free. */
void mail_smtp_quit(struct mail_session *s);

#pragma GCC visibility pop

#endif
