/*
 * check.c - `mail check`: connect to every server of an account, show what
 * TLS gave us and what the server offers, and log in.  What a user runs
 * right after writing the config.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "cmd.h"
#include "mail/imap.h"
#include "mail/oauth2.h"
#include "mail/pop3.h"
#include "mail/smtp.h"
#include "mail/termsafe.h"

struct check_result {
    const struct mail_url *url;
    struct mail_server srv;     /* the session points to it */
    struct cmd_trace tr;        /* so does the trace */
    struct mail_session *s;     /* kept open until printed */
    bool connected, tls;
    struct mail_tls_info ti;
    bool auth_skipped;          /* SMTP server without AUTH */
    bool oauth2_retried;        /* the server refused the cached token */
    time_t token_expires;       /* OAuth 2.0: of the token used, or 0 */
    struct mail_error err;
};

static const char *tls_mode_name(enum mail_tls t)
{
    return t == MAIL_TLS_IMPLICIT ? "implicit"
         : t == MAIL_TLS_STARTTLS ? "starttls" : "none";
}

/* One cached secret per (host, user), so password-command runs once when
 * all servers share a login. */
struct secret_cache {
    char *host, *user;
    struct mail_buf secret;
    time_t expires;             /* OAuth 2.0 access token: its expiry */
    struct cmd_trace tr;        /* -v: the token endpoint's requests */
};

/* OAuth 2.0: a token from the library (cached, else refreshed; fresh when
 * force), with the HTTP requests in the -v trace. */
static int oauth2_secret(struct cmd_ctx *ctx, const struct mail_account *acct,
                         struct secret_cache *c, bool force,
                         struct mail_error *err)
{
    c->tr.proto = "http";
    mail_buf_release_secret(&c->secret);
    return mail_account_oauth2_token(acct, force,
                                     ctx->verbose ? cmd_trace_fn : NULL,
                                     &c->tr, &c->secret, &c->expires, err);
}

static int get_secret(struct cmd_ctx *ctx, const struct mail_account *acct,
                      const struct mail_server *srv, struct secret_cache *c,
                      struct mail_error *err)
{
    if (c->host && strcmp(c->host, srv->host) == 0 &&
        strcmp(c->user, srv->user) == 0)
        return 0;
    if (mail_account_uses_oauth2(acct)) {
        /* One token for every server of the account. */
        if (c->secret.len)
            return 0;
        if (oauth2_secret(ctx, acct, c, false, err) < 0)
            return -1;
        c->host = strdup("");
        c->user = strdup("");
        return !c->host || !c->user ? mail_error_set(err, MAIL_ERR_INTERNAL,
                                                     "out of memory") : 0;
    }
    free(c->host);
    free(c->user);
    c->host = c->user = NULL;
    mail_buf_release_secret(&c->secret);
    if (mail_account_password(acct, srv->host, srv->user, cmd_prompt_password,
                              NULL, &c->secret, err) < 0)
        return -1;
    c->host = strdup(srv->host);
    c->user = strdup(srv->user);
    if (!c->host || !c->user)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    return 0;
}

static int login(struct mail_session *s, const char *secret,
                 struct mail_error *err)
{
    switch (s->proto) {
    case MAIL_PROTO_SMTP:
        return mail_smtp_login(s, secret, err);
    case MAIL_PROTO_IMAP:
        return mail_imap_login(s, secret, err);
    default:
        return mail_pop3_login(s, secret, err);
    }
}

static void check_server(struct cmd_ctx *ctx, const struct mail_account *acct,
                         const struct mail_url *url, struct check_result *res,
                         struct secret_cache *cache)
{
    struct mail_session *s = NULL;

    struct mail_server *srv = &res->srv;

    mail_server_from_account(srv, acct, url);
    if (ctx->verbose) {
        res->tr.proto = mail_proto_name(url->proto);
        srv->trace = cmd_trace_fn;
        srv->trace_arg = &res->tr;
    }
    res->url = url;
    mail_error_clear(&res->err);
    switch (url->proto) {
    case MAIL_PROTO_SMTP:
        s = mail_smtp_open(srv, NULL, &res->err);
        break;
    case MAIL_PROTO_IMAP:
        s = mail_imap_open(srv, &res->err);
        break;
    case MAIL_PROTO_POP3:
        s = mail_pop3_open(srv, &res->err);
        break;
    }
    if (!s)
        return;
    res->s = s;
    res->connected = true;
    res->tls = mail_conn_tls_info(s->conn, &res->ti) == 0;
    if (url->proto == MAIL_PROTO_SMTP && !mail_session_has_cap(s, "AUTH")) {
        res->auth_skipped = true;
        return;
    }
    if (s->authenticated)   /* IMAP PREAUTH */
        return;
    if (get_secret(ctx, acct, srv, cache, &res->err) < 0)
        return;
    if (login(s, cache->secret.data, &res->err) == 0 ||
        res->err.kind != MAIL_ERR_AUTH || !mail_account_uses_oauth2(acct) ||
        mail_sasl_choose(s->mechs.data ? s->mechs.data : "",
                         MAIL_SASL_OAUTH2, true, false, NULL) ==
            MAIL_SASL_NONE) {
        res->token_expires = cache->expires;
        return;
    }
    /* The server refused the access token (revoked, or expired before its
     * time): a fresh one, and once more. */
    res->oauth2_retried = true;
    mail_error_clear(&res->err);
    if (oauth2_secret(ctx, acct, cache, true, &res->err) < 0)
        return;
    if (login(s, cache->secret.data, &res->err) < 0) {
        if (res->err.kind == MAIL_ERR_AUTH)
            mail_error_prefix(&res->err, "a fresh OAuth 2.0 token was "
                              "refused too (run mail auth -a %s again)",
                              acct->name);
        return;
    }
    res->token_expires = cache->expires;
}

