#include <stdlib.h>
#include <string.h>

#include "mail/address.h"
#include "mail/buf.h"
#include "test.h"

/* Render a parsed list as "name|addr|group;" items for exact checks. */
static const char *show(const char *in)
{
    static char out[1024];
    struct mail_addrlist l = MAIL_ADDRLIST_INIT;
    struct mail_buf b = MAIL_BUF_INIT;
    size_t i;

    if (mail_addrlist_parse(&l, in, NULL) < 0)
        return "error";
    for (i = 0; i < l.n; i++)
        mail_buf_printf(&b, "%s[%s|%s|%s]", i ? " " : "",
                        l.v[i].name ? l.v[i].name : "-", l.v[i].addr,
                        l.v[i].group ? l.v[i].group : "-");
    mail_strlcpy(out, b.data ? b.data : "", sizeof out);
    mail_buf_release(&b);
    mail_addrlist_release(&l);
    return out;
}

#define ADDR(in, want) CHECK_STR(show(in), want)

static void test_basic(void)
{
    ADDR("alice@example.com", "[-|alice@example.com|-]");
    ADDR("Alice Example <alice@example.com>",
         "[Alice Example|alice@example.com|-]");
    ADDR("<alice@example.com>", "[-|alice@example.com|-]");
    ADDR("\"Doe, John\" <john@example.com>, jane@example.com",
         "[Doe, John|john@example.com|-] [-|jane@example.com|-]");
    ADDR("\"a \\\"q\\\" b\" <x@y>", "[a \"q\" b|x@y|-]");
    ADDR("John Q. Public <jqp@example.com>",
         "[John Q. Public|jqp@example.com|-]");
    ADDR("  Spaced   Name   <s@x> ", "[Spaced Name|s@x|-]");
}

static void test_comments(void)
{
    ADDR("alice@example.com (Alice Example)",
         "[Alice Example|alice@example.com|-]");
    ADDR("alice@example.com (outer (nested) comment)",
         "[outer (nested) comment|alice@example.com|-]");
    ADDR("Name (comment) <a@b>", "[Name|a@b|-]");
    ADDR("<a@b> (only comment)", "[only comment|a@b|-]");
    ADDR("a(c1)@(c2)b", "[c2|a@b|-]");
    ADDR("(just a comment)", "");
    ADDR("a@b (unterminated", "[unterminated|a@b|-]");
}

static void test_groups(void)
{
    ADDR("undisclosed-recipients:;", "[-||undisclosed-recipients]");
    ADDR("team: a@x, \"Y, Why\" <y@x>;, z@x",
         "[-|a@x|team] [Y, Why|y@x|team] [-|z@x|-]");
    ADDR("g1: a@x; g2:;", "[-|a@x|g1] [-||g2]");
    ADDR("open group: a@x", "[-|a@x|open group]");
}

static void test_obsolete(void)
{
    ADDR("<@route.example,@other.example:route@example.com>",
         "[-|route@example.com|-]");
    ADDR("Name <@a:user@host>", "[Name|user@host|-]");
    ADDR("\"john doe\"@example.com", "[-|\"john doe\"@example.com|-]");
    ADDR("user@[192.0.2.1]", "[-|user@[192.0.2.1]|-]");
    ADDR("john . doe @ example . com", "[-|john.doe@example.com|-]");
    ADDR("J\xc3\xb6rg <j\xc3\xb6rg@b\xc3\xbc" "cher.example>",
         "[J\xc3\xb6rg|j\xc3\xb6rg@b\xc3\xbc" "cher.example|-]");
}

static void test_broken(void)
{
    ADDR("Name <a@b", "[Name|a@b|-]");
    ADDR("Name <a@b, c@d", "[Name|a@b|-] [-|c@d|-]");
    ADDR(",, a@b ,, ,c@d,", "[-|a@b|-] [-|c@d|-]");
    ADDR("John Doe john@example.com", "[John Doe|john@example.com|-]");
    ADDR("John Smith", "[John Smith||-]");
    ADDR("root", "[-|root|-]");
    ADDR("\"unterminated <a@b>", "[unterminated <a@b>||-]");
    ADDR("a@b <c@d>", "[a@b|c@d|-]");
    ADDR("<>", "[-||-]");
    ADDR("", "");
    ADDR(";;::<<>>@@", "[@@||]");     /* garbage in, no crash */
    ADDR("\"Just Quoted\"", "[Just Quoted||-]");
    ADDR("Fran\xe7ois <f@x>", "[Fran\xc3\xa7ois|f@x|-]");
    ADDR("\"Tab\there\" <t@x>", "[Tab here|t@x|-]");
    CHECK_STR(show(NULL), "");
}

