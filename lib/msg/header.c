/*
 * header.c - RFC 5322 header blocks in one buffer (the mblaze layout).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail/header.h"

#define READ_BLOCK 4096

static bool is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/*
 * Scan from *pos, which must be the start of a line, for the empty line.
 * Returns true with *pos just past it, or false with *pos at the start of
 * the last (incomplete) line, so that a later call can resume there.
 */
static bool scan_end(const char *data, size_t len, size_t *pos)
{
    size_t i = *pos;

    while (i < len) {
        const char *nl;

        if (data[i] == '\n') {
            *pos = i + 1;
            return true;
        }
        if (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n') {
            *pos = i + 2;
            return true;
        }
        nl = memchr(data + i, '\n', len - i);
        if (!nl)
            break;
        i = (size_t)(nl - data) + 1;
    }
    *pos = i;
    return false;
}

size_t mail_header_end(const char *data, size_t len, bool *found)
{
    size_t pos = 0;
    bool f = scan_end(data, len, &pos);

    if (found)
        *found = f;
    return f ? pos : len;
}

void mail_header_release(struct mail_header *h)
{
    free(h->buf);
    free(h->fields);
    h->buf = NULL;
    h->fields = NULL;
    h->nfields = 0;
    h->len = 0;
    h->complete = false;
    h->truncated = false;
}

/* Is data[0..n) a field name (printable ASCII, no colon, not empty)? */
static bool valid_name(const char *s, size_t n)
{
    size_t i;

    if (n == 0)
        return false;
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 32 || (unsigned char)s[i] >= 127)
            return false;
    return true;
}

/* Append data[0..n) to the value at out, NUL and bare CR as spaces. */
static size_t copy_value(char *out, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        out[i] = (s[i] == '\0' || s[i] == '\r') ? ' ' : s[i];
    return n;
}

/* Trim the value written at [start, *wp), NUL-terminate it, record it in
 * f, and move *wp past the NUL. */
static void finish_value(struct mail_header_field *f, char *start, char **wp)
{
    char *e = *wp;
    char *s = start;

    while (e > s && is_wsp(e[-1]))
        e--;
    while (s < e && is_wsp(*s))
        s++;
    if (s > start) {
        memmove(start, s, (size_t)(e - s));
        e -= s - start;
    }
    *e = '\0';
    f->value = start;
    f->value_len = (size_t)(e - start);
    *wp = e + 1;
}

int mail_header_parse(struct mail_header *h, const char *data, size_t len,
                      struct mail_error *err)
{
    bool found;
    size_t end = mail_header_end(data, len, &found);
    size_t i, nlines = 0, body = end;
    char *wp, *vstart = NULL;
    struct mail_header_field *cur = NULL;

