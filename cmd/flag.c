/*
 * flag.c - `mail flag MSG... +seen -flagged ...`: set and clear flags.
 *
 * "-seen" looks like a cluster of short options to getopt, so the flag
 * words are taken out of argv before getopt sees it.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cmd.h"
#include "select.h"

static const struct {
    const char *name;
    unsigned bit;
} flag_words[] = {
    { "seen", MAIL_FLAG_SEEN },
    { "flagged", MAIL_FLAG_FLAGGED },
    { "answered", MAIL_FLAG_ANSWERED },
    { "draft", MAIL_FLAG_DRAFT },
};

/* The bit of a flag word ("seen"), or 0. */
static unsigned flag_bit(const char *w)
{
    for (size_t i = 0; i < sizeof flag_words / sizeof flag_words[0]; i++)
        if (strcmp(w, flag_words[i].name) == 0)
            return flag_words[i].bit;
    return 0;
}

/* Is a "-word" argument a flag word rather than options? */
static bool is_flag_word(const char *a)
{
    return (a[0] == '+' || a[0] == '-') && flag_bit(a + 1) != 0;
}

int cmd_flag(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        CMD_COMMON_LONG,
        { "folder", required_argument, NULL, 'f' },
        { NULL, 0, NULL, 0 },
    };
    struct cmd_selection sel = { 0 };
    struct mail_folder *f = NULL;
    struct mail_error err;
    const char *folder = NULL;
    unsigned add = 0, del = 0;
    char **rest;
    int nrest = 0, opt, rc;

    mail_error_clear(&err);
    /* Take the flag words out, keeping the value of -f/--folder. */
    rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest)
        return cmd_failf(EX_OSERR, "out of memory");
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];

        if (i > 0 && (strcmp(argv[i - 1], "-f") == 0 ||
                      strcmp(argv[i - 1], "--folder") == 0)) {
            rest[nrest++] = argv[i];
        } else if (i > 0 && is_flag_word(a)) {
            if (a[0] == '+')
                add |= flag_bit(a + 1);
            else
                del |= flag_bit(a + 1);
        } else if (i > 0 && a[0] == '+') {
            free(rest);
            return cmd_usage_error("flag", "unknown flag '%s' (flags: seen, "
                                   "flagged, answered, draft)", a + 1);
        } else {
            rest[nrest++] = argv[i];
        }
    }
    opterr = 0;
    while ((opt = getopt_long(nrest, rest, CMD_COMMON_SHORT "f:", longopts,
                              NULL)) != -1) {
        switch (opt) {
        case 'f':
            folder = optarg;
            break;
        case '?':
        case ':':
            rc = cmd_usage_error("flag", "unknown option, flag or missing "
                                 "value: %s (flags: +seen -seen +flagged "
                                 "-flagged +answered -answered +draft "
                                 "-draft)", rest[optind - 1]);
            goto done;
        default:
            rc = cmd_common_option(ctx, "flag", opt, optarg);
            if (rc == -1) {
                rc = 0;
                goto done;
            }
            if (rc > 1)
                goto done;
        }
    }
    if (add & del) {
        rc = cmd_usage_error("flag", "a flag cannot be both set and "
                             "cleared");
        goto done;
    }
    if (!add && !del) {
        rc = cmd_usage_error("flag", "no flag given (such as +seen or "
                             "-flagged)");
        goto done;
    }
    if (optind >= nrest) {
        rc = cmd_usage_error("flag", "no message given");
        goto done;
    }
    rc = 0;
    if (!folder)
        rc = cmd_folder_from_paths(ctx, nrest - optind, rest + optind,
                                   MAIL_FOLDER_RDWR, &f);
    if (rc == 1)
        rc = 0;
    else if (rc == 0)
        rc = cmd_open_folder(ctx, folder, MAIL_FOLDER_RDWR, &f, NULL);
    if (rc)
        goto done;
    rc = cmd_select_messages(ctx, f, nrest - optind, rest + optind, &sel);
    if (rc)
        goto done;
    mail_error_clear(&err);
    {
        /* One set: one UID STORE per change for an imap: folder. */
        struct mail_envelope **v = malloc((sel.n ? sel.n : 1) * sizeof *v);

        if (!v) {
            rc = cmd_failf(EX_OSERR, "out of memory");
        } else {
            for (size_t i = 0; i < sel.n; i++)
                v[i] = &sel.all.v[sel.idx[i]];
            if (mail_folder_set_flags_many(f, v, sel.n, add, del, NULL,
                                           &err) < 0)
                rc = cmd_fail(&err);
            free(v);
        }
    }
    {
        int rc2 = cmd_folder_done(f, &sel.all, NULL);

        f = NULL;
        if (!rc)
            rc = rc2;
    }
done:
    if (f)
        mail_folder_close(f, &err);
    cmd_selection_release(&sel);
    free(rest);
    return rc;
}
