/*
 * fixture.h - a scratch directory for a unit test program that works on
 * files: made at the start, removed at the end, and the library's
 * directories (struct mail_paths) inside it, so that no test writes to
 * the user's cache or state.
 *
 *     int main(void)
 *     {
 *         if (fixture_open("maildir") < 0)
 *             return 1;
 *         RUN(test_list);          // fixture_path("Mail"), &fixture_paths
 *         fixture_close();
 *         return test_done();
 *     }
 */
#ifndef MAIL_TEST_FIXTURE_H
#define MAIL_TEST_FIXTURE_H

#define _XOPEN_SOURCE_EXTENDED 1
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/folder.h"
#include "mail/paths.h"

static char fixture_root[64];
static struct mail_paths fixture_paths;

static inline int fixture_rm(const char *p, const struct stat *st, int flag,
                             struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/* ROOT/rel, in one of four rotating buffers (so that a call may take
 * two or three paths at once). */
static inline char *fixture_path(const char *rel)
{
    static char buf[4][1024];
    static int i;

    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", fixture_root, rel);
    return buf[i];
}

static inline char *fixture_dup(const char *rel)
{
    return strdup(fixture_path(rel));
}

/* /tmp/mail-test-NAME-XXXXXX, with home = the root, cache, state and
 * data homes and the temporary directory below it (made on demand by the
 * library). */
static inline int fixture_open(const char *name)
{
    snprintf(fixture_root, sizeof fixture_root, "/tmp/mail-test-%s-XXXXXX",
             name);
    if (!mkdtemp(fixture_root))
        return -1;
    fixture_paths.home = fixture_dup("");
    fixture_paths.config_home = fixture_dup("config");
    fixture_paths.data_home = fixture_dup("data");
    fixture_paths.state_home = fixture_dup("state");
    fixture_paths.cache_home = fixture_dup("cache");
    fixture_paths.tmp_dir = strdup(fixture_root);
    return fixture_paths.home && fixture_paths.config_home &&
           fixture_paths.data_home && fixture_paths.state_home &&
           fixture_paths.cache_home && fixture_paths.tmp_dir ? 0 : -1;
}

static inline void fixture_close(void)
{
    nftw(fixture_root, fixture_rm, 16, FTW_DEPTH | FTW_PHYS);
    mail_paths_release(&fixture_paths);
}

/* Write data to ROOT/rel (a test failure is left to the caller's checks
 * of what it then reads). */
static inline void fixture_write(const char *rel, const char *data)
{
    FILE *f = fopen(fixture_path(rel), "w");

    if (!f) {
        printf("# cannot write %s\n", rel);
        return;
    }
    fputs(data, f);
    fclose(f);
}

/* Message e of f, whole, in a malloc'd string; NULL (said) on an error. */
static inline char *fixture_fetch(struct mail_folder *f,
                                  const struct mail_envelope *e)
{
    struct mail_buf b = MAIL_BUF_INIT;
    struct mail_error err;

    if (mail_folder_fetch(f, e, mail_sink_buf, &b, &err) < 0) {
        printf("# fetch: %s\n", err.msg);
        mail_buf_release(&b);
        return NULL;
    }
    return mail_buf_detach(&b);
}

#endif
