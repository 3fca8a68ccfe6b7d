/*
 * compose_ui.c - `mail send` on a terminal: readline prompts for a missing
 * To and Subject (with history, and completion of addresses from
 * ~/.config/mail/aliases in mutt's alias format and from the addresses
 * sent to before), then $VISUAL or $EDITOR on the draft, then send, edit
 * again, or abort.  Without readline the prompts are plain lines.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmd.h"
#include "mail/fsutil.h"
#include "mail/reply.h"
#include "mail/address.h"
#include "mail/spawn.h"
#include "mail_build_config.h"

#if HAVE_READLINE
#include <readline/history.h>
#include <readline/readline.h>
#endif

/* Address candidates: "Name <addr>" or "addr", and alias nicks. */
struct cand {
    char *nick;     /* NULL for history entries */
    char *value;
};

static struct cand *cands;
static size_t ncands;

static void cand_add(const char *nick, const char *value)
{
    struct cand *nc;

    for (size_t i = 0; i < ncands; i++)
        if (!nick && !cands[i].nick && strcmp(cands[i].value, value) == 0)
            return;
    nc = realloc(cands, (ncands + 1) * sizeof *nc);
    if (!nc)
        return;
    cands = nc;
    cands[ncands].nick = nick ? strdup(nick) : NULL;
    cands[ncands].value = strdup(value);
    if (cands[ncands].value)
        ncands++;
}

static void cands_free(void)
{
    for (size_t i = 0; i < ncands; i++) {
        free(cands[i].nick);
        free(cands[i].value);
    }
    free(cands);
    cands = NULL;
    ncands = 0;
}

/* A path under $XDG_CONFIG_HOME or $XDG_STATE_HOME (malloc'd). */
static char *xdg_path(const char *var, const char *fallback,
                      const char *name)
{
    const char *x = getenv(var), *home = getenv("HOME");
    struct mail_buf b = MAIL_BUF_INIT;

    if (x && *x == '/')
        mail_buf_printf(&b, "%s/mail/%s", x, name);
    else if (home && *home)
        mail_buf_printf(&b, "%s/%s/mail/%s", home, fallback, name);
    else
        return NULL;
    return mail_buf_detach(&b);
}

/* mutt: "alias NICK [Name] <addr>" or "alias NICK addr, addr". */
static void load_aliases(void)
{
    char *path = xdg_path("XDG_CONFIG_HOME", ".config", "aliases");
    FILE *f = path ? fopen(path, "re") : NULL;
    char line[2048];

    free(path);
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        char *p = line, *nick;

        line[strcspn(line, "\r\n")] = '\0';
        while (isspace((unsigned char)*p))
            p++;
        if (strncmp(p, "alias", 5) != 0 || !isspace((unsigned char)p[5]))
            continue;
        p += 5;
        while (isspace((unsigned char)*p))
            p++;
        nick = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        if (!*p)
            continue;
        *p++ = '\0';
        while (isspace((unsigned char)*p))
            p++;
        if (*p)
            cand_add(nick, p);
    }
    fclose(f);
}

static void load_sent_addresses(void)
{
    char *path = xdg_path("XDG_STATE_HOME", ".local/state", "addresses");
    FILE *f = path ? fopen(path, "re") : NULL;
    char line[1024];

    free(path);
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (*line)
            cand_add(NULL, line);
    }
    fclose(f);
}

/* Remember the recipients for completion next time. */
static void save_sent_addresses(const struct send_strv *v)
{
    char *path = xdg_path("XDG_STATE_HOME", ".local/state", "addresses");
    char *slash;
    FILE *f;

    if (!path)
        return;
    slash = strrchr(path, '/');
    if (slash) {
        *slash = '\0';
        /* Best effort: $XDG_STATE_HOME/mail may not exist yet. */
        for (char *p = path + 1; *p; p++)
            if (*p == '/') {
                *p = '\0';
                mkdir(path, 0700);
                *p = '/';
            }
        mkdir(path, 0700);
        *slash = '/';
    }
    f = fopen(path, "ae");
    if (f) {
        for (size_t i = 0; i < v->n; i++) {
            bool known = false;

            for (size_t k = 0; k < ncands && !known; k++)
                known = !cands[k].nick && strcmp(cands[k].value, v->v[i]) == 0;
            if (!known && !strpbrk(v->v[i], "\r\n"))
                fprintf(f, "%s\n", v->v[i]);
        }
        fclose(f);
    }
    free(path);
}

/* An alias nick typed alone becomes its addresses. */
static const char *expand_alias(const char *s)
{
    for (size_t i = 0; i < ncands; i++)
        if (cands[i].nick && strcmp(cands[i].nick, s) == 0)
            return cands[i].value;
    return s;
}

#if HAVE_READLINE
static char *complete_gen(const char *text, int state)
{
    static size_t idx;
    size_t len = strlen(text);

    if (!state)
        idx = 0;
    while (idx < ncands) {
        const struct cand *c = &cands[idx++];

        if ((c->nick && strncasecmp(c->nick, text, len) == 0) ||
            strncasecmp(c->value, text, len) == 0 ||
            (strchr(c->value, '<') &&
             strncasecmp(strchr(c->value, '<') + 1, text, len) == 0))
            return strdup(c->value);
    }
    return NULL;
}

static char **complete_addr(const char *text, int start, int end)
{
    (void)start;
    (void)end;
    rl_attempted_completion_over = 1;
    return rl_completion_matches(text, complete_gen);
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

int send_interactive(struct cmd_ctx *ctx, struct send_opts *o,
                     const struct mail_account *acct, int *body)
{
    char *hist = xdg_path("XDG_STATE_HOME", ".local/state", "send_history");
    char path[4096];
    const char *dir = getenv("TMPDIR");
    int fd = -1, code = 0;

    (void)ctx;
    *body = -1;
    load_aliases();
    load_sent_addresses();
#if HAVE_READLINE
    if (hist)
        read_history(hist);
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
    }
    /* Alias nicks become their addresses (copies: the table goes). */
    for (size_t i = 0; i < o->to.n; i++) {
        const char *e = expand_alias(o->to.v[i]);

        if (e != o->to.v[i]) {
            char *c = strdup(e);

            if (own(o, c) < 0) {
                code = cmd_failf(EX_SOFTWARE, "out of memory");
                goto done;
            }
            o->to.v[i] = c;
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
    if (!dir || *dir != '/')
        dir = "/tmp";
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
    save_sent_addresses(&o->to);
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
    cands_free();
    return code;
}
