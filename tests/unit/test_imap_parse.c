/*
 * test_imap_parse.c - the IMAP response parser on scripted byte streams,
 * each fed whole, one byte at a time, and split at every position.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/imap.h"
#include "mail/imap_parse.h"
#include "test.h"

/* A route that streams every literal following an atom "BODY[...]" or
 * "BINARY[...]" into `body`, and keeps the others in the tree. */
struct route_ctx {
    struct mail_buf body;
    size_t max_piece;
    int routed;
};

static int body_sink(void *ctx, const char *data, size_t len,
                     struct mail_error *err)
{
    struct route_ctx *rc = ctx;

    if (len > rc->max_piece)
        rc->max_piece = len;
    return mail_sink_buf(&rc->body, data, len, err);
}

static int route(void *arg, const struct mail_imap_resp *resp,
                 const struct mail_imap_node *list,
                 const struct mail_imap_node *prev, uint64_t size,
                 mail_sink_fn *sink, void **sink_ctx, struct mail_error *err)
{
    struct route_ctx *rc = arg;
    const char *p = mail_imap_node_str(prev);

    (void)list;
    (void)size;
    (void)err;
    if (resp->type == MAIL_IMAP_T_FETCH && p &&
        (mail_strncasecmp(p, "BODY[", 5) == 0 ||
         mail_strncasecmp(p, "BINARY[", 7) == 0)) {
        *sink = body_sink;
        *sink_ctx = rc;
        rc->routed++;
    }
    return 0;
}

static void dump_node(struct mail_buf *o, const struct mail_imap_node *n)
{
    switch (n->type) {
    case MAIL_IMAP_ATOM:
        mail_buf_addstr(o, n->data);
        break;
    case MAIL_IMAP_STRING:
        mail_buf_addstr(o, n->literal ? (n->binary ? "~{" : "{") : "\"");
        mail_buf_add(o, n->data, (size_t)n->len);
        mail_buf_addstr(o, n->literal ? "}" : "\"");
        break;
    case MAIL_IMAP_NIL:
        mail_buf_addstr(o, "NIL");
        break;
    case MAIL_IMAP_STREAMED:
        mail_buf_printf(o, "<streamed %llu>", (unsigned long long)n->len);
        break;
    case MAIL_IMAP_LIST:
        mail_buf_addch(o, '(');
        for (const struct mail_imap_node *c = n->child; c; c = c->next) {
            dump_node(o, c);
            if (c->next)
                mail_buf_addch(o, ' ');
        }
        mail_buf_addch(o, ')');
        break;
    }
}

static const char *const type_names[] = {
    "OTHER", "STATUS", "CAPABILITY", "FLAGS", "EXISTS", "RECENT", "EXPUNGE",
    "FETCH", "LIST", "LSUB", "SEARCH", "ESEARCH", "STATUS_MBX", "ENABLED",
    "VANISHED", "NAMESPACE",
};

static void dump_resp(struct mail_buf *o, const struct mail_imap_resp *r)
{
    if (r->kind == MAIL_IMAP_RESP_CONT) {
        mail_buf_printf(o, "+ [%s]\n", r->text);
        return;
    }
    mail_buf_printf(o, "%s %s", r->kind == MAIL_IMAP_RESP_TAGGED ? r->tag : "*",
                    type_names[r->type]);
    if (r->has_number)
        mail_buf_printf(o, " #%u", r->number);
    if (r->type == MAIL_IMAP_T_STATUS)
        mail_buf_printf(o, " st=%d code=[%s] args=[%s] text=[%s]", (int)r->status,
                        r->code, r->code_args, r->text);
    else {
        mail_buf_addch(o, ' ');
        dump_node(o, &r->args);
    }
    mail_buf_addch(o, '\n');
}

/* Feed `in` in pieces of `step` bytes (0: split once at `split`); dump
 * every response to out, the streamed bytes to rc->body.  Returns the
 * feed result of the last call (-1 on error). */
static int run(const char *in, size_t len, size_t step, size_t split,
               struct mail_buf *out, struct route_ctx *rc,
               const struct mail_imap_limits *lim, struct mail_error *err)
{
    struct mail_imap_parser p;
    size_t off = 0;
    int result = 0;

    mail_buf_reset(out);
    mail_buf_init(&rc->body, 0);
    rc->max_piece = 0;
    rc->routed = 0;
    mail_error_clear(err);
    mail_imap_parser_init(&p, lim, route, rc);
    while (off < len) {
        size_t n = step ? step : (off < split ? split - off : len - off);
        size_t used;
        int r;

        if (n > len - off)
            n = len - off;
        r = mail_imap_parser_feed(&p, in + off, n, &used, err);
        if (r < 0) {
            result = -1;
            break;
        }
        off += used;
        if (r == 1)
            dump_resp(out, &p.resp);
    }
    if (result == 0 && mail_imap_parser_busy(&p))
        result = -2;
    mail_imap_parser_release(&p);
    return result;
}

