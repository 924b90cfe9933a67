"""Nothing only the index holds is lost by a rebuild: IMAP keywords and API
tags (which are keywords) are kept in the Maildir as Dovecot keeps them, a
letter a-z per keyword after the standard flags in the file name, named in
the folder's dovecot-keywords. Keywords set over IMAP and tags set over the
API are back after the index is deleted, damaged, or rebuilt with
`devmail reindex`; so are the tags the tag filters (the tag key) give a
message at delivery.
"""
import base64
import json
import os
import re
import subprocess
import unittest
import urllib.request

from harness import BIN, imap_client, recipe_devmail, send_mail

AUTH = "Basic " + base64.b64encode(b"all@example.com:password").decode()


def mail(i):
    return "From: a@example.com\r\nTo: all@example.com\r\nSubject: kw %d\r\n\r\nbody %d\r\n" % (i, i)


class KeywordsSurviveARebuild(unittest.TestCase):
    def setUp(self):
        self.dm = recipe_devmail(listen=("smtp", "imap", "http"), args=["--retention", "0"]).start()
        self.addCleanup(self.dm.__exit__, None, None, None)
        for i in range(4):
            send_mail(self.dm, mail(i))
        m = imap_client(self.dm)
        m.select("INBOX")
        m.store("1", "+FLAGS", "($Label1 Project-X \\Flagged)")
        m.store("2", "+FLAGS", "(Urgent)")
        m.store("2", "-FLAGS", "(Urgent)")  # set and cleared: nothing left
        m.store("3", "+FLAGS", "(\\Seen)")
        m.create("Archive")
        m.copy("1", "Archive")
        m.logout()
        ids = [msg["ID"] for msg in self.api("GET", "/api/v1/messages")["messages"]]
        # newest first: the 4th and the 3rd message get tags over the API
        self.assertEqual(self.api("PUT", "/api/v1/tags", {"Tags": ["signup", "later"], "IDs": [ids[0]]}), "ok")
        self.assertEqual(self.api("PUT", "/api/v1/tags", {"Tags": ["later"], "IDs": [ids[1]]}), "ok")
        self.before = self.state()

    def api(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.dm.ports["http"], path), data=data,
                                     method=method, headers={"Authorization": AUTH,
                                                             "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=15) as r:
            payload = r.read()
            if r.headers.get("Content-Type", "").startswith("application/json"):
                return json.loads(payload)
            return payload.decode()

    def state(self):
        """What a user sees: per folder the FLAGS of each message by
        subject, and the API's tags by subject."""
        out = {}
        m = imap_client(self.dm)
        for box in ("INBOX", "Archive"):
            typ, _ = m.select(box)
            self.assertEqual(typ, "OK")
            typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            for item in data:
                if not isinstance(item, tuple):
                    continue
                flags = re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).decode().split()
                subject = item[1].decode().strip()
                out[(box, subject)] = sorted(f for f in flags if f != "\\Recent")
        m.logout()
        for msg in self.api("GET", "/api/v1/messages")["messages"]:
            out[("api", msg["Subject"])] = sorted(msg["Tags"])
        return out

    def check_before(self):
        b = self.before
        self.assertEqual(b[("INBOX", "Subject: kw 0")], ["$Label1", "Project-X", "\\Flagged"])
        self.assertEqual(b[("INBOX", "Subject: kw 1")], [])
        self.assertEqual(b[("INBOX", "Subject: kw 2")], ["\\Seen", "later"])
        self.assertEqual(b[("INBOX", "Subject: kw 3")], ["later", "signup"])
        self.assertEqual(b[("Archive", "Subject: kw 0")], ["$Label1", "Project-X", "\\Flagged"])
        self.assertEqual(b[("api", "kw 0")], ["$Label1", "Project-X"])
        self.assertEqual(b[("api", "kw 3")], ["later", "signup"])

    def maildir_letters(self):
        """The folder's dovecot-keywords and the info of each file."""
        root = self.dm.maildir("all@example.com")
        with open(os.path.join(root, "dovecot-keywords")) as f:
            names = dict(line.rstrip("\n").split(" ", 1) for line in f)
        infos = sorted(n.split(":2,", 1)[1] for n in os.listdir(os.path.join(root, "cur")))
        return names, infos

    def index_files(self):
        return [os.path.join(self.dm.data_dir, n) for n in os.listdir(self.dm.data_dir)
                if n.startswith("index.sqlite")]

    def test_files_follow_dovecots_convention(self):
        self.check_before()
        names, infos = self.maildir_letters()
        self.assertEqual(sorted(names.values()), ["$Label1", "Project-X", "Urgent", "later", "signup"])
        letter = {v: chr(ord("a") + int(k)) for k, v in names.items()}
        want = sorted([
            "F" + "".join(sorted(letter["$Label1"] + letter["Project-X"])),
            "",  # Urgent set and cleared
            "S" + letter["later"],
            "".join(sorted(letter["later"] + letter["signup"])),
        ])
        self.assertEqual(infos, want)

    def test_index_deleted(self):
        self.check_before()
        self.assertEqual(self.dm.stop(), 0)
        for p in self.index_files():
            os.unlink(p)
        self.dm.start()
        self.assertEqual(self.state(), self.before)

    def test_index_damaged(self):
        self.assertEqual(self.dm.stop(), 0)
        index = os.path.join(self.dm.data_dir, "index.sqlite")
        with open(index, "r+b") as f:
            f.write(b"\xff" * 100)  # the header
        self.dm.start()
        self.assertIn("is damaged", self.dm.log_text())
        self.assertEqual(self.state(), self.before)

    def test_reindex_command(self):
        self.assertEqual(self.dm.stop(), 0)
        out = subprocess.run([BIN, "reindex", "--data-dir", self.dm.data_dir], capture_output=True, text=True,
                             timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("reindexed 5 messages", out.stdout)
        self.dm.start()
        self.assertEqual(self.state(), self.before)


class FilterTagsSurviveARebuild(unittest.TestCase):
    """A delivered message tagged by a tag filter is moved to cur/ with its
    tags' letters in the name (with the automatic X-Tags ones), named in
    dovecot-keywords next to the letters IMAP gave out, so a rebuild keeps
    them. Before, they lived in the index only and a reindex lost them."""
    RULES = "invoice,billing=subject:invoice"

    def setUp(self):
        self.dm = recipe_devmail(listen=("smtp", "imap", "http"), args=["--retention", "0", "--tag", self.RULES])
        self.dm.start()
        self.addCleanup(self.dm.__exit__, None, None, None)
        send_mail(self.dm, "From: a@example.com\r\nTo: all@example.com\r\nSubject: invoice 1\r\n"
                           "X-Tags: auto1\r\n\r\nbody\r\n")
        send_mail(self.dm, mail(1))
        m = imap_client(self.dm)
        m.select("INBOX")
        m.store("2", "+FLAGS", "(Later)")
        m.logout()
        send_mail(self.dm, "From: a@example.com\r\nTo: all@example.com\r\nSubject: invoice 2\r\n\r\nbody\r\n")

    api = KeywordsSurviveARebuild.api

    def state(self):
        out = {}
        m = imap_client(self.dm)
        m.select("INBOX")
        typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        for item in data:
            if isinstance(item, tuple):
                flags = re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).decode().split()
                out[("imap", item[1].decode().strip())] = sorted(f for f in flags if f != "\\Recent")
        m.logout()
        for msg in self.api("GET", "/api/v1/messages")["messages"]:
            out[("api", msg["Subject"])] = sorted(msg["Tags"])
        return out

    def test_reindex_keeps_filter_tags(self):
        before = self.state()
        self.assertEqual(before[("api", "invoice 1")], ["auto1", "billing", "invoice"])
        self.assertEqual(before[("api", "invoice 2")], ["billing", "invoice"])
        self.assertEqual(before[("imap", "Subject: invoice 2")], ["billing", "invoice"])
        self.assertEqual(before[("imap", "Subject: kw 1")], ["Later"])
        # in the Maildir as Dovecot keeps them: every name has its own letter
        root = self.dm.maildir("all@example.com")
        with open(os.path.join(root, "dovecot-keywords")) as f:
            names = dict(line.rstrip("\n").split(" ", 1) for line in f)
        self.assertEqual(sorted(names.values()), ["Later", "auto1", "billing", "invoice"])
        letter = {v: chr(ord("a") + int(k)) for k, v in names.items()}
        infos = sorted(n.split(":2,", 1)[1] for n in os.listdir(os.path.join(root, "cur")))
        self.assertEqual(infos, sorted(["".join(sorted(letter[k] for k in ("auto1", "billing", "invoice"))),
                                        letter["Later"],
                                        "".join(sorted(letter[k] for k in ("billing", "invoice")))]))
        self.assertEqual(self.dm.stop(), 0)
        out = subprocess.run([BIN, "reindex", "--data-dir", self.dm.data_dir], capture_output=True, text=True,
                             timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("reindexed 3 messages", out.stdout)
        self.dm.start()
        self.assertEqual(self.state(), before)
        # a message the filter does not match stays in new/, untagged
        send_mail(self.dm, mail(5))
        self.assertEqual(self.state()[("api", "kw 5")], [])
        self.assertEqual(len(os.listdir(os.path.join(root, "new"))), 1)


if __name__ == "__main__":
    unittest.main()
