/*
 * worker.c - the reader's folder worker: one thread per account that owns
 * the folder and serves the UI's requests one at a time (see tui.h).
 *
 * Requests come in on an unbounded list under a mutex, answers go out on
 * another, and each answer writes one byte to the UI's wake pipe (non-
 * blocking: a full pipe already means "wake up").  Only this thread
 * touches the folder and its envelopes.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tui.h"
#include "rows.h"
#include "mail/address.h"
#include "mail/addrbook.h"
#include "mail/buf.h"
#include "mail/folderlist.h"
#include "mail/imap.h"
#include "mail/indexrow.h"
#include "mail/mime.h"
#include "mail/query.h"
#include "mail/reading.h"
#include "mail/remote.h"
#include "mail/rfc2047.h"
#include "mail/sort.h"
#include "mail/termsafe.h"
#include "mail/thread.h"

struct tui_worker {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct tui_req *in_head, *in_tail;     /* requests, oldest first */
    struct tui_req *out_head, *out_tail;   /* answers */
    bool stop;
    int wake_fd;
    struct tui_source src;
    struct mail_render_opts ropts;
    const char *store;
    const struct mail_paths *paths;
    struct mail_remote *remote;
    struct tui_req *current;               /* being served (under lock) */
    char event[64];                        /* under lock */
    bool event_new;
    /* Worker-thread state. */
    struct mail_folder *folder;
    struct mail_envelope_list list;
    unsigned gen;
    struct mail_render *render;
    const char *address_command;
    struct mail_addrbook *book;            /* opened at the first Tab */
};

/* ---- rows: what the index shows, as mail ls shows it ---- */

