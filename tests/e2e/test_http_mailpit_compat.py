"""Drop-in compatibility with Mailpit v1.30, checked against what Mailpit's
own code answers: its router's path cleaning (Go's ServeMux redirects
"//view/ID.html" to "/view/ID.html"), 405 with Allow, and the API shapes
of the items below, each through curl-like raw HTTP (http.client, no
redirect following).
"""
import base64
import datetime
import http.client
import imaplib
import json
import os
import shutil
import smtplib
import subprocess
import unittest
import urllib.parse

from harness import Devmail, free_port
from test_http_api import ws_connect, ws_next_json, ws_read_frame

HERE = os.path.dirname(os.path.abspath(__file__))


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


class TagsTest(unittest.TestCase):
    """Tags with spaces and Mailpit's characters (send, set, rename, delete,
    search), Mailpit's cleaning and refusals, and automatic tags from X-Tags
    and plus addresses; IMAP sees the same tags as keywords."""

    def setUp(self):
        self.dm = Devmail(listen=("smtp", "http", "imap")).start()
        self.port = self.dm.ports["http"]

    def tearDown(self):
        self.dm.stop()

    def msg(self, mid):
        return raw(self.port, "GET", "/api/v1/message/" + mid)[2]

    def test_tags_with_spaces(self):
        st, _, j = raw(self.port, "POST", "/api/v1/send", {
            "From": {"Email": "app@example.org"}, "To": [{"Email": "u@example.com"}], "Subject": "s",
            "Tags": ["Tag 1", "urgent!", "user.name@host-1_2", "  spaced   out "]})
        self.assertEqual(st, 200, j)
        mid = j["ID"]
        # Mailpit: invalid characters become spaces, runs of spaces one, ends trimmed; sorted
        self.assertEqual(self.msg(mid)["Tags"], ["Tag 1", "spaced out", "urgent", "user.name@host-1_2"])
        # the Send API's tags travel as Mailpit's X-Tags header
        self.assertEqual(raw(self.port, "GET", "/api/v1/message/%s/headers" % mid)[2]["X-Tags"],
                         ["Tag 1, urgent!, user.name@host-1_2,   spaced   out"])
        st, _, body = raw(self.port, "PUT", "/api/v1/tags", {"Tags": ["Tag 2", "tag 2", "(!)"], "IDs": [mid]})
        self.assertEqual((st, body), (200, "ok"))
        self.assertEqual(self.msg(mid)["Tags"], ["Tag 2"])
        self.assertEqual(raw(self.port, "GET", "/api/v1/tags")[2], ["Tag 2"])
        st, _, found = raw(self.port, "GET", "/api/v1/search?query=" + urllib.parse.quote('tag:"Tag 2"'))
        self.assertEqual([m["ID"] for m in found["messages"]], [mid])
        self.assertEqual(raw(self.port, "GET", "/api/v1/info")[2]["Tags"], {"Tag 2": 1})
        # rename through the path as clients encode it
        st, _, body = raw(self.port, "PUT", "/api/v1/tags/Tag%202", {"Name": "Renamed tag!"})
        self.assertEqual((st, body), (200, "ok"))
        self.assertEqual(self.msg(mid)["Tags"], ["Renamed tag"])
        # Mailpit's refusals
        st, _, body = raw(self.port, "PUT", "/api/v1/tags/nothing", {"Name": "x"})
        self.assertEqual((st, body), (400, "tag not found: nothing"))
        st, _, body = raw(self.port, "PUT", "/api/v1/tags/Renamed%20tag", {"Name": "!!"})
        self.assertEqual((st, body), (400, "invalid tag name: "))
        raw(self.port, "PUT", "/api/v1/tags", {"Tags": ["Renamed tag", "other"], "IDs": [mid]})
        st, _, body = raw(self.port, "PUT", "/api/v1/tags/other", {"Name": "Renamed tag"})
        self.assertEqual((st, body), (400, "tag already exists: Renamed tag"))
        # IMAP sees the tag as a keyword ("+" for the space)
        imap = imaplib.IMAP4("127.0.0.1", self.dm.ports["imap"])
        imap.login("catchall@localhost", "x")
        imap.select("INBOX")
        typ, data = imap.fetch("1", "(FLAGS)")
        self.assertIn(b"Renamed+tag", data[0])
        imap.logout()
        st, _, body = raw(self.port, "DELETE", "/api/v1/tags/Renamed%20tag")
        self.assertEqual((st, body), (200, "ok"))
        self.assertEqual(self.msg(mid)["Tags"], ["other"])
        st, _, body = raw(self.port, "DELETE", "/api/v1/tags/Renamed%20tag")
        self.assertEqual((st, body), (400, "tag not found: Renamed tag"))
        # "_" is a character of a tag, not a wildcard
        raw(self.port, "PUT", "/api/v1/tags", {"Tags": ["axb"], "IDs": [mid]})
        st, _, body = raw(self.port, "DELETE", "/api/v1/tags/a_b")
        self.assertEqual((st, body), (400, "tag not found: a_b"))
        self.assertEqual(raw(self.port, "GET", "/api/v1/info")[2]["Tags"], {"axb": 1})

    def test_automatic_tags(self):
        smtp_send(self.dm, plain("auto", to="Ann <ann+signup+beta-group@example.com>",
                                 extra="Cc: cc+copy@example.com\r\nX-Tags: Invoice, Tag 3 ,,\r\n"),
                  rcpts=("ann+signup@example.com",), frm="sender+from@example.org")
        st, _, lst = raw(self.port, "GET", "/api/v1/messages")
        m = lst["messages"][0]
        self.assertEqual(m["Tags"], ["Invoice", "Tag 3", "beta-group", "copy", "signup"])
        self.assertEqual(lst["tags"], ["Invoice", "Tag 3", "beta-group", "copy", "signup"])
        # no automatic tags without X-Tags or a plus address
        smtp_send(self.dm, plain("none"))
        self.assertEqual(raw(self.port, "GET", "/api/v1/messages")[2]["messages"][0]["Tags"], [])


