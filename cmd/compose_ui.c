/*
 * compose_ui.c - `mail send` on a terminal: readline prompts for a missing
 * To (then Cc) and Subject, with history, and completion of addresses
 * from the address book (mail/addrbook.h: aliases, the addresses of mail
 * sent before, the account's address-command); then $VISUAL or $EDITOR
 * on the draft, then send, edit again, or abort.  Without readline the
 * prompts are plain lines.  The recipients are collected into the book
 * by the library once the message is sent (lib/service/outgoing.c).
 *
 * Also what `mail reply`, `mail forward` and `mail compose` share around
 * the library's compose flow (mail/compose_flow.h): the flow with the
 * command line's hooks (password prompt, send events, -v traces), the
 * send or --dry-run and its warnings, the option parser of reply and
 * forward (each keeps its option table) and their run.  The menu and its
 * prompts are compose_menu.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmd.h"
#include "select.h"
#include "send.h"
#include "mail/addrbook.h"
#include "mail/compose_flow.h"
#include "mail/draft.h"
#include "mail/folder.h"
#include "mail/fsutil.h"
#include "mail/reply.h"
#include "mail/spawn.h"
#include "mail/termsafe.h"
#include "mail_build_config.h"

#if HAVE_READLINE
#include <readline/history.h>
#include <readline/readline.h>
#endif

/* The address book the To and Cc prompts complete from (readline's
 * completion function takes no argument: this is its context, set for
 * the prompts of one send). */
static struct mail_addrbook *book;

#if HAVE_READLINE
/* Candidates shown and inserted by readline: only text a terminal shows
 * as it is (the library cleans names; an alias file may hold anything). */
static bool term_plain(const char *s)
{
    struct mail_buf b = MAIL_BUF_INIT;
    bool same = mail_term_safe(&b, s, strlen(s), MAIL_SAFE_ONELINE) == 0 &&
                strcmp(b.data ? b.data : "", s) == 0;

    mail_buf_release(&b);
    return same;
}

static char **complete_addr(const char *text, int start, int end)
{
    struct mail_addrbook_results r = MAIL_ADDRBOOK_RESULTS_INIT;
    struct mail_error err;
    size_t lead = strspn(text, " \t"), n = 0;
    char **m = NULL;

    (void)start;
    (void)end;
    rl_attempted_completion_over = 1;
    /* After a whole address, the separator for the next one (readline
     * sets a blank before each attempt). */
    rl_completion_append_character = ',';
    if (!book || !text[lead])
        return NULL;
    /* A failed address-command leaves the other sources' entries. */
    if (mail_addrbook_query(book, text + lead, &r, &err) < 0 || r.n == 0 ||
        !(m = calloc(r.n + 2, sizeof *m)))
        goto out;
    for (size_t i = 0; i < r.n; i++) {
        struct mail_buf b = MAIL_BUF_INIT;

        if (mail_buf_add(&b, text, lead) == 0 &&
            mail_addrbook_entry_format(&r.v[i], &b) == 0 && b.data &&
            term_plain(b.data))
            m[1 + n++] = mail_buf_detach(&b);
        mail_buf_release(&b);
    }
    if (n == 0) {
        free(m);
        m = NULL;
    } else if (n == 1) {
        m[0] = m[1];
        m[1] = NULL;
    } else {
        /* What readline puts on the line: the text typed, as the
         * matches are by substring, not by prefix. */
        m[0] = strdup(text);
        if (!m[0]) {
            for (size_t i = 1; i <= n; i++)
                free(m[i]);
            free(m);
            m = NULL;
        }
    }
out:
    mail_addrbook_results_release(&r);
    return m;
}
#endif

