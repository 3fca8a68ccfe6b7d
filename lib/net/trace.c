/*
 * trace.c - the one formatter of trace lines for lib/net; see trace.h.
 */
#include <stdio.h>

#include "trace.h"

void net_trace_vprintf(mail_trace_fn fn, void *arg, char dir,
                       const char *fmt, va_list ap)
{
    char line[512];
    int n;

    if (!fn)
        return;
    n = vsnprintf(line, sizeof line, fmt, ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line)
        n = (int)sizeof line - 1;
    fn(arg, dir, line, (size_t)n);
}
