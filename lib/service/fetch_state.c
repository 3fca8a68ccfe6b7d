/*
 * fetch_state.c - one source of `mail fetch` (a POP3 maildrop, an IMAP
 * folder): its state file and journal, the set of what was fetched (by
 * UID, and by content hash across a UIDVALIDITY change), the recovery of
 * deliveries a crash left pending, and batches (begin, commit).  The
 * delivery of one message is in fetch_dest.c.  See mail/fetch.h for the
 * files and the protocol.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "mail/fsutil.h"
#include "fetch_internal.h"

/* ---- a string set with a value (uid -> hash) ---- */

static size_t str_hash(const char *s)
{
    size_t h = 14695981039346656037ull & (size_t)-1;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * (size_t)1099511628211ull;
    return h;
}

static struct fetch_entry *set_slot(const struct fetch_set *t, const char *key)
{
    size_t i;

    if (!t->cap)
        return NULL;
    i = str_hash(key) & (t->cap - 1);
    while (t->v[i].key && strcmp(t->v[i].key, key) != 0)
        i = (i + 1) & (t->cap - 1);
    return &t->v[i];
}

struct fetch_entry *fetch_set_find(const struct fetch_set *t,
                                   const char *key)
{
    struct fetch_entry *e = set_slot(t, key);

    return e && e->key ? e : NULL;
}

static int set_grow(struct fetch_set *t)
{
    struct fetch_set n = { NULL, 0, t->cap ? t->cap * 2 : 64 };

    n.v = calloc(n.cap, sizeof *n.v);
    if (!n.v)
        return -1;
    for (size_t i = 0; i < t->cap; i++) {
        if (t->v[i].key) {
            *set_slot(&n, t->v[i].key) = t->v[i];
            n.n++;
        }
    }
    free(t->v);
    *t = n;
    return 0;
}

/* Insert or update; hash may be NULL or "". */
int fetch_set_put(struct fetch_set *t, const char *key, const char *hash)
{
    struct fetch_entry *e;

    if ((t->n + 1) * 2 > t->cap && set_grow(t) < 0)
        return -1;
    e = set_slot(t, key);
    if (!e->key) {
        e->key = strdup(key);
        if (!e->key)
            return -1;
        e->hash[0] = '\0';
        t->n++;
    }
    if (hash && *hash && strcmp(hash, "-") != 0)
        mail_strlcpy(e->hash, hash, sizeof e->hash);
    return 0;
}

void fetch_set_clear(struct fetch_set *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->v[i].key);
    free(t->v);
    t->v = NULL;
    t->n = t->cap = 0;
}

/* ---- the state and the journal ---- */

static void update_last(struct mail_fetch_src *s, const char *uid)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(uid, &end, 10);
    if (!errno && *end == '\0' && end != uid && v <= UINT32_MAX &&
        v > s->last_uid)
        s->last_uid = (uint32_t)v;
}

static int mark_seen(struct mail_fetch_src *s, const char *uid,
                     const char *hash)
{
    if (fetch_set_put(&s->seen, uid, s->hashes ? hash : NULL) < 0)
        return -1;
    update_last(s, uid);
    return 0;
}

static void forget_uids(struct mail_fetch_src *s)
{
    for (size_t i = 0; i < s->seen.cap; i++)
        if (s->seen.v[i].key && s->seen.v[i].hash[0])
            fetch_set_put(&s->known, s->seen.v[i].hash, NULL);
    fetch_set_clear(&s->seen);
    s->last_uid = 0;
}

int fetch_journal_add(struct mail_fetch_src *s, struct mail_error *err,
                      const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = mail_buf_vprintf(&s->jbuf, fmt, ap);
    va_end(ap);
    if (r < 0)
        return fetch_nomem(err);
    return 0;
}

