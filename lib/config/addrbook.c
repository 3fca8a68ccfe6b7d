/*
 * addrbook.c - the address book: aliases, collected addresses and an
 * address-command, queried together (addrbook.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfgfile.h"
#include "mail/addrbook.h"
#include "mail/address.h"
#include "mail/header.h"
#include "mail/spawn.h"
#include "mail/termsafe.h"

#define COLLECTED_FILE_MAX ((size_t)4 << 20)
#define COMMAND_OUT_MAX ((size_t)1 << 20)
#define COMMAND_LINE_MAX 4096
#define COMMAND_ENTRIES_MAX 1000
#define NAME_MAX_BYTES 256
#define ADDR_MAX_BYTES 254
#define HEADER_READ_MAX ((size_t)256 << 10)

struct collected {
    char *addr;
    char *name;
    unsigned count;
    time_t last;
};

struct coll_set {
    struct collected *v;
    size_t n, alloc;
};

struct mail_addrbook {
    struct mail_aliases aliases;
    struct coll_set coll;
    char *command;
    int timeout_ms;
};

/* ---- text: case folding, names, addresses ---- */

/* Lowercase for the scripts most addresses are written in; the rest
 * as it is. */
static uint32_t fold_cp(uint32_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c + 32;
    if (c < 0xc0)
        return c;
    if (c <= 0xde && c != 0xd7)
        return c + 32;
    if (c >= 0x100 && c <= 0x137)
        return c | 1;
    if (c >= 0x139 && c <= 0x148)
        return (c & 1) ? c + 1 : c;
    if (c >= 0x14a && c <= 0x177)
        return c | 1;
    if (c == 0x178)
        return 0xff;
    if (c >= 0x179 && c <= 0x17e)
        return (c & 1) ? c + 1 : c;
    if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2)
        return c + 32;
    if (c >= 0x410 && c <= 0x42f)
        return c + 32;
    if (c >= 0x400 && c <= 0x40f)
        return c + 80;
    return c;
}

/* s folded into out (reset first); invalid bytes kept as they are. */
static int fold(struct mail_buf *out, const char *s)
{
    size_t len = strlen(s);

    mail_buf_reset(out);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t l = mail_utf8_decode(s + i, len - i, &cp);
        char enc[4];

        if (l == 0) {
            if (mail_buf_addch(out, s[i]) < 0)
                return -1;
            i++;
            continue;
        }
        i += l;
        l = mail_utf8_encode(fold_cp(cp), enc);
        if (mail_buf_add(out, enc, l) < 0)
            return -1;
    }
    /* Never NULL data, even for "". */
    if (mail_buf_reserve(out, 1) < 0)
        return -1;
    out->data[out->len] = '\0';
    return 0;
}

static bool is_unsafe_cp(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0x061c ||
           cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0xfeff;
}

/* A display name made safe: valid UTF-8 only, control and bidirectional
 * characters gone (a control becomes a blank), blanks collapsed and
 * trimmed, at most NAME_MAX_BYTES.  NULL when nothing is left (or out of
 * memory). */
static char *clean_name(const char *s, size_t len)
{
    struct mail_buf b = MAIL_BUF_INIT;
    bool blank = false;

    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t l = mail_utf8_decode(s + i, len - i, &cp);

        if (l == 0) {
            i++;
            continue;
        }
        if (cp < 0x20 || cp == ' ' || (cp >= 0x7f && cp < 0xa0) ||
            cp == 0xa0) {
            blank = b.len > 0;
        } else if (!is_unsafe_cp(cp)) {
            if (b.len + l + 1 > NAME_MAX_BYTES)
                break;
            if ((blank && mail_buf_addch(&b, ' ') < 0) ||
                mail_buf_add(&b, s + i, l) < 0) {
                mail_buf_release(&b);
                return NULL;
            }
            blank = false;
        }
        i += l;
    }
    if (b.len == 0) {
        mail_buf_release(&b);
        return NULL;
    }
    return mail_buf_detach(&b);
}

