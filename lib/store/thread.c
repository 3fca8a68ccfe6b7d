/*
 * thread.c - thread order of a set of envelopes; see mail/thread.h.
 *
 * Message-IDs go into a hash table once (a reference is found with one
 * hash and, mostly, one memcmp), children are sorted by parent and date
 * and threads by date with the radix sort of radix.h (records of
 * numbers, no comparison function), children are kept in CSR form, and
 * the walk is depth-first with an explicit stack: no recursion, whatever
 * the References say, and no global state.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hcache.h"
#include "mail/thread.h"
#include "radix.h"

/* The first "<...>" of s (or the trimmed s) as [*start, *start+*len). */
static bool first_id(const char *s, const char **start, size_t *len)
{
    const char *a, *z;

    if (!s)
        return false;
    a = strchr(s, '<');
    z = a ? strchr(a, '>') : NULL;
    if (a && z) {
        *start = a;
        *len = (size_t)(z - a + 1);
        return true;
    }
    while (*s == ' ' || *s == '\t')
        s++;
    *start = s;
    *len = strcspn(s, " \t");
    return *len > 0;
}

/* A Message-ID of the set: its bytes and the input position of the
 * first message that has it. */
struct id_ref {
    const char *id;
    uint32_t len;
    uint32_t hash;
};

/* A slot of the table: 1 + an input position (0: empty), and that
 * message's id hash, so that a probe reads no id it does not match. */
struct id_slot {
    uint32_t pos1;
    uint32_t hash;
};

/* The Message-IDs, in a hash table of input positions. */
struct id_table {
    struct id_ref *ref;    /* by input position (len 0: none) */
    struct id_slot *slot;
    size_t mask;
};

/* A word at a time, the cache's hash (ids are 40 bytes and more: a byte
 * at a time, the hashing was a fifth of the threading). */
static uint32_t id_hash(const char *s, size_t len)
{
    uint64_t h = hcache_fast_hash(HCACHE_HASH_INIT, s, len);

    return (uint32_t)(h ^ (h >> 32));
}

/* The input position of the first message with this id (whose hash is
 * h), or -1. */
static long find_id_h(const struct id_table *t, const char *id, size_t len,
                      uint32_t h)
{
    for (size_t k = h & t->mask;; k = (k + 1) & t->mask) {
        uint32_t p = t->slot[k].pos1;
        const struct id_ref *r;

        if (p == 0)
            return -1;
        if (t->slot[k].hash != h)
            continue;
        r = &t->ref[p - 1];
        if (r->len == len && memcmp(r->id, id, len) == 0)
            return (long)(p - 1);
    }
}

static long find_id(const struct id_table *t, const char *id, size_t len)
{
    return find_id_h(t, id, len, id_hash(id, len));
}

/* Start fetching the slots where hash h is looked up. */
static void prefetch_slot(const struct id_table *t, uint32_t h)
{
    __builtin_prefetch(&t->slot[h & t->mask]);
}

/* Message i's id into the table, unless an earlier message has it. */
static void add_id(struct id_table *t, size_t i)
{
    const struct id_ref *x = &t->ref[i];

    for (size_t k = x->hash & t->mask;; k = (k + 1) & t->mask) {
        uint32_t p = t->slot[k].pos1;
        const struct id_ref *r;

        if (p == 0) {
            t->slot[k] = (struct id_slot){ (uint32_t)i + 1, x->hash };
            return;
        }
        if (t->slot[k].hash != x->hash)
            continue;
        r = &t->ref[p - 1];
        if (r->len == x->len && memcmp(r->id, x->id, x->len) == 0)
            return;             /* the first one wins */
    }
}

/*
 * Cut the loops that References can make (a says it replies to b, b to
 * a): in each loop the message latest in input order loses its parent,
 * as if parents were taken one by one in input order and a link that
 * would close a loop were refused.  Each message is walked once: O(n).
 */
static void cut_loops(int32_t *parent, unsigned char *state, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        long p = (long)i;

        if (state[i])
            continue;
        while (p >= 0 && state[p] == 0) {
            state[p] = 1;               /* on the current path */
            p = parent[p];
        }
        if (p >= 0 && state[p] == 1) {  /* back on the path: a loop */
            long last = p;

            for (long q = parent[p]; q != p; q = parent[q])
                if (q > last)
                    last = q;
            parent[last] = -1;
        }
        for (p = (long)i; p >= 0 && state[p] == 1; p = parent[p])
            state[p] = 2;               /* done */
    }
}

