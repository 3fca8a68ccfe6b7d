/*
 * hcache.c - the header cache of local folders; see hcache.h.
 *
 * File format, version 6 (native byte order, checked by a marker: a
 * cache is per machine; a home shared with a machine of the other order
 * just rebuilds it).  Everything is 8-byte aligned so that the file is
 * used in place through mmap(2):
 *
 *     struct hc_dhdr                     magic "MAILHC\0" 4, byte-order
 *                                        marker, kind, nnum, path length,
 *                                        count, sizes of the three string
 *                                        areas, meta[8], a checksum of the
 *                                        record area, a checksum of the
 *                                        header and the path
 *     path, NUL, zero padding to 8       the folder it is for
 *     count records of rec_size bytes:   u64 num[nnum], struct hc_drec
 *     the raw string area                each record's header strings,
 *                                        one block per record
 *     the display area                   each record's key and display
 *                                        From and Subject, one block per
 *                                        record (NUL-terminated strings)
 *     the thread area                    each record's Message-ID,
 *                                        In-Reply-To and References, one
 *                                        block per record
 *
 * A record says where its three blocks are (offset, length, each
 * string's offset in its block or absent) and carries a checksum of each
 * block.
 * Loading checks the header's checksum, that the file is exactly as long
 * as the header says, the record area's checksum (one word-at-a-time
 * pass over the fixed-size records, not over the strings) and every
 * record's bounds.  A block is checked when it is first used
 * (hcache_verify_blocks): a plain listing reads and checks the display
 * blocks of the messages it shows and never the others; a threaded one
 * the display and thread blocks (version 6: in version 5 the threading
 * headers were in the raw block, whose 30 MB for 100,000 messages a
 * threaded listing had to map and check); `ls -n 20` checks 20 records.
 * A file of another version fails the header check and is rebuilt.  A record found damaged makes the caller drop the whole
 * cache and rebuild it (never trust it), as a damaged header does.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hcache.h"
#include "mail/address.h"
#include "mail/buf.h"
#include "mail/rfc2047.h"
#include "mail/termsafe.h"

#define HC_VERSION 6
#define HC_MAGIC "MAILHC"
#define HC_BOM 0x01020304u
/* A cache bigger than this is not loaded (and a folder that needs one
 * that big is simply parsed each time). */
#define HC_FILE_MAX ((uint64_t)1 << 32)
#define HC_ABSENT 0xffffu
/* A record whose strings need more than this is not cached (it is
 * parsed on each listing). */
#define HC_BLOCK_MAX 0xfff0u

struct hc_dhdr {
    char magic[7];
    uint8_t version;
    uint32_t bom;
    uint32_t kind;
    uint32_t nnum;
    uint32_t pathlen;
    uint32_t pad;
    uint64_t count;
    uint64_t size[3];       /* the display, thread and raw areas */
    uint64_t meta[HC_NNUM];
    uint64_t rec_check;     /* hc_fast of the record area */
    uint64_t check;         /* hc_fast of this (check 0) and the path */
};

/* Strings kept in the display block, in the thread block; the others
 * in the raw block.  Blocks are numbered as the bits of HC_BLOCK_*:
 * 0 display, 1 thread, 2 raw; the file holds the areas in the order raw
 * (written as records are added), display, thread. */
#define HC_DISP_MASK ((1u << HC_KEY) | (1u << HC_FROM_DISP) | \
                      (1u << HC_SUBJECT_DISP))
#define HC_THREAD_MASK ((1u << HC_MESSAGE_ID) | (1u << HC_IN_REPLY_TO) | \
                        (1u << HC_REFERENCES))
enum { B_DISP, B_THREAD, B_RAW, B_N };

struct hc_drec {
    int64_t date;
    uint64_t key_hash;      /* hc_fast of the key (0 without one): the
                               index is built and probed, and a name
                               matched, without reading the strings
                               (hcache_find); the key itself is compared
                               when the record is used (hcache_key_is) */
    uint32_t off[B_N];      /* of each block (B_*) in its area */
    uint32_t len[B_N];      /* bytes of each block, its last one a NUL */
    uint32_t check[B_N];    /* hc_fast of each block's bytes */
    int32_t date_offset;
    uint32_t bits;
    uint32_t attachments;
    uint16_t key_len;       /* bytes of the key (without its NUL) */
    uint16_t soff[HC_NSTR]; /* offset in its block, or HC_ABSENT */
};

