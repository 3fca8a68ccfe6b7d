/*
 * pop3.c - POP3 client; see mail/pop3.h.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "mail/dotstream.h"
#include "mail/pop3.h"
#include "mail/termsafe.h"

#define POP3_LINE_MAX (64 * 1024)

int mail_pop3_multiline(struct mail_session *s, const char *cmd,
                        struct mail_reply *r, struct mail_buf *out,
                        struct mail_error *err)
{
    if (mail_conn_printf(s->conn, err, "%s\r\n", cmd) < 0 ||
        mail_session_read_reply(s, r, err) < 0)
        return -1;
    if (r->status != MAIL_REPLY_OK)
        return 0;
    for (;;) {
        char *line;
        size_t len;

        if (mail_conn_read_line(s->conn, &line, &len, POP3_LINE_MAX, err) < 0)
            return -1;
        if (len == 1 && line[0] == '.')
            return 0;
        if (len > 0 && line[0] == '.') {   /* dot-unstuffing */
            line++;
            len--;
        }
        if (mail_buf_add(out, line, len) < 0 || mail_buf_addch(out, '\n') < 0)
            return mail_error_set(err, MAIL_ERR_PROTOCOL,
                                  "%s: %s reply too large", s->name, cmd);
    }
}

static int pop3_capa(struct mail_session *s, struct mail_reply *r,
                     struct mail_error *err)
{
    char mechs[1024];

    mail_buf_reset(&s->caps);
    mail_buf_reset(&s->mechs);
    if (mail_pop3_multiline(s, "CAPA", r, &s->caps, err) < 0)
        return -1;
    if (r->status != MAIL_REPLY_OK)
        mail_buf_reset(&s->caps);   /* an RFC 1939-only server */
    if (mail_session_cap_value(s, "SASL", mechs, sizeof mechs))
        mail_buf_addstr(&s->mechs, mechs);
    return 0;
}

struct mail_session *mail_pop3_open(const struct mail_server *srv,
                                    struct mail_error *err)
{
    struct mail_session *s = mail_session_connect(srv, err);
    struct mail_reply r;

    if (!s)
        return NULL;
    mail_reply_init(&r);
    if (mail_session_read_reply(s, &r, err) < 0)
        goto fail;
    if (r.status != MAIL_REPLY_OK) {
        mail_session_reply_error(s, &r, MAIL_ERR_UNAVAIL,
                                 "the server refused the connection", err);
        goto fail;
    }
    mail_buf_add(&s->greeting, r.text.data, r.text.len);
    if (pop3_capa(s, &r, err) < 0)
        goto fail;
    if (srv->tls == MAIL_TLS_STARTTLS) {
        /* Without CAPA we cannot know; RFC 2595 lets us just try STLS. */
        if (s->caps.len && !mail_session_has_cap(s, "STLS")) {
            mail_error_set(err, MAIL_ERR_TLS,
                           "%s: STLS (STARTTLS) not offered by the server "
                           "(refusing to continue without TLS)", s->name);
            goto fail;
        }
        if (mail_conn_printf(s->conn, err, "STLS\r\n") < 0 ||
            mail_session_read_reply(s, &r, err) < 0)
            goto fail;
        if (r.status != MAIL_REPLY_OK) {
            mail_session_reply_error(s, &r, MAIL_ERR_TLS,
                                     "STLS (STARTTLS) refused", err);
            goto fail;
        }
        if (mail_conn_start_tls(s->conn, err) < 0 || pop3_capa(s, &r, err) < 0)
            goto fail;
    }
    mail_reply_release(&r);
    return s;
fail:
    mail_reply_release(&r);
    mail_session_free(s);
    return NULL;
}

/* The <...> timestamp of an APOP-capable greeting (RFC 1939 7). */
static int apop_timestamp(const struct mail_session *s, char *buf, size_t size)
{
    const char *g = s->greeting.data, *a, *b;

    if (!g || !(a = strchr(g, '<')) || !(b = strchr(a, '>')) ||
        !memchr(a, '@', (size_t)(b - a)) || (size_t)(b - a + 2) > size)
        return 0;
    memcpy(buf, a, (size_t)(b - a + 1));
    buf[b - a + 1] = '\0';
    return 1;
}

