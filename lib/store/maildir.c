/*
 * maildir.c - the Maildir folder driver (https://cr.yp.to/proto/maildir.html
 * and Maildir++ for subfolders).
 *
 * A message is one file in new/ (not yet seen by a client) or cur/,
 * named UNIQUE (new/) or UNIQUE:2,FLAGS (cur/), FLAGS being the letters
 * D F P R S T in ASCII order plus any others a client put there (kept).
 * The key of a message is UNIQUE, which never changes: flag changes are
 * renames, so another client may rename a file between our readdir and
 * our open; every lookup that finds the old name gone looks the unique
 * name up again (relocate()) before giving up.
 *
 * Delivery follows the spec and mblaze's mdeliver, plus the two steps
 * both leave out: an O_EXCL file in tmp/, written, fsynced, closed (every
 * return checked), linked into new/ (or cur/ with flags; a link never
 * replaces a file, unlike rename), the tmp name removed, and new/ itself
 * fsynced so that the name survives a crash.  Any failure removes the tmp
 * file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "hcache.h"
#include "mail/folder.h"

#define CHUNK 65536
/* Attempts at a free tmp/ name before giving up. */
#define CREATE_TRIES 16

/* A message committed with MAIL_APPEND_DEFER_SYNC: closed in tmp/, not
 * yet durable nor visible. */
struct md_pending {
    char *tmp;          /* path in tmp/ */
    char *dst;          /* its path in new/ or cur/ */
    bool cur;
};

struct maildir {
    struct mail_folder base;
    struct md_pending *pend;    /* in commit order */
    size_t npend, apend;
};

struct maildir_append {
    struct mail_append base;
    int fd;
    char *tmp;          /* path in tmp/ */
    char *unique;
    unsigned flags;
    time_t received;    /* 0: leave the mtime alone */
    bool defer;         /* MAIL_APPEND_DEFER_SYNC */
    size_t buflen;
    char buf[CHUNK / 2];
};

/* One file found by a listing. */
struct entry {
    char *name;         /* file name, malloc'd */
    size_t ulen;        /* length of the unique part */
    bool cur;           /* in cur/ (else new/) */
    bool gone;          /* vanished between readdir and stat */
    uint64_t size;
    int64_t mtime;
    uint32_t mtime_ns;
    time_t received;
    size_t rec;         /* index into the new cache records */
};

static const struct mail_folder_driver maildir_driver;

/* ---- names and flags ---- */

static const struct {
    char letter;
    unsigned flag;
} flag_letters[] = {
    /* ASCII order, which is the order the spec wants them written in */
    { 'D', MAIL_FLAG_DRAFT },
    { 'F', MAIL_FLAG_FLAGGED },
    { 'P', MAIL_FLAG_PASSED },
    { 'R', MAIL_FLAG_ANSWERED },
    { 'S', MAIL_FLAG_SEEN },
    { 'T', MAIL_FLAG_DELETED },
};

#define STORED_FLAGS (MAIL_FLAG_DRAFT | MAIL_FLAG_FLAGGED | MAIL_FLAG_PASSED | \
                      MAIL_FLAG_ANSWERED | MAIL_FLAG_SEEN | MAIL_FLAG_DELETED)

/*
 * Where the info of a file name starts: the first ':' (the spec's
 * separator), else ";2," as some Windows tools write it.  Returns the
 * length of the unique part; *flags is set to the letters after "2,"
 * (NULL when there is no ":2," info).
 */
static size_t split_name(const char *name, const char **flags)
{
    const char *c = strchr(name, ':');

    if (!c) {
        c = strstr(name, ";2,");
        if (!c) {
            *flags = NULL;
            return strlen(name);
        }
    }
    *flags = c[1] == '2' && c[2] == ',' ? c + 3 : NULL;
    return (size_t)(c - name);
}

/* The flag a letter stands for, 0 for one we do not know. */
static unsigned letter_flag(char c)
{
    size_t i;

    for (i = 0; i < sizeof flag_letters / sizeof flag_letters[0]; i++)
        if (c == flag_letters[i].letter)
            return flag_letters[i].flag;
    return 0;
}

static unsigned parse_flags(const char *letters)
{
    unsigned f = 0;

    for (; letters && *letters; letters++)
        f |= letter_flag(*letters);
    return f;
}

static int cmp_char(const void *a, const void *b)
{
    return *(const unsigned char *)a - *(const unsigned char *)b;
}

/*
 * The file name for unique with flags, keeping the letters we do not
 * know from old_letters (a custom flag is another client's data), sorted
 * and without duplicates.  sep is ':' or ';' (as the old name had it).
 * NULL on ENOMEM.
 */
static char *make_name(const char *unique, size_t ulen, bool cur,
                       unsigned flags, const char *old_letters, char sep)
{
    struct mail_buf b = MAIL_BUF_INIT;
    char letters[128];
    size_t n = 0, i, j;

    for (i = 0; i < sizeof flag_letters / sizeof flag_letters[0]; i++)
        if (flags & flag_letters[i].flag)
            letters[n++] = flag_letters[i].letter;
    for (; old_letters && *old_letters && n < sizeof letters - 1;
         old_letters++) {
        unsigned char c = (unsigned char)*old_letters;

        if (c <= ' ' || c >= 127 || c == '/' || letter_flag((char)c))
            continue;
        if (!memchr(letters, c, n))
            letters[n++] = (char)c;
    }
    if (n > 1)
        qsort(letters, n, 1, cmp_char);
    /* drop duplicates (the spec forbids them) */
    for (i = j = 0; i < n; i++)
        if (j == 0 || letters[j - 1] != letters[i])
            letters[j++] = letters[i];
    n = j;
    if (mail_buf_add(&b, unique, ulen) < 0 ||
        (cur && (mail_buf_addch(&b, sep) < 0 ||
                 mail_buf_addstr(&b, "2,") < 0 ||
                 mail_buf_add(&b, letters, n) < 0))) {
        mail_buf_release(&b);
        return NULL;
    }
    return mail_buf_detach(&b);
}

