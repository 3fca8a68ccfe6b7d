/*
 * query.c - the query language of mail/query.h: argv words to an AST,
 * evaluated on an envelope (and the body only when the header fields do
 * not decide), or rendered as IMAP SEARCH keys.
 *
 * The AST is an array of nodes; AND and OR are n-ary, their children a
 * run of q->kids, so that a long list of words costs no recursion depth.
 * Nesting (parentheses and NOT) is bounded by QUERY_DEPTH_MAX, which
 * bounds every recursion below.
 */
#include <errno.h>
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wctype.h>

#include "mail/address.h"
#include "mail/charset.h"
#include "mail/html.h"
#include "mail/mime.h"
#include "mail/query.h"
#include "mail/readable.h"
#include "mail/rfc2047.h"
#include "mail/sort.h"
#include "mail/termsafe.h"

#define QUERY_DEPTH_MAX 64
#define QUERY_WORD_SHOW 40      /* bytes of a word quoted in an error */

enum qkind {
    Q_ALL,          /* matches everything ("from:" with no text) */
    Q_AND, Q_OR, Q_NOT,
    Q_ANY,          /* a bare word: from, to, cc or subject */
    Q_FROM, Q_TO, Q_CC, Q_SUBJECT, Q_BODY,
    Q_SINCE, Q_BEFORE, Q_LARGER, Q_SMALLER,
    Q_FLAG,         /* flag set */
    Q_NOFLAG,       /* flag not set */
    Q_ATTACH,
};

struct qnode {
    enum qkind kind;
    size_t first, count;   /* AND, OR: kids[first..first+count); NOT: 1 */
    char *text;            /* text fields: folded, whitespace as is */
    char *raw;             /* text fields: as given (unquoted), for IMAP */
    time_t t;              /* SINCE, BEFORE */
    uint64_t n;            /* LARGER, SMALLER */
    unsigned flag;         /* FLAG, NOFLAG: MAIL_FLAG_* */
    size_t body;           /* BODY: index into the body needles */
};

struct mail_query {
    struct qnode *v;
    size_t n, alloc;
    size_t *kids;
    size_t nkids, akids;
    size_t root;
    size_t nbody;          /* BODY nodes; numbered in node order */
    char **needles;        /* body needles: folded */
    locale_t loc;          /* for towlower; (locale_t)0: ASCII only */
    time_t now;
};

/* ---- tokens ---- */

enum tkind { T_TERM, T_LP, T_RP, T_OR, T_AND, T_NOT };

struct token {
    enum tkind kind;
    int word;              /* 1-based argv position */
    const char *s;         /* T_TERM: the term, s[0..len) */
    size_t len;
};

struct parser {
    struct mail_query *q;
    struct token *t;
    size_t nt, pos;
    int nwords;
    struct mail_error *err;
};

static int nomem(struct mail_error *err)
{
    return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
}

/* ---- case folding ---- */

/* Lowercase UTF-8 (towlower in loc; ASCII only without one; invalid bytes
 * kept) appended to b.  White space is kept as it is: BODY in IMAP
 * SEARCH is a plain substring, and a local search finds what the server
 * finds. */
static int fold_into(struct mail_buf *b, const char *s, size_t len,
                     locale_t loc)
{
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp;
        size_t n;

        n = c < 0x80 ? 0 : mail_utf8_decode(s + i, len - i, &cp);
        if (n == 0 || !loc) {
            if (mail_buf_addch(b, (char)(c >= 'A' && c <= 'Z' ? c + 32 : c))
                < 0)
                return -1;
            i++;
            continue;
        }
        if (mail_utf8_put(b, (uint32_t)towlower_l((wint_t)cp, loc)) < 0)
            return -1;
        i += n;
    }
    return 0;
}

static char *fold(const char *s, size_t len, locale_t loc)
{
    struct mail_buf b = MAIL_BUF_INIT;

    if (fold_into(&b, s, len, loc) < 0 ||
        mail_buf_addstr(&b, "") < 0) {
        mail_buf_release(&b);
        return NULL;
    }
    return mail_buf_detach(&b);
}

/* ---- times and sizes ---- */

int mail_query_parse_time(const char *s, time_t now, time_t *t)
{
    char *end;
    long v;
    int mon;
    struct tm tm;

    if (strlen(s) == 10 && s[4] == '-' && s[7] == '-') {
        for (int i = 0; i < 10; i++)
            if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
                return -1;
        memset(&tm, 0, sizeof tm);
        tm.tm_year = atoi(s) - 1900;
        tm.tm_mon = atoi(s + 5) - 1;
        tm.tm_mday = atoi(s + 8);
        tm.tm_isdst = -1;
        if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
            tm.tm_mday > 31 || tm.tm_year < 0)
            return -1;
        mon = tm.tm_mon;
        *t = mktime(&tm);
        /* mktime makes 2025-02-30 into 2 March: no such day */
        return *t == (time_t)-1 || tm.tm_mon != mon ? -1 : 0;
    }
    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || v < 0 || v > 100000 || end[0] == '\0' || end[1] != '\0')
        return -1;
    switch (*end) {
    case 'h':
        *t = now - (time_t)v * 3600;
        return 0;
    case 'd':
        *t = now - (time_t)v * 86400;
        return 0;
    case 'w':
        *t = now - (time_t)v * 7 * 86400;
        return 0;
    case 'm':
    case 'y':
        if (!localtime_r(&now, &tm))
            return -1;
        if (*end == 'm')
            tm.tm_mon -= (int)v;
        else
            tm.tm_year -= (int)v;
        tm.tm_isdst = -1;
        *t = mktime(&tm);
        return *t == (time_t)-1 ? -1 : 0;
    }
    return -1;
}

