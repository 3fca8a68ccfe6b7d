/* test_indexrow.c - the index row shared by mail ls and the reader
 * (mail/indexrow.h) and the display widths under it (mail/width.h). */
#include <stdlib.h>
#include <string.h>

#include "mail/indexrow.h"
#include "mail/width.h"
#include "test.h"

static void test_widths(void)
{
    size_t n, used;

    CHECK(mail_width("abc", 3) == 3);
    CHECK(mail_width("\xe5\xb1\xb1\xe7\x94\xb0", 6) == 4);          /* 山田 */
    CHECK(mail_width("\xf0\x9f\x8e\x89", 4) == 2);                  /* 🎉 */
    CHECK(mail_width("Cafe\xcc\x81", 6) == 4);                     /* é */
    CHECK(mail_width("\xff", 1) == 1);                              /* bad */
    CHECK(mail_char_width("\xe5\xb1\xb1", 3, &n) == 2 && n == 3);
    /* Whole characters only, the combining mark with its base. */
    CHECK(mail_width_fit("ab\xe5\xb1\xb1", 5, 3, &used) == 2 && used == 2);
    CHECK(mail_width_fit("Cafe\xcc\x81x", 7, 4, &used) == 6 && used == 4);
}

static void test_flags(void)
{
    char f[5];

    mail_index_flags(0, false, f);
    CHECK_STR(f, "U   ");
    mail_index_flags(MAIL_FLAG_NEW, true, f);
    CHECK_STR(f, "N  A");
    mail_index_flags(MAIL_FLAG_SEEN | MAIL_FLAG_ANSWERED | MAIL_FLAG_FLAGGED |
                     MAIL_FLAG_DELETED, false, f);
    CHECK_STR(f, " RF ");
    mail_index_flags(MAIL_FLAG_SEEN | MAIL_FLAG_PASSED | MAIL_FLAG_DELETED,
                     false, f);
    CHECK_STR(f, " PT ");
    mail_index_flags(MAIL_FLAG_SEEN | MAIL_FLAG_DRAFT, false, f);
    CHECK_STR(f, "  D ");
}

static void test_attach_mark(void)
{
    struct mail_envelope e;

    memset(&e, 0, sizeof e);
    CHECK(!mail_envelope_attach_mark(&e));
    e.content_type = "Multipart/Mixed; boundary=x";
    CHECK(mail_envelope_attach_mark(&e));
    e.content_type = "multipart/alternative";
    CHECK(!mail_envelope_attach_mark(&e));
    e.attachments = 2;
    CHECK(mail_envelope_attach_mark(&e));
}

static void test_layout(void)
{
    struct mail_index_layout l;

    mail_index_layout_init(&l, 80, 10, 6);
    CHECK(l.numw == 2 && l.datew == 6 && l.fromw == 20 && l.subjw == 41);
    mail_index_layout_init(&l, 50, 10, 6);
    CHECK(l.fromw == 12 && l.subjw == 19);
    mail_index_layout_init(&l, 0, 100000, 10);
    CHECK(l.numw == 6 && l.fromw == 20 && l.subjw == 0);
    mail_index_layout_init(&l, 30, 9, 5);
    CHECK(l.fromw == 8);
}

/* One row at cols columns: its text. */
static char *row(size_t cols, const char *from, const char *subject,
                 const char *tree)
{
    struct mail_index_layout l;
    struct mail_buf b = MAIL_BUF_INIT;

    mail_index_layout_init(&l, cols, 10, 6);
    CHECK(mail_index_row(&b, &l, &(struct mail_index_fields){
        .number = 3, .flags = "U  A", .date = "Nov  3", .datelen = 6,
        .from = from, .subject = subject, .tree = tree }) == 0);
    return mail_buf_detach(&b);
}

/* The display column where the subject starts (after the sender and two
 * blanks), found by the first byte of want. */
static size_t col_of(const char *line, const char *want)
{
    const char *p = strstr(line + 16, want);

    return p ? mail_width(line, (size_t)(p - line)) : (size_t)-1;
}

