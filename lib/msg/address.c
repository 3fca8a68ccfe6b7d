/*
 * address.c - a forgiving RFC 5322 address-list parser and its formatter.
 *
 * A tokenizer turns the field into atoms, quoted strings, domain literals,
 * comments and the specials < > @ , ; :.  Tokens are gathered per item
 * (up to the next top-level ',' or ';'), each marked as outside or inside
 * the angle brackets, and an item is turned into {name, addr} when it
 * ends.  All strings go into one arena; pointers are fixed at the end.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/address.h"
#include "mail/charset.h"
#include "mail/rfc2047.h"

#define ITEM_TOKENS_MAX 1024   /* tokens kept per item; more are skipped */
#define NO_STR SIZE_MAX

enum tok_type { T_ATOM, T_QUOTED, T_DLIT, T_COMMENT, T_SPECIAL };
enum tok_where { W_OUT, W_ANGLE, W_DROPPED };

struct tok {
    enum tok_type type;
    enum tok_where where;
    char special;
    bool space_before;
    size_t start, end;      /* raw span in the input */
};

struct entry {
    size_t name, addr, group;   /* arena offsets or NO_STR */
};

struct parser {
    const char *s;
    size_t len;
    struct tok *toks;
    size_t ntoks;
    bool angle_seen, in_angle;
    struct mail_buf arena;
    struct entry *entries;
    size_t nentries, alloc;
    size_t group;               /* arena offset of the open group, or NO_STR */
    size_t group_members;
    struct mail_buf tmp;
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0';
}

static bool is_delim(char c)
{
    return is_space(c) || c == '(' || c == '<' || c == '>' || c == '@' ||
           c == ',' || c == ';' || c == ':' || c == '"' || c == '[';
}

/* Read the next token at *pos; false at the end. */
static bool next_token(const char *s, size_t len, size_t *pos, struct tok *t)
{
    size_t i = *pos, start;

    t->space_before = false;
    while (i < len && is_space(s[i])) {
        i++;
        t->space_before = true;
    }
    if (i >= len) {
        *pos = i;
        return false;
    }
    start = i;
    t->where = W_OUT;
    t->special = 0;
    switch (s[i]) {
    case '(': {
        size_t depth = 0;

        t->type = T_COMMENT;
        while (i < len) {
            char c = s[i++];

            if (c == '\\' && i < len)
                i++;
            else if (c == '(')
                depth++;
            else if (c == ')' && --depth == 0)
                break;
        }
        break;
    }
    case '"':
        t->type = T_QUOTED;
        for (i++; i < len && s[i] != '"'; i++)
            if (s[i] == '\\' && i + 1 < len)
                i++;
        if (i < len)
            i++;
        break;
    case '[':
        t->type = T_DLIT;
        while (i < len && s[i] != ']')
            i++;
        if (i < len)
            i++;
        break;
    case '<':
    case '>':
    case '@':
    case ',':
    case ';':
    case ':':
        t->type = T_SPECIAL;
        t->special = s[i++];
        break;
    default:
        t->type = T_ATOM;
        while (i < len && !is_delim(s[i]))
            i++;
        break;
    }
    t->start = start;
    t->end = i;
    *pos = i;
    return true;
}

/* The content of a quoted string or comment token, unescaped. */
static int add_unquoted(struct mail_buf *b, const char *s, const struct tok *t)
{
    size_t i = t->start + 1, e = t->end;
    char close = t->type == T_QUOTED ? '"' : ')';

    if (e > i && s[e - 1] == close && (e - 1 > t->start))
        e--;
    for (; i < e; i++) {
        if (s[i] == '\\' && i + 1 < e)
            i++;
        if (mail_buf_addch(b, s[i]) < 0)
            return -1;
    }
    return 0;
}

/*
 * Store decoded display text (RFC 2047 decoded, made valid UTF-8, blanks
 * collapsed, trimmed) of the raw phrase in p->tmp into the arena.  Sets
 * *off to NO_STR when it is empty.
 */
