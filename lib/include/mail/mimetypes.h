/*
 * mimetypes.h - the media type of a file from its name, by mime.types(5).
 *
 * The file lists "type/subtype ext ext..." per line, '#' comments.
 * Extensions match case-insensitively; the last extension of the name
 * counts ("report.tar.gz" -> "gz").  A few common types are built in, used
 * when the file is missing or does not know the extension.
 */
#ifndef MAIL_MIMETYPES_H
#define MAIL_MIMETYPES_H

#pragma GCC visibility push(default)

#include <stddef.h>

/* The default mime.types path. */
#define MAIL_MIME_TYPES_FILE "/etc/mime.types"

/*
 * Write the type of file name `name` (a path; only its last component is
 * looked at) into buf (lowercase "type/subtype"), from the file
 * mime_types (NULL: MAIL_MIME_TYPES_FILE), else the built-in list, else
 * "application/octet-stream".  Never fails; an unreadable file is the same
 * as a missing one.  Returns buf.
 */
const char *mail_mimetype_lookup(const char *name, const char *mime_types,
                                 char *buf, size_t size);

#pragma GCC visibility pop

#endif
