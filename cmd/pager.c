/*
 * pager.c - standard output through $PAGER; see pager.h.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pager.h"

static pid_t pager_pid = -1;
static int saved_stdout = -1;
static struct sigaction old_int, old_quit;

/* The pager command, or NULL for none. */
static const char *pager_command(void)
{
    const char *p = getenv("PAGER");

    if (!p)
        return "less -R";
    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p || strcmp(p, "cat") == 0)
        return NULL;
    return p;
}

bool pager_start(void)
{
    const char *cmd;
    int fds[2];
    pid_t pid;

    if (pager_pid > 0 || !isatty(STDOUT_FILENO))
        return pager_pid > 0;
    cmd = pager_command();
    if (!cmd)
        return false;
    fflush(stdout);
    if (pipe(fds) < 0)
        return false;
    saved_stdout = dup(STDOUT_FILENO);
    if (saved_stdout < 0) {
        close(fds[0]);
        close(fds[1]);
        return false;
    }
    pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        close(saved_stdout);
        saved_stdout = -1;
        return false;
    }
    if (pid == 0) {
        /* The pager reads the pipe and writes to the terminal.  We ignore
         * SIGPIPE; it must not inherit that. */
        signal(SIGPIPE, SIG_DFL);
        dup2(fds[0], STDIN_FILENO);
        close(fds[0]);
        close(fds[1]);
        close(saved_stdout);
        setenv("LESS", "FRX", 0);
        setenv("LV", "-c", 0);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(fds[0]);
    if (dup2(fds[1], STDOUT_FILENO) < 0) {
        close(fds[1]);
        close(saved_stdout);
        saved_stdout = -1;
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        return false;
    }
    close(fds[1]);
    pager_pid = pid;
    /* ^C is the pager's to handle (less stops reading on it); if it
     * killed us, the shell would come back while less still owns the
     * terminal.  git does the same. */
    {
        struct sigaction ign;

        memset(&ign, 0, sizeof ign);
        ign.sa_handler = SIG_IGN;
        sigemptyset(&ign.sa_mask);
        sigaction(SIGINT, &ign, &old_int);
        sigaction(SIGQUIT, &ign, &old_quit);
    }
    return true;
}

bool pager_active(void)
{
    return pager_pid > 0;
}

void pager_finish(void)
{
    int status;

    if (pager_pid <= 0)
        return;
    fflush(stdout);
    /* The pager quitting before the end makes writes fail with EPIPE:
     * that is the user's choice, not an error. */
    if (ferror(stdout))
        clearerr(stdout);
    /* Putting the terminal back closes the last write end of the pipe:
     * the pager sees the end of its input. */
    dup2(saved_stdout, STDOUT_FILENO);
    close(saved_stdout);
    saved_stdout = -1;
    while (waitpid(pager_pid, &status, 0) < 0 && errno == EINTR)
        ;
    pager_pid = -1;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
}
