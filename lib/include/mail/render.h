/*
 * render.h - a message as a person reads it: the header block, the
 * readable text (the parts readable.h chooses, text decoded to UTF-8,
 * HTML through the html-command, a mailcap viewer or the built-in
 * renderer) and the list of attachments.  `mail read` and the reader
 * share it.
 *
 * Everything is written terminal-safe to a sink; the library never
 * prints.  What the user configured (html-command, the mailcap search
 * path, the viewer time limit) comes in through struct mail_render_opts.
 *
 * What one message may cost in outside programs is bounded: at most
 * external_max HTML parts go through a viewer (the others get the
 * built-in renderer), each for at most `timeout` seconds, then it is
 * killed, and after one time-out no other part of that message is given
 * to a viewer.
 */
#ifndef MAIL_RENDER_H
#define MAIL_RENDER_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "mime.h"
#include "sink.h"

#define MAIL_RENDER_EXTERNAL_MAX 4
#define MAIL_RENDER_TIMEOUT 10
/* Bound on what an html-command or mailcap viewer may print. */
#define MAIL_RENDER_OUTPUT_MAX ((size_t)64 << 20)

struct mail_render_opts {
    const char *html_command;   /* NULL or "": none */
    const char *mailcaps;       /* RFC 1524 search path ("a:b"); NULL:
                                   no mailcap */
    unsigned timeout;           /* seconds per viewer; 0: the default */
    unsigned external_max;      /* 0: the default */
    const char *tmpdir;         /* for the viewer's file; /tmp when NULL
                                   or not plain enough for a shell */
    bool color;                 /* header names in bold */
    /* Told what went wrong and was worked around (a viewer failed, the
     * built-in renderer was used instead); may be NULL. */
    void (*warn)(void *ctx, const char *msg);
    void *warn_ctx;
};

/*
 * The true sizes of parts whose bodies a reading copy left out (an IMAP
 * message read without its attachments: folder.h,
 * mail_folder_message_read): by part number (as mime.h numbers them),
 * decoded bytes (an attached message: its bytes).
 */
struct mail_part_size {
    char *number;
    uint64_t size;
};
struct mail_part_sizes {
    struct mail_part_size *v;
    size_t n, alloc;
};
#define MAIL_PART_SIZES_INIT { NULL, 0, 0 }
int mail_part_sizes_add(struct mail_part_sizes *s, const char *number,
                        uint64_t size);
/* The size of part `number`, or -1 when s has none (s may be NULL). */
int64_t mail_part_sizes_get(const struct mail_part_sizes *s,
                            const char *number);
void mail_part_sizes_release(struct mail_part_sizes *s);

/* One message: fd reads it from offset 0, mime is its parse. */
struct mail_render_msg {
    int fd;
    const struct mail_mime *mime;
    const char *label;          /* in messages: "3", a path */
    /* Filled in by mail_render_text. */
    unsigned external_runs;     /* HTML parts given to a viewer */
    bool external_off;          /* a viewer timed out */
    size_t builtin_html;        /* parts rendered built-in instead */
};

struct mail_render;

/* NULL on ENOMEM.  opts is copied (its strings are not). */
struct mail_render *mail_render_new(const struct mail_render_opts *opts);
void mail_render_free(struct mail_render *r);

/*
 * The functions below return 0, or -1 with err set: on a failure, or when
 * the sink refused more output (err is given to the sink and is then as
 * the sink set it).
 */

/* Date, From, To, Cc, Subject as a person reads them (dates in local
 * time, addresses "Name <addr>", encoded words decoded); all: every
 * field in the message's order and spelling. */
int mail_render_headers(struct mail_render *r, const struct mail_render_msg *m,
                        bool all, mail_sink_fn sink, void *ctx,
                        struct mail_error *err);

/* The readable text: parts separated by a blank line; *last (if not
 * NULL) gets the last byte written, 0 if none. */
int mail_render_text(struct mail_render *r, struct mail_render_msg *m,
                     mail_sink_fn sink, void *ctx, char *last,
                     struct mail_error *err);

/* The whole of what a person reads: the header block (all: every
 * field), a blank line, the text (ending in a newline) and the
 * attachment list. */
