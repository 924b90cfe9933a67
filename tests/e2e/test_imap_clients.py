"""Real IMAP clients against devmail: curl imap:// and mbsync (isync).

mbsync syncs INBOX and a folder into a local Maildir and back: a flag
changed locally reaches the server, a deletion on either side propagates.
Its config is generated in a temporary directory; the STARTTLS variant
trusts devmail's local CA (<data_dir>/tls/ca.pem), which signs the
server's certificate.
"""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import imap_client, maildir_files, recipe_devmail, send_mail

MBSYNCRC = """IMAPAccount devmail
Host {host}
Port {port}
User all@example.com
Pass password
{tls}
AuthMechs LOGIN PLAIN

IMAPStore remote
Account devmail

MaildirStore local
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel devmail
Far :remote:
Near :local:
Patterns INBOX Work
Create Both
Expunge Both
SyncState *
"""


def mail(subject):
    return "From: x@example.net\r\nTo: all@example.com\r\nSubject: %s\r\n\r\nbody of %s\r\n" % (subject, subject)


class TestCurl(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dm = recipe_devmail(listen=("smtp", "imap", "imaps")).start()
        send_mail(cls.dm, mail("curl me"))

    @classmethod
    def tearDownClass(cls):
        cls.dm.__exit__(None, None, None)

    def curl(self, url, *extra):
        r = subprocess.run(["curl", "-sS", "--max-time", "15", "-u", "all@example.com:password", url] + list(extra),
                           capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        return r.stdout

    def test_list_mailboxes(self):
        out = self.curl("imap://127.0.0.1:%d/" % self.dm.ports["imap"]).decode()
        self.assertIn('* LIST (\\HasNoChildren) "." INBOX', out)
        self.assertIn("Sent", out)

    def test_fetch_by_uid(self):
        out = self.curl("imap://127.0.0.1:%d/INBOX;UID=1" % self.dm.ports["imap"])
        self.assertIn(b"Subject: curl me", out)
        self.assertIn(b"body of curl me", out)

    def test_fetch_over_imaps_and_starttls(self):
        out = self.curl("imaps://127.0.0.1:%d/INBOX;UID=1" % self.dm.ports["imaps"], "-k")
        self.assertIn(b"Subject: curl me", out)
        out = self.curl("imap://127.0.0.1:%d/INBOX;UID=1" % self.dm.ports["imap"], "-k", "--ssl-reqd")
        self.assertIn(b"Subject: curl me", out)

    def test_search_and_examine(self):
        out = self.curl("imap://127.0.0.1:%d/INBOX" % self.dm.ports["imap"], "-X", "UID SEARCH SUBJECT curl").decode()
        self.assertIn("* SEARCH 1", out)
        out = self.curl("imap://127.0.0.1:%d/INBOX" % self.dm.ports["imap"], "-X", "EXAMINE INBOX").decode()
        self.assertIn("EXISTS", out)


@unittest.skipIf(shutil.which("mbsync") is None, "mbsync (isync) not installed")
class TestMbsync(unittest.TestCase):
    def setUp(self):
        self.dm = recipe_devmail(listen=("smtp", "imap")).start()
        self.addCleanup(self.dm.__exit__, None, None, None)
        self.tmp = tempfile.mkdtemp(prefix="devmail-mbsync-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.local = os.path.join(self.tmp, "mail")
        os.makedirs(self.local)

    def mbsync(self, tls, host="127.0.0.1"):
        rc = os.path.join(self.tmp, "mbsyncrc")
        with open(rc, "w") as f:
            f.write(MBSYNCRC.format(host=host, port=self.dm.ports["imap"], local=self.local, tls=tls))
        r = subprocess.run(["mbsync", "-c", rc, "-a"], capture_output=True, timeout=60, cwd=self.tmp)
        self.assertEqual(r.returncode, 0, (r.stdout + r.stderr).decode())

    def local_files(self, box):
        return maildir_files(os.path.join(self.local, box))

    def run_sync(self, tls, host="127.0.0.1"):
        m = imap_client(self.dm)
        for i in range(3):
            send_mail(self.dm, mail("inbox %d" % i))
        m.create("Work")
        m.append("Work", "(\\Flagged)", None, mail("work item").encode())
        self.mbsync(tls, host)
        self.assertEqual(len(self.local_files("INBOX")), 3)
        work = self.local_files("Work")
        self.assertEqual(len(work), 1)
        self.assertRegex(work[0], r":2,[A-Z]*F")
        # local changes: mark an INBOX message seen+flagged, delete another
        inbox = sorted(self.local_files("INBOX"))
        by_subject = {}
        for p in inbox:
            s = re.search(rb"Subject: (inbox \d)", open(p, "rb").read()).group(1).decode()
            by_subject[s] = p
        p0 = by_subject["inbox 0"]
        base = p0.split(":2,")[0]
        os.rename(p0, base + ":2,FS")
        os.unlink(by_subject["inbox 1"])
        # a new local message in Work goes up
        new = os.path.join(self.local, "Work", "new", "1700000000.local.host")
        with open(new, "w") as f:
            f.write(mail("made locally").replace("\r\n", "\n"))
        # server side: deliver one more, delete the Work message
        send_mail(self.dm, mail("inbox 3"))
        m.select("Work")
        m.store("1", "+FLAGS", "(\\Deleted)")
        m.expunge()
        self.mbsync(tls, host)
        m.select("INBOX")
        typ, data = m.search(None, "SUBJECT", '"inbox 0"')
        seq = data[0].decode()
        self.assertTrue(seq)
        typ, data = m.fetch(seq, "(FLAGS)")
        self.assertIn(b"\\Flagged", data[0])
        self.assertIn(b"\\Seen", data[0])
        typ, data = m.search(None, "SUBJECT", '"inbox 1"', "UNDELETED")
        self.assertEqual(data[0], b"")  # deleted locally -> gone (or \Deleted) on the server
        typ, data = m.search(None, "ALL")
        self.assertEqual(len(data[0].split()), 3)  # 0, 2, 3
        self.assertEqual(len(self.local_files("INBOX")), 3)
        m.select("Work")
        typ, data = m.search(None, "SUBJECT", '"made locally"')
        self.assertTrue(data[0])
        files = self.local_files("Work")
        self.assertEqual(len(files), 1)  # "work item" deleted on the server -> gone locally
        self.assertIn(b"made locally", open(files[0], "rb").read())
        m.logout()

    def test_sync_plain(self):
        self.run_sync("SSLType None")

    def test_sync_starttls(self):
        # mbsync verifies the chain and matches only DNS names (not the
        # certificate's IP addresses): connect as localhost
        cert = os.path.join(self.dm.data_dir, "tls", "ca.pem")
        self.run_sync("SSLType STARTTLS\nCertificateFile %s" % cert, host="localhost")


if __name__ == "__main__":
    unittest.main()
