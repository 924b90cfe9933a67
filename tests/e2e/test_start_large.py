"""devmail listens within a second of start whatever the store holds: a
Maildir with 20,000 messages (E2E_START_N) and no index is indexed in the
background, with progress lines in the log, while SMTP, the web page and
health checks answer at once; an IMAP login answers at once too, and a
command or API request that needs a mailbox not indexed yet waits for
that mailbox only (it goes first) and then sees all of it. /readyz says
503 (with the reason) until that indexing is done, then 200. Before, every
listener opened only after the whole Maildir was indexed (4 s for 20,000
here, 31 s for 300,000).
"""
import imaplib
import json
import os
import smtplib
import socket
import time
import unittest
import urllib.error
import urllib.request

from harness import SLOW, recipe_devmail, wait_for

N = int(os.environ.get("E2E_START_N", "20000"))


def fill_maildir(root, n):
    """n small messages in new/, as another program would leave them."""
    for sub in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    t = int(time.time()) - 3600
    for i in range(n):
        body = "From: a%d@example.com\nTo: all@example.com\nSubject: pre-existing %d\n\nbody %d\n" % (i, i, i)
        name = "%d.M%06dP1Q%d.gen,S=%d" % (t, i, i, len(body))
        with open(os.path.join(root, "new", name), "w") as f:
            f.write(body)


def readyz(port, timeout=10):
    """(status, body) of GET /readyz."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/readyz" % port, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def greeting(port, timeout):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        return s.recv(200)
    finally:
        s.close()


class StartWithALargeMaildir(unittest.TestCase):
    def test_listeners_answer_at_once_while_indexing(self):
        dm = recipe_devmail(listen=("smtp", "imap", "pop3", "http"), args=["--retention", "0"])
        self.addCleanup(dm.__exit__, None, None, None)
        fill_maildir(os.path.join(dm.data_dir, "example.com", "all", "Maildir"), N)
        # a first start generates the TLS certificate: not what is measured
        os.makedirs(os.path.join(dm.data_dir, "tls"), exist_ok=True)
        t0 = time.time()
        dm.start()
        limit = 1.0 * SLOW
        for proto, hello in (("smtp", b"220 "), ("imap", b"* OK"), ("pop3", b"+OK")):
            self.assertTrue(greeting(dm.ports[proto], limit).startswith(hello), proto)
        with urllib.request.urlopen("http://127.0.0.1:%d/livez" % dm.ports["http"], timeout=limit) as r:
            self.assertEqual(r.status, 200)
        answered = time.time() - t0
        print("\nstart with %d messages: every listener answered %.2f s after start" % (N, answered))
        self.assertLess(answered, limit)
        # alive, but not ready: the mail found at start is not all shown yet
        st, text = readyz(dm.ports["http"], limit)
        self.assertEqual(st, 503, text)
        self.assertIn("indexing the Maildirs found at start", text)
        self.assertNotIn("indexing at start done", dm.log_text())
        # indexing goes on meanwhile; mail is accepted at once
        s = smtplib.SMTP("127.0.0.1", dm.ports["smtp"], timeout=limit)
        s.sendmail("a@example.org", ["someone@example.com"], b"Subject: during indexing\r\n\r\nhi\r\n")
        s.quit()
        self.assertNotIn("indexing at start done", dm.log_text())
        # SELECT waits for the mailbox's mail, then sees every message
        m = imaplib.IMAP4("127.0.0.1", dm.ports["imap"], timeout=60 * SLOW)
        m.login("all@example.com", "password")
        typ, data = m.select("INBOX")
        self.assertEqual(typ, "OK")
        self.assertEqual(int(data[0]), N + 1)
        typ, data = m.search(None, "SUBJECT", '"during indexing"')
        self.assertEqual(len(data[0].split()), 1)
        m.logout()
        auth = "Basic YWxsQGV4YW1wbGUuY29tOnBhc3N3b3Jk"
        req = urllib.request.Request("http://127.0.0.1:%d/api/v1/messages?limit=1" % dm.ports["http"],
                                     headers={"Authorization": auth})
        with urllib.request.urlopen(req, timeout=30) as r:
            self.assertEqual(json.loads(r.read())["messages_count"], N + 1)
        # ready once the indexing at start is done
        self.assertTrue(wait_for(lambda: readyz(dm.ports["http"])[0] == 200, timeout=30 * SLOW))
        log = dm.log_text()
        self.assertIn("indexing all@example.com/INBOX: %d files found in the Maildir" % N, log)
        self.assertIn("indexing at start done: %d messages added" % N, log)
        self.assertIn("a request for all@example.com/INBOX waits until it is indexed", log)
        # a restart finds them indexed: nothing to add
        self.assertEqual(dm.stop(), 0)
        dm.start()
        self.assertTrue(greeting(dm.ports["imap"], limit).startswith(b"* OK"))
        m = imaplib.IMAP4("127.0.0.1", dm.ports["imap"], timeout=30)
        m.login("all@example.com", "password")
        self.assertEqual(int(m.select("INBOX")[1][0]), N + 1)
        m.logout()

    def test_only_the_mailbox_asked_for_is_waited_for(self):
        """A small folder asked for is served while the big INBOX found
        before it is still being indexed; the login does not wait at all."""
        dm = recipe_devmail(listen=("imap", "http"), args=["--retention", "0"])
        self.addCleanup(dm.__exit__, None, None, None)
        md = os.path.join(dm.data_dir, "example.com", "all", "Maildir")
        fill_maildir(md, N)
        fill_maildir(os.path.join(md, ".Small"), 3)
        os.makedirs(os.path.join(dm.data_dir, "tls"), exist_ok=True)
        dm.start()
        limit = 1.0 * SLOW
        m = imaplib.IMAP4("127.0.0.1", dm.ports["imap"], timeout=60 * SLOW)
        t0 = time.time()
        m.login("all@example.com", "password")
        typ, data = m.select("Small")
        took = time.time() - t0
        self.assertEqual(typ, "OK")
        self.assertEqual(int(data[0]), 3)
        # the INBOX is still being indexed meanwhile
        st, text = readyz(dm.ports["http"], limit)
        self.assertEqual(st, 503, text)
        print("\nlogin and SELECT of a 3-message folder beside %d unindexed: %.2f s" % (N, took))
        self.assertLess(took, limit)
        # a client that leaves while its SELECT and NOOP wait for the INBOX
        # (they are run, or dropped, with its connection; nobody else notices)
        g = imaplib.IMAP4("127.0.0.1", dm.ports["imap"], timeout=60 * SLOW)
        g.login("all@example.com", "password")
        g.send(b"w1 SELECT INBOX\r\nw2 NOOP\r\n")
        g.shutdown()
        typ, data = m.status("INBOX", "(MESSAGES)")
        self.assertEqual(typ, "OK")
        self.assertIn(b"MESSAGES %d" % N, data[0])
        m.logout()
        self.assertIn("a request for all@example.com/Small waits until it is indexed", dm.log_text())

    def test_pop3_login_waits_for_indexing(self):
        dm = recipe_devmail(listen=("smtp", "pop3"), args=["--retention", "0"])
        self.addCleanup(dm.__exit__, None, None, None)
        fill_maildir(os.path.join(dm.data_dir, "example.com", "all", "Maildir"), N // 4)
        dm.start()
        import poplib
        p = poplib.POP3("127.0.0.1", dm.ports["pop3"], timeout=60 * SLOW)
        p.user("all@example.com")
        p.pass_("password")
        self.assertEqual(p.stat()[0], N // 4)
        p.quit()


if __name__ == "__main__":
    unittest.main()
