/*
 * conn.c - TCP and TLS connections with buffered, time-bounded I/O.
 *
 * The socket is non-blocking; every wait goes through poll() with the
 * configured timeout, for plain and TLS I/O alike (SSL_ERROR_WANT_READ and
 * WANT_WRITE tell which way to wait).  Reads fill a fixed buffer from which
 * lines and byte counts are taken; writes collect in a buffer that is sent
 * on flush, so that pipelined commands leave in one segment.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "mail/buf.h"
#include "mail/compress.h"
#include "mail/conn.h"
#include "trace.h"

#define RBUF_SIZE (256 * 1024)   /* longest line we accept, plus slack */
#define WBUF_FLUSH (64 * 1024)   /* flush by ourselves past this */

struct mail_conn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    char *host;
    unsigned port;
    char name[300];              /* "host:port" */
    int timeout_ms;
    const struct mail_deadline *deadline;   /* the caller's, or NULL */
    char *ca_file;
    char fingerprint[65];        /* the pin, or "" */
    char peer_sha256[65];        /* the server's certificate, once seen */
    mail_trace_fn trace;
    void *trace_arg;

    char *rbuf;                  /* RBUF_SIZE + 1 bytes */
    size_t rstart, rend;         /* unread bytes are rbuf[rstart..rend) */
    struct mail_buf wbuf;
    struct mail_zstream *z;      /* COMPRESS=DEFLATE (compress.h), or NULL */
    struct mail_buf zbuf;        /* deflated bytes not yet sent */
};

static void trace(struct mail_conn *c, char dir, const char *data, size_t len)
{
    if (c->trace)
        c->trace(c->trace_arg, dir, data, len);
}

void mail_conn_note(struct mail_conn *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    net_trace_vprintf(c->trace, c->trace_arg, '*', fmt, ap);
    va_end(ap);
}

const char *mail_conn_name(const struct mail_conn *c)
{
    return c->name;
}

const char *mail_conn_host(const struct mail_conn *c)
{
    return c->host;
}

bool mail_conn_is_tls(const struct mail_conn *c)
{
    return c->ssl != NULL;
}

void mail_conn_set_timeout(struct mail_conn *c, int seconds)
{
    if (seconds <= 0)
        seconds = 1;
    if (seconds > INT_MAX / 1000)
        seconds = INT_MAX / 1000;
    c->timeout_ms = seconds * 1000;
}

int mail_conn_timeout(const struct mail_conn *c)
{
    return c->timeout_ms / 1000;
}

size_t mail_conn_pending(const struct mail_conn *c)
{
    return c->rend - c->rstart + (c->z ? mail_zstream_in_pending(c->z) : 0);
}

/* The first OpenSSL error on the queue as text, or a fallback. */
static const char *ssl_error_text(char *buf, size_t size, const char *dflt)
{
    unsigned long e = ERR_get_error();

    if (!e) {
        mail_strlcpy(buf, dflt, size);
        return buf;
    }
    ERR_error_string_n(e, buf, size);
    /* "error:0A000086:SSL routines::certificate verify failed" -> keep
     * the reason only: the user does not need the numbers. */
    {
        const char *r = strrchr(buf, ':');
        if (r && r[1])
            memmove(buf, r + 1, strlen(r + 1) + 1);
    }
    ERR_clear_error();
    return buf;
}

long long mail_monotonic_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void mail_conn_set_deadline(struct mail_conn *c, const struct mail_deadline *d)
{
    c->deadline = d;
}

/* The error of a passed deadline. */
static int deadline_error(struct mail_conn *c, struct mail_error *err)
{
    return mail_error_set(err, MAIL_ERR_TEMP, "%s: deadline passed (%s)",
                          c->name, c->deadline->what ? c->deadline->what
                                                     : "no time left");
}

/* How long the next wait may last: the timeout, or less if the deadline
 * comes first (*by_deadline then true); 0 when the deadline has passed. */
static int wait_budget(const struct mail_conn *c, bool *by_deadline)
{
    long long left;

    *by_deadline = false;
    if (!c->deadline || c->deadline->at_ms <= 0)
        return c->timeout_ms;
    left = c->deadline->at_ms - mail_monotonic_ms();
    if (left >= c->timeout_ms)
        return c->timeout_ms;
    *by_deadline = true;
    return left > 0 ? (int)left : 0;
}

/* Fail if the deadline has passed; every read and wait checks it, so a
 * server that trickles bytes (never letting a wait time out) is cut too. */
