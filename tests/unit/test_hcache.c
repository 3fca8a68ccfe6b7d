/*
 * test_hcache.c - the header cache: hits, misses, invalidation, damaged
 * files and concurrent listings, seen through folder listings.
 *
 * A hit is made visible by changing a message's bytes behind the cache's
 * back (Maildir: keeping its name, which is what the cache is keyed by;
 * mbox: keeping its size and mtime): a listing that shows the old
 * subject came from the cache.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mail/buf.h"
#include "mail/folder.h"
#include "test.h"
#include "fixture.h"

/* Rewrite a file with new bytes of the same length, keeping its mtime. */
static void swap_bytes(const char *rel, const char *data)
{
    struct stat st;
    struct timespec ts[2];

    if (stat(fixture_path(rel), &st) < 0)
        return;
    fixture_write(rel, data);
    ts[0] = st.st_atim;
    ts[1] = st.st_mtim;
    utimensat(AT_FDCWD, fixture_path(rel), ts, 0);
}

/* The one cache file in cache/mail/ (there is one folder per test). */
static char *cache_file(void)
{
    static char buf[1100];
    DIR *d = opendir(fixture_path("cache/mail"));
    struct dirent *de;

    buf[0] = '\0';
    if (!d)
        return NULL;
    while ((de = readdir(d)) != NULL)
        if (strlen(de->d_name) > 3 &&
            strcmp(de->d_name + strlen(de->d_name) - 3, ".hc") == 0)
            snprintf(buf, sizeof buf, "%s/%s", fixture_path("cache/mail"),
                     de->d_name);
    closedir(d);
    return buf[0] ? buf : NULL;
}

static void clear_cache(void)
{
    char *c;

    while ((c = cache_file()) != NULL)
        unlink(c);
}

/* The subjects of a listing, joined by spaces. */
static char *subjects(struct mail_folder *f, int flags)
{
    static char buf[4096];
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct mail_error err;
    size_t i, n = 0;

    buf[0] = '\0';
    if (mail_folder_list(f, &l, flags, &err) < 0) {
        snprintf(buf, sizeof buf, "error: %s", err.msg);
        return buf;
    }
    for (i = 0; i < l.n; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", i ? " " : "",
                              l.v[i].subject ? l.v[i].subject : "-");
    mail_envelope_list_release(&l);
    return buf;
}

/* The subjects of a listing (with display strings: BORROW), joined. */
static char *subjects_borrowed(struct mail_folder *f)
{
    static char buf[4096];
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct mail_error err;
    size_t i, n = 0;

    buf[0] = '\0';
    if (mail_folder_list(f, &l, MAIL_FOLDER_LIST_BORROW, &err) < 0) {
        snprintf(buf, sizeof buf, "error: %s", err.msg);
        return buf;
    }
    for (i = 0; i < l.n; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", i ? " " : "",
                              l.v[i].subject_display ? l.v[i].subject_display
                                                     : "-");
    mail_envelope_list_release(&l);
    return buf;
}

static void copy_file(const char *from, const char *to)
{
    char buf[65536];
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    size_t n;

    while (a && b && (n = fread(buf, 1, sizeof buf, a)) > 0)
        fwrite(buf, 1, n, b);
    if (a)
        fclose(a);
    if (b)
        fclose(b);
}

static long file_size(const char *p)
{
    struct stat st;

    return p && stat(p, &st) == 0 ? (long)st.st_size : -1;
}

/* Copy the cache file good over c with one bit flipped, for every bit of
 * its bytes [from, to) in turn, and list f with fn each time: how many
 * of those listings did not give want (damage not detected). */
static int missed_flips(struct mail_folder *f,
                        char *(*fn)(struct mail_folder *), const char *good,
                        const char *c, long from, long to, const char *want)
{
    int missed = 0;

    for (long off = from; off < to; off++)
        for (int bit = 0; bit < 8; bit++) {
            int fd;
            char byte;

            copy_file(good, c);
            fd = open(c, O_RDWR);
            if (fd < 0 || pread(fd, &byte, 1, off) != 1) {
                missed++;
                if (fd >= 0)
                    close(fd);
                continue;
            }
            byte ^= (char)(1 << bit);
            if (pwrite(fd, &byte, 1, off) != 1)
                missed++;
            close(fd);
            if (strcmp(fn(f), want) != 0) {
                if (missed < 5)
                    printf("# flip at byte %ld bit %d not detected: %s\n",
                           off, bit, fn(f));
                missed++;
            }
        }
    return missed;
}

/* The same with good cut at every length short of its own. */
static int missed_cuts(struct mail_folder *f,
                       char *(*fn)(struct mail_folder *), const char *good,
                       const char *c, const char *want)
{
    int missed = 0;

    for (long off = 0; off < file_size(good); off++) {
        copy_file(good, c);
        if (truncate(c, off) != 0 || strcmp(fn(f), want) != 0)
            missed++;
    }
    return missed;
}

/*
 * A Maildir message file never changes once delivered; only its name
 * (flags) and directory do.  So the cache is keyed by the unique name
 * alone and a warm listing neither stats nor opens a message: changing a
 * file's bytes behind the cache's back (never done by a real client)
 * shows that a listing came from the cache.
 */
static void test_maildir_cache(void)
{
    struct mail_error err;
    struct mail_folder *f;
    char *c;
    FILE *fp;

    f = mail_folder_open(fixture_path("md"),
                         MAIL_FOLDER_RDWR | MAIL_FOLDER_CREATE,
                         &fixture_paths, &err);
    if (!f)
        return;
    fixture_write("md/cur/1.a.h:2,", "Subject: aa\n\n1\n");
    fixture_write("md/cur/2.b.h:2,S", "Subject: bb\n\n2\n");
    fixture_write("md/new/3.c.h", "Subject: cc\n\n3\n");
    CHECK(cache_file() == NULL);
    CHECK_STR(subjects(f, 0), "aa bb cc");          /* miss: parsed */
    CHECK(cache_file() != NULL);
    swap_bytes("md/cur/1.a.h:2,", "Subject: AA\n\n1\n");
    CHECK_STR(subjects(f, 0), "aa bb cc");          /* hit */
    CHECK_STR(subjects_borrowed(f), "aa bb cc");    /* hit, borrowed */

    /* a flag change is a rename: still a hit, and the flags are right */
    CHECK(rename(fixture_path("md/cur/1.a.h:2,"),
                 fixture_path("md/cur/1.a.h:2,FS"))
          == 0);
    CHECK_STR(subjects(f, 0), "aa bb cc");
    {
        struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;

        CHECK(mail_folder_list(f, &l, MAIL_FOLDER_LIST_BORROW, &err) == 0);
        CHECK(l.n == 3 && l.v[0].flags == (MAIL_FLAG_FLAGGED |
                                           MAIL_FLAG_SEEN));
        CHECK(l.n == 3 && strstr(l.v[0].path, "/cur/1.a.h:2,FS"));
        CHECK(l.n == 3 && l.v[2].flags == MAIL_FLAG_NEW);
        /* our own flag change on a borrowed envelope */
        CHECK(l.n == 3 && mail_folder_set_flags(f, &l.v[2], MAIL_FLAG_SEEN,
                                                0, &err) == 0);
        CHECK(l.n == 3 && l.v[2].path &&
              strstr(l.v[2].path, "/cur/3.c.h:2,S"));
        mail_envelope_list_release(&l);
    }
    /* moved from new/ to cur/ by another program, then flagged again */
    CHECK(access(fixture_path("md/cur/3.c.h:2,S"), F_OK) == 0);
    CHECK(rename(fixture_path("md/cur/3.c.h:2,S"),
                 fixture_path("md/cur/3.c.h:2,RS"))
          == 0);
    CHECK_STR(subjects(f, 0), "aa bb cc");
    /* a removed message leaves the listing and the cache; a delivered
     * one enters */
    unlink(fixture_path("md/cur/2.b.h:2,S"));
    fixture_write("md/new/4.d.h", "Subject: dd\n\n4\n");
    CHECK_STR(subjects(f, 0), "aa cc dd");
    swap_bytes("md/new/4.d.h", "Subject: DD\n\n4\n");
    CHECK_STR(subjects(f, 0), "aa cc dd");          /* now cached */
    /* moved out to another folder by another program */
    CHECK(rename(fixture_path("md/new/4.d.h"), fixture_path("elsewhere")) == 0);
    CHECK_STR(subjects(f, 0), "aa cc");
    /* ... and back, under a new name: parsed again */
    CHECK(rename(fixture_path("elsewhere"), fixture_path("md/new/5.e.h")) == 0);
    CHECK_STR(subjects(f, 0), "aa cc DD");

    /* garbage: ignored and rebuilt */
    c = cache_file();
    fp = c ? fopen(c, "w") : NULL;
    if (fp) {
        fputs("MAILHC\0garbage garbage garbage garbage garbage", fp);
        fclose(fp);
    }
    CHECK_STR(subjects(f, 0), "AA cc DD");
    swap_bytes("md/cur/1.a.h:2,FS", "Subject: aa\n\n1\n");
    CHECK_STR(subjects(f, 0), "AA cc DD");          /* rebuilt: a hit */

    /* attachment counts are cached once asked for */
    CHECK_STR(subjects(f, MAIL_FOLDER_LIST_ATTACHMENTS), "aa cc DD");
    swap_bytes("md/cur/1.a.h:2,FS", "Subject: AA\n\n1\n");
    CHECK_STR(subjects(f, MAIL_FOLDER_LIST_ATTACHMENTS), "aa cc DD");
    mail_folder_close(f, &err);
    clear_cache();
}

