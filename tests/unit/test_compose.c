/*
 * test_compose.c - the composer, -t completion, scanning, re-encoding to
 * 7 bits, mime.types lookup and the queue.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/codec.h"
#include "mail/compose.h"
#include "mail/header.h"
#include "mail/mimetypes.h"
#include "mail/queue.h"
#include "test.h"

static int tmpfd_with(const char *s)
{
    char path[] = "/tmp/test_compose.XXXXXX";
    int fd = mkstemp(path);

    unlink(path);
    if (fd >= 0 && s && write(fd, s, strlen(s)) != (ssize_t)strlen(s)) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);

    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
            return true;
    return false;
}

static void test_check_value(void)
{
    struct mail_error err;

    CHECK(mail_compose_check_value("s", "fine", 4, &err) == 0);
    CHECK(mail_compose_check_value("s", "a\nBcc: x", 8, &err) < 0);
    CHECK(err.kind == MAIL_ERR_USAGE);
    CHECK(mail_compose_check_value("s", "a\rb", 3, &err) < 0);
}

static void test_parse_addrs(void)
{
    struct mail_addrlist l = MAIL_ADDRLIST_INIT;
    struct mail_error err;

    CHECK(mail_compose_parse_addrs(&l, "Bob <bob@x.test>, c@y.test", &err)
          == 0);
    CHECK(l.n == 2);
    CHECK_STR(l.v[1].addr, "c@y.test");
    CHECK(mail_compose_parse_addrs(&l, "Just A Name", &err) < 0);
    CHECK(err.kind == MAIL_ERR_USAGE);
    CHECK(mail_compose_parse_addrs(&l, "a@x\nBcc: evil@y", &err) < 0);
    CHECK(mail_compose_parse_addrs(&l, "", &err) < 0);
    mail_addrlist_release(&l);
    CHECK_STR(mail_compose_domain("a@b.example"), "b.example");
    CHECK(mail_compose_domain("root") == NULL);
}

/* The Message-ID of "root (Cron Daemon)": the account's domain, else this
 * host's name, never @localhost. */
static void test_message_id_domain(void)
{
    static const char *const to[] = { "a@x.test" };
    struct mail_compose c = {
        .from = "root (Cron Daemon)", .to = to, .nto = 1, .body_fd = -1,
        .id_domain = "example.org",
    };
    struct mail_complete_opts o = { .from = "root (Cron Daemon)" };
    struct mail_complete_result res;
    struct mail_buf out = MAIL_BUF_INIT;
    struct mail_error err;
    char host[256], want[300];
    const char *id;
    int fd;

    CHECK(mail_compose_write(&c, mail_sink_buf, &out, &err) == 0);
    id = strstr(out.data, "\nMessage-ID: <");
    CHECK(id && strstr(id, "@example.org>\n") &&
          strstr(id, "@example.org>\n") < strchr(id + 1, '\n') + 1);
    CHECK(!strstr(out.data, "@localhost>"));

    CHECK(mail_compose_host_domain(host, sizeof host) == 0);
    CHECK(strcmp(host, "localhost") != 0 && host[0]);
    snprintf(want, sizeof want, "@%s>\n", host);
    mail_buf_reset(&out);
    c.id_domain = NULL;
    CHECK(mail_compose_write(&c, mail_sink_buf, &out, &err) == 0);
    CHECK(strstr(out.data, want) != NULL);
    CHECK(!strstr(out.data, "@localhost>"));

    /* A From with a domain still wins; -t completes the same way. */
    mail_buf_reset(&out);
    c.from = "me@m.test";
    c.id_domain = "example.org";
    CHECK(mail_compose_write(&c, mail_sink_buf, &out, &err) == 0);
    CHECK(strstr(out.data, "@m.test>\n") != NULL);

    fd = tmpfd_with("To: a@x.test\n\nbody\n");
    memset(&res, 0, sizeof res);
    mail_buf_reset(&out);
    o.id_domain = "cron.example.org";
    CHECK(mail_message_complete(fd, &o, mail_sink_buf, &out, &res, &err)
          == 0);
    CHECK(strstr(out.data, "@cron.example.org>\n") != NULL);
    mail_complete_result_release(&res);
    close(fd);
    fd = tmpfd_with("To: a@x.test\n\nbody\n");
    memset(&res, 0, sizeof res);
    mail_buf_reset(&out);
    o.id_domain = NULL;
    CHECK(mail_message_complete(fd, &o, mail_sink_buf, &out, &res, &err)
          == 0);
    CHECK(strstr(out.data, want) != NULL);
    CHECK(!strstr(out.data, "@localhost>"));
    mail_complete_result_release(&res);
    close(fd);
    mail_buf_release(&out);
}

