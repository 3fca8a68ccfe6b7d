/*
 * indexrow.c - one line of a message index; see indexrow.h.  `mail ls`
 * and the reader both draw their rows here, so that they cannot drift.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/indexrow.h"
#include "mail/termsafe.h"
#include "mail/width.h"

#define FROM_COLS 20
#define SUBJECT_MIN 20
#define THREAD_INDENT_MAX 8

bool mail_envelope_attach_mark(const struct mail_envelope *e)
{
    return e->attachments > 0 ||
           (e->content_type &&
            mail_strncasecmp(e->content_type, "multipart/mixed", 15) == 0);
}

void mail_index_flags(unsigned f, bool attach, char out[5])
{
    out[0] = (f & MAIL_FLAG_SEEN) ? ' ' : (f & MAIL_FLAG_NEW) ? 'N' : 'U';
    out[1] = (f & MAIL_FLAG_ANSWERED) ? 'R' : (f & MAIL_FLAG_PASSED) ? 'P'
                                                                     : ' ';
    out[2] = (f & MAIL_FLAG_FLAGGED) ? 'F' : (f & MAIL_FLAG_DRAFT) ? 'D'
           : (f & MAIL_FLAG_DELETED) ? 'T' : ' ';
    out[3] = attach ? 'A' : ' ';
    out[4] = '\0';
}

void mail_index_layout_init(struct mail_index_layout *l, size_t cols,
                            size_t max_number, size_t datew)
{
    size_t fixed;

    l->cols = cols;
    l->numw = 1;
    for (size_t k = max_number; k >= 10; k /= 10)
        l->numw++;
    l->datew = datew;
    fixed = l->numw + 1 + 4 + 1 + l->datew + 2;
    l->fromw = FROM_COLS;
    if (cols && cols < fixed + l->fromw + 2 + SUBJECT_MIN)
        /* Narrow terminals: the sender gives way first. */
        l->fromw = cols > fixed + 2 + SUBJECT_MIN + 8 ?
                   cols - fixed - 2 - SUBJECT_MIN : 8;
    /* The last column stays blank: a terminal that wraps at it would
     * push the next line down. */
    l->subjw = !cols ? 0 : cols > fixed + l->fromw + 2 + 1 ?
               cols - fixed - l->fromw - 2 - 1 : 1;
}

/* Would mail_term_safe change s?  Only a control character (C0, DEL,
 * C1), a bidirectional control, a line or paragraph separator or a byte
 * that is not valid UTF-8 (the set termsafe.h names). */
static bool maybe_unsafe(const char *s)
{
    size_t len = strlen(s), i = 0, n;
    uint32_t cp;

    while (i < len) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return true;
            i++;
            continue;
        }
        if ((n = mail_utf8_decode(s + i, len - i, &cp)) == 0)
            return true;
        if (cp <= 0x9f || cp == 0x61c || cp == 0x200e || cp == 0x200f ||
            (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
            cp == 0x2028 || cp == 0x2029)
            return true;
        i += n;
    }
    return false;
}

static const char *defused(const char *s, struct mail_buf *tmp, int *rc)
{
    if (!maybe_unsafe(s))
        return s;
    mail_buf_reset(tmp);
    if (mail_term_safe(tmp, s, strlen(s), MAIL_SAFE_ONELINE) < 0)
        *rc = -1;
    return tmp->data ? tmp->data : "";
}

