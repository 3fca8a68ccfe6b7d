/*
 * password.c - where a password comes from: password-command, a literal
 * password in a private config, ~/.netrc, or the program's prompt.
 *
 * Secrets are kept out of argv (the command is run by /bin/sh -c with the
 * user's own command string; the password only comes back through a
 * pipe), out of error messages, and wiped from every buffer that held them.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mail/buf.h"
#include "mail/config.h"
#include "mail/oauth2.h"
#include "mail/secure.h"
#include "mail/spawn.h"
#include "secret_command.h"

/* The first line is the password; a longer one is surely not a password. */
#define PASSWORD_MAX 4096
/* What we read of the rest of the output before giving up on the command
 * (`yes` as a password-command should not hang us). */
#define COMMAND_OUTPUT_MAX ((size_t)1 << 20)
#define NETRC_MAX ((size_t)1 << 20)

/* ------------------------------------------------------------------ */
/* password-command                                                    */

/* A name for messages: account names come from the config file and could
 * hold anything printable; control characters never reach here (the
 * parser refuses them), but a command-line account name might. */
static const char *show(char *dst, size_t size, const char *s)
{
    size_t n = 0;

    if (!s)
        s = "";
    while (*s && n + 4 < size) {
        unsigned char c = (unsigned char)*s++;

        dst[n++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    if (*s) {
        memcpy(dst + n, "...", 3);
        n += 3;
    }
    dst[n] = '\0';
    return dst;
}

/*
 * stdout captured, stdin and stderr inherited (gpg's pinentry may need the
 * terminal, and the command's own complaints should reach the user).  We
 * read to EOF, so that the command does not die of SIGPIPE, up to
 * COMMAND_OUTPUT_MAX, keeping only the first line.
 */
int secret_command_run(const struct secret_command *c, struct mail_buf *out,
                       struct mail_error *err)
{
    struct mail_spawn sp = MAIL_SPAWN_INIT;
    struct mail_spawn_result res;
    struct mail_buf got = MAIL_BUF_INIT;
    size_t linelen;
    const char *nl;
    int rc = -1;

    mail_buf_set_secret(&got);
    sp.command = c->command;
    sp.out = out ? &got : NULL;
    sp.out_max = COMMAND_OUTPUT_MAX;
    sp.secret = true;
    sp.timeout_ms = c->timeout_ms;
    if (c->in) {
        sp.in_data = c->in;
        sp.in_len = strlen(c->in);
    }
    if (mail_spawn_run(&sp, &res, err) < 0) {
        if (err)
            err->kind = MAIL_ERR_IO;
        mail_error_prefix(err, "%s: cannot run", c->what);
        goto out;
    }
    if (res.out_truncated) {
        mail_error_set(err, MAIL_ERR_AUTH, "%s printed more than %zu bytes",
                       c->what, COMMAND_OUTPUT_MAX);
        goto out;
    }
    if (mail_spawn_check(&res, c->what, err) < 0) {
        if (err)
            err->kind = MAIL_ERR_AUTH;
        goto out;
    }
    if (!out) {
        rc = 0;
        goto out;
    }
    nl = got.len ? memchr(got.data, '\n', got.len) : NULL;
    linelen = nl ? (size_t)(nl - got.data) : got.len;
    if (linelen > c->line_max) {
        mail_error_set(err, MAIL_ERR_AUTH, "%s printed a line longer than %zu "
                       "bytes", c->what, c->line_max);
        goto out;
    }
    while (linelen > 0 && got.data[linelen - 1] == '\r')
        linelen--;
    if (linelen == 0) {
        mail_error_set(err, MAIL_ERR_AUTH, "%s printed nothing", c->what);
        goto out;
    }
    if (mail_buf_add(out, got.data, linelen) < 0) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto out;
    }
    rc = 0;
out:
    mail_buf_release_secret(&got);
    return rc;
}

static int run_password_command(const struct mail_account *acct,
                                struct mail_buf *out, struct mail_error *err)
{
    char name[80], what[128];
    struct secret_command c = { 0 };

    show(name, sizeof name, acct->name);
    snprintf(what, sizeof what, "password-command for account '%s'", name);
    c.command = acct->password_command;
    c.what = what;
    c.line_max = PASSWORD_MAX;
    return secret_command_run(&c, out, err);
}

/* ------------------------------------------------------------------ */
/* ~/.netrc                                                            */

struct netrc_lexer {
    const char *p, *end;
};

/*
 * The next token into tok (cleared first): whitespace-separated, or
 * "double quoted" with backslash escapes.  Returns 0 at the end.
 */
static int netrc_token(struct netrc_lexer *lx, struct mail_buf *tok)
{
    const char *p = lx->p, *end = lx->end;

    mail_buf_reset(tok);
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    if (p == end) {
        lx->p = p;
        return 0;
    }
    if (*p == '"') {
        for (p++; p < end && *p != '"'; p++) {
            if (*p == '\\' && p + 1 < end)
                p++;
            if (mail_buf_addch(tok, *p) < 0)
                break;
        }
        if (p < end)
            p++;            /* the closing quote */
    } else {
        for (; p < end && *p != ' ' && *p != '\t' && *p != '\n' &&
               *p != '\r'; p++) {
            if (*p == '\\' && p + 1 < end)
                p++;
            if (mail_buf_addch(tok, *p) < 0)
                break;
        }
    }
    lx->p = p;
    return 1;
}

/* macdef NAME: the macro body runs from the next line to an empty line. */
static void netrc_skip_macro(struct netrc_lexer *lx)
{
    const char *p = memchr(lx->p, '\n', (size_t)(lx->end - lx->p));

    while (p && p < lx->end) {
        const char *q = p + 1;

        if (q < lx->end && *q == '\r')
            q++;
        if (q >= lx->end || *q == '\n') {
            lx->p = q < lx->end ? q + 1 : lx->end;
            return;
        }
        p = memchr(q, '\n', (size_t)(lx->end - q));
    }
    lx->p = lx->end;
}

/* Skip a '#' comment to the end of the line, where a keyword would be. */
static void netrc_skip_line(struct netrc_lexer *lx)
{
    const char *nl = memchr(lx->p, '\n', (size_t)(lx->end - lx->p));

    lx->p = nl ? nl + 1 : lx->end;
}

int mail_netrc_lookup(const char *text, size_t len, const char *host,
                      const char *user, struct mail_buf *password)
{
    struct netrc_lexer lx = { text, text + len };
    struct mail_buf tok, login, pass, dflt;
    /* State of the entry being read. */
    bool in_entry = false, is_default = false, match_host = false;
    bool has_login = false, has_pass = false, has_dflt = false;
    int found = 0;

    if (!text || !host)
        return 0;
    /* Room for the longest token up front: a realloc would leave copies
     * of a password behind in freed memory. */
    mail_buf_init(&tok, PASSWORD_MAX);
    mail_buf_init(&login, PASSWORD_MAX);
    mail_buf_init(&pass, PASSWORD_MAX);
    mail_buf_init(&dflt, PASSWORD_MAX);
    if (mail_buf_reserve(&tok, PASSWORD_MAX) < 0 ||
        mail_buf_reserve(&pass, PASSWORD_MAX) < 0 ||
        mail_buf_reserve(&dflt, PASSWORD_MAX) < 0)
        goto out;

    for (;;) {
        int more;
        bool entry_ends;

        while (lx.p < lx.end && (*lx.p == ' ' || *lx.p == '\t' ||
                                 *lx.p == '\n' || *lx.p == '\r'))
            lx.p++;
        if (lx.p < lx.end && *lx.p == '#') {
            netrc_skip_line(&lx);
            continue;
        }
        more = netrc_token(&lx, &tok);
        entry_ends = !more || strcmp(tok.data, "machine") == 0 ||
                     strcmp(tok.data, "default") == 0 ||
                     strcmp(tok.data, "macdef") == 0;

        if (entry_ends && in_entry) {
            /* Does the entry just read fit?  A login in the entry must be
             * the user's; an entry without one fits any user. */
            bool user_ok = !has_login || !user || !*user ||
                           strcmp(login.data, user) == 0;

            if (match_host && user_ok && has_pass) {
                if (mail_buf_add(password, pass.data, pass.len) == 0)
                    found = 1;
                break;
            }
            /* default is the fallback wherever it is in the file. */
            if (is_default && user_ok && has_pass && !has_dflt) {
                mail_buf_add(&dflt, pass.data, pass.len);
                has_dflt = true;
            }
            in_entry = false;
        }
        if (!more)
            break;

        if (strcmp(tok.data, "machine") == 0) {
            if (!netrc_token(&lx, &tok))
                break;
            in_entry = true;
            is_default = false;
            match_host = mail_strcasecmp(tok.data, host) == 0;
            has_login = has_pass = false;
            mail_buf_reset(&login);
            mail_buf_reset(&pass);
        } else if (strcmp(tok.data, "default") == 0) {
            in_entry = true;
            is_default = true;
            match_host = false;
            has_login = has_pass = false;
            mail_buf_reset(&login);
            mail_buf_reset(&pass);
        } else if (strcmp(tok.data, "macdef") == 0) {
            netrc_token(&lx, &tok);     /* the macro name */
            netrc_skip_macro(&lx);
        } else if (strcmp(tok.data, "login") == 0) {
            if (!netrc_token(&lx, &tok))
                break;
            mail_buf_reset(&login);
            mail_buf_add(&login, tok.data, tok.len);
            has_login = true;
        } else if (strcmp(tok.data, "password") == 0) {
            if (!netrc_token(&lx, &tok))
                break;
            mail_buf_reset(&pass);
            mail_buf_add(&pass, tok.data, tok.len);
            has_pass = true;
        } else if (strcmp(tok.data, "account") == 0 ||
                   strcmp(tok.data, "port") == 0) {
            netrc_token(&lx, &tok);     /* its value, unused */
        }
        /* Anything else is skipped, as ftp(1) does. */
    }
    if (!found && has_dflt && mail_buf_add(password, dflt.data, dflt.len) == 0)
        found = 1;
out:
    mail_buf_release_secret(&tok);
    mail_buf_release_secret(&dflt);
    mail_buf_release(&login);
    mail_buf_release_secret(&pass);
    return found;
}

/*
 * Look in $HOME/.netrc.  Returns 1 found, 0 not, -1 on an error worth
 * reporting (a netrc with our password that others can read, like ftp(1)
 * refuses).
 */
static int netrc_password(const struct mail_paths *paths, const char *host,
                          const char *user, struct mail_buf *out,
                          struct mail_error *err)
{
    const char *home = paths ? paths->home : NULL;
    struct mail_buf path = MAIL_BUF_INIT, text = MAIL_BUF_INIT,
                    pw = MAIL_BUF_INIT;
    struct stat st;
    int fd = -1, rc = 0;

    if (!home || !*home)
        return 0;
    mail_buf_init(&text, NETRC_MAX);
    if (mail_buf_printf(&path, "%s/.netrc", home) < 0) {
        rc = mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto out;
    }
    fd = open(path.data, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        goto out;                       /* no netrc: nothing to find */
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        goto out;
    if (st.st_size >= (off_t)NETRC_MAX ||
        mail_buf_reserve(&text, (size_t)st.st_size + 1) < 0) {
        rc = mail_error_set(err, MAIL_ERR_CONFIG, "%s: file too large",
                            path.data);
        goto out;
    }
    for (;;) {
        char chunk[4096];
        ssize_t r = read(fd, chunk, sizeof chunk);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = mail_error_set(err, MAIL_ERR_CONFIG, "%s: %s", path.data,
                                strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        if (mail_buf_add(&text, chunk, (size_t)r) < 0) {
            mail_wipe(chunk, sizeof chunk);
            rc = mail_error_set(err, MAIL_ERR_CONFIG, "%s: file too large",
                                path.data);
            goto out;
        }
        mail_wipe(chunk, sizeof chunk);
    }
    if (!mail_netrc_lookup(text.data ? text.data : "", text.len, host, user,
                           &pw))
        goto out;
    if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
        rc = mail_error_set(err, MAIL_ERR_CONFIG, "%s: refusing a password "
                            "in a file readable by others (chmod 600 %s)",
                            path.data, path.data);
        goto out;
    }
    if (mail_buf_add(out, pw.data, pw.len) < 0) {
        rc = mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto out;
    }
    rc = 1;
out:
    if (fd >= 0)
        close(fd);
    mail_buf_release(&path);
    mail_buf_release_secret(&text);
    mail_buf_release_secret(&pw);
    return rc;
}

/* ------------------------------------------------------------------ */

int mail_account_password(const struct mail_account *acct, const char *host,
                          const char *user, mail_prompt_fn prompt,
                          void *prompt_arg, struct mail_buf *out,
                          struct mail_error *err)
{
    struct mail_buf pw = MAIL_BUF_INIT, msg = MAIL_BUF_INIT;
    char shown_name[80], shown_user[128], shown_host[300];
    int rc = -1, r;

    if (!host)
        host = "";
    if (!user)
        user = "";
    show(shown_name, sizeof shown_name, acct ? acct->name : "");
    show(shown_user, sizeof shown_user, user);
    show(shown_host, sizeof shown_host, host);
    /* From here on the process may hold a password: no core dump (unless
     * MAIL_ALLOW_CORE_DUMPS=1; see mail/secure.h).  Before the secret is
     * read, whatever its source: command, config, netrc or prompt. */
    mail_secure_process(acct ? acct->paths : NULL);
    /* Reserved up front so that no realloc leaves a copy behind. */
    mail_buf_init(&pw, PASSWORD_MAX);
    if (mail_buf_reserve(&pw, PASSWORD_MAX) < 0) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto out;
    }

    /* Collect into a buffer of our own so that a failure leaves nothing
     * behind in out, and the copy is wiped either way. */
    if (mail_account_uses_oauth2(acct)) {
        /* An OAuth 2.0 access token (oauth2.c): cached or refreshed. */
        if (mail_account_oauth2_token(acct, false, NULL, NULL, &pw,
                                      NULL, err) < 0)
            goto out;
    } else if (acct && acct->password_command) {
        if (run_password_command(acct, &pw, err) < 0)
            goto out;
    } else if (acct && acct->password) {
        if (mail_buf_addstr(&pw, acct->password) < 0) {
            mail_error_set(err, MAIL_ERR_CONFIG, "the password of account "
                           "'%s' is longer than %d bytes", shown_name,
                           PASSWORD_MAX);
            goto out;
        }
    } else if ((r = netrc_password(acct->paths, host, user, &pw, err)) != 0) {
        if (r < 0)
            goto out;
    } else if (prompt) {
        if (mail_buf_printf(&msg, "Password for %s%s%s: ", shown_user,
                            *user ? "@" : "", shown_host) < 0) {
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            goto out;
        }
        if (prompt(prompt_arg, msg.data, &pw, err) < 0)
            goto out;
    } else {
        mail_error_set(err, MAIL_ERR_AUTH, "no password for %s%s%s (set "
                       "password-command in the config, or use ~/.netrc)",
                       shown_user, *user ? "@" : "", shown_host);
        goto out;
    }
    if (mail_buf_add(out, pw.data ? pw.data : "", pw.len) < 0) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto out;
    }
    rc = 0;
out:
    mail_buf_release_secret(&pw);
    mail_buf_release(&msg);
    return rc;
}
