/* error.c - the one error type; see mail/error.h. */
#include <stdio.h>
#include <string.h>

#include "mail/error.h"

void mail_error_clear(struct mail_error *err)
{
    if (!err)
        return;
    err->kind = MAIL_OK;
    err->conn_lost = false;
    err->msg[0] = '\0';
}

int mail_error_setv(struct mail_error *err, enum mail_error_kind kind,
                    const char *fmt, va_list ap)
{
    if (!err)
        return -1;
    err->kind = kind;
    err->conn_lost = false;
    /* Truncation is acceptable for a one-line message: it is cut, not
     * overflowed. */
    if (vsnprintf(err->msg, sizeof err->msg, fmt, ap) < 0)
        err->msg[0] = '\0';
    return -1;
}

int mail_error_set(struct mail_error *err, enum mail_error_kind kind,
                   const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    mail_error_setv(err, kind, fmt, ap);
    va_end(ap);
    return -1;
}

int mail_error_prefix(struct mail_error *err, const char *fmt, ...)
{
    char prefix[MAIL_ERROR_MSG_MAX];
    char old[MAIL_ERROR_MSG_MAX];
    va_list ap;

    if (!err)
        return -1;
    va_start(ap, fmt);
    if (vsnprintf(prefix, sizeof prefix, fmt, ap) < 0)
        prefix[0] = '\0';
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    old[sizeof old - 1] = '\0';
    /* Assemble by hand: the result is cut at the buffer's end. */
    {
        size_t n = 0, cap = sizeof err->msg - 1;
        const char *parts[3] = { prefix, ": ", old };

        for (int i = 0; i < 3; i++) {
            size_t l = strlen(parts[i]);
            if (l > cap - n)
                l = cap - n;
            memcpy(err->msg + n, parts[i], l);
            n += l;
        }
        err->msg[n] = '\0';
    }
    return -1;
}

int mail_error_exit_code(enum mail_error_kind kind)
{
    switch (kind) {
    case MAIL_OK:            return 0;
    case MAIL_ERR_USAGE:     return 64;
    case MAIL_ERR_DATA:      return 65;
    case MAIL_ERR_NOTFOUND:  return 66;
    case MAIL_ERR_RECIPIENT: return 67;
    case MAIL_ERR_HOST:      return 68;
    case MAIL_ERR_UNAVAIL:   return 69;
    case MAIL_ERR_TLS:       return 69;
    case MAIL_ERR_INTERNAL:  return 70;
    case MAIL_ERR_CANTCREAT: return 73;
    case MAIL_ERR_IO:        return 74;
    case MAIL_ERR_TEMP:      return 75;
    case MAIL_ERR_PROTOCOL:  return 76;
    case MAIL_ERR_AUTH:      return 77;
    case MAIL_ERR_CONFIG:    return 78;
    }
    return 70;
}

const char *mail_error_kind_name(enum mail_error_kind kind)
{
    switch (kind) {
    case MAIL_OK:            return "ok";
    case MAIL_ERR_USAGE:     return "usage";
    case MAIL_ERR_DATA:      return "data";
    case MAIL_ERR_NOTFOUND:  return "not-found";
    case MAIL_ERR_RECIPIENT: return "recipient";
    case MAIL_ERR_HOST:      return "host";
    case MAIL_ERR_UNAVAIL:   return "unavailable";
    case MAIL_ERR_TLS:       return "tls";
    case MAIL_ERR_INTERNAL:  return "internal";
    case MAIL_ERR_CANTCREAT: return "cant-create";
    case MAIL_ERR_IO:        return "io";
    case MAIL_ERR_TEMP:      return "temporary";
    case MAIL_ERR_PROTOCOL:  return "protocol";
    case MAIL_ERR_AUTH:      return "auth";
    case MAIL_ERR_CONFIG:    return "config";
    }
    return "internal";
}
