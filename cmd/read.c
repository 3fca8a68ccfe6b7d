/*
 * read.c - `mail read`: show messages the way a person reads them (a few
 * headers, the readable text, the list of attachments), or hand a script
 * the exact bytes (--raw), one decoded part (--part), the attachments as
 * files (--save) or everything as JSON (--json).
 *
 * Every byte that comes from a message and is meant for a person goes
 * through the terminal-safe filter (mail_term_safe), on a terminal or
 * not: a message must not be able to drive the terminal of whoever reads
 * it, and a person reading a redirected file is still a person.  Only
 * --raw and --part to a file or pipe are byte-exact: those are for
 * programs.
 *
 * A message is read from a file descriptor that starts at its first byte
 * (the Maildir file, or a temporary copy for mbox and standard input):
 * the MIME parser keeps only offsets, and parts are decoded again from
 * the file when they are shown, so a 50 MB attachment costs no memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmd.h"
#include "mail/fsutil.h"
#include "pager.h"
#include "select.h"
#include "mail/address.h"
#include "mail/charset.h"
#include "mail/date.h"
#include "mail/header.h"
#include "mail/html.h"
#include "mail/mime.h"
#include "mail/readable.h"
#include "mail/rfc2047.h"
#include "mail/termsafe.h"

/* Longest file name --save writes (NAME_MAX on Linux and the BSDs). */
#define SAVE_NAME_MAX 255
/* Bound on what an html-command or mailcap viewer may print. */
#define FILTER_OUTPUT_MAX ((size_t)64 << 20)
/* What one message may cost in outside programs: at most this many HTML
 * parts go through the html-command or a mailcap viewer (the others get
 * the built-in renderer), each for at most RENDER_TIMEOUT seconds
 * ($MAIL_RENDER_TIMEOUT overrides it, for tests), then it is killed. */
#define EXTERNAL_RENDER_MAX 4
#define RENDER_TIMEOUT 10
#define MAIL_STR_(x) #x
#define MAIL_STR(x) MAIL_STR_(x)

enum {
    OPT_RAW = OPT_FIRST_COMMAND_OPTION,
    OPT_PEEK,
    OPT_HEADERS,
    OPT_PART,
    OPT_SAVE,
};

struct reader {
    struct cmd_ctx *ctx;
    bool raw, peek, all_headers, json;
    const char *part;           /* --part N */
    const char *save_dir;       /* --save DIR */
    const char *folder;         /* -f FOLDER */
    int save_fd;                /* DIR, opened once */

    bool tty;                   /* stdout was a terminal at the start */
    bool color;
    bool acct_checked;          /* html_cmd looked up */
    const char *html_cmd;       /* the account's html-command, or NULL */
    bool mailcap_checked;
    char *mailcap_cmd;          /* text/html copiousoutput entry, or NULL */

    size_t shown;               /* messages written (separators, JSON) */
    bool out_closed;            /* stdout failed: stop writing */
    int out_errno;              /* ... with this, unless it was EPIPE */
    int rc;                     /* the first failure's exit code */
};

/* One message being shown. */
struct msg {
    const char *label;          /* for error messages: "3", a path */
    int fd;                     /* reads the message from offset 0 */
    struct mail_mime *mime;
    const struct mail_part *root;
    struct mail_envelope *env;  /* the folder's, or NULL for a file */
    struct mail_envelope file_env;
    size_t number;              /* listing number, 0 if none */
    const char *folder;         /* display name, NULL for a file */
    unsigned external_runs;     /* HTML parts given to a viewer */
    bool external_off;          /* no more viewers for this message */
    size_t builtin_html;        /* HTML parts rendered by us instead */
};

static void set_rc(struct reader *r, int rc)
{
    if (rc && !r->rc)
        r->rc = rc;
}

/* After writing to stdout: false when it failed.  EPIPE means the reader
 * (a pager, `head`) went away, which ends the output quietly. */
static bool out_ok(struct reader *r)
{
    if (r->out_closed)
        return false;
    if (!ferror(stdout))
        return true;
    r->out_closed = true;
    if (errno != EPIPE)
        r->out_errno = errno ? errno : EIO;
    return false;
}

/* ---- terminal-safe text output ----------------------------------------- */

/*
 * Text through mail_term_safe, to stdout or to a buffer (the JSON text).
 * Sinks get text in arbitrary pieces, so an incomplete UTF-8 sequence at
 * the end of one piece is held back until the next: cut in two it would
 * show as two \xNN escapes.
 */
struct text_out {
    struct reader *r;
    struct mail_buf *buf;       /* NULL: stdout */
    struct mail_buf scratch;    /* the safe form of a piece */
    struct mail_buf join;       /* held bytes + the next piece */
    char carry[4];
    size_t ncarry;
    char last;                  /* last byte of text, 0 before any */
    bool failed;
};

static void text_init(struct text_out *t, struct reader *r,
                      struct mail_buf *buf)
{
    memset(t, 0, sizeof *t);
    t->r = r;
    t->buf = buf;
}

static void text_release(struct text_out *t)
{
    mail_buf_release(&t->scratch);
    mail_buf_release(&t->join);
}

static int text_emit(struct text_out *t, const char *s, size_t n)
{
    if (!n)
        return 0;
    mail_buf_reset(&t->scratch);
    if (mail_term_safe(&t->scratch, s, n, 0) < 0) {
        t->failed = true;
        return -1;
    }
    if (t->buf) {
        if (mail_buf_add(t->buf, t->scratch.data, t->scratch.len) < 0)
            t->failed = true;
    } else {
        fwrite(t->scratch.data, 1, t->scratch.len, stdout);
        if (!out_ok(t->r))
            t->failed = true;
    }
    return t->failed ? -1 : 0;
}

/* How many bytes at the end of s[0..n) start a UTF-8 sequence that is
 * not complete yet. */
static size_t utf8_incomplete(const char *s, size_t n)
{
    for (size_t k = 1; k <= 3 && k <= n; k++) {
        unsigned char c = (unsigned char)s[n - k];
        size_t need;

        if ((c & 0xc0) == 0x80)
            continue;
        if (c < 0xc0)
            return 0;
        need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        return need > k ? k : 0;
    }
    return 0;
}

static int text_sink(void *ctx, const char *data, size_t len)
{
    struct text_out *t = ctx;
    size_t keep;

    if (t->failed)
        return -1;
    if (!len)
        return 0;
    t->last = data[len - 1];
    if (t->ncarry) {
        mail_buf_reset(&t->join);
        if (mail_buf_add(&t->join, t->carry, t->ncarry) < 0 ||
            mail_buf_add(&t->join, data, len) < 0) {
            t->failed = true;
            return -1;
        }
        data = t->join.data;
        len = t->join.len;
        t->ncarry = 0;
    }
    keep = utf8_incomplete(data, len);
    if (text_emit(t, data, len - keep) < 0)
        return -1;
    memcpy(t->carry, data + len - keep, keep);
    t->ncarry = keep;
    return 0;
}

static int text_puts(struct text_out *t, const char *s)
{
    return text_sink(t, s, strlen(s));
}

/* End of a text: what is held back is shown (as \xNN). */
static int text_flush(struct text_out *t)
{
    int rc = text_emit(t, t->carry, t->ncarry);

    t->ncarry = 0;
    return rc;
}

/* One-line untrusted text (header values, file names) to stdout. */
static void put_safe(struct reader *r, const char *s, size_t n)
{
    if (!r->out_closed)
        out_safe(stdout, s, n, MAIL_SAFE_ONELINE);
}

static void put_safe_str(struct reader *r, const char *s)
{
    put_safe(r, s, strlen(s));
}

/* ---- headers ----------------------------------------------------------- */

/* Header names as the message spells them ("Message-ID"); the parser
 * keeps them lowercased.  names[i] is NULL when not found again. */
