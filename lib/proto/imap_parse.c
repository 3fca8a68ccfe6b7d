/*
 * imap_parse.c - resumable IMAP response parser; see mail/imap_parse.h.
 *
 * Bytes are gathered into one line segment at a time (up to LF).  A
 * complete segment is tokenised at once; when it ends in a literal
 * announcement the parser switches to counting literal bytes (to a sink or
 * into the tree) and then gathers the next segment, which continues the
 * same response.  So the only state kept between calls is the segment
 * buffer, the stack of open lists and the literal in progress.
 */
#include <stdlib.h>
#include <string.h>

#include "mail/imap.h"
#include "mail/imap_parse.h"

enum {
    ST_START,      /* gathering the first segment of a response */
    ST_CONT,       /* gathering a segment after a literal */
    ST_LITERAL,    /* literal bytes */
    ST_DEAD,       /* after an error */
};

#define BODY_DEPTH_MAX 32
#define BODY_PARTS_MAX 10000

void mail_imap_limits_default(struct mail_imap_limits *l)
{
    l->line_max = 256 * 1024 - 2;     /* what mail_conn_read_line allows */
    l->depth_max = 16;
    l->items_max = 200000;
    l->response_max = 8u << 20;
    l->inline_literal_max = 1u << 20;
    l->literal_max = (uint64_t)2 << 30;
}

static int perr(struct mail_imap_parser *p, struct mail_error *err,
                const char *what)
{
    p->state = ST_DEAD;
    return mail_error_set(err, MAIL_ERR_PROTOCOL, "IMAP response: %s", what);
}

static int oom(struct mail_imap_parser *p, struct mail_error *err)
{
    p->state = ST_DEAD;
    return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
}

static void free_nodes(struct mail_imap_node *n)
{
    while (n) {
        struct mail_imap_node *next = n->next;

        free_nodes(n->child);
        free(n->data);
        free(n);
        n = next;
    }
}

static void clear_resp(struct mail_imap_parser *p)
{
    free_nodes(p->resp.args.child);
    memset(&p->resp, 0, sizeof p->resp);
    p->resp.args.type = MAIL_IMAP_LIST;
    p->resp.keyword = p->resp.code = p->resp.code_args = p->resp.text = "";
    mail_buf_reset(&p->hdr);
    mail_buf_reset(&p->seg);
    p->stack[0] = &p->resp.args;
    p->tail[0] = NULL;
    p->depth = 0;
    p->items = 0;
    p->bytes = 0;
    p->lit_left = 0;
    p->lit_node = NULL;
    p->lit_sink = NULL;
    p->lit_ctx = NULL;
    p->fresh = false;
}

void mail_imap_parser_init(struct mail_imap_parser *p,
                           const struct mail_imap_limits *lim,
                           mail_imap_route_fn route, void *route_arg)
{
    memset(p, 0, sizeof *p);
    if (lim)
        p->lim = *lim;
    else
        mail_imap_limits_default(&p->lim);
    if (p->lim.depth_max > MAIL_IMAP_DEPTH_HARD)
        p->lim.depth_max = MAIL_IMAP_DEPTH_HARD;
    p->route = route;
    p->route_arg = route_arg;
    mail_buf_init(&p->seg, p->lim.line_max + 2);
    mail_buf_init(&p->hdr, p->lim.line_max + 8);
    clear_resp(p);
    p->state = ST_START;
}

void mail_imap_parser_release(struct mail_imap_parser *p)
{
    clear_resp(p);
    mail_buf_release(&p->seg);
    mail_buf_release(&p->hdr);
}

void mail_imap_parser_reset(struct mail_imap_parser *p)
{
    clear_resp(p);
    p->state = ST_START;
}

bool mail_imap_parser_busy(const struct mail_imap_parser *p)
{
    return p->state != ST_START || p->seg.len > 0;
}

/* ---- tree building ---- */

static struct mail_imap_node *add_node(struct mail_imap_parser *p,
                                       enum mail_imap_node_type type,
                                       struct mail_error *err)
{
    struct mail_imap_node *n, *list = p->stack[p->depth];

