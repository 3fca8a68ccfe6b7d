/*
 * ls.c - `mail ls`: one line per message of a folder, numbered, so that
 * `mail read 3` and friends can name messages (the numbers are saved, see
 * select.c).  Listing reads only headers (and the header cache), never
 * bodies, except that --json counts attachments.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <wctype.h>

#include "cmd.h"
#include "mail/address.h"
#include "mail/charset.h"
#include "mail/date.h"
#include "mail/rfc2047.h"
#include "mail/termsafe.h"
#include "select.h"
#include "width.h"

enum { OPT_UNREAD = OPT_FIRST_COMMAND_OPTION, OPT_SINCE, OPT_THREAD };

struct ls_opts {
    const char *folder;
    size_t last;             /* -n; 0: all */
    bool unread;
    bool has_since;
    time_t since;
    bool thread;
    const char *format;      /* -F */
    bool json;
    char **query;
    int nquery;
};

/* One query term: field (0 any, 'f' from, 't' to/cc, 'c' cc only, 's'
 * subject) and its case-folded text. */
struct term {
    int field;
    char *text;
};

/* What the listing shows of one message, decoded to UTF-8. */
struct row {
    size_t idx;              /* into the envelope list */
    unsigned depth;          /* in a thread */
    time_t when;             /* Date:, else delivery */
};

#define FROM_COLS 20
#define THREAD_INDENT_MAX 8

/* ---- decoding ---- */

static time_t env_time(const struct mail_envelope *e)
{
    return e->has_date ? e->date : e->received;
}

/* Decoded subject (malloc'd, "" when absent). */
static char *decode_subject(const struct mail_envelope *e)
{
    struct mail_buf b = MAIL_BUF_INIT;

    if (e->subject)
        mail_rfc2047_decode(&b, e->subject, strlen(e->subject));
    return mail_buf_detach(&b);
}

/* The names (else addresses) of an address field, ", "-separated; with
 * full, "Name <addr>" for each, for searching. */
static char *decode_names(const char *value, bool full, bool first_only)
{
    struct mail_addrlist l = MAIL_ADDRLIST_INIT;
    struct mail_buf b = MAIL_BUF_INIT;
    struct mail_error err;

    if (value && mail_addrlist_parse(&l, value, &err) == 0) {
        for (size_t i = 0; i < l.n; i++) {
            const struct mail_address *a = &l.v[i];
            bool has_name = a->name && *a->name;

            if (!has_name && !*a->addr)
                continue;
            if (b.len)
                mail_buf_addstr(&b, ", ");
            if (full) {
                mail_buf_printf(&b, "%s <%s>", has_name ? a->name : "",
                                a->addr);
            } else {
                mail_buf_addstr(&b, has_name ? a->name : a->addr);
            }
            if (first_only)
                break;
        }
    }
    mail_addrlist_release(&l);
    return mail_buf_detach(&b);
}

/* Lowercase UTF-8 text for case-insensitive matching (towlower in a
 * UTF-8 locale; invalid bytes kept). */
static char *fold(const char *s)
{
    struct mail_buf b = MAIL_BUF_INIT;
    locale_t loc = cmd_utf8_locale();
    size_t len = strlen(s);

    mail_buf_reserve(&b, len);
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        size_t n = mail_utf8_seqlen(s + i, len - i);
        uint32_t cp;

        if (c < 0x80 || n == 0 || !loc) {
            mail_buf_addch(&b, (char)(c >= 'A' && c <= 'Z' ? c + 32 : c));
            i++;
            continue;
        }
        cp = c & (0xffu >> (n + 1));
        for (size_t k = 1; k < n; k++)
            cp = (cp << 6) | ((unsigned char)s[i + k] & 0x3f);
        mail_utf8_put(&b, (uint32_t)towlower_l((wint_t)cp, loc));
        i += n;
    }
    return mail_buf_detach(&b);
}

static bool contains(const char *hay, const char *needle)
{
    char *h = fold(hay ? hay : "");
    bool r = h && strstr(h, needle) != NULL;

    free(h);
    return r;
}

