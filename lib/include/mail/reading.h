/*
 * reading.h - a message of a folder read for a person or a program, and
 * one of its parts written out: what `mail read` (its text, --part,
 * --save) and the reader (its pager, v: save, pipe, open with the
 * mailcap entry) share, so that each is written once.
 *
 *     struct mail_reading m = MAIL_READING_INIT;
 *     mail_reading_open(f, e, MAIL_FOLDER_READ_PART, "2", "3", &m, &err);
 *     p = mail_reading_part(&m, "2", "3", &err);
 *     mail_reading_save_part(&m, p, "~/Downloads", &name, &err);
 *     mail_reading_release(&m);
 */
#ifndef MAIL_READING_H
#define MAIL_READING_H

#pragma GCC visibility push(default)

#include "buf.h"
#include "error.h"
#include "folder.h"
#include "mime.h"
#include "render.h"

struct mail_reading {
    int fd;                        /* reads the message (or the IMAP
                                      driver's reading copy) from 0 */
    struct mail_mime *mime;        /* its parse; NULL for READ_ALL */
    struct mail_part_sizes sizes;  /* bodies the reading copy left out */
};
#define MAIL_READING_INIT { -1, NULL, MAIL_PART_SIZES_INIT }

/*
 * Message e of f read for `what` (mail_folder_message_read: an IMAP
 * message brings only the bodies needed; part for READ_PART) into m and,
 * unless what is MAIL_FOLDER_READ_ALL (the bytes only, for --raw),
 * parsed (mail_render_parse).  label names the message in errors
 * ("message LABEL: ...").  0, or -1 with err and m released.
 */
int mail_reading_open(struct mail_folder *f, const struct mail_envelope *e,
                      int what, const char *part, const char *label,
                      struct mail_reading *m, struct mail_error *err);
/* The same for a message file read by fd from offset 0 (taken: released
 * with m). */
int mail_reading_open_fd(int fd, const char *label, struct mail_reading *m,
                         struct mail_error *err);
void mail_reading_release(struct mail_reading *m);

/*
 * A message file outside any folder into m: path, or "-" for standard
 * input.  A pipe (or standard input) is copied to an unlinked temporary
 * file in tmpdir (NULL: /tmp) first, so that parts can be read again at
 * any offset.  Parsed unless parse is false (--raw: the bytes only).
 * label names it in errors of the copy and the parse.  Returns 0; 1
 * when path is a directory (a folder, not a message: nothing opened);
 * or -1 with err (a missing file MAIL_ERR_NOTFOUND "PATH: strerror",
 * else MAIL_ERR_IO) and m released.
 */
int mail_reading_open_file(const char *path, const char *label,
                           const char *tmpdir, bool parse,
                           struct mail_reading *m, struct mail_error *err);

/* The envelope of a parsed message file (mail_reading_open_file) from
 * its header: date, from, to, cc, subject, message-id (borrowed from m:
 * valid while m is), size from the file, path as given; no flags. */
void mail_reading_file_envelope(const struct mail_reading *m,
                                const char *path, struct mail_envelope *e);

/* Seen once shown: add \Seen to e when it is unread or still new (the
 * commands' read and the reader's pager).  0 (also when nothing was to
 * be done), or -1 with err. */
int mail_reading_mark_seen(struct mail_folder *f, struct mail_envelope *e,
                           struct mail_error *err);

/* Part `number` (IMAP-style, "1.2") of the parsed message, or NULL with
 * MAIL_ERR_NOTFOUND "message LABEL has no part NUMBER". */
const struct mail_part *mail_reading_part(const struct mail_reading *m,
                                          const char *number,
                                          const char *label,
                                          struct mail_error *err);

/*
 * Part p decoded into `path`: a directory gets it under a safe new name
 * made from the part's (mail_render_save_part: *saved gets that name);
 * any other path is created as that file, never replacing one (*saved
 * NULL).  A failed write leaves no file behind.  0, or -1 with err
 * (MAIL_ERR_CANTCREAT when the file cannot be made).
 */
int mail_reading_save_part(const struct mail_reading *m,
                           const struct mail_part *p, const char *path,
                           char **saved, struct mail_error *err);

/* Part p decoded into a new unlinked temporary file in tmpdir (NULL:
 * /tmp): *fd reads it from offset 0 (the caller closes it). */
int mail_reading_part_temp(const struct mail_reading *m,
                           const struct mail_part *p, const char *tmpdir,
                           int *fd, struct mail_error *err);

/*
 * Part p opened with its mailcap entry (mail_render_mailcap_find on the
 * search path mailcaps, test= commands limited to timeout seconds), as
 * mutt does: the part is written decoded to a new temporary file in
 * tmpdir whose name ends in the file name's extension when it is short
 * and plain (some viewers go by it), else ".part".  An entry with
 * copiousoutput is run here, without the terminal (mail_render_mailcap_
 * output): v->output gets what it printed, terminal-safe, and the file
 * is gone.  Any other: v->command is the shell command the caller runs
 * with the terminal, which removes the file however it ends
 * (mail_render_mailcap_shell), and v->fd reads the file (release closes
 * it, or the caller takes it and sets it to -1).  No entry for the type: MAIL_ERR_NOTFOUND
 * "no mailcap entry for TYPE".  0, or -1 with err and no file left.
 */
struct mail_part_view {
    char *command;              /* malloc'd, or NULL */
    int fd;                     /* with command: the file, read from 0,
                                   for the command's standard input */
    struct mail_buf output;     /* copiousoutput */
    bool copious;
};
#define MAIL_PART_VIEW_INIT { NULL, -1, MAIL_BUF_INIT, false }
int mail_reading_part_view(const struct mail_reading *m,
                           const struct mail_part *p, const char *mailcaps,
                           unsigned timeout, const char *tmpdir,
                           struct mail_part_view *v, struct mail_error *err);
void mail_part_view_release(struct mail_part_view *v);

#pragma GCC visibility pop

#endif
