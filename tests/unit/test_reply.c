/*
 * test_reply.c - reply and forward drafts: recipients (Reply-To munged by
 * a list, Mail-Followup-To, List-Post, own addresses and alternates,
 * duplicates, groups, encoded names, your own message), subjects without
 * stacking, In-Reply-To and References, attribution, quoting, drafts
 * edited and read back, forward as an attachment.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail/header.h"
#include "mail/mime.h"
#include "mail/render.h"
#include "mail/reply.h"
#include "test.h"

static struct mail_identities *me(void)
{
    struct mail_error err;

    return mail_identities_new("Alice Example <alice@example.com>",
                               "alice@old.example ^ali\\+.*@example\\.com$",
                               &err);
}

/* Recipients of a reply to the header text hdr. */
static void recips(const char *hdr, enum mail_reply_mode mode, char **to,
                   char **cc, struct mail_error *err)
{
    struct mail_header h = MAIL_HEADER_INIT;
    struct mail_draft d = MAIL_DRAFT_INIT;
    struct mail_identities *ids = me();

    *to = *cc = NULL;
    if (mail_header_parse(&h, hdr, strlen(hdr), err) == 0 &&
        mail_reply_recipients(&h, ids, mode, &d, err) == 0) {
        *to = d.to;
        *cc = d.cc;
        d.to = d.cc = NULL;
    }
    mail_draft_release(&d);
    mail_header_release(&h);
    mail_identities_free(ids);
}

#define RECIPS(hdr, mode, want_to, want_cc)                                   \
    do {                                                                      \
        char *to_, *cc_;                                                      \
        struct mail_error e_;                                                 \
        recips(hdr, mode, &to_, &cc_, &e_);                                   \
        CHECK_STR(to_, want_to);                                              \
        CHECK_STR(cc_, want_cc);                                              \
        free(to_);                                                            \
        free(cc_);                                                            \
    } while (0)

static void test_identities(void)
{
    struct mail_identities *ids = me();
    struct mail_error err;

    CHECK(ids != NULL);
    CHECK(mail_identities_match(ids, "alice@example.com"));
    CHECK(mail_identities_match(ids, "alice@EXAMPLE.com"));
    CHECK(!mail_identities_match(ids, "Alice@example.com"));
    CHECK(mail_identities_match(ids, "alice@old.example"));
    CHECK(mail_identities_match(ids, "ali+lists@example.com"));
    CHECK(!mail_identities_match(ids, "bob@example.com"));
    /* A plain entry's dot is a dot, not "any character". */
    CHECK(!mail_identities_match(ids, "alice@oldxexample"));
    CHECK(!mail_identities_match(NULL, "alice@example.com"));
    mail_identities_free(ids);
    CHECK(mail_identities_new(NULL, "(unclosed", &err) == NULL);
    CHECK(err.kind == MAIL_ERR_CONFIG);
    CHECK(strstr(err.msg, "(unclosed") != NULL);
    CHECK(mail_addr_equal("a@X.org", "a@x.ORG"));
    CHECK(!mail_addr_equal("A@x.org", "a@x.org"));
    CHECK(!mail_addr_equal("a", "a@x.org"));
}

static void test_reply_sender(void)
{
    RECIPS("From: Bob <bob@b.test>\nTo: alice@example.com\n\n",
           MAIL_REPLY_SENDER, "Bob <bob@b.test>", "");
    /* Reply-To wins over From. */
    RECIPS("From: Bob <bob@b.test>\nReply-To: Bob Home <bob@home.test>\n"
           "To: alice@example.com\n\n",
           MAIL_REPLY_SENDER, "Bob Home <bob@home.test>", "");
    /* Mail-Followup-To is not for a reply to the sender. */
    RECIPS("From: bob@b.test\nMail-Followup-To: list@l.test\n\n",
           MAIL_REPLY_SENDER, "bob@b.test", "");
}

