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
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tui.h"
#include "mail/address.h"
#include "mail/buf.h"
#include "mail/mime.h"
#include "mail/rfc2047.h"
#include "mail/termsafe.h"

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
    /* Worker-thread state. */
    struct mail_folder *folder;
    struct mail_envelope_list list;
    unsigned gen;
    struct mail_render *render;
};

/* ---- rows: what the index shows, as mail ls shows it ---- */

static char *safe_dup(const char *s, size_t len)
{
    struct mail_buf b = MAIL_BUF_INIT;

    if (mail_term_safe(&b, s, len, MAIL_SAFE_ONELINE) < 0) {
        mail_buf_release(&b);
        return NULL;
    }
    if (!b.data)
        mail_buf_addstr(&b, "");
    return mail_buf_detach(&b);
}

/* The first sender's name, else its address, decoded and made safe. */
static char *shown_from(const struct mail_envelope *e)
{
    struct mail_addrlist l = MAIL_ADDRLIST_INIT;
    struct mail_error err;
    const char *s = "";
    char *out;

    if (e->from_display || e->borrowed)
        return safe_dup(e->from_display ? e->from_display : "",
                        e->from_display ? strlen(e->from_display) : 0);
    if (e->from && mail_addrlist_parse(&l, e->from, &err) == 0) {
        for (size_t i = 0; i < l.n; i++) {
            const struct mail_address *a = &l.v[i];

            if (a->name && *a->name) {
                s = a->name;
                break;
            }
            if (*a->addr) {
                s = a->addr;
                break;
            }
        }
    }
    out = safe_dup(s, strlen(s));
    mail_addrlist_release(&l);
    return out;
}

static char *shown_subject(const struct mail_envelope *e)
{
    struct mail_buf d = MAIL_BUF_INIT;
    char *out;

    if (e->subject_display || e->borrowed)
        return safe_dup(e->subject_display ? e->subject_display : "",
                        e->subject_display ? strlen(e->subject_display) : 0);
    if (e->subject)
        mail_rfc2047_decode(&d, e->subject, strlen(e->subject));
    out = safe_dup(d.data ? d.data : "", d.len);
    mail_buf_release(&d);
    return out;
}

static void fill_row(struct tui_row *r, const struct mail_envelope *e)
{
    r->from = shown_from(e);
    r->subject = shown_subject(e);
    r->when = e->has_date ? e->date : e->received;
    r->flags = e->flags;
    r->attach = e->attachments > 0 ||
                (e->content_type &&
                 mail_strncasecmp(e->content_type, "multipart/mixed", 15)
                 == 0);
}

void tui_rows_release(struct tui_rows *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].from);
        free(r->v[i].subject);
    }
    free(r->v);
    r->v = NULL;
    r->n = 0;
}

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

/* List the folder anew and copy its rows into r. */
static int relist(struct tui_worker *w, struct tui_req *r)
{
    mail_envelope_list_release(&w->list);
    w->gen++;
    if (mail_folder_list(w->folder, &w->list, MAIL_FOLDER_LIST_BORROW,
                         &r->err) < 0)
        return -1;
    r->rows.gen = w->gen;
    r->rows.v = calloc(w->list.n ? w->list.n : 1, sizeof *r->rows.v);
    if (!r->rows.v)
        return nomem(&r->err);
    for (size_t i = 0; i < w->list.n; i++) {
        fill_row(&r->rows.v[i], &w->list.v[i]);
        r->rows.n = i + 1;
        if (!r->rows.v[i].from || !r->rows.v[i].subject)
            return nomem(&r->err);
    }
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

static int render(struct tui_worker *w, struct tui_req *r,
                  struct mail_envelope *e)
{
    struct mail_buf text = MAIL_BUF_INIT;
    struct mail_mime *mime = NULL;
    struct mail_render_msg rm;
    char label[32];
    int fd = -1, rc = -1;
    char last = 0;

    if (!w->render && !(w->render = mail_render_new(&w->ropts)))
        return nomem(&r->err);
    if (mail_folder_message_fd(w->folder, e, &fd, &r->err) < 0)
        return -1;
    if (lseek(fd, 0, SEEK_SET) < 0 ||
        !(mime = mail_mime_parse_fd(fd, NULL, &r->err))) {
        if (!r->err.msg[0])
            mail_error_set(&r->err, MAIL_ERR_IO, "%s", strerror(errno));
        goto out;
    }
    snprintf(label, sizeof label, "%zu", r->idx + 1);
    memset(&rm, 0, sizeof rm);
    rm.fd = fd;
    rm.mime = mime;
    rm.label = label;
    if (mail_render_headers(w->render, &rm, false, mail_sink_buf, &text,
                            &r->err) < 0)
        goto out;
    mail_buf_addch(&text, '\n');
    if (mail_render_text(w->render, &rm, mail_sink_buf, &text, &last,
                         &r->err) < 0)
        goto out;
    if (last && last != '\n')
        mail_buf_addch(&text, '\n');
    if (mail_render_attachments(&rm, mail_sink_buf, &text, &r->err) < 0)
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
    mail_mime_free(mime);
    close(fd);
    return rc;
}

/* ---- serving requests ---- */

static struct mail_envelope *message(struct tui_worker *w, struct tui_req *r)
{
    if (!w->folder || r->gen != w->gen || r->idx >= w->list.n)
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
    switch (r->kind) {
    case TUI_REQ_OPEN:
        if (!w->folder)
            rc = w->src.open(w->src.arg, &w->folder, &r->err);
        if (rc == 0)
            rc = relist(w, r);
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
        /* Seen once shown (mail read does the same). */
        if (rc == 0 && (!(e->flags & MAIL_FLAG_SEEN) ||
                        (e->flags & MAIL_FLAG_NEW)))
            rc = mail_folder_set_flags(w->folder, e, MAIL_FLAG_SEEN, 0,
                                       &r->err);
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
            if (!(w->list.v[i].flags & MAIL_FLAG_DELETED))
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
        r->kind == TUI_REQ_RENDER)
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

        pthread_mutex_lock(&w->lock);
        while (!w->in_head && !w->stop)
            pthread_cond_wait(&w->cond, &w->lock);
        r = w->in_head;
        if (r) {
            w->in_head = r->next;
            if (!w->in_head)
                w->in_tail = NULL;
        }
        pthread_mutex_unlock(&w->lock);
        if (!r)
            break;   /* stopping, and nothing left */
        serve(w, r);
        answer(w, r);
    }
    if (w->folder) {
        struct mail_error err;

        mail_envelope_list_release(&w->list);
        mail_folder_close(w->folder, &err);
        w->folder = NULL;
    }
    return NULL;
}

struct tui_worker *tui_worker_start(const struct tui_source *src,
                                    const struct mail_render_opts *ropts,
                                    int wake_fd, struct mail_error *err)
{
    struct tui_worker *w = calloc(1, sizeof *w);
    sigset_t all, old;
    int rc;

    if (!w) {
        nomem(err);
        return NULL;
    }
    w->src = *src;
    w->ropts = *ropts;
    w->wake_fd = wake_fd;
    w->list = (struct mail_envelope_list)MAIL_ENVELOPE_LIST_INIT;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
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
        if (r->kind == TUI_REQ_RENDER)
            tui_req_cancel(r);
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    for (r = w->out_head; r; r = next) {
        next = r->next;
        tui_req_free(r);
    }
    if (w->render)
        mail_render_free(w->render);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    free(w);
}
