/*
 * reply.c - drafts of replies and forwards (see mail/reply.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail/address.h"
#include "mail/date.h"
#include "mail/header.h"
#include "mail/reply.h"
#include "mail/rfc2047.h"

/* ---- identities ---- */

struct ident {
    bool is_regex;
    char *addr;          /* plain address */
    regex_t re;
};

struct mail_identities {
    struct ident *v;
    size_t n;
};

static int oom(struct mail_error *err)
{
    return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
}

static bool is_regex(const char *s)
{
    return strpbrk(s, "^$*+?[]()|\\") != NULL;
}

static int ident_add(struct mail_identities *ids, const char *s, size_t len,
                     bool plain, struct mail_error *err)
{
    struct ident *v, *e;
    char *copy = strndup(s, len);

    if (!copy)
        return oom(err);
    v = realloc(ids->v, (ids->n + 1) * sizeof *v);
    if (!v) {
        free(copy);
        return oom(err);
    }
    ids->v = v;
    e = &v[ids->n];
    memset(e, 0, sizeof *e);
    if (!plain && is_regex(copy)) {
        int rc = regcomp(&e->re, copy, REG_EXTENDED | REG_ICASE | REG_NOSUB);

        if (rc != 0) {
            char why[128];

            regerror(rc, &e->re, why, sizeof why);
            mail_error_set(err, MAIL_ERR_CONFIG,
                           "alternates: bad regular expression '%s': %s",
                           copy, why);
            free(copy);
            return -1;
        }
        e->is_regex = true;
        free(copy);
    } else {
        e->addr = copy;
    }
    ids->n++;
    return 0;
}

struct mail_identities *mail_identities_new(const char *address,
                                            const char *alternates,
                                            struct mail_error *err)
{
    struct mail_identities *ids = calloc(1, sizeof *ids);

    if (!ids) {
        oom(err);
        return NULL;
    }
    if (address && *address) {
        struct mail_addrlist l = MAIL_ADDRLIST_INIT;

        if (mail_addrlist_parse(&l, address, err) < 0)
            goto fail;
        for (size_t i = 0; i < l.n; i++)
            if (*l.v[i].addr &&
                ident_add(ids, l.v[i].addr, strlen(l.v[i].addr), true,
                          err) < 0) {
                mail_addrlist_release(&l);
                goto fail;
            }
        mail_addrlist_release(&l);
    }
    for (const char *p = alternates ? alternates : ""; *p;) {
        size_t n;

        p += strspn(p, " \t,");
        n = strcspn(p, " \t,");
        if (n && ident_add(ids, p, n, false, err) < 0)
            goto fail;
        p += n;
    }
    return ids;
fail:
    mail_identities_free(ids);
    return NULL;
}

void mail_identities_free(struct mail_identities *ids)
{
    if (!ids)
        return;
    for (size_t i = 0; i < ids->n; i++) {
        if (ids->v[i].is_regex)
            regfree(&ids->v[i].re);
        free(ids->v[i].addr);
    }
    free(ids->v);
    free(ids);
}

bool mail_addr_equal(const char *a, const char *b)
{
    const char *at_a = strrchr(a, '@'), *at_b = strrchr(b, '@');
    size_t la = at_a ? (size_t)(at_a - a) : strlen(a);
    size_t lb = at_b ? (size_t)(at_b - b) : strlen(b);

    if (la != lb || memcmp(a, b, la) != 0 || !at_a != !at_b)
        return false;
    return !at_a || mail_strcasecmp(at_a + 1, at_b + 1) == 0;
}

bool mail_identities_match(const struct mail_identities *ids,
                           const char *addr)
{
    if (!ids || !addr || !*addr)
        return false;
    for (size_t i = 0; i < ids->n; i++) {
        const struct ident *e = &ids->v[i];

        if (e->is_regex ? regexec(&e->re, addr, 0, NULL, 0) == 0
                        : mail_addr_equal(e->addr, addr))
            return true;
    }
    return false;
}

/* ---- subjects ---- */

/* Prefix words: reply ones, forward ones. */
static const char *const reply_words[] = {
    "re", "aw", "sv", "antw", "vs", "odp", "ynt", "rif", "ref", "r\xc3\xa9" "f",
    "\xe5\x9b\x9e\xe5\xa4\x8d", /* 回复 */
    "\xe7\xad\x94\xe5\xa4\x8d", /* 答复 */
    NULL,
};
static const char *const forward_words[] = {
    "fwd", "fw", "wg", "tr", "fwds", "doorst", "rv", "enc", "vb", "pd",
    "\xe8\xbd\xac\xe5\x8f\x91", /* 转发 */
    NULL,
};

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

/* If s starts with one prefix from words ("Re:", "RE[2]:", "Re(3) :",
 * "回复："), the length of it and the blanks after; else 0. */
