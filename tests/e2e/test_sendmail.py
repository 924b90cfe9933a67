"""`devmail sendmail`: the sendmail(1) command line an application uses
(`sendmail -t -i`, `-f`, `-F`, recipients as arguments, message on stdin)
submitting to a running devmail over SMTP, found with -c FILE and
--smtp-listen; refusals and a server that is down give a non-zero exit
status and the reason on stderr.
"""
import os
import subprocess
import tempfile
import unittest
import uuid

from harness import BIN, ROOT, free_port, maildir_files, recipe_devmail, wait_for

ACCOUNT = "all@example.com"


def token():
    return uuid.uuid4().hex[:12]


def sendmail(args, stdin, env=None):
    e = dict(os.environ)
    for k in list(e):
        if k.startswith("DEVMAIL_"):
            del e[k]
    e.update(env or {})
    return subprocess.run([BIN, "sendmail"] + args, input=stdin, cwd=ROOT, capture_output=True, timeout=60, env=e)


class SendmailTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dm = recipe_devmail(listen=("smtp",))
        cls.dm.start()
        cls.listen = "127.0.0.1:%d" % cls.dm.smtp_port

    @classmethod
    def tearDownClass(cls):
        cls.dm.__exit__(None, None, None)

    def stored_with(self, tag):
        """Content of the one stored message containing tag."""
        def find():
            for p in maildir_files(self.dm.maildir(ACCOUNT)):
                with open(p, "rb") as f:
                    data = f.read()
                if tag.encode() in data:
                    return data
            return None
        data = wait_for(find)
        self.assertIsNotNone(data, "message %s not stored" % tag)
        return data

    def test_t_i_with_recipe_config(self):
        tag = token()
        msg = ("To: Dev One <one@example.com>, two@example.com\n"
               "Cc: three@example.com\n"
               "Bcc: hidden@example.com\n"
               "Subject: sendmail %s\n"
               "\n"
               "line one\n"
               ".\n"
               "..leading dots\n"
               "after the dot line %s\n" % (tag, tag)).encode()
        r = sendmail(["-t", "-i", "-c", "examples/recipe.conf", "--smtp-listen", self.listen], msg)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        data = self.stored_with(tag)
        for rcpt in ("one@example.com", "two@example.com", "three@example.com", "hidden@example.com"):
            self.assertIn(("X-Original-To: %s" % rcpt).encode(), data)
        self.assertNotIn(b"Bcc:", data)
        self.assertNotIn(b"hidden@example.com>", data.split(b"\n\n", 1)[1])
        # -i: the lone dot and the dotted line arrive intact
        self.assertIn(b"\nline one\n.\n..leading dots\nafter the dot line " + tag.encode(), data)
        # missing headers were added
        self.assertIn(b"\nDate: ", data)
        self.assertIn(b"\nMessage-ID: <", data)
        self.assertIn(b"\nFrom: ", data)

    def test_f_F_and_recipients_as_arguments(self):
        tag = token()
        msg = ("Subject: args %s\r\n\r\nbody %s\r\n" % (tag, tag)).encode()
        r = sendmail(["-f", "app@example.org", "-F", "The App", "-oi", "-odi", "--smtp-listen", self.listen,
                      "a1@example.com", "a2@example.com"], msg)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        data = self.stored_with(tag)
        self.assertTrue(data.startswith(b"Return-Path: <app@example.org>\n"), data[:200])
        self.assertIn(b"X-Original-To: a1@example.com\n", data)
        self.assertIn(b"X-Original-To: a2@example.com\n", data)
        self.assertIn(b'From: "The App" <app@example.org>\n', data)
        self.assertNotIn(b"\r", data)

    def test_dot_ends_message_without_i(self):
        tag = token()
        msg = ("Subject: dot %s\n\nkept %s\n.\nnot sent\n" % (tag, tag)).encode()
        r = sendmail(["--smtp-listen", self.listen, "dot@example.com"], msg)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        data = self.stored_with(tag)
        self.assertIn(b"kept " + tag.encode(), data)
        self.assertNotIn(b"not sent", data)

    def test_config_file_and_environment(self):
        tag = token()
        with tempfile.TemporaryDirectory() as tmp:
            conf = os.path.join(tmp, "devmail.conf")
            with open(conf, "w") as f:
                f.write("smtp_listen = %s\n" % self.listen)
            r = sendmail(["-t", "-c", conf], ("To: c@example.com\nSubject: %s\n\nx\n" % tag).encode())
            self.assertEqual(r.returncode, 0, r.stderr.decode())
            self.stored_with(tag)
        tag = token()
        r = sendmail(["-t"], ("To: e@example.com\nSubject: %s\n\nx\n" % tag).encode(),
                     env={"DEVMAIL_SMTP_LISTEN": self.listen})
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.stored_with(tag)

    def test_refused_recipient_fails(self):
        tag = token()
        r = sendmail(["--smtp-listen", self.listen, "ok@example.com", "someone@elsewhere.org"],
                     ("Subject: %s\n\nx\n" % tag).encode())
        self.assertEqual(r.returncode, 69, r.stderr.decode())  # EX_UNAVAILABLE
        err = r.stderr.decode()
        self.assertIn("someone@elsewhere.org", err)
        self.assertIn("554 5.7.1", err)  # the server's own reply
        # all or nothing: the accepted recipient did not get it either
        self.assertFalse(any(tag.encode() in open(p, "rb").read()
                             for p in maildir_files(self.dm.maildir(ACCOUNT))))

    def test_no_recipients_and_bad_usage(self):
        r = sendmail(["--smtp-listen", self.listen], b"Subject: x\n\nx\n")
        self.assertEqual(r.returncode, 64)
        self.assertIn(b"no recipients", r.stderr)
        r = sendmail(["-t", "--smtp-listen", self.listen], b"Subject: x\n\nx\n")
        self.assertEqual(r.returncode, 64)
        r = sendmail(["-bs", "--smtp-listen", self.listen], b"")
        self.assertEqual(r.returncode, 64)
        r = sendmail(["--no-such-flag", "x", "a@example.com"], b"x\n")
        self.assertNotEqual(r.returncode, 0)

    def test_server_down(self):
        port = free_port()
        r = sendmail(["--smtp-listen", "127.0.0.1:%d" % port, "a@example.com"], b"Subject: x\n\nx\n")
        self.assertEqual(r.returncode, 75, r.stderr.decode())  # EX_TEMPFAIL
        self.assertIn(b"cannot connect", r.stderr)
        self.assertIn(b"127.0.0.1:%d" % port, r.stderr)

    def test_invoked_as_sendmail(self):
        tag = token()
        with tempfile.TemporaryDirectory() as tmp:
            link = os.path.join(tmp, "sendmail")
            os.symlink(os.path.abspath(os.path.join(ROOT, BIN)) if not os.path.isabs(BIN) else BIN, link)
            r = subprocess.run([link, "-t", "-i", "--smtp-listen", self.listen],
                               input=("To: l@example.com\nSubject: %s\n\nx\n" % tag).encode(),
                               capture_output=True, timeout=60, cwd=ROOT)
            self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.stored_with(tag)


if __name__ == "__main__":
    unittest.main()