/* Fresh Maildir md2 with three messages, listed once (cache written);
 * then every file is changed behind the cache's back, so that a listing
 * from the cache shows lowercase subjects and one that parsed shows
 * uppercase ones. */
static struct mail_folder *primed_folder(void)
{
    struct mail_error err;
    struct mail_folder *f;

    f = mail_folder_open(fixture_path("md2"),
                         MAIL_FOLDER_RDWR | MAIL_FOLDER_CREATE,
                         &fixture_paths, &err);
    if (!f)
        return NULL;
    fixture_write("md2/cur/1.a.h:2,S", "Subject: =?utf-8?q?=C3=A9t=C3=A9?=\n"
                                    "From: =?utf-8?q?Ren=C3=A9?= <r@x>\n\n1\n");
    /* threading headers: the every-bit and every-length checks cover the
     * thread area too */
    fixture_write("md2/cur/2.b.h:2,", "Subject: two\nMessage-ID: <2@h>\n"
                                    "In-Reply-To: <1@h>\n\n2\n");
    fixture_write("md2/new/3.c.h", "Subject: six\nReferences: <1@h> <2@h>\n"
                                 "\n3\n");
    return f;
}

static void unprime(void)
{
    fixture_write("md2/cur/1.a.h:2,S", "Subject: =?utf-8?q?=C3=A9t=C3=A9?=\n"
                                    "From: =?utf-8?q?Ren=C3=A9?= <r@x>\n\n1\n");
    swap_bytes("md2/cur/2.b.h:2,", "Subject: TWO\nMessage-ID: <2@h>\n"
                                 "In-Reply-To: <1@h>\n\n2\n");
    swap_bytes("md2/new/3.c.h", "Subject: SIX\nReferences: <1@h> <2@h>\n"
                              "\n3\n");
}

/* Every one-bit flip anywhere in the cache file, a truncation at every
 * length, a file grown by a byte and a file of another version: each is
 * detected (the listing parses the messages again and rewrites it),
 * never trusted. */
static void test_damaged_cache(void)
{
    struct mail_error err;
    struct mail_folder *f = primed_folder();
    char good[1200], *c;
    long size;

    if (!f)
        return;
    CHECK_STR(subjects_borrowed(f), "\xc3\xa9t\xc3\xa9 two six");
    {
        struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;

        CHECK(mail_folder_list(f, &l, MAIL_FOLDER_LIST_BORROW, &err) == 0);
        CHECK(l.n == 3 && l.v[0].from_display &&
              strcmp(l.v[0].from_display, "Ren\xc3\xa9") == 0);
        CHECK(l.n == 3 && l.v[0].borrowed && l.v[0].subject &&
              strcmp(l.v[0].subject, "=?utf-8?q?=C3=A9t=C3=A9?=") == 0);
        CHECK(l.n == 3 && l.v[1].from_display == NULL);
        mail_envelope_list_release(&l);
    }
    c = cache_file();
    CHECK(c != NULL);
    if (!c)
        return;
    snprintf(good, sizeof good, "%s", fixture_path("good.hc"));
    copy_file(c, good);
    size = file_size(good);
    CHECK(size > 100);
    unprime();
    CHECK_STR(subjects_borrowed(f), "\xc3\xa9t\xc3\xa9 two six");   /* a hit */
    CHECK(missed_flips(f, subjects_borrowed, good, c, 0, size,
                       "\xc3\xa9t\xc3\xa9 TWO SIX") == 0);
    /* a rebuilt cache is whole again: a hit */
    swap_bytes("md2/cur/2.b.h:2,", "Subject: two\nMessage-ID: <2@h>\n"
                                 "In-Reply-To: <1@h>\n\n2\n");
    CHECK_STR(subjects_borrowed(f), "\xc3\xa9t\xc3\xa9 TWO SIX");
    swap_bytes("md2/cur/2.b.h:2,", "Subject: TWO\nMessage-ID: <2@h>\n"
                                 "In-Reply-To: <1@h>\n\n2\n");
    CHECK(missed_cuts(f, subjects_borrowed, good, c,
                      "\xc3\xa9t\xc3\xa9 TWO SIX") == 0);
    copy_file(good, c);
    {
        FILE *fp = fopen(c, "ab");

        if (fp) {
            fputc(0, fp);
            fclose(fp);
        }
    }
    CHECK_STR(subjects_borrowed(f), "\xc3\xa9t\xc3\xa9 TWO SIX");
    /* another version (the byte after the magic) */
    copy_file(good, c);
    {
        int fd = open(c, O_RDWR);
        char v = 1;

        CHECK(fd >= 0 && pwrite(fd, &v, 1, 7) == 1);
        if (fd >= 0)
            close(fd);
    }
    CHECK_STR(subjects_borrowed(f), "\xc3\xa9t\xc3\xa9 TWO SIX");
    {
        int fd = open(c, O_RDONLY);
        char v = 0;

        CHECK(fd >= 0 && pread(fd, &v, 1, 7) == 1 && v == 6);  /* rewritten */
        if (fd >= 0)
            close(fd);
    }
    unlink(good);
    mail_folder_close(f, &err);
    clear_cache();
}

/* Listings in several processes at once, while another program delivers,
 * flags and removes messages: every listing succeeds and shows only
 * messages that exist, and the cache that is left is whole (the next
 * listing reads it: a hit). */
