/*
 * keys.c - the reader's key table and colors; see keys.h.
 */
#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "mail/buf.h"
#include "mail/termsafe.h"

#define MAX_KEYS 8   /* keys per action per context shown in the help */

struct binding {
    int key;
    enum tui_action action;
};

struct tui_keys {
    struct binding *b[TUI_NCTX];
    size_t n[TUI_NCTX], alloc[TUI_NCTX];
    struct tui_color colors[TUI_NCOLORS];
};

struct action_info {
    const char *name, *desc;
};

static const struct action_info actions[TUI_NACTIONS] = {
    [TUI_A_NONE] = { "noop", "nothing (unbinds the key)" },
    [TUI_A_NEXT] = { "next-entry", "next message (pager: one line down)" },
    [TUI_A_PREV] = { "previous-entry", "previous message (pager: one line "
                     "up)" },
    [TUI_A_NEXT_PAGE] = { "next-page", "one page down" },
    [TUI_A_PREV_PAGE] = { "previous-page", "one page up" },
    [TUI_A_FIRST] = { "first-entry", "first message (pager: the top)" },
    [TUI_A_LAST] = { "last-entry", "last message (pager: the end)" },
    [TUI_A_OPEN] = { "display-message", "open the message in the pager" },
    [TUI_A_EXIT] = { "exit", "back to the index; in the index, quit" },
    [TUI_A_NEXT_MSG] = { "next-message", "the next message" },
    [TUI_A_PREV_MSG] = { "previous-message", "the previous message" },
    [TUI_A_NEXT_UNREAD] = { "next-unread", "the next unread message" },
    [TUI_A_DELETE] = { "delete-message", "mark for deletion (and go to the "
                       "next)" },
    [TUI_A_UNDELETE] = { "undelete-message", "remove the deletion mark" },
    [TUI_A_FLAG] = { "flag-message", "flag or unflag" },
    [TUI_A_TOGGLE_NEW] = { "toggle-new", "toggle new (unread)" },
    [TUI_A_SYNC] = { "sync-mailbox", "sync: expunge the messages marked "
                     "for deletion" },
    [TUI_A_SEARCH] = { "search", "search (the query language of mail ls)" },
    [TUI_A_SEARCH_NEXT] = { "search-next", "the next match of the search" },
    [TUI_A_LIMIT] = { "limit", "show only the matching messages (empty: "
                      "all)" },
    [TUI_A_THREADS] = { "toggle-threads", "threaded or flat index" },
    [TUI_A_SORT] = { "sort", "next sort order: delivery, date, from, "
                     "subject, size" },
    [TUI_A_SORT_REVERSE] = { "sort-reverse", "reverse the order" },
    [TUI_A_SAVE] = { "save-message", "save to a folder (and mark deleted)" },
    [TUI_A_PIPE] = { "pipe-message", "pipe the message to a command" },
    [TUI_A_CHANGE_FOLDER] = { "change-folder", "open another folder (=NAME "
                              "or a path)" },
    [TUI_A_FOLDER_LIST] = { "folder-list", "the store's folders with "
                            "unread counts" },
    [TUI_A_REPLY] = { "reply", "reply to the sender" },
    [TUI_A_GROUP_REPLY] = { "group-reply", "reply to all" },
    [TUI_A_LIST_REPLY] = { "list-reply", "reply to the mailing list" },
    [TUI_A_FORWARD] = { "forward-message", "forward the message" },
    [TUI_A_COMPOSE] = { "mail", "write a new message (mail compose)" },
    [TUI_A_RECALL] = { "recall-message", "resume a postponed draft (mail "
                       "compose --resume)" },
    [TUI_A_ATTACHMENTS] = { "view-attachments", "the message's parts: "
                            "open, save, pipe" },
    [TUI_A_ACCOUNT] = { "change-account", "open another account's inbox" },
    [TUI_A_REDRAW] = { "redraw-screen", "redraw the screen" },
    [TUI_A_HELP] = { "help", "this help" },
};

