/*
 * mbox.c - the mbox folder driver: one file, messages separated by From_
 * lines, read as mboxrd (RFC 4155 and the mboxrd convention).
 *
 * Reading.  A message starts at a line beginning "From " that is at the
 * start of the file or follows an empty line; a "From " line without the
 * empty line before it starts a message only if it looks like a real
 * From_ line ("From sender Www Mmm dd hh:mm..."), as some writers forget
 * the blank line.  Content-Length is not trusted (it is wrong as often as
 * not).  Lines matching /^>+From / lose one '>' (mboxrd); the empty line
 * before the next From_ line is the separator, not part of the message.
 * Flags come from Status: (R seen, O old: not new) and X-Status: (A
 * answered, F flagged, T draft, D deleted).  doc/VIOLATIONS.md lists the
 * leniencies.
 *
 * Writing.  Appends take an fcntl lock and a dot-lock (FILE.lock), each
 * waited for at most the folder's lock timeout, write "From sender date" and the
 * message with every /^>*From / line quoted, make sure the previous
 * message ends with an empty line, and fsync; a failure truncates the file
 * back.  Flag changes and expunges are kept in memory until sync, which
 * rewrites the file in place from the first changed message on, under
 * both locks, after saving the old tail to a backup file that the next
 * open uses to undo a rewrite cut short (see "sync" below); it refuses if
 * anyone else changed the file since it was listed.  Messages are keyed
 * by offset and identity (see id_final), so that a listing number never
 * names another message after some other program rewrote the file.
 *
 * Memory never grows with message size: everything is read through one
 * 64 KiB buffer in pieces (a long line comes in several; only its first
 * piece is looked at for From_ and quoting), and only headers (bounded by
 * MAIL_HEADER_MAX) are kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hcache.h"
#include "mail/address.h"
#include "mail/date.h"
#include "mail/folder.h"

#define RBUF 65536
/* A dot-lock older than this is left over from a crash (as mutt and
 * procmail assume). */
#define DOTLOCK_STALE 300
/* Bytes hashed at the old end of a grown mbox to trust its cached part. */
#define TAIL_CHECK 4096
/* meta[5] of the header cache: the format of the numbers (num[7], the
 * identity, came in version 2; version 3: every record has its display
 * strings, HC_DISPLAY). */
#define CACHE_VERSION 0x6d626f7803ULL

/*
 * Open file description locks where there are some (Linux): they
 * conflict with other processes' fcntl locks just the same, but belong to
 * our descriptor, so that closing another descriptor of the same file
 * (a listing while an append is open) does not drop them, as it would a
 * classic POSIX lock.
 */
#ifdef F_OFD_SETLK
#define SETLK F_OFD_SETLK
#else
#define SETLK F_SETLK
#endif

/* One message of the last listing. */
struct mbox_msg {
    uint64_t offset;    /* the From_ line */
    uint64_t start;     /* the header, after the From_ line */
    uint64_t end;       /* end of the message (before the separator) */
    uint64_t raw_end;   /* the next From_ line, or the end of the file */
    uint64_t size;      /* bytes once unquoted */
    uint64_t body;      /* the body, after the empty line (0: none) */
    uint64_t id;        /* identity: see ID_ below (never 0) */
    unsigned flags;     /* as in the file (MAIL_FLAG_*, NEW included) */
    unsigned want;      /* as they are to be written */
    bool expunge;
};

struct mbox {
    struct mail_folder base;
    struct mbox_msg *v;     /* the last listing, by offset */
    size_t n;
    bool listed;
    struct stat known;      /* the file as listed (and as we appended) */
    uint64_t listed_end;    /* end of the last listed message */
    bool dirty;             /* changes wait for sync */
    /* The leases of borrowed listings (MAIL_FOLDER_LIST_BORROW) the
     * folder still holds: the cache mappings, key blocks and parsed
     * strings their envelopes point into (hcache.h). */
    struct hcache_leases leases;
};

struct mbox_append {
    struct mail_append base;
    int fd;
    char *lock;             /* our dot-lock, NULL if none */
    off_t old_size;
    uint64_t from_offset;   /* where the From_ line goes */
    const char *pad;        /* to end the previous message with "\n\n" */
    unsigned flags;
    time_t received;
    bool header_done;
    struct mail_buf hdr;    /* the header, held until its end is seen */
    size_t hdr_scan;        /* hdr's last line start: the end is not before */
    /* quoting state: at a line start, '>' seen and "From " matched */
    bool bol;
    size_t gt;
    size_t fmatch;
    char last;              /* last byte of the message written */
    bool empty;             /* nothing of the message written yet */
    size_t outlen;
    char out[32768];
};

static const struct mail_folder_driver mbox_driver;
/* Undo a sync that did not finish (see "sync" below). */
static int recover(const struct mail_paths *paths, int fd, const char *path,
                   struct mail_error *err);
static int recover_at_open(const struct mail_paths *paths, const char *path,
                           struct mail_error *err);

/* ---- reading in pieces ---- */

struct reader {
    int fd;
    const char *path;
    uint64_t base;      /* file offset of buf[0] */
    uint64_t limit;     /* read no further */
    char *buf;
    size_t len, off;
    bool bol;           /* the next piece starts a line */
    bool eof;
};

static int rd_init(struct reader *r, int fd, const char *path, uint64_t from,
                   uint64_t limit, struct mail_error *err)
{
    memset(r, 0, sizeof *r);
    r->fd = fd;
    r->path = path;
    r->base = from;
    r->limit = limit;
    r->bol = true;
    r->buf = malloc(RBUF);
    if (!r->buf)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    return 0;
}

static void rd_release(struct reader *r)
{
    free(r->buf);
    r->buf = NULL;
}

static int rd_fill(struct reader *r, struct mail_error *err)
{
    size_t want;
    ssize_t n;

    if (r->off > 0) {
        memmove(r->buf, r->buf + r->off, r->len - r->off);
        r->base += r->off;
        r->len -= r->off;
        r->off = 0;
    }
    want = RBUF - r->len;
    if (r->limit - (r->base + r->len) < want)
        want = (size_t)(r->limit - (r->base + r->len));
    if (want == 0) {
        r->eof = true;
        return 0;
    }
    do
        n = pread(r->fd, r->buf + r->len, want, (off_t)(r->base + r->len));
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return mail_error_set(err, MAIL_ERR_IO, "%s: read: %s", r->path,
                              strerror(errno));
    if (n == 0)
        r->eof = true;
    r->len += (size_t)n;
    return 0;
}

/*
 * The next piece: a whole line (with its "\n") or, for a line longer than
 * the buffer, a part of it; the first part of a line has *bol set and is
 * at least 64 KiB or the whole line.  *at is its file offset.  Returns 1,
 * 0 at the end, -1 on a read error.
 */
static int rd_next(struct reader *r, const char **p, size_t *n, bool *bol,
                   uint64_t *at, struct mail_error *err)
{
    for (;;) {
        char *nl = r->off < r->len
                       ? memchr(r->buf + r->off, '\n', r->len - r->off)
                       : NULL;
        size_t take;

        if (nl) {
            take = (size_t)(nl - (r->buf + r->off)) + 1;
        } else if (r->eof || (r->off == 0 && r->len == RBUF)) {
            take = r->len - r->off;
            if (take == 0)
                return 0;
        } else {
            if (rd_fill(r, err) < 0)
                return -1;
            continue;
        }
        *p = r->buf + r->off;
        *n = take;
        *at = r->base + r->off;
        *bol = r->bol;
        r->bol = nl != NULL;
        r->off += take;
        return 1;
    }
}

/* ---- what lines are ---- */

static bool is_empty_line(const char *p, size_t n)
{
    return (n == 1 && p[0] == '\n') || (n == 2 && p[0] == '\r' &&
                                        p[1] == '\n');
}

/* A line that mboxrd quoted: /^>+From /. */
static bool is_quoted_from(const char *p, size_t n)
{
    size_t i = 0;

    while (i < n && p[i] == '>')
        i++;
    return i > 0 && n - i >= 5 && memcmp(p + i, "From ", 5) == 0;
}

static bool in_list(const char *p, const char *list)
{
    for (; *list; list += 4)
        if (memcmp(p, list, 3) == 0)
            return true;
    return false;
}

/*
 * Does the line look like a real From_ line: "From " sender, blanks, then
 * an asctime(3) date "Www Mmm dd hh:mm" (seconds, zone and year follow in
 * any of the forms seen)?  For "From " lines that lack the empty line
 * before them, where body text "From here on..." must not split a
 * message.
 */
static bool looks_like_from(const char *p, size_t n)
{
    static const char days[] = "Mon Tue Wed Thu Fri Sat Sun ";
    static const char months[] =
        "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec ";
    size_t i = 5;

    if (n < 5 || memcmp(p, "From ", 5) != 0)
        return false;
    while (i < n && p[i] != ' ' && p[i] != '\t' && p[i] != '\n')
        i++;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    if (n - i < 16)
        return false;
    p += i;
    return in_list(p, days) && p[3] == ' ' && in_list(p + 4, months) &&
           p[7] == ' ' && (p[8] == ' ' || (p[8] >= '0' && p[8] <= '3')) &&
           p[9] >= '0' && p[9] <= '9' && p[10] == ' ' &&
           p[11] >= '0' && p[11] <= '2' && p[12] >= '0' && p[12] <= '9' &&
           p[13] == ':' && p[14] >= '0' && p[14] <= '5' && p[15] >= '0' &&
           p[15] <= '9';
}

/* The date of a From_ line, or 0. */
static time_t from_line_date(const char *p, size_t n)
{
    char buf[128];
    size_t i = 5, l;
    time_t t;

    while (i < n && p[i] != ' ' && p[i] != '\t' && p[i] != '\n')
        i++;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    l = n - i;
    if (l >= sizeof buf)
        l = sizeof buf - 1;
    memcpy(buf, p + i, l);
    while (l > 0 && (buf[l - 1] == '\n' || buf[l - 1] == '\r'))
        l--;
    buf[l] = '\0';
    if (mail_date_parse(buf, &t, NULL) == 0)
        return t;
    /* "Tue Nov  3 10:00:00 2026 remote from x" and the like: the
     * asctime part alone. */
    if (l > 24) {
        buf[24] = '\0';
        if (mail_date_parse(buf, &t, NULL) == 0)
            return t;
    }
    return 0;
}

static unsigned flags_from_header(const struct mail_header *h)
{
    const char *status = mail_header_get(h, "status");
    const char *xstatus = mail_header_get(h, "x-status");
    unsigned f = MAIL_FLAG_NEW;

    for (; status && *status; status++) {
        if (*status == 'R')
            f |= MAIL_FLAG_SEEN;
        else if (*status == 'O')
            f &= ~(unsigned)MAIL_FLAG_NEW;
    }
    for (; xstatus && *xstatus; xstatus++) {
        if (*xstatus == 'A')
            f |= MAIL_FLAG_ANSWERED;
        else if (*xstatus == 'F')
            f |= MAIL_FLAG_FLAGGED;
        else if (*xstatus == 'T')
            f |= MAIL_FLAG_DRAFT;
        else if (*xstatus == 'D')
            f |= MAIL_FLAG_DELETED;
    }
    return f;
}