/* Arguments are refused, not repaired (issue 8 item 13). */
static void test_strict_addrs(void)
{
    static const char *const good[] = {
        "bob@x.test", "Bob <bob@x.test>", "\"Doe, John\" <j@x.test>",
        "\"john doe\"@x.test", "a@x.test (comment), b@y.test", "root",
        "Zo\xc3\xab <z@x.test>", "a@[127.0.0.1]", " a@x.test , b@y.test ",
    };
    static const char *const bad[] = {
        "bob@x ORCPT=rfc822;z@z", "bob@x> NOTIFY=NEVER", "bob@x NOTIFY=NEVER",
        "Bob Smith", "<bob@x", "bob@x>", "\"open@x", "a@x.test (open",
        "a@x.test <b@y.test>", "team: a@x.test;", "a@x\tb", "bob@x SIZE=1",
        "<a@x> b@y",
    };
    struct mail_addrlist l = MAIL_ADDRLIST_INIT;
    struct mail_error err;

    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        mail_error_clear(&err);
        CHECK(mail_address_check(good[i], false, &err) == 0);
        CHECK_STR(err.msg, "");
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(mail_address_check(bad[i], false, &err) < 0);
        CHECK(err.kind == MAIL_ERR_USAGE);
        CHECK(strstr(err.msg, bad[i]) != NULL);
        CHECK(mail_compose_parse_addrs(&l, bad[i], &err) < 0);
    }
    /* Groups in header fields only. */
    CHECK(mail_address_check("team: a@x.test, b@y.test;, c@z.test", true,
                             &err) == 0);
    CHECK(mail_address_check("undisclosed-recipients:;", true, &err) == 0);
    CHECK(mail_address_check("team: a@x.test", true, &err) < 0);
    CHECK(mail_address_check("bob@x ORCPT=rfc822;z@z", true, &err) < 0);
    mail_addrlist_release(&l);
}

/* --header may not add what the composer writes or what changes who
 * gets the message. */
static void test_extra_headers(void)
{
    static const char *const refused[] = {
        "Bcc: x@y.test", "bcc : x@y.test", "From: other@y.test",
        "Content-Type: text/html", "MIME-Version: 1.0",
        "Content-Transfer-Encoding: base64", "Resent-Bcc: x@y.test",
        "X Bad: 1", "X\x01: 1", "Message-ID: <a@b>", "To: x@y.test",
    };
    const char *to[] = { "b@x.test" };
    const char *h[1];
    struct mail_compose c = {
        .from = "a@a.test", .to = to, .nto = 1, .body_fd = -1,
        .headers = h, .nheaders = 1,
    };
    struct mail_buf out = MAIL_BUF_INIT;
    struct mail_error err;

    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        h[0] = refused[i];
        mail_buf_reset(&out);
        CHECK(mail_compose_write(&c, mail_sink_buf, &out, &err) < 0);
        CHECK(err.kind == MAIL_ERR_USAGE);
        CHECK(out.len == 0);
    }
    h[0] = "In-Reply-To: <x@y.test>";
    mail_buf_reset(&out);
    CHECK(mail_compose_write(&c, mail_sink_buf, &out, &err) == 0);
    CHECK(has_line(out.data, "In-Reply-To: <x@y.test>"));
    mail_buf_release(&out);
}

