/*
 * secure.h - keep the secrets a process holds out of core dumps.
 */
#ifndef MAIL_SECURE_H
#define MAIL_SECURE_H

#pragma GCC visibility push(default)

/*
 * Make the process leave no core dump and refuse ptrace attaches by other
 * processes of the user: RLIMIT_CORE's soft limit 0 and
 * prctl(PR_SET_DUMPABLE, 0).  Called where a secret is first obtained
 * (mail_account_password), so that every command holding a password is
 * covered; calling it again is harmless.  Programs it starts get the core
 * limit of 0 too; the dumpable flag is reset by their exec.
 *
 * The environment variable MAIL_ALLOW_CORE_DUMPS=1 leaves both alone, for
 * debugging a crash (the core file may then hold the password).
 *
 * Returns 0, or -1 when a setting could not be applied (nothing to do
 * about it but go on: the secret is needed either way).
 */
int mail_secure_process(void);

#pragma GCC visibility pop

#endif
