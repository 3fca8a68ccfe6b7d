/*
 * test_addrbook.c - the address book (mail/addrbook.h) and the changes
 * to the aliases file (mail_aliases_file_set): aliases, collected
 * addresses, a scripted address-command with hostile output, dedupe,
 * bounds, concurrent collectors.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "mail/addrbook.h"
#include "mail/aliases.h"
#include "test.h"

static char dir[512];
static char apath[600], cpath[600], script[600];

static void put_file(const char *path, const char *text, int mode)
{
    FILE *f = fopen(path, "w");

    if (f) {
        fputs(text, f);
        fclose(f);
    }
    chmod(path, (mode_t)mode);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *s = calloc(1, 1 << 22);
    size_t n;

    if (!f || !s) {
        if (f)
            fclose(f);
        return s;
    }
    n = fread(s, 1, (1 << 22) - 1, f);
    s[n] = '\0';
    fclose(f);
    return s;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void setup(const char *name)
{
    snprintf(dir, sizeof dir, "%s", fixture_path(name));
    mkdir(dir, 0700);
    snprintf(apath, sizeof apath, "%s/aliases", dir);
    snprintf(cpath, sizeof cpath, "%s/addresses", dir);
    snprintf(script, sizeof script, "%s/query.sh", dir);
    unlink(apath);
    unlink(cpath);
}

static struct mail_addrbook *open_book(const char *command, int timeout_ms)
{
    struct mail_addrbook_opts o = {
        .aliases_path = apath, .collected_path = cpath,
        .address_command = command, .command_timeout_ms = timeout_ms,
    };
    struct mail_error err;

    return mail_addrbook_open(&o, &err);
}

static const struct mail_addrbook_entry *
find(const struct mail_addrbook_results *r, const char *addr)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->v[i].addr, addr) == 0)
            return &r->v[i];
    return NULL;
}

static void collect1(const char *list, time_t when)
{
    const char *l[1] = { list };
    struct mail_error err;

    CHECK(mail_addrbook_collect(NULL, cpath, l, 1, when, &err) == 0);
}

static void test_aliases_and_collected(void)
{
    struct mail_addrbook *b;
    struct mail_addrbook_results r = MAIL_ADDRBOOK_RESULTS_INIT;
    struct mail_error err;
    time_t now = time(NULL);
    const char *two[2] = { "Bob Example <bob@example.org>, carol@example.org",
                           "\"Doe, John\" <john@example.net>" };

    setup("book");
    put_file(apath, "# my aliases\n"
                    "alias bob Bob Alias <bob@example.org>\n"
                    "alias team bob, zed@example.com\n", 0600);
    CHECK(mail_addrbook_collect(NULL, cpath, two, 2, now - 100 * 86400,
                                &err) == 0);
    collect1("BOB@Example.ORG", now - 86400);    /* same address: no name */
    collect1("Robert <bob@example.org>", now);   /* a newer name */
    for (int i = 0; i < 5; i++)
        collect1("Bobby Tables <tables@example.com>", now - 2 * 86400);
    b = open_book(NULL, 0);
    CHECK(b != NULL);
    if (!b)
        return;
    CHECK(mail_addrbook_query(b, "BOB", &r, &err) == 0);
    /* aliases first, in file order; then collected, most used first */
    CHECK(r.n == 4);
    if (r.n == 4) {
        CHECK(r.v[0].source == MAIL_ADDRBOOK_ALIAS);
        CHECK_STR(r.v[0].alias, "bob");
        CHECK_STR(r.v[1].alias, "team");
        CHECK(r.v[2].source == MAIL_ADDRBOOK_COLLECTED);
        CHECK_STR(r.v[2].addr, "tables@example.com");
        CHECK(r.v[2].count == 5);
        CHECK_STR(r.v[3].addr, "bob@example.org");
        CHECK_STR(r.v[3].name, "Robert");      /* the latest name */
        CHECK(r.v[3].count == 3);              /* deduped, any case */
    }
    mail_addrbook_results_release(&r);
    /* by display name, and everything with "" */
    CHECK(mail_addrbook_query(b, "doe", &r, &err) == 0);
    CHECK(r.n == 1 && strcmp(r.v[0].addr, "john@example.net") == 0);
    mail_addrbook_results_release(&r);
    CHECK(mail_addrbook_query(b, "", &r, &err) == 0);
    CHECK(r.n == 2 + 4);
    CHECK(mail_aliases_lookup(mail_addrbook_aliases(b), "TEAM") != NULL);
    mail_addrbook_results_release(&r);
    mail_addrbook_free(b);
    /* the file has one line an address */
    {
        char *s = slurp(cpath);

        CHECK(count_lines(s) == 4);
        free(s);
    }
}

