#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail/buf.h"
#include "mail/header.h"
#include "test.h"

static void test_parse(void)
{
    static const char msg[] =
        "From: Alice <a@example.com>\r\n"
        "Subject: a long\r\n"
        "\tfolded  subject \r\n"
        "X-Empty:\r\n"
        "Received: one\r\n"
        "received : two\r\n"
        "RECEIVED:three\r\n"
        "\r\n"
        "Body: not a header\r\n";
    struct mail_header h = MAIL_HEADER_INIT;
    size_t pos = 0;

    CHECK(mail_header_parse(&h, msg, sizeof msg - 1, NULL) == 0);
    CHECK(h.nfields == 6);
    CHECK(h.complete);
    CHECK(h.len == (size_t)(strstr(msg, "Body:") - msg));
    CHECK_STR(h.fields[0].name, "from");
    CHECK_STR(h.fields[0].value, "Alice <a@example.com>");
    CHECK_STR(mail_header_get(&h, "Subject"), "a long\tfolded  subject");
    CHECK(h.fields[1].value_len == strlen("a long\tfolded  subject"));
    CHECK_STR(mail_header_get(&h, "x-empty"), "");
    CHECK_STR(mail_header_next(&h, "received", &pos), "one");
    CHECK_STR(mail_header_next(&h, "received", &pos), "two");
    CHECK_STR(mail_header_next(&h, "received", &pos), "three");
    CHECK(mail_header_next(&h, "received", &pos) == NULL);
    CHECK(mail_header_get(&h, "body") == NULL);
    mail_header_release(&h);
    CHECK(h.buf == NULL && h.nfields == 0);
}

static void test_broken(void)
{
    static const char msg[] =
        " leading continuation\n"
        "From mbox-line Mon Jan  1 00:00:00 2026\n"
        "no colon here\n"
        "  continuation of garbage\n"
        "Bad Name: x\n"
        ": no name\n"
        "Subject: nul\0and\rcr\n"
        "X-8bit: caf\xe9\n"
        "Last: no newline at the end";
    struct mail_header h = MAIL_HEADER_INIT;

    CHECK(mail_header_parse(&h, msg, sizeof msg - 1, NULL) == 0);
    CHECK(h.nfields == 3);
    CHECK(!h.complete);
    CHECK(h.len == sizeof msg - 1);
    CHECK_STR(mail_header_get(&h, "subject"), "nul and cr");
    CHECK_STR(mail_header_get(&h, "x-8bit"), "caf\xe9");
    CHECK_STR(mail_header_get(&h, "last"), "no newline at the end");
    /* Empty header: body starts right away. */
    CHECK(mail_header_parse(&h, "\nbody", 5, NULL) == 0);
    CHECK(h.nfields == 0 && h.len == 1 && h.complete);
    CHECK(mail_header_parse(&h, "\r\nbody", 6, NULL) == 0);
    CHECK(h.len == 2);
    CHECK(mail_header_parse(&h, "", 0, NULL) == 0);
    CHECK(h.nfields == 0 && h.len == 0);
    CHECK(mail_header_parse(&h, "A: b\n\r\nc", 8, NULL) == 0);
    CHECK(h.len == 7);
    CHECK(mail_header_end("A: 1\nB: 2\n\nx", 12, NULL) == 11);
    mail_header_release(&h);
}

static char tmpname[64];

static int tmpfile_with(const char *data, size_t len)
{
    int fd;

    mail_strlcpy(tmpname, "/tmp/test_header.XXXXXX", sizeof tmpname);
    fd = mkstemp(tmpname);
    if (fd < 0)
        return -1;
    unlink(tmpname);
    if (write(fd, data, len) != (ssize_t)len) {
        close(fd);
        return -1;
    }
    lseek(fd, 0, SEEK_SET);
    return fd;
}

static void test_read_fd(void)
{
    static const char msg[] = "Subject: hi\nTo: x@y\n\nthe body\n";
    struct mail_header h = MAIL_HEADER_INIT;
    struct mail_buf rest = MAIL_BUF_INIT;
    char body[32] = "";
    int fd = tmpfile_with(msg, sizeof msg - 1);
    int pfd[2];
    FILE *f;

    CHECK(fd >= 0);
    CHECK(mail_header_read_fd(&h, fd, 0, NULL, NULL) == 0);
    CHECK(h.nfields == 2 && h.len == 21);
    CHECK(read(fd, body, sizeof body - 1) == 9);
    CHECK_STR(body, "the body\n");
    /* FILE: left at the body. */
    lseek(fd, 0, SEEK_SET);
    f = fdopen(dup(fd), "r");
    CHECK(mail_header_read_file(&h, f, 0, NULL) == 0);
    CHECK_STR(mail_header_get(&h, "to"), "x@y");
    CHECK(fgetc(f) == 't');
    fclose(f);
    close(fd);
    /* A pipe: what was read past the header is handed back. */
    CHECK(pipe(pfd) == 0);
    CHECK(write(pfd[1], msg, sizeof msg - 1) == (ssize_t)sizeof msg - 1);
    close(pfd[1]);
    CHECK(mail_header_read_fd(&h, pfd[0], 0, &rest, NULL) == 0);
    CHECK_STR(rest.data, "the body\n");
    close(pfd[0]);
    mail_buf_release(&rest);
    mail_header_release(&h);
}

static void test_bound(void)
{
    /* A header with no end: only max bytes are taken, the rest is body. */
    size_t n = 3 * 4096, i;
    char *big = malloc(n);
    struct mail_header h = MAIL_HEADER_INIT;
    int fd;
    FILE *f;

    memcpy(big, "Subject: ", 9);
    for (i = 9; i < n; i++)
        big[i] = (i % 100 == 99) ? '\n' : (i % 100 == 0 ? ' ' : 'x');
    fd = tmpfile_with(big, n);
    CHECK(mail_header_read_fd(&h, fd, 5000, NULL, NULL) == 0);
    CHECK(h.truncated && !h.complete && h.len == 5000);
    CHECK(lseek(fd, 0, SEEK_CUR) == 5000);
    lseek(fd, 0, SEEK_SET);
    f = fdopen(fd, "r");
    CHECK(mail_header_read_file(&h, f, 5000, NULL) == 0);
    CHECK(h.truncated && h.len == 5000 && ftell(f) == 5000);
    CHECK(strlen(mail_header_get(&h, "subject")) > 4000);
    fclose(f);
    free(big);
    mail_header_release(&h);
}

int main(void)
{
    RUN(test_parse);
    RUN(test_broken);
    RUN(test_read_fd);
    RUN(test_bound);
    return test_done();
}
