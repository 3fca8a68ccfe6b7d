/*
 * foldercache.c - the cached folder list of an account's IMAP server
 * (mail/foldercache.h).
 *
 * The file, all numbers little-endian, in the frame of
 * cachefile.h:
 *
 *   "MAILFLC\0"          8  magic
 *   version              4  FLC_VERSION
 *   header length        4  CACHEFILE_FIXED
 *   body length          8  bytes after the fixed header
 *   checksum             8  FNV-1a 64 of the body
 *   body:
 *     account            4 + bytes
 *     count              4
 *     count records of:  attrs 4, delimiter 4 (0: NIL), name 4 + bytes,
 *                        raw 4 + bytes (0xffffffff: absent)
 *
 * Loading checks magic, version, length and checksum before it parses,
 * then parses with bounds checks; anything refused loads as no cache.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cachefile.h"
#include "mail/buf.h"
#include "mail/foldercache.h"
#include "mail/fsutil.h"
#include "mail/imapcache.h"

#define FLC_MAGIC "MAILFLC"
#define FLC_VERSION 1u
#define FLC_MAX_BOXES 10000u            /* as mail_imap_list bounds it */
#define FLC_FILE_MAX ((uint64_t)40 << 20)
#define FLC_NAME "folders.list"

static int nomem(struct mail_error *err)
{
    return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
}

char *mail_imap_foldercache_file(const struct mail_paths *paths,
                                 const char *account,
                                 struct mail_error *err)
{
    /* The directory of the account's listing caches, with its name
     * encoded by the one function that does it: the file of any folder
     * there, cut at its last '/'. */
    char *f = mail_imap_cache_file(paths, account, "INBOX", err);
    char *slash, *out;

    if (!f)
        return NULL;
    slash = strrchr(f, '/');
    if (!slash) {
        free(f);
        mail_error_set(err, MAIL_ERR_INTERNAL, "the imap: cache directory "
                       "has no '/'");
        return NULL;
    }
    *slash = '\0';
    if (asprintf(&out, "%s/%s", f, FLC_NAME) < 0) {
        free(f);
        nomem(err);
        return NULL;
    }
    free(f);
    return out;
}

/* ---- writing ---- */

int mail_imap_foldercache_save(const struct mail_paths *paths,
                               const char *account,
                               const struct mail_imap_mailboxes *l,
                               struct mail_error *err)
{
    struct mail_buf b = MAIL_BUF_INIT;
    char *file;
    int r, rc;

    if (!account)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "the folder list "
                              "cache needs an account");
    file = mail_imap_foldercache_file(paths, account, err);
    if (!file)
        return -1;
    mail_buf_init(&b, (size_t)FLC_FILE_MAX);
    r = cachefile_addstr(&b, account) | cachefile_add32(&b, (uint32_t)l->n);
    for (size_t i = 0; i < l->n && r == 0; i++)
        r = cachefile_add32(&b, l->v[i].attrs) |
            cachefile_add32(&b, (unsigned char)l->v[i].delim) |
            cachefile_addstr(&b, l->v[i].name ? l->v[i].name : "") |
            cachefile_addstr(&b, l->v[i].raw);
    if (r < 0 || l->n > FLC_MAX_BOXES) {
        mail_buf_release(&b);
        rc = mail_error_set(err, MAIL_ERR_IO, "%s: the folder list is too "
                            "big to cache", file);
        free(file);
        return rc;
    }
    rc = cachefile_write(file, FLC_MAGIC, FLC_VERSION, &b, err);
    mail_buf_release(&b);
    free(file);
    return rc;
}

/* ---- reading ---- */

static int parse(struct mail_imap_mailboxes *out, struct cachefile_rd r,
                 const char *account, struct mail_error *err)
{
    uint32_t n;
    bool oom = false;

    if (!cachefile_samestr(&r, account))
        return 0;
    n = cachefile_get32(&r);
    /* a record is at least 16 bytes: a count beyond that is a lie */
    if (r.bad || n > FLC_MAX_BOXES ||
        (uint64_t)n * 16 > (uint64_t)(r.end - r.p))
        return 0;
    out->v = calloc(n ? n : 1, sizeof *out->v);
    if (!out->v)
        return nomem(err);
    for (uint32_t i = 0; i < n && !r.bad && !oom; i++) {
        struct mail_imap_mailbox *m = &out->v[out->n++];
        uint32_t delim;

        m->attrs = cachefile_get32(&r);
        delim = cachefile_get32(&r);
        if (delim > 0x7f)
            r.bad = true;
        m->delim = (char)delim;
        cachefile_getstr(&r, &m->name, &oom);
        cachefile_getstr(&r, &m->raw, &oom);
        if (!r.bad && !oom && (!m->name || !*m->name))
            r.bad = true;
    }
    if (oom)
        return nomem(err);
    if (r.bad || r.p != r.end)
        return 0;
    return 1;
}