static void test_rows(void)
{
    static const char *const from[] = {
        "Bob", "\xe5\xb1\xb1\xe7\x94\xb0 \xe8\x8a\xb1\xe5\xad\x90",
        "\xf0\x9f\x98\x80 Emoji", "Cafe\xcc\x81",
        "\xe5\xb1\xb1\xe7\x94\xb0\xe5\xb1\xb1\xe7\x94\xb0\xe5\xb1\xb1\xe7"
        "\x94\xb0\xe5\xb1\xb1\xe7\x94\xb0\xe5\xb1\xb1\xe7\x94\xb0\xe5\xb1\xb1",
        "Evil\x1b[2J", "Bidi \xe2\x80\xae" "evil",
    };
    static const size_t widths[] = { 80, 50 };
    char *s;

    s = row(80, "Bob", "Lunch?", NULL);
    CHECK_STR(s, " 3 U  A Nov  3  Bob                   Lunch?");
    free(s);
    s = row(80, "", "", NULL);
    CHECK_STR(s, " 3 U  A Nov  3  (nobody)              (no subject)");
    free(s);
    /* Not a terminal: nothing cut, the sender padded to 20. */
    s = row(0, "A very long sender name here", "x", NULL);
    CHECK_STR(s, " 3 U  A Nov  3  A very long sender name here  x");
    free(s);
    for (size_t w = 0; w < 2; w++) {
        size_t cols = widths[w], fromw = cols == 80 ? 20 : 12;

        for (size_t k = 0; k < sizeof from / sizeof from[0]; k++) {
            /* A wide subject, cut: the line stays within cols - 1. */
            s = row(cols, from[k], "SUBJ \xe4\xbc\x81\xe7\x94\xbb\xe4\xbc\x9a"
                    "\xe8\xad\xb0\xe3\x81\xae\xe8\xad\xb0\xe4\xba\x8b\xe9\x8c"
                    "\xb2\xe4\xbc\x81\xe7\x94\xbb\xe4\xbc\x9a\xe8\xad\xb0\xe3"
                    "\x81\xae\xe8\xad\xb0\xe4\xba\x8b\xe9\x8c\xb2\xe4\xbc\x81"
                    "\xe7\x94\xbb\xe4\xbc\x9a\xe8\xad\xb0", NULL);
            CHECK(col_of(s, "SUBJ") == 16 + fromw + 2);
            CHECK(mail_width(s, strlen(s)) <= cols - 1);
            CHECK(strstr(s, "\xe2\x80\xa6") != NULL);
            /* Control characters defused, never raw. */
            for (const char *p = s; *p; p++)
                CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
            CHECK(strstr(s, "\xe2\x80\xae") == NULL);
            free(s);
        }
    }
    s = row(80, "Evil\x1b[2J", "Bell\a", NULL);
    CHECK(strstr(s, "Evil^[[2J") != NULL && strstr(s, "Bell^G") != NULL);
    free(s);
    s = row(80, "Bidi \xe2\x80\xae" "evil", "x", NULL);
    CHECK(strstr(s, "Bidi <U+202E>evil") != NULL);
    free(s);
    /* A wide character that does not fit the sender column leaves its
     * column blank: 20 columns are 9 CJK + "…" + one blank. */
    s = row(80, from[4], "S", NULL);
    CHECK(col_of(s, "S") == 38);
    free(s);
    /* Thread marks go before the subject and are cut with it. */
    s = row(50, "Bob", "Hello", "  \xe2\x94\x94\xe2\x94\x80");
    CHECK(strstr(s, "  \xe2\x94\x94\xe2\x94\x80Hello") != NULL);
    free(s);
}

static void test_tree(void)
{
    static const unsigned depth[] = { 0, 1, 2, 1, 0, 1, 3 };
    char **m = mail_index_tree_marks(depth, 7);
    struct mail_buf b = MAIL_BUF_INIT;

    CHECK(m != NULL);
    if (!m)
        return;
    CHECK_STR(m[0], "");
    CHECK_STR(m[1], "\xe2\x94\x9c\xe2\x94\x80>");               /* ├─> */
    CHECK_STR(m[2], "\xe2\x94\x82 \xe2\x94\x94\xe2\x94\x80>");  /* │ └─> */
    CHECK_STR(m[3], "\xe2\x94\x94\xe2\x94\x80>");               /* └─> */
    CHECK_STR(m[4], "");
    CHECK_STR(m[5], "\xe2\x94\x94\xe2\x94\x80>");
    CHECK_STR(m[6], "    \xe2\x94\x94\xe2\x94\x80>");
    for (size_t i = 0; i < 7; i++)
        free(m[i]);
    free(m);
    mail_index_thread_prefix(&b, 2);
    CHECK_STR(b.data, "  \xe2\x94\x94\xe2\x94\x80");
    mail_buf_release(&b);
}

int main(void)
{
    RUN(test_widths);
    RUN(test_flags);
    RUN(test_attach_mark);
    RUN(test_layout);
    RUN(test_rows);
    RUN(test_tree);
    return test_done();
}
