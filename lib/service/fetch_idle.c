/*
 * fetch_idle.c - `mail fetch --idle`: a run of mail_fetch_account, then
 * the watch engine (watch.h) on the fetched folders, and another run each
 * time it reports new mail (see mail_fetch_idle in fetch.h).
 *
 * Every download is a whole mail_fetch_account run, with its lock, its
 * journal and its durable batches: --idle adds no new way to store a
 * message, so it is exactly as crash safe as a plain fetch (nothing is
 * removed on the server before it is durable here; a crash at any point
 * duplicates nothing: the next run settles the journal).  The watch only
 * says when to run; what to download is decided by the state files, so a
 * message the watch saw while a run was under way, or one that came while
 * the watch was reconnecting, is fetched by the next run all the same.
 * A run starts once the watch's reports have been quiet for a moment, so
 * that a burst of arrivals is one run (one login), not one per message.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mail/fetch.h"
#include "mail/config.h"
#include "mail/imap.h"
#include "mail/remote.h"
#include "mail/watch.h"

#define RETRY_FIRST 5           /* seconds before a failed run is retried */
#define RETRY_MAX 300

struct idle {
    struct mail_account *acct;
    const struct mail_fetch_opts *o;
    const struct mail_fetch_idle_opts *io;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool pending;               /* run again */
    long long first_ms, last_ms;  /* the first and the last report since
                                   the last run (gathering a burst) */
    bool quit;                  /* the main loop ended: stop the watch */
    bool watch_done;            /* the watch thread returned */
    int watch_rc;
    struct mail_error watch_err;
    size_t nfolders, nready;
    unsigned nidle, nnotify;
    /* The password, asked once for every run and connection. */
    pthread_mutex_t secret_lock;
    struct mail_buf secret;
    bool have_secret;
    const char *const *folders;
    size_t n;
};

static int cached_prompt(void *arg, const char *prompt, struct mail_buf *out,
                         struct mail_error *err)
{
    struct idle *d = arg;
    int rc = 0;

    pthread_mutex_lock(&d->secret_lock);
    if (!d->have_secret) {
        rc = d->o->prompt(d->o->prompt_arg, prompt, &d->secret, err);
        if (rc == 0)
            d->have_secret = true;
    }
    if (rc == 0 && mail_buf_add(out, d->secret.data ? d->secret.data : "",
                                d->secret.len) < 0)
        rc = mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    pthread_mutex_unlock(&d->secret_lock);
    return rc;
}

static void wake(struct idle *d, bool run)
{
    pthread_mutex_lock(&d->lock);
    if (run) {
        long long now = mail_monotonic_ms();

        if (!d->pending)
            d->first_ms = now;
        d->last_ms = now;
        d->pending = true;
    }
    pthread_cond_signal(&d->cond);
    pthread_mutex_unlock(&d->lock);
}

static bool watch_stop(void *arg)
{
    struct idle *d = arg;
    bool q;

    pthread_mutex_lock(&d->lock);
    q = d->quit;
    pthread_mutex_unlock(&d->lock);
    return q || (d->io->stop && d->io->stop(d->io->stop_arg));
}

/* The watch's events, on its threads: only "run again" and notes. */
static int on_watch(void *arg, const struct mail_watch_event *ev,
                    struct mail_error *err)
{
    struct idle *d = arg;

    (void)err;
    switch (ev->kind) {
    case MAIL_WATCH_READY:
        d->nidle += ev->idle;
        d->nnotify += ev->notify;
        if (++d->nready == d->nfolders) {
            if (d->io->ready)
                d->io->ready(d->io->arg, d->nfolders, d->nidle,
                             d->nnotify == d->nfolders);
            /* What came between the first run and the watch's start. */
            wake(d, true);
        }
        break;
    case MAIL_WATCH_RESET:
        if (d->io->folder_note && ev->message)
            d->io->folder_note(d->io->arg, ev->message);
        wake(d, true);
        break;
    case MAIL_WATCH_NEW:
        wake(d, true);
        break;
    case MAIL_WATCH_RETRY:
        if (d->io->note && ev->message)
            d->io->note(d->io->arg, ev->message);
        break;
    case MAIL_WATCH_BATCH:
        break;
    }
    return 0;
}

