/* test_sort.c - the orders of a listing (mail/sort.h). */
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

int main(void)
{
    RUN(test_keys);
    RUN(test_subject_base);
    RUN(test_orders);
    return test_done();
}
