/*
 * ui.c - the reader's UI thread: the one loop over the terminal and the
 * worker's wake pipe, requests and answers, the status line, the help
 * screen and the keys the index and the pager share (see tui.h for the
 * architecture, ui_internal.h for the other files of this thread: the
 * index, the pager, the prompt and the folder list).
 *
 * Keys go through the binding table (keys.c: defaults and the [tui]
 * section); the help screen is drawn from that live table.  The view of
 * the index (limit, sort, threads) is a list of positions into the rows
 * the worker sent, computed on the worker (TUI_REQ_VIEW), so that a
 * body: query or a large folder never holds the keys.
 */
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ui_internal.h"
#include "mail/addrbook.h"
#include "mail/date.h"
#include "mail/indexrow.h"
#include "mail/sort.h"
#include "mail/spawn.h"
#include "mail/termsafe.h"
#include "mail/width.h"

/* ---- requests ---- */

struct tui_req *ui_post_req(struct ui *u, struct tui_req *r)
{
    r->id = ++u->next_id;
    r->gen = u->rows.gen;
    u->pending++;
    tui_worker_post(u->w, r);
    return r;
}

struct tui_req *ui_new_req(struct ui *u, enum tui_req_kind kind,
                           size_t idx)
{
    struct tui_req *r = calloc(1, sizeof *r);

    if (!r) {
        snprintf(u->msg, sizeof u->msg, "out of memory");
        return NULL;
    }
    r->kind = kind;
    r->idx = idx;
    r->fd = -1;
    return r;
}

struct tui_req *ui_post(struct ui *u, enum tui_req_kind kind, size_t idx,
                        unsigned add, unsigned remove)
{
    struct tui_req *r = ui_new_req(u, kind, idx);

    if (!r)
        return NULL;
    r->add = add;
    r->remove = remove;
    return ui_post_req(u, r);
}

static void measure_rows(struct ui *u)
{
    struct mail_short_dates sd;

    mail_short_dates_init(&sd, time(NULL));
    u->datew = 5;
    for (size_t i = 0; i < u->rows.n && u->datew < 10; i++) {
        size_t w = mail_short_date_width(&sd, u->rows.v[i].when);

        if (w > u->datew)
            u->datew = w;
    }
}

/* Cancel r; when the worker is busy with it, its network wait is cut. */
void ui_cancel(struct ui *u, struct tui_req *r)
{
    tui_req_cancel(r);
    tui_worker_interrupt(u->w);
}

void ui_free_marks(struct ui *u)
{
    if (u->marks)
        for (size_t i = 0; i < u->nvis; i++)
            free(u->marks[i]);
    free(u->marks);
    u->marks = NULL;
}

/* The whole folder in delivery order (until the worker sends the view). */
static void identity_view(struct ui *u)
{
    ui_free_marks(u);
    free(u->vis);
    u->vis = malloc((u->rows.n ? u->rows.n : 1) * sizeof *u->vis);
    u->nvis = 0;
    if (!u->vis)
        return;
    for (size_t i = 0; i < u->rows.n; i++)
        u->vis[i] = i;
    u->nvis = u->rows.n;
}

static bool default_view(const struct ui *u)
{
    return !u->limit && !u->thread && u->sort == MAIL_SORT_NONE &&
           !u->reverse;
}

/* Ask the worker for the view (limit, order); the index shows the last
 * one until it comes. */
void ui_request_view(struct ui *u)
{
    struct tui_req *r;

    if (u->viewing)
        ui_cancel(u, u->viewing);
    u->viewing = NULL;
    if (default_view(u)) {
        size_t row = cur_row(u);

        identity_view(u);
        u->cur = row < u->nvis ? row : 0;
        return;
    }
    if (!(r = ui_new_req(u, TUI_REQ_VIEW, 0)))
        return;
    if (u->limit && !(r->query = strdup(u->limit))) {
        free(r);
        return;
    }
    r->sort = u->sort;
    r->reverse = u->reverse;
    r->thread = u->thread;
    u->viewing = ui_post_req(u, r);
}

