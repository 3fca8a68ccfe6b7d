/*
 * pager.c - standard output through $PAGER; see pager.h.  The pager is
 * started by the library's one fork/exec helper (mail_spawn_start): no
 * time limit, so it stays in our process group and gets the terminal.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail/spawn.h"
#include "pager.h"

static struct mail_spawn_child pager = { .pid = -1, .in_fd = -1, .out_fd = -1 };
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

/* Forget the pager; stdout is the terminal again if it was moved. */
static void pager_reap(void)
{
    struct mail_spawn_result res;
    struct mail_error err;

    if (saved_stdout >= 0) {
        dup2(saved_stdout, STDOUT_FILENO);
        close(saved_stdout);
        saved_stdout = -1;
    }
    /* Its status is the user's business (q in less, a pager not found:
     * the shell said so on stderr). */
    mail_spawn_wait(&pager, &res, &err);
    pager.pid = -1;
}

bool pager_start(void)
{
    /* less quits at once on a short text and keeps the screen; lv
     * shows colors. */
    static const char *const defaults[] = { "LESS=FRX", "LV=-c", NULL };
    struct mail_spawn sp = MAIL_SPAWN_INIT;
    struct mail_error err;
    struct sigaction ign;

    if (pager.pid > 0 || !isatty(STDOUT_FILENO))
        return pager.pid > 0;
    sp.command = pager_command();
    if (!sp.command)
        return false;
    fflush(stdout);
    saved_stdout = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    if (saved_stdout < 0)
        return false;
    /* The pager reads the pipe and writes to the terminal (our stdout). */
    sp.in_fd = MAIL_SPAWN_PIPE;
    sp.env_default = defaults;
    if (mail_spawn_start(&sp, &pager, &err) < 0) {
        close(saved_stdout);
        saved_stdout = -1;
        pager.pid = -1;
        return false;
    }
    if (pager.in_fd < 0 || dup2(pager.in_fd, STDOUT_FILENO) < 0) {
        if (pager.pid > 0)
            kill(pager.pid, SIGTERM);
        pager_reap();
        return false;
    }
    close(pager.in_fd);
    pager.in_fd = -1;
    /* ^C is the pager's to handle (less stops reading on it); if it
     * killed us, the shell would come back while less still owns the
     * terminal.  git does the same. */
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGQUIT, &ign, &old_quit);
    return true;
}

bool pager_active(void)
{
    return pager.pid > 0;
}

void pager_finish(void)
{
    if (pager.pid <= 0)
        return;
    fflush(stdout);
    /* The pager quitting before the end makes writes fail with EPIPE:
     * that is the user's choice, not an error. */
    if (ferror(stdout))
        clearerr(stdout);
    /* Putting the terminal back closes the last write end of the pipe:
     * the pager sees the end of its input. */
    pager_reap();
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
}
