/*
 * test_imapcache.c - the listing cache file of imap: folders
 * (store/imapcache.c): a round trip keeps every field, and a file that is
 * truncated, has any bit flipped, is of another version, or belongs to
 * another account or folder loads as empty; two writers at once leave a
 * whole file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mail/imapcache.h"
#include "test.h"

static char dir[] = "/tmp/test_imapcache.XXXXXX";

static char *path_of(const char *name)
{
    char *p = NULL;

    if (asprintf(&p, "%s/%s", dir, name) < 0)
        abort();
    return p;
}

static void fill(struct mail_imap_cache *c, size_t n)
{
    c->uidvalidity = 1234;
    c->uidnext = (uint32_t)(3 * n + 10);
    c->highestmodseq = 99999;
    for (size_t i = 0; i < n; i++) {
        struct mail_envelope *e = mail_imap_cache_push(c, NULL);
        char b[64];

        e->uid = (uint32_t)(3 * i + 2);
        snprintf(b, sizeof b, "1234:%u", (unsigned)e->uid);
        e->key = strdup(b);
        e->flags = MAIL_FLAG_SEEN | (i % 2 ? MAIL_FLAG_FLAGGED : 0);
        e->size = 1000 + i;
        e->received = 1700000000 + (time_t)i;
        e->date = 1600000000 - (time_t)i;
        e->date_offset = -420;
        e->has_date = i != 1;
        e->attachments = (unsigned)(i % 3);
        snprintf(b, sizeof b, "=?utf-8?q?J=C3=BCrgen?= %zu <j@x>", i);
        e->from = strdup(b);
        e->to = strdup("alice@example.test");
        e->cc = i == 2 ? strdup("") : NULL;
        snprintf(b, sizeof b, "subject %zu", i);
        e->subject = strdup(b);
        e->message_id = strdup("<m@x>");
        e->in_reply_to = i ? strdup("<p@x>") : NULL;
        e->references = i ? strdup("<a@x> <p@x>") : NULL;
        e->content_type = i % 3 ? strdup("multipart/mixed") : NULL;
        c->modseq[i] = 500 + i;
    }
}

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same(const struct mail_imap_cache *a,
                 const struct mail_imap_cache *b)
{
    if (a->uidvalidity != b->uidvalidity || a->uidnext != b->uidnext ||
        a->highestmodseq != b->highestmodseq || a->list.n != b->list.n)
        return false;
    for (size_t i = 0; i < a->list.n; i++) {
        const struct mail_envelope *x = &a->list.v[i], *y = &b->list.v[i];

        if (x->uid != y->uid || x->flags != y->flags || x->size != y->size ||
            x->received != y->received || x->date != y->date ||
            x->date_offset != y->date_offset || x->has_date != y->has_date ||
            x->attachments != y->attachments ||
            a->modseq[i] != b->modseq[i] || !same_str(x->key, y->key) ||
            !same_str(x->from, y->from) || !same_str(x->to, y->to) ||
            !same_str(x->cc, y->cc) || !same_str(x->subject, y->subject) ||
            !same_str(x->message_id, y->message_id) ||
            !same_str(x->in_reply_to, y->in_reply_to) ||
            !same_str(x->references, y->references) ||
            !same_str(x->content_type, y->content_type))
            return false;
    }
    return true;
}

static unsigned char *slurp(const char *p, size_t *len)
{
    FILE *f = fopen(p, "rb");
    unsigned char *d = malloc(1 << 20);

    *len = f ? fread(d, 1, 1 << 20, f) : 0;
    if (f)
        fclose(f);
    return d;
}

static void spit(const char *p, const unsigned char *d, size_t len)
{
    FILE *f = fopen(p, "wb");

    if (f) {
        fwrite(d, 1, len, f);
        fclose(f);
    }
}

static void test_round_trip(void)
{
    struct mail_imap_cache a = MAIL_IMAP_CACHE_INIT, b = MAIL_IMAP_CACHE_INIT;
    struct mail_error err;
    char *p = path_of("sub/acct/INBOX.cache");

    mail_error_clear(&err);
    fill(&a, 5);
    CHECK(mail_imap_cache_save(&a, p, "acct", "INBOX", &err) == 0);
    CHECK(mail_imap_cache_load(&b, p, "acct", "INBOX", &err) == 1);
    CHECK(same(&a, &b));
    /* an empty folder is a valid cache too */
    mail_imap_cache_release(&a);
    a.uidvalidity = 7;
    a.uidnext = 1;
    CHECK(mail_imap_cache_save(&a, p, "acct", "INBOX", &err) == 0);
    CHECK(mail_imap_cache_load(&b, p, "acct", "INBOX", &err) == 1);
    CHECK(b.uidvalidity == 7 && b.list.n == 0);
    /* a missing file: empty, not an error */
    CHECK(mail_imap_cache_load(&b, "/nonexistent/x.cache", "acct", "INBOX",
                               &err) == 0);
    CHECK(b.uidvalidity == 0 && b.list.n == 0);
    mail_imap_cache_release(&a);
    mail_imap_cache_release(&b);
    free(p);
}

