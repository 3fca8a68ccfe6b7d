/*
 * test_imap.c - IMAP commands: helpers offline, and a run against the
 * harness's Dovecot (tests/servers/start) when MAIL_TEST_DIR is set:
 * messages are put into two new folders of alice's Maildir, then
 * listed, selected, fetched (bodies streamed into a hash and compared with
 * the files), flagged, moved and expunged.  Without the harness those
 * checks are skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mail/folder.h"
#include "mail/imap.h"
#include "fake_imap.h"
#include "test.h"

static void test_uid_set(void)
{
    struct mail_buf b = MAIL_BUF_INIT;
    const uint32_t u[] = { 1, 2, 3, 7, 9, 10, 4294967295u };

    CHECK(mail_imap_uid_set(&b, u, 7) == 0);
    CHECK_STR(b.data, "1:3,7,9:10,4294967295");
    mail_buf_reset(&b);
    CHECK(mail_imap_uid_set(&b, u + 3, 1) == 0);
    CHECK_STR(b.data, "7");
    mail_buf_release(&b);
}

static void test_flags(void)
{
    struct mail_buf b = MAIL_BUF_INIT;
    struct mail_imap_parser p;
    struct mail_error err;
    size_t used;
    static const char in[] =
        "* FLAGS (\\seen \\ANSWERED \\Flagged \\Draft \\Deleted $forwarded "
        "\\Recent $Junk)\r\n";

    CHECK(mail_imap_flags_format(&b, MAIL_FLAG_SEEN | MAIL_FLAG_PASSED |
                                         MAIL_FLAG_NEW) == 0);
    CHECK_STR(b.data, "\\Seen $Forwarded");
    mail_imap_parser_init(&p, NULL, NULL, NULL);
    CHECK(mail_imap_parser_feed(&p, in, sizeof in - 1, &used, &err) == 1);
    CHECK(mail_imap_flags_from_list(p.resp.args.child) ==
          (MAIL_FLAG_SEEN | MAIL_FLAG_ANSWERED | MAIL_FLAG_FLAGGED |
           MAIL_FLAG_DRAFT | MAIL_FLAG_DELETED | MAIL_FLAG_PASSED |
           MAIL_FLAG_NEW));
    mail_imap_parser_release(&p);
    mail_buf_release(&b);
}

static void test_date(void)
{
    time_t t;

    CHECK(mail_imap_parse_date("17-Jul-1996 02:44:25 -0700", &t) == 0 &&
          t == 837596665);
    CHECK(mail_imap_parse_date(" 1-Jan-1970 00:00:00 +0000", &t) == 0 && t == 0);
    CHECK(mail_imap_parse_date("01-Jan-1970 01:00:00 +0100", &t) == 0 && t == 0);
    CHECK(mail_imap_parse_date("17-Foo-1996 02:44:25 -0700", &t) < 0);
    CHECK(mail_imap_parse_date("17-Jul-1996 02:44:25", &t) < 0);
    CHECK(mail_imap_parse_date("17-Jul-1996 25:44:25 -0700", &t) < 0);
    CHECK(mail_imap_parse_date("17-Jul-1996 02:44:25 -0700x", &t) < 0);
}

static void test_mailbox_arg(void)
{
    struct mail_buf b = MAIL_BUF_INIT;

    CHECK(mail_imap_mailbox_arg(&b, "Entw\xc3\xbc" "rfe \"x\\y\" & z") == 0);
    CHECK_STR(b.data, "\"Entw&APw-rfe \\\"x\\\\y\\\" &- z\"");
    mail_buf_reset(&b);
    CHECK(mail_imap_mailbox_arg(&b, "bad\xff") < 0);
    mail_buf_release(&b);
}

/* ---- a scripted fake server (faults a real server will not produce) ----
 *
 * The child sends the greeting, then for each line the client sends, the
 * next reply of the script; after the script it closes the connection. */

static int fake_log_fd = -1;   /* >= 0: what the client sent goes there */

/* fake_imap.h's server with one reply per command line, closed after the
 * script. */
static unsigned fake_start_replies(const char *greeting,
                                   const char *const *replies, size_t n)
{
    struct step *steps = calloc(n ? n : 1, sizeof *steps);
    FILE *log = fake_log_fd >= 0 ? fdopen(dup(fake_log_fd), "a")
                                 : fopen("/dev/null", "w");
    unsigned port = 0;

    if (steps && log) {
        for (size_t i = 0; i < n; i++) {
            steps[i].kind = STEP_REPLY;
            steps[i].reply = replies[i];
        }
        fake_close_after = true;
        fake_timeout = 10;
        port = fake_start(greeting, steps, n, log);
    }
    free(steps);
    if (log)
        fclose(log);
    return port;
}

struct fake_msgs {
    uint32_t begin_uid[4], end_uid[4];
    unsigned end_flags[4];
    struct mail_buf body;
    int nb, ne;
};

static int fk_begin(void *arg, const struct mail_imap_msg *m,
                    struct mail_imap_body_sink *sink,
                    struct mail_error *err)
{
    struct fake_msgs *f = arg;

