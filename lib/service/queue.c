/*
 * queue.c - the outgoing queue; see mail/queue.h.
 */
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mail/buf.h"
#include "mail/queue.h"
#include "mail/fsutil.h"

#define QUEUE_MAGIC "mail-queue 1\n"
#define ENVELOPE_MAX (1024 * 1024)

char *mail_queue_default_dir(const struct mail_paths *paths,
                             struct mail_error *err)
{
    return mail_paths_mail_dir(paths, MAIL_PATHS_DATA, "queue", "the queue",
                               err);
}

/* An envelope value must be one line. */
static bool one_line(const char *s)
{
    return !strpbrk(s, "\r\n");
}

/* The envelope lines of a message that gets its Sent copy (and its
 * recipients collected) when a flush sends it: "sent-copy yes", then
 * each line of the Bcc fields the copy shows as "bcc LINE". */
static int add_copy_lines(struct mail_buf *env, const struct mail_buf *bcc)
{
    const char *p, *end;

    if (mail_buf_addstr(env, "sent-copy yes\n") < 0)
        return -1;
    if (!bcc || !bcc->len)
        return 0;
    p = bcc->data;
    end = bcc->data + bcc->len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *e = eol ? eol : end;

        if (e > p && e[-1] == '\r')
            e--;
        if (e > p && (mail_buf_addstr(env, "bcc ") < 0 ||
                      mail_buf_add(env, p, (size_t)(e - p)) < 0 ||
                      mail_buf_addch(env, '\n') < 0))
            return -1;
        p = eol ? eol + 1 : end;
    }
    return 0;
}

int mail_queue_add(const char *dir, const char *account, const char *from,
                   const char *const *rcpts, size_t nrcpts, int fd,
                   off_t offset, char **id, struct mail_error *err)
{
    return mail_queue_add_sent(dir, account, from, rcpts, nrcpts, false,
                               NULL, fd, offset, id, err);
}

int mail_queue_add_sent(const char *dir, const char *account,
                        const char *from, const char *const *rcpts,
                        size_t nrcpts, bool sent_copy,
                        const struct mail_buf *bcc, int fd, off_t offset,
                        char **id, struct mail_error *err)
{
    struct mail_buf env = MAIL_BUF_INIT, tmp = MAIL_BUF_INIT,
                    final = MAIL_BUF_INIT, name = MAIL_BUF_INIT,
                    tmpdir = MAIL_BUF_INIT;
    unsigned char rnd[6] = { 0 };
    struct timespec ts;
    char buf[65536];
    int out = -1, rc = -1;

    if (!one_line(account ? account : "") || !one_line(from))
        return mail_error_set(err, MAIL_ERR_USAGE, "bad envelope");
    for (size_t i = 0; i < nrcpts; i++)
        if (!one_line(rcpts[i]))
            return mail_error_set(err, MAIL_ERR_USAGE, "bad envelope");
    if (mail_buf_printf(&tmpdir, "%s/tmp", dir) < 0)
        goto nomem;
    if (mail_mkdirs(tmpdir.data, err) < 0)
        goto done;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (getrandom(rnd, sizeof rnd, 0) < 0)
        rnd[0] = (unsigned char)ts.tv_nsec;
    /* Names sort by time: a flush sends the oldest first. */
    if (mail_buf_printf(&name, "%012lld.%09ld.%d.%02x%02x%02x%02x%02x%02x",
                        (long long)ts.tv_sec, ts.tv_nsec, (int)getpid(),
                        rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]) < 0 ||
        mail_buf_printf(&tmp, "%s/%s", tmpdir.data, name.data) < 0 ||
        mail_buf_printf(&final, "%s/%s", dir, name.data) < 0)
        goto nomem;
    if (mail_buf_printf(&env, QUEUE_MAGIC "account %s\nfrom %s\n",
                        account ? account : "", from) < 0)
        goto nomem;
    for (size_t i = 0; i < nrcpts; i++)
        if (mail_buf_printf(&env, "rcpt %s\n", rcpts[i]) < 0)
            goto nomem;
    if (sent_copy && add_copy_lines(&env, bcc) < 0)
        goto nomem;
    if (mail_buf_addch(&env, '\n') < 0)
        goto nomem;

    out = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        mail_error_set(err, MAIL_ERR_CANTCREAT, "%s: %s", tmp.data,
                       strerror(errno));
        goto done;
    }
    if (mail_write_all(out, env.data, env.len) < 0)
        goto ioerr;
    for (;;) {
        ssize_t n = pread(fd, buf, sizeof buf, offset);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            mail_error_set(err, MAIL_ERR_IO, "reading the message: %s",
                           strerror(errno));
            goto unlink;
        }
        if (n == 0)
            break;
        if (mail_write_all(out, buf, (size_t)n) < 0)
            goto ioerr;
        offset += n;
    }
    if (fsync(out) < 0)
        goto ioerr;
    if (close(out) < 0) {
        out = -1;
        goto ioerr;
    }
    out = -1;
    if (rename(tmp.data, final.data) < 0)
        goto ioerr;
    if (mail_fsync_dir(dir, err) < 0) {
        /* It is in the queue, but maybe not durably: say so. */
        goto done;
    }
    if (id) {
        *id = mail_buf_detach(&name);
        if (!*id)
            goto nomem;
    }
    rc = 0;
    goto done;