static void test_concurrent_listings(void)
{
    struct mail_error err;
    struct mail_folder *f;
    pid_t kids[4];
    int k, bad = 0;

    f = mail_folder_open(fixture_path("md3"),
                         MAIL_FOLDER_RDWR | MAIL_FOLDER_CREATE,
                         &fixture_paths, &err);
    if (!f)
        return;
    for (k = 0; k < 50; k++) {
        char rel[64], body[64];

        snprintf(rel, sizeof rel, "md3/cur/%d.k%d.h:2,S", 1000 + k, k);
        snprintf(body, sizeof body, "Subject: s%d\n\n%d\n", k, k);
        fixture_write(rel, body);
    }
    mail_folder_close(f, &err);
    for (k = 0; k < 4; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            struct mail_folder *g;
            int i, rc = 0;

            for (i = 0; i < 40 && rc == 0; i++) {
                struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
                struct mail_error e2;

                g = mail_folder_open(fixture_path("md3"), MAIL_FOLDER_RDONLY,
                                     &fixture_paths, &e2);
                if (!g || mail_folder_list(g, &l, (i & 1) ?
                                           MAIL_FOLDER_LIST_BORROW : 0,
                                           &e2) < 0) {
                    printf("# %s\n", e2.msg);
                    rc = 1;
                }
                for (size_t j = 0; rc == 0 && j < l.n; j++)
                    if (!l.v[j].subject || l.v[j].subject[0] != 's' ||
                        !l.v[j].key || strchr(l.v[j].key, ':'))
                        rc = 2;
                mail_envelope_list_release(&l);
                if (g)
                    mail_folder_close(g, &e2);
            }
            _exit(rc);
        }
    }
    /* meanwhile: deliveries, renames and removals */
    for (k = 0; k < 60; k++) {
        char a[64], b[64], body[64];

        /* delivered as a Maildir delivery is: tmp/, then a rename */
        snprintf(body, sizeof body, "Subject: s-new%d\n\n%d\n", k, k);
        fixture_write("md3/tmp/x", body);
        snprintf(a, sizeof a, "md3/new/%d.n%d.h", 2000 + k, k);
        rename(fixture_path("md3/tmp/x"), fixture_path(a));
        if (k < 50) {
            snprintf(a, sizeof a, "md3/cur/%d.k%d.h:2,S", 1000 + k, k);
            snprintf(b, sizeof b, "md3/cur/%d.k%d.h:2,FS", 1000 + k, k);
            if (k % 3 == 0)
                unlink(fixture_path(a));
            else
                rename(fixture_path(a), fixture_path(b));
        }
        usleep(1000);
    }
    for (k = 0; k < 4; k++) {
        int st = -1;

        if (kids[k] <= 0 || waitpid(kids[k], &st, 0) < 0 ||
            !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            printf("# listing process %d: status %d\n", k, st);
            bad++;
        }
    }
    CHECK(bad == 0);
    f = mail_folder_open(fixture_path("md3"), MAIL_FOLDER_RDONLY,
                         &fixture_paths,
                         &err);
    if (!f)
        return;
    {
        struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;

        /* 50 - 17 removed + 60 new */
        CHECK(mail_folder_list(f, &l, 0, &err) == 0 && l.n == 93);
        mail_envelope_list_release(&l);
    }
    swap_bytes("md3/new/2000.n0.h", "Subject: S-NEW0\n\n0\n");
    {
        struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
        bool hit = false;

        CHECK(mail_folder_list(f, &l, 0, &err) == 0 && l.n == 93);
        for (size_t j = 0; j < l.n; j++)
            if (l.v[j].subject && strcmp(l.v[j].subject, "s-new0") == 0)
                hit = true;
        CHECK(hit);   /* the cache left behind was whole */
        mail_envelope_list_release(&l);
    }
    mail_folder_close(f, &err);
    clear_cache();
}

/* mbox with MAIL_FOLDER_LIST_BORROW: the envelopes point into the folder
 * (no copy per message) and carry the display strings from the cache;
 * with DISPLAY an unchanged file's raw header strings are not read; a
 * damaged cache is never trusted. */
static char *mbox_borrowed(struct mail_folder *f, int flags)
{
    static char buf[4096];
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct mail_error err;
    size_t i, n = 0;

    buf[0] = '\0';
    if (mail_folder_list(f, &l, MAIL_FOLDER_LIST_BORROW | flags, &err) < 0) {
        snprintf(buf, sizeof buf, "error: %s", err.msg);
        return buf;
    }
    for (i = 0; i < l.n; i++) {
        const struct mail_envelope *e = &l.v[i];

        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s/%s/%s/%s/%s",
                              i ? " " : "", e->borrowed ? "b" : "c",
                              e->from_display ? e->from_display : "-",
                              e->subject_display ? e->subject_display : "-",
                              e->subject ? e->subject : "-",
                              e->content_type ? e->content_type : "-");
    }
    mail_envelope_list_release(&l);
    return buf;
}

static int buf_sink(void *ctx, const char *data, size_t len,
                    struct mail_error *err)
{
    (void)err;
    return mail_buf_add(ctx, data, len);
}

#define MBD1 "From a Tue Nov  3 10:00:00 2026\n" \
             "From: =?utf-8?q?Ren=C3=A9?= <r@x>\n" \
             "Subject: =?utf-8?q?=C3=A9t=C3=A9?=\n\n1\n\n"
#define MBD2 "From b Tue Nov  3 10:00:01 2026\nFrom: <b@x>\n" \
             "Content-Type: multipart/mixed; boundary=z\n" \
             "Subject: two\n\n--z--\n\n"

static void test_mbox_borrow(void)
{
    struct mail_error err;
    struct mail_folder *f;
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    char good[1200], *c, *data = NULL;
    const char *full = "b/Ren\xc3\xa9/\xc3\xa9t\xc3\xa9/"
                       "=?utf-8?q?=C3=A9t=C3=A9?=/- "
                       "b/b@x/two/two/multipart/mixed; boundary=z";
    const char *disp = "b/Ren\xc3\xa9/\xc3\xa9t\xc3\xa9/-/- "
                       "b/b@x/two/-/multipart/mixed";
    long size, off;
    int missed = 0;

    clear_cache();
    fixture_write("mbd", MBD1 MBD2);
    f = mail_folder_open(fixture_path("mbd"), MAIL_FOLDER_RDONLY,
                         &fixture_paths, &err);
    CHECK(f != NULL);
    if (!f)
        return;
    CHECK_STR(mbox_borrowed(f, 0), full);             /* parsed */
    CHECK(cache_file() != NULL);
    CHECK_STR(mbox_borrowed(f, 0), full);             /* from the cache */
    CHECK_STR(mbox_borrowed(f, MAIL_FOLDER_LIST_DISPLAY), disp);
    /* a borrowed envelope reads its message, and the key is the usual one
     * (the list released after the close, as ls does) */
    CHECK(mail_folder_list(f, &l, MAIL_FOLDER_LIST_BORROW |
                           MAIL_FOLDER_LIST_DISPLAY, &err) == 0);
    CHECK(l.n == 2 && l.v[1].key && strncmp(l.v[1].key, "105:", 4) == 0 &&
          strlen(l.v[1].key) == 20);
    if (l.n == 2) {
        struct mail_buf b = MAIL_BUF_INIT;

        CHECK(mail_folder_fetch(f, &l.v[1], buf_sink, &b, &err) == 0);
        CHECK(b.len > 0 && memmem(b.data, b.len, "Subject: two", 12));
        mail_buf_release(&b);
    }
    mail_folder_close(f, &err);
    mail_envelope_list_release(&l);

    f = mail_folder_open(fixture_path("mbd"), MAIL_FOLDER_RDONLY,
                         &fixture_paths, &err);
    if (!f)
        return;
    c = cache_file();
    CHECK(c != NULL);
    if (!c)
        return;
    snprintf(good, sizeof good, "%s", fixture_path("mbd-good.hc"));
    copy_file(c, good);
    size = file_size(good);
    /* a flip of any byte of the display area makes a DISPLAY listing
     * parse again (the raw area is not read then, so it is not
     * flipped here; the full listing's flips are test_damaged_cache's) */
    {
        FILE *fp = fopen(good, "rb");

        data = malloc((size_t)size + 1);
        if (fp && data && fread(data, 1, (size_t)size, fp) == (size_t)size) {
            const char *at = memmem(data, (size_t)size, "Ren\xc3\xa9", 5);

            CHECK(at != NULL);
            /* the display area: from the first display string to the end */
            for (off = at ? at - data : size; off < size; off++) {
                int fd;
                char byte = data[off] ^ 1;

                copy_file(good, c);
                fd = open(c, O_RDWR);
                if (fd < 0 || pwrite(fd, &byte, 1, off) != 1)
                    missed++;
                if (fd >= 0)
                    close(fd);
                /* the message changed under the same size and mtime: the
                 * cache's display is then told apart from a parse */
                swap_bytes("mbd", MBD1 "From b Tue Nov  3 10:00:01 2026\n"
                           "From: <B@x>\nContent-Type: multipart/mixed; "
                           "boundary=z\nSubject: TWO\n\n--z--\n\n");
                if (strcmp(mbox_borrowed(f, MAIL_FOLDER_LIST_DISPLAY),
                           "b/Ren\xc3\xa9/\xc3\xa9t\xc3\xa9/-/- "
                           "b/B@x/TWO/-/multipart/mixed") != 0) {
                    if (missed < 5)
                        printf("# flip at byte %ld not detected: %s\n", off,
                               mbox_borrowed(f, MAIL_FOLDER_LIST_DISPLAY));
                    missed++;
                }
                swap_bytes("mbd", MBD1 MBD2);
            }
        }
        if (fp)
            fclose(fp);
    }
    CHECK(missed == 0);
    free(data);
    mail_folder_close(f, &err);
    clear_cache();
}

