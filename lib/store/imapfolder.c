/*
 * imapfolder.c - the IMAP folder driver (folder.h, doc/IMAP-FOLDERS.md).
 *
 * A folder is a mailbox of the connector's server.  It is selected lazily
 * (SELECT, or EXAMINE when opened read-only) by the first call that needs
 * it, and selected again when another folder of the same connector took
 * the session or the session was made again after a drop.  A message's
 * key is "UIDVALIDITY:UID": when the mailbox comes back with another
 * UIDVALIDITY than it was first selected with, every key is stale and
 * the call fails with "the folder changed: run mail ls again" (66).
 *
 * Listing: one UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE
 * BODYSTRUCTURE); the server streams it, so there is no round trip per
 * batch.  The items of a FETCH response are read in any order (the
 * parsed tree holds them all); untagged responses at any time are
 * handled: "* N EXPUNGE" removes the message with sequence number N from
 * the listing being built and shifts the later ones, "* N FETCH (FLAGS)"
 * without an ENVELOPE updates that message's flags, EXISTS is ignored
 * (the listing is as of the tagged OK).
 *
 * Reading: UID FETCH uid (BODY.PEEK[]) streamed into an unlinked
 * temporary file (mail_tmpfile), so memory stays constant; \Seen is set
 * only by set_flags.  Flags, expunge and move take sets (one UID command
 * per set, 500 UIDs per command).  Expunge uses UID EXPUNGE (UIDPLUS);
 * without UIDPLUS it expunges only when no other message of the mailbox
 * carries \Deleted, else it leaves the messages flagged and refuses.
 * Moves between folders of one connector use UID MOVE (else COPY, STORE,
 * UID EXPUNGE: mail_imap_move); other moves copy through folder.c, which
 * removes the source only after the destination committed.  Appends are
 * spooled to a temporary file (the size must be known for the literal)
 * and sent by mail_imap_append_fd (non-synchronizing {N+} when LITERAL+ is
 * offered); the key comes from APPENDUID (UIDPLUS) when the server gives
 * it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hcache.h"
#include "mail/date.h"
#include "mail/folder.h"
#include "mail/fsutil.h"
#include "mail/imap.h"
#include "mail/imap_envelope.h"
#include "mail/query.h"

#define READ_CHUNK (64 * 1024)

struct imf {
    struct mail_folder base;
    struct mail_imap_connector c;
    char *name;                  /* UTF-8 */
    struct mail_session *sess;   /* the session it was selected on */
    uint32_t uidvalidity;        /* from the first SELECT; 0 before */
    const void *self;            /* what *c.selected holds when it is us */
};

static const struct mail_folder_driver imap_driver;

static int nomem(struct mail_error *err)
{
    return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
}

static struct imf *imf_of(struct mail_folder *f)
{
    return (struct imf *)f;
}

/* After an error: a session in an unknown state is never used again. */
static int failed(struct imf *f, struct mail_error *err)
{
    if (err->conn_lost || err->kind == MAIL_ERR_PROTOCOL ||
        err->kind == MAIL_ERR_TEMP || err->kind == MAIL_ERR_INTERNAL ||
        err->kind == MAIL_ERR_IO) {
        if (f->c.drop)
            f->c.drop(f->c.arg);
        if (f->c.selected)
            *f->c.selected = NULL;
        f->sess = NULL;
    }
    return -1;
}

/* The session with our mailbox selected.  A NO to SELECT is
 * MAIL_ERR_NOTFOUND (imap.c). */
static struct mail_session *selected(struct imf *f, struct mail_error *err)
{
    struct mail_imap_mailbox_state st;
    struct mail_session *s = f->c.session(f->c.arg, err);
    int r;

