/*
 * prompt.c - the prompt line (search, limit, save, pipe, change folder):
 * a line editor inside the UI loop, not readline (readline's own terminal
 * handling fights curses for the screen, and rl_callback would still need
 * its output redirected into a curses window).  Editing is a mode of the
 * loop: the worker's answers keep arriving and the screen keeps updating
 * while a line is typed.  Keys: characters insert at the end, Backspace
 * and ^H delete one character, ^U the line, ^W a word; Enter accepts;
 * Escape, ^G and ^C cancel.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ui_internal.h"
#include "mail/date.h"
#include "mail/indexrow.h"
#include "mail/sort.h"
#include "mail/termsafe.h"
#include "mail/width.h"

static const char *prompt_label(enum prompt_kind k)
{
    switch (k) {
    case PROMPT_SEARCH: return "Search: ";
    case PROMPT_LIMIT: return "Limit to: ";
    case PROMPT_SAVE: return "Save to folder: ";
    case PROMPT_PIPE: return "Pipe to command: ";
    case PROMPT_CHANGE: return "Open folder: ";
    case PROMPT_PART_SAVE: return "Save attachment to: ";
    case PROMPT_ACCOUNT: return "Open account: ";
    case PROMPT_PART_PIPE: return "Pipe attachment to command: ";
    default: return "";
    }
}

void ui_draw_message_line(struct ui *u)
{
    int y = LINES - 1;

    if (y == status_y())
        return;
    attrset(A_NORMAL);
    if (u->prompt) {
        struct mail_buf safe = MAIL_BUF_INIT;
        const char *pl = prompt_label(u->prompt), *t;
        char lab[160];
        size_t w, cols = (size_t)COLS, tl, n;

        mail_term_safe(&safe, u->line.data ? u->line.data : "", u->line.len,
                       MAIL_SAFE_ONELINE);
        if (u->prompt == PROMPT_ACCOUNT && u->o->accounts) {
            snprintf(lab, sizeof lab, "Open account (%s): ", u->o->accounts);
            pl = lab;
        }
        mvaddstr(y, 0, pl);
        w = mail_width(pl, strlen(pl));
        /* The end of a long line stays in sight. */
        t = safe.data ? safe.data : "";
        tl = safe.len;
        while (tl && w + mail_width(t, tl) + 1 > cols) {
            mail_char_width(t, tl, &n);
            t += n;
            tl -= n;
        }
        if (w < cols)
            ui_put_fit(y, (int)w, t, tl, cols - w);
        mail_buf_release(&safe);
        return;
    }
    if (u->msg[0])
        ui_put_fit(y, 0, u->msg, strlen(u->msg), (size_t)COLS);
}

void ui_start_prompt(struct ui *u, enum prompt_kind k, size_t idx)
{
    u->prompt = k;
    u->prompt_idx = idx;
    mail_buf_reset(&u->line);
}

/* Enter on the prompt: do what it asked. */
static void prompt_done(struct ui *u)
{
    enum prompt_kind k = u->prompt;
    char *text = strdup(u->line.data ? u->line.data : "");
    struct tui_req *r;

    u->prompt = PROMPT_NONE;
    u->msg[0] = '\0';
    if (!text)
        return;
    switch (k) {
    case PROMPT_SEARCH:
        if (!*text && u->search) {
            free(text);
            text = strdup(u->search);
            if (!text)
                return;
        }
        if (!*text)
            break;
        free(u->search);
        u->search = strdup(text);
        if (u->searching)
            ui_cancel(u, u->searching);
        if ((r = ui_new_req(u, TUI_REQ_SEARCH, 0))) {
            r->query = text;
            text = NULL;
            u->searching = ui_post_req(u, r);
            snprintf(u->msg, sizeof u->msg, "searching");
        }
        break;
    case PROMPT_LIMIT:
        free(u->limit);
        u->limit = *text ? text : NULL;
        if (!*text)
            free(text);
        text = NULL;
        ui_request_view(u);
        break;
    case PROMPT_SAVE:
        if (!*text)
            break;
        if ((r = ui_new_req(u, TUI_REQ_SAVE, u->prompt_idx))) {
            if (!(r->path = ui_folder_path(u, text))) {
                tui_req_free(r);
                break;
            }
            ui_post_req(u, r);
            snprintf(u->msg, sizeof u->msg, "saving");
        }
        break;
    case PROMPT_PIPE:
        if (!*text)
            break;
        if ((r = ui_new_req(u, TUI_REQ_MSGFD, u->prompt_idx))) {
            r->query = text;
            text = NULL;
            ui_post_req(u, r);
        }
        break;
    case PROMPT_CHANGE:
        if (*text)
            ui_change_folder(u, text, NULL);
        break;
    case PROMPT_PART_SAVE:
    case PROMPT_PART_PIPE:
        ui_part_prompt_done(u, k, text);
        break;
    case PROMPT_ACCOUNT:
        if (*text)
            ui_change_account(u, text);
        break;
    case PROMPT_NONE:
        break;
    }
    free(text);
}

