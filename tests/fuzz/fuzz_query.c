/*
 * fuzz_query.c - libFuzzer target for the query language
 * (lib/store/query.c).
 *
 * The input is the query's words, one per line, then optionally a line
 * "----" and a message that body: terms search.  A query that parses
 * must dump, render as IMAP SEARCH keys (ASCII only unless they say
 * CHARSET UTF-8; line ends only before a literal's bytes) and match a
 * fixed envelope, and "NOT ( words )" must match exactly when the words
 * do not.  A query that does not parse is a usage error naming a word
 * that exists.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mail/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_WORDS 256

static void check_error(const struct mail_error *err, int argc)
{
    const char *w;

    if (err->kind == MAIL_ERR_INTERNAL)
        return;
    if (err->kind != MAIL_ERR_USAGE || strncmp(err->msg, "query: ", 7) != 0)
        abort();
    /* The position is the message's suffix " (word N)"; the words quoted
     * before it are the user's and may hold " (word " themselves (an input
     * "( (word (m" did): so the last one, and only as the suffix. */
    w = NULL;
    for (const char *f = err->msg; (f = strstr(f, " (word ")) != NULL; f++)
        w = f;
    if (w) {
        char *end;
        long n = strtol(w + 7, &end, 10);

        if (end != w + 7 && strcmp(end, ")") == 0 && (n < 1 || n > argc))
            abort();
    }
}

static void check_imap(const struct mail_query *q)
{
    struct mail_buf b = MAIL_BUF_INIT;
    struct mail_error err;
    unsigned of = 0;

    if (mail_query_imap(q, &b, 0, &of, &err) == 0) {
        bool utf8 = strncmp(b.data, "CHARSET UTF-8 ", 14) == 0;

        for (size_t i = 0; i < b.len; i++) {
            unsigned char c = (unsigned char)b.data[i];

            if (c >= 0x80 && !utf8)
                abort();
            if ((c == '\r' || c == '\n') &&
                !(of & MAIL_QUERY_IMAP_HAS_LITERAL))
                abort();
        }
    }
    mail_buf_release(&b);
    b = (struct mail_buf)MAIL_BUF_INIT;
    mail_query_dump(q, &b);
    mail_buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), *argv[MAX_WORDS + 3], *msg = NULL, *p;
    struct mail_envelope e;
    struct mail_query *q = NULL, *nq = NULL;
    struct mail_error err;
    int argc = 0, fd = -1, r1, r2;
    size_t msglen = 0;

    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    p = strstr(s, "\n----\n");
    if (p) {
        *p = '\0';
        msg = p + 6;
        msglen = size - (size_t)(msg - s);
    }
    argv[argc++] = "NOT";
    argv[argc++] = "(";
    for (p = s; p && argc < MAX_WORDS + 2;) {
        char *nl = strchr(p, '\n');

        if (nl)
            *nl = '\0';
        argv[argc++] = p;
        p = nl ? nl + 1 : NULL;
    }
    argv[argc++] = ")";
    memset(&e, 0, sizeof e);
    e.from = "Bob Martin <bob@example.org>";
    e.to = "=?UTF-8?Q?Ren=C3=A9e?= <renee@example.fr>, x@y";
    e.cc = "Carol <carol@example.net>";
    e.subject = "Re: Team offsite in Lisbon";
    e.flags = 1;
    e.size = 4321;
    e.date = 1790000000;
    e.has_date = true;
    e.attachments = 1;
    if (mail_query_parse_at(argc - 3, argv + 2, 1796464800, &q, &err) < 0) {
        check_error(&err, argc - 3);
        goto done;
    }
    check_imap(q);
    fd = memfd_create("fuzz_query", 0);
    if (fd >= 0 && msg && write(fd, msg, msglen) != (ssize_t)msglen) {
        close(fd);
        fd = -1;
    }
    r1 = mail_query_match(q, &e, fd, NULL, &err);
    if (mail_query_parse_at(argc, argv, 1796464800, &nq, &err) == 0) {
        r2 = mail_query_match(nq, &e, fd, NULL, &err);
        if (r1 >= 0 && r2 >= 0 && r1 == r2)
            abort();
    }
done:
    if (fd >= 0)
        close(fd);
    mail_query_free(q);
    mail_query_free(nq);
    free(s);
    return 0;
}
