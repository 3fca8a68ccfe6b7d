/* test_folder.c - folder.c's copy (the keep-source variant of move) and
 * remote.c's mail_remote_open_any (a folder by the name a person gives). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/folder.h"
#include "mail/remote.h"
#include "test.h"
#include "fixture.h"

#define MSG_A "From: a@x\nSubject: a\n\nbody a\n"
#define MSG_B "From: b@x\nSubject: b\n\nbody b\n"

static void setup_maildir(const char *rel)
{
    struct mail_error err;
    struct mail_folder *f;
    char p[1100];

    f = mail_folder_open(fixture_path(rel), MAIL_FOLDER_RDWR |
                         MAIL_FOLDER_CREATE, &fixture_paths, &err);
    CHECK(f != NULL);
    if (f)
        mail_folder_close(f, &err);
    snprintf(p, sizeof p, "%s/cur/1000.A.host:2,ST", rel);
    fixture_write(p, MSG_A);
    snprintf(p, sizeof p, "%s/new/1001.B.host", rel);
    fixture_write(p, MSG_B);
}

/* Copy: the source keeps its messages and their flags (it may be
 * read-only); the copy is there with the flags less \Deleted, in a
 * Maildir (link-free: a copy of the bytes) and in an mbox. */
static void test_copy(void)
{
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT,
                              l2 = MAIL_ENVELOPE_LIST_INIT;
    struct mail_error err;
    struct mail_folder *f, *g, *m;
    char *key = NULL, *s, p[1100];

    setup_maildir("Src");
    f = mail_folder_open(fixture_path("Src"), MAIL_FOLDER_RDONLY,
                         &fixture_paths, &err);
    g = mail_folder_open(fixture_path("Dst"), MAIL_FOLDER_RDWR |
                         MAIL_FOLDER_CREATE, &fixture_paths, &err);
    snprintf(p, sizeof p, "mbox:%s", fixture_path("copy.mbox"));
    m = mail_folder_open(p, MAIL_FOLDER_RDWR | MAIL_FOLDER_CREATE,
                         &fixture_paths, &err);
    CHECK(f && g && m);
    if (!f || !g || !m)
        return;
    CHECK(mail_folder_list(f, &l, 0, &err) == 0 && l.n == 2);
    if (l.n != 2)
        return;
    /* a: seen and deleted; the copy is seen, not deleted */
    CHECK(l.v[0].flags == (MAIL_FLAG_SEEN | MAIL_FLAG_DELETED));
    CHECK(mail_folder_copy(f, &l.v[0], g, &key, &err) == 0);
    CHECK(key != NULL);
    free(key);
    CHECK(mail_folder_copy(f, &l.v[1], m, NULL, &err) == 0);
    CHECK(mail_folder_list(g, &l2, 0, &err) == 0 && l2.n == 1);
    CHECK(l2.n == 1 && l2.v[0].flags == MAIL_FLAG_SEEN);
    s = l2.n ? fixture_fetch(g, &l2.v[0]) : NULL;
    CHECK_STR(s, MSG_A);
    free(s);
    mail_envelope_list_release(&l2);
    CHECK(mail_folder_list(m, &l2, 0, &err) == 0 && l2.n == 1);
    s = l2.n ? fixture_fetch(m, &l2.v[0]) : NULL;
    CHECK(s && strstr(s, "Subject: b\n") && strstr(s, "\n\nbody b\n"));
    free(s);
    mail_envelope_list_release(&l2);
    /* the source is as it was */
    CHECK(access(fixture_path("Src/cur/1000.A.host:2,ST"), F_OK) == 0);
    CHECK(access(fixture_path("Src/new/1001.B.host"), F_OK) == 0);
    mail_envelope_list_release(&l);
    CHECK(mail_folder_list(f, &l, 0, &err) == 0 && l.n == 2);
    /* a read-only destination is refused, nothing written */
    mail_folder_close(g, &err);
    g = mail_folder_open(fixture_path("Dst"), MAIL_FOLDER_RDONLY,
                         &fixture_paths, &err);
    CHECK(g && mail_folder_copy(f, &l.v[1], g, NULL, &err) < 0 &&
          err.kind == MAIL_ERR_USAGE);
    CHECK(mail_folder_list(g, &l2, 0, &err) == 0 && l2.n == 1);
    mail_envelope_list_release(&l2);
    /* move still removes (the same copy underneath) */
    mail_folder_close(f, &err);
    f = mail_folder_open(fixture_path("Src"), MAIL_FOLDER_RDWR,
                         &fixture_paths, &err);
    CHECK(f && mail_folder_move(f, &l.v[1], m, NULL, &err) == 0);
    mail_envelope_list_release(&l);
    CHECK(f && mail_folder_list(f, &l, 0, &err) == 0 && l.n == 1);
    mail_envelope_list_release(&l);
    CHECK(mail_folder_list(m, &l2, 0, &err) == 0 && l2.n == 2);
    mail_envelope_list_release(&l2);
    mail_folder_close(f, &err);
    mail_folder_close(g, &err);
    CHECK(mail_folder_close(m, &err) == 0);
}

/* A folder by name: a path, =NAME in a Maildir++ store or a directory of
 * mboxes, imap:NAME (needs a server), and the errors. */
