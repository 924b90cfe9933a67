"""Drop-in compatibility with Mailpit v1.30, checked against what Mailpit's
own code answers: its router's path cleaning (Go's ServeMux redirects
"//view/ID.html" to "/view/ID.html"), 405 with Allow, and the API shapes
of the items below, each through curl-like raw HTTP (http.client, no
redirect following).
"""
import http.client
import json
import smtplib
import unittest

from harness import Devmail


def raw(port, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    hdrs = dict(headers or {})
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    c.request(method, path, body=data, headers=hdrs)
    r = c.getresponse()
    payload = r.read()
    c.close()
    if payload and (r.getheader("Content-Type") or "").startswith("application/json"):
        return r.status, r, json.loads(payload)
    return r.status, r, payload.decode("utf-8", "replace")


def smtp_send(dm, msg, rcpts=("bob@example.com",), frm="sender@example.org", login=None):
    s = smtplib.SMTP("127.0.0.1", dm.ports["smtp"], timeout=10)
    if login:
        s.login(*login)
    s.sendmail(frm, list(rcpts), msg.encode() if isinstance(msg, str) else msg)
    s.quit()


def plain(subject, to="bob@example.com", extra=""):
    return "From: sender@example.org\r\nTo: %s\r\nSubject: %s\r\n%s\r\nhello\r\n" % (to, subject, extra)


class RouterTest(unittest.TestCase):
    def setUp(self):
        self.dm = Devmail(listen=("smtp", "http")).start()
        self.port = self.dm.ports["http"]

    def tearDown(self):
        self.dm.stop()

    def latest_id(self):
        st, _, m = raw(self.port, "GET", "/api/v1/messages")
        return m["messages"][0]["ID"]

    def test_doubled_slashes_redirect_like_servemux(self):
        smtp_send(self.dm, plain("one"))
        mid = self.latest_id()
        st, r, body = raw(self.port, "GET", "//view/%s.html" % mid)
        self.assertEqual(st, 301)
        self.assertEqual(r.getheader("Location"), "/view/%s.html" % mid)
        self.assertEqual(body, '<a href="/view/%s.html">Moved Permanently</a>.\n\n' % mid)
        # the query is kept; dot segments go too
        st, r, _ = raw(self.port, "GET", "/api//v1/./messages?limit=1")
        self.assertEqual((st, r.getheader("Location")), (301, "/api/v1/messages?limit=1"))
        st, r, body = raw(self.port, "GET", "/view/../api/v1/message/%s/raw" % mid)
        self.assertEqual((st, r.getheader("Location")), (301, "/api/v1/message/%s/raw" % mid))
        # other methods: the same redirect without a body
        st, r, body = raw(self.port, "DELETE", "//api/v1/messages", {"IDs": [mid]})
        self.assertEqual((st, r.getheader("Location"), body), (301, "/api/v1/messages", ""))
        self.assertEqual(raw(self.port, "GET", "/api/v1/messages")[2]["total"], 1)
        # the clean path answers
        st, r, text = raw(self.port, "GET", "/view/%s.txt" % mid)
        self.assertEqual(st, 200)
        self.assertIn("hello", text)

    def test_redirect_comes_before_login(self):
        self.dm.stop()
        self.dm = Devmail(listen=("smtp", "http"), passdb="u@example.com:{PLAIN}pw\n").start()
        self.port = self.dm.ports["http"]
        st, r, _ = raw(self.port, "GET", "//view/latest.html")
        self.assertEqual((st, r.getheader("Location")), (301, "/view/latest.html"))
        self.assertEqual(raw(self.port, "GET", "/view/latest.html")[0], 401)

    def test_methods_and_unknown_paths(self):
        st, r, _ = raw(self.port, "POST", "/api/v1/messages", {})
        self.assertEqual(st, 405)
        self.assertEqual(r.getheader("Allow"), "GET, PUT, DELETE")
        st, r, _ = raw(self.port, "GET", "/api/v1/send")
        self.assertEqual((st, r.getheader("Allow")), (405, "POST"))
        self.assertEqual(raw(self.port, "HEAD", "/api/v1/info")[0], 200)
        self.assertEqual(raw(self.port, "GET", "/api/v1/messages/")[0], 404)
        self.assertEqual(raw(self.port, "GET", "/api/v1/message/x/nothing")[0], 404)


if __name__ == "__main__":
    unittest.main()
