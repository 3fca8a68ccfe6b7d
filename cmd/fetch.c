/*
 * fetch.c - `mail fetch`: download new mail from the account's POP3 or
 * IMAP server into its store (or an MDA), exactly once, from cron.
 *
 * The durable bookkeeping lives in lib/service/fetch.c (state, journal, lock);
 * this file drives the protocols through it: list what the server has,
 * fetch what the state has not seen in batches (each batch delivered and
 * recorded durably before the next), delete on the server only what is
 * recorded, then QUIT/LOGOUT.  Silent on success; -v prints a summary
 * per folder, -vv the protocol trace.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmd.h"
#include "mail/fetch.h"
#include "mail/folder.h"
#include "mail/imap.h"
#include "mail/pop3.h"

#define BATCH 256       /* messages per durable batch */

struct fetch_opts {
    bool all, keep, del, catch_up, wait;
    const char *mda;
    const char **folders;
    size_t nfolders;
};

/* One account's run. */
struct fetch_run {
    struct cmd_ctx *ctx;
    const struct fetch_opts *o;
    struct mail_account *acct;
    char *statedir;
    struct mail_fetch_dest *dest;
    struct mail_fetch_src *src;
    struct mail_fetch_watchdog *wd;   /* the run's deadline */
    struct mail_server srv;
    struct cmd_trace tr;
    struct mail_buf secret;
    bool progress;
    const char *folder;          /* for messages: "INBOX" */
    size_t total, done;          /* progress of the current folder */
    uint64_t bytes;
    /* POP3 */
    const struct mail_pop3_msg *batch;
};

/* A byte count in human units: "512 B", "9.9 KB", "1.2 MB", "3.4 GB"
 * (powers of 1000, one decimal). */
static void human_size(char *out, size_t size, uint64_t n)
{
    static const char *const unit[] = { "KB", "MB", "GB", "TB" };
    double v = (double)n;
    size_t u = 0;

    if (n < 1000) {
        snprintf(out, size, "%u B", (unsigned)n);
        return;
    }
    v /= 1000;
    while (v >= 999.95 && u + 1 < sizeof unit / sizeof *unit) {
        v /= 1000;
        u++;
    }
    snprintf(out, size, "%.1f %s", v, unit[u]);
}

static void progress(struct fetch_run *r, bool end)
{
    struct mail_fetch_stats st;
    char sz[32];

    if (!r->progress)
        return;
    if (end) {
        fputs("\r\033[K", stderr);
        return;
    }
    mail_fetch_stats(r->src, &st);
    human_size(sz, sizeof sz, st.bytes);
    /* the names come from the config and the server: never raw */
    fputc('\r', stderr);
    out_safe_str(stderr, r->acct->name);
    fputc('/', stderr);
    out_safe_str(stderr, r->folder);
    fprintf(stderr, ": %zu/%zu messages, %s\033[K",
            r->done < r->total ? r->done : r->total, r->total, sz);
}

static void summary(struct fetch_run *r, const struct mail_fetch_stats *st)
{
    char sz[32];

    if (r->ctx->verbose < 1 || r->ctx->quiet)
        return;
    human_size(sz, sizeof sz, st->bytes);
    out_safe_str(stdout, r->acct->name);
    fputc('/', stdout);
    out_safe_str(stdout, r->folder);
    fputc(':', stdout);
    if (r->o->catch_up)
        printf(" %zu marked as fetched without downloading,", st->marked);
    printf(" %zu new, %s", st->delivered, sz);
    if (st->duplicates)
        printf(", %zu already here", st->duplicates);
    if (st->recovered)
        printf(", %zu recovered after an interruption", st->recovered);
    fputc('\n', stdout);
}

static int get_secret(struct fetch_run *r, struct mail_error *err)
{
    if (r->secret.len)
        return 0;
    return mail_account_password(r->acct, r->srv.host, r->srv.user,
                                 cmd_prompt_password, NULL, &r->secret, err);
}

/* ---- POP3 ---- */

static int pop3_begin(void *ctx, size_t i, mail_sink_fn *sink,
                      void **sink_ctx, struct mail_error *err)
{
    struct fetch_run *r = ctx;

    if (mail_fetch_msg_begin(r->src, i, 0, 0, err) < 0)
        return -1;
    *sink = mail_fetch_msg_write;
    *sink_ctx = r->src;
    return 0;
}

