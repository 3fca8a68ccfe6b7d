/*
 * rfc2231.h - MIME header parameters: "type/subtype; name=value; ..."
 * (RFC 2045 5.1, RFC 2183) with RFC 2231 continuations and charsets, both
 * ways.
 *
 * Parsing is for Content-Type and Content-Disposition values.  It decodes
 * RFC 2231 (`name*=utf-8'en'%E2%82%AC`, `name*0*=...; name*1=...`) to
 * UTF-8, and, as seen in the wild, RFC 2047 encoded words in plain values
 * (`name="=?utf-8?B?...?="`); raw 8-bit values are made valid UTF-8.
 * Leniencies (doc/VIOLATIONS.md): comments are skipped, unquoted values
 * may contain blanks (`name=My File.pdf`), an unterminated quoted string
 * runs to the end, a missing ';' before `name=` is tolerated, and
 * continuation sections are joined in numeric order even with gaps.
 */
#ifndef MAIL_RFC2231_H
#define MAIL_RFC2231_H

#pragma GCC visibility push(default)

#include <stddef.h>

#include "buf.h"
#include "error.h"

/* At most this many name=value items are read from one field. */
#define MAIL_PARAMS_MAX 256

struct mail_param {
    char *name;    /* lowercased, without the RFC 2231 "*0*" suffixes */
    char *value;   /* decoded UTF-8; NUL, CR and LF shown as spaces */
};

struct mail_params {
    char *value;             /* what precedes the first ';', lowercased,
                                blanks and comments removed ("text/plain") */
    struct mail_param *v;    /* in order of first appearance */
    size_t n;
};

#define MAIL_PARAMS_INIT { NULL, NULL, 0 }

/*
 * Parse a field value.  ps must be initialised (MAIL_PARAMS_INIT) or
 * released; it is overwritten.  Any input parses; -1 with err set
 * (MAIL_ERR_INTERNAL) only when out of memory.  Free with
 * mail_params_release.
 */
int mail_params_parse(struct mail_params *ps, const char *field,
                      struct mail_error *err);

/* The decoded value of parameter name (any case), or NULL. */
const char *mail_params_get(const struct mail_params *ps, const char *name);

/* Free the memory; ps is then as after MAIL_PARAMS_INIT. */
void mail_params_release(struct mail_params *ps);

/*
 * Append "; name=value" to out for the composer: a token or a quoted
 * string when value is short printable ASCII; RFC 2231 continuations
 * (name*0="..."; name*1="...") when it is long; and the RFC 2231 charset
 * form (name*=UTF-8''%C3%A9..., split into name*0*=, name*1*= when long,
 * never inside a character) when it is not ASCII.  Each piece is short
 * enough for the composer to fold at the blanks after the ';'s.  name
 * must be a token (e.g. "filename").  -1 on ENOMEM or cap.
 */
int mail_rfc2231_encode(struct mail_buf *out, const char *name,
                        const char *value);

#pragma GCC visibility pop

#endif