    (void)err;
    if (f->nb < 4)
        f->begin_uid[f->nb++] = m->uid;
    sink->fn = mail_sink_buf;
    sink->ctx = &f->body;
    return 0;
}

static int fk_end(void *arg, const struct mail_imap_msg *m,
                  struct mail_error *err)
{
    struct fake_msgs *f = arg;

    (void)err;
    if (f->ne < 4) {
        f->end_uid[f->ne] = m->uid;
        f->end_flags[f->ne++] = m->flags;
    }
    return 0;
}

/* Pipelined fetch; UID after the body; a NO for the second batch. */
static void test_fake_fetch(void)
{
    static const char *const script[] = {
        "* 1 FETCH (UID 5 BODY[] {3}\r\nabc FLAGS (\\Seen))\r\nA1 OK done\r\n",
        ("* 2 FETCH (BODY[] {2}\r\nxy UID 6 FLAGS ())\r\n"
         "A2 NO [SERVERBUG] oops\r\n"),
        "* 3 FETCH (UID 7 BODY[] {1}\r\nz)\r\nA3 OK\r\n",
    };
    const uint32_t uids[] = { 5, 6, 7 };
    const struct mail_imap_fetch_opts one = { 1, NULL };
    struct fake_msgs f;
    struct mail_server srv;
    struct mail_error err;
    struct mail_session *s;
    unsigned port = fake_start_replies("* OK [CAPABILITY IMAP4rev1] hi\r\n", script, 3);

    memset(&f, 0, sizeof f);
    mail_error_clear(&err);
    CHECK(port != 0);
    s = fake_open(port, &srv, &err);
    CHECK(s != NULL);
    if (s) {
        CHECK(mail_imap_fetch_messages(s, uids, 3, &one, fk_begin, fk_end,
                                       &f, &err) < 0);
        CHECK(err.kind == MAIL_ERR_TEMP);   /* [SERVERBUG] */
        CHECK(strstr(err.msg, "127.0.0.1:") == err.msg &&
              strstr(err.msg, "UID FETCH: [SERVERBUG] oops") != NULL);
        printf("# %s\n", err.msg);
        /* UID 6 came after its body: begin is called once it is known */
        CHECK(f.nb == 2 && f.begin_uid[0] == 5 && f.begin_uid[1] == 6);
        CHECK(f.ne == 2 && f.end_uid[0] == 5 && f.end_uid[1] == 6);
        CHECK(f.end_flags[0] == MAIL_FLAG_SEEN && f.end_flags[1] == 0);
        CHECK_MEM(f.body.data, f.body.len, "abcxy", 5);
        mail_session_free(s);
    }
    mail_buf_release(&f.body);
    fake_stop();
}

/* The connection drops in the middle of a literal; garbage; no UIDPLUS. */
static void test_fake_faults(void)
{
    static const char *const drop[] = {
        "* 1 FETCH (UID 5 BODY[] {300}\r\nonly a part",
    };
    static const char *const garbage[] = {
        "* 1 FETCH (UID 5 BODY[] {99999999999}\r\n",
    };
    static const char *const bye[] = {
        "* BYE [UNAVAILABLE] shutting down\r\n",
    };
    const uint32_t uid = 5;
    struct fake_msgs f;
    struct mail_server srv;
    struct mail_error err;
    struct mail_session *s;
    unsigned port;

    memset(&f, 0, sizeof f);
    port = fake_start_replies("* OK [CAPABILITY IMAP4rev1] hi\r\n", drop, 1);
    s = fake_open(port, &srv, &err);
    CHECK(s != NULL);
    if (s) {
        CHECK(mail_imap_fetch_messages(s, &uid, 1, NULL, fk_begin, fk_end, &f,
                                       &err) < 0);
        CHECK(err.kind == MAIL_ERR_UNAVAIL);
        printf("# %s\n", err.msg);
        CHECK(f.ne == 0);
        mail_session_free(s);
    }
    fake_stop();
    mail_buf_release(&f.body);

    port = fake_start_replies("* OK [CAPABILITY IMAP4rev1] hi\r\n", garbage, 1);
    s = fake_open(port, &srv, &err);
    CHECK(s != NULL);
    if (s) {
        CHECK(mail_imap_fetch_messages(s, &uid, 1, NULL, fk_begin, fk_end, &f,
                                       &err) < 0);
        CHECK(err.kind == MAIL_ERR_PROTOCOL &&
              strstr(err.msg, "UID FETCH") && strstr(err.msg, "literal"));
        printf("# %s\n", err.msg);
        mail_session_free(s);
    }
    fake_stop();

    port = fake_start_replies("* OK [CAPABILITY IMAP4rev1] hi\r\n", bye, 1);
    s = fake_open(port, &srv, &err);
    CHECK(s != NULL);
    if (s) {
        CHECK(mail_imap_fetch_messages(s, &uid, 1, NULL, fk_begin, fk_end, &f,
                                       &err) < 0);
        CHECK(err.kind == MAIL_ERR_UNAVAIL && strstr(err.msg, "shutting down"));
        printf("# %s\n", err.msg);
        CHECK(mail_imap_expunge_uids(s, &uid, 1, &err) < 0 &&
              err.kind == MAIL_ERR_UNAVAIL && strstr(err.msg, "UIDPLUS"));
        mail_session_free(s);
    }
    fake_stop();
}