/*
 * A message's identity, to tell it from another one at the same offset
 * after some other program rewrote the file: a hash of its From_ line,
 * its header without the fields that flag changes rewrite (Status,
 * X-Status, X-Keywords, X-UID, Content-Length: mutt, Dovecot and python
 * rewrite those) and the length of its body.  Envelope keys are
 * "OFFSET:ID" (ID in hex), so a saved listing names a message by both.
 */
static bool is_volatile_field(const char *p, size_t n)
{
    static const char *const names[] = { "status:", "x-status:",
                                         "x-keywords:", "x-uid:",
                                         "content-length:" };

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t l = strlen(names[i]);

        if (n >= l && mail_strncasecmp(p, names[i], l) == 0)
            return true;
    }
    return false;
}

static uint64_t id_final(uint64_t h, const struct mbox_msg *m)
{
    unsigned char b[8];
    uint64_t body = m->body && m->end > m->body ? m->end - m->body : 0;

    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(body >> (8 * i));
    h = hcache_hash(h, b, sizeof b);
    return h ? h : 1;
}

/* The identity in an envelope key "OFFSET:ID", or 0. */
static uint64_t key_id(const char *key)
{
    const char *c = key ? strchr(key, ':') : NULL;
    char *end;
    uint64_t id;

    if (!c || !c[1])
        return 0;
    errno = 0;
    id = strtoull(c + 1, &end, 16);
    return errno || *end ? 0 : id;
}

/* ---- open ---- */