/* ---- drawing ---- */

/* s (terminal-safe UTF-8) at (y, x) in at most cols columns, cut with
 * "…" when wider.  Returns the columns used. */
size_t ui_put_fit(int y, int x, const char *s, size_t len, size_t cols)
{
    size_t used, n;

    if (cols == 0)
        return 0;
    if (mail_width(s, len) <= cols) {
        mvaddnstr(y, x, s, (int)len);
        return mail_width(s, len);
    }
    n = mail_width_fit(s, len, cols - 1, &used);
    mvaddnstr(y, x, s, (int)n);
    mvaddstr(y, x + (int)used, "\xe2\x80\xa6");
    return used + 1;
}

/* The attributes of a color object (colors only when enabled). */
attr_t ui_color_attr(const struct ui *u, enum tui_color_obj o)
{
    const struct tui_color *c = &tui_keys_colors(u->keys)[o];
    attr_t a = A_NORMAL;

    if (c->attrs & TUI_ATTR_BOLD)
        a |= A_BOLD;
    if (c->attrs & TUI_ATTR_UNDERLINE)
        a |= A_UNDERLINE;
    if (c->attrs & TUI_ATTR_REVERSE)
        a |= A_REVERSE;
    if (c->attrs & TUI_ATTR_DIM)
        a |= A_DIM;
    if (u->color && (c->fg >= 0 || c->bg >= 0))
        a |= COLOR_PAIR((short)(o + 1));
    return a;
}

/* The help: every key of the live table, index then pager. */
static size_t help_line(const struct ui *u, size_t want, struct mail_buf *b)
{
    static const char *const title[TUI_NCTX] = {
        "Keys of the index", "Keys of the pager",
    };
    size_t n = 0;

    for (int c = 0; c < TUI_NCTX; c++) {
        size_t pos = 0;
        char keys[160];
        const char *name, *desc;

        if (c) {
            if (n++ == want)
                mail_buf_addstr(b, "");
        }
        if (n++ == want)
            mail_buf_addstr(b, title[c]);
        while (tui_keys_help(u->keys, (enum tui_ctx)c, &pos, keys,
                             sizeof keys, &name, &desc))
            if (n++ == want)
                mail_buf_printf(b, "  %-18s %-18s %s", keys, name, desc);
    }
    if (n++ == want)
        mail_buf_addstr(b, "");
    if (n++ == want)
        mail_buf_addstr(b, "Keys of this help: q, ? or Escape go back; j "
                        "and k scroll.  Change keys with 'bind' in the "
                        "[tui] section (mail-tui(1)).");
    return n;
}

static void draw_help(struct ui *u)
{
    int h = body_rows();
    size_t total = help_line(u, (size_t)-1, NULL);

    if (u->help_top + (size_t)h > total)
        u->help_top = total > (size_t)h ? total - (size_t)h : 0;
    for (int y = 0; y < h && u->help_top + (size_t)y < total; y++) {
        struct mail_buf b = MAIL_BUF_INIT;

        help_line(u, u->help_top + (size_t)y, &b);
        if (b.data)
            ui_put_fit(y, 0, b.data, b.len, (size_t)COLS);
        mail_buf_release(&b);
    }
}

