/*
 * render.c - a message as a person reads it; see mail/render.h.
 *
 * A message is read from a file descriptor that starts at its first byte:
 * the MIME parser keeps only offsets, and parts are decoded again from the
 * file when they are shown, so a 50 MB attachment costs no memory.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mail/address.h"
#include "mail/buf.h"
#include "mail/charset.h"
#include "mail/date.h"
#include "mail/fsutil.h"
#include "mail/header.h"
#include "mail/html.h"
#include "mail/readable.h"
#include "mail/render.h"
#include "mail/rfc2047.h"
#include "mail/spawn.h"
#include "mail/termsafe.h"

struct mail_render {
    struct mail_render_opts o;
    bool mailcap_checked;
    char *mailcap_cmd;          /* text/html copiousoutput entry, or NULL */
};

struct mail_render *mail_render_new(const struct mail_render_opts *opts)
{
    struct mail_render *r = calloc(1, sizeof *r);

    if (!r)
        return NULL;
    r->o = *opts;
    if (r->o.html_command && !*r->o.html_command)
        r->o.html_command = NULL;
    if (!r->o.timeout || r->o.timeout > 3600)
        r->o.timeout = MAIL_RENDER_TIMEOUT;
    if (!r->o.external_max)
        r->o.external_max = MAIL_RENDER_EXTERNAL_MAX;
    return r;
}

void mail_render_free(struct mail_render *r)
{
    if (!r)
        return;
    free(r->mailcap_cmd);
    free(r);
}

static void warnf(struct mail_render *r, const char *fmt, ...)
    MAIL_PRINTF(2, 3);

static void warnf(struct mail_render *r, const char *fmt, ...)
{
    struct mail_error e;
    va_list ap;

    if (!r->o.warn)
        return;
    va_start(ap, fmt);
    mail_error_setv(&e, MAIL_ERR_INTERNAL, fmt, ap);
    va_end(ap);
    r->o.warn(r->o.warn_ctx, e.msg);
}

/* ---- headers ----------------------------------------------------------- */

/* Header names as the message spells them ("Message-ID"); the parser
 * keeps them lowercased.  names[i] is NULL when not found again. */
static void header_spellings(const char *raw, size_t len,
                             const struct mail_header *h, const char **names,
                             size_t *lens)
{
    size_t k = 0, i = 0;

    for (size_t j = 0; j < h->nfields; j++)
        names[j] = NULL;
    while (i < len && k < h->nfields) {
        const char *line = raw + i, *nl = memchr(line, '\n', len - i);
        size_t n = nl ? (size_t)(nl - line) : len - i;
        const char *colon = memchr(line, ':', n);

        i += n + 1;
        if (!colon || line[0] == ' ' || line[0] == '\t')
            continue;
        n = (size_t)(colon - line);
        while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
            n--;
        if (n == strlen(h->fields[k].name) &&
            mail_strncasecmp(line, h->fields[k].name, n) == 0) {
            names[k] = line;
            lens[k] = n;
            k++;
        }
    }
}

/* An address list for people: "Name <addr>, addr", names decoded.  A
 * name that could pass for an address ("x@y", "<x@y>") is quoted, so
 * that a display name cannot impersonate the real address. */
static void format_addresses(struct mail_buf *b, const char *value)
{
    struct mail_addrlist l = MAIL_ADDRLIST_INIT;
    struct mail_error err;
    const char *group = NULL;
    bool sep = false;

    if (mail_addrlist_parse(&l, value, &err) < 0) {
        mail_rfc2047_decode(b, value, strlen(value));
        return;
    }
    for (size_t i = 0; i < l.n; i++) {
        const struct mail_address *a = &l.v[i];
        bool has_name = a->name && *a->name;

        if (group && (!a->group || strcmp(group, a->group) != 0)) {
            mail_buf_addch(b, ';');
            group = NULL;
            sep = true;
        }
        if (a->group && !group) {
            /* "team: a, b;" and "undisclosed-recipients:;" */
            mail_buf_printf(b, "%s%s:", sep ? ", " : "", a->group);
            group = a->group;
            sep = false;
        }
        if (!has_name && !*a->addr)
            continue;
        mail_buf_addstr(b, sep ? ", " : group ? " " : "");
        if (has_name) {
            if (strpbrk(a->name, ",;:<>@\"()[]\\")) {
                mail_buf_addch(b, '"');
                for (const char *p = a->name; *p; p++) {
                    if (*p == '"' || *p == '\\')
                        mail_buf_addch(b, '\\');
                    mail_buf_addch(b, *p);
                }
                mail_buf_addch(b, '"');
            } else {
                mail_buf_addstr(b, a->name);
            }
            if (*a->addr)
                mail_buf_printf(b, " <%s>", a->addr);
        } else {
            mail_buf_addstr(b, a->addr);
        }
        sep = true;
    }
    if (group)
        mail_buf_addch(b, ';');
    mail_addrlist_release(&l);
}

