/*
 * fetch.c - `mail fetch` for one account (mail_fetch_account): the lock,
 * the deadline, then the run over POP3 (fetch_pop3.c) or IMAP
 * (fetch_imap.c), with the helpers both runs share (progress, notes, the
 * password).  The state files and the journal are in fetch_state.c, the
 * destinations in fetch_dest.c; fetch_internal.h says what is where.  See
 * mail/fetch.h for the files and the crash-safety protocol.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "mail/fsutil.h"
#include "fetch_internal.h"

int fetch_nomem(struct mail_error *err)
{
    return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
}


/* ---- paths ---- */

char *mail_fetch_state_dir(const struct mail_paths *paths,
                           struct mail_error *err)
{
    char *dir = mail_paths_mail_dir(paths, MAIL_PATHS_STATE, "fetch",
                                    "the fetch state", err);

    if (dir && mail_mkdirs(dir, err) < 0) {
        free(dir);
        return NULL;
    }
    return dir;
}

static int add_encoded(struct mail_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int r;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' ||
            c == '@')
            r = mail_buf_addch(b, (char)c);
        else if (c == ' ')
            r = mail_buf_addch(b, ',');
        else
            r = mail_buf_printf(b, "%%%02X", c);
        if (r < 0)
            return -1;
    }
    return 0;
}

char *mail_fetch_file_name(const char *account, const char *key,
                           const char *suffix)
{
    struct mail_buf b = MAIL_BUF_INIT;

    /* A leading '.' would hide the file and ".." would escape. */
    if ((account[0] == '.' && mail_buf_addstr(&b, "%2E") < 0) ||
        add_encoded(&b, account[0] == '.' ? account + 1 : account) < 0 ||
        (key && (mail_buf_addch(&b, ',') < 0 || add_encoded(&b, key) < 0)) ||
        mail_buf_addstr(&b, suffix) < 0) {
        mail_buf_release(&b);
        return NULL;
    }
    return mail_buf_detach(&b);
}

char *fetch_join(const char *dir, const char *name)
{
    struct mail_buf b = MAIL_BUF_INIT;

    if (mail_buf_printf(&b, "%s/%s", dir, name) < 0) {
        mail_buf_release(&b);
        return NULL;
    }
    return mail_buf_detach(&b);
}

/* ---- the lock ---- */

int mail_fetch_lock(const char *dir, const char *account, bool wait,
                    struct mail_error *err)
{
    char *name = mail_fetch_file_name(account, NULL, ".lock");
    char *path = name ? fetch_join(dir, name) : NULL;
    int fd;

    free(name);
    if (!path)
        return fetch_nomem(err);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        mail_error_set(err, MAIL_ERR_CANTCREAT, "%s: %s", path,
                       strerror(errno));
        free(path);
        return -1;
    }
    while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
        if (errno == EINTR)
            continue;
        if (errno == EWOULDBLOCK)
            mail_error_set(err, MAIL_ERR_TEMP, "another mail fetch for "
                           "account %s is running (lock %s)", account, path);
        else
            mail_error_set(err, MAIL_ERR_IO, "%s: lock: %s", path,
                           strerror(errno));
        close(fd);
        free(path);
        return -1;
    }
    free(path);
    return fd;
}

void mail_fetch_unlock(int fd)
{
    if (fd >= 0)
        close(fd);   /* closing the only descriptor drops the flock */
}

/* ---- the deadline ---- */

void mail_fetch_clock_start(struct mail_fetch_clock *c, unsigned limit)
{
    memset(c, 0, sizeof *c);
    c->limit = limit ? limit : 1;
    snprintf(c->what, sizeof c->what, "no progress for %u s", c->limit);
    c->dl.what = c->what;
    mail_fetch_clock_progress(c);
}

void mail_fetch_clock_progress(struct mail_fetch_clock *c)
{
    if (c)
        c->dl.at_ms = mail_monotonic_ms() + 1000LL * c->limit;
}

