/* test_spawn.c - the one fork/exec helper: statuses, time limit, capture,
 * stdin feeding, clean environment; start/read/wait for a command that
 * runs beside the caller (a pager, a viewer read as it writes). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mail/spawn.h"
#include "test.h"

static int run(const char *cmd, struct mail_spawn_result *res,
               struct mail_error *err)
{
    struct mail_spawn sp = MAIL_SPAWN_INIT;

    sp.command = cmd;
    return mail_spawn_run(&sp, res, err);
}

static void test_status(void)
{
    struct mail_spawn_result res;
    struct mail_error err;

    CHECK(run("exit 0", &res, &err) == 0);
    CHECK(res.how == MAIL_SPAWN_EXITED && res.code == 0);
    CHECK(mail_spawn_check(&res, "true", &err) == 0);

    CHECK(run("exit 3", &res, &err) == 0);
    CHECK(res.how == MAIL_SPAWN_EXITED && res.code == 3);
    CHECK(mail_spawn_check(&res, "the hook", &err) < 0);
    CHECK_STR(err.msg, "the hook exited with status 3");

    CHECK(run("kill -TERM $$", &res, &err) == 0);
    CHECK(res.how == MAIL_SPAWN_SIGNALED && res.code == SIGTERM);
    CHECK(mail_spawn_check(&res, "x", &err) < 0);
    CHECK(strstr(err.msg, "x was killed by signal 15") == err.msg);

    CHECK(run("exec 2>/dev/null; no-such-command-here", &res, &err) == 0);
    CHECK(res.how == MAIL_SPAWN_EXITED && res.code == 127);
    mail_spawn_check(&res, "y", &err);
    CHECK_STR(err.msg, "y exited with status 127 (command not found)");
}

static void test_argv(void)
{
    static const char *const bad[] = { "/no/such/program", NULL };
    static const char *const args[] = { "printf", "%s|%s", "a b", "c", NULL };
    static const char *const shargs[] = { "echo", "two words", NULL };
    struct mail_spawn sp = MAIL_SPAWN_INIT;
    struct mail_spawn_result res;
    struct mail_buf out = MAIL_BUF_INIT;
    struct mail_error err;

    sp.argv = bad;
    CHECK(mail_spawn_run(&sp, &res, &err) == 0);
    CHECK(res.how == MAIL_SPAWN_EXEC_FAILED && res.code == ENOENT);
    mail_spawn_check(&res, "the viewer", &err);
    CHECK(strstr(err.msg, "the viewer could not be run: ") == err.msg);

    sp.argv = args;
    sp.out = &out;
    CHECK(mail_spawn_run(&sp, &res, &err) == 0);
    CHECK(res.how == MAIL_SPAWN_EXITED && res.code == 0);
    CHECK_STR(out.data, "a b|c");

    /* A shell command with positional arguments ($EDITOR's way). */
    mail_buf_reset(&out);
    sp.command = "exec $0 \"$1\"";
    sp.argv = shargs;
    CHECK(mail_spawn_run(&sp, &res, &err) == 0);
    CHECK_STR(out.data, "two words\n");
    mail_buf_release(&out);
}

/* Gone, or a zombie waiting for a reaper that is not us. */
static int alive(pid_t pid)
{
    char path[64], line[256];
    FILE *f;
    int live = 0;

    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    f = fopen(path, "r");
    if (!f)
        return 0;
    if (fgets(line, sizeof line, f)) {
        const char *p = strrchr(line, ')');

        live = p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
    }
    fclose(f);
    return live;
}

