/*
 * conn.h - one connection to a server: TCP, TLS, buffered line I/O.
 *
 * Blocking from the caller's view, with every wait bounded by the timeout
 * through poll(2).  Reads are buffered (lines and exact byte counts); writes
 * are buffered until mail_conn_flush, so that a protocol can pipeline
 * several commands in one packet (TCP_NODELAY is set: the flush is the
 * batching).  TLS is OpenSSL, TLS >= 1.2, certificate chain and host name
 * verified against the system store (or tls-ca-file), or a SHA-256 pin.
 *
 * Error kinds: MAIL_ERR_HOST (name not found), MAIL_ERR_UNAVAIL (refused,
 * unreachable, closed), MAIL_ERR_TEMP (timeout), MAIL_ERR_TLS (handshake or
 * certificate), MAIL_ERR_PROTOCOL (line too long, bytes after STARTTLS).
 * Messages start with "host:port: ".
 */
#ifndef MAIL_CONN_H
#define MAIL_CONN_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "server.h"
#include "error.h"

/* Trace hook for -v.  dir: '<' from the server, '>' to the server,
 * '*' a note from the library (TLS established, ...).  data is one line
 * without CRLF (or a note); it never contains a credential: protocols send
 * those with mail_conn_write_masked. */
typedef void (*mail_trace_fn)(void *arg, char dir, const char *data,
                              size_t len);

/*
 * A deadline the caller owns and may move (a progress clock): every wait
 * of a connection given it is bounded by min(timeout, at_ms), and once
 * at_ms has passed every read and wait fails with MAIL_ERR_TEMP
 * "HOST:PORT: deadline passed (WHAT)".  at_ms is mail_monotonic_ms()
 * time; 0: no deadline.  No thread, no signal: the connection looks at it
 * before each read and wait.
 */
struct mail_deadline {
    long long at_ms;
    const char *what;           /* for the error, or NULL */
};
/* CLOCK_MONOTONIC in milliseconds. */
long long mail_monotonic_ms(void);

struct mail_conn_opts {
    const char *host;
    unsigned port;
    enum mail_tls tls;          /* IMPLICIT: handshake in open */
    int timeout;                /* seconds for connect and each wait */
    const struct mail_deadline *deadline;   /* NULL: none */
    const char *ca_file;        /* NULL: system store */
    const char *fingerprint;    /* NULL, or 64 lowercase hex (SHA-256) */
    mail_trace_fn trace;
    void *trace_arg;
};

struct mail_tls_info {
    char version[32];           /* "TLSv1.3" */
    char cipher[128];
    char subject[512];          /* RFC 2253 form */
    char issuer[512];
    char not_before[32];        /* "2026-11-22T03:28:30Z" */
    char not_after[32];
    char sha256[65];            /* lowercase hex */
    char verified[64];          /* "chain and host name" / "fingerprint" */
};

struct mail_conn;

/* Resolve, connect (each address in turn), and for MAIL_TLS_IMPLICIT do
 * the TLS handshake.  NULL with err on failure. */
struct mail_conn *mail_conn_open(const struct mail_conn_opts *opts,
                                 struct mail_error *err);

/* Upgrade to TLS (after the server's go-ahead to STARTTLS/STLS).  Fails
 * with MAIL_ERR_PROTOCOL if the server already sent bytes after its
 * go-ahead: they would have been injected before encryption. */
int mail_conn_start_tls(struct mail_conn *c, struct mail_error *err);

bool mail_conn_is_tls(const struct mail_conn *c);
/* Fill info about the TLS session; -1 when not TLS. */
int mail_conn_tls_info(const struct mail_conn *c, struct mail_tls_info *info);
/* "host:port" for messages. */
const char *mail_conn_name(const struct mail_conn *c);
const char *mail_conn_host(const struct mail_conn *c);

/*
 * Read one line.  *line points into the connection's buffer and stays
 * valid until the next read call; the CRLF (or bare LF) is removed and a
 * NUL added.  A line longer than max bytes is MAIL_ERR_PROTOCOL.  End of
 * stream is MAIL_ERR_UNAVAIL "connection closed by the server".
 */
int mail_conn_read_line(struct mail_conn *c, char **line, size_t *len,
                        size_t max, struct mail_error *err);

/* Read exactly n bytes into buf. */
int mail_conn_read_exact(struct mail_conn *c, void *buf, size_t n,
                         struct mail_error *err);

/* Read between 1 and max bytes (buffered bytes first).  Returns the count,
 * or -1 with err (end of stream is an error). */
ssize_t mail_conn_read_some(struct mail_conn *c, void *buf, size_t max,
                            struct mail_error *err);

/* Zero-copy reading for streamed bodies: make at least one unread byte
 * available (waiting for the server only when none is buffered) and point
 * *data at all the buffered unread bytes, without consuming them.  Returns
 * their count, or -1 with err (end of stream is an error).  *data stays
 * valid until the next read call.  mail_conn_consume then marks the first
 * n of them as read (at most what mail_conn_peek showed). */
ssize_t mail_conn_peek(struct mail_conn *c, const char **data,
                       struct mail_error *err);
void mail_conn_consume(struct mail_conn *c, size_t n);

/* Bytes received and not yet consumed. */
size_t mail_conn_pending(const struct mail_conn *c);

/* Queue bytes for sending; flushes by itself when the buffer fills.
 * Traced line by line. */
int mail_conn_write(struct mail_conn *c, const void *data, size_t len,
                    struct mail_error *err);
int mail_conn_printf(struct mail_conn *c, struct mail_error *err,
                     const char *fmt, ...) MAIL_PRINTF(3, 4);
/* Like mail_conn_write, but the trace shows only the first `shown` bytes
 * followed by "<credentials hidden>". */
int mail_conn_write_masked(struct mail_conn *c, const void *data, size_t len,
                           size_t shown, struct mail_error *err);
/* Queue bytes without tracing them (message bodies: traced as a count). */
int mail_conn_write_quiet(struct mail_conn *c, const void *data, size_t len,
                          struct mail_error *err);
/* Send everything queued. */
int mail_conn_flush(struct mail_conn *c, struct mail_error *err);

/* The timeout of each wait from now on, in seconds (> 0; the value from
 * mail_conn_opts until changed), and the current one.  A protocol sets it
 * around a command whose reply may take longer than the connection's
 * timeout (SMTP's final dot: RFC 5321 4.5.3.2.6) and puts it back after. */
void mail_conn_set_timeout(struct mail_conn *c, int seconds);
int mail_conn_timeout(const struct mail_conn *c);
/* Bound every wait by d from now on (NULL: no deadline); d is read, not
 * copied, so the caller moves the deadline by changing d->at_ms. */
void mail_conn_set_deadline(struct mail_conn *c,
                            const struct mail_deadline *d);

/* Emit a '*' note through the trace hook, if any. */
void mail_conn_note(struct mail_conn *c, const char *fmt, ...)
    MAIL_PRINTF(2, 3);

/* From another thread: make every read and write of c, the one waiting
 * now included, fail at once as a lost connection (shutdown(2) of the
 * socket; c itself is left to its own thread, which closes it). */
void mail_conn_abort(struct mail_conn *c);

/* Close (TLS close_notify is attempted, not waited for) and free. */
void mail_conn_close(struct mail_conn *c);

#pragma GCC visibility pop

#endif