static size_t prefix_len(const char *s, const char *const *words)
{
    for (size_t w = 0; words[w]; w++) {
        size_t n = strlen(words[w]), i;

        if (mail_strncasecmp(s, words[w], n) != 0)
            continue;
        i = n;
        if (s[i] == '[' || s[i] == '(') {
            char close = s[i] == '[' ? ']' : ')';
            size_t j = i + 1;

            while (s[j] >= '0' && s[j] <= '9')
                j++;
            if (j == i + 1 || s[j] != close)
                continue;
            i = j + 1;
        }
        while (blank(s[i]))
            i++;
        if (s[i] == ':')
            i++;
        else if (strncmp(s + i, "\xef\xbc\x9a", 3) == 0) /* full-width : */
            i += 3;
        else
            continue;
        while (blank(s[i]))
            i++;
        return i;
    }
    return 0;
}

static int make_subject(struct mail_buf *out, const char *subject,
                        const char *prefix, const char *const *words)
{
    struct mail_buf dec = MAIL_BUF_INIT;
    const char *s;
    size_t n;
    int r;

    if (subject && mail_rfc2047_decode(&dec, subject, strlen(subject)) < 0) {
        mail_buf_release(&dec);
        return -1;
    }
    s = dec.data ? dec.data : "";
    for (;;) {
        while (blank(*s))
            s++;
        n = prefix_len(s, words);
        if (!n)
            break;
        s += n;
    }
    n = strlen(s);
    while (n && blank(s[n - 1]))
        n--;
    r = mail_buf_addstr(out, prefix);
    if (r == 0)
        r = mail_buf_add(out, s, n);
    mail_buf_release(&dec);
    return r;
}

int mail_reply_subject(struct mail_buf *out, const char *subject)
{
    return make_subject(out, subject, "Re: ", reply_words);
}

int mail_forward_subject(struct mail_buf *out, const char *subject)
{
    return make_subject(out, subject, "Fwd: ", forward_words);
}

/* ---- message ids ---- */

struct ids {
    const char **start;
    size_t *len;
    size_t n, alloc;
};

/* Collect the "<...>" ids of s. */
static int ids_collect(struct ids *v, const char *s)
{
    while (s && (s = strchr(s, '<')) != NULL) {
        const char *e = strchr(s, '>');

        if (!e)
            break;
        if (e - s > 1 && !memchr(s + 1, '<', (size_t)(e - s - 1)) &&
            !memchr(s, ' ', (size_t)(e - s))) {
            if (v->n == v->alloc) {
                size_t na = v->alloc ? v->alloc * 2 : 16;
                const char **ns = realloc(v->start, na * sizeof *ns);
                size_t *nl;

                if (!ns)
                    return -1;
                v->start = ns;
                nl = realloc(v->len, na * sizeof *nl);
                if (!nl)
                    return -1;
                v->len = nl;
                v->alloc = na;
            }
            v->start[v->n] = s;
            v->len[v->n] = (size_t)(e - s + 1);
            v->n++;
        }
        s = e + 1;
    }
    return 0;
}

static void ids_free(struct ids *v)
{
    free(v->start);
    free(v->len);
}

int mail_reply_in_reply_to(struct mail_buf *out, const struct mail_header *h)
{
    struct ids v = { 0 };
    int r = 0;

    if (ids_collect(&v, mail_header_get(h, "message-id")) < 0)
        r = -1;
    else if (v.n)
        r = mail_buf_add(out, v.start[0], v.len[0]);
    ids_free(&v);
    return r;
}

int mail_reply_references(struct mail_buf *out, const struct mail_header *h)
{
    struct ids v = { 0 };
    const char *refs = mail_header_get(h, "references");
    size_t before, i;
    int r = -1;

    if (ids_collect(&v, refs) < 0)
        goto done;
    if (v.n == 0) {
        /* No References: an In-Reply-To with a single id stands in. */
        if (ids_collect(&v, mail_header_get(h, "in-reply-to")) < 0)
            goto done;
        if (v.n > 1)
            v.n = 0;
    }
    if (ids_collect(&v, mail_header_get(h, "message-id")) < 0)
        goto done;
    before = v.n;
    /* The original's own id counts once, even if References had it. */
    if (v.n >= 2 && v.len[v.n - 1] == v.len[v.n - 2] &&
        memcmp(v.start[v.n - 1], v.start[v.n - 2], v.len[v.n - 1]) == 0)
        v.n--;
    (void)before;
    for (i = 0; i < v.n; i++) {
        /* Keep the first id and the latest MAIL_REFERENCES_MAX - 1. */
        if (v.n > MAIL_REFERENCES_MAX && i > 0 &&
            i < v.n - (MAIL_REFERENCES_MAX - 1))
            continue;
        if ((out->len && i > 0 && mail_buf_addch(out, ' ') < 0) ||
            mail_buf_add(out, v.start[i], v.len[i]) < 0)
            goto done;
    }
    r = 0;
done:
    ids_free(&v);
    return r;
}

