/*
 * ui.c - the reader's UI thread: the one loop over the terminal and the
 * worker's wake pipe, the index, the pager, the help screen, the folder
 * list, the prompt and the status line (see tui.h for the architecture).
 * The only file that calls curses.
 *
 * Keys go through the binding table (keys.c: defaults and the [tui]
 * section); the help screen is drawn from that live table.  The view of
 * the index (limit, sort, threads) is a list of positions into the rows
 * the worker sent, computed on the worker (TUI_REQ_VIEW), so that a
 * body: query or a large folder never holds the keys.
 *
 * The prompt (search, limit, save, pipe, change folder) is a line editor
 * of this loop, not readline: readline's own terminal handling fights
 * curses for the screen, and rl_callback would still need its output
 * redirected into a curses window.  Editing is a mode of the loop: the
 * worker's answers keep arriving and the screen keeps updating while a
 * line is typed.  Keys: characters insert at the end, Backspace and ^H
 * delete one character, ^U the line, ^W a word; Enter accepts; Escape,
 * ^G and ^C cancel.
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
#include "keys.h"
#include "mail/buf.h"
#include "mail/date.h"
#include "mail/indexrow.h"
#include "mail/sort.h"
#include "mail/spawn.h"
#include "mail/termsafe.h"
#include "mail/width.h"

enum view { VIEW_INDEX, VIEW_PAGER, VIEW_HELP, VIEW_FOLDERS };

#define CTRL(c) ((c) & 0x1f)

/* One screen line of the pager: a piece of a rendered line. */
struct seg {
    size_t line, off, len;
};

enum prompt_kind {
    PROMPT_NONE, PROMPT_SEARCH, PROMPT_LIMIT, PROMPT_SAVE, PROMPT_PIPE,
    PROMPT_CHANGE,
};

struct ui {
    const struct tui_opts *o;
    const struct tui_keys *keys;
    struct tui_worker *w;
    int wake[2];
    uint64_t next_id;
    size_t pending;            /* requests posted, not answered yet */
    bool loaded, quit, color;
    char *label;               /* the folder on the status line */
    char *folder_path;         /* NULL: the source's */
    struct tui_rows rows;
    /* The view of the index: positions into rows, in the order shown. */
    size_t *vis;
    size_t nvis;
    char **marks;              /* thread marks per view entry, or NULL */
    char *limit;               /* the limit query, or NULL */
    int sort;                  /* enum mail_sort_key */
    bool reverse, thread;
    struct tui_req *viewing;   /* the view request not answered yet */
    /* The search. */
    char *search;
    bool *match;               /* per row, for the search's generation */
    size_t nmatch;
    unsigned match_gen;
    struct tui_req *searching;
    size_t cur, top;           /* index: selected view entry, first shown */
    size_t datew;
    enum view view, help_back;
    size_t help_top;
    /* The pager. */
    struct tui_lines page;
    size_t page_idx;           /* its message, into rows */
    struct tui_req *rendering; /* the render request not answered yet */
    struct seg *segs;
    size_t nsegs, seg_cols, page_top;
    /* The folder list. */
    struct tui_folder *folders;
    size_t nfolders, fcur, ftop;
    struct tui_req *listing;
    /* The prompt. */
    enum prompt_kind prompt;
    struct mail_buf line;
    size_t prompt_idx;         /* the message a save or pipe is for */
    char msg[256];             /* the last event, on the status line */
};

/* The screen: the body, the status bar, and below it the message line
 * (events, errors, the prompt), as mutt lays it out. */
static int body_rows(void)
{
    return LINES > 2 ? LINES - 2 : 1;
}

static int status_y(void)
{
    return LINES > 2 ? LINES - 2 : LINES - 1;
}

/* The row under the cursor (a position into rows), or rows.n. */
static size_t cur_row(const struct ui *u)
{
    return u->cur < u->nvis ? u->vis[u->cur] : u->rows.n;
}

/* ---- requests ---- */

static struct tui_req *post_req(struct ui *u, struct tui_req *r)
{
    r->id = ++u->next_id;
    r->gen = u->rows.gen;
    u->pending++;
    tui_worker_post(u->w, r);
    return r;
}

