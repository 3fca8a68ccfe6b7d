/*
 * json.h - a small, bounded JSON (RFC 8259) reader for the few documents
 * libmail receives over HTTP (OAuth 2.0 token and device endpoints) and
 * keeps on disk (the OAuth 2.0 token file).
 *
 *     struct mail_json *doc = mail_json_parse(text, len, &err);
 *     const char *tok = mail_json_get_string(doc, "access_token");
 *     long long ttl;
 *     if (mail_json_get_int(doc, "expires_in", &ttl) == 0) ...
 *     mail_json_free(doc);
 *
 * Bounds: MAIL_JSON_MAX_SIZE bytes of input, MAIL_JSON_MAX_DEPTH levels
 * of nesting, MAIL_JSON_MAX_NODES values; beyond them the document is
 * refused (MAIL_ERR_DATA), as is anything that is not exactly one JSON
 * value with optional white space around it.  Strings are decoded to
 * UTF-8 (\u escapes, surrogate pairs joined); a lone surrogate, \u0000,
 * a raw control character and bytes that are not UTF-8 are refused.
 * Every decoded string is wiped when the tree is freed: tokens pass
 * through here.
 */
#ifndef MAIL_JSON_H
#define MAIL_JSON_H

#pragma GCC visibility push(default)

#include <stddef.h>

#include "error.h"

#define MAIL_JSON_MAX_SIZE ((size_t)1 << 20)
#define MAIL_JSON_MAX_DEPTH 32
#define MAIL_JSON_MAX_NODES 20000

enum mail_json_type {
    MAIL_JSON_NULL,
    MAIL_JSON_FALSE,
    MAIL_JSON_TRUE,
    MAIL_JSON_NUMBER,
    MAIL_JSON_STRING,
    MAIL_JSON_ARRAY,
    MAIL_JSON_OBJECT,
};

struct mail_json {
    enum mail_json_type type;
    char *key;                 /* member name when inside an object */
    char *str;                 /* STRING: decoded UTF-8; NUMBER: its text */
    size_t len;                /* of str */
    double num;                /* NUMBER */
    struct mail_json *child;   /* ARRAY, OBJECT: the first element */
    struct mail_json *next;    /* the next element of the parent */
    size_t count;              /* ARRAY, OBJECT: number of elements */
};

/* Parse exactly one value.  NULL with err (MAIL_ERR_DATA, the byte offset
 * and what is wrong; never the document's text) or MAIL_ERR_INTERNAL. */
struct mail_json *mail_json_parse(const char *text, size_t len,
                                  struct mail_error *err);

/* Free a tree (wiping its strings); NULL is allowed. */
void mail_json_free(struct mail_json *v);

/* The first member of an object with this name, or NULL (also when obj is
 * NULL or not an object). */
const struct mail_json *mail_json_get(const struct mail_json *obj,
                                      const char *key);

/* The member's string, or NULL when absent or not a string. */
const char *mail_json_get_string(const struct mail_json *obj,
                                 const char *key);

/* An integer member (a number without fraction or exponent that fits, or
 * a string of digits, as some servers send expires_in): 0 and *out, or -1
 * when absent or not an integer. */
int mail_json_get_int(const struct mail_json *obj, const char *key,
                      long long *out);

#pragma GCC visibility pop

#endif
