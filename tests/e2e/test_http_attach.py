"""The attachment routes of the API, driven over HTTP against a real devmail
with a mail sent over SMTP (attach_mails.py: an image, a PDF, an .ics
invitation and a forwarded message holding a file and another forwarded
message):

- GET /api/v1/message/{ID}/part/{PartID}/calendar: the invitation's summary
  (libical), 422 for a part that is no calendar, 404 for no such part or
  message, 413 beyond calendar_max_size;
- GET /api/v1/message/{ID}/part/{PartID}/message: an attached message in the
  shape of a message, its parts reachable under its part number, nested
  ones to attached_message_max_depth (422 beyond, their parts 404), 422 for
  a part that is no message;
- GET /view/{ID}/part/{PartID}.html|.txt: its views, sandboxed as /view;
- ?preview=1 on a part: inline, and a PDF without the CSP sandbox that
  Chromium's PDF viewer refuses (every other type keeps it);
- a mail whose only attachment is a forwarded message counts it as an
  attachment (the summary's Attachments, has:attachment), with or without
  Content-Disposition: attachment.
"""
import json
import unittest
import urllib.error
import urllib.parse
import urllib.request
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import attach_mails as mails
from harness import Devmail, send_mail


class Api:
    def __init__(self, dm):
        self.base = "http://127.0.0.1:%d" % dm.ports["http"]

    def get(self, path):
        try:
            with urllib.request.urlopen(self.base + path, timeout=15) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def json(self, path):
        status, _, body = self.get(path)
        if status != 200:
            raise AssertionError("%s: %d %s" % (path, status, body[:200]))
        return json.loads(body)


def start(config=""):
    dm = Devmail(listen=("smtp", "http"), config=config)
    dm.start()
    send_mail(dm, mails.outer_mail())
    return dm


class AttachApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dm = start()
        cls.api = Api(cls.dm)
        cls.msg = cls.api.json("/api/v1/message/latest")
        cls.id = cls.msg["ID"]
        cls.p = "/api/v1/message/%s/part/" % cls.id

    @classmethod
    def tearDownClass(cls):
        cls.dm.stop()

    def test_attachments_listed_with_names(self):
        got = [(a["PartID"], a["FileName"], a["ContentType"]) for a in self.msg["Attachments"]]
        self.assertEqual(got, [("2", "chart.png", "image/png"), ("3", "invoice.pdf", "application/pdf"),
                               ("4", "invite.ics", "text/calendar"), ("5", "forwarded.eml", "message/rfc822")])

    def test_calendar_summary(self):
        c = self.api.json(self.p + "4/calendar")
        self.assertEqual(c["Method"], "REQUEST")
        self.assertEqual(c["EventCount"], 1)
        e = c["Events"][0]
        self.assertEqual(e["Summary"], mails.INVITE_SUMMARY)
        self.assertEqual(e["Location"], "Room 4, 2nd floor")
        self.assertEqual(e["Start"], mails.INVITE_START_UTC)
        self.assertEqual(e["End"], mails.INVITE_END_UTC)
        self.assertEqual(e["TimeZone"], "Europe/Berlin")
        self.assertEqual(e["Organizer"], {"Name": "Ann Organiser", "Address": "ann@example.com"})
        self.assertEqual(e["Attendees"], [{"Name": "Bob", "Address": "bob@example.com", "Status": "NEEDS-ACTION"}])
        self.assertFalse(e["AllDay"])

    def test_calendar_errors(self):
        status, _, body = self.api.get(self.p + "2/calendar")
        self.assertEqual((status, body), (422, b"part is not a calendar (image/png)"))
        self.assertEqual(self.api.get(self.p + "9/calendar")[0], 404)
        self.assertEqual(self.api.get("/api/v1/message/no-such-id/part/4/calendar")[0], 404)
        # an attached message is no calendar either
        self.assertEqual(self.api.get(self.p + "5/calendar")[0], 422)

    def test_attached_message(self):
        m = self.api.json(self.p + "5/message")
        outer_keys = set(self.msg) - {"Read", "Tags", "Username", "Created", "ReturnPath", "ListUnsubscribe", "Snippet"}
        self.assertTrue(outer_keys <= set(m), sorted(outer_keys - set(m)))
        self.assertEqual(m["ID"], self.id)
        self.assertEqual(m["PartID"], "5")
        self.assertEqual(m["Subject"], mails.INNER_SUBJECT)
        self.assertEqual(m["From"], {"Name": "Dora Sender", "Address": "dora@example.org"})
        self.assertEqual(m["To"], [{"Name": "Erin", "Address": "erin@example.org"}])
        self.assertEqual(m["MessageID"], "inner-1@example.org")
        self.assertEqual(m["Date"], "2026-03-03T09:30:00Z")
        self.assertIn('id="inner-heading"', m["HTML"])
        self.assertEqual(m["Text"], "Numbers are up (text part).\n")
        self.assertEqual([(a["PartID"], a["FileName"], a["ContentType"]) for a in m["Attachments"]],
                         [("5.2", "notes.txt", "text/plain"), ("5.3", "first.eml", "message/rfc822")])
        # its parts, under its part number, with the outer ID
        status, _, body = self.api.get(self.p + "5.2")
        self.assertEqual((status, body), (200, mails.NOTES))
        self.assertEqual(self.api.get(self.p + "5.2/thumb")[1]["Content-Type"], "image/jpeg")
        deep = self.api.json(self.p + "5.3/message")
        self.assertEqual((deep["PartID"], deep["Subject"]), ("5.3", mails.INNERMOST_SUBJECT))
        self.assertEqual(self.api.get(self.p + "5.3.1")[2], b"The very first message of the thread.\n")
        # the outer message's own parts are unchanged
        self.assertEqual(self.api.get(self.p + "3")[2], mails.PDF)
        self.assertEqual(self.api.get(self.p + "2")[2], mails.IMAGE)

    def test_attached_message_errors(self):
        status, _, body = self.api.get(self.p + "2/message")
        self.assertEqual((status, body), (422, b"part is not a message (image/png)"))
        self.assertEqual(self.api.get(self.p + "4/message")[0], 422)
        self.assertEqual(self.api.get(self.p + "9/message")[0], 404)
        self.assertEqual(self.api.get(self.p + "5.9/message")[0], 404)
        self.assertEqual(self.api.get(self.p + "2.1/message")[0], 404)
        self.assertEqual(self.api.get("/api/v1/message/no-such-id/part/5/message")[0], 404)

    def test_attached_views(self):
        status, h, body = self.api.get("/view/%s/part/5.html" % self.id)
        self.assertEqual(status, 200)
        self.assertEqual(h["Content-Type"], "text/html; charset=utf-8")
        self.assertIn(b'<h1 id="inner-heading">Numbers are up</h1>', body)
        csp = h["Content-Security-Policy"]
        self.assertTrue(csp.startswith("sandbox allow-popups allow-popups-to-escape-sandbox;"), csp)
        self.assertIn("default-src 'none'", csp)
        status, h, body = self.api.get("/view/%s/part/5.txt" % self.id)
        self.assertEqual((status, body), (200, b"Numbers are up (text part).\n"))
        # the innermost has text only: no HTML view
        self.assertEqual(self.api.get("/view/%s/part/5.3.html" % self.id)[0], 404)
        self.assertEqual(self.api.get("/view/%s/part/5.3.txt" % self.id)[2], b"The very first message of the thread.\n")
        self.assertEqual(self.api.get("/view/%s/part/2.html" % self.id)[0], 422)
        self.assertEqual(self.api.get("/view/%s/part/8.html" % self.id)[0], 404)

    def test_preview(self):
        status, h, body = self.api.get(self.p + "3?preview=1")
        self.assertEqual((status, body), (200, mails.PDF))
        self.assertEqual(h["Content-Type"], "application/pdf")
        self.assertEqual(h["Content-Disposition"], "inline; filename*=UTF-8''invoice.pdf")
        csp = h["Content-Security-Policy"]
        self.assertNotIn("sandbox", csp)
        self.assertIn("default-src 'none'", csp)
        self.assertIn("frame-ancestors 'self'", csp)
        self.assertEqual(h["X-Content-Type-Options"], "nosniff")
        # without preview: a download, sandboxed
        _, h, _ = self.api.get(self.p + "3")
        self.assertEqual(h["Content-Disposition"], "attachment; filename*=UTF-8''invoice.pdf")
        self.assertTrue(h["Content-Security-Policy"].startswith("sandbox;"))
        # any other type keeps the sandbox in a preview
        _, h, body = self.api.get(self.p + "2?preview=1")
        self.assertEqual(body, mails.IMAGE)
        self.assertEqual(h["Content-Disposition"], "inline; filename*=UTF-8''chart.png")
        self.assertTrue(h["Content-Security-Policy"].startswith("sandbox;"))
        _, h, _ = self.api.get(self.p + "4?preview=1")
        self.assertTrue(h["Content-Security-Policy"].startswith("sandbox;"))


