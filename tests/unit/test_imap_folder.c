/*
 * test_imap_folder.c - the IMAP folder driver's listing against the
 * scripted server of fake_imap.h: a first listing goes in pipelined
 * batches of UID ranges (four in flight), reports progress, and a cancel
 * from the progress callback stops sending batches, reads the ones in
 * flight to their end and fails with MAIL_ERR_TEMP, the session still in
 * step: the next listing on it works.  mail_folder_copy between two
 * folders of one connection is UID COPY (COPYUID's key with UIDPLUS,
 * none without), and an APPEND for a message marked deleted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/folder.h"
#include "mail/imap.h"
#include "mail/imapcache.h"
#include "fake_imap.h"
#include "test.h"

struct conn {
    struct mail_session *s;
    const void *selected;
    int drops;
};

static struct mail_session *c_session(void *arg, struct mail_error *err)
{
    struct conn *c = arg;

    (void)err;
    return c->s;
}

static void c_drop(void *arg)
{
    ((struct conn *)arg)->drops++;
}

struct prog {
    size_t calls, cancel_at;     /* cancel once done >= cancel_at */
    size_t last_done, last_total;
    bool saw_total;
};

static int on_progress(void *arg, size_t done, size_t total)
{
    struct prog *p = arg;

    p->calls++;
    p->last_done = done;
    p->last_total = total;
    if (total == 6)
        p->saw_total = true;
    return p->cancel_at && done >= p->cancel_at;
}

#define SEL(tag) \
    "* 6 EXISTS\r\n* OK [UIDVALIDITY 5] v\r\n* OK [UIDNEXT 7] n\r\n" \
    tag " OK [READ-ONLY] examined\r\n"
#define MSG(n, tag) \
    "* " #n " FETCH (UID " #n " FLAGS () RFC822.SIZE 10 ENVELOPE (NIL " \
    "\"s" #n "\" NIL NIL NIL NIL NIL NIL NIL NIL))\r\n" tag " OK done\r\n"