static int pop3_apop(struct mail_session *s, const char *ts,
                     const char *secret, struct mail_error *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    struct mail_buf in = MAIL_BUF_INIT;
    struct mail_reply r;
    int rc;

    if (mail_buf_addstr(&in, ts) < 0 || mail_buf_addstr(&in, secret) < 0 ||
        !EVP_Digest(in.data, in.len, md, &mdlen, EVP_md5(), NULL)) {
        mail_buf_release_secret(&in);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "APOP digest failed");
    }
    mail_buf_release_secret(&in);
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    mail_reply_init(&r);
    rc = mail_conn_printf(s->conn, err, "APOP %s %s\r\n", s->srv->user, hex);
    if (rc == 0)
        rc = mail_session_read_reply(s, &r, err);
    if (rc == 0 && r.status != MAIL_REPLY_OK)
        rc = mail_session_reply_error(s, &r, MAIL_ERR_AUTH, "login with APOP failed", err);
    mail_reply_release(&r);
    if (rc == 0)
        s->login_method = "APOP";
    return rc;
}

static int pop3_userpass(struct mail_session *s, const char *secret,
                         struct mail_error *err)
{
    struct mail_buf cmd = MAIL_BUF_INIT;
    struct mail_reply r;
    int rc;

    mail_reply_init(&r);
    rc = mail_conn_printf(s->conn, err, "USER %s\r\n", s->srv->user);
    if (rc == 0)
        rc = mail_session_read_reply(s, &r, err);
    if (rc == 0 && r.status != MAIL_REPLY_OK)
        rc = mail_session_reply_error(s, &r, MAIL_ERR_AUTH, "login with USER/PASS failed", err);
    if (rc == 0) {
        if (mail_buf_printf(&cmd, "PASS %s\r\n", secret) < 0)
            rc = mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        else
            rc = mail_conn_write_masked(s->conn, cmd.data, cmd.len, 5, err);
    }
    if (rc == 0)
        rc = mail_session_read_reply(s, &r, err);
    if (rc == 0 && r.status != MAIL_REPLY_OK)
        rc = mail_session_reply_error(s, &r, MAIL_ERR_AUTH, "login with USER/PASS failed", err);
    mail_buf_release_secret(&cmd);
    mail_reply_release(&r);
    if (rc == 0)
        s->login_method = "USER/PASS";
    return rc;
}

int mail_pop3_login(struct mail_session *s, const char *secret,
                    struct mail_error *err)
{
    char ts[512];
    int rc;

    if (s->mechs.len && mail_sasl_choose(s->mechs.data, s->srv->auth,
                                         mail_conn_is_tls(s->conn),
                                         s->srv->tls == MAIL_TLS_NONE,
                                         NULL) != MAIL_SASL_NONE)
        rc = mail_session_auth(s, secret, err);
    else if (s->srv->auth != MAIL_SASL_NONE)
        rc = mail_session_auth(s, secret, err);   /* reports what is missing */
    else if (mail_session_may_send_password(s))
        rc = pop3_userpass(s, secret, err);
    else if (apop_timestamp(s, ts, sizeof ts))
        rc = pop3_apop(s, ts, secret, err);
    else
        rc = mail_error_set(err, MAIL_ERR_AUTH,
                            "%s: refusing to send a password in clear text "
                            "over an unencrypted connection; use TLS",
                            s->name);
    if (rc == 0)
        s->authenticated = true;
    return rc;
}

void mail_pop3_quit(struct mail_session *s)
{
    /* QUIT commits the deletions (RFC 1939 6) */
    mail_session_say_goodbye(s, "QUIT");
}

/* ---- the transaction state ---- */

void mail_pop3_msgs_release(struct mail_pop3_msgs *m)
{
    free(m->v);
    m->v = NULL;
    m->n = m->alloc = 0;
}

