/*
 * imap_parse.h - a resumable parser of IMAP server responses (RFC 3501,
 * RFC 9051).
 *
 * Push bytes in any split (mail_imap_parser_feed) or pull from a connection
 * (mail_imap_read_response); either way the parser returns one complete
 * response at a time as a small tree.  Its state lives in the struct, so it
 * can stop anywhere, also in the middle of a literal.
 *
 * Literals are not held in memory unless the caller wants that: before a
 * literal's bytes arrive the parser asks the route callback, which may
 * hand it a sink (mail_sink_fn).  The bytes then go to the sink as they
 * arrive (with the err given to the feed), in chunks of at most MAIL_IMAP_CHUNK bytes, and the tree only
 * records the size (MAIL_IMAP_STREAMED).  Literals kept in the tree are
 * bounded by limits.inline_literal_max; any literal announced larger than
 * limits.literal_max is a protocol error before a byte is allocated.
 *
 * Everything the server sends is bounded: segment (line) length, list
 * depth, items per response, bytes per response, literal sizes.  Errors
 * are MAIL_ERR_PROTOCOL ("IMAP response: ..." - the caller prefixes the
 * server name), MAIL_ERR_INTERNAL (out of memory), or whatever a sink or
 * the route callback reported.  After an error the parser must be reset.
 */
#ifndef MAIL_IMAP_PARSE_H
#define MAIL_IMAP_PARSE_H

#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "conn.h"
#include "error.h"
#include "sink.h"

#define MAIL_IMAP_CHUNK (16 * 1024)   /* largest piece given to a sink */
#define MAIL_IMAP_TAG_MAX 32

enum mail_imap_node_type {
    MAIL_IMAP_ATOM,      /* atoms, numbers, flags, BODY[...]<..> */
    MAIL_IMAP_STRING,    /* quoted string or literal kept in the tree */
    MAIL_IMAP_NIL,
    MAIL_IMAP_LIST,      /* ( ... ) */
    MAIL_IMAP_STREAMED,  /* literal sent to a sink: len is its size */
};

struct mail_imap_node {
    enum mail_imap_node_type type;
    bool literal;                /* STRING/STREAMED: came as {N} */
    bool binary;                 /* ~{N} (RFC 3516) */
    char *data;                  /* ATOM/STRING: NUL-terminated (may hold
                                    NUL bytes when a literal); else NULL */
    uint64_t len;                /* bytes of data; STREAMED: literal size */
    struct mail_imap_node *child;   /* LIST: first element */
    struct mail_imap_node *next;    /* next sibling */
    size_t count;                /* LIST: number of elements */
};

enum mail_imap_resp_kind {
    MAIL_IMAP_RESP_UNTAGGED,     /* "* ..." */
    MAIL_IMAP_RESP_TAGGED,       /* "TAG OK|NO|BAD ..." */
    MAIL_IMAP_RESP_CONT,         /* "+ text" */
};

enum mail_imap_resp_type {
    MAIL_IMAP_T_OTHER,           /* unknown keyword: args hold the tokens */
    MAIL_IMAP_T_STATUS,          /* OK NO BAD BYE PREAUTH (see status) */
    MAIL_IMAP_T_CAPABILITY,
    MAIL_IMAP_T_FLAGS,
    MAIL_IMAP_T_EXISTS,
    MAIL_IMAP_T_RECENT,
    MAIL_IMAP_T_EXPUNGE,
    MAIL_IMAP_T_FETCH,
    MAIL_IMAP_T_LIST,
    MAIL_IMAP_T_LSUB,
    MAIL_IMAP_T_SEARCH,
    MAIL_IMAP_T_ESEARCH,
    MAIL_IMAP_T_STATUS_MBX,      /* "* STATUS mailbox (...)" */
    MAIL_IMAP_T_ENABLED,
    MAIL_IMAP_T_VANISHED,
    MAIL_IMAP_T_NAMESPACE,
};

enum mail_imap_status {
    MAIL_IMAP_ST_NONE,
    MAIL_IMAP_ST_OK,
    MAIL_IMAP_ST_NO,
    MAIL_IMAP_ST_BAD,
    MAIL_IMAP_ST_BYE,
    MAIL_IMAP_ST_PREAUTH,
};

/* One response.  Owned by the parser; valid until the next feed, read or
 * reset.  Strings are never NULL ("" when absent). */
struct mail_imap_resp {
    enum mail_imap_resp_kind kind;
    enum mail_imap_resp_type type;
    enum mail_imap_status status;   /* T_STATUS and TAGGED */
    char tag[MAIL_IMAP_TAG_MAX];    /* TAGGED */
    bool has_number;
    uint32_t number;                /* "* N EXISTS|RECENT|EXPUNGE|FETCH" */
    const char *keyword;            /* as sent, e.g. "FETCH" */
    const char *code;               /* response code name, uppercase, e.g.
                                       "UIDVALIDITY"; "" when none */
    const char *code_args;          /* the rest inside [...], raw */
    const char *text;               /* human-readable text (status, CONT) */
    struct mail_imap_node args;     /* LIST of the tokens after the
                                       keyword (FETCH: one LIST) */
};

struct mail_imap_limits {
    size_t line_max;            /* bytes of one line segment */
    size_t depth_max;           /* nesting of ( ) */
    size_t items_max;           /* tokens per response */
    size_t response_max;        /* bytes per response, without streamed
                                   literals */
    uint64_t inline_literal_max;   /* a literal kept in the tree */
    uint64_t literal_max;          /* any literal, streamed or not */
};

