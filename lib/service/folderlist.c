/*
 * folderlist.c - the account's folders with their counts, local and on
 * the server (mail/folderlist.h): `mail folders` and the reader's folder
 * list.
 */
#include <stdlib.h>
#include <string.h>

#include "mail/buf.h"
#include "mail/folder.h"
#include "mail/foldercache.h"
#include "mail/folderlist.h"
#include "mail/imap.h"

static bool cancelled(const int *cancel)
{
    return cancel && __atomic_load_n(cancel, __ATOMIC_ACQUIRE);
}

/* A new zeroed entry at the end of l, or NULL (out of memory). */
static struct mail_folderlist_entry *grow(struct mail_folderlist *l)
{
    struct mail_folderlist_entry *e;

    if (l->n == l->alloc) {
        size_t na = l->alloc ? 2 * l->alloc : 16;
        struct mail_folderlist_entry *nv = realloc(l->v, na * sizeof *nv);

        if (!nv)
            return NULL;
        l->v = nv;
        l->alloc = na;
    }
    e = &l->v[l->n];
    memset(e, 0, sizeof *e);
    return e;
}

struct local_ctx {
    struct mail_folderlist *out;
    const struct mail_paths *paths;
    const int *cancel;
    struct mail_error *err;
};

static int each_local(void *arg, const char *name, const char *path)
{
    struct local_ctx *c = arg;
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct mail_folderlist_entry *e;
    struct mail_folder *f;
    struct mail_error ferr;
    bool ok = false;

    if (cancelled(c->cancel))
        return mail_error_set(c->err, MAIL_ERR_TEMP, "cancelled");
    if (!(e = grow(c->out)))
        return mail_error_set(c->err, MAIL_ERR_INTERNAL, "out of memory");
    e->name = strdup(name);
    e->path = strdup(path);
    if (!e->name || !e->path) {
        free(e->name);
        free(e->path);
        return mail_error_set(c->err, MAIL_ERR_INTERNAL, "out of memory");
    }
    e->selectable = true;
    c->out->n++;
    mail_error_clear(&ferr);
    f = mail_folder_open(path, MAIL_FOLDER_RDONLY, c->paths, &ferr);
    if (f && mail_folder_list(f, &l, MAIL_FOLDER_LIST_BORROW, &ferr) == 0) {
        ok = true;
        e->has_messages = e->has_unread = true;
        e->messages = l.n;
        for (size_t i = 0; i < l.n; i++)
            e->unread += !(l.v[i].flags & MAIL_FLAG_SEEN);
    }
    if (!ok && (e->error = malloc(sizeof *e->error)))
        *e->error = ferr;
    mail_envelope_list_release(&l);
    if (f)
        mail_folder_close(f, NULL);
    return 0;
}

int mail_folderlist_local(const char *store, const struct mail_paths *paths,
                          const int *cancel, struct mail_folderlist *out,
                          struct mail_error *err)
{
    struct local_ctx c = { out, paths, cancel, err };

    if (mail_store_folders(store, each_local, &c, err) < 0) {
        if (err && !err->kind)
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        return -1;
    }
    return 0;
}

static const struct {
    unsigned attr;
    const char *name;
} special_uses[] = {
    { MAIL_IMAP_MBX_SENT, "sent" },
    { MAIL_IMAP_MBX_DRAFTS, "drafts" },
    { MAIL_IMAP_MBX_TRASH, "trash" },
    { MAIL_IMAP_MBX_JUNK, "junk" },
    { MAIL_IMAP_MBX_ARCHIVE, "archive" },
    { MAIL_IMAP_MBX_ALL, "all" },
    { MAIL_IMAP_MBX_FLAGGED, "flagged" },
    { MAIL_IMAP_MBX_IMPORTANT, "important" },
};

const char *mail_folderlist_special_use(unsigned attrs)
{
    for (size_t i = 0; i < sizeof special_uses / sizeof special_uses[0]; i++)
        if (attrs & special_uses[i].attr)
            return special_uses[i].name;
    return NULL;
}

/* Append the mailboxes l (with their counts st, parallel, or NULL). */
static int add_remote(struct mail_folderlist *out,
                      const struct mail_imap_mailboxes *l,
                      const struct mail_imap_mbx_status *st,
                      struct mail_error *err)
{
    for (size_t i = 0; i < l->n; i++) {
        struct mail_buf full = MAIL_BUF_INIT;
        struct mail_folderlist_entry *e = grow(out);

        if (!e)
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        mail_buf_printf(&full, "imap:%s", l->v[i].name);
        e->path = mail_buf_detach(&full);
        e->name = strdup(l->v[i].name);
        if (!e->name || !e->path) {
            free(e->name);
            free(e->path);
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        }
        e->remote = true;
        e->attrs = l->v[i].attrs;
        e->selectable = !(l->v[i].attrs & MAIL_IMAP_MBX_NOSELECT);
        e->special_use = mail_folderlist_special_use(l->v[i].attrs);
        if (st) {
            e->has_messages = st[i].has_messages;
            e->has_unread = st[i].has_unseen;
            e->messages = st[i].messages;
            e->unread = st[i].unseen;
        }
        out->n++;
    }
    return 0;
}

int mail_folderlist_cached(const struct mail_paths *paths,
                           const char *account, struct mail_folderlist *out,
                           struct mail_error *err)
{
    struct mail_imap_mailboxes l = { NULL, 0 };
    int rc;

    if (mail_imap_foldercache_load(paths, account, &l, err) < 0)
        return -1;
    rc = add_remote(out, &l, NULL, err);
    mail_imap_mailboxes_release(&l);
    return rc;
}

int mail_folderlist_remote(struct mail_remote *r,
                           const struct mail_paths *paths, const int *cancel,
                           struct mail_folderlist *out,
                           struct mail_error *err)
{
    struct mail_imap_mailboxes l = { NULL, 0 };
    struct mail_imap_mbx_status *st = NULL;
    const struct mail_account *acct = mail_remote_account(r);
    struct mail_session *s;
    struct mail_error cerr;
    size_t skipped = 0;
    int rc = -1;

    for (int attempt = 0; attempt < 2; attempt++) {
        mail_error_clear(err);
        s = mail_remote_session(r, err);
        if (s && mail_imap_list_status(s, &l, &st, &skipped, err) == 0) {
            rc = 0;
            break;
        }
        if (s)
            mail_remote_drop(r);
        if (!mail_remote_retryable(err) || cancelled(cancel))
            break;
    }
    if (rc < 0)
        return -1;
    /* the cache is a hint for completion: failing to write it is not
     * the listing's failure */
    mail_error_clear(&cerr);
    if (acct)
        (void)mail_imap_foldercache_save(paths, acct->name, &l, &cerr);
    out->skipped += skipped;
    rc = add_remote(out, &l, st, err);
    mail_imap_mailboxes_release(&l);
    free(st);
    return rc;
}

void mail_folderlist_release(struct mail_folderlist *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].path);
        free(l->v[i].error);
    }
    free(l->v);
    l->v = NULL;
    l->n = l->alloc = l->skipped = 0;
}