struct mail_pop3_msg *mail_pop3_msgs_find(const struct mail_pop3_msgs *m,
                                          unsigned msgno)
{
    size_t lo = 0, hi = m->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (m->v[mid].msgno == msgno)
            return &m->v[mid];
        if (m->v[mid].msgno < msgno)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The entry of msgno, added (in msgno order) if new; NULL on ENOMEM or
 * past MAIL_POP3_MAX_MSGS. */
static struct mail_pop3_msg *msgs_get(struct mail_pop3_msgs *m,
                                      unsigned msgno)
{
    struct mail_pop3_msg *e;
    size_t at = m->n;

    if (m->n && m->v[m->n - 1].msgno >= msgno) {
        size_t lo = 0, hi = m->n;

        if ((e = mail_pop3_msgs_find(m, msgno)))
            return e;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;

            if (m->v[mid].msgno < msgno)
                lo = mid + 1;
            else
                hi = mid;
        }
        at = lo;
    }
    if (m->n >= MAIL_POP3_MAX_MSGS)
        return NULL;
    if (m->n == m->alloc) {
        size_t na = m->alloc ? 2 * m->alloc : 64;
        struct mail_pop3_msg *nv = realloc(m->v, na * sizeof *nv);

        if (!nv)
            return NULL;
        m->v = nv;
        m->alloc = na;
    }
    memmove(&m->v[at + 1], &m->v[at], (m->n - at) * sizeof *m->v);
    m->n++;
    e = &m->v[at];
    memset(e, 0, sizeof *e);
    e->msgno = msgno;
    return e;
}

/* A decimal number of at most 19 digits (no sign). */
static int parse_num(const char **p, const char *end, uint64_t *v)
{
    const char *s = *p;
    uint64_t x = 0;

    if (s == end || *s < '0' || *s > '9')
        return -1;
    for (; s < end && *s >= '0' && *s <= '9'; s++) {
        if (s - *p >= 19)
            return -1;
        x = x * 10 + (uint64_t)(*s - '0');
    }
    *p = s;
    *v = x;
    return 0;
}

static const char *skip_spaces(const char *p, const char *end)
{
    while (p < end && *p == ' ')
        p++;
    return p;
}

/* "N M[ anything]": two numbers, N within unsigned. */
static int parse_two(const char *line, size_t len, unsigned *a, uint64_t *b)
{
    const char *p = line, *end = line + len;
    uint64_t x, y;

    if (parse_num(&p, end, &x) < 0 || x > UINT_MAX || p == end || *p != ' ')
        return -1;
    p = skip_spaces(p, end);
    if (parse_num(&p, end, &y) < 0 || (p < end && *p != ' ') ||
        y > ((uint64_t)1 << 62))
        return -1;
    *a = (unsigned)x;
    *b = y;
    return 0;
}

int mail_pop3_parse_list_line(const char *line, size_t len, unsigned *msgno,
                              uint64_t *size)
{
    unsigned n;
    uint64_t sz;

    if (parse_two(line, len, &n, &sz) < 0 || n == 0)
        return -1;
    *msgno = n;
    *size = sz;
    return 0;
}

int mail_pop3_parse_uidl_line(const char *line, size_t len, unsigned *msgno,
                              char uid[MAIL_POP3_UID_MAX + 1])
{
    const char *p = line, *end = line + len, *u;
    uint64_t x;

    if (parse_num(&p, end, &x) < 0 || x == 0 || x > UINT_MAX || p == end ||
        *p != ' ')
        return -1;
    u = p = skip_spaces(p, end);
    while (p < end && *p >= 0x21 && *p <= 0x7e)
        p++;
    if (p == u || p - u > MAIL_POP3_UID_MAX || skip_spaces(p, end) != end)
        return -1;
    memcpy(uid, u, (size_t)(p - u));
    uid[p - u] = '\0';
    *msgno = (unsigned)x;
    return 0;
}

/* A line of the server's quoted safely in an error. */
static int bad_line(struct mail_session *s, const char *cmd, const char *line,
                    size_t len, const char *why, struct mail_error *err)
{
    struct mail_buf q = MAIL_BUF_INIT;

    mail_term_safe(&q, line, len > 100 ? 100 : len, MAIL_SAFE_ONELINE);
    mail_error_set(err, MAIL_ERR_PROTOCOL, "%s: %s: %s: \"%s\"", s->name, cmd,
                   why, q.data ? q.data : "");
    mail_buf_release(&q);
    return -1;
}

/* Send cmd (a complete line without CRLF) and read its status line.
 * 0 on +OK, 1 on -ERR (err set, kind for a permanent refusal), -1. */
static int simple_cmd(struct mail_session *s, const char *cmd,
                      struct mail_reply *r, enum mail_error_kind kind,
                      struct mail_error *err)
{
    if (mail_conn_printf(s->conn, err, "%s\r\n", cmd) < 0 ||
        mail_session_read_reply(s, r, err) < 0)
        return -1;
    if (r->status == MAIL_REPLY_OK)
        return 0;
    if (r->status != MAIL_REPLY_NO)
        return mail_error_set(err, MAIL_ERR_PROTOCOL,
                              "%s: %s: unexpected continuation from the server",
                              s->name, cmd);
    mail_session_reply_error(s, r, kind, cmd, err);
    return 1;
}

