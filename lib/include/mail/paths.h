/*
 * paths.h - where mail keeps its files: the home directory, the XDG base
 * directories and the directory for temporary files, read from the
 * environment once, by the program, and handed to the library.
 *
 * The library reads no environment variable itself: a caller that runs
 * for another user, a test, or a reader holding two accounts passes the
 * directories it means.
 *
 *     struct mail_paths paths = MAIL_PATHS_INIT;
 *
 *     if (mail_paths_from_env(&paths, &err) < 0)
 *         ...
 *     f = mail_folder_open("~/Mail/INBOX", MAIL_FOLDER_RDONLY, &paths, &err);
 *     ...
 *     mail_paths_release(&paths);
 */
#ifndef MAIL_PATHS_H
#define MAIL_PATHS_H

#pragma GCC visibility push(default)

#include <stdbool.h>

#include "error.h"

struct mail_paths {
    char *home;         /* $HOME, else the passwd entry; NULL: unknown */
    char *config_home;  /* $XDG_CONFIG_HOME, else HOME/.config */
    char *data_home;    /* $XDG_DATA_HOME, else HOME/.local/share */
    char *state_home;   /* $XDG_STATE_HOME, else HOME/.local/state */
    char *cache_home;   /* $XDG_CACHE_HOME, else HOME/.cache */
    char *tmp_dir;      /* $TMPDIR, else /tmp */
    /* MAIL_ALLOW_CORE_DUMPS=1: mail_secure_process leaves core dumps on
     * (see secure.h).  Set by the program that read its environment
     * (cmd/main.c); mail_paths_from_env leaves it false. */
    bool allow_core_dumps;
};
/* Each may be NULL when neither its variable (which must be an absolute
 * path: the XDG spec says to ignore a relative one) nor HOME is known. */

#define MAIL_PATHS_INIT { NULL, NULL, NULL, NULL, NULL, NULL, false }

/* Fill p from HOME, the XDG_*_HOME variables and TMPDIR.  -1 only when
 * out of memory. */
int mail_paths_from_env(struct mail_paths *p, struct mail_error *err);

void mail_paths_release(struct mail_paths *p);

enum mail_paths_base {
    MAIL_PATHS_CONFIG, MAIL_PATHS_DATA, MAIL_PATHS_STATE, MAIL_PATHS_CACHE,
};

/*
 * "BASE/mail/SUB" (SUB may be NULL: "BASE/mail"), malloc'd; not created.
 * When p is NULL or the base is unknown: MAIL_ERR_CONFIG "neither
 * XDG_STATE_HOME nor HOME is set: nowhere to keep WHAT".
 */
char *mail_paths_mail_dir(const struct mail_paths *p,
                          enum mail_paths_base base, const char *sub,
                          const char *what, struct mail_error *err);

/*
 * "~" and "~/..." with the home directory; anything else (including
 * "~user/...") copied.  With no home known the path is copied as it is.
 * malloc'd; NULL only when out of memory.
 */
char *mail_paths_expand_home(const struct mail_paths *p, const char *path);

/* The directory for temporary files: p's, else "/tmp". */
const char *mail_paths_tmp_dir(const struct mail_paths *p);

#pragma GCC visibility pop

#endif