static int pop3_end(void *ctx, size_t i, const struct mail_reply *refused,
                    struct mail_error *err)
{
    struct fetch_run *r = ctx;

    (void)i;
    r->done++;
    if (refused) {
        /* The message went away (another client deleted it): skip it. */
        return 0;
    }
    if (mail_fetch_msg_end(r->src, true, err) < 0)
        return -1;
    progress(r, false);
    return 0;
}

static const struct mail_pop3_retr_ops pop3_ops = { pop3_begin, pop3_end };

/*
 * fetch-oversized = headers: keep the header of each message over
 * fetch-max-size (TOP n 0) as a local message of its own, under the key
 * "UID/header", with a first line saying what was left out.  A message
 * whose msgno is 0 has its header here already.  A -ERR (the message went
 * away, or no TOP) skips the message; -1 leaves the session unusable.
 */
static int fetch_pop3_headers(struct fetch_run *r, struct mail_session *s,
                              const struct mail_pop3_msg *big,
                              char *const *keys, size_t nbig,
                              struct mail_error *err)
{
    const char **k = calloc(nbig + 1, sizeof *k);
    const struct mail_pop3_msg **m = calloc(nbig + 1, sizeof *m);
    size_t n = 0;
    int rc = -1;

    if (!k || !m) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nbig; i++) {
        if (!big[i].msgno)
            continue;
        k[n] = keys[i];
        m[n++] = &big[i];
    }
    if (!n) {
        rc = 0;
        goto out;
    }
    if (mail_fetch_batch_begin(r->src, k, n, err) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        char line[120];
        int x;

        if (mail_fetch_msg_begin(r->src, i, 0, 0, err) < 0)
            goto fail;
        snprintf(line, sizeof line, "X-Mail-Fetch-Truncated: %llu bytes "
                 "not downloaded (over fetch-max-size)\n",
                 (unsigned long long)m[i]->size);
        mail_fetch_msg_write(r->src, line, strlen(line));
        x = mail_pop3_top(s, m[i]->msgno, 0, 0, true, mail_fetch_msg_write,
                          r->src, err);
        if (x != 0) {
            struct mail_error e2;

            mail_fetch_msg_end(r->src, false, &e2);
            if (x < 0) {
                if (err->kind == MAIL_ERR_UNAVAIL)
                    err->kind = MAIL_ERR_TEMP;
                mail_fetch_batch_commit(r->src, &e2);
                goto out;
            }
            continue;           /* -ERR: gone, or no TOP; try next time */
        }
        if (mail_fetch_msg_end(r->src, true, err) < 0)
            goto fail;
        if (!r->ctx->quiet)
            fprintf(stderr, "mail: %s: message %u is %llu bytes, over "
                    "fetch-max-size: its header is kept here, the message "
                    "left on the server\n", s->name, m[i]->msgno,
                    (unsigned long long)m[i]->size);
    }
    if (mail_fetch_batch_commit(r->src, err) >= 0)
        rc = 0;
    goto out;
fail: {
        struct mail_error e2;

        mail_fetch_batch_commit(r->src, &e2);   /* keep what is whole */
    }
out:
    free(k);
    free(m);
    return rc;
}