/* "Name: value\n", one-line safe, into b. */
static void add_field(struct mail_render *r, struct mail_buf *b,
                      const char *name, size_t namelen, const char *value,
                      size_t len)
{
    if (r->o.color)
        mail_buf_addstr(b, "\033[1m");
    mail_term_safe(b, name, namelen, MAIL_SAFE_ONELINE);
    mail_buf_addch(b, ':');
    if (r->o.color)
        mail_buf_addstr(b, "\033[0m");
    mail_buf_addch(b, ' ');
    mail_term_safe(b, value, len, MAIL_SAFE_ONELINE);
    mail_buf_addch(b, '\n');
}

/* Decoded display text of a header value; tabs (kept from folding)
 * become spaces. */
static void decode_value(struct mail_buf *b, const char *value)
{
    mail_buf_reset(b);
    mail_rfc2047_decode(b, value, strlen(value));
    for (size_t i = 0; i < b->len; i++)
        if (b->data[i] == '\t')
            b->data[i] = ' ';
}

static int all_headers(struct mail_render *r, const struct mail_render_msg *m,
                       struct mail_buf *out, struct mail_error *err)
{
    const struct mail_header *h = &mail_mime_root(m->mime)->header;
    struct mail_buf raw = MAIL_BUF_INIT, v = MAIL_BUF_INIT;
    const char **names = calloc(h->nfields + 1, sizeof *names);
    size_t *lens = calloc(h->nfields + 1, sizeof *lens);
    size_t hlen = h->len < MAIL_HEADER_MAX ? h->len : MAIL_HEADER_MAX;
    ssize_t got = 0;

    if (!names || !lens || mail_buf_reserve(&raw, hlen + 1) < 0) {
        free(names);
        free(lens);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    if (hlen)
        got = pread(m->fd, raw.data, hlen, 0);
    raw.len = got > 0 ? (size_t)got : 0;
    header_spellings(raw.data, raw.len, h, names, lens);
    for (size_t i = 0; i < h->nfields; i++) {
        const struct mail_header_field *fl = &h->fields[i];

        decode_value(&v, fl->value);
        if (names[i])
            add_field(r, out, names[i], lens[i], v.data ? v.data : "", v.len);
        else
            add_field(r, out, fl->name, strlen(fl->name),
                      v.data ? v.data : "", v.len);
    }
    free(names);
    free(lens);
    mail_buf_release(&raw);
    mail_buf_release(&v);
    return 0;
}

static void usual_headers(struct mail_render *r,
                          const struct mail_render_msg *m,
                          struct mail_buf *out)
{
    static const struct {
        const char *key, *show;
        bool addresses;
    } fields[] = {
        { "from", "From", true }, { "to", "To", true },
        { "cc", "Cc", true }, { "subject", "Subject", false },
    };
    const struct mail_header *h = &mail_mime_root(m->mime)->header;
    struct mail_buf v = MAIL_BUF_INIT;
    const char *date = mail_header_get(h, "date");

    if (date) {
        char buf[MAIL_DATE_MAX];
        time_t t;
        int off;

        /* Local time: what the reader's clock said when it was sent. */
        if (mail_date_parse(date, &t, &off) == 0 &&
            mail_date_format_rfc5322(buf, sizeof buf, t,
                                     mail_date_local_offset(t)) > 0) {
            add_field(r, out, "Date", 4, buf, strlen(buf));
        } else {
            decode_value(&v, date);
            add_field(r, out, "Date", 4, v.data ? v.data : "", v.len);
        }
    }
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const char *value = mail_header_get(h, fields[i].key);

