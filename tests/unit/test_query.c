/* test_query.c - the query language (mail/query.h): every operator and
 * its precedence (NOT > AND > OR), nesting, every syntax error with its
 * position, dates and spans against a fixed "now", matching envelopes and
 * bodies, and the IMAP SEARCH rendering. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mail/query.h"
#include "test.h"

/* 2026-12-05 10:00:00 UTC, a Saturday. */
#define NOW ((time_t)1796464800)

/* Split s at blanks into words (no quoting: a word is what the shell
 * would pass; "_" stands for a blank inside a word). */
static int words(const char *s, char **argv, int max, char *store)
{
    int n = 0;

    snprintf(store, 4096, "%s", s);
    for (char *p = strtok(store, " "); p && n < max; p = strtok(NULL, " ")) {
        for (char *u = p; *u; u++)
            if (*u == '_')
                *u = ' ';
        argv[n++] = p;
    }
    return n;
}

static struct mail_query *parse(const char *s, struct mail_error *err)
{
    static char store[4096];
    char *argv[128];
    int n = words(s, argv, 128, store);
    struct mail_query *q = NULL;

    mail_error_clear(err);
    if (mail_query_parse_at(n, argv, NOW, &q, err) < 0)
        return NULL;
    return q;
}

/* The AST of s as mail_query_dump writes it, or "ERR: message". */
static const char *dump(const char *s)
{
    static char out[4096];
    struct mail_buf b = MAIL_BUF_INIT;
    struct mail_error err;
    struct mail_query *q = parse(s, &err);

    if (!q) {
        snprintf(out, sizeof out, "ERR%d: %s", err.kind, err.msg);
        return out;
    }
    mail_query_dump(q, &b);
    snprintf(out, sizeof out, "%s", b.data ? b.data : "");
    mail_buf_release(&b);
    mail_query_free(q);
    return out;
}

static const char *imap(const char *s, unsigned flags, unsigned *oflags)
{
    static char out[4096];
    struct mail_buf b = MAIL_BUF_INIT;
    struct mail_error err;
    struct mail_query *q = parse(s, &err);

    if (!q) {
        snprintf(out, sizeof out, "ERR: %s", err.msg);
        return out;
    }
    if (mail_query_imap(q, &b, flags, oflags, &err) < 0)
        snprintf(out, sizeof out, "ERR: %s", err.msg);
    else
        snprintf(out, sizeof out, "%s", b.data ? b.data : "");
    mail_buf_release(&b);
    mail_query_free(q);
    return out;
}

static void test_operators(void)
{
    CHECK_STR(dump(""), "(all)");
    CHECK_STR(dump("bob"), "(any \"bob\")");
    CHECK_STR(dump("from:Bob to:carol cc:dan subject:Plan body:x"),
              "(and (from \"bob\") (to \"carol\") (cc \"dan\") "
              "(subject \"plan\") (body \"x\"))");
    CHECK_STR(dump("a OR b"), "(or (any \"a\") (any \"b\"))");
    CHECK_STR(dump("a AND b"), "(and (any \"a\") (any \"b\"))");
    CHECK_STR(dump("NOT a"), "(not (any \"a\"))");
    CHECK_STR(dump("NOT NOT a"), "(not (not (any \"a\")))");
    CHECK_STR(dump("a OR b OR c"), "(or (any \"a\") (any \"b\") (any \"c\"))");
    /* Lowercase or, and, not are words. */
    CHECK_STR(dump("a or not b"),
              "(and (any \"a\") (any \"or\") (any \"not\") (any \"b\"))");
    CHECK_STR(dump("flag:seen flag:Unseen flag:flagged flag:unflagged "
                   "flag:answered flag:unanswered flag:draft flag:deleted"),
              "(and (flag seen) (noflag seen) (flag flagged) (noflag flagged) "
              "(flag answered) (noflag answered) (flag draft) (flag deleted))");
    CHECK_STR(dump("has:attachment larger:10k smaller:2M larger:7"),
              "(and (attachment) (larger 10240) (smaller 2097152) "
              "(larger 7))");
    /* A field with nothing after the colon matches everything. */
    CHECK_STR(dump("from:"), "(all)");
    CHECK_STR(dump("FROM:Bob SUBJECT:x"),
              "(and (from \"bob\") (subject \"x\"))");
}

