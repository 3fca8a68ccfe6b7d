#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mail/date.h"
#include "test.h"

/* Parse and show as RFC 3339 in the sender's zone. */
static const char *show(const char *in)
{
    static char buf[MAIL_DATE_MAX];
    time_t t;
    int off;

    if (mail_date_parse(in, &t, &off) < 0)
        return "error";
    if (mail_date_format_rfc3339(buf, sizeof buf, t, off) < 0)
        return "format error";
    return buf;
}

#define DATE(in, want) CHECK_STR(show(in), want)

static void test_parse(void)
{
    DATE("Tue, 3 Nov 2026 10:00:00 +0100", "2026-11-03T10:00:00+01:00");
    DATE("Tue, 03 Nov 2026 10:00:00 -0530", "2026-11-03T10:00:00-05:30");
    DATE("3 Nov 2026 10:00:00 +0000", "2026-11-03T10:00:00+00:00");
    DATE("Tue,  3 nov 2026 9:05 EST", "2026-11-03T09:05:00-05:00");
    DATE("3 NOV 26 9:05:07 PDT", "2026-11-03T09:05:07-07:00");
    DATE("3 Nov 99 10:00 GMT", "1999-11-03T10:00:00+00:00");
    DATE("3 Nov 49 10:00 UT", "2049-11-03T10:00:00+00:00");
    DATE("3 Nov 126 10:00 Z", "2026-11-03T10:00:00+00:00");  /* 3-digit */
    DATE("3 Nov 2026 10:00 A", "2026-11-03T10:00:00+00:00"); /* military */
    DATE("3 Nov 2026 10:00:00", "2026-11-03T10:00:00+00:00"); /* no zone */
    DATE("Tue, 3 Nov 2026 10:00:00 +0100 (CET)", "2026-11-03T10:00:00+01:00");
    DATE("Tue, 3 Nov 2026 10:00:00 (CEST)", "2026-11-03T10:00:00+00:00");
    DATE("Tue, 3 Nov 2026 10:00:00 CEST", "2026-11-03T10:00:00+02:00");
    DATE("Tue Nov  3 10:00:00 2026", "2026-11-03T10:00:00+00:00");
    DATE("Tue Nov  3 10:00:00 CET 2026", "2026-11-03T10:00:00+01:00");
    DATE("2026-11-22 10:00:00", "2026-11-22T10:00:00+00:00");
    DATE("2026-11-22T10:00:00+01:00", "2026-11-22T10:00:00+01:00");
    DATE("2026-11-22T10:00:00.123Z", "2026-11-22T10:00:00+00:00");
    DATE("Tuesday, November 3, 2026 10:00 PM", "2026-11-03T22:00:00+00:00");
    DATE("3-Nov-2026 10:00:00 +0200", "2026-11-03T10:00:00+02:00");
    DATE("Sat, 29 Feb 2020 23:59:60 +0000", "2020-02-29T23:59:59+00:00");
    DATE("3 Nov 2026", "2026-11-03T00:00:00+00:00");
    DATE("3 Nov 2026 10:00 +9999", "2026-11-03T10:00:00+00:00");
    /* Errors. */
    DATE("", "error");
    DATE("yesterday", "error");
    DATE("3 Foo 2026 10:00", "error");
    DATE("31 Apr 2026 10:00", "error");
    DATE("29 Feb 2026 10:00", "error");
    DATE("3 Nov 2026 25:00", "error");
    DATE("0 Nov 2026 10:00", "error");
    DATE("2026-13-01", "error");
    DATE("Nov 2026", "error");
    CHECK(mail_date_parse(NULL, NULL, NULL) == -1);
}

static void test_epoch(void)
{
    time_t t;
    int off;

    CHECK(mail_date_parse("Thu, 1 Jan 1970 00:00:00 +0000", &t, &off) == 0);
    CHECK(t == 0 && off == 0);
    CHECK(mail_date_parse("Thu, 1 Jan 1970 01:00:00 +0100", &t, &off) == 0);
    CHECK(t == 0 && off == 60);
    CHECK(mail_date_parse("Sun, 9 Sep 2001 01:46:40 +0000", &t, NULL) == 0);
    CHECK(t == 1000000000);
    CHECK(mail_date_parse("1 Jan 1950 00:00:00 +0000", &t, NULL) == 0);
    CHECK(t == -631152000);
}

static void test_format(void)
{
    char buf[MAIL_DATE_MAX];

    CHECK(mail_date_format_rfc5322(buf, sizeof buf, 1000000000, 0) > 0);
    CHECK_STR(buf, "Sun, 9 Sep 2001 01:46:40 +0000");
    CHECK(mail_date_format_rfc5322(buf, sizeof buf, 1000000000, -330) > 0);
    CHECK_STR(buf, "Sat, 8 Sep 2001 20:16:40 -0530");
    CHECK(mail_date_format_rfc3339(buf, sizeof buf, 0, 60) > 0);
    CHECK_STR(buf, "1970-01-01T01:00:00+01:00");
    CHECK(mail_date_format_rfc3339(buf, sizeof buf, -1, 0) > 0);
    CHECK_STR(buf, "1969-12-31T23:59:59+00:00");
    CHECK(mail_date_format_rfc3339(buf, 10, 0, 0) == -1);
    CHECK(mail_date_format_rfc3339(buf, sizeof buf, (time_t)1 << 40, 0) == -1);
    CHECK(mail_date_format_rfc5322(buf, sizeof buf, 0, 24 * 60) == -1);
    (void)mail_date_local_offset(0);
}

/* The date column of a listing, in local time (UTC here). */
static void test_short_date(void)
{
    struct mail_short_dates d;
    time_t now = 1764936000;     /* 2025-12-05 12:00:00 UTC */
    char out[16];
    size_t n;

    setenv("TZ", "UTC", 1);
    tzset();
    mail_short_dates_init(&d, now);
    n = mail_short_date(&d, now - 3600, out);
    CHECK(n == 5 && memcmp(out, "11:00", 5) == 0);
    CHECK(mail_short_date_width(&d, now - 3600) == 5);
    n = mail_short_date(&d, now - 12 * 3600 - 1, out);  /* yesterday */
    CHECK(n == 6 && memcmp(out, "Dec  4", 6) == 0);
    n = mail_short_date(&d, now - 12 * 3600 - 7200, out);  /* same day */
    CHECK(n == 6 && memcmp(out, "Dec  4", 6) == 0);
    n = mail_short_date(&d, 1736942400, out);   /* 2025-01-15 12:00 */
    CHECK(n == 6 && memcmp(out, "Jan 15", 6) == 0);
    CHECK(mail_short_date_width(&d, 1736942400) == 6);
    n = mail_short_date(&d, 1718323200, out);   /* 2024-06-14 */
    CHECK(n == 10 && memcmp(out, "2024-06-14", 10) == 0);
    CHECK(mail_short_date_width(&d, 1718323200) == 10);
    n = mail_short_date(&d, now + 86400, out);  /* tomorrow: this year */
    CHECK(n == 6 && memcmp(out, "Dec  6", 6) == 0);
}

int main(void)
{
    RUN(test_parse);
    RUN(test_epoch);
    RUN(test_format);
    RUN(test_short_date);
    return test_done();
}
