/*
 * test_compose_flow.c - the compose session (mail/compose_flow.h) where
 * no terminal is needed: a reply started from a folder's message (the
 * draft's headers and quote, kind and original), attach and detach, the
 * editor replaced by a script (the whole draft, headers included, read
 * back), postponing to a Maildir drafts folder, resuming it (fields,
 * text, attachment, original), a second postpone replacing the first,
 * a forward --attach postponed with its message/rfc822 part, and what
 * comes back when there is no drafts folder.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/compose_flow.h"
#include "mail/config.h"
#include "mail/folder.h"
#include "test.h"
#include "testutil.h"
#include "fixture.h"

static struct mail_account account;

static void maildir(const char *rel)
{
    char sub[256];

    mkdir(fixture_path(rel), 0700);
    for (int i = 0; i < 3; i++) {
        mail_snprintf(sub, sizeof sub, "%s/%s", rel,
                 i == 0 ? "cur" : i == 1 ? "new" : "tmp");
        mkdir(fixture_path(sub), 0700);
    }
}

/* Files in a Maildir's cur/ and new/ (the last name into name). */
static int count(const char *rel, char *name, size_t size)
{
    static const char *const subs[] = { "cur", "new" };
    int n = 0;

    for (size_t i = 0; i < 2; i++) {
        char dir[1100];
        struct dirent *e;
        DIR *d;

        mail_snprintf(dir, sizeof dir, "%s/%s", fixture_path(rel), subs[i]);
        if (!(d = opendir(dir)))
            continue;
        while ((e = readdir(d)))
            if (e->d_name[0] != '.') {
                n++;
                if (name)
                    mail_snprintf(name, size, "%s/%s", dir, e->d_name);
            }
        closedir(d);
    }
    return n;
}

static struct mail_compose_flow *flow(void)
{
    struct mail_compose_flow_opts o = { .acct = &account,
                                        .paths = &fixture_paths };
    struct mail_error err;

    return mail_compose_flow_new(&o, &err);
}

/* The original: a message from Bob in the folder "orig". */
static struct mail_folder *open_orig(struct mail_envelope_list *l)
{
    struct mail_error err;
    struct mail_folder *f = mail_folder_open(fixture_path("orig"),
                                             MAIL_FOLDER_RDWR,
                                             &fixture_paths, &err);

    if (!f || mail_folder_list(f, l, 0, &err) < 0 || l->n != 1)
        return NULL;
    return f;
}

