/*
 * hcache.c - the header cache of local folders; see hcache.h.
 *
 * File format (all integers little-endian, so that a home directory
 * shared between machines cannot be misread):
 *
 *     "MAILHC" 0 VERSION                      8 bytes
 *     u32 kind, u32 pathlen, path, NUL        the folder it is for
 *     u64 meta[8]
 *     u64 count
 *     count records:
 *         u64 num[8], i64 date, i32 date_offset, u32 bits, u32 attachments
 *         9 strings: u32 length (0xffffffff: absent), bytes, NUL
 *     u64 FNV-1a of everything before
 *
 * Loading reads the whole file once and leaves the strings in place, so a
 * warm listing of 100,000 messages costs no allocation per cached string.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hcache.h"
#include "mail/buf.h"

#define HC_VERSION 1
#define HC_MAGIC "MAILHC\0"
/* A cache bigger than this is not loaded (and a folder that needs one
 * that big is simply parsed each time). */
#define HC_FILE_MAX ((size_t)1 << 30)
/* Fixed bytes of one record: 8 u64, i64, i32, u32, u32. */
#define HC_REC_FIXED (8 * 8 + 8 + 4 + 4 + 4)
#define HC_NULL_LEN 0xffffffffu

uint64_t hcache_hash(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

void hcache_rec_release(struct hcache_rec *r)
{
    int i;

    for (i = 0; i < HC_NSTR; i++)
        if (r->owned & (1u << i))
            free(r->str[i]);
    memset(r, 0, sizeof *r);
}

/* ---- reading ---- */

struct reader {
    const unsigned char *p;
    size_t left;
    bool bad;
};

static uint64_t rd_u64(struct reader *r)
{
    uint64_t v = 0;
    int i;

    if (r->left < 8) {
        r->bad = true;
        return 0;
    }
    for (i = 7; i >= 0; i--)
        v = v << 8 | r->p[i];
    r->p += 8;
    r->left -= 8;
    return v;
}

static uint32_t rd_u32(struct reader *r)
{
    uint32_t v = 0;
    int i;

    if (r->left < 4) {
        r->bad = true;
        return 0;
    }
    for (i = 3; i >= 0; i--)
        v = v << 8 | r->p[i];
    r->p += 4;
    r->left -= 4;
    return v;
}

/* A string: bounded by what is left of the file, and it must carry the
 * NUL that the writer put after it (so it can be used in place). */
static char *rd_str(struct reader *r)
{
    uint32_t len = rd_u32(r);
    char *s;

    if (r->bad || len == HC_NULL_LEN)
        return NULL;
    if ((size_t)len >= r->left || r->p[len] != '\0' ||
        memchr(r->p, '\0', len) != NULL) {
        r->bad = true;
        return NULL;
    }
    s = (char *)r->p;
    r->p += (size_t)len + 1;
    r->left -= (size_t)len + 1;
    return s;
}

static int read_file(int fd, char **data, size_t *len)
{
    struct stat st;
    size_t got = 0;
    char *p;

    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
        (uint64_t)st.st_size > HC_FILE_MAX)
        return -1;
    p = malloc((size_t)st.st_size + 1);
    if (!p)
        return -1;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, p + got, (size_t)st.st_size - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            free(p);
            return -1;
        }
        got += (size_t)n;
    }
    *data = p;
    *len = got;
    return 0;
}

static size_t key_slot(const struct hcache *c, const char *key)
{
    return (size_t)hcache_hash(HCACHE_HASH_INIT, key, strlen(key)) &
           (c->index_size - 1);
}

static void build_index(struct hcache *c)
{
    size_t size = 16, i;

    while (size < c->n * 2)
        size *= 2;
    c->index = malloc(size * sizeof *c->index);
    if (!c->index)
        return;   /* lookups just miss */
    c->index_size = size;
    memset(c->index, 0xff, size * sizeof *c->index);
    for (i = 0; i < c->n; i++) {
        size_t s;

        if (!c->v[i].str[HC_KEY])
            continue;
        s = key_slot(c, c->v[i].str[HC_KEY]);
        while (c->index[s] != UINT32_MAX)
            s = (s + 1) & (c->index_size - 1);
        c->index[s] = (uint32_t)i;
    }
}

