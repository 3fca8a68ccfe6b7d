/*
 * imapparts.c - an IMAP message read without the parts it does not show
 * (issue 10: reading the text of a message with a 50 MB attachment
 * transfers a few KB); see imapparts.h and mail_folder_message_read.
 *
 * Three commands on the selected mailbox, all with BODY.PEEK (flags change
 * only through set_flags):
 *
 *   UID FETCH u (BODYSTRUCTURE)                          the tree
 *   UID FETCH u (BODY.PEEK[HEADER] BODY.PEEK[1.MIME] ... the headers, and
 *                BODY.PEEK[2.HEADER] BINARY.SIZE[2] ...) the sizes
 *   UID FETCH u (BODY.PEEK[1] ...)                       the bodies chosen
 *
 * Every section is streamed as it arrives into one temporary file of
 * pieces (memory stays constant whatever the sizes), and the reading copy
 * is then assembled from the pieces in the message's order: the header,
 * and for a multipart each part as "--BOUNDARY", its MIME header and its
 * body, the bodies not chosen left empty.  render.c parses and shows that
 * copy as it would the whole message.  Which bodies are chosen is decided
 * by the same code as for a local message: the copy is first assembled
 * with no body at all and parsed, and mail_mime_readable (the text a
 * person reads) or mail_render_part_saved (--save) picks from it; --part
 * N takes N (a multipart or an attached message whole).
 *
 * The sizes of the bodies left out go to a table for the attachment list
 * and --json: BINARY.SIZE (RFC 3516: the decoded size, from the server)
 * for base64 and quoted-printable parts where the server has BINARY, else
 * the octets of BODYSTRUCTURE (base64: three quarters of them, line ends
 * taken off).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "imapparts.h"
#include "mail/buf.h"
#include "mail/folder.h"
#include "mail/fsutil.h"
#include "mail/imap.h"
#include "mail/imap_parse.h"
#include "mail/mime.h"
#include "mail/readable.h"
#include "mail/render.h"

#define NODES_MAX 400       /* beyond: the caller reads the message whole */
#define NUMBER_MAX 96

/* A part, as BODYSTRUCTURE gives it, with its IMAP section number. */
struct node {
    char number[NUMBER_MAX];     /* "" for a multipart root */
    bool multipart;
    bool message;                /* message/rfc822 with its body below */
    bool want;                   /* its body goes into the copy */
    char *boundary;              /* multipart */
    char encoding[32];           /* lowercase */
    uint64_t octets;
    int64_t binsize;             /* BINARY.SIZE, -1 unknown */
    struct node *kids;           /* multipart parts; message: its body */
    size_t nkids;
};

/* A section streamed into the pieces file. */
struct piece {
    char *section;               /* "HEADER", "1.2.MIME", "2" */
    off_t off;
    uint64_t len;
};

struct job {
    struct mail_session *s;
    const char *folder;
    const char *tmpdir;
    uint32_t uid;
    int pfd;                     /* the pieces */
    off_t pend;                  /* its end */
    struct piece *pv;
    size_t pn, palloc;
    struct piece *cur;           /* the one being streamed */
    struct node *root;
    size_t nodes;
    bool got;                    /* a FETCH of the message came */
    struct mail_error *err;
};

static int nomem(struct mail_error *err)
{
    return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
}

static void node_free(struct node *n)
{
    for (size_t i = 0; i < n->nkids; i++)
        node_free(&n->kids[i]);
    free(n->kids);
    free(n->boundary);
}

/* ---- the tree ---- */

static const char *param(const struct mail_imap_node *params,
                         const char *name)
{
    const struct mail_imap_node *k;

    if (!params || params->type != MAIL_IMAP_LIST)
        return NULL;
    for (k = params->child; k && k->next; k = k->next->next)
        if (mail_imap_node_is(k, name))
            return mail_imap_node_str(k->next);
    return NULL;
}

static int copy_tree(struct job *j, const struct mail_imap_bodypart *b,
                     struct node *n, const char *number, bool is_root)
{
    size_t i;