static void test_reply_to_munged(void)
{
    const char *h = "From: Bob <bob@b.test>\n"
                    "Reply-To: Dev List <dev@lists.test>\n"
                    "To: Dev List <dev@lists.test>\n"
                    "Cc: Carol <carol@c.test>, alice@example.com\n"
                    "List-Post: <mailto:dev@lists.test>\n\n";

    RECIPS(h, MAIL_REPLY_SENDER, "Dev List <dev@lists.test>", "");
    /* --all: the list once, Carol in Cc, not me. */
    RECIPS(h, MAIL_REPLY_ALL, "Dev List <dev@lists.test>",
           "Carol <carol@c.test>");
    RECIPS(h, MAIL_REPLY_LIST, "dev@lists.test", "");
}

static void test_reply_all(void)
{
    RECIPS("From: Bob <bob@b.test>\n"
           "To: Alice Example <alice@example.com>, dave@d.test, "
           "BOB@B.test\n"
           "Cc: dave@D.TEST, ali+x@example.com, Eve <eve@e.test>, "
           "alice@old.example\n\n",
           MAIL_REPLY_ALL, "Bob <bob@b.test>",
           /* BOB@B.test: another local part, so another mailbox */
           "dave@d.test, BOB@B.test, Eve <eve@e.test>");
    /* Duplicates: domain without case. */
    RECIPS("From: bob@b.test\nTo: bob@B.TEST, carol@c.test\n"
           "Cc: carol@C.test\n\n",
           MAIL_REPLY_ALL, "bob@b.test", "carol@c.test");
    /* No To at all. */
    RECIPS("From: bob@b.test\n\n", MAIL_REPLY_ALL, "bob@b.test", "");
}

static void test_followup_to(void)
{
    const char *h = "From: bob@b.test\n"
                    "Mail-Followup-To: dev@lists.test, alice@example.com\n"
                    "To: dev@lists.test\nCc: carol@c.test\n"
                    "List-Post: <mailto:dev@lists.test?subject=x>\n\n";

    RECIPS(h, MAIL_REPLY_ALL, "dev@lists.test", "");
    RECIPS(h, MAIL_REPLY_LIST, "dev@lists.test", "");
    RECIPS(h, MAIL_REPLY_SENDER, "bob@b.test", "");
}

static void test_list(void)
{
    char *to, *cc;
    struct mail_error err;

    RECIPS("From: bob@b.test\nList-Post: <mailto:l@l.test?subject=hi>\n\n",
           MAIL_REPLY_LIST, "l@l.test", "");
    RECIPS("From: bob@b.test\nList-Post: <https://l.test/post>, "
           "<mailto:l@l.test>\n\n",
           MAIL_REPLY_LIST, "l@l.test", "");
    recips("From: bob@b.test\n\n", MAIL_REPLY_LIST, &to, &cc, &err);
    CHECK(to == NULL);
    CHECK(err.kind == MAIL_ERR_DATA);
    CHECK(strstr(err.msg, "List-Post") != NULL);
    recips("From: bob@b.test\nList-Post: NO (posting not allowed)\n\n",
           MAIL_REPLY_LIST, &to, &cc, &err);
    CHECK(to == NULL);
    CHECK(err.kind == MAIL_ERR_DATA);
}

static void test_own_message(void)
{
    /* You sent it: the reply goes to its recipients. */
    RECIPS("From: Alice Example <alice@example.com>\n"
           "To: Bob <bob@b.test>\nCc: carol@c.test\n\n",
           MAIL_REPLY_SENDER, "Bob <bob@b.test>", "");
    RECIPS("From: Alice Example <alice@example.com>\n"
           "To: Bob <bob@b.test>\nCc: carol@c.test, alice@example.com\n\n",
           MAIL_REPLY_ALL, "Bob <bob@b.test>", "carol@c.test");
    /* From an alternate address too. */
    RECIPS("From: ali+x@example.com\nTo: bob@b.test\n\n",
           MAIL_REPLY_SENDER, "bob@b.test", "");
    /* Only you among the recipients of --all: the others move to To. */
    RECIPS("From: bob@b.test\nReply-To: alice@example.com\n"
           "To: alice@example.com\nCc: carol@c.test\n\n",
           MAIL_REPLY_ALL, "carol@c.test", "");
    /* A note to yourself. */
    RECIPS("From: alice@example.com\nTo: alice@example.com\n\n",
           MAIL_REPLY_SENDER, "alice@example.com", "");
}

