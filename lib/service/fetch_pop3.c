/*
 * fetch_pop3.c - `mail fetch` over POP3: UIDL and LIST, RETR of what the
 * state has not seen in durable batches (oversized messages left on the
 * server, or their header kept: fetch-oversized), then DELE of what is
 * recorded as durably stored (--delete), committed by QUIT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/pop3.h"
#include "fetch_internal.h"

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
    fetch_progress(r, false);
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
        x = mail_fetch_msg_write(r->src, line, strlen(line), err) < 0
            ? -1   /* the store's error */
            : mail_pop3_top(s, m[i]->msgno, 0, 0, true, mail_fetch_msg_write,
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
        fetch_note(r, "%s: message %u is %llu bytes, over fetch-max-size: "
                   "its header is kept here, the message left on the server",
                   s->name, m[i]->msgno, (unsigned long long)m[i]->size);
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

/* What one POP3 run works on: the server's listing and what to do with
 * it. */
struct pop3_job {
    struct mail_session *s;
    struct mail_pop3_msgs m;        /* UIDL and LIST */
    size_t ndup;                    /* messages sharing a UIDL */
    struct mail_pop3_msg *todo;     /* to fetch */
    struct mail_pop3_msg *big;      /* oversized, their header kept */
    char **bigkeys;                 /* their keys "UID/header";
                                       NULL-terminated (m.n + 1) */
    const char **present;           /* every key the server still has */
    const char **uids;              /* one batch's UIDs */
    size_t ntodo, nbig, npresent;
};

/* Connect, log in, UIDL and LIST. */
static int pop3_connect(struct fetch_run *r, struct pop3_job *j,
                        struct mail_error *err)
{
    int x;

    mail_server_from_account(&r->srv, r->acct, &r->acct->pop3);
    r->srv.deadline = &r->wd.dl;
    if (r->o->trace) {
        r->srv.trace = r->o->trace;
        r->srv.trace_arg = r->o->trace_arg;
    }
    j->s = mail_pop3_open(&r->srv, err);
    if (!j->s)
        return -1;
    if (fetch_secret(r, err) < 0 ||
        mail_pop3_login(j->s, r->secret.data, err) < 0)
        return -1;
    x = mail_pop3_uidl(j->s, &j->m, &j->ndup, err);
    if (x == 1)
        mail_error_prefix(err, "the server has no UIDL, so mail fetch cannot "
                          "tell new messages from old ones");
    if (x != 0 || mail_pop3_list(j->s, &j->m, err) != 0)
        return -1;
    return 0;
}

/* Sort the listing: present (each UID, and for an oversized message
 * whose header is kept, its header's key too, so that the state keeps
 * it), to fetch, oversized. */
static int pop3_plan(struct fetch_run *r, struct pop3_job *j,
                     struct mail_error *err)
{
    bool headers = r->acct->fetch_oversized == MAIL_FETCH_OVERSIZED_HEADERS;
    long long maxsize = r->acct->fetch_max_size;
    size_t n = j->m.n;

    j->present = calloc(2 * n + 1, sizeof *j->present);
    j->todo = calloc(n + 1, sizeof *j->todo);
    j->big = calloc(n + 1, sizeof *j->big);
    j->bigkeys = calloc(n + 1, sizeof *j->bigkeys);
    j->uids = calloc(n + 1, sizeof *j->uids);
    if (!j->present || !j->todo || !j->big || !j->bigkeys || !j->uids)
        return fetch_nomem(err);
    for (size_t i = 0; i < n; i++) {
        const struct mail_pop3_msg *p = &j->m.v[i];

        if (!p->uid[0] || p->dup_uid)
            continue;
        j->present[j->npresent++] = p->uid;
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
                return fetch_nomem(err);
            }
            j->bigkeys[j->nbig] = mail_buf_detach(&k);
            j->present[j->npresent++] = j->bigkeys[j->nbig];
            j->big[j->nbig] = *p;
            if (mail_fetch_seen(r->src, j->bigkeys[j->nbig]))
                j->big[j->nbig].msgno = 0;   /* its header is here already */
            j->nbig++;
            continue;
        }
        if (maxsize > 0 && p->size > (uint64_t)maxsize) {
            fetch_note(r, "%s: message %u is %llu bytes, over "
                       "fetch-max-size: left on the server", j->s->name,
                       p->msgno, (unsigned long long)p->size);
            continue;
        }
        j->todo[j->ntodo++] = *p;
    }
    if (j->ndup)
        fetch_note(r, "%s: %zu messages share a UIDL with another one and "
                   "are left on the server", j->s->name, j->ndup);
    return 0;
}

/* --catch-up, or RETR in durable batches, then the oversized messages'
 * headers.  A failure that leaves the session unusable frees it. */