    if (++j->nodes > NODES_MAX)
        return 1;
    memset(n, 0, sizeof *n);
    n->binsize = -1;
    mail_snprintf(n->number, sizeof n->number, "%s", number);
    n->octets = b->size;
    for (i = 0; b->encoding && b->encoding[i] && i + 1 < sizeof n->encoding;
         i++)
        n->encoding[i] = (char)((b->encoding[i] >= 'A' &&
                                 b->encoding[i] <= 'Z')
                                ? b->encoding[i] + 32 : b->encoding[i]);
    if (strcmp(b->type, "multipart") == 0) {
        const char *bd = param(b->params, "boundary");

        if (!bd || !*bd || b->nparts == 0)
            return 1;   /* not something to rebuild: read it whole */
        n->multipart = true;
        if (!(n->boundary = strdup(bd)))
            return nomem(j->err);
        if (!(n->kids = calloc(b->nparts, sizeof *n->kids)))
            return nomem(j->err);
        for (i = 0; i < b->nparts; i++) {
            char kid[NUMBER_MAX];
            int rc;

            if (strlen(number) + 12 >= sizeof kid)
                return 1;
            mail_snprintf(kid, sizeof kid, "%s%s%zu", number,
                          *number ? "." : "", i + 1);
            n->nkids++;
            if ((rc = copy_tree(j, &b->parts[i], &n->kids[i], kid, false)))
                return rc;
        }
        return 0;
    }
    if (!is_root && strcmp(b->type, "message") == 0 &&
        strcmp(b->subtype, "rfc822") == 0 && b->nparts == 1) {
        char body[NUMBER_MAX];
        const struct mail_imap_bodypart *in = &b->parts[0];

        n->message = true;
        if (!(n->kids = calloc(1, sizeof *n->kids)))
            return nomem(j->err);
        n->nkids = 1;
        /* The body of an attached message: its parts are N.1, N.2 (a
         * multipart, numbered N itself), or it is N.1. */
        if (strlen(number) + 3 >= sizeof body)
            return 1;
        if (strcmp(in->type, "multipart") == 0)
            mail_snprintf(body, sizeof body, "%s", number);
        else
            mail_snprintf(body, sizeof body, "%s.1", number);
        return copy_tree(j, in, &n->kids[0], body, true);
    }
    return 0;
}

/* ---- the pieces ---- */

static struct piece *piece_new(struct job *j, const char *section,
                               size_t len)
{
    struct piece *p;

    if (j->pn == j->palloc) {
        size_t n = j->palloc ? 2 * j->palloc : 16;
        struct piece *v = realloc(j->pv, n * sizeof *v);

        if (!v)
            return NULL;
        j->pv = v;
        j->palloc = n;
    }
    p = &j->pv[j->pn];
    if (!(p->section = strndup(section, len)))
        return NULL;
    p->off = j->pend;
    p->len = 0;
    j->pn++;
    return p;
}

/* The last piece of a section, or NULL. */
static const struct piece *piece_get(const struct job *j,
                                     const char *section)
{
    for (size_t i = j->pn; i-- > 0;)
        if (strcmp(j->pv[i].section, section) == 0)
            return &j->pv[i];
    return NULL;
}

static int piece_write(void *ctx, const char *data, size_t len,
                       struct mail_error *err)
{
    struct job *j = ctx;

    if (pwrite(j->pfd, data, len, j->pend) != (ssize_t)len)
        return mail_error_set(err, MAIL_ERR_IO, "temporary file: %s",
                              errno ? strerror(errno) : "short write");
    j->pend += (off_t)len;
    j->cur->len += len;
    return 0;
}

/* "BODY[1.MIME]" -> "1.MIME" (also "BODY[1.MIME]<0>"); NULL if not. */
static const char *section_of(const struct mail_imap_node *n, size_t *len)
{
    const char *s = mail_imap_node_str(n), *close;

    if (!s || n->type != MAIL_IMAP_ATOM || strncasecmp(s, "BODY[", 5) != 0 ||
        !(close = strchr(s + 5, ']')))
        return NULL;
    *len = (size_t)(close - (s + 5));
    return s + 5;
}

