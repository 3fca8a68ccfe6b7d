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
#include "test.h"

/* What the fake does with one command line. */
enum step_kind {
    STEP_REPLY,        /* reply text (may be several lines) */
    STEP_LITERAL,      /* the line ends with {N} or {N+}: "+" when
                          synchronizing (unless plus is NULL), read N
                          bytes and the rest of the line, then reply */
};

struct step {
    enum step_kind kind;
    const char *plus;      /* STEP_LITERAL: sent for a {N} literal */
    const char *reply;
};

static pid_t fake_pid;

static int read_line(int c, char *buf, size_t max, FILE *log)
{
    size_t n = 0;
    char ch;

    while (read(c, &ch, 1) == 1) {
        fputc(ch, log);
        if (n + 1 < max)
            buf[n++] = ch;
        if (ch == '\n') {
            buf[n] = '\0';
            return 0;
        }
    }
    return -1;
}

static void fake_child(int c, const char *greeting, const struct step *steps,
                       size_t n, FILE *log)
{
    char line[1024];

    if (write(c, greeting, strlen(greeting)) < 0)
        _exit(1);
    for (size_t i = 0; i < n; i++) {
        if (read_line(c, line, sizeof line, log) < 0)
            _exit(0);
        while (steps[i].kind == STEP_LITERAL) {
            char *brace = strrchr(line, '{');
            unsigned long long len;
            char *end;
            bool sync;

            if (!brace)
                break;
            len = strtoull(brace + 1, &end, 10);
            sync = *end == '}';
            if (sync) {
                fflush(log);
                if (!steps[i].plus)
                    break;      /* refuse: the reply instead of "+" */
                if (write(c, steps[i].plus, strlen(steps[i].plus)) < 0)
                    _exit(1);
            }
            for (unsigned long long k = 0; k < len; k++) {
                char ch;

                if (read(c, &ch, 1) != 1)
                    _exit(0);
                fputc(ch, log);
            }
            /* the rest of the command line (its CRLF) */
            if (read_line(c, line, sizeof line, log) < 0)
                _exit(0);
            if (!strchr(line, '{'))
                break;
        }
        fflush(log);    /* before the reply: the test reads it after */
        if (write(c, steps[i].reply, strlen(steps[i].reply)) < 0)
            _exit(1);
    }
    fflush(log);
    /* wait for the client to go */
    while (read(c, line, sizeof line) > 0)
        ;
    _exit(0);
}

static unsigned fake_start(const char *greeting, const struct step *steps,
                           size_t n, FILE *log)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int ls = socket(AF_INET, SOCK_STREAM, 0);

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) < 0 ||
        listen(ls, 1) < 0 || getsockname(ls, (struct sockaddr *)&a, &alen) < 0)
        return 0;
    fflush(stdout);
    fake_pid = fork();
    if (fake_pid == 0) {
        int c = accept(ls, NULL, NULL);

        if (c < 0)
            _exit(1);
        fake_child(c, greeting, steps, n, log);
    }
    close(ls);
    return fake_pid > 0 ? ntohs(a.sin_port) : 0;
}

static void fake_stop(void)
{
    int st;

    if (fake_pid > 0) {
        kill(fake_pid, SIGTERM);
        waitpid(fake_pid, &st, 0);
    }
    fake_pid = 0;
}

static struct mail_session *fake_open(unsigned port, struct mail_server *srv,
                                      struct mail_error *err)
{
    memset(srv, 0, sizeof *srv);
    srv->proto = MAIL_PROTO_IMAP;
    srv->host = "127.0.0.1";
    srv->port = port;
    srv->tls = MAIL_TLS_NONE;
    srv->timeout = 5;
    srv->user = "u";
    return mail_imap_open(srv, err);
}

/* The log of what the client sent, as a string. */
static char *log_text(FILE *log, size_t *len)
{
    char *buf;
    long n;

    fflush(log);
    n = ftell(log);
    buf = calloc(1, (size_t)n + 1);
    if (!buf)
        return NULL;
    rewind(log);
    if (fread(buf, 1, (size_t)n, log) != (size_t)n) {
        free(buf);
        return NULL;
    }
    *len = (size_t)n;
    return buf;
}

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