static char *join3(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *p = malloc(la + lb + lc + 3);

    if (!p)
        return NULL;
    memcpy(p, a, la);
    p[la] = '/';
    memcpy(p + la + 1, b, lb);
    p[la + 1 + lb] = '/';
    memcpy(p + la + lb + 2, c, lc + 1);
    return p;
}

/* The delivery time in a name "1700000000.M1P2.host", or -1. */
static time_t name_time(const char *name)
{
    time_t t = 0;
    int digits = 0;

    for (; *name >= '0' && *name <= '9'; name++) {
        if (++digits > 12)
            return -1;
        t = t * 10 + (*name - '0');
    }
    return digits > 0 && (*name == '.' || *name == '\0') ? t : -1;
}

/*
 * Find the file whose unique part is unique (another client renamed
 * it), in cur/ then new/.  Returns the path (malloc'd), or NULL with
 * err set: MAIL_ERR_NOTFOUND when it is not there.
 */
static char *relocate(struct mail_folder *f, const char *unique,
                      struct mail_error *err)
{
    static const char *const subs[] = { "cur", "new" };
    size_t ulen = strlen(unique);
    int i;

    for (i = 0; i < 2; i++) {
        char *dir = join3(f->path, subs[i], "");
        struct dirent *de;
        DIR *d;

        if (!dir) {
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            return NULL;
        }
        dir[strlen(dir) - 1] = '\0';
        d = opendir(dir);
        free(dir);
        if (!d)
            continue;
        while ((de = readdir(d)) != NULL) {
            const char *fl;

            if (de->d_name[0] != '.' && split_name(de->d_name, &fl) == ulen &&
                memcmp(de->d_name, unique, ulen) == 0) {
                char *p = join3(f->path, subs[i], de->d_name);

                closedir(d);
                if (!p)
                    mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
                return p;
            }
        }
        closedir(d);
    }
    mail_error_set(err, MAIL_ERR_NOTFOUND, "%s: message %s: no longer there",
                   f->path, unique);
    return NULL;
}

/* Open e's file (looking it up again if it was renamed). */
static int open_message(struct mail_folder *f, const struct mail_envelope *e,
                        struct mail_error *err)
{
    char *p;
    int fd;

    if (e->path) {
        fd = open(e->path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
            return fd;
        if (errno != ENOENT)
            return mail_error_set(err, MAIL_ERR_IO, "%s: %s", e->path,
                                  strerror(errno));
    }
    if (!e->key)
        return mail_error_set(err, MAIL_ERR_NOTFOUND, "%s: no such message",
                              f->path);
    p = relocate(f, e->key, err);
    if (!p)
        return -1;
    fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        mail_error_set(err, errno == ENOENT ? MAIL_ERR_NOTFOUND : MAIL_ERR_IO,
                       "%s: %s", p, strerror(errno));
    free(p);
    return fd;
}

/* ---- open ---- */

static int is_dir(const char *base, const char *sub)
{
    char *p = join3(base, sub, "");
    struct stat st;
    int r;

    if (!p)
        return -1;
    p[strlen(p) - 1] = '\0';
    r = stat(p, &st) == 0 && S_ISDIR(st.st_mode);
    free(p);
    return r;
}

static int create_maildir(const char *path, struct mail_error *err)
{
    static const char *const subs[] = { "cur", "new", "tmp" };
    char *p, *slash;
    int i;

    if (mail_mkdirs(path, err) < 0)
        return -1;
    for (i = 0; i < 3; i++) {
        p = join3(path, subs[i], "");
        if (!p)
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        p[strlen(p) - 1] = '\0';
        if (mkdir(p, 0700) < 0 && errno != EEXIST) {
            mail_error_set(err, MAIL_ERR_CANTCREAT, "%s: %s", p,
                           strerror(errno));
            free(p);
            return -1;
        }
        free(p);
    }
    /* Maildir++: a subfolder ".Name" of a Maildir says so with an empty
     * file "maildirfolder" (Courier, Dovecot look for it). */
    slash = strrchr(path, '/');
    if (slash && slash[1] == '.') {
        char *parent = strndup(path, (size_t)(slash - path));

        if (parent && is_dir(parent, "cur") == 1) {
            p = join3(path, "maildirfolder", "");
            if (p) {
                int fd;

                p[strlen(p) - 1] = '\0';
                fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
                if (fd >= 0)
                    close(fd);
                free(p);
            }
        }
        free(parent);
    }
    return 0;
}

static bool dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;
    bool empty = true;

    if (!d)
        return false;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            empty = false;
            break;
        }
    closedir(d);
    return empty;
}

struct mail_folder *mail_maildir_open(const char *path, int mode,
                                      const struct mail_paths *paths,
                                      struct mail_error *err)
{
    struct maildir *md;
    struct stat st;