/* ---- attribution and quoting ---- */

/* The first From address: its decoded name, else its addr-spec. */
static int from_name(struct mail_buf *out, const struct mail_header *h)
{
    struct mail_addrlist l = MAIL_ADDRLIST_INIT;
    int r = 0;

    if (mail_addrlist_parse(&l, mail_header_get(h, "from"), NULL) < 0)
        return -1;
    for (size_t i = 0; i < l.n; i++) {
        if (l.v[i].name && *l.v[i].name) {
            r = mail_buf_addstr(out, l.v[i].name);
            goto done;
        }
        if (*l.v[i].addr) {
            r = mail_buf_addstr(out, l.v[i].addr);
            goto done;
        }
    }
    r = mail_buf_addstr(out, "someone");
done:
    mail_addrlist_release(&l);
    return r;
}

int mail_reply_attribution(struct mail_buf *out, const struct mail_header *h)
{
    const char *date = mail_header_get(h, "date");
    char buf[MAIL_DATE_MAX];
    time_t t;
    int off;

    if (date && mail_date_parse(date, &t, &off) == 0 &&
        mail_date_format_rfc5322(buf, sizeof buf, t, off) > 0 &&
        mail_buf_printf(out, "On %s, ", buf) < 0)
        return -1;
    if (from_name(out, h) < 0)
        return -1;
    return mail_buf_addstr(out, " wrote:\n");
}

int mail_reply_quote(struct mail_buf *out, const char *text, size_t len)
{
    size_t pos = 0, end = len, blanks = 0;

    /* Where the signature starts, if there is one. */
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t l = nl ? (size_t)(nl - text - i) : len - i;

        if ((l == 3 && memcmp(text + i, "-- ", 3) == 0) ||
            (l == 4 && memcmp(text + i, "-- \r", 4) == 0)) {
            end = i;
            break;
        }
        i += l + 1;
    }
    while (pos < end) {
        const char *nl = memchr(text + pos, '\n', end - pos);
        size_t l = nl ? (size_t)(nl - text - pos) : end - pos;

        if (l && text[pos + l - 1] == '\r')
            l--;
        if (l == 0) {
            blanks++;          /* written when text follows */
        } else {
            for (; blanks; blanks--)
                if (mail_buf_addstr(out, ">\n") < 0)
                    return -1;
            if (mail_buf_addstr(out, text[pos] == '>' ? ">" : "> ") < 0 ||
                mail_buf_add(out, text + pos, l) < 0 ||
                mail_buf_addch(out, '\n') < 0)
                return -1;
        }
        if (!nl)
            break;
        pos = (size_t)(nl - text) + 1;
    }
    return 0;
}

int mail_signature_append(struct mail_buf *out, const char *path,
                          struct mail_error *err)
{
    char buf[4096];
    ssize_t n;
    int fd;

    if (!path)
        return 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    if (mail_buf_addstr(out, "\n-- \n") < 0) {
        close(fd);
        return oom(err);
    }
    while ((n = read(fd, buf, sizeof buf)) > 0)
        if (mail_buf_add(out, buf, (size_t)n) < 0) {
            close(fd);
            return oom(err);
        }
    if (n < 0) {
        int e = errno;

        close(fd);
        return mail_error_set(err, MAIL_ERR_IO, "%s: %s", path, strerror(e));
    }
    close(fd);
    if (out->len && out->data[out->len - 1] != '\n' &&
        mail_buf_addch(out, '\n') < 0)
        return oom(err);
    return 0;
}

/* ---- recipients ---- */

/* An address list being built: items borrowed from parsed lists. */
struct rlist {
    struct mail_address *v;
    size_t n, alloc;
};

static bool rlist_has(const struct rlist *l, const char *addr)
{
    for (size_t i = 0; i < l->n; i++)
        if (*l->v[i].addr && mail_addr_equal(l->v[i].addr, addr))
            return true;
    return false;
}

/* Add the items of src that are not yours and not in any of the lists
 * given (also l itself); empty groups and bare names are dropped. */
static int rlist_add(struct rlist *l, const struct mail_addrlist *src,
                     const struct mail_identities *ids,
                     const struct rlist *other)
{
    for (size_t i = 0; i < src->n; i++) {
        const struct mail_address *a = &src->v[i];

        if (!*a->addr || mail_identities_match(ids, a->addr) ||
            rlist_has(l, a->addr) || (other && rlist_has(other, a->addr)))
            continue;
        if (l->n == l->alloc) {
            size_t na = l->alloc ? l->alloc * 2 : 8;
            struct mail_address *nv = realloc(l->v, na * sizeof *nv);

            if (!nv)
                return -1;
            l->v = nv;
            l->alloc = na;
        }
        l->v[l->n++] = *a;
    }
    return 0;
}

