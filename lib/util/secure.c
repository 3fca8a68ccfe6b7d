/*
 * secure.c - no core dumps while the process may hold a secret; see
 * mail/secure.h.
 */
#include <sys/resource.h>
#include <sys/prctl.h>

#include "mail/secure.h"

int mail_secure_process(const struct mail_paths *paths)
{
    struct rlimit rl;
    int rc = 0;

    /* MAIL_ALLOW_CORE_DUMPS=1 (read by the program): the user debugs a
     * crash and wants the core, password and all. */
    if (paths && paths->allow_core_dumps)
        return 0;
    if (getrlimit(RLIMIT_CORE, &rl) < 0) {
        rc = -1;
    } else if (rl.rlim_cur != 0) {
        rl.rlim_cur = 0;
        if (setrlimit(RLIMIT_CORE, &rl) < 0)
            rc = -1;
    }
    /* Also covers what RLIMIT_CORE does not: a core_pattern pipe to a
     * crash handler (systemd-coredump, apport) ignores the limit, and a
     * debugger of the same user could read the memory. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        rc = -1;
    return rc;
}