        if (!value)
            continue;
        mail_buf_reset(&v);
        if (fields[i].addresses)
            format_addresses(&v, value);
        else
            decode_value(&v, value);
        add_field(r, out, fields[i].show, strlen(fields[i].show),
                    v.data ? v.data : "", v.len);
    }
    mail_buf_release(&v);
}

/* ---- parts ------------------------------------------------------------- */

int mail_render_headers(struct mail_render *r, const struct mail_render_msg *m,
                        bool all, mail_sink_fn sink, void *ctx,
                        struct mail_error *err)
{
    struct mail_buf out = MAIL_BUF_INIT;
    int rc = 0;

    mail_error_clear(err);
    if (all)
        rc = all_headers(r, m, &out, err);
    else
        usual_headers(r, m, &out);
    if (rc == 0 && out.len && sink(ctx, out.data, out.len, err) < 0)
        rc = -1;
    mail_buf_release(&out);
    return rc;
}


/* Inside an attached message: its parts are that attachment's business. */
static bool in_attached_message(const struct mail_part *p)
{
    for (const struct mail_part *q = p->parent; q; q = q->parent)
        if (q->child && !mail_part_is_multipart(q))
            return true;
    return false;
}

/* Shown in the attachment list: what is not text (a message that is
 * only an image included). */
static bool listed_part(const struct mail_part *p)
{
    if (in_attached_message(p) || mail_part_is_multipart(p))
        return false;
    if (mail_part_is_attachment(p))
        return true;
    return !p->parent && strcmp(p->type, "text/plain") != 0 &&
           strcmp(p->type, "text/html") != 0;
}

bool mail_render_part_saved(const struct mail_part *p)
{
    if (in_attached_message(p) || mail_part_is_multipart(p))
        return false;
    return p->filename ||
           (p->disposition && strcmp(p->disposition, "attachment") == 0);
}

uint64_t mail_render_part_size(const struct mail_part *p)
{
    /* An attached message is not decoded: its size is its body's. */
    return p->child ? p->body_end - p->body_start : p->decoded_size;
}

uint64_t mail_render_part_size_in(const struct mail_part_sizes *sizes,
                                  const struct mail_part *p)
{
    int64_t n = mail_part_sizes_get(sizes, p->number);

    return n >= 0 ? (uint64_t)n : mail_render_part_size(p);
}

int mail_part_sizes_add(struct mail_part_sizes *s, const char *number,
                        uint64_t size)
{
    if (s->n == s->alloc) {
        size_t n = s->alloc ? 2 * s->alloc : 8;
        struct mail_part_size *v = realloc(s->v, n * sizeof *v);

        if (!v)
            return -1;
        s->v = v;
        s->alloc = n;
    }
    if (!(s->v[s->n].number = strdup(number)))
        return -1;
    s->v[s->n++].size = size;
    return 0;
}

int64_t mail_part_sizes_get(const struct mail_part_sizes *s,
                            const char *number)
{
    for (size_t i = 0; s && number && i < s->n; i++)
        if (strcmp(s->v[i].number, number) == 0)
            return (int64_t)s->v[i].size;
    return -1;
}

void mail_part_sizes_release(struct mail_part_sizes *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].number);
    free(s->v);
    s->v = NULL;
    s->n = s->alloc = 0;
}