static struct tui_req *new_req(struct ui *u, enum tui_req_kind kind,
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

static struct tui_req *post(struct ui *u, enum tui_req_kind kind, size_t idx,
                            unsigned add, unsigned remove)
{
    struct tui_req *r = new_req(u, kind, idx);

    if (!r)
        return NULL;
    r->add = add;
    r->remove = remove;
    return post_req(u, r);
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

static void free_marks(struct ui *u)
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
    free_marks(u);
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
static void request_view(struct ui *u)
{
    struct tui_req *r;

    if (u->viewing)
        tui_req_cancel(u->viewing);
    u->viewing = NULL;
    if (default_view(u)) {
        size_t row = cur_row(u);

        identity_view(u);
        u->cur = row < u->nvis ? row : 0;
        return;
    }
    if (!(r = new_req(u, TUI_REQ_VIEW, 0)))
        return;
    if (u->limit && !(r->query = strdup(u->limit))) {
        free(r);
        return;
    }
    r->sort = u->sort;
    r->reverse = u->reverse;
    r->thread = u->thread;
    u->viewing = post_req(u, r);
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

/* The attributes of a color object (colors only when enabled). */
static attr_t color_attr(const struct ui *u, enum tui_color_obj o)
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

static void draw_index_row(struct ui *u, int y, size_t v,
                           struct mail_short_dates *sd)
{
    size_t i = u->vis[v];
    const struct tui_row *r = &u->rows.v[i];
    struct mail_index_layout lay;
    struct mail_buf line = MAIL_BUF_INIT;
    char flags[5], date[16];
    attr_t a = A_NORMAL;

    if (!(r->flags & MAIL_FLAG_SEEN))
        a = color_attr(u, TUI_COLOR_UNREAD);
    if (r->flags & MAIL_FLAG_FLAGGED)
        a = (a & A_BOLD) | color_attr(u, TUI_COLOR_FLAGGED);
    if (r->flags & MAIL_FLAG_DELETED)
        a = (a & A_BOLD) | color_attr(u, TUI_COLOR_DELETED);
    if (u->match && u->match_gen == u->rows.gen && i < u->nmatch &&
        u->match[i])
        a |= color_attr(u, TUI_COLOR_SEARCH);
    if (v == u->cur)
        a |= A_REVERSE;
    attrset(a);
    if (v == u->cur)
        mvhline(y, 0, ' ', COLS);
    /* The row of mail ls, laid out by the library. */
    mail_index_layout_init(&lay, (size_t)COLS, u->rows.n, u->datew);
    mail_index_flags(r->flags, r->attach, flags);
    mail_index_row(&line, &lay, &(struct mail_index_fields){
        .number = i + 1, .flags = flags, .date = date,
        .datelen = mail_short_date(sd, r->when, date),
        .from = r->from, .subject = r->subject,
        .tree = u->marks ? u->marks[v] : NULL });
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
    if (u->nvis <= h)
        u->top = 0;
}

static void draw_index(struct ui *u)
{
    struct mail_short_dates sd;
    int h = body_rows();

    mail_short_dates_init(&sd, time(NULL));
    scroll_to_cursor(u);
    for (int y = 0; y < h; y++) {
        size_t v = u->top + (size_t)y;

        if (v >= u->nvis)
            break;
        draw_index_row(u, y, v, &sd);
    }
    if (u->loaded && u->nvis == 0)
        mvaddstr(0, 0, u->limit ? "(no messages match the limit)"
                                : "(no messages)");
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
        if (d)
            attrset(color_attr(u, (enum tui_color_obj)(TUI_COLOR_QUOTE1 +
                                                       (d - 1) % 3)));
        mvaddnstr(y, 0, line + u->segs[k].off, (int)u->segs[k].len);
        attrset(A_NORMAL);
    }
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
            put_fit(y, 0, b.data, b.len, (size_t)COLS);
        mail_buf_release(&b);
    }
}

static void draw_folders(struct ui *u)
{
    int h = body_rows();

    if (u->listing && !u->nfolders)
        mvaddstr(0, 0, "listing the folders...");
    if (u->fcur < u->ftop)
        u->ftop = u->fcur;
    if (u->fcur >= u->ftop + (size_t)h)
        u->ftop = u->fcur - (size_t)h + 1;
    for (int y = 0; y < h && u->ftop + (size_t)y < u->nfolders; y++) {
        size_t i = u->ftop + (size_t)y;
        const struct tui_folder *f = &u->folders[i];
        struct mail_buf b = MAIL_BUF_INIT;

        if (f->counted)
            mail_buf_printf(&b, "%6zu %6zu  %s", f->unread, f->total,
                            f->name);
        else
            mail_buf_printf(&b, "%6s %6s  %s", "?", "?", f->name);
        attrset((f->unread ? A_BOLD : A_NORMAL) |
                (i == u->fcur ? A_REVERSE : A_NORMAL));
        if (i == u->fcur)
            mvhline(y, 0, ' ', COLS);
        if (b.data)
            put_fit(y, 0, b.data, b.len, (size_t)COLS);
        attrset(A_NORMAL);
        mail_buf_release(&b);
    }
}

static const char *prompt_label(enum prompt_kind k)
{
    switch (k) {
    case PROMPT_SEARCH: return "Search: ";
    case PROMPT_LIMIT: return "Limit to: ";
    case PROMPT_SAVE: return "Save to folder: ";
    case PROMPT_PIPE: return "Pipe to command: ";
    case PROMPT_CHANGE: return "Open folder: ";
    default: return "";
    }
}

static void draw_message_line(struct ui *u)
{
    int y = LINES - 1;

    if (y == status_y())
        return;
    attrset(A_NORMAL);
    if (u->prompt) {
        struct mail_buf safe = MAIL_BUF_INIT;
        const char *pl = prompt_label(u->prompt), *t;
        size_t w, cols = (size_t)COLS, tl, n;

        mail_term_safe(&safe, u->line.data ? u->line.data : "", u->line.len,
                       MAIL_SAFE_ONELINE);
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
            put_fit(y, (int)w, t, tl, cols - w);
        mail_buf_release(&safe);
        return;
    }
    if (u->msg[0])
        put_fit(y, 0, u->msg, strlen(u->msg), (size_t)COLS);
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
    label = u->label;
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
        mail_buf_printf(&b, "  [working: %zu]", u->pending);
    if (u->msg[0] && status_y() == LINES - 1)
        mail_buf_printf(&b, "  %s", u->msg);
    hints = u->view == VIEW_INDEX ? "  q:quit Enter:open d:del $:sync ?:help"
          : u->view == VIEW_PAGER ? "  q:index n/p:next/prev ?:help"
          : u->view == VIEW_FOLDERS ? "  Enter:open q:back"
                                    : "  q:back";
    mail_buf_addstr(&b, hints);
    attrset(color_attr(u, TUI_COLOR_STATUS));
    mvhline(status_y(), 0, ' ', COLS);
    if (b.data)
        put_fit(status_y(), 0, b.data, b.len, (size_t)COLS);
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
    case VIEW_FOLDERS:
        draw_folders(u);
        break;
    }
    draw_status(u);
    draw_message_line(u);
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
    request_view(u);
}

