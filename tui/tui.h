/*
 * tui.h - the reader (`mail tui`, and `mail` alone on a terminal).
 *
 * ARCHITECTURE: a UI that never waits.
 *
 *   One UI thread (ui.c) owns the terminal: it is the only code that calls
 *   curses (ncursesw, wget_wch with the keypad on).  Its loop is
 *
 *       draw what changed, one doupdate();
 *       ppoll(stdin, wake pipe) with SIGWINCH unblocked only inside ppoll;
 *       drain every key ncurses holds (wtimeout 0: it may have buffered
 *       bytes that poll cannot see), KEY_RESIZE included;
 *       drain every answer of the workers.
 *
 *   Folder work (open, list, render a message, set flags, expunge, close)
 *   runs on a worker thread, one per account (worker.c).  The UI posts a
 *   struct tui_req to the worker's queue (an unbounded list under a mutex:
 *   posting never waits for the worker) and goes on; the worker serves one
 *   request at a time, puts exactly one answer per request on the answer
 *   queue and writes a byte to the wake pipe, which wakes the UI's ppoll.
 *   Each answer names its request (id); a request cancelled before or while
 *   it runs is answered TUI_CANCELLED (never dropped, so nothing waits
 *   forever).  The UI never calls a blocking folder function itself.
 *
 *   Identity: the worker owns the folder and its envelope list.  The UI
 *   holds rows (display strings, flags, date) copied from it with a
 *   listing generation; requests name a message by (generation, index), and
 *   a request for an older generation is answered TUI_STALE instead of
 *   touching another message.
 *
 *   IMAP: the worker gets its folder from an opener callback (struct
 *   tui_source), run on the worker thread; an imap:NAME folder (the
 *   source, c, the folder list, s) is opened on the account's struct
 *   mail_remote (service/remote.c), which connects and logs in there, on
 *   the worker.  Cancelling the request in progress (q, Ctrl-C) aborts
 *   the connection from the UI thread (tui_worker_interrupt:
 *   mail_remote_cancel shuts the socket down), so a read stalled on the
 *   server ends at once; the next request makes a new connection.  A lost
 *   connection is made again by the folder driver on the worker, and
 *   "connecting" / "reconnecting" reach the status line as events
 *   (tui_worker_event).
 *
 *   Screen: the index (number, flags, date, sender, subject: the columns
 *   and the terminal-safe strings of `mail ls`), the pager (mail read's
 *   rendering: lib/msg/render.c, made on the worker into terminal-safe
 *   lines), the help screen (every key), and a status line with the
 *   folder, counts, pending work and key hints.  Resize at any time
 *   (KEY_RESIZE); NO_COLOR or --color never: attributes only, no colors.
 *   Nothing from a message reaches curses without mail_term_safe.
 */
#ifndef MAIL_TUI_H
#define MAIL_TUI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mail/error.h"
#include "mail/folder.h"
#include "mail/render.h"

/* Where the worker gets its folder: open() runs on the worker thread.
 * label names the folder on the status line ("INBOX", "=Sent", a path). */
struct tui_source {
    int (*open)(void *arg, struct mail_folder **f, struct mail_error *err);
    void *arg;
    const char *label;
    const char *path;   /* the folder's path (for reply and forward) */
};

/* Reply, group reply, list reply and forward, a new message, a
 * postponed one: the library's compose flow (compose.c). */
enum tui_compose {
    TUI_REPLY, TUI_REPLY_ALL, TUI_REPLY_LIST, TUI_FORWARD,
    TUI_COMPOSE, TUI_RESUME,   /* mail compose [--resume]: no message */
};

struct tui_keys;   /* the [tui] bindings and colors (keys.c) */
struct mail_compose_flow_opts;
struct mail_remote;

/* Another account, as the reader opens it (A). */
struct tui_account {
    char *path;                   /* its inbox: a path or "imap:INBOX" */
    char *label;                  /* for the status line (terminal-safe) */
    const char *store;            /* its local store, or NULL */
    struct mail_remote *remote;   /* its IMAP server, or NULL */
};

