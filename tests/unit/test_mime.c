#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail/address.h"
#include "mail/buf.h"
#include "mail/codec.h"
#include "mail/date.h"
#include "mail/rfc2047.h"
#include "mail/mime.h"
#include "mail/readable.h"
#include "mail/render.h"
#include "test.h"

/* tests/data, found from this file's path (meson runs tests in the build
 * root, which is where __FILE__ is relative to) or $MAIL_TEST_DATA. */
static void data_path(char *buf, size_t size, const char *name)
{
    const char *env = getenv("MAIL_TEST_DATA");
    const char *slash = strrchr(__FILE__, '/');

    if (env)
        mail_snprintf(buf, size, "%s/%s", env, name);
    else
        mail_snprintf(buf, size, "%.*s/../data/%s",
                      (int)(slash ? slash - __FILE__ : 1),
                      slash ? __FILE__ : ".", name);
}

static char *load(const char *name, size_t *len)
{
    char path[512];
    struct mail_buf b = MAIL_BUF_INIT;
    char chunk[4096];
    size_t n;
    FILE *f;

    data_path(path, sizeof path, name);
    f = fopen(path, "rb");
    if (!f)
        return NULL;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        mail_buf_add(&b, chunk, n);
    fclose(f);
    *len = b.len;
    return mail_buf_detach(&b);
}

/* One line per part: number type charset cte disposition filename
 * offsets decoded-size flags. */
static void render(struct mail_buf *out, const struct mail_mime *m)
{
    const struct mail_part *p;

    for (p = mail_mime_root(m); p; p = mail_part_next(p))
        mail_buf_printf(out, "%*s[%s] %s %s %s %s %s %llu-%llu-%llu %llu %u\n",
                        (int)p->depth * 2, "", p->number, p->type,
                        p->charset ? p->charset : "-", mail_cte_name(p->cte),
                        p->disposition ? p->disposition : "-",
                        p->filename ? p->filename : "-",
                        (unsigned long long)p->header_start,
                        (unsigned long long)p->body_start,
                        (unsigned long long)p->body_end,
                        (unsigned long long)p->decoded_size, p->flags);
}

/* Offsets nest and stay in the message. */
static int offsets_ok(const struct mail_mime *m)
{
    const struct mail_part *p;

    for (p = mail_mime_root(m); p; p = mail_part_next(p)) {
        if (p->header_start > p->body_start || p->body_start > p->body_end ||
            p->body_end > mail_mime_size(m))
            return 0;
        if (p->parent && (p->header_start < p->parent->body_start ||
                          p->body_end > p->parent->body_end))
            return 0;
    }
    return 1;
}

/* Parse in one piece, byte by byte and from a file: all must agree. */
static void check_tree(const char *name, const char *want)
{
    struct mail_buf a = MAIL_BUF_INIT, b = MAIL_BUF_INIT, c = MAIL_BUF_INIT;
    struct mail_mime *m1, *m2, *m3;
    char path[512];
    size_t len = 0, i;
    char *msg = load(name, &len);
    int fd;

    test_current = name;
    CHECK(msg != NULL);
    if (!msg)
        return;
    m1 = mail_mime_parse_mem(msg, len, NULL, NULL);
    m2 = mail_mime_new(NULL, NULL);
    for (i = 0; i < len; i++)
        mail_mime_push(m2, msg + i, 1, NULL);
    CHECK(mail_mime_finish(m2, NULL) == 0);
    data_path(path, sizeof path, name);
    fd = open(path, O_RDONLY);
    m3 = mail_mime_parse_fd(fd, NULL, NULL);
    close(fd);
    render(&a, m1);
    render(&b, m2);
    render(&c, m3);
    CHECK_STR(a.data, want);
    CHECK_STR(b.data, a.data);
    CHECK_STR(c.data, a.data);
    CHECK(offsets_ok(m1));
    CHECK(mail_mime_size(m1) == len);
    mail_mime_free(m1);
    mail_mime_free(m2);
    mail_mime_free(m3);
    mail_buf_release(&a);
    mail_buf_release(&b);
    mail_buf_release(&c);
    free(msg);
}

