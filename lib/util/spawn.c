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

static bool env_has(char *const *env, const char *entry)
{
    size_t n = strcspn(entry, "=");

    for (; env && *env; env++)
        if (strncmp(*env, entry, n) == 0 && (*env)[n] == '=')
            return true;
    return false;
}

/* The command's environment when it is not ours as it is: the clean one
 * (pointers into environ) or ours, plus the caller's defaults for names
 * not set; NULL-terminated.  *inherit (and NULL) when ours will do. */
static char **child_environ(const struct mail_spawn *sp, bool *inherit)
{
    size_t n = 0, d = 0, i, k = 0;
    char **env;

    *inherit = !sp->clean_env && !sp->env_default;
    if (*inherit)
        return NULL;
    while (environ && environ[n])
        n++;
    while (sp->env_default && sp->env_default[d])
        d++;
    env = calloc(n + d + 1, sizeof *env);
    if (!env)
        return NULL;
    for (i = 0; i < n; i++)
        if (!sp->clean_env || keep_var(environ[i]))
            env[k++] = environ[i];
    env[k] = NULL;
    for (i = 0; i < d; i++)
        if (strchr(sp->env_default[i], '=') &&
            !env_has(env, sp->env_default[i])) {
            env[k++] = (char *)sp->env_default[i];
            env[k] = NULL;
        }
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
    if (sp->default_signals) {
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGQUIT, &sa, NULL);
    }
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
    struct mail_spawn_child c;
    size_t in_off, captured;
    bool truncated;
};

/* Milliseconds to the deadline for poll, -1 without one. */
static int remaining(const struct mail_spawn_child *c)
{
    int64_t left;

    if (!c->deadline)
        return -1;
    left = c->deadline - now_ms();
    return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

static void kill_group(struct mail_spawn_child *c)
{
    kill(-c->pid, SIGKILL);
    kill(c->pid, SIGKILL);      /* in case setpgid had not happened yet */
    c->timed_out = true;
}

static void feed(struct run *r)
{
    const char *data = r->sp->in_data;
    ssize_t n = write(r->c.in_fd, data + r->in_off,
                      r->sp->in_len - r->in_off);

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n < 0) {                /* EPIPE: it stopped reading; fine */
        close_fd(&r->c.in_fd);
        return;
    }
    r->in_off += (size_t)n;
    if (r->in_off >= r->sp->in_len)
        close_fd(&r->c.in_fd);
}

static void drain(struct run *r, char *chunk, size_t size)
{
    const struct mail_spawn *sp = r->sp;
    ssize_t n = read(r->c.out_fd, chunk, size);
    size_t take;

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        close_fd(&r->c.out_fd);
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
        close_fd(&r->c.out_fd); /* more writes get SIGPIPE */
}

/* Feed stdin and read stdout until both are done or the time is up. */
static int pump(struct run *r, struct mail_error *err)
{
    char chunk[4096];
    int rc = 0;

    while (r->c.in_fd >= 0 || r->c.out_fd >= 0) {
        struct pollfd p[2];
        nfds_t n = 0;
        int in_i = -1, out_i = -1, t = remaining(&r->c), got;

        if (t == 0) {
            kill_group(&r->c);
            break;
        }
        if (r->c.in_fd >= 0) {
            p[n].fd = r->c.in_fd;
            p[n].events = POLLOUT;
            in_i = (int)n++;
        }
        if (r->c.out_fd >= 0) {
            p[n].fd = r->c.out_fd;
            p[n].events = POLLIN;
            out_i = (int)n++;
        }
        got = poll(p, n, t);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = mail_error_set(err, MAIL_ERR_IO, "poll: %s",
                                strerror(errno));
            kill_group(&r->c);
            break;
        }
        if (in_i >= 0 && p[in_i].revents)
            feed(r);
        if (out_i >= 0 && p[out_i].revents)
            drain(r, chunk, sizeof chunk);
    }
    if (r->sp->secret)
        mail_wipe(chunk, sizeof chunk);
    close_fd(&r->c.in_fd);
    close_fd(&r->c.out_fd);
    return rc;
}

