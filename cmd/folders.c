/*
 * folders.c - `mail folders`: the folders of the account's local store,
 * each with its number of messages and of unread ones.  Listing goes
 * through the header cache, so this costs about a stat() per message.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cmd.h"
#include "mail/folder.h"
#include "mail/termsafe.h"
#include "width.h"

enum { OPT_REMOTE = OPT_FIRST_COMMAND_OPTION };

struct folder_info {
    char *name, *path;
    size_t total, unread;
    bool ok;
};

struct folder_set {
    struct folder_info *v;
    size_t n, alloc;
    int rc;              /* the first error's exit code */
    const struct mail_paths *paths;
};

static int collect(void *arg, const char *name, const char *path)
{
    struct folder_set *s = arg;
    struct mail_envelope_list l = MAIL_ENVELOPE_LIST_INIT;
    struct folder_info *fi;
    struct mail_folder *f;
    struct mail_error err;

    if (s->n == s->alloc) {
        size_t na = s->alloc ? 2 * s->alloc : 16;
        struct folder_info *nv = realloc(s->v, na * sizeof *nv);

        if (!nv)
            return mail_error_set(NULL, MAIL_ERR_INTERNAL, "out of memory");
        s->v = nv;
        s->alloc = na;
    }
    fi = &s->v[s->n];
    memset(fi, 0, sizeof *fi);
    fi->name = strdup(name);
    fi->path = strdup(path);
    if (!fi->name || !fi->path) {
        free(fi->name);
        free(fi->path);
        return -1;
    }
    s->n++;
    mail_error_clear(&err);
    f = mail_folder_open(path, MAIL_FOLDER_RDONLY, s->paths, &err);
    if (f && mail_folder_list(f, &l, 0, &err) == 0) {
        fi->ok = true;
        fi->total = l.n;
        for (size_t i = 0; i < l.n; i++)
            fi->unread += !(l.v[i].flags & MAIL_FLAG_SEEN);
    }
    if (!fi->ok) {
        int rc = cmd_fail(&err);

        if (!s->rc)
            s->rc = rc;
    }
    mail_envelope_list_release(&l);
    if (f)
        mail_folder_close(f, &err);
    return 0;
}

static void print_human(struct cmd_ctx *ctx, const struct folder_set *s)
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
        const struct folder_info *fi = &s->v[i];

        mail_buf_reset(&b);
        mail_term_safe(&b, fi->name, strlen(fi->name), MAIL_SAFE_ONELINE);
        if (color && fi->unread)
            fputs("\033[1m", stdout);
        cmd_print_fitted(stdout, b.data ? b.data : "", b.len, namew, true,
                         false);
        if (fi->ok)
            printf("  %8zu  %6zu", fi->total, fi->unread);
        else
            printf("  %8s  %6s", "?", "?");
        if (color && fi->unread)
            fputs("\033[0m", stdout);
        fputc('\n', stdout);
    }
    mail_buf_release(&b);
}

static void print_json(const struct folder_set *s)
{
    fputc('[', stdout);
    for (size_t i = 0; i < s->n; i++) {
        const struct folder_info *fi = &s->v[i];

        fputs(i ? ",\n  {\"name\":" : "\n  {\"name\":", stdout);
        json_str(stdout, fi->name);
        fputs(",\"path\":", stdout);
        json_str(stdout, fi->path);
        if (fi->ok)
            printf(",\"messages\":%zu,\"unread\":%zu}", fi->total,
                   fi->unread);
        else
            fputs(",\"messages\":null,\"unread\":null}", stdout);
    }
    fputs(s->n ? "\n]\n" : "]\n", stdout);
}

int cmd_folders(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        CMD_COMMON_LONG,
        { "json", no_argument, NULL, OPT_JSON },
        { "remote", no_argument, NULL, OPT_REMOTE },
        { NULL, 0, NULL, 0 },
    };
    struct folder_set set = { 0 };
    struct mail_account *acct;
    struct mail_error err;
    bool json = false, remote = false;
    int opt, rc;

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
    if (optind < argc)
        return cmd_usage_error("folders", "unexpected argument '%s'",
                               argv[optind]);
    if (remote)
        return cmd_failf(EX_UNAVAILABLE, "--remote: IMAP folders are not "
                         "supported yet");
    rc = cmd_load_account(ctx, &acct);
    if (rc)
        return rc;
    if (!acct->store || !*acct->store)
        return cmd_failf(EX_CONFIG, "account '%s' has no store (add "
                         "'store = ~/Mail' to its section of the config)",
                         acct->name);
    mail_error_clear(&err);
    set.paths = &ctx->paths;
    if (mail_store_folders(acct->store, collect, &set, &err) < 0)
        rc = cmd_fail(&err);
    if (json)
        print_json(&set);
    else
        print_human(ctx, &set);
    for (size_t i = 0; i < set.n; i++) {
        free(set.v[i].name);
        free(set.v[i].path);
    }
    free(set.v);
    return rc ? rc : set.rc;
}
