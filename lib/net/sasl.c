/*
 * sasl.c - SASL client mechanisms; see mail/sasl.h.
 *
 * Pure computation: challenges in, responses out, no I/O.  Every challenge
 * is bounded, every secret copy is wiped, and no error message ever quotes
 * a credential (server text that is quoted is made terminal-safe first).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "mail/sasl.h"

/* A server challenge longer than this is hostile or broken. */
#define SASL_CHALLENGE_MAX (16 * 1024)
/* Credentials longer than this are a configuration mistake (OAuth2 access
 * tokens, the longest, are a few KiB). */
#define SASL_CRED_MAX (64 * 1024)
/* SCRAM iteration counts above this would let a hostile server make us
 * burn seconds of CPU; real servers use 4096..100000. */
#define SCRAM_ITER_MAX 1000000
/* Random bytes in a SCRAM client nonce (RFC 5802 wants it unpredictable;
 * 24 bytes give 32 base64 characters). */
#define SCRAM_NONCE_BYTES 24
#define SCRAM_NONCE_MAX 128
/* How much server text an error message quotes. */
#define QUOTE_MAX 200

struct mail_sasl {
    enum mail_sasl_mech mech;
    int step;            /* challenges answered so far (0 = none) */
    bool failed;         /* a step failed: refuse to go on */
    bool verified;       /* SCRAM: server signature checked */
    char *user, *authzid, *secret, *host;
    unsigned port;
    /* SCRAM state */
    char nonce[SCRAM_NONCE_MAX + 1];
    struct mail_buf gs2;          /* "n,," or "n,a=...," */
    struct mail_buf first_bare;   /* client-first-message-bare */
    unsigned char server_sig[EVP_MAX_MD_SIZE];
    size_t sig_len;
    /* XOAUTH2/OAUTHBEARER: the server's error challenge (JSON) */
    char *server_error;
};

static const struct {
    enum mail_sasl_mech mech;
    const char *name;
} mech_names[] = {
    { MAIL_SASL_LOGIN, "LOGIN" },
    { MAIL_SASL_PLAIN, "PLAIN" },
    { MAIL_SASL_CRAM_MD5, "CRAM-MD5" },
    { MAIL_SASL_SCRAM_SHA_1, "SCRAM-SHA-1" },
    { MAIL_SASL_SCRAM_SHA_256, "SCRAM-SHA-256" },
    { MAIL_SASL_XOAUTH2, "XOAUTH2" },
    { MAIL_SASL_OAUTHBEARER, "OAUTHBEARER" },
};
#define N_MECHS (sizeof mech_names / sizeof mech_names[0])

const char *mail_sasl_mech_name(enum mail_sasl_mech m)
{
    for (size_t i = 0; i < N_MECHS; i++)
        if (mech_names[i].mech == m)
            return mech_names[i].name;
    return NULL;
}

/* Lookup of a name that is not NUL-terminated (a token in a list). */
static enum mail_sasl_mech mech_from_token(const char *p, size_t n)
{
    for (size_t i = 0; i < N_MECHS; i++)
        if (strlen(mech_names[i].name) == n &&
            mail_strncasecmp(mech_names[i].name, p, n) == 0)
            return mech_names[i].mech;
    return MAIL_SASL_NONE;
}

enum mail_sasl_mech mail_sasl_mech_from_name(const char *name)
{
    return name ? mech_from_token(name, strlen(name)) : MAIL_SASL_NONE;
}

bool mail_sasl_mech_is_cleartext(enum mail_sasl_mech m)
{
    return m == MAIL_SASL_LOGIN || m == MAIL_SASL_PLAIN ||
           m == MAIL_SASL_XOAUTH2 || m == MAIL_SASL_OAUTHBEARER;
}

/* Copy server text for an error message: printable ASCII only, bounded,
 * so that a hostile server cannot put escape sequences on our terminal. */
static void quote_text(char *dst, size_t size, const void *src, size_t len)
{
    const unsigned char *p = src;
    size_t i, n = 0;

    for (i = 0; i < len && n + 4 < size; i++)
        dst[n++] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
    if (i < len) {
        memcpy(dst + n, "...", 3);
        n += 3;
    }
    dst[n] = '\0';
}

/* Is c a list separator in a capability string? */
static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

