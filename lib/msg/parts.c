/*
 * parts.c - one part of a message, or all of it, for programs and files:
 * --raw, --part and --save of `mail read`, and the reader's attachment
 * menu.  See mail/render.h.
 *
 * A message is read from a file descriptor that starts at its first byte;
 * a part is decoded again from the file as it is written, so a 50 MB
 * attachment costs no memory.  File names come from the message and are
 * untrusted: a saved part never leaves the directory it was saved in and
 * never replaces a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail/buf.h"
#include "mail/fsutil.h"
#include "mail/render.h"
#include "mail/termsafe.h"

/* ---- streaming to a sink ----------------------------------------------- */

struct mail_mime *mail_render_parse(int fd, const char *label,
                                    struct mail_error *err)
{
    struct mail_mime *m = NULL;

    mail_error_clear(err);
    if (lseek(fd, 0, SEEK_SET) < 0 ||
        !(m = mail_mime_parse_fd(fd, NULL, err))) {
        if (!err->msg[0])
            mail_error_set(err, MAIL_ERR_IO, "%s", strerror(errno));
        mail_error_prefix(err, "message %s", label);
        return NULL;
    }
    if (!mail_mime_root(m)) {
        mail_mime_free(m);
        mail_error_set(err, MAIL_ERR_DATA, "message %s: empty", label);
        return NULL;
    }
    return m;
}

bool mail_render_part_textual(const struct mail_part *p)
{
    return strncmp(p->type, "text/", 5) == 0 ||
           strncmp(p->type, "message/", 8) == 0;
}

/* The sink's failure is -1; a failure to read the message is -2. */
static int sink_failed(bool *sink_failed_flag, int rc)
{
    return rc < 0 && !*sink_failed_flag ? -2 : rc;
}

struct watched {
    mail_sink_fn sink;
    void *ctx;
    bool failed;
};

static int watched_sink(void *ctx, const char *data, size_t len,
                        struct mail_error *err)
{
    struct watched *w = ctx;

    if (w->sink(w->ctx, data, len, err) == 0)
        return 0;
    w->failed = true;
    return -1;
}

int mail_render_write_part(int msgfd, const struct mail_part *p,
                           bool terminal, mail_sink_fn sink, void *ctx,
                           struct mail_error *err)
{
    struct watched w = { sink, ctx, false };
    struct mail_term_stream t;
    int rc;

    mail_error_clear(err);
    if (!terminal)
        return sink_failed(&w.failed, mail_part_decode_fd(p, msgfd, 0,
                                                          watched_sink, &w,
                                                          err));
    /* Text for a person: in UTF-8 and terminal-safe. */
    mail_term_stream_init(&t, watched_sink, &w);
    rc = mail_part_decode_fd(p, msgfd, MAIL_DECODE_TEXT,
                             mail_term_stream_write, &t, err);
    if (rc == 0)
        rc = mail_term_stream_flush(&t, err);
    mail_term_stream_release(&t);
    return sink_failed(&w.failed, rc);
}

int mail_render_write_raw(int msgfd, bool terminal, mail_sink_fn sink,
                          void *ctx, struct mail_error *err)
{
    struct mail_term_stream t;
    char buf[65536];
    off_t off = 0;
    int rc = 0;

    mail_error_clear(err);
    mail_term_stream_init(&t, sink, ctx);
    for (;;) {
        ssize_t n = pread(msgfd, buf, sizeof buf, off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            mail_error_set(err, MAIL_ERR_IO, "%s", strerror(errno));
            rc = -2;
            break;
        }
        if (n == 0)
            break;
        off += n;
        if ((terminal ? mail_term_stream_write(&t, buf, (size_t)n, err)
                      : sink(ctx, buf, (size_t)n, err)) < 0) {
            rc = -1;
            break;
        }
    }
    /* What was held back goes out after a read error too. */
    if (terminal && rc != -1 &&
        mail_term_stream_flush(&t, rc ? NULL : err) < 0 && rc == 0)
        rc = -1;
    mail_term_stream_release(&t);
    return rc;
}

