/*
 * imapcache.c - the listing cache of an imap: folder (mail/imapcache.h).
 *
 * The file, all numbers little-endian:
 *
 *   "MAILIMC\0"          8  magic
 *   version              4  IMC_VERSION
 *   header length        4  (of what follows up to the records: ids)
 *   body length          8  bytes after the fixed header
 *   checksum             8  FNV-1a 64 of the body
 *   body:
 *     account            4 + bytes
 *     folder             4 + bytes
 *     uidvalidity        4
 *     uidnext            4
 *     highestmodseq      8
 *     count              4
 *     records            count of:
 *       uid 4, flags 4, size 8, received 8, date 8, date_offset 4,
 *       bits 4 (1: has_date), attachments 4, modseq 8,
 *       8 strings (from to cc subject message-id in-reply-to references
 *       content-type), each 4 bytes of length (0xffffffff: absent) and
 *       the bytes
 *
 * Loading reads the whole file, checks magic, version, length and
 * checksum before it parses anything, then parses with bounds checks
 * (a record past the end, a string longer than what is left, UIDs not
 * ascending: the file is refused).  Anything refused loads as empty.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hcache.h"
#include "mail/buf.h"
#include "mail/fsutil.h"
#include "mail/header.h"
#include "mail/imapcache.h"

#define IMC_MAGIC "MAILIMC"
#define IMC_VERSION 1u
#define IMC_FIXED 32            /* magic, version, hlen, body len, sum */
#define IMC_FILE_MAX ((uint64_t)256 << 20)
#define IMC_NSTR 8

static int nomem(struct mail_error *err)
{
    return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
}

/* ---- the file name ---- */

static int pct(struct mail_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    if (!*s)
        return mail_buf_addstr(b, "%00");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int r;

        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
            (*p == '.' && p != (const unsigned char *)s))
            r = mail_buf_addch(b, (char)*p);
        else
            r = mail_buf_addch(b, '%') | mail_buf_addch(b, hex[*p >> 4]) |
                mail_buf_addch(b, hex[*p & 15]);
        if (r < 0)
            return -1;
    }
    return 0;
}

char *mail_imap_cache_file(const struct mail_paths *paths,
                           const char *account, const char *folder,
                           struct mail_error *err)
{
    struct mail_buf b = MAIL_BUF_INIT;
    char *dir = mail_paths_mail_dir(paths, MAIL_PATHS_CACHE, "imap",
                                    "the imap: listing cache", err);
    char *out;

    if (!dir)
        return NULL;
    if (mail_buf_printf(&b, "%s/", dir) < 0 || pct(&b, account) < 0 ||
        mail_buf_addch(&b, '/') < 0 || pct(&b, folder) < 0 ||
        mail_buf_addstr(&b, ".cache") < 0) {
        free(dir);
        mail_buf_release(&b);
        nomem(err);
        return NULL;
    }
    free(dir);
    out = mail_buf_detach(&b);
    if (!out)
        nomem(err);
    return out;
}

/* ---- records ---- */

void mail_imap_cache_release(struct mail_imap_cache *c)
{
    mail_envelope_list_release(&c->list);
    free(c->modseq);
    memset(c, 0, sizeof *c);
}

struct mail_envelope *mail_imap_cache_push(struct mail_imap_cache *c,
                                           struct mail_error *err)
{
    if (c->list.n + 1 > c->modseq_alloc) {
        size_t na = c->modseq_alloc ? 2 * c->modseq_alloc : 64;
        uint64_t *v = realloc(c->modseq, na * sizeof *v);

        if (!v) {
            nomem(err);
            return NULL;
        }
        c->modseq = v;
        c->modseq_alloc = na;
    }
    c->modseq[c->list.n] = 0;
    return folder_env_push(&c->list, err);
}

/* ---- writing ---- */

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static int add32(struct mail_buf *b, uint32_t v)
{
    unsigned char p[4];

    put32(p, v);
    return mail_buf_add(b, p, 4);
}

static int add64(struct mail_buf *b, uint64_t v)
{
    unsigned char p[8];

    put64(p, v);
    return mail_buf_add(b, p, 8);
}

static int addstr(struct mail_buf *b, const char *s)
{
    size_t n;

    if (!s)
        return add32(b, UINT32_MAX);
    n = strlen(s);
    if (n >= UINT32_MAX)
        return -1;
    return add32(b, (uint32_t)n) | mail_buf_add(b, s, n);
}

