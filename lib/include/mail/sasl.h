/*
 * sasl.h - SASL client mechanisms (RFC 4422), shared by SMTP, POP3 and IMAP.
 *
 * This module only computes; it does no I/O.  A protocol module drives it:
 *
 *     mech = mail_sasl_choose(server_mechs, tls_active, forced, &err);
 *     s = mail_sasl_new(mech, &creds, &err);
 *     mail_sasl_step(s, NULL, 0, &resp, &err);      // initial response
 *     ... send "AUTH <name> <base64(resp)>" (or an empty IR as "=")
 *     while the server sends a challenge:
 *         decode it, mail_sasl_step(s, chal, len, &resp, &err), send resp
 *     on success: mail_sasl_finish(s, &err)  // SCRAM: server signature seen?
 *     mail_sasl_free(s);
 *
 * The shared driver for all three protocols is in auth.h.
 */
#ifndef MAIL_SASL_H
#define MAIL_SASL_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"

/* Ordered weakest to strongest; mail_sasl_choose prefers higher values. */
enum mail_sasl_mech {
    MAIL_SASL_NONE = 0,
    MAIL_SASL_LOGIN,
    MAIL_SASL_PLAIN,
    MAIL_SASL_CRAM_MD5,
    MAIL_SASL_SCRAM_SHA_1,
    MAIL_SASL_SCRAM_SHA_256,
    /* Token mechanisms are only chosen when asked for (auth = xoauth2). */
    MAIL_SASL_XOAUTH2,
    MAIL_SASL_OAUTHBEARER,
    /* auth = oauth2: OAUTHBEARER when offered, else XOAUTH2 (only as the
     * forced choice of mail_sasl_choose; it has no name of its own). */
    MAIL_SASL_OAUTH2,
};

struct mail_sasl_creds {
    const char *user;      /* authentication identity */
    const char *authzid;   /* authorization identity, usually NULL */
    const char *secret;    /* password, or OAuth2 access token */
    const char *host;      /* server host name, for OAUTHBEARER */
    unsigned port;         /* server port, for OAUTHBEARER */
};

/* "SCRAM-SHA-256" etc.; NULL for MAIL_SASL_NONE. */
const char *mail_sasl_mech_name(enum mail_sasl_mech m);
/* Case-insensitive lookup of a name as used in config `auth =` and in
 * server capability lists; MAIL_SASL_NONE if unknown. */
enum mail_sasl_mech mail_sasl_mech_from_name(const char *name);

/* Does the mechanism send the secret in a form a listener can reuse? */
bool mail_sasl_mech_is_cleartext(enum mail_sasl_mech m);

/*
 * Choose a mechanism.  server_mechs is the server's list, space-separated
 * ("PLAIN LOGIN SCRAM-SHA-256").  If forced is not MAIL_SASL_NONE, it is
 * used when the server offers it (else error MAIL_ERR_AUTH naming it).
 * Otherwise the strongest of PLAIN..SCRAM-SHA-256 both sides have.
 * Clear-text mechanisms (LOGIN, PLAIN, XOAUTH2, OAUTHBEARER) are refused
 * (MAIL_ERR_AUTH) when !encrypted && !allow_cleartext_unencrypted.
 * Returns MAIL_SASL_NONE and sets err when nothing fits.
 */
enum mail_sasl_mech mail_sasl_choose(const char *server_mechs,
                                     enum mail_sasl_mech forced,
                                     bool encrypted,
                                     bool allow_cleartext_unencrypted,
                                     struct mail_error *err);

struct mail_sasl;

/* The creds strings are copied; the copy of the secret is wiped on free. */
struct mail_sasl *mail_sasl_new(enum mail_sasl_mech mech,
                                const struct mail_sasl_creds *creds,
                                struct mail_error *err);

/* Does the mechanism send an initial response (client-first)?
 * PLAIN, SCRAM-*, XOAUTH2, OAUTHBEARER: yes; LOGIN, CRAM-MD5: no. */
bool mail_sasl_has_initial_response(const struct mail_sasl *s);

/*
 * Compute the next client message.  `in` is the decoded server challenge
 * (NULL/0 for the initial response).  The raw (not base64) response is
 * appended to `out` (which the caller should release with
 * mail_buf_release_secret).  Returns 0, or -1 with err set (MAIL_ERR_AUTH
 * for a bad challenge or failed server signature, MAIL_ERR_PROTOCOL for a
 * malformed one).  For SCRAM, the step that receives server-final verifies
 * the server signature and produces an empty response.
 * For XOAUTH2/OAUTHBEARER, a challenge after the initial response is the
 * server's JSON error; the response is empty (RFC 7628: a dummy "\x01"
 * for OAUTHBEARER) and the error text is kept for mail_sasl_finish.
 */
int mail_sasl_step(struct mail_sasl *s, const unsigned char *in, size_t inlen,
                   struct mail_buf *out, struct mail_error *err);

/*
 * Call when the server reported success.  `extra` is additional data that
 * came with the success reply (IMAP/POP3 may carry SCRAM server-final
 * there), or NULL.  For SCRAM, fails (MAIL_ERR_AUTH, "server signature
 * not verified") unless the server signature was verified.
 */
int mail_sasl_finish(struct mail_sasl *s, const unsigned char *extra,
                     size_t extralen, struct mail_error *err);

void mail_sasl_free(struct mail_sasl *s);

/* XOAUTH2/OAUTHBEARER: the error the server sent as a challenge (its JSON,
 * made terminal-safe and shortened), or NULL if none.  Lets the driver name
 * the reason when the server then fails the exchange. */
const char *mail_sasl_server_error(const struct mail_sasl *s);

/* For tests: make SCRAM use this client nonce instead of a random one. */
void mail_sasl_set_test_nonce(struct mail_sasl *s, const char *nonce);

#pragma GCC visibility pop

#endif