/* Write the pending records and fsync: after this they survive a crash. */
int fetch_journal_sync(struct mail_fetch_src *s, struct mail_error *err)
{
    if (!s->jbuf.len)
        return 0;
    if (s->jfd < 0) {
        s->jfd = open(s->journal_path,
                      O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (s->jfd < 0)
            return mail_error_set(err, MAIL_ERR_IO, "%s: %s",
                                  s->journal_path, strerror(errno));
        /* the journal's own name must be durable too */
        if (mail_fsync_dir(s->dir, err) < 0)
            return -1;
    }
    if (mail_write_all(s->jfd, s->jbuf.data, s->jbuf.len) < 0 ||
        fdatasync(s->jfd) < 0)
        return mail_error_set(err, MAIL_ERR_IO, "%s: %s", s->journal_path,
                              strerror(errno));
    mail_buf_reset(&s->jbuf);
    s->dirty = true;
    return 0;
}

static bool valid_uid(const char *u)
{
    size_t n = strlen(u);

    if (n == 0 || n > UID_MAX_LEN)
        return false;
    for (; *u; u++)
        if ((unsigned char)*u <= 0x20 || (unsigned char)*u >= 0x7f)
            return false;
    return true;
}

/* Parse "WORD WORD WORD" in place; returns the number of words. */
static int split3(char *line, char *w[3])
{
    int n = 0;
    char *p = line;

    while (*p && n < 3) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        w[n++] = p;
        p += strcspn(p, " ");
        if (*p)
            *p++ = '\0';
    }
    return n;
}

static int load_state(struct mail_fetch_src *s, struct mail_error *err)
{
    FILE *f = fopen(s->state_path, "re");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0, rc = 0;

    if (!f) {
        if (errno == ENOENT)
            return 0;
        return mail_error_set(err, MAIL_ERR_IO, "%s: %s", s->state_path,
                              strerror(errno));
    }
    while ((n = getline(&line, &cap, f)) > 0) {
        char *w[3] = { NULL, NULL, NULL };
        int nw;

        lineno++;
        if (line[n - 1] == '\n')
            line[--n] = '\0';
        nw = split3(line, w);
        if (lineno == 1) {
            if (nw != 2 || strcmp(w[0], "mail-fetch") != 0 ||
                strcmp(w[1], "1") != 0) {
                rc = mail_error_set(err, MAIL_ERR_DATA, "%s: not a mail "
                                    "fetch state file (version 1)",
                                    s->state_path);
                break;
            }
            continue;
        }
        if (nw >= 2 && strcmp(w[0], "=") == 0 && valid_uid(w[1])) {
            if (mark_seen(s, w[1], nw == 3 ? w[2] : NULL) < 0) {
                rc = fetch_nomem(err);
                break;
            }
        } else if (nw == 2 && strcmp(w[0], "h") == 0) {
            if (fetch_set_put(&s->known, w[1], NULL) < 0) {
                rc = fetch_nomem(err);
                break;
            }
        } else if (nw == 2 && strcmp(w[0], "uidvalidity") == 0) {
            s->uidvalidity = (uint32_t)strtoul(w[1], NULL, 10);
        } else {
            rc = mail_error_set(err, MAIL_ERR_DATA, "%s:%d: bad line",
                                s->state_path, lineno);
            break;
        }
    }
    if (rc == 0 && ferror(f))
        rc = mail_error_set(err, MAIL_ERR_IO, "%s: %s", s->state_path,
                            strerror(errno));
    free(line);
    fclose(f);
    return rc;
}

/* ---- recovery of pending deliveries ---- */

struct pending {
    char *uid, *where;
    long long offset;          /* mbox: -1 unknown */
};