struct tui_opts {
    struct tui_source source;
    struct mail_render_opts render;   /* as mail read's */
    bool color;                       /* false under NO_COLOR / --color */
    /* The account's local store ("=NAME", the folder list), or NULL. */
    const char *store;
    const struct mail_paths *paths;
    /* The account's IMAP server (imap:NAME folders, their list), or NULL.
     * Used on the worker thread only (its cancel from the UI thread);
     * the caller closes it after tui_run. */
    struct mail_remote *remote;
    /* Key bindings and colors (tui_keys_new), or NULL: the defaults. */
    const struct tui_keys *keys;
    /* Writing mail (compose.c: r g L f m R): the compose flow's
     * options (the account, the password prompt, the send's events), or
     * NULL: not available.  Used on the UI thread. */
    const struct mail_compose_flow_opts *flow;
    /* Account `name` of the config (A): fills a (path and label
     * malloc'd; store and remote the caller's until tui_run returns) or
     * -1 with err.  UI thread, nothing connects.  NULL: not available. */
    int (*account)(void *arg, const char *name, struct tui_account *a,
                   struct mail_error *err);
    void *account_arg;
    const char *accounts;   /* the accounts' names, "a, b", for A */
    /* The address book's address-command (Tab in the prompts), or NULL. */
    const char *address_command;
};

/* Run the reader until the user quits.  Returns 0, or -1 with err set
 * (the terminal could not be set up, the folder could not be opened). */
int tui_run(const struct tui_opts *opts, struct mail_error *err);

/* ---- between the UI and the worker (worker.c) ---- */

enum tui_req_kind {
    TUI_REQ_OPEN,      /* open the folder and list it */
    TUI_REQ_RELIST,    /* list again (after a sync) */
    TUI_REQ_RENDER,    /* render message idx into lines; marks it seen */
    TUI_REQ_FLAGS,     /* add/remove flags of message idx */
    TUI_REQ_SYNC,      /* expunge the messages marked deleted, relist */
    TUI_REQ_CLOSE,     /* close the folder (writes an mbox) */
    TUI_REQ_VIEW,      /* order (sort or thread) and limit (query) */
    TUI_REQ_SEARCH,    /* the messages that match query */
    TUI_REQ_SAVE,      /* copy message idx to folder path, mark it deleted */
    TUI_REQ_MSGFD,     /* a descriptor reading message idx (for |) */
    TUI_REQ_FOLDERS,   /* the store's folders with their counts */
    TUI_REQ_PARTS,     /* the parts of message idx */
    TUI_REQ_PART_SAVE, /* part `part` of idx to path (a file, or a
                          directory: a safe name made in it) */
    TUI_REQ_PART_FD,   /* a descriptor reading part `part` decoded */
    TUI_REQ_ACCOUNT,   /* open path of another account (store, remote) */
    TUI_REQ_COMPLETE,  /* the address book's addresses matching query */
};

enum tui_status {
    TUI_DONE,
    TUI_ERROR,         /* err says what */
    TUI_CANCELLED,
    TUI_STALE,         /* the listing changed since the request was made */
};

/* One message as the index shows it: strings terminal-safe, one line. */
struct tui_row {
    char *from;        /* first sender's name, else address */
    char *subject;
    time_t when;       /* Date:, else delivery */
    unsigned flags;    /* MAIL_FLAG_* */
    bool attach;
    char *ref;         /* for reply/forward: "<message-id>", else the
                          file (Maildir), else NULL (not for display) */
};

struct tui_rows {
    struct tui_row *v;
    size_t n;
    unsigned gen;      /* listing generation */
};

/* A rendered message: terminal-safe text, one string per line (no
 * newline; tabs kept). */
struct tui_lines {
    char **v;
    size_t n;
};

