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
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "hcache.h"
#include "radix.h"
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

struct md_lazy;

struct maildir {
    struct mail_folder base;
    struct md_lazy *lazy;       /* the latest MAIL_FOLDER_LIST_LAZY listing */
    struct md_pending *pend;    /* in commit order */
    size_t npend, apend;
    /* Memory borrowed envelopes point into outside any lease (the new
     * paths of renamed messages): freed when the folder is closed. */
    struct hcache_blocks kept;
    /* The leases of borrowed listings the folder still holds. */
    struct hcache_leases leases;
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
    char *name;         /* file name, in the listing's name buffer (the
                           path, DIR/cur/NAME or DIR/new/NAME, is built
                           only for the messages listed: entry_path) */
    uint64_t size;
    time_t received;
    size_t name_off;    /* offset of name there (until the scan is done) */
    int32_t hit;        /* record in the old cache, or -1 */
    uint32_t rec;       /* else: index into the freshly parsed records */
    uint16_t ulen;      /* length of the unique part */
    uint16_t nlen;      /* length of the whole name */
    uint8_t letters;    /* the flags of its name's letters (parse_flags) */
    bool cur;           /* in cur/ (else new/) */
    bool gone;          /* vanished between readdir and open */
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
_Static_assert(STORED_FLAGS <= 0xff, "entry.letters holds the stored flags");

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
    struct mail_buf names;   /* the files' names, NUL-terminated */
    bool vanished;           /* a file went away between readdir and open */
};

/* The names of a folder of millions of messages pass the buffers'
 * usual 64 MiB cap (a name is up to 255 bytes); 1 GiB is several
 * million names, and the listing stays bounded. */
#define LISTING_NAMES_MAX ((size_t)1 << 30)
#define LISTING_INIT { NULL, 0, 0, { NULL, 0, 0, LISTING_NAMES_MAX }, false }

/* The length of "DIR/cur/" before each name in its path. */
static size_t name_prefix(const struct mail_folder *f)
{
    return strlen(f->path) + 5;
}

/* Write en's path (DIR/cur/NAME or DIR/new/NAME) at p, which has room
 * for dl + 5 + en->nlen + 1 bytes (dl: strlen(f->path)); returns the
 * bytes written with the NUL. */
static size_t put_path(const struct mail_folder *f, size_t dl,
                       const struct entry *en, char *p)
{
    memcpy(p, f->path, dl);
    memcpy(p + dl, en->cur ? "/cur/" : "/new/", 5);
    memcpy(p + dl + 5, en->name, (size_t)en->nlen + 1);
    return dl + 5 + en->nlen + 1;
}

/* en's path, malloc'd (NULL on ENOMEM). */
static char *entry_path(const struct mail_folder *f, const struct entry *en)
{
    char *p = malloc(name_prefix(f) + en->nlen + 1);

    if (p)
        put_path(f, strlen(f->path), en, p);
    return p;
}

static void listing_release(struct listing *l)
{
    free(l->v);
    mail_buf_release(&l->names);
}

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

/*
 * Add the files of path/cur or path/new to l: readdir only (a stat only
 * when the file system does not give the type).  With sorted (a
 * re-scan), only those whose unique name is not in sorted[0..nsorted).
 * The entries' name pointers are set by scan_done.
 */
static int scan(struct mail_folder *f, bool cur, struct listing *l,
                const struct entry *sorted, size_t nsorted,
                struct mail_error *err)
{
    const char *sub = cur ? "cur" : "new";
    char *dir = join3(f->path, sub, "");
    struct dirent *de;
    size_t dlen;
    DIR *d;
    int dfd;

