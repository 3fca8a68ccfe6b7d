/* test_maildir.c - the Maildir driver, folder.c's move and store names. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/folder.h"
#include "mail/sort.h"
#include "test.h"
#include "fixture.h"

static int count_files(const char *rel)
{
    DIR *d = opendir(fixture_path(rel));
    struct dirent *de;
    int n = 0;

    if (!d)
        return -1;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static bool exists(const char *rel)
{
    return access(fixture_path(rel), F_OK) == 0;
}

static const struct mail_envelope *find_key(const struct mail_envelope_list *l,
                                            const char *key)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        if (strcmp(l->v[i].key, key) == 0)
            return &l->v[i];
    return NULL;
}

#define MSG_A "From: Alice <alice@example.com>\nTo: bob@example.com\n" \
              "Subject: a\nDate: Tue, 3 Nov 2026 10:00:00 +0100\n" \
              "Message-ID: <a@x>\n\nbody a\n"

static void setup_maildir(void)
{
    struct mail_error err;
    struct mail_folder *f;

    f = mail_folder_open(fixture_path("Mail"), MAIL_FOLDER_RDWR |
                         MAIL_FOLDER_CREATE, &fixture_paths, &err);
    CHECK(f != NULL);
    CHECK(mail_folder_kind(f) == MAIL_FOLDER_MAILDIR);
    CHECK(exists("Mail/cur") && exists("Mail/new") && exists("Mail/tmp"));
    mail_folder_close(f, &err);
    fixture_write("Mail/new/1000.A.host", MSG_A);
    fixture_write("Mail/cur/999.B.host:2,S",
               "From: b@x\nSubject: b\n\nbody b\n");
    fixture_write("Mail/cur/1001.C.host:2,FRa",
               "From: c@x\nSubject: c\nIn-Reply-To: <a@x>\n"
               "References: <a@x>\n\nbody c\n");
    fixture_write("Mail/cur/1002.D.host;2,RS", "Subject: d\n\nd\n");
    fixture_write("Mail/cur/.hidden", "not a message\n");
    fixture_write("Mail/new/notanumber.E.host",
               "Subject: e (no header end)");
}

static void test_list(void)
{
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct mail_error err;
    struct mail_folder *f;
    const struct mail_envelope *e;
    char *s;

    setup_maildir();
    f = mail_folder_open(fixture_path("Mail"), MAIL_FOLDER_RDONLY,
                         &fixture_paths, &err);
    CHECK(f != NULL);
    if (!f)
        return;
    CHECK(mail_folder_list(f, &l, 0, &err) == 0);
    CHECK(l.n == 5);
    if (l.n == 5) {
        /* by delivery time: names first, the mtime for "notanumber" */
        CHECK_STR(l.v[0].key, "999.B.host");
        CHECK_STR(l.v[1].key, "1000.A.host");
        CHECK_STR(l.v[2].key, "1001.C.host");
        CHECK_STR(l.v[3].key, "1002.D.host");
        CHECK_STR(l.v[4].key, "notanumber.E.host");
    }
    e = find_key(&l, "1000.A.host");
    CHECK(e && e->flags == MAIL_FLAG_NEW);
    CHECK(e && e->size == strlen(MSG_A));
    CHECK(e && e->has_date && e->date == 1793696400 && e->date_offset == 60);
    CHECK(e && e->received == 1000);
    CHECK_STR(e ? e->from : NULL, "Alice <alice@example.com>");
    CHECK_STR(e ? e->to : NULL, "bob@example.com");
    CHECK_STR(e ? e->subject : NULL, "a");
    CHECK_STR(e ? e->message_id : NULL, "<a@x>");
    CHECK(e && e->cc == NULL);
    CHECK_STR(e ? e->path : NULL, fixture_path("Mail/new/1000.A.host"));
    e = find_key(&l, "999.B.host");
    CHECK(e && e->flags == MAIL_FLAG_SEEN && !e->has_date);
    e = find_key(&l, "1001.C.host");
    CHECK(e && e->flags == (MAIL_FLAG_FLAGGED | MAIL_FLAG_ANSWERED));
    CHECK_STR(e ? e->references : NULL, "<a@x>");
    CHECK_STR(e ? e->in_reply_to : NULL, "<a@x>");
    e = find_key(&l, "1002.D.host");
    CHECK(e && e->flags == (MAIL_FLAG_ANSWERED | MAIL_FLAG_SEEN));
    e = find_key(&l, "notanumber.E.host");
    CHECK_STR(e ? e->subject : NULL, "e (no header end)");
    e = find_key(&l, "1000.A.host");
    s = e ? fixture_fetch(f, e) : NULL;
    CHECK_STR(s, MSG_A);
    free(s);
    /* read-only: no changes */
    CHECK(mail_folder_set_flags(f, &l.v[0], MAIL_FLAG_SEEN, 0, &err) < 0);
    CHECK(err.kind == MAIL_ERR_USAGE);
    mail_envelope_list_release(&l);
    CHECK(mail_folder_close(f, &err) == 0);
}

