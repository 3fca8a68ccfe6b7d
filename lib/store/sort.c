/* sort.c - the orders of a listing; see mail/sort.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/address.h"
#include "mail/buf.h"
#include "mail/rfc2047.h"
#include "mail/sort.h"
#include "radix.h"

int mail_sort_key_parse(const char *word, enum mail_sort_key *key)
{
    static const struct {
        const char *name;
        enum mail_sort_key key;
    } keys[] = {
        { "date", MAIL_SORT_DATE }, { "from", MAIL_SORT_FROM },
        { "subject", MAIL_SORT_SUBJECT }, { "size", MAIL_SORT_SIZE },
    };

    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(word, keys[i].name) == 0) {
            *key = keys[i].key;
            return 0;
        }
    return -1;
}

time_t mail_envelope_when(const struct mail_envelope *e)
{
    return e->has_date ? e->date : e->received;
}

const char *mail_subject_base(const char *s)
{
    for (;;) {
        const char *p;

        while (*s == ' ' || *s == '\t')
            s++;
        p = s;
        if (mail_strncasecmp(p, "re", 2) == 0 ||
            mail_strncasecmp(p, "aw", 2) == 0 ||
            mail_strncasecmp(p, "fw", 2) == 0)
            p += 2;
        else
            return s;
        if ((p[-2] == 'f' || p[-2] == 'F') && (*p == 'd' || *p == 'D'))
            p++;
        if (*p == '[') {
            while (*p >= '0' && *p <= '9' ? 1 : *p == '[')
                p++;
            if (*p != ']')
                return s;
            p++;
        }
        if (*p != ':')
            return s;
        s = p + 1;
    }
}

/* The first sender's name, else its address, decoded; malloc'd. */
static char *first_sender(const char *value)
{
    struct mail_addrlist l = MAIL_ADDRLIST_INIT;
    struct mail_buf b = MAIL_BUF_INIT;
    struct mail_error err;

    if (value && mail_addrlist_parse(&l, value, &err) == 0)
        for (size_t i = 0; i < l.n; i++) {
            const struct mail_address *a = &l.v[i];

            if (a->name && *a->name) {
                mail_buf_addstr(&b, a->name);
                break;
            }
            if (*a->addr) {
                mail_buf_addstr(&b, a->addr);
                break;
            }
        }
    mail_addrlist_release(&l);
    if (!b.data)
        mail_buf_addstr(&b, "");
    return mail_buf_detach(&b);
}

static char *decoded_subject(const struct mail_envelope *e)
{
    struct mail_buf b = MAIL_BUF_INIT;

    if (e->subject)
        mail_rfc2047_decode(&b, e->subject, strlen(e->subject));
    if (!b.data)
        mail_buf_addstr(&b, "");
    return mail_buf_detach(&b);
}

/*
 * The sort itself.  Each message becomes a record of three unsigned
 * numbers compared in turn, (a, b, idx):
 *
 *     date      (when, 0, idx)
 *     size      (size, when, idx)
 *     from      (rank of the text, when, idx)
 *     subject   (the same)
 *
 * (when biased so that unsigned order is time order), and the records go
 * through an LSD radix sort: no comparison function, no pointer chasing,
 * and digits that are the same in every record are skipped.  The rank of
 * a text is its place among the distinct texts of the listing (equal
 * without ASCII case: one rank), so that the many messages of one sender
 * or one subject tie on a number, not on a string compare each time.
 * The distinct texts are found with a hash table and ordered by their
 * first 16 bytes (folded, as two 64-bit numbers: the same radix sort),
 * then, where those are equal and longer, by the rest (cmp_text).
 */
/* ASCII case-insensitive; other bytes as they are. */
static int cmp_text(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned char x = (unsigned char)*a, y = (unsigned char)*b;

        if (x >= 'A' && x <= 'Z')
            x += 32;
        if (y >= 'A' && y <= 'Z')
            y += 32;
        if (x != y || !x)
            return x < y ? -1 : x > y;
    }
}

