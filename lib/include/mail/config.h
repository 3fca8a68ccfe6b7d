/*
 * config.h - the configuration file, server URLs, and password sources.
 *
 * File: $XDG_CONFIG_HOME/mail/config (else ~/.config/mail/config) or -C
 * FILE.  git-config-like INI, see mail.conf(5):
 *
 *     # comment
 *     [account "work"]
 *         address = Alice Example <alice@example.com>
 *         imap = imaps://imap.example.com      # inline comment
 *         smtp = smtp://smtp.example.com:587
 *         user = alice@example.com
 *         password-command = pass show mail/work
 *         store = ~/Mail/work
 *         default = true
 *
 * Every error names the file and line: "FILE:LINE: unknown key 'foo'".
 */
#ifndef MAIL_CONFIG_H
#define MAIL_CONFIG_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"
#include "paths.h"
#include "sasl.h"
#include "server.h"
#include "session.h"

/*
 * A server URL: scheme://[user@]host[:port][/]
 * Schemes: smtp (STARTTLS, 587), smtps (465), imap (STARTTLS, 143),
 * imaps (993), pop3 (STLS, 110), pop3s (995).  host may be an IPv6
 * literal in brackets: imaps://[::1]:9993.  Any other path, query or
 * fragment is an error.
 */
struct mail_url {
    enum mail_proto proto;
    enum mail_tls tls;
    char *host;          /* without brackets */
    unsigned port;       /* the default port of the scheme when not given */
    char *user;          /* NULL unless given in the URL (percent-decoded) */
};

/* Parse; on error (MAIL_ERR_CONFIG) the message names the URL and what is
 * wrong with it ("bad port", "unknown scheme 'http'"). */
int mail_url_parse(const char *s, struct mail_url *u, struct mail_error *err);
void mail_url_release(struct mail_url *u);

/* What mail fetch does with a message over fetch-max-size (POP3). */
enum mail_fetch_oversized {
    MAIL_FETCH_OVERSIZED_SKIP,    /* leave it on the server, say so */
    MAIL_FETCH_OVERSIZED_HEADERS, /* also store its header (TOP n 0),
                                     marked X-Mail-Fetch-Truncated */
};

struct mail_account {
    const struct mail_paths *paths; /* the config's: home, XDG dirs */
    char *name;
    char *file;               /* where it was defined (NULL: command line) */
    int line;                 /* line of its [account] header */

    char *address;            /* "Alice <alice@example.com>" */
    bool has_imap, has_pop3, has_smtp;
    struct mail_url imap, pop3, smtp;
    char *user;
    char *password_command;
    char *password;           /* literal; only accepted from a 0600 file */
    char *store;              /* "~" expanded; "mbox:PATH" for mbox */
    bool is_default;

    enum mail_sasl_mech auth; /* MAIL_SASL_NONE: choose automatically */
    char *tls_ca_file;        /* "~" expanded */
    char *tls_fingerprint;    /* "sha256:HEX" normalised to lowercase hex
                                 without colons, 64 chars */
    bool tls_set;             /* tls = ... was given: overrides the URLs */
    enum mail_tls tls;
    int timeout;              /* seconds, default 30 */

    bool fetch_delete;
    char *fetch_folders;      /* names and patterns, space-separated:
                                 INBOX, Lists/ followed by a '*' glob */
    long long fetch_max_size; /* bytes, 0 = no limit; accepts 10M, 512k */
    char *signature_file;     /* "~" expanded */
    char *alternates;         /* your other addresses: addresses or
                                 regexes, blank-separated (reply.h) */
    char *html_command;
    bool queue;
    char *sent_folder;
    char *trash_folder;
    char *drafts_folder;
    char *domain;             /* qualifies bare recipient names ("root"
                                 becomes root@DOMAIN), or NULL */
    char *address_command;    /* the address book's query command
                                 (addrbook.h), or NULL */
    unsigned watch_connections; /* IMAP connections of mail watch and
                                   fetch --idle; 0: the default (watch.h) */
    bool compress;            /* COMPRESS=DEFLATE when offered (default) */

    char *addr_spec;          /* the addr-spec of address ("alice@example.com"),
                                 or NULL: what mail_account_user falls back
                                 to, kept here so it can return a pointer */
    enum mail_fetch_oversized fetch_oversized; /* default: skip */

