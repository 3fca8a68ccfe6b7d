/*
 * drafts.h - the account's drafts folder: postponing a draft, finding
 * it again, removing it after the send (`mail compose --resume`, reply
 * and forward's (p)ostpone, the reader).
 *
 * The folder is the account's drafts-folder: a path (starting with / or
 * ~, or mbox:PATH for a new mbox), a folder of the account's local store
 * (=NAME or NAME), or imap:NAME on the account's IMAP server; without
 * the key, =Drafts of the store.  An imap: folder is opened by the
 * caller through its session (mail_remote_folder_open, remote.h) and
 * given to the _in functions; the others open local folders themselves.
 * The message written is draft.h's, flagged \Draft and \Seen, durable
 * (fsync; IMAP: the server's APPEND) before the postpone returns: a
 * postponed draft survives a crash.
 */
#ifndef MAIL_DRAFTS_H
#define MAIL_DRAFTS_H

#pragma GCC visibility push(default)

#include "config.h"
#include "draft.h"
#include "error.h"
#include "folder.h"

/* The drafts folder (malloc'd): a path, or "imap:NAME"; NULL with err:
 * MAIL_ERR_CONFIG when the account has neither drafts-folder nor a
 * store. */
char *mail_drafts_path(const struct mail_account *a, struct mail_error *err);

/* Open a local drafts folder (create: make a missing one, for
 * postponing).  NULL with err; MAIL_ERR_NOTFOUND when it does not exist
 * and !create; MAIL_ERR_CONFIG for an imap: one (see above). */
struct mail_folder *mail_drafts_open(const struct mail_account *a,
                                     bool create, struct mail_error *err);

/*
 * Append the draft (mail_draft_message_write with o->postpone set) to
 * the open drafts folder f, durably; then, when replace_key is not NULL,
 * remove the message with that key (the version it replaces): the new
 * one is safe first.  A failure to remove the old version is reported
 * (-1, err prefixed "the old draft") after the new one is saved: *saved
 * (may be NULL) tells whether it was.
 */
int mail_drafts_postpone_in(struct mail_folder *f,
                            const struct mail_draft *d,
                            const struct mail_draft_msg_opts *o,
                            const char *replace_key, bool *saved,
                            struct mail_error *err);

/* The same in a local drafts folder, opened (created) and closed here;
 * *where (may be NULL) gets its path (malloc'd). */
int mail_drafts_postpone(const struct mail_account *a,
                         const struct mail_draft *d,
                         const struct mail_draft_msg_opts *o,
                         const char *replace_key, char **where, bool *saved,
                         struct mail_error *err);

/* Remove the draft with this key (after its send).  MAIL_ERR_NOTFOUND
 * when it is not there any more. */
int mail_drafts_remove_in(struct mail_folder *f, const char *key,
                          struct mail_error *err);
int mail_drafts_remove(const struct mail_account *a, const char *key,
                       struct mail_error *err);

#pragma GCC visibility pop

#endif