int mail_render_message(struct mail_render *r, struct mail_render_msg *m,
                        bool all, const struct mail_part_sizes *sizes,
                        mail_sink_fn sink, void *ctx, struct mail_error *err);

/* The mailcap search path as mutt reads it: env ($MAILCAPS) when not
 * NULL, else "HOME/.mailcap:/etc/mailcap" (without the first when home
 * is NULL or empty).  malloc'd; NULL on ENOMEM. */
char *mail_render_mailcap_path(const char *env, const char *home);

/*
 * A mailcap (RFC 1524) entry for a MIME type, as mutt looks one up: the
 * first entry of the search path `paths` ("a:b", as
 * mail_render_mailcap_path makes) whose type field is the type, TYPE/\*
 * or TYPE, whose test= command (if any) exits 0 within timeout seconds
 * (0: 10), and, with MAIL_MAILCAP_COPIOUS, that has copiousoutput.
 * 1 and *out filled (free out->command), 0 when there is none, -1 with
 * err set.
 */
#define MAIL_MAILCAP_COPIOUS 1u
struct mail_mailcap {
    char *command;              /* the view command, %s not expanded */
    bool copiousoutput;         /* its output is meant for a pager */
    bool needsterminal;         /* it wants the terminal */
};
int mail_render_mailcap_find(const char *paths, const char *type,
                             unsigned flags, unsigned timeout,
                             struct mail_mailcap *out, struct mail_error *err);
/* The command to run: %s the file (a name from mail_render_temp, needing
 * no quoting), %t the type, %{charset} utf-8, %% a '%'.  *uses_file:
 * whether %s was there (else the file goes to its standard input).
 * malloc'd; NULL on ENOMEM. */
char *mail_render_mailcap_command(const char *tmpl, const char *type,
                                  const char *file, bool *uses_file);

/*
 * The shell command that runs an entry's expanded command (from
 * mail_render_mailcap_command) on its file, with the terminal: the file
 * is also its standard input, and the file is removed when the command
 * ends however it ends (exit, or a hangup, interrupt or termination that
 * ends the reader too: a trap).  malloc'd; NULL on ENOMEM.
 */
char *mail_render_mailcap_shell(const char *command, const char *file);

struct mail_buf;

/*
 * Run a copiousoutput entry's expanded command on its file (also its
 * standard input), without the terminal, for at most timeout seconds
 * (0 or over an hour: MAIL_RENDER_TIMEOUT), and append its output to out
 * as terminal-safe text (mail_term_safe, lines kept): what a pager shows.
 * The file is removed in every case.  0; -1 with err (MAIL_ERR_TEMP
 * "the viewer: exit status 1", "the viewer: still running after N s:
 * killed"; MAIL_ERR_INTERNAL out of memory).
 */
int mail_render_mailcap_output(const char *command, const char *file,
                               unsigned timeout,
                               struct mail_buf *out, struct mail_error *err);

/* "\nAttachments:\n" and one line per part that is not text; nothing
 * when there is none. */
int mail_render_attachments(const struct mail_render_msg *m, mail_sink_fn sink,
                            void *ctx, struct mail_error *err);
/* The same with the sizes of the bodies a reading copy left out (may be
 * NULL). */
int mail_render_attachments_sized(const struct mail_render_msg *m,
                                  const struct mail_part_sizes *sizes,
                                  mail_sink_fn sink, void *ctx,
                                  struct mail_error *err);

/* A part that --save writes and "attachments" counts: a file name or
 * disposition attachment, not inside an attached message. */
bool mail_render_part_saved(const struct mail_part *p);
unsigned mail_render_count_saved(const struct mail_part *root);
/* Its decoded size (an attached message: its body's). */
uint64_t mail_render_part_size(const struct mail_part *p);
/* The same, from sizes (may be NULL) when it has the part: a body that
 * the reading copy left out. */
uint64_t mail_render_part_size_in(const struct mail_part_sizes *sizes,
                                  const struct mail_part *p);

/* Longest file name mail_render_save_name makes (NAME_MAX on Linux and
 * the BSDs). */
#define MAIL_RENDER_NAME_MAX 255

