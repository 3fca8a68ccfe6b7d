/*
 * ui.c - the reader's UI thread: the one loop over the terminal and the
 * worker's wake pipe, the index, the pager, the help screen and the status
 * line (see tui.h for the architecture).  The only file that calls curses.
 */
#define NCURSES_WIDECHAR 1
#include <curses.h>
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

#include "tui.h"
#include "mail/buf.h"
#include "mail/date.h"
#include "mail/indexrow.h"
#include "mail/termsafe.h"
#include "mail/width.h"

enum view { VIEW_INDEX, VIEW_PAGER, VIEW_HELP };

enum {
    PAIR_UNREAD = 1, PAIR_FLAGGED, PAIR_DELETED, PAIR_STATUS,
    PAIR_QUOTE1, PAIR_QUOTE2, PAIR_QUOTE3,
};

#define CTRL(c) ((c) & 0x1f)

/* One screen line of the pager: a piece of a rendered line. */
struct seg {
    size_t line, off, len;
};

struct ui {
    const struct tui_opts *o;
    struct tui_worker *w;
    int wake[2];
    uint64_t next_id;
    size_t pending;            /* requests posted, not answered yet */
    bool loaded, quit, color;
    struct tui_rows rows;
    size_t cur, top;           /* index: selected row, first row shown */
    size_t datew;
    enum view view, help_back;
    size_t help_top;
    /* The pager. */
    struct tui_lines page;
    size_t page_idx;           /* its message, into rows */
    struct tui_req *rendering; /* the render request not answered yet */
    struct seg *segs;
    size_t nsegs, seg_cols, page_top;
    char msg[256];             /* the last event, on the status line */
};

/* ---- requests ---- */

static struct tui_req *post(struct ui *u, enum tui_req_kind kind, size_t idx,
                            unsigned add, unsigned remove)
{
    struct tui_req *r = calloc(1, sizeof *r);

    if (!r) {
        snprintf(u->msg, sizeof u->msg, "out of memory");
        return NULL;
    }
    r->id = ++u->next_id;
    r->kind = kind;
    r->gen = u->rows.gen;
    r->idx = idx;
    r->add = add;
    r->remove = remove;
    u->pending++;
    tui_worker_post(u->w, r);
    return r;
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

/* ---- drawing ---- */

/* s (terminal-safe UTF-8) at (y, x) in at most cols columns, cut with
 * "…" when wider.  Returns the columns used. */
static size_t put_fit(int y, int x, const char *s, size_t len, size_t cols)
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

static int body_rows(void)
{
    return LINES > 1 ? LINES - 1 : 1;
}

static void draw_index_row(struct ui *u, int y, size_t i,
                           struct mail_short_dates *sd)
{
    const struct tui_row *r = &u->rows.v[i];
    struct mail_index_layout lay;
    struct mail_buf line = MAIL_BUF_INIT;
    char flags[5], date[16];
    attr_t a = A_NORMAL;
    short pair = 0;

    if (!(r->flags & MAIL_FLAG_SEEN)) {
        a |= A_BOLD;
        pair = PAIR_UNREAD;
    }
    if (r->flags & MAIL_FLAG_FLAGGED)
        pair = PAIR_FLAGGED;
    if (r->flags & MAIL_FLAG_DELETED) {
        pair = PAIR_DELETED;
        a |= A_DIM;
    }
    if (i == u->cur)
        a |= A_REVERSE;
    if (u->color && pair)
        a |= COLOR_PAIR(pair);
    attrset(a);
    if (i == u->cur)
        mvhline(y, 0, ' ', COLS);
    /* The row of mail ls, laid out by the library. */
    mail_index_layout_init(&lay, (size_t)COLS, u->rows.n, u->datew);
    mail_index_flags(r->flags, r->attach, flags);
    mail_index_row(&line, &lay, &(struct mail_index_fields){
        .number = i + 1, .flags = flags, .date = date,
        .datelen = mail_short_date(sd, r->when, date),
        .from = r->from, .subject = r->subject });
    if (line.data)
        mvaddnstr(y, 0, line.data, (int)line.len);
    mail_buf_release(&line);
    attrset(A_NORMAL);
}

static void scroll_to_cursor(struct ui *u)
{
    size_t h = (size_t)body_rows();

    if (u->cur < u->top)
        u->top = u->cur;
    if (u->cur >= u->top + h)
        u->top = u->cur - h + 1;
    if (u->rows.n <= h)
        u->top = 0;
}

static void draw_index(struct ui *u)
{
    struct mail_short_dates sd;
    int h = body_rows();

    mail_short_dates_init(&sd, time(NULL));
    scroll_to_cursor(u);
    for (int y = 0; y < h; y++) {
        size_t i = u->top + (size_t)y;

        if (i >= u->rows.n)
            break;
        draw_index_row(u, y, i, &sd);
    }
    if (u->loaded && u->rows.n == 0)
        mvaddstr(0, 0, "(no messages)");
}

/* Pager: cut every line into pieces of at most cols columns. */
static void wrap_page(struct ui *u)
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
static void expand_tabs(char **line)
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

static void draw_pager(struct ui *u)
{
    int h = body_rows();

    if (u->seg_cols != (size_t)COLS)
        wrap_page(u);
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
        if (d && u->color)
            attrset(COLOR_PAIR(PAIR_QUOTE1 + (d - 1) % 3));
        mvaddnstr(y, 0, line + u->segs[k].off, (int)u->segs[k].len);
        attrset(A_NORMAL);
    }
}