static void test_timeout(void)
{
    struct mail_spawn sp = MAIL_SPAWN_INIT;
    struct mail_spawn_result res;
    struct mail_buf out = MAIL_BUF_INIT;
    struct mail_error err;
    char path[] = "/tmp/test_spawn_XXXXXX";
    char cmd[256];
    time_t t0;
    int fd = mkstemp(path);
    FILE *f;
    long gpid = 0;

    CHECK(fd >= 0);
    close(fd);
    /* A grandchild in the background that would outlive its parent:
     * the whole group must die. */
    snprintf(cmd, sizeof cmd, "sleep 30 & echo $! > %s; wait", path);
    sp.command = cmd;
    sp.timeout_ms = 300;
    t0 = time(NULL);
    CHECK(mail_spawn_run(&sp, &res, &err) == 0);
    CHECK(time(NULL) - t0 < 5);
    CHECK(res.how == MAIL_SPAWN_TIMEOUT);
    mail_spawn_check(&res, "the viewer", &err);
    CHECK_STR(err.msg, "the viewer timed out");
    f = fopen(path, "r");
    CHECK(f && fscanf(f, "%ld", &gpid) == 1 && gpid > 0);
    if (f)
        fclose(f);
    usleep(100000);
    CHECK(gpid > 0 && !alive((pid_t)gpid));
    unlink(path);

    /* Also while output is being captured, and with stdout passed on. */
    sp.command = "while :; do echo y; sleep 0.01; done";
    sp.out = &out;
    CHECK(mail_spawn_run(&sp, &res, &err) == 0);
    CHECK(res.how == MAIL_SPAWN_TIMEOUT && out.len > 0);
    sp.command = "exec >/dev/null; sleep 30";
    sp.out = NULL;
    t0 = time(NULL);
    CHECK(mail_spawn_run(&sp, &res, &err) == 0);
    CHECK(res.how == MAIL_SPAWN_TIMEOUT && time(NULL) - t0 < 5);

    /* A quick command under a limit is just a command. */
    sp.command = "exit 4";
    CHECK(mail_spawn_run(&sp, &res, &err) == 0);
    CHECK(res.how == MAIL_SPAWN_EXITED && res.code == 4);
    mail_buf_release(&out);
}

static void test_capped(void)
{
    struct mail_spawn sp = MAIL_SPAWN_INIT;
    struct mail_spawn_result res;
    struct mail_buf out = MAIL_BUF_INIT;
    struct mail_error err;

    sp.command = "yes";
    sp.out = &out;
    sp.out_max = 1000;
    sp.secret = true;
    CHECK(mail_spawn_run(&sp, &res, &err) == 0);
    CHECK(res.out_truncated);
    CHECK(out.len == 1000);
    /* yes died of SIGPIPE (or the shell that ran it says so) */
    CHECK((res.how == MAIL_SPAWN_SIGNALED && res.code == SIGPIPE) ||
          (res.how == MAIL_SPAWN_EXITED && res.code == 128 + SIGPIPE));
    mail_buf_release_secret(&out);

    sp.command = "printf 'abc'";
    sp.secret = false;
    CHECK(mail_spawn_run(&sp, &res, &err) == 0);
    CHECK(!res.out_truncated && res.how == MAIL_SPAWN_EXITED);
    CHECK_STR(out.data, "abc");
    mail_buf_release(&out);
}

static void test_stdin(void)
{
    struct mail_spawn sp = MAIL_SPAWN_INIT;
    struct mail_spawn_result res;
    struct mail_buf out = MAIL_BUF_INIT;
    struct mail_error err;
    size_t n = 1 << 20, i;
    char *in = malloc(n);

    for (i = 0; i < n; i++)
        in[i] = (char)('a' + i % 26);
    /* cat writes as it reads: a megabyte each way, far more than a pipe
     * holds, so feeding and reading must go together. */
    sp.command = "cat";
    sp.in_data = in;
    sp.in_len = n;
    sp.out = &out;
    CHECK(mail_spawn_run(&sp, &res, &err) == 0);
    CHECK(res.how == MAIL_SPAWN_EXITED && res.code == 0);
    CHECK_MEM(out.data, out.len, in, n);

    /* A command that reads nothing: no SIGPIPE kills us. */
    mail_buf_reset(&out);
    sp.command = "exec 0<&-; echo done";
    CHECK(mail_spawn_run(&sp, &res, &err) == 0);
    CHECK(res.how == MAIL_SPAWN_EXITED && res.code == 0);
    CHECK_STR(out.data, "done\n");
    free(in);
    mail_buf_release(&out);
}

