/*
 * common.c - what every subcommand uses: common options, loading the
 * account, printing errors, the -v trace, the password prompt, safe and
 * JSON output.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include "cmd.h"
#include "json.h"
#include "mail/address.h"
#include "mail/date.h"
#include "mail/remote.h"
#include "mail/rfc2047.h"
#include "mail/termsafe.h"

int cmd_common_option(struct cmd_ctx *ctx, const char *cmdname, int opt,
                      const char *arg)
{
    switch (opt) {
    case 'a':
        ctx->account_name = arg;
        return 0;
    case 'C':
        ctx->config_path = arg;
        return 0;
    case 'v':
        ctx->verbose++;
        return 0;
    case 'q':
        ctx->quiet = true;
        return 0;
    case 'h':
        if (cmdname)
            cmd_print_usage(stdout, cmdname);
        return -1;
    case OPT_COLOR:
        if (strcmp(arg, "auto") == 0)
            ctx->color = COLOR_AUTO;
        else if (strcmp(arg, "always") == 0)
            ctx->color = COLOR_ALWAYS;
        else if (strcmp(arg, "never") == 0)
            ctx->color = COLOR_NEVER;
        else
            return cmd_usage_error(cmdname, "--color takes auto, always or "
                                            "never, not '%s'", arg);
        return 0;
    case OPT_IMAP:
        ctx->ov.imap = arg;
        return 0;
    case OPT_POP3:
        ctx->ov.pop3 = arg;
        return 0;
    case OPT_SMTP:
        ctx->ov.smtp = arg;
        return 0;
    case OPT_USER:
        ctx->ov.user = arg;
        return 0;
    }
    return 1;
}

/* ---- imap: folders ---- */

/* One remote (one logged-in session) for the whole run: the folders a
 * command opens on the server share it; logged out at exit. */
static struct mail_remote *the_remote;
static struct cmd_trace remote_trace = { "imap" };

static void close_remote(void)
{
    mail_remote_close(the_remote);
    the_remote = NULL;
}

int cmd_remote(struct cmd_ctx *ctx, struct mail_remote **r)
{
    struct mail_remote_opts o = { cmd_prompt_password, NULL, NULL, NULL };
    struct mail_account *acct;
    struct mail_error err;
    int rc;

    *r = NULL;
    mail_error_clear(&err);
    rc = cmd_load_account(ctx, &acct);
    if (rc)
        return rc;
    if (!the_remote) {
        if (ctx->verbose >= 2) {
            o.trace = cmd_trace_fn;
            o.trace_arg = &remote_trace;
        }
        the_remote = mail_remote_new(acct, &o, &err);
        if (!the_remote)
            return cmd_fail(&err);
        atexit(close_remote);
    }
    *r = the_remote;
    return 0;
}

int cmd_open_imap_folder(struct cmd_ctx *ctx, const char *name, int mode,
                         struct mail_folder **f)
{
    struct mail_remote *r;
    struct mail_error err;
    int rc;

    *f = NULL;
    mail_error_clear(&err);
    rc = cmd_remote(ctx, &r);
    if (rc)
        return rc;
    *f = mail_remote_folder_open(r, name, mode, &ctx->paths, &err);
    return *f ? 0 : cmd_fail(&err);
}

int cmd_load_account(struct cmd_ctx *ctx, struct mail_account **acct)
{
    struct mail_error err;

    mail_error_clear(&err);
    if (!ctx->cfg_loaded) {
        if (mail_config_load(&ctx->cfg, ctx->config_path, &ctx->paths, &err) < 0)
            return cmd_fail(&err);
        ctx->cfg_loaded = true;
    }
    if (mail_config_select(&ctx->cfg, ctx->account_name, &ctx->ov, acct,
                           &err) < 0)
        return cmd_fail(&err);
    return 0;
}

void out_safe(FILE *f, const char *s, size_t len, int flags)
{
    struct mail_buf b = MAIL_BUF_INIT;

    if (mail_term_safe(&b, s, len, flags) == 0 && b.len)
        fwrite(b.data, 1, b.len, f);
    mail_buf_release(&b);
}

