/*
 * aliases.c - mutt-format aliases and the resolution of recipients
 * (aliases.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/aliases.h"
#include "mail/config.h"

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
