/*
 * test_imap_folder.c - the IMAP folder driver's listing against the
 * scripted server of fake_imap.h: a first listing goes in pipelined
 * batches of UID ranges (four in flight), reports progress, and a cancel
 * from the progress callback stops sending batches, reads the ones in
 * flight to their end and fails with MAIL_ERR_TEMP, the session still in
 * step: the next listing on it works.
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

int main(void)
{
    RUN(test_batches_progress_cancel);
    return test_done();
}
