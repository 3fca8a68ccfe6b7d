/*
 * answer.c - the worker's answers on the UI thread: each request's result
 * taken into what the screen shows (see tui.h for the requests,
 * ui_internal.h for the other files of this thread).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui_internal.h"
#include "mail/buf.h"
#include "mail/termsafe.h"

static void take_rows(struct ui *u, struct tui_req *r)
{
    size_t row = cur_row(u);

    tui_rows_release(&u->rows);
    u->rows = r->rows;
    r->rows.v = NULL;
    r->rows.n = 0;
    u->loaded = true;
    ui_measure_rows(u);
    free(u->match);
    u->match = NULL;
    u->nmatch = 0;
    ui_identity_view(u);
    u->cur = row < u->nvis ? row : (u->nvis ? u->nvis - 1 : 0);
    ui_request_view(u);
}

/* A request answered by the worker: what it brought goes where the
 * screen shows it (rows, the page, the view, the parts...), or its error
 * on the status line. */
void ui_on_answer(struct ui *u, struct tui_req *r)
{
    bool same = r->gen == u->rows.gen;

    if (u->pending)
        u->pending--;
    if (r == u->rendering)
        u->rendering = NULL;
    if (r == u->viewing)
        u->viewing = NULL;
    if (r == u->searching)
        u->searching = NULL;
    if (r == u->listing)
        u->listing = NULL;
    if (r == u->opening)
        u->opening = NULL;
    if (r == u->partsreq)
        u->partsreq = NULL;
    if (r == u->completing)
        u->completing = NULL;
    if (!u->pending)
        u->event[0] = '\0';
    if (r->status == TUI_CANCELLED) {
        if (r->kind == TUI_REQ_OPEN) {
            /* The folder shown stays (none, at the start). */
            const char *name = r->label ? r->label : u->label;
            struct mail_buf safe = MAIL_BUF_INIT;

            u->loaded = true;
            mail_term_safe(&safe, name, strlen(name), MAIL_SAFE_ONELINE);
            snprintf(u->msg, sizeof u->msg, "cancelled: %s not opened",
                     safe.data ? safe.data : "");
            mail_buf_release(&safe);
            return;
        }
        /* Said only when the user asked (Ctrl-C); a render superseded by
         * n, p or q is no news. */
        if (strcmp(u->msg, "cancelling") == 0)
            snprintf(u->msg, sizeof u->msg, "cancelled");
        return;
    }
    if (r->status == TUI_STALE) {
        if (r->kind != TUI_REQ_VIEW)
            snprintf(u->msg, sizeof u->msg, "the folder changed; try again");
        return;
    }
    if (r->status == TUI_ERROR) {
        ui_show_error(u, r);
        if (r->kind == TUI_REQ_OPEN && !r->path)
            u->loaded = true;
        if (r->kind == TUI_REQ_VIEW && u->limit) {
            /* A bad limit: back to all. */
            free(u->limit);
            u->limit = NULL;
            ui_request_view(u);
        }
        return;
    }
    switch (r->kind) {
    case TUI_REQ_ACCOUNT:
        u->store = r->store;
        /* fall through */
    case TUI_REQ_OPEN:
        if (r->path) {
            free(u->label);
            u->label = r->label;
            r->label = NULL;
            free(u->folder_path);
            u->folder_path = r->path;
            r->path = NULL;
            free(u->limit);
            u->limit = NULL;
            u->view = VIEW_INDEX;
        }
        take_rows(u, r);
        ui_first_unread(u);
        if (r->err.msg[0])
            ui_show_error(u, r);
        break;
    case TUI_REQ_RELIST:
    case TUI_REQ_SYNC:
        take_rows(u, r);
        if (r->kind == TUI_REQ_SYNC)
            snprintf(u->msg, sizeof u->msg, "%zu expunged", r->expunged);
        if (u->view == VIEW_PAGER)
            u->view = VIEW_INDEX;
        break;
    case TUI_REQ_RENDER:
        if (same && r->idx < u->rows.n)
            u->rows.v[r->idx].flags = r->new_flags;
        if (u->view != VIEW_PAGER || r->idx != u->page_idx ||
            u->page_part)
            break;
        tui_lines_release(&u->page);
        u->page = r->lines;
        r->lines.v = NULL;
        r->lines.n = 0;
        for (size_t i = 0; i < u->page.n; i++)
            ui_expand_tabs(&u->page.v[i]);
        u->page_top = 0;
        ui_wrap_page(u);
        break;
    case TUI_REQ_FLAGS:
        if (same && r->idx < u->rows.n)
            u->rows.v[r->idx].flags = r->new_flags;
        break;
    case TUI_REQ_SAVE:
        if (same && r->idx < u->rows.n)
            u->rows.v[r->idx].flags = r->new_flags;
        snprintf(u->msg, sizeof u->msg, "saved");
        break;
    case TUI_REQ_VIEW:
        if (same)
            ui_take_view(u, r);
        break;
    case TUI_REQ_SEARCH:
        if (same)
            ui_take_search(u, r);
        break;
    case TUI_REQ_MSGFD:
    case TUI_REQ_PART_FD:
        if (r->compose)
            ui_compose_answer(u, r);
        else if (r->kind == TUI_REQ_PART_FD && r->fd < 0 && r->lines.n)
            ui_show_part_output(u, r);
        else
            ui_pipe_message(u, r);
        break;
    case TUI_REQ_PARTS:
        ui_take_parts(u, r);
        break;
    case TUI_REQ_COMPLETE:
        ui_take_completion(u, r);
        break;
    case TUI_REQ_PART_SAVE: {
        struct mail_buf b = MAIL_BUF_INIT;
        const char *to = r->label ? r->label : r->path;

        mail_term_safe(&b, to, strlen(to), MAIL_SAFE_ONELINE);
        snprintf(u->msg, sizeof u->msg, "saved %s", b.data ? b.data : "");
        mail_buf_release(&b);
        break;
    }
    case TUI_REQ_FOLDERS:
        for (size_t i = 0; i < u->nfolders; i++) {
            free(u->folders[i].name);
            free(u->folders[i].path);
        }
        free(u->folders);
        u->folders = r->folders;
        u->nfolders = r->nfolders;
        r->folders = NULL;
        r->nfolders = 0;
        if (u->fcur >= u->nfolders)
            u->fcur = 0;
        if (r->err.msg[0])
            ui_show_error(u, r);
        break;
    case TUI_REQ_CLOSE:
        break;
    }
}

