/*
 * test_pop3.c - the POP3 listing parsers, and (when the test servers of
 * tests/servers/ run: MAIL_TEST_DIR or its env variables are set) a real
 * session with Dovecot: STAT, LIST, UIDL, pipelined RETR of every message
 * compared by SHA-256 with the Maildir files, TOP, DELE, QUIT.
 *
 *     tests/servers/start /tmp/srv && . /tmp/srv/env && meson test pop3
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "mail/pop3.h"
#include "test.h"

static void test_parse_list(void)
{
    unsigned n = 0;
    uint64_t sz = 0;

    CHECK(mail_pop3_parse_list_line("1 120", 5, &n, &sz) == 0 && n == 1 &&
          sz == 120);
    CHECK(mail_pop3_parse_list_line("17  5000000 extra", 17, &n, &sz) == 0 &&
          n == 17 && sz == 5000000);
    CHECK(mail_pop3_parse_list_line("0 12", 4, &n, &sz) < 0);
    CHECK(mail_pop3_parse_list_line("1", 1, &n, &sz) < 0);
    CHECK(mail_pop3_parse_list_line("1 ", 2, &n, &sz) < 0);
    CHECK(mail_pop3_parse_list_line("-1 2", 4, &n, &sz) < 0);
    CHECK(mail_pop3_parse_list_line("1 2x", 4, &n, &sz) < 0);
    CHECK(mail_pop3_parse_list_line("4294967296 2", 12, &n, &sz) < 0);
    CHECK(mail_pop3_parse_list_line("1 99999999999999999999", 22, &n,
                                    &sz) < 0);
    CHECK(mail_pop3_parse_list_line("", 0, &n, &sz) < 0);
}

static void test_parse_uidl(void)
{
    char uid[MAIL_POP3_UID_MAX + 1], long_uid[100];
    unsigned n = 0;

    CHECK(mail_pop3_parse_uidl_line("1 whqtswO00WBw418f9t5JxYwZ", 26, &n,
                                    uid) == 0 && n == 1);
    CHECK_STR(uid, "whqtswO00WBw418f9t5JxYwZ");
    CHECK(mail_pop3_parse_uidl_line("2 00000001a5b3c4d5 ", 19, &n, uid) == 0);
    CHECK_STR(uid, "00000001a5b3c4d5");
    CHECK(mail_pop3_parse_uidl_line("2 a b", 5, &n, uid) < 0);
    CHECK(mail_pop3_parse_uidl_line("2 ", 2, &n, uid) < 0);
    CHECK(mail_pop3_parse_uidl_line("2 a\tb", 5, &n, uid) < 0);
    CHECK(mail_pop3_parse_uidl_line("2 caf\xc3\xa9", 7, &n, uid) < 0);
    CHECK(mail_pop3_parse_uidl_line("0 x", 3, &n, uid) < 0);
    CHECK(mail_pop3_parse_uidl_line("x y", 3, &n, uid) < 0);
    memset(long_uid, 'u', sizeof long_uid);
    memcpy(long_uid, "3 ", 2);
    CHECK(mail_pop3_parse_uidl_line(long_uid, 2 + 70, &n, uid) == 0 &&
          strlen(uid) == 70);
    CHECK(mail_pop3_parse_uidl_line(long_uid, 2 + 71, &n, uid) < 0);
}

/* ---- against the real Dovecot of tests/servers ---- */

static void skip(const char *why)
{
    printf("ok %d - pop3 server # SKIP %s\n", ++test_count, why);
}

/* Export the variables of $MAIL_TEST_DIR/env ("export K=V" lines). */
static void load_env(void)
{
    const char *dir = getenv("MAIL_TEST_DIR");
    char path[4096], line[4096];
    FILE *f;

    if (getenv("MAIL_TEST_POP3S_PORT") || !dir)
        return;
    snprintf(path, sizeof path, "%s/env", dir);
    if (!(f = fopen(path, "r")))
        return;
    while (fgets(line, sizeof line, f)) {
        char *k = line, *eq;

        line[strcspn(line, "\n")] = '\0';
        if (strncmp(k, "export ", 7) == 0)
            k += 7;
        if (*k == '#' || !(eq = strchr(k, '=')))
            continue;
        *eq = '\0';
        setenv(k, eq + 1, 0);
    }
    fclose(f);
}

struct digest {
    unsigned char md[32];
};

static int cmp_digest(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(struct digest));
}