/* Parse in every split; all must agree with the whole-input result,
 * which must equal want. */
static void check_parse(const char *in, size_t len, const char *want,
                        const char *want_body)
{
    struct mail_buf whole = MAIL_BUF_INIT, part = MAIL_BUF_INIT;
    struct route_ctx rc;
    struct mail_error err;
    int ok = 1;

    CHECK(run(in, len, 0, len, &whole, &rc, NULL, &err) == 0);
    if (err.kind)
        printf("# %s\n", err.msg);
    CHECK_STR(whole.data ? whole.data : "", want);
    if (want_body)
        CHECK_MEM(rc.body.data ? rc.body.data : "", rc.body.len, want_body,
                  strlen(want_body));
    mail_buf_release(&rc.body);
    for (size_t split = 1; split < len && ok; split++) {
        ok = run(in, len, 0, split, &part, &rc, NULL, &err) == 0 &&
             part.len == whole.len &&
             memcmp(part.data, whole.data, whole.len) == 0;
        if (want_body && ok)
            ok = rc.body.len == strlen(want_body) &&
                 memcmp(rc.body.data, want_body, rc.body.len) == 0;
        mail_buf_release(&rc.body);
        if (!ok)
            printf("# differs when split at %zu\n", split);
    }
    CHECK(ok);
    ok = run(in, len, 1, 0, &part, &rc, NULL, &err) == 0 &&
         part.len == whole.len && memcmp(part.data, whole.data, whole.len) == 0;
    mail_buf_release(&rc.body);
    CHECK(ok);
    mail_buf_release(&whole);
    mail_buf_release(&part);
}

#define PARSE(in, want) check_parse(in, sizeof in - 1, want, NULL)
#define PARSE_BODY(in, want, body) check_parse(in, sizeof in - 1, want, body)

static void test_status(void)
{
    PARSE("* OK [UIDVALIDITY 3857529045] UIDs valid\r\n",
          "* STATUS st=1 code=[UIDVALIDITY] args=[3857529045] text=[UIDs valid]\n");
    PARSE("* ok [permanentflags (\\Deleted \\Seen \\*)] Limited\r\n",
          "* STATUS st=1 code=[PERMANENTFLAGS] args=[(\\Deleted \\Seen \\*)] text=[Limited]\n");
    PARSE("A1 OK [READ-WRITE] SELECT completed\r\n",
          "A1 STATUS st=1 code=[READ-WRITE] args=[] text=[SELECT completed]\n");
    PARSE("A2 NO [TRYCREATE] no such mailbox {5}\r\n",
          "A2 STATUS st=2 code=[TRYCREATE] args=[] text=[no such mailbox {5}]\n");
    PARSE("A3 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n",
          "A3 STATUS st=1 code=[COPYUID] args=[38505 304,319:320 3956:3958] text=[Done]\n");
    PARSE("* BYE\r\n", "* STATUS st=4 code=[] args=[] text=[]\n");
    PARSE("* PREAUTH [CAPABILITY IMAP4rev1] hi\n",
          "* STATUS st=5 code=[CAPABILITY] args=[IMAP4rev1] text=[hi]\n");
    PARSE("* OK [ALERT unclosed text\r\n",
          "* STATUS st=1 code=[] args=[] text=[[ALERT unclosed text]\n");
    PARSE("+ Ready for literal\r\n+\r\n", "+ [Ready for literal]\n+ []\n");
}

