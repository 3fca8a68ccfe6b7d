/*
 * folder.c - the folder interface: open (which kind is it?), dispatch to
 * the driver, move between folders, the local store's folder names, and
 * the helpers the Maildir and mbox drivers share (hcache.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hcache.h"
#include "mail/fsutil.h"
#include "mail/date.h"
#include "mail/folder.h"
#include "mail/mime.h"

/* Folders nested deeper than this in an mbox store are not listed (a
 * bound for symbolic-link loops). */
#define STORE_DEPTH_MAX 16

int mail_folder_base_init(struct mail_folder *f,
                          const struct mail_folder_driver *drv,
                          enum mail_folder_kind kind, const char *path,
                          int mode, const struct mail_paths *paths,
                          struct mail_error *err)
{
    f->drv = drv;
    f->paths = paths;
    f->kind = kind;
    f->mode = mode;
    f->lock_timeout_ms = MAIL_FOLDER_LOCK_TIMEOUT_MS;
    f->path = strdup(path);
    if (!f->path)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    return 0;
}

void mail_folder_set_lock_timeout(struct mail_folder *f, unsigned ms)
{
    f->lock_timeout_ms = ms;
}

/* "~" and "~/..." expanded with the home directory; else copied. */
static char *expand_tilde(const struct mail_paths *paths, const char *path,
                          struct mail_error *err)
{
    char *p;

    if (path[0] == '~' && (path[1] == '/' || path[1] == '\0') &&
        (!paths || !paths->home)) {
        mail_error_set(err, MAIL_ERR_CONFIG,
                       "%s: cannot expand ~: HOME is not set", path);
        return NULL;
    }
    p = mail_paths_expand_home(paths, path);
    if (!p)
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    return p;
}

struct mail_folder *mail_folder_open(const char *path, int mode,
                                     const struct mail_paths *paths,
                                     struct mail_error *err)
{
    struct mail_folder *f = NULL;
    bool force_mbox = strncmp(path, "mbox:", 5) == 0;
    struct stat st;
    char *p;

    p = expand_tilde(paths, force_mbox ? path + 5 : path, err);
    if (!p)
        return NULL;
    if (!*p) {
        mail_error_set(err, MAIL_ERR_USAGE, "empty folder path");
    } else if (stat(p, &st) < 0) {
        if (errno == ENOENT && (mode & MAIL_FOLDER_CREATE))
            f = force_mbox ? mail_mbox_open(p, mode, paths, err)
                           : mail_maildir_open(p, mode, paths, err);
        else if (errno == ENOTDIR && (mode & MAIL_FOLDER_CREATE))
            mail_error_set(err, MAIL_ERR_CANTCREAT, "%s: cannot create: %s",
                           p, strerror(errno));
        else if (errno == ENOENT || errno == ENOTDIR)
            mail_error_set(err, MAIL_ERR_NOTFOUND, "%s: no such folder", p);
        else
            mail_error_set(err, MAIL_ERR_IO, "%s: %s", p, strerror(errno));
    } else if (S_ISDIR(st.st_mode)) {
        if (force_mbox)
            mail_error_set(err, MAIL_ERR_DATA,
                           "%s: is a directory, not an mbox", p);
        else
            f = mail_maildir_open(p, mode, paths, err);
    } else if (S_ISREG(st.st_mode)) {
        f = mail_mbox_open(p, mode, paths, err);
    } else {
        mail_error_set(err, MAIL_ERR_DATA,
                       "%s: not a folder (neither a Maildir nor an mbox)", p);
    }
    free(p);
    return f;
}

enum mail_folder_kind mail_folder_kind(const struct mail_folder *f)
{
    return f->kind;
}

const char *mail_folder_path(const struct mail_folder *f)
{
    return f->path;
}

static int check_writable(struct mail_folder *f, struct mail_error *err)
{
    if (f->mode & MAIL_FOLDER_RDWR)
        return 0;
    return mail_error_set(err, MAIL_ERR_USAGE, "%s: folder opened read-only",
                          f->path);
}

int mail_folder_list(struct mail_folder *f, struct mail_envelope_list *out,
                     int flags, struct mail_error *err)
{
    return f->drv->list(f, out, flags, err);
}