static void test_flags(void)
{
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct mail_error err;
    struct mail_folder *f;
    struct mail_envelope *e;
    char *s;
    int fd;

    f = mail_folder_open(fixture_path("Mail"), MAIL_FOLDER_RDWR, &fixture_paths,
                         &err);
    CHECK(f && mail_folder_list(f, &l, 0, &err) == 0);
    if (!f || l.n != 5)
        return;
    /* new/ to cur/ when seen, keeping the unique name */
    e = &l.v[1];
    CHECK(mail_folder_set_flags(f, e, MAIL_FLAG_SEEN, 0, &err) == 0);
    CHECK(e->flags == MAIL_FLAG_SEEN);
    CHECK_STR(e->path, fixture_path("Mail/cur/1000.A.host:2,S"));
    CHECK(!exists("Mail/new/1000.A.host"));
    CHECK(exists("Mail/cur/1000.A.host:2,S"));
    /* sorted letters, custom lowercase flag kept */
    e = &l.v[2];
    CHECK(mail_folder_set_flags(f, e, MAIL_FLAG_SEEN | MAIL_FLAG_DRAFT,
                                MAIL_FLAG_FLAGGED, &err) == 0);
    CHECK(exists("Mail/cur/1001.C.host:2,DRSa"));
    CHECK(e->flags == (MAIL_FLAG_DRAFT | MAIL_FLAG_ANSWERED | MAIL_FLAG_SEEN));
    /* the Windows separator is kept */
    e = &l.v[3];
    CHECK(mail_folder_set_flags(f, e, MAIL_FLAG_PASSED | MAIL_FLAG_DELETED, 0,
                                &err) == 0);
    CHECK(exists("Mail/cur/1002.D.host;2,PRST"));
    /* renamed behind our back: found again by its unique name */
    CHECK(rename(fixture_path("Mail/cur/999.B.host:2,S"),
                 fixture_path("Mail/cur/999.B.host:2,FS")) == 0);
    e = &l.v[0];
    s = fixture_fetch(f, e);
    CHECK_STR(s, "From: b@x\nSubject: b\n\nbody b\n");
    free(s);
    CHECK(mail_folder_message_fd(f, e, &fd, &err) == 0);
    if (fd >= 0) {
        char buf[64];
        ssize_t n = read(fd, buf, sizeof buf);

        CHECK(n == 29 && memcmp(buf, "From: b@x", 9) == 0);
        close(fd);
    }
    CHECK(mail_folder_set_flags(f, e, 0, MAIL_FLAG_SEEN, &err) == 0);
    CHECK(exists("Mail/cur/999.B.host:2,F"));
    CHECK(e->flags == MAIL_FLAG_FLAGGED);
    /* expunge */
    CHECK(mail_folder_expunge(f, &l.v[4], &err) == 0);
    CHECK(!exists("Mail/new/notanumber.E.host"));
    CHECK(mail_folder_expunge(f, &l.v[4], &err) < 0 &&
          err.kind == MAIL_ERR_NOTFOUND);
    mail_envelope_list_release(&l);
    CHECK(mail_folder_list(f, &l, 0, &err) == 0 && l.n == 4);
    CHECK(l.n == 4 && l.v[1].flags == MAIL_FLAG_SEEN);
    mail_envelope_list_release(&l);
    mail_folder_close(f, &err);
}

static void test_append(void)
{
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct mail_error err;
    struct mail_folder *f;
    struct mail_append *a;
    const struct mail_envelope *e;
    const char *msg = "From: z@x\nSubject: appended\n\nline 1\nline 2\n";
    char *key = NULL, *s;
    struct stat st;
    size_t i;

    f = mail_folder_open(fixture_path("Mail"), MAIL_FOLDER_RDWR, &fixture_paths,
                         &err);
    if (!f)
        return;
    a = mail_folder_append_begin(f, 0, 1234567890, &err);
    CHECK(a != NULL);
    if (!a)
        return;
    for (i = 0; i < strlen(msg); i += 7)
        CHECK(mail_append_write(a, msg + i, strlen(msg + i) < 7 ?
                                strlen(msg + i) : 7, &err) == 0);
    /* not visible before the commit */
    CHECK(count_files("Mail/new") == 0);
    CHECK(count_files("Mail/tmp") == 1);
    CHECK(mail_append_commit(a, &key, &err) == 0);
    CHECK(count_files("Mail/tmp") == 0);
    CHECK(count_files("Mail/new") == 1);
    CHECK(key && strncmp(key, "1234567890.M", 12) == 0 &&
          strchr(key, 'P') && strchr(key, 'Q'));
    CHECK(mail_folder_list(f, &l, 0, &err) == 0);
    e = key ? find_key(&l, key) : NULL;
    CHECK(e && e->flags == MAIL_FLAG_NEW && e->received == 1234567890);
    CHECK(e && stat(e->path, &st) == 0 && st.st_mtime == 1234567890);
    s = e ? fixture_fetch(f, e) : NULL;
    CHECK_STR(s, msg);
    free(s);
    free(key);
    mail_envelope_list_release(&l);

    /* with flags: straight into cur/ */
    a = mail_folder_append_begin(f, MAIL_FLAG_SEEN | MAIL_FLAG_FLAGGED, 0,
                                 &err);
    CHECK(a && mail_append_write(a, msg, strlen(msg), &err) == 0);
    CHECK(a && mail_append_commit(a, &key, &err) == 0);
    CHECK(mail_folder_list(f, &l, 0, &err) == 0);
    e = key ? find_key(&l, key) : NULL;
    CHECK(e && e->flags == (MAIL_FLAG_SEEN | MAIL_FLAG_FLAGGED));
    CHECK(e && strstr(e->path, "/cur/") && strstr(e->path, ":2,FS"));
    free(key);
    mail_envelope_list_release(&l);

    /* abort leaves nothing */
    a = mail_folder_append_begin(f, 0, 0, &err);
    CHECK(a && mail_append_write(a, msg, strlen(msg), &err) == 0);
    mail_append_abort(a);
    CHECK(count_files("Mail/tmp") == 0);
    CHECK(count_files("Mail/new") == 1);
    mail_folder_close(f, &err);
}

