/*
 * fake_imap.h - a scripted IMAP server for the unit tests (test_imap*.c):
 * one connection in a forked child that sends the greeting, then for each
 * command line the client sends the next step's reply.  A step may read a
 * literal first by its count (STEP_LITERAL: "+" for a synchronizing one,
 * or the reply instead of "+" when plus is NULL), so APPEND's bytes are
 * read exactly; a reply "SLEEP" never answers (a stalled server).  What
 * the client sent is written to log.  After the script the child waits
 * for the client to close, or closes at once with fake_close_after.
 */
#ifndef MAIL_TEST_FAKE_IMAP_H
#define MAIL_TEST_FAKE_IMAP_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mail/imap.h"

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
static bool fake_close_after;   /* close after the script, not wait */
static int fake_timeout = 5;    /* seconds, for fake_open's server */

static inline int read_line(int c, char *buf, size_t max, FILE *log)
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

static inline void fake_child(int c, const char *greeting, const struct step *steps,
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
        if (strcmp(steps[i].reply, "SLEEP") == 0) {
            sleep(30);  /* a server that does not answer */
            _exit(0);
        }
        if (write(c, steps[i].reply, strlen(steps[i].reply)) < 0)
            _exit(1);
    }
    fflush(log);
    if (fake_close_after) {
        close(c);
        _exit(0);
    }
    /* wait for the client to go */
    while (read(c, line, sizeof line) > 0)
        ;
    _exit(0);
}

static inline unsigned fake_start(const char *greeting, const struct step *steps,
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

static inline void fake_stop(void)
{
    int st;

    if (fake_pid > 0) {
        kill(fake_pid, SIGTERM);
        waitpid(fake_pid, &st, 0);
    }
    fake_pid = 0;
}

static inline struct mail_session *fake_open(unsigned port, struct mail_server *srv,
                                      struct mail_error *err)
{
    memset(srv, 0, sizeof *srv);
    srv->proto = MAIL_PROTO_IMAP;
    srv->host = "127.0.0.1";
    srv->port = port;
    srv->tls = MAIL_TLS_NONE;
    srv->timeout = fake_timeout;
    srv->user = "u";
    return mail_imap_open(srv, err);
}

/* The log of what the client sent, as a string. */
static inline char *log_text(FILE *log, size_t *len)
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

#endif
