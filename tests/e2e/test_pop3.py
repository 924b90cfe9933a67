"""POP3 end to end: Python poplib (plain, STLS, POP3S), raw-socket AUTH
PLAIN, the exact wire form of RETR/TOP (CRLF line ends, byte-stuffed
dots), UIDL stability, DELE+QUIT really removing the file and the index
row, [IN-USE]/[AUTH] response codes, and fetchmail retrieving mail.
"""
import base64
import os
import poplib
import socket
import sqlite3
import subprocess
import tempfile
import unittest
import uuid

from harness import (BIN, ROOT, maildir_files, recipe_devmail, send_mail, tls_client_context, wait_for)

ACCOUNT = "all@example.com"
PASSWORD = "password"
LISTEN = ("smtp", "pop3", "pop3s")


def token():
    return uuid.uuid4().hex[:12]


def read(path):
    with open(path, "rb") as f:
        return f.read()


def crlf(data):
    """What POP3 must send for a Maildir file: LF -> CRLF."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def inbox_files(dm):
    return maildir_files(dm.maildir(ACCOUNT))


def index_rows(dm):
    db = sqlite3.connect(os.path.join(dm.data_dir, "index.sqlite"))
    try:
        return db.execute("SELECT m.api_id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id"
                          " WHERE b.account = ? AND b.name = 'INBOX'", (ACCOUNT,)).fetchall()
    finally:
        db.close()


def login(dm, user=ACCOUNT, password=PASSWORD, mode="plain"):
    if mode == "pop3s":
        p = poplib.POP3_SSL("127.0.0.1", dm.ports["pop3s"], context=tls_client_context(), timeout=15)
    else:
        p = poplib.POP3("127.0.0.1", dm.ports["pop3"], timeout=15)
        if mode == "stls":
            p.stls(tls_client_context())
    p.user(user)
    p.pass_(password)
    return p


def try_login(dm):
    try:
        return login(dm)
    except poplib.error_proto as e:
        if b"[IN-USE]" not in e.args[0]:
            raise
        return None


class Raw:
    """Line-level POP3 over a socket."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        self.buf = b""
        self.greeting = self.line()

    def line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("closed")
            self.buf += data
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line.decode("utf-8", "replace")

    def multiline_raw(self):
        """Bytes of a multi-line answer up to and including CRLF.CRLF."""
        while b"\r\n.\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("closed")
            self.buf += data
        i = self.buf.index(b"\r\n.\r\n") + 5
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def cmd(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.line()

    def close(self):
        self.sock.close()


def message(tag, extra=b""):
    return (b"From: a@example.com\r\nTo: b@example.com\r\nSubject: pop3 " + tag.encode() + b"\r\n\r\n"
            b"first line\r\n.starts with a dot\r\n..two dots\r\n.\r\nlast line " + tag.encode() + b"\r\n" + extra)


class Pop3Test(unittest.TestCase):
    def setUp(self):
        self.dm = recipe_devmail(listen=LISTEN, args=["--auth-failure-delay-ms", "50"])
        self.dm.start()

    def tearDown(self):
        self.dm.__exit__(None, None, None)

    def deliver(self, n=2):
        tags = [token() for _ in range(n)]
        for t in tags:
            send_mail(self.dm, message(t), rcpt="dev@example.com")
        self.assertTrue(wait_for(lambda: len(inbox_files(self.dm)) >= n))
        return tags

    def files_by_uidl(self):
        """Maildir unique name (the UIDL) -> file content."""
        return {os.path.basename(p).split(",")[0].split(":")[0]: read(p) for p in inbox_files(self.dm)}

    def test_list_uidl_top_retr_match_the_maildir(self):
        tags = self.deliver(2)
        files = self.files_by_uidl()
        p = login(self.dm)
        count, octets = p.stat()
        self.assertEqual(count, 2)
        self.assertEqual(octets, sum(len(crlf(d)) for d in files.values()))
        _, listing, _ = p.list()
        _, uidls, _ = p.uidl()
        uid_of = {int(l.split()[0]): l.split()[1].decode() for l in uidls}
        size_of = {int(l.split()[0]): int(l.split()[1]) for l in listing}
        self.assertEqual(set(uid_of.values()), set(files))
        for n in (1, 2):
            data = files[uid_of[n]]
            self.assertEqual(size_of[n], len(crlf(data)))
            resp, lines, _ = p.retr(n)
            self.assertEqual(b"\r\n".join(lines) + b"\r\n", crlf(data))
            self.assertTrue(resp.startswith(b"+OK"))
        # UIDL with an argument, and LIST n
        self.assertEqual(p.uidl(1).split()[2].decode(), uid_of[1])
        self.assertEqual(int(p.list(2).split()[2]), size_of[2])
        # TOP n 0: the headers and the blank line only
        _, top, _ = p.top(1, 0)
        head = crlf(files[uid_of[1]]).split(b"\r\n\r\n")[0]
        self.assertEqual(b"\r\n".join(top), head + b"\r\n")
        _, top2, _ = p.top(1, 2)
        self.assertEqual(top2[-2:], [b"first line", b".starts with a dot"])
        p.quit()
        # UIDLs are stable across sessions
        p = login(self.dm)
        _, uidls2, _ = p.uidl()
        self.assertEqual(sorted(uidls2), sorted(uidls))
        p.quit()
        self.assertTrue(any(t.encode() in d for t in tags for d in files.values()))

    def test_retr_wire_is_byte_stuffed_crlf(self):
        self.deliver(1)
        data = list(self.files_by_uidl().values())[0]
        self.assertIn(b"\n.starts with a dot\n", data)  # the Maildir file has LF and no stuffing
        r = Raw(self.dm.ports["pop3"])
        self.assertTrue(r.greeting.startswith("+OK"))
        self.assertEqual(r.cmd("USER " + ACCOUNT), "+OK")
        self.assertTrue(r.cmd("PASS " + PASSWORD).startswith("+OK"))
        self.assertTrue(r.cmd("RETR 1").startswith("+OK"))
        wire = r.multiline_raw()
        self.assertIn(b"\r\n..starts with a dot\r\n...two dots\r\n..\r\nlast line", wire)
        self.assertNotIn(b"\n", wire.replace(b"\r\n", b""))
        self.assertEqual(wire, crlf(data).replace(b"\r\n.", b"\r\n..") + b".\r\n")
        self.assertTrue(r.cmd("QUIT").startswith("+OK"))
        r.close()

    def test_dele_quit_removes_file_and_index_row(self):
        self.deliver(3)
        self.assertEqual(len(index_rows(self.dm)), 3)
        p = login(self.dm)
        _, uidls, _ = p.uidl()
        victim = uidls[1].split()[1].decode()
        p.dele(2)
        with self.assertRaises(poplib.error_proto):
            p.retr(2)  # deleted in this session
        self.assertEqual(p.stat()[0], 2)
        # nothing happens before QUIT
        self.assertEqual(len(inbox_files(self.dm)), 3)
        p.quit()
        names = [os.path.basename(f) for f in inbox_files(self.dm)]
        self.assertEqual(len(names), 2)
        self.assertFalse(any(n.startswith(victim) for n in names))
        self.assertNotIn((victim,), index_rows(self.dm))
        self.assertEqual(len(index_rows(self.dm)), 2)

    def test_rset_and_dropped_connection_keep_messages(self):
        self.deliver(2)
        p = login(self.dm)
        p.dele(1)
        p.dele(2)
        self.assertEqual(p.stat(), (0, 0))
        p.rset()
        self.assertEqual(p.stat()[0], 2)
        p.dele(1)
        p.close()  # no QUIT: no UPDATE state (RFC 1939 6)
        # the lock is released once the server has seen the close
        p = wait_for(lambda: try_login(self.dm))
        self.assertTrue(p)
        self.assertEqual(p.stat()[0], 2)
        p.quit()
        self.assertEqual(len(inbox_files(self.dm)), 2)

    def test_login_again_right_after_quit(self):
        # fetchmail and test suites reconnect the moment QUIT says +OK: the
        # UPDATE state is over and the maildrop unlocked by then, every time
        self.deliver(20)
        for i in range(20):
            p = login(self.dm)  # raises on -ERR [IN-USE]
            self.assertEqual(p.stat()[0], 20 - i)
            p.dele(1)
            self.assertTrue(p.quit().startswith(b"+OK"))
        p = login(self.dm)
        self.assertEqual(p.stat()[0], 0)
        p.quit()

    def test_login_waiting_at_pass_while_other_quits(self):
        # the next session is connected and has sent USER; it sends PASS the
        # moment the other's QUIT is answered, over TLS too (where closing
        # waits for the TLS layer to flush)
        self.deliver(10)
        for i in range(10):
            mode = "pop3s" if i % 2 else "plain"
            p = login(self.dm, mode=mode)
            nxt = poplib.POP3("127.0.0.1", self.dm.ports["pop3"], timeout=15)
            nxt.user(ACCOUNT)
            p.dele(1)
            self.assertTrue(p.quit().startswith(b"+OK"))
            self.assertTrue(nxt.pass_(PASSWORD).startswith(b"+OK"))
            self.assertEqual(nxt.stat()[0], 10 - i - 1)
            nxt.quit()

    def test_retr_marks_seen(self):
        self.deliver(1)
        p = login(self.dm)
        p.retr(1)
        p.quit()
        files = inbox_files(self.dm)
        self.assertEqual(len(files), 1)
        self.assertTrue(files[0].endswith(":2,S"), files[0])

    def test_stls_and_pop3s(self):
        self.deliver(1)
        p = poplib.POP3("127.0.0.1", self.dm.ports["pop3"], timeout=15)
        self.assertIn("STLS", p.capa())
        p.stls(tls_client_context())
        self.assertNotIn("STLS", p.capa())
        p.user(ACCOUNT)
        p.pass_(PASSWORD)
        self.assertEqual(p.stat()[0], 1)
        p.dele(1)
        self.assertTrue(p.quit().startswith(b"+OK"))
        self.assertEqual(inbox_files(self.dm), [])
        self.deliver(1)
        p = login(self.dm, mode="pop3s")
        self.assertNotIn("STLS", p.capa())
        self.assertEqual(p.stat()[0], 1)
        _, lines, _ = p.retr(1)
        self.assertIn(b"first line", lines)
        self.assertTrue(p.quit().startswith(b"+OK"))

    def test_capa(self):
        p = poplib.POP3("127.0.0.1", self.dm.ports["pop3"], timeout=15)
        caps = p.capa()
        for c in ("TOP", "USER", "UIDL", "RESP-CODES", "PIPELINING", "STLS", "IMPLEMENTATION"):
            self.assertIn(c, caps)
        self.assertEqual(caps["SASL"], ["PLAIN"])
        p.user(ACCOUNT)
        p.pass_(PASSWORD)
        caps = p.capa()
        self.assertNotIn("USER", caps)
        self.assertNotIn("STLS", caps)
        self.assertIn("UIDL", caps)
        p.quit()

    def test_auth_plain(self):
        self.deliver(1)
        cred = base64.b64encode(b"\0" + ACCOUNT.encode() + b"\0" + PASSWORD.encode()).decode()
        # initial response
        r = Raw(self.dm.ports["pop3"])
        self.assertTrue(r.cmd("AUTH PLAIN " + cred).startswith("+OK"))
        self.assertEqual(r.cmd("STAT").split()[:2], ["+OK", "1"])
        r.cmd("QUIT")
        r.close()
        # continuation
        r = Raw(self.dm.ports["pop3"])
        self.assertEqual(r.cmd("AUTH PLAIN"), "+ ")
        self.assertTrue(r.cmd(cred).startswith("+OK"))
        r.cmd("QUIT")
        r.close()
        # cancel, then a wrong password
        r = Raw(self.dm.ports["pop3"])
        self.assertEqual(r.cmd("AUTH PLAIN"), "+ ")
        self.assertTrue(r.cmd("*").startswith("-ERR"))
        bad = base64.b64encode(b"\0" + ACCOUNT.encode() + b"\0wrong").decode()
        self.assertTrue(r.cmd("AUTH PLAIN " + bad).startswith("-ERR [AUTH]"))
        self.assertTrue(r.cmd("AUTH PLAIN !!!notbase64").startswith("-ERR"))
        self.assertTrue(r.cmd("AUTH CRAM-MD5").startswith("-ERR"))
        r.cmd("QUIT")
        r.close()

    def test_user_pass_errors_and_states(self):
        r = Raw(self.dm.ports["pop3"])
        self.assertTrue(r.cmd("PASS x").startswith("-ERR"))  # no USER yet
        self.assertTrue(r.cmd("STAT").startswith("-ERR"))    # not logged in
        self.assertEqual(r.cmd("USER " + ACCOUNT), "+OK")
        self.assertTrue(r.cmd("PASS wrong").startswith("-ERR [AUTH]"))
        self.assertEqual(r.cmd("USER " + ACCOUNT), "+OK")
        self.assertTrue(r.cmd("PASS " + PASSWORD).startswith("+OK"))
        self.assertTrue(r.cmd("USER x").startswith("-ERR"))  # not in TRANSACTION
        self.assertTrue(r.cmd("RETR 1").startswith("-ERR"))  # empty maildrop
        self.assertTrue(r.cmd("RETR abc").startswith("-ERR"))
        self.assertTrue(r.cmd("FOO").startswith("-ERR"))
        self.assertTrue(r.cmd("X" * 300).startswith("-ERR"))  # over RFC 2449's 255 octets
        self.assertEqual(r.cmd("NOOP"), "+OK")
        self.assertTrue(r.cmd("QUIT").startswith("+OK"))
        r.close()
        self.assertIn("authentication failed for " + ACCOUNT, self.dm.log_text())

    def test_in_use(self):
        p = login(self.dm)
        r = Raw(self.dm.ports["pop3"])
        r.cmd("USER " + ACCOUNT)
        self.assertTrue(r.cmd("PASS " + PASSWORD).startswith("-ERR [IN-USE]"))
        p.quit()
        r.cmd("USER " + ACCOUNT)
        self.assertTrue(r.cmd("PASS " + PASSWORD).startswith("+OK"))
        r.cmd("QUIT")
        r.close()

    def test_expunged_meanwhile_answers_err(self):
        self.deliver(2)
        p = login(self.dm)
        self.assertEqual(p.stat()[0], 2)
        # another client removes everything (devmail purge, as a cron job would)
        out = subprocess.run([BIN, "purge", "--older-than", "0s", "--data-dir", self.dm.data_dir],
                             cwd=ROOT, capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        with self.assertRaises(poplib.error_proto):
            p.retr(1)
        p.dele(2)
        self.assertTrue(p.quit().startswith(b"+OK"))


def fetchmail_run(dm, tmp, extra):
    out = os.path.join(tmp, "fetched.mbox")
    rc = os.path.join(tmp, "fetchmailrc")
    with open(rc, "w") as f:
        f.write('poll 127.0.0.1 protocol POP3 service %s\n'
                '  user "%s" there with password "%s" is "nobody" here\n'
                '  options fetchall no keep %s\n'
                '  mda "cat >> %s"\n' % (extra[0], ACCOUNT, PASSWORD, extra[1], out))
    os.chmod(rc, 0o600)
    env = dict(os.environ, HOME=tmp, FETCHMAILHOME=tmp)
    r = subprocess.run(["fetchmail", "-f", rc, "--nosyslog", "-N", "--pidfile", os.path.join(tmp, "fm.pid")],
                       env=env, capture_output=True, text=True, timeout=60)
    data = read(out) if os.path.exists(out) else b""
    return r, data


@unittest.skipUnless(subprocess.run(["which", "fetchmail"], capture_output=True).returncode == 0, "no fetchmail")
class FetchmailTest(unittest.TestCase):
    def test_fetchmail_plain_stls_and_pop3s(self):
        with recipe_devmail(listen=LISTEN) as dm:
            variants = [
                ("plain", (dm.ports["pop3"], "sslproto ''")),
                ("stls", (dm.ports["pop3"], "no sslcertck")),  # STLS is used when offered
                ("pop3s", (dm.ports["pop3s"], "ssl no sslcertck")),
            ]
            for name, extra in variants:
                with self.subTest(name), tempfile.TemporaryDirectory() as tmp:
                    tags = [token(), token()]
                    for t in tags:
                        send_mail(dm, message(t), rcpt="dev@example.com")
                    self.assertTrue(wait_for(lambda: len(maildir_files(dm.maildir(ACCOUNT))) == 2))
                    r, data = fetchmail_run(dm, tmp, extra)
                    self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                    for t in tags:
                        self.assertIn(("last line " + t).encode(), data)
                    self.assertIn(b"\n.starts with a dot\n", data)  # un-stuffed again by fetchmail
                    # fetched and not kept: gone from the server
                    self.assertTrue(wait_for(lambda: maildir_files(dm.maildir(ACCOUNT)) == []))


if __name__ == "__main__":
    unittest.main()