void tui_lines_release(struct tui_lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int nomem(struct mail_error *err)
{
    mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    return -1;
}

/* List the folder anew and copy its rows into r: the order and flags of
 * all and the strings of the first screen's rows now (rows.h); the other
 * envelopes are filled by fill_rest before any other request is served,
 * so that search, limit, threads and sort see every message. */
static int relist(struct tui_worker *w, struct tui_req *r)
{
    mail_envelope_list_release(&w->list);
    w->gen++;
    if (mail_folder_list(w->folder, &w->list,
                         MAIL_FOLDER_LIST_BORROW | MAIL_FOLDER_LIST_LAZY,
                         &r->err) < 0 ||
        tui_rows_prepare(w->folder, &w->list, &r->err) < 0)
        return -1;
    r->rows.gen = w->gen;
    if (tui_rows_fill(&r->rows, &w->list) < 0)
        return nomem(&r->err);
    return 0;
}

/* ---- rendering: mail read's output, split into lines ---- */

static int split_lines(const char *s, size_t len, struct tui_lines *out)
{
    size_t alloc = 0;

    while (len > 0) {
        const char *nl = memchr(s, '\n', len);
        size_t n = nl ? (size_t)(nl - s) : len;

        if (out->n == alloc) {
            size_t na = alloc ? alloc * 2 : 64;
            char **v = realloc(out->v, na * sizeof *v);

            if (!v)
                return -1;
            out->v = v;
            alloc = na;
        }
        if (!(out->v[out->n] = strndup(s, n)))
            return -1;
        out->n++;
        s += n + (nl != NULL);
        len -= n + (nl != NULL);
    }
    return 0;
}

/* Message e as mail read shows it (mail_render_message: headers, text,
 * attachments), only what is shown read: an IMAP message's attachments
 * stay on the server, their true sizes in the list. */
static int render(struct tui_worker *w, struct tui_req *r,
                  struct mail_envelope *e)
{
    struct mail_reading m = MAIL_READING_INIT;
    struct mail_buf text = MAIL_BUF_INIT;
    struct mail_render_msg rm;
    char label[32];
    int rc = -1;

    if (!w->render && !(w->render = mail_render_new(&w->ropts)))
        return nomem(&r->err);
    snprintf(label, sizeof label, "%zu", r->idx + 1);
    if (mail_reading_open(w->folder, e, MAIL_FOLDER_READ_TEXT, NULL, label,
                          &m, &r->err) < 0)
        return -1;
    memset(&rm, 0, sizeof rm);
    rm.fd = m.fd;
    rm.mime = m.mime;
    rm.label = label;
    if (mail_render_message(w->render, &rm, false, &m.sizes, mail_sink_buf,
                            &text, &r->err) < 0)
        goto out;
    if (split_lines(text.data ? text.data : "", text.len, &r->lines) < 0) {
        nomem(&r->err);
        goto out;
    }
    rc = 0;
out:
    if (rc < 0 && !r->err.kind)
        mail_error_set(&r->err, MAIL_ERR_INTERNAL, "message %zu: could not "
                       "be rendered", r->idx + 1);
    mail_buf_release(&text);
    mail_reading_release(&m);
    return rc;
}

/* ---- the parts of a message (v): list, save, pipe, open ---- */

static int list_parts(struct tui_worker *w, struct tui_req *r,
                      struct mail_envelope *e)
{
    struct mail_reading m = MAIL_READING_INIT;
    const struct mail_part *p;
    char label[32];
    size_t alloc = 0;
    int rc = 0;

    /* The structure with the text only: an IMAP message's attachments
     * stay on the server, their sizes from it. */
    snprintf(label, sizeof label, "%zu", r->idx + 1);
    if (mail_reading_open(w->folder, e, MAIL_FOLDER_READ_TEXT, NULL, label,
                          &m, &r->err) < 0)
        return -1;
    for (p = mail_mime_root(m.mime); p && rc == 0; p = mail_part_next(p)) {
        struct tui_part *tp;

        if (mail_part_is_multipart(p))
            continue;
        if (r->nparts == alloc) {
            size_t na = alloc ? alloc * 2 : 8;
            struct tui_part *v = realloc(r->parts, na * sizeof *v);

            if (!v) {
                rc = nomem(&r->err);
                break;
            }
            r->parts = v;
            alloc = na;
        }
        tp = &r->parts[r->nparts++];
        memset(tp, 0, sizeof *tp);
        tp->number = strdup(p->number ? p->number : "1");
        tp->type = mail_term_safe_dup(p->type ? p->type : "text/plain",
                                      p->type ? strlen(p->type) : 10,
                                      MAIL_SAFE_ONELINE);
        if (p->filename)
            tp->name = mail_term_safe_dup(p->filename, strlen(p->filename),
                                          MAIL_SAFE_ONELINE);
        tp->size = mail_render_part_size_in(&m.sizes, p);
        if (!tp->number || !tp->type || (p->filename && !tp->name))
            rc = nomem(&r->err);
    }
    mail_reading_release(&m);
    return rc;
}

/* Enter on a part: opened with its mailcap entry (the reader's search
 * path), as mutt does.  A copiousoutput entry's output goes to r->lines
 * for the pager (no fd); any other entry's shell command to r->query,
 * with the file in r->fd, for the UI to run with the terminal as | runs
 * (the command removes the file however it ends). */
static int part_open(struct tui_worker *w, struct tui_req *r,
                     const struct mail_reading *m, const struct mail_part *p)
{
    struct mail_part_view v = MAIL_PART_VIEW_INIT;
    int rc;

    if (mail_reading_part_view(m, p, w->ropts.mailcaps, w->ropts.timeout,
                               w->ropts.tmpdir, &v, &r->err) < 0) {
        if (r->err.kind == MAIL_ERR_NOTFOUND) {
            char msg[sizeof r->err.msg];

            snprintf(msg, sizeof msg, "%s", r->err.msg);
            mail_error_set(&r->err, MAIL_ERR_NOTFOUND, "%s (s saves it, | "
                           "pipes it)", msg);
        }
        return -1;
    }
    rc = 0;
    if (v.copious) {
        const struct mail_buf *t = &v.output;

        if (split_lines(t->data ? t->data : "", t->len, &r->lines) < 0)
            rc = nomem(&r->err);
        else if (!r->lines.n)
            rc = mail_error_set(&r->err, MAIL_ERR_DATA, "the viewer "
                                "printed nothing");
    } else {
        r->query = v.command;
        r->fd = v.fd;
        v.command = NULL;
        v.fd = -1;
    }
    mail_part_view_release(&v);
    return rc;
}

/* Part r->part of e, decoded (mail_reading.h, as mail read writes one):
 * saved to r->path (a directory: under the safe name mail read --save
 * makes, in r->label; else that file, never replaced), opened with its
 * mailcap entry (Enter: no r->query), or into a new unlinked temporary
 * file whose descriptor goes to r->fd (|: the command in r->query). */
static int part_out(struct tui_worker *w, struct tui_req *r,
                    struct mail_envelope *e)
{
    struct mail_reading m = MAIL_READING_INIT;
    const struct mail_part *p;
    char label[32];
    int rc = -1;

    /* Only that part's body (IMAP: BODY.PEEK[part]). */
    snprintf(label, sizeof label, "%zu", r->idx + 1);
    if (mail_reading_open(w->folder, e, MAIL_FOLDER_READ_PART, r->part,
                          label, &m, &r->err) < 0)
        return -1;
    if (!(p = mail_reading_part(&m, r->part, label, &r->err)))
        goto out;
    if (r->kind == TUI_REQ_PART_SAVE) {
        char *saved = NULL;

        rc = mail_reading_save_part(&m, p, r->path, &saved, &r->err);
        if (saved) {
            free(r->label);
            r->label = saved;
        }
    } else if (!r->query) {
        rc = part_open(w, r, &m, p);
    } else {
        rc = mail_reading_part_temp(&m, p, w->ropts.tmpdir, &r->fd,
                                    &r->err);
    }
out:
    mail_reading_release(&m);
    return rc;
}

/* ---- address completion (Tab) ---- */

/* The addr-specs of the book's entries matching r->query, each once, in
 * the book's order (an alias gives the addresses of its value). */
static int complete(struct tui_worker *w, struct tui_req *r)
{
    struct mail_addrbook_opts o = {
        .paths = w->paths, .address_command = w->address_command,
    };

    if (!w->book && !(w->book = mail_addrbook_open(&o, &r->err)))
        return -1;
    return tui_complete_query(w->book, r->query, &r->lines, &r->err);
}

/* ---- views, search, save, pipe, folders ---- */

/* r->order gets the messages that match r->query (all when NULL), in
 * listing order; stops when r is cancelled (a body: search of a large
 * folder is the long local work a Ctrl-C ends). */
static int match_all(struct tui_worker *w, struct tui_req *r)
{
    struct mail_query *q = NULL;
    int rc = -1;

    r->order = malloc((w->list.n ? w->list.n : 1) * sizeof *r->order);
    if (!r->order)
        return nomem(&r->err);
    if (mail_query_parse_string(r->query, &q, &r->err) < 0)
        goto out;
    for (size_t i = 0; i < w->list.n; i++)
        r->order[i] = i;
    r->norder = w->list.n;
    /* as mail ls: the server runs it in an imap: folder; cancelled, the
     * messages matched so far are answered */
    if (mail_query_select(q, w->folder, &w->list, r->order, &r->norder,
                          &r->cancelled, &r->err) >= 0)
        rc = 0;
out:
    mail_query_free(q);
    return rc;
}

static int view(struct tui_worker *w, struct tui_req *r)
{
    if (match_all(w, r) < 0)
        return -1;
    if (r->thread) {
        r->depth = calloc(r->norder ? r->norder : 1, sizeof *r->depth);
        if (!r->depth)
            return nomem(&r->err);
        return mail_thread(&w->list, r->order, r->depth, r->norder, &r->err);
    }
    if (r->sort != MAIL_SORT_NONE || r->reverse)
        return mail_sort(&w->list, r->order, r->norder,
                         (enum mail_sort_key)r->sort, r->reverse, &r->err);
    return 0;
}

/* A folder by the name the UI gives ("imap:NAME", "=NAME" or a path),
 * as the commands open one (mail_remote_open_any). */
static struct mail_folder *open_any(struct tui_worker *w, const char *path,
                                    int mode, struct mail_error *err)
{
    return mail_remote_open_any(w->remote, w->store, path, mode, w->paths,
                                err);
}

/* s: copy e into the folder at r->path (durable there first, as mail mv
 * makes it: mail_folder_copy), then mark it deleted here (as mutt's save:
 * $ removes it). */
static int save(struct tui_worker *w, struct tui_req *r,
                struct mail_envelope *e)
{
    struct mail_folder *to;
    struct mail_error cerr;
    int rc = -1;

    to = open_any(w, r->path, MAIL_FOLDER_RDWR | MAIL_FOLDER_CREATE,
                  &r->err);
    if (!to)
        return -1;
    if (mail_folder_copy(w->folder, e, to, NULL, &r->err) == 0)
        rc = mail_folder_set_flags(w->folder, e, MAIL_FLAG_DELETED, 0,
                                   &r->err);
    mail_error_clear(&cerr);
    if (mail_folder_close(to, rc == 0 ? &r->err : &cerr) < 0)
        rc = -1;
    return rc;
}

/* The account's folders with their counts (mail_folderlist_local and
 * _remote, as `mail folders` and `mail folders --remote`): the store's,
 * then the server's as "imap:NAME" (its LIST also refreshes the folder
 * list cache of completion).  A lost connection is tried once more on a
 * new one. */
static int folders(struct tui_worker *w, struct tui_req *r)
{
    struct mail_folderlist l = MAIL_FOLDERLIST_INIT;
    int rc = 0;

    if (!w->store && !w->remote) {
        mail_error_set(&r->err, MAIL_ERR_CONFIG, "no account store to list "
                       "(add 'store = ~/Mail' to the account)");
        return -1;
    }
    if (w->store && mail_folderlist_local(w->store, w->paths, &r->cancelled,
                                          &l, &r->err) < 0) {
        /* No store directory yet: the server's folders still count. */
        if (!w->remote || r->err.kind == MAIL_ERR_INTERNAL ||
            __atomic_load_n(&r->cancelled, __ATOMIC_ACQUIRE))
            rc = -1;
    }
    /* The local ones stay listed when the server fails: the error says
     * why no others (shown as a warning). */
    if (rc == 0 && w->remote &&
        mail_folderlist_remote(w->remote, w->paths, &r->cancelled, &l,
                               &r->err) < 0 && !l.n)
        rc = -1;
    if (rc == 0 && l.n) {
        r->folders = calloc(l.n, sizeof *r->folders);
        if (!r->folders)
            rc = nomem(&r->err);
    }
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        const struct mail_folderlist_entry *e = &l.v[i];
        struct tui_folder *fo = &r->folders[r->nfolders];
        const char *shown = e->remote ? e->path : e->name;

        fo->name = mail_term_safe_dup(shown, strlen(shown),
                                      MAIL_SAFE_ONELINE);
        fo->path = strdup(e->path);
        if (!fo->name || !fo->path) {
            free(fo->name);
            free(fo->path);
            rc = nomem(&r->err);
            break;
        }
        fo->imap = e->remote;
        fo->counted = e->has_messages && e->has_unread;
        fo->total = e->messages;
        fo->unread = e->unread;
        r->nfolders++;
    }
    mail_folderlist_release(&l);
    return rc;
}