/* A literal: BODY[...] sections are streamed into the pieces. */
static int route(void *arg, const struct mail_imap_resp *resp,
                 const struct mail_imap_node *list,
                 const struct mail_imap_node *prev, uint64_t size,
                 mail_sink_fn *sink, void **sink_ctx, struct mail_error *err)
{
    struct job *j = arg;
    const char *sec;
    size_t len;

    (void)list;
    (void)size;
    if (resp->type != MAIL_IMAP_T_FETCH || !prev ||
        !(sec = section_of(prev, &len)))
        return 0;
    if (!(j->cur = piece_new(j, sec, len)))
        return nomem(err);
    *sink = piece_write;
    *sink_ctx = j;
    return 0;
}

static void set_binsize(struct node *n, const char *number, uint64_t v)
{
    if (strcmp(n->number, number) == 0 && !n->multipart && !n->message)
        n->binsize = (int64_t)v;
    for (size_t i = 0; i < n->nkids; i++)
        set_binsize(&n->kids[i], number, v);
}

/* One FETCH response of our message: the structure, sizes, and the
 * sections that came as quoted strings or NIL (literals are already
 * in the pieces). */
static int on_fetch(struct job *j, const struct mail_imap_resp *r)
{
    const struct mail_imap_node *list = mail_imap_node_at(&r->args, 0);
    const struct mail_imap_node *uid = mail_imap_fetch_item(r, "UID");
    const struct mail_imap_node *k;
    uint32_t u;

    if (!list || list->type != MAIL_IMAP_LIST ||
        (uid && (mail_imap_node_u32(uid, &u) < 0 || u != j->uid)))
        return 0;
    for (k = list->child; k && k->next; k = k->next->next) {
        const struct mail_imap_node *v = k->next;
        const char *name = mail_imap_node_str(k), *sec;
        size_t len;

        if (!name)
            continue;
        if (strcasecmp(name, "BODYSTRUCTURE") == 0 && !j->root) {
            struct mail_imap_bodypart *b = mail_imap_bodystructure(v, j->err);
            int rc;

            if (!b)
                return mail_error_prefix(j->err, "%s: %s", j->s->name,
                                         j->folder);
            if (!(j->root = calloc(1, sizeof *j->root))) {
                mail_imap_bodypart_free(b);
                return nomem(j->err);
            }
            rc = copy_tree(j, b, j->root, strcmp(b->type, "multipart") == 0
                                          ? "" : "1", true);
            mail_imap_bodypart_free(b);
            if (rc < 0)
                return -1;
            if (rc > 0)
                j->nodes = NODES_MAX + 1;
            j->got = true;
        } else if (strncasecmp(name, "BINARY.SIZE[", 12) == 0) {
            char num[NUMBER_MAX];
            const char *close = strchr(name + 12, ']');
            uint64_t n;

            if (close && (size_t)(close - name - 12) < sizeof num &&
                mail_imap_node_u64(v, &n) == 0 && j->root) {
                mail_snprintf(num, sizeof num, "%.*s",
                              (int)(close - name - 12), name + 12);
                set_binsize(j->root, num, n);
            }
        } else if ((sec = section_of(k, &len))) {
            j->got = true;
            if (v->type == MAIL_IMAP_STREAMED)
                continue;
            if (!(j->cur = piece_new(j, sec, len)))
                return nomem(j->err);
            if (v->type == MAIL_IMAP_STRING &&
                piece_write(j, v->data, (size_t)v->len, j->err) < 0)
                return -1;
        }
    }
    return 0;
}

