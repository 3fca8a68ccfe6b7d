/*
 * remote.h - a logged-in IMAP session for an account, made when first
 * needed and made again after the connection was lost.
 *
 * Everything that works on the account's IMAP server without fetching
 * (imap: folders, Sent copies, `mail folders --remote`, watching) gets its
 * session here, so that connecting, the password or OAuth 2.0 token, the
 * capabilities after login and the reconnect rule exist once.  The store
 * layer cannot see accounts: its IMAP folder driver is handed a struct
 * mail_remote and calls mail_remote_session() whenever it needs the
 * server.
 */
#ifndef MAIL_REMOTE_H
#define MAIL_REMOTE_H

#pragma GCC visibility push(default)

#include "config.h"
#include "error.h"
#include "folder.h"
#include "session.h"

struct mail_remote;

struct mail_remote_opts {
    mail_prompt_fn prompt;        /* NULL: never ask for a password */
    void *prompt_arg;
    mail_trace_fn trace;          /* -v: the protocol trace (no secrets) */
    void *trace_arg;
};

/* Nothing is connected yet.  acct must outlive the remote.  NULL with
 * MAIL_ERR_CONFIG when the account has no imap URL. */
struct mail_remote *mail_remote_new(const struct mail_account *acct,
                                    const struct mail_remote_opts *o,
                                    struct mail_error *err);

/* The session, logged in and with the capabilities the server offers
 * after login: the one made before while it is still usable, else a new
 * one (a session whose connection was lost is closed first).  The secret
 * is asked for once per remote.  NULL with err. */
struct mail_session *mail_remote_session(struct mail_remote *r,
                                         struct mail_error *err);

/* Forget the session without a goodbye (after an error that left it in
 * an unknown state: a cancel, a timeout, a protocol error); the next
 * mail_remote_session connects again. */
void mail_remote_drop(struct mail_remote *r);

/* Whether a call that failed with err should be tried once more on a new
 * session: the connection was lost (err->conn_lost). */
bool mail_remote_retryable(const struct mail_error *err);

/* fn is told what r is doing when it connects ("connecting",
 * "reconnecting"), on the thread that uses r (the reader's status line);
 * fn NULL: nothing. */
void mail_remote_on_event(struct mail_remote *r,
                          void (*fn)(void *arg, const char *what), void *arg);

/* From any thread: stop the work in progress on r (the reader's q and
 * Ctrl-C).  The connection in use is aborted (mail_conn_abort), so a call
 * waiting on the server fails at once, and no new session is made (calls
 * fail with MAIL_ERR_TEMP "cancelled") until mail_remote_resume.  The
 * session is dropped: the next one after resume is a new connection. */
void mail_remote_cancel(struct mail_remote *r);
/* Make sessions again after a cancel (on the thread that uses r). */
void mail_remote_resume(struct mail_remote *r);

/* Log out (when connected) and free. */
void mail_remote_close(struct mail_remote *r);

const struct mail_account *mail_remote_account(const struct mail_remote *r);

/* The folder `name` (UTF-8) of the account's server, for every folder
 * command (store/imapfolder.c: selected when first used; see folder.h).
 * Folders of one remote share its session; close them before the
 * remote. */
struct mail_folder *mail_remote_folder_open(struct mail_remote *r,
                                            const char *name, int mode,
                                            const struct mail_paths *paths,
                                            struct mail_error *err);

/*
 * What a folder name a person gives needs of the account, so that a
 * caller fetches only that before mail_remote_open_any (which checks the
 * name the same way): MAIL_FOLDER_NEEDS_REMOTE for "imap:NAME" (r),
 * MAIL_FOLDER_NEEDS_STORE for "=NAME" (store), MAIL_FOLDER_NEEDS_NOTHING
 * for a path.  "imap:" or "=" alone, or "", is -1 with MAIL_ERR_USAGE.
 */
enum mail_folder_needs {
    MAIL_FOLDER_NEEDS_NOTHING,
    MAIL_FOLDER_NEEDS_STORE,
    MAIL_FOLDER_NEEDS_REMOTE,
};
int mail_remote_name_needs(const char *name, struct mail_error *err);

/*
 * A folder by the name a person gives it (the FOLDER of the commands, the
 * reader's c and s), in an account's context: "imap:NAME" on r's server
 * (mail_remote_folder_open; MAIL_FOLDER_CREATE does not apply: a mailbox
 * is never made by opening it), "=NAME" in the local store `store` (a
 * folder that an mbox store creates is an mbox; a missing one is
 * MAIL_ERR_NOTFOUND "no folder 'NAME' in the store"), else a path
 * (mail_folder_open, "~" expanded).  r and store may be NULL: a name that
 * needs the one missing is MAIL_ERR_CONFIG; "imap:" or "=" alone (or "")
 * is MAIL_ERR_USAGE (mail_remote_name_needs).
 */
struct mail_folder *mail_remote_open_any(struct mail_remote *r,
                                         const char *store, const char *name,
                                         int mode,
                                         const struct mail_paths *paths,
                                         struct mail_error *err);

#pragma GCC visibility pop

#endif