static void draw_status(struct ui *u)
{
    struct mail_buf b = MAIL_BUF_INIT;
    size_t unread = 0, flagged = 0, deleted = 0, lw;
    const char *hints, *label;
    struct mail_buf safe_label = MAIL_BUF_INIT;

    for (size_t i = 0; i < u->rows.n; i++) {
        unsigned f = u->rows.v[i].flags;

        unread += !(f & MAIL_FLAG_SEEN);
        flagged += !!(f & MAIL_FLAG_FLAGGED);
        deleted += !!(f & MAIL_FLAG_DELETED);
    }
    if (u->view == VIEW_PAGER)
        mail_buf_printf(&b, "[%zu/%zu] ", u->page_idx + 1, u->rows.n);
    /* The label may be a folder name from the server's LIST or typed at
     * the c prompt: shown like any untrusted name.  A long one gives way
     * to the counts: its end is kept. */
    mail_term_safe(&safe_label, u->label, strlen(u->label),
                   MAIL_SAFE_ONELINE);
    label = safe_label.data ? safe_label.data : "";
    lw = mail_width(label, strlen(label));
    if (COLS > 12 && lw > (size_t)COLS / 3) {
        size_t keep = (size_t)COLS / 3 - 1;

        while (*label && mail_width(label, strlen(label)) > keep) {
            size_t n;

            mail_char_width(label, strlen(label), &n);
            label += n;
        }
        mail_buf_addstr(&b, "\xe2\x80\xa6");
    }
    mail_buf_addstr(&b, label);
    if (u->limit) {
        struct mail_buf safe = MAIL_BUF_INIT;

        mail_term_safe(&safe, u->limit, strlen(u->limit), MAIL_SAFE_ONELINE);
        mail_buf_printf(&b, "  (%zu shown, limit: %s)", u->nvis,
                        safe.data ? safe.data : "");
        mail_buf_release(&safe);
    }
    if (u->thread)
        mail_buf_addstr(&b, "  [threads]");
    else if (u->sort != MAIL_SORT_NONE || u->reverse) {
        static const char *const names[] = {
            "delivery", "date", "from", "subject", "size",
        };

        mail_buf_printf(&b, "  [sort: %s%s]", names[u->sort],
                        u->reverse ? ", reversed" : "");
    }
    if (u->loaded)
        mail_buf_printf(&b, "  %zu msgs, %zu unread, %zu flagged, "
                        "%zu deleted", u->rows.n, unread, flagged, deleted);
    else
        mail_buf_addstr(&b, "  opening...");
    if (u->pending)
        mail_buf_printf(&b, "  [working: %zu%s%s]", u->pending,
                        u->event[0] ? ", " : "", u->event);
    if (u->msg[0] && status_y() == LINES - 1)
        mail_buf_printf(&b, "  %s", u->msg);
    /* The message line holds the prompt: its events (Tab's candidates)
     * take the status line meanwhile. */
    if (u->msg[0] && u->prompt) {
        mail_buf_reset(&b);
        mail_buf_addstr(&b, u->msg);
    }
    hints = u->view == VIEW_INDEX ? "  q:quit Enter:open d:del $:sync ?:help"
          : u->view == VIEW_PAGER && u->page_part ? "  q:attachments ?:help"
          : u->view == VIEW_PAGER ? "  q:index n/p:next/prev ?:help"
          : u->view == VIEW_FOLDERS ? "  Enter:open q:back"
          : u->view == VIEW_PARTS ? "  Enter:open s:save |:pipe q:back"
                                    : "  q:back";
    mail_buf_addstr(&b, hints);
    attrset(ui_color_attr(u, TUI_COLOR_STATUS));
    mvhline(status_y(), 0, ' ', COLS);
    if (b.data)
        ui_put_fit(status_y(), 0, b.data, b.len, (size_t)COLS);
    attrset(A_NORMAL);
    mail_buf_release(&b);
    mail_buf_release(&safe_label);
}

static void draw(struct ui *u)
{
    erase();
    switch (u->view) {
    case VIEW_INDEX:
        ui_draw_index(u);
        break;
    case VIEW_PAGER:
        ui_draw_pager(u);
        break;
    case VIEW_HELP:
        draw_help(u);
        break;
    case VIEW_FOLDERS:
        ui_draw_folders(u);
        break;
    case VIEW_PARTS:
        ui_draw_parts(u);
        break;
    }
    draw_status(u);
    ui_draw_message_line(u);
    wnoutrefresh(stdscr);
    doupdate();
}

