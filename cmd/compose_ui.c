/*
 * compose_ui.c - `mail send` on a terminal: readline prompts for a missing
 * To (then Cc) and Subject, with history, and completion of addresses
 * from the address book (mail/addrbook.h: aliases, the addresses of mail
 * sent before, the account's address-command); then $VISUAL or $EDITOR
 * on the draft, then send, edit again, or abort.  Without readline the
 * prompts are plain lines.  The recipients are collected into the book
 * by the library once the message is sent (lib/service/outgoing.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmd.h"
#include "mail/addrbook.h"
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

int cmd_run_editor(const char *path)
{
    const char *ed = getenv("VISUAL");
    const char *args[3];
    struct mail_spawn sp = MAIL_SPAWN_INIT;
    struct mail_spawn_result res;
    struct mail_error err;

    if (!ed || !*ed)
        ed = getenv("EDITOR");
    if (!ed || !*ed)
        ed = "vi";
    /* Through the shell, as $EDITOR may carry options; on the terminal,
     * in our process group, with no time limit. */
    args[0] = ed;
    args[1] = path;
    args[2] = NULL;
    sp.command = "exec $0 \"$1\"";
    sp.argv = args;
    if (mail_spawn_run(&sp, &res, &err) < 0)
        return cmd_failf(EX_OSERR, "%s", err.msg);
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
