/* test_oauth2.c - the OAuth 2.0 token file, the access token cache, the
 * refresh with rotation and the token endpoint's errors (lib/config/
 * oauth2.c), against a one-shot HTTP server on 127.0.0.1 in a child. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mail/oauth2.h"
#include "test.h"

static char dir[64];

static time_t fixed_now(void)
{
    return 1000000;
}

static void tokens_set(struct mail_oauth2_tokens *t, const char *r,
                       const char *a, time_t exp)
{
    mail_oauth2_tokens_init(t);
    if (r)
        mail_buf_addstr(&t->refresh, r);
    if (a)
        mail_buf_addstr(&t->access, a);
    t->expires_at = exp;
}

static void test_file_roundtrip(void)
{
    struct mail_oauth2_tokens t, u;
    struct mail_error err;
    char path[128];
    struct stat st;

    snprintf(path, sizeof path, "%s/sub/acct", dir);
    tokens_set(&t, "rt-\"quoted\"\\", "at-1", 12345);
    mail_error_clear(&err);
    CHECK(mail_oauth2_tokens_write(path, &t, &err) == 0);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    mail_oauth2_tokens_init(&u);
    CHECK(mail_oauth2_tokens_read(path, &u, &err) == 1);
    CHECK_STR(u.refresh.data, "rt-\"quoted\"\\");
    CHECK_STR(u.access.data, "at-1");
    CHECK(u.expires_at == 12345);
    /* no temporary file left beside it */
    snprintf(path, sizeof path, "%s/sub/acct.tmp.%ld", dir, (long)getpid());
    CHECK(access(path, F_OK) < 0);
    mail_oauth2_tokens_release(&t);
    mail_oauth2_tokens_release(&u);
}

static void test_file_refused(void)
{
    struct mail_oauth2_tokens t;
    struct mail_error err;
    char path[128], link[128];

    snprintf(path, sizeof path, "%s/sub/acct", dir);
    mail_oauth2_tokens_init(&t);
    CHECK(chmod(path, 0644) == 0);
    mail_error_clear(&err);
    CHECK(mail_oauth2_tokens_read(path, &t, &err) == -1);
    CHECK(err.kind == MAIL_ERR_CONFIG);
    CHECK(strstr(err.msg, "chmod 600") != NULL);
    CHECK(strstr(err.msg, "0644") != NULL);
    CHECK(strstr(err.msg, "rt-") == NULL);
    CHECK(chmod(path, 0600) == 0);
    /* a symbolic link is not followed */
    snprintf(link, sizeof link, "%s/link", dir);
    CHECK(symlink(path, link) == 0);
    CHECK(mail_oauth2_tokens_read(link, &t, &err) == -1);
    /* no file: 0, not an error */
    snprintf(link, sizeof link, "%s/none", dir);
    CHECK(mail_oauth2_tokens_read(link, &t, &err) == 0);
    /* garbage: an error that does not quote it */
    snprintf(link, sizeof link, "%s/garbage", dir);
    {
        FILE *f = fopen(link, "w");

        fputs("{\"refresh_token\": \"rt-secret\" oops", f);
        fclose(f);
        chmod(link, 0600);
    }
    CHECK(mail_oauth2_tokens_read(link, &t, &err) == -1);
    CHECK(strstr(err.msg, "rt-secret") == NULL);
    mail_oauth2_tokens_release(&t);
}

/* A server for one request: answers with reply, writes the request it got
 * to DIR/request.  Returns its pid; *port is where it listens. */
static pid_t serve_once(const char *reply, unsigned *port)
{
    struct sockaddr_in sa = { 0 };
    socklen_t len = sizeof sa;
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    pid_t pid;

    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, 1) < 0 ||
        getsockname(ls, (struct sockaddr *)&sa, &len) < 0)
        return -1;
    *port = ntohs(sa.sin_port);
    pid = fork();
    if (pid == 0) {
        char buf[8192], path[128];
        size_t got = 0;
        int c = accept(ls, NULL, NULL);
        FILE *f;

        alarm(10);
        for (;;) {
            ssize_t r = read(c, buf + got, sizeof buf - 1 - got);
            char *body;

            if (r <= 0)
                break;
            got += (size_t)r;
            buf[got] = '\0';
            body = strstr(buf, "\r\n\r\n");
            if (body) {
                char *cl = strcasestr(buf, "Content-Length:");
                size_t want = cl ? (size_t)atoi(cl + 15) : 0;

                if (strlen(body + 4) >= want)
                    break;
            }
        }
        snprintf(path, sizeof path, "%s/request", dir);
        f = fopen(path, "w");
        if (f) {
            fwrite(buf, 1, got, f);
            fclose(f);
        }
        if (write(c, reply, strlen(reply)) < 0)
            _exit(1);
        close(c);
        _exit(0);
    }
    close(ls);
    return pid;
}

