/*
 * imap_envelope.c - ENVELOPE and BODYSTRUCTURE into listing fields
 * (imap_envelope.h).
 */
#include <stdlib.h>
#include <string.h>

#include "mail/buf.h"
#include "mail/imap_envelope.h"

#define ENV_STRING_MAX (64 * 1024)
#define ENV_ADDRESSES_MAX 1000

static int nomem(struct mail_error *err)
{
    return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
}

/* The text of a string node (quoted or literal kept in the tree), NULL
 * for NIL and anything else; *len its length (literals may hold NUL). */
static const char *node_text(const struct mail_imap_node *n, size_t *len)
{
    if (!n || (n->type != MAIL_IMAP_STRING && n->type != MAIL_IMAP_ATOM) ||
        !n->data)
        return NULL;
    /* An atom "NIL" is the parser's NIL already; other atoms (a server
     * that sends a bare word) are taken as strings. */
    *len = n->len > ENV_STRING_MAX ? ENV_STRING_MAX : (size_t)n->len;
    return n->data;
}

/* Append s[0..len) with CR, LF, TAB and NUL as blanks. */
static int add_flat(struct mail_buf *b, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (c == '\r' || c == '\n' || c == '\t' || c == '\0')
            c = ' ';
        if (mail_buf_addch(b, c) < 0)
            return -1;
    }
    return 0;
}

static int dup_string(const struct mail_imap_node *n, char **out,
                      struct mail_error *err)
{
    struct mail_buf b = MAIL_BUF_INIT;
    size_t len;
    const char *s = node_text(n, &len);

    *out = NULL;
    if (!s)
        return 0;
    if (add_flat(&b, s, len) < 0 || mail_buf_addch(&b, '\0') < 0) {
        mail_buf_release(&b);
        return nomem(err);
    }
    *out = mail_buf_detach(&b);
    return *out ? 0 : nomem(err);
}

/* RFC 5322 atext, plus blank and '.' (obs-phrase): a display name made
 * only of these needs no quotes.  Encoded words ("=?utf-8?q?...?=") are
 * atext too, so they stay outside quotes where decoders look for them. */
static bool phrase_ok(const char *s, size_t len)
{
    static const char *const special = "!#$%&'*+-/=?^_`{|}~. ";

    if (!len)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (!(c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || strchr(special, c)))
            return false;
    }
    return s[0] != '.' && s[0] != ' ';
}

static int add_phrase(struct mail_buf *b, const char *s, size_t len)
{
    if (phrase_ok(s, len))
        return add_flat(b, s, len);
    if (mail_buf_addch(b, '"') < 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if ((s[i] == '"' || s[i] == '\\') && mail_buf_addch(b, '\\') < 0)
            return -1;
        if (add_flat(b, s + i, 1) < 0)
            return -1;
    }
    return mail_buf_addch(b, '"');
}

/* The local part as a header has it: quoted unless it is a dot-atom. */
static int add_local(struct mail_buf *b, const char *s, size_t len)
{
    bool plain = len > 0 && s[0] != '.' && s[len - 1] != '.';

    for (size_t i = 0; plain && i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == ' ' || c == '"' || c == '\\' || c < 0x21 || c == 0x7f ||
            strchr("()<>[]:;@,", c) || (c == '.' && i && s[i - 1] == '.'))
            plain = false;
    }
    return plain ? add_flat(b, s, len) : add_phrase(b, s, len) < 0 ? -1 :
           0;
}

/*
 * An address list: ((name adl mailbox host) ...).  RFC 3501 7.4.2: host
 * NIL marks a group (mailbox is its name) and mailbox NIL with host NIL
 * ends it.
 */
static int dup_addresses(const struct mail_imap_node *n, char **out,
                         struct mail_error *err)
{
    struct mail_buf b = MAIL_BUF_INIT;
    const struct mail_imap_node *a;
    bool in_group = false, need_sep = false;
    size_t count = 0;

    *out = NULL;
    if (!n || n->type != MAIL_IMAP_LIST)
        return 0;      /* NIL (or garbage): no such header */
    for (a = n->child; a; a = a->next) {
        const char *name, *mbx, *host;
        size_t nl = 0, ml = 0, hl = 0;

        if (a->type != MAIL_IMAP_LIST || a->count < 4)
            continue;
        if (++count > ENV_ADDRESSES_MAX)
            break;
        name = node_text(mail_imap_node_at(a, 0), &nl);
        mbx = node_text(mail_imap_node_at(a, 2), &ml);
        host = node_text(mail_imap_node_at(a, 3), &hl);
        if (!host) {
            if (!mbx) {                       /* end of group */
                if (in_group && mail_buf_addch(&b, ';') < 0)
                    goto oom;
                in_group = false;
                need_sep = true;
                continue;
            }
            if (in_group && mail_buf_addch(&b, ';') < 0)
                goto oom;
            if (need_sep && mail_buf_addstr(&b, ", ") < 0)
                goto oom;
            if (add_phrase(&b, mbx, ml) < 0 || mail_buf_addch(&b, ':') < 0)
                goto oom;
            in_group = true;
            need_sep = false;
            continue;
        }
        if (!mbx)
            continue;                         /* malformed: skip it */
        if (need_sep && mail_buf_addch(&b, ',') < 0)
            goto oom;
        if ((need_sep || in_group) && mail_buf_addch(&b, ' ') < 0)
            goto oom;
        if (name && nl) {
            if (add_phrase(&b, name, nl) < 0 || mail_buf_addstr(&b, " <") < 0)
                goto oom;
        }
        if (add_local(&b, mbx, ml) < 0 || (hl && mail_buf_addch(&b, '@') < 0) ||
            add_flat(&b, host, hl) < 0)
            goto oom;
        if (name && nl && mail_buf_addch(&b, '>') < 0)
            goto oom;
        need_sep = true;
    }
    if (in_group && mail_buf_addch(&b, ';') < 0)
        goto oom;
    if (!b.len) {
        mail_buf_release(&b);
        return 0;
    }
    if (mail_buf_addch(&b, '\0') < 0)
        goto oom;
    *out = mail_buf_detach(&b);
    return *out ? 0 : nomem(err);
oom:
    mail_buf_release(&b);
    return nomem(err);
}

