/* test_mbox.c - the mbox driver: From_ lines, mboxrd, flags, locks. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mail/folder.h"
#include "test.h"
#include "fixture.h"

static char *read_file(const char *rel)
{
    struct mail_buf b = MAIL_BUF_INIT;
    char chunk[4096];
    size_t n;
    FILE *f = fopen(fixture_path(rel), "r");

    if (!f)
        return NULL;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        mail_buf_add(&b, chunk, n);
    fclose(f);
    return mail_buf_detach(&b);
}

static struct mail_folder *open_rw(const char *rel)
{
    struct mail_error err;
    struct mail_folder *f = mail_folder_open(fixture_path(rel),
                                             MAIL_FOLDER_RDWR, &fixture_paths,
                                             &err);

    if (!f)
        printf("# open %s: %s\n", rel, err.msg);
    return f;
}

#define TRICKY \
    "From alice@example.com Tue Nov  3 10:00:00 2026\n" \
    "From: Alice <alice@example.com>\n" \
    "Subject: one\n" \
    "Status: RO\n" \
    "\n" \
    "Body line\n" \
    "From here on, not a separator (no blank line, no date)\n" \
    ">From quoted\n" \
    ">>From double\n" \
    ">not From\n" \
    "\n" \
    "From bob Wed Nov  4 11:00:00 2026\n" \
    "Subject: two\n" \
    "X-Status: AF\n" \
    "\n" \
    "text\n" \
    "From carol@example.com Thu Nov  5 12:00:00 2026\n" \
    "Subject: three (a From_ line without the blank line)\n" \
    "Status: O\n" \
    "\n" \
    "last\n"

static void test_parse(void)
{
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct mail_error err;
    struct mail_folder *f;
    char *s;
    int fd;

    fixture_write("tricky", TRICKY);
    f = mail_folder_open(fixture_path("tricky"), MAIL_FOLDER_RDONLY,
                         &fixture_paths, &err);
    CHECK(f && mail_folder_kind(f) == MAIL_FOLDER_MBOX);
    if (!f)
        return;
    CHECK(mail_folder_list(f, &l, 0, &err) == 0);
    CHECK(l.n == 3);
    if (l.n != 3)
        return;
    /* the key: the offset and the message's identity */
    CHECK(strncmp(l.v[0].key, "0:", 2) == 0 && strlen(l.v[0].key) == 18);
    CHECK(l.v[0].offset == 0);
    CHECK_STR(l.v[0].subject, "one");
    CHECK_STR(l.v[0].from, "Alice <alice@example.com>");
    CHECK(l.v[0].flags == MAIL_FLAG_SEEN);
    CHECK(l.v[0].received == 1793700000);
    CHECK(l.v[0].path == NULL);
    s = fixture_fetch(f, &l.v[0]);
    CHECK_STR(s, "From: Alice <alice@example.com>\nSubject: one\n"
                 "Status: RO\n\nBody line\n"
                 "From here on, not a separator (no blank line, no date)\n"
                 "From quoted\n>From double\n>not From\n");
    CHECK(s && l.v[0].size == strlen(s));
    free(s);
    CHECK_STR(l.v[1].subject, "two");
    CHECK(l.v[1].flags == (MAIL_FLAG_NEW | MAIL_FLAG_ANSWERED |
                           MAIL_FLAG_FLAGGED));
    s = fixture_fetch(f, &l.v[1]);
    CHECK_STR(s, "Subject: two\nX-Status: AF\n\ntext\n");
    CHECK(s && l.v[1].size == strlen(s));
    free(s);
    CHECK_STR(l.v[2].subject, "three (a From_ line without the blank line)");
    CHECK(l.v[2].flags == 0);
    CHECK(mail_folder_message_fd(f, &l.v[2], &fd, &err) == 0);
    if (fd >= 0) {
        char buf[256];
        ssize_t n = read(fd, buf, sizeof buf);

        CHECK(n == (ssize_t)l.v[2].size && memcmp(buf + n - 5, "last\n", 5)
              == 0);
        close(fd);
    }
    mail_envelope_list_release(&l);
    mail_folder_close(f, &err);

    /* CRLF line ends, and a header-only last message */
    fixture_write("crlf",
                  "From a Tue Nov  3 10:00:00 2026\r\nSubject: x\r\n\r\n"
                       "body\r\n\r\nFrom b Tue Nov  3 10:00:01 2026\r\n"
                       "Subject: y\r\n");
    f = mail_folder_open(fixture_path("crlf"), MAIL_FOLDER_RDONLY,
                         &fixture_paths, &err);
    CHECK(f && mail_folder_list(f, &l, 0, &err) == 0 && l.n == 2);
    if (f && l.n == 2) {
        s = fixture_fetch(f, &l.v[0]);
        CHECK_STR(s, "Subject: x\r\n\r\nbody\r\n");
        free(s);
        CHECK_STR(l.v[1].subject, "y");
    }
    mail_envelope_list_release(&l);
    mail_folder_close(f, &err);

    /* empty, and not an mbox */
    fixture_write("empty", "");
    f = mail_folder_open(fixture_path("empty"), MAIL_FOLDER_RDONLY,
                         &fixture_paths, &err);
    CHECK(f && mail_folder_list(f, &l, 0, &err) == 0 && l.n == 0);
    mail_folder_close(f, &err);
    fixture_write("notmbox", "Subject: hi\n\n");
    f = mail_folder_open(fixture_path("notmbox"), MAIL_FOLDER_RDONLY,
                         &fixture_paths, &err);
    CHECK(f == NULL && err.kind == MAIL_ERR_DATA);
}

