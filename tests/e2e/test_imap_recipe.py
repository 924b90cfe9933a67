"""The recipe's `openssl s_client -starttls imap` session, replayed.

The recipe (Postfix + Dovecot development mail server) reads the caught
mail with

    openssl s_client -connect devmail:143 -starttls imap
    a1 LOGIN all@example.com password
    a2 LIST "" "*"
    a3 EXAMINE INBOX
    a4 FETCH 1 BODY[]
    a5 LOGOUT

typed line by line (LF line ends, as from a terminal). devmail, configured
like the recipe (domain example.com, @example.com -> all@example.com,
passdb all@example.com:{PLAIN}password), must answer with the same kind of
responses as Dovecot did there.
"""
import queue
import re
import subprocess
import threading
import time
import unittest

from harness import ImapRaw, recipe_devmail, send_mail

RECIPE_MESSAGE = "Subject:Testing an email on the new environment\n\nThis is a test of our postfix configuration.\n"
RECIPE_LINES = ['a1 LOGIN all@example.com password', 'a2 LIST "" "*"', 'a3 EXAMINE INBOX', 'a4 FETCH 1 BODY[]',
                'a5 LOGOUT']


class OpensslSession:
    """openssl s_client -starttls imap -quiet, fed one line at a time."""

    def __init__(self, port):
        self.proc = subprocess.Popen(
            ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-starttls", "imap", "-quiet"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.q = queue.Queue()
        self.out = b""
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        while True:
            chunk = self.proc.stdout.read1(65536)
            self.q.put(chunk)
            if not chunk:
                return

    def wait_for(self, pattern, timeout=10.0):
        """Read output until pattern (bytes regex) matches; returns all output so far."""
        deadline = time.time() + timeout
        while not re.search(pattern, self.out, re.M):
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError("timeout waiting for %r; got:\n%s" % (pattern, self.out.decode("utf-8", "replace")))
            try:
                chunk = self.q.get(timeout=left)
            except queue.Empty:
                continue
            if not chunk:
                raise AssertionError("openssl exited waiting for %r; got:\n%s" % (pattern, self.out.decode("utf-8", "replace")))
            self.out += chunk
        return self.out

    def send_line(self, line):
        self.proc.stdin.write(line.encode() + b"\n")  # a terminal sends LF
        self.proc.stdin.flush()

    def close(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class TestRecipeOpenssl(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dm = recipe_devmail(listen=("smtp", "imap")).start()
        send_mail(cls.dm, RECIPE_MESSAGE)

    @classmethod
    def tearDownClass(cls):
        cls.dm.__exit__(None, None, None)

    def test_greeting_has_capability(self):
        with ImapRaw(self.dm.ports["imap"]) as c:
            self.assertRegex(c.greeting, r"^\* OK \[CAPABILITY IMAP4rev1 [^\]]*\] ")
            caps = re.search(r"\[CAPABILITY ([^\]]*)\]", c.greeting).group(1).split()
            self.assertIn("STARTTLS", caps)
            self.assertIn("AUTH=PLAIN", caps)  # plaintext login allowed, like disable_plaintext_auth = no
            c.cmd("LOGOUT")

    def test_a_transcript(self):
        s = OpensslSession(self.dm.ports["imap"])
        try:
            # nothing is printed before the first command with -quiet: the greeting,
            # CAPABILITY and STARTTLS exchange are consumed by s_client
            s.send_line(RECIPE_LINES[0])
            out = s.wait_for(rb"^a1 (OK|NO|BAD)")
            self.assertRegex(out, rb"(?m)^a1 OK \[CAPABILITY IMAP4rev1 [^\]]*\] Logged in\r?$")
            self.assertIn(b"IDLE", out)
            self.assertIn(b"SPECIAL-USE", out)

            mark = len(out)
            s.send_line(RECIPE_LINES[1])
            out = s.wait_for(rb"^a2 (OK|NO|BAD)")
            part = out[mark:].decode()
            self.assertIn('* LIST (\\HasNoChildren) "." INBOX\r\n', part)
            self.assertRegex(part, r"(?m)^a2 OK List completed")

            mark = len(out)
            s.send_line(RECIPE_LINES[2])
            out = s.wait_for(rb"^a3 (OK|NO|BAD)")
            lines = out[mark:].decode().split("\r\n")
            self.assertEqual(lines[0], "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)")
            self.assertEqual(lines[1], "* OK [PERMANENTFLAGS ()] Read-only mailbox.")
            self.assertEqual(lines[2], "* 1 EXISTS")
            self.assertEqual(lines[3], "* 1 RECENT")
            self.assertEqual(lines[4], "* OK [UNSEEN 1] First unseen.")
            self.assertRegex(lines[5], r"^\* OK \[UIDVALIDITY [1-9][0-9]*\] UIDs valid$")
            self.assertEqual(lines[6], "* OK [UIDNEXT 2] Predicted next UID")
            self.assertRegex(lines[7], r"^a3 OK \[READ-ONLY\] Examine completed")

            mark = len(out)
            s.send_line(RECIPE_LINES[3])
            out = s.wait_for(rb"^a4 (OK|NO|BAD)")
            part = out[mark:]
            m = re.match(rb"\* 1 FETCH \(BODY\[\] \{(\d+)\}\r\n", part)
            self.assertIsNotNone(m, part)
            n = int(m.group(1))
            body = part[m.end():m.end() + n]
            self.assertEqual(len(body), n)
            self.assertEqual(part[m.end() + n:m.end() + n + 3], b")\r\n")
            self.assertTrue(body.startswith(b"Return-Path: <auser@example.com>\r\n"), body[:200])
            self.assertIn(b"\r\nDelivered-To: ", body)
            self.assertIn(b"\r\nReceived: from ", body)
            self.assertIn(b"\r\nSubject:Testing an email on the new environment\r\n\r\n"
                          b"This is a test of our postfix configuration.\r\n", body)
            self.assertTrue(body.endswith(b"This is a test of our postfix configuration.\r\n"))
            self.assertNotIn(b"\n", body.replace(b"\r\n", b""))  # CRLF throughout
            self.assertRegex(part[m.end() + n + 3:], rb"^a4 OK Fetch completed")

            mark = len(out)
            s.send_line(RECIPE_LINES[4])
            out = s.wait_for(rb"^a5 (OK|NO|BAD)")
            part = out[mark:].decode()
            self.assertRegex(part, r"^\* BYE Logging out\r\na5 OK Logout completed")
            s.proc.stdin.close()
            self.assertEqual(s.proc.wait(10), 0)
        finally:
            s.close()

    def test_zz_examine_does_not_set_seen(self):
        # EXAMINE is read-only: FETCH BODY[] there must not set \Seen
        with ImapRaw(self.dm.ports["imap"]) as c:
            c.cmd("LOGIN all@example.com password")
            c.cmd("EXAMINE INBOX")
            c.cmd("FETCH 1 BODY[]")
            u, t = c.cmd("FETCH 1 (FLAGS)")
            self.assertTrue(t.startswith("t4 OK"), t)
            self.assertNotIn(b"\\Seen", b"".join(u))
            c.cmd("LOGOUT")


if __name__ == "__main__":
    unittest.main()