class TagFiltersTest(unittest.TestCase):
    """The tag key, Mailpit's --tag "tags=query" rules: a new message that
    matches a rule's search, or whose raw text contains the query, gets its
    tags with the same insert; bad rules stop the configuration."""

    RULES = ('"Password Reset,auth=subject:reset" invoice=has:attachment bulk=from:newsletter@ '
             'urgent!=URGENT "never=subject:nothing-like-this"')

    def test_rules(self):
        with Devmail(listen=("smtp", "http"), args=["--tag", self.RULES]) as dm:
            port = dm.ports["http"]
            smtp_send(dm, plain("Reset your password"))
            smtp_send(dm, "From: newsletter@shop.example\r\nTo: bob@example.com\r\nSubject: deals\r\n\r\nThis is urgent!\r\n")
            st, _, j = raw(port, "POST", "/api/v1/send", {
                "From": {"Email": "app@example.org"}, "To": [{"Email": "u+signup@example.com"}], "Subject": "invoice",
                "Attachments": [{"Filename": "a.pdf", "Content": base64.b64encode(b"%PDF-1.4").decode()}]})
            self.assertEqual(st, 200, j)
            smtp_send(dm, plain("plain"))
            got = {m["Subject"]: m["Tags"] for m in raw(port, "GET", "/api/v1/messages")[2]["messages"]}
            self.assertEqual(got, {"Reset your password": ["Password Reset", "auth"], "deals": ["bulk", "urgent"],
                                   "invoice": ["invoice", "signup"], "plain": []})
            st, _, found = raw(port, "GET", "/api/v1/search?query=" + urllib.parse.quote('tag:"Password Reset"'))
            self.assertEqual([m["Subject"] for m in found["messages"]], ["Reset your password"])

    def test_bad_rules_refused(self):
        for bad in ("noequals", "x=before:notadate", "x="):
            out = subprocess.run([os.environ["DEVMAIL_BIN"], "check-config", "--tag", bad], capture_output=True,
                                 text=True, timeout=30)
            self.assertNotEqual(out.returncode, 0, bad)
            self.assertIn("tag:", out.stderr)


class UsernameTest(unittest.TestCase):
    """Username in summaries: the SMTP AUTH login (Mailpit's), or the HTTP
    login of a Send API call; "" without one. Written into devmail's
    Received: field as Postfix does, so a reindex finds it again."""

    def test_smtp_auth_user(self):
        with Devmail(listen=("smtp", "http"), args=["--smtp-auth", "any"]) as dm:
            port = dm.ports["http"]
            smtp_send(dm, plain("anonymous"))
            smtp_send(dm, plain("authenticated"), login=("app-sender", "secret"))
            lst = raw(port, "GET", "/api/v1/messages")[2]["messages"]
            self.assertEqual([(m["Subject"], m["Username"]) for m in lst],
                             [("authenticated", "app-sender"), ("anonymous", "")])
            self.assertEqual(raw(port, "GET", "/api/v1/message/" + lst[0]["ID"])[2]["Username"], "app-sender")
            src = raw(port, "GET", "/api/v1/message/%s/raw" % lst[0]["ID"])[2]
            self.assertIn("(Authenticated sender: app-sender)", src)
            # the index is rebuilt from the Maildir: still there
            dm.stop()
            os.unlink(os.path.join(dm.data_dir, "index.sqlite"))
            dm.start()
            lst = raw(port, "GET", "/api/v1/messages")[2]["messages"]
            # (both arrived within one second: the rebuilt index may list them either way)
            self.assertEqual({m["Subject"]: m["Username"] for m in lst}, {"authenticated": "app-sender", "anonymous": ""})

    def test_http_login_sends(self):
        with Devmail(listen=("smtp", "http"), passdb="u@example.com:{PLAIN}pw\n", domains=["example.com"]) as dm:
            auth = {"Authorization": "Basic dUBleGFtcGxlLmNvbTpwdw=="}
            st, _, j = raw(dm.ports["http"], "POST", "/api/v1/send",
                           {"From": {"Email": "a@example.org"}, "To": [{"Email": "u@example.com"}]}, headers=auth)
            self.assertEqual(st, 200, j)
            m = raw(dm.ports["http"], "GET", "/api/v1/message/" + j["ID"], headers=auth)[2]
            self.assertEqual(m["Username"], "u@example.com")