/* More terms than fit on the parser's stack: every one kept, in order. */
static void test_many_terms(void)
{
    char q[1024], want[2048];
    size_t ql = 0, wl = 0;

    wl += (size_t)snprintf(want + wl, sizeof want - wl, "(or ");
    for (int i = 0; i < 40; i++) {
        ql += (size_t)snprintf(q + ql, sizeof q - ql, "%sw%d",
                               i ? (i % 2 ? " " : " OR ") : "", i);
        if (i % 2 == 0)
            wl += (size_t)snprintf(want + wl, sizeof want - wl,
                                   "%s(and (any \"w%d\")", i ? ") " : "", i);
        else
            wl += (size_t)snprintf(want + wl, sizeof want - wl,
                                   " (any \"w%d\")", i);
    }
    snprintf(want + wl, sizeof want - wl, "))");
    CHECK_STR(dump(q), want);
    ql = 0;
    wl = (size_t)snprintf(want, sizeof want, "(and");
    for (int i = 0; i < 40; i++) {
        ql += (size_t)snprintf(q + ql, sizeof q - ql, "%sw%d", i ? " " : "", i);
        wl += (size_t)snprintf(want + wl, sizeof want - wl, " (any \"w%d\")",
                               i);
    }
    snprintf(want + wl, sizeof want - wl, ")");
    CHECK_STR(dump(q), want);
}

static void test_precedence(void)
{
    /* NOT binds tighter than AND, AND tighter than OR. */
    CHECK_STR(dump("a b OR c"),
              "(or (and (any \"a\") (any \"b\")) (any \"c\"))");
    CHECK_STR(dump("a OR b c"),
              "(or (any \"a\") (and (any \"b\") (any \"c\")))");
    CHECK_STR(dump("NOT a b"), "(and (not (any \"a\")) (any \"b\"))");
    CHECK_STR(dump("NOT a OR b"), "(or (not (any \"a\")) (any \"b\"))");
    CHECK_STR(dump("a OR NOT b c"),
              "(or (any \"a\") (and (not (any \"b\")) (any \"c\")))");
}

static void test_nesting(void)
{
    CHECK_STR(dump("( a OR b ) c"),
              "(and (or (any \"a\") (any \"b\")) (any \"c\"))");
    /* Attached parentheses, as a user types them. */
    CHECK_STR(dump("(from:a OR from:b) c"),
              "(and (or (from \"a\") (from \"b\")) (any \"c\"))");
    CHECK_STR(dump("NOT (a OR (b NOT c))"),
              "(not (or (any \"a\") (and (any \"b\") (not (any \"c\")))))");
    CHECK_STR(dump("((a))"), "(any \"a\")");
    /* Only parentheses at the start and the end of a word are split. */
    CHECK_STR(dump("(a)OR(b)"), "(any \"a)or(b\")");
    /* Quotes: phrases, and parentheses inside them are text. */
    CHECK_STR(dump("\"two_words\""), "(any \"two words\")");
    CHECK_STR(dump("subject:\"Re:_(draft)\""), "(subject \"re: (draft)\")");
    CHECK_STR(dump("(subject:\"x)\")"), "(subject \"x)\")");
    CHECK_STR(dump("\"a\\\"b\""), "(any \"a\"b\")");
    /* A phrase as the shell passes it: one word with a blank. */
    CHECK_STR(dump("subject:two_words"), "(subject \"two words\")");
    /* body: keeps blanks as they are (a substring, as IMAP's BODY). */
    CHECK_STR(dump("body:\"two___words\""), "(body \"two   words\")");
}