/* An addr-spec we keep: "local@domain", valid UTF-8, nothing blank,
 * control, bidirectional or address-list syntax in it. */
static bool addr_ok(const char *a, size_t len)
{
    const char *at;

    if (len == 0 || len > ADDR_MAX_BYTES)
        return false;
    at = memchr(a, '@', len);
    if (!at || at == a || at == a + len - 1)
        return false;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t l = mail_utf8_decode(a + i, len - i, &cp);

        if (l == 0 || is_unsafe_cp(cp) || cp == ' ' ||
            (cp < 0x80 && strchr("<>,;:()\\\"[]", (int)cp)))
            return false;
        i += l;
    }
    return true;
}

static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);

    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* ---- the collected set ---- */

static void coll_release(struct coll_set *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].addr);
        free(c->v[i].name);
    }
    free(c->v);
    memset(c, 0, sizeof *c);
}

static struct collected *coll_find(struct coll_set *c, const char *addr)
{
    for (size_t i = 0; i < c->n; i++)
        if (mail_strcasecmp(c->v[i].addr, addr) == 0)
            return &c->v[i];
    return NULL;
}

/* Add or update addr (copied; name may be NULL: the old one stays). */
static int coll_put(struct coll_set *c, const char *addr, size_t alen,
                    const char *name, size_t nlen, unsigned count,
                    time_t last)
{
    struct collected *e;
    char *a = dupn(addr, alen), *n = name ? clean_name(name, nlen) : NULL;

    if (!a) {
        free(n);
        return -1;
    }
    e = coll_find(c, a);
    if (e) {
        free(a);
        if (n) {
            free(e->name);
            e->name = n;
        }
        e->count = e->count + count < e->count ? e->count
                                               : e->count + count;
        if (last > e->last)
            e->last = last;
        return 0;
    }
    if (c->n == c->alloc) {
        size_t na = c->alloc ? c->alloc * 2 : 32;
        struct collected *nv = realloc(c->v, na * sizeof *nv);

        if (!nv) {
            free(a);
            free(n);
            return -1;
        }
        c->v = nv;
        c->alloc = na;
    }
    c->v[c->n++] = (struct collected){ a, n, count, last };
    return 0;
}

/* An address list (the old format's lines, a To value): its items. */
static int coll_put_list(struct coll_set *c, const char *list, unsigned count,
                         time_t last)
{
    struct mail_addrlist l = MAIL_ADDRLIST_INIT;
    int rc = 0;

    if (mail_addrlist_parse(&l, list, NULL) < 0)
        return -1;
    for (size_t i = 0; i < l.n && rc == 0; i++)
        if (addr_ok(l.v[i].addr, strlen(l.v[i].addr)))
            rc = coll_put(c, l.v[i].addr, strlen(l.v[i].addr), l.v[i].name,
                          l.v[i].name ? strlen(l.v[i].name) : 0, count,
                          last);
    mail_addrlist_release(&l);
    return rc;
}

/* One line of the file; a bad one is skipped. */
static int coll_parse_line(struct coll_set *c, char *line, size_t len)
{
    char *f[4] = { NULL, NULL, NULL, NULL };
    size_t nf = 0;
    char *p = line, *end;
    unsigned long long cnt;
    long long last;

    if (len && line[len - 1] == '\r')
        line[--len] = '\0';
    if (!memchr(line, '\t', len))
        return len ? coll_put_list(c, line, 1, 0) : 0;
    while (nf < 4) {
        f[nf++] = p;
        p = strchr(p, '\t');
        if (!p)
            break;
        *p++ = '\0';
    }
    if (nf < 3)
        return 0;
    errno = 0;
    last = strtoll(f[0], &end, 10);
    if (*end || errno || last < 0)
        return 0;
    cnt = strtoull(f[1], &end, 10);
    if (*end || errno || cnt == 0)
        return 0;
    if (cnt > 1000000)
        cnt = 1000000;
    if (!addr_ok(f[2], strlen(f[2])))
        return 0;
    return coll_put(c, f[2], strlen(f[2]), nf > 3 ? f[3] : NULL,
                    nf > 3 ? strlen(f[3]) : 0, (unsigned)cnt, (time_t)last);
}

