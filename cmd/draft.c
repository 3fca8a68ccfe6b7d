/*
 * draft.c - the flow `mail reply`, `mail forward` and `mail compose`
 * share (draft.h): the editor, the compose menu, postponing, sending.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "draft.h"
#include "send.h"
#include "mail/compose.h"
#include "mail/draft.h"
#include "mail/drafts.h"
#include "mail/fsutil.h"
#include "mail/mime.h"
#include "mail/mimetypes.h"
#include "mail/outgoing.h"
#include "mail/render.h"
#include "mail/spawn.h"
#include "mail_build_config.h"
#include "select.h"

#if HAVE_READLINE
#include <readline/readline.h>
#endif

/* Most text read from standard input for a reply. */
#define DRAFT_INPUT_MAX ((size_t)16 << 20)

/* ---- prompts ---- */

#if HAVE_READLINE
/* The text a prompt starts with (rl_startup_hook). */
static const char *prefill;

static int insert_prefill(void)
{
    if (prefill && *prefill)
        rl_insert_text(prefill);
    prefill = NULL;
    return 0;
}
#endif

/*
 * One line from the user (malloc'd, without its newline), or NULL at the
 * end of input.  initial: the text it starts with, to edit (readline;
 * without readline it is shown and an empty answer keeps it).  files:
 * complete file names.
 */
static char *ask_line(const char *prompt, const char *initial, bool files)
{
#if HAVE_READLINE
    char *l;

    rl_attempted_completion_function = NULL;
    rl_completion_entry_function = files ? rl_filename_completion_function
                                         : NULL;
    rl_completer_word_break_characters = files ? (char *)" \t\n" : NULL;
    prefill = initial;
    rl_startup_hook = insert_prefill;
    l = readline(prompt);
    rl_startup_hook = NULL;
    prefill = NULL;
    return l;
#else
    char buf[4096];

    (void)files;
    fputs(prompt, stderr);
    if (initial && *initial) {
        fputc('[', stderr);
        out_safe_str(stderr, initial);
        fputs("] ", stderr);
    }
    fflush(stderr);
    if (!fgets(buf, sizeof buf, stdin))
        return NULL;
    buf[strcspn(buf, "\r\n")] = '\0';
    if (!*buf && initial)
        return strdup(initial);
    return strdup(buf);
#endif
}

char *draft_ask_line(const char *prompt, const char *initial)
{
    return ask_line(prompt, initial, false);
}

/* One key, lowercased: the first character of a line; 0 at the end of
 * input, '?' for an empty line. */
static char ask_key(const char *prompt)
{
    char *l = ask_line(prompt, NULL, false);
    char c;

    if (!l)
        return 0;
    c = l[0] ? l[0] : '?';
    free(l);
    if (c >= 'A' && c <= 'Z')
        c = (char)(c - 'A' + 'a');
    return c;
}

