/*
 * test_imap_append.c - APPEND's literal against a scripted server that
 * reads literals by their count (the line-based fake of test_imap.c
 * cannot): a synchronizing literal waits for "+", LITERAL+ does not
 * (the server here never sends "+"), a NO instead of "+" sends nothing,
 * APPENDUID is parsed, the bytes arrive exactly, a message longer than
 * the 64 KiB pieces streams from a file, and a file shorter than its
 * announced size is an error.  Also CREATE/RENAME/DELETE errors and
 * STATUS, SEARCH HEADER.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mail/imap.h"
#include "fake_imap.h"
#include "test.h"

/* A message file of n bytes (lines of text). */
static int message_file(size_t n, char **bytes)
{
    FILE *f = tmpfile();
    char *b = malloc(n + 1);

    if (!f || !b)
        return -1;
    for (size_t i = 0; i < n; i++)
        b[i] = (i % 60 == 58) ? '\r' : (i % 60 == 59) ? '\n'
                                                      : (char)('a' + i % 26);
    if (fwrite(b, 1, n, f) != n || fflush(f) != 0)
        return -1;
    b[n] = '\0';
    *bytes = b;
    return dup(fileno(f));
}

#define NOPLUS "* OK [CAPABILITY IMAP4rev1 UIDPLUS] hi\r\n"
#define LITPLUS "* OK [CAPABILITY IMAP4rev1 UIDPLUS LITERAL+] hi\r\n"

static void run_append(const char *greeting, size_t size, const char *plus,
                       const char *reply, int want_rc,
                       enum mail_error_kind want_kind, uint32_t want_uv,
                       uint32_t want_uid, bool want_bytes, const char *want_cmd)
{
    struct step steps[] = { { STEP_LITERAL, plus, reply } };
    struct mail_server srv;
    struct mail_error err;
    struct mail_session *s;
    FILE *log = tmpfile();
    char *msg = NULL, *sent = NULL;
    size_t sentlen = 0;
    uint32_t uv = 99, uid = 99;
    int fd = message_file(size, &msg);
    unsigned port = log && fd >= 0 ? fake_start(greeting, steps, 1, log) : 0;

    mail_error_clear(&err);
    s = port ? fake_open(port, &srv, &err) : NULL;
    CHECK(s != NULL);
    if (s) {
        int rc = mail_imap_append_fd(s, "Sent", MAIL_FLAG_SEEN, 86400, fd, 0,
                                     &uv, &uid, &err);

        printf("# %s\n", err.msg);
        CHECK(rc == want_rc);
        CHECK(err.kind == want_kind);
        CHECK(uv == want_uv);
        CHECK(uid == want_uid);
        mail_session_free(s);
    }
    fake_stop();
    sent = log ? log_text(log, &sentlen) : NULL;
    CHECK(sent != NULL);
    if (sent && msg) {
        CHECK(strstr(sent, want_cmd) == sent);
        if (want_bytes) {
            size_t cl = strlen(want_cmd);

            /* the bytes, then the CRLF that ends the command */
            CHECK_MEM(sent + cl, sentlen > cl + 2 ? sentlen - cl - 2 : 0,
                      msg, size);
            CHECK(sentlen == cl + size + 2 &&
                  memcmp(sent + sentlen - 2, "\r\n", 2) == 0);
        } else {
            CHECK(sentlen == strlen(want_cmd));
        }
    }
    free(sent);
    free(msg);
    if (fd >= 0)
        close(fd);
    if (log)
        fclose(log);
}

/* Without LITERAL+: "{N}", wait for "+", then the bytes and CRLF. */
static void test_append_sync(void)
{
    run_append(NOPLUS, 1000, "+ go ahead\r\n",
               "A1 OK [APPENDUID 7 42] Append completed.\r\n", 0, MAIL_OK, 7,
               42, true,
               "A1 APPEND \"Sent\" (\\Seen) \"02-Jan-1970 00:00:00 +0000\" "
               "{1000}\r\n");
}

/* With LITERAL+: "{N+}" and the bytes at once; this server never sends
 * "+" (a client waiting for one would time out). */
static void test_append_literal_plus(void)
{
    run_append(LITPLUS, 200000, NULL,
               "A1 OK [APPENDUID 1700000000 3] done\r\n", 0, MAIL_OK,
               1700000000u, 3, true,
               "A1 APPEND \"Sent\" (\\Seen) \"02-Jan-1970 00:00:00 +0000\" "
               "{200000+}\r\n");
}

/* A NO instead of "+": nothing more is sent, [TRYCREATE] is "no such
 * folder". */
static void test_append_refused(void)
{
    run_append(NOPLUS, 500, NULL,
               "A1 NO [TRYCREATE] Mailbox doesn't exist: Sent\r\n", -1,
               MAIL_ERR_NOTFOUND, 0, 0, false,
               "A1 APPEND \"Sent\" (\\Seen) \"02-Jan-1970 00:00:00 +0000\" "
               "{500}\r\n");
}

/* No APPENDUID (no UIDPLUS): still fine, the UIDs are 0. */
static void test_append_no_appenduid(void)
{
    run_append(LITPLUS, 10, NULL, "A1 OK Append completed.\r\n", 0, MAIL_OK,
               0, 0, true,
               "A1 APPEND \"Sent\" (\\Seen) \"02-Jan-1970 00:00:00 +0000\" "
               "{10+}\r\n");
}

