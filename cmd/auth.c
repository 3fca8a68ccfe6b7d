/*
 * auth.c - `mail auth [--device]`: the OAuth 2.0 authorization of an
 * account, once.  The library does the protocol (mail/oauth2.h); this file
 * prints the URL or the code, opens $BROWSER, and says where the token
 * went.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "cmd.h"
#include "mail/oauth2.h"
#include "mail/spawn.h"

enum { OPT_DEVICE = OPT_FIRST_COMMAND_OPTION, OPT_TIMEOUT };

/* Open the URL with $BROWSER (as git and others do, a command line of the
 * user's), in the background: we must be listening when it comes back. */
static void open_browser(const char *url)
{
    const char *browser = getenv("BROWSER");
    struct mail_spawn sp = MAIL_SPAWN_INIT;
    struct mail_spawn_result res;
    struct mail_error err;
    struct mail_buf cmd = MAIL_BUF_INIT;
    const char *argv[] = { "mail-auth", url, NULL };

    if (!browser || !*browser)
        return;
    if (mail_buf_printf(&cmd, "%s \"$1\" </dev/null >/dev/null &",
                        browser) < 0) {
        mail_buf_release(&cmd);
        return;
    }
    sp.command = cmd.data;
    sp.argv = argv;
    mail_error_clear(&err);
    if (mail_spawn_run(&sp, &res, &err) < 0 ||
        mail_spawn_check(&res, "$BROWSER", &err) < 0)
        fprintf(stderr, "mail auth: could not open a browser (%s); open the "
                "URL yourself\n", err.msg);
    mail_buf_release(&cmd);
}

int cmd_auth(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        CMD_COMMON_LONG,
        { "device", no_argument, NULL, OPT_DEVICE },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        { NULL, 0, NULL, 0 },
    };
    struct mail_account *acct;
    struct mail_oauth2 o;
    struct mail_error err;
    struct cmd_trace tr = { "http" };
    bool device = false;
    int timeout = 300, opt, rc;

    while ((opt = getopt_long(argc, argv, CMD_COMMON_SHORT, longopts,
                              NULL)) != -1) {
        if (opt == OPT_DEVICE) {
            device = true;
            continue;
        }
        if (opt == OPT_TIMEOUT) {
            char *end;
            long v = strtol(optarg, &end, 10);

            if (*end || v < 1 || v > 3600)
                return cmd_usage_error("auth", "bad --timeout '%s' (seconds, "
                                       "1 to 3600)", optarg);
            timeout = (int)v;
            continue;
        }
        if (opt == '?')
            return cmd_usage_error("auth", "unknown or incomplete option "
                                   "'%s'", argv[optind - 1]);
        rc = cmd_common_option(ctx, "auth", opt, optarg);
        if (rc < 0)
            return 0;
        if (rc > 1)
            return rc;
        if (rc == 1)
            return cmd_usage_error("auth", "unexpected option");
    }
    if (optind < argc)
        return cmd_usage_error("auth", "unexpected argument '%s'",
                               argv[optind]);
    if ((rc = cmd_load_account(ctx, &acct)) != 0)
        return rc;
    if (!mail_account_uses_oauth2(acct))
        return cmd_failf(EX_CONFIG, "account '%s' does not log in with "
                         "OAuth 2.0 (set auth = oauth2 and oauth2-provider "
                         "or oauth2-client-id; see mail.conf(5))",
                         acct->name);
    mail_error_clear(&err);
    if (mail_oauth2_setup(&o, acct, acct->paths ? acct->paths->data_home
                                                : NULL, &err) < 0)
        return cmd_fail(&err);
    if (ctx->verbose) {
        o.trace = cmd_trace_fn;
        o.trace_arg = &tr;
    }
    if (device) {
        struct mail_oauth2_device_flow flow;

        if (mail_oauth2_device_begin(&o, &flow, &err) < 0) {
            mail_oauth2_release(&o);
            return cmd_fail(&err);
        }
        fputs("To authorize mail, visit ", stderr);
        out_safe_str(stderr, flow.verification_uri);
        fputs("\nand enter the code ", stderr);
        out_safe_str(stderr, flow.user_code);
        fputc('\n', stderr);
        if (flow.verification_uri_complete) {
            fputs("(or open ", stderr);
            out_safe_str(stderr, flow.verification_uri_complete);
            fputs(")\n", stderr);
        }
        fputs("Waiting for the authorization...\n", stderr);
        rc = mail_oauth2_device_finish(&o, &flow, &err);
        mail_oauth2_device_release(&flow);
    } else {
        struct mail_oauth2_code_flow flow;

        if (mail_oauth2_code_begin(&o, &flow, &err) < 0) {
            mail_oauth2_release(&o);
            return cmd_fail(&err);
        }
        fputs("To authorize mail, open this URL in a browser:\n\n  ",
              stderr);
        out_safe_str(stderr, flow.url);
        fputs("\n\nWaiting for the browser to come back to ", stderr);
        out_safe_str(stderr, flow.redirect_uri);
        fputs(" ...\n", stderr);
        fflush(stderr);
        open_browser(flow.url);
        rc = mail_oauth2_code_finish(&o, &flow, timeout, &err);
        mail_oauth2_code_release(&flow);
    }
    if (rc < 0) {
        mail_oauth2_release(&o);
        return cmd_fail(&err);
    }
    if (!ctx->quiet) {
        printf("mail auth: account '%s' is authorized; ", acct->name);
        if (o.token_store_command)
            printf("the refresh token went to oauth2-token-store-command\n");
        else {
            fputs("tokens kept in ", stdout);
            out_safe_str(stdout, o.file);
            fputc('\n', stdout);
        }
    }
    mail_oauth2_release(&o);
    return 0;
}