static void test_utf8_case(void)
{
    struct mail_addrbook *b;
    struct mail_addrbook_results r = MAIL_ADDRBOOK_RESULTS_INIT;
    struct mail_error err;
    struct mail_buf f = MAIL_BUF_INIT;

    setup("utf8");
    collect1("Ådne Bø <adne@example.no>", time(NULL));
    collect1("=?UTF-8?Q?ΣΩΚΡΆΤΗΣ?= <s@example.gr>", time(NULL));
    collect1("Иван Петров <ivan@example.ru>", time(NULL));
    collect1("Łukasz Żółć <lz@example.pl>", time(NULL));
    b = open_book(NULL, 0);
    if (!b)
        return;
    CHECK(mail_addrbook_query(b, "ådne", &r, &err) == 0 && r.n == 1);
    mail_addrbook_results_release(&r);
    CHECK(mail_addrbook_query(b, "BØ", &r, &err) == 0 && r.n == 1);
    mail_addrbook_results_release(&r);
    CHECK(mail_addrbook_query(b, "σωκ", &r, &err) == 0 && r.n == 1);
    mail_addrbook_results_release(&r);
    CHECK(mail_addrbook_query(b, "иВАН", &r, &err) == 0 && r.n == 1);
    mail_addrbook_results_release(&r);
    CHECK(mail_addrbook_query(b, "łukasz żółć", &r, &err) == 0 && r.n == 1);
    if (r.n == 1) {
        CHECK(mail_addrbook_entry_format(&r.v[0], &f) == 0);
        CHECK_STR(f.data, "Łukasz Żółć <lz@example.pl>");
    }
    mail_addrbook_results_release(&r);
    mail_buf_release(&f);
    mail_addrbook_free(b);
}

static void test_old_format_and_damage(void)
{
    struct mail_addrbook *b;
    struct mail_addrbook_results r = MAIL_ADDRBOOK_RESULTS_INIT;
    struct mail_error err;

    setup("old");
    /* compose_ui.c's old file: one "Name <addr>" a line; and damage */
    put_file(cpath, "Old Friend <old@example.org>\n"
                    "plain@example.org\n"
                    "x\ty\tnot an address\tname\n"
                    "notanumber\t1\tz@example.org\tZ\n"
                    "5\t2\tesc@example.org\tEvil\x1b[31m \xe2\x80\xae Name\x07\n"
                    "\n", 0600);
    b = open_book(NULL, 0);
    if (!b)
        return;
    CHECK(mail_addrbook_query(b, "", &r, &err) == 0);
    CHECK(r.n == 3);
    CHECK(find(&r, "old@example.org") && find(&r, "plain@example.org"));
    CHECK(find(&r, "esc@example.org") &&
          strcmp(find(&r, "esc@example.org")->name, "Evil [31m Name") == 0);
    mail_addrbook_results_release(&r);
    mail_addrbook_free(b);
}

static void write_script(const char *body)
{
    put_file(script, body, 0700);
}

