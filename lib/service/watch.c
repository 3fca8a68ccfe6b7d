/*
 * watch.c - new mail in IMAP folders as it arrives: one thread per
 * connection, IDLE or STATUS polling, resync by UIDNEXT after a drop (see
 * watch.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mail/watch.h"
#include "mail/date.h"
#include "mail/imap.h"
#include "mail/imap_idle.h"
#include "mail/imap_notify.h"
#include "mail/rfc2047.h"

struct watch;

struct wfolder {
    const char *name;
    uint32_t uidvalidity, next;
    bool known;
    bool news;                    /* NOTIFY: a STATUS came for it */
    bool gone;                    /* known, then no longer there: asked
                                     again every interval; what it holds
                                     when it is back is new */
};

struct worker {
    struct watch *w;
    struct wfolder *f;            /* this connection's folders */
    size_t n;
    struct mail_remote *remote;
    pthread_t thread;
    bool started;
    bool notify;                  /* all folders over NOTIFY */
    bool selected;                /* a mailbox is EXAMINEd on it */
    bool fallback;                /* NOTIFY missing or refused: IDLE */
};

struct watch {
    const struct mail_account *acct;
    const struct mail_watch_opts *o;
    pthread_mutex_t lock;         /* fn, the shared error, the secret */
    bool failed;                  /* a thread ended the watch */
    struct mail_error err;
    struct mail_buf secret;       /* the prompt's answer, shared */
    bool have_secret;
    struct mail_remote_opts ropts;
};

static bool stopping(struct watch *w)
{
    bool failed;

    pthread_mutex_lock(&w->lock);
    failed = w->failed;
    pthread_mutex_unlock(&w->lock);
    return failed || (w->o->stop && w->o->stop(w->o->stop_arg));
}

/* Record the error that ends the watch (the first one wins). */
static void fail(struct watch *w, const struct mail_error *err)
{
    pthread_mutex_lock(&w->lock);
    if (!w->failed) {
        w->failed = true;
        w->err = *err;
    }
    pthread_mutex_unlock(&w->lock);
}

static int emit(struct watch *w, const struct mail_watch_event *ev,
                struct mail_error *err)
{
    int rc = 0;

    pthread_mutex_lock(&w->lock);
    if (w->o->fn && !w->failed)
        rc = w->o->fn(w->o->fn_arg, ev, err);
    pthread_mutex_unlock(&w->lock);
    return rc;
}

/* The prompt asked once for every connection. */
static int shared_prompt(void *arg, const char *prompt, struct mail_buf *out,
                         struct mail_error *err)
{
    struct watch *w = arg;
    int rc = 0;

    pthread_mutex_lock(&w->lock);
    if (!w->have_secret) {
        rc = w->o->remote.prompt(w->o->remote.prompt_arg, prompt,
                                 &w->secret, err);
        if (rc == 0)
            w->have_secret = true;
    }
    if (rc == 0 && mail_buf_add(out, w->secret.data ? w->secret.data : "",
                                w->secret.len) < 0)
        rc = mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    pthread_mutex_unlock(&w->lock);
    return rc;
}

/* Sleep up to ms, waking early when asked to stop. */
static void nap(struct watch *w, long ms)
{
    while (ms > 0 && !stopping(w)) {
        long step = ms < 100 ? ms : 100;
        struct timespec ts = { 0, step * 1000000L };

        nanosleep(&ts, NULL);
        ms -= step;
    }
}

static bool permanent(const struct mail_error *err)
{
    switch (err->kind) {
    case MAIL_ERR_AUTH:
    case MAIL_ERR_NOTFOUND:
    case MAIL_ERR_CONFIG:
    case MAIL_ERR_USAGE:
    case MAIL_ERR_INTERNAL:
        return true;
    default:
        return false;
    }
}

/* A folder that was watched and can no longer be opened (deleted, or
 * renamed away): a note, and the watch goes on for it and the others.
 * Returns 1 when err said so (err cleared), 0 for another error. */
