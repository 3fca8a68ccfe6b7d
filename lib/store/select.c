/*
 * select.c - listing numbers and MSG arguments; see mail/select.h.
 *
 * Keys, not file names, are kept, so a message that moved from new/ to
 * cur/ or changed flags is still found; a message that is gone leaves its
 * number unresolvable without shifting the others.  An mbox key is
 * "OFFSET:ID", the byte offset of the message and a hash of its From_
 * line, header and body length (see mbox.c): a number names that message
 * and no other.  When another program rewrote the mbox, a message whose
 * offset changed is found again by its ID; one that is gone (or changed)
 * is refused with "the folder changed: run mail ls again", never taken
 * for the message now at its old offset.  After our own rewrite
 * mail_listing_remap maps the old keys to the new ones.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/buf.h"
#include "mail/fsutil.h"
#include "mail/imapcache.h"
#include "mail/select.h"

static int nomem(struct mail_error *err)
{
    return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
}

/* The absolute path of folder f (malloc'd), or NULL. */
static char *folder_abspath(struct mail_folder *f)
{
    const char *p = mail_folder_path(f);
    char *r;

    if (!p)
        return NULL;
    if (mail_folder_kind(f) == MAIL_FOLDER_IMAP) {
        /* Not a file: the account and the name, so that imap:INBOX of
         * one account never takes another's numbers (two servers may
         * well give their INBOXes the same UIDVALIDITY). */
        const char *acct = mail_imap_folder_account(f);

        if (acct && asprintf(&r, "imap://%s/%s", acct, p + 5) < 0)
            return NULL;
        return acct ? r : strdup(p);
    }
    if (strncmp(p, "mbox:", 5) == 0)
        p += 5;
    r = realpath(p, NULL);
    return r ? r : strdup(p);
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* The state file of folder f; *abs gets the folder's absolute path. */
static char *listing_path(const char *state_dir, struct mail_folder *f,
                          char **abs)
{
    char *p = NULL;

    *abs = folder_abspath(f);
    if (*abs && state_dir &&
        asprintf(&p, "%s/ls-%016llx", state_dir,
                 (unsigned long long)fnv1a(*abs)) < 0)
        p = NULL;
    return p;
}

/* ---- the saved listing ---- */

int mail_listing_write(const char *state_dir, struct mail_folder *f,
                       const char *const *keys, size_t n,
                       struct mail_error *err)
{
    char *abs = NULL, *path = listing_path(state_dir, f, &abs);
    char *dir = NULL, *tmp = NULL;
    int fd = -1, rc = 0;
    FILE *out = NULL;

    if (!path) {
        rc = nomem(err);
        goto done;
    }
    dir = strdup(path);
    if (!dir || asprintf(&tmp, "%s.XXXXXX", path) < 0) {
        tmp = NULL;
        rc = nomem(err);
        goto done;
    }
    *strrchr(dir, '/') = '\0';
    if (mail_mkdirs(dir, err) < 0) {
        rc = -1;
        goto done;
    }
    fd = mkstemp(tmp);
    if (fd < 0 || !(out = fdopen(fd, "w"))) {
        rc = mail_error_set(err, MAIL_ERR_CANTCREAT, "%s: %s", tmp,
                            strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        goto done;
    }
    fprintf(out, "%s\n%s\n", MAIL_LISTING_MAGIC, abs);
    for (size_t i = 0; i < n; i++) {
        /* A key is one line; one with a line break cannot be kept. */
        if (keys[i] && !strchr(keys[i], '\n'))
            fputs(keys[i], out);
        fputc('\n', out);
    }
    if (fflush(out) != 0 || ferror(out) || fclose(out) != 0) {
        rc = mail_error_set(err, MAIL_ERR_IO, "%s: %s", tmp, strerror(errno));
        unlink(tmp);
        goto done;
    }
    if (rename(tmp, path) < 0) {
        rc = mail_error_set(err, MAIL_ERR_CANTCREAT, "%s: %s", path,
                            strerror(errno));
        unlink(tmp);
    }
done:
    free(abs);
    free(path);
    free(dir);
    free(tmp);
    return rc;
}

int mail_listing_save(const char *state_dir, struct mail_folder *f,
                      const struct mail_envelope_list *list,
                      const size_t *order, size_t n, struct mail_error *err)
{
    const char **keys = calloc(n ? n : 1, sizeof *keys);
    int rc;

    if (!keys)
        return nomem(err);
    for (size_t i = 0; i < n; i++)
        keys[i] = list->v[order ? order[i] : i].key;
    rc = mail_listing_write(state_dir, f, keys, n, err);
    free(keys);
    return rc;
}

void mail_listing_release(struct mail_listing *l)
{
    free(l->buf);
    free(l->keys);
    memset(l, 0, sizeof *l);
}

int mail_listing_parse(char *buf, const char *abs, struct mail_listing *l,
                       struct mail_error *err)
{
    size_t alloc = 0, line = 0;
    bool bad = false;
    char *p, *nl;

    memset(l, 0, sizeof *l);
    l->buf = buf;
    if (!buf)
        return 0;
    for (p = buf; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        /* An unfinished last line, another format, or another folder
         * with the same hash: not ours. */
        if (!nl || (line == 0 && strncmp(p, MAIL_LISTING_MAGIC "\n",
                                         sizeof MAIL_LISTING_MAGIC) != 0)) {
            bad = true;
            break;
        }
        *nl = '\0';
        line++;
        if (line == 2 && (!abs || strcmp(p, abs) != 0)) {
            bad = true;
            break;
        }
        if (line <= 2)
            continue;
        if (l->n == alloc) {
            char **nk;

            alloc = alloc ? 2 * alloc : 64;
            nk = realloc(l->keys, alloc * sizeof *nk);
            if (!nk) {
                mail_listing_release(l);
                return nomem(err);
            }
            l->keys = nk;
        }
        l->keys[l->n++] = p;
    }
    l->exists = !bad && line >= 2;
    if (!l->exists) {
        /* Not a listing of this folder: as if there were none. */
        free(l->keys);
        l->keys = NULL;
        l->n = 0;
    }
    return 0;
}

int mail_listing_load(const char *state_dir, struct mail_folder *f,
                      struct mail_listing *l, struct mail_error *err)
{
    char *abs = NULL, *path = listing_path(state_dir, f, &abs);
    struct mail_buf b = MAIL_BUF_INIT;
    char chunk[8192];
    ssize_t got;
    int fd, rc = 0;

    memset(l, 0, sizeof *l);
    if (!path) {
        free(abs);
        return nomem(err);
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            rc = mail_error_set(err, MAIL_ERR_IO, "%s: %s", path,
                                strerror(errno));
        goto done;
    }
    while ((got = read(fd, chunk, sizeof chunk)) > 0)
        if (mail_buf_add(&b, chunk, (size_t)got) < 0) {
            got = -1;
            errno = ENOMEM;
            break;
        }
    if (got < 0)
        rc = mail_error_set(err, MAIL_ERR_IO, "%s: %s", path,
                            strerror(errno));
    close(fd);
    if (rc || !b.data)
        goto done;
    rc = mail_listing_parse(mail_buf_detach(&b), abs, l, err);
done:
    mail_buf_release(&b);
    free(path);
    free(abs);
    return rc;
}

/* ---- numbers and ranges ---- */

static bool parse_size(const char *s, size_t len, size_t *v)
{
    size_t n = 0;

    if (len == 0 || len > 9)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        n = n * 10 + (size_t)(s[i] - '0');
    }
    *v = n;
    return true;
}

/* One pass over arg: check it (fn NULL) or call fn for every number. */
static int numbers_pass(const char *arg, mail_number_fn fn, void *fnarg,
                        struct mail_error *err)
{
    const char *p = arg;

    while (*p) {
        size_t len = strcspn(p, ","), dash, a, b;
        const char *d = memchr(p, '-', len);

        dash = d ? (size_t)(d - p) : len;
        if (!parse_size(p, dash, &a))
            return 1;
        b = a;
        if (d && !parse_size(d + 1, len - dash - 1, &b))
            return 1;
        if (!fn && b < a)
            return mail_error_set(err, MAIL_ERR_USAGE, "'%s': a range goes "
                                  "up, as in %zu-%zu", arg, b, a);
        if (!fn && b - a > 1000000)
            return mail_error_set(err, MAIL_ERR_USAGE, "'%s': range too "
                                  "large", arg);
        for (size_t n = a; fn && n <= b; n++)
            if (fn(fnarg, n, err) < 0)
                return -1;
        p += len;
        if (*p == ',') {
            p++;
            if (!*p)
                return 1;
        }
    }
    return 0;
}

int mail_parse_numbers(const char *arg, mail_number_fn fn, void *fnarg,
                       struct mail_error *err)
{
    int rc;

    if (!*arg)
        return 1;
    for (const char *q = arg; *q; q++)
        if (!((*q >= '0' && *q <= '9') || *q == '-' || *q == ','))
            return 1;
    /* The syntax of the whole argument before using any of it. */
    rc = numbers_pass(arg, NULL, NULL, err);
    if (rc || !fn)
        return rc;
    return numbers_pass(arg, fn, fnarg, err);
}

/* ---- resolving MSG arguments ---- */

struct resolver {
    const char *state_dir;
    struct mail_folder *f;
    const char *folder_name;
    struct mail_selection *sel;
    size_t *by_key;          /* indexes of sel->all.v sorted by key */
    bool *chosen;            /* by index of sel->all.v: selected already */
    struct mail_listing listing;
    bool listing_read;
    size_t alloc;
};

static const char *env_key(const struct mail_envelope *e)
{
    return e->key ? e->key : "";
}

/* Sort indexes of l->v by key: a merge sort (qsort's comparator would
 * need global state). */
static void sort_by_key(const struct mail_envelope_list *l, size_t *v,
                        size_t *tmp, size_t n)
{
    size_t h = n / 2, i = 0, j = h, k = 0;

    if (n < 2)
        return;
    sort_by_key(l, v, tmp, h);
    sort_by_key(l, v + h, tmp, n - h);
    while (i < h && j < n)
        tmp[k++] = strcmp(env_key(&l->v[v[j]]), env_key(&l->v[v[i]])) < 0 ?
                   v[j++] : v[i++];
    while (i < h)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

/* The index of the message with this key, or -1. */
static long find_key(const struct resolver *r, const char *key)
{
    const struct mail_envelope_list *l = &r->sel->all;
    size_t lo = 0, hi = l->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(key, env_key(&l->v[r->by_key[mid]]));

        if (c == 0)
            return (long)r->by_key[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

static int add(struct resolver *r, size_t idx, size_t number,
               struct mail_error *err)
{
    struct mail_selection *sel = r->sel;

    if (r->chosen[idx])
        return 0;          /* named twice: once is enough */
    if (sel->n == r->alloc) {
        size_t na = r->alloc ? 2 * r->alloc : 16;
        size_t *ni = realloc(sel->idx, na * sizeof *ni);

        if (!ni)
            return nomem(err);
        sel->idx = ni;
        ni = realloc(sel->number, na * sizeof *ni);
        if (!ni)
            return nomem(err);
        sel->number = ni;
        r->alloc = na;
    }
    r->chosen[idx] = true;
    sel->idx[sel->n] = idx;
    sel->number[sel->n] = number;
    sel->n++;
    return 0;
}

/*
 * An mbox message not at the offset it was listed at: the one message
 * with the same identity (the part of the key after ':'), wherever it is
 * now; none, or more than one, means the folder changed too much to be
 * sure.
 */
static int add_moved(struct resolver *r, size_t num, const char *key,
                     struct mail_error *err)
{
    const struct mail_envelope_list *l = &r->sel->all;
    const char *id = strchr(key, ':');
    long found = -1;

    for (size_t i = 0; id && id[1] && i < l->n; i++) {
        const char *k = l->v[i].key ? strchr(l->v[i].key, ':') : NULL;

        if (k && strcmp(k, id) == 0) {
            if (found >= 0) {
                found = -1;
                break;
            }
            found = (long)i;
        }
    }
    if (found < 0)
        return mail_error_set(err, MAIL_ERR_NOTFOUND, "message %zu of the "
                              "last listing of %s: the folder changed: run "
                              "mail ls again", num, r->folder_name);
    return add(r, (size_t)found, num, err);
}

static int add_number(void *arg, size_t num, struct mail_error *err)
{
    struct resolver *r = arg;
    long idx;

    if (!r->listing_read) {
        if (mail_listing_load(r->state_dir, r->f, &r->listing, err) < 0)
            return -1;
        r->listing_read = true;
    }
    if (!r->listing.exists)
        return mail_error_set(err, MAIL_ERR_NOTFOUND, "message numbers come "
                              "from the last 'mail ls' of a folder, and %s "
                              "has not been listed yet: run 'mail ls' first",
                              r->folder_name);
    if (num == 0 || num > r->listing.n)
        return mail_error_set(err, MAIL_ERR_NOTFOUND, "no message %zu in the "
                              "last listing of %s (it showed %zu)", num,
                              r->folder_name, r->listing.n);
    idx = r->listing.keys[num - 1][0] ?
          find_key(r, r->listing.keys[num - 1]) : -1;
    if (idx < 0 && mail_folder_kind(r->f) == MAIL_FOLDER_MBOX)
        return add_moved(r, num, r->listing.keys[num - 1], err);
    if (idx < 0 && mail_folder_kind(r->f) == MAIL_FOLDER_IMAP &&
        strtoul(r->listing.keys[num - 1], NULL, 10) !=
        mail_imap_folder_uidvalidity(r->f))
        /* IMAP keys are UIDVALIDITY:UID: another UIDVALIDITY means every
         * UID of the listing may now name another message. */
        return mail_error_set(err, MAIL_ERR_NOTFOUND, "message %zu of the "
                              "last listing of %s: the folder changed: run "
                              "mail ls again", num, r->folder_name);
    if (idx < 0)
        return mail_error_set(err, MAIL_ERR_NOTFOUND, "message %zu of the "
                              "last listing is no longer in %s", num,
                              r->folder_name);
    return add(r, (size_t)idx, num, err);
}

static int add_message_id(struct resolver *r, const char *arg,
                          struct mail_error *err)
{
    const struct mail_envelope_list *l = &r->sel->all;
    size_t len = strlen(arg);
    bool found = false;

    for (size_t i = 0; i < l->n; i++) {
        const char *m = l->v[i].message_id;

        while (m && (*m == ' ' || *m == '\t'))
            m++;
        if (m && strncmp(m, arg, len) == 0) {
            if (add(r, i, 0, err) < 0)
                return -1;
            found = true;
        }
    }
    if (!found)
        return mail_error_set(err, MAIL_ERR_NOTFOUND, "no message %s in %s",
                              arg, r->folder_name);
    return 0;
}

static int add_uid(struct resolver *r, const char *arg,
                   struct mail_error *err)
{
    const struct mail_envelope_list *l = &r->sel->all;
    size_t uid;

    if (mail_folder_kind(r->f) != MAIL_FOLDER_IMAP)
        return mail_error_set(err, MAIL_ERR_USAGE, "'%s': uid:N is for IMAP "
                              "folders; %s is local (use the number from "
                              "'mail ls')", arg, r->folder_name);
    if (!parse_size(arg + 4, strlen(arg + 4), &uid))
        return mail_error_set(err, MAIL_ERR_USAGE, "'%s': not a UID", arg);
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].uid == uid)
            return add(r, i, 0, err);
    return mail_error_set(err, MAIL_ERR_NOTFOUND, "no message %s in %s", arg,
                          r->folder_name);
}

/* A message file of a Maildir: "DIR/cur/NAME:2,FLAGS" or "DIR/new/NAME".
 * Sets *maildir (malloc'd, absolute) and *key (malloc'd).  Returns false
 * when path is not that. */
static bool maildir_file(const char *path, char **maildir, char **key)
{
    char *copy = strdup(path), *dir, *base, *sub, *abs;
    bool ok = false;

    *maildir = *key = NULL;
    if (!copy)
        return false;
    base = strrchr(copy, '/');
    if (!base || !base[1])
        goto out;
    *base++ = '\0';
    dir = copy[0] ? copy : "/";
    abs = realpath(dir, NULL);
    if (!abs)
        goto out;
    sub = strrchr(abs, '/');
    if (sub && (strcmp(sub, "/cur") == 0 || strcmp(sub, "/new") == 0) &&
        sub != abs) {
        *sub = '\0';
        *maildir = abs;
        *key = strndup(base, strcspn(base, ":"));
        ok = *key != NULL;
    } else {
        free(abs);
    }
out:
    if (!ok) {
        free(*maildir);
        *maildir = NULL;
    }
    free(copy);
    return ok;
}

static int add_path(struct resolver *r, const char *arg,
                    struct mail_error *err)
{
    char *maildir, *key, *abs;
    long idx = -1;

    if (maildir_file(arg, &maildir, &key)) {
        abs = folder_abspath(r->f);
        if (abs && strcmp(abs, maildir) == 0)
            idx = find_key(r, key);
        free(abs);
        free(maildir);
        free(key);
    }
    if (idx < 0)
        return mail_error_set(err, MAIL_ERR_NOTFOUND, "%s: not a message of "
                              "%s", arg, r->folder_name);
    return add(r, (size_t)idx, 0, err);
}

static int select_one(struct resolver *r, const char *a,
                      struct mail_error *err)
{
    const char *p;
    int rc;

    if (!*a)
        return mail_error_set(err, MAIL_ERR_USAGE, "empty message argument");
    if (a[0] == '<') {
        p = strchr(a, '>');
        if (!p || p[1] || p == a + 1)
            return mail_error_set(err, MAIL_ERR_USAGE, "'%s': a message-id "
                                  "is written <local@domain>", a);
        return add_message_id(r, a, err);
    }
    if (strncmp(a, "uid:", 4) == 0)
        return add_uid(r, a, err);
    if (strchr(a, '/'))
        return add_path(r, a, err);
    rc = mail_parse_numbers(a, add_number, r, err);
    if (rc == 1)
        return mail_error_set(err, MAIL_ERR_USAGE, "'%s' is not a message: "
                              "give a number from 'mail ls' (3, 3-7, 5,9), a "
                              "<message-id> or a file path", a);
    return rc;
}

int mail_select(const char *state_dir, struct mail_folder *f, int argc,
                char *const *argv, struct mail_selection *sel,
                struct mail_error *err)
{
    struct resolver r = { .state_dir = state_dir, .f = f, .sel = sel };
    size_t n, *tmp = NULL;
    int rc = 0;

    memset(sel, 0, sizeof *sel);
    r.folder_name = mail_folder_path(f);
    if (mail_folder_list(f, &sel->all, 0, err) < 0)
        return -1;
    n = sel->all.n;
    r.by_key = malloc((n ? n : 1) * sizeof *r.by_key);
    tmp = malloc((n ? n : 1) * sizeof *tmp);
    r.chosen = calloc(n ? n : 1, sizeof *r.chosen);
    if (!r.by_key || !r.chosen || !tmp) {
        rc = nomem(err);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        r.by_key[i] = i;
    sort_by_key(&sel->all, r.by_key, tmp, n);
    for (int i = 0; i < argc && rc == 0; i++)
        rc = select_one(&r, argv[i], err);
done:
    free(tmp);
    free(r.by_key);
    free(r.chosen);
    mail_listing_release(&r.listing);
    if (rc)
        mail_selection_release(sel);
    return rc ? -1 : 0;
}

void mail_selection_release(struct mail_selection *sel)
{
    mail_envelope_list_release(&sel->all);
    free(sel->idx);
    free(sel->number);
    memset(sel, 0, sizeof *sel);
}

int mail_folder_from_paths(int argc, char *const *argv, int mode,
                           const struct mail_paths *paths,
                           struct mail_folder **f, struct mail_error *err)
{
    char *first = NULL, *maildir, *key;
    struct stat st;

    *f = NULL;
    if (argc <= 0)
        return 0;
    for (int i = 0; i < argc; i++) {
        if (!strchr(argv[i], '/') || stat(argv[i], &st) < 0 ||
            !S_ISREG(st.st_mode) || !maildir_file(argv[i], &maildir, &key)) {
            free(first);
            return 0;
        }
        free(key);
        if (first && strcmp(first, maildir) != 0) {
            free(first);
            free(maildir);
            return mail_error_set(err, MAIL_ERR_USAGE, "the messages are in "
                                  "different folders: give them one folder "
                                  "at a time");
        }
        if (first)
            free(maildir);
        else
            first = maildir;
    }
    *f = mail_folder_open(first, mode, paths, err);
    free(first);
    return *f ? 1 : -1;
}

/* ---- after a change ---- */

bool mail_folder_same(struct mail_folder *a, struct mail_folder *b)
{
    char *x = folder_abspath(a), *y = folder_abspath(b);
    bool same = x && y && strcmp(x, y) == 0;

    free(x);
    free(y);
    return same;
}

/* The identity part of an mbox key "OFFSET:ID" (the whole key if none). */
static const char *key_id_part(const char *k)
{
    const char *c = strchr(k, ':');

    return c ? c : k;
}

/* By identity, then by the whole key. */
static int cmp_listing_key(const char *x, const char *y)
{
    int c = strcmp(key_id_part(x), key_id_part(y));

    return c ? c : strcmp(x, y);
}

static void sort_listing(char **keys, size_t *v, size_t *tmp, size_t n)
{
    size_t h = n / 2, i = 0, j = h, k = 0;

    if (n < 2)
        return;
    sort_listing(keys, v, tmp, h);
    sort_listing(keys, v + h, tmp, n - h);
    while (i < h && j < n)
        tmp[k++] = cmp_listing_key(keys[v[j]], keys[v[i]]) < 0 ?
                   v[j++] : v[i++];
    while (i < h)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

/* The listing entry (index into l->keys) for the message with key old:
 * the one with that very key, else the only one with its identity; or
 * -1.  pos holds the listing's indexes sorted by cmp_listing_key. */
static long listing_match(const struct mail_listing *l, const size_t *pos,
                          const char *old)
{
    const char *id = key_id_part(old);
    size_t lo = 0, hi = l->n, first, n = 0;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (strcmp(key_id_part(l->keys[pos[mid]]), id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    first = lo;
    for (size_t k = first; k < l->n &&
         strcmp(key_id_part(l->keys[pos[k]]), id) == 0; k++) {
        if (strcmp(l->keys[pos[k]], old) == 0)
            return (long)pos[k];
        n++;
    }
    return n == 1 && *id == ':' ? (long)pos[first] : -1;
}

int mail_listing_remap(const char *state_dir, struct mail_folder *f,
                       const struct mail_envelope_list *before,
                       const bool *removed, struct mail_error *err)
{
    struct mail_envelope_list after = MAIL_ENVELOPE_LIST_INIT;
    struct mail_listing l;
    struct mail_error ignored;
    struct mail_folder *g = NULL;
    const char **keys = NULL;
    size_t *pos = NULL, *tmp = NULL;
    const struct mail_paths *paths;
    char *path;
    size_t kept = 0, j = 0;
    int rc;

    if (mail_folder_kind(f) != MAIL_FOLDER_MBOX || !before)
        return mail_folder_close(f, err) < 0 ? -1 : 0;
    /* An mbox: its keys are offsets, which the rewrite has changed. */
    mail_error_clear(&ignored);
    paths = f->paths;
    path = strdup(mail_folder_path(f));
    rc = mail_listing_load(state_dir, f, &l, &ignored);
    if (mail_folder_close(f, err) < 0) {
        free(path);
        mail_listing_release(&l);
        return -1;
    }
    if (rc || !path || !l.keys)
        goto out;
    g = mail_folder_open(path, MAIL_FOLDER_RDONLY, paths, &ignored);
    if (!g || mail_folder_list(g, &after, 0, &ignored) < 0)
        goto close;
    for (size_t i = 0; i < before->n; i++)
        kept += !(removed && removed[i]);
    if (kept != after.n)
        goto close;     /* changed behind our back: leave it */
    keys = calloc(l.n ? l.n : 1, sizeof *keys);
    pos = malloc((l.n ? l.n : 1) * sizeof *pos);
    tmp = malloc((l.n ? l.n : 1) * sizeof *tmp);
    if (!keys || !pos || !tmp)
        goto close;
    /* A number whose message is not found below keeps its key: it may
     * still be found by its identity (mbox) later. */
    for (size_t k = 0; k < l.n; k++) {
        pos[k] = k;
        keys[k] = l.keys[k][0] ? l.keys[k] : NULL;
    }
    sort_listing(l.keys, pos, tmp, l.n);
    /* The kept messages are in the same order before and after. */
    for (size_t i = 0; i < before->n; i++) {
        const char *old = before->v[i].key;
        long at = old ? listing_match(&l, pos, old) : -1;
        bool gone = removed && removed[i];

        if (at >= 0)
            keys[at] = gone ? NULL : after.v[j].key;
        j += !gone;
    }
    mail_listing_write(state_dir, g, keys, l.n, &ignored);
close:
    if (g)
        mail_folder_close(g, &ignored);
out:
    free(keys);
    free(pos);
    free(tmp);
    mail_envelope_list_release(&after);
    mail_listing_release(&l);
    free(path);
    return 0;
}
