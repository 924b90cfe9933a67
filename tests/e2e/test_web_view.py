"""Browser test of the message view's workbench (web/view.js) in headless
Chromium: device widths and the dark preview of the mail, the HTML check,
links, spam and lint tabs, the highlighted source, downloads (.eml, .html,
.txt), the print view and copying a header value.

tests/e2e/browser/view_test.mjs does the clicking (see its header). This
side starts two devmails: one with the optional checks off, one with
link_check_allowed = 127.0.0.1 and spamassassin pointing at a fake spamd
here (it answers SPAMD/1.1 with a fixed report, as spamd does for REPORT),
plus a loopback HTTP server the mail links to. Screenshots go to
build/test-output/screenshots/view-*.png.
"""
import http.server
import json
import os
import socket
import threading
import unittest

from harness import Devmail, send_mail
from test_web_browser import BROWSER_MISSING, SHOTS, run_browser_script

BROWSER_TIMEOUT_S = 300  # the whole script; each wait in it is bounded (10 s)

SPAMD_REPORT = ("Spam detection software has identified this incoming email as possible spam.\n\n"
                "Content analysis details:   (7.5 points, 5.0 required)\n\n"
                " pts rule name              description\n"
                "---- ---------------------- --------------------------------------------------\n"
                " 5.0 FAKE_PILLS             Mentions a pill\n"
                " 2.5 FAKE_URGENT            Says act now\n")


class FakeSpamd:
    """Answers every REPORT with the same verdict (7.5 of 5.0: spam)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c:
                c.settimeout(10)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                while len(body) < length:
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    body += chunk
                self.requests += 1
                report = SPAMD_REPORT.encode()
                c.sendall(b"SPAMD/1.1 0 EX_OK\r\nContent-length: %d\r\nSpam: True ; 7.5 / 5.0\r\n\r\n" % len(report)
                          + report)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.sock.close()
        return False


class LinkServer:
    """/ok answers 200, anything else 404; /__hits lists what was asked."""

    def __init__(self):
        self.hits = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                if self.path == "/__hits":
                    body = json.dumps(outer.hits).encode()
                    self.send_response(200)
                else:
                    outer.hits.append(self.path)
                    body = b"ok" if self.path == "/ok" else b"missing"
                    self.send_response(200 if self.path == "/ok" else 404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = _answer

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        return False


def newsletter(links):
    return ("""From: Shop News <news@shop.example>
To: Reader <reader@example.com>
Subject: Spring newsletter
Date: Thu, 03 Dec 2026 10:00:00 +0000
Message-ID: <spring-1@shop.example>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8

Spring sale \u00b7 shop now: {L}/ok
--alt
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: 8bit

