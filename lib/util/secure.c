/*
 * secure.c - no core dumps while the process may hold a secret; see
 * mail/secure.h.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/prctl.h>

#include "mail/secure.h"

int mail_secure_process(void)
{
    const char *allow = getenv("MAIL_ALLOW_CORE_DUMPS");
    struct rlimit rl;
    int rc = 0;

    /* MAIL_ALLOW_CORE_DUMPS=1: the user debugs a crash and wants the
     * core, password and all.  Any other value is not a yes. */
    if (allow && strcmp(allow, "1") == 0)
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
