/*
 * spawn.c - run an outside program and wait for it (see mail/spawn.h).
 *
 * One loop polls the pipe to the command's stdin and the pipe from its
 * stdout together, so a command that writes before it has read all its
 * input cannot deadlock us.  An exec failure comes back through a
 * close-on-exec pipe.  Between fork and exec the child makes only
 * async-signal-safe calls: everything it needs is built before the fork.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mail/spawn.h"

extern char **environ;

static const char *const kept_env[] = {
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TMPDIR", "TERM", "TZ",
    "LANG", "LANGUAGE",
};

static bool keep_var(const char *entry)
{
    size_t i, n = strcspn(entry, "=");

    if (n > 3 && strncmp(entry, "LC_", 3) == 0)
        return true;
    for (i = 0; i < sizeof kept_env / sizeof kept_env[0]; i++)
        if (strlen(kept_env[i]) == n && strncmp(entry, kept_env[i], n) == 0)
            return true;
    return false;
}

/* The clean environment: pointers into environ, NULL-terminated. */
static char **clean_environ(void)
{
    size_t n = 0, i, k = 0;
    char **env;

    while (environ && environ[n])
        n++;
    env = calloc(n + 1, sizeof *env);
    if (!env)
        return NULL;
    for (i = 0; i < n; i++)
        if (keep_var(environ[i]))
            env[k++] = environ[i];
    env[k] = NULL;
    return env;
}

/* exec's argument vector: sh -c command argv..., or argv itself. */
static char **exec_argv(const struct mail_spawn *sp)
{
    size_t n = 0, i, k = 0;
    char **v;

    while (sp->argv && sp->argv[n])
        n++;
    v = calloc(n + 5, sizeof *v);   /* sh -c command $0 ... NULL */
    if (!v)
        return NULL;
    if (sp->command) {
        v[k++] = (char *)"sh";
        v[k++] = (char *)"-c";
        v[k++] = (char *)sp->command;
        if (n == 0)
            v[k++] = (char *)"sh";      /* $0 */
    }
    for (i = 0; i < n; i++)
        v[k++] = (char *)sp->argv[i];
    v[k] = NULL;
    return v;
}

/* In the child: make fd the descriptor `to`, open across exec. */
static int move_fd(int fd, int to)
{
    if (fd == to) {
        int fl = fcntl(fd, F_GETFD);

        return fl < 0 ? -1 : fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
    }
    return dup2(fd, to) < 0 ? -1 : 0;
}

static void child_fail(int errfd, int e)
{
    ssize_t r;

    do
        r = write(errfd, &e, sizeof e);
    while (r < 0 && errno == EINTR);
    _exit(127);
}

static void run_child(const struct mail_spawn *sp, char **argv, char **envp,
                      int in_rfd, int out_wfd, int errfd)
{
    struct sigaction sa;
    sigset_t none;
    int in = in_rfd >= 0 ? in_rfd : sp->in_fd;
    int out = out_wfd >= 0 ? out_wfd : sp->out_fd;

    if (sp->timeout_ms > 0 && setpgid(0, 0) < 0)
        child_fail(errfd, errno);
    /* The output first: the input may have landed on descriptor 1 if the
     * program was started with stdout closed, but not the other way round
     * (descriptor 0 is taken before 1). */
    if (out >= 0 && out != STDOUT_FILENO && in == STDOUT_FILENO) {
        in = fcntl(in, F_DUPFD_CLOEXEC, 3);
        if (in < 0)
            child_fail(errfd, errno);
    }
    if (out >= 0 && move_fd(out, STDOUT_FILENO) < 0)
        child_fail(errfd, errno);
    if (in >= 0 && move_fd(in, STDIN_FILENO) < 0)
        child_fail(errfd, errno);
    /* A program that talks to servers ignores SIGPIPE; the command should
     * not inherit that, nor a blocked signal mask. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (sp->command)
        execve("/bin/sh", argv, envp ? envp : environ);
    else
        execvpe(argv[0], argv, envp ? envp : environ);
    child_fail(errfd, errno);
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

struct run {
    const struct mail_spawn *sp;
    pid_t pid;
    int in_wfd, out_rfd;
    size_t in_off, captured;
    int64_t deadline;           /* 0: none */
    bool timed_out, truncated;
};