int mail_render_spool(int fd, const char *tmpdir, const char *label,
                      struct mail_error *err)
{
    char path[512], buf[65536];
    int out = mail_render_temp(tmpdir, ".msg", path, sizeof path);

    mail_error_clear(err);
    if (out < 0)
        return mail_error_set(err, MAIL_ERR_IO, "temporary file: %s",
                              strerror(errno));
    unlink(path);
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || (n > 0 && mail_write_all(out, buf, (size_t)n) < 0)) {
            mail_error_set(err, MAIL_ERR_IO, "%s: %s", label,
                           strerror(errno));
            close(out);
            return -1;
        }
        if (n == 0)
            return out;
    }
}

int mail_render_save_all(int dirfd, const char *dirname, int msgfd,
                         const struct mail_part *root,
                         mail_render_saved_fn saved, void *ctx)
{
    int rc = 0;

    for (const struct mail_part *p = root; p; p = mail_part_next(p)) {
        struct mail_error err;
        char *name = NULL;
        int r;

        if (!mail_render_part_saved(p))
            continue;
        r = mail_render_save_part(dirfd, dirname, msgfd, p, &name, &err);
        if (saved(ctx, p, r, r == 0 ? name : NULL, &err) < 0)
            rc = -1;
        free(name);
    }
    return rc;
}

/* ---- file names for saved parts ---------------------------------------- */

static const char *extension_for(const char *type)
{
    static const struct { const char *type, *ext; } t[] = {
        { "text/plain", ".txt" }, { "text/html", ".html" },
        { "text/calendar", ".ics" }, { "text/csv", ".csv" },
        { "text/x-vcard", ".vcf" }, { "text/vcard", ".vcf" },
        { "message/rfc822", ".eml" }, { "image/png", ".png" },
        { "image/jpeg", ".jpg" }, { "image/gif", ".gif" },
        { "image/webp", ".webp" }, { "image/svg+xml", ".svg" },
        { "application/pdf", ".pdf" }, { "application/zip", ".zip" },
        { "application/gzip", ".gz" }, { "application/json", ".json" },
        { "application/pgp-signature", ".asc" },
        { "application/pkcs7-signature", ".p7s" },
        { "audio/mpeg", ".mp3" }, { "video/mp4", ".mp4" },
    };

    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(t[i].type, type) == 0)
            return t[i].ext;
    return strncmp(type, "text/", 5) == 0 ? ".txt" : ".bin";
}

/* Characters that have no place in a file name: controls, and the ones
 * that reorder or hide text. */
static bool bad_name_char(uint32_t cp)
{
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) ||
           (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069) || cp == 0x61c || cp == 0xfeff ||
           cp == 0x2028 || cp == 0x2029;
}

/* The longest prefix of s[0..n) of at most max bytes that does not cut a
 * UTF-8 character (a byte that is not UTF-8 counts as one). */
static size_t utf8_prefix(const char *s, size_t n, size_t max)
{
    size_t i = 0;

    if (n <= max)
        return n;
    while (i < n) {
        uint32_t cp;
        size_t k = mail_utf8_decode(s + i, n - i, &cp);

        if (k == 0)
            k = 1;
        if (i + k > max)
            break;
        i += k;
    }
    return i;
}