/* Parse the loaded file; false (and nothing kept) if anything is off. */
static bool parse(struct hcache *c)
{
    struct reader r;
    uint64_t sum, count, i;
    uint32_t kind, plen;
    int k;

    if (c->data_len < 8 + 8 || memcmp(c->data, HC_MAGIC, 7) != 0 ||
        (unsigned char)c->data[7] != HC_VERSION)
        return false;
    r.p = (const unsigned char *)c->data + c->data_len - 8;
    r.left = 8;
    r.bad = false;
    sum = rd_u64(&r);
    if (sum != hcache_hash(HCACHE_HASH_INIT, c->data, c->data_len - 8))
        return false;
    r.p = (const unsigned char *)c->data + 8;
    r.left = c->data_len - 16;
    kind = rd_u32(&r);
    plen = rd_u32(&r);
    if (r.bad || kind != c->kind || plen >= r.left ||
        strlen(c->folder) != plen || memcmp(r.p, c->folder, plen) != 0 ||
        r.p[plen] != '\0')
        return false;
    r.p += (size_t)plen + 1;
    r.left -= (size_t)plen + 1;
    for (k = 0; k < HC_NNUM; k++)
        c->meta[k] = rd_u64(&r);
    count = rd_u64(&r);
    /* Bound the count by what the file can hold before allocating. */
    if (r.bad || count > r.left / (HC_REC_FIXED + HC_NSTR * 4))
        return false;
    c->v = calloc(count ? (size_t)count : 1, sizeof *c->v);
    if (!c->v)
        return false;
    for (i = 0; i < count && !r.bad; i++) {
        struct hcache_rec *rec = &c->v[i];

        for (k = 0; k < HC_NNUM; k++)
            rec->num[k] = rd_u64(&r);
        rec->date = (int64_t)rd_u64(&r);
        rec->date_offset = (int32_t)rd_u32(&r);
        rec->bits = rd_u32(&r);
        rec->attachments = rd_u32(&r);
        for (k = 0; k < HC_NSTR; k++)
            rec->str[k] = rd_str(&r);
    }
    if (r.bad || r.left != 0) {
        free(c->v);
        c->v = NULL;
        return false;
    }
    c->n = (size_t)count;
    build_index(c);
    return true;
}

/* CACHE_HOME/mail, created (0700) if missing; NULL: no cache. */
static char *cache_dir(const struct mail_paths *paths)
{
    char *dir = paths && paths->cache_home
                    ? mail_paths_mail_dir(paths, MAIL_PATHS_CACHE, NULL,
                                          "the header cache", NULL)
                    : NULL;

    if (dir && mail_mkdirs(dir, NULL) < 0) {
        free(dir);
        return NULL;
    }
    return dir;
}