typedef int (*listing_fn)(struct mail_session *s, void *ctx, const char *line,
                          size_t len, struct mail_error *err);

/* A command with a multi-line listing: each line (unstuffed) to fn. */
static int listing(struct mail_session *s, const char *cmd, listing_fn fn,
                   void *ctx, struct mail_error *err)
{
    struct mail_reply r;
    int rc;

    mail_reply_init(&r);
    rc = simple_cmd(s, cmd, &r, MAIL_ERR_UNAVAIL, err);
    mail_reply_release(&r);
    if (rc != 0)
        return rc;
    for (size_t n = 0;; n++) {
        char *line;
        size_t len;

        if (mail_conn_read_line(s->conn, &line, &len, MAIL_POP3_LINE_MAX,
                                err) < 0)
            return -1;
        if (len == 1 && line[0] == '.')
            return 0;
        if (n >= MAIL_POP3_MAX_MSGS)
            return mail_error_set(err, MAIL_ERR_PROTOCOL,
                                  "%s: %s: more than %u lines", s->name, cmd,
                                  MAIL_POP3_MAX_MSGS);
        if (len > 0 && line[0] == '.') {
            line++;
            len--;
        }
        if (fn(s, ctx, line, len, err) < 0)
            return -1;
    }
}

int mail_pop3_stat(struct mail_session *s, unsigned *count, uint64_t *size,
                   struct mail_error *err)
{
    struct mail_reply r;
    int rc;

    mail_reply_init(&r);
    rc = simple_cmd(s, "STAT", &r, MAIL_ERR_UNAVAIL, err);
    if (rc == 0 && parse_two(r.text.data ? r.text.data : "", r.text.len,
                             count, size) < 0)
        rc = bad_line(s, "STAT", r.text.data ? r.text.data : "", r.text.len,
                      "malformed reply", err);
    mail_reply_release(&r);
    return rc;
}

struct listing_ctx {
    struct mail_pop3_msgs *m;
    unsigned last;
    const char *cmd;
};

static int list_line(struct mail_session *s, void *vctx, const char *line,
                     size_t len, struct mail_error *err)
{
    struct listing_ctx *c = vctx;
    struct mail_pop3_msg *e;
    unsigned msgno;
    uint64_t size;

    if (mail_pop3_parse_list_line(line, len, &msgno, &size) < 0)
        return bad_line(s, c->cmd, line, len, "malformed line", err);
    if (msgno <= c->last)
        return bad_line(s, c->cmd, line, len, "message number out of order",
                        err);
    c->last = msgno;
    if (!(e = msgs_get(c->m, msgno)))
        return mail_error_set(err, MAIL_ERR_INTERNAL,
                              "%s: LIST: out of memory", s->name);
    e->size = size;
    return 0;
}

int mail_pop3_list(struct mail_session *s, struct mail_pop3_msgs *m,
                   struct mail_error *err)
{
    struct listing_ctx c = { m, 0, "LIST" };

    return listing(s, "LIST", list_line, &c, err);
}

static int uidl_line(struct mail_session *s, void *vctx, const char *line,
                     size_t len, struct mail_error *err)
{
    struct listing_ctx *c = vctx;
    struct mail_pop3_msg *e;
    char uid[MAIL_POP3_UID_MAX + 1];
    unsigned msgno;

    if (mail_pop3_parse_uidl_line(line, len, &msgno, uid) < 0)
        return bad_line(s, c->cmd, line, len, "malformed line", err);
    if (msgno <= c->last)
        return bad_line(s, c->cmd, line, len, "message number out of order",
                        err);
    c->last = msgno;
    if (!(e = msgs_get(c->m, msgno)))
        return mail_error_set(err, MAIL_ERR_INTERNAL,
                              "%s: UIDL: out of memory", s->name);
    memcpy(e->uid, uid, sizeof e->uid);
    return 0;
}

static int cmp_uid(const void *a, const void *b)
{
    const struct mail_pop3_msg *x = *(const struct mail_pop3_msg *const *)a;
    const struct mail_pop3_msg *y = *(const struct mail_pop3_msg *const *)b;

    return strcmp(x->uid, y->uid);
}

