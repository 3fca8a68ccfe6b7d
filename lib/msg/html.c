/*
 * html.c - the built-in HTML-to-text renderer; see mail/html.h.
 *
 * One state machine eats the input a byte at a time (so chunk seams do
 * not matter), with the tokenizer states of HTML5 that matter for text:
 * data, character references, tags with attributes, comments, bogus
 * comments and raw text (script, style).  Layout is decided lazily: tags
 * only record how many line breaks, spaces or which prefix the next piece
 * of text needs, and flush_layout() writes them when text really comes.
 * That is what keeps blank lines from piling up and trailing ones away
 * without holding any text back.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/html.h"
#include "mail/termsafe.h"

enum state {
    S_TEXT,
    S_ENT,           /* after '&' in text */
    S_TAG_OPEN,      /* after '<' */
    S_END_TAG_OPEN,  /* after "</" */
    S_TAG_NAME,
    S_BEFORE_ATTR,
    S_ATTR_NAME,
    S_AFTER_ATTR_NAME,
    S_BEFORE_VALUE,
    S_VALUE_DQ,
    S_VALUE_SQ,
    S_VALUE_UQ,
    S_MD_OPEN,       /* after "<!" */
    S_MD_DASH,       /* after "<!-" */
    S_COMMENT,
    S_BOGUS,         /* "<?...>", "<!DOCTYPE ...>", "</ x>": up to '>' */
    S_RAW,           /* script, style...: up to the matching end tag */
};

/* What a tag does to the layout. */
enum tag_kind {
    T_NONE,
    T_PARA,     /* a blank line before and after */
    T_LINE,     /* a line break before and after */
    T_BR,
    T_LI,
    T_LIST,     /* ul, ol (ordered is told by the name) */
    T_PRE,
    T_BQ,
    T_A,
    T_IMG,
    T_CELL,
    T_RAW,      /* raw text, not shown */
    T_SKIP,     /* parsed, not shown, nesting counted */
    T_HEAD,
    T_BODY,
    T_HEADISH,  /* allowed in head: does not end it */
};

static const struct {
    const char *name;
    enum tag_kind kind;
} tag_table[] = {
    { "p", T_PARA }, { "h1", T_PARA }, { "h2", T_PARA }, { "h3", T_PARA },
    { "h4", T_PARA }, { "h5", T_PARA }, { "h6", T_PARA }, { "dl", T_PARA },
    { "hr", T_PARA }, { "figure", T_PARA },
    { "div", T_LINE }, { "tr", T_LINE }, { "table", T_LINE },
    { "dt", T_LINE }, { "dd", T_LINE }, { "caption", T_LINE },
    { "section", T_LINE }, { "article", T_LINE }, { "header", T_LINE },
    { "footer", T_LINE }, { "nav", T_LINE }, { "main", T_LINE },
    { "aside", T_LINE }, { "form", T_LINE }, { "fieldset", T_LINE },
    { "center", T_LINE }, { "details", T_LINE }, { "summary", T_LINE },
    { "address", T_LINE }, { "legend", T_LINE }, { "figcaption", T_LINE },
    { "br", T_BR }, { "li", T_LI }, { "ul", T_LIST }, { "ol", T_LIST },
    { "menu", T_LIST }, { "pre", T_PRE }, { "listing", T_PRE },
    { "blockquote", T_BQ }, { "a", T_A }, { "img", T_IMG },
    { "td", T_CELL }, { "th", T_CELL },
    { "script", T_RAW }, { "style", T_RAW }, { "title", T_RAW },
    { "xmp", T_RAW }, { "iframe", T_RAW }, { "noembed", T_RAW },
    { "noframes", T_RAW },
    { "template", T_SKIP }, { "svg", T_SKIP }, { "math", T_SKIP },
    { "head", T_HEAD }, { "body", T_BODY },
    { "meta", T_HEADISH }, { "link", T_HEADISH }, { "base", T_HEADISH },
    { "basefont", T_HEADISH }, { "bgsound", T_HEADISH },
    { "noscript", T_HEADISH }, { "html", T_HEADISH },
};

/* Named character references: the ones mail uses.  HTML5 knows 2,231;
 * an unknown one is shown as written, which is readable too. */
static const char *const latin1_names[96] = {   /* U+00A0..U+00FF */
    "nbsp", "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect",
    "uml", "copy", "ordf", "laquo", "not", "shy", "reg", "macr",
    "deg", "plusmn", "sup2", "sup3", "acute", "micro", "para", "middot",
    "cedil", "sup1", "ordm", "raquo", "frac14", "frac12", "frac34", "iquest",
    "Agrave", "Aacute", "Acirc", "Atilde", "Auml", "Aring", "AElig",
    "Ccedil", "Egrave", "Eacute", "Ecirc", "Euml", "Igrave", "Iacute",
    "Icirc", "Iuml", "ETH", "Ntilde", "Ograve", "Oacute", "Ocirc", "Otilde",
    "Ouml", "times", "Oslash", "Ugrave", "Uacute", "Ucirc", "Uuml",
    "Yacute", "THORN", "szlig", "agrave", "aacute", "acirc", "atilde",
    "auml", "aring", "aelig", "ccedil", "egrave", "eacute", "ecirc", "euml",
    "igrave", "iacute", "icirc", "iuml", "eth", "ntilde", "ograve",
    "oacute", "ocirc", "otilde", "ouml", "divide", "oslash", "ugrave",
    "uacute", "ucirc", "uuml", "yacute", "thorn", "yuml",
};

