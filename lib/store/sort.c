/* sort.c - the orders of a listing; see mail/sort.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/address.h"
#include "mail/buf.h"
#include "mail/rfc2047.h"
#include "mail/sort.h"

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

struct item {
    uint64_t pre[2];    /* the first 16 bytes of text, folded as cmp_text
                           folds them, big-endian (0 after the end): most
                           comparisons end here, without the strings */
    size_t idx;
    time_t when;
    uint64_t size;
    const char *text;   /* from / subject key */
    char *owned;        /* text, when decoded here */
};

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

/* it->pre from it->text: the same order as cmp_text on the first 16
 * bytes (a string that ends there has zeros after it, and sorts first,
 * as cmp_text sorts it). */
static void set_prefix(struct item *it)
{
    const unsigned char *t = (const unsigned char *)it->text;

    for (int w = 0; w < 2; w++) {
        uint64_t v = 0;

        for (int k = 0; k < 8; k++) {
            unsigned char x = *t;

            if (x >= 'A' && x <= 'Z')
                x += 32;
            v = v << 8 | x;
            if (*t)
                t++;
        }
        it->pre[w] = v;
    }
}

static int cmp_items(const void *pa, const void *pb, void *arg)
{
    const struct item *a = pa, *b = pb;
    enum mail_sort_key key = *(const enum mail_sort_key *)arg;
    int c = 0;

    if (key == MAIL_SORT_FROM || key == MAIL_SORT_SUBJECT) {
        if (a->pre[0] != b->pre[0])
            c = a->pre[0] < b->pre[0] ? -1 : 1;
        else if (a->pre[1] != b->pre[1])
            c = a->pre[1] < b->pre[1] ? -1 : 1;
        else if ((a->pre[1] & 0xff) != 0)   /* longer than 16 bytes */
            c = cmp_text(a->text + 16, b->text + 16);
    }
    else if (key == MAIL_SORT_SIZE)
        c = a->size < b->size ? -1 : a->size > b->size;
    if (c == 0 && a->when != b->when)
        c = a->when < b->when ? -1 : 1;
    if (c == 0)
        c = a->idx < b->idx ? -1 : a->idx > b->idx;
    return c;
}

/* The text compared for key, decoded into it->owned when the listing has
 * no display form.  -1 when out of memory. */
static int item_text(struct item *it, const struct mail_envelope *e,
                     enum mail_sort_key key)
{
    const char *d = key == MAIL_SORT_FROM ? e->from_display
                                          : e->subject_display;

    if (!d && !e->borrowed) {
        it->owned = key == MAIL_SORT_FROM ? first_sender(e->from)
                                          : decoded_subject(e);
        if (!it->owned)
            return -1;
        d = it->owned;
    }
    d = d ? d : "";
    it->text = key == MAIL_SORT_SUBJECT ? mail_subject_base(d) : d;
    set_prefix(it);
    return 0;
}

int mail_sort(const struct mail_envelope_list *list, size_t *idx, size_t n,
              enum mail_sort_key key, bool reverse, struct mail_error *err)
{
    struct item *v;
    int rc = 0;

    if (key != MAIL_SORT_NONE && n > 1) {
        v = calloc(n, sizeof *v);
        if (!v)
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        for (size_t i = 0; i < n && rc == 0; i++) {
            const struct mail_envelope *e = &list->v[idx[i]];

            v[i].idx = idx[i];
            v[i].when = mail_envelope_when(e);
            v[i].size = e->size;
            if ((key == MAIL_SORT_FROM || key == MAIL_SORT_SUBJECT) &&
                item_text(&v[i], e, key) < 0)
                rc = mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        }
        if (rc == 0) {
            qsort_r(v, n, sizeof *v, cmp_items, &key);
            for (size_t i = 0; i < n; i++)
                idx[i] = v[i].idx;
        }
        for (size_t i = 0; i < n; i++)
            free(v[i].owned);
        free(v);
        if (rc < 0)
            return rc;
    }
    if (reverse)
        for (size_t i = 0; i < n / 2; i++) {
            size_t t = idx[i];

            idx[i] = idx[n - 1 - i];
            idx[n - 1 - i] = t;
        }
    return 0;
}
