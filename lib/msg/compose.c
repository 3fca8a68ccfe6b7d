/*
 * compose.c - writing messages for submission; see mail/compose.h.
 *
 * Everything streams from file descriptors (pread, so the callers' file
 * positions do not matter) into a sink.  Only header blocks are held in
 * memory, bounded by MAIL_HEADER_MAX.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mail/charset.h"
#include "mail/codec.h"
#include "mail/compose.h"
#include "mail/termsafe.h"
#include "mail/date.h"
#include "mail/header.h"
#include "mail/mimetypes.h"
#include "mail/rfc2047.h"
#include "mail/rfc2231.h"

#define FOLD_WIDTH 78
#define SMTP_LINE_MAX 998      /* RFC 5321 4.5.3.1.6, without the CRLF */
#define CHUNK 65536

/* ---- small helpers ---- */

struct out {
    mail_sink_fn sink;
    void *ctx;
};

/* Write to the sink; a failure is the sink's, err as it set it. */
static int put(const struct out *o, const char *s, size_t n,
               struct mail_error *err)
{
    if (n && o->sink(o->ctx, s, n, err) < 0)
        return -1;
    return 0;
}

static int puts_(const struct out *o, const char *s, struct mail_error *err)
{
    return put(o, s, strlen(s), err);
}

static int oom(struct mail_error *err)
{
    return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
}

int mail_compose_check_value(const char *what, const char *s, size_t len,
                             struct mail_error *err)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
            return mail_error_set(err, MAIL_ERR_USAGE,
                                  "%s contains a line break or NUL: refused "
                                  "(it would start a new header field)",
                                  what);
    return 0;
}

int mail_compose_parse_addrs(struct mail_addrlist *l, const char *arg,
                             struct mail_error *err)
{
    if (mail_compose_check_value("an address", arg, strlen(arg), err) < 0)
        return -1;
    /* What the forgiving parser would repair (blanks, ESMTP parameters,
     * stray brackets) is refused, never guessed at. */
    if (mail_address_check(arg, false, err) < 0)
        return -1;
    if (mail_addrlist_parse(l, arg, err) < 0)
        return -1;
    if (l->n == 0)
        return mail_error_set(err, MAIL_ERR_USAGE, "no address in '%.200s'",
                              arg);
    for (size_t i = 0; i < l->n; i++) {
        const char *a = l->v[i].addr;

        if (!*a)
            return mail_error_set(err, MAIL_ERR_USAGE,
                                  "no address in '%.200s'", arg);
        if (mail_compose_check_value("an address", a, strlen(a), err) < 0)
            return -1;
    }
    return 0;
}

const char *mail_compose_domain(const char *addr)
{
    const char *at = addr ? strrchr(addr, '@') : NULL;

    return at && at[1] ? at + 1 : NULL;
}

/* A domain fit for the right of a Message-ID (dot-atom of letters,
 * digits, '-' and '_'), and not a name of this machine's loopback. */
static bool id_domain_ok(const char *d)
{
    if (!d || !*d || *d == '.' || d[strlen(d) - 1] == '.' ||
        mail_strcasecmp(d, "localhost") == 0 ||
        mail_strncasecmp(d, "localhost.", 10) == 0)
        return false;
    for (; *d; d++)
        if (!((*d >= 'a' && *d <= 'z') || (*d >= 'A' && *d <= 'Z') ||
              (*d >= '0' && *d <= '9') || *d == '-' || *d == '_' ||
              (*d == '.' && d[1] != '.')))
            return false;
    return true;
}

int mail_compose_host_domain(char *dst, size_t size)
{
    char host[256];
    struct addrinfo hints, *ai = NULL;

    if (gethostname(host, sizeof host) < 0)
        host[0] = '\0';
    host[sizeof host - 1] = '\0';
    if (id_domain_ok(host) && !strchr(host, '.')) {
        /* Qualified if the resolver knows better (/etc/hosts, DNS). */
        memset(&hints, 0, sizeof hints);
        hints.ai_family = AF_UNSPEC;
        hints.ai_flags = AI_CANONNAME;
        if (getaddrinfo(host, NULL, &hints, &ai) == 0 && ai &&
            ai->ai_canonname && strchr(ai->ai_canonname, '.') &&
            id_domain_ok(ai->ai_canonname))
            mail_strlcpy(host, ai->ai_canonname, sizeof host);
        if (ai)
            freeaddrinfo(ai);
    }
    /* A machine called localhost: a reserved name, still not "localhost"
     * (RFC 2606 .invalid). */
    if (!id_domain_ok(host))
        mail_strlcpy(host, "localhost.invalid", sizeof host);
    return mail_strlcpy(dst, host, size) < size ? 0 : -1;
}

/* A new Message-ID at the From address's domain, else at id_domain (the
 * account's `domain`), else at this host's name. */
static int add_message_id(struct mail_buf *out, const char *from_addr,
                          const char *id_domain)
{
    const char *d = mail_compose_domain(from_addr);
    char host[256];

    if (!d)
        d = id_domain_ok(id_domain) ? id_domain : NULL;
    if (!d) {
        if (mail_compose_host_domain(host, sizeof host) < 0)
            mail_strlcpy(host, "localhost.invalid", sizeof host);
        d = host;
    }
    return mail_compose_message_id(out, d);
}

int mail_compose_message_id(struct mail_buf *out, const char *domain)
{
    unsigned char r[12];
    struct timespec ts;
    size_t got = 0;

    while (got < sizeof r) {
        ssize_t n = getrandom(r + got, sizeof r - got, 0);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            /* No entropy source: time and pid still make it unique. */
            memset(r + got, 0, sizeof r - got);
            break;
        }
        got += (size_t)n;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    if (mail_buf_printf(out, "<%lld.%ld.%ld.", (long long)ts.tv_sec,
                        ts.tv_nsec / 1000, (long)getpid()) < 0)
        return -1;
    for (size_t i = 0; i < sizeof r; i++)
        if (mail_buf_printf(out, "%02x", r[i]) < 0)
            return -1;
    return mail_buf_printf(out, "@%s>", domain);
}

int mail_compose_fold(struct mail_buf *out, const char *name,
                      const char *value)
{
    size_t col, i = 0, len = strlen(value);

    if (mail_buf_printf(out, "%s:", name) < 0)
        return -1;
    col = strlen(name) + 1;
    if (len && mail_buf_addch(out, ' ') < 0)
        return -1;
    col += len > 0;
    while (i < len) {
        /* The next word: blanks before it, then up to the next blank. */
        size_t j = i, k;

        while (j < len && (value[j] == ' ' || value[j] == '\t'))
            j++;
        k = j;
        while (k < len && value[k] != ' ' && value[k] != '\t')
            k++;
        if (i > 0 && j > i && col + (k - i) > FOLD_WIDTH) {
            /* Fold before the blank: the blank stays, after the break. */
            if (mail_buf_addch(out, '\n') < 0)
                return -1;
            col = 0;
        }
        if (mail_buf_add(out, value + i, k - i) < 0)
            return -1;
        col += k - i;
        i = k;
    }
    return mail_buf_addch(out, '\n');
}

/* ---- reading files ---- */

struct scan;
static void scan_push(struct scan *s, const char *data, size_t n);
static void scan_finish(struct scan *s);

struct reader {
    int fd;
    off_t off;
    size_t len, pos;
    char buf[CHUNK];
};

static void rd_init(struct reader *r, int fd, off_t off)
{
    r->fd = fd;
    r->off = off;
    r->len = r->pos = 0;
}

