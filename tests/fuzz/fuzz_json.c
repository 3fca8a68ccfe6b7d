/*
 * fuzz_json.c - libFuzzer target for the bounded JSON reader (json.h).
 *
 * Whatever parses must be a tree whose strings are valid UTF-8 without a
 * NUL, whose counts match, and no deeper than MAIL_JSON_MAX_DEPTH; the
 * lookups must not crash on any node.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/json.h"
#include "mail/termsafe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_utf8(const char *s, size_t len)
{
    size_t i = 0;

    if (!s || strlen(s) != len)
        abort();
    while (i < len) {
        uint32_t cp;
        size_t n = mail_utf8_decode(s + i, len - i, &cp);

        if (n == 0 || cp == 0)
            abort();
        i += n;
    }
}

static void walk(const struct mail_json *v, int depth)
{
    const struct mail_json *c;
    size_t n = 0;
    long long x;

    if (depth > MAIL_JSON_MAX_DEPTH)
        abort();
    switch (v->type) {
    case MAIL_JSON_STRING:
        check_utf8(v->str, v->len);
        break;
    case MAIL_JSON_NUMBER:
        if (!v->str || strlen(v->str) != v->len || v->len == 0)
            abort();
        break;
    case MAIL_JSON_ARRAY:
    case MAIL_JSON_OBJECT:
        for (c = v->child; c; c = c->next) {
            if ((v->type == MAIL_JSON_OBJECT) != (c->key != NULL))
                abort();
            if (c->key) {
                check_utf8(c->key, strlen(c->key));
                if (!mail_json_get(v, c->key))
                    abort();
                (void)mail_json_get_string(v, c->key);
                (void)mail_json_get_int(v, c->key, &x);
            }
            walk(c, depth + 1);
            n++;
        }
        if (n != v->count)
            abort();
        break;
    default:
        if (v->child || v->str)
            abort();
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mail_error err;
    struct mail_json *v;

    mail_error_clear(&err);
    v = mail_json_parse((const char *)data, size, &err);
    if (v) {
        walk(v, 1);
        (void)mail_json_get_string(v, "access_token");
        mail_json_free(v);
    } else if (err.kind != MAIL_ERR_DATA && err.kind != MAIL_ERR_INTERNAL) {
        abort();
    }
    return 0;
}
