#!/usr/bin/env python3
"""Test data for the benchmarks in bench/ (deterministic: seeded).

  genmail.py folder OUTDIR N [KB] OUTDIR/Maildir and OUTDIR/mbox, the same N
                                  messages in both: small ones (1.8 KB on
                                  average), or with KB about KB kilobytes
                                  on average (a quarter of them with
                                  attachments of random bytes, as real mail
                                  with some attachments; 28 gives about
                                  2.8 GB for 100,000 messages)
  genmail.py attach FILE MB       one message with a text part and an
                                  MB-megabyte base64 attachment (random bytes)
  genmail.py sendset OUTDIR N FROM TO
                                  OUTDIR/NNNN.eml (N small messages ready for
                                  -t) and OUTDIR/batch.mbox (the same ones)

The messages look like ordinary mail: a Received trace, varied senders (some
with RFC 2047 encoded names, some bare addresses), To with one to three
recipients, sometimes Cc, subjects in several languages (some encoded), replies
with In-Reply-To and References, mailing-list headers, DKIM signatures, plain,
alternative and (5%) multipart/mixed messages with a small attachment, and
Maildir flags / mbox Status headers that vary.
"""
import base64
import os
import random
import sys
import time
import unicodedata

FIRST = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi",
         "Ivan", "Judy", "Mallory", "Niaj", "Olivia", "Peggy", "Rupert",
         "Sybil", "Trent", "Victor", "Walter", "Yolanda", "Zoë", "José",
         "Renée", "Jürgen", "Ólafur", "Søren", "Łukasz", "Ana", "Chen", "Priya"]
LAST = ["Martin", "Dupont", "Müller", "Smith", "Johnson", "Lefèvre", "Rossi",
        "García", "Nowak", "Kowalski", "Tanaka", "Andersen", "O'Brien",
        "Nguyen", "Silva", "Schmidt", "Brown", "Costa", "Ivanova", "Khan"]
CJK = ["山田 花子", "佐藤 太郎", "王 伟", "김 민준", "李 娜"]
DOMAINS = ["example.org", "example.net", "example.com", "lists.example.org",
           "mail.example.edu", "corp.example.co.uk", "example.de", "example.fr"]
LISTS = ["dev", "announce", "users", "security", "ops", "release"]
SUBJ = ["Team offsite in Lisbon", "Quarterly report draft",
        "Build failure on main", "Invoice {n} is ready",
        "Your order #{n} has shipped", "Meeting notes {d}",
        "[PATCH v{v}] lib: fix off-by-one in buffer growth",
        "[PATCH {v}/7] folder: faster Maildir scan",
        "Lunch on Friday?", "Security advisory {n}", "Weekly digest",
        "Re: server migration plan", "Question about the API",
        "Holiday schedule", "New release {v}.{n} available",
        "Your password will expire in {v} days", "Call for papers",
        "Unterlagen für das Projekt", "Café crème et réunion",
        "企画会議の議事録", "Отчёт за неделю", "Pedido confirmado nº {n}",
        "Welcome to the {l} list", "CI: {n} tests passed, {v} failed"]
WORDS = ("the of and to in is that for it as was with be by on not he this "
         "are or his from at which but have an they you were her she there "
         "one all we their can has been if more when will would who so no "
         "release build patch server config folder message header cache "
         "meeting schedule budget review draft please thanks regards").split()
MAILERS = ["Mutt/2.2.12 (2023-09-09)", "Thunderbird 115.5.0",
           "Apple Mail (2.3731.700.6)", "Microsoft Outlook 16.0",
           "aerc 0.16.0", "git-send-email 2.43.0", "Evolution 3.50.2",
           "Roundcube Webmail/1.6.5"]
DOWS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
        "Nov", "Dec"]


def rfc2047(s, rnd):
    if all(ord(c) < 128 for c in s):
        return s
    b = s.encode()
    if rnd.random() < 0.5:
        return "=?UTF-8?B?" + base64.b64encode(b).decode() + "?="
    q = "".join(chr(c) if (48 <= c < 58 or 65 <= c < 91 or 97 <= c < 123)
                else "_" if c == 32 else "=%02X" % c for c in b)
    return "=?UTF-8?Q?" + q + "?="