static int coll_parse(struct coll_set *c, struct mail_buf *text)
{
    for (size_t pos = 0; pos < text->len;) {
        char *line = text->data + pos;
        char *nl = memchr(line, '\n', text->len - pos);
        size_t len = nl ? (size_t)(nl - line) : text->len - pos;

        pos += len + 1;
        line[len] = '\0';
        if (memchr(line, '\0', len))
            continue;       /* a NUL inside: not ours */
        if (coll_parse_line(c, line, len) < 0)
            return -1;
    }
    return 0;
}

/* Most recent first. */
static int cmp_last(const void *a, const void *b)
{
    const struct collected *x = a, *y = b;

    return x->last < y->last ? 1 : x->last > y->last ? -1 : 0;
}

static int coll_format(struct coll_set *c, struct mail_buf *out)
{
    if (c->n > MAIL_ADDRBOOK_COLLECT_MAX) {
        qsort(c->v, c->n, sizeof *c->v, cmp_last);
        for (size_t i = MAIL_ADDRBOOK_COLLECT_MAX; i < c->n; i++) {
            free(c->v[i].addr);
            free(c->v[i].name);
        }
        c->n = MAIL_ADDRBOOK_COLLECT_MAX;
    }
    for (size_t i = 0; i < c->n; i++)
        if (mail_buf_printf(out, "%lld\t%u\t%s\t%s\n",
                            (long long)c->v[i].last, c->v[i].count,
                            c->v[i].addr,
                            c->v[i].name ? c->v[i].name : "") < 0)
            return -1;
    return 0;
}

char *mail_addrbook_collected_path(const struct mail_paths *paths,
                                   struct mail_error *err)
{
    return mail_paths_mail_dir(paths, MAIL_PATHS_STATE, "addresses",
                               "the collected addresses", err);
}

static int coll_load(struct coll_set *c, const char *path,
                     struct mail_error *err)
{
    struct mail_buf text = MAIL_BUF_INIT;
    int rc;

    rc = cfgfile_read(path, COLLECTED_FILE_MAX, &text, NULL, err);
    if (rc > 0 && coll_parse(c, &text) < 0)
        rc = mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    mail_buf_release(&text);
    return rc < 0 ? -1 : 0;
}

/* ---- collecting ---- */

/* Under the lock: read, merge what add holds, write back. */
static int collect_merge(const char *path, const struct coll_set *add,
                         struct mail_error *err)
{
    struct coll_set cur = { NULL, 0, 0 };
    struct mail_buf text = MAIL_BUF_INIT;
    int lock, rc = -1;

    if ((lock = cfgfile_lock(path, 5000, err)) < 0)
        return -1;
    /* A file too large or unreadable is started afresh rather than
     * blocking every send. */
    {
        struct mail_error lerr;

        mail_error_clear(&lerr);
        if (coll_load(&cur, path, &lerr) < 0 &&
            lerr.kind == MAIL_ERR_INTERNAL) {
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            goto out;
        }
    }
    for (size_t i = 0; i < add->n; i++) {
        const struct collected *a = &add->v[i];

        if (coll_put(&cur, a->addr, strlen(a->addr), a->name,
                     a->name ? strlen(a->name) : 0, a->count,
                     a->last) < 0) {
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            goto out;
        }
    }
    if (coll_format(&cur, &text) < 0) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto out;
    }
    rc = cfgfile_replace(path, text.data ? text.data : "", text.len, 0600,
                         err);
out:
    close(lock);
    coll_release(&cur);
    mail_buf_release(&text);
    return rc;
}

static int collect_set(const struct mail_paths *paths, const char *path,
                       const struct coll_set *add, struct mail_error *err)
{
    char *def = NULL;
    int rc;

    if (add->n == 0)
        return 0;
    if (!path && !(path = def = mail_addrbook_collected_path(paths, err)))
        return -1;
    rc = collect_merge(path, add, err);
    free(def);
    return rc;
}

