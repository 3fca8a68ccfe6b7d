/*
 * imap_notify.c - NOTIFY SET (RFC 5465) and leaving a mailbox (see
 * imap_notify.h).
 */
#include <string.h>

#include "mail/imap_notify.h"
#include "mail/imap.h"
#include "mail/imap_parse.h"

static int simple(struct mail_session *s, const char *cmd, const char *what,
                  struct mail_error *err)
{
    struct mail_reply r;
    int rc;

    mail_reply_init(&r);
    rc = mail_imap_command(s, &r, err, "%s", cmd);
    if (rc == 0 && r.status != MAIL_REPLY_OK)
        rc = mail_error_set(err, MAIL_ERR_UNAVAIL, "%s: %s refused: %.200s",
                            s->name, what, r.text.data ? r.text.data : "");
    mail_reply_release(&r);
    return rc;
}

int mail_imap_notify_set(struct mail_session *s, const char *const *names,
                         size_t n, struct mail_error *err)
{
    struct mail_buf cmd = MAIL_BUF_INIT;
    int rc;

    if (!mail_session_has_cap(s, "NOTIFY"))
        return mail_error_set(err, MAIL_ERR_UNAVAIL, "%s: NOTIFY not "
                              "offered", s->name);
    if (mail_buf_addstr(&cmd, "NOTIFY SET (mailboxes (") < 0)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        if (i && mail_buf_addch(&cmd, ' ') < 0)
            goto nomem;
        if (mail_imap_mailbox_arg(&cmd, names[i]) < 0) {
            mail_buf_release(&cmd);
            return mail_error_set(err, MAIL_ERR_USAGE, "%s: mailbox name "
                                  "is not valid UTF-8", s->name);
        }
    }
    if (mail_buf_addstr(&cmd, ") (MessageNew MessageExpunge))") < 0)
        goto nomem;
    /* A name sent as a literal cannot go through one line: refused here
     * as the server would, and watched the other way. */
    if (memchr(cmd.data, '{', cmd.len)) {
        mail_buf_release(&cmd);
        return mail_error_set(err, MAIL_ERR_UNAVAIL, "%s: NOTIFY: a folder "
                              "name needs a literal", s->name);
    }
    rc = simple(s, cmd.data, "NOTIFY", err);
    mail_buf_release(&cmd);
    return rc;
nomem:
    mail_buf_release(&cmd);
    return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
}

int mail_imap_unselect(struct mail_session *s, struct mail_error *err)
{
    if (mail_session_has_cap(s, "UNSELECT"))
        return simple(s, "UNSELECT", "UNSELECT", err);
    return simple(s, "CLOSE", "CLOSE", err);
}

bool mail_imap_mailbox_is(const char *raw, const char *utf8)
{
    struct mail_buf b = MAIL_BUF_INIT;
    const char *p;
    size_t i = 0;
    bool same = false;

    if (mail_strcasecmp(raw, "INBOX") == 0)
        return mail_strcasecmp(utf8, "INBOX") == 0;
    if (mail_imap_mailbox_arg(&b, utf8) < 0 || !b.data) {
        mail_buf_release(&b);
        return false;
    }
    /* A quoted string ("..." with \" and \\), else an atom. */
    p = b.data;
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++) {
            if (*p == '\\' && p[1])
                p++;
            if (raw[i] != *p)
                goto out;
            i++;
        }
        same = raw[i] == '\0';
    } else {
        same = strcmp(raw, p) == 0;
    }
out:
    mail_buf_release(&b);
    return same;
}

int mail_imap_notify_status(const struct mail_imap_resp *r,
                            struct mail_imap_idle_status *ms)
{
    const struct mail_imap_node *l;

    memset(ms, 0, sizeof *ms);
    if (r->type != MAIL_IMAP_T_STATUS_MBX)
        return -1;
    l = mail_imap_node_at(&r->args, 1);
    ms->mailbox = mail_imap_node_str(mail_imap_node_at(&r->args, 0));
    if (!ms->mailbox || !l || l->type != MAIL_IMAP_LIST)
        return -1;
    /* Pairs of an item and its number; an item Dovecot adds (UNSEEN,
     * HIGHESTMODSEQ) or a value that is no number is passed over. */
    for (const struct mail_imap_node *c = l->child; c && c->next;
         c = c->next->next) {
        uint32_t v;

        if (mail_imap_node_u32(c->next, &v) < 0)
            continue;
        if (mail_imap_node_is(c, "MESSAGES"))
            ms->messages = v;
        else if (mail_imap_node_is(c, "UIDNEXT"))
            ms->uidnext = v;
        else if (mail_imap_node_is(c, "UIDVALIDITY"))
            ms->uidvalidity = v;
    }
    return 0;
}
