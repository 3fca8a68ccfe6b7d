/* test_url.c - server URL parsing. */
#include <stdlib.h>
#include <string.h>

#include "mail/config.h"
#include "test.h"

static void check_ok(const char *s, enum mail_proto proto, enum mail_tls tls,
                     const char *host, unsigned port, const char *user)
{
    struct mail_url u;
    struct mail_error err;

    mail_error_clear(&err);
    test_current = s;
    CHECK(mail_url_parse(s, &u, &err) == 0);
    CHECK(err.kind == MAIL_OK);
    CHECK(u.proto == proto);
    CHECK(u.tls == tls);
    CHECK_STR(u.host, host);
    CHECK(u.port == port);
    CHECK_STR(u.user, user);
    mail_url_release(&u);
    CHECK(u.host == NULL && u.user == NULL);
}

static void check_bad(const char *s, const char *want)
{
    struct mail_url u;
    struct mail_error err;

    mail_error_clear(&err);
    test_current = s;
    CHECK(mail_url_parse(s, &u, &err) == -1);
    CHECK(err.kind == MAIL_ERR_CONFIG);
    CHECK_STR(err.msg, want);
    CHECK(u.host == NULL && u.user == NULL);
}

static void test_schemes(void)
{
    check_ok("smtp://mx.example.com", MAIL_PROTO_SMTP, MAIL_TLS_STARTTLS,
             "mx.example.com", 587, NULL);
    check_ok("smtps://mx.example.com", MAIL_PROTO_SMTP, MAIL_TLS_IMPLICIT,
             "mx.example.com", 465, NULL);
    check_ok("imap://imap.example.com", MAIL_PROTO_IMAP, MAIL_TLS_STARTTLS,
             "imap.example.com", 143, NULL);
    check_ok("imaps://imap.example.com", MAIL_PROTO_IMAP, MAIL_TLS_IMPLICIT,
             "imap.example.com", 993, NULL);
    check_ok("pop3://pop.example.com", MAIL_PROTO_POP3, MAIL_TLS_STARTTLS,
             "pop.example.com", 110, NULL);
    check_ok("pop3s://pop.example.com", MAIL_PROTO_POP3, MAIL_TLS_IMPLICIT,
             "pop.example.com", 995, NULL);
    /* The scheme is case-insensitive, the host is kept as written. */
    check_ok("IMAPS://Imap.Example.COM", MAIL_PROTO_IMAP, MAIL_TLS_IMPLICIT,
             "Imap.Example.COM", 993, NULL);
    check_ok("SmTp://h", MAIL_PROTO_SMTP, MAIL_TLS_STARTTLS, "h", 587, NULL);
}

static void test_ports_hosts_users(void)
{
    check_ok("smtp://smtp.example.com:2525", MAIL_PROTO_SMTP,
             MAIL_TLS_STARTTLS, "smtp.example.com", 2525, NULL);
    check_ok("imaps://127.0.0.1:1", MAIL_PROTO_IMAP, MAIL_TLS_IMPLICIT,
             "127.0.0.1", 1, NULL);
    check_ok("imaps://h:65535/", MAIL_PROTO_IMAP, MAIL_TLS_IMPLICIT, "h",
             65535, NULL);
    check_ok("imaps://[::1]:9993", MAIL_PROTO_IMAP, MAIL_TLS_IMPLICIT, "::1",
             9993, NULL);
    check_ok("pop3://[2001:db8::25]", MAIL_PROTO_POP3, MAIL_TLS_STARTTLS,
             "2001:db8::25", 110, NULL);
    check_ok("imap://[::ffff:192.0.2.1]/", MAIL_PROTO_IMAP,
             MAIL_TLS_STARTTLS, "::ffff:192.0.2.1", 143, NULL);
    check_ok("imaps://alice@imap.example.com", MAIL_PROTO_IMAP,
             MAIL_TLS_IMPLICIT, "imap.example.com", 993, "alice");
    check_ok("smtp://alice%40example.com@smtp.example.com:587",
             MAIL_PROTO_SMTP, MAIL_TLS_STARTTLS, "smtp.example.com", 587,
             "alice@example.com");
    /* An unencoded '@' in the user name: the last one ends it. */
    check_ok("imaps://alice@example.com@[::1]", MAIL_PROTO_IMAP,
             MAIL_TLS_IMPLICIT, "::1", 993, "alice@example.com");
    check_ok("imap://a%20b@h/", MAIL_PROTO_IMAP, MAIL_TLS_STARTTLS, "h",
             143, "a b");
}

#define BAD "bad server URL "