int mail_addrbook_collect(const struct mail_paths *paths, const char *path,
                          const char *const *lists, size_t n, time_t now,
                          struct mail_error *err)
{
    struct coll_set add = { NULL, 0, 0 };
    int rc;

    for (size_t i = 0; i < n; i++)
        if (lists[i] && coll_put_list(&add, lists[i], 1, now) < 0) {
            coll_release(&add);
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        }
    rc = collect_set(paths, path, &add, err);
    coll_release(&add);
    return rc;
}

/* The names the message's header gives, into names (count 0). */
static int names_from_header(struct coll_set *names, int fd, off_t off,
                             const struct mail_buf *bcc)
{
    struct mail_buf raw = MAIL_BUF_INIT;
    struct mail_header h = MAIL_HEADER_INIT;
    static const char *const fields[] = { "to", "cc", "bcc" };
    int rc = 0;

    if (fd >= 0) {
        char chunk[8192];
        ssize_t got;
        bool end = false;

        while (!end && raw.len < HEADER_READ_MAX) {
            got = pread(fd, chunk, sizeof chunk, off + (off_t)raw.len);
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0)
                break;
            if (mail_buf_add(&raw, chunk, (size_t)got) < 0)
                break;
            mail_header_end(raw.data, raw.len, &end);
        }
    }
    if (bcc && bcc->len)
        (void)mail_buf_add(&raw, bcc->data, bcc->len);
    if (raw.len && mail_header_parse(&h, raw.data, raw.len, NULL) == 0) {
        for (size_t k = 0; k < 3 && rc == 0; k++) {
            size_t pos = 0;
            const char *v;

            while (rc == 0 && (v = mail_header_next(&h, fields[k], &pos)))
                rc = coll_put_list(names, v, 0, 0);
        }
    }
    /* The bcc lines after the header's end are not parsed by the call
     * above: parse them on their own. */
    if (bcc && bcc->len && rc == 0) {
        mail_header_release(&h);
        if (mail_header_parse(&h, bcc->data, bcc->len, NULL) == 0) {
            size_t pos = 0;
            const char *v;

            while (rc == 0 && (v = mail_header_next(&h, "bcc", &pos)))
                rc = coll_put_list(names, v, 0, 0);
        }
    }
    mail_header_release(&h);
    mail_buf_release(&raw);
    return rc;
}

int mail_addrbook_collect_sent(const struct mail_paths *paths, int fd,
                               off_t off, const char *const *rcpts,
                               size_t nrcpts, const char *const *refused,
                               size_t nrefused, const struct mail_buf *bcc,
                               struct mail_error *err)
{
    struct coll_set names = { NULL, 0, 0 }, add = { NULL, 0, 0 };
    time_t now = time(NULL);
    int rc = -1;

    if (names_from_header(&names, fd, off, bcc) < 0)
        goto nomem;
    for (size_t i = 0; i < nrcpts; i++) {
        const char *a = rcpts[i];
        const struct collected *nm;
        bool skip = !a || !addr_ok(a, strlen(a));

        for (size_t k = 0; k < nrefused && !skip; k++)
            skip = refused[k] && mail_strcasecmp(refused[k], a) == 0;
        if (skip)
            continue;
        nm = coll_find(&names, a);
        if (coll_put(&add, a, strlen(a), nm ? nm->name : NULL,
                     nm && nm->name ? strlen(nm->name) : 0, 1, now) < 0)
            goto nomem;
    }
    rc = collect_set(paths, NULL, &add, err);
    goto out;
nomem:
    mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
out:
    coll_release(&names);
    coll_release(&add);
    return rc;
}

/* ---- the book ---- */

struct mail_addrbook *mail_addrbook_open(const struct mail_addrbook_opts *o,
                                         struct mail_error *err)
{
    struct mail_addrbook *b = calloc(1, sizeof *b);
    char *apath = NULL, *cpath = NULL;
    struct mail_error ignored;