/* Ask; returns a malloc'd line (without newline) or NULL at end of input. */
static char *ask(const char *prompt, bool complete)
{
#if HAVE_READLINE
    char *l;

    rl_attempted_completion_function = complete ? complete_addr : NULL;
    rl_completer_word_break_characters = complete ? (char *)"," : NULL;
    l = readline(prompt);
    if (l && *l)
        add_history(l);
    return l;
#else
    char buf[4096];

    (void)complete;
    fputs(prompt, stderr);
    fflush(stderr);
    if (!fgets(buf, sizeof buf, stdin))
        return NULL;
    buf[strcspn(buf, "\r\n")] = '\0';
    return strdup(buf);
#endif
}

const char *cmd_editor(void)
{
    const char *ed = getenv("VISUAL");

    if (!ed || !*ed)
        ed = getenv("EDITOR");
    if (!ed || !*ed)
        ed = "vi";
    return ed;
}

int cmd_run_editor(const char *path)
{
    const char *ed = cmd_editor();
    const char *args[3];
    struct mail_spawn sp = MAIL_SPAWN_INIT;
    struct mail_spawn_result res;
    struct mail_error err;

    /* Through the shell, as $EDITOR may carry options; on the terminal,
     * in our process group, with no time limit. */
    args[0] = ed;
    args[1] = path;
    args[2] = NULL;
    sp.command = "exec $0 \"$1\"";
    sp.argv = args;
    if (mail_spawn_run(&sp, &res, &err) < 0)
        return cmd_fail(&err);
    if (mail_spawn_check(&res, "the editor", &err) < 0)
        return cmd_failf(EX_UNAVAILABLE, "the editor (%s) failed", ed);
    return 0;
}

/* Start the draft with the signature, if the account has one (the same
 * text a reply's draft gets: mail_signature_append). */
static void write_signature(int fd, const struct mail_account *acct)
{
    struct mail_buf sig = MAIL_BUF_INIT;
    struct mail_error err;
    char *path;

    if (!acct || !acct->signature_file)
        return;
    path = mail_paths_expand_home(acct->paths, acct->signature_file);
    if (path && mail_signature_append(&sig, path, &err) == 0 && sig.len)
        (void)mail_write_all(fd, sig.data, sig.len);
    free(path);
    mail_buf_release(&sig);
}

static int own(struct send_opts *o, char *s)
{
    if (!s || send_strv_push(&o->owned, s) < 0) {
        free(s);
        return -1;
    }
    return 0;
}

/* The book for the prompts: aliases, collected addresses, the account's
 * address-command.  A bad aliases file is said once and the prompts go
 * on without completion (the send itself reports it again). */
static struct mail_addrbook *open_book(struct cmd_ctx *ctx,
                                       const struct mail_account *acct)
{
    struct mail_addrbook_opts bo = {
        .paths = &ctx->paths,
        .address_command = acct ? acct->address_command : NULL,
    };
    struct mail_addrbook *b;
    struct mail_error err;

    mail_error_clear(&err);
    b = mail_addrbook_open(&bo, &err);
    if (!b)
        (void)cmd_fail(&err);
    return b;
}