/* See mail/render.h. */
int mail_render_save_name(const struct mail_part *p, char **stem,
                          char **ext)
{
    struct mail_buf b = MAIL_BUF_INIT;
    const char *name = p->filename ? p->filename : "", *base = name, *dot;
    size_t i, start, end, extlen = 0, len;

    for (const char *q = name; *q; q++)
        if (*q == '/' || *q == '\\')
            base = q + 1;
    len = strlen(base);
    for (i = 0; i < len;) {
        uint32_t cp;
        size_t n = mail_utf8_decode(base + i, len - i, &cp);

        if (n == 0) {
            mail_buf_addch(&b, '_');
            i++;
        } else {
            if (bad_name_char(cp))
                mail_buf_addch(&b, '_');
            else
                mail_buf_add(&b, base + i, n);
            i += n;
        }
    }
    start = 0;
    while (start < b.len && strchr(".- \t", b.data[start]))
        start++;
    end = b.len;
    while (end > start && (b.data[end - 1] == ' ' || b.data[end - 1] == '.'))
        end--;
    if (start == end) {
        char num[64];
        size_t k;

        mail_snprintf(num, sizeof num, "attachment-%s", p->number);
        for (k = 0; num[k]; k++)
            if (num[k] == '.')
                num[k] = '-';
        *stem = strdup(num);
        *ext = strdup(extension_for(p->type));
        mail_buf_release(&b);
        return *stem && *ext ? 0 : -1;
    }
    /* An extension: the last dot, not first, at most 16 bytes. */
    dot = memrchr(b.data + start, '.', end - start);
    if (dot && dot > b.data + start && (size_t)(b.data + end - dot) <= 16)
        extlen = (size_t)(b.data + end - dot);
    /* Room for " (9999)". */
    len = utf8_prefix(b.data + start, end - start - extlen,
                      MAIL_RENDER_NAME_MAX - extlen - 7);
    *stem = strndup(b.data + start, len);
    *ext = strndup(b.data + end - extlen, extlen);
    mail_buf_release(&b);
    return *stem && *ext ? 0 : -1;
}

/* Create the file for a part in DIR, never replacing anything: O_EXCL,
 * and " (1)", " (2)"... before the extension while the name is taken.
 * Returns the fd and the name (malloc'd) or -1 with errno. */
int mail_render_create_unique(int dirfd, const char *stem, const char *ext,
                              char **name)
{
    for (unsigned k = 0; k < 10000; k++) {
        char *n;
        int fd;

        if (k == 0) {
            if (asprintf(&n, "%s%s", stem, ext) < 0)
                return -1;
        } else if (asprintf(&n, "%s (%u)%s", stem, k, ext) < 0) {
            return -1;
        }
        fd = openat(dirfd, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
                              O_CLOEXEC, 0666);
        if (fd >= 0) {
            *name = n;
            return fd;
        }
        free(n);
        if (errno != EEXIST)
            return -1;
    }
    errno = EEXIST;
    return -1;
}

int mail_render_save_part(int dirfd, const char *dirname, int msgfd,
                          const struct mail_part *p, char **name_out,
                          struct mail_error *err)
{
    char *stem = NULL, *ext = NULL, *name = NULL;
    int fd, rc = 0;
    struct mail_fd_sink fo;
    char path[4096];

    mail_error_clear(err);
    *name_out = NULL;
    if (mail_render_save_name(p, &stem, &ext) < 0) {
        free(stem);
        free(ext);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    fd = mail_render_create_unique(dirfd, stem, ext, &name);
    if (fd < 0) {
        rc = mail_error_set(err, MAIL_ERR_CANTCREAT, "%s/%s%s: %s", dirname,
                            stem, ext, strerror(errno));
        goto out;
    }
    mail_snprintf(path, sizeof path, "%s/%s", dirname, name);
    fo.fd = fd;
    fo.name = path;
    fo.failed = false;
    /* A read error (-2), or the write failed (a full disk: err names the
     * file). */
    if (mail_part_decode_fd(p, msgfd, 0, mail_fd_sink_write, &fo, err) < 0)
        rc = fo.failed ? -1 : -2;
    if (close(fd) < 0 && !rc)
        rc = mail_error_set(err, MAIL_ERR_IO, "%s/%s: %s", dirname, name,
                            strerror(errno));
    if (rc) {
        /* No half-written attachment is left behind. */
        unlinkat(dirfd, name, 0);
        goto out;
    }
    *name_out = name;
    name = NULL;
out:
    free(stem);
    free(ext);
    free(name);
    return rc;
}