void out_safe_str(FILE *f, const char *s)
{
    out_safe(f, s, strlen(s), MAIL_SAFE_ONELINE);
}

void cmd_note(const char *text)
{
    flockfile(stderr);          /* one line, as in cmd_trace_fn */
    fputs("mail: ", stderr);
    out_safe_str(stderr, text);
    fputc('\n', stderr);
    funlockfile(stderr);
}

int cmd_fail(const struct mail_error *err)
{
    cmd_note(err->msg[0] ? err->msg : "unknown error");
    return mail_error_exit_code(err->kind ? err->kind : MAIL_ERR_INTERNAL);
}

int cmd_failf(int code, const char *fmt, ...)
{
    struct mail_error err;
    va_list ap;

    va_start(ap, fmt);
    mail_error_setv(&err, MAIL_ERR_INTERNAL, fmt, ap);
    va_end(ap);
    cmd_note(err.msg);
    return code;
}

int cmd_usage_error(const char *cmdname, const char *fmt, ...)
{
    struct mail_error err;
    va_list ap;

    va_start(ap, fmt);
    mail_error_setv(&err, MAIL_ERR_USAGE, fmt, ap);
    va_end(ap);
    fprintf(stderr, "mail%s%s: ", cmdname ? " " : "", cmdname ? cmdname : "");
    out_safe_str(stderr, err.msg);
    fprintf(stderr, " (see 'mail help %s')\n", cmdname ? cmdname : "");
    return EX_USAGE;
}

void cmd_trace_fn(void *arg, char dir, const char *data, size_t len)
{
    const struct cmd_trace *t = arg;

    /* One line at a time: the watch's connections trace from threads of
     * their own, and stderr is unbuffered, so without the lock one line
     * could start inside another ("imap> imap< A1 ..."). */
    flockfile(stderr);
    fprintf(stderr, "%s%c ", t && t->proto ? t->proto : "", dir);
    out_safe(stderr, data, len, MAIL_SAFE_ONELINE);
    fputc('\n', stderr);
    funlockfile(stderr);
}

int cmd_prompt_password(void *arg, const char *prompt, struct mail_buf *out,
                        struct mail_error *err)
{
    struct termios old, quiet;
    char line[1024];
    int fd, rc = 0;
    FILE *tty;
    size_t n;