    if (!s)
        return NULL;
    if (s == f->sess && f->c.selected && *f->c.selected == f->self)
        return s;
    memset(&st, 0, sizeof st);
    r = (f->base.mode & MAIL_FOLDER_RDWR) ? mail_imap_select(s, f->name, &st,
                                                             err)
                                          : mail_imap_examine(s, f->name, &st,
                                                              err);
    if (r < 0) {
        if (err->kind == MAIL_ERR_NOTFOUND)
            mail_error_set(err, MAIL_ERR_NOTFOUND, "%s: no such folder on "
                           "the server", f->base.path);
        f->sess = s;
        failed(f, err);
        f->sess = NULL;
        return NULL;
    }
    if (f->uidvalidity && st.uidvalidity != f->uidvalidity) {
        mail_error_set(err, MAIL_ERR_NOTFOUND, "%s: the folder changed "
                       "(UIDVALIDITY %u, was %u): run mail ls again",
                       f->base.path, (unsigned)st.uidvalidity,
                       (unsigned)f->uidvalidity);
        return NULL;
    }
    f->uidvalidity = st.uidvalidity;
    f->sess = s;
    if (f->c.selected)
        *f->c.selected = f->self;
    return s;
}

/* A key of this folder: "UIDVALIDITY:UID". */
static int check_key(struct imf *f, const struct mail_envelope *e,
                     struct mail_error *err)
{
    unsigned long v;
    char *end;

    if (!e->key || !e->uid)
        return mail_error_set(err, MAIL_ERR_NOTFOUND, "%s: not a message of "
                              "this folder", f->base.path);
    errno = 0;
    v = strtoul(e->key, &end, 10);
    if (errno || *end != ':' || v != f->uidvalidity)
        return mail_error_set(err, MAIL_ERR_NOTFOUND, "%s: the folder "
                              "changed: run mail ls again", f->base.path);
    return 0;
}

/* ---- one command with our own handling of untagged responses ---- */

typedef int (*untagged_fn)(void *arg, const struct mail_imap_resp *r,
                           struct mail_error *err);

/* Read responses until the tagged one of `tag`.  When cont is not NULL a
 * "+" sets *cont and returns (the caller sends its literal). */
static int wait_tagged(struct mail_session *s, struct mail_imap_parser *p,
                       const char *what, const char *tag, untagged_fn fn,
                       void *arg, bool *cont, struct mail_buf *code,
                       struct mail_error *err)
{
    for (;;) {
        const struct mail_imap_resp *r;

        if (mail_imap_read_response(p, s->conn, err) < 0)
            return mail_error_prefix(err, "%s: %s", s->name, what);
        r = &p->resp;
        if (r->kind == MAIL_IMAP_RESP_CONT) {
            if (cont) {
                *cont = true;
                return 0;
            }
            return mail_error_set(err, MAIL_ERR_PROTOCOL, "%s: %s: "
                                  "unexpected continuation request",
                                  s->name, what);
        }
        if (r->kind == MAIL_IMAP_RESP_UNTAGGED) {
            if (fn && fn(arg, r, err) < 0)
                return -1;
            continue;
        }
        if (strcmp(r->tag, tag) != 0)
            return mail_error_set(err, MAIL_ERR_PROTOCOL, "%s: %s: reply "
                                  "with an unknown tag", s->name, what);
        if (code) {
            mail_buf_reset(code);
            if (mail_buf_printf(code, "%s %s", r->code, r->code_args) < 0)
                return nomem(err);
        }
        if (r->status == MAIL_IMAP_ST_OK)
            return 0;
        return mail_error_set(err, strcmp(r->code, "TRYCREATE") == 0 ||
                                   strcmp(r->code, "NONEXISTENT") == 0
                                   ? MAIL_ERR_NOTFOUND : MAIL_ERR_UNAVAIL,
                              "%s: %s: %.300s", s->name, what, r->text);
    }
}

