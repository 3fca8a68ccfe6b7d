/*
 * fetch.c - `mail fetch`: the engine (state, journal, lock, delivery,
 * the deadline) and, at the end, the run of one account over POP3 or IMAP
 * (mail_fetch_account).  See mail/fetch.h for the files and the
 * crash-safety protocol.
 *
 * Why its own Maildir writer rather than mail_folder_append: the journal
 * must name the file before it exists (the P record), so that after a
 * crash the file can be looked for by name instead of by content.  The
 * steps are those of maildir.c (O_EXCL in tmp/, fsync, link into new/ or
 * cur/, fsync the directory) but the directory fsync is done once per
 * batch, in mail_fetch_batch_commit, before anything is recorded.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "mail/buf.h"
#include "mail/config.h"
#include "mail/fetch.h"
#include "mail/folder.h"
#include "mail/fsutil.h"
#include "mail/imap.h"
#include "mail/pop3.h"
#include "mail/session.h"
#include "mail/spawn.h"

#define HASH_HEX 32            /* 128 bits of SHA-256, in hex */
#define WBUF_SIZE (64 * 1024)
#define UID_MAX_LEN 200
#define WATCHDOG_BYTES (1024 * 1024)   /* this much data is progress */

static int nomem(struct mail_error *err)
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

static char *join(const char *dir, const char *name)
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
    char *path = name ? join(dir, name) : NULL;
    int fd;

    free(name);
    if (!path)
        return nomem(err);
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

/* ---- a string set with a value (uid -> hash) ---- */

struct entry {
    char *key;
    char hash[HASH_HEX + 1];   /* "" when not known */
};

struct set {
    struct entry *v;
    size_t n, cap;             /* cap: 0 or a power of two */
};

static size_t str_hash(const char *s)
{
    size_t h = 14695981039346656037ull & (size_t)-1;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * (size_t)1099511628211ull;
    return h;
}

static struct entry *set_slot(const struct set *t, const char *key)
{
    size_t i;

    if (!t->cap)
        return NULL;
    i = str_hash(key) & (t->cap - 1);
    while (t->v[i].key && strcmp(t->v[i].key, key) != 0)
        i = (i + 1) & (t->cap - 1);
    return &t->v[i];
}

static struct entry *set_find(const struct set *t, const char *key)
{
    struct entry *e = set_slot(t, key);

    return e && e->key ? e : NULL;
}

static int set_grow(struct set *t)
{
    struct set n = { NULL, 0, t->cap ? t->cap * 2 : 64 };

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
static int set_put(struct set *t, const char *key, const char *hash)
{
    struct entry *e;

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

static void set_clear(struct set *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->v[i].key);
    free(t->v);
    t->v = NULL;
    t->n = t->cap = 0;
}

/* ---- destinations ---- */

struct mail_fetch_dest {
    enum mail_fetch_dest_kind kind;
    const struct mail_paths *paths;
    char *path;                 /* Maildir or mbox path; the MDA command */
    struct mail_folder *mbox;   /* open mbox folder */
    struct mail_folder *maildir;   /* open Maildir (deferred-sync appends) */
};

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
        nomem(err);
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
            char *p = join(exp, sub[i]);

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
    nomem(err);
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
        nomem(err);
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

/* ---- sources ---- */

struct item {
    char *uid;
    char *name;              /* Maildir unique name */
    bool delivered;          /* renamed into place / appended / MDA ok */
    bool dropped;            /* a known duplicate, not delivered */
    char hash[HASH_HEX + 1];
    bool held;               /* Maildir: committed in tmp/, not yet
                                durable nor placed (deferred sync) */
    size_t held_seq;         /* its place in the folder's pending list */
};

struct mail_fetch_src {
    struct mail_fetch_dest *dest;
    char *dir, *state_path, *journal_path, *key;
    bool hashes;
    struct set seen;           /* uid -> hash */
    struct set known;          /* hashes from before a UIDVALIDITY change */
    uint32_t uidvalidity;
    uint32_t last_uid;
    int jfd;                   /* journal, -1 until written */
    struct mail_buf jbuf;      /* journal records not yet written */
    bool dirty;                /* the state file is out of date */

    struct item *batch;
    size_t nbatch;

    /* the message being delivered */
    struct item *cur;
    int fd;                    /* the spool file (mbox, MDA) */
    struct mail_append *app;
    size_t nheld;              /* messages held in this batch */
    EVP_MD_CTX *md;
    char *wbuf;
    size_t wlen;
    unsigned curflags;
    time_t curtime;
    bool pending_cr;           /* _write_crlf: a CR ended the last piece */
    bool failed;
    bool discard;              /* a UID already delivered in this batch */
    bool spool;                /* mbox/MDA: s->fd is a spool file, the
                                  delivery starts once the hash is known */
    struct mail_error werr;

    struct mail_fetch_stats stats;
    struct mail_fetch_clock *wd;      /* told of progress, or NULL */
    uint64_t wd_bytes;                /* bytes since the last telling */
};

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
    if (set_put(&s->seen, uid, s->hashes ? hash : NULL) < 0)
        return -1;
    update_last(s, uid);
    return 0;
}

