/* url.c - server URLs: scheme://[user@]host[:port][/]; see mail/config.h. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/buf.h"
#include "mail/config.h"
#include "mail/hex.h"

/* The scheme decides both the protocol and how TLS starts. */
static const struct scheme {
    const char *name;
    enum mail_proto proto;
    enum mail_tls tls;
} schemes[] = {
    { "smtp",  MAIL_PROTO_SMTP, MAIL_TLS_STARTTLS },
    { "smtps", MAIL_PROTO_SMTP, MAIL_TLS_IMPLICIT },
    { "imap",  MAIL_PROTO_IMAP, MAIL_TLS_STARTTLS },
    { "imaps", MAIL_PROTO_IMAP, MAIL_TLS_IMPLICIT },
    { "pop3",  MAIL_PROTO_POP3, MAIL_TLS_STARTTLS },
    { "pop3s", MAIL_PROTO_POP3, MAIL_TLS_IMPLICIT },
};

#define SCHEME_HINT \
    "use smtp://, smtps://, imap://, imaps://, pop3:// or pop3s://"

/* Longest URL we accept; also bounds what an error message repeats. */
#define URL_MAX 2048

void mail_url_release(struct mail_url *u)
{
    if (!u)
        return;
    free(u->host);
    free(u->user);
    u->host = NULL;
    u->user = NULL;
}

/*
 * Copy s for an error message: control characters (which could drive the
 * terminal the message ends up on) are shown as '?', a password after
 * "user:" is masked, and long input is cut.
 */