static time_t env_time(const struct mail_envelope *e)
{
    return e->has_date ? e->date : e->received;
}

/* The reference ("<...>") of refs that ends before *end, scanning back;
 * *end moves to its start.  false when there is none. */
static bool prev_ref(const char *refs, const char **end, const char **s,
                     size_t *len)
{
    const char *p = *end, *q;

    while (p > refs) {
        q = p;
        while (q > refs && q[-1] != '>')
            q--;
        if (q == refs)
            break;
        p = q - 1;              /* the '>' */
        while (p > refs && *p != '<')
            p--;
        if (*p == '<') {
            *end = *s = p;
            *len = (size_t)(q - p);
            return true;
        }
    }
    *end = refs;
    return false;
}

/* The id a message's parent is looked up by first: its last reference,
 * else its In-Reply-To (len 0: none). */
static void first_guess(const struct mail_envelope *e, struct id_ref *g)
{
    const char *end, *s;
    size_t len = 0;

    g->len = 0;
    if (e->references) {
        end = e->references + strlen(e->references);
        if (!prev_ref(e->references, &end, &s, &len))
            len = 0;
    }
    if (len == 0 && !first_id(e->in_reply_to, &s, &len))
        len = 0;
    if (len > 0 && len < UINT32_MAX)
        *g = (struct id_ref){ s, (uint32_t)len, id_hash(s, len) };
}

/* The parent of message i (input position), or -1. */
static long find_parent(const struct mail_envelope *e, size_t i,
                        const struct id_table *t)
{
    const char *refs = e->references, *end, *s;
    size_t len;
    long r;

    /* The last reference that is in the set. */
    for (end = refs ? refs + strlen(refs) : NULL;
         end && prev_ref(refs, &end, &s, &len);) {
        r = find_id(t, s, len);
        if (r >= 0 && (size_t)r != i)
            return r;
    }
    if (first_id(e->in_reply_to, &s, &len)) {
        r = find_id(t, s, len);
        if (r >= 0 && (size_t)r != i)
            return r;
    }
    return -1;
}

/* How far ahead the table's slots are fetched: its lookups are random
 * reads of a table of megabytes. */
#define AHEAD 16

/* parent[0..n): each message's parent (input position) or -1, loops
 * cut.  -1 when out of memory (or more than INT32_MAX messages). */
static int find_parents(const struct mail_envelope_list *list,
                        const size_t *idx, size_t n, int32_t *parent)
{
    struct id_table t = { 0 };
    struct id_ref guess[AHEAD];   /* of messages i..i+AHEAD, by i % AHEAD */
    unsigned char *state;
    size_t slots = 64;
    int rc = -1;

    while (slots < 2 * n)
        slots *= 2;
    t.ref = calloc(n, sizeof *t.ref);
    t.slot = calloc(slots, sizeof *t.slot);
    state = calloc(n, 1);
    t.mask = slots - 1;
    if (!t.ref || !t.slot || !state || n > INT32_MAX)
        goto done;
    /* the ids and their hashes, then into the table with the slots of
     * the ones AHEAD fetched meanwhile */
    for (size_t i = 0; i < n; i++) {
        const char *s;
        size_t len;

        if (first_id(list->v[idx[i]].message_id, &s, &len) &&
            len < UINT32_MAX)
            t.ref[i] = (struct id_ref){ s, (uint32_t)len, id_hash(s, len) };
    }
    for (size_t i = 0; i < n; i++) {
        if (i + AHEAD < n && t.ref[i + AHEAD].len)
            prefetch_slot(&t, t.ref[i + AHEAD].hash);
        if (t.ref[i].len)
            add_id(&t, i);
    }
    /* a message's parent is mostly its first guess, found at once (the
     * guesses of the next AHEAD messages made, their slots fetched) */
    for (size_t i = 0; i < n && i < AHEAD; i++)
        first_guess(&list->v[idx[i]], &guess[i]);
    for (size_t i = 0; i < n; i++) {
        struct id_ref g = guess[i % AHEAD];
        long r = -1;

        if (i + AHEAD < n) {
            struct id_ref *next = &guess[i % AHEAD];

            first_guess(&list->v[idx[i + AHEAD]], next);
            if (next->len)
                prefetch_slot(&t, next->hash);
        }
        if (g.len)
            r = find_id_h(&t, g.id, g.len, g.hash);
        parent[i] = (int32_t)(r >= 0 && (size_t)r != i
                                  ? r : find_parent(&list->v[idx[i]], i, &t));
    }
    cut_loops(parent, state, n);
    rc = 0;
done:
    free(t.ref);
    free(t.slot);
    free(state);
    return rc;
}