static int add_rec(struct mail_buf *b, const struct mail_envelope *e,
                   uint64_t modseq)
{
    const char *s[IMC_NSTR] = { e->from, e->to, e->cc, e->subject,
                                e->message_id, e->in_reply_to,
                                e->references, e->content_type };
    int r = add32(b, e->uid) | add32(b, e->flags) | add64(b, e->size) |
            add64(b, (uint64_t)(int64_t)e->received) |
            add64(b, (uint64_t)(int64_t)e->date) |
            add32(b, (uint32_t)(int32_t)e->date_offset) |
            add32(b, e->has_date ? 1u : 0u) | add32(b, e->attachments) |
            add64(b, modseq);

    for (int i = 0; i < IMC_NSTR; i++)
        r |= addstr(b, s[i]);
    return r;
}

int mail_imap_cache_save(const struct mail_imap_cache *c, const char *file,
                         const char *account, const char *folder,
                         struct mail_error *err)
{
    struct mail_buf b = MAIL_BUF_INIT;
    unsigned char fixed[IMC_FIXED];
    char *tmp = NULL, *slash;
    int fd = -1, rc = -1, r;

    mail_buf_init(&b, (size_t)IMC_FILE_MAX);
    r = addstr(&b, account) | addstr(&b, folder) | add32(&b, c->uidvalidity) |
        add32(&b, c->uidnext) | add64(&b, c->highestmodseq) |
        add32(&b, (uint32_t)c->list.n);
    for (size_t i = 0; i < c->list.n && r == 0; i++)
        r = add_rec(&b, &c->list.v[i], c->modseq ? c->modseq[i] : 0);
    if (r < 0 || c->list.n > UINT32_MAX) {
        mail_buf_release(&b);
        return mail_error_set(err, MAIL_ERR_IO, "%s: the listing is too big "
                              "to cache", file);
    }
    memcpy(fixed, IMC_MAGIC, 8);
    put32(fixed + 8, IMC_VERSION);
    put32(fixed + 12, IMC_FIXED);
    put64(fixed + 16, b.len);
    put64(fixed + 24, hcache_hash(HCACHE_HASH_INIT, b.data, b.len));
    if (mail_mkdir_parents(file, err) < 0)
        goto done;
    if (asprintf(&tmp, "%s.tmp.XXXXXX", file) < 0) {
        tmp = NULL;
        nomem(err);
        goto done;
    }
    fd = mkstemp(tmp);
    if (fd < 0) {
        mail_error_set(err, MAIL_ERR_CANTCREAT, "%s: %s", tmp,
                       strerror(errno));
        free(tmp);
        tmp = NULL;
        goto done;
    }
    if (mail_write_all(fd, fixed, sizeof fixed) < 0 ||
        mail_write_all(fd, b.data, b.len) < 0 || fsync(fd) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "%s: %s", tmp, strerror(errno));
        goto done;
    }
    if (close(fd) < 0) {
        fd = -1;
        mail_error_set(err, MAIL_ERR_IO, "%s: %s", tmp, strerror(errno));
        goto done;
    }
    fd = -1;
    if (rename(tmp, file) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "%s: %s", file, strerror(errno));
        goto done;
    }
    free(tmp);
    tmp = NULL;
    slash = strrchr(file, '/');
    if (slash) {
        char *dir = strndup(file, (size_t)(slash - file));

        if (dir)
            mail_fsync_dir(dir, err);
        free(dir);
        mail_error_clear(err);
    }
    rc = 0;
done:
    if (fd >= 0)
        close(fd);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    mail_buf_release(&b);
    return rc;
}

/* ---- reading ---- */

struct rd {
    const unsigned char *p, *end;
    bool bad;
};

static uint32_t get32(struct rd *r)
{
    uint32_t v = 0;

    if (r->bad || r->end - r->p < 4) {
        r->bad = true;
        return 0;
    }
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)r->p[i] << (8 * i);
    r->p += 4;
    return v;
}

static uint64_t get64(struct rd *r)
{
    uint64_t v = 0;

    if (r->bad || r->end - r->p < 8) {
        r->bad = true;
        return 0;
    }
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += 8;
    return v;
}

/* A string: *out NULL when absent; -1 with *oom on ENOMEM. */
static void getstr(struct rd *r, char **out, bool *oom)
{
    uint32_t n = get32(r);

    *out = NULL;
    if (r->bad || n == UINT32_MAX)
        return;
    if ((uint64_t)(r->end - r->p) < n || memchr(r->p, '\0', n)) {
        r->bad = true;
        return;
    }
    *out = strndup((const char *)r->p, n);
    if (!*out)
        *oom = true;
    r->p += n;
}