static void show_url(char *dst, size_t size, const char *s)
{
    const char *at = NULL, *colon = NULL, *auth = strstr(s, "://");
    size_t n = 0;

    if (auth) {
        auth += 3;
        at = strrchr(auth, '@');
        colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    }
    while (*s && n + 7 < size) {
        unsigned char c = (unsigned char)*s;

        if (colon && s == colon + 1) {
            memcpy(dst + n, "***", 3);
            n += 3;
            s = at;
            colon = NULL;
            continue;
        }
        dst[n++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
        s++;
    }
    if (*s) {
        memcpy(dst + n, "...", 3);
        n += 3;
    }
    dst[n] = '\0';
}

static int url_error(struct mail_error *err, const char *url,
                     const char *fmt, ...) MAIL_PRINTF(3, 4);

static int url_error(struct mail_error *err, const char *url,
                     const char *fmt, ...)
{
    char shown[160], what[256];
    va_list ap;

    show_url(shown, sizeof shown, url);
    va_start(ap, fmt);
    if (vsnprintf(what, sizeof what, fmt, ap) < 0)
        what[0] = '\0';
    va_end(ap);
    return mail_error_set(err, MAIL_ERR_CONFIG, "bad server URL '%s': %s",
                          shown, what);
}

/* Percent-decode [s, s+len) into a new string; NULL on a bad escape or a
 * decoded NUL or control character (sent to the server verbatim). */
static char *percent_decode(const char *s, size_t len, int *bad)
{
    struct mail_buf b = MAIL_BUF_INIT;
    int rc = mail_pct_decode(&b, s, len, MAIL_PCT_STRICT);

    for (size_t i = 0; rc == 0 && i < b.len; i++)
        if ((unsigned char)b.data[i] < 0x20 || b.data[i] == 0x7f)
            rc = -2;
    *bad = rc == -2;
    if (rc < 0) {
        mail_buf_release(&b);
        return NULL;
    }
    return mail_buf_detach(&b);
}

/* A host name: letters, digits, '-', '.', '_' (seen in internal names). */
static bool valid_hostname(const char *s, size_t len)
{
    size_t i;

    if (len == 0 || len > 253)
        return false;
    for (i = 0; i < len; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'))
            return false;
    }
    return true;
}

int mail_url_parse(const char *s, struct mail_url *u, struct mail_error *err)
{
    const struct scheme *sc = NULL;
    const char *p, *auth, *end, *at, *host, *hend, *port = NULL;
    size_t i, slen;

    memset(u, 0, sizeof *u);
    if (!s || !*s)
        return mail_error_set(err, MAIL_ERR_CONFIG,
                              "empty server URL (" SCHEME_HINT ")");
    slen = strlen(s);
    if (slen > URL_MAX)
        return url_error(err, s, "too long");

    p = strstr(s, "://");
    if (!p)
        return url_error(err, s, "no scheme (" SCHEME_HINT ")");
    for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        size_t n = strlen(schemes[i].name);

        if ((size_t)(p - s) == n &&
            mail_strncasecmp(s, schemes[i].name, n) == 0)
            sc = &schemes[i];
    }
    if (!sc) {
        char name[40], shown[48];
        size_t n = (size_t)(p - s);

        if (n >= sizeof name)
            n = sizeof name - 1;
        memcpy(name, s, n);
        name[n] = '\0';
        show_url(shown, sizeof shown, name);
        return url_error(err, s, "unknown scheme '%s' (" SCHEME_HINT ")",
                         shown);
    }

    /* The authority runs to the end, or to a "/" that must be the last
     * character: there is nothing a path could mean for these servers. */
    auth = p + 3;
    end = auth + strcspn(auth, "/?#");
    if (*end == '/' && end[1] == '\0') {
        /* trailing slash: fine */
    } else if (*end) {
        return url_error(err, s,
                         "a path, query or fragment is not allowed "
                         "(scheme://[user@]host[:port])");
    }

    /* The last '@' ends the user part, so "alice@example.com@host" works
     * even without percent-encoding. */
    at = NULL;
    for (p = auth; p < end; p++)
        if (*p == '@')
            at = p;
    host = at ? at + 1 : auth;
    if (at) {
        int bad;

        if (memchr(auth, ':', (size_t)(at - auth)))
            return url_error(err, s,
                             "a password in the URL is not supported "
                             "(use password-command)");
        if (at == auth)
            return url_error(err, s, "empty user name before '@'");
        u->user = percent_decode(auth, (size_t)(at - auth), &bad);
        if (!u->user) {
            if (bad)
                return url_error(err, s, "bad %%-escape in the user name");
            return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        }
    }

    if (*host == '[') {
        char addr[INET6_ADDRSTRLEN + 1];
        unsigned char bin[16];
        size_t n;

        hend = memchr(host, ']', (size_t)(end - host));
        if (!hend) {
            mail_url_release(u);
            return url_error(err, s, "missing ']' after IPv6 address");
        }
        n = (size_t)(hend - host - 1);
        if (n == 0 || n >= sizeof addr) {
            mail_url_release(u);
            return url_error(err, s, "bad IPv6 address");
        }
        memcpy(addr, host + 1, n);
        addr[n] = '\0';
        if (inet_pton(AF_INET6, addr, bin) != 1) {
            mail_url_release(u);
            return url_error(err, s, "bad IPv6 address");
        }
        u->host = strdup(addr);
        hend++;
        if (hend < end && *hend != ':') {
            mail_url_release(u);
            return url_error(err, s, "unexpected text after ']'");
        }
    } else {
        hend = host;
        while (hend < end && *hend != ':')
            hend++;
        if (hend == host) {
            mail_url_release(u);
            return url_error(err, s, "no host name");
        }
        if (!valid_hostname(host, (size_t)(hend - host))) {
            mail_url_release(u);
            return url_error(err, s, "bad host name");
        }
        u->host = strndup(host, (size_t)(hend - host));
    }
    if (!u->host) {
        mail_url_release(u);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }

    u->proto = sc->proto;
    u->tls = sc->tls;
    u->port = mail_proto_default_port(sc->proto, sc->tls);
    if (hend < end) {
        unsigned long v = 0;

        /* Digits only: strtoul would take "+80", " 80" and "0x50". */
        port = hend + 1;
        if (port == end) {
            mail_url_release(u);
            return url_error(err, s, "empty port after ':'");
        }
        for (p = port; p < end; p++) {
            if (*p < '0' || *p > '9' || v > 65535) {
                mail_url_release(u);
                return url_error(err, s, "bad port (1 to 65535)");
            }
            v = v * 10 + (unsigned long)(*p - '0');
        }
        if (v < 1 || v > 65535) {
            mail_url_release(u);
            return url_error(err, s, "bad port (1 to 65535)");
        }
        u->port = (unsigned)v;
    }
    return 0;
}