static bool match_terms(const struct mail_envelope *e, const struct term *t,
                        int n)
{
    char *from = NULL, *to = NULL, *cc = NULL, *subject = NULL;
    bool ok = true;

    for (int i = 0; i < n && ok; i++) {
        bool m = false;

        if (t[i].field == 0 || t[i].field == 'f') {
            if (!from)
                from = decode_names(e->from, true, false);
            m = m || contains(from, t[i].text);
        }
        if (t[i].field == 0 || t[i].field == 't' || t[i].field == 'c') {
            if (!to) {
                to = decode_names(e->to, true, false);
                cc = decode_names(e->cc, true, false);
            }
            m = m || (t[i].field != 'c' && contains(to, t[i].text)) ||
                contains(cc, t[i].text);
        }
        if (t[i].field == 0 || t[i].field == 's') {
            if (!subject)
                subject = decode_subject(e);
            m = m || contains(subject, t[i].text);
        }
        ok = m;
    }
    free(from);
    free(to);
    free(cc);
    free(subject);
    return ok;
}

/* ---- threads ---- */

/* The first "<...>" of s (or the trimmed s) as [*start, *start+*len). */
static bool first_id(const char *s, const char **start, size_t *len)
{
    const char *a, *z;

    if (!s)
        return false;
    a = strchr(s, '<');
    z = a ? strchr(a, '>') : NULL;
    if (a && z) {
        *start = a;
        *len = (size_t)(z - a + 1);
        return true;
    }
    while (*s == ' ' || *s == '\t')
        s++;
    *start = s;
    *len = strcspn(s, " \t");
    return *len > 0;
}

struct id_ref {
    const char *id;
    size_t len;
    size_t row;
};

static int cmp_id(const void *a, const void *b)
{
    const struct id_ref *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->id, y->id, n);

    if (c)
        return c;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

/* The row with this message-id, or -1. */
static long find_id(const struct id_ref *ids, size_t n, const char *id,
                    size_t len)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        struct id_ref key = { id, len, 0 };
        int c = cmp_id(&key, &ids[mid]);

        /* Equal ids: the first row wins (row 0 in key sorts first). */
        if (c <= 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    if (lo < n && ids[lo].len == len && memcmp(ids[lo].id, id, len) == 0)
        return (long)ids[lo].row;
    return -1;
}

static bool is_ancestor(const long *parent, size_t a, size_t of)
{
    size_t steps = 0;

    for (long p = (long)of; p >= 0; p = parent[p])
        if ((size_t)p == a || ++steps > 1000000)
            return true;
    return false;
}

static const struct row *cmp_rows;
static const time_t *cmp_first;

