/*
 * charset.c - conversion to UTF-8: a table-driven windows-1252 decoder, a
 * UTF-8 validator with the "auto" fallback, and glibc iconv(3) for the
 * rest.  All three share one staging buffer and one output buffer, so
 * memory is fixed whatever the input size.
 */
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>

#include "mail/charset.h"
#include "mail/termsafe.h"

#define CONV_IN_MAX 4096     /* staging input: pending tail + new bytes */
#define CONV_OUT_MAX 4096    /* output handed to the sink in one piece */
#define CONV_TAIL_MAX 32     /* longest incomplete sequence kept back */

enum conv_mode {
    CONV_UTF8,      /* UTF-8; invalid -> U+FFFD */
    CONV_AUTO,      /* UTF-8 where valid, else windows-1252 per byte */
    CONV_CP1252,    /* windows-1252 (also for iso-8859-1, per WHATWG) */
    CONV_ICONV,     /* glibc iconv */
};

struct mail_charset_conv {
    enum conv_mode mode;
    iconv_t cd;
    char name[48];
    mail_sink_fn sink;
    void *ctx;
    struct mail_error *err;   /* the err of the push or finish under way */
    size_t inlen;
    size_t outlen;
    unsigned char in[CONV_IN_MAX];
    char out[CONV_OUT_MAX];
};

/* windows-1252 0x80..0x9F; the five undefined bytes map to the C1 code
 * point of the same value, as WHATWG does. */
static const uint16_t cp1252_c1[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
    0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

static uint32_t cp1252_cp(unsigned char b)
{
    if (b >= 0x80 && b < 0xA0)
        return cp1252_c1[b - 0x80];
    return b;
}

/* Encode cp as UTF-8 into p (4 bytes of room), U+FFFD for a surrogate
 * or past U+10FFFF; returns the length. */
static size_t utf8_encode(char *p, uint32_t cp)
{
    size_t n = mail_utf8_encode(cp, p);

    return n ? n : mail_utf8_encode(0xFFFD, p);
}

/* The sequence at p[0..n): mail_utf8_check (1 valid, 0 incomplete, -1
 * invalid with *used its maximal invalid subpart). */
static int utf8_check(const unsigned char *p, size_t n, size_t *used)
{
    return mail_utf8_check((const char *)p, n, NULL, used);
}

size_t mail_utf8_seqlen(const char *s, size_t len)
{
    size_t used;

    if (len == 0)
        return 0;
    return utf8_check((const unsigned char *)s, len, &used) == 1 ? used : 0;
}

bool mail_utf8_valid(const char *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data;
    size_t i = 0, used;

    while (i < len) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        if (utf8_check(p + i, len - i, &used) != 1)
            return false;
        i += used;
    }
    return true;
}

int mail_utf8_put(struct mail_buf *out, uint32_t cp)
{
    char tmp[4];

    return mail_buf_add(out, tmp, utf8_encode(tmp, cp));
}

int mail_utf8_sanitize(struct mail_buf *out, const char *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data;
    size_t i = 0, start = 0, used;

    while (i < len) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        if (utf8_check(p + i, len - i, &used) == 1) {
            i += used;
            continue;
        }
        if (mail_buf_add(out, data + start, i - start) < 0 ||
            mail_utf8_put(out, cp1252_cp(p[i])) < 0)
            return -1;
        start = ++i;
    }
    return mail_buf_add(out, data + start, i - start);
}

/* --- the converter ------------------------------------------------------ */

static int out_flush(struct mail_charset_conv *c)
{
    int r = 0;

    if (c->outlen)
        r = c->sink(c->ctx, c->out, c->outlen, c->err);
    c->outlen = 0;
    return r < 0 ? -1 : 0;
}

static int out_bytes(struct mail_charset_conv *c, const unsigned char *p,
                     size_t n)
{
    while (n > 0) {
        size_t k = CONV_OUT_MAX - c->outlen;

        if (k == 0) {
            if (out_flush(c) < 0)
                return -1;
            continue;
        }
        if (k > n)
            k = n;
        memcpy(c->out + c->outlen, p, k);
        c->outlen += k;
        p += k;
        n -= k;
    }
    return 0;
}

