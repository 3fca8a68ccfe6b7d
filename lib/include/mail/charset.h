/*
 * charset.h - conversion of message text to UTF-8.
 *
 * Everything shown to the user is UTF-8.  Text arrives in whatever charset
 * a message declares (or in none), so conversion never fails and never
 * drops text:
 *
 *   - "utf-8" (and aliases): invalid sequences become U+FFFD.
 *   - "iso-8859-1", "latin1", "windows-1252"...: decoded as windows-1252,
 *     a superset (the WHATWG Encoding rule).
 *   - "us-ascii", "unknown-8bit", "x-unknown", no charset, and any name
 *     iconv(3) does not know: "auto", that is UTF-8 where the bytes are
 *     valid UTF-8 and windows-1252 for each byte that is not (raw Latin-1
 *     and raw UTF-8 are both common under a us-ascii label).
 *   - everything else through glibc's iconv(3), after an alias table
 *     (ks_c_5601-1987 -> CP949, gb2312 -> GB18030, shift_jis -> CP932...);
 *     bytes iconv rejects become U+FFFD and conversion goes on.
 *
 * The converter is streaming: push chunks of any size (a multi-byte
 * character may be split across pushes) and output goes to a sink.
 * Memory use is fixed (a few KiB) whatever the input size.
 */
#ifndef MAIL_CHARSET_H
#define MAIL_CHARSET_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "sink.h"

struct mail_charset_conv;

/*
 * A converter from `charset` (as written in a message; NULL or "" for
 * none, see above) to UTF-8, sending output to sink(ctx, ...).  Never fails
 * for an unknown charset (it falls back to "auto"); returns NULL and sets
 * err (MAIL_ERR_INTERNAL) only when out of memory.  Free with
 * mail_charset_conv_free.
 */
struct mail_charset_conv *mail_charset_conv_new(const char *charset,
                                                mail_sink_fn sink, void *ctx,
                                                struct mail_error *err);

/* Convert len bytes.  -1 only when the sink returned -1 (err as the sink
 * set it: err is passed to the sink). */
int mail_charset_conv_push(struct mail_charset_conv *c, const char *data,
                           size_t len, struct mail_error *err);

/*
 * End of input: an incomplete trailing sequence becomes U+FFFD (or
 * windows-1252 characters in "auto" mode), then everything is flushed to
 * the sink.  The converter may then be reused for a new text.  -1 only
 * when the sink returned -1 (err as the sink set it).
 */
int mail_charset_conv_finish(struct mail_charset_conv *c,
                             struct mail_error *err);

/* Free the converter (NULL is fine).  Does not flush. */
void mail_charset_conv_free(struct mail_charset_conv *c);

/*
 * What the converter decodes as, for tests and -v: "utf-8", "auto",
 * "windows-1252", or the iconv(3) name used ("CP949").
 */
const char *mail_charset_conv_name(const struct mail_charset_conv *c);

/*
 * One-shot conversion of data[0..len) in `charset` to UTF-8, appended to
 * out.  -1 on ENOMEM or when out's cap is reached.
 */
int mail_charset_to_utf8(struct mail_buf *out, const char *charset,
                         const char *data, size_t len);

/*
 * Make arbitrary bytes valid UTF-8, appended to out: valid UTF-8 sequences
 * are kept, every other byte is decoded as windows-1252 (the "auto" rule,
 * used for raw 8-bit bytes in header fields).  -1 on ENOMEM or cap.
 */
int mail_utf8_sanitize(struct mail_buf *out, const char *data, size_t len);

/* Is data[0..len) valid UTF-8 (no overlongs, surrogates or > U+10FFFF)? */
bool mail_utf8_valid(const char *data, size_t len);

/*
 * Length of the valid UTF-8 sequence at s[0..len): 1..4, or 0 if s does
 * not start with a complete valid sequence.  For encoders that must not
 * split a character.
 */
size_t mail_utf8_seqlen(const char *s, size_t len);

/* Append the UTF-8 encoding of code point cp (U+FFFD if not valid). */
int mail_utf8_put(struct mail_buf *out, uint32_t cp);

#pragma GCC visibility pop

#endif