static void *watch_main(void *arg)
{
    struct idle *d = arg;
    struct mail_watch_opts wo;
    struct mail_error err;
    int rc;

    memset(&wo, 0, sizeof wo);
    if (d->o->prompt) {
        wo.remote.prompt = cached_prompt;
        wo.remote.prompt_arg = d;
    }
    wo.remote.trace = d->o->trace;
    wo.remote.trace_arg = d->o->trace_arg;
    wo.connections = d->acct->watch_connections;
    wo.notify = !d->io->no_notify;
    wo.idle_renew = d->io->keepalive;
    /* --keepalive below the poll interval polls that often too: the
     * folders beyond watch-connections, and one deleted on the server
     * (asked until it is back); fetch --idle has no --interval. */
    if (d->io->keepalive && d->io->keepalive < MAIL_WATCH_INTERVAL)
        wo.interval = d->io->keepalive;
    wo.stop = watch_stop;
    wo.stop_arg = d;
    wo.fn = on_watch;
    wo.fn_arg = d;
    mail_error_clear(&err);
    rc = mail_watch_run(d->acct, d->folders, d->n, &wo, &err);
    pthread_mutex_lock(&d->lock);
    d->watch_done = true;
    d->watch_rc = rc;
    d->watch_err = err;
    pthread_cond_signal(&d->cond);
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

static bool has_wildcard(const char *s)
{
    return strchr(s, '*') || strchr(s, '%');
}

/* The folders to watch: those the run fetches (--folder, else
 * fetch-folders, else INBOX), patterns expanded with LIST. */
static int watched_folders(struct idle *d, char ***out, size_t *nout,
                           struct mail_error *err)
{
    const struct mail_fetch_opts *o = d->o;
    struct mail_imap_mailboxes boxes = { NULL, 0 };
    char *conf = NULL, *save = NULL, **v = NULL;
    const char **pat = NULL;
    size_t npat = 0, n = 0, cap = 0;
    bool wild = false;
    int rc = -1;

    pat = calloc((o->nfolders ? o->nfolders : 0) + 1 +
                 (d->acct->fetch_folders
                      ? strlen(d->acct->fetch_folders) : 0), sizeof *pat);
    if (!pat)
        goto nomem;
    if (o->nfolders) {
        for (size_t i = 0; i < o->nfolders; i++)
            pat[npat++] = o->folders[i];
    } else if (d->acct->fetch_folders) {
        conf = strdup(d->acct->fetch_folders);
        if (!conf)
            goto nomem;
        for (char *w = strtok_r(conf, " \t", &save); w;
             w = strtok_r(NULL, " \t", &save))
            pat[npat++] = w;
    }
    if (!npat)
        pat[npat++] = "INBOX";
    for (size_t i = 0; i < npat; i++)
        wild |= has_wildcard(pat[i]);
    if (wild) {
        struct mail_remote_opts ro;
        struct mail_remote *r;
        struct mail_session *s;

        memset(&ro, 0, sizeof ro);
        if (o->prompt) {
            ro.prompt = cached_prompt;
            ro.prompt_arg = d;
        }
        ro.trace = o->trace;
        ro.trace_arg = o->trace_arg;
        r = mail_remote_new(d->acct, &ro, err);
        if (!r)
            goto out;
        s = mail_remote_session(r, err);
        if (!s || mail_imap_list(s, &boxes, err) < 0) {
            mail_remote_close(r);
            goto out;
        }
        mail_remote_close(r);
    }
    for (size_t i = 0; i < npat + boxes.n; i++) {
        const char *name = NULL;

        if (i < npat) {
            if (!has_wildcard(pat[i]))
                name = pat[i];
        } else {
            const struct mail_imap_mailbox *m = &boxes.v[i - npat];

            if (m->attrs & (MAIL_IMAP_MBX_NOSELECT |
                            MAIL_IMAP_MBX_NONEXISTENT))
                continue;
            for (size_t j = 0; j < npat && !name; j++)
                if (has_wildcard(pat[j]) &&
                    mail_fetch_pattern_match(pat[j], m->name, m->delim))
                    name = m->name;
        }
        if (!name)
            continue;
        for (size_t j = 0; j < n && name; j++)
            if (strcmp(v[j], name) == 0 ||
                (mail_strcasecmp(name, "INBOX") == 0 &&
                 mail_strcasecmp(v[j], "INBOX") == 0))
                name = NULL;
        if (!name)
            continue;
        if (n == cap) {
            size_t c = cap ? cap * 2 : 8;
            char **nv = realloc(v, c * sizeof *nv);

            if (!nv)
                goto nomem;
            v = nv;
            cap = c;
        }
        if (!(v[n] = strdup(name)))
            goto nomem;
        n++;
    }
    if (n == 0) {
        mail_error_set(err, MAIL_ERR_NOTFOUND, "--idle: no folder on the "
                       "server matches the folders to fetch");
        goto out;
    }
    *out = v;
    *nout = n;
    v = NULL;
    n = 0;
    rc = 0;
    goto out;
nomem:
    mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
out:
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    free(pat);
    free(conf);
    mail_imap_mailboxes_release(&boxes);
    return rc;
}

/* A later run's error that is worth trying again: the server or the
 * network, not the account, the store or a bug. */
static bool transient(const struct mail_error *err)
{
    switch (err->kind) {
    case MAIL_ERR_HOST:
    case MAIL_ERR_UNAVAIL:
    case MAIL_ERR_TEMP:
    case MAIL_ERR_PROTOCOL:
        return true;
    default:
        return err->conn_lost;
    }
}

int mail_fetch_idle(struct mail_account *acct, const struct mail_fetch_opts *o,
                    const struct mail_fetch_hooks *h,
                    const struct mail_fetch_idle_opts *io,
                    struct mail_error *err)
{
    struct mail_fetch_opts ro = *o;
    struct idle d;
    pthread_t th;
    char **folders = NULL;
    size_t nfolders = 0;
    unsigned retry = RETRY_FIRST;
    long long retry_at = 0;
    int rc = -1;

    if (o->pop3 || !acct->has_imap)
        return mail_error_set(err, MAIL_ERR_USAGE, "--idle needs an IMAP "
                              "server (POP3 cannot tell of new mail)");
    if (o->catch_up)
        return mail_error_set(err, MAIL_ERR_USAGE, "--idle and --catch-up "
                              "exclude each other");
    memset(&d, 0, sizeof d);
    d.acct = acct;
    d.o = o;
    d.io = io;
    pthread_mutex_init(&d.lock, NULL);
    pthread_cond_init(&d.cond, NULL);
    pthread_mutex_init(&d.secret_lock, NULL);
    mail_buf_init(&d.secret, 0);
    mail_buf_set_secret(&d.secret);
    if (o->prompt) {
        ro.prompt = cached_prompt;
        ro.prompt_arg = &d;
    }
    /* The first run: any error ends it, as for a plain fetch. */
    if (mail_fetch_account(acct, &ro, h, err) < 0)
        goto out;
    /* Later runs wait for a cron fetch that holds the lock, and skip a
     * folder deleted since (the watch says so, and when it is back). */
    ro.wait = true;
    ro.skip_missing = true;
    if (watched_folders(&d, &folders, &nfolders, err) < 0)
        goto out;
    d.folders = (const char *const *)folders;
    d.n = d.nfolders = nfolders;
    if (pthread_create(&th, NULL, watch_main, &d) != 0) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "cannot start a thread");
        goto out;
    }
    rc = 0;
    for (;;) {
        bool run, done;
        long long now;

        pthread_mutex_lock(&d.lock);
        if (!d.watch_done) {
            struct timespec ts;

            clock_gettime(CLOCK_REALTIME, &ts);
            /* stop is asked once a second; a burst is gathered in
             * steps of 100 ms */
            if (d.pending && !retry_at) {
                ts.tv_nsec += 100 * 1000000L;
                if (ts.tv_nsec >= 1000000000L) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000L;
                }
            } else {
                ts.tv_sec += 1;
            }
            pthread_cond_timedwait(&d.cond, &d.lock, &ts);
        }
        now = mail_monotonic_ms();
        if (retry_at && now >= retry_at) {
            retry_at = 0;
            if (!d.pending)
                d.first_ms = d.last_ms = 0;     /* due now */
            d.pending = true;
        }
        /* A burst of arrivals is one run: wait until the reports have
         * been quiet a while (or gathered long enough). */
        run = d.pending && !retry_at &&
              (now - d.last_ms >= MAIL_FETCH_IDLE_QUIET ||
               now - d.first_ms >= MAIL_FETCH_IDLE_GATHER);
        if (run)
            d.pending = false;
        done = d.watch_done;
        pthread_mutex_unlock(&d.lock);
        if (done || (io->stop && io->stop(io->stop_arg)))
            break;
        if (!run)
            continue;
        if (mail_fetch_account(acct, &ro, h, err) == 0) {
            retry = RETRY_FIRST;
            continue;
        }
        if (!transient(err) || (io->stop && io->stop(io->stop_arg))) {
            rc = io->stop && io->stop(io->stop_arg) ? 0 : -1;
            break;
        }
        /* The server went away meanwhile: the watch reconnects on its
         * own; the run is tried again after a while. */
        if (io->run_error)
            io->run_error(io->arg, err, retry);
        retry_at = mail_monotonic_ms() + 1000LL * retry;
        retry = retry * 2 > RETRY_MAX ? RETRY_MAX : retry * 2;
        mail_error_clear(err);
    }
    pthread_mutex_lock(&d.lock);
    d.quit = true;
    pthread_mutex_unlock(&d.lock);
    pthread_join(th, NULL);
    if (rc == 0 && d.watch_rc < 0) {
        if (err)
            *err = d.watch_err;
        rc = -1;
    }
out:
    for (size_t i = 0; i < nfolders; i++)
        free(folders[i]);
    free(folders);
    mail_buf_release_secret(&d.secret);
    pthread_mutex_destroy(&d.secret_lock);
    pthread_cond_destroy(&d.cond);
    pthread_mutex_destroy(&d.lock);
    return rc;
}
