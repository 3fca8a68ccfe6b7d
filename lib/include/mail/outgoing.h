/*
 * outgoing.h - the pieces of sending a message that are not SMTP:
 * spooling input to unlinked temporary files (memory does not grow with
 * the message), the sender addresses of an account, and the copy in the
 * sent folder.  `mail send` (cmd/send.c) strings them together.
 */
#ifndef MAIL_OUTGOING_H
#define MAIL_OUTGOING_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <sys/types.h>

#include "buf.h"
#include "config.h"
#include "error.h"
#include "paths.h"

/* An unlinked temporary file in paths' temporary directory (else /tmp),
 * read-write.  MAIL_ERR_CANTCREAT. */
int mail_spool_tmpfile(const struct mail_paths *paths,
                       struct mail_error *err);

/* A sink (sink.h) that writes to a file descriptor; error gets the errno
 * of the first failure. */
struct mail_fd_sink {
    int fd;
    int error;
};
int mail_fd_sink_write(void *ctx, const char *data, size_t len);
/* After a library call failed with "cannot write": name the cause
 * (MAIL_ERR_IO "temporary file: ...") when the sink failed. */
void mail_fd_sink_explain(const struct mail_fd_sink *s,
                          struct mail_error *err);

/* Copy in (to its end) to a new temporary file (*out).  dots: a line
 * with a single "." ends the input (sendmail without -i). */
int mail_spool_fd(const struct mail_paths *paths, int in, bool dots,
                  int *out, struct mail_error *err);

/* The envelope sender: opt_from (-f), else the account's address, else
 * msg_from (the From of a message given whole); *out malloc'd addr-spec.
 * MAIL_ERR_CONFIG when there is none, MAIL_ERR_USAGE when it is bad. */
int mail_envelope_from(const char *opt_from, const struct mail_account *a,
                       const char *msg_from, char **out,
                       struct mail_error *err);

/* The From header of a composed message: opt_from, with name as the
 * display name when opt_from is a bare address; else the account's
 * address; nothing when neither.  -1 when opt_from is not an address. */
int mail_header_from(const char *opt_from, const char *name,
                     const struct mail_account *a, struct mail_buf *out);

/*
 * Append the message in fd (from offset 0) to the account's sent-folder
 * (a path when it starts with / or ~, else a folder of the store),
 * flagged seen, with the Bcc fields in bcc (may be NULL) at its top.  0
 * when there is no sent-folder.  -1 with err and *where (malloc'd: the
 * folder's path or name) otherwise.
 */
int mail_sent_save(const struct mail_account *a, int fd,
                   const struct mail_buf *bcc, char **where,
                   struct mail_error *err);

/*
 * Whether err says the connection to the server was lost (closed by the
 * server, reset, broken pipe, or a TLS stream cut without close_notify)
 * rather than refused or answered with an error: the one place that
 * tells them apart, as a dropped connection in the middle of a
 * transaction is temporary and may leave the outcome unknown.
 */
bool mail_error_connection_lost(const struct mail_error *err);

#pragma GCC visibility pop

#endif
