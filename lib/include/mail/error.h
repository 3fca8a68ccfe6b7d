/*
 * error.h - the one error type of libmail.
 *
 * Every fallible libmail function takes a `struct mail_error *` and, on
 * failure, fills it with a kind and a one-line message that names what
 * failed ("smtp.example.com:587: STARTTLS not offered by the server") and
 * returns -1 (or NULL).  The library never prints and never exits; cmd/ maps
 * the kind to a sysexits(3) code once (mail_error_exit_code) and prints
 * "mail: <msg>".
 */
#ifndef MAIL_ERROR_H
#define MAIL_ERROR_H

#pragma GCC visibility push(default)

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum mail_error_kind {
    MAIL_OK = 0,
    MAIL_ERR_USAGE,      /* bad command line: 64 */
    MAIL_ERR_DATA,       /* bad message data: 65 */
    MAIL_ERR_NOTFOUND,   /* no such folder or message: 66 */
    MAIL_ERR_RECIPIENT,  /* recipient refused permanently: 67 */
    MAIL_ERR_HOST,       /* host name not found: 68 */
    MAIL_ERR_UNAVAIL,    /* refused connection, server said no: 69 */
    MAIL_ERR_TLS,        /* TLS handshake or certificate failed: 69 */
    MAIL_ERR_INTERNAL,   /* a bug or out of memory: 70 */
    MAIL_ERR_CANTCREAT,  /* cannot create output: 73 */
    MAIL_ERR_IO,         /* local I/O error: 74 */
    MAIL_ERR_TEMP,       /* temporary failure (4xx, timeout, lock): 75 */
    MAIL_ERR_PROTOCOL,   /* the server broke the protocol: 76 */
    MAIL_ERR_AUTH,       /* authentication or permission refused: 77 */
    MAIL_ERR_CONFIG,     /* configuration error: 78 */
};

#define MAIL_ERROR_MSG_MAX 1024

struct mail_error {
    enum mail_error_kind kind;
    /*
     * The connection to the peer was lost: closed by it (EOF, also in the
     * middle of a reply), reset, a broken pipe, or a TLS stream cut
     * without close_notify.  Set by the connection layer (net/conn.c)
     * next to the kind, which stays what it was (MAIL_ERR_UNAVAIL or
     * MAIL_ERR_TLS); a timeout or a passed deadline is not a loss.
     * mail_error_clear and a new mail_error_set clear it;
     * mail_error_prefix and copies of the struct keep it.
     */
    bool conn_lost;
    char msg[MAIL_ERROR_MSG_MAX];
};

#if defined(__GNUC__)
#define MAIL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define MAIL_PRINTF(f, a)
#endif

/* Clear an error to MAIL_OK with an empty message (and no conn_lost). */
void mail_error_clear(struct mail_error *err);

/*
 * Set kind and message (conn_lost cleared: a new error); always returns -1 so that callers can write
 * `return mail_error_set(err, MAIL_ERR_IO, "%s: %s", path, strerror(errno));`.
 * err may be NULL (the error is then dropped).  The message is truncated
 * (never overflowed) at MAIL_ERROR_MSG_MAX - 1 bytes.
 */
int mail_error_set(struct mail_error *err, enum mail_error_kind kind,
                   const char *fmt, ...) MAIL_PRINTF(3, 4);
int mail_error_setv(struct mail_error *err, enum mail_error_kind kind,
                    const char *fmt, va_list ap) MAIL_PRINTF(3, 0);

/* Prepend "prefix: " to the message, keeping the kind and conn_lost.
 * Returns -1. */
int mail_error_prefix(struct mail_error *err, const char *fmt, ...)
    MAIL_PRINTF(2, 3);

/* The sysexits(3) code for a kind (0 for MAIL_OK). */
int mail_error_exit_code(enum mail_error_kind kind);

/* A short English name of a kind ("tls", "auth", ...), for --json. */
const char *mail_error_kind_name(enum mail_error_kind kind);

#pragma GCC visibility pop

#endif
