/*
 * keys.h - the reader's key bindings and colors: the default table, the
 * [tui] section's `bind` and `color` lines, and the names the help screen
 * and mail-tui(1) show.  keys.c calls no curses function (ui.c turns a
 * color into a pair), it only knows ncurses' KEY_ codes: a key is a wint_t
 * character, or a KEY_ code with TUI_FKEY set.
 */
#ifndef MAIL_TUI_KEYS_H
#define MAIL_TUI_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/error.h"

#define TUI_FKEY 0x40000000   /* a KEY_ code of ncurses, not a character */

enum tui_ctx { TUI_CTX_INDEX, TUI_CTX_PAGER, TUI_NCTX };

enum tui_action {
    TUI_A_NONE,
    TUI_A_NEXT, TUI_A_PREV, TUI_A_NEXT_PAGE, TUI_A_PREV_PAGE,
    TUI_A_FIRST, TUI_A_LAST, TUI_A_OPEN, TUI_A_EXIT, TUI_A_NEXT_MSG,
    TUI_A_PREV_MSG, TUI_A_NEXT_UNREAD,
    TUI_A_DELETE, TUI_A_UNDELETE, TUI_A_FLAG, TUI_A_TOGGLE_NEW, TUI_A_SYNC,
    TUI_A_SEARCH, TUI_A_SEARCH_NEXT, TUI_A_LIMIT, TUI_A_THREADS,
    TUI_A_SORT, TUI_A_SORT_REVERSE, TUI_A_SAVE, TUI_A_PIPE,
    TUI_A_CHANGE_FOLDER, TUI_A_FOLDER_LIST,
    TUI_A_REPLY, TUI_A_GROUP_REPLY, TUI_A_LIST_REPLY, TUI_A_FORWARD,
    TUI_A_COMPOSE, TUI_A_RECALL, TUI_A_ATTACHMENTS, TUI_A_ACCOUNT,
    TUI_A_REDRAW, TUI_A_HELP,
    TUI_NACTIONS
};

/* The objects a `color` line can set. */
enum tui_color_obj {
    TUI_COLOR_UNREAD, TUI_COLOR_FLAGGED, TUI_COLOR_DELETED, TUI_COLOR_STATUS,
    TUI_COLOR_QUOTE1, TUI_COLOR_QUOTE2, TUI_COLOR_QUOTE3, TUI_COLOR_SEARCH,
    TUI_NCOLORS
};

enum {
    TUI_ATTR_BOLD = 1, TUI_ATTR_UNDERLINE = 2, TUI_ATTR_REVERSE = 4,
    TUI_ATTR_DIM = 8,
};

struct tui_color {
    unsigned attrs;   /* TUI_ATTR_* */
    int fg, bg;       /* 0..255, or -1: the terminal's default */
};

struct tui_keys;

/* The defaults.  NULL when out of memory. */
struct tui_keys *tui_keys_new(void);
void tui_keys_free(struct tui_keys *k);

/* One `bind = CONTEXT KEY ACTION` value ("index d delete-message";
 * CONTEXT index, pager or generic (both); ACTION "noop" unbinds).  file
 * and line name the config line in the error (MAIL_ERR_CONFIG). */
int tui_keys_bind(struct tui_keys *k, const char *value, const char *file,
                  int line, struct mail_error *err);
/* One `color = OBJECT [ATTR...] [FG [BG]]` value. */
int tui_keys_color(struct tui_keys *k, const char *value, const char *file,
                   int line, struct mail_error *err);

enum tui_action tui_keys_action(const struct tui_keys *k, enum tui_ctx ctx,
                                int key);
const struct tui_color *tui_keys_colors(const struct tui_keys *k);

/* The help: for each action of ctx that has a key, its keys as shown
 * ("j, <Down>") into buf (size n), its name and its description; returns
 * false past the last action.  pos starts at 0. */
bool tui_keys_help(const struct tui_keys *k, enum tui_ctx ctx, size_t *pos,
                   char *keys, size_t n, const char **name,
                   const char **desc);

#endif
