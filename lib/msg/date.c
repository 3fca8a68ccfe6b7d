/*
 * date.c - a forgiving date-time reader and two strict writers.
 *
 * The reader is a single pass over words and numbers (comments, commas
 * and other punctuation skipped) that fills in fields by shape: a time
 * has colons, an ISO date has dashes, a month is a name, a zone is a sign
 * and digits or a known name.  Plain numbers are the day and the year.
 * Calendar arithmetic is done here (days from the civil date and back), so
 * that neither the TZ variable nor gmtime(3) is involved.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mail/buf.h"
#include "mail/date.h"

static const char *const month_names[12] = {
    "jan", "feb", "mar", "apr", "may", "jun",
    "jul", "aug", "sep", "oct", "nov", "dec",
};
static const char *const day_names[7] = {
    "sun", "mon", "tue", "wed", "thu", "fri", "sat",
};
static const char *const day_names_cap[7] = {
    "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
};
static const char *const month_names_cap[12] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static const struct {
    const char *name;
    int minutes;
} zones[] = {
    { "ut", 0 }, { "utc", 0 }, { "gmt", 0 }, { "z", 0 },
    { "est", -300 }, { "edt", -240 }, { "cst", -360 }, { "cdt", -300 },
    { "mst", -420 }, { "mdt", -360 }, { "pst", -480 }, { "pdt", -420 },
    /* Not RFC 5322, but unambiguous and common. */
    { "wet", 0 }, { "west", 60 }, { "bst", 60 }, { "cet", 60 },
    { "cest", 120 }, { "met", 60 }, { "mest", 120 }, { "eet", 120 },
    { "eest", 180 }, { "msk", 180 }, { "jst", 540 }, { "kst", 540 },
    { "hkt", 480 }, { "aest", 600 }, { "aedt", 660 }, { "nzst", 720 },
    { "nzdt", 780 },
};

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int64_t y, int m)
{
    static const int dm[12] = { 31, 28, 31, 30, 31, 30,
                                31, 31, 30, 31, 30, 31 };

    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Read up to 9 digits at s[*i]; returns the value, *nd the count. */
static long read_num(const char *s, size_t *i, int *nd)
{
    long v = 0;

    *nd = 0;
    while (is_digit(s[*i])) {
        if (*nd < 9)
            v = v * 10 + (s[*i] - '0');
        (*nd)++;
        (*i)++;
    }
    return v;
}

struct dt {
    long year, day;
    int year_digits;
    int month;              /* 1..12, 0 unset */
    int hour, min, sec;
    bool have_time, have_zone, have_named_zone, pm, am;
    int zone;               /* minutes east */
    int named_zone;
};

/* "hh:mm[:ss[.frac]]" with the hour already read. */
static void read_time(struct dt *d, const char *s, size_t *i, long hour)
{
    int nd;

    d->hour = (int)hour;
    d->min = -1;
    d->sec = 0;
    (*i)++;                         /* the ':' */
    if (is_digit(s[*i]))
        d->min = (int)read_num(s, i, &nd);
    if (s[*i] == ':' && is_digit(s[*i + 1])) {
        (*i)++;
        d->sec = (int)read_num(s, i, &nd);
        if (s[*i] == '.' || s[*i] == ',')
            for ((*i)++; is_digit(s[*i]); (*i)++)
                ;
    }
    d->have_time = d->min >= 0;
    if (!d->have_time)
        d->hour = 0;
}

/* A numeric zone at s[*i] (after the sign): hhmm, hh:mm or hh. */
static void read_zone(struct dt *d, const char *s, size_t *i, int sign)
{
    int nd, nd2;
    long v = read_num(s, i, &nd), h, m = 0;

    if (nd == 4 || nd == 3) {
        h = v / 100;
        m = v % 100;
    } else if (nd <= 2 && s[*i] == ':' && is_digit(s[*i + 1])) {
        h = v;
        (*i)++;
        m = read_num(s, i, &nd2);
    } else if (nd <= 2) {
        h = v;
    } else {
        return;     /* not a zone */
    }
    if (d->have_zone)
        return;
    d->have_zone = true;
    if (h > 23 || m > 59)
        d->zone = 0;    /* out of range: ignored, UTC */
    else
        d->zone = sign * (int)(h * 60 + m);
}

static void read_word(struct dt *d, const char *w, size_t n)
{
    char lw[16];
    size_t k;

    if (n >= sizeof lw)
        return;
    for (k = 0; k < n; k++)
        lw[k] = (char)(w[k] | 0x20);
    lw[n] = '\0';
    if (n >= 3) {
        for (k = 0; k < 12; k++) {
            if (memcmp(lw, month_names[k], 3) == 0) {
                /* "mar", "march", but not "marzipan": the rest must be
                 * the rest of the English name or nothing. */
                static const char *const full[12] = {
                    "january", "february", "march", "april", "may",
                    "june", "july", "august", "september", "october",
                    "november", "december",
                };

                if (strncmp(full[k], lw, n) == 0 ||
                    (k == 8 && strcmp(lw, "sept") == 0)) {
                    if (!d->month)
                        d->month = (int)k + 1;
                    return;
                }
            }
        }
        for (k = 0; k < 7; k++)
            if (memcmp(lw, day_names[k], 3) == 0)
                return;     /* day names are checked by nobody */
    }
    if (strcmp(lw, "pm") == 0) {
        d->pm = true;
        return;
    }
    if (strcmp(lw, "am") == 0) {
        d->am = true;
        return;
    }
    for (k = 0; k < sizeof zones / sizeof zones[0]; k++) {
        if (strcmp(lw, zones[k].name) == 0) {
            if (!d->have_named_zone) {
                d->have_named_zone = true;
                d->named_zone = zones[k].minutes;
            }
            return;
        }
    }
    if (n == 1 && lw[0] != 'j' && !d->have_named_zone) {
        d->have_named_zone = true;  /* military: -0000 */
        d->named_zone = 0;
    }
}

int mail_date_parse(const char *s, time_t *t, int *offset)
{
    struct dt d;
    size_t i = 0;
    long nums[4];
    int ndig[4], nnums = 0, k, zone;
    bool iso = false;
    int64_t days, secs;

    if (!s)
        return -1;
    memset(&d, 0, sizeof d);
    d.year = -1;
    d.day = -1;
    while (s[i]) {
        char c = s[i];

        if (c == '(') {
            int depth = 0;

            while (s[i]) {
                char cc = s[i++];

                if (cc == '\\' && s[i])
                    i++;
                else if (cc == '(')
                    depth++;
                else if (cc == ')' && --depth == 0)
                    break;
            }
            continue;
        }
        if (is_alpha(c)) {
            size_t st = i;

            while (is_alpha(s[i]))
                i++;
            read_word(&d, s + st, i - st);
            continue;
        }
        if ((c == '+' || c == '-') && is_digit(s[i + 1]) &&
            (d.have_time || iso)) {
            i++;
            read_zone(&d, s, &i, c == '+' ? 1 : -1);
            continue;
        }
        if (is_digit(c)) {
            int nd;
            long v = read_num(s, &i, &nd);

            if (s[i] == ':' && nd <= 2 && !d.have_time) {
                read_time(&d, s, &i, v);
                continue;
            }
            if ((s[i] == '-' || s[i] == '/') && nd == 4 && !iso &&
                is_digit(s[i + 1])) {
                /* ISO 8601: yyyy-mm-dd, then maybe 'T' and the time. */
                char sep = s[i];
                int nd2, nd3;
                long mo, dd;

                i++;
                mo = read_num(s, &i, &nd2);
                if (s[i] != sep || !is_digit(s[i + 1]))
                    return -1;
                i++;
                dd = read_num(s, &i, &nd3);
                if (mo < 1 || mo > 12)
                    return -1;
                d.year = v;
                d.year_digits = 4;
                d.month = (int)mo;
                d.day = dd;
                iso = true;
                if ((s[i] == 'T' || s[i] == 't') && is_digit(s[i + 1]))
                    i++;
                continue;
            }
            if (nnums < 4) {
                nums[nnums] = v;
                ndig[nnums++] = nd;
            }
            continue;
        }
        i++;
    }
    /* Plain numbers: the day and the year. */
    for (k = 0; k < nnums; k++) {
        if ((ndig[k] >= 3 || nums[k] > 31) && d.year < 0) {
            d.year = nums[k];
            d.year_digits = ndig[k];
        } else if (d.day < 0 && !iso) {
            d.day = nums[k];
        } else if (d.year < 0) {
            d.year = nums[k];
            d.year_digits = ndig[k];
        }
    }
    if (d.year < 0 || d.day < 0 || d.month == 0)
        return -1;
    if (d.year_digits <= 2)
        d.year += d.year < 50 ? 2000 : 1900;
    else if (d.year_digits == 3)
        d.year += 1900;
    if (d.year < 1000 || d.year > 9999)
        return -1;
    if (d.day < 1 || d.day > days_in_month(d.year, d.month))
        return -1;
    if (d.pm && d.hour < 12)
        d.hour += 12;
    else if (d.am && d.hour == 12)
        d.hour = 0;
    if (d.hour < 0 || d.hour > 23 || d.min > 59 || d.sec > 60)
        return -1;
    if (d.sec == 60)
        d.sec = 59;     /* a leap second: time_t cannot hold it */
    zone = d.have_zone ? d.zone : d.have_named_zone ? d.named_zone : 0;
    days = days_from_civil(d.year, d.month, (int)d.day);
    secs = days * 86400 + d.hour * 3600 + (d.min > 0 ? d.min : 0) * 60 +
           d.sec - (int64_t)zone * 60;
    if (t)
        *t = (time_t)secs;
    if (offset)
        *offset = zone;
    return 0;
}

/* Break t + offset into fields; -1 if the year is not 0..9999. */
static int split_time(time_t t, int offset, int64_t *y, int *mo, int *d,
                      int *h, int *mi, int *s, int *wday)
{
    int64_t local = (int64_t)t + (int64_t)offset * 60;
    int64_t days = local / 86400, rem = local % 86400;

    if (rem < 0) {
        rem += 86400;
        days--;
    }
    civil_from_days(days, y, mo, d);
    if (*y < 0 || *y > 9999)
        return -1;
    *h = (int)(rem / 3600);
    *mi = (int)(rem / 60 % 60);
    *s = (int)(rem % 60);
    *wday = (int)((days % 7 + 11) % 7);     /* 1970-01-01 was a Thursday */
    return 0;
}

int mail_date_format_rfc5322(char *buf, size_t size, time_t t, int offset)
{
    int64_t y;
    int mo, d, h, mi, s, wday, a = offset < 0 ? -offset : offset;

    if (offset <= -24 * 60 || offset >= 24 * 60)
        return -1;
    if (split_time(t, offset, &y, &mo, &d, &h, &mi, &s, &wday) < 0)
        return -1;
    return mail_snprintf(buf, size, "%s, %d %s %04d %02d:%02d:%02d %c%02d%02d",
                         day_names_cap[wday], d, month_names_cap[mo - 1],
                         (int)y, h, mi, s, offset < 0 ? '-' : '+', a / 60,
                         a % 60);
}

int mail_date_format_rfc3339(char *buf, size_t size, time_t t, int offset)
{
    int64_t y;
    int mo, d, h, mi, s, wday, a = offset < 0 ? -offset : offset;

    if (offset <= -24 * 60 || offset >= 24 * 60)
        return -1;
    if (split_time(t, offset, &y, &mo, &d, &h, &mi, &s, &wday) < 0)
        return -1;
    return mail_snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d",
                         (int)y, mo, d, h, mi, s, offset < 0 ? '-' : '+',
                         a / 60, a % 60);
}

