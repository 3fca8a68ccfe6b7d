/*
 * drafts.c - the account's drafts folder (mail/drafts.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mail/drafts.h"
#include "mail/paths.h"

char *mail_drafts_path(const struct mail_account *a, struct mail_error *err)
{
    const char *v = a->drafts_folder;
    char *path = NULL;

    if (v && strncmp(v, "imap:", 5) == 0) {
        if (!v[5]) {
            mail_error_set(err, MAIL_ERR_CONFIG, "drafts-folder 'imap:' "
                           "needs a folder name, as in imap:Drafts");
            return NULL;
        }
        path = strdup(v);
    } else if (v && strncmp(v, "mbox:", 5) == 0)
        path = strdup(v);       /* mail_folder_open expands ~ */
    else if (v && *v && (v[0] == '/' || v[0] == '~'))
        path = mail_paths_expand_home(a->paths, v);
    else if (a->store && *a->store)
        path = mail_store_folder_path(a->store,
                                      v && *v ? v + (v[0] == '=')
                                              : "Drafts", err);
    else {
        mail_error_set(err, MAIL_ERR_CONFIG, "account '%s' has no "
                       "drafts-folder and no store to keep drafts in",
                       a->name);
        return NULL;
    }
    if (!path && err->kind == MAIL_OK)
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    return path;
}

struct mail_folder *mail_drafts_open(const struct mail_account *a,
                                     bool create, struct mail_error *err)
{
    char *path = mail_drafts_path(a, err);
    struct mail_folder *f;

    if (!path)
        return NULL;
    if (strncmp(path, "imap:", 5) == 0) {
        mail_error_set(err, MAIL_ERR_CONFIG, "drafts-folder %s is on the "
                       "IMAP server: open it through the account's session "
                       "(mail_remote_folder_open)", path);
        free(path);
        return NULL;
    }
    f = mail_folder_open(path, MAIL_FOLDER_RDWR |
                                   (create ? MAIL_FOLDER_CREATE : 0),
                         a->paths, err);
    if (!f)
        mail_error_prefix(err, "drafts folder %s", path);
    free(path);
    return f;
}

/* A sink into an append: ctx is the struct mail_append. */
static int append_sink(void *ctx, const char *data, size_t len,
                       struct mail_error *err)
{
    return mail_append_write(ctx, data, len, err);
}

/* Remove the message with this key from the open folder f. */
static int remove_key(struct mail_folder *f, const char *key,
                      struct mail_error *err)
{
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    int r = -1;

    if (mail_folder_list(f, &l, 0, err) < 0)
        goto done;
    for (size_t i = 0; i < l.n; i++)
        if (l.v[i].key && strcmp(l.v[i].key, key) == 0) {
            r = mail_folder_expunge(f, &l.v[i], err);
            goto done;
        }
    mail_error_set(err, MAIL_ERR_NOTFOUND, "no draft %s in %s", key,
                   mail_folder_path(f));
done:
    mail_envelope_list_release(&l);
    return r;
}

int mail_drafts_postpone_in(struct mail_folder *f,
                            const struct mail_draft *d,
                            const struct mail_draft_msg_opts *o,
                            const char *replace_key, bool *saved,
                            struct mail_error *err)
{
    struct mail_draft_msg_opts mo = *o;
    struct mail_append *ap;

    if (saved)
        *saved = false;
    mo.postpone = true;
    if (!(ap = mail_folder_append_begin(f, MAIL_FLAG_DRAFT | MAIL_FLAG_SEEN,
                                        0, err)))
        return -1;
    if (mail_draft_message_write(d, &mo, append_sink, ap, err) < 0) {
        mail_append_abort(ap);      /* err: the append's own error */
        return -1;
    }
    if (mail_append_commit(ap, NULL, err) < 0)
        return -1;
    if (saved)
        *saved = true;
    if (replace_key && remove_key(f, replace_key, err) < 0) {
        mail_error_prefix(err, "the old draft");
        return -1;
    }
    return 0;
}

int mail_drafts_postpone(const struct mail_account *a,
                         const struct mail_draft *d,
                         const struct mail_draft_msg_opts *o,
                         const char *replace_key, char **where, bool *saved,
                         struct mail_error *err)
{
    struct mail_folder *f;
    int r;

    if (where)
        *where = NULL;
    if (saved)
        *saved = false;
    if (!(f = mail_drafts_open(a, true, err)))
        return -1;
    if (where && !(*where = strdup(mail_folder_path(f)))) {
        mail_folder_close(f, NULL);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    r = mail_drafts_postpone_in(f, d, o, replace_key, saved, err);
    if (mail_folder_close(f, r == 0 ? err : NULL) < 0 && r == 0)
        r = -1;
    return r;
}

int mail_drafts_remove_in(struct mail_folder *f, const char *key,
                          struct mail_error *err)
{
    return remove_key(f, key, err);
}

int mail_drafts_remove(const struct mail_account *a, const char *key,
                       struct mail_error *err)
{
    struct mail_folder *f = mail_drafts_open(a, false, err);
    int r;

    if (!f)
        return -1;
    r = remove_key(f, key, err);
    if (mail_folder_close(f, r == 0 ? err : NULL) < 0)
        r = -1;
    return r;
}