class HeadersTest(unittest.TestCase):
    """/api/v1/message/{ID}/headers as Mailpit answers it (Go's net/mail):
    canonical names (Message-Id, Mime-Version, Dkim-Signature), values
    unfolded with one space, repeated fields in order, names sorted."""

    def test_headers_like_mailpit(self):
        msg = ("message-id: <a@b>\r\nMIME-Version: 1.0\r\nFrom: x@example.org\r\nTo: bob@example.com\r\n"
               "X-Custom: one\r\nx-custom:   two  \r\nSubject: =?utf-8?q?Caf=C3=A9?=\r\n"
               "DKIM-Signature: v=1; a=rsa-sha256;\r\n\td=example.com;\r\n   s=sel\r\nX-Weird_NAME: v\r\n"
               "\r\nbody\r\n")
        with Devmail(listen=("smtp", "http")) as dm:
            smtp_send(dm, msg)
            port = dm.ports["http"]
            mid = raw(port, "GET", "/api/v1/messages")[2]["messages"][0]["ID"]
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", "/api/v1/message/%s/headers" % mid)
            hd = json.loads(c.getresponse().read())
            c.close()
            self.assertEqual(list(hd), sorted(hd))
            self.assertEqual(hd["Message-Id"], ["<a@b>"])
            self.assertEqual(hd["Mime-Version"], ["1.0"])
            self.assertEqual(hd["X-Custom"], ["one", "two"])
            # decoded, as devmail always answered (Mailpit leaves encoded words as they are)
            self.assertEqual(hd["Subject"], ["Café"])
            self.assertEqual(hd["Dkim-Signature"], ["v=1; a=rsa-sha256; d=example.com; s=sel"])
            self.assertEqual(hd["X-Weird_name"], ["v"])
            self.assertRegex(hd["Received"][0], r"^from \S+ \(localhost \[127\.0\.0\.1\]\) by devmail")
            for k in ("Return-Path", "X-Original-To", "Delivered-To", "From", "To"):
                self.assertIn(k, hd)
            self.assertNotIn("MIME-Version", hd)
            # Mailpit's ?dl=1 on /raw names the download after the ID
            st, r, src = raw(port, "GET", "/api/v1/message/%s/raw?dl=1" % mid)
            self.assertEqual(r.getheader("Content-Disposition"), 'attachment; filename="%s.eml"' % mid)
            self.assertIn("message-id: <a@b>", src)
            self.assertIsNone(raw(port, "GET", "/api/v1/message/%s/raw" % mid)[1].getheader("Content-Disposition"))