static int check_deadline(struct mail_conn *c, struct mail_error *err)
{
    bool by_deadline;

    if (wait_budget(c, &by_deadline) == 0 && by_deadline)
        return deadline_error(c, err);
    return 0;
}

/* Wait until fd is ready for `events`; -1 with err on timeout, a passed
 * deadline or error.  Each wait is bounded by min(timeout, deadline). */
static int wait_fd(struct mail_conn *c, short events, struct mail_error *err)
{
    struct pollfd p = { .fd = c->fd, .events = events };

    for (;;) {
        bool by_deadline;
        int ms = wait_budget(c, &by_deadline), r;

        if (ms == 0 && by_deadline)
            return deadline_error(c, err);
        r = poll(&p, 1, ms);
        if (r > 0)
            return 0;
        if (r == 0 && by_deadline)
            return deadline_error(c, err);
        if (r == 0)
            return mail_error_set(err, MAIL_ERR_TEMP,
                                  "%s: timed out after %d s waiting for the "
                                  "server", c->name, c->timeout_ms / 1000);
        if (errno != EINTR)
            return mail_error_set(err, MAIL_ERR_IO, "%s: poll: %s", c->name,
                                  strerror(errno));
    }
}

/*
 * Mark err as a lost connection (mail_error.conn_lost) after it was set:
 * the peer closed or reset it, or a write found it broken.  Returns -1.
 */
static int lost(struct mail_error *err)
{
    if (err)
        err->conn_lost = true;
    return -1;
}

/* Whether a failed recv/send errno means the connection is gone (a
 * timeout is not a loss: the peer may still be there). */
static bool errno_lost(int e)
{
    return e == ECONNRESET || e == EPIPE || e == ECONNABORTED ||
           e == ENOTCONN || e == ESHUTDOWN;
}

/* Whether the first OpenSSL error queued is a stream cut without
 * close_notify (OpenSSL 3's "unexpected eof while reading"); does not
 * take it off the queue. */
static bool ssl_unexpected_eof(void)
{
#ifdef SSL_R_UNEXPECTED_EOF_WHILE_READING
    unsigned long e = ERR_peek_error();

    return e && ERR_GET_LIB(e) == ERR_LIB_SSL &&
           ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
#else
    return false;
#endif
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Connect one address with a timeout.  Returns fd, or -1 with errno set
 * (ETIMEDOUT for the timeout). */
static int connect_one(const struct addrinfo *ai, int timeout_ms)
{
    int fd, one = 1, soerr = 0;
    socklen_t len = sizeof soerr;
    struct pollfd p;

    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                ai->ai_protocol);
    if (fd < 0)
        return -1;
    if (set_nonblock(fd) < 0)
        goto fail;
    /* Batching is done by the explicit flush; Nagle would only add a
     * delayed-ACK wait to every exchange. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno != EINPROGRESS)
        goto fail;
    p.fd = fd;
    p.events = POLLOUT;
    for (;;) {
        int r = poll(&p, 1, timeout_ms);
        if (r > 0)
            break;
        if (r == 0) {
            errno = ETIMEDOUT;
            goto fail;
        }
        if (errno != EINTR)
            goto fail;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        goto fail;
    if (soerr) {
        errno = soerr;
        goto fail;
    }
    return fd;
fail:
    {
        int e = errno;
        if (fd >= 0)
            close(fd);
        errno = e;
    }
    return -1;
}

static int tcp_connect(struct mail_conn *c, struct mail_error *err)
{
    struct addrinfo hints = { 0 }, *res, *ai;
    char port[16];
    int r, last_errno = 0;

    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    snprintf(port, sizeof port, "%u", c->port);
    r = getaddrinfo(c->host, port, &hints, &res);
    if (r == EAI_ADDRFAMILY || r == EAI_NODATA) {
        /* AI_ADDRCONFIG hides ::1 on hosts without IPv6 addresses other
         * than loopback; try once more without it. */
        hints.ai_flags = 0;
        r = getaddrinfo(c->host, port, &hints, &res);
    }
    if (r != 0) {
        if (r == EAI_NONAME || r == EAI_NODATA || r == EAI_FAIL)
            return mail_error_set(err, MAIL_ERR_HOST,
                                  "%s: host not found", c->name);
        if (r == EAI_AGAIN)
            return mail_error_set(err, MAIL_ERR_TEMP,
                                  "%s: temporary failure in name resolution",
                                  c->name);
        return mail_error_set(err, MAIL_ERR_HOST, "%s: %s", c->name,
                              r == EAI_SYSTEM ? strerror(errno)
                                              : gai_strerror(r));
    }
    for (ai = res; ai; ai = ai->ai_next) {
        char addr[INET6_ADDRSTRLEN] = "?";
        const void *a = ai->ai_family == AF_INET6
            ? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
            : (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;

        inet_ntop(ai->ai_family, a, addr, sizeof addr);
        mail_conn_note(c, "connecting to %s port %u", addr, c->port);
        {
            bool by_deadline;
            int ms = wait_budget(c, &by_deadline);

            if (ms == 0 && by_deadline) {
                freeaddrinfo(res);
                return deadline_error(c, err);
            }
            c->fd = connect_one(ai, ms);
        }
        if (c->fd >= 0)
            break;
        last_errno = errno;
        mail_conn_note(c, "%s: %s", addr, strerror(last_errno));
    }
    freeaddrinfo(res);
    if (c->fd >= 0)
        return 0;
    if (last_errno == ETIMEDOUT)
        return mail_error_set(err, MAIL_ERR_TEMP,
                              "%s: timed out after %d s connecting",
                              c->name, c->timeout_ms / 1000);
    return mail_error_set(err, MAIL_ERR_UNAVAIL, "%s: cannot connect: %s",
                          c->name, strerror(last_errno));
}