struct mail_folder *mail_mbox_open(const char *path, int mode,
                                   const struct mail_paths *paths,
                                   struct mail_error *err)
{
    struct mbox *mb;
    char head[5];
    ssize_t n;
    int fd;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && (mode & MAIL_FOLDER_CREATE)) {
        if (mail_mkdir_parents(path, err) < 0)
            return NULL;
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno == EEXIST)
            fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            mail_error_set(err, MAIL_ERR_CANTCREAT, "%s: %s", path,
                           strerror(errno));
            return NULL;
        }
    }
    if (fd < 0) {
        mail_error_set(err, errno == ENOENT ? MAIL_ERR_NOTFOUND : MAIL_ERR_IO,
                       "%s: %s", path, strerror(errno));
        return NULL;
    }
    do
        n = pread(fd, head, sizeof head, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        mail_error_set(err, errno == EISDIR ? MAIL_ERR_DATA : MAIL_ERR_IO,
                       "%s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    close(fd);
    /* A sync that did not finish is undone before anything reads the
     * file. */
    if (recover_at_open(paths, path, err) < 0)
        return NULL;
    if (n > 0 && (n < 5 || memcmp(head, "From ", 5) != 0)) {
        mail_error_set(err, MAIL_ERR_DATA,
                       "%s: not an mbox (does not start with \"From \")",
                       path);
        return NULL;
    }
    mb = calloc(1, sizeof *mb);
    if (!mb) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    if (mail_folder_base_init(&mb->base, &mbox_driver, MAIL_FOLDER_MBOX, path,
                              mode, paths, err) < 0) {
        free(mb);
        return NULL;
    }
    return &mb->base;
}

/* ---- list ---- */

/* The parse of (a stretch of) the file into messages and cache records. */
struct parse {
    struct mbox_msg *v;
    struct hcache_rec *recs;
    size_t n, alloc;
    int flags;              /* MAIL_FOLDER_LIST_* */
    bool display;           /* fill the records' display strings */
    /* the message being read */
    bool open;
    struct mbox_msg cur;
    struct hcache_rec rec;
    bool prev_empty;        /* the line before was empty (or none) */
    size_t last_empty;      /* length of the last line if it was empty */
    bool in_from;           /* in the rest of a long From_ line */
    bool in_header;
    uint64_t idh;           /* the identity hash so far */
    bool id_hdr;            /* still in the header for the identity */
    bool id_skip;           /* in a field the identity leaves out */
    struct mail_buf hdr;
    struct folder_attach att;
    bool att_on;
};

static void parse_release(struct parse *ps)
{
    size_t i;

    for (i = 0; i < ps->n; i++)
        hcache_rec_release(&ps->recs[i]);
    free(ps->v);
    free(ps->recs);
    hcache_rec_release(&ps->rec);
    mail_buf_release(&ps->hdr);
    if (ps->att_on)
        folder_attach_abort(&ps->att);
    memset(ps, 0, sizeof *ps);
}

static int parse_push(struct parse *ps, const struct mbox_msg *m,
                      const struct hcache_rec *r, struct mail_error *err)
{
    if (ps->n == ps->alloc) {
        size_t na = ps->alloc ? ps->alloc * 2 : 64;
        struct mbox_msg *nv = realloc(ps->v, na * sizeof *nv);
        struct hcache_rec *nr;

        if (!nv)
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        ps->v = nv;
        nr = realloc(ps->recs, na * sizeof *nr);
        if (!nr)
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        ps->recs = nr;
        ps->alloc = na;
    }
    ps->v[ps->n] = *m;
    ps->recs[ps->n++] = *r;
    return 0;
}

/* The header collected so far is complete: parse it. */
static int end_header(struct parse *ps, struct mail_error *err)
{
    struct mail_header h = MAIL_HEADER_INIT;

    ps->in_header = false;
    if (mail_header_parse(&h, ps->hdr.data ? ps->hdr.data : "", ps->hdr.len,
                          err) < 0)
        return -1;
    if (folder_rec_from_header(&ps->rec, &h, err) < 0) {
        mail_header_release(&h);
        return -1;
    }
    if (ps->display && hcache_rec_display(&ps->rec) < 0) {
        mail_header_release(&h);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    ps->cur.flags = ps->cur.want = flags_from_header(&h);
    mail_header_release(&h);
    mail_buf_reset(&ps->hdr);
    return 0;
}

/* The message ends where the next one starts (or the file ends). */
static int close_message(struct parse *ps, uint64_t at, struct mail_error *err)
{
    if (!ps->open)
        return 0;
    ps->open = false;
    if (ps->in_header && end_header(ps, err) < 0)
        return -1;
    ps->cur.raw_end = at;
    ps->cur.end = at - ps->last_empty;
    ps->cur.size -= ps->last_empty;
    if (ps->att_on) {
        ps->att_on = false;
        if (folder_attach_end(&ps->att, &ps->rec.attachments, err) < 0)
            return -1;
        ps->rec.bits |= HC_ATTACH_KNOWN;
    }
    ps->rec.num[0] = ps->cur.offset;
    ps->rec.num[1] = ps->cur.start;
    ps->rec.num[2] = ps->cur.end;
    ps->rec.num[3] = ps->cur.raw_end;
    ps->rec.num[4] = ps->cur.size;
    ps->rec.num[5] = ps->cur.flags;
    ps->cur.id = id_final(ps->idh, &ps->cur);
    ps->rec.num[7] = ps->cur.id;
    if (parse_push(ps, &ps->cur, &ps->rec, err) < 0)
        return -1;
    memset(&ps->rec, 0, sizeof ps->rec);
    return 0;
}

static int open_message(struct parse *ps, const char *p, size_t n,
                        uint64_t at, struct mail_error *err)
{
    memset(&ps->cur, 0, sizeof ps->cur);
    memset(&ps->rec, 0, sizeof ps->rec);
    ps->open = true;
    ps->cur.offset = at;
    ps->cur.start = at + n;
    ps->cur.flags = ps->cur.want = MAIL_FLAG_NEW;
    ps->rec.num[6] = (uint64_t)from_line_date(p, n);
    ps->idh = hcache_hash(HCACHE_HASH_INIT, p, n);
    ps->id_hdr = true;
    ps->id_skip = false;
    ps->in_from = p[n - 1] != '\n';
    ps->in_header = true;
    ps->last_empty = 0;
    mail_buf_reset(&ps->hdr);
    if (ps->flags & MAIL_FOLDER_LIST_ATTACHMENTS) {
        if (folder_attach_begin(&ps->att, err) < 0)
            return -1;
        ps->att_on = true;
    }
    return 0;
}

/* Parse [from, limit) of the file; from is the start of a From_ line (or
 * of the file). */
static int parse_range(struct parse *ps, int fd, const char *path,
                       uint64_t from, uint64_t limit, struct mail_error *err)
{
    struct reader r;
    const char *p;
    size_t n;
    bool bol;
    uint64_t at;
    int got;

    if (rd_init(&r, fd, path, from, limit, err) < 0)
        return -1;
    mail_buf_init(&ps->hdr, MAIL_HEADER_MAX);
    ps->prev_empty = true;
    while ((got = rd_next(&r, &p, &n, &bol, &at, err)) > 0) {
        if (bol && n >= 5 && memcmp(p, "From ", 5) == 0 &&
            (ps->prev_empty || looks_like_from(p, n))) {
            if (close_message(ps, at, err) < 0 ||
                open_message(ps, p, n, at, err) < 0)
                goto fail;
            ps->prev_empty = false;
            continue;
        }
        if (!ps->open)
            continue;   /* junk before the first From_ line */
        if (ps->in_from) {
            /* the rest of a From_ line longer than the buffer */
            ps->cur.start = at + n;
            ps->in_from = p[n - 1] != '\n';
            ps->idh = hcache_hash(ps->idh, p, n);
            continue;
        }
        if (ps->id_hdr) {
            if (bol && is_empty_line(p, n)) {
                ps->id_hdr = false;
                ps->cur.body = at + n;
            } else {
                if (bol && p[0] != ' ' && p[0] != '\t')
                    ps->id_skip = is_volatile_field(p, n);
                if (!ps->id_skip)
                    ps->idh = hcache_hash(ps->idh, p, n);
            }
        }
        {
            bool quoted = bol && is_quoted_from(p, n);
            const char *u = quoted ? p + 1 : p;
            size_t un = quoted ? n - 1 : n;
            bool empty = bol && is_empty_line(p, n);

            ps->cur.size += un;
            if (ps->in_header) {
                /* The header is cut at MAIL_HEADER_MAX: the rest is
                 * taken as body. */
                if (mail_buf_add(&ps->hdr, u, un) < 0 || empty)
                    if (end_header(ps, err) < 0)
                        goto fail;
            }
            if (ps->att_on && folder_attach_sink(&ps->att, u, un, err) < 0)
                goto fail;
            ps->last_empty = empty ? n : 0;
            ps->prev_empty = empty;
        }
    }
    if (got < 0 || close_message(ps, limit, err) < 0)
        goto fail;
    rd_release(&r);
    return 0;
fail:
    rd_release(&r);
    return -1;
}

/* Hash of the bytes the cache's check covers, for an mbox that grew. */
static int tail_hash(int fd, uint64_t last, uint64_t size, uint64_t *h)
{
    char buf[TAIL_CHECK];
    uint64_t from[2], to[2];
    int i;

    *h = HCACHE_HASH_INIT;
    from[0] = last;
    to[0] = size - last > TAIL_CHECK ? last + TAIL_CHECK : size;
    from[1] = size - last > TAIL_CHECK ? size - TAIL_CHECK : last;
    to[1] = size;
    for (i = 0; i < 2; i++) {
        size_t len = (size_t)(to[i] - from[i]);
        ssize_t n;

        do
            n = pread(fd, buf, len, (off_t)from[i]);
        while (n < 0 && errno == EINTR);
        if (n < 0 || (size_t)n != len)
            return -1;
        *h = hcache_hash(*h, buf, len);
    }
    return 0;
}

/*
 * Take what the cache knows: everything when the file is as cached, or
 * all but the last message when it only grew and the bytes at the old
 * end are the same.  Returns where parsing must go on (the file size when
 * there is nothing left to parse).  Cached numbers are checked before use.
 */
static uint64_t use_cache(struct parse *ps, const struct hcache *c, int fd,
                          const struct stat *st, int flags, unsigned blocks,
                          struct mail_error *err)
{
    uint64_t size = (uint64_t)st->st_size, old = c->meta[1], last, h, n1;
    uint32_t bits;
    bool same;
    size_t i, take;

    if (c->n == 0 || c->meta[0] != (uint64_t)st->st_ino || old > size ||
        c->meta[5] != CACHE_VERSION)
        return 0;
    /* mutt and others put the access time back with utime(2) after
     * reading a mbox, which sets the modification time again in whole
     * seconds: a time that only lost its nanoseconds is the same time
     * (a write stamps the clock's nanoseconds). */
    same = old == size && c->meta[2] == (uint64_t)st->st_mtim.tv_sec &&
           (c->meta[3] == (uint64_t)st->st_mtim.tv_nsec ||
            st->st_mtim.tv_nsec == 0);
    hcache_peek(c, c->n - 1, &last, &n1, &bits);
    if (!same) {
        char head[5];

        if (old == size || last >= old || tail_hash(fd, last, old, &h) < 0 ||
            h != c->meta[4] || pread(fd, head, 5, (off_t)last) != 5 ||
            memcmp(head, "From ", 5) != 0)
            return 0;
    }
    take = same ? c->n : c->n - 1;
    /* A listing that shows only the display strings (and with THREAD the
     * threading ones) of an unchanged file reads (and checks) no other
     * header string; otherwise the records may be written to a new cache
     * file and are checked whole. */
    if (!same)
        blocks = HC_BLOCK_ALL;
    if (ps->alloc < take + 1) {
        struct mbox_msg *nv = realloc(ps->v, (take + 1) * sizeof *nv);
        struct hcache_rec *nr;

        if (!nv)
            return 0;
        ps->v = nv;
        nr = realloc(ps->recs, (take + 1) * sizeof *nr);
        if (!nr)
            return 0;
        ps->recs = nr;
        ps->alloc = take + 1;
    }
    for (i = 0; i < take; i++) {
        struct hcache_rec rec, *r = &rec;
        struct mbox_msg m;
        struct hcache_rec copy;

        if (!hcache_verify_blocks(c, i, blocks))
            goto bad;
        hcache_get_blocks(c, i, &rec, blocks);
        memset(&m, 0, sizeof m);
        m.offset = r->num[0];
        m.start = r->num[1];
        m.end = r->num[2];
        m.raw_end = r->num[3];
        m.size = r->num[4];
        m.flags = m.want = (unsigned)r->num[5];
        m.id = r->num[7];
        if (m.id == 0 || m.offset >= m.start || m.start > m.end || m.end > m.raw_end ||
            m.raw_end > old || (i > 0 && m.offset != ps->v[i - 1].raw_end) ||
            m.size > m.end - m.start ||
            !(r->bits & HC_DISPLAY) ||
            ((flags & MAIL_FOLDER_LIST_ATTACHMENTS) &&
             !(r->bits & HC_ATTACH_KNOWN)))
            goto bad;
        copy = *r;
        copy.owned = 0;
        if (parse_push(ps, &m, &copy, err) < 0)
            goto bad;
    }
    return same ? size : last;
bad:
    ps->n = 0;   /* no owned strings were taken */
    return 0;
}

static int cmp_offset(const void *a, const void *b)
{
    const struct mbox_msg *x = a, *y = b;

    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static struct mbox_msg *find_msg(struct mbox *mb, uint64_t offset)
{
    struct mbox_msg key;

    if (!mb->v)
        return NULL;
    key.offset = offset;
    return bsearch(&key, mb->v, mb->n, sizeof key, cmp_offset);
}

/* The key of m ("OFFSET:ID") into buf; its length. */
static size_t put_key(char *buf, size_t size, const struct mbox_msg *m)
{
    int n = snprintf(buf, size, "%" PRIu64 ":%016" PRIx64, m->offset, m->id);

    return n < 0 ? 0 : (size_t)n;
}

#define KEY_MAX 48

/* Envelopes of the listed messages whose strings point into the cache's
 * mapping and the parsed records, with the keys in one block: all kept
 * by the list's lease (out->arena; hcache_keep_for_borrowers). */
static int emit_borrowed(const struct parse *ps,
                         unsigned blocks, struct mail_envelope_list *out,
                         struct mail_error *err)
{
    size_t i, n = 0;
    char *keys, *at;

    for (i = 0; i < ps->n; i++)
        n += !ps->v[i].expunge;
    keys = malloc(n ? n * KEY_MAX : 1);
    if (!keys || hcache_lease_keep(out->arena, keys, 0) < 0) {
        free(keys);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    if (out->alloc < out->n + n) {
        struct mail_envelope *nv =
            realloc(out->v, (out->n + n ? out->n + n : 1) * sizeof *nv);

        if (!nv)
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        out->v = nv;
        out->alloc = out->n + n;
    }
    at = keys;
    for (i = 0; i < ps->n; i++) {
        const struct mbox_msg *m = &ps->v[i];
        struct hcache_rec rec = ps->recs[i], *r = &rec;
        struct mail_envelope *e;

        if (m->expunge)
            continue;
        /* only what the listing reads (MAIL_FOLDER_LIST_DISPLAY, THREAD) */
        hcache_rec_keep_blocks(r, blocks);
        e = &out->v[out->n++];
        memset(e, 0, sizeof *e);
        e->key = at;
        at += put_key(at, KEY_MAX, m) + 1;
        e->offset = m->offset;
        e->flags = m->want;
        e->size = m->size;
        e->received = (time_t)r->num[6];
        hcache_rec_borrow(e, r);
    }
    return 0;
}

/* Parse the file (with the cache) into mb->v; with out, add envelopes. */
static int mbox_scan(struct mbox *mb, struct mail_envelope_list *out,
                     int flags, struct mail_error *err)
{
    const char *path = mb->base.path;
    struct parse ps;
    struct hcache cache;
    struct stat st;
    uint64_t from, meta[HC_NNUM] = { 0 };
    size_t i, first = out ? out->n : 0;
    int fd, ret = -1;
    bool borrow;
    unsigned blocks = HC_BLOCK_ALL;    /* of the cache's strings, read */

    /* Borrowed strings only in a list that holds nothing else, marked by
     * an arena (so that its release frees no string). */
    borrow = out && (flags & MAIL_FOLDER_LIST_BORROW) &&
             (out->n == 0 || (out->arena && out->v[0].borrowed));
    if (borrow && !out->arena) {
        out->arena = (char *)hcache_leases_add(&mb->leases, NULL, NULL);
        if (!out->arena)
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mail_error_set(err,
                              errno == ENOENT ? MAIL_ERR_NOTFOUND
                                              : MAIL_ERR_IO,
                              "%s: %s", path, strerror(errno));
    if (fstat(fd, &st) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    memset(&ps, 0, sizeof ps);
    ps.flags = flags;
    ps.display = true;
    hcache_open(&cache, mb->base.paths, path, MAIL_FOLDER_MBOX);
    if (borrow && (flags & MAIL_FOLDER_LIST_DISPLAY))
        blocks = HC_BLOCK_DISPLAY |
                 (flags & MAIL_FOLDER_LIST_THREAD ? HC_BLOCK_THREAD : 0);
    from = use_cache(&ps, &cache, fd, &st, flags, blocks, err);
    if (from < (uint64_t)st.st_size &&
        parse_range(&ps, fd, path, from, (uint64_t)st.st_size, err) < 0)
        goto out;

    /* Changes not yet synced stay, when the messages are the same ones:
     * the file is as listed, or only grew. */
    if (mb->dirty && st.st_ino == mb->known.st_ino &&
        st.st_size >= mb->known.st_size) {
        for (i = 0; i < ps.n; i++) {
            struct mbox_msg *old = find_msg(mb, ps.v[i].offset);

            if (old && old->start == ps.v[i].start) {
                ps.v[i].want = old->want;
                ps.v[i].expunge = old->expunge;
            }
        }
    }
    mb->dirty = false;
    for (i = 0; i < ps.n; i++)
        if (ps.v[i].expunge || ps.v[i].want != ps.v[i].flags)
            mb->dirty = true;

    if (borrow && emit_borrowed(&ps, blocks, out, err) < 0)
        goto out;
    for (i = 0; out && !borrow && i < ps.n; i++) {
        const struct mbox_msg *m = &ps.v[i];
        struct mail_envelope *e;
        char key[KEY_MAX];

        if (m->expunge)
            continue;
        e = folder_env_push(out, err);
        if (!e)
            goto out;
        put_key(key, sizeof key, m);
        e->key = strdup(key);
        if (!e->key) {
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            goto out;
        }
        e->offset = m->offset;
        e->flags = m->want;
        e->size = m->size;
        e->received = (time_t)ps.recs[i].num[6];
        if (folder_env_from_rec(e, &ps.recs[i], err) < 0)
            goto out;
    }

    if (from != (uint64_t)st.st_size || cache.n != ps.n) {
        meta[0] = (uint64_t)st.st_ino;
        meta[1] = (uint64_t)st.st_size;
        meta[2] = (uint64_t)st.st_mtim.tv_sec;
        meta[3] = (uint64_t)st.st_mtim.tv_nsec;
        meta[5] = CACHE_VERSION;
        if (ps.n > 0 && tail_hash(fd, ps.v[ps.n - 1].offset,
                                  (uint64_t)st.st_size, &meta[4]) == 0)
            hcache_save(&cache, meta, ps.recs, ps.n);
        else if (ps.n == 0)
            hcache_save(&cache, meta, ps.recs, 0);
    }
    /* the strings parsed in this listing and the cache's mapping stay
     * while the list or the folder holds its lease */
    if (borrow && hcache_keep_for_borrowers(&cache, ps.recs, ps.n,
                                            hcache_lease_keep, out->arena,
                                            err) < 0)
        goto out;

    free(mb->v);
    mb->v = ps.v;
    mb->n = ps.n;
    ps.v = NULL;
    mb->listed = true;
    mb->known = st;
    mb->listed_end = mb->n > 0 ? mb->v[mb->n - 1].raw_end : 0;
    ret = 0;
out:
    if (ret < 0 && borrow) {
        out->n = first;     /* what it kept goes with the list's lease */
    } else if (ret < 0 && out) {
        folder_env_truncate(out, first);
    }
    parse_release(&ps);
    hcache_close(&cache);
    close(fd);
    return ret;
}

static int mbox_list(struct mail_folder *f, struct mail_envelope_list *out,
                     int flags, struct mail_error *err)
{
    return mbox_scan((struct mbox *)f, out, flags, err);
}

/* ---- fetch ---- */

/* Is the message at m->offset of the file still m (same identity and
 * end)?  1 yes, 0 no, -1 on a read error. */
static int verify_msg(int fd, const char *path, const struct mbox_msg *m,
                      struct mail_error *err)
{
    struct parse ps;
    int same;

    memset(&ps, 0, sizeof ps);
    if (parse_range(&ps, fd, path, m->offset, m->raw_end, err) < 0) {
        parse_release(&ps);
        return -1;
    }
    same = ps.n == 1 && ps.v[0].offset == m->offset &&
           ps.v[0].id == m->id && ps.v[0].end == m->end;
    parse_release(&ps);
    return same;
}

/* The listed message for e, checked against the file as it is now. */
static struct mbox_msg *lookup(struct mbox *mb, const struct mail_envelope *e,
                               int fd, struct mail_error *err)
{
    struct mbox_msg *m;
    struct stat st;
    uint64_t id = key_id(e->key);
    int same;

    if (!mb->listed && mbox_scan(mb, NULL, 0, err) < 0)
        return NULL;
    m = find_msg(mb, e->offset);
    if (!m || m->expunge || m->size != e->size || (id && m->id != id)) {
        mail_error_set(err, MAIL_ERR_NOTFOUND,
                       "%s: the message listed at offset %" PRIu64
                       " is not there (the folder changed: run mail ls "
                       "again)", mb->base.path, e->offset);
        return NULL;
    }
    /* Someone may have rewritten the file since (in place, as mutt and
     * we do, or as a new file): the offsets then mean nothing.  A file
     * that only grew is fine. */
    if (fd < 0)
        return m;
    same = 0;
    if (fstat(fd, &st) == 0 && st.st_ino == mb->known.st_ino &&
        (uint64_t)st.st_size >= mb->listed_end) {
        same = verify_msg(fd, mb->base.path, m, err);
        if (same < 0)
            return NULL;
    }
    if (!same) {
        mail_error_set(err, MAIL_ERR_NOTFOUND,
                       "%s: changed by another program since it was "
                       "listed (the folder changed: run mail ls again)",
                       mb->base.path);
        return NULL;
    }
    return m;
}

static int mbox_fetch(struct mail_folder *f, const struct mail_envelope *e,
                      mail_sink_fn sink, void *ctx, struct mail_error *err)
{
    struct mbox *mb = (struct mbox *)f;
    struct mbox_msg *m;
    struct reader r;
    const char *p;
    size_t n;
    bool bol;
    uint64_t at;
    int fd, got, ret = -1;

    fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mail_error_set(err,
                              errno == ENOENT ? MAIL_ERR_NOTFOUND
                                              : MAIL_ERR_IO,
                              "%s: %s", f->path, strerror(errno));
    m = lookup(mb, e, fd, err);
    if (!m || rd_init(&r, fd, f->path, m->start, m->end, err) < 0) {
        close(fd);
        return -1;
    }
    while ((got = rd_next(&r, &p, &n, &bol, &at, err)) > 0) {
        if (bol && is_quoted_from(p, n)) {
            p++;
            n--;
        }
        if (sink(ctx, p, n, err) < 0)
            goto out;       /* the sink's error */
    }
    if (got == 0)
        ret = 0;
out:
    rd_release(&r);
    close(fd);
    return ret;
}

/* A sink into a temporary file: ctx is its fd. */
static int write_sink(void *ctx, const char *data, size_t len,
                      struct mail_error *err)
{
    if (mail_write_all(*(int *)ctx, data, len) < 0)
        return mail_error_set(err, MAIL_ERR_IO, "temporary file: %s",
                              strerror(errno));
    return 0;
}

static int mbox_message_fd(struct mail_folder *f,
                           const struct mail_envelope *e, int *fd,
                           struct mail_error *err)
{
    int tfd = mail_tmpfile(mail_paths_tmp_dir(f->paths), err);

    if (tfd < 0)
        return -1;
    if (mbox_fetch(f, e, write_sink, &tfd, err) < 0) {
        close(tfd);
        return -1;
    }
    if (lseek(tfd, 0, SEEK_SET) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "temporary file: %s",
                       strerror(errno));
        close(tfd);
        return -1;
    }
    *fd = tfd;
    return 0;
}

/* ---- flags and expunge: in memory until sync ---- */

static int mbox_set_flags(struct mail_folder *f, struct mail_envelope *e,
                          unsigned add, unsigned remove,
                          struct mail_error *err)
{
    struct mbox *mb = (struct mbox *)f;
    struct mbox_msg *m = lookup(mb, e, -1, err);
    const unsigned stored = MAIL_FLAG_SEEN | MAIL_FLAG_ANSWERED |
                            MAIL_FLAG_FLAGGED | MAIL_FLAG_DRAFT |
                            MAIL_FLAG_DELETED | MAIL_FLAG_NEW;

    if (!m)
        return -1;
    m->want = ((m->want | add) & ~remove) & stored;
    if (add & MAIL_FLAG_SEEN)
        m->want &= ~(unsigned)MAIL_FLAG_NEW;
    if (m->want != m->flags)
        mb->dirty = true;
    e->flags = m->want;
    return 0;
}

static int mbox_expunge(struct mail_folder *f, struct mail_envelope *e,
                        struct mail_error *err)
{
    struct mbox *mb = (struct mbox *)f;
    struct mbox_msg *m = lookup(mb, e, -1, err);

    if (!m)
        return -1;
    m->expunge = true;
    mb->dirty = true;
    return 0;
}

/* ---- locking ---- */

static void sleep_ms(unsigned ms)
{
    struct timespec ts;

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * fcntl write lock on the whole file, polled with F_SETLK until the
 * deadline: F_SETLKW cannot be given a timeout without signals, and a
 * library must not take over SIGALRM.
 */
static int lock_fcntl(int fd, const char *path, uint64_t deadline,
                      struct mail_error *err)
{
    struct flock fl;

    for (;;) {
        memset(&fl, 0, sizeof fl);
        fl.l_type = F_WRLCK;
        fl.l_whence = SEEK_SET;
        if (fcntl(fd, SETLK, &fl) == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != EACCES && errno != EAGAIN)
            return mail_error_set(err, MAIL_ERR_IO, "%s: lock: %s", path,
                                  strerror(errno));
        if (now_ms() >= deadline)
            return mail_error_set(err, MAIL_ERR_TEMP,
                                  "%s: mbox is locked by another process",
                                  path);
        sleep_ms(50);
    }
}

/*
 * Is the dot-lock ours from a process that died (kill -9, a crash)?  Only
 * a lock holding the pid of a process that no longer exists counts; a
 * lock from another program (no pid, or a live one) waits for the
 * five-minute rule.  Pids are per host: a lock on a shared spool written
 * by another machine may name a pid that is free here, so only our own
 * format ("PID\n", written by lock_dot below) is trusted.
 */
static bool dotlock_owner_dead(const char *lock)
{
    char buf[32];
    ssize_t n;
    long pid;
    char *end;
    int fd = open(lock, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return false;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 1 || buf[n - 1] != '\n')
        return false;
    buf[n - 1] = '\0';
    pid = strtol(buf, &end, 10);
    if (*end || pid <= 1 || pid == (long)getpid())
        return false;
    return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/*
 * Create the dot-lock `lock` holding our pid: write it under a private
 * name and link() that to the lock name, which fails if the lock exists.
 * Returns 1 when we hold the lock, -1 with errno EEXIST (or another
 * error) when it could not be made, 0 when this directory has no hard
 * links (then the caller uses O_EXCL).
 */
static int dot_create(const char *lock)
{
    char tmp[4200], pid[32];
    int fd, l, e;

    l = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (l < 0 || snprintf(tmp, sizeof tmp, "%s.%ld", lock,
                          (long)getpid()) >= (int)sizeof tmp)
        return 0;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno == EACCES || errno == EPERM ? (errno = EACCES, -1) : 0;
    if (mail_write_all(fd, pid, (size_t)l) < 0) {
        close(fd);
        unlink(tmp);
        return 0;
    }
    close(fd);
    if (link(tmp, lock) == 0) {
        unlink(tmp);
        return 1;
    }
    e = errno;
    unlink(tmp);
    if (e == EPERM || e == ENOSYS || e == EOPNOTSUPP || e == EMLINK)
        return 0;
    errno = e;
    return -1;
}

/*
 * The dot-lock PATH.lock, made with O_EXCL.  A lock older than five
 * minutes is stale and removed.  Where the directory does not let us
 * create it (a mail spool without write permission for users), *lock
 * stays NULL and the fcntl lock alone protects us, as with most
 * clients that have no set-gid helper.
 */
static int lock_dot(const char *path, char **lock, uint64_t deadline,
                    struct mail_error *err)
{
    struct mail_buf b = MAIL_BUF_INIT;

    *lock = NULL;
    if (mail_buf_printf(&b, "%s.lock", path) < 0)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    for (;;) {
        int fd;
        struct stat st;

        /* The lock appears with its pid already in it (written to a
         * private name, then linked), so that a lock left by a killed
         * process can always be told stale. */
        switch (dot_create(b.data)) {
        case 1:
            *lock = mail_buf_detach(&b);
            return 0;
        case 0:
            break;              /* fall back to a plain O_EXCL file */
        default:
            goto exists;
        }
        fd = open(b.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0) {
            char pid[32];
            int l = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());

            if (l > 0)
                (void)mail_write_all(fd, pid, (size_t)l);
            close(fd);
            *lock = mail_buf_detach(&b);
            return 0;
        }
exists:
        if (errno == EACCES || errno == EPERM) {
            mail_buf_release(&b);
            return 0;
        }
        if (errno != EEXIST) {
            mail_error_set(err, MAIL_ERR_IO, "%s: %s", b.data,
                           strerror(errno));
            mail_buf_release(&b);
            return -1;
        }
        if ((stat(b.data, &st) == 0 &&
             time(NULL) - st.st_mtime > DOTLOCK_STALE) ||
            dotlock_owner_dead(b.data)) {
            unlink(b.data);
            continue;
        }
        if (now_ms() >= deadline) {
            mail_error_set(err, MAIL_ERR_TEMP,
                           "%s: mbox is locked by another process (%s "
                           "exists)", path, b.data);
            mail_buf_release(&b);
            return -1;
        }
        sleep_ms(50);
    }
}

static void unlock_dot(char *lock)
{
    if (lock)
        unlink(lock);
    free(lock);
}

/* Both locks on an open mbox; on failure neither is held. */
static int lock_both(int fd, const char *path, unsigned timeout_ms,
                     char **lock, struct mail_error *err)
{
    uint64_t deadline = now_ms() + timeout_ms;

    if (lock_fcntl(fd, path, deadline, err) < 0)
        return -1;
    if (lock_dot(path, lock, deadline, err) < 0) {
        struct flock fl;

        memset(&fl, 0, sizeof fl);
        fl.l_type = F_UNLCK;
        fl.l_whence = SEEK_SET;
        fcntl(fd, SETLK, &fl);
        return -1;
    }
    return 0;
}

int mail_mbox_truncate_after(const struct mail_paths *paths,
                             const char *path, uint64_t offset,
                             struct mail_error *err)
{
    char buf[65536], *lock = NULL;
    struct stat st;
    uint64_t pos;
    int fd, rc = 1;
    bool nl = false;
    struct flock fl;

    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 1 : mail_error_set(err, MAIL_ERR_IO,
                                                    "%s: %s", path,
                                                    strerror(errno));
    if (lock_both(fd, path, MAIL_FOLDER_LOCK_TIMEOUT_MS, &lock, err) < 0) {
        close(fd);
        return -1;
    }
    if (recover(paths, fd, path, err) < 0) {
        rc = -1;
        goto out;
    }
    if (fstat(fd, &st) < 0) {
        rc = mail_error_set(err, MAIL_ERR_IO, "%s: %s", path,
                            strerror(errno));
        goto out;
    }
    if ((uint64_t)st.st_size <= offset)
        goto out;               /* nothing was written */
    /* Another message after ours (a From_ line after a newline) means
     * someone delivered since: leave the file alone. */
    for (pos = offset + 1; rc == 1 && pos < (uint64_t)st.st_size;) {
        ssize_t n = pread(fd, buf, sizeof buf, (off_t)pos);

        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++) {
            if (nl && buf[i] == 'F' && (uint64_t)(pos + (uint64_t)i + 5) <=
                    (uint64_t)st.st_size) {
                char f[5];

                if (pread(fd, f, 5, (off_t)(pos + (uint64_t)i)) == 5 &&
                    memcmp(f, "From ", 5) == 0) {
                    rc = 0;
                    break;
                }
            }
            nl = buf[i] == '\n';
        }
        pos += (uint64_t)n;
    }
    if (rc == 1 && (ftruncate(fd, (off_t)offset) < 0 || fsync(fd) < 0))
        rc = mail_error_set(err, MAIL_ERR_IO, "%s: truncate: %s", path,
                            strerror(errno));
out:
    unlock_dot(lock);
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_UNLCK;
    fl.l_whence = SEEK_SET;
    fcntl(fd, SETLK, &fl);
    close(fd);
    return rc;
}

/* ---- append ---- */

static int out_flush(struct mbox_append *a, struct mail_error *err)
{
    if (a->outlen > 0 && mail_write_all(a->fd, a->out, a->outlen) < 0)
        return mail_error_set(err, MAIL_ERR_IO, "%s: write: %s",
                              a->base.folder->path, strerror(errno));
    a->outlen = 0;
    return 0;
}

static int out_add(struct mbox_append *a, const char *p, size_t n,
                   struct mail_error *err)
{
    while (n > 0) {
        size_t k = sizeof a->out - a->outlen;

        if (k == 0) {
            if (out_flush(a, err) < 0)
                return -1;
            continue;
        }
        if (k > n)
            k = n;
        memcpy(a->out + a->outlen, p, k);
        a->outlen += k;
        p += k;
        n -= k;
    }
    return 0;
}

/* Write message bytes with mboxrd quoting: a line matching /^>*From /
 * gets one more '>'.  The prefix of a line is held back (as counts) until
 * it is known whether it matches, so chunks may split lines anywhere. */
static int quote_write(struct mbox_append *a, const char *p, size_t n,
                       struct mail_error *err)
{
    static const char from[] = "From ";
    size_t i = 0;

    while (i < n) {
        size_t s;

        if (a->bol) {
            char c = p[i];

            if (c == '>' && a->fmatch == 0) {
                a->gt++;
                i++;
                continue;
            }
            if (c == from[a->fmatch]) {
                i++;
                if (++a->fmatch < 5)
                    continue;
                /* matched: one '>' more, then what was held */
                if (out_add(a, ">", 1, err) < 0)
                    return -1;
            }
            if (a->gt > 0) {
                a->last = '>';
                a->empty = false;
            }
            for (; a->gt > 0; a->gt--)
                if (out_add(a, ">", 1, err) < 0)
                    return -1;
            if (a->fmatch > 0) {
                if (out_add(a, from, a->fmatch, err) < 0)
                    return -1;
                a->last = from[a->fmatch - 1];
                a->empty = false;
            }
            a->fmatch = 0;
            a->bol = false;
            continue;
        }
        /* the rest of the line, in one copy */
        s = i;
        while (i < n && p[i] != '\n')
            i++;
        if (i < n)
            i++;   /* the newline */
        if (out_add(a, p + s, i - s, err) < 0)
            return -1;
        a->empty = false;
        a->last = p[i - 1];
        a->bol = a->last == '\n';
    }
    return 0;
}

/* Write a held line prefix (at the end of the message). */
static int quote_end(struct mbox_append *a, struct mail_error *err)
{
    if (!a->bol || (a->gt == 0 && a->fmatch == 0))
        return 0;
    a->last = a->fmatch ? "From "[a->fmatch - 1] : '>';
    for (; a->gt > 0; a->gt--)
        if (out_add(a, ">", 1, err) < 0)
            return -1;
    if (out_add(a, "From ", a->fmatch, err) < 0)
        return -1;
    a->fmatch = 0;
    a->empty = false;
    a->bol = false;
    return 0;
}

/* The envelope sender for the From_ line: Return-Path, else the first
 * From address, else MAILER-DAEMON (what mutt and Postfix write when
 * there is none); never with blanks, which would break the line. */
static void sender_of(const struct mail_header *h, char *buf, size_t size)
{
    const char *rp = mail_header_get(h, "return-path");
    struct mail_addrlist l = MAIL_ADDRLIST_INIT;
    const char *s = NULL;
    size_t n = 0, i;

    if (rp) {
        while (*rp == ' ' || *rp == '<')
            rp++;
        n = strcspn(rp, "> \t");
        s = rp;
    }
    if ((!s || n == 0) &&
        mail_addrlist_parse(&l, mail_header_get(h, "from"), NULL) == 0) {
        for (i = 0; i < l.n; i++)
            if (l.v[i].addr && *l.v[i].addr) {
                s = l.v[i].addr;
                n = strlen(s);
                break;
            }
    }
    for (i = 0; s && i < n; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] == 127)
            s = NULL;
    if (!s || n == 0 || n >= size) {
        s = "MAILER-DAEMON";
        n = strlen(s);
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    mail_addrlist_release(&l);
}

/* "Tue Nov  3 10:00:00 2026" in UTC: asctime(3) with C-locale names
 * (strftime would follow the program's locale). */
static void asctime_utc(time_t t, char *buf, size_t size)
{
    static const char days[][4] = { "Sun", "Mon", "Tue", "Wed", "Thu",
                                    "Fri", "Sat" };
    static const char months[][4] = { "Jan", "Feb", "Mar", "Apr", "May",
                                      "Jun", "Jul", "Aug", "Sep", "Oct",
                                      "Nov", "Dec" };
    struct tm tm;

    if (!gmtime_r(&t, &tm) || tm.tm_wday < 0 || tm.tm_wday > 6 ||
        tm.tm_mon < 0 || tm.tm_mon > 11) {
        t = 0;
        gmtime_r(&t, &tm);
    }
    snprintf(buf, size, "%s %s %2d %02d:%02d:%02d %d", days[tm.tm_wday],
             months[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             tm.tm_year + 1900);
}

static bool is_status_field(const char *p, size_t n)
{
    return (n >= 7 && mail_strncasecmp(p, "status:", 7) == 0) ||
           (n >= 9 && mail_strncasecmp(p, "x-status:", 9) == 0);
}

/* How write_head finds the header in hdr. */
enum head_mode {
    HEAD_COMPLETE,   /* hdr[0..hlen) ends with the empty line */
    HEAD_ALL,        /* the message ended: hdr is all header, no body */
    HEAD_OVERFLOW,   /* the bound was reached: write it as it is */
};

/* Append "Status: RO" and "X-Status: AF..." lines for flags to b. */
static size_t status_lines(char *b, size_t size, unsigned flags, bool crlf,
                           bool appended)
{
    const char *eol = crlf ? "\r\n" : "\n";
    char st[4], xs[8];
    size_t ns = 0, nx = 0;
    int l1 = 0, l2 = 0;

    if (flags & MAIL_FLAG_SEEN)
        st[ns++] = 'R';
    /* "O": a client has seen it arrive.  A fresh delivery (no flags at
     * all) is new mail. */
    if (!(flags & MAIL_FLAG_NEW) && (!appended || flags != 0))
        st[ns++] = 'O';
    if (flags & MAIL_FLAG_ANSWERED)
        xs[nx++] = 'A';
    if (flags & MAIL_FLAG_FLAGGED)
        xs[nx++] = 'F';
    if (flags & MAIL_FLAG_DRAFT)
        xs[nx++] = 'T';
    if (flags & MAIL_FLAG_DELETED)
        xs[nx++] = 'D';
    if (ns > 0)
        l1 = snprintf(b, size, "Status: %.*s%s", (int)ns, st, eol);
    if (nx > 0 && l1 >= 0)
        l2 = snprintf(b + l1, size - (size_t)l1, "X-Status: %.*s%s", (int)nx,
                      xs, eol);
    return l1 < 0 || l2 < 0 ? 0 : (size_t)l1 + (size_t)l2;
}

/*
 * The header is in hdr (up to hlen bytes; the rest of hdr is body): write
 * the padding, the From_ line, the header without any Status/X-Status
 * (the flags given to append are the truth) plus ours, and the body bytes
 * that came with it.
 */
static int write_head(struct mbox_append *a, size_t hlen,
                      enum head_mode mode, struct mail_error *err)
{
    struct mail_header h = MAIL_HEADER_INIT;
    char sender[256], date[64], line[600];
    const char *p = a->hdr.data ? a->hdr.data : "";
    size_t pos = 0, blank = hlen, l;
    bool skip = false, crlf = false;
    int n;

    a->header_done = true;
    if (mail_header_parse(&h, p, hlen, err) < 0)
        return -1;
    sender_of(&h, sender, sizeof sender);
    mail_header_release(&h);
    asctime_utc(a->received ? a->received : time(NULL), date, sizeof date);
    n = snprintf(line, sizeof line, "%sFrom %s %s\n", a->pad, sender, date);
    if (n < 0 || (size_t)n >= sizeof line)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "From_ line too long");
    if (out_add(a, line, (size_t)n, err) < 0)
        return -1;

    if (mode == HEAD_COMPLETE) {
        /* the empty line is the last line of hdr[0..hlen) */
        crlf = hlen >= 2 && p[hlen - 2] == '\r';
        blank = hlen - (crlf ? 2 : 1);
    }
    while (pos < blank) {
        const char *nl = memchr(p + pos, '\n', blank - pos);
        size_t k = nl ? (size_t)(nl - (p + pos)) + 1 : blank - pos;

        if (p[pos] != ' ' && p[pos] != '\t')
            skip = mode != HEAD_OVERFLOW && is_status_field(p + pos, k);
        if (!skip && quote_write(a, p + pos, k, err) < 0)
            return -1;
        pos += k;
    }
    if (mode != HEAD_OVERFLOW) {
        /* a last header line without its newline (a message that is
         * all header) gets one before our fields */
        if (!a->bol && quote_write(a, "\n", 1, err) < 0)
            return -1;
        l = status_lines(line, sizeof line, a->flags, crlf, true);
        if (l > 0 && quote_write(a, line, l, err) < 0)
            return -1;
    }
    /* the empty line and the body bytes that came with the header */
    if (quote_write(a, p + blank, a->hdr.len - blank, err) < 0)
        return -1;
    mail_buf_release(&a->hdr);
    return 0;
}

static void append_free(struct mbox_append *a)
{
    struct flock fl;

    if (a->fd >= 0) {
        memset(&fl, 0, sizeof fl);
        fl.l_type = F_UNLCK;
        fl.l_whence = SEEK_SET;
        fcntl(a->fd, SETLK, &fl);
        close(a->fd);
    }
    unlock_dot(a->lock);
    mail_buf_release(&a->hdr);
    free(a);
}

static struct mail_append *mbox_append_begin(struct mail_folder *f,
                                             unsigned flags, time_t received,
                                             struct mail_error *err)
{
    struct mbox_append *a = calloc(1, sizeof *a);
    struct stat st;
    char tail[2];
    ssize_t n;

    if (!a) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    a->base.folder = f;
    a->flags = flags;
    a->received = received;
    a->bol = true;
    a->empty = true;
    mail_buf_init(&a->hdr, MAIL_HEADER_MAX);
    a->fd = open(f->path, O_RDWR | O_CLOEXEC);
    if (a->fd < 0) {
        mail_error_set(err, errno == ENOENT ? MAIL_ERR_NOTFOUND : MAIL_ERR_IO,
                       "%s: %s", f->path, strerror(errno));
        goto fail;
    }
    if (lock_both(a->fd, f->path, f->lock_timeout_ms, &a->lock, err) < 0)
        goto fail;
    if (recover(f->paths, a->fd, f->path, err) < 0)
        goto fail;
    if (fstat(a->fd, &st) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "%s: %s", f->path, strerror(errno));
        goto fail;
    }
    a->old_size = st.st_size;
    /* The previous message must end with an empty line, or our From_
     * line would not be seen as one. */
    a->pad = "";
    if (st.st_size > 0) {
        do
            n = pread(a->fd, tail, 2, st.st_size >= 2 ? st.st_size - 2 : 0);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
            mail_error_set(err, MAIL_ERR_IO, "%s: read: %s", f->path,
                           strerror(errno));
            goto fail;
        }
        if (n == 2 && tail[0] == '\n' && tail[1] == '\n')
            a->pad = "";
        else if (n >= 1 && tail[n - 1] == '\n')
            a->pad = "\n";
        else
            a->pad = "\n\n";
    }
    a->from_offset = (uint64_t)st.st_size + strlen(a->pad);
    if (lseek(a->fd, 0, SEEK_END) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "%s: %s", f->path, strerror(errno));
        goto fail;
    }
    return &a->base;
fail:
    append_free(a);
    return NULL;
}

static int mbox_append_write(struct mail_append *base, const char *data,
                             size_t len, struct mail_error *err)
{
    struct mbox_append *a = (struct mbox_append *)base;
    size_t end;
    bool found;

    if (a->header_done)
        return quote_write(a, data, len, err);
    /* Hold the header (bounded) to find the sender for the From_ line
     * and to replace Status; past the bound it is written as it is. */
    if (mail_buf_add(&a->hdr, data, len) < 0) {
        size_t room = MAIL_HEADER_MAX - a->hdr.len;

        if (room > len || mail_buf_add(&a->hdr, data, room) < 0)
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        end = mail_header_end(a->hdr.data, a->hdr.len, &found);
        if (write_head(a, found ? end : a->hdr.len,
                       found ? HEAD_COMPLETE : HEAD_OVERFLOW, err) < 0)
            return -1;
        return quote_write(a, data + room, len - room, err);
    }
    /* Only a chunk with a newline can end the header.  The empty line may
     * straddle two writes, so the scan starts again at the last line start
     * of the held header, never at its beginning: a caller that writes a
     * line at a time (a message from a server, a fuzzer's small chunks)
     * made that O(header size x writes), minutes for a 1 MiB header. */
    if (!memchr(data, '\n', len))
        return 0;
    end = mail_header_end(a->hdr.data + a->hdr_scan,
                          a->hdr.len - a->hdr_scan, &found);
    if (found)
        return write_head(a, a->hdr_scan + end, HEAD_COMPLETE, err);
    {
        const char *nl = memrchr(a->hdr.data + a->hdr_scan, '\n',
                                 a->hdr.len - a->hdr_scan);

        if (nl)
            a->hdr_scan = (size_t)(nl - a->hdr.data) + 1;
    }
    return 0;
}

static void mbox_append_abort(struct mail_append *base)
{
    struct mbox_append *a = (struct mbox_append *)base;

    /* Nothing of ours must stay; the locks are still held. */
    if (a->fd >= 0 && ftruncate(a->fd, a->old_size) == 0)
        (void)fsync(a->fd);
    append_free(a);
}

static int mbox_append_commit(struct mail_append *base, char **key,
                              struct mail_error *err)
{
    struct mbox_append *a = (struct mbox_append *)base;
    struct mbox *mb = (struct mbox *)a->base.folder;
    struct stat st;
    bool was_known;

    if (!a->header_done && write_head(a, a->hdr.len, HEAD_ALL, err) < 0)
        goto fail;
    if (quote_end(a, err) < 0)
        goto fail;
    /* the message ends with a newline, then the empty separator line */
    if (!a->empty && a->last != '\n' && out_add(a, "\n", 1, err) < 0)
        goto fail;
    if (out_add(a, "\n", 1, err) < 0 || out_flush(a, err) < 0)
        goto fail;
    if (fsync(a->fd) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "%s: fsync: %s", mb->base.path,
                       strerror(errno));
        goto fail;
    }
    if (key) {
        char k[48];
        struct parse ps;
        uint64_t id = 0;

        /* the key a listing gives it: its offset and identity */
        memset(&ps, 0, sizeof ps);
        if (fstat(a->fd, &st) == 0 &&
            parse_range(&ps, a->fd, mb->base.path, a->from_offset,
                        (uint64_t)st.st_size, err) == 0 && ps.n == 1)
            id = ps.v[0].id;
        parse_release(&ps);
        if (id == 0) {
            mail_error_set(err, MAIL_ERR_IO, "%s: the message just "
                           "written cannot be read back", mb->base.path);
            goto fail;
        }
        snprintf(k, sizeof k, "%" PRIu64 ":%016" PRIx64, a->from_offset,
                 id);
        *key = strdup(k);
        if (!*key) {
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            goto fail;
        }
    }
    /* Our own append must not make a later sync think someone else
     * changed the file. */
    was_known = mb->listed && mb->known.st_ino != 0 &&
                a->old_size == mb->known.st_size;
    if (was_known && fstat(a->fd, &st) == 0 && st.st_ino == mb->known.st_ino)
        mb->known = st;
    append_free(a);
    return 0;
fail:
    if (key && *key) {
        free(*key);
        *key = NULL;
    }
    mbox_append_abort(base);
    return -1;
}

/* ---- sync: in place, with a backup of the tail ---- */

/*
 * The plan (the inode stays, as with mutt: a symlink to the mbox, an MDA
 * waiting for the fcntl lock on it and a root:mail /var/mail all keep
 * working):
 *  1. Under the fcntl lock and the dot-lock, recover an unfinished sync
 *     first (below), then check that the file is as it was listed.
 *  2. O = the From_ line of the first changed message, L0 = size - O (the
 *     old tail), L1 = the length of the new tail (a counting pass).
 *  3. Backup: "mail-mbox-sync 1 DEV INO O L0 L1\n" and the old tail,
 *     written to BACKUP.tmp, fsynced and renamed to BACKUP (beside the
 *     real file: DIR/.NAME.mail-sync; where that directory is not ours to
 *     write, $XDG_STATE_HOME/mail/mbox-sync-HASH), directory fsynced.
 *  4. When L1 > L0 the file is extended to O + L1 and fsynced, so that a
 *     crash leaves a known footprint [O, O + max(L0, L1)).
 *  5. The new tail is written at O, read from the backup (nothing is
 *     overwritten before it is read); ftruncate to O + L1; fsync.
 *  6. The backup is removed (and its directory fsynced): done.
 * Recovery, at open and after taking the locks for a sync, an append or a
 * fetch's truncation: a backup of this inode puts the old tail back at O
 * (the pending flag changes are lost, no mail is), keeping what someone
 * appended after the footprint, and is removed.
 */

#define BACKUP_MAGIC "mail-mbox-sync 1"

struct backup {
    uint64_t dev, ino, off, len0, len1;
    size_t hdr;             /* bytes of the header line */
};

/* Where the backup of the mbox at path lives: [0] beside the real file,
 * [1] in the state directory.  Both malloc'd. */
static int backup_paths(const struct mail_paths *paths, const char *path,
                        char *bp[2], struct mail_error *err)
{
    struct mail_buf a = MAIL_BUF_INIT, b = MAIL_BUF_INIT;
    const char *state = paths ? paths->state_home : NULL;
    char *real = realpath(path, NULL), *slash;
    uint64_t h;
    int bad;

    bp[0] = bp[1] = NULL;
    if (!real)
        real = strdup(path);
    if (!real)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    slash = strrchr(real, '/');
    h = hcache_hash(HCACHE_HASH_INIT, real, strlen(real));
    bad = slash ? mail_buf_printf(&a, "%.*s/.%s.mail-sync",
                                  (int)(slash - real), real, slash + 1)
                : mail_buf_printf(&a, ".%s.mail-sync", real);
    /* With no state directory known, the second place is the first. */
    if (state)
        bad |= mail_buf_printf(&b, "%s/mail/mbox-sync-%016" PRIx64, state,
                               h);
    else
        bad |= mail_buf_addstr(&b, a.data ? a.data : "");
    free(real);
    if (bad < 0) {
        mail_buf_release(&a);
        mail_buf_release(&b);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    bp[0] = mail_buf_detach(&a);
    bp[1] = mail_buf_detach(&b);
    return 0;
}

static int fsync_parent(const char *p, struct mail_error *err)
{
    const char *slash = strrchr(p, '/');
    char *dir = slash ? strndup(p, slash == p ? 1 : (size_t)(slash - p))
                      : strdup(".");
    int rc;

    if (!dir)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    rc = mail_fsync_dir(dir, err);
    free(dir);
    return rc;
}

static int pwrite_all(int fd, const char *p, size_t n, uint64_t at)
{
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)at);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
        at += (uint64_t)w;
    }
    return 0;
}

