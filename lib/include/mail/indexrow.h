/*
 * indexrow.h - one line of a message index, the same for `mail ls` and
 * the reader's index: number, flags, date, sender and subject in columns
 * fitted to the terminal width (wide and combining characters counted as
 * the terminal shows them, cut with "…").
 *
 *     struct mail_index_layout l;
 *     mail_index_layout_init(&l, 80, list.n, datew);
 *     mail_index_flags(e->flags, mail_envelope_attach_mark(e), flags);
 *     mail_index_row(&out, &l, &(struct mail_index_fields){
 *         .number = 3, .flags = flags, .date = "Nov  3", .datelen = 6,
 *         .from = "Bob", .subject = "Lunch?" });
 */
#ifndef MAIL_INDEXROW_H
#define MAIL_INDEXROW_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "folder.h"

/* Does the index mark e as having attachments: a counted attachment, or
 * a multipart/mixed message (known without reading the body)? */
bool mail_envelope_attach_mark(const struct mail_envelope *e);

/*
 * The four flag letters (out[4] = '\0'):
 *   1: N new, U unread (not seen), blank when seen;
 *   2: R replied, P forwarded (passed);
 *   3: F flagged, D draft, T marked deleted (in that order of precedence);
 *   4: A attachment.
 */
void mail_index_flags(unsigned flags, bool attach, char out[5]);

/* The columns of an index on a terminal of `cols` columns (0: not a
 * terminal, nothing is cut). */
struct mail_index_layout {
    size_t cols;
    size_t numw;     /* digits of the largest number */
    size_t datew;    /* the widest date (5..10) */
    size_t fromw;    /* the sender column: 20, less on a narrow terminal */
    size_t subjw;    /* the subject column (the tree marks included): up
                        to the last column but one; 0 when cols is 0 */
};

/* Lay out an index of up to max_number rows whose widest date is datew
 * (mail_short_date_width) on `cols` columns. */
void mail_index_layout_init(struct mail_index_layout *l, size_t cols,
                            size_t max_number, size_t datew);

struct mail_index_fields {
    size_t number;
    const char *flags;        /* mail_index_flags */
    const char *date;         /* mail_short_date: not NUL-terminated */
    size_t datelen;
    const char *from;         /* "": "(nobody)" */
    const char *subject;      /* "": "(no subject)" */
    const char *tree;         /* thread marks before the subject, or NULL */
};

/*
 * Append one index line (no newline) to out.  The strings should be
 * terminal-safe already (mail_term_safe MAIL_SAFE_ONELINE); any that is
 * not is made safe here, so no control character reaches the line.
 * -1 on ENOMEM or cap.
 */
int mail_index_row(struct mail_buf *out, const struct mail_index_layout *l,
                   const struct mail_index_fields *f);

/* The thread marks of `mail ls --thread`: two blanks per level below the
 * first, then "└─"; nothing at depth 0.  Appended to b. */
void mail_index_thread_prefix(struct mail_buf *b, unsigned depth);

/*
 * Tree marks as mutt draws them, for rows in thread order whose depths
 * are depth[0..n): marks[k] (malloc'd, caller frees each and the array)
 * gets "" for a root, else one column pair per ancestor level ("│ " when
 * that ancestor has a later sibling, "  " otherwise) and "├─>" or "└─>"
 * (a later sibling or not).  Levels deeper than 8 are drawn as 8.
 * NULL when out of memory.
 */
char **mail_index_tree_marks(const unsigned *depth, size_t n);

#pragma GCC visibility pop

#endif