int mail_imap_envelope_parse(const struct mail_imap_node *n,
                             struct mail_imap_envelope *e,
                             struct mail_error *err)
{
    char **addr[6];

    memset(e, 0, sizeof *e);
    if (!n || n->type != MAIL_IMAP_LIST || n->count < 10)
        return mail_error_set(err, MAIL_ERR_PROTOCOL,
                              "ENVELOPE: not a list of 10 fields");
    addr[0] = &e->from;
    addr[1] = &e->sender;
    addr[2] = &e->reply_to;
    addr[3] = &e->to;
    addr[4] = &e->cc;
    addr[5] = &e->bcc;
    if (dup_string(mail_imap_node_at(n, 0), &e->date, err) < 0 ||
        dup_string(mail_imap_node_at(n, 1), &e->subject, err) < 0)
        goto fail;
    for (size_t i = 0; i < 6; i++)
        if (dup_addresses(mail_imap_node_at(n, 2 + i), addr[i], err) < 0)
            goto fail;
    if (dup_string(mail_imap_node_at(n, 8), &e->in_reply_to, err) < 0 ||
        dup_string(mail_imap_node_at(n, 9), &e->message_id, err) < 0)
        goto fail;
    return 0;
fail:
    mail_imap_envelope_release(e);
    return -1;
}

void mail_imap_envelope_release(struct mail_imap_envelope *e)
{
    free(e->date);
    free(e->subject);
    free(e->from);
    free(e->sender);
    free(e->reply_to);
    free(e->to);
    free(e->cc);
    free(e->bcc);
    free(e->in_reply_to);
    free(e->message_id);
    memset(e, 0, sizeof *e);
}

/* ---- BODYSTRUCTURE ---- */

/* Does a parameter list (name value ...) have a file name: "name" or
 * "filename", also in the RFC 2231 forms ("filename*", "filename*0*"). */
static bool has_name_param(const struct mail_imap_node *params,
                           const char *key)
{
    const struct mail_imap_node *p;
    size_t kl = strlen(key);

    if (!params || params->type != MAIL_IMAP_LIST)
        return false;
    for (p = params->child; p && p->next; p = p->next->next) {
        const char *k = mail_imap_node_str(p);
        size_t vl = 0;

        if (k && mail_strncasecmp(k, key, kl) == 0 &&
            (k[kl] == '\0' || k[kl] == '*') && node_text(p->next, &vl) && vl)
            return true;
    }
    return false;
}

static unsigned count_part(const struct mail_imap_bodypart *b, bool root,
                           unsigned depth)
{
    unsigned n = 0;

    if (depth > 64)
        return 0;
    if (strcmp(b->type, "multipart") == 0) {
        for (size_t i = 0; i < b->nparts; i++)
            n += count_part(&b->parts[i], false, depth + 1);
        return n;
    }
    if (b->nparts) {
        /* message/rfc822: an attachment, and so may be what it holds. */
        n = 1;
        for (size_t i = 0; i < b->nparts; i++)
            n += count_part(&b->parts[i], false, depth + 1);
        return n;
    }
    if (mail_strcasecmp(b->disposition, "attachment") == 0 ||
        has_name_param(b->disp_params, "filename") ||
        has_name_param(b->params, "name"))
        return 1;
    if (root)
        return 0;
    return !(strcmp(b->type, "text") == 0 &&
             (strcmp(b->subtype, "plain") == 0 ||
              strcmp(b->subtype, "html") == 0));
}

unsigned mail_imap_bodypart_attachments(const struct mail_imap_bodypart *b)
{
    return b ? count_part(b, true, 0) : 0;
}

int mail_imap_body_summary(const struct mail_imap_node *bodystructure,
                           unsigned *attachments, char **content_type,
                           struct mail_error *err)
{
    struct mail_imap_bodypart *b;

    *attachments = 0;
    if (content_type)
        *content_type = NULL;
    b = mail_imap_bodystructure(bodystructure, err);
    if (!b)
        return -1;
    *attachments = mail_imap_bodypart_attachments(b);
    if (content_type) {
        struct mail_buf t = MAIL_BUF_INIT;

        if (mail_buf_printf(&t, "%s/%s", b->type[0] ? b->type : "text",
                            b->subtype[0] ? b->subtype : "plain") < 0 ||
            mail_buf_addch(&t, '\0') < 0 ||
            !(*content_type = mail_buf_detach(&t))) {
            mail_buf_release(&t);
            mail_imap_bodypart_free(b);
            return nomem(err);
        }
    }
    mail_imap_bodypart_free(b);
    return 0;
}
