/*
 * thread.c - thread order of a set of envelopes; see mail/thread.h.
 *
 * Message-IDs are sorted once and looked up by binary search, children
 * are kept in CSR form, and the walk is depth-first with an explicit
 * stack, so the cost is O(n log n) and no recursion, whatever the
 * References say.  The sort keys travel with the items (no comparison
 * context, no global state).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/thread.h"

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

struct id_ref {
    const char *id;
    size_t len;
    size_t pos;            /* input position */
};

static int cmp_id(const void *a, const void *b)
{
    const struct id_ref *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->id, y->id, n);

    if (c)
        return c;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* The input position of the first message with this id, or -1. */
static long find_id(const struct id_ref *ids, size_t n, const char *id,
                    size_t len)
{
    size_t lo = 0, hi = n;
    struct id_ref key = { id, len, 0 };

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        /* Equal ids: the first position wins (pos 0 in key sorts first). */
        if (cmp_id(&key, &ids[mid]) <= 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    if (lo < n && ids[lo].len == len && memcmp(ids[lo].id, id, len) == 0)
        return (long)ids[lo].pos;
    return -1;
}

/*
 * Cut the loops that References can make (a says it replies to b, b to
 * a): in each loop the message latest in input order loses its parent,
 * as if parents were taken one by one in input order and a link that
 * would close a loop were refused.  Each message is walked once: O(n).
 */
static void cut_loops(long *parent, unsigned char *state, size_t n)
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

struct sort_item {
    time_t first;          /* roots: the date of the thread's first */
    time_t when;
    size_t pos;
};

static int cmp_item(const void *a, const void *b)
{
    const struct sort_item *x = a, *y = b;

    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    if (x->when != y->when)
        return x->when < y->when ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static time_t env_time(const struct mail_envelope *e)
{
    return e->has_date ? e->date : e->received;
}

/* The parent of message i (input position), or -1. */
static long find_parent(const struct mail_envelope *e, size_t i,
                        const struct id_ref *ids, size_t nids)
{
    const char *refs = e->references, *p, *q, *s;
    size_t len;
    long r;

    /* The last reference that is in the set. */
    for (p = refs ? refs + strlen(refs) : NULL; p && p > refs;) {
        q = p;
        while (q > refs && q[-1] != '>')
            q--;
        if (q == refs)
            break;
        p = q - 1;              /* the '>' */
        while (p > refs && *p != '<')
            p--;
        if (*p == '<') {
            r = find_id(ids, nids, p, (size_t)(q - p));
            if (r >= 0 && (size_t)r != i)
                return r;
        }
    }
    if (first_id(e->in_reply_to, &s, &len)) {
        r = find_id(ids, nids, s, len);
        if (r >= 0 && (size_t)r != i)
            return r;
    }
    return -1;
}

int mail_thread(const struct mail_envelope_list *list, size_t *idx,
                unsigned *depth, size_t n, struct mail_error *err)
{
    size_t m = n ? n : 1;
    struct id_ref *ids = calloc(m, sizeof *ids);
    long *parent = malloc(m * sizeof *parent);
    size_t *start = calloc(n + 1, sizeof *start);
    size_t *fill = calloc(m, sizeof *fill);
    struct sort_item *kids = malloc(m * sizeof *kids);
    struct sort_item *roots = malloc(m * sizeof *roots);
    unsigned char *state = calloc(m, 1);
    size_t *stack = malloc(m * sizeof *stack);
    unsigned *d = malloc(m * sizeof *d);
    size_t *out = malloc(m * sizeof *out);
    unsigned *outd = malloc(m * sizeof *outd);
    size_t nids = 0, nroots = 0, nout = 0;
    int rc = -1;

    if (!ids || !parent || !start || !fill || !kids || !roots || !state ||
        !stack || !d || !out || !outd) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const char *s;
        size_t len;

        if (first_id(list->v[idx[i]].message_id, &s, &len))
            ids[nids++] = (struct id_ref){ s, len, i };
    }
    if (nids > 1)
        qsort(ids, nids, sizeof *ids, cmp_id);
    for (size_t i = 0; i < n; i++)
        parent[i] = find_parent(&list->v[idx[i]], i, ids, nids);
    cut_loops(parent, state, n);
    /* Children of each message, CSR: kids[start[p]..start[p+1]). */
    for (size_t i = 0; i < n; i++)
        if (parent[i] >= 0)
            start[parent[i] + 1]++;
    for (size_t i = 0; i < n; i++)
        start[i + 1] += start[i];
    for (size_t i = 0; i < n; i++) {
        struct sort_item it = { 0, env_time(&list->v[idx[i]]), i };

        if (parent[i] >= 0)
            kids[start[parent[i]] + fill[parent[i]]++] = it;
        else
            roots[nroots++] = it;
    }
    for (size_t i = 0; i < n; i++)
        if (start[i + 1] - start[i] > 1)
            qsort(kids + start[i], start[i + 1] - start[i], sizeof *kids,
                  cmp_item);
    /* The date of each thread's earliest message, for its root. */
    for (size_t k = 0; k < nroots; k++) {
        size_t sp = 0;
        time_t min = roots[k].when;

        stack[sp++] = roots[k].pos;
        while (sp) {
            size_t r = stack[--sp];

            for (size_t c = start[r]; c < start[r + 1]; c++) {
                if (kids[c].when < min)
                    min = kids[c].when;
                stack[sp++] = kids[c].pos;
            }
        }
        roots[k].first = min;
    }
    if (nroots > 1)
        qsort(roots, nroots, sizeof *roots, cmp_item);
    /* Depth-first, without recursion. */
    for (size_t k = 0; k < nroots; k++) {
        size_t sp = 0;

        stack[sp++] = roots[k].pos;
        d[roots[k].pos] = 0;
        while (sp) {
            size_t r = stack[--sp];

            out[nout] = idx[r];
            outd[nout++] = d[r];
            for (size_t c = start[r + 1]; c > start[r]; c--) {
                size_t ch = kids[c - 1].pos;

                d[ch] = d[r] + 1;
                stack[sp++] = ch;
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
    free(ids);
    free(parent);
    free(start);
    free(fill);
    free(kids);
    free(roots);
    free(state);
    free(stack);
    free(d);
    free(out);
    free(outd);
    return rc;
}