class SendApiTest(unittest.TestCase):
    """POST /api/v1/send answers errors as Mailpit: 400 {"Error": "..."},
    refuses to override the headers it builds (To, From, Cc, Bcc, Reply-To,
    Date, Subject, Content-Type, Mime-Version; X-Tags with Tags), names the
    bad address; attachment types are guessed when not given."""

    def setUp(self):
        self.dm = Devmail(listen=("smtp", "http")).start()
        self.port = self.dm.ports["http"]

    def tearDown(self):
        self.dm.stop()

    def send(self, body):
        return raw(self.port, "POST", "/api/v1/send", body)

    def test_errors_are_json(self):
        base = {"From": {"Email": "app@example.org"}, "To": [{"Email": "u@example.com"}]}
        for hdr in ("Subject", "subject", "From", "Date", "Content-Type", "MIME-Version", "Reply-To"):
            st, r, j = self.send(dict(base, Headers={hdr: "x"}))
            self.assertEqual((st, j), (400, {"Error": 'cannot overwrite header: "%s"' % hdr}))
            self.assertTrue(r.getheader("Content-Type").startswith("application/json"))
        st, _, j = self.send(dict(base, Tags=["a"], Headers={"X-Tags": "b"}))
        self.assertEqual((st, j), (400, {"Error": 'cannot overwrite header: "X-Tags"'}))
        st, _, j = self.send(dict(base, Headers={"X-Tags": "from header"}))
        self.assertEqual(st, 200, j)
        self.assertEqual(raw(self.port, "GET", "/api/v1/message/" + j["ID"])[2]["Tags"], ["from header"])
        st, _, j = self.send(dict(base, To=[{"Email": "not an address"}]))
        self.assertEqual((st, j), (400, {"Error": "invalid To address: not an address"}))
        st, _, j = self.send(dict(base, Cc=[{"Email": "x"}]))
        self.assertEqual((st, j), (400, {"Error": "invalid Cc address: x"}))
        st, _, j = self.send(dict(base, Attachments=[{"Filename": "a.bin", "Content": "!!notbase64"}]))
        self.assertEqual((st, j), (400, {"Error": 'error decoding base64 attachment "a.bin"'}))
        st, _, j = raw(self.port, "POST", "/api/v1/send", b"{not json")
        self.assertEqual(st, 400)
        self.assertIn("Error", j)
        self.assertEqual(raw(self.port, "GET", "/api/v1/messages")[2]["total"], 1)

    def test_attachment_types_guessed(self):
        png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 24).decode()
        st, _, j = self.send({"From": {"Email": "app@example.org"}, "To": [{"Email": "u@example.com"}],
                              "Attachments": [{"Filename": "pic", "Content": png},
                                              {"Filename": "report.pdf", "Content": "data:application/pdf;base64,"
                                               + base64.b64encode(b"%PDF-1.4\n").decode()},
                                              {"Filename": "x.csv", "Content": base64.b64encode(b"a,b\n").decode(),
                                               "ContentType": "text/plain"}]})
        self.assertEqual(st, 200, j)
        atts = raw(self.port, "GET", "/api/v1/message/" + j["ID"])[2]["Attachments"]
        self.assertEqual([(a["FileName"], a["ContentType"]) for a in atts],
                         [("pic", "image/png"), ("report.pdf", "application/pdf"), ("x.csv", "text/plain")])


def png(width, height, rgb=(200, 30, 30)):
    """A real PNG, made with zlib only."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    rows = b"".join(b"\0" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def jpeg_size(data):
    """(width, height) from a JPEG's SOF marker."""
    i = 2
    while i < len(data):
        marker, length = data[i + 1], int.from_bytes(data[i + 2:i + 4], "big")
        if marker in (0xC0, 0xC2):
            return int.from_bytes(data[i + 7:i + 9], "big"), int.from_bytes(data[i + 5:i + 7], "big")
        i += 2 + length
    return None


class ThumbnailTest(unittest.TestCase):
    """.../part/{PartID}/thumb: Mailpit's 180x120 JPEG of an image part, a
    blank one for other parts, named after the part."""

    def test_thumbnails(self):
        with Devmail(listen=("smtp", "http")) as dm:
            port = dm.ports["http"]
            st, _, j = raw(port, "POST", "/api/v1/send", {
                "From": {"Email": "a@example.org"}, "To": [{"Email": "b@example.com"}], "Text": "see",
                "Attachments": [{"Filename": "red.png", "Content": base64.b64encode(png(400, 300)).decode()},
                                {"Filename": "notes.txt", "Content": base64.b64encode(b"just text").decode()}]})
            self.assertEqual(st, 200, j)
            atts = raw(port, "GET", "/api/v1/message/" + j["ID"])[2]["Attachments"]
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            out = {}
            for a in atts:
                c.request("GET", "/api/v1/message/%s/part/%s/thumb" % (j["ID"], a["PartID"]))
                r = c.getresponse()
                out[a["FileName"]] = (r.status, r.getheader("Content-Type"), r.getheader("Content-Disposition"), r.read())
            c.close()
            st, ctype, disp, img = out["red.png"]
            self.assertEqual((st, ctype, disp), (200, "image/jpeg", 'filename="red.png"'))
            self.assertEqual(jpeg_size(img), (180, 120))
            st, ctype, disp, blank = out["notes.txt"]
            self.assertEqual((st, ctype, jpeg_size(blank)), (200, "image/jpeg", (180, 120)))
            self.assertNotEqual(img, blank)
            self.assertEqual(raw(port, "GET", "/api/v1/message/%s/part/9/thumb" % j["ID"])[0], 404)


