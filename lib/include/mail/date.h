/*
 * date.h - RFC 5322 date-time, read leniently and written strictly.
 *
 * Reading accepts what is seen in the wild (doc/VIOLATIONS.md): a missing
 * day name, one- to four-digit years (RFC 5322 4.3: 00-49 -> 20xx, 50-99
 * and three digits -> +1900), one-digit days and hours, month and day
 * names in any case and spelled out, missing seconds, no time at all
 * (midnight), the zones UT, GMT, Z, EST...PDT, common names such as CET
 * and CEST when there is no numeric zone, military letters (taken as
 * -0000, i.e. UTC, per RFC 5322 4.3), no zone (UTC), comments such as
 * "(CEST)", asctime(3) form "Tue Nov  3 10:00:00 2026" and ISO 8601 form
 * "2026-11-22 10:00:00" or "2026-11-22T10:00:00+01:00".  A zone out of
 * range is ignored (UTC).  Anything without a valid year, month and day
 * is an error.
 */
#ifndef MAIL_DATE_H
#define MAIL_DATE_H

#pragma GCC visibility push(default)

#include <stddef.h>
#include <time.h>

/* Room for any output of the formatters below, with the NUL. */
#define MAIL_DATE_MAX 40

/*
 * Parse s.  On success returns 0 with *t the instant (seconds since the
 * epoch, UTC) and *offset the sender's zone in minutes east of UTC (0
 * when unknown); either pointer may be NULL.  Returns -1 when s is not a
 * date (callers show null or nothing); there is no other error.
 */
int mail_date_parse(const char *s, time_t *t, int *offset);

/*
 * "Tue, 3 Nov 2026 10:00:00 +0100" (RFC 5322 3.3) for t shown in the
 * zone `offset` minutes east of UTC.  Returns the length, or -1 when
 * size is too small (use MAIL_DATE_MAX) or the year is not 0..9999.
 */
int mail_date_format_rfc5322(char *buf, size_t size, time_t t, int offset);

/* "2026-11-03T10:00:00+01:00" (RFC 3339), as for the above. */
int mail_date_format_rfc3339(char *buf, size_t size, time_t t, int offset);

/* The local zone's offset at t in minutes east of UTC (localtime_r),
 * for the composer's Date header; 0 if unknown. */
int mail_date_local_offset(time_t t);

/*
 * The date column of a listing (mail ls, the reader's index), in local
 * time: "14:05" today, "Nov  3" this year, "2025-06-14" before, "?" when
 * unknown.  The struct holds today's and this year's bounds and the last
 * day formatted, so a listing calls localtime once per day it shows, not
 * once per message.
 */
struct mail_short_dates {
    time_t today_lo, today_hi;   /* [lo, hi) is today */
    time_t year_lo, year_hi;     /* this year */
    int year;
    time_t day_lo, day_hi;       /* the day formatted last (not today) */
    char day[16];
    size_t day_len;
};

void mail_short_dates_init(struct mail_short_dates *d, time_t now);

/* t into out (at least 16 bytes, not NUL-terminated); its length: 1, 5,
 * 6 or 10. */
size_t mail_short_date(struct mail_short_dates *d, time_t t, char *out);

/* The length mail_short_date gives t (5, 6 or 10), without formatting. */
size_t mail_short_date_width(const struct mail_short_dates *d, time_t t);

#pragma GCC visibility pop

#endif
