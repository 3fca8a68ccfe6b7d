/* test_reading.c - a message of a folder read and one part written out
 * (mail/reading.h): what mail read --part/--save and the reader's v
 * share. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/reading.h"
#include "test.h"
#include "fixture.h"

#define MSG "From: a@x\nSubject: parts\nMIME-Version: 1.0\n" \
    "Content-Type: multipart/mixed; boundary=\"b1\"\n\n" \
    "--b1\nContent-Type: text/plain\n\nthe text\n" \
    "--b1\nContent-Type: application/x-test; name=\"../../data.bin\"\n" \
    "Content-Disposition: attachment; filename=\"../../data.bin\"\n" \
    "Content-Transfer-Encoding: base64\n\naGVsbG8gd29ybGQK\n" \
    "--b1--\n"

static char *slurp_fd(int fd)
{
    struct mail_buf b = MAIL_BUF_INIT;
    char buf[512];
    ssize_t n;

    while ((n = read(fd, buf, sizeof buf)) > 0)
        mail_buf_add(&b, buf, (size_t)n);
    if (!b.data)
        mail_buf_addstr(&b, "");
    return mail_buf_detach(&b);
}

static char *slurp(const char *path)
{
    int fd = open(path, O_RDONLY);
    char *s;

    if (fd < 0)
        return NULL;
    s = slurp_fd(fd);
    close(fd);
    return s;
}

static int count(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    if (!d)
        return -1;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* The message of a Maildir, read and parsed; a part found or not. */
static void test_open(struct mail_folder **fp, struct mail_envelope_list *l)
{
    struct mail_reading m = MAIL_READING_INIT;
    struct mail_error err;
    struct mail_folder *f;

    f = mail_folder_open(fixture_path("Mail"), MAIL_FOLDER_RDWR |
                         MAIL_FOLDER_CREATE, &fixture_paths, &err);
    CHECK(f != NULL);
    if (!f)
        return;
    fixture_write("Mail/cur/1.A.host:2,S", MSG);
    CHECK(mail_folder_list(f, l, 0, &err) == 0 && l->n == 1);
    *fp = f;
    if (l->n != 1)
        return;
    CHECK(mail_reading_open(f, &l->v[0], MAIL_FOLDER_READ_PART, "2", "1",
                            &m, &err) == 0);
    CHECK(m.fd >= 0 && m.mime != NULL);
    CHECK(mail_reading_part(&m, "2", "1", &err) != NULL);
    CHECK(mail_reading_part(&m, "9", "1", &err) == NULL);
    CHECK(err.kind == MAIL_ERR_NOTFOUND);
    CHECK_STR(err.msg, "message 1 has no part 9");
    mail_reading_release(&m);
    CHECK(m.fd == -1 && m.mime == NULL);
    /* READ_ALL: the bytes only */
    CHECK(mail_reading_open(f, &l->v[0], MAIL_FOLDER_READ_ALL, NULL, "1",
                            &m, &err) == 0);
    CHECK(m.fd >= 0 && m.mime == NULL);
    mail_reading_release(&m);
}

/* Saved: into a directory under a safe name (twice: a second name), into
 * a file never replaced; into a temporary file. */
