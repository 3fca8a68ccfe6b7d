/* test_spawn.c - the one fork/exec helper: statuses, time limit, capture,
 * stdin feeding, clean environment. */
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
    return test_done();
}
