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

int main(void)
{
    RUN(test_replies);
    RUN(test_missing_parent);
    RUN(test_loops);
    RUN(test_duplicate_id);
    RUN(test_dates);
    RUN(test_subset_and_empty);
    RUN(test_deep);
    return test_done();
}