static void test_groups_and_names(void)
{
    RECIPS("From: bob@b.test\n"
           "To: Team: carol@c.test, alice@example.com, dave@d.test;, "
           "undisclosed-recipients:;\n\n",
           MAIL_REPLY_ALL, "bob@b.test", "Team: carol@c.test, dave@d.test;");
    /* Encoded names come out decoded (the composer encodes them again). */
    RECIPS("From: =?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <joerg@j.test>\n\n",
           MAIL_REPLY_SENDER, "J\xc3\xb6rg M\xc3\xbcller <joerg@j.test>", "");
    RECIPS("From: \"Doe, John\" <john@d.test>\n\n", MAIL_REPLY_SENDER,
           "\"Doe, John\" <john@d.test>", "");
}

static void subj(int fwd, const char *in, const char *want)
{
    struct mail_buf b = MAIL_BUF_INIT;

    if (fwd)
        CHECK(mail_forward_subject(&b, in) == 0);
    else
        CHECK(mail_reply_subject(&b, in) == 0);
    CHECK_STR(b.data, want);
    mail_buf_release(&b);
}

static void test_subjects(void)
{
    subj(0, "hello", "Re: hello");
    subj(0, "Re: hello", "Re: hello");
    subj(0, "RE: re: Re:hello", "Re: hello");
    subj(0, "AW: Re: SV: Sv: Antw: hello", "Re: hello");
    subj(0, "Re[2]: hello", "Re: hello");
    subj(0, "Re(3): hello", "Re: hello");
    subj(0, "VS: Odp: hello", "Re: hello");
    subj(0, "Re : hello", "Re: hello");
    subj(0, "\xe5\x9b\x9e\xe5\xa4\x8d\xef\xbc\x9a hello", "Re: hello");
    subj(0, "Re: Fwd: hello", "Re: Fwd: hello");
    subj(0, "Fwd: Re: hello", "Re: Fwd: Re: hello");
    subj(0, "Regarding: x", "Re: Regarding: x");
    subj(0, "Rezept", "Re: Rezept");
    subj(0, "Re[x]: hello", "Re: Re[x]: hello");
    subj(0, "=?UTF-8?Q?AW=3A_Gr=C3=BC=C3=9Fe?=", "Re: Gr\xc3\xbc\xc3\x9f" "e");
    subj(0, NULL, "Re: ");
    subj(0, "   ", "Re: ");
    subj(1, "hello", "Fwd: hello");
    subj(1, "Fwd: FW: Fw: WG: TR: hello", "Fwd: hello");
    subj(1, "Fwd: Re: hello", "Fwd: Re: hello");
    subj(1, "Re: hello", "Fwd: Re: hello");
}

static void refs(const char *hdr, const char *want_irt, const char *want_refs)
{
    struct mail_header h = MAIL_HEADER_INIT;
    struct mail_buf a = MAIL_BUF_INIT, b = MAIL_BUF_INIT;

    CHECK(mail_header_parse(&h, hdr, strlen(hdr), NULL) == 0);
    CHECK(mail_reply_in_reply_to(&a, &h) == 0);
    CHECK(mail_reply_references(&b, &h) == 0);
    CHECK_STR(a.data, want_irt);
    CHECK_STR(b.data, want_refs);
    mail_buf_release(&a);
    mail_buf_release(&b);
    mail_header_release(&h);
}

static void test_references(void)
{
    refs("Message-ID: <m1@x>\n\n", "<m1@x>", "<m1@x>");
    refs("Message-ID: <m3@x>\nReferences: <m1@x>\n <m2@x>\n\n", "<m3@x>",
         "<m1@x> <m2@x> <m3@x>");
    /* No References: a single In-Reply-To stands in. */
    refs("Message-ID: <m2@x>\nIn-Reply-To: <m1@x>\n\n", "<m2@x>",
         "<m1@x> <m2@x>");
    refs("Message-ID: <m3@x>\nIn-Reply-To: <m1@x> <m2@x>\n\n", "<m3@x>",
         "<m3@x>");
    /* No Message-ID: no In-Reply-To, References as they were. */
    refs("References: <m1@x>\n\n", NULL, "<m1@x>");
    refs("Subject: x\n\n", NULL, NULL);
    refs("Message-ID: not an id\n\n", NULL, NULL);
}