static void test_foreign(void)
{
    struct mail_imap_cache a = MAIL_IMAP_CACHE_INIT, b = MAIL_IMAP_CACHE_INIT;
    struct mail_error err;
    char *p = path_of("foreign.cache");
    unsigned char *d;
    size_t len;

    mail_error_clear(&err);
    fill(&a, 3);
    CHECK(mail_imap_cache_save(&a, p, "acct", "INBOX", &err) == 0);
    CHECK(mail_imap_cache_load(&b, p, "other", "INBOX", &err) == 0);
    CHECK(b.list.n == 0 && b.uidvalidity == 0);
    CHECK(mail_imap_cache_load(&b, p, "acct", "Archive", &err) == 0);
    CHECK(b.list.n == 0);
    /* another version, with a checksum that matches (version is in the
     * fixed header, outside the checksum) */
    d = slurp(p, &len);
    d[8] = 2;
    spit(p, d, len);
    CHECK(mail_imap_cache_load(&b, p, "acct", "INBOX", &err) == 0);
    CHECK(b.list.n == 0);
    /* not a cache at all */
    spit(p, (const unsigned char *)"hello", 5);
    CHECK(mail_imap_cache_load(&b, p, "acct", "INBOX", &err) == 0);
    free(d);
    mail_imap_cache_release(&a);
    mail_imap_cache_release(&b);
    free(p);
}

static void test_damaged(void)
{
    struct mail_imap_cache a = MAIL_IMAP_CACHE_INIT, b = MAIL_IMAP_CACHE_INIT;
    struct mail_error err;
    char *p = path_of("damaged.cache");
    unsigned char *d;
    size_t len, bad = 0;

    mail_error_clear(&err);
    fill(&a, 4);
    CHECK(mail_imap_cache_save(&a, p, "acct", "INBOX", &err) == 0);
    d = slurp(p, &len);
    CHECK(len > 100);
    /* every truncation */
    for (size_t cut = 0; cut < len; cut++) {
        spit(p, d, cut);
        if (mail_imap_cache_load(&b, p, "acct", "INBOX", &err) != 0 ||
            b.list.n || b.uidvalidity)
            bad++;
    }
    CHECK(bad == 0);
    /* one more byte at the end */
    {
        unsigned char *e = malloc(len + 1);

        memcpy(e, d, len);
        e[len] = 0;
        spit(p, e, len + 1);
        CHECK(mail_imap_cache_load(&b, p, "acct", "INBOX", &err) == 0);
        free(e);
    }
    /* every single bit flipped */
    for (size_t i = 0; i < len; i++)
        for (int bit = 0; bit < 8; bit++) {
            d[i] ^= (unsigned char)(1u << bit);
            spit(p, d, len);
            if (mail_imap_cache_load(&b, p, "acct", "INBOX", &err) != 0 ||
                b.list.n)
                bad++;
            d[i] ^= (unsigned char)(1u << bit);
        }
    CHECK(bad == 0);
    /* and the file itself is still good */
    spit(p, d, len);
    CHECK(mail_imap_cache_load(&b, p, "acct", "INBOX", &err) == 1);
    CHECK(same(&a, &b));
    free(d);
    mail_imap_cache_release(&a);
    mail_imap_cache_release(&b);
    free(p);
}

