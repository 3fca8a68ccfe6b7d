/*
 * pager.h - page standard output through $PAGER when it is a terminal,
 * the way git does: the pager is started with our standard output as
 * its own, and our standard output becomes a pipe into it.
 *
 *     pager_start();          // no-op unless stdout is a terminal
 *     ... write to stdout ...
 *     pager_finish();         // close the pipe, wait for the pager
 *
 * $PAGER chooses the program (run with /bin/sh -c); unset means
 * "less -R", and an empty $PAGER or "cat" means no pager.  LESS=FRX is
 * set for it unless LESS is set already, so that less quits at once on
 * a short text and keeps the screen.
 */
#ifndef MAIL_CMD_PAGER_H
#define MAIL_CMD_PAGER_H

#include <stdbool.h>

/* Start the pager if standard output is a terminal and a pager is
 * configured.  Returns true when one is running.  Failing to start it is
 * not an error: output then goes to the terminal. */
bool pager_start(void);

/* Is a pager running? */
bool pager_active(void);

/*
 * Flush, close the pipe and wait for the pager; standard output is the
 * terminal again.  A write error from a pager that was quit early (EPIPE)
 * is cleared: it is not a failure.  No-op without a pager.
 */
void pager_finish(void);

#endif
