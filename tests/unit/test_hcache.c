/*
 * test_hcache.c - the header cache: hits, misses, invalidation and
 * corrupt files, seen through folder listings.
 *
 * A hit is made visible by changing a message's bytes behind the cache's
 * back while keeping its size and mtime (what the cache is keyed by): a
 * listing that shows the old subject came from the cache.
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/folder.h"
#include "test.h"
#include "test_paths.h"

static char *root;

static int rm_one(const char *p, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static char *path_of(const char *rel)
{
    static char buf[4][1024];
    static int i;

    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", root, rel);
    return buf[i];
}

static void write_file(const char *rel, const char *data)
{
    FILE *f = fopen(path_of(rel), "w");

    if (!f)
        return;
    fputs(data, f);
    fclose(f);
}

/* Rewrite a file with new bytes of the same length, keeping its mtime. */
static void swap_bytes(const char *rel, const char *data)
{
    struct stat st;
    struct timespec ts[2];

    if (stat(path_of(rel), &st) < 0)
        return;
    write_file(rel, data);
    ts[0] = st.st_atim;
    ts[1] = st.st_mtim;
    utimensat(AT_FDCWD, path_of(rel), ts, 0);
}

/* The one cache file in cache/mail/ (there is one folder per test). */
static char *cache_file(void)
{
    static char buf[1100];
    DIR *d = opendir(path_of("cache/mail"));
    struct dirent *de;

    buf[0] = '\0';
    if (!d)
        return NULL;
    while ((de = readdir(d)) != NULL)
        if (strlen(de->d_name) > 3 &&
            strcmp(de->d_name + strlen(de->d_name) - 3, ".hc") == 0)
            snprintf(buf, sizeof buf, "%s/%s", path_of("cache/mail"),
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

static void test_maildir_cache(void)
{
    struct mail_error err;
    struct mail_folder *f;
    char *c;
    FILE *fp;
    struct timespec ts[2];

    f = mail_folder_open(path_of("md"), MAIL_FOLDER_RDWR | MAIL_FOLDER_CREATE, test_env_paths(),
                         &err);
    if (!f)
        return;
    write_file("md/cur/1.a.h:2,", "Subject: aa\n\n1\n");
    write_file("md/cur/2.b.h:2,S", "Subject: bb\n\n2\n");
    write_file("md/new/3.c.h", "Subject: cc\n\n3\n");
    CHECK(cache_file() == NULL);
    CHECK_STR(subjects(f, 0), "aa bb cc");          /* miss: parsed */
    CHECK(cache_file() != NULL);
    swap_bytes("md/cur/1.a.h:2,", "Subject: AA\n\n1\n");
    CHECK_STR(subjects(f, 0), "aa bb cc");          /* hit */

    /* a flag change is a rename: still a hit */
    CHECK(rename(path_of("md/cur/1.a.h:2,"), path_of("md/cur/1.a.h:2,FS"))
          == 0);
    CHECK_STR(subjects(f, 0), "aa bb cc");
    /* another mtime or size: a miss */
    ts[0].tv_sec = ts[1].tv_sec = 1000;
    ts[0].tv_nsec = ts[1].tv_nsec = 0;
    utimensat(AT_FDCWD, path_of("md/cur/1.a.h:2,FS"), ts, 0);
    CHECK_STR(subjects(f, 0), "AA bb cc");
    write_file("md/cur/2.b.h:2,S", "Subject: BBB\n\n2\n");
    CHECK_STR(subjects(f, 0), "AA BBB cc");
    /* a removed message leaves the cache; a new one enters */
    unlink(path_of("md/new/3.c.h"));
    write_file("md/new/4.d.h", "Subject: dd\n\n4\n");
    CHECK_STR(subjects(f, 0), "AA BBB dd");

    /* garbage, truncation, a flipped byte: ignored and rebuilt */
    c = cache_file();
    fp = c ? fopen(c, "w") : NULL;
    if (fp) {
        fputs("MAILHC\0garbage garbage garbage garbage garbage", fp);
        fclose(fp);
    }
    swap_bytes("md/new/4.d.h", "Subject: DD\n\n4\n");
    CHECK_STR(subjects(f, 0), "AA BBB DD");
    swap_bytes("md/new/4.d.h", "Subject: dd\n\n4\n");
    CHECK_STR(subjects(f, 0), "AA BBB DD");         /* rebuilt: a hit */
    c = cache_file();
    if (c) {
        struct stat st;

        stat(c, &st);
        CHECK(truncate(c, st.st_size / 2) == 0);
    }
    CHECK_STR(subjects(f, 0), "AA BBB dd");
    c = cache_file();
    if (c) {
        int fd = open(c, O_RDWR);
        char byte;

        /* a byte inside a record: the checksum catches it */
        if (fd >= 0 && pread(fd, &byte, 1, 150) == 1) {
            byte ^= 0x20;
            CHECK(pwrite(fd, &byte, 1, 150) == 1);
        }
        if (fd >= 0)
            close(fd);
    }
    swap_bytes("md/new/4.d.h", "Subject: DD\n\n4\n");
    CHECK_STR(subjects(f, 0), "AA BBB DD");

    /* attachment counts are cached once asked for */
    CHECK_STR(subjects(f, MAIL_FOLDER_LIST_ATTACHMENTS), "AA BBB DD");
    swap_bytes("md/new/4.d.h", "Subject: dd\n\n4\n");
    CHECK_STR(subjects(f, MAIL_FOLDER_LIST_ATTACHMENTS), "AA BBB DD");
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

    write_file("mb", MB1 MB2);
    f = mail_folder_open(path_of("mb"), MAIL_FOLDER_RDWR, test_env_paths(), &err);
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
    fp = fopen(path_of("mb"), "a");
    if (fp) {
        fputs(MB3, fp);
        fclose(fp);
    }
    CHECK_STR(subjects(f, 0), "one two six");
    /* grown, but the bytes at the old end differ: all parsed again */
    write_file("mb", "From a Tue Nov  3 10:00:00 2026\nSubject: ONE\n\n1\n\n"
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
    write_file("mb", MB3);
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

int main(void)
{
    char tmpl[] = "/tmp/mail-test-hcache-XXXXXX";
    char cache[1100];

    root = mkdtemp(tmpl);
    if (!root)
        return 1;
    snprintf(cache, sizeof cache, "%s/cache", root);
    setenv("XDG_CACHE_HOME", cache, 1);
    RUN(test_maildir_cache);
    RUN(test_mbox_cache);
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return test_done();
}
