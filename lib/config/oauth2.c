/*
 * oauth2.c - OAuth 2.0 tokens for the mail servers (see mail/oauth2.h).
 *
 * It sits in the config layer because an access token is a password
 * source: mail_account_password hands one out for an account that logs in
 * with OAuth 2.0, so that every protocol and every command gets it the
 * same way.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "mail/buf.h"
#include "mail/fsutil.h"
#include "mail/hex.h"
#include "mail/http.h"
#include "mail/json.h"
#include "mail/oauth2.h"
#include "mail/secure.h"
#include "mail/spawn.h"
#include "mail/termsafe.h"
#include "secret_command.h"

#define TOKEN_FILE_MAX ((size_t)64 << 10)
#define TOKEN_MAX 8192
/* An access token is used while it has more than this left. */
#define EXPIRY_MARGIN 60
#define COMMAND_TIMEOUT_MS 60000

static const struct mail_oauth2_provider presets[] = {
    { "google",
      "https://accounts.google.com/o/oauth2/v2/auth",
      "https://oauth2.googleapis.com/token",
      "https://oauth2.googleapis.com/device/code",
      "https://mail.google.com/",
      "access_type=offline&prompt=consent" },
    { "microsoft",
      "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
      "https://login.microsoftonline.com/common/oauth2/v2.0/token",
      "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode",
      "offline_access https://outlook.office.com/IMAP.AccessAsUser.All "
      "https://outlook.office.com/POP.AccessAsUser.All "
      "https://outlook.office.com/SMTP.Send",
      NULL },
};

const struct mail_oauth2_provider *mail_oauth2_preset(const char *name)
{
    for (size_t i = 0; name && i < sizeof presets / sizeof presets[0]; i++)
        if (strcmp(presets[i].name, name) == 0)
            return &presets[i];
    return NULL;
}

bool mail_account_uses_oauth2(const struct mail_account *acct)
{
    if (!acct)
        return false;
    if (acct->oauth2_provider || acct->oauth2_client_id)
        return true;
    return acct->auth == MAIL_SASL_OAUTH2 && !acct->password_command &&
           !acct->password;
}

int mail_account_oauth2_token(const struct mail_account *acct,
                              bool force_refresh, mail_trace_fn trace,
                              void *trace_arg, struct mail_buf *out,
                              time_t *expires_at, struct mail_error *err)
{
    struct mail_oauth2 o;
    int rc;

    if (mail_oauth2_setup(&o, acct, acct->paths ? acct->paths->data_home
                                                : NULL, err) < 0)
        return -1;
    o.trace = trace;
    o.trace_arg = trace_arg;
    rc = mail_oauth2_access_token(&o, force_refresh, out, expires_at, err);
    mail_oauth2_release(&o);
    return rc;
}

static time_t now(const struct mail_oauth2 *o)
{
    return o->now ? o->now() : time(NULL);
}

/* A name safe for messages (config values are printable already). */
static const char *shown(const char *s)
{
    return s ? s : "";
}

static void free_secret(char *s)
{
    if (s) {
        mail_wipe(s, strlen(s));
        free(s);
    }
}

static int dup_opt(char **dst, const char *a, const char *b)
{
    const char *v = a ? a : b;

    *dst = NULL;
    if (!v)
        return 0;
    *dst = strdup(v);
    return *dst ? 0 : -1;
}

/* The first line of a command's output (a secret) into out. */
static int run_secret_command(const char *command, const char *what,
                              const char *in, struct mail_buf *out,
                              struct mail_error *err)
{
    struct secret_command c = { 0 };

    c.command = command;
    c.what = what;
    c.in = in;
    c.line_max = TOKEN_MAX;
    c.timeout_ms = COMMAND_TIMEOUT_MS;
    return secret_command_run(&c, out, err);
}