/* Readers are 64 KiB: on the heap, not the stack. */
static struct reader *rd_new(int fd, off_t off, struct mail_error *err)
{
    struct reader *r = malloc(sizeof *r);

    if (!r) {
        oom(err);
        return NULL;
    }
    rd_init(r, fd, off);
    return r;
}

/* Refill; returns bytes available (0 at end), -1 with err. */
static ssize_t rd_fill(struct reader *r, struct mail_error *err)
{
    ssize_t n;

    if (r->pos < r->len)
        return (ssize_t)(r->len - r->pos);
    do
        n = pread(r->fd, r->buf, sizeof r->buf, r->off);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return mail_error_set(err, MAIL_ERR_IO, "reading the message: %s",
                              strerror(errno));
    r->off += n;
    r->len = (size_t)n;
    r->pos = 0;
    return n;
}

/* Copy fd from offset to end into the output. */
static int copy_rest(const struct out *o, int fd, off_t off,
                     struct mail_error *err)
{
    struct reader *r = rd_new(fd, off, err);
    ssize_t n;

    if (!r)
        return -1;
    while ((n = rd_fill(r, err)) > 0) {
        if (put(o, r->buf + r->pos, (size_t)n, err) < 0) {
            n = -1;
            break;
        }
        r->pos = r->len;
    }
    free(r);
    return n < 0 ? -1 : 0;
}

/* Scan fd from off to its end with s. */
static int scan_fd(struct scan *s, int fd, off_t off, struct mail_error *err)
{
    struct reader *r = rd_new(fd, off, err);
    ssize_t n;

    if (!r)
        return -1;
    while ((n = rd_fill(r, err)) > 0) {
        scan_push(s, r->buf + r->pos, (size_t)n);
        r->pos = r->len;
    }
    free(r);
    scan_finish(s);
    return n < 0 ? -1 : 0;
}

/* ---- scanning ---- */

struct scan {
    struct mail_message_info *info;
    bool in_header;       /* still in the header (scan of a message) */
    bool bol;             /* at the beginning of a line */
    bool line_empty;      /* the current line has no bytes yet but CR */
    bool cr;              /* the previous byte was CR */
    bool utf8_ok;         /* every 8-bit sequence so far was UTF-8 */
    bool ends_nl;
    size_t col;
    unsigned char carry[4];   /* an incomplete UTF-8 sequence */
    size_t ncarry;
    bool eight, binary;
};

static void scan_init(struct scan *s, struct mail_message_info *info,
                      bool message)
{
    memset(s, 0, sizeof *s);
    memset(info, 0, sizeof *info);
    s->info = info;
    s->in_header = message;
    s->bol = true;
    s->line_empty = true;
    s->utf8_ok = true;
}

/* UTF-8 validity across chunk boundaries: a sequence cut at the end of
 * one chunk is finished with the next.  Once invalid, always invalid. */
static void scan_utf8(struct scan *s, const unsigned char *p, size_t n)
{
    const char *c = (const char *)p;
    size_t i = 0, used;
    int r;

    if (!s->utf8_ok)
        return;
    while (s->ncarry && i < n) {
        s->carry[s->ncarry++] = p[i++];
        r = mail_utf8_check((const char *)s->carry, s->ncarry, NULL, &used);
        if (r == MAIL_UTF8_INVALID) {
            s->utf8_ok = false;
            return;
        }
        if (r == MAIL_UTF8_VALID)
            s->ncarry = 0;
    }
    while (i < n) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        r = mail_utf8_check(c + i, n - i, NULL, &used);
        if (r == MAIL_UTF8_INVALID) {
            s->utf8_ok = false;
            return;
        }
        if (r == MAIL_UTF8_INCOMPLETE) {
            memcpy(s->carry, p + i, n - i);
            s->ncarry = n - i;
            return;
        }
        i += used;
    }
}

static void scan_push(struct scan *s, const char *data, size_t n)
{
    struct mail_message_info *in = s->info;
    const unsigned char *p = (const unsigned char *)data;

    in->size += n;
    scan_utf8(s, p, n);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];

        if (c == '\n') {
            if (!s->cr)
                in->wire_size++;
            if (s->in_header && s->line_empty) {
                s->in_header = false;
                in->has_header = true;
            }
            s->bol = s->line_empty = true;
            s->col = 0;
            s->cr = false;
            continue;
        }
        if (s->cr && !s->in_header)
            in->body_binary = true;     /* a bare CR */
        s->cr = c == '\r';
        if (!s->cr)
            s->line_empty = false;
        s->bol = false;
        if (++s->col > SMTP_LINE_MAX + (s->cr ? 1 : 0))
            in->long_lines = true;
        if (c >= 0x80) {
            if (s->in_header)
                in->header_8bit = true;
            else
                in->body_8bit = true;
        } else if (c == 0 && !s->in_header) {
            in->body_binary = true;
        }
    }
    in->wire_size += n;
    if (n)
        s->ends_nl = p[n - 1] == '\n';
}

static void scan_finish(struct scan *s)
{
    if (s->ncarry)
        s->utf8_ok = false;
    if (s->cr && !s->in_header)
        s->info->body_binary = true;
}

int mail_message_scan(int fd, off_t offset, struct mail_message_info *info,
                      struct mail_error *err)
{
    struct scan s;

    scan_init(&s, info, true);
    return scan_fd(&s, fd, offset, err);
}

/* ---- the composer ---- */

static int add_addr_field(struct mail_buf *h, const char *name,
                          const char *const *v, size_t n,
                          struct mail_error *err)
{
    struct mail_buf val = MAIL_BUF_INIT;
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++) {
        struct mail_addrlist l = MAIL_ADDRLIST_INIT;

        if (mail_compose_parse_addrs(&l, v[i], err) < 0)
            rc = -1;
        else if ((val.len && mail_buf_addstr(&val, ", ") < 0) ||
                 mail_addrlist_format(&val, &l) < 0)
            rc = oom(err);
        mail_addrlist_release(&l);
    }
    if (rc == 0 && val.len && mail_compose_fold(h, name, val.data) < 0)
        rc = oom(err);
    mail_buf_release(&val);
    return rc;
}

static void random_hex(char *buf, size_t nbytes)
{
    unsigned char r[32];
    static const char hex[] = "0123456789abcdef";

    if (nbytes > sizeof r)
        nbytes = sizeof r;
    if (getrandom(r, nbytes, 0) != (ssize_t)nbytes) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        for (size_t i = 0; i < nbytes; i++)
            r[i] = (unsigned char)((ts.tv_nsec >> (i % 4 * 8)) ^ getpid() ^ i);
    }
    for (size_t i = 0; i < nbytes; i++) {
        buf[2 * i] = hex[r[i] >> 4];
        buf[2 * i + 1] = hex[r[i] & 15];
    }
    buf[2 * nbytes] = '\0';
}

static int enc_out(void *ctx, const char *data, size_t len,
                   struct mail_error *err)
{
    const struct out *o = ctx;

    return o->sink(o->ctx, data, len, err);
}

/* Encode fd from offset 0 with cte to the output. */
static int encode_fd(const struct out *o, int fd, enum mail_cte cte,
                     struct mail_error *err)
{
    struct reader *r = rd_new(fd, 0, err);
    struct mail_encoder e;
    ssize_t n;