int send_interactive(struct cmd_ctx *ctx, struct send_opts *o,
                     const struct mail_account *acct, int *body)
{
    char *hist = mail_paths_mail_dir(&ctx->paths, MAIL_PATHS_STATE,
                                     "send_history", "the prompts' history",
                                     NULL);
    char path[4096];
    const char *dir = mail_paths_tmp_dir(&ctx->paths);
    int fd = -1, code = 0;
    bool asked_to = false;

    *body = -1;
    book = open_book(ctx, acct);
#if HAVE_READLINE
    if (hist) {
        (void)mail_mkdir_parents(hist, NULL);
        read_history(hist);
    }
#endif
    if (o->to.n == 0) {
        char *l = ask("To: ", true);

        if (!l || !*l) {
            free(l);
            code = cmd_usage_error("send", "no recipients");
            goto done;
        }
        if (own(o, l) < 0 || send_strv_push(&o->to, l) < 0) {
            code = cmd_failf(EX_SOFTWARE, "out of memory");
            goto done;
        }
        asked_to = true;
    }
    /* Aliases in what was typed are resolved by the send, as for
     * arguments (mail_rcpts_add_args).  A Cc when the To was asked for. */
    if (asked_to && o->cc.n == 0) {
        char *l = ask("Cc: ", true);

        if (l && *l) {
            if (own(o, l) < 0 || send_strv_push(&o->cc, l) < 0) {
                code = cmd_failf(EX_SOFTWARE, "out of memory");
                goto done;
            }
        } else {
            free(l);
        }
    }
    if (!o->subject) {
        char *l = ask("Subject: ", false);

        if (!l) {
            code = cmd_usage_error("send", "no subject given");
            goto done;
        }
        o->owned_subject = l;
        o->subject = l;
    }
    if (mail_snprintf(path, sizeof path, "%s/mail-draft.XXXXXX", dir) < 0 ||
        (fd = mkostemp(path, O_CLOEXEC)) < 0) {
        code = cmd_failf(EX_CANTCREAT, "%s: %s", path, strerror(errno));
        goto done;
    }
    write_signature(fd, acct);
    for (;;) {
        char *l;

        if ((code = cmd_run_editor(path)) != 0) {
            fprintf(stderr, "mail: the draft is kept in %s\n", path);
            goto done;
        }
        l = ask("(s)end, (e)dit again, (a)bort? ", false);
        if (!l || *l == 'a' || *l == 'A') {
            free(l);
            fprintf(stderr, "mail: not sent; the draft is kept in %s\n",
                    path);
            code = -1;
            goto done;
        }
        if (*l == 's' || *l == 'S' || !*l) {
            free(l);
            break;
        }
        free(l);
    }
    /* The editor may have replaced the file: open it afresh. */
    close(fd);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        code = cmd_failf(EX_IOERR, "%s: %s", path, strerror(errno));
        goto done;
    }
    unlink(path);
    *body = fd;
    fd = -1;
done:
    if (fd >= 0)
        close(fd);
#if HAVE_READLINE
    if (hist) {
        write_history(hist);
        history_truncate_file(hist, 500);
    }
#endif
    free(hist);
    mail_addrbook_free(book);
    book = NULL;
    return code;
}

/* ---- the compose flow: reply, forward, compose (mail/compose_flow.h;
 * the menu is compose_menu.c's) ---- */

/* What the send tells the user (send_report_event's argument), for the
 * one flow of a run. */
static struct send_ui flow_ui;

const struct mail_compose_flow_opts *cmd_flow_opts(
    struct cmd_ctx *ctx, const struct mail_account *acct)
{
    static struct cmd_trace imap_tr = { "imap" };
    static struct mail_compose_flow_opts o;

    memset(&o, 0, sizeof o);
    o.acct = acct;
    o.paths = &ctx->paths;
    o.prompt = cmd_prompt_password;
    o.event = send_report_event;
    o.event_arg = &flow_ui;
    memset(&flow_ui, 0, sizeof flow_ui);
    flow_ui.ctx = ctx;
    if (ctx->verbose) {
        flow_ui.tr.proto = "smtp";
        o.trace = cmd_trace_fn;
        o.trace_arg = &flow_ui.tr;
    }
    if (ctx->verbose >= 2) {
        o.imap_trace = cmd_trace_fn;
        o.imap_trace_arg = &imap_tr;
    }
    return &o;
}

struct mail_compose_flow *cmd_flow_new(struct cmd_ctx *ctx,
                                       const struct mail_account *acct)
{
    struct mail_compose_flow *fl;
    struct mail_error err;

    mail_error_clear(&err);
    if (!(fl = mail_compose_flow_new(cmd_flow_opts(ctx, acct), &err)))
        (void)cmd_fail(&err);
    return fl;
}

/* Print the message (--dry-run): as it is into a pipe or file, defused
 * on a terminal. */