static void check_err(const char *q, const char *want)
{
    struct mail_error err;
    struct mail_query *p = parse(q, &err);

    CHECK(p == NULL);
    CHECK(err.kind == MAIL_ERR_USAGE);
    CHECK_STR(err.msg, want);
    mail_query_free(p);
}

static void test_errors(void)
{
    check_err("a (from:a b", "query: expected ')' after 'b' (word 3)");
    check_err("(from:a", "query: expected ')' after 'from:a' (word 1)");
    check_err("a )", "query: unexpected ')' without a '(' before it (word 2)");
    check_err("a OR", "query: expected a term after 'OR' (word 2)");
    check_err("OR a", "query: 'OR' needs a term before it (word 1)");
    check_err("a OR OR b", "query: 'OR' needs a term before it (word 3)");
    check_err("a AND", "query: expected a term after 'AND' (word 2)");
    check_err("a OR AND b", "query: 'AND' needs a term before it (word 3)");
    check_err("NOT", "query: expected a term after 'NOT' (word 1)");
    check_err("a ( )", "query: empty parentheses '()' (word 2)");
    check_err("x ()", "query: empty parentheses '()' (word 2)");
    check_err("(a OR )", "query: unexpected ')' (word 3)");
    check_err("a \"b", "query: unterminated quote in '\"b' (word 2)");
    check_err("foo:bar", "query: unknown field 'foo:' in the query term "
              "'foo:bar' (the fields are from: to: cc: subject: body: "
              "since: before: larger: smaller: flag: has:; a word alone "
              "searches from, to, cc and subject) (word 1)");
    check_err("a =Sent", "query: '=Sent' is not a query word: one folder "
              "only (the first operand, or -f FOLDER), then query words "
              "(word 2)");
    check_err("a b since:yesterday", "query: since: takes a date "
              "YYYY-MM-DD or a time ago such as 12h, 7d, 2w, 3m, 1y; not "
              "'yesterday' (word 3)");
    check_err("before:2026-13-01", "query: before: takes a date YYYY-MM-DD "
              "or a time ago such as 12h, 7d, 2w, 3m, 1y; not '2026-13-01' "
              "(word 1)");
    check_err("since:", "query: since: takes a date YYYY-MM-DD or a time "
              "ago such as 12h, 7d, 2w, 3m, 1y; not '' (word 1)");
    check_err("larger:10x", "query: larger: takes a size in bytes, or with "
              "k, M or G (10k, 2M); not '10x' (word 1)");
    check_err("smaller:99999999999999999999", "query: smaller: takes a size "
              "in bytes, or with k, M or G (10k, 2M); not "
              "'99999999999999999999' (word 1)");
    check_err("flag:purple", "query: flag: takes seen, unseen, flagged, "
              "unflagged, answered, unanswered, draft or deleted; not "
              "'purple' (word 1)");
    check_err("has:pdf", "query: has: takes attachment; not 'pdf' (word 1)");
    /* Depth is bounded (so is the recursion that walks the tree). */
    {
        char deep[512];
        size_t len = 0;

        for (int i = 0; i < 70; i++)
            len += (size_t)snprintf(deep + len, sizeof deep - len, "NOT ");
        snprintf(deep + len, sizeof deep - len, "a");
        check_err(deep, "query: nested too deeply (more than 64 parentheses "
                  "and NOTs) (word 66)");
    }
}

