/*
 * draft.c - a draft as a whole message and back (mail/draft.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/address.h"
#include "mail/compose.h"
#include "mail/draft.h"
#include "mail/fsutil.h"
#include "mail/header.h"
#include "mail/rfc2047.h"

static int oom(struct mail_error *err)
{
    return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
}

int mail_draft_attach_add(struct mail_draft *d, const char *path,
                          struct mail_error *err)
{
    char **nv = realloc(d->attach, (d->nattach + 1) * sizeof *nv);

    if (!nv)
        return oom(err);
    d->attach = nv;
    if (!(nv[d->nattach] = strdup(path)))
        return oom(err);
    d->nattach++;
    return 0;
}

void mail_draft_attach_remove(struct mail_draft *d, size_t i)
{
    if (i >= d->nattach)
        return;
    free(d->attach[i]);
    memmove(d->attach + i, d->attach + i + 1,
            (d->nattach - i - 1) * sizeof *d->attach);
    d->nattach--;
}

/* ---- writing ---- */

/* A sink into a file; a failed write names it ("temporary file: No space
 * left on device"). */
struct fdsink {
    int fd;
    const char *name;
};

static int fdsink_write(void *ctx, const char *data, size_t len,
                        struct mail_error *err)
{
    struct fdsink *s = ctx;

    if (mail_write_all(s->fd, data, len) < 0)
        return mail_error_set(err, MAIL_ERR_IO, "%.300s: %s", s->name,
                              strerror(errno ? errno : EIO));
    return 0;
}

static const char *kind_name(enum mail_draft_kind k)
{
    return k == MAIL_DRAFT_REPLY ? "reply"
         : k == MAIL_DRAFT_FORWARD ? "forward" : "new";
}

/* A value that can go into a header field as it is: printable ASCII. */
static bool plain_value(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

/* "Name: value" into a new string of hdr[]. */
static int add_field(char **hdr, size_t *n, const char *name,
                     const char *value)
{
    struct mail_buf b = MAIL_BUF_INIT;

    if (mail_buf_printf(&b, "%s: %s", name, value) < 0) {
        mail_buf_release(&b);
        return -1;
    }
    hdr[(*n)++] = mail_buf_detach(&b);
    return 0;
}

int mail_draft_message_write(const struct mail_draft *d,
                             const struct mail_draft_msg_opts *o,
                             mail_sink_fn sink, void *ctx,
                             struct mail_error *err)
{
    char *hdr[8] = { NULL };
    size_t nh = 0;
    const char *to[1], *cc[1];
    struct mail_compose c;
    struct mail_addrlist bl = MAIL_ADDRLIST_INIT;
    struct mail_buf bcc = MAIL_BUF_INIT;
    int body = -1, rfc = o->rfc822_fd, own_rfc = -1, whole = -1, rc = -1;

    if (d->in_reply_to && *d->in_reply_to &&
        add_field(hdr, &nh, "In-Reply-To", d->in_reply_to) < 0)
        goto nomem;
    if (d->references && *d->references &&
        add_field(hdr, &nh, "References", d->references) < 0)
        goto nomem;
    if (d->bcc && *d->bcc) {
        /* Names encoded as the composer does To and Cc. */
        if (mail_compose_parse_addrs(&bl, d->bcc, err) < 0) {
            mail_error_prefix(err, "Bcc");
            goto done;
        }
        if (mail_addrlist_format(&bcc, &bl) < 0 ||
            mail_buf_addstr(&bcc, "") < 0)
            goto nomem;
    }
    if (o->postpone) {
        if (add_field(hdr, &nh, "X-Mail-Draft", kind_name(d->kind)) < 0)
            goto nomem;
        if (d->orig_id && *d->orig_id && plain_value(d->orig_id) &&
            add_field(hdr, &nh, "X-Mail-Draft-Original", d->orig_id) < 0)
            goto nomem;
        if (d->orig_folder && *d->orig_folder &&
            plain_value(d->orig_folder) &&
            add_field(hdr, &nh, "X-Mail-Draft-Folder", d->orig_folder) < 0)
            goto nomem;
    }
    for (size_t i = 0; i < nh; i++)
        if (!hdr[i])
            goto nomem;
    memset(&c, 0, sizeof c);
    to[0] = d->to;
    cc[0] = d->cc;
    c.from = o->from;
    c.to = to;
    c.nto = d->to && *d->to ? 1 : 0;
    c.cc = cc;
    c.ncc = d->cc && *d->cc ? 1 : 0;
    c.subject = d->subject;
    c.headers = (const char *const *)hdr;
    c.nheaders = nh;
    c.id_domain = o->id_domain;
    c.mime_types = o->mime_types;
    c.attach = (const char *const *)d->attach;
    c.nattach = d->nattach;
    if ((body = mail_tmpfile(o->tmp_dir, err)) < 0)
        goto done;
    if (d->body.len && mail_write_all(body, d->body.data, d->body.len) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "temporary file: %s",
                       strerror(errno));
        goto done;
    }
    c.body_fd = body;
    if (rfc < 0 && d->rfc822) {
        if ((own_rfc = open(d->rfc822, O_RDONLY | O_CLOEXEC)) < 0) {
            mail_error_set(err, errno == ENOENT ? MAIL_ERR_NOTFOUND
                                                : MAIL_ERR_IO,
                           "%.300s: %s", d->rfc822, strerror(errno));
            goto done;
        }
        rfc = own_rfc;
    }
    /* The composer takes no Bcc field: it goes first, folded. */
    if (bcc.len) {
        struct mail_buf f = MAIL_BUF_INIT;
        int r = mail_compose_fold(&f, "Bcc", bcc.data);

        if (r == 0 && sink(ctx, f.data, f.len, err) < 0)
            r = -1;     /* the sink's error */
        else if (r < 0)
            oom(err);
        mail_buf_release(&f);
        if (r < 0)
            goto done;
    }
    if (rfc < 0) {
        rc = mail_compose_write(&c, sink, ctx, err);
        goto done;
    }
    /* The forwarded message goes around the composed one. */
    {
        struct fdsink fs = { -1, "temporary file" };

        if ((whole = fs.fd = mail_tmpfile(o->tmp_dir, err)) < 0)
            goto done;
        if (mail_compose_write(&c, fdsink_write, &fs, err) < 0)
            goto done;
        rc = mail_forward_attach_write(whole, rfc, sink, ctx, err);
    }
    goto done;
nomem:
    oom(err);
done:
    for (size_t i = 0; i < nh; i++)
        free(hdr[i]);
    if (body >= 0)
        close(body);
    if (own_rfc >= 0)
        close(own_rfc);
    if (whole >= 0)
        close(whole);
    mail_addrlist_release(&bl);
    mail_buf_release(&bcc);
    return rc;
}

