/*
 * secure.h - keep the secrets a process holds out of core dumps.
 */
#ifndef MAIL_SECURE_H
#define MAIL_SECURE_H

#pragma GCC visibility push(default)

#include "paths.h"

/*
 * Make the process leave no core dump and refuse ptrace attaches by other
 * processes of the user: RLIMIT_CORE's soft limit 0 and
 * prctl(PR_SET_DUMPABLE, 0).  Called where a secret is first obtained
 * (mail_account_password), so that every command holding a password is
 * covered; calling it again is harmless.  Programs it starts get the core
 * limit of 0 too; the dumpable flag is reset by their exec.
 *
 * paths->allow_core_dumps (the program sets it from the environment
 * variable MAIL_ALLOW_CORE_DUMPS=1; the library reads no environment)
 * leaves both alone, for debugging a crash (the core file may then hold
 * the password).  paths may be NULL: no exception.
 *
 * Returns 0, or -1 when a setting could not be applied (nothing to do
 * about it but go on: the secret is needed either way).
 */
int mail_secure_process(const struct mail_paths *paths);

#pragma GCC visibility pop

#endif