/* Run one fetch of uids against a one-reply script; returns its result. */
static int fake_fetch_run(const char *greeting, const char *const *script,
                          size_t nscript, const uint32_t *uids, size_t n,
                          size_t batch, struct fake_msgs *f,
                          struct mail_error *err)
{
    struct mail_server srv;
    struct mail_session *s;
    unsigned port = fake_start_replies(greeting, script, nscript);
    int rc = -2;

    memset(f, 0, sizeof *f);
    mail_error_clear(err);
    s = port ? fake_open(port, &srv, err) : NULL;
    if (s) {
        struct mail_imap_fetch_opts o = { batch, NULL };

        rc = mail_imap_fetch_messages(s, uids, n, &o, fk_begin, fk_end, f,
                                      err);
        mail_session_free(s);
    }
    fake_stop();
    return rc;
}

#define HI "* OK [CAPABILITY IMAP4rev1] hi\r\n"

/* RFC 3501 7.4.2: BODY[] before UID and FLAGS; the body still reaches the
 * right message, with its flags. */
static void test_fetch_item_order(void)
{
    static const char *const script[] = {
        "* 1 FETCH (BODY[] {3}\r\nabc UID 5 FLAGS (\\Seen))\r\n"
        "* 2 FETCH (RFC822.SIZE 2 BODY[] {2}\r\nxy FLAGS (\\Flagged) UID 6 "
        "INTERNALDATE \"17-Jul-1996 02:44:25 -0700\")\r\n"
        "A1 OK done\r\n",
    };
    const uint32_t uids[] = { 5, 6 };
    struct fake_msgs f;
    struct mail_error err;

    CHECK(fake_fetch_run(HI, script, 1, uids, 2, 0, &f, &err) == 0);
    printf("# %s\n", err.msg);
    CHECK(f.nb == 2 && f.begin_uid[0] == 5 && f.begin_uid[1] == 6);
    CHECK(f.ne == 2 && f.end_uid[0] == 5 && f.end_uid[1] == 6);
    CHECK(f.end_flags[0] == MAIL_FLAG_SEEN &&
          f.end_flags[1] == MAIL_FLAG_FLAGGED);
    CHECK_MEM(f.body.data, f.body.len, "abcxy", 5);
    mail_buf_release(&f.body);
}

/* Pipelined commands completed out of order, with untagged responses
 * (EXISTS, EXPUNGE, FLAGS of another message, OK [ALERT] whose text ends
 * in {5}) in between. */
static void test_fetch_tag_order(void)
{
    static const char *const script[] = {
        "* 3 EXISTS\r\n* 3 FETCH (FLAGS (\\Seen))\r\n",
        "* 2 FETCH (UID 6 BODY[] {2}\r\nxy)\r\n"
        "* OK [ALERT] maintenance at 5 {5}\r\n"
        "A2 OK done {5}\r\n"
        "* 3 EXPUNGE\r\n"
        "* 1 FETCH (UID 5 BODY[] {3}\r\nabc)\r\n"
        "* 1 FETCH (UID 5 FLAGS (\\Seen))\r\n"
        "A1 OK done\r\n",
    };
    const uint32_t uids[] = { 5, 6 };
    struct fake_msgs f;
    struct mail_error err;

    CHECK(fake_fetch_run(HI, script, 2, uids, 2, 1, &f, &err) == 0);
    printf("# %s\n", err.msg);
    CHECK(f.nb == 2 && f.begin_uid[0] == 6 && f.begin_uid[1] == 5);
    CHECK(f.ne == 2 && f.end_uid[0] == 6 && f.end_uid[1] == 5);
    CHECK_MEM(f.body.data, f.body.len, "xyabc", 5);
    mail_buf_release(&f.body);
}

/* A body without a UID, or with a UID not asked for: MAIL_ERR_PROTOCOL,
 * never a silent skip; the same UID twice: delivered once. */
