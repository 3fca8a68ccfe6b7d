/*
 * mime.c - the streaming MIME parser.
 *
 * Input is cut into lines (LF or CRLF; a bare CR is data).  Only three
 * things are kept of a line: whether it is empty, whether it ends the
 * header being read, and, for lines starting with "--" while a multipart
 * is open, its first PEEK_MAX bytes, to compare with the open boundaries.
 * Everything else streams through: header bytes into the header buffer
 * of the part being read (bounded), body bytes of leaf parts into a
 * counting decoder (for the decoded size), preambles and epilogues
 * nowhere.  The line break before a boundary is held back one line so
 * that it is never counted as body.
 *
 * The open multiparts form a stack of levels, innermost last; each is an
 * ancestor of the current part.  A boundary line matches the innermost
 * level whose boundary it is exactly ("--b" then "--" or nothing, then
 * only blanks); matching an outer level closes the inner ones.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail/charset.h"
#include "mail/mime.h"

#define PEEK_MAX 256               /* line start kept for boundary checks */
#define BOUNDARY_MAX (PEEK_MAX - 4)
#define READ_CHUNK 65536
#define DEPTH_CEILING 1000         /* the most a caller may ask for */

enum pstate {
    ST_HEADER,      /* reading the current part's header */
    ST_BODY,        /* in a leaf body */
    ST_IGNORE,      /* preamble or epilogue of a multipart */
};

struct level {
    char *boundary;
    size_t blen;
    struct mail_part *part;
};

struct mail_mime {
    struct mail_mime_limits lim;
    struct mail_part *root;
    struct mail_part *cur;
    enum pstate state;
    struct level *levels;
    size_t nlevels;
    size_t nparts;
    size_t headers_total;
    bool hdr_over;              /* cur's header passed a limit */
    bool failed;
    bool finished;
    uint64_t off;
    uint64_t line_start;
    size_t line_len;
    int cand;                   /* line may be a boundary: -1 not yet
                                   known, 0 no, 1 yes */
    bool cr;
    int prev_eol;
    int held_eol;
    size_t peek_len, peek_ws;
    char peek[PEEK_MAX];
    struct mail_buf hdr;
    struct mail_decoder dec;
    struct mail_buf replay;     /* a line that ended a header: read again
                                   as the first line of the body */
    int replay_eol;
    bool replay_pending;
};

static const struct mail_mime_limits default_limits = {
    MAIL_HEADER_MAX, (size_t)8 << 20, 32, 10000,
};

/* --- parts -------------------------------------------------------------- */

static void part_free(struct mail_part *p)
{
    mail_header_release(&p->header);
    mail_params_release(&p->params);
    free(p->number);
    free(p->type);
    free(p->disposition);
    free(p->filename);
    free(p);
}

static void tree_free(struct mail_part *p)
{
    /* Iterative post-order, so that no input can exhaust the stack. */
    while (p) {
        if (p->child) {
            struct mail_part *c = p->child;

            p->child = NULL;
            p = c;
            continue;
        }
        {
            struct mail_part *next = p->next, *parent = p->parent;

            part_free(p);
            p = next ? next : parent;
        }
    }
}

static struct mail_part *part_new(struct mail_mime *m,
                                  struct mail_part *parent)
{
    struct mail_part *p = calloc(1, sizeof *p);

    if (!p) {
        m->failed = true;
        return NULL;
    }
    p->parent = parent;
    p->depth = parent ? parent->depth + 1 : 0;
    p->header_start = m->off;
    p->body_start = m->off;
    p->body_end = m->off;
    if (parent) {
        /* O(1), so that a message of many parts parses in linear time. */
        if (parent->last_child)
            parent->last_child->next = p;
        else
            parent->child = p;
        parent->last_child = p;
        parent->nchildren++;
    }
    m->nparts++;
    return p;
}