/* The content hash of a file, or "" when it cannot be read. */
static void hash_file(EVP_MD_CTX *md, const char *path,
                      char out[HASH_HEX + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    char buf[16384];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    out[0] = '\0';
    if (fd < 0 || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        goto out;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        EVP_DigestUpdate(md, buf, (size_t)n);
    if (n < 0 || EVP_DigestFinal_ex(md, d, &dlen) != 1 || dlen < HASH_HEX / 2)
        goto out;
    for (int i = 0; i < HASH_HEX / 2; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[HASH_HEX] = '\0';
out:
    if (fd >= 0)
        close(fd);
}

/* Does a Maildir file with this unique name exist (new/ or cur/, any
 * flags)?  Fills hash with its content hash.  Removes our leftover tmp/
 * file. */
static bool maildir_has(EVP_MD_CTX *md, const char *dir, const char *name,
                        char hash[HASH_HEX + 1])
{
    struct mail_buf b = MAIL_BUF_INIT;
    size_t nlen = strlen(name);
    bool found = false;

    if (mail_buf_printf(&b, "%s/tmp/%s", dir, name) == 0)
        unlink(b.data);
    for (int i = 0; i < 2 && !found; i++) {
        const char *sub = i ? "cur" : "new";
        DIR *d;
        struct dirent *de;

        mail_buf_reset(&b);
        if (mail_buf_printf(&b, "%s/%s", dir, sub) < 0)
            break;
        d = opendir(b.data);
        if (!d)
            continue;
        while ((de = readdir(d))) {
            if (strncmp(de->d_name, name, nlen) == 0 &&
                (de->d_name[nlen] == '\0' || de->d_name[nlen] == ':')) {
                found = true;
                mail_buf_printf(&b, "/%s", de->d_name);
                break;
            }
        }
        closedir(d);
    }
    hash[0] = '\0';
    if (found && b.data)
        hash_file(md, b.data, hash);
    mail_buf_release(&b);
    return found;
}

static bool mbox_has(const char *path, long long offset)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char buf[5];
    bool found = false;

    if (fd < 0 || offset < 0)
        goto out;
    if (pread(fd, buf, 5, (off_t)offset) == 5 && memcmp(buf, "From ", 5) == 0)
        found = true;
out:
    if (fd >= 0)
        close(fd);
    return found;
}

static int replay_journal(struct mail_fetch_src *s, bool *had,
                          struct mail_error *err)
{
    FILE *f = fopen(s->journal_path, "re");
    struct pending *pv = NULL;
    size_t np = 0, pcap = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;

    *had = false;
    if (!f) {
        if (errno == ENOENT)
            return 0;
        return mail_error_set(err, MAIL_ERR_IO, "%s: %s", s->journal_path,
                              strerror(errno));
    }
    *had = true;
    while ((n = getline(&line, &cap, f)) > 0) {
        char *w[3] = { NULL, NULL, NULL };
        int nw;

        if (line[n - 1] != '\n')
            break;          /* torn by a crash: never fsynced as a whole */
        line[--n] = '\0';
        nw = split3(line, w);
        if (nw == 2 && strcmp(w[0], "V") == 0) {
            uint32_t v = (uint32_t)strtoul(w[1], NULL, 10);

            if (s->uidvalidity && v != s->uidvalidity)
                forget_uids(s);
            s->uidvalidity = v;
            continue;
        }
        if (nw < 2 || !valid_uid(w[1]))
            continue;       /* unknown record: ignore */
        if (strcmp(w[0], "P") == 0 && nw == 3) {
            if (np == pcap) {
                size_t nc = pcap ? pcap * 2 : 16;
                struct pending *t = realloc(pv, nc * sizeof *pv);

                if (!t) {
                    rc = fetch_nomem(err);
                    break;
                }
                pv = t;
                pcap = nc;
            }
            pv[np].uid = strdup(w[1]);
            pv[np].where = strdup(w[2]);
            pv[np].offset = -1;
            if (!pv[np].uid || !pv[np].where) {
                free(pv[np].uid);
                free(pv[np].where);
                rc = fetch_nomem(err);
                break;
            }
            np++;
        } else if (strcmp(w[0], "O") == 0 && nw == 3) {
            for (size_t i = np; i-- > 0;)
                if (strcmp(pv[i].uid, w[1]) == 0) {
                    pv[i].offset = strtoll(w[2], NULL, 10);
                    break;
                }
        } else if (strcmp(w[0], "D") == 0) {
            if (mark_seen(s, w[1], nw == 3 ? w[2] : NULL) < 0) {
                rc = fetch_nomem(err);
                break;
            }
        }
    }
    free(line);
    fclose(f);
    /* Settle what was begun and not recorded as done. */
    for (size_t i = 0; i < np; i++) {
        bool done = false;
        char hash[HASH_HEX + 1] = "";

        if (rc == 0 && !fetch_set_find(&s->seen, pv[i].uid)) {
            switch (s->dest->kind) {
            case MAIL_FETCH_MAILDIR:
                done = maildir_has(s->md, s->dest->path, pv[i].where, hash);
                break;
            case MAIL_FETCH_MBOX: {
                /* Begun, not recorded as done: it may be cut short.
                 * Remove it and deliver it again; only when someone
                 * delivered after it is it left (and counted when it
                 * starts right). */
                int t = pv[i].offset < 0 ? 0 :
                        mail_mbox_truncate_after(s->dest->paths,
                                                 s->dest->path,
                                                 (uint64_t)pv[i].offset, err);

                if (t < 0)
                    rc = -1;
                done = t == 0 && mbox_has(s->dest->path, pv[i].offset);
                break;
            }
            case MAIL_FETCH_MDA:
                done = false;   /* deliver again: never lose */
                break;
            }
            if (done) {
                if (mark_seen(s, pv[i].uid, hash) < 0)
                    rc = fetch_nomem(err);
                s->stats.recovered++;
            }
        }
        free(pv[i].uid);
        free(pv[i].where);
    }
    free(pv);
    return rc;
}

/* Write the state file atomically, then drop the journal. */
static int write_state(struct mail_fetch_src *s, struct mail_error *err)
{
    struct mail_buf tmp = MAIL_BUF_INIT, b = MAIL_BUF_INIT;
    int fd = -1, rc = -1;

    if (mail_buf_printf(&tmp, "%s.tmp", s->state_path) < 0 ||
        mail_buf_addstr(&b, "mail-fetch 1\n") < 0 ||
        (s->uidvalidity &&
         mail_buf_printf(&b, "uidvalidity %u\n", s->uidvalidity) < 0))
        goto oom;
    fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        mail_error_set(err, MAIL_ERR_IO, "%s: %s", tmp.data, strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < s->known.cap; i++)
        if (s->known.v[i].key &&
            mail_buf_printf(&b, "h %s\n", s->known.v[i].key) < 0)
            goto oom;
    for (size_t i = 0; i < s->seen.cap; i++) {
        const struct fetch_entry *e = &s->seen.v[i];

        if (!e->key)
            continue;
        if (mail_buf_printf(&b, "= %s %s\n", e->key,
                            e->hash[0] ? e->hash : "-") < 0)
            goto oom;
        if (b.len >= WBUF_SIZE) {
            if (mail_write_all(fd, b.data, b.len) < 0)
                goto ioerr;
            mail_buf_reset(&b);
        }
    }
    if (mail_write_all(fd, b.data, b.len) < 0 || fsync(fd) < 0)
        goto ioerr;
    if (close(fd) < 0) {
        fd = -1;
        goto ioerr;
    }
    fd = -1;
    if (rename(tmp.data, s->state_path) < 0)
        goto ioerr;
    if (mail_fsync_dir(s->dir, err) < 0)
        goto out;
    /* The state holds everything the journal said: drop it.  Should the
     * unlink be lost in a crash, replaying it again changes nothing. */
    if (s->jfd >= 0) {
        close(s->jfd);
        s->jfd = -1;
    }
    if (unlink(s->journal_path) < 0 && errno != ENOENT) {
        mail_error_set(err, MAIL_ERR_IO, "%s: %s", s->journal_path,
                       strerror(errno));
        goto out;
    }
    s->dirty = false;
    rc = 0;
    goto out;
oom:
    fetch_nomem(err);
    goto out;
ioerr:
    mail_error_set(err, MAIL_ERR_IO, "%s: %s", tmp.data, strerror(errno));
out:
    if (fd >= 0) {
        close(fd);
        unlink(tmp.data);
    }
    mail_buf_release(&tmp);
    mail_buf_release(&b);
    return rc;
}

struct mail_fetch_src *mail_fetch_src_open(const char *dir,
                                           const char *account,
                                           const char *key,
                                           struct mail_fetch_dest *dest,
                                           bool hashes,
                                           struct mail_error *err)
{
    struct mail_fetch_src *s = calloc(1, sizeof *s);
    char *sn = NULL, *jn = NULL;
    bool had;

    if (!s) {
        fetch_nomem(err);
        return NULL;
    }
    s->jfd = -1;
    s->fd = -1;
    s->dest = dest;
    s->hashes = hashes;
    mail_buf_init(&s->jbuf, 0);
    sn = mail_fetch_file_name(account, key, ".state");
    jn = mail_fetch_file_name(account, key, ".journal");
    s->dir = strdup(dir);
    s->key = strdup(key);
    s->state_path = sn ? fetch_join(dir, sn) : NULL;
    s->journal_path = jn ? fetch_join(dir, jn) : NULL;
    free(sn);
    free(jn);
    s->md = EVP_MD_CTX_new();
    s->wbuf = malloc(WBUF_SIZE);
    if (!s->dir || !s->key || !s->state_path || !s->journal_path || !s->md ||
        !s->wbuf) {
        fetch_nomem(err);
        goto fail;
    }
    if (load_state(s, err) < 0 || replay_journal(s, &had, err) < 0)
        goto fail;
    if (had && write_state(s, err) < 0)
        goto fail;
    return s;
fail:
    mail_fetch_src_free(s);
    return NULL;
}

bool mail_fetch_seen(const struct mail_fetch_src *s, const char *uid)
{
    return fetch_set_find(&s->seen, uid) != NULL;
}

size_t mail_fetch_seen_count(const struct mail_fetch_src *s)
{
    return s->seen.n;
}

uint32_t mail_fetch_last_uid(const struct mail_fetch_src *s)
{
    return s->last_uid;
}

uint32_t mail_fetch_uidvalidity(const struct mail_fetch_src *s)
{
    return s->uidvalidity;
}

int mail_fetch_set_uidvalidity(struct mail_fetch_src *s, uint32_t v,
                               struct mail_error *err)
{
    int changed = s->uidvalidity && s->uidvalidity != v;

    if (s->uidvalidity == v)
        return 0;
    if (fetch_journal_add(s, err, "V %u\n", v) < 0 ||
        fetch_journal_sync(s, err) < 0)
        return -1;
    if (changed)
        forget_uids(s);
    s->uidvalidity = v;
    return changed;
}

int mail_fetch_mark(struct mail_fetch_src *s, const char *const *uids,
                    size_t n, struct mail_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (!valid_uid(uids[i]) || mail_fetch_seen(s, uids[i]))
            continue;
        if (fetch_journal_add(s, err, "D %s -\n", uids[i]) < 0)
            return -1;
        if (mark_seen(s, uids[i], NULL) < 0)
            return fetch_nomem(err);
        s->stats.marked++;
    }
    return fetch_journal_sync(s, err);
}

/* ---- batches ---- */

static void batch_free(struct mail_fetch_src *s)
{
    for (size_t i = 0; i < s->nbatch; i++) {
        free(s->batch[i].uid);
        free(s->batch[i].name);
    }
    s->nheld = 0;
    /* held but never placed: removed, fetched again */
    if (s->dest->maildir)
        mail_folder_drop_pending(s->dest->maildir);
    free(s->batch);
    s->batch = NULL;
    s->nbatch = 0;
}

static int host_part(struct mail_buf *b)
{
    char host[256];

    if (gethostname(host, sizeof host) < 0)
        mail_strlcpy(host, "localhost", sizeof host);
    host[sizeof host - 1] = '\0';
    for (const char *h = host; *h; h++) {
        int r = *h == '/' ? mail_buf_addstr(b, "\\057")
              : *h == ':' ? mail_buf_addstr(b, "\\072")
              : mail_buf_addch(b, *h);
        if (r < 0)
            return -1;
    }
    return 0;
}

static char *unique_name(void)
{
    static unsigned counter;
    struct mail_buf b = MAIL_BUF_INIT;
    struct timeval tv;

    gettimeofday(&tv, NULL);
    if (mail_buf_printf(&b, "%lld.M%ldP%ldQ%uF.", (long long)tv.tv_sec,
                        (long)tv.tv_usec, (long)getpid(), ++counter) < 0 ||
        host_part(&b) < 0) {
        mail_buf_release(&b);
        return NULL;
    }
    return mail_buf_detach(&b);
}

int mail_fetch_batch_begin(struct mail_fetch_src *s, const char *const *uids,
                           size_t n, struct mail_error *err)
{
    if (s->nbatch)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "fetch: a batch is "
                              "still open");
    s->batch = calloc(n ? n : 1, sizeof *s->batch);
    if (!s->batch)
        return fetch_nomem(err);
    s->nbatch = n;
    for (size_t i = 0; i < n; i++) {
        struct fetch_item *it = &s->batch[i];

        if (!valid_uid(uids[i])) {
            batch_free(s);
            return mail_error_set(err, MAIL_ERR_PROTOCOL, "unusable message "
                                  "id from the server");
        }
        it->uid = strdup(uids[i]);
        it->name = s->dest->kind == MAIL_FETCH_MAILDIR ? unique_name()
                                                         : strdup("-");
        if (!it->uid || !it->name ||
            fetch_journal_add(s, err, "P %s %s\n", it->uid, it->name) < 0) {
            batch_free(s);
            return fetch_nomem(err);
        }
    }
    if (fetch_journal_sync(s, err) < 0) {
        batch_free(s);
        return -1;
    }
    return 0;
}

