/* test_thread.c - thread order and depth (mail/thread.h): replies under
 * their parent, missing parents, loops in References, the same
 * Message-ID twice, date order of roots and children. */
#include <stdlib.h>
#include <string.h>

#include "mail/thread.h"
#include "test.h"

static struct mail_envelope envs[32];
static struct mail_envelope_list list = { envs, 0, 32, NULL };

/* Message i: its id, References, In-Reply-To and Date (seconds). */
static void msg(const char *id, const char *refs, const char *irt, long when)
{
    struct mail_envelope *e = &envs[list.n++];

    memset(e, 0, sizeof *e);
    e->message_id = (char *)id;
    e->references = (char *)refs;
    e->in_reply_to = (char *)irt;
    e->date = when;
    e->has_date = true;
}

/* Thread every message; the result as "id/depth id/depth ..." with the
 * ids' first letter after '<'. */
static const char *order(void)
{
    static char buf[256];
    size_t idx[32];
    unsigned depth[32];
    struct mail_error err;
    size_t len = 0;

    for (size_t i = 0; i < list.n; i++)
        idx[i] = i;
    if (mail_thread(&list, idx, depth, list.n, &err) < 0)
        return "error";
    buf[0] = '\0';
    for (size_t i = 0; i < list.n; i++) {
        const char *id = envs[idx[i]].message_id;

        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%c%u",
                                i ? " " : "", id ? id[1] : '?', depth[i]);
    }
    return buf;
}

static void reset(void)
{
    list.n = 0;
}

static void test_replies(void)
{
    reset();
    msg("<a@x>", NULL, NULL, 100);
    msg("<x@x>", NULL, NULL, 200);
    msg("<b@x>", "<a@x>", NULL, 300);
    msg("<c@x>", "<a@x> <b@x>", NULL, 400);
    msg("<d@x>", "<a@x>", NULL, 500);
    /* In-Reply-To when there are no References. */
    msg("<e@x>", NULL, "<x@x>", 600);
    CHECK_STR(order(), "a0 b1 c2 d1 x0 e1");
}

static void test_missing_parent(void)
{
    reset();
    /* The parent is not in the set: a root; the last reference that is
     * here wins over earlier ones and over In-Reply-To. */
    msg("<a@x>", NULL, NULL, 100);
    msg("<b@x>", "<gone@x>", "<gone@x>", 50);
    msg("<c@x>", "<a@x> <gone@x>", "<gone2@x>", 300);
    msg("<d@x>", "<a@x> <c@x> <gone@x>", NULL, 400);
    CHECK_STR(order(), "b0 a0 c1 d2");
}

static void test_loops(void)
{
    reset();
    /* a says it replies to b, b to a: one of them is the root. */
    msg("<a@x>", "<b@x>", NULL, 100);
    msg("<b@x>", "<a@x>", NULL, 200);
    /* A message that references itself. */
    msg("<c@x>", "<c@x>", "<c@x>", 300);
    /* A longer loop: d -> e -> f -> d. */
    msg("<d@x>", "<f@x>", NULL, 400);
    msg("<e@x>", "<d@x>", NULL, 500);
    msg("<f@x>", "<e@x>", NULL, 600);
    CHECK_STR(order(), "b0 a1 c0 f0 d1 e2");
}

static void test_duplicate_id(void)
{
    reset();
    /* Two messages with the same Message-ID: the first one gets the
     * reply; the second is a root of its own. */
    msg("<a@x>", NULL, NULL, 100);
    msg("<a@x>", NULL, NULL, 200);
    msg("<r@x>", "<a@x>", NULL, 300);
    CHECK_STR(order(), "a0 r1 a0");
    /* No Message-ID at all: roots, never parents. */
    reset();
    msg(NULL, NULL, NULL, 100);
    msg("<r@x>", "", "", 50);
    CHECK_STR(order(), "r0 ?0");
}

static void test_dates(void)
{
    reset();
    /* Children by date whatever the input order; threads by the date of
     * their earliest message (a reply older than its root counts). */
    msg("<a@x>", NULL, NULL, 500);
    msg("<b@x>", "<a@x>", NULL, 900);
    msg("<c@x>", "<a@x>", NULL, 700);
    msg("<z@x>", NULL, NULL, 300);
    msg("<y@x>", NULL, NULL, 600);
    msg("<w@x>", "<y@x>", NULL, 100);
    CHECK_STR(order(), "y0 w1 z0 a0 c1 b1");
    /* Equal dates keep the input order; no Date: uses the delivery. */
    reset();
    msg("<a@x>", NULL, NULL, 100);
    msg("<b@x>", NULL, NULL, 100);
    msg("<c@x>", NULL, NULL, 0);
    envs[2].has_date = false;
    envs[2].received = 50;
    CHECK_STR(order(), "c0 a0 b0");
}

