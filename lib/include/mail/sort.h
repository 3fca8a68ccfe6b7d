/*
 * sort.h - the orders of a listing, as mblaze's msort gives them: by
 * date, sender, subject (without its Re:/Fwd: prefixes) or size, for
 * `mail ls -S` and the reader's index.
 *
 *     size_t idx[] = { 0, 1, 2 };          // positions in list
 *     mail_sort(&list, idx, 3, MAIL_SORT_SUBJECT, false, &err);
 */
#ifndef MAIL_SORT_H
#define MAIL_SORT_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "error.h"
#include "folder.h"

enum mail_sort_key {
    MAIL_SORT_NONE, MAIL_SORT_DATE, MAIL_SORT_FROM, MAIL_SORT_SUBJECT,
    MAIL_SORT_SIZE,
};

/* "date", "from", "subject" or "size"; -1 for any other word. */
int mail_sort_key_parse(const char *word, enum mail_sort_key *key);

/* When a listing says a message was sent: its Date:, else its delivery
 * time. */
time_t mail_envelope_when(const struct mail_envelope *e);

/* s without its leading reply and forward prefixes ("Re: ", "Fwd: ",
 * "AW: ", "Fw: ", "Re[2]: "), as msort -s compares subjects: a pointer
 * into s. */
const char *mail_subject_base(const char *s);

/*
 * Order idx[0..n) (positions in list) by key: senders by the first
 * sender's name (else address) and subjects by their base, both decoded
 * and compared without ASCII case; ties by date, then by position, so
 * the order is stable.  reverse turns the result around (also with
 * MAIL_SORT_NONE: the delivery order reversed).  The display strings of
 * a borrowed listing are used as they are.  -1 with err when out of
 * memory.
 */
int mail_sort(const struct mail_envelope_list *list, size_t *idx, size_t n,
              enum mail_sort_key key, bool reverse, struct mail_error *err);

#pragma GCC visibility pop

#endif
