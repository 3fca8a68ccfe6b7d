/*
 * aliases.c - mutt-format aliases and the resolution of recipients
 * (aliases.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cfgfile.h"
#include "mail/aliases.h"
#include "mail/config.h"
#include "mail/fsutil.h"
#include "mail/termsafe.h"

#define ALIAS_DEPTH_MAX 8
#define ALIAS_LINE_MAX 65536

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

void mail_aliases_release(struct mail_aliases *a)
{
    for (size_t i = 0; i < a->n; i++) {
        free(a->v[i].name);
        free(a->v[i].value);
    }
    free(a->v);
    a->v = NULL;
    a->n = 0;
}

const char *mail_aliases_lookup(const struct mail_aliases *a,
                                const char *name)
{
    if (!a || !name)
        return NULL;
    /* The last definition wins. */
    for (size_t i = a->n; i-- > 0;)
        if (mail_strcasecmp(a->v[i].name, name) == 0)
            return a->v[i].value;
    return NULL;
}

int mail_aliases_add(struct mail_aliases *a, const char *name,
                     const char *value, struct mail_error *err)
{
    struct mail_alias *nv;
    char *n, *v;

    if (!name || !*name || !value || !*value)
        return mail_error_set(err, MAIL_ERR_CONFIG, "an alias needs a name "
                              "and a value");
    if (strpbrk(value, "\r\n") || strpbrk(name, "\r\n \t@,<>"))
        return mail_error_set(err, MAIL_ERR_CONFIG, "alias '%.100s': bad "
                              "name or value", name);
    nv = realloc(a->v, (a->n + 1) * sizeof *nv);
    if (!nv)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    a->v = nv;
    n = strdup(name);
    v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    a->v[a->n].name = n;
    a->v[a->n].value = v;
    a->n++;
    return 0;
}

char *mail_aliases_default_path(const struct mail_paths *paths,
                                struct mail_error *err)
{
    char *cfg = mail_config_default_path(paths, err);
    char *slash, *out;
    size_t dl;

    if (!cfg)
        return NULL;
    /* ".../mail/config" -> ".../mail/aliases" */
    slash = strrchr(cfg, '/');
    dl = slash ? (size_t)(slash - cfg) + 1 : 0;
    out = malloc(dl + sizeof "aliases");
    if (out) {
        memcpy(out, cfg, dl);
        memcpy(out + dl, "aliases", sizeof "aliases");
    } else {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    free(cfg);
    return out;
}

/* One line: "alias [-group G]... NAME VALUE". */
static int parse_line(struct mail_aliases *a, char *line, const char *path,
                      unsigned lineno, struct mail_error *err)
{
    char *p = line, *name, *e;

    while (is_blank(*p))
        p++;
    if (strncmp(p, "alias", 5) != 0 || !is_blank(p[5]))
        return 0;                   /* a comment, or another command */
    p += 5;
    for (;;) {
        while (is_blank(*p))
            p++;
        if (strncmp(p, "-group", 6) == 0 && is_blank(p[6])) {
            p += 6;
            while (is_blank(*p))
                p++;
            while (*p && !is_blank(*p))
                p++;            /* the group's name */
            continue;
        }
        break;
    }
    name = p;
    while (*p && !is_blank(*p))
        p++;
    if (*p)
        *p++ = '\0';
    while (is_blank(*p))
        p++;
    e = p + strlen(p);
    while (e > p && (is_blank(e[-1]) || e[-1] == '\r'))
        *--e = '\0';
    if (!*name || !*p)
        return mail_error_set(err, MAIL_ERR_CONFIG, "%.300s:%u: an alias "
                              "needs a name and addresses", path, lineno);
    if (mail_aliases_add(a, name, p, err) < 0)
        return mail_error_prefix(err, "%.300s:%u", path, lineno);
    return 0;
}

int mail_aliases_load(struct mail_aliases *a, const char *path,
                      struct mail_error *err)
{
    FILE *f;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned lineno = 0;
    int rc = 0;

