"""The recipe's two `nc` transcripts, replayed against devmail.

The recipe (Postfix + Dovecot development mail server) tests Postfix with

    nc devmail 25 <<EOM
    EHLO STINGER
    MAIL FROM:auser@example.com
    ...
    EOM

i.e. bare addresses, every line sent at once (the message right behind
DATA, before the 354 arrives), LF line ends from the heredoc. devmail must
answer with the same reply codes and enhanced status codes, and store the
message with the headers Postfix prepends.
"""
import os
import re
import subprocess
import time
import unittest

from harness import BIN, ROOT, Devmail, free_port, maildir_files, smtp_burst, smtp_reply_lines

HOST = "devmail.example.com"
VMAILBOX = "@example.com       example.com/all/Maildir/\n"

SESSION1 = (
    "EHLO STINGER\n"
    "MAIL FROM:auser@example.com\n"
    "RCPT TO:someone@example.com\n"
    "DATA\n"
    "Subject:Testing an email on the new environment\n"
    "\n"
    "This is a test of our postfix configuration.\n"
    ".\n"
    "QUIT\n"
)

SESSION2 = (
    "EHLO STINGER\n"
    "MAIL FROM:auser@example.com\n"
    "RCPT TO:ray@example.net\n"
    "QUIT\n"
)

# What Postfix answered in the recipe, in order (EHLO keywords checked separately).
RECIPE_EHLO = ["PIPELINING", "SIZE 10240000", "VRFY", "ETRN", "STARTTLS",
               "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8"]
# keywords devmail must advertise (ETRN is a queue-runner command devmail has no use for)
REQUIRED_EHLO = ["PIPELINING", "SIZE 10240000", "STARTTLS", "ENHANCEDSTATUSCODES",
                 "8BITMIME", "DSN", "SMTPUTF8"]

QUEUED_RE = re.compile(r"^250 2\.0\.0 Ok: queued as [0-9A-Za-z]+$")


def crlf(s):
    return s.replace("\n", "\r\n")


class RecipeCheck:
    """Assertions shared by the transcript tests (mixin for TestCase)."""

    def check_greeting_and_ehlo(self, lines):
        self.assertRegex(lines[0], r"^220 %s ESMTP( .*)?$" % re.escape(HOST))
        self.assertEqual(lines[1], "250-" + HOST)
        i = 2
        kws = []
        while True:
            self.assertTrue(lines[i].startswith("250-") or lines[i].startswith("250 "), lines[i])
            kws.append(lines[i][4:])
            if lines[i].startswith("250 "):
                break
            i += 1
        for k in REQUIRED_EHLO:
            self.assertIn(k, kws)
        # the keywords devmail shares with Postfix come in the recipe's order
        shared = [k for k in RECIPE_EHLO if k in kws]
        self.assertEqual([k for k in kws if k in RECIPE_EHLO], shared)
        return i + 1

    def check_session1(self, raw):
        self.assertTrue(raw.endswith(b"\r\n"), raw[-80:])
        self.assertNotIn(b"\n", raw.replace(b"\r\n", b""), "reply lines must end in CRLF")
        lines = smtp_reply_lines(raw)
        i = self.check_greeting_and_ehlo(lines)
        rest = lines[i:]
        self.assertEqual(len(rest), 5, rest)
        self.assertEqual(rest[0], "250 2.1.0 Ok")
        self.assertEqual(rest[1], "250 2.1.5 Ok")
        self.assertEqual(rest[2], "354 End data with <CR><LF>.<CR><LF>")
        self.assertRegex(rest[3], QUEUED_RE)
        self.assertEqual(rest[4], "221 2.0.0 Bye")
        return rest[3].rsplit(" ", 1)[1]

    def check_session2(self, raw):
        lines = smtp_reply_lines(raw)
        i = self.check_greeting_and_ehlo(lines)
        self.assertEqual(lines[i:], [
            "250 2.1.0 Ok",
            "554 5.7.1 <ray@example.net>: Relay access denied",
            "221 2.0.0 Bye",
        ])

    def check_stored(self, data_dir, queue_id=None, count=1):
        maildir = os.path.join(data_dir, "example.com", "all", "Maildir")
        files = maildir_files(maildir, ("new",))
        self.assertEqual(len(files), count, files)
        self.assertEqual(maildir_files(maildir, ("cur",)), [])
        for path in files:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8").replace("\r\n", "\n")
            lines = text.split("\n")
            self.assertEqual(lines[0], "Return-Path: <auser@example.com>")
            self.assertEqual(lines[1], "X-Original-To: someone@example.com")
            self.assertEqual(lines[2], "Delivered-To: someone@example.com")
            self.assertTrue(lines[3].startswith("Received: from STINGER "), lines[3])
            j = 4
            while lines[j][:1] in (" ", "\t"):
                j += 1
            received = " ".join(l.strip() for l in lines[3:j])
            self.assertIn("by %s" % HOST, received)
            self.assertIn("for <someone@example.com>;", received)
            if queue_id is not None:
                self.assertIn("id %s" % queue_id, received)
            self.assertEqual("\n".join(lines[j:]),
                             "Subject:Testing an email on the new environment\n"
                             "\n"
                             "This is a test of our postfix configuration.\n")
            # Maildir name carries the size: ,S=<bytes>
            m = re.search(r",S=(\d+)", os.path.basename(path))
            if m:
                self.assertEqual(int(m.group(1)), os.path.getsize(path))


