/*
 * test_draft.c - a draft as a whole message and back (mail/draft.h):
 * headers with non-ASCII names and subject, Bcc kept, the X-Mail-Draft
 * fields, attachments byte for byte (binary too), a forwarded message as
 * message/rfc822 byte for byte; the edited text (mail_draft_parse) keeps
 * the attachments; the drafts folder (mail/drafts.h): where it is,
 * postpone (\Draft, durable), replace, remove.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/config.h"
#include "mail/draft.h"
#include "mail/drafts.h"
#include "mail/folder.h"
#include "mail/fsutil.h"
#include "mail/mime.h"
#include "test.h"
#include "testutil.h"
#include "fixture.h"

static const char binary[] = "\x00\x01\xff\xfe\r\n\x80 PNG\n";

static void make_draft(struct mail_draft *d, struct mail_error *err)
{
    d->to = strdup("\"Müller, Hans\" <hans@example.com>, bob@example.com");
    d->cc = strdup("");
    d->bcc = strdup("Renée <renee@example.com>");
    d->subject = strdup("Re: Grüße");
    d->in_reply_to = strdup("<orig@b.test>");
    d->references = strdup("<root@b.test> <orig@b.test>");
    d->kind = MAIL_DRAFT_REPLY;
    d->orig_id = strdup("<orig@b.test>");
    d->orig_folder = strdup(fixture_path("orig"));
    mail_buf_addstr(&d->body, "Hello,\nschön.\n-- \nAlice\n");
    {
        FILE *f = fopen(fixture_path("pic.png"), "w");

        fwrite(binary, 1, sizeof binary - 1, f);
        fclose(f);
    }
    fixture_write("notes.txt", "a text file\n");
    mail_draft_attach_add(d, fixture_path("pic.png"), err);
    mail_draft_attach_add(d, fixture_path("notes.txt"), err);
}

/* Write d as a message to a file, parse it back into back. */
static int round_trip(const struct mail_draft *d, bool postpone, int rfc,
                      const char *dir, struct mail_draft *back,
                      struct mail_buf *msg, struct mail_error *err)
{
    struct mail_draft_msg_opts o = {
        .from = "Alice <alice@example.com>", .tmp_dir = fixture_paths.tmp_dir,
        .rfc822_fd = rfc, .postpone = postpone,
    };
    struct mail_mime *m;
    int fd, r = -1;

    if (mail_draft_message_write(d, &o, mail_sink_buf, msg, err) < 0)
        return -1;
    fd = mail_tmpfile(fixture_path(""), err);
    if (fd < 0)
        return -1;
    mail_write_all(fd, msg->data, msg->len);
    lseek(fd, 0, SEEK_SET);
    mkdir(dir, 0700);
    if ((m = mail_mime_parse_fd(fd, NULL, err)) != NULL)
        r = mail_draft_from_message(fd, m, dir, back, err);
    mail_mime_free(m);
    close(fd);
    return r;
}

static void test_round_trip(void)
{
    struct mail_draft d = MAIL_DRAFT_INIT, back = MAIL_DRAFT_INIT;
    struct mail_buf msg = MAIL_BUF_INIT;
    struct mail_error err;
    char *data;
    size_t len;

    mail_error_clear(&err);
    make_draft(&d, &err);
    CHECK(d.nattach == 2);
    CHECK(round_trip(&d, true, -1, fixture_path("rt"), &back, &msg,
                     &err) == 0);
    printf("# %s\n", err.msg);
    CHECK(strstr(msg.data, "\nX-Mail-Draft: reply\n") != NULL);
    CHECK(strstr(msg.data, "\nX-Mail-Draft-Original: <orig@b.test>\n") != NULL);
    CHECK(strncmp(msg.data, "Bcc: =?UTF-8?", 13) == 0);
    CHECK(strstr(msg.data, "multipart/mixed") != NULL);
    CHECK_STR(back.to, "\"Müller, Hans\" <hans@example.com>, bob@example.com");
    CHECK_STR(back.cc, "");
    CHECK_STR(back.bcc, "Renée <renee@example.com>");
    CHECK_STR(back.subject, "Re: Grüße");
    CHECK_STR(back.in_reply_to, "<orig@b.test>");
    CHECK_STR(back.references, "<root@b.test> <orig@b.test>");
    CHECK(back.kind == MAIL_DRAFT_REPLY);
    CHECK_STR(back.orig_id, "<orig@b.test>");
    CHECK_STR(back.orig_folder, fixture_path("orig"));
    CHECK_STR(back.body.data, "Hello,\nschön.\n-- \nAlice\n");
    CHECK(back.nattach == 2);
    CHECK(back.rfc822 == NULL);
    if (back.nattach == 2) {
        CHECK_STR(back.attach[0], fixture_path("rt/1/pic.png"));
        data = slurp(back.attach[0], &len);
        CHECK(data && len == sizeof binary - 1 &&
              memcmp(data, binary, len) == 0);
        free(data);
        CHECK_STR(back.attach[1], fixture_path("rt/2/notes.txt"));
        data = slurp(back.attach[1], &len);
        CHECK_STR(data, "a text file\n");
        free(data);
    }
    /* Sent (not postponed): no X-Mail-Draft field. */
    mail_buf_reset(&msg);
    mail_draft_release(&back);
    CHECK(round_trip(&d, false, -1, fixture_path("rt2"), &back, &msg,
                     &err) == 0);
    CHECK(strstr(msg.data, "X-Mail-Draft") == NULL);
    CHECK(back.kind == MAIL_DRAFT_REPLY);    /* from In-Reply-To */
    mail_draft_dir_remove(fixture_path("rt"));
    mail_draft_dir_remove(fixture_path("rt2"));
    CHECK(access(fixture_path("rt"), F_OK) != 0);
    mail_buf_release(&msg);
    mail_draft_release(&back);
    mail_draft_release(&d);
}

