/*
 * queue.h - the outgoing queue: messages kept until a server takes them.
 *
 * A queue is a directory ($XDG_DATA_HOME/mail/queue by default) with one
 * file per message and tmp/ and failed/ beside them.  A file holds a short
 * envelope, then the message as it will be sent:
 *
 *     mail-queue 1
 *     account work
 *     from alice@example.com
 *     rcpt bob@example.org
 *     rcpt carol@example.net
 *     sent-copy yes
 *     bcc Bcc: dave@example.com
 *
 *     <the message>
 *
 * "sent-copy yes" (mail_queue_add_sent): the flush that sends it files
 * its copy in the sent folder, with the "bcc" lines (the Bcc fields, one
 * line each) at its top, and collects its recipients in the address
 * book, as a send does; without it (a file of an older version, or the
 * recipients left over from a message delivered to the others, whose
 * copy was filed then) neither.
 *
 * Adding is atomic and durable: written in tmp/, fsynced, renamed into
 * the queue, the directory fsynced.  A message being sent is locked
 * (flock) so that two flushes never send it twice; it is removed only
 * after the server's 250 to DATA (the caller decides: mail_queue_done).
 * A message that can never be sent (refused permanently) is moved to
 * failed/, never deleted; one whose delivery is unknown goes to held/.
 */
#ifndef MAIL_QUEUE_H
#define MAIL_QUEUE_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "error.h"
#include "paths.h"

/* $XDG_DATA_HOME/mail/queue, else $HOME/.local/share/mail/queue;
 * malloc'd.  NULL with err (MAIL_ERR_CONFIG) when there is no HOME. */
char *mail_queue_default_dir(const struct mail_paths *paths,
                             struct mail_error *err);

/*
 * Add the message in fd (from offset to its end) with its envelope.  The
 * directory is created (0700) when missing.  *id (may be NULL) gets the
 * file name (malloc'd).  MAIL_ERR_CANTCREAT or MAIL_ERR_IO; nothing is
 * left behind on failure.
 */
int mail_queue_add(const char *dir, const char *account, const char *from,
                   const char *const *rcpts, size_t nrcpts, int fd,
                   off_t offset, char **id, struct mail_error *err);
/* The same, marked for a Sent copy (sent_copy) with the Bcc fields in
 * bcc (may be NULL) at its top; see above. */
int mail_queue_add_sent(const char *dir, const char *account,
                        const char *from, const char *const *rcpts,
                        size_t nrcpts, bool sent_copy,
                        const struct mail_buf *bcc, int fd, off_t offset,
                        char **id, struct mail_error *err);

/* The names of the queued messages, oldest first (names sort by time).
 * *names is a malloc'd array of malloc'd strings; free with
 * mail_queue_names_free.  A missing directory is an empty queue. */
int mail_queue_list(const char *dir, char ***names, size_t *n,
                    struct mail_error *err);
void mail_queue_names_free(char **names, size_t n);

struct mail_queue_entry {
    char *path;
    char *name;
    char *account;        /* "" when none was recorded */
    char *from;
    char **rcpts;
    size_t nrcpts;
    int fd;               /* open and locked */
    off_t offset;         /* where the message starts in fd */
    bool sent_copy;       /* "sent-copy yes": file a copy once sent */
    struct mail_buf bcc;  /* the "bcc" lines, each ending in \n */
};

/*
 * Open and lock one queued message.  Returns 0 when e is filled, 1 when
 * the message is not there any more or another process is sending it
 * (skip it), -1 with err (MAIL_ERR_DATA for a damaged file, which is
 * moved to failed/).
 */
int mail_queue_open(const char *dir, const char *name,
                    struct mail_queue_entry *e, struct mail_error *err);

/* The server took it: remove it (and fsync the directory).  Releases e. */
int mail_queue_done(struct mail_queue_entry *e, struct mail_error *err);
/* It can never be sent: move it to failed/.  Releases e. */
int mail_queue_fail(struct mail_queue_entry *e, struct mail_error *err);
/*
 * Held messages (DIR/held/, same file format): the server may or may not
 * have delivered them (no reply after the end of the message), so no
 * flush sends them again by itself.  To send one anyway, move it back
 * into DIR.  mail_queue_hold moves a queued entry there (releases e);
 * mail_queue_add_held adds a new one.  *path (may be NULL) gets the held
 * file's path, malloc'd.
 */
int mail_queue_hold(struct mail_queue_entry *e, char **path,
                    struct mail_error *err);
int mail_queue_add_held(const char *dir, const char *account,
                        const char *from, const char *const *rcpts,
                        size_t nrcpts, int fd, off_t offset, char **path,
                        struct mail_error *err);
/* Unlock and free (the message stays queued). */
void mail_queue_entry_release(struct mail_queue_entry *e);

#pragma GCC visibility pop

#endif
