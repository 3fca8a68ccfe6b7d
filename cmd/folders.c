/*
 * folders.c - `mail folders`: the folders of the account's local store,
 * each with its number of messages and of unread ones.  Listing goes
 * through the header cache, so this costs about a stat() per message.
 * --remote: the folders of the account's IMAP server (LIST with
 * SPECIAL-USE, counts from LIST-STATUS or STATUS), which also keeps the
 * list in the account's folder list cache (mail/foldercache.h); with
 * --cached, the names from that cache, without connecting (for shell
 * completion).  --create, --rename and --delete: imap:NAME on the server
 * (the cache follows), =NAME (or NAME) in the local store.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmd.h"
#include "mail/folder.h"
#include "mail/foldercache.h"
#include "mail/folderlist.h"
#include "mail/imap.h"
#include "mail/remote.h"
#include "mail/termsafe.h"
#include "width.h"

enum {
    OPT_REMOTE = OPT_FIRST_COMMAND_OPTION, OPT_CREATE, OPT_RENAME,
    OPT_DELETE, OPT_CACHED,
};

static void print_human(struct cmd_ctx *ctx, const struct mail_folderlist *s)
{
    struct mail_buf b = MAIL_BUF_INIT;
    size_t namew = strlen("FOLDER");
    bool color = cmd_use_color(ctx, stdout);

    for (size_t i = 0; i < s->n; i++) {
        mail_buf_reset(&b);
        mail_term_safe(&b, s->v[i].name, strlen(s->v[i].name),
                       MAIL_SAFE_ONELINE);
        if (b.data && cmd_width(b.data, b.len) > namew)
            namew = cmd_width(b.data, b.len);
    }
    printf("%-*s  %8s  %6s\n", (int)namew, "FOLDER", "MESSAGES", "UNREAD");
    for (size_t i = 0; i < s->n; i++) {
        const struct mail_folderlist_entry *fi = &s->v[i];

        mail_buf_reset(&b);
        mail_term_safe(&b, fi->name, strlen(fi->name), MAIL_SAFE_ONELINE);
        if (color && fi->unread)
            fputs("\033[1m", stdout);
        cmd_print_fitted(stdout, b.data ? b.data : "", b.len, namew, true,
                         false);
        if (fi->has_messages)
            printf("  %8zu  %6zu", fi->messages, fi->unread);
        else
            printf("  %8s  %6s", "?", "?");
        if (color && fi->unread)
            fputs("\033[0m", stdout);
        fputc('\n', stdout);
    }
    mail_buf_release(&b);
}

static void print_json(const struct mail_folderlist *s)
{
    fputc('[', stdout);
    for (size_t i = 0; i < s->n; i++) {
        const struct mail_folderlist_entry *fi = &s->v[i];

        fputs(i ? ",\n  {\"name\":" : "\n  {\"name\":", stdout);
        json_str(stdout, fi->name);
        fputs(",\"path\":", stdout);
        json_str(stdout, fi->path);
        if (fi->has_messages)
            printf(",\"messages\":%zu,\"unread\":%zu}", fi->messages,
                   fi->unread);
        else
            fputs(",\"messages\":null,\"unread\":null}", stdout);
    }
    fputs(s->n ? "\n]\n" : "]\n", stdout);
}

/* ---- the IMAP server ---- */

/* The account's IMAP server, logged in; NULL after printing why. */
static struct mail_remote *open_remote(struct cmd_ctx *ctx,
                                       const struct mail_account *acct,
                                       struct cmd_trace *tr, int *rc)
{
    struct mail_remote_opts ro = {
        .prompt = cmd_prompt_password,
    };
    struct mail_remote *r;
    struct mail_error err;

    mail_error_clear(&err);
    if (ctx->verbose) {
        tr->proto = "imap";
        ro.trace = cmd_trace_fn;
        ro.trace_arg = tr;
    }
    r = mail_remote_new(acct, &ro, &err);
    if (!r || !mail_remote_session(r, &err)) {
        *rc = cmd_fail(&err);
        mail_remote_close(r);
        return NULL;
    }
    return r;
}

