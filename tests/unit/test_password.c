/* test_password.c - password sources: command, literal, netrc, prompt. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mail/config.h"
#include "test.h"
#include "test_paths.h"

static int netrc(const char *text, const char *host, const char *user,
                 const char *want)
{
    struct mail_buf pw = MAIL_BUF_INIT;
    int r = mail_netrc_lookup(text, strlen(text), host, user, &pw);

    if (want) {
        CHECK(r == 1);
        CHECK_STR(pw.data, want);
    } else {
        CHECK(r == 0);
        CHECK(pw.len == 0);
    }
    mail_buf_release_secret(&pw);
    return r;
}

static void test_netrc(void)
{
    static const char text[] =
        "# a comment where a keyword goes\n"
        "machine ftp.example.com login anon password ftppw\n"
        "macdef init\n"
        "cd /pub\n"
        "machine evil.example.com password macropw\n"
        "\n"
        "machine imap.example.com\n"
        "    login alice\n"
        "    password \"two words \\\"q\\\" \\\\\"\n"
        "    account ignored\n"
        "machine IMAP.example.com login bob password bobpw\n"
        "machine nologin.example.com password anyuser\n"
        "default login alice password defaultpw\n";

    netrc(text, "imap.example.com", "alice", "two words \"q\" \\");
    netrc(text, "imap.EXAMPLE.com", "bob", "bobpw");
    /* No user asked for: the first entry for the host. */
    netrc(text, "imap.example.com", NULL, "two words \"q\" \\");
    netrc(text, "imap.example.com", "", "two words \"q\" \\");
    /* The host matches but not the login; default has alice only. */
    netrc(text, "imap.example.com", "carol", NULL);
    netrc(text, "nologin.example.com", "whoever", "anyuser");
    /* The default entry. */
    netrc(text, "smtp.example.com", "alice", "defaultpw");
    netrc(text, "smtp.example.com", "dave", NULL);
    netrc(text, "ftp.example.com", "anon", "ftppw");
    /* Text inside a macro body is not an entry. */
    netrc(text, "evil.example.com", "x", NULL);
    /* The default entry is the fallback even when it comes first. */
    netrc("default password d\nmachine h password m\n", "h", "u", "m");
    netrc("default password d\nmachine h password m\n", "g", "u", "d");
    /* Odd input does not crash. */
    netrc("", "h", "u", NULL);
    netrc("machine", "h", "u", NULL);
    netrc("machine h login", "h", "u", NULL);
    netrc("machine h password", "h", "u", NULL);
    netrc("machine h password \"unterminated", "h", "u", "unterminated");
    netrc("machine h password x\\", "h", "u", "x\\");
    netrc("macdef", "h", "u", NULL);
    netrc("macdef m\nbody", "h", "u", NULL);
    netrc("machine h\r\npassword crlf\r\n", "h", "u", "crlf");
}

static struct mail_account acct_with_command(const char *cmd)
{
    struct mail_account a;

    memset(&a, 0, sizeof a);
    a.name = (char *)"x";
    a.paths = test_env_paths();
    a.password_command = (char *)cmd;
    return a;
}

static void check_command(const char *cmd, const char *want_pw,
                          const char *want_err)
{
    struct mail_account a = acct_with_command(cmd);
    struct mail_buf out = MAIL_BUF_INIT;
    struct mail_error err;
    int r;

    test_current = cmd;
    mail_error_clear(&err);
    r = mail_account_password(&a, "h", "u", NULL, NULL, &out, &err);
    if (want_pw) {
        CHECK(r == 0);
        CHECK_STR(out.data, want_pw);
    } else {
        CHECK(r == -1);
        CHECK(out.len == 0);
        CHECK_STR(err.msg, want_err);
        CHECK(strstr(err.msg, "hunter2") == NULL);
    }
    mail_buf_release_secret(&out);
}

static void test_command(void)
{
    check_command("echo hunter2", "hunter2", NULL);
    check_command("printf 'hunter2\\r\\nsecond line\\n'", "hunter2", NULL);
    check_command("printf 'no newline'", "no newline", NULL);
    check_command("printf ' spaces kept \\n'", " spaces kept ", NULL);
    /* Reads all the output, so the command is not killed by SIGPIPE. */
    check_command("echo hunter2; head -c 200000 /dev/zero", "hunter2", NULL);
    check_command("echo hunter2; exit 3", NULL,
                  "password-command for account 'x' exited with status 3");
    check_command("true", NULL,
                  "password-command for account 'x' printed nothing");
    check_command("echo", NULL,
                  "password-command for account 'x' printed nothing");
    check_command("kill -9 $$", NULL,
                  "password-command for account 'x' was killed by signal 9 "
                  "(Killed)");
    check_command("/nonexistent/password-program 2>/dev/null", NULL,
                  "password-command for account 'x' exited with status 127 "
                  "(command not found)");
    check_command("head -c 5000 /dev/zero | tr '\\0' a", NULL,
                  "password-command for account 'x' printed a line longer "
                  "than 4096 bytes");
    check_command("yes hunter2", NULL,
                  "password-command for account 'x' printed more than "
                  "1048576 bytes");
}

