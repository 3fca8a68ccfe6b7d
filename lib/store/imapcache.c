/*
 * imapcache.c - the listing cache of an imap: folder (mail/imapcache.h).
 *
 * The file, all numbers little-endian:
 *
 *   "MAILIMC\0"          8  magic
 *   version              4  IMC_VERSION
 *   header length        4  CACHEFILE_FIXED (the frame is cachefile.h's)
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

#include "cachefile.h"
#include "hcache.h"
#include "mail/buf.h"
#include "mail/fsutil.h"
#include "mail/header.h"
#include "mail/imapcache.h"

#define IMC_MAGIC "MAILIMC"
#define IMC_VERSION 1u
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

static int add_rec(struct mail_buf *b, const struct mail_envelope *e,
                   uint64_t modseq)
{
    const char *s[IMC_NSTR] = { e->from, e->to, e->cc, e->subject,
                                e->message_id, e->in_reply_to,
                                e->references, e->content_type };
    int r = cachefile_add32(b, e->uid) | cachefile_add32(b, e->flags) | cachefile_add64(b, e->size) |
            cachefile_add64(b, (uint64_t)(int64_t)e->received) |
            cachefile_add64(b, (uint64_t)(int64_t)e->date) |
            cachefile_add32(b, (uint32_t)(int32_t)e->date_offset) |
            cachefile_add32(b, e->has_date ? 1u : 0u) | cachefile_add32(b, e->attachments) |
            cachefile_add64(b, modseq);

    for (int i = 0; i < IMC_NSTR; i++)
        r |= cachefile_addstr(b, s[i]);
    return r;
}

int mail_imap_cache_save(const struct mail_imap_cache *c, const char *file,
                         const char *account, const char *folder,
                         struct mail_error *err)
{
    struct mail_buf b = MAIL_BUF_INIT;
    int rc, r;

    mail_buf_init(&b, (size_t)IMC_FILE_MAX);
    r = cachefile_addstr(&b, account) | cachefile_addstr(&b, folder) | cachefile_add32(&b, c->uidvalidity) |
        cachefile_add32(&b, c->uidnext) | cachefile_add64(&b, c->highestmodseq) |
        cachefile_add32(&b, (uint32_t)c->list.n);
    for (size_t i = 0; i < c->list.n && r == 0; i++)
        r = add_rec(&b, &c->list.v[i], c->modseq ? c->modseq[i] : 0);
    if (r < 0 || c->list.n > UINT32_MAX) {
        mail_buf_release(&b);
        return mail_error_set(err, MAIL_ERR_IO, "%s: the listing is too big "
                              "to cache", file);
    }
    rc = cachefile_write(file, IMC_MAGIC, IMC_VERSION, &b, err);
    mail_buf_release(&b);
    return rc;
}

/* ---- reading ---- */

static int parse(struct mail_imap_cache *c, struct cachefile_rd r,
                 const char *account, const char *folder,
                 struct mail_error *err)
{
    uint32_t n, prev = 0;
    bool oom = false;

    if (!cachefile_samestr(&r, account) || !cachefile_samestr(&r, folder))
        return 0;
    c->uidvalidity = cachefile_get32(&r);
    c->uidnext = cachefile_get32(&r);
    c->highestmodseq = cachefile_get64(&r);
    n = cachefile_get32(&r);
    /* each record is at least 80 bytes: a count beyond that is a lie */
    if (r.bad || !c->uidvalidity || (uint64_t)n * 80 > (uint64_t)(r.end - r.p))
        return 0;
    for (uint32_t i = 0; i < n && !r.bad && !oom; i++) {
        struct mail_envelope *e = mail_imap_cache_push(c, err);
        char *s[IMC_NSTR];
        char key[32];

        if (!e)
            return -1;
        e->uid = cachefile_get32(&r);
        e->flags = cachefile_get32(&r);
        e->size = cachefile_get64(&r);
        e->received = (time_t)(int64_t)cachefile_get64(&r);
        e->date = (time_t)(int64_t)cachefile_get64(&r);
        e->date_offset = (int)(int32_t)cachefile_get32(&r);
        e->has_date = (cachefile_get32(&r) & 1) != 0;
        e->attachments = cachefile_get32(&r);
        c->modseq[c->list.n - 1] = cachefile_get64(&r);
        for (int k = 0; k < IMC_NSTR; k++)
            cachefile_getstr(&r, &s[k], &oom);
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
    struct cachefile_rd body;
    unsigned char *d;
    int rc;

    mail_imap_cache_release(c);
    if (!file || !account || !folder)
        return 0;
    d = cachefile_read(file, IMC_MAGIC, IMC_VERSION, IMC_FILE_MAX, &body);
    if (!d)
        return 0;
    rc = parse(c, body, account, folder, err);
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