/* Open at the first unread message, else the last one. */
static void first_unread(struct ui *u)
{
    u->cur = u->nvis ? u->nvis - 1 : 0;
    for (size_t v = 0; v < u->nvis; v++)
        if (!(u->rows.v[u->vis[v]].flags & MAIL_FLAG_SEEN)) {
            u->cur = v;
            break;
        }
    u->top = u->cur > (size_t)body_rows() / 2 ?
             u->cur - (size_t)body_rows() / 2 : 0;
}

static void take_view(struct ui *u, struct tui_req *r)
{
    size_t row = cur_row(u);

    free_marks(u);
    free(u->vis);
    u->vis = r->order;
    u->nvis = r->norder;
    r->order = NULL;
    if (r->thread && r->depth)
        u->marks = mail_index_tree_marks(r->depth, u->nvis);
    u->cur = 0;
    for (size_t v = 0; v < u->nvis; v++)
        if (u->vis[v] == row) {
            u->cur = v;
            break;
        }
}

/* The next match of the search after the cursor, in the order shown. */
static void goto_match(struct ui *u)
{
    if (!u->match || u->match_gen != u->rows.gen) {
        snprintf(u->msg, sizeof u->msg, "no search");
        return;
    }
    for (size_t k = 1; k <= u->nvis; k++) {
        size_t v = (u->cur + k) % u->nvis;

        if (u->vis[v] < u->nmatch && u->match[u->vis[v]]) {
            if (v <= u->cur)
                snprintf(u->msg, sizeof u->msg, "search wrapped");
            u->cur = v;
            return;
        }
    }
    snprintf(u->msg, sizeof u->msg, "not found");
}