#define RD_MSG \
    "From: me@example.com\n" \
    "Subject: quoting\n" \
    "\n" \
    "From the start\n" \
    ">From quoted once\n" \
    ">>From quoted twice\n" \
    "> From not quoted\n" \
    ">>>\n" \
    "From\n" \
    "Fro\n" \
    "last line From \n"

static void test_roundtrip(void)
{
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct mail_error err;
    struct mail_folder *f;
    struct mail_append *a;
    const char *msg = RD_MSG;
    char *key = NULL, *s, *raw;
    size_t step, i, len = strlen(msg);

    fixture_write("rd", "From x Tue Nov  3 10:00:00 2026\nSubject: first\n\n"
                     "no final newline");
    f = open_rw("rd");
    if (!f)
        return;
    /* every chunk size, so that "From " is split every way */
    for (step = 1; step <= 8; step++) {
        a = mail_folder_append_begin(f, 0, 1793700000, &err);
        CHECK(a != NULL);
        if (!a)
            return;
        for (i = 0; i < len; i += step)
            CHECK(mail_append_write(a, msg + i,
                                    len - i < step ? len - i : step,
                                    &err) == 0);
        CHECK(mail_append_commit(a, step == 1 ? &key : NULL, &err) == 0);
    }
    raw = read_file("rd");
    CHECK(raw && strstr(raw, "no final newline\n\nFrom me@example.com "
                             "Tue Nov  3 10:00:00 2026\n"));
    CHECK(raw && strstr(raw, "\n>From the start\n>>From quoted once\n"
                             ">>>From quoted twice\n> From not quoted\n"));
    free(raw);
    CHECK(mail_folder_list(f, &l, 0, &err) == 0 && l.n == 9);
    if (l.n == 9) {
        s = fixture_fetch(f, &l.v[0]);
        CHECK_STR(s, "Subject: first\n\nno final newline\n");
        free(s);
        CHECK_STR(key, l.v[1].key);
        for (i = 1; i < 9; i++) {
            s = fixture_fetch(f, &l.v[i]);
            CHECK_STR(s, RD_MSG);
            CHECK(l.v[i].size == len);
            CHECK(l.v[i].flags == MAIL_FLAG_NEW);
            free(s);
        }
    }
    free(key);
    mail_envelope_list_release(&l);

    /* flags given to append become Status and X-Status, replacing any */
    a = mail_folder_append_begin(f, MAIL_FLAG_SEEN | MAIL_FLAG_FLAGGED, 0,
                                 &err);
    CHECK(a && mail_append_write(a, "Subject: s\nStatus: U\n\nb\n", 24,
                                 &err) == 0);
    CHECK(a && mail_append_commit(a, NULL, &err) == 0);
    /* a message without a body or a final newline */
    a = mail_folder_append_begin(f, MAIL_FLAG_SEEN, 0, &err);
    CHECK(a && mail_append_write(a, "Subject: bare", 13, &err) == 0);
    CHECK(a && mail_append_commit(a, NULL, &err) == 0);
    /* aborted: nothing stays */
    raw = read_file("rd");
    a = mail_folder_append_begin(f, 0, 0, &err);
    CHECK(a && mail_append_write(a, RD_MSG, len, &err) == 0);
    mail_append_abort(a);
    s = read_file("rd");
    CHECK(raw && s && strcmp(raw, s) == 0);
    free(raw);
    free(s);
    CHECK(mail_folder_list(f, &l, 0, &err) == 0 && l.n == 11);
    if (l.n == 11) {
        CHECK(l.v[9].flags == (MAIL_FLAG_SEEN | MAIL_FLAG_FLAGGED));
        s = fixture_fetch(f, &l.v[9]);
        CHECK_STR(s, "Subject: s\nStatus: RO\nX-Status: F\n\nb\n");
        free(s);
        s = fixture_fetch(f, &l.v[10]);
        CHECK_STR(s, "Subject: bare\nStatus: RO\n");
        free(s);
    }
    mail_envelope_list_release(&l);
    mail_folder_close(f, &err);
}