static void test_corpus_trees(void)
{
    check_tree("plain.eml",
        "[1] text/plain us-ascii 7bit - - 0-150-181 31 0\n");
    check_tree("header-only.eml",
        "[1] text/plain us-ascii 7bit - - 0-51-51 0 0\n");
    check_tree("no-content-type.eml",
        "[1] text/plain us-ascii 7bit - - 0-35-45 10 0\n");
    check_tree("base64-utf8.eml",
        "[1] text/plain utf-8 base64 - - 0-126-167 30 0\n");
    check_tree("qp-latin1.eml",
        "[1] text/plain iso-8859-1 quoted-printable - - 0-195-266 59 0\n");
    check_tree("nul-bytes.eml",
        "[1] text/plain us-ascii 7bit - - 0-64-78 14 0\n");
    check_tree("unknown-charset.eml",
        "[1] text/plain x-no-such-charset 7bit - - 0-84-103 19 0\n");
    check_tree("multipart-no-boundary.eml",
        "[1] text/plain us-ascii 7bit - - 0-51-66 15 4\n");
    check_tree("html-only.eml",
        "[] multipart/alternative - 7bit - - 0-71-142 0 0\n"
        "  [1] text/html utf-8 7bit - - 77-117-133 16 0\n");
    check_tree("missing-final-boundary.eml",
        "[] multipart/mixed - 7bit - - 0-92-195 0 2\n"
        "  [1] text/plain us-ascii 7bit - - 98-124-129 5 0\n"
        "  [2] text/plain us-ascii 7bit - - 136-162-195 33 0\n");
    check_tree("prefix-boundaries.eml",
        "[] multipart/mixed - 7bit - - 0-89-338 0 0\n"
        "  [1] multipart/alternative - 7bit - - 99-158-283 0 2\n"
        "    [1.1] text/plain us-ascii 7bit - - 169-197-230 33 0\n"
        "    [1.2] text/html us-ascii 7bit - - 246-273-283 10 0\n"
        "  [2] text/plain us-ascii 7bit - - 292-320-325 5 0\n");
    check_tree("nested.eml",
        "[] multipart/mixed - 7bit - - 0-143-820 0 0\n"
        "  [1] multipart/alternative - 7bit - - 173-226-362 0 0\n"
        "    [1.1] text/plain utf-8 7bit - - 234-275-286 11 0\n"
        "    [1.2] text/html utf-8 7bit - - 295-335-352 17 0\n"
        "  [2] application/pdf - base64 attachment report.pdf 371-507-519 9 0\n"
        "  [3] message/rfc822 - 7bit - - 528-558-787 0 0\n"
        "    [3] multipart/mixed - 7bit - - 558-655-787 0 0\n"
        "      [3.1] text/plain us-ascii 7bit - - 662-688-699 11 0\n"
        "      [3.2] image/png - base64 - - 707-766-778 8 0\n");
    check_tree("rfc822-attachment.eml",
        "[] multipart/mixed - 7bit - - 0-88-319 0 0\n"
        "  [1] text/plain us-ascii 7bit - - 94-120-130 10 0\n"
        "  [2] message/rfc822 - 7bit attachment - 137-199-310 0 0\n"
        "    [2.1] text/plain us-ascii 7bit - - 199-296-310 14 0\n");
    check_tree("rfc2231.eml",
        "[] multipart/mixed - 7bit - - 0-77-456 0 0\n"
        "  [1] text/plain us-ascii 7bit - - 81-107-111 4 0\n"
        "  [2] application/octet-stream - base64 attachment "
        "\xe2\x82\xac rapport annuel\xc3\xa9t\xc3\xa9.pdf 116-352-360 4 0\n"
        "  [3] application/octet-stream - 7bit - r\xc3\xa9sum\xc3\xa9.txt "
        "365-446-449 3 0\n");
}

static char *part_text(const char *name, const char *number, int flags)
{
    struct mail_buf b = MAIL_BUF_INIT;
    size_t len;
    char *msg = load(name, &len);
    struct mail_mime *m = mail_mime_parse_mem(msg, len, NULL, NULL);
    const struct mail_part *p = mail_mime_find(m, number);
    char *s = NULL;

    if (p && mail_part_decode_mem(p, msg, len, flags, mail_sink_buf, &b,
                                  NULL) == 0)
        s = mail_buf_detach(&b);
    mail_buf_release(&b);
    mail_mime_free(m);
    free(msg);
    return s;
}

