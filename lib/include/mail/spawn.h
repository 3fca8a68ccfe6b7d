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

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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

    /* "NAME=value" entries (NULL-terminated) put in the command's
     * environment when NAME is not set there (a pager's LESS=FRX). */
    const char *const *env_default;

    /* Reset SIGINT and SIGQUIT to their defaults in the command: for a
     * caller that ignores them for a while (under a pager) and must not
     * pass that on.  Otherwise the command inherits their disposition. */
    bool default_signals;
};

#define MAIL_SPAWN_INIT { NULL, NULL, NULL, 0, -1, NULL, 0, -1, 0, false, \
                          false, NULL, false }

/* in_fd or out_fd for mail_spawn_start: a pipe, whose other end the
 * caller gets in struct mail_spawn_child. */
#define MAIL_SPAWN_PIPE (-2)

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
 * A command that runs while the caller writes to its stdin (a pager) or
 * reads its stdout as it comes:
 *
 *     struct mail_spawn sp = MAIL_SPAWN_INIT;
 *     struct mail_spawn_child child;
 *
 *     sp.command = pager;
 *     sp.in_fd = MAIL_SPAWN_PIPE;         // child.in_fd: write to it
 *     if (mail_spawn_start(&sp, &child, &err) < 0)
 *         ...
 *     ... write to child.in_fd ...
 *     mail_spawn_wait(&child, &res, &err); // closes it, waits
 *
 * The caller's ends are close-on-exec and blocking.  Writing to a command
 * that quit gives EPIPE only if the caller ignores or blocks SIGPIPE (the
 * mail program ignores it).  in_data and out are for mail_spawn_run only.
 * timeout_ms counts from the start; mail_spawn_read and mail_spawn_wait
 * keep it, killing the command's process group when it is passed.
 * Without a time limit the command stays in the caller's process group:
 * a pager gets the terminal.
 */
struct mail_spawn_child {
    pid_t pid;
    int in_fd;      /* write end of its stdin (MAIL_SPAWN_PIPE), else -1 */
    int out_fd;     /* read end of its stdout (MAIL_SPAWN_PIPE), else -1 */
    /* Private to spawn.c. */
    int64_t deadline;           /* monotonic ms; 0: none */
    int exec_errno;
    bool timed_out;
};

/*
 * Start the command.  Returns 0 when it was started, -1 with err
 * (MAIL_ERR_IO, MAIL_ERR_INTERNAL for a bad request) when it could not
 * be.  When the exec failed the pipes are closed already (-1) and
 * mail_spawn_wait reports MAIL_SPAWN_EXEC_FAILED.  Every started child
 * must be waited for with mail_spawn_wait.
 */
int mail_spawn_start(const struct mail_spawn *sp,
                     struct mail_spawn_child *child, struct mail_error *err);

/*
 * Read what the command wrote to child->out_fd, waiting within its time
 * limit.  Returns the byte count, 0 at the end of its output or when the
 * time is up (then its process group is killed and mail_spawn_wait
 * reports MAIL_SPAWN_TIMEOUT), -1 with err (MAIL_ERR_IO).
 */
ssize_t mail_spawn_read(struct mail_spawn_child *child, void *buf,
                        size_t size, struct mail_error *err);

/*
 * Close the caller's ends still open (its stdin first: the command sees
 * the end of its input; a command still writing to a closed stdout gets
 * SIGPIPE), wait for it within its time limit (killing its process
 * group when it is passed) and say how it ended, as mail_spawn_run.
 * Returns 0, or -1 with err (MAIL_ERR_IO) when waitpid failed.
 */
int mail_spawn_wait(struct mail_spawn_child *child,
                    struct mail_spawn_result *res, struct mail_error *err);

/*
 * 0 when res is a clean exit with status 0; else -1 with err set to
 * MAIL_ERR_TEMP and "NAME exited with status 3", "NAME was killed by
 * signal 9 (Killed)", "NAME timed out", "NAME could not be run: ...".
 * Callers that want another kind change err->kind.
 */
int mail_spawn_check(const struct mail_spawn_result *res, const char *name,
                     struct mail_error *err);

#pragma GCC visibility pop

#endif