/* Copy len bytes from in at from to out at to (through buf, RBUF). */
static int copy_fd(int in, uint64_t from, int out, uint64_t to, uint64_t len,
                   char *buf, const char *path, struct mail_error *err)
{
    while (len > 0) {
        size_t want = len > RBUF ? RBUF : (size_t)len;
        ssize_t n = pread(in, buf, want, (off_t)from);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return mail_error_set(err, MAIL_ERR_IO, "%s: read: %s", path,
                                  n == 0 ? "file shrank" : strerror(errno));
        if (pwrite_all(out, buf, (size_t)n, to) < 0)
            return mail_error_set(err, MAIL_ERR_IO, "%s: write: %s", path,
                                  strerror(errno));
        from += (uint64_t)n;
        to += (uint64_t)n;
        len -= (uint64_t)n;
    }
    return 0;
}

static int backup_header(int bfd, struct backup *b)
{
    char buf[256], *nl;
    ssize_t n;

    do
        n = pread(bfd, buf, sizeof buf - 1, 0);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    nl = memchr(buf, '\n', (size_t)n);
    if (!nl)
        return -1;
    *nl = '\0';
    if (sscanf(buf, BACKUP_MAGIC " %" SCNu64 " %" SCNu64 " %" SCNu64
               " %" SCNu64 " %" SCNu64, &b->dev, &b->ino, &b->off, &b->len0,
               &b->len1) != 5)
        return -1;
    b->hdr = (size_t)(nl - buf) + 1;
    return 0;
}