/* The header's end found when it comes a byte or a line at a time: the
 * scan resumes at the last line start (it rescanned the whole held header
 * on every write, quadratic for a long header written line by line), so
 * the empty line must be found across writes, CRLF and LF alike, and the
 * result must not depend on the chunking. */
static void test_append_chunks(void)
{
    static const char *const msgs[] = {
        "Subject: c\r\nX: y\r\n\r\nbody\r\n\r\nnot: header\r\n",
        "Subject: l\nX: y\n\nbody\n\nnot: header\n",
        "\nno header\n",
    };
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct mail_error err;
    struct mail_folder *f;
    struct mail_append *a;
    size_t m, step, i, n = 0;

    fixture_write("chunks", "");
    f = open_rw("chunks");
    if (!f)
        return;
    for (m = 0; m < 3; m++) {
        size_t len = strlen(msgs[m]);

        for (step = 1; step <= 4; step++) {
            a = mail_folder_append_begin(f, MAIL_FLAG_SEEN, 0, &err);
            CHECK(a != NULL);
            if (!a)
                continue;
            for (i = 0; i < len; i += step)
                CHECK(mail_append_write(a, msgs[m] + i,
                                        len - i < step ? len - i : step,
                                        &err) == 0);
            CHECK(mail_append_commit(a, NULL, &err) == 0);
            n++;
        }
        a = mail_folder_append_begin(f, MAIL_FLAG_SEEN, 0, &err);
        CHECK(a && mail_append_write(a, msgs[m], len, &err) == 0);
        CHECK(a && mail_append_commit(a, NULL, &err) == 0);
        n++;
    }
    CHECK(mail_folder_list(f, &l, 0, &err) == 0 && l.n == n);
    if (l.n == n) {
        for (m = 0; m < 3; m++) {
            char *whole = fixture_fetch(f, &l.v[m * 5 + 4]);

            CHECK(whole && strstr(whole, "Status: RO"));
            /* Status goes in the header, never after the empty line */
            if (m < 2)
                CHECK(whole && strstr(whole, "body") &&
                      !strstr(strstr(whole, "body"), "Status"));
            for (step = 0; step < 4; step++) {
                char *s = fixture_fetch(f, &l.v[m * 5 + step]);

                CHECK(s && whole && strcmp(s, whole) == 0);
                CHECK(l.v[m * 5 + step].flags == l.v[m * 5 + 4].flags);
                free(s);
            }
            free(whole);
        }
    }
    mail_envelope_list_release(&l);
    mail_folder_close(f, &err);
}