#define PAD8(x) (((x) + 7) & ~(size_t)7)

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

/* A word-at-a-time hash: each step is a bijection of the state for a
 * given word, so any change of one word changes the result. */
static uint64_t hc_fast(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t w;

    while (len >= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 32;
        p += 8;
        len -= 8;
    }
    w = 0;
    if (len)
        memcpy(&w, p, len);
    h = (h ^ w ^ ((uint64_t)len << 56)) * 0x9e3779b97f4a7c15ULL;
    return h ^ (h >> 29);
}

uint64_t hcache_fast_hash(uint64_t h, const void *data, size_t len)
{
    return hc_fast(h, data, len);
}

void hcache_rec_borrow(struct mail_envelope *e, const struct hcache_rec *r)
{
    e->from = r->str[HC_FROM];
    e->to = r->str[HC_TO];
    e->cc = r->str[HC_CC];
    e->subject = r->str[HC_SUBJECT];
    e->message_id = r->str[HC_MESSAGE_ID];
    e->in_reply_to = r->str[HC_IN_REPLY_TO];
    e->references = r->str[HC_REFERENCES];
    e->content_type = r->str[HC_CONTENT_TYPE];
    e->from_display = r->str[HC_FROM_DISP];
    e->subject_display = r->str[HC_SUBJECT_DISP];
    e->has_date = (r->bits & HC_HAS_DATE) != 0;
    e->date = (time_t)r->date;
    e->date_offset = r->date_offset;
    e->attachments = r->attachments;
    e->borrowed = true;
}

void hcache_rec_release(struct hcache_rec *r)
{
    int i;

    for (i = 0; i < HC_NSTR; i++)
        if (r->owned & (1u << i))
            free(r->str[i]);
    memset(r, 0, sizeof *r);
}

/* ---- display strings ---- */

static int set_owned(struct hcache_rec *r, int i, struct mail_buf *b)
{
    if (r->owned & (1u << i))
        free(r->str[i]);
    r->owned &= ~(1u << i);
    r->str[i] = NULL;
    if (b->len == 0)
        return 0;
    r->str[i] = mail_buf_detach(b);
    if (!r->str[i])
        return -1;
    r->owned |= 1u << i;
    return 0;
}

int hcache_rec_display(struct hcache_rec *r)
{
    struct mail_buf raw = MAIL_BUF_INIT, b = MAIL_BUF_INIT;
    const char *from = r->str[HC_FROM], *subj = r->str[HC_SUBJECT];
    int ret = -1;

    if (from) {
        struct mail_addrlist l = MAIL_ADDRLIST_INIT;
        struct mail_error err;

        if (mail_addrlist_parse(&l, from, &err) == 0)
            for (size_t i = 0; i < l.n; i++) {
                const struct mail_address *a = &l.v[i];
                const char *s = a->name && *a->name ? a->name : a->addr;

                if (!*s)
                    continue;
                if (mail_term_safe(&b, s, strlen(s), MAIL_SAFE_ONELINE) < 0) {
                    mail_addrlist_release(&l);
                    goto out;
                }
                break;
            }
        mail_addrlist_release(&l);
    }
    if (set_owned(r, HC_FROM_DISP, &b) < 0)
        goto out;
    mail_buf_reset(&b);
    if (subj) {
        if (mail_rfc2047_decode(&raw, subj, strlen(subj)) < 0 ||
            mail_term_safe(&b, raw.data ? raw.data : "", raw.len,
                           MAIL_SAFE_ONELINE) < 0)
            goto out;
    }
    if (set_owned(r, HC_SUBJECT_DISP, &b) < 0)
        goto out;
    r->bits |= HC_DISPLAY;
    r->bits &= ~(uint32_t)HC_MIXED;
    if (r->str[HC_CONTENT_TYPE] &&
        mail_strncasecmp(r->str[HC_CONTENT_TYPE], "multipart/mixed", 15) == 0)
        r->bits |= HC_MIXED;
    ret = 0;
out:
    mail_buf_release(&raw);
    mail_buf_release(&b);
    return ret;
}