int mail_oauth2_setup(struct mail_oauth2 *o, const struct mail_account *acct,
                      const char *data_home, struct mail_error *err)
{
    const struct mail_oauth2_provider *p = NULL;
    struct mail_buf b = MAIL_BUF_INIT;
    const char *name = acct->name ? acct->name : "default";

    /* Tokens, a client secret and authorization codes pass through this
     * process from here on: no core dump (as mail_account_password). */
    mail_secure_process(acct->paths);
    memset(o, 0, sizeof *o);
    if (acct->oauth2_provider && strcmp(acct->oauth2_provider, "custom"))
        p = mail_oauth2_preset(acct->oauth2_provider);
    if (!(o->account = strdup(name)) ||
        dup_opt(&o->client_id, acct->oauth2_client_id, NULL) < 0 ||
        dup_opt(&o->client_secret, acct->oauth2_client_secret, NULL) < 0 ||
        dup_opt(&o->authorize_url, acct->oauth2_authorize_url,
                p ? p->authorize_url : NULL) < 0 ||
        dup_opt(&o->token_url, acct->oauth2_token_url,
                p ? p->token_url : NULL) < 0 ||
        dup_opt(&o->device_url, acct->oauth2_device_url,
                p ? p->device_url : NULL) < 0 ||
        dup_opt(&o->scope, acct->oauth2_scope, p ? p->scope : NULL) < 0 ||
        dup_opt(&o->token_store_command, acct->oauth2_token_store_command,
                NULL) < 0 ||
        dup_opt(&o->token_command, acct->oauth2_token_command, NULL) < 0) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto fail;
    }
    o->authorize_extra = p ? p->authorize_extra : NULL;
    o->ca_file = acct->tls_ca_file;
    o->timeout = acct->timeout > 0 ? acct->timeout : 30;
    if (!o->client_id) {
        mail_error_set(err, MAIL_ERR_CONFIG, "account '%s' logs in with "
                       "OAuth 2.0 but has no oauth2-client-id (see "
                       "mail.conf(5) for how to register one)", shown(name));
        goto fail;
    }
    if (!o->token_url) {
        mail_error_set(err, MAIL_ERR_CONFIG, "account '%s': set "
                       "oauth2-provider = google or microsoft, or "
                       "oauth2-token-url", shown(name));
        goto fail;
    }
    if (!!o->token_store_command != !!o->token_command) {
        mail_error_set(err, MAIL_ERR_CONFIG, "account '%s': "
                       "oauth2-token-store-command and oauth2-token-command "
                       "go together", shown(name));
        goto fail;
    }
    if (!data_home || !*data_home) {
        mail_error_set(err, MAIL_ERR_CONFIG, "neither XDG_DATA_HOME nor "
                       "HOME is set: nowhere to keep OAuth 2.0 tokens");
        goto fail;
    }
    if (strchr(name, '/') || strcmp(name, ".") == 0 ||
        strcmp(name, "..") == 0) {
        mail_error_set(err, MAIL_ERR_CONFIG, "account name '%s' cannot name "
                       "a token file", shown(name));
        goto fail;
    }
    if (mail_buf_printf(&b, "%s/mail/oauth2", data_home) < 0 ||
        !(o->dir = mail_buf_detach(&b)) ||
        mail_buf_printf(&b, "%s/%s", o->dir, name) < 0 ||
        !(o->file = mail_buf_detach(&b))) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto fail;
    }
    if (acct->oauth2_client_secret_command && !o->client_secret) {
        struct mail_buf s = MAIL_BUF_INIT;
        char what[200];

        mail_buf_set_secret(&s);
        snprintf(what, sizeof what, "oauth2-client-secret-command of "
                 "account '%s'", shown(name));
        if (run_secret_command(acct->oauth2_client_secret_command, what,
                               NULL, &s, err) < 0) {
            mail_buf_release_secret(&s);
            goto fail;
        }
        o->client_secret = mail_buf_detach(&s);
        mail_buf_release_secret(&s);
        if (!o->client_secret) {
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            goto fail;
        }
    }
    mail_buf_release(&b);
    return 0;
fail:
    mail_buf_release(&b);
    mail_oauth2_release(o);
    return -1;
}

void mail_oauth2_release(struct mail_oauth2 *o)
{
    free(o->account);
    free(o->client_id);
    free_secret(o->client_secret);
    free(o->authorize_url);
    free(o->token_url);
    free(o->device_url);
    free(o->scope);
    free(o->token_store_command);
    free(o->token_command);
    free(o->dir);
    free(o->file);
    memset(o, 0, sizeof *o);
}

int mail_account_oauth2_renew(const void *acct, struct mail_buf *out,
                              struct mail_error *err)
{
    return mail_account_oauth2_token(acct, true, NULL, NULL, out, NULL, err);
}

/* ------------------------------------------------------------------ */
/* The token file                                                      */

void mail_oauth2_tokens_init(struct mail_oauth2_tokens *t)
{
    memset(t, 0, sizeof *t);
    mail_buf_init(&t->refresh, TOKEN_MAX);
    mail_buf_init(&t->access, TOKEN_MAX);
    mail_buf_set_secret(&t->refresh);
    mail_buf_set_secret(&t->access);
}

void mail_oauth2_tokens_release(struct mail_oauth2_tokens *t)
{
    mail_buf_release_secret(&t->refresh);
    mail_buf_release_secret(&t->access);
    mail_oauth2_tokens_init(t);
}

int mail_oauth2_tokens_read(const char *path, struct mail_oauth2_tokens *t,
                            struct mail_error *err)
{
    struct mail_buf text = MAIL_BUF_INIT;
    struct mail_json *doc = NULL;
    struct stat st;
    const char *s;
    long long exp;
    int fd, rc = -1;

