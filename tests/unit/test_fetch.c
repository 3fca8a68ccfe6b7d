/* test_fetch.c - the fetch engine: names, patterns, the lock, the state,
 * the journal and its recovery after a crash, destinations. */
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/fetch.h"
#include "mail/folder.h"
#include "test.h"
#include "test_paths.h"

static char root[256];
static char statedir[300], md[300];

static int rm_one(const char *p, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static size_t count_dir(const char *dir, const char *sub)
{
    char p[400];
    DIR *d;
    struct dirent *de;
    size_t n = 0;

    snprintf(p, sizeof p, "%s/%s", dir, sub);
    d = opendir(p);
    if (!d)
        return 0;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static void fresh(void)
{
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    mkdir(root, 0700);
    snprintf(statedir, sizeof statedir, "%s/state", root);
    snprintf(md, sizeof md, "%s/Maildir", root);
    mkdir(statedir, 0700);
}

static void test_names(void)
{
    char *n = mail_fetch_file_name("work", "pop3 a/b@h:995", ".state");

    CHECK_STR(n, "work,pop3,a%2Fb@h%3A995.state");
    free(n);
    n = mail_fetch_file_name("..", NULL, ".lock");
    CHECK(n && strchr(n, '/') == NULL && n[0] != '.');
    free(n);
}

static void test_patterns(void)
{
    CHECK(mail_fetch_pattern_match("INBOX", "inbox", '/'));
    CHECK(!mail_fetch_pattern_match("INBOX", "INBOX/x", '/'));
    CHECK(mail_fetch_pattern_match("Lists/*", "Lists/dev", '/'));
    CHECK(mail_fetch_pattern_match("Lists/*", "Lists/dev/x", '/'));
    CHECK(mail_fetch_pattern_match("Lists/%", "Lists/dev", '/'));
    CHECK(!mail_fetch_pattern_match("Lists/%", "Lists/dev/x", '/'));
    CHECK(mail_fetch_pattern_match("*", "anything/at/all", '/'));
    CHECK(!mail_fetch_pattern_match("Lists/*", "Other", '/'));
    CHECK(mail_fetch_pattern_match("%", "Sent", '.'));
}

static void test_lock(void)
{
    struct mail_error err;
    int a, b;

    fresh();
    a = mail_fetch_lock(statedir, "acct", false, &err);
    CHECK(a >= 0);
    b = mail_fetch_lock(statedir, "acct", false, &err);
    CHECK(b < 0 && err.kind == MAIL_ERR_TEMP);
    CHECK(strstr(err.msg, "another mail fetch for account acct") != NULL);
    b = mail_fetch_lock(statedir, "other", false, &err);
    CHECK(b >= 0);
    mail_fetch_unlock(b);
    mail_fetch_unlock(a);
    a = mail_fetch_lock(statedir, "acct", false, &err);
    CHECK(a >= 0);
    mail_fetch_unlock(a);
}

static int deliver(struct mail_fetch_src *s, size_t i, const char *body,
                   unsigned flags)
{
    struct mail_error err;

    if (mail_fetch_msg_begin(s, i, flags, 0, &err) < 0)
        return -1;
    CHECK(mail_fetch_msg_write(s, body, strlen(body), &err) == 0);
    return mail_fetch_msg_end(s, true, &err);
}

static void test_state(void)
{
    struct mail_error err;
    struct mail_fetch_dest *d;
    struct mail_fetch_src *s;
    const char *uids[] = { "u1", "u2", "u3" };
    const char *present[] = { "u2", "u3" };

    fresh();
    d = mail_fetch_dest_open(test_env_paths(), md, NULL, &err);
    CHECK(d != NULL);
    s = mail_fetch_src_open(statedir, "a", "pop3 x@h:1", d, false, &err);
    CHECK(s != NULL);
    CHECK(!mail_fetch_seen(s, "u1"));
    CHECK(mail_fetch_batch_begin(s, uids, 3, &err) == 0);
    CHECK(deliver(s, 0, "Subject: 1\n\none\n", 0) == 0);
    CHECK(deliver(s, 1, "Subject: 2\n\ntwo\n", MAIL_FLAG_SEEN) == 0);
    CHECK(deliver(s, 2, "Subject: 3\n\nthree\n", 0) == 0);
    CHECK(!mail_fetch_seen(s, "u1"));   /* not before the commit */
    CHECK(mail_fetch_batch_commit(s, &err) == 3);
    CHECK(mail_fetch_seen(s, "u1") && mail_fetch_seen(s, "u3"));
    CHECK(count_dir(md, "new") == 2 && count_dir(md, "cur") == 1);
    CHECK(count_dir(md, "tmp") == 0);
    CHECK(mail_fetch_src_close(s, present, 2, &err) == 0);

    s = mail_fetch_src_open(statedir, "a", "pop3 x@h:1", d, false, &err);
    CHECK(s != NULL);
    CHECK(!mail_fetch_seen(s, "u1"));   /* pruned: gone from the server */
    CHECK(mail_fetch_seen(s, "u2") && mail_fetch_seen(s, "u3"));
    CHECK(mail_fetch_seen_count(s) == 2);
    mail_fetch_src_free(s);
    mail_fetch_dest_close(d);
}

/* fetch-oversized = headers: the header of UID is kept under the key
 * "UID/header", which survives pruning when listed as present and does
 * not make UID itself count as fetched. */
static void test_header_keys(void)
{
    struct mail_error err;
    struct mail_fetch_dest *d;
    struct mail_fetch_src *s;
    const char *keys[] = { "big1/header" };
    const char *present[] = { "big1", "big1/header" };

    fresh();
    d = mail_fetch_dest_open(test_env_paths(), md, NULL, &err);
    CHECK(d != NULL);
    s = mail_fetch_src_open(statedir, "a", "pop3 x@h:1", d, false, &err);
    CHECK(s != NULL);
    CHECK(mail_fetch_batch_begin(s, keys, 1, &err) == 0);
    CHECK(deliver(s, 0, "X-Mail-Fetch-Truncated: 9 bytes not downloaded\n"
                  "Subject: big\n\n", 0) == 0);
    CHECK(mail_fetch_batch_commit(s, &err) == 1);
    CHECK(mail_fetch_seen(s, "big1/header") && !mail_fetch_seen(s, "big1"));
    CHECK(mail_fetch_src_close(s, present, 2, &err) == 0);
    s = mail_fetch_src_open(statedir, "a", "pop3 x@h:1", d, false, &err);
    CHECK(s != NULL);
    CHECK(mail_fetch_seen(s, "big1/header") && !mail_fetch_seen(s, "big1"));
    CHECK(mail_fetch_src_close(s, present, 1, &err) == 0);   /* pruned */
    s = mail_fetch_src_open(statedir, "a", "pop3 x@h:1", d, false, &err);
    CHECK(s != NULL);
    CHECK(!mail_fetch_seen(s, "big1/header"));
    mail_fetch_src_free(s);
    mail_fetch_dest_close(d);
}

/* A crash after delivery, before the D records: the file is found by its
 * name.  A crash before the rename: fetched again, no tmp file left. */
static void test_recovery(void)
{
    struct mail_error err;
    struct mail_fetch_dest *d;
    struct mail_fetch_src *s;
    struct mail_fetch_stats st;
    const char *uids[] = { "10", "11" };

    fresh();
    d = mail_fetch_dest_open(test_env_paths(), md, NULL, &err);
    s = mail_fetch_src_open(statedir, "a", "imap x@h:1 INBOX", d, true, &err);
    CHECK(mail_fetch_set_uidvalidity(s, 7, &err) == 0);
    CHECK(mail_fetch_batch_begin(s, uids, 2, &err) == 0);
    CHECK(deliver(s, 0, "Subject: a\n\nA\n", 0) == 0);
    CHECK(mail_fetch_msg_begin(s, 1, 0, 0, &err) == 0);
    CHECK(mail_fetch_msg_write(s, "Subject: partial", 16, &err) == 0);
    /* Both wait in tmp/: a batch is placed only once all of it is
     * durable (one syncfs at the commit). */
    CHECK(count_dir(md, "tmp") == 2 && count_dir(md, "new") == 0);
    mail_fetch_src_free(s);        /* "kill -9" before the commit */

    /* Nothing was placed, so nothing counts as fetched: both come again,
     * and tmp/ is clean. */
    s = mail_fetch_src_open(statedir, "a", "imap x@h:1 INBOX", d, true, &err);
    CHECK(s != NULL);
    CHECK(!mail_fetch_seen(s, "10"));
    CHECK(!mail_fetch_seen(s, "11"));
    CHECK(count_dir(md, "new") == 0 && count_dir(md, "tmp") == 0);
    CHECK(mail_fetch_batch_begin(s, uids, 1, &err) == 0);
    CHECK(deliver(s, 0, "Subject: a\n\nA\n", 0) == 0);
    CHECK(mail_fetch_batch_commit(s, &err) == 1);
    CHECK(mail_fetch_seen(s, "10"));
    CHECK(mail_fetch_uidvalidity(s) == 7);
    CHECK(mail_fetch_last_uid(s) == 10);
    CHECK(count_dir(md, "new") == 1 && count_dir(md, "tmp") == 0);
    mail_fetch_stats(s, &st);
    CHECK(st.delivered == 1);
    CHECK(mail_fetch_src_close(s, NULL, 0, &err) == 0);
    s = mail_fetch_src_open(statedir, "a", "imap x@h:1 INBOX", d, true, &err);
    CHECK(s != NULL);

    /* UIDVALIDITY changes: the re-fetch of a known message is dropped. */
    CHECK(mail_fetch_set_uidvalidity(s, 8, &err) == 1);
    CHECK(!mail_fetch_seen(s, "10"));
    {
        const char *u2[] = { "1", "2" };

        CHECK(mail_fetch_batch_begin(s, u2, 2, &err) == 0);
        CHECK(deliver(s, 0, "Subject: a\n\nA\n", 0) == 0);
        CHECK(deliver(s, 1, "Subject: b\n\nB\n", 0) == 0);
        CHECK(mail_fetch_batch_commit(s, &err) == 2);
    }
    mail_fetch_stats(s, &st);
    CHECK(st.duplicates == 1 && st.delivered == 1);
    CHECK(count_dir(md, "new") == 2);
    CHECK(mail_fetch_src_close(s, NULL, 0, &err) == 0);
    s = mail_fetch_src_open(statedir, "a", "imap x@h:1 INBOX", d, true, &err);
    CHECK(mail_fetch_uidvalidity(s) == 8);
    CHECK(mail_fetch_seen(s, "1") && mail_fetch_seen(s, "2"));
    mail_fetch_src_free(s);
    mail_fetch_dest_close(d);
}

static void test_mbox_and_mda(void)
{
    struct mail_error err;
    struct mail_fetch_dest *d;
    struct mail_fetch_src *s;
    const char *uids[] = { "a", "b" };
    char path[400], cmd[800];
    struct stat st;

    fresh();
    snprintf(path, sizeof path, "mbox:%s/box", root);
    d = mail_fetch_dest_open(test_env_paths(), path, NULL, &err);
    CHECK(d != NULL && mail_fetch_dest_kind(d) == MAIL_FETCH_MBOX);
    s = mail_fetch_src_open(statedir, "m", "pop3 x@h:1", d, false, &err);
    CHECK(mail_fetch_batch_begin(s, uids, 2, &err) == 0);
    CHECK(deliver(s, 0, "Subject: a\n\nFrom me\n", 0) == 0);
    mail_fetch_src_free(s);     /* crash before the commit */
    /* Recovery cuts the unrecorded message off (it may be cut short) and
     * it is fetched again: exactly once, never half. */
    s = mail_fetch_src_open(statedir, "m", "pop3 x@h:1", d, false, &err);
    CHECK(s != NULL);
    CHECK(!mail_fetch_seen(s, "a"));
    CHECK(!mail_fetch_seen(s, "b"));
    {
        char box[400];
        struct stat bst;

        snprintf(box, sizeof box, "%s/box", root);
        CHECK(stat(box, &bst) == 0 && bst.st_size == 0);
    }
    mail_fetch_src_free(s);
    mail_fetch_dest_close(d);

    snprintf(cmd, sizeof cmd, "cat >> %s/mda.out", root);
    d = mail_fetch_dest_open(test_env_paths(), NULL, cmd, &err);
    s = mail_fetch_src_open(statedir, "x", "pop3 x@h:1", d, false, &err);
    CHECK(mail_fetch_batch_begin(s, uids, 2, &err) == 0);
    CHECK(deliver(s, 0, "one\n", 0) == 0);
    CHECK(mail_fetch_batch_commit(s, &err) == 1);
    mail_fetch_src_free(s);
    mail_fetch_dest_close(d);
    snprintf(path, sizeof path, "%s/mda.out", root);
    CHECK(stat(path, &st) == 0 && st.st_size == 4);

    d = mail_fetch_dest_open(test_env_paths(), NULL, "cat >/dev/null; exit 3", &err);
    s = mail_fetch_src_open(statedir, "y", "pop3 x@h:1", d, false, &err);
    CHECK(mail_fetch_batch_begin(s, uids, 1, &err) == 0);
    CHECK(deliver(s, 0, "one\n", 0) < 0);
    CHECK(mail_fetch_batch_commit(s, &err) == 0);
    CHECK(!mail_fetch_seen(s, "a"));
    mail_fetch_src_free(s);
    mail_fetch_dest_close(d);
}

/* --mda runs through the one fork/exec helper on the whole message: its
 * standard input is the spooled message (a regular file, from the start),
 * never a pipe fed while the message is still arriving; exit 0 delivers,
 * 75 is temporary, any other status or a signal is an error; a message
 * whose download failed never reaches the command. */
static void test_mda_spawn(void)
{
    struct mail_error err;
    struct mail_fetch_dest *d;
    struct mail_fetch_src *s;
    const char *uids[] = { "a", "b" };
    char cmd[1200], path[400], line[200];
    FILE *f;

    fresh();
    snprintf(cmd, sizeof cmd, "stat -L -c %%F /dev/stdin >> %s/kind; "
             "cat >> %s/mda.out; echo ran >> %s/runs", root, root, root);
    d = mail_fetch_dest_open(test_env_paths(), NULL, cmd, &err);
    CHECK(d != NULL && mail_fetch_dest_kind(d) == MAIL_FETCH_MDA);
    s = mail_fetch_src_open(statedir, "x", "pop3 x@h:1", d, false, &err);
    CHECK(mail_fetch_batch_begin(s, uids, 2, &err) == 0);
    CHECK(deliver(s, 0, "Subject: one\n\nOne\n", 0) == 0);
    /* a download that failed half-way: not given to the MDA */
    CHECK(mail_fetch_msg_begin(s, 1, 0, 0, &err) == 0);
    CHECK(mail_fetch_msg_write(s, "Subject: partial", 16, &err) == 0);
    CHECK(mail_fetch_msg_end(s, false, &err) == 0);
    CHECK(mail_fetch_batch_commit(s, &err) == 1);
    mail_fetch_src_free(s);
    mail_fetch_dest_close(d);
    snprintf(path, sizeof path, "%s/kind", root);
    f = fopen(path, "r");
    CHECK(f && fgets(line, sizeof line, f));
    CHECK_STR(line, "regular file\n");
    if (f)
        fclose(f);
    snprintf(path, sizeof path, "%s/runs", root);
    f = fopen(path, "r");
    CHECK(f && fgets(line, sizeof line, f) && !fgets(line, sizeof line, f));
    if (f)
        fclose(f);

    for (int k = 0; k < 3; k++) {
        static const char *const cmds[] = { "cat >/dev/null; exit 75",
                                            "cat >/dev/null; exit 3",
                                            "kill -9 $$" };
        static const enum mail_error_kind kinds[] = {
            MAIL_ERR_TEMP, MAIL_ERR_UNAVAIL, MAIL_ERR_UNAVAIL };

        d = mail_fetch_dest_open(test_env_paths(), NULL, cmds[k], &err);
        s = mail_fetch_src_open(statedir, "y", "pop3 x@h:1", d, false, &err);
        CHECK(mail_fetch_batch_begin(s, uids, 1, &err) == 0);
        CHECK(mail_fetch_msg_begin(s, 0, 0, 0, &err) == 0);
        CHECK(mail_fetch_msg_write(s, "one\n", 4, &err) == 0);
        mail_error_clear(&err);
        CHECK(mail_fetch_msg_end(s, true, &err) < 0);
        printf("# %s\n", err.msg);
        CHECK(err.kind == kinds[k]);
        CHECK(strstr(err.msg, cmds[k]) != NULL);
        CHECK(mail_fetch_batch_commit(s, &err) == 0);
        CHECK(!mail_fetch_seen(s, "a"));
        mail_fetch_src_free(s);
        mail_fetch_dest_close(d);
    }
}

/* The same UID twice in one reply (a server bug, or a proto layer that
 * passes it on): delivered once, the batch goes on, for every kind of
 * destination. */
static void test_same_uid_twice(void)
{
    struct mail_error err;
    const char *uids[] = { "5", "6" };
    char path[420], cmd[800], box[400];

    for (int k = 0; k < 3; k++) {
        struct mail_fetch_dest *d;
        struct mail_fetch_src *s;
        struct mail_fetch_stats st;

        fresh();
        snprintf(box, sizeof box, "%s/box", root);
        snprintf(path, sizeof path, "mbox:%s", box);
        snprintf(cmd, sizeof cmd, "cat >> %s/mda.out", root);
        d = k == 0 ? mail_fetch_dest_open(test_env_paths(), md, NULL, &err)
          : k == 1 ? mail_fetch_dest_open(test_env_paths(), path, NULL, &err)
                   : mail_fetch_dest_open(test_env_paths(), NULL, cmd, &err);
        CHECK(d != NULL);
        s = mail_fetch_src_open(statedir, "a", "imap x@h:1 INBOX", d, true,
                                &err);
        CHECK(s != NULL);
        CHECK(mail_fetch_batch_begin(s, uids, 2, &err) == 0);
        CHECK(deliver(s, 0, "Subject: five\n\nFive\n", 0) == 0);
        CHECK(deliver(s, 0, "Subject: five\n\nFive\n", 0) == 0);
        CHECK(deliver(s, 1, "Subject: six\n\nSix\n", 0) == 0);
        CHECK(deliver(s, 1, "Subject: six\n\nSix\n", 0) == 0);
        CHECK(mail_fetch_batch_commit(s, &err) == 2);
        mail_fetch_stats(s, &st);
        CHECK(st.delivered == 2);
        CHECK(mail_fetch_seen(s, "5") && mail_fetch_seen(s, "6"));
        CHECK(mail_fetch_src_close(s, NULL, 0, &err) == 0);
        mail_fetch_dest_close(d);
        if (k == 0) {
            CHECK(count_dir(md, "new") == 2 && count_dir(md, "tmp") == 0);
        } else {
            char f[400], line[200];
            FILE *fp;
            int n = 0;

            snprintf(f, sizeof f, k == 1 ? "%s/box" : "%s/mda.out", root);
            fp = fopen(f, "r");
            CHECK(fp != NULL);
            while (fp && fgets(line, sizeof line, fp))
                n += strncmp(line, "Subject: ", 9) == 0;
            if (fp)
                fclose(fp);
            CHECK(n == 2);
        }
    }
}

/* After a UIDVALIDITY change, a message delivered before is dropped for
 * an mbox and an MDA too (not only a Maildir), before the mbox or the
 * MDA sees any of it. */
static void test_uidvalidity_all_dests(void)
{
    struct mail_error err;
    char path[420], cmd[800], out[400];

    for (int k = 0; k < 2; k++) {
        struct mail_fetch_dest *d;
        struct mail_fetch_src *s;
        struct mail_fetch_stats st;
        const char *u1[] = { "1", "2" };
        const char *u2[] = { "1", "2", "3" };
        struct stat sb;
        off_t size1;

        fresh();
        snprintf(out, sizeof out, k ? "%s/mda.out" : "%s/box", root);
        snprintf(path, sizeof path, "mbox:%s", out);
        snprintf(cmd, sizeof cmd, "cat >> %s", out);
        d = k ? mail_fetch_dest_open(test_env_paths(), NULL, cmd, &err)
              : mail_fetch_dest_open(test_env_paths(), path, NULL, &err);
        CHECK(d != NULL);
        s = mail_fetch_src_open(statedir, "a", "imap x@h:1 INBOX", d, true,
                                &err);
        CHECK(mail_fetch_set_uidvalidity(s, 7, &err) == 0);
        CHECK(mail_fetch_batch_begin(s, u1, 2, &err) == 0);
        CHECK(deliver(s, 0, "Subject: a\n\nA\n", 0) == 0);
        CHECK(deliver(s, 1, "Subject: b\n\nB\n", 0) == 0);
        CHECK(mail_fetch_batch_commit(s, &err) == 2);
        CHECK(mail_fetch_src_close(s, NULL, 0, &err) == 0);
        CHECK(stat(out, &sb) == 0);
        size1 = sb.st_size;

        s = mail_fetch_src_open(statedir, "a", "imap x@h:1 INBOX", d, true,
                                &err);
        CHECK(mail_fetch_set_uidvalidity(s, 8, &err) == 1);
        CHECK(mail_fetch_batch_begin(s, u2, 3, &err) == 0);
        CHECK(deliver(s, 0, "Subject: b\n\nB\n", 0) == 0);
        CHECK(deliver(s, 1, "Subject: c\n\nC\n", 0) == 0);
        CHECK(deliver(s, 2, "Subject: a\n\nA\n", 0) == 0);
        CHECK(mail_fetch_batch_commit(s, &err) == 3);
        mail_fetch_stats(s, &st);
        CHECK(st.delivered == 1 && st.duplicates == 2);
        CHECK(mail_fetch_seen(s, "1") && mail_fetch_seen(s, "3"));
        CHECK(mail_fetch_src_close(s, NULL, 0, &err) == 0);
        mail_fetch_dest_close(d);
        /* only "c" was added */
        CHECK(stat(out, &sb) == 0);
        CHECK(sb.st_size > size1 && sb.st_size < 2 * size1);
    }
}

int main(void)
{
    const char *t = getenv("TMPDIR");

    snprintf(root, sizeof root, "%s/test_fetch.%ld", t && *t ? t : "/tmp",
             (long)getpid());
    RUN(test_names);
    RUN(test_patterns);
    RUN(test_lock);
    RUN(test_state);
    RUN(test_header_keys);
    RUN(test_recovery);
    RUN(test_mbox_and_mda);
    RUN(test_mda_spawn);
    RUN(test_same_uid_twice);
    RUN(test_uidvalidity_all_dests);
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return test_done();
}