/* ---- reading ---- */

static const struct hc_drec *drec(const struct hcache *c, size_t i,
                                  const uint64_t **nums)
{
    const unsigned char *p = c->recs + i * c->rec_size;

    *nums = (const uint64_t *)(const void *)p;
    return (const struct hc_drec *)(const void *)(p + c->nnum * 8);
}

/* The block (B_*) that holds string k. */
static int block_of(int k)
{
    if ((HC_DISP_MASK >> k) & 1u)
        return B_DISP;
    return (HC_THREAD_MASK >> k) & 1u ? B_THREAD : B_RAW;
}

/* Bounds of record i's blocks and offsets (reads the record only). */
static bool rec_bounds_ok(const struct hcache *c, size_t i)
{
    const uint64_t *nums;
    const struct hc_drec *d = drec(c, i, &nums);
    int k;

    for (k = 0; k < B_N; k++)
        if ((uint64_t)d->off[k] + d->len[k] > c->area_size[k] ||
            d->len[k] > HC_BLOCK_MAX)
            return false;
    for (k = 0; k < HC_NSTR; k++)
        if (d->soff[k] != HC_ABSENT && d->soff[k] >= d->len[block_of(k)])
            return false;
    if (d->soff[HC_KEY] != HC_ABSENT &&
        (uint32_t)d->soff[HC_KEY] + d->key_len >= d->len[B_DISP])
        return false;
    return true;
}

static bool block_ok(const char *p, uint32_t len, uint32_t check)
{
    if (len == 0)
        return check == 0;
    return p[len - 1] == '\0' &&
           (uint32_t)hc_fast(HCACHE_HASH_INIT, p, len) == check;
}

bool hcache_verify_blocks(const struct hcache *c, size_t i, unsigned blocks)
{
    const uint64_t *nums;
    const struct hc_drec *d = drec(c, i, &nums);

    for (int k = 0; k < B_N; k++)
        if (((blocks >> k) & 1u) &&
            !block_ok(c->area[k] + d->off[k], d->len[k], d->check[k]))
            return false;
    return true;
}

bool hcache_verify(const struct hcache *c, size_t i, bool full)
{
    return hcache_verify_blocks(c, i, full ? HC_BLOCK_ALL : HC_BLOCK_DISPLAY);
}

static const char *rec_str(const struct hcache *c, const struct hc_drec *d,
                           int k)
{
    int b = block_of(k);

    if (d->soff[k] == HC_ABSENT)
        return NULL;
    return c->area[b] + d->off[b] + d->soff[k];
}

/* Record i into r: its numbers and the strings of the blocks given. */
void hcache_get_blocks(const struct hcache *c, size_t i, struct hcache_rec *r,
                       unsigned blocks)
{
    const uint64_t *nums;
    const struct hc_drec *d = drec(c, i, &nums);
    unsigned k;

    memset(r, 0, sizeof *r);
    for (k = 0; k < c->nnum; k++)
        r->num[k] = nums[k];
    r->date = d->date;
    r->date_offset = d->date_offset;
    r->bits = d->bits;
    r->attachments = d->attachments;
    for (k = 0; k < HC_NSTR; k++)
        if ((blocks >> block_of((int)k)) & 1u)
            r->str[k] = (char *)rec_str(c, d, (int)k);
}

void hcache_get(const struct hcache *c, size_t i, struct hcache_rec *r)
{
    hcache_get_blocks(c, i, r, HC_BLOCK_ALL);
}

void hcache_get_display(const struct hcache *c, size_t i,
                        struct hcache_rec *r)
{
    hcache_get_blocks(c, i, r, HC_BLOCK_DISPLAY);
}

void hcache_rec_keep_blocks(struct hcache_rec *r, unsigned blocks)
{
    for (int k = 0; k < HC_NSTR; k++)
        if (!((blocks >> block_of(k)) & 1u)) {
            r->str[k] = NULL;
            r->owned &= ~(1u << k);
        }
    if (!(blocks & HC_BLOCK_RAW) && (r->bits & HC_MIXED))
        r->str[HC_CONTENT_TYPE] = (char *)"multipart/mixed";
}

