"""Subjects that Python's email package writes with a character split
across two RFC 2047 encoded-words, or with a padded base64 word in the
middle of a run, are decoded whole: the API, the page and IMAP SEARCH see
the text Python itself reads back from the same bytes (before, everything
after the padded word was lost)."""
import base64
import email
import email.policy
import imaplib
import json
import smtplib
import unittest
import urllib.request
from email.message import EmailMessage

from harness import RECIPE_ACCOUNT, RECIPE_PASSWORD, recipe_devmail

SUBJECTS = ["x" * n + " ✓ 日本語 テスト ✓ 日本語" for n in range(30, 80, 3)] + ["€" * 40, "Réunion de l'équipe ✓"]


class HeaderDecoding(unittest.TestCase):
    def test_split_encoded_words(self):
        expected = []
        with recipe_devmail(listen=("smtp", "imap", "http")) as dm:
            with smtplib.SMTP("127.0.0.1", dm.smtp_port, timeout=30) as s:
                for sub in SUBJECTS:
                    m = EmailMessage()
                    m["Subject"] = sub
                    m["From"] = "a@example.com"
                    m["To"] = "b@example.com"
                    m.set_content("x")
                    raw = m.as_bytes(policy=email.policy.SMTP)
                    # (white space where Python folded the first line is not part of the text)
                    expected.append(email.message_from_bytes(raw, policy=email.policy.default)["Subject"].strip())
                    s.sendmail("a@example.com", ["b@example.com"], raw)
            req = urllib.request.Request("http://127.0.0.1:%d/api/v1/messages?limit=100" % dm.ports["http"])
            req.add_header("Authorization", "Basic " + base64.b64encode(
                ("%s:%s" % (RECIPE_ACCOUNT, RECIPE_PASSWORD)).encode()).decode())
            got = [m["Subject"] for m in json.loads(urllib.request.urlopen(req, timeout=10).read())["messages"]]
            self.assertEqual(sorted(g.strip() for g in got), sorted(expected))
            # every one of them carries the last word, which was lost before
            self.assertEqual(sum(1 for g in got if g.endswith("日本語")), len(SUBJECTS) - 2)
            c = imaplib.IMAP4("127.0.0.1", dm.ports["imap"])
            c.login(RECIPE_ACCOUNT, RECIPE_PASSWORD)
            c.select("INBOX")
            c._encoding = "utf-8"
            typ, data = c.uid("SEARCH", "CHARSET", "UTF-8", "SUBJECT", "テスト")
            self.assertEqual(typ, "OK")
            self.assertEqual(len(data[0].split()), len(SUBJECTS) - 2, data)
            c.logout()


if __name__ == "__main__":
    unittest.main()