static void test_fetch_bad_uids(void)
{
    static const char *const nouid[] = {
        "* 1 FETCH (BODY[] {3}\r\nabc FLAGS ())\r\nA1 OK done\r\n",
    };
    static const char *const other[] = {
        "* 1 FETCH (UID 9 BODY[] {3}\r\nabc)\r\nA1 OK done\r\n",
    };
    static const char *const other_late[] = {
        "* 1 FETCH (BODY[] {3}\r\nabc UID 9)\r\nA1 OK done\r\n",
    };
    static const char *const twice[] = {
        "* 1 FETCH (UID 5 BODY[] {3}\r\nabc)\r\n"
        "* 1 FETCH (UID 5 BODY[] {3}\r\nabc)\r\n"
        "* 1 FETCH (BODY[] {3}\r\nabc UID 5)\r\nA1 OK done\r\n",
    };
    const uint32_t uid = 5;
    struct fake_msgs f;
    struct mail_error err;

    CHECK(fake_fetch_run(HI, nouid, 1, &uid, 1, 0, &f, &err) < 0);
    printf("# %s\n", err.msg);
    CHECK(err.kind == MAIL_ERR_PROTOCOL && strstr(err.msg, "without its UID"));
    CHECK(f.nb == 0 && f.ne == 0);
    mail_buf_release(&f.body);

    CHECK(fake_fetch_run(HI, other, 1, &uid, 1, 0, &f, &err) < 0);
    printf("# %s\n", err.msg);
    CHECK(err.kind == MAIL_ERR_PROTOCOL && strstr(err.msg, "UID 9") &&
          strstr(err.msg, "not asked for"));
    CHECK(f.nb == 0 && f.ne == 0);
    mail_buf_release(&f.body);

    CHECK(fake_fetch_run(HI, other_late, 1, &uid, 1, 0, &f, &err) < 0);
    printf("# %s\n", err.msg);
    CHECK(err.kind == MAIL_ERR_PROTOCOL && strstr(err.msg, "UID 9"));
    CHECK(f.nb == 0 && f.ne == 0);
    mail_buf_release(&f.body);

    CHECK(fake_fetch_run(HI, twice, 1, &uid, 1, 0, &f, &err) == 0);
    CHECK(f.nb == 1 && f.ne == 1 && f.end_uid[0] == 5);
    CHECK_MEM(f.body.data, f.body.len, "abc", 3);
    mail_buf_release(&f.body);
}

/* A sink that fails the way a full disk does, with its own error. */
struct full_disk {
    int nbegin;
};

static int full_disk_sink(void *ctx, const char *data, size_t len,
                          struct mail_error *err)
{
    (void)ctx;
    (void)data;
    (void)len;
    return mail_error_set(err, MAIL_ERR_IO, "~/Mail/INBOX: %s",
                          strerror(ENOSPC));
}

static int full_disk_begin(void *arg, const struct mail_imap_msg *m,
                           struct mail_imap_body_sink *sink,
                           struct mail_error *err)
{
    struct full_disk *d = arg;

    (void)m;
    (void)err;
    d->nbegin++;
    sink->fn = full_disk_sink;
    sink->ctx = d;
    return 0;
}

/* The sink's own error reaches the caller (kind and message), whether the
 * body streams straight (UID first) or from the spool (UID after it); the
 * spool file is made in the directory the options name. */
static void test_fetch_sink_error(void)
{
    static const char *const direct[] = {
        "* 1 FETCH (UID 5 BODY[] {3}\r\nabc)\r\nA1 OK done\r\n",
    };
    static const char *const spooled[] = {
        "* 1 FETCH (BODY[] {3}\r\nabc UID 5)\r\nA1 OK done\r\n",
    };
    const char *const *scripts[] = { direct, spooled };
    const uint32_t uid = 5;
    char dir[] = "/tmp/test_imap.XXXXXX";
    char missing[sizeof dir + 16];

    CHECK(mkdtemp(dir) != NULL);
    for (int k = 0; k < 2; k++) {
        struct mail_imap_fetch_opts o = { 0, dir };
        struct full_disk d;
        struct mail_server srv;
        struct mail_error err;
        struct mail_session *s;
        unsigned port = fake_start_replies(HI, scripts[k], 1);

        memset(&d, 0, sizeof d);
        mail_error_clear(&err);
        s = port ? fake_open(port, &srv, &err) : NULL;
        CHECK(s != NULL);
        if (s) {
            CHECK(mail_imap_fetch_messages(s, &uid, 1, &o, full_disk_begin,
                                           NULL, &d, &err) < 0);
            printf("# %s\n", err.msg);
            CHECK(d.nbegin == 1);
            CHECK(err.kind == MAIL_ERR_IO);
            CHECK_STR(err.msg, "~/Mail/INBOX: No space left on device");
            mail_session_free(s);
        }
        fake_stop();
    }

    /* a spool directory that cannot hold the file: its error, naming it */
    snprintf(missing, sizeof missing, "%s/missing", dir);
    {
        struct mail_imap_fetch_opts o = { 0, missing };
        struct fake_msgs f;
        struct mail_server srv;
        struct mail_error err;
        struct mail_session *s;
        unsigned port = fake_start_replies(HI, spooled, 1);

        memset(&f, 0, sizeof f);
        s = port ? fake_open(port, &srv, &err) : NULL;
        CHECK(s != NULL);
        if (s) {
            CHECK(mail_imap_fetch_messages(s, &uid, 1, &o, fk_begin, fk_end,
                                           &f, &err) < 0);
            printf("# %s\n", err.msg);
            CHECK(err.kind == MAIL_ERR_CANTCREAT &&
                  strstr(err.msg, missing) != NULL);
            CHECK(f.nb == 0);
            mail_session_free(s);
        }
        fake_stop();
        mail_buf_release(&f.body);
    }
    rmdir(dir);
}

/* LOGOUT to a server that never answers: the goodbye waits a short while
 * (5 s), not the session's whole timeout. */