int mail_folder_list_fill(struct mail_folder *f,
                          struct mail_envelope_list *out, size_t from,
                          size_t to, struct mail_error *err)
{
    if (to > out->n)
        to = out->n;
    if (!f->drv->list_fill || from >= to)
        return 0;
    return f->drv->list_fill(f, out, from, to, err);
}

int mail_folder_list_last(struct mail_folder *f,
                          struct mail_envelope_list *out, size_t last,
                          int flags, struct mail_error *err)
{
    size_t first = out->n, drop;

    if (f->drv->list_last)
        return f->drv->list_last(f, out, last, flags, err);
    if (f->drv->list(f, out, flags, err) < 0)
        return -1;
    if (last == 0 || out->n - first <= last)
        return 0;
    drop = out->n - first - last;
    if (!out->arena) {
        /* free the dropped ones' strings: rotate them to the end */
        struct mail_envelope *tmp = malloc(drop * sizeof *tmp);

        if (!tmp) {
            folder_env_truncate(out, first);
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        }
        memcpy(tmp, out->v + first, drop * sizeof *tmp);
        memmove(out->v + first, out->v + first + drop, last * sizeof *tmp);
        memcpy(out->v + first + last, tmp, drop * sizeof *tmp);
        free(tmp);
        folder_env_truncate(out, first + last);
    } else {
        memmove(out->v + first, out->v + first + drop,
                last * sizeof *out->v);
        out->n = first + last;
    }
    return 0;
}

int mail_folder_fetch(struct mail_folder *f, const struct mail_envelope *e,
                      mail_sink_fn sink, void *ctx, struct mail_error *err)
{
    return f->drv->fetch(f, e, sink, ctx, err);
}

int mail_folder_message_fd(struct mail_folder *f,
                           const struct mail_envelope *e, int *fd,
                           struct mail_error *err)
{
    *fd = -1;
    return f->drv->message_fd(f, e, fd, err);
}

int mail_folder_message_read(struct mail_folder *f,
                             const struct mail_envelope *e, int what,
                             const char *part, int *fd,
                             struct mail_part_sizes *sizes,
                             struct mail_error *err)
{
    *fd = -1;
    if (what != MAIL_FOLDER_READ_ALL && f->drv->message_read)
        return f->drv->message_read(f, e, what, part, fd, sizes, err);
    return f->drv->message_fd(f, e, fd, err);
}

int mail_folder_set_flags(struct mail_folder *f, struct mail_envelope *e,
                          unsigned add, unsigned remove,
                          struct mail_error *err)
{
    if (check_writable(f, err) < 0)
        return -1;
    return f->drv->set_flags(f, e, add, remove, err);
}

int mail_folder_expunge(struct mail_folder *f, struct mail_envelope *e,
                        struct mail_error *err)
{
    if (check_writable(f, err) < 0)
        return -1;
    return f->drv->expunge(f, e, err);
}

struct mail_append *mail_folder_append_begin(struct mail_folder *f,
                                             unsigned flags, time_t received,
                                             struct mail_error *err)
{
    if (check_writable(f, err) < 0)
        return NULL;
    return f->drv->append_begin(f, flags, received, err);
}

int mail_append_write(struct mail_append *a, const char *data, size_t len,
                      struct mail_error *err)
{
    return a->folder->drv->append_write(a, data, len, err);
}

int mail_append_commit(struct mail_append *a, char **key,
                       struct mail_error *err)
{
    if (key)
        *key = NULL;
    return a->folder->drv->append_commit(a, key, err);
}

void mail_append_abort(struct mail_append *a)
{
    if (a)
        a->folder->drv->append_abort(a);
}

int mail_folder_sync(struct mail_folder *f, struct mail_error *err)
{
    return f->drv->sync(f, err);
}

int mail_folder_close(struct mail_folder *f, struct mail_error *err)
{
    int r = 0;

    if (!f)
        return 0;
    if (f->mode & MAIL_FOLDER_RDWR)
        r = f->drv->sync(f, err);
    f->drv->close(f);
    return r;
}