static void header_spellings(const char *raw, size_t len,
                             const struct mail_header *h, const char **names,
                             size_t *lens)
{
    size_t k = 0, i = 0;

    for (size_t j = 0; j < h->nfields; j++)
        names[j] = NULL;
    while (i < len && k < h->nfields) {
        const char *line = raw + i, *nl = memchr(line, '\n', len - i);
        size_t n = nl ? (size_t)(nl - line) : len - i;
        const char *colon = memchr(line, ':', n);

        i += n + 1;
        if (!colon || line[0] == ' ' || line[0] == '\t')
            continue;
        n = (size_t)(colon - line);
        while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
            n--;
        if (n == strlen(h->fields[k].name) &&
            mail_strncasecmp(line, h->fields[k].name, n) == 0) {
            names[k] = line;
            lens[k] = n;
            k++;
        }
    }
}

/* An address list for people: "Name <addr>, addr", names decoded.  A
 * name that could pass for an address ("x@y", "<x@y>") is quoted, so
 * that a display name cannot impersonate the real address. */
static void format_addresses(struct mail_buf *b, const char *value)
{
    struct mail_addrlist l = MAIL_ADDRLIST_INIT;
    struct mail_error err;
    const char *group = NULL;
    bool sep = false;

    if (mail_addrlist_parse(&l, value, &err) < 0) {
        mail_rfc2047_decode(b, value, strlen(value));
        return;
    }
    for (size_t i = 0; i < l.n; i++) {
        const struct mail_address *a = &l.v[i];
        bool has_name = a->name && *a->name;

        if (group && (!a->group || strcmp(group, a->group) != 0)) {
            mail_buf_addch(b, ';');
            group = NULL;
            sep = true;
        }
        if (a->group && !group) {
            /* "team: a, b;" and "undisclosed-recipients:;" */
            mail_buf_printf(b, "%s%s:", sep ? ", " : "", a->group);
            group = a->group;
            sep = false;
        }
        if (!has_name && !*a->addr)
            continue;
        mail_buf_addstr(b, sep ? ", " : group ? " " : "");
        if (has_name) {
            if (strpbrk(a->name, ",;:<>@\"()[]\\")) {
                mail_buf_addch(b, '"');
                for (const char *p = a->name; *p; p++) {
                    if (*p == '"' || *p == '\\')
                        mail_buf_addch(b, '\\');
                    mail_buf_addch(b, *p);
                }
                mail_buf_addch(b, '"');
            } else {
                mail_buf_addstr(b, a->name);
            }
            if (*a->addr)
                mail_buf_printf(b, " <%s>", a->addr);
        } else {
            mail_buf_addstr(b, a->addr);
        }
        sep = true;
    }
    if (group)
        mail_buf_addch(b, ';');
    mail_addrlist_release(&l);
}

static void print_field(struct reader *r, const char *name, size_t namelen,
                        const char *value, size_t len)
{
    if (r->color)
        fputs("\033[1m", stdout);
    put_safe(r, name, namelen);
    fputc(':', stdout);
    if (r->color)
        fputs("\033[0m", stdout);
    fputc(' ', stdout);
    put_safe(r, value, len);
    fputc('\n', stdout);
}

/* Decoded display text of a header value; tabs (kept from folding)
 * become spaces. */
static void decode_value(struct mail_buf *b, const char *value)
{
    mail_buf_reset(b);
    mail_rfc2047_decode(b, value, strlen(value));
    for (size_t i = 0; i < b->len; i++)
        if (b->data[i] == '\t')
            b->data[i] = ' ';
}

static int print_all_headers(struct reader *r, struct msg *mm)
{
    const struct mail_header *h = &mm->root->header;
    struct mail_buf raw = MAIL_BUF_INIT, v = MAIL_BUF_INIT;
    const char **names = calloc(h->nfields + 1, sizeof *names);
    size_t *lens = calloc(h->nfields + 1, sizeof *lens);
    size_t hlen = h->len < MAIL_HEADER_MAX ? h->len : MAIL_HEADER_MAX;
    ssize_t got = 0;

    if (!names || !lens || mail_buf_reserve(&raw, hlen + 1) < 0) {
        free(names);
        free(lens);
        return cmd_failf(EX_SOFTWARE, "out of memory");
    }
    if (hlen)
        got = pread(mm->fd, raw.data, hlen, 0);
    raw.len = got > 0 ? (size_t)got : 0;
    header_spellings(raw.data, raw.len, h, names, lens);
    for (size_t i = 0; i < h->nfields; i++) {
        const struct mail_header_field *fl = &h->fields[i];

        decode_value(&v, fl->value);
        if (names[i])
            print_field(r, names[i], lens[i], v.data ? v.data : "", v.len);
        else
            print_field(r, fl->name, strlen(fl->name), v.data ? v.data : "",
                        v.len);
    }
    free(names);
    free(lens);
    mail_buf_release(&raw);
    mail_buf_release(&v);
    return 0;
}

static void print_headers(struct reader *r, struct msg *mm)
{
    static const struct {
        const char *key, *show;
        bool addresses;
    } fields[] = {
        { "from", "From", true }, { "to", "To", true },
        { "cc", "Cc", true }, { "subject", "Subject", false },
    };
    const struct mail_header *h = &mm->root->header;
    struct mail_buf v = MAIL_BUF_INIT;
    const char *date = mail_header_get(h, "date");

    if (date) {
        char buf[MAIL_DATE_MAX];
        time_t t;
        int off;

        /* Local time: what the reader's clock said when it was sent. */
        if (mail_date_parse(date, &t, &off) == 0 &&
            mail_date_format_rfc5322(buf, sizeof buf, t,
                                     mail_date_local_offset(t)) > 0) {
            print_field(r, "Date", 4, buf, strlen(buf));
        } else {
            decode_value(&v, date);
            print_field(r, "Date", 4, v.data ? v.data : "", v.len);
        }
    }
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const char *value = mail_header_get(h, fields[i].key);

        if (!value)
            continue;
        mail_buf_reset(&v);
        if (fields[i].addresses)
            format_addresses(&v, value);
        else
            decode_value(&v, value);
        print_field(r, fields[i].show, strlen(fields[i].show),
                    v.data ? v.data : "", v.len);
    }
    mail_buf_release(&v);
}

/* ---- parts ------------------------------------------------------------- */

/* Inside an attached message: its parts are that attachment's business. */
static bool in_attached_message(const struct mail_part *p)
{
    for (const struct mail_part *q = p->parent; q; q = q->parent)
        if (q->child && !mail_part_is_multipart(q))
            return true;
    return false;
}

/* Shown in the attachment list: what is not text (a message that is
 * only an image included). */
static bool listed_part(const struct mail_part *p)
{
    if (in_attached_message(p) || mail_part_is_multipart(p))
        return false;
    if (mail_part_is_attachment(p))
        return true;
    return !p->parent && strcmp(p->type, "text/plain") != 0 &&
           strcmp(p->type, "text/html") != 0;
}

/* Saved by --save and counted in "attachments" (folder.h's definition):
 * a file name, or disposition attachment. */
static bool saved_part(const struct mail_part *p)
{
    if (in_attached_message(p) || mail_part_is_multipart(p))
        return false;
    return p->filename ||
           (p->disposition && strcmp(p->disposition, "attachment") == 0);
}

static uint64_t part_size(const struct mail_part *p)
{
    /* An attached message is not decoded: its size is its body's. */
    return p->child ? p->body_end - p->body_start : p->decoded_size;
}

