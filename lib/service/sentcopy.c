/*
 * sentcopy.c - the copy of a sent message in the account's Sent folder
 * on the IMAP server (sent-folder = imap:NAME, or imap: for the folder
 * the server marks \Sent), filed so that it is never lost and never
 * filed twice (outgoing.h):
 *
 *   1. Before the APPEND, a pending record goes to
 *      DATA_HOME/mail/sent-pending/: one file, written to a temporary
 *      name, fsync'd and renamed, holding a few header lines (account,
 *      folder, Message-ID) and the copy's bytes.
 *   2. APPEND (\Seen); after the tagged OK the record is removed.
 *   3. A lost connection: a new one, then UID SEARCH HEADER Message-ID
 *      in the folder (the first APPEND may have landed before the drop)
 *      and the APPEND only when the copy is not there.
 *   4. Still failing: the record stays, and the next `mail send` (or
 *      --flush) files it the same way, search first.
 *
 * A crash between the OK and the removal leaves a record whose copy is
 * there: the search finds it and the record is dropped.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mail/fsutil.h"
#include "mail/imap.h"
#include "mail/imapcache.h"
#include "mail/outgoing.h"
#include "mail/remote.h"

#define RECORD_MAGIC "mail-sent-pending 1\n"
#define RECORD_HEAD_MAX 4096
#define MSGID_SCAN_MAX (256 * 1024)

/* No sent-folder, and an IMAP server: the copy goes where the user's
 * other clients look for it, the folder the server marks \Sent (none
 * when it marks none).  Gmail files a copy of what its SMTP server
 * sends, so an oauth2-provider = google account keeps none of its own. */
static bool sent_implicit(const struct mail_account *a)
{
    return (!a->sent_folder || !*a->sent_folder) && a->has_imap &&
           !(a->oauth2_provider && strcmp(a->oauth2_provider, "google") == 0);
}

enum mail_sent_kind mail_sent_kind(const struct mail_account *a,
                                   const char **imap_name)
{
    const char *f = a->sent_folder;

    if (imap_name)
        *imap_name = NULL;
    if (sent_implicit(a)) {
        if (imap_name)
            *imap_name = "";
        return MAIL_SENT_IMAP;
    }
    if (!f || !*f || strcmp(f, "none") == 0)
        return MAIL_SENT_NONE;
    if (strncmp(f, "imap:", 5) == 0) {
        if (imap_name)
            *imap_name = f + 5;
        return MAIL_SENT_IMAP;
    }
    return MAIL_SENT_LOCAL;
}

char *mail_sent_pending_dir(const struct mail_paths *paths,
                            struct mail_error *err)
{
    return mail_paths_mail_dir(paths, MAIL_PATHS_DATA, "sent-pending",
                               "copies of sent messages waiting for the "
                               "server", err);
}

/* The Message-ID of the message in fd (its header, unfolded and
 * trimmed), or "" when it has none. */
static int message_id(int fd, off_t off, struct mail_buf *out)
{
    char *buf = malloc(MSGID_SCAN_MAX + 1);
    ssize_t n = 0, k;
    const char *p, *end;

    mail_buf_reset(out);
    if (!buf)
        return -1;
    while (n < MSGID_SCAN_MAX &&
           (k = pread(fd, buf + n, (size_t)(MSGID_SCAN_MAX - n),
                      off + n)) != 0) {
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            break;
        n += k;
    }
    buf[n] = '\0';
    end = buf + n;
    for (p = buf; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((eol ? eol : end) - p);

        if (len == 0 || (len == 1 && *p == '\r'))
            break;   /* end of the header */
        if (len > 11 && mail_strncasecmp(p, "Message-ID:", 11) == 0) {
            const char *v = p + 11;

            /* the value and its continuation lines */
            for (;;) {
                const char *e = eol ? eol : end;

                for (; v < e; v++)
                    if (*v != ' ' && *v != '\t' && *v != '\r')
                        mail_buf_addch(out, *v);
                if (!eol || eol + 1 >= end ||
                    (eol[1] != ' ' && eol[1] != '\t'))
                    break;
                v = eol + 1;
                eol = memchr(v, '\n', (size_t)(end - v));
            }
            break;
        }
        p = eol ? eol + 1 : end;
    }
    free(buf);
    return mail_buf_addstr(out, "");
}