static int went_away(struct worker *wk, struct wfolder *f,
                     struct mail_error *err)
{
    struct mail_watch_event ev = { 0 };
    char msg[MAIL_ERROR_MSG_MAX + 256];

    if (!f->known || !err || err->kind != MAIL_ERR_NOTFOUND ||
        err->conn_lost)
        return 0;
    if (!f->gone) {
        f->gone = true;
        mail_snprintf(msg, sizeof msg, "%s; watching imap:%.200s for it to "
                      "come back",
                      err->msg, f->name);
        ev.kind = MAIL_WATCH_RESET;
        ev.folder = f->name;
        ev.uidvalidity = f->uidvalidity;
        ev.message = msg;
        mail_error_clear(err);
        if (emit(wk->w, &ev, err) < 0) {
            fail(wk->w, err);
            return 0;
        }
    }
    mail_error_clear(err);
    return 1;
}

static bool any_gone(const struct worker *wk)
{
    for (size_t i = 0; i < wk->n; i++)
        if (wk->f[i].gone)
            return true;
    return false;
}

/* ---- reporting new messages ---- */

struct newctx {
    struct worker *wk;
    struct wfolder *f;
    uint32_t from;                /* f->next when the fetch began */
    bool cb_failed;               /* the callback's own error: fatal */
};

static int on_new(void *arg, uint32_t uid, const struct mail_imap_envelope *e,
                  struct mail_error *err)
{
    struct newctx *c = arg;
    struct mail_watch_event ev = { 0 };
    struct mail_addrlist from = MAIL_ADDRLIST_INIT;
    struct mail_buf subj = MAIL_BUF_INIT;
    int rc = -1;

    if (uid < c->from)
        return 0;               /* reported before */
    if (mail_addrlist_parse(&from, e->from, err) < 0)
        goto out;
    if (e->subject && mail_rfc2047_decode(&subj, e->subject,
                                          strlen(e->subject)) < 0) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto out;
    }
    ev.kind = MAIL_WATCH_NEW;
    ev.folder = c->f->name;
    ev.uidvalidity = c->f->uidvalidity;
    ev.uid = uid;
    ev.from = &from;
    ev.subject = subj.data ? subj.data : "";
    if (e->date && mail_date_parse(e->date, &ev.date, &ev.date_offset) == 0)
        ev.has_date = true;
    if (uid >= c->f->next)      /* never again, whatever fn says; the */
        c->f->next = uid + 1;   /* server's order may be any */
    rc = emit(c->wk->w, &ev, err);
    if (rc < 0)
        c->cb_failed = true;
out:
    mail_addrlist_release(&from);
    mail_buf_release(&subj);
    return rc;
}

static int fetch_new(struct worker *wk, struct mail_session *s,
                     struct wfolder *f, struct mail_error *err)
{
    struct newctx c = { wk, f, f->next, false };
    struct mail_watch_event ev = { 0 };

    if (mail_imap_fetch_new(s, f->next, on_new, &c, err) < 0) {
        if (c.cb_failed)
            fail(wk->w, err);   /* the caller's error ends the watch */
        return -1;
    }
    if (f->next == c.from)
        return 0;               /* nothing new */
    ev.kind = MAIL_WATCH_BATCH;
    ev.folder = f->name;
    ev.uidvalidity = f->uidvalidity;
    ev.uid = f->next;
    if (emit(wk->w, &ev, err) < 0) {
        fail(wk->w, err);
        return -1;
    }
    return 0;
}

/* A folder's state from the server (EXAMINE, else STATUS for what it
 * left out): READY the first time, RESET on a new UIDVALIDITY, else the
 * messages from the remembered UIDNEXT on. */
static int apply_state(struct worker *wk, struct mail_session *s,
                       struct wfolder *f, uint32_t uidvalidity,
                       uint32_t uidnext, bool idle, bool selected,
                       struct mail_error *err)
{
    struct mail_watch_event ev = { 0 };
    struct mail_imap_mailbox_state st;
    char msg[256];

