/*
 * fetch_imap.c - `mail fetch` over IMAP: the folders to fetch (INBOX,
 * --folder or fetch-folders, patterns matched against LIST), and for each
 * folder: SELECT or EXAMINE, UIDVALIDITY, the UIDs the state has not
 * seen, UID FETCH in durable batches, then removal on the server of what
 * is recorded (--delete: UID EXPUNGE, else MOVE to the trash).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/imap.h"
#include "fetch_internal.h"

struct imap_batch {
    struct fetch_run *r;
    const uint32_t *uids;
    size_t n;
    bool begun;
};

static int imap_begin(void *arg, const struct mail_imap_msg *m,
                      struct mail_imap_body_sink *sink,
                      struct mail_error *err)
{
    struct imap_batch *b = arg;
    size_t lo = 0, hi = b->n;

    while (lo < hi) {           /* the batch is in ascending UID order */
        size_t mid = (lo + hi) / 2;

        if (b->uids[mid] < m->uid)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!m->has_uid || lo >= b->n || b->uids[lo] != m->uid)
        return 0;               /* not ours: skip the body */
    if (mail_fetch_msg_begin(b->r->src, lo, m->has_flags ? m->flags : 0,
                             m->has_date && m->internaldate > 0
                                 ? m->internaldate : 0, err) < 0)
        return -1;
    b->begun = true;
    sink->fn = mail_fetch_msg_write_crlf;
    sink->ctx = b->r->src;
    return 0;
}

static int imap_end(void *arg, const struct mail_imap_msg *m,
                    struct mail_error *err)
{
    struct imap_batch *b = arg;

    (void)m;
    if (!b->begun)
        return 0;
    b->begun = false;
    b->r->done++;
    if (mail_fetch_msg_end(b->r->src, true, err) < 0)
        return -1;
    fetch_progress(b->r, false);
    return 0;
}

/*
 * Delete the fetched messages uids of the selected folder name: UID
 * EXPUNGE (UIDPLUS) removes exactly them.  A server without UIDPLUS but
 * with MOVE gets them moved to the server's trash folder (trash-folder,
 * else "Trash") instead: a plain EXPUNGE would also remove whatever else is
 * marked \Deleted there.  Neither: refused (MAIL_ERR_UNAVAIL, exit 69).
 */
static int delete_imap(struct fetch_run *r, struct mail_session *s,
                       const char *name, const uint32_t *uids, size_t n,
                       struct mail_error *err)
{
    const char *trash = r->acct->trash_folder;

    /* trash-folder names a local folder (=NAME, NAME or a path); the
     * server's folder of that name, or Trash for a path. */
    if (trash && trash[0] == '=')
        trash++;
    if (!trash || !*trash || trash[0] == '/' || trash[0] == '~')
        trash = "Trash";

    /* What the server offers after login (mail_imap_open saw less). */
    if (!mail_session_has_cap(s, "UIDPLUS") &&
        mail_imap_capability(s, err) < 0)
        return -1;
    if (mail_session_has_cap(s, "UIDPLUS"))
        return mail_imap_expunge_uids(s, uids, n, err);
    if (!mail_session_has_cap(s, "MOVE"))
        return mail_error_set(err, MAIL_ERR_UNAVAIL, "%s: --delete: the "
                              "server offers neither UIDPLUS nor MOVE, so "
                              "deleting only the fetched messages is not "
                              "possible (a plain EXPUNGE would remove every "
                              "message marked deleted); refusing: use "
                              "--keep", s->name);
    if (mail_strcasecmp(trash, name) == 0)
        return mail_error_set(err, MAIL_ERR_UNAVAIL, "%s: --delete: the "
                              "server offers no UIDPLUS, and the messages "
                              "would be moved to the trash folder '%s', which "
                              "is the folder fetched; refusing", s->name,
                              trash);
    return mail_imap_move(s, uids, n, trash, err);
}

/* Fetch one folder; name is its UTF-8 name on the server.  1: it is not
 * there and r->o->skip_missing says to go on. */
static int fetch_imap_folder(struct fetch_run *r, struct mail_session *s,
                             const char *name, char delim,
                             struct mail_error *err)
{
    struct mail_imap_mailbox_state st;
    struct mail_imap_uids all = { NULL, 0, 0 };
    struct mail_buf key = MAIL_BUF_INIT;
    struct mail_fetch_dest *dest = NULL;
    struct mail_fetch_stats fs;
    uint32_t *todo = NULL, *dele = NULL;
    char **strs = NULL;
    size_t ntodo = 0, ndele = 0;
    bool del = r->o->del || (r->acct->fetch_delete && !r->o->keep);
    char *local = NULL;
    int rc = -1, x;

