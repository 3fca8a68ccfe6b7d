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
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmd.h"
#include "json.h"
#include "mail/fsutil.h"
#include "pager.h"
#include "select.h"
#include "mail/mime.h"
#include "mail/reading.h"
#include "mail/render.h"
#include "mail/termsafe.h"


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
    struct mail_render *render; /* made when first needed */
    char *mailcaps;             /* its mailcap search path */

    size_t shown;               /* messages written (separators, JSON) */
    bool out_closed;            /* stdout failed: stop writing */
    int out_errno;              /* ... with this, unless it was EPIPE */
    int rc;                     /* the first failure's exit code */
};

/* One message being shown. */
struct msg {
    const char *label;          /* for error messages: "3", a path */
    /* The message read (fd from offset 0; with an IMAP reading copy the
     * sizes of the bodies it left out) and, unless --raw, parsed. */
    struct mail_reading m;
    const struct mail_part *root;
    struct mail_envelope *env;  /* the folder's, or NULL for a file */
    struct mail_envelope file_env;
    size_t number;              /* listing number, 0 if none */
    const char *folder;         /* display name, NULL for a file */
    struct reader *r;
    int save_rc;                /* --save: the last part's exit code */
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

/* ---- rendering --------------------------------------------------------- */

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
        if (mail_config_load(&ctx->cfg, ctx->config_path, &ctx->paths, &err) < 0)
            return NULL;
        ctx->cfg_loaded = true;
    }
    if (mail_config_select(&ctx->cfg, ctx->account_name, &ctx->ov, &acct,
                           &err) == 0 && acct->html_command &&
        *acct->html_command)
        r->html_cmd = acct->html_command;
    return r->html_cmd;
}

static void render_warn(void *ctx, const char *msg)
{
    (void)ctx;
    cmd_failf(0, "%s", msg);
}

/* $MAIL_RENDER_TIMEOUT (seconds, for tests), else the default. */
static unsigned render_timeout(void)
{
    const char *v = getenv("MAIL_RENDER_TIMEOUT");
    char *end;
    unsigned long n;

    if (!v || !*v)
        return 0;
    n = strtoul(v, &end, 10);
    return *end || n == 0 || n > 3600 ? 0 : (unsigned)n;
}

/* The renderer, made once: the account's html-command, the mailcap files
 * ($MAILCAPS, else ~/.mailcap then /etc/mailcap, as mutt reads them). */
static struct mail_render *renderer(struct reader *r)
{
    struct mail_render_opts o;

    if (r->render)
        return r->render;
    /* Read when the first HTML part is rendered: kept for as long as the
     * renderer. */
    r->mailcaps = mail_render_mailcap_path(getenv("MAILCAPS"),
                                           getenv("HOME"));
    memset(&o, 0, sizeof o);
    o.html_command = html_command(r);
    o.mailcaps = r->mailcaps;
    o.timeout = render_timeout();
    o.tmpdir = getenv("TMPDIR");
    o.color = r->color;
    o.warn = render_warn;
    r->render = mail_render_new(&o);
    return r->render;
}

/* ---- JSON -------------------------------------------------------------- */

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
        fprintf(f, ",\"size\":%llu}", 
                (unsigned long long)mail_render_part_size_in(&mm->m.sizes, p));
        first = false;
    }
    fputc(']', f);
}

/* ---- --save ------------------------------------------------------------ */

/* Each part --save wrote: its path on stdout; or why not. */
static int saved(void *ctx, const struct mail_part *p, int rc,
                 const char *name, const struct mail_error *err)
{
    struct msg *mm = ctx;
    struct reader *r = mm->r;

    (void)p;
    if (rc == -2)
        rc = cmd_failf(EX_IOERR, "message %s: %s", mm->label, err->msg);
    else if (rc < 0)
        rc = cmd_fail(err);
    set_rc(r, mm->save_rc = rc);
    if (rc)
        return -1;
    put_safe_str(r, r->save_dir);
    if (r->save_dir[0] && r->save_dir[strlen(r->save_dir) - 1] != '/')
        fputc('/', stdout);
    put_safe_str(r, name);
    fputc('\n', stdout);
    out_ok(r);
    return 0;
}

/* ---- one message ------------------------------------------------------- */

/* A sink to stdout.  When it fails, r->out_closed says so: the output
 * ends (quietly for EPIPE; main reports r->out_errno once). */
static int stdout_sink(void *ctx, const char *data, size_t len,
                       struct mail_error *err)
{
    struct reader *r = ctx;

    fwrite(data, 1, len, stdout);
    if (out_ok(r))
        return 0;
    return mail_error_set(err, MAIL_ERR_IO, "standard output: %s",
                          strerror(r->out_errno ? r->out_errno : EPIPE));
}

/* The message exactly: bytes to a file or pipe, terminal-safe text to a
 * terminal.  A failed write to stdout is r->out_closed. */
static int show_raw(struct reader *r, struct msg *mm)
{
    struct mail_error err;

    if (mail_render_write_raw(mm->m.fd, r->tty, stdout_sink, r, &err) == -2)
        return cmd_failf(EX_IOERR, "message %s: %s", mm->label, err.msg);
    return 0;
}

/* One part decoded: the bytes to a file or pipe, text to a terminal. */
static int show_part(struct reader *r, struct msg *mm)
{
    struct mail_error err;
    const struct mail_part *p = mail_reading_part(&mm->m, r->part, mm->label,
                                                  &err);

    if (!p)
        return cmd_failf(EX_NOINPUT, "%s (see the list of parts in 'mail "
                         "read --json')", err.msg);
    if (r->tty && !mail_render_part_textual(p))
        return cmd_failf(EX_USAGE, "part %s of message %s is %s: not "
                         "written to a terminal (redirect the output to a "
                         "file, or use --save DIR)", r->part, mm->label,
                         p->type);
    if (mail_render_write_part(mm->m.fd, p, r->tty, stdout_sink, r, &err) < 0 &&
        !r->out_closed)
        return cmd_failf(EX_IOERR, "message %s: %s", mm->label, err.msg);
    return 0;
}