/* line 1 MiB, depth 16, 200000 items, 8 MiB per response, inline literals
 * 1 MiB, streamed literals 2 GiB. */
void mail_imap_limits_default(struct mail_imap_limits *l);

/*
 * Where a literal goes.  Called once its announcement {N} has been read
 * and before any of its bytes: resp is the response so far (type,
 * number), list the innermost open list with the elements before the
 * literal (prev is the last of them, e.g. the atom "BODY[]", or NULL).
 * Set *sink and *sink_ctx to stream the literal, or leave *sink NULL to keep
 * it in the tree.  Return 0, or -1 with err set to stop the parse.
 */
typedef int (*mail_imap_route_fn)(void *arg, const struct mail_imap_resp *resp,
                                  const struct mail_imap_node *list,
                                  const struct mail_imap_node *prev,
                                  uint64_t size, mail_sink_fn *sink,
                                  void **sink_ctx, struct mail_error *err);

#define MAIL_IMAP_DEPTH_HARD 64   /* depth_max is clamped to this */

struct mail_imap_parser {
    struct mail_imap_limits lim;
    mail_imap_route_fn route;        /* NULL: every literal in the tree */
    void *route_arg;
    struct mail_imap_resp resp;
    /* The rest is private. */
    int state;
    bool fresh;                      /* resp must be cleared before use */
    struct mail_buf seg;             /* the current line segment */
    struct mail_buf hdr;             /* code, code_args, text, keyword */
    struct mail_imap_node *stack[MAIL_IMAP_DEPTH_HARD + 1];
    struct mail_imap_node *tail[MAIL_IMAP_DEPTH_HARD + 1];
    size_t depth;
    size_t items;
    size_t bytes;
    uint64_t lit_left;               /* literal bytes still to come */
    struct mail_imap_node *lit_node;
    mail_sink_fn lit_sink;
    void *lit_ctx;
};

/* Set up with limits (NULL: the defaults) and a route callback (may be
 * NULL).  Never fails: memory is allocated as responses arrive. */
void mail_imap_parser_init(struct mail_imap_parser *p,
                           const struct mail_imap_limits *lim,
                           mail_imap_route_fn route, void *route_arg);
/* Free everything; the parser may be initialised again. */
void mail_imap_parser_release(struct mail_imap_parser *p);
/* Forget any partial response and any error. */
void mail_imap_parser_reset(struct mail_imap_parser *p);

/*
 * Push len bytes.  Returns 1 when a response is complete (p->resp; *used
 * says how many bytes were taken, feed the rest afterwards), 0 when all
 * len bytes were taken and more are needed, -1 with err.
 */
int mail_imap_parser_feed(struct mail_imap_parser *p, const char *data,
                          size_t len, size_t *used, struct mail_error *err);

/* True while the parser is in the middle of a response. */
bool mail_imap_parser_busy(const struct mail_imap_parser *p);

/*
 * Pull one complete response from c into p->resp (blocks, within the
 * connection's timeout).  Reads exactly the bytes of that response, so it
 * can be mixed with other readers of the connection.  0 or -1 with err.
 */
int mail_imap_read_response(struct mail_imap_parser *p, struct mail_conn *c,
                            struct mail_error *err);

/* Helpers over nodes. */
/* The n-th element (0-based) of a LIST, or NULL. */
const struct mail_imap_node *
mail_imap_node_at(const struct mail_imap_node *list,
                  size_t n);
/* ATOM or STRING whose text equals s ignoring ASCII case. */
bool mail_imap_node_is(const struct mail_imap_node *n, const char *s);
/* ATOM that is a number that fits the type: 0, or -1 if not. */
int mail_imap_node_u32(const struct mail_imap_node *n, uint32_t *v);
int mail_imap_node_u64(const struct mail_imap_node *n, uint64_t *v);
/* Text of an ATOM or STRING; NULL for NIL, lists, streamed literals. */
const char *mail_imap_node_str(const struct mail_imap_node *n);
/* For a FETCH response: the value after the item named `name` (case-
 * insensitive, e.g. "UID", "BODY[]"), or NULL. */
const struct mail_imap_node *
mail_imap_fetch_item(const struct mail_imap_resp *r,
                     const char *name);

/*
 * BODYSTRUCTURE (RFC 3501 7.4.2) as a tree.  Strings point into the
 * response (valid as long as it is) or are "" when NIL; type and subtype
 * are lowercased copies in fixed arrays.
 */
struct mail_imap_bodypart {
    char type[64];                   /* "text", "multipart", ... */
    char subtype[64];
    const struct mail_imap_node *params;   /* LIST of name value, or NULL */
    const char *id, *description, *encoding;
    uint64_t size;                   /* octets (0 for multipart) */
    uint64_t lines;                  /* text and message/rfc822 */
    const char *disposition;         /* "attachment", "inline" or "" */
    const struct mail_imap_node *disp_params;
    struct mail_imap_bodypart *parts;   /* multipart children, or the
                                           message/rfc822 body */
    size_t nparts;
};

/* Parse a BODYSTRUCTURE value (a LIST node); nesting bounded by 32.
 * Returns a tree freed with mail_imap_bodypart_free, or NULL with err
 * (MAIL_ERR_PROTOCOL for a malformed structure). */
struct mail_imap_bodypart *
mail_imap_bodystructure(const struct mail_imap_node *n,
                        struct mail_error *err);
void mail_imap_bodypart_free(struct mail_imap_bodypart *b);

#pragma GCC visibility pop

#endif
