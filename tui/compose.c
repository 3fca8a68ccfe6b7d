/*
 * compose.c - writing mail in the reader: r, g, L (reply), f (forward),
 * m (a new message) and R (a postponed draft) run the library's compose
 * flow (mail/compose_flow.h), the one `mail reply`, `mail forward` and
 * `mail compose` run, with the reader's own face: the editor on the
 * whole draft with curses left (endwin) and taken back after, then a
 * compose screen listing the header fields and the attachments, with a
 * line at the bottom for the keys (y) send, (e) edit, (h) headers,
 * (a) attach, (d) detach, (p) postpone, (q) quit, each ended by Enter.
 *
 * The original of a reply or forward is read through the worker (a
 * TUI_REQ_MSGFD request) and, after a send the server took, flagged
 * answered or passed through the worker's folder handle too (a
 * TUI_REQ_FLAGS request): the folder is never opened a second time, so
 * an mbox is written once, by the worker, with the flag.
 *
 * The sending itself waits for the server on this thread, with the
 * terminal given back (the send reports on standard error).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ui_internal.h"
#include "mail/addrbook.h"
#include "mail/compose_flow.h"
#include "mail/termsafe.h"

/* s made terminal-safe on one line into b (reset first). */
static const char *safe(struct mail_buf *b, const char *s)
{
    mail_buf_reset(b);
    if (!s || mail_term_safe(b, s, strlen(s), MAIL_SAFE_ONELINE) < 0 ||
        !b->data)
        return "";
    return b->data;
}

/* ---- a line typed on the last line of the screen ---- */

/* Tab in an address prompt (To, Cc, Bcc): the last address of the
 * line (after the last ',' or blank) completed from the address book,
 * as the search and limit prompts do (complete.c); asked here, as the
 * compose screen waits anyway.  Candidates or failures go to note. */
static void complete(struct ui *u, struct mail_buf *line, char *note,
                     size_t size)
{
    struct mail_addrbook_opts o = {
        .paths = u->o->paths, .address_command = u->o->address_command,
    };
    struct tui_lines c = { NULL, 0 };
    struct mail_error err;
    struct mail_buf b = MAIL_BUF_INIT;
    size_t at = line->len;

    mail_error_clear(&err);
    while (at > 0 && line->data[at - 1] != ',' && line->data[at - 1] != ' ')
        at--;
    if (!u->book && !(u->book = mail_addrbook_open(&o, &err))) {
        mail_snprintf(note, size, "%s", safe(&b, err.msg));
    } else if (tui_complete_query(u->book, line->data + at, &c, &err) < 0) {
        mail_snprintf(note, size, "%s", safe(&b, err.msg));
    } else {
        tui_complete_apply(line, at, &c, "", note, size);
    }
    tui_lines_release(&c);
    mail_buf_release(&b);
}

/* The user's answer (malloc'd), starting from initial; NULL when
 * cancelled (Escape, Ctrl-G, Ctrl-C).  u not NULL: an address prompt,
 * where Tab completes (complete). */
static char *ask(struct ui *u, const char *prompt, const char *initial)
{
    struct mail_buf line = MAIL_BUF_INIT, shown = MAIL_BUF_INIT;
    char note[256] = "";
    cchar_t above[512];
    bool noted = false;

    mail_buf_addstr(&line, initial ? initial : "");
    for (;;) {
        wint_t ch;
        int k;

        /* Tab's candidates on the line above the prompt, over the
         * compose screen's keys, which come back after. */
        if (*note) {
            if (!noted)
                mvin_wchnstr(LINES - 2, 0, above,
                             COLS < 511 ? COLS : 511);
            noted = true;
            move(LINES - 2, 0);
            clrtoeol();
            addnstr(note, COLS > 0 ? COLS : 80);
        } else if (noted) {
            noted = false;
            move(LINES - 2, 0);
            clrtoeol();
            mvadd_wchnstr(LINES - 2, 0, above, COLS < 511 ? COLS : 511);
        }
        move(LINES - 1, 0);
        clrtoeol();
        addstr(prompt);
        addstr(safe(&shown, line.data));
        refresh();
        k = get_wch(&ch);
        if (k == ERR)
            continue;
        if (k == OK && ch == '\t' && u) {
            complete(u, &line, note, sizeof note);
            continue;
        }
        note[0] = '\0';
        if ((k == KEY_CODE_YES && ch == KEY_ENTER) ||
            (k == OK && (ch == '\r' || ch == '\n')))
            break;
        if (k == OK && (ch == 27 || ch == CTRL('g') || ch == CTRL('c'))) {
            mail_buf_release(&line);
            mail_buf_release(&shown);
            return NULL;
        }
        if ((k == KEY_CODE_YES && ch == KEY_BACKSPACE) ||
            (k == OK && (ch == 0x7f || ch == CTRL('h')))) {
            /* One character back (UTF-8 continuation bytes too). */
            while (line.len &&
                   ((unsigned char)line.data[--line.len] & 0xc0) == 0x80)
                ;
            line.data[line.len] = '\0';
        } else if (k == OK && ch == CTRL('u')) {
            mail_buf_reset(&line);
            mail_buf_addstr(&line, "");
        } else if (k == OK && ch >= 0x20 && ch != 0x7f) {
            char e[4];
            size_t n = mail_utf8_encode((uint32_t)ch, e);

            if (n) {
                mail_buf_add(&line, e, n);
                mail_buf_addstr(&line, "");
            }
        }
    }
    mail_buf_release(&shown);
    return mail_buf_detach(&line);
}