#define TEXT(name, number, flags, want) do { \
        char *got_ = part_text(name, number, flags); \
        CHECK_STR(got_, want); \
        free(got_); \
    } while (0)

static void test_decode(void)
{
    TEXT("plain.eml", "1", MAIL_DECODE_TEXT, "Hello Bob,\nthis is plain text.\n");
    TEXT("qp-latin1.eml", "1", MAIL_DECODE_TEXT,
         "Caf\xc3\xa9 cr\xc3\xa8me, softbreak and trailing\n"
         "bad =ZZ escape = done\n");
    TEXT("qp-latin1.eml", "1", 0,
         "Caf\xe9 cr\xe8me, softbreak and trailing\r\nbad =ZZ escape = done\r\n");
    TEXT("base64-utf8.eml", "1", MAIL_DECODE_TEXT,
         "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln\n\xe2\x82\xac und \xe2\x9c\x93\n");
    TEXT("unknown-charset.eml", "1", MAIL_DECODE_TEXT,
         "na\xc3\xafve caf\xc3\xa9 and \xe2\x9c\x93\n");
    TEXT("nested.eml", "2", 0, "%PDF-1.4\n");
    TEXT("nested.eml", "1.2", MAIL_DECODE_TEXT, "<p>HTML body.</p>");
    TEXT("nested.eml", "3.1", MAIL_DECODE_TEXT, "Inner text.");
    TEXT("prefix-boundaries.eml", "1.1", MAIL_DECODE_TEXT,
         "one\n--abc-defg is not a boundary");
    TEXT("missing-final-boundary.eml", "2", MAIL_DECODE_TEXT,
         "second, and the message just ends");
    TEXT("rfc2231.eml", "2", 0, "\x00\x01\x02\x03");
    TEXT("nested.eml", "9", 0, NULL);    /* no such part */
    {
        /* A multipart gives its raw body. */
        char *raw = part_text("nested.eml", "1", 0);

        CHECK(raw && strncmp(raw, "--inner\n", 8) == 0);
        free(raw);
    }
}

static void test_headers_of_parts(void)
{
    size_t len;
    char *msg = load("nested.eml", &len);
    struct mail_mime *m = mail_mime_parse_mem(msg, len, NULL, NULL);
    const struct mail_part *p = mail_mime_find(m, "3");

    CHECK_STR(mail_header_get(&mail_mime_root(m)->header, "subject"), "nested");
    CHECK(p && strcmp(p->type, "message/rfc822") == 0);
    CHECK(p && p->child &&
          strcmp(mail_header_get(&p->child->header, "subject"),
                 "inner message") == 0);
    CHECK(mail_part_is_attachment(p));
    CHECK(!mail_part_is_attachment(mail_mime_find(m, "1.1")));
    CHECK(mail_part_is_attachment(mail_mime_find(m, "3.2")));
    CHECK(mail_mime_find(m, "9") == NULL);
    mail_mime_free(m);
    free(msg);
}

static const char *readable(const char *name)
{
    static char out[128];
    struct mail_readable r[8];
    size_t len, n, i;
    char *msg = load(name, &len);
    struct mail_mime *m = mail_mime_parse_mem(msg, len, NULL, NULL);

    out[0] = '\0';
    n = mail_mime_readable(m, r, 8);
    CHECK(mail_mime_readable(m, NULL, 0) == n);
    for (i = 0; i < n && i < 8; i++) {
        size_t k = strlen(out);

        mail_snprintf(out + k, sizeof out - k, "%s%s%s", i ? " " : "",
                      r[i].part->number, r[i].html ? "(html)" : "");
    }
    mail_mime_free(m);
    free(msg);
    return out;
}

static void test_readable(void)
{
    CHECK_STR(readable("plain.eml"), "1");
    CHECK_STR(readable("nested.eml"), "1.1");
    CHECK_STR(readable("html-only.eml"), "1(html)");
    CHECK_STR(readable("prefix-boundaries.eml"), "1.1 2");
    CHECK_STR(readable("rfc822-attachment.eml"), "1");
    CHECK_STR(readable("rfc2231.eml"), "1");
    CHECK_STR(readable("multipart-no-boundary.eml"), "1");
}

