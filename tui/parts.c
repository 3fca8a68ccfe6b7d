/*
 * parts.c - the attachment list (v, from the index or the pager): the
 * message's parts, one line each (number, type, size, file name: the
 * worker made them terminal-safe), and what can be done with one: save
 * it (s: to a file, or into a directory under the name mail read --save
 * gives it), pipe it decoded to a command (|) or open it with its
 * mailcap entry (Enter, as mutt does).  The parts are listed,
 * saved and decoded on the worker (lib/msg/parts.c, as mail read does);
 * see ui_internal.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui_internal.h"
#include "mail/buf.h"

void ui_parts_release(struct ui *u)
{
    for (size_t i = 0; i < u->nparts; i++) {
        free(u->parts[i].number);
        free(u->parts[i].type);
        free(u->parts[i].name);
    }
    free(u->parts);
    u->parts = NULL;
    u->nparts = 0;
}

/* v on message idx: the list comes from the worker. */
void ui_open_parts(struct ui *u, size_t idx)
{
    if (idx >= u->rows.n)
        return;
    if (u->partsreq)
        ui_cancel(u, u->partsreq);
    ui_parts_release(u);
    u->pcur = u->ptop = 0;
    u->parts_idx = idx;
    if (u->view != VIEW_PARTS)
        u->parts_back = u->view;
    u->view = VIEW_PARTS;
    u->partsreq = ui_post(u, TUI_REQ_PARTS, idx, 0, 0);
}

void ui_take_parts(struct ui *u, struct tui_req *r)
{
    if (u->view != VIEW_PARTS || r->idx != u->parts_idx)
        return;
    ui_parts_release(u);
    u->parts = r->parts;
    u->nparts = r->nparts;
    r->parts = NULL;
    r->nparts = 0;
}

/* 1234, 12K, 3.4M: as ls -h rounds. */
static void human_size(uint64_t n, char *out, size_t size)
{
    if (n < 1024)
        snprintf(out, size, "%u", (unsigned)n);
    else if (n < 10 * 1024)
        snprintf(out, size, "%.1fK", (double)n / 1024);
    else if (n < 1024 * 1024)
        snprintf(out, size, "%uK", (unsigned)((n + 1023) / 1024));
    else
        snprintf(out, size, "%.1fM", (double)n / (1024 * 1024));
}

void ui_draw_parts(struct ui *u)
{
    int h = body_rows();

    if (u->partsreq && !u->nparts)
        mvaddstr(0, 0, "reading the message...");
    else if (!u->nparts)
        mvaddstr(0, 0, "(no parts)");
    if (u->pcur < u->ptop)
        u->ptop = u->pcur;
    if (u->pcur >= u->ptop + (size_t)h)
        u->ptop = u->pcur - (size_t)h + 1;
    for (int y = 0; y < h && u->ptop + (size_t)y < u->nparts; y++) {
        size_t i = u->ptop + (size_t)y;
        const struct tui_part *p = &u->parts[i];
        struct mail_buf b = MAIL_BUF_INIT;
        char size[16];

        human_size(p->size, size, sizeof size);
        mail_buf_printf(&b, "%-6s %-28s %7s  %s", p->number, p->type, size,
                        p->name ? p->name : "");
        attrset(i == u->pcur ? A_REVERSE : A_NORMAL);
        if (i == u->pcur)
            mvhline(y, 0, ' ', COLS);
        if (b.data)
            ui_put_fit(y, 0, b.data, b.len, (size_t)COLS);
        attrset(A_NORMAL);
        mail_buf_release(&b);
    }
}

/* Enter on the prompt of s or | in the list: the worker does it. */
void ui_part_prompt_done(struct ui *u, enum prompt_kind k, char *text)
{
    struct tui_req *r;
    const char *home = getenv("HOME");

    if (!*text || u->prompt_part >= u->nparts)
        return;
    if (!(r = ui_new_req(u, k == PROMPT_PART_SAVE ? TUI_REQ_PART_SAVE
                                                   : TUI_REQ_PART_FD,
                         u->parts_idx)))
        return;
    r->part = strdup(u->parts[u->prompt_part].number);
    if (k == PROMPT_PART_SAVE) {
        struct mail_buf b = MAIL_BUF_INIT;

        /* ~/ as a shell would. */
        if (text[0] == '~' && text[1] == '/' && home && *home)
            mail_buf_printf(&b, "%s%s", home, text + 1);
        else
            mail_buf_addstr(&b, text);
        r->path = mail_buf_detach(&b);
    } else {
        r->query = strdup(text);
    }
    if (!r->part || (k == PROMPT_PART_SAVE ? !r->path : !r->query)) {
        tui_req_free(r);
        snprintf(u->msg, sizeof u->msg, "out of memory");
        return;
    }
    ui_post_req(u, r);
    if (k == PROMPT_PART_SAVE)
        snprintf(u->msg, sizeof u->msg, "saving");
}

/* Enter: the part under the cursor opened with its mailcap entry; the
 * worker writes it to a temporary file and makes the command, which the
 * UI runs with the terminal as it runs | (no entry: an error on the
 * status line). */
static void ui_part_open(struct ui *u)
{
    struct tui_req *r;

    if (u->pcur >= u->nparts ||
        !(r = ui_new_req(u, TUI_REQ_PART_FD, u->parts_idx)))
        return;
    if (!(r->part = strdup(u->parts[u->pcur].number))) {
        tui_req_free(r);
        snprintf(u->msg, sizeof u->msg, "out of memory");
        return;
    }
    ui_post_req(u, r);
}

void ui_parts_key(struct ui *u, wint_t ch, bool fkey)
{
    if ((!fkey && ch == 'j') || (fkey && ch == KEY_DOWN)) {
        if (u->pcur + 1 < u->nparts)
            u->pcur++;
    } else if ((!fkey && ch == 'k') || (fkey && ch == KEY_UP)) {
        if (u->pcur)
            u->pcur--;
    } else if (!fkey && ch == 's') {
        if (u->pcur < u->nparts) {
            ui_start_prompt(u, PROMPT_PART_SAVE, u->parts_idx);
            u->prompt_part = u->pcur;
        }
    } else if ((!fkey && (ch == '\n' || ch == '\r')) ||
               (fkey && ch == KEY_ENTER)) {
        ui_part_open(u);
    } else if (!fkey && ch == '|') {
        if (u->pcur < u->nparts) {
            ui_start_prompt(u, PROMPT_PART_PIPE, u->parts_idx);
            u->prompt_part = u->pcur;
        }
    } else if (!fkey && ch == '?') {
        u->help_back = u->view;
        u->help_top = 0;
        u->view = VIEW_HELP;
    } else if ((!fkey && (ch == 'q' || ch == 'v' || ch == 27)) ||
               (fkey && ch == KEY_LEFT)) {
        if (u->partsreq)
            ui_cancel(u, u->partsreq);
        u->view = u->parts_back;
    }
}
