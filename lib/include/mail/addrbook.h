/*
 * addrbook.h - the address book: what `mail alias -q`, the readline
 * prompts of `mail send` and the reader's prompts complete from.
 *
 * One book is three sources, queried together:
 *   - the aliases file (aliases.h: mutt's format, read by aliases.c);
 *   - the addresses collected from the messages you sent: a file in the
 *     state directory ($XDG_STATE_HOME/mail/addresses), one line an
 *     address: "LAST<TAB>COUNT<TAB>ADDR<TAB>NAME" (LAST the time of the
 *     last message to it, seconds since the epoch; a line without a tab,
 *     the older format, is an address list and counts once);
 *   - an address-command (khard, abook, a CardDAV tool), mutt's
 *     query_command protocol: it gets the query as one argument (never
 *     put into a shell's text), prints one line to skip, then lines
 *     "ADDR<TAB>NAME[<TAB>OTHER]".  Its output is untrusted: bounded,
 *     lines that are not an address skipped, names cleaned.
 *
 *     struct mail_addrbook_opts o = { .paths = &paths,
 *                                     .address_command = acct->address_command };
 *     struct mail_addrbook *book = mail_addrbook_open(&o, &err);
 *     struct mail_addrbook_results r = MAIL_ADDRBOOK_RESULTS_INIT;
 *
 *     if (mail_addrbook_query(book, "bob", &r, &err) < 0) ...
 *     for (size_t i = 0; i < r.n; i++) ... r.v[i].addr ...
 *     mail_addrbook_results_release(&r);
 *     mail_addrbook_free(book);
 *
 * Names in results hold no control characters, no bidirectional controls
 * and only valid UTF-8 (cleaned when read), but a caller still prints
 * them through the terminal-safe printer.
 */
#ifndef MAIL_ADDRBOOK_H
#define MAIL_ADDRBOOK_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "aliases.h"
#include "buf.h"
#include "error.h"
#include "paths.h"

/* At most this many collected addresses are kept: past it, those used
 * least recently are dropped. */
#define MAIL_ADDRBOOK_COLLECT_MAX 5000

struct mail_addrbook_opts {
    const struct mail_paths *paths;
    const char *aliases_path;     /* NULL: mail_aliases_default_path */
    const char *collected_path;   /* NULL: mail_addrbook_collected_path */
    const char *address_command;  /* NULL or "": none */
    int command_timeout_ms;       /* 0: 10 s */
};

struct mail_addrbook;

/*
 * Open the book: the aliases and the collected addresses are read now
 * (a missing file is empty); the command runs at each query.  NULL with
 * err: the aliases file is bad (MAIL_ERR_CONFIG naming file and line) or
 * unreadable (MAIL_ERR_IO), out of memory.  A damaged collected file is
 * not an error: its bad lines are skipped.
 */
struct mail_addrbook *mail_addrbook_open(const struct mail_addrbook_opts *o,
                                         struct mail_error *err);
void mail_addrbook_free(struct mail_addrbook *b);

/* The aliases the book read (for `mail alias` listing them). */
const struct mail_aliases *mail_addrbook_aliases(const struct mail_addrbook *b);

enum mail_addrbook_source {
    MAIL_ADDRBOOK_ALIAS,
    MAIL_ADDRBOOK_COLLECTED,
    MAIL_ADDRBOOK_COMMAND,
};

struct mail_addrbook_entry {
    enum mail_addrbook_source source;
    char *alias;      /* ALIAS: the alias name; else NULL */
    char *addr;       /* an addr-spec; ALIAS: the value as written (an
                         address list) */
    char *name;       /* display name, or NULL */
    char *info;       /* COMMAND: its third column, or NULL */
    unsigned count;   /* COLLECTED: messages sent to it */
    time_t last;      /* COLLECTED: the last one (0: unknown) */
};

struct mail_addrbook_results {
    struct mail_addrbook_entry *v;
    size_t n, alloc;
};

#define MAIL_ADDRBOOK_RESULTS_INIT { NULL, 0, 0 }

/*
 * The entries matching query (appended to out): those with query in the
 * alias name, the display name or the address, ignoring case (ASCII,
 * Latin-1, Latin Extended-A, Greek and Cyrillic letters fold; other text
 * compares as it is); "" matches every entry.  Aliases first (file
 * order), then collected addresses, most used first (the count weighted
 * by how recent the last use is), then the command's (in its order;
 * addresses already listed are left out).
 *
 * Returns 0; 1 when the address-command failed (err says how: "address-
 * command exited with status 2", timed out...; the other sources'
 * entries are in out); -1 with err when out of memory.
 */
int mail_addrbook_query(struct mail_addrbook *b, const char *query,
                        struct mail_addrbook_results *out,
                        struct mail_error *err);

void mail_addrbook_results_release(struct mail_addrbook_results *r);

/* What a recipient prompt inserts for e: an alias's name, else the
 * address formatted with its name ("Bob Example <bob@example.com>"). */
int mail_addrbook_entry_format(const struct mail_addrbook_entry *e,
                               struct mail_buf *out);

/* "$XDG_STATE_HOME/mail/addresses" (malloc'd), or NULL with
 * MAIL_ERR_CONFIG when there is no state directory. */
char *mail_addrbook_collected_path(const struct mail_paths *paths,
                                   struct mail_error *err);

/*
 * Record the recipients of a message just sent in the collected file
 * (path NULL: the default): each item of each address list in lists[0..n)
 * that is an address (groups' members too; items without '@' skipped),
 * its count raised and its time set to now, its display name replaced
 * when the message gave one.  Under an exclusive lock (on the file's
 * directory: no lock file is left behind), the file rewritten whole (a temporary file renamed over it), so that two
 * sends at once never lose or corrupt entries.  MAIL_ERR_TEMP when the
 * lock is not had within 5 s, MAIL_ERR_CANTCREAT / MAIL_ERR_IO.
 */
int mail_addrbook_collect(const struct mail_paths *paths, const char *path,
                          const char *const *lists, size_t n, time_t now,
                          struct mail_error *err);

/*
 * The same for a message sent: its envelope recipients rcpts[0..nrcpts)
 * (To, Cc and Bcc as sent) minus refused[0..nrefused), with the display
 * names its To and Cc headers (read from fd at off, which is left
 * unchanged: pread) and bcc's "Bcc: ..." lines (may be NULL) give them.
 */
int mail_addrbook_collect_sent(const struct mail_paths *paths, int fd,
                               off_t off, const char *const *rcpts,
                               size_t nrcpts, const char *const *refused,
                               size_t nrefused, const struct mail_buf *bcc,
                               struct mail_error *err);

#pragma GCC visibility pop

#endif
