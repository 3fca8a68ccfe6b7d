#include <stdlib.h>
#include <string.h>

#include "mail/buf.h"
#include "mail/error.h"
#include "test.h"

static void test_append_and_cap(void)
{
    struct mail_buf b;

    mail_buf_init(&b, 8);
    CHECK(mail_buf_addstr(&b, "abcd") == 0);
    CHECK(mail_buf_printf(&b, "%d", 123) == 0);
    CHECK_STR(b.data, "abcd123");
    CHECK(mail_buf_addstr(&b, "xy") == -1); /* over the cap of 8 */
    CHECK_STR(b.data, "abcd123");
    mail_buf_consume(&b, 2);
    CHECK_STR(b.data, "cd123");
    mail_buf_release(&b);
    CHECK(b.data == NULL && b.len == 0);
}

static void test_detach(void)
{
    struct mail_buf b = MAIL_BUF_INIT;
    char *s = mail_buf_detach(&b);

    CHECK_STR(s, "");
    free(s);
}

static void test_strings(void)
{
    char small[4];

    CHECK(mail_strlcpy(small, "hello", sizeof small) == 5);
    CHECK_STR(small, "hel");
    CHECK(mail_snprintf(small, sizeof small, "%s", "toolong") == -1);
    CHECK(mail_snprintf(small, sizeof small, "%s", "ok") == 2);
    CHECK(mail_strcasecmp("PLAIN", "plain") == 0);
    CHECK(mail_strncasecmp("STARTTLS x", "starttls", 8) == 0);
    CHECK(mail_strcasecmp("a", "b") < 0);
}

static void test_error(void)
{
    struct mail_error e;

    mail_error_clear(&e);
    CHECK(mail_error_set(&e, MAIL_ERR_TLS, "cert %s", "expired") == -1);
    mail_error_prefix(&e, "%s:%u", "host", 993u);
    CHECK_STR(e.msg, "host:993: cert expired");
    CHECK(mail_error_exit_code(e.kind) == 69);
    CHECK(mail_error_exit_code(MAIL_ERR_AUTH) == 77);
    CHECK(mail_error_exit_code(MAIL_ERR_CONFIG) == 78);
}

int main(void)
{
    RUN(test_append_and_cap);
    RUN(test_detach);
    RUN(test_strings);
    RUN(test_error);
    return test_done();
}
