/*
 * complete.c - Tab in the reader's prompts: the address book's
 * addr-specs for a word (tui_complete_query, run on the worker for the
 * search and limit prompts, on the UI thread in the compose prompts,
 * which wait anyway) and what they make of the line (tui_complete_apply).
 * One mechanism for both kinds of prompt.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui.h"
#include "mail/address.h"
#include "mail/addrbook.h"
#include "mail/buf.h"
#include "mail/termsafe.h"

int tui_complete_query(struct mail_addrbook *book, const char *query,
                       struct tui_lines *out, struct mail_error *err)
{
    struct mail_addrbook_results res = MAIL_ADDRBOOK_RESULTS_INIT;
    size_t alloc = 0;
    int rc = 0;

    /* 1: the address-command failed; the other sources still count. */
    if (mail_addrbook_query(book, query ? query : "", &res, err) < 0)
        return -1;
    for (size_t i = 0; i < res.n && rc == 0 && out->n < 50; i++) {
        struct mail_addrlist l = MAIL_ADDRLIST_INIT;
        struct mail_error perr;

        if (mail_addrlist_parse(&l, res.v[i].addr, &perr) < 0)
            continue;
        for (size_t k = 0; k < l.n && rc == 0; k++) {
            bool dup = false;

            if (!*l.v[k].addr)
                continue;
            for (size_t j = 0; j < out->n && !dup; j++)
                dup = strcmp(out->v[j], l.v[k].addr) == 0;
            if (dup)
                continue;
            if (out->n == alloc) {
                size_t na = alloc ? alloc * 2 : 8;
                char **v = realloc(out->v, na * sizeof *v);

                if (!v) {
                    rc = mail_error_set(err, MAIL_ERR_INTERNAL,
                                        "out of memory");
                    break;
                }
                out->v = v;
                alloc = na;
            }
            if (!(out->v[out->n] = strdup(l.v[k].addr)))
                rc = mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            else
                out->n++;
        }
        mail_addrlist_release(&l);
    }
    mail_addrbook_results_release(&res);
    if (rc == 0)
        mail_error_clear(err);
    return rc;
}

void tui_complete_apply(struct mail_buf *line, size_t at,
                        const struct tui_lines *c, const char *after,
                        char *msg, size_t size)
{
    struct mail_buf b = MAIL_BUF_INIT;
    size_t common;

    msg[0] = '\0';
    if (c->n == 0) {
        snprintf(msg, size, "no address matches");
        return;
    }
    common = strlen(c->v[0]);
    for (size_t i = 1; i < c->n; i++) {
        size_t k = 0;

        while (k < common && c->v[i][k] == c->v[0][k])
            k++;
        common = k;
    }
    if (common + at >= line->len || c->n == 1) {
        line->len = at;
        mail_buf_add(line, c->v[0], common);
        if (c->n == 1)
            mail_buf_addstr(line, after);
        mail_buf_addstr(line, "");    /* terminated */
    }
    if (c->n > 1) {
        mail_buf_printf(&b, "%zu addresses:", c->n);
        for (size_t i = 0; i < c->n && i < 5; i++) {
            mail_buf_addch(&b, ' ');
            mail_term_safe(&b, c->v[i], strlen(c->v[i]), MAIL_SAFE_ONELINE);
        }
        snprintf(msg, size, "%s", b.data ? b.data : "");
    }
    mail_buf_release(&b);
}