/* One key: the first character of the answer, lowercased; 0 when
 * cancelled. */
static char ask_key(const char *prompt)
{
    char *l = ask(NULL, prompt, NULL), c;

    if (!l)
        return 0;
    c = *l >= 'A' && *l <= 'Z' ? (char)(*l - 'A' + 'a') : *l;
    free(l);
    return c ? c : '?';
}

/* ---- the compose screen ---- */

static void draw(struct mail_compose_flow *fl, const char *from,
                 const char *note)
{
    const struct mail_draft *d = mail_compose_flow_draft(fl);
    const char *const name[] = { "From:", "To:", "Cc:", "Bcc:", "Subject:" };
    const char *const val[] = { from, d->to, d->cc, d->bcc, d->subject };
    struct mail_buf b = MAIL_BUF_INIT;
    long long fwd = mail_compose_flow_forwarded_size(fl);
    char size[32];
    int y = 2;

    erase();
    attron(A_REVERSE);
    mvhline(0, 0, ' ', COLS);
    mvaddstr(0, 0, "mail: compose");
    attroff(A_REVERSE);
    for (size_t i = 0; i < 5 && y < LINES - 3; i++, y++) {
        mvaddstr(y, 0, name[i]);
        mvaddnstr(y, 9, safe(&b, val[i]), COLS > 9 ? COLS - 9 : 0);
    }
    y++;
    if (y < LINES - 3)
        mvaddstr(y++, 0, d->nattach || fwd >= 0 || d->rfc822
                             ? "Attachments:" : "No attachments.");
    for (size_t i = 0; i < d->nattach && y < LINES - 3; i++, y++) {
        const char *base = strrchr(d->attach[i], '/');
        struct stat st;

        mail_compose_size_text(size, sizeof size,
                   stat(d->attach[i], &st) == 0 ? (long long)st.st_size : 0);
        mvprintw(y, 0, "  [%zu] ", i + 1);
        addstr(safe(&b, base ? base + 1 : d->attach[i]));
        printw("  (%s)", size);
    }
    if (fwd >= 0 && y < LINES - 3) {
        mail_compose_size_text(size, sizeof size, fwd);
        mvprintw(y++, 0, "  [-] the forwarded message  (message/rfc822, %s)",
                 size);
    } else if (d->rfc822 && y < LINES - 3) {
        mvaddstr(y++, 0, "  [-] forwarded.eml  (message/rfc822)");
    }
    attron(A_REVERSE);
    mvhline(LINES - 2, 0, ' ', COLS);
    mvaddnstr(LINES - 2, 0, "(y) send, (e) edit, (h) headers, (a) attach, "
              "(d) detach, (p) postpone, (q) quit", COLS);
    attroff(A_REVERSE);
    if (note && *note)
        mvaddnstr(LINES - 1, 0, safe(&b, note), COLS);
    mail_buf_release(&b);
    refresh();
}

/* ---- the session ---- */

/* The original's flag, set through the worker's folder handle. */
struct mark {
    struct ui *u;
    size_t idx;
};

static int mark_original(void *arg, unsigned flag, struct mail_error *err)
{
    struct mark *m = arg;

    (void)err;
    ui_post(m->u, TUI_REQ_FLAGS, m->idx, flag, 0);
    return 0;
}

static const char *editor(void)
{
    const char *ed = getenv("VISUAL");

    if (!ed || !*ed)
        ed = getenv("EDITOR");
    return ed && *ed ? ed : "vi";
}