int mail_date_local_offset(time_t t)
{
    struct tm tm;

    if (!localtime_r(&t, &tm))
        return 0;
    return (int)(tm.tm_gmtoff / 60);
}

/* ---- the date column of a listing ---- */

static const char *const month_abbr[12] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static time_t local_midnight(const struct tm *tm_in)
{
    struct tm tm = *tm_in;

    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_isdst = -1;
    return mktime(&tm);
}

void mail_short_dates_init(struct mail_short_dates *d, time_t now)
{
    struct tm tm;

    memset(d, 0, sizeof *d);
    d->day_lo = d->day_hi = 0;
    if (!localtime_r(&now, &tm))
        return;
    d->year = tm.tm_year;
    d->today_lo = local_midnight(&tm);
    tm.tm_mday++;
    d->today_hi = local_midnight(&tm);
    tm.tm_mday--;
    tm.tm_mon = 0;
    tm.tm_mday = 1;
    d->year_lo = local_midnight(&tm);
    tm.tm_year++;
    d->year_hi = local_midnight(&tm);
}

size_t mail_short_date_width(const struct mail_short_dates *d, time_t t)
{
    if (t >= d->today_lo && t < d->today_hi)
        return 5;
    if (t >= d->year_lo && t < d->year_hi)
        return 6;
    return 10;
}

