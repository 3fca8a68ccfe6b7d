/*
 * rows.h - the index's rows (struct tui_row) from a listing, made in
 * tui/index.c.  The worker calls it once per listing; it is the part of
 * opening a folder that grows with the folder, so it is done in two
 * steps: before the answer, every row's flags, date and attachment mark
 * and the strings of the rows a first screen shows (the first and last
 * rows, those around the first unread message); after the answer, the
 * other rows' strings, while the UI already draws and takes keys.  The
 * listing itself is made the same way (MAIL_FOLDER_LIST_LAZY): the order,
 * flags and dates of all, then the strings of the first step's rows
 * (tui_rows_prepare), then the others' before the second step.  The
 * strings are the listing's display strings, copied as they are when
 * already terminal-safe (mail_term_is_safe) and decoded only when
 * missing.
 */
#ifndef TUI_ROWS_H
#define TUI_ROWS_H

#include <stdbool.h>

#include "tui.h"
#include "mail/folder.h"

/* Before tui_rows_fill, on a listing made with MAIL_FOLDER_LIST_LAZY:
 * fill (mail_folder_list_fill) the envelopes whose strings its first
 * step copies.  The others are filled before tui_rows_fill_rest. */
int tui_rows_prepare(struct mail_folder *f, struct mail_envelope_list *l,
                     struct mail_error *err);

/* Fill rows->v[0..l->n): every row but the strings of those outside the
 * first screen's reach (NULL until tui_rows_fill_rest).  tui_rows_release
 * (defined beside it) frees it all.  -1 on ENOMEM (rows empty). */
int tui_rows_fill(struct tui_rows *rows, const struct mail_envelope_list *l);

/* Does rows still wait for tui_rows_fill_rest?  Then the block is held
 * for it: it is freed when both the release and the fill are done. */
bool tui_rows_partial(const struct tui_rows *rows);

/* The worker, right after handing rows over in its answer (rows a copy
 * of the struct; l the same listing, unchanged): the other rows' strings,
 * each row published to the UI thread atomically; then the worker's hold
 * on the block goes.  The UI thread redraws on the next wake-up. */
void tui_rows_fill_rest(struct tui_rows *rows,
                        const struct mail_envelope_list *l);

/* The UI thread: row r's sender (subject false) or subject, "" while the
 * second step has not reached it. */
const char *tui_row_text(const struct tui_row *r, bool subject);

#endif
