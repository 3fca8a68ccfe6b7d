/* test_html.c - the built-in HTML-to-text renderer: exact outputs. */
#include <stdlib.h>
#include <string.h>

#include "mail/html.h"
#include "test.h"

static char *render(const char *in, size_t len)
{
    struct mail_buf b = MAIL_BUF_INIT;

    if (mail_html_to_text(&b, in, len) < 0)
        return NULL;
    return mail_buf_detach(&b);
}

#define HTML(in, want) do { \
        char *got_ = render(in, sizeof(in) - 1); \
        CHECK_STR(got_, want); \
        free(got_); \
    } while (0)

/* The same input pushed one byte at a time gives the same text. */
static int one_byte_sink(void *ctx, const char *data, size_t len,
                         struct mail_error *err)
{
    return mail_sink_buf(ctx, data, len, err);
}

static char *render_bytewise(const char *in, size_t len)
{
    struct mail_buf b = MAIL_BUF_INIT;
    struct mail_html *h = mail_html_new(one_byte_sink, &b, NULL);

    for (size_t i = 0; i < len; i++)
        mail_html_push(h, in + i, 1, NULL);
    mail_html_finish(h, NULL);
    mail_html_free(h);
    return mail_buf_detach(&b);
}

static void test_text(void)
{
    HTML("", "");
    HTML("hello", "hello\n");
    HTML("  hello   \n\t world  ", "hello world\n");
    HTML("<b>bold</b> and <i>it</i>alic", "bold and italic\n");
    HTML("<p>one</p><p>two</p>", "one\n\ntwo\n");
    HTML("<p>one<p>two", "one\n\ntwo\n");
    HTML("a<br>b<br/>c<br />d", "a\nb\nc\nd\n");
    HTML("a<br><br>b", "a\n\nb\n");
    HTML("<div>a</div><div>b</div>", "a\nb\n");
    HTML("<div><div><p>deep</p></div></div>x", "deep\n\nx\n");
    HTML("<h1>Title</h1>text", "Title\n\ntext\n");
    HTML("<p>trailing</p><br><br><p></p>", "trailing\n");
    HTML("<br><br><p>leading", "leading\n");
    HTML("<p>&nbsp;</p><p>x</p>", "x\n");
}

static void test_entities(void)
{
    HTML("&amp; &lt; &gt; &quot; &apos;", "& < > \" '\n");
    HTML("caf&eacute; &copy; &euro;&trade; &hellip; &mdash;",
         "caf\xc3\xa9 \xc2\xa9 \xe2\x82\xac\xe2\x84\xa2 \xe2\x80\xa6 "
         "\xe2\x80\x94\n");
    HTML("&#65;&#x42;&#X43;&#0100;", "ABCd\n");
    HTML("&#128512;", "\xf0\x9f\x98\x80\n");
    HTML("&#150;", "\xe2\x80\x93\n");                 /* windows-1252 */
    HTML("&#0;&#xD800;&#x110000;&#99999999999;",
         "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\n");
    HTML("&#27;[31m", "\xef\xbf\xbd[31m\n");          /* no ESC comes out */
    HTML("a&shy;b&zwnj;c&#x202e;d&#8203;e", "abcde\n");
    HTML("AT&T &unknown; &amp &lt3 & ;", "AT&T &unknown; & <3 & ;\n");
    HTML("&copy2026 &ampx &notin;", "\xc2\xa9" "2026 &x &notin;\n");
    HTML("a&nbsp;&nbsp;b", "a  b\n");
    HTML("<p>&nbsp;&nbsp;indented</p>", "  indented\n");
    HTML("end&nbsp;", "end\n");
    HTML("&#x41", "A\n");
    HTML("&", "&\n");
    HTML("x &#; &#x; y", "x &#; &#x; y\n");
}