/* Deferred sync: committed messages stay in tmp/ (neither durable nor
 * visible) until mail_folder_sync_pending places them all, in order;
 * dropped or closed, they are removed. */
static void test_append_deferred(void)
{
    struct mail_error err;
    struct mail_folder *f;
    struct mail_append *a;
    const char *msg = "From: z@x\nSubject: deferred\n\nbody\n";
    char *key = NULL;
    size_t placed = 99;

    f = mail_folder_open(fixture_path("Deferred"), MAIL_FOLDER_RDWR |
                         MAIL_FOLDER_CREATE, &fixture_paths, &err);
    CHECK(f != NULL);
    if (!f)
        return;
    CHECK(mail_folder_pending(f) == 0);
    CHECK(mail_folder_sync_pending(f, &placed, &err) == 0 && placed == 0);
    a = mail_maildir_append_begin_named(f, "100.M1P2Q3F.host",
                                        MAIL_APPEND_DEFER_SYNC, 100, &err);
    CHECK(a && mail_append_write(a, msg, strlen(msg), &err) == 0);
    CHECK(a && mail_append_commit(a, &key, &err) == 0);
    CHECK_STR(key, "100.M1P2Q3F.host");
    free(key);
    a = mail_maildir_append_begin_named(f, "101.M1P2Q4F.host",
                                        MAIL_APPEND_DEFER_SYNC |
                                        MAIL_FLAG_SEEN, 0, &err);
    CHECK(a && mail_append_write(a, msg, strlen(msg), &err) == 0);
    CHECK(a && mail_append_commit(a, NULL, &err) == 0);
    /* committed, not visible */
    CHECK(mail_folder_pending(f) == 2);
    CHECK(count_files("Deferred/tmp") == 2);
    CHECK(count_files("Deferred/new") == 0);
    CHECK(count_files("Deferred/cur") == 0);
    /* a name already in tmp/ is refused, not replaced */
    CHECK(mail_maildir_append_begin_named(f, "100.M1P2Q3F.host", 0, 0,
                                          &err) == NULL);
    CHECK(err.kind == MAIL_ERR_IO);
    CHECK(mail_maildir_append_begin_named(f, "../x", 0, 0, &err) == NULL);
    CHECK(mail_folder_sync_pending(f, &placed, &err) == 0);
    CHECK(placed == 2);
    CHECK(mail_folder_pending(f) == 0);
    CHECK(count_files("Deferred/tmp") == 0);
    CHECK(exists("Deferred/new/100.M1P2Q3F.host"));
    CHECK(exists("Deferred/cur/101.M1P2Q4F.host:2,S"));

    /* dropped: removed */
    a = mail_folder_append_begin(f, MAIL_APPEND_DEFER_SYNC, 0, &err);
    CHECK(a && mail_append_write(a, msg, strlen(msg), &err) == 0);
    CHECK(a && mail_append_commit(a, NULL, &err) == 0);
    CHECK(count_files("Deferred/tmp") == 1);
    mail_folder_drop_pending(f);
    CHECK(count_files("Deferred/tmp") == 0);
    CHECK(count_files("Deferred/new") == 1);

    /* closed with one pending: removed, never visible */
    a = mail_folder_append_begin(f, MAIL_APPEND_DEFER_SYNC, 0, &err);
    CHECK(a && mail_append_write(a, msg, strlen(msg), &err) == 0);
    CHECK(a && mail_append_commit(a, NULL, &err) == 0);
    mail_folder_close(f, &err);
    CHECK(count_files("Deferred/tmp") == 0);
    CHECK(count_files("Deferred/new") == 1);
}