/* Open the folder at path instead of the one open now (c): the old one
 * stays open when the new one cannot be opened.  An error closing the
 * old one (an mbox that could not be written) comes back in r->err with
 * the new listing, as a warning. */
static int change_folder(struct tui_worker *w, struct tui_req *r)
{
    struct mail_folder *f = open_any(w, r->path, MAIL_FOLDER_RDWR, &r->err);
    struct mail_error cerr;
    bool close_failed = false;

    if (!f)
        return -1;
    mail_error_clear(&cerr);
    if (w->folder) {
        mail_envelope_list_release(&w->list);
        close_failed = mail_folder_close(w->folder, &cerr) < 0;
    }
    w->folder = f;
    if (relist(w, r) < 0)
        return -1;
    if (close_failed)
        r->err = cerr;
    return 0;
}

static void remote_event(void *arg, const char *what);

/* A: the folder of another account, with its store and server; the old
 * ones stay when it cannot be opened. */
static int change_account(struct tui_worker *w, struct tui_req *r)
{
    const char *old_store = w->store;
    struct mail_remote *old_remote = w->remote;

    pthread_mutex_lock(&w->lock);
    w->store = r->store;
    w->remote = r->remote;
    pthread_mutex_unlock(&w->lock);
    if (w->remote)
        mail_remote_on_event(w->remote, remote_event, w);
    if (change_folder(w, r) == 0)
        return 0;
    pthread_mutex_lock(&w->lock);
    w->store = old_store;
    w->remote = old_remote;
    pthread_mutex_unlock(&w->lock);
    return -1;
}