#define F(k) (TUI_FKEY | (k))

static const struct { enum tui_ctx ctx; int key; enum tui_action a; }
defaults[] = {
    { TUI_CTX_INDEX, 'j', TUI_A_NEXT }, { TUI_CTX_INDEX, F(KEY_DOWN), TUI_A_NEXT },
    { TUI_CTX_INDEX, 'k', TUI_A_PREV }, { TUI_CTX_INDEX, F(KEY_UP), TUI_A_PREV },
    { TUI_CTX_INDEX, ' ', TUI_A_NEXT_PAGE },
    { TUI_CTX_INDEX, F(KEY_NPAGE), TUI_A_NEXT_PAGE },
    { TUI_CTX_INDEX, 'b', TUI_A_PREV_PAGE },
    { TUI_CTX_INDEX, F(KEY_PPAGE), TUI_A_PREV_PAGE },
    { TUI_CTX_INDEX, F(KEY_HOME), TUI_A_FIRST }, { TUI_CTX_INDEX, '=', TUI_A_FIRST },
    { TUI_CTX_INDEX, F(KEY_END), TUI_A_LAST }, { TUI_CTX_INDEX, 'G', TUI_A_LAST },
    { TUI_CTX_INDEX, '*', TUI_A_LAST },
    { TUI_CTX_INDEX, '\r', TUI_A_OPEN }, { TUI_CTX_INDEX, F(KEY_ENTER), TUI_A_OPEN },
    { TUI_CTX_INDEX, F(KEY_RIGHT), TUI_A_OPEN },
    { TUI_CTX_INDEX, 'q', TUI_A_EXIT },
    { TUI_CTX_INDEX, '\t', TUI_A_NEXT_UNREAD },
    { TUI_CTX_INDEX, 'd', TUI_A_DELETE }, { TUI_CTX_INDEX, 'u', TUI_A_UNDELETE },
    { TUI_CTX_INDEX, 'F', TUI_A_FLAG }, { TUI_CTX_INDEX, 'N', TUI_A_TOGGLE_NEW },
    { TUI_CTX_INDEX, '$', TUI_A_SYNC },
    { TUI_CTX_INDEX, '/', TUI_A_SEARCH }, { TUI_CTX_INDEX, 'n', TUI_A_SEARCH_NEXT },
    { TUI_CTX_INDEX, 'l', TUI_A_LIMIT }, { TUI_CTX_INDEX, 't', TUI_A_THREADS },
    { TUI_CTX_INDEX, 'o', TUI_A_SORT }, { TUI_CTX_INDEX, 'O', TUI_A_SORT_REVERSE },
    { TUI_CTX_INDEX, 's', TUI_A_SAVE }, { TUI_CTX_INDEX, '|', TUI_A_PIPE },
    { TUI_CTX_INDEX, 'c', TUI_A_CHANGE_FOLDER },
    { TUI_CTX_INDEX, 'y', TUI_A_FOLDER_LIST },
    { TUI_CTX_INDEX, 'r', TUI_A_REPLY }, { TUI_CTX_INDEX, 'g', TUI_A_GROUP_REPLY },
    { TUI_CTX_INDEX, 'L', TUI_A_LIST_REPLY }, { TUI_CTX_INDEX, 'f', TUI_A_FORWARD },
    { TUI_CTX_INDEX, 'm', TUI_A_COMPOSE }, { TUI_CTX_INDEX, 'R', TUI_A_RECALL },
    { TUI_CTX_INDEX, 'v', TUI_A_ATTACHMENTS },
    { TUI_CTX_INDEX, 'A', TUI_A_ACCOUNT },
    { TUI_CTX_INDEX, 0x0c, TUI_A_REDRAW }, { TUI_CTX_INDEX, '?', TUI_A_HELP },

    { TUI_CTX_PAGER, 'j', TUI_A_NEXT }, { TUI_CTX_PAGER, F(KEY_DOWN), TUI_A_NEXT },
    { TUI_CTX_PAGER, '\r', TUI_A_NEXT }, { TUI_CTX_PAGER, F(KEY_ENTER), TUI_A_NEXT },
    { TUI_CTX_PAGER, 'k', TUI_A_PREV }, { TUI_CTX_PAGER, F(KEY_UP), TUI_A_PREV },
    { TUI_CTX_PAGER, ' ', TUI_A_NEXT_PAGE },
    { TUI_CTX_PAGER, F(KEY_NPAGE), TUI_A_NEXT_PAGE },
    { TUI_CTX_PAGER, 'b', TUI_A_PREV_PAGE }, { TUI_CTX_PAGER, '-', TUI_A_PREV_PAGE },
    { TUI_CTX_PAGER, F(KEY_PPAGE), TUI_A_PREV_PAGE },
    { TUI_CTX_PAGER, F(KEY_HOME), TUI_A_FIRST }, { TUI_CTX_PAGER, '^', TUI_A_FIRST },
    { TUI_CTX_PAGER, F(KEY_END), TUI_A_LAST }, { TUI_CTX_PAGER, 'G', TUI_A_LAST },
    { TUI_CTX_PAGER, 'q', TUI_A_EXIT }, { TUI_CTX_PAGER, 'i', TUI_A_EXIT },
    { TUI_CTX_PAGER, F(KEY_LEFT), TUI_A_EXIT },
    { TUI_CTX_PAGER, 'n', TUI_A_NEXT_MSG }, { TUI_CTX_PAGER, 'p', TUI_A_PREV_MSG },
    { TUI_CTX_PAGER, '\t', TUI_A_NEXT_UNREAD },
    { TUI_CTX_PAGER, 'd', TUI_A_DELETE }, { TUI_CTX_PAGER, 'u', TUI_A_UNDELETE },
    { TUI_CTX_PAGER, 'F', TUI_A_FLAG }, { TUI_CTX_PAGER, 'N', TUI_A_TOGGLE_NEW },
    { TUI_CTX_PAGER, 's', TUI_A_SAVE }, { TUI_CTX_PAGER, '|', TUI_A_PIPE },
    { TUI_CTX_PAGER, 'r', TUI_A_REPLY }, { TUI_CTX_PAGER, 'g', TUI_A_GROUP_REPLY },
    { TUI_CTX_PAGER, 'L', TUI_A_LIST_REPLY }, { TUI_CTX_PAGER, 'f', TUI_A_FORWARD },
    { TUI_CTX_PAGER, 'm', TUI_A_COMPOSE }, { TUI_CTX_PAGER, 'R', TUI_A_RECALL },
    { TUI_CTX_PAGER, 'v', TUI_A_ATTACHMENTS },
    { TUI_CTX_PAGER, 0x0c, TUI_A_REDRAW }, { TUI_CTX_PAGER, '?', TUI_A_HELP },
};