    if (!b) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    b->timeout_ms = o->command_timeout_ms > 0 ? o->command_timeout_ms
                                              : 10000;
    if (o->address_command && *o->address_command &&
        !(b->command = strdup(o->address_command)))
        goto nomem;
    /* No home: no aliases file, no collected addresses. */
    apath = o->aliases_path ? NULL
                            : mail_aliases_default_path(o->paths, &ignored);
    if ((o->aliases_path || apath) &&
        mail_aliases_load(&b->aliases, o->aliases_path ? o->aliases_path
                                                       : apath, err) < 0)
        goto fail;
    cpath = o->collected_path ? NULL
                              : mail_addrbook_collected_path(o->paths,
                                                             &ignored);
    if (o->collected_path || cpath)
        (void)coll_load(&b->coll, o->collected_path ? o->collected_path
                                                    : cpath, &ignored);
    free(apath);
    free(cpath);
    return b;
nomem:
    mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
fail:
    free(apath);
    free(cpath);
    mail_addrbook_free(b);
    return NULL;
}

void mail_addrbook_free(struct mail_addrbook *b)
{
    if (!b)
        return;
    mail_aliases_release(&b->aliases);
    coll_release(&b->coll);
    free(b->command);
    free(b);
}

const struct mail_aliases *mail_addrbook_aliases(const struct mail_addrbook *b)
{
    return &b->aliases;
}

void mail_addrbook_results_release(struct mail_addrbook_results *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].alias);
        free(r->v[i].addr);
        free(r->v[i].name);
        free(r->v[i].info);
    }
    free(r->v);
    memset(r, 0, sizeof *r);
}

static struct mail_addrbook_entry *result_new(struct mail_addrbook_results *r)
{
    if (r->n == r->alloc) {
        size_t na = r->alloc ? r->alloc * 2 : 16;
        struct mail_addrbook_entry *nv = realloc(r->v, na * sizeof *nv);

        if (!nv)
            return NULL;
        r->v = nv;
        r->alloc = na;
    }
    memset(&r->v[r->n], 0, sizeof r->v[r->n]);
    return &r->v[r->n++];
}

/* Does text (folded into scratch) contain the folded query q? */
static bool has(struct mail_buf *scratch, const char *text, const char *q)
{
    if (!*q)
        return true;
    if (!text || fold(scratch, text) < 0)
        return false;
    return strstr(scratch->data, q) != NULL;
}

static int query_aliases(const struct mail_addrbook *b, const char *q,
                         struct mail_buf *scratch,
                         struct mail_addrbook_results *out)
{
    for (size_t i = 0; i < b->aliases.n; i++) {
        const struct mail_alias *al = &b->aliases.v[i];
        struct mail_addrbook_entry *e;
        bool dup = false;

        /* A later definition of the same name wins: list that one. */
        for (size_t k = i + 1; k < b->aliases.n && !dup; k++)
            dup = mail_strcasecmp(b->aliases.v[k].name, al->name) == 0;
        if (dup || (!has(scratch, al->name, q) &&
                    !has(scratch, al->value, q)))
            continue;
        if (!(e = result_new(out)))
            return -1;
        e->source = MAIL_ADDRBOOK_ALIAS;
        e->alias = strdup(al->name);
        e->addr = strdup(al->value);
        if (!e->alias || !e->addr)
            return -1;
    }
    return 0;
}

/* The count weighted by the age of the last use. */
static double frecency(const struct collected *c, time_t now)
{
    double age = c->last ? difftime(now, c->last) / 86400.0 : 1e9;
    double w = age < 4 ? 4 : age < 14 ? 2 : age < 31 ? 1 : age < 90 ? 0.5
                                                                 : 0.25;

    return c->count * w;
}

struct ranked {
    const struct collected *c;
    double score;
};

static int cmp_ranked(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;

    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    if (x->c->last != y->c->last)
        return x->c->last < y->c->last ? 1 : -1;
    return mail_strcasecmp(x->c->addr, y->c->addr);
}

