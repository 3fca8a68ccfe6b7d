/* json.h - the members of a message envelope as JSON (cmd/common.c). */
#ifndef MAIL_CMD_JSON_H
#define MAIL_CMD_JSON_H

#include <stddef.h>
#include <stdio.h>

#include "mail/folder.h"

/* The members of cmd_json_envelope's object, without the braces, so that
 * read --json can add its own. */
void cmd_json_envelope_members(FILE *f, const struct mail_envelope *e,
                               size_t number, const char *folder);

#endif