#define MB1 "From a Tue Nov  3 10:00:00 2026\nSubject: one\n\n1\n\n"
#define MB2 "From b Tue Nov  3 10:00:01 2026\nSubject: two\n\n2\n\n"
#define MB3 "From c Tue Nov  3 10:00:02 2026\nSubject: six\n\n3\n\n"

static void test_mbox_cache(void)
{
    struct mail_error err;
    struct mail_folder *f;
    struct mail_append *a;
    char *c;
    FILE *fp;

    fixture_write("mb", MB1 MB2);
    f = mail_folder_open(fixture_path("mb"), MAIL_FOLDER_RDWR, &fixture_paths,
                         &err);
    if (!f)
        return;
    CHECK_STR(subjects(f, 0), "one two");
    CHECK(cache_file() != NULL);
    swap_bytes("mb", MB1 "From b Tue Nov  3 10:00:01 2026\nSubject: TWO\n\n2"
                     "\n\n");
    CHECK_STR(subjects(f, 0), "one two");           /* hit */

    /* grown: the cached part is kept, the last message and the new ones
     * parsed ("one" is still the cached one) */
    swap_bytes("mb", "From a Tue Nov  3 10:00:00 2026\nSubject: ONE\n\n1\n\n"
                     MB2);
    fp = fopen(fixture_path("mb"), "a");
    if (fp) {
        fputs(MB3, fp);
        fclose(fp);
    }
    CHECK_STR(subjects(f, 0), "one two six");
    /* grown, but the bytes at the old end differ: all parsed again */
    fixture_write("mb", "From a Tue Nov  3 10:00:00 2026\nSubject: ONE\n\n1\n\n"
                     "From b Tue Nov  3 10:00:01 2026\nSubject: TWO\n\n2\n\n"
                     "From c Tue Nov  3 10:00:02 2026\nSubject: SIX\n\n3\n\n"
                     MB3);
    CHECK_STR(subjects(f, 0), "ONE TWO SIX six");
    /* our own append */
    a = mail_folder_append_begin(f, 0, 0, &err);
    CHECK(a && mail_append_write(a, "Subject: app\n\nx\n", 16, &err) == 0);
    CHECK(a && mail_append_commit(a, NULL, &err) == 0);
    CHECK_STR(subjects(f, 0), "ONE TWO SIX six app");
    /* shrunk (rewritten): parsed again */
    fixture_write("mb", MB3);
    CHECK_STR(subjects(f, 0), "six");
    /* garbage cache */
    c = cache_file();
    fp = c ? fopen(c, "w") : NULL;
    if (fp) {
        fputs("not a cache", fp);
        fclose(fp);
    }
    CHECK_STR(subjects(f, 0), "six");
    mail_folder_close(f, &err);
    clear_cache();
}

/*
 * mutt resets a mbox's access time with utime(2) after reading it,
 * which sets the modification time to whole seconds: the next listing
 * must still take the cache, not read the whole file again.
 */
static void test_mbox_utime(void)
{
    struct mail_error err;
    struct mail_folder *f;
    struct timespec ts[2];
    struct stat st;

    fixture_write("mb", MB1 MB2);
    f = mail_folder_open(fixture_path("mb"), MAIL_FOLDER_RDWR, &fixture_paths,
                         &err);
    if (!f)
        return;
    CHECK_STR(subjects(f, 0), "one two");
    CHECK(stat(fixture_path("mb"), &st) == 0);
    /* the same size, other bytes: only a taken cache still says "two" */
    fixture_write("mb", MB1 "From b Tue Nov  3 10:00:01 2026\nSubject: TWO\n\n2"
                            "\n\n");
    ts[0].tv_sec = st.st_atim.tv_sec;
    ts[0].tv_nsec = 0;
    ts[1].tv_sec = st.st_mtim.tv_sec;
    ts[1].tv_nsec = 0;
    CHECK(utimensat(AT_FDCWD, fixture_path("mb"), ts, 0) == 0);
    CHECK_STR(subjects(f, 0), "one two");
    /* a real write (another second): parsed again */
    ts[1].tv_sec = st.st_mtim.tv_sec + 1;
    ts[1].tv_nsec = 5;
    CHECK(utimensat(AT_FDCWD, fixture_path("mb"), ts, 0) == 0);
    CHECK_STR(subjects(f, 0), "one TWO");
    mail_folder_close(f, &err);
    clear_cache();
}

/* The subjects of the last `last` messages (mail_folder_list_last), as
 * subject_display with BORROW (flags added), else subject. */
static char *last_subjects(struct mail_folder *f, size_t last, int flags)
{
    static char buf[4096];
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct mail_error err;
    size_t i, n = 0;

    buf[0] = '\0';
    if (mail_folder_list_last(f, &l, last, flags, &err) < 0) {
        snprintf(buf, sizeof buf, "error: %s", err.msg);
        return buf;
    }
    for (i = 0; i < l.n; i++) {
        const char *s = (flags & MAIL_FOLDER_LIST_BORROW)
                            ? l.v[i].subject_display : l.v[i].subject;

        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", i ? " " : "",
                              s ? s : "-");
    }
    mail_envelope_list_release(&l);
    return buf;
}

/* Flip one bit of the cache file at the first (raw area) or the last
 * (display area) occurrence of s. */
static int flip_in_cache(const char *s, bool display)
{
    char buf[8192], *c = cache_file(), *p, *hit = NULL;
    FILE *fp = c ? fopen(c, "r+b") : NULL;
    size_t n;

    if (!fp)
        return -1;
    n = fread(buf, 1, sizeof buf, fp);
    for (p = buf; (p = memmem(p, n - (size_t)(p - buf), s, strlen(s)));
         p++) {
        hit = p;
        if (!display)
            break;
    }
    if (hit) {
        *hit ^= 1;
        fseek(fp, (long)(hit - buf), SEEK_SET);
        fwrite(hit, 1, 1, fp);
    }
    fclose(fp);
    return hit ? 0 : -1;
}

/*
 * Version 4 checks a record's strings when it is used, not the whole
 * file on every listing: the last N (ls -n) reads N records; a plain
 * listing (DISPLAY) reads only the display strings.  A damaged record
 * that is used, and any damage when the file is rewritten, still makes
 * the listing drop the cache and parse everything again.
 */