ioerr:
    mail_error_set(err, MAIL_ERR_IO, "%s: %s", tmp.data, strerror(errno));
unlink:
    if (out >= 0)
        close(out);
    out = -1;
    unlink(tmp.data);
    goto done;
nomem:
    mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
done:
    if (out >= 0)
        close(out);
    mail_buf_release(&env);
    mail_buf_release(&tmp);
    mail_buf_release(&final);
    mail_buf_release(&name);
    mail_buf_release(&tmpdir);
    return rc;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void mail_queue_names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int mail_queue_list(const char *dir, char ***names, size_t *n,
                    struct mail_error *err)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **v = NULL;
    size_t cnt = 0, alloc = 0;

    *names = NULL;
    *n = 0;
    if (!d) {
        if (errno == ENOENT)
            return 0;
        return mail_error_set(err, MAIL_ERR_IO, "%s: %s", dir,
                              strerror(errno));
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;     /* ".", "..", tmp, failed */
        if (cnt == alloc) {
            size_t na = alloc ? alloc * 2 : 16;
            char **nv = realloc(v, na * sizeof *v);

            if (!nv)
                goto nomem;
            v = nv;
            alloc = na;
        }
        if (!(v[cnt] = strdup(de->d_name)))
            goto nomem;
        cnt++;
    }
    closedir(d);
    if (cnt)
        if (cnt > 1)
            qsort(v, cnt, sizeof *v, cmp_names);
    *names = v;
    *n = cnt;
    return 0;
nomem:
    closedir(d);
    mail_queue_names_free(v, cnt);
    return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
}

void mail_queue_entry_release(struct mail_queue_entry *e)
{
    if (e->fd >= 0)
        close(e->fd);   /* drops the lock */
    e->fd = -1;
    free(e->path);
    free(e->name);
    free(e->account);
    free(e->from);
    for (size_t i = 0; i < e->nrcpts; i++)
        free(e->rcpts[i]);
    free(e->rcpts);
    mail_buf_release(&e->bcc);
    memset(e, 0, sizeof *e);
    e->fd = -1;
}

/* Move dir/name to dir/sub/name (sub: "failed" or "held"). */
static int move_to(const char *dir, const char *name, const char *sub,
                   struct mail_error *err)
{
    struct mail_buf from = MAIL_BUF_INIT, to = MAIL_BUF_INIT,
                    fdir = MAIL_BUF_INIT;
    int rc = -1;

    if (mail_buf_printf(&fdir, "%s/%s", dir, sub) < 0 ||
        mail_buf_printf(&from, "%s/%s", dir, name) < 0 ||
        mail_buf_printf(&to, "%s/%s/%s", dir, sub, name) < 0) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto done;
    }
    if (mail_mkdirs(fdir.data, err) < 0)
        goto done;
    if (rename(from.data, to.data) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "%s: %s", from.data,
                       strerror(errno));
        goto done;
    }
    rc = mail_fsync_dir(dir, err);
done:
    mail_buf_release(&from);
    mail_buf_release(&to);
    mail_buf_release(&fdir);
    return rc;
}

static int move_to_failed(const char *dir, const char *name,
                          struct mail_error *err)
{
    return move_to(dir, name, "failed", err);
}

/* Parse the envelope at the start of the file. */
static int parse_envelope(struct mail_queue_entry *e, struct mail_error *err)
{
    struct mail_buf b = MAIL_BUF_INIT;
    char buf[8192];
    off_t off = 0;
    char *p, *end;

    mail_buf_init(&b, ENVELOPE_MAX);
    for (;;) {
        ssize_t n = pread(e->fd, buf, sizeof buf, off);
        char *blank;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            mail_buf_release(&b);
            return mail_error_set(err, MAIL_ERR_IO, "%s: %s", e->path,
                                  strerror(errno));
        }
        if (n == 0 || mail_buf_add(&b, buf, (size_t)n) < 0)
            goto bad;
        off += n;
        if ((blank = memmem(b.data, b.len, "\n\n", 2)) != NULL) {
            b.len = (size_t)(blank - b.data) + 2;
            b.data[b.len] = '\0';
            break;
        }
    }
    if (strncmp(b.data, QUEUE_MAGIC, strlen(QUEUE_MAGIC)) != 0)
        goto bad;
    e->offset = (off_t)b.len;
    p = b.data + strlen(QUEUE_MAGIC);
    while ((end = strchr(p, '\n')) != NULL && end != p) {
        *end = '\0';
        if (strncmp(p, "account ", 8) == 0) {
            free(e->account);
            e->account = strdup(p + 8);
        } else if (strncmp(p, "from ", 5) == 0) {
            free(e->from);
            e->from = strdup(p + 5);
        } else if (strncmp(p, "rcpt ", 5) == 0) {
            char **nv = realloc(e->rcpts, (e->nrcpts + 1) * sizeof *nv);

            if (!nv)
                goto nomem;
            e->rcpts = nv;
            if (!(e->rcpts[e->nrcpts] = strdup(p + 5)))
                goto nomem;
            e->nrcpts++;
        } else if (strcmp(p, "sent-copy yes") == 0) {
            e->sent_copy = true;
        } else if (strncmp(p, "bcc ", 4) == 0) {
            if (mail_buf_addstr(&e->bcc, p + 4) < 0 ||
                mail_buf_addch(&e->bcc, '\n') < 0)
                goto nomem;
        }
        p = end + 1;
    }
    if (!e->account)
        e->account = strdup("");
    if (!e->account || !e->from || e->nrcpts == 0)
        goto bad;
    mail_buf_release(&b);
    return 0;