/* ---- records ---- */

struct record {
    char *path;
    char *account, *folder, *msgid;
    int fd;
    off_t data;          /* where the copy's bytes start */
};

static void record_release(struct record *r)
{
    free(r->path);
    free(r->account);
    free(r->folder);
    free(r->msgid);
    if (r->fd >= 0)
        close(r->fd);
    memset(r, 0, sizeof *r);
    r->fd = -1;
}

static bool one_line(const char *s)
{
    return !strpbrk(s, "\r\n");
}

/* Write a record for the copy (added lines: a Message-ID the message
 * lacked and the bcc lines; then fd's bytes from off) to dir. */
static int record_write(const char *dir, const struct mail_account *a,
                        const char *folder, const char *msgid, int fd,
                        off_t off, const struct mail_buf *added,
                        struct record *r, struct mail_error *err)
{
    struct mail_buf head = MAIL_BUF_INIT, tmp = MAIL_BUF_INIT,
                    final = MAIL_BUF_INIT;
    struct timespec ts;
    char buf[65536];
    int out = -1, rc = -1;

    memset(r, 0, sizeof *r);
    r->fd = -1;
    if (!one_line(a->name) || !one_line(folder) || !one_line(msgid))
        return mail_error_set(err, MAIL_ERR_DATA, "a line break in the "
                              "account, folder or Message-ID");
    if (mail_mkdirs(dir, err) < 0)
        return -1;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (mail_buf_printf(&head, RECORD_MAGIC "account %s\nfolder %s\n"
                        "message-id %s\n\n", a->name, folder, msgid) < 0 ||
        mail_buf_printf(&final, "%s/%lld.%09ld.%ld.copy", dir,
                        (long long)ts.tv_sec, (long)ts.tv_nsec,
                        (long)getpid()) < 0 ||
        mail_buf_printf(&tmp, "%s/.tmp.%lld.%09ld.%ld", dir,
                        (long long)ts.tv_sec, (long)ts.tv_nsec,
                        (long)getpid()) < 0) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto done;
    }
    out = open(tmp.data, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        mail_error_set(err, MAIL_ERR_CANTCREAT, "%s: %s", tmp.data,
                       strerror(errno));
        goto done;
    }
    if (mail_write_all(out, head.data, head.len) < 0 ||
        (added->len &&
         mail_write_all(out, added->data, added->len) < 0))
        goto io;
    for (;;) {
        ssize_t n = pread(fd, buf, sizeof buf, off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto io;
        if (n == 0)
            break;
        if (mail_write_all(out, buf, (size_t)n) < 0)
            goto io;
        off += n;
    }
    if (fsync(out) < 0 || rename(tmp.data, final.data) < 0)
        goto io;
    if (mail_fsync_dir(dir, err) < 0)
        goto done;
    r->path = mail_buf_detach(&final);
    r->account = strdup(a->name);
    r->folder = strdup(folder);
    r->msgid = strdup(msgid);
    r->fd = out;
    r->data = (off_t)head.len;
    out = -1;
    if (!r->path || !r->account || !r->folder || !r->msgid) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto done;
    }
    rc = 0;
    goto done;
io:
    mail_error_set(err, MAIL_ERR_IO, "%s: %s", tmp.data, strerror(errno));
    unlink(tmp.data);
done:
    if (out >= 0)
        close(out);
    if (rc < 0 && r->path) {
        unlink(r->path);
        record_release(r);
    }
    mail_buf_release(&head);
    mail_buf_release(&tmp);
    mail_buf_release(&final);
    return rc;
}

