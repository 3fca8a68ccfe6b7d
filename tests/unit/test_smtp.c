/*
 * test_smtp.c - the SMTP data transformation: CRLF line ends, dot-stuffing
 * and the end of data, whatever the chunking.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mail/buf.h"
#include "mail/smtp.h"
#include "test.h"

/* Run the stuffer over in, pushed `step` bytes at a time (0: at once). */
static void stuff(struct mail_buf *out, const char *in, size_t step)
{
    struct mail_smtp_stuffer st;
    size_t len = strlen(in);

    mail_buf_reset(out);
    mail_smtp_stuffer_init(&st, mail_sink_buf, out);
    if (!step)
        step = len ? len : 1;
    for (size_t i = 0; i < len; i += step)
        mail_smtp_stuff(&st, in + i, len - i < step ? len - i : step, NULL);
    mail_smtp_stuff_end(&st, NULL);
}

static void check_all_chunkings(const char *in, const char *want)
{
    struct mail_buf out = MAIL_BUF_INIT;

    for (size_t step = 0; step <= 3; step++) {
        stuff(&out, in, step);
        CHECK_STR(out.data, want);
    }
    mail_buf_release(&out);
}

static void test_crlf(void)
{
    check_all_chunkings("a\nb\n", "a\r\nb\r\n.\r\n");
    check_all_chunkings("a\r\nb\r\n", "a\r\nb\r\n.\r\n");
    check_all_chunkings("mixed\r\nlf\ncr\r\n", "mixed\r\nlf\r\ncr\r\n.\r\n");
    /* A bare CR is a line end too: never sent bare (SMTP smuggling). */
    check_all_chunkings("x\ry\n", "x\r\ny\r\n.\r\n");
    check_all_chunkings("x\r\ry\n", "x\r\n\r\ny\r\n.\r\n");
    check_all_chunkings("\n\n", "\r\n\r\n.\r\n");
}

static void test_dots(void)
{
    check_all_chunkings(".\n", "..\r\n.\r\n");
    check_all_chunkings("a\n.\nb\n", "a\r\n..\r\nb\r\n.\r\n");
    check_all_chunkings("..x\n", "...x\r\n.\r\n");
    check_all_chunkings("a.b\n.c", "a.b\r\n..c\r\n.\r\n");
    check_all_chunkings("x\r\n.\r\n", "x\r\n..\r\n.\r\n");
}

static void test_end(void)
{
    check_all_chunkings("", ".\r\n");
    check_all_chunkings("no newline", "no newline\r\n.\r\n");
    check_all_chunkings("ends in cr\r", "ends in cr\r\n.\r\n");
}

static void test_large(void)
{
    /* More than the 8 KiB output buffer, with dots at line starts. */
    struct mail_buf in = MAIL_BUF_INIT, want = MAIL_BUF_INIT,
                    out = MAIL_BUF_INIT;

    for (int i = 0; i < 5000; i++) {
        mail_buf_addstr(&in, ".line\n");
        mail_buf_addstr(&want, "..line\r\n");
    }
    mail_buf_addstr(&want, ".\r\n");
    stuff(&out, in.data, 4093);
    CHECK(out.len == want.len);
    CHECK(memcmp(out.data, want.data, want.len) == 0);
    mail_buf_release(&in);
    mail_buf_release(&want);
    mail_buf_release(&out);
}

/* The smuggling shapes (CVE-2023-51764 and kin): each must come out as
 * a doubled dot on a CRLF line of its own, never as an end of data. */
static void test_smuggling(void)
{
    check_all_chunkings("a\n.\nb", "a\r\n..\r\nb\r\n.\r\n");
    check_all_chunkings("a\r.\rb", "a\r\n..\r\nb\r\n.\r\n");
    check_all_chunkings("a\r\n.\rb", "a\r\n..\r\nb\r\n.\r\n");
    check_all_chunkings("a\n.\r\nb", "a\r\n..\r\nb\r\n.\r\n");
    check_all_chunkings("a\r.\r\nb", "a\r\n..\r\nb\r\n.\r\n");
    check_all_chunkings("a\r\n.\nb", "a\r\n..\r\nb\r\n.\r\n");
    check_all_chunkings("\r.\r", "\r\n..\r\n.\r\n");
    check_all_chunkings(".\r", "..\r\n.\r\n");
}

/* Every CR is followed by LF, every LF preceded by CR, and CRLF.CRLF
 * appears only at the very end. */
static int clean_output(const char *o, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (o[i] == '\r' && (i + 1 >= n || o[i + 1] != '\n'))
            return 0;
        if (o[i] == '\n' && (i == 0 || o[i - 1] != '\r'))
            return 0;
    }
    if (n < 3 || memcmp(o + n - 3, ".\r\n", 3) != 0)
        return 0;
    for (size_t i = 0; i + 5 < n; i++)
        if (memcmp(o + i, "\r\n.\r\n", 5) == 0)
            return 0;
    /* A message starting with ".\r\n" would end at once. */
    return n == 3 || memcmp(o, ".\r\n", 3) != 0;
}

