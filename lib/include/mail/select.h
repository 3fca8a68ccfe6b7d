/*
 * select.h - the listing numbers of `mail ls` and what MSG arguments mean,
 * shared by ls, read, flag, mv, rm and the reader (lib/store/select.c).
 *
 * A listing is kept per folder in STATE_DIR/ls-HASH, HASH being FNV-1a of
 * the folder's absolute path (STATE_DIR is $XDG_STATE_HOME/mail, else
 * ~/.local/state/mail: the caller computes it; the library reads no
 * environment).  The file holds the line "mail-listing 1", the folder's
 * absolute path, and one message key per line in the order shown (line 3
 * is number 1; an empty line is a number that no longer resolves).
 *
 * MSG: a number from the last listing, ranges "3-7" and lists "5,9" (and
 * both: "1-3,7"); a path to a message file of that folder; a
 * "<message-id>"; "uid:N" in an IMAP folder.
 *
 * Errors: MAIL_ERR_USAGE for a malformed argument or a range going down,
 * MAIL_ERR_NOTFOUND for a message (or listing) that is not there, among
 * them "the folder changed: run mail ls again" for an mbox rewritten by
 * another program since the listing.
 */
#ifndef MAIL_SELECT_H
#define MAIL_SELECT_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>

#include "mail/error.h"
#include "mail/folder.h"

#define MAIL_LISTING_MAGIC "mail-listing 1"

/* A saved listing: buf holds the file, keys point into it. */
struct mail_listing {
    char *buf;
    char **keys;
    size_t n;
    bool exists;     /* a listing of this folder was found (maybe empty) */
};

/*
 * Parse the state file text buf (NUL-terminated, taken over: freed by
 * mail_listing_release) for the folder whose absolute path is abs.  A file
 * of another format or another folder, or with an unfinished last line,
 * is as if there were none (l->exists false).  -1 only when out of memory.
 */
int mail_listing_parse(char *buf, const char *abs, struct mail_listing *l,
                       struct mail_error *err);
/* Read the saved listing of f from state_dir (none: l->exists false). */
int mail_listing_load(const char *state_dir, struct mail_folder *f,
                      struct mail_listing *l, struct mail_error *err);
void mail_listing_release(struct mail_listing *l);

/* Write the listing of f: keys[i] is number i+1 (NULL: unresolvable). */
int mail_listing_write(const char *state_dir, struct mail_folder *f,
                       const char *const *keys, size_t n,
                       struct mail_error *err);
/* Remember a listing: number i (from 1) means list->v[order[i-1]]; order
 * may be NULL (identity). */
int mail_listing_save(const char *state_dir, struct mail_folder *f,
                      const struct mail_envelope_list *list,
                      const size_t *order, size_t n, struct mail_error *err);

/*
 * Parse "3", "3-7", "5,9", "1-3,7" and call fn for each number, in order.
 * Returns 1 when arg is not of that form (nothing called), 0 when done,
 * -1 with err set for a range that goes down or is too large (USAGE) or
 * when fn failed (fn sets err).
 */
typedef int (*mail_number_fn)(void *arg, size_t num, struct mail_error *err);
int mail_parse_numbers(const char *arg, mail_number_fn fn, void *fnarg,
                       struct mail_error *err);

/* The messages a command works on. */
struct mail_selection {
    struct mail_envelope_list all;  /* the folder's listing */
    size_t *idx;                    /* selected: indexes into all.v */
    size_t *number;                 /* their listing numbers (0 if none) */
    size_t n;
};

/*
 * Resolve MSG arguments against folder f.  Every argument must match;
 * numbers need a saved listing of this folder in state_dir.  Returns 0, or
 * -1 with err set (sel released).
 */
int mail_select(const char *state_dir, struct mail_folder *f, int argc,
                char *const *argv, struct mail_selection *sel,
                struct mail_error *err);
void mail_selection_release(struct mail_selection *sel);

/*
 * When every argument is a path to a file in a Maildir's cur/ or new/
 * (and all in one Maildir), open that Maildir.  Returns 1 when it did
 * (*f set), 0 when the arguments are not such paths, -1 with err set.
 */
int mail_folder_from_paths(int argc, char *const *argv, int mode,
                           const struct mail_paths *paths,
                           struct mail_folder **f, struct mail_error *err);

/* Whether a and b are the same folder (by absolute path). */
bool mail_folder_same(struct mail_folder *a, struct mail_folder *b);

/*
 * Close f after a change and keep its saved listing valid: an mbox's keys
 * hold offsets, which a rewrite changes, so the listing's keys of the
 * messages in `before` (the listing taken before the change; removed[i]
 * true for those now gone, removed may be NULL) are mapped to the new
 * ones.  Remapping is best effort; -1 only when closing f failed.
 */
int mail_listing_remap(const char *state_dir, struct mail_folder *f,
                       const struct mail_envelope_list *before,
                       const bool *removed, struct mail_error *err);

#pragma GCC visibility pop

#endif