    if (stat(path, &st) < 0) {
        if (errno != ENOENT || !(mode & MAIL_FOLDER_CREATE)) {
            mail_error_set(err, errno == ENOENT ? MAIL_ERR_NOTFOUND
                                                : MAIL_ERR_IO,
                           "%s: %s", path, strerror(errno));
            return NULL;
        }
        if (create_maildir(path, err) < 0)
            return NULL;
    } else if (is_dir(path, "cur") != 1 || is_dir(path, "new") != 1) {
        /* An empty directory is a Maildir waiting to be made; anything
         * else might be someone's data. */
        if (!(mode & MAIL_FOLDER_CREATE) || !dir_is_empty(path)) {
            mail_error_set(err, MAIL_ERR_DATA,
                           "%s: not a Maildir (no cur/ and new/)", path);
            return NULL;
        }
        if (create_maildir(path, err) < 0)
            return NULL;
    }
    md = calloc(1, sizeof *md);
    if (!md) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    if (mail_folder_base_init(&md->base, &maildir_driver, MAIL_FOLDER_MAILDIR,
                              path, mode, paths, err) < 0) {
        free(md);
        return NULL;
    }
    return &md->base;
}

/* ---- list ---- */

struct listing {
    struct entry *v;
    size_t n, alloc;
    bool vanished;      /* a file went away between readdir and stat */
};

static void listing_release(struct listing *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        free(l->v[i].name);
    free(l->v);
}

/* Add the files of path/sub to l; with only_missing (a re-scan) just
 * those whose unique name is not in sorted[0..nsorted). */
static int scan(struct mail_folder *f, bool cur, struct listing *l,
                const struct entry *sorted, size_t nsorted,
                struct mail_error *err);

static int cmp_unique(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    size_t n = x->ulen < y->ulen ? x->ulen : y->ulen;
    int c = memcmp(x->name, y->name, n);

    if (c)
        return c;
    if (x->ulen != y->ulen)
        return x->ulen < y->ulen ? -1 : 1;
    /* cur/ first: when a file is seen in both, cur/ is the later state */
    return (int)y->cur - (int)x->cur;
}

static int scan(struct mail_folder *f, bool cur, struct listing *l,
                const struct entry *sorted, size_t nsorted,
                struct mail_error *err)
{
    const char *sub = cur ? "cur" : "new";
    char *dir = join3(f->path, sub, "");
    struct dirent *de;
    DIR *d;
    int dfd;

    if (!dir)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    dir[strlen(dir) - 1] = '\0';
    d = opendir(dir);
    if (!d) {
        mail_error_set(err, errno == ENOENT ? MAIL_ERR_NOTFOUND : MAIL_ERR_IO,
                       "%s: %s", dir, strerror(errno));
        free(dir);
        return -1;
    }
    dfd = dirfd(d);
    for (;;) {
        struct entry *e;
        struct stat st;
        const char *fl;

        errno = 0;
        de = readdir(d);
        if (!de)
            break;
        /* Dot files are not messages (the spec; also our own temp files
         * and editors' swap files). */
        if (de->d_name[0] == '.')
            continue;
        if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN &&
            de->d_type != DT_LNK)
            continue;
        if (sorted) {
            struct entry key;

            key.name = de->d_name;
            key.ulen = split_name(de->d_name, &fl);
            key.cur = true;
            if (bsearch(&key, sorted, nsorted, sizeof key, cmp_unique) ||
                (key.cur = false,
                 bsearch(&key, sorted, nsorted, sizeof key, cmp_unique)))
                continue;
        }
        if (fstatat(dfd, de->d_name, &st, 0) < 0) {
            if (errno == ENOENT) {
                l->vanished = true;   /* renamed or removed meanwhile */
                continue;
            }
            mail_error_set(err, MAIL_ERR_IO, "%s/%s: %s", dir, de->d_name,
                           strerror(errno));
            goto fail;
        }
        if (!S_ISREG(st.st_mode))
            continue;
        if (l->n == l->alloc) {
            size_t na = l->alloc ? l->alloc * 2 : 256;
            struct entry *nv = realloc(l->v, na * sizeof *nv);

            if (!nv)
                goto nomem;
            l->v = nv;
            l->alloc = na;
        }
        e = &l->v[l->n];
        memset(e, 0, sizeof *e);
        e->name = strdup(de->d_name);
        if (!e->name)
            goto nomem;
        e->ulen = split_name(e->name, &fl);
        e->cur = cur;
        e->size = (uint64_t)st.st_size;
        e->mtime = (int64_t)st.st_mtim.tv_sec;
        e->mtime_ns = (uint32_t)st.st_mtim.tv_nsec;
        e->received = name_time(e->name);
        if (e->received < 0)
            e->received = st.st_mtim.tv_sec;
        l->n++;
    }
    if (errno != 0) {
        mail_error_set(err, MAIL_ERR_IO, "%s: %s", dir, strerror(errno));
        goto fail;
    }
    closedir(d);
    free(dir);
    return 0;
nomem:
    mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
fail:
    closedir(d);
    free(dir);
    return -1;
}