/* Read the record at path.  1 when it is not a record (left alone). */
static int record_open(const char *path, struct record *r,
                       struct mail_error *err)
{
    char head[RECORD_HEAD_MAX + 1];
    ssize_t n;
    char *p, *end;

    memset(r, 0, sizeof *r);
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        if (errno == ENOENT)
            return 1;   /* filed by another run meanwhile */
        return mail_error_set(err, MAIL_ERR_IO, "%s: %s", path,
                              strerror(errno));
    }
    n = pread(r->fd, head, RECORD_HEAD_MAX, 0);
    if (n < (ssize_t)strlen(RECORD_MAGIC) ||
        memcmp(head, RECORD_MAGIC, strlen(RECORD_MAGIC)) != 0)
        goto bad;
    head[n] = '\0';
    end = strstr(head, "\n\n");
    if (!end)
        goto bad;
    end[1] = '\0';
    r->data = (off_t)(end + 2 - head);
    for (p = head + strlen(RECORD_MAGIC); *p;) {
        char *eol = strchr(p, '\n'), **dst = NULL;
        size_t k;

        *eol = '\0';
        if (strncmp(p, "account ", 8) == 0)
            dst = &r->account, k = 8;
        else if (strncmp(p, "folder ", 7) == 0)
            dst = &r->folder, k = 7;
        else if (strncmp(p, "message-id ", 11) == 0)
            dst = &r->msgid, k = 11;
        if (dst && !*dst)
            *dst = strdup(p + k);
        p = eol + 1;
    }
    if (!r->account || !r->folder || !r->msgid)
        goto bad;
    r->path = strdup(path);
    if (!r->path) {
        record_release(r);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    return 0;
bad:
    record_release(r);
    return 1;
}

static int record_remove(const struct record *r, const char *dir,
                         struct mail_error *err)
{
    if (unlink(r->path) < 0 && errno != ENOENT)
        return mail_error_set(err, MAIL_ERR_IO, "%s: %s", r->path,
                              strerror(errno));
    return mail_fsync_dir(dir, err);
}

/* The server refused r's copy for good: the record leaves the retry
 * loop for dir/failed/ (kept, never deleted: the user may file it by
 * hand), and err says so once. */
static void park_record(const struct record *r, const char *dir,
                        struct mail_error *err)
{
    struct mail_buf fdir = MAIL_BUF_INIT, to = MAIL_BUF_INIT;
    const char *base = strrchr(r->path, '/');
    struct mail_error e2;
    char why[sizeof err->msg];

    mail_strlcpy(why, err->msg, sizeof why);
    mail_error_clear(&e2);
    base = base ? base + 1 : r->path;
    if (mail_buf_printf(&fdir, "%s/failed", dir) < 0 ||
        mail_buf_printf(&to, "%s/%s", fdir.data, base) < 0) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    } else if (mail_mkdirs(fdir.data, &e2) < 0 ||
               rename(r->path, to.data) < 0 ||
               mail_fsync_dir(dir, &e2) < 0) {
        /* it stays in the retry loop: say both */
        mail_error_set(err, err->kind, "%s; the copy stays in %s (cannot "
                       "move it aside: %s)", why, dir,
                       e2.kind ? e2.msg : strerror(errno));
    } else {
        mail_error_set(err, err->kind, "%s; refused for good, not tried "
                       "again: the copy is kept in %s", why, to.data);
    }
    mail_buf_release(&fdir);
    mail_buf_release(&to);
}

/* ---- filing ---- */

/* The folder the server marks \Sent: 0.  None: 1 when that is no error
 * (implicit: sent-folder was not set), else -1 with err. */