/* ---- serving requests ---- */

static struct mail_envelope *message(struct tui_worker *w, struct tui_req *r)
{
    /* (a key: filled, which every envelope is unless fill_rest ran out
     * of memory) */
    if (!w->folder || r->gen != w->gen || r->idx >= w->list.n ||
        !w->list.v[r->idx].key)
        return NULL;
    return &w->list.v[r->idx];
}

static void serve(struct tui_worker *w, struct tui_req *r)
{
    struct mail_envelope *e;
    int rc = 0;

    mail_error_clear(&r->err);
    if (__atomic_load_n(&r->cancelled, __ATOMIC_ACQUIRE)) {
        r->status = TUI_CANCELLED;
        return;
    }
    /* A cancel stopped the work before this request: connect again. */
    if (w->remote)
        mail_remote_resume(w->remote);
    switch (r->kind) {
    case TUI_REQ_ACCOUNT:
        rc = change_account(w, r);
        break;
    case TUI_REQ_COMPLETE:
        rc = complete(w, r);
        break;
    case TUI_REQ_OPEN:
        if (r->path) {
            rc = change_folder(w, r);
            break;
        }
        if (!w->folder)
            rc = w->src.open(w->src.arg, &w->folder, &r->err);
        if (rc == 0)
            rc = relist(w, r);
        break;
    case TUI_REQ_VIEW:
    case TUI_REQ_SEARCH:
        if (!w->folder || r->gen != w->gen) {
            r->status = TUI_STALE;
            return;
        }
        rc = r->kind == TUI_REQ_VIEW ? view(w, r) : match_all(w, r);
        break;
    case TUI_REQ_SAVE:
        if (!(e = message(w, r))) {
            r->status = TUI_STALE;
            return;
        }
        rc = save(w, r, e);
        r->new_flags = e->flags;
        break;
    case TUI_REQ_MSGFD:
        if (!(e = message(w, r))) {
            r->status = TUI_STALE;
            return;
        }
        r->fd = -1;
        rc = mail_folder_message_fd(w->folder, e, &r->fd, &r->err);
        break;
    case TUI_REQ_FOLDERS:
        rc = folders(w, r);
        break;
    case TUI_REQ_PARTS:
    case TUI_REQ_PART_SAVE:
    case TUI_REQ_PART_FD:
        if (!(e = message(w, r))) {
            r->status = TUI_STALE;
            return;
        }
        r->fd = -1;
        rc = r->kind == TUI_REQ_PARTS ? list_parts(w, r, e)
                                      : part_out(w, r, e);
        break;
    case TUI_REQ_RELIST:
        rc = w->folder ? relist(w, r) : -1;
        break;
    case TUI_REQ_RENDER:
        if (!(e = message(w, r))) {
            r->status = TUI_STALE;
            return;
        }
        rc = render(w, r, e);
        if (rc == 0)
            rc = mail_reading_mark_seen(w->folder, e, &r->err);
        r->new_flags = e->flags;
        break;
    case TUI_REQ_FLAGS:
        if (!(e = message(w, r))) {
            r->status = TUI_STALE;
            return;
        }
        rc = mail_folder_set_flags(w->folder, e, r->add, r->remove, &r->err);
        r->new_flags = e->flags;
        break;
    case TUI_REQ_SYNC:
        if (!w->folder || r->gen != w->gen) {
            r->status = TUI_STALE;
            return;
        }
        for (size_t i = 0; i < w->list.n && rc == 0; i++) {
            if (!(w->list.v[i].flags & MAIL_FLAG_DELETED) ||
                !w->list.v[i].key)
                continue;
            rc = mail_folder_expunge(w->folder, &w->list.v[i], &r->err);
            if (rc == 0)
                r->expunged++;
        }
        /* mbox: write the file now; Maildir: nothing to do. */
        if (rc == 0)
            rc = mail_folder_sync(w->folder, &r->err);
        if (rc == 0)
            rc = relist(w, r);
        break;
    case TUI_REQ_CLOSE:
        if (w->folder) {
            mail_envelope_list_release(&w->list);
            rc = mail_folder_close(w->folder, &r->err);
            w->folder = NULL;
        }
        break;
    }
    if (rc < 0 && !r->err.kind)
        mail_error_set(&r->err, MAIL_ERR_INTERNAL, "no folder");
    r->status = rc < 0 ? TUI_ERROR : TUI_DONE;
    /* Cancelled while it ran: still one answer, saying so (what was done
     * stays done). */
    if (__atomic_load_n(&r->cancelled, __ATOMIC_ACQUIRE) &&
        (r->kind == TUI_REQ_RENDER || r->kind == TUI_REQ_VIEW ||
         r->kind == TUI_REQ_SEARCH || r->kind == TUI_REQ_FOLDERS ||
         ((r->kind == TUI_REQ_OPEN || r->kind == TUI_REQ_RELIST) && rc < 0)))
        r->status = TUI_CANCELLED;
}

