/*
 * compress.h - the DEFLATE layer of a connection (IMAP COMPRESS=DEFLATE,
 * RFC 4978): raw deflate (RFC 1951, no zlib header) both ways, under TLS
 * when the connection has it, with a sync flush after each burst of
 * writes so that every command leaves at once.
 *
 * struct mail_zstream is the codec alone (no I/O, bounded buffers); conn.c
 * runs the connection's bytes through it once mail_conn_start_deflate has
 * been called.  Without zlib at build time mail_zstream_new and
 * mail_conn_start_deflate fail with MAIL_ERR_UNAVAIL, and
 * mail_compress_available says false.
 */
#ifndef MAIL_COMPRESS_H
#define MAIL_COMPRESS_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "conn.h"
#include "error.h"

#define MAIL_ZSTREAM_IN 65536       /* compressed bytes held at most */

struct mail_zstream;

bool mail_compress_available(void);

/* name: for messages ("host:port").  NULL with err. */
struct mail_zstream *mail_zstream_new(const char *name,
                                      struct mail_error *err);
void mail_zstream_free(struct mail_zstream *z);

/* Inflate: room for compressed input (*room > 0 unless it is full), and
 * how much of it was filled. */
void mail_zstream_in_space(struct mail_zstream *z, char **at, size_t *room);
void mail_zstream_in_added(struct mail_zstream *z, size_t n);
/* Compressed bytes received and not yet inflated. */
size_t mail_zstream_in_pending(const struct mail_zstream *z);
/* Inflate into out[0..max): *got bytes (0: more input is needed).  A
 * corrupt stream, or its end (the server may not end it), is
 * MAIL_ERR_PROTOCOL naming the server. */
int mail_zstream_inflate(struct mail_zstream *z, char *out, size_t max,
                         size_t *got, struct mail_error *err);

/* Deflate data[0..len) and sync-flush, appending to out. */
int mail_zstream_deflate(struct mail_zstream *z, const char *data,
                         size_t len, struct mail_buf *out,
                         struct mail_error *err);

/* (conn.c) From now on everything read and written on c goes through
 * deflate; bytes already received (the server compresses right after its
 * OK) are inflated first.  Once only. */
int mail_conn_start_deflate(struct mail_conn *c, struct mail_error *err);
bool mail_conn_is_deflated(const struct mail_conn *c);

#pragma GCC visibility pop

#endif