static void remote_human(struct cmd_ctx *ctx, const struct mail_folderlist *l)
{
    struct mail_buf b = MAIL_BUF_INIT;
    size_t namew = strlen("FOLDER");
    bool color = cmd_use_color(ctx, stdout);

    for (size_t i = 0; i < l->n; i++) {
        mail_buf_reset(&b);
        mail_term_safe(&b, l->v[i].name, strlen(l->v[i].name),
                       MAIL_SAFE_ONELINE);
        if (b.data && cmd_width(b.data, b.len) > namew)
            namew = cmd_width(b.data, b.len);
    }
    printf("%-*s  %8s  %6s  %s\n", (int)namew, "FOLDER", "MESSAGES", "UNREAD",
           "USE");
    for (size_t i = 0; i < l->n; i++) {
        const struct mail_folderlist_entry *e = &l->v[i];
        bool bold = color && e->has_unread && e->unread;

        mail_buf_reset(&b);
        mail_term_safe(&b, e->name, strlen(e->name), MAIL_SAFE_ONELINE);
        if (bold)
            fputs("\033[1m", stdout);
        cmd_print_fitted(stdout, b.data ? b.data : "", b.len, namew, true,
                         false);
        if (!e->selectable) {
            printf("  %8s  %6s", "-", "-");
        } else {
            char m[24] = "?", u[24] = "?";

            if (e->has_messages)
                snprintf(m, sizeof m, "%zu", e->messages);
            if (e->has_unread)
                snprintf(u, sizeof u, "%zu", e->unread);
            printf("  %8s  %6s", m, u);
        }
        if (bold)
            fputs("\033[0m", stdout);
        if (e->special_use)
            printf("  %s", e->special_use);
        else if (!e->selectable)
            fputs("  (not selectable)", stdout);
        fputc('\n', stdout);
    }
    mail_buf_release(&b);
}

static void remote_json(const struct mail_folderlist *l)
{
    fputc('[', stdout);
    for (size_t i = 0; i < l->n; i++) {
        const struct mail_folderlist_entry *e = &l->v[i];

        fputs(i ? ",\n  {\"name\":" : "\n  {\"name\":", stdout);
        json_str(stdout, e->name);
        fputs(",\"path\":", stdout);
        json_str(stdout, e->path);
        if (e->selectable && e->has_messages)
            printf(",\"messages\":%zu", e->messages);
        else
            fputs(",\"messages\":null", stdout);
        if (e->selectable && e->has_unread)
            printf(",\"unread\":%zu", e->unread);
        else
            fputs(",\"unread\":null", stdout);
        fputs(",\"special_use\":", stdout);
        if (e->special_use)
            json_str(stdout, e->special_use);
        else
            fputs("null", stdout);
        printf(",\"selectable\":%s}", e->selectable ? "true" : "false");
    }
    fputs(l->n ? "\n]\n" : "]\n", stdout);
}

static int folders_remote(struct cmd_ctx *ctx, const struct mail_account *acct,
                          bool json)
{
    struct mail_folderlist l = MAIL_FOLDERLIST_INIT;
    struct cmd_trace tr;
    struct mail_remote *r;
    struct mail_error err;
    int rc = 0;

    if (!(r = open_remote(ctx, acct, &tr, &rc)))
        return rc;
    mail_error_clear(&err);
    if (mail_folderlist_remote(r, &ctx->paths, NULL, &l, &err) < 0) {
        rc = cmd_fail(&err);
        mail_folderlist_release(&l);
        mail_remote_close(r);
        return rc;
    }
    if (json)
        remote_json(&l);
    else
        remote_human(ctx, &l);
    if (l.skipped)
        fprintf(stderr, "mail: warning: %zu folder name(s) of the server "
                "skipped (empty, too long or with a NUL byte)\n", l.skipped);
    mail_folderlist_release(&l);
    mail_remote_close(r);
    return 0;
}