static void sha256(const void *data, size_t len, struct digest *d)
{
    unsigned int n = 0;

    EVP_Digest(data, len, d->md, &n, EVP_sha256(), NULL);
}

/* The messages the test puts into the Maildir. */
static char *make_message(int i, size_t *len)
{
    struct mail_buf b = MAIL_BUF_INIT;

    mail_buf_printf(&b, "From: Test <test@example.test>\nTo: alice@example."
                    "test\nSubject: pop3 test %d\nMessage-ID: <pop3-%d-%ld"
                    "@example.test>\n\n", i, i, (long)getpid());
    switch (i) {
    case 0:
        mail_buf_addstr(&b, ".\n..\n.leading dot\n..two dots\nFrom the start"
                        "\n>From quoted\n. \n.\tx\nend\n");
        break;
    case 1:
        break;   /* an empty body */
    case 2:      /* about 5 MB, with dotted lines and a long line */
        for (int l = 0; b.len < 5u * 1000 * 1000; l++) {
            if (l % 7 == 0)
                mail_buf_printf(&b, ".%d.\n", l);
            else if (l == 1000) {
                for (int k = 0; k < 400; k++)
                    mail_buf_addstr(&b, "0123456789abcdefghijklmnopqrstuv"
                                    "wxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!!");
                mail_buf_addch(&b, '\n');   /* one 25600-byte line */
            } else
                mail_buf_printf(&b, "line %d of a big message, some text "
                                "to fill it up: %08x\n", l, l * 2654435761u);
        }
        break;
    default:
        mail_buf_printf(&b, "body %d\n.\n", i);
        break;
    }
    *len = b.len;
    return mail_buf_detach(&b);
}

static int write_message(const char *maildir, int i, const struct stat *st)
{
    char tmp[4096], dst[4096];
    size_t len;
    char *m = make_message(i, &len);
    int fd, ok;

    snprintf(tmp, sizeof tmp, "%s/tmp/%ld.P%dQ%d.pop3test", maildir,
             (long)time(NULL), (int)getpid(), i);
    snprintf(dst, sizeof dst, "%s/new/%ld.P%dQ%d.pop3test", maildir,
             (long)time(NULL), (int)getpid(), i);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
    ok = fd >= 0 && write(fd, m, len) == (ssize_t)len &&
         fchown(fd, st->st_uid, st->st_gid) == 0;
    if (fd >= 0)
        close(fd);
    free(m);
    return ok && rename(tmp, dst) == 0 ? 0 : -1;
}

/* Remove the messages an earlier run left (named *.pop3test*). */
static void remove_old(const char *maildir)
{
    static const char *const subs[] = { "new", "cur" };

    for (int k = 0; k < 2; k++) {
        char path[4096], file[4096 + 512];
        DIR *d;
        struct dirent *e;

        snprintf(path, sizeof path, "%s/%s", maildir, subs[k]);
        if (!(d = opendir(path)))
            continue;
        while ((e = readdir(d)))
            if (strstr(e->d_name, ".pop3test")) {
                snprintf(file, sizeof file, "%s/%s", path, e->d_name);
                unlink(file);
            }
        closedir(d);
    }
}

/* Digests of every message file of the Maildir (new/ and cur/). */
static size_t maildir_digests(const char *maildir, struct digest *out,
                              size_t max)
{
    static const char *const subs[] = { "new", "cur" };
    size_t n = 0;

    for (int k = 0; k < 2; k++) {
        char path[4096];
        DIR *d;
        struct dirent *e;

        snprintf(path, sizeof path, "%s/%s", maildir, subs[k]);
        if (!(d = opendir(path)))
            continue;
        while ((e = readdir(d)) && n < max) {
            struct mail_buf b = MAIL_BUF_INIT;
            char file[4096 + 512], chunk[65536];
            ssize_t got;
            int fd;

            if (e->d_name[0] == '.')
                continue;
            snprintf(file, sizeof file, "%s/%s", path, e->d_name);
            if ((fd = open(file, O_RDONLY)) < 0)
                continue;
            while ((got = read(fd, chunk, sizeof chunk)) > 0)
                mail_buf_add(&b, chunk, (size_t)got);
            close(fd);
            sha256(b.data ? b.data : "", b.len, &out[n++]);
            mail_buf_release(&b);
        }
        closedir(d);
    }
    return n;
}

struct fetch {
    EVP_MD_CTX *md;
    struct digest *got;
    size_t ngot, begun;
};