static void human_size(uint64_t n, char *buf, size_t size)
{
    static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
    double v = (double)n;
    size_t u = 0;

    if (n < 1024) {
        snprintf(buf, size, "%llu B", (unsigned long long)n);
        return;
    }
    v /= 1024;
    while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024;
        u++;
    }
    snprintf(buf, size, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void print_attachments(struct reader *r, struct msg *mm)
{
    const struct mail_part *p;
    struct mail_buf t = MAIL_BUF_INIT;
    size_t wnum = 1, wtype = 1, n = 0;

    for (p = mm->root; p; p = mail_part_next(p)) {
        if (!listed_part(p))
            continue;
        n++;
        if (strlen(p->number) > wnum)
            wnum = strlen(p->number);
        mail_buf_reset(&t);
        mail_term_safe(&t, p->type, strlen(p->type), MAIL_SAFE_ONELINE);
        if (t.len > wtype)
            wtype = t.len;
    }
    if (wtype > 40)
        wtype = 40;
    if (n)
        fputs("\nAttachments:\n", stdout);
    for (p = mm->root; p && n; p = mail_part_next(p)) {
        char size[32];

        if (!listed_part(p))
            continue;
        human_size(part_size(p), size, sizeof size);
        mail_buf_reset(&t);
        mail_term_safe(&t, p->type, strlen(p->type), MAIL_SAFE_ONELINE);
        printf("  %-*s  %-*s  %9s", (int)wnum, p->number, (int)wtype,
               t.data ? t.data : "", size);
        if (p->filename) {
            fputs("  ", stdout);
            put_safe_str(r, p->filename);
        }
        fputc('\n', stdout);
    }
    mail_buf_release(&t);
}

static unsigned count_saved(const struct msg *mm)
{
    unsigned n = 0;

    for (const struct mail_part *p = mm->root; p; p = mail_part_next(p))
        n += saved_part(p);
    return n;
}

/* ---- running viewers --------------------------------------------------- */

/* Characters a temporary file name may have without any quoting. */
static bool shell_safe(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || strchr("/._+-", *s)))
            return false;
    return true;
}

/* A temporary file "DIR/mail-XXXXXX.html" whose name needs no quoting in
 * a shell command (so it is safe for a mailcap %s, however the entry
 * quotes it): $TMPDIR if its name is that plain, else /tmp. */
static int make_temp(char *path, size_t size)
{
    const char *dir = getenv("TMPDIR");

    if (!dir || !*dir || !shell_safe(dir) || strlen(dir) > 200)
        dir = "/tmp";
    if (mail_snprintf(path, size, "%s/mail-XXXXXX.html", dir) < 0)
        return -1;
    return mkostemps(path, 5, O_CLOEXEC);
}

static int fd_sink(void *ctx, const char *data, size_t len)
{
    return mail_write_all(*(int *)ctx, data, len);
}

