"""The HTTP server and Mailpit-compatible JSON API, driven by real clients
(Python urllib, curl, raw sockets): every endpoint with its errors, the
?wait= long-poll woken by SMTP delivery, flag sync with the Maildir, the
WebSocket event stream, basic auth with per-account views, keep-alive
and request framing errors.
"""
import base64
import hashlib
import json
import os
import shutil
import smtplib
import socket
import subprocess
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from harness import Devmail

MULTIPART = (
    "From: Alice Example <alice@example.org>\r\n"
    "To: Bob <bob@example.com>, carol@example.com\r\n"
    "Cc: Dave <dave@example.com>\r\n"
    "Reply-To: replies@example.org\r\n"
    "Subject: =?utf-8?q?Caf=C3=A9_report?=\r\n"
    "Message-ID: <report-1@example.org>\r\n"
    "Date: Tue, 04 Mar 2025 10:00:00 +0000\r\n"
    "List-Unsubscribe: <mailto:unsub@example.org>, <https://example.org/unsub>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=OUTER\r\n"
    "\r\n"
    "--OUTER\r\n"
    "Content-Type: multipart/related; boundary=REL\r\n"
    "\r\n"
    "--REL\r\n"
    "Content-Type: multipart/alternative; boundary=ALT\r\n"
    "\r\n"
    "--ALT\r\n"
    "Content-Type: text/plain; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Caf=E9 numbers are up. Reset link: https://app.example/reset?t=42\r\n"
    "--ALT\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "\r\n"
    "<p>Café <img src=\"cid:logo@x\"> <img src=\"https://tracker.example/p.gif\"></p>\r\n"
    "--ALT--\r\n"
    "--REL\r\n"
    "Content-Type: image/png\r\n"
    "Content-ID: <logo@x>\r\n"
    "Content-Disposition: inline; filename=logo.png\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "iVBORw0KGgo=\r\n"
    "--REL--\r\n"
    "--OUTER\r\n"
    "Content-Type: application/pdf; name=report.pdf\r\n"
    "Content-Disposition: attachment; filename=report.pdf\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "JVBERi0xLjQKaGVsbG8K\r\n"
    "--OUTER--\r\n")


def plain(subject, frm="sender@example.org", to="bob@example.com", body="hello"):
    return ("From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@t>\r\n\r\n%s\r\n"
            % (frm, to, subject, subject.replace(" ", "-"), body))


class Api:
    def __init__(self, port, auth=None):
        self.base = "http://127.0.0.1:%d" % port
        self.auth = auth

    def request(self, method, path, body=None, headers=None, raw=False):
        data = None
        hdrs = dict(headers or {})
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        if self.auth:
            hdrs["Authorization"] = "Basic " + base64.b64encode(self.auth.encode()).decode()
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                payload = r.read()
                return r.status, r.headers, payload if raw else self._decode(r.headers, payload)
        except urllib.error.HTTPError as e:
            payload = e.read()
            return e.code, e.headers, payload if raw else self._decode(e.headers, payload)

    @staticmethod
    def _decode(headers, payload):
        if (headers.get("Content-Type") or "").startswith("application/json"):
            return json.loads(payload)
        return payload.decode("utf-8", "replace")

    def get(self, path, **kw):
        return self.request("GET", path, **kw)


def smtp_send(dm, msg, rcpts=("bob@example.com",), frm="sender@example.org"):
    s = smtplib.SMTP("127.0.0.1", dm.ports["smtp"], timeout=10)
    data = msg.encode("utf-8", "surrogateescape") if isinstance(msg, str) else msg
    s.sendmail(frm, list(rcpts), data)
    s.quit()


def ws_connect(port, origin=None, host=None, path="/api/events", auth=None):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    lines = ["GET %s HTTP/1.1" % path, "Host: %s" % (host or "127.0.0.1:%d" % port), "Upgrade: websocket",
             "Connection: Upgrade", "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13"]
    if origin:
        lines.append("Origin: " + origin)
    if auth:
        lines.append("Authorization: Basic " + base64.b64encode(auth.encode()).decode())
    s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            break
        head += chunk
    return s, key, head.decode("latin-1")


def ws_read_frame(s):
    def recv_exact(n):
        out = b""
        while len(out) < n:
            c = s.recv(n - len(out))
            if not c:
                raise EOFError
            out += c
        return out
    b0, b1 = recv_exact(2)
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(recv_exact(2), "big")
    elif n == 127:
        n = int.from_bytes(recv_exact(8), "big")
    assert not (b1 & 0x80), "server frames are not masked"
    return b0 & 0x0F, recv_exact(n)