    mail_aliases_release(a);
    f = fopen(path, "re");
    if (!f) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        return mail_error_set(err, MAIL_ERR_IO, "%.300s: %s", path,
                              strerror(errno));
    }
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (n > ALIAS_LINE_MAX) {
            rc = mail_error_set(err, MAIL_ERR_CONFIG, "%.300s:%u: line too "
                                "long", path, lineno);
            break;
        }
        if (n > 0 && line[n - 1] == '\n')
            line[n - 1] = '\0';
        if ((rc = parse_line(a, line, path, lineno, err)) < 0)
            break;
    }
    if (rc == 0 && ferror(f))
        rc = mail_error_set(err, MAIL_ERR_IO, "%.300s: %s", path,
                            strerror(errno));
    free(line);
    fclose(f);
    if (rc < 0)
        mail_aliases_release(a);
    return rc;
}

static bool is_group_member_empty(const struct mail_address *m)
{
    return !*m->addr;
}

static int resolve(const struct mail_aliases *al, const char *domain,
                   const char *arg, bool groups, unsigned depth,
                   struct mail_buf *out, struct mail_error *err)
{
    struct mail_addrlist l = MAIL_ADDRLIST_INIT;
    int rc = -1;

    if (mail_address_check(arg, groups, err) < 0)
        return -1;
    if (mail_addrlist_parse(&l, arg, err) < 0)
        return -1;
    for (size_t i = 0; i < l.n; i++) {
        const struct mail_address *m = &l.v[i];
        const char *val;

        if (is_group_member_empty(m))
            continue;
        if (!strchr(m->addr, '@')) {
            val = mail_aliases_lookup(al, m->addr);
            if (val) {
                if (depth >= ALIAS_DEPTH_MAX) {
                    mail_error_set(err, MAIL_ERR_USAGE, "alias '%.100s': "
                                   "aliases nested too deep (a loop?)",
                                   m->addr);
                    goto done;
                }
                if (resolve(al, domain, val, false, depth + 1, out,
                            err) < 0) {
                    if (depth == 0)
                        mail_error_prefix(err, "alias '%.100s'", m->addr);
                    goto done;
                }
                continue;
            }
            if (!domain || !*domain) {
                mail_error_set(err, MAIL_ERR_USAGE, "'%.100s' is not an "
                               "address: no alias '%.100s' and no domain to "
                               "add (set domain in the account)", m->addr,
                               m->addr);
                goto done;
            }
            if (strpbrk(domain, " \t\r\n<>@,;:()\"\\")) {
                mail_error_set(err, MAIL_ERR_CONFIG, "domain '%.100s' is not "
                               "a domain name", domain);
                goto done;
            }
        }
        if (out->len && mail_buf_addstr(out, ", ") < 0)
            goto nomem;
        if (strchr(m->addr, '@')) {
            if (mail_address_format(out, m->name, m->addr) < 0)
                goto nomem;
        } else {
            struct mail_buf q = MAIL_BUF_INIT;
            int r = mail_buf_printf(&q, "%s@%s", m->addr, domain) < 0 ||
                    mail_address_format(out, m->name, q.data) < 0;

            mail_buf_release(&q);
            if (r)
                goto nomem;
        }
    }
    rc = 0;
    goto done;
nomem:
    mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
done:
    mail_addrlist_release(&l);
    return rc;
}

int mail_rcpt_resolve(const struct mail_aliases *aliases, const char *domain,
                      const char *arg, bool groups, struct mail_buf *out,
                      struct mail_error *err)
{
    return resolve(aliases, domain, arg ? arg : "", groups, 0, out, err);
}

/* ---- changing the file (cfgfile.h, mail_aliases_file_set) ---- */

/* flock fd, waiting up to timeout_ms.  0, or -1 with errno. */
static int lock_wait(int fd, int timeout_ms)
{
    int waited = 0;

    while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        struct timespec ts = { 0, 10 * 1000 * 1000 };

        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK || waited >= timeout_ms)
            return -1;
        nanosleep(&ts, NULL);
        waited += 10;
    }
    return 0;
}

/*
 * The lock is the directory that holds the file, not a file of its own:
 * the file itself is replaced by rename (a lock on it would be on the
 * old inode, which a waiter would then hold while another process
 * writes the new one), and a PATH.lock file cannot be removed after use
 * without the same race (a process waiting on the unlinked file would
 * go on while a newcomer locks a new PATH.lock), so it stayed behind in
 * the user's config directory.  The directory is never replaced.  Only
 * where a directory cannot be locked (NFS takes flock as a write lock,
 * which a directory opened for reading cannot have) PATH.lock is used,
 * as before.
 */