static void test_untagged(void)
{
    PARSE("* CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN\r\n"
          "* 172 EXISTS\r\n* 1 RECENT\r\n* 44 expunge\r\n"
          "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded)\r\n",
          "* CAPABILITY (IMAP4rev1 LITERAL+ AUTH=PLAIN)\n"
          "* EXISTS #172 ()\n* RECENT #1 ()\n* EXPUNGE #44 ()\n"
          "* FLAGS ((\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded))\n");
    PARSE("* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent Items\"\r\n"
          "* LIST (\\Noselect) NIL \"\"\r\n"
          "* lsub () \".\" {7}\r\nfoo bar\r\n",
          "* LIST ((\\HasNoChildren \\Sent) \"/\" \"Sent Items\")\n"
          "* LIST ((\\Noselect) NIL \"\")\n"
          "* LSUB (() \".\" {foo bar})\n");
    PARSE("* SEARCH 2 84 882\r\n* SEARCH\r\n",
          "* SEARCH (2 84 882)\n* SEARCH ()\n");
    PARSE("* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n",
          "* STATUS_MBX (blurdybloop (MESSAGES 231 UIDNEXT 44292))\n");
    PARSE("* ENABLED CONDSTORE QRESYNC\r\n* VANISHED (EARLIER) 41,43:116\r\n",
          "* ENABLED (CONDSTORE QRESYNC)\n* VANISHED ((EARLIER) 41,43:116)\n");
    PARSE("* NAMESPACE ((\"\" \"/\")) NIL ((\"#shared/\" \"/\"))\r\n",
          "* NAMESPACE (((\"\" \"/\")) NIL ((\"#shared/\" \"/\")))\n");
    PARSE("* XFOO bar\r\n* 3 XBAR\r\n", "* OTHER (bar)\n* OTHER #3 ()\n");
}

static void test_quoted(void)
{
    PARSE("* LIST () \"\\\\\" \"a \\\"b\\\" c\"\r\n",
          "* LIST (() \"\\\" \"a \"b\" c\")\n");
    PARSE("* LIST () \".\" \"\xc3\xa4\"\r\n", "* LIST (() \".\" \"\xc3\xa4\")\n");
}

static void test_fetch(void)
{
    static const char in[] =
        "* 12 FETCH (UID 7 FLAGS (\\Seen $Forwarded) INTERNALDATE "
        "\"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 13 BODY[] {13}\r\n"
        "Hi\r\n(there)\r\n"
        " BODY[HEADER.FIELDS (FROM TO)] {5}\r\nFrom:)\r\n"
        "* 13 FETCH (BODY.PEEK[] NIL UID 8 BINARY[1] ~{3}\r\n\0\1\2 BODY[]<0> {0}\r\n)\r\n"
        "A5 OK done\r\n";

    check_parse(in, sizeof in - 1,
                "* FETCH #12 ((UID 7 FLAGS (\\Seen $Forwarded) INTERNALDATE "
                "\"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 13 BODY[] "
                "<streamed 13> BODY[HEADER.FIELDS (FROM TO)] <streamed 5>))\n"
                "* FETCH #13 ((BODY.PEEK[] NIL UID 8 BINARY[1] <streamed 3> "
                "BODY[]<0> <streamed 0>))\n"
                "A5 STATUS st=1 code=[] args=[] text=[done]\n",
                NULL);
    {
        struct mail_buf out = MAIL_BUF_INIT;
        struct route_ctx rc;
        struct mail_error err;

        CHECK(run(in, sizeof in - 1, 0, sizeof in - 1, &out, &rc, NULL,
                  &err) == 0);
        CHECK_MEM(rc.body.data, rc.body.len,
                  "Hi\r\n(there)\r\nFrom:\0\1\2", 21);
        CHECK(rc.routed == 4);
        mail_buf_release(&rc.body);
        mail_buf_release(&out);
    }
}

/* Shapes of issue 8 item 2, each split at every byte position: BODY[]
 * before UID and FLAGS (the UID comes after the streamed body), tagged
 * completions out of order with untagged responses between them, response
 * text ending in {5} (text, never a literal: the next line is a response
 * of its own), a FETCH body without a UID, the same UID twice. */