static void test_open_any(void)
{
    struct mail_error err;
    struct mail_folder *f;
    char store[1100];

    setup_maildir("Store");
    setup_maildir("Store/.Lists.dev");
    f = mail_remote_open_any(NULL, NULL, fixture_path("Store"),
                             MAIL_FOLDER_RDONLY, &fixture_paths, &err);
    CHECK(f && mail_folder_kind(f) == MAIL_FOLDER_MAILDIR);
    if (f)
        mail_folder_close(f, &err);
    snprintf(store, sizeof store, "%s", fixture_path("Store"));
    f = mail_remote_open_any(NULL, store, "=Lists/dev", MAIL_FOLDER_RDWR,
                             &fixture_paths, &err);
    CHECK(f && strcmp(mail_folder_path(f),
                      fixture_path("Store/.Lists.dev")) == 0);
    if (f)
        mail_folder_close(f, &err);
    f = mail_remote_open_any(NULL, store, "=Nope", MAIL_FOLDER_RDWR,
                             &fixture_paths, &err);
    CHECK(!f && err.kind == MAIL_ERR_NOTFOUND);
    CHECK_STR(err.msg, "no folder 'Nope' in the store");
    f = mail_remote_open_any(NULL, store, "=New", MAIL_FOLDER_RDWR |
                             MAIL_FOLDER_CREATE, &fixture_paths, &err);
    CHECK(f && mail_folder_kind(f) == MAIL_FOLDER_MAILDIR);
    if (f)
        mail_folder_close(f, &err);
    CHECK(access(fixture_path("Store/.New/cur"), F_OK) == 0);
    /* a directory of mboxes: a new folder is an mbox */
    CHECK(mkdir(fixture_path("Mboxes"), 0700) == 0);
    snprintf(store, sizeof store, "mbox:%s", fixture_path("Mboxes"));
    f = mail_remote_open_any(NULL, store, "=Archive", MAIL_FOLDER_RDWR |
                             MAIL_FOLDER_CREATE, &fixture_paths, &err);
    CHECK(f && mail_folder_kind(f) == MAIL_FOLDER_MBOX);
    if (f)
        mail_folder_close(f, &err);
    CHECK(access(fixture_path("Mboxes/Archive"), F_OK) == 0);
    /* errors */
    f = mail_remote_open_any(NULL, NULL, "=Sent", MAIL_FOLDER_RDWR,
                             &fixture_paths, &err);
    CHECK(!f && err.kind == MAIL_ERR_CONFIG);
    f = mail_remote_open_any(NULL, store, "=", MAIL_FOLDER_RDWR,
                             &fixture_paths, &err);
    CHECK(!f && err.kind == MAIL_ERR_USAGE);
    f = mail_remote_open_any(NULL, store, "imap:INBOX", MAIL_FOLDER_RDWR,
                             &fixture_paths, &err);
    CHECK(!f && err.kind == MAIL_ERR_CONFIG);
    CHECK(strstr(err.msg, "imap:INBOX: the account has no imap server"));
    f = mail_remote_open_any(NULL, store, "imap:", MAIL_FOLDER_RDWR,
                             &fixture_paths, &err);
    CHECK(!f && err.kind == MAIL_ERR_USAGE);
    f = mail_remote_open_any(NULL, store, fixture_path("missing"),
                             MAIL_FOLDER_RDWR, &fixture_paths, &err);
    CHECK(!f && err.kind == MAIL_ERR_NOTFOUND);
    f = mail_remote_open_any(NULL, store, "", MAIL_FOLDER_RDWR,
                             &fixture_paths, &err);
    CHECK(!f && err.kind == MAIL_ERR_USAGE);
    CHECK_STR(err.msg, "empty folder name");
}

/* What a name needs of the account (the command line asks before it
 * loads the config or logs in), with the errors of mail_remote_open_any. */
static void test_name_needs(void)
{
    struct mail_error err;

    mail_error_clear(&err);
    CHECK(mail_remote_name_needs("imap:INBOX", &err) ==
          MAIL_FOLDER_NEEDS_REMOTE);
    CHECK(mail_remote_name_needs("=Sent", &err) == MAIL_FOLDER_NEEDS_STORE);
    CHECK(mail_remote_name_needs("~/Mail/x", &err) ==
          MAIL_FOLDER_NEEDS_NOTHING);
    CHECK(mail_remote_name_needs("mbox:/tmp/x", &err) ==
          MAIL_FOLDER_NEEDS_NOTHING);
    CHECK(mail_remote_name_needs("imap", &err) == MAIL_FOLDER_NEEDS_NOTHING);
    CHECK(mail_remote_name_needs("imap:", &err) == -1);
    CHECK(err.kind == MAIL_ERR_USAGE);
    CHECK_STR(err.msg, "imap: needs a folder name, as in imap:INBOX");
    CHECK(mail_remote_name_needs("=", &err) == -1);
    CHECK(err.kind == MAIL_ERR_USAGE);
    CHECK_STR(err.msg, "'=' needs a folder name, as in =Sent");
    CHECK(mail_remote_name_needs("", &err) == -1);
    CHECK(err.kind == MAIL_ERR_USAGE);
}

int main(void)
{
    if (fixture_open("folder") < 0)
        return 1;
    RUN(test_copy);
    RUN(test_open_any);
    RUN(test_name_needs);
    fixture_close();
    return test_done();
}