void hcache_peek(const struct hcache *c, size_t i, uint64_t *num0,
                 uint64_t *num1, uint32_t *bits)
{
    const uint64_t *nums;
    const struct hc_drec *d = drec(c, i, &nums);

    *num0 = c->nnum > 0 ? nums[0] : 0;
    *num1 = c->nnum > 1 ? nums[1] : 0;
    *bits = d->bits;
}

static uint64_t key_hash(const char *key, size_t len)
{
    /* never 0, which marks a record without a key */
    return hc_fast(HCACHE_HASH_INIT, key, len) | 1;
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
        const uint64_t *nums;
        const struct hc_drec *d = drec(c, i, &nums);
        size_t s;

        if (d->soff[HC_KEY] == HC_ABSENT)
            continue;
        s = (size_t)d->key_hash & (c->index_size - 1);
        while (c->index[s] != UINT32_MAX)
            s = (s + 1) & (c->index_size - 1);
        c->index[s] = (uint32_t)i;
    }
}

/* Check the mapped file's header, length, record area and bounds (not
 * the strings: hcache_verify); false if anything is off. */
static bool check_map(struct hcache *c)
{
    const struct hc_dhdr *h = c->map;
    struct hc_dhdr tmp;
    size_t plen, off;
    uint64_t sum, need;

    if (c->map_len < sizeof *h || memcmp(h->magic, HC_MAGIC, 7) != 0 ||
        h->version != HC_VERSION || h->bom != HC_BOM || h->kind != c->kind ||
        h->nnum > HC_NNUM || h->pathlen != strlen(c->folder))
        return false;
    plen = PAD8((size_t)h->pathlen + 1);
    if (c->map_len - sizeof *h < plen)
        return false;
    memcpy(&tmp, h, sizeof tmp);
    tmp.check = 0;
    sum = hc_fast(HCACHE_HASH_INIT, &tmp, sizeof tmp);
    sum = hc_fast(sum, (const char *)c->map + sizeof *h, plen);
    if (sum != h->check ||
        memcmp((const char *)c->map + sizeof *h, c->folder, h->pathlen) != 0)
        return false;
    c->nnum = h->nnum;
    c->rec_size = c->nnum * 8 + sizeof(struct hc_drec);
    off = sizeof *h + plen;
    if (h->count > (c->map_len - off) / c->rec_size ||
        h->size[B_DISP] > c->map_len || h->size[B_THREAD] > c->map_len ||
        h->size[B_RAW] > c->map_len)
        return false;
    need = (uint64_t)off + h->count * c->rec_size + h->size[B_RAW] +
           h->size[B_DISP] + h->size[B_THREAD];
    if (need != c->map_len)    /* truncated, or grown by garbage */
        return false;
    c->n = (size_t)h->count;
    c->recs = (const unsigned char *)c->map + off;
    c->area[B_RAW] = (const char *)c->recs + c->n * c->rec_size;
    c->area[B_DISP] = c->area[B_RAW] + h->size[B_RAW];
    c->area[B_THREAD] = c->area[B_DISP] + h->size[B_DISP];
    for (int k = 0; k < B_N; k++)
        c->area_size[k] = h->size[k];
    memcpy(c->meta, h->meta, sizeof c->meta);
    if (hc_fast(HCACHE_HASH_INIT, c->recs, c->n * c->rec_size) !=
        h->rec_check)
        return false;
    for (size_t i = 0; i < c->n; i++)
        if (!rec_bounds_ok(c, i))
            return false;
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

static void forget(struct hcache *c)
{
    if (c->map)
        munmap(c->map, c->map_len);
    c->map = NULL;
    c->map_len = 0;
    c->recs = NULL;
    memset(c->area, 0, sizeof c->area);
    memset(c->area_size, 0, sizeof c->area_size);
    c->n = 0;
    memset(c->meta, 0, sizeof c->meta);
    free(c->index);
    c->index = NULL;
    c->index_size = 0;
}

void hcache_drop(struct hcache *c)
{
    forget(c);
}

void hcache_open(struct hcache *c, const struct mail_paths *paths,
                 const char *path, enum mail_folder_kind kind)
{
    struct stat st;
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
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        st.st_size >= (off_t)sizeof(struct hc_dhdr) &&
        (uint64_t)st.st_size <= HC_FILE_MAX) {
        /* not populated: only the pages used are read (the header and
         * records at once, the strings of the records a listing uses) */
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE,
                       fd, 0);

        if (m != MAP_FAILED) {
            c->map = m;
            c->map_len = (size_t)st.st_size;
            if (!check_map(c))
                forget(c);
        }
    }
    close(fd);
    if (!c->map || c->n == 0)
        return;
    /* mbox: records are read in order by the driver (hcache_verify,
     * hcache_get), no index */
    if (kind != MAIL_FOLDER_MBOX)
        build_index(c);
}

