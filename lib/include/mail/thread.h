/*
 * thread.h - messages in thread order, with a depth for each, for
 * `mail ls --thread` and the reader's threaded index.
 *
 * JWZ-lite: a message's parent is the last message of its References
 * that is in the set, else its In-Reply-To; a reference that would make a
 * loop is ignored, and when two messages share a Message-ID the first
 * one (in input order) is the one replies hang under.  Children follow
 * their parent by date (Date:, else delivery; ties keep input order);
 * threads go by the date of their earliest message.
 */
#ifndef MAIL_THREAD_H
#define MAIL_THREAD_H

#pragma GCC visibility push(default)

#include <stddef.h>

#include "error.h"
#include "folder.h"

/*
 * idx[0..n): indexes into list->v of the messages to thread, in input
 * order; rewritten in thread order.  depth[k] (n entries) gets the depth
 * of the message now at idx[k] (0 for a thread's root).  0, or -1 with
 * err (MAIL_ERR_INTERNAL: out of memory; idx is then unchanged).
 */
int mail_thread(const struct mail_envelope_list *list, size_t *idx,
                unsigned *depth, size_t n, struct mail_error *err);

#pragma GCC visibility pop

#endif