    if (!r)
        return -1;
    mail_encoder_init(&e, cte, cte == MAIL_CTE_QP ? MAIL_ENC_QP_SAFE : 0,
                      enc_out, (void *)o);
    while ((n = rd_fill(r, err)) > 0) {
        if (mail_encoder_push(&e, r->buf + r->pos, (size_t)n, err) < 0) {
            free(r);
            return -1;      /* the sink's error */
        }
        r->pos = r->len;
    }
    free(r);
    if (n < 0)
        return -1;
    return mail_encoder_finish(&e, err);
}

/* The text part: headers and body. */
static int write_text_part(const struct out *o, int fd,
                           struct mail_error *err)
{
    struct mail_message_info info;
    struct scan s;
    bool ascii_ok;

    memset(&info, 0, sizeof info);
    scan_init(&s, &info, false);
    if (fd >= 0 && scan_fd(&s, fd, 0, err) < 0)
        return -1;
    ascii_ok = !info.body_8bit && !info.body_binary && !info.long_lines;
    if (puts_(o, "Content-Type: text/plain; charset=", err) < 0 ||
        puts_(o, s.utf8_ok && !info.body_binary ? "utf-8" : "unknown-8bit",
              err) < 0 ||
        puts_(o, ascii_ok ? "\nContent-Transfer-Encoding: 7bit\n\n"
                          : "\nContent-Transfer-Encoding: quoted-printable"
                            "\n\n", err) < 0)
        return -1;
    if (fd < 0 || info.size == 0)
        return 0;
    if (ascii_ok) {
        if (copy_rest(o, fd, 0, err) < 0)
            return -1;
        return s.ends_nl ? 0 : puts_(o, "\n", err);
    }
    return encode_fd(o, fd, MAIL_CTE_QP, err);
}

static int write_attachment(const struct out *o, const char *path,
                            const char *mime_types, struct mail_error *err)
{
    const char *base = strrchr(path, '/');
    struct mail_buf h = MAIL_BUF_INIT, name = MAIL_BUF_INIT;
    char type[128];
    struct stat st;
    int fd, rc = -1;

    base = base && base[1] ? base + 1 : path;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mail_error_set(err, errno == ENOENT ? MAIL_ERR_NOTFOUND
                                                   : MAIL_ERR_IO,
                              "%.300s: %s", path, strerror(errno));
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        mail_error_set(err, MAIL_ERR_IO, "%.300s: not a regular file", path);
        goto done;
    }
    mail_mimetype_lookup(base, mime_types, type, sizeof type);
    if (mail_strncasecmp(type, "text/", 5) == 0 && !strchr(type, ';')) {
        /* A text attachment says its charset, or a reader takes it for
         * us-ascii; text that is not UTF-8 (or has NULs) goes as bytes. */
        struct mail_message_info info;
        struct scan s;
        size_t tl = strlen(type);

        memset(&info, 0, sizeof info);
        scan_init(&s, &info, false);
        if (scan_fd(&s, fd, 0, err) < 0)
            goto done;
        if (info.body_binary || (info.body_8bit && !s.utf8_ok))
            mail_strlcpy(type, "application/octet-stream", sizeof type);
        else if (mail_snprintf(type + tl, sizeof type - tl, "; charset=%s",
                               info.body_8bit ? "utf-8" : "us-ascii") < 0)
            mail_strlcpy(type, "application/octet-stream", sizeof type);
    }
    /* The name as UTF-8 (file names are bytes; Latin-1 ones are read as
     * windows-1252), without control characters. */
    if (mail_utf8_sanitize(&name, base, strlen(base)) < 0)
        goto nomem;
    for (size_t i = 0; i < name.len; i++)
        if ((unsigned char)name.data[i] < 0x20 || name.data[i] == 0x7f)
            name.data[i] = '_';
    if (mail_buf_printf(&h, "%s", type) < 0 ||
        mail_rfc2231_encode(&h, "name", name.data) < 0)
        goto nomem;
    {
        struct mail_buf f = MAIL_BUF_INIT;
        int r = mail_compose_fold(&f, "Content-Type", h.data);

        mail_buf_reset(&h);
        if (r == 0)
            r = mail_buf_addstr(&h, "attachment");
        if (r == 0)
            r = mail_rfc2231_encode(&h, "filename", name.data);
        if (r == 0)
            r = mail_compose_fold(&f, "Content-Disposition", h.data);
        if (r == 0)
            r = mail_buf_addstr(&f, "Content-Transfer-Encoding: base64\n\n");
        if (r < 0) {
            mail_buf_release(&f);
            goto nomem;
        }
        r = put(o, f.data, f.len, err);
        mail_buf_release(&f);
        if (r < 0)
            goto done;
    }
    if (encode_fd(o, fd, MAIL_CTE_BASE64, err) < 0) {
        if (err && err->kind == MAIL_ERR_IO && strstr(err->msg, "reading"))
            mail_error_prefix(err, "%.300s", path);
        goto done;
    }
    rc = 0;
    goto done;
nomem:
    oom(err);
done:
    mail_buf_release(&h);
    mail_buf_release(&name);
    close(fd);
    return rc;
}

/*
 * An extra header (--header) may not be one the composer writes or one
 * that changes who gets the message or how it is read: Bcc would be
 * written into the message and never given a RCPT, a second From or
 * Content-Type makes the message ambiguous.  The name must be printable
 * ASCII without blanks (RFC 5322 ftext).
 */
static int check_extra_header(const char *h, size_t namelen,
                              struct mail_error *err)
{
    static const char *const refused[] = {
        "from", "to", "cc", "bcc", "resent-bcc", "subject", "date",
        "message-id", "mime-version",
    };
    char name[80];

    for (size_t i = 0; i < namelen; i++)
        if ((unsigned char)h[i] <= 32 || (unsigned char)h[i] >= 127)
            return mail_error_set(err, MAIL_ERR_USAGE, "bad header field "
                                  "name in '%.100s' (printable ASCII, no "
                                  "blanks)", h);
    if (namelen >= sizeof name)
        return mail_error_set(err, MAIL_ERR_USAGE, "header field name too "
                              "long in '%.100s'", h);
    memcpy(name, h, namelen);
    name[namelen] = '\0';
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (mail_strcasecmp(name, refused[i]) == 0)
            return mail_error_set(err, MAIL_ERR_USAGE, "a %s header cannot "
                                  "be given with --header (use the option "
                                  "for it)", name);
    if (mail_strncasecmp(name, "content-", 8) == 0)
        return mail_error_set(err, MAIL_ERR_USAGE, "a %s header cannot be "
                              "given with --header (the MIME structure is "
                              "the composer's)", name);
    return 0;
}