int mail_index_row(struct mail_buf *out, const struct mail_index_layout *l,
                   const struct mail_index_fields *f)
{
    struct mail_buf t1 = MAIL_BUF_INIT, t2 = MAIL_BUF_INIT,
                    t3 = MAIL_BUF_INIT;
    char num[24];
    size_t nl = 0, dl;
    const char *from, *subj, *tree;
    int rc = 0;

    for (size_t v = f->number; v; v /= 10)
        num[sizeof num - 1 - nl++] = (char)('0' + v % 10);
    if (!nl)
        num[sizeof num - 1 - nl++] = '0';
    for (size_t k = nl; k < l->numw; k++)
        rc |= mail_buf_addch(out, ' ');
    rc |= mail_buf_add(out, num + sizeof num - nl, nl);
    rc |= mail_buf_addch(out, ' ');
    rc |= mail_buf_add(out, f->flags, 4);
    rc |= mail_buf_addch(out, ' ');
    rc |= mail_buf_add(out, f->date, f->datelen);
    for (dl = f->datelen; dl < l->datew; dl++)
        rc |= mail_buf_addch(out, ' ');
    rc |= mail_buf_add(out, "  ", 2);

    from = f->from && *f->from ? defused(f->from, &t1, &rc) : "(nobody)";
    subj = f->subject && *f->subject ? defused(f->subject, &t2, &rc)
                                     : "(no subject)";
    rc |= mail_width_put(out, from, strlen(from), l->cols ? l->fromw : 0,
                         true, l->fromw);
    rc |= mail_buf_add(out, "  ", 2);
    tree = f->tree && *f->tree ? defused(f->tree, &t3, &rc) : NULL;
    if (tree) {
        struct mail_buf t = MAIL_BUF_INIT;

        rc |= mail_buf_addstr(&t, tree);
        rc |= mail_buf_addstr(&t, subj);
        rc |= mail_width_put(out, t.data ? t.data : "", t.len, l->subjw,
                             false, 0);
        mail_buf_release(&t);
    } else {
        rc |= mail_width_put(out, subj, strlen(subj), l->subjw, false, 0);
    }
    mail_buf_release(&t1);
    mail_buf_release(&t2);
    mail_buf_release(&t3);
    return rc < 0 ? -1 : 0;
}

void mail_index_thread_prefix(struct mail_buf *b, unsigned depth)
{
    unsigned d = depth > THREAD_INDENT_MAX ? THREAD_INDENT_MAX : depth;

    if (depth == 0)
        return;
    for (unsigned i = 1; i < d; i++)
        mail_buf_addstr(b, "  ");
    mail_buf_addstr(b, "\xe2\x94\x94\xe2\x94\x80");   /* "└─" */
}

/* Does the row at k (depth d) have a later sibling: a row at depth d
 * after it before any row shallower than d? */
static bool later_sibling(const unsigned *depth, size_t n, size_t k,
                          unsigned d)
{
    for (size_t j = k + 1; j < n; j++) {
        if (depth[j] < d)
            return false;
        if (depth[j] == d)
            return true;
    }
    return false;
}

char **mail_index_tree_marks(const unsigned *depth, size_t n)
{
    char **marks = calloc(n ? n : 1, sizeof *marks);
    /* open[l]: the ancestor at level l of the current row has a later
     * sibling (a vertical line runs through level l). */
    bool open[THREAD_INDENT_MAX + 1] = { false };

    if (!marks)
        return NULL;
    for (size_t k = 0; k < n; k++) {
        struct mail_buf b = MAIL_BUF_INIT;
        unsigned d = depth[k] > THREAD_INDENT_MAX ? THREAD_INDENT_MAX
                                                  : depth[k];
        bool more = depth[k] > 0 && later_sibling(depth, n, k, depth[k]);

        for (unsigned lv = 1; lv < d; lv++)
            mail_buf_addstr(&b, open[lv] ? "\xe2\x94\x82 " : "  ");
        if (d)
            mail_buf_addstr(&b, more ? "\xe2\x94\x9c\xe2\x94\x80>"
                                     : "\xe2\x94\x94\xe2\x94\x80>");
        if (d)
            open[d] = more;
        if (!b.data)
            mail_buf_addstr(&b, "");
        if (!(marks[k] = mail_buf_detach(&b))) {
            for (size_t j = 0; j < k; j++)
                free(marks[j]);
            free(marks);
            return NULL;
        }
    }
    return marks;
}
