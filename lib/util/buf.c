/* buf.c - growable, capped byte buffers and small string helpers. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>
#include <unistd.h>

#include "mail/buf.h"

/* Secret mode is the top bit of cap_max, so that the struct (and every
 * initializer of it) stays as it was. */
#define SECRET_BIT ((size_t)1 << (sizeof(size_t) * 8 - 1))

static size_t buf_max(const struct mail_buf *b)
{
    size_t m = b->cap_max & ~SECRET_BIT;

    return m ? m : MAIL_BUF_DEFAULT_MAX;
}

void mail_buf_init(struct mail_buf *b, size_t cap_max)
{
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->cap_max = cap_max & ~SECRET_BIT;
}

void mail_buf_set_secret(struct mail_buf *b)
{
    b->cap_max |= SECRET_BIT;
}

int mail_buf_is_secret(const struct mail_buf *b)
{
    return (b->cap_max & SECRET_BIT) != 0;
}

void mail_buf_release(struct mail_buf *b)
{
    if (mail_buf_is_secret(b) && b->data)
        mail_wipe(b->data, b->alloc);
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
}

void mail_buf_release_secret(struct mail_buf *b)
{
    if (b->data)
        mail_wipe(b->data, b->alloc);
    mail_buf_release(b);
}

void mail_buf_reset(struct mail_buf *b)
{
    if (mail_buf_is_secret(b) && b->data)
        mail_wipe(b->data, b->len);
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

int mail_buf_reserve(struct mail_buf *b, size_t extra)
{
    size_t need, n;
    char *p;

    if (extra > buf_max(b) || b->len > buf_max(b) - extra) {
        errno = EMSGSIZE;
        return -1;
    }
    need = b->len + extra + 1;
    if (need <= b->alloc)
        return 0;
    n = b->alloc ? b->alloc : 64;
    while (n < need)
        n = n > SIZE_MAX / 2 ? need : n * 2;
    if (mail_buf_is_secret(b)) {
        /* a fresh block; the old one is wiped before it is freed */
        p = malloc(n);
        if (p && b->data) {
            memcpy(p, b->data, b->len + 1);
            mail_wipe(b->data, b->alloc);
            free(b->data);
        }
    } else {
        p = realloc(b->data, n);
    }
    if (!p)
        return -1;
    b->data = p;
    b->alloc = n;
    return 0;
}

int mail_buf_add(struct mail_buf *b, const void *data, size_t len)
{
    if (mail_buf_reserve(b, len) < 0)
        return -1;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int mail_buf_addstr(struct mail_buf *b, const char *s)
{
    return mail_buf_add(b, s, strlen(s));
}

int mail_buf_addch(struct mail_buf *b, char c)
{
    return mail_buf_add(b, &c, 1);
}

int mail_buf_vprintf(struct mail_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || mail_buf_reserve(b, (size_t)n) < 0)
        return -1;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int mail_buf_printf(struct mail_buf *b, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = mail_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return r;
}

void mail_buf_consume(struct mail_buf *b, size_t n)
{
    if (n >= b->len) {
        mail_buf_reset(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    if (mail_buf_is_secret(b))
        mail_wipe(b->data + b->len - n, n);
    b->len -= n;
    b->data[b->len] = '\0';
}

char *mail_buf_detach(struct mail_buf *b)
{
    char *p;

    if (!b->data && mail_buf_reserve(b, 0) < 0)
        return NULL;
    p = b->data;
    p[b->len] = '\0';
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    return p;
}

size_t mail_strlcpy(char *dst, const char *src, size_t size)
{
    size_t n = strlen(src);

    if (size) {
        size_t c = n < size - 1 ? n : size - 1;
        memcpy(dst, src, c);
        dst[c] = '\0';
    }
    return n;
}

int mail_snprintf(char *dst, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(dst, size, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= size)
        return -1;
    return n;
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

int mail_strcasecmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        int d = lower((unsigned char)*a) - lower((unsigned char)*b);
        if (d || !*a)
            return d;
    }
}

int mail_strncasecmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        int d = lower((unsigned char)*a) - lower((unsigned char)*b);
        if (d || !*a)
            return d;
    }
    return 0;
}

void mail_wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;

    while (n--)
        *v++ = 0;
}

void mail_big_block_hint(void *p, size_t len)
{
#ifdef MADV_HUGEPAGE
    uintptr_t a = (uintptr_t)p, lo, hi;
    long pg = sysconf(_SC_PAGESIZE);

    if (!p || len < ((size_t)4 << 20) || pg <= 0)
        return;
    lo = (a + (uintptr_t)pg - 1) & ~((uintptr_t)pg - 1);
    hi = (a + len) & ~((uintptr_t)pg - 1);
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
    (void)p;
    (void)len;
#endif
}