    ev.folder = f->name;
    ev.idle = idle;
    ev.notify = wk->notify;
    if (f->gone) {
        /* Back (created again): everything in it came after it went. */
        f->gone = false;
        mail_snprintf(msg, sizeof msg, "imap:%.200s is there again: all it "
                      "holds is new", f->name);
        ev.kind = MAIL_WATCH_RESET;
        ev.uidvalidity = uidvalidity;
        ev.message = msg;
        f->uidvalidity = uidvalidity;
        f->next = 1;
        if (emit(wk->w, &ev, err) < 0) {
            fail(wk->w, err);
            return -1;
        }
    } else if (!f->known || uidvalidity != f->uidvalidity) {
        ev.kind = f->known ? MAIL_WATCH_RESET : MAIL_WATCH_READY;
        if (f->known) {
            mail_snprintf(msg, sizeof msg, "UIDVALIDITY of %.200s changed from %u "
                     "to %u: watching goes on from the new UIDNEXT %u",
                     f->name, (unsigned)f->uidvalidity,
                     (unsigned)uidvalidity, (unsigned)uidnext);
            ev.message = msg;
        }
        f->known = true;
        f->uidvalidity = uidvalidity;
        f->next = uidnext;
        ev.uidvalidity = uidvalidity;
        ev.uid = uidnext;
        if (emit(wk->w, &ev, err) < 0) {
            fail(wk->w, err);
            return -1;
        }
        return 0;
    }
    if (uidnext != 0 && uidnext <= f->next)
        return 0;               /* nothing new */
    if (!selected) {
        wk->selected = false;   /* a failed EXAMINE leaves none */
        if (mail_imap_examine(s, f->name, &st, err) < 0)
            return -1;
        wk->selected = true;
    }
    return fetch_new(wk, s, f, err);
}

/* EXAMINE (UIDNEXT from STATUS when the server left it out) and apply. */
static int sync_folder(struct worker *wk, struct mail_session *s,
                       struct wfolder *f, bool idle, struct mail_error *err)
{
    struct mail_imap_mailbox_state st;

    wk->selected = false;
    if (mail_imap_examine(s, f->name, &st, err) < 0)
        return went_away(wk, f, err) ? 1 : -1;
    wk->selected = true;
    if (st.uidnext == 0 || st.uidvalidity == 0) {
        struct mail_imap_mbx_status ms;

        if (mail_imap_status(s, f->name, &ms, err) < 0)
            return -1;
        if (st.uidnext == 0)
            st.uidnext = ms.uidnext;
        if (st.uidvalidity == 0)
            st.uidvalidity = ms.uidvalidity;
    }
    if (st.uidnext == 0) {
        /* Still unknown: the highest UID there is, plus one. */
        struct mail_imap_uids u = { 0 };

        if (mail_imap_uids_after(s, 0, &u, err) < 0)
            return -1;
        st.uidnext = u.n ? u.v[u.n - 1] + 1 : 1;
        mail_imap_uids_release(&u);
    }
    return apply_state(wk, s, f, st.uidvalidity, st.uidnext, idle, true,
                       err);
}

/* One IDLE: started, waited in until a response in `until` (bits of
 * imap_idle.h) comes, the keepalive period passes or the watch is asked to
 * stop, then ended with DONE.  0, or -1 with err (after an error while
 * waiting the IDLE is not ended: the connection is dropped anyway). */
static int idle_until(struct worker *wk, struct mail_session *s,
                      struct mail_imap_idle *st, int until,
                      struct mail_error *err)
{
    struct watch *w = wk->w;
    unsigned renew = w->o->idle_renew ? w->o->idle_renew
                                      : MAIL_WATCH_IDLE_RENEW;
    unsigned interval = w->o->interval ? w->o->interval
                                       : MAIL_WATCH_INTERVAL;
    long long t0 = mail_monotonic_ms();

