/* The program's directories, read from the environment in one place. */
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail/buf.h"
#include "mail/paths.h"

static char *dup_or_null(const char *s, bool *nomem)
{
    char *d;

    if (!s)
        return NULL;
    d = strdup(s);
    if (!d)
        *nomem = true;
    return d;
}

/* $VAR when absolute, else HOME/FALLBACK, else NULL. */
static char *xdg_dir(const char *var, const char *home, const char *fallback,
                     bool *nomem)
{
    const char *v = getenv(var);
    struct mail_buf b = MAIL_BUF_INIT;

    if (v && v[0] == '/')
        return dup_or_null(v, nomem);
    if (!home)
        return NULL;
    if (mail_buf_printf(&b, "%s/%s", home, fallback) < 0) {
        *nomem = true;
        return NULL;
    }
    return mail_buf_detach(&b);
}

int mail_paths_from_env(struct mail_paths *p, struct mail_error *err)
{
    const char *home = getenv("HOME"), *tmp = getenv("TMPDIR");
    struct passwd *pw;
    bool nomem = false;

    memset(p, 0, sizeof *p);
    /* Under cron or `env -i`, HOME may be missing; the passwd entry is
     * what the shell would have used. */
    if (!home || !*home) {
        pw = getpwuid(getuid());
        home = pw && pw->pw_dir && *pw->pw_dir ? pw->pw_dir : NULL;
    }
    p->home = dup_or_null(home, &nomem);
    p->config_home = xdg_dir("XDG_CONFIG_HOME", p->home, ".config", &nomem);
    p->data_home = xdg_dir("XDG_DATA_HOME", p->home, ".local/share", &nomem);
    p->state_home = xdg_dir("XDG_STATE_HOME", p->home, ".local/state",
                            &nomem);
    p->cache_home = xdg_dir("XDG_CACHE_HOME", p->home, ".cache", &nomem);
    p->tmp_dir = dup_or_null(tmp && tmp[0] == '/' ? tmp : "/tmp", &nomem);
    if (nomem) {
        mail_paths_release(p);
        return mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
    }
    return 0;
}

void mail_paths_release(struct mail_paths *p)
{
    free(p->home);
    free(p->config_home);
    free(p->data_home);
    free(p->state_home);
    free(p->cache_home);
    free(p->tmp_dir);
    memset(p, 0, sizeof *p);
}

char *mail_paths_mail_dir(const struct mail_paths *p,
                          enum mail_paths_base base, const char *sub,
                          const char *what, struct mail_error *err)
{
    static const char *const var[] = {
        [MAIL_PATHS_CONFIG] = "XDG_CONFIG_HOME",
        [MAIL_PATHS_DATA] = "XDG_DATA_HOME",
        [MAIL_PATHS_STATE] = "XDG_STATE_HOME",
        [MAIL_PATHS_CACHE] = "XDG_CACHE_HOME",
    };
    const char *dir = NULL;
    struct mail_buf b = MAIL_BUF_INIT;
    int r;

    if (p) {
        switch (base) {
        case MAIL_PATHS_CONFIG: dir = p->config_home; break;
        case MAIL_PATHS_DATA: dir = p->data_home; break;
        case MAIL_PATHS_STATE: dir = p->state_home; break;
        case MAIL_PATHS_CACHE: dir = p->cache_home; break;
        }
    }
    if (!dir) {
        mail_error_set(err, MAIL_ERR_CONFIG,
                       "neither %s nor HOME is set: nowhere to keep %s",
                       var[base], what);
        return NULL;
    }
    r = sub ? mail_buf_printf(&b, "%s/mail/%s", dir, sub)
            : mail_buf_printf(&b, "%s/mail", dir);
    if (r < 0) {
        mail_buf_release(&b);
        mail_error_set(err, MAIL_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    return mail_buf_detach(&b);
}

char *mail_paths_expand_home(const struct mail_paths *p, const char *path)
{
    struct mail_buf b = MAIL_BUF_INIT;
    size_t hl;

    if (!path)
        return NULL;
    /* "~user/..." is left alone: looking up other users' homes is not
     * something a mail config needs. */
    if (path[0] != '~' || (path[1] != '\0' && path[1] != '/') || !p ||
        !p->home)
        return strdup(path);
    if (path[1] == '\0')
        return strdup(p->home);
    hl = strlen(p->home);
    while (hl > 0 && p->home[hl - 1] == '/')
        hl--;                           /* HOME=/home/a/ gives no "//" */
    if (mail_buf_printf(&b, "%.*s%s", (int)hl, p->home, path + 1) < 0) {
        mail_buf_release(&b);
        return NULL;
    }
    return mail_buf_detach(&b);
}

const char *mail_paths_tmp_dir(const struct mail_paths *p)
{
    return p && p->tmp_dir ? p->tmp_dir : "/tmp";
}