struct mail_conn *mail_conn_open(const struct mail_conn_opts *o,
                                 struct mail_error *err)
{
    struct mail_conn *c = calloc(1, sizeof *c);

    if (!c) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    /* Before anything can fail: calloc's 0 is standard input, and the
     * failure path closes c->fd. */
    c->fd = -1;
    if (!(c->host = strdup(o->host)) ||
        !(c->rbuf = malloc(RBUF_SIZE + 1)) ||
        (o->ca_file && !(c->ca_file = strdup(o->ca_file)))) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        goto fail;
    }
    c->port = o->port;
    c->timeout_ms = (o->timeout > 0 ? o->timeout : 30) * 1000;
    c->deadline = o->deadline;
    c->trace = o->trace;
    c->trace_arg = o->trace_arg;
    if (o->fingerprint)
        mail_strlcpy(c->fingerprint, o->fingerprint, sizeof c->fingerprint);
    mail_buf_init(&c->wbuf, 0);
    if (strchr(o->host, ':'))
        snprintf(c->name, sizeof c->name, "[%s]:%u", o->host, o->port);
    else
        snprintf(c->name, sizeof c->name, "%s:%u", o->host, o->port);
    if (tcp_connect(c, err) < 0)
        goto fail;
    if (o->tls == MAIL_TLS_IMPLICIT && mail_conn_start_tls(c, err) < 0)
        goto fail;
    return c;
fail:
    if (c)
        mail_conn_close(c);
    return NULL;
}

/* Is s an IPv4 or IPv6 address literal? */
static bool is_ip_literal(const char *s)
{
    unsigned char tmp[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, s, tmp) == 1 || inet_pton(AF_INET6, s, tmp) == 1;
}

static int cert_sha256(X509 *cert, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    if (!X509_digest(cert, EVP_sha256(), md, &n) || n != 32)
        return -1;
    for (unsigned i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}

/*
 * Verification callback: records the server certificate's fingerprint (so
 * that an error can show it, for pinning), and with a pin accepts any
 * chain: the fingerprint is what we trust then, checked after the
 * handshake in check_pin().  The peer is still asked for its certificate
 * (SSL_VERIFY_PEER).
 */
static int verify_cb(int preverify, X509_STORE_CTX *ctx)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(ctx,
                   SSL_get_ex_data_X509_STORE_CTX_idx());
    struct mail_conn *c = ssl ? SSL_get_app_data(ssl) : NULL;
    X509 *cert = X509_STORE_CTX_get_current_cert(ctx);

    if (c && cert && X509_STORE_CTX_get_error_depth(ctx) == 0 &&
        cert_sha256(cert, c->peer_sha256) < 0)
        c->peer_sha256[0] = '\0';
    if (c && c->fingerprint[0])
        return 1;
    return preverify;
}