struct prompt_log {
    int calls;
    char prompt[256];
    int fail;
};

static int fake_prompt(void *arg, const char *prompt, struct mail_buf *out,
                       struct mail_error *err)
{
    struct prompt_log *log = arg;

    log->calls++;
    snprintf(log->prompt, sizeof log->prompt, "%s", prompt);
    if (log->fail)
        return mail_error_set(err, MAIL_ERR_AUTH, "no terminal");
    return mail_buf_addstr(out, "typed");
}

static char *make_home(void)
{
    char *dir = strdup("/tmp/test_password.XXXXXX");

    if (!mkdtemp(dir)) {
        free(dir);
        return NULL;
    }
    setenv("HOME", dir, 1);
    return dir;
}

static char *write_netrc(const char *home, const char *text, mode_t mode)
{
    size_t n = strlen(home) + 10;
    char *path = malloc(n);
    FILE *f;

    if (!path)
        return NULL;
    snprintf(path, n, "%s/.netrc", home);
    f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    chmod(path, mode);
    return path;
}

static void test_sources(void)
{
    struct mail_account a;
    struct mail_buf out = MAIL_BUF_INIT;
    struct mail_error err;
    struct prompt_log log = { 0, "", 0 };
    char *home = make_home(), *path, want[512];

    CHECK(home != NULL);
    memset(&a, 0, sizeof a);
    a.name = (char *)"x";
    a.paths = test_env_paths();

    /* Nothing configured: the prompt, then the error. */
    CHECK(mail_account_password(&a, "imap.example.com", "alice",
                                fake_prompt, &log, &out, &err) == 0);
    CHECK(log.calls == 1);
    CHECK_STR(log.prompt, "Password for alice@imap.example.com: ");
    CHECK_STR(out.data, "typed");
    mail_buf_release_secret(&out);
    CHECK(mail_account_password(&a, "imap.example.com", "", fake_prompt,
                                &log, &out, &err) == 0);
    CHECK_STR(log.prompt, "Password for imap.example.com: ");
    mail_buf_release_secret(&out);
    log.fail = 1;
    CHECK(mail_account_password(&a, "imap.example.com", "alice",
                                fake_prompt, &log, &out, &err) == -1);
    CHECK_STR(err.msg, "no terminal");
    CHECK(out.len == 0);
    log.fail = 0;
    CHECK(mail_account_password(&a, "imap.example.com", "alice", NULL, NULL,
                                &out, &err) == -1);
    CHECK(err.kind == MAIL_ERR_AUTH);
    CHECK_STR(err.msg, "no password for alice@imap.example.com (set "
              "password-command in the config, or use ~/.netrc)");

    /* ~/.netrc, private. */
    path = write_netrc(home, "machine imap.example.com login alice "
                       "password netrcpw\n", 0600);
    log.calls = 0;
    CHECK(mail_account_password(&a, "imap.example.com", "alice",
                                fake_prompt, &log, &out, &err) == 0);
    CHECK_STR(out.data, "netrcpw");
    CHECK(log.calls == 0);
    mail_buf_release_secret(&out);
    /* Not for this host: on to the prompt. */
    CHECK(mail_account_password(&a, "smtp.example.com", "alice",
                                fake_prompt, &log, &out, &err) == 0);
    CHECK_STR(out.data, "typed");
    CHECK(log.calls == 1);
    mail_buf_release_secret(&out);
    /* Readable by others: refused when it has our password. */
    chmod(path, 0644);
    CHECK(mail_account_password(&a, "imap.example.com", "alice",
                                fake_prompt, &log, &out, &err) == -1);
    snprintf(want, sizeof want, "%s: refusing a password in a file "
             "readable by others (chmod 600 %s)", path, path);
    CHECK_STR(err.msg, want);
    CHECK(strstr(err.msg, "netrcpw") == NULL);
    CHECK(out.len == 0);

    /* A literal password comes before netrc... */
    a.password = (char *)"literal";
    CHECK(mail_account_password(&a, "imap.example.com", "alice", NULL, NULL,
                                &out, &err) == 0);
    CHECK_STR(out.data, "literal");
    mail_buf_release_secret(&out);
    /* ...and password-command before both. */
    a.password_command = (char *)"echo fromcommand";
    CHECK(mail_account_password(&a, "imap.example.com", "alice", NULL, NULL,
                                &out, &err) == 0);
    CHECK_STR(out.data, "fromcommand");
    mail_buf_release_secret(&out);
    /* A failing command is reported, not skipped. */
    a.password_command = (char *)"exit 1";
    CHECK(mail_account_password(&a, "imap.example.com", "alice", NULL, NULL,
                                &out, &err) == -1);
    CHECK_STR(err.msg, "password-command for account 'x' exited with "
              "status 1");
    /* The result is appended to what out held. */
    a.password_command = NULL;
    mail_buf_addstr(&out, "pre:");
    CHECK(mail_account_password(&a, "h", "u", NULL, NULL, &out, &err) == 0);
    CHECK_STR(out.data, "pre:literal");
    mail_buf_release_secret(&out);

    unlink(path);
    free(path);
    rmdir(home);
    free(home);
}