static void test_goodbye_deadline(void)
{
    static const char *const silent[] = { "SLEEP" };
    struct mail_server srv;
    struct mail_error err;
    struct mail_session *s;
    struct timespec t0, t1;
    unsigned port = fake_start_replies(HI, silent, 1);
    double secs;

    s = port ? fake_open(port, &srv, &err) : NULL;
    CHECK(s != NULL);
    srv.timeout = 20;
    if (s) {
        mail_conn_set_timeout(s->conn, 20);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        mail_imap_logout(s);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        secs = (double)(t1.tv_sec - t0.tv_sec) +
               (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        printf("# LOGOUT unanswered: gave up after %.1f s\n", secs);
        CHECK(secs >= 4.0 && secs < 8.0);
    }
    fake_stop();
}

/* Response text ending in {5} is text, not a literal: in the greeting, an
 * untagged OK [ALERT] and a tagged OK (the session's reader). */
static void test_text_not_literal(void)
{
    static const char *const script[] = {
        "* OK [ALERT] read this {5}\r\n"
        "* CAPABILITY IMAP4rev1 X-AFTER\r\n"
        "A1 OK done {5}\r\n",
        "A2 OK [CAPABILITY IMAP4rev1 X-LOGGED] welcome {3}\r\n",
    };
    struct mail_server srv;
    struct mail_error err;
    struct mail_session *s;
    unsigned port = fake_start_replies("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] "
                               "ready {5}\r\n", script, 2);

    mail_error_clear(&err);
    s = port ? fake_open(port, &srv, &err) : NULL;
    CHECK(s != NULL);
    if (s) {
        CHECK(mail_session_has_cap(s, "AUTH=PLAIN"));
        CHECK(mail_imap_capability(s, &err) == 0);
        printf("# %s\n", err.msg);
        CHECK(mail_session_has_cap(s, "X-AFTER"));
        CHECK(mail_imap_login(s, "secret", &err) == 0);
        printf("# %s\n", err.msg);
        mail_session_free(s);
    }
    fake_stop();
}

/* What the client sent to the fake server (fake_log_fd), or "". */
static void fake_log_read(struct mail_buf *b)
{
    char buf[4096];
    ssize_t k;

    mail_buf_reset(b);
    if (fake_log_fd < 0 || lseek(fake_log_fd, 0, SEEK_SET) < 0)
        return;
    while ((k = read(fake_log_fd, buf, sizeof buf)) > 0)
        mail_buf_add(b, buf, (size_t)k);
    mail_buf_addstr(b, "");
}

/* LIST with names that are not modified UTF-7 or do not round-trip, one
 * too long, one with control characters: no abort; display names are
 * safe; EXAMINE of the display name sends the server's own bytes back
 * (quoted, or as a synchronizing literal after "+"). */
static void test_list_names(void)
{
    static char lit_name[] = "evil\x1b]2;x\x07y";
    static char list_reply[8192];
    static const char *script[4];
    struct mail_buf sent = MAIL_BUF_INIT, big = MAIL_BUF_INIT;
    struct mail_imap_mailboxes l = { NULL, 0 };
    struct mail_imap_mailbox_state st;
    struct mail_server srv;
    struct mail_error err;
    struct mail_session *s;
    char tmpl[] = "/tmp/test_imap.XXXXXX";
    size_t skipped = 99;
    unsigned port;

    for (int i = 0; i < 2000; i++)
        mail_buf_addch(&big, 'n');
    snprintf(list_reply, sizeof list_reply,
             "* LIST (\\HasNoChildren) \"/\" \"&AOk-&AOk-\"\r\n"
             "* LIST () \"/\" {%zu}\r\n%s\r\n"
             "* LIST () \"/\" \"Entw&APw-rfe\"\r\n"
             "* LIST () \"/\" {2000}\r\n%s\r\n"
             "* LIST () \"/\" \"bad&Zm9v\"\r\n"
             "* LIST () \"/\" inbox\r\n"
             "A1 OK done\r\n", strlen(lit_name), lit_name, big.data);
    script[0] = list_reply;
    script[1] = "A2 OK [READ-ONLY] done\r\n";
    script[2] = "+ go on\r\n";
    script[3] = "A3 OK [READ-ONLY] done\r\n";
    fake_log_fd = mkstemp(tmpl);
    CHECK(fake_log_fd >= 0);
    unlink(tmpl);
    mail_error_clear(&err);
    port = fake_start_replies(HI, script, 4);
    s = port ? fake_open(port, &srv, &err) : NULL;
    CHECK(s != NULL);
    if (s) {
        CHECK(mail_imap_list_counted(s, &l, &skipped, &err) == 0);
        printf("# %s\n", err.msg);
        CHECK(skipped == 1);
        CHECK(l.n == 5);
        if (l.n == 5) {
            CHECK_STR(l.v[0].raw, "&AOk-&AOk-");
            CHECK_STR(l.v[0].name, "&AOk-&AOk-");
            CHECK_STR(l.v[1].raw, lit_name);
            CHECK_STR(l.v[1].name, "evil\\x1b]2;x\\x07y");
            CHECK_STR(l.v[2].name, "Entw\xc3\xbcrfe");
            CHECK_STR(l.v[3].name, "bad&Zm9v");
            CHECK_STR(l.v[4].name, "INBOX");
            CHECK(mail_imap_examine(s, l.v[0].name, &st, &err) == 0);
            printf("# %s\n", err.msg);
            CHECK(st.read_only);
            CHECK(mail_imap_examine(s, l.v[1].name, &st, &err) == 0);
            printf("# %s\n", err.msg);
        }
        mail_session_free(s);
    }
    fake_stop();
    fake_log_read(&sent);
    CHECK(strstr(sent.data, "A2 EXAMINE \"&AOk-&AOk-\"\r\n") != NULL);
    {
        char want[64];

        snprintf(want, sizeof want, "A3 EXAMINE {%zu}\r\n%s\r\n",
                 strlen(lit_name), lit_name);
        CHECK(strstr(sent.data, want) != NULL);
    }
    close(fake_log_fd);
    fake_log_fd = -1;
    mail_imap_mailboxes_release(&l);
    mail_buf_release(&sent);
    mail_buf_release(&big);
}

/* More than 10000 mailboxes: MAIL_ERR_PROTOCOL, not unbounded memory. */
static void test_list_bounds(void)
{
    struct mail_buf reply = MAIL_BUF_INIT;
    struct mail_imap_mailboxes l = { NULL, 0 };
    const char *script[1];
    struct mail_error err;

    for (int i = 0; i <= 10000; i++)
        mail_buf_printf(&reply, "* LIST () \"/\" \"box%d\"\r\n", i);
    mail_buf_addstr(&reply, "A1 OK done\r\n");
    script[0] = reply.data;
    {
        struct mail_server srv;
        struct mail_session *s;
        unsigned port = fake_start_replies(HI, script, 1);

        mail_error_clear(&err);
        s = port ? fake_open(port, &srv, &err) : NULL;
        CHECK(s != NULL);
        if (s) {
            CHECK(mail_imap_list(s, &l, &err) < 0);
            printf("# %s\n", err.msg);
            CHECK(err.kind == MAIL_ERR_PROTOCOL &&
                  strstr(err.msg, "more than 10000 mailboxes"));
            CHECK(l.n == 0 && l.v == NULL);
            mail_session_free(s);
        }
        fake_stop();
    }
    mail_buf_release(&reply);
}

/* ---- against Dovecot ---- */

#define NMSG 6

struct hash {
    uint64_t h;
    uint64_t n;
};

static int hash_sink(void *ctx, const char *d, size_t n,
                     struct mail_error *err)
{
    struct hash *h = ctx;

    (void)err;
    for (size_t i = 0; i < n; i++) {
        h->h ^= (unsigned char)d[i];
        h->h *= 1099511628211ull;
    }
    h->n += n;
    return 0;
}

struct fetched {
    uint32_t uid;
    unsigned flags;
    uint64_t size;
    bool has_date;
    struct hash h;
    int pieces_ok;
};

struct fetch_state {
    struct fetched got[NMSG + 2];
    size_t n;
    size_t begun;
};

static int on_begin(void *arg, const struct mail_imap_msg *m,
                    struct mail_imap_body_sink *sink,
                    struct mail_error *err)
{
    struct fetch_state *st = arg;
    struct fetched *f;

    (void)err;
    if (st->begun >= NMSG + 2)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "too many messages");
    f = &st->got[st->begun++];
    memset(f, 0, sizeof *f);
    f->h.h = 1469598103934665603ull;
    f->uid = m->uid;
    sink->fn = hash_sink;
    sink->ctx = &f->h;
    return 0;
}