static void human_size(uint64_t n, char *buf, size_t size)
{
    static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
    double v = (double)n;
    size_t u = 0;

    if (n < 1024) {
        snprintf(buf, size, "%llu B", (unsigned long long)n);
        return;
    }
    v /= 1024;
    while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024;
        u++;
    }
    snprintf(buf, size, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

int mail_render_attachments(const struct mail_render_msg *m, mail_sink_fn sink,
                            void *ctx, struct mail_error *err)
{
    return mail_render_attachments_sized(m, NULL, sink, ctx, err);
}

int mail_render_attachments_sized(const struct mail_render_msg *m,
                                  const struct mail_part_sizes *sizes,
                                  mail_sink_fn sink, void *ctx,
                                  struct mail_error *err)
{
    const struct mail_part *p, *root = mail_mime_root(m->mime);
    struct mail_buf t = MAIL_BUF_INIT, out = MAIL_BUF_INIT;
    size_t wnum = 1, wtype = 1, n = 0;
    int rc = 0;

    mail_error_clear(err);
    for (p = root; p; p = mail_part_next(p)) {
        if (!listed_part(p))
            continue;
        n++;
        if (strlen(p->number) > wnum)
            wnum = strlen(p->number);
        mail_buf_reset(&t);
        mail_term_safe(&t, p->type, strlen(p->type), MAIL_SAFE_ONELINE);
        if (t.len > wtype)
            wtype = t.len;
    }
    if (wtype > 40)
        wtype = 40;
    if (n)
        mail_buf_addstr(&out, "\nAttachments:\n");
    for (p = root; p && n; p = mail_part_next(p)) {
        char size[32];

        if (!listed_part(p))
            continue;
        human_size(mail_render_part_size_in(sizes, p), size, sizeof size);
        mail_buf_reset(&t);
        mail_term_safe(&t, p->type, strlen(p->type), MAIL_SAFE_ONELINE);
        mail_buf_printf(&out, "  %-*s  %-*s  %9s", (int)wnum, p->number,
                        (int)wtype, t.data ? t.data : "", size);
        if (p->filename) {
            mail_buf_addstr(&out, "  ");
            mail_term_safe(&out, p->filename, strlen(p->filename),
                           MAIL_SAFE_ONELINE);
        }
        mail_buf_addch(&out, '\n');
    }
    if (out.len && sink(ctx, out.data, out.len, err) < 0)
        rc = -1;
    mail_buf_release(&t);
    mail_buf_release(&out);
    return rc;
}

unsigned mail_render_count_saved(const struct mail_part *root)
{
    unsigned n = 0;

    for (const struct mail_part *p = root; p; p = mail_part_next(p))
        n += mail_render_part_saved(p);
    return n;
}

/* ---- running viewers --------------------------------------------------- */

/* Characters a temporary file name may have without any quoting. */
static bool shell_safe(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || strchr("/._+-", *s)))
            return false;
    return true;
}

/* The name needs no quoting in a shell command, so it is safe for a
 * mailcap %s however the entry quotes it. */
