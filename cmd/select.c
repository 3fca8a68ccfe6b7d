/*
 * select.c - FOLDER and MSG arguments; see select.h.
 *
 * The numbers of `mail ls` are remembered per folder in
 * $XDG_STATE_HOME/mail/ls-HASH (else ~/.local/state/mail/), HASH being
 * FNV-1a of the folder's absolute path.  The file holds a header line,
 * the folder's path (so that a hash collision is noticed) and one message
 * key per line, in the order shown: line 3 is number 1.  Keys, not file
 * names, so a message that moved from new/ to cur/ or changed flags is
 * still found; a message that is gone leaves its number unresolvable
 * without shifting the others.  An mbox key is "OFFSET:ID", the byte
 * offset of the message and a hash of its From_ line, header and body
 * length (see mbox.c): a number names that message and no other.  When
 * another program rewrote the mbox, a message whose offset changed is
 * found again by its ID; one that is gone (or changed) is refused with
 * "the folder changed: run mail ls again", never taken for the message
 * now at its old offset.  After our own rewrite cmd_folder_done maps the
 * old keys to the new ones.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmd.h"
#include "select.h"
#include "mail/fsutil.h"

#define LISTING_MAGIC "mail-listing 1"

static int nomem(void)
{
    return cmd_failf(EX_OSERR, "out of memory");
}

/* ---- opening folders ---- */

static const char *account_store(struct cmd_ctx *ctx, const char *what,
                                 int *rc)
{
    struct mail_account *acct;

    *rc = cmd_load_account(ctx, &acct);
    if (*rc)
        return NULL;
    if (!acct->store || !*acct->store) {
        *rc = cmd_failf(EX_CONFIG, "account '%s' has no store, needed for "
                        "%s (add 'store = ~/Mail' to its section of the "
                        "config, or give a folder path)", acct->name, what);
        return NULL;
    }
    return acct->store;
}

/* Open path; for a folder of an mbox store created on demand, say so
 * with the "mbox:" prefix.  name is the =NAME for messages, or NULL. */
static int open_path(const char *path, const char *store, int mode,
                     const char *name, struct mail_folder **f)
{
    struct mail_error err;
    char *forced = NULL;

    mail_error_clear(&err);
    if ((mode & MAIL_FOLDER_CREATE) && store &&
        strncmp(store, "mbox:", 5) == 0 && strncmp(path, "mbox:", 5) != 0) {
        if (asprintf(&forced, "mbox:%s", path) < 0)
            return nomem();
        path = forced;
    }
    *f = mail_folder_open(path, mode, &err);
    free(forced);
    if (*f)
        return 0;
    if (err.kind == MAIL_ERR_NOTFOUND && name)
        return cmd_failf(EX_NOINPUT, "no folder '%s' in the store (see "
                         "'mail folders')", name);
    return cmd_fail(&err);
}

int cmd_open_folder(struct cmd_ctx *ctx, const char *arg, int mode,
                    struct mail_folder **f, const char **display)
{
    struct mail_error err;
    const char *store;
    char *path;
    int rc;

    *f = NULL;
    mail_error_clear(&err);
    if (arg && strncmp(arg, "imap:", 5) == 0)
        return cmd_failf(EX_UNAVAILABLE, "%s: IMAP folders are not "
                         "supported yet (use a local folder)", arg);
    if (arg && arg[0] == '=') {
        if (!arg[1])
            return cmd_failf(EX_USAGE, "'=' needs a folder name, as in "
                             "=Sent");
        store = account_store(ctx, arg, &rc);
        if (!store)
            return rc;
        path = mail_store_folder_path(store, arg + 1, &err);
        if (!path)
            return cmd_fail(&err);
        rc = open_path(path, store, mode, arg + 1, f);
        free(path);
        if (display)
            *display = arg;
        return rc;
    }
    if (arg) {
        if (!*arg)
            return cmd_failf(EX_USAGE, "empty folder name");
        /* A path needs no config: mail_folder_open expands "~". */
        rc = open_path(arg, NULL, mode, NULL, f);
        if (display)
            *display = arg;
        return rc;
    }
    store = account_store(ctx, "the default folder", &rc);
    if (!store)
        return rc;
    path = mail_store_folder_path(store, "INBOX", &err);
    if (!path)
        return cmd_fail(&err);
    rc = open_path(path, store, mode, NULL, f);
    free(path);
    if (display)
        *display = "INBOX";
    return rc;
}

/* ---- the saved listing ---- */