/* Key names for `bind` and the help. */
static const struct { const char *name; int key; } key_names[] = {
    { "<Down>", F(KEY_DOWN) }, { "<Up>", F(KEY_UP) },
    { "<Left>", F(KEY_LEFT) }, { "<Right>", F(KEY_RIGHT) },
    { "<PageDown>", F(KEY_NPAGE) }, { "<PageUp>", F(KEY_PPAGE) },
    { "<Home>", F(KEY_HOME) }, { "<End>", F(KEY_END) },
    { "<Enter>", '\r' }, { "<KeypadEnter>", F(KEY_ENTER) },
    { "<Tab>", '\t' }, { "<Space>", ' ' }, { "<Esc>", 27 },
    { "<Backspace>", F(KEY_BACKSPACE) }, { "<Delete>", F(KEY_DC) },
    { "<Insert>", F(KEY_IC) },
};

static const struct tui_color default_colors[TUI_NCOLORS] = {
    [TUI_COLOR_UNREAD] = { TUI_ATTR_BOLD, COLOR_CYAN, -1 },
    [TUI_COLOR_FLAGGED] = { 0, COLOR_RED, -1 },
    [TUI_COLOR_DELETED] = { TUI_ATTR_DIM, COLOR_YELLOW, -1 },
    [TUI_COLOR_STATUS] = { TUI_ATTR_REVERSE, COLOR_WHITE, COLOR_BLUE },
    [TUI_COLOR_QUOTE1] = { 0, COLOR_GREEN, -1 },
    [TUI_COLOR_QUOTE2] = { 0, COLOR_CYAN, -1 },
    [TUI_COLOR_QUOTE3] = { 0, COLOR_MAGENTA, -1 },
    [TUI_COLOR_SEARCH] = { TUI_ATTR_UNDERLINE, -1, -1 },
};