int mail_compose_write(const struct mail_compose *c, mail_sink_fn sink,
                       void *ctx, struct mail_error *err)
{
    struct out o = { sink, ctx };
    struct mail_buf h = MAIL_BUF_INIT, v = MAIL_BUF_INIT;
    struct mail_addrlist from = MAIL_ADDRLIST_INIT;
    char date[MAIL_DATE_MAX], boundary[64];
    time_t now = c->date ? c->date : time(NULL);
    int rc = -1;

    /* Check every value before writing anything. */
    if (!c->from || !*c->from) {
        mail_error_set(err, MAIL_ERR_USAGE, "no sender address (give -f or "
                       "set address in the account)");
        goto done;
    }
    if (mail_compose_parse_addrs(&from, c->from, err) < 0)
        goto done;
    if (c->subject && mail_compose_check_value("the subject", c->subject,
                                               strlen(c->subject), err) < 0)
        goto done;
    for (size_t i = 0; i < c->nheaders; i++) {
        const char *colon = strchr(c->headers[i], ':');

        if (mail_compose_check_value("a header", c->headers[i],
                                     strlen(c->headers[i]), err) < 0)
            goto done;
        if (!colon || colon == c->headers[i]) {
            mail_error_set(err, MAIL_ERR_USAGE, "bad header '%.100s' (want "
                           "Name: value)", c->headers[i]);
            goto done;
        }
        if (check_extra_header(c->headers[i], (size_t)(colon - c->headers[i]),
                               err) < 0)
            goto done;
    }
    for (size_t i = 0; i < c->nattach; i++)
        if (access(c->attach[i], R_OK) < 0) {
            mail_error_set(err, errno == ENOENT ? MAIL_ERR_NOTFOUND
                                                : MAIL_ERR_IO,
                           "%.300s: %s", c->attach[i], strerror(errno));
            goto done;
        }

    if (mail_date_format_rfc5322(date, sizeof date, now,
                                 mail_date_local_offset(now)) < 0) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "cannot format the date");
        goto done;
    }
    if (mail_buf_printf(&h, "Date: %s\n", date) < 0 ||
        mail_addrlist_format(&v, &from) < 0 ||
        mail_compose_fold(&h, "From", v.data) < 0)
        goto nomem;
    if (add_addr_field(&h, "To", c->to, c->nto, err) < 0 ||
        add_addr_field(&h, "Cc", c->cc, c->ncc, err) < 0)
        goto done;
    if (c->subject) {
        mail_buf_reset(&v);
        if (mail_rfc2047_encode(&v, c->subject, strlen(c->subject),
                                MAIL_RFC2047_TEXT) < 0 ||
            mail_compose_fold(&h, "Subject", v.data ? v.data : "") < 0)
            goto nomem;
    }
    mail_buf_reset(&v);
    if (c->message_id) {
        if (mail_compose_check_value("the Message-ID", c->message_id,
                                     strlen(c->message_id), err) < 0)
            goto done;
        if (mail_buf_addstr(&v, c->message_id) < 0)
            goto nomem;
    } else if (add_message_id(&v, from.v[0].addr, c->id_domain) < 0) {
        goto nomem;
    }
    if (mail_buf_printf(&h, "Message-ID: %s\n", v.data) < 0)
        goto nomem;
    for (size_t i = 0; i < c->nheaders; i++) {
        const char *colon = strchr(c->headers[i], ':');
        char name[128];
        const char *val = colon + 1;

        while (*val == ' ' || *val == '\t')
            val++;
        if ((size_t)(colon - c->headers[i]) >= sizeof name)
            continue;
        memcpy(name, c->headers[i], (size_t)(colon - c->headers[i]));
        name[colon - c->headers[i]] = '\0';
        mail_buf_reset(&v);
        if (mail_rfc2047_encode(&v, val, strlen(val), MAIL_RFC2047_TEXT) < 0 ||
            mail_compose_fold(&h, name, v.data ? v.data : "") < 0)
            goto nomem;
    }
    if (mail_buf_addstr(&h, "MIME-Version: 1.0\n") < 0)
        goto nomem;

    if (c->nattach == 0) {
        if (put(&o, h.data, h.len, err) < 0 ||
            write_text_part(&o, c->body_fd, err) < 0)
            goto done;
        rc = 0;
        goto done;
    }

    /* "=_" cannot occur in quoted-printable or base64 text. */
    mail_strlcpy(boundary, "=_mail_", sizeof boundary);
    random_hex(boundary + 7, 16);
    if (mail_buf_printf(&h, "Content-Type: multipart/mixed;\n "
                        "boundary=\"%s\"\n\nThis is a message in MIME "
                        "format.\n", boundary) < 0)
        goto nomem;
    if (put(&o, h.data, h.len, err) < 0)
        goto done;
    if (c->body_fd >= 0) {
        struct stat st;

        if (fstat(c->body_fd, &st) == 0 && st.st_size > 0) {
            if (puts_(&o, "\n--", err) < 0 || puts_(&o, boundary, err) < 0 ||
                puts_(&o, "\n", err) < 0 ||
                write_text_part(&o, c->body_fd, err) < 0)
                goto done;
        }
    }
    for (size_t i = 0; i < c->nattach; i++) {
        if (puts_(&o, "\n--", err) < 0 || puts_(&o, boundary, err) < 0 ||
            puts_(&o, "\n", err) < 0 ||
            write_attachment(&o, c->attach[i], c->mime_types, err) < 0)
            goto done;
    }
    if (puts_(&o, "\n--", err) < 0 || puts_(&o, boundary, err) < 0 ||
        puts_(&o, "--\n", err) < 0)
        goto done;
    rc = 0;
    goto done;
nomem:
    oom(err);
done:
    mail_addrlist_release(&from);
    mail_buf_release(&h);
    mail_buf_release(&v);
    return rc;
}

/* ---- header blocks ---- */

/* Read the header block of the message at fd/offset into hdr (bounded),
 * up to and including the empty line.  *complete: an empty line was
 * found.  The body starts at offset + hdr->len. */
static int read_header_block(int fd, off_t offset, struct mail_buf *hdr,
                             bool *complete, struct mail_error *err)
{
    char buf[8192];

    *complete = false;
    for (;;) {
        ssize_t n;
        size_t end;
        bool found;

        do
            n = pread(fd, buf, sizeof buf, offset + (off_t)hdr->len);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            return mail_error_set(err, MAIL_ERR_IO, "reading the message: "
                                  "%s", strerror(errno));
        if (n == 0)
            return 0;
        if (hdr->len + (size_t)n > MAIL_HEADER_MAX ||
            mail_buf_add(hdr, buf, (size_t)n) < 0)
            return mail_error_set(err, MAIL_ERR_DATA, "the message header "
                                  "is larger than %zu bytes",
                                  (size_t)MAIL_HEADER_MAX);
        end = mail_header_end(hdr->data, hdr->len, &found);
        if (found) {
            /* A message that starts with an empty line has no header. */
            hdr->len = end;
            hdr->data[end] = '\0';
            *complete = true;
            return 0;
        }
    }
}

/* The next raw field of a header block: [*start, *end) including its
 * continuation lines and final line break; false at the end. */
static bool next_field(const char *h, size_t len, size_t *pos, size_t *start,
                       size_t *end)
{
    size_t p = *pos;

    if (p >= len || h[p] == '\n' || (h[p] == '\r' && p + 1 < len &&
                                     h[p + 1] == '\n'))
        return false;
    *start = p;
    for (;;) {
        const char *nl = memchr(h + p, '\n', len - p);

        p = nl ? (size_t)(nl - h) + 1 : len;
        if (p >= len || (h[p] != ' ' && h[p] != '\t'))
            break;
    }
    *end = *pos = p;
    return true;
}

/* Does the raw field at f start with "name:" (any case, blanks before the
 * colon allowed)? */
static bool field_is(const char *f, size_t len, const char *name)
{
    size_t n = strlen(name), i;

    if (len < n + 1 || mail_strncasecmp(f, name, n) != 0)
        return false;
    for (i = n; i < len && (f[i] == ' ' || f[i] == '\t'); i++)
        ;
    return i < len && f[i] == ':';
}

void mail_complete_result_release(struct mail_complete_result *r)
{
    mail_addrlist_release(&r->rcpts);
    mail_buf_release(&r->bcc);
    free(r->from_addr);
    r->from_addr = NULL;
}

/* Append the addresses of l that have one to acc (as "a, b" text parsed
 * again later: keeps the list code in one place). */