/* Start `/bin/sh -c cmd` with stdin from in_fd and stdout to out_fd. */
static pid_t spawn(const char *cmd, int in_fd, int out_fd)
{
    pid_t pid = fork();

    if (pid == 0) {
        /* Its own process group, so that a time-out kills the shell and
         * everything it started. */
        setpgid(0, 0);
        /* What we ignore (SIGPIPE; SIGINT under a pager) the child must
         * not: exec keeps ignored signals ignored. */
        signal(SIGPIPE, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGQUIT, SIG_DFL);
        if (in_fd != STDIN_FILENO)
            dup2(in_fd, STDIN_FILENO);
        if (out_fd != STDOUT_FILENO)
            dup2(out_fd, STDOUT_FILENO);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int wait_for(pid_t pid)
{
    int status;

    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return status;
}

/*
 * Run cmd with stdin from in_fd and collect its standard output (at most
 * FILTER_OUTPUT_MAX bytes) in out.  Returns 0 when it exited 0, else -1
 * with a sentence in why.
 */
static unsigned render_timeout(void)
{
    const char *v = getenv("MAIL_RENDER_TIMEOUT");
    char *end;
    unsigned long n;

    if (!v || !*v)
        return RENDER_TIMEOUT;
    n = strtoul(v, &end, 10);
    return *end || n == 0 || n > 3600 ? RENDER_TIMEOUT : (unsigned)n;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int run_filter(const char *cmd, int in_fd, struct mail_buf *out,
                      char *why, size_t whysize, bool *timed_out)
{
    int fds[2], status;
    char chunk[16384];
    bool too_big = false;
    unsigned limit = render_timeout();
    int64_t deadline = now_ms() + (int64_t)limit * 1000;
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC) < 0) {
        snprintf(why, whysize, "pipe: %s", strerror(errno));
        return -1;
    }
    pid = spawn(cmd, in_fd, fds[1]);
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        snprintf(why, whysize, "fork: %s", strerror(errno));
        return -1;
    }
    setpgid(pid, pid);  /* also here: no race with the child's own */
    *timed_out = false;
    for (;;) {
        struct pollfd pfd = { fds[0], POLLIN, 0 };
        int64_t left = deadline - now_ms();
        int pr = left > 0 ? poll(&pfd, 1, (int)left) : 0;
        ssize_t n;

        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0) {
            *timed_out = true;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            break;
        }
        n = read(fds[0], chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (out->len + (size_t)n > FILTER_OUTPUT_MAX ||
            mail_buf_add(out, chunk, (size_t)n) < 0) {
            too_big = true;
            break;
        }
    }
    close(fds[0]);     /* a viewer still writing gets SIGPIPE */
    /* One that closed its output and goes on running is bounded too. */
    status = -1;
    while (!*timed_out) {
        pid_t w = waitpid(pid, &status, WNOHANG);

        if (w == pid || (w < 0 && errno != EINTR))
            break;
        if (w == 0 && now_ms() >= deadline) {
            *timed_out = true;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            break;
        }
        if (w == 0)
            poll(NULL, 0, 10);
    }
    if (*timed_out)
        status = wait_for(pid);
    if (*timed_out) {
        snprintf(why, whysize, "still running after %u s: killed", limit);
        return -1;
    }
    if (too_big) {
        snprintf(why, whysize, "printed more than %zu MiB",
                 FILTER_OUTPUT_MAX >> 20);
        return -1;
    }
    if (status < 0 || !WIFEXITED(status)) {
        snprintf(why, whysize, "killed by signal %d",
                 status >= 0 && WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        return -1;
    }
    if (WEXITSTATUS(status) != 0) {
        snprintf(why, whysize, WEXITSTATUS(status) == 127 ?
                 "exit status 127 (command not found?)" : "exit status %d",
                 WEXITSTATUS(status));
        return -1;
    }
    return 0;
}

/* The account's html-command, looked up once.  Without -C or -a a
 * missing or broken config just means "none": reading a message file
 * needs no config. */
static const char *html_command(struct reader *r)
{
    struct cmd_ctx *ctx = r->ctx;
    struct mail_account *acct = NULL;
    struct mail_error err;

    if (r->acct_checked)
        return r->html_cmd;
    r->acct_checked = true;
    mail_error_clear(&err);
    if (!ctx->cfg_loaded) {
        if (mail_config_load(&ctx->cfg, ctx->config_path, &err) < 0)
            return NULL;
        ctx->cfg_loaded = true;
    }
    if (mail_config_select(&ctx->cfg, ctx->account_name, &ctx->ov, &acct,
                           &err) == 0 && acct->html_command &&
        *acct->html_command)
        r->html_cmd = acct->html_command;
    return r->html_cmd;
}

/* ---- mailcap (RFC 1524) ------------------------------------------------ */

/* Split a mailcap entry on unescaped ';' in place; "\;" becomes ';'.
 * Fields are trimmed.  Returns how many. */
static size_t mailcap_fields(char *line, char **fields, size_t max)
{
    size_t n = 0;
    char *w = line, *start = line;

    for (char *p = line;; p++) {
        if (*p == '\\' && (p[1] == ';' || p[1] == '\\') && p[1]) {
            *w++ = p[1] == ';' ? ';' : '\\';
            if (p[1] != ';')
                *w++ = '\\';
            p++;
            continue;
        }
        if (*p == ';' || !*p) {
            bool end = !*p;
            char *f = start, *e = w;

            *w = '\0';
            while (*f == ' ' || *f == '\t')
                f++;
            while (e > f && (e[-1] == ' ' || e[-1] == '\t' ||
                             e[-1] == '\n' || e[-1] == '\r'))
                *--e = '\0';
            if (n < max)
                fields[n++] = f;
            if (end)
                break;
            w = p + 1;
            start = w;
            continue;
        }
        *w++ = *p;
    }
    return n;
}

/*
 * Expand a mailcap command: %s the file (its name is shell-safe by
 * construction, see make_temp), %t the type, %{charset} utf-8 (the file
 * is written in UTF-8), other %{...} empty, %% and \% a '%'.  *uses_file
 * tells whether %s was there (else the file goes to standard input).
 */
static char *mailcap_expand(const char *tmpl, const char *file,
                            bool *uses_file)
{
    struct mail_buf b = MAIL_BUF_INIT;

    *uses_file = false;
    for (const char *p = tmpl; *p; p++) {
        if (*p == '\\' && p[1] == '%') {
            mail_buf_addch(&b, '%');
            p++;
        } else if (*p != '%') {
            mail_buf_addch(&b, *p);
        } else if (p[1] == 's') {
            mail_buf_addstr(&b, file);
            *uses_file = true;
            p++;
        } else if (p[1] == 't') {
            mail_buf_addstr(&b, "text/html");
            p++;
        } else if (p[1] == '{') {
            const char *e = strchr(p, '}');

            if (!e)
                break;
            if (e - p == 9 && strncmp(p + 2, "charset", 7) == 0)
                mail_buf_addstr(&b, "utf-8");
            p = e;
        } else if (p[1] == '%') {
            mail_buf_addch(&b, '%');
            p++;
        } else {
            mail_buf_addch(&b, '%');
        }
    }
    return mail_buf_detach(&b);
}

/* Does the entry's test= command pass? */
static bool mailcap_test(const char *test)
{
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    bool uses_file;
    char *cmd = mailcap_expand(test, "/dev/null", &uses_file);
    pid_t pid;
    int status;

    if (null < 0 || !cmd) {
        if (null >= 0)
            close(null);
        free(cmd);
        return false;
    }
    pid = spawn(cmd, null, null);
    close(null);
    free(cmd);
    if (pid < 0)
        return false;
    status = wait_for(pid);
    return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static bool mailcap_type_matches(const char *type)
{
    return mail_strcasecmp(type, "text/html") == 0 ||
           mail_strcasecmp(type, "text/*") == 0 ||
           mail_strcasecmp(type, "text") == 0;
}

/* The command of the first text/html entry with copiousoutput (and a
 * test that passes) in one mailcap file, malloc'd, or NULL. */
static char *mailcap_file_lookup(const char *path)
{
    FILE *f = fopen(path, "re");
    struct mail_buf entry = MAIL_BUF_INIT;
    char *line = NULL, *found = NULL;
    size_t cap = 0;
    ssize_t n;

    if (!f)
        return NULL;
    while (!found && (n = getline(&line, &cap, f)) >= 0) {
        char *fields[64];
        size_t nf;
        bool copious = false;
        const char *test = NULL;

        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        /* A trailing backslash continues the entry on the next line. */
        if (n > 0 && line[n - 1] == '\\') {
            mail_buf_add(&entry, line, (size_t)n - 1);
            continue;
        }
        mail_buf_add(&entry, line, (size_t)n);
        if (!entry.data || entry.data[0] == '#' || !entry.len) {
            mail_buf_reset(&entry);
            continue;
        }
        nf = mailcap_fields(entry.data, fields, 64);
        for (size_t i = 2; i < nf; i++) {
            if (mail_strcasecmp(fields[i], "copiousoutput") == 0)
                copious = true;
            else if (mail_strncasecmp(fields[i], "test=", 5) == 0)
                test = fields[i] + 5;
        }
        if (nf >= 2 && *fields[1] && copious &&
            mailcap_type_matches(fields[0]) && (!test || mailcap_test(test)))
            found = strdup(fields[1]);
        mail_buf_reset(&entry);
    }
    free(line);
    mail_buf_release(&entry);
    fclose(f);
    return found;
}

/* $MAILCAPS (RFC 1524: a colon-separated path), else ~/.mailcap then
 * /etc/mailcap, as mutt reads them. */
static const char *mailcap_command(struct reader *r)
{
    const char *list = getenv("MAILCAPS"), *home = getenv("HOME");
    char *copy, *save = NULL;
    struct mail_buf def = MAIL_BUF_INIT;

    if (r->mailcap_checked)
        return r->mailcap_cmd;
    r->mailcap_checked = true;
    if (!list) {
        if (home && *home)
            mail_buf_printf(&def, "%s/.mailcap:", home);
        mail_buf_addstr(&def, "/etc/mailcap");
        list = def.data;
    }
    copy = list ? strdup(list) : NULL;
    for (char *p = copy ? strtok_r(copy, ":", &save) : NULL;
         p && !r->mailcap_cmd; p = strtok_r(NULL, ":", &save))
        r->mailcap_cmd = mailcap_file_lookup(p);
    free(copy);
    mail_buf_release(&def);
    return r->mailcap_cmd;
}

/* ---- the readable text --------------------------------------------------- */

static int html_sink(void *ctx, const char *data, size_t len)
{
    return mail_html_push(ctx, data, len);
}

/*
 * Render an HTML part with an outside program: the html-command with the
 * HTML on its standard input, or a mailcap entry (the file as %s, or on
 * standard input).  Returns 0 when it worked and its output went to t; -1
 * after saying why on stderr (the caller then renders it itself).
 */
static int render_external(struct msg *mm, const struct mail_part *p,
                           struct text_out *t, const char *cmd, bool mailcap)
{
    char path[512], why[256];
    struct mail_buf out = MAIL_BUF_INIT, text = MAIL_BUF_INIT;
    struct mail_error err;
    char *expanded = NULL;
    bool uses_file = false, timed_out = false;
    int fd, in = -1, rc = -1;

    mail_error_clear(&err);
    fd = make_temp(path, sizeof path);
    if (fd < 0) {
        cmd_failf(0, "cannot render HTML: temporary file: %s",
                  strerror(errno));
        return -1;
    }
    if (mail_part_decode_fd(p, mm->fd, MAIL_DECODE_TEXT, fd_sink, &fd,
                            &err) < 0) {
        cmd_failf(0, "cannot render HTML: %s", err.msg);
        goto out;
    }
    if (mailcap) {
        expanded = mailcap_expand(cmd, path, &uses_file);
        if (!expanded)
            goto out;
        cmd = expanded;
    }
    if (uses_file) {
        in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    } else {
        /* The viewer reads the file on its stdin: the name can go now. */
        unlink(path);
        path[0] = '\0';
        lseek(fd, 0, SEEK_SET);
        in = fd;
    }
    if (in < 0)
        goto out;
    mm->external_runs++;
    if (run_filter(cmd, in, &out, why, sizeof why, &timed_out) < 0) {
        /* One viewer that hangs must not cost a minute per part. */
        if (timed_out)
            mm->external_off = true;
        if (mailcap)
            cmd_failf(0, "mailcap viewer for text/html failed (%s); "
                      "showing the built-in rendering", why);
        else
            cmd_failf(0, "html-command failed (%s); showing the built-in "
                      "rendering", why);
        goto out;
    }
    /* Viewers print in the locale's charset, which we take to be UTF-8;
     * anything else is read as windows-1252 rather than lost. */
    mail_utf8_sanitize(&text, out.data ? out.data : "", out.len);
    text_sink(t, text.data ? text.data : "", text.len);
    rc = 0;
out:
    if (in >= 0 && in != fd)
        close(in);
    close(fd);
    if (path[0])
        unlink(path);
    free(expanded);
    mail_buf_release(&out);
    mail_buf_release(&text);
    return rc;
}

static int render_html(struct reader *r, struct msg *mm,
                       const struct mail_part *p, struct text_out *t)
{
    const char *cmd = html_command(r);
    struct mail_error err;
    struct mail_html *h;
    bool external = !mm->external_off &&
                    mm->external_runs < EXTERNAL_RENDER_MAX;
    bool mailcap = false;
    int rc;

    if (!cmd && (cmd = mailcap_command(r)) != NULL)
        mailcap = true;
    if (cmd && external && render_external(mm, p, t, cmd, mailcap) == 0)
        return 0;
    if (cmd && !external)
        mm->builtin_html++;
    if (t->failed)
        return -1;
    mail_error_clear(&err);
    h = mail_html_new(text_sink, t, &err);
    if (!h)
        return cmd_fail(&err);
    rc = mail_part_decode_fd(p, mm->fd, MAIL_DECODE_TEXT, html_sink, h, &err);
    if (mail_html_finish(h) < 0 || t->failed)
        rc = -1;
    mail_html_free(h);
    if (rc < 0 && !t->failed)
        return cmd_failf(EX_IOERR, "message %s: %s", mm->label, err.msg);
    return rc < 0 ? -1 : 0;
}

/*
 * The readable text of a message into t: text/plain decoded and in UTF-8,
 * HTML rendered, several parts separated by a blank line.  Returns 0, -1
 * when the output failed (t->failed), or an exit code.
 */
static int write_text(struct reader *r, struct msg *mm, struct text_out *t)
{
    struct mail_readable *parts;
    struct mail_error err;
    size_t n = mail_mime_readable(mm->mime, NULL, 0);
    int rc = 0;

    if (n == 0)
        return 0;
    parts = calloc(n, sizeof *parts);
    if (!parts)
        return cmd_failf(EX_SOFTWARE, "out of memory");
    n = mail_mime_readable(mm->mime, parts, n);
    mail_error_clear(&err);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (t->last) {
            if (t->last != '\n')
                text_puts(t, "\n");
            text_puts(t, "\n");
        }
        if (parts[i].html) {
            rc = render_html(r, mm, parts[i].part, t);
        } else if (mail_part_decode_fd(parts[i].part, mm->fd,
                                       MAIL_DECODE_TEXT, text_sink, t,
                                       &err) < 0) {
            rc = t->failed ? -1 : cmd_failf(EX_IOERR, "message %s: %s",
                                            mm->label, err.msg);
        }
    }
    free(parts);
    if (rc == 0 && text_flush(t) < 0)
        rc = -1;
    if (mm->builtin_html)
        cmd_failf(0, "message %s: %zu more HTML part%s shown with the "
                  "built-in renderer (%s)", mm->label, mm->builtin_html,
                  mm->builtin_html == 1 ? "" : "s", mm->external_off ?
                  "the outside viewer timed out" : "at most "
                  MAIL_STR(EXTERNAL_RENDER_MAX) " per message go through "
                  "an outside viewer");
    return rc;
}

/* ---- JSON -------------------------------------------------------------- */

static void json_addresses(FILE *f, const char *value)
{
    struct mail_addrlist l = MAIL_ADDRLIST_INIT;
    struct mail_error err;
    bool first = true;

    if (!value) {
        fputs("null", f);
        return;
    }
    fputc('[', f);
    if (mail_addrlist_parse(&l, value, &err) == 0) {
        for (size_t i = 0; i < l.n; i++) {
            const struct mail_address *a = &l.v[i];

            if (!(a->name && *a->name) && !*a->addr)
                continue;
            fputs(first ? "{\"name\":" : ",{\"name\":", f);
            json_str(f, a->name && *a->name ? a->name : NULL);
            fputs(",\"address\":", f);
            json_str(f, a->addr);
            fputc('}', f);
            first = false;
        }
    }
    fputc(']', f);
    mail_addrlist_release(&l);
}

/* The members of an envelope object, without the braces, so that read
 * can add its own. */
static void json_envelope_members(FILE *f, const struct mail_envelope *e,
                                  size_t number, const char *folder)
{
    static const struct { unsigned bit; const char *name; } words[] = {
        { MAIL_FLAG_SEEN, "seen" }, { MAIL_FLAG_ANSWERED, "answered" },
        { MAIL_FLAG_FLAGGED, "flagged" }, { MAIL_FLAG_DRAFT, "draft" },
        { MAIL_FLAG_DELETED, "deleted" },
    };
    char date[MAIL_DATE_MAX];
    struct mail_buf s = MAIL_BUF_INIT;
    bool first = true;

    if (number)
        fprintf(f, "\"id\":%zu,\"folder\":", number);
    else
        fputs("\"id\":null,\"folder\":", f);
    json_str(f, folder);
    if (e->path) {
        fputs(",\"path\":", f);
        json_str(f, e->path);
    } else if (e->uid) {
        fprintf(f, ",\"uid\":%u", (unsigned)e->uid);
    } else {
        fputs(",\"path\":null", f);
    }
    fputs(",\"flags\":[", f);
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (e->flags & words[i].bit) {
            fprintf(f, "%s\"%s\"", first ? "" : ",", words[i].name);
            first = false;
        }
    fputs("],\"date\":", f);
    if (e->has_date && mail_date_format_rfc3339(date, sizeof date, e->date,
                                                e->date_offset) > 0)
        json_str(f, date);
    else
        fputs("null", f);
    fputs(",\"from\":", f);
    json_addresses(f, e->from);
    fputs(",\"to\":", f);
    json_addresses(f, e->to);
    fputs(",\"cc\":", f);
    json_addresses(f, e->cc);
    fputs(",\"subject\":", f);
    if (e->subject) {
        mail_rfc2047_decode(&s, e->subject, strlen(e->subject));
        json_strn(f, s.data ? s.data : "", s.len);
    } else {
        fputs("null", f);
    }
    fputs(",\"message_id\":", f);
    if (e->message_id) {
        /* The first "<...>", as ls shows it. */
        const char *a = strchr(e->message_id, '<');
        const char *z = a ? strchr(a, '>') : NULL;
        const char *m = e->message_id;

        if (a && z) {
            json_strn(f, a, (size_t)(z - a + 1));
        } else {
            m += strspn(m, " \t");
            json_strn(f, m, strcspn(m, " \t"));
        }
    } else {
        fputs("null", f);
    }
    fprintf(f, ",\"size\":%llu,\"attachments\":%u",
            (unsigned long long)e->size, e->attachments);
    mail_buf_release(&s);
}

void cmd_json_envelope(FILE *f, const struct mail_envelope *e,
                       size_t number, const char *folder)
{
    fputc('{', f);
    json_envelope_members(f, e, number, folder);
    fputc('}', f);
}

static void json_parts(FILE *f, struct msg *mm)
{
    bool first = true;

    fputs(",\"parts\":[", f);
    for (const struct mail_part *p = mm->root; p; p = mail_part_next(p)) {
        if (mail_part_is_multipart(p))
            continue;
        fputs(first ? "{\"part\":" : ",{\"part\":", f);
        json_str(f, p->number);
        fputs(",\"type\":", f);
        json_str(f, p->type);
        fputs(",\"charset\":", f);
        json_str(f, p->charset);
        fputs(",\"filename\":", f);
        json_str(f, p->filename);
        fputs(",\"disposition\":", f);
        json_str(f, p->disposition);
        fprintf(f, ",\"size\":%llu}", (unsigned long long)part_size(p));
        first = false;
    }
    fputc(']', f);
}

/* ---- --save ------------------------------------------------------------ */

static const char *extension_for(const char *type)
{
    static const struct { const char *type, *ext; } t[] = {
        { "text/plain", ".txt" }, { "text/html", ".html" },
        { "text/calendar", ".ics" }, { "text/csv", ".csv" },
        { "text/x-vcard", ".vcf" }, { "text/vcard", ".vcf" },
        { "message/rfc822", ".eml" }, { "image/png", ".png" },
        { "image/jpeg", ".jpg" }, { "image/gif", ".gif" },
        { "image/webp", ".webp" }, { "image/svg+xml", ".svg" },
        { "application/pdf", ".pdf" }, { "application/zip", ".zip" },
        { "application/gzip", ".gz" }, { "application/json", ".json" },
        { "application/pgp-signature", ".asc" },
        { "application/pkcs7-signature", ".p7s" },
        { "audio/mpeg", ".mp3" }, { "video/mp4", ".mp4" },
    };

    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(t[i].type, type) == 0)
            return t[i].ext;
    return strncmp(type, "text/", 5) == 0 ? ".txt" : ".bin";
}