static int write_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read a whole file or fd (bounded). */
static int read_all(int fd, struct mail_buf *b, size_t max)
{
    char buf[65536];
    ssize_t n;

    while ((n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (b->len + (size_t)n > max) {
            errno = EFBIG;
            return -1;
        }
        if (mail_buf_add(b, buf, (size_t)n) < 0)
            return -1;
    }
    return mail_buf_addstr(b, "");
}

/* ---- the summary above the menu ---- */

static void human_size(char *buf, size_t size, long long n)
{
    if (n < 1024)
        mail_snprintf(buf, size, "%lld B", n);
    else if (n < 1024 * 1024)
        mail_snprintf(buf, size, "%.1f KiB", (double)n / 1024);
    else
        mail_snprintf(buf, size, "%.1f MiB", (double)n / (1024.0 * 1024));
}

/* "  [N] name  (type, size)" for a file; N 0: no number. */
static void show_file(size_t n, const char *path, const char *type_given)
{
    const char *base = strrchr(path, '/');
    char type[128], size[32];
    struct stat st;

    base = base && base[1] ? base + 1 : path;
    if (type_given)
        mail_strlcpy(type, type_given, sizeof type);
    else
        mail_mimetype_lookup(base, NULL, type, sizeof type);
    if (stat(path, &st) == 0)
        human_size(size, sizeof size, (long long)st.st_size);
    else
        mail_strlcpy(size, "missing", sizeof size);
    if (n)
        printf("  [%zu] ", n);
    else
        fputs("  [-] ", stdout);
    out_safe_str(stdout, base);
    printf("  (%s, %s)\n", type, size);
}

static void show_field(const char *name, const char *v)
{
    if (!v || !*v)
        return;
    printf("%-9s", name);
    out_safe_str(stdout, v);
    fputc('\n', stdout);
}

static void show_summary(const struct draft_flow *fl)
{
    const struct mail_draft *d = fl->d;

    fputc('\n', stdout);
    show_field("From:", fl->acct->address);
    show_field("To:", d->to);
    show_field("Cc:", d->cc);
    show_field("Bcc:", d->bcc);
    show_field("Subject:", d->subject);
    if (d->nattach || fl->rfc822_fd >= 0 || d->rfc822)
        fputs("Attachments:\n", stdout);
    for (size_t i = 0; i < d->nattach; i++)
        show_file(i + 1, d->attach[i], NULL);
    if (fl->rfc822_fd >= 0) {
        struct stat st;
        char size[32];

        if (fstat(fl->rfc822_fd, &st) < 0)
            st.st_size = 0;
        human_size(size, sizeof size, (long long)st.st_size);
        printf("  [-] the forwarded message  (message/rfc822, %s)\n", size);
    } else if (d->rfc822) {
        show_file(0, d->rfc822, "message/rfc822");
    }
    fflush(stdout);
}

/* ---- the menu's actions ---- */

/* (h): To, Cc, Bcc and Subject, each prompted with its value to edit. */
static void edit_headers(struct mail_draft *d)
{
    struct {
        const char *prompt;
        char **v;
    } f[] = {
        { "To: ", &d->to }, { "Cc: ", &d->cc }, { "Bcc: ", &d->bcc },
        { "Subject: ", &d->subject },
    };

    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        char *l = ask_line(f[i].prompt, *f[i].v ? *f[i].v : "", false);

        if (!l)
            return;              /* end of input: the rest as they are */
        free(*f[i].v);
        *f[i].v = l;
    }
}