    mail_buf_init(&text, TOKEN_FILE_MAX);
    mail_buf_set_secret(&text);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        return mail_error_set(err, errno == ELOOP ? MAIL_ERR_CONFIG
                                                  : MAIL_ERR_IO,
                              "%s: %s", path, errno == ELOOP ?
                              "a symbolic link; refusing it" :
                              strerror(errno));
    }
    if (fstat(fd, &st) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        mail_error_set(err, MAIL_ERR_CONFIG, "%s: not a regular file", path);
        goto out;
    }
    if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
        mail_error_set(err, MAIL_ERR_CONFIG, "%s: refusing a token file "
                       "that others can read or that is not yours (mode "
                       "%04o; chmod 600 %s)", path,
                       (unsigned)(st.st_mode & 07777), path);
        goto out;
    }
    for (;;) {
        char chunk[4096];
        ssize_t r = read(fd, chunk, sizeof chunk);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            mail_error_set(err, MAIL_ERR_IO, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        if (mail_buf_add(&text, chunk, (size_t)r) < 0) {
            mail_wipe(chunk, sizeof chunk);
            mail_error_set(err, MAIL_ERR_CONFIG, "%s: file too large", path);
            goto out;
        }
        mail_wipe(chunk, sizeof chunk);
    }
    doc = mail_json_parse(text.data ? text.data : "", text.len, err);
    if (!doc || doc->type != MAIL_JSON_OBJECT) {
        if (doc)
            mail_error_set(err, MAIL_ERR_DATA, "not a JSON object");
        if (err)
            err->kind = MAIL_ERR_CONFIG;
        mail_error_prefix(err, "%s", path);
        goto out;
    }
    mail_buf_reset(&t->refresh);
    mail_buf_reset(&t->access);
    t->expires_at = 0;
    if ((s = mail_json_get_string(doc, "refresh_token")) &&
        mail_buf_addstr(&t->refresh, s) < 0)
        goto toolong;
    if ((s = mail_json_get_string(doc, "access_token")) &&
        mail_buf_addstr(&t->access, s) < 0)
        goto toolong;
    if (mail_json_get_int(doc, "expires_at", &exp) == 0 && exp > 0)
        t->expires_at = (time_t)exp;
    rc = 1;
    goto out;
toolong:
    mail_error_set(err, MAIL_ERR_CONFIG, "%s: a token longer than %d bytes",
                   path, TOKEN_MAX);
out:
    mail_json_free(doc);
    mail_buf_release_secret(&text);
    close(fd);
    return rc;
}

/* The directory part of path, malloc'd. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

int mail_oauth2_tokens_write(const char *path,
                             const struct mail_oauth2_tokens *t,
                             struct mail_error *err)
{
    struct mail_buf doc = MAIL_BUF_INIT, tmp = MAIL_BUF_INIT;
    char *dir = dir_of(path);
    int fd = -1, rc = -1;

    mail_buf_set_secret(&doc);
    if (!dir) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto out;
    }
    if (mail_mkdirs(dir, err) < 0)
        goto out;
    if (mail_buf_addstr(&doc, "{") < 0)
        goto nomem;
    if (t->refresh.len &&
        (mail_buf_addstr(&doc, "\"refresh_token\": ") < 0 ||
         mail_json_escape(&doc, t->refresh.data, t->refresh.len) < 0 ||
         mail_buf_addstr(&doc, ",\n ") < 0))
        goto nomem;
    if (t->access.len &&
        (mail_buf_addstr(&doc, "\"access_token\": ") < 0 ||
         mail_json_escape(&doc, t->access.data, t->access.len) < 0 ||
         mail_buf_addstr(&doc, ",\n ") < 0))
        goto nomem;
    if (mail_buf_printf(&doc, "\"expires_at\": %lld}\n",
                        (long long)t->expires_at) < 0)
        goto nomem;
    if (mail_buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0)
        goto nomem;
    fd = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
              0600);
    if (fd < 0 && errno == EEXIST) {
        unlink(tmp.data);
        fd = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
                  O_NOFOLLOW, 0600);
    }
    if (fd < 0) {
        mail_error_set(err, MAIL_ERR_CANTCREAT, "%s: %s", tmp.data,
                       strerror(errno));
        goto out;
    }
    if (fchmod(fd, 0600) < 0 || mail_write_all(fd, doc.data, doc.len) < 0 ||
        fsync(fd) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "%s: %s", tmp.data, strerror(errno));
        goto unlink;
    }
    if (close(fd) < 0) {
        fd = -1;
        mail_error_set(err, MAIL_ERR_IO, "%s: %s", tmp.data, strerror(errno));
        goto unlink;
    }
    fd = -1;
    if (rename(tmp.data, path) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "%s: %s", path, strerror(errno));
        goto unlink;
    }
    if (mail_fsync_dir(dir, err) < 0)
        goto out;
    rc = 0;
    goto out;
nomem:
    mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    goto out;
unlink:
    unlink(tmp.data);
out:
    if (fd >= 0)
        close(fd);
    free(dir);
    mail_buf_release_secret(&doc);
    mail_buf_release(&tmp);
    return rc;
}

/* A lock beside the token file, held while a refresh token is used and
 * replaced, so that a rotated token is never lost to a concurrent run. */
static int lock_tokens(struct mail_oauth2 *o, struct mail_error *err)
{
    struct mail_buf p = MAIL_BUF_INIT;
    int fd;

    if (mail_mkdirs(o->dir, err) < 0)
        return -1;
    if (mail_buf_printf(&p, "%s.lock", o->file) < 0) {
        mail_buf_release(&p);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    fd = open(p.data, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        mail_error_set(err, MAIL_ERR_CANTCREAT, "%s: %s", p.data,
                       strerror(errno));
        mail_buf_release(&p);
        return -1;
    }
    mail_buf_release(&p);
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            close(fd);
            return mail_error_set(err, MAIL_ERR_IO, "%s.lock: %s", o->file,
                                  strerror(errno));
        }
    }
    return fd;
}

/* The refresh token: from oauth2-token-command, else the file (in t). */
static int load_refresh(struct mail_oauth2 *o, struct mail_oauth2_tokens *t,
                        struct mail_error *err)
{
    char what[200];

