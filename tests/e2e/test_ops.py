"""Operating devmail: retention (the automatic timer and `devmail purge`),
the disk-full guard (452 4.3.1), and signals (SIGHUP reloads the config
and passwd-file, keeping the old ones on an error; SIGTERM lets a running
SMTP transaction finish before exiting 0).
"""
import os
import poplib
import signal
import smtplib
import socket
import sqlite3
import subprocess
import time
import unittest
import uuid

from harness import BIN, ROOT, Devmail, maildir_files, recipe_devmail, send_mail, wait_for

ACCOUNT = "all@example.com"


def token():
    return uuid.uuid4().hex[:12]


def index_count(dm):
    db = sqlite3.connect(os.path.join(dm.data_dir, "index.sqlite"))
    try:
        return db.execute("SELECT count(*) FROM messages").fetchone()[0]
    finally:
        db.close()


def purge(*args):
    return subprocess.run([BIN, "purge"] + list(args), cwd=ROOT, capture_output=True, text=True, timeout=60)


def pop3_login_ok(dm, user, password):
    p = poplib.POP3("127.0.0.1", dm.ports["pop3"], timeout=15)
    try:
        p.user(user)
        p.pass_(password)
        p.quit()
        return True
    except poplib.error_proto:
        return False


class RetentionTest(unittest.TestCase):
    def test_purge_while_stopped_and_running(self):
        dm = recipe_devmail(listen=("smtp",))
        with dm:
            for i in range(3):
                send_mail(dm, "Subject: old %d\n\nx\n" % i, rcpt="dev@example.com")
            send_mail(dm, "Subject: other\n\nx\n", rcpt="ops@example.com")
            self.assertTrue(wait_for(lambda: len(maildir_files(dm.maildir(ACCOUNT))) == 4))
            dm.stop()
            time.sleep(2.1)
            # nothing is that old yet
            r = purge("--older-than", "1h", "--data-dir", dm.data_dir)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("purged 0 messages", r.stdout)
            r = purge("--older-than", "1s", "--data-dir", dm.data_dir, "--mailbox", "nobody@example.com")
            self.assertIn("purged 0 messages", r.stdout)
            r = purge("--older-than", "1s", "--keep", "1", "--data-dir", dm.data_dir, "--mailbox", "INBOX")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("purged 4 messages", r.stdout)
            self.assertEqual(maildir_files(dm.maildir(ACCOUNT)), [])
            self.assertEqual(index_count(dm), 0)
            # and while the server runs: the same index, in WAL mode
            dm.start()
            for i in range(3):
                send_mail(dm, "Subject: new %d\n\nx\n" % i, rcpt="dev@example.com")
            r = purge("--keep", "1", "--data-dir", dm.data_dir)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("purged 2 messages", r.stdout)
            self.assertEqual(len(maildir_files(dm.maildir(ACCOUNT))), 1)
            with open(maildir_files(dm.maildir(ACCOUNT))[0], "rb") as f:
                self.assertIn(b"Subject: new 2", f.read())  # the newest is kept
            send_mail(dm, "Subject: after purge\n\nx\n", rcpt="dev@example.com")
            self.assertTrue(wait_for(lambda: index_count(dm) == 2))
        r = purge("--older-than", "forever", "--data-dir", dm.data_dir)
        self.assertEqual(r.returncode, 2)
        r = purge("--data-dir", dm.data_dir)
        self.assertEqual(r.returncode, 2)

    def test_automatic_retention(self):
        with recipe_devmail(listen=("smtp",), args=["--retention", "2s"]) as dm:
            send_mail(dm, "Subject: short-lived\n\nx\n", rcpt="dev@example.com")
            self.assertTrue(wait_for(lambda: len(maildir_files(dm.maildir(ACCOUNT))) == 1))
            self.assertTrue(wait_for(lambda: maildir_files(dm.maildir(ACCOUNT)) == [], timeout=10))
            self.assertTrue(wait_for(lambda: index_count(dm) == 0))
            self.assertTrue(wait_for(lambda: "retention: expunged 1 message" in dm.log_text()))

    def test_retention_count(self):
        with recipe_devmail(listen=("smtp",), args=["--retention", "0", "--retention-count", "2"]) as dm:
            for i in range(4):
                send_mail(dm, "Subject: n%d\n\nx\n" % i, rcpt="dev@example.com")
            # the first run comes about a second after start
            self.assertTrue(wait_for(lambda: len(maildir_files(dm.maildir(ACCOUNT))) == 2, timeout=10))