/* The absolute path of folder f (malloc'd), or NULL. */
static char *folder_abspath(struct mail_folder *f)
{
    const char *p = mail_folder_path(f);
    char *r;

    if (!p)
        return NULL;
    if (strncmp(p, "mbox:", 5) == 0)
        p += 5;
    r = realpath(p, NULL);
    return r ? r : strdup(p);
}

/* $XDG_STATE_HOME/mail, else ~/.local/state/mail (malloc'd). */
static char *state_dir(void)
{
    const char *x = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    char *d = NULL;

    if (x && x[0] == '/') {
        if (asprintf(&d, "%s/mail", x) < 0)
            return NULL;
    } else {
        if (!home || !*home)
            home = "/";
        if (asprintf(&d, "%s/.local/state/mail", home) < 0)
            return NULL;
    }
    return d;
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
static char *listing_path(struct mail_folder *f, char **abs)
{
    char *dir, *p = NULL;

    *abs = folder_abspath(f);
    dir = state_dir();
    if (*abs && dir &&
        asprintf(&p, "%s/ls-%016llx", dir,
                 (unsigned long long)fnv1a(*abs)) < 0)
        p = NULL;
    free(dir);
    return p;
}

/* Write the listing: keys[i] (NULL: a number that no longer resolves). */
static int write_listing(struct mail_folder *f, const char *const *keys,
                         size_t n)
{
    char *abs = NULL, *path = listing_path(f, &abs), *dir = NULL, *tmp = NULL;
    int fd = -1, rc = 0;
    FILE *out = NULL;

    if (!path) {
        rc = nomem();
        goto done;
    }
    dir = strdup(path);
    if (!dir || asprintf(&tmp, "%s.XXXXXX", path) < 0) {
        tmp = NULL;
        rc = nomem();
        goto done;
    }
    *strrchr(dir, '/') = '\0';
    {
        struct mail_error merr;

        if (mail_mkdirs(dir, &merr) < 0) {
            rc = cmd_fail(&merr);
            goto done;
        }
    }
    fd = mkstemp(tmp);
    if (fd < 0 || !(out = fdopen(fd, "w"))) {
        rc = cmd_failf(EX_CANTCREAT, "%s: %s", tmp, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        goto done;
    }
    fprintf(out, "%s\n%s\n", LISTING_MAGIC, abs);
    for (size_t i = 0; i < n; i++) {
        /* A key is one line; one with a line break cannot be kept. */
        if (keys[i] && !strchr(keys[i], '\n'))
            fputs(keys[i], out);
        fputc('\n', out);
    }
    if (fflush(out) != 0 || ferror(out) || fclose(out) != 0) {
        rc = cmd_failf(EX_IOERR, "%s: %s", tmp, strerror(errno));
        unlink(tmp);
        goto done;
    }
    if (rename(tmp, path) < 0) {
        rc = cmd_failf(EX_CANTCREAT, "%s: %s", path, strerror(errno));
        unlink(tmp);
    }
done:
    free(abs);
    free(path);
    free(dir);
    free(tmp);
    return rc;
}

int cmd_save_listing(struct mail_folder *f,
                     const struct mail_envelope_list *list,
                     const size_t *order, size_t n)
{
    const char **keys = calloc(n ? n : 1, sizeof *keys);
    int rc;

    if (!keys)
        return nomem();
    for (size_t i = 0; i < n; i++)
        keys[i] = list->v[order ? order[i] : i].key;
    rc = write_listing(f, keys, n);
    free(keys);
    return rc;
}

/* A saved listing: buf holds the file, keys point into it. */
struct listing {
    char *buf;
    char **keys;
    size_t n;
    bool exists;     /* a listing of this folder was found (maybe empty) */
};

static void listing_release(struct listing *l)
{
    free(l->buf);
    free(l->keys);
    memset(l, 0, sizeof *l);
}

/* Read the saved listing of f.  Returns 0 (l->n == 0 and l->keys NULL
 * when there is none), or an exit code after printing the error. */
static int read_listing(struct mail_folder *f, struct listing *l)
{
    char *abs = NULL, *path = listing_path(f, &abs), *p, *nl;
    struct mail_buf b = MAIL_BUF_INIT;
    size_t alloc = 0, line = 0;
    bool bad = false;
    char chunk[8192];
    ssize_t got;
    int fd, rc = 0;

    memset(l, 0, sizeof *l);
    if (!path) {
        free(abs);
        return nomem();
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            rc = cmd_failf(EX_IOERR, "%s: %s", path, strerror(errno));
        goto done;
    }
    while ((got = read(fd, chunk, sizeof chunk)) > 0)
        if (mail_buf_add(&b, chunk, (size_t)got) < 0) {
            got = -1;
            errno = ENOMEM;
            break;
        }
    if (got < 0)
        rc = cmd_failf(EX_IOERR, "%s: %s", path, strerror(errno));
    close(fd);
    if (rc || !b.data)
        goto done;
    l->buf = mail_buf_detach(&b);
    for (p = l->buf; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        /* An unfinished last line, another format, or another folder
         * with the same hash: not ours. */
        if (!nl || (line == 0 && strncmp(p, LISTING_MAGIC "\n",
                                         sizeof LISTING_MAGIC) != 0)) {
            bad = true;
            break;
        }
        *nl = '\0';
        line++;
        if (line == 2 && strcmp(p, abs) != 0) {
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
                rc = nomem();
                goto done;
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
done:
    mail_buf_release(&b);
    free(path);
    free(abs);
    if (rc)
        listing_release(l);
    return rc;
}

/* ---- resolving MSG arguments ---- */

struct resolver {
    struct cmd_ctx *ctx;
    struct mail_folder *f;
    const char *folder_name;
    struct cmd_selection *sel;
    size_t *by_key;          /* indexes of sel->all.v sorted by key */
    bool *chosen;            /* by index of sel->all.v: selected already */
    struct listing listing;
    bool listing_read;
    size_t alloc;
};

static const struct mail_envelope_list *sort_list;

static int cmp_key(const void *a, const void *b)
{
    const struct mail_envelope *x = &sort_list->v[*(const size_t *)a];
    const struct mail_envelope *y = &sort_list->v[*(const size_t *)b];

    return strcmp(x->key ? x->key : "", y->key ? y->key : "");
}

/* The index of the message with this key, or -1. */
static long find_key(const struct resolver *r, const char *key)
{
    const struct mail_envelope_list *l = &r->sel->all;
    size_t lo = 0, hi = l->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *k = l->v[r->by_key[mid]].key;
        int c = strcmp(key, k ? k : "");

        if (c == 0)
            return (long)r->by_key[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

static int add(struct resolver *r, size_t idx, size_t number)
{
    struct cmd_selection *sel = r->sel;

    if (r->chosen[idx])
        return 0;          /* named twice: once is enough */
    if (sel->n == r->alloc) {
        size_t na = r->alloc ? 2 * r->alloc : 16;
        size_t *ni = realloc(sel->idx, na * sizeof *ni);

        if (!ni)
            return nomem();
        sel->idx = ni;
        ni = realloc(sel->number, na * sizeof *ni);
        if (!ni)
            return nomem();
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
static int add_moved(struct resolver *r, size_t num, const char *key)
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
        return cmd_failf(EX_NOINPUT, "message %zu of the last listing of "
                         "%s: the folder changed: run mail ls again", num,
                         r->folder_name);
    return add(r, (size_t)found, num);
}

static int add_number(struct resolver *r, size_t num)
{
    long idx;
    int rc;

    if (!r->listing_read) {
        rc = read_listing(r->f, &r->listing);
        if (rc)
            return rc;
        r->listing_read = true;
    }
    if (!r->listing.exists)
        return cmd_failf(EX_NOINPUT, "message numbers come from the last "
                         "'mail ls' of a folder, and %s has not been listed "
                         "yet: run 'mail ls' first", r->folder_name);
    if (num == 0 || num > r->listing.n)
        return cmd_failf(EX_NOINPUT, "no message %zu in the last listing "
                         "of %s (it showed %zu)", num, r->folder_name,
                         r->listing.n);
    idx = r->listing.keys[num - 1][0] ?
          find_key(r, r->listing.keys[num - 1]) : -1;
    if (idx < 0 && mail_folder_kind(r->f) == MAIL_FOLDER_MBOX)
        return add_moved(r, num, r->listing.keys[num - 1]);
    if (idx < 0)
        return cmd_failf(EX_NOINPUT, "message %zu of the last listing is "
                         "no longer in %s", num, r->folder_name);
    return add(r, (size_t)idx, num);
}

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

/* "3", "3-7", "5,9", "1-3,7".  Returns -1 when arg is not of that form. */
static int add_numbers(struct resolver *r, const char *arg)
{
    const char *p = arg;
    int rc;

    /* Check the syntax of the whole argument before using any of it. */
    for (const char *q = arg; *q; q++)
        if (!((*q >= '0' && *q <= '9') || *q == '-' || *q == ','))
            return -1;
    while (*p) {
        size_t len = strcspn(p, ","), dash, a, b;
        const char *d = memchr(p, '-', len);

        dash = d ? (size_t)(d - p) : len;
        if (!parse_size(p, dash, &a))
            return -1;
        b = a;
        if (d && !parse_size(d + 1, len - dash - 1, &b))
            return -1;
        if (b < a)
            return cmd_failf(EX_USAGE, "'%s': a range goes up, as in %zu-%zu",
                             arg, b, a);
        if (b - a > 1000000)
            return cmd_failf(EX_USAGE, "'%s': range too large", arg);
        for (size_t n = a; n <= b; n++) {
            rc = add_number(r, n);
            if (rc)
                return rc;
        }
        p += len;
        if (*p == ',') {
            p++;
            if (!*p)
                return -1;
        }
    }
    return 0;
}

static int add_message_id(struct resolver *r, const char *arg)
{
    const struct mail_envelope_list *l = &r->sel->all;
    size_t len = strlen(arg);
    int rc;
    bool found = false;

    for (size_t i = 0; i < l->n; i++) {
        const char *m = l->v[i].message_id;

        while (m && (*m == ' ' || *m == '\t'))
            m++;
        if (m && strncmp(m, arg, len) == 0) {
            rc = add(r, i, 0);
            if (rc)
                return rc;
            found = true;
        }
    }
    if (!found)
        return cmd_failf(EX_NOINPUT, "no message %s in %s", arg,
                         r->folder_name);
    return 0;
}

static int add_uid(struct resolver *r, const char *arg)
{
    const struct mail_envelope_list *l = &r->sel->all;
    size_t uid;

    if (mail_folder_kind(r->f) != MAIL_FOLDER_IMAP)
        return cmd_failf(EX_USAGE, "'%s': uid:N is for IMAP folders; %s is "
                         "local (use the number from 'mail ls')", arg,
                         r->folder_name);
    if (!parse_size(arg + 4, strlen(arg + 4), &uid))
        return cmd_failf(EX_USAGE, "'%s': not a UID", arg);
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].uid == uid)
            return add(r, i, 0);
    return cmd_failf(EX_NOINPUT, "no message %s in %s", arg,
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

static int add_path(struct resolver *r, const char *arg)
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
        return cmd_failf(EX_NOINPUT, "%s: not a message of %s", arg,
                         r->folder_name);
    return add(r, (size_t)idx, 0);
}

int cmd_select_messages(struct cmd_ctx *ctx, struct mail_folder *f,
                        int argc, char **argv, struct cmd_selection *sel)
{
    struct resolver r = { .ctx = ctx, .f = f, .sel = sel };
    struct mail_error err;
    const char *p;
    int rc = 0;

    memset(sel, 0, sizeof *sel);
    mail_error_clear(&err);
    r.folder_name = mail_folder_path(f);
    if (mail_folder_list(f, &sel->all, 0, &err) < 0)
        return cmd_fail(&err);
    r.by_key = malloc((sel->all.n ? sel->all.n : 1) * sizeof *r.by_key);
    r.chosen = calloc(sel->all.n ? sel->all.n : 1, sizeof *r.chosen);
    if (!r.by_key || !r.chosen) {
        rc = nomem();
        goto done;
    }
    for (size_t i = 0; i < sel->all.n; i++)
        r.by_key[i] = i;
    sort_list = &sel->all;
    if (sel->all.n > 1)
        qsort(r.by_key, sel->all.n, sizeof *r.by_key, cmp_key);
    sort_list = NULL;

    for (int i = 0; i < argc && rc == 0; i++) {
        const char *a = argv[i];

        if (!*a) {
            rc = cmd_failf(EX_USAGE, "empty message argument");
        } else if (a[0] == '<') {
            p = strchr(a, '>');
            if (!p || p[1] || p == a + 1)
                rc = cmd_failf(EX_USAGE, "'%s': a message-id is written "
                               "<local@domain>", a);
            else
                rc = add_message_id(&r, a);
        } else if (strncmp(a, "uid:", 4) == 0) {
            rc = add_uid(&r, a);
        } else if (strchr(a, '/')) {
            rc = add_path(&r, a);
        } else {
            rc = add_numbers(&r, a);
            if (rc == -1)
                rc = cmd_failf(EX_USAGE, "'%s' is not a message: give a "
                               "number from 'mail ls' (3, 3-7, 5,9), a "
                               "<message-id> or a file path", a);
        }
    }
done:
    free(r.by_key);
    free(r.chosen);
    listing_release(&r.listing);
    if (rc)
        cmd_selection_release(sel);
    return rc;
}

void cmd_selection_release(struct cmd_selection *sel)
{
    mail_envelope_list_release(&sel->all);
    free(sel->idx);
    free(sel->number);
    memset(sel, 0, sizeof *sel);
}

int cmd_folder_from_paths(struct cmd_ctx *ctx, int argc, char **argv,
                          int mode, struct mail_folder **f)
{
    char *first = NULL, *maildir, *key;
    struct mail_error err;
    struct stat st;

    (void)ctx;
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
            return cmd_failf(EX_USAGE, "the messages are in different "
                             "folders: give them one folder at a time");
        }
        if (first)
            free(maildir);
        else
            first = maildir;
    }
    mail_error_clear(&err);
    *f = mail_folder_open(first, mode, &err);
    free(first);
    if (!*f)
        return cmd_fail(&err);
    return 1;
}

/* ---- after a change ---- */

bool cmd_same_folder(struct mail_folder *a, struct mail_folder *b)
{
    char *x = folder_abspath(a), *y = folder_abspath(b);
    bool same = x && y && strcmp(x, y) == 0;

    free(x);
    free(y);
    return same;
}

static char **sort_keys;

/* The identity part of an mbox key "OFFSET:ID" (the whole key if none). */
static const char *key_id_part(const char *k)
{
    const char *c = strchr(k, ':');

    return c ? c : k;
}

/* By identity, then by the whole key. */
static int cmp_listing_key(const void *a, const void *b)
{
    const char *x = sort_keys[*(const size_t *)a];
    const char *y = sort_keys[*(const size_t *)b];
    int c = strcmp(key_id_part(x), key_id_part(y));

    return c ? c : strcmp(x, y);
}

/* The listing entry (index into l->keys) for the message with key old:
 * the one with that very key, else the only one with its identity; or
 * -1.  pos holds the listing's indexes sorted by cmp_listing_key. */
static long listing_match(const struct listing *l, const size_t *pos,
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

int cmd_folder_done(struct mail_folder *f,
                    const struct mail_envelope_list *before,
                    const bool *removed)
{
    struct mail_envelope_list after = MAIL_ENVELOPE_LIST_INIT;
    struct listing l;
    struct mail_error err;
    struct mail_folder *g = NULL;
    const char **keys = NULL;
    size_t *pos = NULL;
    char *path;
    size_t kept = 0, j = 0;
    int rc;

    mail_error_clear(&err);
    if (mail_folder_kind(f) != MAIL_FOLDER_MBOX || !before) {
        if (mail_folder_close(f, &err) < 0)
            return cmd_fail(&err);
        return 0;
    }
    /* An mbox: its keys are offsets, which the rewrite has changed. */
    path = strdup(mail_folder_path(f));
    rc = read_listing(f, &l);
    if (mail_folder_close(f, &err) < 0) {
        free(path);
        listing_release(&l);
        return cmd_fail(&err);
    }
    if (rc || !path || !l.keys)
        goto out;
    g = mail_folder_open(path, MAIL_FOLDER_RDONLY, &err);
    if (!g || mail_folder_list(g, &after, 0, &err) < 0)
        goto close;
    for (size_t i = 0; i < before->n; i++)
        kept += !(removed && removed[i]);
    if (kept != after.n)
        goto close;     /* changed behind our back: leave it */
    keys = calloc(l.n ? l.n : 1, sizeof *keys);
    pos = malloc((l.n ? l.n : 1) * sizeof *pos);
    if (!keys || !pos)
        goto close;
    /* A number whose message is not found below keeps its key: it may
     * still be found by its identity (mbox) later. */
    for (size_t k = 0; k < l.n; k++) {
        pos[k] = k;
        keys[k] = l.keys[k][0] ? l.keys[k] : NULL;
    }
    sort_keys = l.keys;
    if (l.n > 1)
        qsort(pos, l.n, sizeof *pos, cmp_listing_key);
    sort_keys = NULL;
    /* The kept messages are in the same order before and after. */
    for (size_t i = 0; i < before->n; i++) {
        const char *old = before->v[i].key;
        long at = old ? listing_match(&l, pos, old) : -1;
        bool gone = removed && removed[i];

        if (at >= 0)
            keys[at] = gone ? NULL : after.v[j].key;
        j += !gone;
    }
    write_listing(g, keys, l.n);
close:
    if (g)
        mail_folder_close(g, &err);
out:
    free(keys);
    free(pos);
    mail_envelope_list_release(&after);
    listing_release(&l);
    free(path);
    return 0;
}