static void test_attach_whole(void)
{
    char path[] = "/tmp/test_compose_att.XXXXXX.txt";
    const char *att[1] = { path };
    int afd = mkstemps(path, 4);
    int fd = tmpfd_with("To: b@x.test\nSubject: s\nContent-Type: text/plain;"
                        " charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
                        "caf\xc3\xa9\n");
    struct mail_buf out = MAIL_BUF_INIT;
    struct mail_error err;

    CHECK(afd >= 0 && write(afd, "na\xc3\xafve\n", 7) == 7);
    close(afd);
    CHECK(mail_message_attach(fd, att, 1, NULL, mail_sink_buf, &out, &err)
          == 0);
    /* Headers kept, the Content-* fields moved into the first part. */
    CHECK(strncmp(out.data, "To: b@x.test\nSubject: s\nMIME-Version: 1.0\n"
                  "Content-Type: multipart/mixed;\n boundary=", 68) == 0);
    CHECK(strstr(out.data, "\nContent-Type: text/plain; charset=utf-8\n"
                 "Content-Transfer-Encoding: 8bit\n\ncaf\xc3\xa9\n") != NULL);
    /* A UTF-8 text file says so. */
    CHECK(strstr(out.data, "charset=utf-8;") != NULL ||
          strstr(out.data, "charset=utf-8\n") != NULL);
    CHECK(strstr(out.data, "filename=") != NULL);
    unlink(path);
    mail_buf_reset(&out);
    CHECK(mail_message_attach(fd, att, 1, NULL, mail_sink_buf, &out, &err)
          < 0);
    CHECK(err.kind == MAIL_ERR_NOTFOUND);
    CHECK(out.len == 0);
    close(fd);
    mail_buf_release(&out);
}

static void test_fold(void)
{
    struct mail_buf b = MAIL_BUF_INIT;

    mail_compose_fold(&b, "Subject", "short");
    CHECK_STR(b.data, "Subject: short\n");
    mail_buf_reset(&b);
    mail_compose_fold(&b, "To", "aaaaaaaaaaaaaaaaaaaa@example.com, "
                      "bbbbbbbbbbbbbbbbbbbb@example.com, "
                      "cccccccccccccccccccc@example.com");
    CHECK_STR(b.data, "To: aaaaaaaaaaaaaaaaaaaa@example.com, "
              "bbbbbbbbbbbbbbbbbbbb@example.com,\n"
              " cccccccccccccccccccc@example.com\n");
    mail_buf_release(&b);
}

static void test_compose_plain(void)
{
    const char *to[] = { "Zoë <zoe@x.test>" };
    int body = tmpfd_with("hello\n.dot line\n");
    struct mail_compose c = {
        .from = "Alice <alice@a.test>", .to = to, .nto = 1,
        .subject = "Grüße", .body_fd = body, .date = 1700000000,
        .message_id = "<fixed@a.test>",
    };
    struct mail_buf out = MAIL_BUF_INIT;
    struct mail_error err;

    CHECK(mail_compose_write(&c, mail_sink_buf, &out, &err) == 0);
    CHECK(has_line(out.data, "From: Alice <alice@a.test>"));
    CHECK(has_line(out.data, "To: =?UTF-8?Q?Zo=C3=AB?= <zoe@x.test>"));
    CHECK(has_line(out.data, "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?="));
    CHECK(has_line(out.data, "Message-ID: <fixed@a.test>"));
    CHECK(has_line(out.data, "MIME-Version: 1.0"));
    CHECK(has_line(out.data, "Content-Transfer-Encoding: 7bit"));
    CHECK(strstr(out.data, "\n\nhello\n.dot line\n") != NULL);
    CHECK(!strstr(out.data, "multipart"));
    close(body);

    /* UTF-8 body: quoted-printable, '.' at a line start encoded. */
    body = tmpfd_with("caf\xc3\xa9\n.x\n");
    c.body_fd = body;
    c.subject = NULL;
    mail_buf_reset(&out);
    CHECK(mail_compose_write(&c, mail_sink_buf, &out, &err) == 0);
    CHECK(has_line(out.data, "Content-Type: text/plain; charset=utf-8"));
    CHECK(has_line(out.data, "Content-Transfer-Encoding: quoted-printable"));
    CHECK(strstr(out.data, "caf=C3=A9\n=2Ex\n") != NULL);
    CHECK(!strstr(out.data, "Subject:"));
    close(body);

    /* Injection through the subject is refused. */
    c.subject = "x\r\nBcc: evil@y";
    CHECK(mail_compose_write(&c, mail_sink_buf, &out, &err) < 0);
    CHECK(err.kind == MAIL_ERR_USAGE);
    mail_buf_release(&out);
}

