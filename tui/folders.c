/*
 * folders.c - the folder list (y: the store's folders with their counts)
 * and changing folders (c, or Enter in the list): the worker opens the
 * new folder and the old one stays open when it cannot (see
 * ui_internal.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ui_internal.h"
#include "mail/date.h"
#include "mail/indexrow.h"
#include "mail/sort.h"
#include "mail/termsafe.h"
#include "mail/width.h"

void ui_draw_folders(struct ui *u)
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
            ui_put_fit(y, 0, b.data, b.len, (size_t)COLS);
        attrset(A_NORMAL);
        mail_buf_release(&b);
    }
}

/* "=NAME" in the store, else a path ("~" expanded by the folder). */
char *ui_folder_path(struct ui *u, const char *name)
{
    struct mail_error err;
    char *p;

    mail_error_clear(&err);
    if (name[0] == '=') {
        if (!u->store) {
            snprintf(u->msg, sizeof u->msg, "error: no account store for "
                     "=NAME");
            return NULL;
        }
        p = mail_store_folder_path(u->store, name + 1, &err);
        if (!p)
            ui_show_error(u, &(struct tui_req){ .err = err });
        return p;
    }
    return strdup(name);
}

void ui_change_folder(struct ui *u, const char *name, const char *path)
{
    struct tui_req *r;

    if (u->rendering)
        ui_cancel(u, u->rendering);
    if (!(r = ui_new_req(u, TUI_REQ_OPEN, 0)))
        return;
    r->path = path ? strdup(path) : ui_folder_path(u, name);
    r->label = strdup(name);
    if (!r->path || !r->label) {
        tui_req_free(r);
        return;
    }
    snprintf(u->msg, sizeof u->msg, "opening");
    if (u->opening)
        ui_cancel(u, u->opening);
    u->opening = ui_post_req(u, r);
}

/* A: the inbox of account `name`, with its store and server. */
void ui_change_account(struct ui *u, const char *name)
{
    struct tui_account a = { NULL, NULL, NULL, NULL };
    struct mail_error err;
    struct tui_req *r;

    mail_error_clear(&err);
    if (u->o->account(u->o->account_arg, name, &a, &err) < 0) {
        ui_show_error(u, &(struct tui_req){ .err = err });
        return;
    }
    if (!(r = ui_new_req(u, TUI_REQ_ACCOUNT, 0))) {
        free(a.path);
        free(a.label);
        return;
    }
    r->path = a.path;
    r->label = a.label;
    r->store = a.store;
    r->remote = a.remote;
    if (u->rendering)
        ui_cancel(u, u->rendering);
    if (u->opening)
        ui_cancel(u, u->opening);
    snprintf(u->msg, sizeof u->msg, "opening");
    u->opening = ui_post_req(u, r);
}

void ui_folders_key(struct ui *u, wint_t ch, bool fkey)
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

            /* imap: entries are named as they are opened. */
            mail_buf_printf(&name, "%s%s", f->imap ? "" : "=", f->name);
            if (name.data)
                ui_change_folder(u, name.data, f->path);
            mail_buf_release(&name);
        }
    } else if ((!fkey && (ch == 'q' || ch == 27)) ||
               (fkey && ch == KEY_LEFT)) {
        if (u->listing)
            ui_cancel(u, u->listing);
        u->view = VIEW_INDEX;
    }
}