    if (!dir)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    dlen = strlen(dir) - 1;
    dir[dlen] = '\0';
    d = opendir(dir);
    if (!d) {
        mail_error_set(err, errno == ENOENT ? MAIL_ERR_NOTFOUND : MAIL_ERR_IO,
                       "%s: %s", dir, strerror(errno));
        free(dir);
        return -1;
    }
    dfd = dirfd(d);
    {
        /* The directory's size bounds its names (a record holds a name
         * and more): room for them at once, not grown by copying. */
        struct stat dst;

        if (fstat(dfd, &dst) == 0 && dst.st_size > 0 &&
            (uint64_t)dst.st_size < ((uint64_t)1 << 31)) {
            size_t guess = l->n + (size_t)dst.st_size / 48 + 16;

            if (mail_buf_reserve(&l->names, (size_t)dst.st_size) == 0)
                mail_big_block_hint(l->names.data + l->names.len,
                               (size_t)dst.st_size);
            if (guess > l->alloc) {
                struct entry *nv = realloc(l->v, guess * sizeof *nv);

                if (nv) {
                    l->v = nv;
                    l->alloc = guess;
                    mail_big_block_hint(nv + l->n, (guess - l->n) * sizeof *nv);
                }
            }
        }
    }
    for (;;) {
        struct entry *e;
        const char *fl;
        size_t nlen;

        errno = 0;
        de = readdir(d);
        if (!de)
            break;
        /* Dot files are not messages (the spec; also our own temp files
         * and editors' swap files). */
        if (de->d_name[0] == '.')
            continue;
        if (de->d_type != DT_REG) {
            struct stat st;

            if (de->d_type != DT_UNKNOWN && de->d_type != DT_LNK)
                continue;
            if (fstatat(dfd, de->d_name, &st, 0) < 0) {
                if (errno == ENOENT) {
                    l->vanished = true;   /* renamed or removed meanwhile */
                    continue;
                }
                mail_error_set(err, MAIL_ERR_IO, "%s/%s: %s", dir,
                               de->d_name, strerror(errno));
                goto fail;
            }
            if (!S_ISREG(st.st_mode))
                continue;
        }
        if (sorted) {
            struct entry key;

            key.name = de->d_name;
            key.ulen = (uint16_t)split_name(de->d_name, &fl);
            key.cur = true;
            if (bsearch(&key, sorted, nsorted, sizeof key, cmp_unique) ||
                (key.cur = false,
                 bsearch(&key, sorted, nsorted, sizeof key, cmp_unique)))
                continue;
        }
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
        nlen = strlen(de->d_name);
        e->name_off = l->names.len;
        if (mail_buf_add(&l->names, de->d_name, nlen + 1) < 0)
            goto nomem;
        e->ulen = (uint16_t)split_name(de->d_name, &fl);
        /* read here, in readdir's order, not later in the listing's */
        e->letters = (uint8_t)parse_flags(fl);
        e->nlen = (uint16_t)nlen;
        e->cur = cur;
        e->hit = -1;
        e->rec = UINT32_MAX;
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

/* The name buffer is complete: point the entries into it. */
static void scan_done(struct listing *l)
{
    for (size_t i = 0; i < l->n; i++)
        l->v[i].name = l->names.data + l->v[i].name_off;
}

/* Names of one delivery second in delivery order: runs of digits compare
 * as numbers, because the microseconds in "SECS.M<usec>P<pid>" are not
 * zero-padded (ours, Dovecot's, mutt's): as strings "M99999" would come
 * after "M123456", and a draft postponed again would list before an
 * older one.  Equal as numbers ("M07" and "M7"): as strings. */
static int cmp_names(const char *a, const char *b)
{
    const char *a0 = a, *b0 = b;
    int c;

    while (*a && *b) {
        if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
            const char *x, *y;
            size_t nx, ny;

            while (*a == '0' && a[1] >= '0' && a[1] <= '9')
                a++;
            while (*b == '0' && b[1] >= '0' && b[1] <= '9')
                b++;
            for (x = a; *x >= '0' && *x <= '9'; x++)
                ;
            for (y = b; *y >= '0' && *y <= '9'; y++)
                ;
            nx = (size_t)(x - a);
            ny = (size_t)(y - b);
            if (nx != ny)
                return nx < ny ? -1 : 1;
            c = memcmp(a, b, nx);
            if (c)
                return c;
            a = x;
            b = y;
            continue;
        }
        if (*a != *b)
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++;
        b++;
    }
    if (*a != *b)
        return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
    return strcmp(a0, b0);
}

static int cmp_received(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;

    if (x->received != y->received)
        return x->received < y->received ? -1 : 1;
    return cmp_names(x->name, y->name);
}

/* Read a file's header (and body, for attachments) into a new record:
 * num[0] the size, num[1] the delivery time (from the name, else the
 * file's mtime), display strings filled. */
static int parse_file(struct mail_folder *f, const struct entry *en,
                      struct hcache_rec *r, int flags, bool *gone,
                      struct mail_error *err)
{
    struct mail_header h = MAIL_HEADER_INIT;
    char *path = entry_path(f, en);
    struct stat st;
    time_t received;
    int fd, ret = -1;

    *gone = false;
    memset(r, 0, sizeof *r);
    if (!path)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            *gone = true;   /* renamed since the readdir: looked up again */
        else
            mail_error_set(err, MAIL_ERR_IO, "%s: %s", path, strerror(errno));
        free(path);
        return *gone ? 0 : -1;
    }
    if (fstat(fd, &st) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "%s: %s", path, strerror(errno));
        goto out;
    }
    received = name_time(en->name);
    r->num[0] = (uint64_t)st.st_size;
    r->num[1] = (uint64_t)(int64_t)(received >= 0 ? received
                                                   : st.st_mtim.tv_sec);
    r->str[HC_KEY] = strndup(en->name, en->ulen);
    if (!r->str[HC_KEY]) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto out;
    }
    r->owned = 1u << HC_KEY;
    if (mail_header_pread(&h, fd, 0, err) < 0) {
        mail_error_prefix(err, "%s", path);
        goto out;
    }
    if (folder_rec_from_header(r, &h, err) < 0)
        goto out;
    if (hcache_rec_display(r) < 0) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto out;
    }
    if (flags & MAIL_FOLDER_LIST_ATTACHMENTS) {
        struct folder_attach a;
        char buf[CHUNK];
        ssize_t n;

        /* fd is still at 0: the header was read with pread */
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
            if (folder_attach_sink(&a, buf, (size_t)n, err) < 0) {
                folder_attach_abort(&a);
                goto out;
            }
        }
        if (folder_attach_end(&a, &r->attachments, err) < 0)
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

/* Freshly parsed records, grown as needed. */
struct fresh {
    struct hcache_rec *v;
    size_t n, alloc;
};

static struct hcache_rec *fresh_push(struct fresh *fr)
{
    if (fr->n == fr->alloc) {
        size_t na = fr->alloc ? fr->alloc * 2 : 64;
        struct hcache_rec *nv = realloc(fr->v, na * sizeof *nv);

        if (!nv)
            return NULL;
        fr->v = nv;
        fr->alloc = na;
    }
    return &fr->v[fr->n];
}

/* Look en up in the cache: true when its record there will do. */
static bool lookup_cached(const struct hcache *cache, struct entry *en,
                          int flags)
{
    en->hit = (int32_t)hcache_find(cache, en->name, en->ulen);
    if (en->hit >= 0) {
        uint64_t size, received;
        uint32_t bits;

        hcache_peek(cache, (size_t)en->hit, &size, &received, &bits);
        if ((bits & HC_DISPLAY) &&
            (!(flags & MAIL_FOLDER_LIST_ATTACHMENTS) ||
             (bits & HC_ATTACH_KNOWN))) {
            en->size = size;
            en->received = (time_t)(int64_t)received;
            return true;
        }
        en->hit = -1;
    }
    return false;
}