static void test_compose_attach(void)
{
    char path[] = "/tmp/test_compose_r\xc3\xa9sum\xc3\xa9.XXXXXX";
    const char *to[] = { "b@x.test" };
    const char *att[1];
    int afd = mkstemp(path);
    int body = tmpfd_with("see attached\n");
    struct mail_compose c = {
        .from = "a@a.test", .to = to, .nto = 1, .body_fd = body,
        .attach = att, .nattach = 1,
    };
    struct mail_buf out = MAIL_BUF_INIT;
    struct mail_error err;

    CHECK(afd >= 0 && write(afd, "\x00\x01\x02\xff", 4) == 4);
    close(afd);
    att[0] = path;
    CHECK(mail_compose_write(&c, mail_sink_buf, &out, &err) == 0);
    CHECK(strstr(out.data, "Content-Type: multipart/mixed;") != NULL);
    CHECK(strstr(out.data, "Content-Transfer-Encoding: base64\n\nAAEC/w==\n")
          != NULL);
    CHECK(strstr(out.data, "filename*=UTF-8''") != NULL);
    unlink(path);
    /* A missing attachment is found before anything is written. */
    att[0] = "/nonexistent/file";
    mail_buf_reset(&out);
    CHECK(mail_compose_write(&c, mail_sink_buf, &out, &err) < 0);
    CHECK(err.kind == MAIL_ERR_NOTFOUND);
    CHECK(out.len == 0);
    close(body);
    mail_buf_release(&out);
}

/* The charset of a body without Content-Type is judged over the whole
 * body, read in chunks: a UTF-8 sequence cut by a chunk's end is still
 * one character, and a sequence never finished is not UTF-8. */
static void test_complete_utf8_chunks(void)
{
    static const char head[] = "To: a@x.test\n\n";
    static const struct {
        size_t before;          /* body bytes before the sequence */
        const char *seq, *after, *want;
    } cases[] = {
        { 65535, "\xe2\x82\xac", "\n", "charset=utf-8" },
        { 65534, "\xe2\x82\xac", "\n", "charset=utf-8" },
        { 65533, "\xf0\x9f\x98\x80", "\n", "charset=utf-8" },
        { 65535, "\xe2\x82", "\n", "charset=unknown-8bit" },
        { 65535, "\xe2\x82", "", "charset=unknown-8bit" },
        { 65535, "\xc3", "\xa9", "charset=utf-8" },
        { 65535, "\xed\xa0\x80", "\n", "charset=unknown-8bit" },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mail_complete_opts o = { .from = "me@m.test" };
        struct mail_complete_result res;
        struct mail_buf msg = MAIL_BUF_INIT, out = MAIL_BUF_INIT;
        struct mail_error err;
        int fd;

        mail_buf_addstr(&msg, head);
        for (size_t k = 0; k < cases[i].before; k++)
            mail_buf_addch(&msg, 'a');
        mail_buf_addstr(&msg, cases[i].seq);
        mail_buf_addstr(&msg, cases[i].after);
        fd = tmpfd_with(msg.data);
        memset(&res, 0, sizeof res);
        CHECK(mail_message_complete(fd, &o, mail_sink_buf, &out, &res, &err)
              == 0);
        CHECK(out.data && strstr(out.data, cases[i].want) != NULL);
        mail_complete_result_release(&res);
        mail_buf_release(&out);
        mail_buf_release(&msg);
        close(fd);
    }
}

static void test_complete(void)
{
    const char *msg = "To: \"Doe, John\" <j@x.test>, team: a@x.test, "
                      "b@x.test;\nBcc: hidden@x.test\nSubject: hi\n\nbody\n";
    int fd = tmpfd_with(msg);
    struct mail_complete_opts o = { .from = "Me <me@m.test>" };
    struct mail_complete_result res;
    struct mail_buf out = MAIL_BUF_INIT;
    struct mail_error err;

    memset(&res, 0, sizeof res);
    CHECK(mail_message_complete(fd, &o, mail_sink_buf, &out, &res, &err)
          == 0);
    CHECK(res.rcpts.n == 4);
    CHECK_STR(res.rcpts.v[3].addr, "hidden@x.test");
    CHECK(!strstr(out.data, "Bcc"));
    CHECK(!strstr(out.data, "hidden"));
    CHECK_STR(res.bcc.data, "Bcc: hidden@x.test\n");
    /* The original fields byte for byte, then what was added. */
    {
        static const char want[] = "To: \"Doe, John\" <j@x.test>, team: "
            "a@x.test, b@x.test;\nSubject: hi\nFrom: Me <me@m.test>\nDate: ";

        CHECK(strncmp(out.data, want, sizeof want - 1) == 0);
    }
    CHECK(has_line(out.data, "MIME-Version: 1.0"));
    CHECK(has_line(out.data, "Content-Type: text/plain; charset=us-ascii"));
    CHECK(strstr(out.data, "\n\nbody\n") != NULL);
    CHECK_STR(res.from_addr, "me@m.test");
    mail_complete_result_release(&res);
    close(fd);

    /* Resent-Bcc goes too; with check_rcpts a recipient field carrying
     * ESMTP parameters is refused. */
    fd = tmpfd_with("To: a@x.test\nResent-Bcc: r@x.test\n\nbody\n");
    memset(&res, 0, sizeof res);
    mail_buf_reset(&out);
    o.check_rcpts = true;
    CHECK(mail_message_complete(fd, &o, mail_sink_buf, &out, &res, &err)
          == 0);
    CHECK(!strstr(out.data, "Resent-Bcc"));
    CHECK(!strstr(out.data, "r@x.test"));
    mail_complete_result_release(&res);
    close(fd);
    fd = tmpfd_with("To: bob@x ORCPT=rfc822;z@z\n\nbody\n");
    memset(&res, 0, sizeof res);
    CHECK(mail_message_complete(fd, &o, mail_sink_buf, &out, &res, &err)
          < 0);
    CHECK(err.kind == MAIL_ERR_USAGE);
    mail_complete_result_release(&res);
    close(fd);
    mail_buf_release(&out);
}