static int collect_rcpts(struct mail_buf *acc, const char *value)
{
    if (!value || !*value)
        return 0;
    if (acc->len && mail_buf_addstr(acc, ", ") < 0)
        return -1;
    return mail_buf_addstr(acc, value);
}

int mail_message_complete(int fd, const struct mail_complete_opts *o,
                          mail_sink_fn sink, void *ctx,
                          struct mail_complete_result *res,
                          struct mail_error *err)
{
    struct out out = { sink, ctx };
    struct mail_buf raw = MAIL_BUF_INIT, add = MAIL_BUF_INIT,
                    rcpts = MAIL_BUF_INIT, v = MAIL_BUF_INIT;
    struct mail_header h = MAIL_HEADER_INIT;
    struct mail_message_info info;
    struct scan s;
    size_t pos = 0, fs, fe;
    bool complete;
    const char *val, *from;
    int rc = -1;

    mail_buf_init(&raw, MAIL_HEADER_MAX + 1);
    if (read_header_block(fd, 0, &raw, &complete, err) < 0)
        goto done;
    if (mail_header_parse(&h, raw.data ? raw.data : "", raw.len, err) < 0)
        goto done;

    /* Recipients: To, Cc, Bcc, every occurrence. */
    {
        static const char *const names[] = { "to", "cc", "bcc" };

        for (size_t i = 0; i < 3; i++) {
            size_t p = 0;

            while ((val = mail_header_next(&h, names[i], &p)) != NULL) {
                if (o->check_rcpts && mail_address_check(val, true, err) < 0)
                    goto done;
                if (collect_rcpts(&rcpts, val) < 0)
                    goto nomem;
            }
        }
        if (mail_addrlist_parse(&res->rcpts, rcpts.data, err) < 0)
            goto done;
        /* Keep only items with an address (drop empty groups). */
        {
            size_t k = 0;

            for (size_t i = 0; i < res->rcpts.n; i++)
                if (*res->rcpts.v[i].addr)
                    res->rcpts.v[k++] = res->rcpts.v[i];
            res->rcpts.n = k;
        }
    }

    /* What the body is, for the MIME headers we may add. */
    scan_init(&s, &info, false);
    if (scan_fd(&s, fd, (off_t)raw.len, err) < 0)
        goto done;

    /* Missing fields, added at the end of the header. */
    from = mail_header_get(&h, "from");
    if (!from && o->from) {
        struct mail_addrlist fl = MAIL_ADDRLIST_INIT;

        if (mail_compose_parse_addrs(&fl, o->from, err) < 0) {
            mail_addrlist_release(&fl);
            goto done;
        }
        mail_buf_reset(&v);
        if (mail_addrlist_format(&v, &fl) < 0 ||
            mail_compose_fold(&add, "From", v.data) < 0) {
            mail_addrlist_release(&fl);
            goto nomem;
        }
        res->from_addr = strdup(fl.v[0].addr);
        mail_addrlist_release(&fl);
        if (!res->from_addr)
            goto nomem;
    } else if (from) {
        struct mail_addrlist fl = MAIL_ADDRLIST_INIT;

        if (mail_addrlist_parse(&fl, from, err) < 0)
            goto done;
        if (fl.n && *fl.v[0].addr && !(res->from_addr = strdup(fl.v[0].addr))) {
            mail_addrlist_release(&fl);
            goto nomem;
        }
        mail_addrlist_release(&fl);
    }
    if (!mail_header_get(&h, "date")) {
        char date[MAIL_DATE_MAX];
        time_t now = o->date ? o->date : time(NULL);

        if (mail_date_format_rfc5322(date, sizeof date, now,
                                     mail_date_local_offset(now)) < 0 ||
            mail_buf_printf(&add, "Date: %s\n", date) < 0)
            goto nomem;
    }
    if (!mail_header_get(&h, "message-id")) {
        mail_buf_reset(&v);
        if (add_message_id(&v, res->from_addr, o->id_domain) < 0 ||
            mail_buf_printf(&add, "Message-ID: %s\n", v.data) < 0)
            goto nomem;
    }
    if (!mail_header_get(&h, "mime-version") &&
        mail_buf_addstr(&add, "MIME-Version: 1.0\n") < 0)
        goto nomem;
    if (!mail_header_get(&h, "content-type")) {
        bool eight = info.body_8bit || info.body_binary;

        if (mail_buf_printf(&add, "Content-Type: text/plain; charset=%s\n",
                            !eight ? "us-ascii"
                            : s.utf8_ok ? "utf-8" : "unknown-8bit") < 0)
            goto nomem;
        if (!mail_header_get(&h, "content-transfer-encoding") &&
            mail_buf_printf(&add, "Content-Transfer-Encoding: %s\n",
                            eight ? "8bit" : "7bit") < 0)
            goto nomem;
    }

    /* Copy the header without Bcc, then what we add, then the rest. */
    while (next_field(raw.data, raw.len, &pos, &fs, &fe)) {
        if (!o->keep_bcc && (field_is(raw.data + fs, fe - fs, "bcc") ||
                             field_is(raw.data + fs, fe - fs, "resent-bcc"))) {
            if (mail_buf_add(&res->bcc, raw.data + fs, fe - fs) < 0)
                goto nomem;
            if (raw.data[fe - 1] != '\n' && mail_buf_addch(&res->bcc, '\n') < 0)
                goto nomem;
            continue;
        }
        if (put(&out, raw.data + fs, fe - fs, err) < 0)
            goto done;
        if (raw.data[fe - 1] != '\n' && put(&out, "\n", 1, err) < 0)
            goto done;
    }
    if (put(&out, add.data, add.len, err) < 0)
        goto done;
    /* The empty line (as the message wrote it), or one of ours. */
    if (complete) {
        if (put(&out, raw.data + pos, raw.len - pos, err) < 0)
            goto done;
    } else if (put(&out, "\n", 1, err) < 0) {
        goto done;
    }
    if (copy_rest(&out, fd, (off_t)raw.len, err) < 0)
        goto done;
    rc = 0;
    goto done;
nomem:
    oom(err);
done:
    mail_header_release(&h);
    mail_buf_release(&raw);
    mail_buf_release(&add);
    mail_buf_release(&rcpts);
    mail_buf_release(&v);
    return rc;
}

/* ---- attachments for a message given whole ---- */

int mail_message_attach(int fd, const char *const *attach, size_t nattach,
                        const char *mime_types, mail_sink_fn sink, void *ctx,
                        struct mail_error *err)
{
    struct out o = { sink, ctx };
    struct mail_buf raw = MAIL_BUF_INIT, part = MAIL_BUF_INIT,
                    h = MAIL_BUF_INIT;
    struct mail_header hdr = MAIL_HEADER_INIT;
    char boundary[40];
    size_t pos = 0, fs, fe;
    bool complete;
    int rc = -1;