static void test_times(void)
{
    time_t t;
    struct tm tm = { 0 };

    /* Dates are local midnight; TZ is UTC here. */
    CHECK(mail_query_parse_time("2026-11-01", NOW, &t) == 0);
    tm.tm_year = 126;
    tm.tm_mon = 10;
    tm.tm_mday = 1;
    CHECK(t == timegm(&tm));
    CHECK(mail_query_parse_time("12h", NOW, &t) == 0 && t == NOW - 43200);
    CHECK(mail_query_parse_time("7d", NOW, &t) == 0 && t == NOW - 7 * 86400);
    CHECK(mail_query_parse_time("2w", NOW, &t) == 0 && t == NOW - 14 * 86400);
    /* Months and years are calendar ones: 2026-09-05 10:00, 2025-12-05. */
    CHECK(mail_query_parse_time("3m", NOW, &t) == 0 &&
          t == NOW - (30 + 31 + 30) * 86400);
    CHECK(mail_query_parse_time("1y", NOW, &t) == 0 && t == NOW - 365 * 86400);
    CHECK(mail_query_parse_time("0d", NOW, &t) == 0 && t == NOW);
    CHECK(mail_query_parse_time("7", NOW, &t) < 0);
    CHECK(mail_query_parse_time("d", NOW, &t) < 0);
    CHECK(mail_query_parse_time("-7d", NOW, &t) < 0);
    CHECK(mail_query_parse_time("7dd", NOW, &t) < 0);
    CHECK(mail_query_parse_time("2026-1-011", NOW, &t) < 0);
    CHECK(mail_query_parse_time("2026-00-10", NOW, &t) < 0);
    CHECK(mail_query_parse_time("20a6-10-10", NOW, &t) < 0);
    CHECK(mail_query_parse_time("", NOW, &t) < 0);
    /* No such day (mktime would move it into the next month). */
    CHECK(mail_query_parse_time("2026-02-30", NOW, &t) < 0);
    CHECK(mail_query_parse_time("2026-04-31", NOW, &t) < 0);
    CHECK(mail_query_parse_time("2025-02-29", NOW, &t) < 0);
    CHECK(mail_query_parse_time("2024-02-29", NOW, &t) == 0);
    CHECK(mail_query_parse_time("2026-12-31", NOW, &t) == 0);
}

/* ---- matching ---- */

static struct mail_envelope env(const char *from, const char *to,
                                const char *cc, const char *subject,
                                unsigned flags, uint64_t size, time_t date)
{
    struct mail_envelope e;

    memset(&e, 0, sizeof e);
    e.from = (char *)from;
    e.to = (char *)to;
    e.cc = (char *)cc;
    e.subject = (char *)subject;
    e.flags = flags;
    e.size = size;
    e.date = date;
    e.has_date = true;
    return e;
}

static int match(const char *s, const struct mail_envelope *e, int fd)
{
    struct mail_error err;
    struct mail_query *q = parse(s, &err);
    int r;

    if (!q)
        return -2;
    r = mail_query_match(q, e, fd, NULL, &err);
    mail_query_free(q);
    return r;
}

static void test_match_fields(void)
{
    struct mail_envelope a = env("Bob Martin <bob@example.org>",
                                 "Alice <alice@example.com>",
                                 "Carol <carol@example.net>",
                                 "=?UTF-8?Q?Caf=C3=A9_cr=C3=A8me?=",
                                 MAIL_FLAG_SEEN | MAIL_FLAG_FLAGGED, 2048,
                                 NOW - 3 * 86400);

    CHECK(match("bob", &a, -1) == 1);
    CHECK(match("from:BOB", &a, -1) == 1);
    CHECK(match("from:alice", &a, -1) == 0);
    CHECK(match("to:alice", &a, -1) == 1);
    CHECK(match("to:carol", &a, -1) == 1);      /* to: is To and Cc */
    CHECK(match("cc:carol", &a, -1) == 1);
    CHECK(match("cc:alice", &a, -1) == 0);      /* cc: is Cc only */
    CHECK(match("subject:CAFÉ", &a, -1) == 1);  /* decoded, folded */
    CHECK(match("crème", &a, -1) == 1);
    CHECK(match("subject:\"café_crème\"", &a, -1) == 1);
    CHECK(match("example.net", &a, -1) == 1);
    CHECK(match("nowhere", &a, -1) == 0);
    CHECK(match("flag:seen", &a, -1) == 1);
    CHECK(match("flag:unseen", &a, -1) == 0);
    CHECK(match("flag:flagged flag:unanswered", &a, -1) == 1);
    CHECK(match("flag:answered", &a, -1) == 0);
    CHECK(match("flag:draft OR flag:deleted", &a, -1) == 0);
    CHECK(match("larger:2k", &a, -1) == 0);     /* strict, as IMAP */
    CHECK(match("larger:2047", &a, -1) == 1);
    CHECK(match("smaller:2k", &a, -1) == 0);
    CHECK(match("smaller:2049", &a, -1) == 1);
    CHECK(match("since:7d", &a, -1) == 1);
    CHECK(match("since:2d", &a, -1) == 0);
    CHECK(match("before:2d", &a, -1) == 1);
    CHECK(match("before:7d", &a, -1) == 0);
    CHECK(match("since:2026-12-02", &a, -1) == 1);
    CHECK(match("since:2026-12-03", &a, -1) == 0);
    CHECK(match("before:2026-12-03", &a, -1) == 1);
    CHECK(match("has:attachment", &a, -1) == 0);
    a.attachments = 1;
    CHECK(match("has:attachment", &a, -1) == 1);
    /* No Date: the delivery time counts. */
    a.has_date = false;
    a.received = NOW - 10 * 86400;
    CHECK(match("since:7d", &a, -1) == 0);
    /* The operators. */
    CHECK(match("from:bob from:alice", &a, -1) == 0);
    CHECK(match("from:bob OR from:alice", &a, -1) == 1);
    CHECK(match("NOT from:bob", &a, -1) == 0);
    CHECK(match("NOT from:alice", &a, -1) == 1);
    CHECK(match("(from:alice OR to:alice) NOT flag:answered", &a, -1) == 1);
    CHECK(match("from:alice OR to:alice flag:answered", &a, -1) == 0);
    CHECK(match("", &a, -1) == 1);
}