/* ---- answers ---- */

void ui_show_error(struct ui *u, const struct tui_req *r)
{
    /* err.msg may quote a file name: it goes through put_fit, whose input
     * must be terminal-safe. */
    struct mail_buf b = MAIL_BUF_INIT;

    mail_term_safe(&b, r->err.msg, strlen(r->err.msg), MAIL_SAFE_ONELINE);
    snprintf(u->msg, sizeof u->msg, "error: %s", b.data ? b.data : "");
    mail_buf_release(&b);
}

static void take_rows(struct ui *u, struct tui_req *r)
{
    size_t row = cur_row(u);

    tui_rows_release(&u->rows);
    u->rows = r->rows;
    r->rows.v = NULL;
    r->rows.n = 0;
    u->loaded = true;
    measure_rows(u);
    free(u->match);
    u->match = NULL;
    u->nmatch = 0;
    identity_view(u);
    u->cur = row < u->nvis ? row : (u->nvis ? u->nvis - 1 : 0);
    ui_request_view(u);
}

static void pipe_message(struct ui *u, struct tui_req *r);

static void on_answer(struct ui *u, struct tui_req *r)
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
            pipe_message(u, r);
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

static void drain_answers(struct ui *u)
{
    char buf[64];
    struct tui_req *r, *next;

    while (read(u->wake[0], buf, sizeof buf) > 0)
        ;
    if (tui_worker_event(u->w, u->event, sizeof u->event) && !u->pending)
        u->event[0] = '\0';
    for (r = tui_worker_answers(u->w); r; r = next) {
        next = r->next;
        on_answer(u, r);
        tui_req_free(r);
    }
}

/* ---- the terminal given to a command (|, reply, forward) ---- */

void ui_shell_begin(void)
{
    def_prog_mode();
    endwin();
}

void ui_shell_end(bool wait_key)
{
    if (wait_key) {
        char c;

        fputs("\nPress Enter to go back to mail. ", stdout);
        fflush(stdout);
        while (read(STDIN_FILENO, &c, 1) == 1 && c != '\n' && c != '\r')
            ;
    }
    reset_prog_mode();
    clearok(curscr, TRUE);
}

/* The message's descriptor came: run the command with it as stdin. */
static void pipe_message(struct ui *u, struct tui_req *r)
{
    struct mail_spawn sp = MAIL_SPAWN_INIT;
    struct mail_spawn_result res;
    struct mail_error err;
    const char *cmd = r->query;

    if (r->fd < 0 || !cmd)
        return;
    mail_error_clear(&err);
    sp.command = cmd;
    sp.in_fd = r->fd;
    sp.default_signals = true;
    ui_shell_begin();
    if (mail_spawn_run(&sp, &res, &err) < 0) {
        ui_shell_end(false);
        ui_show_error(u, &(struct tui_req){ .err = err });
        return;
    }
    ui_shell_end(true);
    if (res.how == MAIL_SPAWN_EXITED)
        snprintf(u->msg, sizeof u->msg, "the command exited %d", res.code);
    else
        snprintf(u->msg, sizeof u->msg, "the command did not finish "
                 "(signal %d)", res.code);
}

/* ---- keys ---- */

static void cancel_work(struct ui *u)
{
    struct tui_req *const rs[] = {
        u->rendering, u->viewing, u->searching, u->listing, u->opening,
        u->partsreq,
    };
    bool any = false;

    for (size_t i = 0; i < sizeof rs / sizeof rs[0]; i++)
        if (rs[i]) {
            ui_cancel(u, rs[i]);
            any = true;
        }
    if (any)
        snprintf(u->msg, sizeof u->msg, "cancelling");
}

/* Actions that work the same in the index and the pager, on message idx.
 * Returns false when a is not one of them. */