struct tui_req {
    uint64_t id;
    enum tui_req_kind kind;
    unsigned gen;      /* the listing the index refers to */
    size_t idx;        /* RENDER, FLAGS */
    unsigned add, remove;
    int width;         /* RENDER: columns, for nothing yet (the UI wraps) */
    char *query;       /* VIEW (NULL: all), SEARCH: query words */
    int sort;          /* VIEW: enum mail_sort_key */
    bool reverse, thread;   /* VIEW */
    char *path;        /* OPEN (NULL: the source), SAVE: a folder path */
    char *label;       /* OPEN with path: the name shown */
    /* Answer. */
    enum tui_status status;
    struct mail_error err;
    struct tui_rows rows;     /* OPEN, RELIST, SYNC */
    struct tui_lines lines;   /* RENDER; COMPLETE: addr-specs (raw) */
    unsigned new_flags;       /* RENDER, FLAGS: the message's flags now */
    size_t expunged;          /* SYNC */
    size_t *order;            /* VIEW: rows in order; SEARCH: matches */
    unsigned *depth;          /* VIEW with thread */
    size_t norder;
    int fd;                   /* MSGFD: the caller closes it */
    int compose;              /* MSGFD for compose.c: how + 1 */
    struct tui_folder *folders;   /* FOLDERS */
    size_t nfolders;
    char *part;               /* PART_SAVE, PART_FD: its number */
    const char *store;        /* ACCOUNT */
    struct mail_remote *remote;   /* ACCOUNT */
    struct tui_part *parts;   /* PARTS */
    size_t nparts;
    struct tui_req *next;
    int cancelled;            /* set by the UI (atomic) */
};

/* One part of a message, for the attachment list (v). */
struct tui_part {
    char *number;      /* "1", "2.1" (as mail read --part takes) */
    char *type;        /* "text/plain" (terminal-safe) */
    char *name;        /* the file name (terminal-safe), or NULL */
    uint64_t size;     /* decoded bytes */
};

/* One folder of the store, for the folder list. */
struct tui_folder {
    char *name;        /* "INBOX", "Sent", "Lists/dev" (terminal-safe) */
    char *path;
    size_t total, unread;
    bool counted;      /* false when it could not be listed */
    bool imap;         /* name is "imap:NAME", path the same */
};

struct tui_worker;

/* Start the worker thread; answers wake fd wake_fd (the write end of the
 * UI's pipe).  NULL with err set. */
struct tui_worker *tui_worker_start(const struct tui_opts *o, int wake_fd,
                                    struct mail_error *err);
/* Queue r (allocated by the caller with calloc; the worker owns it until
 * it comes back from tui_worker_answers).  Never blocks on the worker. */
void tui_worker_post(struct tui_worker *w, struct tui_req *r);
/* Mark r cancelled: it is answered TUI_CANCELLED (at once when it has not
 * started, when it ends otherwise). */
void tui_req_cancel(struct tui_req *r);
/* Abort the I/O of the request in progress when it is cancelled (an IMAP
 * read stalled on the server ends at once).  UI thread. */
void tui_worker_interrupt(struct tui_worker *w);
/* The worker's last event ("connecting", "reconnecting") into buf, and
 * true, when it changed since the last call. */
bool tui_worker_event(struct tui_worker *w, char *buf, size_t n);
/* Take every answer ready now, oldest first (a list through ->next). */
struct tui_req *tui_worker_answers(struct tui_worker *w);
/* Free an answered request and what its answer holds. */
void tui_req_free(struct tui_req *r);
/* Ask the worker to stop after the current request, wait for it (it
 * closes the folder), and free it.  Unanswered requests are freed. */
void tui_worker_stop(struct tui_worker *w);

/* ---- Tab in the prompts (complete.c) ---- */

struct mail_addrbook;
/* The addr-specs of the book's entries matching query, each once, in
 * the book's order (an alias gives the addresses of its value), at most
 * 50, added to out.  0, or -1 with err. */
int tui_complete_query(struct mail_addrbook *book, const char *query,
                       struct tui_lines *out, struct mail_error *err);
/* Candidates c for the word of line that starts at `at` (to its end):
 * one replaces the word, followed by after; several put their longest
 * common beginning in its place and are named in msg (size bytes,
 * terminal-safe), as is "no address matches". */
struct mail_buf;
void tui_complete_apply(struct mail_buf *line, size_t at,
                        const struct tui_lines *c, const char *after,
                        char *msg, size_t size);

void tui_rows_release(struct tui_rows *r);
void tui_lines_release(struct tui_lines *l);

#endif