/* A display name as a user types it: UTF-8 as it is (the composer
 * encodes it), quoted when it has specials. */
static int format_name(struct mail_buf *b, const char *name)
{
    size_t n = strlen(name);
    bool quote = n == 0 || name[0] == ' ' || name[n - 1] == ' ' ||
                 strpbrk(name, "()<>[]:;@\\,.\"") != NULL;

    if (!quote)
        return mail_buf_add(b, name, n);
    if (mail_buf_addch(b, '"') < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (((name[i] == '"' || name[i] == '\\') &&
             mail_buf_addch(b, '\\') < 0) ||
            mail_buf_addch(b, name[i]) < 0)
            return -1;
    return mail_buf_addch(b, '"');
}

static char *rlist_format(const struct rlist *l)
{
    struct mail_buf b = MAIL_BUF_INIT;
    const char *group = NULL;
    int r = mail_buf_addstr(&b, "");

    for (size_t i = 0; r == 0 && i < l->n; i++) {
        const struct mail_address *a = &l->v[i];

        if (group && a->group != group) {
            r = mail_buf_addch(&b, ';');
            group = NULL;
        }
        if (r == 0 && i)
            r = mail_buf_addstr(&b, ", ");
        if (r == 0 && a->group && a->group != group) {
            group = a->group;
            if (format_name(&b, group) < 0 || mail_buf_addstr(&b, ": ") < 0)
                r = -1;
        }
        if (r == 0 && a->name && *a->name)
            r = format_name(&b, a->name) < 0 ||
                        mail_buf_printf(&b, " <%s>", a->addr) < 0
                    ? -1
                    : 0;
        else if (r == 0)
            r = mail_buf_addstr(&b, a->addr);
    }
    if (r == 0 && group)
        r = mail_buf_addch(&b, ';');
    if (r < 0) {
        mail_buf_release(&b);
        return NULL;
    }
    return mail_buf_detach(&b);
}

int mail_draft_addrs(struct mail_buf *out, const char *value,
                     struct mail_error *err)
{
    struct mail_addrlist l = MAIL_ADDRLIST_INIT;
    struct rlist r = { NULL, 0, 0 };
    char *s = NULL;
    int rc = -1;

    if (mail_addrlist_parse(&l, value, err) < 0)
        return -1;
    if (rlist_add(&r, &l, NULL, NULL) < 0 || !(s = rlist_format(&r)) ||
        mail_buf_addstr(out, s) < 0)
        oom(err);
    else
        rc = 0;
    free(s);
    free(r.v);
    mail_addrlist_release(&l);
    return rc;
}

/* The address of a List-Post field: the first <mailto:...>, without
 * its ?query.  NULL for "NO" or none. */
static char *list_post(const char *v)
{
    const char *p = v, *e;

    while (p && (p = strchr(p, '<')) != NULL) {
        p++;
        e = strchr(p, '>');
        if (!e)
            return NULL;
        if (mail_strncasecmp(p, "mailto:", 7) == 0) {
            size_t n;

            p += 7;
            n = strcspn(p, "?>");
            if (n == 0)
                return NULL;
            return strndup(p, n);
        }
        p = e + 1;
    }
    return NULL;
}

enum { L_FROM, L_REPLY_TO, L_TO, L_CC, L_MFT, L_POST, L_N };

int mail_reply_recipients(const struct mail_header *h,
                          const struct mail_identities *ids,
                          enum mail_reply_mode mode, struct mail_draft *d,
                          struct mail_error *err)
{
    static const char *const names[L_N] = {
        "from", "reply-to", "to", "cc", "mail-followup-to", NULL,
    };
    struct mail_addrlist l[L_N];
    struct rlist to = { 0 }, cc = { 0 };
    char *post = NULL, *sto = NULL, *scc = NULL;
    bool from_me = false;
    int r = -1;

    for (int i = 0; i < L_N; i++)
        l[i] = (struct mail_addrlist)MAIL_ADDRLIST_INIT;
    for (int i = 0; i < L_N; i++)
        if (names[i] &&
            mail_addrlist_parse(&l[i], mail_header_get(h, names[i]), err) < 0)
            goto done;
    for (size_t i = 0; i < l[L_FROM].n; i++)
        if (mail_identities_match(ids, l[L_FROM].v[i].addr))
            from_me = true;

    if (mode != MAIL_REPLY_SENDER && l[L_MFT].n) {
        /* Mail-Followup-To: where the author wants the follow-ups. */
        if (rlist_add(&to, &l[L_MFT], ids, NULL) < 0 ||
            (to.n == 0 && rlist_add(&to, &l[L_MFT], NULL, NULL) < 0))
            goto nomem;
    } else if (mode == MAIL_REPLY_LIST) {
        const char *v = mail_header_get(h, "list-post");

        post = list_post(v);
        if (!post) {
            mail_error_set(err, MAIL_ERR_DATA,
                           v ? "the message's List-Post has no mailto: "
                               "address: no list to reply to"
                             : "the message has no List-Post field: it did "
                               "not come from a mailing list (reply or "
                               "reply --all instead)");
            goto done;
        }
        if (mail_addrlist_parse(&l[L_POST], post, err) < 0)
            goto done;
        if (rlist_add(&to, &l[L_POST], NULL, NULL) < 0)
            goto nomem;
    } else {
        const struct mail_addrlist *primary =
            from_me ? &l[L_TO]                 /* your own message */
            : l[L_REPLY_TO].n ? &l[L_REPLY_TO] : &l[L_FROM];

        if (rlist_add(&to, primary, ids, NULL) < 0)
            goto nomem;
        if (mode == MAIL_REPLY_ALL) {
            if ((!from_me && rlist_add(&cc, &l[L_TO], ids, &to) < 0) ||
                rlist_add(&cc, &l[L_CC], ids, &to) < 0)
                goto nomem;
        }
        if (to.n == 0 && cc.n) {
            /* Everyone but you: the others become the To. */
            struct rlist t = to;

            to = cc;
            cc = t;
        }
        /* Only yourself (a note to self): to yourself then. */
        if (to.n == 0 && rlist_add(&to, primary, NULL, NULL) < 0)
            goto nomem;
    }
    sto = rlist_format(&to);
    scc = rlist_format(&cc);
    if (!sto || !scc)
        goto nomem;
    free(d->to);
    free(d->cc);
    d->to = sto;
    d->cc = scc;
    sto = scc = NULL;
    r = 0;
    goto done;
nomem:
    oom(err);
done:
    free(sto);
    free(scc);
    free(post);
    free(to.v);
    free(cc.v);
    for (int i = 0; i < L_N; i++)
        mail_addrlist_release(&l[i]);
    return r;
}

/* ---- drafts ---- */

void mail_draft_release(struct mail_draft *d)
{
    free(d->to);
    free(d->cc);
    free(d->bcc);
    free(d->subject);
    free(d->in_reply_to);
    free(d->references);
    mail_buf_release(&d->body);
    for (size_t i = 0; i < d->nattach; i++)
        free(d->attach[i]);
    free(d->attach);
    free(d->orig_folder);
    free(d->orig_id);
    free(d->rfc822);
    *d = (struct mail_draft)MAIL_DRAFT_INIT;
}

/* The readable text of the message, in UTF-8, terminal-safe. */
static int original_text(int fd, const struct mail_mime *m,
                         struct mail_render *render, struct mail_buf *out,
                         struct mail_error *err)
{
    struct mail_render_msg rm;

    memset(&rm, 0, sizeof rm);
    rm.fd = fd;
    rm.mime = m;
    rm.label = "the original";
    if (!render)
        return 0;
    if (mail_render_text(render, &rm, mail_sink_buf, out, NULL, err) < 0)
        return -1;
    return 0;
}

static char *buf_str(struct mail_buf *b)
{
    if (mail_buf_addstr(b, "") < 0)
        return NULL;
    return mail_buf_detach(b);
}

int mail_reply_draft(int fd, const struct mail_mime *m,
                     const struct mail_reply_opts *o, struct mail_draft *d,
                     struct mail_error *err)
{
    const struct mail_header *h = &mail_mime_root(m)->header;
    struct mail_buf b = MAIL_BUF_INIT, text = MAIL_BUF_INIT;
    int r = -1;

    mail_draft_release(d);
    if (mail_reply_recipients(h, o->ids, o->mode, d, err) < 0)
        goto done;
    if (mail_reply_subject(&b, mail_header_get(h, "subject")) < 0 ||
        !(d->subject = buf_str(&b)))
        goto nomem;
    if (mail_reply_in_reply_to(&b, h) < 0)
        goto nomem;
    if (b.len && !(d->in_reply_to = buf_str(&b)))
        goto nomem;
    d->kind = MAIL_DRAFT_REPLY;
    if (d->in_reply_to && !(d->orig_id = strdup(d->in_reply_to)))
        goto nomem;
    if (mail_reply_references(&b, h) < 0)
        goto nomem;
    if (b.len && !(d->references = buf_str(&b)))
        goto nomem;
    if (original_text(fd, m, o->render, &text, err) < 0)
        goto done;
    if (mail_buf_addch(&d->body, '\n') < 0 ||
        mail_reply_attribution(&d->body, h) < 0 ||
        mail_reply_quote(&d->body, text.data ? text.data : "", text.len) < 0)
        goto nomem;
    if (mail_signature_append(&d->body, o->signature_file, err) < 0)
        goto done;
    r = 0;
    goto done;
nomem:
    oom(err);
done:
    mail_buf_release(&b);
    mail_buf_release(&text);
    if (r < 0)
        mail_draft_release(d);
    return r;
}

/* "Name: value\n" of the forwarded block: addresses formatted with their
 * names decoded, other values decoded; nothing when absent. */
static int fwd_field(struct mail_buf *out, const struct mail_header *h,
                     const char *name, const char *label, bool addrs)
{
    const char *v = mail_header_get(h, name);
    size_t start;

    if (!v)
        return 0;
    if (mail_buf_printf(out, "%s: ", label) < 0)
        return -1;
    start = out->len;
    if (addrs) {
        struct mail_addrlist l = MAIL_ADDRLIST_INIT;
        int r;

        if (mail_addrlist_parse(&l, v, NULL) < 0)
            return -1;
        r = mail_addrlist_format(out, &l);
        mail_addrlist_release(&l);
        if (r < 0)
            return -1;
    } else if (mail_rfc2047_decode(out, v, strlen(v)) < 0) {
        return -1;
    }
    /* A value may not break the block's lines. */
    for (size_t i = start; i < out->len; i++)
        if (out->data[i] == '\n' || out->data[i] == '\r')
            out->data[i] = ' ';
    return mail_buf_addch(out, '\n');
}

int mail_forward_draft(int fd, const struct mail_mime *m,
                       const struct mail_reply_opts *o, struct mail_draft *d,
                       struct mail_error *err)
{
    const struct mail_header *h = &mail_mime_root(m)->header;
    struct mail_buf b = MAIL_BUF_INIT, text = MAIL_BUF_INIT;
    int r = -1;

    mail_draft_release(d);
    for (size_t i = 0; i < o->nto; i++)
        if ((i && mail_buf_addstr(&b, ", ") < 0) ||
            mail_buf_addstr(&b, o->to[i]) < 0)
            goto nomem;
    if (!(d->to = buf_str(&b)) || !(d->cc = strdup("")))
        goto nomem;
    if (mail_forward_subject(&b, mail_header_get(h, "subject")) < 0 ||
        !(d->subject = buf_str(&b)))
        goto nomem;
    d->kind = MAIL_DRAFT_FORWARD;
    if (mail_reply_in_reply_to(&b, h) < 0)
        goto nomem;
    if (b.len && !(d->orig_id = buf_str(&b)))
        goto nomem;
    if (mail_buf_addch(&d->body, '\n') < 0)
        goto nomem;
    if (!o->attach) {
        if (original_text(fd, m, o->render, &text, err) < 0)
            goto done;
        if (mail_buf_addstr(&d->body,
                            "---------- Forwarded message ---------\n") < 0 ||
            fwd_field(&d->body, h, "from", "From", true) < 0 ||
            fwd_field(&d->body, h, "date", "Date", false) < 0 ||
            fwd_field(&d->body, h, "subject", "Subject", false) < 0 ||
            fwd_field(&d->body, h, "to", "To", true) < 0 ||
            fwd_field(&d->body, h, "cc", "Cc", true) < 0 ||
            mail_buf_addch(&d->body, '\n') < 0 ||
            (text.len && mail_buf_add(&d->body, text.data, text.len) < 0) ||
            (text.len && text.data[text.len - 1] != '\n' &&
             mail_buf_addch(&d->body, '\n') < 0))
            goto nomem;
    }
    if (mail_signature_append(&d->body, o->signature_file, err) < 0)
        goto done;
    r = 0;
    goto done;
nomem:
    oom(err);
done:
    mail_buf_release(&b);
    mail_buf_release(&text);
    if (r < 0)
        mail_draft_release(d);
    return r;
}

int mail_draft_prepend(struct mail_draft *d, const char *text, size_t len,
                       struct mail_error *err)
{
    struct mail_buf b = MAIL_BUF_INIT;
    const char *rest = d->body.data ? d->body.data : "";
    size_t restlen = d->body.len;

    /* The body starts with the empty line left for your text. */
    if (restlen && rest[0] == '\n') {
        rest++;
        restlen--;
    }
    if (mail_buf_add(&b, text, len) < 0 ||
        (len && text[len - 1] != '\n' && mail_buf_addch(&b, '\n') < 0) ||
        (restlen && mail_buf_addch(&b, '\n') < 0) ||
        mail_buf_add(&b, rest, restlen) < 0 || mail_buf_addstr(&b, "") < 0) {
        mail_buf_release(&b);
        return oom(err);
    }
    mail_buf_release(&d->body);
    d->body = b;
    return 0;
}

static int field_out(struct mail_buf *b, const char *name, const char *v)
{
    return mail_buf_printf(b, "%s: %s\n", name, v ? v : "");
}

int mail_draft_write(const struct mail_draft *d, mail_sink_fn sink, void *ctx,
                     struct mail_error *err)
{
    struct mail_buf b = MAIL_BUF_INIT;
    int r = 0;

    if (field_out(&b, "To", d->to) < 0 || field_out(&b, "Cc", d->cc) < 0 ||
        (d->bcc && *d->bcc && field_out(&b, "Bcc", d->bcc) < 0) ||
        field_out(&b, "Subject", d->subject) < 0 ||
        (d->in_reply_to && field_out(&b, "In-Reply-To", d->in_reply_to) < 0) ||
        (d->references && field_out(&b, "References", d->references) < 0) ||
        mail_buf_addch(&b, '\n') < 0) {
        mail_buf_release(&b);
        return oom(err);
    }
    /* A sink that fails says why in err. */
    if (sink(ctx, b.data, b.len, err) < 0 ||
        (d->body.len && sink(ctx, d->body.data, d->body.len, err) < 0))
        r = -1;
    mail_buf_release(&b);
    return r;
}

int mail_draft_parse(struct mail_draft *d, const char *text, size_t len,
                     struct mail_error *err)
{
    static const char *const known[] = {
        "to", "cc", "bcc", "subject", "in-reply-to", "references", NULL,
    };
    struct mail_draft nd = MAIL_DRAFT_INIT;
    char **slot[6];
    char **cur = NULL;
    size_t pos = 0;
    int lineno = 0;

    slot[0] = &nd.to;
    slot[1] = &nd.cc;
    slot[2] = &nd.bcc;
    slot[3] = &nd.subject;
    slot[4] = &nd.in_reply_to;
    slot[5] = &nd.references;
    while (pos < len) {
        const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - line) : len - pos;
        size_t k;

        lineno++;
        pos += l + (nl ? 1 : 0);
        if (l && line[l - 1] == '\r')
            l--;
        if (l == 0)
            break;
        if (blank(line[0]) && cur) {
            /* A continuation: joined with one blank. */
            size_t old = strlen(*cur), s = 0;
            char *n;

            while (s < l && blank(line[s]))
                s++;
            n = realloc(*cur, old + 1 + (l - s) + 1);
            if (!n)
                goto nomem;
            n[old] = ' ';
            memcpy(n + old + 1, line + s, l - s);
            n[old + 1 + l - s] = '\0';
            *cur = n;
            continue;
        }
        k = 0;
        while (k < l && line[k] != ':')
            k++;
        if (k == l || k == 0) {
            mail_error_set(err, MAIL_ERR_USAGE,
                           "draft line %d is not a header field (leave an "
                           "empty line between the header and the text)",
                           lineno);
            goto fail;
        }
        cur = NULL;
        for (size_t i = 0; known[i]; i++) {
            size_t s = k + 1;

            if (strlen(known[i]) != k || mail_strncasecmp(line, known[i], k))
                continue;
            while (s < l && blank(line[s]))
                s++;
            free(*slot[i]);
            *slot[i] = strndup(line + s, l - s);
            if (!*slot[i])
                goto nomem;
            cur = slot[i];
        }
        if (!cur) {
            mail_error_set(err, MAIL_ERR_USAGE,
                           "draft line %d: %.*s: only To, Cc, Bcc, Subject, "
                           "In-Reply-To and References can be set here",
                           lineno, (int)(k > 60 ? 60 : k), line);
            goto fail;
        }
    }
    for (size_t i = 0; i < 4; i++)
        if (!*slot[i] && !(*slot[i] = strdup("")))
            goto nomem;
    for (size_t i = 4; i < 6; i++)
        if (*slot[i] && !**slot[i]) {
            free(*slot[i]);
            *slot[i] = NULL;
        }
    if (mail_buf_add(&nd.body, text + pos, len - pos) < 0 ||
        mail_buf_addstr(&nd.body, "") < 0)
        goto nomem;
    /* What the text does not carry stays with the draft. */
    nd.attach = d->attach;
    nd.nattach = d->nattach;
    nd.kind = d->kind;
    nd.orig_folder = d->orig_folder;
    nd.orig_id = d->orig_id;
    nd.rfc822 = d->rfc822;
    d->attach = NULL;
    d->nattach = 0;
    d->orig_folder = d->orig_id = d->rfc822 = NULL;
    mail_draft_release(d);
    *d = nd;
    return 0;
nomem:
    oom(err);
fail:
    mail_draft_release(&nd);
    return -1;
}