static void test_parse_keeps_attachments(void)
{
    struct mail_draft d = MAIL_DRAFT_INIT;
    struct mail_error err;
    const char *edited = "To: x@example.com\nSubject: s\n\nbody\n";

    mail_error_clear(&err);
    make_draft(&d, &err);
    CHECK(mail_draft_parse(&d, edited, strlen(edited), &err) == 0);
    CHECK_STR(d.to, "x@example.com");
    CHECK(d.nattach == 2);
    CHECK(d.kind == MAIL_DRAFT_REPLY);
    CHECK_STR(d.orig_id, "<orig@b.test>");
    mail_draft_attach_remove(&d, 0);
    CHECK(d.nattach == 1 && strstr(d.attach[0], "notes.txt"));
    mail_draft_attach_remove(&d, 5);
    CHECK(d.nattach == 1);
    mail_draft_release(&d);
}

static void test_forward_rfc822(void)
{
    static const char orig[] = "From: Bob <bob@b.test>\nSubject: x\n"
                               "Message-ID: <o@b.test>\n\nline  \n=3D raw\n";
    struct mail_draft d = MAIL_DRAFT_INIT, back = MAIL_DRAFT_INIT,
                      again = MAIL_DRAFT_INIT;
    struct mail_buf msg = MAIL_BUF_INIT, msg2 = MAIL_BUF_INIT;
    struct mail_error err;
    int fd;
    char *data;
    size_t len;

    mail_error_clear(&err);
    d.to = strdup("carol@example.com");
    d.cc = strdup("");
    d.subject = strdup("Fwd: x");
    d.kind = MAIL_DRAFT_FORWARD;
    d.orig_id = strdup("<o@b.test>");
    mail_buf_addstr(&d.body, "see attached\n");
    fd = mail_tmpfile(fixture_path(""), &err);
    mail_write_all(fd, orig, sizeof orig - 1);
    CHECK(round_trip(&d, true, fd, fixture_path("fw"), &back, &msg,
                     &err) == 0);
    close(fd);
    CHECK(back.kind == MAIL_DRAFT_FORWARD);
    CHECK_STR(back.orig_id, "<o@b.test>");
    CHECK_STR(back.body.data, "see attached\n");
    CHECK(back.nattach == 0);
    CHECK(back.rfc822 != NULL);
    data = back.rfc822 ? slurp(back.rfc822, &len) : NULL;
    CHECK_STR(data, orig);
    free(data);
    /* And again from the file: still byte for byte. */
    CHECK(round_trip(&back, true, -1, fixture_path("fw2"), &again, &msg2,
                     &err) == 0);
    data = again.rfc822 ? slurp(again.rfc822, &len) : NULL;
    CHECK_STR(data, orig);
    free(data);
    mail_buf_release(&msg);
    mail_buf_release(&msg2);
    mail_draft_release(&d);
    mail_draft_release(&back);
    mail_draft_release(&again);
}

static size_t count(const char *path, unsigned *flags)
{
    struct mail_error err;
    struct mail_folder *f = mail_folder_open(path, MAIL_FOLDER_RDONLY,
                                             &fixture_paths, &err);
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    size_t n;

    if (!f)
        return 0;
    mail_folder_list(f, &l, 0, &err);
    n = l.n;
    if (flags && n)
        *flags = l.v[0].flags;
    mail_envelope_list_release(&l);
    mail_folder_close(f, NULL);
    return n;
}