    if (p->items >= p->lim.items_max) {
        perr(p, err, "too many items in one response");
        return NULL;
    }
    n = calloc(1, sizeof *n);
    if (!n) {
        oom(p, err);
        return NULL;
    }
    n->type = type;
    if (p->tail[p->depth])
        p->tail[p->depth]->next = n;
    else
        list->child = n;
    p->tail[p->depth] = n;
    list->count++;
    p->items++;
    return n;
}

static int set_data(struct mail_imap_parser *p, struct mail_imap_node *n,
                    const char *s, size_t len, struct mail_error *err)
{
    n->data = malloc(len + 1);
    if (!n->data)
        return oom(p, err);
    if (len)
        memcpy(n->data, s, len);
    n->data[len] = '\0';
    n->len = len;
    return 0;
}

static bool is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

/* A literal announcement at s[*pos] ("{N}", "{N+}", "~{N}"): it must end
 * the segment.  Sets up the literal state; 0 or -1. */
static int start_literal(struct mail_imap_parser *p, const char *s, size_t n,
                         size_t pos, struct mail_error *err)
{
    bool binary = false;
    uint64_t size = 0;
    size_t digits = 0;
    mail_sink_fn sink = NULL;
    void *ctx = NULL;
    struct mail_imap_node *node;

    if (s[pos] == '~') {
        binary = true;
        pos++;
        if (pos >= n || s[pos] != '{')
            return perr(p, err, "malformed literal");
    }
    for (pos++; pos < n && s[pos] >= '0' && s[pos] <= '9'; pos++, digits++) {
        size = size * 10 + (uint64_t)(s[pos] - '0');
        if (size > p->lim.literal_max)
            return perr(p, err, "literal larger than the limit");
    }
    if (pos < n && s[pos] == '+')
        pos++;
    if (digits == 0 || pos >= n || s[pos] != '}')
        return perr(p, err, "malformed literal");
    if (pos + 1 != n)
        return perr(p, err, "text after a literal announcement");
    if (p->route &&
        p->route(p->route_arg, &p->resp, p->stack[p->depth],
                 p->tail[p->depth], size, &sink, &ctx, err) < 0) {
        p->state = ST_DEAD;
        return -1;
    }
    if (!sink) {
        if (size > p->lim.inline_literal_max ||
            size > p->lim.response_max - p->bytes)
            return perr(p, err, "literal too large to keep in memory");
        p->bytes += (size_t)size;
    }
    node = add_node(p, sink ? MAIL_IMAP_STREAMED : MAIL_IMAP_STRING, err);
    if (!node)
        return -1;
    node->literal = true;
    node->binary = binary;
    node->len = size;
    if (!sink) {
        node->data = malloc((size_t)size + 1);
        if (!node->data)
            return oom(p, err);
        node->data[size] = '\0';
        node->len = 0;   /* filled as bytes arrive */
    }
    p->lit_node = node;
    p->lit_sink = sink;
    p->lit_ctx = ctx;
    p->lit_left = size;
    p->state = size ? ST_LITERAL : ST_CONT;
    return 0;
}

/* Tokens of one segment, from s[0].  1: response complete; 0: a literal
 * follows; -1: error. */
static int tokens(struct mail_imap_parser *p, const char *s, size_t n,
                  struct mail_error *err)
{
    size_t pos = 0;