/*
 * Strings are either each malloc'd (arena NULL) or all in l->arena; the
 * drivers here use the first form.
 */
void folder_env_truncate(struct mail_envelope_list *l, size_t n)
{
    size_t i;

    for (i = n; i < l->n; i++) {
        struct mail_envelope *e = &l->v[i];

        free(e->key);
        free(e->path);
        free(e->from);
        free(e->to);
        free(e->cc);
        free(e->subject);
        free(e->message_id);
        free(e->in_reply_to);
        free(e->references);
        free(e->content_type);
    }
    if (n < l->n)
        l->n = n;
}

void mail_envelope_list_release(struct mail_envelope_list *l)
{
    /* A borrowed list's arena is its lease (hcache.h): its blocks go
     * when the folder has let go too. */
    if (!l->arena)
        folder_env_truncate(l, 0);
    hcache_lease_drop((struct hcache_lease *)(void *)l->arena);
    free(l->v);
    l->v = NULL;
    l->arena = NULL;
    l->n = l->alloc = 0;
}

/* ---- move and copy ---- */

/* A sink into the destination's append: ctx is the struct mail_append. */
static int move_write(void *ctx, const char *data, size_t len,
                      struct mail_error *err)
{
    return mail_append_write(ctx, data, len, err);
}

/* e's bytes appended to `to` with e's flags less `drop` and its delivery
 * time; durable there when this returns 0 (*key: its key there, caller
 * frees, NULL when the driver does not say).  The source is not
 * changed. */
static int copy_one(struct mail_folder *from, const struct mail_envelope *e,
                    struct mail_folder *to, unsigned drop, char **key,
                    struct mail_error *err)
{
    struct mail_append *a;

    *key = NULL;
    a = mail_folder_append_begin(to, e->flags & ~drop, e->received, err);
    if (!a)
        return -1;
    if (mail_folder_fetch(from, e, move_write, a, err) < 0) {
        mail_append_abort(a);
        return -1;
    }
    return mail_append_commit(a, key, err);
}

int mail_folder_copy(struct mail_folder *from, const struct mail_envelope *e,
                     struct mail_folder *to, char **new_key,
                     struct mail_error *err)
{
    char *key = NULL;

    if (new_key)
        *new_key = NULL;
    if (check_writable(to, err) < 0)
        return -1;
    if (from->drv == to->drv && from->drv->copy) {
        int r = from->drv->copy(from, e, to, new_key, err);

        if (r != 1)
            return r;
    }
    if (copy_one(from, e, to, MAIL_FLAG_NEW | MAIL_FLAG_DELETED, &key,
                 err) < 0)
        return -1;
    if (new_key)
        *new_key = key;
    else
        free(key);
    return 0;
}

int mail_folder_move(struct mail_folder *from, struct mail_envelope *e,
                     struct mail_folder *to, char **new_key,
                     struct mail_error *err)
{
    char *key = NULL;

    if (new_key)
        *new_key = NULL;
    if (check_writable(from, err) < 0 || check_writable(to, err) < 0)
        return -1;
    if (from->drv == to->drv && from->drv->move) {
        int r = from->drv->move(from, e, to, new_key, err);

        if (r != 1)
            return r;
    }
    /* Copy, make it durable there, and only then remove it here: a crash
     * in between leaves two copies, never none. */
    if (copy_one(from, e, to, MAIL_FLAG_NEW, &key, err) < 0)
        return -1;
    if (mail_folder_expunge(from, e, err) < 0) {
        free(key);
        return mail_error_prefix(err, "copied to %s but not removed",
                                 to->path);
    }
    if (new_key)
        *new_key = key;
    else
        free(key);
    return 0;
}

/* ---- the local store ---- */

enum store_kind { STORE_MAILDIR, STORE_MBOX_DIR, STORE_MBOX_FILE };

/* Which layout: "mbox:" forces mbox; an existing directory with cur/ is
 * Maildir++, one without is a directory of mboxes; a file is one mbox; a
 * store that does not exist yet is Maildir++ (the default). */
