"""devmail's deliverability lint from the command line: `devmail check`
on a message caught over SMTP (the newest, or by API ID, while the server
runs) and on a file, with the exit status a CI job can fail on.
"""
import json
import os
import subprocess
import unittest
import urllib.request

from harness import BIN, ROOT, Devmail, devmail_check, send_mail

CLEAN = (
    "From: Shop <news@shop.example>\r\nTo: ann@example.com\r\n"
    "Date: Tue, 01 Dec 2026 10:00:00 +0000\r\nMessage-ID: <a.1@shop.example>\r\nSubject: Hello\r\n"
    "List-Unsubscribe: <https://shop.example/u/1>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b1\r\n\r\n"
    "--b1\r\nContent-Type: text/plain\r\n\r\nHello\r\n--b1\r\nContent-Type: text/html\r\n\r\n<p>Hello</p>\r\n--b1--\r\n"
)

BULK_HTML_ONLY = (
    "From: Shop <news@shop.example>\r\nTo: ann@example.com\r\nSubject: Sale\r\n"
    "List-Unsubscribe: <https://shop.example/u/1>\r\n"
    "MIME-Version: 1.0\r\nContent-Type: text/html\r\n\r\n<p>Sale!</p>\r\n"
)




class LintCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dm = Devmail(listen=("smtp", "http")).start()

    @classmethod
    def tearDownClass(cls):
        cls.dm.stop()

    def test_latest(self):
        send_mail(self.dm, BULK_HTML_ONLY)
        r = devmail_check(self.dm, "--json", "latest")
        self.assertEqual(r.returncode, 2, r.stderr)  # errors: no Date
        rep = json.loads(r.stdout)
        codes = {f["Code"] for f in rep["Findings"]}
        # smtplib sends the message as written: no Date, no Message-ID
        self.assertIn("missing-date", codes)
        self.assertIn("no-text-alternative", codes)
        self.assertIn("list-unsubscribe-no-post", codes)
        self.assertIn("missing-message-id", codes)
        self.assertEqual(rep["Errors"], 1)
        self.assertEqual(rep["Warnings"], 3)

    def test_clean_mail_exits_zero(self):
        send_mail(self.dm, CLEAN)
        with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/messages" % self.dm.ports["http"]) as f:
            msgs = json.load(f)["messages"]
        mid = [m["ID"] for m in msgs if m["Subject"] == "Hello"][0]
        r = devmail_check(self.dm, mid)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("0 errors, 0 warnings", r.stdout)
        self.assertIn("no-dkim-signature", r.stdout)  # a note only

    def test_file_and_unknown(self):
        path = os.path.join(self.dm.tmp, "bad.eml")
        with open(path, "w") as f:
            f.write("Subject: x\n\nbody\n")
        r = subprocess.run([BIN, "check", path], cwd=ROOT, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2)
        self.assertIn("missing-from", r.stdout)
        r = devmail_check(self.dm, "no-such-id")
        self.assertEqual(r.returncode, 3)
        self.assertIn("no message no-such-id", r.stderr)


if __name__ == "__main__":
    unittest.main()