/* The header cache may hold offsets of the file before a rewrite of the
 * same inode: forget it. */
static void cache_forget(const struct mail_paths *paths, const char *path)
{
    struct hcache c;
    uint64_t meta[HC_NNUM] = { 0 };

    hcache_open(&c, paths, path, MAIL_FOLDER_MBOX);
    hcache_save(&c, meta, NULL, 0);
    hcache_close(&c);
}

/* Do the bytes of fd at [at, at+len) equal those of bfd at bat? */
static int same_bytes(int fd, uint64_t at, int bfd, uint64_t bat,
                      uint64_t len, char *buf)
{
    char *b2 = buf + RBUF / 2;

    while (len > 0) {
        size_t want = len > RBUF / 2 ? RBUF / 2 : (size_t)len;

        if (pread(fd, buf, want, (off_t)at) != (ssize_t)want ||
            pread(bfd, b2, want, (off_t)bat) != (ssize_t)want)
            return 0;
        if (memcmp(buf, b2, want) != 0)
            return 0;
        at += want;
        bat += want;
        len -= want;
    }
    return 1;
}

/*
 * Put the old tail of an unfinished sync back (under both locks).  1 when
 * it did, 0 when the backup is another file's (left alone), -1 on error.
 */
static int restore(const struct mail_paths *paths, int fd, const char *path,
                   int bfd, const char *bpath,
                   struct mail_error *err)
{
    struct backup b;
    struct stat st, bst;
    uint64_t size, foot, end, extra;
    char *buf;
    int tmp = -1, rc = -1;

