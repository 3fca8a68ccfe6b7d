/*
 * cfgfile.h - private to lib/config: the small files the user's address
 * book keeps (the aliases file, the collected addresses) changed safely
 * by concurrent writers.  Implemented in aliases.c.
 */
#ifndef MAIL_CONFIG_CFGFILE_H
#define MAIL_CONFIG_CFGFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "mail/buf.h"
#include "mail/error.h"

/*
 * Take an exclusive flock on the directory that holds PATH (created when
 * missing): no lock file is left behind; where a directory cannot be
 * locked (NFS), on "PATH.lock" (created, mode 0600) instead.  Waits up
 * to timeout_ms.  Returns the lock's fd (close it to release), or -1
 * with MAIL_ERR_TEMP when another process kept it, MAIL_ERR_CANTCREAT
 * when the lock file cannot be created.
 */
int cfgfile_lock(const char *path, int timeout_ms, struct mail_error *err);

/*
 * Read the whole file at path into out (appended), at most max bytes.
 * Returns 1 when read, 0 when it does not exist (*mode untouched), -1
 * with MAIL_ERR_IO (MAIL_ERR_DATA past max).  mode (may be NULL) gets its
 * permission bits.
 */
int cfgfile_read(const char *path, size_t max, struct mail_buf *out,
                 mode_t *mode, struct mail_error *err);

/*
 * Replace the file at path by data[0..len) atomically: a temporary file
 * in its directory, written, fsync'd, given mode, renamed over path, the
 * directory fsync'd.  MAIL_ERR_CANTCREAT or MAIL_ERR_IO naming path.
 */
int cfgfile_replace(const char *path, const char *data, size_t len,
                    mode_t mode, struct mail_error *err);

#endif
