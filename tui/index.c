/*
 * index.c - the reader's index: the rows of mail ls, the view the worker
 * computes (limit, sort, threads), the search's matches, flag changes
 * shown at once, and the index's keys (see ui_internal.h).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "ui_internal.h"
#include "rows.h"
#include "mail/address.h"
#include "mail/date.h"
#include "mail/indexrow.h"
#include "mail/rfc2047.h"
#include "mail/sort.h"
#include "mail/termsafe.h"
#include "mail/width.h"

/* ---- rows from a listing (rows.h) ---- */

/* The first sender's name, else its address, decoded and made safe. */
static char *shown_from(const struct mail_envelope *e)
{
    struct mail_addrlist l = MAIL_ADDRLIST_INIT;
    struct mail_error err;
    const char *s = "";
    char *out;

    if (e->from_display || e->borrowed)
        return mail_term_safe_dup(e->from_display ? e->from_display : "",
                                  e->from_display ? strlen(e->from_display)
                                                  : 0,
                                  MAIL_SAFE_ONELINE);
    if (e->from && mail_addrlist_parse(&l, e->from, &err) == 0) {
        for (size_t i = 0; i < l.n; i++) {
            const struct mail_address *a = &l.v[i];

            if (a->name && *a->name) {
                s = a->name;
                break;
            }
            if (*a->addr) {
                s = a->addr;
                break;
            }
        }
    }
    out = mail_term_safe_dup(s, strlen(s), MAIL_SAFE_ONELINE);
    mail_addrlist_release(&l);
    return out;
}

static char *shown_subject(const struct mail_envelope *e)
{
    struct mail_buf d = MAIL_BUF_INIT;
    char *out;

    if (e->subject_display || e->borrowed)
        return mail_term_safe_dup(
            e->subject_display ? e->subject_display : "",
            e->subject_display ? strlen(e->subject_display) : 0,
            MAIL_SAFE_ONELINE);
    if (e->subject)
        mail_rfc2047_decode(&d, e->subject, strlen(e->subject));
    out = mail_term_safe_dup(d.data ? d.data : "", d.len,
                             MAIL_SAFE_ONELINE);
    mail_buf_release(&d);
    return out;
}

/* The strings of one row before they go into the block: borrowed (the
 * listing's display strings, safe already) or made here (owned). */
struct row_text {
    const char *s[3];     /* from, subject, ref */
    size_t len[3];
    unsigned owned;       /* bit k: s[k] malloc'd here */
};

/* One of the two shown strings: the listing's display string when it
 * has one ready (copied as it is when already safe), else made here. */
static void shown(struct row_text *t, int k, const struct mail_envelope *e)
{
    bool ready = k == 0 ? e->from_display || e->borrowed
                        : e->subject_display || e->borrowed;
    const char *d = k == 0 ? e->from_display : e->subject_display;

    if (ready) {
        t->s[k] = d ? d : "";
        t->len[k] = strlen(t->s[k]);
        if (mail_term_is_safe(t->s[k], t->len[k], MAIL_SAFE_ONELINE))
            return;
        t->s[k] = mail_term_safe_dup(t->s[k], t->len[k],
                                     MAIL_SAFE_ONELINE);
    } else {
        t->s[k] = k == 0 ? shown_from(e) : shown_subject(e);
    }
    t->owned |= 1u << k;
    t->len[k] = t->s[k] ? strlen(t->s[k]) : 0;
}

static void text_of(const struct mail_envelope *e, struct row_text *t)
{
    /* The Message-ID first: a Maildir file is renamed by every flag. */
    const char *ref = e->message_id && *e->message_id ? e->message_id
                    : e->path;

    t->owned = 0;
    shown(t, 0, e);
    shown(t, 1, e);
    t->s[2] = ref;
    t->len[2] = ref ? strlen(ref) : 0;
}