    for (size_t i = 0; i < nattach; i++)
        if (access(attach[i], R_OK) < 0)
            return mail_error_set(err, errno == ENOENT ? MAIL_ERR_NOTFOUND
                                                       : MAIL_ERR_IO,
                                  "%.300s: %s", attach[i], strerror(errno));
    mail_buf_init(&raw, MAIL_HEADER_MAX + 1);
    if (read_header_block(fd, 0, &raw, &complete, err) < 0)
        goto done;
    if (mail_header_parse(&hdr, raw.data ? raw.data : "", raw.len, err) < 0)
        goto done;
    /* The Content-* fields describe the body: they go with it into the
     * first part; every other field stays where it is. */
    while (next_field(raw.data, raw.len, &pos, &fs, &fe)) {
        struct mail_buf *to = mail_strncasecmp(raw.data + fs, "content-", 8)
                              == 0 ? &part : &h;

        if (mail_buf_add(to, raw.data + fs, fe - fs) < 0 ||
            (raw.data[fe - 1] != '\n' && mail_buf_addch(to, '\n') < 0))
            goto nomem;
    }
    if (!mail_header_get(&hdr, "content-type") &&
        mail_buf_addstr(&part, "Content-Type: text/plain; charset="
                        "us-ascii\n") < 0)
        goto nomem;
    if (!mail_header_get(&hdr, "mime-version") &&
        mail_buf_addstr(&h, "MIME-Version: 1.0\n") < 0)
        goto nomem;
    mail_strlcpy(boundary, "=_mail_", sizeof boundary);
    random_hex(boundary + 7, 16);
    if (mail_buf_printf(&h, "Content-Type: multipart/mixed;\n "
                        "boundary=\"%s\"\n\nThis is a message in MIME "
                        "format.\n\n--%s\n", boundary, boundary) < 0)
        goto nomem;
    if (put(&o, h.data, h.len, err) < 0 || put(&o, part.data, part.len,
                                                 err) < 0 ||
        puts_(&o, "\n", err) < 0)
        goto done;
    if (complete) {
        struct mail_message_info bi;

        if (mail_message_scan(fd, (off_t)raw.len, &bi, err) < 0)
            goto done;
        if (copy_rest(&o, fd, (off_t)raw.len, err) < 0)
            goto done;
        /* The boundary must start a line of its own. */
        if (bi.size && puts_(&o, "\n", err) < 0)
            goto done;
    }
    for (size_t i = 0; i < nattach; i++)
        if (puts_(&o, "--", err) < 0 || puts_(&o, boundary, err) < 0 ||
            puts_(&o, "\n", err) < 0 ||
            write_attachment(&o, attach[i], mime_types, err) < 0 ||
            puts_(&o, "\n", err) < 0)
            goto done;
    if (puts_(&o, "--", err) < 0 || puts_(&o, boundary, err) < 0 ||
        puts_(&o, "--\n", err) < 0)
        goto done;
    rc = 0;
    goto done;
nomem:
    oom(err);
done:
    mail_header_release(&hdr);
    mail_buf_release(&raw);
    mail_buf_release(&part);
    mail_buf_release(&h);
    return rc;
}

/* ---- re-encoding to 7 bits ---- */

static bool has_8bit(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            return true;
    return false;
}

static bool has_long_line(const char *s, size_t n)
{
    size_t col = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            col = 0;
        else if (++col > SMTP_LINE_MAX)
            return true;
    }
    return false;
}

static bool is_address_field(const char *name)
{
    static const char *const names[] = {
        "from", "to", "cc", "bcc", "reply-to", "sender", "resent-from",
        "resent-to", "resent-cc", "resent-bcc", "resent-sender",
        "mail-followup-to", "mail-reply-to", "disposition-notification-to",
    };

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (mail_strcasecmp(name, names[i]) == 0)
            return true;
    return false;
}

/* Rewrite one raw field (7-bit, folded) into out. */
static int rewrite_field(struct mail_buf *out, const char *f, size_t len,
                         struct mail_error *err)
{
    struct mail_header h = MAIL_HEADER_INIT;
    struct mail_buf v = MAIL_BUF_INIT, name = MAIL_BUF_INIT;
    const char *colon = memchr(f, ':', len);
    int rc = -1;

    if (!colon)
        return mail_error_set(err, MAIL_ERR_DATA, "a header line without a "
                              "field name");
    /* The name as written (case kept). */
    {
        size_t n = (size_t)(colon - f);

        while (n && (f[n - 1] == ' ' || f[n - 1] == '\t'))
            n--;
        if (mail_buf_add(&name, f, n) < 0)
            goto nomem;
    }
    if (mail_header_parse(&h, f, len, err) < 0)
        goto done;
    if (h.nfields != 1) {
        rc = mail_error_set(err, MAIL_ERR_DATA, "a malformed header field");
        goto done;
    }
    {
        const char *val = h.fields[0].value;
        size_t vlen = h.fields[0].value_len;

        if (!has_8bit(val, vlen)) {
            if (mail_buf_add(&v, val, vlen) < 0)
                goto nomem;
        } else if (is_address_field(h.fields[0].name)) {
            struct mail_addrlist l = MAIL_ADDRLIST_INIT;
            int r;

            if (mail_addrlist_parse(&l, val, err) < 0)
                goto done;
            for (size_t i = 0; i < l.n; i++)
                if (has_8bit(l.v[i].addr, strlen(l.v[i].addr))) {
                    mail_error_set(err, MAIL_ERR_DATA, "the address "
                                   "%.200s is not ASCII: only a server "
                                   "with SMTPUTF8 can take it",
                                   l.v[i].addr);
                    mail_addrlist_release(&l);
                    goto done;
                }
            r = mail_addrlist_format(&v, &l);
            mail_addrlist_release(&l);
            if (r < 0)
                goto nomem;
        } else if (mail_strcasecmp(h.fields[0].name, "content-type") == 0 ||
                   mail_strcasecmp(h.fields[0].name, "content-disposition")
                       == 0) {
            struct mail_params ps = MAIL_PARAMS_INIT;
            int r;

            if (mail_params_parse(&ps, val, err) < 0)
                goto done;
            r = mail_buf_addstr(&v, ps.value ? ps.value : "");
            for (size_t i = 0; r == 0 && i < ps.n; i++)
                r = mail_rfc2231_encode(&v, ps.v[i].name, ps.v[i].value);
            mail_params_release(&ps);
            if (r < 0)
                goto nomem;
        } else {
            struct mail_buf u = MAIL_BUF_INIT;
            int r = mail_utf8_sanitize(&u, val, vlen);

            if (r == 0)
                r = mail_rfc2047_encode(&v, u.data ? u.data : "", u.len,
                                        MAIL_RFC2047_TEXT);
            mail_buf_release(&u);
            if (r < 0)
                goto nomem;
        }
    }
    if (mail_compose_fold(out, name.data, v.data ? v.data : "") < 0)
        goto nomem;
    if (has_long_line(out->data, out->len)) {
        rc = mail_error_set(err, MAIL_ERR_DATA, "header field %.100s has a "
                            "word longer than 998 octets", name.data);
        goto done;
    }
    rc = 0;
    goto done;
nomem:
    oom(err);
done:
    mail_header_release(&h);
    mail_buf_release(&v);
    mail_buf_release(&name);
    return rc;
}

/*
 * Write a header block made 7-bit: fields that need it are rewritten, the
 * others copied byte for byte.  If cte is not NULL the
 * Content-Transfer-Encoding field is replaced by "Content-Transfer-
 * Encoding: <cte>".  The empty line is not written.
 */
static int write_header_7bit(const struct out *o, const char *hdr,
                             size_t len, bool headers_7bit, const char *cte,
                             struct mail_error *err)
{
    size_t pos = 0, fs, fe;