static void test_subset_and_empty(void)
{
    size_t idx[2] = { 2, 0 };
    unsigned depth[2] = { 9, 9 };
    struct mail_error err;

    reset();
    msg("<a@x>", NULL, NULL, 100);
    msg("<b@x>", "<a@x>", NULL, 200);
    msg("<c@x>", "<a@x> <b@x>", NULL, 300);
    /* Only a and c: b is not in the set, so c hangs under a. */
    CHECK(mail_thread(&list, idx, depth, 2, &err) == 0);
    CHECK(idx[0] == 0 && idx[1] == 2);
    CHECK(depth[0] == 0 && depth[1] == 1);
    CHECK(mail_thread(&list, idx, depth, 0, &err) == 0);
}

/* A long chain: no recursion, so no stack limit. */
static void test_deep(void)
{
    enum { N = 100000 };
    struct mail_envelope *v = calloc(N, sizeof *v);
    char (*ids)[24] = calloc(N, sizeof *ids);
    size_t *idx = calloc(N, sizeof *idx);
    unsigned *depth = calloc(N, sizeof *depth);
    struct mail_envelope_list l = { v, N, N, NULL };
    struct mail_error err;
    bool ok = true;

    if (!v || !ids || !idx || !depth) {
        CHECK(!"out of memory");
        return;
    }
    for (size_t i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "<%zu@x>", i);
        v[i].message_id = ids[i];
        v[i].in_reply_to = i ? ids[i - 1] : NULL;
        v[i].date = (time_t)i;
        v[i].has_date = true;
        idx[i] = N - 1 - i;
    }
    CHECK(mail_thread(&l, idx, depth, N, &err) == 0);
    for (size_t i = 0; i < N; i++)
        if (idx[i] != i || depth[i] != i)
            ok = false;
    CHECK(ok);
    free(v);
    free(ids);
    free(idx);
    free(depth);
}

/* ---- against a naive threading (linear searches, links refused one by
 * one, recursion), on random sets ---- */

enum { RN = 400 };

struct ref_set {
    const struct mail_envelope *e[RN];
    size_t n;
    long parent[RN];
    time_t first[RN];
    size_t out[RN];
    unsigned depth[RN];
    size_t nout;
};

static bool ref_first_id(const char *s, const char **start, size_t *len)
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

static long ref_pos(const struct ref_set *r, const char *id, size_t len)
{
    for (size_t j = 0; j < r->n; j++) {
        const char *s;
        size_t l;

        if (ref_first_id(r->e[j]->message_id, &s, &l) && l == len &&
            memcmp(s, id, len) == 0)
            return (long)j;
    }
    return -1;
}

static time_t ref_when(const struct mail_envelope *e)
{
    return e->has_date ? e->date : e->received;
}

static long ref_parent(const struct ref_set *r, size_t i)
{
    const char *refs = r->e[i]->references, *s;
    size_t len;
    long best = -1, p;

    /* every "<...>" of References, left to right: the last one here */
    for (const char *a = refs ? strchr(refs, '<') : NULL; a;
         a = strchr(a + 1, '<')) {
        const char *z = strchr(a, '>');

        if (!z)
            break;
        /* a '<' inside an id: the id starts at the last '<' before z */
        if (memchr(a + 1, '<', (size_t)(z - a - 1)))
            continue;
        p = ref_pos(r, a, (size_t)(z - a + 1));
        if (p >= 0 && (size_t)p != i)
            best = p;
    }
    if (best >= 0)
        return best;
    if (ref_first_id(r->e[i]->in_reply_to, &s, &len)) {
        p = ref_pos(r, s, len);
        if (p >= 0 && (size_t)p != i)
            return p;
    }
    return -1;
}

static int ref_cmp_kid(const void *pa, const void *pb, void *arg)
{
    const struct ref_set *r = arg;
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    time_t fa = r->first[a], fb = r->first[b];
    time_t wa = ref_when(r->e[a]), wb = ref_when(r->e[b]);

    if (fa != fb)
        return fa < fb ? -1 : 1;
    if (wa != wb)
        return wa < wb ? -1 : 1;
    return a < b ? -1 : a > b;
}

static time_t ref_first(struct ref_set *r, size_t i)
{
    time_t m = ref_when(r->e[i]);

    for (size_t j = 0; j < r->n; j++)
        if (r->parent[j] == (long)i) {
            time_t t = ref_first(r, j);

            if (t < m)
                m = t;
        }
    return m;
}