/* Handmade messages for the limits. */
static struct mail_mime *parse_str(const char *s,
                                   const struct mail_mime_limits *lim)
{
    return mail_mime_parse_mem(s, strlen(s), lim, NULL);
}

static void test_limits(void)
{
    struct mail_buf msg = MAIL_BUF_INIT;
    struct mail_mime_limits lim = { 0, 0, 0, 0 };
    struct mail_mime *m;
    const struct mail_part *p;
    size_t i, deepest = 0;

    /* 40 nested multiparts: parsing stops descending at depth 32. */
    for (i = 0; i < 40; i++)
        mail_buf_printf(&msg, "Content-Type: multipart/mixed; boundary=b%zu\n"
                              "\n--b%zu\n", i, i);
    mail_buf_addstr(&msg, "\ntext\n");
    m = parse_str(msg.data, NULL);
    for (p = mail_mime_root(m); p; p = mail_part_next(p))
        if (p->depth > deepest)
            deepest = p->depth;
    CHECK(deepest == 32);
    CHECK(offsets_ok(m));
    mail_mime_free(m);
    /* Part count. */
    mail_buf_reset(&msg);
    mail_buf_addstr(&msg, "Content-Type: multipart/mixed; boundary=x\n\n");
    for (i = 0; i < 20; i++)
        mail_buf_printf(&msg, "--x\n\npart %zu\n", i);
    lim.parts_max = 5;
    m = parse_str(msg.data, &lim);
    CHECK(mail_mime_count(m) == 5);
    CHECK(mail_mime_root(m)->flags & MAIL_PART_TOO_MANY);
    p = mail_mime_find(m, "4");
    CHECK(p && p->body_end == mail_mime_size(m));  /* the rest is its body */
    mail_mime_free(m);
    /* Header size. */
    lim.parts_max = 0;
    lim.header_max = 64;
    m = parse_str("Subject: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
                  "X-Two: bbbbbbbbbbbbbbbbbbbbbb\nX-Three: c\n\nbody\n", &lim);
    p = mail_mime_root(m);
    CHECK(p->flags & MAIL_PART_HEADER_TRUNCATED);
    CHECK(mail_header_get(&p->header, "subject") != NULL);
    CHECK(mail_header_get(&p->header, "x-three") == NULL);
    mail_mime_free(m);
    /* Digest default type, CRLF boundary with blanks, NUL in boundary. */
    m = parse_str("Content-Type: multipart/digest; boundary=d\r\n\r\n--d \r\n\r\n"
                  "Subject: in digest\r\n\r\nhi\r\n--d--\r\n", NULL);
    p = mail_mime_find(m, "1");
    CHECK(p && strcmp(p->type, "message/rfc822") == 0);
    CHECK(p && p->child && strcmp(p->child->number, "1.1") == 0);
    mail_mime_free(m);
    /* Boundary seen in a part header ends the part. */
    m = parse_str("Content-Type: multipart/mixed; boundary=q\n\n--q\n"
                  "Content-Type: text/html\n--q\nContent-Type: text/plain\n\nx\n"
                  "--q--", NULL);
    CHECK(mail_mime_count(m) == 3);
    p = mail_mime_find(m, "1");
    CHECK(p && strcmp(p->type, "text/html") == 0 &&
          p->body_start == p->body_end);
    p = mail_mime_find(m, "2");
    CHECK(p && p->decoded_size == 1);
    CHECK(offsets_ok(m));
    mail_mime_free(m);
    /* Empty input. */
    m = parse_str("", NULL);
    CHECK(mail_mime_root(m) && mail_mime_size(m) == 0);
    mail_mime_free(m);
    mail_buf_release(&msg);
}

/* --- the header-level files of the corpus ------------------------------ */

struct env {
    struct mail_header h;
    char text[1024];
};

/* Read the header of a corpus file as `mail ls` would: FILE, no body. */
static int read_env(struct env *e, const char *name)
{
    char path[512];
    FILE *f;
    int r;

    data_path(path, sizeof path, name);
    f = fopen(path, "rb");
    if (!f)
        return -1;
    r = mail_header_read_file(&e->h, f, 0, NULL);
    fclose(f);
    return r;
}

