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
 * removes the source only after the destination committed.  A copy
 * (mail_folder_copy, the reader's s) between folders of one connector is
 * UID COPY: the message never leaves the server.  Appends are
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
#include "imapparts.h"
#include "mail/date.h"
#include "mail/folder.h"
#include "mail/foldercache.h"
#include "mail/fsutil.h"
#include "mail/header.h"
#include "mail/imap.h"
#include "mail/imap_envelope.h"
#include "mail/imapcache.h"
#include "mail/query.h"

#define READ_CHUNK (64 * 1024)
#define LIST_BATCH 500           /* UIDs per listing UID FETCH */
#define LIST_WINDOW 4            /* listing commands in flight */
#define LIST_ROUNDS 3            /* resyncs after EXPUNGEs during one */

struct imf {
    struct mail_folder base;
    struct mail_imap_connector c;
    char *name;                  /* UTF-8 */
    struct mail_session *sess;   /* the session it was selected on */
    uint32_t uidvalidity;        /* from the first SELECT; 0 before */
    const void *self;            /* what *c.selected holds when it is us */
    struct mail_imap_mailbox_state st;   /* what the last SELECT said */
    char *account;               /* names the cache file; NULL: none */
    char *cache_file;            /* NULL: no cache file */
    struct mail_imap_cache cache;        /* the listing as last known */
    bool cache_loaded;
    mail_imap_progress_fn progress;
    void *progress_arg;
    size_t batch;                /* UIDs per listing batch */
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
static struct mail_session *select_q(struct imf *f,
                                     const struct mail_imap_qresync *q,
                                     struct mail_error *err)
{
    struct mail_imap_mailbox_state st;
    struct mail_session *s = f->c.session(f->c.arg, err);
    int r;

    if (!s)
        return NULL;
    if (s == f->sess && f->c.selected && *f->c.selected == f->self)
        return s;
    memset(&st, 0, sizeof st);
    r = mail_imap_select_qresync(s, f->name,
                                 (f->base.mode & MAIL_FOLDER_RDWR) != 0, q,
                                 &st, err);
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
    f->st = st;
    f->sess = s;
    if (f->c.selected)
        *f->c.selected = f->self;
    return s;
}

static struct mail_session *selected(struct imf *f, struct mail_error *err)
{
    return select_q(f, NULL, err);
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

/*
 * A listing starts from what the folder knew (f->cache: the cache file,
 * or the last listing of this run) and asks the server only what changed
 * (doc/IMAP-FOLDERS.md "Listing and its cache"):
 *
 * - UIDVALIDITY changed: the cache is dropped.
 * - QRESYNC (RFC 7162; ENABLE pipelined with the SELECT, once per
 *   session): the SELECT carries the cache's UIDVALIDITY, HIGHESTMODSEQ
 *   and known UIDs, and reports the changed flags (FETCH) and what was
 *   expunged (VANISHED (EARLIER), ranges never expanded) itself; then
 *   only new messages are asked for, from the cached UIDNEXT on.  A count
 *   that then differs from EXISTS makes it check everything once more.
 * - CONDSTORE (HIGHESTMODSEQ in SELECT and in the cache): nothing when
 *   HIGHESTMODSEQ, UIDNEXT and EXISTS are as cached (no command after
 *   SELECT); else UID FETCH 1:last (UID FLAGS) (CHANGEDSINCE m) for the
 *   changed flags and UID SEARCH UID 1:last for what is still there.
 * - Else UID FETCH 1:last (UID FLAGS): flags, and what is not reported is
 *   gone.
 * - New messages: UID FETCH in batches of UID ranges from last+1 (the
 *   last one open, "N:*"), the whole envelope.
 *
 * The commands go out together, up to LIST_WINDOW in flight, so a resync
 * is one round trip after SELECT.  Untagged responses at any time: FETCH
 * with a UID updates that message, VANISHED removes, and an EXPUNGE or a
 * FETCH of flags without a UID (sequence numbers are not tracked) makes
 * the listing run again with the flag refresh (UID FETCH 1:* (UID FLAGS)),
 * up to LIST_ROUNDS times.
 */

struct sync_ctx {
    struct imf *f;
    struct mail_imap_cache *c;   /* known messages, ascending */
    uint32_t last;               /* the highest known UID */
    unsigned char *present;      /* per known message: reported now */
    unsigned char *gone;         /* per known message: VANISHED */
    struct mail_imap_cache neu;  /* new messages, in arrival order */
    bool presence;               /* known ones not reported are gone */
    bool qresync;                /* the SELECT reported the changes */
    bool recheck;
    size_t done, total;
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

/* The References field of a "BODY[HEADER.FIELDS (REFERENCES)]" item
 * (the server may spell the section in any case), unfolded; NULL when
 * absent.  -1 on ENOMEM. */
static int references_of(const struct mail_imap_resp *r, char **out,
                         struct mail_error *err)
{
    const struct mail_imap_node *list = r->args.child, *c;

    *out = NULL;
    if (!list || list->type != MAIL_IMAP_LIST)
        return 0;
    for (c = list->child; c && c->next; c = c->next->next) {
        struct mail_header h = MAIL_HEADER_INIT;
        const char *v;
        size_t pos = 0;

        if (c->type != MAIL_IMAP_ATOM ||
            mail_strncasecmp(c->data, "BODY[HEADER.FIELDS", 18) != 0 ||
            c->next->type != MAIL_IMAP_STRING)
            continue;
        if (mail_header_parse(&h, c->next->data, (size_t)c->next->len,
                              err) < 0)
            return -1;
        v = mail_header_next(&h, "references", &pos);
        if (v && *v && !(*out = strdup(v))) {
            mail_header_release(&h);
            return nomem(err);
        }
        mail_header_release(&h);
        break;
    }
    return 0;
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
    if (references_of(r, &e->references, err) < 0)
        return -1;
    /* A malformed BODYSTRUCTURE costs the attachment mark only. */
    if ((n = mail_imap_fetch_item(r, "BODYSTRUCTURE")) &&
        mail_imap_body_summary(n, &e->attachments, &e->content_type,
                               err) < 0 && err->kind == MAIL_ERR_INTERNAL)
        return -1;
    mail_error_clear(err);
    return oom ? nomem(err) : 0;
}

/* MODSEQ (n) of a FETCH response, 0 when absent. */
static uint64_t modseq_of(const struct mail_imap_resp *r)
{
    const struct mail_imap_node *n = mail_imap_fetch_item(r, "MODSEQ");
    uint64_t v = 0;

    if (n && n->type == MAIL_IMAP_LIST && n->child)
        mail_imap_node_u64(n->child, &v);
    return v;
}

/* The index of uid among the known messages, or -1. */
static long known_index(const struct mail_imap_cache *c, uint32_t uid)
{
    size_t lo = 0, hi = c->list.n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (c->list.v[mid].uid == uid)
            return (long)mid;
        if (c->list.v[mid].uid < uid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* VANISHED a:b: the known messages in the range (found by bisection, so
 * a huge range costs no more than the messages in it) and new ones. */
static void mark_range(const struct mail_imap_cache *c, unsigned char *mark,
                       uint32_t a, uint32_t b)
{
    size_t lo = 0, hi = c->list.n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (c->list.v[mid].uid < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < c->list.n && c->list.v[lo].uid <= b; lo++)
        mark[lo] = 1;
}

/* ESEARCH ALL a:b of the presence check. */
static void present_range(void *arg, uint32_t a, uint32_t b)
{
    struct sync_ctx *x = arg;

    mark_range(x->c, x->present, a, b);
}

static void vanish_range(void *arg, uint32_t a, uint32_t b)
{
    struct sync_ctx *x = arg;

    mark_range(x->c, x->gone, a, b);
    for (size_t k = 0; k < x->neu.list.n; k++)
        if (x->neu.list.v[k].uid >= a && x->neu.list.v[k].uid <= b)
            x->neu.list.v[k].uid = 0;     /* dropped at the merge */
}

static int sync_untagged(void *arg, const struct mail_imap_resp *r,
                         struct mail_error *err)
{
    struct sync_ctx *x = arg;
    const struct mail_imap_node *n;
    uint32_t uid = 0;

    if (r->type == MAIL_IMAP_T_EXPUNGE) {
        x->recheck = true;
        return 0;
    }
    if (r->type == MAIL_IMAP_T_VANISHED) {
        /* "* VANISHED (EARLIER) 1:3,7" or "* VANISHED 5": ranges of any
         * size, never expanded */
        bool earlier;
        const char *set = mail_imap_vanished(r, &earlier);

        /* one we cannot read: every flag and UID asked again */
        if (!set || mail_imap_set_ranges(set, vanish_range, x, err) < 0) {
            mail_error_clear(err);
            x->recheck = true;
        }
        return 0;
    }
    if (r->type == MAIL_IMAP_T_ESEARCH) {
        bool found;
        const char *all = mail_imap_esearch_all(r, &found);

        if (all)
            return mail_imap_set_ranges(all, present_range, x, err);
        return 0;
    }
    if (r->type == MAIL_IMAP_T_SEARCH) {
        for (n = r->args.child; n; n = n->next) {
            long i;

            if (mail_imap_node_u32(n, &uid) == 0 &&
                (i = known_index(x->c, uid)) >= 0)
                x->present[i] = 1;
        }
        return 0;
    }
    if (r->type != MAIL_IMAP_T_FETCH)
        return 0;
    if (!(n = mail_imap_fetch_item(r, "UID")) ||
        mail_imap_node_u32(n, &uid) < 0 || !uid) {
        /* flags by sequence number: refresh them all afterwards */
        if (mail_imap_fetch_item(r, "FLAGS"))
            x->recheck = true;
        return 0;
    }
    if (uid <= x->last) {
        long i = known_index(x->c, uid);

        if (i < 0)
            return 0;           /* gone before we knew it, or never ours */
        x->present[i] = 1;
        if ((n = mail_imap_fetch_item(r, "FLAGS")))
            x->c->list.v[i].flags = mail_imap_flags_from_list(n) &
                                    ~(unsigned)MAIL_FLAG_NEW;
        if (modseq_of(r))
            x->c->modseq[i] = modseq_of(r);
        return 0;
    }
    if (!mail_imap_fetch_item(r, "ENVELOPE")) {
        /* new flags of a new message already listed */
        for (size_t k = x->neu.list.n; k-- > 0;)
            if (x->neu.list.v[k].uid == uid &&
                (n = mail_imap_fetch_item(r, "FLAGS"))) {
                x->neu.list.v[k].flags = mail_imap_flags_from_list(n) &
                                         ~(unsigned)MAIL_FLAG_NEW;
                break;
            }
        return 0;
    }
    {
        struct mail_envelope *e = mail_imap_cache_push(&x->neu, err);

        if (!e)
            return -1;
        x->neu.modseq[x->neu.list.n - 1] = modseq_of(r);
        x->done++;
        return fill_envelope(x->f, e, r, uid, err);
    }
}

/* One command of a listing. */
struct lcmd {
    char *text;
    bool batch;                  /* a batch of new messages (progress) */
};

/*
 * Send cmds (up to LIST_WINDOW in flight) and read every response.  A NO
 * or BAD stops sending; the commands in flight are read to their end and
 * the first refusal is the error.  Progress before each batch; a cancel
 * stops sending likewise.  0, or -1 with err (*cancelled set when the
 * caller cancelled: the session is still in step).
 */
static int run_pipeline(struct imf *f, struct mail_session *s,
                        struct lcmd *cmds, size_t n, struct sync_ctx *x,
                        bool *cancelled, struct mail_error *err)
{
    struct mail_imap_parser p;
    char tags[LIST_WINDOW][sizeof s->curtag];
    size_t next = 0, inflight = 0;
    bool stop = false, refused = false;
    int rc = 0;

    *cancelled = false;
    mail_imap_parser_init(&p, NULL, NULL, NULL);
    for (;;) {
        const struct mail_imap_resp *r;
        size_t k;

        while (!stop && inflight < LIST_WINDOW && next < n) {
            if (cmds[next].batch && f->progress &&
                f->progress(f->progress_arg, x->done, x->total)) {
                *cancelled = stop = true;
                break;
            }
            if (mail_imap_send(s, err, "%s", cmds[next].text) < 0) {
                rc = mail_error_prefix(err, "%s: UID FETCH (listing)",
                                       s->name);
                goto out;
            }
            memcpy(tags[inflight++], s->curtag, sizeof tags[0]);
            next++;
        }
        if (mail_conn_flush(s->conn, err) < 0) {
            rc = mail_error_prefix(err, "%s: UID FETCH (listing)", s->name);
            goto out;
        }
        if (!inflight)
            break;
        if (mail_imap_read_response(&p, s->conn, err) < 0) {
            rc = mail_error_prefix(err, "%s: UID FETCH (listing)", s->name);
            goto out;
        }
        r = &p.resp;
        if (r->kind == MAIL_IMAP_RESP_UNTAGGED) {
            if (sync_untagged(x, r, err) < 0) {
                rc = -1;
                goto out;
            }
            continue;
        }
        if (r->kind == MAIL_IMAP_RESP_CONT) {
            rc = mail_error_set(err, MAIL_ERR_PROTOCOL, "%s: UID FETCH "
                                "(listing): unexpected continuation request",
                                s->name);
            goto out;
        }
        for (k = 0; k < inflight; k++)
            if (strcmp(tags[k], r->tag) == 0)
                break;
        if (k == inflight) {
            rc = mail_error_set(err, MAIL_ERR_PROTOCOL, "%s: UID FETCH "
                                "(listing): reply with an unknown tag",
                                s->name);
            goto out;
        }
        memmove(tags[k], tags[k + 1], (inflight - k - 1) * sizeof tags[0]);
        inflight--;
        if (r->status != MAIL_IMAP_ST_OK && !refused) {
            refused = stop = true;
            mail_error_set(err, MAIL_ERR_UNAVAIL, "%s: UID FETCH (listing): "
                           "%.300s", s->name, r->text);
        }
        if (f->progress && !refused && !*cancelled)
            f->progress(f->progress_arg, x->done, x->total);
    }
    if (refused)
        rc = -1;
    else if (*cancelled)
        rc = mail_error_set(err, MAIL_ERR_TEMP, "%s: listing cancelled",
                            f->base.path);
out:
    mail_imap_parser_release(&p);
    return rc;
}

static void lcmds_free(struct lcmd *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].text);
    free(v);
}

/* The commands of one round (see above); *n 0 when nothing changed. */
static int plan(struct imf *f, struct mail_session *s, struct sync_ctx *x,
                bool refresh, struct lcmd **out, size_t *n,
                struct mail_error *err)
{
    const struct mail_imap_mailbox_state *st = &f->st;
    const struct mail_imap_cache *c = x->c;
    /* the SELECT said what changed of the known ones (QRESYNC) */
    bool qresync = x->qresync && !refresh;
    bool condstore = st->highestmodseq && c->highestmodseq &&
                     (qresync || mail_session_has_cap(s, "CONDSTORE"));
    /* References is not in ENVELOPE: the one header field, for threads
     * as in local folders */
    const char *items = condstore
        ? "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE MODSEQ "
          "BODY.PEEK[HEADER.FIELDS (REFERENCES)])"
        : "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE "
          "BODY.PEEK[HEADER.FIELDS (REFERENCES)])";
    size_t max = 3, k = 0, batches = 0;
    struct lcmd *v;
    uint64_t span = 0;
    int r = 0;

    *out = NULL;
    *n = 0;
    x->presence = false;
    if (c->list.n && !refresh && condstore &&
        st->highestmodseq == c->highestmodseq && st->uidnext &&
        st->uidnext == c->uidnext && st->exists == c->list.n)
        return 0;               /* nothing changed */
    if (qresync && st->uidnext && c->uidnext && st->uidnext <= c->uidnext)
        return 0;               /* nothing new: the SELECT said the rest */
    if (!st->uidnext) {
        batches = 1;            /* not said: one open range */
    } else if (st->uidnext > x->last + 1) {
        size_t known = c->list.n, est = st->exists > known
                                        ? st->exists - known : 1;

        span = (uint64_t)st->uidnext - x->last - 1;
        batches = (est + f->batch - 1) / f->batch;
        if (batches > span)
            batches = (size_t)span;
        if (!batches)
            batches = 1;
        x->total = est;
    }
    max += batches;
    v = calloc(max, sizeof *v);
    if (!v)
        return nomem(err);
    if (qresync) {
        /* changed flags and VANISHED came with the SELECT */
    } else if (c->list.n && (refresh || !condstore)) {
        x->presence = true;
        r |= asprintf(&v[k++].text, "UID FETCH 1:%u (UID FLAGS)",
                      (unsigned)x->last);
    } else if (c->list.n) {
        x->presence = true;
        r |= asprintf(&v[k++].text, "UID FETCH 1:%u (UID FLAGS) "
                      "(CHANGEDSINCE %llu)", (unsigned)x->last,
                      (unsigned long long)c->highestmodseq);
        /* ESEARCH (RFC 4731) answers with ranges, not every UID */
        r |= asprintf(&v[k++].text, "UID SEARCH %sUID 1:%u",
                      mail_session_has_cap(s, "ESEARCH") ? "RETURN (ALL) "
                                                         : "",
                      (unsigned)x->last);
    }
    /* New ones: the UID range last+1 .. UIDNEXT-1 cut into batches, the
     * last one open ("*" also reports the highest UID when it is below
     * the range: such a UID is known and ignored). */
    {
        uint64_t from = (uint64_t)x->last + 1;

        for (size_t b = 0; b < batches; b++) {
            uint64_t to = from + span / batches - 1;

            v[k].batch = true;
            if (b + 1 == batches)
                r |= asprintf(&v[k++].text, "UID FETCH %llu:* %s",
                              (unsigned long long)from, items);
            else
                r |= asprintf(&v[k++].text, "UID FETCH %llu:%llu %s",
                              (unsigned long long)from,
                              (unsigned long long)to, items);
            from = to + 1;
        }
    }
    if (r < 0) {
        lcmds_free(v, k);
        return nomem(err);
    }
    *out = v;
    *n = k;
    return 0;
}

struct uid_ix {
    uint32_t uid;
    size_t i;
};

static int cmp_uid_ix(const void *a, const void *b)
{
    const struct uid_ix *x = a, *y = b;

    if (x->uid != y->uid)
        return x->uid < y->uid ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Known messages that are gone are dropped, the new ones (ascending, each
 * UID once) appended. */
static int merge(struct sync_ctx *x, struct mail_error *err)
{
    struct mail_imap_cache *c = x->c;
    struct mail_imap_cache *nw = &x->neu;
    size_t i, j;

    for (i = j = 0; i < c->list.n; i++) {
        if (x->gone[i] || (x->presence && !x->present[i]))
            continue;
        if (i != j) {
            struct mail_envelope t = c->list.v[j];

            c->list.v[j] = c->list.v[i];
            c->list.v[i] = t;
            c->modseq[j] = c->modseq[i];
        }
        j++;
    }
    folder_env_truncate(&c->list, j);
    if (nw->list.n) {
        /* order by UID, keeping modseq along: sort (uid, index) pairs */
        struct uid_ix *o = malloc(nw->list.n * sizeof *o);

        if (!o)
            return nomem(err);
        for (i = 0; i < nw->list.n; i++) {
            o[i].uid = nw->list.v[i].uid;
            o[i].i = i;
        }
        qsort(o, nw->list.n, sizeof *o, cmp_uid_ix);
        for (i = 0; i < nw->list.n; i++) {
            struct mail_envelope *src = &nw->list.v[o[i].i], *e;
            uint32_t last = c->list.n ? c->list.v[c->list.n - 1].uid : 0;

            if (!src->uid || src->uid <= last)
                continue;       /* vanished, or a duplicate */
            e = mail_imap_cache_push(c, err);
            if (!e) {
                free(o);
                return -1;
            }
            *e = *src;
            c->modseq[c->list.n - 1] = nw->modseq[o[i].i];
            memset(src, 0, sizeof *src);   /* moved */
        }
        free(o);
    }
    return 0;
}

static void sync_release(struct sync_ctx *x)
{
    free(x->present);
    free(x->gone);
    x->present = x->gone = NULL;
    mail_imap_cache_release(&x->neu);
}

static int env_copy(struct mail_envelope *d, const struct mail_envelope *e,
                    struct mail_error *err)
{
    bool oom = false;

    *d = *e;
    d->key = xstrdup(e->key, &oom);
    d->path = NULL;
    d->from = xstrdup(e->from, &oom);
    d->to = xstrdup(e->to, &oom);
    d->cc = xstrdup(e->cc, &oom);
    d->subject = xstrdup(e->subject, &oom);
    d->message_id = xstrdup(e->message_id, &oom);
    d->in_reply_to = xstrdup(e->in_reply_to, &oom);
    d->references = xstrdup(e->references, &oom);
    d->content_type = xstrdup(e->content_type, &oom);
    d->from_display = d->subject_display = NULL;
    d->borrowed = false;
    return oom ? nomem(err) : 0;
}

static void load_cache(struct imf *f)
{
    struct mail_error e;

    if (f->cache_loaded)
        return;
    f->cache_loaded = true;
    mail_error_clear(&e);
    if (f->cache_file &&
        mail_imap_cache_load(&f->cache, f->cache_file, f->account, f->name,
                             &e) < 0)
        mail_imap_cache_release(&f->cache);
}

/* A round's context over f->cache as it is now. */
static int sync_init(struct imf *f, struct sync_ctx *x,
                     struct mail_error *err)
{
    struct mail_imap_cache *c = &f->cache;

    memset(x, 0, sizeof *x);
    x->f = f;
    x->c = c;
    x->last = c->list.n ? c->list.v[c->list.n - 1].uid : 0;
    x->present = calloc(c->list.n + 1, 1);
    x->gone = calloc(c->list.n + 1, 1);
    if (!x->present || !x->gone) {
        sync_release(x);
        return nomem(err);
    }
    return 0;
}

/* One listing on session s, f->st fresh: f->cache brought up to date.
 * qr: the first round's context, filled by a QRESYNC SELECT (taken over
 * and released here), or NULL. */
static int sync_cache(struct imf *f, struct mail_session *s,
                      struct sync_ctx *qr, bool *cancelled,
                      struct mail_error *err)
{
    struct mail_imap_cache *c = &f->cache;

    if (qr && (!f->st.qresync || c->uidvalidity != f->st.uidvalidity)) {
        sync_release(qr);    /* the server did not answer to our state */
        qr = NULL;
    }
    if (c->uidvalidity != f->st.uidvalidity) {
        mail_imap_cache_release(c);
        c->uidvalidity = f->st.uidvalidity;
    }
    for (int round = 0; round < LIST_ROUNDS; round++) {
        struct sync_ctx x;
        struct lcmd *cmds;
        size_t n;
        int rc;

        if (round == 0 && qr) {
            x = *qr;
            x.qresync = true;
            qr = NULL;
        } else if (sync_init(f, &x, err) < 0) {
            return -1;
        }
        if (plan(f, s, &x, round > 0, &cmds, &n, err) < 0) {
            sync_release(&x);
            return -1;
        }
        rc = n ? run_pipeline(f, s, cmds, n, &x, cancelled, err) : 0;
        lcmds_free(cmds, n);
        /* A failed round leaves c as it was but for flags the server
         * reported (true news); HIGHESTMODSEQ is not moved on. */
        if (rc < 0) {
            sync_release(&x);
            return -1;
        }
        if (merge(&x, err) < 0) {
            sync_release(&x);
            mail_imap_cache_release(c);   /* half merged */
            return -1;
        }
        sync_release(&x);
        /* QRESYNC told of every change to what we knew: a count other
         * than the SELECT's (a server that did not) makes it check all */
        if (x.qresync && !x.recheck && c->list.n != f->st.exists)
            x.recheck = true;
        if (!x.recheck)
            break;
    }
    c->uidvalidity = f->st.uidvalidity;
    c->uidnext = f->st.uidnext;
    c->highestmodseq = f->st.highestmodseq;
    return 0;
}

static int imap_list(struct mail_folder *mf, struct mail_envelope_list *out,
                     int flags, struct mail_error *err)
{
    struct imf *f = imf_of(mf);
    struct mail_session *s;
    bool cancelled = false;
    size_t first = out->n;

    (void)flags;
    load_cache(f);
    for (int attempt = 0;; attempt++) {
        struct sync_ctx qr;
        struct mail_imap_qresync q;
        bool want_qr = f->cache.uidvalidity && f->cache.highestmodseq &&
                       f->cache.list.n;

        /* a fresh SELECT: its EXISTS, UIDNEXT and HIGHESTMODSEQ, and with
         * QRESYNC what changed of the cached messages */
        if (f->c.selected && *f->c.selected == f->self)
            *f->c.selected = NULL;
        if (want_qr) {
            if (sync_init(f, &qr, err) < 0)
                return -1;
            memset(&q, 0, sizeof q);
            q.uidvalidity = f->cache.uidvalidity;
            q.modseq = f->cache.highestmodseq;
            q.known_last = qr.last;
            q.fn = sync_untagged;
            q.arg = &qr;
        }
        s = select_q(f, want_qr ? &q : NULL, err);
        if (!s) {
            if (want_qr)
                sync_release(&qr);
            return -1;
        }
        if (sync_cache(f, s, want_qr ? &qr : NULL, &cancelled, err) == 0)
            break;
        if (cancelled)
            return -1;
        failed(f, err);
        if (attempt || !err->conn_lost)
            return -1;
    }
    if (f->cache_file) {
        struct mail_error e;

        mail_error_clear(&e);   /* a cache that cannot be written: no cache */
        mail_imap_cache_save(&f->cache, f->cache_file, f->account, f->name,
                             &e);
    }
    for (size_t i = 0; i < f->cache.list.n; i++) {
        struct mail_envelope *e = folder_env_push(out, err);

        if (!e || env_copy(e, &f->cache.list.v[i], err) < 0) {
            folder_env_truncate(out, first);
            return -1;
        }
    }
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

/* Only the parts shown (imapparts.c); a message with too many parts for
 * that is read whole, and so is a small one: picking its parts costs
 * three round trips where the whole message costs one. */
#define READ_WHOLE_BELOW 32768
static int imap_message_read(struct mail_folder *mf,
                             const struct mail_envelope *e, int what,
                             const char *part, int *fd,
                             struct mail_part_sizes *sizes,
                             struct mail_error *err)
{
    struct imf *f = imf_of(mf);

    if (e->size && e->size < READ_WHOLE_BELOW)
        return imap_message_fd(mf, e, fd, err);
    for (int attempt = 0;; attempt++) {
        struct mail_session *s = selected(f, err);
        int rc;

        if (!s || check_key(f, e, err) < 0)
            return -1;
        rc = mail_imap_parts_read(s, mf->path, e->uid, what, part,
                                  mf->paths ? mf->paths->tmp_dir : NULL, fd,
                                  sizes, err);
        if (rc >= 0)
            return rc ? imap_message_fd(mf, e, fd, err) : 0;
        failed(f, err);
        if (attempt || !err->conn_lost)
            return -1;
    }
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

/* An operation on the UIDs of a set on the selected session; -1 with err
 * (the session dropped by failed() when it is lost). */
typedef int uids_op(struct imf *f, struct mail_session *s, uint32_t *u,
                    size_t n, void *arg, struct mail_error *err);

/* op on the UIDs of v, tried once more on a new connection when the first
 * was lost in the middle: only for an op that gives the same result when
 * sent twice (+FLAGS, -FLAGS, UID EXPUNGE of these UIDs, the plain
 * EXPUNGE after its check for others marked deleted, UID MOVE: what the
 * first one moved is no longer there for the second).  An op returns -2
 * for a failure not to be tried again. */
static int uids_retry(struct imf *f, struct mail_envelope *const *v,
                      size_t n, uids_op *op, void *arg,
                      struct mail_error *err)
{
    for (int attempt = 0;; attempt++) {
        struct mail_session *s = selected(f, err);
        uint32_t *u;
        int rc;

        if (!s)
            return -1;
        u = uids_of(f, v, n, err);
        if (!u)
            return -1;
        rc = op(f, s, u, n, arg, err);
        free(u);
        if (rc == 0 || rc == -2 || attempt || !err->conn_lost)
            return rc ? -1 : 0;
    }
}

struct store_arg {
    unsigned add, remove;
};

static int store_op(struct imf *f, struct mail_session *s, uint32_t *u,
                    size_t n, void *arg, struct mail_error *err)
{
    const struct store_arg *a = arg;

    if (mail_imap_store_flags(s, u, n, a->add, a->remove, err) < 0)
        return failed(f, err);
    return 0;
}

static int imap_set_flags_many(struct mail_folder *mf,
                               struct mail_envelope *const *v, size_t n,
                               unsigned add, unsigned remove,
                               struct mail_error *err)
{
    struct store_arg a = { add, remove };

    if (uids_retry(imf_of(mf), v, n, store_op, &a, err) < 0)
        return -1;
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
/* Is a message other than u[0..n) marked \Deleted (UID SEARCH DELETED)?
 * 1 yes, 0 no, -1 with err; sorts u. */
static int others_deleted(struct imf *f, struct mail_session *s,
                          uint32_t *u, size_t n, struct mail_error *err)
{
    struct search_ctx c = { u, n, false };

    qsort(u, n, sizeof *u, cmp_u32);
    if (run(s, "UID SEARCH DELETED", search_untagged, &c, err,
            "UID SEARCH DELETED") < 0)
        return failed(f, err);
    return c.others;
}

static int expunge_plain(struct imf *f, struct mail_session *s, uint32_t *u,
                         size_t n, struct mail_error *err)
{
    int others;

    if (mail_imap_store_flags(s, u, n, MAIL_FLAG_DELETED, 0, err) < 0)
        return failed(f, err);
    if ((others = others_deleted(f, s, u, n, err)) < 0)
        return -1;
    if (others)
        return mail_error_set(err, MAIL_ERR_UNAVAIL, "%s: the server has no "
                              "UIDPLUS and other messages are marked "
                              "deleted: EXPUNGE would remove them too, so "
                              "the messages are only marked \\Deleted",
                              f->base.path);
    if (run(s, "EXPUNGE", NULL, NULL, err, "EXPUNGE") < 0)
        return failed(f, err);
    return 0;
}

/* A move on a server with neither MOVE nor UIDPLUS (issue 10: "else
 * EXPUNGE only when no other message is marked deleted"): refused before
 * anything is changed while another message is marked deleted; else UID
 * COPY, and only once the copy is made, \Deleted and EXPUNGE
 * (expunge_plain, which checks again). */
static int move_plain(struct imf *f, struct mail_session *s, uint32_t *u,
                      size_t n, const char *dest, struct mail_error *err)
{
    int others = others_deleted(f, s, u, n, err);

    if (others < 0)
        return -1;
    if (others)
        return mail_error_set(err, MAIL_ERR_UNAVAIL, "%s: the server has "
                              "neither MOVE nor UIDPLUS and other messages "
                              "are marked deleted: EXPUNGE would remove "
                              "them too, so nothing was moved",
                              f->base.path);
    if (mail_imap_copy_uids(s, u, n, dest, NULL, NULL, err) < 0)
        return failed(f, err);
    return expunge_plain(f, s, u, n, err);
}

static int expunge_op(struct imf *f, struct mail_session *s, uint32_t *u,
                      size_t n, void *arg, struct mail_error *err)
{
    (void)arg;
    if (!mail_session_has_cap(s, "UIDPLUS"))
        return expunge_plain(f, s, u, n, err);
    if (mail_imap_expunge_uids(s, u, n, err) < 0)
        return failed(f, err);
    return 0;
}

static int imap_expunge_many(struct mail_folder *mf,
                             struct mail_envelope *const *v, size_t n,
                             struct mail_error *err)
{
    return uids_retry(imf_of(mf), v, n, expunge_op, NULL, err);
}

static int imap_expunge(struct mail_folder *mf, struct mail_envelope *e,
                        struct mail_error *err)
{
    return imap_expunge_many(mf, &e, 1, err);
}

/* After a move with COPYUID: the moved messages go into the
 * destination's listing cache, when it has one of that UIDVALIDITY, so
 * that its next listing (and the numbers of it) need not fetch them. */
static void record_moved(struct imf *t, const struct mail_envelope *const *v,
                         size_t n, uint32_t uv, const uint32_t *nu)
{
    struct mail_imap_cache *c = &t->cache;
    struct mail_error e;
    size_t orig, i;
    struct uid_ix *o;
    struct mail_envelope *ev;
    uint64_t *ms;

    mail_error_clear(&e);
    load_cache(t);
    if (!uv || c->uidvalidity != uv)
        return;
    orig = c->list.n;
    for (i = 0; i < n; i++) {
        struct mail_envelope *d;
        char key[32];

        if (!nu[i] || known_index(c, nu[i]) >= 0)
            continue;
        d = mail_imap_cache_push(c, &e);
        if (!d || env_copy(d, v[i], &e) < 0)
            goto bad;
        d->uid = nu[i];
        free(d->key);
        snprintf(key, sizeof key, "%u:%u", (unsigned)uv, (unsigned)nu[i]);
        if (!(d->key = strdup(key)))
            goto bad;
    }
    if (c->list.n == orig)
        return;
    /* back in UID order, modseq along */
    o = malloc(c->list.n * sizeof *o);
    ev = malloc(c->list.n * sizeof *ev);
    ms = malloc(c->list.n * sizeof *ms);
    if (!o || !ev || !ms) {
        free(o);
        free(ev);
        free(ms);
        goto bad;
    }
    for (i = 0; i < c->list.n; i++) {
        o[i].uid = c->list.v[i].uid;
        o[i].i = i;
    }
    qsort(o, c->list.n, sizeof *o, cmp_uid_ix);
    for (i = 0; i < c->list.n; i++) {
        ev[i] = c->list.v[o[i].i];
        ms[i] = c->modseq[o[i].i];
    }
    memcpy(c->list.v, ev, c->list.n * sizeof *ev);
    memcpy(c->modseq, ms, c->list.n * sizeof *ms);
    free(o);
    free(ev);
    free(ms);
    if (t->cache_file)
        mail_imap_cache_save(c, t->cache_file, t->account, t->name, &e);
    return;
bad:
    mail_imap_cache_release(c);  /* not trusted half made: lists again */
}

static int imap_move_many_keys(struct mail_folder *from,
                               struct mail_envelope *const *v, size_t n,
                               struct mail_folder *to, char **new_key,
                               struct mail_error *err);

struct move_arg {
    struct imf *t;
    uint32_t uv;
    uint32_t *nu;
};

/* UID MOVE (tried again after a lost connection), else UID COPY and
 * UID EXPUNGE, else move_plain: a COPY cut in the middle may have been
 * done, so neither is tried again. */
static int move_op(struct imf *f, struct mail_session *s, uint32_t *u,
                   size_t n, void *arg, struct mail_error *err)
{
    struct move_arg *a = arg;
    bool move = mail_session_has_cap(s, "MOVE");

    if (!move && !mail_session_has_cap(s, "UIDPLUS"))
        return move_plain(f, s, u, n, a->t->name, err) < 0 ? -2 : 0;
    if (mail_imap_move_uids(s, u, n, a->t->name, &a->uv, a->nu, err) < 0) {
        failed(f, err);
        return move ? -1 : -2;
    }
    return 0;
}

static int imap_move_many(struct mail_folder *from,
                          struct mail_envelope *const *v, size_t n,
                          struct mail_folder *to, struct mail_error *err)
{
    return imap_move_many_keys(from, v, n, to, NULL, err);
}

static int imap_move_many_keys(struct mail_folder *from,
                               struct mail_envelope *const *v, size_t n,
                               struct mail_folder *to, char **new_key,
                               struct mail_error *err)
{
    struct imf *f = imf_of(from), *t;
    struct move_arg ma = { NULL, 0, NULL };
    uint32_t *nu, uv = 0;
    int rc;

    if (to->drv != &imap_driver)
        return 1;
    t = imf_of(to);
    if (t->c.arg != f->c.arg)
        return 1;                /* another account: copy */
    nu = calloc(n ? n : 1, sizeof *nu);
    if (!nu)
        return nomem(err);
    ma.t = t;
    ma.nu = nu;
    rc = uids_retry(f, v, n, move_op, &ma, err);
    uv = ma.uv;
    if (rc < 0) {
        free(nu);
        return -1;
    }
    record_moved(t, (const struct mail_envelope *const *)v, n, uv, nu);
    if (new_key && n == 1 && uv && nu[0] &&
        asprintf(new_key, "%lu:%lu", (unsigned long)uv,
                 (unsigned long)nu[0]) < 0)
        *new_key = NULL;
    free(nu);
    return 0;
}

static int imap_move(struct mail_folder *from, struct mail_envelope *e,
                     struct mail_folder *to, char **new_key,
                     struct mail_error *err)
{
    if (new_key)
        *new_key = NULL;
    return imap_move_many_keys(from, &e, 1, to, new_key, err);
}

/* A copy on the server (UID COPY) when `to` is a folder of the same
 * connector; COPYUID (UIDPLUS) gives the new key and feeds the
 * destination's listing cache as for a move; without it the copy is
 * made all the same, its key unknown.  COPY keeps the server's flags,
 * \Deleted too: a message marked deleted takes folder.c's APPEND, which
 * drops it. */
static int imap_copy(struct mail_folder *from, const struct mail_envelope *e,
                     struct mail_folder *to, char **new_key,
                     struct mail_error *err)
{
    struct imf *f = imf_of(from), *t;
    struct mail_session *s;
    uint32_t uv = 0, nu = 0;

    if (new_key)
        *new_key = NULL;
    if (to->drv != &imap_driver)
        return 1;
    t = imf_of(to);
    if (t->c.arg != f->c.arg || (e->flags & MAIL_FLAG_DELETED))
        return 1;
    s = selected(f, err);
    if (!s)
        return -1;
    if (check_key(f, e, err) < 0)
        return -1;
    if (mail_imap_copy_uids(s, &e->uid, 1, t->name, &uv, &nu, err) < 0) {
        if (err->kind == MAIL_ERR_NOTFOUND)
            return mail_error_set(err, MAIL_ERR_NOTFOUND, "%s: no such "
                                  "folder on the server", to->path);
        return failed(f, err);
    }
    record_moved(t, &e, 1, uv, &nu);
    if (new_key && uv && nu &&
        asprintf(new_key, "%lu:%lu", (unsigned long)uv,
                 (unsigned long)nu) < 0)
        *new_key = NULL;
    return 0;
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
    /* APPENDUID: into the listing cache, as COPYUID does for moves, so
     * the next listing fetches nothing for it (a cache that cannot take
     * it stays as it was: only a hint) */
    if (uv && uid) {
        struct mail_error e;

        mail_error_clear(&e);
        load_cache(f);
        if (mail_imap_cache_add_fd(&f->cache, uv, uid, a->flags,
                                   a->received, a->fd, 0, &e) == 1 &&
            f->cache_file)
            mail_imap_cache_save(&f->cache, f->cache_file, f->account,
                                 f->name, &e);
    }
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
    mail_imap_cache_release(&f->cache);
    free(f->account);
    free(f->cache_file);
    free(f->name);
    free(f->base.path);
    free(f);
}

static const struct mail_folder_driver imap_driver = {
    .name = "imap",
    .list = imap_list,
    .fetch = imap_fetch,
    .message_fd = imap_message_fd,
    .message_read = imap_message_read,
    .set_flags = imap_set_flags,
    .expunge = imap_expunge,
    .append_begin = imap_append_begin,
    .sync = imap_sync,
    .close = imap_close,
    .append_write = imap_append_write,
    .append_commit = imap_append_commit,
    .append_abort = imap_append_abort,
    .move = imap_move,
    .copy = imap_copy,
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
    f->batch = LIST_BATCH;
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

const char *mail_imap_folder_account(const struct mail_folder *f)
{
    return f && f->drv == &imap_driver ? ((const struct imf *)f)->account
                                       : NULL;
}

int mail_imap_folder_set_account(struct mail_folder *mf, const char *account,
                                 struct mail_error *err)
{
    struct imf *f = imf_of(mf);
    struct mail_error e;

    if (!mf || mf->drv != &imap_driver || !account)
        return 0;
    free(f->account);
    free(f->cache_file);
    f->cache_file = NULL;
    f->cache_loaded = false;
    mail_imap_cache_release(&f->cache);
    f->account = strdup(account);
    if (!f->account)
        return nomem(err);
    mail_error_clear(&e);       /* no cache directory: no cache */
    f->cache_file = mail_imap_cache_file(mf->paths, account, f->name, &e);
    if (!f->cache_file && e.kind == MAIL_ERR_INTERNAL)
        return nomem(err);
    return 0;
}

void mail_imap_folder_set_progress(struct mail_folder *mf,
                                   mail_imap_progress_fn fn, void *arg)
{
    if (mf && mf->drv == &imap_driver) {
        imf_of(mf)->progress = fn;
        imf_of(mf)->progress_arg = arg;
    }
}

void mail_imap_folder_set_batch(struct mail_folder *mf, size_t batch)
{
    if (mf && mf->drv == &imap_driver)
        imf_of(mf)->batch = batch ? batch : 1;
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
    /* A LIST made anyway refreshes what shell completion offers; a
     * failure to write it costs only stale completion. */
    if (f->account)
        (void)mail_imap_foldercache_save(mf->paths, f->account, &l, NULL);
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
    const char *tag;     /* the command's tag (s->curtag) */
};

static int hits_untagged(void *arg, const struct mail_imap_resp *r,
                         struct mail_error *err)
{
    struct hits_ctx *c = arg;

    if (r->type == MAIL_IMAP_T_ESEARCH) {
        struct mail_imap_uids u = { NULL, 0, 0 };
        bool found;
        const char *all = mail_imap_esearch_all(r, &found);
        const char *tag = mail_imap_esearch_tag(r);

        /* another command's answer (RFC 4731 3.1: the TAG says whose) */
        if (!all || (tag && c->tag && strcmp(tag, c->tag) != 0))
            return 0;
        if (mail_imap_seqset_parse(all, &u, 16u << 20, err) < 0) {
            mail_imap_uids_release(&u);
            return -1;
        }
        if (u.n > (16u << 20) - c->n) {
            mail_imap_uids_release(&u);
            return mail_error_set(err, MAIL_ERR_PROTOCOL, "SEARCH: too "
                                  "many results");
        }
        if (c->n + u.n > c->alloc) {
            uint32_t *nv = realloc(c->v, (c->n + u.n) * sizeof *nv);

            if (!nv) {
                mail_imap_uids_release(&u);
                return nomem(err);
            }
            c->v = nv;
            c->alloc = c->n + u.n;
        }
        memcpy(c->v + c->n, u.v, u.n * sizeof *u.v);
        c->n += u.n;
        mail_imap_uids_release(&u);
        return 0;
    }
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

/* A plain SEARCH answers with one line of every hit, and a line is at
 * most 256 KiB here (conn.c's buffer): a folder listed with more than
 * SEARCH_CHUNK messages is searched SEARCH_CHUNK of them at a time, "UID
 * lo:hi" before the keys (10 digits and a blank a UID: under 128 KiB a
 * chunk).  ESEARCH's set can be as long (every other message), so it is
 * searched alike. */
#define SEARCH_CHUNK 10000

int mail_imap_folder_search(struct mail_folder *mf, const struct mail_query *q,
                            uint32_t **uids, size_t *n, bool *filter,
                            struct mail_error *err)
{
    struct imf *f = imf_of(mf);
    struct mail_buf cmd = MAIL_BUF_INIT;
    struct hits_ctx c = { NULL, 0, 0, NULL };
    struct mail_buf keys = MAIL_BUF_INIT;
    const struct mail_envelope_list *l;
    size_t step, at = 0;
    bool charset;
    int lplus;
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
    c.tag = s->curtag;
    /* (f is an imf only now: this is asked of every folder) */
    l = &f->cache.list;
    step = l->n > SEARCH_CHUNK ? SEARCH_CHUNK : 0;
    /* LITERAL- (RFC 7888, in every IMAP4rev2 server): {N+} up to 4096
     * bytes; a query's keys are far shorter, else it is matched here */
    lplus = mail_session_has_cap(s, "LITERAL+") ? 2
          : mail_session_has_cap(s, "LITERAL-") ? 1 : 0;
    if (mail_query_imap(q, &keys, lplus ? MAIL_QUERY_IMAP_LITERAL_PLUS : 0,
                        &out, err) < 0) {
        mail_buf_release(&keys);
        return nomem(err);
    }
    if ((out & MAIL_QUERY_IMAP_HAS_LITERAL) &&
        (!lplus || (lplus == 1 && keys.len > 4096))) {
        mail_buf_release(&keys);
        return 1;
    }
    charset = strncmp(keys.data, "CHARSET UTF-8 ", 14) == 0;
    do {
        /* ESEARCH (RFC 4731): the hits as a sequence set */
        mail_buf_reset(&cmd);
        mail_buf_addstr(&cmd, mail_session_has_cap(s, "ESEARCH")
                              ? "UID SEARCH RETURN (ALL) " : "UID SEARCH ");
        if (charset)
            mail_buf_addstr(&cmd, "CHARSET UTF-8 ");
        if (step) {
            size_t end = at + step < l->n ? at + step : l->n;

            mail_buf_printf(&cmd, "UID %u:%u ", (unsigned)l->v[at].uid,
                            (unsigned)l->v[end - 1].uid);
            at = end;
        }
        if (mail_buf_addstr(&cmd, keys.data + (charset ? 14 : 0)) < 0) {
            mail_buf_release(&keys);
            mail_buf_release(&cmd);
            free(c.v);
            return nomem(err);
        }
        if (run(s, "UID SEARCH", hits_untagged, &c, err, cmd.data) < 0) {
            mail_buf_release(&keys);
            mail_buf_release(&cmd);
            free(c.v);
            return failed(f, err);
        }
    } while (step && at < l->n);
    mail_buf_release(&keys);
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
