/*
 * test_paths.h - the library's directories for a unit test: those of the
 * environment as it is at the call.  Tests change HOME and XDG_*_HOME
 * between steps; the struct stays at one address, so a folder opened
 * earlier sees the change as the program would see a new run's.
 */
#ifndef MAIL_TEST_PATHS_H
#define MAIL_TEST_PATHS_H

#include "mail/paths.h"

static inline const struct mail_paths *test_env_paths(void)
{
    static struct mail_paths p;

    mail_paths_release(&p);
    (void)mail_paths_from_env(&p, NULL);
    return &p;
}

#endif