/* ---- forward as an attachment ---- */

static int copy_fd(int fd, off_t off, off_t end, mail_sink_fn sink,
                   void *ctx, struct mail_error *err)
{
    char buf[65536];

    for (;;) {
        size_t want = sizeof buf;
        ssize_t n;

        if (end >= 0 && (off_t)want > end - off)
            want = (size_t)(end - off);
        if (want == 0)
            return 0;
        n = pread(fd, buf, want, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return mail_error_set(err, MAIL_ERR_IO, "reading a message: %s",
                                  strerror(errno));
        if (n == 0)
            return 0;
        if (sink(ctx, buf, (size_t)n, err) < 0)
            return -1;      /* the sink's error */
        off += n;
    }
}

int mail_forward_attach_write(int composed, int orig_fd, mail_sink_fn sink,
                              void *ctx, struct mail_error *err)
{
    struct mail_header h = MAIL_HEADER_INIT;
    struct mail_buf raw = MAIL_BUF_INIT, out = MAIL_BUF_INIT;
    struct mail_buf content = MAIL_BUF_INIT;
    char boundary[64];
    unsigned char rnd[12];
    int r = -1;
    ssize_t n;
    char buf[4096];
    off_t off = 0;

    /* The composed header: bounded, read whole. */
    while (raw.len < MAIL_HEADER_MAX &&
           (n = pread(composed, buf, sizeof buf, off)) > 0) {
        bool found;

        if (mail_buf_add(&raw, buf, (size_t)n) < 0)
            goto nomem;
        off += n;
        mail_header_end(raw.data, raw.len, &found);
        if (found)
            break;
    }
    if (mail_header_parse(&h, raw.data ? raw.data : "", raw.len, err) < 0)
        goto done;
    if (!h.complete) {
        mail_error_set(err, MAIL_ERR_DATA, "the composed message has no body");
        goto done;
    }
    /* A random boundary: 96 bits cannot occur in the original by chance,
     * and the composer's quoted-printable text never has "=_". */
    {
        int rfd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

        if (rfd < 0 || read(rfd, rnd, sizeof rnd) != (ssize_t)sizeof rnd) {
            if (rfd >= 0)
                close(rfd);
            mail_error_set(err, MAIL_ERR_IO, "/dev/urandom: cannot read");
            goto done;
        }
        close(rfd);
    }
    mail_snprintf(boundary, sizeof boundary, "=_fwd_");
    for (size_t i = 0; i < sizeof rnd; i++)
        mail_snprintf(boundary + strlen(boundary),
                      sizeof boundary - strlen(boundary), "%02x", rnd[i]);
    {
        /* The raw header lines, keeping their spelling and folding: the
         * Content-* ones go to the first part, MIME-Version is
         * rewritten, the others stay the message's. */
        size_t hend = h.len, p = 0;
        struct mail_buf *dst = &out;

        while (p < hend) {
            const char *line = raw.data + p;
            const char *nl = memchr(line, '\n', hend - p);
            size_t l = nl ? (size_t)(nl - line) + 1 : hend - p;

            if (line[0] == '\n' || (line[0] == '\r' && l <= 2))
                break;
            if (!blank(line[0]))
                dst = mail_strncasecmp(line, "content-", 8) == 0 ? &content
                      : mail_strncasecmp(line, "mime-version:", 13) == 0
                          ? NULL
                          : &out;
            if (dst && mail_buf_add(dst, line, l) < 0)
                goto nomem;
            p += l;
        }
    }
    if (mail_buf_printf(&out,
                        "MIME-Version: 1.0\n"
                        "Content-Type: multipart/mixed; boundary=\"%s\"\n"
                        "\n"
                        "This is a message in MIME format.\n"
                        "\n--%s\n",
                        boundary, boundary) < 0 ||
        (content.len && mail_buf_add(&out, content.data, content.len) < 0))
        goto nomem;
    if (mail_buf_addch(&out, '\n') < 0)
        goto nomem;
    if (sink(ctx, out.data, out.len, err) < 0)
        goto done;      /* the sink's error */
    /* The text part's body, as composed. */
    if (copy_fd(composed, (off_t)h.len, -1, sink, ctx, err) < 0)
        goto done;
    mail_buf_reset(&out);
    if (mail_buf_printf(&out,
                        "\n--%s\n"
                        "Content-Type: message/rfc822\n"
                        "Content-Disposition: attachment\n"
                        "\n",
                        boundary) < 0)
        goto nomem;
    if (sink(ctx, out.data, out.len, err) < 0)
        goto done;      /* the sink's error */
    {
        /* The original, untouched: the line end before the delimiter
         * belongs to the delimiter (RFC 2046 5.1.1), so one is added. */
        off_t size = lseek(orig_fd, 0, SEEK_END);

        if (size < 0) {
            mail_error_set(err, MAIL_ERR_IO, "reading a message: %s",
                           strerror(errno));
            goto done;
        }
        if (copy_fd(orig_fd, 0, size, sink, ctx, err) < 0)
            goto done;
        mail_buf_reset(&out);
        if (mail_buf_printf(&out, "\n--%s--\n", boundary) < 0)
            goto nomem;
        if (sink(ctx, out.data, out.len, err) < 0)
            goto done;      /* the sink's error */
    }
    r = 0;
    goto done;
nomem:
    oom(err);
done:
    mail_header_release(&h);
    mail_buf_release(&raw);
    mail_buf_release(&out);
    mail_buf_release(&content);
    return r;
}
