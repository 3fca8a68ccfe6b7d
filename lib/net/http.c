/*
 * http.c - HTTPS requests with libcurl (see mail/http.h).
 *
 * Only what the OAuth 2.0 endpoints need: a GET or a form POST, one reply
 * read into a capped buffer.  Redirects are not followed (a token
 * endpoint that redirects is misconfigured, and following one would
 * resend the form), no cookies, no proxy unless the environment sets one
 * (libcurl reads https_proxy itself, as users expect).
 *
 * libcurl is loaded by the first request, not when the program starts:
 * it brings some 25 libraries (GnuTLS, Kerberos, LDAP, ...) whose loading
 * and constructors cost every command about 25 ms, and only OAuth 2.0
 * asks anything over HTTP.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "mail/buf.h"
#include "mail/http.h"
#include "trace.h"

void mail_http_resp_init(struct mail_http_resp *r)
{
    memset(r, 0, sizeof *r);
    mail_buf_init(&r->body, MAIL_HTTP_BODY_MAX);
    mail_buf_set_secret(&r->body);
}

void mail_http_resp_release(struct mail_http_resp *r)
{
    mail_buf_release_secret(&r->body);
    mail_buf_init(&r->body, MAIL_HTTP_BODY_MAX);
    mail_buf_set_secret(&r->body);
}

struct sink {
    struct mail_buf *body;
    bool too_big;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct sink *s = arg;
    size_t n = size * nmemb;

    if (mail_buf_add(s->body, ptr, n) < 0) {
        s->too_big = true;
        return 0;               /* aborts the transfer */
    }
    return n;
}

/* The URL for messages and traces: scheme://host[:port]/path, without a
 * query, a fragment or user info. */
static void shown_url(char *dst, size_t size, const char *url)
{
    const char *p = strstr(url, "://"), *host, *at, *end;
    size_t n = 0, i;

    if (!p) {
        mail_strlcpy(dst, "(bad URL)", size);
        return;
    }
    host = p + 3;
    end = host + strcspn(host, "?#");
    at = memchr(host, '@', (size_t)(end - host));
    if (at && (size_t)(at - host) < strcspn(host, "/"))
        host = at + 1;
    for (i = 0; url + i < p + 3 && n + 1 < size; i++)
        dst[n++] = url[i];
    for (p = host; p < end && n + 1 < size; p++) {
        unsigned char c = (unsigned char)*p;

        dst[n++] = c < 0x21 || c >= 0x7f ? '?' : (char)c;
    }
    dst[n] = '\0';
}

/* host[:port] of the URL, for messages. */
static void url_host(char *dst, size_t size, const char *url)
{
    const char *p = strstr(url, "://");
    size_t n;

    p = p ? p + 3 : url;
    n = strcspn(p, "/?#");
    if (memchr(p, '@', n))
        p = (const char *)memchr(p, '@', n) + 1, n = strcspn(p, "/?#");
    if (n >= size)
        n = size - 1;
    memcpy(dst, p, n);
    dst[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)dst[i] < 0x21 || (unsigned char)dst[i] >= 0x7f)
            dst[i] = '?';
}

/* The libcurl functions used, from the library loaded at the first
 * request (curl_load). */
static struct {
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    const char *(*easy_strerror)(CURLcode);
    void (*easy_cleanup)(CURL *);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    bool loaded;
    char why[200];          /* when not loaded */
} lc;
static pthread_once_t lc_once = PTHREAD_ONCE_INIT;

#define LIBCURL_SONAME "libcurl.so.4"

