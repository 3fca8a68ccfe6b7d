/*
 * rows.h - the index's rows (struct tui_row) from a listing, made in
 * tui/index.c.  The worker calls it once per listing; it is the part of
 * opening a folder that grows with the folder, so it copies the display
 * strings a borrowed listing has ready (terminal-safe already, checked
 * without building anything) and decodes only when they are missing.
 */
#ifndef TUI_ROWS_H
#define TUI_ROWS_H

#include "tui.h"
#include "mail/folder.h"

/* Fill rows->v[0..l->n): the rows and their strings in one block, which
 * tui_rows_release (defined beside it) frees.  -1 on ENOMEM (rows
 * empty). */
int tui_rows_fill(struct tui_rows *rows, const struct mail_envelope_list *l);

#endif