    for (;;) {
        struct mail_imap_node *node;
        size_t start;

        while (pos < n && s[pos] == ' ')
            pos++;
        if (pos >= n)
            break;
        switch (s[pos]) {
        case '(':
            if (p->depth >= p->lim.depth_max)
                return perr(p, err, "lists nested too deeply");
            node = add_node(p, MAIL_IMAP_LIST, err);
            if (!node)
                return -1;
            p->depth++;
            p->stack[p->depth] = node;
            p->tail[p->depth] = NULL;
            pos++;
            continue;
        case ')':
            if (p->depth == 0)
                return perr(p, err, "unbalanced parenthesis");
            p->depth--;
            pos++;
            continue;
        case '{':
        case '~':
            if (s[pos] == '{' || (pos + 1 < n && s[pos + 1] == '{'))
                return start_literal(p, s, n, pos, err);
            break;
        case '"': {
            char *d;
            size_t o = 0;

            node = add_node(p, MAIL_IMAP_STRING, err);
            if (!node)
                return -1;
            start = ++pos;
            while (pos < n && s[pos] != '"')
                pos += s[pos] == '\\' ? 2 : 1;
            if (pos >= n)
                return perr(p, err, "unterminated quoted string");
            d = node->data = malloc(pos - start + 1);
            if (!d)
                return oom(p, err);
            for (size_t i = start; i < pos; i++) {
                if (s[i] == '\\')
                    i++;
                if (s[i] == '\0')
                    return perr(p, err, "NUL in a quoted string");
                d[o++] = s[i];
            }
            d[o] = '\0';
            node->len = o;
            pos++;
            continue;
        }
        default:
            break;
        }
        /* An atom; "[...]" inside it may hold spaces and parentheses
         * (BODY[HEADER.FIELDS (FROM)]).  An unclosed '[' is taken as a
         * plain character (mailbox names may contain one). */
        start = pos;
        {
            size_t end = pos, bracket_end = 0;
            bool in_br = false;

            for (; end < n; end++) {
                unsigned char c = (unsigned char)s[end];

                if (is_ctl(c))
                    return perr(p, err, "control character in an atom");
                if (in_br) {
                    if (c == ']') {
                        in_br = false;
                        bracket_end = 0;
                    }
                    continue;
                }
                if (c == ' ' || c == '(' || c == ')')
                    break;
                if (c == '[') {
                    in_br = true;
                    bracket_end = end;
                }
            }
            if (in_br) {
                /* unclosed: stop at the first delimiter after '[' */
                for (end = bracket_end + 1;
                     end < n && s[end] != ' ' && s[end] != '(' &&
                     s[end] != ')';
                     end++)
                    ;
            }
            pos = end;
        }
        if (pos - start == 3 && mail_strncasecmp(s + start, "NIL", 3) == 0) {
            if (!add_node(p, MAIL_IMAP_NIL, err))
                return -1;
            continue;
        }
        node = add_node(p, MAIL_IMAP_ATOM, err);
        if (!node || set_data(p, node, s + start, pos - start, err) < 0)
            return -1;
    }
    if (p->depth > 0)
        return perr(p, err, "unbalanced parenthesis");
    return 1;
}

static const struct {
    const char *name;
    enum mail_imap_resp_type type;
} resp_types[] = {
    { "CAPABILITY", MAIL_IMAP_T_CAPABILITY },
    { "FLAGS", MAIL_IMAP_T_FLAGS },
    { "LIST", MAIL_IMAP_T_LIST },
    { "LSUB", MAIL_IMAP_T_LSUB },
    { "SEARCH", MAIL_IMAP_T_SEARCH },
    { "ESEARCH", MAIL_IMAP_T_ESEARCH },
    { "STATUS", MAIL_IMAP_T_STATUS_MBX },
    { "ENABLED", MAIL_IMAP_T_ENABLED },
    { "VANISHED", MAIL_IMAP_T_VANISHED },
    { "NAMESPACE", MAIL_IMAP_T_NAMESPACE },
}, num_types[] = {
    { "EXISTS", MAIL_IMAP_T_EXISTS },
    { "RECENT", MAIL_IMAP_T_RECENT },
    { "EXPUNGE", MAIL_IMAP_T_EXPUNGE },
    { "FETCH", MAIL_IMAP_T_FETCH },
};

static const char *const status_names[] = {
    [MAIL_IMAP_ST_OK] = "OK", [MAIL_IMAP_ST_NO] = "NO",
    [MAIL_IMAP_ST_BAD] = "BAD", [MAIL_IMAP_ST_BYE] = "BYE",
    [MAIL_IMAP_ST_PREAUTH] = "PREAUTH",
};