/* Send one UID FETCH with items and read its responses. */
static int fetch(struct job *j, const char *items)
{
    struct mail_imap_parser p;
    char tag[sizeof j->s->curtag];
    int rc = -1;

    if (mail_imap_send(j->s, j->err, "UID FETCH %u (%s)", (unsigned)j->uid,
                       items) < 0 ||
        mail_conn_flush(j->s->conn, j->err) < 0)
        return mail_error_prefix(j->err, "%s: %s", j->s->name, j->folder);
    memcpy(tag, j->s->curtag, sizeof tag);
    mail_imap_parser_init(&p, NULL, route, j);
    for (;;) {
        const struct mail_imap_resp *r = &p.resp;

        if (mail_imap_read_response(&p, j->s->conn, j->err) < 0) {
            mail_error_prefix(j->err, "%s: %s", j->s->name, j->folder);
            break;
        }
        if (r->kind == MAIL_IMAP_RESP_CONT) {
            mail_error_set(j->err, MAIL_ERR_PROTOCOL, "%s: %s: unexpected "
                           "continuation request", j->s->name, j->folder);
            break;
        }
        if (r->kind == MAIL_IMAP_RESP_UNTAGGED) {
            if (r->type == MAIL_IMAP_T_FETCH && on_fetch(j, r) < 0)
                break;
            continue;
        }
        if (strcmp(r->tag, tag) != 0) {
            mail_error_set(j->err, MAIL_ERR_PROTOCOL, "%s: %s: reply with "
                           "an unknown tag", j->s->name, j->folder);
            break;
        }
        if (r->status == MAIL_IMAP_ST_OK)
            rc = 0;
        else
            mail_error_set(j->err, MAIL_ERR_UNAVAIL, "%s: %s: FETCH: %.300s",
                           j->s->name, j->folder, r->text);
        break;
    }
    mail_imap_parser_release(&p);
    return rc;
}

/* ---- assembling the copy ---- */

static int out_str(int fd, const char *s, struct mail_error *err)
{
    if (mail_write_all(fd, s, strlen(s)) == 0)
        return 0;
    return mail_error_set(err, MAIL_ERR_IO, "temporary file: %s",
                          strerror(errno));
}

/* Copy a piece; a header ends in an empty line whatever the server sent.
 * trim: without a last CRLF (a multipart, or a message ending in one,
 * before a boundary: the server counts in the CRLF that begins the
 * delimiter). */
static int out_piece(struct job *j, int fd, const char *section,
                     bool header, bool trim)
{
    const struct piece *p = piece_get(j, section);
    char buf[65536], tail[4] = { 0, 0, 0, 0 };
    uint64_t done = 0, len = p ? p->len : 0;

    if (trim && len >= 2 && pread(j->pfd, buf, 2, p->off + (off_t)len - 2) == 2
        && memcmp(buf, "\r\n", 2) == 0)
        len -= 2;
    while (p && done < len) {
        size_t want = len - done < sizeof buf ? (size_t)(len - done)
                                              : sizeof buf;
        ssize_t n = pread(j->pfd, buf, want, p->off + (off_t)done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || mail_write_all(fd, buf, (size_t)n) < 0)
            return mail_error_set(j->err, MAIL_ERR_IO, "temporary file: %s",
                                  n == 0 ? "short read" : strerror(errno));
        done += (uint64_t)n;
        if (n >= 4) {
            memcpy(tail, buf + n - 4, 4);
        } else {
            memmove(tail, tail + n, (size_t)(4 - n));
            memcpy(tail + 4 - n, buf, (size_t)n);
        }
    }
    if (!header || (done >= 2 && memcmp(tail + 2, "\n\n", 2) == 0) ||
        (done >= 4 && memcmp(tail, "\r\n\r\n", 4) == 0))
        return 0;
    if (done && tail[3] == '\n')
        return out_str(fd, "\r\n", j->err);
    return out_str(fd, done ? "\r\n\r\n" : "\r\n", j->err);
}

/* The content of n (its header is written): its body when wanted, else
 * its parts, else nothing. */
static int out_node(struct job *j, int fd, const struct node *n,
                    bool in_multipart)
{
    char sec[NUMBER_MAX + 8];

    if (n->want)
        return out_piece(j, fd, n->number, false,
                         in_multipart && (n->multipart || n->message));
    if (n->multipart) {
        for (size_t i = 0; i < n->nkids; i++) {
            struct mail_buf d = MAIL_BUF_INIT;
            int rc;

            if (mail_buf_printf(&d, "%s--%s\r\n", i ? "\r\n" : "",
                                n->boundary) < 0)
                return nomem(j->err);
            rc = out_str(fd, d.data, j->err);
            mail_buf_release(&d);
            mail_snprintf(sec, sizeof sec, "%s.MIME", n->kids[i].number);
            if (rc < 0 || out_piece(j, fd, sec, true, false) < 0 ||
                out_node(j, fd, &n->kids[i], true) < 0)
                return -1;
        }
        return out_str(fd, "\r\n--", j->err) < 0 ||
               out_str(fd, n->boundary, j->err) < 0 ||
               out_str(fd, "--\r\n", j->err) < 0 ? -1 : 0;
    }
    if (n->message) {
        mail_snprintf(sec, sizeof sec, "%s.HEADER", n->number);
        if (out_piece(j, fd, sec, true, false) < 0)
            return -1;
        return out_node(j, fd, &n->kids[0], false);
    }
    return 0;
}

