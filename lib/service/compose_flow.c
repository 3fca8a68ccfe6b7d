/*
 * compose_flow.c - one message being written (mail/compose_flow.h): the
 * flow of mail compose, reply, forward and the reader.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/compose_flow.h"
#include "mail/draft.h"
#include "mail/drafts.h"
#include "mail/fsutil.h"
#include "mail/mime.h"
#include "mail/remote.h"
#include "mail/render.h"
#include "mail/spawn.h"

/* Most text read back from the editor. */
#define FLOW_TEXT_MAX ((size_t)16 << 20)

struct mail_compose_flow {
    struct mail_compose_flow_opts o;
    const struct mail_paths *paths;
    struct mail_remote *own_remote;   /* made here when o.remote is NULL */
    struct mail_draft d;
    bool started, changed;
    /* The original of a reply or forward. */
    struct mail_compose_original orig;
    bool forward, own_fd, resumed;
    int rfc822_fd;            /* forward --attach: orig's fd; else -1 */
    /* The editor's file; rewrite: write the draft into it before the
     * next edit (not after a text that did not parse). */
    char edit_path[PATH_MAX];
    bool rewrite;
    /* The drafts folder: its name; open while listed for a resume. */
    char *drafts_name;
    struct mail_folder *drafts;
    struct mail_envelope_list list;
    char *key;                /* resumed: its key in the drafts folder */
    char dir[PATH_MAX];       /* resumed: its parts */
};

static int oom(struct mail_error *err)
{
    return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
}

struct mail_compose_flow *mail_compose_flow_new(
    const struct mail_compose_flow_opts *o, struct mail_error *err)
{
    struct mail_compose_flow *fl = calloc(1, sizeof *fl);
    static const struct mail_draft init = MAIL_DRAFT_INIT;

    if (!fl) {
        oom(err);
        return NULL;
    }
    fl->o = *o;
    fl->paths = o->paths ? o->paths : o->acct->paths;
    fl->d = init;
    fl->rfc822_fd = -1;
    fl->orig.fd = -1;
    fl->rewrite = true;
    return fl;
}

static void drafts_close(struct mail_compose_flow *fl)
{
    mail_envelope_list_release(&fl->list);
    if (fl->drafts)
        mail_folder_close(fl->drafts, NULL);
    fl->drafts = NULL;
}

void mail_compose_flow_free(struct mail_compose_flow *fl)
{
    if (!fl)
        return;
    drafts_close(fl);
    if (fl->own_fd)
        close(fl->orig.fd);       /* read here from the caller's folder */
    if (*fl->edit_path)
        unlink(fl->edit_path);
    if (*fl->dir)
        mail_draft_dir_remove(fl->dir);
    if (fl->own_remote)
        mail_remote_close(fl->own_remote);
    mail_draft_release(&fl->d);
    free(fl->drafts_name);
    free(fl->key);
    free(fl);
}

struct mail_draft *mail_compose_flow_draft(struct mail_compose_flow *fl)
{
    return &fl->d;
}

bool mail_compose_flow_changed(const struct mail_compose_flow *fl)
{
    return fl->changed;
}

const char *mail_compose_flow_drafts_name(const struct mail_compose_flow *fl)
{
    return fl->drafts_name;
}

long long mail_compose_flow_forwarded_size(struct mail_compose_flow *fl)
{
    struct stat st;

    if (fl->rfc822_fd < 0)
        return -1;
    return fstat(fl->rfc822_fd, &st) < 0 ? 0 : (long long)st.st_size;
}

void mail_compose_size_text(char *buf, size_t size, long long n)
{
    if (n < 1024)
        mail_snprintf(buf, size, "%lld B", n);
    else if (n < 1024 * 1024)
        mail_snprintf(buf, size, "%.1f KiB", (double)n / 1024);
    else
        mail_snprintf(buf, size, "%.1f MiB", (double)n / (1024.0 * 1024));
}

static char *expand(struct mail_compose_flow *fl, const char *path)
{
    return mail_paths_expand_home(fl->paths, path);
}

/* ---- folders by name: a path, or imap:NAME through the session ---- */

static struct mail_remote *remote(struct mail_compose_flow *fl,
                                  struct mail_error *err)
{
    struct mail_remote_opts ro = {
        .prompt = fl->o.prompt, .prompt_arg = fl->o.prompt_arg,
        .trace = fl->o.imap_trace, .trace_arg = fl->o.imap_trace_arg,
    };