/* "1500", "10k", "2M", "1G" (1024s). */
static int parse_size(const char *s, uint64_t *n)
{
    uint64_t v = 0, mul = 1;
    const char *p = s;

    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    switch (*p) {
    case '\0':
        break;
    case 'k': case 'K':
        mul = 1024;
        break;
    case 'm': case 'M':
        mul = 1024 * 1024;
        break;
    case 'g': case 'G':
        mul = 1024 * 1024 * 1024;
        break;
    default:
        return -1;
    }
    if (*p && p[1])
        return -1;
    if (v > UINT64_MAX / mul)
        return -1;
    *n = v * mul;
    return 0;
}

/* ---- the tree ---- */

static long add_node(struct mail_query *q, enum qkind kind,
                     struct mail_error *err)
{
    if (q->n == q->alloc) {
        size_t na = q->alloc ? q->alloc * 2 : 16;
        struct qnode *v = realloc(q->v, na * sizeof *v);

        if (!v)
            return nomem(err);
        q->v = v;
        q->alloc = na;
    }
    memset(&q->v[q->n], 0, sizeof q->v[q->n]);
    q->v[q->n].kind = kind;
    return (long)q->n++;
}

/* Append kids[0..n) to q->kids; the index of the first, or -1. */
static long push_kids(struct mail_query *q, const size_t *kids, size_t n,
                      struct mail_error *err)
{
    long first = (long)q->nkids;

    if (q->nkids + n > q->akids) {
        size_t na = q->akids ? q->akids * 2 : 16;
        size_t *v;

        while (na < q->nkids + n)
            na *= 2;
        v = realloc(q->kids, na * sizeof *v);
        if (!v)
            return nomem(err);
        q->kids = v;
        q->akids = na;
    }
    memcpy(q->kids + q->nkids, kids, n * sizeof *kids);
    q->nkids += n;
    return first;
}

/* A node of kind over kids[0..n): AND and OR of one kid are the kid. */
static long add_list(struct mail_query *q, enum qkind kind, const size_t *kids,
                     size_t n, struct mail_error *err)
{
    long id, first;

    if (n == 1 && kind != Q_NOT)
        return (long)kids[0];
    if ((first = push_kids(q, kids, n, err)) < 0)
        return -1;
    if ((id = add_node(q, kind, err)) < 0)
        return -1;
    q->v[id].first = (size_t)first;
    q->v[id].count = n;
    return id;
}

void mail_query_free(struct mail_query *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->n; i++) {
        free(q->v[i].text);
        free(q->v[i].raw);
    }
    free(q->v);
    free(q->kids);
    free(q->needles);
    if (q->loc)
        freelocale(q->loc);
    free(q);
}

/* ---- lexing ---- */

static int synerr(struct parser *p, int word, const char *fmt, ...)
    MAIL_PRINTF(3, 4);

static int synerr(struct parser *p, int word, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    mail_error_setv(p->err, MAIL_ERR_USAGE, fmt, ap);
    va_end(ap);
    mail_error_prefix(p->err, "query");
    if (word > 0) {
        size_t l = strlen(p->err->msg);

        mail_snprintf(p->err->msg + l, sizeof p->err->msg - l, " (word %d)",
                      word);
    }
    return -1;
}

static int add_token(struct parser *p, enum tkind kind, int word,
                     const char *s, size_t len)
{
    if (p->nt % 64 == 0) {
        struct token *t = realloc(p->t, (p->nt + 64) * sizeof *t);

        if (!t)
            return nomem(p->err);
        p->t = t;
    }
    p->t[p->nt++] = (struct token){ kind, word, s, len };
    return 0;
}

static bool is_op(const char *s, size_t len, enum tkind *k)
{
    if (len == 2 && memcmp(s, "OR", 2) == 0)
        *k = T_OR;
    else if (len == 3 && memcmp(s, "AND", 3) == 0)
        *k = T_AND;
    else if (len == 3 && memcmp(s, "NOT", 3) == 0)
        *k = T_NOT;
    else
        return false;
    return true;
}

/* One argv word: leading '(' and trailing ')' (outside quotes) are tokens
 * of their own; what is between is an operator or a term. */
static int lex_word(struct parser *p, const char *w, int word)
{
    size_t len = strlen(w), a = 0, z, nrp = 0;
    bool inq = false;
    enum tkind k;

    while (a < len && w[a] == '(') {
        if (add_token(p, T_LP, word, w + a, 1) < 0)
            return -1;
        a++;
    }
    for (size_t i = a; i < len; i++) {
        if (inq && w[i] == '\\' && i + 1 < len)
            i++;
        else if (w[i] == '"')
            inq = !inq;
    }
    if (inq)
        return synerr(p, word, "unterminated quote in '%.*s'",
                      QUERY_WORD_SHOW, w);
    z = len;
    while (z > a && w[z - 1] == ')' && (z < 2 || w[z - 2] != '\\')) {
        z--;
        nrp++;
    }
    if (z > a) {
        if (is_op(w + a, z - a, &k)) {
            if (add_token(p, k, word, w + a, z - a) < 0)
                return -1;
        } else if (add_token(p, T_TERM, word, w + a, z - a) < 0) {
            return -1;
        }
    }
    for (size_t i = 0; i < nrp; i++)
        if (add_token(p, T_RP, word, w + z + i, 1) < 0)
            return -1;
    return 0;
}

/* s[0..len) without its quotes (a backslash in quotes escapes the next
 * character); malloc'd. */
static char *unquote(const char *s, size_t len, bool *quoted)
{
    char *r = malloc(len + 1);
    size_t n = 0;
    bool inq = false;

    if (!r)
        return NULL;
    *quoted = false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"') {
            inq = !inq;
            *quoted = true;
        } else if (inq && s[i] == '\\' && i + 1 < len) {
            r[n++] = s[++i];
        } else {
            r[n++] = s[i];
        }
    }
    r[n] = '\0';
    return r;
}

/* ---- terms ---- */