static void test_match_absent(void)
{
    struct mail_envelope e = env(NULL, NULL, NULL, NULL, 0, 0, 0);

    CHECK(match("bob", &e, -1) == 0);
    CHECK(match("NOT bob", &e, -1) == 1);
    CHECK(match("from:", &e, -1) == 1);
    CHECK(match("flag:unseen", &e, -1) == 1);
}

static char tmpl[] = "/tmp/test_query.XXXXXX";

static int message_fd(const char *text)
{
    int fd;

    memcpy(tmpl, "/tmp/test_query.XXXXXX", sizeof tmpl);
    fd = mkstemp(tmpl);
    if (fd < 0)
        return -1;
    unlink(tmpl);
    if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        close(fd);
        return -1;
    }
    return fd;
}

static const char mime_msg[] =
    "From: Bob <bob@example.org>\r\n"
    "Subject: Plans\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    "\r\n"
    "--b1\r\n"
    "Content-Type: multipart/alternative; boundary=\"b2\"\r\n"
    "\r\n"
    "--b2\r\n"
    "Content-Type: text/plain; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Meet at the caf=E9 on\r\n"
    "Friday, the agenda is=\r\n"
    " attached.\r\n"
    "--b2\r\n"
    "Content-Type: text/html\r\n"
    "\r\n"
    "<p>only-in-the-html</p>\r\n"
    "--b2--\r\n"
    "--b1\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "PHA+SGVsbG8gPGI+Qm9sZDwvYj4gJmFtcDsgV29ybGQ8L3A+Cg==\r\n"
    "--b1\r\n"
    "Content-Type: application/octet-stream; name=\"x.bin\"\r\n"
    "Content-Disposition: attachment; filename=\"x.bin\"\r\n"
    "\r\n"
    "secret-in-attachment\r\n"
    "--b1--\r\n";

