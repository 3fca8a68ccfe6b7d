/*
 * ls.c - `mail ls`: one line per message of a folder, numbered, so that
 * `mail read 3` and friends can name messages (the numbers are saved, see
 * select.c).  Listing reads only headers (and the header cache), never
 * bodies, except that --json and has:attachment count attachments and a
 * body: query reads the text of the messages the header fields do not
 * decide.  The query language is the library's (mail/query.h), threading
 * too (mail/thread.h).
 */
#include <errno.h>
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
#include "mail/indexrow.h"
#include "mail/query.h"
#include "mail/sort.h"
#include "mail/rfc2047.h"
#include "mail/termsafe.h"
#include "mail/thread.h"
#include "select.h"
#include "width.h"

enum { OPT_UNREAD = OPT_FIRST_COMMAND_OPTION, OPT_SINCE, OPT_THREAD };

/* -S: the order of the listing (default: delivery). */

struct ls_opts {
    const char *folder;
    size_t last;             /* -n; 0: all */
    bool unread;
    bool has_since;
    time_t since;
    bool thread;
    enum mail_sort_key sort; /* -S */
    bool reverse;            /* -r */
    const char *format;      /* -F */
    bool json;
    char **query;
    int nquery;
};

/* What the listing shows of one message, decoded to UTF-8. */
struct row {
    size_t idx;              /* into the envelope list */
    time_t when;             /* Date:, else delivery */
    unsigned depth;          /* in a thread */
    /* The date column (mail_short_date, at most 10 bytes), made in
     * delivery order before -S or --thread reorder the rows: its cache
     * of the last day formatted then hits for most rows (in a random
     * order each row cost a localtime_r) */
    unsigned char datelen;
    char date[11];
};

/* rows[i]'s date column. */
static void format_dates(struct row *rows, size_t n,
                         struct mail_short_dates *dt)
{
    for (size_t i = 0; i < n; i++) {
        char tmp[16];
        size_t len = mail_short_date(dt, rows[i].when, tmp);

        if (len > sizeof rows[i].date)
            len = sizeof rows[i].date;
        memcpy(rows[i].date, tmp, len);
        rows[i].datelen = (unsigned char)len;
    }
}

/* ---- decoding ---- */

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

/* s made terminal-safe into b (reset first). */
static void make_safe(struct mail_buf *b, const char *s)
{
    mail_buf_reset(b);
    mail_term_safe(b, s ? s : "", s ? strlen(s) : 0, MAIL_SAFE_ONELINE);
    if (!b->data)
        mail_buf_addstr(b, "");
}

/* The sender as shown (terminal-safe), into tmp when it must be decoded. */
static const char *shown_from(const struct mail_envelope *e,
                              struct mail_buf *tmp)
{
    char *s;

    if (e->from_display || e->borrowed)
        return e->from_display ? e->from_display : "";
    s = decode_names(e->from, false, true);
    make_safe(tmp, s ? s : "");
    free(s);
    return tmp->data;
}

static const char *shown_subject(const struct mail_envelope *e,
                                 struct mail_buf *tmp)
{
    char *s;

    if (e->subject_display || e->borrowed)
        return e->subject_display ? e->subject_display : "";
    s = decode_subject(e);
    make_safe(tmp, s ? s : "");
    free(s);
    return tmp->data;
}

/* How far ahead print_human fetches what a row reads. */
#define PREFETCH_ROWS 8

static void prefetch_envelope(const struct mail_envelope *e)
{
    for (size_t k = 0; k < sizeof *e; k += 64)
        __builtin_prefetch((const char *)e + k);
    __builtin_prefetch((const char *)e + sizeof *e - 1);
}

static void prefetch_strings(const struct mail_envelope *e)
{
    if (e->from_display)
        __builtin_prefetch(e->from_display);
    if (e->subject_display)
        __builtin_prefetch(e->subject_display);
    if (e->content_type)     /* the attachment mark (mail_index_flags) */
        __builtin_prefetch(e->content_type);
}