def rfc5322_date(t, off_min):
    lt = time.gmtime(t + off_min * 60)
    sign = "+" if off_min >= 0 else "-"
    o = abs(off_min)
    return "%s, %d %s %d %02d:%02d:%02d %s%02d%02d" % (
        DOWS[lt.tm_wday], lt.tm_mday, MONS[lt.tm_mon - 1], lt.tm_year,
        lt.tm_hour, lt.tm_min, lt.tm_sec, sign, o // 60, o % 60)


def ctime_date(t):
    lt = time.gmtime(t)
    return "%s %s %2d %02d:%02d:%02d %d" % (
        DOWS[lt.tm_wday], MONS[lt.tm_mon - 1], lt.tm_mday, lt.tm_hour,
        lt.tm_min, lt.tm_sec, lt.tm_year)


def person(rnd):
    r = rnd.random()
    if r < 0.05:
        name = rnd.choice(CJK)
        addr = "user%d@%s" % (rnd.randrange(1000), rnd.choice(DOMAINS))
    else:
        f, l = rnd.choice(FIRST), rnd.choice(LAST)
        name = f + " " + l
        addr = ("%s.%s@%s" % (f, l, rnd.choice(DOMAINS))).lower()
        addr = unicodedata.normalize("NFKD", addr).replace("ø", "o").replace(
            "ł", "l").replace("Ł", "l").encode("ascii", "ignore").decode()
        addr = addr.replace("'", "")
    if r > 0.9:
        return addr, addr
    enc = rfc2047(name, rnd)
    if enc == name and ("'" in name or "," in name):
        enc = '"%s"' % name
    return "%s <%s>" % (enc, addr), addr


def words(rnd, n):
    return " ".join(rnd.choice(WORDS) for _ in range(n))


def body_text(rnd):
    lines = []
    for _ in range(rnd.randint(3, 30)):
        w = words(rnd, rnd.randint(4, 12))
        lines.append(w[0].upper() + w[1:] + ".")
        if rnd.random() < 0.15:
            lines.append("")
    if rnd.random() < 0.03:
        lines.append("From the desk of the editor: mbox must quote this line.")
    lines += ["", "-- ", rnd.choice(FIRST)]
    return "\n".join(lines) + "\n"


class Gen:
    def __init__(self, seed=822, kb=None):
        self.rnd = random.Random(seed)
        self.mids = []
        # kb: the attachments' own generator, so that the headers are
        # drawn as without it; a quarter of the messages carry one whose
        # mean size makes the folder's mean about kb KB (base64: 4/3).
        self.kb = kb
        self.arnd = random.Random(2800)
        self.att_mean = (max(kb * 1024 - 1800, 0) / 0.25 * 3 / 4) if kb else 0

    def message(self, i, t):
        """(headers+body text, flags) for message number i delivered at t."""
        rnd = self.rnd
        frm, faddr = person(rnd)
        tos = ["Alice Example <alice@example.org>"]
        for _ in range(rnd.choice([0, 0, 0, 1, 2])):
            tos.append(person(rnd)[0])
        rnd.shuffle(tos)
        mid = "<%d.%x.%d@%s>" % (t, rnd.getrandbits(48), i,
                                  faddr.split("@")[1])
        subj = rnd.choice(SUBJ).format(n=rnd.randrange(100, 99999),
                                       v=rnd.randrange(1, 9),
                                       d="%d-%02d" % (2020 + i % 6, 1 + i % 12),
                                       l=rnd.choice(LISTS))
        reply = self.mids and rnd.random() < 0.3
        if reply:
            subj = "Re: " + subj
        h = []
        h.append("Return-Path: <%s>" % faddr)
        relay = rnd.randrange(1, 40)
        h.append("Received: from mx%d.%s (mx%d.%s [192.0.2.%d])\n"
                 "\tby mail.example.org (Postfix) with ESMTPS id %X\n"
                 "\tfor <alice@example.org>; %s" % (
                     relay, faddr.split("@")[1], relay, faddr.split("@")[1],
                     relay, rnd.getrandbits(40), rfc5322_date(t, 0)))
        if rnd.random() < 0.3:
            sig = base64.b64encode(rnd.randbytes(128)).decode()
            h.append("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; "
                     "d=%s; s=sel1;\n\th=from:to:subject:date:message-id;\n"
                     "\tbh=%s;\n\tb=%s\n\t %s" % (
                         faddr.split("@")[1],
                         base64.b64encode(rnd.randbytes(32)).decode(),
                         sig[:72], sig[72:]))
        off = rnd.choice([0, 60, 120, -300, -420, 330, 540, -180])
        h.append("Date: " + rfc5322_date(t - rnd.randrange(5, 600), off))
        h.append("From: " + frm)
        h.append("To: " + ",\n\t".join(tos) if len(tos) > 2
                 else "To: " + ", ".join(tos))
        if rnd.random() < 0.2:
            h.append("Cc: " + ", ".join(person(rnd)[0]
                                        for _ in range(rnd.randint(1, 3))))
        h.append("Subject: " + rfc2047(subj, rnd))
        h.append("Message-ID: " + mid)
        if reply:
            parents = rnd.sample(self.mids[-200:], min(len(self.mids[-200:]),
                                                       rnd.randint(1, 4)))
            h.append("In-Reply-To: " + parents[-1])
            h.append("References: " + "\n ".join(parents))
        if rnd.random() < 0.2:
            lst = rnd.choice(LISTS)
            h.append("List-Id: <%s.lists.example.org>" % lst)
            h.append("List-Unsubscribe: <mailto:%s-leave@lists.example.org>, "
                     "<https://lists.example.org/%s/leave>" % (lst, lst))
            h.append("Precedence: list")
        if rnd.random() < 0.6:
            h.append(rnd.choice(["X-Mailer: ", "User-Agent: "]) +
                     rnd.choice(MAILERS))
        h.append("MIME-Version: 1.0")
        text = body_text(rnd)
        r = rnd.random()
        big = self.kb and self.arnd.random() < 0.25
        if r < 0.05 or big:
            bnd = "=_mixed_%x" % rnd.getrandbits(64)
            if big:
                size = min(int(self.arnd.expovariate(1 / self.att_mean)),
                           int(self.att_mean * 20)) + 200
                att = base64.encodebytes(self.arnd.randbytes(size))
            else:
                att = base64.encodebytes(rnd.randbytes(rnd.randrange(200,
                                                                     3000)))
            h.append('Content-Type: multipart/mixed; boundary="%s"' % bnd)
            body = ("This is a multi-part message in MIME format.\n\n"
                    "--%s\nContent-Type: text/plain; charset=utf-8\n"
                    "Content-Transfer-Encoding: 8bit\n\n%s\n--%s\n"
                    "Content-Type: application/pdf; name=\"report-%d.pdf\"\n"
                    "Content-Disposition: attachment; "
                    "filename=\"report-%d.pdf\"\n"
                    "Content-Transfer-Encoding: base64\n\n%s\n--%s--\n" % (
                        bnd, text, bnd, i, i, att.decode(), bnd))
        elif r < 0.25:
            bnd = "=_alt_%x" % rnd.getrandbits(64)
            html = "<html><body><p>" + text.replace("\n\n", "</p><p>") + \
                "</p></body></html>\n"
            h.append('Content-Type: multipart/alternative; boundary="%s"' % bnd)
            body = ("--%s\nContent-Type: text/plain; charset=utf-8\n"
                    "Content-Transfer-Encoding: 8bit\n\n%s\n--%s\n"
                    "Content-Type: text/html; charset=utf-8\n"
                    "Content-Transfer-Encoding: 8bit\n\n%s\n--%s--\n" % (
                        bnd, text, bnd, html, bnd))
        else:
            h.append("Content-Type: text/plain; charset=utf-8; format=flowed")
            h.append("Content-Transfer-Encoding: 8bit")
            body = text
        self.mids.append(mid)
        fr = rnd.random()
        flags = ("" if fr < 0.08 else
                 "FS" if fr < 0.11 else
                 "RS" if fr < 0.25 else "S")
        return "\n".join(h) + "\n\n" + body, flags, faddr


def gen_folder(out, n, kb=None):
    g = Gen(kb=kb)
    md = os.path.join(out, "Maildir")
    for d in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(md, d), exist_ok=True)
    t0 = 1577836800  # 2020-01-01
    step = (1764547200 - t0) // n  # up to late 2025
    mbox_parts = []
    for i in range(n):
        t = t0 + i * step + g.rnd.randrange(step)
        msg, flags, faddr = g.message(i, t)
        data = msg.encode()
        # The last 2% are new (not yet seen by a mail program).
        if i >= n - n // 50:
            flags = ""
            name = "new/%d.M%dP%dQ%d.bench.example" % (t, i % 1000000, 4000 + i % 30000, i)
        else:
            name = "cur/%d.M%dP%dQ%d.bench.example:2,%s" % (
                t, i % 1000000, 4000 + i % 30000, i, flags)
        with open(os.path.join(md, name), "wb") as f:
            f.write(data)
        status = ""
        if i < n - n // 50:
            status = "Status: RO\n" if "S" in flags else "Status: O\n"
            xs = ("A" if "R" in flags else "") + ("F" if "F" in flags else "")
            if xs:
                status += "X-Status: %s\n" % xs
        hdr, _, body = msg.partition("\n\n")
        body = "\n".join(">" + l if l.lstrip(">").startswith("From ") else l
                         for l in body.split("\n"))
        mbox_parts.append("From %s %s\n%s\n%s\n%s\n" % (
            faddr, ctime_date(t), hdr, status, body))
    with open(os.path.join(out, "mbox"), "w", encoding="utf-8") as f:
        f.write("".join(mbox_parts))