static void test_lazy_checks(void)
{
    struct mail_error err;
    struct mail_folder *f;
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    const int disp = MAIL_FOLDER_LIST_BORROW | MAIL_FOLDER_LIST_DISPLAY;

    f = mail_folder_open(fixture_path("lazy"),
                         MAIL_FOLDER_RDWR | MAIL_FOLDER_CREATE,
                         &fixture_paths, &err);
    if (!f)
        return;
    fixture_write("lazy/cur/1.a.h:2,S", "Subject: one\nContent-Type: "
                  "Multipart/Mixed; boundary=x\n\n--x--\n");
    fixture_write("lazy/cur/2.b.h:2,", "Subject: two\nFrom: Bo <b@x>\n\n2\n");
    fixture_write("lazy/new/3.c.h", "Subject: six\nTo: t@x\n\n3\n");
    /* the tail of a listing, from the parse and then from the cache */
    CHECK_STR(last_subjects(f, 2, 0), "two six");
    CHECK_STR(last_subjects(f, 2, MAIL_FOLDER_LIST_BORROW), "two six");
    CHECK_STR(last_subjects(f, 1, disp), "six");
    CHECK_STR(last_subjects(f, 0, disp), "one two six");
    CHECK_STR(last_subjects(f, 5, disp), "one two six");
    /* DISPLAY: the display strings, paths and flags; no raw header but
     * the multipart/mixed mark */
    CHECK(mail_folder_list_last(f, &l, 3, disp, &err) == 0);
    CHECK(l.n == 3 && l.v[0].content_type &&
          strcmp(l.v[0].content_type, "multipart/mixed") == 0);
    CHECK(l.n == 3 && l.v[0].flags == MAIL_FLAG_SEEN && l.v[0].subject == NULL);
    CHECK(l.n == 3 && l.v[1].content_type == NULL && l.v[1].from == NULL &&
          l.v[1].from_display && strcmp(l.v[1].from_display, "Bo") == 0);
    CHECK(l.n == 3 && l.v[2].key && strcmp(l.v[2].key, "3.c.h") == 0 &&
          l.v[2].path && strstr(l.v[2].path, "lazy/new/3.c.h") &&
          l.v[2].flags == MAIL_FLAG_NEW && l.v[2].to == NULL);
    mail_envelope_list_release(&l);
    /* without DISPLAY every string is there */
    CHECK(mail_folder_list_last(f, &l, 1, MAIL_FOLDER_LIST_BORROW, &err) == 0);
    CHECK(l.n == 1 && l.v[0].to && strcmp(l.v[0].to, "t@x") == 0 &&
          l.v[0].subject && strcmp(l.v[0].subject, "six") == 0);
    mail_envelope_list_release(&l);

    /* from here on, a listing that parses shows uppercase subjects */
    swap_bytes("lazy/cur/1.a.h:2,S", "Subject: ONE\nContent-Type: "
               "Multipart/Mixed; boundary=x\n\n--x--\n");
    swap_bytes("lazy/cur/2.b.h:2,", "Subject: TWO\nFrom: Bo <b@x>\n\n2\n");
    swap_bytes("lazy/new/3.c.h", "Subject: SIX\nTo: t@x\n\n3\n");
    CHECK_STR(last_subjects(f, 0, disp), "one two six");     /* hits */

    /* a damaged display block of a record that is shown: rebuilt */
    CHECK(flip_in_cache("six", true) == 0);
    CHECK_STR(last_subjects(f, 1, disp), "SIX");
    CHECK_STR(last_subjects(f, 0, disp), "ONE TWO SIX");    /* all parsed */

    /* a damaged raw block: a DISPLAY listing does not read it ... */
    swap_bytes("lazy/cur/1.a.h:2,S", "Subject: one\nContent-Type: "
               "Multipart/Mixed; boundary=x\n\n--x--\n");
    swap_bytes("lazy/cur/2.b.h:2,", "Subject: two\nFrom: Bo <b@x>\n\n2\n");
    swap_bytes("lazy/new/3.c.h", "Subject: six\nTo: t@x\n\n3\n");
    CHECK(flip_in_cache("b@x", false) == 0);
    CHECK_STR(last_subjects(f, 0, disp), "ONE TWO SIX");
    /* ... nor one of the last N of another record ... */
    CHECK_STR(last_subjects(f, 1, MAIL_FOLDER_LIST_BORROW), "SIX");
    /* ... but a listing that uses it finds it and rebuilds the cache */
    CHECK_STR(last_subjects(f, 2, MAIL_FOLDER_LIST_BORROW), "two six");
    CHECK_STR(last_subjects(f, 0, disp), "one two six");

    /* a damaged record that no listing shows is found when the file is
     * written again (here: a message delivered) */
    swap_bytes("lazy/cur/1.a.h:2,S", "Subject: ONE\nContent-Type: "
               "Multipart/Mixed; boundary=x\n\n--x--\n");
    swap_bytes("lazy/cur/2.b.h:2,", "Subject: TWO\nFrom: Bo <b@x>\n\n2\n");
    swap_bytes("lazy/new/3.c.h", "Subject: SIX\nTo: t@x\n\n3\n");
    CHECK(flip_in_cache("one", true) == 0);
    CHECK_STR(last_subjects(f, 1, disp), "six");             /* not used */
    fixture_write("lazy/new/4.d.h", "Subject: new\n\n4\n");
    CHECK_STR(last_subjects(f, 1, disp), "new");
    CHECK_STR(last_subjects(f, 0, disp), "ONE TWO SIX new"); /* rebuilt */
    mail_folder_close(f, &err);
    clear_cache();
}

/*
 * Version 5 matches a file name to its record by the key's 64-bit hash
 * and length, kept in the record area, so `ls -n N` reads the keys (in
 * the display blocks) of the N records it shows and no other: a damaged
 * key of a record not shown is not even read (the listing is all hits
 * and the file is not rewritten; before, every key was compared and the
 * cache rebuilt), and a listing that shows that record finds the damage
 * and rebuilds.
 */
static void test_last_reads_n_keys(void)
{
    struct mail_error err;
    struct mail_folder *f;
    const int disp = MAIL_FOLDER_LIST_BORROW | MAIL_FOLDER_LIST_DISPLAY;
    struct stat a, b;

    f = mail_folder_open(fixture_path("keys"),
                         MAIL_FOLDER_RDWR | MAIL_FOLDER_CREATE,
                         &fixture_paths, &err);
    if (!f)
        return;
    fixture_write("keys/cur/1.a.h:2,S", "Subject: one\n\n1\n");
    fixture_write("keys/cur/2.b.h:2,", "Subject: two\n\n2\n");
    fixture_write("keys/new/3.c.h", "Subject: six\n\n3\n");
    CHECK_STR(last_subjects(f, 0, disp), "one two six");
    swap_bytes("keys/cur/1.a.h:2,S", "Subject: ONE\n\n1\n");
    swap_bytes("keys/cur/2.b.h:2,", "Subject: TWO\n\n2\n");
    swap_bytes("keys/new/3.c.h", "Subject: SIX\n\n3\n");
    CHECK_STR(last_subjects(f, 0, disp), "one two six");     /* hits */
    CHECK(flip_in_cache("1.a.h", true) == 0);
    CHECK(cache_file() && stat(cache_file(), &a) == 0);
    CHECK_STR(last_subjects(f, 2, disp), "two six");
    CHECK_STR(last_subjects(f, 1, MAIL_FOLDER_LIST_BORROW), "six");
    CHECK(cache_file() && stat(cache_file(), &b) == 0 &&
          a.st_ino == b.st_ino && a.st_mtime == b.st_mtime);
    /* shown: the damage is found, and everything parsed again */
    CHECK_STR(last_subjects(f, 3, disp), "ONE TWO SIX");
    CHECK_STR(last_subjects(f, 2, disp), "TWO SIX");
    mail_folder_close(f, &err);
    clear_cache();
}