static void test_long_references(void)
{
    struct mail_buf hdr = MAIL_BUF_INIT, want = MAIL_BUF_INIT;
    int i;

    mail_buf_addstr(&hdr, "Message-ID: <last@x>\nReferences:");
    for (i = 0; i < 100; i++)
        mail_buf_printf(&hdr, " <r%d@x>\n", i);
    mail_buf_addstr(&hdr, "\n");
    mail_buf_addstr(&want, "<r0@x>");
    for (i = 100 - (MAIL_REFERENCES_MAX - 2); i < 100; i++)
        mail_buf_printf(&want, " <r%d@x>", i);
    mail_buf_addstr(&want, " <last@x>");
    refs(hdr.data, "<last@x>", want.data);
    mail_buf_release(&hdr);
    mail_buf_release(&want);
}

static void attr(const char *hdr, const char *want)
{
    struct mail_header h = MAIL_HEADER_INIT;
    struct mail_buf b = MAIL_BUF_INIT;

    CHECK(mail_header_parse(&h, hdr, strlen(hdr), NULL) == 0);
    CHECK(mail_reply_attribution(&b, &h) == 0);
    CHECK_STR(b.data, want);
    mail_buf_release(&b);
    mail_header_release(&h);
}

static void test_attribution(void)
{
    attr("From: Alice Example <a@x>\nDate: Thu, 3 Dec 2026 10:00:00 +0100\n\n",
         "On Thu, 3 Dec 2026 10:00:00 +0100, Alice Example wrote:\n");
    /* The original's zone is kept. */
    attr("From: a@x\nDate: 3 Dec 2026 23:30:00 -0800\n\n",
         "On Thu, 3 Dec 2026 23:30:00 -0800, a@x wrote:\n");
    attr("From: =?ISO-8859-1?Q?J=F6rg?= <j@x>\nDate: yesterday-ish\n\n",
         "J\xc3\xb6rg wrote:\n");
    attr("Subject: no from\n\n", "someone wrote:\n");
}

static void quote(const char *in, const char *want)
{
    struct mail_buf b = MAIL_BUF_INIT;

    CHECK(mail_reply_quote(&b, in, strlen(in)) == 0);
    CHECK_STR(b.data ? b.data : "", want);
    mail_buf_release(&b);
}

static void test_quote(void)
{
    quote("hello\nworld\n", "> hello\n> world\n");
    quote("a\n> b\n>> c\n", "> a\n>> b\n>>> c\n");
    quote("a\n\nb\n\n\n", "> a\n>\n> b\n");
    quote("text\n-- \nAlice\nPhone\n", "> text\n");
    quote("text\n--\nnot a sig\n", "> text\n> --\n> not a sig\n");
    quote("crlf\r\nline\r\n", "> crlf\n> line\n");
    quote("no end", "> no end\n");
    quote("", "");
}

static const char original[] =
    "From: Bob <bob@b.test>\n"
    "To: Alice Example <alice@example.com>\n"
    "Cc: carol@c.test\n"
    "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\n"
    "Date: Thu, 3 Dec 2026 10:00:00 +0100\n"
    "Message-ID: <orig@b.test>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "Hallo Alice,\n"
    "> earlier\n"
    "sch=C3=B6n.\n"
    "--=20\n"
    "Bob\n";

static int tmpfd_with(const char *s, size_t len)
{
    char path[] = "/tmp/test_reply.XXXXXX";
    int fd = mkstemp(path);

    unlink(path);
    if (fd >= 0 && write(fd, s, len) != (ssize_t)len) {
        close(fd);
        return -1;
    }
    return fd;
}

static const char want_draft[] =
    "To: Bob <bob@b.test>\nCc: carol@c.test\n"
    "Subject: Re: Gr\xc3\xbc\xc3\x9f" "e\n"
    "In-Reply-To: <orig@b.test>\nReferences: <orig@b.test>\n"
    "\nThanks!\n\nOn ";

