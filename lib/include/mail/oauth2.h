/*
 * oauth2.h - OAuth 2.0 for mail servers (Gmail, Microsoft 365 and any
 * provider with the same endpoints): the authorization once (the
 * authorization-code flow with PKCE and a loopback redirect, RFC 8252, or
 * the device authorization grant, RFC 8628), then access tokens on demand
 * from the kept refresh token.
 *
 * Where the tokens live: DATA_HOME/mail/oauth2/ACCOUNT, a JSON file of
 * mode 0600 (a wider mode is refused) holding the refresh token and the
 * cached access token with its expiry.  With oauth2-token-store-command
 * and oauth2-token-command the refresh token goes to and comes from those
 * commands instead (stdin / the first line of stdout) and the file keeps
 * only the access token cache.  Rotated refresh tokens are saved
 * atomically (temporary file, fsync, rename, fsync of the directory) under
 * a lock, so two processes refreshing at once do not lose one.
 *
 * Tokens never appear in argv, in traces or in error messages.
 *
 * Errors (kinds, hence exit codes): the token endpoint refusing the
 * refresh token (invalid_grant) or the user refusing (access_denied):
 * MAIL_ERR_AUTH with "run mail auth again"; invalid_client,
 * unauthorized_client, invalid_scope, a missing client id or URL:
 * MAIL_ERR_CONFIG; the network or a 5xx: MAIL_ERR_TEMP; a reply that is
 * not what RFC 6749 says: MAIL_ERR_PROTOCOL.
 */
#ifndef MAIL_OAUTH2_H
#define MAIL_OAUTH2_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "conn.h"
#include "error.h"

/* A provider's endpoints and mail scope. */
struct mail_oauth2_provider {
    const char *name;            /* "google", "microsoft" */
    const char *authorize_url;
    const char *token_url;
    const char *device_url;
    const char *scope;
    const char *authorize_extra; /* more query parameters, or NULL */
};

/* The preset of that name, or NULL. */
const struct mail_oauth2_provider *mail_oauth2_preset(const char *name);

/* The settings of one account, resolved (presets, overrides, the client
 * secret from its command). */
struct mail_oauth2 {
    char *account;
    char *client_id, *client_secret;
    char *authorize_url, *token_url, *device_url, *scope;
    const char *authorize_extra;
    char *token_store_command, *token_command;
    char *dir;                   /* DATA_HOME/mail/oauth2 */
    char *file;                  /* DIR/ACCOUNT */
    const char *ca_file;
    int timeout;
    mail_trace_fn trace;
    void *trace_arg;
    time_t (*now)(void);         /* NULL: time(); for tests */
};

/* Does the account get its tokens from the built-in OAuth 2.0 code: an
 * oauth2-provider or oauth2-client-id is set, or auth = oauth2 without a
 * password-command?  (auth = xoauth2 with a password-command that prints
 * a token, the way before mail auth, keeps working.) */
bool mail_account_uses_oauth2(const struct mail_account *acct);

/* For mail_account_password and the login retry: set up from the account
 * (DATA_HOME from acct->paths), get an access token (see
 * mail_oauth2_access_token), release.  trace may be NULL. */
int mail_account_oauth2_token(const struct mail_account *acct,
                              bool force_refresh, mail_trace_fn trace,
                              void *trace_arg, struct mail_buf *out,
                              time_t *expires_at, struct mail_error *err);

/*
 * Resolve the account's settings.  data_home: $XDG_DATA_HOME (else
 * ~/.local/share), which the caller knows; the library reads no
 * environment.  MAIL_ERR_CONFIG when data_home is NULL, no client id is
 * set, or a custom provider lacks its token URL.  Runs
 * oauth2-client-secret-command when set.
 */
int mail_oauth2_setup(struct mail_oauth2 *o, const struct mail_account *acct,
                      const char *data_home, struct mail_error *err);
void mail_oauth2_release(struct mail_oauth2 *o);

/*
 * An access token into out (secret mode): the cached one while it has
 * more than a minute left, else a fresh one from the refresh token (the
 * rotated refresh token saved).  force_refresh skips the cache (the
 * server refused the cached token).  *expires_at (may be NULL): when the
 * token expires (0 unknown).
 */
int mail_oauth2_access_token(struct mail_oauth2 *o, bool force_refresh,
                             struct mail_buf *out, time_t *expires_at,
                             struct mail_error *err);

/* srv->renew_token of an OAuth 2.0 account's servers (arg: the account):
 * a fresh access token, skipping the cache. */
int mail_account_oauth2_renew(const void *acct, struct mail_buf *out,
                              struct mail_error *err);

/* ---- The authorization code flow with PKCE (RFC 7636, RFC 8252) ---- */

struct mail_oauth2_code_flow {
    int listen_fd;               /* on 127.0.0.1, one-shot */
    unsigned port;
    char verifier[64];           /* PKCE code verifier (43 chars) */
    char state[32];
    char redirect_uri[64];
    char *url;                   /* to open in a browser */
};

/* Listen on 127.0.0.1 (a free port) and build the authorization URL
 * (flow->url) for the user's browser. */
int mail_oauth2_code_begin(struct mail_oauth2 *o,
                           struct mail_oauth2_code_flow *flow,
                           struct mail_error *err);

/*
 * Wait (up to timeout seconds) for the browser's redirect to the
 * loopback address, answer it with a short page, check its state
 * (another state: MAIL_ERR_AUTH, and the code is not used), exchange the
 * code with the verifier at the token endpoint and keep the tokens.
 */
int mail_oauth2_code_finish(struct mail_oauth2 *o,
                            struct mail_oauth2_code_flow *flow, int timeout,
                            struct mail_error *err);
void mail_oauth2_code_release(struct mail_oauth2_code_flow *flow);

/* ---- The device authorization grant (RFC 8628) ---- */

struct mail_oauth2_device_flow {
    char *device_code;
    char *user_code;
    char *verification_uri;
    char *verification_uri_complete;   /* or NULL */
    int interval;                      /* seconds between polls */
    time_t expires_at;
};

/* Ask the device endpoint for a code for the user to enter. */
int mail_oauth2_device_begin(struct mail_oauth2 *o,
                             struct mail_oauth2_device_flow *flow,
                             struct mail_error *err);

/* Poll the token endpoint at the server's interval (authorization_pending:
 * go on; slow_down: 5 s more) until the user granted (the tokens kept),
 * refused (access_denied: MAIL_ERR_AUTH) or the code expired
 * (expired_token: MAIL_ERR_AUTH). */
int mail_oauth2_device_finish(struct mail_oauth2 *o,
                              struct mail_oauth2_device_flow *flow,
                              struct mail_error *err);
void mail_oauth2_device_release(struct mail_oauth2_device_flow *flow);

/* ---- The token file (exposed for tests) ---- */

struct mail_oauth2_tokens {
    struct mail_buf refresh;     /* secret mode */
    struct mail_buf access;      /* secret mode */
    time_t expires_at;           /* of access; 0: unknown */
};

void mail_oauth2_tokens_init(struct mail_oauth2_tokens *t);
void mail_oauth2_tokens_release(struct mail_oauth2_tokens *t);

/* Read path: 1 read, 0 no such file, -1 err (a mode wider than 0600, not
 * ours, not a regular file, bad JSON). */
int mail_oauth2_tokens_read(const char *path, struct mail_oauth2_tokens *t,
                            struct mail_error *err);

/* Write path atomically, mode 0600, creating its directory (0700). */
int mail_oauth2_tokens_write(const char *path,
                             const struct mail_oauth2_tokens *t,
                             struct mail_error *err);

#pragma GCC visibility pop

#endif
