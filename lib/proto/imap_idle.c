/*
 * imap_idle.c - IDLE (RFC 2177) and the envelopes of new messages by UID,
 * read with a parser of our own (see imap_idle.h).
 */
#include <stdlib.h>
#include <string.h>

#include "mail/imap_idle.h"
#include "mail/imap_notify.h"
#include "mail/imap.h"

void mail_imap_idle_init(struct mail_imap_idle *st)
{
    memset(st, 0, sizeof *st);
    mail_imap_parser_init(&st->parser, NULL, NULL, NULL);
}

void mail_imap_idle_release(struct mail_imap_idle *st)
{
    mail_imap_parser_release(&st->parser);
}

/* One response into st->parser.resp. */
static int read_one(struct mail_session *s, struct mail_imap_idle *st,
                    struct mail_error *err)
{
    if (mail_imap_read_response(&st->parser, s->conn, err) < 0) {
        mail_imap_parser_reset(&st->parser);
        if (err && err->kind == MAIL_ERR_PROTOCOL)
            mail_error_prefix(err, "%s", s->name);
        return -1;
    }
    return 0;
}

/* An untagged response: note what it says; BYE ends the session. */
static int untagged(struct mail_session *s, struct mail_imap_idle *st,
                    const struct mail_imap_resp *r, struct mail_error *err)
{
    switch (r->type) {
    case MAIL_IMAP_T_STATUS:
        if (r->status == MAIL_IMAP_ST_BYE) {
            mail_error_set(err, MAIL_ERR_UNAVAIL, "%s: the server closed "
                           "the session: BYE %.200s", s->name, r->text);
            if (err)
                err->conn_lost = true;
            return -1;
        }
        break;
    case MAIL_IMAP_T_EXISTS:
        st->events |= MAIL_IMAP_IDLE_EXISTS;
        st->exists = r->number;
        return MAIL_IMAP_IDLE_EXISTS;
    case MAIL_IMAP_T_EXPUNGE:
    case MAIL_IMAP_T_VANISHED:
        st->events |= MAIL_IMAP_IDLE_EXPUNGE;
        return MAIL_IMAP_IDLE_EXPUNGE;
    case MAIL_IMAP_T_FETCH:
        st->events |= MAIL_IMAP_IDLE_FETCH;
        return MAIL_IMAP_IDLE_FETCH;
    case MAIL_IMAP_T_STATUS_MBX: {
        struct mail_imap_idle_status ms;

        if (mail_imap_notify_status(r, &ms) < 0)
            break;
        if (st->status_fn)
            st->status_fn(st->status_arg, &ms);
        st->events |= MAIL_IMAP_IDLE_STATUS;
        return MAIL_IMAP_IDLE_STATUS;
    }
    default:
        break;
    }
    return 0;
}

static int refused(struct mail_session *s, const struct mail_imap_resp *r,
                   const char *what, struct mail_error *err)
{
    return mail_error_set(err, MAIL_ERR_UNAVAIL, "%s: %s: %s %.200s",
                          s->name, what,
                          r->status == MAIL_IMAP_ST_NO ? "NO" : "BAD",
                          r->text);
}

int mail_imap_idle_start(struct mail_session *s, struct mail_imap_idle *st,
                         struct mail_error *err)
{
    st->events = 0;
    st->idling = false;
    if (mail_imap_send(s, err, "IDLE") < 0 ||
        mail_conn_flush(s->conn, err) < 0)
        return -1;
    mail_strlcpy(st->tag, s->curtag, sizeof st->tag);
    for (;;) {
        const struct mail_imap_resp *r = &st->parser.resp;

        if (read_one(s, st, err) < 0)
            return -1;
        if (r->kind == MAIL_IMAP_RESP_CONT) {
            st->idling = true;
            return 0;
        }
        if (r->kind == MAIL_IMAP_RESP_TAGGED) {
            if (strcmp(r->tag, st->tag) != 0)
                continue;
            if (r->status == MAIL_IMAP_ST_OK)   /* no "+": odd, but done */
                return mail_error_set(err, MAIL_ERR_PROTOCOL, "%s: IDLE "
                                      "ended without a continuation",
                                      s->name);
            return refused(s, r, "IDLE", err);
        }
        if (untagged(s, st, r, err) < 0)
            return -1;
    }
}

int mail_imap_idle_wait(struct mail_session *s, struct mail_imap_idle *st,
                        int seconds, struct mail_error *err)
{
    int saved = mail_conn_timeout(s->conn), seen = 0;
    const char *data;
    struct mail_error e;

    if (seconds < 1)
        seconds = 1;
    mail_error_clear(&e);
    mail_conn_set_timeout(s->conn, seconds);
    if (mail_conn_peek(s->conn, &data, &e) < 0) {
        mail_conn_set_timeout(s->conn, saved);
        if (e.kind == MAIL_ERR_TEMP && !e.conn_lost)
            return 0;                   /* quiet: the time passed */
        if (err)
            *err = e;
        return -1;
    }
    mail_conn_set_timeout(s->conn, saved);
    /* Something came: read every response that is already here. */
    do {
        const struct mail_imap_resp *r = &st->parser.resp;
        int bits;

        if (read_one(s, st, err) < 0)
            return -1;
        if (r->kind != MAIL_IMAP_RESP_UNTAGGED)
            return mail_error_set(err, MAIL_ERR_PROTOCOL, "%s: unexpected "
                                  "%s response during IDLE", s->name,
                                  r->kind == MAIL_IMAP_RESP_CONT
                                      ? "continuation" : "tagged");
        bits = untagged(s, st, r, err);
        if (bits < 0)
            return -1;
        seen |= bits;
    } while (mail_conn_pending(s->conn) > 0);
    return seen;
}