long hcache_find(const struct hcache *c, const char *key, size_t len)
{
    uint64_t h;
    size_t s;

    if (c->index_size == 0)
        return -1;
    h = key_hash(key, len);
    s = (size_t)h & (c->index_size - 1);
    while (c->index[s] != UINT32_MAX) {
        const uint64_t *nums;
        const struct hc_drec *d = drec(c, c->index[s], &nums);

        /* by the 64-bit hash and the length, not the key's bytes: the
         * display block stays unread for the messages not shown */
        if (d->key_hash == h && d->key_len == len &&
            d->soff[HC_KEY] != HC_ABSENT)
            return (long)c->index[s];
        s = (s + 1) & (c->index_size - 1);
    }
    return -1;
}

bool hcache_key_is(const struct hcache *c, size_t i, const char *key,
                   size_t len)
{
    const uint64_t *nums;
    const struct hc_drec *d = drec(c, i, &nums);

    /* inside the block: rec_bounds_ok checked soff + key_len */
    return d->soff[HC_KEY] != HC_ABSENT && d->key_len == len &&
           memcmp(c->area[B_DISP] + d->off[B_DISP] + d->soff[HC_KEY], key,
                  len) == 0;
}

int hcache_keep_for_borrowers(struct hcache *c, struct hcache_rec *recs,
                              size_t n, hcache_keep_fn keep, void *folder,
                              struct mail_error *err)
{
    void *map;
    size_t map_len;

    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < HC_NSTR; k++)
            if (recs[i].owned & (1u << k)) {
                if (keep(folder, recs[i].str[k], 0) < 0)
                    return mail_error_set(err, MAIL_ERR_INTERNAL,
                                          "out of memory");
                recs[i].owned &= ~(1u << k);
            }
    hcache_take_map(c, &map, &map_len);
    if (map && keep(folder, map, map_len) < 0) {
        munmap(map, map_len);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    return 0;
}

int hcache_blocks_keep(void *blocks, void *p, size_t map_len)
{
    struct hcache_blocks *b = blocks;

    if (b->n == b->alloc) {
        size_t na = b->alloc ? b->alloc * 2 : 16;
        struct hcache_block *nv = realloc(b->v, na * sizeof *nv);

        if (!nv)
            return -1;
        b->v = nv;
        b->alloc = na;
    }
    b->v[b->n].p = p;
    b->v[b->n++].map_len = map_len;
    return 0;
}

void hcache_blocks_drop_since(struct hcache_blocks *b, size_t n)
{
    while (b->n > n) {
        struct hcache_block *k = &b->v[--b->n];

        if (k->map_len)
            munmap(k->p, k->map_len);
        else
            free(k->p);
    }
}

void hcache_blocks_release(struct hcache_blocks *b)
{
    hcache_blocks_drop_since(b, 0);
    free(b->v);
    memset(b, 0, sizeof *b);
}

struct hcache_lease {
    int refs;               /* atomic */
    struct hcache_blocks kept;
};

struct hcache_lease *hcache_lease_new(bool folder)
{
    struct hcache_lease *l = calloc(1, sizeof *l);

    if (l)
        l->refs = folder ? 2 : 1;
    return l;
}