static void test_env(void)
{
    struct mail_spawn sp = MAIL_SPAWN_INIT;
    struct mail_spawn_result res;
    struct mail_buf out = MAIL_BUF_INIT;
    struct mail_error err;

    setenv("MAIL_SPAWN_TEST_SECRET", "s3cret", 1);
    sp.command = "echo \"[$MAIL_SPAWN_TEST_SECRET][${HOME:+home}]\"";
    sp.out = &out;
    CHECK(mail_spawn_run(&sp, &res, &err) == 0);
    CHECK_STR(out.data, "[s3cret][home]\n");
    mail_buf_reset(&out);
    sp.clean_env = true;
    CHECK(mail_spawn_run(&sp, &res, &err) == 0);
    CHECK_STR(out.data, "[][home]\n");
    mail_buf_release(&out);
}

/* Everything the command writes, through mail_spawn_read. */
static void read_all(struct mail_spawn_child *c, struct mail_buf *out)
{
    char chunk[256];
    struct mail_error err;
    ssize_t n;

    while ((n = mail_spawn_read(c, chunk, sizeof chunk, &err)) > 0)
        mail_buf_add(out, chunk, (size_t)n);
    CHECK(n == 0);
}

static void test_start_pipes(void)
{
    struct mail_spawn sp = MAIL_SPAWN_INIT;
    struct mail_spawn_child c;
    struct mail_spawn_result res;
    struct mail_buf out = MAIL_BUF_INIT;
    struct mail_error err;
    char chunk[64];
    ssize_t n;

    /* stdin fed by the caller, stdout read by the caller. */
    sp.command = "tr a-z A-Z";
    sp.in_fd = MAIL_SPAWN_PIPE;
    sp.out_fd = MAIL_SPAWN_PIPE;
    CHECK(mail_spawn_start(&sp, &c, &err) == 0);
    CHECK(c.pid > 0 && c.in_fd >= 0 && c.out_fd >= 0);
    CHECK(write(c.in_fd, "hello pager\n", 12) == 12);
    close(c.in_fd);
    c.in_fd = -1;
    read_all(&c, &out);
    CHECK_MEM(out.data, out.len, "HELLO PAGER\n", 12);
    CHECK(mail_spawn_wait(&c, &res, &err) == 0);
    CHECK(res.how == MAIL_SPAWN_EXITED && res.code == 0);

    /* Incrementally: the first line comes before the command ends. */
    mail_buf_reset(&out);
    sp.command = "echo first; sleep 0.3; echo second";
    sp.in_fd = -1;
    CHECK(mail_spawn_start(&sp, &c, &err) == 0);
    CHECK(c.in_fd == -1 && c.out_fd >= 0);
    n = mail_spawn_read(&c, chunk, sizeof chunk, &err);
    CHECK(n == 6 && memcmp(chunk, "first\n", 6) == 0);
    read_all(&c, &out);
    CHECK_MEM(out.data, out.len, "second\n", 7);
    CHECK(mail_spawn_wait(&c, &res, &err) == 0);
    CHECK(res.how == MAIL_SPAWN_EXITED && res.code == 0);

    /* wait closes the caller's end of stdin: cat sees the end. */
    sp.command = "cat >/dev/null; exit 5";
    sp.in_fd = MAIL_SPAWN_PIPE;
    sp.out_fd = -1;
    CHECK(mail_spawn_start(&sp, &c, &err) == 0);
    CHECK(mail_spawn_wait(&c, &res, &err) == 0);
    CHECK(res.how == MAIL_SPAWN_EXITED && res.code == 5);
    CHECK(c.in_fd == -1);

    /* in_data and out belong to mail_spawn_run. */
    sp.in_data = "x";
    sp.in_len = 1;
    CHECK(mail_spawn_start(&sp, &c, &err) < 0 &&
          err.kind == MAIL_ERR_INTERNAL);
    CHECK(c.pid == -1 && c.in_fd == -1 && c.out_fd == -1);
    mail_buf_release(&out);
}

/* A pager quit early: the caller's writes fail with EPIPE (it ignores
 * SIGPIPE, as the program does) and the pager's status is clean. */