    if (fstat(fd, &st) < 0 || fstat(bfd, &bst) < 0)
        return mail_error_set(err, MAIL_ERR_IO, "%s: %s", path,
                              strerror(errno));
    if (backup_header(bfd, &b) < 0 ||
        (uint64_t)bst.st_size != b.hdr + b.len0)
        return mail_error_set(err, MAIL_ERR_DATA,
                              "%s: a damaged backup of an unfinished rewrite "
                              "of %s: look at it, then remove it", bpath,
                              path);
    if (b.dev != (uint64_t)st.st_dev || b.ino != (uint64_t)st.st_ino) {
        /* Of a file that another program has replaced since: it cannot
         * be put back, and must not be overwritten by our next backup or
         * make every open wait for the locks.  Kept aside for a human. */
        struct mail_buf o = MAIL_BUF_INIT;

        if (mail_buf_printf(&o, "%s.orphan-%" PRIu64, bpath, b.ino) < 0)
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        if (rename(bpath, o.data) < 0) {
            mail_error_set(err, MAIL_ERR_IO, "%s: %s", bpath,
                           strerror(errno));
            mail_buf_release(&o);
            return -1;
        }
        mail_buf_release(&o);
        return 0;
    }
    buf = malloc(RBUF);
    if (!buf)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    /* How far the rewrite reached: anything after that was appended by
     * someone else after the crash and is kept. */
    size = (uint64_t)st.st_size;
    end = b.off + (b.len0 > b.len1 ? b.len0 : b.len1);
    if (size >= end) {
        foot = end;
        /* cut to O + L1 and then appended to? the old bytes after the
         * new tail tell */
        if (b.len1 < b.len0 &&
            !same_bytes(fd, b.off + b.len1, bfd, b.hdr + b.len1,
                        b.len0 - b.len1, buf))
            foot = b.off + b.len1;
    } else if (size >= b.off + b.len1) {
        foot = b.off + b.len1;
    } else {
        foot = size;
    }
    extra = size > foot ? size - foot : 0;
    if (extra > 0 && foot != b.off + b.len0) {
        tmp = mail_tmpfile(mail_paths_tmp_dir(paths), err);
        if (tmp < 0 || copy_fd(fd, foot, tmp, 0, extra, buf, path, err) < 0)
            goto out;
    }
    if (copy_fd(bfd, b.hdr, fd, b.off, b.len0, buf, path, err) < 0 ||
        (tmp >= 0 && copy_fd(tmp, 0, fd, b.off + b.len0, extra, buf, path,
                             err) < 0))
        goto out;
    if (ftruncate(fd, (off_t)(b.off + b.len0 + extra)) < 0 || fsync(fd) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (unlink(bpath) < 0 && errno != ENOENT) {
        mail_error_set(err, MAIL_ERR_IO, "%s: %s", bpath, strerror(errno));
        goto out;
    }
    if (fsync_parent(bpath, err) < 0)
        goto out;
    cache_forget(paths, path);
    rc = 1;
out:
    if (tmp >= 0)
        close(tmp);
    free(buf);
    return rc;
}

/*
 * Recover an unfinished sync of the mbox open as fd (both locks held).
 * 1 when the file was changed back, 0 when there was nothing to do.
 */
static int recover(const struct mail_paths *paths, int fd, const char *path,
                   struct mail_error *err)
{
    char *bp[2];
    int rc = 0;

