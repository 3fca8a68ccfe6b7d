/*
 * test_imap_envelope.c - ENVELOPE and BODYSTRUCTURE of FETCH responses
 * (RFC 3501 7.4.2) into header-form strings and attachment counts.
 */
#include <stdlib.h>
#include <string.h>

#include "mail/address.h"
#include "mail/imap_envelope.h"
#include "mail/rfc2047.h"
#include "test.h"

/* Parse one response from text and return the value of item `name`. */
struct parsed {
    struct mail_imap_parser p;
    const struct mail_imap_node *item;
};

static int parse(struct parsed *ps, const char *text, const char *name)
{
    struct mail_error err;
    size_t used = 0;
    int r;

    mail_imap_parser_init(&ps->p, NULL, NULL, NULL);
    r = mail_imap_parser_feed(&ps->p, text, strlen(text), &used, &err);
    ps->item = r == 1 ? mail_imap_fetch_item(&ps->p.resp, name) : NULL;
    return r;
}

static void done(struct parsed *ps)
{
    mail_imap_parser_release(&ps->p);
}

static void test_envelope_basic(void)
{
    struct parsed ps;
    struct mail_imap_envelope e;
    struct mail_error err;

    CHECK(parse(&ps,
        "* 1 FETCH (UID 7 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700\" "
        "\"IMAP4rev1 WG mtg summary and minutes\" "
        "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
        "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
        "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
        "((NIL NIL \"imap\" \"cac.washington.edu\")) "
        "((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")"
        "(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL "
        "\"<B27397-0100000@cac.washington.edu>\"))\r\n", "ENVELOPE") == 1);
    CHECK(mail_imap_envelope_parse(ps.item, &e, &err) == 0);
    CHECK_STR(e.date, "Wed, 17 Jul 1996 02:23:25 -0700");
    CHECK_STR(e.subject, "IMAP4rev1 WG mtg summary and minutes");
    CHECK_STR(e.from, "Terry Gray <gray@cac.washington.edu>");
    CHECK_STR(e.to, "imap@cac.washington.edu");
    CHECK_STR(e.cc, "minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>");
    CHECK(e.bcc == NULL);
    CHECK(e.in_reply_to == NULL);
    CHECK_STR(e.message_id, "<B27397-0100000@cac.washington.edu>");
    mail_imap_envelope_release(&e);
    done(&ps);
}

/* Literals anywhere a string may be, NIL fields, a name needing quotes,
 * an encoded word kept for the decoder, CR LF inside a literal. */
static void test_envelope_literals_and_quoting(void)
{
    struct parsed ps;
    struct mail_imap_envelope e;
    struct mail_error err;
    struct mail_addrlist l = MAIL_ADDRLIST_INIT;
    struct mail_buf d = MAIL_BUF_INIT;

    CHECK(parse(&ps,
        "* 2 FETCH (ENVELOPE (NIL {12}\r\nline1\r\nline2 "
        "(({13}\r\nDoe, \"J\" \\ Jr NIL \"j.doe\" \"example.org\")"
        "(\"=?utf-8?q?J=C3=BCrgen?=\" NIL {5}\r\nj\"rgn \"example.de\")) "
        "NIL NIL NIL NIL NIL \"<a@b>\" NIL) UID 9)\r\n", "ENVELOPE") == 1);
    CHECK(mail_imap_envelope_parse(ps.item, &e, &err) == 0);
    CHECK(e.date == NULL);
    CHECK_STR(e.subject, "line1  line2");
    CHECK_STR(e.from, "\"Doe, \\\"J\\\" \\\\ Jr\" <j.doe@example.org>, "
              "=?utf-8?q?J=C3=BCrgen?= <\"j\\\"rgn\"@example.de>");
    CHECK(e.to == NULL && e.message_id == NULL);
    CHECK_STR(e.in_reply_to, "<a@b>");
    /* The rebuilt header parses back to the same names and addresses. */
    CHECK(mail_addrlist_parse(&l, e.from, &err) == 0);
    CHECK(l.n == 2);
    if (l.n == 2) {
        CHECK_STR(l.v[0].name, "Doe, \"J\" \\ Jr");
        CHECK_STR(l.v[0].addr, "j.doe@example.org");
        CHECK_STR(l.v[1].name, "J\xc3\xbcrgen");
    }
    mail_addrlist_release(&l);
    mail_buf_release(&d);
    mail_imap_envelope_release(&e);
    done(&ps);
}