long mail_fetch_batch_commit(struct mail_fetch_src *s, struct mail_error *err)
{
    long n = 0;
    int rc = 0;

    if (s->cur) {
        struct mail_error e2;

        mail_fetch_msg_end(s, false, &e2);
    }
    if (s->dest->kind == MAIL_FETCH_MAILDIR &&
        mail_folder_pending(s->dest->maildir) > 0) {
        size_t placed = 0;

        /* durable, then visible; pending in the batch's order */
        if (mail_folder_sync_pending(s->dest->maildir, &placed, err) < 0)
            rc = -1;
        for (size_t i = 0; i < s->nbatch; i++) {
            struct fetch_item *it = &s->batch[i];

            if (!it->held)
                continue;
            it->held = false;
            if (it->held_seq >= placed && it->delivered) {
                it->delivered = false;
                s->stats.delivered--;
            }
        }
    }
    for (size_t i = 0; rc == 0 && i < s->nbatch; i++) {
        struct fetch_item *it = &s->batch[i];

        if (!it->delivered && !it->dropped)
            continue;
        if (fetch_journal_add(s, err, "D %s %s\n", it->uid,
                              it->hash[0] ? it->hash : "-") < 0 ||
            mark_seen(s, it->uid, it->hash) < 0)
            rc = -1;
        n++;
    }
    if (rc == 0 && fetch_journal_sync(s, err) < 0)
        rc = -1;
    batch_free(s);
    return rc < 0 ? -1 : n;
}

