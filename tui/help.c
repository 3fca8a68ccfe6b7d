/*
 * help.c - the reader's help screen (?): every key of the live binding
 * table (keys.c), index then pager, and the keys of the help itself (see
 * ui_internal.h).
 */
#include "ui_internal.h"
#include "mail/buf.h"

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

void ui_draw_help(struct ui *u)
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

void ui_help_key(struct ui *u, wint_t ch, bool fkey)
{
    if ((!fkey && (ch == 'j' || ch == ' ')) ||
        (fkey && (ch == KEY_DOWN || ch == KEY_NPAGE)))
        u->help_top++;
    else if ((!fkey && ch == 'k') || (fkey && ch == KEY_UP))
        u->help_top = u->help_top ? u->help_top - 1 : 0;
    else if (!fkey && (ch == 'q' || ch == '?' || ch == 27))
        u->view = u->help_back;
}