    r->folder = name;
    r->done = r->total = 0;
    if (!r->o->mda) {
        local = mail_fetch_local_folder(r->acct->store, name, delim, err);
        if (!local)
            goto out;
    }
    dest = mail_fetch_dest_open(r->acct->paths, local, r->o->mda, err);
    if (!dest)
        goto out;
    if (mail_buf_printf(&key, "imap %s@%s:%u %s", r->srv.user, r->srv.host,
                        r->srv.port, name) < 0)
        goto oom;
    r->src = mail_fetch_src_open(r->statedir, r->acct->name, key.data, dest,
                                 true, err);
    if (!r->src)
        goto out;
    mail_fetch_src_watch(r->src, &r->wd);
    if ((del ? mail_imap_select(s, name, &st, err)
             : mail_imap_examine(s, name, &st, err)) < 0) {
        if (r->o->skip_missing && err->kind == MAIL_ERR_NOTFOUND &&
            !err->conn_lost) {
            mail_error_clear(err);
            rc = 1;
        }
        goto out;
    }
    if (mail_fetch_set_uidvalidity(r->src, st.uidvalidity, err) < 0)
        goto out;
    /* With --delete every message we hold is a candidate; else only the
     * ones above the last UID fetched (one round trip on a rerun). */
    if (mail_imap_uids_after(s, del ? 0 : mail_fetch_last_uid(r->src), &all,
                             err) < 0) {
        if (err->kind == MAIL_ERR_UNAVAIL)   /* dropped: try again later */
            err->kind = MAIL_ERR_TEMP;
        goto out;
    }
    todo = calloc(all.n + 1, sizeof *todo);
    dele = calloc(all.n + 1, sizeof *dele);
    strs = calloc(all.n + 1, sizeof *strs);
    if (!todo || !dele || !strs)
        goto oom;
    for (size_t i = 0; i < all.n; i++) {
        char u[16];

        snprintf(u, sizeof u, "%u", all.v[i]);
        if (!mail_fetch_seen(r->src, u))
            todo[ntodo++] = all.v[i];
    }
    for (size_t i = 0; i < ntodo; i++) {
        strs[i] = malloc(16);
        if (!strs[i])
            goto oom;
        snprintf(strs[i], 16, "%u", todo[i]);
    }
    if (r->o->catch_up) {
        if (mail_fetch_mark(r->src, (const char *const *)strs, ntodo, err) < 0)
            goto out;
        ntodo = 0;
    }
    r->total = ntodo;
    for (size_t b = 0; b < ntodo; b += BATCH) {
        size_t n = ntodo - b < BATCH ? ntodo - b : BATCH;
        struct imap_batch ib = { r, todo + b, n, false };
        struct mail_imap_fetch_opts fo = {
            0, mail_paths_tmp_dir(r->acct->paths)
        };

        if (mail_fetch_batch_begin(r->src, (const char *const *)strs + b, n,
                                   err) < 0)
            goto out;
        x = mail_imap_fetch_messages(s, todo + b, n, &fo, imap_begin,
                                     imap_end, &ib, err);
        if (x < 0) {
            struct mail_error e2;

            /* (a store's failure comes back as the store's own error) */
            if (err->kind == MAIL_ERR_UNAVAIL)
                err->kind = MAIL_ERR_TEMP;
            mail_fetch_batch_commit(r->src, &e2);
            goto out;
        }
        if (mail_fetch_batch_commit(r->src, err) < 0)
            goto out;
    }
    fetch_progress(r, true);
    if (del) {
        for (size_t i = 0; i < all.n; i++) {
            char u[16];

            snprintf(u, sizeof u, "%u", all.v[i]);
            if (mail_fetch_seen(r->src, u))
                dele[ndele++] = all.v[i];
        }
        if (ndele && delete_imap(r, s, name, dele, ndele, err) < 0)
            goto out;
    }
    mail_fetch_stats(r->src, &fs);
    x = mail_fetch_src_close(r->src, NULL, 0, err);
    r->src = NULL;
    if (x < 0)
        goto out;
    mail_fetch_clock_progress(&r->wd);   /* a folder done */
    fetch_summary(r, &fs);
    rc = 0;
    goto out;
oom:
    mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
out:
    fetch_progress(r, true);
    if (r->src) {
        struct mail_error e2;

        mail_fetch_src_close(r->src, NULL, 0, &e2);
        r->src = NULL;
    }
    mail_fetch_dest_close(dest);
    /* (before all is released: its count bounds strs) */
    if (strs)
        for (size_t i = 0; i < all.n && strs[i]; i++)
            free(strs[i]);
    mail_imap_uids_release(&all);
    free(strs);
    free(todo);
    free(dele);
    free(local);
    mail_buf_release(&key);
    if (rc < 0 && !strstr(err->msg, name))
        mail_error_prefix(err, "%s", name);
    return rc;
}