bool ui_common_action(struct ui *u, enum tui_action a, size_t idx)
{
    switch (a) {
    case TUI_A_SAVE:
        if (idx < u->rows.n)
            ui_start_prompt(u, PROMPT_SAVE, idx);
        return true;
    case TUI_A_PIPE:
        if (idx < u->rows.n)
            ui_start_prompt(u, PROMPT_PIPE, idx);
        return true;
    case TUI_A_REPLY:
        ui_compose(u, TUI_REPLY, idx);
        return true;
    case TUI_A_GROUP_REPLY:
        ui_compose(u, TUI_REPLY_ALL, idx);
        return true;
    case TUI_A_LIST_REPLY:
        ui_compose(u, TUI_REPLY_LIST, idx);
        return true;
    case TUI_A_FORWARD:
        ui_compose(u, TUI_FORWARD, idx);
        return true;
    case TUI_A_COMPOSE:
        ui_compose(u, TUI_COMPOSE, idx);
        return true;
    case TUI_A_RECALL:
        ui_compose(u, TUI_RESUME, idx);
        return true;
    case TUI_A_ACCOUNT:
        if (!u->o->account)
            snprintf(u->msg, sizeof u->msg, "no other account in the "
                     "config");
        else
            ui_start_prompt(u, PROMPT_ACCOUNT, 0);
        return true;
    case TUI_A_ATTACHMENTS:
        ui_open_parts(u, idx);
        return true;
    case TUI_A_REDRAW:
        clearok(curscr, TRUE);
        return true;
    case TUI_A_HELP:
        u->help_back = u->view;
        u->help_top = 0;
        u->view = VIEW_HELP;
        return true;
    case TUI_A_DELETE: case TUI_A_UNDELETE: case TUI_A_FLAG:
    case TUI_A_TOGGLE_NEW:
        ui_flag_action(u, a, idx);
        return true;
    default:
        return false;
    }
}

static void key(struct ui *u, wint_t ch, bool fkey)
{
    int code = fkey ? (int)(TUI_FKEY | ch) : (int)ch;

    if (fkey && ch == KEY_RESIZE) {
        /* ncurses has resized its screens already: lay out again. */
        if (u->view == VIEW_PAGER)
            ui_wrap_page(u);
        clearok(curscr, TRUE);
        return;
    }
    if (u->prompt) {
        ui_prompt_key(u, ch, fkey);
        return;
    }
    /* An event stays on the message line until the next key. */
    u->msg[0] = '\0';
    if (!fkey && ch == CTRL('c')) {
        cancel_work(u);
        return;
    }
    switch (u->view) {
    case VIEW_INDEX:
        ui_index_action(u, tui_keys_action(u->keys, TUI_CTX_INDEX, code));
        break;
    case VIEW_PAGER:
        ui_pager_action(u, tui_keys_action(u->keys, TUI_CTX_PAGER, code));
        break;
    case VIEW_FOLDERS:
        ui_folders_key(u, ch, fkey);
        break;
    case VIEW_PARTS:
        ui_parts_key(u, ch, fkey);
        break;
    case VIEW_HELP:
        if ((!fkey && (ch == 'j' || ch == ' ')) ||
            (fkey && (ch == KEY_DOWN || ch == KEY_NPAGE)))
            u->help_top++;
        else if ((!fkey && ch == 'k') || (fkey && ch == KEY_UP))
            u->help_top = u->help_top ? u->help_top - 1 : 0;
        else if (!fkey && (ch == 'q' || ch == '?' || ch == 27))
            u->view = u->help_back;
        break;
    }
}

/* ---- the loop ---- */

static void setup_colors(struct ui *u)
{
    const struct tui_color *c;

    if (!u->color || !has_colors()) {
        u->color = false;
        return;
    }
    start_color();
    use_default_colors();
    c = tui_keys_colors(u->keys);
    for (int o = 0; o < TUI_NCOLORS; o++)
        init_pair((short)(o + 1), (short)(c[o].fg < COLORS ? c[o].fg : -1),
                  (short)(c[o].bg < COLORS ? c[o].bg : -1));
}