static int sink_sha(void *ctx, const char *data, size_t len,
                    struct mail_error *err)
{
    if (EVP_DigestUpdate(ctx, data, len) == 1)
        return 0;
    return mail_error_set(err, MAIL_ERR_INTERNAL, "sha256 failed");
}

static int on_begin(void *ctx, size_t i, mail_sink_fn *sink, void **sink_ctx,
                    struct mail_error *err)
{
    struct fetch *f = ctx;

    (void)err;
    if (i != f->begun++)
        return -1;
    EVP_DigestInit_ex(f->md, EVP_sha256(), NULL);
    *sink = sink_sha;
    *sink_ctx = f->md;
    return 0;
}

static int on_end(void *ctx, size_t i, const struct mail_reply *refused,
                  struct mail_error *err)
{
    struct fetch *f = ctx;
    unsigned int n = 0;

    (void)i;
    (void)err;
    if (refused)
        return -1;
    EVP_DigestFinal_ex(f->md, f->got[f->ngot++].md, &n);
    return 0;
}

/* For the mixed batch: count bodies and refusals, go on after -ERR. */
struct tally {
    struct mail_buf body;
    size_t ok, refused;
};

static int tally_begin(void *ctx, size_t i, mail_sink_fn *sink,
                       void **sink_ctx, struct mail_error *err)
{
    struct tally *t = ctx;

    (void)i;
    (void)err;
    mail_buf_reset(&t->body);
    *sink = mail_sink_buf;
    *sink_ctx = &t->body;
    return 0;
}

static int tally_end(void *ctx, size_t i, const struct mail_reply *refused,
                     struct mail_error *err)
{
    struct tally *t = ctx;

    if (refused) {
        t->refused += i == 1 && strstr(err->msg, "RETR 9999");
        return 0;
    }
    t->ok += t->body.len > 0;
    return 0;
}

static struct mail_session *login(const struct mail_server *srv,
                                  struct mail_error *err)
{
    struct mail_session *s = mail_pop3_open(srv, err);

    if (s && mail_pop3_login(s, getenv("MAIL_TEST_PASS1"), err) < 0) {
        mail_session_free(s);
        s = NULL;
    }
    return s;
}