/* Wait for the command, within the deadline if there is one. */
static int reap(struct mail_spawn_child *c, int *status,
                struct mail_error *err)
{
    for (;;) {
        pid_t w = waitpid(c->pid, status, c->deadline && !c->timed_out
                          ? WNOHANG : 0);

        if (w == c->pid)
            return 0;
        if (w < 0 && errno != EINTR)
            return mail_error_set(err, MAIL_ERR_IO, "waitpid: %s",
                                  strerror(errno));
        if (w == 0) {
            int t = remaining(c);

            if (t == 0)
                kill_group(c);
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

/*
 * Fork and exec the command, with a pipe to its stdin when in_pipe and
 * from its stdout when out_pipe; c gets the pid, the caller's ends and
 * the exec errno (the pipes closed then).  The deadline starts here.
 */
static int launch(const struct mail_spawn *sp, bool in_pipe, bool out_pipe,
                  struct mail_spawn_child *c, struct mail_error *err)
{
    int inp[2] = { -1, -1 }, outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
    char **argv = NULL, **envp = NULL;
    bool inherit;
    int rc = -1;

    memset(c, 0, sizeof *c);
    c->pid = -1;
    c->in_fd = c->out_fd = -1;
    if (!sp->command && (!sp->argv || !sp->argv[0]))
        return mail_error_set(err, MAIL_ERR_INTERNAL, "spawn: no command");
    argv = exec_argv(sp);
    envp = child_environ(sp, &inherit);
    if (!argv || (!inherit && !envp)) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto out;
    }
    if (make_pipe(errp, err) < 0 || (in_pipe && make_pipe(inp, err) < 0) ||
        (out_pipe && make_pipe(outp, err) < 0))
        goto out;
    if (sp->timeout_ms > 0)
        c->deadline = now_ms() + sp->timeout_ms;
    c->pid = fork();
    if (c->pid < 0) {
        mail_error_set(err, MAIL_ERR_IO, "fork: %s", strerror(errno));
        goto out;
    }
    if (c->pid == 0)
        run_child(sp, argv, envp, inp[0], outp[1], errp[1]);
    if (sp->timeout_ms > 0)
        setpgid(c->pid, c->pid);    /* also here: no race with kill_group */
    close_fd(&inp[0]);
    close_fd(&outp[1]);
    close_fd(&errp[1]);
    c->in_fd = inp[1];
    c->out_fd = outp[0];
    inp[1] = outp[0] = -1;
    c->exec_errno = exec_errno(errp[0]);
    if (c->exec_errno) {
        close_fd(&c->in_fd);
        close_fd(&c->out_fd);
    }
    rc = 0;
out:
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

static void result(const struct mail_spawn_child *c, int status,
                   struct mail_spawn_result *res)
{
    if (c->exec_errno) {
        res->how = MAIL_SPAWN_EXEC_FAILED;
        res->code = c->exec_errno;
    } else if (c->timed_out) {
        res->how = MAIL_SPAWN_TIMEOUT;
    } else if (WIFSIGNALED(status)) {
        res->how = MAIL_SPAWN_SIGNALED;
        res->code = WTERMSIG(status);
    } else {
        res->how = MAIL_SPAWN_EXITED;
        res->code = WEXITSTATUS(status);
    }
}

int mail_spawn_run(const struct mail_spawn *sp, struct mail_spawn_result *res,
                   struct mail_error *err)
{
    sigset_t pipe_set, old_set;
    struct run r;
    int status = 0, rc = -1;
    bool sigpipe_blocked = false;

    memset(res, 0, sizeof *res);
    memset(&r, 0, sizeof r);
    r.sp = sp;
    if (sp->in_fd == MAIL_SPAWN_PIPE || sp->out_fd == MAIL_SPAWN_PIPE)
        return mail_error_set(err, MAIL_ERR_INTERNAL,
                              "spawn: a pipe is for mail_spawn_start");
    if (sp->out && sp->secret && sp->out_max &&
        mail_buf_reserve(sp->out, sp->out_max) < 0)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    /* reserved: no realloc leaves copies behind */
    /* Writing to a command that quit must give EPIPE, not kill us. */
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    if (sp->in_data && sigprocmask(SIG_BLOCK, &pipe_set, &old_set) == 0)
        sigpipe_blocked = !sigismember(&old_set, SIGPIPE);
    if (launch(sp, sp->in_data != NULL, sp->out != NULL, &r.c, err) < 0)
        goto out;
    if (r.c.in_fd >= 0)
        fcntl(r.c.in_fd, F_SETFL, fcntl(r.c.in_fd, F_GETFL) | O_NONBLOCK);
    rc = pump(&r, err);
    if (reap(&r.c, &status, err) < 0)
        rc = -1;
    if (rc == 0) {
        res->out_truncated = r.truncated;
        result(&r.c, status, res);
    }
out:
    if (sigpipe_blocked) {
        struct timespec zero = { 0, 0 };

        while (sigtimedwait(&pipe_set, NULL, &zero) > 0)
            ;           /* the SIGPIPE our writes raised */
        sigprocmask(SIG_SETMASK, &old_set, NULL);
    }
    return rc;
}

int mail_spawn_start(const struct mail_spawn *sp,
                     struct mail_spawn_child *child, struct mail_error *err)
{
    if (sp->in_data || sp->out) {
        memset(child, 0, sizeof *child);
        child->pid = -1;
        child->in_fd = child->out_fd = -1;
        return mail_error_set(err, MAIL_ERR_INTERNAL,
                              "spawn: in_data and out are for mail_spawn_run");
    }
    return launch(sp, sp->in_fd == MAIL_SPAWN_PIPE,
                  sp->out_fd == MAIL_SPAWN_PIPE, child, err);
}

ssize_t mail_spawn_read(struct mail_spawn_child *child, void *buf,
                        size_t size, struct mail_error *err)
{
    for (;;) {
        struct pollfd p = { child->out_fd, POLLIN, 0 };
        int t = remaining(child), got;
        ssize_t n;

        if (child->out_fd < 0 || child->timed_out)
            return 0;
        if (t == 0) {
            kill_group(child);
            return 0;
        }
        got = poll(&p, 1, t);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return mail_error_set(err, MAIL_ERR_IO, "poll: %s",
                                  strerror(errno));
        if (got == 0)
            continue;           /* the time is up: checked above */
        n = read(child->out_fd, buf, size);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return mail_error_set(err, MAIL_ERR_IO, "read: %s",
                                  strerror(errno));
        return n;
    }
}

int mail_spawn_wait(struct mail_spawn_child *child,
                    struct mail_spawn_result *res, struct mail_error *err)
{
    int status = 0;

    memset(res, 0, sizeof *res);
    close_fd(&child->in_fd);
    close_fd(&child->out_fd);
    if (child->pid <= 0)
        return mail_error_set(err, MAIL_ERR_INTERNAL,
                              "spawn: no command to wait for");
    if (reap(child, &status, err) < 0)
        return -1;
    child->pid = -1;
    result(child, status, res);
    return 0;
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