/* Returns 0, or the errno of a failed write (then it stops). */
static int print_human(struct cmd_ctx *ctx,
                       const struct mail_envelope_list *list,
                       const struct row *rows, size_t n,
                       const struct mail_short_dates *dt)
{
    int werr = 0;
    struct mail_buf out = MAIL_BUF_INIT, from = MAIL_BUF_INIT,
                    subj = MAIL_BUF_INIT;
    size_t cols = cmd_term_columns(stdout), datew = 5;
    bool color = cmd_use_color(ctx, stdout);
    struct mail_index_layout lay;

    for (size_t i = 0; i < n && datew < 10; i++) {
        size_t w = mail_short_date_width(dt, rows[i].when);

        if (w > datew)
            datew = w;
    }
    mail_index_layout_init(&lay, cols, n, datew);
    mail_buf_reserve(&out, 1 << 16);
    for (size_t i = 0; i < n; i++) {
        const struct mail_envelope *e = &list->v[rows[i].idx];
        struct mail_buf tree = MAIL_BUF_INIT;
        char flags[5];

        /* -S and --thread visit the envelopes and their strings out of
         * order: fetch them ahead (a row is ~1 us; a miss ~0.1-0.3) */
        if (i + 2 * PREFETCH_ROWS < n)
            prefetch_envelope(&list->v[rows[i + 2 * PREFETCH_ROWS].idx]);
        if (i + PREFETCH_ROWS < n)
            prefetch_strings(&list->v[rows[i + PREFETCH_ROWS].idx]);
        bool bold = color && !(e->flags & MAIL_FLAG_SEEN);

        if (bold)
            mail_buf_add(&out, "\033[1m", 4);
        mail_index_flags(e->flags, mail_envelope_attach_mark(e), flags);
        mail_index_thread_prefix(&tree, rows[i].depth);
        mail_index_row(&out, &lay, &(struct mail_index_fields){
            .number = i + 1, .flags = flags, .date = rows[i].date,
            .datelen = rows[i].datelen,
            .from = shown_from(e, &from), .subject = shown_subject(e, &subj),
            .tree = tree.data });
        mail_buf_release(&tree);
        if (bold)
            mail_buf_add(&out, "\033[0m", 4);
        mail_buf_addch(&out, '\n');
        if (out.len >= (1 << 16) - 1024) {
            if (fwrite(out.data, 1, out.len, stdout) != out.len) {
                werr = errno;
                break;
            }
            mail_buf_reset(&out);
        }
    }
    if (!werr && out.len && fwrite(out.data, 1, out.len, stdout) != out.len)
        werr = errno;
    mail_buf_release(&out);
    mail_buf_release(&from);
    mail_buf_release(&subj);
    return werr;
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
                mail_index_flags(e->flags, mail_envelope_attach_mark(e), tmp);
                break;
            case 'd':
                memcpy(tmp, rows[i].date, rows[i].datelen);
                tmp[rows[i].datelen] = '\0';
                break;
            case 'D':
                if (!e->has_date || mail_date_format_rfc3339(tmp, sizeof tmp,
                        e->date, e->date_offset) < 0)
                    tmp[0] = '\0';
                break;
            case 'F':
                if (e->from_display || e->borrowed)
                    v = e->from_display ? e->from_display : "";
                else
                    s = decode_names(e->from, false, true);
                break;
            case 't':
                s = decode_names(e->to, false, false);
                break;
            case 's':
                if (!rows[i].depth &&
                    (e->subject_display || e->borrowed)) {
                    v = e->subject_display ? e->subject_display : "";
                    break;
                }
                s = decode_subject(e);
                if (rows[i].depth) {
                    struct mail_buf b = MAIL_BUF_INIT;

                    mail_index_thread_prefix(&b, rows[i].depth);
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
        { "sort", required_argument, NULL, 'S' },
        { "reverse", no_argument, NULL, 'r' },
        { "format", required_argument, NULL, 'F' },
        { "json", no_argument, NULL, OPT_JSON },
        { NULL, 0, NULL, 0 },
    };
    int opt, rc;
    char *end;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, CMD_COMMON_SHORT "f:n:F:S:rut",
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
        case 'S':
            if (mail_sort_key_parse(optarg, &o->sort) < 0)
                return cmd_usage_error("ls", "-S takes date, from, subject "
                                       "or size; not '%s'", optarg);
            break;
        case 'r':
            o->reverse = true;
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
    if (o->thread && (o->sort != MAIL_SORT_NONE || o->reverse))
        return cmd_usage_error("ls", "--thread has its own order: not with "
                               "-S or -r");
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

/* ---- -S and -r ---- */

/* Put rows[0..n) (distinct list positions) in the order idx[0..n) gives,
 * each row with its date column; depth[k] (when not NULL) the depth of
 * the row now at k.  nlist: the list's length. */
static int reorder_rows(struct row *rows, size_t n, const size_t *idx,
                        const unsigned *depth, size_t nlist,
                        struct mail_error *err)
{
    struct row *old = malloc((n ? n : 1) * sizeof *old);
    size_t *pos = malloc((nlist ? nlist : 1) * sizeof *pos);

    if (!old || !pos) {
        free(old);
        free(pos);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    memcpy(old, rows, n * sizeof *rows);
    for (size_t i = 0; i < n; i++)
        pos[old[i].idx] = i;
    for (size_t k = 0; k < n; k++) {
        rows[k] = old[pos[idx[k]]];
        if (depth)
            rows[k].depth = depth[k];
    }
    free(old);
    free(pos);
    return 0;
}

/* Order rows by -S and -r. */
static int sort_rows(const struct mail_envelope_list *list, struct row *rows,
                     size_t n, enum mail_sort_key key, bool reverse,
                     struct mail_error *err)
{
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    int rc;

    if (!idx)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++)
        idx[i] = rows[i].idx;
    rc = mail_sort(list, idx, n, key, reverse, err);
    if (rc == 0)
        rc = reorder_rows(rows, n, idx, NULL, list->n, err);
    free(idx);
    return rc;
}

/* Thread rows in place, setting depth. */
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
    rc = reorder_rows(rows, n, idx, depth, list->n, err);
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
    int werr = 0;
    struct mail_short_dates dt;

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
    /* BORROW: the strings stay in the folder's mapped cache (no copy per
     * message) and come with their display forms; the list is not used
     * after the folder is closed. */
    /* Without a filter, -n needs the last N envelopes only (Maildir
     * builds no others); a listing that shows rows (also with -S) needs
     * only what a row shows (DISPLAY: the cache's raw headers unread),
     * and --thread the threading headers too (THREAD: read from their own
     * block of the cache, the other raw headers still unread). */
    if (!o.json && !o.format && all)
        lflags |= MAIL_FOLDER_LIST_DISPLAY |
                  (o.thread ? MAIL_FOLDER_LIST_THREAD : 0);
    if (mail_folder_list_last(f, &list,
                              all && !o.unread && !o.has_since ? o.last : 0,
                              lflags | MAIL_FOLDER_LIST_BORROW, &err) < 0) {
        rc = cmd_fail(&err);
        goto done;
    }
    rows = calloc(list.n ? list.n : 1, sizeof *rows);
    order = calloc(list.n ? list.n : 1, sizeof *order);
    if (!rows || !order) {
        rc = cmd_failf(EX_SOFTWARE, "out of memory");
        goto done;
    }
    /* --unread and --since first: the query may read bodies */
    for (size_t i = 0; i < list.n; i++) {
        const struct mail_envelope *e = &list.v[i];

        if (o.unread && (e->flags & MAIL_FLAG_SEEN))
            continue;
        if (o.has_since && mail_envelope_when(e) < o.since)
            continue;
        order[n++] = i;
    }
    if (mail_query_select(q, f, &list, order, &n, NULL, &err) < 0) {
        rc = cmd_fail(&err);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        rows[i].idx = order[i];
        rows[i].when = mail_envelope_when(&list.v[order[i]]);
    }
    /* -n: the most recent N, that is the last N delivered. */
    skip = o.last && o.last < n ? n - o.last : 0;
    if (skip) {
        memmove(rows, rows + skip, (n - skip) * sizeof *rows);
        n -= skip;
    }
    if (!o.json) {
        mail_short_dates_init(&dt, time(NULL));
        format_dates(rows, n, &dt);
    }
    if (o.thread && thread_rows(&list, rows, n, &err) < 0) {
        rc = cmd_fail(&err);
        goto done;
    }
    /* -S and -r order the messages -n chose */
    if ((o.sort != MAIL_SORT_NONE || o.reverse) &&
        sort_rows(&list, rows, n, o.sort, o.reverse, &err) < 0) {
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
        werr = print_human(ctx, &list, rows, n, &dt);
    /* main reports a failed write (not EPIPE: a reader that went away, as
     * with | head) from errno after ferror(stdout): keep the write's errno
     * past the saving below. */
    if (!werr && (fflush(stdout) != 0 || ferror(stdout)))
        werr = errno;
    rc = cmd_save_listing(f, &list, order, n);
done:
    if (f)
        mail_folder_close(f, &err);
    mail_envelope_list_release(&list);
    mail_query_free(q);
    free(rows);
    free(order);
    if (werr)
        errno = werr;
    return rc;
}
