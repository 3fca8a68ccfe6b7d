/* test_sort.c - the orders of a listing (mail/sort.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/sort.h"
#include "test.h"

static void env(struct mail_envelope *e, const char *from, const char *subj,
                time_t date, uint64_t size)
{
    memset(e, 0, sizeof *e);
    e->from = (char *)from;
    e->subject = (char *)subj;
    e->date = date;
    e->has_date = date != 0;
    e->received = 1000;
    e->size = size;
}

static void test_keys(void)
{
    enum mail_sort_key k = MAIL_SORT_NONE;

    CHECK(mail_sort_key_parse("date", &k) == 0 && k == MAIL_SORT_DATE);
    CHECK(mail_sort_key_parse("from", &k) == 0 && k == MAIL_SORT_FROM);
    CHECK(mail_sort_key_parse("subject", &k) == 0 && k == MAIL_SORT_SUBJECT);
    CHECK(mail_sort_key_parse("size", &k) == 0 && k == MAIL_SORT_SIZE);
    CHECK(mail_sort_key_parse("Size", &k) == -1);
    CHECK(mail_sort_key_parse("", &k) == -1);
}

static void test_subject_base(void)
{
    CHECK_STR(mail_subject_base("Re: hi"), "hi");
    CHECK_STR(mail_subject_base("RE: Fwd: AW: hi"), "hi");
    CHECK_STR(mail_subject_base("Re[2]: hi"), "hi");
    CHECK_STR(mail_subject_base("  fw:hi"), "hi");
    CHECK_STR(mail_subject_base("Regarding: hi"), "Regarding: hi");
    CHECK_STR(mail_subject_base("Re[x]: hi"), "Re[x]: hi");
    CHECK_STR(mail_subject_base("Re"), "Re");
    CHECK_STR(mail_subject_base(""), "");
}

static void test_orders(void)
{
    struct mail_envelope v[5];
    struct mail_envelope_list l = { v, 5, 5, NULL };
    struct mail_error err;
    size_t idx[5];

    env(&v[0], "Zed <z@x.test>", "=?utf-8?q?=C3=89t=C3=A9?=", 300, 50);
    env(&v[1], "alice@x.test", "Re: apples", 100, 500);
    env(&v[2], "\"Bob\" <b@x.test>", "apples", 200, 5);
    env(&v[3], "bob <b2@x.test>", "Fwd: Bananas", 0, 5);   /* no Date */
    env(&v[4], NULL, NULL, 100, 7);

    for (size_t i = 0; i < 5; i++)
        idx[i] = i;
    CHECK(mail_sort(&l, idx, 5, MAIL_SORT_DATE, false, &err) == 0);
    /* 4 and 1 tie at 100: position decides; 3 has no Date: delivery */
    CHECK(idx[0] == 1 && idx[1] == 4 && idx[2] == 2 && idx[3] == 0 &&
          idx[4] == 3);

    for (size_t i = 0; i < 5; i++)
        idx[i] = i;
    CHECK(mail_sort(&l, idx, 5, MAIL_SORT_FROM, false, &err) == 0);
    /* "" < alice@x.test < Bob = bob (by date: 200 < delivery 1000) < Zed */
    CHECK(idx[0] == 4 && idx[1] == 1 && idx[2] == 2 && idx[3] == 3 &&
          idx[4] == 0);

    for (size_t i = 0; i < 5; i++)
        idx[i] = i;
    CHECK(mail_sort(&l, idx, 5, MAIL_SORT_SUBJECT, false, &err) == 0);
    /* "" < apples (1 at 100, 2 at 200) < Bananas < Été (decoded) */
    CHECK(idx[0] == 4 && idx[1] == 1 && idx[2] == 2 && idx[3] == 3 &&
          idx[4] == 0);

    for (size_t i = 0; i < 5; i++)
        idx[i] = i;
    CHECK(mail_sort(&l, idx, 5, MAIL_SORT_SIZE, true, &err) == 0);
    /* reversed: 500, 50, 7, then the two of 5 (2 at 200 before 3 at
     * 1000, reversed) */
    CHECK(idx[0] == 1 && idx[1] == 0 && idx[2] == 4 && idx[3] == 3 &&
          idx[4] == 2);

    for (size_t i = 0; i < 5; i++)
        idx[i] = i;
    CHECK(mail_sort(&l, idx, 5, MAIL_SORT_NONE, true, &err) == 0);
    CHECK(idx[0] == 4 && idx[4] == 0);

    /* a subset: only the positions given are ordered */
    idx[0] = 3;
    idx[1] = 0;
    CHECK(mail_sort(&l, idx, 2, MAIL_SORT_DATE, false, &err) == 0);
    CHECK(idx[0] == 0 && idx[1] == 3);
}