    if (fl->o.remote)
        return fl->o.remote;
    if (!fl->own_remote)
        fl->own_remote = mail_remote_new(fl->o.acct, &ro, err);
    return fl->own_remote;
}

static struct mail_folder *open_named(struct mail_compose_flow *fl,
                                      const char *name, int mode,
                                      struct mail_error *err)
{
    struct mail_remote *r;

    if (strncmp(name, "imap:", 5) != 0)
        return mail_folder_open(name, mode, fl->paths, err);
    if (!name[5]) {
        mail_error_set(err, MAIL_ERR_USAGE, "imap: needs a folder name, as "
                       "in imap:INBOX");
        return NULL;
    }
    if (!(r = remote(fl, err)))
        return NULL;
    return mail_remote_folder_open(r, name + 5, mode, fl->paths, err);
}

/* The drafts folder (create: make a missing local one); err
 * MAIL_ERR_NOTFOUND when it does not exist and !create. */
static struct mail_folder *drafts_open(struct mail_compose_flow *fl,
                                       bool create, struct mail_error *err)
{
    char *path = mail_drafts_path(fl->o.acct, err);

    if (!path)
        return NULL;
    free(fl->drafts_name);
    fl->drafts_name = path;
    if (strncmp(path, "imap:", 5) == 0)
        return open_named(fl, path, MAIL_FOLDER_RDWR, err);
    return mail_drafts_open(fl->o.acct, create, err);
}

/* ---- starting ---- */

static int set_str(char **dst, const char *v, struct mail_error *err)
{
    char *s = strdup(v ? v : "");

    if (!s)
        return oom(err);
    free(*dst);
    *dst = s;
    return 0;
}

static int check_file(const char *path, struct mail_error *err)
{
    struct stat st;

    if (stat(path, &st) < 0)
        return mail_error_set(err, errno == ENOENT ? MAIL_ERR_NOTFOUND
                                                   : MAIL_ERR_IO,
                              "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return mail_error_set(err, MAIL_ERR_NOTFOUND, "%s: not a regular "
                              "file", path);
    if (access(path, R_OK) < 0)
        return mail_error_set(err, MAIL_ERR_IO, "%s: %s", path,
                              strerror(errno));
    return 0;
}

static char *signature_path(struct mail_compose_flow *fl)
{
    const struct mail_account *a = fl->o.acct;

    return a->signature_file ? mail_paths_expand_home(a->paths,
                                                      a->signature_file)
                             : NULL;
}

int mail_compose_flow_start_new(struct mail_compose_flow *fl,
                                const struct mail_compose_new *n,
                                struct mail_error *err)
{
    char *sig;
    int r;

    fl->d.kind = MAIL_DRAFT_NEW;
    if (set_str(&fl->d.to, n->to, err) < 0 ||
        set_str(&fl->d.cc, n->cc, err) < 0 ||
        set_str(&fl->d.bcc, n->bcc, err) < 0 ||
        set_str(&fl->d.subject, n->subject, err) < 0)
        return -1;
    for (size_t i = 0; i < n->nattach; i++)
        if (check_file(n->attach[i], err) < 0 ||
            mail_draft_attach_add(&fl->d, n->attach[i], err) < 0)
            return -1;
    sig = signature_path(fl);
    r = mail_signature_append(&fl->d.body, sig, err);
    free(sig);
    fl->started = r == 0;
    return r;
}

/* Reply or forward: the draft from the original. */
static int start_from(struct mail_compose_flow *fl,
                      const struct mail_compose_original *orig,
                      bool forward, struct mail_reply_opts *ro,
                      struct mail_error *err)
{
    struct mail_identities *ids = NULL;
    struct mail_render *render = NULL;
    struct mail_render_opts rop;
    struct mail_mime *mime = NULL;
    const char *where;
    char *sig = NULL, *abs = NULL;
    int r = -1;