static int store_open(const char *store, char **dir, enum store_kind *kind,
                      struct mail_error *err)
{
    bool force_mbox = strncmp(store, "mbox:", 5) == 0;
    struct stat st;
    /* The config expanded "~" already (with its paths). */
    char *p = expand_tilde(NULL, force_mbox ? store + 5 : store, err);

    if (!p)
        return -1;
    if (stat(p, &st) < 0) {
        if (errno != ENOENT) {
            mail_error_set(err, MAIL_ERR_IO, "%s: %s", p, strerror(errno));
            free(p);
            return -1;
        }
        *kind = force_mbox ? STORE_MBOX_DIR : STORE_MAILDIR;
    } else if (S_ISREG(st.st_mode)) {
        *kind = STORE_MBOX_FILE;
    } else if (S_ISDIR(st.st_mode)) {
        struct mail_buf b = MAIL_BUF_INIT;

        if (mail_buf_printf(&b, "%s/cur", p) < 0) {
            free(p);
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        }
        *kind = !force_mbox && stat(b.data, &st) == 0 && S_ISDIR(st.st_mode)
                    ? STORE_MAILDIR : STORE_MBOX_DIR;
        mail_buf_release(&b);
    } else {
        mail_error_set(err, MAIL_ERR_DATA, "%s: not a mail store", p);
        free(p);
        return -1;
    }
    *dir = p;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dir, sorted, without "." files (NULL-terminated). */
static char **read_names(const char *dir, size_t *n, struct mail_error *err)
{
    DIR *d = opendir(dir);
    char **v = NULL;
    size_t alloc = 0;
    struct dirent *de;

    *n = 0;
    if (!d) {
        mail_error_set(err, errno == ENOENT ? MAIL_ERR_NOTFOUND : MAIL_ERR_IO,
                       "%s: %s", dir, strerror(errno));
        return NULL;
    }
    for (;;) {
        errno = 0;
        de = readdir(d);
        if (!de)
            break;
        if (de->d_name[0] == '.' && (de->d_name[1] == '\0' ||
                                     (de->d_name[1] == '.' &&
                                      de->d_name[2] == '\0')))
            continue;
        if (*n + 1 >= alloc) {
            char **nv = realloc(v, (alloc ? alloc * 2 : 16) * sizeof *v);

            if (!nv)
                goto nomem;
            v = nv;
            alloc = alloc ? alloc * 2 : 16;
        }
        v[*n] = strdup(de->d_name);
        if (!v[*n])
            goto nomem;
        (*n)++;
    }
    if (errno != 0) {
        mail_error_set(err, MAIL_ERR_IO, "%s: %s", dir, strerror(errno));
        goto fail;
    }
    closedir(d);
    if (!v) {
        v = calloc(1, sizeof *v);
        if (!v) {
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            return NULL;
        }
        return v;
    }
    v[*n] = NULL;
    if (*n > 1)
        qsort(v, *n, sizeof *v, cmp_str);
    return v;
nomem:
    mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
fail:
    closedir(d);
    while (*n > 0)
        free(v[--*n]);
    free(v);
    return NULL;
}

static void free_names(char **v, size_t n)
{
    while (n > 0)
        free(v[--n]);
    free(v);
}

static bool is_maildir(const char *dir)
{
    struct mail_buf b = MAIL_BUF_INIT;
    struct stat st;
    bool r;

    if (mail_buf_printf(&b, "%s/cur", dir) < 0)
        return false;
    r = stat(b.data, &st) == 0 && S_ISDIR(st.st_mode);
    mail_buf_release(&b);
    return r;
}

static int maildirpp_folders(const char *dir, mail_folder_each_fn cb,
                             void *ctx, struct mail_error *err)
{
    struct mail_buf path = MAIL_BUF_INIT, name = MAIL_BUF_INIT;
    char **names;
    size_t n, i;
    int r = 0;

    names = read_names(dir, &n, err);
    if (!names)
        return -1;
    for (i = 0; i < n && r == 0; i++) {
        const char *s = names[i];

        /* ".Name" directories that are Maildirs; ".." and ".x." are not
         * valid names (empty hierarchy levels). */
        if (s[0] != '.' || s[1] == '.' || s[1] == '\0' ||
            s[strlen(s) - 1] == '.' || strstr(s, ".."))
            continue;
        mail_buf_reset(&path);
        mail_buf_reset(&name);
        if (mail_buf_printf(&path, "%s/%s", dir, s) < 0 ||
            mail_buf_addstr(&name, s + 1) < 0) {
            r = mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            break;
        }
        if (!is_maildir(path.data))
            continue;
        for (char *c = name.data; *c; c++)
            if (*c == '.')
                *c = '/';
        r = cb(ctx, name.data, path.data);
    }
    mail_buf_release(&path);
    mail_buf_release(&name);
    free_names(names, n);
    return r;
}

/* Every regular file below dir is an mbox ("prefix/name"); a Maildir
 * inside is a folder too; other directories are walked. */
static int mbox_dir_folders(const char *dir, const char *prefix, int depth,
                            mail_folder_each_fn cb, void *ctx,
                            struct mail_error *err)
{
    struct mail_buf path = MAIL_BUF_INIT, name = MAIL_BUF_INIT;
    char **names;
    size_t n, i, l;
    int r = 0;