static const char *const color_objs[TUI_NCOLORS] = {
    [TUI_COLOR_UNREAD] = "index-unread", [TUI_COLOR_FLAGGED] = "index-flagged",
    [TUI_COLOR_DELETED] = "index-deleted", [TUI_COLOR_STATUS] = "status",
    [TUI_COLOR_QUOTE1] = "quoted1", [TUI_COLOR_QUOTE2] = "quoted2",
    [TUI_COLOR_QUOTE3] = "quoted3", [TUI_COLOR_SEARCH] = "index-match",
};

static const char *const color_names[] = {
    "black", "red", "green", "yellow", "blue", "magenta", "cyan", "white",
};

static int set_binding(struct tui_keys *k, enum tui_ctx c, int key,
                       enum tui_action a)
{
    for (size_t i = 0; i < k->n[c]; i++)
        if (k->b[c][i].key == key) {
            k->b[c][i].action = a;
            return 0;
        }
    if (k->n[c] == k->alloc[c]) {
        size_t na = k->alloc[c] ? k->alloc[c] * 2 : 64;
        struct binding *v = realloc(k->b[c], na * sizeof *v);

        if (!v)
            return -1;
        k->b[c] = v;
        k->alloc[c] = na;
    }
    k->b[c][k->n[c]++] = (struct binding){ key, a };
    return 0;
}

struct tui_keys *tui_keys_new(void)
{
    struct tui_keys *k = calloc(1, sizeof *k);

    if (!k)
        return NULL;
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        if (set_binding(k, defaults[i].ctx, defaults[i].key,
                        defaults[i].a) < 0) {
            tui_keys_free(k);
            return NULL;
        }
    memcpy(k->colors, default_colors, sizeof k->colors);
    return k;
}

void tui_keys_free(struct tui_keys *k)
{
    if (!k)
        return;
    for (int c = 0; c < TUI_NCTX; c++)
        free(k->b[c]);
    free(k);
}

enum tui_action tui_keys_action(const struct tui_keys *k, enum tui_ctx c,
                                int key)
{
    if (key == '\n')
        key = '\r';
    for (size_t i = 0; i < k->n[c]; i++)
        if (k->b[c][i].key == key)
            return k->b[c][i].action;
    return TUI_A_NONE;
}

const struct tui_color *tui_keys_colors(const struct tui_keys *k)
{
    return k->colors;
}

/* The next blank-separated word of *s (NUL-terminated in place). */
static char *word(char **s)
{
    char *p = *s, *w;

    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p)
        return NULL;
    w = p;
    while (*p && *p != ' ' && *p != '\t')
        p++;
    if (*p)
        *p++ = '\0';
    *s = p;
    return w;
}

/* A key name: one character (UTF-8), ^X or <C-x> for a control key, or
 * one of key_names; -1 when it is none. */