static void test_links(void)
{
    HTML("see <a href=\"https://example.com/\">the site</a>.",
         "see the site [1].\n\n[1] https://example.com/\n");
    HTML("<a href='https://a.example/?x=1&amp;y=2'>a</a> "
         "<a href=https://b.example/>b</a> "
         "<a href=\"https://a.example/?x=1&y=2\">again</a>",
         "a [1] b [2] again [1]\n\n[1] https://a.example/?x=1&y=2\n"
         "[2] https://b.example/\n");
    HTML("<a href=\"#top\">top</a> <a href=\"javascript:x()\">js</a> "
         "<a>none</a>", "top js none\n");
    HTML("<a href=\"http://x.example/\n  path\">broken</a>",
         "broken [1]\n\n[1] http://x.example/path\n");
    HTML("<a href=\"http://x.example/\"><img src=a.png alt=\"Logo\"></a>",
         "[Logo] [1]\n\n[1] http://x.example/\n");
    HTML("<a href=\"http://x.example/\"><img src=a.png></a>",
         "[1]\n\n[1] http://x.example/\n");
    HTML("<a href=\"u1\">one<a href=\"u2\">two", "one [1]two [2]\n\n"
         "[1] u1\n[2] u2\n");
    HTML("<a href=\"mailto:a@example.com\">write</a>",
         "write [1]\n\n[1] mailto:a@example.com\n");
    HTML("<img alt=\"\"><img alt=\"  \">x", "x\n");
}

static void test_lists(void)
{
    HTML("<ul><li>one</li><li>two</li></ul>", "* one\n* two\n");
    HTML("<ol><li>one<li>two<li>three</ol>after",
         "1. one\n2. two\n3. three\n\nafter\n");
    HTML("<p>intro</p><ul><li>a<ul><li>b</li><li>c</li></ul></li>"
         "<li>d</li></ul>",
         "intro\n\n* a\n  * b\n  * c\n* d\n");
    HTML("<ul><li>a<br>more</li></ul>", "* a\n  more\n");
    HTML("<li>stray</li>", "* stray\n");
    HTML("<blockquote><p>quoted</p><p>two</p></blockquote>reply",
         "> quoted\n\n> two\n\nreply\n");
    HTML("<table><tr><td>a</td><td>b</td></tr><tr><th>c</th><td>d</td></tr>"
         "</table>", "a b\nc d\n");
    HTML("<dl><dt>term</dt><dd>def</dd></dl>", "term\ndef\n");
}

static void test_pre(void)
{
    HTML("<pre>\n  a  b\n\n\tc</pre>after",
         "  a  b\n\n\tc\n\nafter\n");
    HTML("<pre>x &lt; y\r\n</pre>", "x < y\n");
    HTML("text <pre>code</pre> text", "text\n\ncode\n\ntext\n");
    HTML("<pre>a&nbsp;&nbsp;b</pre>", "a  b\n");
}

static void test_skipped(void)
{
    HTML("<html><head><title>T</title><style>p { color: red }</style>"
         "<meta charset=utf-8></head><body><p>body</p></body></html>",
         "body\n");
    HTML("<script>document.write('<p>no</p>')</script>yes", "yes\n");
    HTML("<script>if (a </script x> b) {}</script>after", "b) {}after\n");
    HTML("<SCRIPT type=x>a</ScRiPt >b", "b\n");
    HTML("<style>a</style\n>b", "b\n");
    HTML("<head><meta x=y>text without body", "text without body\n");
    HTML("<head><title>t</title><p>implied body", "implied body\n");
    HTML("<template><p>t</p><template>x</template></template>ok", "ok\n");
    HTML("a<svg><text>x</text></svg>b<svg/>c", "abc\n");
    HTML("<!-- comment <p>not</p> -->shown", "shown\n");
    HTML("<!--[if mso]><p>outlook</p><![endif]-->x", "x\n");
    HTML("<!---->a<!-->b<!--->c", "abc\n");
    HTML("a<!-- x --!>b", "ab\n");
    HTML("<!DOCTYPE html><?xml version=\"1.0\"?>x", "x\n");
    HTML("<title>only a title", "");
}

static void test_broken(void)
{
    HTML("a < b and c > d", "a < b and c > d\n");
    HTML("1 <2 >3 <= 4", "1 <2 >3 <= 4\n");
    HTML("unclosed <b>bold <i>italic", "unclosed bold italic\n");
    HTML("x <p class=\"unterminated>y", "x\n");
    HTML("cut at <", "cut at <\n");
    HTML("cut at </", "cut at </\n");
    HTML("cut in <a href=", "cut in\n");
    HTML("</>a</ b>c", "ac\n");
    HTML("<!-- never closed", "");
    HTML("<p a=1 b='2' c=\"3\" d e=>x</p>", "x\n");
    HTML("<p\nclass=x\n>y", "y\n");
    HTML("x<tagnamethatiswaytoolongforus>y</tagnamethatiswaytoolongforus>",
         "xy\n");
}