static void test_reply_attach_postpone_resume(void)
{
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct mail_compose_original orig = { .fd = -1 };
    struct mail_compose_flow *fl;
    struct mail_draft *d;
    struct mail_error err;
    const struct mail_envelope_list *drafts;
    char name[1400], *text;
    bool saved = false;

    CHECK((orig.folder = open_orig(&l)) != NULL);
    if (!orig.folder)
        return;
    orig.env = &l.v[0];
    CHECK((fl = flow()) != NULL);
    CHECK(mail_compose_flow_start_reply(fl, &orig, MAIL_REPLY_SENDER,
                                        &err) == 0);
    d = mail_compose_flow_draft(fl);
    CHECK_STR(d->to, "Bob <bob@example.com>");
    CHECK_STR(d->subject, "Re: Question");
    CHECK_STR(d->in_reply_to, "<q-1@b.test>");
    CHECK_STR(d->references, "<root@b.test> <q-1@b.test>");
    CHECK(d->kind == MAIL_DRAFT_REPLY);
    CHECK(d->body.data && strstr(d->body.data, "> Well?") != NULL);
    CHECK(!mail_compose_flow_changed(fl));
    CHECK(mail_compose_flow_forwarded_size(fl) == -1);

    /* Attach two files, a missing one and a directory refused; detach. */
    fixture_write("a.txt", "a\n");
    fixture_write("b.txt", "b\n");
    CHECK(mail_compose_flow_attach(fl, fixture_path("a.txt"), &err) == 0);
    CHECK(mail_compose_flow_attach(fl, fixture_path("b.txt"), &err) == 0);
    CHECK(mail_compose_flow_attach(fl, fixture_path("none"), &err) < 0 &&
          err.kind == MAIL_ERR_NOTFOUND);
    CHECK(mail_compose_flow_attach(fl, fixture_path("orig"), &err) < 0 &&
          err.kind == MAIL_ERR_NOTFOUND);
    CHECK(mail_compose_flow_attach(fl, "~/a.txt", &err) == 0);
    CHECK(d->nattach == 3 && strcmp(d->attach[2], fixture_path("a.txt")) == 0);
    CHECK(mail_compose_flow_detach(fl, 5, &err) < 0 &&
          err.kind == MAIL_ERR_USAGE);
    CHECK(mail_compose_flow_detach(fl, 0, &err) == 0);
    CHECK(mail_compose_flow_detach(fl, 1, &err) == 0);
    CHECK(d->nattach == 1 && strstr(d->attach[0], "b.txt") != NULL);
    CHECK(mail_compose_flow_changed(fl));

    /* The editor: a script that sees the headers and changes To and the
     * text; what it wrote is read back. */
    fixture_write("ed", "#!/bin/sh\n"
                  "grep -q '^In-Reply-To: <q-1@b.test>$' \"$1\" || exit 3\n"
                  "awk 'BEGIN { h = 1 }\n"
                  "h && /^To: / { print \"To: carol@example.com\"; next }\n"
                  "h && /^$/ { print; print \"My answer.\"; h = 0; next }\n"
                  "{ print }' \"$1\" > \"$1.n\" && mv \"$1.n\" \"$1\"\n");
    chmod(fixture_path("ed"), 0700);
    CHECK(mail_compose_flow_edit(fl, fixture_path("ed"), &err) == 0);
    CHECK_STR(d->to, "carol@example.com");
    CHECK(strncmp(d->body.data, "My answer.\n", 11) == 0);
    CHECK(d->nattach == 1);
    /* A text that does not parse: 1, and the next edit sees it as is. */
    fixture_write("bad", "#!/bin/sh\nprintf 'Nonsense line\\n\\nx\\n' > \"$1\"\n");
    chmod(fixture_path("bad"), 0700);
    CHECK(mail_compose_flow_edit(fl, fixture_path("bad"), &err) == 1);
    fixture_write("keep", "#!/bin/sh\ngrep -q '^Nonsense line$' \"$1\" || "
                  "exit 4\nprintf 'To: dave@example.com\\nSubject: S\\n"
                  "In-Reply-To: <q-1@b.test>\\n\\n"
                  "fixed\\n' > \"$1\"\n");
    chmod(fixture_path("keep"), 0700);
    CHECK(mail_compose_flow_edit(fl, fixture_path("keep"), &err) == 0);
    CHECK_STR(d->to, "dave@example.com");
    CHECK_STR(d->body.data, "fixed\n");
    /* An editor that fails. */
    CHECK(mail_compose_flow_edit(fl, "false", &err) < 0 &&
          err.kind == MAIL_ERR_UNAVAIL);
    CHECK(mail_compose_flow_set_field(fl, MAIL_COMPOSE_SUBJECT, "Re: Question",
                                      &err) == 0);

    /* Postponed to the store's =Drafts, a Maildir. */
    CHECK(mail_compose_flow_postpone(fl, &saved, &err) == 0);
    CHECK(saved);
    CHECK_STR(mail_compose_flow_drafts_name(fl), fixture_path("Mail/.Drafts"));
    CHECK(count("Mail/.Drafts", name, sizeof name) == 1);
    CHECK(strstr(name, ":2,DS") != NULL);
    text = slurp(name, NULL);
    CHECK(text && strstr(text, "\nX-Mail-Draft: reply\n"));
    CHECK(text && strstr(text, "\nX-Mail-Draft-Original: <q-1@b.test>\n"));
    free(text);
    mail_compose_flow_free(fl);
    /* The original is not flagged by a postpone. */
    CHECK((l.v[0].flags & MAIL_FLAG_ANSWERED) == 0);
    mail_envelope_list_release(&l);
    mail_folder_close(orig.folder, NULL);

    /* Resumed: the fields, the text, the attachment, the original. */
    CHECK((fl = flow()) != NULL);
    drafts = mail_compose_flow_drafts(fl, &err);
    CHECK(drafts && drafts->n == 1);
    CHECK(mail_compose_flow_start_resume(fl, 1, &err) < 0);
    CHECK(mail_compose_flow_start_resume(fl, 0, &err) == 0);
    d = mail_compose_flow_draft(fl);
    CHECK_STR(d->to, "dave@example.com");
    CHECK_STR(d->subject, "Re: Question");
    CHECK_STR(d->body.data, "fixed\n");
    CHECK_STR(d->in_reply_to, "<q-1@b.test>");
    CHECK(d->kind == MAIL_DRAFT_REPLY);
    CHECK_STR(d->orig_id, "<q-1@b.test>");
    {
        char *abs = realpath(fixture_path("orig"), NULL);

        CHECK_STR(d->orig_folder, abs);
        free(abs);
    }
    CHECK(d->nattach == 1);
    if (d->nattach == 1) {
        text = slurp(d->attach[0], NULL);
        CHECK_STR(text, "b\n");
        free(text);
    }
    /* Postponed again: the new version replaces the old one. */
    CHECK(mail_compose_flow_set_field(fl, MAIL_COMPOSE_CC, "eve@example.com",
                                      &err) == 0);
    CHECK(mail_compose_flow_postpone(fl, &saved, &err) == 0);
    CHECK(count("Mail/.Drafts", name, sizeof name) == 1);
    text = slurp(name, NULL);
    CHECK(text && strstr(text, "\nCc: eve@example.com\n"));
    free(text);
    mail_compose_flow_free(fl);
}