static int special_sent(struct mail_session *s, struct mail_buf *name,
                        bool implicit, struct mail_error *err)
{
    struct mail_imap_mailboxes l = { NULL, 0 };

    if (mail_imap_list(s, &l, err) < 0)
        return -1;
    mail_buf_reset(name);
    for (size_t i = 0; i < l.n; i++)
        if ((l.v[i].attrs & MAIL_IMAP_MBX_SENT) &&
            !(l.v[i].attrs & MAIL_IMAP_MBX_NOSELECT)) {
            mail_buf_addstr(name, l.v[i].name);
            break;
        }
    mail_imap_mailboxes_release(&l);
    if (!name->len && implicit)
        return 1;
    if (!name->len)
        return mail_error_set(err, MAIL_ERR_CONFIG, "%s: no folder is "
                              "marked \\Sent on the server: set sent-folder "
                              "= imap:NAME", s->name);
    return 0;
}

/* A NO from the server that no retry will change: over quota, a folder
 * that cannot be created, a plain refusal.  Not a lost connection, a
 * timeout or a temporary code ([UNAVAILABLE], [INUSE]...: MAIL_ERR_TEMP,
 * imap.c), nor a failure of ours to read the record. */
static bool refused_for_good(const struct mail_error *err)
{
    if (err->conn_lost)
        return false;
    return err->kind == MAIL_ERR_UNAVAIL || err->kind == MAIL_ERR_NOTFOUND ||
           err->kind == MAIL_ERR_CANTCREAT || err->kind == MAIL_ERR_DATA;
}

/* One try at filing r: search first when asked (the copy may be there
 * already), APPEND otherwise; a missing folder is created once.  The
 * folder actually used goes to where. */
static int file_once(struct mail_session *s, const struct record *r,
                     const struct mail_account *a, bool search,
                     struct mail_buf *where, bool *permanent,
                     struct mail_error *err)
{
    struct mail_buf special = MAIL_BUF_INIT;
    const char *folder = r->folder;
    uint32_t uv = 0, uid = 0;
    int rc = -1;

    if (!*folder) {
        int none = special_sent(s, &special, a && sent_implicit(a), err);

        if (none < 0)
            goto done;
        if (none) {
            rc = 0;     /* no sent-folder set, no \Sent folder: no copy */
            goto done;
        }
        folder = special.data;
    }
    mail_buf_reset(where);
    mail_buf_printf(where, "imap:%s", folder);
    if (search && *r->msgid) {
        struct mail_imap_mailbox_state st;
        struct mail_imap_uids u;

        if (mail_imap_examine(s, folder, &st, err) < 0) {
            if (err->kind != MAIL_ERR_NOTFOUND)
                goto done;
            mail_error_clear(err);   /* no folder: no copy in it */
        } else {
            if (mail_imap_search_header(s, "Message-ID", r->msgid, &u,
                                        err) < 0)
                goto done;
            size_t found = u.n;

            mail_imap_uids_release(&u);
            if (found > 0) {
                rc = 0;          /* there already */
                goto done;
            }
        }
    }
    if (mail_imap_append_fd(s, folder, MAIL_FLAG_SEEN, 0, r->fd, r->data,
                            &uv, &uid, err) == 0) {
        rc = 0;
        goto done;
    }
    if (err->kind != MAIL_ERR_NOTFOUND || err->conn_lost) {
        *permanent = refused_for_good(err);
        goto done;
    }
    /* [TRYCREATE]: as a local sent-folder is, the folder is created */
    mail_error_clear(err);
    if (mail_imap_create(s, folder, err) < 0 ||
        mail_imap_append_fd(s, folder, MAIL_FLAG_SEEN, 0, r->fd, r->data,
                            &uv, &uid, err) < 0) {
        /* the folder cannot be created, or still refuses the copy */
        *permanent = refused_for_good(err);
        goto done;
    }
    rc = 0;
done:
    /* APPENDUID: the copy goes into that folder's listing cache, so the
     * next mail ls imap:Sent fetches nothing for it */
    if (rc == 0 && uv && uid && a && a->paths && a->name) {
        struct mail_error e;

        mail_error_clear(&e);
        mail_imap_cache_file_add_fd(a->paths, a->name, folder, uv, uid,
                                    MAIL_FLAG_SEEN, 0, r->fd, r->data, &e);
    }
    mail_buf_release(&special);
    return rc;
}