static void test_item_order(void)
{
    PARSE_BODY("* 1 FETCH (BODY[] {12}\r\nSubject: x\r\n UID 7 FLAGS (\\Seen))\r\n",
               "* FETCH #1 ((BODY[] <streamed 12> UID 7 FLAGS (\\Seen)))\n",
               "Subject: x\r\n");
    PARSE_BODY("* 3 EXISTS\r\n"
               "* 2 FETCH (FLAGS (\\Seen))\r\n"
               "* 1 FETCH (UID 6 BODY[] {2}\r\nxy)\r\n"
               "* OK [ALERT] maintenance at 5 {5}\r\n"
               "A3 OK done {5}\r\n"
               "* 2 EXPUNGE\r\n"
               "* 1 FETCH (RFC822.SIZE 3 BODY[] {3}\r\nabc UID 5)\r\n"
               "A2 OK [READ-WRITE] done {0}\r\n",
               "* EXISTS #3 ()\n"
               "* FETCH #2 ((FLAGS (\\Seen)))\n"
               "* FETCH #1 ((UID 6 BODY[] <streamed 2>))\n"
               "* STATUS st=1 code=[ALERT] args=[] text=[maintenance at 5 {5}]\n"
               "A3 STATUS st=1 code=[] args=[] text=[done {5}]\n"
               "* EXPUNGE #2 ()\n"
               "* FETCH #1 ((RFC822.SIZE 3 BODY[] <streamed 3> UID 5))\n"
               "A2 STATUS st=1 code=[READ-WRITE] args=[] text=[done {0}]\n",
               "xyabc");
    PARSE("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready {5}\r\n"
          "A1 OK [CAPABILITY IMAP4rev1] logged in {3}\r\nA2 BAD {1}\r\n",
          "* STATUS st=1 code=[CAPABILITY] args=[IMAP4rev1 AUTH=PLAIN] "
          "text=[ready {5}]\n"
          "A1 STATUS st=1 code=[CAPABILITY] args=[IMAP4rev1] "
          "text=[logged in {3}]\n"
          "A2 STATUS st=3 code=[] args=[] text=[{1}]\n");
    PARSE_BODY("* 1 FETCH (BODY[] {3}\r\nabc FLAGS ())\r\n"
               "* 1 FETCH (UID 5 BODY[] {3}\r\nabc)\r\n"
               "* 1 FETCH (BODY[] {3}\r\nabc UID 5)\r\n",
               "* FETCH #1 ((BODY[] <streamed 3> FLAGS ()))\n"
               "* FETCH #1 ((UID 5 BODY[] <streamed 3>))\n"
               "* FETCH #1 ((BODY[] <streamed 3> UID 5))\n",
               "abcabcabc");
}

/* A body larger than a chunk goes to the sink in pieces <= the chunk. */
static void test_big_literal(void)
{
    size_t blen = 3 * MAIL_IMAP_CHUNK + 17, hlen;
    struct mail_buf in = MAIL_BUF_INIT, out = MAIL_BUF_INIT;
    struct route_ctx rc;
    struct mail_error err;
    int ok = 1;

    mail_buf_printf(&in, "* 1 FETCH (UID 1 BODY[] {%zu}\r\n", blen);
    hlen = in.len;
    for (size_t i = 0; i < blen; i++)
        mail_buf_addch(&in, (char)('a' + i % 26));
    mail_buf_addstr(&in, ")\r\n");
    CHECK(run(in.data, in.len, 0, in.len, &out, &rc, NULL, &err) == 0);
    CHECK(rc.body.len == blen);
    CHECK(rc.max_piece <= MAIL_IMAP_CHUNK);
    CHECK(rc.body.len == blen && memcmp(rc.body.data, in.data + hlen, blen) == 0);
    mail_buf_release(&rc.body);
    for (size_t step = 1; step < 9000 && ok; step = step * 3 + 1) {
        ok = run(in.data, in.len, step, 0, &out, &rc, NULL, &err) == 0 &&
             rc.body.len == blen &&
             memcmp(rc.body.data, in.data + hlen, blen) == 0;
        mail_buf_release(&rc.body);
    }
    CHECK(ok);
    mail_buf_release(&in);
    mail_buf_release(&out);
}

static int fails(const char *in, size_t len, const struct mail_imap_limits *lim,
                 const char *msg_part)
{
    struct mail_buf out = MAIL_BUF_INIT;
    struct route_ctx rc;
    struct mail_error err;
    int r = run(in, len, 0, len, &out, &rc, lim, &err);
    int ok = r == -1 && err.kind == MAIL_ERR_PROTOCOL &&
             (!msg_part || strstr(err.msg, msg_part));

    if (!ok)
        printf("# r=%d kind=%d msg=%s\n", r, (int)err.kind, err.msg);
    mail_buf_release(&rc.body);
    mail_buf_release(&out);
    return ok;
}

#define FAILS(in, part) fails(in, sizeof in - 1, NULL, part)