    if (any_gone(wk) && interval < renew)
        renew = interval;       /* a folder that went away: asked again */
    if (mail_imap_idle_start(s, st, err) < 0)
        return -1;
    while (!stopping(w) &&
           mail_monotonic_ms() - t0 < (long long)renew * 1000) {
        int bits = mail_imap_idle_wait(s, st, 1, err);

        if (bits < 0)
            return -1;
        if (bits & until)
            break;
    }
    return mail_imap_idle_done(s, st, err);
}

static int keepalive(struct mail_session *s, struct mail_error *err);

/* One folder, IDLE: returns 0 when asked to stop, -1 with err. */
static int idle_loop(struct worker *wk, struct mail_session *s,
                     struct mail_error *err)
{
    struct watch *w = wk->w;
    struct wfolder *f = &wk->f[0];
    struct mail_imap_idle st;
    unsigned interval = w->o->interval ? w->o->interval
                                       : MAIL_WATCH_INTERVAL;
    int rc = 0;

    /* Gone: asked again every interval, a NOOP keeping the session. */
    while ((rc = sync_folder(wk, s, f, true, err)) == 1) {
        nap(w, (long)interval * 1000);
        if (stopping(w))
            return 0;
        if (keepalive(s, err) < 0)
            return -1;
    }
    if (rc < 0)
        return -1;
    mail_imap_idle_init(&st);
    while (rc == 0 && !stopping(w))
        if (idle_until(wk, s, &st, MAIL_IMAP_IDLE_EXISTS, err) < 0 ||
            (!stopping(w) && fetch_new(wk, s, f, err) < 0))
            rc = -1;
    mail_imap_idle_release(&st);
    return rc;
}

/* NOOP: a polled connection that has been quiet for the keepalive
 * period says it is alive (servers log out idle clients after 30
 * minutes, NATs forget sooner).  Untagged news in the reply is left to
 * the next poll. */
static int keepalive(struct mail_session *s, struct mail_error *err)
{
    struct mail_reply r;
    int rc;

    mail_reply_init(&r);
    rc = mail_imap_command(s, &r, err, "NOOP");
    if (rc == 0 && r.status != MAIL_REPLY_OK)
        rc = mail_error_set(err, MAIL_ERR_PROTOCOL, "%s: NOOP refused: "
                            "%.200s", s->name, r.text.data ? r.text.data
                                                            : "");
    mail_reply_release(&r);
    return rc;
}

/* The folders' state with one LIST-STATUS (RFC 5819) instead of one
 * STATUS each: for a connection polling several folders on a server
 * that offers it.  A folder the reply does not count is asked with
 * STATUS. */
static int poll_list_status(struct worker *wk, struct mail_session *s,
                            struct mail_error *err)
{
    struct mail_imap_mailboxes l = { 0 };
    struct mail_imap_mbx_status *st = NULL;
    size_t skipped = 0, i, j;
    int rc = 0;

    if (mail_imap_list_status(s, &l, &st, &skipped, err) < 0)
        return -1;
    for (i = 0; rc == 0 && i < wk->n; i++) {
        struct mail_imap_mbx_status one, *ms = NULL;

        for (j = 0; j < l.n; j++)
            if (st[j].has_messages && strcmp(l.v[j].name, wk->f[i].name) == 0)
                ms = &st[j];
        if ((!ms || ms->uidnext == 0 || ms->uidvalidity == 0) &&
            mail_imap_status(s, wk->f[i].name, (ms = &one), err) < 0) {
            if (went_away(wk, &wk->f[i], err))
                continue;
            rc = -1;
            break;
        }
        rc = apply_state(wk, s, &wk->f[i], ms->uidvalidity, ms->uidnext,
                         false, false, err);
    }
    free(st);
    mail_imap_mailboxes_release(&l);
    return rc;
}

/* A polled connection leaves the mailbox it EXAMINEd: STATUS on the
 * selected mailbox may answer from the session's own, stale view (RFC
 * 3501 6.3.10; Dovecot still counts a selected mailbox that was deleted
 * meanwhile). */