/* An error of one folder only (the session is still good): a name the
 * server listed that cannot be selected, or has no local equivalent. */
static bool folder_only(const struct mail_error *err)
{
    return err->kind == MAIL_ERR_NOTFOUND || err->kind == MAIL_ERR_DATA ||
           err->kind == MAIL_ERR_USAGE;
}

static bool has_wildcard(const char *p)
{
    return strchr(p, '*') || strchr(p, '%');
}

int fetch_run_imap(struct fetch_run *r, struct mail_error *err)
{
    struct mail_imap_mailboxes boxes = { NULL, 0 };
    struct mail_session *s = NULL;
    char *conf = NULL, *save = NULL;
    const char *const *pat = NULL;
    const char **own = NULL;   /* the words of fetch-folders */
    size_t npat = 0, nbad = 0, nskipped = 0;
    bool wild = false;
    int rc = -1;

    mail_server_from_account(&r->srv, r->acct, &r->acct->imap);
    r->srv.deadline = &r->wd.dl;
    if (r->o->trace) {
        r->srv.trace = r->o->trace;
        r->srv.trace_arg = r->o->trace_arg;
    }
    if (r->o->nfolders) {
        pat = r->o->folders;
        npat = r->o->nfolders;
    } else if (r->acct->fetch_folders) {
        conf = strdup(r->acct->fetch_folders);
        own = calloc(strlen(r->acct->fetch_folders) + 1, sizeof *own);
        pat = own;
        if (!conf || !own) {
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            goto out;
        }
        for (char *w = strtok_r(conf, " \t", &save); w;
             w = strtok_r(NULL, " \t", &save))
            own[npat++] = w;
    }
    if (!npat) {
        static const char *inbox[] = { "INBOX" };

        pat = inbox;
        npat = 1;
    }
    for (size_t i = 0; i < npat; i++)
        wild |= has_wildcard(pat[i]);
    if (!r->o->mda) {
        /* The store first, so that its kind (Maildir, unless it says
         * mbox:) is settled before any subfolder is placed in it. */
        struct mail_fetch_dest *d = mail_fetch_dest_open(r->acct->paths,
                                                         r->acct->store,
                                                         NULL, err);
        if (!d)
            goto out;
        mail_fetch_dest_close(d);
    }
    s = mail_imap_open(&r->srv, err);
    if (!s)
        goto out;
    if (!s->authenticated &&
        (fetch_secret(r, err) < 0 ||
         mail_imap_login(s, r->secret.data, err) < 0))
        goto out;
    /* COMPRESS=DEFLATE is listed once logged in (mail_imap_capability
     * then starts it, imap_compress.h). */
    if (r->srv.compress && !mail_session_has_cap(s, "COMPRESS=DEFLATE") &&
        mail_imap_capability(s, err) < 0)
        goto out;
    if (wild) {
        if (mail_imap_list_counted(s, &boxes, &nskipped, err) < 0)
            goto out;
        if (nskipped && r->h->folders_skipped)
            r->h->folders_skipped(r->h->arg, r->acct->name, nskipped);
        for (size_t b = 0; b < boxes.n; b++) {
            const struct mail_imap_mailbox *m = &boxes.v[b];
            bool want = false;

            if (m->attrs & (MAIL_IMAP_MBX_NOSELECT |
                            MAIL_IMAP_MBX_NONEXISTENT))
                continue;
            for (size_t i = 0; i < npat && !want; i++)
                want = mail_fetch_pattern_match(pat[i], m->name, m->delim);
            if (!want || fetch_imap_folder(r, s, m->name, m->delim, err) >= 0)
                continue;
            if (!folder_only(err))
                goto out;
            /* This folder's name or state is bad (the server listed it):
             * say so and go on with the others; 76 at the end. */
            mail_error_prefix(err, "fetch %s", r->acct->name);
            if (r->h->folder_error)
                r->h->folder_error(r->h->arg, err);
            nbad++;
        }
        if (nbad) {
            mail_error_set(err, MAIL_ERR_PROTOCOL, "%zu of the server's "
                           "folders could not be fetched (see above); the "
                           "others were", nbad);
            mail_imap_logout(s);
            s = NULL;
            goto out;
        }
    } else {
        for (size_t i = 0; i < npat; i++)
            if (fetch_imap_folder(r, s, pat[i], '/', err) < 0)
                goto out;
    }
    mail_imap_logout(s);
    s = NULL;
    rc = 0;
out:
    if (s)
        mail_session_free(s);
    mail_imap_mailboxes_release(&boxes);
    free(own);
    free(conf);
    return rc;
}