static void test_envelope_groups(void)
{
    struct parsed ps;
    struct mail_imap_envelope e;
    struct mail_error err;

    CHECK(parse(&ps,
        "* 3 FETCH (ENVELOPE (NIL NIL NIL NIL NIL "
        "((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) "
        "((NIL NIL \"team\" NIL)(\"A\" NIL \"a\" \"x.org\")"
        "(NIL NIL \"b\" \"x.org\")(NIL NIL NIL NIL)(NIL NIL \"c\" \"y.org\")) "
        "NIL NIL NIL))\r\n", "ENVELOPE") == 1);
    CHECK(mail_imap_envelope_parse(ps.item, &e, &err) == 0);
    CHECK_STR(e.to, "undisclosed-recipients:;");
    CHECK_STR(e.cc, "team: A <a@x.org>, b@x.org;, c@y.org");
    CHECK(e.from == NULL);
    mail_imap_envelope_release(&e);
    done(&ps);
}

static void test_envelope_malformed(void)
{
    struct parsed ps;
    struct mail_imap_envelope e;
    struct mail_error err;

    /* Too short: refused. */
    CHECK(parse(&ps, "* 4 FETCH (ENVELOPE (NIL NIL))\r\n", "ENVELOPE") == 1);
    CHECK(mail_imap_envelope_parse(ps.item, &e, &err) == -1);
    CHECK(err.kind == MAIL_ERR_PROTOCOL);
    done(&ps);
    CHECK(mail_imap_envelope_parse(NULL, &e, &err) == -1);
    /* A broken address (no mailbox, a non-list) is skipped, the rest
     * kept; an address list that is an atom is none. */
    CHECK(parse(&ps,
        "* 5 FETCH (ENVELOPE (NIL \"s\" (FOO (\"x\" NIL NIL \"h\")"
        "(NIL NIL \"ok\" \"h.org\")) X NIL NIL NIL NIL NIL NIL))\r\n",
        "ENVELOPE") == 1);
    CHECK(mail_imap_envelope_parse(ps.item, &e, &err) == 0);
    CHECK_STR(e.from, "ok@h.org");
    CHECK(e.sender == NULL);
    mail_imap_envelope_release(&e);
    done(&ps);
}

static unsigned summary(const char *resp, char **ct, int *rc)
{
    struct parsed ps;
    struct mail_error err;
    unsigned n = 99;

    *ct = NULL;
    *rc = -2;
    if (parse(&ps, resp, "BODYSTRUCTURE") == 1)
        *rc = mail_imap_body_summary(ps.item, &n, ct, &err);
    done(&ps);
    return n;
}

