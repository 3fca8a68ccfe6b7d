/* test_config.c - the config file parser, loading and account selection. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/aliases.h"
#include "mail/config.h"
#include "test.h"
#include "test_paths.h"

#define F "test.conf"

static int parse(struct mail_config *cfg, const char *text, bool priv,
                 struct mail_error *err)
{
    mail_error_clear(err);
    return mail_config_parse(cfg, text, strlen(text), F, priv, test_env_paths(),
                             err);
}

/* The text must fail with exactly this message, and leave cfg empty. */
static void check_err(const char *text, bool priv, const char *want)
{
    struct mail_config cfg;
    struct mail_error err;

    CHECK(parse(&cfg, text, priv, &err) == -1);
    CHECK(err.kind == MAIL_ERR_CONFIG);
    CHECK_STR(err.msg, want);
    CHECK(cfg.naccounts == 0 && cfg.accounts == NULL && cfg.path == NULL);
    mail_config_release(&cfg);
}

static const char design_example[] =
    "[account \"work\"]\n"
    "    address = Alice Example <alice@example.com>\n"
    "    imap = imaps://imap.example.com          # or imap://host (STARTTLS)\n"
    "    pop3 = pop3s://pop.example.com           # alternative to imap\n"
    "    smtp = smtp://smtp.example.com:587       # STARTTLS; smtps:// = TLS\n"
    "    user = alice@example.com\n"
    "    password-command = pass show mail/work\n"
    "    store = ~/Mail/work                      # Maildir; mbox:PATH for mbox\n"
    "    default = true\n"
    "    # optional: auth = scram-sha-256, tls-ca-file, tls-fingerprint,\n"
    "    # tls = starttls|implicit|none-i-know, timeout = 30, fetch-delete,\n"
    "    # fetch-folders = INBOX Lists/*, signature-file, html-command\n";

static void test_design_example(void)
{
    struct mail_config cfg;
    struct mail_error err;
    struct mail_account *a;

    setenv("HOME", "/home/alice", 1);
    CHECK(parse(&cfg, design_example, false, &err) == 0);
    CHECK(err.kind == MAIL_OK);
    CHECK_STR(cfg.path, F);
    CHECK(cfg.naccounts == 1);
    a = &cfg.accounts[0];
    CHECK_STR(a->name, "work");
    CHECK_STR(a->file, F);
    CHECK(a->line == 1);
    CHECK_STR(a->address, "Alice Example <alice@example.com>");
    CHECK(a->has_imap && a->has_pop3 && a->has_smtp);
    CHECK(a->imap.proto == MAIL_PROTO_IMAP);
    CHECK(a->imap.tls == MAIL_TLS_IMPLICIT);
    CHECK_STR(a->imap.host, "imap.example.com");
    CHECK(a->imap.port == 993);
    CHECK(a->pop3.proto == MAIL_PROTO_POP3 && a->pop3.port == 995);
    CHECK_STR(a->pop3.host, "pop.example.com");
    CHECK(a->smtp.proto == MAIL_PROTO_SMTP);
    CHECK(a->smtp.tls == MAIL_TLS_STARTTLS && a->smtp.port == 587);
    CHECK_STR(a->smtp.host, "smtp.example.com");
    CHECK_STR(a->user, "alice@example.com");
    CHECK_STR(a->password_command, "pass show mail/work");
    CHECK(a->password == NULL);
    CHECK_STR(a->store, "/home/alice/Mail/work");
    CHECK(a->is_default);
    /* Defaults of what was not given. */
    CHECK(a->auth == MAIL_SASL_NONE);
    CHECK(!a->tls_set);
    CHECK(a->timeout == 30);
    CHECK(!a->fetch_delete && !a->queue);
    CHECK(a->fetch_max_size == 0);
    CHECK(a->tls_ca_file == NULL && a->tls_fingerprint == NULL);
    CHECK(mail_config_account(&cfg, NULL, &err) == a);
    CHECK(mail_config_account(&cfg, "work", &err) == a);
    CHECK_STR(mail_account_user(a, &a->imap), "alice@example.com");
    mail_config_release(&cfg);
    CHECK(cfg.naccounts == 0 && cfg.accounts == NULL && cfg.path == NULL);
}