static int run(struct mail_session *s, const char *what, untagged_fn fn,
               void *arg, struct mail_error *err, const char *cmd)
{
    struct mail_imap_parser p;
    char tag[sizeof s->curtag];
    int rc;

    if (mail_imap_send(s, err, "%s", cmd) < 0 ||
        mail_conn_flush(s->conn, err) < 0)
        return mail_error_prefix(err, "%s: %s", s->name, what);
    memcpy(tag, s->curtag, sizeof tag);
    mail_imap_parser_init(&p, NULL, NULL, NULL);
    rc = wait_tagged(s, &p, what, tag, fn, arg, NULL, NULL, err);
    mail_imap_parser_release(&p);
    return rc;
}

/* ---- listing ---- */

struct list_ctx {
    struct imf *f;
    struct mail_envelope_list *out;
    size_t first;                /* our envelopes are out->v[first..] */
    uint32_t *seq;               /* sequence number of each (0: expunged) */
    size_t seq_alloc;
};

static char *xstrdup(const char *s, bool *oom)
{
    char *d;

    if (!s)
        return NULL;
    d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

static int fill_envelope(struct imf *f, struct mail_envelope *e,
                         const struct mail_imap_resp *r, uint32_t uid,
                         struct mail_error *err)
{
    const struct mail_imap_node *n;
    struct mail_imap_envelope ie;
    bool oom = false;
    uint64_t size;
    time_t t;
    char key[32];

    e->uid = uid;
    snprintf(key, sizeof key, "%u:%u", (unsigned)f->uidvalidity,
             (unsigned)uid);
    e->key = xstrdup(key, &oom);
    if ((n = mail_imap_fetch_item(r, "FLAGS")))
        e->flags = mail_imap_flags_from_list(n) & ~(unsigned)MAIL_FLAG_NEW;
    if ((n = mail_imap_fetch_item(r, "RFC822.SIZE")) &&
        mail_imap_node_u64(n, &size) == 0)
        e->size = size;
    if ((n = mail_imap_fetch_item(r, "INTERNALDATE")) &&
        mail_imap_node_str(n) && mail_imap_parse_date(n->data, &t) == 0)
        e->received = t;
    if (mail_imap_envelope_parse(mail_imap_fetch_item(r, "ENVELOPE"), &ie,
                                 err) == 0) {
        e->from = ie.from;
        e->to = ie.to;
        e->cc = ie.cc;
        e->subject = ie.subject;
        e->message_id = ie.message_id;
        e->in_reply_to = ie.in_reply_to;
        ie.from = ie.to = ie.cc = ie.subject = NULL;
        ie.message_id = ie.in_reply_to = NULL;
        if (ie.date && mail_date_parse(ie.date, &e->date,
                                       &e->date_offset) == 0)
            e->has_date = true;
        mail_imap_envelope_release(&ie);
    } else if (err->kind == MAIL_ERR_INTERNAL) {
        return -1;
    }
    /* A malformed BODYSTRUCTURE costs the attachment mark only. */
    if ((n = mail_imap_fetch_item(r, "BODYSTRUCTURE")) &&
        mail_imap_body_summary(n, &e->attachments, &e->content_type,
                               err) < 0 && err->kind == MAIL_ERR_INTERNAL)
        return -1;
    mail_error_clear(err);
    return oom ? nomem(err) : 0;
}

static int list_untagged(void *arg, const struct mail_imap_resp *r,
                         struct mail_error *err)
{
    struct list_ctx *c = arg;
    struct mail_envelope_list *l = c->out;
    const struct mail_imap_node *n;
    uint32_t uid = 0;

    if (r->type == MAIL_IMAP_T_EXPUNGE && r->has_number) {
        for (size_t i = 0; i < l->n - c->first; i++) {
            if (c->seq[i] == r->number)
                c->seq[i] = 0;
            else if (c->seq[i] > r->number)
                c->seq[i]--;
        }
        return 0;
    }
    if (r->type != MAIL_IMAP_T_FETCH || !r->has_number)
        return 0;
    n = mail_imap_fetch_item(r, "UID");
    if (n)
        mail_imap_node_u32(n, &uid);
    if (!mail_imap_fetch_item(r, "ENVELOPE") || !uid) {
        /* Unsolicited: new flags of a message we may have listed. */
        if ((n = mail_imap_fetch_item(r, "FLAGS")))
            for (size_t i = 0; i < l->n - c->first; i++)
                if (c->seq[i] == r->number)
                    l->v[c->first + i].flags = mail_imap_flags_from_list(n) &
                                               ~(unsigned)MAIL_FLAG_NEW;
        return 0;
    }
    if (l->n - c->first == c->seq_alloc) {
        size_t na = c->seq_alloc ? 2 * c->seq_alloc : 256;
        uint32_t *ns = realloc(c->seq, na * sizeof *ns);

        if (!ns)
            return nomem(err);
        c->seq = ns;
        c->seq_alloc = na;
    }
    {
        struct mail_envelope *e = folder_env_push(l, err);

        if (!e)
            return -1;
        c->seq[l->n - 1 - c->first] = r->number;
        return fill_envelope(c->f, e, r, uid, err);
    }
}

static int cmp_uid(const void *a, const void *b)
{
    const struct mail_envelope *x = a, *y = b;

    return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static int imap_list(struct mail_folder *mf, struct mail_envelope_list *out,
                     int flags, struct mail_error *err)
{
    struct imf *f = imf_of(mf);
    struct list_ctx c = { f, out, out->n, NULL, 0 };
    struct mail_session *s;
    size_t i, j;
    int rc;

    (void)flags;
    for (int attempt = 0;; attempt++) {
        s = selected(f, err);
        if (!s)
            return -1;
        c.first = out->n;
        rc = run(s, "UID FETCH (listing)", list_untagged, &c, err,
                 "UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE "
                 "ENVELOPE BODYSTRUCTURE)");
        if (rc == 0)
            break;
        folder_env_truncate(out, c.first);
        failed(f, err);
        if (attempt || !err->conn_lost) {
            free(c.seq);
            return -1;
        }
    }
    /* Drop what was expunged meanwhile; order by UID (delivery order);
     * a UID sent twice is listed once. */
    for (i = j = 0; i < out->n - c.first; i++) {
        if (!c.seq[i])
            continue;
        if (i != j) {
            struct mail_envelope tmp = out->v[c.first + j];

            out->v[c.first + j] = out->v[c.first + i];
            out->v[c.first + i] = tmp;
        }
        j++;
    }
    folder_env_truncate(out, c.first + j);
    free(c.seq);
    if (out->n > c.first)      /* (out->v may be NULL when empty) */
        qsort(out->v + c.first, out->n - c.first, sizeof *out->v, cmp_uid);
    for (i = j = c.first; i < out->n; i++) {
        if (j > c.first && out->v[j - 1].uid == out->v[i].uid)
            continue;
        if (i != j) {
            struct mail_envelope tmp = out->v[j];

            out->v[j] = out->v[i];
            out->v[i] = tmp;
        }
        j++;
    }
    folder_env_truncate(out, j);
    return 0;
}

/* ---- reading ---- */

struct body_ctx {
    int fd;
    bool got;
};

/* A sink into the temporary file b->fd. */
static int body_write(void *ctx, const char *data, size_t len,
                      struct mail_error *err)
{
    struct body_ctx *b = ctx;

    while (len) {
        ssize_t w = write(b->fd, data, len);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return mail_error_set(err, MAIL_ERR_IO, "temporary file: %s",
                                  strerror(errno));
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

static int body_begin(void *arg, const struct mail_imap_msg *m,
                      struct mail_imap_body_sink *sink,
                      struct mail_error *err)
{
    struct body_ctx *b = arg;

    (void)m;
    (void)err;
    b->got = true;
    sink->fn = body_write;
    sink->ctx = b;
    return 0;
}

static int imap_message_fd(struct mail_folder *mf,
                           const struct mail_envelope *e, int *fd,
                           struct mail_error *err)
{
    struct imf *f = imf_of(mf);
    struct mail_imap_fetch_opts o = { 1, mf->paths ? mf->paths->tmp_dir
                                                   : NULL };
    struct body_ctx b;

    for (int attempt = 0;; attempt++) {
        struct mail_session *s = selected(f, err);

        if (!s)
            return -1;
        if (check_key(f, e, err) < 0)
            return -1;
        b.fd = mail_tmpfile(o.tmp_dir, err);
        if (b.fd < 0)
            return -1;
        b.got = false;
        if (mail_imap_fetch_messages(s, &e->uid, 1, &o, body_begin, NULL,
                                     &b, err) == 0)
            break;
        close(b.fd);
        failed(f, err);
        if (attempt || !err->conn_lost)
            return -1;
    }
    if (!b.got) {
        close(b.fd);
        return mail_error_set(err, MAIL_ERR_NOTFOUND, "%s: message UID %u is "
                              "no longer there", f->base.path,
                              (unsigned)e->uid);
    }
    if (lseek(b.fd, 0, SEEK_SET) < 0) {
        close(b.fd);
        return mail_error_set(err, MAIL_ERR_IO, "temporary file: %s",
                              strerror(errno));
    }
    *fd = b.fd;
    return 0;
}

static int imap_fetch(struct mail_folder *mf, const struct mail_envelope *e,
                      mail_sink_fn sink, void *ctx, struct mail_error *err)
{
    char buf[READ_CHUNK];
    int fd, rc = 0;
    ssize_t n;

    if (imap_message_fd(mf, e, &fd, err) < 0)
        return -1;
    while ((n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = mail_error_set(err, MAIL_ERR_IO, "temporary file: %s",
                                strerror(errno));
            break;
        }
        if (sink(ctx, buf, (size_t)n, err) < 0) {
            rc = -1;    /* the sink's error */
            break;
        }
    }
    close(fd);
    return rc;
}

/* ---- flags, expunge, move ---- */

static uint32_t *uids_of(struct imf *f, struct mail_envelope *const *v,
                         size_t n, struct mail_error *err)
{
    uint32_t *u = malloc((n ? n : 1) * sizeof *u);

    if (!u) {
        nomem(err);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (check_key(f, v[i], err) < 0) {
            free(u);
            return NULL;
        }
        u[i] = v[i]->uid;
    }
    return u;
}

static int imap_set_flags_many(struct mail_folder *mf,
                               struct mail_envelope *const *v, size_t n,
                               unsigned add, unsigned remove,
                               struct mail_error *err)
{
    struct imf *f = imf_of(mf);
    struct mail_session *s = selected(f, err);
    uint32_t *u;
    int rc;

    if (!s)
        return -1;
    u = uids_of(f, v, n, err);
    if (!u)
        return -1;
    rc = mail_imap_store_flags(s, u, n, add, remove, err);
    free(u);
    if (rc < 0)
        return failed(f, err);
    for (size_t i = 0; i < n; i++)
        v[i]->flags = (v[i]->flags | add) & ~remove;
    return 0;
}

static int imap_set_flags(struct mail_folder *mf, struct mail_envelope *e,
                          unsigned add, unsigned remove,
                          struct mail_error *err)
{
    return imap_set_flags_many(mf, &e, 1, add, remove, err);
}

struct search_ctx {
    const uint32_t *mine;        /* sorted */
    size_t n;
    bool others;
};

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

static int search_untagged(void *arg, const struct mail_imap_resp *r,
                           struct mail_error *err)
{
    struct search_ctx *c = arg;

    (void)err;
    if (r->type != MAIL_IMAP_T_SEARCH)
        return 0;
    for (const struct mail_imap_node *n = r->args.child; n; n = n->next) {
        uint32_t u;

        if (mail_imap_node_u32(n, &u) == 0 &&
            !bsearch(&u, c->mine, c->n, sizeof u, cmp_u32))
            c->others = true;
    }
    return 0;
}

/* Without UIDPLUS: EXPUNGE removes every \Deleted message, so only when
 * ours are the only ones. */
static int expunge_plain(struct imf *f, struct mail_session *s, uint32_t *u,
                         size_t n, struct mail_error *err)
{
    struct search_ctx c = { u, n, false };

    if (mail_imap_store_flags(s, u, n, MAIL_FLAG_DELETED, 0, err) < 0)
        return failed(f, err);
    qsort(u, n, sizeof *u, cmp_u32);
    if (run(s, "UID SEARCH DELETED", search_untagged, &c, err,
            "UID SEARCH DELETED") < 0)
        return failed(f, err);
    if (c.others)
        return mail_error_set(err, MAIL_ERR_UNAVAIL, "%s: the server has no "
                              "UIDPLUS and other messages are marked "
                              "deleted: EXPUNGE would remove them too, so "
                              "the messages are only marked \\Deleted",
                              f->base.path);
    if (run(s, "EXPUNGE", NULL, NULL, err, "EXPUNGE") < 0)
        return failed(f, err);
    return 0;
}

static int imap_expunge_many(struct mail_folder *mf,
                             struct mail_envelope *const *v, size_t n,
                             struct mail_error *err)
{
    struct imf *f = imf_of(mf);
    struct mail_session *s = selected(f, err);
    uint32_t *u;
    int rc;

    if (!s)
        return -1;
    u = uids_of(f, v, n, err);
    if (!u)
        return -1;
    if (mail_session_has_cap(s, "UIDPLUS")) {
        rc = mail_imap_expunge_uids(s, u, n, err);
        if (rc < 0)
            failed(f, err);
    } else {
        rc = expunge_plain(f, s, u, n, err);
    }
    free(u);
    return rc;
}

static int imap_expunge(struct mail_folder *mf, struct mail_envelope *e,
                        struct mail_error *err)
{
    return imap_expunge_many(mf, &e, 1, err);
}

static int imap_move_many(struct mail_folder *from,
                          struct mail_envelope *const *v, size_t n,
                          struct mail_folder *to, struct mail_error *err)
{
    struct imf *f = imf_of(from), *t;
    struct mail_session *s;
    uint32_t *u;
    int rc;

    if (to->drv != &imap_driver)
        return 1;
    t = imf_of(to);
    if (t->c.arg != f->c.arg)
        return 1;                /* another account: copy */
    s = selected(f, err);
    if (!s)
        return -1;
    u = uids_of(f, v, n, err);
    if (!u)
        return -1;
    rc = mail_imap_move(s, u, n, t->name, err);
    free(u);
    if (rc < 0)
        return failed(f, err);
    return 0;
}

static int imap_move(struct mail_folder *from, struct mail_envelope *e,
                     struct mail_folder *to, char **new_key,
                     struct mail_error *err)
{
    if (new_key)
        *new_key = NULL;
    return imap_move_many(from, &e, 1, to, err);
}

/* ---- append ---- */

struct imf_append {
    struct mail_append base;
    int fd;                      /* the spool: APPEND needs the size */
    unsigned flags;
    time_t received;
};

static struct mail_append *imap_append_begin(struct mail_folder *mf,
                                             unsigned flags, time_t received,
                                             struct mail_error *err)
{
    struct imf_append *a = calloc(1, sizeof *a);

    if (!a) {
        nomem(err);
        return NULL;
    }
    a->base.folder = mf;
    a->flags = flags & ~(unsigned)(MAIL_FLAG_NEW | MAIL_APPEND_DEFER_SYNC);
    a->received = received;
    a->fd = mail_tmpfile(mf->paths ? mf->paths->tmp_dir : NULL, err);
    if (a->fd < 0) {
        free(a);
        return NULL;
    }
    return &a->base;
}

static int imap_append_write(struct mail_append *ma, const char *data,
                             size_t len, struct mail_error *err)
{
    struct imf_append *a = (struct imf_append *)ma;
    struct body_ctx b = { a->fd, false };

    return body_write(&b, data, len, err);
}

static void imap_append_abort(struct mail_append *ma)
{
    struct imf_append *a = (struct imf_append *)ma;

    close(a->fd);
    free(a);
}

/* The spool, APPEND as imap.c sends it (LITERAL+ when offered, streamed),
 * the key from APPENDUID when the server gives one. */
static int do_append(struct imf *f, struct imf_append *a, char **key,
                     struct mail_error *err)
{
    struct mail_session *s = f->c.session(f->c.arg, err);
    uint32_t uv = 0, uid = 0;

    if (!s)
        return -1;
    if (mail_imap_append_fd(s, f->name, a->flags, a->received, a->fd, 0,
                            &uv, &uid, err) < 0) {
        if (err->kind == MAIL_ERR_NOTFOUND) {
            mail_error_set(err, MAIL_ERR_NOTFOUND, "%s: no such folder on "
                           "the server", f->base.path);
        } else if (err->kind != MAIL_ERR_UNAVAIL) {
            f->sess = s;
            failed(f, err);
        }
        return -1;
    }
    if (key && uv && uid &&
        asprintf(key, "%lu:%lu", (unsigned long)uv, (unsigned long)uid) < 0)
        *key = NULL;
    return 0;
}

static int imap_append_commit(struct mail_append *ma, char **key,
                              struct mail_error *err)
{
    struct imf_append *a = (struct imf_append *)ma;
    struct imf *f = imf_of(ma->folder);
    int rc = do_append(f, a, key, err);

    imap_append_abort(ma);
    return rc;
}

/* ---- the rest ---- */

static int imap_sync(struct mail_folder *mf, struct mail_error *err)
{
    (void)mf;
    (void)err;
    return 0;
}

static void imap_close(struct mail_folder *mf)
{
    struct imf *f = imf_of(mf);

    if (f->c.selected && *f->c.selected == f->self)
        *f->c.selected = NULL;
    if (f->c.release)
        f->c.release(f->c.arg);
    free(f->name);
    free(f->base.path);
    free(f);
}

static const struct mail_folder_driver imap_driver = {
    .name = "imap",
    .list = imap_list,
    .fetch = imap_fetch,
    .message_fd = imap_message_fd,
    .set_flags = imap_set_flags,
    .expunge = imap_expunge,
    .append_begin = imap_append_begin,
    .sync = imap_sync,
    .close = imap_close,
    .append_write = imap_append_write,
    .append_commit = imap_append_commit,
    .append_abort = imap_append_abort,
    .move = imap_move,
    .set_flags_many = imap_set_flags_many,
    .expunge_many = imap_expunge_many,
    .move_many = imap_move_many,
};

struct mail_folder *mail_imap_folder_open(const struct mail_imap_connector *c,
                                          const char *name, int mode,
                                          const struct mail_paths *paths,
                                          struct mail_error *err)
{
    struct imf *f;
    char *path = NULL;

    if (!name || !*name) {
        mail_error_set(err, MAIL_ERR_USAGE, "imap: needs a folder name, as "
                       "in imap:INBOX");
        return NULL;
    }
    f = calloc(1, sizeof *f);
    if (!f || asprintf(&path, "imap:%s", name) < 0) {
        free(f);
        nomem(err);
        return NULL;
    }
    f->c = *c;
    f->self = f;
    f->name = strdup(name);
    if (!f->name ||
        mail_folder_base_init(&f->base, &imap_driver, MAIL_FOLDER_IMAP, path,
                              mode & ~MAIL_FOLDER_CREATE, paths, err) < 0) {
        if (!f->name)
            nomem(err);
        free(f->name);
        free(f->base.path);
        free(f);
        free(path);
        return NULL;
    }
    free(path);
    return &f->base;
}

const char *mail_imap_folder_name(const struct mail_folder *f)
{
    return f && f->drv == &imap_driver ? ((const struct imf *)f)->name
                                       : NULL;
}

uint32_t mail_imap_folder_uidvalidity(const struct mail_folder *f)
{
    return f && f->drv == &imap_driver ? ((const struct imf *)f)->uidvalidity
                                       : 0;
}

int mail_imap_folder_special_use(struct mail_folder *mf, unsigned use,
                                 char **name, struct mail_error *err)
{
    struct imf *f = imf_of(mf);
    struct mail_imap_mailboxes l = { NULL, 0 };
    struct mail_session *s;
    int rc = 1;

    *name = NULL;
    if (mf->drv != &imap_driver)
        return 1;
    s = f->c.session(f->c.arg, err);
    if (!s)
        return -1;
    if (mail_imap_list(s, &l, err) < 0)
        return failed(f, err);
    for (size_t i = 0; i < l.n && rc == 1; i++)
        if (l.v[i].attrs & use) {
            *name = strdup(l.v[i].name);
            rc = *name ? 0 : nomem(err);
        }
    mail_imap_mailboxes_release(&l);
    return rc;
}

/* ---- search ---- */

struct hits_ctx {
    uint32_t *v;
    size_t n, alloc;
};

static int hits_untagged(void *arg, const struct mail_imap_resp *r,
                         struct mail_error *err)
{
    struct hits_ctx *c = arg;

    if (r->type != MAIL_IMAP_T_SEARCH)
        return 0;
    for (const struct mail_imap_node *n = r->args.child; n; n = n->next) {
        uint32_t u;

        if (mail_imap_node_u32(n, &u) < 0 || !u)
            continue;
        if (c->n == c->alloc) {
            size_t na = c->alloc ? 2 * c->alloc : 256;
            uint32_t *nv;

            if (na > (16u << 20))
                return mail_error_set(err, MAIL_ERR_PROTOCOL, "SEARCH: too "
                                      "many results");
            nv = realloc(c->v, na * sizeof *nv);
            if (!nv)
                return nomem(err);
            c->v = nv;
            c->alloc = na;
        }
        c->v[c->n++] = u;
    }
    return 0;
}

int mail_imap_folder_search(struct mail_folder *mf, const struct mail_query *q,
                            uint32_t **uids, size_t *n, bool *filter,
                            struct mail_error *err)
{
    struct imf *f = imf_of(mf);
    struct mail_buf cmd = MAIL_BUF_INIT;
    struct hits_ctx c = { NULL, 0, 0 };
    struct mail_session *s;
    unsigned out = 0;
    size_t i, j;

    *uids = NULL;
    *n = 0;
    *filter = false;
    if (mf->drv != &imap_driver)
        return 1;
    s = selected(f, err);
    if (!s)
        return -1;
    if (mail_buf_addstr(&cmd, "UID SEARCH ") < 0 ||
        mail_query_imap(q, &cmd, mail_session_has_cap(s, "LITERAL+")
                                 ? MAIL_QUERY_IMAP_LITERAL_PLUS : 0,
                        &out, err) < 0) {
        mail_buf_release(&cmd);
        return nomem(err);
    }
    if ((out & MAIL_QUERY_IMAP_HAS_LITERAL) &&
        !mail_session_has_cap(s, "LITERAL+")) {
        mail_buf_release(&cmd);
        return 1;
    }
    if (run(s, "UID SEARCH", hits_untagged, &c, err, cmd.data) < 0) {
        mail_buf_release(&cmd);
        free(c.v);
        return failed(f, err);
    }
    mail_buf_release(&cmd);
    /* Never NULL, so that callers may bsearch an empty result. */
    if (!c.v && !(c.v = malloc(sizeof *c.v)))
        return nomem(err);
    if (c.n)
        qsort(c.v, c.n, sizeof *c.v, cmp_u32);
    for (i = j = 0; i < c.n; i++)
        if (!j || c.v[j - 1] != c.v[i])
            c.v[j++] = c.v[i];
    *uids = c.v;
    *n = j;
    *filter = (out & MAIL_QUERY_IMAP_FILTER) != 0;
    return 0;
}