int mail_pop3_uidl(struct mail_session *s, struct mail_pop3_msgs *m,
                   size_t *ndup, struct mail_error *err)
{
    struct listing_ctx c = { m, 0, "UIDL" };
    struct mail_pop3_msg **byuid;
    size_t k = 0, dups = 0;
    int rc = listing(s, "UIDL", uidl_line, &c, err);

    if (ndup)
        *ndup = 0;
    if (rc != 0 || m->n < 2)
        return rc;
    if (!(byuid = malloc(m->n * sizeof *byuid)))
        return mail_error_set(err, MAIL_ERR_INTERNAL,
                              "%s: UIDL: out of memory", s->name);
    for (size_t i = 0; i < m->n; i++) {
        m->v[i].dup_uid = false;
        if (m->v[i].uid[0])
            byuid[k++] = &m->v[i];
    }
    qsort(byuid, k, sizeof *byuid, cmp_uid);
    for (size_t i = 1; i < k; i++)
        if (strcmp(byuid[i - 1]->uid, byuid[i]->uid) == 0) {
            dups += !byuid[i - 1]->dup_uid + 1;
            byuid[i - 1]->dup_uid = byuid[i]->dup_uid = true;
        }
    free(byuid);
    if (ndup)
        *ndup = dups;
    return 0;
}

/* Read a multi-line body after +OK through the decoder into sink. */
static int read_body(struct mail_session *s, const char *cmd, uint64_t max,
                     bool lf, mail_sink_fn sink, void *ctx,
                     struct mail_error *err)
{
    struct mail_dotstream *d = malloc(sizeof *d);

    if (!d)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    mail_dotstream_init(d, lf, max ? max : MAIL_POP3_BODY_MAX, sink, ctx);
    while (!d->done) {
        const char *p;
        ssize_t n = mail_conn_peek(s->conn, &p, err), used;

        if (n < 0)
            goto fail;
        used = mail_dotstream_feed(d, p, (size_t)n, err);
        if (used < 0) {
            /* A sink that failed has said why in err. */
            if (d->too_big)
                mail_error_set(err, MAIL_ERR_PROTOCOL,
                               "%s: %s: the message is larger than the limit "
                               "of %llu bytes", s->name, cmd,
                               (unsigned long long)d->max);
            goto fail;
        }
        mail_conn_consume(s->conn, (size_t)used);
    }
    mail_conn_note(s->conn, "%s: %llu bytes", cmd,
                   (unsigned long long)d->in_bytes);
    free(d);
    return 0;
fail:
    free(d);
    return -1;
}

static int body_cmd(struct mail_session *s, const char *cmd, uint64_t max,
                    bool lf, mail_sink_fn sink, void *ctx,
                    struct mail_error *err)
{
    struct mail_reply r;
    int rc;

    mail_reply_init(&r);
    rc = simple_cmd(s, cmd, &r, MAIL_ERR_UNAVAIL, err);
    mail_reply_release(&r);
    if (rc != 0)
        return rc;
    return read_body(s, cmd, max, lf, sink, ctx, err);
}

int mail_pop3_retr(struct mail_session *s, unsigned msgno, uint64_t max,
                   bool lf, mail_sink_fn sink, void *ctx,
                   struct mail_error *err)
{
    char cmd[32];

    snprintf(cmd, sizeof cmd, "RETR %u", msgno);
    return body_cmd(s, cmd, max, lf, sink, ctx, err);
}

int mail_pop3_top(struct mail_session *s, unsigned msgno, unsigned lines,
                  uint64_t max, bool lf, mail_sink_fn sink, void *ctx,
                  struct mail_error *err)
{
    char cmd[48];

    snprintf(cmd, sizeof cmd, "TOP %u %u", msgno, lines);
    return body_cmd(s, cmd, max, lf, sink, ctx, err);
}

static int one_line_cmd(struct mail_session *s, const char *cmd,
                        struct mail_error *err)
{
    struct mail_reply r;
    int rc;

    mail_reply_init(&r);
    rc = simple_cmd(s, cmd, &r, MAIL_ERR_UNAVAIL, err);
    mail_reply_release(&r);
    return rc;
}

int mail_pop3_dele(struct mail_session *s, unsigned msgno,
                   struct mail_error *err)
{
    char cmd[32];