static void put_2(char *p, int v)
{
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
}

/* A day other than today is formatted once and reused. */
size_t mail_short_date(struct mail_short_dates *d, time_t t, char *out)
{
    struct tm tm;

    if (t >= d->today_lo && t < d->today_hi) {
        if (!localtime_r(&t, &tm))
            goto unknown;
        put_2(out, tm.tm_hour);
        out[2] = ':';
        put_2(out + 3, tm.tm_min);
        return 5;
    }
    if (d->day_hi > d->day_lo && t >= d->day_lo && t < d->day_hi) {
        memcpy(out, d->day, d->day_len);
        return d->day_len;
    }
    if (!localtime_r(&t, &tm))
        goto unknown;
    if (tm.tm_year == d->year) {
        memcpy(d->day, month_abbr[tm.tm_mon], 3);
        d->day[3] = ' ';
        d->day[4] = tm.tm_mday < 10 ? ' ' : (char)('0' + tm.tm_mday / 10);
        d->day[5] = (char)('0' + tm.tm_mday % 10);
        d->day_len = 6;
    } else if (tm.tm_year + 1900 >= 0 && tm.tm_year + 1900 <= 9999) {
        int y = tm.tm_year + 1900;

        put_2(d->day, y / 100);
        put_2(d->day + 2, y % 100);
        d->day[4] = '-';
        put_2(d->day + 5, tm.tm_mon + 1);
        d->day[7] = '-';
        put_2(d->day + 8, tm.tm_mday);
        d->day_len = 10;
    } else {
        goto unknown;
    }
    /* the whole of that local day (a day is at least 23 hours long) */
    d->day_lo = t - (tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
    d->day_hi = d->day_lo + 23 * 3600;
    memcpy(out, d->day, d->day_len);
    return d->day_len;
unknown:
    out[0] = '?';
    return 1;
}