/* Characters that have no place in a file name: controls, and the ones
 * that reorder or hide text. */
static bool bad_name_char(uint32_t cp)
{
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) ||
           (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069) || cp == 0x61c || cp == 0xfeff ||
           cp == 0x2028 || cp == 0x2029;
}

/* The longest prefix of s[0..n) of at most max bytes that does not cut a
 * UTF-8 character. */
static size_t utf8_prefix(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;
    return max;
}

/*
 * A file name that is safe to create in DIR from a part's (untrusted)
 * name: the last path component (after '/' or '\'), controls and bidi
 * characters as '_', no leading dots, dashes or blanks (no "..", no
 * hidden files, no option look-alikes), not empty ("attachment-N" plus
 * an extension from the type), at most SAVE_NAME_MAX bytes with room for
 * a " (N)" counter, cut at a character boundary and keeping a short
 * extension.  stem and ext are malloc'd.
 */
static int safe_name(const struct mail_part *p, char **stem, char **ext)
{
    struct mail_buf b = MAIL_BUF_INIT;
    const char *name = p->filename ? p->filename : "", *base = name, *dot;
    size_t i, start, end, extlen = 0, len;

    for (const char *q = name; *q; q++)
        if (*q == '/' || *q == '\\')
            base = q + 1;
    len = strlen(base);
    for (i = 0; i < len;) {
        uint32_t cp;
        size_t n = mail_utf8_decode(base + i, len - i, &cp);

        if (n == 0) {
            mail_buf_addch(&b, '_');
            i++;
        } else {
            if (bad_name_char(cp))
                mail_buf_addch(&b, '_');
            else
                mail_buf_add(&b, base + i, n);
            i += n;
        }
    }
    start = 0;
    while (start < b.len && strchr(".- \t", b.data[start]))
        start++;
    end = b.len;
    while (end > start && (b.data[end - 1] == ' ' || b.data[end - 1] == '.'))
        end--;
    if (start == end) {
        char num[64];
        size_t k;

        mail_snprintf(num, sizeof num, "attachment-%s", p->number);
        for (k = 0; num[k]; k++)
            if (num[k] == '.')
                num[k] = '-';
        *stem = strdup(num);
        *ext = strdup(extension_for(p->type));
        mail_buf_release(&b);
        return *stem && *ext ? 0 : -1;
    }
    /* An extension: the last dot, not first, at most 16 bytes. */
    dot = memrchr(b.data + start, '.', end - start);
    if (dot && dot > b.data + start && (size_t)(b.data + end - dot) <= 16)
        extlen = (size_t)(b.data + end - dot);
    /* Room for " (9999)". */
    len = utf8_prefix(b.data + start, end - start - extlen,
                      SAVE_NAME_MAX - extlen - 7);
    *stem = strndup(b.data + start, len);
    *ext = strndup(b.data + end - extlen, extlen);
    mail_buf_release(&b);
    return *stem && *ext ? 0 : -1;
}