static int check_pin(struct mail_conn *c, struct mail_error *err)
{
    X509 *cert = SSL_get1_peer_certificate(c->ssl);
    char fp[65];
    int r;

    if (!cert)
        return mail_error_set(err, MAIL_ERR_TLS,
                              "%s: the server sent no certificate", c->name);
    r = cert_sha256(cert, fp);
    X509_free(cert);
    if (r < 0 || strcmp(fp, c->fingerprint) != 0)
        return mail_error_set(err, MAIL_ERR_TLS,
                              "%s: certificate fingerprint sha256:%s does not "
                              "match tls-fingerprint", c->name,
                              r < 0 ? "?" : fp);
    return 0;
}

static int tls_setup(struct mail_conn *c, struct mail_error *err)
{
    char ebuf[256];

    c->ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ctx)
        goto ssl_fail;
    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(c->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                 SSL_MODE_ENABLE_PARTIAL_WRITE);
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, verify_cb);
    if (!c->fingerprint[0]) {
        if (c->ca_file) {
            if (access(c->ca_file, R_OK) < 0)
                return mail_error_set(err, MAIL_ERR_CONFIG,
                                      "tls-ca-file %s: %s", c->ca_file,
                                      strerror(errno));
            if (!SSL_CTX_load_verify_locations(c->ctx, c->ca_file, NULL))
                return mail_error_set(err, MAIL_ERR_CONFIG,
                                      "tls-ca-file %s: %s", c->ca_file,
                                      ssl_error_text(ebuf, sizeof ebuf,
                                                     "cannot load"));
        } else if (!SSL_CTX_set_default_verify_paths(c->ctx)) {
            goto ssl_fail;
        }
    }
    c->ssl = SSL_new(c->ctx);
    if (!c->ssl || !SSL_set_fd(c->ssl, c->fd))
        goto ssl_fail;
    SSL_set_app_data(c->ssl, c);
    if (is_ip_literal(c->host)) {
        /* No SNI for addresses (RFC 6066 3); check the IP SAN. */
        if (!X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), c->host))
            goto ssl_fail;
    } else {
        if (!SSL_set_tlsext_host_name(c->ssl, c->host) ||
            !SSL_set1_host(c->ssl, c->host))
            goto ssl_fail;
    }
    return 0;
ssl_fail:
    return mail_error_set(err, MAIL_ERR_TLS, "%s: TLS setup: %s", c->name,
                          ssl_error_text(ebuf, sizeof ebuf, "failed"));
}

/* Explain a failed handshake: a certificate problem in words, else the
 * OpenSSL reason. */
static int handshake_error(struct mail_conn *c, int ret,
                           struct mail_error *err)
{
    char ebuf[256];
    long v = SSL_get_verify_result(c->ssl);
    int e = SSL_get_error(c->ssl, ret);

    if (v != X509_V_OK) {
        const char *why = X509_verify_cert_error_string(v);

        switch (v) {
        case X509_V_ERR_HOSTNAME_MISMATCH:
        case X509_V_ERR_IP_ADDRESS_MISMATCH:
            why = "certificate is not valid for this host name";
            break;
        case X509_V_ERR_CERT_HAS_EXPIRED:
            why = "certificate has expired";
            break;
        case X509_V_ERR_CERT_NOT_YET_VALID:
            why = "certificate is not yet valid";
            break;
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
            why = "certificate is self-signed and not trusted";
            break;
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            why = "certificate is signed by an untrusted authority";
            break;
        }
        /* The fingerprint lets a user who knows this certificate pin it
         * (tls-fingerprint) after checking it out of band. */
        const char *fp = c->peer_sha256;

        ERR_clear_error();
        return mail_error_set(err, MAIL_ERR_TLS,
                              "%s: TLS certificate verification failed: %s%s%s%s",
                              c->name, why, fp[0] ? " (certificate sha256:" : "",
                              fp, fp[0] ? ")" : "");
    }
    if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN) {
        ERR_clear_error();
        mail_error_set(err, MAIL_ERR_TLS, "%s: TLS handshake failed: "
                       "connection closed by the server", c->name);
        return lost(err);
    }
    if (ssl_unexpected_eof()) {
        mail_error_set(err, MAIL_ERR_TLS, "%s: TLS handshake failed: %s",
                       c->name, ssl_error_text(ebuf, sizeof ebuf,
                                               "unexpected eof"));
        return lost(err);
    }
    return mail_error_set(err, MAIL_ERR_TLS, "%s: TLS handshake failed: %s",
                          c->name, ssl_error_text(ebuf, sizeof ebuf,
                                                  "unknown error"));
}