/* Two processes writing different caches at once, many times: the file
 * is always one or the other, whole. */
static void test_concurrent(void)
{
    struct mail_imap_cache a = MAIL_IMAP_CACHE_INIT, b = MAIL_IMAP_CACHE_INIT,
                           x = MAIL_IMAP_CACHE_INIT;
    struct mail_error err;
    char *p = path_of("conc/acct/INBOX.cache");
    pid_t kid[2];
    size_t bad = 0;

    mail_error_clear(&err);
    fill(&a, 50);
    fill(&b, 200);
    b.uidvalidity = 1234;
    for (int k = 0; k < 2; k++) {
        kid[k] = fork();
        if (kid[k] == 0) {
            for (int i = 0; i < 40; i++)
                mail_imap_cache_save(k ? &b : &a, p, "acct", "INBOX", NULL);
            _exit(0);
        }
    }
    for (int i = 0; i < 200; i++) {
        int r = mail_imap_cache_load(&x, p, "acct", "INBOX", &err);

        if (r == 1 && !same(&x, &a) && !same(&x, &b))
            bad++;
    }
    for (int k = 0; k < 2; k++)
        waitpid(kid[k], NULL, 0);
    CHECK(bad == 0);
    CHECK(mail_imap_cache_load(&x, p, "acct", "INBOX", &err) == 1);
    CHECK(same(&x, &a) || same(&x, &b));
    mail_imap_cache_release(&a);
    mail_imap_cache_release(&b);
    mail_imap_cache_release(&x);
    free(p);
}

static void test_file_name(void)
{
    struct mail_paths paths = MAIL_PATHS_INIT;
    struct mail_error err;
    char *f;

    mail_error_clear(&err);
    paths.cache_home = (char *)"/c";
    f = mail_imap_cache_file(&paths, "work mail", "Lists/dév", &err);
    CHECK_STR(f, "/c/mail/imap/work%20mail/Lists%2Fd%C3%A9v.cache");
    free(f);
    f = mail_imap_cache_file(&paths, "..", ".x", &err);
    CHECK_STR(f, "/c/mail/imap/%2E./%2Ex.cache");
    free(f);
    paths.cache_home = NULL;
    CHECK(mail_imap_cache_file(&paths, "a", "b", &err) == NULL);
}

/* APPENDUID: the appended message's envelope from its bytes, in its
 * place by UID; another UIDVALIDITY or a known UID changes nothing. */