static int fetch_pop3(struct fetch_run *r, struct mail_error *err)
{
    struct mail_pop3_msgs m = MAIL_POP3_MSGS_INIT;
    struct mail_pop3_msg *todo = NULL, *big = NULL;
    const char **present = NULL, **uids = NULL;
    char **bigkeys = NULL;
    unsigned *dele = NULL;
    size_t ntodo = 0, npresent = 0, ndele = 0, ndup = 0, nbig = 0;
    bool headers = r->acct->fetch_oversized == MAIL_FETCH_OVERSIZED_HEADERS;
    struct mail_session *s = NULL;
    struct mail_buf key = MAIL_BUF_INIT;
    struct mail_fetch_stats st;
    long long maxsize = r->acct->fetch_max_size;
    bool del = r->o->del || (r->acct->fetch_delete && !r->o->keep);
    int rc = -1, x;

    r->folder = "INBOX";
    mail_server_from_account(&r->srv, r->acct, &r->acct->pop3);
    if (r->ctx->verbose >= 2) {
        r->tr.proto = "pop3";
        r->srv.trace = cmd_trace_fn;
        r->srv.trace_arg = &r->tr;
    }
    s = mail_pop3_open(&r->srv, err);
    if (!s)
        goto out;
    if (get_secret(r, err) < 0 || mail_pop3_login(s, r->secret.data, err) < 0)
        goto out;
    x = mail_pop3_uidl(s, &m, &ndup, err);
    if (x == 1)
        mail_error_prefix(err, "the server has no UIDL, so mail fetch cannot "
                          "tell new messages from old ones");
    if (x != 0)
        goto out;
    if (mail_pop3_list(s, &m, err) != 0)
        goto out;
    if (mail_buf_printf(&key, "pop3 %s@%s:%u", r->srv.user, r->srv.host,
                        r->srv.port) < 0)
        goto oom;
    r->src = mail_fetch_src_open(r->statedir, r->acct->name, key.data,
                                 r->dest, false, err);
    if (!r->src)
        goto out;
    mail_fetch_src_watch(r->src, r->wd);
    /* present: each UID, and for an oversized message whose header is
     * kept, its header's key too (so that the state keeps it). */
    present = calloc(2 * m.n + 1, sizeof *present);
    todo = calloc(m.n + 1, sizeof *todo);
    big = calloc(m.n + 1, sizeof *big);
    bigkeys = calloc(m.n + 1, sizeof *bigkeys);
    uids = calloc(m.n + 1, sizeof *uids);
    dele = calloc(m.n + 1, sizeof *dele);
    if (!present || !todo || !big || !bigkeys || !uids || !dele)
        goto oom;
    for (size_t i = 0; i < m.n; i++) {
        const struct mail_pop3_msg *p = &m.v[i];

        if (!p->uid[0] || p->dup_uid)
            continue;
        present[npresent++] = p->uid;
        if (mail_fetch_seen(r->src, p->uid))
            continue;
        if (maxsize > 0 && p->size > (uint64_t)maxsize && headers) {
            /* Its header is kept as a message of its own, under the key
             * "UID/header": the UID itself stays unfetched, so that the
             * message is neither deleted on the server (--delete) nor
             * kept from a later run with a larger fetch-max-size. */
            struct mail_buf k = MAIL_BUF_INIT;

            if (mail_buf_printf(&k, "%s/header", p->uid) < 0) {
                mail_buf_release(&k);
                goto oom;
            }
            bigkeys[nbig] = mail_buf_detach(&k);
            present[npresent++] = bigkeys[nbig];
            big[nbig] = *p;
            if (mail_fetch_seen(r->src, bigkeys[nbig]))
                big[nbig].msgno = 0;    /* its header is here already */
            nbig++;
            continue;
        }
        if (maxsize > 0 && p->size > (uint64_t)maxsize) {
            if (!r->ctx->quiet) {
                fprintf(stderr, "mail: %s: message %u is %llu bytes, over "
                        "fetch-max-size: left on the server\n", s->name,
                        p->msgno, (unsigned long long)p->size);
            }
            continue;
        }
        todo[ntodo++] = *p;
    }
    if (ndup && !r->ctx->quiet)
        fprintf(stderr, "mail: %s: %zu messages share a UIDL with another "
                "one and are left on the server\n", s->name, ndup);
    if (r->o->catch_up) {
        for (size_t i = 0; i < ntodo; i++)
            uids[i] = todo[i].uid;
        if (mail_fetch_mark(r->src, uids, ntodo, err) < 0 ||
            mail_fetch_mark(r->src, (const char *const *)bigkeys, nbig,
                            err) < 0)
            goto out;
        ntodo = 0;
        nbig = 0;
    }
    r->total = ntodo;
    for (size_t b = 0; b < ntodo; b += BATCH) {
        size_t n = ntodo - b < BATCH ? ntodo - b : BATCH;

        for (size_t i = 0; i < n; i++)
            uids[i] = todo[b + i].uid;
        if (mail_fetch_batch_begin(r->src, uids, n, err) < 0)
            goto out;
        x = mail_pop3_retr_many(s, todo + b, n, true, &pop3_ops, r, err);
        if (x < 0) {
            struct mail_error e2;

            mail_fetch_msg_error(r->src, err);   /* the store's cause */

            /* A drop in the middle of the transfer is worth a retry:
             * the server was there a moment ago (cron tries again). */
            if (err->kind == MAIL_ERR_UNAVAIL)
                err->kind = MAIL_ERR_TEMP;
            /* keep what arrived whole */
            mail_fetch_batch_commit(r->src, &e2);
            mail_session_free(s);
            s = NULL;
            goto out;
        }
        if (mail_fetch_batch_commit(r->src, err) < 0)
            goto out;
    }
    if (nbig && fetch_pop3_headers(r, s, big, bigkeys, nbig, err) < 0) {
        mail_session_free(s);
        s = NULL;
        goto out;
    }
    progress(r, true);
    if (del) {
        /* Only what is durably here: recorded in the state. */
        for (size_t i = 0; i < m.n; i++)
            if (m.v[i].uid[0] && !m.v[i].dup_uid &&
                mail_fetch_seen(r->src, m.v[i].uid))
                dele[ndele++] = m.v[i].msgno;
        if (ndele && mail_pop3_dele_many(s, dele, ndele, NULL, err) < 0) {
            mail_session_free(s);
            s = NULL;
            goto out;
        }
    }
    mail_fetch_stats(r->src, &st);
    x = mail_fetch_src_close(r->src, present, npresent, err);
    r->src = NULL;
    if (x < 0)
        goto out;
    /* QUIT commits the deletions. */
    mail_pop3_quit(s);
    s = NULL;
    summary(r, &st);
    rc = 0;
    goto out;
oom:
    mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
out:
    progress(r, true);
    if (r->src) {
        struct mail_error e2;

        mail_fetch_src_close(r->src, NULL, 0, &e2);
        r->src = NULL;
    }
    if (s)
        mail_pop3_quit(s);
    mail_pop3_msgs_release(&m);
    mail_buf_release(&key);
    free(present);
    free(todo);
    free(uids);
    free(dele);
    free(big);
    if (bigkeys)                /* NULL-terminated: calloc'd m.n + 1 */
        for (size_t i = 0; bigkeys[i]; i++)
            free(bigkeys[i]);
    free(bigkeys);
    return rc;
}