/* Look en up in the cache, else parse its file into fr.  *changed when
 * the cache will need writing. */
static int resolve(struct mail_folder *f, const struct hcache *cache,
                   struct entry *en, struct fresh *fr, int flags,
                   bool *changed, struct mail_error *err)
{
    struct hcache_rec *r;
    bool gone;

    if (lookup_cached(cache, en, flags))
        return 0;
    r = fresh_push(fr);
    if (!r)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    if (parse_file(f, en, r, flags, &gone, err) < 0)
        return -1;
    *changed = true;
    if (gone) {
        en->gone = true;
        return 0;
    }
    en->size = r->num[0];
    en->received = (time_t)(int64_t)r->num[1];
    en->rec = (uint32_t)fr->n++;
    return 0;
}

/*
 * The files the cache does not know, parsed on every processor: a first
 * listing (or one after a big delivery) costs opening and reading every
 * file, which is system time that spreads over cores as well as the
 * parsing does.  Each thread takes the next block of files and fills
 * their records in place; nothing else is shared (parse_file reads f's
 * path only, and the message parsers keep no state between calls).
 */
#define PARSE_BLOCK 64
#define PARSE_MIN_PARALLEL 1024   /* fewer: not worth a thread */
#define PARSE_MAX_THREADS 8

struct parse_job {
    struct mail_folder *f;
    struct entry **todo;          /* the entries to parse, in order */
    struct hcache_rec *recs;      /* their records, same index */
    unsigned char *gone;          /* 1: the file vanished meanwhile */
    size_t n;
    int flags;
    atomic_size_t next;           /* the next block to take */
    atomic_bool failed;
    pthread_mutex_t lock;         /* over first_bad and err */
    size_t first_bad;             /* the lowest index that failed */
    struct mail_error err;        /* its error */
};

static void *parse_worker(void *arg)
{
    struct parse_job *j = arg;

    for (;;) {
        size_t lo = atomic_fetch_add(&j->next, PARSE_BLOCK), hi;

        if (lo >= j->n || atomic_load(&j->failed))
            break;
        hi = lo + PARSE_BLOCK < j->n ? lo + PARSE_BLOCK : j->n;
        for (size_t i = lo; i < hi; i++) {
            struct mail_error e;
            bool gone;

            mail_error_clear(&e);
            if (parse_file(j->f, j->todo[i], &j->recs[i], j->flags, &gone,
                           &e) < 0) {
                pthread_mutex_lock(&j->lock);
                if (i < j->first_bad) {
                    j->first_bad = i;
                    j->err = e;
                }
                pthread_mutex_unlock(&j->lock);
                atomic_store(&j->failed, true);
                break;
            }
            j->gone[i] = gone;
        }
    }
    return NULL;
}

static unsigned parse_threads(size_t n)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    if (n < PARSE_MIN_PARALLEL || cpus < 2)
        return 1;
    return cpus > PARSE_MAX_THREADS ? PARSE_MAX_THREADS : (unsigned)cpus;
}

/* Every entry of l: its cache record, else its file parsed into fr (many
 * files at once on several threads).  As resolve() on each, in order. */
