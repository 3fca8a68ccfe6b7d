/*
 * compose_flow.h - one message being written: the flow that `mail
 * compose`, `mail reply`, `mail forward` and the reader share.
 *
 *     struct mail_compose_flow *fl = mail_compose_flow_new(&o, &err);
 *     mail_compose_flow_start_reply(fl, &orig, MAIL_REPLY_ALL, &err);
 *     while (the user wants)
 *         mail_compose_flow_edit(fl, editor, &err);   // or attach,
 *                                   // detach, set_field, postpone
 *     mail_compose_flow_send(fl, &sent, &err);
 *     mail_compose_flow_free(fl);
 *
 * A session starts as a new message, a reply (sender, all, list) or a
 * forward (inline, or the original attached as message/rfc822) of an
 * original, or a draft resumed from the account's drafts folder
 * (drafts.h).  Its operations: the editor on the whole draft, header
 * lines included, then the text read back; attach a file, detach one;
 * change To, Cc, Bcc, Subject; postpone to the drafts folder; send
 * through the path `mail send` uses (outgoing.h: the queue, the Sent
 * copy, the addresses collected).  After a send the server took, the
 * original is marked answered (reply) or passed (forward) through the
 * folder handle its caller has open (never a second open of it), and a
 * resumed draft leaves the drafts folder.
 *
 * It never prints and never reads the terminal: errors come back in
 * struct mail_error, what the UI shows in the draft
 * (mail_compose_flow_draft) and the results.  The front ends ask the
 * user (readline menu, curses screen) and call these.
 */
#ifndef MAIL_COMPOSE_FLOW_H
#define MAIL_COMPOSE_FLOW_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "conn.h"
#include "error.h"
#include "folder.h"
#include "outgoing.h"
#include "paths.h"
#include "reply.h"

struct mail_remote;

struct mail_compose_flow_opts {
    const struct mail_account *acct;  /* required; outlives the flow */
    const struct mail_paths *paths;   /* NULL: acct->paths */
    /* imap: folders (drafts-folder = imap:NAME, a resumed reply's
     * original): through this session, or NULL: one made when first
     * needed with prompt and imap_trace. */
    struct mail_remote *remote;
    mail_prompt_fn prompt;            /* passwords (SMTP, IMAP), or NULL */
    void *prompt_arg;
    mail_trace_fn trace;              /* the SMTP dialogue, or NULL */
    void *trace_arg;
    mail_trace_fn imap_trace;         /* the IMAP dialogue, or NULL */
    void *imap_trace_arg;
    mail_send_event_fn event;         /* what the send tells the user */
    void *event_arg;
};

struct mail_compose_flow;

/* NULL with err (MAIL_ERR_INTERNAL) only when out of memory. */
struct mail_compose_flow *mail_compose_flow_new(
    const struct mail_compose_flow_opts *o, struct mail_error *err);
/* Removes the temporary files (the editor's, a resumed draft's parts)
 * and closes what the flow opened. */
void mail_compose_flow_free(struct mail_compose_flow *fl);

/* ---- starting ---- */

struct mail_compose_new {
    const char *to, *cc, *bcc;   /* as typed ("a, b"); NULL: empty */
    const char *subject;         /* NULL: empty */
    const char *const *attach;   /* files, checked now */
    size_t nattach;
};

/* A new message: the fields, the files (MAIL_ERR_NOTFOUND for a missing
 * one or one that is not a regular file, MAIL_ERR_IO), the account's
 * signature. */
int mail_compose_flow_start_new(struct mail_compose_flow *fl,
                                const struct mail_compose_new *n,
                                struct mail_error *err);

/* The message a reply or forward answers.  folder and env: the
 * caller's open folder, through which the original is flagged after the
 * send (read from it too when fd is -1).  Without a folder: fd (the
 * message from offset 0) with folder_name (its path or imap:NAME, for a
 * postponed draft; may be NULL) and mark (flags it after the send, as
 * the caller's own folder handle does it; NULL: not marked).  An fd
 * given stays the caller's; it must stay open until the flow is freed
 * (a forward --attach reads it when sent). */
struct mail_compose_original {
    struct mail_folder *folder;
    struct mail_envelope *env;
    int fd;
    const char *folder_name;
    int (*mark)(void *arg, unsigned flag, struct mail_error *err);
    void *mark_arg;
};

int mail_compose_flow_start_reply(struct mail_compose_flow *fl,
                                  const struct mail_compose_original *orig,
                                  enum mail_reply_mode mode,
                                  struct mail_error *err);
/* to: the recipients given; attach: the original as message/rfc822,
 * byte for byte. */
