"""One delivery service for SMTP and the HTTP send endpoint: the same
trace headers (Return-Path, one X-Original-To per distinct address,
Delivered-To, a Received line naming the real client and a queue id),
the same de-duplication, the same limits."""
import json
import os
import smtplib
import unittest
import urllib.request

from harness import Devmail, maildir_files


def post(dm, path, body):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (dm.ports["http"], path), data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=15) as r:
        return json.load(r)


def headers_of(path):
    with open(path, "rb") as f:
        return f.read().split(b"\n\n", 1)[0].decode()


class DeliveryServiceTest(unittest.TestCase):
    def test_api_send_is_traced_and_deduplicated_like_smtp(self):
        dm = Devmail(listen=("smtp", "http"), domains=["example.com"],
                     recipient_map="@example.com all@example.com\n")
        with dm:
            post(dm, "/api/v1/send", {"From": {"Email": "app@example.com"},
                                      "To": [{"Email": "Ann@example.com"}, {"Email": "ann@EXAMPLE.com"},
                                             {"Email": "bob@example.com"}],
                                      "Subject": "via api", "Text": "hi"})
            with smtplib.SMTP("127.0.0.1", dm.smtp_port, timeout=15) as c:
                c.ehlo("client.example")
                c.sendmail("app@example.com", ["Ann@example.com", "ann@EXAMPLE.com", "bob@example.com"],
                           "Subject: via smtp\r\n\r\nhi\r\n")
            files = sorted(maildir_files(dm.maildir("all@example.com")))
            self.assertEqual(len(files), 2)  # one copy per account, each way
            heads = {}
            for f in files:
                h = headers_of(f)
                heads["api" if "via api" in open(f).read() else "smtp"] = h
            for way, h in heads.items():
                lines = h.split("\n")
                self.assertEqual(lines[0], "Return-Path: <app@example.com>", way)
                self.assertEqual([l for l in lines if l.startswith("X-Original-To:")],
                                 ["X-Original-To: Ann@example.com", "X-Original-To: bob@example.com"], way)
                self.assertIn("Delivered-To: Ann@example.com", lines, way)
                self.assertIn("(localhost [127.0.0.1])", h, way)
                self.assertRegex(h, r"by devmail\.example\.com \(devmail\) with (HTTP|ESMTP) id [0-9A-F]{12}", way)
            self.assertIn("Received: from unknown (localhost [127.0.0.1])", heads["api"])
            self.assertIn("Received: from client.example (localhost [127.0.0.1])", heads["smtp"])

    def test_api_lint_route(self):
        dm = Devmail(listen=("smtp", "http"))
        with dm:
            with smtplib.SMTP("127.0.0.1", dm.smtp_port, timeout=15) as c:
                c.sendmail("a@example.com", ["b@example.com"], "Subject: x\r\n\r\nbody\r\n")
            with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/message/latest/lint" % dm.ports["http"]) as r:
                rep = json.load(r)
            codes = {f["Code"] for f in rep["Findings"]}
            self.assertIn("missing-date", codes)
            self.assertIn("missing-from", codes)
            self.assertEqual(rep["Errors"], 2)


if __name__ == "__main__":
    unittest.main()