/* Create the file for a part in DIR, never replacing anything: O_EXCL,
 * and " (1)", " (2)"... before the extension while the name is taken.
 * Returns the fd and the name (malloc'd) or -1 with errno. */
static int create_unique(int dirfd, const char *stem, const char *ext,
                         char **name)
{
    for (unsigned k = 0; k < 10000; k++) {
        char *n;
        int fd;

        if (k == 0) {
            if (asprintf(&n, "%s%s", stem, ext) < 0)
                return -1;
        } else if (asprintf(&n, "%s (%u)%s", stem, k, ext) < 0) {
            return -1;
        }
        fd = openat(dirfd, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
                              O_CLOEXEC, 0666);
        if (fd >= 0) {
            *name = n;
            return fd;
        }
        free(n);
        if (errno != EEXIST)
            return -1;
    }
    errno = EEXIST;
    return -1;
}

static int save_part(struct reader *r, struct msg *mm,
                     const struct mail_part *p)
{
    struct mail_error err;
    char *stem = NULL, *ext = NULL, *name = NULL;
    int fd, rc = 0, saved_errno;

    mail_error_clear(&err);
    if (safe_name(p, &stem, &ext) < 0) {
        free(stem);
        free(ext);
        return cmd_failf(EX_SOFTWARE, "out of memory");
    }
    fd = create_unique(r->save_fd, stem, ext, &name);
    if (fd < 0) {
        rc = cmd_failf(EX_CANTCREAT, "%s/%s%s: %s", r->save_dir, stem, ext,
                       strerror(errno));
        goto out;
    }
    if (mail_part_decode_fd(p, mm->fd, 0, fd_sink, &fd, &err) < 0) {
        saved_errno = errno;
        /* A read error, or the write failed (a full disk). */
        if (strcmp(err.msg, "output failed") == 0)
            rc = cmd_failf(EX_IOERR, "%s/%s: %s", r->save_dir, name,
                           strerror(saved_errno));
        else
            rc = cmd_failf(EX_IOERR, "message %s: %s", mm->label, err.msg);
    }
    if (close(fd) < 0 && !rc)
        rc = cmd_failf(EX_IOERR, "%s/%s: %s", r->save_dir, name,
                       strerror(errno));
    if (rc) {
        /* No half-written attachment is left behind. */
        unlinkat(r->save_fd, name, 0);
        goto out;
    }
    put_safe_str(r, r->save_dir);
    if (r->save_dir[0] && r->save_dir[strlen(r->save_dir) - 1] != '/')
        fputc('/', stdout);
    put_safe_str(r, name);
    fputc('\n', stdout);
    out_ok(r);
out:
    free(stem);
    free(ext);
    free(name);
    return rc;
}

/* ---- one message ------------------------------------------------------- */

static int stdout_sink(void *ctx, const char *data, size_t len)
{
    struct reader *r = ctx;

    fwrite(data, 1, len, stdout);
    return out_ok(r) ? 0 : -1;
}

/* The message exactly: bytes to a file or pipe, terminal-safe text to a
 * terminal. */
static int show_raw(struct reader *r, struct msg *mm)
{
    struct text_out t;
    char buf[65536];
    off_t off = 0;
    int rc = 0;

    text_init(&t, r, NULL);
    for (;;) {
        ssize_t n = pread(mm->fd, buf, sizeof buf, off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = cmd_failf(EX_IOERR, "message %s: %s", mm->label,
                           strerror(errno));
            break;
        }
        if (n == 0)
            break;
        off += n;
        if ((r->tty ? text_sink(&t, buf, (size_t)n)
                    : stdout_sink(r, buf, (size_t)n)) < 0)
            break;
    }
    if (r->tty)
        text_flush(&t);
    text_release(&t);
    return rc;
}

static bool textual(const char *type)
{
    return strncmp(type, "text/", 5) == 0 || strncmp(type, "message/", 8) == 0;
}

static int show_part(struct reader *r, struct msg *mm)
{
    const struct mail_part *p = mail_mime_find(mm->mime, r->part);
    struct mail_error err;
    struct text_out t;
    int rc;

    if (!p)
        return cmd_failf(EX_NOINPUT, "message %s has no part %s (see the "
                         "list of parts in 'mail read --json')", mm->label,
                         r->part);
    if (r->tty && !textual(p->type))
        return cmd_failf(EX_USAGE, "part %s of message %s is %s: not "
                         "written to a terminal (redirect the output to a "
                         "file, or use --save DIR)", r->part, mm->label,
                         p->type);
    mail_error_clear(&err);
    if (!r->tty) {
        rc = mail_part_decode_fd(p, mm->fd, 0, stdout_sink, r, &err);
        if (rc < 0 && !r->out_closed)
            return cmd_failf(EX_IOERR, "message %s: %s", mm->label, err.msg);
        return 0;
    }
    /* Text for a person: in UTF-8 and terminal-safe. */
    text_init(&t, r, NULL);
    rc = mail_part_decode_fd(p, mm->fd, MAIL_DECODE_TEXT, text_sink, &t,
                             &err);
    if (rc == 0)
        text_flush(&t);
    text_release(&t);
    if (rc < 0 && !t.failed)
        return cmd_failf(EX_IOERR, "message %s: %s", mm->label, err.msg);
    return 0;
}