    fl->orig = *orig;
    fl->forward = forward;
    if (orig->fd < 0 && orig->folder) {
        if (mail_folder_message_fd(orig->folder, orig->env, &fl->orig.fd,
                                   err) < 0)
            return -1;
        fl->own_fd = true;
    }
    if (!(mime = mail_mime_parse_fd(fl->orig.fd, NULL, err)))
        goto out;
    if (!(ids = mail_identities_new(fl->o.acct->address,
                                    fl->o.acct->alternates, err)))
        goto out;
    memset(&rop, 0, sizeof rop);
    rop.html_command = fl->o.acct->html_command;
    rop.tmpdir = fl->paths->tmp_dir;
    if (!(render = mail_render_new(&rop))) {
        oom(err);
        goto out;
    }
    sig = signature_path(fl);
    ro->ids = ids;
    ro->render = render;
    ro->signature_file = sig;
    if ((forward ? mail_forward_draft(fl->orig.fd, mime, ro, &fl->d, err)
                 : mail_reply_draft(fl->orig.fd, mime, ro, &fl->d, err)) < 0)
        goto out;
    /* Where the original is, for a postponed draft resumed later: a full
     * path, or imap:NAME. */
    where = orig->folder ? mail_folder_path(orig->folder) : orig->folder_name;
    if (where) {
        if (strncmp(where, "imap:", 5) != 0 &&
            !(orig->folder &&
              mail_folder_kind(orig->folder) == MAIL_FOLDER_IMAP))
            abs = realpath(where, NULL);
        if (!(fl->d.orig_folder = abs ? abs : strdup(where))) {
            oom(err);
            goto out;
        }
    }
    if (forward && ro->attach)
        fl->rfc822_fd = fl->orig.fd;
    fl->started = true;
    r = 0;
out:
    mail_mime_free(mime);
    mail_render_free(render);
    mail_identities_free(ids);
    free(sig);
    return r;
}

int mail_compose_flow_start_reply(struct mail_compose_flow *fl,
                                  const struct mail_compose_original *orig,
                                  enum mail_reply_mode mode,
                                  struct mail_error *err)
{
    struct mail_reply_opts ro;

    memset(&ro, 0, sizeof ro);
    ro.mode = mode;
    return start_from(fl, orig, false, &ro, err);
}

int mail_compose_flow_start_forward(struct mail_compose_flow *fl,
                                    const struct mail_compose_original *orig,
                                    bool attach, const char *const *to,
                                    size_t nto, struct mail_error *err)
{
    struct mail_reply_opts ro;

    memset(&ro, 0, sizeof ro);
    ro.to = to;
    ro.nto = nto;
    ro.attach = attach;
    return start_from(fl, orig, true, &ro, err);
}

const struct mail_envelope_list *mail_compose_flow_drafts(
    struct mail_compose_flow *fl, struct mail_error *err)
{
    drafts_close(fl);
    if (!(fl->drafts = drafts_open(fl, false, err)))
        return NULL;
    if (mail_folder_list(fl->drafts, &fl->list, 0, err) < 0) {
        drafts_close(fl);
        return NULL;
    }
    return &fl->list;
}

int mail_compose_flow_start_resume(struct mail_compose_flow *fl, size_t idx,
                                   struct mail_error *err)
{
    struct mail_mime *m = NULL;
    const char *tmp = fl->paths->tmp_dir ? fl->paths->tmp_dir : "/tmp";
    int fd = -1, r = -1;

    if (!fl->drafts || idx >= fl->list.n)
        return mail_error_set(err, MAIL_ERR_NOTFOUND, "no such draft");
    if (mail_folder_message_fd(fl->drafts, &fl->list.v[idx], &fd, err) < 0 ||
        !(m = mail_mime_parse_fd(fd, NULL, err)))
        goto out;
    if (mail_snprintf(fl->dir, sizeof fl->dir, "%s/mail-draft.XXXXXX",
                      tmp) < 0 || !mkdtemp(fl->dir)) {
        mail_error_set(err, MAIL_ERR_CANTCREAT, "%s: %s", fl->dir,
                       strerror(errno));
        *fl->dir = '\0';
        goto out;
    }
    if (mail_draft_from_message(fd, m, fl->dir, &fl->d, err) < 0)
        goto out;
    if (!(fl->key = strdup(fl->list.v[idx].key))) {
        oom(err);
        goto out;
    }
    fl->forward = fl->d.kind == MAIL_DRAFT_FORWARD;
    fl->resumed = fl->started = true;
    r = 0;
out:
    /* The folder is not held while the draft is edited. */
    drafts_close(fl);
    if (fd >= 0)
        close(fd);
    mail_mime_free(m);
    return r;
}

/* ---- changes ---- */

int mail_compose_flow_set_field(struct mail_compose_flow *fl,
                                enum mail_compose_field which,
                                const char *value, struct mail_error *err)
{
    char **f[] = { &fl->d.to, &fl->d.cc, &fl->d.bcc, &fl->d.subject };

    if ((size_t)which >= sizeof f / sizeof f[0])
        return mail_error_set(err, MAIL_ERR_USAGE, "no such field");
    if (set_str(f[which], value, err) < 0)
        return -1;
    fl->changed = true;
    return 0;
}