bool mail_fetch_clock_passed(const struct mail_fetch_clock *c)
{
    return c && c->dl.at_ms > 0 && mail_monotonic_ms() >= c->dl.at_ms;
}

/* ---- the run's helpers ---- */

void fetch_progress(struct fetch_run *r, bool end)
{
    struct mail_fetch_progress p;
    struct mail_fetch_stats st;

    if (!r->h->progress)
        return;
    memset(&st, 0, sizeof st);
    if (r->src)
        mail_fetch_stats(r->src, &st);
    p.account = r->acct->name;
    p.folder = r->folder ? r->folder : "INBOX";
    p.done = r->done < r->total ? r->done : r->total;
    p.total = r->total;
    p.bytes = st.bytes;
    p.end = end;
    r->h->progress(r->h->arg, &p);
}

void fetch_summary(struct fetch_run *r, const struct mail_fetch_stats *st)
{
    if (r->h->folder_done)
        r->h->folder_done(r->h->arg, r->acct->name, r->folder, st);
}

void fetch_note(struct fetch_run *r, const char *fmt, ...)
{
    struct mail_buf b = MAIL_BUF_INIT;
    va_list ap;
    int x;

    if (!r->h->note)
        return;
    va_start(ap, fmt);
    x = mail_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (x == 0 && b.data)
        r->h->note(r->h->arg, b.data);
    mail_buf_release(&b);
}

int fetch_secret(struct fetch_run *r, struct mail_error *err)
{
    if (r->secret.len)
        return 0;
    return mail_account_password(r->acct, r->srv.host, r->srv.user,
                                 r->o->prompt, r->o->prompt_arg, &r->secret,
                                 err);
}

/* ---- one account ---- */

int mail_fetch_account(struct mail_account *acct,
                       const struct mail_fetch_opts *o,
                       const struct mail_fetch_hooks *h,
                       struct mail_error *err)
{
    static const struct mail_fetch_hooks none;
    struct fetch_run r;
    int lock = -1, rc = -1;

    memset(&r, 0, sizeof r);
    mail_buf_init(&r.secret, 0);
    r.o = o;
    r.h = h ? h : &none;
    r.acct = acct;
    if (o->pop3 ? !acct->has_pop3 : !acct->has_imap)
        return mail_error_set(err, MAIL_ERR_CONFIG, "no %s server "
                              "configured", o->pop3 ? "pop3" : "imap");
    if (!o->mda && !acct->store)
        return mail_error_set(err, MAIL_ERR_CONFIG, "no store configured "
                              "(set store = ~/Mail/%s, or give --mda)",
                              acct->name);
    if (o->pop3 && o->nfolders)
        return mail_error_set(err, MAIL_ERR_USAGE, "--folder needs IMAP; "
                              "POP3 has one maildrop");
    r.statedir = mail_fetch_state_dir(acct->paths, err);
    if (!r.statedir)
        goto out;
    lock = mail_fetch_lock(r.statedir, acct->name, o->wait, err);
    if (lock < 0)
        goto out;
    /* The deadline: no progress for 10 x the timeout (5 minutes by
     * default) and the connection is cut, the lock freed. */
    mail_fetch_clock_start(&r.wd, 10u * (unsigned)(acct->timeout > 0 ?
                                                   acct->timeout : 30));
    if (o->pop3) {
        r.dest = mail_fetch_dest_open(acct->paths, acct->store, o->mda, err);
        rc = r.dest ? fetch_run_pop3(&r, err) : -1;
    } else {
        rc = fetch_run_imap(&r, err);
    }
    if (rc < 0 && mail_fetch_clock_passed(&r.wd))
        mail_error_set(err, MAIL_ERR_TEMP, "no progress for %u s (10 times "
                       "the timeout): gave up so as not to hold the "
                       "account's lock; what arrived whole is kept, try "
                       "again later", r.wd.limit);
out:
    mail_fetch_dest_close(r.dest);
    mail_fetch_unlock(lock);
    mail_buf_release_secret(&r.secret);
    free(r.statedir);
    return rc;
}
