/*
 * ui_internal.h - what the files of the reader's UI thread share: the
 * state of the screen (struct ui) and the functions one file calls in
 * another.  These files are the only ones that call curses:
 *
 *   ui.c       the loop, requests and answers, the status line, the help
 *              screen, the keys common to the index and the pager
 *   index.c    the index: drawing, the view (limit, sort, threads), the
 *              search, flags, its keys
 *   pager.c    the pager: wrapping, drawing, its keys
 *   prompt.c   the prompt line and its line editor
 *   folders.c  the folder list and changing folders
 *   parts.c    the attachment list (v): save and pipe a part
 */
#ifndef MAIL_TUI_UI_INTERNAL_H
#define MAIL_TUI_UI_INTERNAL_H

#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tui.h"
#include "keys.h"
#include "mail/buf.h"

enum view { VIEW_INDEX, VIEW_PAGER, VIEW_HELP, VIEW_FOLDERS, VIEW_PARTS };

#define CTRL(c) ((c) & 0x1f)

/* One screen line of the pager: a piece of a rendered line. */
struct seg {
    size_t line, off, len;
};

enum prompt_kind {
    PROMPT_NONE, PROMPT_SEARCH, PROMPT_LIMIT, PROMPT_SAVE, PROMPT_PIPE,
    PROMPT_CHANGE, PROMPT_PART_SAVE, PROMPT_PART_PIPE, PROMPT_ACCOUNT,
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
    bool page_part;            /* it shows a part's viewer output (a
                                  copiousoutput mailcap entry): q goes
                                  back to the attachment list */
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
    struct tui_req *opening;   /* the open request not answered yet */
    const char *store;         /* the account's store (=NAME), or NULL */
    struct tui_req *completing;   /* Tab's request not answered yet */
    struct mail_addrbook *book;   /* Tab in the compose prompts (UI
                                     thread; opened at the first) */
    size_t complete_at, complete_len;
    /* The attachment list (v). */
    struct tui_part *parts;
    size_t nparts, pcur, ptop, parts_idx, prompt_part;
    struct tui_req *partsreq;
    enum view parts_back;
    char event[64];            /* the worker's "reconnecting", while busy */
    char msg[256];             /* the last event, on the status line */
};

/* The screen: the body, the status bar, and below it the message line
 * (events, errors, the prompt), as mutt lays it out. */
static inline int body_rows(void)
{
    return LINES > 2 ? LINES - 2 : 1;
}

static inline int status_y(void)
{
    return LINES > 2 ? LINES - 2 : LINES - 1;
}

/* The row under the cursor (a position into rows), or rows.n. */
static inline size_t cur_row(const struct ui *u)
{
    return u->cur < u->nvis ? u->vis[u->cur] : u->rows.n;
}

/* ui.c */
struct tui_req *ui_post_req(struct ui *u, struct tui_req *r);
struct tui_req *ui_new_req(struct ui *u, enum tui_req_kind kind, size_t idx);
struct tui_req *ui_post(struct ui *u, enum tui_req_kind kind, size_t idx,
                        unsigned add, unsigned remove);
void ui_cancel(struct ui *u, struct tui_req *r);
void ui_free_marks(struct ui *u);
void ui_request_view(struct ui *u);
size_t ui_put_fit(int y, int x, const char *s, size_t len, size_t cols);
attr_t ui_color_attr(const struct ui *u, enum tui_color_obj o);
void ui_show_error(struct ui *u, const struct tui_req *r);
void ui_measure_rows(struct ui *u);
void ui_identity_view(struct ui *u);
void ui_pipe_message(struct ui *u, struct tui_req *r);

/* answer.c */
void ui_on_answer(struct ui *u, struct tui_req *r);

/* help.c */
void ui_draw_help(struct ui *u);
void ui_help_key(struct ui *u, wint_t ch, bool fkey);
/* The terminal given to a command (|, the editor, a send) and taken
 * back (wait_key: after "Press Enter"). */
void ui_shell_begin(void);
void ui_shell_end(bool wait_key);
bool ui_common_action(struct ui *u, enum tui_action a, size_t idx);

/* compose.c */
void ui_compose(struct ui *u, enum tui_compose how, size_t idx);
void ui_compose_answer(struct ui *u, struct tui_req *r);

/* index.c */
void ui_draw_index(struct ui *u);
void ui_first_unread(struct ui *u);
void ui_take_view(struct ui *u, struct tui_req *r);
void ui_take_search(struct ui *u, struct tui_req *r);
bool ui_flag_action(struct ui *u, enum tui_action a, size_t idx);
size_t ui_next_unread(const struct ui *u, size_t from_v);
void ui_index_action(struct ui *u, enum tui_action a);

/* pager.c */
void ui_wrap_page(struct ui *u);
void ui_expand_tabs(char **line);
void ui_draw_pager(struct ui *u);
void ui_open_message(struct ui *u, size_t idx);
void ui_show_part_output(struct ui *u, struct tui_req *r);
void ui_pager_action(struct ui *u, enum tui_action a);

/* prompt.c */
void ui_draw_message_line(struct ui *u);
void ui_start_prompt(struct ui *u, enum prompt_kind k, size_t idx);
void ui_prompt_key(struct ui *u, wint_t ch, bool fkey);
void ui_take_completion(struct ui *u, struct tui_req *r);

/* folders.c */
void ui_draw_folders(struct ui *u);
char *ui_folder_path(struct ui *u, const char *name);
void ui_change_folder(struct ui *u, const char *name, const char *path);
void ui_folders_key(struct ui *u, wint_t ch, bool fkey);
void ui_change_account(struct ui *u, const char *name);

/* parts.c */
void ui_parts_release(struct ui *u);
void ui_open_parts(struct ui *u, size_t idx);
void ui_take_parts(struct ui *u, struct tui_req *r);
void ui_draw_parts(struct ui *u);
void ui_part_prompt_done(struct ui *u, enum prompt_kind k, char *text);
void ui_parts_key(struct ui *u, wint_t ch, bool fkey);

#endif
