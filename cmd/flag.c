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

struct flag_change {
    unsigned add, del;
};

/* One set: one UID STORE per change for an imap: folder. */
static int flag_set(struct mail_folder *f, struct mail_envelope **v,
                    size_t n, void *arg, size_t *done,
                    struct mail_error *err)
{
    const struct flag_change *c = arg;

    (void)done;     /* flags move nothing */
    return mail_folder_set_flags_many(f, v, n, c->add, c->del, NULL, err);
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
    int nrest = 0, rc;

    mail_error_clear(&err);
    /* Take the flag words out, keeping the value of -f/--folder. */
    rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest)
        return cmd_failf(EX_SOFTWARE, "out of memory");
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
    rc = cmd_msg_options(ctx, "flag", nrest, rest, CMD_COMMON_SHORT "f:",
                         longopts, NULL, &folder,
                         "unknown option, flag or missing value",
                         " (flags: +seen -seen +flagged -flagged +answered "
                         "-answered +draft -draft)");
    if (rc) {
        rc = rc == -1 ? 0 : rc;
        goto done;
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
    rc = cmd_open_msg_folder(ctx, "flag", folder, nrest - optind, rest + optind, &f);
    if (rc)
        goto done;
    rc = cmd_select_messages(ctx, f, nrest - optind, rest + optind, &sel);
    if (rc)
        goto done;
    {
        struct flag_change c = { add, del };

        rc = cmd_change_selected(f, &sel, flag_set, &c, false, NULL);
        f = NULL;
    }
done:
    if (f)
        mail_folder_close(f, &err);
    cmd_selection_release(&sel);
    free(rest);
    return rc;
}