/* ---- reading back ---- */

/* The decoded value of a header field as a new string ("" when absent). */
static char *text_field(const struct mail_header *h, const char *name)
{
    const char *v = mail_header_get(h, name);
    struct mail_buf b = MAIL_BUF_INIT;

    if (!v)
        return strdup("");
    if (mail_rfc2047_decode(&b, v, strlen(v)) < 0 ||
        mail_buf_addstr(&b, "") < 0) {
        mail_buf_release(&b);
        return NULL;
    }
    return mail_buf_detach(&b);
}

static char *addr_field(const struct mail_header *h, const char *name,
                        struct mail_error *err)
{
    const char *v = mail_header_get(h, name);
    struct mail_buf b = MAIL_BUF_INIT;

    if (!v)
        return strdup("");
    if (mail_draft_addrs(&b, v, err) < 0 || mail_buf_addstr(&b, "") < 0) {
        mail_buf_release(&b);
        return NULL;
    }
    return mail_buf_detach(&b);
}

/* A raw field as a new string, or NULL (also when absent: *ok stays). */
static int raw_field(const struct mail_header *h, const char *name,
                     char **out)
{
    const char *v = mail_header_get(h, name);

    *out = NULL;
    if (!v || !*v)
        return 0;
    return (*out = strdup(v)) ? 0 : -1;
}

/* The part after p's whole subtree in pre-order. */
static const struct mail_part *skip_subtree(const struct mail_part *p)
{
    while (p && !p->next)
        p = p->parent;
    return p ? p->next : NULL;
}

/* A part's file name made safe as one path component. */
static int safe_name(struct mail_buf *out, const char *name, unsigned n)
{
    size_t len = name ? strlen(name) : 0;

    if (len > 200)
        len = 200;
    if (!name || len == 0 || strcmp(name, ".") == 0 ||
        strcmp(name, "..") == 0)
        return mail_buf_printf(out, "attachment-%u", n);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)name[i];

        if (mail_buf_addch(out, ch == '/' || ch < 0x20 || ch == 0x7f
                                    ? '_' : (char)ch) < 0)
            return -1;
    }
    return mail_buf_addstr(out, "");
}

/* Decode part p of fd into DIR/n/NAME; *path gets the path. */
static int save_part(const struct mail_part *p, int fd, const char *dir,
                     unsigned n, const char *name, char **path,
                     struct mail_error *err)
{
    struct mail_buf b = MAIL_BUF_INIT;
    struct fdsink fs = { -1, 0 };
    int r = -1;

