/*
 * test_outgoing.c - the sending calls that need no server: recipients
 * (aliases, the account's domain, refused shapes, repeats), a message
 * given whole (-t: To, Cc and Bcc collected, Bcc removed, headers added,
 * -A attached), the connection-lost mark, and the sender's decisions
 * when the server cannot be reached (queued with the queue allowed,
 * temporary without) or the account has no SMTP server.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/config.h"
#include "mail/outgoing.h"
#include "test.h"

static char root[256];
static struct mail_paths paths;

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* A temporary home with config, data and tmp directories. */
static void setup(void)
{
    char p[512];

    snprintf(root, sizeof root, "/tmp/test_outgoing.XXXXXX");
    if (!mkdtemp(root))
        abort();
    memset(&paths, 0, sizeof paths);
    paths.home = strdup(root);
    snprintf(p, sizeof p, "%s/config", root);
    mkdir(p, 0700);
    paths.config_home = strdup(p);
    snprintf(p, sizeof p, "%s/config/mail", root);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/data", root);
    mkdir(p, 0700);
    paths.data_home = strdup(p);
    snprintf(p, sizeof p, "%s/state", root);
    mkdir(p, 0700);
    paths.state_home = strdup(p);
    paths.tmp_dir = strdup(root);
    snprintf(p, sizeof p, "%s/config/mail/aliases", root);
    write_file(p, "# aliases\n"
                  "alias bob Bob Example <bob@example.com>\n"
                  "alias team alice@example.com, bob\n");
}

static char *read_fd(int fd)
{
    static char buf[65536];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);

    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static bool has(const struct mail_rcpts *r, const char *addr)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->v[i], addr) == 0)
            return true;
    return false;
}

/* Arguments: aliases expanded (also nested), a bare name qualified with
 * the domain, each argument replaced by its resolved text; repeats
 * dropped. */
static void test_rcpts_args(void)
{
    struct mail_account acct;
    struct mail_rcpts r;
    struct mail_error err;
    const char *args[] = { "bob", "team", "root", "carol@example.org",
                           "BOB@example.com" };

    memset(&acct, 0, sizeof acct);
    acct.domain = (char *)"example.test";
    mail_error_clear(&err);
    CHECK(mail_rcpts_init(&r, &acct, &paths, &err) == 0);
    CHECK(mail_rcpts_add_args(&r, args, 5, &err) == 0);
    CHECK(has(&r, "bob@example.com"));
    CHECK(has(&r, "alice@example.com"));
    CHECK(has(&r, "root@example.test"));
    CHECK(has(&r, "carol@example.org"));
    CHECK_STR(args[0], "Bob Example <bob@example.com>");
    CHECK_STR(args[2], "root@example.test");
    CHECK(r.n == 6);
    mail_rcpts_dedup(&r);
    CHECK(r.n == 4);
    mail_rcpts_reset(&r);
    CHECK(r.n == 0);
    /* the resolved texts live on after a reset */
    CHECK_STR(args[0], "Bob Example <bob@example.com>");
    mail_rcpts_release(&r);
}

/* Shapes that must be refused, naming the address: ESMTP parameters,
 * a closing bracket, a bare name with neither alias nor domain. */
static void test_rcpts_refused(void)
{
    const char *bad[] = {
        "bob@x.test ORCPT=rfc822;z@z.test",
        "bob@x.test> NOTIFY=NEVER",
        "nobody",
        "a@b.test\r\nRCPT TO:<c@d.test>",
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct mail_rcpts r;
        struct mail_error err;
        const char *one = bad[i];

        mail_error_clear(&err);
        CHECK(mail_rcpts_init(&r, NULL, &paths, &err) == 0);
        CHECK(mail_rcpts_add_args(&r, &one, 1, &err) < 0);
        CHECK(err.kind == MAIL_ERR_USAGE);
        CHECK(r.n == 0);
        mail_rcpts_release(&r);
    }
}