static ssize_t short_read(void *arg, char *buf, size_t max,
                          struct mail_error *err)
{
    int *left = arg;

    (void)err;
    if (*left == 0)
        return 0;
    if (max > 5)
        max = 5;
    memset(buf, 'x', max);
    *left -= (int)max;
    return (ssize_t)max;
}

/* A source that ends before the announced size: an error, not a hang
 * and not a short message filed as complete. */
static void test_append_short_source(void)
{
    struct step steps[] = { { STEP_LITERAL, NULL, "A1 OK done\r\n" } };
    struct mail_server srv;
    struct mail_error err;
    struct mail_session *s;
    FILE *log = tmpfile();
    unsigned port = log ? fake_start(LITPLUS, steps, 1, log) : 0;
    int left = 10;

    mail_error_clear(&err);
    s = port ? fake_open(port, &srv, &err) : NULL;
    CHECK(s != NULL);
    if (s) {
        CHECK(mail_imap_append(s, "Sent", 0, 0, 100, short_read, &left, NULL,
                               NULL, &err) < 0);
        printf("# %s\n", err.msg);
        CHECK(err.kind == MAIL_ERR_IO);
        CHECK(strstr(err.msg, "90 bytes before") != NULL);
        mail_session_free(s);
    }
    fake_stop();
    if (log)
        fclose(log);
}

/* CREATE/RENAME/DELETE: the response codes give the kinds; a non-ASCII
 * name goes out as modified UTF-7. */
static void test_mailbox_commands(void)
{
    struct step steps[] = {
        { STEP_REPLY, NULL, "A1 OK created\r\n" },
        { STEP_REPLY, NULL, "A2 NO [ALREADYEXISTS] Mailbox already exists\r\n" },
        { STEP_REPLY, NULL, "A3 NO [NONEXISTENT] Mailbox doesn't exist\r\n" },
        { STEP_REPLY, NULL, "A4 NO [NONEXISTENT] Mailbox doesn't exist\r\n" },
        { STEP_REPLY, NULL, "* STATUS \"Entw&APw-rfe\" (MESSAGES 3 UNSEEN 1 "
                            "UIDNEXT 9 UIDVALIDITY 5)\r\nA5 OK done\r\n" },
        { STEP_REPLY, NULL, "* SEARCH 4 9\r\nA6 OK done\r\n" },
    };
    struct mail_imap_mbx_status st;
    struct mail_imap_uids u;
    struct mail_server srv;
    struct mail_error err;
    struct mail_session *s;
    FILE *log = tmpfile();
    unsigned port = log ? fake_start(NOPLUS, steps, 6, log) : 0;
    char *sent = NULL;
    size_t len;

    mail_error_clear(&err);
    s = port ? fake_open(port, &srv, &err) : NULL;
    CHECK(s != NULL);
    if (s) {
        CHECK(mail_imap_create(s, "Entw\xc3\xbcrfe", &err) == 0);
        CHECK(mail_imap_create(s, "Entw\xc3\xbcrfe", &err) < 0 &&
              err.kind == MAIL_ERR_CANTCREAT);
        CHECK(strstr(err.msg, "already exists") != NULL);
        CHECK(mail_imap_rename(s, "a", "b", &err) < 0 &&
              err.kind == MAIL_ERR_NOTFOUND);
        CHECK(mail_imap_delete(s, "a", &err) < 0 &&
              err.kind == MAIL_ERR_NOTFOUND);
        CHECK(mail_imap_status(s, "Entw\xc3\xbcrfe", &st, &err) == 0);
        CHECK(st.has_messages && st.messages == 3 && st.has_unseen &&
              st.unseen == 1 && st.uidnext == 9 && st.uidvalidity == 5);
        CHECK(mail_imap_search_header(s, "Message-ID", "<a\"b@c>", &u,
                                      &err) == 0);
        CHECK(u.n == 2 && u.v[0] == 4 && u.v[1] == 9);
        mail_imap_uids_release(&u);
        mail_session_free(s);
    }
    fake_stop();
    sent = log ? log_text(log, &len) : NULL;
    CHECK(sent != NULL);
    if (sent) {
        CHECK(strstr(sent, "A1 CREATE \"Entw&APw-rfe\"\r\n") != NULL);
        CHECK(strstr(sent, "A3 RENAME \"a\" \"b\"\r\n") != NULL);
        CHECK(strstr(sent, "A4 DELETE \"a\"\r\n") != NULL);
        CHECK(strstr(sent, "A5 STATUS \"Entw&APw-rfe\" (MESSAGES UNSEEN "
                           "UIDNEXT UIDVALIDITY)\r\n") != NULL);
        CHECK(strstr(sent, "A6 UID SEARCH HEADER Message-ID \"<a\\\"b@c>\"\r\n")
              != NULL);
    }
    free(sent);
    if (log)
        fclose(log);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    RUN(test_append_sync);
    RUN(test_append_literal_plus);
    RUN(test_append_refused);
    RUN(test_append_no_appenduid);
    RUN(test_append_short_source);
    RUN(test_mailbox_commands);
    return test_done();
}