int mail_compose_flow_attach(struct mail_compose_flow *fl, const char *path,
                             struct mail_error *err)
{
    char *p = expand(fl, path);
    int r;

    if (!p)
        return oom(err);
    r = check_file(p, err) < 0 ? -1 : mail_draft_attach_add(&fl->d, p, err);
    if (r == 0)
        fl->changed = true;
    free(p);
    return r;
}

int mail_compose_flow_detach(struct mail_compose_flow *fl, size_t i,
                             struct mail_error *err)
{
    if (fl->d.nattach == 0)
        return mail_error_set(err, MAIL_ERR_USAGE, "no attachment to "
                              "remove");
    if (i >= fl->d.nattach)
        return mail_error_set(err, MAIL_ERR_USAGE, "no such attachment");
    mail_draft_attach_remove(&fl->d, i);
    fl->changed = true;
    return 0;
}

/* ---- the editor ---- */

static int read_file(const char *path, struct mail_buf *b,
                     struct mail_error *err)
{
    char buf[65536];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return mail_error_set(err, MAIL_ERR_IO, "%s: %s", path,
                              strerror(errno));
    while ((n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || b->len + (size_t)n > FLOW_TEXT_MAX ||
            mail_buf_add(b, buf, (size_t)n) < 0) {
            int e = n < 0 ? errno : EFBIG;

            close(fd);
            return mail_error_set(err, MAIL_ERR_IO, "%s: %s", path,
                                  strerror(e));
        }
    }
    close(fd);
    return mail_buf_addstr(b, "") < 0 ? oom(err) : 0;
}

static int write_file(const char *path, const struct mail_buf *b,
                      struct mail_error *err)
{
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);

    if (fd < 0 || mail_write_all(fd, b->data, b->len) < 0) {
        if (fd >= 0)
            close(fd);
        return mail_error_set(err, MAIL_ERR_IO, "%s: cannot write the "
                              "draft", path);
    }
    if (close(fd) < 0)
        return mail_error_set(err, MAIL_ERR_IO, "%s: cannot write the "
                              "draft", path);
    return 0;
}

static int run_editor(const char *editor, const char *path,
                      struct mail_error *err)
{
    struct mail_spawn sp = MAIL_SPAWN_INIT;
    struct mail_spawn_result res;
    const char *args[3];
    const char *ed = editor && *editor ? editor : "vi";

    /* Through the shell, as $EDITOR may carry options; on the terminal,
     * in the caller's process group, with no time limit. */
    args[0] = ed;
    args[1] = path;
    args[2] = NULL;
    sp.command = "exec $0 \"$1\"";
    sp.argv = args;
    if (mail_spawn_run(&sp, &res, err) < 0)
        return -1;
    if (mail_spawn_check(&res, "the editor", err) < 0)
        return mail_error_set(err, MAIL_ERR_UNAVAIL, "the editor (%s) "
                              "failed", ed);
    return 0;
}

int mail_compose_flow_edit(struct mail_compose_flow *fl, const char *editor,
                           struct mail_error *err)
{
    struct mail_buf written = MAIL_BUF_INIT, text = MAIL_BUF_INIT;
    int r = -1;

    if (!*fl->edit_path) {
        int fd = mail_render_temp(fl->paths->tmp_dir, ".eml", fl->edit_path,
                                  sizeof fl->edit_path);

        if (fd < 0) {
            *fl->edit_path = '\0';
            return mail_error_set(err, MAIL_ERR_CANTCREAT, "a temporary "
                                  "file for the draft: %s",
                                  strerror(errno));
        }
        close(fd);
    }
    if (fl->rewrite) {
        if (mail_draft_write(&fl->d, mail_sink_buf, &written, err) < 0 ||
            write_file(fl->edit_path, &written, err) < 0)
            goto out;
    } else if (read_file(fl->edit_path, &written, err) < 0) {
        goto out;
    }
    if (run_editor(editor, fl->edit_path, err) < 0 ||
        read_file(fl->edit_path, &text, err) < 0)
        goto out;
    if (text.len != written.len ||
        memcmp(text.data, written.data, text.len) != 0)
        fl->changed = true;
    if (mail_draft_parse(&fl->d, text.data, text.len, err) < 0) {
        fl->rewrite = false;      /* edit what you wrote, as it is */
        r = 1;
        goto out;
    }
    fl->rewrite = true;
    r = 0;
out:
    mail_buf_release(&written);
    mail_buf_release(&text);
    return r;
}