/* ---- IMAP ---- */

struct imap_batch {
    struct fetch_run *r;
    const uint32_t *uids;
    size_t n;
    bool begun;
};

static int imap_begin(void *arg, const struct mail_imap_msg *m,
                      mail_sink_fn *sink, void **sink_ctx,
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
    *sink = mail_fetch_msg_write_crlf;
    *sink_ctx = b->r->src;
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
    progress(b->r, false);
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

/* Fetch one folder; name is its UTF-8 name on the server. */
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
    dest = mail_fetch_dest_open(local, r->o->mda, err);
    if (!dest)
        goto out;
    if (mail_buf_printf(&key, "imap %s@%s:%u %s", r->srv.user, r->srv.host,
                        r->srv.port, name) < 0)
        goto oom;
    r->src = mail_fetch_src_open(r->statedir, r->acct->name, key.data, dest,
                                 true, err);
    if (!r->src)
        goto out;
    mail_fetch_src_watch(r->src, r->wd);
    if ((del ? mail_imap_select(s, name, &st, err)
             : mail_imap_examine(s, name, &st, err)) < 0)
        goto out;
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

        if (mail_fetch_batch_begin(r->src, (const char *const *)strs + b, n,
                                   err) < 0)
            goto out;
        x = mail_imap_fetch_messages(s, todo + b, n, 0, imap_begin, imap_end,
                                     &ib, err);
        if (x < 0) {
            struct mail_error e2;

            mail_fetch_msg_error(r->src, err);   /* the store's cause */

            if (err->kind == MAIL_ERR_UNAVAIL)
                err->kind = MAIL_ERR_TEMP;
            mail_fetch_batch_commit(r->src, &e2);
            goto out;
        }
        if (mail_fetch_batch_commit(r->src, err) < 0)
            goto out;
    }
    progress(r, true);
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
    mail_fetch_watchdog_progress(r->wd);   /* a folder done */
    summary(r, &fs);
    rc = 0;
    goto out;
oom:
    mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
out:
    progress(r, true);
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