static int print_msg(int fd)
{
    struct mail_buf b = MAIL_BUF_INIT;
    char buf[65536];
    ssize_t n;
    int code = 0;

    if (lseek(fd, 0, SEEK_SET) < 0)
        return cmd_failf(EX_IOERR, "reading the message: %s",
                         strerror(errno));
    while ((n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || mail_buf_add(&b, buf, (size_t)n) < 0) {
            mail_buf_release(&b);
            return cmd_failf(EX_IOERR, "reading the message: %s",
                             strerror(errno));
        }
    }
    if (isatty(STDOUT_FILENO))
        out_safe(stdout, b.data, b.len, 0);
    else if (b.len && fwrite(b.data, 1, b.len, stdout) != b.len)
        code = cmd_failf(EX_IOERR, "standard output: %s", strerror(errno));
    mail_buf_release(&b);
    if (fflush(stdout) != 0)
        return cmd_failf(EX_IOERR, "standard output: %s", strerror(errno));
    return code;
}

static void warn(const char *what, const struct mail_error *err)
{
    fputs("mail: warning: ", stderr);
    fputs(what, stderr);
    out_safe_str(stderr, err->msg);
    fputc('\n', stderr);
}

int cmd_flow_send(struct cmd_ctx *ctx, struct mail_compose_flow *fl,
                  bool dry_run, bool *sent)
{
    struct mail_compose_sent res;
    struct mail_error err;
    int code, msg = -1;

    *sent = false;
    mail_error_clear(&err);
    if (dry_run) {
        if (mail_compose_flow_message(fl, &msg, &err) < 0)
            return cmd_fail(&err);
        code = print_msg(msg);
        close(msg);
        return code;
    }
    if (mail_compose_flow_send(fl, &res, &err) < 0)
        return cmd_fail(&err);
    /* The send itself was told through send_report_event. */
    code = mail_error_exit_code(res.status);
    *sent = code == 0;
    if (res.draft_err.kind != MAIL_OK)
        warn("sent, but the draft could not be removed: ", &res.draft_err);
    if (res.mark_err.kind != MAIL_OK)
        warn("sent, but the original could not be flagged: ", &res.mark_err);
    if (res.mark_skipped && ctx->verbose)
        fputs("mail: an mbox folder has no passed flag: the original is "
              "left as it is\n", stderr);
    return code;
}

/* ---- mail reply, mail forward ---- */

/* Most text read from standard input for a reply. */
#define CMD_INPUT_MAX ((size_t)16 << 20)

