/*
 * fuzz_mbox.c - libFuzzer target for the mbox driver (and through it the
 * header cache and the header parser).
 *
 * The input is used twice:
 *   1. as an mbox file: listed without a cache, then twice with one (the
 *      first writes it, the second reads it), the three listings must
 *      agree; every message is fetched and must be as long as its
 *      envelope says, and through message_fd too;
 *   2. as a message: appended to an empty mbox in odd-sized chunks and
 *      read back, which must give the input again (with a newline added
 *      when it has none at the end) unless it has Status fields, which
 *      append replaces;
 *   3. as an mbox to rewrite: the first message expunged and every odd
 *      one flagged, synced in place: the sync must succeed and leave no
 *      backup, and the listing after it has one message less, the same
 *      inode, and the untouched messages keep their identity.
 *
 * Files live in one temporary directory per process, removed at exit.
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/folder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static char mbox_path[128], msg_path[128], cache_dir[128];

static int rm_one(const char *p, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void cleanup(void)
{
    if (dir[0])
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
    if (dir[0])
        return;
    snprintf(dir, sizeof dir, "/tmp/mail-fuzz-mbox-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    snprintf(mbox_path, sizeof mbox_path, "%s/in.mbox", dir);
    snprintf(msg_path, sizeof msg_path, "%s/out.mbox", dir);
    snprintf(cache_dir, sizeof cache_dir, "%s/cache", dir);
    setenv("XDG_CACHE_HOME", cache_dir, 1);
    atexit(cleanup);
}

static void clear_cache(void)
{
    char p[256];
    DIR *d;
    struct dirent *de;

    snprintf(p, sizeof p, "%s/mail", cache_dir);
    d = opendir(p);
    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        char f[600];

        if (de->d_name[0] == '.')
            continue;
        snprintf(f, sizeof f, "%s/%s", p, de->d_name);
        unlink(f);
    }
    closedir(d);
}

static void write_input(const char *path, const uint8_t *data, size_t size)
{
    /* a new file each time: a cache keyed by size and mtime must not see
     * the previous input as the same file */
    int fd;

    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
        abort();
    close(fd);
}

static bool same_envelopes(const struct mail_envelope_list *a,
                           const struct mail_envelope_list *b)
{
    size_t i;

#define SAME_STR(x, y) ((!(x) && !(y)) || ((x) && (y) && !strcmp((x), (y))))
    if (a->n != b->n)
        return false;
    for (i = 0; i < a->n; i++) {
        const struct mail_envelope *x = &a->v[i], *y = &b->v[i];

        if (strcmp(x->key, y->key) || x->offset != y->offset ||
            x->flags != y->flags || x->size != y->size ||
            x->received != y->received || x->has_date != y->has_date ||
            x->date != y->date || !SAME_STR(x->from, y->from) ||
            !SAME_STR(x->subject, y->subject) ||
            !SAME_STR(x->references, y->references))
            return false;
    }
    return true;
#undef SAME_STR
}

static void as_mbox(const uint8_t *data, size_t size)
{
    struct mail_envelope_list l0 = MAIL_ENVELOPE_LIST_INIT;
    struct mail_envelope_list l1 = MAIL_ENVELOPE_LIST_INIT;
    struct mail_envelope_list l2 = MAIL_ENVELOPE_LIST_INIT;
    struct mail_error err;
    struct mail_folder *f;
    size_t i;

    write_input(mbox_path, data, size);
    clear_cache();
    f = mail_folder_open(mbox_path, MAIL_FOLDER_RDONLY, NULL, &err);
    if (!f) {
        if (err.kind != MAIL_ERR_DATA)   /* not starting with "From " */
            abort();
        return;
    }
    /* no cache dir yet: the first listing writes it, the second reads */
    if (mail_folder_list(f, &l0, 0, &err) < 0 ||
        mail_folder_list(f, &l1, 0, &err) < 0 ||
        mail_folder_list(f, &l2, 0, &err) < 0)
        abort();
    if (!same_envelopes(&l0, &l1) || !same_envelopes(&l0, &l2))
        abort();
    for (i = 0; i < l0.n; i++) {
        struct mail_buf b = MAIL_BUF_INIT;
        int fd;

        if (i > 0 && l0.v[i].offset <= l0.v[i - 1].offset)
            abort();
        if (mail_folder_fetch(f, &l0.v[i], mail_sink_buf, &b, &err) < 0 ||
            b.len != l0.v[i].size)
            abort();
        mail_buf_release(&b);
        if (i < 3) {
            struct stat st;

            if (mail_folder_message_fd(f, &l0.v[i], &fd, &err) < 0 ||
                fstat(fd, &st) < 0 || (uint64_t)st.st_size != l0.v[i].size)
                abort();
            close(fd);
        }
    }
    mail_envelope_list_release(&l0);
    mail_envelope_list_release(&l1);
    mail_envelope_list_release(&l2);
    mail_folder_close(f, &err);
}