static int store_name(struct parser *p, size_t *off)
{
    struct mail_buf dec;
    size_t i;
    bool blank = true;

    *off = NO_STR;
    mail_buf_init(&dec, 0);
    if (mail_rfc2047_decode(&dec, p->tmp.data ? p->tmp.data : "",
                            p->tmp.len) < 0) {
        mail_buf_release(&dec);
        return -1;
    }
    for (i = 0; i < dec.len; i++) {
        unsigned char c = (unsigned char)dec.data[i];

        if (c < 32 || c == 127) {
            blank = true;
            continue;
        }
        if (c == ' ') {
            blank = true;
            continue;
        }
        if (blank && *off != NO_STR && mail_buf_addch(&p->arena, ' ') < 0)
            goto oom;
        if (*off == NO_STR)
            *off = p->arena.len;
        blank = false;
        if (mail_buf_addch(&p->arena, (char)c) < 0)
            goto oom;
    }
    if (*off != NO_STR && mail_buf_addch(&p->arena, '\0') < 0)
        goto oom;
    mail_buf_release(&dec);
    return 0;
oom:
    mail_buf_release(&dec);
    return -1;
}

/* Phrase text of the tokens in [from, to) at `where` into p->tmp. */
static int build_phrase(struct parser *p, size_t from, size_t to,
                        enum tok_where where, bool skip_at_word,
                        const bool *in_word)
{
    size_t i;
    bool first = true;

    mail_buf_reset(&p->tmp);
    for (i = from; i < to; i++) {
        const struct tok *t = &p->toks[i];

        if (t->where != where || t->type == T_COMMENT)
            continue;
        if (skip_at_word && in_word[i])
            continue;
        if (!first && t->space_before && mail_buf_addch(&p->tmp, ' ') < 0)
            return -1;
        first = false;
        if (t->type == T_QUOTED) {
            if (add_unquoted(&p->tmp, p->s, t) < 0)
                return -1;
        } else if (t->type == T_SPECIAL) {
            if (mail_buf_addch(&p->tmp, t->special) < 0)
                return -1;
        } else if (mail_buf_add(&p->tmp, p->s + t->start,
                                t->end - t->start) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Does a quoted string or domain literal token end with its closing
 * character (not an escaped one)? */
static bool token_closed(const char *s, const struct tok *t)
{
    size_t i, n = t->end - t->start;
    char close = t->type == T_QUOTED ? '"' : ']';

    if (n < 2 || s[t->end - 1] != close)
        return false;
    if (t->type == T_DLIT)
        return true;
    /* Count the backslashes before the final quote. */
    for (i = t->end - 1; i > t->start + 1 && s[i - 1] == '\\'; i--)
        ;
    return (t->end - 1 - i) % 2 == 0;
}

/* Raw address text of tokens at `where` (or of the '@' word) into arena. */
static int store_addr(struct parser *p, enum tok_where where,
                      const bool *in_word, size_t *off)
{
    size_t i;

    mail_buf_reset(&p->tmp);
    for (i = 0; i < p->ntoks; i++) {
        const struct tok *t = &p->toks[i];

        if (t->where != where || t->type == T_COMMENT)
            continue;
        if (in_word && !in_word[i])
            continue;
        if (t->type == T_SPECIAL && t->special != '@')
            continue;
        if (mail_buf_add(&p->tmp, p->s + t->start, t->end - t->start) < 0)
            return -1;
        /* Close an unterminated quoted string or domain literal, so that
         * the address can be written back and read again the same. */
        if ((t->type == T_QUOTED || t->type == T_DLIT) &&
            !token_closed(p->s, t) &&
            mail_buf_addch(&p->tmp, t->type == T_QUOTED ? '"' : ']') < 0)
            return -1;
    }
    *off = p->arena.len;
    if (mail_utf8_sanitize(&p->arena, p->tmp.data ? p->tmp.data : "",
                           p->tmp.len) < 0)
        return -1;
    return mail_buf_addch(&p->arena, '\0');
}

/* The last non-empty comment outside the angle brackets, as a name. */
static int comment_name(struct parser *p, size_t *off)
{
    size_t i;

    *off = NO_STR;
    for (i = p->ntoks; i-- > 0;) {
        const struct tok *t = &p->toks[i];

        if (t->type != T_COMMENT || t->where != W_OUT)
            continue;
        mail_buf_reset(&p->tmp);
        if (add_unquoted(&p->tmp, p->s, t) < 0 || store_name(p, off) < 0)
            return -1;
        if (*off != NO_STR)
            return 0;
    }
    return 0;
}

static int add_entry(struct parser *p, size_t name, size_t addr)
{
    if (p->nentries >= MAIL_ADDRLIST_MAX)
        return 0;
    if (p->nentries == p->alloc) {
        size_t n = p->alloc ? p->alloc * 2 : 8;
        struct entry *e = realloc(p->entries, n * sizeof *e);

        if (!e)
            return -1;
        p->entries = e;
        p->alloc = n;
    }
    p->entries[p->nentries].name = name;
    p->entries[p->nentries].addr = addr;
    p->entries[p->nentries].group = p->group;
    p->nentries++;
    if (p->group != NO_STR)
        p->group_members++;
    return 0;
}

static int empty_str(struct parser *p, size_t *off)
{
    *off = p->arena.len;
    return mail_buf_addch(&p->arena, '\0');
}

/* Is the item a single quoted string (a name, not a local address)? */
static bool only_quoted(const struct parser *p)
{
    size_t i, n = 0;
    bool quoted = false;

    for (i = 0; i < p->ntoks; i++) {
        if (p->toks[i].type == T_COMMENT)
            continue;
        n++;
        quoted = p->toks[i].type == T_QUOTED;
    }
    return n == 1 && quoted;
}

/* Turn the gathered tokens of one item into an entry. */
static int end_item(struct parser *p)
{
    size_t name = NO_STR, addr = NO_STR, i, nwords = 0, at_words = 0;
    bool *in_word = NULL, has_at = false, any = false;
    int r = -1;

    for (i = 0; i < p->ntoks; i++)
        if (p->toks[i].type != T_COMMENT)
            any = true;
    if (!any && !p->angle_seen)
        goto reset;     /* empty item or only a comment: stray comma */
    if (p->angle_seen) {
        if (store_addr(p, W_ANGLE, NULL, &addr) < 0 ||
            build_phrase(p, 0, p->ntoks, W_OUT, false, NULL) < 0 ||
            store_name(p, &name) < 0)
            goto out;
        if (name == NO_STR && comment_name(p, &name) < 0)
            goto out;
        if (add_entry(p, name, addr) < 0)
            goto out;
        goto reset;
    }
    /* No angle brackets: find the words (runs of tokens not separated by
     * blanks; blanks next to '@' or '.' do not separate, for the obsolete
     * `john . doe @ example . com`). */
    in_word = calloc(p->ntoks + 1, sizeof *in_word);
    if (!in_word)
        goto out;
    {
        size_t wstart = 0, k;
        bool word_has_at = false, started = false;
        const struct tok *prev = NULL;

        for (i = 0; i <= p->ntoks; i++) {
            const struct tok *t = i < p->ntoks ? &p->toks[i] : NULL;
            bool boundary;

            if (t && t->type == T_COMMENT)
                continue;
            boundary = !t || (prev && t->space_before &&
                              !(t->type == T_SPECIAL && t->special == '@') &&
                              !(prev->type == T_SPECIAL &&
                                prev->special == '@') &&
                              p->s[prev->end - 1] != '.' &&
                              p->s[t->start] != '.');
            if (boundary && started) {
                nwords++;
                if (word_has_at) {
                    at_words++;
                    for (k = wstart; k < i; k++)
                        in_word[k] = true;
                }
                word_has_at = false;
                started = false;
            }
            if (!t)
                break;
            if (!started) {
                wstart = i;
                started = true;
            }
            if (t->type == T_SPECIAL && t->special == '@') {
                word_has_at = true;
                has_at = true;
            }
            prev = t;
        }
    }
    if (nwords >= 2 && at_words == 1) {
        /* `John Doe john@example.com` */
        if (store_addr(p, W_OUT, in_word, &addr) < 0 ||
            build_phrase(p, 0, p->ntoks, W_OUT, true, in_word) < 0 ||
            store_name(p, &name) < 0)
            goto out;
    } else if (has_at || (nwords == 1 && !only_quoted(p))) {
        if (store_addr(p, W_OUT, NULL, &addr) < 0 ||
            comment_name(p, &name) < 0)
            goto out;
    } else {
        /* Words and no address: keep them as a name. */
        if (build_phrase(p, 0, p->ntoks, W_OUT, false, NULL) < 0 ||
            store_name(p, &name) < 0 || empty_str(p, &addr) < 0)
            goto out;
    }
    if (add_entry(p, name, addr) < 0)
        goto out;
reset:
    p->ntoks = 0;
    p->angle_seen = false;
    p->in_angle = false;
    r = 0;
out:
    free(in_word);
    return r;
}

static int start_group(struct parser *p)
{
    size_t off;

    if (build_phrase(p, 0, p->ntoks, W_OUT, false, NULL) < 0 ||
        store_name(p, &off) < 0)
        return -1;
    if (off == NO_STR && empty_str(p, &off) < 0)
        return -1;
    p->group = off;
    p->group_members = 0;
    p->ntoks = 0;
    p->angle_seen = false;
    return 0;
}

static int end_group(struct parser *p)
{
    size_t addr;

    if (p->group == NO_STR)
        return 0;
    if (p->group_members == 0 &&
        (empty_str(p, &addr) < 0 || add_entry(p, NO_STR, addr) < 0))
        return -1;
    p->group = NO_STR;
    return 0;
}

/* Does the angle content so far start a route ("@a,@b:")? */
static bool angle_is_route(const struct parser *p)
{
    size_t i;

    for (i = 0; i < p->ntoks; i++)
        if (p->toks[i].where == W_ANGLE && p->toks[i].type != T_COMMENT)
            return p->toks[i].type == T_SPECIAL &&
                   p->toks[i].special == '@';
    return false;
}

static int parse(struct parser *p)
{
    size_t pos = 0;
    struct tok t;

    while (next_token(p->s, p->len, &pos, &t)) {
        if (t.type == T_SPECIAL) {
            switch (t.special) {
            case '<':
                if (!p->angle_seen) {
                    p->angle_seen = true;
                    p->in_angle = true;
                }
                continue;
            case '>':
                p->in_angle = false;
                continue;
            case ':':
                if (p->in_angle) {
                    /* End of a route: drop it. */
                    for (size_t i = 0; i < p->ntoks; i++)
                        if (p->toks[i].where == W_ANGLE)
                            p->toks[i].where = W_DROPPED;
                    continue;
                }
                if (!p->angle_seen) {
                    if (start_group(p) < 0)
                        return -1;
                    continue;
                }
                continue;   /* stray ':' after an angle address */
            case ',':
                if (p->in_angle && angle_is_route(p))
                    continue;       /* "@a,@b:" route list */
                p->in_angle = false;    /* a missing '>' */
                if (end_item(p) < 0)
                    return -1;
                continue;
            case ';':
                p->in_angle = false;
                if (end_item(p) < 0 || end_group(p) < 0)
                    return -1;
                continue;
            default:
                break;      /* '@' is kept as a token */
            }
        }
        if (p->in_angle && t.type == T_COMMENT)
            continue;
        if (p->ntoks >= ITEM_TOKENS_MAX)
            continue;
        t.where = p->in_angle ? W_ANGLE : W_OUT;
        p->toks[p->ntoks++] = t;
    }
    if (end_item(p) < 0 || end_group(p) < 0)
        return -1;
    return 0;
}

void mail_addrlist_release(struct mail_addrlist *l)
{
    free(l->v);
    free(l->buf);
    l->v = NULL;
    l->n = 0;
    l->buf = NULL;
}

int mail_addrlist_parse(struct mail_addrlist *l, const char *value,
                        struct mail_error *err)
{
    struct parser p;
    size_t i;
    int r = -1;

    mail_addrlist_release(l);
    memset(&p, 0, sizeof p);
    p.s = value ? value : "";
    p.len = strlen(p.s);
    p.group = NO_STR;
    mail_buf_init(&p.arena, 0);
    mail_buf_init(&p.tmp, 0);
    p.toks = malloc(ITEM_TOKENS_MAX * sizeof *p.toks);
    if (!p.toks || parse(&p) < 0)
        goto done;
    /* Hand over the arena and turn offsets into pointers. */
    if (mail_buf_addch(&p.arena, '\0') < 0)
        goto done;
    l->v = calloc(p.nentries ? p.nentries : 1, sizeof *l->v);
    if (!l->v)
        goto done;
    l->buf = p.arena.data;
    p.arena.data = NULL;
    for (i = 0; i < p.nentries; i++) {
        const struct entry *e = &p.entries[i];

        l->v[i].name = e->name == NO_STR ? NULL : l->buf + e->name;
        l->v[i].addr = e->addr == NO_STR ? "" : l->buf + e->addr;
        l->v[i].group = e->group == NO_STR ? NULL : l->buf + e->group;
    }
    l->n = p.nentries;
    r = 0;
done:
    free(p.toks);
    free(p.entries);
    mail_buf_release(&p.arena);
    mail_buf_release(&p.tmp);
    if (r < 0) {
        mail_addrlist_release(l);
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    return r;
}

/* --- formatting --------------------------------------------------------- */

static bool is_atext(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || (c >= 128) ||
           strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* Append a display name as a phrase: atoms, quoted string or encoded. */
static int format_phrase(struct mail_buf *out, const char *name)
{
    size_t len = strlen(name), i;
    bool atoms = len > 0 && name[0] != ' ' && name[len - 1] != ' ';

    if (mail_rfc2047_needed(name, len))
        return mail_rfc2047_encode(out, name, len, MAIL_RFC2047_PHRASE);
    for (i = 0; i < len && atoms; i++)
        if (!is_atext((unsigned char)name[i]) &&
            !(name[i] == ' ' && name[i + 1] != ' '))
            atoms = false;
    if (atoms)
        return mail_buf_add(out, name, len);
    if (mail_buf_addch(out, '"') < 0)
        return -1;
    for (i = 0; i < len; i++) {
        if ((name[i] == '"' || name[i] == '\\') &&
            mail_buf_addch(out, '\\') < 0)
            return -1;
        if (mail_buf_addch(out, name[i] == '\t' ? ' ' : name[i]) < 0)
            return -1;
    }
    return mail_buf_addch(out, '"');
}

int mail_address_format(struct mail_buf *out, const char *name,
                        const char *addr)
{
    if (!addr)
        addr = "";
    if (!name || !*name)
        return mail_buf_addstr(out, addr);
    if (format_phrase(out, name) < 0)
        return -1;
    return mail_buf_printf(out, " <%s>", addr);
}

int mail_addrlist_format(struct mail_buf *out, const struct mail_addrlist *l)
{
    const char *group = NULL;
    bool first = true;
    size_t i;

    for (i = 0; i < l->n; i++) {
        const struct mail_address *a = &l->v[i];

        if (group && a->group != group) {
            if (mail_buf_addch(out, ';') < 0)
                return -1;
            group = NULL;
        }
        if (a->group && a->group != group) {
            if ((!first && mail_buf_addstr(out, ", ") < 0) ||
                format_phrase(out, a->group) < 0 ||
                mail_buf_addch(out, ':') < 0)
                return -1;
            group = a->group;
            first = false;
            if (!a->name && !*a->addr)
                continue;       /* the empty-group marker */
            if (mail_buf_addch(out, ' ') < 0)
                return -1;
        } else if (!first && mail_buf_addstr(out, ", ") < 0) {
            return -1;
        }
        first = false;
        if (mail_address_format(out, a->name, a->addr) < 0)
            return -1;
    }
    if (group && mail_buf_addch(out, ';') < 0)
        return -1;
    return 0;
}

/* --- strict checking ---------------------------------------------------- */

struct check {
    const char *s;
    size_t len, pos;
    struct tok t;       /* the current token (comments skipped) */
    bool have;          /* t is valid; false at the end */
    const char *why;    /* the first problem */
};

static bool atom_ok(const char *s, const struct tok *t)
{
    for (size_t i = t->start; i < t->end; i++)
        if (!is_atext((unsigned char)s[i]) && s[i] != '.')
            return false;
    return true;
}

/* Advance to the next token that is not a comment. */
static void check_next(struct check *c)
{
    for (;;) {
        c->have = next_token(c->s, c->len, &c->pos, &c->t);
        if (!c->have)
            return;
        if (c->t.type == T_COMMENT) {
            if (c->s[c->t.end - 1] != ')' && !c->why)
                c->why = "an unclosed comment";
            continue;
        }
        if ((c->t.type == T_QUOTED || c->t.type == T_DLIT) &&
            !token_closed(c->s, &c->t) && !c->why)
            c->why = "an unclosed quote or bracket";
        if (c->t.type == T_ATOM && !atom_ok(c->s, &c->t) && !c->why)
            c->why = "a character not allowed in an address";
        return;
    }
}

static bool at_special(const struct check *c, char sp)
{
    return c->have && c->t.type == T_SPECIAL && c->t.special == sp;
}

static bool at_word(const struct check *c)
{
    return c->have && (c->t.type == T_ATOM || c->t.type == T_QUOTED);
}

/* addr-spec: local-part ["@" domain]. */
static bool check_addr_spec(struct check *c, bool *has_at)
{
    if (!at_word(c))
        return false;
    check_next(c);
    *has_at = false;
    if (!at_special(c, '@'))
        return true;
    *has_at = true;
    check_next(c);
    if (!c->have || (c->t.type != T_ATOM && c->t.type != T_DLIT))
        return false;
    check_next(c);
    return true;
}

/* mailbox: addr-spec | [phrase] "<" addr-spec ">".  At the start of an
 * item the words may be a phrase or a local part: decided by what
 * follows. */
static bool check_mailbox(struct check *c, bool groups, bool *group_open)
{
    size_t words = 0;
    bool has_at;
    struct check save = *c;

    while (at_word(c) || (c->have && c->t.type == T_ATOM)) {
        words++;
        check_next(c);
    }
    if (at_special(c, '<')) {
        check_next(c);
        /* An obsolete route (@a,@b:) is not accepted from users. */
        if (!check_addr_spec(c, &has_at) || !at_special(c, '>'))
            return false;
        check_next(c);
        return true;
    }
    if (words && at_special(c, ':') && groups && !*group_open) {
        *group_open = true;
        check_next(c);
        return true;
    }
    /* Not a phrase: the words must be one addr-spec. */
    *c = save;
    return check_addr_spec(c, &has_at);
}

int mail_address_check(const char *value, bool groups, struct mail_error *err)
{
    struct check c;
    bool group_open = false, item_done = false;

    memset(&c, 0, sizeof c);
    c.s = value ? value : "";
    c.len = strlen(c.s);
    for (size_t i = 0; i < c.len; i++)
        if ((unsigned char)c.s[i] < 0x20 && c.s[i] != '\t') {
            c.why = "a control character";
            goto bad;
        }
    check_next(&c);
    while (c.have && !c.why) {
        if (at_special(&c, ',')) {
            item_done = false;
            check_next(&c);
            continue;
        }
        if (at_special(&c, ';') && group_open) {
            group_open = false;
            item_done = true;
            check_next(&c);
            continue;
        }
        if (item_done) {
            c.why = "text after the address (spaces or parameters are not "
                    "part of an address)";
            break;
        }
        {
            bool was_open = group_open;

            if (!check_mailbox(&c, groups, &group_open)) {
                if (!c.why)
                    c.why = "not a valid address (spaces, parameters or "
                            "stray brackets are not part of an address)";
                break;
            }
            /* A group's name is followed by its members directly. */
            item_done = was_open == group_open;
        }
    }
    if (!c.why && group_open)
        c.why = "a group without its closing ';'";
    if (!c.why)
        return 0;
bad:
    return mail_error_set(err, MAIL_ERR_USAGE, "'%.200s' is not a valid "
                          "address: %s", c.s, c.why);
}