static void test_huge(void)
{
    /* An href longer than the bound is not numbered; an alt is cut at a
     * character boundary; neither grows memory. */
    size_t n = MAIL_HTML_ATTR_MAX * 3;
    char *in = malloc(n + 64), *got;
    size_t i, len;

    len = (size_t)sprintf(in, "<a href=\"");
    for (i = 0; i < n; i++)
        in[len++] = 'x';
    len += (size_t)sprintf(in + len, "\">long</a>");
    got = render(in, len);
    CHECK_STR(got, "long\n");
    free(got);

    len = (size_t)sprintf(in, "<img alt=\"");
    for (i = 0; i + 2 <= n; i += 2) {
        in[len++] = '\xc3';
        in[len++] = '\xa9';
    }
    len += (size_t)sprintf(in + len, "\">");
    got = render(in, len);
    CHECK(got && got[0] == '[');
    CHECK(got && strlen(got) == MAIL_HTML_ATTR_MAX + 3);
    CHECK(got && memcmp(got + strlen(got) - 4, "\xc3\xa9]\n", 4) == 0);
    free(got);
    free(in);

    /* Deep nesting: indentation is capped. */
    {
        struct mail_buf b = MAIL_BUF_INIT;

        for (i = 0; i < 100; i++)
            mail_buf_addstr(&b, "<ul><li>");
        mail_buf_addstr(&b, "x");
        got = render(b.data, b.len);
        CHECK(got && strlen(got) == 30 + 2 + 1 + 1);
        free(got);
        mail_buf_release(&b);
    }
}

static void test_bytewise(void)
{
    static const char *const docs[] = {
        "<html><head><style>x</style></head><body><p>caf&eacute; &amp; "
        "<a href=\"http://e.example/?a=1&amp;b=2\">link</a></p><ul><li>one"
        "<li>two</ul><pre>\n a\n\n b</pre><!-- c --><script>x</script>"
        "&#x1F600; end&nbsp;</body></html>",
        "a<b<c &lt d &#6 5 <!-- -- > --> e",
    };

    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        char *a = render(docs[i], strlen(docs[i]));
        char *b = render_bytewise(docs[i], strlen(docs[i]));

        CHECK_STR(b, a);
        free(a);
        free(b);
    }
}

static int fail_sink(void *ctx, const char *data, size_t len,
                     struct mail_error *err)
{
    (void)ctx;
    (void)data;
    (void)len;
    return mail_error_set(err, MAIL_ERR_IO, "standard output: Broken pipe");
}

static void test_sink_failure(void)
{
    struct mail_html *h = mail_html_new(fail_sink, NULL, NULL);
    struct mail_error err;
    char big[10000];

    memset(big, 'a', sizeof big);
    mail_error_clear(&err);
    CHECK(mail_html_push(h, big, sizeof big, &err) == -1);
    CHECK(err.kind == MAIL_ERR_IO);
    CHECK_STR(err.msg, "standard output: Broken pipe");
    /* the document stays stopped until its end */
    CHECK(mail_html_push(h, "x", 1, &err) == -1);
    CHECK(mail_html_finish(h, &err) == -1);
    CHECK_STR(err.msg, "standard output: Broken pipe");
    /* the next document starts afresh; its failure is its own */
    mail_error_clear(&err);
    CHECK(mail_html_push(h, "<p>x</p>", 8, &err) == 0);
    CHECK(mail_html_finish(h, &err) == -1);
    CHECK_STR(err.msg, "standard output: Broken pipe");
    mail_html_free(h);
}

int main(void)
{
    RUN(test_text);
    RUN(test_entities);
    RUN(test_links);
    RUN(test_lists);
    RUN(test_pre);
    RUN(test_skipped);
    RUN(test_broken);
    RUN(test_huge);
    RUN(test_bytewise);
    RUN(test_sink_failure);
    return test_done();
}
