/*
 * termsafe.h - the one place that makes untrusted text safe for a terminal.
 *
 * Every byte that came from a server or a message passes through here
 * before it is printed.  Valid UTF-8 printable text is kept.  C0 controls
 * and DEL are shown in caret notation (^[ for ESC), C1 controls, the
 * bidirectional marks, overrides and isolates (U+061C, U+200E, U+200F,
 * U+202A-U+202E, U+2066-U+2069) and the line and paragraph separators
 * (U+2028, U+2029) as <U+XXXX>, and bytes that are not valid UTF-8 as \xNN.  Nothing that a
 * terminal would interpret survives.  JSON output goes through
 * mail_json_escape, which shares the decoder and the dangerous set.
 */
#ifndef MAIL_TERMSAFE_H
#define MAIL_TERMSAFE_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "sink.h"

enum {
    MAIL_SAFE_ONELINE = 1,   /* show \n, \r and \t too (as ^J, ^M, ^I);
                                otherwise \n and \t are kept */
};

/*
 * The one UTF-8 decoder and encoder of libmail: every other part of the
 * library (charsets, RFC 2047, modified UTF-7, HTML entities, the
 * renderer) uses these, so that "valid UTF-8" means one thing.
 */
enum {
    MAIL_UTF8_INVALID = -1,
    MAIL_UTF8_INCOMPLETE = 0,
    MAIL_UTF8_VALID = 1,
};

/*
 * The UTF-8 sequence at s[0..len), len at least 1:
 *   MAIL_UTF8_VALID: *used its length (1..4), *cp (if cp is not NULL)
 *     its code point;
 *   MAIL_UTF8_INCOMPLETE: s[0..len) is the valid start of a longer
 *     sequence, *used = len (a stream waits for more);
 *   MAIL_UTF8_INVALID: overlong, surrogate, > U+10FFFF, a stray
 *     continuation byte or a bad one: *used (at least 1) is the maximal
 *     invalid subpart, the unit that becomes one U+FFFD (Unicode 3.9,
 *     WHATWG Encoding).
 */
int mail_utf8_check(const char *s, size_t len, uint32_t *cp, size_t *used);

/* Length (1..4) of the valid UTF-8 sequence at s, its code point in *cp;
 * 0 when s does not start with one (overlong, surrogate, > U+10FFFF,
 * truncated).  len must be at least 1. */
size_t mail_utf8_decode(const char *s, size_t len, uint32_t *cp);

/* Code point cp as UTF-8 in out[0..4): returns its length (1..4), or 0
 * (nothing written) for a surrogate (U+D800..U+DFFF) or above U+10FFFF. */
size_t mail_utf8_encode(uint32_t cp, char *out);

/* How many bytes (0..3) at the end of s[0..n) are the valid start of a
 * sequence not complete yet: what a stream holds back for the next piece
 * or a cut drops. */
size_t mail_utf8_incomplete(const char *s, size_t n);

/* Append the safe form of s[0..len) to out.  -1 on ENOMEM or cap. */
int mail_term_safe(struct mail_buf *out, const char *s, size_t len,
                   int flags);

/* Is s[0..len) safe as it is: would mail_term_safe with these flags
 * append exactly s?  The same decoder and dangerous set, nothing built:
 * for copying text that is almost always safe already (the index's
 * display strings) without a buffer.  Printable ASCII is checked eight
 * bytes at a time. */
bool mail_term_is_safe(const char *s, size_t len, int flags);

/* The safe form of s[0..len) in a malloc'd string (a plain copy when s is
 * safe as it is), for a caller that keeps it.  NULL on ENOMEM. */
char *mail_term_safe_dup(const char *s, size_t len, int flags);

/* Append s[0..len) to out as a JSON string, quotes included.  The same
 * decoder and the same set of dangerous code points as mail_term_safe:
 * C0 and C1 controls, DEL, the bidirectional controls and U+2028/U+2029
 * are written as \uXXXX (so that the document shows nothing raw that a
 * terminal or a viewer would act on), '"' and '\' are escaped, and a byte
 * that is not valid UTF-8 becomes \ufffd (U+FFFD).  The result is always
 * valid JSON and pure printable text.  -1 on ENOMEM or cap. */
int mail_json_escape(struct mail_buf *out, const char *s, size_t len);

/*
 * A terminal-safe stream: text given in arbitrary pieces goes through
 * mail_term_safe (flags 0) to a sink.  An incomplete UTF-8 sequence at the
 * end of one piece is held back until the next (cut in two it would show
 * as two \xNN escapes); mail_term_stream_flush shows what is held.  A
 * call returns -1 with err set when the sink refused (err as the sink set
 * it) or memory ran out (MAIL_ERR_INTERNAL); the caller then stops.  last
 * is the last byte written so far (0 before any).
 */
struct mail_term_stream {
    mail_sink_fn sink;
    void *ctx;
    struct mail_buf scratch;    /* the safe form of a piece */
    struct mail_buf join;       /* held bytes + the next piece */
    char carry[4];
    size_t ncarry;
    char last;
};

void mail_term_stream_init(struct mail_term_stream *t, mail_sink_fn sink,
                           void *ctx);
/* A mail_sink_fn: ctx is the struct mail_term_stream. */
int mail_term_stream_write(void *t, const char *data, size_t len,
                           struct mail_error *err);
int mail_term_stream_puts(struct mail_term_stream *t, const char *s,
                          struct mail_error *err);
int mail_term_stream_flush(struct mail_term_stream *t,
                           struct mail_error *err);
void mail_term_stream_release(struct mail_term_stream *t);

#pragma GCC visibility pop

#endif