/* Does the next string equal want? */
static bool samestr(struct rd *r, const char *want)
{
    uint32_t n = get32(r);

    if (r->bad || n == UINT32_MAX || (uint64_t)(r->end - r->p) < n ||
        strlen(want) != n || memcmp(r->p, want, n) != 0)
        return false;
    r->p += n;
    return true;
}

static unsigned char *read_file(const char *file, size_t *len)
{
    struct stat st;
    unsigned char *d;
    size_t got = 0;
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
        st.st_size < IMC_FIXED || (uint64_t)st.st_size > IMC_FILE_MAX ||
        !(d = malloc((size_t)st.st_size))) {
        close(fd);
        return NULL;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, d + got, (size_t)st.st_size - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (got != (size_t)st.st_size) {
        free(d);
        return NULL;
    }
    *len = got;
    return d;
}

static int parse(struct mail_imap_cache *c, const unsigned char *d,
                 size_t len, const char *account, const char *folder,
                 struct mail_error *err)
{
    struct rd r = { d, d + len, false };
    uint32_t n, prev = 0;
    bool oom = false;

    if (memcmp(d, IMC_MAGIC, 8) != 0)
        return 0;
    r.p += 8;
    if (get32(&r) != IMC_VERSION || get32(&r) != IMC_FIXED ||
        get64(&r) != len - IMC_FIXED ||
        get64(&r) != hcache_hash(HCACHE_HASH_INIT, d + IMC_FIXED,
                                 len - IMC_FIXED))
        return 0;
    if (!samestr(&r, account) || !samestr(&r, folder))
        return 0;
    c->uidvalidity = get32(&r);
    c->uidnext = get32(&r);
    c->highestmodseq = get64(&r);
    n = get32(&r);
    /* each record is at least 80 bytes: a count beyond that is a lie */
    if (r.bad || !c->uidvalidity || (uint64_t)n * 80 > (uint64_t)(r.end - r.p))
        return 0;
    for (uint32_t i = 0; i < n && !r.bad && !oom; i++) {
        struct mail_envelope *e = mail_imap_cache_push(c, err);
        char *s[IMC_NSTR];
        char key[32];

        if (!e)
            return -1;
        e->uid = get32(&r);
        e->flags = get32(&r);
        e->size = get64(&r);
        e->received = (time_t)(int64_t)get64(&r);
        e->date = (time_t)(int64_t)get64(&r);
        e->date_offset = (int)(int32_t)get32(&r);
        e->has_date = (get32(&r) & 1) != 0;
        e->attachments = get32(&r);
        c->modseq[c->list.n - 1] = get64(&r);
        for (int k = 0; k < IMC_NSTR; k++)
            getstr(&r, &s[k], &oom);
        e->from = s[0];
        e->to = s[1];
        e->cc = s[2];
        e->subject = s[3];
        e->message_id = s[4];
        e->in_reply_to = s[5];
        e->references = s[6];
        e->content_type = s[7];
        if (!e->uid || e->uid <= prev)
            r.bad = true;
        prev = e->uid;
        snprintf(key, sizeof key, "%u:%u", (unsigned)c->uidvalidity,
                 (unsigned)e->uid);
        if (!(e->key = strdup(key)))
            oom = true;
    }
    if (oom)
        return nomem(err);
    if (r.bad || r.p != r.end)
        return 0;
    return 1;
}

int mail_imap_cache_load(struct mail_imap_cache *c, const char *file,
                         const char *account, const char *folder,
                         struct mail_error *err)
{
    unsigned char *d;
    size_t len = 0;
    int rc;

    mail_imap_cache_release(c);
    if (!file || !account || !folder)
        return 0;
    d = read_file(file, &len);
    if (!d)
        return 0;
    rc = parse(c, d, len, account, folder, err);
    free(d);
    if (rc != 1)
        mail_imap_cache_release(c);
    return rc;
}

/* ---- a message the client appended (APPENDUID) ---- */

/* "type/subtype" in lower case from a Content-Type value, as the listing
 * gets it from BODYSTRUCTURE ("text/plain" when absent). */
static char *type_of(const char *v)
{
    const char *p = v ? v : "";
    size_t n;
    char *t;

    while (*p == ' ' || *p == '\t')
        p++;
    n = strcspn(p, "; \t(");
    if (!n || !memchr(p, '/', n)) {
        p = "text/plain";
        n = strlen(p);
    }
    t = strndup(p, n);
    for (size_t i = 0; t && t[i]; i++)
        if (t[i] >= 'A' && t[i] <= 'Z')
            t[i] = (char)(t[i] - 'A' + 'a');
    return t;
}