/* Start the flow for how; false (u->msg says why) when it did not. */
static bool start(struct ui *u, struct mail_compose_flow *fl,
                  enum tui_compose how, int fd, struct mark *mk,
                  struct mail_error *err)
{
    struct mail_compose_original orig = {
        .fd = fd, .mark = mark_original, .mark_arg = mk,
        .folder_name = u->folder_path ? u->folder_path : u->o->source.path,
    };
    const struct mail_envelope_list *l;
    char *to, *subject, *which;
    size_t idx = 0;
    int rc;

    switch (how) {
    case TUI_REPLY:
        return mail_compose_flow_start_reply(fl, &orig, MAIL_REPLY_SENDER,
                                             err) == 0;
    case TUI_REPLY_ALL:
        return mail_compose_flow_start_reply(fl, &orig, MAIL_REPLY_ALL,
                                             err) == 0;
    case TUI_REPLY_LIST:
        return mail_compose_flow_start_reply(fl, &orig, MAIL_REPLY_LIST,
                                             err) == 0;
    case TUI_FORWARD: {
        char k = ask_key("Forward as an attachment? (y)es, (n)o: ");

        if (!k)
            return false;
        return mail_compose_flow_start_forward(fl, &orig, k == 'y', NULL, 0,
                                               err) == 0;
    }
    case TUI_COMPOSE: {
        struct mail_compose_new n = { 0 };

        if (!(to = ask(u, "To: ", NULL)))
            return false;
        if (!(subject = ask(NULL, "Subject: ", NULL))) {
            free(to);
            return false;
        }
        n.to = to;
        n.subject = subject;
        rc = mail_compose_flow_start_new(fl, &n, err);
        free(to);
        free(subject);
        return rc == 0;
    }
    case TUI_RESUME:
        if (!(l = mail_compose_flow_drafts(fl, err)))
            return false;
        if (l->n == 0) {
            mail_snprintf(u->msg, sizeof u->msg, "no postponed drafts");
            return false;
        }
        if (l->n > 1) {
            char prompt[64], *end;
            unsigned long k;

            mail_snprintf(prompt, sizeof prompt, "Resume which (1-%zu)? ", l->n);
            if (!(which = ask(NULL, prompt, NULL)))
                return false;
            k = strtoul(which, &end, 10);
            rc = end == which || *end || k < 1 || k > l->n;
            free(which);
            if (rc) {
                mail_snprintf(u->msg, sizeof u->msg, "no such draft");
                return false;
            }
            idx = (size_t)k - 1;
        }
        return mail_compose_flow_start_resume(fl, idx, err) == 0;
    }
    return false;
}

/* The header fields at prompts, each starting from its value; Tab
 * completes in To, Cc and Bcc. */
static void edit_headers(struct ui *u, struct mail_compose_flow *fl)
{
    static const char *const prompt[] = { "To: ", "Cc: ", "Bcc: ",
                                          "Subject: " };
    struct mail_draft *d = mail_compose_flow_draft(fl);
    struct mail_error err;

    for (int i = 0; i < 4; i++) {
        char *const v[] = { d->to, d->cc, d->bcc, d->subject };
        char *l = ask(i < 3 ? u : NULL, prompt[i], v[i]);

        if (!l)
            return;
        (void)mail_compose_flow_set_field(fl, (enum mail_compose_field)i, l,
                                          &err);
        free(l);
    }
}

/* The send, with the terminal given back for what it reports.  Returns
 * true when it is done with (sent or queued). */
static bool send(struct ui *u, struct mail_compose_flow *fl)
{
    struct mail_compose_sent res;
    struct mail_error err;
    struct mail_buf b = MAIL_BUF_INIT;
    bool ok;

    mail_error_clear(&err);
    ui_shell_begin();
    if (mail_compose_flow_send(fl, &res, &err) < 0) {
        ui_shell_end(false);
        mail_snprintf(u->msg, sizeof u->msg, "not sent: %s", safe(&b, err.msg));
        mail_buf_release(&b);
        return false;
    }
    ok = res.status == MAIL_OK;
    ui_shell_end(!ok);
    if (!ok)
        mail_snprintf(u->msg, sizeof u->msg, "not sent (%s)",
                 mail_error_kind_name(res.status));
    else if (res.mark_err.kind != MAIL_OK)
        mail_snprintf(u->msg, sizeof u->msg, "sent; the original not flagged: %s",
                 safe(&b, res.mark_err.msg));
    else if (res.draft_err.kind != MAIL_OK)
        mail_snprintf(u->msg, sizeof u->msg, "sent; the draft not removed: %s",
                 safe(&b, res.draft_err.msg));
    else
        mail_snprintf(u->msg, sizeof u->msg, res.delivered ? "sent" : "queued");
    mail_buf_release(&b);
    return ok;
}