/*
 * The rows of a listing in two steps.  tui_rows_fill (the worker, before
 * its answer) makes every row's flags, date and attachment mark (what the
 * status line, the first unread and the date column need) and the
 * strings of only the rows a first screen can show: the first and the
 * last WINDOW rows and WINDOW on each side of the first unread message.
 * tui_rows_fill_rest (the worker, right after the answer, before it
 * serves anything else) makes the others' strings and publishes each
 * row's pointers with a release store; the UI thread reads them with an
 * acquire load (tui_row_text) and draws a row not filled yet without its
 * sender and subject until the worker's wake-up redraws it.  Only these
 * pointers are shared: the flags the UI changes are other fields, which
 * the worker never writes.
 *
 * Memory: one block for the head and the rows, one for the strings of
 * each step.  The head counts who holds them (the UI's rows, and the
 * worker until its second step is done): the last to let go frees all.
 */
#define WINDOW 100

struct rows_head {
    int refs;             /* atomic: 1, or 2 while the second step runs */
    bool partial;         /* the second step is still to run */
    size_t unread;        /* the first unread row (the window's centre) */
    char *first, *rest;   /* the strings of each step */
};

/* The head sits before rows->v, padded so that the rows stay aligned. */
#define HEAD_SIZE ((sizeof(struct rows_head) + _Alignof(max_align_t) - 1) / \
                   _Alignof(max_align_t) * _Alignof(max_align_t))

static struct rows_head *head_of(const struct tui_rows *rows)
{
    return (struct rows_head *)(void *)((char *)rows->v - HEAD_SIZE);
}