    if (backup_paths(paths, path, bp, err) < 0)
        return -1;
    for (int i = 0; i < 2 && rc >= 0; i++) {
        struct mail_buf t = MAIL_BUF_INIT;
        int bfd, r;

        /* a backup being written when we died: the file was untouched */
        if (mail_buf_printf(&t, "%s.tmp", bp[i]) == 0)
            (void)unlink(t.data);
        mail_buf_release(&t);
        bfd = open(bp[i], O_RDONLY | O_CLOEXEC);
        if (bfd < 0) {
            if (errno != ENOENT && errno != ENOTDIR && errno != EACCES)
                rc = mail_error_set(err, MAIL_ERR_IO, "%s: %s", bp[i],
                                    strerror(errno));
            continue;
        }
        r = restore(paths, fd, path, bfd, bp[i], err);
        close(bfd);
        if (r != 0)
            rc = r;
    }
    free(bp[0]);
    free(bp[1]);
    return rc;
}

/* Is there a backup of an unfinished sync, or one half written (cheap:
 * four stats)? */
static bool backup_exists(const struct mail_paths *paths, const char *path)
{
    char *bp[2];
    struct mail_error err;
    bool yes = false;

    if (backup_paths(paths, path, bp, &err) < 0)
        return false;
    for (int i = 0; i < 2 && !yes; i++) {
        struct mail_buf t = MAIL_BUF_INIT;

        yes = access(bp[i], F_OK) == 0 ||
              (mail_buf_printf(&t, "%s.tmp", bp[i]) == 0 &&
               access(t.data, F_OK) == 0);
        mail_buf_release(&t);
    }
    free(bp[0]);
    free(bp[1]);
    return yes;
}

/* At open: recover under the locks when a sync did not finish. */
static int recover_at_open(const struct mail_paths *paths, const char *path,
                           struct mail_error *err)
{
    char *lock = NULL;
    struct flock fl;
    int fd, rc;

    if (!backup_exists(paths, path))
        return 0;
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0 && (errno == EACCES || errno == EPERM || errno == EROFS))
        return 0;   /* not ours to mend: read it as it is */
    if (fd < 0)
        return mail_error_set(err, MAIL_ERR_IO, "%s: %s", path,
                              strerror(errno));
    if (lock_both(fd, path, MAIL_FOLDER_LOCK_TIMEOUT_MS, &lock, err) < 0) {
        close(fd);
        return -1;
    }
    rc = recover(paths, fd, path, err);
    unlock_dot(lock);
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_UNLCK;
    fl.l_whence = SEEK_SET;
    fcntl(fd, SETLK, &fl);
    close(fd);
    return rc < 0 ? -1 : 0;
}

/* Write the old tail to the backup; returns its fd (for reading) and
 * path, or -1. */
static int write_backup(const struct mail_paths *paths, int fd,
                        const char *path, const struct stat *st,
                        uint64_t off, uint64_t len0, uint64_t len1,
                        char *buf, char **bpath, size_t *hdrlen,
                        struct mail_error *err)
{
    struct mail_buf t = MAIL_BUF_INIT;
    char *bp[2], hdr[200];
    int bfd = -1, l, i;