int mail_imap_foldercache_load(const struct mail_paths *paths,
                               const char *account,
                               struct mail_imap_mailboxes *out,
                               struct mail_error *err)
{
    struct mail_error e2;
    struct cachefile_rd body;
    unsigned char *d;
    char *file;
    int rc;

    out->v = NULL;
    out->n = 0;
    if (!account)
        return 0;
    mail_error_clear(&e2);
    file = mail_imap_foldercache_file(paths, account, &e2);
    if (!file) {
        /* no cache directory is no cache */
        if (e2.kind != MAIL_ERR_INTERNAL)
            return 0;
        if (err)
            *err = e2;
        return -1;
    }
    d = cachefile_read(file, FLC_MAGIC, FLC_VERSION, FLC_FILE_MAX, &body);
    free(file);
    if (!d)
        return 0;
    rc = parse(out, body, account, err);
    free(d);
    if (rc != 1)
        mail_imap_mailboxes_release(out);
    return rc;
}

/* ---- changes ---- */

/* Is name `below` a folder under `top` (top, the delimiter, more)? */
static bool is_below(const char *below, const char *top, char delim)
{
    size_t n = strlen(top);

    return delim && strncmp(below, top, n) == 0 && below[n] == delim &&
           below[n + 1];
}

static bool is_inbox(const char *name)
{
    return strcasecmp(name, "INBOX") == 0;
}

static bool same_name(const char *a, const char *b)
{
    return is_inbox(a) ? is_inbox(b) : strcmp(a, b) == 0;
}

/* Append a selectable mailbox `name` (raw unknown) to l. */
static int add_box(struct mail_imap_mailboxes *l, const char *name,
                   char delim, struct mail_error *err)
{
    struct mail_imap_mailbox *nv;

    for (size_t i = 0; i < l->n; i++)
        if (same_name(l->v[i].name, name)) {
            l->v[i].attrs &= ~(unsigned)(MAIL_IMAP_MBX_NOSELECT |
                                         MAIL_IMAP_MBX_NONEXISTENT);
            return 0;
        }
    if (l->n >= FLC_MAX_BOXES)
        return 0;
    nv = realloc(l->v, (l->n + 1) * sizeof *nv);
    if (!nv)
        return nomem(err);
    l->v = nv;
    memset(&l->v[l->n], 0, sizeof l->v[l->n]);
    if (!(l->v[l->n].name = strdup(name)))
        return nomem(err);
    l->v[l->n].delim = delim;
    l->n++;
    return 0;
}

int mail_imap_foldercache_change(const struct mail_paths *paths,
                                 const char *account, const char *from,
                                 const char *to, struct mail_error *err)
{
    struct mail_imap_mailboxes l = { NULL, 0 };
    char delim = '\0';
    int rc;

    rc = mail_imap_foldercache_load(paths, account, &l, err);
    if (rc <= 0)
        return rc;
    /* the server's delimiter, for a name of ours */
    for (size_t i = 0; i < l.n && !delim; i++)
        delim = l.v[i].delim;
    rc = 0;
    if (!from) {
        rc = add_box(&l, to, delim, err);
    } else if (!to) {
        for (size_t i = 0; i < l.n; i++) {
            if (!same_name(l.v[i].name, from))
                continue;
            free(l.v[i].name);
            free(l.v[i].raw);
            memmove(&l.v[i], &l.v[i + 1], (l.n - i - 1) * sizeof l.v[i]);
            l.n--;
            break;
        }
    } else if (is_inbox(from)) {
        /* INBOX's messages move to the new folder; INBOX stays */
        rc = add_box(&l, to, delim, err);
    } else {
        size_t nfrom = strlen(from);

        for (size_t i = 0; i < l.n && rc == 0; i++) {
            struct mail_imap_mailbox *m = &l.v[i];
            char *nn = NULL;

            if (strcmp(m->name, from) == 0)
                nn = strdup(to);
            else if (is_below(m->name, from, m->delim))
                rc = asprintf(&nn, "%s%s", to, m->name + nfrom) < 0 ? -1
                                                                     : 0;
            else
                continue;
            if (rc < 0 || !nn) {
                rc = nomem(err);
                break;
            }
            free(m->name);
            free(m->raw);
            m->name = nn;
            m->raw = NULL;
        }
    }
    if (rc == 0)
        rc = mail_imap_foldercache_save(paths, account, &l, err);
    mail_imap_mailboxes_release(&l);
    return rc;
}