def gen_attach(path, mb):
    rnd = random.Random(50)
    bnd = "=_bench_attach_boundary"
    head = ("From: Bob Martin <bob@example.org>\n"
            "To: Alice Example <alice@example.org>\n"
            "Subject: The disk image you asked for\n"
            "Date: Sat, 21 Nov 2026 10:00:00 +0100\n"
            "Message-ID: <bench-attach-%dmb@example.org>\n"
            "MIME-Version: 1.0\n"
            "Content-Type: multipart/mixed; boundary=\"%s\"\n\n"
            "--%s\nContent-Type: text/plain; charset=utf-8\n\n"
            "Hello Alice,\n\nhere is the image (%d MB).\n\nBob\n\n"
            "--%s\nContent-Type: application/octet-stream; name=\"disk.img\"\n"
            "Content-Disposition: attachment; filename=\"disk.img\"\n"
            "Content-Transfer-Encoding: base64\n\n") % (mb, bnd, bnd, mb, bnd)
    with open(path, "wb") as f:
        f.write(head.encode())
        chunk = 57 * 1024 * 16  # a multiple of 57: whole 76-column lines
        left = mb * 1024 * 1024
        while left > 0:
            n = min(chunk, left)
            f.write(base64.encodebytes(rnd.randbytes(n)))
            left -= n
        f.write(("\n--%s--\n" % bnd).encode())