static void test_move(void)
{
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT, l2 =
        MAIL_ENVELOPE_LIST_INIT;
    struct mail_error err;
    struct mail_folder *f, *g, *m;
    char *key = NULL, *s;
    size_t n;

    f = mail_folder_open(fixture_path("Mail"), MAIL_FOLDER_RDWR, &fixture_paths,
                         &err);
    g = mail_folder_open(fixture_path("Mail/.Archive"), MAIL_FOLDER_RDWR |
                         MAIL_FOLDER_CREATE, &fixture_paths, &err);
    CHECK(f && g);
    if (!f || !g)
        return;
    CHECK(exists("Mail/.Archive/maildirfolder"));
    CHECK(mail_folder_list(f, &l, 0, &err) == 0 && l.n > 2);
    n = l.n;
    /* Maildir to Maildir: a link, same name */
    CHECK(mail_folder_move(f, &l.v[0], g, &key, &err) == 0);
    CHECK_STR(key, l.v[0].key);
    CHECK(mail_folder_list(g, &l2, 0, &err) == 0 && l2.n == 1);
    CHECK(l2.n == 1 && l2.v[0].flags == l.v[0].flags);
    s = l2.n ? fixture_fetch(g, &l2.v[0]) : NULL;
    CHECK_STR(s, "From: b@x\nSubject: b\n\nbody b\n");
    free(s);
    free(key);
    mail_envelope_list_release(&l2);
    /* Maildir to mbox: copy, then expunge */
    m = mail_folder_open("mbox:" "/dev/null/x", MAIL_FOLDER_RDWR |
                         MAIL_FOLDER_CREATE, &fixture_paths, &err);
    CHECK(m == NULL && err.kind == MAIL_ERR_CANTCREAT);
    m = mail_folder_open(fixture_path("archive.mbox"), MAIL_FOLDER_RDWR,
                         &fixture_paths, &err);
    CHECK(m == NULL && err.kind == MAIL_ERR_NOTFOUND);
    {
        char p[1100];

        snprintf(p, sizeof p, "mbox:%s", fixture_path("archive.mbox"));
        m = mail_folder_open(p, MAIL_FOLDER_RDWR | MAIL_FOLDER_CREATE,
                             &fixture_paths, &err);
    }
    CHECK(m && mail_folder_kind(m) == MAIL_FOLDER_MBOX);
    if (m) {
        CHECK(mail_folder_move(f, &l.v[1], m, &key, &err) == 0);
        /* mbox keys are "OFFSET:IDENTITY": the first message is at 0 */
        CHECK(key && strncmp(key, "0:", 2) == 0);
        free(key);
        CHECK(mail_folder_list(m, &l2, 0, &err) == 0 && l2.n == 1);
        CHECK(l2.n == 1 && l2.v[0].flags == MAIL_FLAG_SEEN);
        s = l2.n ? fixture_fetch(m, &l2.v[0]) : NULL;
        /* the flags travel as Status: in an mbox */
        CHECK_STR(s, "From: Alice <alice@example.com>\nTo: bob@example.com\n"
                     "Subject: a\nDate: Tue, 3 Nov 2026 10:00:00 +0100\n"
                     "Message-ID: <a@x>\nStatus: RO\n\nbody a\n");
        free(s);
        mail_envelope_list_release(&l2);
        CHECK(mail_folder_close(m, &err) == 0);
    }
    mail_envelope_list_release(&l);
    CHECK(mail_folder_list(f, &l, 0, &err) == 0 && l.n == n - 2);
    mail_envelope_list_release(&l);
    mail_folder_close(f, &err);
    mail_folder_close(g, &err);
}

static void test_attachments(void)
{
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct mail_error err;
    struct mail_folder *f;

    f = mail_folder_open(fixture_path("Att"), MAIL_FOLDER_RDWR |
                         MAIL_FOLDER_CREATE, &fixture_paths, &err);
    if (!f)
        return;
    fixture_write("Att/cur/1.X.h:2,S",
               "Subject: att\nMIME-Version: 1.0\n"
               "Content-Type: multipart/mixed; boundary=b\n\n"
               "--b\nContent-Type: text/plain\n\nhi\n"
               "--b\nContent-Type: application/pdf\n"
               "Content-Disposition: attachment; filename=x.pdf\n\nxx\n"
               "--b--\n");
    CHECK(mail_folder_list(f, &l, MAIL_FOLDER_LIST_ATTACHMENTS, &err) == 0);
    CHECK(l.n == 1 && l.v[0].attachments == 1);
    CHECK(l.n == 1 && strncmp(l.v[0].content_type, "multipart/mixed", 15) ==
          0);
    mail_envelope_list_release(&l);
    mail_folder_close(f, &err);
}

/* A file that is gone by the time it is stat'ed (here: a dangling link,
 * as good as a rename by another client) sends the listing through its
 * one re-scan, which must not duplicate or lose anything. */
static void test_vanished(void)
{
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct mail_error err;
    struct mail_folder *f;

    f = mail_folder_open(fixture_path("Race"), MAIL_FOLDER_RDWR |
                         MAIL_FOLDER_CREATE, &fixture_paths, &err);
    if (!f)
        return;
    fixture_write("Race/cur/1.a.h:2,S", "Subject: a\n\n");
    fixture_write("Race/new/2.b.h", "Subject: b\n\n");
    CHECK(symlink(fixture_path("Race/nowhere"),
                  fixture_path("Race/cur/3.c.h:2,")) ==
          0);
    CHECK(mail_folder_list(f, &l, 0, &err) == 0 && l.n == 2);
    CHECK(l.n == 2 && strcmp(l.v[0].subject, "a") == 0 &&
          strcmp(l.v[1].subject, "b") == 0);
    mail_envelope_list_release(&l);
    mail_folder_close(f, &err);
}

/* Names of one second in delivery order: the microseconds after "M" are
 * not zero-padded, so they compare as numbers (a postponed draft listed
 * after an older one); twice, the second listing from the cache. */
