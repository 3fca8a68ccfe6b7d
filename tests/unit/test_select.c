/* test_select.c - listing numbers: ranges, the saved listing, resolving
 * after a move, the mbox identity check, the remap after a rewrite. */
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/select.h"
#include "test.h"
#include "fixture.h"

static char *state;

static void make_maildir(const char *rel)
{
    char p[1100];

    mkdir(fixture_path(rel), 0700);
    snprintf(p, sizeof p, "%s/cur", fixture_path(rel));
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/new", fixture_path(rel));
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/tmp", fixture_path(rel));
    mkdir(p, 0700);
}

/* ---- numbers and ranges ---- */

struct collect {
    size_t v[64];
    size_t n;
};

static int collect(void *arg, size_t num, struct mail_error *err)
{
    struct collect *c = arg;

    (void)err;
    if (c->n < 64)
        c->v[c->n++] = num;
    return 0;
}

static void test_numbers(void)
{
    struct collect c = { .n = 0 };
    struct mail_error err;

    mail_error_clear(&err);
    CHECK(mail_parse_numbers("1-3,7", collect, &c, &err) == 0);
    CHECK(c.n == 4 && c.v[0] == 1 && c.v[1] == 2 && c.v[2] == 3 &&
          c.v[3] == 7);
    c.n = 0;
    CHECK(mail_parse_numbers("5,9", collect, &c, &err) == 0);
    CHECK(c.n == 2 && c.v[0] == 5 && c.v[1] == 9);
    c.n = 0;
    CHECK(mail_parse_numbers("3", collect, &c, &err) == 0);
    CHECK(c.n == 1 && c.v[0] == 3);
    /* Not numbers at all: 1, nothing called. */
    c.n = 0;
    CHECK(mail_parse_numbers("", collect, &c, &err) == 1);
    CHECK(mail_parse_numbers("x", collect, &c, &err) == 1);
    CHECK(mail_parse_numbers("3,", collect, &c, &err) == 1);
    CHECK(mail_parse_numbers("3,,4", collect, &c, &err) == 1);
    CHECK(mail_parse_numbers("-3", collect, &c, &err) == 1);
    CHECK(mail_parse_numbers("3-", collect, &c, &err) == 1);
    CHECK(mail_parse_numbers("1-2-3", collect, &c, &err) == 1);
    CHECK(mail_parse_numbers("1234567890", collect, &c, &err) == 1);
    CHECK(c.n == 0);
    /* Bad ranges are usage errors, found before any number is used. */
    mail_error_clear(&err);
    CHECK(mail_parse_numbers("1,7-3", collect, &c, &err) == -1);
    CHECK(err.kind == MAIL_ERR_USAGE);
    CHECK(strstr(err.msg, "a range goes up, as in 3-7") != NULL);
    CHECK(c.n == 0);
    mail_error_clear(&err);
    CHECK(mail_parse_numbers("1-9999999", collect, &c, &err) == -1);
    CHECK(err.kind == MAIL_ERR_USAGE);
    CHECK(strstr(err.msg, "range too large") != NULL);
    CHECK(c.n == 0);
}

/* ---- the saved listing ---- */

static struct mail_folder *open_folder(const char *rel, int mode)
{
    struct mail_error err;
    struct mail_folder *f = mail_folder_open(fixture_path(rel), mode,
                                             &fixture_paths, &err);

    if (!f)
        printf("# open %s: %s\n", rel, err.msg);
    return f;
}

/* Select argv in folder rel; returns the subjects, comma-separated, in a
 * static buffer, or "ERR:KIND:msg". */
static const char *select_in(const char *rel, const char *arg)
{
    static char out[2048];
    struct mail_selection sel;
    struct mail_error err;
    struct mail_folder *f = open_folder(rel, MAIL_FOLDER_RDONLY);
    char *argv[1];

    out[0] = '\0';
    if (!f)
        return "ERR:open";
    argv[0] = (char *)arg;
    mail_error_clear(&err);
    if (mail_select(state, f, 1, argv, &sel, &err) < 0) {
        snprintf(out, sizeof out, "ERR:%d:%s", (int)err.kind, err.msg);
    } else {
        for (size_t i = 0; i < sel.n; i++) {
            const char *s = sel.all.v[sel.idx[i]].subject;

            if (i)
                strncat(out, ",", sizeof out - strlen(out) - 1);
            strncat(out, s ? s : "?", sizeof out - strlen(out) - 1);
        }
        mail_selection_release(&sel);
    }
    mail_folder_close(f, &err);
    return out;
}

/* List folder rel (in folder order) and save that as the listing. */
static void save_listing(const char *rel)
{
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct mail_error err;
    struct mail_folder *f = open_folder(rel, MAIL_FOLDER_RDONLY);

    CHECK(f != NULL);
    if (!f)
        return;
    CHECK(mail_folder_list(f, &l, 0, &err) == 0);
    CHECK(mail_listing_save(state, f, &l, NULL, l.n, &err) == 0);
    mail_envelope_list_release(&l);
    mail_folder_close(f, &err);
}