static int query_collected(const struct mail_addrbook *b, const char *q,
                           struct mail_buf *scratch,
                           struct mail_addrbook_results *out)
{
    struct ranked *rk = b->coll.n ? malloc(b->coll.n * sizeof *rk) : NULL;
    size_t n = 0;
    time_t now = time(NULL);
    int rc = 0;

    if (b->coll.n && !rk)
        return -1;
    for (size_t i = 0; i < b->coll.n; i++) {
        const struct collected *c = &b->coll.v[i];

        if (has(scratch, c->addr, q) || has(scratch, c->name, q))
            rk[n++] = (struct ranked){ c, frecency(c, now) };
    }
    if (n)
        qsort(rk, n, sizeof *rk, cmp_ranked);
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct mail_addrbook_entry *e = result_new(out);

        if (!e) {
            rc = -1;
            break;
        }
        e->source = MAIL_ADDRBOOK_COLLECTED;
        e->addr = strdup(rk[i].c->addr);
        e->name = rk[i].c->name ? strdup(rk[i].c->name) : NULL;
        e->count = rk[i].c->count;
        e->last = rk[i].c->last;
        if (!e->addr || (rk[i].c->name && !e->name))
            rc = -1;
    }
    free(rk);
    return rc;
}

/* The command as a shell script: its "%s" (also quoted, '%s' or "%s")
 * become "$1", else "$1" is appended.  The query itself is never in the
 * text. */
static int command_script(const char *cmd, struct mail_buf *out)
{
    bool had = false;

    for (const char *p = cmd; *p;) {
        if (strncmp(p, "'%s'", 4) == 0 || strncmp(p, "\"%s\"", 4) == 0) {
            if (mail_buf_addstr(out, "\"$1\"") < 0)
                return -1;
            p += 4;
            had = true;
        } else if (strncmp(p, "%s", 2) == 0) {
            if (mail_buf_addstr(out, "\"$1\"") < 0)
                return -1;
            p += 2;
            had = true;
        } else if (mail_buf_addch(out, *p++) < 0) {
            return -1;
        }
    }
    if (!had && mail_buf_addstr(out, " \"$1\"") < 0)
        return -1;
    return 0;
}

static bool listed(const struct mail_addrbook_results *r, size_t upto,
                   const char *addr)
{
    for (size_t i = 0; i < upto; i++)
        if (r->v[i].source != MAIL_ADDRBOOK_ALIAS &&
            mail_strcasecmp(r->v[i].addr, addr) == 0)
            return true;
    return false;
}

/* One output line of the command: "ADDR<TAB>NAME[<TAB>OTHER]". */
static int command_line(const char *line, size_t len,
                        struct mail_addrbook_results *out, size_t before)
{
    const char *t1 = memchr(line, '\t', len), *t2;
    const char *a = line, *name, *info = NULL;
    size_t alen, nlen, ilen = 0;
    struct mail_addrbook_entry *e;

    if (!t1 || len > COMMAND_LINE_MAX)
        return 0;
    alen = (size_t)(t1 - line);
    while (alen && (*a == ' ')) {
        a++;
        alen--;
    }
    while (alen && a[alen - 1] == ' ')
        alen--;
    /* "<addr>" as some tools write it */
    if (alen > 2 && a[0] == '<' && a[alen - 1] == '>') {
        a++;
        alen -= 2;
    }
    if (!addr_ok(a, alen))
        return 0;
    name = t1 + 1;
    t2 = memchr(name, '\t', len - (size_t)(name - line));
    nlen = t2 ? (size_t)(t2 - name) : len - (size_t)(name - line);
    if (t2) {
        info = t2 + 1;
        ilen = len - (size_t)(info - line);
    }
    {
        char *addr = dupn(a, alen);
        bool dup = !addr || listed(out, before, addr);

        for (size_t i = before; i < out->n && !dup; i++)
            dup = mail_strcasecmp(out->v[i].addr, addr) == 0;
        if (dup) {
            free(addr);
            return addr ? 0 : -1;
        }
        if (!(e = result_new(out))) {
            free(addr);
            return -1;
        }
        e->source = MAIL_ADDRBOOK_COMMAND;
        e->addr = addr;
    }
    e->name = clean_name(name, nlen);
    e->info = info ? clean_name(info, ilen) : NULL;
    return 0;
}

