/*
 * remote.c - the account's IMAP session for everything that works on the
 * server in place (remote.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/folder.h"
#include "mail/conn.h"
#include "mail/imap.h"
#include "mail/imapcache.h"
#include "mail/remote.h"

struct mail_remote {
    const struct mail_account *acct;
    struct mail_remote_opts o;
    struct mail_server srv;       /* refers into acct; s->srv points here */
    struct mail_buf secret;       /* asked for once, wiped on close */
    struct mail_session *s;
    bool lost;                    /* s must not be used again */
    const void *selected;         /* the imap: folder selected on s */
    /* mail_remote_cancel, from another thread: lock guards s's
     * connection against being freed while it is aborted. */
    pthread_mutex_t lock;
    int cancelled;                /* atomic */
    void (*event)(void *arg, const char *what);
    void *event_arg;
};

struct mail_remote *mail_remote_new(const struct mail_account *acct,
                                    const struct mail_remote_opts *o,
                                    struct mail_error *err)
{
    struct mail_remote *r;

    if (!acct->has_imap) {
        mail_error_set(err, MAIL_ERR_CONFIG,
                       "account %s has no imap server (imap = URL)",
                       acct->name);
        return NULL;
    }
    r = calloc(1, sizeof *r);
    if (!r) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    r->acct = acct;
    if (o)
        r->o = *o;
    mail_server_from_account(&r->srv, acct, &acct->imap);
    r->srv.trace = r->o.trace;
    r->srv.trace_arg = r->o.trace_arg;
    mail_buf_init(&r->secret, 0);
    mail_buf_set_secret(&r->secret);
    pthread_mutex_init(&r->lock, NULL);
    return r;
}

const struct mail_account *mail_remote_account(const struct mail_remote *r)
{
    return r->acct;
}

static struct mail_session *connect_and_login(struct mail_remote *r,
                                              struct mail_error *err)
{
    struct mail_session *s = mail_imap_open(&r->srv, err);
    char *before;
    bool fresh;

    if (!s)
        return NULL;
    before = strdup(s->caps.data ? s->caps.data : "");
    if (!before) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto fail;
    }
    if (!s->authenticated) {
        if (!r->secret.len &&
            mail_account_password(r->acct, r->srv.host, r->srv.user,
                                  r->o.prompt, r->o.prompt_arg, &r->secret,
                                  err) < 0)
            goto fail;
        if (mail_imap_login(s, r->secret.data, err) < 0)
            goto fail;
    }
    /* Servers offer more once authenticated (MOVE, UIDPLUS, CONDSTORE,
     * SPECIAL-USE); the driver decides by what s->caps lists now.  A
     * login whose OK carried [CAPABILITY ...] (and changed the list)
     * said it already: one round trip less for every command. */
    fresh = s->authenticated && strcmp(before, s->caps.data ? s->caps.data
                                                            : "") != 0;
    free(before);
    before = NULL;
    if (!fresh && mail_imap_capability(s, err) < 0)
        goto fail;
    return s;
fail:
    free(before);
    mail_session_free(s);
    return NULL;
}

static void set_session(struct mail_remote *r, struct mail_session *s)
{
    struct mail_session *old;

    pthread_mutex_lock(&r->lock);
    old = r->s;
    r->s = s;
    pthread_mutex_unlock(&r->lock);
    if (old)
        mail_session_free(old);
}

struct mail_session *mail_remote_session(struct mail_remote *r,
                                         struct mail_error *err)
{
    bool again = r->s && r->lost;
    struct mail_session *s;

    if (__atomic_load_n(&r->cancelled, __ATOMIC_ACQUIRE)) {
        mail_error_set(err, MAIL_ERR_TEMP, "cancelled");
        return NULL;
    }
    if (again)
        set_session(r, NULL);
    if (!r->s) {
        if (r->event)
            r->event(r->event_arg, again ? "reconnecting" : "connecting");
        s = connect_and_login(r, err);
        set_session(r, s);
        r->lost = false;
        /* A cancel that came while connecting: its abort found no
         * session; this one is not to be used. */
        if (s && __atomic_load_n(&r->cancelled, __ATOMIC_ACQUIRE)) {
            r->lost = true;
            mail_error_set(err, MAIL_ERR_TEMP, "cancelled");
            return NULL;
        }
    }
    return r->s;
}

void mail_remote_on_event(struct mail_remote *r,
                          void (*fn)(void *arg, const char *what), void *arg)
{
    r->event = fn;
    r->event_arg = arg;
}

