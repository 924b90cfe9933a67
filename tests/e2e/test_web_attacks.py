"""Hostile web pages against the HTTP API, in headless Chromium: what the
red team did by hand, as a test. tests/e2e/browser/attack_test.mjs drives
the browser; this file serves the attacker's site on loopback, starts
devmail and asserts on what devmail stored afterwards:

- a page on another site cannot send mail through POST /api/v1/send: not
  with fetch(mode: 'no-cors') and text/plain, not with a CORS JSON
  request (the preflight is refused), not with a text/plain HTML form;
- it cannot mark a message read by loading its summary from an <img>;
- it cannot open the WebSocket event stream;
- a DNS-rebound name (the server reached as rebind.test) gets 421;
- a mail opened directly at /view/{ID}.html cannot navigate the tab away
  with <meta http-equiv=refresh> (its CSP sandboxes it).

Skipped only when /usr/bin/chromium, node or npm is missing (scripts/deps.sh
installs them; CI has them).
"""
import http.server
import json
import os
import shutil
import subprocess
import threading
import unittest
import urllib.request

from harness import Devmail, send_mail
from test_web_browser import CHROMIUM, WORK, prepare

TIMEOUT_S = 120

ATTACK_PAGE = b"<!doctype html><title>cute cats</title><h1>nothing to see</h1>"


class EvilSite:
    """The attacker's web server: serves /attack.html, records every path."""

    def __init__(self):
        self.hits = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                with outer.lock:
                    outer.hits.append(self.path)
                body = ATTACK_PAGE
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

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


def api_get(dm, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (dm.ports["http"], path), timeout=10) as r:
        return json.loads(r.read())


@unittest.skipIf(not os.path.exists(CHROMIUM) or not shutil.which("npm") or not shutil.which("node"),
                 "chromium, node or npm not installed")
class WebAttackTest(unittest.TestCase):
    def test_other_sites_cannot_use_the_api(self):
        prepare()
        with EvilSite() as evil, Devmail(listen=("smtp", "http")) as dm:
            refresh = ("From: a@example.com\r\nTo: b@example.com\r\nSubject: refresher\r\nMIME-Version: 1.0\r\n"
                       "Content-Type: text/html; charset=utf-8\r\n\r\n"
                       "<html><head><meta http-equiv=\"refresh\" content=\"0;url=http://evil.test:%d/refreshed\">"
                       "</head><body>hello</body></html>\r\n" % evil.port)
            send_mail(dm, refresh)
            send_mail(dm, "From: a@example.com\r\nTo: b@example.com\r\nSubject: still unread\r\n\r\nbody\r\n")
            listing = api_get(dm, "/api/v1/messages")
            self.assertEqual(listing["messages_count"], 2)
            by_subject = {m["Subject"]: m for m in listing["messages"]}
            view_id = by_subject["refresher"]["ID"]
            out = subprocess.run(["node", "attack_test.mjs", str(dm.ports["http"]), str(evil.port), view_id],
                                 cwd=WORK, capture_output=True, text=True, timeout=TIMEOUT_S,
                                 env=dict(os.environ, CHROMIUM=CHROMIUM))
            try:
                seen = json.loads(out.stdout.strip().splitlines()[-1])
            except (IndexError, ValueError):
                self.fail("no JSON result from attack_test.mjs (exit %d):\n%s\n%s"
                          % (out.returncode, out.stdout[-3000:], out.stderr[-3000:]))
            self.assertNotIn("error", seen, seen)
            # the attack page was really loaded from the other site
            self.assertIn("/attack.html", evil.hits)
            # nothing was sent, nothing marked read
            listing = api_get(dm, "/api/v1/messages")
            self.assertEqual(sorted(m["Subject"] for m in listing["messages"]), ["refresher", "still unread"],
                             (seen, dm.log_text()[-3000:]))
            self.assertFalse({m["Subject"]: m for m in listing["messages"]}["still unread"]["Read"])
            self.assertNotEqual(seen["attack"]["cors"], "status 200", seen)
            self.assertEqual(seen["attack"]["ws"], "refused", seen)
            # the rebound name is refused
            self.assertEqual(seen["rebind_status"], 421, seen)
            # the mail's meta refresh did not navigate the tab
            self.assertEqual(seen["view_url_after"], seen["view_expected"], seen)
            self.assertNotIn("/refreshed", evil.hits)
            # the refusals are logged
            self.assertIn("refused (403)", dm.log_text())


if __name__ == "__main__":
    unittest.main()
