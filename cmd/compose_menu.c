/*
 * compose_menu.c - the command line's face of the compose flow
 * (mail/compose_flow.h) for `mail reply`, `mail forward` and `mail
 * compose`: $VISUAL/$EDITOR on the whole draft, then the menu with a
 * summary above it, (y) send, (e) edit, (h) headers, (a) attach, (d)
 * detach, (p) postpone, (q) quit, and its readline prompts.  The work
 * is the library's; this file asks and prints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "mail/compose_flow.h"
#include "mail/mimetypes.h"
#include "mail_build_config.h"

#if HAVE_READLINE
#include <readline/readline.h>
#endif

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

char *cmd_ask_line(const char *prompt, const char *initial)
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

/* ---- the summary above the menu ---- */

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
        mail_compose_size_text(size, sizeof size, (long long)st.st_size);
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

static void show_summary(struct mail_compose_flow *fl,
                         const struct mail_account *acct)
{
    const struct mail_draft *d = mail_compose_flow_draft(fl);
    long long fwd = mail_compose_flow_forwarded_size(fl);

    fputc('\n', stdout);
    show_field("From:", acct->address);
    show_field("To:", d->to);
    show_field("Cc:", d->cc);
    show_field("Bcc:", d->bcc);
    show_field("Subject:", d->subject);
    if (d->nattach || fwd >= 0 || d->rfc822)
        fputs("Attachments:\n", stdout);
    for (size_t i = 0; i < d->nattach; i++)
        show_file(i + 1, d->attach[i], NULL);
    if (fwd >= 0) {
        char size[32];

        mail_compose_size_text(size, sizeof size, fwd);
        printf("  [-] the forwarded message  (message/rfc822, %s)\n", size);
    } else if (d->rfc822) {
        show_file(0, d->rfc822, "message/rfc822");
    }
    fflush(stdout);
}

/* ---- the menu's actions ---- */

/* (h): To, Cc, Bcc and Subject, each prompted with its value to edit. */
static void edit_headers(struct mail_compose_flow *fl)
{
    static const struct {
        const char *prompt;
        enum mail_compose_field which;
    } f[] = {
        { "To: ", MAIL_COMPOSE_TO }, { "Cc: ", MAIL_COMPOSE_CC },
        { "Bcc: ", MAIL_COMPOSE_BCC }, { "Subject: ", MAIL_COMPOSE_SUBJECT },
    };
    struct mail_draft *d = mail_compose_flow_draft(fl);

    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        char *const v[] = { d->to, d->cc, d->bcc, d->subject };
        char *l = ask_line(f[i].prompt, v[f[i].which] ? v[f[i].which] : "",
                           false);
        struct mail_error err;

        if (!l)
            return;              /* end of input: the rest as they are */
        if (mail_compose_flow_set_field(fl, f[i].which, l, &err) < 0)
            (void)cmd_fail(&err);
        free(l);
    }
}

/* (a): a file to attach, with file name completion. */
static void attach_file(struct mail_compose_flow *fl)
{
    char *l = ask_line("Attach file: ", NULL, true), *path, *end;
    struct mail_error err;

    if (!l)
        return;
    /* Blanks around the name (completion leaves one after it). */
    path = l;
    while (*path == ' ' || *path == '\t')
        path++;
    end = path + strlen(path);
    while (end > path && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = '\0';
    mail_error_clear(&err);
    if (*path && mail_compose_flow_attach(fl, path, &err) < 0)
        (void)cmd_fail(&err);
    free(l);
}

/* (d): remove an attachment (asks which when there are several). */
static void detach_file(struct mail_compose_flow *fl)
{
    size_t n = mail_compose_flow_draft(fl)->nattach, i = 0;
    struct mail_error err;

    if (n > 1) {
        char prompt[64], *l, *end;
        unsigned long k;

        mail_snprintf(prompt, sizeof prompt, "Detach which (1-%zu)? ", n);
        if (!(l = ask_line(prompt, NULL, false)))
            return;
        k = strtoul(l, &end, 10);
        i = end == l || *end || k < 1 ? n : (size_t)k - 1;
        free(l);
    }
    if (mail_compose_flow_detach(fl, i, &err) < 0)
        (void)cmd_fail(&err);
}

int cmd_flow_postpone(struct cmd_ctx *ctx, struct mail_compose_flow *fl)
{
    struct mail_error err;
    bool saved = false;

    mail_error_clear(&err);
    if (mail_compose_flow_postpone(fl, &saved, &err) < 0) {
        if (!saved)
            return cmd_fail(&err);
        /* The new version is safe; only the old one is left over. */
        fputs("mail: warning: ", stderr);
        out_safe_str(stderr, err.msg);
        fputc('\n', stderr);
    }
    if (!ctx->quiet) {
        fputs("mail: postponed to ", stderr);
        out_safe_str(stderr, mail_compose_flow_drafts_name(fl));
        fputs(" (mail compose --resume)\n", stderr);
    }
    return 0;
}

/*
 * The editor on the draft, then the menu.  Returns CMD_FLOW_SEND (the
 * draft updated from the edit), CMD_FLOW_ABORTED, CMD_FLOW_POSTPONED, or
 * an exit code.
 */
int cmd_flow_menu(struct cmd_ctx *ctx, struct mail_compose_flow *fl,
                  const struct mail_account *acct)
{
    struct mail_error err;
    bool edit = true;
    int code = 0;

    for (;;) {
        char key;

        mail_error_clear(&err);
        if (edit) {
            int rc = mail_compose_flow_edit(fl, cmd_editor(), &err);

            if (rc < 0) {
                code = cmd_fail(&err);
                break;
            }
            if (rc > 0) {
                cmd_fail(&err);
                key = ask_key("(e)dit again, (q)uit? ");
                if (key == 'e')
                    continue;
                code = CMD_FLOW_ABORTED;
                break;
            }
            edit = false;
        }
        show_summary(fl, acct);
        key = ask_key("(y) send, (e) edit, (h) headers, (a) attach, "
                      "(d) detach, (p) postpone, (q) quit: ");
        if (key == 'y')
            break;
        switch (key) {
        case 'e':
            edit = true;
            continue;
        case 'h':
            edit_headers(fl);
            continue;
        case 'a':
            attach_file(fl);
            continue;
        case 'd':
            detach_file(fl);
            continue;
        case 'p':
            if (cmd_flow_postpone(ctx, fl) != 0)
                continue;     /* not saved: the draft is still here */
            code = CMD_FLOW_POSTPONED;
            break;
        case 'q':
        case 'x':
            if (mail_compose_flow_changed(fl)) {
                char k = ask_key("Discard your changes? (y)es, (n)o: ");

                if (k != 'y' && k != 0)
                    continue;
            }
            code = CMD_FLOW_ABORTED;
            break;
        case 0:               /* end of input */
            code = CMD_FLOW_ABORTED;
            break;
        default:
            fputs("mail: unknown key\n", stderr);
            continue;
        }
        break;
    }
    if (code == CMD_FLOW_ABORTED && !ctx->quiet)
        fputs("mail: not sent\n", stderr);
    return code;
}