int mail_compose_flow_start_forward(struct mail_compose_flow *fl,
                                    const struct mail_compose_original *orig,
                                    bool attach, const char *const *to,
                                    size_t nto, struct mail_error *err);

/* The postponed drafts (the drafts folder opened, not created, and
 * listed; kept open until start_resume or free).  NULL with err:
 * MAIL_ERR_NOTFOUND when there is no drafts folder. */
const struct mail_envelope_list *mail_compose_flow_drafts(
    struct mail_compose_flow *fl, struct mail_error *err);
/* Resume draft idx of that list: its text, fields and attachments (in a
 * temporary directory); the drafts folder is closed while it is edited.
 * The draft leaves the folder after a send (or for its newer version
 * when postponed again). */
int mail_compose_flow_start_resume(struct mail_compose_flow *fl, size_t idx,
                                   struct mail_error *err);

/* ---- what the UI shows and changes ---- */

/* The draft: fields, body, attachments (read; change the fields through
 * set_field, the body directly before the first edit). */
struct mail_draft *mail_compose_flow_draft(struct mail_compose_flow *fl);
/* The size of the original attached by a forward --attach, or -1. */
long long mail_compose_flow_forwarded_size(struct mail_compose_flow *fl);
/* A size as the compose menus show it: "512 B", "4.9 KiB", "1.2 MiB". */
void mail_compose_size_text(char *buf, size_t size, long long n);
/* Whether the user changed the draft (edit, fields, attachments). */
bool mail_compose_flow_changed(const struct mail_compose_flow *fl);
/* The drafts folder's name ("imap:Drafts", a path), once known (after
 * drafts, postpone), else NULL. */
const char *mail_compose_flow_drafts_name(const struct mail_compose_flow *fl);

enum mail_compose_field {
    MAIL_COMPOSE_TO, MAIL_COMPOSE_CC, MAIL_COMPOSE_BCC, MAIL_COMPOSE_SUBJECT,
};
int mail_compose_flow_set_field(struct mail_compose_flow *fl,
                                enum mail_compose_field which,
                                const char *value, struct mail_error *err);

/*
 * The editor (editor: a command for /bin/sh, with the file as its
 * argument: $VISUAL or $EDITOR as the caller found it) on the whole
 * draft in a temporary file, headers first, on the caller's terminal;
 * then the text read back.  0: the draft has it.  1: the text does not
 * parse (err says why; the file is kept as written, and the next edit
 * opens it as it is).  -1: err (MAIL_ERR_UNAVAIL when the editor
 * failed, MAIL_ERR_IO, MAIL_ERR_CANTCREAT).
 */
int mail_compose_flow_edit(struct mail_compose_flow *fl, const char *editor,
                           struct mail_error *err);

/* Attach a file (~ expanded; it must be a readable regular file:
 * MAIL_ERR_NOTFOUND, MAIL_ERR_IO); detach attachment i (from 0;
 * MAIL_ERR_USAGE when there is none such). */
int mail_compose_flow_attach(struct mail_compose_flow *fl, const char *path,
                             struct mail_error *err);
int mail_compose_flow_detach(struct mail_compose_flow *fl, size_t i,
                             struct mail_error *err);

/* ---- the end ---- */

/* Postpone to the drafts folder (created when missing), durably; a
 * resumed draft's old version is removed after.  -1 with err, and
 * *saved (may be NULL) telling whether the new version is there (a
 * failure to remove the old one only). */
int mail_compose_flow_postpone(struct mail_compose_flow *fl, bool *saved,
                               struct mail_error *err);

/* The message as it would be sent (completed, Bcc removed), in a new
 * temporary file (*msg, offset 0; the caller closes it): for --dry-run.
 * MAIL_ERR_USAGE when there is no recipient. */
int mail_compose_flow_message(struct mail_compose_flow *fl, int *msg,
                              struct mail_error *err);

struct mail_compose_sent {
    /* The send's outcome, as mail_send_outcome's (already told through
     * the event hook): MAIL_OK when delivered or queued. */
    enum mail_error_kind status;
    bool delivered;
    /* After the send: the original marked (or why not), the resumed
     * draft removed (or why not); MAIL_OK when done or not needed. */
    struct mail_error mark_err;
    bool mark_skipped;        /* a forward in an mbox: no passed flag */
    struct mail_error draft_err;
};

/*
 * Send as `mail send -t` does: recipients from To, Cc and Bcc (aliases,
 * the account's domain), Bcc removed, the queue, the Sent copy.  -1 with
 * err for what stops it before the server is tried (the message cannot
 * be composed, a bad or no recipient); else 0 with *res.
 */
int mail_compose_flow_send(struct mail_compose_flow *fl,
                           struct mail_compose_sent *res,
                           struct mail_error *err);

#pragma GCC visibility pop

#endif
