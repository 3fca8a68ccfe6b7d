/*
 * cachefile.c - the small checksummed cache files of store/ (see
 * cachefile.h for the layout).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cachefile.h"
#include "hcache.h"
#include "mail/fsutil.h"

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

int cachefile_add32(struct mail_buf *b, uint32_t v)
{
    unsigned char p[4];

    put32(p, v);
    return mail_buf_add(b, p, 4);
}

int cachefile_add64(struct mail_buf *b, uint64_t v)
{
    unsigned char p[8];

    put64(p, v);
    return mail_buf_add(b, p, 8);
}

int cachefile_addstr(struct mail_buf *b, const char *s)
{
    size_t n;

    if (!s)
        return cachefile_add32(b, UINT32_MAX);
    n = strlen(s);
    if (n >= UINT32_MAX)
        return -1;
    return cachefile_add32(b, (uint32_t)n) | mail_buf_add(b, s, n);
}

static void fixed_header(unsigned char fixed[CACHEFILE_FIXED],
                         const char *magic, uint32_t version,
                         const void *body, size_t len)
{
    memset(fixed, 0, 8);
    memcpy(fixed, magic, strnlen(magic, 8));
    put32(fixed + 8, version);
    put32(fixed + 12, CACHEFILE_FIXED);
    put64(fixed + 16, len);
    put64(fixed + 24, hcache_hash(HCACHE_HASH_INIT, body, len));
}

int cachefile_write(const char *file, const char *magic, uint32_t version,
                    const struct mail_buf *body, struct mail_error *err)
{
    unsigned char fixed[CACHEFILE_FIXED];
    char *tmp = NULL, *slash;
    int fd = -1, rc = -1;

    fixed_header(fixed, magic, version, body->data, body->len);
    if (mail_mkdir_parents(file, err) < 0)
        return -1;
    if (asprintf(&tmp, "%s.tmp.XXXXXX", file) < 0)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    fd = mkstemp(tmp);
    if (fd < 0) {
        mail_error_set(err, MAIL_ERR_CANTCREAT, "%s: %s", tmp,
                       strerror(errno));
        free(tmp);
        return -1;
    }
    if (mail_write_all(fd, fixed, sizeof fixed) < 0 ||
        mail_write_all(fd, body->data, body->len) < 0 || fsync(fd) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "%s: %s", tmp, strerror(errno));
        goto done;
    }
    if (close(fd) < 0) {
        fd = -1;
        mail_error_set(err, MAIL_ERR_IO, "%s: %s", tmp, strerror(errno));
        goto done;
    }
    fd = -1;
    if (rename(tmp, file) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "%s: %s", file, strerror(errno));
        goto done;
    }
    free(tmp);
    tmp = NULL;
    /* The rename is what a reader sees; syncing the directory only makes
     * it survive a crash, and a cache lost in one is rebuilt. */
    slash = strrchr(file, '/');
    if (slash) {
        char *dir = strndup(file, (size_t)(slash - file));
        struct mail_error e2;

        mail_error_clear(&e2);
        if (dir)
            mail_fsync_dir(dir, &e2);
        free(dir);
    }
    rc = 0;
done:
    if (fd >= 0)
        close(fd);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    return rc;
}

uint32_t cachefile_get32(struct cachefile_rd *r)
{
    uint32_t v = 0;

    if (r->bad || r->end - r->p < 4) {
        r->bad = true;
        return 0;
    }
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)r->p[i] << (8 * i);
    r->p += 4;
    return v;
}

uint64_t cachefile_get64(struct cachefile_rd *r)
{
    uint64_t v = 0;

    if (r->bad || r->end - r->p < 8) {
        r->bad = true;
        return 0;
    }
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += 8;
    return v;
}

void cachefile_getstr(struct cachefile_rd *r, char **out, bool *oom)
{
    uint32_t n = cachefile_get32(r);

    *out = NULL;
    if (r->bad || n == UINT32_MAX)
        return;
    if ((uint64_t)(r->end - r->p) < n || memchr(r->p, '\0', n)) {
        r->bad = true;
        return;
    }
    *out = strndup((const char *)r->p, n);
    if (!*out)
        *oom = true;
    r->p += n;
}

bool cachefile_samestr(struct cachefile_rd *r, const char *want)
{
    uint32_t n = cachefile_get32(r);

    if (r->bad || n == UINT32_MAX || (uint64_t)(r->end - r->p) < n ||
        strlen(want) != n || memcmp(r->p, want, n) != 0)
        return false;
    r->p += n;
    return true;
}

unsigned char *cachefile_read(const char *file, const char *magic,
                              uint32_t version, uint64_t max,
                              struct cachefile_rd *body)
{
    unsigned char want[CACHEFILE_FIXED], *d;
    struct cachefile_rd h;
    struct stat st;
    size_t got = 0, len;
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
        st.st_size < CACHEFILE_FIXED || (uint64_t)st.st_size > max ||
        !(d = malloc((size_t)st.st_size))) {
        close(fd);
        return NULL;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, d + got, (size_t)st.st_size - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (got != (size_t)st.st_size) {
        free(d);
        return NULL;
    }
    len = got - CACHEFILE_FIXED;
    fixed_header(want, magic, version, d + CACHEFILE_FIXED, len);
    h.p = d + 8;
    h.end = d + CACHEFILE_FIXED;
    h.bad = false;
    if (memcmp(d, want, 8) != 0 ||
        cachefile_get32(&h) != version ||
        cachefile_get32(&h) != CACHEFILE_FIXED ||
        cachefile_get64(&h) != len ||
        memcmp(d + 24, want + 24, 8) != 0) {
        free(d);
        return NULL;
    }
    body->p = d + CACHEFILE_FIXED;
    body->end = d + got;
    body->bad = false;
    return d;
}