static int cmp_received(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;

    if (x->received != y->received)
        return x->received < y->received ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Read a file's header (and body, for attachments) into a new record. */
static int parse_file(struct mail_folder *f, const struct entry *en,
                      struct hcache_rec *r, int flags, bool *gone,
                      struct mail_error *err)
{
    struct mail_header h = MAIL_HEADER_INIT;
    char *path = join3(f->path, en->cur ? "cur" : "new", en->name);
    int fd, ret = -1;

    *gone = false;
    if (!path)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            *gone = true;   /* renamed since the stat: skipped */
        else
            mail_error_set(err, MAIL_ERR_IO, "%s: %s", path, strerror(errno));
        free(path);
        return *gone ? 0 : -1;
    }
    memset(r, 0, sizeof *r);
    r->num[0] = en->size;
    r->num[1] = (uint64_t)en->mtime;
    r->num[2] = en->mtime_ns;
    r->str[HC_KEY] = strndup(en->name, en->ulen);
    if (!r->str[HC_KEY]) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto out;
    }
    r->owned = 1u << HC_KEY;
    if (mail_header_read_fd(&h, fd, 0, NULL, err) < 0) {
        mail_error_prefix(err, "%s", path);
        goto out;
    }
    if (folder_rec_from_header(r, &h, err) < 0)
        goto out;
    if (flags & MAIL_FOLDER_LIST_ATTACHMENTS) {
        struct folder_attach a;
        char buf[CHUNK];
        ssize_t n;

        if (lseek(fd, 0, SEEK_SET) < 0) {
            mail_error_set(err, MAIL_ERR_IO, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (folder_attach_begin(&a, err) < 0)
            goto out;
        while ((n = read(fd, buf, sizeof buf)) != 0) {
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                mail_error_set(err, MAIL_ERR_IO, "%s: %s", path,
                               strerror(errno));
                folder_attach_abort(&a);
                goto out;
            }
            if (folder_attach_sink(&a, buf, (size_t)n) < 0) {
                folder_attach_abort(&a);
                goto out;
            }
        }
        if (folder_attach_end(&a, &r->attachments) < 0)
            goto out;
        r->bits |= HC_ATTACH_KNOWN;
    }
    ret = 0;
out:
    if (ret < 0)
        hcache_rec_release(r);
    mail_header_release(&h);
    close(fd);
    free(path);
    return ret;
}

static int md_list(struct mail_folder *f, struct mail_envelope_list *out,
                   int flags, struct mail_error *err)
{
    struct listing l = { NULL, 0, 0, false };
    struct hcache cache;
    struct hcache_rec *recs = NULL;
    size_t nrecs = 0, i, j, first = out->n;
    bool vanished = false, changed = false;
    uint64_t meta[HC_NNUM] = { 0 };
    int ret = -1;

    /* new/ before cur/: a file moved from new/ to cur/ meanwhile is then
     * seen (twice at worst, which the de-duplication below handles)
     * rather than missed. */
    if (scan(f, false, &l, NULL, 0, err) < 0 ||
        scan(f, true, &l, NULL, 0, err) < 0) {
        listing_release(&l);
        return -1;
    }
    hcache_open(&cache, f->paths, f->path, MAIL_FOLDER_MAILDIR);
    recs = calloc(l.n ? l.n : 1, sizeof *recs);
    if (!recs) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto out;
    }
    for (i = 0; i < l.n; i++) {
        struct entry *en = &l.v[i];
        const struct hcache_rec *hit;
        char saved = en->name[en->ulen];

        en->name[en->ulen] = '\0';
        hit = hcache_find(&cache, en->name);
        en->name[en->ulen] = saved;
        if (hit && hit->num[0] == en->size &&
            hit->num[1] == (uint64_t)en->mtime && hit->num[2] == en->mtime_ns &&
            (!(flags & MAIL_FOLDER_LIST_ATTACHMENTS) ||
             (hit->bits & HC_ATTACH_KNOWN))) {
            recs[nrecs] = *hit;
            recs[nrecs].owned = 0;   /* the strings stay in the cache */
        } else {
            bool gone;

            if (parse_file(f, en, &recs[nrecs], flags, &gone, err) < 0)
                goto out;
            changed = true;
            if (gone) {
                en->gone = vanished = true;
                continue;
            }
        }
        en->rec = nrecs++;
    }
    if (nrecs != cache.n)
        changed = true;
    vanished = vanished || l.vanished;

    /* Drop duplicates (the same message in new/ and cur/ during another
     * client's rename) and vanished files; then look once more for
     * vanished files under their new names. */
    if (l.n > 1)
        qsort(l.v, l.n, sizeof *l.v, cmp_unique);
    for (i = j = 0; i < l.n; i++) {
        if (l.v[i].gone ||
            (j > 0 && l.v[j - 1].ulen == l.v[i].ulen &&
             memcmp(l.v[j - 1].name, l.v[i].name, l.v[i].ulen) == 0)) {
            free(l.v[i].name);
            continue;
        }
        l.v[j++] = l.v[i];
    }
    l.n = j;
    if (vanished) {
        size_t before = l.n;

        for (int k = 0; k < 2; k++) {
            struct listing more = { NULL, 0, 0, false };

            if (scan(f, k == 1, &more, l.v, before, err) < 0) {
                listing_release(&more);
                goto out;
            }
            for (i = 0; i < more.n; i++) {
                struct hcache_rec r;
                bool gone;
                struct hcache_rec *nr;
                struct entry *ne;

                if (parse_file(f, &more.v[i], &r, flags, &gone, err) < 0) {
                    listing_release(&more);
                    goto out;
                }
                if (gone)
                    continue;
                nr = realloc(recs, (nrecs + 1) * sizeof *recs);
                ne = nr ? realloc(l.v, (l.n + 1) * sizeof *l.v) : NULL;
                if (nr)
                    recs = nr;
                if (!ne) {
                    hcache_rec_release(&r);
                    listing_release(&more);
                    mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
                    goto out;
                }
                l.v = ne;
                l.alloc = l.n + 1;
                recs[nrecs] = r;
                l.v[l.n] = more.v[i];
                more.v[i].name = NULL;
                l.v[l.n++].rec = nrecs++;
            }
            listing_release(&more);
        }
    }

    if (l.n > 1)
        qsort(l.v, l.n, sizeof *l.v, cmp_received);
    for (i = 0; i < l.n; i++) {
        struct entry *en = &l.v[i];
        struct mail_envelope *e = folder_env_push(out, err);
        const char *letters;

        if (!e)
            goto out;
        e->key = strndup(en->name, en->ulen);
        e->path = join3(f->path, en->cur ? "cur" : "new", en->name);
        if (!e->key || !e->path) {
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            goto out;
        }
        split_name(en->name, &letters);
        e->flags = parse_flags(letters) | (en->cur ? 0 : MAIL_FLAG_NEW);
        e->size = en->size;
        e->received = en->received;
        if (folder_env_from_rec(e, &recs[en->rec], err) < 0)
            goto out;
    }
    if (changed)
        hcache_save(&cache, meta, recs, nrecs);
    ret = 0;
