/*
 * query.h - the one query language of `mail ls FOLDER QUERY`, the
 * reader's search and limit, and IMAP SEARCH.
 *
 * A query is a list of words (argv as the shell split it):
 *
 *     from:TEXT to:TEXT cc:TEXT subject:TEXT body:TEXT
 *     since:WHEN before:WHEN    WHEN: YYYY-MM-DD (local midnight) or a
 *                               span back from now: 12h 7d 2w 3m 1y
 *     larger:SIZE smaller:SIZE  SIZE: bytes, or with k, M or G (1024s)
 *     flag:seen|unseen|flagged|unflagged|answered|unanswered|draft|deleted
 *     has:attachment
 *     WORD  "a phrase"          From, To, Cc or Subject contains it
 *     A B (or A AND B)   A OR B   NOT A   ( ... )
 *
 * TEXT matches case-insensitively (beyond ASCII too) anywhere in the
 * decoded field ("Name <addr>" for addresses); to: looks at To and Cc,
 * cc: at Cc only; a field with nothing after the colon matches every
 * message.  A word may hold quotes: subject:"two words" (the shell
 * passes a phrase as one word, with or without them).  Parentheses are
 * words of their own or attached: (from:a OR from:b).  NOT binds
 * tighter than AND, AND (implicit) tighter than OR.  OR, AND and NOT are
 * operators only in capitals.  No words: every message.
 *
 * since: and before: compare with the Date: header, else the delivery
 * time; since: includes its instant, before: excludes it.  larger: and
 * smaller: are strict, as IMAP's LARGER and SMALLER.  body: searches the
 * decoded text parts (readable.h: text/plain, HTML as text), streamed in
 * constant memory, for a plain substring as IMAP's BODY does (white space
 * as it is: a line break in the text is not a blank).
 */
#ifndef MAIL_QUERY_H
#define MAIL_QUERY_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "error.h"
#include "folder.h"

struct mail_query;

/*
 * Parse argv[0..argc) into *q (mail_query_free frees it).  Spans such as
 * 7d count back from time(NULL); mail_query_parse_at takes "now".  A
 * syntax error is MAIL_ERR_USAGE naming the word by its position among
 * the argc (1-based): "query: expected ')' after 'from:a' (word 3)";
 * MAIL_ERR_INTERNAL when out of memory.  Returns 0 or -1.
 */
int mail_query_parse(int argc, char *const *argv, struct mail_query **q,
                     struct mail_error *err);
int mail_query_parse_at(int argc, char *const *argv, time_t now,
                        struct mail_query **q, struct mail_error *err);
/*
 * The same from one string, as a person types it (the reader's / and l):
 * split into words at blanks outside double quotes (subject:"two words"
 * is one word, its quotes kept), then parsed as above; word positions in
 * errors count those words.  s NULL or blank: every message.
 */
int mail_query_parse_string(const char *s, struct mail_query **q,
                            struct mail_error *err);
int mail_query_parse_string_at(const char *s, time_t now,
                               struct mail_query **q, struct mail_error *err);
void mail_query_free(struct mail_query *q);

/* Bits of mail_query_needs: what evaluating the query reads. */
enum {
    MAIL_QUERY_NEEDS_BODY = 1,        /* body: terms: the message text */
    MAIL_QUERY_NEEDS_ATTACHMENTS = 2, /* has:attachment: list with
                                         MAIL_FOLDER_LIST_ATTACHMENTS */
};
unsigned mail_query_needs(const struct mail_query *q);

/* Does the query match every message (no words, or only empty terms)? */
bool mail_query_is_all(const struct mail_query *q);

/*
 * Does e match?  1 yes, 0 no, -1 with err.  The body is read only when
 * the header fields do not decide: from msg_fd (reads the message from
 * offset 0, with pread; -1 when the caller has none), else through
 * folder (mail_folder_message_fd; may be NULL).  With neither, a query
 * that needs the body fails with MAIL_ERR_INTERNAL.  Body read errors
 * are returned (the message cannot be searched), not taken as "no".
 */
int mail_query_match(const struct mail_query *q, const struct mail_envelope *e,
                     int msg_fd, struct mail_folder *folder,
                     struct mail_error *err);

/*
 * Keep, of idx[0..*n) (indexes into l, a listing of f), those q matches,
 * in their order; *n becomes their number.  The one way `mail ls` and
 * the reader's search and limit choose messages: an imap: folder's server
 * runs the query (mail_imap_folder_search), and what IMAP cannot decide
 * (has:attachment, the exact instant of since:/before:) is matched here
 * on its answer; other folders' messages are matched here, a body: term
 * reading the message (mail_query_match).  When *cancel (may be NULL)
 * becomes nonzero between messages: 1, with those kept so far.  0, or -1
 * with err.
 */
int mail_query_select(const struct mail_query *q, struct mail_folder *f,
                      const struct mail_envelope_list *l, size_t *idx,
                      size_t *n, const int *cancel, struct mail_error *err);

/* "2026-11-01" (local midnight) or a span back from now (12h, 7d, 2w,
 * 3m, 1y: calendar months and years).  0, or -1 when s is neither. */
int mail_query_parse_time(const char *s, time_t now, time_t *t);

/* Bits of mail_query_imap's flags and *out_flags. */
enum {
    /* in: write non-synchronizing literals {N+} (LITERAL+, RFC 7888) */
    MAIL_QUERY_IMAP_LITERAL_PLUS = 1,
    /* out: the search key holds literals: send each "{N}\r\n" as a
     * command continuation (wait for "+") unless LITERAL+ was asked */
    MAIL_QUERY_IMAP_HAS_LITERAL = 2,
    /* out: the query has terms no IMAP key expresses exactly
     * (has:attachment, since:, before:):
     * they were widened so that the server's result is a superset; run
     * mail_query_match on what the server returns (a client-side
     * filter) */
    MAIL_QUERY_IMAP_FILTER = 4,
};

/*
 * Append the query as the search-key part of an IMAP SEARCH command
 * (RFC 3501 6.4.4, RFC 9051 6.4.4), e.g. `CHARSET UTF-8 OR FROM "bob"
 * SUBJECT {5}\r\nCafé`: "CHARSET UTF-8 " first when a string is not
 * ASCII; strings quoted, or literals when they hold non-ASCII bytes,
 * quotes, backslashes or line ends; since:/before: as SENTSINCE /
 * SENTBEFORE d-Mon-yyyy widened by days, or'd with "no Date: header"
 * (IMAP compares the header's own date without time or zone, since:
 * an instant) and MAIL_QUERY_IMAP_FILTER set; "ALL" for a query that
 * matches everything.  *out_flags (may be
 * NULL) gets the MAIL_QUERY_IMAP_ out bits.  0, or -1 on ENOMEM/cap.
 */
int mail_query_imap(const struct mail_query *q, struct mail_buf *out,
                    unsigned flags, unsigned *out_flags,
                    struct mail_error *err);

/* The AST in a readable prefix form, for tests and -v:
 * (and (from "bob") (or (not (flag seen)) (larger 1024))). */
int mail_query_dump(const struct mail_query *q, struct mail_buf *out);

#pragma GCC visibility pop

#endif