static const char *const help_text[] = {
    "Keys of the index",
    "  j, Down          next message",
    "  k, Up            previous message",
    "  PgDn, Space      next page",
    "  PgUp, b          previous page",
    "  g, Home          first message",
    "  G, End           last message",
    "  Enter, Right     open the message in the pager",
    "  d                mark for deletion (and go to the next)",
    "  u                undelete",
    "  F                flag or unflag",
    "  N                toggle new (unread)",
    "  $                sync: expunge the messages marked for deletion",
    "  Ctrl-L           redraw the screen",
    "  Ctrl-C           cancel the work in progress",
    "  ?                this help",
    "  q                quit",
    "",
    "Keys of the pager",
    "  j, Down, Enter   one line down",
    "  k, Up            one line up",
    "  Space, PgDn      one page down",
    "  b, PgUp          one page up",
    "  g, Home          top of the message",
    "  G, End           end of the message",
    "  n                next message",
    "  p                previous message",
    "  d, u, F, N       as in the index, on the message shown",
    "  q, i, Left       back to the index",
    "",
    "Keys of this help: q, ? or Escape go back; j and k scroll.",
};
#define NHELP (sizeof help_text / sizeof help_text[0])

static void draw_help(struct ui *u)
{
    int h = body_rows();

    if (u->help_top + (size_t)h > NHELP)
        u->help_top = NHELP > (size_t)h ? NHELP - (size_t)h : 0;
    for (int y = 0; y < h && u->help_top + (size_t)y < NHELP; y++) {
        const char *s = help_text[u->help_top + (size_t)y];

        put_fit(y, 0, s, strlen(s), (size_t)COLS);
    }
}

static void draw_status(struct ui *u)
{
    struct mail_buf b = MAIL_BUF_INIT;
    size_t unread = 0, flagged = 0, deleted = 0, lw;
    const char *hints, *label;

    for (size_t i = 0; i < u->rows.n; i++) {
        unsigned f = u->rows.v[i].flags;

        unread += !(f & MAIL_FLAG_SEEN);
        flagged += !!(f & MAIL_FLAG_FLAGGED);
        deleted += !!(f & MAIL_FLAG_DELETED);
    }
    if (u->view == VIEW_PAGER)
        mail_buf_printf(&b, "[%zu/%zu] ", u->page_idx + 1, u->rows.n);
    /* A long path gives way to the counts: its end is kept. */
    label = u->o->source.label;
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
    if (u->loaded)
        mail_buf_printf(&b, "  %zu msgs, %zu unread, %zu flagged, "
                        "%zu deleted", u->rows.n, unread, flagged, deleted);
    else
        mail_buf_addstr(&b, "  opening...");
    if (u->pending)
        mail_buf_printf(&b, "  [working: %zu]", u->pending);
    if (u->msg[0])
        mail_buf_printf(&b, "  %s", u->msg);
    hints = u->view == VIEW_INDEX ? "  q:quit Enter:open d:del $:sync ?:help"
          : u->view == VIEW_PAGER ? "  q:index n/p:next/prev ?:help"
                                  : "  q:back";
    mail_buf_addstr(&b, hints);
    attrset(A_REVERSE | (u->color ? COLOR_PAIR(PAIR_STATUS) : 0));
    mvhline(LINES - 1, 0, ' ', COLS);
    if (b.data)
        put_fit(LINES - 1, 0, b.data, b.len, (size_t)COLS);
    attrset(A_NORMAL);
    mail_buf_release(&b);
}