/* --remote --cached: the folder names of the last LIST, from the cache,
 * one a line (only selectable ones, and only names that reach the
 * terminal as they are: a completion must offer what can be typed), or
 * --json as --remote without counts.  No cache: nothing, exit 0. */
static int folders_cached(const struct mail_account *acct,
                          const struct mail_paths *paths, bool json)
{
    struct mail_folderlist l = MAIL_FOLDERLIST_INIT;
    struct mail_error err;
    struct mail_buf b = MAIL_BUF_INIT;

    mail_error_clear(&err);
    if (mail_folderlist_cached(paths, acct->name, &l, &err) < 0) {
        mail_folderlist_release(&l);
        return cmd_fail(&err);
    }
    if (json) {
        remote_json(&l);
    } else {
        for (size_t i = 0; i < l.n; i++) {
            const char *n = l.v[i].name;
            size_t len = strlen(n);

            if (l.v[i].attrs & (MAIL_IMAP_MBX_NOSELECT |
                                MAIL_IMAP_MBX_NONEXISTENT))
                continue;
            mail_buf_reset(&b);
            mail_term_safe(&b, n, len, MAIL_SAFE_ONELINE);
            if (b.len != len || (len && memcmp(b.data, n, len) != 0))
                continue;
            fwrite(n, 1, len, stdout);
            fputc('\n', stdout);
        }
    }
    mail_buf_release(&b);
    mail_folderlist_release(&l);
    return 0;
}

/* An IMAP name from "imap:NAME", or NULL for a local one. */
static const char *imap_name(const char *arg)
{
    return strncmp(arg, "imap:", 5) == 0 ? arg + 5 : NULL;
}

static int remote_change(struct cmd_ctx *ctx, const struct mail_account *acct,
                         int what, const char *name, const char *to)
{
    struct cmd_trace tr;
    struct mail_remote *r;
    struct mail_session *s;
    struct mail_error err;
    int rc = 0, k;

    if (!*name || (to && !*to))
        return cmd_usage_error("folders", "an empty folder name");
    if (!(r = open_remote(ctx, acct, &tr, &rc)))
        return rc;
    mail_error_clear(&err);
    s = mail_remote_session(r, &err);
    k = !s ? -1
      : what == OPT_CREATE ? mail_imap_create(s, name, &err)
      : what == OPT_DELETE ? mail_imap_delete(s, name, &err)
                           : mail_imap_rename(s, name, to, &err);
    if (k < 0) {
        rc = cmd_fail(&err);
        if (err.kind != MAIL_ERR_NOTFOUND && err.kind != MAIL_ERR_CANTCREAT &&
            err.kind != MAIL_ERR_UNAVAIL)
            mail_remote_drop(r);
    } else {
        /* the folder list cache follows (a hint: errors ignored) */
        mail_error_clear(&err);
        (void)mail_imap_foldercache_change(&ctx->paths, acct->name,
                                           what == OPT_CREATE ? NULL : name,
                                           what == OPT_DELETE ? NULL
                                           : what == OPT_CREATE ? name : to,
                                           &err);
    }
    mail_remote_close(r);
    return rc;
}

/* ---- the local store ---- */

static bool is_inbox(const char *name)
{
    return !*name || strcmp(name, "INBOX") == 0 || strcmp(name, "inbox") == 0;
}