static void test_sync(void)
{
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct mail_error err;
    struct mail_folder *f;
    struct mail_append *a;
    char *s, *raw;
    FILE *fp;

    fixture_write("sync", TRICKY);
    f = open_rw("sync");
    if (!f)
        return;
    CHECK(mail_folder_list(f, &l, 0, &err) == 0 && l.n == 3);
    if (l.n != 3)
        return;
    CHECK(mail_folder_set_flags(f, &l.v[1], MAIL_FLAG_SEEN,
                                MAIL_FLAG_FLAGGED, &err) == 0);
    CHECK(l.v[1].flags == (MAIL_FLAG_SEEN | MAIL_FLAG_ANSWERED));
    CHECK(mail_folder_expunge(f, &l.v[2], &err) == 0);
    /* our own append in between is not "someone else" */
    a = mail_folder_append_begin(f, 0, 0, &err);
    CHECK(a && mail_append_write(a, "Subject: four\n\n4\n", 17, &err) == 0);
    CHECK(a && mail_append_commit(a, NULL, &err) == 0);
    /* not written before sync */
    raw = read_file("sync");
    CHECK(raw && strncmp(raw, TRICKY, strlen(TRICKY)) == 0);
    free(raw);
    CHECK(mail_folder_sync(f, &err) == 0);
    raw = read_file("sync");
    /* the unchanged message byte for byte, the changed one with its new
     * Status and X-Status, the expunged one gone, the appended one kept */
    CHECK(raw && strncmp(raw, TRICKY, 208) == 0);
    CHECK(raw && strstr(raw, "\nFrom bob Wed Nov  4 11:00:00 2026\n"
                             "Subject: two\nStatus: RO\nX-Status: A\n\n"
                             "text\n"));
    CHECK(raw && !strstr(raw, "carol"));
    CHECK(raw && strstr(raw, "Subject: four"));
    free(raw);
    mail_envelope_list_release(&l);
    CHECK(mail_folder_list(f, &l, 0, &err) == 0 && l.n == 3);
    if (l.n == 3) {
        CHECK(l.v[1].flags == (MAIL_FLAG_SEEN | MAIL_FLAG_ANSWERED));
        CHECK_STR(l.v[2].subject, "four");
        s = fixture_fetch(f, &l.v[0]);
        CHECK(s && strstr(s, "From quoted\n>From double\n"));
        free(s);
    }
    CHECK(mail_folder_close(f, &err) == 0);
    mail_envelope_list_release(&l);

    /* someone else delivers meanwhile: the sync refuses */
    f = open_rw("sync");
    if (!f)
        return;
    CHECK(mail_folder_list(f, &l, 0, &err) == 0 && l.n == 3);
    CHECK(l.n && mail_folder_set_flags(f, &l.v[0], MAIL_FLAG_FLAGGED, 0,
                                       &err) == 0);
    fp = fopen(fixture_path("sync"), "a");
    if (fp) {
        fputs("From other Tue Nov  3 10:00:00 2026\nSubject: x\n\nx\n\n", fp);
        fclose(fp);
    }
    CHECK(mail_folder_sync(f, &err) < 0 && err.kind == MAIL_ERR_TEMP);
    raw = read_file("sync");
    CHECK(raw && strstr(raw, "From other"));
    free(raw);
    mail_envelope_list_release(&l);
    /* listing again keeps the change, which then syncs */
    CHECK(mail_folder_list(f, &l, 0, &err) == 0 && l.n == 4);
    CHECK(l.n == 4 && (l.v[0].flags & MAIL_FLAG_FLAGGED));
    CHECK(mail_folder_close(f, &err) == 0);
    mail_envelope_list_release(&l);
    raw = read_file("sync");
    CHECK(raw && strstr(raw, "Subject: one\nStatus: RO\nX-Status: F\n\n"));
    CHECK(raw && strstr(raw, "From other"));
    free(raw);
    CHECK(access(fixture_path("sync.lock"), F_OK) < 0);
}