    (void)arg;
    /* Standard input may carry a message: ask the terminal itself. */
    fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return mail_error_set(err, MAIL_ERR_AUTH, "no terminal to ask for "
                              "the password on");
    tty = fdopen(fd, "r+");
    if (!tty) {
        close(fd);
        return mail_error_set(err, MAIL_ERR_IO, "/dev/tty: %s",
                              strerror(errno));
    }
    fputs(prompt, tty);
    fflush(tty);
    if (tcgetattr(fd, &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    if (!fgets(line, sizeof line, tty)) {
        rc = mail_error_set(err, MAIL_ERR_AUTH, "no password given");
    } else {
        n = strcspn(line, "\r\n");
        if (mail_buf_add(out, line, n) < 0)
            rc = mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    tcsetattr(fd, TCSAFLUSH, &old);
    mail_wipe(line, sizeof line);
    fclose(tty);
    return rc;
}

/* JSON through the one terminal-safe path (mail/termsafe.h): controls,
 * C1, bidi controls and U+2028/2029 as \uXXXX, invalid UTF-8 as
 * U+FFFD, so that the document is always valid and shows nothing raw. */
void json_strn(FILE *f, const char *s, size_t len)
{
    struct mail_buf b = MAIL_BUF_INIT;

    if (mail_json_escape(&b, s, len) == 0)
        fwrite(b.data, 1, b.len, f);
    else
        fputs("\"\"", f);
    mail_buf_release(&b);
}

void json_str(FILE *f, const char *s)
{
    if (!s)
        fputs("null", f);
    else
        json_strn(f, s, strlen(s));
}

bool cmd_use_color(const struct cmd_ctx *ctx, FILE *f)
{
    const char *nc = getenv("NO_COLOR");

    if (ctx->color == COLOR_NEVER || (nc && *nc))
        return false;
    if (ctx->color == COLOR_ALWAYS)
        return true;
    return isatty(fileno(f));
}

/* ---- message envelopes as JSON (ls --json, read --json) ----------------- */

static void json_addresses(FILE *f, const char *value)
{
    struct mail_addrlist l = MAIL_ADDRLIST_INIT;
    struct mail_error err;
    bool first = true;

    if (!value) {
        fputs("null", f);
        return;
    }
    fputc('[', f);
    if (mail_addrlist_parse(&l, value, &err) == 0) {
        for (size_t i = 0; i < l.n; i++) {
            const struct mail_address *a = &l.v[i];

            if (!(a->name && *a->name) && !*a->addr)
                continue;
            fputs(first ? "{\"name\":" : ",{\"name\":", f);
            json_str(f, a->name && *a->name ? a->name : NULL);
            fputs(",\"address\":", f);
            json_str(f, a->addr);
            fputc('}', f);
            first = false;
        }
    }
    fputc(']', f);
    mail_addrlist_release(&l);
}

/* The members of an envelope object, without the braces, so that read
 * can add its own. */
void cmd_json_envelope_members(FILE *f, const struct mail_envelope *e,
                                  size_t number, const char *folder)
{
    static const struct { unsigned bit; const char *name; } words[] = {
        { MAIL_FLAG_SEEN, "seen" }, { MAIL_FLAG_ANSWERED, "answered" },
        { MAIL_FLAG_FLAGGED, "flagged" }, { MAIL_FLAG_DRAFT, "draft" },
        { MAIL_FLAG_DELETED, "deleted" },
    };
    char date[MAIL_DATE_MAX];
    struct mail_buf s = MAIL_BUF_INIT;
    bool first = true;

    if (number)
        fprintf(f, "\"id\":%zu,\"folder\":", number);
    else
        fputs("\"id\":null,\"folder\":", f);
    json_str(f, folder);
    if (e->path) {
        fputs(",\"path\":", f);
        json_str(f, e->path);
    } else if (e->uid) {
        fprintf(f, ",\"uid\":%u", (unsigned)e->uid);
    } else {
        fputs(",\"path\":null", f);
    }
    fputs(",\"flags\":[", f);
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (e->flags & words[i].bit) {
            fprintf(f, "%s\"%s\"", first ? "" : ",", words[i].name);
            first = false;
        }
    fputs("],\"date\":", f);
    if (e->has_date && mail_date_format_rfc3339(date, sizeof date, e->date,
                                                e->date_offset) > 0)
        json_str(f, date);
    else
        fputs("null", f);
    fputs(",\"from\":", f);
    json_addresses(f, e->from);
    fputs(",\"to\":", f);
    json_addresses(f, e->to);
    fputs(",\"cc\":", f);
    json_addresses(f, e->cc);
    fputs(",\"subject\":", f);
    if (e->subject) {
        mail_rfc2047_decode(&s, e->subject, strlen(e->subject));
        json_strn(f, s.data ? s.data : "", s.len);
    } else {
        fputs("null", f);
    }
    fputs(",\"message_id\":", f);
    if (e->message_id) {
        /* The first "<...>", as ls shows it. */
        const char *a = strchr(e->message_id, '<');
        const char *z = a ? strchr(a, '>') : NULL;
        const char *m = e->message_id;

        if (a && z) {
            json_strn(f, a, (size_t)(z - a + 1));
        } else {
            m += strspn(m, " \t");
            json_strn(f, m, strcspn(m, " \t"));
        }
    } else {
        fputs("null", f);
    }
    fprintf(f, ",\"size\":%llu,\"attachments\":%u",
            (unsigned long long)e->size, e->attachments);
    mail_buf_release(&s);
}

void cmd_json_envelope(FILE *f, const struct mail_envelope *e,
                       size_t number, const char *folder)
{
    fputc('{', f);
    cmd_json_envelope_members(f, e, number, folder);
    fputc('}', f);
}