static const struct {
    const char *name;
    enum qkind kind;
} fields[] = {
    { "from", Q_FROM }, { "to", Q_TO }, { "cc", Q_CC },
    { "subject", Q_SUBJECT }, { "body", Q_BODY },
    { "since", Q_SINCE }, { "before", Q_BEFORE },
    { "larger", Q_LARGER }, { "smaller", Q_SMALLER },
    { "flag", Q_FLAG }, { "has", Q_ATTACH },
};

static const struct {
    const char *name;
    unsigned flag;
    bool set;
} flag_words[] = {
    { "seen", MAIL_FLAG_SEEN, true }, { "unseen", MAIL_FLAG_SEEN, false },
    { "read", MAIL_FLAG_SEEN, true }, { "unread", MAIL_FLAG_SEEN, false },
    { "flagged", MAIL_FLAG_FLAGGED, true },
    { "unflagged", MAIL_FLAG_FLAGGED, false },
    { "answered", MAIL_FLAG_ANSWERED, true },
    { "unanswered", MAIL_FLAG_ANSWERED, false },
    { "draft", MAIL_FLAG_DRAFT, true },
    { "deleted", MAIL_FLAG_DELETED, true },
};

static long parse_term(struct parser *p, const struct token *tk)
{
    struct mail_query *q = p->q;
    const char *s = tk->s;
    size_t len = tk->len, i = 0;
    enum qkind kind = Q_ANY;
    char *val;
    bool quoted;
    long id;

    while (i < len && ((s[i] >= 'a' && s[i] <= 'z') ||
                       (s[i] >= 'A' && s[i] <= 'Z') ||
                       (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
                       s[i] == '_'))
        i++;
    if (i > 0 && i < len && s[i] == ':') {
        size_t f;

        for (f = 0; f < sizeof fields / sizeof fields[0]; f++)
            if (strlen(fields[f].name) == i &&
                mail_strncasecmp(s, fields[f].name, i) == 0)
                break;
        if (f == sizeof fields / sizeof fields[0])
            return synerr(p, tk->word, "unknown field '%.*s:' in the query "
                          "term '%.*s' (the fields are from: to: cc: "
                          "subject: body: since: before: larger: smaller: "
                          "flag: has:; a word alone searches from, to, cc "
                          "and subject)", (int)i, s,
                          (int)(len < 200 ? len : 200), s);
        kind = fields[f].kind;
        s += i + 1;
        len -= i + 1;
    } else if (s[0] == '=' || s[0] == '~' || memchr(s, '/', len)) {
        return synerr(p, tk->word, "'%.*s' is not a query word: one folder "
                      "only (the first operand, or -f FOLDER), then query "
                      "words", (int)(len < 200 ? len : 200), s);
    }
    val = unquote(s, len, &quoted);
    if (!val)
        return nomem(p->err);
    if (!*val && kind <= Q_BODY) {
        free(val);
        return add_node(q, Q_ALL, p->err);
    }
    if ((id = add_node(q, kind, p->err)) < 0) {
        free(val);
        return -1;
    }
    switch (kind) {
    case Q_SINCE:
    case Q_BEFORE:
        if (mail_query_parse_time(val, q->now, &q->v[id].t) < 0) {
            synerr(p, tk->word, "%s: takes a date YYYY-MM-DD or a time ago "
                   "such as 12h, 7d, 2w, 3m, 1y; not '%.*s'",
                   kind == Q_SINCE ? "since" : "before", QUERY_WORD_SHOW,
                   val);
            free(val);
            return -1;
        }
        break;
    case Q_LARGER:
    case Q_SMALLER:
        if (parse_size(val, &q->v[id].n) < 0) {
            synerr(p, tk->word, "%s: takes a size in bytes, or with k, M or "
                   "G (10k, 2M); not '%.*s'",
                   kind == Q_LARGER ? "larger" : "smaller", QUERY_WORD_SHOW,
                   val);
            free(val);
            return -1;
        }
        break;
    case Q_FLAG: {
        size_t f;

        for (f = 0; f < sizeof flag_words / sizeof flag_words[0]; f++)
            if (mail_strcasecmp(val, flag_words[f].name) == 0)
                break;
        if (f == sizeof flag_words / sizeof flag_words[0]) {
            synerr(p, tk->word, "flag: takes seen, unseen, flagged, "
                   "unflagged, answered, unanswered, draft or deleted; not "
                   "'%.*s'", QUERY_WORD_SHOW, val);
            free(val);
            return -1;
        }
        q->v[id].flag = flag_words[f].flag;
        q->v[id].kind = flag_words[f].set ? Q_FLAG : Q_NOFLAG;
        break;
    }
    case Q_ATTACH:
        if (mail_strcasecmp(val, "attachment") != 0 &&
            mail_strcasecmp(val, "attachments") != 0) {
            synerr(p, tk->word, "has: takes attachment; not '%.*s'",
                   QUERY_WORD_SHOW, val);
            free(val);
            return -1;
        }
        break;
    default:
        q->v[id].raw = val;
        q->v[id].text = fold(val, strlen(val), q->loc);
        if (!q->v[id].text)
            return nomem(p->err);
        if (kind == Q_BODY)
            q->v[id].body = q->nbody++;
        return id;
    }
    free(val);
    return id;
}

/* ---- parsing ---- */

static long parse_or(struct parser *p, int depth);

static const struct token *peek(struct parser *p)
{
    return p->pos < p->nt ? &p->t[p->pos] : NULL;
}

/* How a token is named in a message. */
static void token_name(const struct token *t, char *buf, size_t size)
{
    mail_snprintf(buf, size, "%.*s", (int)(t->len < QUERY_WORD_SHOW ?
                  t->len : QUERY_WORD_SHOW), t->s);
}

static long parse_unary(struct parser *p, int depth)
{
    const struct token *t = peek(p), *prev;
    char name[QUERY_WORD_SHOW + 8];
    long sub;

    if (depth > QUERY_DEPTH_MAX)
        return synerr(p, t ? t->word : p->nwords, "nested too deeply "
                      "(more than %d parentheses and NOTs)", QUERY_DEPTH_MAX);
    if (!t) {
        prev = &p->t[p->pos - 1];
        token_name(prev, name, sizeof name);
        return synerr(p, prev->word, "expected a term after '%s'", name);
    }
    switch (t->kind) {
    case T_TERM:
        p->pos++;
        return parse_term(p, t);
    case T_NOT:
        p->pos++;
        if ((sub = parse_unary(p, depth + 1)) < 0)
            return -1;
        {
            size_t kid = (size_t)sub;

            return add_list(p->q, Q_NOT, &kid, 1, p->err);
        }
    case T_LP:
        p->pos++;
        if (peek(p) && peek(p)->kind == T_RP)
            return synerr(p, t->word, "empty parentheses '()'");
        if ((sub = parse_or(p, depth + 1)) < 0)
            return -1;
        if (!peek(p) || peek(p)->kind != T_RP) {
            prev = &p->t[p->pos - 1];
            token_name(prev, name, sizeof name);
            return synerr(p, prev->word, "expected ')' after '%s'", name);
        }
        p->pos++;
        return sub;
    case T_RP:
        return synerr(p, t->word, "unexpected ')'");
    default:
        token_name(t, name, sizeof name);
        return synerr(p, t->word, "'%s' needs a term before it", name);
    }
}

/* The children of one AND or OR node being parsed: on the stack while
 * they are few (the usual query), else on the heap. */
struct kids {
    size_t stack[16], *v, n, cap;
};

static void kids_init(struct kids *k)
{
    k->v = k->stack;
    k->n = 0;
    k->cap = sizeof k->stack / sizeof k->stack[0];
}

static int kids_push(struct kids *k, long id, struct mail_error *err)
{
    if (k->n == k->cap) {
        size_t *nk = malloc(k->cap * 2 * sizeof *nk);

        if (!nk)
            return nomem(err);
        memcpy(nk, k->v, k->n * sizeof *nk);
        if (k->v != k->stack)
            free(k->v);
        k->v = nk;
        k->cap *= 2;
    }
    k->v[k->n++] = (size_t)id;
    return 0;
}

/* The node of kind over the children; -1 when failed (err set before). */
static long kids_finish(struct parser *p, struct kids *k, enum qkind kind,
                        bool failed)
{
    long id = failed ? -1 : add_list(p->q, kind, k->v, k->n, p->err);

    if (k->v != k->stack)
        free(k->v);
    return id;
}

/* Terms and NOTs side by side (or with AND between them). */
static long parse_and(struct parser *p, int depth)
{
    struct kids k;
    const struct token *t;
    long id;

    kids_init(&k);
    for (;;) {
        if ((id = parse_unary(p, depth)) < 0 ||
            kids_push(&k, id, p->err) < 0)
            return kids_finish(p, &k, Q_AND, true);
        t = peek(p);
        if (!t || t->kind == T_OR || t->kind == T_RP)
            break;
        if (t->kind == T_AND) {
            p->pos++;
            if (!peek(p)) {
                synerr(p, t->word, "expected a term after 'AND'");
                return kids_finish(p, &k, Q_AND, true);
            }
        }
    }
    return kids_finish(p, &k, Q_AND, false);
}

static long parse_or(struct parser *p, int depth)
{
    struct kids k;
    const struct token *t;
    long id;

    kids_init(&k);
    for (;;) {
        if ((id = parse_and(p, depth)) < 0 ||
            kids_push(&k, id, p->err) < 0)
            return kids_finish(p, &k, Q_OR, true);
        t = peek(p);
        if (!t || t->kind != T_OR)
            break;
        p->pos++;
        if (!peek(p)) {
            synerr(p, t->word, "expected a term after 'OR'");
            return kids_finish(p, &k, Q_OR, true);
        }
    }
    return kids_finish(p, &k, Q_OR, false);
}

static int collect_needles(struct mail_query *q, struct mail_error *err)
{
    if (!q->nbody)
        return 0;
    q->needles = calloc(q->nbody, sizeof *q->needles);
    if (!q->needles)
        return nomem(err);
    for (size_t i = 0; i < q->n; i++)
        if (q->v[i].kind == Q_BODY)
            q->needles[q->v[i].body] = q->v[i].text;
    return 0;
}

int mail_query_parse_at(int argc, char *const *argv, time_t now,
                        struct mail_query **out, struct mail_error *err)
{
    struct parser p = { 0 };
    struct mail_query *q = calloc(1, sizeof *q);
    long root;

    *out = NULL;
    if (!q)
        return nomem(err);
    q->now = now;
    q->loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    if (!q->loc)
        q->loc = newlocale(LC_CTYPE_MASK, "en_US.UTF-8", (locale_t)0);
    p.q = q;
    p.err = err;
    p.nwords = argc;
    for (int i = 0; i < argc; i++)
        if (lex_word(&p, argv[i], i + 1) < 0)
            goto fail;
    if (p.nt == 0) {
        root = add_node(q, Q_ALL, err);
    } else {
        root = parse_or(&p, 0);
        if (root >= 0 && p.pos < p.nt) {
            /* Only a ')' stops parse_or early. */
            synerr(&p, p.t[p.pos].word, "unexpected ')' without a '(' "
                   "before it");
            goto fail;
        }
    }
    if (root < 0 || collect_needles(q, err) < 0)
        goto fail;
    q->root = (size_t)root;
    free(p.t);
    *out = q;
    return 0;
fail:
    free(p.t);
    mail_query_free(q);
    return -1;
}

int mail_query_parse(int argc, char *const *argv, struct mail_query **q,
                     struct mail_error *err)
{
    return mail_query_parse_at(argc, argv, time(NULL), q, err);
}

/* The words of s: split at blanks (space, tab) outside double quotes, the
 * quotes staying in the word as the lexer reads them.  *argv (malloc'd,
 * NULL-terminated, each word malloc'd) and *argc; -1 when out of
 * memory. */
static int split_words(const char *s, char ***argv, int *argc)
{
    char **v = NULL;
    int n = 0;

    while (*s) {
        const char *b;
        bool q = false;
        char **nv;

        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s)
            break;
        b = s;
        for (; *s && (q || (*s != ' ' && *s != '\t')); s++)
            if (*s == '"')
                q = !q;
        if (!(nv = realloc(v, (size_t)(n + 2) * sizeof *v)))
            goto fail;
        v = nv;
        if (!(v[n] = strndup(b, (size_t)(s - b))))
            goto fail;
        v[++n] = NULL;
    }
    *argv = v;
    *argc = n;
    return 0;
fail:
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
    return -1;
}