def gen_sendset(out, n, frm, to):
    os.makedirs(out, exist_ok=True)
    rnd = random.Random(25)
    parts = []
    for i in range(n):
        text = body_text(rnd)
        msg = ("From: Alice Example <%s>\nTo: <%s>\n"
               "Subject: bench message %d of %d\n"
               "Date: Sat, 21 Nov 2026 10:%02d:%02d +0000\n"
               "Message-ID: <bench-send-%d-%x@example.test>\n"
               "MIME-Version: 1.0\n"
               "Content-Type: text/plain; charset=utf-8\n"
               "Content-Transfer-Encoding: 8bit\n\n%s") % (
                   frm, to, i + 1, n, (i // 60) % 60, i % 60, i,
                   rnd.getrandbits(32), text)
        with open(os.path.join(out, "%04d.eml" % i), "w") as f:
            f.write(msg)
        hdr, _, body = msg.partition("\n\n")
        body = "\n".join(">" + l if l.lstrip(">").startswith("From ") else l
                         for l in body.split("\n"))
        parts.append("From %s Sat Nov 21 10:00:00 2026\n%s\n\n%s\n" % (
            frm, hdr, body))
    with open(os.path.join(out, "batch.mbox"), "w") as f:
        f.write("".join(parts))


def main():
    a = sys.argv[1:]
    if len(a) in (3, 4) and a[0] == "folder":
        gen_folder(a[1], int(a[2]), int(a[3]) if len(a) == 4 else None)
    elif len(a) == 3 and a[0] == "attach":
        gen_attach(a[1], int(a[2]))
    elif len(a) == 5 and a[0] == "sendset":
        gen_sendset(a[1], int(a[2]), a[3], a[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