static int parse_key(const char *s)
{
    size_t len = strlen(s), n;
    uint32_t cp;

    for (size_t i = 0; i < sizeof key_names / sizeof key_names[0]; i++)
        if (strcasecmp(s, key_names[i].name) == 0)
            return key_names[i].key;
    if (len == 2 && s[0] == '^' && s[1] >= '@' && s[1] <= '~' &&
        s[1] != '^')
        return (s[1] & 0x1f);
    if (len == 5 && strncasecmp(s, "<C-", 3) == 0 && s[4] == '>' &&
        ((s[3] >= 'a' && s[3] <= 'z') || (s[3] >= 'A' && s[3] <= 'Z')))
        return s[3] & 0x1f;
    if (len >= 4 && strncasecmp(s, "<F", 2) == 0 && s[len - 1] == '>') {
        int f = atoi(s + 2);

        if (f >= 1 && f <= 12)
            return F(KEY_F(f));
    }
    n = mail_utf8_decode(s, len, &cp);
    if (n && n == len && cp > ' ' && cp != 0x7f && (cp < 0x80 || cp >= 0xa0))
        return (int)cp;
    return -1;
}

static int shown(char *out, size_t n, const char *s)
{
    struct mail_buf b = MAIL_BUF_INIT;

    mail_term_safe(&b, s, strlen(s), MAIL_SAFE_ONELINE);
    snprintf(out, n, "%s", b.data ? b.data : "");
    mail_buf_release(&b);
    return 0;
}

static int cfg_err(struct mail_error *err, const char *file, int line,
                   const char *what, const char *w)
{
    char s[64];

    shown(s, sizeof s, w ? w : "");
    return mail_error_set(err, MAIL_ERR_CONFIG, "%s:%d: [tui] %s%s%s%s",
                          file ? file : "config", line, what,
                          w ? " '" : "", s, w ? "'" : "");
}

int tui_keys_bind(struct tui_keys *k, const char *value, const char *file,
                  int line, struct mail_error *err)
{
    char *copy = strdup(value), *p = copy, *ctxw, *keyw, *actw;
    int key, ctx0, ctx1, rc = -1;
    size_t a;

    if (!copy)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    ctxw = word(&p);
    keyw = word(&p);
    actw = word(&p);
    if (!ctxw || !keyw || !actw || word(&p)) {
        cfg_err(err, file, line, "bind takes CONTEXT KEY ACTION (as in "
                "'bind = index d delete-message')", NULL);
        goto out;
    }
    if (strcmp(ctxw, "index") == 0)
        ctx0 = ctx1 = TUI_CTX_INDEX;
    else if (strcmp(ctxw, "pager") == 0)
        ctx0 = ctx1 = TUI_CTX_PAGER;
    else if (strcmp(ctxw, "generic") == 0)
        ctx0 = TUI_CTX_INDEX, ctx1 = TUI_CTX_PAGER;
    else {
        cfg_err(err, file, line, "unknown context (index, pager or "
                "generic):", ctxw);
        goto out;
    }
    if ((key = parse_key(keyw)) < 0) {
        cfg_err(err, file, line, "unknown key:", keyw);
        goto out;
    }
    for (a = 0; a < TUI_NACTIONS; a++)
        if (strcmp(actions[a].name, actw) == 0)
            break;
    if (a == TUI_NACTIONS) {
        cfg_err(err, file, line, "unknown action (see mail-tui(1)):", actw);
        goto out;
    }
    for (int c = ctx0; c <= ctx1; c++)
        if (set_binding(k, (enum tui_ctx)c, key, (enum tui_action)a) < 0) {
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            goto out;
        }
    rc = 0;
out:
    free(copy);
    return rc;
}

/* A color: a name, "default", or colorN (0..255). */
static int parse_color(const char *s, int *c)
{
    if (strcmp(s, "default") == 0) {
        *c = -1;
        return 0;
    }
    for (int i = 0; i < 8; i++)
        if (strcmp(s, color_names[i]) == 0) {
            *c = i;
            return 0;
        }
    if (strncmp(s, "color", 5) == 0 && s[5] >= '0' && s[5] <= '9') {
        char *end;
        long v = strtol(s + 5, &end, 10);

        if (!*end && v >= 0 && v <= 255) {
            *c = (int)v;
            return 0;
        }
    }
    return -1;
}