/* File r, on a new connection once more after a lost one. */
static int file_record(struct mail_remote *rem, const struct record *r,
                       bool search, struct mail_buf *where, bool *permanent,
                       struct mail_error *err)
{
    *permanent = false;
    for (int attempt = 0; attempt < 2; attempt++) {
        struct mail_session *s = mail_remote_session(rem, err);

        if (s && file_once(s, r, mail_remote_account(rem),
                           search || attempt > 0, where, permanent,
                           err) == 0)
            return 0;
        if (*permanent)
            break;
        if (!s || !mail_remote_retryable(err))
            break;
        /* the connection was lost: the APPEND may or may not have
         * landed; a new connection, and a search before any APPEND */
        mail_remote_drop(rem);
        mail_error_clear(err);
    }
    /* whatever failed, the session may be in the middle of a command:
     * the next use connects again */
    mail_remote_drop(rem);
    return -1;
}

/* A new Message-ID for a copy whose message has none (or an empty
 * one): without it a retry could not search for the copy, and a copy
 * filed before a lost connection would be filed twice.  At the domain
 * of the account's address, else "mail.invalid". */
static int new_message_id(const struct mail_account *a, struct mail_buf *id)
{
    const char *at = a->address ? strrchr(a->address, '@') : NULL;
    size_t dlen = 0;
    unsigned char rnd[8] = { 0 };
    struct timespec ts;

    if (at) {
        at++;
        while (at[dlen] && (isalnum((unsigned char)at[dlen]) ||
                            at[dlen] == '.' || at[dlen] == '-'))
            dlen++;
    }
    if (!dlen) {
        at = "mail.invalid";
        dlen = strlen(at);
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    if (getrandom(rnd, sizeof rnd, 0) < 0)
        rnd[0] = (unsigned char)ts.tv_nsec;
    mail_buf_reset(id);
    return mail_buf_printf(id, "<%lld.%09ld.%ld.%02x%02x%02x%02x%02x%02x%02x"
                           "%02x.copy@%.*s>", (long long)ts.tv_sec,
                           (long)ts.tv_nsec, (long)getpid(), rnd[0], rnd[1],
                           rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7],
                           (int)dlen, at);
}

int mail_sent_copy_imap(struct mail_remote *rem, int fd, off_t off,
                        const struct mail_buf *bcc, char **where,
                        struct mail_error *err)
{
    const struct mail_account *a = mail_remote_account(rem);
    struct mail_buf id = MAIL_BUF_INIT, used = MAIL_BUF_INIT,
                    added = MAIL_BUF_INIT;
    const char *folder = NULL;
    struct record r = { .fd = -1 };
    char *dir = NULL;
    bool permanent = false;
    int rc = -1;

    *where = NULL;
    mail_sent_kind(a, &folder);
    if (!folder)
        folder = "";
    mail_buf_printf(&used, "imap:%s", folder);
    if (message_id(fd, off, &id) < 0 ||
        (!id.len && (new_message_id(a, &id) < 0 ||
                     mail_buf_printf(&added, "Message-ID: %s\n",
                                     id.data) < 0)) ||
        (bcc && bcc->len && mail_buf_add(&added, bcc->data, bcc->len) < 0)) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto done;
    }
    dir = mail_sent_pending_dir(a->paths, err);
    if (!dir || record_write(dir, a, folder, id.data, fd, off, &added, &r,
                             err) < 0)
        goto done;
    if (file_record(rem, &r, false, &used, &permanent, err) < 0) {
        if (permanent)
            park_record(&r, dir, err);
        else
            mail_error_prefix(err, "kept in %s, filed by the next 'mail "
                              "send'", dir);
        goto done;
    }
    if (record_remove(&r, dir, err) < 0)
        goto done;
    rc = 0;
done:
    if (rc < 0)
        *where = mail_buf_detach(&used);
    record_release(&r);
    free(dir);
    mail_buf_release(&id);
    mail_buf_release(&used);
    mail_buf_release(&added);
    return rc;
}