static void answer(struct tui_worker *w, struct tui_req *r)
{
    char b = 1;

    pthread_mutex_lock(&w->lock);
    r->next = NULL;
    if (w->out_tail)
        w->out_tail->next = r;
    else
        w->out_head = r;
    w->out_tail = r;
    pthread_mutex_unlock(&w->lock);
    /* Non-blocking: EAGAIN means a wake-up is pending already. */
    if (write(w->wake_fd, &b, 1) < 0 && errno != EAGAIN)
        return;
}

static void *worker_main(void *arg)
{
    struct tui_worker *w = arg;

    for (;;) {
        struct tui_req *r;
        struct tui_rows later;
        bool rest;

        pthread_mutex_lock(&w->lock);
        while (!w->in_head && !w->stop)
            pthread_cond_wait(&w->cond, &w->lock);
        r = w->in_head;
        if (r) {
            w->in_head = r->next;
            if (!w->in_head)
                w->in_tail = NULL;
        }
        w->current = r;
        pthread_mutex_unlock(&w->lock);
        if (!r)
            break;   /* stopping, and nothing left */
        serve(w, r);
        pthread_mutex_lock(&w->lock);
        w->current = NULL;
        pthread_mutex_unlock(&w->lock);
        /* The rows' second step (rows.h) once the UI has the first: the
         * other rows' strings, then a wake-up to draw them. */
        later = r->rows;
        rest = tui_rows_partial(&later);
        answer(w, r);
        if (rest) {
            struct mail_error ferr;
            char b = 1;

            /* The envelopes of the rows (a lazy listing's: rows.h); out
             * of memory: those rows stay without sender and subject. */
            mail_folder_list_fill(w->folder, &w->list, 0, w->list.n, &ferr);
            tui_rows_fill_rest(&later, &w->list);
            if (write(w->wake_fd, &b, 1) < 0 && errno != EAGAIN)
                continue;
        }
    }
    if (w->folder) {
        struct mail_error err;

        mail_envelope_list_release(&w->list);
        mail_folder_close(w->folder, &err);
        w->folder = NULL;
    }
    return NULL;
}