class DiskFullTest(unittest.TestCase):
    def test_452_when_below_min_free_disk(self):
        with recipe_devmail(listen=("smtp",), args=["--min-free-disk", "100000G"]) as dm:
            c = smtplib.SMTP("127.0.0.1", dm.smtp_port, timeout=15)
            c.ehlo("client")
            code, msg = c.mail("a@example.com")
            self.assertEqual(code, 452)
            self.assertTrue(msg.startswith(b"4.3.1"), msg)
            c.quit()
            self.assertEqual(maildir_files(dm.maildir(ACCOUNT)), [])
            self.assertTrue(wait_for(lambda: "refusing mail" in dm.log_text()))

    def test_imap_append_below_min_free_disk_and_over_size(self):
        import imaplib
        with recipe_devmail(listen=("smtp", "imap"), args=["--min-free-disk", "100000G"]) as dm:
            c = imaplib.IMAP4("127.0.0.1", dm.ports["imap"])
            c.login(ACCOUNT, "password")
            typ, data = c.append("INBOX", None, None, b"Subject: full\r\n\r\nx\r\n")
            self.assertEqual(typ, "NO")
            self.assertIn(b"[OVERQUOTA]", data[0])
            c.logout()
            self.assertEqual(maildir_files(dm.maildir(ACCOUNT)), [])
        # a literal allowed by imap_max_literal_size is still one message
        with recipe_devmail(listen=("smtp", "imap"), args=["--message-size-limit", "10000",
                                                           "--imap-max-literal-size", "100000"]) as dm:
            c = imaplib.IMAP4("127.0.0.1", dm.ports["imap"])
            c.login(ACCOUNT, "password")
            typ, data = c.append("INBOX", None, None, b"Subject: big\r\n\r\n" + b"x" * 50000 + b"\r\n")
            self.assertEqual(typ, "NO")
            self.assertIn(b"[TOOBIG]", data[0])
            c.logout()
            self.assertEqual(maildir_files(dm.maildir(ACCOUNT)), [])


class SignalTest(unittest.TestCase):
    def test_sighup_reloads_passdb(self):
        dm = recipe_devmail(listen=("smtp", "pop3"))
        with dm:
            passdb = os.path.join(dm.tmp, "passdb")
            self.assertTrue(pop3_login_ok(dm, ACCOUNT, "password"))
            with open(passdb, "w") as f:
                f.write("all@example.com:{PLAIN}changed\n")
            dm.proc.send_signal(signal.SIGHUP)
            self.assertTrue(wait_for(lambda: "reloaded the configuration" in dm.log_text()))
            self.assertTrue(pop3_login_ok(dm, ACCOUNT, "changed"))
            self.assertFalse(pop3_login_ok(dm, ACCOUNT, "password"))
            # a broken passwd-file keeps the accounts in force
            with open(passdb, "w") as f:
                f.write("this line is not a passwd-file entry\n")
            dm.proc.send_signal(signal.SIGHUP)
            self.assertTrue(wait_for(lambda: "keeping the old configuration" in dm.log_text()))
            self.assertTrue(pop3_login_ok(dm, ACCOUNT, "changed"))

    def test_sighup_rereads_config_file(self):
        dm = Devmail(listen=("smtp",), config="domain = example.com\nmessage_size_limit = 1000000\n")
        with dm:
            conf = os.path.join(dm.tmp, "devmail.conf")
            with open(conf, "w") as f:
                f.write("domain = example.com\nmessage_size_limit = 2000\npidfile = %s/new.pid\n" % dm.tmp)
            dm.proc.send_signal(signal.SIGHUP)
            self.assertTrue(wait_for(lambda: "reloaded the configuration" in dm.log_text()))
            self.assertIn("pidfile changed; it takes effect at restart", dm.log_text())
            c = smtplib.SMTP("127.0.0.1", dm.smtp_port, timeout=15)  # still listening where it was
            code, _ = c.ehlo("x")
            self.assertIn(b"SIZE 2000", c.ehlo_resp)
            c.quit()
            with open(conf, "w") as f:
                f.write("domain = example.com\nmessage_size_limit = lots\n")
            dm.proc.send_signal(signal.SIGHUP)
            self.assertTrue(wait_for(lambda: "keeping the old one" in dm.log_text()))
            c = smtplib.SMTP("127.0.0.1", dm.smtp_port, timeout=15)
            c.ehlo("x")
            self.assertIn(b"SIZE 2000", c.ehlo_resp)
            c.quit()

    def test_sigterm_lets_running_data_finish(self):
        dm = recipe_devmail(listen=("smtp",))
        dm.start()
        try:
            s = socket.create_connection(("127.0.0.1", dm.smtp_port), timeout=15)
            f = s.makefile("rb")
            f.readline()
            for cmd in (b"EHLO x", b"MAIL FROM:<a@example.com>", b"RCPT TO:<dev@example.com>", b"DATA"):
                s.sendall(cmd + b"\r\n")
                line = f.readline()
                while line[3:4] == b"-":
                    line = f.readline()
            self.assertTrue(line.startswith(b"354"), line)
            s.sendall(b"Subject: slow\r\n\r\nfirst half\r\n")
            time.sleep(0.3)
            dm.proc.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            self.assertIsNone(dm.proc.poll())  # still draining
            s.sendall(b"second half\r\n.\r\n")
            reply = f.readline()
            self.assertTrue(reply.startswith(b"250"), reply)
            s.close()
            self.assertEqual(dm.proc.wait(timeout=15), 0)
            files = maildir_files(dm.maildir(ACCOUNT))
            self.assertEqual(len(files), 1)
            with open(files[0], "rb") as fh:
                self.assertIn(b"first half\nsecond half\n", fh.read())
        finally:
            dm.stop()
            dm.__exit__(None, None, None)


if __name__ == "__main__":
    unittest.main()