static void test_limits(void)
{
    struct mail_imap_limits lim;
    struct mail_buf deep = MAIL_BUF_INIT;

    /* huge announced literals: refused before any allocation */
    CHECK(FAILS("* 1 FETCH (BODY[] {99999999999}\r\n", "larger than the limit"));
    CHECK(FAILS("* LIST () \"/\" {99999999999999999999999999}\r\n",
                "larger than the limit"));
    /* in-tree literal above the inline limit */
    CHECK(FAILS("* LIST () \"/\" {2000000}\r\n", "too large to keep"));
    mail_imap_limits_default(&lim);
    lim.literal_max = 100;
    CHECK(fails("* 1 FETCH (BODY[] {101}\r\n", 26, &lim, "larger"));
    lim.depth_max = 3;
    CHECK(fails("* X (((a)))\r\n", 13, &lim, NULL) == 0);
    CHECK(fails("* X ((((a))))\r\n", 15, &lim, "nested"));
    mail_imap_limits_default(&lim);
    lim.items_max = 3;
    CHECK(fails("* SEARCH 1 2 3 4\r\n", 18, &lim, "too many"));
    lim.line_max = 10;
    CHECK(fails("* SEARCH 1 2 3 4\r\n", 18, &lim, "too long"));
    /* the default depth limit, 16 */
    mail_buf_addstr(&deep, "* X ");
    for (int i = 0; i < 17; i++)
        mail_buf_addch(&deep, '(');
    mail_buf_addstr(&deep, "\r\n");
    CHECK(fails(deep.data, deep.len, NULL, "nested"));
    mail_buf_release(&deep);
}

static void test_garbage(void)
{
    CHECK(FAILS("\r\n", "empty"));
    CHECK(FAILS("* 1 FETCH (UID 1\r\n", "unbalanced"));
    CHECK(FAILS("* X a)\r\n", "unbalanced"));
    CHECK(FAILS("* LIST () \"/\" \"abc\r\n", "unterminated"));
    CHECK(FAILS("* 1 FETCH (BODY[] {12x}\r\n", "malformed literal"));
    CHECK(FAILS("* 1 FETCH (BODY[] {}\r\n", "malformed literal"));
    CHECK(FAILS("* 1 FETCH (BODY[] {3} x\r\n", "after a literal"));
    CHECK(FAILS("A1 FETCH x\r\n", "without OK"));
    CHECK(FAILS("* 99999999999 EXISTS\r\n", "message number"));
    CHECK(FAILS("* X a\001b\r\n", "control"));
    CHECK(FAILS("*\r\n", NULL));
    CHECK(FAILS("(\r\n", "bad tag"));
}

/* Responses as real servers send them. */
static void test_servers(void)
{
    /* Gmail: X-GM attributes, lowercase flags */
    PARSE("* 1 FETCH (X-GM-THRID 1278455344230334865 X-GM-LABELS (\\Inbox "
          "\"\\\\Important\") UID 4 FLAGS (\\seen))\r\n",
          "* FETCH #1 ((X-GM-THRID 1278455344230334865 X-GM-LABELS (\\Inbox "
          "\"\\Important\") UID 4 FLAGS (\\seen)))\n");
    /* Exchange: NIL delimiter, lowercase keywords */
    PARSE("* list (\\HasNoChildren) NIL Calendar\r\n",
          "* LIST ((\\HasNoChildren) NIL Calendar)\n");
    /* Dovecot: untagged OK with HIGHESTMODSEQ */
    PARSE("* OK [HIGHESTMODSEQ 715194045007] Highest\r\n",
          "* STATUS st=1 code=[HIGHESTMODSEQ] args=[715194045007] text=[Highest]\n");
    /* a mailbox name with an unclosed '[' */
    PARSE("* LIST () \"/\" foo[bar\r\n", "* LIST (() \"/\" foo[bar)\n");
}

/* Feed p the rest of in (len bytes in all) from *off: 1 when a whole
 * response came; *off moves past what the parser took. */
static int feed_next(struct mail_imap_parser *p, const char *in, size_t len,
                     size_t *off, struct mail_error *err)
{
    size_t used = 0;
    int rc = mail_imap_parser_feed(p, in + *off, len - *off, &used, err);

    *off += used;
    return rc;
}