static void test_start_quit_early(void)
{
    struct mail_spawn sp = MAIL_SPAWN_INIT;
    struct mail_spawn_child c;
    struct mail_spawn_result res;
    struct mail_error err;
    char block[4096];
    ssize_t n = 0;
    int i;

    memset(block, 'x', sizeof block);
    signal(SIGPIPE, SIG_IGN);
    sp.command = "head -c 10 >/dev/null";
    sp.in_fd = MAIL_SPAWN_PIPE;
    CHECK(mail_spawn_start(&sp, &c, &err) == 0);
    for (i = 0; i < 10000; i++) {
        n = write(c.in_fd, block, sizeof block);
        if (n < 0)
            break;
    }
    CHECK(n < 0 && errno == EPIPE);
    CHECK(mail_spawn_wait(&c, &res, &err) == 0);
    CHECK(res.how == MAIL_SPAWN_EXITED && res.code == 0);
    signal(SIGPIPE, SIG_DFL);
}

static void test_start_timeout(void)
{
    struct mail_spawn sp = MAIL_SPAWN_INIT;
    struct mail_spawn_child c;
    struct mail_spawn_result res;
    struct mail_buf out = MAIL_BUF_INIT;
    struct mail_error err;
    char path[] = "/tmp/test_spawn_XXXXXX";
    char cmd[256];
    time_t t0;
    int fd = mkstemp(path);
    FILE *f;
    long gpid = 0;

    CHECK(fd >= 0);
    close(fd);
    /* Read while the time runs out: the read ends, the group dies. */
    snprintf(cmd, sizeof cmd,
             "sleep 30 & echo $! > %s; echo started; wait", path);
    sp.command = cmd;
    sp.out_fd = MAIL_SPAWN_PIPE;
    sp.timeout_ms = 300;
    t0 = time(NULL);
    CHECK(mail_spawn_start(&sp, &c, &err) == 0);
    read_all(&c, &out);
    CHECK_MEM(out.data, out.len, "started\n", 8);
    CHECK(mail_spawn_wait(&c, &res, &err) == 0);
    CHECK(time(NULL) - t0 < 5);
    CHECK(res.how == MAIL_SPAWN_TIMEOUT);
    f = fopen(path, "r");
    CHECK(f && fscanf(f, "%ld", &gpid) == 1 && gpid > 0);
    if (f)
        fclose(f);
    usleep(100000);
    CHECK(gpid > 0 && !alive((pid_t)gpid));
    unlink(path);

    /* Only waiting: wait keeps the limit too. */
    sp.command = "exec >/dev/null; sleep 30";
    sp.out_fd = -1;
    sp.in_fd = MAIL_SPAWN_PIPE;
    t0 = time(NULL);
    CHECK(mail_spawn_start(&sp, &c, &err) == 0);
    CHECK(mail_spawn_wait(&c, &res, &err) == 0);
    CHECK(res.how == MAIL_SPAWN_TIMEOUT && time(NULL) - t0 < 5);
    mail_buf_release(&out);
}

static void test_start_exec_failed(void)
{
    static const char *const bad[] = { "/no/such/pager", NULL };
    struct mail_spawn sp = MAIL_SPAWN_INIT;
    struct mail_spawn_child c;
    struct mail_spawn_result res;
    struct mail_error err;

    sp.argv = bad;
    sp.in_fd = MAIL_SPAWN_PIPE;
    sp.out_fd = MAIL_SPAWN_PIPE;
    CHECK(mail_spawn_start(&sp, &c, &err) == 0);
    CHECK(c.in_fd == -1 && c.out_fd == -1);
    CHECK(mail_spawn_wait(&c, &res, &err) == 0);
    CHECK(res.how == MAIL_SPAWN_EXEC_FAILED && res.code == ENOENT);
    mail_spawn_check(&res, "the pager", &err);
    CHECK(strstr(err.msg, "the pager could not be run: ") == err.msg);
}

/* A pager (no time limit) stays in our process group, the foreground one
 * on a terminal, so it can read the keyboard; a command with a limit
 * gets its own group, which the time-out kills. */