    *bpath = NULL;
    if (backup_paths(paths, path, bp, err) < 0)
        return -1;
    l = snprintf(hdr, sizeof hdr, BACKUP_MAGIC " %" PRIu64 " %" PRIu64
                 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
                 (uint64_t)st->st_dev, (uint64_t)st->st_ino, off, len0, len1);
    for (i = 0; i < 2; i++) {
        mail_buf_reset(&t);
        if (mail_buf_printf(&t, "%s.tmp", bp[i]) < 0) {
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            goto fail;
        }
        if (i == 1 && mail_mkdir_parents(bp[1], err) < 0)
            goto fail;
        bfd = open(t.data, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (bfd >= 0)
            break;
        if (i == 0 && (errno == EACCES || errno == EPERM || errno == EROFS))
            continue;
        mail_error_set(err, MAIL_ERR_CANTCREAT, "%s: %s", t.data,
                       strerror(errno));
        goto fail;
    }
    if (l < 0 || pwrite_all(bfd, hdr, (size_t)l, 0) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "%s: write: %s", t.data,
                       strerror(errno));
        goto fail;
    }
    if (copy_fd(fd, off, bfd, (uint64_t)l, len0, buf, t.data, err) < 0)
        goto fail;
    if (fsync(bfd) < 0 || rename(t.data, bp[i]) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "%s: %s", t.data, strerror(errno));
        goto fail;
    }
    if (fsync_parent(bp[i], err) < 0) {
        unlink(bp[i]);
        goto fail;
    }
    *bpath = bp[i];
    bp[i] = NULL;
    *hdrlen = (size_t)l;
    free(bp[0]);
    free(bp[1]);
    mail_buf_release(&t);
    return bfd;
fail:
    if (bfd >= 0) {
        close(bfd);
        unlink(t.data);
    }
    free(bp[0]);
    free(bp[1]);
    mail_buf_release(&t);
    return -1;
}

/* Writes the new tail: reads the old bytes at file offset x from
 * in at x - base + inbase; writes at pos (counts only when out < 0). */
struct copier {
    int in, out;
    uint64_t base, inbase;
    uint64_t pos;           /* where obuf[0] goes */
    size_t olen;
    const char *path;
    char *buf, *obuf;
};

static int c_flush(struct copier *c, struct mail_error *err)
{
    if (c->out >= 0 && c->olen > 0 &&
        pwrite_all(c->out, c->obuf, c->olen, c->pos) < 0)
        return mail_error_set(err, MAIL_ERR_IO, "%s: write: %s", c->path,
                              strerror(errno));
    c->pos += c->olen;
    c->olen = 0;
    return 0;
}

static int c_put(struct copier *c, const char *p, size_t n,
                 struct mail_error *err)
{
    if (c->out < 0) {
        c->pos += n;
        return 0;
    }
    if (c->olen + n > RBUF && c_flush(c, err) < 0)
        return -1;
    if (n > RBUF) {
        if (pwrite_all(c->out, p, n, c->pos) < 0)
            return mail_error_set(err, MAIL_ERR_IO, "%s: write: %s",
                                  c->path, strerror(errno));
        c->pos += n;
        return 0;
    }
    memcpy(c->obuf + c->olen, p, n);
    c->olen += n;
    return 0;
}

static int copy_range(struct copier *c, uint64_t from, uint64_t to,
                      struct mail_error *err)
{
    while (from < to) {
        size_t want = to - from > RBUF ? RBUF : (size_t)(to - from);
        ssize_t n;

        if (c->out < 0) {
            /* counting: nothing to read */
            c->pos += want;
            from += want;
            continue;
        }
        n = pread(c->in, c->buf, want, (off_t)(from - c->base + c->inbase));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return mail_error_set(err, MAIL_ERR_IO, "%s: read: %s", c->path,
                                  n == 0 ? "file shrank"
                                         : strerror(errno));
        if (c_put(c, c->buf, (size_t)n, err) < 0)
            return -1;
        from += (uint64_t)n;
    }
    return 0;
}

/* Copy one message with its Status and X-Status replaced. */
static int copy_reflagged(struct copier *c, const struct mbox_msg *m,
                          struct mail_error *err)
{
    struct reader r;
    const char *p;
    size_t n;
    bool bol, skip = false, crlf = false;
    uint64_t at, body = m->end, d = c->inbase - c->base;
    char line[64];
    size_t l;
    int got;

    /* (file offset x is at x + d in c->in; d wraps, as unsigned does) */
    if (copy_range(c, m->offset, m->start, err) < 0 ||
        rd_init(&r, c->in, c->path, m->start + d, m->end + d, err) < 0)
        return -1;
    while ((got = rd_next(&r, &p, &n, &bol, &at, err)) > 0) {
        at -= d;
        if (bol && is_empty_line(p, n)) {
            body = at;
            crlf = n == 2;
            break;
        }
        if (bol && p[0] != ' ' && p[0] != '\t')
            skip = is_status_field(p, n);
        if (!skip && c_put(c, p, n, err) < 0) {
            rd_release(&r);
            return -1;
        }
        /* a header without an empty line that ends without a newline */
        if (at + n == m->end && p[n - 1] != '\n' && c_put(c, "\n", 1, err)) {
            rd_release(&r);
            return -1;
        }
    }
    rd_release(&r);
    if (got < 0)
        return -1;
    l = status_lines(line, sizeof line, m->want, crlf, false);
    if (l > 0 && c_put(c, line, l, err) < 0)
        return -1;
    return copy_range(c, body, m->raw_end, err);
}

/* The new tail from message k on (the file is size bytes). */
static int emit_tail(struct mbox *mb, size_t k, struct copier *c,
                     uint64_t size, struct mail_error *err)
{
    uint64_t pos = mb->v[k].offset;

    for (size_t i = k; i < mb->n; i++) {
        const struct mbox_msg *m = &mb->v[i];

        /* anything before a message that is not one (junk at the start) */
        if (m->offset > pos && copy_range(c, pos, m->offset, err) < 0)
            return -1;
        pos = m->raw_end;
        if (m->expunge)
            continue;
        if (m->want == m->flags) {
            if (copy_range(c, m->offset, m->raw_end, err) < 0)
                return -1;
        } else if (copy_reflagged(c, m, err) < 0) {
            return -1;
        }
    }
    /* what was appended since the listing, as it is */
    if (copy_range(c, pos, size, err) < 0)
        return -1;
    return c_flush(c, err);
}

/* Write the pending changes in place; see the plan above. */
static int mbox_sync(struct mail_folder *f, struct mail_error *err)
{
    struct mbox *mb = (struct mbox *)f;
    struct copier c;
    char *lock = NULL, *bpath = NULL;
    struct stat st;
    uint64_t off, len0, len1, size;
    size_t k, hdrlen = 0;
    int fd, bfd = -1, ret = -1, rc;

    if (!mb->dirty)
        return 0;
    memset(&c, 0, sizeof c);
    fd = open(f->path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return mail_error_set(err,
                              errno == ENOENT ? MAIL_ERR_NOTFOUND
                                              : MAIL_ERR_IO,
                              "%s: %s", f->path, strerror(errno));
    if (lock_both(fd, f->path, f->lock_timeout_ms, &lock, err) < 0) {
        close(fd);
        return -1;
    }
    rc = recover(f->paths, fd, f->path, err);
    if (rc < 0)
        goto out;
    if (fstat(fd, &st) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "%s: %s", f->path, strerror(errno));
        goto out;
    }
    /* New mail (or another program's changes) since we listed: writing
     * our picture of the file would lose them. */
    if (rc == 1 || st.st_ino != mb->known.st_ino ||
        st.st_size != mb->known.st_size ||
        st.st_mtim.tv_sec != mb->known.st_mtim.tv_sec ||
        st.st_mtim.tv_nsec != mb->known.st_mtim.tv_nsec) {
        mail_error_set(err, MAIL_ERR_TEMP,
                       "%s: changed by another program since it was read; "
                       "changes not written (list it again)", f->path);
        goto out;
    }
    for (k = 0; k < mb->n; k++)
        if (mb->v[k].expunge || mb->v[k].want != mb->v[k].flags)
            break;
    if (k == mb->n) {
        mb->dirty = false;
        ret = 0;
        goto out;
    }
    size = (uint64_t)st.st_size;
    off = mb->v[k].offset;
    len0 = size - off;
    c.buf = malloc(RBUF);
    c.obuf = malloc(RBUF);
    if (!c.buf || !c.obuf) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto out;
    }
    c.path = f->path;
    c.in = fd;
    c.out = -1;
    c.pos = 0;
    if (emit_tail(mb, k, &c, size, err) < 0)
        goto out;
    len1 = c.pos;
    bfd = write_backup(f->paths, fd, f->path, &st, off, len0, len1, c.buf, &bpath,
                       &hdrlen, err);
    if (bfd < 0)
        goto out;
    /* From here a failure puts the old tail back at once (or, after a
     * crash, the next open does). */
    if (len1 > len0 &&
        (ftruncate(fd, (off_t)(off + len1)) < 0 || fsync(fd) < 0)) {
        mail_error_set(err, MAIL_ERR_IO, "%s: %s", f->path, strerror(errno));
        goto undo;
    }
    c.in = bfd;
    c.base = off;
    c.inbase = hdrlen;
    c.out = fd;
    c.pos = off;
    c.olen = 0;
    if (emit_tail(mb, k, &c, size, err) < 0)
        goto undo;
    if (c.pos != off + len1) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "%s: the rewrite came out "
                       "at %" PRIu64 " bytes, not %" PRIu64, f->path,
                       c.pos - off, len1);
        goto undo;
    }
    if (ftruncate(fd, (off_t)(off + len1)) < 0 || fsync(fd) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "%s: %s", f->path, strerror(errno));
        goto undo;
    }
    /* The offsets are those of the old file now: the next use lists
     * again. */
    cache_forget(f->paths, f->path);
    free(mb->v);
    mb->v = NULL;
    mb->n = 0;
    mb->listed = false;
    mb->dirty = false;
    /* Durable: the backup goes. */
    if (unlink(bpath) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "%s: %s", bpath, strerror(errno));
        goto out;
    }
    if (fsync_parent(bpath, err) < 0)
        goto out;
    ret = 0;
    goto out;
undo:
    {
        struct mail_error e2;

        (void)restore(f->paths, fd, f->path, bfd, bpath, &e2);
    }
out:
    if (bfd >= 0)
        close(bfd);
    free(bpath);
    free(c.buf);
    free(c.obuf);
    unlock_dot(lock);
    close(fd);   /* and with it the fcntl lock */
    return ret;
}

static void mbox_close(struct mail_folder *f)
{
    struct mbox *mb = (struct mbox *)f;

    free(mb->v);
    hcache_leases_release(&mb->leases);
    free(f->path);
    free(mb);
}

static const struct mail_folder_driver mbox_driver = {
    .name = "mbox",
    .list = mbox_list,
    .fetch = mbox_fetch,
    .message_fd = mbox_message_fd,
    .set_flags = mbox_set_flags,
    .expunge = mbox_expunge,
    .append_begin = mbox_append_begin,
    .sync = mbox_sync,
    .close = mbox_close,
    .append_write = mbox_append_write,
    .append_commit = mbox_append_commit,
    .append_abort = mbox_append_abort,
    .move = NULL,
};