/* RFC 3501 7.4.2 examples and quirks. */
static void test_bodystructure(void)
{
    static const char in[] =
        "* 1 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") "
        "NIL NIL \"7BIT\" 1152 23)(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\" "
        "\"NAME\" \"cc.diff\") \"<960723163407.20117h@cac.washington.edu>\" "
        "\"Compiler diff\" \"BASE64\" 4554 73) \"MIXED\"))\r\n"
        "* 2 FETCH (BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"utf-8\") "
        "NIL NIL \"quoted-printable\" 2 1 NIL NIL NIL NIL))\r\n"
        "* 3 FETCH (BODYSTRUCTURE ((\"text\" \"plain\" NIL NIL NIL \"7bit\" 3 1 "
        "NIL NIL NIL)(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 100 (NIL "
        "\"subj\" NIL NIL NIL NIL NIL NIL NIL NIL) (\"text\" \"html\" NIL NIL NIL "
        "\"8bit\" 10 2) 5 NIL (\"attachment\" (\"filename\" {5}\r\na.eml)) NIL)"
        "(\"application\" \"pdf\" (\"name\" \"x.pdf\") NIL NIL \"base64\" 500 NIL "
        "(\"attachment\" (\"filename\" \"x.pdf\")) NIL NIL) \"mixed\" "
        "(\"boundary\" \"b1\") NIL NIL))\r\n";
    struct mail_imap_parser p;
    struct mail_error err;
    struct mail_imap_bodypart *b;
    size_t off = 0;

    mail_imap_parser_init(&p, NULL, NULL, NULL);
    CHECK(feed_next(&p, in, sizeof in - 1, &off, &err) == 1);
    b = mail_imap_bodystructure(mail_imap_fetch_item(&p.resp, "BODYSTRUCTURE"),
                                &err);
    CHECK(b != NULL);
    if (b) {
        CHECK_STR(b->type, "multipart");
        CHECK_STR(b->subtype, "mixed");
        CHECK(b->nparts == 2);
        CHECK_STR(b->parts[1].encoding, "BASE64");
        CHECK_STR(b->parts[1].description, "Compiler diff");
        CHECK(b->parts[1].size == 4554 && b->parts[1].lines == 73);
        CHECK(b->parts[0].lines == 23);
        mail_imap_bodypart_free(b);
    }
    CHECK(feed_next(&p, in, sizeof in - 1, &off, &err) == 1);
    b = mail_imap_bodystructure(mail_imap_fetch_item(&p.resp, "bodystructure"),
                                &err);
    CHECK(b && strcmp(b->type, "text") == 0 && b->size == 2 && b->lines == 1);
    mail_imap_bodypart_free(b);
    CHECK(feed_next(&p, in, sizeof in - 1, &off, &err) == 1);
    CHECK(off == sizeof in - 1);
    b = mail_imap_bodystructure(mail_imap_fetch_item(&p.resp, "BODYSTRUCTURE"),
                                &err);
    CHECK(b != NULL);
    if (b) {
        CHECK(b->nparts == 3);
        CHECK_STR(b->parts[0].encoding, "7bit");
        CHECK_STR(b->parts[0].id, "");
        CHECK_STR(b->parts[1].type, "message");
        CHECK(b->parts[1].nparts == 1);
        CHECK(b->parts[1].nparts == 1 &&
              strcmp(b->parts[1].parts[0].subtype, "html") == 0);
        CHECK(b->parts[1].lines == 5);
        CHECK_STR(b->parts[1].disposition, "attachment");
        CHECK_STR(mail_imap_node_str(mail_imap_node_at(b->parts[1].disp_params, 1)),
                  "a.eml");
        CHECK_STR(b->parts[2].disposition, "attachment");
        CHECK(b->params && b->params->count == 2);
        mail_imap_bodypart_free(b);
    }
    /* not a body */
    CHECK(mail_imap_bodystructure(mail_imap_fetch_item(&p.resp, "UID"), &err) == NULL);
    mail_imap_parser_release(&p);
    /* every split of the whole stream gives the same tree */
    {
        struct mail_buf whole = MAIL_BUF_INIT;
        struct route_ctx rc;

        CHECK(run(in, sizeof in - 1, 0, sizeof in - 1, &whole, &rc, NULL,
                  &err) == 0);
        mail_buf_release(&rc.body);
        check_parse(in, sizeof in - 1, whole.data, NULL);
        mail_buf_release(&whole);
    }
}

/* A sink that refuses stops the parse with its error. */
static int refuse(void *ctx, const char *d, size_t n, struct mail_error *err)
{
    (void)ctx;
    (void)d;
    (void)n;
    return mail_error_set(err, MAIL_ERR_IO, "~/Mail/INBOX: Read-only file "
                          "system");
}

static int route_refuse(void *arg, const struct mail_imap_resp *resp,
                        const struct mail_imap_node *list,
                        const struct mail_imap_node *prev, uint64_t size,
                        mail_sink_fn *sink, void **sink_ctx,
                        struct mail_error *err)
{
    (void)arg;
    (void)resp;
    (void)list;
    (void)prev;
    (void)size;
    (void)err;
    *sink = refuse;
    *sink_ctx = NULL;
    return 0;
}