static void test_save(struct mail_folder *f, struct mail_envelope *e)
{
    struct mail_reading m = MAIL_READING_INIT;
    const struct mail_part *p;
    struct mail_error err;
    char *saved = NULL, *s;
    int fd;

    CHECK(mail_reading_open(f, e, MAIL_FOLDER_READ_PART, "2", "1", &m,
                            &err) == 0);
    p = mail_reading_part(&m, "2", "1", &err);
    CHECK(p != NULL);
    if (!p)
        return;
    CHECK(mkdir(fixture_path("out"), 0700) == 0);
    CHECK(mail_reading_save_part(&m, p, fixture_path("out"), &saved,
                                 &err) == 0);
    CHECK_STR(saved, "data.bin");
    free(saved);
    CHECK(mail_reading_save_part(&m, p, fixture_path("out"), &saved,
                                 &err) == 0);
    CHECK_STR(saved, "data (1).bin");
    free(saved);
    s = slurp(fixture_path("out/data.bin"));
    CHECK_STR(s, "hello world\n");
    free(s);
    CHECK(mail_reading_save_part(&m, p, fixture_path("one.bin"), &saved,
                                 &err) == 0 && saved == NULL);
    s = slurp(fixture_path("one.bin"));
    CHECK_STR(s, "hello world\n");
    free(s);
    /* an existing file is not replaced */
    fixture_write("two.bin", "mine\n");
    CHECK(mail_reading_save_part(&m, p, fixture_path("two.bin"), &saved,
                                 &err) < 0 && err.kind == MAIL_ERR_CANTCREAT);
    s = slurp(fixture_path("two.bin"));
    CHECK_STR(s, "mine\n");
    free(s);
    CHECK(mail_reading_part_temp(&m, p, fixture_paths.tmp_dir, &fd,
                                 &err) == 0 && fd >= 0);
    s = fd >= 0 ? slurp_fd(fd) : NULL;
    CHECK_STR(s, "hello world\n");
    free(s);
    if (fd >= 0)
        close(fd);
    mail_reading_release(&m);
}

/* Opened with the mailcap entry: a copiousoutput one's output (the file
 * gone), a terminal one's shell command and file, no entry said. */
static void test_view(struct mail_folder *f, struct mail_envelope *e)
{
    struct mail_reading m = MAIL_READING_INIT;
    struct mail_part_view v = MAIL_PART_VIEW_INIT;
    const struct mail_part *p;
    struct mail_error err;
    char *s;
    int before;

    CHECK(mkdir(fixture_path("tmp"), 0700) == 0);
    before = count(fixture_path("tmp"));
    fixture_write("mc1", "application/x-test; tr a-z A-Z < %s; "
                         "copiousoutput\n");
    {
        char mc2[1200];

        snprintf(mc2, sizeof mc2, "application/x-test; cp %%s %s\n",
                 fixture_path("viewed"));
        fixture_write("mc2", mc2);
    }
    CHECK(mail_reading_open(f, e, MAIL_FOLDER_READ_PART, "2", "1", &m,
                            &err) == 0);
    p = mail_reading_part(&m, "2", "1", &err);
    CHECK(p != NULL);
    if (!p)
        return;
    CHECK(mail_reading_part_view(&m, p, fixture_path("mc1"), 5,
                                 fixture_path("tmp"), &v, &err) == 0);
    CHECK(v.copious && !v.command && v.fd < 0);
    CHECK_STR(v.output.data, "HELLO WORLD\n");
    CHECK(count(fixture_path("tmp")) == before);
    mail_part_view_release(&v);
    CHECK(mail_reading_part_view(&m, p, fixture_path("mc2"), 5,
                                 fixture_path("tmp"), &v, &err) == 0);
    CHECK(!v.copious && v.command && v.fd >= 0);
    /* the file keeps the part's extension, and is what the fd reads */
    CHECK(v.command && strstr(v.command, "XXXXXX") == NULL &&
          strstr(v.command, ".bin ") != NULL);
    s = v.fd >= 0 ? slurp_fd(v.fd) : NULL;
    CHECK_STR(s, "hello world\n");
    free(s);
    CHECK(count(fixture_path("tmp")) == before + 1);
    if (v.command)
        CHECK(system(v.command) == 0);   /* it removes the file */
    CHECK(count(fixture_path("tmp")) == before);
    s = slurp(fixture_path("viewed"));
    CHECK_STR(s, "hello world\n");
    free(s);
    mail_part_view_release(&v);
    CHECK(mail_reading_part_view(&m, p, fixture_path("nowhere"), 5,
                                 fixture_path("tmp"), &v, &err) < 0);
    CHECK(err.kind == MAIL_ERR_NOTFOUND);
    CHECK_STR(err.msg, "no mailcap entry for application/x-test");
    CHECK(count(fixture_path("tmp")) == before);
    mail_reading_release(&m);
}

/* A message file outside any folder: parsed, its envelope from the
 * header; a pipe copied first; a directory is 1; a missing file
 * NOTFOUND naming it. */