/* ---- postponing and sending ---- */

/* The From field of the account. */
static int msg_opts(struct mail_compose_flow *fl, struct mail_buf *from,
                    struct mail_draft_msg_opts *o, struct mail_error *err)
{
    memset(o, 0, sizeof *o);
    if (mail_header_from(NULL, NULL, fl->o.acct, from) < 0 || !from->len)
        return mail_error_set(err, MAIL_ERR_CONFIG, "the account has no "
                              "address to send from");
    o->from = from->data;
    o->id_domain = fl->o.acct->domain;
    o->tmp_dir = fl->paths->tmp_dir;
    o->rfc822_fd = fl->rfc822_fd;
    return 0;
}

int mail_compose_flow_postpone(struct mail_compose_flow *fl, bool *saved,
                               struct mail_error *err)
{
    struct mail_buf from = MAIL_BUF_INIT;
    struct mail_draft_msg_opts o;
    struct mail_folder *f;
    bool ok = false;
    int r = -1;

    if (saved)
        *saved = false;
    if (msg_opts(fl, &from, &o, err) < 0)
        goto out;
    if (!(f = drafts_open(fl, true, err))) {
        if (err->kind == MAIL_ERR_NOTFOUND)
            mail_error_set(err, MAIL_ERR_CANTCREAT, "cannot create the "
                           "drafts folder");
        goto out;
    }
    r = mail_drafts_postpone_in(f, &fl->d, &o, fl->key, &ok, err);
    if (mail_folder_close(f, r == 0 ? err : NULL) < 0 && r == 0) {
        r = -1;
        ok = false;
    }
    if (ok) {
        /* The new version replaces the old one: sending it later must
         * not remove a draft that is no longer there. */
        free(fl->key);
        fl->key = NULL;
    }
    if (saved)
        *saved = ok;
out:
    mail_buf_release(&from);
    return r;
}

/* The draft as a whole message in a new temporary file. */
static int compose_msg(struct mail_compose_flow *fl, int *out,
                       struct mail_error *err)
{
    struct mail_buf from = MAIL_BUF_INIT;
    struct mail_draft_msg_opts o;
    struct mail_fd_sink fs = { .fd = -1 };
    int r = -1;

    if (msg_opts(fl, &from, &o, err) < 0)
        goto out;
    if ((fs.fd = mail_tmpfile(fl->paths->tmp_dir, err)) < 0)
        goto out;
    if (mail_draft_message_write(&fl->d, &o, mail_fd_sink_write, &fs,
                                 err) < 0) {
        close(fs.fd);
        goto out;
    }
    *out = fs.fd;
    r = 0;
out:
    mail_buf_release(&from);
    return r;
}

/* Composed, completed (Bcc out into res), recipients collected. */
static int prepare(struct mail_compose_flow *fl, int *msg,
                   struct mail_complete_result *res, struct mail_rcpts *rc,
                   struct mail_error *err)
{
    struct mail_whole_opts wo = {
        .check_rcpts = true, .id_domain = fl->o.acct->domain,
    };
    int composed = -1, r = -1;

    *msg = -1;
    if (compose_msg(fl, &composed, err) < 0)
        return -1;
    if (mail_send_prepare_whole(fl->paths, composed, &wo, msg, res,
                                err) < 0 ||
        mail_rcpts_init(rc, fl->o.acct, fl->paths, err) < 0 ||
        mail_rcpts_add_message(rc, res, err) < 0)
        goto out;
    mail_rcpts_dedup(rc);
    if (rc->n == 0) {
        mail_error_set(err, MAIL_ERR_USAGE, "no recipients: the draft's To "
                       "and Cc are empty");
        goto out;
    }
    r = 0;
out:
    close(composed);
    if (r < 0 && *msg >= 0) {
        close(*msg);
        *msg = -1;
    }
    return r;
}

int mail_compose_flow_message(struct mail_compose_flow *fl, int *msg,
                              struct mail_error *err)
{
    struct mail_complete_result res;
    struct mail_rcpts rc;
    int r;

    memset(&res, 0, sizeof res);
    memset(&rc, 0, sizeof rc);
    r = prepare(fl, msg, &res, &rc, err);
    mail_rcpts_release(&rc);
    mail_complete_result_release(&res);
    return r;
}

/* Mark the original of a resumed draft, found by Message-ID in the
 * folder it was in. */