static void test_errors(void)
{
    check_bad("http://example.com",
              BAD "'http://example.com': unknown scheme 'http' (use "
              "smtp://, smtps://, imap://, imaps://, pop3:// or pop3s://)");
    check_bad("example.com",
              BAD "'example.com': no scheme (use smtp://, smtps://, "
              "imap://, imaps://, pop3:// or pop3s://)");
    check_bad("", "empty server URL (use smtp://, smtps://, imap://, "
              "imaps://, pop3:// or pop3s://)");
    check_bad("smtp://h:0", BAD "'smtp://h:0': bad port (1 to 65535)");
    check_bad("smtp://h:65536", BAD "'smtp://h:65536': bad port (1 to 65535)");
    check_bad("smtp://h:99999999999999999999",
              BAD "'smtp://h:99999999999999999999': bad port (1 to 65535)");
    check_bad("smtp://h:abc", BAD "'smtp://h:abc': bad port (1 to 65535)");
    check_bad("smtp://h:+25", BAD "'smtp://h:+25': bad port (1 to 65535)");
    check_bad("smtp://h:", BAD "'smtp://h:': empty port after ':'");
    check_bad("imaps://h/INBOX",
              BAD "'imaps://h/INBOX': a path, query or fragment is not "
              "allowed (scheme://[user@]host[:port])");
    check_bad("imaps://h//",
              BAD "'imaps://h//': a path, query or fragment is not "
              "allowed (scheme://[user@]host[:port])");
    check_bad("imaps://h?x=1",
              BAD "'imaps://h?x=1': a path, query or fragment is not "
              "allowed (scheme://[user@]host[:port])");
    check_bad("imaps://h#frag",
              BAD "'imaps://h#frag': a path, query or fragment is not "
              "allowed (scheme://[user@]host[:port])");
    check_bad("imaps://", BAD "'imaps://': no host name");
    check_bad("imaps:///", BAD "'imaps:///': no host name");
    check_bad("imaps://:993", BAD "'imaps://:993': no host name");
    check_bad("imaps://alice@", BAD "'imaps://alice@': no host name");
    check_bad("imaps://@h", BAD "'imaps://@h': empty user name before '@'");
    check_bad("imaps://h st", BAD "'imaps://h st': bad host name");
    check_bad("imaps://[::1", BAD "'imaps://[::1': missing ']' after IPv6 "
              "address");
    check_bad("imaps://[]", BAD "'imaps://[]': bad IPv6 address");
    check_bad("imaps://[nope]", BAD "'imaps://[nope]': bad IPv6 address");
    check_bad("imaps://[::1]x", BAD "'imaps://[::1]x': unexpected text "
              "after ']'");
    check_bad("imaps://a%zz@h", BAD "'imaps://a%zz@h': bad %-escape in "
              "the user name");
    check_bad("imaps://a%0a@h", BAD "'imaps://a%0a@h': bad %-escape in "
              "the user name");
    check_bad("imaps://a%4@h", BAD "'imaps://a%4@h': bad %-escape in "
              "the user name");
    /* The password is masked in the message. */
    check_bad("imaps://alice:s3cret@h",
              BAD "'imaps://alice:***@h': a password in the URL is not "
              "supported (use password-command)");
    check_bad("imaps://alice:@h",
              BAD "'imaps://alice:***@h': a password in the URL is not "
              "supported (use password-command)");
    /* Control characters never reach the message. */
    check_bad("imaps://h\x1b[31m", BAD "'imaps://h?[31m': bad host name");
}

static void test_names(void)
{
    test_current = "names";
    CHECK_STR(mail_proto_name(MAIL_PROTO_SMTP), "smtp");
    CHECK_STR(mail_proto_name(MAIL_PROTO_IMAP), "imap");
    CHECK_STR(mail_proto_name(MAIL_PROTO_POP3), "pop3");
    CHECK(mail_proto_default_port(MAIL_PROTO_SMTP, MAIL_TLS_STARTTLS) == 587);
    CHECK(mail_proto_default_port(MAIL_PROTO_SMTP, MAIL_TLS_IMPLICIT) == 465);
    CHECK(mail_proto_default_port(MAIL_PROTO_SMTP, MAIL_TLS_NONE) == 587);
    CHECK(mail_proto_default_port(MAIL_PROTO_IMAP, MAIL_TLS_STARTTLS) == 143);
    CHECK(mail_proto_default_port(MAIL_PROTO_IMAP, MAIL_TLS_IMPLICIT) == 993);
    CHECK(mail_proto_default_port(MAIL_PROTO_POP3, MAIL_TLS_STARTTLS) == 110);
    CHECK(mail_proto_default_port(MAIL_PROTO_POP3, MAIL_TLS_IMPLICIT) == 995);
}

static void test_long(void)
{
    char *s = malloc(5000);
    struct mail_url u;
    struct mail_error err;

    test_current = "long";
    memcpy(s, "imaps://", 8);
    memset(s + 8, 'a', 4990);
    s[4998] = '\0';
    CHECK(mail_url_parse(s, &u, &err) == -1);
    CHECK(strstr(err.msg, "too long") != NULL);
    CHECK(strlen(err.msg) < 300);
    free(s);
}

int main(void)
{
    RUN(test_schemes);
    RUN(test_ports_hosts_users);
    RUN(test_errors);
    RUN(test_names);
    RUN(test_long);
    return test_done();
}