int mail_thread(const struct mail_envelope_list *list, size_t *idx,
                unsigned *depth, size_t n, struct mail_error *err)
{
    size_t m = n ? n : 1;
    int32_t *parent = malloc(m * sizeof *parent);
    uint32_t *start = calloc(m + 1, sizeof *start);
    struct srec *v = malloc(m * sizeof *v);
    struct srec *tmp = malloc(m * sizeof *tmp);
    size_t *count = malloc(RADIX_COUNTS * sizeof *count);
    uint32_t *stack = malloc(m * sizeof *stack);
    unsigned *d = malloc(m * sizeof *d);
    size_t *out = malloc(m * sizeof *out);
    unsigned *outd = malloc(m * sizeof *outd);
    struct srec *kids, *roots;
    size_t nkids = 0, nroots = 0, nout = 0;
    int rc = -1;

    if (!parent || !start || !v || !tmp || !count || !stack || !d || !out ||
        !outd || find_parents(list, idx, n, parent) < 0) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto done;
    }
    /* Children by parent, then date, then input position: the records
     * are made in input order, so the sort keeps that as the last key.
     * kids[start[p]..start[p+1]) are p's. */
    for (size_t i = 0; i < n; i++)
        if (parent[i] >= 0) {
            v[nkids++] = (struct srec){ (uint64_t)parent[i],
                radix_time(env_time(&list->v[idx[i]])), i };
            start[parent[i] + 1]++;
        }
    for (size_t i = 0; i < n; i++)
        start[i + 1] += start[i];
    kids = radix_sort(v, tmp, nkids, false, count);
    /* The roots: the date of each thread's earliest message (a), its
     * own (b), its position; in the array the children do not use. */
    roots = kids == v ? tmp : v;
    for (size_t i = 0; i < n; i++) {
        size_t sp = 0;
        uint64_t min, own;

        if (parent[i] >= 0)
            continue;
        min = own = radix_time(env_time(&list->v[idx[i]]));
        stack[sp++] = (uint32_t)i;
        while (sp) {
            size_t r = stack[--sp];

            for (size_t c = start[r]; c < start[r + 1]; c++) {
                if (kids[c].b < min)
                    min = kids[c].b;
                stack[sp++] = (uint32_t)kids[c].idx;
            }
        }
        roots[nroots++] = (struct srec){ min, own, i };
    }
    /* kids and roots fill the two arrays: a third for the roots' sort */
    if (nroots > 1) {
        struct srec *rtmp = malloc(nroots * sizeof *rtmp);

        if (!rtmp) {
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            goto done;
        }
        roots = radix_sort(roots, rtmp, nroots, false, count);
        if (roots == rtmp) {
            memcpy(kids == v ? tmp : v, rtmp, nroots * sizeof *rtmp);
            roots = kids == v ? tmp : v;
        }
        free(rtmp);
    }
    /* Depth-first, without recursion. */
    for (size_t k = 0; k < nroots; k++) {
        size_t sp = 0;

        stack[sp++] = (uint32_t)roots[k].idx;
        d[roots[k].idx] = 0;
        while (sp) {
            size_t r = stack[--sp];

            out[nout] = idx[r];
            outd[nout++] = d[r];
            for (size_t c = start[r + 1]; c > start[r]; c--) {
                size_t ch = kids[c - 1].idx;

                d[ch] = d[r] + 1;
                stack[sp++] = (uint32_t)ch;
            }
        }
    }
    if (nout != n) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "threading lost messages");
        goto done;
    }
    memcpy(idx, out, n * sizeof *idx);
    memcpy(depth, outd, n * sizeof *depth);
    rc = 0;
done:
    free(parent);
    free(start);
    free(v);
    free(tmp);
    free(count);
    free(stack);
    free(d);
    free(out);
    free(outd);
    return rc;
}
