#!/usr/bin/env python3
"""Compare what `mail read --json` decodes with python3's email package, the
independent judge, for every message file given: subject, first sender
(name and address) and the readable text.

The known, deliberate differences are normalised before comparing, each
for a reason written in doc/VIOLATIONS.md or DESIGN.md:
- `text` is what a person sees, so it went through the terminal-safe
  printer: C0 controls become ^X, C1 controls, bidi controls and
  U+2028/U+2029 <U+XXXX>
  (JSON strings such as the subject keep them, JSON-escaped);
- a NUL in a header is shown as a space;
- where python gives up (U+FFFD in its result) there is no judgement;
- raw 8-bit header bytes are UTF-8 if valid, else windows-1252 (python
  keeps them as surrogate escapes);
- `text` holds every inline text part of a multipart/mixed, python's
  get_body() only the first, so python's text must be contained in ours.
Prints one line per mismatch and a count; exits 1 on any mismatch."""
import email, email.policy, json, os, re, subprocess, sys

MAIL = os.environ["MAIL"]


def unescape(s):
    """Undo python's surrogateescape the way mail reads raw bytes."""
    if s is None:
        return None
    b = s.encode("utf-8", "surrogateescape")
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return b.decode("cp1252", "replace")


def term_safe(s):
    out = []
    for ch in s:
        c = ord(ch)
        if ch in "\n\t":
            out.append(ch)
        elif c < 0x20:
            out.append("^" + chr(c + 0x40))
        elif c == 0x7F:
            out.append("^?")
        elif 0x80 <= c < 0xA0 or 0x202A <= c <= 0x202E or \
                0x2066 <= c <= 0x2069 or \
                c in (0x200E, 0x200F, 0x061C, 0x2028, 0x2029):
            out.append("<U+%04X>" % c)
        else:
            out.append(ch)
    return "".join(out)


def norm(s):
    s = (s or "").replace("\r\n", "\n").replace("\r", "\n")
    return re.sub(r"\s+", " ", s).strip()


fails, checked = [], 0
for f in sys.argv[1:]:
    name = os.path.basename(f)
    m = email.message_from_bytes(open(f, "rb").read(),
                                 policy=email.policy.default)
    r = subprocess.run([MAIL, "read", "--json", "--peek", f],
                       capture_output=True)
    if r.returncode != 0:
        fails.append((name, "exit %d" % r.returncode, r.stderr[:200]))
        continue
    ours = json.loads(r.stdout)[0]
    try:
        subj = m["subject"]
    except Exception:          # python could not decode: no judgement
        subj = False
    if subj is not False:
        want = None if subj is None else unescape(str(subj)).replace("\0", " ")
        if want is not None and "\ufffd" in want:
            pass               # python could not decode it: no judgement
        elif norm(want) != norm(ours["subject"]):
            fails.append((name, "subject", want, ours["subject"]))
        checked += 1
    try:
        addrs = m["from"].addresses if m["from"] is not None else ()
    except Exception:
        addrs = ()
    if addrs:
        a, o = addrs[0], (ours["from"] or [{}])[0]
        want = norm(unescape(a.display_name).replace("\0", " "))
        if a.addr_spec != o.get("address") or want != norm(o.get("name")):
            fails.append((name, "from", (want, a.addr_spec), o))
        checked += 1
    try:
        body = m.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else None
    except Exception:
        text = None
    if text is not None:
        text = text.replace("\r\n", "\n")
        if norm(term_safe(text)) not in norm(ours.get("text")):
            fails.append((name, "text", text[:120], (ours.get("text") or "")[:120]))
        checked += 1
for x in fails:
    print("MISMATCH", *x, sep=" | ")
print("checked %d fields, %d mismatches" % (checked, len(fails)))
sys.exit(1 if fails else 0)