int mail_query_parse_string_at(const char *s, time_t now,
                               struct mail_query **q, struct mail_error *err)
{
    char **v = NULL;
    int n = 0, rc;

    *q = NULL;
    if (s && split_words(s, &v, &n) < 0)
        return nomem(err);
    rc = mail_query_parse_at(n, v, now, q, err);
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
    return rc;
}

int mail_query_parse_string(const char *s, struct mail_query **q,
                            struct mail_error *err)
{
    return mail_query_parse_string_at(s, time(NULL), q, err);
}

unsigned mail_query_needs(const struct mail_query *q)
{
    unsigned r = 0;

    for (size_t i = 0; i < q->n; i++) {
        if (q->v[i].kind == Q_BODY)
            r |= MAIL_QUERY_NEEDS_BODY;
        else if (q->v[i].kind == Q_ATTACH)
            r |= MAIL_QUERY_NEEDS_ATTACHMENTS;
    }
    return r;
}

bool mail_query_is_all(const struct mail_query *q)
{
    const struct qnode *r = &q->v[q->root];

    if (r->kind == Q_ALL)
        return true;
    if (r->kind != Q_AND)
        return false;
    for (size_t i = 0; i < r->count; i++)
        if (q->v[q->kids[r->first + i]].kind != Q_ALL)
            return false;
    return true;
}