static void test_batches_progress_cancel(void)
{
    static const struct step steps[] = {
        { STEP_REPLY, NULL, SEL("A1") },
        /* the first listing: 4 batches in flight, then cancelled */
        { STEP_REPLY, NULL, MSG(1, "A2") },
        { STEP_REPLY, NULL, MSG(2, "A3") },
        { STEP_REPLY, NULL, MSG(3, "A4") },
        { STEP_REPLY, NULL, MSG(4, "A5") },
        /* the second, on the same connection, to its end */
        { STEP_REPLY, NULL, SEL("A6") },
        { STEP_REPLY, NULL, MSG(1, "A7") },
        { STEP_REPLY, NULL, MSG(2, "A8") },
        { STEP_REPLY, NULL, MSG(3, "A9") },
        { STEP_REPLY, NULL, MSG(4, "A10") },
        { STEP_REPLY, NULL, MSG(5, "A11") },
        { STEP_REPLY, NULL, MSG(6, "A12") },
    };
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct mail_server srv;
    struct mail_error err;
    struct conn c = { NULL, NULL, 0 };
    struct mail_imap_connector con = { c_session, c_drop, NULL, &c,
                                       &c.selected };
    struct prog p = { 0, 1, 0, 0, false };
    struct mail_folder *f;
    FILE *log = tmpfile();
    unsigned port = log ? fake_start("* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n",
                                     steps, sizeof steps / sizeof steps[0],
                                     log)
                        : 0;
    char *sent;
    size_t len;

    mail_error_clear(&err);
    CHECK(port != 0);
    c.s = port ? fake_open(port, &srv, &err) : NULL;
    CHECK(c.s != NULL);
    if (!c.s) {
        fake_stop();
        return;
    }
    f = mail_imap_folder_open(&con, "INBOX", MAIL_FOLDER_RDONLY, NULL, &err);
    CHECK(f != NULL);
    mail_imap_folder_set_batch(f, 1);
    mail_imap_folder_set_progress(f, on_progress, &p);
    CHECK(mail_folder_list(f, &l, 0, &err) == -1);
    CHECK(err.kind == MAIL_ERR_TEMP);
    CHECK(strstr(err.msg, "cancelled") != NULL);
    CHECK(l.n == 0);
    CHECK(c.drops == 0);            /* the session was not given up */
    CHECK(p.saw_total);
    CHECK(p.calls >= 5);
    /* the same session lists to the end */
    mail_imap_folder_set_progress(f, NULL, NULL);
    mail_error_clear(&err);
    CHECK(mail_folder_list(f, &l, 0, &err) == 0);
    CHECK(l.n == 6);
    if (l.n == 6)
        CHECK(l.v[0].uid == 1 && l.v[5].uid == 6 &&
              strcmp(l.v[5].subject, "s6") == 0 &&
              strcmp(l.v[5].key, "5:6") == 0);
    if (err.msg[0])
        printf("# %s\n", err.msg);
    mail_envelope_list_release(&l);
    mail_folder_close(f, NULL);
    mail_session_free(c.s);
    fake_stop();
    sent = log_text(log, &len);
    CHECK(sent != NULL);
    if (sent) {
        /* batches of one UID, the last one open; the cancelled listing
         * sent four and no more */
        CHECK(strstr(sent, "A2 UID FETCH 1:1 (") != NULL);
        CHECK(strstr(sent, "A5 UID FETCH 4:4 (") != NULL);
        CHECK(strstr(sent, "A6 EXAMINE") != NULL);
        CHECK(strstr(sent, "A12 UID FETCH 6:* (") != NULL);
        {
            const char *a6 = strstr(sent, "A6 EXAMINE");

            CHECK(a6 && !memmem(sent, (size_t)(a6 - sent), "5:5", 3));
        }
    }
    free(sent);
    fclose(log);
}

/* Run mail_folder_copy of UID 3 (flags) from INBOX (read-only) to
 * Archive on one connection to a fake server (greeting, steps); *key
 * gets the new key, the return is mail_folder_copy's and *sent what the
 * client sent (caller frees). */
static int copy_on_fake(const char *greeting, const struct step *steps,
                        size_t n, unsigned flags, char **key,
                        struct mail_error *err, char **sent)
{
    struct mail_server srv;
    struct conn c = { NULL, NULL, 0 };
    struct mail_imap_connector con = { c_session, c_drop, NULL, &c,
                                       &c.selected };
    struct mail_envelope e;
    struct mail_folder *from = NULL, *to = NULL;
    FILE *log = tmpfile();
    unsigned port = log ? fake_start(greeting, steps, n, log) : 0;
    size_t len;
    int rc = -2;

    *key = NULL;
    *sent = NULL;
    mail_error_clear(err);
    memset(&e, 0, sizeof e);
    e.key = "5:3";
    e.uid = 3;
    e.flags = flags;
    c.s = port ? fake_open(port, &srv, err) : NULL;
    if (c.s) {
        from = mail_imap_folder_open(&con, "INBOX", MAIL_FOLDER_RDONLY, NULL,
                                     err);
        to = mail_imap_folder_open(&con, "Archive", MAIL_FOLDER_RDWR, NULL,
                                   err);
    }
    if (from && to)
        rc = mail_folder_copy(from, &e, to, key, err);
    if (from)
        mail_folder_close(from, NULL);
    if (to)
        mail_folder_close(to, NULL);
    if (c.s)
        mail_session_free(c.s);
    fake_stop();
    if (log) {
        *sent = log_text(log, &len);
        fclose(log);
    }
    CHECK(c.drops == 0);
    return rc;
}

/* Two imap: folders of one connection: mail_folder_copy is UID COPY on
 * the server (no FETCH, no APPEND), and COPYUID gives the new key. */