static int save_all(struct reader *r, struct msg *mm)
{
    int rc = 0;

    for (const struct mail_part *p = mm->root; p; p = mail_part_next(p))
        if (saved_part(p))
            set_rc(r, rc = save_part(r, mm, p));
    return rc;
}

static void separator(struct reader *r)
{
    static const char line[] =
        "========================================"
        "========================================";

    if (r->shown)
        printf("\n%.*s\n\n", 72, line);
}

static int show_human(struct reader *r, struct msg *mm)
{
    struct text_out t;
    int rc;

    separator(r);
    if (r->all_headers) {
        rc = print_all_headers(r, mm);
        if (rc)
            return rc;
    } else {
        print_headers(r, mm);
    }
    fputc('\n', stdout);
    if (!out_ok(r))
        return 0;
    text_init(&t, r, NULL);
    rc = write_text(r, mm, &t);
    if (rc == 0 && t.last && t.last != '\n')
        fputc('\n', stdout);
    text_release(&t);
    if (rc > 0)
        return rc;
    if (!r->out_closed)
        print_attachments(r, mm);
    out_ok(r);
    return 0;
}

static int show_json(struct reader *r, struct msg *mm)
{
    struct mail_buf text = MAIL_BUF_INIT;
    struct mail_envelope e = mm->env ? *mm->env : mm->file_env;
    struct text_out t;
    int rc;

    text_init(&t, r, &text);
    rc = write_text(r, mm, &t);
    text_release(&t);
    if (rc > 0) {
        mail_buf_release(&text);
        return rc;
    }
    if (t.failed) {
        mail_buf_release(&text);
        return cmd_failf(EX_SOFTWARE, "message %s: text too large",
                         mm->label);
    }
    e.attachments = count_saved(mm);
    fputs(r->shown ? ",\n  {" : "\n  {", stdout);
    json_envelope_members(stdout, &e, mm->number, mm->folder);
    fputs(",\"text\":", stdout);
    json_strn(stdout, text.data ? text.data : "", text.len);
    json_parts(stdout, mm);
    fputc('}', stdout);
    mail_buf_release(&text);
    out_ok(r);
    return 0;
}

/* Mark a folder message seen (not with --peek; not a bare file). */
static int mark_seen(struct reader *r, struct mail_folder *f,
                     struct mail_envelope *e)
{
    struct mail_error err;

    if (!f || !e || r->peek ||
        ((e->flags & MAIL_FLAG_SEEN) && !(e->flags & MAIL_FLAG_NEW)))
        return 0;
    mail_error_clear(&err);
    if (mail_folder_set_flags(f, e, MAIL_FLAG_SEEN, 0, &err) < 0)
        return cmd_fail(&err);
    return 0;
}

/* Build an envelope for a message file outside any folder. */
static void file_envelope(struct msg *mm, const char *path, uint64_t size)
{
    const struct mail_header *h = &mm->root->header;
    struct mail_envelope *e = &mm->file_env;
    const char *date = mail_header_get(h, "date");

    memset(e, 0, sizeof *e);
    e->path = (char *)path;
    e->size = size;
    e->has_date = date && mail_date_parse(date, &e->date,
                                          &e->date_offset) == 0;
    e->from = (char *)mail_header_get(h, "from");
    e->to = (char *)mail_header_get(h, "to");
    e->cc = (char *)mail_header_get(h, "cc");
    e->subject = (char *)mail_header_get(h, "subject");
    e->message_id = (char *)mail_header_get(h, "message-id");
}

/* Show one message read from mm->fd; f and e are its folder and
 * envelope, or NULL for a file. */
static int show_message(struct reader *r, struct msg *mm,
                        struct mail_folder *f, struct mail_envelope *e)
{
    struct mail_error err;
    int rc = 0;

    if (r->out_closed)
        return 0;
    mail_error_clear(&err);
    if (!r->raw) {
        if (lseek(mm->fd, 0, SEEK_SET) < 0 ||
            !(mm->mime = mail_mime_parse_fd(mm->fd, NULL, &err))) {
            if (!err.msg[0])
                mail_error_set(&err, MAIL_ERR_IO, "%s", strerror(errno));
            mail_error_prefix(&err, "message %s", mm->label);
            return cmd_fail(&err);
        }
        mm->root = mail_mime_root(mm->mime);
        if (!mm->root) {
            mail_mime_free(mm->mime);
            mm->mime = NULL;
            return cmd_failf(EX_DATAERR, "message %s: empty", mm->label);
        }
        if (!e) {
            struct stat st;

            file_envelope(mm, mm->label, fstat(mm->fd, &st) == 0 ?
                          (uint64_t)st.st_size : 0);
        }
    }
    /* JSON shows the flags as they are after reading: mark first. */
    if (r->json) {
        rc = mark_seen(r, f, e);
        set_rc(r, rc);
        rc = show_json(r, mm);
    } else if (r->raw) {
        rc = show_raw(r, mm);
    } else if (r->part) {
        rc = show_part(r, mm);
    } else if (r->save_dir) {
        rc = save_all(r, mm);
    } else {
        rc = show_human(r, mm);
    }
    if (!r->json && rc == 0 && !r->out_closed)
        rc = mark_seen(r, f, e);
    /* Counted when something was written: separators and JSON commas
     * come between shown messages only. */
    if (rc == 0 || !r->json)
        r->shown++;
    mail_mime_free(mm->mime);
    mm->mime = NULL;
    mm->root = NULL;
    return rc;
}

/* ---- where messages come from ------------------------------------------ */

/* Copy what fd reads (a pipe, standard input) to an unlinked temporary
 * file, which can be re-read at any offset. */
static int spool(int fd, const char *label)
{
    char path[512], buf[65536];
    int out = make_temp(path, sizeof path);

    if (out < 0) {
        cmd_failf(0, "temporary file: %s", strerror(errno));
        return -1;
    }
    unlink(path);
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || (n > 0 && mail_write_all(out, buf, (size_t)n) < 0)) {
            cmd_failf(0, "%s: %s", label, strerror(errno));
            close(out);
            return -1;
        }
        if (n == 0)
            return out;
    }
}

/* A message file given by path, outside any Maildir ("-": standard
 * input). */
static int read_file(struct reader *r, const char *path)
{
    struct msg mm = { .label = path, .fd = -1 };
    struct stat st;
    int rc, fd;

    if (strcmp(path, "-") == 0) {
        mm.label = "(standard input)";
        fd = spool(STDIN_FILENO, mm.label);
        if (fd < 0)
            return EX_IOERR;
    } else {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return cmd_failf(errno == ENOENT ? EX_NOINPUT : EX_IOERR,
                             "%s: %s", path, strerror(errno));
        if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
            close(fd);
            return cmd_failf(EX_NOINPUT, "%s: is a folder, not a message "
                             "(use 'mail ls %s')", path, path);
        }
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
            /* A pipe (mail read <(...)): copy it first. */
            int copy = spool(fd, path);

            close(fd);
            if (copy < 0)
                return EX_IOERR;
            fd = copy;
        }
    }
    mm.fd = fd;
    rc = show_message(r, &mm, NULL, NULL);
    close(fd);
    return rc;
}