static void test_file(void)
{
    struct mail_reading m = MAIL_READING_INIT;
    struct mail_envelope e;
    struct mail_error err;
    int p[2];

    mail_error_clear(&err);
    fixture_write("plain.eml", "From: A <a@x>\nTo: b@x\nSubject: hi\n"
                  "Date: Mon, 1 Dec 2025 10:00:00 +0000\n"
                  "Message-ID: <1@x>\n\nbody\n");
    CHECK(mail_reading_open_file(fixture_path("plain.eml"), "plain.eml",
                                 fixture_paths.tmp_dir, true, &m, &err) == 0);
    CHECK(m.fd >= 0 && m.mime != NULL);
    if (m.mime) {
        mail_reading_file_envelope(&m, "plain.eml", &e);
        CHECK_STR(e.subject, "hi");
        CHECK_STR(e.from, "A <a@x>");
        CHECK_STR(e.message_id, "<1@x>");
        CHECK(e.has_date && e.size == 95 && e.flags == 0);
        CHECK(e.cc == NULL);
    }
    mail_reading_release(&m);
    /* --raw: not parsed */
    CHECK(mail_reading_open_file(fixture_path("plain.eml"), "plain.eml",
                                 NULL, false, &m, &err) == 0);
    CHECK(m.fd >= 0 && m.mime == NULL);
    mail_reading_release(&m);
    /* a pipe: copied, so it reads from 0 */
    CHECK(pipe(p) == 0);
    CHECK(write(p[1], "Subject: piped\n\nx\n", 19) == 19);
    close(p[1]);
    {
        char dev[64];

        snprintf(dev, sizeof dev, "/dev/fd/%d", p[0]);
        CHECK(mail_reading_open_file(dev, "piped", fixture_paths.tmp_dir,
                                     true, &m, &err) == 0);
    }
    close(p[0]);
    if (m.mime) {
        mail_reading_file_envelope(&m, "piped", &e);
        CHECK_STR(e.subject, "piped");
        CHECK(e.size == 19);
    }
    mail_reading_release(&m);
    CHECK(mail_reading_open_file(fixture_path("Mail"), "Mail", NULL, true,
                                 &m, &err) == 1);
    CHECK(m.fd == -1);
    CHECK(mail_reading_open_file(fixture_path("nope.eml"), "nope.eml", NULL,
                                 true, &m, &err) == -1);
    CHECK(err.kind == MAIL_ERR_NOTFOUND);
    CHECK(strstr(err.msg, "nope.eml: No such file or directory") != NULL);
}

/* Seen once shown: an unread message gets \Seen, a seen one is left. */
static void test_mark_seen(struct mail_folder *f, struct mail_envelope *e)
{
    struct mail_error err;
    unsigned before = e->flags;

    mail_error_clear(&err);
    CHECK(mail_reading_mark_seen(f, e, &err) == 0);
    CHECK(e->flags == before);      /* seen already: nothing to do */
    CHECK(mail_folder_set_flags(f, e, 0, MAIL_FLAG_SEEN, &err) == 0);
    CHECK(!(e->flags & MAIL_FLAG_SEEN));
    CHECK(mail_reading_mark_seen(f, e, &err) == 0);
    CHECK(e->flags & MAIL_FLAG_SEEN);
    CHECK(e->path && strstr(e->path, ":2,S") != NULL);
}

int main(void)
{
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct mail_folder *f = NULL;
    struct mail_error err;

    if (fixture_open("reading") < 0)
        return 1;
    test_current = "test_open";
    test_open(&f, &l);
    if (f && l.n == 1) {
        test_current = "test_save";
        test_save(f, &l.v[0]);
        test_current = "test_view";
        test_view(f, &l.v[0]);
        test_current = "test_mark_seen";
        test_mark_seen(f, &l.v[0]);
    }
    test_current = "test_file";
    test_file();
    mail_envelope_list_release(&l);
    if (f)
        mail_folder_close(f, &err);
    fixture_close();
    return test_done();
}