/* -t: recipients from To, Cc and Bcc, each resolved; Bcc removed from
 * the message and kept for the sent copy; Date and Message-ID added. */
static void test_whole_message(void)
{
    char path[512];
    struct mail_whole_opts wo = { .from = "Alice <alice@example.test>",
                                  .check_rcpts = true,
                                  .id_domain = "example.test" };
    struct mail_complete_result res;
    struct mail_account acct;
    struct mail_rcpts r;
    struct mail_error err;
    int in, msg = -1;
    char *text;

    memset(&res, 0, sizeof res);
    memset(&acct, 0, sizeof acct);
    acct.domain = (char *)"example.test";
    snprintf(path, sizeof path, "%s/in", root);
    write_file(path, "To: bob, Carol <carol@example.org>\n"
                     "Cc: team\n"
                     "Bcc: secret@example.net\n"
                     "Subject: hello\n"
                     "\n"
                     "body\n");
    in = open(path, O_RDONLY);
    CHECK(in >= 0);
    mail_error_clear(&err);
    /* check_rcpts: "bob" is no address until resolved; the sender
     * resolves, the message check passes bare names through */
    wo.check_rcpts = false;
    CHECK(mail_send_prepare_whole(&paths, in, &wo, &msg, &res, &err) == 0);
    CHECK(msg >= 0);
    text = read_fd(msg);
    CHECK(strstr(text, "Bcc:") == NULL);
    CHECK(strstr(text, "secret@example.net") == NULL);
    CHECK(strstr(text, "\nDate: ") != NULL);
    CHECK(strstr(text, "\nMessage-ID: <") != NULL);
    CHECK(strstr(text, "From: Alice <alice@example.test>") != NULL);
    CHECK(strstr(text, "Subject: hello\n") != NULL);
    CHECK(res.bcc.data && strstr(res.bcc.data, "secret@example.net"));
    CHECK(mail_rcpts_init(&r, &acct, &paths, &err) == 0);
    CHECK(mail_rcpts_add_message(&r, &res, &err) == 0);
    CHECK(has(&r, "bob@example.com"));
    CHECK(has(&r, "carol@example.org"));
    CHECK(has(&r, "alice@example.com"));
    CHECK(has(&r, "secret@example.net"));
    mail_rcpts_dedup(&r);
    CHECK(r.n == 4);
    mail_rcpts_release(&r);
    mail_complete_result_release(&res);
    close(msg);
    close(in);
}

/* -t -A: the message becomes multipart/mixed with the file. */
static void test_whole_attach(void)
{
    char path[512], file[512];
    const char *attach[1];
    struct mail_whole_opts wo = { .check_rcpts = true };
    struct mail_complete_result res;
    struct mail_error err;
    int in, msg = -1;
    char *text;

    memset(&res, 0, sizeof res);
    snprintf(path, sizeof path, "%s/in2", root);
    snprintf(file, sizeof file, "%s/notes.txt", root);
    write_file(path, "From: a@example.test\nTo: b@example.test\n"
                     "Subject: x\n\nbody\n");
    write_file(file, "attached text\n");
    attach[0] = file;
    wo.attach = attach;
    wo.nattach = 1;
    in = open(path, O_RDONLY);
    mail_error_clear(&err);
    CHECK(mail_send_prepare_whole(&paths, in, &wo, &msg, &res, &err) == 0);
    text = read_fd(msg);
    CHECK(strstr(text, "multipart/mixed") != NULL);
    CHECK(strstr(text, "notes.txt") != NULL);
    CHECK(strstr(text, "YXR0YWNoZWQgdGV4dAo=") != NULL);   /* base64 */
    CHECK(res.rcpts.n == 1);
    /* a missing file fails before anything is sent */
    close(msg);
    msg = -1;
    mail_complete_result_release(&res);
    memset(&res, 0, sizeof res);
    attach[0] = "/nonexistent/file";
    CHECK(mail_send_prepare_whole(&paths, in, &wo, &msg, &res, &err) < 0);
    CHECK(msg == -1);
    mail_complete_result_release(&res);
    close(in);
}