/*
 * The last N are picked by a partial selection, not a sort of all: the
 * same messages in the same order as the tail of a full listing, with
 * ties on the delivery time (one second) broken by the file name.
 */
static void test_last_order(void)
{
    struct mail_error err;
    struct mail_folder *f;
    const int disp = MAIL_FOLDER_LIST_BORROW | MAIL_FOLDER_LIST_DISPLAY;
    char name[64], body[64], all[4096], want[4096];
    static const int order[] = { 7, 2, 9, 0, 5, 3, 8, 1, 6, 4 };

    f = mail_folder_open(fixture_path("order"),
                         MAIL_FOLDER_RDWR | MAIL_FOLDER_CREATE,
                         &fixture_paths, &err);
    if (!f)
        return;
    /* names in no order; times 100, 100, 101, 101, ... */
    for (int i = 0; i < 10; i++) {
        int k = order[i];

        snprintf(name, sizeof name, "order/cur/%d.k%d.h:2,S", 100 + k / 2, k);
        snprintf(body, sizeof body, "Subject: s%d\n\n.\n", k);
        fixture_write(name, body);
    }
    for (int pass = 0; pass < 2; pass++) {   /* parsed, then cached */
        snprintf(all, sizeof all, "%s", last_subjects(f, 0, disp));
        CHECK_STR(all, "s0 s1 s2 s3 s4 s5 s6 s7 s8 s9");
        for (size_t n = 1; n <= 11; n++) {
            const char *tail = all;
            size_t skip = n < 10 ? 10 - n : 0;

            for (size_t i = 0; i < skip; i++)
                tail = strchr(tail, ' ') + 1;
            snprintf(want, sizeof want, "%s", tail);
            CHECK_STR(last_subjects(f, n, disp), want);
            CHECK_STR(last_subjects(f, n, 0), want);
        }
    }
    mail_folder_close(f, &err);
    clear_cache();
}

/* The same message in new/ and cur/ at once (another client's rename
 * caught half way, here a link): listed once, as in cur/, whether its
 * record is cached or not. */
static void test_twice(void)
{
    struct mail_error err;
    struct mail_folder *f;
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;

    f = mail_folder_open(fixture_path("twice"),
                         MAIL_FOLDER_RDWR | MAIL_FOLDER_CREATE,
                         &fixture_paths, &err);
    if (!f)
        return;
    fixture_write("twice/new/1.a.h", "Subject: one\n\n1\n");
    fixture_write("twice/new/2.b.h", "Subject: two\n\n2\n");
    CHECK(link(fixture_path("twice/new/2.b.h"),
               fixture_path("twice/cur/2.b.h:2,S")) == 0);
    for (int pass = 0; pass < 2; pass++) {   /* parsed, then cached */
        CHECK(mail_folder_list(f, &l, MAIL_FOLDER_LIST_BORROW, &err) == 0);
        CHECK(l.n == 2 && l.v[1].flags == MAIL_FLAG_SEEN &&
              strstr(l.v[1].path, "/cur/2.b.h:2,S") != NULL);
        mail_envelope_list_release(&l);
        CHECK(mail_folder_list(f, &l, 0, &err) == 0);
        CHECK(l.n == 2 && l.v[0].flags == MAIL_FLAG_NEW &&
              l.v[1].flags == MAIL_FLAG_SEEN);
        mail_envelope_list_release(&l);
    }
    /* cached, then the link appears */
    CHECK(unlink(fixture_path("twice/new/2.b.h")) == 0);
    CHECK_STR(subjects(f, 0), "one two");
    CHECK(link(fixture_path("twice/cur/2.b.h:2,S"),
               fixture_path("twice/new/2.b.h")) == 0);
    CHECK(mail_folder_list(f, &l, MAIL_FOLDER_LIST_BORROW, &err) == 0);
    CHECK(l.n == 2 && l.v[1].flags == MAIL_FLAG_SEEN);
    mail_envelope_list_release(&l);
    mail_folder_close(f, &err);
    clear_cache();
}

/* A listing's threading strings and what else it gave, one message per
 * "id|in-reply-to|references|from|to|subject shown" (a NULL as -), the
 * messages joined by spaces. */
static char *thread_strings(struct mail_folder *f, int flags)
{
    static char buf[4096];
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct mail_error err;
    size_t n = 0;

    buf[0] = '\0';
    if (mail_folder_list(f, &l, flags, &err) < 0) {
        snprintf(buf, sizeof buf, "error: %s", err.msg);
        return buf;
    }
    for (size_t i = 0; i < l.n; i++) {
        const struct mail_envelope *e = &l.v[i];
        const char *subj = e->subject_display ? e->subject_display
                                              : e->subject;

        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s|%s|%s|%s|%s|%s",
                              i ? " " : "",
                              e->message_id ? e->message_id : "-",
                              e->in_reply_to ? e->in_reply_to : "-",
                              e->references ? e->references : "-",
                              e->from ? e->from : "-", e->to ? e->to : "-",
                              subj ? subj : "-");
    }
    mail_envelope_list_release(&l);
    return buf;
}

/* The offset of the first occurrence of s in the cache file, or -1. */
static long cache_offset(const char *s)
{
    char buf[8192], *c = cache_file(), *p;
    FILE *fp = c ? fopen(c, "rb") : NULL;
    size_t n;

    if (!fp)
        return -1;
    n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    p = memmem(buf, n, s, strlen(s));
    return p ? (long)(p - buf) : -1;
}

static const char thr_msg[3][128] = {
    "Subject: one\nFrom: A <a@x>\nMessage-ID: <1@x>\n\n1\n",
    "Subject: two\nFrom: B <b@x>\nMessage-ID: <2@x>\nIn-Reply-To: <1@x>\n"
    "References: <1@x>\n\n2\n",
    "Subject: six\nTo: t@x\nMessage-ID: <3@x>\nReferences: <1@x> <2@x>\n"
    "\n3\n",
};
/* the same lengths: what a listing that parses the files shows */
static const char thr_new[3][128] = {
    "Subject: ONE\nFrom: A <a@x>\nMessage-ID: <1@y>\n\n1\n",
    "Subject: TWO\nFrom: B <b@x>\nMessage-ID: <2@y>\nIn-Reply-To: <1@y>\n"
    "References: <1@y>\n\n2\n",
    "Subject: SIX\nTo: t@x\nMessage-ID: <3@y>\nReferences: <1@y> <2@y>\n"
    "\n3\n",
};
#define THR_OLD "<1@x>|-|-|-|-|one <2@x>|<1@x>|<1@x>|-|-|two " \
                "<3@x>|-|<1@x> <2@x>|-|-|six"
#define THR_NEW "<1@y>|-|-|-|-|ONE <2@y>|<1@y>|<1@y>|-|-|TWO " \
                "<3@y>|-|<1@y> <2@y>|-|-|SIX"

/* thread_strings of a threaded listing (DISPLAY | THREAD, borrowed). */
static char *thread_listing(struct mail_folder *f)
{
    return thread_strings(f, MAIL_FOLDER_LIST_BORROW |
                                 MAIL_FOLDER_LIST_DISPLAY |
                                 MAIL_FOLDER_LIST_THREAD);
}

/* Put the messages m (thr_msg or thr_new) in the Maildir md or the mbox
 * file mb; with swap, behind the cache's back (keeping the files' names,
 * sizes and times). */
