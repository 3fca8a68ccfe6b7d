/*
 * address.h - address lists (RFC 5322 3.4): From, To, Cc, Bcc, Reply-To...
 *
 * Parsing never fails on any input: every item yields the most readable
 * {name, address} that can be made of it (doc/VIOLATIONS.md lists the
 * leniencies).  Handled: display names as atoms or quoted strings (with
 * escapes, RFC 2047 encoded words decoded, also inside quotes), angle
 * addresses with or without a name, comments (nested; ignored, except
 * that a comment names an address that has no display name, the old
 * `addr (Name)` form), groups (`team: a@x, b@y;`, `undisclosed-recipients:;`),
 * the obsolete route `<@a,@b:user@host>` (dropped), quoted local parts
 * and domain literals (kept as written), UTF-8 (kept), a missing '>',
 * stray and doubled commas, and `Name user@host` without angle brackets.
 */
#ifndef MAIL_ADDRESS_H
#define MAIL_ADDRESS_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"

/* At most this many addresses are kept from one field; more are dropped. */
#define MAIL_ADDRLIST_MAX 10000

struct mail_address {
    /* Display name, decoded to UTF-8, blanks collapsed, NULL when none. */
    const char *name;
    /* The addr-spec as written, minus comments, blanks and any route:
     * `user@example.com`, `"john doe"@example.com`, `root`.  "" when the
     * item has no address (a bare name, or an empty group). */
    const char *addr;
    /* Decoded name of the group the address is in, or NULL.  An empty
     * group yields one item with name NULL and addr "". */
    const char *group;
};

struct mail_addrlist {
    struct mail_address *v;
    size_t n;
    char *buf;    /* owns every string of v */
};

#define MAIL_ADDRLIST_INIT { NULL, 0, NULL }

/*
 * Parse the value of an address field (raw bytes, as in mail_header_get;
 * NULL is taken as "").  l must be initialised (MAIL_ADDRLIST_INIT) or
 * released; it is overwritten.  Returns 0, or -1 with err set
 * (MAIL_ERR_INTERNAL) only when out of memory.  Free with
 * mail_addrlist_release.
 */
int mail_addrlist_parse(struct mail_addrlist *l, const char *value,
                        struct mail_error *err);

/* Free the memory; l is then as after MAIL_ADDRLIST_INIT. */
void mail_addrlist_release(struct mail_addrlist *l);

/*
 * Append one address in header syntax, for the composer: `addr` alone
 * when name is NULL or empty, `Name <addr>` when the name is atoms,
 * `"Doe, John" <addr>` when it needs quoting, and RFC 2047 encoded words
 * (`=?UTF-8?Q?Ren=C3=A9?= <addr>`) when it is not ASCII.  name is UTF-8.
 * -1 on ENOMEM or cap.
 */
int mail_address_format(struct mail_buf *out, const char *name,
                        const char *addr);

/*
 * Append a whole list, items separated by ", ", groups written as
 * `name: a, b;` (an empty group as `name:;`).  -1 on ENOMEM or cap.
 */
int mail_addrlist_format(struct mail_buf *out, const struct mail_addrlist *l);

/*
 * Check that value is a well-formed address list, not one the forgiving
 * parser above would repair: each item an addr-spec or
 * `[phrase] <addr-spec>` with comments allowed, items separated by ','.
 * groups: `name: a, b;` allowed too (header fields; not for command-line
 * arguments).  A local part without '@' passes (aliases and a default
 * domain deal with it).  MAIL_ERR_USAGE naming value for anything else:
 * blanks or ESMTP parameters after an address ("bob@x ORCPT=rfc822;z@z",
 * "bob@x> NOTIFY=NEVER"), stray brackets, unclosed quotes, control
 * characters.
 */
int mail_address_check(const char *value, bool groups, struct mail_error *err);

#pragma GCC visibility pop

#endif