static int mark_by_id(struct mail_compose_flow *fl, unsigned flag,
                      struct mail_compose_sent *s)
{
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct mail_folder *f;
    int r = -1;

    if (!(f = open_named(fl, fl->d.orig_folder, MAIL_FOLDER_RDWR,
                         &s->mark_err)))
        return -1;
    if (flag == MAIL_FLAG_PASSED && mail_folder_kind(f) == MAIL_FOLDER_MBOX) {
        s->mark_skipped = true;
        r = 0;
    } else if (mail_folder_list(f, &l, 0, &s->mark_err) == 0) {
        r = 0;
        for (size_t i = 0; i < l.n; i++)
            if (l.v[i].message_id &&
                strcmp(l.v[i].message_id, fl->d.orig_id) == 0) {
                r = mail_folder_set_flags(f, &l.v[i], flag, 0, &s->mark_err);
                break;
            }
    }
    mail_envelope_list_release(&l);
    if (mail_folder_close(f, r == 0 ? &s->mark_err : NULL) < 0)
        r = -1;
    return r;
}

static void mark_original(struct mail_compose_flow *fl,
                          struct mail_compose_sent *s)
{
    unsigned flag = fl->forward ? MAIL_FLAG_PASSED : MAIL_FLAG_ANSWERED;
    struct mail_folder *f = fl->orig.folder;

    if (fl->d.kind == MAIL_DRAFT_NEW)
        return;
    if (f) {
        if (fl->forward && mail_folder_kind(f) == MAIL_FOLDER_MBOX)
            s->mark_skipped = true;
        else
            (void)mail_folder_set_flags(f, fl->orig.env, flag, 0,
                                        &s->mark_err);
    } else if (fl->orig.mark) {
        (void)fl->orig.mark(fl->orig.mark_arg, flag, &s->mark_err);
    } else if (fl->resumed && fl->d.orig_id && fl->d.orig_folder) {
        (void)mark_by_id(fl, flag, s);
    }
}

int mail_compose_flow_send(struct mail_compose_flow *fl,
                           struct mail_compose_sent *s,
                           struct mail_error *err)
{
    struct mail_sender_opts so = {
        .acct = fl->o.acct, .queue = fl->o.acct->queue,
        .prompt = fl->o.prompt, .prompt_arg = fl->o.prompt_arg,
        .trace = fl->o.trace, .trace_arg = fl->o.trace_arg,
        .event = fl->o.event, .event_arg = fl->o.event_arg,
    };
    struct mail_complete_result res;
    struct mail_send_outcome oc;
    struct mail_sender *snd = NULL;
    struct mail_rcpts rc;
    char *from = NULL;
    int msg = -1, r = -1;

    memset(s, 0, sizeof *s);
    mail_error_clear(&s->mark_err);
    mail_error_clear(&s->draft_err);
    memset(&res, 0, sizeof res);
    memset(&rc, 0, sizeof rc);
    memset(&oc, 0, sizeof oc);
    if (prepare(fl, &msg, &res, &rc, err) < 0)
        goto out;
    if (mail_envelope_from(NULL, fl->o.acct, res.from_addr, &from, err) < 0)
        goto out;
    if (!(snd = mail_sender_new(&so, err)))
        goto out;
    {
        struct mail_send_envelope env = {
            .from = from, .rcpts = rc.v, .nrcpts = rc.n, .save_sent = true,
            .bcc = &res.bcc,
        };

        (void)mail_send_flush_queue(snd, false);
        mail_send_message(snd, msg, 0, &env, &oc);
        s->status = oc.status;
        s->delivered = oc.delivered;
        mail_send_outcome_release(&oc);
    }
    r = 0;
    mail_sender_free(snd);
    snd = NULL;
    if (s->status == MAIL_OK && fl->key) {
        /* Sent (or queued): only now does the draft go. */
        struct mail_folder *f = drafts_open(fl, false, &s->draft_err);

        if (f) {
            if (mail_drafts_remove_in(f, fl->key, &s->draft_err) < 0)
                mail_folder_close(f, NULL);
            else
                mail_folder_close(f, &s->draft_err);
        }
    }
    /* Only now, and only when the server took it. */
    if (s->delivered)
        mark_original(fl, s);
out:
    if (snd)
        mail_sender_free(snd);
    if (msg >= 0)
        close(msg);
    free(from);
    mail_rcpts_release(&rc);
    mail_complete_result_release(&res);
    return r;
}