/* ---- evaluation ---- */

enum { NO = 0, YES = 1, UNKNOWN = 2 };

struct fields {
    char *from, *to, *cc, *subject;   /* decoded and folded, lazily */
    bool have_from, have_to, have_cc, have_subject;
};

struct evalctx {
    const struct mail_query *q;
    const struct mail_envelope *e;
    struct fields f;
    const bool *found;     /* body needles found; NULL: body not read */
    bool oom;
};

/* "Name <addr>, Name <addr>" of an address header, decoded, folded. */
static char *addr_field(const char *value, locale_t loc)
{
    struct mail_addrlist l = MAIL_ADDRLIST_INIT;
    struct mail_buf b = MAIL_BUF_INIT;
    struct mail_error err;
    char *r;

    if (value && mail_addrlist_parse(&l, value, &err) == 0) {
        for (size_t i = 0; i < l.n; i++) {
            const struct mail_address *a = &l.v[i];
            bool has_name = a->name && *a->name;

            if (!has_name && !*a->addr)
                continue;
            if (b.len)
                mail_buf_addstr(&b, ", ");
            mail_buf_printf(&b, "%s <%s>", has_name ? a->name : "", a->addr);
        }
    }
    mail_addrlist_release(&l);
    r = fold(b.data ? b.data : "", b.len, loc);
    mail_buf_release(&b);
    return r;
}

static char *subject_field(const char *value, locale_t loc)
{
    struct mail_buf b = MAIL_BUF_INIT;
    char *r;

    if (value)
        mail_rfc2047_decode(&b, value, strlen(value));
    r = fold(b.data ? b.data : "", b.len, loc);
    mail_buf_release(&b);
    return r;
}

static bool has(struct evalctx *c, char **slot, bool *have, const char *value,
                bool address, const char *needle)
{
    if (!*have) {
        *slot = address ? addr_field(value, c->q->loc)
                        : subject_field(value, c->q->loc);
        *have = true;
        if (!*slot)
            c->oom = true;
    }
    return *slot && strstr(*slot, needle) != NULL;
}

static int eval(struct evalctx *c, size_t id)
{
    const struct qnode *n = &c->q->v[id];
    const struct mail_envelope *e = c->e;
    struct fields *f = &c->f;
    int r, k;

    switch (n->kind) {
    case Q_ALL:
        return YES;
    case Q_AND:
        r = YES;
        for (size_t i = 0; i < n->count && r != NO; i++) {
            k = eval(c, c->q->kids[n->first + i]);
            if (k == NO)
                r = NO;
            else if (k == UNKNOWN)
                r = UNKNOWN;
        }
        return r;
    case Q_OR:
        r = NO;
        for (size_t i = 0; i < n->count && r != YES; i++) {
            k = eval(c, c->q->kids[n->first + i]);
            if (k == YES)
                r = YES;
            else if (k == UNKNOWN)
                r = UNKNOWN;
        }
        return r;
    case Q_NOT:
        k = eval(c, c->q->kids[n->first]);
        return k == UNKNOWN ? UNKNOWN : !k;
    case Q_ANY:
        return has(c, &f->from, &f->have_from, e->from, true, n->text) ||
               has(c, &f->to, &f->have_to, e->to, true, n->text) ||
               has(c, &f->cc, &f->have_cc, e->cc, true, n->text) ||
               has(c, &f->subject, &f->have_subject, e->subject, false,
                   n->text);
    case Q_FROM:
        return has(c, &f->from, &f->have_from, e->from, true, n->text);
    case Q_TO:
        return has(c, &f->to, &f->have_to, e->to, true, n->text) ||
               has(c, &f->cc, &f->have_cc, e->cc, true, n->text);
    case Q_CC:
        return has(c, &f->cc, &f->have_cc, e->cc, true, n->text);
    case Q_SUBJECT:
        return has(c, &f->subject, &f->have_subject, e->subject, false,
                   n->text);
    case Q_BODY:
        return c->found ? c->found[n->body] : UNKNOWN;
    case Q_SINCE:
        return mail_envelope_when(e) >= n->t;
    case Q_BEFORE:
        return mail_envelope_when(e) < n->t;
    case Q_LARGER:
        return e->size > n->n;
    case Q_SMALLER:
        return e->size < n->n;
    case Q_FLAG:
        return (e->flags & n->flag) != 0;
    case Q_NOFLAG:
        return (e->flags & n->flag) == 0;
    case Q_ATTACH:
        return e->attachments > 0;
    }
    return NO;
}