static void draw(struct ui *u)
{
    erase();
    switch (u->view) {
    case VIEW_INDEX:
        draw_index(u);
        break;
    case VIEW_PAGER:
        draw_pager(u);
        break;
    case VIEW_HELP:
        draw_help(u);
        break;
    }
    draw_status(u);
    wnoutrefresh(stdscr);
    doupdate();
}

/* ---- answers ---- */

static void show_error(struct ui *u, const struct tui_req *r)
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
    tui_rows_release(&u->rows);
    u->rows = r->rows;
    r->rows.v = NULL;
    r->rows.n = 0;
    u->loaded = true;
    measure_rows(u);
}

static void on_answer(struct ui *u, struct tui_req *r)
{
    bool same = r->gen == u->rows.gen;

    if (u->pending)
        u->pending--;
    if (r == u->rendering)
        u->rendering = NULL;
    if (r->status == TUI_CANCELLED) {
        /* Said only when the user asked (Ctrl-C); a render superseded by
         * n, p or q is no news. */
        if (strcmp(u->msg, "cancelling") == 0)
            snprintf(u->msg, sizeof u->msg, "cancelled");
        return;
    }
    if (r->status == TUI_STALE) {
        snprintf(u->msg, sizeof u->msg, "the folder changed; try again");
        return;
    }
    if (r->status == TUI_ERROR) {
        show_error(u, r);
        if (r->kind == TUI_REQ_OPEN)
            u->loaded = true;
        return;
    }
    switch (r->kind) {
    case TUI_REQ_OPEN:
        take_rows(u, r);
        /* Open at the first unread message, else the last one. */
        u->cur = u->rows.n ? u->rows.n - 1 : 0;
        for (size_t i = 0; i < u->rows.n; i++)
            if (!(u->rows.v[i].flags & MAIL_FLAG_SEEN)) {
                u->cur = i;
                break;
            }
        u->top = u->cur > (size_t)body_rows() / 2 ?
                 u->cur - (size_t)body_rows() / 2 : 0;
        break;
    case TUI_REQ_RELIST:
    case TUI_REQ_SYNC:
        take_rows(u, r);
        if (u->cur >= u->rows.n)
            u->cur = u->rows.n ? u->rows.n - 1 : 0;
        if (r->kind == TUI_REQ_SYNC)
            snprintf(u->msg, sizeof u->msg, "%zu expunged", r->expunged);
        if (u->view == VIEW_PAGER)
            u->view = VIEW_INDEX;
        break;
    case TUI_REQ_RENDER:
        if (same && r->idx < u->rows.n)
            u->rows.v[r->idx].flags = r->new_flags;
        if (u->view != VIEW_PAGER || r->idx != u->page_idx)
            break;
        tui_lines_release(&u->page);
        u->page = r->lines;
        r->lines.v = NULL;
        r->lines.n = 0;
        for (size_t i = 0; i < u->page.n; i++)
            expand_tabs(&u->page.v[i]);
        u->page_top = 0;
        wrap_page(u);
        break;
    case TUI_REQ_FLAGS:
        if (same && r->idx < u->rows.n)
            u->rows.v[r->idx].flags = r->new_flags;
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
    for (r = tui_worker_answers(u->w); r; r = next) {
        next = r->next;
        on_answer(u, r);
        tui_req_free(r);
    }
}

/* ---- keys ---- */

static void open_message(struct ui *u, size_t idx)
{
    if (idx >= u->rows.n)
        return;
    if (u->rendering)
        tui_req_cancel(u->rendering);
    tui_lines_release(&u->page);
    free(u->segs);
    u->segs = NULL;
    u->nsegs = 0;
    u->page_top = 0;
    u->page_idx = idx;
    u->cur = idx;
    u->view = VIEW_PAGER;
    u->msg[0] = '\0';
    u->rendering = post(u, TUI_REQ_RENDER, idx, 0, 0);
}

/* d, u, F, N on message idx. */
static bool flag_key(struct ui *u, wint_t ch, size_t idx)
{
    unsigned f;

    if (idx >= u->rows.n || !u->loaded)
        return false;
    f = u->rows.v[idx].flags;
    switch (ch) {
    case 'd':
        post(u, TUI_REQ_FLAGS, idx, MAIL_FLAG_DELETED, 0);
        /* Shown at once; the answer confirms it. */
        u->rows.v[idx].flags |= MAIL_FLAG_DELETED;
        return true;
    case 'u':
        post(u, TUI_REQ_FLAGS, idx, 0, MAIL_FLAG_DELETED);
        u->rows.v[idx].flags &= ~(unsigned)MAIL_FLAG_DELETED;
        return true;
    case 'F':
        post(u, TUI_REQ_FLAGS, idx, (f & MAIL_FLAG_FLAGGED) ? 0 :
             MAIL_FLAG_FLAGGED, (f & MAIL_FLAG_FLAGGED) ? MAIL_FLAG_FLAGGED
                                                        : 0);
        u->rows.v[idx].flags ^= MAIL_FLAG_FLAGGED;
        return true;
    case 'N':
        post(u, TUI_REQ_FLAGS, idx, (f & MAIL_FLAG_SEEN) ? 0 : MAIL_FLAG_SEEN,
             (f & MAIL_FLAG_SEEN) ? MAIL_FLAG_SEEN : 0);
        u->rows.v[idx].flags ^= MAIL_FLAG_SEEN;
        return true;
    default:
        return false;
    }
}

static void cancel_work(struct ui *u)
{
    if (u->rendering) {
        tui_req_cancel(u->rendering);
        snprintf(u->msg, sizeof u->msg, "cancelling");
    }
}

static void index_key(struct ui *u, wint_t ch, bool fkey)
{
    size_t h = (size_t)body_rows(), n = u->rows.n;

    if (fkey) {
        switch (ch) {
        case KEY_DOWN: ch = 'j'; break;
        case KEY_UP: ch = 'k'; break;
        case KEY_NPAGE: ch = ' '; break;
        case KEY_PPAGE: ch = 'b'; break;
        case KEY_HOME: ch = 'g'; break;
        case KEY_END: ch = 'G'; break;
        case KEY_ENTER: case KEY_RIGHT: ch = '\r'; break;
        default: return;
        }
    }
    switch (ch) {
    case 'q':
        u->quit = true;
        break;
    case 'j':
        if (u->cur + 1 < n)
            u->cur++;
        break;
    case 'k':
        if (u->cur > 0)
            u->cur--;
        break;
    case ' ':
        u->cur = u->cur + h < n ? u->cur + h : (n ? n - 1 : 0);
        u->top = u->top + h < n ? u->top + h : u->top;
        break;
    case 'b':
        u->cur = u->cur > h ? u->cur - h : 0;
        u->top = u->top > h ? u->top - h : 0;
        break;
    case 'g':
        u->cur = 0;
        break;
    case 'G':
        u->cur = n ? n - 1 : 0;
        break;
    case '\r': case '\n':
        open_message(u, u->cur);
        break;
    case 'd':
        if (flag_key(u, ch, u->cur) && u->cur + 1 < n)
            u->cur++;
        break;
    case 'u': case 'F': case 'N':
        flag_key(u, ch, u->cur);
        break;
    case '$':
        if (u->loaded) {
            post(u, TUI_REQ_SYNC, 0, 0, 0);
            snprintf(u->msg, sizeof u->msg, "syncing");
        }
        break;
    default:
        break;
    }
}

static void pager_key(struct ui *u, wint_t ch, bool fkey)
{
    size_t h = (size_t)body_rows();
    size_t last = u->nsegs > h ? u->nsegs - h : 0;

    if (fkey) {
        switch (ch) {
        case KEY_DOWN: case KEY_ENTER: ch = 'j'; break;
        case KEY_UP: ch = 'k'; break;
        case KEY_NPAGE: ch = ' '; break;
        case KEY_PPAGE: ch = 'b'; break;
        case KEY_HOME: ch = 'g'; break;
        case KEY_END: ch = 'G'; break;
        case KEY_LEFT: ch = 'q'; break;
        default: return;
        }
    }
    switch (ch) {
    case 'q': case 'i':
        if (u->rendering)
            tui_req_cancel(u->rendering);
        u->view = VIEW_INDEX;
        break;
    case 'j': case '\r': case '\n':
        if (u->page_top < last)
            u->page_top++;
        break;
    case 'k':
        if (u->page_top > 0)
            u->page_top--;
        break;
    case ' ':
        u->page_top = u->page_top + h < last ? u->page_top + h : last;
        break;
    case 'b':
        u->page_top = u->page_top > h ? u->page_top - h : 0;
        break;
    case 'g':
        u->page_top = 0;
        break;
    case 'G':
        u->page_top = last;
        break;
    case 'n':
        if (u->page_idx + 1 < u->rows.n)
            open_message(u, u->page_idx + 1);
        else
            snprintf(u->msg, sizeof u->msg, "no next message");
        break;
    case 'p':
        if (u->page_idx > 0)
            open_message(u, u->page_idx - 1);
        else
            snprintf(u->msg, sizeof u->msg, "no previous message");
        break;
    default:
        flag_key(u, ch, u->page_idx);
        break;
    }
}

static void key(struct ui *u, wint_t ch, bool fkey)
{
    if (fkey && ch == KEY_RESIZE) {
        /* ncurses has resized its screens already: lay out again. */
        if (u->view == VIEW_PAGER)
            wrap_page(u);
        clearok(curscr, TRUE);
        return;
    }
    if (!fkey && ch == CTRL('l')) {
        clearok(curscr, TRUE);
        return;
    }
    if (!fkey && ch == CTRL('c')) {
        cancel_work(u);
        return;
    }
    if (!fkey && ch == '?' && u->view != VIEW_HELP) {
        u->help_back = u->view;
        u->help_top = 0;
        u->view = VIEW_HELP;
        return;
    }
    switch (u->view) {
    case VIEW_INDEX:
        index_key(u, ch, fkey);
        break;
    case VIEW_PAGER:
        pager_key(u, ch, fkey);
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
    if (!u->color || !has_colors()) {
        u->color = false;
        return;
    }
    start_color();
    use_default_colors();
    init_pair(PAIR_UNREAD, COLOR_CYAN, -1);
    init_pair(PAIR_FLAGGED, COLOR_RED, -1);
    init_pair(PAIR_DELETED, COLOR_YELLOW, -1);
    init_pair(PAIR_STATUS, COLOR_WHITE, COLOR_BLUE);
    init_pair(PAIR_QUOTE1, COLOR_GREEN, -1);
    init_pair(PAIR_QUOTE2, COLOR_CYAN, -1);
    init_pair(PAIR_QUOTE3, COLOR_MAGENTA, -1);
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
    SCREEN *scr;

    memset(&u, 0, sizeof u);
    u.o = opts;
    u.color = opts->color;
    u.rows.gen = 0;
    if (pipe2(u.wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "pipe: %s", strerror(errno));
        return -1;
    }
    utf8_locale();
    if (!(scr = newterm(NULL, stdout, stdin))) {
        mail_error_set(err, MAIL_ERR_USAGE, "cannot use the terminal "
                       "(TERM=%s)", getenv("TERM") ? getenv("TERM") : "");
        close(u.wake[0]);
        close(u.wake[1]);
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
    u.w = tui_worker_start(&opts->source, &opts->render, u.wake[1], err);
    if (u.w) {
        post(&u, TUI_REQ_OPEN, 0, 0, 0);
        loop(&u);
        tui_worker_stop(u.w);
    }
    endwin();
    delscreen(scr);
    tui_rows_release(&u.rows);
    tui_lines_release(&u.page);
    free(u.segs);
    close(u.wake[0]);
    close(u.wake[1]);
    return u.w ? 0 : -1;
}
