"""kill -9 durability: many messages in flight, the server killed at a
random instant, restarted on the same data directory.

Promise under test (issue 2, Store): a message gets its 250 only after it
is durably in new/; a kill -9 at any instant never leaves a partial message
in new/ or cur/ (tmp/ may keep leftovers), and every 250-acknowledged
message survives. After the restart the index matches the Maildir.
"""
import os
import re
import smtplib
import sqlite3
import subprocess
import threading
import time
import unittest

from harness import BIN, SLOW, Devmail, maildir_files, wait_for, wait_port

VMAILBOX = "@example.com example.com/all/Maildir/\n"
SENDERS = 16
KILL_AFTER = (0.8, 1.5, 2.2)  # seconds of load before each kill -9
SUBJECT_RE = re.compile(rb"^Subject: dur (\S+)$", re.M)


def body_for(mid):
    """Deterministic body of message mid; every 4th one is ~60 KB so that
    writes are in progress at the moment of the kill."""
    n = int(mid.rsplit("n", 1)[1])
    lines = 30 if n % 4 else 800
    out = ["line %04d of %s %s" % (i, mid, "x" * 50) for i in range(lines)]
    out.append("FINAL-LINE %s" % mid)
    return "\r\n".join(out) + "\r\n"


def message_for(mid):
    return ("From: load@example.com\r\nTo: someone@example.com\r\nSubject: dur %s\r\n"
            "Message-ID: <%s@load.test>\r\n\r\n%s" % (mid, mid, body_for(mid)))


class Load:
    """SENDERS threads sending over smtplib until stopped; records every
    message id whose DATA got a 250."""

    def __init__(self, port, tag):
        self.port = port
        self.tag = tag
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked = set()
        self.attempted = set()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(SENDERS)]

    def run(self, tid):
        n = 0
        while not self.stop.is_set():
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as s:
                    while not self.stop.is_set():
                        mid = "%s-t%d-n%d" % (self.tag, tid, n)
                        n += 1
                        with self.lock:
                            self.attempted.add(mid)
                        s.sendmail("load@example.com", ["someone@example.com"], message_for(mid))
                        with self.lock:
                            self.acked.add(mid)
            except (OSError, smtplib.SMTPException):
                if self.stop.is_set():
                    return
                time.sleep(0.01)

    def start(self):
        for t in self.threads:
            t.start()

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=15)


class Durability(unittest.TestCase):

    def check_maildir(self, maildir, acked, attempted):
        """Every file in new/ and cur/ is a complete message we sent; every
        acked id is there exactly once. Returns the set of file paths."""
        files = maildir_files(maildir)
        seen = {}
        for path in files:
            with open(path, "rb") as f:
                raw = f.read()
            m = SUBJECT_RE.search(raw.replace(b"\r\n", b"\n"))
            self.assertIsNotNone(m, "file without our Subject (partial?): %s: %r" % (path, raw[:300]))
            mid = m.group(1).decode()
            self.assertIn(mid, attempted, "unknown message %s" % mid)
            body = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[1]
            self.assertEqual(body, body_for(mid).replace("\r\n", "\n").encode(),
                             "partial or damaged message %s in %s (%d bytes)" % (mid, path, len(raw)))
            seen[mid] = seen.get(mid, 0) + 1
        missing = sorted(acked - set(seen))
        self.assertEqual(missing, [], "%d acknowledged messages lost, e.g. %s" % (len(missing), missing[:5]))
        dups = sorted(k for k, v in seen.items() if v > 1)
        self.assertEqual(dups, [], "messages stored twice")
        return set(files)

    def index_count(self, data_dir):
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(data_dir, "index.sqlite"), uri=True, timeout=10)
        try:
            return db.execute("SELECT count(*) FROM messages m JOIN mailboxes b ON m.mailbox_id = b.id "
                              "WHERE b.account = 'all@example.com' AND b.name = 'INBOX'").fetchone()[0]
        finally:
            db.close()

    def test_kill9_while_delivering(self):
        dm = Devmail(domains=["example.com"], recipient_map=VMAILBOX, listen=("smtp",))
        maildir = dm.maildir("all@example.com")
        acked, attempted = set(), set()
        with dm:
            for rnd, delay in enumerate(KILL_AFTER):
                load = Load(dm.smtp_port, "r%d" % rnd)
                load.start()
                time.sleep(delay)
                dm.kill9()
                load.join()
                self.assertGreater(len(load.acked), 10, "load generator got almost nothing through")
                acked |= load.acked
                attempted |= load.attempted
                before = self.check_maildir(maildir, acked, attempted)
                if os.environ.get("E2E_VERBOSE"):
                    print("\n  round %d: %d acked, %d attempted, %d files, %d in tmp/" % (
                        rnd, len(load.acked), len(load.attempted), len(before),
                        len(maildir_files(maildir, ("tmp",)))))

                # restart on the same data directory and port
                dm.start()
                # the restart must not sweep or move any delivered message
                after = set(maildir_files(maildir))
                self.assertEqual(after, before)
                # the index is brought up to date with the Maildir after
                # start (in the background, while the server already listens)
                self.assertTrue(wait_for(lambda: self.index_count(dm.data_dir) == len(after), timeout=10 * SLOW),
                                "index %d, Maildir %d" % (self.index_count(dm.data_dir), len(after)))
                # and the server takes mail again
                with smtplib.SMTP("127.0.0.1", dm.smtp_port, timeout=10) as s:
                    mid = "post%d-t0-n1" % rnd
                    attempted.add(mid)
                    s.sendmail("load@example.com", ["someone@example.com"], message_for(mid))
                    acked.add(mid)
            final = self.check_maildir(maildir, acked, attempted)
            self.assertEqual(dm.stop(), 0)

            r = subprocess.run([BIN, "reindex", "--data-dir", dm.data_dir], capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            m = re.search(rb"reindexed (\d+) messages", r.stdout)
            self.assertIsNotNone(m, r.stdout + r.stderr)
            self.assertEqual(int(m.group(1)), len(final))
            self.assertEqual(self.index_count(dm.data_dir), len(final))
            dm.start()
            wait_port(dm.smtp_port)
            self.assertEqual(set(maildir_files(maildir)), final)


    def test_sigterm_under_load(self):
        """A graceful stop in the middle of deliveries: exit status 0 within
        the shutdown timeout, every acknowledged message complete."""
        dm = Devmail(domains=["example.com"], recipient_map=VMAILBOX, listen=("smtp",),
                     args=["--shutdown-timeout", "3s"])
        with dm:
            load = Load(dm.smtp_port, "term")
            load.start()
            time.sleep(1.0)
            t0 = time.monotonic()
            rc = dm.stop()
            elapsed = time.monotonic() - t0
            load.join()
            self.assertEqual(rc, 0, dm.log_text()[-2000:])
            self.assertLess(elapsed, 6, "SIGTERM took %.1f s with --shutdown-timeout 3s" % elapsed)
            self.assertGreater(len(load.acked), 10)
            self.check_maildir(dm.maildir("all@example.com"), load.acked, load.attempted)


if __name__ == "__main__":
    unittest.main()