static int leave_mailbox(struct worker *wk, struct mail_session *s,
                         struct mail_error *err)
{
    if (!wk->selected)
        return 0;
    wk->selected = false;
    return mail_imap_unselect(s, err);
}

/* Several folders (or no IDLE): STATUS (or LIST-STATUS) every interval,
 * a NOOP whenever the keepalive period passes without a poll. */
static int poll_loop(struct worker *wk, struct mail_session *s,
                     struct mail_error *err)
{
    struct watch *w = wk->w;
    unsigned interval = w->o->interval ? w->o->interval
                                       : MAIL_WATCH_INTERVAL;
    unsigned renew = w->o->idle_renew ? w->o->idle_renew
                                      : MAIL_WATCH_IDLE_RENEW;
    bool lstatus = wk->n >= 2 && mail_session_has_cap(s, "LIST-STATUS");
    size_t i;

    wk->selected = false;
    for (i = 0; i < wk->n; i++)
        if (sync_folder(wk, s, &wk->f[i], false, err) < 0)
            return -1;          /* 1: gone, asked again at each poll */
    for (;;) {
        if (leave_mailbox(wk, s, err) < 0)
            return -1;
        long long due = mail_monotonic_ms() + (long long)interval * 1000;
        long long now;

        while (!stopping(w) && (now = mail_monotonic_ms()) < due) {
            long long left = due - now;

            if (left > (long long)renew * 1000) {
                nap(w, (long)renew * 1000);
                if (!stopping(w) && keepalive(s, err) < 0)
                    return -1;
            } else {
                nap(w, (long)left);
            }
        }
        if (stopping(w))
            return 0;
        if (lstatus) {
            if (poll_list_status(wk, s, err) < 0)
                return -1;
            continue;
        }
        for (i = 0; i < wk->n; i++) {
            struct mail_imap_mbx_status ms;

            if (mail_imap_status(s, wk->f[i].name, &ms, err) < 0) {
                if (went_away(wk, &wk->f[i], err))
                    continue;
                return -1;
            }
            if (apply_state(wk, s, &wk->f[i], ms.uidvalidity, ms.uidnext,
                            false, false, err) < 0)
                return -1;
        }
    }
}

/* ---- NOTIFY (RFC 5465): every folder on one connection ---- */

static void on_notify_status(void *arg, const struct mail_imap_idle_status *ms)
{
    struct worker *wk = arg;

    for (size_t i = 0; i < wk->n; i++)
        if (mail_imap_mailbox_is(ms->mailbox, wk->f[i].name))
            wk->f[i].news = true;
}

/* A folder's state by STATUS (no mailbox selected, as NOTIFY wants it
 * for STATUS events); new messages are fetched after an EXAMINE, and the
 * mailbox left again, then asked once more for what came meanwhile. */
static int notify_check(struct worker *wk, struct mail_session *s,
                        struct wfolder *f, struct mail_error *err)
{
    for (int round = 0; round < 4; round++) {
        struct mail_imap_mbx_status ms;
        bool selects;

        if (mail_imap_status(s, f->name, &ms, err) < 0)
            return went_away(wk, f, err) ? 0 : -1;
        /* A folder back after it went away is fetched from UID 1. */
        selects = (f->gone || (f->known &&
                               ms.uidvalidity == f->uidvalidity)) &&
                  (ms.uidnext == 0 || ms.uidnext > (f->gone ? 1 : f->next));
        if (apply_state(wk, s, f, ms.uidvalidity, ms.uidnext, true, false,
                        err) < 0)
            return -1;
        if (!selects)
            return 0;
        /* All below that UIDNEXT was there for the FETCH: a message
         * expunged meanwhile must not make the next round EXAMINE again. */
        if (ms.uidnext > f->next)
            f->next = ms.uidnext;
        if (mail_imap_unselect(s, err) < 0)
            return -1;
    }
    return 0;
}

/* Returns 0 when asked to stop, -1 with err, -2 when the server refused
 * NOTIFY SET (err says why). */