static char *http_reply(int status, const char *json)
{
    static char r[2048];

    snprintf(r, sizeof r, "HTTP/1.1 %d X\r\nContent-Type: application/json"
             "\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
             status, strlen(json), json);
    return r;
}

static void setup(struct mail_oauth2 *o, const char *acct, unsigned port)
{
    char url[128];

    memset(o, 0, sizeof *o);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/token", port);
    o->account = strdup(acct);
    o->client_id = strdup("cid");
    o->token_url = strdup(url);
    o->dir = strdup(dir);
    o->file = malloc(strlen(dir) + strlen(acct) + 2);
    snprintf(o->file, strlen(dir) + strlen(acct) + 2, "%s/%s", dir, acct);
    o->timeout = 5;
    o->now = fixed_now;
}

static char *slurp(const char *name)
{
    static char buf[8192];
    char path[128];
    FILE *f;
    size_t n;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "r");
    if (!f)
        return NULL;
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_cache_and_refresh(void)
{
    struct mail_oauth2 o;
    struct mail_oauth2_tokens t;
    struct mail_buf out = MAIL_BUF_INIT;
    struct mail_error err;
    time_t exp;
    unsigned port = 1;   /* nothing listens: the cache must be used */
    pid_t pid;
    int status;
    char *req;

    setup(&o, "cached", port);
    tokens_set(&t, "rt-old", "at-cached", fixed_now() + 600);
    mail_error_clear(&err);
    CHECK(mail_oauth2_tokens_write(o.file, &t, &err) == 0);
    mail_oauth2_tokens_release(&t);
    CHECK(mail_oauth2_access_token(&o, false, &out, &exp, &err) == 0);
    CHECK_STR(out.data, "at-cached");
    CHECK(exp == fixed_now() + 600);
    mail_buf_release_secret(&out);
    mail_oauth2_release(&o);

    /* expiring within the margin: refreshed, the rotated token kept */
    pid = serve_once(http_reply(200, "{\"access_token\":\"at-new\","
                                "\"expires_in\":3600,\"refresh_token\":"
                                "\"rt-new\",\"token_type\":\"Bearer\"}"),
                     &port);
    setup(&o, "cached", port);
    tokens_set(&t, "rt-old", "at-cached", fixed_now() + 30);
    CHECK(mail_oauth2_tokens_write(o.file, &t, &err) == 0);
    mail_oauth2_tokens_release(&t);
    CHECK(mail_oauth2_access_token(&o, false, &out, &exp, &err) == 0);
    CHECK_STR(out.data, "at-new");
    CHECK(exp == fixed_now() + 3600);
    waitpid(pid, &status, 0);
    req = slurp("request");
    CHECK(req && strstr(req, "grant_type=refresh_token") != NULL);
    CHECK(req && strstr(req, "refresh_token=rt-old") != NULL);
    CHECK(req && strstr(req, "client_id=cid") != NULL);
    mail_oauth2_tokens_init(&t);
    CHECK(mail_oauth2_tokens_read(o.file, &t, &err) == 1);
    CHECK_STR(t.refresh.data, "rt-new");
    CHECK_STR(t.access.data, "at-new");
    mail_oauth2_tokens_release(&t);
    mail_buf_release_secret(&out);
    mail_oauth2_release(&o);

    /* force: refreshed even though the cache is fresh; no rotation: the
     * old refresh token stays */
    pid = serve_once(http_reply(200, "{\"access_token\":\"at-forced\","
                                "\"expires_in\":\"60\"}"), &port);
    setup(&o, "cached", port);
    CHECK(mail_oauth2_access_token(&o, true, &out, &exp, &err) == 0);
    CHECK_STR(out.data, "at-forced");
    CHECK(exp == fixed_now() + 60);
    waitpid(pid, &status, 0);
    mail_oauth2_tokens_init(&t);
    CHECK(mail_oauth2_tokens_read(o.file, &t, &err) == 1);
    CHECK_STR(t.refresh.data, "rt-new");
    mail_oauth2_tokens_release(&t);
    mail_buf_release_secret(&out);
    mail_oauth2_release(&o);
}

static void check_error(int status, const char *json,
                        enum mail_error_kind kind, const char *words)
{
    struct mail_oauth2 o;
    struct mail_oauth2_tokens t;
    struct mail_buf out = MAIL_BUF_INIT;
    struct mail_error err;
    unsigned port;
    pid_t pid = serve_once(http_reply(status, json), &port);
    int st;