static int assemble(struct job *j, int *out)
{
    int fd = mail_tmpfile(j->tmpdir, j->err);

    if (fd < 0)
        return -1;
    if (out_piece(j, fd, "HEADER", true, false) < 0 ||
        out_node(j, fd, j->root, false) < 0 ||
        lseek(fd, 0, SEEK_SET) < 0) {
        if (!j->err->msg[0])
            mail_error_set(j->err, MAIL_ERR_IO, "temporary file: %s",
                           strerror(errno));
        close(fd);
        return -1;
    }
    *out = fd;
    return 0;
}

/* ---- choosing ---- */

/* The node of IMAP section `number`, the first in the message's order
 * (an attached message before its multipart body, which shares its
 * number). */
static struct node *find(struct node *n, const char *number)
{
    if (strcmp(n->number, number) == 0)
        return n;
    for (size_t i = 0; i < n->nkids; i++) {
        struct node *f = find(&n->kids[i], number);

        if (f)
            return f;
    }
    return NULL;
}

/* A part of the parse by mime.h's numbers: the IMAP section.  mime.h
 * gives an attached message's body the message's number; IMAP numbers a
 * body that is not a multipart N.1. */
static void want_part(struct job *j, const struct mail_part *p)
{
    char num[NUMBER_MAX];
    struct node *n;

    if (p->parent && !mail_part_is_multipart(p->parent) &&
        !mail_part_is_multipart(p))
        mail_snprintf(num, sizeof num, "%s.1", p->number);
    else
        mail_snprintf(num, sizeof num, "%s", p->number);
    if ((n = find(j->root, num)))
        n->want = true;
}

static int choose(struct job *j, int what, const char *part)
{
    struct mail_mime *m;
    int fd;

    if (what == MAIL_FOLDER_READ_PART) {
        struct node *n = find(j->root, part);

        if (n && *n->number)
            n->want = true;
        return 0;
    }
    if (assemble(j, &fd) < 0)
        return -1;
    m = mail_mime_parse_fd(fd, NULL, j->err);
    close(fd);
    if (!m)
        return -1;
    if (what == MAIL_FOLDER_READ_TEXT) {
        size_t n = mail_mime_readable(m, NULL, 0);
        struct mail_readable *v = calloc(n ? n : 1, sizeof *v);

        if (!v) {
            mail_mime_free(m);
            return nomem(j->err);
        }
        n = mail_mime_readable(m, v, n);
        for (size_t i = 0; i < n; i++)
            want_part(j, v[i].part);
        free(v);
    } else {
        for (const struct mail_part *p = mail_mime_root(m); p;
             p = mail_part_next(p))
            if (mail_render_part_saved(p))
                want_part(j, p);
    }
    mail_mime_free(m);
    return 0;
}

/* ---- the commands ---- */

static bool encoded(const struct node *n)
{
    return strcmp(n->encoding, "base64") == 0 ||
           strcmp(n->encoding, "quoted-printable") == 0;
}

/* The headers (and sizes) of n and below. */
static int header_items(const struct node *n, bool binary,
                        struct mail_buf *b)
{
    int rc = 0;

    if (n->multipart) {
        for (size_t i = 0; i < n->nkids && rc == 0; i++) {
            rc = mail_buf_printf(b, " BODY.PEEK[%s.MIME]",
                                 n->kids[i].number);
            if (rc == 0)
                rc = header_items(&n->kids[i], binary, b);
        }
        return rc;
    }
    if (n->message) {
        rc = mail_buf_printf(b, " BODY.PEEK[%s.HEADER]", n->number);
        return rc ? rc : header_items(&n->kids[0], binary, b);
    }
    if (binary && encoded(n))
        rc = mail_buf_printf(b, " BINARY.SIZE[%s]", n->number);
    return rc;
}