    if (!o->token_command)
        return 0;
    snprintf(what, sizeof what, "oauth2-token-command of account '%s'",
             shown(o->account));
    mail_buf_reset(&t->refresh);
    return run_secret_command(o->token_command, what, NULL, &t->refresh,
                              err);
}

/* Keep the tokens: the refresh token through the store command (when
 * changed) or in the file, the access token cache in the file. */
static int save_tokens(struct mail_oauth2 *o, struct mail_oauth2_tokens *t,
                       bool refresh_changed, struct mail_error *err)
{
    struct mail_oauth2_tokens file;
    int rc;

    if (!o->token_store_command)
        return mail_oauth2_tokens_write(o->file, t, err);
    if (refresh_changed && t->refresh.len) {
        char what[200];

        snprintf(what, sizeof what, "oauth2-token-store-command of account "
                 "'%s'", shown(o->account));
        if (run_secret_command(o->token_store_command, what,
                               t->refresh.data, NULL, err) < 0)
            return -1;
    }
    mail_oauth2_tokens_init(&file);
    if (mail_buf_add(&file.access, t->access.data ? t->access.data : "",
                     t->access.len) < 0) {
        mail_oauth2_tokens_release(&file);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    file.expires_at = t->expires_at;
    rc = mail_oauth2_tokens_write(o->file, &file, err);
    mail_oauth2_tokens_release(&file);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The token endpoint                                                  */

enum grant { GRANT_REFRESH, GRANT_CODE, GRANT_DEVICE };

/* Add "&name=value" (value encoded) to a form. */
static int form_add(struct mail_buf *f, const char *name, const char *value)
{
    if (!value)
        return 0;
    if ((f->len && mail_buf_addch(f, '&') < 0) ||
        mail_buf_addstr(f, name) < 0 || mail_buf_addch(f, '=') < 0 ||
        mail_http_urlencode(f, value) < 0)
        return -1;
    return 0;
}

/* Copy server text for a message: terminal-safe, one line, short. */
static void server_words(char *dst, size_t size, const char *s)
{
    struct mail_buf b = MAIL_BUF_INIT;

    dst[0] = '\0';
    if (!s)
        return;
    if (mail_term_safe(&b, s, strnlen(s, 300), MAIL_SAFE_ONELINE) == 0 &&
        b.data)
        mail_strlcpy(dst, b.data, size);
    mail_buf_release(&b);
}

/*
 * The error of a token endpoint reply (RFC 6749 5.2, RFC 8628 3.5) as a
 * mail_error.  code gets the "error" value (for the device poll).
 */
static int token_error(struct mail_oauth2 *o, enum grant g,
                       const struct mail_http_resp *resp,
                       const struct mail_json *doc, char *code, size_t size,
                       struct mail_error *err)
{
    const char *e = mail_json_get_string(doc, "error");
    const char *d = mail_json_get_string(doc, "error_description");
    char ecode[64], desc[320], host[200];
    enum mail_error_kind kind;
    const char *hint = "";

    server_words(ecode, sizeof ecode, e);
    server_words(desc, sizeof desc, d);
    if (code)
        mail_strlcpy(code, e ? ecode : "", size);
    mail_strlcpy(host, o->token_url, sizeof host);
    host[strcspn(host, "?#")] = '\0';
    if (!e) {
        kind = resp->status >= 500 || resp->status == 429 ? MAIL_ERR_TEMP
                                                          : MAIL_ERR_PROTOCOL;
        return mail_error_set(err, kind, "%s: HTTP %ld from the token "
                              "endpoint", host, resp->status);
    }
    if (strcmp(e, "invalid_grant") == 0) {
        kind = MAIL_ERR_AUTH;
        hint = g == GRANT_REFRESH ? ": the refresh token is no longer valid; "
               "run mail auth again" : ": run mail auth again";
    } else if (strcmp(e, "access_denied") == 0) {
        kind = MAIL_ERR_AUTH;
        hint = ": the authorization was refused; run mail auth again";
    } else if (strcmp(e, "expired_token") == 0) {
        kind = MAIL_ERR_AUTH;
        hint = ": the code expired before it was entered; run mail auth "
               "--device again";
    } else if (strcmp(e, "invalid_client") == 0 ||
               strcmp(e, "unauthorized_client") == 0) {
        kind = MAIL_ERR_CONFIG;
        hint = ": check oauth2-client-id and oauth2-client-secret";
    } else if (strcmp(e, "invalid_scope") == 0 ||
               strcmp(e, "unsupported_grant_type") == 0) {
        kind = MAIL_ERR_CONFIG;
        hint = ": check oauth2-scope and the provider's settings";
    } else if (strcmp(e, "temporarily_unavailable") == 0 ||
               strcmp(e, "slow_down") == 0 ||
               strcmp(e, "authorization_pending") == 0) {
        kind = MAIL_ERR_TEMP;
    } else {
        kind = resp->status >= 500 ? MAIL_ERR_TEMP : MAIL_ERR_AUTH;
    }
    return mail_error_set(err, kind, "%s: %s%s%s%s%s", host, ecode,
                          *desc ? " (" : "", desc, *desc ? ")" : "", hint);
}

/*
 * POST a grant to the token endpoint; on success fill t (access, expiry,
 * and the refresh token when one came) and set *rotated.  On an error
 * reply, code (if not NULL) gets its "error".
 */
static int token_request(struct mail_oauth2 *o, enum grant g,
                         const char *form, struct mail_oauth2_tokens *t,
                         bool *rotated, char *code, size_t codesize,
                         struct mail_error *err)
{
    struct mail_http_req req = { 0 };
    struct mail_http_resp resp;
    struct mail_json *doc = NULL;
    const char *s;
    long long ttl;
    int rc = -1;

    if (code && codesize)
        code[0] = '\0';
    *rotated = false;
    req.method = "POST";
    req.url = o->token_url;
    req.form = form;
    req.ca_file = o->ca_file;
    req.timeout = o->timeout;
    req.trace = o->trace;
    req.trace_arg = o->trace_arg;
    mail_http_resp_init(&resp);
    if (mail_http_request(&req, &resp, err) < 0)
        goto out;
    doc = mail_json_parse(resp.body.data ? resp.body.data : "",
                          resp.body.len, NULL);
    if (resp.status != 200) {
        token_error(o, g, &resp, doc, code, codesize, err);
        goto out;
    }
    if (!doc || !(s = mail_json_get_string(doc, "access_token")) || !*s) {
        mail_error_set(err, MAIL_ERR_PROTOCOL, "%s: the token endpoint's "
                       "reply has no access_token", o->token_url);
        goto out;
    }
    mail_buf_reset(&t->access);
    if (mail_buf_addstr(&t->access, s) < 0) {
        mail_error_set(err, MAIL_ERR_PROTOCOL, "%s: an access token longer "
                       "than %d bytes", o->token_url, TOKEN_MAX);
        goto out;
    }
    if (mail_json_get_int(doc, "expires_in", &ttl) < 0 || ttl <= 0 ||
        ttl > 366LL * 86400)
        ttl = 3600;
    t->expires_at = now(o) + (time_t)ttl;
    if ((s = mail_json_get_string(doc, "refresh_token")) && *s &&
        (t->refresh.len != strlen(s) ||
         memcmp(t->refresh.data, s, t->refresh.len) != 0)) {
        mail_buf_reset(&t->refresh);
        if (mail_buf_addstr(&t->refresh, s) < 0) {
            mail_error_set(err, MAIL_ERR_PROTOCOL, "%s: a refresh token "
                           "longer than %d bytes", o->token_url, TOKEN_MAX);
            goto out;
        }
        *rotated = true;
    }
    rc = 0;
out:
    mail_json_free(doc);
    mail_http_resp_release(&resp);
    return rc;
}

static int client_form(struct mail_oauth2 *o, struct mail_buf *f)
{
    if (form_add(f, "client_id", o->client_id) < 0 ||
        form_add(f, "client_secret", o->client_secret) < 0)
        return -1;
    return 0;
}

int mail_oauth2_access_token(struct mail_oauth2 *o, bool force_refresh,
                             struct mail_buf *out, time_t *expires_at,
                             struct mail_error *err)
{
    struct mail_oauth2_tokens t;
    struct mail_buf form = MAIL_BUF_INIT;
    bool rotated;
    int lock = -1, r, rc = -1;

    mail_oauth2_tokens_init(&t);
    mail_buf_set_secret(&form);
    if (expires_at)
        *expires_at = 0;
    r = mail_oauth2_tokens_read(o->file, &t, err);
    if (r < 0)
        goto out;
    if (r > 0 && !force_refresh && t.access.len &&
        t.expires_at > now(o) + EXPIRY_MARGIN)
        goto give;
    /* Refresh under the lock; another process may have just done it. */
    if ((lock = lock_tokens(o, err)) < 0)
        goto out;
    if (!force_refresh) {
        r = mail_oauth2_tokens_read(o->file, &t, err);
        if (r < 0)
            goto out;
        if (r > 0 && t.access.len && t.expires_at > now(o) + EXPIRY_MARGIN)
            goto give;
    }
    if (load_refresh(o, &t, err) < 0)
        goto out;
    if (!t.refresh.len) {
        mail_error_set(err, MAIL_ERR_AUTH, "account '%s' has no OAuth 2.0 "
                       "token yet: run mail auth%s%s", shown(o->account),
                       o->account ? " -a " : "", shown(o->account));
        goto out;
    }
    if (form_add(&form, "grant_type", "refresh_token") < 0 ||
        form_add(&form, "refresh_token", t.refresh.data) < 0 ||
        client_form(o, &form) < 0) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto out;
    }
    if (token_request(o, GRANT_REFRESH, form.data, &t, &rotated, NULL, 0,
                      err) < 0)
        goto out;
    if (save_tokens(o, &t, rotated, err) < 0)
        goto out;
give:
    if (mail_buf_add(out, t.access.data, t.access.len) < 0) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto out;
    }
    if (expires_at)
        *expires_at = t.expires_at;
    rc = 0;
out:
    if (lock >= 0)
        close(lock);
    mail_buf_release_secret(&form);
    mail_oauth2_tokens_release(&t);
    return rc;
}