/* "2026-12-05 10:45 UTC (in 59 min)" */
static void print_expiry(FILE *f, time_t t)
{
    struct tm tm;
    char when[64];
    long left = (long)(t - time(NULL));

    if (!gmtime_r(&t, &tm) ||
        !strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm))
        return;
    fprintf(f, "%s (in %ld min)", when, left > 0 ? left / 60 : 0);
}

static void close_session(struct check_result *res)
{
    if (!res->s)
        return;
    switch (res->url->proto) {
    case MAIL_PROTO_SMTP:
        mail_smtp_quit(res->s);
        break;
    case MAIL_PROTO_IMAP:
        mail_imap_logout(res->s);
        break;
    case MAIL_PROTO_POP3:
        mail_pop3_quit(res->s);
        break;
    }
    res->s = NULL;
}

/* Capabilities as one line: "PIPELINING SIZE 10240000 AUTH PLAIN ...". */
static void print_caps(FILE *f, const struct mail_session *s)
{
    const char *p = s->caps.data;
    bool first = true;

    while (p && *p) {
        size_t n = strcspn(p, "\n");
        if (n) {
            if (!first)
                fputs(", ", f);
            out_safe(f, p, n, MAIL_SAFE_ONELINE);
            first = false;
        }
        p += n;
        if (*p)
            p++;
    }
    if (first)
        fputs("(none listed)", f);
}

static void print_human(const struct mail_account *acct,
                        const struct check_result *r)
{
    const struct mail_url *u = r->url;

    enum mail_tls t = acct->tls_set ? acct->tls : u->tls;

    printf("%s %s:%u (%s)\n", mail_proto_name(u->proto), u->host, u->port,
           t == MAIL_TLS_IMPLICIT ? "implicit TLS"
           : t == MAIL_TLS_STARTTLS ? "STARTTLS" : "no TLS");
    if (r->tls) {
        printf("  tls:          %s, %s\n", r->ti.version, r->ti.cipher);
        fputs("  certificate:  ", stdout);
        out_safe_str(stdout, r->ti.subject);
        fputs("\n  issuer:       ", stdout);
        out_safe_str(stdout, r->ti.issuer);
        printf("\n  valid:        %s to %s\n", r->ti.not_before,
               r->ti.not_after);
        printf("  sha256:       %s\n", r->ti.sha256);
        printf("  verified by:  %s\n", r->ti.verified);
    } else if (r->connected) {
        printf("  tls:          none (tls = none-i-know)\n");
    }
    if (r->connected) {
        fputs("  greeting:     ", stdout);
        out_safe_str(stdout, r->s->greeting.data ? r->s->greeting.data : "");
        fputs("\n  capabilities: ", stdout);
        print_caps(stdout, r->s);
        fputc('\n', stdout);
    }
    if (r->err.kind == MAIL_OK) {
        if (r->auth_skipped)
            printf("  login:        not offered by the server (no AUTH); "
                   "mail is sent without logging in\n");
        else {
            fputs("  login:        ok as ", stdout);
            out_safe_str(stdout, r->s->srv->user);
            printf(" with %s\n", r->s->login_method ? r->s->login_method
                                                    : "?");
            if (r->token_expires) {
                fputs("  oauth2:       access token valid until ", stdout);
                print_expiry(stdout, r->token_expires);
                if (r->oauth2_retried)
                    fputs("; the server refused the cached one, a fresh "
                          "one was used", stdout);
                fputc('\n', stdout);
            }
        }
    } else {
        fputs("  error:        ", stdout);
        out_safe_str(stdout, r->err.msg);
        fputc('\n', stdout);
    }
}

static void json_caps(FILE *f, const struct mail_buf *b, char sep)
{
    const char *p = b->data;
    bool first = true;

    fputc('[', f);
    while (p && *p) {
        size_t n = strcspn(p, sep == ' ' ? " " : "\n");
        if (n) {
            fputs(first ? "" : ",", f);
            json_strn(f, p, n);
            first = false;
        }
        p += n;
        if (*p)
            p++;
    }
    fputc(']', f);
}