int mail_conn_start_tls(struct mail_conn *c, struct mail_error *err)
{
    if (c->ssl)
        return mail_error_set(err, MAIL_ERR_INTERNAL,
                              "%s: TLS is already active", c->name);
    if (mail_conn_pending(c))
        return mail_error_set(err, MAIL_ERR_PROTOCOL,
                              "%s: the server sent data before the TLS "
                              "handshake (possible injection attack)",
                              c->name);
    if (mail_conn_flush(c, err) < 0 || tls_setup(c, err) < 0)
        return -1;
    for (;;) {
        int r = SSL_connect(c->ssl);
        if (r == 1)
            break;
        switch (SSL_get_error(c->ssl, r)) {
        case SSL_ERROR_WANT_READ:
            if (wait_fd(c, POLLIN, err) < 0)
                return -1;
            continue;
        case SSL_ERROR_WANT_WRITE:
            if (wait_fd(c, POLLOUT, err) < 0)
                return -1;
            continue;
        default:
            return handshake_error(c, r, err);
        }
    }
    if (c->fingerprint[0] && check_pin(c, err) < 0)
        return -1;
    if (c->trace) {
        struct mail_tls_info ti;
        if (mail_conn_tls_info(c, &ti) == 0)
            mail_conn_note(c, "TLS established: %s %s, certificate %s, "
                              "sha256:%s", ti.version, ti.cipher, ti.subject,
                           ti.sha256);
    }
    return 0;
}

static void name_to_text(X509_NAME *name, char *out, size_t size)
{
    BIO *b = BIO_new(BIO_s_mem());
    int n;

    out[0] = '\0';
    if (!b)
        return;
    X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    n = BIO_read(b, out, (int)size - 1);
    out[n > 0 ? n : 0] = '\0';
    BIO_free(b);
}