out:
    if (ret < 0)
        folder_env_truncate(out, first);   /* leave out as it was */
    for (i = 0; i < nrecs; i++)
        hcache_rec_release(&recs[i]);
    free(recs);
    hcache_close(&cache);
    listing_release(&l);
    return ret;
}

/* ---- fetch ---- */

static int stream_fd(int fd, const char *what, mail_sink_fn sink, void *ctx,
                     struct mail_error *err)
{
    char *buf = malloc(CHUNK);
    ssize_t n;

    if (!buf)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    while ((n = read(fd, buf, CHUNK)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            mail_error_set(err, MAIL_ERR_IO, "%s: %s", what, strerror(errno));
            free(buf);
            return -1;
        }
        if (sink(ctx, buf, (size_t)n) < 0) {
            free(buf);
            return mail_error_set(err, MAIL_ERR_IO, "%s: output failed",
                                  what);
        }
    }
    free(buf);
    return 0;
}

static int md_fetch(struct mail_folder *f, const struct mail_envelope *e,
                    mail_sink_fn sink, void *ctx, struct mail_error *err)
{
    int fd = open_message(f, e, err);
    int r;

    if (fd < 0)
        return -1;
    r = stream_fd(fd, e->path ? e->path : f->path, sink, ctx, err);
    close(fd);
    return r;
}

static int md_message_fd(struct mail_folder *f, const struct mail_envelope *e,
                         int *fd, struct mail_error *err)
{
    *fd = open_message(f, e, err);
    return *fd < 0 ? -1 : 0;
}

/* ---- flags ---- */

static int md_set_flags(struct mail_folder *f, struct mail_envelope *e,
                        unsigned add, unsigned remove, struct mail_error *err)
{
    char *old = NULL, *name = NULL, *dst = NULL;
    int tries, ret = -1;

    if (!e->key)
        return mail_error_set(err, MAIL_ERR_NOTFOUND, "%s: no such message",
                              f->path);
    old = e->path ? strdup(e->path) : relocate(f, e->key, err);
    if (!old) {
        if (e->path)
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        return -1;
    }
    for (tries = 0; tries < 2; tries++) {
        const char *base = strrchr(old, '/'), *letters;
        bool was_cur, to_cur;
        unsigned now, want;
        size_t ulen;
        char sep;

        base = base ? base + 1 : old;
        was_cur = base - old >= 4 && memcmp(base - 4, "cur/", 4) == 0;
        ulen = split_name(base, &letters);
        sep = letters ? letters[-3] : ':';
        now = parse_flags(letters);
        want = ((now | add) & ~remove) & STORED_FLAGS;
        /* The spec: a client moves a message to cur/ once it has seen
         * it; any flag, or clearing NEW, means it has. */
        to_cur = was_cur || want != 0 || (add & MAIL_FLAG_SEEN) ||
                 (remove & MAIL_FLAG_NEW);
        free(name);
        free(dst);
        dst = NULL;
        name = make_name(base, ulen, to_cur, want, letters, sep);
        if (name)
            dst = join3(f->path, to_cur ? "cur" : "new", name);
        if (!dst) {
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            goto out;
        }
        if (strcmp(dst, old) == 0 || rename(old, dst) == 0) {
            free(e->path);
            e->path = dst;
            dst = NULL;
            e->flags = want | (to_cur ? 0 : MAIL_FLAG_NEW);
            ret = 0;
            goto out;
        }
        if (errno != ENOENT || tries == 1) {
            mail_error_set(err, MAIL_ERR_IO, "%s: rename to %s: %s", old,
                           dst, strerror(errno));
            goto out;
        }
        /* Renamed by another client since we listed: find it, apply the
         * change to its flags as they are now. */
        free(old);
        old = relocate(f, e->key, err);
        if (!old)
            goto out;
    }
out:
    free(old);
    free(name);
    free(dst);
    return ret;
}

static int md_expunge(struct mail_folder *f, struct mail_envelope *e,
                      struct mail_error *err)
{
    char *p;

    if (e->path && unlink(e->path) == 0)
        return 0;
    if (e->path && errno != ENOENT)
        return mail_error_set(err, MAIL_ERR_IO, "%s: %s", e->path,
                              strerror(errno));
    if (!e->key)
        return mail_error_set(err, MAIL_ERR_NOTFOUND, "%s: no such message",
                              f->path);
    p = relocate(f, e->key, err);
    if (!p)
        return -1;
    if (unlink(p) < 0) {
        mail_error_set(err, errno == ENOENT ? MAIL_ERR_NOTFOUND : MAIL_ERR_IO,
                       "%s: %s", p, strerror(errno));
        free(p);
        return -1;
    }
    free(p);
    return 0;
}

