/*
 * ls.c - `mail ls`: one line per message of a folder, numbered, so that
 * `mail read 3` and friends can name messages (the numbers are saved, see
 * select.c).  Listing reads only headers (and the header cache), never
 * bodies, except that --json and has:attachment count attachments and a
 * body: query reads the text of the messages the header fields do not
 * decide.  The query language is the library's (mail/query.h), threading
 * too (mail/thread.h).
 */
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>

#include "cmd.h"
#include "mail/address.h"
#include "mail/charset.h"
#include "mail/date.h"
#include "mail/query.h"
#include "mail/rfc2047.h"
#include "mail/termsafe.h"
#include "mail/thread.h"
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
            if (mail_query_parse_time(optarg, time(NULL), &o->since) < 0)
                return cmd_usage_error("ls", "--since takes YYYY-MM-DD or "
                                       "a time ago such as 7d, 12h, 2w, "
                                       "3m, 1y; not '%s'", optarg);
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

/* Thread rows (their idx and when) in place, setting depth. */
static int thread_rows(const struct mail_envelope_list *list, struct row *rows,
                       size_t n, struct mail_error *err)
{
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    unsigned *depth = malloc((n ? n : 1) * sizeof *depth);
    int rc = -1;

    if (!idx || !depth) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        idx[i] = rows[i].idx;
    if (mail_thread(list, idx, depth, n, err) < 0)
        goto done;
    for (size_t i = 0; i < n; i++) {
        rows[i].idx = idx[i];
        rows[i].depth = depth[i];
        rows[i].when = env_time(&list->v[idx[i]]);
    }
    rc = 0;
done:
    free(idx);
    free(depth);
    return rc;
}

int cmd_ls(struct cmd_ctx *ctx, int argc, char **argv)
{
    struct mail_envelope_list list = MAIL_ENVELOPE_LIST_INIT;
    struct ls_opts o = { 0 };
    struct mail_query *q = NULL;
    struct mail_folder *f = NULL;
    struct mail_error err;
    struct row *rows = NULL;
    size_t *order = NULL, n = 0, skip;
    const char *display = NULL;
    int rc, lflags;
    bool all;

    mail_error_clear(&err);
    rc = parse_args(ctx, argc, argv, &o);
    if (rc)
        return rc == -1 ? 0 : rc;
    if (mail_query_parse(o.nquery, o.query, &q, &err) < 0)
        return err.kind == MAIL_ERR_USAGE ? cmd_usage_error("ls", "%s", err.msg)
                                          : cmd_fail(&err);
    all = mail_query_is_all(q);
    lflags = o.json || (mail_query_needs(q) & MAIL_QUERY_NEEDS_ATTACHMENTS) ?
             MAIL_FOLDER_LIST_ATTACHMENTS : 0;
    rc = cmd_open_folder(ctx, o.folder, MAIL_FOLDER_RDONLY, &f, &display);
    if (rc)
        goto done;
    if (mail_folder_list(f, &list, lflags, &err) < 0) {
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
        int m;

        if (o.unread && (e->flags & MAIL_FLAG_SEEN))
            continue;
        if (o.has_since && env_time(e) < o.since)
            continue;
        if (!all && (m = mail_query_match(q, e, -1, f, &err)) <= 0) {
            if (m == 0)
                continue;
            rc = cmd_fail(&err);
            goto done;
        }
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
    if (o.thread && thread_rows(&list, rows, n, &err) < 0) {
        rc = cmd_fail(&err);
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
    mail_query_free(q);
    free(rows);
    free(order);
    return rc;
}
