/*
 * testutil.h - small helpers that several unit test programs share.
 */
#ifndef MAIL_TEST_TESTUTIL_H
#define MAIL_TEST_TESTUTIL_H

#include <fcntl.h>
#include <stddef.h>
#include <unistd.h>

#include "mail/buf.h"

/* The whole file at path, NUL-terminated (malloc'd), its length in *len
 * when len is not NULL; NULL when it cannot be opened. */
static inline char *slurp(const char *path, size_t *len)
{
    struct mail_buf b = MAIL_BUF_INIT;
    char buf[4096];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return NULL;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        mail_buf_add(&b, buf, (size_t)n);
    close(fd);
    mail_buf_addstr(&b, "");
    if (len)
        *len = b.len;
    return mail_buf_detach(&b);
}

#endif
