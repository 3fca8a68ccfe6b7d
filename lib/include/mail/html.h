/*
 * html.h - the built-in HTML-to-text renderer, for messages that have no
 * plain text part and no html-command or mailcap viewer.
 *
 * A streaming, byte-at-a-time tokenizer in the spirit of the HTML5 one
 * (WHATWG 13.2.5), simplified: no tree is built, so memory is fixed (a
 * few KiB plus the list of link URLs, which is capped) whatever the
 * input, and any bytes render without error.  Input is UTF-8 (convert the
 * part's charset first); bytes are passed through, so valid UTF-8 in gives
 * valid UTF-8 out.  The output is plain text for a terminal:
 *
 *   - tags are dropped; the contents of script, style, title, head,
 *     template and svg are skipped;
 *   - runs of whitespace collapse to one space, except in pre;
 *   - p, h1-h6, blockquote, pre, ul, ol, dl, hr give a blank line around
 *     them; div, li, tr, table, dt, dd and the sectioning elements a line
 *     break; br a line break; td and th a space;
 *   - li gets "* " (ul) or "N. " (ol), nested lists are indented two
 *     spaces a level, blockquote lines are prefixed with "> ";
 *   - a link is "text [N]", and the URLs are listed at the end as
 *     "[N] URL" after a blank line (the same URL keeps its number; links
 *     to "#...", "javascript:" and "data:" are not numbered);
 *   - an image with alt text is "[alt]";
 *   - character references: the named entities that matter (&amp; &lt;
 *     &gt; &quot; &apos; &nbsp;, Latin-1 and the typographic ones) and
 *     numeric ones (&#NNN; &#xHH;); an unknown one is kept as written;
 *     control characters become U+FFFD and invisible format characters
 *     (soft hyphen, zero-width joiners, bidi controls, BOM) are dropped;
 *     &nbsp; is a space that is not collapsed, except at a line's end;
 *   - no blank lines at the start or the end; the text ends in a line
 *     break when it is not empty.
 * Broken HTML (unclosed tags and comments, '<' in text, huge attributes,
 * missing end tags) degrades the way browsers degrade, never fails.
 *
 *     struct mail_html *h = mail_html_new(sink, ctx, &err);
 *     mail_html_push(h, chunk, n); ...
 *     mail_html_finish(h);      // the link list is written here
 *     mail_html_free(h);
 */
#ifndef MAIL_HTML_H
#define MAIL_HTML_H

#pragma GCC visibility push(default)

#include <stddef.h>

#include "buf.h"
#include "error.h"
#include "sink.h"

/* Bounds: bytes kept of one attribute value (a longer href is not
 * numbered, a longer alt is cut), links numbered, bytes of all URLs. */
#define MAIL_HTML_ATTR_MAX 8192
#define MAIL_HTML_LINKS_MAX 1000
#define MAIL_HTML_URLS_MAX ((size_t)1 << 20)

struct mail_html;

/* A renderer sending text to sink(ctx, ...).  NULL with err set
 * (MAIL_ERR_INTERNAL) when out of memory. */
struct mail_html *mail_html_new(mail_sink_fn sink, void *ctx,
                                struct mail_error *err);

/* Render the next len bytes; err goes to the sink.  -1 when the sink
 * returned -1 (err as the sink set it, now or in an earlier push of this
 * document); nothing more is sent then until mail_html_finish. */
int mail_html_push(struct mail_html *h, const char *data, size_t len,
                   struct mail_error *err);

/* End of input: ends the text and writes the link list.  -1 when the
 * sink returned -1 in this document.  The renderer is then ready for a
 * new document. */
int mail_html_finish(struct mail_html *h, struct mail_error *err);

/* Free the renderer (NULL is fine). */
void mail_html_free(struct mail_html *h);

/* One shot: render html[0..len) and append the text to out.  -1 on
 * ENOMEM or when out's cap is reached. */
int mail_html_to_text(struct mail_buf *out, const char *html, size_t len);

#pragma GCC visibility pop

#endif