    setup(&o, "errors", port);
    tokens_set(&t, "rt-secret-value", NULL, 0);
    mail_error_clear(&err);
    mail_oauth2_tokens_write(o.file, &t, &err);
    mail_oauth2_tokens_release(&t);
    CHECK(mail_oauth2_access_token(&o, false, &out, NULL, &err) == -1);
    CHECK(err.kind == kind);
    CHECK(strstr(err.msg, words) != NULL);
    if (!strstr(err.msg, words))
        printf("# %s\n", err.msg);
    CHECK(strstr(err.msg, "rt-secret") == NULL);
    CHECK(out.len == 0);
    waitpid(pid, &st, 0);
    mail_oauth2_release(&o);
}

static void test_errors(void)
{
    check_error(400, "{\"error\":\"invalid_grant\",\"error_description\":"
                "\"Token has been expired or revoked.\"}", MAIL_ERR_AUTH,
                "run mail auth again");
    check_error(401, "{\"error\":\"invalid_client\"}", MAIL_ERR_CONFIG,
                "oauth2-client-id");
    check_error(400, "{\"error\":\"invalid_scope\"}", MAIL_ERR_CONFIG,
                "invalid_scope");
    check_error(503, "<html>busy</html>", MAIL_ERR_TEMP, "HTTP 503");
    check_error(200, "{\"token_type\":\"Bearer\"}", MAIL_ERR_PROTOCOL,
                "no access_token");
    check_error(400, "{\"error\":\"\\u001b[31mred\"}", MAIL_ERR_AUTH, "^[");
}

static void test_no_token_yet(void)
{
    struct mail_oauth2 o;
    struct mail_buf out = MAIL_BUF_INIT;
    struct mail_error err;

    setup(&o, "never", 1);
    mail_error_clear(&err);
    CHECK(mail_oauth2_access_token(&o, false, &out, NULL, &err) == -1);
    CHECK(err.kind == MAIL_ERR_AUTH);
    CHECK(strstr(err.msg, "run mail auth -a never") != NULL);
    mail_oauth2_release(&o);
    /* nothing listens: a temporary failure */
    {
        struct mail_oauth2_tokens t;

        setup(&o, "down", 1);
        tokens_set(&t, "rt-x", NULL, 0);
        mail_oauth2_tokens_write(o.file, &t, &err);
        mail_oauth2_tokens_release(&t);
        CHECK(mail_oauth2_access_token(&o, false, &out, NULL, &err) == -1);
        CHECK(err.kind == MAIL_ERR_TEMP);
        mail_oauth2_release(&o);
    }
}

static void test_presets(void)
{
    const struct mail_oauth2_provider *g = mail_oauth2_preset("google");
    const struct mail_oauth2_provider *m = mail_oauth2_preset("microsoft");

    CHECK(g && strcmp(g->scope, "https://mail.google.com/") == 0);
    CHECK(g && strstr(g->token_url, "https://") == g->token_url);
    CHECK(m && strstr(m->scope, "offline_access") != NULL);
    CHECK(mail_oauth2_preset("yahoo") == NULL);
}

static int parse(struct mail_config *cfg, const char *text,
                 struct mail_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    mail_error_clear(err);
    return mail_config_parse(cfg, text, strlen(text), "cfg", true, NULL, err);
}