static char *str_dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Number a child of a multipart, or an encapsulated message root. */
static int number_part(struct mail_part *p, bool multipart)
{
    struct mail_part *parent = p->parent;
    struct mail_buf b = MAIL_BUF_INIT;

    if (!parent) {
        p->number = strdup(multipart ? "" : "1");
        return p->number ? 0 : -1;
    }
    if (!mail_part_is_multipart(parent) && parent->child == p &&
        parent->type && strncmp(parent->type, "message/", 8) == 0) {
        if (multipart)
            p->number = strdup(parent->number);
        else if (mail_buf_printf(&b, "%s%s1", parent->number,
                                 *parent->number ? "." : "") == 0)
            p->number = mail_buf_detach(&b);
    } else {
        size_t i = 1;
        const struct mail_part *s;

        if (parent->last_child == p)
            i = parent->nchildren;
        else
            for (s = parent->child; s && s != p; s = s->next)
                i++;
        if (mail_buf_printf(&b, "%s%s%zu", parent->number,
                            *parent->number ? "." : "", i) == 0)
            p->number = mail_buf_detach(&b);
    }
    mail_buf_release(&b);
    return p->number ? 0 : -1;
}

static bool valid_type(const char *t)
{
    const char *slash = strchr(t, '/');
    const char *c;

    if (!slash || slash == t || !slash[1] || strchr(slash + 1, '/'))
        return false;
    for (c = t; *c; c++)
        if ((unsigned char)*c <= 32 || (unsigned char)*c >= 127 ||
            strchr("()<>@,;:\\\"[]?=", *c))
            return false;
    return true;
}