/* Every string of length up to 6 over CR, LF, '.' and 'x', pushed at
 * once and byte by byte. */
static void test_smuggling_exhaustive(void)
{
    static const char alpha[] = "\r\n.x";
    struct mail_buf out = MAIL_BUF_INIT;
    int bad = 0, runs = 0;

    for (int len = 0; len <= 6; len++) {
        int total = 1;

        for (int k = 0; k < len; k++)
            total *= 4;
        for (int v = 0; v < total; v++) {
            char in[8];
            int x = v;

            for (int k = 0; k < len; k++, x /= 4)
                in[k] = alpha[x % 4];
            in[len] = '\0';
            for (size_t step = 0; step <= 1; step++) {
                stuff(&out, in, step);
                runs++;
                if (!clean_output(out.data, out.len))
                    bad++;
            }
        }
    }
    CHECK(runs > 10000);
    CHECK(bad == 0);
    mail_buf_release(&out);
}

/* A sink that keeps everything and checks the piece size. */
struct piece_sink {
    struct mail_buf *out;
    size_t biggest;
};

static int piece_sink(void *ctx, const char *data, size_t len,
                      struct mail_error *err)
{
    struct piece_sink *ps = ctx;

    if (len > ps->biggest)
        ps->biggest = len;
    return mail_sink_buf(ps->out, data, len, err);
}

/* Stuff in[0..len) cut at the given points (sorted, may repeat). */
static void stuff_cuts(struct mail_buf *out, const char *in, size_t len,
                       const size_t *cuts, size_t ncuts, size_t *biggest)
{
    struct mail_smtp_stuffer st;
    struct piece_sink ps = { out, 0 };
    size_t at = 0;

    mail_buf_reset(out);
    mail_smtp_stuffer_init(&st, piece_sink, &ps);
    for (size_t k = 0; k <= ncuts; k++) {
        size_t to = k < ncuts ? cuts[k] : len;

        if (to > len)
            to = len;
        if (to > at)
            mail_smtp_stuff(&st, in + at, to - at, NULL);
        at = to > at ? to : at;
    }
    mail_smtp_stuff_end(&st, NULL);
    if (ps.biggest > *biggest)
        *biggest = ps.biggest;
}

/* One line of n bytes with no line break (before the fix, any run longer
 * than the 8 KiB output buffer overflowed it), starting with a dot, with
 * and without a line end after it, in many chunkings. */
static void check_long_line(size_t n, bool every_split)
{
    struct mail_buf in = MAIL_BUF_INIT, want = MAIL_BUF_INIT,
                    out = MAIL_BUF_INIT;
    static const size_t steps[] = { 1, 2, 3, 7, 1000, 4095, 4096, 4097,
                                    8191, 8192, 8193, 16384, 65536 };
    size_t biggest = 0;
    int bad = 0;

    CHECK(mail_buf_reserve(&in, n + 1) == 0);
    mail_buf_addch(&in, '.');
    for (size_t i = 1; i < n; i++)
        mail_buf_addch(&in, (char)('a' + i % 26));
    mail_buf_addch(&want, '.');
    mail_buf_add(&want, in.data, in.len);
    mail_buf_addstr(&want, "\r\n.\r\n");

    for (int with_lf = 0; with_lf <= 1; with_lf++) {
        size_t len = in.len;

        if (with_lf)
            mail_buf_addch(&in, '\n');
        /* Whole, and fixed steps. */
        stuff_cuts(&out, in.data, in.len, NULL, 0, &biggest);
        bad += out.len != want.len || memcmp(out.data, want.data, out.len);
        for (size_t k = 0; k < sizeof steps / sizeof *steps; k++) {
            struct mail_smtp_stuffer st;
            struct piece_sink ps = { &out, 0 };

            mail_buf_reset(&out);
            mail_smtp_stuffer_init(&st, piece_sink, &ps);
            for (size_t i = 0; i < in.len; i += steps[k])
                mail_smtp_stuff(&st, in.data + i, in.len - i < steps[k]
                                ? in.len - i : steps[k], NULL);
            mail_smtp_stuff_end(&st, NULL);
            if (ps.biggest > biggest)
                biggest = ps.biggest;
            bad += out.len != want.len ||
                   memcmp(out.data, want.data, out.len);
        }
        /* In two pieces, cut at every point (or around the buffer's
         * size and a sample elsewhere for the long ones). */
        for (size_t cut = 0; cut <= in.len; cut++) {
            if (!every_split && !(cut < 16 || (cut > 8180 && cut < 8200) ||
                                  cut % 9973 == 0 || cut + 16 > in.len))
                continue;
            stuff_cuts(&out, in.data, in.len, &cut, 1, &biggest);
            bad += out.len != want.len ||
                   memcmp(out.data, want.data, out.len);
        }
        in.len = len;
    }
    CHECK(bad == 0);
    CHECK(biggest <= 8192);
    mail_buf_release(&in);
    mail_buf_release(&want);
    mail_buf_release(&out);
}