static void test_bodystructure(void)
{
    char *ct;
    int rc;

    /* One text part: no attachment. */
    CHECK(summary("* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" "
                  "(\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))\r\n",
                  &ct, &rc) == 0);
    CHECK(rc == 0);
    CHECK_STR(ct, "text/plain");
    free(ct);
    /* A single PDF as the whole message, by its name: one. */
    CHECK(summary("* 1 FETCH (BODYSTRUCTURE (\"application\" \"pdf\" "
                  "(\"name\" \"a.pdf\") NIL NIL \"base64\" 100 NIL NIL "
                  "NIL NIL))\r\n", &ct, &rc) == 1);
    free(ct);
    /* multipart/mixed: text + attachment (disposition, extension data) +
     * an inline image + alternative inside. */
    CHECK(summary("* 1 FETCH (BODYSTRUCTURE ((\"text\" \"plain\" "
                  "(\"charset\" \"utf-8\") NIL NIL \"7bit\" 10 1 NIL NIL "
                  "NIL NIL)((\"text\" \"plain\" NIL NIL NIL \"7bit\" 5 1)"
                  "(\"text\" \"html\" NIL NIL NIL \"7bit\" 9 1) "
                  "\"alternative\" (\"boundary\" \"b2\") NIL NIL)"
                  "(\"application\" \"octet-stream\" NIL NIL NIL \"base64\" "
                  "4 NIL (\"attachment\" (\"filename*\" {5}\r\nx.bin)) NIL "
                  "NIL)(\"image\" \"png\" NIL \"<c@d>\" NIL \"base64\" 8 NIL "
                  "(\"inline\" NIL) NIL NIL) \"MIXED\" (\"boundary\" \"b1\") "
                  "NIL NIL NIL))\r\n", &ct, &rc) == 2);
    CHECK(rc == 0);
    CHECK_STR(ct, "multipart/mixed");
    free(ct);
    /* message/rfc822 counts, and its own attachment too. */
    CHECK(summary("* 1 FETCH (BODYSTRUCTURE ((\"text\" \"plain\" NIL NIL "
                  "NIL \"7bit\" 1 1)(\"message\" \"rfc822\" NIL NIL NIL "
                  "\"7bit\" 100 (NIL \"s\" NIL NIL NIL NIL NIL NIL NIL NIL) "
                  "((\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1)(\"image\" "
                  "\"gif\" NIL NIL NIL \"base64\" 2 NIL) \"mixed\") 5) "
                  "\"mixed\"))\r\n", &ct, &rc) == 2);
    free(ct);
    /* Malformed: a part that is not a list. */
    summary("* 1 FETCH (BODYSTRUCTURE (\"text\" \"plain\" NIL NIL NIL "
            "\"7bit\" 1 1) )\r\n", &ct, &rc);
    free(ct);
    CHECK(rc == 0);
    summary("* 1 FETCH (BODYSTRUCTURE NIL)\r\n", &ct, &rc);
    CHECK(rc == -1);
    free(ct);
}

/* Nesting deeper than the bound is refused, not followed. */
static void test_bodystructure_deep(void)
{
    struct mail_buf b = MAIL_BUF_INIT;
    struct mail_imap_limits lim;
    struct mail_imap_parser p;
    struct mail_error err;
    size_t used;
    unsigned n = 0;

    mail_buf_addstr(&b, "* 1 FETCH (BODYSTRUCTURE ");
    for (int i = 0; i < 40; i++)
        mail_buf_addch(&b, '(');
    mail_buf_addstr(&b, "\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1");
    for (int i = 0; i < 40; i++)
        mail_buf_addstr(&b, ") \"mixed\"");
    mail_buf_addstr(&b, ")\r\n");
    mail_imap_limits_default(&lim);
    lim.depth_max = 60;
    mail_imap_parser_init(&p, &lim, NULL, NULL);
    CHECK(mail_imap_parser_feed(&p, b.data, b.len, &used, &err) == 1);
    CHECK(mail_imap_body_summary(mail_imap_fetch_item(&p.resp,
                                                      "BODYSTRUCTURE"),
                                 &n, NULL, &err) == -1);
    CHECK(err.kind == MAIL_ERR_PROTOCOL);
    mail_imap_parser_release(&p);
    mail_buf_release(&b);
}

int main(void)
{
    RUN(test_envelope_basic);
    RUN(test_envelope_literals_and_quoting);
    RUN(test_envelope_groups);
    RUN(test_envelope_malformed);
    RUN(test_bodystructure);
    RUN(test_bodystructure_deep);
    return test_done();
}