static int pop3_transfer(struct fetch_run *r, struct pop3_job *j,
                         struct mail_error *err)
{
    if (r->o->catch_up) {
        for (size_t i = 0; i < j->ntodo; i++)
            j->uids[i] = j->todo[i].uid;
        if (mail_fetch_mark(r->src, j->uids, j->ntodo, err) < 0 ||
            mail_fetch_mark(r->src, (const char *const *)j->bigkeys, j->nbig,
                            err) < 0)
            return -1;
        j->ntodo = 0;
        j->nbig = 0;
    }
    r->total = j->ntodo;
    for (size_t b = 0; b < j->ntodo; b += BATCH) {
        size_t n = j->ntodo - b < BATCH ? j->ntodo - b : BATCH;

        for (size_t i = 0; i < n; i++)
            j->uids[i] = j->todo[b + i].uid;
        if (mail_fetch_batch_begin(r->src, j->uids, n, err) < 0)
            return -1;
        if (mail_pop3_retr_many(j->s, j->todo + b, n, true, &pop3_ops, r,
                                err) < 0) {
            struct mail_error e2;

            /* err: the server's, or the store's own (ENOSPC...) */
            /* A drop in the middle of the transfer is worth a retry:
             * the server was there a moment ago (cron tries again). */
            if (err->kind == MAIL_ERR_UNAVAIL)
                err->kind = MAIL_ERR_TEMP;
            /* keep what arrived whole */
            mail_fetch_batch_commit(r->src, &e2);
            mail_session_free(j->s);
            j->s = NULL;
            return -1;
        }
        if (mail_fetch_batch_commit(r->src, err) < 0)
            return -1;
    }
    if (j->nbig &&
        fetch_pop3_headers(r, j->s, j->big, j->bigkeys, j->nbig, err) < 0) {
        mail_session_free(j->s);
        j->s = NULL;
        return -1;
    }
    return 0;
}

/* --delete: DELE only what is durably here (recorded in the state); the
 * QUIT that ends the run commits it. */
static int pop3_delete(struct fetch_run *r, struct pop3_job *j,
                       struct mail_error *err)
{
    unsigned *dele = calloc(j->m.n + 1, sizeof *dele);
    size_t ndele = 0;
    int rc = 0;

    if (!dele)
        return fetch_nomem(err);
    for (size_t i = 0; i < j->m.n; i++)
        if (j->m.v[i].uid[0] && !j->m.v[i].dup_uid &&
            mail_fetch_seen(r->src, j->m.v[i].uid))
            dele[ndele++] = j->m.v[i].msgno;
    if (ndele && mail_pop3_dele_many(j->s, dele, ndele, NULL, err) < 0) {
        mail_session_free(j->s);
        j->s = NULL;
        rc = -1;
    }
    free(dele);
    return rc;
}

static void pop3_job_release(struct pop3_job *j)
{
    if (j->s)
        mail_pop3_quit(j->s);
    mail_pop3_msgs_release(&j->m);
    free(j->present);
    free(j->todo);
    free(j->uids);
    free(j->big);
    if (j->bigkeys)
        for (size_t i = 0; j->bigkeys[i]; i++)
            free(j->bigkeys[i]);
    free(j->bigkeys);
}

int fetch_run_pop3(struct fetch_run *r, struct mail_error *err)
{
    struct pop3_job j;
    struct mail_buf key = MAIL_BUF_INIT;
    struct mail_fetch_stats st;
    bool del = r->o->del || (r->acct->fetch_delete && !r->o->keep);
    int rc = -1, x;

    memset(&j, 0, sizeof j);
    r->folder = "INBOX";
    if (pop3_connect(r, &j, err) < 0)
        goto out;
    if (mail_buf_printf(&key, "pop3 %s@%s:%u", r->srv.user, r->srv.host,
                        r->srv.port) < 0) {
        fetch_nomem(err);
        goto out;
    }
    r->src = mail_fetch_src_open(r->statedir, r->acct->name, key.data,
                                 r->dest, false, err);
    if (!r->src)
        goto out;
    mail_fetch_src_watch(r->src, &r->wd);
    if (pop3_plan(r, &j, err) < 0 || pop3_transfer(r, &j, err) < 0)
        goto out;
    fetch_progress(r, true);
    if (del && pop3_delete(r, &j, err) < 0)
        goto out;
    mail_fetch_stats(r->src, &st);
    x = mail_fetch_src_close(r->src, j.present, j.npresent, err);
    r->src = NULL;
    if (x < 0)
        goto out;
    /* QUIT commits the deletions. */
    mail_pop3_quit(j.s);
    j.s = NULL;
    fetch_summary(r, &st);
    rc = 0;
out:
    fetch_progress(r, true);
    if (r->src) {
        struct mail_error e2;

        mail_fetch_src_close(r->src, NULL, 0, &e2);
        r->src = NULL;
    }
    pop3_job_release(&j);
    mail_buf_release(&key);
    return rc;
}