static void test_connection_lost_flag(void)
{
    struct mail_error err;

    mail_error_set(&err, MAIL_ERR_UNAVAIL, "x: connection closed by the "
                   "server");
    /* the text alone no longer decides */
    CHECK(!mail_error_connection_lost(&err));
    err.conn_lost = true;
    CHECK(mail_error_connection_lost(&err));
}

/* Events a sender reported. */
struct seen {
    int failed, queued, error;
    char name[256];
};

static void on_event(void *arg, const struct mail_send_event *ev)
{
    struct seen *s = arg;

    if (ev->kind == MAIL_SEND_EV_FAILED)
        s->failed++;
    if (ev->kind == MAIL_SEND_EV_ERROR)
        s->error++;
    if (ev->kind == MAIL_SEND_EV_QUEUED) {
        s->queued++;
        snprintf(s->name, sizeof s->name, "%s", ev->name);
    }
}

/* A port on 127.0.0.1 where nobody listens. */
static unsigned closed_port(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    unsigned port = 0;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* Load an account from a config text. */
static struct mail_account *account(struct mail_config *cfg, const char *text)
{
    struct mail_overrides ov = { 0 };
    struct mail_account *a = NULL;
    struct mail_error err;
    char path[512];

    snprintf(path, sizeof path, "%s/config/mail/config", root);
    write_file(path, text);
    chmod(path, 0600);
    mail_error_clear(&err);
    if (mail_config_load(cfg, path, &paths, &err) < 0 ||
        mail_config_select(cfg, NULL, &ov, &a, &err) < 0) {
        printf("# %s\n", err.msg);
        return NULL;
    }
    return a;
}

/* The server cannot be reached: temporary (exit 75) without the queue;
 * queued, status OK, with it; the second message of the run does not
 * wait for the connect again (same outcome). */
static void test_unreachable(void)
{
    char text[512], path[512];
    struct mail_config cfg;
    struct mail_account *a;
    const char *rcpts[] = { "bob@example.test" };
    struct mail_send_envelope env = { .from = "alice@example.test",
                                      .rcpts = rcpts, .nrcpts = 1 };

    memset(&cfg, 0, sizeof cfg);
    snprintf(text, sizeof text,
             "[account \"t\"]\n    address = alice@example.test\n"
             "    smtp = smtp://127.0.0.1:%u\n    tls = none-i-know\n"
             "    timeout = 2\n", closed_port());
    a = account(&cfg, text);
    CHECK(a != NULL);
    if (!a)
        return;
    snprintf(path, sizeof path, "%s/in3", root);
    write_file(path, "From: alice@example.test\nTo: bob@example.test\n\nx\n");
    for (int queue = 0; queue <= 1; queue++) {
        struct seen seen = { 0 };
        struct mail_sender_opts so = { .acct = a, .queue = queue,
                                       .event = on_event,
                                       .event_arg = &seen };
        struct mail_send_outcome oc;
        struct mail_error err;
        struct mail_sender *s = mail_sender_new(&so, &err);
        int fd = open(path, O_RDONLY);

        CHECK(s != NULL && fd >= 0);
        for (int round = 0; round < 2; round++) {
            CHECK(mail_send_message(s, fd, 0, &env, &oc) < 0);
            CHECK(!oc.delivered && !oc.unknown);
            CHECK(oc.status == (queue ? MAIL_OK : MAIL_ERR_TEMP));
            mail_send_outcome_release(&oc);
        }
        CHECK(seen.queued == (queue ? 2 : 0));
        CHECK(seen.failed == (queue ? 0 : 2));
        CHECK(mail_send_flush_queue(s, false) == (queue ? MAIL_ERR_TEMP
                                                        : MAIL_OK));
        mail_sender_free(s);
        close(fd);
    }
    mail_config_release(&cfg);
}

/* No smtp in the account: a configuration error, never queued. */
static void test_no_smtp(void)
{
    struct mail_config cfg;
    struct mail_account *a;
    const char *rcpts[] = { "bob@example.test" };
    struct mail_send_envelope env = { .from = "alice@example.test",
                                      .rcpts = rcpts, .nrcpts = 1 };
    struct seen seen = { 0 };
    struct mail_send_outcome oc;
    struct mail_error err;
    struct mail_sender *s;
    int fd;

    memset(&cfg, 0, sizeof cfg);
    a = account(&cfg, "[account \"t\"]\n    address = alice@example.test\n");
    CHECK(a != NULL);
    if (!a)
        return;
    {
        struct mail_sender_opts so = { .acct = a, .queue = true,
                                       .event = on_event,
                                       .event_arg = &seen };

        s = mail_sender_new(&so, &err);
    }
    fd = open("/dev/null", O_RDONLY);
    CHECK(mail_send_message(s, fd, 0, &env, &oc) < 0);
    CHECK(oc.status == MAIL_ERR_CONFIG);
    CHECK(seen.failed == 1 && seen.queued == 0);
    mail_send_outcome_release(&oc);
    mail_sender_free(s);
    close(fd);
    mail_config_release(&cfg);
}

/* Where the Sent copy goes when sent-folder is not set: the server's
 * \Sent folder for an account with an IMAP server (not for Gmail, which
 * files one itself); nothing without one.  Set, it is what it says. */
static void test_sent_kind_default(void)
{
    static const struct {
        const char *keys;
        enum mail_sent_kind kind;
        const char *imap_name;
    } cases[] = {
        { "", MAIL_SENT_NONE, NULL },
        { "    imap = imaps://imap.example.test\n", MAIL_SENT_IMAP, "" },
        { "    pop3 = pop3s://pop.example.test\n", MAIL_SENT_NONE, NULL },
        { "    imap = imaps://imap.example.test\n"
          "    sent-folder = none\n", MAIL_SENT_NONE, NULL },
        { "    imap = imaps://imap.example.test\n"
          "    sent-folder = imap:Gesendet\n", MAIL_SENT_IMAP, "Gesendet" },
        { "    imap = imaps://imap.example.test\n"
          "    sent-folder = =Sent\n", MAIL_SENT_LOCAL, NULL },
        { "    imap = imaps://imap.gmail.com\n    auth = oauth2\n"
          "    oauth2-provider = google\n"
          "    oauth2-client-id = x\n", MAIL_SENT_NONE, NULL },
        { "    imap = imaps://imap.gmail.com\n    auth = oauth2\n"
          "    oauth2-provider = google\n    oauth2-client-id = x\n"
          "    sent-folder = imap:\n", MAIL_SENT_IMAP, "" },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mail_config cfg;
        struct mail_account *a;
        const char *name = "unset";
        char text[600];

        memset(&cfg, 0, sizeof cfg);
        snprintf(text, sizeof text, "[account \"t\"]\n"
                 "    address = alice@example.test\n%s", cases[i].keys);
        a = account(&cfg, text);
        CHECK(a != NULL);
        if (!a)
            continue;
        CHECK(mail_sent_kind(a, &name) == cases[i].kind);
        if (cases[i].imap_name)
            CHECK(name && strcmp(name, cases[i].imap_name) == 0);
        else
            CHECK(name == NULL);
        mail_config_release(&cfg);
    }
}

int main(void)
{
    setup();
    RUN(test_rcpts_args);
    RUN(test_rcpts_refused);
    RUN(test_whole_message);
    RUN(test_whole_attach);
    RUN(test_connection_lost_flag);
    RUN(test_unreachable);
    RUN(test_no_smtp);
    RUN(test_sent_kind_default);
    {
        char cmd[300];

        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        if (system(cmd) != 0)
            printf("# could not remove %s\n", root);
    }
    mail_paths_release(&paths);
    return test_done();
}