static void test_save_load(void)
{
    struct mail_listing l;
    struct mail_error err;
    struct mail_folder *f;
    const char *keys[3] = { "a", NULL, "c" };
    char *buf;

    make_maildir("md");
    f = open_folder("md", MAIL_FOLDER_RDONLY);
    CHECK(f != NULL);
    if (!f)
        return;
    mail_error_clear(&err);
    /* No listing yet. */
    CHECK(mail_listing_load(state, f, &l, &err) == 0);
    CHECK(!l.exists && l.n == 0);
    mail_listing_release(&l);
    CHECK(mail_listing_write(state, f, keys, 3, &err) == 0);
    CHECK(mail_listing_load(state, f, &l, &err) == 0);
    CHECK(l.exists && l.n == 3);
    if (l.n == 3) {
        CHECK_STR(l.keys[0], "a");
        CHECK_STR(l.keys[1], "");
        CHECK_STR(l.keys[2], "c");
    }
    mail_listing_release(&l);
    mail_folder_close(f, &err);

    /* The file format: header, folder path, keys. */
    buf = strdup(MAIL_LISTING_MAGIC "\n/x/y\nk1\n\nk3\n");
    CHECK(mail_listing_parse(buf, "/x/y", &l, &err) == 0);
    CHECK(l.exists && l.n == 3);
    mail_listing_release(&l);
    /* Another folder (a hash collision), another format, a cut file. */
    buf = strdup(MAIL_LISTING_MAGIC "\n/x/z\nk1\n");
    CHECK(mail_listing_parse(buf, "/x/y", &l, &err) == 0 && !l.exists);
    mail_listing_release(&l);
    buf = strdup("mail-listing 2\n/x/y\nk1\n");
    CHECK(mail_listing_parse(buf, "/x/y", &l, &err) == 0 && !l.exists);
    mail_listing_release(&l);
    buf = strdup(MAIL_LISTING_MAGIC "\n/x/y\nk1");
    CHECK(mail_listing_parse(buf, "/x/y", &l, &err) == 0 && !l.exists);
    mail_listing_release(&l);
}

/* ---- resolving ---- */

/* CHECK_STR with a prefix: the folder path ends the messages above. */
static const char *prefix(const char *got, const char *want)
{
    return strncmp(got, want, strlen(want)) == 0 ? want : got;
}