enum mail_sasl_mech mail_sasl_choose(const char *server_mechs,
                                     enum mail_sasl_mech forced,
                                     bool encrypted,
                                     bool allow_cleartext_unencrypted,
                                     struct mail_error *err)
{
    bool offered[MAIL_SASL_OAUTHBEARER + 1] = { false };
    bool cleartext_ok = encrypted || allow_cleartext_unencrypted;
    char list[QUOTE_MAX + 4];
    const char *p = server_mechs ? server_mechs : "";

    while (is_space(*p))
        p++;
    {
        /* Normalise the list for messages: single spaces, terminal-safe. */
        char tmp[2 * QUOTE_MAX];
        size_t n = 0;
        const char *q;

        for (q = p; *q && n < sizeof tmp; q++)
            if (!is_space(*q) || (q[1] && !is_space(q[1])))
                tmp[n++] = is_space(*q) ? ' ' : *q;
        quote_text(list, sizeof list, tmp, n);
    }
    while (*p) {
        size_t n = 0;
        enum mail_sasl_mech m;

        while (p[n] && !is_space(p[n]))
            n++;
        m = mech_from_token(p, n);
        if (m != MAIL_SASL_NONE)
            offered[m] = true;
        p += n;
        while (is_space(*p))
            p++;
    }

    if (forced == MAIL_SASL_OAUTH2) {
        if (!offered[MAIL_SASL_OAUTHBEARER] && !offered[MAIL_SASL_XOAUTH2]) {
            mail_error_set(err, MAIL_ERR_AUTH,
                           "server offers neither OAUTHBEARER nor XOAUTH2 "
                           "authentication (offered: %s)",
                           *list ? list : "none");
            return MAIL_SASL_NONE;
        }
        forced = offered[MAIL_SASL_OAUTHBEARER] ? MAIL_SASL_OAUTHBEARER
                                                : MAIL_SASL_XOAUTH2;
    }
    if (forced != MAIL_SASL_NONE) {
        const char *name = mail_sasl_mech_name(forced);

        if (!name) {
            mail_error_set(err, MAIL_ERR_USAGE, "unknown SASL mechanism %d",
                           (int)forced);
            return MAIL_SASL_NONE;
        }
        if (!offered[forced]) {
            mail_error_set(err, MAIL_ERR_AUTH,
                           "server does not offer %s authentication "
                           "(offered: %s)", name, *list ? list : "none");
            return MAIL_SASL_NONE;
        }
        if (mail_sasl_mech_is_cleartext(forced) && !cleartext_ok) {
            mail_error_set(err, MAIL_ERR_AUTH,
                           "refusing to send %s in clear text over an "
                           "unencrypted connection (mechanism %s); use TLS",
                           forced >= MAIL_SASL_XOAUTH2 ? "a token"
                                                       : "a password",
                           name);
            return MAIL_SASL_NONE;
        }
        return forced;
    }

    /* Strongest first; the token mechanisms are never picked by default. */
    for (int m = MAIL_SASL_SCRAM_SHA_256; m >= MAIL_SASL_LOGIN; m--)
        if (offered[m] && (cleartext_ok || !mail_sasl_mech_is_cleartext(m)))
            return (enum mail_sasl_mech)m;

    if (offered[MAIL_SASL_LOGIN] || offered[MAIL_SASL_PLAIN])
        mail_error_set(err, MAIL_ERR_AUTH,
                       "refusing to send a password in clear text over an "
                       "unencrypted connection (mechanisms offered: %s); "
                       "use TLS", list);
    else if (!*list)
        mail_error_set(err, MAIL_ERR_AUTH,
                       "server offers no authentication mechanisms");
    else if (offered[MAIL_SASL_XOAUTH2] || offered[MAIL_SASL_OAUTHBEARER])
        mail_error_set(err, MAIL_ERR_AUTH,
                       "server offers only OAuth2 token authentication "
                       "(offered: %s); ask for XOAUTH2 or OAUTHBEARER "
                       "explicitly", list);
    else
        mail_error_set(err, MAIL_ERR_AUTH,
                       "server offers no authentication mechanism we support "
                       "(offered: %s)", list);
    return MAIL_SASL_NONE;
}

/* ---- life cycle ---- */

static bool is_scram(enum mail_sasl_mech m)
{
    return m == MAIL_SASL_SCRAM_SHA_1 || m == MAIL_SASL_SCRAM_SHA_256;
}