/* A distinct text (folded): its first 16 bytes folded as cmp_text folds
 * them, big-endian (0 after the end), and a hash of all of it. */
struct text {
    uint64_t pre[2];
    uint64_t hash;
    const char *s;
};

static void scan_text(const char *s, struct text *t)
{
    const unsigned char *p = (const unsigned char *)s;
    uint64_t h = 0xcbf29ce484222325ULL;

    t->s = s;
    for (int w = 0; w < 2; w++) {
        uint64_t v = 0;

        for (int k = 0; k < 8; k++) {
            unsigned char x = *p;

            if (x >= 'A' && x <= 'Z')
                x += 32;
            v = v << 8 | x;
            if (x) {
                h = (h ^ x) * 0x100000001b3ULL;
                p++;
            }
        }
        t->pre[w] = v;
    }
    for (; *p; p++) {
        unsigned char x = *p;

        if (x >= 'A' && x <= 'Z')
            x += 32;
        h = (h ^ x) * 0x100000001b3ULL;
    }
    t->hash = h ^ (h >> 29);
}

static int cmp_tail(const void *pa, const void *pb, void *arg)
{
    const struct text *tx = arg;
    const struct srec *a = pa, *b = pb;

    return cmp_text(tx[a->idx].s + 16, tx[b->idx].s + 16);
}

/* The text compared for key, decoded into *owned when the listing has no
 * display form.  NULL when out of memory. */
static const char *item_text(const struct mail_envelope *e,
                             enum mail_sort_key key, char **owned)
{
    const char *d = key == MAIL_SORT_FROM ? e->from_display
                                          : e->subject_display;

    *owned = NULL;
    if (!d && !e->borrowed) {
        *owned = key == MAIL_SORT_FROM ? first_sender(e->from)
                                       : decoded_subject(e);
        if (!*owned)
            return NULL;
        d = *owned;
    }
    d = d ? d : "";
    return key == MAIL_SORT_SUBJECT ? mail_subject_base(d) : d;
}

/* Scratch of one sort. */
struct sorter {
    struct srec *v, *tmp;  /* n each */
    size_t *count;         /* RADIX_COUNTS */
    struct text *tx;       /* the distinct texts */
    size_t ntx;
    uint32_t *id;          /* n: each message's text, into tx */
    uint32_t *slot;        /* hash table: 1 + index into tx, 0 empty */
    size_t mask;
    char **owned;          /* n: decoded texts (a list without display
                              forms), else NULL */
};

/* s->id[i]: the number of message idx[i]'s text among the distinct
 * texts s->tx.  -1 when out of memory. */
static int distinct_texts(struct sorter *s, const struct mail_envelope_list
                          *list, const size_t *idx, size_t n,
                          enum mail_sort_key key)
{
    for (size_t i = 0; i < n; i++) {
        const struct mail_envelope *e = &list->v[idx[i]];
        char *own;
        const char *t = item_text(e, key, &own);
        struct text x;
        size_t h;

        if (!t)
            return -1;
        if (own) {
            if (!s->owned && !(s->owned = calloc(n, sizeof *s->owned))) {
                free(own);
                return -1;
            }
            s->owned[i] = own;
        }
        scan_text(t, &x);
        for (h = (size_t)x.hash & s->mask;; h = (h + 1) & s->mask) {
            uint32_t k = s->slot[h];
            const struct text *y;

            if (k == 0) {
                s->tx[s->ntx] = x;
                s->slot[h] = (uint32_t)++s->ntx;
                s->id[i] = (uint32_t)(s->ntx - 1);
                break;
            }
            y = &s->tx[k - 1];
            if (y->hash == x.hash && y->pre[0] == x.pre[0] &&
                y->pre[1] == x.pre[1] &&
                ((x.pre[1] & 0xff) == 0 || cmp_text(y->s + 16, t + 16) == 0)) {
                s->id[i] = k - 1;
                break;
            }
        }
    }
    return 0;
}