static void test_same_second(void)
{
    static const char *const want[] = {
        "1700000000.M7P1.h", "1700000000.M99999P5.h",
        "1700000000.M123456P5.h", "1700000000.M123456P10.h",
        "1700000001.M5P1.h",
    };
    struct mail_error err;
    struct mail_folder *f;

    f = mail_folder_open(fixture_path("Tie"), MAIL_FOLDER_RDWR |
                         MAIL_FOLDER_CREATE, &fixture_paths, &err);
    CHECK(f != NULL);
    if (!f)
        return;
    fixture_write("Tie/new/1700000000.M123456P10.h", "Subject: 4\n\n");
    fixture_write("Tie/new/1700000001.M5P1.h", "Subject: 5\n\n");
    fixture_write("Tie/cur/1700000000.M99999P5.h:2,S", "Subject: 2\n\n");
    fixture_write("Tie/new/1700000000.M123456P5.h", "Subject: 3\n\n");
    fixture_write("Tie/new/1700000000.M7P1.h", "Subject: 1\n\n");
    for (int pass = 0; pass < 2; pass++) {
        struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;

        CHECK(mail_folder_list(f, &l, pass ? MAIL_FOLDER_LIST_BORROW : 0,
                               &err) == 0);
        CHECK(l.n == 5);
        for (size_t i = 0; i < l.n && i < 5; i++)
            CHECK_STR(l.v[i].key, want[i]);
        mail_envelope_list_release(&l);
    }
    mail_folder_close(f, &err);
}

/* A first listing of many files parses them on several threads: the
 * same records, in the same order, as one by one; a file gone meanwhile
 * (a dangling link) is left out; the cache then answers for all. */
static void test_many_first(void)
{
    enum { N = 3000 };
    struct mail_error err;
    struct mail_folder *f;
    char rel[96], text[64];

    f = mail_folder_open(fixture_path("Many"), MAIL_FOLDER_RDWR |
                         MAIL_FOLDER_CREATE, &fixture_paths, &err);
    CHECK(f != NULL);
    if (!f)
        return;
    for (int i = 0; i < N; i++) {
        snprintf(rel, sizeof rel, "Many/%s/%d.M%dP1.h%s",
                 i % 3 ? "cur" : "new", 1700000000 + i / 7, i % 7,
                 i % 3 ? ":2,S" : "");
        snprintf(text, sizeof text, "Subject: m%d\nFrom: a%d@x\n\n%d\n",
                 i, i, i);
        fixture_write(rel, text);
    }
    CHECK(symlink(fixture_path("Many/nowhere"),
                  fixture_path("Many/cur/1700000100.M9P1.h:2,")) == 0);
    for (int pass = 0; pass < 2; pass++) {
        struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
        int bad = 0;

        CHECK(mail_folder_list(f, &l, pass ? MAIL_FOLDER_LIST_BORROW : 0,
                               &err) == 0);
        CHECK(l.n == N);
        for (size_t i = 0; i < l.n && i < N; i++) {
            const struct mail_envelope *e = &l.v[i];

            snprintf(text, sizeof text, "m%zu", i);
            bad += !e->subject || strcmp(e->subject, text) != 0 ||
                   e->received != 1700000000 + (time_t)(i / 7) ||
                   e->flags != (i % 3 ? MAIL_FLAG_SEEN : MAIL_FLAG_NEW);
        }
        CHECK(bad == 0);
        mail_envelope_list_release(&l);
    }
    mail_folder_close(f, &err);
}

static int collect(void *ctx, const char *name, const char *path)
{
    struct mail_buf *b = ctx;

    mail_buf_printf(b, "%s=%s\n", name, path + strlen(fixture_root) + 1);
    return 0;
}

static void test_store(void)
{
    struct mail_buf b = MAIL_BUF_INIT;
    struct mail_error err;
    struct mail_folder *f;
    char *p, store[1100];

    f = mail_folder_open(fixture_path("Mail/.Lists.dev"), MAIL_FOLDER_RDWR |
                         MAIL_FOLDER_CREATE, &fixture_paths, &err);
    mail_folder_close(f, &err);
    mkdir(fixture_path("Mail/.NotAFolder"), 0700);
    CHECK(mail_store_folders(fixture_path("Mail"), collect, &b, &err) == 0);
    CHECK_STR(b.data, "INBOX=Mail\nArchive=Mail/.Archive\n"
                      "Lists/dev=Mail/.Lists.dev\n");
    mail_buf_release(&b);
    p = mail_store_folder_path(fixture_path("Mail"), "Lists/dev", &err);
    CHECK_STR(p, fixture_path("Mail/.Lists.dev"));
    free(p);
    p = mail_store_folder_path(fixture_path("Mail"), "inbox", &err);
    CHECK_STR(p, fixture_path("Mail"));
    free(p);
    p = mail_store_folder_path(fixture_path("Mail"), "../etc", &err);
    CHECK(p == NULL && err.kind == MAIL_ERR_USAGE);
    p = mail_store_folder_path(fixture_path("Mail"), "a.b", &err);
    CHECK(p == NULL && err.kind == MAIL_ERR_USAGE);

    /* a directory of mboxes */
    mkdir(fixture_path("mboxes"), 0700);
    mkdir(fixture_path("mboxes/lists"), 0700);
    fixture_write("mboxes/INBOX", "");
    fixture_write("mboxes/Sent", "");
    fixture_write("mboxes/lists/dev", "");
    fixture_write("mboxes/Sent.lock", "");
    fixture_write("mboxes/.hidden", "");
    CHECK(mail_store_folders(fixture_path("mboxes"), collect, &b, &err) == 0);
    CHECK_STR(b.data, "INBOX=mboxes/INBOX\nSent=mboxes/Sent\n"
                      "lists/dev=mboxes/lists/dev\n");
    mail_buf_release(&b);
    snprintf(store, sizeof store, "mbox:%s", fixture_path("mboxes"));
    p = mail_store_folder_path(store, "lists/dev", &err);
    {
        char want[1100];

        snprintf(want, sizeof want, "mbox:%s",
                 fixture_path("mboxes/lists/dev"));
        CHECK_STR(p, want);
    }
    free(p);
}