static int out_cp(struct mail_charset_conv *c, uint32_t cp)
{
    if (CONV_OUT_MAX - c->outlen < 4 && out_flush(c) < 0)
        return -1;
    c->outlen += utf8_encode(c->out + c->outlen, cp);
    return 0;
}

/* UTF-8 and auto: returns -1 on sink failure, else sets *used. */
static int run_utf8(struct mail_charset_conv *c, bool final, size_t *used)
{
    const unsigned char *p = c->in;
    size_t n = c->inlen, i = 0, start = 0, k;
    int r;

    while (i < n) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        r = utf8_check(p + i, n - i, &k);
        if (r == 1) {
            i += k;
            continue;
        }
        if (r == 0 && !final)
            break;
        if (out_bytes(c, p + start, i - start) < 0)
            return -1;
        if (c->mode == CONV_AUTO) {
            /* Only the first byte is taken as windows-1252: the next may
             * start a valid sequence. */
            if (out_cp(c, cp1252_cp(p[i])) < 0)
                return -1;
            i++;
        } else {
            if (out_cp(c, 0xFFFD) < 0)
                return -1;
            i += k;
        }
        start = i;
    }
    if (out_bytes(c, p + start, i - start) < 0)
        return -1;
    *used = i;
    return 0;
}

static int run_cp1252(struct mail_charset_conv *c, size_t *used)
{
    const unsigned char *p = c->in;
    size_t n = c->inlen, i, start = 0;

    for (i = 0; i < n; i++) {
        if (p[i] < 0x80)
            continue;
        if (out_bytes(c, p + start, i - start) < 0 ||
            out_cp(c, cp1252_cp(p[i])) < 0)
            return -1;
        start = i + 1;
    }
    if (out_bytes(c, p + start, n - start) < 0)
        return -1;
    *used = n;
    return 0;
}

static int run_iconv(struct mail_charset_conv *c, bool final, size_t *used)
{
    char *ip = (char *)c->in;
    size_t il = c->inlen;

    while (il > 0) {
        char *op = c->out + c->outlen;
        size_t ol = CONV_OUT_MAX - c->outlen;
        size_t r = iconv(c->cd, &ip, &il, &op, &ol);
        int e = errno;

        c->outlen = (size_t)(op - c->out);
        if (r != (size_t)-1)
            break;
        if (e == E2BIG && c->outlen > 0) {
            if (out_flush(c) < 0)
                return -1;
            continue;
        }
        if (e == EINVAL && !final && il < CONV_TAIL_MAX)
            break;  /* incomplete: wait for more input */
        /* EILSEQ, or an incomplete sequence at the end: one U+FFFD per
         * byte skipped, and the shift state is reset. */
        if (out_cp(c, 0xFFFD) < 0)
            return -1;
        ip++;
        il--;
        iconv(c->cd, NULL, NULL, NULL, NULL);
    }
    if (final) {
        /* Let stateful encodings (ISO-2022-JP) return to the initial
         * state. */
        char *op;
        size_t ol;

        if (CONV_OUT_MAX - c->outlen < 16 && out_flush(c) < 0)
            return -1;
        op = c->out + c->outlen;
        ol = CONV_OUT_MAX - c->outlen;
        iconv(c->cd, NULL, NULL, &op, &ol);
        c->outlen = (size_t)(op - c->out);
    }
    *used = (size_t)(ip - (char *)c->in);
    return 0;
}

static int conv_run(struct mail_charset_conv *c, bool final)
{
    size_t used = 0;
    int r;

    switch (c->mode) {
    case CONV_CP1252:
        r = run_cp1252(c, &used);
        break;
    case CONV_ICONV:
        r = run_iconv(c, final, &used);
        break;
    case CONV_UTF8:
    case CONV_AUTO:
    default:
        r = run_utf8(c, final, &used);
        break;
    }
    if (r < 0)
        return -1;
    if (used > c->inlen)
        used = c->inlen;
    memmove(c->in, c->in + used, c->inlen - used);
    c->inlen -= used;
    return 0;
}