    *path = NULL;
    if (mail_buf_printf(&b, "%s/%u", dir, n) < 0)
        goto nomem;
    if (mkdir(b.data, 0700) < 0 && errno != EEXIST) {
        mail_error_set(err, MAIL_ERR_IO, "%.300s: %s", b.data,
                       strerror(errno));
        goto done;
    }
    if (mail_buf_addch(&b, '/') < 0 || safe_name(&b, name, n) < 0)
        goto nomem;
    fs.fd = open(b.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fs.fd < 0) {
        mail_error_set(err, MAIL_ERR_IO, "%.300s: %s", b.data,
                       strerror(errno));
        goto done;
    }
    fs.name = b.data;
    if (mail_part_decode_fd(p, fd, 0, fdsink_write, &fs, err) < 0)
        goto done;      /* a read error, or the file's (fdsink_write) */
    if (close(fs.fd) < 0) {
        fs.fd = -1;
        mail_error_set(err, MAIL_ERR_IO, "%.300s: %s", b.data,
                       strerror(errno));
        goto done;
    }
    fs.fd = -1;
    *path = mail_buf_detach(&b);
    r = 0;
    goto done;
nomem:
    oom(err);
done:
    if (fs.fd >= 0)
        close(fs.fd);
    mail_buf_release(&b);
    return r;
}

int mail_draft_from_message(int fd, const struct mail_mime *m,
                            const char *dir, struct mail_draft *d,
                            struct mail_error *err)
{
    const struct mail_part *root = mail_mime_root(m), *p;
    const struct mail_header *h;
    struct mail_draft nd = MAIL_DRAFT_INIT;
    const char *kind;
    bool have_body = false;
    unsigned n = 0;

    if (!root)
        return mail_error_set(err, MAIL_ERR_DATA, "the draft is empty");
    h = &root->header;
    if (!(nd.to = addr_field(h, "to", err)) ||
        !(nd.cc = addr_field(h, "cc", err)) ||
        !(nd.bcc = addr_field(h, "bcc", err)))
        goto fail;
    if (!(nd.subject = text_field(h, "subject")) ||
        raw_field(h, "in-reply-to", &nd.in_reply_to) < 0 ||
        raw_field(h, "references", &nd.references) < 0 ||
        raw_field(h, "x-mail-draft-original", &nd.orig_id) < 0 ||
        raw_field(h, "x-mail-draft-folder", &nd.orig_folder) < 0)
        goto nomem;
    kind = mail_header_get(h, "x-mail-draft");
    nd.kind = !kind ? (nd.in_reply_to ? MAIL_DRAFT_REPLY : MAIL_DRAFT_NEW)
            : mail_strncasecmp(kind, "reply", 6) == 0 ? MAIL_DRAFT_REPLY
            : mail_strncasecmp(kind, "forward", 8) == 0 ? MAIL_DRAFT_FORWARD
            : MAIL_DRAFT_NEW;
    if (nd.kind == MAIL_DRAFT_REPLY && !nd.orig_id && nd.in_reply_to &&
        !(nd.orig_id = strdup(nd.in_reply_to)))
        goto nomem;
    for (p = root; p;) {
        char *path;

        if (p != root && p->type && strcmp(p->type, "message/rfc822") == 0) {
            /* Byte for byte; its own parts are not ours. */
            if (save_part(p, fd, dir, ++n, nd.rfc822 ? p->filename
                                                     : "forwarded.eml",
                          &path, err) < 0)
                goto fail;
            if (!nd.rfc822)
                nd.rfc822 = path;
            else if (mail_draft_attach_add(&nd, path, err) < 0) {
                free(path);
                goto fail;
            }
            else
                free(path);
            p = skip_subtree(p);
            continue;
        }
        if (mail_part_is_multipart(p)) {
            p = mail_part_next(p);
            continue;
        }
        if (!have_body && p->type && strcmp(p->type, "text/plain") == 0 &&
            !(p->disposition && strcmp(p->disposition, "attachment") == 0) &&
            !p->filename) {
            if (mail_part_decode_fd(p, fd, MAIL_DECODE_TEXT, mail_sink_buf,
                                    &nd.body, err) < 0)
                goto fail;
            have_body = true;
        } else if (p->body_end > p->body_start || p->filename) {
            if (save_part(p, fd, dir, ++n, p->filename, &path, err) < 0)
                goto fail;
            if (mail_draft_attach_add(&nd, path, err) < 0) {
                free(path);
                goto fail;
            }
            free(path);
        }
        p = mail_part_next(p);
    }
    if (mail_buf_addstr(&nd.body, "") < 0)
        goto nomem;
    mail_draft_release(d);
    *d = nd;
    return 0;
nomem:
    oom(err);
fail:
    if (err && err->kind == MAIL_OK)
        oom(err);
    mail_draft_release(&nd);
    return -1;
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

void mail_draft_dir_remove(const char *dir)
{
    if (dir && *dir)
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