#undef CHECK_STR
#define CHECK_STR(got, want) \
    test_check_str(prefix((got), (want)), (want), #got, __FILE__, __LINE__)


static void test_maildir_moved(void)
{
    make_maildir("in");
    make_maildir("other");
    fixture_write("in/cur/1000.a.host:2,S", "Subject: one\n\nbody\n");
    fixture_write("in/cur/1001.b.host:2,", "Subject: two\n"
               "Message-ID: <two@x>\n\nbody\n");
    fixture_write("in/new/1002.c.host", "Subject: three\n\nbody\n");
    CHECK_STR(select_in("in", "1"),
              "ERR:3:message numbers come from the last 'mail ls' of a "
              "folder, and " );
    save_listing("in");
    CHECK_STR(select_in("in", "1-3"), "one,two,three");
    CHECK_STR(select_in("in", "3,1,1"), "three,one");
    CHECK_STR(select_in("in", "<two@x>"), "two");
    /* Moved from new/ to cur/ with flags: still number 3. */
    CHECK(rename(fixture_path("in/new/1002.c.host"),
                 fixture_path("in/cur/1002.c.host:2,S")) == 0);
    CHECK_STR(select_in("in", "3"), "three");
    /* Moved away to another folder: 2 is gone, the others keep their
     * numbers. */
    {
        struct mail_selection sel;
        struct mail_error err;
        struct mail_folder *f = open_folder("in", MAIL_FOLDER_RDWR);
        struct mail_folder *to = open_folder("other", MAIL_FOLDER_RDWR);
        char *argv[1] = { "2" };

        CHECK(f && to);
        if (!f || !to)
            return;
        mail_error_clear(&err);
        CHECK(mail_select(state, f, 1, argv, &sel, &err) == 0);
        CHECK(sel.n == 1 && sel.number[0] == 2);
        if (sel.n == 1)
            CHECK(mail_folder_move(f, &sel.all.v[sel.idx[0]], to, NULL,
                                   &err) == 0);
        CHECK(mail_folder_close(to, &err) == 0);
        CHECK(mail_listing_remap(state, f, &sel.all, NULL, &err) == 0);
        mail_selection_release(&sel);
    }
    CHECK_STR(select_in("in", "2"), "ERR:3:message 2 of the last listing "
              "is no longer in ");
    CHECK_STR(select_in("in", "1,3"), "one,three");
    CHECK_STR(select_in("in", "4"), "ERR:3:no message 4 in the last listing"
              " of ");
}

static const char mbox3[] =
    "From a@x Mon Jan  1 00:00:00 2024\nSubject: one\n\nbody 1\n\n"
    "From b@x Mon Jan  1 00:00:01 2024\nSubject: two\n\nbody 2\n\n"
    "From c@x Mon Jan  1 00:00:02 2024\nSubject: three\n\nbody 3\n\n";

static void test_mbox_identity(void)
{
    fixture_write("box", mbox3);
    save_listing("box");
    CHECK_STR(select_in("box", "2-3"), "two,three");
    /* Another program expunged message 2: 3 is found at its new offset,
     * 2 is refused rather than taken for the message now at its offset. */
    fixture_write("box",
               "From a@x Mon Jan  1 00:00:00 2024\nSubject: one\n\nbody 1\n\n"
               "From c@x Mon Jan  1 00:00:02 2024\nSubject: three\n\n"
               "body 3\n\n");
    CHECK_STR(select_in("box", "3"), "three");
    CHECK_STR(select_in("box", "2"), "ERR:3:message 2 of the last listing "
              "of ");
    CHECK(strstr(select_in("box", "2"), "the folder changed: run mail ls "
                 "again") != NULL);
    /* Our own expunge: the remap keeps the numbers right. */
    fixture_write("box", mbox3);
    save_listing("box");
    {
        struct mail_selection sel;
        struct mail_error err;
        struct mail_folder *f = open_folder("box", MAIL_FOLDER_RDWR);
        char *argv[1] = { "1" };
        bool removed[3] = { false, false, false };

        if (!f)
            return;
        mail_error_clear(&err);
        CHECK(mail_select(state, f, 1, argv, &sel, &err) == 0);
        CHECK(sel.n == 1);
        if (sel.n == 1) {
            CHECK(mail_folder_expunge(f, &sel.all.v[sel.idx[0]], &err) == 0);
            removed[sel.idx[0]] = true;
        }
        CHECK(mail_listing_remap(state, f, &sel.all, removed, &err) == 0);
        mail_selection_release(&sel);
    }
    CHECK_STR(select_in("box", "2,3"), "two,three");
    CHECK_STR(select_in("box", "1"), "ERR:3:message 1 of the last listing "
              "of ");
}

static void test_bad_args(void)
{
    CHECK_STR(select_in("in", "x"), "ERR:1:'x' is not a message: give a "
              "number from 'mail ls'");
    CHECK_STR(select_in("in", "3-1"), "ERR:1:'3-1': a range goes up, as in "
              "1-3");
    CHECK_STR(select_in("in", ""), "ERR:1:empty message argument");
    CHECK_STR(select_in("in", "<>"), "ERR:1:'<>': a message-id is written");
    CHECK_STR(select_in("in", "uid:3"), "ERR:1:'uid:3': uid:N is for IMAP");
    CHECK_STR(select_in("in", "<none@x>"), "ERR:3:no message <none@x> in ");
    CHECK_STR(select_in("in", "/etc/passwd"), "ERR:3:/etc/passwd: not a "
              "message of ");
}

static void test_from_paths(void)
{
    struct mail_folder *f = NULL;
    struct mail_error err;
    char *argv[2];
    char a[1100], b[1100];

    make_maildir("p1");
    make_maildir("p2");
    fixture_write("p1/cur/1.x:2,", "Subject: p\n\nb\n");
    fixture_write("p2/cur/2.x:2,", "Subject: q\n\nb\n");
    snprintf(a, sizeof a, "%s", fixture_path("p1/cur/1.x:2,"));
    snprintf(b, sizeof b, "%s", fixture_path("p2/cur/2.x:2,"));
    argv[0] = a;
    argv[1] = b;
    mail_error_clear(&err);
    CHECK(mail_folder_from_paths(1, argv, MAIL_FOLDER_RDONLY, &fixture_paths,
                                 &f, &err) == 1);
    if (f) {
        struct mail_folder *g = open_folder("p1", MAIL_FOLDER_RDONLY);

        CHECK(g && mail_folder_same(f, g));
        if (g)
            mail_folder_close(g, &err);
        mail_folder_close(f, &err);
    }
    CHECK(mail_folder_from_paths(2, argv, MAIL_FOLDER_RDONLY, &fixture_paths,
                                 &f, &err) ==
          -1);
    CHECK(err.kind == MAIL_ERR_USAGE);
    argv[0] = "3";
    CHECK(mail_folder_from_paths(1, argv, MAIL_FOLDER_RDONLY, &fixture_paths,
                                 &f, &err) == 0);
}

int main(void)
{
    char st[1100];

    if (fixture_open("select") < 0)
        return 1;
    snprintf(st, sizeof st, "%s/state/mail", fixture_root);
    state = st;
    RUN(test_numbers);
    RUN(test_save_load);
    RUN(test_maildir_moved);
    RUN(test_mbox_identity);
    RUN(test_bad_args);
    RUN(test_from_paths);
    fixture_close();
    return test_done();
}