/* s->tx[k].hash = the rank of text k among the distinct texts (cmp_text
 * order; no two of them are equal).  Uses v and tmp as scratch. */
static void rank_texts(struct sorter *s)
{
    struct srec *sorted;

    /* the numbers k are given in order: no pass on them is needed */
    for (size_t k = 0; k < s->ntx; k++)
        s->v[k] = (struct srec){ s->tx[k].pre[0], s->tx[k].pre[1], k };
    sorted = radix_sort(s->v, s->tmp, s->ntx, false, s->count);
    /* equal 16-byte prefixes of longer texts: by the rest */
    for (size_t k = 0; k < s->ntx;) {
        size_t j = k + 1;

        while (j < s->ntx && sorted[j].a == sorted[k].a &&
               sorted[j].b == sorted[k].b)
            j++;
        if (j - k > 1)
            qsort_r(sorted + k, j - k, sizeof *sorted, cmp_tail, s->tx);
        k = j;
    }
    for (size_t k = 0; k < s->ntx; k++)
        s->tx[sorted[k].idx].hash = k;
}

static void sorter_release(struct sorter *s, size_t n)
{
    if (s->owned)
        for (size_t i = 0; i < n; i++)
            free(s->owned[i]);
    free(s->owned);
    free(s->v);
    free(s->tmp);
    free(s->count);
    free(s->tx);
    free(s->id);
    free(s->slot);
}

static int sort_keyed(const struct mail_envelope_list *list, size_t *idx,
                      size_t n, enum mail_sort_key key)
{
    struct sorter s = { 0 };
    bool texts = key == MAIL_SORT_FROM || key == MAIL_SORT_SUBJECT;
    bool by_idx = false;
    struct srec *out;
    int rc = -1;

    s.v = malloc(n * sizeof *s.v);
    s.tmp = malloc(n * sizeof *s.tmp);
    s.count = malloc(RADIX_COUNTS * sizeof *s.count);
    if (!s.v || !s.tmp || !s.count)
        goto done;
    if (texts) {
        size_t slots = 64;

        while (slots < 2 * n)
            slots *= 2;
        if (n >= UINT32_MAX / 2)
            goto done;
        s.tx = malloc(n * sizeof *s.tx);
        s.id = malloc(n * sizeof *s.id);
        s.slot = calloc(slots, sizeof *s.slot);
        s.mask = slots - 1;
        if (!s.tx || !s.id || !s.slot ||
            distinct_texts(&s, list, idx, n, key) < 0)
            goto done;
        free(s.slot);
        s.slot = NULL;
        rank_texts(&s);
    }
    for (size_t i = 0; i < n; i++) {
        const struct mail_envelope *e = &list->v[idx[i]];
        uint64_t when = radix_time(mail_envelope_when(e));

        s.v[i].idx = idx[i];
        if (i && idx[i] <= idx[i - 1])
            by_idx = true;
        if (key == MAIL_SORT_DATE)
            s.v[i].a = when, s.v[i].b = 0;
        else
            s.v[i].a = texts ? s.tx[s.id[i]].hash : e->size, s.v[i].b = when;
    }
    out = radix_sort(s.v, s.tmp, n, by_idx, s.count);
    for (size_t i = 0; i < n; i++)
        idx[i] = out[i].idx;
    rc = 0;
done:
    sorter_release(&s, n);
    return rc;
}

int mail_sort(const struct mail_envelope_list *list, size_t *idx, size_t n,
              enum mail_sort_key key, bool reverse, struct mail_error *err)
{
    if (key != MAIL_SORT_NONE && n > 1 && sort_keyed(list, idx, n, key) < 0)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    if (reverse)
        for (size_t i = 0; i < n / 2; i++) {
            size_t t = idx[i];

            idx[i] = idx[n - 1 - i];
            idx[n - 1 - i] = t;
        }
    return 0;
}