static void ref_walk(struct ref_set *r, size_t i, unsigned d)
{
    size_t kids[RN], nk = 0;

    r->out[r->nout] = i;
    r->depth[r->nout++] = d;
    for (size_t j = 0; j < r->n; j++)
        if (r->parent[j] == (long)i) {
            r->first[j] = 0;   /* children go by their own date */
            kids[nk++] = j;
        }
    qsort_r(kids, nk, sizeof *kids, ref_cmp_kid, r);
    for (size_t k = 0; k < nk; k++)
        ref_walk(r, kids[k], d + 1);
}

static void ref_thread(struct ref_set *r)
{
    size_t roots[RN], nr = 0;

    for (size_t i = 0; i < r->n; i++)
        r->parent[i] = -1;
    for (size_t i = 0; i < r->n; i++) {
        long p = ref_parent(r, i);

        /* links taken in input order; one that would close a loop is
         * refused */
        for (long q = p; q >= 0; q = r->parent[q])
            if (q == (long)i) {
                p = -1;
                break;
            }
        r->parent[i] = p;
    }
    for (size_t i = 0; i < r->n; i++)
        if (r->parent[i] < 0) {
            r->first[i] = ref_first(r, i);
            roots[nr++] = i;
        }
    qsort_r(roots, nr, sizeof *roots, ref_cmp_kid, r);
    r->nout = 0;
    for (size_t k = 0; k < nr; k++)
        ref_walk(r, roots[k], 0);
}

static unsigned long rnd_state = 99;

static unsigned long rnd(unsigned long m)
{
    rnd_state = rnd_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned long)(rnd_state >> 33) % m;
}

static void test_random_sets(void)
{
    static struct mail_envelope v[RN];
    static char ids[RN][48], refs[RN][200], irt[RN][48];
    /* ids of every length around the hash's 8-byte words */
    static const char *const dom[] = { "@x", ".0123456789abcdef@example.org",
                                       ".abc@ex.org", "@xyz" };
    static struct ref_set r;
    struct mail_envelope_list l = { v, RN, RN, NULL };
    static const time_t whens[] = { 0, 5, 5, -7, 100, (time_t)1 << 40 };

    for (int round = 0; round < 20; round++) {
        size_t idx[RN], n = round % 2 ? RN / 3 : RN;
        unsigned depth[RN];
        struct mail_error err;
        bool same = true;
        const char *d = dom[round % 4];

        for (size_t i = 0; i < RN; i++) {
            struct mail_envelope *e = &v[i];
            size_t len = 0;

            memset(e, 0, sizeof *e);
            /* ids from a small pool: the same id twice happens */
            snprintf(ids[i], sizeof ids[i], "<%lu%s>", rnd(RN * 3 / 4), d);
            e->message_id = rnd(30) ? ids[i] : NULL;
            refs[i][0] = '\0';
            for (unsigned long k = rnd(4); k > 0; k--)
                len += (size_t)snprintf(refs[i] + len, sizeof refs[i] - len,
                                        "%s<%lu%s>", len ? " " : "",
                                        rnd(RN), d);
            e->references = rnd(3) ? refs[i] : NULL;
            snprintf(irt[i], sizeof irt[i], rnd(4) ? "<%lu%s>" : "%lu%s",
                     rnd(RN), d);
            e->in_reply_to = rnd(2) ? irt[i] : NULL;
            e->has_date = rnd(8) != 0;
            e->date = whens[rnd(sizeof whens / sizeof whens[0])];
            e->received = (time_t)rnd(3);
        }
        for (size_t i = 0; i < RN; i++)
            idx[i] = i;
        for (size_t i = RN - 1; i > 0 && round % 4 >= 2; i--) {
            size_t j = rnd(i + 1), t = idx[i];

            idx[i] = idx[j];
            idx[j] = t;
        }
        r.n = n;
        for (size_t i = 0; i < n; i++)
            r.e[i] = &v[idx[i]];
        ref_thread(&r);
        CHECK(mail_thread(&l, idx, depth, n, &err) == 0);
        CHECK(r.nout == n);
        for (size_t k = 0; k < n && same; k++)
            same = idx[k] == (size_t)(r.e[r.out[k]] - v) &&
                   depth[k] == r.depth[k];
        CHECK(same);
    }
}

int main(void)
{
    RUN(test_replies);
    RUN(test_missing_parent);
    RUN(test_loops);
    RUN(test_duplicate_id);
    RUN(test_dates);
    RUN(test_subset_and_empty);
    RUN(test_deep);
    RUN(test_random_sets);
    return test_done();
}