@unittest.skipIf(not shutil.which("spamd") and not os.path.exists("/usr/sbin/spamd"), "spamd not installed")
class SaCheckTest(unittest.TestCase):
    """GET .../sa-check through the route table: a real spamd on loopback
    (test_spam_check's), Mailpit's JSON, answered when spamd has; spamd
    trouble is a result with Error set, as in Mailpit."""

    def test_sa_check(self):
        from test_spam_check import HAM, SPAMMY, Spamd
        spamd = Spamd()
        try:
            with Devmail(listen=("smtp", "http"), args=["--spamassassin", "127.0.0.1:%d" % spamd.port]) as dm:
                port = dm.ports["http"]
                smtp_send(dm, SPAMMY)
                st, _, j = raw(port, "GET", "/api/v1/message/latest/sa-check")
                self.assertEqual(st, 200, j)
                self.assertEqual((j["IsSpam"], j["Error"]), (True, ""))
                self.assertGreaterEqual(j["Score"], 5.0)
                self.assertIn("MISSING_DATE", {r["Name"] for r in j["Rules"]})
                smtp_send(dm, HAM)
                st, _, j = raw(port, "GET", "/api/v1/message/latest/sa-check")
                self.assertEqual((st, j["IsSpam"], j["Error"]), (200, False, ""))
                self.assertEqual(raw(port, "GET", "/api/v1/message/nope/sa-check")[0], 404)
            with Devmail(listen=("smtp", "http"), args=["--spamassassin", "127.0.0.1:%d" % free_port()]) as dm:
                smtp_send(dm, HAM)
                st, _, j = raw(dm.ports["http"], "GET", "/api/v1/message/latest/sa-check")
                self.assertEqual((st, j["IsSpam"], j["Score"], j["Rules"]), (200, False, 0, []))
                self.assertIn("spamd", j["Error"])
        finally:
            spamd.stop()


class ChaosApiTest(unittest.TestCase):
    """GET/PUT /api/v1/chaos as Mailpit: the triggers as JSON, changed at
    run time (SMTP fails at once), its defaults for triggers left out, its
    400 when chaos is off; a bad trigger changes nothing."""

    def test_chaos_api(self):
        with Devmail(listen=("smtp", "http"), args=["--chaos", "yes"]) as dm:
            port = dm.ports["http"]
            st, _, j = raw(port, "GET", "/api/v1/chaos")
            self.assertEqual((st, j), (200, {"Sender": {"ErrorCode": 451, "Probability": 0},
                                             "Recipient": {"ErrorCode": 451, "Probability": 0},
                                             "Authentication": {"ErrorCode": 535, "Probability": 0}}))
            st, _, j = raw(port, "PUT", "/api/v1/chaos", {"Sender": {"ErrorCode": 452, "Probability": 100}})
            self.assertEqual((st, j["Sender"], j["Recipient"]), (200, {"ErrorCode": 452, "Probability": 100},
                                                                 {"ErrorCode": 451, "Probability": 0}))
            with smtplib.SMTP("127.0.0.1", dm.ports["smtp"], timeout=15) as c:
                self.assertEqual(c.mail("app@example.com")[0], 452)
            st, _, body = raw(port, "PUT", "/api/v1/chaos", {"Sender": {"ErrorCode": 452, "Probability": 0},
                                                             "Recipient": {"ErrorCode": 399, "Probability": 5}})
            self.assertEqual(st, 400, body)
            self.assertEqual(raw(port, "GET", "/api/v1/chaos")[2]["Sender"], {"ErrorCode": 452, "Probability": 100})
        with Devmail(listen=("smtp", "http")) as dm:
            for method in ("GET", "PUT"):
                st, _, body = raw(dm.ports["http"], method, "/api/v1/chaos", {} if method == "PUT" else None)
                self.assertEqual((st, body), (400, "Chaos is not enabled"))


