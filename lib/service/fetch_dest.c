/*
 * fetch_dest.c - where `mail fetch` puts messages: a Maildir (appends in
 * deferred-sync mode, made durable once per batch by the commit in
 * fetch_state.c), an mbox (appended under its locks), or an MDA (--mda:
 * a command fed the whole message, spooled first); and the delivery of
 * one message of a batch (mail_fetch_msg_begin, _write, _end), with the
 * duplicate check by content hash.
 *
 * The journal names a Maildir file before it exists (the P record), so
 * that after a crash the file is looked for by name instead of by
 * content: hence mail_maildir_append_begin_named.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/fsutil.h"
#include "mail/spawn.h"
#include "fetch_internal.h"

/* ---- destinations ---- */

struct mail_fetch_dest *mail_fetch_dest_open(const struct mail_paths *paths,
                                             const char *path,
                                             const char *mda,
                                             struct mail_error *err)
{
    struct mail_fetch_dest *d = calloc(1, sizeof *d);
    struct mail_folder *f;
    struct stat st;
    char *exp = NULL;

    if (!d) {
        fetch_nomem(err);
        return NULL;
    }
    if (mda) {
        d->kind = MAIL_FETCH_MDA;
        d->path = strdup(mda);
        if (!d->path)
            goto oom;
        return d;
    }
    d->paths = paths;
    exp = mail_paths_expand_home(paths, strncmp(path, "mbox:", 5) == 0
                                            ? path + 5 : path);
    if (!exp)
        goto oom;
    if (strncmp(path, "mbox:", 5) == 0 ||
        (stat(exp, &st) == 0 && S_ISREG(st.st_mode))) {
        struct mail_buf b = MAIL_BUF_INIT;

        if (mail_buf_printf(&b, "mbox:%s", exp) < 0)
            goto oom;
        f = mail_folder_open(b.data, MAIL_FOLDER_RDWR | MAIL_FOLDER_CREATE,
                             paths, err);
        mail_buf_release(&b);
        if (!f)
            goto fail;
        d->kind = MAIL_FETCH_MBOX;
        d->mbox = f;
    } else {
        /* Make the Maildir ourselves, each part idempotently, so that a
         * crash half-way through creating it is finished next time. */
        static const char *const sub[] = { "tmp", "new", "cur" };

        if (mail_mkdirs(exp, err) < 0) {
            goto fail;
        }
        for (size_t i = 0; i < 3; i++) {
            char *p = fetch_join(exp, sub[i]);

            if (!p)
                goto oom;
            if (mkdir(p, 0700) < 0 && errno != EEXIST) {
                mail_error_set(err, MAIL_ERR_CANTCREAT, "%s: %s", p,
                               strerror(errno));
                free(p);
                goto fail;
            }
            free(p);
        }
        f = mail_folder_open(exp, MAIL_FOLDER_RDWR | MAIL_FOLDER_CREATE, paths,
                             err);
        if (!f)
            goto fail;
        if (mail_folder_kind(f) != MAIL_FOLDER_MAILDIR) {
            mail_folder_close(f, NULL);
            mail_error_set(err, MAIL_ERR_CANTCREAT, "%s: not a Maildir", exp);
            goto fail;
        }
        d->kind = MAIL_FETCH_MAILDIR;
        d->maildir = f;
    }
    d->path = exp;
    return d;
oom:
    fetch_nomem(err);
fail:
    free(exp);
    free(d->path);
    free(d);
    return NULL;
}

enum mail_fetch_dest_kind mail_fetch_dest_kind(const struct mail_fetch_dest *d)
{
    return d->kind;
}

const char *mail_fetch_dest_path(const struct mail_fetch_dest *d)
{
    return d->path;
}

void mail_fetch_dest_close(struct mail_fetch_dest *d)
{
    if (!d)
        return;
    if (d->mbox)
        mail_folder_close(d->mbox, NULL);
    if (d->maildir)
        mail_folder_close(d->maildir, NULL);
    free(d->path);
    free(d);
}

char *mail_fetch_local_folder(const char *store, const char *remote,
                              char sep, struct mail_error *err)
{
    char *name = strdup(remote), *path;

    if (!name) {
        fetch_nomem(err);
        return NULL;
    }
    for (char *p = name; *p; p++) {
        if (sep && *p == sep)
            *p = '/';
        else if (*p == '.' && sep != '.')
            *p = '_';   /* a '.' would be a level in Maildir++ */
    }
    path = mail_store_folder_path(store, name, err);
    free(name);
    return path;
}

