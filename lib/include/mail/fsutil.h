/*
 * fsutil.h - the few file-system steps that durability depends on, written
 * once: every write finished, and a rename made durable.
 */
#ifndef MAIL_FSUTIL_H
#define MAIL_FSUTIL_H

#pragma GCC visibility push(default)

#include <stddef.h>

#include "error.h"

/* write(2) until all len bytes are written; -1 with errno set (EIO for a
 * write that makes no progress). */
int mail_write_all(int fd, const void *data, size_t len);

/* fsync a directory so that a rename or unlink in it survives a crash.
 * File systems that cannot fsync a directory (EINVAL) are accepted.
 * MAIL_ERR_IO naming the directory otherwise. */
int mail_fsync_dir(const char *dir, struct mail_error *err);

/* mkdir -p: create path and the directories above it that are missing
 * (mode 0700).  MAIL_ERR_CANTCREAT naming the directory that failed. */
int mail_mkdirs(const char *path, struct mail_error *err);

/* The same for the directories above path only (for a file to create). */
int mail_mkdir_parents(const char *path, struct mail_error *err);

/*
 * An anonymous temporary file in dir ("/tmp" when NULL), open read-write,
 * mode 0600, already gone from the directory: nothing is left behind
 * whatever happens to the process.  O_TMPFILE where the file system has
 * it, else created and unlinked at once.  The fd, or -1 with
 * MAIL_ERR_CANTCREAT naming the directory.
 */
int mail_tmpfile(const char *dir, struct mail_error *err);

#pragma GCC visibility pop

#endif