/* Show the selected messages of an open folder; closes it. */
static int read_folder(struct reader *r, struct mail_folder *f,
                       const char *display, int argc, char **argv)
{
    struct cmd_selection sel;
    struct mail_error err;
    char label[64];
    int rc;

    mail_error_clear(&err);
    rc = cmd_select_messages(r->ctx, f, argc, argv, &sel);
    if (rc) {
        mail_folder_close(f, &err);
        return rc;
    }
    for (size_t i = 0; i < sel.n && !r->out_closed; i++) {
        struct mail_envelope *e = &sel.all.v[sel.idx[i]];
        struct msg mm = { .env = e, .number = sel.number[i],
                          .folder = display, .fd = -1 };

        if (sel.number[i])
            snprintf(label, sizeof label, "%zu", sel.number[i]);
        mm.label = sel.number[i] ? label : e->path ? e->path : e->key;
        mail_error_clear(&err);
        if (mail_folder_message_fd(f, e, &mm.fd, &err) < 0) {
            mail_error_prefix(&err, "message %s", mm.label);
            set_rc(r, cmd_fail(&err));
            continue;
        }
        set_rc(r, show_message(r, &mm, f, e));
        close(mm.fd);
    }
    /* Flags changed in an mbox are written here (and the listing's
     * numbers kept). */
    set_rc(r, cmd_folder_done(f, &sel.all, NULL));
    cmd_selection_release(&sel);
    return 0;
}

/* Is a MSG argument a file path rather than a number, range, uid: or
 * <message-id>?  Anything with a '/', "-", or a file that exists and
 * does not read as a listing number. */
static bool path_arg(const char *a)
{
    struct stat st;

    if (strchr(a, '/') || strcmp(a, "-") == 0)
        return true;
    if (a[0] == '<' || strncmp(a, "uid:", 4) == 0 ||
        strspn(a, "0123456789,-") == strlen(a))
        return false;
    return stat(a, &st) == 0 && !S_ISDIR(st.st_mode);
}

/* MSG arguments that are all paths: each is read in its Maildir when it
 * is in one (so that it can be marked seen), else as a plain file. */
static int read_paths(struct reader *r, int argc, char **argv)
{
    int mode = r->peek ? MAIL_FOLDER_RDONLY : MAIL_FOLDER_RDWR;

    for (int i = 0; i < argc && !r->out_closed; i++) {
        struct mail_folder *f = NULL;
        char *arg = argv[i], *dotted = NULL;
        int rc;

        if (strcmp(arg, "-") != 0) {
            if (!strchr(arg, '/')) {
                /* cmd_folder_from_paths takes paths with a '/'. */
                if (asprintf(&dotted, "./%s", arg) < 0)
                    return cmd_failf(EX_SOFTWARE, "out of memory");
                arg = dotted;
            }
            rc = cmd_folder_from_paths(r->ctx, 1, &arg, mode, &f);
            if (rc > 1) {
                free(dotted);
                set_rc(r, rc);
                continue;
            }
            if (rc == 1) {
                set_rc(r, read_folder(r, f, mail_folder_path(f), 1, &arg));
                free(dotted);
                continue;
            }
        }
        free(dotted);
        set_rc(r, read_file(r, argv[i]));
    }
    return 0;
}

static int parse_options(struct reader *r, int argc, char **argv)
{
    static const struct option longopts[] = {
        CMD_COMMON_LONG,
        { "raw", no_argument, NULL, OPT_RAW },
        { "peek", no_argument, NULL, OPT_PEEK },
        { "headers", required_argument, NULL, OPT_HEADERS },
        { "part", required_argument, NULL, OPT_PART },
        { "save", required_argument, NULL, OPT_SAVE },
        { "json", no_argument, NULL, OPT_JSON },
        { "folder", required_argument, NULL, 'f' },
        { NULL, 0, NULL, 0 },
    };
    int opt, rc, modes;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, CMD_COMMON_SHORT "f:", longopts,
                              NULL)) != -1) {
        switch (opt) {
        case OPT_RAW:
            r->raw = true;
            break;
        case OPT_PEEK:
            r->peek = true;
            break;
        case OPT_HEADERS:
            if (strcmp(optarg, "all") != 0)
                return cmd_usage_error("read", "--headers takes 'all', not "
                                       "'%s'", optarg);
            r->all_headers = true;
            break;
        case OPT_PART:
            if (!*optarg || strspn(optarg, "0123456789.") != strlen(optarg))
                return cmd_usage_error("read", "--part takes a part number "
                                       "such as 2 or 1.2, not '%s'", optarg);
            r->part = optarg;
            break;
        case OPT_SAVE:
            r->save_dir = optarg;
            break;
        case OPT_JSON:
            r->json = true;
            break;
        case 'f':
            r->folder = optarg;
            break;
        case '?':
        case ':':
            if (optopt && optopt < 256)
                return cmd_usage_error("read", "unknown or incomplete "
                                       "option '-%c'", optopt);
            return cmd_usage_error("read", "unknown or incomplete option "
                                   "'%s'", argv[optind - 1]);
        default:
            rc = cmd_common_option(r->ctx, "read", opt, optarg);
            if (rc < 0)
                return -1;
            if (rc > 1)
                return rc;
            break;
        }
    }
    modes = r->raw + !!r->part + !!r->save_dir + r->json;
    if (modes > 1)
        return cmd_usage_error("read", "--raw, --part, --save and --json "
                               "do not go together");
    if (r->all_headers && modes)
        return cmd_usage_error("read", "--headers is for the text shown, "
                               "not with --raw, --part, --save or --json");
    if (optind >= argc)
        return cmd_usage_error("read", "which message? (a number from "
                               "'mail ls', a file, or <message-id>)");
    return 0;
}

int cmd_read(struct cmd_ctx *ctx, int argc, char **argv)
{
    struct reader r = { .ctx = ctx, .save_fd = -1 };
    struct mail_folder *f = NULL;
    const char *display = NULL;
    int rc, mode;
    bool paths = true;

    rc = parse_options(&r, argc, argv);
    if (rc)
        return rc < 0 ? 0 : rc;
    argc -= optind;
    argv += optind;
    mode = r.peek ? MAIL_FOLDER_RDONLY : MAIL_FOLDER_RDWR;

    if (r.save_dir) {
        r.save_fd = open(r.save_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (r.save_fd < 0)
            return cmd_failf(EX_CANTCREAT, "%s: %s", r.save_dir,
                             errno == ENOTDIR ? "not a directory"
                                              : strerror(errno));
    }
    /* An explicit -C or -a must be right even when no folder needs it. */
    if (ctx->config_path || ctx->account_name) {
        struct mail_account *acct;

        rc = cmd_load_account(ctx, &acct);
        if (rc)
            goto out;
    }
    for (int i = 0; i < argc; i++)
        paths = paths && path_arg(argv[i]);

    r.tty = isatty(STDOUT_FILENO);
    r.color = !r.json && !r.raw && cmd_use_color(ctx, stdout);
    /* A pager for what a person reads page by page. */
    if (r.tty && !r.json && !r.part && !r.save_dir)
        pager_start();
    if (r.json)
        fputc('[', stdout);

    if (r.folder || !paths) {
        rc = cmd_open_folder(ctx, r.folder, mode, &f, &display);
        if (rc == 0)
            rc = read_folder(&r, f, display, argc, argv);
    } else {
        rc = read_paths(&r, argc, argv);
    }
    set_rc(&r, rc);

    if (r.json)
        fputs(r.shown ? "\n]\n" : "]\n", stdout);
    fflush(stdout);
    out_ok(&r);
    pager_finish();
    if (r.out_errno) {
        set_rc(&r, cmd_failf(EX_IOERR, "standard output: %s",
                             strerror(r.out_errno)));
    }
    /* Output that stopped because its reader went away is no failure,
     * and run_command need not look at it again. */
    if (r.out_closed)
        clearerr(stdout);
    rc = r.rc;
out:
    if (r.save_fd >= 0)
        close(r.save_fd);
    free(r.mailcap_cmd);
    return rc;
}