static void loop(struct ui *u)
{
    sigset_t winch, open_mask;

    /* SIGWINCH is delivered only inside ppoll: it interrupts the wait,
     * and ncurses' handler makes the next wget_wch return KEY_RESIZE. */
    sigemptyset(&winch);
    sigaddset(&winch, SIGWINCH);
    pthread_sigmask(SIG_BLOCK, &winch, &open_mask);
    sigdelset(&open_mask, SIGWINCH);
    wtimeout(stdscr, 0);
    while (!u->quit) {
        struct pollfd p[2] = {
            { .fd = STDIN_FILENO, .events = POLLIN },
            { .fd = u->wake[0], .events = POLLIN },
        };
        wint_t ch;
        int rc;

        draw(u);
        rc = ppoll(p, 2, NULL, &open_mask);
        if (rc < 0 && errno != EINTR)
            break;
        if (rc > 0 && (p[0].revents & (POLLHUP | POLLERR)) &&
            !(p[0].revents & POLLIN))
            break;   /* the terminal went away */
        while (!u->quit && (rc = wget_wch(stdscr, &ch)) != ERR)
            key(u, ch, rc == KEY_CODE_YES);
        drain_answers(u);
    }
    pthread_sigmask(SIG_UNBLOCK, &winch, NULL);
}

/* ncurses writes what the locale's codeset says; our strings are UTF-8. */
static void utf8_locale(void)
{
    const char *cs = nl_langinfo(CODESET);

    if (cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0))
        return;
    if (!setlocale(LC_CTYPE, "C.UTF-8"))
        setlocale(LC_CTYPE, "en_US.UTF-8");
}

int tui_run(const struct tui_opts *opts, struct mail_error *err)
{
    struct ui u;
    struct tui_keys *own_keys = NULL;
    SCREEN *scr;

    memset(&u, 0, sizeof u);
    u.o = opts;
    u.color = opts->color;
    u.store = opts->store;
    u.rows.gen = 0;
    u.keys = opts->keys;
    if (!u.keys && !(u.keys = own_keys = tui_keys_new()))
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    if (!(u.label = strdup(opts->source.label))) {
        tui_keys_free(own_keys);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    if (pipe2(u.wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "pipe: %s", strerror(errno));
        free(u.label);
        tui_keys_free(own_keys);
        return -1;
    }
    utf8_locale();
    if (!(scr = newterm(NULL, stdout, stdin))) {
        mail_error_set(err, MAIL_ERR_USAGE, "cannot use the terminal "
                       "(TERM=%s)", getenv("TERM") ? getenv("TERM") : "");
        close(u.wake[0]);
        close(u.wake[1]);
        free(u.label);
        tui_keys_free(own_keys);
        return -1;
    }
    set_term(scr);
    raw();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    setup_colors(&u);
    u.w = tui_worker_start(opts, u.wake[1], err);
    if (u.w) {
        u.opening = ui_post(&u, TUI_REQ_OPEN, 0, 0, 0);
        loop(&u);
        tui_worker_stop(u.w);
    }
    endwin();
    delscreen(scr);
    tui_rows_release(&u.rows);
    tui_lines_release(&u.page);
    free(u.segs);
    ui_free_marks(&u);
    free(u.vis);
    free(u.match);
    free(u.limit);
    free(u.search);
    free(u.label);
    free(u.folder_path);
    for (size_t i = 0; i < u.nfolders; i++) {
        free(u.folders[i].name);
        free(u.folders[i].path);
    }
    free(u.folders);
    ui_parts_release(&u);
    mail_buf_release(&u.line);
    if (u.book)
        mail_addrbook_free(u.book);
    tui_keys_free(own_keys);
    close(u.wake[0]);
    close(u.wake[1]);
    return u.w ? 0 : -1;
}