class OutlookInviteTest(unittest.TestCase):
    def test_unnamed_calendar_alternative(self):
        """Outlook's invitation: text/calendar as an alternative body, no name."""
        dm = Devmail(listen=("smtp", "http"))
        dm.start()
        try:
            from email.message import EmailMessage
            from email.policy import SMTP
            m = EmailMessage(policy=SMTP)
            m["From"], m["To"], m["Subject"] = "ann@example.com", "bob@example.com", "Invitation: review"
            m.set_content("You are invited.\n")
            m.add_alternative(mails.INVITE_ICS.replace("METHOD:REQUEST", "METHOD:CANCEL").encode(),
                              maintype="text", subtype="calendar", params={"method": "CANCEL"})
            send_mail(dm, m.as_bytes())
            api = Api(dm)
            msg = api.json("/api/v1/message/latest")
            self.assertEqual([(a["PartID"], a["FileName"], a["ContentType"]) for a in msg["Attachments"]],
                             [("2", "", "text/calendar")])
            c = api.json("/api/v1/message/latest/part/2/calendar")
            self.assertEqual((c["Method"], c["Events"][0]["Summary"]), ("CANCEL", mails.INVITE_SUMMARY))
        finally:
            dm.stop()


class AttachLimitsTest(unittest.TestCase):
    def test_calendar_max_size(self):
        dm = start("calendar_max_size = 1024\n")
        try:
            api = Api(dm)
            p = "/api/v1/message/latest/part/"
            self.assertEqual(api.get(p + "4/calendar")[0], 200)   # 772 bytes
            big = mails.INVITE_ICS.replace("SUMMARY:", "DESCRIPTION:" + "x" * 70 + "\r\n " + "y" * 400 + "\r\nSUMMARY:")
            from email.message import EmailMessage
            from email.policy import SMTP
            m = EmailMessage(policy=SMTP)
            m["From"], m["To"], m["Subject"] = "a@example.com", "b@example.com", "big invite"
            m.set_content("x")
            m.add_attachment(big.encode(), maintype="text", subtype="calendar", filename="big.ics")
            send_mail(dm, m.as_bytes())
            status, _, body = api.get(p + "2/calendar")
            self.assertEqual((status, body), (413, b"calendar part larger than calendar_max_size"))
        finally:
            dm.stop()

    def test_attached_message_max_depth(self):
        dm = start("attached_message_max_depth = 1\n")
        try:
            api = Api(dm)
            p = "/api/v1/message/latest/part/"
            self.assertEqual(api.json(p + "5/message")["Subject"], mails.INNER_SUBJECT)
            self.assertEqual(api.get(p + "5.2")[2], mails.NOTES)
            status, _, body = api.get(p + "5.3/message")
            self.assertEqual((status, body), (422, b"attached message nested deeper than attached_message_max_depth"))
            self.assertEqual(api.get(p + "5.3.1")[0], 404)
        finally:
            dm.stop()
        dm = start("attached_message_max_depth = 0\n")
        try:
            api = Api(dm)
            p = "/api/v1/message/latest/part/"
            self.assertEqual(api.get(p + "5/message")[0], 422)
            self.assertEqual(api.get(p + "5.2")[0], 404)
            self.assertEqual(api.get(p + "5")[0], 200)   # the .eml itself still downloads
        finally:
            dm.stop()


class ForwardedCountTest(unittest.TestCase):
    def forward(self, subject, disposition):
        inner = MIMEText("the original text\n")
        inner["From"], inner["To"], inner["Subject"] = "x@example.com", "y@example.com", "original"
        m = MIMEMultipart()
        m["From"], m["To"], m["Subject"] = "a@example.com", "b@example.com", subject
        m.attach(MIMEText("see the forwarded mail\n"))
        part = MIMEMessage(inner)
        if disposition:
            part.add_header("Content-Disposition", "attachment", filename="original.eml")
        m.attach(part)
        return m.as_bytes()

    def test_forwarded_message_is_an_attachment(self):
        dm = start()
        try:
            api = Api(dm)
            send_mail(dm, self.forward("fwdcount attachment", True))   # Thunderbird, Gmail
            send_mail(dm, self.forward("fwdcount bare", False))        # no Content-Disposition
            q = urllib.parse.quote("has:attachment subject:fwdcount")
            found = {m["Subject"]: m["Attachments"] for m in api.json("/api/v1/search?query=" + q)["messages"]}
            self.assertEqual(found, {"fwdcount attachment": 1, "fwdcount bare": 1})
            for m in api.json("/api/v1/messages")["messages"]:
                if m["Subject"].startswith("fwdcount"):
                    full = api.json("/api/v1/message/" + m["ID"])
                    self.assertEqual([a["ContentType"] for a in full["Attachments"]], ["message/rfc822"])
        finally:
            dm.stop()


if __name__ == "__main__":
    unittest.main()
