/*
 * json.c - a bounded JSON reader (see mail/json.h).
 *
 * A recursive-descent parser whose recursion is bounded by
 * MAIL_JSON_MAX_DEPTH; every node is counted against MAIL_JSON_MAX_NODES
 * so that a 1 MiB document of "[[],[],..." cannot cost more than a
 * bounded amount of memory.  Errors give the byte offset, never the text
 * (a token endpoint's reply may hold a secret).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/buf.h"
#include "mail/json.h"
#include "mail/termsafe.h"

struct jp {
    const char *s;
    size_t len, pos;
    size_t nodes;
    struct mail_error *err;
};

static int fail(struct jp *p, const char *what)
{
    return mail_error_set(p->err, MAIL_ERR_DATA, "bad JSON at byte %zu: %s",
                          p->pos, what);
}

static void skip_ws(struct jp *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];

        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

static struct mail_json *node(struct jp *p, enum mail_json_type t)
{
    struct mail_json *v;

    if (++p->nodes > MAIL_JSON_MAX_NODES) {
        fail(p, "too many values");
        return NULL;
    }
    v = calloc(1, sizeof *v);
    if (!v) {
        mail_error_set(p->err, MAIL_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    v->type = t;
    return v;
}

static void free_str(char *s, size_t len)
{
    if (s) {
        mail_wipe(s, len);
        free(s);
    }
}

void mail_json_free(struct mail_json *v)
{
    while (v) {
        struct mail_json *next = v->next;

        mail_json_free(v->child);
        if (v->key)
            free_str(v->key, strlen(v->key));
        free_str(v->str, v->len);
        free(v);
        v = next;
    }
}

static int utf8_put(struct mail_buf *b, uint32_t cp)
{
    char u[4];
    size_t n = mail_utf8_encode(cp, u);

    return n ? mail_buf_add(b, u, n) : -1;
}

static int hex4(struct jp *p, uint32_t *out)
{
    uint32_t v = 0;
    size_t i;

    if (p->len - p->pos < 4)
        return fail(p, "short \\u escape");
    for (i = 0; i < 4; i++) {
        char c = p->s[p->pos + i];

        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return fail(p, "bad \\u escape");
    }
    p->pos += 4;
    *out = v;
    return 0;
}

/* At the opening quote.  The decoded string (NUL-terminated) in *out. */
static int parse_string(struct jp *p, char **out, size_t *outlen)
{
    struct mail_buf b = MAIL_BUF_INIT;

    mail_buf_set_secret(&b);
    p->pos++;                       /* the quote */
    for (;;) {
        unsigned char c;

        if (p->pos >= p->len) {
            fail(p, "unterminated string");
            goto bad;
        }
        c = (unsigned char)p->s[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c < 0x20) {
            fail(p, "control character in a string");
            goto bad;
        }
        if (c == '\\') {
            char e;
            uint32_t cp;

            if (++p->pos >= p->len) {
                fail(p, "unterminated string");
                goto bad;
            }
            e = p->s[p->pos++];
            switch (e) {
            case '"': case '\\': case '/':
                if (mail_buf_addch(&b, e) < 0)
                    goto nomem;
                continue;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'u':
                if (hex4(p, &cp) < 0)
                    goto bad;
                if (cp >= 0xdc00 && cp <= 0xdfff) {
                    fail(p, "lone low surrogate");
                    goto bad;
                }
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    uint32_t lo;

                    if (p->len - p->pos < 2 || p->s[p->pos] != '\\' ||
                        p->s[p->pos + 1] != 'u') {
                        fail(p, "lone high surrogate");
                        goto bad;
                    }
                    p->pos += 2;
                    if (hex4(p, &lo) < 0)
                        goto bad;
                    if (lo < 0xdc00 || lo > 0xdfff) {
                        fail(p, "lone high surrogate");
                        goto bad;
                    }
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                }
                if (cp == 0) {
                    fail(p, "\\u0000 in a string");
                    goto bad;
                }
                if (utf8_put(&b, cp) < 0)
                    goto nomem;
                continue;
            default:
                p->pos--;
                fail(p, "bad escape");
                goto bad;
            }
            if (mail_buf_addch(&b, (char)c) < 0)
                goto nomem;
            continue;
        }
        if (c < 0x80) {
            if (mail_buf_addch(&b, (char)c) < 0)
                goto nomem;
            p->pos++;
        } else {
            uint32_t cp;
            size_t n = mail_utf8_decode(p->s + p->pos, p->len - p->pos, &cp);

            if (n == 0) {
                fail(p, "invalid UTF-8 in a string");
                goto bad;
            }
            if (mail_buf_add(&b, p->s + p->pos, n) < 0)
                goto nomem;
            p->pos += n;
        }
    }
    if (mail_buf_reserve(&b, 1) < 0)
        goto nomem;
    *outlen = b.len;
    b.data[b.len] = '\0';
    *out = mail_buf_detach(&b);
    if (!*out) {
        *out = calloc(1, 1);
        if (!*out)
            goto nomem;
    }
    return 0;
nomem:
    mail_error_set(p->err, MAIL_ERR_INTERNAL, "out of memory");