static void test_reply_draft(void)
{
    struct mail_error err;
    struct mail_mime *m = mail_mime_parse_mem(original, strlen(original),
                                              NULL, &err);
    int fd = tmpfd_with(original, strlen(original));
    struct mail_render_opts ro;
    struct mail_render *r;
    struct mail_reply_opts o;
    struct mail_draft d = MAIL_DRAFT_INIT, back = MAIL_DRAFT_INIT;
    struct mail_buf out = MAIL_BUF_INIT;
    char sig[] = "/tmp/test_reply_sig.XXXXXX";
    int sfd = mkstemp(sig);

    CHECK(sfd >= 0 && write(sfd, "Alice\n", 6) == 6);
    close(sfd);
    memset(&ro, 0, sizeof ro);
    r = mail_render_new(&ro);
    memset(&o, 0, sizeof o);
    o.mode = MAIL_REPLY_ALL;
    o.ids = me();
    o.render = r;
    o.signature_file = sig;
    CHECK(m != NULL && fd >= 0 && r != NULL);
    CHECK(mail_reply_draft(fd, m, &o, &d, &err) == 0);
    CHECK_STR(d.to, "Bob <bob@b.test>");
    CHECK_STR(d.cc, "carol@c.test");
    CHECK_STR(d.subject, "Re: Gr\xc3\xbc\xc3\x9f" "e");
    CHECK_STR(d.in_reply_to, "<orig@b.test>");
    CHECK_STR(d.references, "<orig@b.test>");
    CHECK_STR(d.body.data,
              "\n"
              "On Thu, 3 Dec 2026 10:00:00 +0100, Bob wrote:\n"
              "> Hallo Alice,\n"
              ">> earlier\n"
              "> sch\xc3\xb6n.\n"
              "\n-- \nAlice\n");
    /* Standard input's text goes above the quote. */
    CHECK(mail_draft_prepend(&d, "Thanks!", 7, &err) == 0);
    CHECK(strncmp(d.body.data, "Thanks!\n\nOn Thu", 15) == 0);
    /* Written for the editor and read back after an edit. */
    CHECK(mail_draft_write(&d, mail_sink_buf, &out, &err) == 0);
    CHECK(strncmp(out.data, want_draft, strlen(want_draft)) == 0);
    CHECK(mail_draft_parse(&back, out.data, out.len, &err) == 0);
    CHECK_STR(back.to, d.to);
    CHECK_STR(back.cc, d.cc);
    CHECK_STR(back.subject, d.subject);
    CHECK_STR(back.in_reply_to, d.in_reply_to);
    CHECK_STR(back.references, d.references);
    CHECK_STR(back.body.data, d.body.data);
    mail_draft_release(&back);
    mail_buf_release(&out);
    mail_draft_release(&d);
    mail_identities_free((struct mail_identities *)o.ids);
    mail_render_free(r);
    mail_mime_free(m);
    close(fd);
    unlink(sig);
}

static void test_forward_draft(void)
{
    struct mail_error err;
    struct mail_mime *m = mail_mime_parse_mem(original, strlen(original),
                                              NULL, &err);
    int fd = tmpfd_with(original, strlen(original));
    struct mail_render_opts ro;
    struct mail_render *r;
    struct mail_reply_opts o;
    struct mail_draft d = MAIL_DRAFT_INIT;
    const char *to[] = { "dave@d.test", "Eve <eve@e.test>" };

    memset(&ro, 0, sizeof ro);
    r = mail_render_new(&ro);
    memset(&o, 0, sizeof o);
    o.render = r;
    o.to = to;
    o.nto = 2;
    CHECK(mail_forward_draft(fd, m, &o, &d, &err) == 0);
    CHECK_STR(d.to, "dave@d.test, Eve <eve@e.test>");
    CHECK_STR(d.subject, "Fwd: Gr\xc3\xbc\xc3\x9f" "e");
    CHECK(d.in_reply_to == NULL && d.references == NULL);
    CHECK(mail_draft_prepend(&d, "FYI\n", 4, &err) == 0);
    CHECK(strncmp(d.body.data, "FYI\n\n---------- Forwarded", 25) == 0);
    CHECK(mail_forward_draft(fd, m, &o, &d, &err) == 0);
    CHECK_STR(d.body.data,
              "\n---------- Forwarded message ---------\n"
              "From: Bob <bob@b.test>\n"
              "Date: Thu, 3 Dec 2026 10:00:00 +0100\n"
              "Subject: Gr\xc3\xbc\xc3\x9f" "e\n"
              "To: Alice Example <alice@example.com>\n"
              "Cc: carol@c.test\n"
              "\n"
              "Hallo Alice,\n> earlier\nsch\xc3\xb6n.\n-- \nBob\n");
    o.attach = true;
    CHECK(mail_forward_draft(fd, m, &o, &d, &err) == 0);
    CHECK_STR(d.body.data, "\n");
    mail_draft_release(&d);
    mail_render_free(r);
    mail_mime_free(m);
    close(fd);
}

