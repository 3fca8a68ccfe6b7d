/*
 * server.c - protocol names and default ports; see mail/server.h.
 */
#include <stdbool.h>

#include "mail/server.h"

const char *mail_proto_name(enum mail_proto p)
{
    switch (p) {
    case MAIL_PROTO_SMTP: return "smtp";
    case MAIL_PROTO_IMAP: return "imap";
    case MAIL_PROTO_POP3: return "pop3";
    }
    return "?";
}

unsigned mail_proto_default_port(enum mail_proto p, enum mail_tls tls)
{
    bool implicit = tls == MAIL_TLS_IMPLICIT;

    switch (p) {
    case MAIL_PROTO_SMTP: return implicit ? 465 : 587;
    case MAIL_PROTO_IMAP: return implicit ? 993 : 143;
    case MAIL_PROTO_POP3: return implicit ? 995 : 110;
    }
    return 0;
}