static void thr_files(const char *md, const char *mb, const char (*m)[128],
                      bool swap)
{
    static const char *names[3] = { "cur/1.a.h:2,S", "cur/2.b.h:2,",
                                    "new/3.c.h" };
    char rel[256];

    if (md) {
        for (int i = 0; i < 3; i++) {
            snprintf(rel, sizeof rel, "%s/%s", md, names[i]);
            if (swap)
                swap_bytes(rel, m[i]);
            else
                fixture_write(rel, m[i]);
        }
    } else {
        struct mail_buf b = MAIL_BUF_INIT;

        for (int i = 0; i < 3; i++)
            mail_buf_printf(&b, "From x@y Sat Jan  1 00:00:0%d 2022\n%s\n",
                            i, m[i]);
        if (swap)
            swap_bytes(mb, b.data);
        else
            fixture_write(mb, b.data);
        mail_buf_release(&b);
    }
}

/*
 * Version 6 keeps Message-ID, In-Reply-To and References in a third
 * block of each record, so that a threaded listing (DISPLAY | THREAD)
 * reads and checks the display and thread blocks and never the raw one
 * (in version 5 they were raw strings, and `ls --thread` mapped and
 * checked every record's raw block).  The block round-trips (a listing
 * from the cache gives the strings parsed before), damage in it (any
 * bit, or the file cut anywhere) is found by a threaded listing and the
 * cache rebuilt, and a damaged raw block is not even read.  Maildir (md
 * given) and mbox.
 */
static void thread_block_case(const char *md, const char *mb)
{
    struct mail_error err;
    struct mail_folder *f;
    const int thr = MAIL_FOLDER_LIST_BORROW | MAIL_FOLDER_LIST_DISPLAY |
                    MAIL_FOLDER_LIST_THREAD;
    const int disp = MAIL_FOLDER_LIST_BORROW | MAIL_FOLDER_LIST_DISPLAY;
    char good[1200], *c;
    long size, start;

    if (md) {
        f = mail_folder_open(fixture_path(md),
                             MAIL_FOLDER_RDWR | MAIL_FOLDER_CREATE,
                             &fixture_paths, &err);
        if (!f)
            return;
        thr_files(md, NULL, thr_msg, false);
    } else {
        thr_files(NULL, mb, thr_msg, false);
        f = mail_folder_open(fixture_path(mb), MAIL_FOLDER_RDWR,
                             &fixture_paths, &err);
        if (!f)
            return;
    }
    /* parsed, then from the cache: the threading strings and the display
     * ones, no other raw string */
    CHECK_STR(thread_strings(f, thr), THR_OLD);
    CHECK_STR(thread_strings(f, thr), THR_OLD);
    thr_files(md, md ? NULL : mb, thr_new, true);
    CHECK_STR(thread_strings(f, thr), THR_OLD);                 /* hits */
    /* DISPLAY alone: no threading string */
    CHECK_STR(thread_strings(f, disp), "-|-|-|-|-|one -|-|-|-|-|two "
                                       "-|-|-|-|-|six");
    /* everything, from the cache */
    CHECK_STR(thread_strings(f, MAIL_FOLDER_LIST_BORROW),
              "<1@x>|-|-|A <a@x>|-|one <2@x>|<1@x>|<1@x>|B <b@x>|-|two "
              "<3@x>|-|<1@x> <2@x>|-|t@x|six");

    /* the raw block damaged: a threaded listing does not read it */
    CHECK(flip_in_cache("b@x", false) == 0);
    CHECK_STR(thread_strings(f, thr), THR_OLD);
    /* (a listing that reads it finds it, and rebuilds) */
    CHECK_STR(thread_strings(f, MAIL_FOLDER_LIST_BORROW),
              "<1@y>|-|-|A <a@x>|-|ONE <2@y>|<1@y>|<1@y>|B <b@x>|-|TWO "
              "<3@y>|-|<1@y> <2@y>|-|t@x|SIX");
    CHECK_STR(thread_strings(f, thr), THR_NEW);
    thr_files(md, md ? NULL : mb, thr_msg, true);
    CHECK_STR(thread_strings(f, thr), THR_NEW);                 /* hits */

    /* the thread block damaged: a plain listing does not read it ... */
    CHECK(flip_in_cache("<1@y> <2@y>", true) == 0);
    CHECK_STR(thread_strings(f, disp), "-|-|-|-|-|ONE -|-|-|-|-|TWO "
                                       "-|-|-|-|-|SIX");
    /* ... a threaded one finds it and parses everything again */
    CHECK_STR(thread_strings(f, thr), THR_OLD);
    thr_files(md, md ? NULL : mb, thr_new, true);
    CHECK_STR(thread_strings(f, thr), THR_OLD);                 /* hits */

    /* every bit of the thread area, and every length of the file */
    c = cache_file();
    CHECK(c != NULL);
    if (!c)
        goto done;
    snprintf(good, sizeof good, "%s", fixture_path("thr-good.hc"));
    copy_file(c, good);
    size = file_size(good);
    start = cache_offset("<1@x>");   /* the thread area's first string */
    CHECK(start > 0 && start < size && cache_offset("<1@x>") == start);
    CHECK(start > 0 &&
          missed_flips(f, thread_listing, good, c, start, size, THR_NEW) == 0);
    CHECK(missed_cuts(f, thread_listing, good, c, THR_NEW) == 0);
    unlink(good);
done:
    mail_folder_close(f, &err);
    clear_cache();
}

static void test_thread_block(void)
{
    thread_block_case("thr", NULL);
}

static void test_mbox_thread_block(void)
{
    thread_block_case(NULL, "thr.mbox");
}

/* ---- a version 5 file, as the code before version 6 wrote it ---- */

struct v5_dhdr {
    char magic[7];
    uint8_t version;
    uint32_t bom, kind, nnum, pathlen, pad;
    uint64_t count, str_size, disp_size, meta[8], rec_check, check;
};

struct v5_drec {
    int64_t date;
    uint64_t key_hash;
    uint32_t str_off, disp_off;
    int32_t date_offset;
    uint32_t bits, attachments, str_len, disp_len, str_check, disp_check;
    uint16_t key_len, soff[11];
};

static uint64_t v5_fast(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t w;

    while (len >= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 32;
        p += 8;
        len -= 8;
    }
    w = 0;
    if (len)
        memcpy(&w, p, len);
    h = (h ^ w ^ ((uint64_t)len << 56)) * 0x9e3779b97f4a7c15ULL;
    return h ^ (h >> 29);
}

/*
 * Write a whole, valid version 5 cache for the Maildir dir, whose
 * records say every message's subject is STALE and its Message-ID <5@v>
 * (in the raw block), under the name the library gives that folder's
 * cache.  0 when written.
 */
