/*
 * test_conn.c - connection set-up failures leave the process's descriptors
 * alone (standard input above all), and the per-wait timeout can be
 * changed on an open connection; a deadline bounds every wait; a peer
 * that closes or resets the connection marks the error conn_lost, a
 * timeout does not.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mail/conn.h"
#include "test.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* A listening socket on 127.0.0.1 that never accepts: connections
 * complete (the kernel's backlog) and the server never says a word. */
static int listener(unsigned *port)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        listen(fd, 8) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        return -1;
    *port = ntohs(a.sin_port);
    return fd;
}

/* A port on 127.0.0.1 where nobody listens. */
static unsigned closed_port(void)
{
    unsigned port = 0;
    int fd = listener(&port);

    if (fd >= 0)
        close(fd);
    return port;
}

/* Make standard input a pipe; returns its inode for comparison. */
static ino_t stdin_pipe(void)
{
    int p[2];
    struct stat st;

    if (pipe(p) < 0 || dup2(p[0], 0) < 0)
        return 0;
    close(p[0]);
    /* p[1] stays open on purpose: the pipe must not see EOF. */
    return fstat(0, &st) == 0 ? st.st_ino : 0;
}

static int stdin_is(ino_t ino)
{
    struct stat st;

    return fcntl(0, F_GETFD) != -1 && fstat(0, &st) == 0 &&
           st.st_ino == ino;
}

static void test_closed_port(void)
{
    ino_t ino = stdin_pipe();
    struct mail_conn_opts o = { .host = "127.0.0.1", .port = closed_port(),
                                .tls = MAIL_TLS_NONE, .timeout = 5 };
    struct mail_error err;
    struct mail_conn *c;

    CHECK(ino != 0);
    c = mail_conn_open(&o, &err);
    CHECK(c == NULL);
    CHECK(err.kind == MAIL_ERR_UNAVAIL);
    CHECK(stdin_is(ino));
}

static void test_unknown_host(void)
{
    ino_t ino = stdin_pipe();
    struct mail_conn_opts o = { .host = "no-such-host.invalid", .port = 25,
                                .tls = MAIL_TLS_NONE, .timeout = 5 };
    struct mail_error err;
    struct mail_conn *c;

    c = mail_conn_open(&o, &err);
    CHECK(c == NULL);
    CHECK(err.kind == MAIL_ERR_HOST || err.kind == MAIL_ERR_TEMP);
    CHECK(stdin_is(ino));
}

/*
 * Out of memory in mail_conn_open before the socket exists: the old code
 * left fd at calloc's 0 and its failure path closed standard input.  The
 * allocation of the 256 KiB read buffer is made to fail with an address
 * space limit, in a child.  (Not under ASan: its shadow memory needs far
 * more address space than any such limit allows.)
 */
static void test_oom_keeps_stdin(void)
{
#ifdef UNDER_ASAN
    printf("ok %d - %s # SKIP address space limits do not work under "
           "ASan\n", ++test_count, test_current);
#else
    const char *preload = getenv("LD_PRELOAD");
    ino_t ino = stdin_pipe();
    pid_t pid;
    int status = -1;

    if (preload && strstr(preload, "vgpreload")) {
        printf("ok %d - %s # SKIP address space limits do not work under "
               "valgrind\n", ++test_count, test_current);
        return;
    }
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        struct mail_conn_opts o = { .host = "127.0.0.1", .port = 25,
                                    .tls = MAIL_TLS_NONE, .timeout = 5 };
        struct mail_error err;
        struct rlimit rl;
        unsigned long pages = 0;
        FILE *f = fopen("/proc/self/statm", "r");

        void *warm;

        /* Big blocks from mmap (the threshold is dynamic: earlier frees
         * raise it), the heap trimmed, then given free room for the small
         * allocations before the limit is set. */
        mallopt(M_MMAP_THRESHOLD, 128 * 1024);
        malloc_trim(0);
        warm = malloc(32 * 1024);
        free(warm);
        if (!f || fscanf(f, "%lu", &pages) != 1)
            _exit(3);
        fclose(f);
        /* Room for small allocations, none for 256 KiB. */
        rl.rlim_cur = rl.rlim_max =
            pages * (unsigned long)sysconf(_SC_PAGESIZE) + 64 * 1024;
        if (setrlimit(RLIMIT_AS, &rl) < 0)
            _exit(3);
        if (mail_conn_open(&o, &err) != NULL)
            _exit(4);           /* the limit did not bite: inconclusive */
        _exit(stdin_is(ino) ? 0 : 1);
    }
    CHECK(pid > 0);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 4) {
        printf("ok %d - %s # SKIP the address space limit did not make "
               "the allocation fail here\n", ++test_count, test_current);
        return;
    }
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        printf("# child exit status %d (1: stdin closed)\n",
               WEXITSTATUS(status));