static void test_command_hostile(void)
{
    struct mail_addrbook *b;
    struct mail_addrbook_results r = MAIL_ADDRBOOK_RESULTS_INIT;
    struct mail_error err;
    char cmd[700];
    const struct mail_addrbook_entry *e;

    setup("cmd");
    put_file(apath, "alias bob bob@example.org\n", 0600);
    collect1("Known <known@example.org>", time(NULL));
    write_script("#!/bin/sh\n"
                 "printf 'Searching...\\tignored@example.org\\tx\\n'\n"
                 "printf 'good@example.org\\tGood Person\\tcard\\n'\n"
                 "printf 'no tab at all good2@example.org\\n'\n"
                 "printf 'not an address\\tName\\n'\n"
                 "printf 'esc@example.org\\tE\\033]0;pwned\\007vil\\342\\200\\256x\\tinfo\\033[2J\\n'\n"
                 "printf '<angle@example.org>\\tAngle\\r\\n'\n"
                 "printf 'KNOWN@example.org\\tDuplicate\\n'\n"
                 "printf 'bad\\033@example.org\\tBad\\n'\n"
                 "head -c 200000 /dev/zero | tr '\\0' a; printf '@example.org\\tHuge\\n'\n"
                 "printf 'last@example.org\\tLast'\n");
    snprintf(cmd, sizeof cmd, "'%s'", script);
    b = open_book(cmd, 0);
    if (!b)
        return;
    CHECK(mail_addrbook_query(b, "o", &r, &err) == 0);
    CHECK(find(&r, "ignored@example.org") == NULL);   /* first line */
    CHECK((e = find(&r, "good@example.org")) != NULL &&
          e->source == MAIL_ADDRBOOK_COMMAND &&
          strcmp(e->name, "Good Person") == 0 &&
          strcmp(e->info, "card") == 0);
    CHECK((e = find(&r, "esc@example.org")) != NULL &&
          strcmp(e->name, "E ]0;pwned vilx") == 0 &&
          strcmp(e->info, "info [2J") == 0);
    CHECK((e = find(&r, "angle@example.org")) != NULL &&
          strcmp(e->name, "Angle") == 0);
    CHECK(find(&r, "KNOWN@example.org") == NULL);     /* collected already */
    CHECK(find(&r, "last@example.org") != NULL);      /* no final newline */
    for (size_t i = 0; i < r.n; i++) {
        CHECK(strlen(r.v[i].addr) < 300);
        CHECK(strpbrk(r.v[i].addr, "\x1b\t\r\n ") == NULL);
        CHECK(!r.v[i].name || !strpbrk(r.v[i].name, "\x1b\x07\t\r\n"));
    }
    /* ranks: the alias, the collected one, then the command's */
    CHECK(r.n == 2 + 4);
    if (r.n == 6) {
        CHECK(r.v[0].source == MAIL_ADDRBOOK_ALIAS);
        CHECK(r.v[1].source == MAIL_ADDRBOOK_COLLECTED);
        CHECK(r.v[2].source == MAIL_ADDRBOOK_COMMAND);
    }
    mail_addrbook_results_release(&r);
    mail_addrbook_free(b);
}

static void test_command_argument(void)
{
    struct mail_addrbook *b;
    struct mail_addrbook_results r = MAIL_ADDRBOOK_RESULTS_INIT;
    struct mail_error err;
    char cmd[1400], got[700], pwned[700];
    const char *q = "x'\"; $(touch PWNED) `touch PWNED` %s";
    char *s;

    setup("arg");
    snprintf(got, sizeof got, "%s/got", dir);
    snprintf(pwned, sizeof pwned, "%s/PWNED", dir);
    /* the query as one argument, whatever it holds */
    write_script("#!/bin/sh\ncd \"$(dirname \"$0\")\"\n"
                 "printf '%s|' \"$@\" > got\necho\n"
                 "echo 'q@example.org\tQ'\n");
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' --flag", dir, script);
    b = open_book(cmd, 0);
    if (!b)
        return;
    CHECK(mail_addrbook_query(b, q, &r, &err) == 0);
    CHECK(r.n == 1);
    s = slurp(got);
    CHECK(s && strncmp(s, "--flag|", 7) == 0 && strncmp(s + 7, q, strlen(q)) == 0
          && strcmp(s + 7 + strlen(q), "|") == 0);
    free(s);
    CHECK(access(pwned, F_OK) != 0);
    mail_addrbook_results_release(&r);
    mail_addrbook_free(b);
    /* mutt's %s, quoted as mutt users write it */
    unlink(got);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' '%%s' --flag", dir, script);
    b = open_book(cmd, 0);
    CHECK(mail_addrbook_query(b, q, &r, &err) == 0);
    s = slurp(got);
    CHECK(s && strncmp(s, q, strlen(q)) == 0 &&
          strcmp(s + strlen(q), "|--flag|") == 0);
    free(s);
    CHECK(access(pwned, F_OK) != 0);
    mail_addrbook_results_release(&r);
    mail_addrbook_free(b);
}