static void time_to_text(const ASN1_TIME *t, char *out, size_t size)
{
    struct tm tm;

    out[0] = '\0';
    if (t && ASN1_TIME_to_tm(t, &tm))
        strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int mail_conn_tls_info(const struct mail_conn *c, struct mail_tls_info *ti)
{
    X509 *cert;

    memset(ti, 0, sizeof *ti);
    if (!c->ssl)
        return -1;
    mail_strlcpy(ti->version, SSL_get_version(c->ssl), sizeof ti->version);
    mail_strlcpy(ti->cipher, SSL_get_cipher_name(c->ssl), sizeof ti->cipher);
    mail_strlcpy(ti->verified, c->fingerprint[0] ? "fingerprint"
                                                  : "chain and host name",
                 sizeof ti->verified);
    cert = SSL_get1_peer_certificate(c->ssl);
    if (cert) {
        name_to_text(X509_get_subject_name(cert), ti->subject,
                     sizeof ti->subject);
        name_to_text(X509_get_issuer_name(cert), ti->issuer,
                     sizeof ti->issuer);
        time_to_text(X509_get0_notBefore(cert), ti->not_before,
                     sizeof ti->not_before);
        time_to_text(X509_get0_notAfter(cert), ti->not_after,
                     sizeof ti->not_after);
        if (cert_sha256(cert, ti->sha256) < 0)
            ti->sha256[0] = '\0';
        X509_free(cert);
    }
    return 0;
}

/* Read what the socket (or TLS) has into buf[0..max), at least one byte:
 * *got. */
static int raw_read(struct mail_conn *c, char *buf, size_t max, size_t *got,
                    struct mail_error *err)
{
    char ebuf[256];

    for (;;) {
        if (c->ssl) {
            int r;

            *got = 0;
            r = SSL_read_ex(c->ssl, buf, max, got);
            if (r == 1)
                return 0;
            switch (SSL_get_error(c->ssl, r)) {
            case SSL_ERROR_WANT_READ:
                if (wait_fd(c, POLLIN, err) < 0)
                    return -1;
                continue;
            case SSL_ERROR_WANT_WRITE:
                if (wait_fd(c, POLLOUT, err) < 0)
                    return -1;
                continue;
            case SSL_ERROR_ZERO_RETURN:
                mail_error_set(err, MAIL_ERR_UNAVAIL,
                               "%s: connection closed by the server",
                               c->name);
                return lost(err);
            case SSL_ERROR_SYSCALL: {
                /* EOF without close_notify, or a reset (errno may be
                 * stale from an earlier EAGAIN: named only when it says
                 * reset or broken pipe). */
                int e = errno;

                ERR_clear_error();
                mail_error_set(err, MAIL_ERR_UNAVAIL,
                               "%s: connection closed by the server%s%s",
                               c->name, errno_lost(e) ? ": " : "",
                               errno_lost(e) ? strerror(e) : "");
                return lost(err);
            }
            default: {
                bool cut = ssl_unexpected_eof();

                mail_error_set(err, MAIL_ERR_TLS, "%s: TLS: %s", c->name,
                               ssl_error_text(ebuf, sizeof ebuf,
                                              "read failed"));
                return cut ? lost(err) : -1;
            }
            }
        } else {
            ssize_t n = recv(c->fd, buf, max, 0);
            if (n > 0) {
                *got = (size_t)n;
                return 0;
            }
            if (n == 0) {
                mail_error_set(err, MAIL_ERR_UNAVAIL,
                               "%s: connection closed by the server",
                               c->name);
                return lost(err);
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (wait_fd(c, POLLIN, err) < 0)
                    return -1;
                continue;
            }
            if (errno == EINTR)
                continue;
            {
                int e = errno;

                mail_error_set(err, MAIL_ERR_UNAVAIL, "%s: %s", c->name,
                               strerror(e));
                return errno_lost(e) ? lost(err) : -1;
            }
        }
    }
}

/* Read what is available into rbuf (at least one byte).  Compacts first.
 * With COMPRESS, compressed bytes are read and inflated until some come
 * out. */
static int fill(struct mail_conn *c, struct mail_error *err)
{
    size_t got = 0;

    if (c->rstart > 0) {
        memmove(c->rbuf, c->rbuf + c->rstart, c->rend - c->rstart);
        c->rend -= c->rstart;
        c->rstart = 0;
    }
    if (c->rend >= RBUF_SIZE)
        return mail_error_set(err, MAIL_ERR_PROTOCOL,
                              "%s: line too long from the server", c->name);
    /* Anything queued must go out before we wait for an answer. */
    if ((c->wbuf.len || c->zbuf.len) && mail_conn_flush(c, err) < 0)
        return -1;
    if (check_deadline(c, err) < 0)
        return -1;
    while (c->z) {
        char *in;
        size_t room;

        if (mail_zstream_inflate(c->z, c->rbuf + c->rend,
                                 RBUF_SIZE - c->rend, &got, err) < 0)
            return -1;
        if (got) {
            c->rend += got;
            return 0;
        }
        mail_zstream_in_space(c->z, &in, &room);
        if (room == 0)
            return mail_error_set(err, MAIL_ERR_PROTOCOL, "%s: compressed "
                                  "data that inflates to nothing",
                                  c->name);
        if (raw_read(c, in, room, &got, err) < 0)
            return -1;
        mail_zstream_in_added(c->z, got);
    }
    if (raw_read(c, c->rbuf + c->rend, RBUF_SIZE - c->rend, &got, err) < 0)
        return -1;
    c->rend += got;
    return 0;
}

int mail_conn_read_line(struct mail_conn *c, char **line, size_t *len,
                        size_t max, struct mail_error *err)
{
    size_t scanned = c->rstart;

    if (max > RBUF_SIZE - 2)
        max = RBUF_SIZE - 2;
    for (;;) {
        char *nl = memchr(c->rbuf + scanned, '\n', c->rend - scanned);
        if (nl) {
            char *start = c->rbuf + c->rstart;
            size_t n = (size_t)(nl - start);

            c->rstart += n + 1;
            if (n > 0 && start[n - 1] == '\r')
                n--;
            if (n > max)
                return mail_error_set(err, MAIL_ERR_PROTOCOL,
                                      "%s: line of %zu bytes from the "
                                      "server exceeds the limit of %zu",
                                      c->name, n, max);
            start[n] = '\0';
            *line = start;
            *len = n;
            trace(c, '<', start, n);
            return 0;
        }
        if (c->rend - c->rstart > max + 2)
            return mail_error_set(err, MAIL_ERR_PROTOCOL,
                                  "%s: line from the server exceeds the "
                                  "limit of %zu bytes", c->name, max);
        scanned = c->rend - c->rstart;   /* offset, fixed up after fill */
        if (fill(c, err) < 0)
            return -1;
        scanned += c->rstart;
    }
}

ssize_t mail_conn_read_some(struct mail_conn *c, void *buf, size_t max,
                            struct mail_error *err)
{
    size_t n;

    if (max == 0)
        return 0;
    if (c->rend == c->rstart && fill(c, err) < 0)
        return -1;
    n = c->rend - c->rstart;
    if (n > max)
        n = max;
    memcpy(buf, c->rbuf + c->rstart, n);
    c->rstart += n;
    return (ssize_t)n;
}

ssize_t mail_conn_peek(struct mail_conn *c, const char **data,
                       struct mail_error *err)
{
    if (c->rend == c->rstart && fill(c, err) < 0)
        return -1;
    *data = c->rbuf + c->rstart;
    return (ssize_t)(c->rend - c->rstart);
}

void mail_conn_consume(struct mail_conn *c, size_t n)
{
    if (n > c->rend - c->rstart)
        n = c->rend - c->rstart;
    c->rstart += n;
}

int mail_conn_read_exact(struct mail_conn *c, void *buf, size_t n,
                         struct mail_error *err)
{
    char *p = buf;

    while (n > 0) {
        ssize_t got = mail_conn_read_some(c, p, n, err);
        if (got < 0)
            return -1;
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

/* Trace each line of data (without CRLF). */
static void trace_lines(struct mail_conn *c, const char *data, size_t len)
{
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t n = nl ? (size_t)(nl - data) : len;
        size_t shown = n > 0 && data[n - 1] == '\r' ? n - 1 : n;

        trace(c, '>', data, shown);
        if (!nl)
            break;
        data += n + 1;
        len -= n + 1;
    }
}

/*
 * Room for n more bytes in the write buffer without realloc: realloc
 * would free the old block unwiped, and the buffer may hold a credential
 * (now or queued before).  A bigger block is allocated, filled, and the
 * old one wiped and freed.
 */
static int wbuf_reserve_wiped(struct mail_conn *c, size_t n,
                              struct mail_error *err)
{
    struct mail_buf nb;

    if (c->wbuf.data && c->wbuf.alloc > c->wbuf.len + n)
        return 0;
    mail_buf_init(&nb, c->wbuf.cap_max);
    if (mail_buf_reserve(&nb, c->wbuf.len + n) < 0 ||
        mail_buf_add(&nb, c->wbuf.data ? c->wbuf.data : "", c->wbuf.len) < 0) {
        mail_buf_release(&nb);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    mail_buf_release_secret(&c->wbuf);
    c->wbuf = nb;
    return 0;
}

int mail_conn_write_quiet(struct mail_conn *c, const void *data, size_t len,
                          struct mail_error *err)
{
    if (wbuf_reserve_wiped(c, len, err) < 0)
        return -1;
    if (mail_buf_add(&c->wbuf, data, len) < 0)
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    if (c->wbuf.len >= WBUF_FLUSH)
        return mail_conn_flush(c, err);
    return 0;
}

int mail_conn_write(struct mail_conn *c, const void *data, size_t len,
                    struct mail_error *err)
{
    if (c->trace)
        trace_lines(c, data, len);
    return mail_conn_write_quiet(c, data, len, err);
}

int mail_conn_write_masked(struct mail_conn *c, const void *data, size_t len,
                           size_t shown, struct mail_error *err)
{
    if (c->trace) {
        struct mail_buf t = MAIL_BUF_INIT;

        if (shown > len)
            shown = len;
        if (mail_buf_add(&t, data, shown) == 0 &&
            mail_buf_addstr(&t, "<credentials hidden>") == 0)
            trace(c, '>', t.data, t.len);
        mail_buf_release_secret(&t);
    }
    return mail_conn_write_quiet(c, data, len, err);
}

int mail_conn_printf(struct mail_conn *c, struct mail_error *err,
                     const char *fmt, ...)
{
    struct mail_buf t = MAIL_BUF_INIT;
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = mail_buf_vprintf(&t, fmt, ap);
    va_end(ap);
    if (r < 0) {
        mail_buf_release(&t);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    r = mail_conn_write(c, t.data, t.len, err);
    mail_buf_release(&t);
    return r;
}

/* Send all of b (the write buffer, or the deflated one), wiping what
 * leaves it. */
static int raw_send(struct mail_conn *c, struct mail_buf *b,
                    struct mail_error *err)
{
    size_t off = 0;
    char ebuf[256];
    int r = 0;

    while (off < b->len) {
        size_t left = b->len - off;

        if (c->ssl) {
            size_t done = 0;
            int k = SSL_write_ex(c->ssl, b->data + off, left, &done);
            if (k == 1) {
                off += done;
                continue;
            }
            switch (SSL_get_error(c->ssl, k)) {
            case SSL_ERROR_WANT_READ:
                r = wait_fd(c, POLLIN, err);
                break;
            case SSL_ERROR_WANT_WRITE:
                r = wait_fd(c, POLLOUT, err);
                break;
            default: {
                /* A write on a connection the server closed or reset
                 * (SSL_ERROR_SYSCALL with EPIPE/ECONNRESET, or nothing
                 * queued), or a TLS stream it cut. */
                int se = SSL_get_error(c->ssl, k);
                bool gone = se == SSL_ERROR_ZERO_RETURN ||
                            se == SSL_ERROR_SYSCALL || ssl_unexpected_eof();

                r = mail_error_set(err, MAIL_ERR_UNAVAIL, "%s: TLS write: %s",
                                   c->name, ssl_error_text(ebuf, sizeof ebuf,
                                       "connection closed by the server"));
                if (gone)
                    r = lost(err);
            }
            }
        } else {
            ssize_t n = send(c->fd, b->data + off, left, MSG_NOSIGNAL);
            if (n >= 0) {
                off += (size_t)n;
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                r = wait_fd(c, POLLOUT, err);
            else if (errno != EINTR) {
                int e = errno;

                r = mail_error_set(err, MAIL_ERR_UNAVAIL, "%s: send: %s",
                                   c->name, strerror(e));
                if (errno_lost(e))
                    r = lost(err);
            }
        }
        if (r < 0)
            break;
    }
    /* Sent bytes may have held credentials: wipe what leaves the buffer,
     * and after a partial send the stale tail the unsent bytes moved
     * out of. */
    if (off) {
        size_t old_len = b->len;

        mail_wipe(b->data, off);
        mail_buf_consume(b, off);
        if (b->len < old_len)
            mail_wipe(b->data + b->len + 1, old_len - b->len);
    }
    return r;
}

int mail_conn_flush(struct mail_conn *c, struct mail_error *err)
{
    if (!c->z)
        return raw_send(c, &c->wbuf, err);
    /* COMPRESS: the burst deflated with a sync flush, then sent. */
    if (c->wbuf.len) {
        if (mail_zstream_deflate(c->z, c->wbuf.data, c->wbuf.len, &c->zbuf,
                                 err) < 0)
            return mail_error_prefix(err, "%s", c->name);
        mail_wipe(c->wbuf.data, c->wbuf.len);
        mail_buf_reset(&c->wbuf);
    }
    return raw_send(c, &c->zbuf, err);
}

int mail_conn_start_deflate(struct mail_conn *c, struct mail_error *err)
{
    size_t have = c->rend - c->rstart;
    char *in;
    size_t room;

    if (c->z)
        return 0;
    if (c->wbuf.len && mail_conn_flush(c, err) < 0)
        return -1;
    c->z = mail_zstream_new(c->name, err);
    if (!c->z)
        return -1;
    mail_buf_init(&c->zbuf, 0);
    mail_buf_set_secret(&c->zbuf);
    /* What came after the OK is compressed already. */
    mail_zstream_in_space(c->z, &in, &room);
    if (have > room)
        return mail_error_set(err, MAIL_ERR_PROTOCOL, "%s: too much data "
                              "after the COMPRESS reply", c->name);
    memcpy(in, c->rbuf + c->rstart, have);
    mail_zstream_in_added(c->z, have);
    mail_wipe(c->rbuf + c->rstart, have);
    c->rstart = c->rend = 0;
    return 0;
}

bool mail_conn_is_deflated(const struct mail_conn *c)
{
    return c && c->z;
}

void mail_conn_abort(struct mail_conn *c)
{
    /* shutdown(2) only: the descriptor stays open (the thread using c
     * closes it), so it cannot be reused under that thread. */
    if (c && c->fd >= 0)
        shutdown(c->fd, SHUT_RDWR);
}

void mail_conn_close(struct mail_conn *c)
{
    if (!c)
        return;
    if (c->ssl) {
        /* One close_notify, without waiting for the peer's. */
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    SSL_CTX_free(c->ctx);
    if (c->fd >= 0)
        close(c->fd);
    mail_buf_release_secret(&c->wbuf);
    if (c->z) {
        mail_zstream_free(c->z);
        mail_buf_release_secret(&c->zbuf);
    }
    free(c->rbuf);
    free(c->host);
    free(c->ca_file);
    free(c);
}