static bool match_at(const char *p, const char *n, char sep)
{
    for (; *p; p++, n++) {
        if (*p == '*' || *p == '%') {
            for (const char *k = n;; k++) {
                if (match_at(p + 1, k, sep))
                    return true;
                if (!*k || (*p == '%' && *k == sep))
                    return false;
            }
        }
        if (*p != *n)
            return false;
    }
    return *n == '\0';
}

bool mail_fetch_pattern_match(const char *pattern, const char *name,
                              char sep)
{
    if (mail_strcasecmp(pattern, "INBOX") == 0)
        return mail_strcasecmp(name, "INBOX") == 0;
    if (mail_strncasecmp(name, "INBOX", 5) == 0 &&
        (name[5] == '\0' || name[5] == sep) &&
        mail_strncasecmp(pattern, "INBOX", 5) == 0) {
        /* INBOX is case-insensitive, also as a prefix */
        return match_at(pattern + 5, name + 5, sep);
    }
    return match_at(pattern, name, sep);
}

/* ---- one message's delivery ---- */

/*
 * --mda: the whole message, spooled, is the command's standard input
 * (through the one fork/exec helper).  Exit 0: delivered; 75
 * (EX_TEMPFAIL): try again later; anything else: not delivered.
 */
static int mda_run(struct mail_fetch_src *s, int fd, struct mail_error *err)
{
    struct mail_spawn sp = MAIL_SPAWN_INIT;
    struct mail_spawn_result res;

    sp.command = s->dest->path;
    sp.in_fd = fd;
    sp.out_fd = 2;   /* its chatter goes to our stderr, not our output */
    fflush(NULL);
    if (mail_spawn_run(&sp, &res, err) < 0)
        return -1;
    switch (res.how) {
    case MAIL_SPAWN_EXITED:
        if (res.code == 0)
            return 0;
        return mail_error_set(err, res.code == 75 ? MAIL_ERR_TEMP
                              : MAIL_ERR_UNAVAIL, "mda '%s' exited with %d",
                              s->dest->path, res.code);
    case MAIL_SPAWN_SIGNALED:
        return mail_error_set(err, MAIL_ERR_UNAVAIL, "mda '%s' killed by "
                              "signal %d", s->dest->path, res.code);
    case MAIL_SPAWN_EXEC_FAILED:
        return mail_error_set(err, MAIL_ERR_UNAVAIL, "mda '%s' could not be "
                              "run: %s", s->dest->path, strerror(res.code));
    case MAIL_SPAWN_TIMEOUT:
        break;
    }
    return mail_error_set(err, MAIL_ERR_UNAVAIL, "mda '%s' timed out",
                          s->dest->path);
}

/* mbox: journal the size before appending, then start the append. */
static int mbox_start(struct mail_fetch_src *s, struct fetch_item *it,
                      struct mail_error *err)
{
    struct stat st;

    if (stat(s->dest->path, &st) < 0)
        return mail_error_set(err, MAIL_ERR_IO, "%s: %s", s->dest->path,
                              strerror(errno));
    if (fetch_journal_add(s, err, "O %s %lld\n", it->uid,
                          (long long)st.st_size) < 0 ||
        fetch_journal_sync(s, err) < 0)
        return -1;
    s->app = mail_folder_append_begin(s->dest->mbox, s->curflags & ~
                                      (unsigned)MAIL_FLAG_NEW, s->curtime,
                                      err);
    return s->app ? 0 : -1;
}

/*
 * An unlinked spool file in the state directory.  Used for every MDA
 * delivery (the command reads the whole message from it once it is in),
 * and for mbox deliveries while content hashes from before a UIDVALIDITY
 * change are known: whether a message is one of them is known only at its
 * end, and an mbox append or an MDA must not see a duplicate at all.
 */
static int spool_open(struct mail_fetch_src *s, struct mail_error *err)
{
    int fd = mail_tmpfile(s->dir, err);

    if (fd < 0)
        return -1;
    s->fd = fd;
    s->spool = true;
    return 0;
}

