/*
 * mimetypes.c - media types from mime.types(5); see mail/mimetypes.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/buf.h"
#include "mail/mimetypes.h"

/* Used when mime.types is missing (minimal containers) or silent. */
static const struct {
    const char *ext, *type;
} builtin[] = {
    { "txt", "text/plain" },       { "log", "text/plain" },
    { "csv", "text/csv" },         { "html", "text/html" },
    { "htm", "text/html" },        { "md", "text/markdown" },
    { "pdf", "application/pdf" },  { "json", "application/json" },
    { "xml", "application/xml" },  { "zip", "application/zip" },
    { "gz", "application/gzip" },  { "tar", "application/x-tar" },
    { "png", "image/png" },        { "jpg", "image/jpeg" },
    { "jpeg", "image/jpeg" },      { "gif", "image/gif" },
    { "svg", "image/svg+xml" },    { "ics", "text/calendar" },
    { "patch", "text/x-diff" },    { "diff", "text/x-diff" },
    { "eml", "message/rfc822" },
};

static const char *extension(const char *name)
{
    const char *base = strrchr(name, '/');
    const char *dot;

    base = base ? base + 1 : name;
    dot = strrchr(base, '.');
    if (!dot || dot == base || !dot[1])
        return NULL;
    return dot + 1;
}

static int from_file(const char *ext, const char *path, char *buf,
                     size_t size)
{
    FILE *f = fopen(path, "re");
    char line[1024];
    int found = 0;

    if (!f)
        return 0;
    while (!found && fgets(line, sizeof line, f)) {
        char *save = NULL, *type, *tok;

        if (line[0] == '#')
            continue;
        line[strcspn(line, "#\r\n")] = '\0';
        type = strtok_r(line, " \t", &save);
        if (!type || !strchr(type, '/'))
            continue;
        while ((tok = strtok_r(NULL, " \t", &save)) != NULL) {
            if (mail_strcasecmp(tok, ext) == 0) {
                if (mail_strlcpy(buf, type, size) < size)
                    found = 1;
                break;
            }
        }
    }
    fclose(f);
    if (found)
        for (char *p = buf; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    return found;
}

const char *mail_mimetype_lookup(const char *name, const char *mime_types,
                                 char *buf, size_t size)
{
    const char *ext = extension(name);

    if (ext && from_file(ext, mime_types ? mime_types : MAIL_MIME_TYPES_FILE,
                         buf, size))
        return buf;
    for (size_t i = 0; ext && i < sizeof builtin / sizeof builtin[0]; i++)
        if (mail_strcasecmp(ext, builtin[i].ext) == 0) {
            mail_strlcpy(buf, builtin[i].type, size);
            return buf;
        }
    mail_strlcpy(buf, "application/octet-stream", size);
    return buf;
}