static void test_add_fd(void)
{
    static const char msg[] =
        "From: =?utf-8?q?J=C3=BCrgen?= <j@x>\n"
        "To: alice@example.test\r\n"
        "Subject: appended\n"
        "Message-ID: <ap@x>\n"
        "Date: Mon, 1 Dec 2025 10:00:00 +0000\n"
        "Content-Type: Multipart/Mixed; boundary=b\n"
        "\n"
        "--b\n"
        "Content-Type: text/plain\n\nhi\n"
        "--b\n"
        "Content-Type: application/pdf\n"
        "Content-Disposition: attachment; filename=r.pdf\n\nxx\n"
        "--b--\n";
    struct mail_imap_cache c = MAIL_IMAP_CACHE_INIT;
    struct mail_error err;
    char *file = path_of("add.cache");
    size_t lf = 0;
    int fd;
    FILE *fp;

    for (const char *p = msg; *p; p++)
        lf += *p == '\n' && (p == msg || p[-1] != '\r');
    fp = fopen(file, "w+");
    CHECK(fp != NULL);
    if (!fp)
        return;
    fputs("XXXX", fp);            /* the message starts at 4 */
    fputs(msg, fp);
    fflush(fp);
    fd = fileno(fp);
    lseek(fd, 1, SEEK_SET);
    mail_error_clear(&err);
    fill(&c, 4);                   /* UIDs 2 5 8 11 */
    CHECK(mail_imap_cache_add_fd(&c, 1234, 6, MAIL_FLAG_SEEN | MAIL_FLAG_NEW,
                                 1700000000, fd, 4, &err) == 1);
    CHECK(lseek(fd, 0, SEEK_CUR) == 1);
    CHECK(c.list.n == 5);
    CHECK(c.list.v[1].uid == 5 && c.list.v[2].uid == 6 &&
          c.list.v[3].uid == 8);
    CHECK(c.modseq[2] == 0 && c.modseq[3] == 502);
    CHECK_STR(c.list.v[2].key, "1234:6");
    CHECK_STR(c.list.v[2].subject, "appended");
    CHECK_STR(c.list.v[2].message_id, "<ap@x>");
    CHECK_STR(c.list.v[2].content_type, "multipart/mixed");
    CHECK(c.list.v[2].attachments == 1);
    CHECK(c.list.v[2].flags == MAIL_FLAG_SEEN);
    CHECK(c.list.v[2].received == 1700000000);
    CHECK(c.list.v[2].has_date && c.list.v[2].date == 1764583200);
    CHECK(c.list.v[2].size == strlen(msg) + lf);
    /* at the end too; known, or another UIDVALIDITY: nothing */
    CHECK(mail_imap_cache_add_fd(&c, 1234, 20, 0, 0, fd, 4, &err) == 1);
    CHECK(c.list.n == 6 && c.list.v[5].uid == 20);
    CHECK(c.list.v[5].received > 1700000000);
    CHECK(mail_imap_cache_add_fd(&c, 1234, 6, 0, 0, fd, 4, &err) == 0);
    CHECK(mail_imap_cache_add_fd(&c, 99, 30, 0, 0, fd, 4, &err) == 0);
    CHECK(c.list.n == 6);
    /* the file form: loaded, added, written back */
    CHECK(mail_imap_cache_save(&c, file, "acct", "Sent", &err) == 0);
    {
        struct mail_paths paths;
        char *cf;

        memset(&paths, 0, sizeof paths);
        paths.cache_home = dir;
        cf = mail_imap_cache_file(&paths, "acct", "Sent", &err);
        CHECK(cf != NULL);
        CHECK(mail_imap_cache_save(&c, cf, "acct", "Sent", &err) == 0);
        CHECK(mail_imap_cache_file_add_fd(&paths, "acct", "Sent", 1234, 21,
                                          0, 0, fd, 4, &err) == 1);
        CHECK(mail_imap_cache_file_add_fd(&paths, "acct", "Other", 1234, 22,
                                          0, 0, fd, 4, &err) == 0);
        mail_imap_cache_release(&c);
        CHECK(mail_imap_cache_load(&c, cf, "acct", "Sent", &err) == 1);
        CHECK(c.list.n == 7 && c.list.v[6].uid == 21);
        CHECK_STR(c.list.v[6].subject, "appended");
        free(cf);
    }
    mail_imap_cache_release(&c);
    fclose(fp);
    free(file);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    RUN(test_round_trip);
    RUN(test_foreign);
    RUN(test_damaged);
    RUN(test_concurrent);
    RUN(test_file_name);
    RUN(test_add_fd);
    {
        char cmd[128];

        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0)
            return 1;
    }
    return test_done();
}