static const struct {
    const char *name;
    uint32_t cp;
} entity_table[] = {
    { "quot", 0x22 }, { "QUOT", 0x22 }, { "amp", 0x26 }, { "AMP", 0x26 },
    { "apos", 0x27 }, { "lt", 0x3c }, { "LT", 0x3c }, { "gt", 0x3e },
    { "GT", 0x3e }, { "Tab", 0x09 }, { "NewLine", 0x0a },
    { "OElig", 0x152 }, { "oelig", 0x153 }, { "Scaron", 0x160 },
    { "scaron", 0x161 }, { "Yuml", 0x178 }, { "fnof", 0x192 },
    { "circ", 0x2c6 }, { "tilde", 0x2dc }, { "ensp", 0x2002 },
    { "emsp", 0x2003 }, { "thinsp", 0x2009 }, { "zwnj", 0x200c },
    { "zwj", 0x200d }, { "lrm", 0x200e }, { "rlm", 0x200f },
    { "ndash", 0x2013 }, { "mdash", 0x2014 }, { "lsquo", 0x2018 },
    { "rsquo", 0x2019 }, { "sbquo", 0x201a }, { "ldquo", 0x201c },
    { "rdquo", 0x201d }, { "bdquo", 0x201e }, { "dagger", 0x2020 },
    { "Dagger", 0x2021 }, { "bull", 0x2022 }, { "hellip", 0x2026 },
    { "permil", 0x2030 }, { "prime", 0x2032 }, { "Prime", 0x2033 },
    { "lsaquo", 0x2039 }, { "rsaquo", 0x203a }, { "oline", 0x203e },
    { "frasl", 0x2044 }, { "euro", 0x20ac }, { "trade", 0x2122 },
    { "larr", 0x2190 }, { "uarr", 0x2191 }, { "rarr", 0x2192 },
    { "darr", 0x2193 }, { "harr", 0x2194 }, { "lArr", 0x21d0 },
    { "rArr", 0x21d2 }, { "hArr", 0x21d4 }, { "minus", 0x2212 },
    { "infin", 0x221e }, { "asymp", 0x2248 }, { "ne", 0x2260 },
    { "le", 0x2264 }, { "ge", 0x2265 }, { "loz", 0x25ca },
    { "spades", 0x2660 }, { "clubs", 0x2663 }, { "hearts", 0x2665 },
    { "diams", 0x2666 }, { "check", 0x2713 }, { "star", 0x2606 },
};

/* The names browsers also accept without ';' in text (the legacy ones
 * mail is full of: "AT&T", "a &lt b"). */
static const char *const legacy_names[] = {
    "amp", "lt", "gt", "quot", "nbsp", "copy", "reg", "AMP", "LT", "GT",
    "QUOT",
};

/* Numeric references to C1 code points mean windows-1252 (HTML5
 * 13.2.5.80); 0 where it leaves the control alone. */
static const uint16_t c1_table[32] = {
    0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
    0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
    0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
    0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
};

#define TAG_MAX 16       /* longer names are no tag we know */
#define ENT_MAX 32       /* longer references are not ones we know */
#define LIST_MAX 16      /* list levels remembered (deeper ones count) */
#define PREFIX_MAX 16    /* blockquote and list levels indented */
#define OUT_MAX 4096

struct mail_html {
    mail_sink_fn sink;
    void *ctx;
    /* The err of the push or finish under way, given to the sink; failed:
     * the sink returned -1 (err says why), nothing more goes out until
     * the document ends. */
    struct mail_error *err;
    bool failed;

    enum state state;

    /* The tag being read. */
    char tag[TAG_MAX + 1];
    size_t ntag;
    bool tag_long, tag_end;
    bool slash;           /* '/' just before '>': self-closing */
    char attr[TAG_MAX + 1];
    size_t nattr;
    bool attr_long;
    char *value;          /* where the current value goes, or NULL */
    size_t *nvalue;
    bool *value_long;
    char href[MAIL_HTML_ATTR_MAX];
    size_t nhref;
    bool has_href, href_long;
    char alt[MAIL_HTML_ATTR_MAX];
    size_t nalt;
    bool has_alt, alt_long;

    /* A character reference in text. */
    char ent[ENT_MAX + 1];
    size_t nent;

    /* Raw text: the end tag looked for, and how much of it matched. */
    char raw[TAG_MAX + 3];
    size_t nraw, raw_match;
    unsigned dashes;      /* comment: '-' seen in a row */
    bool bang;            /* comment: "--!" seen */