    if (depth > STORE_DEPTH_MAX)
        return 0;
    names = read_names(dir, &n, err);
    if (!names)
        return -1;
    for (i = 0; i < n && r == 0; i++) {
        const char *s = names[i];
        struct stat st;

        l = strlen(s);
        /* Hidden files, lock files and our own sync temporaries are not
         * folders. */
        if (s[0] == '.' || (l > 5 && strcmp(s + l - 5, ".lock") == 0))
            continue;
        if (!*prefix && strcmp(s, "INBOX") == 0)
            continue;   /* passed first by the caller */
        mail_buf_reset(&path);
        mail_buf_reset(&name);
        if (mail_buf_printf(&path, "%s/%s", dir, s) < 0 ||
            mail_buf_printf(&name, "%s%s%s", prefix, *prefix ? "/" : "",
                            s) < 0) {
            r = mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            break;
        }
        if (stat(path.data, &st) < 0)
            continue;   /* vanished or a dangling link */
        if (S_ISREG(st.st_mode)) {
            r = cb(ctx, name.data, path.data);
        } else if (S_ISDIR(st.st_mode)) {
            if (is_maildir(path.data))
                r = cb(ctx, name.data, path.data);
            else
                r = mbox_dir_folders(path.data, name.data, depth + 1, cb,
                                     ctx, err);
        }
    }
    mail_buf_release(&path);
    mail_buf_release(&name);
    free_names(names, n);
    return r;
}

int mail_store_folders(const char *store, mail_folder_each_fn cb, void *ctx,
                       struct mail_error *err)
{
    enum store_kind kind;
    char *dir;
    int r;

    if (store_open(store, &dir, &kind, err) < 0)
        return -1;
    switch (kind) {
    case STORE_MAILDIR:
        r = cb(ctx, "INBOX", dir);
        if (r == 0)
            r = maildirpp_folders(dir, cb, ctx, err);
        break;
    case STORE_MBOX_FILE:
        r = cb(ctx, "INBOX", dir);
        break;
    case STORE_MBOX_DIR:
    default: {
        /* A directory has no messages of its own: INBOX is the file
         * called INBOX in it, when there is one. */
        struct mail_buf b = MAIL_BUF_INIT;
        struct stat st;

        if (mail_buf_printf(&b, "%s/INBOX", dir) < 0) {
            r = mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            break;
        }
        r = 0;
        if (stat(b.data, &st) == 0)
            r = cb(ctx, "INBOX", b.data);
        mail_buf_release(&b);
        if (r == 0)
            r = mbox_dir_folders(dir, "", 0, cb, ctx, err);
        break;
    }
    }
    free(dir);
    return r;
}

/* A name made of "/"-separated levels, none empty, ".", ".." or (for
 * Maildir++, where "." separates levels) containing a dot. */
static bool valid_folder_name(const char *name, bool maildirpp)
{
    const char *s = name;

    if (!*s)
        return false;
    for (;;) {
        const char *e = strchr(s, '/');
        size_t l = e ? (size_t)(e - s) : strlen(s);

        if (l == 0 || (l == 1 && s[0] == '.') ||
            (l == 2 && s[0] == '.' && s[1] == '.'))
            return false;
        if (maildirpp && memchr(s, '.', l))
            return false;
        if (!maildirpp && s[0] == '.')
            return false;
        if (!e)
            return true;
        s = e + 1;
    }
}

char *mail_store_folder_path(const char *store, const char *name,
                             struct mail_error *err)
{
    struct mail_buf b = MAIL_BUF_INIT;
    enum store_kind kind;
    bool inbox = mail_strcasecmp(name, "INBOX") == 0;
    char *dir;