static int local_change(struct cmd_ctx *ctx, const struct mail_account *acct,
                        int what, const char *name, const char *to)
{
    struct mail_error err;
    char *path = NULL, *path2 = NULL;
    struct stat sb;
    int rc = 0;

    mail_error_clear(&err);
    if (!acct->store || !*acct->store)
        return cmd_failf(EX_CONFIG, "account '%s' has no store (add "
                         "'store = ~/Mail' to its section of the config)",
                         acct->name);
    name += name[0] == '=';
    if (to)
        to += to[0] == '=';
    if (!*name || (to && !*to))
        return cmd_usage_error("folders", "an empty folder name");
    if (is_inbox(name) || (to && is_inbox(to)))
        return cmd_usage_error("folders", "the inbox cannot be %s",
                               what == OPT_CREATE ? "created"
                               : what == OPT_DELETE ? "deleted"
                                                    : "renamed");
    if (strchr(name, '/') || (to && strchr(to, '/')) ||
        strcmp(name, "..") == 0 || (to && strcmp(to, "..") == 0))
        return cmd_usage_error("folders", "a folder name of the store may "
                               "not hold '/'");
    path = mail_store_folder_path(acct->store, name, &err);
    if (path && to)
        path2 = mail_store_folder_path(acct->store, to, &err);
    if (!path || (to && !path2)) {
        rc = cmd_fail(&err);
        goto done;
    }
    if (what == OPT_CREATE) {
        struct mail_folder *f;

        if (lstat(path, &sb) == 0) {
            rc = cmd_failf(EX_CANTCREAT, "=%s: the folder already exists",
                           name);
            goto done;
        }
        f = mail_folder_open(path, MAIL_FOLDER_RDWR | MAIL_FOLDER_CREATE,
                             &ctx->paths, &err);
        if (!f || mail_folder_close(f, &err) < 0)
            rc = cmd_fail(&err);
    } else if (what == OPT_RENAME) {
        if (lstat(path, &sb) < 0) {
            rc = cmd_failf(EX_NOINPUT, "=%s: no such folder", name);
        } else if (lstat(path2, &sb) == 0) {
            rc = cmd_failf(EX_CANTCREAT, "=%s: the folder already exists",
                           to);
        } else if (rename(path, path2) < 0) {
            rc = cmd_failf(EX_CANTCREAT, "=%s: cannot rename to =%s: %s",
                           name, to, strerror(errno));
        }
    } else {
        struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
        struct mail_folder *f;

        if (lstat(path, &sb) < 0) {
            rc = cmd_failf(EX_NOINPUT, "=%s: no such folder", name);
            goto done;
        }
        f = mail_folder_open(path, MAIL_FOLDER_RDONLY, &ctx->paths, &err);
        if (!f || mail_folder_list(f, &l, 0, &err) < 0) {
            rc = cmd_fail(&err);
        } else if (l.n) {
            rc = cmd_failf(EX_UNAVAILABLE, "=%s: the folder holds %zu "
                           "message(s): move or remove them first", name,
                           l.n);
        }
        mail_envelope_list_release(&l);
        if (f)
            mail_folder_close(f, NULL);
        if (rc)
            goto done;
        if (S_ISDIR(sb.st_mode)) {
            static const char *const sub[] = { "cur", "new", "tmp" };
            struct mail_buf p = MAIL_BUF_INIT;

            for (size_t i = 0; i < 3; i++) {
                mail_buf_reset(&p);
                mail_buf_printf(&p, "%s/%s", path, sub[i]);
                if (p.data && rmdir(p.data) < 0 && errno != ENOENT) {
                    rc = cmd_failf(EX_UNAVAILABLE, "=%s: %s: %s", name,
                                   p.data, strerror(errno));
                    break;
                }
            }
            /* the Maildir++ mark of a sub-folder */
            mail_buf_reset(&p);
            mail_buf_printf(&p, "%s/maildirfolder", path);
            if (!rc && p.data)
                (void)unlink(p.data);
            mail_buf_release(&p);
            if (!rc && rmdir(path) < 0)
                rc = cmd_failf(EX_UNAVAILABLE, "=%s: %s: %s", name, path,
                               strerror(errno));
        } else if (unlink(path) < 0) {
            rc = cmd_failf(EX_IOERR, "=%s: %s: %s", name, path,
                           strerror(errno));
        }
    }
done:
    free(path);
    free(path2);
    return rc;
}

