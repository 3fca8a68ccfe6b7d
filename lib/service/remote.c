/*
 * remote.c - the account's IMAP session for everything that works on the
 * server in place (remote.h).
 */
#include <stdlib.h>
#include <string.h>

#include "mail/folder.h"
#include "mail/imap.h"
#include "mail/remote.h"

struct mail_remote {
    const struct mail_account *acct;
    struct mail_remote_opts o;
    struct mail_server srv;       /* refers into acct; s->srv points here */
    struct mail_buf secret;       /* asked for once, wiped on close */
    struct mail_session *s;
    bool lost;                    /* s must not be used again */
    const void *selected;         /* the imap: folder selected on s */
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

    if (!s)
        return NULL;
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
     * SPECIAL-USE); the driver decides by what s->caps lists now. */
    if (mail_imap_capability(s, err) < 0)
        goto fail;
    return s;
fail:
    mail_session_free(s);
    return NULL;
}

struct mail_session *mail_remote_session(struct mail_remote *r,
                                         struct mail_error *err)
{
    if (r->s && r->lost) {
        mail_session_free(r->s);
        r->s = NULL;
    }
    if (!r->s) {
        r->s = connect_and_login(r, err);
        r->lost = false;
    }
    return r->s;
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
    if (r->s && !r->lost)
        mail_imap_logout(r->s);
    else
        mail_session_free(r->s);
    mail_buf_release_secret(&r->secret);
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

    return mail_imap_folder_open(&c, name, mode, paths, err);
}