static void separator(struct reader *r)
{
    static const char line[] =
        "========================================"
        "========================================";

    if (r->shown)
        printf("\n%.*s\n\n", 72, line);
}

/* A library failure while rendering mm: exit code, message said. */
static int render_fail(struct msg *mm, const struct mail_error *err)
{
    if (err->kind == MAIL_ERR_INTERNAL)
        return cmd_fail(err);
    return cmd_failf(EX_IOERR, "message %s: %s", mm->label, err->msg);
}

static int show_human(struct reader *r, struct msg *mm)
{
    struct mail_render_msg rm = { .fd = mm->m.fd, .mime = mm->m.mime,
                                  .label = mm->label };
    struct mail_render *ren = renderer(r);
    struct mail_error err;

    if (!ren)
        return cmd_failf(EX_SOFTWARE, "out of memory");
    separator(r);
    /* A failed write to stdout ends the output (r->out_closed). */
    if (mail_render_message(ren, &rm, r->all_headers, &mm->m.sizes, stdout_sink,
                            r, &err) < 0 && !r->out_closed)
        return render_fail(mm, &err);
    out_ok(r);
    return 0;
}

static int show_json(struct reader *r, struct msg *mm)
{
    struct mail_render_msg rm = { .fd = mm->m.fd, .mime = mm->m.mime,
                                  .label = mm->label };
    struct mail_render *ren = renderer(r);
    struct mail_buf text = MAIL_BUF_INIT;
    struct mail_envelope e = mm->env ? *mm->env : mm->file_env;
    struct mail_error err;

    if (!ren)
        return cmd_failf(EX_SOFTWARE, "out of memory");
    if (mail_render_text(ren, &rm, mail_sink_buf, &text, NULL, &err) < 0) {
        mail_buf_release(&text);
        return render_fail(mm, &err);
    }
    e.attachments = mail_render_count_saved(mm->root);
    fputs(r->shown ? ",\n  {" : "\n  {", stdout);
    cmd_json_envelope_members(stdout, &e, mm->number, mm->folder);
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

    if (!f || !e || r->peek)
        return 0;
    mail_error_clear(&err);
    if (mail_reading_mark_seen(f, e, &err) < 0)
        return cmd_fail(&err);
    return 0;
}

/* Show one message read into mm->m (parsed unless --raw); f and e are
 * its folder and envelope, or NULL for a file. */
static int show_message(struct reader *r, struct msg *mm,
                        struct mail_folder *f, struct mail_envelope *e)
{
    struct mail_error err;
    int rc = 0;

    if (r->out_closed)
        return 0;
    mail_error_clear(&err);
    if (!r->raw) {
        mm->root = mail_mime_root(mm->m.mime);
        if (!e)
            mail_reading_file_envelope(&mm->m, mm->label, &mm->file_env);
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
        mm->r = r;
        mail_render_save_all(r->save_fd, r->save_dir, mm->m.fd, mm->root,
                             saved, mm);
        rc = mm->save_rc;       /* the last part's */
    } else {
        rc = show_human(r, mm);
    }
    if (!r->json && rc == 0 && !r->out_closed)
        rc = mark_seen(r, f, e);
    /* Counted when something was written: separators and JSON commas
     * come between shown messages only. */
    if (rc == 0 || !r->json)
        r->shown++;
    return rc;
}

/* ---- where messages come from ------------------------------------------ */

/* A message file given by path, outside any Maildir ("-": standard
 * input). */
static int read_file(struct reader *r, const char *path)
{
    struct msg mm = { .label = path, .m = MAIL_READING_INIT };
    struct mail_error err;
    int rc;

    if (strcmp(path, "-") == 0)
        mm.label = "(standard input)";
    mail_error_clear(&err);
    rc = mail_reading_open_file(path, mm.label, getenv("TMPDIR"), !r->raw,
                                &mm.m, &err);
    if (rc < 0)
        return cmd_fail(&err);
    if (rc == 1)
        return cmd_failf(EX_NOINPUT, "%s: is a folder, not a message (use "
                         "'mail ls %s')", path, path);
    rc = show_message(r, &mm, NULL, NULL);
    mail_reading_release(&mm.m);
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
                          .folder = display, .m = MAIL_READING_INIT };

        if (sel.number[i])
            snprintf(label, sizeof label, "%zu", sel.number[i]);
        mm.label = sel.number[i] ? label : e->path ? e->path : e->key;
        mail_error_clear(&err);
        /* Only what is shown: an IMAP message's other parts stay on the
         * server. */
        if (mail_reading_open(f, e, r->raw ? MAIL_FOLDER_READ_ALL :
                              r->part ? MAIL_FOLDER_READ_PART :
                              r->save_dir ? MAIL_FOLDER_READ_SAVED :
                              MAIL_FOLDER_READ_TEXT, r->part, mm.label,
                              &mm.m, &err) < 0) {
            set_rc(r, cmd_fail(&err));
            continue;
        }
        set_rc(r, show_message(r, &mm, f, e));
        mail_reading_release(&mm.m);
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
    /* `mail read imap:INBOX 3`: an imap: folder may come first (no MSG
     * starts with "imap:"). */
    if (!r.folder && argc > 1 && strncmp(argv[0], "imap:", 5) == 0) {
        r.folder = argv[0];
        argc--;
        argv++;
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
    mail_render_free(r.render);
    free(r.mailcaps);
    return rc;
}
