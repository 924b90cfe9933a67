"""The spam check against a real SpamAssassin spamd on loopback: `devmail
check --spam` on caught mail gives spamd's score and rules (Mailpit's
sa-check shape with --json), spam exits 2, and an unreachable spamd is a
clear error, not a score.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from harness import Devmail, devmail_check, free_port, send_mail

SPAMD = shutil.which("spamd") or "/usr/sbin/spamd"

SPAMMY = ("From: winner@lottery.example\r\nTo: you@example.com\r\nSubject: You won FREE MONEY, Viagra inside\r\n\r\n"
          "Click here to claim your $1,000,000 prize!!! Viagra Cialis cheap.\r\n")
HAM = ("From: Ann <ann@example.com>\r\nTo: bob@example.com\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
       "Message-ID: <m1@example.com>\r\nSubject: Minutes of the meeting\r\n\r\n"
       "Hi Bob, the minutes are attached to the wiki page. See you on Thursday.\r\n")


class Spamd:
    def __init__(self):
        self.port = free_port()
        self.tmp = tempfile.mkdtemp(prefix="devmail-spamd-")
        self.pidfile = os.path.join(self.tmp, "spamd.pid")
        args = [SPAMD, "--listen=127.0.0.1:%d" % self.port, "--max-children=2", "--min-children=1", "--local",
                "--nouser-config", "--syslog=stderr", "--pidfile=" + self.pidfile]
        if os.geteuid() == 0:
            args += ["-u", "nobody"]
        self.log = open(os.path.join(self.tmp, "spamd.log"), "wb")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    break
                except OSError:
                    if self.proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("spamd did not start")
                    time.sleep(0.1)
        except BaseException:
            self.stop()
            raise

    def stop(self):
        # spamd's children are in its session: stop them all
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)




class SpamCheckTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.spamd = Spamd()
        try:
            cls.dm = Devmail(listen=("smtp",)).start()
        except BaseException:
            cls.spamd.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.dm.stop()
        cls.spamd.stop()

    def test_spam_and_ham(self):
        send_mail(self.dm, SPAMMY)
        r = devmail_check(self.dm, "--spam", "--json", "--spamassassin", "127.0.0.1:%d" % self.spamd.port, "latest")
        self.assertEqual(r.returncode, 2, r.stderr)
        rep = json.loads(r.stdout)["Spam"]
        self.assertTrue(rep["IsSpam"])
        self.assertEqual(rep["Error"], "")
        self.assertGreaterEqual(rep["Score"], 5.0)
        names = {x["Name"] for x in rep["Rules"]}
        self.assertIn("MISSING_DATE", names)
        self.assertTrue(all(x["Description"] for x in rep["Rules"]))
        self.assertAlmostEqual(sum(x["Score"] for x in rep["Rules"]), rep["Score"], delta=0.1 * len(rep["Rules"]))
        send_mail(self.dm, HAM)
        r = devmail_check(self.dm, "--spam", "--spamassassin", "127.0.0.1:%d" % self.spamd.port, "latest")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("not spam", r.stdout)

    def test_unreachable_spamd(self):
        send_mail(self.dm, HAM)
        r = devmail_check(self.dm, "--spam", "--spamassassin", "127.0.0.1:%d" % free_port(), "latest")
        self.assertEqual(r.returncode, 3)
        self.assertIn("cannot connect to spamd", r.stderr)
        r = devmail_check(self.dm, "--spam", "latest")
        self.assertEqual(r.returncode, 3)
        self.assertIn("needs the spamassassin setting", r.stderr)


if __name__ == "__main__":
    unittest.main()