static void take_search(struct ui *u, struct tui_req *r)
{
    free(u->match);
    u->match = calloc(u->rows.n ? u->rows.n : 1, sizeof *u->match);
    u->nmatch = u->match ? u->rows.n : 0;
    u->match_gen = u->rows.gen;
    for (size_t k = 0; k < r->norder && u->match; k++)
        if (r->order[k] < u->nmatch)
            u->match[r->order[k]] = true;
    snprintf(u->msg, sizeof u->msg, "%zu match%s", r->norder,
             r->norder == 1 ? "" : "es");
    if (r->norder && u->view == VIEW_INDEX) {
        char keep[sizeof u->msg];

        memcpy(keep, u->msg, sizeof keep);
        goto_match(u);
        if (strcmp(u->msg, "search wrapped") == 0 || !strcmp(u->msg, keep))
            memcpy(u->msg, keep, sizeof keep);
    }
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
    if (r->status == TUI_CANCELLED) {
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
        show_error(u, r);
        if (r->kind == TUI_REQ_OPEN && !r->path)
            u->loaded = true;
        if (r->kind == TUI_REQ_VIEW && u->limit) {
            /* A bad limit: back to all. */
            free(u->limit);
            u->limit = NULL;
            request_view(u);
        }
        return;
    }
    switch (r->kind) {
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
        first_unread(u);
        if (r->err.msg[0])
            show_error(u, r);
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
    case TUI_REQ_SAVE:
        if (same && r->idx < u->rows.n)
            u->rows.v[r->idx].flags = r->new_flags;
        snprintf(u->msg, sizeof u->msg, "saved");
        break;
    case TUI_REQ_VIEW:
        if (same)
            take_view(u, r);
        break;
    case TUI_REQ_SEARCH:
        if (same)
            take_search(u, r);
        break;
    case TUI_REQ_MSGFD:
        pipe_message(u, r);
        break;
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

/* ---- the terminal given to a command (|, reply, forward) ---- */

static void shell_begin(void)
{
    def_prog_mode();
    endwin();
}

static void shell_end(bool wait_key)
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
    shell_begin();
    if (mail_spawn_run(&sp, &res, &err) < 0) {
        shell_end(false);
        show_error(u, &(struct tui_req){ .err = err });
        return;
    }
    shell_end(true);
    if (res.how == MAIL_SPAWN_EXITED)
        snprintf(u->msg, sizeof u->msg, "the command exited %d", res.code);
    else
        snprintf(u->msg, sizeof u->msg, "the command did not finish "
                 "(signal %d)", res.code);
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
    for (size_t v = 0; v < u->nvis; v++)
        if (u->vis[v] == idx) {
            u->cur = v;
            break;
        }
    u->view = VIEW_PAGER;
    u->msg[0] = '\0';
    u->rendering = post(u, TUI_REQ_RENDER, idx, 0, 0);
}

/* d, u, F, N on message idx. */
static bool flag_action(struct ui *u, enum tui_action a, size_t idx)
{
    unsigned f;

    if (idx >= u->rows.n || !u->loaded)
        return false;
    f = u->rows.v[idx].flags;
    switch (a) {
    case TUI_A_DELETE:
        post(u, TUI_REQ_FLAGS, idx, MAIL_FLAG_DELETED, 0);
        /* Shown at once; the answer confirms it. */
        u->rows.v[idx].flags |= MAIL_FLAG_DELETED;
        return true;
    case TUI_A_UNDELETE:
        post(u, TUI_REQ_FLAGS, idx, 0, MAIL_FLAG_DELETED);
        u->rows.v[idx].flags &= ~(unsigned)MAIL_FLAG_DELETED;
        return true;
    case TUI_A_FLAG:
        post(u, TUI_REQ_FLAGS, idx, (f & MAIL_FLAG_FLAGGED) ? 0 :
             MAIL_FLAG_FLAGGED, (f & MAIL_FLAG_FLAGGED) ? MAIL_FLAG_FLAGGED
                                                        : 0);
        u->rows.v[idx].flags ^= MAIL_FLAG_FLAGGED;
        return true;
    case TUI_A_TOGGLE_NEW:
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
    struct tui_req *const rs[] = {
        u->rendering, u->viewing, u->searching, u->listing,
    };
    bool any = false;

    for (size_t i = 0; i < sizeof rs / sizeof rs[0]; i++)
        if (rs[i]) {
            tui_req_cancel(rs[i]);
            any = true;
        }
    if (any)
        snprintf(u->msg, sizeof u->msg, "cancelling");
}

static void start_prompt(struct ui *u, enum prompt_kind k, size_t idx)
{
    u->prompt = k;
    u->prompt_idx = idx;
    mail_buf_reset(&u->line);
}

/* "=NAME" in the store, else a path ("~" expanded by the folder). */
static char *folder_path(struct ui *u, const char *name)
{
    struct mail_error err;
    char *p;

    mail_error_clear(&err);
    if (name[0] == '=') {
        if (!u->o->store) {
            snprintf(u->msg, sizeof u->msg, "error: no account store for "
                     "=NAME");
            return NULL;
        }
        p = mail_store_folder_path(u->o->store, name + 1, &err);
        if (!p)
            show_error(u, &(struct tui_req){ .err = err });
        return p;
    }
    return strdup(name);
}

static void change_folder(struct ui *u, const char *name, const char *path)
{
    struct tui_req *r;

    if (u->rendering)
        tui_req_cancel(u->rendering);
    if (!(r = new_req(u, TUI_REQ_OPEN, 0)))
        return;
    r->path = path ? strdup(path) : folder_path(u, name);
    r->label = strdup(name);
    if (!r->path || !r->label) {
        tui_req_free(r);
        return;
    }
    snprintf(u->msg, sizeof u->msg, "opening");
    post_req(u, r);
}

/* Enter on the prompt: do what it asked. */
static void prompt_done(struct ui *u)
{
    enum prompt_kind k = u->prompt;
    char *text = strdup(u->line.data ? u->line.data : "");
    struct tui_req *r;

    u->prompt = PROMPT_NONE;
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
            tui_req_cancel(u->searching);
        if ((r = new_req(u, TUI_REQ_SEARCH, 0))) {
            r->query = text;
            text = NULL;
            u->searching = post_req(u, r);
            snprintf(u->msg, sizeof u->msg, "searching");
        }
        break;
    case PROMPT_LIMIT:
        free(u->limit);
        u->limit = *text ? text : NULL;
        if (!*text)
            free(text);
        text = NULL;
        request_view(u);
        break;
    case PROMPT_SAVE:
        if (!*text)
            break;
        if ((r = new_req(u, TUI_REQ_SAVE, u->prompt_idx))) {
            if (!(r->path = folder_path(u, text))) {
                tui_req_free(r);
                break;
            }
            post_req(u, r);
            snprintf(u->msg, sizeof u->msg, "saving");
        }
        break;
    case PROMPT_PIPE:
        if (!*text)
            break;
        if ((r = new_req(u, TUI_REQ_MSGFD, u->prompt_idx))) {
            r->query = text;
            text = NULL;
            post_req(u, r);
        }
        break;
    case PROMPT_CHANGE:
        if (*text)
            change_folder(u, text, NULL);
        break;
    case PROMPT_NONE:
        break;
    }
    free(text);
}

static void prompt_key(struct ui *u, wint_t ch, bool fkey)
{
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

/* Reply or forward: the flow of mail reply / mail forward, on this
 * terminal, then the folder listed again (the original is marked). */
static void compose(struct ui *u, enum tui_compose how, size_t idx)
{
    const struct tui_row *r = NULL;
    bool new_msg = how == TUI_COMPOSE || how == TUI_RESUME;
    int rc;

    if (!u->o->compose) {
        snprintf(u->msg, sizeof u->msg, "writing mail is not available "
                 "here");
        return;
    }
    if (!new_msg) {
        if (idx >= u->rows.n)
            return;
        r = &u->rows.v[idx];
        if (!r->ref) {
            snprintf(u->msg, sizeof u->msg, "this message has no "
                     "Message-ID to reply to");
            return;
        }
    }
    shell_begin();
    rc = u->o->compose(u->o->compose_arg, how, new_msg ? NULL :
                       u->folder_path ? u->folder_path : u->o->source.path,
                       r ? r->ref : NULL);
    shell_end(rc != 0);
    snprintf(u->msg, sizeof u->msg, rc == 0 ? "sent" : "not sent (%d)", rc);
    post(u, TUI_REQ_RELIST, 0, 0, 0);
}

/* Actions that work the same in the index and the pager, on message idx.
 * Returns false when a is not one of them. */
static bool common_action(struct ui *u, enum tui_action a, size_t idx)
{
    switch (a) {
    case TUI_A_SAVE:
        if (idx < u->rows.n)
            start_prompt(u, PROMPT_SAVE, idx);
        return true;
    case TUI_A_PIPE:
        if (idx < u->rows.n)
            start_prompt(u, PROMPT_PIPE, idx);
        return true;
    case TUI_A_REPLY:
        compose(u, TUI_REPLY, idx);
        return true;
    case TUI_A_GROUP_REPLY:
        compose(u, TUI_REPLY_ALL, idx);
        return true;
    case TUI_A_LIST_REPLY:
        compose(u, TUI_REPLY_LIST, idx);
        return true;
    case TUI_A_FORWARD:
        compose(u, TUI_FORWARD, idx);
        return true;
    case TUI_A_COMPOSE:
        compose(u, TUI_COMPOSE, idx);
        return true;
    case TUI_A_RECALL:
        compose(u, TUI_RESUME, idx);
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
        flag_action(u, a, idx);
        return true;
    default:
        return false;
    }
}

static size_t next_unread(const struct ui *u, size_t from_v)
{
    for (size_t v = from_v + 1; v < u->nvis; v++)
        if (!(u->rows.v[u->vis[v]].flags & MAIL_FLAG_SEEN))
            return v;
    return u->nvis;
}

static void index_action(struct ui *u, enum tui_action a)
{
    size_t h = (size_t)body_rows(), n = u->nvis, v;

    switch (a) {
    case TUI_A_EXIT:
        u->quit = true;
        break;
    case TUI_A_NEXT:
        if (u->cur + 1 < n)
            u->cur++;
        break;
    case TUI_A_PREV:
        if (u->cur > 0)
            u->cur--;
        break;
    case TUI_A_NEXT_PAGE:
        u->cur = u->cur + h < n ? u->cur + h : (n ? n - 1 : 0);
        u->top = u->top + h < n ? u->top + h : u->top;
        break;
    case TUI_A_PREV_PAGE:
        u->cur = u->cur > h ? u->cur - h : 0;
        u->top = u->top > h ? u->top - h : 0;
        break;
    case TUI_A_FIRST:
        u->cur = 0;
        break;
    case TUI_A_LAST:
        u->cur = n ? n - 1 : 0;
        break;
    case TUI_A_OPEN:
        open_message(u, cur_row(u));
        break;
    case TUI_A_NEXT_UNREAD:
        if ((v = next_unread(u, u->cur)) < n)
            u->cur = v;
        else
            snprintf(u->msg, sizeof u->msg, "no more unread messages");
        break;
    case TUI_A_DELETE:
        if (flag_action(u, a, cur_row(u)) && u->cur + 1 < n)
            u->cur++;
        break;
    case TUI_A_SYNC:
        if (u->loaded) {
            post(u, TUI_REQ_SYNC, 0, 0, 0);
            snprintf(u->msg, sizeof u->msg, "syncing");
        }
        break;
    case TUI_A_SEARCH:
        start_prompt(u, PROMPT_SEARCH, 0);
        break;
    case TUI_A_SEARCH_NEXT:
        goto_match(u);
        break;
    case TUI_A_LIMIT:
        start_prompt(u, PROMPT_LIMIT, 0);
        break;
    case TUI_A_THREADS:
        u->thread = !u->thread;
        request_view(u);
        break;
    case TUI_A_SORT:
        /* delivery, date, from, subject, size, and round again */
        u->thread = false;
        u->sort = (u->sort + 1) % (MAIL_SORT_SIZE + 1);
        request_view(u);
        break;
    case TUI_A_SORT_REVERSE:
        u->thread = false;
        u->reverse = !u->reverse;
        request_view(u);
        break;
    case TUI_A_CHANGE_FOLDER:
        start_prompt(u, PROMPT_CHANGE, 0);
        break;
    case TUI_A_FOLDER_LIST:
        u->view = VIEW_FOLDERS;
        if (u->listing)
            tui_req_cancel(u->listing);
        u->listing = post(u, TUI_REQ_FOLDERS, 0, 0, 0);
        break;
    default:
        common_action(u, a, cur_row(u));
        break;
    }
}

static void pager_action(struct ui *u, enum tui_action a)
{
    size_t h = (size_t)body_rows();
    size_t last = u->nsegs > h ? u->nsegs - h : 0, v;

    switch (a) {
    case TUI_A_EXIT:
        if (u->rendering)
            tui_req_cancel(u->rendering);
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
            open_message(u, u->vis[u->cur + 1]);
        else
            snprintf(u->msg, sizeof u->msg, "no next message");
        break;
    case TUI_A_PREV_MSG:
        if (u->cur > 0 && u->cur <= u->nvis)
            open_message(u, u->vis[u->cur - 1]);
        else
            snprintf(u->msg, sizeof u->msg, "no previous message");
        break;
    case TUI_A_NEXT_UNREAD:
        if ((v = next_unread(u, u->cur)) < u->nvis)
            open_message(u, u->vis[v]);
        else
            snprintf(u->msg, sizeof u->msg, "no more unread messages");
        break;
    default:
        common_action(u, a, u->page_idx);
        break;
    }
}

static void folders_key(struct ui *u, wint_t ch, bool fkey)
{
    if ((!fkey && ch == 'j') || (fkey && ch == KEY_DOWN)) {
        if (u->fcur + 1 < u->nfolders)
            u->fcur++;
    } else if ((!fkey && ch == 'k') || (fkey && ch == KEY_UP)) {
        if (u->fcur)
            u->fcur--;
    } else if ((!fkey && (ch == '\r' || ch == '\n')) ||
               (fkey && (ch == KEY_ENTER || ch == KEY_RIGHT))) {
        if (u->fcur < u->nfolders) {
            const struct tui_folder *f = &u->folders[u->fcur];
            struct mail_buf name = MAIL_BUF_INIT;

            mail_buf_printf(&name, "=%s", f->name);
            if (name.data)
                change_folder(u, name.data, f->path);
            mail_buf_release(&name);
        }
    } else if ((!fkey && (ch == 'q' || ch == 27)) ||
               (fkey && ch == KEY_LEFT)) {
        if (u->listing)
            tui_req_cancel(u->listing);
        u->view = VIEW_INDEX;
    }
}

static void key(struct ui *u, wint_t ch, bool fkey)
{
    int code = fkey ? (int)(TUI_FKEY | ch) : (int)ch;

    if (fkey && ch == KEY_RESIZE) {
        /* ncurses has resized its screens already: lay out again. */
        if (u->view == VIEW_PAGER)
            wrap_page(u);
        clearok(curscr, TRUE);
        return;
    }
    if (u->prompt) {
        prompt_key(u, ch, fkey);
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
        index_action(u, tui_keys_action(u->keys, TUI_CTX_INDEX, code));
        break;
    case VIEW_PAGER:
        pager_action(u, tui_keys_action(u->keys, TUI_CTX_PAGER, code));
        break;
    case VIEW_FOLDERS:
        folders_key(u, ch, fkey);
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
        post(&u, TUI_REQ_OPEN, 0, 0, 0);
        loop(&u);
        tui_worker_stop(u.w);
    }
    endwin();
    delscreen(scr);
    tui_rows_release(&u.rows);
    tui_lines_release(&u.page);
    free(u.segs);
    free_marks(&u);
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
    mail_buf_release(&u.line);
    tui_keys_free(own_keys);
    close(u.wake[0]);
    close(u.wake[1]);
    return u.w ? 0 : -1;
}
