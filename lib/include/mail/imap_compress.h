/*
 * imap_compress.h - COMPRESS=DEFLATE (RFC 4978) on an IMAP session.
 */
#ifndef MAIL_IMAP_COMPRESS_H
#define MAIL_IMAP_COMPRESS_H

#pragma GCC visibility push(default)

#include "error.h"
#include "session.h"

/*
 * After login: when s->srv->compress is set, the server lists
 * COMPRESS=DEFLATE and zlib is built in, send "COMPRESS DEFLATE" and on
 * its OK put the deflate layer on the connection (compress.h).  Called
 * by mail_imap_login (when the capabilities known then list it) and by
 * mail_imap_capability once logged in (servers list it only then); the
 * capabilities are not asked for here.  0 also
 * when nothing was done; a NO (say, [COMPRESSIONACTIVE]) leaves the
 * session as it was and is not an error.  -1 with err when the
 * connection failed.
 */
int mail_imap_compress(struct mail_session *s, struct mail_error *err);

#pragma GCC visibility pop

#endif