/* Tab: the word under the cursor (the end of the line) is an address
 * when the prompt takes one: after from:, to: or cc: in a search or a
 * limit.  The book is asked on the worker (an address-command may take
 * seconds); ui_take_completion applies its answer. */
static void complete_address(struct ui *u)
{
    static const char *const fields[] = { "from:", "to:", "cc:" };
    const char *line = u->line.data ? u->line.data : "", *w;
    size_t len = u->line.len, start = len;
    struct tui_req *r;

    if (u->prompt != PROMPT_SEARCH && u->prompt != PROMPT_LIMIT)
        return;
    while (start > 0 && line[start - 1] != ' ' && line[start - 1] != '(')
        start--;
    w = line + start;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        size_t fl = strlen(fields[i]);

        if (strncasecmp(w, fields[i], fl) != 0)
            continue;
        if (u->completing)
            ui_cancel(u, u->completing);
        if (!(r = ui_new_req(u, TUI_REQ_COMPLETE, 0)) ||
            !(r->query = strdup(w + fl))) {
            free(r);
            return;
        }
        u->complete_at = start + fl;
        u->complete_len = len;
        u->completing = ui_post_req(u, r);
        return;
    }
    snprintf(u->msg, sizeof u->msg, "Tab completes addresses after from:, "
             "to: and cc:");
}

/* The book's answer: one address replaces the word; several: their
 * longest common beginning, and the first ones on the status line. */
void ui_take_completion(struct ui *u, struct tui_req *r)
{
    if ((u->prompt != PROMPT_SEARCH && u->prompt != PROMPT_LIMIT) ||
        u->line.len != u->complete_len)
        return;   /* the line changed meanwhile */
    tui_complete_apply(&u->line, u->complete_at, &r->lines, " ", u->msg,
                       sizeof u->msg);
}

void ui_prompt_key(struct ui *u, wint_t ch, bool fkey)
{
    if (!fkey && ch == '\t') {
        complete_address(u);
        return;
    }
    if ((fkey && ch == KEY_ENTER) || (!fkey && (ch == '\r' || ch == '\n'))) {
        prompt_done(u);
        return;
    }
    if (!fkey && (ch == 27 || ch == CTRL('g') || ch == CTRL('c'))) {
        u->prompt = PROMPT_NONE;
        return;
    }
    if ((fkey && ch == KEY_BACKSPACE) ||
        (!fkey && (ch == CTRL('h') || ch == 0x7f))) {
        size_t n = u->line.len;

        while (n > 0 && (((unsigned char)u->line.data[n - 1]) & 0xc0) == 0x80)
            n--;
        u->line.len = n ? n - 1 : 0;
        if (u->line.data)
            u->line.data[u->line.len] = '\0';
        return;
    }
    if (!fkey && ch == CTRL('u')) {
        mail_buf_reset(&u->line);
        return;
    }
    if (!fkey && ch == CTRL('w')) {
        size_t n = u->line.len;

        while (n > 0 && u->line.data[n - 1] == ' ')
            n--;
        while (n > 0 && u->line.data[n - 1] != ' ')
            n--;
        u->line.len = n;
        if (u->line.data)
            u->line.data[n] = '\0';
        return;
    }
    if (!fkey && ch >= 0x20 && ch != 0x7f && (ch < 0x80 || ch >= 0xa0)) {
        char e[4];
        size_t n = mail_utf8_encode((uint32_t)ch, e);

        if (n)
            mail_buf_add(&u->line, e, n);
    }
}