    while (next_field(hdr, len, &pos, &fs, &fe)) {
        const char *f = hdr + fs;
        size_t flen = fe - fs;

        if (cte && field_is(f, flen, "content-transfer-encoding"))
            continue;
        if ((headers_7bit && has_8bit(f, flen)) || has_long_line(f, flen)) {
            struct mail_buf b = MAIL_BUF_INIT;
            int r = rewrite_field(&b, f, flen, err);

            if (r == 0)
                r = put(o, b.data, b.len, err);
            mail_buf_release(&b);
            if (r < 0)
                return -1;
            continue;
        }
        if (put(o, f, flen, err) < 0)
            return -1;
        if (f[flen - 1] != '\n' && put(o, "\n", 1, err) < 0)
            return -1;
    }
    if (cte && (puts_(o, "Content-Transfer-Encoding: ", err) < 0 ||
                puts_(o, cte, err) < 0 || puts_(o, "\n", err) < 0))
        return -1;
    return 0;
}

/* What a header block says about its part. */
struct part_kind {
    bool multipart, message, text;
    enum mail_cte cte;
    char boundary[80];
};

static int part_kind(const char *hdr, size_t len, bool digest_default,
                     struct part_kind *k, struct mail_error *err)
{
    struct mail_header h = MAIL_HEADER_INIT;
    struct mail_params ps = MAIL_PARAMS_INIT;
    const char *ct, *b;
    const char *type;

    memset(k, 0, sizeof *k);
    if (mail_header_parse(&h, hdr, len, err) < 0)
        return -1;
    ct = mail_header_get(&h, "content-type");
    k->cte = mail_cte_from_name(mail_header_get(&h,
                                                "content-transfer-encoding"));
    if (mail_params_parse(&ps, ct ? ct : "", err) < 0) {
        mail_header_release(&h);
        return -1;
    }
    type = ps.value && *ps.value ? ps.value
         : digest_default ? "message/rfc822" : "text/plain";
    b = mail_params_get(&ps, "boundary");
    if (strncmp(type, "multipart/", 10) == 0 && b && *b &&
        strlen(b) < sizeof k->boundary) {
        k->multipart = true;
        mail_strlcpy(k->boundary, b, sizeof k->boundary);
    } else if (strncmp(type, "message/", 8) == 0) {
        k->message = true;
    } else {
        k->text = strncmp(type, "text/", 5) == 0;
    }
    mail_params_release(&ps);
    mail_header_release(&h);
    return 0;
}

/* A streaming walk over a MIME body, line by line, that re-encodes leaf
 * parts.  Boundary lines are recognised from the first bytes of each
 * line; the rest of a long line streams through. */
#define MAX_DEPTH 32
#define LINE_PEEK 100    /* enough for "--" + a 70-char boundary + "--" */

enum walk_state {
    W_HEADER,     /* collecting a part's header block */
    W_CONTENT,    /* in a leaf part that is copied */
    W_ENCODE,     /* in a leaf part that is re-encoded */
    W_PREAMBLE,   /* in a multipart's preamble or epilogue: copied */
};

struct walk {
    const struct out *o;
    struct mail_error *err;
    bool headers_7bit;
    enum walk_state state;
    char bounds[MAX_DEPTH][80];
    size_t depth;
    bool digest[MAX_DEPTH];
    struct mail_buf hdr;          /* the part header being collected */
    size_t hdr_scan;              /* hdr's last line start (see walk_push) */
    struct mail_encoder enc;
    bool pending_nl;              /* a line break held back: it belongs to
                                     the boundary when one follows */
    bool pending_cr;              /* ... and it was CRLF */
    bool bol;
    char peek[LINE_PEEK + 1];
    size_t npeek;
    bool peeking;
};

static int walk_content(struct walk *w, const char *p, size_t n)
{
    if (w->state == W_ENCODE) {
        return mail_encoder_push(&w->enc, p, n, w->err);
    }
    return put(w->o, p, n, w->err);
}

static int walk_flush_nl(struct walk *w)
{
    if (!w->pending_nl)
        return 0;
    w->pending_nl = false;
    if (w->pending_cr) {
        w->pending_cr = false;
        return walk_content(w, "\r\n", 2);
    }
    return walk_content(w, "\n", 1);
}

/* The held line break, written as part of a boundary line. */
static int walk_put_nl(struct walk *w)
{
    int rc = 0;

    if (w->pending_nl)
        rc = w->pending_cr ? put(w->o, "\r\n", 2, w->err)
                           : put(w->o, "\n", 1, w->err);
    w->pending_nl = w->pending_cr = false;
    return rc;
}

/* Is the line a boundary of an open multipart?  Returns the depth index
 * + 1 and sets *close for "--b--"; 0 if not. */
static size_t is_boundary(struct walk *w, const char *l, size_t n,
                          bool *close)
{
    if (n < 3 || l[0] != '-' || l[1] != '-')
        return 0;
    while (n && (l[n - 1] == '\r' || l[n - 1] == ' ' || l[n - 1] == '\t'))
        n--;
    for (size_t d = w->depth; d > 0; d--) {
        size_t bl = strlen(w->bounds[d - 1]);

        if (n >= 2 + bl && memcmp(l + 2, w->bounds[d - 1], bl) == 0) {
            if (n == 2 + bl) {
                *close = false;
                return d;
            }
            if (n == 4 + bl && l[2 + bl] == '-' && l[3 + bl] == '-') {
                *close = true;
                return d;
            }
        }
    }
    return 0;
}

static int end_leaf(struct walk *w)
{
    if (w->state == W_ENCODE) {
        if (mail_encoder_finish(&w->enc, w->err) < 0)
            return -1;
    }
    return 0;
}

/* A complete part header in w->hdr (including its empty line). */
static int walk_part_header(struct walk *w)
{
    struct part_kind k;
    bool digest = w->depth > 0 && w->digest[w->depth - 1];
    const char *cte = NULL;
    size_t body_at;
    bool found;

    body_at = mail_header_end(w->hdr.data ? w->hdr.data : "", w->hdr.len,
                              &found);
    if (part_kind(w->hdr.data ? w->hdr.data : "", w->hdr.len, digest, &k,
                  w->err) < 0)
        return -1;
    if (!k.multipart && !k.message &&
        (k.cte == MAIL_CTE_7BIT || k.cte == MAIL_CTE_8BIT ||
         k.cte == MAIL_CTE_BINARY))
        cte = k.text ? "quoted-printable" : "base64";
    if (write_header_7bit(w->o, w->hdr.data ? w->hdr.data : "", body_at,
                          w->headers_7bit, cte, w->err) < 0 ||
        puts_(w->o, "\n", w->err) < 0)
        return -1;
    mail_buf_reset(&w->hdr);
    w->hdr_scan = 0;
    w->bol = true;
    w->pending_nl = w->pending_cr = false;
    if (k.multipart) {
        if (w->depth == MAX_DEPTH)
            return mail_error_set(w->err, MAIL_ERR_DATA, "MIME parts nested "
                                  "too deep");
        mail_strlcpy(w->bounds[w->depth], k.boundary, sizeof w->bounds[0]);
        w->digest[w->depth] = false;
        w->depth++;
        w->state = W_PREAMBLE;
        return 0;
    }
    if (cte) {
        mail_encoder_init(&w->enc, k.text ? MAIL_CTE_QP : MAIL_CTE_BASE64,
                          k.text ? MAIL_ENC_QP_SAFE : 0, enc_out,
                          (void *)w->o);
        w->state = W_ENCODE;
    } else {
        w->state = W_CONTENT;
    }
    return 0;
}

/* One complete line without its LF (or the first LINE_PEEK bytes of a
 * long one, with more to come when partial), in state != W_HEADER.
 * Returns 1 for a boundary line (written with its LF), 0 for content
 * (the LF of a complete line is then held back), -1 on error. */