int mail_fetch_src_close(struct mail_fetch_src *s, const char *const *present,
                         size_t npresent, struct mail_error *err)
{
    int rc = 0;

    if (s->nbatch && mail_fetch_batch_commit(s, err) < 0)
        rc = -1;
    if (rc == 0 && present) {
        struct fetch_set keep = { NULL, 0, 0 };

        for (size_t i = 0; i < npresent; i++) {
            const struct fetch_entry *e = fetch_set_find(&s->seen,
                                                         present[i]);

            if (e && fetch_set_put(&keep, e->key, e->hash) < 0) {
                fetch_set_clear(&keep);
                rc = fetch_nomem(err);
                break;
            }
        }
        if (rc == 0) {
            if (keep.n != s->seen.n)
                s->dirty = true;
            fetch_set_clear(&s->seen);
            s->seen = keep;
        }
    }
    if (rc == 0 && (s->dirty || s->jbuf.len) && write_state(s, err) < 0)
        rc = -1;
    mail_fetch_src_free(s);
    return rc;
}

void mail_fetch_src_free(struct mail_fetch_src *s)
{
    if (!s)
        return;
    if (s->cur) {
        struct mail_error e2;

        mail_fetch_msg_end(s, false, &e2);
    }
    batch_free(s);
    if (s->jfd >= 0)
        close(s->jfd);
    if (s->fd >= 0)
        close(s->fd);
    fetch_set_clear(&s->seen);
    fetch_set_clear(&s->known);
    mail_buf_release(&s->jbuf);
    EVP_MD_CTX_free(s->md);
    free(s->wbuf);
    free(s->dir);
    free(s->key);
    free(s->state_path);
    free(s->journal_path);
    free(s);
}

void mail_fetch_stats(const struct mail_fetch_src *s,
                      struct mail_fetch_stats *out)
{
    *out = s->stats;
}

void mail_fetch_src_watch(struct mail_fetch_src *s, struct mail_fetch_clock *c)
{
    s->wd = c;
}

