/* test_json.c - the bounded JSON reader (lib/util/json.c). */
#include <stdlib.h>
#include <string.h>

#include "mail/json.h"
#include "test.h"

static struct mail_json *parse(const char *s, struct mail_error *err)
{
    mail_error_clear(err);
    return mail_json_parse(s, strlen(s), err);
}

static int refused(const char *s)
{
    struct mail_error err;
    struct mail_json *v = parse(s, &err);

    if (v) {
        mail_json_free(v);
        return 0;
    }
    return err.kind == MAIL_ERR_DATA;
}

static void test_token_reply(void)
{
    struct mail_error err;
    struct mail_json *v = parse(
        " {\"access_token\":\"ya29.a0\", \"expires_in\": 3599,\n"
        "  \"refresh_token\":\"1//0g\", \"scope\":\"https://mail.google.com/\","
        " \"token_type\":\"Bearer\", \"x\": [1, 2.5, -3e2, true, false, null,"
        " {}], \"ext_expires_in\": \"3600\"} ", &err);
    long long n = 0;

    CHECK(v != NULL);
    CHECK(v && v->type == MAIL_JSON_OBJECT && v->count == 7);
    CHECK_STR(mail_json_get_string(v, "access_token"), "ya29.a0");
    CHECK_STR(mail_json_get_string(v, "refresh_token"), "1//0g");
    CHECK(mail_json_get_int(v, "expires_in", &n) == 0 && n == 3599);
    CHECK(mail_json_get_int(v, "ext_expires_in", &n) == 0 && n == 3600);
    CHECK(mail_json_get_int(v, "scope", &n) < 0);
    CHECK(mail_json_get_int(v, "missing", &n) < 0);
    CHECK(mail_json_get_string(v, "expires_in") == NULL);
    CHECK(mail_json_get(v, "x") && mail_json_get(v, "x")->count == 7);
    CHECK(mail_json_get(v, "x")->child->next->num == 2.5);
    CHECK(mail_json_get(v, "x")->child->next->next->num == -300);
    mail_json_free(v);
}

static void test_numbers(void)
{
    struct mail_error err;
    struct mail_json *v = parse("{\"a\": 1.5, \"b\": 1e3, \"c\": -0}", &err);
    long long n;

    CHECK(v != NULL);
    CHECK(mail_json_get_int(v, "a", &n) < 0);    /* not an integer */
    CHECK(mail_json_get_int(v, "b", &n) < 0);
    CHECK(mail_json_get_int(v, "c", &n) == 0 && n == 0);
    mail_json_free(v);
    CHECK(refused("01"));
    CHECK(refused("1."));
    CHECK(refused(".5"));
    CHECK(refused("-"));
    CHECK(refused("1e"));
    CHECK(refused("+1"));
    CHECK(refused("0x10"));
    v = parse("{\"big\": 99999999999999999999}", &err);
    CHECK(v && mail_json_get_int(v, "big", &n) < 0);   /* overflow */
    mail_json_free(v);
}

static void test_escapes(void)
{
    struct mail_error err;
    struct mail_json *v;

    v = parse("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"", &err);
    CHECK(v && v->type == MAIL_JSON_STRING);
    CHECK_STR(v ? v->str : NULL, "a\"b\\c/d\b\f\n\r\t");
    mail_json_free(v);
    /* \u escapes to UTF-8, a surrogate pair to one 4-byte sequence */
    v = parse("\"\\u00e9\\u20AC\\ud83d\\ude00x\"", &err);
    CHECK_STR(v ? v->str : NULL, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80x");
    CHECK(v && v->len == 10);
    mail_json_free(v);
    /* raw UTF-8 kept */
    v = parse("\"caf\xc3\xa9\"", &err);
    CHECK_STR(v ? v->str : NULL, "caf\xc3\xa9");
    mail_json_free(v);
    CHECK(refused("\"\\ud83d\""));          /* lone high surrogate */
    CHECK(refused("\"\\ud83dx\""));
    CHECK(refused("\"\\ud83d\\u0041\""));    /* high + not a low one */
    CHECK(refused("\"\\ude00\""));          /* lone low surrogate */
    CHECK(refused("\"\\u0000\""));          /* NUL */
    CHECK(refused("\"\\u12\""));
    CHECK(refused("\"\\x41\""));
    CHECK(refused("\"a\nb\""));            /* raw control character */
    CHECK(refused("\"\xff\""));            /* not UTF-8 */
    CHECK(refused("\"\xc3\""));            /* truncated UTF-8 */
    CHECK(refused("\"\xed\xa0\x80\""));    /* UTF-8 surrogate */
    CHECK(refused("\"abc"));
}

static void test_structure(void)
{
    struct mail_error err;

    CHECK(refused(""));
    CHECK(refused("   "));
    CHECK(refused("{} x"));                 /* trailing garbage */
    CHECK(refused("{}{}"));
    CHECK(refused("[1,]"));
    CHECK(refused("[1 2]"));
    CHECK(refused("{\"a\" 1}"));
    CHECK(refused("{\"a\":1,}"));
    CHECK(refused("{a:1}"));
    CHECK(refused("[tru]"));
    CHECK(refused("nul"));
    CHECK(refused("[1"));
    CHECK(!refused("[]"));
    CHECK(!refused(" null "));
    CHECK(!refused("\"\""));
    /* the message names the offset, never the text */
    mail_json_free(parse("{\"secret-token\": x}", &err));
    CHECK(strstr(err.msg, "byte 17") != NULL);
    CHECK(strstr(err.msg, "secret") == NULL);
}

static void test_bounds(void)
{
    struct mail_error err;
    char deep[2 * (MAIL_JSON_MAX_DEPTH + 1) + 1];
    size_t i, d;
    struct mail_json *v;
    char *big;

    /* exactly the depth limit is fine, one more is refused */
    for (d = MAIL_JSON_MAX_DEPTH; d <= MAIL_JSON_MAX_DEPTH + 1; d++) {
        for (i = 0; i < d; i++) {
            deep[i] = '[';
            deep[d + i] = ']';
        }
        deep[2 * d] = '\0';
        v = parse(deep, &err);
        CHECK(d == MAIL_JSON_MAX_DEPTH ? v != NULL : v == NULL);
        if (!v)
            CHECK(strstr(err.msg, "nested too deeply") != NULL);
        mail_json_free(v);
    }
    /* too large a document */
    big = malloc(MAIL_JSON_MAX_SIZE + 2);
    if (!big)
        return;
    memset(big, ' ', MAIL_JSON_MAX_SIZE + 1);
    big[0] = '1';
    mail_error_clear(&err);
    v = mail_json_parse(big, MAIL_JSON_MAX_SIZE + 1, &err);
    CHECK(v == NULL && err.kind == MAIL_ERR_DATA);
    /* too many values in a document under the size limit */
    big[0] = '[';
    for (i = 1; i + 2 < (MAIL_JSON_MAX_NODES + 10) * 2; i += 2) {
        big[i] = '0';
        big[i + 1] = ',';
    }
    big[i] = '0';
    big[i + 1] = ']';
    v = mail_json_parse(big, i + 2, &err);
    CHECK(v == NULL && strstr(err.msg, "too many values") != NULL);
    free(big);
}

int main(void)
{
    RUN(test_token_reply);
    RUN(test_numbers);
    RUN(test_escapes);
    RUN(test_structure);
    RUN(test_bounds);
    return test_done();
}