int hcache_lease_keep(void *lease, void *p, size_t map_len)
{
    return hcache_blocks_keep(&((struct hcache_lease *)lease)->kept, p,
                              map_len);
}

void hcache_lease_drop(struct hcache_lease *l)
{
    if (!l || __atomic_sub_fetch(&l->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    hcache_blocks_release(&l->kept);
    free(l);
}

bool hcache_lease_unborrowed(struct hcache_lease *l)
{
    return __atomic_load_n(&l->refs, __ATOMIC_ACQUIRE) == 1;
}

struct hcache_lease *hcache_leases_add(struct hcache_leases *h,
                                       void (*before_drop)(void *arg,
                                                           struct hcache_lease *l),
                                       void *arg)
{
    struct hcache_lease *l;
    size_t j = 0;

    for (size_t i = 0; i < h->n; i++) {
        if (hcache_lease_unborrowed(h->v[i])) {
            if (before_drop)
                before_drop(arg, h->v[i]);
            hcache_lease_drop(h->v[i]);
        } else {
            h->v[j++] = h->v[i];
        }
    }
    h->n = j;
    if (h->n == h->alloc) {
        size_t na = h->alloc ? h->alloc * 2 : 4;
        struct hcache_lease **nv = realloc(h->v, na * sizeof *nv);

        if (!nv)
            return NULL;
        h->v = nv;
        h->alloc = na;
    }
    if (!(l = hcache_lease_new(true)))
        return NULL;
    h->v[h->n++] = l;
    return l;
}

void hcache_leases_release(struct hcache_leases *h)
{
    for (size_t i = 0; i < h->n; i++)
        hcache_lease_drop(h->v[i]);
    free(h->v);
    memset(h, 0, sizeof *h);
}

void hcache_take_map(struct hcache *c, void **map, size_t *len)
{
    *map = c->map;
    *len = c->map_len;
    c->map = NULL;
    c->map_len = 0;
}

/* ---- writing ---- */

struct hcache_writer {
    struct hcache *c;
    struct hc_dhdr hdr;
    unsigned char *recs;    /* n records */
    size_t n, added, rec_size;
    FILE *f;                /* the temporary file */
    char *tmp;
    uint64_t str_size;      /* the raw area, written as records come */
    struct mail_buf area[2];   /* the display and thread areas (B_DISP,
                                  B_THREAD), written at commit */
    size_t path_pad;
    bool bad;
};

struct hcache_writer *hcache_write_begin(struct hcache *c,
                                         const uint64_t *meta, size_t n,
                                         unsigned nnum)
{
    struct hcache_writer *w;
    struct mail_buf tmp = MAIL_BUF_INIT;
    int fd;

    if (!c->file || !c->folder || nnum > HC_NNUM)
        return NULL;
    w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->c = c;
    w->n = n;
    /* A million messages' senders and subjects pass the buffers' usual
     * 64 MiB cap; the file format bounds the area at 4 GiB. */
    mail_buf_init(&w->area[B_DISP], (size_t)1 << 30);
    mail_buf_init(&w->area[B_THREAD], (size_t)1 << 30);
    w->rec_size = nnum * 8 + sizeof(struct hc_drec);
    w->recs = calloc(n ? n : 1, w->rec_size);
    if (!w->recs || mail_buf_printf(&tmp, "%s.XXXXXX", c->file) < 0)
        goto fail;
    fd = mkstemp(tmp.data);
    if (fd < 0)
        goto fail;
    w->tmp = mail_buf_detach(&tmp);
    w->f = fdopen(fd, "w");
    if (!w->f) {
        close(fd);
        unlink(w->tmp);
        goto fail;
    }
    memcpy(w->hdr.magic, HC_MAGIC, 7);
    w->hdr.version = HC_VERSION;
    w->hdr.bom = HC_BOM;
    w->hdr.kind = c->kind;
    w->hdr.nnum = nnum;
    w->hdr.pathlen = (uint32_t)strlen(c->folder);
    memcpy(w->hdr.meta, meta, sizeof w->hdr.meta);
    w->path_pad = PAD8((size_t)w->hdr.pathlen + 1);
    /* the raw strings go after the records; header, records and the
     * display and thread areas at commit */
    if (fseeko(w->f, (off_t)(sizeof w->hdr + w->path_pad + n * w->rec_size),
               SEEK_SET) != 0)
        w->bad = true;
    return w;
fail:
    mail_buf_release(&tmp);
    free(w->recs);
    free(w->tmp);
    free(w);
    return NULL;
}

void hcache_write_add(struct hcache_writer *w, const struct hcache_rec *r)
{
    unsigned char *p;
    struct hc_drec d;
    size_t len[HC_NSTR], total[B_N] = { 0 };
    unsigned nnum;
    int k, b;

    if (!w || w->bad)
        return;
    if (w->added == w->n) {
        w->bad = true;
        return;
    }
    for (k = 0; k < HC_NSTR; k++) {
        len[k] = r->str[k] ? strlen(r->str[k]) + 1 : 0;
        total[block_of(k)] += len[k];
    }
    if (total[B_RAW] > HC_BLOCK_MAX || total[B_DISP] > HC_BLOCK_MAX ||
        total[B_THREAD] > HC_BLOCK_MAX) {
        /* Maildir: not cached, parsed again next time; mbox records go
         * by position, so no cache at all */
        if (w->hdr.kind == MAIL_FOLDER_MBOX)
            w->bad = true;
        return;
    }
    if (w->str_size + total[B_RAW] > UINT32_MAX ||
        w->area[B_DISP].len + total[B_DISP] > UINT32_MAX ||
        w->area[B_THREAD].len + total[B_THREAD] > UINT32_MAX) {
        w->bad = true;    /* too big to cache */
        return;
    }
    p = w->recs + w->added * w->rec_size;
    nnum = w->hdr.nnum;
    memcpy(p, r->num, nnum * 8);
    memset(&d, 0, sizeof d);
    d.date = r->date;
    d.date_offset = r->date_offset;
    d.bits = r->bits & ~(uint32_t)HC_MIXED;
    if (r->str[HC_CONTENT_TYPE] &&
        mail_strncasecmp(r->str[HC_CONTENT_TYPE], "multipart/mixed", 15) == 0)
        d.bits |= HC_MIXED;
    d.attachments = r->attachments;
    d.off[B_RAW] = (uint32_t)w->str_size;
    d.off[B_DISP] = (uint32_t)w->area[B_DISP].len;
    d.off[B_THREAD] = (uint32_t)w->area[B_THREAD].len;
    for (b = 0; b < B_N; b++)
        d.len[b] = (uint32_t)total[b];
    if (r->str[HC_KEY]) {
        d.key_hash = key_hash(r->str[HC_KEY], len[HC_KEY] - 1);
        d.key_len = (uint16_t)(len[HC_KEY] - 1);
    }
    memset(total, 0, sizeof total);
    for (k = 0; k < HC_NSTR; k++) {
        size_t *at = &total[block_of(k)];

        d.soff[k] = len[k] ? (uint16_t)*at : HC_ABSENT;
        *at += len[k];
    }
    if (total[B_RAW]) {
        /* the block's hash is over its bytes in a row, so hash a copy */
        char block[HC_BLOCK_MAX];
        size_t at = 0;

        for (k = 0; k < HC_NSTR; k++)
            if (len[k] && block_of(k) == B_RAW) {
                memcpy(block + at, r->str[k], len[k]);
                at += len[k];
            }
        d.check[B_RAW] = (uint32_t)hc_fast(HCACHE_HASH_INIT, block, at);
        if (fwrite(block, 1, at, w->f) != at)
            w->bad = true;
    }
    for (b = B_DISP; b <= B_THREAD; b++) {
        struct mail_buf *area = &w->area[b];
        size_t at = area->len;

        if (!total[b])
            continue;
        for (k = 0; k < HC_NSTR; k++)
            if (len[k] && block_of(k) == b &&
                mail_buf_add(area, r->str[k], len[k]) < 0)
                w->bad = true;
        if (!w->bad)
            d.check[b] = (uint32_t)hc_fast(HCACHE_HASH_INIT, area->data + at,
                                           total[b]);
    }
    memcpy(p + nnum * 8, &d, sizeof d);
    w->str_size += total[B_RAW];
    w->added++;
}

/* Write the display and thread areas at the file's position. */
static bool write_areas(struct hcache_writer *w)
{
    for (int b = B_DISP; b <= B_THREAD; b++)
        if (w->area[b].len &&
            fwrite(w->area[b].data, 1, w->area[b].len, w->f) !=
                w->area[b].len)
            return false;
    return true;
}

void hcache_write_commit(struct hcache_writer *w)
{
    uint64_t sum;

    if (!w)
        return;
    w->hdr.count = w->added;
    w->hdr.size[B_RAW] = w->str_size;
    w->hdr.size[B_DISP] = w->area[B_DISP].len;
    w->hdr.size[B_THREAD] = w->area[B_THREAD].len;
    w->hdr.rec_check = hc_fast(HCACHE_HASH_INIT, w->recs,
                               w->added * w->rec_size);
    w->hdr.check = 0;
    {
        /* the path block as it will be in the file */
        char *pb = calloc(1, w->path_pad);

        if (!pb) {
            w->bad = true;
        } else {
            off_t end = (off_t)(sizeof w->hdr + w->path_pad +
                                w->n * w->rec_size + w->str_size);

            memcpy(pb, w->c->folder, w->hdr.pathlen);
            sum = hc_fast(HCACHE_HASH_INIT, &w->hdr, sizeof w->hdr);
            w->hdr.check = hc_fast(sum, pb, w->path_pad);
            if (!w->bad && w->added < w->n) {
                /* skipped records: move the strings up */
                off_t from = (off_t)(sizeof w->hdr + w->path_pad +
                                     w->n * w->rec_size);
                off_t to = (off_t)(sizeof w->hdr + w->path_pad +
                                   w->added * w->rec_size);
                char buf[65536];
                uint64_t left = w->str_size;

                if (fflush(w->f) != 0)
                    w->bad = true;
                while (!w->bad && left > 0) {
                    size_t chunk = left < sizeof buf ? (size_t)left
                                                     : sizeof buf;
                    int fd = fileno(w->f);

                    if (pread(fd, buf, chunk, from) != (ssize_t)chunk ||
                        pwrite(fd, buf, chunk, to) != (ssize_t)chunk)
                        w->bad = true;
                    from += (off_t)chunk;
                    to += (off_t)chunk;
                    left -= chunk;
                }
                if (!w->bad && ftruncate(fileno(w->f), to) != 0)
                    w->bad = true;
                end = to;
            }
            if (!w->bad &&
                (fseeko(w->f, end, SEEK_SET) != 0 || !write_areas(w) ||
                 fseeko(w->f, 0, SEEK_SET) != 0 ||
                 fwrite(&w->hdr, 1, sizeof w->hdr, w->f) != sizeof w->hdr ||
                 fwrite(pb, 1, w->path_pad, w->f) != w->path_pad ||
                 fwrite(w->recs, w->rec_size, w->added, w->f) != w->added))
                w->bad = true;
            free(pb);
        }
    }
    /* No fsync: a cache lost in a crash is rebuilt, and a torn one fails
     * its length or checksum checks. */
    if (fclose(w->f) != 0)
        w->bad = true;
    if (w->bad || rename(w->tmp, w->c->file) < 0)
        unlink(w->tmp);
    mail_buf_release(&w->area[B_DISP]);
    mail_buf_release(&w->area[B_THREAD]);
    free(w->tmp);
    free(w->recs);
    free(w);
}

void hcache_save(struct hcache *c, const uint64_t *meta,
                 const struct hcache_rec *recs, size_t n)
{
    struct hcache_writer *w = hcache_write_begin(c, meta, n, HC_NNUM);
    size_t i;

    for (i = 0; i < n && w; i++)
        hcache_write_add(w, &recs[i]);
    hcache_write_commit(w);
}

void hcache_close(struct hcache *c)
{
    free(c->file);
    free(c->folder);
    if (c->map)
        munmap(c->map, c->map_len);
    free(c->index);
    memset(c, 0, sizeof *c);
}
