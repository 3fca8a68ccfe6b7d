/* fsutil.c - durable writes and renames; see mail/fsutil.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdbool.h>

#include "mail/fsutil.h"

int mail_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0) {
            errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int mail_fsync_dir(const char *dir, struct mail_error *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return mail_error_set(err, MAIL_ERR_IO, "%s: %s", dir,
                              strerror(errno));
    /* Some file systems cannot fsync a directory (EINVAL): nothing more
     * can be done there, and the rename itself has happened. */
    if (fsync(fd) < 0 && errno != EINVAL) {
        int e = errno;

        close(fd);
        return mail_error_set(err, MAIL_ERR_IO, "%s: fsync: %s", dir,
                              strerror(e));
    }
    close(fd);
    return 0;
}

/* Create the directories of path up to (but not including) its last
 * component when `last` is false, or all of it. */
static int mkdirs(const char *path, bool last, struct mail_error *err)
{
    char *p = strdup(path);

    if (!p)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    for (char *s = p + 1; ; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        if (*s == '\0' && !last)
            break;
        {
            char c = *s;

            *s = '\0';
            if (mkdir(p, 0700) < 0 && errno != EEXIST) {
                mail_error_set(err, MAIL_ERR_CANTCREAT, "%s: %s", p,
                               strerror(errno));
                free(p);
                return -1;
            }
            *s = c;
            if (!c)
                break;
        }
    }
    free(p);
    return 0;
}

int mail_mkdirs(const char *path, struct mail_error *err)
{
    return mkdirs(path, true, err);
}

int mail_mkdir_parents(const char *path, struct mail_error *err)
{
    return mkdirs(path, false, err);
}

int mail_tmpfile(const char *dir, struct mail_error *err)
{
    char path[4096];
    size_t n;
    int fd;

    if (!dir || !*dir)
        dir = "/tmp";
#ifdef O_TMPFILE
    fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
#endif
    /* No O_TMPFILE (old kernel, some file systems): create and unlink. */
    n = strlen(dir);
    if (n + sizeof "/mail-tmp.XXXXXX" > sizeof path)
        return mail_error_set(err, MAIL_ERR_CANTCREAT,
                              "%.200s...: temporary directory name too long",
                              dir);
    memcpy(path, dir, n);
    memcpy(path + n, "/mail-tmp.XXXXXX", sizeof "/mail-tmp.XXXXXX");
    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0)
        return mail_error_set(err, MAIL_ERR_CANTCREAT,
                              "%s: cannot create a temporary file: %s", dir,
                              strerror(errno));
    unlink(path);
    return fd;
}