static int cmp_child(const void *a, const void *b)
{
    const struct row *x = &cmp_rows[*(const size_t *)a];
    const struct row *y = &cmp_rows[*(const size_t *)b];

    if (x->when != y->when)
        return x->when < y->when ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int cmp_root(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;

    if (cmp_first[x] != cmp_first[y])
        return cmp_first[x] < cmp_first[y] ? -1 : 1;
    return cmp_child(a, b);
}

/*
 * Put rows in thread order (JWZ-lite): a message's parent is the last
 * message of its References found in the listing, else its In-Reply-To;
 * children follow their parent, by date; threads go by the date of their
 * first message.  Sets depth.
 */
static int thread_rows(const struct mail_envelope_list *list, struct row *rows,
                       size_t n)
{
    struct id_ref *ids = calloc(n ? n : 1, sizeof *ids);
    long *parent = malloc((n ? n : 1) * sizeof *parent);
    size_t *nchild = calloc(n + 1, sizeof *nchild);
    size_t *child = malloc((n ? n : 1) * sizeof *child);
    size_t *roots = malloc((n ? n : 1) * sizeof *roots);
    size_t *stack = malloc((n ? n : 1) * sizeof *stack);
    time_t *first = malloc((n ? n : 1) * sizeof *first);
    struct row *out = malloc((n ? n : 1) * sizeof *out);
    size_t nids = 0, nroots = 0, nout = 0, *fill = NULL;
    int rc = -1;

    if (!ids || !parent || !nchild || !child || !roots || !stack || !first ||
        !out)
        goto done;
    for (size_t i = 0; i < n; i++) {
        const char *s;
        size_t len;

        if (first_id(list->v[rows[i].idx].message_id, &s, &len))
            ids[nids++] = (struct id_ref){ s, len, i };
    }
    if (nids > 1)
        qsort(ids, nids, sizeof *ids, cmp_id);
    for (size_t i = 0; i < n; i++)
        parent[i] = -1;
    for (size_t i = 0; i < n; i++) {
        const struct mail_envelope *e = &list->v[rows[i].idx];
        const char *refs = e->references, *p, *q, *s;
        long cand = -1;
        size_t len;

        /* The last reference that is in the listing. */
        for (p = refs ? refs + strlen(refs) : NULL; p && p > refs && cand < 0;) {
            q = p;
            while (q > refs && q[-1] != '>')
                q--;
            if (q == refs)
                break;
            p = q - 1;          /* the '>' */
            while (p > refs && *p != '<')
                p--;
            if (*p == '<') {
                long r = find_id(ids, nids, p, (size_t)(q - p));

                if (r >= 0 && (size_t)r != i)
                    cand = r;
            }
        }
        if (cand < 0 && first_id(e->in_reply_to, &s, &len)) {
            long r = find_id(ids, nids, s, len);

            if (r >= 0 && (size_t)r != i)
                cand = r;
        }
        if (cand >= 0 && !is_ancestor(parent, i, (size_t)cand))
            parent[i] = cand;
    }
    /* Children of each row, in CSR form: nchild[p]..nchild[p+1]. */
    for (size_t i = 0; i < n; i++)
        if (parent[i] >= 0)
            nchild[parent[i] + 1]++;
    for (size_t i = 0; i < n; i++)
        nchild[i + 1] += nchild[i];
    fill = calloc(n ? n : 1, sizeof *fill);
    if (!fill)
        goto done;
    for (size_t i = 0; i < n; i++)
        if (parent[i] >= 0)
            child[nchild[parent[i]] + fill[parent[i]]++] = i;
    cmp_rows = rows;
    for (size_t i = 0; i < n; i++)
        if (nchild[i + 1] - nchild[i] > 1)
            qsort(child + nchild[i], nchild[i + 1] - nchild[i], sizeof *child,
                  cmp_child);
    /* The date of each thread's first message. */
    for (size_t i = 0; i < n; i++)
        first[i] = rows[i].when;
    for (size_t i = 0; i < n; i++) {
        size_t r = i;

        while (parent[r] >= 0)
            r = (size_t)parent[r];
        if (rows[i].when < first[r])
            first[r] = rows[i].when;
    }
    for (size_t i = 0; i < n; i++)
        if (parent[i] < 0)
            roots[nroots++] = i;
    cmp_first = first;
    if (nroots > 1)
        qsort(roots, nroots, sizeof *roots, cmp_root);
    /* Depth-first, without recursion. */
    for (size_t k = 0; k < nroots; k++) {
        size_t sp = 0;

        stack[sp++] = roots[k];
        rows[roots[k]].depth = 0;
        while (sp) {
            size_t r = stack[--sp];

            out[nout++] = rows[r];
            for (size_t c = nchild[r + 1]; c > nchild[r]; c--) {
                size_t ch = child[c - 1];

                rows[ch].depth = rows[r].depth + 1;
                stack[sp++] = ch;
            }
        }
    }
    if (nout == n) {
        memcpy(rows, out, n * sizeof *rows);
        rc = 0;
    }
done:
    free(ids);
    free(parent);
    free(nchild);
    free(child);
    free(roots);
    free(stack);
    free(first);
    free(out);
    free(fill);
    return rc;
}

/* ---- output ---- */

static const char *const month_abbr[12] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* "14:05" today, "Nov  3" this year, "2025-06-14" before (local time). */
static void short_date(char *buf, size_t size, time_t t, const struct tm *now)
{
    struct tm tm;

    if (!localtime_r(&t, &tm)) {
        mail_strlcpy(buf, "?", size);
        return;
    }
    if (tm.tm_year == now->tm_year && tm.tm_yday == now->tm_yday)
        snprintf(buf, size, "%02d:%02d", tm.tm_hour, tm.tm_min);
    else if (tm.tm_year == now->tm_year)
        snprintf(buf, size, "%s %2d", month_abbr[tm.tm_mon], tm.tm_mday);
    else
        snprintf(buf, size, "%04d-%02d-%02d", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday);
}

/* Flags column: N new / U unread, R replied / P forwarded, F flagged /
 * D draft / T deleted, A attachment. */
static void flag_letters(const struct mail_envelope *e, char out[5])
{
    unsigned f = e->flags;
    bool attach = e->attachments > 0 ||
                  (e->content_type &&
                   mail_strncasecmp(e->content_type, "multipart/mixed", 15)
                   == 0);

    out[0] = (f & MAIL_FLAG_SEEN) ? ' ' : (f & MAIL_FLAG_NEW) ? 'N' : 'U';
    out[1] = (f & MAIL_FLAG_ANSWERED) ? 'R' : (f & MAIL_FLAG_PASSED) ? 'P'
                                                                     : ' ';
    out[2] = (f & MAIL_FLAG_FLAGGED) ? 'F' : (f & MAIL_FLAG_DRAFT) ? 'D'
           : (f & MAIL_FLAG_DELETED) ? 'T' : ' ';
    out[3] = attach ? 'A' : ' ';
    out[4] = '\0';
}

/* s made terminal-safe into b (reset first). */
static void make_safe(struct mail_buf *b, const char *s)
{
    mail_buf_reset(b);
    mail_term_safe(b, s ? s : "", s ? strlen(s) : 0, MAIL_SAFE_ONELINE);
    if (!b->data)
        mail_buf_addstr(b, "");
}

static void thread_prefix(struct mail_buf *b, unsigned depth)
{
    unsigned d = depth > THREAD_INDENT_MAX ? THREAD_INDENT_MAX : depth;

    if (depth == 0)
        return;
    for (unsigned i = 1; i < d; i++)
        mail_buf_addstr(b, "  ");
    mail_buf_addstr(b, "\xe2\x94\x94\xe2\x94\x80");   /* "└─" */
}

static void print_human(struct cmd_ctx *ctx,
                        const struct mail_envelope_list *list,
                        const struct row *rows, size_t n)
{
    struct mail_buf from = MAIL_BUF_INIT, subj = MAIL_BUF_INIT;
    size_t cols = cmd_term_columns(stdout), numw = 1, datew = 1;
    bool color = cmd_use_color(ctx, stdout);
    char (*dates)[24] = calloc(n ? n : 1, sizeof *dates);
    time_t now = time(NULL);
    struct tm tm_now;

    if (!dates)
        return;
    localtime_r(&now, &tm_now);
    for (size_t k = n; k >= 10; k /= 10)
        numw++;
    for (size_t i = 0; i < n; i++) {
        size_t w;

        short_date(dates[i], sizeof dates[i], rows[i].when, &tm_now);
        w = strlen(dates[i]);
        if (w > datew)
            datew = w;
    }
    for (size_t i = 0; i < n; i++) {
        const struct mail_envelope *e = &list->v[rows[i].idx];
        size_t fixed = numw + 1 + 4 + 1 + datew + 2, fromw = FROM_COLS;
        char flags[5], *s;

        flag_letters(e, flags);
        s = decode_names(e->from, false, true);
        make_safe(&from, s && *s ? s : "(nobody)");
        free(s);
        s = decode_subject(e);
        mail_buf_reset(&subj);
        thread_prefix(&subj, rows[i].depth);
        {
            struct mail_buf t = MAIL_BUF_INIT;

            make_safe(&t, s && *s ? s : "(no subject)");
            mail_buf_add(&subj, t.data, t.len);
            mail_buf_release(&t);
        }
        free(s);
        if (!subj.data)
            mail_buf_addstr(&subj, "");

        if (color && !(e->flags & MAIL_FLAG_SEEN))
            fputs("\033[1m", stdout);
        printf("%*zu %s %-*s  ", (int)numw, i + 1, flags, (int)datew,
               dates[i]);
        if (cols) {
            /* Narrow terminals: the sender gives way first. */
            if (cols < fixed + fromw + 2 + 20)
                fromw = cols > fixed + 2 + 20 + 8 ? cols - fixed - 2 - 20
                                                  : 8;
            cmd_print_fitted(stdout, from.data, from.len, fromw, true,
                             false);
            fputs("  ", stdout);
            cmd_print_fitted(stdout, subj.data, subj.len,
                             cols > fixed + fromw + 2 + 1 ?
                             cols - fixed - fromw - 2 - 1 : 1, false, false);
        } else {
            size_t w = cmd_width(from.data, from.len);

            fwrite(from.data, 1, from.len, stdout);
            for (; w < fromw; w++)
                fputc(' ', stdout);
            fputs("  ", stdout);
            fwrite(subj.data, 1, subj.len, stdout);
        }
        if (color && !(e->flags & MAIL_FLAG_SEEN))
            fputs("\033[0m", stdout);
        fputc('\n', stdout);
    }
    free(dates);
    mail_buf_release(&from);
    mail_buf_release(&subj);
}

static void print_json(const struct mail_envelope_list *list,
                       const struct row *rows, size_t n, const char *folder)
{
    fputc('[', stdout);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ",\n  " : "\n  ", stdout);
        cmd_json_envelope(stdout, &list->v[rows[i].idx], i + 1, folder);
    }
    fputs(n ? "\n]\n" : "]\n", stdout);
}