static void test_sink_error(void)
{
    struct mail_imap_parser p;
    struct mail_error err;
    size_t used;
    static const char in[] = "* 1 FETCH (BODY[] {3}\r\nabc)\r\n";

    mail_error_clear(&err);
    mail_imap_parser_init(&p, NULL, route_refuse, NULL);
    CHECK(mail_imap_parser_feed(&p, in, sizeof in - 1, &used, &err) == -1);
    CHECK(err.kind == MAIL_ERR_IO);
    CHECK_STR(err.msg, "~/Mail/INBOX: Read-only file system");
    CHECK(mail_imap_parser_feed(&p, in, sizeof in - 1, &used, &err) == -1);
    mail_imap_parser_reset(&p);
    p.route = NULL;
    CHECK(mail_imap_parser_feed(&p, in, sizeof in - 1, &used, &err) == 1);
    CHECK_STR(mail_imap_node_str(mail_imap_fetch_item(&p.resp, "BODY[]")), "abc");
    mail_imap_parser_release(&p);
}

/* Sequence sets (ESEARCH ALL, VANISHED) and the ESEARCH response. */
static void test_esearch(void)
{
    static const char in[] =
        "* ESEARCH (TAG \"A5\") UID ALL 9:7,2,4:5,3 COUNT 6\r\n"
        "* ESEARCH (TAG \"A6\") UID COUNT 0\r\n"
        "* ESEARCH ALL 1\r\n* SEARCH 1 2\r\n";
    struct mail_imap_uids u = { NULL, 0, 0 };
    struct mail_imap_parser p;
    struct mail_error err;
    const char *all;
    size_t off = 0;
    bool found;

    mail_error_clear(&err);
    CHECK(mail_imap_seqset_parse("9:7,2,4:5,3,2", &u, 100, &err) == 0);
    CHECK(u.n == 7 && u.v[0] == 2 && u.v[1] == 3 && u.v[2] == 4 &&
          u.v[3] == 5 && u.v[4] == 7 && u.v[5] == 8 && u.v[6] == 9);
    mail_imap_uids_release(&u);
    CHECK(mail_imap_seqset_parse("4294967295", &u, 100, &err) == 0);
    CHECK(u.n == 1 && u.v[0] == UINT32_MAX);
    mail_imap_uids_release(&u);
    /* bounded: a huge range is refused before anything is allocated */
    CHECK(mail_imap_seqset_parse("1:4294967295", &u, 1000, &err) == -1);
    CHECK(err.kind == MAIL_ERR_PROTOCOL);
    mail_imap_uids_release(&u);
    CHECK(mail_imap_seqset_parse("1:600,601:1200", &u, 1000, &err) == -1);
    mail_imap_uids_release(&u);
    const char *bad[] = { "", "0", "1:*", "*", "1,", ",1", "1::2", "a",
                          "1 2", "4294967296", "3:0", "-1" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(mail_imap_seqset_parse(bad[i], &u, 100, &err) == -1);
        mail_imap_uids_release(&u);
    }
    mail_imap_parser_init(&p, NULL, NULL, NULL);
    CHECK(feed_next(&p, in, sizeof in - 1, &off, &err) == 1);
    all = mail_imap_esearch_all(&p.resp, &found);
    CHECK(found);
    CHECK_STR(all, "9:7,2,4:5,3");
    CHECK_STR(mail_imap_esearch_tag(&p.resp), "A5");
    CHECK(feed_next(&p, in, sizeof in - 1, &off, &err) == 1);
    CHECK(mail_imap_esearch_all(&p.resp, &found) == NULL && found);
    CHECK_STR(mail_imap_esearch_tag(&p.resp), "A6");
    CHECK(feed_next(&p, in, sizeof in - 1, &off, &err) == 1);
    CHECK_STR(mail_imap_esearch_all(&p.resp, &found), "1");
    CHECK(mail_imap_esearch_tag(&p.resp) == NULL);
    CHECK(feed_next(&p, in, sizeof in - 1, &off, &err) == 1);
    CHECK(mail_imap_esearch_all(&p.resp, &found) == NULL && !found);
    CHECK(mail_imap_esearch_tag(&p.resp) == NULL);
    mail_imap_parser_release(&p);
}

/* Ranges of a UID set, recorded. */
struct ranges {
    uint32_t a[8], b[8];
    size_t n;
    uint64_t total;              /* UIDs covered */
};

static void add_range(void *arg, uint32_t a, uint32_t b)
{
    struct ranges *r = arg;

    if (r->n < 8) {
        r->a[r->n] = a;
        r->b[r->n] = b;
    }
    r->n++;
    r->total += (uint64_t)b - a + 1;
}

/* VANISHED (RFC 7162 3.2.10): "(EARLIER)" or not, ranges either way
 * round and of any size, never expanded, a set too long for anything
 * but one line. */
