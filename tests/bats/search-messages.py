import sys, os, time, email.utils
out = sys.argv[1]
now = int(sys.argv[2]) if len(sys.argv) > 2 else int(time.time())
os.makedirs(out, exist_ok=True)
def d(ts, tz=0):
    return email.utils.formatdate(ts, localtime=False).replace('-0000', '+0000') if tz == 0 else \
        time.strftime('%a, %d %b %Y %H:%M:%S ', time.gmtime(ts + tz * 3600)) + ('%+03d00' % tz)
msgs = []
def add(flags, hdrs, body, mime=None):
    msgs.append((flags, hdrs, body))
DAY = 86400
add('', [('From', 'Bob Builder <bob@example.org>'), ('To', 'Alice <alice@example.test>'),
         ('Subject', 'Quarterly report'), ('Date', 'Mon, 03 Nov 2025 10:00:00 +0000')],
    'Here is the agenda for monday.\nRegards, Bob\n')
add('SF', [('From', '=?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <jm@example.de>'), ('To', 'alice@example.test'),
           ('Subject', '=?utf-8?b?R3LDvMOfZSBhdXMgTcO8bmNoZW4=?='), ('Date', 'Mon, 10 Nov 2025 23:30:00 -0800')],
    'Viele Grüße aus der Stadt.\n', )
add('RS', [('From', '=?utf-8?b?5bGx55SwIOWkqumDjg==?= <yamada@example.jp>'), ('To', 'alice@example.test'),
           ('Cc', 'Carol <carol@example.net>'), ('Subject', '=?utf-8?b?5Lya6K2w44Gu6K2w5LqL6Yyy?='),
           ('Date', 'Tue, 11 Nov 2025 09:00:00 +0900')],
    'Minutes attached below.\n')
add('S', [('From', 'Carol <carol@example.net>'), ('To', 'alice@example.test'), ('Subject', 'Invoice attached'),
          ('Date', 'Mon, 01 Dec 2025 12:00:00 +0000'), ('MIME-Version', '1.0'),
          ('Content-Type', 'multipart/mixed; boundary="b1"')],
    '--b1\nContent-Type: text/plain; charset=utf-8\n\nPlease find the invoice.\n--b1\n'
    'Content-Type: application/pdf; name="inv.pdf"\nContent-Disposition: attachment; filename="inv.pdf"\n'
    'Content-Transfer-Encoding: base64\n\nJVBERi0xLjQKJcfsj6IK\n--b1--\n')
add('', [('From', 'Dave <dave@example.com>'), ('To', 'alice@example.test'), ('Subject', 'Big logs'),
         ('Date', 'Tue, 02 Dec 2025 08:00:00 +0000')],
    ''.join('log line %05d: nothing to see here, move along please\n' % i for i in range(400)) + 'STACKTRACE at end\n')
add('D', [('From', 'Alice <alice@example.test>'), ('To', 'Bob Builder <bob@example.org>'),
          ('Subject', 'unfinished thoughts'), ('Date', 'Wed, 03 Dec 2025 18:00:00 +0000')],
    'I was thinking about the agenda...\n')
add('', [('From', 'News <news@example.com>'), ('To', 'alice@example.test'), ('Subject', 'Newsletter'),
         ('Date', 'Thu, 04 Dec 2025 07:00:00 +0000'), ('MIME-Version', '1.0'),
         ('Content-Type', 'text/html; charset=utf-8')],
    '<html><body><p>Hello <b>World</b> of offers</p></body></html>\n')
add('S', [('From', 'Chef <chef@example.fr>'), ('To', '=?iso-8859-1?q?Ren=E9?= <rene@example.fr>'),
          ('Subject', 'Menu'), ('Date', 'Fri, 05 Dec 2025 12:00:00 +0100'), ('MIME-Version', '1.0'),
          ('Content-Type', 'text/plain; charset=utf-8'), ('Content-Transfer-Encoding', 'quoted-printable')],
    'Today: caf=C3=A9 cr=C3=A8me and pie.\n')
add('F', [('From', 'Eve <eve@example.net>'), ('To', 'Bob Builder <bob@example.org>, alice@example.test'),
          ('Cc', 'Dave <dave@example.com>'), ('Subject', 'two words here'), ('Date', d(now - 3 * DAY))],
    'A message from a few days ago.\n')
add('', [('From', 'Frank <frank@example.org>'), ('To', 'alice@example.test'), ('Subject', 'Older note'),
         ('Date', d(now - 20 * DAY))],
    'Twenty days ago.\n')
add('S', [('From', '"Smith, John" <john@example.com>'), ('To', 'alice@example.test'),
          ('Subject', 'Re: Quarterly report'), ('Date', 'Sat, 06 Dec 2025 00:30:00 +0000')],
    'Thanks Bob.\n')
add('', [('From', 'Gina <gina@example.org>'), ('To', 'alice@example.test'), ('Subject', 'no date at all')],
    'This one has no Date header.\n')
for i, (flags, hdrs, body) in enumerate(msgs, 1):
    mid = '<m%02d@example.test>' % i
    with open(os.path.join(out, '%02d' % i), 'w') as f:
        for k, v in hdrs:
            f.write('%s: %s\n' % (k, v))
        f.write('Message-ID: %s\n\n%s' % (mid, body))
    with open(os.path.join(out, '%02d.flags' % i), 'w') as f:
        f.write(flags)
