/*
 * compress.c - raw DEFLATE both ways for a connection (RFC 4978), with
 * zlib: the codec behind mail_conn_start_deflate (see compress.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail_build_config.h"
#include "mail/compress.h"

#if HAVE_ZLIB
#include <zlib.h>

struct mail_zstream {
    z_stream in, out;
    bool in_ok, out_ok;
    char name[300];
    char ibuf[MAIL_ZSTREAM_IN];
    size_t istart, iend;          /* compressed input [istart, iend) */
};

bool mail_compress_available(void)
{
    return true;
}

struct mail_zstream *mail_zstream_new(const char *name,
                                      struct mail_error *err)
{
    struct mail_zstream *z = calloc(1, sizeof *z);

    if (!z) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    mail_strlcpy(z->name, name ? name : "", sizeof z->name);
    /* windowBits -15: raw deflate, as RFC 4978 says. */
    if (inflateInit2(&z->in, -15) != Z_OK) {
        free(z);
        mail_error_set(err, MAIL_ERR_INTERNAL, "%s: zlib: cannot start "
                       "inflate", name);
        return NULL;
    }
    z->in_ok = true;
    if (deflateInit2(&z->out, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        mail_zstream_free(z);
        mail_error_set(err, MAIL_ERR_INTERNAL, "%s: zlib: cannot start "
                       "deflate", name);
        return NULL;
    }
    z->out_ok = true;
    return z;
}

void mail_zstream_free(struct mail_zstream *z)
{
    if (!z)
        return;
    if (z->in_ok)
        inflateEnd(&z->in);
    if (z->out_ok)
        deflateEnd(&z->out);
    /* Plain text of the session went through here. */
    mail_wipe(z->ibuf, sizeof z->ibuf);
    free(z);
}

void mail_zstream_in_space(struct mail_zstream *z, char **at, size_t *room)
{
    if (z->istart > 0) {
        memmove(z->ibuf, z->ibuf + z->istart, z->iend - z->istart);
        z->iend -= z->istart;
        z->istart = 0;
    }
    *at = z->ibuf + z->iend;
    *room = sizeof z->ibuf - z->iend;
}

void mail_zstream_in_added(struct mail_zstream *z, size_t n)
{
    if (n > sizeof z->ibuf - z->iend)
        n = sizeof z->ibuf - z->iend;
    z->iend += n;
}

size_t mail_zstream_in_pending(const struct mail_zstream *z)
{
    return z->iend - z->istart;
}

int mail_zstream_inflate(struct mail_zstream *z, char *out, size_t max,
                         size_t *got, struct mail_error *err)
{
    size_t avail_in = z->iend - z->istart;
    int r;

    *got = 0;
    if (max == 0)
        return 0;
    z->in.next_in = (Bytef *)(z->ibuf + z->istart);
    z->in.avail_in = (uInt)avail_in;
    z->in.next_out = (Bytef *)out;
    z->in.avail_out = max > UINT32_MAX ? UINT32_MAX : (uInt)max;
    r = inflate(&z->in, Z_SYNC_FLUSH);
    z->istart += avail_in - z->in.avail_in;
    *got = (size_t)((char *)z->in.next_out - out);
    switch (r) {
    case Z_OK:
        return 0;
    case Z_BUF_ERROR:           /* no progress possible: needs input */
        return 0;
    case Z_STREAM_END:
        if (*got)
            return 0;
        return mail_error_set(err, MAIL_ERR_PROTOCOL, "%s: the server ended "
                              "the compressed stream (COMPRESS=DEFLATE)",
                              z->name);
    default:
        return mail_error_set(err, MAIL_ERR_PROTOCOL, "%s: corrupt "
                              "compressed data from the server "
                              "(COMPRESS=DEFLATE): %s", z->name,
                              z->in.msg ? z->in.msg : "inflate failed");
    }
}

int mail_zstream_deflate(struct mail_zstream *z, const char *data,
                         size_t len, struct mail_buf *out,
                         struct mail_error *err)
{
    char chunk[16384];

    z->out.next_in = (Bytef *)data;
    z->out.avail_in = (uInt)len;
    do {
        int r;

        z->out.next_out = (Bytef *)chunk;
        z->out.avail_out = sizeof chunk;
        r = deflate(&z->out, Z_SYNC_FLUSH);
        if (r != Z_OK && r != Z_BUF_ERROR)
            return mail_error_set(err, MAIL_ERR_INTERNAL, "%s: zlib: "
                                  "deflate failed", z->name);
        if (mail_buf_add(out, chunk, sizeof chunk - z->out.avail_out) < 0)
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    } while (z->out.avail_out == 0 || z->out.avail_in > 0);
    mail_wipe(chunk, sizeof chunk);
    return 0;
}

#else /* !HAVE_ZLIB */

struct mail_zstream {
    int unused;
};

bool mail_compress_available(void)
{
    return false;
}

struct mail_zstream *mail_zstream_new(const char *name,
                                      struct mail_error *err)
{
    mail_error_set(err, MAIL_ERR_UNAVAIL, "%s: built without zlib: no "
                   "COMPRESS=DEFLATE", name ? name : "");
    return NULL;
}

void mail_zstream_free(struct mail_zstream *z)
{
    (void)z;
}

void mail_zstream_in_space(struct mail_zstream *z, char **at, size_t *room)
{
    (void)z;
    *at = NULL;
    *room = 0;
}

void mail_zstream_in_added(struct mail_zstream *z, size_t n)
{
    (void)z;
    (void)n;
}

size_t mail_zstream_in_pending(const struct mail_zstream *z)
{
    (void)z;
    return 0;
}

int mail_zstream_inflate(struct mail_zstream *z, char *out, size_t max,
                         size_t *got, struct mail_error *err)
{
    (void)z;
    (void)out;
    (void)max;
    *got = 0;
    return mail_error_set(err, MAIL_ERR_INTERNAL, "no zlib");
}

int mail_zstream_deflate(struct mail_zstream *z, const char *data,
                         size_t len, struct mail_buf *out,
                         struct mail_error *err)
{
    (void)z;
    (void)data;
    (void)len;
    (void)out;
    return mail_error_set(err, MAIL_ERR_INTERNAL, "no zlib");
}

#endif