static void test_vanished(void)
{
    static const char in[] =
        "* VANISHED (EARLIER) 1:3,7,12:10,100:4294967295\r\n"
        "* VANISHED 5\r\n"
        "* VANISHED (EARLIER)\r\n"
        "* VANISHED (LATER) 5\r\n"
        "* 3 EXPUNGE\r\n";
    struct mail_imap_parser p;
    struct mail_error err;
    struct ranges r;
    struct mail_buf big = MAIL_BUF_INIT;
    size_t used, off = 0;
    bool earlier;
    const char *set;

    mail_error_clear(&err);
    mail_imap_parser_init(&p, NULL, NULL, NULL);
    CHECK(feed_next(&p, in, sizeof in - 1, &off, &err) == 1);
    set = mail_imap_vanished(&p.resp, &earlier);
    CHECK_STR(set, "1:3,7,12:10,100:4294967295");
    CHECK(earlier);
    memset(&r, 0, sizeof r);
    CHECK(mail_imap_set_ranges(set, add_range, &r, &err) == 0);
    CHECK(r.n == 4 && r.a[0] == 1 && r.b[0] == 3 && r.a[1] == 7 &&
          r.b[1] == 7 && r.a[2] == 10 && r.b[2] == 12 && r.a[3] == 100 &&
          r.b[3] == UINT32_MAX);
    CHECK(r.total == 3 + 1 + 3 + ((uint64_t)UINT32_MAX - 99));
    CHECK(feed_next(&p, in, sizeof in - 1, &off, &err) == 1);
    CHECK_STR(mail_imap_vanished(&p.resp, &earlier), "5");
    CHECK(!earlier);
    /* no set, or something else in the parentheses: not read */
    CHECK(feed_next(&p, in, sizeof in - 1, &off, &err) == 1);
    CHECK(mail_imap_vanished(&p.resp, &earlier) == NULL);
    CHECK(feed_next(&p, in, sizeof in - 1, &off, &err) == 1);
    CHECK_STR(mail_imap_vanished(&p.resp, &earlier), "5");
    CHECK(!earlier);
    CHECK(feed_next(&p, in, sizeof in - 1, &off, &err) == 1);
    CHECK(mail_imap_vanished(&p.resp, &earlier) == NULL);
    mail_imap_parser_release(&p);

    /* one line of 200 KB: every odd UID to 69999, no literal */
    CHECK(mail_buf_addstr(&big, "* VANISHED (EARLIER) 1") == 0);
    {
        int rc = 0;

        for (unsigned i = 3; i < 70000; i += 2)
            rc |= mail_buf_printf(&big, ",%u", i);
        CHECK(rc == 0);
    }
    CHECK(mail_buf_addstr(&big, "\r\n") == 0);
    CHECK(big.len > 200000);
    mail_imap_parser_init(&p, NULL, NULL, NULL);
    CHECK(mail_imap_parser_feed(&p, big.data, big.len, &used, &err) == 1);
    CHECK(used == big.len);
    set = mail_imap_vanished(&p.resp, &earlier);
    CHECK(set != NULL && earlier);
    memset(&r, 0, sizeof r);
    CHECK(mail_imap_set_ranges(set, add_range, &r, &err) == 0);
    CHECK(r.n == 35000 && r.total == 35000);
    CHECK(r.a[7] == 15 && r.b[7] == 15);
    mail_imap_parser_release(&p);
    mail_buf_release(&big);

    /* malformed sets: refused whole, fn never called */
    const char *bad[] = { "", "0", "1:*", "*", "1,", ",1", "1::2", "a",
                          "1 2", "4294967296", "3:0", "-1", "1:2:3",
                          "2,0:4", "1,2,x" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&r, 0, sizeof r);
        mail_error_clear(&err);
        CHECK(mail_imap_set_ranges(bad[i], add_range, &r, &err) == -1);
        CHECK(err.kind == MAIL_ERR_PROTOCOL && r.n == 0);
    }
    CHECK(mail_imap_set_ranges(NULL, add_range, &r, &err) == -1);
}

int main(void)
{
    RUN(test_status);
    RUN(test_untagged);
    RUN(test_quoted);
    RUN(test_fetch);
    RUN(test_item_order);
    RUN(test_big_literal);
    RUN(test_limits);
    RUN(test_garbage);
    RUN(test_servers);
    RUN(test_bodystructure);
    RUN(test_sink_error);
    RUN(test_esearch);
    RUN(test_vanished);
    return test_done();
}