int mail_render_temp(const char *dir, const char *suffix, char *path,
                     size_t size)
{
    if (!dir || !*dir || !shell_safe(dir) || strlen(dir) > 200)
        dir = "/tmp";
    if (!suffix || !shell_safe(suffix) || strlen(suffix) > 16) {
        errno = EINVAL;
        return -1;
    }
    if (mail_snprintf(path, size, "%s/mail-XXXXXX%s", dir, suffix) < 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return mkostemps(path, (int)strlen(suffix), O_CLOEXEC);
}

/*
 * Run cmd with stdin from in_fd and collect its standard output (at most
 * MAIL_RENDER_OUTPUT_MAX bytes) in out, for at most limit seconds, in
 * its own process group (a time-out kills everything it started).
 * Returns 0 when it exited 0, else -1 with a sentence in why.
 */
static int run_filter(const char *cmd, int in_fd, unsigned limit,
                      struct mail_buf *out, char *why, size_t whysize,
                      bool *timed_out)
{
    struct mail_spawn sp = MAIL_SPAWN_INIT;
    struct mail_spawn_result res;
    struct mail_error err;

    sp.command = cmd;
    sp.in_fd = in_fd;
    sp.out = out;
    sp.out_max = MAIL_RENDER_OUTPUT_MAX;
    sp.timeout_ms = (int)limit * 1000;      /* limit <= 3600 */
    /* What we ignore (SIGINT under a pager) the viewer must not. */
    sp.default_signals = true;
    *timed_out = false;
    if (mail_spawn_run(&sp, &res, &err) < 0) {
        mail_snprintf(why, whysize, "%s", err.msg);  /* cut if long */
        return -1;
    }
    switch (res.how) {
    case MAIL_SPAWN_TIMEOUT:
        *timed_out = true;
        snprintf(why, whysize, "still running after %u s: killed", limit);
        return -1;
    case MAIL_SPAWN_EXEC_FAILED:
        snprintf(why, whysize, "cannot run /bin/sh: %s", strerror(res.code));
        return -1;
    default:
        break;
    }
    if (res.out_truncated) {
        snprintf(why, whysize, "printed more than %zu MiB",
                 MAIL_RENDER_OUTPUT_MAX >> 20);
        return -1;
    }
    if (res.how == MAIL_SPAWN_SIGNALED) {
        snprintf(why, whysize, "killed by signal %d", res.code);
        return -1;
    }
    if (res.code != 0) {
        snprintf(why, whysize, res.code == 127 ?
                 "exit status 127 (command not found?)" : "exit status %d",
                 res.code);
        return -1;
    }
    return 0;
}

/* ---- mailcap (RFC 1524) ------------------------------------------------ */

/* Split a mailcap entry on unescaped ';' in place; "\;" becomes ';'.
 * Fields are trimmed.  Returns how many. */
static size_t mailcap_fields(char *line, char **fields, size_t max)
{
    size_t n = 0;
    char *w = line, *start = line;

    for (char *p = line;; p++) {
        if (*p == '\\' && (p[1] == ';' || p[1] == '\\') && p[1]) {
            *w++ = p[1] == ';' ? ';' : '\\';
            if (p[1] != ';')
                *w++ = '\\';
            p++;
            continue;
        }
        if (*p == ';' || !*p) {
            bool end = !*p;
            char *f = start, *e = w;

            *w = '\0';
            while (*f == ' ' || *f == '\t')
                f++;
            while (e > f && (e[-1] == ' ' || e[-1] == '\t' ||
                             e[-1] == '\n' || e[-1] == '\r'))
                *--e = '\0';
            if (n < max)
                fields[n++] = f;
            if (end)
                break;
            w = p + 1;
            start = w;
            continue;
        }
        *w++ = *p;
    }
    return n;
}

/*
 * Expand a mailcap command: %s the file (its name is shell-safe by
 * construction, see make_temp), %t the type, %{charset} utf-8 (the file
 * is written in UTF-8), other %{...} empty, %% and \% a '%'.  *uses_file
 * tells whether %s was there (else the file goes to standard input).
 */
static char *mailcap_expand(const char *tmpl, const char *type,
                            const char *file, bool *uses_file)
{
    struct mail_buf b = MAIL_BUF_INIT;

    *uses_file = false;
    for (const char *p = tmpl; *p; p++) {
        if (*p == '\\' && p[1] == '%') {
            mail_buf_addch(&b, '%');
            p++;
        } else if (*p != '%') {
            mail_buf_addch(&b, *p);
        } else if (p[1] == 's') {
            mail_buf_addstr(&b, file);
            *uses_file = true;
            p++;
        } else if (p[1] == 't') {
            /* Only a type that needs no quoting in a shell. */
            for (const char *t = type; *t; t++)
                if (isalnum((unsigned char)*t) || strchr("/.+-_", *t))
                    mail_buf_addch(&b, *t);
            p++;
        } else if (p[1] == '{') {
            const char *e = strchr(p, '}');

            if (!e)
                break;
            if (e - p == 9 && strncmp(p + 2, "charset", 7) == 0)
                mail_buf_addstr(&b, "utf-8");
            p = e;
        } else if (p[1] == '%') {
            mail_buf_addch(&b, '%');
            p++;
        } else {
            mail_buf_addch(&b, '%');
        }
    }
    return mail_buf_detach(&b);
}

/* Does the entry's test= command pass (within limit seconds)? */
static bool mailcap_test(const char *test, const char *type, unsigned limit)
{
    struct mail_spawn sp = MAIL_SPAWN_INIT;
    struct mail_spawn_result res;
    struct mail_error err;
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    bool uses_file, ok;
    char *cmd = mailcap_expand(test, type, "/dev/null", &uses_file);

    if (null < 0 || !cmd) {
        if (null >= 0)
            close(null);
        free(cmd);
        return false;
    }
    sp.command = cmd;
    sp.in_fd = sp.out_fd = null;
    sp.timeout_ms = (int)limit * 1000;
    sp.default_signals = true;
    ok = mail_spawn_run(&sp, &res, &err) == 0 &&
         res.how == MAIL_SPAWN_EXITED && res.code == 0;
    close(null);
    free(cmd);
    return ok;
}

/* Does the entry's type field (type/sub, type/\*, type) match type? */
static bool mailcap_type_matches(const char *field, const char *type)
{
    const char *slash = strchr(type, '/');
    size_t major = slash ? (size_t)(slash - type) : strlen(type);

    if (mail_strcasecmp(field, type) == 0)
        return true;
    if (mail_strncasecmp(field, type, major) != 0)
        return false;
    return field[major] == '\0' ||
           (field[major] == '/' && strcmp(field + major + 1, "*") == 0);
}

/* The first entry for type (with copiousoutput when flags has
 * MAIL_MAILCAP_COPIOUS, and a test that passes) in one mailcap file:
 * true and *out filled (its command malloc'd), or false. */
static bool mailcap_file_lookup(const char *path, const char *type,
                                unsigned flags, unsigned limit,
                                struct mail_mailcap *out)
{
    FILE *f = fopen(path, "re");
    struct mail_buf entry = MAIL_BUF_INIT;
    char *line = NULL, *found = NULL;
    size_t cap = 0;
    ssize_t n;

    if (!f)
        return false;
    while (!found && (n = getline(&line, &cap, f)) >= 0) {
        char *fields[64];
        size_t nf;
        bool copious = false, needsterm = false;
        const char *test = NULL;

        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        /* A trailing backslash continues the entry on the next line. */
        if (n > 0 && line[n - 1] == '\\') {
            mail_buf_add(&entry, line, (size_t)n - 1);
            continue;
        }
        mail_buf_add(&entry, line, (size_t)n);
        if (!entry.data || entry.data[0] == '#' || !entry.len) {
            mail_buf_reset(&entry);
            continue;
        }
        nf = mailcap_fields(entry.data, fields, 64);
        for (size_t i = 2; i < nf; i++) {
            if (mail_strcasecmp(fields[i], "copiousoutput") == 0)
                copious = true;
            else if (mail_strcasecmp(fields[i], "needsterminal") == 0)
                needsterm = true;
            else if (mail_strncasecmp(fields[i], "test=", 5) == 0)
                test = fields[i] + 5;
        }
        if (nf >= 2 && *fields[1] &&
            (copious || !(flags & MAIL_MAILCAP_COPIOUS)) &&
            mailcap_type_matches(fields[0], type) &&
            (!test || mailcap_test(test, type, limit))) {
            found = strdup(fields[1]);
            out->copiousoutput = copious;
            out->needsterminal = needsterm;
        }
        mail_buf_reset(&entry);
    }
    free(line);
    mail_buf_release(&entry);
    fclose(f);
    out->command = found;
    return found != NULL;
}

int mail_render_mailcap_find(const char *paths, const char *type,
                             unsigned flags, unsigned timeout,
                             struct mail_mailcap *out, struct mail_error *err)
{
    char *copy, *save = NULL;
    bool found = false;

    memset(out, 0, sizeof *out);
    if (!paths || !type)
        return 0;
    if (!(copy = strdup(paths)))
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    for (char *p = strtok_r(copy, ":", &save); p && !found;
         p = strtok_r(NULL, ":", &save))
        found = mailcap_file_lookup(p, type, flags,
                                    timeout ? timeout : 10, out);
    free(copy);
    return found ? 1 : 0;
}

char *mail_render_mailcap_command(const char *tmpl, const char *type,
                                  const char *file, bool *uses_file)
{
    return mailcap_expand(tmpl, type, file, uses_file);
}

char *mail_render_mailcap_shell(const char *command, const char *file)
{
    struct mail_buf b = MAIL_BUF_INIT;

    /* file needs no quoting (mail_render_temp).  The EXIT trap removes it;
     * a signal's trap exits so that the EXIT trap runs. */
    if (mail_buf_printf(&b, "trap 'rm -f %s' EXIT\n"
                        "trap 'exit 129' HUP\ntrap 'exit 130' INT\n"
                        "trap 'exit 143' TERM\n"
                        "{ %s\n} < %s", file, command, file) < 0) {
        mail_buf_release(&b);
        return NULL;
    }
    return mail_buf_detach(&b);
}

int mail_render_mailcap_output(const char *command, const char *file,
                               unsigned timeout,
                               struct mail_buf *out, struct mail_error *err)
{
    struct mail_buf raw = MAIL_BUF_INIT;
    char why[256];
    bool timed_out;
    int in, rc = 0;

    if (!timeout || timeout > 3600)
        timeout = MAIL_RENDER_TIMEOUT;
    in = open(file, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        rc = mail_error_set(err, MAIL_ERR_IO, "temporary file: %s",
                            strerror(errno));
        unlink(file);
        return rc;
    }
    if (run_filter(command, in, timeout, &raw, why, sizeof why,
                   &timed_out) < 0)
        rc = mail_error_set(err, MAIL_ERR_TEMP, "the viewer: %s", why);
    else if (raw.len && mail_term_safe(out, raw.data, raw.len, 0) < 0)
        rc = mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    close(in);
    unlink(file);
    mail_buf_release(&raw);
    return rc;
}

/* The first text/html entry of the search path (RFC 1524: colon-separated
 * files), looked up once. */
static const char *mailcap_command(struct mail_render *r)
{
    char *copy, *save = NULL;

    if (r->mailcap_checked)
        return r->mailcap_cmd;
    r->mailcap_checked = true;
    copy = r->o.mailcaps ? strdup(r->o.mailcaps) : NULL;
    for (char *p = copy ? strtok_r(copy, ":", &save) : NULL;
         p && !r->mailcap_cmd; p = strtok_r(NULL, ":", &save)) {
        struct mail_mailcap mc;

        if (mailcap_file_lookup(p, "text/html", MAIL_MAILCAP_COPIOUS,
                                r->o.timeout, &mc))
            r->mailcap_cmd = mc.command;
    }
    free(copy);
    return r->mailcap_cmd;
}

/* ---- the readable text --------------------------------------------------- */

static int html_sink(void *ctx, const char *data, size_t len,
                     struct mail_error *err)
{
    return mail_html_push(ctx, data, len, err);
}

/*
 * Render an HTML part with an outside program: the html-command with the
 * HTML on its standard input, or a mailcap entry (the file as %s, or on
 * standard input).  Returns 0 when it worked and its output went to t; -1
 * after saying why on stderr (the caller then renders it itself); -2 when
 * t's sink failed (err as it set it).
 */
static int render_external(struct mail_render *r, struct mail_render_msg *m,
                           const struct mail_part *p,
                           struct mail_term_stream *t, const char *cmd,
                           bool mailcap, struct mail_error *err)
{
    char path[512], why[256];
    struct mail_buf out = MAIL_BUF_INIT, text = MAIL_BUF_INIT;
    struct mail_error derr;
    struct mail_fd_sink fo;
    char *expanded = NULL;
    bool uses_file = false, timed_out = false;
    int fd, in = -1, rc = -1;

    mail_error_clear(&derr);
    fd = mail_render_temp(r->o.tmpdir, ".html", path, sizeof path);
    if (fd < 0) {
        warnf(r, "cannot render HTML: temporary file: %s", strerror(errno));
        return -1;
    }
    fo.fd = fd;
    fo.name = "temporary file";
    fo.failed = false;
    if (mail_part_decode_fd(p, m->fd, MAIL_DECODE_TEXT, mail_fd_sink_write,
                            &fo, &derr) < 0) {
        warnf(r, "cannot render HTML: %s", derr.msg);
        goto out;
    }
    if (mailcap) {
        expanded = mailcap_expand(cmd, "text/html", path, &uses_file);
        if (!expanded)
            goto out;
        cmd = expanded;
    }
    if (uses_file) {
        in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    } else {
        /* The viewer reads the file on its stdin: the name can go now. */
        unlink(path);
        path[0] = '\0';
        lseek(fd, 0, SEEK_SET);
        in = fd;
    }
    if (in < 0)
        goto out;
    m->external_runs++;
    if (run_filter(cmd, in, r->o.timeout, &out, why, sizeof why,
                   &timed_out) < 0) {
        /* One viewer that hangs must not cost a minute per part. */
        if (timed_out)
            m->external_off = true;
        if (mailcap)
            warnf(r, "mailcap viewer for text/html failed (%s); "
                  "showing the built-in rendering", why);
        else
            warnf(r, "html-command failed (%s); showing the built-in "
                  "rendering", why);
        goto out;
    }
    /* Viewers print in the locale's charset, which we take to be UTF-8;
     * anything else is read as windows-1252 rather than lost. */
    mail_utf8_sanitize(&text, out.data ? out.data : "", out.len);
    rc = mail_term_stream_write(t, text.data ? text.data : "", text.len,
                                err) < 0 ? -2 : 0;
out:
    if (in >= 0 && in != fd)
        close(in);
    close(fd);
    if (path[0])
        unlink(path);
    free(expanded);
    mail_buf_release(&out);
    mail_buf_release(&text);
    return rc;
}

static int render_html(struct mail_render *r, struct mail_render_msg *m,
                       const struct mail_part *p, struct mail_term_stream *t,
                       struct mail_error *err)
{
    const char *cmd = r->o.html_command;
    struct mail_html *h;
    bool external = !m->external_off &&
                    m->external_runs < r->o.external_max;
    bool mailcap = false;
    int rc;

    if (!cmd && (cmd = mailcap_command(r)) != NULL)
        mailcap = true;
    if (cmd && external) {
        rc = render_external(r, m, p, t, cmd, mailcap, err);
        if (rc == 0)
            return 0;
        if (rc == -2)
            return -1;      /* the sink's error */
    }
    if (cmd && !external)
        m->builtin_html++;
    h = mail_html_new(mail_term_stream_write, t, err);
    if (!h)
        return -1;
    rc = mail_part_decode_fd(p, m->fd, MAIL_DECODE_TEXT, html_sink, h, err);
    /* After a read error what was rendered still goes out; err keeps the
     * first failure. */
    if (mail_html_finish(h, rc == 0 ? err : NULL) < 0)
        rc = -1;
    mail_html_free(h);
    return rc < 0 ? -1 : 0;
}

int mail_render_text(struct mail_render *r, struct mail_render_msg *m,
                     mail_sink_fn sink, void *ctx, char *last,
                     struct mail_error *err)
{
    struct mail_term_stream t;
    struct mail_readable *parts;
    size_t n = mail_mime_readable(m->mime, NULL, 0);
    int rc = 0;

    mail_error_clear(err);
    if (last)
        *last = 0;
    if (n == 0)
        return 0;
    parts = calloc(n, sizeof *parts);
    if (!parts)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    n = mail_mime_readable(m->mime, parts, n);
    mail_term_stream_init(&t, sink, ctx);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (t.last &&
            ((t.last != '\n' && mail_term_stream_puts(&t, "\n", err) < 0) ||
             mail_term_stream_puts(&t, "\n", err) < 0)) {
            rc = -1;
            break;
        }
        if (parts[i].html)
            rc = render_html(r, m, parts[i].part, &t, err);
        else
            rc = mail_part_decode_fd(parts[i].part, m->fd, MAIL_DECODE_TEXT,
                                     mail_term_stream_write, &t, err);
    }
    free(parts);
    if (rc == 0 && mail_term_stream_flush(&t, err) < 0)
        rc = -1;
    if (last)
        *last = t.last;
    mail_term_stream_release(&t);
    if (m->builtin_html && m->external_off)
        warnf(r, "message %s: %zu more HTML part%s shown with the "
              "built-in renderer (the outside viewer timed out)", m->label,
              m->builtin_html, m->builtin_html == 1 ? "" : "s");
    else if (m->builtin_html)
        warnf(r, "message %s: %zu more HTML part%s shown with the "
              "built-in renderer (at most %u per message go through an "
              "outside viewer)", m->label, m->builtin_html,
              m->builtin_html == 1 ? "" : "s", r->o.external_max);
    return rc;
}

int mail_render_message(struct mail_render *r, struct mail_render_msg *m,
                        bool all, const struct mail_part_sizes *sizes,
                        mail_sink_fn sink, void *ctx, struct mail_error *err)
{
    char last = 0;

    if (mail_render_headers(r, m, all, sink, ctx, err) < 0 ||
        sink(ctx, "\n", 1, err) < 0 ||
        mail_render_text(r, m, sink, ctx, &last, err) < 0 ||
        (last && last != '\n' && sink(ctx, "\n", 1, err) < 0))
        return -1;
    return mail_render_attachments_sized(m, sizes, sink, ctx, err);
}

char *mail_render_mailcap_path(const char *env, const char *home)
{
    struct mail_buf caps = MAIL_BUF_INIT;

    if (env)
        return strdup(env);
    if (home && *home)
        mail_buf_printf(&caps, "%s/.mailcap:", home);
    mail_buf_addstr(&caps, "/etc/mailcap");
    return mail_buf_detach(&caps);
}