/* A word up to a space or the end. */
static size_t word(const char *s, size_t n, size_t pos)
{
    size_t e = pos;

    while (e < n && s[e] != ' ')
        e++;
    return e - pos;
}

static bool word_is(const char *s, size_t len, const char *name)
{
    return strlen(name) == len && mail_strncasecmp(s, name, len) == 0;
}

/* hdr holds "keyword\0code\0args\0text\0"; offsets into it. */
static int header_strings(struct mail_imap_parser *p, const char *kw,
                          size_t kwlen, const char *rt, size_t rtlen,
                          struct mail_error *err)
{
    size_t o_code, o_args, o_text, i = 0, clen = 0, alen = 0;
    const char *args = "";

    if (mail_buf_add(&p->hdr, kw, kwlen) < 0 || mail_buf_addch(&p->hdr, 0) < 0)
        return oom(p, err);
    o_code = p->hdr.len;
    while (rtlen && *rt == ' ') {
        rt++;
        rtlen--;
    }
    if (rtlen && rt[0] == '[') {
        const char *close = memchr(rt, ']', rtlen);

        if (close) {
            i = 1;
            while (rt + i < close && rt[i] != ' ')
                i++;
            clen = i - 1;
            args = rt + i + (rt + i < close);
            alen = (size_t)(close - args);
            i = (size_t)(close - rt) + 1;
            while (i < rtlen && rt[i] == ' ')
                i++;
        }
    }
    for (size_t k = 0; k < clen; k++) {
        char c = rt[1 + k];

        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (mail_buf_addch(&p->hdr, c) < 0)
            return oom(p, err);
    }
    if (mail_buf_addch(&p->hdr, 0) < 0)
        return oom(p, err);
    o_args = p->hdr.len;
    if (mail_buf_add(&p->hdr, args, alen) < 0 || mail_buf_addch(&p->hdr, 0) < 0)
        return oom(p, err);
    o_text = p->hdr.len;
    if (mail_buf_add(&p->hdr, rt + i, rtlen - i) < 0)
        return oom(p, err);
    p->resp.keyword = p->hdr.data;
    p->resp.code = p->hdr.data + o_code;
    p->resp.code_args = p->hdr.data + o_args;
    p->resp.text = p->hdr.data + o_text;
    return 0;
}

/* The start of a response: tag or "*" or "+", number, keyword.  1: the
 * response is complete (status, continuation); 0: tokens follow at
 * *rest; -1: error. */