static int cmp_names(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The names of the records in dir, oldest first. */
static int list_records(const char *dir, char ***out, size_t *n,
                        struct mail_error *err)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **v = NULL;
    size_t alloc = 0;

    *out = NULL;
    *n = 0;
    if (!d) {
        if (errno == ENOENT)
            return 0;
        return mail_error_set(err, MAIL_ERR_IO, "%s: %s", dir,
                              strerror(errno));
    }
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);

        if (e->d_name[0] == '.' || len < 6 ||
            strcmp(e->d_name + len - 5, ".copy") != 0)
            continue;
        if (*n == alloc) {
            char **nv = realloc(v, (alloc = alloc ? 2 * alloc : 8) *
                                       sizeof *nv);

            if (!nv)
                goto oom;
            v = nv;
        }
        if (!(v[*n] = strdup(e->d_name)))
            goto oom;
        (*n)++;
    }
    closedir(d);
    if (*n)
        qsort(v, *n, sizeof *v, cmp_names);
    *out = v;
    return 0;
oom:
    closedir(d);
    for (size_t i = 0; i < *n; i++)
        free(v[i]);
    free(v);
    *n = 0;
    return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
}

int mail_sent_flush_pending(const struct mail_account *a,
                            struct mail_remote *rem, size_t *filed,
                            char **where, struct mail_error *err)
{
    struct mail_buf used = MAIL_BUF_INIT, path = MAIL_BUF_INIT,
                    parked_where = MAIL_BUF_INIT;
    struct mail_error parked;
    bool permanent = false;
    size_t nparked = 0;
    char **names = NULL;
    size_t n = 0;
    char *dir;
    int rc = 0;

    mail_error_clear(&parked);

    *where = NULL;
    if (filed)
        *filed = 0;
    dir = mail_sent_pending_dir(a->paths, NULL);
    if (!dir)
        return 0;   /* no data directory: nothing can wait there */
    if (list_records(dir, &names, &n, err) < 0) {
        free(dir);
        return -1;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct record r;
        int k;

        mail_buf_reset(&path);
        if (mail_buf_printf(&path, "%s/%s", dir, names[i]) < 0) {
            rc = mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            break;
        }
        k = record_open(path.data, &r, err);
        if (k < 0) {
            rc = -1;
            break;
        }
        if (k > 0)
            continue;
        if (strcmp(r.account, a->name) != 0) {
            record_release(&r);
            continue;
        }
        mail_buf_reset(&used);
        mail_buf_printf(&used, "imap:%s", r.folder);
        if (!rem) {
            rc = mail_error_set(err, MAIL_ERR_CONFIG, "account %s has no "
                                "imap server (imap = URL)", a->name);
        } else if (file_record(rem, &r, true, &used, &permanent,
                               err) < 0) {
            if (permanent) {
                /* out of the loop, reported once; the next ones go on */
                park_record(&r, dir, err);
                if (!nparked++) {
                    parked = *err;
                    mail_buf_reset(&parked_where);
                    mail_buf_addstr(&parked_where, used.data);
                }
                mail_error_clear(err);
            } else {
                mail_error_prefix(err, "a copy of a message sent before, "
                                  "kept in %s", dir);
                rc = -1;
            }
        } else if (record_remove(&r, dir, err) < 0) {
            rc = -1;
        } else if (filed) {
            (*filed)++;
        }
        record_release(&r);
    }
    if (rc == 0 && nparked) {
        /* the copies refused for good, once (the first one's error) */
        *err = parked;
        if (nparked > 1)
            mail_error_prefix(err, "%zu copies refused for good, the first",
                              nparked);
        rc = -1;
        mail_buf_reset(&used);
        mail_buf_addstr(&used, parked_where.data);
    }
    if (rc < 0)
        *where = mail_buf_detach(&used);
    mail_buf_release(&parked_where);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(dir);
    mail_buf_release(&used);
    mail_buf_release(&path);
    return rc;
}