static int notify_loop(struct worker *wk, struct mail_session *s,
                       struct mail_error *err)
{
    struct watch *w = wk->w;
    const char **names = calloc(wk->n, sizeof *names);
    struct mail_imap_idle st;
    size_t i;
    int rc = 0;

    if (!names)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    for (i = 0; i < wk->n; i++)
        names[i] = wk->f[i].name;
    rc = mail_imap_notify_set(s, names, wk->n, err);
    free(names);
    if (rc < 0)
        return err && err->kind == MAIL_ERR_UNAVAIL && !err->conn_lost
                   ? -2 : -1;
    for (i = 0; i < wk->n; i++)
        if (notify_check(wk, s, &wk->f[i], err) < 0)
            return -1;
    mail_imap_idle_init(&st);
    st.status_fn = on_notify_status;
    st.status_arg = wk;
    while (rc == 0 && !stopping(w)) {
        if (idle_until(wk, s, &st, MAIL_IMAP_IDLE_STATUS |
                                   MAIL_IMAP_IDLE_EXISTS, err) < 0) {
            rc = -1;
            break;
        }
        /* Every folder is asked after each IDLE (news, EXISTS, renewal):
         * a STATUS the server sent while another command ran (a FETCH
         * of another folder) is not heard, so a folder with news is
         * never trusted to be the only one; a sweep that found something
         * is made again. */
        for (bool again = true; again && rc == 0 && !stopping(w);) {
            again = false;
            for (i = 0; rc == 0 && i < wk->n && !stopping(w); i++) {
                struct wfolder *f = &wk->f[i];
                uint32_t next = f->next, uidvalidity = f->uidvalidity;

                f->news = false;
                if (notify_check(wk, s, f, err) < 0)
                    rc = -1;
                else if (f->next != next || f->uidvalidity != uidvalidity)
                    again = true;
            }
        }
    }
    mail_imap_idle_release(&st);
    return rc;
}

static void *worker_main(void *arg)
{
    struct worker *wk = arg;
    struct watch *w = wk->w;
    struct mail_error err;
    unsigned backoff = 1;
    bool ready = false;

    while (!stopping(w)) {
        struct mail_session *s;
        long long up;
        int rc;
        size_t i;

        mail_error_clear(&err);
        s = mail_remote_session(wk->remote, &err);
        up = mail_monotonic_ms();
        /* NOTIFY (or IDLE) not offered, on the first connection or on a
         * new one after a drop (a server restarted without it): the
         * other way, on this session.  The folders keep their UIDNEXT,
         * so the workers resync from there and report what came during
         * the drop once. */
        if (s && wk->notify &&
            (!mail_session_has_cap(s, "NOTIFY") ||
             !mail_session_has_cap(s, "IDLE"))) {
            wk->fallback = true;
            break;
        }
        if (s) {
            bool idle = wk->n == 1 && mail_session_has_cap(s, "IDLE");

            rc = wk->notify ? notify_loop(wk, s, &err)
                 : idle     ? idle_loop(wk, s, &err)
                            : poll_loop(wk, s, &err);
            if (rc == 0)
                break;
            if (rc == -2) {
                /* NOTIFY SET refused (NO or BAD), also on a connection
                 * made again: asking again would only loop. */
                wk->fallback = true;
                break;
            }
        }
        for (ready = true, i = 0; i < wk->n; i++)
            ready = ready && wk->f[i].known;
        if (!ready || permanent(&err) || stopping(w)) {
            if (!stopping(w))
                fail(w, &err);
            break;
        }
        mail_remote_drop(wk->remote);
        /* A connection that stayed up a while is no string of failures:
         * the next try comes at once.  One that logs in and is dropped
         * at once (a server that says BYE to every new session, a folder
         * it cannot open) keeps the backoff growing. */
        if (s && mail_monotonic_ms() - up >= MAIL_WATCH_STABLE * 1000LL)
            backoff = 1;
        {
            struct mail_watch_event ev = { 0 };
            struct mail_error e2;
            char msg[MAIL_ERROR_MSG_MAX + 64];

            mail_snprintf(msg, sizeof msg, "%s; connecting again in %u s",
                     err.msg, backoff);
            ev.kind = MAIL_WATCH_RETRY;
            ev.folder = wk->f[0].name;
            ev.message = msg;
            mail_error_clear(&e2);
            if (emit(w, &ev, &e2) < 0) {
                fail(w, &e2);
                break;
            }
        }
        nap(w, (long)backoff * 1000);
        backoff = backoff >= 32 ? 60 : backoff * 2;
    }
    return NULL;
}

