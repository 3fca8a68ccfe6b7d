/* fsutil.c - durable writes and renames; see mail/fsutil.h. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

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
