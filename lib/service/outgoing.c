/*
 * outgoing.c - spooling, sender addresses and the sent copy for sending
 * (outgoing.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/compose.h"
#include "mail/folder.h"
#include "mail/fsutil.h"
#include "mail/outgoing.h"

int mail_spool_tmpfile(const struct mail_paths *paths,
                       struct mail_error *err)
{
    return mail_tmpfile(mail_paths_tmp_dir(paths), err);
}

int mail_fd_sink_write(void *ctx, const char *data, size_t len)
{
    struct mail_fd_sink *s = ctx;

    while (len) {
        ssize_t n = write(s->fd, data, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            s->error = errno;
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

void mail_fd_sink_explain(const struct mail_fd_sink *s,
                          struct mail_error *err)
{
    if (s->error)
        mail_error_set(err, MAIL_ERR_IO, "temporary file: %s",
                       strerror(s->error));
}

int mail_spool_fd(const struct mail_paths *paths, int in, bool dots,
                  int *out, struct mail_error *err)
{
    char buf[65536];
    struct mail_fd_sink fs = { -1, 0 };
    bool bol = true;
    int fd = mail_spool_tmpfile(paths, err);

    if (fd < 0)
        return -1;
    fs.fd = fd;
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        size_t len;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            mail_error_set(err, MAIL_ERR_IO, "standard input: %s",
                           strerror(errno));
            goto fail;
        }
        if (n == 0)
            break;
        len = (size_t)n;
        if (dots) {
            /* Look for "\n.\n" (or ".\n" at the start). */
            for (size_t i = 0; i < len; i++) {
                if (bol && buf[i] == '.' &&
                    ((i + 1 < len && buf[i + 1] == '\n') ||
                     (i + 2 < len && buf[i + 1] == '\r' &&
                      buf[i + 2] == '\n'))) {
                    len = i;
                    dots = false;
                    n = 0;
                    break;
                }
                bol = buf[i] == '\n';
            }
        }
        if (mail_fd_sink_write(&fs, buf, len) < 0) {
            mail_fd_sink_explain(&fs, err);
            goto fail;
        }
        if (n == 0)
            break;
    }
    *out = fd;
    return 0;
fail:
    close(fd);
    return -1;
}

int mail_envelope_from(const char *opt_from, const struct mail_account *a,
                       const char *msg_from, char **out,
                       struct mail_error *err)
{
    const char *src = opt_from ? opt_from
                    : a && a->address ? a->address : NULL;
    struct mail_addrlist l = MAIL_ADDRLIST_INIT;

    if (!src) {
        if (msg_from && *msg_from) {
            *out = strdup(msg_from);
            return *out ? 0 : mail_error_set(err, MAIL_ERR_INTERNAL, "oom");
        }
        return mail_error_set(err, MAIL_ERR_CONFIG, "no sender address: set "
                              "address in the account or give -f ADDR");
    }
    if (mail_compose_parse_addrs(&l, src, err) < 0) {
        mail_addrlist_release(&l);
        return mail_error_prefix(err, "sender");
    }
    *out = strdup(l.v[0].addr);
    mail_addrlist_release(&l);
    return *out ? 0 : mail_error_set(err, MAIL_ERR_INTERNAL, "oom");
}

int mail_header_from(const char *opt_from, const char *name,
                     const struct mail_account *a, struct mail_buf *out)
{
    const char *src = opt_from ? opt_from
                    : a && a->address ? a->address : NULL;

    if (!src)
        return 0;
    if (name && *name && !strchr(src, '<')) {
        struct mail_addrlist l = MAIL_ADDRLIST_INIT;
        int r;

        if (mail_addrlist_parse(&l, src, NULL) < 0 || l.n == 0) {
            mail_addrlist_release(&l);
            return -1;
        }
        r = mail_address_format(out, name, l.v[0].addr);
        mail_addrlist_release(&l);
        return r;
    }
    return mail_buf_addstr(out, src);
}

int mail_sent_save(const struct mail_account *a, int fd,
                   const struct mail_buf *bcc, char **where,
                   struct mail_error *err)
{
    struct mail_folder *f = NULL;
    struct mail_append *ap = NULL;
    char *path = NULL;
    char buf[65536];
    off_t off = 0;

    *where = NULL;
    if (!a->sent_folder || !*a->sent_folder)
        return 0;
    /* As trash-folder: a path when it starts with / or ~, else a folder
     * of the store ("=Sent" or "Sent"). */
    if (a->sent_folder[0] == '/' || a->sent_folder[0] == '~')
        path = mail_paths_expand_home(a->paths, a->sent_folder);
    else if (a->store && *a->store)
        path = mail_store_folder_path(a->store, a->sent_folder +
                                      (a->sent_folder[0] == '='), err);
    else
        mail_error_set(err, MAIL_ERR_CONFIG, "sent-folder '%s' is a folder "
                       "of the store, but account '%s' has no store",
                       a->sent_folder, a->name);
    if (!path) {
        if (err->kind == MAIL_OK)
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto fail;
    }
    f = mail_folder_open(path, MAIL_FOLDER_RDWR | MAIL_FOLDER_CREATE,
                         a->paths, err);
    if (!f)
        goto fail;
    ap = mail_folder_append_begin(f, MAIL_FLAG_SEEN, 0, err);
    if (!ap)
        goto fail;
    /* The copy shows the Bcc recipients, as the sender should see them. */
    if (bcc && bcc->len && mail_append_write(ap, bcc->data, bcc->len,
                                             err) < 0)
        goto fail;
    for (;;) {
        ssize_t n = pread(fd, buf, sizeof buf, off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            mail_error_set(err, MAIL_ERR_IO, "%s", strerror(errno));
            goto fail;
        }
        if (n == 0)
            break;
        if (mail_append_write(ap, buf, (size_t)n, err) < 0)
            goto fail;
        off += n;
    }
    if (mail_append_commit(ap, NULL, err) < 0) {
        ap = NULL;
        goto fail;
    }
    ap = NULL;
    if (mail_folder_close(f, err) < 0) {
        f = NULL;
        goto fail;
    }
    free(path);
    return 0;
fail:
    if (ap)
        mail_append_abort(ap);
    if (f)
        mail_folder_close(f, NULL);
    *where = path ? path : strdup(a->sent_folder);
    return -1;
}

/* The connection layer marks a loss where it sees one (net/conn.c: EOF,
 * reset, broken pipe, a TLS stream cut); the kind alone cannot tell it
 * from a refused connection or a 5xx reply (both MAIL_ERR_UNAVAIL). */
bool mail_error_connection_lost(const struct mail_error *e)
{
    return e->conn_lost;
}
