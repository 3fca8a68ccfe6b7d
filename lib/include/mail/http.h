/*
 * http.h - the few HTTPS requests libmail makes (OAuth 2.0 token and
 * device endpoints), with libcurl.
 *
 * TLS is verified against the system CAs, or the account's tls-ca-file
 * (the same option as the mail connections); http:// is refused except to
 * a loopback address.  The reply body is capped (MAIL_HTTP_BODY_MAX) and
 * the whole request is bounded by timeout seconds.  The trace hook sees
 * the method, the URL without its query and the status, never a body:
 * bodies carry tokens and client secrets.
 */
#ifndef MAIL_HTTP_H
#define MAIL_HTTP_H

#pragma GCC visibility push(default)

#include "buf.h"
#include "conn.h"
#include "error.h"

#define MAIL_HTTP_BODY_MAX ((size_t)256 << 10)

struct mail_http_req {
    const char *method;         /* "GET" or "POST" */
    const char *url;            /* https://... */
    const char *form;           /* POST: application/x-www-form-urlencoded
                                   body (a secret: never traced) */
    const char *ca_file;        /* NULL: system store */
    int timeout;                /* seconds for the whole request; 0: 30 */
    mail_trace_fn trace;
    void *trace_arg;
};

struct mail_http_resp {
    long status;                /* HTTP status, 0 when none came */
    struct mail_buf body;       /* the reply body (secret mode) */
    char content_type[128];
};

void mail_http_resp_init(struct mail_http_resp *r);
void mail_http_resp_release(struct mail_http_resp *r);

/*
 * Make the request.  0 when a reply came (whatever its status), else -1:
 * MAIL_ERR_HOST (name not found), MAIL_ERR_TLS (certificate, handshake),
 * MAIL_ERR_TEMP (connection refused or reset, timeout), MAIL_ERR_DATA
 * (reply larger than MAIL_HTTP_BODY_MAX), MAIL_ERR_CONFIG (a bad or
 * non-HTTPS URL), MAIL_ERR_INTERNAL.  Messages name the host, not the
 * query or the body.
 */
int mail_http_request(const struct mail_http_req *req,
                      struct mail_http_resp *resp, struct mail_error *err);

/* Append s percent-encoded for a form or a query (RFC 3986 unreserved
 * characters kept).  -1 on ENOMEM. */
int mail_http_urlencode(struct mail_buf *out, const char *s);

#pragma GCC visibility pop

#endif
