/*
 * ui.c - the reader's UI thread: the one loop over the terminal and the
 * worker's wake pipe, requests (their answers are taken in answer.c),
 * the status line and the keys the index and the pager share (see tui.h
 * for the architecture, ui_internal.h for the other files of this
 * thread: the index, the pager, the prompt, the folder list, the help).
 *
 * Keys go through the binding table (keys.c: defaults and the [tui]
 * section); the help screen (help.c) is drawn from that live table.  The view of
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

void ui_measure_rows(struct ui *u)
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
void ui_identity_view(struct ui *u)
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

        ui_identity_view(u);
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
        ui_draw_help(u);
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
        ui_on_answer(u, r);
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
void ui_pipe_message(struct ui *u, struct tui_req *r)
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
        ui_help_key(u, ch, fkey);
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