    if (store_open(store, &dir, &kind, err) < 0)
        return NULL;
    if (!inbox && (kind == STORE_MBOX_FILE ||
                   !valid_folder_name(name, kind == STORE_MAILDIR))) {
        if (kind == STORE_MBOX_FILE)
            mail_error_set(err, MAIL_ERR_NOTFOUND,
                           "%s: the store is one mbox file: no folder %s",
                           dir, name);
        else
            mail_error_set(err, MAIL_ERR_USAGE, "%s: bad folder name", name);
        free(dir);
        return NULL;
    }
    switch (kind) {
    case STORE_MAILDIR:
        if (inbox) {
            if (mail_buf_addstr(&b, dir) < 0)
                goto nomem;
            break;
        }
        if (mail_buf_printf(&b, "%s/.%s", dir, name) < 0)
            goto nomem;
        for (char *c = b.data + strlen(dir) + 2; *c; c++)
            if (*c == '/')
                *c = '.';
        break;
    case STORE_MBOX_FILE:
        if (mail_buf_printf(&b, "mbox:%s", dir) < 0)
            goto nomem;
        break;
    case STORE_MBOX_DIR:
    default:
        /* "mbox:" so that mail_folder_open(..., CREATE) makes an mbox. */
        if (mail_buf_printf(&b, "mbox:%s/%s", dir,
                            inbox ? "INBOX" : name) < 0)
            goto nomem;
        break;
    }
    free(dir);
    return mail_buf_detach(&b);
nomem:
    free(dir);
    mail_buf_release(&b);
    mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    return NULL;
}

/* ---- shared by the drivers ---- */

static int set_str(struct hcache_rec *r, int i, const char *v)
{
    if (!v)
        return 0;
    r->str[i] = strdup(v);
    if (!r->str[i])
        return -1;
    r->owned |= 1u << i;
    return 0;
}

int folder_rec_from_header(struct hcache_rec *r, const struct mail_header *h,
                           struct mail_error *err)
{
    static const struct {
        int i;
        const char *name;
    } fields[] = {
        { HC_FROM, "from" }, { HC_TO, "to" }, { HC_CC, "cc" },
        { HC_SUBJECT, "subject" }, { HC_MESSAGE_ID, "message-id" },
        { HC_IN_REPLY_TO, "in-reply-to" }, { HC_REFERENCES, "references" },
        { HC_CONTENT_TYPE, "content-type" },
    };
    const char *date = mail_header_get(h, "date");
    size_t i;

    for (i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (set_str(r, fields[i].i, mail_header_get(h, fields[i].name)) < 0)
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    r->bits &= ~(uint32_t)HC_HAS_DATE;
    r->date = 0;
    r->date_offset = 0;
    if (date) {
        time_t t;
        int off;

        if (mail_date_parse(date, &t, &off) == 0) {
            r->date = (int64_t)t;
            r->date_offset = off;
            r->bits |= HC_HAS_DATE;
        }
    }
    return 0;
}

struct mail_envelope *folder_env_push(struct mail_envelope_list *l,
                                      struct mail_error *err)
{
    struct mail_envelope *e;