int cfgfile_lock(const char *path, int timeout_ms, struct mail_error *err)
{
    struct mail_buf lp = MAIL_BUF_INIT;
    const char *slash = strrchr(path, '/');
    int fd;

    if (mail_mkdir_parents(path, err) < 0)
        return -1;
    if (slash == path)
        mail_buf_addstr(&lp, "/");
    else if (slash)
        mail_buf_add(&lp, path, (size_t)(slash - path));
    else
        mail_buf_addstr(&lp, ".");
    if (!lp.data)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    fd = open(lp.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0 && lock_wait(fd, timeout_ms) == 0) {
        mail_buf_release(&lp);
        return fd;
    }
    if (fd >= 0 && errno != EBADF && errno != ENOLCK && errno != EINVAL &&
        errno != EOPNOTSUPP)
        goto fail;
    if (fd >= 0)
        close(fd);
    /* No lock on the directory here: a lock file beside the file. */
    mail_buf_reset(&lp);
    if (mail_buf_printf(&lp, "%s.lock", path) < 0) {
        mail_buf_release(&lp);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    fd = open(lp.data, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        mail_error_set(err, MAIL_ERR_CANTCREAT, "%.300s: %s", lp.data,
                       strerror(errno));
        mail_buf_release(&lp);
        return -1;
    }
    if (lock_wait(fd, timeout_ms) == 0) {
        mail_buf_release(&lp);
        return fd;
    }
fail:
    mail_error_set(err, errno == EWOULDBLOCK ? MAIL_ERR_TEMP : MAIL_ERR_IO,
                   "%.300s: %s", lp.data, errno == EWOULDBLOCK ? "locked by "
                   "another process" : strerror(errno));
    close(fd);
    mail_buf_release(&lp);
    return -1;
}

int cfgfile_read(const char *path, size_t max, struct mail_buf *out,
                 mode_t *mode, struct mail_error *err)
{
    struct stat st;
    char chunk[8192];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        return mail_error_set(err, MAIL_ERR_IO, "%.300s: %s", path,
                              strerror(errno));
    }
    if (fstat(fd, &st) == 0 && mode)
        *mode = st.st_mode & 07777;
    while ((n = read(fd, chunk, sizeof chunk)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            mail_error_set(err, MAIL_ERR_IO, "%.300s: %s", path,
                           strerror(errno));
            close(fd);
            return -1;
        }
        if (out->len + (size_t)n > max || mail_buf_add(out, chunk,
                                                       (size_t)n) < 0) {
            mail_error_set(err, MAIL_ERR_DATA, "%.300s: too large", path);
            close(fd);
            return -1;
        }
    }
    close(fd);
    return 1;
}

int cfgfile_replace(const char *path, const char *data, size_t len,
                    mode_t mode, struct mail_error *err)
{
    struct mail_buf tmp = MAIL_BUF_INIT;
    char *dir = NULL, *slash;
    int fd = -1, rc = -1;

    if (mail_buf_printf(&tmp, "%s.XXXXXX", path) < 0 ||
        !(dir = strdup(path))) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto out;
    }
    slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        mail_strlcpy(dir, ".", 2);
    if (mail_mkdir_parents(path, err) < 0)
        goto out;
    fd = mkostemp(tmp.data, O_CLOEXEC);
    if (fd < 0) {
        mail_error_set(err, MAIL_ERR_CANTCREAT, "%.300s: %s", tmp.data,
                       strerror(errno));
        goto out;
    }
    if (fchmod(fd, mode) < 0 || mail_write_all(fd, data, len) < 0 ||
        fsync(fd) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "%.300s: %s", tmp.data,
                       strerror(errno));
        goto out;
    }
    if (close(fd) < 0) {
        fd = -1;
        mail_error_set(err, MAIL_ERR_IO, "%.300s: %s", tmp.data,
                       strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp.data, path) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "%.300s: %s", path,
                       strerror(errno));
        goto out;
    }
    tmp.len = 0;        /* renamed: nothing to remove */
    rc = mail_fsync_dir(dir, err);
out:
    if (fd >= 0)
        close(fd);
    if (rc < 0 && tmp.len)
        unlink(tmp.data);
    mail_buf_release(&tmp);
    free(dir);
    return rc;
}