/* Keep what a first authorization brought. */
static int keep_first(struct mail_oauth2 *o, struct mail_oauth2_tokens *t,
                      struct mail_error *err)
{
    int lock, rc;

    if (!t->refresh.len)
        return mail_error_set(err, MAIL_ERR_PROTOCOL, "%s: no refresh token "
                              "in the reply (for Google, the authorization "
                              "URL asks access_type=offline; for Microsoft, "
                              "the scope needs offline_access)",
                              o->token_url);
    if ((lock = lock_tokens(o, err)) < 0)
        return -1;
    rc = save_tokens(o, t, true, err);
    close(lock);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Authorization code with PKCE and a loopback redirect                */

static int random_urlsafe(char *dst, size_t nbytes, size_t size,
                          struct mail_error *err)
{
    unsigned char raw[48];
    struct mail_buf b = MAIL_BUF_INIT;
    size_t i, n = 0;

    if (nbytes > sizeof raw || RAND_bytes(raw, (int)nbytes) != 1)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "no random bytes");
    if (mail_base64_encode(&b, raw, nbytes) < 0) {
        mail_buf_release(&b);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    for (i = 0; i < b.len && n + 1 < size; i++) {
        char c = b.data[i];

        if (c == '=')
            break;
        dst[n++] = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    dst[n] = '\0';
    mail_buf_release(&b);
    return 0;
}

static int s256(const char *verifier, char *dst, size_t size,
                struct mail_error *err)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    struct mail_buf b = MAIL_BUF_INIT;
    size_t i, n = 0;

    SHA256((const unsigned char *)verifier, strlen(verifier), md);
    if (mail_base64_encode(&b, md, sizeof md) < 0) {
        mail_buf_release(&b);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    for (i = 0; i < b.len && n + 1 < size; i++) {
        char c = b.data[i];

        if (c == '=')
            break;
        dst[n++] = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    dst[n] = '\0';
    mail_buf_release(&b);
    return 0;
}

int mail_oauth2_code_begin(struct mail_oauth2 *o,
                           struct mail_oauth2_code_flow *flow,
                           struct mail_error *err)
{
    struct sockaddr_in sa;
    socklen_t salen = sizeof sa;
    struct mail_buf url = MAIL_BUF_INIT;
    char challenge[64];

    memset(flow, 0, sizeof *flow);
    flow->listen_fd = -1;
    if (!o->authorize_url)
        return mail_error_set(err, MAIL_ERR_CONFIG, "account '%s': set "
                              "oauth2-provider or oauth2-authorize-url (or "
                              "use mail auth --device)", shown(o->account));
    if (random_urlsafe(flow->verifier, 32, sizeof flow->verifier, err) < 0 ||
        random_urlsafe(flow->state, 16, sizeof flow->state, err) < 0 ||
        s256(flow->verifier, challenge, sizeof challenge, err) < 0)
        return -1;
    flow->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (flow->listen_fd < 0)
        return mail_error_set(err, MAIL_ERR_IO, "socket: %s",
                              strerror(errno));
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    if (bind(flow->listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        listen(flow->listen_fd, 4) < 0 ||
        getsockname(flow->listen_fd, (struct sockaddr *)&sa, &salen) < 0) {
        mail_error_set(err, MAIL_ERR_IO, "cannot listen on 127.0.0.1: %s",
                       strerror(errno));
        goto fail;
    }
    flow->port = ntohs(sa.sin_port);
    snprintf(flow->redirect_uri, sizeof flow->redirect_uri,
             "http://127.0.0.1:%u/", flow->port);
    if (mail_buf_addstr(&url, o->authorize_url) < 0 ||
        mail_buf_addch(&url, strchr(o->authorize_url, '?') ? '&' : '?') < 0)
        goto nomem;
    {
        struct mail_buf q = MAIL_BUF_INIT;
        int bad = form_add(&q, "response_type", "code") < 0 ||
                  form_add(&q, "client_id", o->client_id) < 0 ||
                  form_add(&q, "redirect_uri", flow->redirect_uri) < 0 ||
                  form_add(&q, "scope", o->scope) < 0 ||
                  form_add(&q, "state", flow->state) < 0 ||
                  form_add(&q, "code_challenge", challenge) < 0 ||
                  form_add(&q, "code_challenge_method", "S256") < 0 ||
                  mail_buf_add(&url, q.data ? q.data : "", q.len) < 0;

        mail_buf_release(&q);
        if (bad)
            goto nomem;
    }
    if (o->authorize_extra &&
        (mail_buf_addch(&url, '&') < 0 ||
         mail_buf_addstr(&url, o->authorize_extra) < 0))
        goto nomem;
    flow->url = mail_buf_detach(&url);
    if (!flow->url)
        goto nomem;
    return 0;
nomem:
    mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
fail:
    mail_buf_release(&url);
    mail_oauth2_code_release(flow);
    return -1;
}

void mail_oauth2_code_release(struct mail_oauth2_code_flow *flow)
{
    if (flow->listen_fd >= 0)
        close(flow->listen_fd);
    flow->listen_fd = -1;
    free(flow->url);
    flow->url = NULL;
    mail_wipe(flow->verifier, sizeof flow->verifier);
}

/* The decoded value of name in a query string ("a=1&b=2"), or 0. */
static int query_get(const char *q, const char *name, struct mail_buf *out)
{
    size_t n = strlen(name);

    while (q && *q) {
        const char *end = q + strcspn(q, "&");

        if ((size_t)(end - q) > n && strncmp(q, name, n) == 0 && q[n] == '=')
            return mail_pct_decode(out, q + n + 1, (size_t)(end - q) - n - 1,
                                   MAIL_PCT_PLUS_SPACE) < 0 ? -1 : 1;
        q = *end ? end + 1 : end;
    }
    return 0;
}

static void reply_page(int fd, int status, const char *text)
{
    char page[512];
    int n = snprintf(page, sizeof page,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; "
                     "charset=utf-8\r\nConnection: close\r\n"
                     "Cache-Control: no-store\r\n\r\n%s\n", status,
                     status == 200 ? "OK" : status == 404 ? "Not Found"
                                                          : "Bad Request",
                     text);

    if (n > 0)
        (void)mail_write_all(fd, page, (size_t)n < sizeof page ? (size_t)n
                                                              : sizeof page);
}

/* Read one request head (up to 8 KiB) from a browser; the request line's
 * target in target (malloc'd). */
static int read_request(int fd, int timeout_ms, struct mail_buf *head)
{
    long long end = mail_monotonic_ms() + timeout_ms;

    while (!head->data || !strstr(head->data, "\r\n\r\n")) {
        struct pollfd pfd = { fd, POLLIN, 0 };
        long long left = end - mail_monotonic_ms();
        char chunk[2048];
        ssize_t r;

        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            return -1;
        r = read(fd, chunk, sizeof chunk);
        if (r <= 0)
            return head->len ? 0 : -1;
        if (mail_buf_add(head, chunk, (size_t)r) < 0)
            return -1;
    }
    return 0;
}

int mail_oauth2_code_finish(struct mail_oauth2 *o,
                            struct mail_oauth2_code_flow *flow, int timeout,
                            struct mail_error *err)
{
    long long end = mail_monotonic_ms() + (long long)timeout * 1000;
    struct mail_buf code = MAIL_BUF_INIT, state = MAIL_BUF_INIT,
                    error = MAIL_BUF_INIT, form = MAIL_BUF_INIT;
    struct mail_oauth2_tokens t;
    bool rotated;
    int rc = -1;

    mail_buf_set_secret(&code);
    mail_buf_set_secret(&form);
    mail_oauth2_tokens_init(&t);
    for (;;) {
        struct pollfd pfd = { flow->listen_fd, POLLIN, 0 };
        long long left = end - mail_monotonic_ms();
        struct mail_buf head = MAIL_BUF_INIT;
        char *target, *sp, *q;
        int fd;

        if (left <= 0 || poll(&pfd, 1, (int)(left > 60000 ? 60000 : left))
                             < 0) {
            if (left > 0 && errno == EINTR)
                continue;
            mail_error_set(err, MAIL_ERR_TEMP, "no answer from the browser "
                           "within %d seconds; run mail auth again",
                           timeout);
            goto out;
        }
        if (!(pfd.revents & POLLIN))
            continue;
        fd = accept4(flow->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        mail_buf_init(&head, 8192);
        mail_buf_set_secret(&head);
        if (read_request(fd, 10000, &head) < 0 || !head.data ||
            strncmp(head.data, "GET ", 4) != 0) {
            reply_page(fd, 400, "Bad request.");
            close(fd);
            mail_buf_release_secret(&head);
            continue;
        }
        target = head.data + 4;
        sp = strchr(target, ' ');
        if (sp)
            *sp = '\0';
        q = strchr(target, '?');
        if (!q || strncmp(target, "/?", 2) != 0) {
            /* favicon.ico and the like: not the redirect */
            reply_page(fd, 404, "Not found.");
            close(fd);
            mail_buf_release_secret(&head);
            continue;
        }
        q++;
        query_get(q, "code", &code);
        query_get(q, "state", &state);
        query_get(q, "error", &error);
        if (!state.data || strcmp(state.data, flow->state) != 0) {
            reply_page(fd, 400, "The state does not match: this is not the "
                       "answer to mail's request. Nothing was done.");
            close(fd);
            mail_buf_release_secret(&head);
            mail_error_set(err, MAIL_ERR_AUTH, "the redirect to %s carried "
                           "another state than mail sent: refused (run "
                           "mail auth again)", flow->redirect_uri);
            goto out;
        }
        if (error.len || !code.len) {
            char words[200];

            server_words(words, sizeof words, error.len ? error.data
                                                        : "no code");
            reply_page(fd, 200, "The authorization was not granted. You may "
                       "close this window.");
            close(fd);
            mail_buf_release_secret(&head);
            mail_error_set(err, MAIL_ERR_AUTH, "the authorization was not "
                           "granted (%s); run mail auth again", words);
            goto out;
        }
        reply_page(fd, 200, "mail received the authorization. You may "
                   "close this window.");
        close(fd);
        mail_buf_release_secret(&head);
        break;
    }
    close(flow->listen_fd);
    flow->listen_fd = -1;
    if (form_add(&form, "grant_type", "authorization_code") < 0 ||
        form_add(&form, "code", code.data) < 0 ||
        form_add(&form, "redirect_uri", flow->redirect_uri) < 0 ||
        form_add(&form, "code_verifier", flow->verifier) < 0 ||
        client_form(o, &form) < 0) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto out;
    }
    if (token_request(o, GRANT_CODE, form.data, &t, &rotated, NULL, 0,
                      err) < 0 || keep_first(o, &t, err) < 0)
        goto out;
    rc = 0;
out:
    mail_buf_release_secret(&code);
    mail_buf_release(&state);
    mail_buf_release(&error);
    mail_buf_release_secret(&form);
    mail_oauth2_tokens_release(&t);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Device authorization grant                                          */

int mail_oauth2_device_begin(struct mail_oauth2 *o,
                             struct mail_oauth2_device_flow *flow,
                             struct mail_error *err)
{
    struct mail_http_req req = { 0 };
    struct mail_http_resp resp;
    struct mail_buf form = MAIL_BUF_INIT;
    struct mail_json *doc = NULL;
    const char *dc, *uc, *uri, *full;
    long long v;
    int rc = -1;

    memset(flow, 0, sizeof *flow);
    if (!o->device_url)
        return mail_error_set(err, MAIL_ERR_CONFIG, "account '%s': set "
                              "oauth2-provider or oauth2-device-url for "
                              "mail auth --device", shown(o->account));
    mail_buf_set_secret(&form);
    mail_http_resp_init(&resp);
    if (client_form(o, &form) < 0 || form_add(&form, "scope", o->scope) < 0) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto out;
    }
    req.method = "POST";
    req.url = o->device_url;
    req.form = form.data;
    req.ca_file = o->ca_file;
    req.timeout = o->timeout;
    req.trace = o->trace;
    req.trace_arg = o->trace_arg;
    if (mail_http_request(&req, &resp, err) < 0)
        goto out;
    doc = mail_json_parse(resp.body.data ? resp.body.data : "",
                          resp.body.len, NULL);
    if (resp.status != 200) {
        char *saved = o->token_url;

        o->token_url = o->device_url;   /* name the endpoint that said no */
        token_error(o, GRANT_DEVICE, &resp, doc, NULL, 0, err);
        o->token_url = saved;
        goto out;
    }
    dc = mail_json_get_string(doc, "device_code");
    uc = mail_json_get_string(doc, "user_code");
    uri = mail_json_get_string(doc, "verification_uri");
    if (!uri)
        uri = mail_json_get_string(doc, "verification_url");   /* Google */
    full = mail_json_get_string(doc, "verification_uri_complete");
    if (!dc || !uc || !uri) {
        mail_error_set(err, MAIL_ERR_PROTOCOL, "%s: the device endpoint's "
                       "reply lacks device_code, user_code or "
                       "verification_uri", o->device_url);
        goto out;
    }
    flow->interval = 5;
    if (mail_json_get_int(doc, "interval", &v) == 0 && v > 0 && v < 600)
        flow->interval = (int)v;
    flow->expires_at = time(NULL) + 900;
    if (mail_json_get_int(doc, "expires_in", &v) == 0 && v > 0 &&
        v < 86400)
        flow->expires_at = time(NULL) + (time_t)v;
    if (!(flow->device_code = strdup(dc)) || !(flow->user_code = strdup(uc)) ||
        !(flow->verification_uri = strdup(uri)) ||
        (full && !(flow->verification_uri_complete = strdup(full)))) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        mail_oauth2_device_release(flow);
        goto out;
    }
    rc = 0;
out:
    mail_json_free(doc);
    mail_http_resp_release(&resp);
    mail_buf_release_secret(&form);
    return rc;
}

int mail_oauth2_device_finish(struct mail_oauth2 *o,
                              struct mail_oauth2_device_flow *flow,
                              struct mail_error *err)
{
    struct mail_buf form = MAIL_BUF_INIT;
    struct mail_oauth2_tokens t;
    int interval = flow->interval > 0 ? flow->interval : 5;
    bool rotated;
    int rc = -1;

    mail_buf_set_secret(&form);
    mail_oauth2_tokens_init(&t);
    if (form_add(&form, "grant_type",
                 "urn:ietf:params:oauth:grant-type:device_code") < 0 ||
        form_add(&form, "device_code", flow->device_code) < 0 ||
        client_form(o, &form) < 0) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto out;
    }
    for (;;) {
        char code[64];

        if (time(NULL) >= flow->expires_at) {
            mail_error_set(err, MAIL_ERR_AUTH, "the code %s expired before "
                           "it was entered; run mail auth --device again",
                           flow->user_code);
            goto out;
        }
        sleep((unsigned)interval);
        if (token_request(o, GRANT_DEVICE, form.data, &t, &rotated, code,
                          sizeof code, err) == 0)
            break;
        if (strcmp(code, "authorization_pending") == 0)
            continue;
        if (strcmp(code, "slow_down") == 0) {
            interval += 5;
            continue;
        }
        goto out;
    }
    if (keep_first(o, &t, err) < 0)
        goto out;
    rc = 0;
out:
    mail_buf_release_secret(&form);
    mail_oauth2_tokens_release(&t);
    return rc;
}

void mail_oauth2_device_release(struct mail_oauth2_device_flow *flow)
{
    free_secret(flow->device_code);
    free(flow->user_code);
    free(flow->verification_uri);
    free(flow->verification_uri_complete);
    memset(flow, 0, sizeof *flow);
}