/* ---- append ---- */

/* The host name as the spec wants it in a unique name: '/' and ':' are
 * written as \057 and \072. */
static int host_part(struct mail_buf *b)
{
    char host[256];
    const char *h;

    if (gethostname(host, sizeof host) < 0)
        mail_strlcpy(host, "localhost", sizeof host);
    host[sizeof host - 1] = '\0';
    for (h = host; *h; h++) {
        int r;

        if (*h == '/')
            r = mail_buf_addstr(b, "\\057");
        else if (*h == ':')
            r = mail_buf_addstr(b, "\\072");
        else
            r = mail_buf_addch(b, *h);
        if (r < 0)
            return -1;
    }
    return 0;
}

/* A new unique name: time.M<usec>P<pid>Q<counter>.host.  The time part
 * is the delivery time given, so that listings sort moved and fetched
 * mail by when it arrived. */
static char *unique_name(time_t when)
{
    /* deliveries by this process (atomic: the reader may deliver from
     * more than one thread) */
    static atomic_uint counter;
    struct mail_buf b = MAIL_BUF_INIT;
    struct timeval tv;

    gettimeofday(&tv, NULL);
    if (when <= 0)
        when = tv.tv_sec;
    if (mail_buf_printf(&b, "%lld.M%ldP%ldQ%u.", (long long)when,
                        (long)tv.tv_usec, (long)getpid(),
                        atomic_fetch_add(&counter, 1) + 1) < 0 ||
        host_part(&b) < 0) {
        mail_buf_release(&b);
        return NULL;
    }
    return mail_buf_detach(&b);
}

/* Begin an append in tmp/ under `unique` (NULL: a new unique name, tried
 * again on a clash). */
static struct mail_append *md_append_begin_as(struct mail_folder *f,
                                              const char *unique,
                                              unsigned flags, time_t received,
                                              struct mail_error *err)
{
    struct maildir_append *a = calloc(1, sizeof *a);
    int tries;

    if (!a) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    a->base.folder = f;
    a->fd = -1;
    a->flags = flags & STORED_FLAGS;
    a->defer = (flags & MAIL_APPEND_DEFER_SYNC) != 0;
    a->received = received;
    for (tries = 0; tries < (unique ? 1 : CREATE_TRIES); tries++) {
        free(a->unique);
        free(a->tmp);
        a->tmp = NULL;
        a->unique = unique ? strdup(unique) : unique_name(received);
        if (a->unique)
            a->tmp = join3(f->path, "tmp", a->unique);
        if (!a->tmp) {
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            break;
        }
        a->fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (a->fd >= 0)
            return &a->base;
        if (errno != EEXIST || unique) {
            mail_error_set(err, MAIL_ERR_IO, "%s: %s", a->tmp,
                           strerror(errno));
            break;
        }
    }
    if (tries == CREATE_TRIES)
        mail_error_set(err, MAIL_ERR_TEMP, "%s: no free name in tmp/",
                       f->path);
    free(a->unique);
    free(a->tmp);
    free(a);
    return NULL;
}

static struct mail_append *md_append_begin(struct mail_folder *f,
                                           unsigned flags, time_t received,
                                           struct mail_error *err)
{
    return md_append_begin_as(f, NULL, flags, received, err);
}

struct mail_append *mail_maildir_append_begin_named(struct mail_folder *f,
                                                    const char *unique,
                                                    unsigned flags,
                                                    time_t received,
                                                    struct mail_error *err)
{
    if (mail_folder_kind(f) != MAIL_FOLDER_MAILDIR || !unique || !*unique ||
        strchr(unique, '/') || strchr(unique, ':') || unique[0] == '.') {
        mail_error_set(err, MAIL_ERR_INTERNAL, "%s: not a Maildir, or a bad "
                       "unique name", f->path);
        return NULL;
    }
    if (!(f->mode & MAIL_FOLDER_RDWR)) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "%s: opened read-only",
                       f->path);
        return NULL;
    }
    return md_append_begin_as(f, unique, flags, received, err);
}

static int md_flush(struct maildir_append *a, struct mail_error *err)
{
    if (a->buflen > 0 && mail_write_all(a->fd, a->buf, a->buflen) < 0)
        return mail_error_set(err, MAIL_ERR_IO, "%s: write: %s", a->tmp,
                              strerror(errno));
    a->buflen = 0;
    return 0;
}

static int md_append_write(struct mail_append *base, const char *data,
                           size_t len, struct mail_error *err)
{
    struct maildir_append *a = (struct maildir_append *)base;

    if (len >= sizeof a->buf) {
        if (md_flush(a, err) < 0)
            return -1;
        if (mail_write_all(a->fd, data, len) < 0)
            return mail_error_set(err, MAIL_ERR_IO, "%s: write: %s", a->tmp,
                                  strerror(errno));
        return 0;
    }
    if (len > sizeof a->buf - a->buflen && md_flush(a, err) < 0)
        return -1;
    memcpy(a->buf + a->buflen, data, len);
    a->buflen += len;
    return 0;
}

static void md_append_abort(struct mail_append *base)
{
    struct maildir_append *a = (struct maildir_append *)base;

    if (a->fd >= 0)
        close(a->fd);
    if (a->tmp)
        unlink(a->tmp);
    free(a->tmp);
    free(a->unique);
    free(a);
}