bad:
    mail_buf_release_secret(&b);
    return -1;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int parse_number(struct jp *p, struct mail_json *v)
{
    size_t start = p->pos, n;
    char *end;

    if (p->pos < p->len && p->s[p->pos] == '-')
        p->pos++;
    if (p->pos >= p->len || !is_digit(p->s[p->pos]))
        return fail(p, "bad number");
    if (p->s[p->pos] == '0') {
        p->pos++;
    } else {
        while (p->pos < p->len && is_digit(p->s[p->pos]))
            p->pos++;
    }
    if (p->pos < p->len && p->s[p->pos] == '.') {
        p->pos++;
        if (p->pos >= p->len || !is_digit(p->s[p->pos]))
            return fail(p, "bad number");
        while (p->pos < p->len && is_digit(p->s[p->pos]))
            p->pos++;
    }
    if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
        p->pos++;
        if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
            p->pos++;
        if (p->pos >= p->len || !is_digit(p->s[p->pos]))
            return fail(p, "bad number");
        while (p->pos < p->len && is_digit(p->s[p->pos]))
            p->pos++;
    }
    n = p->pos - start;
    if (n > 64)
        return fail(p, "number too long");
    v->str = malloc(n + 1);
    if (!v->str)
        return mail_error_set(p->err, MAIL_ERR_INTERNAL, "out of memory");
    memcpy(v->str, p->s + start, n);
    v->str[n] = '\0';
    v->len = n;
    v->num = strtod(v->str, &end);
    return 0;
}

static int match_word(struct jp *p, const char *w)
{
    size_t n = strlen(w);

    if (p->len - p->pos < n || memcmp(p->s + p->pos, w, n) != 0)
        return fail(p, "unexpected character");
    p->pos += n;
    return 0;
}

static struct mail_json *parse_value(struct jp *p, int depth);

static int parse_elements(struct jp *p, struct mail_json *v, int depth,
                          char close, bool object)
{
    struct mail_json **tail = &v->child;

    p->pos++;                       /* [ or { */
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        return 0;
    }
    for (;;) {
        char *key = NULL;
        size_t keylen = 0;
        struct mail_json *e;

        skip_ws(p);
        if (object) {
            if (p->pos >= p->len || p->s[p->pos] != '"')
                return fail(p, "expected a member name");
            if (parse_string(p, &key, &keylen) < 0)
                return -1;
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':') {
                free_str(key, keylen);
                return fail(p, "expected ':'");
            }
            p->pos++;
        }
        e = parse_value(p, depth + 1);
        if (!e) {
            free_str(key, keylen);
            return -1;
        }
        e->key = key;
        *tail = e;
        tail = &e->next;
        v->count++;
        skip_ws(p);
        if (p->pos >= p->len)
            return fail(p, "unterminated container");
        if (p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->s[p->pos] == close) {
            p->pos++;
            return 0;
        }
        return fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static struct mail_json *parse_value(struct jp *p, int depth)
{
    struct mail_json *v = NULL;
    int rc;

    if (depth > MAIL_JSON_MAX_DEPTH) {
        fail(p, "nested too deeply");
        return NULL;
    }
    skip_ws(p);
    if (p->pos >= p->len) {
        fail(p, "expected a value");
        return NULL;
    }
    switch (p->s[p->pos]) {
    case '{':
        if (!(v = node(p, MAIL_JSON_OBJECT)))
            return NULL;
        rc = parse_elements(p, v, depth, '}', true);
        break;
    case '[':
        if (!(v = node(p, MAIL_JSON_ARRAY)))
            return NULL;
        rc = parse_elements(p, v, depth, ']', false);
        break;
    case '"':
        if (!(v = node(p, MAIL_JSON_STRING)))
            return NULL;
        rc = parse_string(p, &v->str, &v->len);
        break;
    case 't':
        if (!(v = node(p, MAIL_JSON_TRUE)))
            return NULL;
        rc = match_word(p, "true");
        break;
    case 'f':
        if (!(v = node(p, MAIL_JSON_FALSE)))
            return NULL;
        rc = match_word(p, "false");
        break;
    case 'n':
        if (!(v = node(p, MAIL_JSON_NULL)))
            return NULL;
        rc = match_word(p, "null");
        break;
    default:
        if (!(v = node(p, MAIL_JSON_NUMBER)))
            return NULL;
        rc = parse_number(p, v);
        break;
    }
    if (rc < 0) {
        mail_json_free(v);
        return NULL;
    }
    return v;
}

struct mail_json *mail_json_parse(const char *text, size_t len,
                                  struct mail_error *err)
{
    struct jp p = { text, len, 0, 0, err };
    struct mail_json *v;

    if (!text)
        len = p.len = 0, p.s = "";
    if (len > MAIL_JSON_MAX_SIZE) {
        mail_error_set(err, MAIL_ERR_DATA, "JSON document larger than %zu "
                       "bytes", MAIL_JSON_MAX_SIZE);
        return NULL;
    }
    v = parse_value(&p, 1);
    if (!v)
        return NULL;
    skip_ws(&p);
    if (p.pos != p.len) {
        fail(&p, "garbage after the value");
        mail_json_free(v);
        return NULL;
    }
    return v;
}

const struct mail_json *mail_json_get(const struct mail_json *obj,
                                      const char *key)
{
    const struct mail_json *e;

    if (!obj || obj->type != MAIL_JSON_OBJECT || !key)
        return NULL;
    for (e = obj->child; e; e = e->next)
        if (e->key && strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

const char *mail_json_get_string(const struct mail_json *obj,
                                 const char *key)
{
    const struct mail_json *v = mail_json_get(obj, key);

    return v && v->type == MAIL_JSON_STRING ? v->str : NULL;
}

int mail_json_get_int(const struct mail_json *obj, const char *key,
                      long long *out)
{
    const struct mail_json *v = mail_json_get(obj, key);
    const char *s;
    char *end;
    long long n;
    size_t i;

    if (!v || (v->type != MAIL_JSON_NUMBER && v->type != MAIL_JSON_STRING))
        return -1;
    s = v->str;
    if (!s || !*s)
        return -1;
    for (i = s[0] == '-' ? 1 : 0; s[i]; i++)
        if (!is_digit(s[i]))
            return -1;
    if (i == (s[0] == '-' ? 1u : 0u))
        return -1;
    errno = 0;
    n = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = n;
    return 0;
}