static void test_errors(void)
{
    struct mail_error err;
    struct mail_folder *f;

    f = mail_folder_open(fixture_path("nope"), MAIL_FOLDER_RDONLY,
                         &fixture_paths, &err);
    CHECK(f == NULL && err.kind == MAIL_ERR_NOTFOUND);
    CHECK(strstr(err.msg, fixture_path("nope")) != NULL);
    mkdir(fixture_path("plain"), 0700);
    fixture_write("plain/file", "x");
    f = mail_folder_open(fixture_path("plain"), MAIL_FOLDER_RDONLY,
                         &fixture_paths, &err);
    CHECK(f == NULL && err.kind == MAIL_ERR_DATA);
    f = mail_folder_open(fixture_path("plain/file"), MAIL_FOLDER_RDONLY,
                         &fixture_paths, &err);
    CHECK(f == NULL && err.kind == MAIL_ERR_DATA);
    CHECK(strstr(err.msg, "not an mbox") != NULL);
}

/*
 * -S subject and -S from on a cached listing (display strings): the
 * sort compares a folded 16-byte prefix first and the strings only when
 * the prefixes tie; the order is that of the whole strings, ASCII case
 * folded: long common prefixes, a difference at byte 16 and beyond,
 * case, a string that is a prefix of another, empty ones, ties (by
 * date, then listing order), and "Re:" stripped.
 */
static void test_sort_text(void)
{
    static const char *subj[] = {
        "0123456789abcdefXYZ", "0123456789ABCDEFxya", "0123456789abcdef",
        "0123456789abcde", "Re: 0123456789abcdefxyz", "", "b", "B",
        "0123456789abcdeg", "\xc3\xa9t\xc3\xa9", "0123456789abcdefxy",
    };
    static const char *want =
        " | 0123456789abcde | 0123456789abcdef | 0123456789abcdefxy"
        " | 0123456789ABCDEFxya | 0123456789abcdefXYZ"
        " | Re: 0123456789abcdefxyz | 0123456789abcdeg | b | B"
        " | \xc3\xa9t\xc3\xa9";
    const size_t n = sizeof subj / sizeof subj[0];
    struct mail_error err;
    struct mail_folder *f;
    char name[64], body[256], got[1024];

    f = mail_folder_open(fixture_path("sorted"),
                         MAIL_FOLDER_RDWR | MAIL_FOLDER_CREATE,
                         &fixture_paths, &err);
    CHECK(f != NULL);
    if (!f)
        return;
    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof name, "sorted/cur/%zu.s%zu.h:2,S", 1000 + i, i);
        snprintf(body, sizeof body,
                 "Subject: %s\nFrom: \"%s\" <a@x>\nDate: Mon, 1 Jan 2024 "
                 "00:00:00 +0000\n\n.\n", subj[i], subj[i]);
        fixture_write(name, body);
    }
    for (int pass = 0; pass < 4; pass++) {   /* parsed, then cached */
        struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
        int flags = pass < 2 ? 0 : MAIL_FOLDER_LIST_BORROW |
                                   MAIL_FOLDER_LIST_DISPLAY;
        enum mail_sort_key key = pass % 2 ? MAIL_SORT_FROM
                                          : MAIL_SORT_SUBJECT;
        size_t idx[16], len = 0;

        CHECK(mail_folder_list(f, &l, flags, &err) == 0);
        CHECK(l.n == n);
        for (size_t i = 0; i < l.n && i < 16; i++)
            idx[i] = i;
        CHECK(mail_sort(&l, idx, l.n, key, false, &err) == 0);
        got[0] = '\0';
        for (size_t i = 0; i < l.n && i < 16; i++) {
            const struct mail_envelope *e = &l.v[idx[i]];
            const char *s = e->subject_display ? e->subject_display
                            : e->subject ? e->subject : "";

            len += (size_t)snprintf(got + len, sizeof got - len, "%s%s",
                                    i ? " | " : "", s);
        }
        if (key == MAIL_SORT_SUBJECT)
            CHECK_STR(got, want);
        else    /* From has no "Re:" to strip; the empty name sorts by
                   its address, a@x */
            CHECK_STR(got, "0123456789abcde | 0123456789abcdef"
                           " | 0123456789abcdefxy | 0123456789ABCDEFxya"
                           " | 0123456789abcdefXYZ | 0123456789abcdeg |  | b"
                           " | B | Re: 0123456789abcdefxyz"
                           " | \xc3\xa9t\xc3\xa9");
        mail_envelope_list_release(&l);
    }
    mail_folder_close(f, &err);
}

/* Flip a bit of the last occurrence of s in the lazy folder's header
 * cache (the file in cache/mail/ that names "lz.h"): in the display
 * block, where the display strings and keys are, so that the record
 * fails its check. */
