/*
 * aliases.h - recipient aliases and bare local names.
 *
 * The aliases file is mutt's format, one alias a line:
 *
 *   # comment
 *   alias bob    Bob Example <bob@example.com>
 *   alias team   alice@example.com, Bob <bob@example.com>
 *   alias root   admin            (another alias: expanded in turn)
 *
 * ("alias -group NAME ..." as mutt writes it: the -group words are
 * skipped; other lines are ignored, as a mutt alias file may hold other
 * commands.)  It lives in $XDG_CONFIG_HOME/mail/aliases, or
 * ~/.config/mail/aliases (mail_aliases_default_path).
 *
 * mail_rcpt_resolve turns what the user gave as a recipient into a
 * checked address list: aliases expanded (for every item without '@'),
 * a bare name qualified with the account's domain, anything else that is
 * not an address refused.
 */
#ifndef MAIL_ALIASES_H
#define MAIL_ALIASES_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>

#include "address.h"
#include "buf.h"
#include "error.h"
#include "paths.h"

struct mail_alias {
    char *name;
    char *value;      /* an address list, as written */
};

struct mail_aliases {
    struct mail_alias *v;
    size_t n;
};

#define MAIL_ALIASES_INIT { NULL, 0 }

/* The default path, "$XDG_CONFIG_HOME/mail/aliases" (else under
 * ~/.config); malloc'd.  NULL with MAIL_ERR_CONFIG when there is no home. */
char *mail_aliases_default_path(const struct mail_paths *paths,
                                struct mail_error *err);

/* Read the aliases file at path into a (released first).  A missing file
 * is an empty set.  MAIL_ERR_CONFIG for an alias line without a value or
 * a value with a line break, MAIL_ERR_IO when it cannot be read.  A later
 * alias of the same name wins, as in mutt. */
int mail_aliases_load(struct mail_aliases *a, const char *path,
                      struct mail_error *err);

/* Add one alias (the parser's step; for tests and callers with their own
 * source). */
int mail_aliases_add(struct mail_aliases *a, const char *name,
                     const char *value, struct mail_error *err);

/* The value of alias name (case-insensitive), or NULL. */
const char *mail_aliases_lookup(const struct mail_aliases *a,
                                const char *name);

void mail_aliases_release(struct mail_aliases *a);

/* Whether name can be an alias's name: 1 to 128 bytes of valid UTF-8,
 * no blanks (also Unicode spaces), control or bidirectional characters,
 * none of @ , < > " ' ` \ # ; : ( ) [ ], not starting with '-'.
 * MAIL_ERR_USAGE saying what is wrong. */
int mail_alias_name_check(const char *name, struct mail_error *err);

/*
 * Change the aliases file at path: with value, alias name is set to it
 * (its first line rewritten, "alias [-group G] NAME VALUE", or a line
 * appended; later lines defining the same name dropped); with value
 * NULL, every line defining name is removed (MAIL_ERR_NOTFOUND when
 * there is none).  Every other line (comments, other commands) is kept as
 * it is.  The file is replaced atomically under a lock (on its
 * directory: no lock file is left behind) and keeps its mode (0600 for a new file).  MAIL_ERR_USAGE for a bad name
 * (mail_alias_name_check) or value (mail_address_check without groups),
 * MAIL_ERR_TEMP when locked for more than 5 s, MAIL_ERR_IO /
 * MAIL_ERR_CANTCREAT.
 */
int mail_aliases_file_set(const char *path, const char *name,
                          const char *value, struct mail_error *err);

/*
 * Resolve one recipient argument (one address or a list, as typed after
 * -c, -b or as an argument, or a To/Cc/Bcc value of a message given
 * whole): checked with mail_address_check (groups only when groups is
 * set), then every item whose address has no '@' is replaced by its
 * alias (expanded again, up to 8 levels) or, with no alias, qualified as
 * NAME@domain.  The resulting items are appended to out as a formatted
 * address list ("Name <a@x>, b@y"; ", " between items; an empty group
 * is dropped).  aliases and domain may be NULL.
 *
 * MAIL_ERR_USAGE naming the item: "'root' is not an address: no alias
 * 'root' and no domain to add (set domain in the account)", a malformed
 * address (mail_address_check), an alias loop.
 */
int mail_rcpt_resolve(const struct mail_aliases *aliases, const char *domain,
                      const char *arg, bool groups, struct mail_buf *out,
                      struct mail_error *err);

#pragma GCC visibility pop

#endif