static int walk_line_start(struct walk *w, const char *l, size_t n,
                           bool partial)
{
    bool close = false;
    size_t d = partial ? 0 : is_boundary(w, l, n, &close);

    if (!d) {
        bool cr = !partial && n && l[n - 1] == '\r';

        if (walk_flush_nl(w) < 0 || walk_content(w, l, n - cr) < 0)
            return -1;
        w->pending_cr = cr;
        return 0;
    }
    /* A boundary: the held line break is part of it. */
    if (w->state == W_ENCODE || w->state == W_CONTENT) {
        if (end_leaf(w) < 0)
            return -1;
    }
    if (walk_put_nl(w) < 0 || put(w->o, l, n, w->err) < 0 ||
        put(w->o, "\n", 1, w->err) < 0)
        return -1;
    w->depth = d;
    if (close) {
        w->depth = d - 1;
        w->state = W_PREAMBLE;      /* the epilogue */
    } else {
        w->state = W_HEADER;
        mail_buf_reset(&w->hdr);
        w->hdr_scan = 0;
    }
    w->bol = true;
    return 1;
}

static int walk_push(struct walk *w, const char *p, size_t n)
{
    size_t i = 0;

    while (i < n) {
        if (w->state == W_HEADER) {
            /* Collect whole lines until the empty one. */
            const char *nl = memchr(p + i, '\n', n - i);
            size_t k = nl ? (size_t)(nl - p) + 1 : n;
            bool found;

            if (mail_buf_add(&w->hdr, p + i, k - i) < 0)
                return mail_error_set(w->err, MAIL_ERR_DATA, "a MIME part "
                                      "header is too large");
            i = k;
            if (nl) {
                /* From the last line start, not the header's beginning:
                 * once per line over the whole header was quadratic in
                 * the header's size (up to MAIL_HEADER_MAX). */
                mail_header_end(w->hdr.data + w->hdr_scan,
                                w->hdr.len - w->hdr_scan, &found);
                w->hdr_scan = w->hdr.len;
                if (found || (w->hdr.len <= 2 && (w->hdr.data[0] == '\n' ||
                                                 w->hdr.data[0] == '\r')))
                    if (walk_part_header(w) < 0)
                        return -1;
            }
            continue;
        }
        if (w->bol || w->peeking) {
            /* Gather the start of the line. */
            w->bol = false;
            w->peeking = true;
            while (i < n && w->npeek < LINE_PEEK && p[i] != '\n')
                w->peek[w->npeek++] = p[i++];
            if (i < n && p[i] == '\n') {
                /* Complete line: the LF is held, unless a boundary. */
                int b;

                i++;
                w->peeking = false;
                b = walk_line_start(w, w->peek, w->npeek, false);
                w->npeek = 0;
                if (b < 0)
                    return -1;
                if (b == 0) {
                    w->pending_nl = true;
                    w->bol = true;
                }
                continue;
            }
            if (w->npeek == LINE_PEEK) {
                w->peeking = false;
                if (walk_line_start(w, w->peek, w->npeek, true) < 0)
                    return -1;
                w->npeek = 0;
            }
            continue;
        }
        /* The middle of a long line: up to its LF. */
        {
            const char *nl = memchr(p + i, '\n', n - i);
            size_t k = nl ? (size_t)(nl - p) : n;

            bool cr = nl && k > i && p[k - 1] == '\r';

            if (walk_content(w, p + i, k - i - cr) < 0)
                return -1;
            i = k;
            if (nl) {
                i++;
                w->pending_nl = true;
                w->pending_cr = cr;
                w->bol = true;
            }
        }
    }
    return 0;
}

static int walk_finish(struct walk *w)
{
    if (w->state == W_HEADER && w->hdr.len) {
        /* A part header with no empty line: pass it on as it is. */
        if (put(w->o, w->hdr.data, w->hdr.len, w->err) < 0)
            return -1;
    }
    if (w->peeking && w->npeek &&
        walk_line_start(w, w->peek, w->npeek, true) < 0)
        return -1;
    if (walk_flush_nl(w) < 0)
        return -1;
    if (w->state == W_ENCODE || w->state == W_CONTENT)
        return end_leaf(w);
    return 0;
}

int mail_message_to_7bit(int fd, off_t offset, int flags, mail_sink_fn sink,
                         void *ctx, struct mail_error *err)
{
    struct out o = { sink, ctx };
    struct mail_buf raw = MAIL_BUF_INIT;
    struct walk *w = NULL;
    struct reader *r = NULL;
    bool complete;
    size_t hlen;
    ssize_t n;
    int rc = -1;

    mail_buf_init(&raw, MAIL_HEADER_MAX + 1);
    if (read_header_block(fd, offset, &raw, &complete, err) < 0)
        goto done;
    hlen = raw.len;
    w = calloc(1, sizeof *w);
    r = malloc(sizeof *r);
    if (!w || !r) {
        oom(err);
        goto done;
    }
    w->o = &o;
    w->err = err;
    /* Part headers are rewritten whenever the body is: a server without
     * 8BITMIME takes no 8-bit byte anywhere. */
    w->headers_7bit = (flags & (MAIL_7BIT_HEADERS | MAIL_7BIT_BODY)) != 0;
    mail_buf_init(&w->hdr, MAIL_HEADER_MAX + 64);
    /* The top-level header is the first "part header": its fields, a
     * MIME-Version when the body gets a Content-Transfer-Encoding and
     * there is none, and the empty line. */
    {
        size_t pos = 0, fs, fe = 0, fields = 0;
        struct mail_header h = MAIL_HEADER_INIT;
        bool mv;

        while (next_field(raw.data ? raw.data : "", raw.len, &pos, &fs, &fe))
            fields = fe;
        if (mail_header_parse(&h, raw.data ? raw.data : "", raw.len, err) < 0)
            goto done;
        mv = mail_header_get(&h, "mime-version") != NULL;
        mail_header_release(&h);
        if (mail_buf_add(&w->hdr, raw.data ? raw.data : "", fields) < 0 ||
            (fields && raw.data[fields - 1] != '\n' &&
             mail_buf_addch(&w->hdr, '\n') < 0) ||
            (!mv && (flags & MAIL_7BIT_BODY) &&
             mail_buf_addstr(&w->hdr, "MIME-Version: 1.0\n") < 0) ||
            mail_buf_addch(&w->hdr, '\n') < 0) {
            oom(err);
            goto done;
        }
    }
    if (!(flags & MAIL_7BIT_BODY)) {
        /* Headers only: the body is copied as it is. */
        size_t body_at = mail_header_end(w->hdr.data, w->hdr.len, NULL);

        if (write_header_7bit(&o, w->hdr.data, body_at, w->headers_7bit,
                              NULL, err) < 0 || puts_(&o, "\n", err) < 0 ||
            copy_rest(&o, fd, offset + (off_t)hlen, err) < 0)
            goto done;
        rc = 0;
        goto done;
    }
    if (walk_part_header(w) < 0)
        goto done;
    rd_init(r, fd, offset + (off_t)hlen);
    while ((n = rd_fill(r, err)) > 0) {
        if (walk_push(w, r->buf + r->pos, (size_t)n) < 0)
            goto done;
        r->pos = r->len;
    }
    if (n < 0 || walk_finish(w) < 0)
        goto done;
    rc = 0;
done:
    if (w)
        mail_buf_release(&w->hdr);
    free(w);
    free(r);
    mail_buf_release(&raw);
    return rc;
}