/* Check -F FORMAT before listing: returns 0 or a usage error. */
static int check_format(const char *fmt)
{
    for (const char *p = fmt; *p; p++) {
        if (*p != '%')
            continue;
        p++;
        if (*p == '-')
            p++;
        while (*p >= '0' && *p <= '9')
            p++;
        if (*p == '.') {
            p++;
            while (*p >= '0' && *p <= '9')
                p++;
        }
        if (!*p || !strchr("nfdDFtsSi%", *p))
            return cmd_usage_error("ls", "-F: unknown conversion '%%%.1s' "
                                   "(known: %%n %%f %%d %%D %%F %%t %%s %%S "
                                   "%%i %%%%)", *p ? p : "");
    }
    return 0;
}

/* One field of -F: text (already safe) with optional width/precision. */
static void put_field(const char *s, bool left, long width, long prec)
{
    size_t len = strlen(s), w;

    if (prec >= 0)
        len = cmd_width_fit(s, len, (size_t)prec, NULL);
    w = cmd_width(s, len);
    if (!left)
        for (; width > 0 && (long)w < width; w++)
            fputc(' ', stdout);
    fwrite(s, 1, len, stdout);
    if (left)
        for (; width > 0 && (long)w < width; w++)
            fputc(' ', stdout);
}