static int resolve_all(struct mail_folder *f, const struct hcache *cache,
                       struct listing *l, struct fresh *fr, int flags,
                       bool *changed, struct mail_error *err)
{
    struct parse_job j;
    pthread_t tid[PARSE_MAX_THREADS];
    unsigned nt, started = 0;
    size_t i, k;

    memset(&j, 0, sizeof j);
    for (i = 0; i < l->n; i++)
        if (!lookup_cached(cache, &l->v[i], flags))
            j.n++;
    nt = parse_threads(j.n);
    if (nt < 2 || fr->n != 0) {
        for (i = 0; i < l->n; i++)
            if (l->v[i].hit < 0 &&
                resolve(f, cache, &l->v[i], fr, flags, changed, err) < 0)
                return -1;
        return 0;
    }
    j.todo = malloc(j.n * sizeof *j.todo);
    j.recs = calloc(j.n, sizeof *j.recs);
    j.gone = calloc(j.n, 1);
    if (!j.todo || !j.recs || !j.gone) {
        free(j.todo);
        free(j.recs);
        free(j.gone);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    for (i = k = 0; i < l->n; i++)
        if (l->v[i].hit < 0)
            j.todo[k++] = &l->v[i];
    j.f = f;
    j.flags = flags;
    j.first_bad = SIZE_MAX;
    atomic_init(&j.next, 0);
    atomic_init(&j.failed, false);
    pthread_mutex_init(&j.lock, NULL);
    for (unsigned t = 1; t < nt; t++)
        if (pthread_create(&tid[started], NULL, parse_worker, &j) == 0)
            started++;
    parse_worker(&j);       /* this thread too (alone if none started) */
    for (unsigned t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    pthread_mutex_destroy(&j.lock);
    /* The records of the files still there, packed in listing order. */
    free(fr->v);
    fr->v = j.recs;
    fr->alloc = j.n;
    fr->n = 0;
    if (j.first_bad != SIZE_MAX) {
        fr->n = j.n;        /* every record released by the caller */
        *err = j.err;
        free(j.todo);
        free(j.gone);
        return -1;
    }
    *changed = true;
    for (i = 0; i < j.n; i++) {
        struct entry *en = j.todo[i];

        if (j.gone[i]) {
            en->gone = true;
            continue;
        }
        if (fr->n != i)
            fr->v[fr->n] = fr->v[i];
        en->size = fr->v[fr->n].num[0];
        en->received = (time_t)(int64_t)fr->v[fr->n].num[1];
        en->rec = (uint32_t)fr->n++;
    }
    for (i = fr->n; i < j.n; i++)
        memset(&fr->v[i], 0, sizeof fr->v[i]);   /* moved or empty */
    free(j.todo);
    free(j.gone);
    return 0;
}

/* en's record (from the cache: checked by verify_range first), with
 * the strings of the blocks given (HC_BLOCK_*; without the raw block,
 * content_type "multipart/mixed" or NULL). */
static void rec_of(const struct hcache *cache, const struct fresh *fr,
                   const struct entry *en, unsigned blocks,
                   struct hcache_rec *r)
{
    if (en->hit >= 0) {
        hcache_get_blocks(cache, (size_t)en->hit, r, blocks);
    } else {
        *r = fr->v[en->rec];
        r->owned = 0;           /* a copy: fr's record owns them */
    }
    if (blocks != HC_BLOCK_ALL)
        hcache_rec_keep_blocks(r, blocks);
}

/* Fill e from its entry and record, with each string malloc'd. */
static int env_copy(struct mail_folder *f, struct mail_envelope *e,
                    const struct entry *en, const struct hcache_rec *r,
                    struct mail_error *err)
{
    e->key = strndup(en->name, en->ulen);
    e->path = entry_path(f, en);
    if (!e->key || !e->path)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    return folder_env_from_rec(e, r, err);
}

static void env_borrow(struct mail_envelope *e, const struct hcache_rec *r)
{
    e->key = r->str[HC_KEY];
    hcache_rec_borrow(e, r);
}

static int cmp_unique_p(const void *a, const void *b)
{
    return cmp_unique(*(const struct entry *const *)a,
                      *(const struct entry *const *)b);
}

/* Drop vanished files and duplicates (the same message in new/ and cur/
 * during another client's rename; cur/ is kept, the later state).
 * Cached ones are the same message when they found the same record, so
 * only the others are compared by name. */
static void drop_gone_and_twice(struct listing *l, const struct hcache *cache)
{
    uint32_t *seen = cache->n ? malloc(cache->n * sizeof *seen) : NULL;
    struct entry **miss = NULL;
    size_t i, j, nmiss = 0;
    bool by_rec = seen != NULL;

    if (seen)
        memset(seen, 0xff, cache->n * sizeof *seen);
    for (i = 0; i < l->n; i++) {
        struct entry *e = &l->v[i];

        if (e->gone)
            continue;
        if (e->hit < 0 || !seen) {
            nmiss++;
            continue;
        }
        if (seen[e->hit] == UINT32_MAX) {
            seen[e->hit] = (uint32_t)i;
        } else {
            struct entry *o = &l->v[seen[e->hit]];

            if (e->cur && !o->cur) {
                o->gone = true;
                seen[e->hit] = (uint32_t)i;
            } else {
                e->gone = true;
            }
        }
    }
    free(seen);
    if (nmiss > 1 && (miss = malloc(nmiss * sizeof *miss)) != NULL) {
        nmiss = 0;
        for (i = 0; i < l->n; i++)
            if (!l->v[i].gone && (l->v[i].hit < 0 || !by_rec))
                miss[nmiss++] = &l->v[i];
        qsort(miss, nmiss, sizeof *miss, cmp_unique_p);
        /* cur/ sorts first among the same name: keep the first */
        for (i = 1; i < nmiss; i++)
            if (miss[i]->ulen == miss[i - 1]->ulen &&
                memcmp(miss[i]->name, miss[i - 1]->name, miss[i]->ulen) == 0)
                miss[i]->gone = true;
        free(miss);
    } else if (nmiss > 1) {
        /* no memory for the list: the old way, all sorted by name */
        size_t kept = SIZE_MAX;

        qsort(l->v, l->n, sizeof *l->v, cmp_unique);
        for (i = 0; i < l->n; i++) {
            if (l->v[i].gone)
                continue;
            if (kept != SIZE_MAX && l->v[i].ulen == l->v[kept].ulen &&
                memcmp(l->v[i].name, l->v[kept].name, l->v[i].ulen) == 0)
                l->v[i].gone = true;
            else
                kept = i;
        }
    }
    for (i = j = 0; i < l->n; i++)
        if (!l->v[i].gone)
            l->v[j++] = l->v[i];
    l->n = j;
}

/* Files that vanished while listed were renamed (flags) or moved
 * (new/ to cur/) meanwhile: look once more, for names not in l yet, and
 * add what is found.  more[0..1] keep the names (released by the
 * caller). */
static int rescan_vanished(struct mail_folder *f, struct hcache *cache,
                           struct listing *l, struct listing *more,
                           size_t *nmore, struct fresh *fr, int flags,
                           bool *changed, struct mail_error *err)
{
    size_t before = l->n;

    /* scan looks names up in l by name */
    if (l->n > 1)
        qsort(l->v, l->n, sizeof *l->v, cmp_unique);
    for (int k = 0; k < 2; k++) {
        struct listing *m = &more[(*nmore)++];

        if (scan(f, k == 1, m, l->v, before, err) < 0)
            return -1;
        scan_done(m);
        for (size_t i = 0; i < m->n; i++) {
            struct entry *ne;

            if (resolve(f, cache, &m->v[i], fr, flags, changed, err) < 0)
                return -1;
            if (m->v[i].gone)
                continue;
            ne = realloc(l->v, (l->n + 1) * sizeof *l->v);
            if (!ne)
                return mail_error_set(err, MAIL_ERR_INTERNAL,
                                      "out of memory");
            l->v = ne;
            l->alloc = l->n + 1;
            l->v[l->n++] = m->v[i];
        }
    }
    return 0;
}

static void env_flags_and_size(struct mail_envelope *e,
                               const struct entry *en)
{
    e->flags = en->letters | (en->cur ? 0 : MAIL_FLAG_NEW);
    e->size = en->size;
    e->received = en->received;
}

/* Envelopes of l->v[lo..n) whose strings point into the cache's mapping
 * and the freshly parsed records (hcache_keep_for_borrowers) and whose
 * paths are in one block built here: all kept by the folder until it is
 * closed. */
static int emit_borrowed(struct mail_folder *f, const struct listing *l,
                         size_t lo, const struct hcache *cache,
                         const struct fresh *fr, unsigned blocks,
                         struct mail_envelope_list *out,
                         struct mail_error *err)
{
    size_t prefix = name_prefix(f), dl = prefix - 5, n = l->n - lo;
    size_t total = 0;
    char *paths, *at;

    for (size_t i = lo; i < l->n; i++)
        total += prefix + l->v[i].nlen + 1;
    paths = malloc(total ? total : 1);
    if (!paths || hcache_lease_keep(out->arena, paths, 0) < 0) {
        free(paths);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    mail_big_block_hint(paths, total);
    at = paths;

    if (out->alloc < out->n + n) {
        struct mail_envelope *nv =
            realloc(out->v, (out->n + n ? out->n + n : 1) * sizeof *nv);

        if (!nv)
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        out->v = nv;
        out->alloc = out->n + n;
        mail_big_block_hint(nv + out->n, n * sizeof *nv);
    }
    for (size_t i = lo; i < l->n; i++) {
        const struct entry *en = &l->v[i];
        struct mail_envelope *e = &out->v[out->n++];
        struct hcache_rec r;

        memset(e, 0, sizeof *e);
        rec_of(cache, fr, en, blocks, &r);
        env_borrow(e, &r);
        e->path = at;
        at += put_path(f, dl, en, at);
        env_flags_and_size(e, en);
    }
    return 0;
}

/* Envelopes of l->v[lo..n) with each string malloc'd. */
static int emit_copied(struct mail_folder *f, const struct listing *l,
                       size_t lo, const struct hcache *cache,
                       const struct fresh *fr,
                       struct mail_envelope_list *out,
                       struct mail_error *err)
{
    for (size_t i = lo; i < l->n; i++) {
        const struct entry *en = &l->v[i];
        struct mail_envelope *e = folder_env_push(out, err);
        struct hcache_rec r;

        if (!e)
            return -1;
        rec_of(cache, fr, en, HC_BLOCK_ALL, &r);
        if (env_copy(f, e, en, &r, err) < 0)
            return -1;
        env_flags_and_size(e, en);
    }
    return 0;
}

static void save_cache(struct hcache *cache, const struct listing *l,
                       const struct fresh *fr)
{
    uint64_t meta[HC_NNUM] = { 0 };
    struct hcache_writer *w = hcache_write_begin(cache, meta, l->n, 2);

    for (size_t i = 0; i < l->n && w; i++) {
        struct hcache_rec r;

        rec_of(cache, fr, &l->v[i], HC_BLOCK_ALL, &r);
        hcache_write_add(w, &r);
    }
    hcache_write_commit(w);
}

/* Check the cached records of l->v[lo..n) before their strings are used
 * (the blocks given: HC_BLOCK_*) and that each is the record of
 * its name (hcache_find matched it by hash); with all, every record of
 * the file (before it is rewritten) and every entry's.  false: the cache
 * is damaged (or two keys share a hash): not to be trusted. */
static bool verify_range(const struct hcache *cache, const struct listing *l,
                         size_t lo, unsigned blocks, bool all)
{
    if (all) {
        for (size_t i = 0; i < cache->n; i++)
            if (!hcache_verify(cache, i, true))
                return false;
        lo = 0;
    }
    for (size_t i = lo; i < l->n; i++) {
        const struct entry *en = &l->v[i];

        if (en->hit >= 0 &&
            ((!all && !hcache_verify_blocks(cache, (size_t)en->hit,
                                            blocks)) ||
             !hcache_key_is(cache, (size_t)en->hit, en->name, en->ulen)))
            return false;
    }
    return true;
}

/* A delivery time and the entry it belongs to: sorted in place of the
 * entries themselves (16 bytes moved rather than 48), then the entries
 * are put in that order once. */
struct rkey {
    int64_t received;
    const struct entry *en;
};

static int cmp_rkey(const void *a, const void *b)
{
    const struct rkey *x = a, *y = b;

    if (x->received != y->received)
        return x->received < y->received ? -1 : 1;
    return cmp_names(x->en->name, y->en->name);
}

/*
 * Sort k[0..n) by cmp_rkey: the delivery times with store/'s radix sort
 * (radix.h: a pass only for each byte that differs, so two or three for
 * a folder's span of years, where a comparison sort is n log n calls of
 * cmp_rkey), then each run of one second by name.  -1 on ENOMEM (k
 * untouched).
 */
static int radix_received(struct rkey *k, size_t n)
{
    struct srec *v = malloc(n * sizeof *v), *tmp = malloc(n * sizeof *tmp);
    size_t *count = malloc(RADIX_COUNTS * sizeof *count);
    struct rkey *sorted = malloc(n * sizeof *sorted);
    const struct srec *s;

    if (!v || !tmp || !count || !sorted) {
        free(v);
        free(tmp);
        free(count);
        free(sorted);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        v[i].a = radix_time((time_t)k[i].received);
        v[i].b = 0;
        v[i].idx = i;
    }
    s = radix_sort(v, tmp, n, false, count);
    for (size_t i = 0; i < n; i++)
        sorted[i] = k[s[i].idx];
    memcpy(k, sorted, n * sizeof *k);
    free(v);
    free(tmp);
    free(count);
    free(sorted);
    /* the same second: by name */
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && k[j].received == k[i].received; j++)
            ;
        if (j - i > 1)
            qsort(k + i, j - i, sizeof *k, cmp_rkey);
    }
    return 0;
}

/* Sort l->v by cmp_received (the same order as qsort with it: the names
 * are distinct once drop_gone_and_twice has run). */
static void sort_received(struct listing *l)
{
    struct rkey *k;
    struct entry *nv;

    if (l->n < 2)
        return;
    k = malloc(l->n * sizeof *k);
    nv = k ? malloc(l->n * sizeof *nv) : NULL;
    if (!nv) {
        free(k);
        qsort(l->v, l->n, sizeof *l->v, cmp_received);
        return;
    }
    mail_big_block_hint(k, l->n * sizeof *k);
    mail_big_block_hint(nv, l->n * sizeof *nv);
    for (size_t i = 0; i < l->n; i++) {
        k[i].received = (int64_t)l->v[i].received;
        k[i].en = &l->v[i];
    }
    if (radix_received(k, l->n) < 0)
        qsort(k, l->n, sizeof *k, cmp_rkey);
    for (size_t i = 0; i < l->n; i++)
        nv[i] = *k[i].en;
    free(k);
    free(l->v);
    l->v = nv;
    l->alloc = l->n;
}

/* Min-heap of entry indexes by cmp_received (the root the earliest). */
static void heap_down(const struct entry *v, uint32_t *h, size_t n, size_t i)
{
    for (;;) {
        size_t m = i, a = 2 * i + 1, b = a + 1;
        uint32_t t;

        if (a < n && cmp_received(&v[h[a]], &v[h[m]]) < 0)
            m = a;
        if (b < n && cmp_received(&v[h[b]], &v[h[m]]) < 0)
            m = b;
        if (m == i)
            return;
        t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static int cmp_u32_received(const void *a, const void *b, void *v)
{
    const struct entry *e = v;

    return cmp_received(&e[*(const uint32_t *)a], &e[*(const uint32_t *)b]);
}

/*
 * Put the last `last` entries by delivery time, in order, at the end of
 * l->v (the others before them, in no order): a partial selection (a
 * heap of `last`, one comparison for most entries), not a sort of all.
 * -1 on ENOMEM (l->v untouched).
 */
static int select_last(struct listing *l, size_t last)
{
    uint32_t *h = malloc(last * sizeof *h);
    struct entry *tail;
    size_t i, j, n = 0;

    if (!h)
        return -1;
    tail = malloc(last * sizeof *tail);
    if (!tail) {
        free(h);
        return -1;
    }
    for (i = 0; i < l->n; i++) {
        if (n < last) {
            h[n++] = (uint32_t)i;
            if (n == last)
                for (j = last / 2; j-- > 0;)
                    heap_down(l->v, h, n, j);
        } else if (cmp_received(&l->v[i], &l->v[h[0]]) > 0) {
            h[0] = (uint32_t)i;
            heap_down(l->v, h, n, 0);
        }
    }
    qsort_r(h, n, sizeof *h, cmp_u32_received, l->v);
    for (i = 0; i < n; i++) {
        tail[i] = l->v[h[i]];
        l->v[h[i]].gone = true;   /* a mark: moved to the tail */
    }
    for (i = j = 0; i < l->n; i++)
        if (!l->v[i].gone)
            l->v[j++] = l->v[i];
    memcpy(l->v + j, tail, n * sizeof *tail);
    for (i = j; i < l->n; i++)
        l->v[i].gone = false;
    free(tail);
    free(h);
    return 0;
}

/*
 * What mail_folder_list_fill needs of a lazy listing (MAIL_FOLDER_LIST_
 * LAZY): its entries in listing order (out->v[i] is l.v[lo + i]) with
 * their names, the records parsed for it and a copy of the cache's
 * reading state, whose mapping (like the parsed records' strings) the
 * lease keeps.  Freed before the folder lets go of that lease, and when a
 * newer lazy listing takes its place.
 */
struct md_lazy {
    struct hcache_lease *lease;
    struct listing l, more[2];
    size_t nmore, lo;
    struct hcache cache;          /* recs, strs and disp only */
    struct hcache_rec *fresh;     /* own no string (the lease does) */
    int flags;
    bool verified;                /* every record checked when listed */
};

static void lazy_free(struct maildir *md)
{
    struct md_lazy *z = md->lazy;

    if (!z)
        return;
    listing_release(&z->l);
    for (size_t i = 0; i < z->nmore; i++)
        listing_release(&z->more[i]);
    free(z->fresh);
    free(z);
    md->lazy = NULL;
}

/* Envelopes of l->v[lo..n) for a lazy listing: flags, size, delivery
 * time and what the records' fixed part gives (the date, the attachment
 * count, the multipart/mixed mark); no string is read. */
static int emit_lazy(const struct listing *l, size_t lo,
                     const struct hcache *cache, const struct fresh *fr,
                     struct mail_envelope_list *out, struct mail_error *err)
{
    size_t n = l->n - lo;
    struct mail_envelope *nv = realloc(out->v, (n ? n : 1) * sizeof *nv);

    if (!nv)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    out->v = nv;
    out->alloc = n ? n : 1;
    mail_big_block_hint(nv, n * sizeof *nv);
    for (size_t i = lo; i < l->n; i++) {
        const struct entry *en = &l->v[i];
        struct mail_envelope *e = &out->v[out->n++];
        struct hcache_rec r;

        memset(e, 0, sizeof *e);
        if (en->hit >= 0)
            hcache_get_display(cache, (size_t)en->hit, &r);  /* no string
                                                                 read */
        else
            r = fr->v[en->rec];
        e->has_date = (r.bits & HC_HAS_DATE) != 0;
        e->date = (time_t)r.date;
        e->date_offset = r.date_offset;
        e->attachments = r.attachments;
        if (r.bits & HC_MIXED)
            e->content_type = (char *)"multipart/mixed";
        e->borrowed = true;
        env_flags_and_size(e, en);
    }
    return 0;
}

/* A record of the cache found damaged at a fill: the message file
 * parsed instead (looked up by its unique name when it was renamed);
 * *path its path then (kept by the lease).  0 with r empty when the file
 * is gone or unreadable. */
static int fill_from_file(struct mail_folder *f, struct md_lazy *z,
                          const struct entry *en, const char *key,
                          struct hcache_rec *r, char **path,
                          struct mail_error *err)
{
    struct mail_error perr;
    struct hcache none;
    bool gone = false;
    char *p;

    mail_error_clear(&perr);
    memset(r, 0, sizeof *r);
    if (parse_file(f, en, r, z->flags, &gone, &perr) < 0)
        return perr.kind == MAIL_ERR_INTERNAL ? (*err = perr, -1) : 0;
    if (gone) {
        struct entry t = *en;
        const char *slash;

        if (!(p = relocate(f, key, &perr)))
            return perr.kind == MAIL_ERR_INTERNAL ? (*err = perr, -1) : 0;
        if (hcache_lease_keep(z->lease, p, 0) < 0) {
            free(p);
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        }
        slash = strrchr(p, '/');
        t.name = (char *)slash + 1;
        t.nlen = (uint16_t)strlen(t.name);
        t.cur = slash - p >= 4 && memcmp(slash - 4, "/cur", 4) == 0;
        if (parse_file(f, &t, r, z->flags, &gone, &perr) < 0)
            return perr.kind == MAIL_ERR_INTERNAL ? (*err = perr, -1) : 0;
        if (gone)
            return 0;
        *path = p;
    }
    memset(&none, 0, sizeof none);
    return hcache_keep_for_borrowers(&none, r, 1, hcache_lease_keep,
                                     z->lease, err);
}

static int md_list_fill(struct mail_folder *f, struct mail_envelope_list *out,
                        size_t from, size_t to, struct mail_error *err)
{
    struct maildir *md = (struct maildir *)f;
    struct md_lazy *z = md->lazy;
    size_t prefix = name_prefix(f), dl = prefix - 5, total = 0, i;
    char *block, *at;

    for (i = from; i < to; i++)
        if (!out->v[i].key)
            break;
    if (i == to)
        return 0;   /* filled, or not lazy */
    if (!z || !out->arena || (void *)out->arena != (void *)z->lease ||
        z->lo + out->n != z->l.n)
        return mail_error_set(err, MAIL_ERR_INTERNAL,
                              "%s: not the folder's latest lazy listing",
                              f->path);
    from = i;
    for (i = from; i < to; i++)
        if (!out->v[i].key) {
            const struct entry *en = &z->l.v[z->lo + i];

            total += prefix + en->nlen + 1 + en->ulen + 1;
        }
    block = malloc(total);
    if (!block || hcache_lease_keep(z->lease, block, 0) < 0) {
        free(block);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    at = block;
    for (i = from; i < to; i++) {
        struct mail_envelope *e = &out->v[i];
        const struct entry *en = &z->l.v[z->lo + i];
        struct hcache_rec r;
        char *path, *key;
        bool ok = true;

        if (e->key)
            continue;
        path = at;
        at += put_path(f, dl, en, at);
        key = at;
        memcpy(key, en->name, en->ulen);
        key[en->ulen] = '\0';
        at += en->ulen + 1;
        if (en->hit >= 0) {
            ok = z->verified ||
                 (hcache_verify(&z->cache, (size_t)en->hit, true) &&
                  hcache_key_is(&z->cache, (size_t)en->hit, en->name,
                                en->ulen));
            if (ok)
                hcache_get(&z->cache, (size_t)en->hit, &r);
        } else {
            r = z->fresh[en->rec];
        }
        if (!ok) {
            if (fill_from_file(f, z, en, key, &r, &path, err) < 0)
                return -1;
            ok = r.str[HC_KEY] != NULL;   /* else gone: no strings */
        }
        if (ok) {
            unsigned flags = e->flags;
            uint64_t size = e->size;
            time_t received = e->received;

            env_borrow(e, &r);
            e->flags = flags;
            e->size = size;
            e->received = received;
        }
        e->path = path;
        e->key = key;
    }
    return 0;
}

/* A lease for out (hcache.h), held by out and the folder; first the
 * leases of listings since released are let go: their mappings, strings
 * and paths are freed now that nothing borrows them. */
static void md_lease_dropped(void *arg, struct hcache_lease *l)
{
    struct maildir *md = arg;

    if (md->lazy && md->lazy->lease == l)
        lazy_free(md);
}

static int md_new_lease(struct maildir *md, struct mail_envelope_list *out)
{
    struct hcache_lease *l = hcache_leases_add(&md->leases,
                                               md_lease_dropped, md);

    if (!l)
        return -1;
    out->arena = (char *)l;
    return 0;
}

/*
 * One listing of the last `last` messages (0: all).  Returns 1, having
 * left out as it was, when the cache turns out to be damaged: the caller
 * lists again with nocache (every message parsed, the cache rewritten).
 */
static int md_list_once(struct mail_folder *f, struct mail_envelope_list *out,
                        size_t last, int flags, bool nocache,
                        struct mail_error *err)
{
    struct maildir *md = (struct maildir *)f;
    struct listing l = LISTING_INIT;
    struct listing more[2] = { LISTING_INIT, LISTING_INIT };
    size_t nmore = 0;
    struct hcache cache;
    struct fresh fr = { NULL, 0, 0 };
    size_t i, hits = 0, first = out->n, kept_blocks = md->kept.n, lo;
    bool vanished = false, changed = false, borrow, lazy;
    unsigned blocks = HC_BLOCK_ALL;    /* of the cache's strings, read */
    int ret = -1;

    /* Borrowed strings only in a list that holds nothing else, marked by
     * an arena (so that its release frees no string). */
    borrow = (flags & MAIL_FOLDER_LIST_BORROW) &&
             (out->n == 0 || (out->arena && out->v[0].borrowed));
    lazy = borrow && out->n == 0 && (flags & MAIL_FOLDER_LIST_LAZY);
    if (borrow && !lazy && (flags & MAIL_FOLDER_LIST_DISPLAY))
        blocks = HC_BLOCK_DISPLAY |
                 (flags & MAIL_FOLDER_LIST_THREAD ? HC_BLOCK_THREAD : 0);
    if (borrow && !out->arena) {
        if (md_new_lease(md, out) < 0)
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    /* new/ before cur/: a file moved from new/ to cur/ meanwhile is then
     * seen (twice at worst, which drop_gone_and_twice handles) rather
     * than missed. */
    if (scan(f, false, &l, NULL, 0, err) < 0 ||
        scan(f, true, &l, NULL, 0, err) < 0) {
        listing_release(&l);
        return -1;
    }
    scan_done(&l);
    hcache_open(&cache, f->paths, f->path, MAIL_FOLDER_MAILDIR);
    if (nocache) {
        hcache_drop(&cache);
        changed = true;   /* replace the damaged file */
    }
    if (resolve_all(f, &cache, &l, &fr, flags, &changed, err) < 0)
        goto out;
    vanished = l.vanished;
    for (i = 0; i < l.n; i++)
        vanished = vanished || l.v[i].gone;
    drop_gone_and_twice(&l, &cache);
    if (vanished && rescan_vanished(f, &cache, &l, more, &nmore, &fr, flags,
                                    &changed, err) < 0)
        goto out;
    for (i = 0; i < l.n; i++)
        hits += l.v[i].hit >= 0;
    if (hits != cache.n)
        changed = true;
    lo = last && last < l.n ? l.n - last : 0;
    if (lo == 0 || select_last(&l, last) < 0)
        sort_received(&l);
    /* the records used: those shown; every one of the file when it is
     * written again (a damaged file is rebuilt whole, and no damaged
     * record is ever copied into a new file) */
    /* (lazy: none but when the file is written; mail_folder_list_fill
     * checks each record it uses) */
    if ((!lazy || changed) &&
        !verify_range(&cache, &l, lo, blocks, changed)) {
        ret = 1;
        goto out;
    }
    if ((lazy     ? emit_lazy(&l, lo, &cache, &fr, out, err)
         : borrow ? emit_borrowed(f, &l, lo, &cache, &fr, blocks, out, err)
                  : emit_copied(f, &l, lo, &cache, &fr, out, err)) < 0)
        goto out;
    if (changed)
        save_cache(&cache, &l, &fr);
    /* the strings parsed in this listing and the cache's mapping stay
     * until the folder is closed (the names are not kept: paths are
     * built apart, emit_borrowed) */
    if (borrow && hcache_keep_for_borrowers(&cache, fr.v, fr.n,
                                            hcache_lease_keep, out->arena,
                                            err) < 0)
        goto out;
    if (lazy) {
        struct md_lazy *z = calloc(1, sizeof *z);

        if (!z) {
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            goto out;
        }
        lazy_free(md);
        z->lease = (struct hcache_lease *)(void *)out->arena;
        z->l = l;
        l = (struct listing)LISTING_INIT;
        for (i = 0; i < nmore; i++)
            z->more[i] = more[i];
        z->nmore = nmore;
        nmore = 0;
        z->lo = lo;
        /* the reading state only: the mapping is the lease's now */
        z->cache = cache;
        z->cache.file = z->cache.folder = NULL;
        z->cache.index = NULL;
        z->cache.index_size = 0;
        z->cache.map = NULL;
        z->fresh = fr.v;    /* its strings are the lease's */
        fr = (struct fresh){ NULL, 0, 0 };
        z->flags = flags;
        z->verified = changed;
        md->lazy = z;
    }
    ret = 0;
out:
    if (ret != 0) {
        if (borrow) {
            out->n = first;
            /* what this call kept: nothing points at it */
            hcache_blocks_drop_since(&md->kept, kept_blocks);
        } else {
            folder_env_truncate(out, first);   /* leave out as it was */
        }
    }
    for (i = 0; i < fr.n; i++)
        hcache_rec_release(&fr.v[i]);
    free(fr.v);
    hcache_close(&cache);
    listing_release(&l);
    for (i = 0; i < nmore; i++)
        listing_release(&more[i]);
    return ret;
}

static int md_list_last(struct mail_folder *f, struct mail_envelope_list *out,
                        size_t last, int flags, struct mail_error *err)
{
    int rc = md_list_once(f, out, last, flags, false, err);

    if (rc == 1)   /* a damaged cache: never trusted, rebuilt */
        rc = md_list_once(f, out, last, flags, true, err);
    return rc < 0 ? -1 : 0;
}

static int md_list(struct mail_folder *f, struct mail_envelope_list *out,
                   int flags, struct mail_error *err)
{
    return md_list_last(f, out, 0, flags, err);
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
        if (sink(ctx, buf, (size_t)n, err) < 0) {
            free(buf);
            return -1;      /* the sink's error */
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
            if (e->borrowed) {
                /* the old path is the folder's; so is the new one */
                if (hcache_blocks_keep(&((struct maildir *)f)->kept, dst, 0) < 0) {
                    free(dst);
                    dst = NULL;
                    e->path = NULL;   /* found again by its key */
                } else {
                    e->path = dst;
                }
            } else {
                free(e->path);
                e->path = dst;
            }
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
    hcache_blocks_release(&md->kept);
    lazy_free(md);
    hcache_leases_release(&md->leases);
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
    .list_last = md_list_last,
    .list_fill = md_list_fill,
};

static bool is_maildir(const struct mail_folder *f)
{
    return f && f->drv == &maildir_driver;
}