    snprintf(cmd, sizeof cmd, "DELE %u", msgno);
    return one_line_cmd(s, cmd, err);
}

int mail_pop3_noop(struct mail_session *s, struct mail_error *err)
{
    return one_line_cmd(s, "NOOP", err);
}

int mail_pop3_rset(struct mail_session *s, struct mail_error *err)
{
    return one_line_cmd(s, "RSET", err);
}

bool mail_pop3_can_pipeline(const struct mail_session *s)
{
    return mail_session_has_cap(s, "PIPELINING");
}

static size_t window_of(const struct mail_session *s)
{
    return mail_pop3_can_pipeline(s) ? MAIL_POP3_WINDOW : 1;
}

int mail_pop3_retr_many(struct mail_session *s,
                        const struct mail_pop3_msg *msgs, size_t n, bool lf,
                        const struct mail_pop3_retr_ops *ops, void *ctx,
                        struct mail_error *err)
{
    size_t window = window_of(s), sent = 0;
    struct mail_reply r;
    int rc = 0;

    mail_reply_init(&r);
    for (size_t done = 0; done < n && rc == 0; done++) {
        const struct mail_pop3_msg *m = &msgs[done];
        char cmd[32];
        mail_sink_fn sink = NULL;
        void *sink_ctx = NULL;
        uint64_t max = m->size && m->size < MAIL_POP3_BODY_MAX / 2
                     ? 2 * m->size + 65536 : MAIL_POP3_BODY_MAX;

        /* Keep the window full; the commands go out with the next wait
         * for the server (mail_conn flushes before it blocks). */
        while (sent < n && sent - done < window) {
            rc = mail_conn_printf(s->conn, err, "RETR %u\r\n",
                                  msgs[sent].msgno);
            if (rc < 0)
                goto out;
            sent++;
        }
        snprintf(cmd, sizeof cmd, "RETR %u", m->msgno);
        rc = mail_session_read_reply(s, &r, err);
        if (rc < 0)
            break;
        if (r.status != MAIL_REPLY_OK) {
            if (r.status != MAIL_REPLY_NO) {
                rc = mail_error_set(err, MAIL_ERR_PROTOCOL, "%s: %s: "
                                    "unexpected continuation from the server",
                                    s->name, cmd);
                break;
            }
            mail_session_reply_error(s, &r, MAIL_ERR_UNAVAIL, cmd, err);
            rc = ops->end(ctx, done, &r, err) < 0 ? -1 : 0;
            if (rc == 0 && err)
                mail_error_clear(err);
            continue;
        }
        if (ops->begin(ctx, done, &sink, &sink_ctx, err) < 0) {
            rc = -1;
            break;
        }
        rc = read_body(s, cmd, max, lf, sink, sink_ctx, err);
        if (rc == 0)
            rc = ops->end(ctx, done, NULL, err) < 0 ? -1 : 0;
    }
out:
    mail_reply_release(&r);
    return rc;
}

int mail_pop3_dele_many(struct mail_session *s, const unsigned *msgnos,
                        size_t n, size_t *refused, struct mail_error *err)
{
    size_t window = window_of(s), sent = 0, nref = 0;
    struct mail_reply r;
    int rc = 0;

    mail_reply_init(&r);
    for (size_t done = 0; done < n; done++) {
        char cmd[32];

        while (sent < n && sent - done < window) {
            if (mail_conn_printf(s->conn, err, "DELE %u\r\n",
                                 msgnos[sent]) < 0) {
                rc = -1;
                goto out;
            }
            sent++;
        }
        if (mail_session_read_reply(s, &r, err) < 0) {
            rc = -1;
            goto out;
        }
        if (r.status == MAIL_REPLY_OK)
            continue;
        snprintf(cmd, sizeof cmd, "DELE %u", msgnos[done]);
        if (r.status != MAIL_REPLY_NO) {
            rc = mail_error_set(err, MAIL_ERR_PROTOCOL, "%s: %s: unexpected "
                                "continuation from the server", s->name, cmd);
            goto out;
        }
        if (nref++ == 0)
            mail_session_reply_error(s, &r, MAIL_ERR_UNAVAIL, cmd, err);
    }
    rc = nref ? 1 : 0;
out:
    if (refused)
        *refused = nref;
    mail_reply_release(&r);
    return rc;
}