static bool has_status(const uint8_t *data, size_t size)
{
    static const char pat[] = "status";
    size_t i, j;

    for (i = 0; i + 6 <= size; i++) {
        for (j = 0; j < 6; j++)
            if ((data[i + j] | 0x20) != pat[j])
                break;
        if (j == 6)
            return true;
    }
    return false;
}

static void as_message(const uint8_t *data, size_t size)
{
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct mail_buf b = MAIL_BUF_INIT;
    struct mail_error err;
    struct mail_folder *f;
    struct mail_append *a;
    size_t i, step = size % 13 + 1;

    write_input(msg_path, NULL, 0);
    clear_cache();
    f = mail_folder_open(msg_path, MAIL_FOLDER_RDWR, NULL, &err);
    if (!f)
        abort();
    a = mail_folder_append_begin(f, 0, 1, &err);
    if (!a)
        abort();
    for (i = 0; i < size; i += step)
        if (mail_append_write(a, (const char *)data + i,
                              size - i < step ? size - i : step, &err) < 0)
            abort();
    if (mail_append_commit(a, NULL, &err) < 0)
        abort();
    if (mail_folder_list(f, &l, 0, &err) < 0 || l.n != 1)
        abort();
    if (mail_folder_fetch(f, &l.v[0], mail_sink_buf, &b, &err) < 0)
        abort();
    if (!has_status(data, size)) {
        bool nl = size == 0 || data[size - 1] == '\n';

        if (b.len != size + !nl ||
            (size > 0 && memcmp(b.data, data, size) != 0) ||
            (!nl && b.data[size] != '\n'))
            abort();
    }
    mail_buf_release(&b);
    mail_envelope_list_release(&l);
    if (mail_folder_close(f, &err) < 0)
        abort();
}

static void as_sync(const uint8_t *data, size_t size)
{
    struct mail_envelope_list l0 = MAIL_ENVELOPE_LIST_INIT;
    struct mail_envelope_list l1 = MAIL_ENVELOPE_LIST_INIT;
    struct mail_error err;
    struct mail_folder *f;
    struct stat st0, st1;
    char backup[200];
    size_t i;

    write_input(mbox_path, data, size);
    clear_cache();
    f = mail_folder_open(mbox_path, MAIL_FOLDER_RDWR, NULL, &err);
    if (!f)
        return;
    if (mail_folder_list(f, &l0, 0, &err) < 0)
        abort();
    if (l0.n == 0 || stat(mbox_path, &st0) < 0) {
        mail_folder_close(f, &err);
        mail_envelope_list_release(&l0);
        return;
    }
    if (mail_folder_expunge(f, &l0.v[0], &err) < 0)
        abort();
    for (i = 1; i < l0.n; i += 2)
        if (mail_folder_set_flags(f, &l0.v[i], MAIL_FLAG_FLAGGED, 0,
                                  &err) < 0)
            abort();
    if (mail_folder_sync(f, &err) < 0)
        abort();
    snprintf(backup, sizeof backup, "%s/.in.mbox.mail-sync", dir);
    if (access(backup, F_OK) == 0 || stat(mbox_path, &st1) < 0 ||
        st1.st_ino != st0.st_ino)
        abort();
    if (mail_folder_list(f, &l1, 0, &err) < 0 || l1.n != l0.n - 1)
        abort();
    for (i = 2; i < l0.n; i += 2)
        if (strcmp(strchr(l0.v[i].key, ':'), strchr(l1.v[i - 1].key, ':')))
            abort();
    mail_envelope_list_release(&l0);
    mail_envelope_list_release(&l1);
    mail_folder_close(f, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    as_mbox(data, size);
    as_message(data, size);
    as_sync(data, size);
    return 0;
}