static int header(struct mail_imap_parser *p, const char *s, size_t n,
                  size_t *rest, struct mail_error *err)
{
    struct mail_imap_resp *r = &p->resp;
    size_t pos = 0, len;
    const char *kw;

    if (n == 0)
        return perr(p, err, "empty line");
    if (s[0] == '+' && (n == 1 || s[1] == ' ')) {
        r->kind = MAIL_IMAP_RESP_CONT;
        return header_strings(p, "+", 1, s + (n > 1 ? 2 : 1),
                              n > 1 ? n - 2 : 0, err) < 0 ? -1 : 1;
    }
    if (s[0] == '*' && n > 1 && s[1] == ' ') {
        r->kind = MAIL_IMAP_RESP_UNTAGGED;
        pos = 2;
    } else {
        len = word(s, n, 0);
        if (len == 0 || len >= sizeof r->tag)
            return perr(p, err, "bad tag");
        for (size_t i = 0; i < len; i++)
            if (is_ctl((unsigned char)s[i]) || s[i] == '(' || s[i] == ')' ||
                s[i] == '{' || s[i] == '"' || s[i] == '*' || s[i] == '+')
                return perr(p, err, "bad tag");
        memcpy(r->tag, s, len);
        r->tag[len] = '\0';
        r->kind = MAIL_IMAP_RESP_TAGGED;
        pos = len + 1;
    }
    len = word(s, n, pos);
    if (len && r->kind == MAIL_IMAP_RESP_UNTAGGED && s[pos] >= '0' &&
        s[pos] <= '9') {
        uint64_t v = 0;

        for (size_t i = 0; i < len; i++) {
            if (s[pos + i] < '0' || s[pos + i] > '9')
                return perr(p, err, "bad message number");
            v = v * 10 + (uint64_t)(s[pos + i] - '0');
            if (v > UINT32_MAX)
                return perr(p, err, "bad message number");
        }
        r->has_number = true;
        r->number = (uint32_t)v;
        pos += len + 1;
        len = word(s, n, pos);
    }
    if (len == 0 || pos >= n)
        return perr(p, err, "missing keyword");
    kw = s + pos;
    pos += len;
    for (int st = MAIL_IMAP_ST_OK; st <= MAIL_IMAP_ST_PREAUTH; st++) {
        if (word_is(kw, len, status_names[st])) {
            r->status = (enum mail_imap_status)st;
            r->type = MAIL_IMAP_T_STATUS;
            return header_strings(p, kw, len, s + pos, n - pos, err) < 0
                       ? -1 : 1;
        }
    }
    if (r->kind == MAIL_IMAP_RESP_TAGGED)
        return perr(p, err, "tagged response without OK, NO or BAD");
    r->type = MAIL_IMAP_T_OTHER;
    if (r->has_number) {
        for (size_t i = 0; i < sizeof num_types / sizeof num_types[0]; i++)
            if (word_is(kw, len, num_types[i].name))
                r->type = num_types[i].type;
    } else {
        for (size_t i = 0; i < sizeof resp_types / sizeof resp_types[0]; i++)
            if (word_is(kw, len, resp_types[i].name))
                r->type = resp_types[i].type;
    }
    if (header_strings(p, kw, len, "", 0, err) < 0)
        return -1;
    *rest = pos;
    return 0;
}

/* A complete segment is in p->seg (LF removed). */
static int segment(struct mail_imap_parser *p, struct mail_error *err)
{
    const char *s = p->seg.data ? p->seg.data : "";
    size_t n = p->seg.len, rest = 0;
    int rc;

    if (n && s[n - 1] == '\r')
        n--;
    if (p->lim.response_max - p->bytes < n)
        return perr(p, err, "response too large");
    p->bytes += n;
    if (p->state == ST_START) {
        rc = header(p, s, n, &rest, err);
        if (rc != 0)
            return rc;
    }
    return tokens(p, s + rest, n - rest, err);
}

int mail_imap_parser_feed(struct mail_imap_parser *p, const char *data,
                          size_t len, size_t *used, struct mail_error *err)
{
    size_t i = 0;

    *used = 0;
    if (p->state == ST_DEAD)
        return mail_error_set(err, MAIL_ERR_INTERNAL,
                              "IMAP parser used after an error");
    if (p->fresh) {
        clear_resp(p);
        p->state = ST_START;
    }
    while (i < len) {
        if (p->state == ST_LITERAL) {
            size_t k = len - i;

            if (k > MAIL_IMAP_CHUNK)
                k = MAIL_IMAP_CHUNK;
            if (k > p->lit_left)
                k = (size_t)p->lit_left;
            if (p->lit_sink) {
                if (p->lit_sink(p->lit_ctx, data + i, k, err) < 0) {
                    /* err: the sink's own error */
                    p->state = ST_DEAD;
                    *used = i;
                    return -1;
                }
            } else {
                memcpy(p->lit_node->data + p->lit_node->len, data + i, k);
                p->lit_node->len += k;
            }
            i += k;
            p->lit_left -= k;
            if (p->lit_left == 0)
                p->state = ST_CONT;
            continue;
        }
        {
            const char *nl = memchr(data + i, '\n', len - i);
            size_t take = nl ? (size_t)(nl - (data + i)) : len - i;
            int rc;

            if (take > p->lim.line_max + 1 - p->seg.len ||
                mail_buf_add(&p->seg, data + i, take) < 0) {
                *used = i;
                return perr(p, err, "line too long");
            }
            i += take;
            if (!nl)
                break;
            i++;   /* the LF */
            rc = segment(p, err);
            mail_buf_reset(&p->seg);
            if (rc < 0) {
                *used = i;
                return -1;
            }
            if (rc == 1) {
                p->fresh = true;
                p->state = ST_START;
                *used = i;
                return 1;
            }
            /* rc == 0: a literal (state set by start_literal) */
        }
    }
    *used = i;
    return 0;
}

