/*
 * trace.h - private to lib/net: the one formatter of the lines a trace
 * hook (mail_trace_fn, mail/conn.h) is given by the connection's notes
 * (mail_conn_note) and by HTTPS requests (http.c).  Not part of the API:
 * no mail_ prefix, so libmail.map keeps it out of libmail.so.
 */
#ifndef MAIL_NET_TRACE_H
#define MAIL_NET_TRACE_H

#include <stdarg.h>

#include "mail/conn.h"

/* Format one line (at most 511 bytes: longer is cut) and give it to fn
 * with dir ('*' a note, '>' sent, '<' received); nothing when fn is
 * NULL. */
void net_trace_vprintf(mail_trace_fn fn, void *arg, char dir,
                       const char *fmt, va_list ap) MAIL_PRINTF(4, 0);

#endif