static void curl_load_once(void)
{
    static const char *const names[] = {
        "curl_easy_init", "curl_easy_setopt", "curl_easy_perform",
        "curl_easy_getinfo", "curl_easy_strerror", "curl_easy_cleanup",
        "curl_slist_append", "curl_slist_free_all",
    };
    void **slots[] = {
        (void **)&lc.easy_init, (void **)&lc.easy_setopt,
        (void **)&lc.easy_perform, (void **)&lc.easy_getinfo,
        (void **)&lc.easy_strerror, (void **)&lc.easy_cleanup,
        (void **)&lc.slist_append, (void **)&lc.slist_free_all,
    };
    void *h = dlopen(LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    const char *e;

    if (!h) {
        e = dlerror();
        snprintf(lc.why, sizeof lc.why, "%s", e ? e : "not found");
        return;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        void *sym = dlsym(h, names[i]);

        if (!sym) {
            snprintf(lc.why, sizeof lc.why, "%s has no %s", LIBCURL_SONAME,
                     names[i]);
            return;     /* h stays open: harmless, and never retried */
        }
        /* POSIX guarantees a function's address survives the trip
         * through void *; memcpy keeps ISO C's pedantry quiet */
        memcpy(slots[i], &sym, sizeof sym);
    }
    lc.loaded = true;
}

static int curl_load(struct mail_error *err)
{
    char why[sizeof lc.why];

    pthread_once(&lc_once, curl_load_once);
    if (lc.loaded)
        return 0;
    /* the loader's words may name a path; keep them on one safe line */
    snprintf(why, sizeof why, "%s", lc.why);
    for (char *p = why; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
            *p = ' ';
    return mail_error_set(err, MAIL_ERR_UNAVAIL, "OAuth 2.0 needs libcurl "
                          "(%s, Debian's libcurl4): %s", LIBCURL_SONAME, why);
}

static bool is_loopback_http(const char *url)
{
    static const char *const ok[] = {
        "http://127.0.0.1:", "http://127.0.0.1/", "http://[::1]:",
        "http://[::1]/", "http://localhost:", "http://localhost/",
    };

    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strncasecmp(url, ok[i], strlen(ok[i])) == 0)
            return true;
    return false;
}

static void trace(const struct mail_http_req *req, char dir,
                  const char *fmt, ...) MAIL_PRINTF(3, 4);
static void trace(const struct mail_http_req *req, char dir,
                  const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    net_trace_vprintf(req->trace, req->trace_arg, dir, fmt, ap);
    va_end(ap);
}

int mail_http_request(const struct mail_http_req *req,
                      struct mail_http_resp *resp, struct mail_error *err)
{
    CURL *c = NULL;
    CURLcode rc;
    struct sink sink = { &resp->body, false };
    char shown[300], host[256], cerr[CURL_ERROR_SIZE];
    const char *method = req->method ? req->method : "GET";
    bool post = strcmp(method, "POST") == 0;
    struct curl_slist *hdrs = NULL;
    char *ct = NULL;
    int ret = -1;

    resp->status = 0;
    resp->content_type[0] = '\0';
    if (!req->url || !*req->url)
        return mail_error_set(err, MAIL_ERR_CONFIG, "no URL to ask");
    shown_url(shown, sizeof shown, req->url);
    url_host(host, sizeof host, req->url);
    if (strncasecmp(req->url, "https://", 8) != 0 &&
        !is_loopback_http(req->url))
        return mail_error_set(err, MAIL_ERR_CONFIG, "%s: not an https:// "
                              "URL", shown);
    if (curl_load(err) < 0)
        return -1;
    c = lc.easy_init();
    if (!c)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "cannot start libcurl");
    cerr[0] = '\0';
    lc.easy_setopt(c, CURLOPT_URL, req->url);
    lc.easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    lc.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    lc.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
    lc.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    lc.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    lc.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    lc.easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (req->ca_file) {
        lc.easy_setopt(c, CURLOPT_CAINFO, req->ca_file);
        lc.easy_setopt(c, CURLOPT_CAPATH, NULL);
    }
    lc.easy_setopt(c, CURLOPT_TIMEOUT, (long)(req->timeout > 0 ?
                                                 req->timeout : 30));
    lc.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)(req->timeout > 0 ?
                                                        req->timeout : 30));
    lc.easy_setopt(c, CURLOPT_USERAGENT, "mail");
    lc.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    lc.easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    hdrs = lc.slist_append(hdrs, "Accept: application/json");
    if (post) {
        const char *form = req->form ? req->form : "";

        lc.easy_setopt(c, CURLOPT_POST, 1L);
        lc.easy_setopt(c, CURLOPT_POSTFIELDS, form);
        lc.easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(form));
        hdrs = lc.slist_append(hdrs, "Content-Type: "
                                 "application/x-www-form-urlencoded");
    } else {
        lc.easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    lc.easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);

    trace(req, '>', "%s %s", post ? "POST" : "GET", shown);
    rc = lc.easy_perform(c);
    if (rc != CURLE_OK) {
        enum mail_error_kind kind = MAIL_ERR_TEMP;

        switch (rc) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
            kind = MAIL_ERR_HOST;
            break;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_INVALIDCERTSTATUS:
            kind = MAIL_ERR_TLS;
            break;
        case CURLE_WRITE_ERROR:
            if (sink.too_big)
                kind = MAIL_ERR_DATA;
            break;
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
            kind = MAIL_ERR_CONFIG;
            break;
        case CURLE_OUT_OF_MEMORY:
            kind = MAIL_ERR_INTERNAL;
            break;
        default:
            break;
        }
        if (sink.too_big)
            mail_error_set(err, kind, "%s: reply larger than %zu bytes",
                           host, MAIL_HTTP_BODY_MAX);
        else
            mail_error_set(err, kind, "%s: %s", host,
                           *cerr ? cerr : lc.easy_strerror(rc));
        /* libcurl's words may quote the URL; keep only up to its query */
        {
            char *q = strchr(err ? err->msg : "", '?');

            if (q && err)
                *q = '\0';
        }
        trace(req, '*', "%s failed", host);
        goto out;
    }
    lc.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    if (lc.easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
        mail_strlcpy(resp->content_type, ct, sizeof resp->content_type);
    trace(req, '<', "HTTP %ld (%zu bytes)", resp->status, resp->body.len);
    ret = 0;
out:
    lc.slist_free_all(hdrs);
    lc.easy_cleanup(c);
    return ret;
}

int mail_http_urlencode(struct mail_buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
            c == '~') {
            if (mail_buf_addch(out, (char)c) < 0)
                return -1;
        } else {
            char e[3] = { '%', hex[c >> 4], hex[c & 15] };

            if (mail_buf_add(out, e, 3) < 0)
                return -1;
        }
    }
    return 0;
}