static void head_drop(struct rows_head *h)
{
    if (__atomic_sub_fetch(&h->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        free(h->first);
        free(h->rest);
        free(h);
    }
}

/* Is row i one of those the first step fills? */
static bool in_window(size_t i, size_t n, size_t unread)
{
    return i < WINDOW || i + WINDOW >= n ||
           (i + WINDOW >= unread && i <= unread + WINDOW);
}

/* The strings of the rows of step `first` (in_window) copied into one
 * new block, *block; each such row's pointers set, with release stores
 * when publish.  -1 on ENOMEM (no row changed). */
static int fill_strings(struct tui_row *v, const struct mail_envelope *e,
                        size_t n, bool first, size_t unread, bool publish,
                        char **block)
{
    struct row_text *t;
    size_t *idx, total = 0, m = 0, cap;
    char *at, *b = NULL;
    int rc = -1;

    *block = NULL;
    /* Room for this step's rows only (the first step's are a few
     * hundred of n). */
    cap = 0;
    for (size_t i = 0; i < n; i++)
        cap += in_window(i, n, unread) == first;
    t = malloc((cap ? cap : 1) * sizeof *t);
    idx = malloc((cap ? cap : 1) * sizeof *idx);
    if (!t || !idx)
        goto out;
    /* Two passes: the lengths (each row's strings found, and made only
     * where the listing has no safe display string ready), the copies. */
    for (size_t i = 0; i < n; i++) {
        if (in_window(i, n, unread) != first)
            continue;
        idx[m] = i;
        text_of(&e[i], &t[m]);
        m++;
        if (((t[m - 1].owned & 1) && !t[m - 1].s[0]) ||
            ((t[m - 1].owned & 2) && !t[m - 1].s[1]))
            goto out;
        total += t[m - 1].len[0] + t[m - 1].len[1] + t[m - 1].len[2] + 3;
    }
    if (!(b = malloc(total ? total : 1)))
        goto out;
    mail_big_block_hint(b, total);
    at = b;
    for (size_t j = 0; j < m; j++) {
        size_t i = idx[j];
        char *p[3];

        for (int k = 0; k < 3; k++) {
            p[k] = at;
            if (t[j].len[k])
                memcpy(at, t[j].s[k], t[j].len[k]);
            at[t[j].len[k]] = '\0';
            at += t[j].len[k] + 1;
        }
        if (!t[j].s[2])
            p[2] = NULL;
        if (publish) {
            __atomic_store_n(&v[i].ref, p[2], __ATOMIC_RELEASE);
            __atomic_store_n(&v[i].subject, p[1], __ATOMIC_RELEASE);
            __atomic_store_n(&v[i].from, p[0], __ATOMIC_RELEASE);
        } else {
            v[i].from = p[0];
            v[i].subject = p[1];
            v[i].ref = p[2];
        }
    }
    *block = b;
    rc = 0;
out:
    for (size_t j = 0; j < m; j++)
        for (int k = 0; k < 2; k++)
            if (t[j].owned & (1u << k))
                free((char *)t[j].s[k]);
    free(t);
    free(idx);
    return rc;
}

/* The first unread row in listing order (where the reader opens), else
 * the last. */
static size_t first_unread_of(const struct mail_envelope_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (!(l->v[i].flags & MAIL_FLAG_SEEN))
            return i;
    return l->n ? l->n - 1 : 0;
}

int tui_rows_prepare(struct mail_folder *f, struct mail_envelope_list *l,
                     struct mail_error *err)
{
    size_t n = l->n, u = first_unread_of(l);

    /* in_window's three ranges */
    if (mail_folder_list_fill(f, l, 0, WINDOW, err) < 0 ||
        mail_folder_list_fill(f, l, n > WINDOW ? n - WINDOW : 0, n, err) < 0 ||
        mail_folder_list_fill(f, l, u > WINDOW ? u - WINDOW : 0,
                              u + WINDOW + 1, err) < 0)
        return -1;
    return 0;
}

int tui_rows_fill(struct tui_rows *rows, const struct mail_envelope_list *l)
{
    size_t n = l->n, size = HEAD_SIZE + (n ? n : 1) * sizeof *rows->v;
    struct rows_head *h;
    struct tui_row *v;

    rows->v = NULL;
    rows->n = 0;
    if (!(h = malloc(size)))
        return -1;
    mail_big_block_hint(h, size);
    memset(h, 0, sizeof *h);
    h->unread = first_unread_of(l);
    v = (struct tui_row *)(void *)((char *)h + HEAD_SIZE);
    for (size_t i = 0; i < n; i++) {
        const struct mail_envelope *e = &l->v[i];

        v[i].from = v[i].subject = v[i].ref = NULL;
        v[i].when = e->has_date ? e->date : e->received;
        v[i].flags = e->flags;
        v[i].attach = mail_envelope_attach_mark(e);
        if (!in_window(i, n, h->unread))
            h->partial = true;
    }
    if (fill_strings(v, l->v, n, true, h->unread, false, &h->first) < 0) {
        free(h);
        return -1;
    }
    h->refs = h->partial ? 2 : 1;
    rows->v = v;
    rows->n = n;
    return 0;
}

bool tui_rows_partial(const struct tui_rows *rows)
{
    return rows->v && head_of(rows)->partial;
}

void tui_rows_fill_rest(struct tui_rows *rows,
                        const struct mail_envelope_list *l)
{
    struct rows_head *h;

    if (!tui_rows_partial(rows))
        return;
    h = head_of(rows);
    /* Out of memory: those rows stay without sender and subject. */
    if (l->n == rows->n)
        fill_strings(rows->v, l->v, rows->n, false, h->unread, true,
                     &h->rest);
    head_drop(h);
}

/* Both blocks go with the head, when the worker is done with them. */
void tui_rows_release(struct tui_rows *r)
{
    if (r->v)
        head_drop(head_of(r));
    r->v = NULL;
    r->n = 0;
}

const char *tui_row_text(const struct tui_row *r, bool subject)
{
    const char *s = subject ? __atomic_load_n(&r->subject, __ATOMIC_ACQUIRE)
                            : __atomic_load_n(&r->from, __ATOMIC_ACQUIRE);

    return s ? s : "";
}

/* ---- the index on the screen ---- */

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
        a = ui_color_attr(u, TUI_COLOR_UNREAD);
    if (r->flags & MAIL_FLAG_FLAGGED)
        a = (a & A_BOLD) | ui_color_attr(u, TUI_COLOR_FLAGGED);
    if (r->flags & MAIL_FLAG_DELETED)
        a = (a & A_BOLD) | ui_color_attr(u, TUI_COLOR_DELETED);
    if (u->match && u->match_gen == u->rows.gen && i < u->nmatch &&
        u->match[i])
        a |= ui_color_attr(u, TUI_COLOR_SEARCH);
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
        .from = tui_row_text(r, false), .subject = tui_row_text(r, true),
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

void ui_draw_index(struct ui *u)
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

/* Open at the first unread message, else the last one. */
void ui_first_unread(struct ui *u)
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

void ui_take_view(struct ui *u, struct tui_req *r)
{
    size_t row = cur_row(u);

    ui_free_marks(u);
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

void ui_take_search(struct ui *u, struct tui_req *r)
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

/* d, u, F, N on message idx. */
bool ui_flag_action(struct ui *u, enum tui_action a, size_t idx)
{
    unsigned f;

    if (idx >= u->rows.n || !u->loaded)
        return false;
    f = u->rows.v[idx].flags;
    switch (a) {
    case TUI_A_DELETE:
        ui_post(u, TUI_REQ_FLAGS, idx, MAIL_FLAG_DELETED, 0);
        /* Shown at once; the answer confirms it. */
        u->rows.v[idx].flags |= MAIL_FLAG_DELETED;
        return true;
    case TUI_A_UNDELETE:
        ui_post(u, TUI_REQ_FLAGS, idx, 0, MAIL_FLAG_DELETED);
        u->rows.v[idx].flags &= ~(unsigned)MAIL_FLAG_DELETED;
        return true;
    case TUI_A_FLAG:
        ui_post(u, TUI_REQ_FLAGS, idx, (f & MAIL_FLAG_FLAGGED) ? 0 :
             MAIL_FLAG_FLAGGED, (f & MAIL_FLAG_FLAGGED) ? MAIL_FLAG_FLAGGED
                                                        : 0);
        u->rows.v[idx].flags ^= MAIL_FLAG_FLAGGED;
        return true;
    case TUI_A_TOGGLE_NEW:
        ui_post(u, TUI_REQ_FLAGS, idx, (f & MAIL_FLAG_SEEN) ? 0 : MAIL_FLAG_SEEN,
             (f & MAIL_FLAG_SEEN) ? MAIL_FLAG_SEEN : 0);
        u->rows.v[idx].flags ^= MAIL_FLAG_SEEN;
        return true;
    default:
        return false;
    }
}

size_t ui_next_unread(const struct ui *u, size_t from_v)
{
    for (size_t v = from_v + 1; v < u->nvis; v++)
        if (!(u->rows.v[u->vis[v]].flags & MAIL_FLAG_SEEN))
            return v;
    return u->nvis;
}

void ui_index_action(struct ui *u, enum tui_action a)
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
        ui_open_message(u, cur_row(u));
        break;
    case TUI_A_NEXT_UNREAD:
        if ((v = ui_next_unread(u, u->cur)) < n)
            u->cur = v;
        else
            snprintf(u->msg, sizeof u->msg, "no more unread messages");
        break;
    case TUI_A_DELETE:
        if (ui_flag_action(u, a, cur_row(u)) && u->cur + 1 < n)
            u->cur++;
        break;
    case TUI_A_SYNC:
        if (u->loaded) {
            ui_post(u, TUI_REQ_SYNC, 0, 0, 0);
            snprintf(u->msg, sizeof u->msg, "syncing");
        }
        break;
    case TUI_A_SEARCH:
        ui_start_prompt(u, PROMPT_SEARCH, 0);
        break;
    case TUI_A_SEARCH_NEXT:
        goto_match(u);
        break;
    case TUI_A_LIMIT:
        ui_start_prompt(u, PROMPT_LIMIT, 0);
        break;
    case TUI_A_THREADS:
        u->thread = !u->thread;
        ui_request_view(u);
        break;
    case TUI_A_SORT:
        /* delivery, date, from, subject, size, and round again */
        u->thread = false;
        u->sort = (u->sort + 1) % (MAIL_SORT_SIZE + 1);
        ui_request_view(u);
        break;
    case TUI_A_SORT_REVERSE:
        u->thread = false;
        u->reverse = !u->reverse;
        ui_request_view(u);
        break;
    case TUI_A_CHANGE_FOLDER:
        ui_start_prompt(u, PROMPT_CHANGE, 0);
        break;
    case TUI_A_FOLDER_LIST:
        u->view = VIEW_FOLDERS;
        if (u->listing)
            ui_cancel(u, u->listing);
        u->listing = ui_post(u, TUI_REQ_FOLDERS, 0, 0, 0);
        break;
    default:
        ui_common_action(u, a, cur_row(u));
        break;
    }
}