#endif
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* mail_conn_set_timeout bounds the next wait, whatever opts said. */
static void test_set_timeout(void)
{
    unsigned port = 0;
    int lfd = listener(&port);
    struct mail_conn_opts o = { .host = "127.0.0.1", .port = port,
                                .tls = MAIL_TLS_NONE, .timeout = 60 };
    struct mail_error err;
    struct mail_conn *c;
    char *line;
    size_t len;
    double t0;

    CHECK(lfd >= 0);
    c = mail_conn_open(&o, &err);
    CHECK(c != NULL);
    if (!c)
        return;
    CHECK(mail_conn_timeout(c) == 60);
    mail_conn_set_timeout(c, 1);
    CHECK(mail_conn_timeout(c) == 1);
    t0 = now();
    CHECK(mail_conn_read_line(c, &line, &len, 1000, &err) < 0);
    CHECK(err.kind == MAIL_ERR_TEMP);
    CHECK(now() - t0 < 10);
    CHECK(strstr(err.msg, "timed out after 1 s") != NULL);
    mail_conn_close(c);
    close(lfd);
}

/* A silent server: the wait ends at the deadline, not after the
 * timeout, and the error names the deadline. */
static void test_deadline_bounds_wait(void)
{
    unsigned port = 0;
    int lfd = listener(&port);
    struct mail_deadline dl = { .at_ms = 0, .what = "test limit" };
    struct mail_conn_opts o = { .host = "127.0.0.1", .port = port,
                                .tls = MAIL_TLS_NONE, .timeout = 60,
                                .deadline = &dl };
    struct mail_error err;
    struct mail_conn *c;
    char *line;
    size_t len;
    double t0;

    CHECK(lfd >= 0);
    c = mail_conn_open(&o, &err);
    CHECK(c != NULL);
    if (!c)
        return;
    /* moved after the open: the connection reads the caller's clock */
    dl.at_ms = mail_monotonic_ms() + 300;
    t0 = now();
    CHECK(mail_conn_read_line(c, &line, &len, 1000, &err) < 0);
    CHECK(err.kind == MAIL_ERR_TEMP);
    CHECK(now() - t0 < 5);
    CHECK(strstr(err.msg, "deadline passed (test limit)") != NULL);
    /* passed: the next read fails at once */
    t0 = now();
    CHECK(mail_conn_read_line(c, &line, &len, 1000, &err) < 0);
    CHECK(now() - t0 < 1);
    CHECK(strstr(err.msg, "deadline passed") != NULL);
    /* no deadline any more: the timeout again */
    mail_conn_set_deadline(c, NULL);
    mail_conn_set_timeout(c, 1);
    CHECK(mail_conn_read_line(c, &line, &len, 1000, &err) < 0);
    CHECK(strstr(err.msg, "timed out after 1 s") != NULL);
    mail_conn_close(c);
    close(lfd);
}

/* A server that trickles a line every 50 ms never lets a wait time out;
 * the deadline still cuts it. */
static void test_deadline_trickle(void)
{
    unsigned port = 0;
    int lfd = listener(&port);
    struct mail_deadline dl = { .at_ms = 0, .what = NULL };
    struct mail_conn_opts o = { .host = "127.0.0.1", .port = port,
                                .tls = MAIL_TLS_NONE, .timeout = 2 };
    struct mail_error err;
    struct mail_conn *c;
    char *line;
    size_t len;
    double t0;
    int lines = 0, status;
    pid_t pid;

    CHECK(lfd >= 0);
    pid = fork();
    if (pid == 0) {
        int fd = accept(lfd, NULL, NULL);

        for (int i = 0; fd >= 0 && i < 200; i++) {
            if (write(fd, "* OK still here\r\n", 17) != 17)
                break;
            usleep(50000);
        }
        _exit(0);
    }
    CHECK(pid > 0);
    c = mail_conn_open(&o, &err);
    CHECK(c != NULL);
    if (!c)
        return;
    dl.at_ms = mail_monotonic_ms() + 700;
    mail_conn_set_deadline(c, &dl);
    t0 = now();
    while (mail_conn_read_line(c, &line, &len, 1000, &err) == 0)
        lines++;
    CHECK(lines > 3);
    CHECK(err.kind == MAIL_ERR_TEMP);
    CHECK(now() - t0 < 2);
    CHECK(strstr(err.msg, "deadline passed") != NULL);
    mail_conn_close(c);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    close(lfd);
}

