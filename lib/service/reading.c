/*
 * reading.c - a message of a folder read, and one of its parts written
 * out, for `mail read` and the reader (mail/reading.h).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/date.h"
#include "mail/header.h"
#include "mail/reading.h"
#include "mail/sink.h"
#include "mail/termsafe.h"

static int nomem(struct mail_error *err)
{
    return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
}

void mail_reading_release(struct mail_reading *m)
{
    mail_mime_free(m->mime);
    m->mime = NULL;
    if (m->fd >= 0)
        close(m->fd);
    m->fd = -1;
    mail_part_sizes_release(&m->sizes);
}

int mail_reading_open_fd(int fd, const char *label, struct mail_reading *m,
                         struct mail_error *err)
{
    m->fd = fd;
    if (!(m->mime = mail_render_parse(fd, label, err))) {
        mail_reading_release(m);
        return -1;
    }
    return 0;
}

int mail_reading_open_file(const char *path, const char *label,
                           const char *tmpdir, bool parse,
                           struct mail_reading *m, struct mail_error *err)
{
    struct stat st;
    int fd;

    m->fd = -1;
    m->mime = NULL;
    if (strcmp(path, "-") == 0) {
        fd = mail_render_spool(STDIN_FILENO, tmpdir, label, err);
        if (fd < 0)
            return -1;
    } else {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return mail_error_set(err, errno == ENOENT ? MAIL_ERR_NOTFOUND
                                                       : MAIL_ERR_IO,
                                  "%s: %s", path, strerror(errno));
        if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
            close(fd);
            return 1;
        }
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
            /* a pipe (mail read <(...)): copy it first */
            int copy = mail_render_spool(fd, tmpdir, label, err);

            close(fd);
            if (copy < 0)
                return -1;
            fd = copy;
        }
    }
    m->fd = fd;
    if (parse)
        return mail_reading_open_fd(fd, label, m, err);
    return 0;
}

void mail_reading_file_envelope(const struct mail_reading *m,
                                const char *path, struct mail_envelope *e)
{
    const struct mail_header *h = &mail_mime_root(m->mime)->header;
    const char *date = mail_header_get(h, "date");
    struct stat st;

    memset(e, 0, sizeof *e);
    e->path = (char *)path;
    e->size = fstat(m->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    e->has_date = date && mail_date_parse(date, &e->date,
                                          &e->date_offset) == 0;
    e->from = (char *)mail_header_get(h, "from");
    e->to = (char *)mail_header_get(h, "to");
    e->cc = (char *)mail_header_get(h, "cc");
    e->subject = (char *)mail_header_get(h, "subject");
    e->message_id = (char *)mail_header_get(h, "message-id");
}

int mail_reading_mark_seen(struct mail_folder *f, struct mail_envelope *e,
                           struct mail_error *err)
{
    if ((e->flags & MAIL_FLAG_SEEN) && !(e->flags & MAIL_FLAG_NEW))
        return 0;
    return mail_folder_set_flags(f, e, MAIL_FLAG_SEEN, 0, err);
}

int mail_reading_open(struct mail_folder *f, const struct mail_envelope *e,
                      int what, const char *part, const char *label,
                      struct mail_reading *m, struct mail_error *err)
{
    m->fd = -1;
    m->mime = NULL;
    if (mail_folder_message_read(f, e, what, part, &m->fd, &m->sizes,
                                 err) < 0) {
        mail_error_prefix(err, "message %s", label);
        mail_reading_release(m);
        return -1;
    }
    if (what == MAIL_FOLDER_READ_ALL)
        return 0;
    return mail_reading_open_fd(m->fd, label, m, err);
}

const struct mail_part *mail_reading_part(const struct mail_reading *m,
                                          const char *number,
                                          const char *label,
                                          struct mail_error *err)
{
    const struct mail_part *p = m->mime ? mail_mime_find(m->mime, number)
                                        : NULL;

    if (!p)
        mail_error_set(err, MAIL_ERR_NOTFOUND, "message %s has no part %s",
                       label, number);
    return p;
}

/* p decoded into out (named name in errors: NULL for a temporary file);
 * a read error of the message is MAIL_ERR_IO. */
static int write_part(const struct mail_reading *m, const struct mail_part *p,
                      int out, const char *name, struct mail_error *err)
{
    struct mail_fd_sink fs = { .fd = out, .name = name };

    if (mail_render_write_part(m->fd, p, false, mail_fd_sink_write, &fs,
                               err) < 0) {
        if (!err->kind)
            mail_error_set(err, MAIL_ERR_IO, "could not read the message");
        return -1;
    }
    return 0;
}

int mail_reading_save_part(const struct mail_reading *m,
                           const struct mail_part *p, const char *path,
                           char **saved, struct mail_error *err)
{
    struct stat st;
    int out, rc;

    *saved = NULL;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        int dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (dirfd < 0)
            return mail_error_set(err, MAIL_ERR_CANTCREAT, "%s: %s", path,
                                  strerror(errno));
        rc = mail_render_save_part(dirfd, path, m->fd, p, saved, err);
        close(dirfd);
        return rc < 0 ? -1 : 0;
    }
    out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0)
        return mail_error_set(err, MAIL_ERR_CANTCREAT, "%s: %s", path,
                              strerror(errno));
    rc = write_part(m, p, out, path, err);
    if (close(out) < 0 && rc == 0)
        rc = mail_error_set(err, MAIL_ERR_IO, "%s: %s", path,
                            strerror(errno));
    if (rc < 0)
        unlink(path);   /* no half file left behind */
    return rc;
}