int mail_charset_conv_push(struct mail_charset_conv *c, const char *data,
                           size_t len, struct mail_error *err)
{
    c->err = err;
    while (len > 0) {
        size_t take = sizeof c->in - c->inlen;

        if (take > len)
            take = len;
        memcpy(c->in + c->inlen, data, take);
        c->inlen += take;
        data += take;
        len -= take;
        if (conv_run(c, false) < 0)
            return -1;
        /* Progress is guaranteed: at most CONV_TAIL_MAX bytes stay. */
    }
    return 0;
}

int mail_charset_conv_finish(struct mail_charset_conv *c,
                             struct mail_error *err)
{
    c->err = err;
    if (conv_run(c, true) < 0)
        return -1;
    c->inlen = 0;
    if (c->mode == CONV_ICONV)
        iconv(c->cd, NULL, NULL, NULL, NULL);
    return out_flush(c);
}

/* --- names -------------------------------------------------------------- */

struct alias {
    const char *name;
    enum conv_mode mode;
    const char *iconv_name;
};

/* Names are compared after lowercasing and dropping '-', '_', ' ', '.'. */
static const struct alias aliases[] = {
    { "utf8", CONV_UTF8, NULL },
    { "unicode11utf8", CONV_UTF8, NULL },
    { "xutf8", CONV_UTF8, NULL },
    { "usascii", CONV_AUTO, NULL },
    { "ascii", CONV_AUTO, NULL },
    { "ansix3.41968", CONV_AUTO, NULL },
    { "ansix341968", CONV_AUTO, NULL },
    { "iso646us", CONV_AUTO, NULL },
    { "us", CONV_AUTO, NULL },
    { "unknown", CONV_AUTO, NULL },
    { "xunknown", CONV_AUTO, NULL },
    { "unknown8bit", CONV_AUTO, NULL },
    { "xuserdefined", CONV_AUTO, NULL },
    { "default", CONV_AUTO, NULL },
    { "8bit", CONV_AUTO, NULL },
    { "iso88591", CONV_CP1252, NULL },
    { "iso885911987", CONV_CP1252, NULL },
    { "latin1", CONV_CP1252, NULL },
    { "l1", CONV_CP1252, NULL },
    { "windows1252", CONV_CP1252, NULL },
    { "cp1252", CONV_CP1252, NULL },
    { "xcp1252", CONV_CP1252, NULL },
    { "cp819", CONV_CP1252, NULL },
    { "ibm819", CONV_CP1252, NULL },
    { "isoir100", CONV_CP1252, NULL },
    { "csisolatin1", CONV_CP1252, NULL },
    { "kscs56011987", CONV_ICONV, "CP949" },
    { "ksc56011987", CONV_ICONV, "CP949" },
    { "ksc56011989", CONV_ICONV, "CP949" },
    { "ksc5601", CONV_ICONV, "CP949" },
    { "kscs5601", CONV_ICONV, "CP949" },
    { "euckr", CONV_ICONV, "CP949" },
    { "windows949", CONV_ICONV, "CP949" },
    { "korean", CONV_ICONV, "CP949" },
    { "gb2312", CONV_ICONV, "GB18030" },
    { "csgb2312", CONV_ICONV, "GB18030" },
    { "gb231280", CONV_ICONV, "GB18030" },
    { "gbk", CONV_ICONV, "GB18030" },
    { "xgbk", CONV_ICONV, "GB18030" },
    { "cp936", CONV_ICONV, "GB18030" },
    { "euccn", CONV_ICONV, "GB18030" },
    { "chinese", CONV_ICONV, "GB18030" },
    { "big5", CONV_ICONV, "BIG5-HKSCS" },
    { "xxbig5", CONV_ICONV, "BIG5-HKSCS" },
    { "cnbig5", CONV_ICONV, "BIG5-HKSCS" },
    { "shiftjis", CONV_ICONV, "CP932" },
    { "sjis", CONV_ICONV, "CP932" },
    { "xsjis", CONV_ICONV, "CP932" },
    { "mskanji", CONV_ICONV, "CP932" },
    { "windows31j", CONV_ICONV, "CP932" },
    { "iso88599", CONV_ICONV, "CP1254" },
    { "latin5", CONV_ICONV, "CP1254" },
    { "iso885911", CONV_ICONV, "CP874" },
    { "tis620", CONV_ICONV, "CP874" },
    { "windows874", CONV_ICONV, "CP874" },
    { "xmacroman", CONV_ICONV, "MACINTOSH" },
    { "macintosh", CONV_ICONV, "MACINTOSH" },
};