int cmd_folders(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        CMD_COMMON_LONG,
        { "json", no_argument, NULL, OPT_JSON },
        { "remote", no_argument, NULL, OPT_REMOTE },
        { "cached", no_argument, NULL, OPT_CACHED },
        { "create", required_argument, NULL, OPT_CREATE },
        { "rename", required_argument, NULL, OPT_RENAME },
        { "delete", required_argument, NULL, OPT_DELETE },
        { NULL, 0, NULL, 0 },
    };
    const char *change_name = NULL;
    int change = 0;
    struct mail_folderlist set = MAIL_FOLDERLIST_INIT;
    struct mail_account *acct;
    struct mail_error err;
    bool json = false, remote = false, cached = false, walked;
    int opt, rc, first_rc = 0;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, CMD_COMMON_SHORT, longopts,
                              NULL)) != -1) {
        switch (opt) {
        case OPT_JSON:
            json = true;
            break;
        case OPT_REMOTE:
            remote = true;
            break;
        case OPT_CACHED:
            cached = true;
            break;
        case OPT_CREATE:
        case OPT_RENAME:
        case OPT_DELETE:
            if (change)
                return cmd_usage_error("folders", "one of --create, "
                                       "--rename and --delete at a time");
            change = opt;
            change_name = optarg;
            break;
        case '?':
        case ':':
            return cmd_usage_error("folders", "unknown option or missing "
                                   "value: %s", argv[optind - 1]);
        default:
            rc = cmd_common_option(ctx, "folders", opt, optarg);
            if (rc == -1)
                return 0;
            if (rc > 1)
                return rc;
        }
    }
    if (change == OPT_RENAME ? optind + 1 != argc : optind < argc)
        return change == OPT_RENAME && optind >= argc
                   ? cmd_usage_error("folders", "--rename OLD NEW: the new "
                                     "name is missing")
                   : cmd_usage_error("folders", "unexpected argument '%s'",
                                     argv[change == OPT_RENAME ? optind + 1
                                                               : optind]);
    if (change && remote)
        return cmd_usage_error("folders", "--remote lists; name an IMAP "
                               "folder as imap:NAME instead");
    if (cached && !remote)
        return cmd_usage_error("folders", "--cached goes with --remote");
    rc = cmd_load_account(ctx, &acct);
    if (rc)
        return rc;
    if (change) {
        const char *to = change == OPT_RENAME ? argv[optind] : NULL;
        bool imap = imap_name(change_name) != NULL;

        if (to && (imap_name(to) != NULL) != imap)
            return cmd_usage_error("folders", "--rename: both names must be "
                                   "imap:NAME, or both local");
        if (imap)
            return remote_change(ctx, acct, change, imap_name(change_name),
                                 to ? imap_name(to) : NULL);
        return local_change(ctx, acct, change, change_name, to);
    }
    if (remote && cached)
        return folders_cached(acct, &ctx->paths, json);
    if (remote)
        return folders_remote(ctx, acct, json);
    if (!acct->store || !*acct->store)
        return cmd_failf(EX_CONFIG, "account '%s' has no store (add "
                         "'store = ~/Mail' to its section of the config)",
                         acct->name);
    mail_error_clear(&err);
    walked = mail_folderlist_local(acct->store, &ctx->paths, NULL, &set,
                                   &err) == 0;
    /* a folder that could not be counted: its error, once each */
    for (size_t i = 0; i < set.n; i++)
        if (set.v[i].error) {
            int frc = cmd_fail(set.v[i].error);

            if (!first_rc)
                first_rc = frc;
        }
    if (!walked)
        rc = cmd_fail(&err);
    if (json)
        print_json(&set);
    else
        print_human(ctx, &set);
    mail_folderlist_release(&set);
    return rc ? rc : first_rc;
}
