/*
 * rfc2231.c - MIME parameter lists, with RFC 2231 sections and charsets.
 *
 * Parsing goes in two steps: a tokenizer collects raw segments (name,
 * section number, encoded flag, bytes), then segments of the same name
 * are joined and decoded.  Both steps are linear in the input except the
 * joining, which is bounded by MAIL_PARAMS_MAX.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mail/charset.h"
#include "mail/hex.h"
#include "mail/rfc2047.h"
#include "mail/rfc2231.h"

struct seg {
    char *name;          /* base name, lowercased */
    long section;        /* -1 when none */
    bool ext;            /* a trailing '*': charset'lang' and %XX */
    char *raw;           /* value bytes as written (unquoted) */
    size_t rawlen;
};

static bool is_wsp(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Skip a comment starting at s[*i] == '(' (nested, escapes, unterminated
 * runs to the end). */
static void skip_comment(const char *s, size_t *i)
{
    size_t depth = 0;

    while (s[*i]) {
        char c = s[(*i)++];

        if (c == '\\' && s[*i])
            (*i)++;
        else if (c == '(')
            depth++;
        else if (c == ')' && --depth == 0)
            return;
    }
}

static void skip_cfws(const char *s, size_t *i)
{
    for (;;) {
        while (is_wsp(s[*i]))
            (*i)++;
        if (s[*i] != '(')
            return;
        skip_comment(s, i);
    }
}

void mail_params_release(struct mail_params *ps)
{
    size_t i;

    for (i = 0; i < ps->n; i++) {
        free(ps->v[i].name);
        free(ps->v[i].value);
    }
    free(ps->v);
    free(ps->value);
    ps->v = NULL;
    ps->n = 0;
    ps->value = NULL;
}

const char *mail_params_get(const struct mail_params *ps, const char *name)
{
    size_t i;

    for (i = 0; i < ps->n; i++)
        if (mail_strcasecmp(ps->v[i].name, name) == 0)
            return ps->v[i].value;
    return NULL;
}

/* Does s[i..] start a "token=" (a parameter glued without ';')? */
static bool looks_like_param(const char *s, size_t i)
{
    size_t k = i;

    while (s[k] && !is_wsp(s[k]) && s[k] != '=' && s[k] != ';' &&
           s[k] != '"' && s[k] != '(')
        k++;
    return k > i && s[k] == '=';
}

/* Read one value at s[*i] into b (unquoted); returns with *i at the ';'
 * or end. */
static int read_value(const char *s, size_t *i, struct mail_buf *b)
{
    if (s[*i] == '"') {
        (*i)++;
        while (s[*i] && s[*i] != '"') {
            if (s[*i] == '\\' && s[*i + 1])
                (*i)++;
            if (mail_buf_addch(b, s[(*i)++]) < 0)
                return -1;
        }
        if (s[*i] == '"')
            (*i)++;
        /* Ignore anything up to the next ';', except a glued param. */
        while (s[*i] && s[*i] != ';') {
            if (is_wsp(s[*i]) && looks_like_param(s, *i + 1))
                break;
            if (s[*i] == '(')
                skip_comment(s, i);
            else
                (*i)++;
        }
        return 0;
    }
    while (s[*i] && s[*i] != ';' && s[*i] != '(') {
        if (is_wsp(s[*i])) {
            size_t k = *i;

            while (is_wsp(s[k]))
                k++;
            if (!s[k] || s[k] == ';' || s[k] == '(' ||
                looks_like_param(s, k)) {
                *i = k;
                break;
            }
        }
        if (mail_buf_addch(b, s[(*i)++]) < 0)
            return -1;
    }
    if (s[*i] == '(') {
        skip_comment(s, i);
        while (s[*i] && s[*i] != ';' && !looks_like_param(s, *i))
            (*i)++;
    }
    return 0;
}

/* Split "name*3*" into base, section and ext. */
static void split_name(char *name, long *section, bool *ext)
{
    char *star = strchr(name, '*');
    char *p;

    *section = -1;
    *ext = false;
    if (!star)
        return;
    p = star + 1;
    if (*p == '\0') {
        *ext = true;
        *star = '\0';
        return;
    }
    if (*p >= '0' && *p <= '9') {
        long v = 0;

        while (*p >= '0' && *p <= '9' && v < 100000)
            v = v * 10 + (*p++ - '0');
        if (*p == '*' && p[1] == '\0') {
            *ext = true;
        } else if (*p != '\0') {
            return;     /* malformed: keep the whole name */
        }
        *section = v;
        *star = '\0';
    }
}

static void blank_controls(struct mail_buf *b)
{
    size_t i;

    for (i = 0; i < b->len; i++)
        if (b->data[i] == '\0' || b->data[i] == '\r' || b->data[i] == '\n')
            b->data[i] = ' ';
}

/* Join and decode the RFC 2231 segments of name (all of segs[idx] with
 * the same name and section >= 0 or ext) into out. */
static int join_2231(struct seg *segs, size_t nsegs, const char *name,
                     struct mail_buf *out)
{
    struct mail_buf bytes;
    size_t order[MAIL_PARAMS_MAX], n = 0, i, j;
    char charset[64] = "";
    int r = -1;

    for (i = 0; i < nsegs; i++) {
        if (strcmp(segs[i].name, name) != 0 ||
            (segs[i].section < 0 && !segs[i].ext))
            continue;
        /* Insertion by section; "name*" counts as section 0; the first
         * of duplicates wins. */
        for (j = 0; j < n; j++)
            if (segs[order[j]].section >= segs[i].section)
                break;
        if (j < n && segs[order[j]].section == segs[i].section)
            continue;
        memmove(order + j + 1, order + j, (n - j) * sizeof order[0]);
        order[j] = i;
        n++;
    }
    mail_buf_init(&bytes, 0);
    for (i = 0; i < n; i++) {
        struct seg *g = &segs[order[i]];
        const char *v = g->raw;
        size_t vl = g->rawlen;

        if (i == 0 && g->ext) {
            const char *q1 = memchr(v, '\'', vl), *q2 = NULL;

            if (q1)
                q2 = memchr(q1 + 1, '\'', vl - (size_t)(q1 + 1 - v));
            if (q1 && q2) {
                size_t cl = (size_t)(q1 - v);

                if (cl >= sizeof charset)
                    cl = sizeof charset - 1;
                memcpy(charset, v, cl);
                charset[cl] = '\0';
                vl -= (size_t)(q2 + 1 - v);
                v = q2 + 1;
            }
        }
        if ((g->ext ? mail_pct_decode(&bytes, v, vl, 0)
                    : mail_buf_add(&bytes, v, vl)) < 0)
            goto done;
    }
    if (mail_charset_to_utf8(out, charset, bytes.data ? bytes.data : "",
                             bytes.len) < 0)
        goto done;
    r = 0;
done:
    mail_buf_release(&bytes);
    return r;
}

static char *dup_mem(const char *s, size_t n)
{
    char *p = malloc(n + 1);

    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

int mail_params_parse(struct mail_params *ps, const char *s,
                      struct mail_error *err)
{
    struct seg *segs;
    struct mail_buf b;
    size_t nsegs = 0, i = 0, k;
    int r = -1;

    mail_params_release(ps);
    segs = calloc(MAIL_PARAMS_MAX, sizeof *segs);
    ps->v = calloc(MAIL_PARAMS_MAX, sizeof *ps->v);
    mail_buf_init(&b, 0);
    if (!segs || !ps->v)
        goto done;
    if (!s)
        s = "";
    /* The main value: blanks, quotes and comments dropped. */
    while (s[i] && s[i] != ';') {
        if (s[i] == '(') {
            skip_comment(s, &i);
            continue;
        }
        if (!is_wsp(s[i]) && s[i] != '"' && mail_buf_addch(&b, lower(s[i])) < 0)
            goto done;
        i++;
    }
    ps->value = mail_buf_detach(&b);
    if (!ps->value)
        goto done;
    while (s[i] && nsegs < MAIL_PARAMS_MAX) {
        struct seg *g;
        size_t ns;

        if (s[i] == ';')
            i++;
        skip_cfws(s, &i);
        ns = i;
        while (s[i] && s[i] != '=' && s[i] != ';' && !is_wsp(s[i]) &&
               s[i] != '(' && s[i] != '"')
            i++;
        k = i;
        skip_cfws(s, &i);
        if (s[i] != '=' || k == ns) {
            /* No value: skip to the next ';'. */
            while (s[i] && s[i] != ';') {
                if (s[i] == '"') {
                    for (i++; s[i] && s[i] != '"'; i++)
                        if (s[i] == '\\' && s[i + 1])
                            i++;
                    if (s[i])
                        i++;
                } else {
                    i++;
                }
            }
            continue;
        }
        i++;
        skip_cfws(s, &i);
        g = &segs[nsegs];
        g->name = dup_mem(s + ns, k - ns);
        if (!g->name)
            goto done;
        nsegs++;
        for (char *p = g->name; *p; p++)
            *p = lower(*p);
        split_name(g->name, &g->section, &g->ext);
        mail_buf_reset(&b);
        if (read_value(s, &i, &b) < 0)
            goto done;
        g->rawlen = b.len;
        g->raw = dup_mem(b.data ? b.data : "", b.len);
        if (!g->raw)
            goto done;
    }
    /* Join: one parameter per base name, in order of first appearance. */
    for (k = 0; k < nsegs; k++) {
        struct seg *g = &segs[k];
        bool is2231 = false, seen = false;
        size_t j;

        for (j = 0; j < k && !seen; j++)
            seen = strcmp(segs[j].name, g->name) == 0;
        if (seen)
            continue;
        for (j = k; j < nsegs && !is2231; j++)
            is2231 = strcmp(segs[j].name, g->name) == 0 &&
                     (segs[j].section >= 0 || segs[j].ext);
        mail_buf_reset(&b);
        if (is2231) {
            if (join_2231(segs, nsegs, g->name, &b) < 0)
                goto done;
        } else if (mail_rfc2047_decode(&b, g->raw, g->rawlen) < 0) {
            goto done;
        }
        blank_controls(&b);
        ps->v[ps->n].name = strdup(g->name);
        ps->v[ps->n].value = mail_buf_detach(&b);
        if (!ps->v[ps->n].name || !ps->v[ps->n].value) {
            free(ps->v[ps->n].name);
            free(ps->v[ps->n].value);
            goto done;
        }
        ps->n++;
    }
    r = 0;
done:
    for (k = 0; k < nsegs; k++) {
        free(segs[k].name);
        free(segs[k].raw);
    }
    free(segs);
    mail_buf_release(&b);
    if (r < 0) {
        mail_params_release(ps);
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    return r;
}

/* --- encoding ----------------------------------------------------------- */

static bool is_tspecial(char c)
{
    return strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

#define SECTION_MAX 60   /* value characters per continuation section */

static int add_quoted(struct mail_buf *out, const char *s, size_t n)
{
    size_t k;

    if (mail_buf_addch(out, '"') < 0)
        return -1;
    for (k = 0; k < n; k++) {
        if ((s[k] == '"' || s[k] == '\\') && mail_buf_addch(out, '\\') < 0)
            return -1;
        if (mail_buf_addch(out, s[k]) < 0)
            return -1;
    }
    return mail_buf_addch(out, '"');
}

int mail_rfc2231_encode(struct mail_buf *out, const char *name,
                        const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = strlen(value), i, sec = 0;
    bool ascii = true, token = len > 0;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];

        if (c < 32 || c >= 127)
            ascii = false;
        if (c <= 32 || c >= 127 || is_tspecial((char)c))
            token = false;
    }
    if (ascii) {
        if (len + strlen(name) <= SECTION_MAX) {
            if (mail_buf_printf(out, "; %s=", name) < 0)
                return -1;
            if (token)
                return mail_buf_add(out, value, len);
            return add_quoted(out, value, len);
        }
        for (i = 0; i < len; sec++) {
            size_t n = len - i < SECTION_MAX ? len - i : SECTION_MAX;

            if (mail_buf_printf(out, "; %s*%zu=", name, sec) < 0 ||
                add_quoted(out, value + i, n) < 0)
                return -1;
            i += n;
        }
        return 0;
    }
    /* Non-ASCII: charset form, in sections when long; a section never
     * ends inside a character. */
    {
        struct mail_buf clean;
        size_t enc_total = 0;
        bool split;

        mail_buf_init(&clean, 0);
        if (mail_utf8_sanitize(&clean, value, len) < 0)
            return -1;
        for (i = 0; i < clean.len; i++) {
            unsigned char c = (unsigned char)clean.data[i];

            enc_total += (c > 32 && c < 127 && !is_tspecial((char)c) &&
                          c != '*' && c != '\'' && c != '%') ? 1 : 3;
        }
        split = enc_total + strlen(name) + 9 > SECTION_MAX;
        i = 0;
        while (i < clean.len) {
            size_t used = 0;
            int rr;

            if (split)
                rr = mail_buf_printf(out, "; %s*%zu*=%s", name, sec,
                                     sec == 0 ? "UTF-8''" : "");
            else
                rr = mail_buf_printf(out, "; %s*=UTF-8''", name);
            if (rr < 0)
                goto fail;
            while (i < clean.len) {
                size_t cl = mail_utf8_seqlen(clean.data + i, clean.len - i);
                size_t cost = 0, k;

                if (cl == 0)
                    cl = 1;
                for (k = 0; k < cl; k++) {
                    unsigned char c = (unsigned char)clean.data[i + k];

                    cost += (c > 32 && c < 127 && !is_tspecial((char)c) &&
                             c != '*' && c != '\'' && c != '%') ? 1 : 3;
                }
                if (split && used > 0 && used + cost > SECTION_MAX)
                    break;
                for (k = 0; k < cl; k++) {
                    unsigned char c = (unsigned char)clean.data[i + k];

                    if (c > 32 && c < 127 && !is_tspecial((char)c) &&
                        c != '*' && c != '\'' && c != '%')
                        rr = mail_buf_addch(out, (char)c);
                    else
                        rr = mail_buf_printf(out, "%%%c%c", hex[c >> 4],
                                             hex[c & 15]);
                    if (rr < 0)
                        goto fail;
                }
                used += cost;
                i += cl;
            }
            sec++;
        }
        mail_buf_release(&clean);
        return 0;
fail:
        mail_buf_release(&clean);
        return -1;
    }
}
