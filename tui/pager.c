/*
 * pager.c - the reader's pager: a rendered message (mail read's text, made
 * on the worker) cut into screen lines, drawn with quote colors, and the
 * pager's keys (see ui_internal.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ui_internal.h"
#include "mail/date.h"
#include "mail/indexrow.h"
#include "mail/sort.h"
#include "mail/termsafe.h"
#include "mail/width.h"

/* Pager: cut every line into pieces of at most cols columns. */
void ui_wrap_page(struct ui *u)
{
    size_t cols = COLS > 0 ? (size_t)COLS : 80, alloc = 0;

    free(u->segs);
    u->segs = NULL;
    u->nsegs = 0;
    u->seg_cols = cols;
    for (size_t l = 0; l < u->page.n; l++) {
        const char *s = u->page.v[l];
        size_t len = strlen(s), off = 0;

        do {
            size_t n = mail_width_fit(s + off, len - off, cols, NULL);

            if (n == 0 && off < len)
                mail_char_width(s + off, len - off, &n);
            if (u->nsegs == alloc) {
                size_t na = alloc ? alloc * 2 : 256;
                struct seg *v = realloc(u->segs, na * sizeof *v);

                if (!v)
                    return;
                u->segs = v;
                alloc = na;
            }
            u->segs[u->nsegs++] = (struct seg){ l, off, n };
            off += n;
        } while (off < len);
    }
}

/* Tabs to spaces (stops every 8 columns), in place of the line. */
void ui_expand_tabs(char **line)
{
    struct mail_buf b = MAIL_BUF_INIT;
    const char *s = *line;
    size_t col = 0, i = 0, len = strlen(s), n;

    if (!strchr(s, '\t'))
        return;
    while (i < len) {
        if (s[i] == '\t') {
            do
                mail_buf_addch(&b, ' ');
            while (++col % 8);
            i++;
            continue;
        }
        col += (size_t)mail_char_width(s + i, len - i, &n);
        mail_buf_add(&b, s + i, n);
        i += n;
    }
    if (b.data) {
        free(*line);
        *line = mail_buf_detach(&b);
    }
    mail_buf_release(&b);
}

static int quote_depth(const char *s)
{
    int d = 0;

    for (; *s == '>' || *s == ' '; s++)
        if (*s == '>')
            d++;
    return d;
}

void ui_draw_pager(struct ui *u)
{
    int h = body_rows();

    if (u->seg_cols != (size_t)COLS)
        ui_wrap_page(u);
    if (u->nsegs > (size_t)h && u->page_top > u->nsegs - (size_t)h)
        u->page_top = u->nsegs - (size_t)h;
    if (u->nsegs <= (size_t)h)
        u->page_top = 0;
    if (u->rendering && !u->page.n)
        mvaddstr(0, 0, "loading...");
    for (int y = 0; y < h; y++) {
        size_t k = u->page_top + (size_t)y;
        const char *line;
        int d;

        if (k >= u->nsegs)
            break;
        line = u->page.v[u->segs[k].line];
        d = quote_depth(line);
        if (d)
            attrset(ui_color_attr(u, (enum tui_color_obj)(TUI_COLOR_QUOTE1 +
                                                       (d - 1) % 3)));
        mvaddnstr(y, 0, line + u->segs[k].off, (int)u->segs[k].len);
        attrset(A_NORMAL);
    }
}

void ui_open_message(struct ui *u, size_t idx)
{
    if (idx >= u->rows.n)
        return;
    if (u->rendering)
        ui_cancel(u, u->rendering);
    tui_lines_release(&u->page);
    free(u->segs);
    u->segs = NULL;
    u->nsegs = 0;
    u->page_top = 0;
    u->page_idx = idx;
    u->page_part = false;
    for (size_t v = 0; v < u->nvis; v++)
        if (u->vis[v] == idx) {
            u->cur = v;
            break;
        }
    u->view = VIEW_PAGER;
    u->msg[0] = '\0';
    u->rendering = ui_post(u, TUI_REQ_RENDER, idx, 0, 0);
}

/* The output of a part's copiousoutput viewer (r->lines, terminal-safe,
 * from the worker) in the pager; q goes back to the attachment list. */
void ui_show_part_output(struct ui *u, struct tui_req *r)
{
    if (u->view != VIEW_PARTS || r->idx != u->parts_idx)
        return;
    if (u->rendering)
        ui_cancel(u, u->rendering);
    tui_lines_release(&u->page);
    u->page = r->lines;
    r->lines.v = NULL;
    r->lines.n = 0;
    for (size_t i = 0; i < u->page.n; i++)
        ui_expand_tabs(&u->page.v[i]);
    u->page_top = 0;
    u->page_idx = r->idx;
    u->page_part = true;
    u->view = VIEW_PAGER;
    ui_wrap_page(u);
}

void ui_pager_action(struct ui *u, enum tui_action a)
{
    size_t h = (size_t)body_rows();
    size_t last = u->nsegs > h ? u->nsegs - h : 0, v;

    if (u->page_part && (a == TUI_A_NEXT_MSG || a == TUI_A_PREV_MSG ||
                         a == TUI_A_NEXT_UNREAD)) {
        snprintf(u->msg, sizeof u->msg, "a part's viewer output: q goes "
                 "back to the attachments");
        return;
    }
    switch (a) {
    case TUI_A_EXIT:
        if (u->rendering)
            ui_cancel(u, u->rendering);
        if (u->page_part) {
            /* The message's own text is rendered again when opened. */
            u->page_part = false;
            tui_lines_release(&u->page);
            free(u->segs);
            u->segs = NULL;
            u->nsegs = 0;
            u->view = VIEW_PARTS;
            break;
        }
        u->view = VIEW_INDEX;
        break;
    case TUI_A_NEXT:
        if (u->page_top < last)
            u->page_top++;
        break;
    case TUI_A_PREV:
        if (u->page_top > 0)
            u->page_top--;
        break;
    case TUI_A_NEXT_PAGE:
        u->page_top = u->page_top + h < last ? u->page_top + h : last;
        break;
    case TUI_A_PREV_PAGE:
        u->page_top = u->page_top > h ? u->page_top - h : 0;
        break;
    case TUI_A_FIRST:
        u->page_top = 0;
        break;
    case TUI_A_LAST:
        u->page_top = last;
        break;
    case TUI_A_NEXT_MSG:
        if (u->cur + 1 < u->nvis)
            ui_open_message(u, u->vis[u->cur + 1]);
        else
            snprintf(u->msg, sizeof u->msg, "no next message");
        break;
    case TUI_A_PREV_MSG:
        if (u->cur > 0 && u->cur <= u->nvis)
            ui_open_message(u, u->vis[u->cur - 1]);
        else
            snprintf(u->msg, sizeof u->msg, "no previous message");
        break;
    case TUI_A_NEXT_UNREAD:
        if ((v = ui_next_unread(u, u->cur)) < u->nvis)
            ui_open_message(u, u->vis[v]);
        else
            snprintf(u->msg, sizeof u->msg, "no more unread messages");
        break;
    default:
        ui_common_action(u, a, u->page_idx);
        break;
    }
}