static void test_scan(void)
{
    struct mail_message_info in;
    struct mail_error err;
    int fd = tmpfd_with("Subject: \xc3\xa9\n\nascii\nline\n");

    CHECK(mail_message_scan(fd, 0, &in, &err) == 0);
    CHECK(in.header_8bit && !in.body_8bit && !in.body_binary);
    CHECK(in.wire_size == in.size + 4);
    close(fd);
    fd = tmpfd_with("A: b\n\nx\ry\n");
    CHECK(mail_message_scan(fd, 0, &in, &err) == 0);
    CHECK(in.body_binary && !in.header_8bit);
    close(fd);
}

static void test_to_7bit(void)
{
    const char *msg =
        "From: Ren\xc3\xa9 <r@x.test>\n"
        "Subject: caf\xc3\xa9\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"B\"\n"
        "\n"
        "pre\n"
        "--B\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n"
        "\n"
        "na\xc3\xafve\n"
        "--B\n"
        "Content-Type: application/octet-stream\n"
        "Content-Transfer-Encoding: base64\n"
        "\n"
        "AAEC\n"
        "--B--\n";
    int fd = tmpfd_with(msg);
    struct mail_buf out = MAIL_BUF_INIT;
    struct mail_message_info in;
    struct mail_error err;
    int fd2;

    CHECK(mail_message_to_7bit(fd, 0, MAIL_7BIT_HEADERS | MAIL_7BIT_BODY,
                               mail_sink_buf, &out, &err) == 0);
    CHECK(has_line(out.data, "From: =?UTF-8?Q?Ren=C3=A9?= <r@x.test>"));
    CHECK(has_line(out.data, "Subject: =?UTF-8?Q?caf=C3=A9?="));
    /* The line break before a boundary belongs to the boundary, so the
     * part's text ends without one: a soft break. */
    CHECK(strstr(out.data, "Content-Transfer-Encoding: quoted-printable\n\n"
                 "na=C3=AFve=\n\n--B\n") != NULL);
    CHECK(strstr(out.data, "base64\n\nAAEC\n--B--\n") != NULL);
    fd2 = tmpfd_with(out.data);
    CHECK(mail_message_scan(fd2, 0, &in, &err) == 0);
    CHECK(!in.header_8bit && !in.body_8bit && !in.long_lines);
    close(fd2);
    close(fd);

    /* Not multipart, no MIME-Version, a line over 998 octets. */
    {
        struct mail_buf m = MAIL_BUF_INIT;

        mail_buf_addstr(&m, "Subject: long\n\n");
        for (int i = 0; i < 1500; i++)
            mail_buf_addch(&m, 'x');
        mail_buf_addstr(&m, "\nend\n");
        fd = tmpfd_with(m.data);
        mail_buf_reset(&out);
        CHECK(mail_message_to_7bit(fd, 0, MAIL_7BIT_BODY, mail_sink_buf,
                                   &out, &err) == 0);
        CHECK(has_line(out.data, "MIME-Version: 1.0"));
        CHECK(has_line(out.data, "Content-Transfer-Encoding: "
                       "quoted-printable"));
        fd2 = tmpfd_with(out.data);
        CHECK(mail_message_scan(fd2, 0, &in, &err) == 0);
        CHECK(!in.long_lines);
        close(fd2);
        close(fd);
        /* Decoded, the body is what it was. */
        {
            const char *b = strstr(out.data, "\n\n") + 2;
            struct mail_buf dec = MAIL_BUF_INIT;

            mail_decode(&dec, MAIL_CTE_QP, b, strlen(b));
            CHECK(dec.len == m.len - 15);
            CHECK(memcmp(dec.data, m.data + 15, dec.len) == 0);
            mail_buf_release(&dec);
        }
        mail_buf_release(&m);
    }

    /* A non-ASCII address cannot be encoded: only SMTPUTF8 carries it. */
    fd = tmpfd_with("To: j\xc3\xb6rg@x.test\n\nhi\n");
    mail_buf_reset(&out);
    CHECK(mail_message_to_7bit(fd, 0, MAIL_7BIT_HEADERS, mail_sink_buf, &out,
                               &err) < 0);
    CHECK(err.kind == MAIL_ERR_DATA);
    close(fd);
    mail_buf_release(&out);
}

