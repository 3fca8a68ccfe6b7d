/*
 * imapparts.h - reading an IMAP message without the parts that are not
 * shown (imapparts.c); private to the IMAP folder driver (imapfolder.c),
 * which gives it a session with the mailbox selected.
 */
#ifndef MAIL_STORE_IMAPPARTS_H
#define MAIL_STORE_IMAPPARTS_H

#include <stdint.h>

#include "mail/error.h"
#include "mail/render.h"
#include "mail/session.h"

/*
 * Message `uid` of the selected mailbox as mail_folder_message_read
 * (folder.h) describes it for `what` (MAIL_FOLDER_READ_TEXT, _SAVED,
 * _PART with part): from its BODYSTRUCTURE, the header and the MIME
 * headers (BODY.PEEK[HEADER], [N.MIME], [N.HEADER]), then the bodies
 * chosen ([N]), each streamed to a temporary file in tmpdir, assembled
 * into *fd (read from offset 0).  sizes (may be NULL) gets the sizes of
 * the bodies left out (BINARY.SIZE where the server has BINARY).  folder
 * names the folder in messages.  0; 1 when the message has too many
 * parts for this (the caller reads it whole); -1 with err.
 */
int mail_imap_parts_read(struct mail_session *s, const char *folder,
                         uint32_t uid, int what, const char *part,
                         const char *tmpdir, int *fd,
                         struct mail_part_sizes *sizes,
                         struct mail_error *err);

#endif