/* ---- the body ---- */

struct scan {
    const struct mail_query *q;
    bool *found;
    size_t left;           /* needles not found yet */
    size_t keep;           /* longest needle - 1 */
    struct mail_buf win;   /* folded text: the tail of what came before */
    char pend[4];          /* an incomplete UTF-8 sequence */
    size_t npend;
    bool done;             /* every needle found: stop reading */
};

/* A sink that searches.  It returns -1 to stop the reading early once
 * every needle is found (done: not a failure, err untouched), or with
 * err set when out of memory. */
static int scan_sink(void *ctx, const char *data, size_t len,
                     struct mail_error *err)
{
    struct scan *s = ctx;
    size_t inc;

    if (s->done)
        return -1;
    if (s->npend) {
        /* Complete the pending sequence from the start of data. */
        char tmp[8];
        size_t n = s->npend, take = 0;

        memcpy(tmp, s->pend, n);
        while (n < 4 && take < len) {
            tmp[n++] = data[take++];
            if (mail_utf8_incomplete(tmp, n) == 0)
                break;
        }
        s->npend = 0;
        if (mail_utf8_incomplete(tmp, n) && take == len) {
            memcpy(s->pend, tmp, n);
            s->npend = n;
            return 0;
        }
        if (fold_into(&s->win, tmp, n, s->q->loc) < 0)
            return nomem(err);
        data += take;
        len -= take;
    }
    inc = mail_utf8_incomplete(data, len);
    if (fold_into(&s->win, data, len - inc, s->q->loc) < 0)
        return nomem(err);
    memcpy(s->pend, data + len - inc, inc);
    s->npend = inc;
    for (size_t i = 0; i < s->q->nbody; i++) {
        const char *nd = s->q->needles[i];

        if (!s->found[i] && s->win.len &&
            memmem(s->win.data, s->win.len, nd, strlen(nd))) {
            s->found[i] = true;
            s->left--;
        }
    }
    if (s->left == 0) {
        s->done = true;
        return -1;
    }
    if (s->win.len > s->keep)
        mail_buf_consume(&s->win, s->win.len - s->keep);
    return 0;
}

static int html_sink(void *ctx, const char *data, size_t len,
                     struct mail_error *err)
{
    return mail_html_push(ctx, data, len, err);
}

/* Parse the message read by fd (pread from 0) and search its text. */
static int scan_message(struct scan *s, int fd, struct mail_error *err)
{
    struct mail_mime *m = mail_mime_new(NULL, err);
    struct mail_readable *parts = NULL;
    char chunk[16384];
    off_t off = 0;
    size_t np;
    ssize_t r;
    int rc = -1;

    if (!m)
        return -1;
    while ((r = pread(fd, chunk, sizeof chunk, off)) != 0) {
        if (r < 0) {
            if (errno == EINTR)
                continue;
            mail_error_set(err, MAIL_ERR_IO, "reading the message: %s",
                           strerror(errno));
            goto done;
        }
        if (mail_mime_push(m, chunk, (size_t)r, err) < 0)
            goto done;
        off += r;
    }
    if (mail_mime_finish(m, err) < 0)
        goto done;
    np = mail_mime_readable(m, NULL, 0);
    parts = calloc(np ? np : 1, sizeof *parts);
    if (!parts) {
        nomem(err);
        goto done;
    }
    np = mail_mime_readable(m, parts, np);
    for (size_t i = 0; i < np && !s->done; i++) {
        struct mail_html *h = NULL;
        int k;

        /* A match never spans two parts. */
        mail_buf_reset(&s->win);
        s->npend = 0;
        if (parts[i].html) {
            h = mail_html_new(scan_sink, s, err);
            if (!h)
                goto done;
            k = mail_part_decode_fd(parts[i].part, fd, MAIL_DECODE_TEXT,
                                    html_sink, h, err);
            if (k == 0)
                k = mail_html_finish(h, err);
            mail_html_free(h);
        } else {
            k = mail_part_decode_fd(parts[i].part, fd, MAIL_DECODE_TEXT,
                                    scan_sink, s, err);
        }
        if (k < 0 && !s->done)
            goto done;
    }
    rc = 0;
done:
    free(parts);
    mail_mime_free(m);
    return rc;
}