nomem:
    mail_buf_release(&b);
    return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
bad:
    mail_buf_release(&b);
    return mail_error_set(err, MAIL_ERR_DATA, "%s: not a queued message "
                          "(damaged envelope)", e->path);
}

int mail_queue_open(const char *dir, const char *name,
                    struct mail_queue_entry *e, struct mail_error *err)
{
    struct mail_buf path = MAIL_BUF_INIT;
    struct stat st;

    memset(e, 0, sizeof *e);
    e->fd = -1;
    if (mail_buf_printf(&path, "%s/%s", dir, name) < 0 ||
        !(e->name = strdup(name))) {
        mail_buf_release(&path);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    e->path = mail_buf_detach(&path);
    e->fd = open(e->path, O_RDONLY | O_CLOEXEC);
    if (e->fd < 0) {
        int rc = errno == ENOENT ? 1 : mail_error_set(err, MAIL_ERR_IO,
                                        "%s: %s", e->path, strerror(errno));
        mail_queue_entry_release(e);
        return rc;
    }
    if (flock(e->fd, LOCK_EX | LOCK_NB) < 0) {
        mail_queue_entry_release(e);
        return 1;   /* another flush is sending it */
    }
    /* Sent and removed by another process between our open and lock? */
    if (fstat(e->fd, &st) < 0 || st.st_nlink == 0) {
        mail_queue_entry_release(e);
        return 1;
    }
    if (parse_envelope(e, err) < 0) {
        if (err && err->kind == MAIL_ERR_DATA)
            move_to_failed(dir, name, NULL);
        mail_queue_entry_release(e);
        return -1;
    }
    return 0;
}

int mail_queue_done(struct mail_queue_entry *e, struct mail_error *err)
{
    char *dir = strdup(e->path);
    char *slash = dir ? strrchr(dir, '/') : NULL;
    int rc = 0;

    if (unlink(e->path) < 0 && errno != ENOENT)
        rc = mail_error_set(err, MAIL_ERR_IO, "%s: %s", e->path,
                            strerror(errno));
    if (rc == 0 && slash) {
        *slash = '\0';
        rc = mail_fsync_dir(*dir ? dir : "/", err);
    }
    free(dir);
    mail_queue_entry_release(e);
    return rc;
}

int mail_queue_fail(struct mail_queue_entry *e, struct mail_error *err)
{
    char *dir = strdup(e->path);
    char *slash = dir ? strrchr(dir, '/') : NULL;
    int rc = -1;

    if (slash) {
        *slash = '\0';
        rc = move_to_failed(dir, e->name, err);
    } else {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    free(dir);
    mail_queue_entry_release(e);
    return rc;
}

int mail_queue_hold(struct mail_queue_entry *e, char **path,
                    struct mail_error *err)
{
    char *dir = strdup(e->path);
    char *slash = dir ? strrchr(dir, '/') : NULL;
    struct mail_buf p = MAIL_BUF_INIT;
    int rc = -1;

    if (!slash) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto done;
    }
    *slash = '\0';
    if (mail_buf_printf(&p, "%s/held/%s", dir, e->name) < 0) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto done;
    }
    rc = move_to(dir, e->name, "held", err);
    if (rc == 0 && path)
        *path = mail_buf_detach(&p);
done:
    mail_buf_release(&p);
    free(dir);
    mail_queue_entry_release(e);
    return rc;
}

int mail_queue_add_held(const char *dir, const char *account,
                        const char *from, const char *const *rcpts,
                        size_t nrcpts, int fd, off_t offset, char **path,
                        struct mail_error *err)
{
    struct mail_buf held = MAIL_BUF_INIT;
    char *id = NULL;
    int rc = -1;

    if (mail_buf_printf(&held, "%s/held", dir) < 0) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto done;
    }
    if (mail_queue_add(held.data, account, from, rcpts, nrcpts, fd, offset,
                       &id, err) < 0)
        goto done;
    if (mail_buf_printf(&held, "/%s", id) < 0) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto done;
    }
    if (path)
        *path = mail_buf_detach(&held);
    rc = 0;
done:
    free(id);
    mail_buf_release(&held);
    return rc;
}