/* ---- deferred sync ---- */

static int md_pend(struct mail_folder *f, char *tmp, char *dst, bool cur,
                   struct mail_error *err)
{
    struct maildir *md = (struct maildir *)f;

    if (md->npend == md->apend) {
        size_t n = md->apend ? 2 * md->apend : 16;
        struct md_pending *v = realloc(md->pend, n * sizeof *v);

        if (!v)
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        md->pend = v;
        md->apend = n;
    }
    md->pend[md->npend].tmp = tmp;
    md->pend[md->npend].dst = dst;
    md->pend[md->npend].cur = cur;
    md->npend++;
    return 0;
}

static bool is_maildir(const struct mail_folder *f);

size_t mail_folder_pending(const struct mail_folder *f)
{
    return is_maildir(f) ? ((const struct maildir *)f)->npend : 0;
}

void mail_folder_drop_pending(struct mail_folder *f)
{
    struct maildir *md = (struct maildir *)f;

    if (!is_maildir(f))
        return;
    for (size_t i = 0; i < md->npend; i++) {
        unlink(md->pend[i].tmp);        /* never visible: fetched again */
        free(md->pend[i].tmp);
        free(md->pend[i].dst);
    }
    md->npend = 0;
}

/* Make the pending tmp/ files durable: one syncfs for the file system,
 * else an fsync per file. */
static int md_sync_tmp(struct maildir *md, struct mail_error *err)
{
    int dfd = open(md->base.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (dfd >= 0 && syncfs(dfd) == 0) {
        close(dfd);
        return 0;
    }
    if (dfd >= 0)
        close(dfd);
    for (size_t i = 0; i < md->npend; i++) {
        const char *t = md->pend[i].tmp;
        int fd = open(t, O_RDONLY | O_CLOEXEC);

        if (fd < 0 || fsync(fd) < 0) {
            int e = errno;

            if (fd >= 0)
                close(fd);
            return mail_error_set(err, MAIL_ERR_IO, "%s: fsync: %s", t,
                                  strerror(e));
        }
        close(fd);
    }
    return 0;
}

/* Link a durable tmp/ file into place (rename where there are no hard
 * links). */
static int md_place(const struct md_pending *p, struct mail_error *err)
{
    if (link(p->tmp, p->dst) == 0) {
        unlink(p->tmp);
        return 0;
    }
    if ((errno == EPERM || errno == ENOSYS || errno == EOPNOTSUPP ||
         errno == EMLINK) && rename(p->tmp, p->dst) == 0)
        return 0;
    return mail_error_set(err, MAIL_ERR_IO, "%s: %s", p->dst,
                          strerror(errno));
}

int mail_folder_sync_pending(struct mail_folder *f, size_t *placed,
                             struct mail_error *err)
{
    struct maildir *md = (struct maildir *)f;
    bool used[2] = { false, false };
    size_t i = 0;
    int rc = 0;

    if (placed)
        *placed = 0;
    if (!is_maildir(f) || md->npend == 0)
        return 0;
    if (md_sync_tmp(md, err) < 0)
        rc = -1;
    for (; rc == 0 && i < md->npend; i++) {
        if (md_place(&md->pend[i], err) < 0) {
            rc = -1;
            break;
        }
        used[md->pend[i].cur] = true;
        free(md->pend[i].tmp);
        free(md->pend[i].dst);
    }
    if (placed)
        *placed = i;
    /* what was not placed is removed */
    memmove(md->pend, md->pend + i, (md->npend - i) * sizeof *md->pend);
    md->npend -= i;
    mail_folder_drop_pending(f);
    for (int k = 0; rc == 0 && k < 2; k++) {
        char *dir;

        if (!used[k])
            continue;
        dir = join3(f->path, k ? "cur" : "new", "");
        if (!dir)
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        dir[strlen(dir) - 1] = '\0';
        rc = mail_fsync_dir(dir, err);
        free(dir);
    }
    return rc;
}

static int md_append_commit(struct mail_append *base, char **key,
                            struct mail_error *err)
{
    struct maildir_append *a = (struct maildir_append *)base;
    struct mail_folder *f = a->base.folder;
    bool cur = a->flags != 0;
    char *name = NULL, *dst = NULL, *dir = NULL;
    int fd;

    if (md_flush(a, err) < 0)
        goto fail;
    if (!a->defer && fsync(a->fd) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "%s: fsync: %s", a->tmp,
                       strerror(errno));
        goto fail;
    }
    fd = a->fd;
    a->fd = -1;
    if (close(fd) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "%s: close: %s", a->tmp,
                       strerror(errno));
        goto fail;
    }
    if (a->received > 0) {
        struct timespec ts[2];

        ts[0].tv_sec = ts[1].tv_sec = a->received;
        ts[0].tv_nsec = ts[1].tv_nsec = 0;
        if (utimensat(AT_FDCWD, a->tmp, ts, 0) < 0) {
            mail_error_set(err, MAIL_ERR_IO, "%s: set time: %s", a->tmp,
                           strerror(errno));
            goto fail;
        }
    }
    name = make_name(a->unique, strlen(a->unique), cur, a->flags, NULL, ':');
    dst = name ? join3(f->path, cur ? "cur" : "new", name) : NULL;
    dir = join3(f->path, cur ? "cur" : "new", "");
    if (!dst || !dir) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto fail;
    }
    dir[strlen(dir) - 1] = '\0';
    if (a->defer) {
        /* durable and visible at mail_folder_sync_pending */
        if (md_pend(f, a->tmp, dst, cur, err) < 0)
            goto fail;
        a->tmp = NULL;      /* the folder's now */
        dst = NULL;
        if (key) {
            *key = a->unique;
            a->unique = NULL;
        }
        free(name);
        free(dir);
        md_append_abort(base);
        return 0;
    }
    /* link, which fails rather than replace a file of the same name;
     * rename where the file system has no hard links. */
    if (link(a->tmp, dst) == 0) {
        unlink(a->tmp);
    } else if ((errno == EPERM || errno == ENOSYS || errno == EOPNOTSUPP ||
                errno == EMLINK) && rename(a->tmp, dst) == 0) {
        /* moved */
    } else {
        mail_error_set(err, MAIL_ERR_IO, "%s: %s", dst, strerror(errno));
        goto fail;
    }
    free(a->tmp);
    a->tmp = NULL;
    if (mail_fsync_dir(dir, err) < 0) {
        /* The message is there but may not survive a crash: say so, and
         * leave it (removing it now could lose the only copy). */
        goto fail;
    }
    if (key) {
        *key = a->unique;
        a->unique = NULL;
    }
    free(name);
    free(dst);
    free(dir);
    md_append_abort(base);
    return 0;
