/*
 * spawn.h - run an outside program and wait for it: the one fork/exec
 * helper of libmail (password-command, --mda, $EDITOR, pagers, HTML
 * viewers).
 *
 *     struct mail_spawn sp = MAIL_SPAWN_INIT;
 *     struct mail_spawn_result res;
 *     struct mail_buf out = MAIL_BUF_INIT;
 *
 *     sp.command = "gpg -dq ~/.pw.gpg";   // through /bin/sh -c
 *     sp.out = &out;                      // capture stdout
 *     sp.out_max = 4096;
 *     sp.timeout_ms = 10000;
 *     if (mail_spawn_run(&sp, &res, &err) < 0 ||
 *         mail_spawn_check(&res, "password-command", &err) < 0)
 *         ...
 *
 * stderr always passes through (a command's complaints reach the user).
 * The child gets SIGPIPE at its default and an empty signal mask.  Error
 * messages name the command by the caller's name, never by its output.
 */
#ifndef MAIL_SPAWN_H
#define MAIL_SPAWN_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"

struct mail_spawn {
    /* What to run: command through "/bin/sh -c command", with argv (if
     * any) as $0, $1, ...; or, with command NULL, argv[0] looked up in
     * PATH with argv as its arguments. */
    const char *command;
    const char *const *argv;

    /* stdin: in_data/in_len fed through a pipe (written while stdout is
     * read, so neither side can block the other); else in_fd (-1:
     * inherited). */
    const void *in_data;
    size_t in_len;
    int in_fd;

    /* stdout: captured into out (appended) up to out_max bytes (0: no
     * cap besides the buffer's own); past the cap the pipe is closed, so
     * a command that goes on writing gets SIGPIPE, and the result says
     * out_truncated.  Else out_fd (-1: inherited). */
    struct mail_buf *out;
    size_t out_max;
    int out_fd;

    /* Kill the command and everything it started (its own process group)
     * after this long; 0: no limit.  A command with a limit runs in its
     * own process group, so it cannot read from the terminal. */
    int timeout_ms;

    /* Run with a clean environment: only PATH, HOME, USER, LOGNAME,
     * SHELL, TMPDIR, TERM, TZ, LANG and the LC_ variables are kept. */
    bool clean_env;

    /* The captured output is a secret: wipe every copy made on the way. */
    bool secret;
};

#define MAIL_SPAWN_INIT { NULL, NULL, NULL, 0, -1, NULL, 0, -1, 0, false, false }

enum mail_spawn_how {
    MAIL_SPAWN_EXITED,      /* code: the exit status */
    MAIL_SPAWN_SIGNALED,    /* code: the signal */
    MAIL_SPAWN_TIMEOUT,     /* killed after timeout_ms */
    MAIL_SPAWN_EXEC_FAILED, /* code: errno of the failed exec */
};

struct mail_spawn_result {
    enum mail_spawn_how how;
    int code;
    bool out_truncated;
};

/*
 * Run the command and wait for it.  Returns 0 when it ran (whatever its
 * status: see res), -1 with err (MAIL_ERR_IO, or MAIL_ERR_INTERNAL for a
 * bad request) when it could not be started or waited for.
 */
int mail_spawn_run(const struct mail_spawn *sp, struct mail_spawn_result *res,
                   struct mail_error *err);

/*
 * 0 when res is a clean exit with status 0; else -1 with err set to
 * MAIL_ERR_TEMP and "NAME exited with status 3", "NAME was killed by
 * signal 9 (Killed)", "NAME timed out", "NAME could not be run: ...".
 * Callers that want another kind change err->kind.
 */
int mail_spawn_check(const struct mail_spawn_result *res, const char *name,
                     struct mail_error *err);

#endif