static void test_mimetypes(void)
{
    char buf[128];
    char path[] = "/tmp/test_mimetypes.XXXXXX";
    int fd = mkstemp(path);
    const char *t = "# comment\napplication/x-test\ttst foo\ntext/x-y yy\n";

    CHECK(fd >= 0 && write(fd, t, strlen(t)) == (ssize_t)strlen(t));
    close(fd);
    CHECK_STR(mail_mimetype_lookup("/a/b.FOO", path, buf, sizeof buf),
              "application/x-test");
    CHECK_STR(mail_mimetype_lookup("x.pdf", path, buf, sizeof buf),
              "application/pdf");
    CHECK_STR(mail_mimetype_lookup("noext", path, buf, sizeof buf),
              "application/octet-stream");
    CHECK_STR(mail_mimetype_lookup("x.unknownext", "/nonexistent", buf,
                                   sizeof buf), "application/octet-stream");
    unlink(path);
}

static void test_queue(void)
{
    char dir[] = "/tmp/test_queue.XXXXXX";
    const char *rcpts[] = { "a@x.test", "b@x.test" };
    struct mail_queue_entry e, e2;
    struct mail_error err;
    char **names;
    size_t n;
    char *id = NULL;
    char buf[64];
    int fd = tmpfd_with("Subject: q\n\nbody\n");

    CHECK(mkdtemp(dir) != NULL);
    CHECK(mail_queue_add(dir, "work", "me@x.test", rcpts, 2, fd, 0, &id,
                         &err) == 0);
    CHECK(mail_queue_list(dir, &names, &n, &err) == 0);
    CHECK(n == 1 && strcmp(names[0], id) == 0);
    CHECK(mail_queue_open(dir, names[0], &e, &err) == 0);
    CHECK_STR(e.account, "work");
    CHECK_STR(e.from, "me@x.test");
    CHECK(e.nrcpts == 2);
    CHECK_STR(e.rcpts[1], "b@x.test");
    CHECK(pread(e.fd, buf, 17, e.offset) == 17);
    CHECK(memcmp(buf, "Subject: q\n\nbody\n", 17) == 0);
    /* Locked: a second flush skips it. */
    CHECK(mail_queue_open(dir, names[0], &e2, &err) == 1);
    CHECK(mail_queue_done(&e, &err) == 0);
    mail_queue_names_free(names, n);
    CHECK(mail_queue_list(dir, &names, &n, &err) == 0);
    CHECK(n == 0);
    mail_queue_names_free(names, n);
    free(id);

    /* Held messages (no reply after the dot) are not in the list a flush
     * sends; a queued one can be moved there. */
    {
        char *path = NULL;
        struct stat st;

        CHECK(mail_queue_add_held(dir, "work", "me@x.test", rcpts, 2, fd, 0,
                                  &path, &err) == 0);
        CHECK(path && strncmp(path, dir, strlen(dir)) == 0);
        CHECK(path && strstr(path, "/held/") != NULL);
        CHECK(path && stat(path, &st) == 0 && S_ISREG(st.st_mode));
        free(path);
        CHECK(mail_queue_add(dir, "work", "me@x.test", rcpts, 2, fd, 0, &id,
                             &err) == 0);
        CHECK(mail_queue_list(dir, &names, &n, &err) == 0);
        CHECK(n == 1);
        CHECK(mail_queue_open(dir, names[0], &e, &err) == 0);
        path = NULL;
        CHECK(mail_queue_hold(&e, &path, &err) == 0);
        CHECK(path && strstr(path, "/held/") && strstr(path, id));
        CHECK(path && stat(path, &st) == 0);
        free(path);
        free(id);
        mail_queue_names_free(names, n);
        CHECK(mail_queue_list(dir, &names, &n, &err) == 0);
        CHECK(n == 0);
        mail_queue_names_free(names, n);
    }
    close(fd);
    {
        char cmd[128];

        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CHECK(system(cmd) == 0);
    }
}