/* Milliseconds to the deadline for poll, -1 without one. */
static int remaining(const struct run *r)
{
    int64_t left;

    if (!r->deadline)
        return -1;
    left = r->deadline - now_ms();
    return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

static void kill_group(struct run *r)
{
    kill(-r->pid, SIGKILL);
    kill(r->pid, SIGKILL);      /* in case setpgid had not happened yet */
    r->timed_out = true;
}

static void feed(struct run *r)
{
    const char *data = r->sp->in_data;
    ssize_t n = write(r->in_wfd, data + r->in_off, r->sp->in_len - r->in_off);

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n < 0) {                /* EPIPE: it stopped reading; fine */
        close_fd(&r->in_wfd);
        return;
    }
    r->in_off += (size_t)n;
    if (r->in_off >= r->sp->in_len)
        close_fd(&r->in_wfd);
}

static void drain(struct run *r, char *chunk, size_t size)
{
    const struct mail_spawn *sp = r->sp;
    ssize_t n = read(r->out_rfd, chunk, size);
    size_t take;

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        close_fd(&r->out_rfd);
        return;
    }
    take = (size_t)n;
    if (sp->out_max && take > sp->out_max - r->captured) {
        take = sp->out_max - r->captured;
        r->truncated = true;
    }
    if (take && mail_buf_add(sp->out, chunk, take) < 0)
        r->truncated = true;    /* the buffer's own cap */
    r->captured += take;
    if (r->truncated)
        close_fd(&r->out_rfd);  /* more writes get SIGPIPE */
}

/* Feed stdin and read stdout until both are done or the time is up. */
static int pump(struct run *r, struct mail_error *err)
{
    char chunk[4096];
    int rc = 0;

    while (r->in_wfd >= 0 || r->out_rfd >= 0) {
        struct pollfd p[2];
        nfds_t n = 0;
        int in_i = -1, out_i = -1, t = remaining(r), got;

        if (t == 0) {
            kill_group(r);
            break;
        }
        if (r->in_wfd >= 0) {
            p[n].fd = r->in_wfd;
            p[n].events = POLLOUT;
            in_i = (int)n++;
        }
        if (r->out_rfd >= 0) {
            p[n].fd = r->out_rfd;
            p[n].events = POLLIN;
            out_i = (int)n++;
        }
        got = poll(p, n, t);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = mail_error_set(err, MAIL_ERR_IO, "poll: %s",
                                strerror(errno));
            kill_group(r);
            break;
        }
        if (in_i >= 0 && p[in_i].revents)
            feed(r);
        if (out_i >= 0 && p[out_i].revents)
            drain(r, chunk, sizeof chunk);
    }
    if (r->sp->secret)
        mail_wipe(chunk, sizeof chunk);
    close_fd(&r->in_wfd);
    close_fd(&r->out_rfd);
    return rc;
}

/* Wait for the command, within the deadline if there is one. */
static int reap(struct run *r, int *status, struct mail_error *err)
{
    for (;;) {
        pid_t w = waitpid(r->pid, status, r->deadline && !r->timed_out
                          ? WNOHANG : 0);

        if (w == r->pid)
            return 0;
        if (w < 0 && errno != EINTR)
            return mail_error_set(err, MAIL_ERR_IO, "waitpid: %s",
                                  strerror(errno));
        if (w == 0) {
            int t = remaining(r);

            if (t == 0)
                kill_group(r);
            else
                poll(NULL, 0, t < 20 ? t : 20);
        }
    }
}

/* The child's exec errno, or 0 once exec closed the pipe. */
static int exec_errno(int fd)
{
    int e = 0;
    ssize_t n;

    do
        n = read(fd, &e, sizeof e);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof e ? e : 0;
}

static int make_pipe(int fds[2], struct mail_error *err)
{
    if (pipe2(fds, O_CLOEXEC) < 0)
        return mail_error_set(err, MAIL_ERR_IO, "pipe: %s", strerror(errno));
    return 0;
}

int mail_spawn_run(const struct mail_spawn *sp, struct mail_spawn_result *res,
                   struct mail_error *err)
{
    int inp[2] = { -1, -1 }, outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
    char **argv = NULL, **envp = NULL;
    sigset_t pipe_set, old_set;
    struct run r;
    int status = 0, e, rc = -1;
    bool sigpipe_blocked = false;