static void print_format(const char *fmt,
                         const struct mail_envelope_list *list,
                         const struct row *rows, size_t n)
{
    struct mail_buf safe = MAIL_BUF_INIT;
    time_t now = time(NULL);
    struct tm tm_now;

    localtime_r(&now, &tm_now);
    for (size_t i = 0; i < n; i++) {
        const struct mail_envelope *e = &list->v[rows[i].idx];

        for (const char *p = fmt; *p; p++) {
            char tmp[MAIL_DATE_MAX + 24], *s = NULL;
            const char *v = tmp;
            long width = -1, prec = -1;
            bool left = false;

            if (*p == '\\' && p[1]) {
                p++;
                fputc(*p == 'n' ? '\n' : *p == 't' ? '\t' : *p, stdout);
                continue;
            }
            if (*p != '%') {
                fputc(*p, stdout);
                continue;
            }
            p++;
            if (*p == '-') {
                left = true;
                p++;
            }
            if (*p >= '0' && *p <= '9')
                width = strtol(p, (char **)&p, 10);
            if (*p == '.') {
                p++;
                prec = strtol(p, (char **)&p, 10);
            }
            tmp[0] = '\0';
            switch (*p) {
            case 'n':
                snprintf(tmp, sizeof tmp, "%zu", i + 1);
                break;
            case 'f':
                flag_letters(e, tmp);
                break;
            case 'd':
                short_date(tmp, sizeof tmp, rows[i].when, &tm_now);
                break;
            case 'D':
                if (!e->has_date || mail_date_format_rfc3339(tmp, sizeof tmp,
                        e->date, e->date_offset) < 0)
                    tmp[0] = '\0';
                break;
            case 'F':
                s = decode_names(e->from, false, true);
                break;
            case 't':
                s = decode_names(e->to, false, false);
                break;
            case 's':
                s = decode_subject(e);
                if (rows[i].depth) {
                    struct mail_buf b = MAIL_BUF_INIT;

                    thread_prefix(&b, rows[i].depth);
                    mail_buf_addstr(&b, s ? s : "");
                    free(s);
                    s = mail_buf_detach(&b);
                }
                break;
            case 'S':
                snprintf(tmp, sizeof tmp, "%llu",
                         (unsigned long long)e->size);
                break;
            case 'i':
                s = strdup(e->message_id ? e->message_id : "");
                break;
            default:            /* '%' */
                mail_strlcpy(tmp, "%", sizeof tmp);
                break;
            }
            if (s) {
                make_safe(&safe, s);
                v = safe.data;
                free(s);
            }
            put_field(v, left, width, prec);
        }
        fputc('\n', stdout);
    }
    mail_buf_release(&safe);
}

/* ---- options ---- */