void hcache_open(struct hcache *c, const struct mail_paths *paths,
                 const char *path, enum mail_folder_kind kind)
{
    char *dir;
    int fd;

    memset(c, 0, sizeof *c);
    c->kind = (uint32_t)kind;
    c->folder = realpath(path, NULL);
    if (!c->folder)
        return;
    dir = cache_dir(paths);
    if (!dir)
        return;
    {
        struct mail_buf b = MAIL_BUF_INIT;
        uint64_t h = hcache_hash(HCACHE_HASH_INIT, c->folder,
                                 strlen(c->folder));

        if (mail_buf_printf(&b, "%s/%016llx.hc", dir,
                            (unsigned long long)h) == 0)
            c->file = mail_buf_detach(&b);
        mail_buf_release(&b);
    }
    free(dir);
    if (!c->file)
        return;
    fd = open(c->file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return;
    if (read_file(fd, &c->data, &c->data_len) == 0 && !parse(c)) {
        free(c->data);
        c->data = NULL;
        c->data_len = 0;
        memset(c->meta, 0, sizeof c->meta);
    }
    close(fd);
}

const struct hcache_rec *hcache_find(const struct hcache *c, const char *key)
{
    size_t s;

    if (c->index_size == 0)
        return NULL;
    s = key_slot(c, key);
    while (c->index[s] != UINT32_MAX) {
        const struct hcache_rec *r = &c->v[c->index[s]];

        if (strcmp(r->str[HC_KEY], key) == 0)
            return r;
        s = (s + 1) & (c->index_size - 1);
    }
    return NULL;
}

/* ---- writing ---- */

struct writer {
    FILE *f;
    uint64_t sum;
    bool bad;
};

static void wr(struct writer *w, const void *p, size_t n)
{
    w->sum = hcache_hash(w->sum, p, n);
    if (fwrite(p, 1, n, w->f) != n)
        w->bad = true;
}

static void wr_u64(struct writer *w, uint64_t v)
{
    unsigned char b[8];
    int i;

    for (i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    wr(w, b, 8);
}

static void wr_u32(struct writer *w, uint32_t v)
{
    unsigned char b[4];
    int i;

    for (i = 0; i < 4; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    wr(w, b, 4);
}

static void wr_str(struct writer *w, const char *s)
{
    size_t n;

    if (!s) {
        wr_u32(w, HC_NULL_LEN);
        return;
    }
    n = strlen(s);
    if (n >= HC_NULL_LEN) {
        w->bad = true;
        return;
    }
    wr_u32(w, (uint32_t)n);
    wr(w, s, n + 1);
}

void hcache_save(struct hcache *c, const uint64_t *meta,
                 const struct hcache_rec *recs, size_t n)
{
    struct mail_buf tmp = MAIL_BUF_INIT;
    struct writer w;
    unsigned char magic[8];
    size_t i;
    int fd, k;

    if (!c->file || !c->folder)
        return;
    if (mail_buf_printf(&tmp, "%s.XXXXXX", c->file) < 0)
        goto out;
    fd = mkstemp(tmp.data);
    if (fd < 0)
        goto out;
    w.f = fdopen(fd, "w");
    if (!w.f) {
        close(fd);
        unlink(tmp.data);
        goto out;
    }
    w.sum = HCACHE_HASH_INIT;
    w.bad = false;
    memcpy(magic, HC_MAGIC, 7);
    magic[7] = HC_VERSION;
    wr(&w, magic, 8);
    wr_u32(&w, c->kind);
    wr_u32(&w, (uint32_t)strlen(c->folder));
    wr(&w, c->folder, strlen(c->folder) + 1);
    for (k = 0; k < HC_NNUM; k++)
        wr_u64(&w, meta[k]);
    wr_u64(&w, n);
    for (i = 0; i < n && !w.bad; i++) {
        const struct hcache_rec *r = &recs[i];

        for (k = 0; k < HC_NNUM; k++)
            wr_u64(&w, r->num[k]);
        wr_u64(&w, (uint64_t)r->date);
        wr_u32(&w, (uint32_t)r->date_offset);
        wr_u32(&w, r->bits);
        wr_u32(&w, r->attachments);
        for (k = 0; k < HC_NSTR; k++)
            wr_str(&w, r->str[k]);
    }
    {
        unsigned char b[8];
        uint64_t sum = w.sum;

        for (k = 0; k < 8; k++)
            b[k] = (unsigned char)(sum >> (8 * k));
        if (fwrite(b, 1, 8, w.f) != 8)
            w.bad = true;
    }
    /* No fsync: a cache lost in a crash is rebuilt, and a torn one fails
     * its checksum. */
    if (fclose(w.f) != 0)
        w.bad = true;
    if (w.bad || rename(tmp.data, c->file) < 0)
        unlink(tmp.data);
out:
    mail_buf_release(&tmp);
}

void hcache_close(struct hcache *c)
{
    free(c->file);
    free(c->folder);
    free(c->data);
    free(c->v);
    free(c->index);
    memset(c, 0, sizeof *c);
}