<!doctype html>
<html><head>
<meta name="color-scheme" content="light dark">
<style>
body {{ background: #ffffff; color: #111111; margin: 0; font-family: sans-serif; }}
h1 {{ color: #222222; }}
@media (prefers-color-scheme: dark) {{
  body {{ background: rgb(10, 20, 30) !important; color: rgb(230, 230, 230) !important; }}
  h1 {{ color: rgb(250, 250, 250) !important; }}
}}
.cols {{ display: flex; gap: 12px; }}
@media (max-width: 600px) {{
  #col-b {{ display: block; }}
}}
</style></head>
<body>
<h1>Spring sale \u00b7 20 % off</h1>
<div class="cols" id="col-b"><div>Left</div><div>Right</div></div>
<p><a href="{L}/ok">Shop now</a> or <a href="{L}/missing">the old offer</a></p>
<img src="{L}/pic.png" alt="banner" width="100" height="20">
<!-- <img src=x onerror="top.document.title='PWNED'"> -->
<p>&lt;script&gt;top.document.title='PWNED2'&lt;/script&gt;</p>
</body></html>
--alt--
""".replace("{L}", links).replace("{{", "{").replace("}}", "}")).encode().replace(b"\n", b"\r\n")


PLAIN = b"""From: ann@example.com
To: bob@example.com
Subject: Plain text only
Date: Thu, 03 Dec 2026 11:00:00 +0000

Just text.
""".replace(b"\n", b"\r\n")


HOSTILE_SUBJECT = b"""From: "<b>Eve</b>" <eve@example.com>
To: bob@example.com
Subject: <script>alert(1)</script> & more
Date: Thu, 03 Dec 2026 12:00:00 +0000

<img src=x onerror=alert(1)> in the text
""".replace(b"\n", b"\r\n")


def get(port, path):
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=15) as r:
        return r.status, dict(r.headers), r.read()


class ViewRoutesTest(unittest.TestCase):
    """The routes behind the page's buttons, without a browser: ?dl=1
    downloads, ?print=1 escapes the headers and text it shows, ?scheme=
    decides the mail's colour-scheme conditions; all under the view's CSP."""

    def test_download_print_scheme(self):
        with Devmail(listen=("smtp", "http")) as dm:
            port = dm.ports["http"]
            send_mail(dm, newsletter("http://127.0.0.1:9"), rcpt="reader@example.com")
            send_mail(dm, HOSTILE_SUBJECT, rcpt="bob@example.com")
            msgs = json.loads(get(port, "/api/v1/messages")[2])["messages"]
            news = next(m["ID"] for m in msgs if m["Subject"] == "Spring newsletter")
            evil = next(m["ID"] for m in msgs if m["Subject"] != "Spring newsletter")
            full = json.loads(get(port, "/api/v1/message/%s" % news)[2])
            st, h, body = get(port, "/view/%s.html?dl=1" % news)
            self.assertEqual(h["Content-Disposition"], 'attachment; filename="%s.html"' % news)
            self.assertEqual(body.decode(), full["HTML"])
            st, h, body = get(port, "/view/%s.txt?dl=1" % news)
            self.assertEqual(h["Content-Disposition"], 'attachment; filename="%s.txt"' % news)
            self.assertEqual(body.decode(), full["Text"])
            self.assertNotIn("Content-Disposition", get(port, "/view/%s.html" % news)[1])
            # the mail's doctype stays first (what the view adds goes after
            # it), so the mail is shown in standards mode, not quirks mode
            for q in ("", "?scheme=dark"):
                body = get(port, "/view/%s.html%s" % (news, q))[2]
                self.assertTrue(body.startswith(b"<!doctype html>"), body[:80])
                self.assertLess(body.index(b"<base target"), body.index(b"<html"))
            # dark: the mail's dark condition always true, its root dark
            st, h, body = get(port, "/view/%s.html?scheme=dark" % news)
            self.assertIn(b"@media (min-width: 0px) {", body)
            self.assertIn(b":root{color-scheme:dark}", body)
            self.assertNotIn(b"prefers-color-scheme", body)
            self.assertIn("sandbox", h["Content-Security-Policy"])
            body = get(port, "/view/%s.html?scheme=light" % news)[2]
            self.assertIn(b"@media (max-width: 0px) {", body)
            self.assertIn(b"prefers-color-scheme", get(port, "/view/%s.html?scheme=bogus" % news)[2])
            # print: headers escaped, a text mail's text escaped, same policy
            st, h, body = get(port, "/view/%s.html?print=1" % evil)
            self.assertEqual(st, 200)
            self.assertIn(b"&lt;script&gt;alert(1)&lt;/script&gt; &amp; more", body)
            self.assertIn(b"&lt;b&gt;Eve&lt;/b&gt;", body)
            self.assertIn(b"&lt;img src=x onerror=alert(1)&gt; in the text", body)
            self.assertNotIn(b"<script>", body)
            self.assertNotIn(b"<img", body)
            self.assertIn("sandbox", h["Content-Security-Policy"])
            self.assertIn("default-src 'none'", h["Content-Security-Policy"])
            body = get(port, "/view/%s.html?print=1" % news)[2].decode()
            self.assertLess(body.index("Spring newsletter"), body.index("<h1>Spring sale"))
            self.assertIn("news@shop.example", body)


@unittest.skipIf(BROWSER_MISSING, "chromium, node or npm not installed")
class WebViewTest(unittest.TestCase):
    def test_message_view_workbench(self):
        with LinkServer() as links, FakeSpamd() as spamd, \
                Devmail(listen=("smtp", "http")) as off, \
                Devmail(listen=("smtp", "http"),
                        args=["--link-check-allowed", "127.0.0.1",
                              "--spamassassin", "127.0.0.1:%d" % spamd.port]) as on:
            base = "http://127.0.0.1:%d" % links.port
            for dm in (off, on):
                send_mail(dm, newsletter(base), rcpt="reader@example.com")
                send_mail(dm, PLAIN, rcpt="bob@example.com")
            result = run_browser_script(self, "view_test.mjs", [off.ports["http"], on.ports["http"], links.port, SHOTS],
                                        timeout=BROWSER_TIMEOUT_S)
            names = {c["name"] for c in result["checks"]}
            for must in ("phone: the mail's viewport is 375 px wide",
                         "tabs: after Home the tablist is one tab stop",
                         "tabs: the message is still open (the list keys did not take the arrows)",
                         "Dark: the mail's own prefers-color-scheme: dark rule takes effect in the sandboxed frame",
                         "remote images stay blocked in every preview (nothing fetched)",
                         "clicking a finding opens the source at its line, highlighted and scrolled into view",
                         "links: a broken link shows 404, marked bad", "spam: spamd's score and verdict",
                         "spam off: says the check is not enabled and how to turn it on",
                         "links off: says link_check_allowed is empty",
                         "copy: the Subject value is on the clipboard",
                         "download .html: the bytes are the message's", "print: the headers above the body"):
                self.assertIn(must, names)
            self.assertGreaterEqual(spamd.requests, 1)
            self.assertIn("/missing", links.hits)
            for name in ("phone", "dark", "check", "source", "links", "spam", "lint", "headers", "print", "spam-off"):
                self.assertGreater(os.path.getsize(os.path.join(SHOTS, "view-%s.png" % name)), 1000)


if __name__ == "__main__":
    unittest.main()