static int write_v5(const char *dir, const char *const *keys,
                    const uint64_t *sizes, const uint64_t *times, size_t n)
{
    char *real = realpath(dir, NULL), name[64];
    struct v5_dhdr h;
    struct v5_drec d[8];
    struct mail_buf raw = MAIL_BUF_INIT, disp = MAIL_BUF_INIT,
                    file = MAIL_BUF_INIT;
    uint64_t fnv = 0xcbf29ce484222325ULL, nums[8][2], sum;
    size_t plen;
    char pathbuf[1024] = { 0 };
    FILE *fp;
    int rc = -1;

    if (!real || n > 8 || strlen(real) >= sizeof pathbuf - 8)
        goto out;
    for (const char *p = real; *p; p++)
        fnv = (fnv ^ (unsigned char)*p) * 0x100000001b3ULL;
    snprintf(name, sizeof name, "%016llx.hc", (unsigned long long)fnv);
    memset(&h, 0, sizeof h);
    memcpy(h.magic, "MAILHC", 7);
    h.version = 5;
    h.bom = 0x01020304u;
    h.kind = MAIL_FOLDER_MAILDIR;
    h.nnum = 2;
    h.pathlen = (uint32_t)strlen(real);
    plen = (h.pathlen + 1 + 7) & ~(size_t)7;
    memcpy(pathbuf, real, h.pathlen);
    memset(d, 0, sizeof d);
    for (size_t i = 0; i < n; i++) {
        size_t kl = strlen(keys[i]);

        nums[i][0] = sizes[i];
        nums[i][1] = times[i];
        for (int k = 0; k < 11; k++)
            d[i].soff[k] = 0xffff;
        d[i].bits = 4;                           /* HC_DISPLAY */
        d[i].str_off = (uint32_t)raw.len;
        mail_buf_add(&raw, "STALE\0<5@v>", 12);  /* HC_SUBJECT, HC_MESSAGE_ID */
        d[i].soff[4] = 0;
        d[i].soff[5] = 6;
        d[i].str_len = 12;
        d[i].str_check = (uint32_t)v5_fast(0xcbf29ce484222325ULL,
                                           raw.data + d[i].str_off, 12);
        d[i].disp_off = (uint32_t)disp.len;
        mail_buf_add(&disp, keys[i], kl + 1);     /* HC_KEY */
        mail_buf_add(&disp, "STALE", 6);          /* HC_SUBJECT_DISP */
        d[i].soff[0] = 0;
        d[i].soff[10] = (uint16_t)(kl + 1);
        d[i].key_len = (uint16_t)kl;
        d[i].key_hash = v5_fast(0xcbf29ce484222325ULL, keys[i], kl) | 1;
        d[i].disp_len = (uint32_t)(kl + 1 + 6);
        d[i].disp_check = (uint32_t)v5_fast(0xcbf29ce484222325ULL,
                                            disp.data + d[i].disp_off,
                                            d[i].disp_len);
    }
    h.count = n;
    h.str_size = raw.len;
    h.disp_size = disp.len;
    {
        unsigned char recs[8 * (16 + sizeof(struct v5_drec))];
        size_t rs = 16 + sizeof(struct v5_drec);

        for (size_t i = 0; i < n; i++) {
            memcpy(recs + i * rs, nums[i], 16);
            memcpy(recs + i * rs + 16, &d[i], sizeof d[i]);
        }
        h.rec_check = v5_fast(0xcbf29ce484222325ULL, recs, n * rs);
        h.check = 0;
        sum = v5_fast(0xcbf29ce484222325ULL, &h, sizeof h);
        h.check = v5_fast(sum, pathbuf, plen);
        mail_buf_add(&file, &h, sizeof h);
        mail_buf_add(&file, pathbuf, plen);
        mail_buf_add(&file, recs, n * rs);
    }
    mail_buf_add(&file, raw.data, raw.len);
    mail_buf_add(&file, disp.data, disp.len);
    mkdir(fixture_path("cache/mail"), 0700);
    {
        char full[1100];

        snprintf(full, sizeof full, "%s/%s", fixture_path("cache/mail"),
                 name);
        fp = fopen(full, "wb");
    }
    if (fp && fwrite(file.data, 1, file.len, fp) == file.len)
        rc = 0;
    if (fp)
        fclose(fp);
out:
    free(real);
    mail_buf_release(&raw);
    mail_buf_release(&disp);
    mail_buf_release(&file);
    return rc;
}

/*
 * A whole version 5 file (the format before the thread block) is
 * recognized as another version: its records are never read (they say
 * STALE), the messages are parsed and the file is rewritten in version 6.
 */
static void test_v5_rebuilt(void)
{
    struct mail_error err;
    struct mail_folder *f;
    const int thr = MAIL_FOLDER_LIST_BORROW | MAIL_FOLDER_LIST_DISPLAY |
                    MAIL_FOLDER_LIST_THREAD;
    static const char *const keys[3] = { "1.a.h", "2.b.h", "3.c.h" };
    uint64_t sizes[3], times[3];
    struct stat st;
    int fd;
    char v = 0;

    f = mail_folder_open(fixture_path("v5"),
                         MAIL_FOLDER_RDWR | MAIL_FOLDER_CREATE,
                         &fixture_paths, &err);
    if (!f)
        return;
    thr_files("v5", NULL, thr_msg, false);
    for (int i = 0; i < 3; i++) {
        static const char *rel[3] = { "v5/cur/1.a.h:2,S", "v5/cur/2.b.h:2,",
                                      "v5/new/3.c.h" };

        CHECK(stat(fixture_path(rel[i]), &st) == 0);
        sizes[i] = (uint64_t)st.st_size;
        times[i] = (uint64_t)st.st_mtime;
    }
    clear_cache();
    CHECK(write_v5(fixture_path("v5"), keys, sizes, times, 3) == 0);
    CHECK(cache_file() != NULL);
    CHECK_STR(thread_strings(f, thr), THR_OLD);
    CHECK_STR(subjects(f, 0), "one two six");
    fd = cache_file() ? open(cache_file(), O_RDONLY) : -1;
    CHECK(fd >= 0 && pread(fd, &v, 1, 7) == 1 && v == 6);   /* rewritten */
    if (fd >= 0)
        close(fd);
    thr_files("v5", NULL, thr_new, true);
    CHECK_STR(thread_strings(f, thr), THR_OLD);              /* hits */
    mail_folder_close(f, &err);
    clear_cache();
}

/* Mappings of the cache directory's files in this process. */
static int cache_mappings(void)
{
    char line[4200];
    const char *dir = fixture_path("cache/mail");
    FILE *m = fopen("/proc/self/maps", "r");
    int n = 0;

    if (!m)
        return -1;
    while (fgets(line, sizeof line, m))
        n += strstr(line, dir) != NULL;
    fclose(m);
    return n;
}

/* A folder listed again and again with borrowed envelopes, each list
 * released before the next listing (the reader's syncs), keeps the
 * memory of the latest listings only: the folder lets go of a listing's
 * lease once its list is gone.  mbox kept every listing's cache mapping
 * until it was closed. */
static void test_relist_keeps_one(void)
{
    const char *names[] = { "rl-md", "rl.mbox" };

    mkdir(fixture_path("rl-md"), 0700);
    mkdir(fixture_path("rl-md/cur"), 0700);
    mkdir(fixture_path("rl-md/new"), 0700);
    mkdir(fixture_path("rl-md/tmp"), 0700);
    fixture_write("rl-md/cur/1.a.h:2,", "Subject: aa\n\n1\n");
    fixture_write("rl-md/new/2.b.h", "Subject: bb\n\n2\n");
    fixture_write("rl.mbox", MBD1 MBD2);
    for (size_t k = 0; k < 2; k++) {
        struct mail_error err;
        struct mail_folder *f;
        int most = 0;

        clear_cache();
        f = mail_folder_open(fixture_path(names[k]), MAIL_FOLDER_RDONLY,
                             &fixture_paths, &err);
        CHECK(f != NULL);
        if (!f)
            continue;
        for (int i = 0; i < 20; i++) {
            struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
            int n;

            CHECK(mail_folder_list(f, &l, MAIL_FOLDER_LIST_BORROW |
                                   MAIL_FOLDER_LIST_DISPLAY, &err) == 0);
            CHECK(l.n == 2);
            n = cache_mappings();
            if (n > most)
                most = n;
            mail_envelope_list_release(&l);
        }
        printf("# %s: at most %d mappings of the cache\n", names[k], most);
        CHECK(most >= 1 && most <= 2);
        mail_folder_close(f, &err);
        CHECK(cache_mappings() == 0);
    }
}

int main(void)
{
    if (fixture_open("hcache") < 0)
        return 1;
    RUN(test_maildir_cache);
    RUN(test_damaged_cache);
    RUN(test_concurrent_listings);
    RUN(test_mbox_cache);
    RUN(test_mbox_utime);
    RUN(test_mbox_borrow);
    RUN(test_lazy_checks);
    RUN(test_twice);
    RUN(test_last_reads_n_keys);
    RUN(test_last_order);
    RUN(test_thread_block);
    RUN(test_mbox_thread_block);
    RUN(test_v5_rebuilt);
    RUN(test_relist_keeps_one);
    fixture_close();
    return test_done();
}