/* Lowercase, trim quotes and blanks, drop separators. */
static void squash_name(char *dst, size_t size, const char *src)
{
    size_t n = 0;

    for (; *src && n + 1 < size; src++) {
        char ch = *src;

        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if (ch == '-' || ch == '_' || ch == ' ' || ch == '\t' || ch == '"' ||
            ch == '\'')
            continue;
        dst[n++] = ch;
    }
    dst[n] = '\0';
}

static bool iconv_name_ok(const char *s)
{
    size_t n = 0;

    for (; *s; s++, n++) {
        char ch = *s;

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
              ch == '.' || ch == ':'))
            return false;
    }
    return n > 0 && n < 40;
}

static void conv_setup(struct mail_charset_conv *c, const char *charset)
{
    char key[64], trimmed[48];
    size_t i, n;

    c->mode = CONV_AUTO;
    c->cd = (iconv_t)-1;
    mail_strlcpy(c->name, "auto", sizeof c->name);
    if (!charset)
        return;
    /* "utf-8 " or "\"utf-8\"": keep the first word. */
    while (*charset == ' ' || *charset == '\t' || *charset == '"')
        charset++;
    for (n = 0; charset[n] && n + 1 < sizeof trimmed; n++) {
        if (charset[n] == ' ' || charset[n] == '\t' || charset[n] == '"' ||
            charset[n] == ';')
            break;
        trimmed[n] = charset[n];
    }
    trimmed[n] = '\0';
    squash_name(key, sizeof key, trimmed);
    if (!key[0])
        return;
    for (i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        if (strcmp(key, aliases[i].name) != 0)
            continue;
        c->mode = aliases[i].mode;
        if (c->mode == CONV_UTF8)
            mail_strlcpy(c->name, "utf-8", sizeof c->name);
        else if (c->mode == CONV_CP1252)
            mail_strlcpy(c->name, "windows-1252", sizeof c->name);
        else if (c->mode == CONV_ICONV) {
            c->cd = iconv_open("UTF-8", aliases[i].iconv_name);
            if (c->cd == (iconv_t)-1)
                c->mode = CONV_AUTO;
            else
                mail_strlcpy(c->name, aliases[i].iconv_name, sizeof c->name);
        }
        return;
    }
    if (!iconv_name_ok(trimmed))
        return;
    c->cd = iconv_open("UTF-8", trimmed);
    if (c->cd == (iconv_t)-1)
        return;
    c->mode = CONV_ICONV;
    mail_strlcpy(c->name, trimmed, sizeof c->name);
}

struct mail_charset_conv *mail_charset_conv_new(const char *charset,
                                                mail_sink_fn sink, void *ctx,
                                                struct mail_error *err)
{
    struct mail_charset_conv *c = malloc(sizeof *c);

    if (!c) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    c->sink = sink;
    c->ctx = ctx;
    c->err = NULL;
    c->inlen = 0;
    c->outlen = 0;
    conv_setup(c, charset);
    return c;
}

void mail_charset_conv_free(struct mail_charset_conv *c)
{
    if (!c)
        return;
    if (c->mode == CONV_ICONV)
        iconv_close(c->cd);
    free(c);
}

const char *mail_charset_conv_name(const struct mail_charset_conv *c)
{
    return c->name;
}

int mail_charset_to_utf8(struct mail_buf *out, const char *charset,
                         const char *data, size_t len)
{
    struct mail_charset_conv *c;
    int r;

    c = mail_charset_conv_new(charset, mail_sink_buf, out, NULL);
    if (!c)
        return -1;
    r = mail_charset_conv_push(c, data, len, NULL);
    if (r == 0)
        r = mail_charset_conv_finish(c, NULL);
    mail_charset_conv_free(c);
    return r;
}