int mail_imap_read_response(struct mail_imap_parser *p, struct mail_conn *c,
                            struct mail_error *err)
{
    char buf[MAIL_IMAP_CHUNK];

    for (;;) {
        size_t used;
        int rc;

        if (p->state == ST_LITERAL) {
            size_t want = p->lit_left < sizeof buf ? (size_t)p->lit_left
                                                   : sizeof buf;
            ssize_t got = mail_conn_read_some(c, buf, want, err);

            if (got < 0) {
                p->state = ST_DEAD;
                return -1;
            }
            rc = mail_imap_parser_feed(p, buf, (size_t)got, &used, err);
        } else {
            char *line;
            size_t len;

            if (mail_conn_read_line(c, &line, &len, p->lim.line_max, err) < 0) {
                p->state = ST_DEAD;
                return -1;
            }
            rc = mail_imap_parser_feed(p, line, len, &used, err);
            if (rc == 0)
                rc = mail_imap_parser_feed(p, "\n", 1, &used, err);
        }
        if (rc < 0)
            return -1;
        if (rc == 1)
            return 0;
    }
}

/* ---- node helpers ---- */

const struct mail_imap_node *
mail_imap_node_at(const struct mail_imap_node *list,
                  size_t n)
{
    const struct mail_imap_node *c;

    if (!list || list->type != MAIL_IMAP_LIST)
        return NULL;
    for (c = list->child; c && n; c = c->next)
        n--;
    return c;
}

const char *mail_imap_node_str(const struct mail_imap_node *n)
{
    if (!n || (n->type != MAIL_IMAP_ATOM && n->type != MAIL_IMAP_STRING))
        return NULL;
    return n->data;
}

bool mail_imap_node_is(const struct mail_imap_node *n, const char *s)
{
    const char *d = mail_imap_node_str(n);

    return d && n->len == strlen(s) && mail_strcasecmp(d, s) == 0;
}