/* (a): a file to attach, with file name completion. */
static bool attach_file(struct cmd_ctx *ctx, struct mail_draft *d)
{
    char *l = ask_line("Attach file: ", NULL, true), *path, *end;
    struct mail_error err;
    struct stat st;
    bool ok = false;

    if (!l)
        return false;
    /* Blanks around the name (completion leaves one after it). */
    path = l;
    while (*path == ' ' || *path == '\t')
        path++;
    end = path + strlen(path);
    while (end > path && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = '\0';
    if (!*path) {
        free(l);
        return false;
    }
    path = mail_paths_expand_home(&ctx->paths, path);
    if (!path)
        cmd_failf(0, "out of memory");
    else if (stat(path, &st) < 0)
        cmd_failf(0, "%s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        cmd_failf(0, "%s: not a regular file", path);
    else if (access(path, R_OK) < 0)
        cmd_failf(0, "%s: %s", path, strerror(errno));
    else if (mail_draft_attach_add(d, path, &err) < 0)
        cmd_fail(&err);
    else
        ok = true;
    free(path);
    free(l);
    return ok;
}

/* (d): remove an attachment (asks which when there are several). */
static bool detach_file(struct mail_draft *d)
{
    size_t i = 0;

    if (d->nattach == 0) {
        fputs("mail: no attachment to remove\n", stderr);
        return false;
    }
    if (d->nattach > 1) {
        char prompt[64], *l, *end;
        unsigned long n;

        mail_snprintf(prompt, sizeof prompt, "Detach which (1-%zu)? ",
                      d->nattach);
        if (!(l = ask_line(prompt, NULL, false)))
            return false;
        n = strtoul(l, &end, 10);
        if (end == l || *end || n < 1 || n > d->nattach) {
            fputs("mail: no such attachment\n", stderr);
            free(l);
            return false;
        }
        free(l);
        i = (size_t)n - 1;
    }
    mail_draft_attach_remove(d, i);
    return true;
}

/* The From field of the account. */
static int from_field(const struct mail_account *acct, struct mail_buf *out,
                      struct mail_error *err)
{
    if (mail_header_from(NULL, NULL, acct, out) < 0 || !out->len)
        return mail_error_set(err, MAIL_ERR_CONFIG, "the account has no "
                              "address to send from");
    return 0;
}

int draft_open_drafts(struct cmd_ctx *ctx, const struct mail_account *acct,
                      bool create, struct mail_folder **f, char **where)
{
    struct mail_error err;
    char *path;
    int code = 0;

    *f = NULL;
    if (where)
        *where = NULL;
    mail_error_clear(&err);
    if (!(path = mail_drafts_path(acct, &err)))
        return cmd_fail(&err);
    if (strncmp(path, "imap:", 5) == 0)
        code = cmd_open_imap_folder(ctx, path + 5, MAIL_FOLDER_RDWR, f);
    else if (!(*f = mail_drafts_open(acct, create, &err)))
        code = err.kind == MAIL_ERR_NOTFOUND ? DRAFT_NONE : cmd_fail(&err);
    if (where && code == 0)
        *where = path;
    else
        free(path);
    return code;
}

int draft_postpone(struct draft_flow *fl)
{
    struct mail_folder *f = NULL;
    struct mail_buf from = MAIL_BUF_INIT;
    struct mail_draft_msg_opts o;
    struct mail_error err;
    char *where = NULL;
    bool saved = false;
    int code = 0;

    mail_error_clear(&err);
    memset(&o, 0, sizeof o);
    o.tmp_dir = fl->ctx->paths.tmp_dir;
    o.id_domain = fl->acct->domain;
    o.rfc822_fd = fl->rfc822_fd;
    if (from_field(fl->acct, &from, &err) < 0) {
        code = cmd_fail(&err);
        goto out;
    }
    o.from = from.data;
    if ((code = draft_open_drafts(fl->ctx, fl->acct, true, &f, &where)) != 0) {
        if (code == DRAFT_NONE)
            code = cmd_failf(EX_CANTCREAT, "cannot create the drafts "
                             "folder");
        goto out;
    }
    if (mail_drafts_postpone_in(f, fl->d, &o, fl->key, &saved, &err) < 0) {
        if (saved) {
            /* The new version is safe; only the old one is left over. */
            fputs("mail: warning: ", stderr);
            out_safe_str(stderr, err.msg);
            fputc('\n', stderr);
        } else {
            code = cmd_fail(&err);
        }
    }
    if (mail_folder_close(f, &err) < 0 && saved) {
        code = cmd_fail(&err);
        saved = false;
    }
    if (saved && !fl->ctx->quiet) {
        fputs("mail: postponed to ", stderr);
        out_safe_str(stderr, where);
        fputs(" (mail compose --resume)\n", stderr);
    }
out:
    free(where);
    mail_buf_release(&from);
    return code;
}

/* The draft's text for the editor into path. */
static int write_draft_file(const char *path, const struct mail_draft *d,
                            struct mail_buf *out)
{
    struct mail_error err;
    int fd;

    mail_buf_reset(out);
    if (mail_draft_write(d, mail_sink_buf, out, &err) < 0)
        return -1;
    fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (write_all(fd, out->data, out->len) < 0) {
        close(fd);
        return -1;
    }
    return close(fd);
}

/*
 * The editor on the draft, then the menu.  Returns DRAFT_SEND (d updated
 * from the edit), DRAFT_ABORTED, DRAFT_POSTPONED, or an exit code.
 */
int draft_session(struct draft_flow *fl)
{
    struct cmd_ctx *ctx = fl->ctx;
    struct mail_draft *d = fl->d;
    char path[4096];
    struct mail_buf text = MAIL_BUF_INIT, written = MAIL_BUF_INIT;
    struct mail_error err;
    bool rewrite = true, edit = true, changed = false;
    int fd, code = 0;

    fd = mail_render_temp(ctx->paths.tmp_dir, "eml", path, sizeof path);
    if (fd < 0)
        return cmd_failf(EX_CANTCREAT, "a temporary file for the draft: %s",
                         strerror(errno));
    close(fd);
    for (;;) {
        char key;

        mail_error_clear(&err);
        if (edit) {
            if (rewrite && write_draft_file(path, d, &written) < 0) {
                code = cmd_failf(EX_IOERR, "%s: cannot write the draft",
                                 path);
                break;
            }
            if ((code = cmd_run_editor(path)) != 0)
                break;
            mail_buf_reset(&text);
            fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0 || read_all(fd, &text, DRAFT_INPUT_MAX) < 0) {
                if (fd >= 0)
                    close(fd);
                code = cmd_failf(EX_IOERR, "%s: %s", path, strerror(errno));
                break;
            }
            close(fd);
            if (text.len != written.len ||
                memcmp(text.data, written.data, text.len) != 0)
                changed = true;
            if (mail_draft_parse(d, text.data, text.len, &err) < 0) {
                cmd_fail(&err);
                rewrite = false;     /* edit what you wrote, as it is */
                key = ask_key("(e)dit again, (q)uit? ");
                if (key == 'e')
                    continue;
                code = DRAFT_ABORTED;
                break;
            }
            rewrite = true;
            edit = false;
        }
        show_summary(fl);
        key = ask_key("(y) send, (e) edit, (h) headers, (a) attach, "
                      "(d) detach, (p) postpone, (q) quit: ");
        if (key == 'y')
            break;
        switch (key) {
        case 'e':
            edit = true;
            continue;
        case 'h':
            edit_headers(d);
            changed = true;
            continue;
        case 'a':
            changed |= attach_file(ctx, d);
            continue;
        case 'd':
            changed |= detach_file(d);
            continue;
        case 'p':
            if (draft_postpone(fl) != 0)
                continue;     /* not saved: the draft is still here */
            code = DRAFT_POSTPONED;
            break;
        case 'q':
        case 'x':
            if (changed) {
                char k = ask_key("Discard your changes? (y)es, (n)o: ");

                if (k != 'y' && k != 0)
                    continue;
            }
            code = DRAFT_ABORTED;
            break;
        case 0:               /* end of input */
            code = DRAFT_ABORTED;
            break;
        default:
            fputs("mail: unknown key\n", stderr);
            continue;
        }
        break;
    }
    if (code == DRAFT_ABORTED && !ctx->quiet)
        fputs("mail: not sent\n", stderr);
    unlink(path);
    mail_buf_release(&text);
    mail_buf_release(&written);
    return code;
}

/* ---- sending, as `mail send -t` does ---- */

/* The draft as a message in a new temporary file (*out). */
static int compose(struct draft_flow *fl, int *out, struct mail_error *err)
{
    struct mail_buf fromhdr = MAIL_BUF_INIT;
    struct mail_draft_msg_opts o;
    struct mail_fd_sink fs = { -1 };
    int rc = -1;

    memset(&o, 0, sizeof o);
    if (from_field(fl->acct, &fromhdr, err) < 0)
        goto done;
    o.from = fromhdr.data;
    o.id_domain = fl->acct->domain;
    o.tmp_dir = fl->ctx->paths.tmp_dir;
    o.rfc822_fd = fl->rfc822_fd;
    if ((fs.fd = mail_tmpfile(fl->ctx->paths.tmp_dir, err)) < 0)
        goto done;
    if (mail_draft_message_write(fl->d, &o, mail_fd_sink_write, &fs,
                                 err) < 0) {
        close(fs.fd);
        goto done;
    }
    *out = fs.fd;
    rc = 0;
done:
    mail_buf_release(&fromhdr);
    return rc;
}

/* Print the message (--dry-run): as it is into a pipe or file, defused
 * on a terminal. */
static int print_msg(int fd)
{
    struct mail_buf b = MAIL_BUF_INIT;
    int tty = isatty(STDOUT_FILENO);

    if (lseek(fd, 0, SEEK_SET) < 0 || read_all(fd, &b, (size_t)1 << 30) < 0) {
        mail_buf_release(&b);
        return cmd_failf(EX_IOERR, "reading the message: %s", strerror(errno));
    }
    if (tty)
        out_safe(stdout, b.data, b.len, 0);
    else if (b.len && fwrite(b.data, 1, b.len, stdout) != b.len)
        cmd_failf(EX_IOERR, "standard output: %s", strerror(errno));
    mail_buf_release(&b);
    if (fflush(stdout) != 0)
        return cmd_failf(EX_IOERR, "standard output: %s", strerror(errno));
    return 0;
}

/* Complete and send the composed message; *delivered tells whether the
 * server took it.  Returns the exit code. */
static int send_msg(struct cmd_ctx *ctx, const struct mail_account *acct,
                    bool dry_run, int composed, bool *delivered)
{
    struct mail_whole_opts wo = {
        .check_rcpts = true, .id_domain = acct->domain,
    };
    struct mail_complete_result res;
    struct mail_rcpts r;
    struct mail_error err;
    struct send_ui ui = { .ctx = ctx };
    struct mail_sender_opts so = {
        .acct = acct, .queue = acct->queue,
        .prompt = cmd_prompt_password,
        .event = send_report_event, .event_arg = &ui,
    };
    struct mail_send_outcome oc;
    struct mail_sender *snd = NULL;
    char *from = NULL;
    int msg = -1, code = 0;

    *delivered = false;
    memset(&res, 0, sizeof res);
    memset(&r, 0, sizeof r);
    memset(&oc, 0, sizeof oc);
    mail_error_clear(&err);
    if (mail_send_prepare_whole(&ctx->paths, composed, &wo, &msg, &res,
                                &err) < 0 ||
        mail_rcpts_init(&r, acct, &ctx->paths, &err) < 0 ||
        mail_rcpts_add_message(&r, &res, &err) < 0) {
        code = cmd_fail(&err);
        goto out;
    }
    mail_rcpts_dedup(&r);
    if (r.n == 0) {
        code = cmd_failf(EX_USAGE, "no recipients: the draft's To and Cc "
                         "are empty");
        goto out;
    }
    if (dry_run) {
        code = print_msg(msg);
        goto out;
    }
    if (mail_envelope_from(NULL, acct, res.from_addr, &from, &err) < 0) {
        code = cmd_fail(&err);
        goto out;
    }
    if (ctx->verbose) {
        ui.tr.proto = "smtp";
        so.trace = cmd_trace_fn;
        so.trace_arg = &ui.tr;
    }
    if (!(snd = mail_sender_new(&so, &err))) {
        code = cmd_fail(&err);
        goto out;
    }
    {
        struct mail_send_envelope env = {
            .from = from, .rcpts = r.v, .nrcpts = r.n, .save_sent = true,
            .bcc = &res.bcc,
        };

        (void)mail_send_flush_queue(snd, false);
        mail_send_message(snd, msg, 0, &env, &oc);
        *delivered = oc.delivered;
        code = mail_error_exit_code(oc.status);
        mail_send_outcome_release(&oc);
    }
out:
    if (snd)
        mail_sender_free(snd);
    if (msg >= 0)
        close(msg);
    free(from);
    mail_rcpts_release(&r);
    mail_complete_result_release(&res);
    return code;
}

int draft_send(struct draft_flow *fl, bool *delivered)
{
    struct mail_error err;
    int composed = -1, code;

    *delivered = false;
    mail_error_clear(&err);
    if (compose(fl, &composed, &err) < 0)
        return cmd_fail(&err);
    code = send_msg(fl->ctx, fl->acct, fl->dry_run, composed, delivered);
    close(composed);
    return code;
}

/* Flag the original: answered (reply) or passed (forward). */
void draft_flag_original(struct cmd_ctx *ctx, struct mail_folder *f,
                         struct mail_envelope *e, bool forward)
{
    unsigned flag = forward ? MAIL_FLAG_PASSED : MAIL_FLAG_ANSWERED;
    struct mail_error err;

    if (forward && mail_folder_kind(f) == MAIL_FOLDER_MBOX) {
        if (ctx->verbose)
            fputs("mail: an mbox folder has no passed flag: the "
                  "original is left as it is\n", stderr);
    } else if (mail_folder_set_flags(f, e, flag, 0, &err) < 0) {
        fputs("mail: warning: sent, but the original could not be "
              "flagged: ", stderr);
        out_safe_str(stderr, err.msg);
        fputc('\n', stderr);
    }
}

/* ---- the whole flow ---- */

static struct mail_render *renderer(struct cmd_ctx *ctx,
                                   const struct mail_account *acct)
{
    struct mail_render_opts o;

    memset(&o, 0, sizeof o);
    o.html_command = acct->html_command;
    o.tmpdir = ctx->paths.tmp_dir;
    return mail_render_new(&o);
}

int draft_run(struct cmd_ctx *ctx, const struct draft_args *a)
{
    struct mail_account *acct = NULL;
    struct mail_folder *f = NULL;
    struct cmd_selection sel = { 0 };
    struct mail_envelope *e;
    struct mail_identities *ids = NULL;
    struct mail_render *render = NULL;
    struct mail_mime *mime = NULL;
    struct mail_draft d = MAIL_DRAFT_INIT;
    struct mail_reply_opts ro;
    struct draft_flow fl;
    struct mail_error err;
    char *sig = NULL;
    int fd = -1, code;
    bool delivered = false;

    mail_error_clear(&err);
    if ((code = cmd_load_account(ctx, &acct)) != 0)
        return code;
    code = 0;
    if (!a->folder)
        code = cmd_folder_from_paths(ctx, 1, (char **)&a->msg,
                                     MAIL_FOLDER_RDWR, &f);
    if (code == 1)
        code = 0;
    else if (code == 0)
        code = cmd_open_folder(ctx, a->folder, MAIL_FOLDER_RDWR, &f, NULL);
    if (code)
        goto out;
    if ((code = cmd_select_messages(ctx, f, 1, (char **)&a->msg, &sel)) != 0)
        goto out;
    if (sel.n != 1) {
        code = cmd_usage_error(a->cmdname, "%s: one message at a time",
                               a->msg);
        goto out;
    }
    e = &sel.all.v[sel.idx[0]];
    if (mail_folder_message_fd(f, e, &fd, &err) < 0 ||
        !(mime = mail_mime_parse_fd(fd, NULL, &err))) {
        mail_error_prefix(&err, "message %s", a->msg);
        code = cmd_fail(&err);
        goto out;
    }
    if (!(ids = mail_identities_new(acct->address, acct->alternates, &err))) {
        code = cmd_fail(&err);
        goto out;
    }
    if (!(render = renderer(ctx, acct))) {
        code = cmd_failf(EX_OSERR, "out of memory");
        goto out;
    }
    if (acct->signature_file)
        sig = mail_paths_expand_home(acct->paths, acct->signature_file);
    memset(&ro, 0, sizeof ro);
    ro.mode = a->mode;
    ro.ids = ids;
    ro.render = render;
    ro.signature_file = sig;
    ro.to = a->to;
    ro.nto = a->nto;
    ro.attach = a->attach;
    if ((a->forward ? mail_forward_draft(fd, mime, &ro, &d, &err)
                    : mail_reply_draft(fd, mime, &ro, &d, &err)) < 0) {
        code = cmd_fail(&err);
        goto out;
    }
    /* Where the original is, for a postponed draft resumed later: a
     * full path, or imap:NAME. */
    {
        char *abs = mail_folder_kind(f) == MAIL_FOLDER_IMAP
                        ? NULL : realpath(mail_folder_path(f), NULL);

        d.orig_folder = abs ? abs : strdup(mail_folder_path(f));
    }
    memset(&fl, 0, sizeof fl);
    fl.ctx = ctx;
    fl.acct = acct;
    fl.d = &d;
    fl.rfc822_fd = a->forward && a->attach ? fd : -1;
    fl.dry_run = a->dry_run;
    if (isatty(STDIN_FILENO)) {
        if ((code = draft_session(&fl)) != 0) {
            if (code < 0)
                code = 0;      /* aborted or postponed by the user */
            goto out;
        }
    } else {
        struct mail_buf in = MAIL_BUF_INIT;

        if (read_all(STDIN_FILENO, &in, DRAFT_INPUT_MAX) < 0) {
            mail_buf_release(&in);
            code = cmd_failf(EX_IOERR, "standard input: %s", strerror(errno));
            goto out;
        }
        if (in.len && mail_draft_prepend(&d, in.data, in.len, &err) < 0) {
            mail_buf_release(&in);
            code = cmd_fail(&err);
            goto out;
        }
        mail_buf_release(&in);
    }
    code = draft_send(&fl, &delivered);
    /* Only now, and only when the server took it. */
    if (delivered && !a->dry_run)
        draft_flag_original(ctx, f, e, a->forward);
out:
    if (f) {
        int rc2 = cmd_folder_done(f, &sel.all, NULL);

        if (!code)
            code = rc2;
    }
    if (fd >= 0)
        close(fd);
    mail_draft_release(&d);
    mail_mime_free(mime);
    mail_render_free(render);
    mail_identities_free(ids);
    free(sig);
    cmd_selection_release(&sel);
    return code;
}