/* The remote connects: said on the status line (worker thread). */
static void remote_event(void *arg, const char *what)
{
    struct tui_worker *w = arg;
    char b = 1;

    pthread_mutex_lock(&w->lock);
    snprintf(w->event, sizeof w->event, "%s", what);
    w->event_new = true;
    pthread_mutex_unlock(&w->lock);
    if (write(w->wake_fd, &b, 1) < 0 && errno != EAGAIN)
        return;
}

bool tui_worker_event(struct tui_worker *w, char *buf, size_t n)
{
    bool changed;

    pthread_mutex_lock(&w->lock);
    changed = w->event_new;
    w->event_new = false;
    if (changed)
        snprintf(buf, n, "%s", w->event);
    pthread_mutex_unlock(&w->lock);
    return changed;
}

void tui_worker_interrupt(struct tui_worker *w)
{
    pthread_mutex_lock(&w->lock);
    if (w->current && w->remote &&
        __atomic_load_n(&w->current->cancelled, __ATOMIC_ACQUIRE))
        mail_remote_cancel(w->remote);
    pthread_mutex_unlock(&w->lock);
}

struct tui_worker *tui_worker_start(const struct tui_opts *o, int wake_fd,
                                    struct mail_error *err)
{
    struct tui_worker *w = calloc(1, sizeof *w);
    sigset_t all, old;
    int rc;

