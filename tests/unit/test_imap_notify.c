/*
 * test_imap_notify.c - the untagged STATUS that NOTIFY (RFC 5465) sends,
 * read by mail_imap_notify_status, and the mailbox names it carries
 * matched by mail_imap_mailbox_is.
 */
#include <stdint.h>
#include <string.h>

#include "mail/imap.h"
#include "mail/imap_notify.h"
#include "mail/imap_parse.h"
#include "test.h"

/* Parse one response (the whole of text) and read it as NOTIFY's STATUS.
 * The parser is left for the caller to release (st points into it). */
static int status_of(struct mail_imap_parser *p, const char *text,
                     struct mail_imap_idle_status *st)
{
    struct mail_error err;
    size_t used = 0;

    mail_imap_parser_init(p, NULL, NULL, NULL);
    if (mail_imap_parser_feed(p, text, strlen(text), &used, &err) != 1 ||
        used != strlen(text))
        return -2;
    return mail_imap_notify_status(&p->resp, st);
}

static void test_plain(void)
{
    struct mail_imap_parser p;
    struct mail_imap_idle_status st;

    CHECK(status_of(&p, "* STATUS INBOX (MESSAGES 3 UIDNEXT 12 "
                    "UIDVALIDITY 9)\r\n", &st) == 0);
    CHECK_STR(st.mailbox, "INBOX");
    CHECK(st.messages == 3);
    CHECK(st.uidnext == 12);
    CHECK(st.uidvalidity == 9);
    /* The name points into the response: its first argument. */
    CHECK(st.mailbox == mail_imap_node_str(mail_imap_node_at(&p.resp.args,
                                                             0)));
    mail_imap_parser_release(&p);
}

static void test_any_order_and_extras(void)
{
    struct mail_imap_parser p;
    struct mail_imap_idle_status st;

    /* Dovecot adds UNSEEN and HIGHESTMODSEQ; the order is the server's;
     * item names in any case; the largest 32-bit values. */
    CHECK(status_of(&p, "* STATUS \"Lists/dev\" (UNSEEN 1 uidvalidity "
                    "4294967295 HIGHESTMODSEQ 18446744073709551615 "
                    "UIDNEXT 4294967295 MESSAGES 0)\r\n", &st) == 0);
    CHECK_STR(st.mailbox, "Lists/dev");
    CHECK(st.messages == 0);
    CHECK(st.uidnext == 4294967295u);
    CHECK(st.uidvalidity == 4294967295u);
    mail_imap_parser_release(&p);
}

static void test_left_out(void)
{
    struct mail_imap_parser p;
    struct mail_imap_idle_status st;

    /* RFC 5465 lets a server send only what changed. */
    CHECK(status_of(&p, "* STATUS Work (UIDNEXT 5)\r\n", &st) == 0);
    CHECK_STR(st.mailbox, "Work");
    CHECK(st.uidnext == 5);
    CHECK(st.messages == 0 && st.uidvalidity == 0);
    mail_imap_parser_release(&p);
    CHECK(status_of(&p, "* STATUS Work ()\r\n", &st) == 0);
    CHECK(st.uidnext == 0 && st.messages == 0 && st.uidvalidity == 0);
    mail_imap_parser_release(&p);
}

static void test_bad_values_passed_over(void)
{
    struct mail_imap_parser p;
    struct mail_imap_idle_status st;

    /* A value that is no number (or too large) is passed over; the
     * pairs after it are still read. */
    CHECK(status_of(&p, "* STATUS INBOX (MESSAGES many UIDNEXT 7 "
                    "UIDVALIDITY 4294967296 X-ITEM (1 2))\r\n", &st) == 0);
    CHECK(st.messages == 0);
    CHECK(st.uidnext == 7);
    CHECK(st.uidvalidity == 0);
    mail_imap_parser_release(&p);
    /* An odd item at the end has no value: ignored. */
    CHECK(status_of(&p, "* STATUS INBOX (MESSAGES 2 UIDNEXT)\r\n", &st) == 0);
    CHECK(st.messages == 2 && st.uidnext == 0);
    mail_imap_parser_release(&p);
}

static void test_literal_name(void)
{
    struct mail_imap_parser p;
    struct mail_imap_idle_status st;

    CHECK(status_of(&p, "* STATUS {9}\r\nMy Folder (UIDNEXT 3)\r\n",
                    &st) == 0);
    CHECK_STR(st.mailbox, "My Folder");
    CHECK(st.uidnext == 3);
    CHECK(mail_imap_mailbox_is(st.mailbox, "My Folder"));
    mail_imap_parser_release(&p);
}

static void test_not_a_status(void)
{
    struct mail_imap_parser p;
    struct mail_imap_idle_status st;

    st.uidnext = 99;
    CHECK(status_of(&p, "* 3 EXISTS\r\n", &st) == -1);
    CHECK(st.mailbox == NULL && st.uidnext == 0);   /* cleared */
    mail_imap_parser_release(&p);
    CHECK(status_of(&p, "* OK [UIDNEXT 4] predicted\r\n", &st) == -1);
    mail_imap_parser_release(&p);
    /* No list of items, a list where the name should be. */
    CHECK(status_of(&p, "* STATUS INBOX\r\n", &st) == -1);
    mail_imap_parser_release(&p);
    CHECK(status_of(&p, "* STATUS INBOX UIDNEXT 4\r\n", &st) == -1);
    mail_imap_parser_release(&p);
    CHECK(status_of(&p, "* STATUS (UIDNEXT 4) INBOX\r\n", &st) == -1);
    mail_imap_parser_release(&p);
}

static void test_mailbox_is(void)
{
    /* INBOX in any case, on either side. */
    CHECK(mail_imap_mailbox_is("INBOX", "INBOX"));
    CHECK(mail_imap_mailbox_is("inbox", "INBOX"));
    CHECK(mail_imap_mailbox_is("INBOX", "Inbox"));
    CHECK(!mail_imap_mailbox_is("INBOX", "Work"));
    CHECK(!mail_imap_mailbox_is("Work", "INBOX"));
    /* Other names exactly, the server's in modified UTF-7. */
    CHECK(mail_imap_mailbox_is("Work", "Work"));
    CHECK(!mail_imap_mailbox_is("work", "Work"));
    CHECK(!mail_imap_mailbox_is("Work2", "Work"));
    CHECK(!mail_imap_mailbox_is("Wor", "Work"));
    CHECK(mail_imap_mailbox_is("Lists/dev", "Lists/dev"));
    CHECK(mail_imap_mailbox_is("&AMQ-rger", "\xc3\x84rger"));
    CHECK(!mail_imap_mailbox_is("\xc3\x84rger", "\xc3\x84rger"));
    CHECK(mail_imap_mailbox_is("a&-b", "a&b"));
    /* Names that need quoting on the wire compare unquoted. */
    CHECK(mail_imap_mailbox_is("My Folder", "My Folder"));
    CHECK(mail_imap_mailbox_is("say \"hi\"", "say \"hi\""));
    CHECK(!mail_imap_mailbox_is("say \"hi", "say \"hi\""));
    CHECK(!mail_imap_mailbox_is("My Folder", "My Folde"));
    /* Not UTF-8: matches nothing. */
    CHECK(!mail_imap_mailbox_is("x", "\xff"));
}

int main(void)
{
    RUN(test_plain);
    RUN(test_any_order_and_extras);
    RUN(test_left_out);
    RUN(test_bad_values_passed_over);
    RUN(test_literal_name);
    RUN(test_not_a_status);
    RUN(test_mailbox_is);
    return test_done();
}