void mail_remote_cancel(struct mail_remote *r)
{
    __atomic_store_n(&r->cancelled, 1, __ATOMIC_RELEASE);
    pthread_mutex_lock(&r->lock);
    if (r->s)
        mail_conn_abort(r->s->conn);
    pthread_mutex_unlock(&r->lock);
}

void mail_remote_resume(struct mail_remote *r)
{
    if (!__atomic_exchange_n(&r->cancelled, 0, __ATOMIC_ACQ_REL))
        return;
    /* The aborted session, if any, is not to be used again. */
    if (r->s)
        r->lost = true;
}

void mail_remote_drop(struct mail_remote *r)
{
    if (r->s)
        r->lost = true;
}

bool mail_remote_retryable(const struct mail_error *err)
{
    return err->conn_lost;
}

void mail_remote_close(struct mail_remote *r)
{
    if (!r)
        return;
    if (r->s && !r->lost && !__atomic_load_n(&r->cancelled, __ATOMIC_ACQUIRE))
        mail_imap_logout(r->s);
    else
        mail_session_free(r->s);
    mail_buf_release_secret(&r->secret);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* ---- imap: folders ---- */

static struct mail_session *folder_session(void *arg, struct mail_error *err)
{
    struct mail_remote *r = arg;

    if (r->s && r->lost)
        r->selected = NULL;
    return mail_remote_session(r, err);
}

static void folder_drop(void *arg)
{
    struct mail_remote *r = arg;

    r->selected = NULL;
    mail_remote_drop(r);
}

struct mail_folder *mail_remote_folder_open(struct mail_remote *r,
                                            const char *name, int mode,
                                            const struct mail_paths *paths,
                                            struct mail_error *err)
{
    struct mail_imap_connector c = {
        folder_session, folder_drop, NULL, r, &r->selected,
    };

    struct mail_folder *f = mail_imap_folder_open(&c, name, mode, paths, err);

    /* the listing cache is kept per account and folder */
    if (f && mail_imap_folder_set_account(f, r->acct->name, err) < 0) {
        mail_folder_close(f, NULL);
        return NULL;
    }
    return f;
}

int mail_remote_name_needs(const char *name, struct mail_error *err)
{
    if (!*name)
        return mail_error_set(err, MAIL_ERR_USAGE, "empty folder name");
    if (strncmp(name, "imap:", 5) == 0) {
        if (!name[5])
            return mail_error_set(err, MAIL_ERR_USAGE, "imap: needs a folder "
                                  "name, as in imap:INBOX");
        return MAIL_FOLDER_NEEDS_REMOTE;
    }
    if (name[0] != '=')
        return MAIL_FOLDER_NEEDS_NOTHING;
    if (!name[1])
        return mail_error_set(err, MAIL_ERR_USAGE, "'=' needs a folder name, "
                              "as in =Sent");
    return MAIL_FOLDER_NEEDS_STORE;
}

struct mail_folder *mail_remote_open_any(struct mail_remote *r,
                                         const char *store, const char *name,
                                         int mode,
                                         const struct mail_paths *paths,
                                         struct mail_error *err)
{
    struct mail_folder *f;
    char *path, *forced = NULL;

    switch (mail_remote_name_needs(name, err)) {
    case MAIL_FOLDER_NEEDS_REMOTE:
        if (!r) {
            mail_error_set(err, MAIL_ERR_CONFIG, "%s: the account has no "
                           "imap server (imap = URL)", name);
            return NULL;
        }
        /* a mailbox is never created by opening it */
        return mail_remote_folder_open(r, name + 5, mode & ~MAIL_FOLDER_CREATE,
                                       paths, err);
    case MAIL_FOLDER_NEEDS_NOTHING:
        return mail_folder_open(name, mode, paths, err);
    case MAIL_FOLDER_NEEDS_STORE:
        break;
    default:
        return NULL;
    }
    if (!store || !*store) {
        mail_error_set(err, MAIL_ERR_CONFIG, "%s: the account has no store "
                       "(store = ~/Mail)", name);
        return NULL;
    }
    if (!(path = mail_store_folder_path(store, name + 1, err)))
        return NULL;
    /* a folder an mbox store makes is an mbox */
    if ((mode & MAIL_FOLDER_CREATE) && strncmp(store, "mbox:", 5) == 0 &&
        strncmp(path, "mbox:", 5) != 0 &&
        asprintf(&forced, "mbox:%s", path) < 0) {
        free(path);
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    f = mail_folder_open(forced ? forced : path, mode, paths, err);
    if (!f && err->kind == MAIL_ERR_NOTFOUND)
        mail_error_set(err, MAIL_ERR_NOTFOUND, "no folder '%s' in the store",
                       name + 1);
    free(forced);
    free(path);
    return f;
}