static char *only_key(const char *path)
{
    struct mail_error err;
    struct mail_folder *f = mail_folder_open(path, MAIL_FOLDER_RDONLY,
                                             &fixture_paths, &err);
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    char *k = NULL;

    if (!f)
        return NULL;
    if (mail_folder_list(f, &l, 0, &err) == 0 && l.n == 1)
        k = strdup(l.v[0].key);
    mail_envelope_list_release(&l);
    mail_folder_close(f, NULL);
    return k;
}

static void test_drafts_folder(void)
{
    struct mail_account a;
    struct mail_draft d = MAIL_DRAFT_INIT;
    struct mail_draft_msg_opts o = {
        .from = "Alice <alice@example.com>", .tmp_dir = fixture_paths.tmp_dir,
        .rfc822_fd = -1,
    };
    struct mail_error err;
    char *path, *where = NULL, *key, *key2;
    unsigned flags = 0;
    bool saved;

    memset(&a, 0, sizeof a);
    a.name = (char *)"t";
    a.paths = &fixture_paths;
    mail_error_clear(&err);
    /* No store, no key: a clear configuration error. */
    CHECK(mail_drafts_path(&a, &err) == NULL && err.kind == MAIL_ERR_CONFIG);
    a.drafts_folder = (char *)"imap:Drafts";
    path = mail_drafts_path(&a, &err);
    CHECK_STR(path, "imap:Drafts");
    free(path);
    /* Opened through the caller's IMAP session, not here. */
    CHECK(mail_drafts_open(&a, true, &err) == NULL &&
          err.kind == MAIL_ERR_CONFIG);
    a.drafts_folder = NULL;
    a.store = fixture_dup("Mail");
    mkdir(fixture_path("Mail"), 0700);
    mkdir(fixture_path("Mail/cur"), 0700);
    mkdir(fixture_path("Mail/new"), 0700);
    mkdir(fixture_path("Mail/tmp"), 0700);
    path = mail_drafts_path(&a, &err);
    CHECK_STR(path, fixture_path("Mail/.Drafts"));
    free(path);
    a.drafts_folder = (char *)"=Postponed";
    path = mail_drafts_path(&a, &err);
    CHECK_STR(path, fixture_path("Mail/.Postponed"));
    free(path);
    a.drafts_folder = (char *)"~/drafts.mbox";
    path = mail_drafts_path(&a, &err);
    CHECK_STR(path, fixture_path("drafts.mbox"));
    free(path);
    a.drafts_folder = NULL;

    d.to = strdup("bob@example.com");
    d.cc = strdup("");
    d.subject = strdup("first");
    mail_buf_addstr(&d.body, "v1\n");
    CHECK(mail_drafts_postpone(&a, &d, &o, NULL, &where, &saved, &err) == 0);
    printf("# %s\n", err.msg);
    CHECK(saved);
    CHECK_STR(where, fixture_path("Mail/.Drafts"));
    CHECK(count(fixture_path("Mail/.Drafts"), &flags) == 1);
    CHECK(flags & MAIL_FLAG_DRAFT);
    key = only_key(fixture_path("Mail/.Drafts"));
    CHECK(key != NULL);
    free(where);
    /* A new version replaces the old one: one draft remains. */
    free(d.subject);
    d.subject = strdup("second");
    CHECK(mail_drafts_postpone(&a, &d, &o, key, &where, &saved, &err) == 0);
    CHECK(count(fixture_path("Mail/.Drafts"), NULL) == 1);
    key2 = only_key(fixture_path("Mail/.Drafts"));
    CHECK(key2 && key && strcmp(key, key2) != 0);
    /* Removing a key that is gone says so; the right one goes. */
    CHECK(mail_drafts_remove(&a, key, &err) < 0 &&
          err.kind == MAIL_ERR_NOTFOUND);
    CHECK(mail_drafts_remove(&a, key2, &err) == 0);
    CHECK(count(fixture_path("Mail/.Drafts"), NULL) == 0);
    /* An mbox drafts folder works the same. */
    a.drafts_folder = (char *)"mbox:~/drafts.mbox";
    free(where);
    where = NULL;
    CHECK(mail_drafts_postpone(&a, &d, &o, NULL, &where, &saved, &err) == 0);
    printf("# %s\n", err.msg);
    CHECK(count(fixture_path("drafts.mbox"), &flags) == 1);
    CHECK(flags & MAIL_FLAG_DRAFT);
    free(where);
    free(key);
    free(key2);
    free(a.store);
    mail_draft_release(&d);
}

int main(void)
{
    if (fixture_open("draft") < 0)
        return 1;
    RUN(test_round_trip);
    RUN(test_parse_keeps_attachments);
    RUN(test_forward_rfc822);
    RUN(test_drafts_folder);
    fixture_close();
    return test_done();
}