static int body_items(const struct node *n, struct mail_buf *b)
{
    int rc = 0;

    if (n->want)
        return mail_buf_printf(b, "%sBODY.PEEK[%s]", b->len ? " " : "",
                               n->number);
    for (size_t i = 0; i < n->nkids && rc == 0; i++)
        rc = body_items(&n->kids[i], b);
    return rc;
}

/* The octets of an attached message as mime.h counts them: one that
 * ends with a multipart's close delimiter line ends before that line's
 * CRLF, which begins the outer delimiter (RFC 2046); BODYSTRUCTURE
 * counts it in (Dovecot: 2 more than the message's bytes). */
static uint64_t body_octets(const struct node *n, bool in_multipart)
{
    if (n->message && in_multipart && n->kids[0].multipart &&
        n->octets >= 2)
        return n->octets - 2;
    return n->octets;
}

/* The sizes of the bodies left out, by mime.h's numbers. */
static int sizes_of(const struct node *n, bool encapsulated,
                    bool in_multipart, struct mail_part_sizes *s)
{
    uint64_t v;

    if (n->want)
        return 0;
    if (n->multipart || n->message) {
        if (n->message &&
            mail_part_sizes_add(s, n->number,
                                body_octets(n, in_multipart)) < 0)
            return -1;
        for (size_t i = 0; i < n->nkids; i++)
            if (sizes_of(&n->kids[i], n->message, n->multipart, s) < 0)
                return -1;
        return 0;
    }
    if (encapsulated)
        return 0;       /* it shares its message's number */
    v = body_octets(n, in_multipart);
    if (n->binsize >= 0)
        v = (uint64_t)n->binsize;
    else if (strcmp(n->encoding, "base64") == 0)
        v = (v - 2 * ((v + 77) / 78)) / 4 * 3;
    return mail_part_sizes_add(s, n->number, v);
}

int mail_imap_parts_read(struct mail_session *s, const char *folder,
                         uint32_t uid, int what, const char *part,
                         const char *tmpdir, int *fd,
                         struct mail_part_sizes *sizes,
                         struct mail_error *err)
{
    struct job j;
    struct mail_buf items = MAIL_BUF_INIT;
    int rc = -1;

    memset(&j, 0, sizeof j);
    j.s = s;
    j.folder = folder;
    j.tmpdir = tmpdir;
    j.uid = uid;
    j.err = err;
    mail_error_clear(err);
    j.pfd = mail_tmpfile(tmpdir, err);
    if (j.pfd < 0)
        return -1;
    if (fetch(&j, "BODYSTRUCTURE") < 0)
        goto out;
    if (!j.got || !j.root) {
        mail_error_set(err, MAIL_ERR_NOTFOUND, "%s: message UID %u is no "
                       "longer there", folder, (unsigned)uid);
        goto out;
    }
    if (j.nodes > NODES_MAX) {
        rc = 1;
        goto out;
    }
    if (mail_buf_addstr(&items, "BODY.PEEK[HEADER]") < 0 ||
        header_items(j.root, mail_session_has_cap(s, "BINARY"), &items) < 0) {
        nomem(err);
        goto out;
    }
    if (fetch(&j, items.data) < 0 || choose(&j, what, part) < 0)
        goto out;
    mail_buf_reset(&items);
    if (body_items(j.root, &items) < 0) {
        nomem(err);
        goto out;
    }
    if (items.len && fetch(&j, items.data) < 0)
        goto out;
    if (sizes && sizes_of(j.root, false, false, sizes) < 0) {
        nomem(err);
        goto out;
    }
    rc = assemble(&j, fd);
out:
    mail_buf_release(&items);
    for (size_t i = 0; i < j.pn; i++)
        free(j.pv[i].section);
    free(j.pv);
    if (j.root) {
        node_free(j.root);
        free(j.root);
    }
    close(j.pfd);
    return rc;
}