static const char *decoded(struct env *e, const char *field)
{
    struct mail_buf b = MAIL_BUF_INIT;
    const char *v = mail_header_get(&e->h, field);

    if (!v)
        return NULL;
    mail_rfc2047_decode(&b, v, strlen(v));
    mail_strlcpy(e->text, b.data ? b.data : "", sizeof e->text);
    mail_buf_release(&b);
    return e->text;
}

static const char *addrs(struct env *e, const char *field)
{
    struct mail_addrlist l = MAIL_ADDRLIST_INIT;
    struct mail_buf b = MAIL_BUF_INIT;
    size_t i;

    mail_addrlist_parse(&l, mail_header_get(&e->h, field), NULL);
    for (i = 0; i < l.n; i++)
        mail_buf_printf(&b, "%s[%s|%s|%s]", i ? " " : "",
                        l.v[i].name ? l.v[i].name : "-", l.v[i].addr,
                        l.v[i].group ? l.v[i].group : "-");
    mail_strlcpy(e->text, b.data ? b.data : "", sizeof e->text);
    mail_buf_release(&b);
    mail_addrlist_release(&l);
    return e->text;
}

static const char *date3339(struct env *e)
{
    time_t t;
    int off;

    if (mail_date_parse(mail_header_get(&e->h, "date"), &t, &off) < 0 ||
        mail_date_format_rfc3339(e->text, sizeof e->text, t, off) < 0)
        return "null";
    return e->text;
}

static void test_corpus_headers(void)
{
    struct env e = { MAIL_HEADER_INIT, "" };

    CHECK(read_env(&e, "ew-split.eml") == 0);
    CHECK_STR(decoded(&e, "subject"), "Caf\xc3\xa9 cr\xc3\xa8me and caf\xc3\xa9");
    CHECK_STR(addrs(&e, "from"), "[Jos\xc3\xa9|jose@example.com|-]");
    CHECK_STR(addrs(&e, "to"), "[Quoted \xc3\xa9|q@example.com|-]");

    CHECK(read_env(&e, "raw-8bit-headers.eml") == 0);
    CHECK_STR(addrs(&e, "from"), "[J\xc3\xb6rg M\xc3\xbcller|joerg@example.de|-]");
    CHECK_STR(addrs(&e, "to"), "[Fran\xc3\xa7ois|f@example.fr|-]");
    CHECK_STR(decoded(&e, "subject"),
              "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x94 raw UTF-8");

    CHECK(read_env(&e, "groups.eml") == 0);
    CHECK_STR(addrs(&e, "to"), "[-||undisclosed-recipients]");
    CHECK_STR(addrs(&e, "cc"), "[-|x@example.com|team] "
              "[Y, Why|y@example.com|team] [-|z@example.com|-]");
    CHECK_STR(addrs(&e, "bcc"), "[-|route@example.com|-]");

    CHECK(read_env(&e, "long-folded.eml") == 0);
    CHECK_STR(decoded(&e, "subject"), "This is a very long subject line that "
              "has been folded  over several lines by a well-behaved mailer");
    CHECK_STR(addrs(&e, "to"), "[-|one@example.com|-] [-|two@example.com|-] "
              "[-|three@example.com|-]");

    CHECK(read_env(&e, "broken-date.eml") == 0);
    CHECK_STR(date3339(&e), "2026-11-03T09:05:00-05:00");
    CHECK(read_env(&e, "plain.eml") == 0);
    CHECK_STR(date3339(&e), "2026-11-03T10:00:00+01:00");
    CHECK(e.h.len == 150);
    CHECK(read_env(&e, "nul-bytes.eml") == 0);
    CHECK_STR(decoded(&e, "subject"), "nul here");
    CHECK(read_env(&e, "header-only.eml") == 0);
    CHECK(!e.h.complete);
    CHECK_STR(decoded(&e, "subject"), "no body, no blank line");
    CHECK(read_env(&e, "no-content-type.eml") == 0);
    CHECK_STR(date3339(&e), "null");
    mail_header_release(&e.h);
}

/* --- a 2 MB attachment, streamed --------------------------------------- */

struct digest {
    uint64_t n;
    uint32_t h;
    size_t max_heap;
};

static size_t heap_in_use(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
    struct mallinfo2 mi = mallinfo2();

    return mi.uordblks;
#else
    return 0;
#endif
}