def ws_send_frame(s, opcode, payload=b""):
    mask = os.urandom(4)
    assert len(payload) < 126
    s.sendall(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask +
              bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def ws_next_json(s, want_type, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        op, payload = ws_read_frame(s)
        if op == 1:
            f = json.loads(payload)
            if f["Type"] == want_type:
                return f
    raise AssertionError("no %s frame" % want_type)


class HttpApiTest(unittest.TestCase):
    def setUp(self):
        self.dm = Devmail(listen=("smtp", "http"))
        self.dm.start()
        self.api = Api(self.dm.ports["http"])

    def tearDown(self):
        self.dm.__exit__(None, None, None)

    def ids(self):
        st, _, j = self.api.get("/api/v1/messages")
        self.assertEqual(st, 200)
        return [m["ID"] for m in j["messages"]]

    # ---- list and summaries --------------------------------------------------

    def test_list_summary_fields_and_paging(self):
        st, h, j = self.api.get("/api/v1/messages")
        self.assertEqual(st, 200)
        self.assertTrue(h["Content-Type"].startswith("application/json"))
        self.assertEqual(j, {"total": 0, "unread": 0, "count": 0, "messages_count": 0, "messages_unread": 0,
                             "start": 0, "tags": [], "messages": []})
        smtp_send(self.dm, MULTIPART, rcpts=("bob@example.com", "secret@example.net"), frm="bounce@example.org")
        for i in range(3):
            smtp_send(self.dm, plain("msg %d" % i))
        st, _, j = self.api.get("/api/v1/messages")
        self.assertEqual((j["total"], j["unread"], j["count"], j["messages_count"]), (4, 4, 4, 4))
        self.assertEqual([m["Subject"] for m in j["messages"]], ["msg 2", "msg 1", "msg 0", "Café report"])
        m = j["messages"][3]
        self.assertEqual(m["MessageID"], "report-1@example.org")
        self.assertFalse(m["Read"])
        self.assertEqual(m["From"], {"Name": "Alice Example", "Address": "alice@example.org"})
        self.assertEqual(m["To"], [{"Name": "Bob", "Address": "bob@example.com"},
                                   {"Name": "", "Address": "carol@example.com"}])
        self.assertEqual(m["Cc"], [{"Name": "Dave", "Address": "dave@example.com"}])
        self.assertEqual(m["Bcc"], [{"Name": "", "Address": "secret@example.net"}])
        self.assertEqual(m["ReplyTo"], [{"Name": "", "Address": "replies@example.org"}])
        self.assertEqual(m["Attachments"], 1)
        self.assertEqual(m["Tags"], [])
        self.assertIn("Café numbers are up", m["Snippet"])
        self.assertRegex(m["Created"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertGreater(m["Size"], len(MULTIPART) - 100)
        # paging
        st, _, j = self.api.get("/api/v1/messages?start=1&limit=2")
        self.assertEqual((j["count"], j["start"], j["total"]), (2, 1, 4))
        self.assertEqual([m["Subject"] for m in j["messages"]], ["msg 1", "msg 0"])
        for bad in ("start=-1", "limit=x", "start=1e3"):
            st, _, body = self.api.get("/api/v1/messages?" + bad)
            self.assertEqual(st, 400, bad)
            self.assertIn("non-negative", body)

    def test_message_detail_parts_headers_raw(self):
        smtp_send(self.dm, MULTIPART)
        mid = self.ids()[0]
        st, _, m = self.api.get("/api/v1/message/" + mid)
        self.assertEqual(st, 200)
        self.assertEqual(m["ID"], mid)
        self.assertEqual(m["ReturnPath"], "sender@example.org")
        self.assertEqual(m["Date"], "2025-03-04T10:00:00Z")
        self.assertIn("Café numbers are up", m["Text"])
        self.assertIn("<p>Café", m["HTML"])
        self.assertEqual(m["ListUnsubscribe"]["Links"], ["mailto:unsub@example.org", "https://example.org/unsub"])
        self.assertEqual(len(m["Inline"]), 1)
        inl = m["Inline"][0]
        self.assertEqual((inl["FileName"], inl["ContentType"], inl["ContentID"]), ("logo.png", "image/png", "logo@x"))
        self.assertEqual(len(m["Attachments"]), 1)
        att = m["Attachments"][0]
        pdf = base64.b64decode("JVBERi0xLjQKaGVsbG8K")
        self.assertEqual((att["FileName"], att["ContentType"], att["Size"]), ("report.pdf", "application/pdf", len(pdf)))
        self.assertEqual(att["Checksums"], {"MD5": hashlib.md5(pdf).hexdigest(), "SHA1": hashlib.sha1(pdf).hexdigest(),
                                            "SHA256": hashlib.sha256(pdf).hexdigest()})
        self.assertEqual(att["PartID"], "2")
        # fetching marked it read, in the index and the Maildir file name
        st, _, j = self.api.get("/api/v1/messages")
        self.assertTrue(j["messages"][0]["Read"])
        self.assertEqual(j["unread"], 0)
        self.assertTrue(any(p.endswith(":2,S") for p in self.dm.messages("catchall@localhost", "cur")))
        # part download with its own type
        st, h, body = self.api.get("/api/v1/message/%s/part/%s" % (mid, att["PartID"]), raw=True)
        self.assertEqual((st, body), (200, pdf))
        self.assertEqual(h["Content-Type"], "application/pdf")
        self.assertIn("attachment", h["Content-Disposition"])
        self.assertIn("sandbox", h["Content-Security-Policy"])
        st, _, _ = self.api.get("/api/v1/message/%s/part/9" % mid)
        self.assertEqual(st, 404)
        # a thumbnail now, as Mailpit (a blank one: this PNG is only a signature)
        st, h, _ = self.api.get("/api/v1/message/%s/part/%s/thumb" % (mid, inl["PartID"]), raw=True)
        self.assertEqual((st, h["Content-Type"]), (200, "image/jpeg"))
        # headers
        st, _, hd = self.api.get("/api/v1/message/%s/headers" % mid)
        self.assertEqual(hd["Subject"], ["Café report"])
        self.assertEqual(hd["X-Original-To"], ["bob@example.com"])
        self.assertIn("Received", hd)
        # raw, via curl as well
        st, h, raw = self.api.get("/api/v1/message/%s/raw" % mid, raw=True)
        self.assertEqual(st, 200)
        self.assertIn(b"Subject: =?utf-8?q?Caf=C3=A9_report?=", raw)
        self.assertTrue(raw.startswith(b"Return-Path: <sender@example.org>"))
        if shutil.which("curl"):
            out = subprocess.run(["curl", "-sf", self.api.base + "/api/v1/message/latest/raw"],
                                 capture_output=True, timeout=30)
            self.assertEqual(out.returncode, 0)
            self.assertEqual(out.stdout, raw)
        # latest works everywhere
        st, _, latest = self.api.get("/api/v1/message/latest")
        self.assertEqual(latest["ID"], mid)
        # unknown IDs: 404 on every message route
        for p in ("", "/headers", "/raw", "/part/1"):
            st, _, _ = self.api.get("/api/v1/message/nosuchid" + p)
            self.assertEqual(st, 404, p)
        st, _, _ = self.api.get("/view/nosuchid.html")
        self.assertEqual(st, 404)

    def test_views_have_strict_policy(self):
        smtp_send(self.dm, MULTIPART)
        mid = self.ids()[0]
        st, h, html = self.api.get("/view/%s.html" % mid)
        self.assertEqual(st, 200)
        self.assertTrue(h["Content-Type"].startswith("text/html"))
        csp = h["Content-Security-Policy"]
        self.assertIn("default-src 'none'", csp)
        self.assertNotIn("script-src", csp)
        self.assertNotIn("https:", csp)
        self.assertEqual(h["X-Frame-Options"], "SAMEORIGIN")
        # inline images point at the part URL
        self.assertIn('src="/api/v1/message/%s/part/1.2"' % mid, html)
        st, h, _ = self.api.get("/view/%s.html?remote=1" % mid)
        self.assertIn("https:", h["Content-Security-Policy"])
        st, h, txt = self.api.get("/view/%s.txt" % mid)
        self.assertEqual(st, 200)
        self.assertTrue(h["Content-Type"].startswith("text/plain"))
        self.assertIn("Café numbers", txt)
        smtp_send(self.dm, plain("text only"))
        st, _, _ = self.api.get("/view/latest.html")
        self.assertEqual(st, 404)

    # ---- mutations ---------------------------------------------------------

    def test_put_read_syncs_maildir_flags(self):
        for i in range(3):
            smtp_send(self.dm, plain("m%d" % i))
        ids = self.ids()
        st, h, body = self.api.request("PUT", "/api/v1/messages", {"IDs": ids[:1], "Read": True})
        self.assertEqual((st, body), (200, "ok"))
        self.assertTrue(h["Content-Type"].startswith("text/plain"))
        st, _, j = self.api.get("/api/v1/messages")
        self.assertEqual(j["unread"], 2)
        cur = self.dm.messages("catchall@localhost", "cur")
        self.assertEqual(len([p for p in cur if p.endswith(":2,S")]), 1)
        # no IDs: all
        self.api.request("PUT", "/api/v1/messages", {"Read": True})
        self.assertEqual(self.api.get("/api/v1/messages")[2]["unread"], 0)
        self.assertEqual(len([p for p in self.dm.messages("catchall@localhost", "cur") if p.endswith(":2,S")]), 3)
        self.api.request("PUT", "/api/v1/messages", {"IDs": ids, "Read": False})
        self.assertEqual(self.api.get("/api/v1/messages")[2]["unread"], 3)
        self.assertFalse(any(p.endswith("S") for p in self.dm.messages("catchall@localhost", "cur")))
        # errors
        st, _, body = self.api.request("PUT", "/api/v1/messages", {"IDs": ["nope"], "Read": True})
        self.assertEqual(st, 404)
        st, _, body = self.api.request("PUT", "/api/v1/messages", b"{not json")
        self.assertEqual(st, 400)
        self.assertIn("JSON", body)
        st, _, body = self.api.request("PUT", "/api/v1/messages", {"IDs": "x"})
        self.assertEqual(st, 400)
        st, _, _ = self.api.request("POST", "/api/v1/messages", {})
        self.assertEqual(st, 405)

    def test_delete_messages(self):
        for i in range(4):
            smtp_send(self.dm, plain("d%d" % i))
        ids = self.ids()
        st, _, body = self.api.request("DELETE", "/api/v1/messages", {"IDs": ids[:2]})
        self.assertEqual((st, body), (200, "ok"))
        self.assertEqual(self.ids(), ids[2:])
        self.assertEqual(len(self.dm.read_messages("catchall@localhost")), 2)
        st, _, _ = self.api.request("DELETE", "/api/v1/messages", {"IDs": ["nope"]})
        self.assertEqual(st, 404)
        self.assertEqual(len(self.ids()), 2)
        st, _, _ = self.api.request("DELETE", "/api/v1/messages", b"[")
        self.assertEqual(st, 400)
        st, _, _ = self.api.request("DELETE", "/api/v1/messages")
        self.assertEqual(st, 200)
        self.assertEqual(self.ids(), [])
        self.assertEqual(self.dm.read_messages("catchall@localhost"), [])

    # ---- search -----------------------------------------------------------------

    def test_search_and_delete_search(self):
        smtp_send(self.dm, MULTIPART)
        smtp_send(self.dm, plain("Invoice 7", frm="billing@shop.example"))
        smtp_send(self.dm, plain("Welcome aboard", body="activate your account"))
        q = lambda s: self.api.get("/api/v1/search?query=" + urllib.parse.quote(s))
        st, _, j = q("from:billing@shop.example")
        self.assertEqual((st, j["messages_count"], j["total"]), (200, 1, 3))
        self.assertEqual(j["messages"][0]["Subject"], "Invoice 7")
        self.assertEqual(q("café")[2]["messages_count"], 1)
        self.assertEqual(q("subject:\"welcome aboard\"")[2]["messages_count"], 1)
        self.assertEqual(q("activate")[2]["messages_count"], 1)
        self.assertEqual(q("has:attachment")[2]["messages_count"], 1)
        self.assertEqual(q("-has:attachment is:unread")[2]["messages_count"], 2)
        st, _, body = q("")
        self.assertEqual(st, 400)
        st, _, body = q("before:2024-13-45")
        self.assertEqual(st, 400)
        self.assertIn("date", body)
        st, _, body = self.api.get("/api/v1/search?query=x&wait=soon")
        self.assertEqual(st, 400)
        st, _, body = self.api.request("DELETE", "/api/v1/search?query=" + urllib.parse.quote("from:billing@shop.example"))
        self.assertEqual((st, body), (200, "ok"))
        self.assertEqual(len(self.ids()), 2)
        st, _, _ = self.api.request("DELETE", "/api/v1/search?query=")
        self.assertEqual(st, 400)
        self.assertEqual(len(self.ids()), 2)

    def test_wait_is_answered_at_delivery(self):
        out = {}

        def waiter(key, path):
            t0 = time.time()
            out[key] = self.api.get(path) + (time.time(),)
            out[key + "_t0"] = t0

        threads = [threading.Thread(target=waiter, args=("search", "/api/v1/search?query=subject%3Aotp&wait=20s")),
                   threading.Thread(target=waiter, args=("latest", "/api/v1/message/latest?wait=20s")),
                   threading.Thread(target=waiter, args=("other", "/api/v1/search?query=subject%3Anever&wait=1s")),
                   # free text (FTS5) matched over rounds by one compiled statement
                   threading.Thread(target=waiter, args=("text", "/api/v1/search?query=123456&wait=20s"))]
        for t in threads:
            t.start()
        time.sleep(0.5)
        self.assertEqual(out, {})
        smtp_send(self.dm, plain("unrelated"))
        time.sleep(0.3)
        self.assertNotIn("search", out)
        self.assertNotIn("text", out)
        self.assertIn("latest", out)
        self.assertEqual(out["latest"][2]["Subject"], "unrelated")
        smtp_send(self.dm, plain("your otp 123456"))
        t250 = time.time()
        for t in threads:
            t.join(30)
        st, _, j, t_done = out["search"]
        self.assertEqual(st, 200)
        self.assertEqual(j["messages_count"], 1)
        self.assertEqual(j["messages"][0]["Subject"], "your otp 123456")
        self.assertLess(t_done - t250, 0.5)
        st, _, j, t_done = out["text"]
        self.assertEqual((st, j["messages_count"]), (200, 1))
        self.assertLess(t_done - t250, 0.5)
        # the one that never matches times out and answers as without wait
        st, _, j, t_done = out["other"]
        self.assertEqual((st, j["messages_count"]), (200, 0))
        self.assertGreaterEqual(t_done - out["other_t0"], 0.9)
        # already matching: answered at once
        t0 = time.time()
        st, _, j = self.api.get("/api/v1/search?query=otp&wait=20s")
        self.assertLess(time.time() - t0, 1)
        self.assertEqual(j["messages_count"], 1)
        st, _, text = self.api.get("/metrics")
        self.assertIn("devmail_http_waiting 0", text)

    def test_many_waiters_then_client_gone(self):
        socks = []
        for _ in range(200):
            s = socket.create_connection(("127.0.0.1", self.dm.ports["http"]))
            s.sendall(b"GET /api/v1/message/latest?wait=60s HTTP/1.1\r\nHost: x\r\n\r\n")
            socks.append(s)
        deadline = time.time() + 10
        while time.time() < deadline:
            if "devmail_http_waiting 200" in self.api.get("/metrics")[2]:
                break
            time.sleep(0.05)
        self.assertIn("devmail_http_waiting 200", self.api.get("/metrics")[2])
        for s in socks[:100]:
            s.close()
        smtp_send(self.dm, plain("wake"))
        for s in socks[100:]:
            s.settimeout(10)
            data = b""
            while b"wake" not in data:
                c = s.recv(65536)
                if not c:
                    break
                data += c
            self.assertIn(b"HTTP/1.1 200 OK", data)
            self.assertIn(b'"Subject":"wake"', data)
            s.close()
        time.sleep(0.2)
        self.assertIn("devmail_http_waiting 0", self.api.get("/metrics")[2])

    # ---- send and tags --------------------------------------------------------------

    def test_send_and_tags(self):
        body = {"From": {"Email": "app@example.org", "Name": "The App"},
                "To": [{"Email": "user@example.com", "Name": "User"}], "Cc": [{"Email": "cc@example.com"}],
                "Bcc": ["hidden@example.com"], "ReplyTo": [{"Email": "help@example.org"}],
                "Subject": "Grüße", "Text": "plain body", "HTML": "<b>html body</b>",
                "Attachments": [{"Content": base64.b64encode(b"a,b\n1,2\n").decode(), "Filename": "data.csv",
                                 "ContentType": "text/csv"}],
                "Headers": {"X-Campaign": "spring"}, "Tags": ["signup", "urgent"]}
        st, _, j = self.api.request("POST", "/api/v1/send", body)
        self.assertEqual(st, 200, j)
        mid = j["ID"]
        st, _, m = self.api.get("/api/v1/message/" + mid)
        self.assertEqual(m["Subject"], "Grüße")
        self.assertEqual(m["From"], {"Name": "The App", "Address": "app@example.org"})
        self.assertEqual(m["Bcc"], [{"Name": "", "Address": "hidden@example.com"}])
        self.assertEqual(m["Text"].strip(), "plain body")
        self.assertEqual(m["HTML"].strip(), "<b>html body</b>")
        self.assertEqual(m["Attachments"][0]["FileName"], "data.csv")
        self.assertEqual(m["Attachments"][0]["Size"], 8)
        self.assertEqual(sorted(m["Tags"]), ["signup", "urgent"])
        st, _, hd = self.api.get("/api/v1/message/%s/headers" % mid)
        self.assertEqual(hd["X-Campaign"], ["spring"])
        self.assertNotIn("Bcc", hd)
        # tags
        st, _, tags = self.api.get("/api/v1/tags")
        self.assertEqual(tags, ["signup", "urgent"])
        smtp_send(self.dm, plain("second"))
        other = self.ids()[0]
        st, _, body = self.api.request("PUT", "/api/v1/tags", {"Tags": ["later"], "IDs": [other]})
        self.assertEqual((st, body), (200, "ok"))
        self.assertEqual(self.api.get("/api/v1/tags")[2], ["later", "signup", "urgent"])
        st, _, j = self.api.get("/api/v1/search?query=tag%3Alater")
        self.assertEqual([x["ID"] for x in j["messages"]], [other])
        st, _, _ = self.api.request("PUT", "/api/v1/tags/urgent", {"Name": "asap"})
        self.assertEqual(st, 200)
        st, _, _ = self.api.request("DELETE", "/api/v1/tags/signup")
        self.assertEqual(st, 200)
        self.assertEqual(self.api.get("/api/v1/tags")[2], ["asap", "later"])
        self.assertEqual(self.api.get("/api/v1/messages")[2]["tags"], ["asap", "later"])
        # errors
        # a tag may have spaces (Mailpit's names); other characters are cleaned away
        st, _, _ = self.api.request("PUT", "/api/v1/tags", {"Tags": ["two words!"], "IDs": [other]})
        self.assertEqual(st, 200)
        self.assertEqual(self.api.get("/api/v1/message/" + other)[2]["Tags"], ["two words"])
        st, _, _ = self.api.request("PUT", "/api/v1/tags", {"Tags": ["x"], "IDs": ["nope"]})
        self.assertEqual(st, 404)
        st, _, body = self.api.request("POST", "/api/v1/send", {"To": [{"Email": "a@b.c"}]})
        self.assertEqual(st, 400)
        self.assertIn("From", body["Error"])  # Mailpit: {"Error": ...}
        st, _, body = self.api.request("POST", "/api/v1/send", {"From": {"Email": "a@b.c"}})
        self.assertEqual(st, 400)
        st, _, body = self.api.request("POST", "/api/v1/send", b"{\"From\":")
        self.assertEqual(st, 400)

    def test_tags_add_remove_and_search(self):
        """devmail's PUT /api/v1/tags additions: Add/Remove keep a message's
        other tags; Search names every match, beyond any page."""
        for i in range(60):
            smtp_send(self.dm, plain("bulk %d" % i))
        smtp_send(self.dm, plain("lonely"))
        ids = self.ids()
        st, _, _ = self.api.request("PUT", "/api/v1/tags", {"Tags": ["keep me"], "IDs": ids[:2]})
        self.assertEqual(st, 200)
        st, _, body = self.api.request("PUT", "/api/v1/tags", {"Add": ["new one"], "IDs": ids[:3]})
        self.assertEqual((st, body), (200, "ok"))
        self.assertEqual(sorted(self.api.get("/api/v1/message/" + ids[0])[2]["Tags"]), ["keep me", "new one"])
        self.assertEqual(self.api.get("/api/v1/message/" + ids[2])[2]["Tags"], ["new one"])
        st, _, _ = self.api.request("PUT", "/api/v1/tags", {"Remove": ["Keep Me"], "IDs": ids[:1]})
        self.assertEqual(self.api.get("/api/v1/message/" + ids[0])[2]["Tags"], ["new one"])
        # every match of a search, 60 of them (more than a page of 50)
        st, _, body = self.api.request("PUT", "/api/v1/tags", {"Add": ["bulk"], "Search": "subject:bulk"})
        self.assertEqual((st, body), (200, "ok"))
        st, _, info = self.api.get("/api/v1/info")
        self.assertEqual(info["Tags"], {"bulk": 60, "keep me": 1, "new one": 3})
        st, _, j = self.api.get("/api/v1/search?query=" + urllib.parse.quote('tag:"new one"'))
        self.assertEqual(j["messages_count"], 3)
        st, _, _ = self.api.request("PUT", "/api/v1/tags", {"Remove": ["bulk"], "Search": "bulk"})
        self.assertEqual(self.api.get("/api/v1/info")[2]["Tags"], {"keep me": 1, "new one": 3})
        # neither IDs nor Search: every message, as PUT /api/v1/messages
        st, _, _ = self.api.request("PUT", "/api/v1/tags", {"Remove": ["new one"]})
        self.assertEqual(self.api.get("/api/v1/info")[2]["Tags"], {"keep me": 1})
        for bad in ({"Tags": ["a"], "Add": ["b"], "IDs": ids[:1]}, {"Add": "b", "IDs": ids[:1]},
                    {"Add": ["b"], "IDs": ids[:1], "Search": "bulk"}, {"Add": [1], "IDs": ids[:1]}):
            self.assertEqual(self.api.request("PUT", "/api/v1/tags", bad)[0], 400, bad)

    # ---- info, health, metrics, disabled features, page -----------------------------------

    def test_info_health_metrics_disabled(self):
        smtp_send(self.dm, plain("one"))
        st, _, info = self.api.get("/api/v1/info")
        self.assertEqual((st, info["Messages"], info["Unread"]), (200, 1, 1))
        for k in ("Version", "Database", "DatabaseSize", "Tags", "RuntimeStats"):
            self.assertIn(k, info)
        st, _, ui = self.api.get("/api/v1/webui")
        self.assertFalse(ui["MessageRelay"]["Enabled"])
        for p in ("/livez", "/readyz"):
            self.assertEqual(self.api.get(p)[0], 200)
        st, h, text = self.api.get("/metrics")
        self.assertTrue(h["Content-Type"].startswith("text/plain; version=0.0.4"))
        self.assertIn("devmail_messages_accepted_total 1", text)
        self.assertIn("devmail_store_messages 1", text)
        self.assertRegex(text, r"devmail_http_requests_total [1-9]")
        mid = self.ids()[0]
        # the link check is always on, as in Mailpit (hosts it may contact: link_check_allowed)
        self.assertEqual(self.api.get("/api/v1/message/%s/link-check" % mid)[::2], (200, {"Errors": 0, "Links": []}))
        for method, path in (("POST", "/api/v1/message/%s/release" % mid),
                             ("GET", "/api/v1/message/%s/sa-check" % mid),
                             ("GET", "/api/v1/chaos"), ("PUT", "/api/v1/chaos")):
            st, _, body = self.api.request(method, path, {} if method != "GET" else None)
            self.assertEqual(st, 400, path)
            self.assertIn("not enabled", body)
        self.assertEqual(self.api.get("/api/v1/nothing")[0], 404)
        self.assertEqual(self.api.get("/api/v2/messages")[0], 404)
        self.assertEqual(self.api.get("/nothing.js")[0], 404)

    def test_static_page_and_caching(self):
        st, h, page = self.api.get("/", raw=True)
        self.assertEqual(st, 200)
        self.assertTrue(h["Content-Type"].startswith("text/html"))
        self.assertIn(b"<html", page.lower())
        etag = h["ETag"]
        self.assertTrue(etag.startswith('"'))
        self.assertIn("no-cache", h["Cache-Control"])
        st, h2, page2 = self.api.get("/index.html", raw=True)
        self.assertEqual((page2, h2["ETag"]), (page, etag))
        st, h3, body = self.api.get("/", headers={"If-None-Match": etag}, raw=True)
        self.assertEqual((st, body), (304, b""))
        st, h, _ = self.api.get("/app.js", raw=True)
        self.assertEqual(st, 200)
        self.assertTrue(h["Content-Type"].startswith("text/javascript"))
        st, h, body = self.api.request("HEAD", "/style.css", raw=True)
        self.assertEqual((st, body), (200, b""))
        self.assertGreater(int(h["Content-Length"]), 0)

    # ---- protocol -------------------------------------------------------------------------

    def test_keepalive_pipelining_and_errors(self):
        port = self.dm.ports["http"]
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /api/v1/messages HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            c = s.recv(65536)
            if not c:
                break
            data += c
        s.close()
        self.assertEqual(data.count(b"HTTP/1.1 200 OK"), 3)
        self.assertTrue(data.rstrip().endswith(b"}"))

        def one(raw):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(raw)
            out = b""
            while True:
                c = s.recv(65536)
                if not c:
                    break
                out += c
            s.close()
            return out

        self.assertTrue(one(b"BROKEN\r\n\r\n").startswith(b"HTTP/1.1 400"))
        self.assertTrue(one(b"GET / HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 400"))
        self.assertTrue(one(b"GET / HTTP/3.0\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 505"))
        self.assertTrue(one(b"POST /api/v1/send HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                            b"0\r\n\r\n").startswith(b"HTTP/1.1 501"))
        self.assertTrue(one(b"POST /api/v1/send HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n")
                        .startswith(b"HTTP/1.1 413"))
        self.assertTrue(one(b"GET /" + b"a" * 40000 + b" HTTP/1.1\r\n").startswith(b"HTTP/1.1 414"))
        # curl with a body large enough for Expect: 100-continue
        if shutil.which("curl"):
            big = {"From": {"Email": "a@example.org"}, "To": [{"Email": "b@example.com"}], "Subject": "big",
                   "Text": "x" * 5000}
            out = subprocess.run(["curl", "-sf", "-X", "POST", "-H", "Content-Type: application/json", "--data-binary",
                                  json.dumps(big), self.api.base + "/api/v1/send"], capture_output=True, timeout=30)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("ID", json.loads(out.stdout))

    def test_websocket_events(self):
        port = self.dm.ports["http"]
        s, key, head = ws_connect(port, origin="http://127.0.0.1:%d" % port)
        self.assertTrue(head.startswith("HTTP/1.1 101"), head)
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        self.assertIn("Sec-WebSocket-Accept: " + accept.decode(), head)
        stats = ws_next_json(s, "stats")
        self.assertEqual(stats["Data"]["Total"], 0)
        smtp_send(self.dm, plain("live one"))
        new = ws_next_json(s, "new")
        self.assertEqual(new["Data"]["Subject"], "live one")
        self.assertFalse(new["Data"]["Read"])
        mid = new["Data"]["ID"]
        self.api.request("PUT", "/api/v1/messages", {"IDs": [mid], "Read": True})
        upd = ws_next_json(s, "update")
        self.assertEqual(upd["Data"]["ID"], mid)  # one frame per message, as Mailpit
        self.assertTrue(upd["Data"]["Read"])
        stats = ws_next_json(s, "stats")
        self.assertEqual((stats["Data"]["Total"], stats["Data"]["Unread"]), (1, 0))
        self.api.request("DELETE", "/api/v1/messages", {"IDs": [mid]})
        dele = ws_next_json(s, "delete")
        self.assertEqual(dele["Data"], {"ID": mid})
        ws_send_frame(s, 0x9, b"hi")
        while True:
            op, payload = ws_read_frame(s)
            if op == 0xA:
                break
        self.assertEqual(payload, b"hi")
        ws_send_frame(s, 0x8, (1000).to_bytes(2, "big"))
        while True:
            op, payload = ws_read_frame(s)
            if op == 0x8:
                break
        self.assertEqual(s.recv(1), b"")
        s.close()
        # cross-origin and bad handshakes are refused
        s, _, head = ws_connect(port, origin="http://evil.example")
        self.assertTrue(head.startswith("HTTP/1.1 403"), head)
        s.close()
        st, _, _ = self.api.get("/api/events")
        self.assertEqual(st, 426)
        # an unmasked client frame is a protocol error (close 1002)
        s, _, head = ws_connect(port)
        self.assertTrue(head.startswith("HTTP/1.1 101"))
        ws_next_json(s, "stats")
        s.sendall(b"\x81\x02hi")
        op, payload = ws_read_frame(s)
        self.assertEqual((op, int.from_bytes(payload[:2], "big")), (0x8, 1002))
        s.close()


class HttpAuthTest(unittest.TestCase):
    def test_basic_auth_and_per_account_view(self):
        passdb = "alice@example.com:{PLAIN}secret-a\nbob@example.com:{PLAIN}secret-b\n"
        with Devmail(listen=("smtp", "http"), domains=["example.com"], passdb=passdb,
                     recipient_map="alice@example.com alice@example.com\nbob@example.com bob@example.com\n",
                     args=["--auth-failure-delay-ms", "50", "--http-admin-users", "bob@example.com"]) as dm:
            smtp_send(dm, plain("for alice", to="alice@example.com"), rcpts=("alice@example.com",))
            smtp_send(dm, plain("for bob", to="bob@example.com"), rcpts=("bob@example.com",))
            anon = Api(dm.ports["http"])
            st, h, _ = anon.get("/api/v1/messages")
            self.assertEqual(st, 401)
            self.assertIn("Basic", h["WWW-Authenticate"])
            self.assertEqual(anon.get("/")[0], 401)
            self.assertEqual(anon.get("/livez")[0], 200)
            self.assertEqual(Api(dm.ports["http"], "alice@example.com:wrong").get("/api/v1/messages")[0], 401)
            alice = Api(dm.ports["http"], "alice@example.com:secret-a")
            st, _, j = alice.get("/api/v1/messages")
            self.assertEqual(st, 200)
            self.assertEqual([m["Subject"] for m in j["messages"]], ["for alice"])
            bob = Api(dm.ports["http"], "bob@example.com:secret-b")
            bob_id = bob.get("/api/v1/messages")[2]["messages"][0]["ID"]
            self.assertEqual(alice.get("/api/v1/message/" + bob_id)[0], 404)
            self.assertEqual(alice.request("DELETE", "/api/v1/messages", {"IDs": [bob_id]})[0], 404)
            alice.request("DELETE", "/api/v1/messages")
            self.assertEqual(bob.get("/api/v1/messages")[2]["total"], 1)
            # server-wide figures are for http_admin_users only
            st, _, info = alice.get("/api/v1/info")
            self.assertEqual((st, info["Messages"], info["Database"]), (200, 0, ""))
            self.assertEqual(info["RuntimeStats"]["SMTPAccepted"], 0)
            self.assertEqual(alice.get("/metrics")[0], 403)
            st, _, info = bob.get("/api/v1/info")
            self.assertEqual((st, info["Messages"]), (200, 1))
            self.assertEqual(info["RuntimeStats"]["SMTPAccepted"], 2)
            self.assertTrue(info["Database"].endswith("index.sqlite"))
            st, _, text = bob.get("/metrics")
            self.assertEqual(st, 200)
            self.assertIn("devmail_messages_accepted_total 2", text)
            s, _, head = ws_connect(dm.ports["http"])
            self.assertTrue(head.startswith("HTTP/1.1 401"))
            s.close()
            s, _, head = ws_connect(dm.ports["http"], auth="bob@example.com:secret-b")
            self.assertTrue(head.startswith("HTTP/1.1 101"))
            self.assertEqual(ws_next_json(s, "stats")["Data"]["Total"], 1)
            s.close()


class WaitWokenByEveryWayIn(unittest.TestCase):
    """A ?wait= request is matched off the event loop against each
    committed batch of deliveries; mail that comes in another way (IMAP
    APPEND into the INBOX) wakes it too, and only mail of its own account
    does."""

    def test_append_wakes_and_accounts_stay_apart(self):
        import imaplib
        passdb = "alice@example.com:{PLAIN}secret-a\nbob@example.com:{PLAIN}secret-b\n"
        with Devmail(listen=("smtp", "http", "imap"), domains=["example.com"], passdb=passdb,
                     recipient_map="alice@example.com alice@example.com\nbob@example.com bob@example.com\n") as dm:
            alice = Api(dm.ports["http"], "alice@example.com:secret-a")
            out = {}

            def waiter(key, path):
                out[key] = alice.get(path) + (time.time(),)

            threads = [threading.Thread(target=waiter, args=("appended", "/api/v1/search?query=subject%3Aappended&wait=20s")),
                       threading.Thread(target=waiter, args=("bob", "/api/v1/search?query=subject%3Afor-bob&wait=2s"))]
            for th in threads:
                th.start()
            time.sleep(0.5)
            smtp_send(dm, plain("for-bob", to="bob@example.com"), rcpts=("bob@example.com",))
            time.sleep(0.5)
            self.assertEqual(out, {})
            m = imaplib.IMAP4("127.0.0.1", dm.ports["imap"], timeout=15)
            m.login("alice@example.com", "secret-a")
            t_append = time.time()
            typ, _ = m.append("INBOX", None, None, b"Subject: appended\r\nFrom: a@example.com\r\n\r\nhi\r\n")
            self.assertEqual(typ, "OK")
            m.logout()
            for th in threads:
                th.join(30)
            st, _, j, t_done = out["appended"]
            self.assertEqual((st, j["messages_count"]), (200, 1))
            self.assertLess(t_done - t_append, 1.0)
            # bob's mail is not alice's: her wait ran out without it
            st, _, j, _ = out["bob"]
            self.assertEqual((st, j["messages_count"]), (200, 0))


if __name__ == "__main__":
    unittest.main()


class Https(unittest.TestCase):
    """https_listen serves the page and the API over TLS with the generated
    certificate (signed by the local CA; localhost in subjectAltName)."""

    def test_api_over_tls(self):
        import http.client
        import ssl
        from harness import Devmail
        with Devmail(listen=("smtp", "https")) as dm:
            ctx = ssl.create_default_context(cafile=dm.data_dir + "/tls/ca.pem")
            c = http.client.HTTPSConnection("localhost", dm.ports["https"], context=ctx, timeout=5)
            c.request("GET", "/api/v1/messages")
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            self.assertIn(b'"messages"', r.read())
            c.request("GET", "/")
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            self.assertIn(b"<html", r.read().lower())
            c.close()


class Gzip(unittest.TestCase):
    """Embedded page assets go out gzip-compressed to clients that accept it."""

    def test_assets_gzip(self):
        import gzip
        import http.client
        import os
        from harness import Devmail, ROOT
        with Devmail(listen=("smtp", "http")) as dm:
            c = http.client.HTTPConnection("127.0.0.1", dm.ports["http"], timeout=5)
            c.request("GET", "/app.js", headers={"Accept-Encoding": "gzip, deflate"})
            r = c.getresponse()
            body = r.read()
            self.assertEqual(r.getheader("Content-Encoding"), "gzip")
            self.assertIn("Accept-Encoding", r.getheader("Vary"))
            with open(os.path.join(ROOT, "web", "app.js"), "rb") as f:
                plain = f.read()
            self.assertEqual(gzip.decompress(body), plain)
            self.assertLess(len(body), len(plain))
            c.request("GET", "/app.js")
            r = c.getresponse()
            self.assertIsNone(r.getheader("Content-Encoding"))
            self.assertEqual(r.read(), plain)
            c.close()


class MetricsLatency(unittest.TestCase):
    """/metrics reports the SMTP commit latency histogram and the store size."""

    def test_commit_histogram(self):
        import smtplib
        import urllib.request
        from harness import Devmail
        with Devmail(listen=("smtp", "http")) as dm:
            with smtplib.SMTP("127.0.0.1", dm.smtp_port) as s:
                s.sendmail("a@example.net", ["b@example.com"], "Subject: m\r\n\r\nbody\r\n")
            text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % dm.ports["http"]).read().decode()
            self.assertIn("# TYPE devmail_smtp_commit_seconds histogram", text)
            self.assertIn('devmail_smtp_commit_seconds_bucket{le="+Inf"} 1', text)
            self.assertIn("devmail_smtp_commit_seconds_count 1", text)
            size = [l for l in text.splitlines() if l.startswith("devmail_store_bytes ")][0]
            self.assertGreater(int(size.split()[1]), 20)


class LogLevel(unittest.TestCase):
    """log_level = warning keeps info records (the delivery line) out of the log."""

    def test_warning_level(self):
        import smtplib
        from harness import Devmail
        with Devmail(listen=("smtp",), args=["--log-level", "warning"]) as dm:
            with smtplib.SMTP("127.0.0.1", dm.smtp_port) as s:
                s.sendmail("a@example.net", ["b@example.com"], "Subject: m\r\n\r\nbody\r\n")
            self.assertNotIn("status=delivered", dm.log_text())