fail:
    free(name);
    free(dst);
    free(dir);
    md_append_abort(base);
    return -1;
}

/* ---- move ---- */

static int md_move(struct mail_folder *from, struct mail_envelope *e,
                   struct mail_folder *to, char **new_key,
                   struct mail_error *err)
{
    char *src, *dst = NULL, *name = NULL, *srcdir = NULL, *dstdir = NULL;
    const char *base, *letters;
    bool cur;
    int tries, ret = -1;

    if (!e->key)
        return mail_error_set(err, MAIL_ERR_NOTFOUND, "%s: no such message",
                              from->path);
    /* The listed path if it is still there (no directory scan), else
     * wherever another client renamed it to. */
    if (e->path && access(e->path, F_OK) == 0)
        src = strdup(e->path);
    else
        src = relocate(from, e->key, err);
    if (!src) {
        if (e->path)
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        return -1;
    }
    base = strrchr(src, '/') + 1;
    cur = base - src >= 4 && memcmp(base - 4, "cur/", 4) == 0;
    split_name(base, &letters);
    srcdir = strndup(src, (size_t)(base - src - 1));
    dstdir = join3(to->path, cur ? "cur" : "new", "");
    if (!srcdir || !dstdir) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto out;
    }
    dstdir[strlen(dstdir) - 1] = '\0';
    for (tries = 0; tries < CREATE_TRIES; tries++) {
        free(name);
        free(dst);
        dst = NULL;
        /* Keep the name; a clash (the message was copied there before)
         * gets a fresh unique part with the same flags. */
        if (tries == 0) {
            name = strdup(base);
        } else {
            char *u = unique_name(e->received);

            name = u ? make_name(u, strlen(u), cur, parse_flags(letters),
                                 letters, ':') : NULL;
            free(u);
        }
        if (name)
            dst = join3(to->path, cur ? "cur" : "new", name);
        if (!dst) {
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            goto out;
        }
        if (link(src, dst) == 0)
            break;
        if (errno == EXDEV || errno == EPERM || errno == ENOSYS ||
            errno == EOPNOTSUPP || errno == EMLINK) {
            ret = 1;   /* another file system: copy instead */
            goto out;
        }
        if (errno != EEXIST) {
            mail_error_set(err, MAIL_ERR_IO, "%s: link to %s: %s", src, dst,
                           strerror(errno));
            goto out;
        }
    }
    if (tries == CREATE_TRIES) {
        mail_error_set(err, MAIL_ERR_TEMP, "%s: no free name", to->path);
        goto out;
    }
    /* Durable in the destination before it goes from the source. */
    if (mail_fsync_dir(dstdir, err) < 0)
        goto out;
    if (unlink(src) < 0 && errno != ENOENT) {
        mail_error_set(err, MAIL_ERR_IO, "%s: %s (copied to %s)", src,
                       strerror(errno), dst);
        goto out;
    }
    if (mail_fsync_dir(srcdir, err) < 0)
        goto out;
    if (new_key) {
        const char *fl;

        *new_key = strndup(name, split_name(name, &fl));
        if (!*new_key) {
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            goto out;
        }
    }
    ret = 0;
out:
    free(src);
    free(dst);
    free(name);
    free(srcdir);
    free(dstdir);
    return ret;
}

static int md_sync(struct mail_folder *f, struct mail_error *err)
{
    (void)f;
    (void)err;
    return 0;   /* every change is made when asked for */
}

static void md_close(struct mail_folder *f)
{
    struct maildir *md = (struct maildir *)f;

    mail_folder_drop_pending(f);    /* never synced: not delivered */
    free(md->pend);
    free(f->path);
    free(f);
}

static const struct mail_folder_driver maildir_driver = {
    .name = "maildir",
    .list = md_list,
    .fetch = md_fetch,
    .message_fd = md_message_fd,
    .set_flags = md_set_flags,
    .expunge = md_expunge,
    .append_begin = md_append_begin,
    .sync = md_sync,
    .close = md_close,
    .append_write = md_append_write,
    .append_commit = md_append_commit,
    .append_abort = md_append_abort,
    .move = md_move,
};

static bool is_maildir(const struct mail_folder *f)
{
    return f && f->drv == &maildir_driver;
}