static int query_command(const struct mail_addrbook *b, const char *query,
                         struct mail_addrbook_results *out,
                         struct mail_error *err)
{
    struct mail_buf script = MAIL_BUF_INIT, got = MAIL_BUF_INIT;
    struct mail_spawn sp = MAIL_SPAWN_INIT;
    struct mail_spawn_result res;
    const char *argv[3] = { "address-command", query, NULL };
    size_t before = out->n, pos, nent = 0;
    int rc = -1;

    if (command_script(b->command, &script) < 0) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto out;
    }
    sp.command = script.data;
    sp.argv = argv;
    sp.in_data = "";
    sp.in_len = 0;
    sp.out = &got;
    sp.out_max = COMMAND_OUT_MAX;
    sp.timeout_ms = b->timeout_ms;
    if (mail_spawn_run(&sp, &res, err) < 0) {
        mail_error_prefix(err, "address-command");
        rc = 1;
        goto out;
    }
    /* Past the bound the pipe was closed: the command's end (SIGPIPE, an
     * error) is ours, what came before it is good. */
    if (!res.out_truncated &&
        mail_spawn_check(&res, "address-command", err) < 0) {
        rc = 1;
        goto out;
    }
    /* The first line is a message for the user: skipped. */
    pos = got.len;
    if (got.data) {
        const char *nl = memchr(got.data, '\n', got.len);

        pos = nl ? (size_t)(nl - got.data) + 1 : got.len;
    }
    while (pos < got.len && nent < COMMAND_ENTRIES_MAX) {
        const char *line = got.data + pos;
        const char *nl = memchr(line, '\n', got.len - pos);
        size_t len = nl ? (size_t)(nl - line) : got.len - pos;

        pos += len + 1;
        if (len && line[len - 1] == '\r')
            len--;
        if (nl == NULL && res.out_truncated)
            break;          /* cut by the bound: not a whole line */
        if (command_line(line, len, out, before) < 0) {
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            goto out;
        }
        nent = out->n - before;
    }
    rc = 0;
out:
    mail_buf_release(&script);
    mail_buf_release(&got);
    return rc;
}

int mail_addrbook_query(struct mail_addrbook *b, const char *query,
                        struct mail_addrbook_results *out,
                        struct mail_error *err)
{
    struct mail_buf q = MAIL_BUF_INIT, scratch = MAIL_BUF_INIT;
    int rc = -1;

    if (!query)
        query = "";
    if (fold(&q, query) < 0 || query_aliases(b, q.data, &scratch, out) < 0 ||
        query_collected(b, q.data, &scratch, out) < 0) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto out;
    }
    rc = b->command ? query_command(b, query, out, err) : 0;
out:
    mail_buf_release(&q);
    mail_buf_release(&scratch);
    return rc;
}

int mail_addrbook_entry_format(const struct mail_addrbook_entry *e,
                               struct mail_buf *out)
{
    const char *n = e->name;

    if (e->alias)
        return mail_buf_addstr(out, e->alias);
    if (!n || !*n)
        return mail_buf_addstr(out, e->addr);
    /* UTF-8 kept as it is (what a user types on the line); a name with
     * specials quoted. */
    if (strpbrk(n, "()<>[]:;@\\,.\"")) {
        if (mail_buf_addch(out, '"') < 0)
            return -1;
        for (; *n; n++)
            if (((*n == '"' || *n == '\\') && mail_buf_addch(out, '\\') < 0)
                || mail_buf_addch(out, *n) < 0)
                return -1;
        if (mail_buf_addch(out, '"') < 0)
            return -1;
    } else if (mail_buf_addstr(out, n) < 0) {
        return -1;
    }
    return mail_buf_printf(out, " <%s>", e->addr);
}