static int on_end(void *arg, const struct mail_imap_msg *m,
                  struct mail_error *err)
{
    struct fetch_state *st = arg;
    struct fetched *f = &st->got[st->n++];

    (void)err;
    f->pieces_ok = f->uid == m->uid && m->body_size == f->h.n;
    f->flags = m->flags;
    f->size = m->size;
    f->has_date = m->has_date;
    return 0;
}

/* Message i: small ones and one of ~3 MB, CRLF throughout (Dovecot sends
 * CRLF files unchanged). */
static void make_msg(struct mail_buf *b, int i, unsigned pid)
{
    mail_buf_reset(b);
    mail_buf_printf(b, "From: a@example.test\r\nTo: alice@example.test\r\n"
                       "Subject: imap test %d (%u)\r\nMessage-ID: <%d.%u@t>\r\n"
                       "\r\n", i, pid, i, pid);
    if (i == 3) {
        for (int l = 0; l < 40000; l++)
            mail_buf_printf(b, "%05d ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                               "qrstuvwxyz0123456789+/ line of the big one\r\n",
                            l);
    } else {
        mail_buf_printf(b, "Body %d {5}\r\n(not a literal)\r\n\r\n", i);
    }
}

static int write_file(const char *path, const struct mail_buf *b, uid_t u,
                      gid_t g)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);

    if (fd < 0)
        return -1;
    if (write(fd, b->data, b->len) != (ssize_t)b->len || fchown(fd, u, g) < 0) {
        close(fd);
        return -1;
    }
    return close(fd);
}

static int make_folder(const char *md, const char *folder, uid_t u, gid_t g)
{
    static const char *const sub[] = { "", "/cur", "/new", "/tmp" };
    char path[1024];

    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/.%s%s", md, folder, sub[i]);
        if (mkdir(path, 0700) < 0 || chown(path, u, g) < 0)
            return -1;
    }
    return 0;
}