static void run(struct ui *u, enum tui_compose how, int fd, size_t idx)
{
    struct mail_compose_flow *fl;
    struct mark mk = { u, idx };
    struct mail_error err;
    struct mail_buf b = MAIL_BUF_INIT, from = MAIL_BUF_INIT;
    char note[256] = "";
    bool edit = true, done = false;

    mail_error_clear(&err);
    mail_snprintf(u->msg, sizeof u->msg, "not sent");
    if (!(fl = mail_compose_flow_new(u->o->flow, &err)))
        goto fail;
    if (!start(u, fl, how, fd, &mk, &err))
        goto fail;
    mail_buf_addstr(&from, u->o->flow->acct->address
                               ? u->o->flow->acct->address : "");
    while (!done) {
        char k;

        if (edit) {
            int rc;

            ui_shell_begin();
            rc = mail_compose_flow_edit(fl, editor(), &err);
            ui_shell_end(false);
            if (rc < 0)
                goto fail;
            *note = '\0';
            if (rc > 0)
                mail_snprintf(note, sizeof note, "%s (e: edit again)", err.msg);
            edit = false;
        }
        draw(fl, from.data, note);
        *note = '\0';
        k = ask_key("Key: ");
        switch (k) {
        case 'y':
            done = send(u, fl);
            if (!done)
                mail_snprintf(note, sizeof note, "%s", u->msg);
            break;
        case 'e':
            edit = true;
            break;
        case 'h':
            edit_headers(u, fl);
            break;
        case 'a': {
            char *l = ask(NULL, "Attach file: ", NULL);

            if (l && *l && mail_compose_flow_attach(fl, l, &err) < 0)
                mail_snprintf(note, sizeof note, "%s", err.msg);
            free(l);
            break;
        }
        case 'd': {
            size_t n = mail_compose_flow_draft(fl)->nattach, i = 0;

            if (n > 1) {
                char prompt[64], *l, *end;

                mail_snprintf(prompt, sizeof prompt, "Detach which (1-%zu)? ", n);
                if (!(l = ask(NULL, prompt, NULL)))
                    break;
                i = strtoul(l, &end, 10);
                i = end == l || *end || i < 1 ? n : i - 1;
                free(l);
            }
            if (mail_compose_flow_detach(fl, i, &err) < 0)
                mail_snprintf(note, sizeof note, "%s", err.msg);
            break;
        }
        case 'p': {
            bool saved = false;

            if (mail_compose_flow_postpone(fl, &saved, &err) < 0 && !saved) {
                mail_snprintf(note, sizeof note, "not postponed: %s", err.msg);
                break;
            }
            mail_snprintf(u->msg, sizeof u->msg, "postponed to %s",
                     safe(&b, mail_compose_flow_drafts_name(fl)));
            done = true;
            break;
        }
        case 'q':
        case 0:
            if (k && mail_compose_flow_changed(fl) &&
                ask_key("Discard your changes? (y)es, (n)o: ") != 'y')
                break;
            mail_snprintf(u->msg, sizeof u->msg, "not sent");
            done = true;
            break;
        default:
            mail_snprintf(note, sizeof note, "unknown key");
        }
    }
    goto out;
fail:
    if (err.kind != MAIL_OK)
        mail_snprintf(u->msg, sizeof u->msg, "not sent: %s", safe(&b, err.msg));
out:
    mail_compose_flow_free(fl);
    mail_buf_release(&b);
    mail_buf_release(&from);
    clearok(curscr, TRUE);
    ui_post(u, TUI_REQ_RELIST, 0, 0, 0);
}

void ui_compose(struct ui *u, enum tui_compose how, size_t idx)
{
    struct tui_req *r;

    if (!u->o->flow) {
        mail_snprintf(u->msg, sizeof u->msg, "writing mail is not available "
                 "here (no account)");
        return;
    }
    if (how == TUI_COMPOSE || how == TUI_RESUME) {
        run(u, how, -1, 0);
        return;
    }
    if (idx >= u->rows.n)
        return;
    /* The original comes from the worker; run() when it answers. */
    if ((r = ui_new_req(u, TUI_REQ_MSGFD, idx))) {
        r->compose = (int)how + 1;
        ui_post_req(u, r);
    }
}

void ui_compose_answer(struct ui *u, struct tui_req *r)
{
    int fd = r->fd;

    if (r->status != TUI_DONE || fd < 0) {
        if (r->status == TUI_ERROR)
            ui_show_error(u, r);
        return;
    }
    r->fd = -1;
    run(u, (enum tui_compose)(r->compose - 1), fd, r->idx);
    close(fd);
}