/*
 * A file name that is safe to create in a directory from a part's
 * (untrusted) name: the last path component (after '/' or '\\'),
 * controls and bidi characters as '_', no leading dots, dashes or blanks
 * (no "..", no hidden files, no option look-alikes), not empty
 * ("attachment-N" plus an extension from the type), at most
 * MAIL_RENDER_NAME_MAX bytes with room for a " (N)" counter, cut at a
 * character boundary and keeping a short extension.  *stem and *ext are
 * malloc'd; -1 on ENOMEM.
 */
int mail_render_save_name(const struct mail_part *p, char **stem, char **ext);

/* Create STEM EXT in dirfd, never replacing anything: O_EXCL, and " (1)",
 * " (2)"... before the extension while the name is taken.  Returns the fd
 * and the name (malloc'd) or -1 with errno. */
int mail_render_create_unique(int dirfd, const char *stem, const char *ext,
                              char **name);

/* Write part p of the message read by msgfd, decoded, to a new file in
 * dirfd (named in messages as dirname), as mail_render_save_name and
 * mail_render_create_unique name it; *name gets its name (malloc'd).
 * Returns 0; -1 with err set; -2 when the message could not be read
 * (err says why, the caller names the message).  A failed write leaves no
 * file behind. */
int mail_render_save_part(int dirfd, const char *dirname, int msgfd,
                          const struct mail_part *p, char **name,
                          struct mail_error *err);

/* ---- one part, or the whole message, for programs (parts.c) ---- */

/* Parse the message read by fd (from offset 0) for reading: its parse,
 * or NULL with err prefixed "message LABEL" (MAIL_ERR_DATA "message
 * LABEL: empty" when it has no header and no body). */
struct mail_mime *mail_render_parse(int fd, const char *label,
                                    struct mail_error *err);

/* Text a terminal may be given (after mail_render_write_part's
 * defusing): text/ and message/ parts. */
bool mail_render_part_textual(const struct mail_part *p);

/* Part p of the message read by msgfd, decoded (base64,
 * quoted-printable), to sink: the exact bytes, or with terminal set as
 * text for a person (converted to UTF-8 and terminal-safe).  0; -1 when
 * the sink failed (err as the sink set it); -2 when the message could
 * not be read (err says why; the caller names the message). */
int mail_render_write_part(int msgfd, const struct mail_part *p,
                           bool terminal, mail_sink_fn sink, void *ctx,
                           struct mail_error *err);

/* The whole message exactly (terminal: terminal-safe).  Returns as
 * mail_render_write_part; a read error's err is strerror's text. */
int mail_render_write_raw(int msgfd, bool terminal, mail_sink_fn sink,
                          void *ctx, struct mail_error *err);

/* Copy what fd reads (a pipe, standard input) to an unlinked temporary
 * file in tmpdir (NULL: /tmp), which can be re-read at any offset: its
 * fd (at the end of the copy), or -1 with err (MAIL_ERR_IO "temporary
 * file: ...", or "LABEL: ..." when reading or writing failed). */
int mail_render_spool(int fd, const char *tmpdir, const char *label,
                      struct mail_error *err);

/* Told about each part mail_render_save_all tried: rc is
 * mail_render_save_part's, name the file's name (rc 0) or NULL, err why
 * not (rc < 0).  Return -1 to have save_all return -1 at the end. */
typedef int (*mail_render_saved_fn)(void *ctx, const struct mail_part *p,
                                    int rc, const char *name,
                                    const struct mail_error *err);

/* Save every part mail_render_part_saved chooses into dirfd with
 * mail_render_save_part; a failure does not stop the others.  0, or -1
 * when saved returned -1 for any part. */
int mail_render_save_all(int dirfd, const char *dirname, int msgfd,
                         const struct mail_part *root,
                         mail_render_saved_fn saved, void *ctx);

/* A temporary file "DIR/mail-XXXXXX.SUFFIX" whose name needs no quoting
 * in a shell (dir when plain enough, else /tmp); close-on-exec fd or -1
 * with errno. */
int mail_render_temp(const char *dir, const char *suffix, char *path,
                     size_t size);

#pragma GCC visibility pop

#endif