static void test_dovecot(void)
{
    const char *dir = getenv("MAIL_TEST_DIR"), *md = getenv("MAIL_TEST_MAILDIR1");
    const char *port = getenv("MAIL_TEST_IMAPS_PORT");
    unsigned pid = (unsigned)getpid();
    char folder[128], folder_raw[128], dest[128], path[1024];
    struct mail_buf b = MAIL_BUF_INIT;
    struct hash want[NMSG];
    struct mail_server srv;
    struct mail_session *s = NULL;
    struct mail_error err;
    struct mail_imap_mailboxes boxes = { NULL, 0 };
    struct mail_imap_mailbox_state st;
    struct mail_imap_uids uids = { NULL, 0, 0 };
    struct fetch_state *fs = calloc(1, sizeof *fs);
    struct stat sb;
    bool found = false;

    if (!dir || !md || !port || stat(md, &sb) < 0) {
        printf("ok %d - test_dovecot # SKIP no test servers (run "
               "tests/servers/start and source its env)\n", ++test_count);
        free(fs);
        return;
    }
    /* Two folders of our own: "imaptest-PID-Entwürfe" and a destination. */
    snprintf(folder_raw, sizeof folder_raw, "imaptest-%u-Entw&APw-rfe", pid);
    snprintf(folder, sizeof folder, "imaptest-%u-Entw\xc3\xbc" "rfe", pid);
    snprintf(dest, sizeof dest, "imaptest-%u-dest", pid);
    CHECK(make_folder(md, folder_raw, sb.st_uid, sb.st_gid) == 0);
    CHECK(make_folder(md, dest, sb.st_uid, sb.st_gid) == 0);
    for (int i = 0; i < NMSG; i++) {
        char tmp[1024];

        make_msg(&b, i, pid);
        want[i].h = 1469598103934665603ull;
        want[i].n = 0;
        hash_sink(&want[i], b.data, b.len, NULL);
        snprintf(tmp, sizeof tmp, "%s/.%s/tmp/%u.M%dP%u.test", md, folder_raw,
                 1000000000u + (unsigned)i, i, pid);
        if (i == 1)
            snprintf(path, sizeof path, "%s/.%s/cur/%u.M%dP%u.test:2,S", md,
                     folder_raw, 1000000000u + (unsigned)i, i, pid);
        else
            snprintf(path, sizeof path, "%s/.%s/new/%u.M%dP%u.test", md,
                     folder_raw, 1000000000u + (unsigned)i, i, pid);
        CHECK(write_file(tmp, &b, sb.st_uid, sb.st_gid) == 0 &&
              rename(tmp, path) == 0);
    }

    memset(&srv, 0, sizeof srv);
    srv.proto = MAIL_PROTO_IMAP;
    srv.host = getenv("MAIL_TEST_HOST");
    srv.port = (unsigned)atoi(port);
    srv.tls = MAIL_TLS_IMPLICIT;
    srv.timeout = 20;
    srv.ca_file = getenv("MAIL_TEST_CA");
    srv.user = getenv("MAIL_TEST_USER1");
    mail_error_clear(&err);
    s = mail_imap_open(&srv, &err);
    CHECK(s != NULL);
    if (!s || mail_imap_login(s, getenv("MAIL_TEST_PASS1"), &err) < 0) {
        printf("# %s\n", err.msg);
        CHECK(0);
        goto out;
    }

    CHECK(mail_imap_capability(s, &err) == 0);
    CHECK(mail_session_has_cap(s, "UIDPLUS") && s->mechs.len > 0);
    CHECK(mail_imap_list(s, &boxes, &err) == 0);
    for (size_t i = 0; i < boxes.n; i++) {
        if (strcmp(boxes.v[i].name, folder) == 0) {
            found = true;
            CHECK_STR(boxes.v[i].raw, folder_raw);
            CHECK(boxes.v[i].delim == '.' || boxes.v[i].delim == '/');
        }
        if (strcmp(boxes.v[i].name, "INBOX") == 0)
            CHECK(boxes.v[i].attrs == 0 ||
                  !(boxes.v[i].attrs & MAIL_IMAP_MBX_NOSELECT));
    }
    CHECK(found);

    CHECK(mail_imap_examine(s, folder, &st, &err) == 0);
    CHECK(st.read_only);
    CHECK(mail_imap_select(s, folder, &st, &err) == 0);
    CHECK(!st.read_only);
    CHECK(st.exists == NMSG);
    CHECK(st.uidvalidity != 0);
    CHECK(st.uidnext == NMSG + 1);
    CHECK(st.permanentflags & MAIL_FLAG_SEEN);
    if (mail_session_has_cap(s, "CONDSTORE"))
        CHECK(st.highestmodseq > 0);
    {
        struct mail_buf ns = MAIL_BUF_INIT;
        char delim = 'x';

        CHECK(mail_imap_namespace(s, &ns, &delim, &err) == 1);
        CHECK(delim == boxes.v[0].delim);
        printf("# namespace \"%s\" delimiter '%c'\n", ns.data ? ns.data : "",
               delim);
        mail_buf_release(&ns);
    }

    /* UIDs after N, with the "*" trap: after the last UID the server still
     * returns the last message; it must be dropped. */
    CHECK(mail_imap_uids_after(s, 0, &uids, &err) == 0 && uids.n == NMSG);
    mail_imap_uids_release(&uids);
    CHECK(mail_imap_uids_after(s, 2, &uids, &err) == 0 && uids.n == NMSG - 2 &&
          uids.v[0] == 3);
    mail_imap_uids_release(&uids);
    CHECK(mail_imap_uids_after(s, NMSG, &uids, &err) == 0 && uids.n == 0);
    mail_imap_uids_release(&uids);
    CHECK(mail_imap_uids_after(s, 1000, &uids, &err) == 0 && uids.n == 0);
    mail_imap_uids_release(&uids);
    CHECK(mail_imap_uids_after(s, 0, &uids, &err) == 0);

    /* Fetch everything, two UIDs per command, pipelined. */
    {
        const struct mail_imap_fetch_opts two = { 2, NULL };

        CHECK(mail_imap_fetch_messages(s, uids.v, uids.n, &two, on_begin,
                                       on_end, fs, &err) == 0);
    }
    if (err.kind)
        printf("# %s\n", err.msg);
    CHECK(fs->n == NMSG && fs->begun == NMSG);
    for (size_t i = 0; i < fs->n && i < NMSG; i++) {
        struct fetched *f = &fs->got[i];
        int k = -1;

        for (int j = 0; j < NMSG; j++)
            if (want[j].h == f->h.h && want[j].n == f->h.n)
                k = j;
        CHECK(k == (int)i);      /* the files' order is the UID order */
        CHECK(f->pieces_ok && f->size == f->h.n && f->has_date);
        CHECK(f->uid == uids.v[i]);
        CHECK(((f->flags & MAIL_FLAG_SEEN) != 0) == (k == 1));
    }

    /* Flags, then check them with another fetch. */
    CHECK(mail_imap_store_flags(s, uids.v, 2, MAIL_FLAG_FLAGGED | MAIL_FLAG_PASSED,
                                MAIL_FLAG_SEEN, &err) == 0);
    memset(fs, 0, sizeof *fs);
    CHECK(mail_imap_fetch_messages(s, uids.v, 2, NULL, on_begin, on_end, fs,
                                   &err) == 0);
    CHECK(fs->n == 2 &&
          (fs->got[0].flags & ~MAIL_FLAG_NEW) ==
              (MAIL_FLAG_FLAGGED | MAIL_FLAG_PASSED) &&
          (fs->got[1].flags & ~MAIL_FLAG_NEW) ==
              (MAIL_FLAG_FLAGGED | MAIL_FLAG_PASSED));

    /* Move two, expunge one: NMSG - 3 stay. */
    CHECK(mail_imap_move(s, uids.v, 2, dest, &err) == 0);
    CHECK(mail_imap_expunge_uids(s, uids.v + 2, 1, &err) == 0);
    CHECK(mail_imap_select(s, folder, &st, &err) == 0 && st.exists == NMSG - 3);
    CHECK(mail_imap_select(s, dest, &st, &err) == 0 && st.exists == 2);

    /* Errors name the server and the command. */
    CHECK(mail_imap_select(s, "no-such-folder-here", &st, &err) < 0);
    CHECK(err.kind == MAIL_ERR_NOTFOUND);
    CHECK(strstr(err.msg, "SELECT no-such-folder-here") != NULL &&
          strncmp(err.msg, s->name, strlen(s->name)) == 0);
    printf("# %s\n", err.msg);
    /* a failed SELECT leaves no mailbox selected */
    CHECK(mail_imap_select(s, folder, &st, &err) == 0);
    CHECK(mail_imap_move(s, uids.v + 3, 1, "no-such-folder-here", &err) < 0 &&
          err.kind == MAIL_ERR_NOTFOUND);
    printf("# %s\n", err.msg);
    CHECK(mail_imap_enable(s, "CONDSTORE", &err) >= 0);

out:
    mail_imap_uids_release(&uids);
    mail_imap_mailboxes_release(&boxes);
    mail_imap_logout(s);
    snprintf(path, sizeof path, "rm -rf -- '%s/.%s' '%s/.%s'", md, folder_raw,
             md, dest);
    if (system(path) != 0)
        printf("# could not remove the test folders\n");
    mail_buf_release(&b);
    free(fs);
}

int main(void)
{
    RUN(test_uid_set);
    RUN(test_flags);
    RUN(test_date);
    RUN(test_mailbox_arg);
    RUN(test_fake_fetch);
    RUN(test_fake_faults);
    RUN(test_fetch_item_order);
    RUN(test_fetch_tag_order);
    RUN(test_fetch_bad_uids);
    RUN(test_text_not_literal);
    RUN(test_fetch_sink_error);
    RUN(test_goodbye_deadline);
    RUN(test_list_names);
    RUN(test_list_bounds);
    RUN(test_dovecot);
    return test_done();
}