/* Read until the tagged response of tag; untagged ones are noted. */
static int finish(struct mail_session *s, struct mail_imap_idle *st,
                  const char *tag, const char *what, struct mail_error *err)
{
    for (;;) {
        const struct mail_imap_resp *r = &st->parser.resp;

        if (read_one(s, st, err) < 0)
            return -1;
        if (r->kind == MAIL_IMAP_RESP_TAGGED) {
            if (strcmp(r->tag, tag) != 0)
                continue;
            if (r->status == MAIL_IMAP_ST_OK)
                return 0;
            return refused(s, r, what, err);
        }
        if (r->kind == MAIL_IMAP_RESP_UNTAGGED && untagged(s, st, r, err) < 0)
            return -1;
    }
}

int mail_imap_idle_done(struct mail_session *s, struct mail_imap_idle *st,
                        struct mail_error *err)
{
    if (!st->idling)
        return 0;
    st->idling = false;
    if (mail_conn_write(s->conn, "DONE\r\n", 6, err) < 0 ||
        mail_conn_flush(s->conn, err) < 0)
        return -1;
    return finish(s, st, st->tag, "IDLE", err);
}

/* Where uid is, or would go, in the sorted v[n]. */
static size_t uid_slot(const uint32_t *v, size_t n, uint32_t uid)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (v[mid] < uid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int mail_imap_fetch_new(struct mail_session *s, uint32_t from,
                        mail_imap_new_fn fn, void *arg,
                        struct mail_error *err)
{
    struct mail_imap_idle st;
    struct mail_error ferr;
    char tag[16];
    bool failed = false;
    /* The UIDs reported so far, sorted: the server may send them in any
     * order and the same one twice (RFC 3501 7.4.2). */
    uint32_t *seen = NULL;
    size_t nseen = 0, seen_cap = 0, at;
    int rc = 0;

    if (from == 0)
        from = 1;
    mail_error_clear(&ferr);
    if (mail_imap_send(s, err, "UID FETCH %u:* (UID FLAGS ENVELOPE)",
                       (unsigned)from) < 0 ||
        mail_conn_flush(s->conn, err) < 0)
        return -1;
    mail_strlcpy(tag, s->curtag, sizeof tag);
    mail_imap_idle_init(&st);
    for (;;) {
        const struct mail_imap_resp *r = &st.parser.resp;
        const struct mail_imap_node *n;
        struct mail_imap_envelope env;
        uint32_t uid;

        if (read_one(s, &st, err) < 0) {
            rc = -1;
            break;
        }
        if (r->kind == MAIL_IMAP_RESP_TAGGED) {
            if (strcmp(r->tag, tag) != 0)
                continue;
            if (r->status != MAIL_IMAP_ST_OK)
                rc = refused(s, r, "UID FETCH", err);
            break;
        }
        if (r->kind != MAIL_IMAP_RESP_UNTAGGED)
            continue;
        if (r->type != MAIL_IMAP_T_FETCH) {
            if (untagged(s, &st, r, err) < 0) {
                rc = -1;
                break;
            }
            continue;
        }
        n = mail_imap_fetch_item(r, "UID");
        if (!n || mail_imap_node_u32(n, &uid) < 0 || uid < from || failed)
            continue;           /* flags only, or an old one */
        at = uid_slot(seen, nseen, uid);
        if (at < nseen && seen[at] == uid)
            continue;           /* a repeat */
        n = mail_imap_fetch_item(r, "ENVELOPE");
        if (!n)
            continue;
        if (mail_imap_envelope_parse(n, &env, err) < 0) {
            mail_error_prefix(err, "%s: ENVELOPE of UID %u", s->name,
                              (unsigned)uid);
            rc = -1;
            break;
        }
        if (nseen == seen_cap) {
            size_t cap = seen_cap ? seen_cap * 2 : 64;
            uint32_t *v = realloc(seen, cap * sizeof *v);

            if (!v) {
                mail_imap_envelope_release(&env);
                rc = mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
                break;
            }
            seen = v;
            seen_cap = cap;
        }
        memmove(seen + at + 1, seen + at, (nseen - at) * sizeof *seen);
        seen[at] = uid;
        nseen++;
        if (fn(arg, uid, &env, &ferr) < 0)
            failed = true;      /* read the rest, then report it */
        mail_imap_envelope_release(&env);
    }
    mail_imap_idle_release(&st);
    free(seen);
    if (rc == 0 && failed) {
        if (err)
            *err = ferr;
        rc = -1;
    }
    return rc;
}