static void test_match_body(void)
{
    struct mail_envelope e = env("Bob <bob@example.org>", NULL, NULL,
                                 "Plans", 0, sizeof mime_msg - 1, NOW);
    int fd = message_fd(mime_msg);

    CHECK(fd >= 0);
    /* Decoded (QP, Latin-1 to UTF-8), folded, soft line breaks joined. */
    CHECK(match("body:café", &e, fd) == 1);
    CHECK(match("body:CAFÉ", &e, fd) == 1);
    /* A line break in the text is not a blank in the phrase: BODY is a
     * substring search, as an IMAP server does it. */
    CHECK(match("body:\"café_on_friday\"", &e, fd) == 0);
    CHECK(match("body:\"café_on\"", &e, fd) == 1);
    CHECK(match("body:\"agenda_is_attached\"", &e, fd) == 1);
    /* HTML as text, base64 decoded, tags gone, entities decoded. */
    CHECK(match("body:\"hello_bold_&_world\"", &e, fd) == 1);
    CHECK(match("body:<b>", &e, fd) == 0);
    /* The alternative not shown, and attachments, are not the text. */
    CHECK(match("body:only-in-the-html", &e, fd) == 0);
    CHECK(match("body:secret-in-attachment", &e, fd) == 0);
    CHECK(match("body:plans", &e, fd) == 0);    /* not a header */
    /* Several body terms, and with the other operators. */
    CHECK(match("body:café body:world", &e, fd) == 1);
    CHECK(match("body:café body:nothere", &e, fd) == 0);
    CHECK(match("body:nothere OR body:world", &e, fd) == 1);
    CHECK(match("NOT body:café", &e, fd) == 0);
    CHECK(match("from:bob body:agenda", &e, fd) == 1);
    /* The header fields decide: the body is not needed (no fd). */
    CHECK(match("from:alice body:café", &e, -1) == 0);
    CHECK(match("from:bob OR body:café", &e, -1) == 1);
    CHECK(match("NOT from:bob body:café", &e, -1) == 0);
    /* They do not: without the message it is an error, not a "no". */
    CHECK(match("from:bob body:café", &e, -1) == -1);
    if (fd >= 0)
        close(fd);
}

/* A phrase across the parser's read chunks and the decoder's pieces. */
static void test_match_body_long(void)
{
    size_t n = 100000;
    char *m = malloc(n + 200);
    struct mail_envelope e = env("x", NULL, NULL, NULL, 0, 0, NOW);
    struct mail_error err;
    struct mail_query *q;
    char *argv[1] = { "body:\"needle in the haystack\"" };
    int fd, ok = 1;

    if (!m) {
        CHECK(!"out of memory");
        return;
    }
    for (size_t at = 16370; at < 16400; at += 3) {
        size_t len = (size_t)snprintf(m, 200, "Subject: x\n\n");

        memset(m + len, 'x', at - len);
        memcpy(m + at, " needle in the haystack ", 24);
        memset(m + at + 24, 'y', n - at - 24);
        m[n] = '\0';
        fd = message_fd(m);
        if (mail_query_parse_at(1, argv, NOW, &q, &err) < 0) {
            ok = 0;
            break;
        }
        if (mail_query_match(q, &e, fd, NULL, &err) != 1)
            ok = 0;
        mail_query_free(q);
        close(fd);
    }
    CHECK(ok);
    free(m);
}

static void test_needs(void)
{
    struct mail_error err;
    struct mail_query *q;

    q = parse("from:a NOT (body:x OR has:attachment)", &err);
    CHECK(q && mail_query_needs(q) ==
          (MAIL_QUERY_NEEDS_BODY | MAIL_QUERY_NEEDS_ATTACHMENTS));
    CHECK(q && !mail_query_is_all(q));
    mail_query_free(q);
    q = parse("from: subject:", &err);
    CHECK(q && mail_query_needs(q) == 0 && mail_query_is_all(q));
    mail_query_free(q);
    q = parse("", &err);
    CHECK(q && mail_query_is_all(q));
    mail_query_free(q);
}

/* ---- IMAP SEARCH ---- */