/* Standard input (not a terminal), bounded. */
static int read_stdin(struct mail_buf *in)
{
    char buf[65536];
    ssize_t n;

    while ((n = read(STDIN_FILENO, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || in->len + (size_t)n > CMD_INPUT_MAX)
            return cmd_failf(EX_IOERR, "standard input: %s",
                             strerror(n < 0 ? errno : EFBIG));
        if (mail_buf_add(in, buf, (size_t)n) < 0)
            return cmd_failf(EX_IOERR, "standard input: %s",
                             strerror(errno));
    }
    return 0;
}

int cmd_reply_run(struct cmd_ctx *ctx, const struct cmd_reply_args *a)
{
    struct mail_account *acct = NULL;
    struct mail_folder *f = NULL;
    struct cmd_selection sel = { 0 };
    struct mail_compose_flow *fl = NULL;
    struct mail_compose_original orig = { .fd = -1 };
    struct mail_error err;
    char *msg = (char *)a->msg;
    int code;
    bool sent;

    mail_error_clear(&err);
    if ((code = cmd_load_account(ctx, &acct)) != 0)
        return code;
    code = 0;
    if (!a->folder)
        code = cmd_folder_from_paths(ctx, 1, &msg, MAIL_FOLDER_RDWR, &f);
    if (code == 1)
        code = 0;
    else if (code == 0)
        code = cmd_open_folder(ctx, a->folder, MAIL_FOLDER_RDWR, &f, NULL);
    if (code)
        goto out;
    if ((code = cmd_select_messages(ctx, f, 1, &msg, &sel)) != 0)
        goto out;
    if (sel.n != 1) {
        code = cmd_usage_error(a->cmdname, "%s: one message at a time",
                               a->msg);
        goto out;
    }
    orig.folder = f;
    orig.env = &sel.all.v[sel.idx[0]];
    if (mail_folder_message_fd(f, orig.env, &orig.fd, &err) < 0) {
        mail_error_prefix(&err, "message %s", a->msg);
        code = cmd_fail(&err);
        goto out;
    }
    if (!(fl = cmd_flow_new(ctx, acct))) {
        code = EX_SOFTWARE;
        goto out;
    }
    if ((a->forward ? mail_compose_flow_start_forward(fl, &orig, a->attach,
                                                      a->to, a->nto, &err)
                    : mail_compose_flow_start_reply(fl, &orig, a->mode,
                                                    &err)) < 0) {
        code = cmd_fail(&err);
        goto out;
    }
    if (isatty(STDIN_FILENO)) {
        if ((code = cmd_flow_menu(ctx, fl, acct)) != 0) {
            if (code < 0)
                code = 0;      /* aborted or postponed by the user */
            goto out;
        }
    } else {
        struct mail_buf in = MAIL_BUF_INIT;

        code = read_stdin(&in);
        if (!code && in.len &&
            mail_draft_prepend(mail_compose_flow_draft(fl), in.data, in.len,
                               &err) < 0)
            code = cmd_fail(&err);
        mail_buf_release(&in);
        if (code)
            goto out;
    }
    /* The original is flagged through f, after a send the server took. */
    code = cmd_flow_send(ctx, fl, a->dry_run, &sent);
out:
    mail_compose_flow_free(fl);
    if (f) {
        int rc2 = cmd_folder_done(f, &sel.all, NULL);

        if (!code)
            code = rc2;
    }
    if (orig.fd >= 0)
        close(orig.fd);
    cmd_selection_release(&sel);
    return code;
}

int cmd_reply_parse(struct cmd_ctx *ctx, bool forward, int argc, char **argv,
                    const struct option *longopts, const char *shortopts)
{
    const char *name = forward ? "forward" : "reply";
    struct cmd_reply_args a = {
        .cmdname = name, .forward = forward, .mode = MAIL_REPLY_SENDER,
    };
    int opt, rc;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        switch (opt) {
        case 'A':
        case 'g':
            if (a.mode == MAIL_REPLY_LIST)
                return cmd_usage_error(name, "--all and --list exclude "
                                       "each other");
            a.mode = MAIL_REPLY_ALL;
            break;
        case OPT_REPLY_LIST:
            if (a.mode == MAIL_REPLY_ALL)
                return cmd_usage_error(name, "--all and --list exclude "
                                       "each other");
            a.mode = MAIL_REPLY_LIST;
            break;
        case OPT_REPLY_ATTACH:
            a.attach = true;
            break;
        case 'f':
            a.folder = optarg;
            break;
        case OPT_REPLY_DRY_RUN:
            a.dry_run = true;
            break;
        case '?':
        case ':':
            return cmd_usage_error(name, "unknown option or missing "
                                   "value: %s", argv[optind - 1]);
        default:
            rc = cmd_common_option(ctx, name, opt, optarg);
            if (rc == -1)
                return 0;
            if (rc > 1)
                return rc;
        }
    }
    if (optind >= argc)
        return cmd_usage_error(name, "no message given");
    if (!forward && argc - optind > 1)
        return cmd_usage_error(name, "one message at a time");
    a.msg = argv[optind];
    a.to = (const char *const *)argv + optind + 1;
    a.nto = (size_t)(argc - optind - 1);
    return cmd_reply_run(ctx, &a);
}
