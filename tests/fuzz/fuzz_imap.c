/*
 * fuzz_imap.c - libFuzzer target for the IMAP response parser, the
 * BODYSTRUCTURE reader and modified UTF-7.
 *
 * The input is server output.  It is parsed twice, whole and in pieces
 * whose size comes from the first byte; both runs must agree on the number
 * of responses and streamed bytes.  Every FETCH BODYSTRUCTURE is read, and
 * every LIST name is decoded from modified UTF-7 and, when that works,
 * encoded and decoded again to the same text.  The sequence sets of
 * ESEARCH ALL and VANISHED are expanded (bounded) and must come out
 * ascending without duplicates; VANISHED is also read as the listing
 * reads it (mail_imap_vanished, mail_imap_set_ranges: ranges, never
 * expanded).  Every untagged STATUS is read as NOTIFY (RFC 5465) sends it
 * for a mailbox that is not selected.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/imap.h"
#include "mail/imap_notify.h"
#include "mail/imap_parse.h"
#include "mail/utf7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_sink(void *ctx, const char *d, size_t n,
                      struct mail_error *err)
{
    (void)d;
    (void)err;
    if (n > MAIL_IMAP_CHUNK)
        abort();
    *(uint64_t *)ctx += n;
    return 0;
}

static int route(void *arg, const struct mail_imap_resp *resp,
                 const struct mail_imap_node *list,
                 const struct mail_imap_node *prev, uint64_t size,
                 mail_sink_fn *sink, void **sink_ctx, struct mail_error *err)
{
    (void)resp;
    (void)list;
    (void)err;
    if (size > 64 || (prev && prev->type == MAIL_IMAP_ATOM &&
                      mail_strncasecmp(prev->data, "BODY[", 5) == 0)) {
        *sink = count_sink;
        *sink_ctx = arg;
    }
    return 0;
}

static void check_set(const char *set)
{
    struct mail_imap_uids u = { NULL, 0, 0 };
    struct mail_error err;

    if (mail_imap_seqset_parse(set, &u, 100000, &err) == 0)
        for (size_t i = 1; i < u.n; i++)
            if (u.v[i - 1] >= u.v[i])
                abort();
    if (u.n > 100000)
        abort();
    mail_imap_uids_release(&u);
}

struct range_sum {
    uint64_t total;
    size_t ranges;
    bool ordered;                /* every range a <= b */
};

static void sum_range(void *arg, uint32_t a, uint32_t b)
{
    struct range_sum *s = arg;

    if (a > b || a == 0)
        s->ordered = false;
    s->total += (uint64_t)b - a + 1;
    s->ranges++;
}

static void check_resp(const struct mail_imap_resp *r)
{
    const struct mail_imap_node *n;
    bool found;
    const char *all = mail_imap_esearch_all(r, &found);

    if (all)
        check_set(all);
    if (r->type == MAIL_IMAP_T_VANISHED)
        for (n = r->args.child; n; n = n->next)
            if (n->type == MAIL_IMAP_ATOM)
                check_set(n->data);
    {
        /* VANISHED (EARLIER) as the listing reads it: ranges, never
         * expanded; a set the walk takes is one the bounded expansion
         * takes too when it is small */
        bool earlier;
        const char *set = mail_imap_vanished(r, &earlier);
        struct range_sum sum = { 0, 0, true };
        struct mail_error err;

        if (set && mail_imap_set_ranges(set, sum_range, &sum, &err) == 0) {
            struct mail_imap_uids u = { NULL, 0, 0 };

            if (!sum.ordered || !sum.ranges)
                abort();
            if (sum.total <= 1000 &&
                mail_imap_seqset_parse(set, &u, 100000, &err) < 0)
                abort();
            if (u.n > sum.total)
                abort();
            mail_imap_uids_release(&u);
        }
    }

    if (r->type == MAIL_IMAP_T_STATUS_MBX) {
        struct mail_imap_idle_status st;

        /* The name points into the response: its first argument. */
        if (mail_imap_notify_status(r, &st) == 0 &&
            st.mailbox != mail_imap_node_str(mail_imap_node_at(&r->args, 0)))
            abort();
        if (st.mailbox)
            (void)mail_imap_mailbox_is(st.mailbox, "Work");
    }
    if (r->type == MAIL_IMAP_T_FETCH) {
        struct mail_error err;
        struct mail_imap_bodypart *b =
            mail_imap_bodystructure(mail_imap_fetch_item(r, "BODYSTRUCTURE"),
                                    &err);
        mail_imap_bodypart_free(b);
    }
    if (r->type == MAIL_IMAP_T_LIST && (n = mail_imap_node_at(&r->args, 2)) &&
        mail_imap_node_str(n)) {
        struct mail_buf a = MAIL_BUF_INIT, b = MAIL_BUF_INIT;

        if (mail_mutf7_decode(&a, n->data, (size_t)n->len) == 0) {
            struct mail_buf c = MAIL_BUF_INIT;

            /* Non-canonical names ("&AOk-&AOk-") decode but do not
             * encode back to the same bytes (imap.c then keeps the
             * server's bytes); the canonical form must round-trip. */
            if (mail_mutf7_encode(&b, a.data ? a.data : "", a.len) < 0 ||
                mail_mutf7_decode(&c, b.data ? b.data : "", b.len) < 0 ||
                c.len != a.len || memcmp(c.data ? c.data : "",
                                         a.data ? a.data : "", a.len))
                abort();
            mail_buf_release(&c);
        }
        mail_buf_release(&a);
        mail_buf_release(&b);
    }
}

static void parse(const uint8_t *data, size_t size, size_t step,
                  size_t *nresp, uint64_t *streamed)
{
    struct mail_imap_parser p;
    struct mail_imap_limits lim;
    struct mail_error err;
    size_t off = 0;

    mail_imap_limits_default(&lim);
    lim.literal_max = 1 << 20;
    lim.inline_literal_max = 4096;
    mail_imap_parser_init(&p, &lim, route, streamed);
    *nresp = 0;
    while (off < size) {
        size_t n = size - off < step ? size - off : step, used;
        int r = mail_imap_parser_feed(&p, (const char *)data + off, n, &used,
                                      &err);

        if (r < 0)
            break;
        off += used;
        if (r == 1) {
            ++*nresp;
            check_resp(&p.resp);
        }
    }
    mail_imap_parser_release(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n1, n2;
    uint64_t s1 = 0, s2 = 0;

    if (size == 0)
        return 0;
    parse(data + 1, size - 1, size, &n1, &s1);
    parse(data + 1, size - 1, (size_t)data[0] % 17 + 1, &n2, &s2);
    if (n1 != n2 || s1 != s2)
        abort();
    return 0;
}