static void test_draft_parse(void)
{
    struct mail_draft d = MAIL_DRAFT_INIT;
    struct mail_error err;
    const char *t = "to: a@x,\n  b@y\nSUBJECT: changed\nBcc: c@z\n\nbody\n";

    CHECK(mail_draft_parse(&d, t, strlen(t), &err) == 0);
    CHECK_STR(d.to, "a@x, b@y");
    CHECK_STR(d.cc, "");
    CHECK_STR(d.bcc, "c@z");
    CHECK_STR(d.subject, "changed");
    CHECK(d.in_reply_to == NULL);
    CHECK_STR(d.body.data, "body\n");
    t = "To: a@x\nX-Evil: y\n\nbody\n";
    CHECK(mail_draft_parse(&d, t, strlen(t), &err) < 0);
    CHECK(err.kind == MAIL_ERR_USAGE);
    CHECK(strstr(err.msg, "line 2") != NULL);
    t = "To: a@x\nno colon here\n";
    CHECK(mail_draft_parse(&d, t, strlen(t), &err) < 0);
    /* The draft from before a failed parse is kept. */
    CHECK_STR(d.subject, "changed");
    mail_draft_release(&d);
}

static void test_forward_attach(void)
{
    static const char composed[] =
        "From: alice@example.com\nTo: dave@d.test\nSubject: Fwd: x\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=us-ascii\n"
        "Content-Transfer-Encoding: 7bit\n"
        "\nsee below\n";
    /* The original without a final line end, CRLF inside, 8-bit. */
    static const char orig[] = "From: bob@b.test\r\nSubject: x\r\n\r\n"
                               "caf\xc3\xa9\r\nlast";
    int cfd = tmpfd_with(composed, strlen(composed));
    int ofd = tmpfd_with(orig, strlen(orig));
    struct mail_buf out = MAIL_BUF_INIT;
    struct mail_error err;
    struct mail_mime *m;
    const struct mail_part *root, *p;
    const char *b;

    CHECK(mail_forward_attach_write(cfd, ofd, mail_sink_buf, &out, &err) == 0);
    m = mail_mime_parse_mem(out.data, out.len, NULL, &err);
    CHECK(m != NULL);
    root = mail_mime_root(m);
    CHECK_STR(root->type, "multipart/mixed");
    CHECK_STR(mail_header_get(&root->header, "subject"), "Fwd: x");
    CHECK(mail_header_get(&root->header, "content-transfer-encoding") == NULL);
    p = root->child;
    CHECK(p && strcmp(p->type, "text/plain") == 0);
    CHECK(p && p->next && strcmp(p->next->type, "message/rfc822") == 0);
    if (p && p->next) {
        p = p->next;
        CHECK_MEM(out.data + p->body_start, strlen(orig), orig, strlen(orig));
        /* Exactly the original, then the delimiter's line end. */
        CHECK(out.data[p->body_start + strlen(orig)] == '\n');
        CHECK(strncmp(out.data + p->body_start + strlen(orig) + 1, "--", 2)
              == 0);
    }
    b = strstr(out.data, "\n\nsee below\n");
    CHECK(b != NULL);
    mail_mime_free(m);
    mail_buf_release(&out);
    close(cfd);
    close(ofd);
}

int main(void)
{
    RUN(test_identities);
    RUN(test_reply_sender);
    RUN(test_reply_to_munged);
    RUN(test_reply_all);
    RUN(test_followup_to);
    RUN(test_list);
    RUN(test_own_message);
    RUN(test_groups_and_names);
    RUN(test_subjects);
    RUN(test_references);
    RUN(test_long_references);
    RUN(test_attribution);
    RUN(test_quote);
    RUN(test_reply_draft);
    RUN(test_forward_draft);
    RUN(test_draft_parse);
    RUN(test_forward_attach);
    return test_done();
}