class RecipeTranscripts(unittest.TestCase, RecipeCheck):
    """Config equivalent to the recipe, transcripts over a raw socket."""

    @classmethod
    def setUpClass(cls):
        cls.dm = Devmail(domains=["example.com"], recipient_map=VMAILBOX, hostname=HOST).start()

    @classmethod
    def tearDownClass(cls):
        cls.dm.__exit__(None, None, None)

    def setUp(self):
        # each test starts from an empty Maildir
        maildir = self.dm.maildir("all@example.com")
        for p in maildir_files(maildir):
            os.unlink(p)

    def test_session1_one_burst_crlf(self):
        qid = self.check_session1(smtp_burst(self.dm.smtp_port, crlf(SESSION1)))
        self.check_stored(self.dm.data_dir, qid)

    def test_session1_one_burst_bare_lf(self):
        # exactly the bytes the heredoc feeds nc
        qid = self.check_session1(smtp_burst(self.dm.smtp_port, SESSION1))
        self.check_stored(self.dm.data_dir, qid)

    def test_session2_relay_denied(self):
        self.check_session2(smtp_burst(self.dm.smtp_port, crlf(SESSION2)))
        self.check_session2(smtp_burst(self.dm.smtp_port, SESSION2))
        self.assertEqual(maildir_files(self.dm.maildir("all@example.com")), [])

    def test_nc_binary(self):
        """The real netcat (netcat-openbsd) fed the heredoc text on stdin."""
        # as in the recipe: plain `nc host port`; devmail closing the
        # connection after QUIT is what ends nc (Debian's "-q N" would just
        # add N seconds of sleep after stdin EOF)
        for n, opts in enumerate(([], []), 1):
            t0 = time.monotonic()
            nc = subprocess.run(["nc"] + opts + ["127.0.0.1", str(self.dm.smtp_port)], input=SESSION1.encode(),
                                capture_output=True, timeout=20)
            self.assertEqual(nc.returncode, 0, nc.stderr)
            self.check_session1(nc.stdout)
            self.check_stored(self.dm.data_dir, count=n)
            nc = subprocess.run(["nc"] + opts + ["127.0.0.1", str(self.dm.smtp_port)], input=SESSION2.encode(),
                                capture_output=True, timeout=20)
            self.check_session2(nc.stdout)
            self.check_stored(self.dm.data_dir, count=n)  # nothing stored for the relay attempt
            self.assertLess(time.monotonic() - t0, 2.5)

    def test_queue_ids_unique(self):
        ids = set()
        for _ in range(5):
            ids.add(self.check_session1(smtp_burst(self.dm.smtp_port, crlf(SESSION1))))
        self.assertEqual(len(ids), 5)
        self.check_stored(self.dm.data_dir, count=5)

    def test_delivery_logged(self):
        qid = self.check_session1(smtp_burst(self.dm.smtp_port, crlf(SESSION1)))
        log = self.dm.log_text()
        lines = [l for l in log.splitlines() if qid in l]
        self.assertTrue(lines, log[-2000:])
        self.assertIn("auser@example.com", lines[-1])
        self.assertIn("someone@example.com", lines[-1])


class RecipeConfigFile(unittest.TestCase, RecipeCheck):
    """examples/recipe.conf itself, with only the data dir and port overridden."""

    def test_examples_recipe_conf(self):
        dm = Devmail()
        port = free_port()
        dm.args = [BIN, "-c", "examples/recipe.conf", "--data-dir", dm.data_dir,
                   "--smtp-listen", "127.0.0.1:%d" % port]
        for proto in ("smtps", "imap", "imaps", "pop3", "pop3s", "http"):
            dm.args += ["--%s-listen" % proto, ""]
        dm.ports = {"smtp": port}
        with dm:
            qid = self.check_session1(smtp_burst(port, SESSION1))
            self.check_session2(smtp_burst(port, SESSION2))
            self.check_stored(dm.data_dir, qid)


if __name__ == "__main__":
    unittest.main()