static int digest_sink(void *ctx, const char *data, size_t len,
                       struct mail_error *err)
{
    struct digest *d = ctx;
    size_t i, h = heap_in_use();

    (void)err;
    for (i = 0; i < len; i++)
        d->h = (d->h ^ (unsigned char)data[i]) * 16777619u;
    d->n += len;
    if (h > d->max_heap)
        d->max_heap = h;
    return 0;
}

static int file_sink(void *ctx, const char *data, size_t len,
                     struct mail_error *err)
{
    if (fwrite(data, 1, len, ctx) == len)
        return 0;
    return mail_error_set(err, MAIL_ERR_IO, "test file: write failed");
}

static void test_big_attachment(void)
{
    const size_t size = 2 << 20;
    char path[] = "/tmp/test_mime.XXXXXX";
    struct digest want = { 0, 2166136261u, 0 }, got = { 0, 2166136261u, 0 };
    struct mail_encoder e;
    struct mail_error err;
    struct mail_mime *m;
    const struct mail_part *p;
    size_t i, before;
    char block[4096];
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w+");
    uint32_t x = 12345;

    CHECK(f != NULL);
    unlink(path);
    fputs("From: a@example.com\r\nContent-Type: multipart/mixed; boundary=BIG\r\n"
          "\r\n--BIG\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n"
          "--BIG\r\nContent-Type: application/octet-stream\r\n"
          "Content-Transfer-Encoding: base64\r\n"
          "Content-Disposition: attachment; filename=big.bin\r\n\r\n", f);
    mail_encoder_init(&e, MAIL_CTE_BASE64, MAIL_ENC_CRLF, file_sink, f);
    for (i = 0; i < size; i += sizeof block) {
        size_t k;

        for (k = 0; k < sizeof block; k++) {
            x = x * 1103515245u + 12345u;
            block[k] = (char)(x >> 16);
        }
        digest_sink(&want, block, sizeof block, NULL);
        mail_encoder_push(&e, block, sizeof block, NULL);
    }
    mail_encoder_finish(&e, NULL);
    fputs("--BIG--\r\n", f);
    fflush(f);
    lseek(fd, 0, SEEK_SET);

    before = heap_in_use();
    m = mail_mime_parse_fd(fd, NULL, &err);
    CHECK(m != NULL);
    /* The parse keeps headers only. */
    CHECK(heap_in_use() - before < 256 * 1024 || heap_in_use() == 0);
    p = mail_mime_find(m, "2");
    CHECK(p && p->decoded_size == size);
    CHECK_STR(p ? p->filename : NULL, "big.bin");
    CHECK(p && mail_part_decode_fd(p, fd, 0, digest_sink, &got, &err) == 0);
    CHECK(got.n == want.n && got.h == want.h);
    CHECK(got.max_heap - before < 512 * 1024 || got.max_heap == 0);
    mail_mime_free(m);
    fclose(f);
}

/* A line with no colon in a header section ends the header and is the
 * first line of the body (python's email package, mutt): for the message
 * and for each part; parsed whole and byte by byte alike. */
static void test_no_separator(void)
{
    TEXT("no-separator.eml", "1", MAIL_DECODE_TEXT,
         "This body line follows the header without an empty line\n"
         "and: this line looks like a field but is body\n\n"
         "Last paragraph.\n");
    TEXT("part-no-separator.eml", "1", MAIL_DECODE_TEXT,
         "The part text starts right after its header\nand goes on here.");
    TEXT("part-no-separator.eml", "2", MAIL_DECODE_TEXT, "Second part.");
    TEXT("first-line-continuation.eml", "1", MAIL_DECODE_TEXT,
         "The body is all here.\n");
    check_tree("no-separator.eml",
        "[1] text/plain us-ascii 7bit - - 0-74-193 119 32\n");
    {
        const char *s = "Subject: x\r\nno colon here\r\n"
                        "Content-Type: text/html\r\n\r\nrest\r\n";
        struct mail_mime *m = mail_mime_parse_mem(s, strlen(s), NULL, NULL);
        const struct mail_part *p = mail_mime_root(m);

        CHECK(p && strcmp(p->type, "text/plain") == 0);
        CHECK(p && p->body_start == 12);
        CHECK(p && (p->flags & MAIL_PART_NO_SEPARATOR));
        CHECK_STR(p ? mail_header_get(&p->header, "subject") : NULL, "x");
        mail_mime_free(m);
        /* A boundary right after a part's header still ends the part. */
        s = "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
            "Content-Type: text/plain\nhello\n--b\n\nworld\n--b--\n";
        m = mail_mime_parse_mem(s, strlen(s), NULL, NULL);
        CHECK(mail_mime_count(m) == 3);
        p = mail_mime_find(m, "1");
        CHECK(p && p->decoded_size == 5);
        CHECK(p && (p->flags & MAIL_PART_NO_SEPARATOR));
        mail_mime_free(m);
    }
}

