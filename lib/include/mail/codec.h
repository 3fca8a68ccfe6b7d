/*
 * codec.h - Content-Transfer-Encoding decoders and encoders (RFC 2045) as
 * streaming filters.
 *
 * Decoders and encoders are plain structs with no heap memory: initialise
 * one, push chunks of any size (one byte at a time works), call finish, and
 * the output arrives at the sink in pieces of at most MAIL_CODEC_OUT_MAX
 * bytes.  Nothing is held back beyond a few bytes of state, so a 50 MB
 * attachment goes through in constant memory.
 *
 *     struct mail_decoder d;
 *     mail_decoder_init(&d, MAIL_CTE_BASE64, mail_sink_buf, &buf);
 *     while ((n = read(fd, chunk, sizeof chunk)) > 0)
 *         if (mail_decoder_push(&d, chunk, n, err) < 0) ...
 *     mail_decoder_finish(&d, err);
 *
 * err goes to the sink with every piece; when the sink returns -1, push
 * and finish return -1 with err as the sink set it.
 *
 * The decoders are lenient (doc/VIOLATIONS.md): base64 skips whitespace
 * and any byte outside the alphabet, accepts missing padding and data
 * after padding; quoted-printable keeps invalid escapes literally, accepts
 * lowercase hex, and drops trailing whitespace on a line (RFC 2045 6.7).
 * mail_base64_decode in buf.h is the strict decoder for SASL; do not use
 * it for message bodies.
 */
#ifndef MAIL_CODEC_H
#define MAIL_CODEC_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "sink.h"

enum mail_cte {
    MAIL_CTE_7BIT = 0,       /* also the default when there is no header */
    MAIL_CTE_8BIT,
    MAIL_CTE_BINARY,
    MAIL_CTE_QP,             /* quoted-printable */
    MAIL_CTE_BASE64,
    MAIL_CTE_UNKNOWN,        /* x-uuencode and the like: passed through */
};

/* The encoding named by a Content-Transfer-Encoding value (case and
 * surrounding blanks and comments ignored); MAIL_CTE_7BIT for NULL or "",
 * MAIL_CTE_UNKNOWN for any other name. */
enum mail_cte mail_cte_from_name(const char *value);
/* "7bit", "8bit", "binary", "quoted-printable", "base64", "unknown". */
const char *mail_cte_name(enum mail_cte cte);

#define MAIL_CODEC_OUT_MAX 4096

struct mail_decoder {
    enum mail_cte cte;
    mail_sink_fn sink;
    void *ctx;
    int state;                /* private from here on */
    unsigned acc;
    unsigned nacc;
    size_t nws;
    char ws[64];
    size_t outlen;
    char out[MAIL_CODEC_OUT_MAX];
};

/*
 * Set up a decoder for cte sending output to sink(ctx, ...).  7bit, 8bit,
 * binary and unknown pass bytes through unchanged.  Never fails.
 */
void mail_decoder_init(struct mail_decoder *d, enum mail_cte cte,
                       mail_sink_fn sink, void *ctx);
/* Decode len bytes.  -1 when the sink returned -1 (err as the sink set
 * it); do not push more then. */
int mail_decoder_push(struct mail_decoder *d, const char *data, size_t len,
                      struct mail_error *err);
/* End of input: flush partial base64 quanta and pending QP state. -1 when
 * the sink returned -1.  The decoder may then be initialised again. */
int mail_decoder_finish(struct mail_decoder *d, struct mail_error *err);

/* --- encoders, for the composer ----------------------------------------- */

enum {
    MAIL_ENC_CRLF = 1,        /* end lines with CRLF (default: LF) */
    MAIL_ENC_QP_SAFE = 2,     /* QP: also encode '.' and 'F' at the start
                                 of a line, so neither SMTP dot-stuffing
                                 nor mbox From_ quoting can touch the text */
    MAIL_ENC_QP_BINARY = 4,   /* QP: input is binary, CR and LF are data
                                 (=0D, =0A) and not line breaks */
};

#define MAIL_ENC_LINE_MAX 76

struct mail_encoder {
    enum mail_cte cte;        /* MAIL_CTE_BASE64 or MAIL_CTE_QP */
    int flags;
    mail_sink_fn sink;
    void *ctx;
    unsigned acc;             /* private from here on */
    unsigned nacc;
    unsigned col;
    int pend;                 /* QP: held whitespace byte or CR, or -1 */
    size_t outlen;
    char out[MAIL_CODEC_OUT_MAX];
};

/*
 * Base64 with lines of 76 characters, or quoted-printable with lines of at
 * most 76 characters (soft breaks "="), where '=', control characters,
 * non-ASCII bytes and whitespace before a line break are encoded.  Input
 * line breaks (LF or CRLF) become the output line ending unless
 * MAIL_ENC_QP_BINARY.  For cte other than base64 and QP the bytes are
 * passed through.  Never fails.
 */
void mail_encoder_init(struct mail_encoder *e, enum mail_cte cte, int flags,
                       mail_sink_fn sink, void *ctx);
/* -1 when the sink returned -1 (err as the sink set it). */
int mail_encoder_push(struct mail_encoder *e, const char *data, size_t len,
                      struct mail_error *err);
/* Flush the last quantum or held byte and end with a line break when the
 * output does not already end with one (base64 and QP).  -1 on sink
 * failure. */
int mail_encoder_finish(struct mail_encoder *e, struct mail_error *err);

/* One-shot helpers appending to out; -1 on ENOMEM or cap. */
int mail_decode(struct mail_buf *out, enum mail_cte cte, const char *data,
                size_t len);
int mail_encode(struct mail_buf *out, enum mail_cte cte, int flags,
                const char *data, size_t len);

#pragma GCC visibility pop

#endif