/* A connection to a listener of ours, and the server's end of it. */
static struct mail_conn *pair(int lfd, unsigned port, int timeout, int *peer)
{
    struct mail_conn_opts o = { .host = "127.0.0.1", .port = port,
                                .tls = MAIL_TLS_NONE, .timeout = timeout };
    struct mail_error err;
    struct mail_conn *c = mail_conn_open(&o, &err);

    *peer = c ? accept(lfd, NULL, NULL) : -1;
    if (c && *peer < 0) {
        mail_conn_close(c);
        return NULL;
    }
    return c;
}

/* The peer closes in the middle of a reply: EOF before the line ends. */
static void test_lost_eof_mid_reply(void)
{
    unsigned port = 0;
    int lfd = listener(&port), peer = -1;
    struct mail_conn *c = pair(lfd, port, 5, &peer);
    struct mail_error err;
    char *line;
    size_t len;

    CHECK(c != NULL);
    if (!c)
        return;
    CHECK(write(peer, "250-first\r\n250 no end", 21) == 21);
    close(peer);
    mail_error_clear(&err);
    CHECK(mail_conn_read_line(c, &line, &len, 1000, &err) == 0);
    CHECK(!err.conn_lost);
    CHECK(mail_conn_read_line(c, &line, &len, 1000, &err) < 0);
    CHECK(err.kind == MAIL_ERR_UNAVAIL);
    CHECK(err.conn_lost);
    /* kept by a prefix, cleared by a new error and by clear */
    mail_error_prefix(&err, "smtp");
    CHECK(err.conn_lost);
    CHECK(strncmp(err.msg, "smtp: ", 6) == 0);
    mail_error_set(&err, MAIL_ERR_TEMP, "something else");
    CHECK(!err.conn_lost);
    err.conn_lost = true;
    mail_error_clear(&err);
    CHECK(!err.conn_lost);
    mail_conn_close(c);
    close(lfd);
}

/* The peer resets the connection (SO_LINGER 0): ECONNRESET on read. */
static void test_lost_reset(void)
{
    unsigned port = 0;
    int lfd = listener(&port), peer = -1;
    struct mail_conn *c = pair(lfd, port, 5, &peer);
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    struct mail_error err;
    char *line;
    size_t len;

    CHECK(c != NULL);
    if (!c)
        return;
    CHECK(setsockopt(peer, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
    close(peer);
    mail_error_clear(&err);
    CHECK(mail_conn_read_line(c, &line, &len, 1000, &err) < 0);
    CHECK(err.kind == MAIL_ERR_UNAVAIL);
    CHECK(err.conn_lost);
    mail_conn_close(c);
    close(lfd);
}

/* Writes to a connection the peer closed: the first may still go out,
 * then EPIPE or ECONNRESET. */
static void test_lost_write(void)
{
    unsigned port = 0;
    int lfd = listener(&port), peer = -1;
    struct mail_conn *c = pair(lfd, port, 5, &peer);
    struct mail_error err;
    int rc = 0;

    CHECK(c != NULL);
    if (!c)
        return;
    close(peer);
    mail_error_clear(&err);
    for (int i = 0; i < 50 && rc == 0; i++) {
        rc = mail_conn_write(c, "NOOP\r\n", 6, &err);
        if (rc == 0)
            rc = mail_conn_flush(c, &err);
        usleep(10000);
    }
    CHECK(rc < 0);
    CHECK(err.kind == MAIL_ERR_UNAVAIL);
    CHECK(err.conn_lost);
    mail_conn_close(c);
    close(lfd);
}

/* A silent peer: the timeout is temporary, not a lost connection (an
 * error that was a loss before is replaced whole). */
static void test_timeout_not_lost(void)
{
    unsigned port = 0;
    int lfd = listener(&port), peer = -1;
    struct mail_conn *c = pair(lfd, port, 1, &peer);
    struct mail_error err;
    char *line;
    size_t len;

    CHECK(c != NULL);
    if (!c)
        return;
    mail_error_clear(&err);
    err.conn_lost = true;
    CHECK(mail_conn_read_line(c, &line, &len, 1000, &err) < 0);
    CHECK(err.kind == MAIL_ERR_TEMP);
    CHECK(strstr(err.msg, "timed out") != NULL);
    CHECK(!err.conn_lost);
    mail_conn_close(c);
    close(peer);
    close(lfd);
}

int main(void)
{
    /* First, while the heap is small and has no 256 KiB hole. */
    RUN(test_oom_keeps_stdin);
    RUN(test_closed_port);
    RUN(test_unknown_host);
    RUN(test_set_timeout);
    RUN(test_deadline_bounds_wait);
    RUN(test_deadline_trickle);
    RUN(test_lost_eof_mid_reply);
    RUN(test_lost_reset);
    RUN(test_lost_write);
    RUN(test_timeout_not_lost);
    return test_done();
}