static void test_start_pgroup(void)
{
    struct mail_spawn sp = MAIL_SPAWN_INIT;
    struct mail_spawn_child c;
    struct mail_spawn_result res;
    struct mail_buf out = MAIL_BUF_INIT;
    struct mail_error err;
    long pgid = -1;

    /* Field 5 of /proc/PID/stat is the process group ("sh" has no
     * blank in its name). */
    sp.command = "exec cut -d' ' -f5 /proc/$$/stat";
    sp.out_fd = MAIL_SPAWN_PIPE;
    CHECK(mail_spawn_start(&sp, &c, &err) == 0);
    read_all(&c, &out);
    CHECK(mail_spawn_wait(&c, &res, &err) == 0);
    mail_buf_addch(&out, '\0');
    CHECK(sscanf(out.data, "%ld", &pgid) == 1 && pgid == (long)getpgrp());

    mail_buf_reset(&out);
    sp.timeout_ms = 5000;
    CHECK(mail_spawn_start(&sp, &c, &err) == 0);
    read_all(&c, &out);
    CHECK(mail_spawn_wait(&c, &res, &err) == 0);
    mail_buf_addch(&out, '\0');
    CHECK(sscanf(out.data, "%ld", &pgid) == 1 && pgid != (long)getpgrp() &&
          pgid > 0);
    mail_buf_release(&out);
}

/* A pager's environment defaults, and signals a caller ignores. */
static void test_env_default_signals(void)
{
    static const char *const defaults[] = {
        "MAIL_SPAWN_T_A=default", "MAIL_SPAWN_T_B=default", "junk", NULL,
    };
    struct mail_spawn sp = MAIL_SPAWN_INIT;
    struct mail_spawn_result res;
    struct mail_buf out = MAIL_BUF_INIT;
    struct mail_error err;
    struct sigaction ign, old;

    setenv("MAIL_SPAWN_T_A", "mine", 1);
    unsetenv("MAIL_SPAWN_T_B");
    sp.command = "echo \"$MAIL_SPAWN_T_A $MAIL_SPAWN_T_B ${HOME:+home}\"";
    sp.out = &out;
    sp.env_default = defaults;
    CHECK(mail_spawn_run(&sp, &res, &err) == 0);
    CHECK_STR(out.data, "mine default home\n");
    mail_buf_reset(&out);
    sp.clean_env = true;
    CHECK(mail_spawn_run(&sp, &res, &err) == 0);
    CHECK_STR(out.data, "default default home\n");
    CHECK(getenv("MAIL_SPAWN_T_B") == NULL);

    /* SIGINT ignored here (as under a pager): inherited unless asked. */
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGINT, &ign, &old);
    mail_buf_reset(&out);
    sp.env_default = NULL;
    sp.clean_env = false;
    sp.command = "kill -INT $$; echo alive";
    CHECK(mail_spawn_run(&sp, &res, &err) == 0);
    CHECK(res.how == MAIL_SPAWN_EXITED && res.code == 0);
    CHECK_STR(out.data, "alive\n");
    sp.default_signals = true;
    CHECK(mail_spawn_run(&sp, &res, &err) == 0);
    CHECK(res.how == MAIL_SPAWN_SIGNALED && res.code == SIGINT);
    sigaction(SIGINT, &old, NULL);
    mail_buf_release(&out);
}

int main(void)
{
    /* Line-buffered TAP: under valgrind a child whose exec failed flushes
     * a copy of a full stdio buffer, and the TAP lines come out twice. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* As the program does: servers' peers vanish. */
    signal(SIGPIPE, SIG_DFL);
    RUN(test_status);
    RUN(test_argv);
    RUN(test_timeout);
    RUN(test_capped);
    RUN(test_stdin);
    RUN(test_env);
    RUN(test_start_pipes);
    RUN(test_start_quit_early);
    RUN(test_start_timeout);
    RUN(test_start_exec_failed);
    RUN(test_start_pgroup);
    RUN(test_env_default_signals);
    return test_done();
}