static void test_encoded(void)
{
    ADDR("=?utf-8?q?Ren=C3=A9?= <r@x>", "[Ren\xc3\xa9|r@x|-]");
    ADDR("=?UTF-8?B?Sm9zw6k=?= =?UTF-8?B?IEdhcmPDrWE=?= <j@x>",
         "[Jos\xc3\xa9 Garc\xc3\xad" "a|j@x|-]");
    ADDR("\"=?utf-8?q?Quoted_=C3=A9?=\" <q@x>", "[Quoted \xc3\xa9|q@x|-]");
    ADDR("a@x (=?utf-8?q?Comm=C3=A9nt?=)", "[Comm\xc3\xa9nt|a@x|-]");
    ADDR("=?utf-8?q?Group=C3=A9?=: a@x;", "[-|a@x|Group\xc3\xa9]");
}

static void test_format(void)
{
    struct mail_buf b = MAIL_BUF_INIT;
    struct mail_addrlist l = MAIL_ADDRLIST_INIT;

    CHECK(mail_address_format(&b, NULL, "a@x") == 0);
    CHECK(mail_buf_addstr(&b, "|") == 0);
    CHECK(mail_address_format(&b, "Alice Example", "a@x") == 0);
    CHECK(mail_buf_addstr(&b, "|") == 0);
    CHECK(mail_address_format(&b, "Doe, John", "j@x") == 0);
    CHECK(mail_buf_addstr(&b, "|") == 0);
    CHECK(mail_address_format(&b, "John Q. Public", "q@x") == 0);
    CHECK(mail_buf_addstr(&b, "|") == 0);
    CHECK(mail_address_format(&b, "a \"q\" \\b", "q@x") == 0);
    CHECK(mail_buf_addstr(&b, "|") == 0);
    CHECK(mail_address_format(&b, "Ren\xc3\xa9 Dupont", "r@x") == 0);
    CHECK(mail_buf_addstr(&b, "|") == 0);
    CHECK(mail_address_format(&b, "", "e@x") == 0);
    CHECK_STR(b.data, "a@x|Alice Example <a@x>|\"Doe, John\" <j@x>|"
                      "\"John Q. Public\" <q@x>|\"a \\\"q\\\" \\\\b\" <q@x>|"
                      "=?UTF-8?Q?Ren=C3=A9_Dupont?= <r@x>|e@x");
    mail_buf_reset(&b);
    CHECK(mail_addrlist_parse(&l, "team: a@x, \"Y, Why\" <y@x>;, z@x, "
                              "empty:;, =?utf-8?q?Ren=C3=A9?= <r@x>",
                              NULL) == 0);
    CHECK(mail_addrlist_format(&b, &l) == 0);
    CHECK_STR(b.data, "team: a@x, \"Y, Why\" <y@x>;, z@x, empty:;, "
                      "=?UTF-8?Q?Ren=C3=A9?= <r@x>");
    mail_addrlist_release(&l);
    mail_buf_release(&b);
}

/* Formatting then parsing gives back the same name and address. */
static void test_round_trip(void)
{
    static const char *const names[] = {
        "Plain Name", "Doe, John", "a \"q\" \\b", "Ren\xc3\xa9 Dupont",
        "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "x=?y?=z", "(paren) <angle>",
        ("tr\xc3\xa8s long nom avec beaucoup de mots accentu\xc3\xa9s "
         "pour d\xc3\xa9passer la limite de soixante-quinze"),
    };
    size_t i;

    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct mail_buf b = MAIL_BUF_INIT;
        struct mail_addrlist l = MAIL_ADDRLIST_INIT;

        mail_address_format(&b, names[i], "who@example.com");
        CHECK(mail_addrlist_parse(&l, b.data, NULL) == 0);
        CHECK(l.n == 1);
        if (l.n == 1) {
            CHECK_STR(l.v[0].name, names[i]);
            CHECK_STR(l.v[0].addr, "who@example.com");
        }
        mail_addrlist_release(&l);
        mail_buf_release(&b);
    }
}

int main(void)
{
    RUN(test_basic);
    RUN(test_comments);
    RUN(test_groups);
    RUN(test_obsolete);
    RUN(test_broken);
    RUN(test_encoded);
    RUN(test_format);
    RUN(test_round_trip);
    return test_done();
}