static void lower_str(char *s)
{
    for (; s && *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

/* Fill in type, charset, disposition, filename and cte from the header. */
static int classify(struct mail_part *p)
{
    const char *ct = mail_header_get(&p->header, "content-type");
    const char *cd = mail_header_get(&p->header, "content-disposition");
    const char *deftype = "text/plain";
    const char *type, *cs, *fn;
    struct mail_params dp = MAIL_PARAMS_INIT;
    struct mail_error e;

    if (p->parent && mail_part_is_multipart(p->parent) &&
        strcmp(p->parent->type, "multipart/digest") == 0)
        deftype = "message/rfc822";
    if (mail_params_parse(&p->params, ct, &e) < 0)
        return -1;
    type = p->params.value;
    if (!ct || !*type)
        type = deftype;
    else if (!valid_type(type))
        type = strncmp(type, "text", 4) == 0 ? "text/plain" : deftype;
    p->type = strdup(type);
    if (!p->type)
        return -1;
    if (strncmp(p->type, "multipart/", 10) == 0) {
        const char *b = mail_params_get(&p->params, "boundary");

        if (!b || !*b || strlen(b) > BOUNDARY_MAX) {
            free(p->type);
            p->type = strdup("text/plain");
            p->flags |= MAIL_PART_NO_BOUNDARY;
            if (!p->type)
                return -1;
        }
    }
    cs = mail_params_get(&p->params, "charset");
    if (cs && *cs) {
        /* Point into params after lowercasing it there. */
        size_t i;

        for (i = 0; i < p->params.n; i++)
            if (strcmp(p->params.v[i].name, "charset") == 0) {
                lower_str(p->params.v[i].value);
                p->charset = p->params.v[i].value;
                break;
            }
    } else if (strncmp(p->type, "text/", 5) == 0) {
        p->charset = "us-ascii";
    }
    p->cte = mail_cte_from_name(mail_header_get(&p->header,
                                                "content-transfer-encoding"));
    if (cd) {
        if (mail_params_parse(&dp, cd, &e) < 0)
            return -1;
        if (*dp.value) {
            p->disposition = strdup(dp.value);
            if (!p->disposition)
                goto fail;
        }
    }
    fn = mail_params_get(&dp, "filename");
    if (!fn || !*fn)
        fn = mail_params_get(&p->params, "name");
    if (fn && *fn) {
        p->filename = str_dup(fn);
        if (!p->filename)
            goto fail;
    }
    mail_params_release(&dp);
    return 0;
fail:
    mail_params_release(&dp);
    return -1;
}

/* --- body routing ------------------------------------------------------- */

static void emit(struct mail_mime *m, const char *data, size_t n);

static void release_held(struct mail_mime *m)
{
    int h = m->held_eol;

    if (!h)
        return;
    m->held_eol = 0;
    emit(m, h == 2 ? "\r\n" : "\n", (size_t)h);
}

static void hdr_add(struct mail_mime *m, const char *data, size_t n)
{
    if (m->hdr_over)
        return;
    if (m->hdr.len + n > m->lim.header_max ||
        m->headers_total + m->hdr.len + n > m->lim.headers_total_max) {
        m->hdr_over = true;
        return;
    }
    if (mail_buf_add(&m->hdr, data, n) < 0)
        m->failed = true;
}

static void emit(struct mail_mime *m, const char *data, size_t n)
{
    if (m->held_eol)
        release_held(m);
    switch (m->state) {
    case ST_HEADER:
        hdr_add(m, data, n);
        break;
    case ST_BODY:
        mail_decoder_push(&m->dec, data, n, NULL);   /* a count */
        break;
    case ST_IGNORE:
    default:
        break;
    }
}

static void flush_peek(struct mail_mime *m)
{
    size_t i;

    if (m->peek_len)
        emit(m, m->peek, m->peek_len);
    for (i = 0; i < m->peek_ws; i++)
        emit(m, " ", 1);
    m->peek_len = 0;
    m->peek_ws = 0;
}

/* --- structure events --------------------------------------------------- */

/* Close part p at offset end (clamped to its body start). */
static void end_part(struct mail_mime *m, struct mail_part *p, uint64_t end);

/* The header of m->cur is complete (or cut): parse it and decide what the
 * body is. */
static void header_done(struct mail_mime *m, bool start_body)
{
    struct mail_part *p = m->cur;
    struct mail_error e;
    bool multipart;

    if (mail_header_parse(&p->header, m->hdr.data ? m->hdr.data : "",
                          m->hdr.len, &e) < 0 ||
        classify(p) < 0) {
        m->failed = true;
        return;
    }
    if (m->hdr_over)
        p->flags |= MAIL_PART_HEADER_TRUNCATED;
    m->headers_total += m->hdr.len;
    mail_buf_reset(&m->hdr);
    m->hdr_over = false;
    p->body_start = m->off;
    multipart = strncmp(p->type, "multipart/", 10) == 0;
    if (multipart && p->depth >= m->lim.depth_max) {
        p->flags |= MAIL_PART_TOO_DEEP;
        multipart = false;
    }
    if (!p->number && number_part(p, multipart) < 0) {
        m->failed = true;
        return;
    }
    if (!start_body)
        return;
    if (multipart) {
        struct level *l = &m->levels[m->nlevels];
        const char *b = mail_params_get(&p->params, "boundary");

        l->boundary = strdup(b);
        if (!l->boundary) {
            m->failed = true;
            return;
        }
        l->blen = strlen(b);
        l->part = p;
        m->nlevels++;
        m->state = ST_IGNORE;
        return;
    } else if (strncmp(p->type, "message/", 8) == 0 &&
               (strcmp(p->type, "message/rfc822") == 0 ||
                strcmp(p->type, "message/global") == 0) &&
               p->cte != MAIL_CTE_BASE64 && p->cte != MAIL_CTE_QP) {
        if (p->depth >= m->lim.depth_max) {
            p->flags |= MAIL_PART_TOO_DEEP;
        } else if (m->nparts >= m->lim.parts_max) {
            p->flags |= MAIL_PART_TOO_MANY;
        } else {
            struct mail_part *c = part_new(m, p);

            if (!c)
                return;
            m->cur = c;
            m->state = ST_HEADER;
            return;
        }
    }
    /* A leaf, or a container we do not descend into. */
    m->state = ST_BODY;
    mail_decoder_init(&m->dec, multipart ? MAIL_CTE_BINARY : p->cte,
                      mail_sink_count, &p->decoded_size);
}

static void end_part(struct mail_mime *m, struct mail_part *p, uint64_t end)
{
    const struct mail_part *c;

    if (p == m->cur) {
        if (m->state == ST_HEADER) {
            header_done(m, false);
            if (p->body_start > end)
                p->body_start = end;
        } else if (m->state == ST_BODY) {
            mail_decoder_finish(&m->dec, NULL);
        }
        m->state = ST_IGNORE;
    }
    if (p->body_start < p->header_start)
        p->body_start = p->header_start;
    p->body_end = end > p->body_start ? end : p->body_start;
    /* A degenerate child (say, a header whose empty line is also the line
     * break before the boundary) may end one line break later than end;
     * its parent must still contain it. */
    for (c = p->child; c; c = c->next)
        if (c->body_end > p->body_end)
            p->body_end = c->body_end;
}

/* Close every open part from m->cur up to, not including, stop. */
static void close_up_to(struct mail_mime *m, struct mail_part *stop,
                        uint64_t end)
{
    struct mail_part *p = m->cur;

    while (p && p != stop) {
        struct mail_part *parent = p->parent;

        end_part(m, p, end);
        if (p == m->cur)
            m->cur = parent;
        p = parent;
    }
}

static void on_boundary(struct mail_mime *m, size_t k, bool close)
{
    struct level *l = &m->levels[k];
    uint64_t end = m->line_start - (uint64_t)m->prev_eol;
    size_t j;

    m->held_eol = 0;    /* it belongs to the boundary */
    close_up_to(m, l->part, end);
    m->cur = l->part;
    for (j = k + 1; j < m->nlevels; j++) {
        /* Inner multiparts that never saw their close delimiter. */
        m->levels[j].part->flags |= MAIL_PART_NO_END;
        free(m->levels[j].boundary);
    }
    m->nlevels = k + 1;
    if (close) {
        free(l->boundary);
        m->nlevels = k;
        m->state = ST_IGNORE;
        return;
    }
    {
        struct mail_part *c = part_new(m, l->part);

        if (!c)
            return;
        c->header_start = m->off;
        if (number_part(c, false) < 0) {
            m->failed = true;
            return;
        }
        /* number_part gave "P.i"; a multipart child keeps that number
         * (only encapsulated roots share their parent's number). */
        m->cur = c;
        m->state = ST_HEADER;
        mail_buf_reset(&m->hdr);
        m->hdr_over = false;
    }
}

/* Is the peeked line a boundary?  Returns the level, or -1. */
static long match_boundary(struct mail_mime *m, bool *close)
{
    size_t k = m->nlevels;

    while (k-- > 0) {
        const struct level *l = &m->levels[k];
        const char *rest;
        size_t restlen, i;

        if (m->peek_len < 2 + l->blen ||
            memcmp(m->peek + 2, l->boundary, l->blen) != 0)
            continue;
        rest = m->peek + 2 + l->blen;
        restlen = m->peek_len - 2 - l->blen;
        *close = restlen >= 2 && rest[0] == '-' && rest[1] == '-';
        for (i = *close ? 2 : 0; i < restlen; i++)
            if (rest[i] != ' ' && rest[i] != '\t')
                break;
        if (i < restlen)
            continue;
        if (!*close && m->nparts >= m->lim.parts_max) {
            l->part->flags |= MAIL_PART_TOO_MANY;
            return -1;
        }
        return (long)k;
    }
    return -1;
}

static void content_byte(struct mail_mime *m, char c);

static void reset_line(struct mail_mime *m)
{
    m->line_len = 0;
    m->cand = 0;
    m->peek_len = 0;
    m->peek_ws = 0;
    m->line_start = m->off;
}

/* Is this line (without its line break) part of a header section?  As
 * python's email package decides (its headerRE): a continuation line (it
 * starts with a blank), an mbox "From " line, or a field name of
 * printable ASCII followed by a colon.  We also accept blanks between the
 * name and the colon (obsolete syntax).  Any other line ends the header
 * and is the first line of the body. */
static bool header_line(const char *s, size_t n)
{
    size_t i = 0;

    if (n == 0 || s[0] == ' ' || s[0] == '\t')
        return true;
    if (n >= 5 && memcmp(s, "From ", 5) == 0)
        return true;
    while (i < n && (unsigned char)s[i] > 32 && (unsigned char)s[i] < 127 &&
           s[i] != ':')
        i++;
    while (i > 0 && i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i < n && s[i] == ':';
}

/* The line just read (its bytes are the end of m->hdr) is not a header
 * line: the header ends before it, and the line is read again as body. */
static void body_from_here(struct mail_mime *m, int eol)
{
    const char *line = m->hdr.data + m->hdr.len - m->line_len;

    mail_buf_reset(&m->replay);
    if (mail_buf_add(&m->replay, line, m->line_len) < 0) {
        m->failed = true;
        return;
    }
    m->hdr.len -= m->line_len;
    m->cur->flags |= MAIL_PART_NO_SEPARATOR;
    m->replay_eol = eol;
    m->replay_pending = true;
    /* The body starts where the line starts. */
    m->off = m->line_start;
    header_done(m, true);
    reset_line(m);
}

static void end_line1(struct mail_mime *m, int eol);

/* End a line, then read again any line that ended a header (a loop, not
 * recursion: an encapsulated message may end its header on it too, at
 * most once per level). */
static void end_line(struct mail_mime *m, int eol)
{
    struct mail_buf line = MAIL_BUF_INIT;

    end_line1(m, eol);
    while (m->replay_pending && !m->failed) {
        struct mail_buf t = line;
        size_t i;
        int e = m->replay_eol;

        line = m->replay;
        m->replay = t;
        m->replay_pending = false;
        for (i = 0; i < line.len; i++) {
            m->off++;
            content_byte(m, line.data[i]);
        }
        m->off += (uint64_t)e;
        end_line1(m, e);
    }
    mail_buf_release(&line);
}

static void end_line1(struct mail_mime *m, int eol)
{
    bool empty = m->line_len == 0;

    if (m->cand == 1) {
        bool close;
        long k = match_boundary(m, &close);

        if (k >= 0) {
            on_boundary(m, (size_t)k, close);
            m->prev_eol = eol;
            reset_line(m);
            return;
        }
    }
    if (m->cand != 0)
        flush_peek(m);
    switch (m->state) {
    case ST_HEADER:
        if (m->held_eol)
            release_held(m);
        if (!empty && !m->hdr_over && m->hdr.len >= m->line_len &&
            !header_line(m->hdr.data + m->hdr.len - m->line_len,
                         m->line_len)) {
            body_from_here(m, eol);
            return;
        }
        hdr_add(m, eol == 2 ? "\r\n" : "\n", (size_t)eol);
        if (empty || m->hdr_over)
            header_done(m, true);
        break;
    case ST_BODY:
        release_held(m);
        m->held_eol = eol;
        break;
    case ST_IGNORE:
    default:
        m->held_eol = 0;
        break;
    }
    m->prev_eol = eol;
    reset_line(m);
}

static void content_byte(struct mail_mime *m, char c)
{
    if (m->line_len++ == 0)
        m->cand = (m->nlevels > 0 && c == '-') ? -1 : 0;
    if (m->cand == 0) {
        emit(m, &c, 1);
        return;
    }
    if (m->cand == -1) {
        m->peek[m->peek_len++] = c;
        if (m->line_len == 2) {
            if (c == '-') {
                m->cand = 1;
            } else {
                m->cand = 0;
                flush_peek(m);
            }
        }
        return;
    }
    if (m->peek_len < PEEK_MAX && m->peek_ws == 0) {
        m->peek[m->peek_len++] = c;
        return;
    }
    if (c == ' ' || c == '\t') {
        m->peek_ws++;
        return;
    }
    m->cand = 0;
    flush_peek(m);
    emit(m, &c, 1);
}

/* --- public ------------------------------------------------------------- */

struct mail_mime *mail_mime_new(const struct mail_mime_limits *lim,
                                struct mail_error *err)
{
    struct mail_mime *m = calloc(1, sizeof *m);

    if (!m) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    m->lim = default_limits;
    if (lim) {
        if (lim->header_max)
            m->lim.header_max = lim->header_max;
        if (lim->headers_total_max)
            m->lim.headers_total_max = lim->headers_total_max;
        if (lim->depth_max)
            m->lim.depth_max = lim->depth_max < DEPTH_CEILING
                                   ? lim->depth_max : DEPTH_CEILING;
        if (lim->parts_max)
            m->lim.parts_max = lim->parts_max;
    }
    mail_buf_init(&m->hdr, m->lim.header_max + 2);
    m->levels = calloc(m->lim.depth_max + 1, sizeof *m->levels);
    m->root = part_new(m, NULL);
    if (!m->levels || !m->root) {
        mail_mime_free(m);
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    m->cur = m->root;
    m->state = ST_HEADER;
    return m;
}

void mail_mime_free(struct mail_mime *m)
{
    size_t i;

    if (!m)
        return;
    for (i = 0; i < m->nlevels; i++)
        free(m->levels[i].boundary);
    free(m->levels);
    tree_free(m->root);
    mail_buf_release(&m->hdr);
    mail_buf_release(&m->replay);
    free(m);
}

int mail_mime_push(struct mail_mime *m, const char *data, size_t len,
                   struct mail_error *err)
{
    size_t i = 0;

    if (m->finished)
        return 0;
    while (i < len && !m->failed) {
        char c;

        /* Fast path: the middle of a line that is not a boundary. */
        if (!m->cr && m->cand == 0 && m->line_len > 0) {
            size_t j = i;

            while (j < len && data[j] != '\n' && data[j] != '\r')
                j++;
            if (j > i) {
                emit(m, data + i, j - i);
                m->line_len += j - i;
                m->off += j - i;
                i = j;
                continue;
            }
        }
        c = data[i++];
        m->off++;
        if (m->cr) {
            m->cr = false;
            if (c == '\n') {
                end_line(m, 2);
                continue;
            }
            content_byte(m, '\r');
        }
        if (c == '\r')
            m->cr = true;
        else if (c == '\n')
            end_line(m, 1);
        else
            content_byte(m, c);
    }
    if (m->failed)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    return 0;
}

int mail_mime_finish(struct mail_mime *m, struct mail_error *err)
{
    size_t i;

    if (m->failed)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    if (m->finished)
        return 0;
    if (m->cr) {
        m->cr = false;
        content_byte(m, '\r');
    }
    if (m->line_len > 0 || m->cand != 0)
        end_line(m, 0);
    release_held(m);
    for (i = 0; i < m->nlevels; i++) {
        m->levels[i].part->flags |= MAIL_PART_NO_END;
        free(m->levels[i].boundary);
    }
    m->nlevels = 0;
    close_up_to(m, NULL, m->off);
    m->cur = NULL;
    m->finished = true;
    if (m->failed)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    return 0;
}

const struct mail_part *mail_mime_root(const struct mail_mime *m)
{
    return m->root && m->root->type ? m->root : NULL;
}

size_t mail_mime_count(const struct mail_mime *m)
{
    return m->nparts;
}

uint64_t mail_mime_size(const struct mail_mime *m)
{
    return m->off;
}

bool mail_part_is_multipart(const struct mail_part *p)
{
    return p->type && strncmp(p->type, "multipart/", 10) == 0 &&
           !(p->flags & (MAIL_PART_NO_BOUNDARY | MAIL_PART_TOO_DEEP));
}

const struct mail_part *mail_part_next(const struct mail_part *p)
{
    if (p->child)
        return p->child;
    while (p) {
        if (p->next)
            return p->next;
        p = p->parent;
    }
    return NULL;
}

const struct mail_part *mail_mime_find(const struct mail_mime *m,
                                       const char *number)
{
    const struct mail_part *p;

    for (p = mail_mime_root(m); p; p = mail_part_next(p))
        if (p->number && strcmp(p->number, number) == 0)
            return p;
    return NULL;
}

bool mail_part_is_attachment(const struct mail_part *p)
{
    if (mail_part_is_multipart(p))
        return false;
    if (p->child)
        return true;    /* an encapsulated message */
    if (p->disposition && strcmp(p->disposition, "attachment") == 0)
        return true;
    if (p->filename)
        return true;
    if (!p->parent)
        return false;
    return strcmp(p->type, "text/plain") != 0 &&
           strcmp(p->type, "text/html") != 0;
}

static struct mail_mime *parse_reader(ssize_t (*rd)(void *, char *, size_t),
                                      void *src,
                                      const struct mail_mime_limits *lim,
                                      struct mail_error *err)
{
    struct mail_mime *m = mail_mime_new(lim, err);
    char *buf = malloc(READ_CHUNK);

    if (!m || !buf) {
        free(buf);
        mail_mime_free(m);
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    for (;;) {
        ssize_t n = rd(src, buf, READ_CHUNK);

        if (n < 0) {
            mail_error_set(err, MAIL_ERR_IO, "read: %s", strerror(errno));
            goto fail;
        }
        if (n == 0)
            break;
        if (mail_mime_push(m, buf, (size_t)n, err) < 0)
            goto fail;
    }
    if (mail_mime_finish(m, err) < 0)
        goto fail;
    free(buf);
    return m;
fail:
    free(buf);
    mail_mime_free(m);
    return NULL;
}

static ssize_t read_fd(void *src, char *buf, size_t n)
{
    for (;;) {
        ssize_t r = read(*(int *)src, buf, n);

        if (r >= 0 || errno != EINTR)
            return r;
    }
}

static ssize_t read_file(void *src, char *buf, size_t n)
{
    size_t r = fread(buf, 1, n, src);

    if (r == 0 && ferror((FILE *)src))
        return -1;
    return (ssize_t)r;
}

struct mail_mime *mail_mime_parse_fd(int fd, const struct mail_mime_limits *lim,
                                     struct mail_error *err)
{
    return parse_reader(read_fd, &fd, lim, err);
}

struct mail_mime *mail_mime_parse_file(FILE *f,
                                       const struct mail_mime_limits *lim,
                                       struct mail_error *err)
{
    return parse_reader(read_file, f, lim, err);
}

struct mail_mime *mail_mime_parse_mem(const char *data, size_t len,
                                      const struct mail_mime_limits *lim,
                                      struct mail_error *err)
{
    struct mail_mime *m = mail_mime_new(lim, err);

    if (!m)
        return NULL;
    if (mail_mime_push(m, data, len, err) < 0 ||
        mail_mime_finish(m, err) < 0) {
        mail_mime_free(m);
        return NULL;
    }
    return m;
}

/* --- decoding a part ---------------------------------------------------- */

/* CRLF -> LF on the way to the final sink. */
struct crlf_filter {
    mail_sink_fn sink;
    void *ctx;
    bool cr;
    size_t len;
    char buf[MAIL_CODEC_OUT_MAX];
};

static int crlf_flush(struct crlf_filter *f, struct mail_error *err)
{
    int r = f->len ? f->sink(f->ctx, f->buf, f->len, err) : 0;

    f->len = 0;
    return r < 0 ? -1 : 0;
}

static int crlf_put(struct crlf_filter *f, char c, struct mail_error *err)
{
    if (f->len == sizeof f->buf && crlf_flush(f, err) < 0)
        return -1;
    f->buf[f->len++] = c;
    return 0;
}

static int crlf_sink(void *ctx, const char *data, size_t len,
                     struct mail_error *err)
{
    struct crlf_filter *f = ctx;
    size_t i;

    for (i = 0; i < len; i++) {
        if (f->cr) {
            f->cr = false;
            if (data[i] != '\n' && crlf_put(f, '\r', err) < 0)
                return -1;
        }
        if (data[i] == '\r')
            f->cr = true;
        else if (crlf_put(f, data[i], err) < 0)
            return -1;
    }
    return 0;
}

static int crlf_finish(struct crlf_filter *f, struct mail_error *err)
{
    if (f->cr) {
        f->cr = false;
        if (crlf_put(f, '\r', err) < 0)
            return -1;
    }
    return crlf_flush(f, err);
}

struct pipeline {
    struct mail_decoder dec;
    struct mail_charset_conv *conv;
    struct crlf_filter crlf;
};

static int conv_sink(void *ctx, const char *data, size_t len,
                     struct mail_error *err)
{
    return mail_charset_conv_push(ctx, data, len, err);
}

static int pipe_open(struct pipeline *pl, const struct mail_part *p,
                     int flags, mail_sink_fn sink, void *ctx,
                     struct mail_error *err)
{
    pl->conv = NULL;
    if (!(flags & MAIL_DECODE_TEXT)) {
        mail_decoder_init(&pl->dec, p->cte, sink, ctx);
        return 0;
    }
    pl->crlf.sink = sink;
    pl->crlf.ctx = ctx;
    pl->crlf.cr = false;
    pl->crlf.len = 0;
    pl->conv = mail_charset_conv_new(p->charset, crlf_sink, &pl->crlf, err);
    if (!pl->conv)
        return -1;
    mail_decoder_init(&pl->dec, p->cte, conv_sink, pl->conv);
    return 0;
}

/* Flush (when ok) and free.  -1 when the sink failed (err as it set it)
 * or when !ok. */
static int pipe_close(struct pipeline *pl, bool ok, struct mail_error *err)
{
    int r = ok ? 0 : -1;

    if (ok && mail_decoder_finish(&pl->dec, err) < 0)
        r = -1;
    if (ok && r == 0 && pl->conv &&
        (mail_charset_conv_finish(pl->conv, err) < 0 ||
         crlf_finish(&pl->crlf, err) < 0))
        r = -1;
    mail_charset_conv_free(pl->conv);
    return r;
}

int mail_part_decode_mem(const struct mail_part *p, const char *msg,
                         size_t len, int flags, mail_sink_fn sink, void *ctx,
                         struct mail_error *err)
{
    struct pipeline pl;

    if (p->body_end > len || p->body_start > p->body_end)
        return mail_error_set(err, MAIL_ERR_IO,
                              "part %s: message shorter than the part",
                              p->number ? p->number : "?");
    if (pipe_open(&pl, p, flags, sink, ctx, err) < 0)
        return -1;
    if (mail_decoder_push(&pl.dec, msg + p->body_start,
                          (size_t)(p->body_end - p->body_start), err) < 0)
        return pipe_close(&pl, false, err);     /* the sink's error */
    return pipe_close(&pl, true, err);
}

int mail_part_decode_fd(const struct mail_part *p, int fd, int flags,
                        mail_sink_fn sink, void *ctx, struct mail_error *err)
{
    struct pipeline pl;
    uint64_t pos = p->body_start;
    char *buf;

    buf = malloc(READ_CHUNK);
    if (!buf)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    if (pipe_open(&pl, p, flags, sink, ctx, err) < 0) {
        free(buf);
        return -1;
    }
    while (pos < p->body_end) {
        uint64_t want = p->body_end - pos;
        ssize_t n;

        if (want > READ_CHUNK)
            want = READ_CHUNK;
        n = pread(fd, buf, (size_t)want, (off_t)pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = errno;

            pipe_close(&pl, false, err);
            free(buf);
            if (n == 0)
                return mail_error_set(err, MAIL_ERR_IO,
                                      "part %s: file shorter than the part",
                                      p->number ? p->number : "?");
            return mail_error_set(err, MAIL_ERR_IO, "read: %s", strerror(e));
        }
        if (mail_decoder_push(&pl.dec, buf, (size_t)n, err) < 0) {
            free(buf);
            return pipe_close(&pl, false, err);     /* the sink's error */
        }
        pos += (uint64_t)n;
    }
    free(buf);
    return pipe_close(&pl, true, err);
}