static void test_forward_attach_postponed(void)
{
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct mail_compose_original orig = { .fd = -1 };
    const char *to[] = { "zed@example.com" };
    struct mail_compose_flow *fl;
    struct mail_error err;
    struct stat st;
    bool saved;

    CHECK((orig.folder = open_orig(&l)) != NULL);
    if (!orig.folder)
        return;
    orig.env = &l.v[0];
    CHECK((fl = flow()) != NULL);
    CHECK(mail_compose_flow_start_forward(fl, &orig, true, to, 1, &err) == 0);
    CHECK_STR(mail_compose_flow_draft(fl)->to, "zed@example.com");
    CHECK_STR(mail_compose_flow_draft(fl)->subject, "Fwd: Question");
    CHECK(stat(fixture_path("orig/cur/1.test:2,"), &st) == 0);
    CHECK(mail_compose_flow_forwarded_size(fl) == (long long)st.st_size);
    CHECK(mail_compose_flow_postpone(fl, &saved, &err) == 0 && saved);
    CHECK(count("Mail/.Drafts", NULL, 0) == 2);
    mail_compose_flow_free(fl);
    mail_envelope_list_release(&l);
    mail_folder_close(orig.folder, NULL);
}

static void test_no_drafts_folder(void)
{
    struct mail_compose_flow *fl;
    struct mail_error err;
    char *store = account.store;

    account.store = fixture_dup("Other");
    maildir("Other");
    CHECK((fl = flow()) != NULL);
    CHECK(mail_compose_flow_drafts(fl, &err) == NULL &&
          err.kind == MAIL_ERR_NOTFOUND);
    mail_compose_flow_free(fl);
    free(account.store);
    account.store = NULL;
    CHECK((fl = flow()) != NULL);
    CHECK(mail_compose_flow_drafts(fl, &err) == NULL &&
          err.kind == MAIL_ERR_CONFIG);
    mail_compose_flow_free(fl);
    account.store = store;
}

static void test_new_message(void)
{
    const char *files[] = { fixture_path("a.txt") };
    const char *missing[] = { fixture_path("missing") };
    struct mail_compose_new n = {
        .to = "x@example.com", .subject = "Hi", .attach = files,
        .nattach = 1,
    };
    struct mail_compose_flow *fl;
    struct mail_error err;
    int msg = -1;

    CHECK((fl = flow()) != NULL);
    CHECK(mail_compose_flow_start_new(fl, &n, &err) == 0);
    CHECK_STR(mail_compose_flow_draft(fl)->cc, "");
    CHECK(mail_compose_flow_draft(fl)->kind == MAIL_DRAFT_NEW);
    /* --dry-run's message: complete, the Bcc out. */
    CHECK(mail_compose_flow_set_field(fl, MAIL_COMPOSE_BCC, "hid@example.com",
                                      &err) == 0);
    CHECK(mail_compose_flow_message(fl, &msg, &err) == 0);
    if (msg >= 0) {
        char buf[8192];
        ssize_t k = pread(msg, buf, sizeof buf - 1, 0);

        buf[k > 0 ? k : 0] = '\0';
        CHECK(strstr(buf, "\nSubject: Hi\n") || !strncmp(buf, "Subject", 7));
        CHECK(strstr(buf, "hid@example.com") == NULL);
        CHECK(strstr(buf, "Message-ID: <") != NULL);
        close(msg);
    }
    /* No recipient: a usage error before any server. */
    CHECK(mail_compose_flow_set_field(fl, MAIL_COMPOSE_TO, "", &err) == 0);
    CHECK(mail_compose_flow_set_field(fl, MAIL_COMPOSE_BCC, "", &err) == 0);
    CHECK(mail_compose_flow_message(fl, &msg, &err) < 0 &&
          err.kind == MAIL_ERR_USAGE);
    mail_compose_flow_free(fl);
    n.attach = missing;
    CHECK((fl = flow()) != NULL);
    CHECK(mail_compose_flow_start_new(fl, &n, &err) < 0 &&
          err.kind == MAIL_ERR_NOTFOUND);
    mail_compose_flow_free(fl);
}

int main(void)
{
    if (fixture_open("compose_flow") < 0)
        return 1;
    memset(&account, 0, sizeof account);
    account.name = (char *)"t";
    account.address = (char *)"Alice <alice@example.com>";
    account.paths = &fixture_paths;
    account.store = fixture_dup("Mail");
    maildir("Mail");
    maildir("orig");
    fixture_write("orig/cur/1.test:2,",
                  "From: Bob <bob@example.com>\n"
                  "To: Alice <alice@example.com>\n"
                  "Subject: Question\n"
                  "Date: Thu, 3 Dec 2026 10:00:00 +0100\n"
                  "Message-ID: <q-1@b.test>\n"
                  "References: <root@b.test>\n"
                  "\n"
                  "Well?\n");
    RUN(test_reply_attach_postpone_resume);
    RUN(test_forward_attach_postponed);
    RUN(test_no_drafts_folder);
    RUN(test_new_message);
    free(account.store);
    fixture_close();
    return test_done();
}