int mail_imap_node_u64(const struct mail_imap_node *n, uint64_t *v)
{
    uint64_t x = 0;

    if (!n || n->type != MAIL_IMAP_ATOM || n->len == 0 || n->len > 20)
        return -1;
    for (size_t i = 0; i < n->len; i++) {
        unsigned d = (unsigned)(n->data[i] - '0');

        if (d > 9 || x > (UINT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    *v = x;
    return 0;
}

int mail_imap_node_u32(const struct mail_imap_node *n, uint32_t *v)
{
    uint64_t x;

    if (mail_imap_node_u64(n, &x) < 0 || x > UINT32_MAX)
        return -1;
    *v = (uint32_t)x;
    return 0;
}

const struct mail_imap_node *
mail_imap_fetch_item(const struct mail_imap_resp *r,
                     const char *name)
{
    const struct mail_imap_node *list = r->args.child, *c;

    if (r->type != MAIL_IMAP_T_FETCH || !list || list->type != MAIL_IMAP_LIST)
        return NULL;
    for (c = list->child; c && c->next; c = c->next->next)
        if (mail_imap_node_is(c, name))
            return c->next;
    return NULL;
}

/* ---- BODYSTRUCTURE ---- */

static const char *str_or_empty(const struct mail_imap_node *n)
{
    const char *s = mail_imap_node_str(n);

    return s ? s : "";
}

static void lower_copy(char *dst, size_t size, const char *src)
{
    size_t i;

    for (i = 0; src[i] && i + 1 < size; i++)
        dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? (char)(src[i] + 32)
                                                  : src[i];
    dst[i] = '\0';
}

static const struct mail_imap_node *as_list(const struct mail_imap_node *n)
{
    return n && n->type == MAIL_IMAP_LIST ? n : NULL;
}

static void disposition(struct mail_imap_bodypart *b,
                        const struct mail_imap_node *n)
{
    if (!as_list(n))
        return;
    b->disposition = str_or_empty(mail_imap_node_at(n, 0));
    b->disp_params = as_list(mail_imap_node_at(n, 1));
}

static void bodypart_clear(struct mail_imap_bodypart *b)
{
    for (size_t i = 0; i < b->nparts; i++)
        bodypart_clear(&b->parts[i]);
    free(b->parts);
}

static int body_fill(struct mail_imap_bodypart *b,
                     const struct mail_imap_node *n, int depth,
                     size_t *budget, struct mail_error *err)
{
    const struct mail_imap_node *c;
    uint64_t v;

    memset(b, 0, sizeof *b);
    b->id = b->description = b->encoding = b->disposition = "";
    if (!as_list(n) || !n->child)
        return mail_error_set(err, MAIL_ERR_PROTOCOL,
                              "BODYSTRUCTURE: a body part is not a list");
    if (depth > BODY_DEPTH_MAX || *budget == 0)
        return mail_error_set(err, MAIL_ERR_PROTOCOL,
                              "BODYSTRUCTURE: too deep or too many parts");
    (*budget)--;
    if (n->child->type == MAIL_IMAP_LIST) {
        size_t k = 0;

        for (c = n->child; c && c->type == MAIL_IMAP_LIST; c = c->next)
            k++;
        b->parts = calloc(k, sizeof *b->parts);
        if (!b->parts)
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        lower_copy(b->type, sizeof b->type, "multipart");
        for (c = n->child; c && c->type == MAIL_IMAP_LIST; c = c->next) {
            b->nparts++;
            if (body_fill(&b->parts[b->nparts - 1], c, depth + 1, budget,
                          err) < 0)
                return -1;
        }
        lower_copy(b->subtype, sizeof b->subtype, str_or_empty(c));
        if (c) {
            b->params = as_list(c->next);
            if (c->next)
                disposition(b, c->next->next);
        }
        return 0;
    }
    lower_copy(b->type, sizeof b->type, str_or_empty(mail_imap_node_at(n, 0)));
    lower_copy(b->subtype, sizeof b->subtype,
               str_or_empty(mail_imap_node_at(n, 1)));
    b->params = as_list(mail_imap_node_at(n, 2));
    b->id = str_or_empty(mail_imap_node_at(n, 3));
    b->description = str_or_empty(mail_imap_node_at(n, 4));
    b->encoding = str_or_empty(mail_imap_node_at(n, 5));
    if (mail_imap_node_u64(mail_imap_node_at(n, 6), &v) == 0)
        b->size = v;
    if (strcmp(b->type, "message") == 0 &&
        (strcmp(b->subtype, "rfc822") == 0 ||
         strcmp(b->subtype, "global") == 0) &&
        as_list(mail_imap_node_at(n, 8))) {
        b->parts = calloc(1, sizeof *b->parts);
        if (!b->parts)
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        b->nparts = 1;
        if (body_fill(b->parts, mail_imap_node_at(n, 8), depth + 1, budget,
                      err) < 0)
            return -1;
        if (mail_imap_node_u64(mail_imap_node_at(n, 9), &v) == 0)
            b->lines = v;
        disposition(b, mail_imap_node_at(n, 11));
    } else if (strcmp(b->type, "text") == 0) {
        if (mail_imap_node_u64(mail_imap_node_at(n, 7), &v) == 0)
            b->lines = v;
        disposition(b, mail_imap_node_at(n, 9));
    } else {
        disposition(b, mail_imap_node_at(n, 8));
    }
    return 0;
}

struct mail_imap_bodypart *
mail_imap_bodystructure(const struct mail_imap_node *n,
                        struct mail_error *err)
{
    struct mail_imap_bodypart *b = calloc(1, sizeof *b);
    size_t budget = BODY_PARTS_MAX;

    if (!b) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    if (body_fill(b, n, 0, &budget, err) < 0) {
        mail_imap_bodypart_free(b);
        return NULL;
    }
    return b;
}

void mail_imap_bodypart_free(struct mail_imap_bodypart *b)
{
    if (!b)
        return;
    bodypart_clear(b);
    free(b);
}

/* ---- sequence sets and ESEARCH (RFC 4731) ---- */

static int seqset_add(struct mail_imap_uids *out, uint32_t v, size_t max,
                      struct mail_error *err)
{
    if (out->n == out->alloc) {
        size_t na = out->alloc ? 2 * out->alloc : 64;
        uint32_t *nv;

        if (na > max)
            na = max;
        if (out->n >= na)
            return mail_error_set(err, MAIL_ERR_PROTOCOL, "a sequence set "
                                  "of more than %zu numbers", max);
        nv = realloc(out->v, na * sizeof *nv);
        if (!nv)
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        out->v = nv;
        out->alloc = na;
    }
    out->v[out->n++] = v;
    return 0;
}

static int cmp_u32_asc(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

int mail_imap_seqset_parse(const char *set, struct mail_imap_uids *out,
                           size_t max, struct mail_error *err)
{
    const char *p = set;
    size_t i, j;

    if (!p || !*p)
        return mail_error_set(err, MAIL_ERR_PROTOCOL, "an empty sequence "
                              "set");
    for (;;) {
        unsigned long long a, b;
        char *end;

        if (*p < '1' || *p > '9')
            goto bad;
        a = strtoull(p, &end, 10);
        if (a > UINT32_MAX)
            goto bad;
        b = a;
        p = end;
        if (*p == ':') {
            if (p[1] < '1' || p[1] > '9')
                goto bad;
            b = strtoull(p + 1, &end, 10);
            if (b > UINT32_MAX)
                goto bad;
            p = end;
        }
        if (a > b) {
            unsigned long long t = a;

            a = b;
            b = t;
        }
        if (b - a >= max)
            return mail_error_set(err, MAIL_ERR_PROTOCOL, "a sequence set "
                                  "of more than %zu numbers", max);
        for (unsigned long long v = a; v <= b; v++)
            if (seqset_add(out, (uint32_t)v, max, err) < 0)
                return -1;
        if (!*p)
            break;
        if (*p != ',')
            goto bad;
        p++;
    }
    if (out->n)
        qsort(out->v, out->n, sizeof *out->v, cmp_u32_asc);
    for (i = j = 0; i < out->n; i++)
        if (!j || out->v[j - 1] != out->v[i])
            out->v[j++] = out->v[i];
    out->n = j;
    return 0;
bad:
    return mail_error_set(err, MAIL_ERR_PROTOCOL, "a malformed sequence set: "
                          "%.40s", set);
}

const char *mail_imap_esearch_tag(const struct mail_imap_resp *r)
{
    const struct mail_imap_node *n;

    if (r->kind != MAIL_IMAP_RESP_UNTAGGED || r->type != MAIL_IMAP_T_ESEARCH)
        return NULL;
    n = r->args.child;
    if (!n || n->type != MAIL_IMAP_LIST)
        return NULL;
    n = n->child;
    if (!n || !mail_imap_node_is(n, "TAG") || !n->next ||
        (n->next->type != MAIL_IMAP_STRING && n->next->type != MAIL_IMAP_ATOM))
        return NULL;
    return n->next->data;
}

const char *mail_imap_esearch_all(const struct mail_imap_resp *r,
                                  bool *found)
{
    const struct mail_imap_node *n;

    *found = false;
    if (r->kind != MAIL_IMAP_RESP_UNTAGGED || r->type != MAIL_IMAP_T_ESEARCH)
        return NULL;
    n = r->args.child;
    if (n && n->type == MAIL_IMAP_LIST)       /* (TAG "A5") */
        n = n->next;
    if (n && mail_imap_node_is(n, "UID"))
        n = n->next;
    *found = true;
    /* then pairs: name value */
    for (; n && n->next; n = n->next->next)
        if (mail_imap_node_is(n, "ALL"))
            return n->next->type == MAIL_IMAP_ATOM ? n->next->data : NULL;
    return NULL;
}