static void test_config_keys(void)
{
    struct mail_config cfg;
    struct mail_error err;
    struct mail_server srv;
    struct mail_oauth2 o;
    struct mail_account *a;

    CHECK(parse(&cfg, "[account \"g\"]\nimap = imaps://imap.gmail.com\n"
                "auth = oauth2\noauth2-provider = google\n"
                "oauth2-client-id = cid\noauth2-client-secret-command = "
                "printf 'sec\\n'\noauth2-scope = s1 s2\n", &err) == 0);
    a = &cfg.accounts[0];
    CHECK(a->auth == MAIL_SASL_OAUTH2);
    CHECK(mail_account_uses_oauth2(a));
    mail_server_from_account(&srv, a, &a->imap);
    CHECK(srv.auth == MAIL_SASL_OAUTH2);
    CHECK(mail_oauth2_setup(&o, a, "/data", &err) == 0);
    CHECK_STR(o.token_url, "https://oauth2.googleapis.com/token");
    CHECK_STR(o.scope, "s1 s2");                 /* overrides the preset */
    CHECK_STR(o.client_secret, "sec");           /* from the command */
    CHECK_STR(o.file, "/data/mail/oauth2/g");
    mail_oauth2_release(&o);
    /* no data home: nowhere to keep tokens */
    CHECK(mail_oauth2_setup(&o, a, NULL, &err) < 0 &&
          err.kind == MAIL_ERR_CONFIG);
    mail_config_release(&cfg);

    /* a provider alone is enough; auth follows */
    CHECK(parse(&cfg, "[account \"m\"]\nimap = imaps://h\n"
                "oauth2-provider = microsoft\noauth2-client-id = x\n",
                &err) == 0);
    a = &cfg.accounts[0];
    mail_server_from_account(&srv, a, &a->imap);
    CHECK(srv.auth == MAIL_SASL_OAUTH2);
    mail_config_release(&cfg);

    /* the way before mail auth: a token from password-command */
    CHECK(parse(&cfg, "[account \"p\"]\nimap = imaps://h\nauth = xoauth2\n"
                "password-command = get-token\n", &err) == 0);
    CHECK(!mail_account_uses_oauth2(&cfg.accounts[0]));
    mail_config_release(&cfg);

    CHECK(parse(&cfg, "[account \"x\"]\noauth2-provider = yahoo\n",
                &err) < 0);
    CHECK(strstr(err.msg, "cfg:2: unknown oauth2-provider 'yahoo'") != NULL);
    mail_config_release(&cfg);

    /* setup errors: no client id, a custom provider without a token URL,
     * one token command without the other */
    CHECK(parse(&cfg, "[account \"c\"]\nauth = oauth2\n", &err) == 0);
    CHECK(mail_oauth2_setup(&o, &cfg.accounts[0], "/d", &err) < 0);
    CHECK(strstr(err.msg, "no oauth2-client-id") != NULL);
    mail_config_release(&cfg);
    CHECK(parse(&cfg, "[account \"c\"]\noauth2-provider = custom\n"
                "oauth2-client-id = x\n", &err) == 0);
    CHECK(mail_oauth2_setup(&o, &cfg.accounts[0], "/d", &err) < 0);
    CHECK(strstr(err.msg, "oauth2-token-url") != NULL);
    mail_config_release(&cfg);
    CHECK(parse(&cfg, "[account \"c\"]\noauth2-provider = google\n"
                "oauth2-client-id = x\noauth2-token-command = cat f\n",
                &err) == 0);
    CHECK(mail_oauth2_setup(&o, &cfg.accounts[0], "/d", &err) < 0);
    CHECK(strstr(err.msg, "go together") != NULL);
    mail_config_release(&cfg);
}

static void test_choose(void)
{
    struct mail_error err;

    mail_error_clear(&err);
    CHECK(mail_sasl_choose("PLAIN XOAUTH2 OAUTHBEARER", MAIL_SASL_OAUTH2,
                           true, false, &err) == MAIL_SASL_OAUTHBEARER);
    CHECK(mail_sasl_choose("PLAIN XOAUTH2", MAIL_SASL_OAUTH2, true, false,
                           &err) == MAIL_SASL_XOAUTH2);
    CHECK(mail_sasl_choose("PLAIN LOGIN", MAIL_SASL_OAUTH2, true, false,
                           &err) == MAIL_SASL_NONE);
    CHECK(err.kind == MAIL_ERR_AUTH &&
          strstr(err.msg, "neither OAUTHBEARER nor XOAUTH2") != NULL);
    /* a token is never sent without TLS */
    CHECK(mail_sasl_choose("OAUTHBEARER", MAIL_SASL_OAUTH2, false, false,
                           &err) == MAIL_SASL_NONE);
}

/* Setting up the token work makes the process keep no core dump (the
 * tokens and the client secret are in memory from then on). */
static void test_no_core_dump(void)
{
    pid_t pid;
    int st = -1;

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        struct mail_config cfg;
        struct mail_error err;
        struct mail_oauth2 o;
        struct rlimit rl;

        unsetenv("MAIL_ALLOW_CORE_DUMPS");
        if (parse(&cfg, "[account \"g\"]\nimap = imaps://imap.example\n"
                  "auth = oauth2\noauth2-provider = google\n"
                  "oauth2-client-id = cid\n", &err) != 0 ||
            mail_oauth2_setup(&o, &cfg.accounts[0], "/d", &err) != 0)
            _exit(2);
        if (getrlimit(RLIMIT_CORE, &rl) != 0 || rl.rlim_cur != 0)
            _exit(3);
        _exit(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0 ? 0 : 4);
    }
    CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
          WEXITSTATUS(st) == 0);
}

int main(void)
{
    char cmd[128];

    signal(SIGPIPE, SIG_IGN);
    snprintf(dir, sizeof dir, "/tmp/test_oauth2.XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(test_file_roundtrip);
    RUN(test_file_refused);
    RUN(test_cache_and_refresh);
    RUN(test_errors);
    RUN(test_no_token_yet);
    RUN(test_presets);
    RUN(test_config_keys);
    RUN(test_choose);
    RUN(test_no_core_dump);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return test_done();
}