/* Many siblings: appended and numbered in O(1) each (was a walk of the
 * sibling list per part, quadratic); the numbers stay right. */
static void test_many_parts(void)
{
    struct mail_buf msg = MAIL_BUF_INIT;
    struct mail_mime *m;
    const struct mail_part *p;
    size_t i, n = 0;

    mail_buf_addstr(&msg, "Content-Type: multipart/mixed; boundary=b\n\n");
    for (i = 1; i <= 5000; i++)
        mail_buf_printf(&msg, "--b\n\npart %zu\n", i);
    mail_buf_addstr(&msg, "--b--\n");
    m = mail_mime_parse_mem(msg.data, msg.len, NULL, NULL);
    CHECK(mail_mime_count(m) == 5001);
    for (p = mail_mime_root(m)->child, i = 1; p; p = p->next, i++) {
        char want[32];

        mail_snprintf(want, sizeof want, "%zu", i);
        if (strcmp(p->number, want) == 0)
            n++;
    }
    CHECK(n == 5000);
    p = mail_mime_find(m, "5000");
    CHECK(p && p->decoded_size == strlen("part 5000"));
    mail_mime_free(m);
    mail_buf_release(&msg);
}

/* A sink that takes `room` bytes, then fails as a full disk does. */
static int enospc_sink(void *ctx, const char *data, size_t len,
                       struct mail_error *err)
{
    size_t *room = ctx;

    (void)data;
    if (len <= *room) {
        *room -= len;
        return 0;
    }
    return mail_error_set(err, MAIL_ERR_IO,
                          "temporary file: No space left on device");
}

/* The sink's own error is what the caller gets, through the whole
 * pipeline (transfer decoding, charset conversion, CRLF to LF), whether
 * it fails in the middle or at the final flush; before, the pipeline
 * replaced it by a bare "output failed". */
static void test_sink_error(void)
{
    static const char small[] =
        "Content-Type: text/plain; charset=iso-8859-1\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
        "SGVsbG8sIHdvcmxkIQ0KVGhpcyBpcyBhIHRleHQgaW4gTGF0aW4tMTogY2Fm6Q0K\r\n";
    static const size_t rooms[] = { 0, 5, 20, 10000 };
    struct mail_buf big = MAIL_BUF_INIT;

    /* small: every byte waits for the final flush; big (28 KB of
     * quoted-printable): the sink fails in the middle */
    mail_buf_addstr(&big, "Content-Type: text/plain; charset=iso-8859-1\r\n"
                          "Content-Transfer-Encoding: quoted-printable\r\n"
                          "\r\n");
    for (int i = 0; i < 2000; i++)
        mail_buf_addstr(&big, "caf=E9 au lait\r\n");
    for (int k = 0; k < 2; k++) {
        const char *msg = k ? big.data : small;
        size_t len = k ? big.len : sizeof small - 1;
        struct mail_mime *m = mail_mime_parse_mem(msg, len, NULL, NULL);
        const struct mail_part *p = m ? mail_mime_root(m) : NULL;
        char path[] = "/tmp/test_mime.XXXXXX";
        int fd = mkstemp(path);

        CHECK(p != NULL && fd >= 0);
        if (!p || fd < 0)
            break;
        unlink(path);
        CHECK(write(fd, msg, len) == (ssize_t)len);
        for (size_t i = 0; i < sizeof rooms / sizeof rooms[0]; i++) {
            if (!k && rooms[i] > 40)
                break;      /* small has 47 bytes: this room takes them */
            for (int flags = 0; flags <= MAIL_DECODE_TEXT; flags++) {
                struct mail_error err;
                size_t room = rooms[i];
                int r;

                mail_error_clear(&err);
                r = mail_part_decode_mem(p, msg, len, flags, enospc_sink,
                                         &room, &err);
                CHECK(r == -1);
                CHECK(err.kind == MAIL_ERR_IO);
                CHECK_STR(err.msg, "temporary file: No space left on device");

                room = rooms[i];
                mail_error_clear(&err);
                r = mail_part_decode_fd(p, fd, flags, enospc_sink, &room,
                                        &err);
                CHECK(r == -1);
                CHECK(err.kind == MAIL_ERR_IO);
                CHECK_STR(err.msg, "temporary file: No space left on device");
            }
        }
        close(fd);
        mail_mime_free(m);
    }
    mail_buf_release(&big);
}