class LinkCheckTest(unittest.TestCase):
    """GET .../link-check through the route table, against an HTTP server on
    loopback: Mailpit's {"Errors", "Links": [{URL, StatusCode, Status}]},
    ?follow=true follows redirects, hosts link_check_allowed does not admit
    are never contacted."""

    def setUp(self):
        import http.server
        import threading

        class Handler(http.server.BaseHTTPRequestHandler):
            seen = []

            def do_HEAD(self):
                Handler.seen.append(self.path)
                if self.path == "/redir":
                    self.send_response(302)
                    self.send_header("Location", "/ok")
                elif self.path == "/ok":
                    self.send_response(200)
                else:
                    self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_HEAD

            def log_message(self, *a):
                pass

        self.handler = Handler
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.base = "http://127.0.0.1:%d" % self.httpd.server_address[1]

    def tearDown(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def send(self, port):
        html = '<p><a href="%s/ok">ok</a> <a href="%s/missing">gone</a> <img src="%s/redir"></p>' % ((self.base,) * 3)
        st, _, j = raw(port, "POST", "/api/v1/send", {"From": {"Email": "a@example.org"}, "To": [{"Email": "b@example.com"}],
                                                     "HTML": html})
        self.assertEqual(st, 200, j)
        return j["ID"]

    def test_link_check(self):
        with Devmail(listen=("smtp", "http"), args=["--link-check-allowed", "127.0.0.0/8"]) as dm:
            port = dm.ports["http"]
            mid = self.send(port)
            st, _, j = raw(port, "GET", "/api/v1/message/%s/link-check" % mid)
            self.assertEqual(st, 200, j)
            got = {l["URL"].replace(self.base, ""): (l["StatusCode"], l["Status"]) for l in j["Links"]}
            self.assertEqual(got, {"/ok": (200, "OK"), "/missing": (404, "Not Found"), "/redir": (302, "Found")})
            self.assertEqual(j["Errors"], 1)
            st, _, j = raw(port, "GET", "/api/v1/message/%s/link-check?follow=true" % mid)
            got = {l["URL"].replace(self.base, ""): l["StatusCode"] for l in j["Links"]}
            self.assertEqual(got["/redir"], 200)
        self.handler.seen.clear()
        with Devmail(listen=("smtp", "http")) as dm:
            port = dm.ports["http"]
            mid = self.send(port)
            st, _, j = raw(port, "GET", "/api/v1/message/latest/link-check")
            self.assertEqual((st, j["Errors"]), (200, 3))
            self.assertEqual({l["StatusCode"] for l in j["Links"]}, {451})
        self.assertEqual(self.handler.seen, [])


class ReleaseTest(unittest.TestCase):
    """POST .../release through the route table, to a second devmail as the
    relay: "ok" and the message arrives (without Bcc); addresses outside
    relay_allowed_recipients are refused with 400 and nothing is sent;
    webui says the relay is on."""

    def test_release_to_second_devmail(self):
        with Devmail(listen=("smtp", "http")) as target:
            args = ["--relay-host", "127.0.0.1:%d" % target.ports["smtp"], "--relay-tls", "none",
                    "--relay-allowed-recipients", "*@example.com"]
            with Devmail(listen=("smtp", "http"), args=args) as dm:
                port = dm.ports["http"]
                smtp_send(dm, "From: app@example.org\r\nTo: bob@example.com\r\nBcc: secret@example.com\r\n"
                              "Subject: to release\r\n\r\nbody\r\n")
                mid = raw(port, "GET", "/api/v1/messages")[2]["messages"][0]["ID"]
                ui = raw(port, "GET", "/api/v1/webui")[2]["MessageRelay"]
                self.assertEqual((ui["Enabled"], ui["SMTPServer"], ui["AllowedRecipients"]),
                                 (True, "127.0.0.1:%d" % target.ports["smtp"], "*@example.com"))
                st, _, body = raw(port, "POST", "/api/v1/message/%s/release" % mid, {"To": ["x@other.org"]})
                self.assertEqual(st, 400, body)
                self.assertIn("x@other.org", body)
                st, _, body = raw(port, "POST", "/api/v1/message/%s/release" % mid, {"To": []})
                self.assertEqual((st, body), (400, "No valid addresses found"))
                self.assertEqual(raw(port, "GET", "/api/v1/message/%s/release" % mid)[0], 405)
                self.assertEqual(raw(target.ports["http"], "GET", "/api/v1/messages")[2]["total"], 0)
                st, _, body = raw(port, "POST", "/api/v1/message/%s/release" % mid, {"To": ["friend@example.com"]})
                self.assertEqual((st, body), (200, "ok"))
                got = raw(target.ports["http"], "GET", "/api/v1/messages")[2]["messages"]
                self.assertEqual([m["Subject"] for m in got], ["to release"])
                src = raw(target.ports["http"], "GET", "/api/v1/message/%s/raw" % got[0]["ID"])[2]
                self.assertNotIn("secret@example.com", src)
                self.assertIn("X-Original-To: friend@example.com", src)

    def test_release_to_unreachable_relay(self):
        """A relay that refuses the connection, or a name that does not
        resolve, is an error reply naming the cause, and the server goes on
        answering (the connect failure may be reported from inside the
        connect call)."""
        closed = free_port()
        for host, want in (("127.0.0.1:%d" % closed, "cannot connect"),
                           ("no-such-host.invalid:25", "cannot resolve no-such-host.invalid")):
            args = ["--relay-host", host, "--relay-tls", "none", "--relay-allowed-recipients", "*@example.com"]
            with Devmail(listen=("smtp", "http"), args=args) as dm:
                port = dm.ports["http"]
                smtp_send(dm, "From: app@example.org\r\nTo: bob@example.com\r\nSubject: r\r\n\r\nbody\r\n")
                mid = raw(port, "GET", "/api/v1/messages")[2]["messages"][0]["ID"]
                for _ in range(2):
                    st, _, body = raw(port, "POST", "/api/v1/message/%s/release" % mid, {"To": ["friend@example.com"]})
                    self.assertNotEqual(st, 200, body)
                    self.assertIn(want, body)
                self.assertEqual(raw(port, "GET", "/api/v1/messages")[0], 200)


class BeforeLatestTzTest(unittest.TestCase):
    """before= on the list and search, latest?query= (API and /view), and
    tz= for dates without a zone, each with its own DST offset. Messages are
    appended over IMAP with known arrival times."""

    def setUp(self):
        self.dm = Devmail(listen=("smtp", "http", "imap")).start()
        self.port = self.dm.ports["http"]
        imap = imaplib.IMAP4("127.0.0.1", self.dm.ports["imap"])
        imap.login("catchall@localhost", "x")
        for subject, when in (("m10", "2026-01-01T10:00:00+00:00"), ("m11", "2026-01-01T11:00:00+00:00"),
                              ("m12", "2026-01-01T12:00:00+00:00"), ("july", "2026-07-01T04:30:00+00:00")):
            msg = "From: a@example.org\r\nTo: b@example.com\r\nSubject: %s\r\n\r\n%s body\r\n" % (subject, subject)
            dt = datetime.datetime.fromisoformat(when)
            imap.append("INBOX", None, imaplib.Time2Internaldate(dt), msg.encode())
        imap.logout()

    def tearDown(self):
        self.dm.stop()

    def subjects(self, path):
        st, _, j = raw(self.port, "GET", path)
        self.assertEqual(st, 200, j)
        return [m["Subject"] for m in j["messages"]], j

    def q(self, text):
        return urllib.parse.quote(text)

    def test_before(self):
        subs, j = self.subjects("/api/v1/messages?before=2026-01-01T11:30:00Z")
        self.assertEqual(subs, ["m11", "m10"])
        self.assertEqual((j["total"], j["messages_count"]), (4, 4))  # the list's counts are the mailbox's
        subs, _ = self.subjects("/api/v1/messages?before=%d" % (1767265200 * 1000))  # Created in ms: 11:00Z
        self.assertEqual(subs, ["m10"])
        subs, j = self.subjects("/api/v1/search?query=%s&before=2026-01-01T11:30:00Z" % self.q("body"))
        self.assertEqual((subs, j["messages_count"], j["total"]), (["m11", "m10"], 2, 4))
        # a before= that is no time is ignored, as Mailpit does
        self.assertEqual(len(self.subjects("/api/v1/messages?before=yesterday-ish")[0]), 4)

    def test_latest_with_query(self):
        st, _, m = raw(self.port, "GET", "/api/v1/message/latest?query=" + self.q("subject:m1"))
        self.assertEqual((st, m["Subject"]), (200, "m12"))
        st, _, m = raw(self.port, "GET", "/api/v1/message/latest")
        self.assertEqual(m["Subject"], "july")
        st, _, text = raw(self.port, "GET", "/view/latest.txt?query=" + self.q("subject:m10"))
        self.assertEqual((st, text.strip()), (200, "m10 body"))
        st, _, hd = raw(self.port, "GET", "/api/v1/message/latest/headers?query=" + self.q("subject:m11"))
        self.assertEqual(hd["Subject"], ["m11"])
        self.assertEqual(raw(self.port, "GET", "/api/v1/message/latest?query=" + self.q("subject:none"))[0], 404)

    def test_tz(self):
        # 2026-07-01 00:15 in New York is 04:15Z (EDT, -4): "july" (04:30Z) is after it;
        # with January's offset (-5) it would be 05:15Z and not match
        path = "/api/v1/search?query=%s" % self.q("after:2026-07-01T00:15")
        self.assertEqual(self.subjects(path + "&tz=America/New_York")[0], ["july"])
        self.assertEqual(self.subjects(path)[0], ["july"])  # UTC: 00:15Z
        self.assertEqual(self.subjects(self.q_path("after:2026-07-01T00:45", "America/New_York"))[0], [])
        # January in New York is EST (-5): 06:30 local is 11:30Z
        self.assertEqual(self.subjects(self.q_path("before:2026-01-01T06:30", "America/New_York"))[0], ["m11", "m10"])
        self.assertEqual(self.subjects(self.q_path("before:2026-01-01T06:30", ""))[0], [])
        # an explicit zone wins; an unknown tz is ignored, as in Mailpit
        self.assertEqual(self.subjects(self.q_path("before:2026-01-01T10:30Z", "Asia/Tokyo"))[0], ["m10"])
        self.assertEqual(self.subjects(self.q_path("before:2026-01-01T10:30", "No/Such_Zone"))[0], ["m10"])

    def q_path(self, query, tz):
        return "/api/v1/search?query=%s%s" % (self.q(query), "&tz=" + tz if tz else "")


class WebSocketFramesTest(unittest.TestCase):
    """The event stream as Mailpit's UI expects it: one "update" frame per
    message whose read state changed ({"ID", "Read"}), one "delete" per
    message ({"ID"}), "truncate" when all are deleted, "prune" after a tag
    rename or delete; bulk "IDs" frames are gone."""

    def setUp(self):
        self.dm = Devmail(listen=("smtp", "http")).start()
        self.port = self.dm.ports["http"]

    def tearDown(self):
        self.dm.stop()

    def frames_until_stats(self, s):
        """Text frames up to (not incl.) the next stats frame."""
        out = []
        while True:
            op, payload = ws_read_frame(s)
            if op != 1:
                continue
            f = json.loads(payload)
            if f["Type"] == "stats":
                return out
            out.append(f)

    def test_frames_like_mailpit(self):
        for i in range(3):
            smtp_send(self.dm, plain("m%d" % i))
        ids = {m["Subject"]: m["ID"] for m in raw(self.port, "GET", "/api/v1/messages")[2]["messages"]}
        a, b, c = ids["m0"], ids["m1"], ids["m2"]
        s, _, head = ws_connect(self.port, origin="http://127.0.0.1:%d" % self.port)
        self.assertTrue(head.startswith("HTTP/1.1 101"), head)
        ws_next_json(s, "stats")
        raw(self.port, "PUT", "/api/v1/messages", {"IDs": [a, b], "Read": True})
        self.assertEqual(self.frames_until_stats(s), [{"Type": "update", "Data": {"ID": a, "Read": True}},
                                                      {"Type": "update", "Data": {"ID": b, "Read": True}}])
        # only what changed
        raw(self.port, "PUT", "/api/v1/messages", {"IDs": [a, b, c], "Read": True})
        self.assertEqual(self.frames_until_stats(s), [{"Type": "update", "Data": {"ID": c, "Read": True}}])
        # all, without IDs: the stats frame tells (Mailpit sends no per-message frames)
        raw(self.port, "PUT", "/api/v1/messages", {"Read": False})
        self.assertEqual(self.frames_until_stats(s), [])
        st, _, body = raw(self.port, "PUT", "/api/v1/messages", {"IDs": [a], "Search": "m0", "Read": True})
        self.assertEqual((st, body), (400, "You may specify either IDs or a search query, not both"))
        raw(self.port, "DELETE", "/api/v1/messages", {"IDs": [a]})
        self.assertEqual(self.frames_until_stats(s), [{"Type": "delete", "Data": {"ID": a}}])
        raw(self.port, "DELETE", "/api/v1/search?query=subject:m1")
        self.assertEqual(self.frames_until_stats(s), [{"Type": "delete", "Data": {"ID": b}}])
        raw(self.port, "PUT", "/api/v1/tags", {"Tags": ["t"], "IDs": [c]})
        f = self.frames_until_stats(s)
        self.assertEqual([(x["Type"], x["Data"]["ID"], x["Data"]["Tags"]) for x in f], [("update", c, ["t"])])
        raw(self.port, "PUT", "/api/v1/tags/t", {"Name": "u"})
        self.assertEqual(self.frames_until_stats(s), [{"Type": "prune", "Data": None}])
        raw(self.port, "DELETE", "/api/v1/messages")
        self.assertEqual(self.frames_until_stats(s), [{"Type": "truncate", "Data": None}])
        s.close()


@unittest.skipIf(not shutil.which("npm") or not shutil.which("node"), "node/npm not installed")
class MailpitClientCompatTest(unittest.TestCase):
    """The npm mailpit-api client's tag methods with Mailpit's tag names."""

    def test_client_tags(self):
        from test_http_mailpit_client import WORK, prepare
        prepare()
        shutil.copyfile(os.path.join(HERE, "mailpit_client", "compat_test.mjs"), os.path.join(WORK, "compat_test.mjs"))
        with Devmail(listen=("smtp", "http")) as dm:
            out = subprocess.run(["node", "compat_test.mjs", "http://127.0.0.1:%d" % dm.ports["http"]], cwd=WORK,
                                 capture_output=True, text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            self.assertEqual(out.stdout.strip(), "ok")


if __name__ == "__main__":
    unittest.main()
