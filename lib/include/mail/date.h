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

#pragma GCC visibility pop

#endif