/* The readable rendering (headers, text parts, HTML through the built-in
 * renderer and the terminal-safe stream, the attachment list): a sink
 * that fails gives its own error wherever it stops (before, the error
 * was cleared and the caller could not say why). */
static void test_render_sink_error(void)
{
    static const char msg[] =
        "From: a@x.test\r\nTo: b@y.test\r\nSubject: s\r\n"
        "Content-Type: multipart/mixed; boundary=B\r\n\r\n"
        "--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "plain caf\xc3\xa9 text\r\n"
        "--B\r\nContent-Type: text/html\r\n\r\n"
        "<p>some <b>html</b> <a href=\"http://x.test/\">link</a></p>\r\n"
        "--B\r\nContent-Type: application/pdf\r\n"
        "Content-Disposition: attachment; filename=a.pdf\r\n\r\n"
        "%PDF\r\n--B--\r\n";
    struct mail_render_opts o;
    struct mail_render *r;
    struct mail_mime *m = mail_mime_parse_mem(msg, sizeof msg - 1, NULL, NULL);
    struct mail_buf out = MAIL_BUF_INIT;
    struct mail_error err;
    char path[] = "/tmp/test_mime.XXXXXX";
    int fd = mkstemp(path);
    size_t total, bad = 0;

    memset(&o, 0, sizeof o);
    r = mail_render_new(&o);
    CHECK(r != NULL && m != NULL && fd >= 0);
    if (!r || !m || fd < 0)
        return;
    unlink(path);
    CHECK(write(fd, msg, sizeof msg - 1) == (ssize_t)(sizeof msg - 1));
    {
        struct mail_render_msg rm = { fd, m, "1", 0, 0, 0 };

        CHECK(mail_render_headers(r, &rm, false, mail_sink_buf, &out,
                                  &err) == 0 &&
              mail_render_text(r, &rm, mail_sink_buf, &out, NULL,
                               &err) == 0 &&
              mail_render_attachments(&rm, mail_sink_buf, &out, &err) == 0);
    }
    total = out.len;
    CHECK(strstr(out.data ? out.data : "", "html") != NULL);
    for (size_t room = 0; room < total; room++) {
        struct mail_render_msg rm = { fd, m, "1", 0, 0, 0 };
        size_t left = room;
        int rc;

        mail_error_clear(&err);
        rc = mail_render_headers(r, &rm, false, enospc_sink, &left, &err);
        if (rc == 0)
            rc = mail_render_text(r, &rm, enospc_sink, &left, NULL, &err);
        if (rc == 0)
            rc = mail_render_attachments(&rm, enospc_sink, &left, &err);
        if (rc != -1 || err.kind != MAIL_ERR_IO ||
            strcmp(err.msg, "temporary file: No space left on device")) {
            printf("# room %zu: %d \"%s\"\n", room, rc, err.msg);
            bad++;
        }
    }
    CHECK(bad == 0);
    close(fd);
    mail_buf_release(&out);
    mail_render_free(r);
    mail_mime_free(m);
}

int main(void)
{
    RUN(test_corpus_trees);
    RUN(test_many_parts);
    RUN(test_no_separator);
    RUN(test_decode);
    RUN(test_headers_of_parts);
    RUN(test_readable);
    RUN(test_limits);
    RUN(test_corpus_headers);
    RUN(test_big_attachment);
    RUN(test_sink_error);
    RUN(test_render_sink_error);
    return test_done();
}