/* Wipe and free a string copy. */
static void free_secret(char *p)
{
    if (p) {
        OPENSSL_cleanse(p, strlen(p));
        free(p);
    }
}

/* Does s contain an ASCII control character?  They are prohibited by
 * SASLprep (RFC 4013, table C.2.1) and would break the \x01-separated
 * OAuth2 framing. */
static bool has_ctl(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

/* Copy one credential field; `what` names it in errors, never its value. */
static int copy_cred(char **dst, const char *src, const char *what,
                     struct mail_error *err)
{
    if (!src) {
        *dst = NULL;
        return 0;
    }
    if (strlen(src) > SASL_CRED_MAX)
        return mail_error_set(err, MAIL_ERR_CONFIG, "%s is too long", what);
    *dst = strdup(src);
    if (!*dst)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    return 0;
}

struct mail_sasl *mail_sasl_new(enum mail_sasl_mech mech,
                                const struct mail_sasl_creds *creds,
                                struct mail_error *err)
{
    const char *name = mail_sasl_mech_name(mech);
    struct mail_sasl *s;

    if (!name) {
        mail_error_set(err, MAIL_ERR_USAGE, "unknown SASL mechanism %d",
                       (int)mech);
        return NULL;
    }
    if (!creds || !creds->secret ||
        ((!creds->user || !*creds->user) && mech != MAIL_SASL_OAUTHBEARER)) {
        mail_error_set(err, MAIL_ERR_CONFIG, "%s: %s is missing", name,
                       creds && creds->secret ? "user name"
                       : mech >= MAIL_SASL_XOAUTH2 ? "access token"
                                                   : "password");
        return NULL;
    }
    /* An empty authzid means "none" everywhere. */
    if (creds->authzid && *creds->authzid &&
        (mech == MAIL_SASL_LOGIN || mech == MAIL_SASL_CRAM_MD5 ||
         mech == MAIL_SASL_XOAUTH2)) {
        mail_error_set(err, MAIL_ERR_CONFIG,
                       "%s cannot carry an authorization identity", name);
        return NULL;
    }
    if (is_scram(mech) && (has_ctl(creds->user) || has_ctl(creds->authzid) ||
                           has_ctl(creds->secret))) {
        mail_error_set(err, MAIL_ERR_CONFIG,
                       "%s: user name or password contains a control "
                       "character", name);
        return NULL;
    }
    if (mech >= MAIL_SASL_XOAUTH2 &&
        (has_ctl(creds->user) || has_ctl(creds->authzid) ||
         has_ctl(creds->secret) || has_ctl(creds->host))) {
        mail_error_set(err, MAIL_ERR_CONFIG,
                       "%s: user name, host or token contains a control "
                       "character", name);
        return NULL;
    }

    s = calloc(1, sizeof *s);
    if (!s) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    s->mech = mech;
    s->port = creds->port;
    mail_buf_init(&s->gs2, SASL_CRED_MAX * 4);
    mail_buf_init(&s->first_bare, SASL_CRED_MAX * 4);
    if (copy_cred(&s->user, creds->user, "user name", err) < 0 ||
        copy_cred(&s->authzid, creds->authzid && *creds->authzid
                                   ? creds->authzid : NULL,
                  "authorization identity", err) < 0 ||
        copy_cred(&s->secret, creds->secret, "secret", err) < 0 ||
        copy_cred(&s->host, creds->host, "host name", err) < 0) {
        mail_error_prefix(err, "%s", name);
        mail_sasl_free(s);
        return NULL;
    }
    return s;
}

void mail_sasl_free(struct mail_sasl *s)
{
    if (!s)
        return;
    free_secret(s->user);
    free_secret(s->authzid);
    free_secret(s->secret);
    free_secret(s->host);
    free(s->server_error);
    mail_buf_release_secret(&s->gs2);
    mail_buf_release_secret(&s->first_bare);
    OPENSSL_cleanse(s, sizeof *s);
    free(s);
}

bool mail_sasl_has_initial_response(const struct mail_sasl *s)
{
    return s && s->mech != MAIL_SASL_LOGIN && s->mech != MAIL_SASL_CRAM_MD5;
}

void mail_sasl_set_test_nonce(struct mail_sasl *s, const char *nonce)
{
    if (s && nonce)
        mail_strlcpy(s->nonce, nonce, sizeof s->nonce);
}

const char *mail_sasl_server_error(const struct mail_sasl *s)
{
    return s ? s->server_error : NULL;
}

/* ---- simple mechanisms ---- */

static int oom(struct mail_error *err)
{
    return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
}

/* RFC 4616: [authzid] NUL authcid NUL passwd. */
static int plain_response(struct mail_sasl *s, struct mail_buf *out,
                          struct mail_error *err)
{
    if ((s->authzid && mail_buf_addstr(out, s->authzid) < 0) ||
        mail_buf_addch(out, '\0') < 0 || mail_buf_addstr(out, s->user) < 0 ||
        mail_buf_addch(out, '\0') < 0 || mail_buf_addstr(out, s->secret) < 0)
        return oom(err);
    return 0;
}

/* RFC 2195: user SP lowercase-hex(HMAC-MD5(secret, challenge)). */
static int cram_response(struct mail_sasl *s, const unsigned char *in,
                         size_t inlen, struct mail_buf *out,
                         struct mail_error *err)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int rc = 0;

    if (inlen == 0)
        return mail_error_set(err, MAIL_ERR_PROTOCOL,
                              "CRAM-MD5: empty challenge from server");
    /* The one-shot HMAC() is not deprecated in OpenSSL 3; MD5_* are. */
    if (!HMAC(EVP_md5(), s->secret, (int)strlen(s->secret), in, inlen, md,
              &mdlen))
        return mail_error_set(err, MAIL_ERR_INTERNAL,
                              "CRAM-MD5: HMAC-MD5 unavailable in OpenSSL");
    if (mail_buf_addstr(out, s->user) < 0 || mail_buf_addch(out, ' ') < 0)
        rc = oom(err);
    for (unsigned i = 0; rc == 0 && i < mdlen; i++)
        if (mail_buf_addch(out, hex[md[i] >> 4]) < 0 ||
            mail_buf_addch(out, hex[md[i] & 15]) < 0)
            rc = oom(err);
    OPENSSL_cleanse(md, sizeof md);
    return rc;
}