    memset(res, 0, sizeof *res);
    memset(&r, 0, sizeof r);
    r.sp = sp;
    r.in_wfd = r.out_rfd = -1;
    if (!sp->command && (!sp->argv || !sp->argv[0]))
        return mail_error_set(err, MAIL_ERR_INTERNAL, "spawn: no command");
    argv = exec_argv(sp);
    if (!argv || (sp->clean_env && !(envp = clean_environ()))) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto out;
    }
    if (sp->out && sp->secret && sp->out_max &&
        mail_buf_reserve(sp->out, sp->out_max) < 0) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto out;           /* reserved: no realloc leaves copies behind */
    }
    if (make_pipe(errp, err) < 0 ||
        (sp->in_data && make_pipe(inp, err) < 0) ||
        (sp->out && make_pipe(outp, err) < 0))
        goto out;
    /* Writing to a command that quit must give EPIPE, not kill us. */
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    if (sp->in_data && sigprocmask(SIG_BLOCK, &pipe_set, &old_set) == 0)
        sigpipe_blocked = !sigismember(&old_set, SIGPIPE);
    if (sp->timeout_ms > 0)
        r.deadline = now_ms() + sp->timeout_ms;
    r.pid = fork();
    if (r.pid < 0) {
        mail_error_set(err, MAIL_ERR_IO, "fork: %s", strerror(errno));
        goto out;
    }
    if (r.pid == 0)
        run_child(sp, argv, envp, inp[0], outp[1], errp[1]);
    if (sp->timeout_ms > 0)
        setpgid(r.pid, r.pid);  /* also here: no race with kill_group */
    close_fd(&inp[0]);
    close_fd(&outp[1]);
    close_fd(&errp[1]);
    r.in_wfd = inp[1];
    r.out_rfd = outp[0];
    inp[1] = outp[0] = -1;
    if (r.in_wfd >= 0)
        fcntl(r.in_wfd, F_SETFL, fcntl(r.in_wfd, F_GETFL) | O_NONBLOCK);
    e = exec_errno(errp[0]);
    if (e) {
        close_fd(&r.in_wfd);
        close_fd(&r.out_rfd);
    }
    rc = pump(&r, err);
    if (reap(&r, &status, err) < 0)
        rc = -1;
    if (rc == 0) {
        res->out_truncated = r.truncated;
        if (e) {
            res->how = MAIL_SPAWN_EXEC_FAILED;
            res->code = e;
        } else if (r.timed_out) {
            res->how = MAIL_SPAWN_TIMEOUT;
        } else if (WIFSIGNALED(status)) {
            res->how = MAIL_SPAWN_SIGNALED;
            res->code = WTERMSIG(status);
        } else {
            res->how = MAIL_SPAWN_EXITED;
            res->code = WEXITSTATUS(status);
        }
    }
out:
    if (sigpipe_blocked) {
        struct timespec zero = { 0, 0 };

        while (sigtimedwait(&pipe_set, NULL, &zero) > 0)
            ;           /* the SIGPIPE our writes raised */
        sigprocmask(SIG_SETMASK, &old_set, NULL);
    }
    close_fd(&inp[0]);
    close_fd(&inp[1]);
    close_fd(&outp[0]);
    close_fd(&outp[1]);
    close_fd(&errp[0]);
    close_fd(&errp[1]);
    free(argv);
    free(envp);
    return rc;
}

int mail_spawn_check(const struct mail_spawn_result *res, const char *name,
                     struct mail_error *err)
{
    const char *desc;

    switch (res->how) {
    case MAIL_SPAWN_EXITED:
        if (res->code == 0)
            return 0;
        /* sh says why on stderr; 127 and 126 are worth naming. */
        return mail_error_set(err, MAIL_ERR_TEMP,
                              "%s exited with status %d%s", name, res->code,
                              res->code == 127 ? " (command not found)"
                              : res->code == 126
                              ? " (command not executable)" : "");
    case MAIL_SPAWN_SIGNALED:
        desc = strsignal(res->code);
        return mail_error_set(err, MAIL_ERR_TEMP,
                              "%s was killed by signal %d%s%s%s", name,
                              res->code, desc ? " (" : "", desc ? desc : "",
                              desc ? ")" : "");
    case MAIL_SPAWN_TIMEOUT:
        return mail_error_set(err, MAIL_ERR_TEMP, "%s timed out", name);
    case MAIL_SPAWN_EXEC_FAILED:
        return mail_error_set(err, MAIL_ERR_TEMP, "%s could not be run: %s",
                              name, strerror(res->code));
    }
    return mail_error_set(err, MAIL_ERR_INTERNAL, "%s: unknown status", name);
}