static int cmp_uid(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

int mail_query_select(const struct mail_query *q, struct mail_folder *f,
                      const struct mail_envelope_list *l, size_t *idx,
                      size_t *n, const int *cancel, struct mail_error *err)
{
    uint32_t *hits = NULL;
    size_t nhits = 0, kept = 0, i;
    bool filter = false;
    int srv, rc = 0;

    if (mail_query_is_all(q))
        return 0;
    srv = mail_imap_folder_search(f, q, &hits, &nhits, &filter, err);
    if (srv < 0)
        return -1;
    for (i = 0; i < *n; i++) {
        const struct mail_envelope *e = &l->v[idx[i]];
        int m = 1;

        if (cancel && __atomic_load_n(cancel, __ATOMIC_ACQUIRE)) {
            rc = 1;
            break;
        }
        if (srv == 0 && !bsearch(&e->uid, hits, nhits, sizeof *hits,
                                 cmp_uid))
            continue;
        if ((srv != 0 || filter) &&
            (m = mail_query_match(q, e, -1, f, err)) < 0) {
            rc = -1;
            break;
        }
        if (m)
            idx[kept++] = idx[i];
    }
    *n = kept;
    free(hits);
    return rc;
}

int mail_query_match(const struct mail_query *q, const struct mail_envelope *e,
                     int msg_fd, struct mail_folder *folder,
                     struct mail_error *err)
{
    struct evalctx c = { .q = q, .e = e };
    struct scan s = { .q = q, .win = MAIL_BUF_INIT };
    int r, fd = msg_fd;

    r = eval(&c, q->root);
    if (r == UNKNOWN && !c.oom) {
        s.found = calloc(q->nbody, sizeof *s.found);
        if (!s.found) {
            r = nomem(err);
            goto done;
        }
        s.left = q->nbody;
        for (size_t i = 0; i < q->nbody; i++) {
            size_t l = strlen(q->needles[i]);

            if (l > s.keep)
                s.keep = l;
        }
        s.keep = s.keep ? s.keep - 1 : 0;
        if (fd < 0 && !folder) {
            r = mail_error_set(err, MAIL_ERR_INTERNAL, "query: body: needs "
                               "the message");
            goto done;
        }
        if (fd < 0 && mail_folder_message_fd(folder, e, &fd, err) < 0) {
            r = -1;
            goto done;
        }
        r = scan_message(&s, fd, err);
        if (fd != msg_fd)
            close(fd);
        if (r < 0)
            goto done;
        c.found = s.found;
        r = eval(&c, q->root);
    }
    if (c.oom)
        r = nomem(err);
done:
    free(c.f.from);
    free(c.f.to);
    free(c.f.cc);
    free(c.f.subject);
    free(s.found);
    mail_buf_release(&s.win);
    return r;
}

/* ---- IMAP SEARCH ---- */

struct imapctx {
    const struct mail_query *q;
    struct mail_buf *out;
    unsigned flags, out_flags;
};

static bool imap_plain(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80 || *s == '"' || *s == '\\' ||
            (unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

static void imap_string(struct imapctx *c, const char *s)
{
    if (imap_plain(s)) {
        mail_buf_printf(c->out, "\"%s\"", s);
        return;
    }
    mail_buf_printf(c->out, "{%zu%s}\r\n", strlen(s),
                    (c->flags & MAIL_QUERY_IMAP_LITERAL_PLUS) ? "+" : "");
    mail_buf_addstr(c->out, s);
    c->out_flags |= MAIL_QUERY_IMAP_HAS_LITERAL;
}

static void imap_key(struct imapctx *c, const char *key, const char *s)
{
    mail_buf_printf(c->out, "%s ", key);
    imap_string(c, s);
}

static void imap_date(struct imapctx *c, const char *key, time_t t,
                      int shift)
{
    static const char *const mon[12] = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun",
        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    };
    struct tm tm;

    if (!localtime_r(&t, &tm))
        memset(&tm, 0, sizeof tm);
    /* the local date of t, shift days on (noon: no DST edge) */
    tm.tm_mday += shift;
    tm.tm_hour = 12;
    tm.tm_min = tm.tm_sec = 0;
    tm.tm_isdst = -1;
    if (mktime(&tm) == (time_t)-1 && shift)
        memset(&tm, 0, sizeof tm);
    mail_buf_printf(c->out, "%s %d-%s-%04d", key, tm.tm_mday,
                    mon[tm.tm_mon % 12], tm.tm_year + 1900);
}

/* One search key for node id; positive: not under an odd number of NOTs
 * (a client-side term widens to ALL there, to NOT ALL elsewhere). */
static void imap_node(struct imapctx *c, size_t id, bool positive,
                      bool single)
{
    const struct qnode *n = &c->q->v[id];
    /* q->kids stays NULL until a list is made (the empty query is a lone
     * ALL), and NULL + 0 is undefined behaviour: offset it only when it is
     * there (clang's UBSan stops on it: fuzz_query's empty input). */
    const size_t *kids = c->q->kids ? c->q->kids + n->first : NULL;

    switch (n->kind) {
    case Q_ALL:
        mail_buf_addstr(c->out, "ALL");
        break;
    case Q_AND:
        if (single)
            mail_buf_addch(c->out, '(');
        for (size_t i = 0; i < n->count; i++) {
            if (i)
                mail_buf_addch(c->out, ' ');
            imap_node(c, kids[i], positive, false);
        }
        if (single)
            mail_buf_addch(c->out, ')');
        break;
    case Q_OR:
        for (size_t i = 0; i + 1 < n->count; i++) {
            mail_buf_addstr(c->out, "OR ");
            imap_node(c, kids[i], positive, true);
            mail_buf_addch(c->out, ' ');
        }
        imap_node(c, kids[n->count - 1], positive, true);
        break;
    case Q_NOT:
        mail_buf_addstr(c->out, "NOT ");
        imap_node(c, kids[0], !positive, true);
        break;
    case Q_ANY:
        imap_key(c, "OR OR FROM", n->raw);
        imap_key(c, " TO", n->raw);
        imap_key(c, " OR CC", n->raw);
        imap_key(c, " SUBJECT", n->raw);
        break;
    case Q_FROM:
        imap_key(c, "FROM", n->raw);
        break;
    case Q_TO:
        imap_key(c, "OR TO", n->raw);
        imap_key(c, " CC", n->raw);
        break;
    case Q_CC:
        imap_key(c, "CC", n->raw);
        break;
    case Q_SUBJECT:
        imap_key(c, "SUBJECT", n->raw);
        break;
    case Q_BODY:
        imap_key(c, "BODY", n->raw);
        break;
    case Q_SINCE:
    case Q_BEFORE:
        /* SENT*: the Date header, as the local match reads it (with the
         * arrival time only when there is no Date); plain SINCE would
         * compare the server's INTERNALDATE and answer differently.  But
         * SENTSINCE and SENTBEFORE compare the date as written in the
         * header's own zone, without the time of day, while since: and
         * before: compare instants (local midnight, or 7d back from
         * now): Date: Mon, 10 Nov 2025 23:30 -0800 is 11 Nov in UTC.
         * Wall clocks of two zones differ by up to 26 hours, so the key
         * is widened by whole days (a superset where the term counts
         * as it is, a subset under NOT) and the local pass decides.
         * A message without a Date: is judged locally by its arrival
         * time, which SENT* do not read (RFC 3501 leaves it open;
         * Dovecot answers no): HEADER DATE "" is "has a Date:". */
        mail_buf_addstr(c->out, positive ? "OR " : "(");
        if (n->kind == Q_SINCE)
            imap_date(c, "SENTSINCE", n->t, positive ? -2 : 3);
        else
            imap_date(c, "SENTBEFORE", n->t, positive ? 3 : -2);
        mail_buf_addstr(c->out, positive ? " NOT HEADER DATE \"\""
                                         : " HEADER DATE \"\")");
        c->out_flags |= MAIL_QUERY_IMAP_FILTER;
        break;
    case Q_LARGER:
    case Q_SMALLER:
        /* RFC 3501's number is 32 bits (RFC 9051's number64 is not
         * sent to a server that may be IMAP4rev1): a larger size is
         * decided here on the listing's sizes, as has:attachment is. */
        if (n->n > UINT32_MAX) {
            mail_buf_addstr(c->out, positive ? "ALL" : "NOT ALL");
            c->out_flags |= MAIL_QUERY_IMAP_FILTER;
            break;
        }
        mail_buf_printf(c->out, "%s %llu",
                        n->kind == Q_LARGER ? "LARGER" : "SMALLER",
                        (unsigned long long)n->n);
        break;
    case Q_FLAG:
    case Q_NOFLAG: {
        const char *w = n->flag == MAIL_FLAG_SEEN ? "SEEN"
                      : n->flag == MAIL_FLAG_FLAGGED ? "FLAGGED"
                      : n->flag == MAIL_FLAG_ANSWERED ? "ANSWERED"
                      : n->flag == MAIL_FLAG_DRAFT ? "DRAFT" : "DELETED";

        mail_buf_printf(c->out, "%s%s", n->kind == Q_NOFLAG ? "UN" : "", w);
        break;
    }
    case Q_ATTACH:
        mail_buf_addstr(c->out, positive ? "ALL" : "NOT ALL");
        c->out_flags |= MAIL_QUERY_IMAP_FILTER;
        break;
    }
}

int mail_query_imap(const struct mail_query *q, struct mail_buf *out,
                    unsigned flags, unsigned *out_flags,
                    struct mail_error *err)
{
    struct imapctx c = { q, out, flags, 0 };
    bool ascii = true;
    size_t start = out->len;

    for (size_t i = 0; i < q->n; i++)
        if (q->v[i].raw)
            for (const char *s = q->v[i].raw; *s; s++)
                if ((unsigned char)*s >= 0x80)
                    ascii = false;
    if (!ascii)
        mail_buf_addstr(out, "CHARSET UTF-8 ");
    imap_node(&c, q->root, true, false);
    if (mail_buf_addstr(out, "") < 0 || (out->len == start)) {
        out->len = start;
        return nomem(err);
    }
    if (out_flags)
        *out_flags = c.out_flags;
    return 0;
}

/* ---- dump ---- */

static void dump_node(const struct mail_query *q, size_t id,
                      struct mail_buf *out)
{
    static const char *const names[] = {
        [Q_ALL] = "all", [Q_AND] = "and", [Q_OR] = "or", [Q_NOT] = "not",
        [Q_ANY] = "any", [Q_FROM] = "from", [Q_TO] = "to", [Q_CC] = "cc",
        [Q_SUBJECT] = "subject", [Q_BODY] = "body", [Q_SINCE] = "since",
        [Q_BEFORE] = "before", [Q_LARGER] = "larger",
        [Q_SMALLER] = "smaller", [Q_FLAG] = "flag", [Q_NOFLAG] = "noflag",
        [Q_ATTACH] = "attachment",
    };
    const struct qnode *n = &q->v[id];

    mail_buf_printf(out, "(%s", names[n->kind]);
    switch (n->kind) {
    case Q_AND:
    case Q_OR:
    case Q_NOT:
        for (size_t i = 0; i < n->count; i++) {
            mail_buf_addch(out, ' ');
            dump_node(q, q->kids[n->first + i], out);
        }
        break;
    case Q_ANY: case Q_FROM: case Q_TO: case Q_CC: case Q_SUBJECT:
    case Q_BODY:
        mail_buf_printf(out, " \"%s\"", n->text);
        break;
    case Q_SINCE:
    case Q_BEFORE:
        mail_buf_printf(out, " %lld", (long long)n->t);
        break;
    case Q_LARGER:
    case Q_SMALLER:
        mail_buf_printf(out, " %llu", (unsigned long long)n->n);
        break;
    case Q_FLAG:
    case Q_NOFLAG:
        mail_buf_printf(out, " %s", n->flag == MAIL_FLAG_SEEN ? "seen"
                        : n->flag == MAIL_FLAG_FLAGGED ? "flagged"
                        : n->flag == MAIL_FLAG_ANSWERED ? "answered"
                        : n->flag == MAIL_FLAG_DRAFT ? "draft" : "deleted");
        break;
    default:
        break;
    }
    mail_buf_addch(out, ')');
}

int mail_query_dump(const struct mail_query *q, struct mail_buf *out)
{
    dump_node(q, q->root, out);
    return mail_buf_addstr(out, "");
}