/* ---- against a plain comparison sort (the order mail_sort promises) ---- */

/* The texts of the random listings: ties without case, equal 16-byte
 * prefixes of longer texts, a text of exactly 16 bytes and one byte
 * more, non-ASCII bytes (compared as they are), reply prefixes, empty. */
static const char *const texts[] = {
    "Bob", "bob", "BOB", "", "Alice", "alice@x.test", "A", "a", "\xc3\x89t\xc3\xa9",
    "\xc3\xa9t\xc3\xa9", "exactly sixteen!", "exactly sixteen!x",
    "Exactly Sixteen!", "exactly sixteen?", "exactly sixteen",
    "Long common prefix that goes on and on: one",
    "long common prefix that goes on and on: one",
    "Long common prefix that goes on and on: two",
    "Long common prefix that goes on and on", "Re: Bob", "Fwd: Re: bob",
    "AW: exactly sixteen!x", "Re[2]: Long common prefix that goes on and on: two",
    "\xe5\xb1\xb1\xe7\x94\xb0", "zzz", "Zzz", "~", "0", "[PATCH v2] x",
};
#define NTEXTS (sizeof texts / sizeof texts[0])

struct ref_ctx {
    const struct mail_envelope *v;
    enum mail_sort_key key;
};

static int ref_cmp_text(const char *a, const char *b)
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

static const char *ref_text(const struct mail_envelope *e,
                            enum mail_sort_key key)
{
    const char *t = key == MAIL_SORT_FROM ? e->from_display
                                          : e->subject_display;

    t = t ? t : "";
    return key == MAIL_SORT_SUBJECT ? mail_subject_base(t) : t;
}

static int ref_cmp(const void *pa, const void *pb, void *arg)
{
    const struct ref_ctx *c = arg;
    size_t ia = *(const size_t *)pa, ib = *(const size_t *)pb;
    const struct mail_envelope *a = &c->v[ia], *b = &c->v[ib];
    time_t wa = mail_envelope_when(a), wb = mail_envelope_when(b);
    int r = 0;

    if (c->key == MAIL_SORT_FROM || c->key == MAIL_SORT_SUBJECT)
        r = ref_cmp_text(ref_text(a, c->key), ref_text(b, c->key));
    else if (c->key == MAIL_SORT_SIZE)
        r = a->size < b->size ? -1 : a->size > b->size;
    if (r == 0 && wa != wb)
        r = wa < wb ? -1 : 1;
    if (r == 0)
        r = ia < ib ? -1 : ia > ib;
    return r;
}

static unsigned long rnd_state = 12345;

static unsigned long rnd(unsigned long m)
{
    rnd_state = rnd_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned long)(rnd_state >> 33) % m;
}