int mail_watch_run(const struct mail_account *acct,
                   const char *const *folders, size_t n,
                   const struct mail_watch_opts *o, struct mail_error *err)
{
    struct watch w;
    struct wfolder *f = NULL;
    struct worker *wk = NULL;
    size_t nconn, i, max = o->connections ? o->connections
                                          : MAIL_WATCH_CONNECTIONS;
    int rc = 0;

    if (n == 0)
        return mail_error_set(err, MAIL_ERR_USAGE, "no folder to watch");
    memset(&w, 0, sizeof w);
    w.acct = acct;
    w.o = o;
    pthread_mutex_init(&w.lock, NULL);
    mail_buf_init(&w.secret, 0);
    mail_buf_set_secret(&w.secret);
    w.ropts = o->remote;
    if (o->remote.prompt) {
        w.ropts.prompt = shared_prompt;
        w.ropts.prompt_arg = &w;
    }
    nconn = n <= max ? n : max;
    f = calloc(n, sizeof *f);
    wk = calloc(nconn, sizeof *wk);
    if (!f || !wk) {
        rc = mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto out;
    }
    for (i = 0; i < n; i++)
        f[i].name = folders[i];
    if (o->notify) {
        /* NOTIFY first: one connection for every folder.  Without it
         * (or refused, also on a connection made again after a drop)
         * the workers below, from the folders' remembered UIDNEXT. */
        struct worker nw;

        memset(&nw, 0, sizeof nw);
        nw.w = &w;
        nw.f = f;
        nw.n = n;
        nw.notify = true;
        nw.remote = mail_remote_new(acct, &w.ropts, err);
        if (!nw.remote) {
            rc = -1;
            goto out;
        }
        worker_main(&nw);
        if (!nw.fallback) {
            mail_remote_close(nw.remote);
            goto joined;
        }
        /* Its session (logged in, nothing selected) is the first
         * worker's: no second login for a server without NOTIFY. */
        wk[0].remote = nw.remote;
    }
    /* Folder i < nconn - 1 alone; the last connection takes the rest. */
    for (i = 0; i < nconn; i++) {
        wk[i].w = &w;
        wk[i].f = &f[i];
        wk[i].n = i + 1 < nconn ? 1 : n - i;
        if (wk[i].remote)
            continue;
        wk[i].remote = mail_remote_new(acct, &w.ropts, err);
        if (!wk[i].remote) {
            rc = -1;
            goto out;
        }
    }
    for (i = 0; i < nconn; i++) {
        if (pthread_create(&wk[i].thread, NULL, worker_main, &wk[i]) != 0) {
            struct mail_error e;

            mail_error_set(&e, MAIL_ERR_INTERNAL, "cannot start a thread");
            fail(&w, &e);
            break;
        }
        wk[i].started = true;
    }
    for (i = 0; i < nconn; i++)
        if (wk[i].started)
            pthread_join(wk[i].thread, NULL);
joined:
    if (w.failed) {
        if (err)
            *err = w.err;
        rc = -1;
    }
out:
    if (wk)
        for (i = 0; i < nconn; i++)
            if (wk[i].remote)
                mail_remote_close(wk[i].remote);
    free(wk);
    free(f);
    mail_buf_release_secret(&w.secret);
    pthread_mutex_destroy(&w.lock);
    return rc;
}