    /* What is being shown. */
    bool in_head;
    char skip[TAG_MAX + 1];
    unsigned skip_depth;
    unsigned pre;
    bool pre_start;       /* right after <pre>: a first newline is dropped */
    unsigned bq;
    unsigned lists;
    struct {
        bool ordered;
        unsigned n;
    } list[LIST_MAX];

    /* Layout waiting for the next text. */
    bool started;         /* some text was written */
    bool line_start;      /* the current line has no text yet */
    bool space;           /* a collapsible space */
    unsigned nbsp;        /* hard spaces */
    unsigned want_nl;     /* at least this many line breaks */
    unsigned brs;         /* line breaks asked for by br and pre */
    char bullet[16];      /* "* " or "12. " for the next line */

    /* Links. */
    size_t link;          /* number of the open link, 0 if none */
    bool link_text;       /* the open link showed some text */
    struct mail_buf urls; /* the URLs, NUL-separated, in number order */
    size_t nlinks;

    char out[OUT_MAX];
    size_t nout;
};

static bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(unsigned char c)
{
    return is_alpha(c) || (c >= '0' && c <= '9');
}

static char lower(unsigned char c)
{
    return (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
}

/* ---- output ------------------------------------------------------------ */

static void flush_out(struct mail_html *h)
{
    if (h->nout && !h->failed &&
        h->sink(h->ctx, h->out, h->nout, h->err) < 0)
        h->failed = true;
    h->nout = 0;
}

static void put_raw(struct mail_html *h, const char *s, size_t n)
{
    while (n) {
        size_t k = OUT_MAX - h->nout;

        if (k > n)
            k = n;
        memcpy(h->out + h->nout, s, k);
        h->nout += k;
        s += k;
        n -= k;
        if (h->nout == OUT_MAX)
            flush_out(h);
    }
}

static void put_spaces(struct mail_html *h, unsigned n)
{
    while (n--)
        put_raw(h, " ", 1);
}

/* Write what the layout owes before the next text: line breaks (none
 * before the first text), the line's prefix and bullet, a space. */
static void flush_layout(struct mail_html *h)
{
    unsigned nl = h->brs > h->want_nl ? h->brs : h->want_nl;

    if (h->started && nl) {
        while (nl--)
            put_raw(h, "\n", 1);
        h->line_start = true;
    }
    h->brs = h->want_nl = 0;
    if (h->line_start) {
        unsigned i, levels = h->lists < PREFIX_MAX ? h->lists : PREFIX_MAX;

        for (i = 0; i < h->bq && i < PREFIX_MAX; i++)
            put_raw(h, "> ", 2);
        if (h->bullet[0]) {
            put_spaces(h, levels ? 2 * (levels - 1) : 0);
            put_raw(h, h->bullet, strlen(h->bullet));
            h->bullet[0] = '\0';
        } else {
            put_spaces(h, 2 * levels);
        }
        h->line_start = false;
    } else if (h->space) {
        put_raw(h, " ", 1);
    }
    h->space = false;
    put_spaces(h, h->nbsp);
    h->nbsp = 0;
    h->started = true;
    if (h->link)
        h->link_text = true;
}

static bool hidden(const struct mail_html *h)
{
    return h->in_head || h->skip_depth > 0;
}

/* Visible text bytes. */
static void put_text(struct mail_html *h, const char *s, size_t n)
{
    flush_layout(h);
    put_raw(h, s, n);
}

static void want_lines(struct mail_html *h, unsigned n)
{
    if (h->want_nl < n)
        h->want_nl = n;
}

/* One byte of text content (after character references). */
static void text_byte(struct mail_html *h, unsigned char c)
{
    if (h->in_head && !is_ws(c))
        h->in_head = false;       /* text ends the head (HTML5 "in head") */
    if (hidden(h))
        return;
    if (h->pre) {
        bool first = h->pre_start;

        h->pre_start = false;
        if (c == '\n') {
            if (!first)
                h->brs++;
        } else if (c == '\f' || c == '\t' || c == ' ') {
            put_text(h, c == '\t' ? "\t" : " ", 1);
        } else if (c != '\r') {
            put_text(h, (const char *)&c, 1);
        }
        return;
    }
    if (is_ws(c)) {
        h->space = true;
        return;
    }
    put_text(h, (const char *)&c, 1);
}

static void text_bytes(struct mail_html *h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        text_byte(h, (unsigned char)s[i]);
}

/* Characters that would only hide or reorder text: dropped. */
static bool invisible(uint32_t cp)
{
    return cp == 0xad || cp == 0x34f || (cp >= 0x200b && cp <= 0x200f) ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2064) ||
           (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff || cp == 0x61c;
}

/* What a reference's code point shows as: a code point, or 0 for none.
 * Whitespace stays whitespace; other controls, surrogates and values out
 * of range become U+FFFD (HTML5 13.2.5.80). */
static uint32_t fix_cp(uint32_t cp)
{
    if (cp >= 0x80 && cp < 0xa0 && c1_table[cp - 0x80])
        return c1_table[cp - 0x80];
    if (cp == '\t' || cp == '\n' || cp == '\f' || cp == ' ')
        return cp;
    if (cp == '\r')
        return ' ';
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0xfffd;
    if (invisible(cp))
        return 0;
    return cp;
}

/*
 * Look up the reference name[0..n) ("amp", "#38", "#x26").  semi: it was
 * ended by ';' (named references need it, but for the legacy ones).
 * Returns true with *cp set when it is one.
 */
static bool entity_lookup(const char *name, size_t n, bool semi,
                          uint32_t *cp)
{
    size_t i;

    if (n >= 2 && name[0] == '#') {
        bool hex = name[1] == 'x' || name[1] == 'X';
        uint32_t v = 0;
        size_t digits = 0;

        for (i = hex ? 2 : 1; i < n; i++) {
            unsigned d;
            char c = name[i];

            if (c >= '0' && c <= '9')
                d = (unsigned)(c - '0');
            else if (hex && c >= 'a' && c <= 'f')
                d = (unsigned)(c - 'a' + 10);
            else if (hex && c >= 'A' && c <= 'F')
                d = (unsigned)(c - 'A' + 10);
            else
                return false;
            v = v * (hex ? 16 : 10) + d;
            if (v > 0x110000)
                v = 0x110000;    /* saturate: no overflow, still invalid */
            digits++;
        }
        if (!digits)
            return false;
        *cp = v == 0 ? 0xfffd : v;
        return true;
    }
    if (!semi) {
        for (i = 0; i < sizeof legacy_names / sizeof legacy_names[0]; i++)
            if (strlen(legacy_names[i]) == n &&
                memcmp(legacy_names[i], name, n) == 0)
                break;
        if (i == sizeof legacy_names / sizeof legacy_names[0])
            return false;
    }
    for (i = 0; i < 96; i++)
        if (strlen(latin1_names[i]) == n &&
            memcmp(latin1_names[i], name, n) == 0) {
            *cp = 0xa0 + (uint32_t)i;
            return true;
        }
    for (i = 0; i < sizeof entity_table / sizeof entity_table[0]; i++)
        if (strlen(entity_table[i].name) == n &&
            memcmp(entity_table[i].name, name, n) == 0) {
            *cp = entity_table[i].cp;
            return true;
        }
    return false;
}

/* Show a code point from a reference. */
static void text_cp(struct mail_html *h, uint32_t cp)
{
    char u[4];

    if (cp == 0xa0) {
        /* A hard space: kept, but not at the end of a line. */
        if (h->in_head)
            h->in_head = false;
        if (hidden(h))
            return;
        if (h->pre)
            text_byte(h, ' ');
        else
            h->nbsp++;
        return;
    }
    cp = fix_cp(cp);
    if (cp == 0)
        return;
    if (cp < 0x80) {
        text_byte(h, (unsigned char)cp);
        return;
    }
    text_bytes(h, u, mail_utf8_encode(cp, u));
}

/* The reference in h->ent ended (by ';' when semi): show it, or what was
 * written when it is none we know. */
static void end_entity(struct mail_html *h, bool semi)
{
    uint32_t cp;

    if (entity_lookup(h->ent, h->nent, semi, &cp)) {
        text_cp(h, cp);
        return;
    }
    /* A legacy name followed by more letters: "&copy2026", "&lt3"
     * (HTML5 takes the longest such prefix; ours do not overlap but for
     * "not", which is not one of them). */
    for (size_t i = 0; i < sizeof legacy_names / sizeof legacy_names[0];
         i++) {
        size_t n = strlen(legacy_names[i]);

        if (n < h->nent && memcmp(h->ent, legacy_names[i], n) == 0 &&
            entity_lookup(h->ent, n, false, &cp)) {
            text_cp(h, cp);
            text_bytes(h, h->ent + n, h->nent - n);
            if (semi)
                text_byte(h, ';');
            return;
        }
    }
    text_byte(h, '&');
    text_bytes(h, h->ent, h->nent);
    if (semi)
        text_byte(h, ';');
}

/*
 * Decode the references in an attribute value in place: a reference is
 * never shorter than what it stands for ("&lt;" is 4 bytes for 1, "&#1"
 * 3 for U+FFFD's 3), so the output never overtakes the input.  Named
 * ones need their ';' here (as in browsers, for "?a=1&copy=2" in URLs).
 */
static size_t decode_attr(char *s, size_t n)
{
    size_t i = 0, o = 0;

    while (i < n) {
        size_t j, k;
        uint32_t cp;
        char u[4];

        if (s[i] != '&') {
            s[o++] = s[i++];
            continue;
        }
        for (j = i + 1; j < n && j - i <= ENT_MAX &&
                        (is_alnum((unsigned char)s[j]) ||
                         (j == i + 1 && s[j] == '#')); j++)
            ;
        if (j < n && s[j] == ';' &&
            entity_lookup(s + i + 1, j - i - 1, true, &cp)) {
            j++;
        } else if (!(i + 1 < n && s[i + 1] == '#' &&
                     entity_lookup(s + i + 1, j - i - 1, false, &cp))) {
            s[o++] = s[i++];
            continue;
        }
        cp = fix_cp(cp == 0xa0 ? ' ' : cp);
        k = cp ? mail_utf8_encode(cp, u) : 0;
        memcpy(s + o, u, k);
        o += k;
        i = j;
    }
    return o;
}

/* ---- links ------------------------------------------------------------- */

static void close_link(struct mail_html *h)
{
    char mark[32];

    if (!h->link)
        return;
    if (!hidden(h)) {
        if (h->link_text)
            h->space = true;
        snprintf(mark, sizeof mark, "[%zu]", h->link);
        h->link = 0;   /* the mark is not link text */
        put_text(h, mark, strlen(mark));
    }
    h->link = 0;
    h->link_text = false;
}

/* Number the link to href[0..n) (a URL already seen keeps its number);
 * 0 when it gets none. */
static size_t link_number(struct mail_html *h, char *href, size_t n)
{
    size_t i, o = 0, num = 1;
    const char *p;

    /* Browsers drop whitespace and controls from URLs (WHATWG URL). */
    for (i = 0; i < n; i++)
        if ((unsigned char)href[i] > 0x20 && href[i] != 0x7f)
            href[o++] = href[i];
    n = o;
    if (n == 0 || href[0] == '#' ||
        (n >= 11 && mail_strncasecmp(href, "javascript:", 11) == 0) ||
        (n >= 5 && mail_strncasecmp(href, "data:", 5) == 0))
        return 0;
    for (p = h->urls.data; p && p < h->urls.data + h->urls.len; num++) {
        size_t len = strlen(p);

        if (len == n && memcmp(p, href, n) == 0)
            return num;
        p += len + 1;
    }
    if (h->nlinks >= MAIL_HTML_LINKS_MAX ||
        mail_buf_add(&h->urls, href, n) < 0 ||
        mail_buf_addch(&h->urls, '\0') < 0)
        return 0;
    return ++h->nlinks;
}

/* ---- tags -------------------------------------------------------------- */

static enum tag_kind tag_kind(const char *name)
{
    for (size_t i = 0; i < sizeof tag_table / sizeof tag_table[0]; i++)
        if (strcmp(tag_table[i].name, name) == 0)
            return tag_table[i].kind;
    return T_NONE;
}

static void start_tag(struct mail_html *h)
{
    h->ntag = 0;
    h->tag[0] = '\0';
    h->tag_long = false;
    h->slash = false;
    h->nhref = h->nalt = 0;
    h->has_href = h->has_alt = h->href_long = h->alt_long = false;
    h->value = NULL;
}

static void start_attr(struct mail_html *h)
{
    h->nattr = 0;
    h->attr[0] = '\0';
    h->attr_long = false;
    h->value = NULL;
}

/* The attribute name is complete and a value follows: keep the value if
 * it is one we use (the first href of a, the first alt of img). */
static void attr_value_starts(struct mail_html *h)
{
    h->value = NULL;
    if (h->tag_end || h->attr_long)
        return;
    if (strcmp(h->tag, "a") == 0 && strcmp(h->attr, "href") == 0 &&
        !h->has_href) {
        h->has_href = true;
        h->value = h->href;
        h->nvalue = &h->nhref;
        h->value_long = &h->href_long;
    } else if (strcmp(h->tag, "img") == 0 && strcmp(h->attr, "alt") == 0 &&
               !h->has_alt) {
        h->has_alt = true;
        h->value = h->alt;
        h->nvalue = &h->nalt;
        h->value_long = &h->alt_long;
    }
}

static void value_byte(struct mail_html *h, char c)
{
    if (!h->value)
        return;
    if (*h->nvalue < MAIL_HTML_ATTR_MAX)
        h->value[(*h->nvalue)++] = c;
    else
        *h->value_long = true;
}

/* Cut a too long value at a UTF-8 character boundary: without the
 * start of a character that did not fit. */
static size_t utf8_cut(const char *s, size_t n)
{
    return n - mail_utf8_incomplete(s, n);
}

static void block(struct mail_html *h, unsigned lines)
{
    want_lines(h, lines);
    h->space = false;
    h->nbsp = 0;       /* hard spaces do not outlive their line */
}

/* A tag whose text is raw (script, style, title...): read up to its end
 * tag. */
static void enter_raw(struct mail_html *h)
{
    h->raw[0] = '<';
    h->raw[1] = '/';
    memcpy(h->raw + 2, h->tag, h->ntag + 1);
    h->nraw = h->ntag + 2;
    h->raw_match = 0;
    h->state = S_RAW;
}

/* Inside svg or template, or in the head: what a tag does there.  Returns
 * true when that is all it does. */
static bool tag_out_of_body(struct mail_html *h, enum tag_kind k, bool end)
{
    if (h->skip_depth) {
        /* Inside svg or template: only their nesting matters. */
        if (strcmp(h->tag, h->skip) == 0) {
            if (end)
                h->skip_depth--;
            else if (h->skip_depth < 1000 && !h->slash)
                h->skip_depth++;
        } else if (k == T_RAW && !end) {
            enter_raw(h);
        }
        return true;
    }
    if (h->in_head) {
        if (k == T_BODY || (k == T_HEAD && end))
            h->in_head = false;
        else if (!end && k != T_RAW && k != T_HEADISH && k != T_HEAD)
            h->in_head = false;    /* HTML5: any other tag ends the head */
        if (h->in_head) {
            if (k == T_RAW && !end)
                enter_raw(h);
            return true;
        }
    }
    return false;
}

static void list_item(struct mail_html *h, bool end)
{
    unsigned d = h->lists;

    block(h, 1);
    if (end)
        return;
    if (d && h->list[(d <= LIST_MAX ? d : LIST_MAX) - 1].ordered) {
        unsigned *n = &h->list[(d <= LIST_MAX ? d : LIST_MAX) - 1].n;

        if (*n < 999999)
            (*n)++;
        snprintf(h->bullet, sizeof h->bullet, "%u. ", *n);
    } else {
        memcpy(h->bullet, "* ", 3);
    }
}

static void list_tag(struct mail_html *h, bool end)
{
    block(h, h->lists > (end ? 1u : 0u) ? 1 : 2);
    if (!end) {
        if (h->lists < LIST_MAX) {
            h->list[h->lists].ordered = strcmp(h->tag, "ol") == 0;
            h->list[h->lists].n = 0;
        }
        if (h->lists < 100000)
            h->lists++;
    } else if (h->lists) {
        h->lists--;
    }
    h->bullet[0] = '\0';
}

/* <pre> and <blockquote>: a block, one level deeper or shallower. */
static void nest_block(struct mail_html *h, unsigned *depth, bool end)
{
    block(h, 2);
    if (!end) {
        if (*depth < 100000)
            (*depth)++;
    } else if (*depth) {
        (*depth)--;
    }
}

/* An image: its alt text, in brackets, unless it is blank. */
static void image(struct mail_html *h)
{
    size_t n = decode_attr(h->alt, h->alt_long ?
                           utf8_cut(h->alt, h->nalt) : h->nalt);
    size_t i;

    for (i = 0; i < n && is_ws((unsigned char)h->alt[i]); i++)
        ;
    if (i < n) {
        text_byte(h, '[');
        text_bytes(h, h->alt + i, n - i);
        text_byte(h, ']');
    }
}

/* A whole tag was read: act on it. */
static void end_of_tag(struct mail_html *h)
{
    enum tag_kind k = h->tag_long ? T_NONE : tag_kind(h->tag);
    bool end = h->tag_end;

    h->state = S_TEXT;
    if (tag_out_of_body(h, k, end))
        return;
    switch (k) {
    case T_NONE:
    case T_HEADISH:
    case T_BODY:
        break;
    case T_HEAD:
        if (!end && !h->started)
            h->in_head = true;
        break;
    case T_PARA:
        block(h, 2);
        break;
    case T_LINE:
        block(h, 1);
        break;
    case T_BR:
        h->brs++;
        h->space = false;
        h->nbsp = 0;
        break;
    case T_LI:
        list_item(h, end);
        break;
    case T_LIST:
        list_tag(h, end);
        break;
    case T_PRE:
        nest_block(h, &h->pre, end);
        if (!end)
            h->pre_start = true;
        break;
    case T_BQ:
        nest_block(h, &h->bq, end);
        break;
    case T_A:
        close_link(h);
        if (!end && h->has_href && !h->href_long)
            h->link = link_number(h, h->href, decode_attr(h->href, h->nhref));
        break;
    case T_IMG:
        if (!end && h->has_alt)
            image(h);
        break;
    case T_CELL:
        h->space = true;
        break;
    case T_RAW:
        if (!end)
            enter_raw(h);
        break;
    case T_SKIP:
        if (!end && !h->slash) {     /* <svg/> is foreign: it closes */
            memcpy(h->skip, h->tag, h->ntag + 1);
            h->skip_depth = 1;
        }
        break;
    }
}

/* ---- the tokenizer ------------------------------------------------------ */

static void tag_name_byte(struct mail_html *h, unsigned char c)
{
    if (h->ntag < TAG_MAX) {
        h->tag[h->ntag++] = lower(c);
        h->tag[h->ntag] = '\0';
    } else {
        h->tag_long = true;
    }
}

static void attr_name_byte(struct mail_html *h, unsigned char c)
{
    if (h->nattr < TAG_MAX) {
        h->attr[h->nattr++] = lower(c);
        h->attr[h->nattr] = '\0';
    } else {
        h->attr_long = true;
    }
}

/* Text and character references.
 * Returns true when c must be read again in the new state. */
static bool step_text(struct mail_html *h, unsigned char c)
{
    bool again = false;

    switch (h->state) {
    case S_TEXT:
        if (c == '<')
            h->state = S_TAG_OPEN;
        else if (c == '&') {
            h->state = S_ENT;
            h->nent = 0;
        } else {
            text_byte(h, c);
        }
        break;
    case S_ENT:
        if (h->nent < ENT_MAX &&
            (is_alnum(c) || (h->nent == 0 && c == '#'))) {
            h->ent[h->nent++] = (char)c;
        } else {
            h->state = S_TEXT;
            end_entity(h, c == ';');
            again = c != ';';
        }
        break;
    default:
        break;
    }
    return again;
}

/* A tag's "<", "</" and name.
 * Returns true when c must be read again in the new state. */
static bool step_tag(struct mail_html *h, unsigned char c)
{
    bool again = false;

    switch (h->state) {
    case S_TAG_OPEN:
        if (is_alpha(c)) {
            start_tag(h);
            h->tag_end = false;
            h->state = S_TAG_NAME;
            again = true;
        } else if (c == '/') {
            h->state = S_END_TAG_OPEN;
        } else if (c == '!') {
            h->state = S_MD_OPEN;
        } else if (c == '?') {
            h->state = S_BOGUS;
        } else {
            /* A '<' that opens nothing is text ("a < b"). */
            h->state = S_TEXT;
            text_byte(h, '<');
            again = true;
        }
        break;
    case S_END_TAG_OPEN:
        if (is_alpha(c)) {
            start_tag(h);
            h->tag_end = true;
            h->state = S_TAG_NAME;
            again = true;
        } else if (c == '>') {
            h->state = S_TEXT;        /* "</>" is nothing */
        } else {
            h->state = S_BOGUS;
        }
        break;
    case S_TAG_NAME:
        if (is_ws(c)) {
            h->state = S_BEFORE_ATTR;
        } else if (c == '/') {
            h->state = S_BEFORE_ATTR;
            h->slash = true;
        } else if (c == '>') {
            end_of_tag(h);
        } else {
            tag_name_byte(h, c);
        }
        break;
    default:
        break;
    }
    return again;
}

/* Attribute names.
 * Returns true when c must be read again in the new state. */
static bool step_attr(struct mail_html *h, unsigned char c)
{
    bool again = false;

    switch (h->state) {
    case S_BEFORE_ATTR:
        if (c == '>') {
            end_of_tag(h);
        } else if (c == '/') {
            h->slash = true;
        } else if (is_ws(c)) {
            h->slash = false;
        } else {
            h->slash = false;
            start_attr(h);
            attr_name_byte(h, c);
            h->state = S_ATTR_NAME;
        }
        break;
    case S_ATTR_NAME:
        if (is_ws(c)) {
            h->state = S_AFTER_ATTR_NAME;
        } else if (c == '/') {
            h->state = S_BEFORE_ATTR;
            h->slash = true;
        } else if (c == '=') {
            attr_value_starts(h);
            h->state = S_BEFORE_VALUE;
        } else if (c == '>') {
            end_of_tag(h);
        } else {
            attr_name_byte(h, c);
        }
        break;
    case S_AFTER_ATTR_NAME:
        if (c == '=') {
            attr_value_starts(h);
            h->state = S_BEFORE_VALUE;
        } else if (c == '>') {
            end_of_tag(h);
        } else if (c == '/') {
            h->state = S_BEFORE_ATTR;
            h->slash = true;
        } else if (!is_ws(c)) {
            start_attr(h);
            attr_name_byte(h, c);
            h->state = S_ATTR_NAME;
        }
        break;
    default:
        break;
    }
    return again;
}

/* Attribute values.
 * Returns true when c must be read again in the new state. */
static bool step_value(struct mail_html *h, unsigned char c)
{
    bool again = false;

    switch (h->state) {
    case S_BEFORE_VALUE:
        if (c == '"') {
            h->state = S_VALUE_DQ;
        } else if (c == '\'') {
            h->state = S_VALUE_SQ;
        } else if (c == '>') {
            end_of_tag(h);
        } else if (!is_ws(c)) {
            h->state = S_VALUE_UQ;
            again = true;
        }
        break;
    case S_VALUE_DQ:
    case S_VALUE_SQ:
        if (c == (h->state == S_VALUE_DQ ? '"' : '\''))
            h->state = S_BEFORE_ATTR;
        else
            value_byte(h, (char)c);
        break;
    case S_VALUE_UQ:
        if (is_ws(c))
            h->state = S_BEFORE_ATTR;
        else if (c == '>')
            end_of_tag(h);
        else
            value_byte(h, (char)c);
        break;
    default:
        break;
    }
    return again;
}

/* Comments, "<!...>" and "<?...>".
 * Returns true when c must be read again in the new state. */
static bool step_comment(struct mail_html *h, unsigned char c)
{
    bool again = false;

    switch (h->state) {
    case S_MD_OPEN:
        if (c == '-') {
            h->state = S_MD_DASH;
        } else {
            h->state = S_BOGUS;
            again = true;
        }
        break;
    case S_MD_DASH:
        if (c == '-') {
            h->state = S_COMMENT;
            /* HTML5 ends "<!-->" and "<!--->" right away. */
            h->dashes = 2;
            h->bang = false;
        } else {
            h->state = S_BOGUS;
            again = true;
        }
        break;
    case S_COMMENT:
        if (c == '>' && h->dashes >= 2) {
            h->state = S_TEXT;
        } else if (c == '-') {
            if (h->bang)
                h->dashes = 0;
            h->bang = false;
            if (h->dashes < 3)
                h->dashes++;
        } else if (c == '!' && h->dashes >= 2 && !h->bang) {
            h->bang = true;      /* "--!>" ends a comment too */
        } else {
            h->dashes = 0;
            h->bang = false;
        }
        break;
    case S_BOGUS:
        if (c == '>')
            h->state = S_TEXT;
        break;
    default:
        break;
    }
    return again;
}

/* The text of <script>, <style>, <title>...: only its end tag counts.
 * Returns true when c must be read again in the new state. */
static bool step_raw(struct mail_html *h, unsigned char c)
{
    if (h->raw_match == h->nraw) {
        if (is_ws(c) || c == '/' || c == '>') {
            /* The end tag: read the rest of it as a tag. */
            start_tag(h);
            h->tag_end = true;
            memcpy(h->tag, h->raw + 2, h->nraw - 1);
            h->ntag = h->nraw - 2;
            h->state = S_TAG_NAME;
            return true;
        }
        h->raw_match = 0;
    }
    if (lower(c) == h->raw[h->raw_match])
        h->raw_match++;
    else
        h->raw_match = c == '<';
    return false;
}

/* One byte through the tokenizer; the phase functions say when it must
 * be read again (a state change that does not consume it). */
static void step(struct mail_html *h, unsigned char c)
{
    bool again;

    do {
        switch (h->state) {
        case S_TEXT:
        case S_ENT:
            again = step_text(h, c);
            break;
        case S_TAG_OPEN:
        case S_END_TAG_OPEN:
        case S_TAG_NAME:
            again = step_tag(h, c);
            break;
        case S_BEFORE_ATTR:
        case S_ATTR_NAME:
        case S_AFTER_ATTR_NAME:
            again = step_attr(h, c);
            break;
        case S_BEFORE_VALUE:
        case S_VALUE_DQ:
        case S_VALUE_SQ:
        case S_VALUE_UQ:
            again = step_value(h, c);
            break;
        case S_MD_OPEN:
        case S_MD_DASH:
        case S_COMMENT:
        case S_BOGUS:
            again = step_comment(h, c);
            break;
        case S_RAW:
            again = step_raw(h, c);
            break;
        }
    } while (again);
}

/* ---- the interface ----------------------------------------------------- */

/* The state of a new renderer (the sink is kept). */
static void reset(struct mail_html *h)
{
    mail_sink_fn sink = h->sink;
    void *ctx = h->ctx;

    mail_buf_release(&h->urls);
    memset(h, 0, sizeof *h);
    h->sink = sink;
    h->ctx = ctx;
    h->state = S_TEXT;
    h->line_start = true;
    mail_buf_init(&h->urls, MAIL_HTML_URLS_MAX);
}

struct mail_html *mail_html_new(mail_sink_fn sink, void *ctx,
                                struct mail_error *err)
{
    struct mail_html *h = calloc(1, sizeof *h);

    if (!h) {
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    h->sink = sink;
    h->ctx = ctx;
    reset(h);
    return h;
}

int mail_html_push(struct mail_html *h, const char *data, size_t len,
                   struct mail_error *err)
{
    h->err = err;
    for (size_t i = 0; i < len && !h->failed; i++)
        step(h, (unsigned char)data[i]);
    return h->failed ? -1 : 0;
}

int mail_html_finish(struct mail_html *h, struct mail_error *err)
{
    const char *p;
    size_t num = 1;
    bool failed;

    h->err = err;
    /* An unfinished reference is shown; an unfinished tag, comment or
     * raw text is dropped, as browsers do at the end of the file. */
    if (h->state == S_ENT) {
        end_entity(h, false);
    } else if (h->state == S_TAG_OPEN || h->state == S_END_TAG_OPEN) {
        text_byte(h, '<');
        if (h->state == S_END_TAG_OPEN)
            text_byte(h, '/');
    }
    h->state = S_TEXT;
    close_link(h);
    if (h->started)
        put_raw(h, "\n", 1);
    if (h->nlinks) {
        char num_s[32];

        if (h->started)
            put_raw(h, "\n", 1);
        for (p = h->urls.data; p < h->urls.data + h->urls.len; num++) {
            size_t len = strlen(p);

            snprintf(num_s, sizeof num_s, "[%zu] ", num);
            put_raw(h, num_s, strlen(num_s));
            put_raw(h, p, len);
            put_raw(h, "\n", 1);
            p += len + 1;
        }
    }
    flush_out(h);
    failed = h->failed;
    /* Ready for another document, with the same sink. */
    reset(h);
    return failed ? -1 : 0;
}

void mail_html_free(struct mail_html *h)
{
    if (!h)
        return;
    mail_buf_release(&h->urls);
    free(h);
}

int mail_html_to_text(struct mail_buf *out, const char *html, size_t len)
{
    struct mail_html *h = mail_html_new(mail_sink_buf, out, NULL);
    int rc;

    if (!h)
        return -1;
    rc = mail_html_push(h, html, len, NULL);
    if (mail_html_finish(h, NULL) < 0)
        rc = -1;
    mail_html_free(h);
    return rc;
}