    if (!w) {
        nomem(err);
        return NULL;
    }
    w->src = o->source;
    w->ropts = o->render;
    w->store = o->store;
    w->paths = o->paths;
    w->remote = o->remote;
    w->address_command = o->address_command;
    w->wake_fd = wake_fd;
    w->list = (struct mail_envelope_list)MAIL_ENVELOPE_LIST_INIT;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    if (w->remote)
        mail_remote_on_event(w->remote, remote_event, w);
    /* Signals (SIGWINCH above all) go to the UI thread, never here. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&w->thread, NULL, worker_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "cannot start the folder "
                       "worker: %s", strerror(rc));
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->cond);
        free(w);
        return NULL;
    }
    return w;
}

void tui_worker_post(struct tui_worker *w, struct tui_req *r)
{
    pthread_mutex_lock(&w->lock);
    r->next = NULL;
    if (w->in_tail)
        w->in_tail->next = r;
    else
        w->in_head = r;
    w->in_tail = r;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

void tui_req_cancel(struct tui_req *r)
{
    __atomic_store_n(&r->cancelled, 1, __ATOMIC_RELEASE);
}

struct tui_req *tui_worker_answers(struct tui_worker *w)
{
    struct tui_req *r;

    pthread_mutex_lock(&w->lock);
    r = w->out_head;
    w->out_head = w->out_tail = NULL;
    pthread_mutex_unlock(&w->lock);
    return r;
}

void tui_req_free(struct tui_req *r)
{
    if (!r)
        return;
    tui_rows_release(&r->rows);
    tui_lines_release(&r->lines);
    free(r->query);
    free(r->path);
    free(r->label);
    free(r->order);
    free(r->depth);
    if ((r->kind == TUI_REQ_MSGFD || r->kind == TUI_REQ_PART_FD) &&
        r->fd >= 0)
        close(r->fd);
    for (size_t i = 0; i < r->nparts; i++) {
        free(r->parts[i].number);
        free(r->parts[i].type);
        free(r->parts[i].name);
    }
    free(r->parts);
    free(r->part);
    for (size_t i = 0; i < r->nfolders; i++) {
        free(r->folders[i].name);
        free(r->folders[i].path);
    }
    free(r->folders);
    free(r);
}

void tui_worker_stop(struct tui_worker *w)
{
    struct tui_req *r, *next;

    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    /* Changes still queued (a d just before q) are made; renders are
     * not wanted any more. */
    for (r = w->in_head; r; r = r->next)
        if (r->kind == TUI_REQ_RENDER || r->kind == TUI_REQ_VIEW ||
            r->kind == TUI_REQ_SEARCH || r->kind == TUI_REQ_FOLDERS)
            tui_req_cancel(r);
    /* A read in progress is not waited for: one stalled on the server is
     * cut.  A change in progress is (bounded by the server timeout). */
    if ((r = w->current) && r->kind != TUI_REQ_FLAGS &&
        r->kind != TUI_REQ_SYNC && r->kind != TUI_REQ_SAVE &&
        r->kind != TUI_REQ_CLOSE) {
        tui_req_cancel(r);
        if (w->remote)
            mail_remote_cancel(w->remote);
    }
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    for (r = w->out_head; r; r = next) {
        next = r->next;
        tui_req_free(r);
    }
    if (w->render)
        mail_render_free(w->render);
    mail_addrbook_free(w->book);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    free(w);
}