static void print_json(const struct mail_account *acct,
                       const struct check_result *r, bool first)
{
    const struct mail_url *u = r->url;

    fputs(first ? "\n  {" : ",\n  {", stdout);
    fputs("\"account\":", stdout);
    json_str(stdout, acct->name);
    printf(",\"protocol\":\"%s\",\"host\":", mail_proto_name(u->proto));
    json_str(stdout, u->host);
    printf(",\"port\":%u,\"tls_mode\":\"%s\",\"ok\":%s", u->port,
           tls_mode_name(acct->tls_set ? acct->tls : u->tls),
           r->err.kind == MAIL_OK ? "true" : "false");
    fputs(",\"tls\":", stdout);
    if (r->tls) {
        printf("{\"version\":");
        json_str(stdout, r->ti.version);
        fputs(",\"cipher\":", stdout);
        json_str(stdout, r->ti.cipher);
        fputs(",\"subject\":", stdout);
        json_str(stdout, r->ti.subject);
        fputs(",\"issuer\":", stdout);
        json_str(stdout, r->ti.issuer);
        fputs(",\"not_before\":", stdout);
        json_str(stdout, r->ti.not_before);
        fputs(",\"not_after\":", stdout);
        json_str(stdout, r->ti.not_after);
        fputs(",\"sha256\":", stdout);
        json_str(stdout, r->ti.sha256);
        fputs(",\"verified_by\":", stdout);
        json_str(stdout, r->ti.verified);
        fputc('}', stdout);
    } else {
        fputs("null", stdout);
    }
    fputs(",\"greeting\":", stdout);
    json_str(stdout, r->connected ? (r->s->greeting.data ? r->s->greeting.data
                                                         : "") : NULL);
    fputs(",\"capabilities\":", stdout);
    if (r->connected)
        json_caps(stdout, &r->s->caps, '\n');
    else
        fputs("null", stdout);
    fputs(",\"auth_mechanisms\":", stdout);
    if (r->connected)
        json_caps(stdout, &r->s->mechs, ' ');
    else
        fputs("null", stdout);
    fputs(",\"login\":", stdout);
    if (r->err.kind == MAIL_OK && !r->auth_skipped) {
        fputs("{\"user\":", stdout);
        json_str(stdout, r->s->srv->user);
        fputs(",\"method\":", stdout);
        json_str(stdout, r->s->login_method);
        if (r->token_expires)
            printf(",\"token_expires\":%lld", (long long)r->token_expires);
        fputc('}', stdout);
    } else {
        fputs("null", stdout);
    }
    fputs(",\"error\":", stdout);
    if (r->err.kind != MAIL_OK) {
        printf("{\"kind\":\"%s\",\"exit_code\":%d,\"message\":",
               mail_error_kind_name(r->err.kind),
               mail_error_exit_code(r->err.kind));
        json_str(stdout, r->err.msg);
        fputc('}', stdout);
    } else {
        fputs("null", stdout);
    }
    fputc('}', stdout);
}

int cmd_check(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        CMD_COMMON_LONG,
        { "json", no_argument, NULL, OPT_JSON },
        { NULL, 0, NULL, 0 },
    };
    struct mail_account *acct;
    const struct mail_url *urls[3];
    struct secret_cache cache = { NULL, NULL, MAIL_BUF_INIT, 0, { NULL } };
    size_t n = 0;
    bool json = false;
    int opt, rc, exit_code = 0;

    while ((opt = getopt_long(argc, argv, CMD_COMMON_SHORT, longopts,
                              NULL)) != -1) {
        if (opt == OPT_JSON) {
            json = true;
            continue;
        }
        if (opt == '?')
            return cmd_usage_error("check", "unknown or incomplete option "
                                   "'%s'", argv[optind - 1]);
        rc = cmd_common_option(ctx, "check", opt, optarg);
        if (rc < 0)
            return 0;
        if (rc > 1)
            return rc;
        if (rc == 1)
            return cmd_usage_error("check", "unexpected option");
    }
    if (optind < argc)
        return cmd_usage_error("check", "unexpected argument '%s'",
                               argv[optind]);
    if ((rc = cmd_load_account(ctx, &acct)) != 0)
        return rc;
    if (acct->has_smtp)
        urls[n++] = &acct->smtp;
    if (acct->has_imap)
        urls[n++] = &acct->imap;
    if (acct->has_pop3)
        urls[n++] = &acct->pop3;
    if (n == 0)
        return cmd_failf(EX_CONFIG, "account '%s' has no server to check "
                         "(set imap, pop3 or smtp in %s)", acct->name,
                         acct->file ? acct->file : "the config");
    if (json)
        fputc('[', stdout);
    for (size_t i = 0; i < n; i++) {
        struct check_result res = { 0 };

        check_server(ctx, acct, urls[i], &res, &cache);
        if (json)
            print_json(acct, &res, i == 0);
        else if (!ctx->quiet)
            print_human(acct, &res);
        fflush(stdout);
        close_session(&res);
        if (res.err.kind != MAIL_OK) {
            if (!json)
                cmd_fail(&res.err);
            if (!exit_code)
                exit_code = mail_error_exit_code(res.err.kind);
        }
    }
    if (json)
        fputs("\n]\n", stdout);
    free(cache.host);
    free(cache.user);
    mail_buf_release_secret(&cache.secret);
    return exit_code;
}