static int damage_cache(const char *s)
{
    DIR *d = opendir(fixture_path("cache/mail"));
    struct dirent *de;
    int ret = -1;

    while (d && ret < 0 && (de = readdir(d)) != NULL) {
        char path[1100], *buf, *p, *hit = NULL;
        FILE *fp;
        long n;

        if (!strstr(de->d_name, ".hc"))
            continue;
        snprintf(path, sizeof path, "%s/%s", fixture_path("cache/mail"),
                 de->d_name);
        if (!(fp = fopen(path, "r+b")))
            continue;
        fseek(fp, 0, SEEK_END);
        n = ftell(fp);
        rewind(fp);
        buf = n > 0 ? malloc((size_t)n) : NULL;
        if (buf && fread(buf, 1, (size_t)n, fp) == (size_t)n &&
            memmem(buf, (size_t)n, "lz.h", 4))
            for (p = buf;
                 (p = memmem(p, (size_t)(n - (p - buf)), s, strlen(s))); p++)
                hit = p;
        if (hit) {
            *hit ^= 1;
            fseek(fp, (long)(hit - buf), SEEK_SET);
            fwrite(hit, 1, 1, fp);
            ret = 0;
        }
        free(buf);
        fclose(fp);
    }
    if (d)
        closedir(d);
    return ret;
}

/* The lazy folder's messages: "N.lz.h" delivered at N, Subject "sN". */
#define LAZY_N 8

static void lazy_write(int i, const char *subject, const char *flags)
{
    char name[64], body[256];

    snprintf(name, sizeof name, "lazy/cur/%d.lz.h:2,%s", 100 + i, flags);
    snprintf(body, sizeof body, "From: Sender %d <s%d@x>\nSubject: %s\n"
             "Date: Mon, 1 Jan 2024 00:00:%02d +0000\nMessage-ID: <m%d@x>\n"
             "%s\nbody %d\n", i, i, subject, i, i,
             i == 3 ? "Content-Type: multipart/mixed; boundary=b\n" : "", i);
    fixture_write(name, body);
}

/* A lazy listing equals a borrowed one once filled: order, flags, sizes
 * and dates at once, the strings after mail_folder_list_fill. */
static void check_lazy_equals_full(struct mail_folder *f)
{
    struct mail_envelope_list full = MAIL_ENVELOPE_LIST_INIT;
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct mail_error err;

    CHECK(mail_folder_list(f, &full, MAIL_FOLDER_LIST_BORROW, &err) == 0);
    CHECK(mail_folder_list(f, &l, MAIL_FOLDER_LIST_BORROW |
                           MAIL_FOLDER_LIST_LAZY, &err) == 0);
    CHECK(l.n == LAZY_N && full.n == LAZY_N);
    for (size_t i = 0; i < l.n && i < full.n; i++) {
        const struct mail_envelope *a = &l.v[i], *b = &full.v[i];

        /* what orders and counts, without a string */
        CHECK(a->key == NULL && a->path == NULL && a->subject == NULL &&
              a->from_display == NULL);
        CHECK(a->flags == b->flags && a->size == b->size &&
              a->received == b->received && a->has_date == b->has_date &&
              a->date == b->date && a->date_offset == b->date_offset);
        CHECK((a->content_type != NULL) == (i == 3));
    }
    /* a range at the end: those only */
    CHECK(mail_folder_list_fill(f, &l, LAZY_N - 2, LAZY_N + 5, &err) == 0);
    CHECK(l.v[LAZY_N - 3].key == NULL && l.v[LAZY_N - 2].key != NULL &&
          l.v[LAZY_N - 1].key != NULL);
    CHECK(mail_folder_list_fill(f, &l, 0, l.n, &err) == 0);
    for (size_t i = 0; i < l.n && i < full.n; i++) {
        const struct mail_envelope *a = &l.v[i], *b = &full.v[i];

        CHECK_STR(a->key, b->key);
        CHECK_STR(a->path, b->path);
        CHECK_STR(a->from, b->from);
        CHECK_STR(a->subject, b->subject);
        CHECK_STR(a->message_id, b->message_id);
        CHECK_STR(a->content_type, b->content_type);
        CHECK_STR(a->from_display, b->from_display);
        CHECK_STR(a->subject_display, b->subject_display);
        CHECK(a->flags == b->flags && a->size == b->size && a->borrowed);
    }
    /* filled already: nothing to do */
    CHECK(mail_folder_list_fill(f, &l, 0, l.n, &err) == 0);
    mail_envelope_list_release(&l);
    mail_envelope_list_release(&full);
}