static void test_random_orders(void)
{
    enum { N = 3000 };
    static struct mail_envelope v[N];
    static size_t idx[N], want[N];
    struct mail_envelope_list l = { v, N, N, NULL };
    static const enum mail_sort_key keys[] = {
        MAIL_SORT_DATE, MAIL_SORT_FROM, MAIL_SORT_SUBJECT, MAIL_SORT_SIZE,
    };
    static const time_t whens[] = {
        0, 1, -1, 1000, 1000, 1700000000, (time_t)1 << 40, -((time_t)1 << 40),
        (time_t)INT64_MAX, (time_t)INT64_MIN,
    };
    struct mail_error err;

    for (size_t i = 0; i < N; i++) {
        struct mail_envelope *e = &v[i];

        memset(e, 0, sizeof *e);
        e->borrowed = true;
        e->from_display = rnd(20) ? texts[rnd(NTEXTS)] : NULL;
        e->subject_display = rnd(20) ? texts[rnd(NTEXTS)] : NULL;
        e->has_date = rnd(10) != 0;
        e->date = rnd(3) ? whens[rnd(sizeof whens / sizeof whens[0])]
                         : (time_t)rnd(100000);
        e->received = rnd(4) ? 1000 : (time_t)rnd(5);
        e->size = rnd(3) ? rnd(10) : (uint64_t)rnd(1000000) << rnd(40);
    }
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        for (int shuffled = 0; shuffled < 2; shuffled++)
            for (int rev = 0; rev < 2; rev++) {
                struct ref_ctx c = { v, keys[k] };
                size_t n = shuffled ? N / 2 : N;
                int same = 1;

                for (size_t i = 0; i < N; i++)
                    idx[i] = i;
                if (shuffled)   /* a subset, in no order */
                    for (size_t i = N - 1; i > 0; i--) {
                        size_t j = rnd(i + 1), t = idx[i];

                        idx[i] = idx[j];
                        idx[j] = t;
                    }
                memcpy(want, idx, n * sizeof *idx);
                qsort_r(want, n, sizeof *want, ref_cmp, &c);
                if (rev)
                    for (size_t i = 0; i < n / 2; i++) {
                        size_t t = want[i];

                        want[i] = want[n - 1 - i];
                        want[n - 1 - i] = t;
                    }
                CHECK(mail_sort(&l, idx, n, keys[k], rev != 0, &err) == 0);
                for (size_t i = 0; i < n && same; i++)
                    same = idx[i] == want[i];
                CHECK(same);
            }
}

/* Ties of texts longer than 16 bytes that differ only in case go by
 * date, then position; a longer text after its 16-byte prefix. */
static void test_long_ties(void)
{
    struct mail_envelope v[5];
    struct mail_envelope_list l = { v, 5, 5, NULL };
    struct mail_error err;
    size_t idx[5] = { 0, 1, 2, 3, 4 };

    memset(v, 0, sizeof v);
    for (size_t i = 0; i < 5; i++) {
        v[i].borrowed = true;
        v[i].has_date = true;
    }
    v[0].from_display = "Long Common Prefix Sender";
    v[0].date = 30;
    v[1].from_display = "long common prefix sender";
    v[1].date = 10;
    v[2].from_display = "LONG COMMON PREFIX SENDEr";
    v[2].date = 30;
    v[3].from_display = "Long Common Pref";
    v[3].date = 99;
    v[4].from_display = "Long Common Prefix Sendeq";
    v[4].date = 0;
    CHECK(mail_sort(&l, idx, 5, MAIL_SORT_FROM, false, &err) == 0);
    CHECK(idx[0] == 3 && idx[1] == 4 && idx[2] == 1 && idx[3] == 0 &&
          idx[4] == 2);
    /* reversed: the whole order turned around */
    for (size_t i = 0; i < 5; i++)
        idx[i] = i;
    CHECK(mail_sort(&l, idx, 5, MAIL_SORT_FROM, true, &err) == 0);
    CHECK(idx[0] == 2 && idx[1] == 0 && idx[2] == 1 && idx[3] == 4 &&
          idx[4] == 3);
}

int main(void)
{
    RUN(test_keys);
    RUN(test_subject_base);
    RUN(test_orders);
    RUN(test_random_orders);
    RUN(test_long_ties);
    return test_done();
}