static void test_imap(void)
{
    unsigned of = 99;

    CHECK_STR(imap("", 0, &of), "ALL");
    CHECK(of == 0);
    CHECK_STR(imap("from:bob", 0, NULL), "FROM \"bob\"");
    CHECK_STR(imap("from:Bob to:x cc:y subject:z body:w", 0, NULL),
              "FROM \"Bob\" OR TO \"x\" CC \"x\" CC \"y\" SUBJECT \"z\" "
              "BODY \"w\"");
    CHECK_STR(imap("bob", 0, NULL),
              "OR OR FROM \"bob\" TO \"bob\" OR CC \"bob\" SUBJECT \"bob\"");
    CHECK_STR(imap("from:a OR from:b", 0, NULL), "OR FROM \"a\" FROM \"b\"");
    CHECK_STR(imap("from:a OR from:b OR from:c", 0, NULL),
              "OR FROM \"a\" OR FROM \"b\" FROM \"c\"");
    CHECK_STR(imap("NOT from:a", 0, NULL), "NOT FROM \"a\"");
    /* An AND inside OR or NOT is a parenthesised list. */
    CHECK_STR(imap("from:a from:b OR from:c", 0, NULL),
              "OR (FROM \"a\" FROM \"b\") FROM \"c\"");
    CHECK_STR(imap("NOT (from:a from:b)", 0, NULL),
              "NOT (FROM \"a\" FROM \"b\")");
    CHECK_STR(imap("(from:a OR from:b) flag:unseen", 0, NULL),
              "OR FROM \"a\" FROM \"b\" UNSEEN");
    CHECK_STR(imap("flag:seen flag:unseen flag:flagged flag:unflagged "
                   "flag:answered flag:unanswered flag:draft flag:deleted",
                   0, NULL),
              "SEEN UNSEEN FLAGGED UNFLAGGED ANSWERED UNANSWERED DRAFT "
              "DELETED");
    CHECK_STR(imap("larger:10k smaller:1M", 0, &of),
              "LARGER 10240 SMALLER 1048576");
    CHECK(of == 0);
    /* Above RFC 3501's 32-bit number: decided by the caller. */
    CHECK_STR(imap("larger:4294967295 smaller:4294967295", 0, &of),
              "LARGER 4294967295 SMALLER 4294967295");
    CHECK(of == 0);
    CHECK_STR(imap("larger:4294967296 from:a", 0, &of), "ALL FROM \"a\"");
    CHECK(of == MAIL_QUERY_IMAP_FILTER);
    CHECK_STR(imap("NOT smaller:5G", 0, &of), "NOT NOT ALL");
    CHECK(of == MAIL_QUERY_IMAP_FILTER);
    /* Dates as d-Mon-yyyy of the day the instant falls on, widened by
     * whole days (SENT* compares the date in the Date header's own zone,
     * without the time): a superset, which the caller filters; under NOT
     * narrowed instead, so that the NOT is a superset again. */
    CHECK_STR(imap("since:2026-11-01 before:2026-12-25", 0, &of),
              "OR SENTSINCE 30-Oct-2026 NOT HEADER DATE \"\" "
              "OR SENTBEFORE 28-Dec-2026 NOT HEADER DATE \"\"");
    CHECK(of == MAIL_QUERY_IMAP_FILTER);
    CHECK_STR(imap("since:7d", 0, NULL),
              "OR SENTSINCE 26-Nov-2026 NOT HEADER DATE \"\"");
    CHECK_STR(imap("since:1y", 0, NULL),
              "OR SENTSINCE 3-Dec-2025 NOT HEADER DATE \"\"");
    CHECK_STR(imap("NOT since:2026-11-01 OR NOT before:2026-03-01", 0, &of),
              "OR NOT (SENTSINCE 4-Nov-2026 HEADER DATE \"\") "
              "NOT (SENTBEFORE 27-Feb-2026 HEADER DATE \"\")");
    CHECK(of == MAIL_QUERY_IMAP_FILTER);
    /* Strings: quoted when plain, else literals; CHARSET when not ASCII. */
    CHECK_STR(imap("subject:\"two_words\"", 0, &of),
              "SUBJECT \"two words\"");
    CHECK(of == 0);
    CHECK_STR(imap("subject:café", 0, &of),
              "CHARSET UTF-8 SUBJECT {5}\r\ncafé");
    CHECK(of == MAIL_QUERY_IMAP_HAS_LITERAL);
    CHECK_STR(imap("subject:café", MAIL_QUERY_IMAP_LITERAL_PLUS, NULL),
              "CHARSET UTF-8 SUBJECT {5+}\r\ncafé");
    CHECK_STR(imap("subject:\"a\\\"b\" from:c\\d", 0, NULL),
              "SUBJECT {3}\r\na\"b FROM {3}\r\nc\\d");
    /* The text as typed, not folded: the server folds. */
    CHECK_STR(imap("from:BOB", 0, NULL), "FROM \"BOB\"");
    /* has:attachment has no key: widened, and the caller filters. */
    CHECK_STR(imap("has:attachment", 0, &of), "ALL");
    CHECK(of == MAIL_QUERY_IMAP_FILTER);
    CHECK_STR(imap("NOT has:attachment from:a", 0, &of),
              "NOT NOT ALL FROM \"a\"");
    CHECK(of == MAIL_QUERY_IMAP_FILTER);
    CHECK_STR(imap("from:a OR NOT (has:attachment flag:seen)", 0, NULL),
              "OR FROM \"a\" NOT (NOT ALL SEEN)");
    CHECK_STR(imap("from:", 0, NULL), "ALL");
    /* Appends to what is there. */
    {
        struct mail_buf b = MAIL_BUF_INIT;
        struct mail_error err;
        struct mail_query *q = parse("from:a", &err);

        mail_buf_addstr(&b, "A1 UID SEARCH ");
        CHECK(q && mail_query_imap(q, &b, 0, NULL, &err) == 0);
        CHECK_STR(b.data, "A1 UID SEARCH FROM \"a\"");
        mail_buf_release(&b);
        mail_query_free(q);
    }
}

