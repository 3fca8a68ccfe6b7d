/*
 * test_render.c - the calls of render.h that --raw, --part and --save of
 * `mail read` and the reader's attachment menu share (lib/msg/parts.c):
 * safe file names from hostile part names, saving never outside the
 * directory and never over a file, a part decoded to a sink (exact, or
 * terminal-safe), the whole message, spooling a pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mail/buf.h"
#include "mail/fsutil.h"
#include "mail/mime.h"
#include "mail/render.h"
#include "test.h"

/* A message in an unlinked temporary file, read from offset 0. */
static int msg_fd(const char *text)
{
    int fd = mail_tmpfile(NULL, NULL);

    if (fd < 0 || mail_write_all(fd, text, strlen(text)) < 0)
        return -1;
    lseek(fd, 0, SEEK_SET);
    return fd;
}

static char tmpdir_path[256];

static int make_dir(void)
{
    const char *t = getenv("TMPDIR");

    mail_snprintf(tmpdir_path, sizeof tmpdir_path, "%s/test_render.XXXXXX",
                  t && *t ? t : "/tmp");
    if (!mkdtemp(tmpdir_path))
        return -1;
    return open(tmpdir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void remove_dir(int dirfd)
{
    char cmd[400];

    close(dirfd);
    mail_snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir_path);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", tmpdir_path);
}

/* The part with a given file name parameter, for save_name. */
static const struct mail_part *part_named(struct mail_mime **m,
                                          const char *name)
{
    char msg[1024];

    mail_snprintf(msg, sizeof msg,
                  "Content-Type: application/octet-stream; name=\"%s\"\r\n"
                  "Content-Disposition: attachment\r\n\r\nx\r\n", name);
    *m = mail_mime_parse_mem(msg, strlen(msg), NULL, NULL);
    return *m ? mail_mime_root(*m) : NULL;
}

static void check_name(const char *raw, const char *want)
{
    struct mail_mime *m;
    const struct mail_part *p = part_named(&m, raw);
    char *stem = NULL, *ext = NULL, full[600];

    CHECK(p != NULL);
    if (!p)
        return;
    CHECK(mail_render_save_name(p, &stem, &ext) == 0);
    mail_snprintf(full, sizeof full, "%s%s", stem ? stem : "?",
                  ext ? ext : "?");
    CHECK_STR(full, want);
    CHECK(strchr(full, '/') == NULL);
    for (const char *c = full; *c; c++)
        CHECK((unsigned char)*c >= 0x20 && *c != 0x7f);
    free(stem);
    free(ext);
    mail_mime_free(m);
}

static void test_hostile_names(void)
{
    check_name("report.pdf", "report.pdf");
    check_name("../../etc/passwd", "passwd");
    check_name("/etc/shadow", "shadow");
    check_name("..\\\\..\\\\win.ini", "win.ini");
    check_name("..", "attachment-1.bin");
    check_name("../", "attachment-1.bin");
    check_name("", "attachment-1.bin");
    check_name("   ", "attachment-1.bin");
    check_name(".bashrc", "bashrc");
    check_name("-rf", "rf");
    check_name("a\x1b[31mred\x07.txt", "a_[31mred_.txt");
    check_name("evil\xe2\x80\xaetxt.exe", "evil_txt.exe");
}

/* A message with a text part and two attachments: one whose name tries
 * to leave the directory, one with no name at all. */
static const char two_parts[] =
    "From: a@example.com\r\n"
    "Subject: parts\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=B\r\n"
    "\r\n"
    "--B\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Hello \x1b]0;title\x07world\r\n"
    "--B\r\n"
    "Content-Type: application/octet-stream; name=\"../../escape.bin\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "AAECAwQF\r\n"
    "--B\r\n"
    "Content-Type: image/png\r\n"
    "Content-Disposition: attachment\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "iVBORw==\r\n"
    "--B--\r\n";

struct saved_list {
    char names[8][300];
    int n, failures;
};

static int saved(void *ctx, const struct mail_part *p, int rc,
                 const char *name, const struct mail_error *err)
{
    struct saved_list *s = ctx;

    (void)p;
    (void)err;
    if (rc < 0) {
        s->failures++;
        return -1;
    }
    if (s->n < 8)
        mail_snprintf(s->names[s->n++], sizeof s->names[0], "%s", name);
    return 0;
}

static void read_at(int dirfd, const char *name, char *buf, size_t size,
                    ssize_t *len)
{
    int fd = openat(dirfd, name, O_RDONLY);

    *len = fd < 0 ? -1 : read(fd, buf, size);
    if (fd >= 0)
        close(fd);
}

static void test_save_all(void)
{
    int fd = msg_fd(two_parts), dirfd = make_dir();
    struct mail_error err;
    struct mail_mime *m = mail_render_parse(fd, "1", &err);
    struct saved_list s;
    char buf[64];
    ssize_t n;
    struct stat st;

    CHECK(m != NULL && dirfd >= 0);
    if (!m || dirfd < 0)
        return;
    memset(&s, 0, sizeof s);
    CHECK(mail_render_save_all(dirfd, tmpdir_path, fd, mail_mime_root(m),
                               saved, &s) == 0);
    CHECK(s.n == 2);
    CHECK_STR(s.names[0], "escape.bin");
    CHECK_STR(s.names[1], "attachment-3.png");
    read_at(dirfd, "escape.bin", buf, sizeof buf, &n);
    CHECK_MEM(buf, n > 0 ? (size_t)n : 0, "\0\1\2\3\4\5", 6);
    /* Nothing escaped the directory. */
    {
        char up[600];

        mail_snprintf(up, sizeof up, "%s/../escape.bin", tmpdir_path);
        CHECK(stat(up, &st) < 0 && errno == ENOENT);
    }
    /* Saved again: new names, the first files untouched. */
    memset(&s, 0, sizeof s);
    CHECK(mail_render_save_all(dirfd, tmpdir_path, fd, mail_mime_root(m),
                               saved, &s) == 0);
    CHECK_STR(s.names[0], "escape (1).bin");
    CHECK_STR(s.names[1], "attachment-3 (1).png");
    read_at(dirfd, "escape.bin", buf, sizeof buf, &n);
    CHECK(n == 6);
    /* A symlink in the way is not followed (O_EXCL|O_NOFOLLOW). */
    CHECK(symlinkat("/etc/hostname-not-here", dirfd, "escape (2).bin") == 0);
    memset(&s, 0, sizeof s);
    CHECK(mail_render_save_all(dirfd, tmpdir_path, fd, mail_mime_root(m),
                               saved, &s) == 0);
    CHECK_STR(s.names[0], "escape (3).bin");
    mail_mime_free(m);
    close(fd);
    remove_dir(dirfd);
}

static void test_save_unwritable(void)
{
    int fd = msg_fd(two_parts), dirfd = make_dir();
    struct mail_error err;
    struct mail_mime *m = mail_render_parse(fd, "1", &err);
    struct saved_list s;

    CHECK(m != NULL && dirfd >= 0);
    if (!m || dirfd < 0)
        return;
    memset(&s, 0, sizeof s);
    fchmod(dirfd, 0500);
    if (geteuid() != 0) {
        CHECK(mail_render_save_all(dirfd, tmpdir_path, fd, mail_mime_root(m),
                                   saved, &s) == -1);
        CHECK(s.failures == 2 && s.n == 0);
    }
    fchmod(dirfd, 0700);
    mail_mime_free(m);
    close(fd);
    remove_dir(dirfd);
}

static void test_write_part(void)
{
    int fd = msg_fd(two_parts);
    struct mail_error err;
    struct mail_mime *m = mail_render_parse(fd, "1", &err);
    struct mail_buf b = MAIL_BUF_INIT;
    const struct mail_part *p;

    CHECK(m != NULL);
    if (!m)
        return;
    p = mail_mime_find(m, "2");
    CHECK(p && !mail_render_part_textual(p));
    CHECK(mail_render_write_part(fd, p, false, mail_sink_buf, &b, &err) == 0);
    CHECK_MEM(b.data, b.len, "\0\1\2\3\4\5", 6);
    mail_buf_reset(&b);
    p = mail_mime_find(m, "1");
    CHECK(p && mail_render_part_textual(p));
    /* Exact bytes for a program, the escape defused for a person. */
    CHECK(mail_render_write_part(fd, p, false, mail_sink_buf, &b, &err) == 0);
    CHECK(b.len && memchr(b.data, 0x1b, b.len) != NULL);
    mail_buf_reset(&b);
    CHECK(mail_render_write_part(fd, p, true, mail_sink_buf, &b, &err) == 0);
    CHECK(b.len && memchr(b.data, 0x1b, b.len) == NULL &&
          memchr(b.data, 0x07, b.len) == NULL);
    CHECK(b.len && memmem(b.data, b.len, "world", 5) != NULL);
    mail_buf_release(&b);
    /* A message that cannot be read: -2, not the sink's -1. */
    CHECK(mail_render_write_part(-1, mail_mime_find(m, "2"), false,
                                 mail_sink_buf, &b, &err) == -2);
    mail_mime_free(m);
    close(fd);
}

static int refuse(void *ctx, const char *data, size_t len,
                  struct mail_error *err)
{
    (void)ctx;
    (void)data;
    (void)len;
    return mail_error_set(err, MAIL_ERR_IO, "standard output: gone");
}

static void test_write_raw(void)
{
    int fd = msg_fd(two_parts);
    struct mail_buf b = MAIL_BUF_INIT;
    struct mail_error err;

    CHECK(mail_render_write_raw(fd, false, mail_sink_buf, &b, &err) == 0);
    CHECK_MEM(b.data, b.len, two_parts, strlen(two_parts));
    mail_buf_reset(&b);
    CHECK(mail_render_write_raw(fd, true, mail_sink_buf, &b, &err) == 0);
    CHECK(b.len && memchr(b.data, 0x1b, b.len) == NULL);
    CHECK(mail_render_write_raw(fd, false, refuse, NULL, &err) == -1);
    CHECK_STR(err.msg, "standard output: gone");
    CHECK(mail_render_write_raw(-1, false, mail_sink_buf, &b, &err) == -2);
    mail_buf_release(&b);
    close(fd);
}

static void test_spool_and_parse(void)
{
    int pfd[2], fd;
    struct mail_error err;
    struct mail_mime *m;
    char buf[64];

    CHECK(pipe(pfd) == 0);
    CHECK(write(pfd[1], "Subject: hi\n\nbody\n", 18) == 18);
    close(pfd[1]);
    fd = mail_render_spool(pfd[0], getenv("TMPDIR"), "(pipe)", &err);
    close(pfd[0]);
    CHECK(fd >= 0);
    CHECK(pread(fd, buf, sizeof buf, 0) == 18);
    m = mail_render_parse(fd, "x", &err);
    CHECK(m && mail_mime_root(m));
    mail_mime_free(m);
    close(fd);
    /* A message that cannot be read: named in the error. */
    CHECK(mail_render_parse(-1, "7", &err) == NULL);
    CHECK(err.kind == MAIL_ERR_IO);
    CHECK(strncmp(err.msg, "message 7: ", 11) == 0);
}

static void test_mailcap_path(void)
{
    char *p = mail_render_mailcap_path(NULL, "/home/u");

    CHECK_STR(p, "/home/u/.mailcap:/etc/mailcap");
    free(p);
    p = mail_render_mailcap_path(NULL, "");
    CHECK_STR(p, "/etc/mailcap");
    free(p);
    p = mail_render_mailcap_path("/x/caps", "/home/u");
    CHECK_STR(p, "/x/caps");
    free(p);
}

static void test_render_message(void)
{
    int fd = msg_fd(two_parts);
    struct mail_error err;
    struct mail_mime *m = mail_render_parse(fd, "1", &err);
    struct mail_render_opts o;
    struct mail_render *r;
    struct mail_render_msg rm;
    struct mail_buf b = MAIL_BUF_INIT;

    memset(&o, 0, sizeof o);
    r = mail_render_new(&o);
    memset(&rm, 0, sizeof rm);
    rm.fd = fd;
    rm.mime = m;
    rm.label = "1";
    CHECK(r && m);
    if (!r || !m)
        return;
    CHECK(mail_render_message(r, &rm, false, NULL, mail_sink_buf, &b, &err) == 0);
    mail_buf_addch(&b, 0);
    CHECK(strstr(b.data, "Subject: parts\n\nHello") != NULL);
    CHECK(strstr(b.data, "\nAttachments:\n") != NULL);
    CHECK(strstr(b.data, "../../escape.bin") != NULL);
    CHECK(strstr(b.data, "6 B") != NULL);
    mail_buf_release(&b);
    mail_render_free(r);
    mail_mime_free(m);
    close(fd);
}

/* mail_render_mailcap_find: the first entry for the type (exact, TYPE/\*
 * or TYPE) whose test= passes; with MAIL_MAILCAP_COPIOUS only
 * copiousoutput ones; the flags read; a continued line and "\;"; the
 * search path's later files; none found is 0. */
static void test_mailcap_find(void)
{
    struct mail_mailcap mc;
    struct mail_error err;
    char a[300], b[300], caps[700];
    char *cmd;
    bool uses;
    FILE *f;
    int dirfd = make_dir();

    CHECK(dirfd >= 0);
    if (dirfd < 0)
        return;
    mail_snprintf(a, sizeof a, "%s/a", tmpdir_path);
    mail_snprintf(b, sizeof b, "%s/b", tmpdir_path);
    mail_snprintf(caps, sizeof caps, "%s/missing:%s:%s", tmpdir_path, a, b);
    f = fopen(a, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs("# comment\n"
          "application/x-test; first %s; test=false\n"
          "application/x-test; second %s \\; echo; needsterminal\n"
          "image/*; viewer %s\n"
          "text/html; browser %s\n"
          "text/html; lynx -dump \\\n  %s; copiousoutput\n", f);
    fclose(f);
    f = fopen(b, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs("audio; play %t %s\n", f);
    fclose(f);

    mail_error_clear(&err);
    CHECK(mail_render_mailcap_find(caps, "application/x-test", 0, 5, &mc,
                                   &err) == 1);
    CHECK_STR(mc.command, "second %s ; echo");
    CHECK(mc.needsterminal && !mc.copiousoutput);
    free(mc.command);
    CHECK(mail_render_mailcap_find(caps, "image/png", 0, 5, &mc, &err) == 1);
    CHECK_STR(mc.command, "viewer %s");
    free(mc.command);
    CHECK(mail_render_mailcap_find(caps, "text/html", 0, 5, &mc, &err) == 1);
    CHECK_STR(mc.command, "browser %s");
    free(mc.command);
    CHECK(mail_render_mailcap_find(caps, "text/html", MAIL_MAILCAP_COPIOUS, 5,
                                   &mc, &err) == 1);
    CHECK_STR(mc.command, "lynx -dump   %s");
    CHECK(mc.copiousoutput);
    free(mc.command);
    /* From the second file; %t the type. */
    CHECK(mail_render_mailcap_find(caps, "audio/ogg", 0, 5, &mc, &err) == 1);
    cmd = mail_render_mailcap_command(mc.command, "audio/ogg",
                                      "/tmp/mail-x.ogg", &uses);
    CHECK_STR(cmd, "play audio/ogg /tmp/mail-x.ogg");
    CHECK(uses);
    free(cmd);
    free(mc.command);
    CHECK(mail_render_mailcap_find(caps, "application/pdf", 0, 5, &mc,
                                   &err) == 0);
    CHECK(mc.command == NULL);
    CHECK(mail_render_mailcap_find(caps, "imagex/png", 0, 5, &mc, &err) == 0);
    CHECK(mail_render_mailcap_find(NULL, "image/png", 0, 5, &mc, &err) == 0);
    /* No %s: the file goes to standard input. */
    cmd = mail_render_mailcap_command("cat %% x", "a/b", "/f", &uses);
    CHECK_STR(cmd, "cat % x");
    CHECK(!uses);
    free(cmd);
    remove_dir(dirfd);
}

/* A copiousoutput entry's output for the reader's pager: terminal-safe,
 * the file read (as %s and on standard input) and removed, a failure
 * said; the terminal command removes its file through its trap. */
static void test_mailcap_output(void)
{
    struct mail_buf out = MAIL_BUF_INIT;
    struct mail_error err;
    char path[512], *cmd, *sh;
    bool uses;
    int fd;

    fd = mail_render_temp(NULL, "txt", path, sizeof path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK(mail_write_all(fd, "one\ntwo \033[31mred\n", 17) == 0);
    close(fd);
    cmd = mail_render_mailcap_command("tr a-z A-Z < %s; cat", "text/x",
                                      path, &uses);
    CHECK(cmd != NULL && uses);
    mail_error_clear(&err);
    CHECK(mail_render_mailcap_output(cmd, path, 5, &out, &err) == 0);
    CHECK_STR(out.data, "ONE\nTWO ^[[31MRED\none\ntwo ^[[31mred\n");
    CHECK(access(path, F_OK) < 0 && errno == ENOENT);
    free(cmd);
    mail_buf_release(&out);

    /* A viewer that fails: said, and the file goes all the same. */
    fd = mail_render_temp(NULL, "txt", path, sizeof path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    close(fd);
    CHECK(mail_render_mailcap_output("exit 3", path, 5, &out, &err) < 0);
    CHECK(err.kind == MAIL_ERR_TEMP);
    CHECK_STR(err.msg, "the viewer: exit status 3");
    CHECK(access(path, F_OK) < 0 && errno == ENOENT);
    mail_buf_release(&out);

    /* The terminal command: the file removed when the shell is killed
     * (its HUP trap ends it through the EXIT trap). */
    fd = mail_render_temp(NULL, "txt", path, sizeof path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    close(fd);
    sh = mail_render_mailcap_shell("kill -HUP $$; sleep 5", path);
    CHECK(sh != NULL);
    if (sh) {
        char *const argv[] = { "sh", "-c", sh, NULL };
        pid_t pid = fork();
        int st = 0;

        if (pid == 0) {
            /* A shell cannot trap a signal ignored when it started (POSIX):
             * a suite run under nohup would leave HUP ignored. */
            signal(SIGHUP, SIG_DFL);
            execv("/bin/sh", argv);
            _exit(127);
        }
        CHECK(pid > 0);
        if (pid > 0) {
            waitpid(pid, &st, 0);
            CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 129);
        }
    }
    CHECK(access(path, F_OK) < 0 && errno == ENOENT);
    free(sh);
}

int main(void)
{
    RUN(test_hostile_names);
    RUN(test_save_all);
    RUN(test_save_unwritable);
    RUN(test_write_part);
    RUN(test_write_raw);
    RUN(test_spool_and_parse);
    RUN(test_mailcap_path);
    RUN(test_render_message);
    RUN(test_mailcap_find);
    RUN(test_mailcap_output);
    return test_done();
}