int mail_reading_part_temp(const struct mail_reading *m,
                           const struct mail_part *p, const char *tmpdir,
                           int *fd, struct mail_error *err)
{
    char tmp[512];
    int out = mail_render_temp(tmpdir, ".part", tmp, sizeof tmp);

    *fd = -1;
    if (out < 0)
        return mail_error_set(err, MAIL_ERR_IO, "temporary file: %s",
                              strerror(errno));
    unlink(tmp);
    if (write_part(m, p, out, NULL, err) < 0) {
        close(out);
        return -1;
    }
    if (lseek(out, 0, SEEK_SET) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "temporary file: %s",
                       strerror(errno));
        close(out);
        return -1;
    }
    *fd = out;
    return 0;
}

/* The suffix of the viewer's file: ".EXT", the file name's extension
 * when it is short and plain, else ".part" (mail_render_temp puts the
 * suffix as it is: the reader gave "bin", a name without its dot). */
static void part_suffix(const struct mail_part *p, char *out, size_t size)
{
    const char *dot = p->filename ? strrchr(p->filename, '.') : NULL;
    size_t n = dot ? strlen(dot + 1) : 0;
    bool plain = n > 0 && n < 10 && n + 1 < size;

    for (size_t i = 0; plain && i < n; i++)
        plain = isalnum((unsigned char)dot[1 + i]) != 0;
    snprintf(out, size, "%s", plain ? dot : ".part");
}

void mail_part_view_release(struct mail_part_view *v)
{
    free(v->command);
    v->command = NULL;
    if (v->fd >= 0)
        close(v->fd);
    v->fd = -1;
    mail_buf_release(&v->output);
    v->copious = false;
}

int mail_reading_part_view(const struct mail_reading *m,
                           const struct mail_part *p, const char *mailcaps,
                           unsigned timeout, const char *tmpdir,
                           struct mail_part_view *v, struct mail_error *err)
{
    const char *type = p->type ? p->type : "text/plain";
    struct mail_mailcap mc;
    char suffix[16], tmp[512], *cmd;
    bool uses_file;
    int out, rc;

    v->command = NULL;
    v->fd = -1;
    v->copious = false;
    rc = mail_render_mailcap_find(mailcaps, type, 0, timeout, &mc, err);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        struct mail_buf t = MAIL_BUF_INIT;

        mail_term_safe(&t, type, strlen(type), MAIL_SAFE_ONELINE);
        mail_error_set(err, MAIL_ERR_NOTFOUND, "no mailcap entry for %s",
                       t.data ? t.data : "");
        mail_buf_release(&t);
        return -1;
    }
    part_suffix(p, suffix, sizeof suffix);
    if ((out = mail_render_temp(tmpdir, suffix, tmp, sizeof tmp)) < 0) {
        free(mc.command);
        return mail_error_set(err, MAIL_ERR_IO, "temporary file: %s",
                              strerror(errno));
    }
    rc = write_part(m, p, out, NULL, err);
    if (rc == 0 && lseek(out, 0, SEEK_SET) < 0)
        rc = mail_error_set(err, MAIL_ERR_IO, "temporary file: %s",
                            strerror(errno));
    cmd = rc == 0 ? mail_render_mailcap_command(mc.command, type, tmp,
                                                &uses_file) : NULL;
    free(mc.command);
    if (rc == 0 && !cmd)
        rc = nomem(err);
    if (rc < 0) {
        close(out);
        unlink(tmp);
        return -1;
    }
    if (mc.copiousoutput) {
        /* Its output, for a pager; the file goes in every case. */
        close(out);
        v->copious = true;
        rc = mail_render_mailcap_output(cmd, tmp, timeout, &v->output, err);
        free(cmd);
        return rc < 0 ? -1 : 0;
    }
    v->command = mail_render_mailcap_shell(cmd, tmp);
    free(cmd);
    if (!v->command) {
        close(out);
        unlink(tmp);
        return nomem(err);
    }
    v->fd = out;
    return 0;
}