static void test_server(void)
{
    const char *maildir, *port;
    struct mail_server srv;
    struct mail_error err;
    struct mail_session *s;
    struct mail_pop3_msgs m = MAIL_POP3_MSGS_INIT;
    struct digest want[64], got[64];
    struct fetch f = { 0 };
    struct mail_buf top = MAIL_BUF_INIT, raw = MAIL_BUF_INIT;
    struct stat st;
    char deleted_uid[MAIL_POP3_UID_MAX + 1];
    unsigned count = 0, msgno;
    uint64_t total = 0;
    size_t nwant, ndup = 99, refused = 99;
    int nmsg = 12;

    load_env();
    maildir = getenv("MAIL_TEST_MAILDIR1");
    port = getenv("MAIL_TEST_POP3S_PORT");
    if (!maildir || !port || !getenv("MAIL_TEST_PASS1")) {
        skip("no test servers (set MAIL_TEST_DIR; see tests/servers/start)");
        return;
    }
    if (stat(maildir, &st) < 0 || (geteuid() != 0 && geteuid() != st.st_uid)) {
        skip("cannot write to the test Maildir");
        return;
    }
    remove_old(maildir);
    for (int i = 0; i < nmsg; i++)
        if (write_message(maildir, i, &st) < 0) {
            skip("cannot write to the test Maildir");
            return;
        }
    nwant = maildir_digests(maildir, want, 64);
    CHECK(nwant >= (size_t)nmsg && nwant < 64);

    memset(&srv, 0, sizeof srv);
    srv.proto = MAIL_PROTO_POP3;
    srv.host = getenv("MAIL_TEST_HOST");
    srv.port = (unsigned)atoi(port);
    srv.tls = MAIL_TLS_IMPLICIT;
    srv.timeout = 30;
    srv.ca_file = getenv("MAIL_TEST_CA");
    srv.user = getenv("MAIL_TEST_USER1");
    mail_error_clear(&err);
    s = login(&srv, &err);
    CHECK(s != NULL);
    if (!s) {
        printf("# %s\n", err.msg);
        return;
    }
    CHECK(mail_pop3_can_pipeline(s));
    CHECK(mail_pop3_stat(s, &count, &total, &err) == 0);
    CHECK(count == nwant && total > 5000000);
    CHECK(mail_pop3_list(s, &m, &err) == 0);
    CHECK(mail_pop3_uidl(s, &m, &ndup, &err) == 0);
    CHECK(m.n == nwant && ndup == 0);
    for (size_t i = 0; i < m.n; i++)
        CHECK(m.v[i].msgno == i + 1 && m.v[i].uid[0] && m.v[i].size > 0);

    /* Every message, pipelined, LF line ends: the Maildir files. */
    f.md = EVP_MD_CTX_new();
    f.got = got;
    {
        static const struct mail_pop3_retr_ops ops = { on_begin, on_end };
        int rc = mail_pop3_retr_many(s, m.v, m.n, true, &ops, &f, &err);

        CHECK(rc == 0);
        if (rc)
            printf("# %s\n", err.msg);
    }
    CHECK(f.ngot == nwant);
    qsort(want, nwant, sizeof *want, cmp_digest);
    qsort(got, f.ngot, sizeof *got, cmp_digest);
    CHECK(f.ngot == nwant && memcmp(want, got, nwant * sizeof *want) == 0);
    EVP_MD_CTX_free(f.md);

    /* A batch with a refused message in the middle, pipelined and then
     * one at a time (as with a server without PIPELINING). */
    for (int pass = 0; pass < 2; pass++) {
        static const struct mail_pop3_retr_ops ops = { tally_begin,
                                                       tally_end };
        struct mail_pop3_msg batch[3] = { m.v[0], m.v[0], m.v[1] };
        struct tally t = { MAIL_BUF_INIT, 0, 0 };

        batch[1].msgno = 9999;
        if (pass == 1)
            mail_buf_reset(&s->caps);
        CHECK(mail_pop3_can_pipeline(s) == (pass == 0));
        CHECK(mail_pop3_retr_many(s, batch, 3, false, &ops, &t, &err) == 0);
        CHECK(t.ok == 2 && t.refused == 1);
        mail_buf_release(&t.body);
    }

    /* One again, raw: CRLF, and the size LIST announced. */
    CHECK(mail_pop3_retr(s, 1, 0, false, mail_sink_buf, &raw, &err) == 0);
    CHECK(raw.len == m.v[0].size);
    CHECK(raw.len >= 2 && memcmp(raw.data + raw.len - 2, "\r\n", 2) == 0);
    /* TOP 0: the header and the blank line. */
    CHECK(mail_pop3_top(s, 1, 0, 0, true, mail_sink_buf, &top, &err) == 0);
    CHECK(top.len > 10 && strstr(top.data, "\n\n") == top.data + top.len - 2 &&
          memcmp(top.data, raw.data, 5) == 0);
    /* A message that does not exist: -ERR, and the session goes on. */
    CHECK(mail_pop3_retr(s, 9999, 0, true, mail_sink_buf, &top, &err) == 1);
    CHECK(err.kind == MAIL_ERR_UNAVAIL && strstr(err.msg, "RETR 9999"));
    CHECK(mail_pop3_noop(s, &err) == 0);
    /* DELE then RSET undoes it; DELE for real, a refused one, QUIT. */
    CHECK(mail_pop3_dele(s, 2, &err) == 0);
    CHECK(mail_pop3_dele(s, 2, &err) == 1);
    CHECK(mail_pop3_rset(s, &err) == 0);
    msgno = m.v[nwant - 1].msgno;
    memcpy(deleted_uid, m.v[nwant - 1].uid, sizeof deleted_uid);
    {
        unsigned del[2] = { msgno, 9999 };

        CHECK(mail_pop3_dele_many(s, del, 2, &refused, &err) == 1);
        CHECK(refused == 1 && strstr(err.msg, "DELE 9999"));
    }
    mail_pop3_quit(s);

    s = login(&srv, &err);
    CHECK(s != NULL);
    if (s) {
        mail_pop3_msgs_release(&m);
        CHECK(mail_pop3_uidl(s, &m, NULL, &err) == 0);
        CHECK(m.n == nwant - 1);
        for (size_t i = 0; i < m.n; i++)
            CHECK(strcmp(m.v[i].uid, deleted_uid) != 0);
        mail_pop3_quit(s);
    }
    mail_pop3_msgs_release(&m);
    mail_buf_release(&top);
    mail_buf_release(&raw);
}

int main(void)
{
    RUN(test_parse_list);
    RUN(test_parse_uidl);
    RUN(test_server);
    return test_done();
}
