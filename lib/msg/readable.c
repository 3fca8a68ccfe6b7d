/* readable.c - choosing the parts to show as a message's text. */
#include <string.h>

#include "mail/readable.h"

struct pick {
    struct mail_readable *out;
    size_t max, n, nplain;
};

static void add(struct pick *k, const struct mail_part *p, bool html)
{
    if (k->out && k->n < k->max) {
        k->out[k->n].part = p;
        k->out[k->n].html = html;
    }
    k->n++;
    if (!html)
        k->nplain++;
}

static void pick(struct pick *k, const struct mail_part *p);

/* What would p yield?  Counts only. */
static void dry_run(const struct mail_part *p, size_t *n, size_t *nplain)
{
    struct pick d = { NULL, 0, 0, 0 };

    pick(&d, p);
    *n = d.n;
    *nplain = d.nplain;
}

static void pick(struct pick *k, const struct mail_part *p)
{
    const struct mail_part *c;

    if (mail_part_is_multipart(p)) {
        const char *sub = p->type + 10;

        if (strcmp(sub, "alternative") == 0) {
            const struct mail_part *best = NULL;
            size_t n, np, best_n = 0, best_np = 0;

            for (c = p->child; c; c = c->next) {
                dry_run(c, &n, &np);
                if (np > 0 || n > 0) {
                    best = c;
                    best_n = n;
                    best_np = np;
                }
                if (np > 0)
                    break;
            }
            /* When only counting, use the counts: picking again would
             * make nested alternatives cost 2^depth. */
            if (best && !k->out) {
                k->n += best_n;
                k->nplain += best_np;
            } else if (best) {
                pick(k, best);
            }
        } else if (strcmp(sub, "related") == 0 ||
                   strcmp(sub, "signed") == 0) {
            if (p->child)
                pick(k, p->child);
        } else if (strcmp(sub, "encrypted") != 0) {
            for (c = p->child; c; c = c->next)
                pick(k, c);
        }
        return;
    }
    if (p->child) {
        /* An encapsulated message at the root of the tree cannot happen;
         * message/rfc822 parts are attachments. */
        return;
    }
    if (p->parent && mail_part_is_attachment(p))
        return;
    if (strcmp(p->type, "text/plain") == 0)
        add(k, p, false);
    else if (strcmp(p->type, "text/html") == 0)
        add(k, p, true);
}

size_t mail_mime_readable(const struct mail_mime *m,
                          struct mail_readable *out, size_t max)
{
    struct pick k = { out, max, 0, 0 };
    const struct mail_part *root = mail_mime_root(m);

    if (root)
        pick(&k, root);
    return k.n;
}