/* Append a saslname: ',' and '=' escaped as =2C and =3D (RFC 5802 5.1). */
static int saslname(struct mail_buf *out, const char *name)
{
    for (; *name; name++) {
        int rc = *name == ',' ? mail_buf_addstr(out, "=2C")
                 : *name == '=' ? mail_buf_addstr(out, "=3D")
                                : mail_buf_addch(out, *name);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* XOAUTH2 (Google): "user=" user ^A "auth=Bearer " token ^A ^A.
 * OAUTHBEARER (RFC 7628): gs2 header, then ^A-separated key=value pairs.
 * The a= of OAUTHBEARER is the authzid when given, else the user (as
 * Gmail and Outlook expect); it is a saslname, so ',' and '=' are
 * escaped. */
static int oauth_response(struct mail_sasl *s, struct mail_buf *out,
                          struct mail_error *err)
{
    int rc;

    if (s->mech == MAIL_SASL_XOAUTH2) {
        rc = mail_buf_printf(out, "user=%s\001auth=Bearer %s\001\001",
                             s->user, s->secret);
    } else {
        const char *a = s->authzid ? s->authzid : s->user;

        rc = mail_buf_addstr(out, a && *a ? "n,a=" : "n,");
        if (rc == 0 && a && *a)
            rc = saslname(out, a);
        if (rc == 0)
            rc = mail_buf_addstr(out, ",\001");
        if (rc == 0 && s->host && *s->host)
            rc = mail_buf_printf(out, "host=%s\001", s->host);
        if (rc == 0 && s->port)
            rc = mail_buf_printf(out, "port=%u\001", s->port);
        if (rc == 0)
            rc = mail_buf_printf(out, "auth=Bearer %s\001\001", s->secret);
    }
    return rc < 0 ? oom(err) : 0;
}

/* ---- SCRAM (RFC 5802, RFC 7677) ---- */

static const EVP_MD *scram_md(const struct mail_sasl *s)
{
    return s->mech == MAIL_SASL_SCRAM_SHA_1 ? EVP_sha1() : EVP_sha256();
}

/*
 * SASLprep (RFC 4013) is the identity on printable ASCII, and control
 * characters were refused in mail_sasl_new, so ASCII names and passwords
 * are exactly right.  Non-ASCII UTF-8 is passed through unchanged: no
 * NFKC normalisation and no mapping of non-ASCII spaces, so a password
 * that SASLprep would change fails to authenticate rather than silently
 * becoming another password.
 */

/* Is the nonce printable ASCII without ',' (RFC 5802 "printable")? */
static bool nonce_ok(const char *p, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x21 || p[i] > 0x7e || p[i] == ',')
            return false;
    return true;
}

/* client-first: gs2-header "n=" saslname ",r=" nonce. */
static int scram_first(struct mail_sasl *s, struct mail_buf *out,
                       struct mail_error *err)
{
    const char *name = mail_sasl_mech_name(s->mech);

    if (!s->nonce[0]) {
        unsigned char rnd[SCRAM_NONCE_BYTES];
        struct mail_buf b = MAIL_BUF_INIT;

        if (RAND_bytes(rnd, sizeof rnd) != 1)
            return mail_error_set(err, MAIL_ERR_INTERNAL,
                                  "%s: no random bytes for the nonce", name);
        if (mail_base64_encode(&b, rnd, sizeof rnd) < 0) {
            mail_buf_release(&b);
            return oom(err);
        }
        mail_strlcpy(s->nonce, b.data, sizeof s->nonce);
        mail_buf_release(&b);
    }
    if (!nonce_ok(s->nonce, strlen(s->nonce)))
        return mail_error_set(err, MAIL_ERR_INTERNAL,
                              "%s: invalid client nonce", name);

    mail_buf_reset(&s->gs2);
    mail_buf_reset(&s->first_bare);
    if (mail_buf_addstr(&s->gs2, s->authzid ? "n,a=" : "n,") < 0 ||
        (s->authzid && saslname(&s->gs2, s->authzid) < 0) ||
        mail_buf_addch(&s->gs2, ',') < 0 ||
        mail_buf_addstr(&s->first_bare, "n=") < 0 ||
        saslname(&s->first_bare, s->user) < 0 ||
        mail_buf_printf(&s->first_bare, ",r=%s", s->nonce) < 0 ||
        mail_buf_add(out, s->gs2.data, s->gs2.len) < 0 ||
        mail_buf_add(out, s->first_bare.data, s->first_bare.len) < 0)
        return oom(err);
    return 0;
}

/* One "x=value" attribute of a SCRAM server message. */
struct scram_attr {
    const char *v;
    size_t n;
    bool seen;
};

/*
 * Split a server message into its attributes, indexed by letter.  The
 * grammar fixes the order, but reading by name is as safe (values never
 * contain ',') and kinder to servers that add extensions.
 */
static int scram_parse(const char *name, const char *what,
                       const unsigned char *in, size_t inlen,
                       struct scram_attr attrs[26], struct mail_error *err)
{
    const char *p = (const char *)in, *end = p + inlen;

    memset(attrs, 0, 26 * sizeof *attrs);
    if (inlen == 0)
        return mail_error_set(err, MAIL_ERR_PROTOCOL, "%s: empty %s", name,
                              what);
    if (memchr(in, '\0', inlen))
        return mail_error_set(err, MAIL_ERR_PROTOCOL, "%s: NUL byte in %s",
                              name, what);
    for (;;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *q = comma ? comma : end;
        int k;

        if (q - p < 2 || p[1] != '=' || !((*p >= 'a' && *p <= 'z') ||
                                          (*p >= 'A' && *p <= 'Z')))
            return mail_error_set(err, MAIL_ERR_PROTOCOL,
                                  "%s: malformed %s", name, what);
        k = (*p | 0x20) - 'a';
        /* Extensions may use capitals; only lower-case ones are ours. */
        if (*p >= 'a' && *p <= 'z') {
            if (attrs[k].seen)
                return mail_error_set(err, MAIL_ERR_PROTOCOL,
                                      "%s: %s repeats %c=", name, what, *p);
            attrs[k].seen = true;
            attrs[k].v = p + 2;
            attrs[k].n = (size_t)(q - p - 2);
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    return 0;
}

/* A server-reported e= error: authentication refused. */
static int scram_server_error(const char *name, const struct scram_attr *e,
                              struct mail_error *err)
{
    char q[QUOTE_MAX + 4];

    quote_text(q, sizeof q, e->v, e->n);
    return mail_error_set(err, MAIL_ERR_AUTH, "%s: server refused: %s", name,
                          q);
}

/* HMAC(key, data) into out (mdlen bytes); -1 on failure. */
static int hmac(const EVP_MD *md, const unsigned char *key, size_t keylen,
                const void *data, size_t len, unsigned char *out)
{
    unsigned int n = 0;

    return HMAC(md, key, (int)keylen, data, len, out, &n) ? 0 : -1;
}

/* Handle server-first; produce client-final. */
static int scram_final(struct mail_sasl *s, const unsigned char *in,
                       size_t inlen, struct mail_buf *out,
                       struct mail_error *err)
{
    const char *name = mail_sasl_mech_name(s->mech);
    const EVP_MD *md = scram_md(s);
    size_t mdlen = (size_t)EVP_MD_size(md), noncelen = strlen(s->nonce);
    struct scram_attr a[26];
    struct mail_buf salt = MAIL_BUF_INIT, authmsg = MAIL_BUF_INIT;
    struct mail_buf final = MAIL_BUF_INIT;
    unsigned char salted[EVP_MAX_MD_SIZE], ckey[EVP_MAX_MD_SIZE];
    unsigned char skey[EVP_MAX_MD_SIZE], stored[EVP_MAX_MD_SIZE];
    unsigned char csig[EVP_MAX_MD_SIZE];
    struct scram_attr *r = &a['r' - 'a'], *sa = &a['s' - 'a'];
    struct scram_attr *it = &a['i' - 'a'];
    unsigned long iter = 0;
    int rc = -1;

    if (scram_parse(name, "server-first message", in, inlen, a, err) < 0)
        return -1;
    if (a['e' - 'a'].seen)
        return scram_server_error(name, &a['e' - 'a'], err);
    if (a['m' - 'a'].seen)
        return mail_error_set(err, MAIL_ERR_PROTOCOL,
                              "%s: server requires an unsupported extension "
                              "(m=)", name);
    if (!r->seen || !sa->seen || !it->seen)
        return mail_error_set(err, MAIL_ERR_PROTOCOL,
                              "%s: server-first message lacks %s", name,
                              !r->seen ? "the nonce (r=)"
                              : !sa->seen ? "the salt (s=)"
                                          : "the iteration count (i=)");
    /* The server nonce must extend ours, or this is a replay. */
    if (r->n <= noncelen || memcmp(r->v, s->nonce, noncelen) != 0 ||
        !nonce_ok(r->v, r->n))
        return mail_error_set(err, MAIL_ERR_AUTH,
                              "%s: server nonce does not extend ours", name);
    if (it->n == 0 || it->n > 9)
        goto bad_iter;
    for (size_t i = 0; i < it->n; i++) {
        if (it->v[i] < '0' || it->v[i] > '9')
            goto bad_iter;
        iter = iter * 10 + (unsigned long)(it->v[i] - '0');
    }
    if (iter < 1 || iter > SCRAM_ITER_MAX)
        goto bad_iter;
    if (mail_base64_decode(&salt, sa->v, sa->n) < 0 || salt.len == 0) {
        mail_buf_release(&salt);
        return mail_error_set(err, MAIL_ERR_PROTOCOL,
                              "%s: bad salt (s=) from server", name);
    }

    /* client-final-without-proof: "c=" base64(gs2-header) ",r=" nonce */
    if (mail_buf_addstr(&final, "c=") < 0 ||
        mail_base64_encode(&final, s->gs2.data, s->gs2.len) < 0 ||
        mail_buf_addstr(&final, ",r=") < 0 ||
        mail_buf_add(&final, r->v, r->n) < 0 ||
        /* AuthMessage = client-first-bare "," server-first "," c-f-w-p */
        mail_buf_add(&authmsg, s->first_bare.data, s->first_bare.len) < 0 ||
        mail_buf_addch(&authmsg, ',') < 0 ||
        mail_buf_add(&authmsg, in, inlen) < 0 ||
        mail_buf_addch(&authmsg, ',') < 0 ||
        mail_buf_add(&authmsg, final.data, final.len) < 0) {
        oom(err);
        goto out;
    }

    /* SaltedPassword = Hi(password, salt, i) = PBKDF2-HMAC. */
    if (!PKCS5_PBKDF2_HMAC(s->secret, (int)strlen(s->secret),
                           (unsigned char *)salt.data, (int)salt.len,
                           (int)iter, md, (int)mdlen, salted) ||
        hmac(md, salted, mdlen, "Client Key", 10, ckey) < 0 ||
        !EVP_Digest(ckey, mdlen, stored, NULL, md, NULL) ||
        hmac(md, stored, mdlen, authmsg.data, authmsg.len, csig) < 0 ||
        hmac(md, salted, mdlen, "Server Key", 10, skey) < 0 ||
        hmac(md, skey, mdlen, authmsg.data, authmsg.len, s->server_sig) < 0) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "%s: hash computation failed",
                       name);
        goto out;
    }
    s->sig_len = mdlen;
    /* ClientProof = ClientKey XOR ClientSignature */
    for (size_t i = 0; i < mdlen; i++)
        ckey[i] ^= csig[i];
    if (mail_buf_add(out, final.data, final.len) < 0 ||
        mail_buf_addstr(out, ",p=") < 0 ||
        mail_base64_encode(out, ckey, mdlen) < 0) {
        oom(err);
        goto out;
    }
    rc = 0;

out:
    OPENSSL_cleanse(salted, sizeof salted);
    OPENSSL_cleanse(ckey, sizeof ckey);
    OPENSSL_cleanse(skey, sizeof skey);
    OPENSSL_cleanse(stored, sizeof stored);
    OPENSSL_cleanse(csig, sizeof csig);
    mail_buf_release(&salt);
    mail_buf_release(&final);
    mail_buf_release_secret(&authmsg);
    return rc;

bad_iter:
    return mail_error_set(err, MAIL_ERR_PROTOCOL,
                          "%s: bad iteration count (i=) from server (must "
                          "be 1 to %d)", name, SCRAM_ITER_MAX);
}

/* Handle server-final: "v=" signature, or "e=" error. */
static int scram_verify(struct mail_sasl *s, const unsigned char *in,
                        size_t inlen, struct mail_error *err)
{
    const char *name = mail_sasl_mech_name(s->mech);
    struct scram_attr a[26], *v = &a['v' - 'a'];
    struct mail_buf sig = MAIL_BUF_INIT;
    bool ok;

    if (scram_parse(name, "server-final message", in, inlen, a, err) < 0)
        return -1;
    if (a['e' - 'a'].seen)
        return scram_server_error(name, &a['e' - 'a'], err);
    if (!v->seen)
        return mail_error_set(err, MAIL_ERR_PROTOCOL,
                              "%s: server-final message lacks the server "
                              "signature (v=)", name);
    if (mail_base64_decode(&sig, v->v, v->n) < 0) {
        mail_buf_release(&sig);
        return mail_error_set(err, MAIL_ERR_PROTOCOL,
                              "%s: bad server signature encoding", name);
    }
    /* Constant time, so the comparison leaks nothing about the value. */
    ok = s->sig_len && sig.len == s->sig_len &&
         CRYPTO_memcmp(sig.data, s->server_sig, s->sig_len) == 0;
    mail_buf_release(&sig);
    if (!ok)
        return mail_error_set(err, MAIL_ERR_AUTH,
                              "%s: server signature does not match (the "
                              "server does not know the password)", name);
    s->verified = true;
    return 0;
}

/* ---- the driver ---- */

/* Keep an OAuth2 error challenge (JSON) for mail_sasl_server_error. */
static int keep_server_error(struct mail_sasl *s, const unsigned char *in,
                             size_t inlen, struct mail_error *err)
{
    char q[QUOTE_MAX + 4];

    quote_text(q, sizeof q, in, inlen);
    free(s->server_error);
    s->server_error = strdup(q);
    return s->server_error ? 0 : oom(err);
}

static int sasl_step(struct mail_sasl *s, const unsigned char *in,
                     size_t inlen, struct mail_buf *out,
                     struct mail_error *err)
{
    const char *name = mail_sasl_mech_name(s->mech);
    /* RFC 4422 5: an empty first challenge asks for the initial response. */
    bool want_ir = s->step == 0 && (!in || inlen == 0);

    if (!in && inlen)
        return mail_error_set(err, MAIL_ERR_INTERNAL,
                              "%s: challenge length without data", name);
    if (inlen > SASL_CHALLENGE_MAX)
        return mail_error_set(err, MAIL_ERR_PROTOCOL,
                              "%s: server challenge too long (%zu bytes)",
                              name, inlen);
    if (!in && !mail_sasl_has_initial_response(s))
        return mail_error_set(err, MAIL_ERR_INTERNAL,
                              "%s has no initial response", name);

    switch (s->mech) {
    case MAIL_SASL_PLAIN:
        if (want_ir)
            return plain_response(s, out, err);
        break;
    case MAIL_SASL_LOGIN:
        /* Answer by position; the prompts ("Username:", "VXNlcm5hbWU6",
         * "User Name" ...) vary too much between servers to parse. */
        if (s->step == 0)
            return mail_buf_addstr(out, s->user) < 0 ? oom(err) : 0;
        if (s->step == 1)
            return mail_buf_addstr(out, s->secret) < 0 ? oom(err) : 0;
        break;
    case MAIL_SASL_CRAM_MD5:
        if (s->step == 0)
            return cram_response(s, in, inlen, out, err);
        break;
    case MAIL_SASL_SCRAM_SHA_1:
    case MAIL_SASL_SCRAM_SHA_256:
        if (want_ir)
            return scram_first(s, out, err);
        if (s->step == 1)
            return scram_final(s, in, inlen, out, err);
        if (s->step == 2)
            return scram_verify(s, in, inlen, err);
        break;
    case MAIL_SASL_XOAUTH2:
    case MAIL_SASL_OAUTHBEARER:
        if (want_ir)
            return oauth_response(s, out, err);
        if (s->step == 1) {
            if (keep_server_error(s, in, inlen, err) < 0)
                return -1;
            /* RFC 7628 3.2.3: answer an error with a lone ^A; Google's
             * XOAUTH2 wants an empty response. */
            if (s->mech == MAIL_SASL_OAUTHBEARER &&
                mail_buf_addch(out, '\001') < 0)
                return oom(err);
            return 0;
        }
        break;
    default:
        break;
    }
    return mail_error_set(err, MAIL_ERR_PROTOCOL,
                          "%s: unexpected challenge from server (step %d)",
                          name, s->step + 1);
}

int mail_sasl_step(struct mail_sasl *s, const unsigned char *in, size_t inlen,
                   struct mail_buf *out, struct mail_error *err)
{
    size_t start;

    if (!s || !out)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "SASL: no session");
    if (s->failed)
        return mail_error_set(err, MAIL_ERR_INTERNAL,
                              "%s: step after failure",
                              mail_sasl_mech_name(s->mech));
    /* PLAIN, LOGIN and XOAUTH2 put secrets in out: its growth must wipe
     * the blocks it leaves (the caller's buffer, whatever it set) */
    mail_buf_set_secret(out);
    start = out->len;
    if (sasl_step(s, in, inlen, out, err) < 0) {
        /* Leave `out` as it was, without secret leftovers. */
        if (out->data) {
            mail_wipe(out->data + start, out->len - start);
            out->len = start;
            out->data[start] = '\0';
        }
        s->failed = true;
        return -1;
    }
    s->step++;
    return 0;
}

int mail_sasl_finish(struct mail_sasl *s, const unsigned char *extra,
                     size_t extralen, struct mail_error *err)
{
    const char *name;

    if (!s)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "SASL: no session");
    name = mail_sasl_mech_name(s->mech);
    if (s->mech >= MAIL_SASL_XOAUTH2 && s->server_error)
        return mail_error_set(err, MAIL_ERR_AUTH,
                              "%s: server reported an error: %s", name,
                              s->server_error);
    if (!is_scram(s->mech))
        return 0;
    /* The server-final message may come with the success reply. */
    if (!s->verified && !s->failed && s->step == 2 && extra && extralen) {
        if (extralen > SASL_CHALLENGE_MAX)
            return mail_error_set(err, MAIL_ERR_PROTOCOL,
                                  "%s: server-final message too long", name);
        if (scram_verify(s, extra, extralen, err) < 0) {
            s->failed = true;
            return -1;
        }
    }
    if (!s->verified)
        return mail_error_set(err, MAIL_ERR_AUTH,
                              "%s: server signature not verified", name);
    return 0;
}