/* The envelope of the message of fd from off to its end, as a listing
 * would give it: size as RFC822.SIZE counts it (every line ending CRLF),
 * the header fields, the attachment count.  fd's offset is restored. */
static int env_of_fd(struct mail_envelope *e, int fd, off_t off,
                     struct mail_error *err)
{
    struct mail_header h = MAIL_HEADER_INIT;
    struct hcache_rec r;
    struct folder_attach a;
    off_t was = lseek(fd, 0, SEEK_CUR);
    char buf[64 * 1024];
    uint64_t size = 0;
    bool cr = false, attach = false;
    int rc = -1;

    memset(&r, 0, sizeof r);
    if (was < 0 || lseek(fd, off, SEEK_SET) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "the appended message: %s",
                       strerror(errno));
        return -1;
    }
    if (mail_header_read_fd(&h, fd, 0, NULL, err) < 0 ||
        folder_rec_from_header(&r, &h, err) < 0 ||
        folder_env_from_rec(e, &r, err) < 0)
        goto out;
    free(e->content_type);
    e->content_type = type_of(r.str[HC_CONTENT_TYPE]);
    if (!e->content_type) {
        nomem(err);
        goto out;
    }
    if (folder_attach_begin(&a, err) < 0)
        goto out;
    attach = true;
    for (off_t at = off;;) {
        ssize_t n = pread(fd, buf, sizeof buf, at);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            mail_error_set(err, MAIL_ERR_IO, "the appended message: %s",
                           strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n' && !cr)
                size++;          /* a bare LF goes as CRLF */
            cr = buf[i] == '\r';
        }
        size += (uint64_t)n;
        at += n;
        if (folder_attach_sink(&a, buf, (size_t)n, err) < 0)
            goto out;
    }
    attach = false;
    if (folder_attach_end(&a, &e->attachments, err) < 0)
        goto out;
    e->size = size;
    rc = 0;
out:
    if (attach)
        folder_attach_abort(&a);
    hcache_rec_release(&r);
    mail_header_release(&h);
    lseek(fd, was, SEEK_SET);
    return rc;
}

int mail_imap_cache_add_fd(struct mail_imap_cache *c, uint32_t uidvalidity,
                           uint32_t uid, unsigned flags, time_t received,
                           int fd, off_t off, struct mail_error *err)
{
    struct mail_envelope *e;
    char key[32];
    size_t n, at;

    if (!uidvalidity || !uid || c->uidvalidity != uidvalidity)
        return 0;
    n = c->list.n;
    for (at = n; at > 0 && c->list.v[at - 1].uid >= uid; at--)
        if (c->list.v[at - 1].uid == uid)
            return 0;            /* known */
    e = mail_imap_cache_push(c, err);
    if (!e)
        return -1;
    e->uid = uid;
    e->flags = flags & ~(unsigned)MAIL_FLAG_NEW;
    e->received = received ? received : time(NULL);
    snprintf(key, sizeof key, "%u:%u", (unsigned)uidvalidity, (unsigned)uid);
    if (!(e->key = strdup(key))) {
        folder_env_truncate(&c->list, n);
        return nomem(err);
    }
    if (env_of_fd(e, fd, off, err) < 0) {
        folder_env_truncate(&c->list, n);
        return -1;
    }
    if (at < n) {
        /* in UID order: move it from the end to its place */
        struct mail_envelope t = c->list.v[n];

        memmove(&c->list.v[at + 1], &c->list.v[at],
                (n - at) * sizeof c->list.v[0]);
        memmove(&c->modseq[at + 1], &c->modseq[at],
                (n - at) * sizeof c->modseq[0]);
        c->list.v[at] = t;
        c->modseq[at] = 0;
    }
    return 1;
}

int mail_imap_cache_file_add_fd(const struct mail_paths *paths,
                                const char *account, const char *folder,
                                uint32_t uidvalidity, uint32_t uid,
                                unsigned flags, time_t received, int fd,
                                off_t off, struct mail_error *err)
{
    struct mail_imap_cache c = MAIL_IMAP_CACHE_INIT;
    char *file;
    int rc;

    if (!paths || !account || !folder || !uidvalidity || !uid)
        return 0;
    file = mail_imap_cache_file(paths, account, folder, err);
    if (!file)
        return -1;
    rc = mail_imap_cache_load(&c, file, account, folder, err);
    if (rc == 1)
        rc = mail_imap_cache_add_fd(&c, uidvalidity, uid, flags, received,
                                    fd, off, err);
    if (rc == 1)
        rc = mail_imap_cache_save(&c, file, account, folder, err) < 0 ? -1
                                                                     : 1;
    mail_imap_cache_release(&c);
    free(file);
    return rc;
}