int mail_fetch_msg_begin(struct mail_fetch_src *s, size_t i, unsigned flags,
                         time_t received, struct mail_error *err)
{
    struct fetch_item *it;
    int r = 0;

    if (i >= s->nbatch || s->cur)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "fetch: bad message "
                              "index");
    it = &s->batch[i];
    s->cur = it;
    s->pending_cr = false;
    s->wlen = 0;
    s->spool = false;
    s->curflags = flags;
    s->curtime = received;
    /* The same UID twice (a server that sends one message twice in a
     * reply): the first copy is the one; the second is read and dropped,
     * so that it is neither stored twice nor blocks the batch. */
    s->discard = it->delivered || it->dropped || it->held;
    if (s->discard)
        return 0;
    if (EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1)
        return fetch_nomem(err);
    switch (s->dest->kind) {
    case MAIL_FETCH_MAILDIR:
        /* under the name the journal recorded; durable and placed by
         * the batch's commit */
        s->app = mail_maildir_append_begin_named(s->dest->maildir, it->name,
                                                 (flags & ~(unsigned)
                                                  MAIL_FLAG_NEW) |
                                                 MAIL_APPEND_DEFER_SYNC,
                                                 received, err);
        if (!s->app)
            r = -1;
        break;
    case MAIL_FETCH_MBOX:
        r = s->known.n ? spool_open(s, err) : mbox_start(s, it, err);
        break;
    case MAIL_FETCH_MDA:
        r = spool_open(s, err);
        break;
    }
    if (r < 0)
        s->cur = NULL;
    return r;
}

static int wflush(struct mail_fetch_src *s, struct mail_error *err)
{
    if (!s->wlen)
        return 0;
    if (mail_write_all(s->fd, s->wbuf, s->wlen) < 0)
        return mail_error_set(err, MAIL_ERR_IO, "%s (spool file): %s",
                              s->dest->path, strerror(errno));
    s->wlen = 0;
    return 0;
}

int mail_fetch_msg_write(void *ctx, const char *data, size_t len,
                         struct mail_error *err)
{
    struct mail_fetch_src *s = ctx;

    if (!s->cur)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "fetch: no message");
    if (s->discard)
        return 0;
    if (EVP_DigestUpdate(s->md, data, len) != 1)
        return fetch_nomem(err);
    s->stats.bytes += len;
    s->wd_bytes += len;
    if (s->wd && s->wd_bytes >= WATCHDOG_BYTES) {
        s->wd_bytes = 0;
        mail_fetch_clock_progress(s->wd);
    }
    if (!s->spool)
        return mail_append_write(s->app, data, len, err);
    if (s->wlen + len > WBUF_SIZE && wflush(s, err) < 0)
        return -1;
    if (len >= WBUF_SIZE) {
        if (mail_write_all(s->fd, data, len) < 0)
            return mail_error_set(err, MAIL_ERR_IO, "%s (spool file): %s",
                                  s->dest->path, strerror(errno));
        return 0;
    }
    memcpy(s->wbuf + s->wlen, data, len);
    s->wlen += len;
    return 0;
}

int mail_fetch_msg_write_crlf(void *ctx, const char *data, size_t len,
                              struct mail_error *err)
{
    struct mail_fetch_src *s = ctx;
    size_t start = 0;

    if (s->pending_cr) {
        s->pending_cr = false;
        if (len && data[0] != '\n' &&
            mail_fetch_msg_write(s, "\r", 1, err) < 0)
            return -1;
        if (!len)
            s->pending_cr = true;
    }
    for (size_t i = 0; i < len; i++) {
        if (data[i] != '\r')
            continue;
        if (i + 1 == len) {
            /* decided by the next piece (or the end: see _msg_end) */
            if (mail_fetch_msg_write(s, data + start, i - start, err) < 0)
                return -1;
            s->pending_cr = true;
            return 0;
        }
        if (data[i + 1] == '\n') {
            if (mail_fetch_msg_write(s, data + start, i - start, err) < 0)
                return -1;
            start = i + 1;
        }
    }
    return mail_fetch_msg_write(s, data + start, len - start, err);
}