/* "2026-11-01" (local midnight), or "7d", "12h", "2w" ago. */
static int parse_since(const char *s, time_t *t)
{
    char *end;
    long v;
    struct tm tm;

    if (strlen(s) == 10 && s[4] == '-' && s[7] == '-') {
        memset(&tm, 0, sizeof tm);
        tm.tm_year = atoi(s) - 1900;
        tm.tm_mon = atoi(s + 5) - 1;
        tm.tm_mday = atoi(s + 8);
        tm.tm_isdst = -1;
        if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
            tm.tm_mday > 31 || tm.tm_year < 0)
            return -1;
        *t = mktime(&tm);
        return *t == (time_t)-1 ? -1 : 0;
    }
    v = strtol(s, &end, 10);
    if (end == s || v < 0 || v > 100000 || end[0] == '\0' || end[1] != '\0')
        return -1;
    switch (*end) {
    case 'h':
        *t = time(NULL) - v * 3600;
        return 0;
    case 'd':
        *t = time(NULL) - v * 86400;
        return 0;
    case 'w':
        *t = time(NULL) - v * 7 * 86400;
        return 0;
    }
    return -1;
}

/* Is the first operand a folder rather than a query word? */
static bool looks_like_folder(const char *a)
{
    struct stat st;

    return a[0] == '=' || strchr(a, '/') || a[0] == '~' || a[0] == '.' ||
           strncmp(a, "imap:", 5) == 0 || strncmp(a, "mbox:", 5) == 0 ||
           stat(a, &st) == 0;
}

static int parse_args(struct cmd_ctx *ctx, int argc, char **argv,
                      struct ls_opts *o)
{
    static const struct option longopts[] = {
        CMD_COMMON_LONG,
        { "folder", required_argument, NULL, 'f' },
        { "unread", no_argument, NULL, OPT_UNREAD },
        { "since", required_argument, NULL, OPT_SINCE },
        { "thread", no_argument, NULL, OPT_THREAD },
        { "format", required_argument, NULL, 'F' },
        { "json", no_argument, NULL, OPT_JSON },
        { NULL, 0, NULL, 0 },
    };
    int opt, rc;
    char *end;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, CMD_COMMON_SHORT "f:n:F:ut",
                              longopts, NULL)) != -1) {
        switch (opt) {
        case 'f':
            o->folder = optarg;
            break;
        case 'n':
            o->last = strtoul(optarg, &end, 10);
            if (*end || end == optarg || o->last == 0 || optarg[0] == '-')
                return cmd_usage_error("ls", "-n takes a positive number, "
                                       "not '%s'", optarg);
            break;
        case 'u':
        case OPT_UNREAD:
            o->unread = true;
            break;
        case OPT_SINCE:
            if (parse_since(optarg, &o->since) < 0)
                return cmd_usage_error("ls", "--since takes YYYY-MM-DD or "
                                       "a time ago such as 7d, 12h, 2w; "
                                       "not '%s'", optarg);
            o->has_since = true;
            break;
        case 't':
        case OPT_THREAD:
            o->thread = true;
            break;
        case 'F':
            o->format = optarg;
            break;
        case OPT_JSON:
            o->json = true;
            break;
        case '?':
        case ':':
            if (optopt && optopt < 256)
                return cmd_usage_error("ls", "unknown option or missing "
                                       "value: -%c", optopt);
            return cmd_usage_error("ls", "unknown option or missing value: "
                                   "%s", argv[optind - 1]);
        default:
            rc = cmd_common_option(ctx, "ls", opt, optarg);
            if (rc == -1)
                return -1;
            if (rc > 1)
                return rc;
        }
    }
    if (o->json && o->format)
        return cmd_usage_error("ls", "--json and -F do not go together");
    if (o->format && (rc = check_format(o->format)) != 0)
        return rc;
    /* Options may come after the operands (getopt permutes); a query
     * word that starts with '-' goes after "--". */
    if (optind < argc && !o->folder && looks_like_folder(argv[optind]))
        o->folder = argv[optind++];
    o->query = argv + optind;
    o->nquery = argc - optind;
    return 0;
}

/* A query word that is neither a known field term nor a plain word is
 * a mistake to report, not a search that finds nothing: a field that
 * does not exist (body:x, foo:bar; searching bodies is not there yet),
 * or a second folder after the first.  Returns 0 or the exit code. */