static void test_locks(void)
{
    struct mail_error err;
    struct mail_folder *f;
    struct mail_append *a;
    struct timespec t0, t1;
    struct timespec old[2];
    int pfd[2], fd, status;
    pid_t pid;
    char c;
    long ms;

    fixture_write("locked", "");
    f = open_rw("locked");
    if (!f || pipe(pfd) < 0)
        return;
    mail_folder_set_lock_timeout(f, 300);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        struct flock fl;

        fd = open(fixture_path("locked"), O_RDWR);
        memset(&fl, 0, sizeof fl);
        fl.l_type = F_WRLCK;
        fl.l_whence = SEEK_SET;
        if (fd < 0 || fcntl(fd, F_SETLK, &fl) < 0)
            _exit(1);
        if (write(pfd[1], "x", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    CHECK(pid > 0 && read(pfd[0], &c, 1) == 1);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    a = mail_folder_append_begin(f, 0, 0, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    CHECK(a == NULL && err.kind == MAIL_ERR_TEMP);
    CHECK(strstr(err.msg, "locked by another process") != NULL);
    CHECK(ms >= 250 && ms < 3000);
    if (a)
        mail_append_abort(a);
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    close(pfd[0]);
    close(pfd[1]);

    /* a fresh dot-lock of a live process is respected; one whose
     * process is gone, or one over 5 minutes old, is removed */
    {
        char pidline[32];
        pid_t dead;

        fflush(stdout);         /* the child must not print our TAP twice */
        dead = fork();

        if (dead == 0)
            _exit(0);
        waitpid(dead, &status, 0);
        snprintf(pidline, sizeof pidline, "%ld\n", (long)dead);
        fixture_write("locked.lock", pidline);
        a = mail_folder_append_begin(f, 0, 0, &err);
        CHECK(a != NULL);       /* its owner died: stale */
        if (a)
            mail_append_abort(a);
        snprintf(pidline, sizeof pidline, "%ld\n", (long)getppid());
        fixture_write("locked.lock", pidline);
    }
    a = mail_folder_append_begin(f, 0, 0, &err);
    CHECK(a == NULL && err.kind == MAIL_ERR_TEMP);
    CHECK(strstr(err.msg, "locked.lock") != NULL);
    old[0].tv_sec = old[1].tv_sec = time(NULL) - 600;
    old[0].tv_nsec = old[1].tv_nsec = 0;
    utimensat(AT_FDCWD, fixture_path("locked.lock"), old, 0);
    a = mail_folder_append_begin(f, 0, 0, &err);
    CHECK(a != NULL);
    /* held during the append */
    CHECK(access(fixture_path("locked.lock"), F_OK) == 0);
    CHECK(a && mail_append_write(a, "Subject: l\n\nl\n", 14, &err) == 0);
    CHECK(a && mail_append_commit(a, NULL, &err) == 0);
    CHECK(access(fixture_path("locked.lock"), F_OK) < 0);
    mail_folder_close(f, &err);
}

static void test_create(void)
{
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct mail_error err;
    struct mail_folder *f;
    struct mail_append *a;
    char p[1100];
    struct stat st;

    snprintf(p, sizeof p, "mbox:%s", fixture_path("new/dir/box"));
    f = mail_folder_open(p, MAIL_FOLDER_RDWR | MAIL_FOLDER_CREATE,
                         &fixture_paths, &err);
    CHECK(f && mail_folder_kind(f) == MAIL_FOLDER_MBOX);
    CHECK(stat(fixture_path("new/dir/box"), &st) == 0 && st.st_size == 0);
    if (!f)
        return;
    CHECK_STR(mail_folder_path(f), fixture_path("new/dir/box"));
    a = mail_folder_append_begin(f, 0, 0, &err);
    CHECK(a && mail_append_commit(a, NULL, &err) == 0);
    CHECK(mail_folder_list(f, &l, 0, &err) == 0 && l.n == 1);
    CHECK(l.n == 1 && l.v[0].size == 0);
    mail_envelope_list_release(&l);
    mail_folder_close(f, &err);
    /* a directory is not an mbox, even when asked for one */
    snprintf(p, sizeof p, "mbox:%s", fixture_path("new"));
    f = mail_folder_open(p, MAIL_FOLDER_RDONLY, &fixture_paths, &err);
    CHECK(f == NULL && err.kind == MAIL_ERR_DATA);
}


/* A sync that died after writing its backup: write the backup as
 * mbox.c does, damage the tail as a half-done rewrite would, and see
 * that the next open puts the file back, keeping mail appended since. */
static void crash_case(const char *name, long delta, bool cut,
                       const char *appended)
{
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct mail_error err;
    struct mail_folder *f;
    struct stat st;
    char bpath[1200], hdr[200], *raw, *garbage;
    unsigned long long off, len0, len1;
    FILE *fp;
    int fd, hl;

    fixture_write(name, TRICKY);
    f = open_rw(name);
    CHECK(f && mail_folder_list(f, &l, 0, &err) == 0 && l.n == 3);
    if (!f || l.n != 3)
        return;
    off = l.v[1].offset;
    mail_envelope_list_release(&l);
    mail_folder_close(f, &err);
    CHECK(stat(fixture_path(name), &st) == 0);
    len0 = (unsigned long long)st.st_size - off;
    len1 = (unsigned long long)((long)len0 + delta);
    snprintf(bpath, sizeof bpath, "%s/.%s.mail-sync", fixture_root, name);
    hl = snprintf(hdr, sizeof hdr, "mail-mbox-sync 1 %llu %llu %llu %llu "
                  "%llu\n", (unsigned long long)st.st_dev,
                  (unsigned long long)st.st_ino, off, len0, len1);
    fp = fopen(bpath, "w");
    if (!fp)
        return;
    fwrite(hdr, 1, (size_t)hl, fp);
    fwrite(TRICKY + off, 1, (size_t)len0, fp);
    fclose(fp);
    /* the half-done rewrite */
    garbage = malloc(len1);
    if (!garbage)
        return;
    memset(garbage, 'Z', len1);
    fd = open(fixture_path(name), O_WRONLY);
    CHECK(fd >= 0 && pwrite(fd, garbage, len1, (off_t)off) == (ssize_t)len1);
    if (cut)
        CHECK(ftruncate(fd, (off_t)(off + len1)) == 0);
    if (appended) {
        struct stat now;

        CHECK(fstat(fd, &now) == 0);
        CHECK(pwrite(fd, appended, strlen(appended), now.st_size) ==
              (ssize_t)strlen(appended));
    }
    close(fd);
    free(garbage);
    /* the next open (a listing) recovers */
    f = mail_folder_open(fixture_path(name), MAIL_FOLDER_RDONLY, &fixture_paths,
                         &err);
    CHECK(f != NULL);
    if (f)
        mail_folder_close(f, &err);
    raw = read_file(name);
    CHECK(raw && strncmp(raw, TRICKY, strlen(TRICKY)) == 0);
    CHECK(raw && strcmp(raw + strlen(TRICKY), appended ? appended : "") ==
                 0);
    free(raw);
    CHECK(access(bpath, F_OK) < 0);
    {
        struct stat now;

        CHECK(stat(fixture_path(name), &now) == 0 && now.st_ino == st.st_ino);
    }
}

#define APPENDED "From mda Fri Nov  6 09:00:00 2026\nSubject: late\n\nlate\n\n"

static void test_recover(void)
{
    crash_case("crash1", -7, false, NULL);   /* shorter, not yet cut */
    crash_case("crash2", -7, true, NULL);    /* shorter, cut */
    crash_case("crash3", -7, false, APPENDED);
    crash_case("crash4", -7, true, APPENDED);
    crash_case("crash5", 9, false, NULL);    /* longer */
    crash_case("crash6", 9, false, APPENDED);
    crash_case("crash7", 0, false, APPENDED);
    {
        /* a backup of a file replaced since (another inode) is put
         * aside, and the file left alone */
        struct mail_error err;
        struct mail_folder *f;
        char bpath[1200], aside[1300], *raw;
        FILE *fp;

        fixture_write("orphan", TRICKY);
        snprintf(bpath, sizeof bpath, "%s/.orphan.mail-sync", fixture_root);
        snprintf(aside, sizeof aside, "%s.orphan-1", bpath);
        fp = fopen(bpath, "w");
        if (fp) {
            fprintf(fp, "mail-mbox-sync 1 1 1 0 3 3\nabc");
            fclose(fp);
        }
        f = mail_folder_open(fixture_path("orphan"), MAIL_FOLDER_RDONLY,
                             &fixture_paths, &err);
        CHECK(f != NULL);
        if (f)
            mail_folder_close(f, &err);
        raw = read_file("orphan");
        CHECK_STR(raw, TRICKY);
        free(raw);
        CHECK(access(bpath, F_OK) < 0 && access(aside, F_OK) == 0);
    }
}

/* Sync writes in place: same inode, and a symlink stays a symlink. */
static void test_in_place(void)
{
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct mail_error err;
    struct mail_folder *f;
    struct stat before, after;
    char *raw;

    fixture_write("inplace", TRICKY);
    CHECK(symlink(fixture_path("inplace"), fixture_path("link")) == 0);
    CHECK(stat(fixture_path("inplace"), &before) == 0);
    f = open_rw("link");
    CHECK(f && mail_folder_list(f, &l, 0, &err) == 0 && l.n == 3);
    if (!f || l.n != 3)
        return;
    CHECK(mail_folder_set_flags(f, &l.v[0], MAIL_FLAG_FLAGGED, 0, &err) == 0);
    CHECK(mail_folder_expunge(f, &l.v[1], &err) == 0);
    CHECK(mail_folder_close(f, &err) == 0);
    mail_envelope_list_release(&l);
    CHECK(stat(fixture_path("inplace"), &after) == 0);
    CHECK(before.st_ino == after.st_ino);
    CHECK(lstat(fixture_path("link"), &after) == 0 && S_ISLNK(after.st_mode));
    raw = read_file("inplace");
    CHECK(raw && strstr(raw, "Subject: one\nStatus: RO\nX-Status: F\n\n"));
    CHECK(raw && !strstr(raw, "Subject: two"));
    CHECK(raw && strstr(raw, "Subject: three"));
    free(raw);
    CHECK(access(fixture_path(".inplace.mail-sync"), F_OK) < 0);
}

/* Two messages of the same size swapped in place by another program: the
 * offset now holds the other one, which must not be taken for it. */
static void test_identity(void)
{
    static const char a[] = "From a Tue Nov  3 10:00:00 2026\n"
                            "Subject: aaa\n\nx\n\n";
    static const char b[] = "From b Tue Nov  3 10:00:00 2026\n"
                            "Subject: bbb\n\nx\n";
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct mail_error err;
    struct mail_folder *f;
    char buf[256], *s;
    FILE *fp;

    snprintf(buf, sizeof buf, "%s%s", a, b);
    fixture_write("ident", buf);
    f = open_rw("ident");
    CHECK(f && mail_folder_list(f, &l, 0, &err) == 0 && l.n == 2);
    if (!f || l.n != 2)
        return;
    CHECK(strcmp(l.v[0].key, l.v[1].key) != 0);
    s = fixture_fetch(f, &l.v[0]);
    CHECK_STR(s, "Subject: aaa\n\nx\n");
    free(s);
    /* rewritten in place, same size, b first */
    fp = fopen(fixture_path("ident"), "r+");
    if (fp) {
        fprintf(fp, "From b Tue Nov  3 10:00:00 2026\nSubject: bbb\n\nx\n\n"
                    "From a Tue Nov  3 10:00:00 2026\nSubject: aaa\n\nx\n");
        fclose(fp);
    }
    {
        struct mail_buf out = MAIL_BUF_INIT;

        mail_error_clear(&err);
        CHECK(mail_folder_fetch(f, &l.v[0], mail_sink_buf, &out, &err) < 0);
        CHECK(err.kind == MAIL_ERR_NOTFOUND &&
              strstr(err.msg, "the folder changed"));
        CHECK(out.len == 0);
        mail_buf_release(&out);
    }
    mail_envelope_list_release(&l);
    mail_folder_close(f, &err);
}

int main(void)
{
    if (fixture_open("mbox") < 0)
        return 1;
    RUN(test_parse);
    RUN(test_roundtrip);
    RUN(test_append_chunks);
    RUN(test_sync);
    RUN(test_locks);
    RUN(test_create);
    RUN(test_recover);
    RUN(test_in_place);
    RUN(test_identity);
    fixture_close();
    return test_done();
}
