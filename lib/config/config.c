/*
 * config.c - the configuration file and account selection; see
 * mail/config.h and mail.conf(5).
 *
 * The format is a small, strict subset of git-config: [account "NAME"]
 * sections of `key = value` lines.  Strict because a typo in a key that
 * silently does nothing (say `pasword-command`) is worse than an error
 * naming the file and line.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/buf.h"
#include "mail/config.h"
#include "mail/oauth2.h"
#include "mail/sasl.h"

/* Bounds on what we read: a config is a few hundred bytes; anything near
 * these is a mistake (-C pointing at a mailbox) or hostile. */
#define CONFIG_MAX_BYTES ((size_t)1 << 20)
#define CONFIG_MAX_LINE 8192
#define CONFIG_MAX_ACCOUNTS 1000

#define DEFAULT_TIMEOUT 30

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

/* A copy of untrusted text fit for an error message: control characters
 * become '?' (the message ends up on a terminal) and it is cut at `size`. */
static const char *show(char *dst, size_t size, const char *s)
{
    size_t n = 0;

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

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static char *trim(char *s)
{
    char *e;

    while (is_space(*s))
        s++;
    e = s + strlen(s);
    while (e > s && is_space(e[-1]))
        e--;
    *e = '\0';
    return s;
}

char *mail_config_default_path(const struct mail_paths *paths,
                               struct mail_error *err)
{
    if (!paths || !paths->config_home) {
        mail_error_set(err, MAIL_ERR_CONFIG, "cannot find the config file: "
                       "neither XDG_CONFIG_HOME nor HOME is set");
        return NULL;
    }
    return mail_paths_mail_dir(paths, MAIL_PATHS_CONFIG, "config",
                               "the config", err);
}

/* ------------------------------------------------------------------ */
/* Accounts                                                            */

static void account_init(struct mail_account *a)
{
    memset(a, 0, sizeof *a);
    a->auth = MAIL_SASL_NONE;
    a->tls = MAIL_TLS_STARTTLS;
    a->timeout = DEFAULT_TIMEOUT;
    a->compress = true;
}

static void free_secret(char *s)
{
    if (s) {
        mail_wipe(s, strlen(s));
        free(s);
    }
}

static void account_release(struct mail_account *a)
{
    free(a->name);
    free(a->file);
    free(a->address);
    mail_url_release(&a->imap);
    mail_url_release(&a->pop3);
    mail_url_release(&a->smtp);
    free(a->user);
    free(a->password_command);
    free_secret(a->password);
    free(a->store);
    free(a->tls_ca_file);
    free(a->tls_fingerprint);
    free(a->fetch_folders);
    free(a->signature_file);
    free(a->alternates);
    free(a->html_command);
    free(a->sent_folder);
    free(a->trash_folder);
    free(a->drafts_folder);
    free(a->domain);
    free(a->address_command);
    free(a->oauth2_provider);
    free(a->oauth2_client_id);
    free_secret(a->oauth2_client_secret);
    free(a->oauth2_client_secret_command);
    free(a->oauth2_authorize_url);
    free(a->oauth2_token_url);
    free(a->oauth2_device_url);
    free(a->oauth2_scope);
    free(a->oauth2_token_store_command);
    free(a->oauth2_token_command);
    free(a->addr_spec);
    account_init(a);
}

void mail_config_release(struct mail_config *cfg)
{
    size_t i;

    if (!cfg)
        return;
    for (i = 0; i < cfg->naccounts; i++)
        account_release(&cfg->accounts[i]);
    free(cfg->accounts);
    free(cfg->path);
    for (i = 0; i < cfg->ntui; i++) {
        free(cfg->tui[i].key);
        free(cfg->tui[i].value);
    }
    free(cfg->tui);
    cfg->tui = NULL;
    cfg->ntui = 0;
    cfg->accounts = NULL;
    cfg->naccounts = 0;
    cfg->path = NULL;
}

/*
 * The addr-spec of an address as written in the config: the part in
 * angle brackets ("Alice <alice@example.com>"), else the first word
 * ("alice@example.com (Alice)").  NULL if nothing is left.
 */
static char *addr_spec_of(const char *address)
{
    const char *lt = strrchr(address, '<'), *gt;
    size_t n;

    if (lt && (gt = strchr(lt, '>')) != NULL) {
        lt++;
        n = (size_t)(gt - lt);
    } else {
        lt = address;
        while (is_space(*lt))
            lt++;
        n = strcspn(lt, " \t");
    }
    while (n > 0 && is_space(*lt)) {
        lt++;
        n--;
    }
    while (n > 0 && is_space(lt[n - 1]))
        n--;
    return n ? strndup(lt, n) : NULL;
}

/* ------------------------------------------------------------------ */
/* The parser                                                          */

struct parser;
struct key;

typedef int (*setter_fn)(struct parser *p, const struct key *k,
                         struct mail_account *a, const char *val);

struct key {
    const char *name;
    setter_fn set;
    size_t off;               /* offset of the field in mail_account */
    size_t has_off;           /* URLs: offset of the has_* flag */
    enum mail_proto proto;    /* URLs: the protocol the key wants */
};

struct parser {
    struct mail_config *cfg;
    const char *file;
    bool private_file;
    int lineno;
    struct mail_error *err;
    size_t alloc;             /* accounts allocated */
    int *seen;                /* [account][key]: line where a key was set */
    size_t default_acct;      /* account with default = true, if any */
    int default_line;         /* 0: none yet */
    bool in_tui;              /* in the [tui] section */
};

static int perr(struct parser *p, const char *fmt, ...) MAIL_PRINTF(2, 3);

static int perr(struct parser *p, const char *fmt, ...)
{
    char what[MAIL_ERROR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    if (vsnprintf(what, sizeof what, fmt, ap) < 0)
        what[0] = '\0';
    va_end(ap);
    return mail_error_set(p->err, MAIL_ERR_CONFIG, "%s:%d: %s", p->file,
                          p->lineno, what);
}

static int nomem(struct parser *p)
{
    return mail_error_set(p->err, MAIL_ERR_INTERNAL, "out of memory");
}

#define FIELD(a, k, type) ((type *)(void *)((char *)(a) + (k)->off))

static int set_string(struct parser *p, const struct key *k,
                      struct mail_account *a, const char *val)
{
    char **f = FIELD(a, k, char *);

    free(*f);
    *f = strdup(val);
    return *f ? 0 : nomem(p);
}

static int set_address(struct parser *p, const struct key *k,
                       struct mail_account *a, const char *val)
{
    if (set_string(p, k, a, val) < 0)
        return -1;
    free(a->addr_spec);
    a->addr_spec = addr_spec_of(val);
    return 0;
}

static int set_path(struct parser *p, const struct key *k,
                    struct mail_account *a, const char *val)
{
    char **f = FIELD(a, k, char *);

    free(*f);
    *f = mail_paths_expand_home(p->cfg->paths, val);
    return *f ? 0 : nomem(p);
}

static int set_store(struct parser *p, const struct key *k,
                     struct mail_account *a, const char *val)
{
    char **f = FIELD(a, k, char *);
    char *path;

    if (strncmp(val, "mbox:", 5) != 0)
        return set_path(p, k, a, val);
    if (val[5] == '\0')
        return perr(p, "empty path after 'mbox:' in store");
    path = mail_paths_expand_home(p->cfg->paths, val + 5);
    if (!path)
        return nomem(p);
    free(*f);
    *f = malloc(strlen(path) + 6);
    if (*f) {
        memcpy(*f, "mbox:", 5);
        memcpy(*f + 5, path, strlen(path) + 1);
    }
    free(path);
    return *f ? 0 : nomem(p);
}

static int set_password(struct parser *p, const struct key *k,
                        struct mail_account *a, const char *val)
{
    char **f = FIELD(a, k, char *);

    if (!p->private_file)
        return perr(p, "refusing a literal password in a file readable by "
                    "others (chmod 600 %s), or use password-command",
                    p->file);
    free_secret(*f);
    *f = strdup(val);
    return *f ? 0 : nomem(p);
}

static int set_url(struct parser *p, const struct key *k,
                   struct mail_account *a, const char *val)
{
    struct mail_url *u = FIELD(a, k, struct mail_url);
    bool *has = (bool *)(void *)((char *)a + k->has_off);
    struct mail_url nu;
    char shown[120];

    if (mail_url_parse(val, &nu, p->err) < 0) {
        if (p->err && p->err->kind == MAIL_ERR_INTERNAL)
            return -1;
        return mail_error_prefix(p->err, "%s:%d", p->file, p->lineno);
    }
    if (nu.proto != k->proto) {
        const char *want = mail_proto_name(k->proto);

        mail_url_release(&nu);
        return perr(p, "%s = '%s': wrong scheme for %s (use %s:// or "
                    "%ss://)", k->name, show(shown, sizeof shown, val), want,
                    want, want);
    }
    mail_url_release(u);
    *u = nu;
    *has = true;
    return 0;
}

static int parse_bool(const char *val, bool *out)
{
    static const char *const yes[] = { "true", "yes", "on", "1" };
    static const char *const no[] = { "false", "no", "off", "0" };
    size_t i;

    for (i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (mail_strcasecmp(val, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (mail_strcasecmp(val, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

static int set_bool(struct parser *p, const struct key *k,
                    struct mail_account *a, const char *val)
{
    char shown[80];

    if (parse_bool(val, FIELD(a, k, bool)) < 0)
        return perr(p, "bad boolean '%s' for '%s' (use true/false, yes/no, "
                    "on/off or 1/0)", show(shown, sizeof shown, val),
                    k->name);
    return 0;
}

static int set_default(struct parser *p, const struct key *k,
                       struct mail_account *a, const char *val)
{
    size_t idx = (size_t)(a - p->cfg->accounts);

    if (set_bool(p, k, a, val) < 0)
        return -1;
    if (!a->is_default)
        return 0;
    if (p->default_line && p->default_acct != idx) {
        char n1[80], n2[80];

        return perr(p, "account '%s' has default = true, and so has "
                    "account '%s' (line %d); only one can be the default",
                    show(n1, sizeof n1, a->name),
                    show(n2, sizeof n2,
                         p->cfg->accounts[p->default_acct].name),
                    p->default_line);
    }
    p->default_acct = idx;
    p->default_line = p->lineno;
    return 0;
}

static int set_auth(struct parser *p, const struct key *k,
                    struct mail_account *a, const char *val)
{
    enum mail_sasl_mech m;
    char shown[80], list[256];
    size_t n = 0;
    int i;

    (void)k;
    if (mail_strcasecmp(val, "auto") == 0) {
        a->auth = MAIL_SASL_NONE;
        return 0;
    }
    if (mail_strcasecmp(val, "oauth2") == 0) {
        a->auth = MAIL_SASL_OAUTH2;
        return 0;
    }
    m = mail_sasl_mech_from_name(val);
    if (m != MAIL_SASL_NONE) {
        a->auth = m;
        return 0;
    }
    /* List the names sasl.c knows, so this never goes out of date. */
    n = (size_t)snprintf(list, sizeof list, "auto, oauth2");
    for (i = MAIL_SASL_NONE + 1; i <= MAIL_SASL_OAUTHBEARER; i++) {
        const char *name = mail_sasl_mech_name((enum mail_sasl_mech)i);
        size_t j;

        if (!name || n + strlen(name) + 8 >= sizeof list)
            continue;
        if (i == MAIL_SASL_OAUTHBEARER) {
            memcpy(list + n, " or ", 4);
            n += 4;
        } else {
            memcpy(list + n, ", ", 2);
            n += 2;
        }
        for (j = 0; name[j]; j++) {
            char c = name[j];

            list[n++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
        }
        list[n] = '\0';
    }
    return perr(p, "unknown auth mechanism '%s' (use %s)",
                show(shown, sizeof shown, val), list);
}

static int set_oauth2_provider(struct parser *p, const struct key *k,
                               struct mail_account *a, const char *val)
{
    char shown[80];

    if (strcmp(val, "google") != 0 && strcmp(val, "microsoft") != 0 &&
        strcmp(val, "custom") != 0)
        return perr(p, "unknown oauth2-provider '%s' (use google, "
                    "microsoft or custom)", show(shown, sizeof shown, val));
    return set_string(p, k, a, val);
}

static int set_tls(struct parser *p, const struct key *k,
                   struct mail_account *a, const char *val)
{
    char shown[80];

    (void)k;
    if (mail_strcasecmp(val, "starttls") == 0)
        a->tls = MAIL_TLS_STARTTLS;
    else if (mail_strcasecmp(val, "implicit") == 0)
        a->tls = MAIL_TLS_IMPLICIT;
    else if (mail_strcasecmp(val, "none-i-know") == 0)
        a->tls = MAIL_TLS_NONE;
    else
        return perr(p, "bad tls value '%s' (use starttls, implicit or "
                    "none-i-know)", show(shown, sizeof shown, val));
    a->tls_set = true;
    return 0;
}

static int set_oversized(struct parser *p, const struct key *k,
                         struct mail_account *a, const char *val)
{
    char shown[80];

    (void)k;
    if (mail_strcasecmp(val, "skip") == 0)
        a->fetch_oversized = MAIL_FETCH_OVERSIZED_SKIP;
    else if (mail_strcasecmp(val, "headers") == 0)
        a->fetch_oversized = MAIL_FETCH_OVERSIZED_HEADERS;
    else
        return perr(p, "bad fetch-oversized value '%s' (use skip or "
                    "headers)", show(shown, sizeof shown, val));
    return 0;
}

static int set_fingerprint(struct parser *p, const struct key *k,
                           struct mail_account *a, const char *val)
{
    char hex[65], shown[120];
    const char *s;
    size_t n = 0;

    (void)k;
    if (mail_strncasecmp(val, "sha256:", 7) != 0)
        goto bad;
    for (s = val + 7; *s; s++) {
        char c = *s;

        /* Colons as openssl prints them ("AB:CD:..."), or none. */
        if (c == ':' && s > val + 7 && s[1] && s[1] != ':')
            continue;
        if (n == 64)
            goto bad;
        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            goto bad;
        hex[n++] = c;
    }
    if (n != 64)
        goto bad;
    hex[n] = '\0';
    free(a->tls_fingerprint);
    a->tls_fingerprint = strdup(hex);
    return a->tls_fingerprint ? 0 : nomem(p);
bad:
    return perr(p, "bad tls-fingerprint '%s' (use sha256: and 64 hex "
                "digits, colons allowed)", show(shown, sizeof shown, val));
}

static int set_timeout(struct parser *p, const struct key *k,
                       struct mail_account *a, const char *val)
{
    const char *s;
    long v = 0;
    char shown[80];

    (void)k;
    for (s = val; *s; s++) {
        if (*s < '0' || *s > '9' || v > 3600)
            goto bad;
        v = v * 10 + (*s - '0');
    }
    if (v < 1 || v > 3600)
        goto bad;
    a->timeout = (int)v;
    return 0;
bad:
    return perr(p, "bad timeout '%s' (seconds, 1 to 3600)",
                show(shown, sizeof shown, val));
}

static int set_size(struct parser *p, const struct key *k,
                    struct mail_account *a, const char *val)
{
    const char *s = val;
    long long v = 0, mult = 1;
    char shown[80];

    if (*s < '0' || *s > '9')
        goto bad;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (LLONG_MAX - 9) / 10)
            goto bad;
        v = v * 10 + (*s - '0');
    }
    switch (*s) {
    case '\0':                break;
    case 'k': case 'K':       mult = 1LL << 10; s++; break;
    case 'm': case 'M':       mult = 1LL << 20; s++; break;
    case 'g': case 'G':       mult = 1LL << 30; s++; break;
    default:                  goto bad;
    }
    if (*s || v > LLONG_MAX / mult)
        goto bad;
    *FIELD(a, k, long long) = v * mult;
    return 0;
bad:
    return perr(p, "bad size '%s' for '%s' (bytes, or a number with k, M "
                "or G)", show(shown, sizeof shown, val), k->name);
}

static int set_connections(struct parser *p, const struct key *k,
                           struct mail_account *a, const char *val)
{
    const char *s;
    unsigned v = 0;
    char shown[80];

    (void)k;
    for (s = val; *s; s++) {
        if (*s < '0' || *s > '9' || v > 100)
            goto bad;
        v = v * 10 + (unsigned)(*s - '0');
    }
    if (v < 1 || v > 100)
        goto bad;
    a->watch_connections = v;
    return 0;
bad:
    return perr(p, "bad watch-connections '%s' (1 to 100)",
                show(shown, sizeof shown, val));
}

#define F(field) offsetof(struct mail_account, field)

/* Every key of an account, with the function that checks and stores its
 * value.  Keep mail.conf(5) in step with this table. */
static const struct key keys[] = {
    { "address",          set_address,     F(address), 0, 0 },
    { "imap",             set_url,         F(imap), F(has_imap),
      MAIL_PROTO_IMAP },
    { "pop3",             set_url,         F(pop3), F(has_pop3),
      MAIL_PROTO_POP3 },
    { "smtp",             set_url,         F(smtp), F(has_smtp),
      MAIL_PROTO_SMTP },
    { "user",             set_string,      F(user), 0, 0 },
    { "password-command", set_string,      F(password_command), 0, 0 },
    { "password",         set_password,    F(password), 0, 0 },
    { "store",            set_store,       F(store), 0, 0 },
    { "default",          set_default,     F(is_default), 0, 0 },
    { "auth",             set_auth,        F(auth), 0, 0 },
    { "tls-ca-file",      set_path,        F(tls_ca_file), 0, 0 },
    { "tls-fingerprint",  set_fingerprint, F(tls_fingerprint), 0, 0 },
    { "tls",              set_tls,         F(tls), 0, 0 },
    { "timeout",          set_timeout,     F(timeout), 0, 0 },
    { "fetch-delete",     set_bool,        F(fetch_delete), 0, 0 },
    { "fetch-folders",    set_string,      F(fetch_folders), 0, 0 },
    { "fetch-max-size",   set_size,        F(fetch_max_size), 0, 0 },
    { "fetch-oversized",  set_oversized,   F(fetch_oversized), 0, 0 },
    { "signature-file",   set_path,        F(signature_file), 0, 0 },
    { "alternates",       set_string,      F(alternates), 0, 0 },
    { "html-command",     set_string,      F(html_command), 0, 0 },
    { "queue",            set_bool,        F(queue), 0, 0 },
    { "sent-folder",      set_string,      F(sent_folder), 0, 0 },
    { "trash-folder",     set_string,      F(trash_folder), 0, 0 },
    { "drafts-folder",    set_string,      F(drafts_folder), 0, 0 },
    { "domain",           set_string,      F(domain), 0, 0 },
    { "address-command",  set_string,      F(address_command), 0, 0 },
    { "watch-connections", set_connections, F(watch_connections), 0, 0 },
    { "compress",         set_bool,        F(compress), 0, 0 },
    { "oauth2-provider",  set_oauth2_provider, F(oauth2_provider), 0, 0 },
    { "oauth2-client-id", set_string,      F(oauth2_client_id), 0, 0 },
    { "oauth2-client-secret", set_string,  F(oauth2_client_secret), 0, 0 },
    { "oauth2-client-secret-command", set_string,
      F(oauth2_client_secret_command), 0, 0 },
    { "oauth2-authorize-url", set_string,  F(oauth2_authorize_url), 0, 0 },
    { "oauth2-token-url", set_string,      F(oauth2_token_url), 0, 0 },
    { "oauth2-device-url", set_string,     F(oauth2_device_url), 0, 0 },
    { "oauth2-scope",     set_string,      F(oauth2_scope), 0, 0 },
    { "oauth2-token-store-command", set_string,
      F(oauth2_token_store_command), 0, 0 },
    { "oauth2-token-command", set_string,  F(oauth2_token_command), 0, 0 },
};

#define NKEYS (sizeof keys / sizeof keys[0])

static const struct key *find_key(const char *name)
{
    size_t i;

    for (i = 0; i < NKEYS; i++)
        if (mail_strcasecmp(name, keys[i].name) == 0)
            return &keys[i];
    return NULL;
}

static int unknown_key(struct parser *p, const char *name,
                       const struct mail_account *a)
{
    char shown[80], acct[80], alt[80];
    size_t i;

    show(shown, sizeof shown, name);
    show(acct, sizeof acct, a->name);
    /* "password_command" is a likely slip; say what was meant. */
    mail_strlcpy(alt, name, sizeof alt);
    for (i = 0; alt[i]; i++)
        if (alt[i] == '_')
            alt[i] = '-';
    if (strcmp(alt, name) != 0 && find_key(alt))
        return perr(p, "unknown key '%s' in account '%s' (did you mean "
                    "'%s'?)", shown, acct, find_key(alt)->name);
    return perr(p, "unknown key '%s' in account '%s'", shown, acct);
}

/*
 * Decode a double-quoted string in place.  s points at the opening quote;
 * on success *end is set past the closing quote.  Returns the decoded
 * string (inside the same buffer) or NULL with the error set.
 */
static char *unquote(struct parser *p, char *s, char **end, const char *what)
{
    char *r = s + 1, *w = s;

    for (;;) {
        char c = *r++;

        if (c == '\0') {
            perr(p, "unterminated quoted %s (missing '\"')", what);
            return NULL;
        }
        if (c == '"')
            break;
        if (c == '\\') {
            c = *r++;
            switch (c) {
            case '"':  break;
            case '\\': break;
            case 'n':  c = '\n'; break;
            case 't':  c = '\t'; break;
            case '\0':
                perr(p, "unterminated quoted %s (missing '\"')", what);
                return NULL;
            default:
                perr(p, "bad escape '\\%c' in quoted %s (use \\\", \\\\, "
                     "\\n or \\t)",
                     (unsigned char)c < 0x20 || c == 0x7f ? '?' : c, what);
                return NULL;
            }
        }
        *w++ = c;
    }
    *w = '\0';
    *end = r;
    return s;
}

/* After a quoted value or section header only a comment may follow. */
static bool only_comment(const char *s)
{
    while (is_space(*s))
        s++;
    return *s == '\0' || *s == '#' || *s == ';';
}

/* The closing quote of the string that starts at s (a '"'), or NULL. */
static const char *closing_quote(const char *s)
{
    for (s++; *s; s++) {
        if (*s == '\\' && s[1])
            s++;
        else if (*s == '"')
            return s;
    }
    return NULL;
}

/*
 * Is the value one quoted string, perhaps followed by a comment?  Only
 * then are the quotes syntax; in `"Doe, J." <j@example.com>` they are
 * part of the address.
 */
static bool whole_quoted(const char *s)
{
    const char *q = closing_quote(s);

    if (!q)
        return false;
    for (q++; is_space(*q); q++)
        ;
    return *q == '\0' || *q == '#';
}

static int add_account(struct parser *p, char *line)
{
    struct mail_config *cfg = p->cfg;
    struct mail_account *a;
    char *s = line + 1, *word, *name, *end;
    char shown[80];
    size_t i, wl;

    while (is_space(*s))
        s++;
    word = s;
    while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
           (*s >= '0' && *s <= '9') || *s == '-' || *s == '.')
        s++;
    wl = (size_t)(s - word);
    if (wl == 3 && mail_strncasecmp(word, "tui", 3) == 0) {
        /* [tui]: the reader's keys and colors (checked by the reader,
         * which knows their names). */
        while (is_space(*s))
            s++;
        if (*s != ']' || !only_comment(s + 1))
            return perr(p, "bad section header (use [tui])");
        p->in_tui = true;
        return 0;
    }
    p->in_tui = false;
    if (wl != 7 || mail_strncasecmp(word, "account", 7) != 0) {
        char c = *s;

        *s = '\0';
        if (wl == 0)
            return perr(p, "bad section header (use [account \"NAME\"])");
        show(shown, sizeof shown, word);
        *s = c;
        return perr(p, "unknown section '%s' (use [account \"NAME\"])",
                    shown);
    }
    while (is_space(*s))
        s++;
    if (*s != '"')
        return perr(p, "the account name must be quoted: "
                    "[account \"NAME\"]");
    name = unquote(p, s, &end, "account name");
    if (!name)
        return -1;
    s = end;
    while (is_space(*s))
        s++;
    if (*s != ']')
        return perr(p, "missing ']' after the account name");
    if (!only_comment(s + 1))
        return perr(p, "unexpected text after ']'");
    if (*name == '\0')
        return perr(p, "empty account name");
    for (i = 0; i < cfg->naccounts; i++)
        if (strcmp(cfg->accounts[i].name, name) == 0)
            return perr(p, "duplicate account '%s' (first on line %d)",
                        show(shown, sizeof shown, name),
                        cfg->accounts[i].line);
    if (cfg->naccounts >= CONFIG_MAX_ACCOUNTS)
        return perr(p, "too many accounts (at most %d)",
                    CONFIG_MAX_ACCOUNTS);

    if (cfg->naccounts == p->alloc) {
        size_t n = p->alloc ? p->alloc * 2 : 4;
        struct mail_account *na;
        int *ns;

        na = realloc(cfg->accounts, n * sizeof *na);
        if (!na)
            return nomem(p);
        cfg->accounts = na;
        ns = realloc(p->seen, n * NKEYS * sizeof *ns);
        if (!ns)
            return nomem(p);
        p->seen = ns;
        p->alloc = n;
    }
    a = &cfg->accounts[cfg->naccounts];
    account_init(a);
    a->paths = cfg->paths;
    memset(p->seen + cfg->naccounts * NKEYS, 0, NKEYS * sizeof *p->seen);
    a->name = strdup(name);
    a->file = strdup(p->file);
    a->line = p->lineno;
    cfg->naccounts++;    /* now owned by cfg, freed on any later error */
    if (!a->name || !a->file)
        return nomem(p);
    return 0;
}

/* bind = ... and color = ... of [tui], kept in file order with their
 * line numbers; a '#' after a blank starts a comment. */
static int set_tui_key(struct parser *p, const char *name, char *val)
{
    struct mail_config *cfg = p->cfg;
    struct mail_config_line *v;
    char shown[80];

    if (strcmp(name, "bind") != 0 && strcmp(name, "color") != 0)
        return perr(p, "unknown key '%s' in [tui] (use bind or color)",
                    show(shown, sizeof shown, name));
    for (char *c = val; *c; c++)
        if (*c == '#' && (c == val || is_space(c[-1]))) {
            *c = '\0';
            break;
        }
    val = trim(val);
    if (*val == '\0')
        return perr(p, "empty value for '%s'", name);
    v = realloc(cfg->tui, (cfg->ntui + 1) * sizeof *v);
    if (!v)
        return nomem(p);
    cfg->tui = v;
    v[cfg->ntui].key = strdup(name);
    v[cfg->ntui].value = strdup(val);
    v[cfg->ntui].line = p->lineno;
    cfg->ntui++;
    if (!v[cfg->ntui - 1].key || !v[cfg->ntui - 1].value)
        return nomem(p);
    return 0;
}

static int set_key(struct parser *p, char *line, char *eq)
{
    struct mail_config *cfg = p->cfg;
    struct mail_account *a;
    const struct key *k;
    char *name, *val, *end;
    char shown[80], acct[80];
    bool cut_at_start = false;
    int *seen;

    *eq = '\0';
    name = trim(line);
    if (*name == '\0')
        return perr(p, "missing key before '='");
    if (p->in_tui)
        return set_tui_key(p, name, eq + 1);
    if (cfg->naccounts == 0)
        return perr(p, "'%s' outside any [account \"NAME\"] section",
                    show(shown, sizeof shown, name));
    a = &cfg->accounts[cfg->naccounts - 1];
    k = find_key(name);
    if (!k)
        return unknown_key(p, name, a);

    val = eq + 1;
    while (is_space(*val))
        val++;
    if (*val == '"' && whole_quoted(val)) {
        /* Quotes keep leading and trailing blanks and a '#'. */
        val = unquote(p, val, &end, "value");
        if (!val)
            return -1;
    } else if (*val == '"' && !closing_quote(val)) {
        return perr(p, "unterminated quoted value (missing '\"')");
    } else {
        /* A '#' after a blank starts a comment; elsewhere ("#" in a URL
         * or a password-command) it is part of the value, and so is one
         * inside quotes: address = "Doe, J. #2" <j@example.com>. */
        bool quoted = false;
        char *c;

        for (c = val; *c; c++) {
            if (quoted && *c == '\\' && c[1]) {
                c++;
            } else if (*c == '"') {
                quoted = !quoted;
            } else if (!quoted && *c == '#' &&
                       (c == val || is_space(c[-1]))) {
                cut_at_start = c == val;
                *c = '\0';
                break;
            }
        }
        val = trim(val);
    }
    if (*val == '\0')
        return perr(p, "empty value for '%s'%s", k->name,
                    cut_at_start ? " (quote a value that starts with '#')"
                                 : "");

    seen = &p->seen[(cfg->naccounts - 1) * NKEYS + (size_t)(k - keys)];
    if (*seen)
        return perr(p, "duplicate key '%s' in account '%s' (first on "
                    "line %d)", k->name, show(acct, sizeof acct, a->name),
                    *seen);
    *seen = p->lineno;
    return k->set(p, k, a, val);
}

static int parse_line(struct parser *p, char *line)
{
    char *s = trim(line), *eq;

    if (*s == '\0' || *s == '#' || *s == ';')
        return 0;
    if (*s == '[')
        return add_account(p, s);
    eq = strchr(s, '=');
    if (!eq)
        /* The line is not repeated: it may be a mistyped password. */
        return perr(p, "missing '=' (use KEY = VALUE)");
    return set_key(p, s, eq);
}

int mail_config_parse(struct mail_config *cfg, const char *text, size_t len,
                      const char *filename, bool private_file,
                      const struct mail_paths *paths, struct mail_error *err)
{
    struct parser p;
    const char *pos = text, *end = text + len;
    char *line = NULL;
    int rc = -1;

    memset(cfg, 0, sizeof *cfg);
    cfg->paths = paths;
    memset(&p, 0, sizeof p);
    p.cfg = cfg;
    p.file = filename ? filename : "(config)";
    p.private_file = private_file;
    p.err = err;

    if (len > CONFIG_MAX_BYTES) {
        mail_error_set(err, MAIL_ERR_CONFIG, "%s: file too large (over "
                       "%zu bytes)", p.file, CONFIG_MAX_BYTES);
        return -1;
    }
    if (filename && !(cfg->path = strdup(filename))) {
        nomem(&p);
        goto out;
    }
    line = malloc(CONFIG_MAX_LINE + 1);
    if (!line) {
        nomem(&p);
        goto out;
    }
    /* A UTF-8 byte order mark, as some editors write. */
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        pos += 3;

    while (pos < end) {
        const char *nl = memchr(pos, '\n', (size_t)(end - pos));
        size_t n = nl ? (size_t)(nl - pos) : (size_t)(end - pos);
        size_t i;

        p.lineno++;
        if (n > 0 && pos[n - 1] == '\r')
            n--;                                    /* CRLF */
        if (n > CONFIG_MAX_LINE) {
            perr(&p, "line too long (over %d bytes)", CONFIG_MAX_LINE);
            goto out;
        }
        for (i = 0; i < n; i++) {
            unsigned char c = (unsigned char)pos[i];

            if (c == '\0') {
                perr(&p, "NUL byte in the file");
                goto out;
            }
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                perr(&p, "control character 0x%02x in the file", c);
                goto out;
            }
        }
        memcpy(line, pos, n);
        line[n] = '\0';
        if (parse_line(&p, line) < 0)
            goto out;
        pos = nl ? nl + 1 : end;
    }
    rc = 0;
out:
    if (line) {
        /* It may have held a password. */
        mail_wipe(line, CONFIG_MAX_LINE + 1);
        free(line);
    }
    free(p.seen);
    if (rc < 0)
        mail_config_release(cfg);
    return rc;
}

int mail_config_load(struct mail_config *cfg, const char *path,
                     const struct mail_paths *paths, struct mail_error *err)
{
    char *defpath = NULL, *text = NULL;
    const char *file = path;
    struct stat st;
    size_t len = 0, alloc = 0;
    bool private_file;
    int fd, rc = -1;

    memset(cfg, 0, sizeof *cfg);
    cfg->paths = paths;
    if (!path) {
        defpath = mail_config_default_path(paths, err);
        if (!defpath)
            return -1;
        file = defpath;
    }
    fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        if (!path && (errno == ENOENT || errno == ENOTDIR)) {
            /* No config is fine: the command line may say it all. */
            free(defpath);
            return 0;
        }
        mail_error_set(err, MAIL_ERR_CONFIG, "%s: %s", file,
                       strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) < 0) {
        mail_error_set(err, MAIL_ERR_CONFIG, "%s: %s", file,
                       strerror(errno));
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        mail_error_set(err, MAIL_ERR_CONFIG, "%s: %s (expected a config "
                       "file)", file, strerror(EISDIR));
        goto out;
    }
    /* Checked on the opened file, so that it cannot change in between. */
    private_file = st.st_uid == geteuid() && (st.st_mode & 077) == 0;

    /* Not st_size: -C may name a pipe (-C <(...)). */
    for (;;) {
        ssize_t r;

        if (alloc - len < 4096) {
            char *nt;

            if (alloc > CONFIG_MAX_BYTES) {
                mail_error_set(err, MAIL_ERR_CONFIG, "%s: file too large "
                               "(over %zu bytes)", file, CONFIG_MAX_BYTES);
                goto out;
            }
            alloc = alloc ? alloc * 2 : 8192;
            nt = malloc(alloc);
            if (!nt) {
                mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
                goto out;
            }
            if (text) {
                /* Not realloc: the old copy may hold a password. */
                memcpy(nt, text, len);
                mail_wipe(text, len);
                free(text);
            }
            text = nt;
        }
        r = read(fd, text + len, alloc - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            mail_error_set(err, MAIL_ERR_CONFIG, "%s: %s", file,
                           strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    rc = mail_config_parse(cfg, text ? text : "", len, file, private_file,
                           paths, err);
out:
    if (fd >= 0)
        close(fd);
    if (text) {
        mail_wipe(text, alloc);
        free(text);
    }
    free(defpath);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Choosing an account                                                 */

static int no_account(const struct mail_config *cfg, const char *name,
                      struct mail_error *err)
{
    char *def = NULL;
    const char *file = cfg->path;
    char shown[80];
    int rc;

    if (!file) {
        def = mail_config_default_path(cfg->paths, NULL);
        file = def ? def : "~/.config/mail/config";
    }
    if (name)
        rc = mail_error_set(err, MAIL_ERR_CONFIG, "no account '%s' in %s",
                            show(shown, sizeof shown, name), file);
    else
        rc = mail_error_set(err, MAIL_ERR_CONFIG, "no account configured "
                            "(create %s or give --smtp/--imap/--pop3)", file);
    free(def);
    return rc;
}

struct mail_account *mail_config_account(struct mail_config *cfg,
                                         const char *name,
                                         struct mail_error *err)
{
    size_t i;

    if (name) {
        for (i = 0; i < cfg->naccounts; i++)
            if (strcmp(cfg->accounts[i].name, name) == 0)
                return &cfg->accounts[i];
        no_account(cfg, name, err);
        return NULL;
    }
    if (cfg->naccounts == 0) {
        no_account(cfg, NULL, err);
        return NULL;
    }
    for (i = 0; i < cfg->naccounts; i++)
        if (cfg->accounts[i].is_default)
            return &cfg->accounts[i];
    /* The only one, else the first in the file. */
    return &cfg->accounts[0];
}

/* Parse an override URL and check it is for the right protocol. */
static int parse_override(const char *val, enum mail_proto proto,
                          const char *opt, struct mail_url *u,
                          struct mail_error *err)
{
    memset(u, 0, sizeof *u);
    if (!val)
        return 0;
    if (mail_url_parse(val, u, err) < 0) {
        /* From the command line, so a usage error (64), not config. */
        if (err && err->kind == MAIL_ERR_CONFIG)
            err->kind = MAIL_ERR_USAGE;
        return mail_error_prefix(err, "--%s", opt);
    }
    if (u->proto != proto) {
        char shown[120];

        mail_url_release(u);
        return mail_error_set(err, MAIL_ERR_USAGE, "--%s '%s': wrong scheme "
                              "for %s (use %s:// or %ss://)", opt,
                              show(shown, sizeof shown, val), opt, opt, opt);
    }
    return 0;
}

int mail_config_select(struct mail_config *cfg, const char *name,
                       const struct mail_overrides *ov,
                       struct mail_account **acct, struct mail_error *err)
{
    static const struct mail_overrides none = { NULL, NULL, NULL, NULL };
    struct mail_url imap, pop3, smtp;
    struct mail_account *a;
    char *user = NULL;

    *acct = NULL;
    if (!ov)
        ov = &none;
    /* Parse everything first, so that a bad override changes nothing. */
    if (parse_override(ov->imap, MAIL_PROTO_IMAP, "imap", &imap, err) < 0)
        return -1;
    if (parse_override(ov->pop3, MAIL_PROTO_POP3, "pop3", &pop3, err) < 0) {
        mail_url_release(&imap);
        return -1;
    }
    if (parse_override(ov->smtp, MAIL_PROTO_SMTP, "smtp", &smtp, err) < 0)
        goto fail;
    if (ov->user && !(user = strdup(ov->user))) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto fail;
    }

    if (cfg->naccounts == 0 && !name &&
        (ov->imap || ov->pop3 || ov->smtp)) {
        struct mail_account *na = realloc(cfg->accounts, sizeof *na);

        if (!na) {
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            goto fail;
        }
        cfg->accounts = na;
        a = &na[0];
        account_init(a);
        a->paths = cfg->paths;
        a->name = strdup("command-line");
        if (!a->name) {
            mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
            goto fail;
        }
        cfg->naccounts = 1;
    } else {
        a = mail_config_account(cfg, name, err);
        if (!a)
            goto fail;
    }

    if (ov->imap) {
        mail_url_release(&a->imap);
        a->imap = imap;
        a->has_imap = true;
    }
    if (ov->pop3) {
        mail_url_release(&a->pop3);
        a->pop3 = pop3;
        a->has_pop3 = true;
    }
    if (ov->smtp) {
        mail_url_release(&a->smtp);
        a->smtp = smtp;
        a->has_smtp = true;
    }
    if (user) {
        free(a->user);
        a->user = user;
    }
    *acct = a;
    return 0;
fail:
    mail_url_release(&imap);
    mail_url_release(&pop3);
    mail_url_release(&smtp);
    free(user);
    return -1;
}

void mail_server_from_account(struct mail_server *srv,
                              const struct mail_account *acct,
                              const struct mail_url *url)
{
    memset(srv, 0, sizeof *srv);
    srv->proto = url->proto;
    srv->host = url->host;
    srv->port = url->port;
    srv->tls = url->tls;
    if (acct->tls_set) {
        srv->tls = acct->tls;
        /* tls = implicit/starttls given without a port in the URL keeps
         * the URL's port: the user said both. */
    }
    srv->timeout = acct->timeout > 0 ? acct->timeout : 30;
    srv->ca_file = acct->tls_ca_file;
    srv->fingerprint = acct->tls_fingerprint;
    srv->auth = acct->auth;
    srv->compress = acct->compress;
    /* oauth2-provider or -client-id without auth =: OAuth 2.0 it is. */
    if (srv->auth == MAIL_SASL_NONE &&
        (acct->oauth2_provider || acct->oauth2_client_id))
        srv->auth = MAIL_SASL_OAUTH2;
    if (mail_account_uses_oauth2(acct)) {
        srv->renew_token = mail_account_oauth2_renew;
        srv->renew_arg = acct;
    }
    srv->user = mail_account_user(acct, url);
}

const char *mail_account_user(const struct mail_account *acct,
                              const struct mail_url *url)
{
    if (url && url->user)
        return url->user;
    if (!acct)
        return "";
    if (acct->user)
        return acct->user;
    if (acct->addr_spec)
        return acct->addr_spec;
    return "";
}