static void finish_hash(struct mail_fetch_src *s, char out[HASH_HEX + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    static const char hex[] = "0123456789abcdef";

    if (EVP_DigestFinal_ex(s->md, md, &mdlen) != 1 || mdlen < HASH_HEX / 2) {
        out[0] = '\0';
        return;
    }
    for (int i = 0; i < HASH_HEX / 2; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[HASH_HEX] = '\0';
}

/* The spooled message (s->fd) to its real destination, started now. */
static int spool_deliver(struct mail_fetch_src *s, struct fetch_item *it,
                         struct mail_error *err)
{
    int fd = s->fd;
    ssize_t n;

    s->fd = -1;
    s->spool = false;
    if (lseek(fd, 0, SEEK_SET) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "%s: spool file: %s", s->dir,
                       strerror(errno));
        close(fd);
        return -1;
    }
    if (s->dest->kind == MAIL_FETCH_MDA) {
        int r = mda_run(s, fd, err);

        close(fd);
        return r;
    }
    if (mbox_start(s, it, err) < 0) {
        close(fd);
        return -1;
    }
    while ((n = read(fd, s->wbuf, WBUF_SIZE)) != 0) {
        int r;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            mail_error_set(err, MAIL_ERR_IO, "%s: spool file: %s", s->dir,
                           strerror(errno));
            close(fd);
            return -1;
        }
        r = mail_append_write(s->app, s->wbuf, (size_t)n, err);
        if (r < 0) {
            close(fd);
            return -1;
        }
    }
    close(fd);
    return 0;
}

int mail_fetch_msg_end(struct mail_fetch_src *s, bool ok,
                       struct mail_error *err)
{
    struct fetch_item *it = s->cur;
    int rc = 0;

    if (!it)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "fetch: no message");
    if (s->discard) {
        /* a second copy of a UID of this batch: nothing to do */
        s->discard = false;
        s->pending_cr = false;
        s->cur = NULL;
        return 0;
    }
    if (s->pending_cr) {
        s->pending_cr = false;
        /* a CR that ended the message; err: why it could not be written */
        if (ok && mail_fetch_msg_write(s, "\r", 1, err) < 0) {
            ok = false;
            rc = -1;
        }
    }
    finish_hash(s, it->hash);
    if (s->spool) {
        /* MDA, or mbox with known hashes: decide, then deliver */
        if (ok && wflush(s, err) < 0) {
            ok = false;
            rc = -1;
        }
        if (ok && it->hash[0] && fetch_set_find(&s->known, it->hash)) {
            it->dropped = true;
            ok = false;
        }
        if (ok && spool_deliver(s, it, err) < 0) {
            ok = false;
            rc = -1;
        }
        if (s->fd >= 0 && s->spool) {
            close(s->fd);
            s->fd = -1;
        }
        s->spool = false;
    }
    switch (s->dest->kind) {
    case MAIL_FETCH_MAILDIR:
        if (ok && it->hash[0] && fetch_set_find(&s->known, it->hash)) {
            /* fetched before a UIDVALIDITY change: already here */
            it->dropped = true;
            ok = false;
        }
        if (ok && s->app) {
            /* Closed in tmp/ and held for the batch: made durable for the
             * whole batch at once (one syncfs in mail_fetch_batch_commit
             * instead of an fsync per message, which is most of a fetch's
             * time), and only then linked into new/ or cur/: a crash
             * before leaves only tmp/ files, removed and fetched again. */
            struct mail_append *a = s->app;

            s->app = NULL;
            if (mail_append_commit(a, NULL, err) < 0) {
                ok = false;
                rc = -1;
            } else {
                it->held = true;
                it->held_seq = s->nheld++;
            }
        } else if (s->app) {
            mail_append_abort(s->app);
            s->app = NULL;
        }
        break;
    case MAIL_FETCH_MBOX:
        if (ok && s->app) {
            struct mail_append *a = s->app;

            s->app = NULL;
            if (mail_append_commit(a, NULL, err) < 0) {
                ok = false;
                rc = -1;
            }
        } else if (s->app) {
            mail_append_abort(s->app);
            s->app = NULL;
        }
        break;
    case MAIL_FETCH_MDA:
        break;      /* run on the whole spooled message, above */
    }
    if (ok) {
        it->delivered = true;
        s->stats.delivered++;
    } else if (it->dropped) {
        s->stats.duplicates++;
    }
    if (ok || it->dropped)
        mail_fetch_clock_progress(s->wd);
    s->cur = NULL;
    return rc;
}