int tui_keys_color(struct tui_keys *k, const char *value, const char *file,
                   int line, struct mail_error *err)
{
    char *copy = strdup(value), *p = copy, *objw, *w;
    struct tui_color c = { 0, -1, -1 };
    int ncolors = 0, rc = -1;
    size_t o;

    if (!copy)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    if (!(objw = word(&p))) {
        cfg_err(err, file, line, "color takes OBJECT [ATTR...] [FG [BG]] "
                "(as in 'color = index-unread bold green')", NULL);
        goto out;
    }
    for (o = 0; o < TUI_NCOLORS; o++)
        if (strcmp(color_objs[o], objw) == 0)
            break;
    if (o == TUI_NCOLORS) {
        cfg_err(err, file, line, "unknown color object (see mail-tui(1)):",
                objw);
        goto out;
    }
    while ((w = word(&p))) {
        int col;

        if (strcmp(w, "bold") == 0)
            c.attrs |= TUI_ATTR_BOLD;
        else if (strcmp(w, "underline") == 0)
            c.attrs |= TUI_ATTR_UNDERLINE;
        else if (strcmp(w, "reverse") == 0)
            c.attrs |= TUI_ATTR_REVERSE;
        else if (strcmp(w, "dim") == 0)
            c.attrs |= TUI_ATTR_DIM;
        else if (strcmp(w, "normal") == 0)
            c.attrs = 0;
        else if (parse_color(w, &col) == 0 && ncolors < 2)
            *(ncolors++ ? &c.bg : &c.fg) = col;
        else {
            cfg_err(err, file, line, ncolors >= 2 ? "a third color:" :
                    "unknown attribute or color:", w);
            goto out;
        }
    }
    k->colors[o] = c;
    rc = 0;
out:
    free(copy);
    return rc;
}

static void tui_key_name(int key, char *out, size_t n)
{
    for (size_t i = 0; i < sizeof key_names / sizeof key_names[0]; i++)
        if (key_names[i].key == key) {
            snprintf(out, n, "%s", key_names[i].name);
            return;
        }
    if (key & TUI_FKEY) {
        int f = key & ~TUI_FKEY;

        if (f >= KEY_F(1) && f <= KEY_F(12))
            snprintf(out, n, "<F%d>", f - KEY_F0);
        else
            snprintf(out, n, "<key %d>", f);
        return;
    }
    if (key < 0x20) {
        snprintf(out, n, "^%c", key + '@');
        return;
    }
    {
        char u[5] = { 0 };

        if (mail_utf8_encode((uint32_t)key, u))
            snprintf(out, n, "%s", u);
        else
            snprintf(out, n, "?");
    }
}

bool tui_keys_help(const struct tui_keys *k, enum tui_ctx c, size_t *pos,
                   char *keys, size_t n, const char **name,
                   const char **desc)
{
    while (*pos < TUI_NACTIONS) {
        size_t a = (*pos)++, len = 0, count = 0;

        if (a == TUI_A_NONE)
            continue;
        keys[0] = '\0';
        for (size_t i = 0; i < k->n[c] && count < MAX_KEYS; i++) {
            char kn[32];

            if (k->b[c][i].action != (enum tui_action)a)
                continue;
            tui_key_name(k->b[c][i].key, kn, sizeof kn);
            if (len + 1 >= n)
                break;
            len += (size_t)snprintf(keys + len, len < n ? n - len : 0,
                                    "%s%s", count ? ", " : "", kn);
            count++;
        }
        if (!count)
            continue;
        *name = actions[a].name;
        *desc = actions[a].desc;
        return true;
    }
    return false;
}