int mail_alias_name_check(const char *name, struct mail_error *err)
{
    size_t len = name ? strlen(name) : 0;

    if (len == 0)
        return mail_error_set(err, MAIL_ERR_USAGE, "an alias needs a name");
    if (len > 128)
        return mail_error_set(err, MAIL_ERR_USAGE, "alias name too long "
                              "(128 bytes at most)");
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)name[i];
        uint32_t cp;
        size_t l = mail_utf8_decode(name + i, len - i, &cp);

        if (l == 0 || c < 0x20 || c == 0x7f || (cp >= 0x80 && cp < 0xa0) ||
            strchr(" @,<>\"'`\\#;:()[]", c) || cp == 0xa0 ||
            (cp >= 0x2000 && cp <= 0x200f) || (cp >= 0x2028 &&
            cp <= 0x202f) || (cp >= 0x2066 && cp <= 0x2069) ||
            cp == 0x061c || cp == 0x3000 || cp == 0xfeff)
            return mail_error_set(err, MAIL_ERR_USAGE, "bad alias name: "
                                  "letters, digits and punctuation such "
                                  "as . - _ + only, no blanks or control "
                                  "characters");
        i += l;
    }
    if (name[0] == '-')
        return mail_error_set(err, MAIL_ERR_USAGE, "bad alias name: it "
                              "cannot start with '-'");
    return 0;
}

/* In line[0..len): is it "alias [-group G]... NAME ..."?  Then the
 * offsets of NAME and its length. */
static bool alias_line_name(const char *line, size_t len, size_t *noff,
                            size_t *nlen)
{
    size_t i = 0;

    while (i < len && is_blank(line[i]))
        i++;
    if (len - i < 6 || strncmp(line + i, "alias", 5) != 0 ||
        !is_blank(line[i + 5]))
        return false;
    i += 5;
    for (;;) {
        while (i < len && is_blank(line[i]))
            i++;
        if (len - i > 6 && strncmp(line + i, "-group", 6) == 0 &&
            is_blank(line[i + 6])) {
            i += 6;
            while (i < len && is_blank(line[i]))
                i++;
            while (i < len && !is_blank(line[i]))
                i++;
            continue;
        }
        break;
    }
    *noff = i;
    while (i < len && !is_blank(line[i]) && line[i] != '\r')
        i++;
    *nlen = i - *noff;
    return *nlen > 0;
}

int mail_aliases_file_set(const char *path, const char *name,
                          const char *value, struct mail_error *err)
{
    struct mail_buf old = MAIL_BUF_INIT, out = MAIL_BUF_INIT;
    mode_t mode = 0600;
    size_t nlen = strlen(name ? name : "");
    bool found = false;
    int lock, rc = -1;

    if (mail_alias_name_check(name, err) < 0)
        return -1;
    if (value && (!*value || strpbrk(value, "\r\n") ||
                  mail_address_check(value, false, err) < 0)) {
        if (!*value || strpbrk(value, "\r\n"))
            mail_error_set(err, MAIL_ERR_USAGE, "alias '%.100s': bad "
                           "addresses", name);
        return -1;
    }
    if ((lock = cfgfile_lock(path, 5000, err)) < 0)
        return -1;
    if (cfgfile_read(path, (size_t)16 << 20, &old, &mode, err) < 0)
        goto out;
    for (size_t pos = 0; pos < old.len;) {
        const char *line = old.data + pos;
        const char *nl = memchr(line, '\n', old.len - pos);
        size_t len = nl ? (size_t)(nl - line) : old.len - pos;
        size_t noff, l;
        int r = 0;

        pos += len + (nl != NULL);
        if (alias_line_name(line, len, &noff, &l) && l == nlen &&
            mail_strncasecmp(line + noff, name, nlen) == 0) {
            /* The first definition becomes the new one (its -group words
             * kept); later ones would win over it: dropped. */
            if (value && !found)
                r = mail_buf_add(&out, line, noff + l) < 0 ||
                    mail_buf_printf(&out, " %s\n", value) < 0;
            found = true;
        } else {
            r = mail_buf_add(&out, line, len) < 0 ||
                mail_buf_addch(&out, '\n') < 0;
        }
        if (r) {
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            goto out;
        }
    }
    if (!value && !found) {
        mail_error_set(err, MAIL_ERR_NOTFOUND, "no alias '%.100s' in %.300s",
                       name, path);
        goto out;
    }
    if (value && !found &&
        mail_buf_printf(&out, "alias %s %s\n", name, value) < 0) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto out;
    }
    rc = cfgfile_replace(path, out.data ? out.data : "", out.len, mode, err);
out:
    close(lock);
    mail_buf_release(&old);
    mail_buf_release(&out);
    return rc;
}