static void test_lazy_fill(void)
{
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct mail_envelope_list old = MAIL_ENVELOPE_LIST_INIT;
    struct mail_error err;
    struct mail_folder *f;
    char subj[32], *s;

    f = mail_folder_open(fixture_path("lazy"),
                         MAIL_FOLDER_RDWR | MAIL_FOLDER_CREATE,
                         &fixture_paths, &err);
    CHECK(f != NULL);
    if (!f)
        return;
    for (int i = 0; i < LAZY_N; i++) {
        snprintf(subj, sizeof subj, "s%d", i);
        lazy_write(i, subj, i % 2 ? "S" : "");
    }
    /* without a cache (every file parsed), then with it */
    check_lazy_equals_full(f);
    check_lazy_equals_full(f);

    /* a message renamed and one removed between the listing and the
     * fill: both filled from the cache; the renamed one is still read */
    CHECK(mail_folder_list(f, &l, MAIL_FOLDER_LIST_BORROW |
                           MAIL_FOLDER_LIST_LAZY, &err) == 0);
    CHECK(l.n == LAZY_N);
    rename(fixture_path("lazy/cur/101.lz.h:2,S"),
           fixture_path("lazy/cur/101.lz.h:2,FS"));
    unlink(fixture_path("lazy/cur/102.lz.h:2,"));
    CHECK(mail_folder_list_fill(f, &l, 0, l.n, &err) == 0);
    CHECK_STR(l.n > 2 ? l.v[1].subject : NULL, "s1");
    CHECK_STR(l.n > 2 ? l.v[2].subject : NULL, "s2");
    s = l.n > 2 ? fixture_fetch(f, &l.v[1]) : NULL;
    CHECK(s && strstr(s, "Subject: s1\n"));
    free(s);
    mail_envelope_list_release(&l);
    lazy_write(2, "s2", "");

    /* a damaged record (one not read by the listing) is read from its
     * file at the fill; the files say "S..." from here on, the cache
     * "s..." */
    CHECK(mail_folder_list(f, &l, MAIL_FOLDER_LIST_BORROW, &err) == 0);
    mail_envelope_list_release(&l);
    for (int i = 0; i < LAZY_N; i++) {
        char name[64];
        struct stat st;

        snprintf(subj, sizeof subj, "S%d", i);
        snprintf(name, sizeof name, "lazy/cur/%d.lz.h:2,%s", 100 + i,
                 i == 1 ? "FS" : i % 2 ? "S" : "");
        CHECK(stat(fixture_path(name), &st) == 0);
        lazy_write(i, subj, i == 1 ? "FS" : i % 2 ? "S" : "");
    }
    CHECK(damage_cache("Sender 4") == 0);   /* 104's display block */
    CHECK(damage_cache("Sender 5") == 0);
    CHECK(damage_cache("Sender 6") == 0);
    CHECK(mail_folder_list(f, &l, MAIL_FOLDER_LIST_BORROW |
                           MAIL_FOLDER_LIST_LAZY, &err) == 0);
    CHECK(l.n == LAZY_N);
    /* 105 renamed and 106 removed meanwhile */
    rename(fixture_path("lazy/cur/105.lz.h:2,S"),
           fixture_path("lazy/cur/105.lz.h:2,RS"));
    unlink(fixture_path("lazy/cur/106.lz.h:2,"));
    CHECK(mail_folder_list_fill(f, &l, 0, l.n, &err) == 0);
    if (l.n == LAZY_N) {
        CHECK_STR(l.v[3].subject, "s3");            /* the cache's */
        CHECK_STR(l.v[4].subject, "S4");            /* the file's */
        CHECK_STR(l.v[4].subject_display, "S4");
        CHECK_STR(l.v[4].key, "104.lz.h");
        CHECK_STR(l.v[5].subject, "S5");            /* at its new name */
        CHECK(l.v[5].path && strstr(l.v[5].path, "105.lz.h:2,RS"));
        CHECK(l.v[5].flags == MAIL_FLAG_SEEN);      /* as listed */
        CHECK(l.v[6].subject == NULL);              /* gone: no strings */
        CHECK_STR(l.v[6].key, "106.lz.h");
        CHECK(l.v[6].path && strstr(l.v[6].path, "106.lz.h:2,"));
        CHECK_STR(l.v[7].subject, "s7");
    }
    mail_envelope_list_release(&l);

    /* a fill of a list that is not the folder's latest lazy listing */
    CHECK(mail_folder_list(f, &old, MAIL_FOLDER_LIST_BORROW |
                           MAIL_FOLDER_LIST_LAZY, &err) == 0);
    CHECK(mail_folder_list(f, &l, MAIL_FOLDER_LIST_BORROW |
                           MAIL_FOLDER_LIST_LAZY, &err) == 0);
    CHECK(mail_folder_list_fill(f, &old, 0, old.n, &err) < 0 &&
          err.kind == MAIL_ERR_INTERNAL);
    CHECK(mail_folder_list_fill(f, &l, 0, l.n, &err) == 0);
    mail_envelope_list_release(&old);
    mail_envelope_list_release(&l);
    /* released before it is filled: its state goes with the next one */
    CHECK(mail_folder_list(f, &l, MAIL_FOLDER_LIST_BORROW |
                           MAIL_FOLDER_LIST_LAZY, &err) == 0);
    mail_envelope_list_release(&l);
    CHECK(mail_folder_list(f, &l, MAIL_FOLDER_LIST_BORROW |
                           MAIL_FOLDER_LIST_LAZY, &err) == 0);
    CHECK(mail_folder_close(f, &err) == 0);
    mail_envelope_list_release(&l);   /* after the close: still safe */
}

int main(void)
{
    if (fixture_open("maildir") < 0)
        return 1;
    RUN(test_list);
    RUN(test_flags);
    RUN(test_append);
    RUN(test_append_deferred);
    RUN(test_move);
    RUN(test_attachments);
    RUN(test_vanished);
    RUN(test_same_second);
    RUN(test_many_first);
    RUN(test_store);
    RUN(test_errors);
    RUN(test_sort_text);
    RUN(test_lazy_fill);
    fixture_close();
    return test_done();
}