static void test_long_lines(void)
{
    check_long_line(20000, true);
    check_long_line(1000000, false);
}

/* ---- the end of the data phase against a server that stalls ---- */

/* A line from fd into buf (without CRLF); -1 at EOF. */
static int srv_line(int fd, char *buf, size_t size)
{
    size_t n = 0;

    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);

        if (r <= 0)
            return -1;
        if (c == '\n')
            break;
        if (n + 1 < size && c != '\r')
            buf[n++] = c;
    }
    buf[n] = '\0';
    return 0;
}

static void srv_say(int fd, const char *s)
{
    size_t n = strlen(s);

    while (n > 0) {
        ssize_t w = write(fd, s, n);

        if (w <= 0)
            _exit(2);
        s += w;
        n -= (size_t)w;
    }
}

/* The child: one SMTP session that takes the message and then says
 * nothing, reading until the client goes. */
static void stalling_server(int lfd)
{
    int fd = accept(lfd, NULL, NULL);
    char line[1024];

    if (fd < 0)
        _exit(2);
    srv_say(fd, "220 stall ESMTP\r\n");
    while (srv_line(fd, line, sizeof line) == 0) {
        if (strncmp(line, "EHLO", 4) == 0) {
            srv_say(fd, "250-stall\r\n250 PIPELINING\r\n");
        } else if (strcmp(line, "DATA") == 0) {
            srv_say(fd, "354 go\r\n");
            while (srv_line(fd, line, sizeof line) == 0 &&
                   strcmp(line, ".") != 0)
                ;
            while (srv_line(fd, line, sizeof line) == 0)
                ;               /* the stall: QUIT gets no answer either */
            _exit(0);
        } else {
            srv_say(fd, "250 ok\r\n");
        }
    }
    _exit(0);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * The account's timeout is 1 s; the wait for the reply to the final dot
 * is its own (600 s, lowered to 2 here), and when it runs out the message's
 * fate is unknown: outcome_unknown, MAIL_ERR_TEMP, and a message that
 * says so.
 */
static void test_stall_after_dot(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t alen = sizeof a;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct mail_server srv;
    struct mail_session *s;
    struct mail_smtp_rcpt rcpt = { .addr = "bob@example.test" };
    struct mail_smtp_envelope env = { .from = "alice@example.test",
                                      .rcpts = &rcpt, .nrcpts = 1 };
    struct mail_smtp_data d;
    struct mail_error err;
    char want[128];
    double t0, waited;
    pid_t pid;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof a) == 0 &&
          listen(lfd, 1) == 0 &&
          getsockname(lfd, (struct sockaddr *)&a, &alen) == 0);
    fflush(stdout);
    pid = fork();
    if (pid == 0)
        stalling_server(lfd);
    close(lfd);

    memset(&srv, 0, sizeof srv);
    srv.proto = MAIL_PROTO_SMTP;
    srv.host = "127.0.0.1";
    srv.port = ntohs(a.sin_port);
    srv.tls = MAIL_TLS_NONE;
    srv.timeout = 1;
    mail_error_clear(&err);
    s = mail_smtp_open(&srv, "client.test", &err);
    CHECK(s != NULL);
    if (s) {
        CHECK(mail_smtp_envelope(s, &env, &err) == 0);
        mail_smtp_data_begin(&d, s);
        CHECK(d.dot_timeout == 600);
        CHECK(!d.outcome_unknown);
        d.dot_timeout = 2;
        CHECK(mail_smtp_data_write(&d, "Subject: x\n\nhi\n", 16, &err) == 0);
        t0 = now_s();
        CHECK(mail_smtp_data_end(&d, NULL, &err) == -1);
        waited = now_s() - t0;
        CHECK(d.outcome_unknown);
        CHECK(err.kind == MAIL_ERR_TEMP);
        snprintf(want, sizeof want, "127.0.0.1:%u: no reply after the end of "
                 "the message: it may or may not have been delivered",
                 srv.port);
        CHECK(strncmp(err.msg, want, strlen(want)) == 0);
        CHECK(strstr(err.msg, "timed out after 2 s") != NULL);
        if (strncmp(err.msg, want, strlen(want)) != 0)
            printf("#   got: %s\n", err.msg);
        /* Longer than the account's timeout: the dot's own. */
        CHECK(waited > 1.5 && waited < 10);
        mail_smtp_quit(s);
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

int main(void)
{
    RUN(test_crlf);
    RUN(test_dots);
    RUN(test_end);
    RUN(test_large);
    RUN(test_smuggling);
    RUN(test_smuggling_exhaustive);
    RUN(test_long_lines);
    RUN(test_stall_after_dot);
    return test_done();
}