/* A sink that takes `room` bytes, then fails as a full disk does. */
static int enospc_sink(void *ctx, const char *data, size_t len,
                       struct mail_error *err)
{
    size_t *room = ctx;

    (void)data;
    if (len <= *room) {
        *room -= len;
        return 0;
    }
    return mail_error_set(err, MAIL_ERR_IO,
                          "temporary file: No space left on device");
}

/* Wherever the output stops (headers, text, the encoder of an
 * attachment, its final flush), the caller gets the sink's own error, not
 * "cannot write the message" as before. */
static void test_sink_error(void)
{
    static const char msg8[] =
        "From: a@a.test\nTo: b@x.test\nSubject: caf\xc3\xa9\n\n"
        "na\xc3\xafve text\n";
    char path[] = "/tmp/test_compose_att.XXXXXX";
    const char *to[] = { "b@x.test" };
    const char *att[1] = { path };
    int afd = mkstemp(path);
    int body = tmpfd_with("see attached\n");
    int in8 = tmpfd_with(msg8);
    struct mail_compose c = {
        .from = "a@a.test", .to = to, .nto = 1, .body_fd = body,
        .attach = att, .nattach = 1,
    };
    struct mail_buf out = MAIL_BUF_INIT;
    struct mail_error err;
    char bin[3000];
    size_t total[3], bad = 0;

    for (size_t i = 0; i < sizeof bin; i++)
        bin[i] = (char)(i * 7);
    CHECK(afd >= 0 && write(afd, bin, sizeof bin) == (ssize_t)sizeof bin);
    close(afd);
    CHECK(mail_compose_write(&c, mail_sink_buf, &out, &err) == 0);
    total[0] = out.len;
    mail_buf_reset(&out);
    CHECK(mail_message_to_7bit(in8, 0, MAIL_7BIT_HEADERS | MAIL_7BIT_BODY,
                               mail_sink_buf, &out, &err) == 0);
    total[1] = out.len;
    mail_buf_reset(&out);
    CHECK(mail_message_attach(in8, att, 1, NULL, mail_sink_buf, &out,
                              &err) == 0);
    total[2] = out.len;
    for (int k = 0; k < 3; k++) {
        for (size_t room = 0; room < total[k]; room += 1 + room / 3) {
            size_t left = room;
            int r;

            mail_error_clear(&err);
            if (k == 0)
                r = mail_compose_write(&c, enospc_sink, &left, &err);
            else if (k == 1)
                r = mail_message_to_7bit(in8, 0, MAIL_7BIT_HEADERS |
                                         MAIL_7BIT_BODY, enospc_sink, &left,
                                         &err);
            else
                r = mail_message_attach(in8, att, 1, NULL, enospc_sink,
                                        &left, &err);
            if (r != -1 || err.kind != MAIL_ERR_IO ||
                strcmp(err.msg, "temporary file: No space left on device")) {
                printf("# k %d room %zu: %d %s\n", k, room, r, err.msg);
                bad++;
            }
        }
    }
    CHECK(bad == 0);
    unlink(path);
    close(body);
    close(in8);
    mail_buf_release(&out);
}

int main(void)
{
    RUN(test_check_value);
    RUN(test_parse_addrs);
    RUN(test_strict_addrs);
    RUN(test_extra_headers);
    RUN(test_attach_whole);
    RUN(test_fold);
    RUN(test_compose_plain);
    RUN(test_compose_attach);
    RUN(test_complete);
    RUN(test_complete_utf8_chunks);
    RUN(test_message_id_domain);
    RUN(test_scan);
    RUN(test_to_7bit);
    RUN(test_mimetypes);
    RUN(test_queue);
    RUN(test_sink_error);
    return test_done();
}