/*
 * A child that starts dumpable with a core limit (when the hard limit
 * allows one), gets a password through `how`, and reports in its exit
 * status: bit 0 the core limit is 0, bit 1 the process is not dumpable,
 * 8 the password did not come, 16 the test could not be set up.
 */
enum { BY_COMMAND, BY_LITERAL, BY_NETRC };

static int secure_child(int how, const char *allow)
{
    pid_t pid;
    int status = -1;

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        struct mail_account a;
        struct mail_buf out = MAIL_BUF_INIT;
        struct mail_error err;
        struct rlimit rl;
        int r = 0;

        struct mail_paths pp = MAIL_PATHS_INIT;

        memset(&a, 0, sizeof a);
        a.name = (char *)"x";
        /* What the program makes of MAIL_ALLOW_CORE_DUMPS (cmd/main.c);
         * the library itself reads no environment: the variable set to
         * 1 with the paths saying no changes nothing. */
        pp.allow_core_dumps = allow && strcmp(allow, "1") == 0;
        a.paths = &pp;
        setenv("MAIL_ALLOW_CORE_DUMPS", "1", 1);
        if (getrlimit(RLIMIT_CORE, &rl) < 0)
            _exit(16);
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 4096
                      ? 4096 : rl.rlim_max;
        if (rl.rlim_cur == 0 || setrlimit(RLIMIT_CORE, &rl) < 0 ||
            prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
            _exit(16);
        if (how == BY_COMMAND) {
            a.password_command = (char *)"echo pw";
        } else if (how == BY_LITERAL) {
            a.password = (char *)"pw";
        } else {
            char dir[] = "/tmp/test_password.XXXXXX", path[64];
            FILE *f;

            if (!mkdtemp(dir))
                _exit(16);
            snprintf(path, sizeof path, "%s/.netrc", dir);
            f = fopen(path, "w");
            if (!f || fputs("machine h login u password pw\n", f) < 0 ||
                fclose(f) != 0 || chmod(path, 0600) < 0)
                _exit(16);
            setenv("HOME", dir, 1);
            a.paths = test_env_paths();
            r = mail_account_password(&a, "h", "u", NULL, NULL, &out, &err);
            unlink(path);
            rmdir(dir);
            goto check;
        }
        r = mail_account_password(&a, "h", "u", NULL, NULL, &out, &err);
check:
        if (r < 0 || !out.data || strcmp(out.data, "pw") != 0)
            _exit(8);
        mail_buf_release_secret(&out);
        r = 0;
        if (getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_cur == 0)
            r |= 1;
        if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0)
            r |= 2;
        _exit(r);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* No core dump once a password is held, whatever its source; left alone
 * with MAIL_ALLOW_CORE_DUMPS=1. */
static void test_no_core_dumps(void)
{
    CHECK(secure_child(BY_COMMAND, NULL) == 3);
    CHECK(secure_child(BY_LITERAL, NULL) == 3);
    CHECK(secure_child(BY_NETRC, NULL) == 3);
    CHECK(secure_child(BY_COMMAND, "0") == 3);
    CHECK(secure_child(BY_COMMAND, "1") == 0);
    CHECK(secure_child(BY_LITERAL, "1") == 0);
}

int main(void)
{
    RUN(test_netrc);
    RUN(test_command);
    RUN(test_sources);
    RUN(test_no_core_dumps);
    return test_done();
}