    if (l->n == l->alloc) {
        size_t na = l->alloc ? l->alloc * 2 : 64;
        struct mail_envelope *nv = realloc(l->v, na * sizeof *nv);

        if (!nv) {
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            return NULL;
        }
        l->v = nv;
        l->alloc = na;
    }
    e = &l->v[l->n++];
    memset(e, 0, sizeof *e);
    return e;
}

static int copy_str(char **dst, const char *src)
{
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : -1;
}

int folder_env_from_rec(struct mail_envelope *e, const struct hcache_rec *r,
                        struct mail_error *err)
{
    if (copy_str(&e->from, r->str[HC_FROM]) < 0 ||
        copy_str(&e->to, r->str[HC_TO]) < 0 ||
        copy_str(&e->cc, r->str[HC_CC]) < 0 ||
        copy_str(&e->subject, r->str[HC_SUBJECT]) < 0 ||
        copy_str(&e->message_id, r->str[HC_MESSAGE_ID]) < 0 ||
        copy_str(&e->in_reply_to, r->str[HC_IN_REPLY_TO]) < 0 ||
        copy_str(&e->references, r->str[HC_REFERENCES]) < 0 ||
        copy_str(&e->content_type, r->str[HC_CONTENT_TYPE]) < 0)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    e->has_date = (r->bits & HC_HAS_DATE) != 0;
    e->date = (time_t)r->date;
    e->date_offset = r->date_offset;
    e->attachments = r->attachments;
    return 0;
}

int folder_attach_begin(struct folder_attach *a, struct mail_error *err)
{
    a->mime = mail_mime_new(NULL, err);
    return a->mime ? 0 : -1;
}

int folder_attach_sink(void *ctx, const char *data, size_t len,
                       struct mail_error *err)
{
    struct folder_attach *a = ctx;

    return mail_mime_push(a->mime, data, len, err);
}

int folder_attach_end(struct folder_attach *a, unsigned *count,
                      struct mail_error *err)
{
    const struct mail_part *p;
    int r = mail_mime_finish(a->mime, err);

    *count = 0;
    if (r == 0)
        for (p = mail_mime_root(a->mime); p; p = mail_part_next(p))
            if (mail_part_is_attachment(p))
                (*count)++;
    mail_mime_free(a->mime);
    a->mime = NULL;
    return r;
}

void folder_attach_abort(struct folder_attach *a)
{
    mail_mime_free(a->mime);
    a->mime = NULL;
}



/* ---- sets ---- */

int mail_folder_set_flags_many(struct mail_folder *f,
                               struct mail_envelope *const *v, size_t n,
                               unsigned add, unsigned remove, size_t *done,
                               struct mail_error *err)
{
    size_t i;

    if (done)
        *done = 0;
    if (check_writable(f, err) < 0)
        return -1;
    if (f->drv->set_flags_many) {
        if (n && f->drv->set_flags_many(f, v, n, add, remove, err) < 0)
            return -1;
        if (done)
            *done = n;
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (f->drv->set_flags(f, v[i], add, remove, err) < 0)
            return -1;
        if (done)
            *done = i + 1;
    }
    return 0;
}

int mail_folder_expunge_many(struct mail_folder *f,
                             struct mail_envelope *const *v, size_t n,
                             size_t *done, struct mail_error *err)
{
    size_t i;

    if (done)
        *done = 0;
    if (check_writable(f, err) < 0)
        return -1;
    if (f->drv->expunge_many) {
        if (n && f->drv->expunge_many(f, v, n, err) < 0)
            return -1;
        if (done)
            *done = n;
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (f->drv->expunge(f, v[i], err) < 0)
            return -1;
        if (done)
            *done = i + 1;
    }
    return 0;
}

int mail_folder_move_many(struct mail_folder *from,
                          struct mail_envelope *const *v, size_t n,
                          struct mail_folder *to, size_t *done,
                          struct mail_error *err)
{
    size_t i;

    if (done)
        *done = 0;
    if (check_writable(from, err) < 0 || check_writable(to, err) < 0)
        return -1;
    if (n && from->drv == to->drv && from->drv->move_many) {
        int r = from->drv->move_many(from, v, n, to, err);

        if (r < 0)
            return -1;
        if (r == 0) {
            if (done)
                *done = n;
            return 0;
        }
    }
    for (i = 0; i < n; i++) {
        if (mail_folder_move(from, v[i], to, NULL, err) < 0)
            return -1;
        if (done)
            *done = i + 1;
    }
    return 0;
}