static void test_command_failures(void)
{
    struct mail_addrbook *b;
    struct mail_addrbook_results r = MAIL_ADDRBOOK_RESULTS_INIT;
    struct mail_error err;
    struct timespec t0, t1;

    setup("fail");
    put_file(apath, "alias bob bob@example.org\n", 0600);
    b = open_book("echo; echo 'x@example.org\tX'; exit 3; :", 0);
    if (!b)
        return;
    CHECK(mail_addrbook_query(b, "", &r, &err) == 1);
    CHECK(strstr(err.msg, "address-command exited with status 3") != NULL);
    CHECK(r.n == 1 && r.v[0].source == MAIL_ADDRBOOK_ALIAS);
    mail_addrbook_results_release(&r);
    mail_addrbook_free(b);
    /* a command that stalls is killed */
    b = open_book("sleep 30; :", 300);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(mail_addrbook_query(b, "", &r, &err) == 1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK(t1.tv_sec - t0.tv_sec < 5);
    CHECK(strstr(err.msg, "timed out") != NULL);
    mail_addrbook_results_release(&r);
    mail_addrbook_free(b);
    /* one that never stops writing: bounded */
    b = open_book("echo; while :; do echo 'e@example.org\tEndless'; done; :", 0);
    CHECK(mail_addrbook_query(b, "", &r, &err) == 0);
    CHECK(r.n == 2);                /* the alias, e@ once */
    mail_addrbook_results_release(&r);
    mail_addrbook_free(b);
    /* lines without end: bounded, nothing taken */
    b = open_book("echo; while :; do printf aaaaaaaaaaaaaaaa; done; :", 0);
    CHECK(mail_addrbook_query(b, "", &r, &err) == 0);
    CHECK(r.n == 1);
    mail_addrbook_results_release(&r);
    mail_addrbook_free(b);
}

static void test_collect_concurrent(void)
{
    enum { KIDS = 6, EACH = 40 };
    pid_t pids[KIDS];
    char *s;
    struct mail_addrbook *b;
    struct mail_addrbook_results r = MAIL_ADDRBOOK_RESULTS_INIT;
    struct mail_error err;
    const struct mail_addrbook_entry *e;
    int ok = 1;

    setup("concurrent");
    for (int k = 0; k < KIDS; k++) {
        pids[k] = fork();
        if (pids[k] == 0) {
            for (int i = 0; i < EACH; i++) {
                char a[100];
                const char *l[2] = { a, "Shared <shared@example.org>" };
                struct mail_error e2;

                snprintf(a, sizeof a, "kid%d-%d@example.org", k, i);
                if (mail_addrbook_collect(NULL, cpath, l, 2, time(NULL),
                                          &e2) < 0)
                    _exit(1);
            }
            _exit(0);
        }
    }
    for (int k = 0; k < KIDS; k++) {
        int st = 1;

        waitpid(pids[k], &st, 0);
        ok &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    CHECK(ok);
    s = slurp(cpath);
    CHECK(count_lines(s) == KIDS * EACH + 1);
    free(s);
    b = open_book(NULL, 0);
    if (!b)
        return;
    CHECK(mail_addrbook_query(b, "", &r, &err) == 0);
    CHECK(r.n == KIDS * EACH + 1);
    CHECK((e = find(&r, "shared@example.org")) != NULL &&
          e->count == KIDS * EACH);
    /* most used first */
    CHECK(r.n && strcmp(r.v[0].addr, "shared@example.org") == 0);
    mail_addrbook_results_release(&r);
    mail_addrbook_free(b);
}

static void test_collect_bounded(void)
{
    enum { N = MAIL_ADDRBOOK_COLLECT_MAX + 20 };
    const char **l = calloc(N, sizeof *l);
    char *buf = calloc(N, 40), *s;
    struct mail_error err;

    setup("bounded");
    if (!l || !buf)
        return;
    for (int i = 0; i < N; i++) {
        snprintf(buf + 40 * i, 40, "a%d@example.org", i);
        l[i] = buf + 40 * i;
    }
    CHECK(mail_addrbook_collect(NULL, cpath, l, N - 1, 1000, &err) == 0);
    CHECK(mail_addrbook_collect(NULL, cpath, l + N - 1, 1, 2000, &err) == 0);
    s = slurp(cpath);
    CHECK(count_lines(s) == MAIL_ADDRBOOK_COLLECT_MAX);
    CHECK(strstr(s, "\ta5019@example.org\t") != NULL);  /* the newest */
    free(s);
    free(l);
    free(buf);
}

static void test_collect_sent(void)
{
    char mpath[700];
    int fd;
    struct mail_buf bcc = MAIL_BUF_INIT;
    const char *rcpts[] = { "bob@example.org", "carol@example.org",
                            "dave@example.org", "eve@example.org" };
    const char *refused[] = { "CAROL@example.org" };
    struct mail_error err;
    struct mail_addrbook *b;
    struct mail_addrbook_results r = MAIL_ADDRBOOK_RESULTS_INIT;
    const struct mail_addrbook_entry *e;

    setup("sent");
    snprintf(mpath, sizeof mpath, "%s/msg", dir);
    put_file(mpath, "XXXXFrom: me@example.org\n"
                    "To: Bob Ex <bob@example.org>,\n Carol <carol@example.org>\n"
                    "Cc: =?UTF-8?Q?Ev=C3=A9?= <eve@example.org>\n"
                    "Subject: hi\n\nTo: Not Me <dave@example.org>\n", 0600);
    mail_buf_addstr(&bcc, "Bcc: Dave D <dave@example.org>\n");
    fd = open(mpath, O_RDONLY);
    /* the default path: the state directory */
    {
        char st[700];
        struct mail_paths p = MAIL_PATHS_INIT;

        snprintf(st, sizeof st, "%s/state", dir);
        p.state_home = st;
        CHECK(mail_addrbook_collect_sent(&p, fd, 4, rcpts, 4, refused, 1,
                                         &bcc, &err) == 0);
        snprintf(cpath, sizeof cpath, "%s/state/mail/addresses", dir);
    }
    close(fd);
    mail_buf_release(&bcc);
    b = open_book(NULL, 0);
    if (!b)
        return;
    CHECK(mail_addrbook_query(b, "", &r, &err) == 0);
    CHECK(r.n == 3);
    CHECK((e = find(&r, "bob@example.org")) && strcmp(e->name, "Bob Ex") == 0);
    CHECK((e = find(&r, "dave@example.org")) && strcmp(e->name, "Dave D") == 0);
    CHECK((e = find(&r, "eve@example.org")) && strcmp(e->name, "Evé") == 0);
    CHECK(find(&r, "carol@example.org") == NULL);      /* refused */
    mail_addrbook_results_release(&r);
    mail_addrbook_free(b);
}

static void test_aliases_file_set(void)
{
    struct mail_error err;
    struct stat st;
    char *s;

    setup("set");
    put_file(apath, "# my aliases\n"
                    "set sort=date\n"
                    "alias -group work bob Bob <bob@example.org>\n"
                    "\n"
                    "alias carol carol@example.org\n"
                    "alias BOB old@example.org\n"
                    "# end", 0640);
    CHECK(mail_aliases_file_set(apath, "bob", "Robert <rob@example.org>",
                                &err) == 0);
    s = slurp(apath);
    CHECK_STR(s, "# my aliases\nset sort=date\n"
                 "alias -group work bob Robert <rob@example.org>\n\n"
                 "alias carol carol@example.org\n# end\n");
    free(s);
    CHECK(stat(apath, &st) == 0 && (st.st_mode & 07777) == 0640);
    CHECK(mail_aliases_file_set(apath, "dan", "dan@example.org, carol",
                                &err) == 0);
    CHECK(mail_aliases_file_set(apath, "carol", NULL, &err) == 0);
    s = slurp(apath);
    CHECK_STR(s, "# my aliases\nset sort=date\n"
                 "alias -group work bob Robert <rob@example.org>\n\n"
                 "# end\nalias dan dan@example.org, carol\n");
    free(s);
    CHECK(mail_aliases_file_set(apath, "carol", NULL, &err) < 0 &&
          err.kind == MAIL_ERR_NOTFOUND);
    CHECK(mail_aliases_file_set(apath, "a b", "x@example.org", &err) < 0 &&
          err.kind == MAIL_ERR_USAGE);
    CHECK(mail_aliases_file_set(apath, "a\x1b", "x@example.org", &err) < 0 &&
          err.kind == MAIL_ERR_USAGE);
    CHECK(mail_aliases_file_set(apath, "-x", "x@example.org", &err) < 0 &&
          err.kind == MAIL_ERR_USAGE);
    CHECK(mail_aliases_file_set(apath, "ok", "x@example.org NOTIFY=NEVER",
                                &err) < 0 && err.kind == MAIL_ERR_USAGE);
    CHECK(mail_aliases_file_set(apath, "ok", "a@x\nalias evil e@x", &err) < 0
          && err.kind == MAIL_ERR_USAGE);
    CHECK(mail_alias_name_check("jürgen.k-1_+", &err) == 0);
    /* a new file: created with its directory, 0600 */
    snprintf(apath, sizeof apath, "%s/new/dir/aliases", dir);
    CHECK(mail_aliases_file_set(apath, "x", "x@example.org", &err) == 0);
    CHECK(stat(apath, &st) == 0 && (st.st_mode & 07777) == 0600);
}

int main(void)
{
    if (fixture_open("addrbook") < 0)
        return 1;
    RUN(test_aliases_and_collected);
    RUN(test_utf8_case);
    RUN(test_old_format_and_damage);
    RUN(test_command_hostile);
    RUN(test_command_argument);
    RUN(test_command_failures);
    RUN(test_collect_concurrent);
    RUN(test_collect_bounded);
    RUN(test_collect_sent);
    RUN(test_aliases_file_set);
    fixture_close();
    return test_done();
}