static void forget_uids(struct mail_fetch_src *s)
{
    for (size_t i = 0; i < s->seen.cap; i++)
        if (s->seen.v[i].key && s->seen.v[i].hash[0])
            set_put(&s->known, s->seen.v[i].hash, NULL);
    set_clear(&s->seen);
    s->last_uid = 0;
}

static int journal_add(struct mail_fetch_src *s, struct mail_error *err,
                       const char *fmt, ...) MAIL_PRINTF(3, 4);
static int journal_add(struct mail_fetch_src *s, struct mail_error *err,
                       const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = mail_buf_vprintf(&s->jbuf, fmt, ap);
    va_end(ap);
    if (r < 0)
        return nomem(err);
    return 0;
}

/* Write the pending records and fsync: after this they survive a crash. */
static int journal_sync(struct mail_fetch_src *s, struct mail_error *err)
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
                rc = nomem(err);
                break;
            }
        } else if (nw == 2 && strcmp(w[0], "h") == 0) {
            if (set_put(&s->known, w[1], NULL) < 0) {
                rc = nomem(err);
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
                    rc = nomem(err);
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
                rc = nomem(err);
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
                rc = nomem(err);
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

        if (rc == 0 && !set_find(&s->seen, pv[i].uid)) {
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
                    rc = nomem(err);
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
        const struct entry *e = &s->seen.v[i];

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
    nomem(err);
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
        nomem(err);
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
    s->state_path = sn ? join(dir, sn) : NULL;
    s->journal_path = jn ? join(dir, jn) : NULL;
    free(sn);
    free(jn);
    s->md = EVP_MD_CTX_new();
    s->wbuf = malloc(WBUF_SIZE);
    if (!s->dir || !s->key || !s->state_path || !s->journal_path || !s->md ||
        !s->wbuf) {
        nomem(err);
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
    return set_find(&s->seen, uid) != NULL;
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
    if (journal_add(s, err, "V %u\n", v) < 0 || journal_sync(s, err) < 0)
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
        if (journal_add(s, err, "D %s -\n", uids[i]) < 0)
            return -1;
        if (mark_seen(s, uids[i], NULL) < 0)
            return nomem(err);
        s->stats.marked++;
    }
    return journal_sync(s, err);
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
        return nomem(err);
    s->nbatch = n;
    for (size_t i = 0; i < n; i++) {
        struct item *it = &s->batch[i];

        if (!valid_uid(uids[i])) {
            batch_free(s);
            return mail_error_set(err, MAIL_ERR_PROTOCOL, "unusable message "
                                  "id from the server");
        }
        it->uid = strdup(uids[i]);
        it->name = s->dest->kind == MAIL_FETCH_MAILDIR ? unique_name()
                                                         : strdup("-");
        if (!it->uid || !it->name ||
            journal_add(s, err, "P %s %s\n", it->uid, it->name) < 0) {
            batch_free(s);
            return nomem(err);
        }
    }
    if (journal_sync(s, err) < 0) {
        batch_free(s);
        return -1;
    }
    return 0;
}

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
static int mbox_start(struct mail_fetch_src *s, struct item *it,
                      struct mail_error *err)
{
    struct stat st;

    if (stat(s->dest->path, &st) < 0)
        return mail_error_set(err, MAIL_ERR_IO, "%s: %s", s->dest->path,
                              strerror(errno));
    if (journal_add(s, err, "O %s %lld\n", it->uid,
                    (long long)st.st_size) < 0 ||
        journal_sync(s, err) < 0)
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
    struct item *it;
    int r = 0;

    if (i >= s->nbatch || s->cur)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "fetch: bad message "
                              "index");
    it = &s->batch[i];
    s->cur = it;
    s->failed = false;
    s->pending_cr = false;
    s->wlen = 0;
    s->spool = false;
    s->curflags = flags;
    s->curtime = received;
    mail_error_clear(&s->werr);
    /* The same UID twice (a server that sends one message twice in a
     * reply): the first copy is the one; the second is read and dropped,
     * so that it is neither stored twice nor blocks the batch. */
    s->discard = it->delivered || it->dropped || it->held;
    if (s->discard)
        return 0;
    if (EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1)
        return nomem(err);
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

static int wflush(struct mail_fetch_src *s)
{
    if (!s->wlen)
        return 0;
    if (mail_write_all(s->fd, s->wbuf, s->wlen) < 0) {
        mail_error_set(&s->werr, MAIL_ERR_IO, "%s (spool file): %s",
                       s->dest->path, strerror(errno));
        return -1;
    }
    s->wlen = 0;
    return 0;
}

int mail_fetch_msg_write(void *ctx, const char *data, size_t len)
{
    struct mail_fetch_src *s = ctx;

    if (s->failed || !s->cur)
        return -1;
    if (s->discard)
        return 0;
    if (EVP_DigestUpdate(s->md, data, len) != 1) {
        nomem(&s->werr);
        s->failed = true;
        return -1;
    }
    s->stats.bytes += len;
    s->wd_bytes += len;
    if (s->wd && s->wd_bytes >= WATCHDOG_BYTES) {
        s->wd_bytes = 0;
        mail_fetch_clock_progress(s->wd);
    }
    if (!s->spool) {
        if (mail_append_write(s->app, data, len, &s->werr) < 0) {
            s->failed = true;
            return -1;
        }
        return 0;
    }
    if (s->wlen + len > WBUF_SIZE && wflush(s) < 0) {
        s->failed = true;
        return -1;
    }
    if (len >= WBUF_SIZE) {
        if (mail_write_all(s->fd, data, len) < 0) {
            mail_error_set(&s->werr, MAIL_ERR_IO, "%s (spool file): %s",
                           s->dest->path, strerror(errno));
            s->failed = true;
            return -1;
        }
        return 0;
    }
    memcpy(s->wbuf + s->wlen, data, len);
    s->wlen += len;
    return 0;
}

const struct mail_error *
mail_fetch_msg_sink_error(const struct mail_fetch_src *s)
{
    return &s->werr;
}

int mail_fetch_msg_error(const struct mail_fetch_src *s,
                         struct mail_error *err)
{
    if (!s->cur || !s->failed)
        return 0;
    *err = s->werr;
    return 1;
}

int mail_fetch_msg_write_crlf(void *ctx, const char *data, size_t len)
{
    struct mail_fetch_src *s = ctx;
    size_t start = 0;

    if (s->pending_cr) {
        s->pending_cr = false;
        if (len && data[0] != '\n' && mail_fetch_msg_write(s, "\r", 1) < 0)
            return -1;
        if (!len)
            s->pending_cr = true;
    }
    for (size_t i = 0; i < len; i++) {
        if (data[i] != '\r')
            continue;
        if (i + 1 == len) {
            /* decided by the next piece (or the end: see _msg_end) */
            if (mail_fetch_msg_write(s, data + start, i - start) < 0)
                return -1;
            s->pending_cr = true;
            return 0;
        }
        if (data[i + 1] == '\n') {
            if (mail_fetch_msg_write(s, data + start, i - start) < 0)
                return -1;
            start = i + 1;
        }
    }
    return mail_fetch_msg_write(s, data + start, len - start);
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
static int spool_deliver(struct mail_fetch_src *s, struct item *it,
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
    struct item *it = s->cur;
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
        mail_fetch_msg_write(s, "\r", 1);
    }
    if (s->failed && ok) {
        *err = s->werr;
        ok = false;
        rc = -1;
    }
    finish_hash(s, it->hash);
    if (s->spool) {
        /* MDA, or mbox with known hashes: decide, then deliver */
        if (ok && wflush(s) < 0) {
            *err = s->werr;
            ok = false;
            rc = -1;
        }
        if (ok && it->hash[0] && set_find(&s->known, it->hash)) {
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
        if (ok && it->hash[0] && set_find(&s->known, it->hash)) {
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
            struct item *it = &s->batch[i];

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
        struct item *it = &s->batch[i];

        if (!it->delivered && !it->dropped)
            continue;
        if (journal_add(s, err, "D %s %s\n", it->uid,
                        it->hash[0] ? it->hash : "-") < 0 ||
            mark_seen(s, it->uid, it->hash) < 0)
            rc = -1;
        n++;
    }
    if (rc == 0 && journal_sync(s, err) < 0)
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
        struct set keep = { NULL, 0, 0 };

        for (size_t i = 0; i < npresent; i++) {
            const struct entry *e = set_find(&s->seen, present[i]);

            if (e && set_put(&keep, e->key, e->hash) < 0) {
                set_clear(&keep);
                rc = nomem(err);
                break;
            }
        }
        if (rc == 0) {
            if (keep.n != s->seen.n)
                s->dirty = true;
            set_clear(&s->seen);
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
    set_clear(&s->seen);
    set_clear(&s->known);
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

void mail_fetch_src_watch(struct mail_fetch_src *s, struct mail_fetch_clock *c)
{
    s->wd = c;
}

/* ---- the run of one account (was cmd/fetch.c) ---- */

#define BATCH 256       /* messages per durable batch */

/* One account's run. */
struct fetch_run {
    const struct mail_fetch_opts *o;
    const struct mail_fetch_hooks *h;
    struct mail_account *acct;
    char *statedir;
    struct mail_fetch_dest *dest;
    struct mail_fetch_src *src;
    struct mail_fetch_clock wd;       /* the run's deadline */
    struct mail_server srv;
    struct mail_buf secret;
    const char *folder;          /* for messages: "INBOX" */
    size_t total, done;          /* progress of the current folder */
};

static void progress(struct fetch_run *r, bool end)
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

static void summary(struct fetch_run *r, const struct mail_fetch_stats *st)
{
    if (r->h->folder_done)
        r->h->folder_done(r->h->arg, r->acct->name, r->folder, st);
}

static void note(struct fetch_run *r, const char *fmt, ...) MAIL_PRINTF(2, 3);
static void note(struct fetch_run *r, const char *fmt, ...)
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

static int get_secret(struct fetch_run *r, struct mail_error *err)
{
    if (r->secret.len)
        return 0;
    return mail_account_password(r->acct, r->srv.host, r->srv.user,
                                 r->o->prompt, r->o->prompt_arg, &r->secret,
                                 err);
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
        note(r, "%s: message %u is %llu bytes, over fetch-max-size: its "
             "header is kept here, the message left on the server", s->name,
             m[i]->msgno, (unsigned long long)m[i]->size);
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
    r->srv.deadline = &r->wd.dl;
    if (r->o->trace) {
        r->srv.trace = r->o->trace;
        r->srv.trace_arg = r->o->trace_arg;
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
    mail_fetch_src_watch(r->src, &r->wd);
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
            note(r, "%s: message %u is %llu bytes, over fetch-max-size: "
                 "left on the server", s->name, p->msgno,
                 (unsigned long long)p->size);
            continue;
        }
        todo[ntodo++] = *p;
    }
    if (ndup)
        note(r, "%s: %zu messages share a UIDL with another one and are "
             "left on the server", s->name, ndup);
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
    sink->err = mail_fetch_msg_sink_error(b->r->src);   /* ENOSPC, ... */
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
    mail_fetch_clock_progress(&r->wd);   /* a folder done */
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
    const char *const *pat = NULL;
    const char **own = NULL;   /* the words of fetch-folders */
    size_t npat = 0, nbad = 0;
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
        rc = r.dest ? fetch_pop3(&r, err) : -1;
    } else {
        rc = fetch_imap(&r, err);
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