/* mail_query_parse_string (the reader's / and l): the string split into
 * words at blanks outside double quotes, then the same parser as the
 * words of mail ls. */
static const char *sdump(const char *s)
{
    static char out[4096];
    struct mail_buf b = MAIL_BUF_INIT;
    struct mail_error err;
    struct mail_query *q = NULL;

    mail_error_clear(&err);
    if (mail_query_parse_string_at(s, NOW, &q, &err) < 0) {
        snprintf(out, sizeof out, "ERR%d: %s", err.kind, err.msg);
        return out;
    }
    mail_query_dump(q, &b);
    snprintf(out, sizeof out, "%s", b.data ? b.data : "");
    mail_buf_release(&b);
    mail_query_free(q);
    return out;
}

static void test_parse_string(void)
{
    char same[4096];

    CHECK_STR(sdump(NULL), "(all)");
    CHECK_STR(sdump(" \t "), "(all)");
    /* blanks and tabs between words, any number */
    CHECK_STR(sdump("  from:bob\t\tOR  subject:plan "),
              "(or (from \"bob\") (subject \"plan\"))");
    /* a quoted phrase is one word, blanks and all */
    CHECK_STR(sdump("subject:\"two  words\" NOT \"a b\""),
              "(and (subject \"two  words\") (not (any \"a b\")))");
    /* what mail ls gets from the shell for the same query */
    snprintf(same, sizeof same, "%s",
             dump("(from:a OR from:b) since:7d has:attachment"));
    CHECK_STR(sdump("(from:a OR from:b) since:7d has:attachment"), same);
    /* errors name the word by its position among the string's words */
    CHECK_STR(sdump("from:a ( subject:x"), dump("from:a ( subject:x"));
    CHECK(strstr(sdump("from:a ( subject:x"), "(word ") != NULL);
    CHECK_STR(sdump("subject:\"open"), dump("subject:\"open"));
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    RUN(test_operators);
    RUN(test_many_terms);
    RUN(test_precedence);
    RUN(test_nesting);
    RUN(test_errors);
    RUN(test_times);
    RUN(test_match_fields);
    RUN(test_match_absent);
    RUN(test_match_body);
    RUN(test_match_body_long);
    RUN(test_needs);
    RUN(test_imap);
    RUN(test_parse_string);
    return test_done();
}