static int fetch_imap(struct fetch_run *r, struct mail_error *err)
{
    struct mail_imap_mailboxes boxes = { NULL, 0 };
    struct mail_session *s = NULL;
    char *conf = NULL, *save = NULL;
    const char **pat = NULL;
    size_t npat = 0, nbad = 0;
    bool wild = false;
    int rc = -1;

    mail_server_from_account(&r->srv, r->acct, &r->acct->imap);
    if (r->ctx->verbose >= 2) {
        r->tr.proto = "imap";
        r->srv.trace = cmd_trace_fn;
        r->srv.trace_arg = &r->tr;
    }
    if (r->o->nfolders) {
        pat = r->o->folders;
        npat = r->o->nfolders;
    } else if (r->acct->fetch_folders) {
        conf = strdup(r->acct->fetch_folders);
        pat = calloc(strlen(r->acct->fetch_folders) + 1, sizeof *pat);
        if (!conf || !pat) {
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            goto out;
        }
        for (char *w = strtok_r(conf, " \t", &save); w;
             w = strtok_r(NULL, " \t", &save))
            pat[npat++] = w;
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
        struct mail_fetch_dest *d = mail_fetch_dest_open(r->acct->store,
                                                         NULL, err);
        if (!d)
            goto out;
        mail_fetch_dest_close(d);
    }
    s = mail_imap_open(&r->srv, err);
    if (!s)
        goto out;
    if (!s->authenticated &&
        (get_secret(r, err) < 0 || mail_imap_login(s, r->secret.data, err) < 0))
        goto out;
    if (wild) {
        if (mail_imap_list(s, &boxes, err) < 0)
            goto out;
        for (size_t b = 0; b < boxes.n; b++) {
            const struct mail_imap_mailbox *m = &boxes.v[b];
            bool want = false;

            if (m->attrs & (MAIL_IMAP_MBX_NOSELECT | MAIL_IMAP_MBX_NONEXISTENT))
                continue;
            for (size_t i = 0; i < npat && !want; i++)
                want = mail_fetch_pattern_match(pat[i], m->name, m->delim);
            if (!want || fetch_imap_folder(r, s, m->name, m->delim, err) == 0)
                continue;
            if (!folder_only(err))
                goto out;
            /* This folder's name or state is bad (the server listed it):
             * say so and go on with the others; 76 at the end. */
            mail_error_prefix(err, "fetch %s", r->acct->name);
            cmd_fail(err);
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
    if (conf)
        free(pat);
    free(conf);
    return rc;
}

/* ---- one account ---- */

static int fetch_account(struct cmd_ctx *ctx, const struct fetch_opts *o,
                         struct mail_account *acct)
{
    struct fetch_run r;
    struct mail_error err;
    bool use_pop3;
    int lock = -1, rc;
    const struct mail_url *u = NULL;

    memset(&r, 0, sizeof r);
    mail_buf_init(&r.secret, 0);
    r.ctx = ctx;
    r.o = o;
    r.acct = acct;
    r.progress = !ctx->quiet && isatty(2);
    mail_error_clear(&err);

    use_pop3 = acct->has_pop3 && (ctx->ov.pop3 || !acct->has_imap);
    if (!acct->has_pop3 && !acct->has_imap) {
        mail_error_set(&err, MAIL_ERR_CONFIG, "no imap or pop3 server "
                       "configured");
        goto fail;
    }
    u = use_pop3 ? &acct->pop3 : &acct->imap;
    if (!o->mda && !acct->store) {
        mail_error_set(&err, MAIL_ERR_CONFIG, "no store configured (set "
                       "store = ~/Mail/%s, or give --mda)", acct->name);
        goto fail;
    }
    r.statedir = mail_fetch_state_dir(&err);
    if (!r.statedir)
        goto fail;
    lock = mail_fetch_lock(r.statedir, acct->name, o->wait, &err);
    if (lock < 0)
        goto fail;
    /* The deadline: no progress for 10 x the timeout (5 minutes by
     * default) and the connection is cut, the lock freed. */
    r.wd = mail_fetch_watchdog_start(10u * (unsigned)(acct->timeout > 0 ?
                                                      acct->timeout : 30),
                                     u->port, &err);
    if (!r.wd)
        goto fail;
    if (use_pop3) {
        r.dest = mail_fetch_dest_open(acct->store, o->mda, &err);
        if (!r.dest)
            goto fail;
        if (o->nfolders) {
            mail_error_set(&err, MAIL_ERR_USAGE, "--folder needs IMAP; "
                           "POP3 has one maildrop");
            goto fail;
        }
        rc = fetch_pop3(&r, &err);
    } else {
        rc = fetch_imap(&r, &err);
    }
    if (rc < 0)
        goto fail;
    mail_fetch_watchdog_stop(r.wd);
    mail_fetch_dest_close(r.dest);
    mail_fetch_unlock(lock);
    mail_buf_release_secret(&r.secret);
    free(r.statedir);
    return 0;
fail:
    /* One line: account, server, cause. */
    {
        struct mail_error e2 = err;
        char where[300];

        if (mail_fetch_watchdog_fired(r.wd))
            mail_error_set(&e2, MAIL_ERR_TEMP, "no progress for %u s (10 "
                           "times the timeout): gave up so as not to hold "
                           "the account's lock; what arrived whole is kept, "
                           "try again later", mail_fetch_watchdog_limit(r.wd));
        mail_fetch_watchdog_stop(r.wd);

        if (acct->has_pop3 || acct->has_imap) {
            u = use_pop3 ? &acct->pop3 : &acct->imap;
            snprintf(where, sizeof where, "%s %s:%u", mail_proto_name(u->proto),
                     u->host, u->port);
        } else {
            where[0] = '\0';
        }
        if (where[0] && !strstr(e2.msg, u->host))
            mail_error_prefix(&e2, "fetch %s (%s)", acct->name, where);
        else
            mail_error_prefix(&e2, "fetch %s", acct->name);
        rc = cmd_fail(&e2);
    }
    mail_fetch_dest_close(r.dest);
    mail_fetch_unlock(lock);
    mail_buf_release_secret(&r.secret);
    free(r.statedir);
    return rc;
}

enum {
    OPT_ALL = OPT_FIRST_COMMAND_OPTION, OPT_KEEP, OPT_DELETE, OPT_FOLDER,
    OPT_CATCH_UP, OPT_MDA, OPT_WAIT,
};

int cmd_fetch(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        CMD_COMMON_LONG,
        { "all", no_argument, NULL, OPT_ALL },
        { "keep", no_argument, NULL, OPT_KEEP },
        { "delete", no_argument, NULL, OPT_DELETE },
        { "folder", required_argument, NULL, OPT_FOLDER },
        { "catch-up", no_argument, NULL, OPT_CATCH_UP },
        { "mda", required_argument, NULL, OPT_MDA },
        { "wait", no_argument, NULL, OPT_WAIT },
        { NULL, 0, NULL, 0 },
    };
    struct fetch_opts o;
    struct mail_account *acct;
    int opt, rc = 0;

    memset(&o, 0, sizeof o);
    o.folders = calloc((size_t)argc + 1, sizeof *o.folders);
    if (!o.folders)
        return cmd_failf(EX_SOFTWARE, "out of memory");
    opterr = 0;
    while ((opt = getopt_long(argc, argv, CMD_COMMON_SHORT, longopts,
                              NULL)) != -1) {
        switch (opt) {
        case OPT_ALL:
            o.all = true;
            continue;
        case OPT_KEEP:
            o.keep = true;
            continue;
        case OPT_DELETE:
            o.del = true;
            continue;
        case OPT_FOLDER:
            o.folders[o.nfolders++] = optarg;
            continue;
        case OPT_CATCH_UP:
            o.catch_up = true;
            continue;
        case OPT_MDA:
            o.mda = optarg;
            continue;
        case OPT_WAIT:
            o.wait = true;
            continue;
        case '?':
        case ':':
            free(o.folders);
            return cmd_usage_error("fetch", "unknown or incomplete option "
                                   "'%s'", argv[optind - 1]);
        }
        rc = cmd_common_option(ctx, "fetch", opt, optarg);
        if (rc == 1)
            rc = cmd_usage_error("fetch", "unknown option");
        if (rc != 0) {
            free(o.folders);
            return rc < 0 ? 0 : rc;
        }
    }
    if (optind < argc) {
        free(o.folders);
        return cmd_usage_error("fetch", "unexpected argument '%s'",
                               argv[optind]);
    }
    if (o.keep && o.del) {
        free(o.folders);
        return cmd_usage_error("fetch", "--keep and --delete exclude each "
                               "other");
    }
    if (o.all && ctx->account_name) {
        free(o.folders);
        return cmd_usage_error("fetch", "--all and -a exclude each other");
    }
    rc = cmd_load_account(ctx, &acct);
    if (rc) {
        free(o.folders);
        return rc;
    }
    if (!o.all) {
        rc = fetch_account(ctx, &o, acct);
    } else {
        for (size_t i = 0; i < ctx->cfg.naccounts; i++) {
            struct mail_account *a = &ctx->cfg.accounts[i];
            int r;

            if (!a->has_imap && !a->has_pop3)
                continue;
            r = fetch_account(ctx, &o, a);
            if (r && !rc)
                rc = r;
        }
    }
    free(o.folders);
    return rc;
}