static void test_copy_uidplus(void)
{
    static const struct step steps[] = {
        { STEP_REPLY, NULL, SEL("A1") },
        { STEP_REPLY, NULL, "A2 OK [COPYUID 9 3 17] copied\r\n" },
    };
    struct mail_error err;
    char *key, *sent;

    CHECK(copy_on_fake("* PREAUTH [CAPABILITY IMAP4rev1 UIDPLUS] hi\r\n",
                       steps, 2, MAIL_FLAG_SEEN | MAIL_FLAG_FLAGGED, &key,
                       &err, &sent) == 0);
    CHECK(key && strcmp(key, "9:17") == 0);
    CHECK(sent && strstr(sent, "A1 EXAMINE \"INBOX\"\r\n"));
    CHECK(sent && strstr(sent, "A2 UID COPY 3 \"Archive\"\r\n"));
    CHECK(sent && !strstr(sent, "APPEND") && !strstr(sent, "FETCH"));
    if (err.msg[0])
        printf("# %s\n", err.msg);
    free(key);
    free(sent);
}

/* Without UIDPLUS: copied all the same, the new key unknown; a missing
 * destination ([TRYCREATE]) is MAIL_ERR_NOTFOUND naming it, and the
 * session is kept. */
static void test_copy_no_uidplus(void)
{
    static const struct step steps[] = {
        { STEP_REPLY, NULL, SEL("A1") },
        { STEP_REPLY, NULL, "A2 OK copied\r\n" },
    };
    static const struct step missing[] = {
        { STEP_REPLY, NULL, SEL("A1") },
        { STEP_REPLY, NULL, "A2 NO [TRYCREATE] no such mailbox\r\n" },
    };
    struct mail_error err;
    char *key, *sent;

    CHECK(copy_on_fake("* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n", steps, 2,
                       MAIL_FLAG_SEEN, &key, &err, &sent) == 0);
    CHECK(key == NULL);
    CHECK(sent && strstr(sent, "A2 UID COPY 3 \"Archive\"\r\n"));
    CHECK(sent && !strstr(sent, "APPEND") && !strstr(sent, "FETCH"));
    free(key);
    free(sent);
    CHECK(copy_on_fake("* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n", missing, 2,
                       MAIL_FLAG_SEEN, &key, &err, &sent) == -1);
    CHECK(err.kind == MAIL_ERR_NOTFOUND);
    CHECK(strcmp(err.msg, "imap:Archive: no such folder on the server") == 0);
    CHECK(key == NULL);
    free(sent);
}

/* A message marked deleted: COPY would keep \Deleted on the copy, so it
 * is fetched and appended without it (the contract of mail_folder_copy). */
static void test_copy_deleted_appends(void)
{
    static const struct step steps[] = {
        { STEP_REPLY, NULL, SEL("A1") },
        { STEP_REPLY, NULL, "* 1 FETCH (UID 3 BODY[] {7}\r\nhello\r\n)\r\n"
                            "A2 OK fetched\r\n" },
        { STEP_LITERAL, "+ go\r\n", "A3 OK appended\r\n" },
    };
    struct mail_error err;
    char *key, *sent;

    CHECK(copy_on_fake("* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n", steps, 3,
                       MAIL_FLAG_SEEN | MAIL_FLAG_DELETED, &key, &err,
                       &sent) == 0);
    if (err.msg[0])
        printf("# %s\n", err.msg);
    CHECK(sent && !strstr(sent, "UID COPY"));
    CHECK(sent && strstr(sent, "A3 APPEND \"Archive\" (\\Seen) {7}"));
    CHECK(sent && !strstr(sent, "Deleted"));
    free(key);
    free(sent);
}

int main(void)
{
    RUN(test_batches_progress_cancel);
    RUN(test_copy_uidplus);
    RUN(test_copy_no_uidplus);
    RUN(test_copy_deleted_appends);
    return test_done();
}