    /* OAuth 2.0 (see oauth2.h and mail.conf(5)); auth = oauth2 is
     * MAIL_SASL_OAUTH2.  All NULL unless set. */
    char *oauth2_provider;    /* "google", "microsoft" or "custom" */
    char *oauth2_client_id;
    char *oauth2_client_secret;
    char *oauth2_client_secret_command;
    char *oauth2_authorize_url;
    char *oauth2_token_url;
    char *oauth2_device_url;
    char *oauth2_scope;
    char *oauth2_token_store_command;
    char *oauth2_token_command;
};

/* One `key = value` line of a section that its user checks (the reader's
 * [tui]: bind and color). */
struct mail_config_line {
    char *key, *value;
    int line;
};

struct mail_config {
    char *path;                    /* file read, or NULL if none */
    const struct mail_paths *paths; /* the caller's (see _load) */
    struct mail_account *accounts; /* in file order */
    size_t naccounts;
    struct mail_config_line *tui;  /* [tui] lines, in file order */
    size_t ntui;
};

/*
 * The default config path: $XDG_CONFIG_HOME/mail/config, else
 * $HOME/.config/mail/config.  Returns a malloc'd string or NULL with err.
 */
char *mail_config_default_path(const struct mail_paths *paths,
                               struct mail_error *err);

/*
 * Load a config file.  path NULL: the default path, and a missing default
 * file is not an error (empty config).  An explicit path that does not
 * exist is MAIL_ERR_CONFIG.  A literal `password` is refused unless the
 * file is owned by the user and not readable or writable by group/others.
 */
int mail_config_load(struct mail_config *cfg, const char *path,
                     const struct mail_paths *paths, struct mail_error *err);

/*
 * Parse text already in memory (used by _load, unit tests and the fuzz
 * target).  filename is used in messages.  private_file says whether a
 * literal password is allowed.
 */
int mail_config_parse(struct mail_config *cfg, const char *text, size_t len,
                      const char *filename, bool private_file,
                      const struct mail_paths *paths, struct mail_error *err);

void mail_config_release(struct mail_config *cfg);

/*
 * Find an account: by name, or with name NULL the one marked default, else
 * the only one, else the first.  MAIL_ERR_CONFIG "no account 'x' in FILE"
 * or "no account configured (create FILE or give --smtp/--imap/--pop3)".
 */
struct mail_account *mail_config_account(struct mail_config *cfg,
                                         const char *name,
                                         struct mail_error *err);

/* Command-line server settings; any may be NULL. */
struct mail_overrides {
    const char *imap, *pop3, *smtp, *user;
};

/*
 * Apply overrides to the chosen account.  If the config has no account
 * and at least one server override is given, an account named
 * "command-line" is created in cfg and returned in *acct.  With no account
 * and no overrides: the same error as mail_config_account.
 */
int mail_config_select(struct mail_config *cfg, const char *name,
                       const struct mail_overrides *ov,
                       struct mail_account **acct, struct mail_error *err);

/* Asks the user for a password without echo; returns 0 and appends to out,
 * or -1 with err.  Provided by the program (the library never prompts). */
typedef int (*mail_prompt_fn)(void *arg, const char *prompt,
                              struct mail_buf *out, struct mail_error *err);

/*
 * Get the password (or OAuth2 token) for a server of the account, in this
 * order: password-command (first line of its output; a crash, a non-zero
 * exit and empty output are reported separately, and stderr is passed
 * through), literal password, ~/.netrc (machine host, login user, else
 * default), then prompt (if not NULL) with "Password for USER@HOST: ".
 * MAIL_ERR_AUTH "no password for USER@HOST" when nothing gives one.
 * out should be released with mail_buf_release_secret.
 * The password is never included in an error message.
 */
int mail_account_password(const struct mail_account *acct, const char *host,
                          const char *user, mail_prompt_fn prompt,
                          void *prompt_arg, struct mail_buf *out,
                          struct mail_error *err);

/* The user name for a server: URL user, else account user, else the
 * address's addr-spec.  Never NULL for a loaded account (may be ""). */
/* Fill a server description from an account and one of its URLs; the
 * pointers refer into acct and url. */
void mail_server_from_account(struct mail_server *srv,
                              const struct mail_account *acct,
                              const struct mail_url *url);

const char *mail_account_user(const struct mail_account *acct,
                              const struct mail_url *url);

/* Look up ~/.netrc-format text (exposed for unit tests): fills login and
 * password for host (or the default entry).  Returns 1 found, 0 not. */
int mail_netrc_lookup(const char *text, size_t len, const char *host,
                      const char *user, struct mail_buf *password);

#pragma GCC visibility pop

#endif