    mail_header_release(h);
    if (found) {
        /* Parse up to the empty line, not including it. */
        end -= (end >= 2 && data[end - 2] == '\r') ? 2 : 1;
    }
    for (i = 0; i < end; i++)
        if (data[i] == '\n')
            nlines++;
    nlines++;
    /* Each field turns "name:" + value + EOL into name\0value\0; a last
     * line without EOL can grow by one byte, hence the slack. */
    h->buf = malloc(end + 2 * nlines + 1);
    h->fields = calloc(nlines, sizeof *h->fields);
    if (!h->buf || !h->fields) {
        mail_header_release(h);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    wp = h->buf;
    i = 0;
    while (i < end) {
        const char *line = data + i;
        const char *nl = memchr(line, '\n', end - i);
        size_t n = nl ? (size_t)(nl - line) : end - i;
        const char *colon;
        size_t k, j;

        i += n + (nl ? 1 : 0);
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (n > 0 && is_wsp(line[0])) {
            /* Continuation: unfold by dropping the line break only. */
            if (cur)
                wp += copy_value(wp, line, n);
            continue;
        }
        if (cur) {
            finish_value(cur, vstart, &wp);
            cur = NULL;
        }
        colon = memchr(line, ':', n);
        if (!colon)
            continue;
        k = (size_t)(colon - line);
        while (k > 0 && is_wsp(line[k - 1]))
            k--;
        if (!valid_name(line, k))
            continue;
        cur = &h->fields[h->nfields++];
        cur->name = wp;
        for (j = 0; j < k; j++) {
            char c = line[j];

            *wp++ = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        *wp++ = '\0';
        vstart = wp;
        wp += copy_value(wp, colon + 1, n - (size_t)(colon + 1 - line));
    }
    if (cur)
        finish_value(cur, vstart, &wp);
    h->len = body;
    h->complete = found;
    h->truncated = false;
    return 0;
}

/* Parse the first hdrlen bytes of b after a read; shared by the readers. */
static int parse_read(struct mail_header *h, const struct mail_buf *b,
                      size_t hdrlen, bool truncated, struct mail_error *err)
{
    if (mail_header_parse(h, b->data ? b->data : "", hdrlen, err) < 0)
        return -1;
    h->truncated = truncated;
    if (truncated) {
        h->len = hdrlen;
        h->complete = false;
    }
    return 0;
}

/* The header at fd's position (at, when at >= 0: pread, the position
 * untouched), as mail_header_read_fd: b keeps what was read (the header
 * its first *hdrlen_out bytes), released here on an error. */
static int read_fd(struct mail_header *h, int fd, off_t at, size_t max,
                   struct mail_buf *b, size_t *hdrlen_out,
                   struct mail_error *err)
{
    size_t scan = 0, hdrlen;
    bool found = false;
    int r;

    if (max == 0)
        max = MAIL_HEADER_MAX;
    mail_buf_init(b, max + READ_BLOCK);
    for (;;) {
        ssize_t n;

        if (mail_buf_reserve(b, READ_BLOCK) < 0) {
            mail_buf_release(b);
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        }
        n = at >= 0 ? pread(fd, b->data + b->len, READ_BLOCK,
                            at + (off_t)b->len)
                    : read(fd, b->data + b->len, READ_BLOCK);
        if (n < 0) {
            int e = errno;

            if (e == EINTR)
                continue;
            mail_buf_release(b);
            return mail_error_set(err, MAIL_ERR_IO, "read: %s", strerror(e));
        }
        if (n == 0)
            break;
        b->len += (size_t)n;
        b->data[b->len] = '\0';
        if (scan_end(b->data, b->len, &scan)) {
            found = true;
            break;
        }
        if (b->len >= max)
            break;
    }
    hdrlen = found ? scan : (b->len < max ? b->len : max);
    r = parse_read(h, b, hdrlen, !found && b->len >= max, err);
    if (r < 0)
        mail_buf_release(b);
    *hdrlen_out = hdrlen;
    return r;
}

int mail_header_read_fd(struct mail_header *h, int fd, size_t max,
                        struct mail_buf *rest, struct mail_error *err)
{
    struct mail_buf b;
    size_t hdrlen, over;
    int r = read_fd(h, fd, -1, max, &b, &hdrlen, err);

    if (r < 0)
        return r;
    over = b.len - hdrlen;
    if (over > 0 && lseek(fd, -(off_t)over, SEEK_CUR) < 0 && rest &&
        mail_buf_add(rest, b.data + hdrlen, over) < 0) {
        mail_header_release(h);
        r = mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    mail_buf_release(&b);
    return r;
}

int mail_header_pread(struct mail_header *h, int fd, size_t max,
                      struct mail_error *err)
{
    struct mail_buf b;
    size_t hdrlen;
    int r = read_fd(h, fd, 0, max, &b, &hdrlen, err);

    if (r == 0)
        mail_buf_release(&b);
    return r;
}

int mail_header_read_file(struct mail_header *h, FILE *f, size_t max,
                          struct mail_error *err)
{
    struct mail_buf b;
    bool bol = true, cr_bol = false, found = false;
    int c, r;

    if (max == 0)
        max = MAIL_HEADER_MAX;
    mail_buf_init(&b, max + 1);
    while (b.len < max && (c = getc(f)) != EOF) {
        if (mail_buf_addch(&b, (char)c) < 0) {
            mail_buf_release(&b);
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        }
        if (c == '\n') {
            if (bol || cr_bol) {
                found = true;
                break;
            }
            bol = true;
            cr_bol = false;
        } else {
            cr_bol = bol && c == '\r';
            bol = false;
        }
    }
    if (ferror(f)) {
        mail_buf_release(&b);
        return mail_error_set(err, MAIL_ERR_IO, "read: %s", strerror(errno));
    }
    r = parse_read(h, &b, b.len, !found && b.len >= max, err);
    mail_buf_release(&b);
    return r;
}

const char *mail_header_next(const struct mail_header *h, const char *name,
                             size_t *pos)
{
    size_t i;

    for (i = *pos; i < h->nfields; i++) {
        if (mail_strcasecmp(h->fields[i].name, name) == 0) {
            *pos = i + 1;
            return h->fields[i].value;
        }
    }
    *pos = h->nfields;
    return NULL;
}

const char *mail_header_get(const struct mail_header *h, const char *name)
{
    size_t pos = 0;

    return mail_header_next(h, name, &pos);
}
