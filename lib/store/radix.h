/*
 * radix.h - private to lib/store: the one LSD radix sort of sort.c
 * (mail ls -S) and thread.c (children by date, threads by date), on
 * records of three unsigned numbers compared in turn.  No comparison
 * function, no pointer chasing; a byte that is the same in every record
 * costs no pass.  Static inline: two users, both in store/.
 */
#ifndef MAIL_STORE_RADIX_H
#define MAIL_STORE_RADIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* Ordered by a, then b, then idx (all as unsigned numbers). */
struct srec {
    uint64_t a, b;
    size_t idx;
};

#define RADIX_DIGITS (3 * 8)
#define RADIX_COUNTS (RADIX_DIGITS * 256)

/* Byte d (0: the least significant) of (a, b, idx) read as one number,
 * idx lowest. */
static inline unsigned radix_digit(const struct srec *r, unsigned d)
{
    uint64_t w = d < 8 ? (uint64_t)r->idx : d < 16 ? r->b : r->a;

    return (unsigned)(w >> (d % 8 * 8)) & 0xff;
}

/*
 * Sort v[0..n) by (a, b, idx); tmp has room for n.  Without by_idx, v
 * must already be in idx order (every pass is stable, so idx stays the
 * last key without passes of its own).  Returns the array that holds the
 * result (v or tmp).  count: RADIX_COUNTS counters of scratch.
 */
static inline struct srec *radix_sort(struct srec *v, struct srec *tmp,
                                      size_t n, bool by_idx, size_t *count)
{
    unsigned d0 = by_idx ? 0 : 8;

    if (n < 2)
        return v;
    memset(count, 0, RADIX_COUNTS * sizeof *count);
    for (size_t i = 0; i < n; i++) {
        const struct srec *r = &v[i];
        uint64_t w[3] = { (uint64_t)r->idx, r->b, r->a };

        for (unsigned f = d0 / 8; f < 3; f++)
            for (unsigned k = 0; k < 8; k++)
                count[(f * 8 + k) * 256 + ((w[f] >> (k * 8)) & 0xff)]++;
    }
    for (unsigned d = d0; d < RADIX_DIGITS; d++) {
        size_t *c = count + d * 256, sum = 0;
        struct srec *t;

        if (c[radix_digit(&v[0], d)] == n)
            continue;          /* the same byte everywhere */
        for (unsigned b = 0; b < 256; b++) {
            size_t k = c[b];

            c[b] = sum;
            sum += k;
        }
        if (d < 8)
            for (size_t i = 0; i < n; i++)
                tmp[c[((uint64_t)v[i].idx >> (d * 8)) & 0xff]++] = v[i];
        else if (d < 16)
            for (size_t i = 0; i < n; i++)
                tmp[c[(v[i].b >> (d % 8 * 8)) & 0xff]++] = v[i];
        else
            for (size_t i = 0; i < n; i++)
                tmp[c[(v[i].a >> (d % 8 * 8)) & 0xff]++] = v[i];
        t = v;
        v = tmp;
        tmp = t;
    }
    return v;
}

/* A time as an unsigned number of the same order. */
static inline uint64_t radix_time(time_t t)
{
    return (uint64_t)(int64_t)t ^ ((uint64_t)1 << 63);
}

#endif