static void test_all_keys(void)
{
    static const char text[] =
        "# every key\n"
        "; also a comment\n"
        "\n"
        "[account \"all\"]\n"
        "address = bob@example.org\n"
        "IMAP = imap://[::1]:1143\n"
        "Smtp = smtps://bob%2bx@mail.example.org\n"
        "password = \" s3cr#t \\\"x\\\" \"   # kept as quoted\n"
        "store = mbox:~/mail/inbox\n"
        "default = no\n"
        "auth = SCRAM-sha-256\n"
        "tls-ca-file = ~/ca.pem\n"
        "tls-fingerprint = sha256:AB:CD:EF:01:23:45:67:89:ab:cd:ef:01:23:45:"
        "67:89:AB:CD:EF:01:23:45:67:89:ab:cd:ef:01:23:45:67:89\n"
        "tls = none-i-know\n"
        "timeout = 3600\n"
        "fetch-delete = On\n"
        "fetch-folders = INBOX Lists/*\n"
        "fetch-max-size = 10M\n"
        "signature-file = ~/.signature\n"
        "html-command = w3m -T text/html -dump\n"
        "queue = 1\n"
        "sent-folder = Sent Items\n"
        "trash-folder = Trash\n"
        "drafts-folder = Drafts#1\n"
        "domain = example.org\n";
    struct mail_config cfg;
    struct mail_error err;
    struct mail_account *a;

    setenv("HOME", "/home/bob/", 1);
    CHECK(parse(&cfg, text, true, &err) == 0);
    CHECK_STR(err.msg, "");
    CHECK(cfg.naccounts == 1);
    a = &cfg.accounts[0];
    CHECK(a->line == 4);
    CHECK_STR(a->address, "bob@example.org");
    CHECK(a->has_imap && !a->has_pop3 && a->has_smtp);
    CHECK_STR(a->imap.host, "::1");
    CHECK(a->imap.port == 1143 && a->imap.tls == MAIL_TLS_STARTTLS);
    CHECK(a->smtp.tls == MAIL_TLS_IMPLICIT && a->smtp.port == 465);
    CHECK_STR(a->smtp.user, "bob+x");
    CHECK_STR(a->password, " s3cr#t \"x\" ");
    CHECK_STR(a->store, "mbox:/home/bob/mail/inbox");
    CHECK(!a->is_default);
    CHECK(a->auth == MAIL_SASL_SCRAM_SHA_256);
    CHECK_STR(a->tls_ca_file, "/home/bob/ca.pem");
    CHECK_STR(a->tls_fingerprint,
              "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
    CHECK(a->tls_set && a->tls == MAIL_TLS_NONE);
    CHECK(a->timeout == 3600);
    CHECK(a->fetch_delete);
    CHECK_STR(a->fetch_folders, "INBOX Lists/*");
    CHECK(a->fetch_max_size == 10LL << 20);
    CHECK_STR(a->signature_file, "/home/bob/.signature");
    CHECK_STR(a->html_command, "w3m -T text/html -dump");
    CHECK(a->queue);
    CHECK_STR(a->sent_folder, "Sent Items");
    CHECK_STR(a->trash_folder, "Trash");
    CHECK_STR(a->drafts_folder, "Drafts#1");
    CHECK_STR(a->domain, "example.org");
    /* User: URL user, then account user, then the address. */
    CHECK_STR(mail_account_user(a, &a->smtp), "bob+x");
    CHECK_STR(mail_account_user(a, &a->imap), "bob@example.org");
    CHECK_STR(mail_account_user(a, NULL), "bob@example.org");
    mail_config_release(&cfg);
}

static void test_values(void)
{
    struct mail_config cfg;
    struct mail_error err;
    struct mail_account *a;

    /* CRLF, tabs, a '#' inside a value, a BOM, no final newline. */
    CHECK(parse(&cfg, "\xef\xbb\xbf[account \"a\"]  # work\r\n"
                "\tpassword-command =\tpass show a#1 # comment\r\n"
                "\r\n"
                "  html-command = \"  spaced \\t\\\\ \\n\"\r\n"
                "store=~\r\n"
                "sent-folder = x\"y\"\r\n"
                "address = \"Al #1\" <al@example.com>  #c\r\n"
                "fetch-max-size = 512k",
                false, &err) == 0);
    CHECK_STR(err.msg, "");
    a = &cfg.accounts[0];
    CHECK_STR(a->password_command, "pass show a#1");
    CHECK_STR(a->html_command, "  spaced \t\\ \n");
    CHECK_STR(a->store, getenv("HOME"));
    CHECK_STR(a->sent_folder, "x\"y\"");
    /* Not quoted as a whole: quotes are part of it. */
    CHECK_STR(a->address, "\"Al #1\" <al@example.com>");
    CHECK_STR(mail_account_user(a, NULL), "al@example.com");
    CHECK(a->fetch_max_size == 512 * 1024);
    mail_config_release(&cfg);

    /* Quotes are syntax only around the whole value; elsewhere they are
     * kept, and protect a '#'. */
    CHECK(parse(&cfg, "[account \"a\"]\n"
                "address = \"Doe, J. #2\" <j@example.com> # comment\n"
                "user = \"bob\" ; x\n"
                "password-command = sh -c \"pass show a #b\"  #c\n"
                "html-command = \"w3m\" -dump   # comment\n",
                false, &err) == 0);
    CHECK_STR(err.msg, "");
    a = &cfg.accounts[0];
    CHECK_STR(a->address, "\"Doe, J. #2\" <j@example.com>");
    CHECK_STR(a->addr_spec, "j@example.com");
    CHECK_STR(a->user, "\"bob\" ; x");
    CHECK_STR(a->password_command, "sh -c \"pass show a #b\"");
    CHECK_STR(a->html_command, "\"w3m\" -dump");
    mail_config_release(&cfg);

    CHECK(parse(&cfg, "[account \"b\"]\nfetch-max-size = 0\n"
                "tls = STARTTLS\ntimeout = 1\nauth = auto\n"
                "tls-fingerprint = sha256:"
                "0000000000000000000000000000000000000000000000000000000000000000\n"
                "fetch-delete = off\nqueue = FALSE\n"
                "[account \"c d\\\"\"]\ntls = implicit\n"
                "fetch-max-size = 2G\nfetch-oversized = Headers\n"
                "auth = OAuth2\n", true,
                &err) == 0);
    CHECK(cfg.naccounts == 2);
    CHECK(cfg.accounts[0].fetch_max_size == 0);
    CHECK(cfg.accounts[0].tls == MAIL_TLS_STARTTLS);
    CHECK(cfg.accounts[0].timeout == 1);
    CHECK(cfg.accounts[0].auth == MAIL_SASL_NONE);
    CHECK_STR(cfg.accounts[1].name, "c d\"");
    CHECK(cfg.accounts[1].line == 9);
    CHECK(cfg.accounts[1].tls == MAIL_TLS_IMPLICIT);
    CHECK(cfg.accounts[1].fetch_max_size == 2LL << 30);
    CHECK(cfg.accounts[0].fetch_oversized == MAIL_FETCH_OVERSIZED_SKIP);
    CHECK(cfg.accounts[1].fetch_oversized == MAIL_FETCH_OVERSIZED_HEADERS);
    CHECK(cfg.accounts[1].auth == MAIL_SASL_OAUTH2);
    /* An account with no server at all is fine (reading a local store). */
    CHECK(!cfg.accounts[1].has_imap && !cfg.accounts[1].has_smtp);
    CHECK_STR(mail_account_user(&cfg.accounts[1], NULL), "");
    mail_config_release(&cfg);

    /* Empty and comment-only files are empty configs. */
    CHECK(parse(&cfg, "", false, &err) == 0 && cfg.naccounts == 0);
    mail_config_release(&cfg);
    CHECK(parse(&cfg, "# nothing\n\n   ; here\n", false, &err) == 0);
    CHECK(cfg.naccounts == 0);
    mail_config_release(&cfg);
}

/* A tls-fingerprint of prefix, n zeros and suffix must be refused. */
static void check_fingerprint_err(const char *prefix, int n,
                                  const char *suffix)
{
    char fp[128], text[256], want[512];

    snprintf(fp, sizeof fp, "%s%.*s%s", prefix, n,
             "00000000000000000000000000000000000000000000000000000000000000"
             "0000000000", suffix);
    snprintf(text, sizeof text, "[account \"x\"]\ntls-fingerprint = %s\n",
             fp);
    snprintf(want, sizeof want, F ":2: bad tls-fingerprint '%s' (use "
             "sha256: and 64 hex digits, colons allowed)", fp);
    check_err(text, false, want);
}

static void test_errors(void)
{
    check_err("[account \"x\"]\nfoo = 1\n", false,
              F ":2: unknown key 'foo' in account 'x'");
    check_err("[account \"x\"]\n\n\npassword_command = pass x\n", false,
              F ":4: unknown key 'password_command' in account 'x' (did you "
              "mean 'password-command'?)");
    check_err("# c\nuser = bob\n[account \"x\"]\n", false,
              F ":2: 'user' outside any [account \"NAME\"] section");
    check_err("[account \"x\"]\n[account \"y\"]\n[account \"x\"]\n", false,
              F ":3: duplicate account 'x' (first on line 1)");
    check_err("[account \"x\"]\nuser = a\nUser = b\n", false,
              F ":3: duplicate key 'user' in account 'x' (first on line 2)");
    check_err("[account \"x\"]\nuser bob\n", false,
              F ":2: missing '=' (use KEY = VALUE)");
    check_err("[account \"x\"]\n= bob\n", false,
              F ":2: missing key before '='");
    check_err("[account \"x\"]\nuser =   \n", false,
              F ":2: empty value for 'user'");
    check_err("[account \"x\"]\nuser = # a comment\n", false,
              F ":2: empty value for 'user' (quote a value that starts "
              "with '#')");
    check_err("[account \"x\"]\naddress = \"\"\n", false,
              F ":2: empty value for 'address'");
    check_err("[account \"x\"]\ndefault = maybe\n", false,
              F ":2: bad boolean 'maybe' for 'default' (use true/false, "
              "yes/no, on/off or 1/0)");
    check_err("[account \"x\"]\nqueue = 2\n", false,
              F ":2: bad boolean '2' for 'queue' (use true/false, "
              "yes/no, on/off or 1/0)");
    check_err("[account \"x\"]\n  imap = http://x\n", false,
              F ":2: bad server URL 'http://x': unknown scheme 'http' (use "
              "smtp://, smtps://, imap://, imaps://, pop3:// or pop3s://)");
    check_err("[account \"x\"]\nsmtp = smtp://h:0\n", false,
              F ":2: bad server URL 'smtp://h:0': bad port (1 to 65535)");
    check_err("[account \"x\"]\nimap = smtp://h\n", false,
              F ":2: imap = 'smtp://h': wrong scheme for imap (use imap:// "
              "or imaps://)");
    check_err("[account \"a\"]\ndefault = true\n[account \"b\"]\n"
              "default = yes\n", false,
              F ":4: account 'b' has default = true, and so has account "
              "'a' (line 2); only one can be the default");
    check_err("[account \"x\"]\nuser = a\npassword = hunter2\n", false,
              F ":3: refusing a literal password in a file readable by "
              "others (chmod 600 " F "), or use password-command");
    check_err("[account \"x\"]\nauth = digest-md5\n", false,
              F ":2: unknown auth mechanism 'digest-md5' (use auto, oauth2, "
              "login, plain, cram-md5, scram-sha-1, scram-sha-256, xoauth2 "
              "or oauthbearer)");
    check_err("[account \"x\"]\ntls = yes\n", false,
              F ":2: bad tls value 'yes' (use starttls, implicit or "
              "none-i-know)");
    check_err("[account \"x\"]\ntls-fingerprint = abcd\n", false,
              F ":2: bad tls-fingerprint 'abcd' (use sha256: and 64 hex "
              "digits, colons allowed)");
    check_fingerprint_err("sha256:", 63, "");
    check_fingerprint_err("sha256:", 65, "");
    check_fingerprint_err("sha256::", 64, "");
    check_fingerprint_err("sha256:", 64, ":");
    check_fingerprint_err("sha256:", 63, "g");
    check_fingerprint_err("md5:", 64, "");
    check_err("[account \"x\"]\ntimeout = 0\n", false,
              F ":2: bad timeout '0' (seconds, 1 to 3600)");
    check_err("[account \"x\"]\ntimeout = 3601\n", false,
              F ":2: bad timeout '3601' (seconds, 1 to 3600)");
    check_err("[account \"x\"]\ntimeout = 30s\n", false,
              F ":2: bad timeout '30s' (seconds, 1 to 3600)");
    check_err("[account \"x\"]\ntimeout = 99999999999999999999999\n", false,
              F ":2: bad timeout '99999999999999999999999' (seconds, 1 to "
              "3600)");
    check_err("[account \"x\"]\nfetch-max-size = 10T\n", false,
              F ":2: bad size '10T' for 'fetch-max-size' (bytes, or a "
              "number with k, M or G)");
    check_err("[account \"x\"]\nfetch-max-size = 9999999999999G\n", false,
              F ":2: bad size '9999999999999G' for 'fetch-max-size' (bytes, "
              "or a number with k, M or G)");
    check_err("[account \"x\"]\nfetch-max-size = -1\n", false,
              F ":2: bad size '-1' for 'fetch-max-size' (bytes, or a "
              "number with k, M or G)");
    check_err("[account \"x\"]\nfetch-oversized = all\n", false,
              F ":2: bad fetch-oversized value 'all' (use skip or headers)");
    check_err("[account \"x\"]\nstore = mbox:\n", false,
              F ":2: empty path after 'mbox:' in store");
}

static void test_syntax_errors(void)
{
    check_err("[accounts \"x\"]\n", false,
              F ":1: unknown section 'accounts' (use [account \"NAME\"])");
    check_err("\n[core]\n", false,
              F ":2: unknown section 'core' (use [account \"NAME\"])");
    check_err("[\"x\"]\n", false,
              F ":1: bad section header (use [account \"NAME\"])");
    check_err("[account x]\n", false,
              F ":1: the account name must be quoted: [account \"NAME\"]");
    check_err("[account \"x\"\n", false,
              F ":1: missing ']' after the account name");
    check_err("[account \"x]\n", false,
              F ":1: unterminated quoted account name (missing '\"')");
    check_err("[account \"x\"] y\n", false,
              F ":1: unexpected text after ']'");
    check_err("[account \"\"]\n", false, F ":1: empty account name");
    check_err("[account \"x\"]\nuser = \"bob\n", false,
              F ":2: unterminated quoted value (missing '\"')");
    check_err("[account \"x\"]\nuser = \"bob\\\n", false,
              F ":2: unterminated quoted value (missing '\"')");
    check_err("[account \"x\"]\nuser = \"b\\qob\"\n", false,
              F ":2: bad escape '\\q' in quoted value (use \\\", \\\\, \\n "
              "or \\t)");
    check_err("[account \"x\"]\r\nuser = a\rb\r\n", false,
              F ":2: control character 0x0d in the file");
    check_err("[account \"x\"]\nuser = a\x1b[2J\n", false,
              F ":2: control character 0x1b in the file");

    /* NUL bytes: the line number is right. */
    {
        static const char text[] = "[account \"x\"]\n\nuser = a\0b\n";
        struct mail_config cfg;
        struct mail_error err;

        CHECK(mail_config_parse(&cfg, text, sizeof text - 1, F, false,
                                test_env_paths(),
                                &err) == -1);
        CHECK_STR(err.msg, F ":3: NUL byte in the file");
    }
}

static void test_limits(void)
{
    struct mail_config cfg;
    struct mail_error err;
    size_t n = ((size_t)1 << 20) + 1, i;
    char *big = malloc(n + 1), *p, *last = NULL;

    memset(big, '#', n);
    big[n] = '\0';
    CHECK(mail_config_parse(&cfg, big, n, F, false, test_env_paths(),
                            &err) == -1);
    CHECK_STR(err.msg, F ": file too large (over 1048576 bytes)");

    /* A long line. */
    memcpy(big, "[account \"x\"]\nuser = ", 21);
    memset(big + 21, 'a', 9000);
    big[9021] = '\n';
    CHECK(mail_config_parse(&cfg, big, 9022, F, false, test_env_paths(),
                            &err) == -1);
    CHECK_STR(err.msg, F ":2: line too long (over 8192 bytes)");

    /* Many accounts. */
    p = big;
    for (i = 0; i < 1001; i++) {
        last = p;
        p += sprintf(p, "[account \"a%zu\"]\n", i);
    }
    CHECK(mail_config_parse(&cfg, big, (size_t)(p - big), F, false,
                            test_env_paths(),
                            &err) == -1);
    CHECK_STR(err.msg, F ":1001: too many accounts (at most 1000)");
    CHECK(mail_config_parse(&cfg, big, (size_t)(last - big), F, false,
                            test_env_paths(),
                            &err) == 0);
    CHECK(cfg.naccounts == 1000);
    mail_config_release(&cfg);
    free(big);
}

static void test_select(void)
{
    struct mail_config cfg;
    struct mail_error err;
    struct mail_account *a;
    struct mail_overrides ov = { NULL, NULL, NULL, NULL };

    /* No default: the first.  A default: that one. */
    CHECK(parse(&cfg, "[account \"a\"]\n[account \"b\"]\n", false,
                &err) == 0);
    CHECK(mail_config_account(&cfg, NULL, &err) == &cfg.accounts[0]);
    CHECK(mail_config_account(&cfg, "b", &err) == &cfg.accounts[1]);
    CHECK(mail_config_account(&cfg, "B", &err) == NULL);
    CHECK(err.kind == MAIL_ERR_CONFIG);
    CHECK_STR(err.msg, "no account 'B' in " F);
    mail_config_release(&cfg);

    CHECK(parse(&cfg, "[account \"a\"]\ndefault = false\n[account \"b\"]\n"
                "default = true\n[account \"c\"]\n", false, &err) == 0);
    CHECK(mail_config_account(&cfg, NULL, &err) == &cfg.accounts[1]);

    /* Overrides change the chosen account. */
    ov.smtp = "smtps://override.example.com";
    ov.user = "carol";
    CHECK(mail_config_select(&cfg, "c", &ov, &a, &err) == 0);
    CHECK(a == &cfg.accounts[2]);
    CHECK(a->has_smtp && a->smtp.tls == MAIL_TLS_IMPLICIT);
    CHECK_STR(a->smtp.host, "override.example.com");
    CHECK_STR(a->user, "carol");
    CHECK_STR(mail_account_user(a, &a->smtp), "carol");

    /* A bad override changes nothing. */
    ov.smtp = "smtps://other.example.com";
    ov.imap = "imaps://h:0";
    ov.user = "dave";
    CHECK(mail_config_select(&cfg, "c", &ov, &a, &err) == -1);
    CHECK(a == NULL);
    CHECK_STR(err.msg, "--imap: bad server URL 'imaps://h:0': bad port "
              "(1 to 65535)");
    CHECK_STR(cfg.accounts[2].smtp.host, "override.example.com");
    CHECK_STR(cfg.accounts[2].user, "carol");
    ov.imap = "pop3://h";
    CHECK(mail_config_select(&cfg, NULL, &ov, &a, &err) == -1);
    CHECK(err.kind == MAIL_ERR_USAGE);
    CHECK_STR(err.msg, "--imap 'pop3://h': wrong scheme for imap (use imap:// "
              "or imaps://)");
    ov.imap = NULL;
    CHECK(mail_config_select(&cfg, "nope", &ov, &a, &err) == -1);
    CHECK_STR(err.msg, "no account 'nope' in " F);
    CHECK(mail_config_select(&cfg, NULL, NULL, &a, &err) == 0);
    CHECK(a == &cfg.accounts[1]);
    mail_config_release(&cfg);

    /* No config at all: the command line makes an account. */
    memset(&cfg, 0, sizeof cfg);
    setenv("XDG_CONFIG_HOME", "/nonexistent/xdg", 1);
    cfg.paths = test_env_paths();
    CHECK(mail_config_account(&cfg, NULL, &err) == NULL);
    CHECK_STR(err.msg, "no account configured (create "
              "/nonexistent/xdg/mail/config or give --smtp/--imap/--pop3)");
    ov.imap = NULL;
    ov.smtp = NULL;
    ov.pop3 = NULL;
    ov.user = "eve";
    CHECK(mail_config_select(&cfg, NULL, &ov, &a, &err) == -1);
    CHECK_STR(err.msg, "no account configured (create "
              "/nonexistent/xdg/mail/config or give --smtp/--imap/--pop3)");
    ov.pop3 = "pop3://[::1]:1110";
    CHECK(mail_config_select(&cfg, NULL, &ov, &a, &err) == 0);
    CHECK(cfg.naccounts == 1 && a == &cfg.accounts[0]);
    CHECK_STR(a->name, "command-line");
    CHECK(a->file == NULL && a->line == 0);
    CHECK(a->has_pop3 && !a->has_imap && !a->has_smtp);
    CHECK(a->pop3.port == 1110);
    CHECK_STR(a->user, "eve");
    CHECK(a->timeout == 30);
    CHECK_STR(mail_account_user(a, &a->pop3), "eve");
    mail_config_release(&cfg);
    unsetenv("XDG_CONFIG_HOME");
}

static void test_paths(void)
{
    char *s;
    struct mail_error err;

    setenv("HOME", "/home/u", 1);
    s = mail_paths_expand_home(test_env_paths(), "~");
    CHECK_STR(s, "/home/u");
    free(s);
    s = mail_paths_expand_home(test_env_paths(), "~/Mail");
    CHECK_STR(s, "/home/u/Mail");
    free(s);
    s = mail_paths_expand_home(test_env_paths(), "~other/Mail");
    CHECK_STR(s, "~other/Mail");
    free(s);
    s = mail_paths_expand_home(test_env_paths(), "/abs/~/x");
    CHECK_STR(s, "/abs/~/x");
    free(s);

    unsetenv("XDG_CONFIG_HOME");
    s = mail_config_default_path(test_env_paths(), &err);
    CHECK_STR(s, "/home/u/.config/mail/config");
    free(s);
    setenv("XDG_CONFIG_HOME", "/xdg", 1);
    s = mail_config_default_path(test_env_paths(), &err);
    CHECK_STR(s, "/xdg/mail/config");
    free(s);
    /* A relative XDG_CONFIG_HOME is ignored, as the spec says. */
    setenv("XDG_CONFIG_HOME", "rel", 1);
    s = mail_config_default_path(test_env_paths(), &err);
    CHECK_STR(s, "/home/u/.config/mail/config");
    free(s);
    unsetenv("XDG_CONFIG_HOME");
}

/* Write text to a new temporary file with the given mode. */
static char *temp_file(const char *text, mode_t mode)
{
    char *path = strdup("/tmp/test_config.XXXXXX");
    int fd = mkstemp(path);

    if (fd < 0) {
        free(path);
        return NULL;
    }
    if (write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
        fchmod(fd, mode) < 0) {
        close(fd);
        unlink(path);
        free(path);
        return NULL;
    }
    close(fd);
    return path;
}

static void test_load(void)
{
    static const char text[] =
        "[account \"x\"]\nuser = a\npassword = hunter2\n";
    struct mail_config cfg;
    struct mail_error err;
    char *path, want[512], dir[] = "/tmp/test_config_dir.XXXXXX";

    /* A literal password: refused in a 0644 file, accepted in 0600. */
    path = temp_file(text, 0644);
    CHECK(path != NULL);
    CHECK(mail_config_load(&cfg, path, test_env_paths(), &err) == -1);
    CHECK(err.kind == MAIL_ERR_CONFIG);
    snprintf(want, sizeof want, "%s:3: refusing a literal password in a "
             "file readable by others (chmod 600 %s), or use "
             "password-command", path, path);
    CHECK_STR(err.msg, want);
    CHECK(strstr(err.msg, "hunter2") == NULL);
    chmod(path, 0640);
    CHECK(mail_config_load(&cfg, path, test_env_paths(), &err) == -1);
    CHECK_STR(err.msg, want);
    chmod(path, 0600);
    CHECK(mail_config_load(&cfg, path, test_env_paths(), &err) == 0);
    CHECK_STR(cfg.path, path);
    CHECK(cfg.naccounts == 1);
    CHECK_STR(cfg.accounts[0].password, "hunter2");
    CHECK_STR(cfg.accounts[0].file, path);
    mail_config_release(&cfg);
    /* Without a password, any mode is fine. */
    chmod(path, 0644);
    unlink(path);
    free(path);
    path = temp_file("[account \"x\"]\nuser = a\n", 0644);
    CHECK(mail_config_load(&cfg, path, test_env_paths(), &err) == 0);
    CHECK(cfg.naccounts == 1);
    mail_config_release(&cfg);
    unlink(path);

    /* An explicit file that is not there. */
    CHECK(mail_config_load(&cfg, path, test_env_paths(), &err) == -1);
    CHECK(err.kind == MAIL_ERR_CONFIG);
    snprintf(want, sizeof want, "%s: No such file or directory", path);
    CHECK_STR(err.msg, want);
    CHECK(cfg.naccounts == 0 && cfg.path == NULL);
    free(path);

    /* A directory. */
    CHECK(mkdtemp(dir) != NULL);
    CHECK(mail_config_load(&cfg, dir, test_env_paths(), &err) == -1);
    CHECK(err.kind == MAIL_ERR_CONFIG);
    snprintf(want, sizeof want, "%s: Is a directory (expected a config "
             "file)", dir);
    CHECK_STR(err.msg, want);

    /* The default path missing is an empty config. */
    setenv("XDG_CONFIG_HOME", dir, 1);
    CHECK(mail_config_load(&cfg, NULL, test_env_paths(), &err) == 0);
    CHECK(cfg.naccounts == 0 && cfg.path == NULL);
    mail_config_release(&cfg);
    unsetenv("XDG_CONFIG_HOME");

    /* An unreadable file (root reads anything: skip then). */
    if (geteuid() != 0) {
        path = temp_file("", 0000);
        CHECK(mail_config_load(&cfg, path, test_env_paths(), &err) == -1);
        snprintf(want, sizeof want, "%s: Permission denied", path);
        CHECK_STR(err.msg, want);
        unlink(path);
        free(path);
    }
    rmdir(dir);
}

static int resolve(const struct mail_aliases *al, const char *domain,
                   const char *arg, struct mail_buf *out,
                   struct mail_error *err)
{
    mail_buf_reset(out);
    mail_error_clear(err);
    return mail_rcpt_resolve(al, domain, arg, false, out, err);
}

static void test_aliases(void)
{
    char path[] = "/tmp/test_aliases.XXXXXX";
    int fd = mkstemp(path);
    static const char text[] =
        "# mutt's format\n"
        "alias bob Bob Example <bob@example.com>\n"
        "  alias\tteam   alice@example.com, bob  \n"
        "alias -group friends carol \"Carol C.\" <carol@example.com>\n"
        "set sort=threads\n"
        "\n"
        "alias loop1 loop2\n"
        "alias loop2 loop1\n"
        "alias root admin@example.net\n"
        "alias Root Other <other@example.net>\n";
    struct mail_aliases al = MAIL_ALIASES_INIT;
    struct mail_buf out = MAIL_BUF_INIT;
    struct mail_error err;

    CHECK(fd >= 0 && write(fd, text, sizeof text - 1) ==
          (ssize_t)(sizeof text - 1));
    close(fd);
    CHECK(mail_aliases_load(&al, path, &err) == 0);
    CHECK(al.n == 7);
    CHECK_STR(mail_aliases_lookup(&al, "bob"),
              "Bob Example <bob@example.com>");
    CHECK_STR(mail_aliases_lookup(&al, "carol"),
              "\"Carol C.\" <carol@example.com>");
    CHECK(mail_aliases_lookup(&al, "friends") == NULL);
    /* The later definition wins, names in any case. */
    CHECK_STR(mail_aliases_lookup(&al, "ROOT"),
              "Other <other@example.net>");

    CHECK(resolve(&al, NULL, "bob", &out, &err) == 0);
    CHECK_STR(out.data, "Bob Example <bob@example.com>");
    CHECK(resolve(&al, NULL, "team, x@y.test", &out, &err) == 0);
    CHECK_STR(out.data, "alice@example.com, Bob Example <bob@example.com>, "
              "x@y.test");
    CHECK(resolve(&al, NULL, "carol", &out, &err) == 0);
    CHECK_STR(out.data, "\"Carol C.\" <carol@example.com>");
    /* Not an alias, no domain: refused, named. */
    CHECK(resolve(&al, NULL, "nobody", &out, &err) < 0);
    CHECK(err.kind == MAIL_ERR_USAGE);
    CHECK_STR(err.msg, "'nobody' is not an address: no alias 'nobody' and "
              "no domain to add (set domain in the account)");
    /* With a domain it is qualified; an alias still comes first. */
    CHECK(resolve(&al, "example.org", "nobody", &out, &err) == 0);
    CHECK_STR(out.data, "nobody@example.org");
    CHECK(resolve(&al, "example.org", "Name <nobody>", &out, &err) == 0);
    CHECK_STR(out.data, "Name <nobody@example.org>");
    CHECK(resolve(&al, "example.org", "root", &out, &err) == 0);
    CHECK_STR(out.data, "Other <other@example.net>");
    CHECK(resolve(&al, NULL, "loop1", &out, &err) < 0);
    CHECK(err.kind == MAIL_ERR_USAGE);
    CHECK(strstr(err.msg, "loop") != NULL);
    /* Malformed input is refused before any lookup. */
    CHECK(resolve(&al, "example.org", "bob@x ORCPT=rfc822;z@z", &out,
                  &err) < 0);
    CHECK(err.kind == MAIL_ERR_USAGE);
    CHECK(resolve(&al, "example.org", "bob NOTIFY=NEVER", &out, &err) < 0);
    /* Header fields: groups allowed, an empty one dropped. */
    mail_buf_reset(&out);
    CHECK(mail_rcpt_resolve(&al, NULL, "undisclosed-recipients:;, bob",
                            true, &out, &err) == 0);
    CHECK_STR(out.data, "Bob Example <bob@example.com>");
    mail_aliases_release(&al);

    /* No file: no aliases.  A broken alias line names its place. */
    CHECK(mail_aliases_load(&al, "/nonexistent/aliases", &err) == 0);
    CHECK(al.n == 0);
    fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(fd >= 0 && write(fd, "alias x\n", 8) == 8);
    close(fd);
    CHECK(mail_aliases_load(&al, path, &err) < 0);
    CHECK(err.kind == MAIL_ERR_CONFIG);
    CHECK(strstr(err.msg, ":1:") != NULL);
    CHECK(al.n == 0);
    unlink(path);
    /* The default path is beside the config file. */
    setenv("XDG_CONFIG_HOME", "/xdg", 1);
    {
        char *p = mail_aliases_default_path(test_env_paths(), &err);

        CHECK_STR(p, "/xdg/mail/aliases");
        free(p);
    }
    unsetenv("XDG_CONFIG_HOME");
    mail_buf_release(&out);
}

/* [tui]: bind and color lines kept in order with their lines, for the
 * reader to check; anything else in [tui] is an error. */
static void test_tui_section(void)
{
    struct mail_config cfg;
    struct mail_error err;

    CHECK(parse(&cfg, "[account \"a\"]\nstore = /tmp/x\n[tui]\n"
                "bind = index d delete-message   # mutt's\n"
                "color = index-unread bold green\n"
                "[account \"b\"]\nstore = /tmp/y\n", false, &err) == 0);
    CHECK(cfg.ntui == 2 && cfg.naccounts == 2);
    if (cfg.ntui == 2) {
        CHECK_STR(cfg.tui[0].key, "bind");
        CHECK_STR(cfg.tui[0].value, "index d delete-message");
        CHECK(cfg.tui[0].line == 4);
        CHECK_STR(cfg.tui[1].value, "index-unread bold green");
        CHECK(cfg.tui[1].line == 5);
    }
    /* After [tui], an account section takes account keys again. */
    CHECK(cfg.naccounts == 2 && cfg.accounts[1].store &&
          strcmp(cfg.accounts[1].store, "/tmp/y") == 0);
    mail_config_release(&cfg);
    check_err("[tui]\nstore = x\n", false,
              F ":2: unknown key 'store' in [tui] (use bind or color)");
    check_err("[tui]\nbind =\n", false, F ":2: empty value for 'bind'");
    check_err("[tui] x\n", false, F ":1: bad section header (use [tui])");
}

int main(void)
{
    RUN(test_design_example);
    RUN(test_all_keys);
    RUN(test_values);
    RUN(test_errors);
    RUN(test_syntax_errors);
    RUN(test_limits);
    RUN(test_select);
    RUN(test_paths);
    RUN(test_load);
    RUN(test_aliases);
    RUN(test_tui_section);
    return test_done();
}
