/*
 * secret_command.h - inside the config layer only (not installed): the one
 * way password.c and oauth2.c run a user's command that prints a secret.
 */
#ifndef MAIL_CONFIG_SECRET_COMMAND_H
#define MAIL_CONFIG_SECRET_COMMAND_H

#include <stddef.h>

#include "mail/buf.h"
#include "mail/error.h"

struct secret_command {
    const char *command;    /* run by /bin/sh -c, as the user wrote it */
    const char *what;       /* names it in errors: "password-command for
                               account 'work'" */
    const char *in;         /* given on its standard input; NULL: ours */
    size_t line_max;        /* the longest first line taken */
    unsigned timeout_ms;    /* 0: none (a pinentry may wait for the user) */
};

/*
 * Run it with standard error passed through, and append the first line of
 * its standard output (without the line end) to out, or, when out is NULL,
 * only check that it succeeded.  The output is read to the end (up to a
 * bound, so that `yes` does not hang us) in secret mode and wiped.
 * MAIL_ERR_IO when it cannot be run; MAIL_ERR_AUTH when it fails, prints
 * nothing, too much, or a first line longer than line_max.
 */
int secret_command_run(const struct secret_command *c, struct mail_buf *out,
                       struct mail_error *err);

#endif
