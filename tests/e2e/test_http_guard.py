"""Who may use the HTTP API, over the wire (the browser side is in
test_web_attacks.py): the Host check for browsers, Origin checks for
state changes, the JSON Content-Type rule (415), CORS off by default and
on for http_cors_origins (preflight, Access-Control-Allow-Origin), and
the headers that keep a stored mail from acting as a page."""
import unittest

from harness import Devmail
from test_http_api import Api, plain, smtp_send

SEND = {"From": {"Email": "a@example.org"}, "To": [{"Email": "b@example.com"}], "Subject": "via api", "Text": "x"}


class GuardDefaults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dm = Devmail(listen=("smtp", "http")).__enter__()
        cls.api = Api(cls.dm.ports["http"])

    @classmethod
    def tearDownClass(cls):
        cls.dm.__exit__(None, None, None)

    def count(self):
        return self.api.get("/api/v1/messages")[2]["messages_count"]

    def test_json_content_type_required(self):
        before = self.count()
        for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
            st, _, text = self.api.request("POST", "/api/v1/send", b'{"a":1}', headers={"Content-Type": ctype})
            self.assertEqual(st, 415, (ctype, text))
            self.assertIn("application/json", text)
        self.assertEqual(self.count(), before)
        st, _, j = self.api.request("POST", "/api/v1/send", SEND)
        self.assertEqual(st, 200, j)
        self.assertEqual(self.count(), before + 1)

    def test_cross_origin_state_change_refused(self):
        before = self.count()
        for origin in ("http://evil.example", "http://127.0.0.1:1", "null"):
            st, h, text = self.api.request("POST", "/api/v1/send", SEND, headers={"Origin": origin})
            self.assertEqual(st, 403, (origin, text))
            self.assertIsNone(h.get("Access-Control-Allow-Origin"))
        st, _, _ = self.api.request("DELETE", "/api/v1/messages", headers={"Sec-Fetch-Site": "cross-site"})
        self.assertEqual(st, 403)
        self.assertEqual(self.count(), before)
        # the page itself
        own = "http://127.0.0.1:%d" % self.dm.ports["http"]
        self.assertEqual(self.api.request("POST", "/api/v1/send", SEND, headers={"Origin": own})[0], 200)
        self.assertIn("refused (403)", self.dm.log_text())

    def test_host_names(self):
        # a browser under a foreign name: DNS rebinding
        st, _, text = self.api.get("/api/v1/messages", headers={"Host": "rebind.example:8025",
                                                                  "User-Agent": "Mozilla/5.0 (X11; Linux x86_64)"})
        self.assertEqual(st, 421, text)
        # the server's names and addresses
        for host in ("localhost:8025", "app.localhost", "127.0.0.1:8025", "[::1]:8025"):
            st, _, _ = self.api.get("/api/v1/messages", headers={"Host": host, "User-Agent": "Mozilla/5.0"})
            self.assertEqual(st, 200, host)
        # not a browser: a container may call the server by its service name
        self.assertEqual(self.api.get("/api/v1/messages", headers={"Host": "devmail:8025"})[0], 200)

    def test_cors_off_by_default(self):
        st, h, _ = self.api.request("OPTIONS", "/api/v1/send", headers={
            "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})
        self.assertEqual(st, 403)
        self.assertIsNone(h.get("Access-Control-Allow-Origin"))
        st, h, _ = self.api.get("/api/v1/messages", headers={"Origin": "http://localhost:3000"})
        self.assertEqual(st, 200)
        self.assertIsNone(h.get("Access-Control-Allow-Origin"))

    def test_mail_is_not_a_page(self):
        smtp_send(self.dm, "From: a@example.org\r\nTo: b@example.com\r\nSubject: html\r\nMIME-Version: 1.0\r\n"
                           "Content-Type: text/html\r\n\r\n<meta http-equiv=refresh content='0;url=http://x/'>hi\r\n")
        msgs = self.api.get("/api/v1/search?query=subject:html")[2]["messages"]
        mid = msgs[0]["ID"]
        st, h, _ = self.api.get("/view/%s.html" % mid)
        self.assertEqual(st, 200)
        csp = h["Content-Security-Policy"]
        self.assertTrue(csp.startswith("sandbox"), csp)
        self.assertNotIn("allow-scripts", csp)
        self.assertNotIn("allow-same-origin", csp)
        st, h, _ = self.api.get("/api/v1/message/%s/raw" % mid, raw=True)
        self.assertEqual((st, h["X-Content-Type-Options"]), (200, "nosniff"))


class GuardCors(unittest.TestCase):
    def test_allowed_origin(self):
        with Devmail(listen=("smtp", "http"),
                     args=["--http-cors-origins", "http://localhost:3000", "--http-allowed-hosts", "devbox"]) as dm:
            api = Api(dm.ports["http"])
            st, h, _ = api.request("OPTIONS", "/api/v1/send", headers={
                "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"})
            self.assertEqual(st, 204)
            self.assertEqual(h["Access-Control-Allow-Origin"], "http://localhost:3000")
            self.assertIn("POST", h["Access-Control-Allow-Methods"])
            self.assertIn("Content-Type", h["Access-Control-Allow-Headers"])
            st, h, j = api.request("POST", "/api/v1/send", SEND, headers={"Origin": "http://localhost:3000"})
            self.assertEqual(st, 200, j)
            self.assertEqual(h["Access-Control-Allow-Origin"], "http://localhost:3000")
            self.assertEqual(h["Vary"], "Origin")
            # another origin still is not
            st, h, _ = api.request("POST", "/api/v1/send", SEND, headers={"Origin": "http://localhost:3001"})
            self.assertEqual(st, 403)
            self.assertIsNone(h.get("Access-Control-Allow-Origin"))
            # an extra Host name for browsers
            st, _, _ = api.get("/api/v1/messages", headers={"Host": "devbox:8025", "User-Agent": "Mozilla/5.0"})
            self.assertEqual(st, 200)
            smtp_send(dm, plain("x"))


if __name__ == "__main__":
    unittest.main()