static int check_term(const char *q)
{
    size_t i = 0;

    while ((q[i] >= 'a' && q[i] <= 'z') || (q[i] >= 'A' && q[i] <= 'Z') ||
           (q[i] >= '0' && q[i] <= '9') || q[i] == '-' || q[i] == '_')
        i++;
    if (i > 0 && q[i] == ':')
        return cmd_usage_error("ls", "unknown field '%.*s:' in the query "
                               "term '%s' (the fields are from:, to:, cc: "
                               "and subject:; a word alone searches them "
                               "all)",
                               (int)i, q, q);
    if (q[0] == '=' || q[0] == '~' || strchr(q, '/'))
        return cmd_usage_error("ls", "'%s' is not a query word: one folder "
                               "only (the first operand, or -f FOLDER), "
                               "then query words", q);
    return 0;
}

int cmd_ls(struct cmd_ctx *ctx, int argc, char **argv)
{
    struct mail_envelope_list list = MAIL_ENVELOPE_LIST_INIT;
    struct ls_opts o = { 0 };
    struct term *terms = NULL;
    struct mail_folder *f = NULL;
    struct mail_error err;
    struct row *rows = NULL;
    size_t *order = NULL, n = 0, skip;
    const char *display = NULL;
    int rc, nterms = 0;

    mail_error_clear(&err);
    rc = parse_args(ctx, argc, argv, &o);
    if (rc)
        return rc == -1 ? 0 : rc;
    if (o.nquery > 0) {
        terms = calloc((size_t)o.nquery, sizeof *terms);
        if (!terms)
            return cmd_failf(EX_OSERR, "out of memory");
        for (int i = 0; i < o.nquery; i++) {
            const char *q = o.query[i];

            terms[nterms].field = 0;
            if (mail_strncasecmp(q, "from:", 5) == 0)
                terms[nterms].field = 'f', q += 5;
            else if (mail_strncasecmp(q, "to:", 3) == 0)
                terms[nterms].field = 't', q += 3;
            else if (mail_strncasecmp(q, "cc:", 3) == 0)
                terms[nterms].field = 'c', q += 3;
            else if (mail_strncasecmp(q, "subject:", 8) == 0)
                terms[nterms].field = 's', q += 8;
            else if ((rc = check_term(q)) != 0)
                goto done;
            if (!*q)
                continue;       /* "from:" alone matches everything */
            terms[nterms].text = fold(q);
            if (!terms[nterms].text) {
                rc = cmd_failf(EX_OSERR, "out of memory");
                goto done;
            }
            nterms++;
        }
    }
    rc = cmd_open_folder(ctx, o.folder, MAIL_FOLDER_RDONLY, &f, &display);
    if (rc)
        goto done;
    if (mail_folder_list(f, &list, o.json ? MAIL_FOLDER_LIST_ATTACHMENTS : 0,
                         &err) < 0) {
        rc = cmd_fail(&err);
        goto done;
    }
    rows = calloc(list.n ? list.n : 1, sizeof *rows);
    order = calloc(list.n ? list.n : 1, sizeof *order);
    if (!rows || !order) {
        rc = cmd_failf(EX_OSERR, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < list.n; i++) {
        const struct mail_envelope *e = &list.v[i];

        if (o.unread && (e->flags & MAIL_FLAG_SEEN))
            continue;
        if (o.has_since && env_time(e) < o.since)
            continue;
        if (nterms && !match_terms(e, terms, nterms))
            continue;
        rows[n].idx = i;
        rows[n].when = env_time(e);
        n++;
    }
    /* -n: the most recent N, that is the last N delivered. */
    skip = o.last && o.last < n ? n - o.last : 0;
    if (skip) {
        memmove(rows, rows + skip, (n - skip) * sizeof *rows);
        n -= skip;
    }
    if (o.thread && thread_rows(&list, rows, n) < 0) {
        rc = cmd_failf(EX_OSERR, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        order[i] = rows[i].idx;
    if (o.json)
        print_json(&list, rows, n, display);
    else if (o.format)
        print_format(o.format, &list, rows, n);
    else
        print_human(ctx, &list, rows, n);
    rc = cmd_save_listing(f, &list, order, n);
done:
    if (f)
        mail_folder_close(f, &err);
    mail_envelope_list_release(&list);
    for (int i = 0; i < nterms; i++)
        free(terms[i].text);
    free(terms);
    free(rows);
    free(order);
    return rc;
}
