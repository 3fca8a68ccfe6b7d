/*
 * imap_compress.c - COMPRESS DEFLATE (RFC 4978) after login (see
 * imap_compress.h; the deflate layer itself is net/compress.c).
 */
#include "mail/imap_compress.h"
#include "mail/compress.h"
#include "mail/imap.h"
#include "mail/server.h"

int mail_imap_compress(struct mail_session *s, struct mail_error *err)
{
    struct mail_reply r;
    int rc;

    if (!s->srv || !s->srv->compress || !mail_compress_available() ||
        mail_conn_is_deflated(s->conn) ||
        !mail_session_has_cap(s, "COMPRESS=DEFLATE"))
        return 0;
    mail_reply_init(&r);
    rc = mail_imap_command(s, &r, err, "COMPRESS DEFLATE");
    if (rc == 0 && r.status == MAIL_REPLY_OK)
        rc = mail_conn_start_deflate(s->conn, err);
    mail_reply_release(&r);
    return rc;
}
