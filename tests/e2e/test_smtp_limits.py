"""Limits and hostile input: every configured limit answers with its
standard reply, garbage never crashes the server, and the odd-but-legal
(dot-stuffing, very long body lines, bare LF) comes through intact.
"""
import os
import random
import smtplib
import socket
import ssl
import time
import unittest
import uuid

from harness import Devmail, SmtpRaw, ensure_running, maildir_files, smtp_burst, smtp_reply_lines, wait_for

HOST = "devmail.example.com"
VMAILBOX = "@example.com example.com/all/Maildir/\n"


def token():
    return uuid.uuid4().hex[:16]


def files_with(maildir, needle):
    if isinstance(needle, str):
        needle = needle.encode("utf-8")
    out = []
    for p in maildir_files(maildir):
        with open(p, "rb") as f:
            if needle in f.read():
                out.append(p)
    return out


def body_of(raw):
    raw = raw.replace(b"\r\n", b"\n")
    return raw.split(b"\n\n", 1)[1]


class ServerCase(unittest.TestCase):
    args = []

    @classmethod
    def setUpClass(cls):
        cls.dm = Devmail(domains=["example.com"], recipient_map=VMAILBOX, hostname=HOST, listen=("smtp",),
                         args=cls.args).start()
        cls.all = cls.dm.maildir("all@example.com")

    @classmethod
    def tearDownClass(cls):
        cls.dm.__exit__(None, None, None)

    def setUp(self):
        # a crash in an earlier test of the class must not fail every later
        # one: restart the shared server (its log keeps the crash report,
        # which tearDownClass turns into an error)
        ensure_running(self.dm)

    def assert_alive(self):
        self.assertIsNone(self.dm.proc.poll(), "devmail died; log:\n" + self.dm.log_text()[-3000:])
        with SmtpRaw(self.dm.smtp_port) as c:
            self.assertTrue(c.greeting[0].startswith("220 "), c.greeting)
            self.assertEqual(c.cmd("NOOP"), ["250 2.0.0 Ok"])

    def one(self, tok):
        files = files_with(self.all, tok)
        self.assertEqual(len(files), 1, files)
        with open(files[0], "rb") as f:
            return f.read()

    def tx(self, c, rcpts=("someone@example.com",)):
        self.assertEqual(c.cmd("MAIL FROM:<sender@example.com>"), ["250 2.1.0 Ok"])
        for r in rcpts:
            self.assertEqual(c.cmd("RCPT TO:<%s>" % r), ["250 2.1.5 Ok"])
        self.assertEqual(c.cmd("DATA"), ["354 End data with <CR><LF>.<CR><LF>"])


class Limits(ServerCase):
    args = ["--smtp-max-line-length", "512", "--smtp-max-recipients", "3", "--message-size-limit", "10000"]

    def test_command_line_too_long(self):
        with SmtpRaw(self.dm.smtp_port) as c:
            c.cmd("EHLO x")
            self.assertTrue(c.cmd("NOOP " + "x" * 1000)[0].startswith("500 5.5.2"))
            self.assertEqual(c.cmd("NOOP"), ["250 2.0.0 Ok"])
            # a much longer line: one error reply, nothing from its tail executed
            r = c.cmd("MAIL FROM:<a@example.com> " + "y" * 200000 + " NOOP")
            self.assertTrue(r[0].startswith("500 5.5.2"), r)
            self.assertEqual(c.cmd("NOOP"), ["250 2.0.0 Ok"])
            # the session still works for a whole transaction
            tok = token()
            self.tx(c)
            self.assertEqual(c.cmd("Subject: after long %s\r\n\r\nok\r\n." % tok)[0][:3], "250")
        self.one(tok)

    def test_too_many_recipients(self):
        tok = token()
        with SmtpRaw(self.dm.smtp_port) as c:
            c.cmd("EHLO x")
            self.assertEqual(c.cmd("MAIL FROM:<sender@example.com>"), ["250 2.1.0 Ok"])
            for i in range(3):
                self.assertEqual(c.cmd("RCPT TO:<r%d@example.com>" % i), ["250 2.1.5 Ok"])
            r = c.cmd("RCPT TO:<r3@example.com>")
            self.assertTrue(r[0].startswith("452 4.5.3"), r)
            self.assertTrue(c.cmd("RCPT TO:<r4@example.com>")[0].startswith("452 4.5.3"))
            self.assertEqual(c.cmd("DATA")[0][:3], "354")
            self.assertEqual(c.cmd("Subject: rcpts %s\r\n\r\nx\r\n." % tok)[0][:3], "250")
        raw = self.one(tok)
        self.assertNotIn(b"r3@example.com", raw)

    def test_message_too_big(self):
        tok = token()
        with SmtpRaw(self.dm.smtp_port) as c:
            ehlo = c.cmd("EHLO x")
            self.assertIn("250-SIZE 10000", ehlo)
            self.tx(c)
            body = ("Subject: big %s\r\n\r\n" % tok) + ("z" * 99 + "\r\n") * 300
            r = c.cmd(body + ".")
            self.assertTrue(r[0].startswith("552 5.3.4"), r)
            # the session goes on: a small message is accepted
            tok2 = token()
            self.tx(c)
            self.assertEqual(c.cmd("Subject: small %s\r\n\r\nx\r\n." % tok2)[0][:3], "250")
        self.assertEqual(files_with(self.all, tok), [])
        self.one(tok2)
        self.assertEqual(maildir_files(self.all, ("tmp",)), [], "rejected message left in tmp/")

    def test_message_way_too_big(self):
        """Several MB beyond the limit: refused without the server holding it."""
        tok = token()
        with SmtpRaw(self.dm.smtp_port) as c:
            c.cmd("EHLO x")
            self.tx(c)
            line = b"w" * 998 + b"\r\n"
            c.send(("Subject: huge %s\r\n\r\n" % tok).encode())
            for _ in range(4000):
                c.send(line)
            r = c.cmd(".")
            self.assertTrue(r[0].startswith("552 5.3.4"), r)
            self.assertEqual(c.cmd("NOOP"), ["250 2.0.0 Ok"])
        self.assertEqual(files_with(self.all, tok), [])

    def test_mail_size_parameter_too_big(self):
        with SmtpRaw(self.dm.smtp_port) as c:
            c.cmd("EHLO x")
            r = c.cmd("MAIL FROM:<sender@example.com> SIZE=20000")
            self.assertTrue(r[0].startswith("552 5.3.4"), r)
            self.assertEqual(c.cmd("MAIL FROM:<sender@example.com> SIZE=9000"), ["250 2.1.0 Ok"])
            self.assertTrue(c.cmd("RSET")[0].startswith("250"))
            self.assertTrue(c.cmd("MAIL FROM:<sender@example.com> SIZE=abc")[0].startswith("501 5.5.4"))

    def test_bdat_too_big(self):
        tok = token()
        with SmtpRaw(self.dm.smtp_port) as c:
            c.cmd("EHLO x")
            self.assertEqual(c.cmd("MAIL FROM:<sender@example.com>"), ["250 2.1.0 Ok"])
            self.assertEqual(c.cmd("RCPT TO:<someone@example.com>"), ["250 2.1.5 Ok"])
            chunk = ("Subject: bdatbig %s\r\n\r\n" % tok).encode() + b"q" * 20000
            c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
            r = c.read_reply()
            self.assertTrue(r[0].startswith("552 5.3.4"), r)
            self.assertEqual(c.cmd("NOOP"), ["250 2.0.0 Ok"])
        self.assertEqual(files_with(self.all, tok), [])

    def test_nul_bytes_in_command(self):
        with SmtpRaw(self.dm.smtp_port) as c:
            c.cmd("EHLO x")
            r = c.cmd(b"NO\x00OP")
            self.assertTrue(r[0].startswith("500 5.5.2"), r)
            r = c.cmd(b"MAIL FROM:<a\x00b@example.com>")
            self.assertTrue(r[0][0] == "5", r)
            self.assertEqual(c.cmd("NOOP"), ["250 2.0.0 Ok"])
            self.assertEqual(c.cmd("MAIL FROM:<a@example.com>"), ["250 2.1.0 Ok"])
        self.assert_alive()

    def test_binary_garbage(self):
        rnd = random.Random(20240601)
        for _ in range(3):
            blob = rnd.randbytes(60000)
            raw = smtp_burst(self.dm.smtp_port, blob, timeout=10)
            lines = smtp_reply_lines(raw)
            self.assertTrue(lines[0].startswith("220 "), lines[:2])
            for l in lines[1:]:
                self.assertIn(l[:1], ("4", "5"), "unexpected reply to garbage: %r" % l)
            self.assertTrue(lines[-1].startswith("421"), lines[-3:])
        self.assert_alive()

    def test_garbage_lines_then_valid_session(self):
        rnd = random.Random(99)
        with SmtpRaw(self.dm.smtp_port) as c:
            for _ in range(5):
                junk = bytes(b for b in rnd.randbytes(200) if b not in (10, 13))
                r = c.cmd(junk)
                self.assertIn(r[0][:1], ("5",), r)
            tok = token()
            c.cmd("EHLO x")
            self.tx(c)
            self.assertEqual(c.cmd("Subject: after junk %s\r\n\r\nok\r\n." % tok)[0][:3], "250")
        self.one(tok)

    def test_dot_stuffing_roundtrip_raw(self):
        tok = token()
        with SmtpRaw(self.dm.smtp_port) as c:
            c.cmd("EHLO x")
            self.tx(c)
            r = c.cmd("Subject: dots %s\r\n\r\n..leading dot\r\n..\r\n...three\r\nmid.dle\r\n. not end\r\n." % tok)
            self.assertEqual(r[0][:3], "250")
        self.assertEqual(body_of(self.one(tok)), b".leading dot\n.\n..three\nmid.dle\n not end\n")

    def test_dot_stuffing_roundtrip_smtplib(self):
        tok = token()
        body = ".\r\n.leading\r\n..two\r\nlast\r\n"
        with smtplib.SMTP("127.0.0.1", self.dm.smtp_port, timeout=20) as s:
            s.sendmail("sender@example.com", ["someone@example.com"], "Subject: dots2 %s\r\n\r\n%s" % (tok, body))
        self.assertEqual(body_of(self.one(tok)), body.replace("\r\n", "\n").encode())

    def test_long_body_line_intact(self):
        tok = token()
        long1 = "".join(chr(ord("a") + i % 26) for i in range(5000))
        with SmtpRaw(self.dm.smtp_port) as c:
            c.cmd("EHLO x")
            self.tx(c)
            r = c.cmd("Subject: long %s\r\n\r\n%s\r\nshort\r\n." % (tok, long1))
            self.assertEqual(r[0][:3], "250")
        self.assertEqual(body_of(self.one(tok)), (long1 + "\nshort\n").encode())

    def test_bare_lf(self):
        tok = token()
        raw = smtp_burst(self.dm.smtp_port,
                         "EHLO lf\nMAIL FROM:<a@example.com>\nRCPT TO:<someone@example.com>\nDATA\n"
                         "Subject: lf %s\n\nline one\n..dotted\nline three\n.\nQUIT\n" % tok)
        lines = smtp_reply_lines(raw)
        self.assertEqual(lines[-1], "221 2.0.0 Bye")
        self.assertRegex(lines[-2], r"^250 2\.0\.0 Ok: queued as \w+$")
        self.assertEqual(body_of(self.one(tok)), b"line one\n.dotted\nline three\n")

    def test_mixed_line_ends_in_data(self):
        tok = token()
        with SmtpRaw(self.dm.smtp_port) as c:
            c.cmd("EHLO x")
            self.tx(c)
            # a bare LF inside a CRLF session is content; so is a "." line
            # ended by one: only CRLF.CRLF ends this message (no smuggling)
            c.send(("Subject: mixed %s\r\n\nA\nB\r\n.C\r\n.\nD\r\n.\r\n" % tok).encode())
            self.assertEqual(c.read_reply()[0][:3], "250")
        self.assertEqual(body_of(self.one(tok)), b"A\nB\nC\n.\nD\n")

    def test_sequencing_errors(self):
        with SmtpRaw(self.dm.smtp_port) as c:
            c.cmd("EHLO x")
            r = c.cmd("RCPT TO:<someone@example.com>")
            self.assertTrue(r[0].startswith("503 5.5.1"), r)
            r = c.cmd("DATA")
            self.assertTrue(r[0].startswith("503 5.5.1"), r)
            self.assertEqual(c.cmd("MAIL FROM:<a@example.com>"), ["250 2.1.0 Ok"])
            r = c.cmd("MAIL FROM:<a@example.com>")
            self.assertTrue(r[0].startswith("503 5.5.1"), r)
            r = c.cmd("DATA")
            self.assertTrue(r[0].startswith("554 5.5.1") or r[0].startswith("503 5.5.1"), r)
            # only refused recipients: DATA still refused
            self.assertTrue(c.cmd("RCPT TO:<ray@example.net>")[0].startswith("554 5.7.1"))
            r = c.cmd("DATA")
            self.assertTrue(r[0].startswith("554 5.5.1") or r[0].startswith("503 5.5.1"), r)
            self.assertEqual(c.cmd("NOOP"), ["250 2.0.0 Ok"])

    def test_syntax_errors(self):
        with SmtpRaw(self.dm.smtp_port) as c:
            self.assertTrue(c.cmd("EHLO")[0].startswith("501 5.5.4"))
            c.cmd("EHLO x")
            self.assertTrue(c.cmd("MAIL FROM")[0].startswith("501 5.5.4"))
            self.assertTrue(c.cmd("MAIL FROM:<a@example.com")[0].startswith("501"))
            self.assertEqual(c.cmd("MAIL FROM:<a@example.com>"), ["250 2.1.0 Ok"])
            self.assertTrue(c.cmd("RCPT TO:<not an address>")[0].startswith("501"))
            self.assertTrue(c.cmd("RCPT TO:")[0].startswith("501"))
            self.assertEqual(c.cmd("RCPT TO:<someone@example.com>"), ["250 2.1.5 Ok"])
            self.assertTrue(c.cmd("DATA extra")[0].startswith("501 5.5.4"))
            self.assertEqual(c.cmd("RSET"), ["250 2.0.0 Ok"])

    def test_unknown_command(self):
        with SmtpRaw(self.dm.smtp_port) as c:
            r = c.cmd("FROBNICATE now")
            self.assertTrue(r[0].startswith("502 5.5.2"), r)
            self.assertTrue(c.cmd("EXPN staff")[0].startswith("502"))
            self.assertEqual(c.cmd("NOOP"), ["250 2.0.0 Ok"])

    def test_starttls_pipelined_injection_discarded(self):
        """CVE-2011-0411 style: plaintext pipelined behind STARTTLS is dropped."""
        with SmtpRaw(self.dm.smtp_port) as c:
            c.cmd("EHLO x")
            c.send(b"STARTTLS\r\nRSET\r\n")
            self.assertEqual(c.read_line(), b"220 2.0.0 Ready to start TLS\r\n")
            # no plaintext reply to RSET may follow
            c.sock.settimeout(0.5)
            try:
                extra = c.buf + c.sock.recv(4096, socket.MSG_PEEK)
            except socket.timeout:
                extra = c.buf
            self.assertEqual(extra, b"", "plaintext after the 220: %r" % extra)
            c.sock.settimeout(10)
            ctx = ssl._create_unverified_context()
            t = ctx.wrap_socket(c.sock)
            t.sendall(b"EHLO y\r\n")
            got = b""
            while not got.endswith(b"\r\n") or b"250 " not in got:
                d = t.recv(4096)
                if not d:
                    break
                got += d
            # the first thing inside TLS is the EHLO reply, not a "250 2.0.0 Ok" for the RSET
            self.assertTrue(got.startswith(b"250-" + HOST.encode()), got)
            t.close()

    def test_max_connections_total_not_hit(self):
        # default total limit is far above what the suite uses
        socks = [SmtpRaw(self.dm.smtp_port) for _ in range(10)]
        for s in socks:
            self.assertTrue(s.greeting[0].startswith("220"))
            s.close()


class Addresses(ServerCase):
    """Recipient policy details: case, subdomains, RFC 5321 special forms."""

    def rcpt(self, addr):
        with SmtpRaw(self.dm.smtp_port) as c:
            c.cmd("EHLO x")
            self.assertEqual(c.cmd("MAIL FROM:<a@example.com>"), ["250 2.1.0 Ok"])
            return c.cmd("RCPT TO:%s" % addr)

    def test_domain_case_insensitive(self):
        self.assertEqual(self.rcpt("<Someone@EXAMPLE.COM>"), ["250 2.1.5 Ok"])
        self.assertEqual(self.rcpt("Someone@Example.Com"), ["250 2.1.5 Ok"])

    def test_subdomain_and_literal_not_served(self):
        self.assertEqual(self.rcpt("<x@sub.example.com>"), ["554 5.7.1 <x@sub.example.com>: Relay access denied"])
        self.assertEqual(self.rcpt("<x@example.com.evil.test>"),
                         ["554 5.7.1 <x@example.com.evil.test>: Relay access denied"])
        self.assertTrue(self.rcpt("<x@[127.0.0.1]>")[0].startswith("554 5.7.1"))

    def test_quoted_local_part_and_source_route(self):
        self.assertEqual(self.rcpt('<"john doe"@example.com>'), ["250 2.1.5 Ok"])
        # RFC 5321 4.1.2: a source route must be accepted and ignored
        self.assertEqual(self.rcpt("<@a.example,@b.example:user@example.com>"), ["250 2.1.5 Ok"])

    def test_postmaster_without_domain(self):
        # RFC 5321 4.5.1: "RCPT TO:<Postmaster>" (no domain) MUST be supported
        tok = token()
        with SmtpRaw(self.dm.smtp_port) as c:
            c.cmd("EHLO x")
            self.assertEqual(c.cmd("MAIL FROM:<a@example.com>"), ["250 2.1.0 Ok"])
            self.assertEqual(c.cmd("RCPT TO:<Postmaster>"), ["250 2.1.5 Ok"])
            self.assertEqual(c.cmd("DATA")[0][:3], "354")
            self.assertEqual(c.cmd("Subject: pm %s\r\n\r\nx\r\n." % tok)[0][:3], "250")
        found = []
        for root, _, names in os.walk(self.dm.data_dir):
            for n in names:
                if os.path.basename(root) in ("new", "cur"):
                    with open(os.path.join(root, n), "rb") as f:
                        if tok.encode() in f.read():
                            found.append(n)
        self.assertEqual(len(found), 1)

    def test_unread_pipelined_flood(self):
        """A client that pipelines 200,000 commands and never reads does not
        block other sessions, crash the server or grow it without bound."""
        flood = socket.create_connection(("127.0.0.1", self.dm.smtp_port))
        try:
            flood.setblocking(False)
            data = b"NOOP\r\n" * 200000
            sent = 0
            t0 = time.monotonic()
            while sent < len(data) and time.monotonic() - t0 < 3:
                try:
                    sent += flood.send(data[sent:sent + 65536])
                except BlockingIOError:
                    time.sleep(0.01)
            with SmtpRaw(self.dm.smtp_port, timeout=5) as c:
                self.assertEqual(c.cmd("NOOP"), ["250 2.0.0 Ok"])
            with open("/proc/%d/status" % self.dm.proc.pid) as f:
                rss_kb = int(f.read().split("VmRSS:")[1].split()[0])
            limit = 400 * 1024 if "asan" in self.dm.args[0] else 64 * 1024
            self.assertLess(rss_kb, limit)
        finally:
            flood.close()
        self.assert_alive()


class LongLines(ServerCase):
    args = []

    def test_100k_body_line_intact(self):
        tok = token()
        long2 = "".join(chr(ord("A") + i % 26) for i in range(100000))
        with SmtpRaw(self.dm.smtp_port) as c:
            c.cmd("EHLO x")
            self.tx(c)
            r = c.cmd("Subject: long2 %s\r\n\r\n%s\r\nend\r\n." % (tok, long2))
            self.assertEqual(r[0][:3], "250")
        self.assertEqual(body_of(self.one(tok)), (long2 + "\nend\n").encode())

    def test_default_line_limit(self):
        with SmtpRaw(self.dm.smtp_port) as c:
            self.assertEqual(c.cmd("NOOP " + "x" * 3000), ["250 2.0.0 Ok"])
            self.assertTrue(c.cmd("NOOP " + "x" * 5000)[0].startswith("500 5.5.2"))
            self.assertEqual(c.cmd("NOOP"), ["250 2.0.0 Ok"])


class PerIpConnections(ServerCase):
    args = ["--max-connections-per-ip", "2"]

    def setUp(self):
        # no probe connection here: it could still count against the limit
        if self.dm.proc.poll() is not None:
            self.dm.restart()

    def test_third_connection_refused(self):
        a = SmtpRaw(self.dm.smtp_port)
        b = SmtpRaw(self.dm.smtp_port)
        self.assertTrue(a.greeting[0].startswith("220 "))
        self.assertTrue(b.greeting[0].startswith("220 "))
        c = SmtpRaw(self.dm.smtp_port, read_greeting=False)
        raw = c.read_until_close(timeout=5)
        c.close()
        self.assertTrue(raw.startswith(b"421 4.7.0"), raw)
        # the two admitted sessions are unaffected
        self.assertEqual(a.cmd("NOOP"), ["250 2.0.0 Ok"])
        self.assertEqual(b.cmd("NOOP"), ["250 2.0.0 Ok"])
        a.cmd("QUIT")
        a.close()

        # once one leaves, a new one is admitted
        def admitted():
            d = SmtpRaw(self.dm.smtp_port, read_greeting=False)
            line = d.read_line()
            d.close()
            return line.startswith(b"220 ")
        self.assertTrue(wait_for(admitted, timeout=3, step=0.1))
        b.close()


class TotalConnections(ServerCase):
    args = ["--max-connections", "2"]

    def setUp(self):
        # no probe connection here: it could still count against the limit
        if self.dm.proc.poll() is not None:
            self.dm.restart()

    def test_third_connection_refused(self):
        # both have a transaction in hand: neither makes room
        a = SmtpRaw(self.dm.smtp_port)
        b = SmtpRaw(self.dm.smtp_port)
        for x in (a, b):
            x.cmd("EHLO x")
            self.assertEqual(x.cmd("MAIL FROM:<a@example.com>"), ["250 2.1.0 Ok"])
        c = SmtpRaw(self.dm.smtp_port, read_greeting=False)
        raw = c.read_until_close(timeout=5)
        self.assertTrue(raw.startswith(b"421 4.7.0"), raw)
        for s in (a, b, c):
            s.close()

    def test_idle_connection_makes_room(self):
        # the oldest session without a transaction is closed for a new client
        a = SmtpRaw(self.dm.smtp_port)
        b = SmtpRaw(self.dm.smtp_port)
        b.cmd("EHLO x")
        self.assertEqual(b.cmd("MAIL FROM:<a@example.com>"), ["250 2.1.0 Ok"])
        c = SmtpRaw(self.dm.smtp_port)
        self.assertTrue(c.greeting[0].startswith("220"), c.greeting)
        self.assertTrue(a.read_until_close(timeout=5).startswith(b"421 4.7.0"))
        self.assertEqual(b.cmd("RCPT TO:<someone@example.com>"), ["250 2.1.5 Ok"])
        for s in (a, b, c):
            s.close()


class ProtocolShares(unittest.TestCase):
    """Each protocol has its own share: SMTP connections at their limit
    (from the one loopback address every local client has) leave IMAP and
    POP3 answering at once."""

    def test_full_smtp_leaves_imap_and_pop3_alone(self):
        from harness import ImapRaw, LineSocket, recipe_devmail
        with recipe_devmail(listen=("smtp", "imap", "pop3"), args=["--smtp-max-connections", "3"]) as dm:
            held = [SmtpRaw(dm.smtp_port) for _ in range(3)]
            try:
                for h in held:  # busy ones: they do not make room
                    h.cmd("EHLO x")
                    h.cmd("MAIL FROM:<a@example.com>")
                over = SmtpRaw(dm.smtp_port, read_greeting=False)
                self.assertTrue(over.read_until_close(timeout=5).startswith(b"421 4.7.0"))
                over.close()
                t0 = time.monotonic()
                c = ImapRaw(dm.ports["imap"], timeout=5)
                self.assertTrue(c.greeting.startswith("* OK"), c.greeting)
                c.close()
                p = LineSocket(dm.ports["pop3"], timeout=5)
                self.assertTrue(p.read_line().startswith(b"+OK"))
                p.close()
                self.assertLess(time.monotonic() - t0, 1.0)
            finally:
                for h in held:
                    h.close()
            # a freed slot is usable again
            self.assertTrue(wait_for(lambda: SmtpRaw(dm.smtp_port).greeting[0].startswith("220"), timeout=5))


class BadCommands(ServerCase):
    args = ["--smtp-max-bad-commands", "3"]

    def test_disconnect_after_bad_commands(self):
        raw = smtp_burst(self.dm.smtp_port, b"FOO\r\nBAR\r\nBAZ\r\nQUX\r\nNOOP\r\nNOOP\r\n")
        lines = smtp_reply_lines(raw)
        self.assertTrue(lines[0].startswith("220"))
        errors = [l for l in lines[1:] if l[:1] == "5"]
        self.assertIn(len(errors), (2, 3), lines)
        self.assertTrue(lines[-1].startswith("421 4.7.0"), lines)
        self.assertNotIn("250 2.0.0 Ok", lines)
        self.assert_alive()

    def test_good_commands_do_not_count(self):
        with SmtpRaw(self.dm.smtp_port) as c:
            for _ in range(2):
                self.assertEqual(c.cmd("FOO")[0][:3], "502")
            for _ in range(10):
                self.assertEqual(c.cmd("NOOP"), ["250 2.0.0 Ok"])


class Timeouts(ServerCase):
    args = ["--smtp-idle-timeout", "1s", "--smtp-transaction-timeout", "3s"]

    def test_idle_timeout(self):
        with SmtpRaw(self.dm.smtp_port) as c:
            t0 = time.monotonic()
            raw = c.read_until_close(timeout=6)
            elapsed = time.monotonic() - t0
        self.assertTrue(raw.startswith(b"421 4.4.2"), raw)
        self.assertGreaterEqual(elapsed, 0.8)
        self.assertLess(elapsed, 3.0)

    def test_idle_timeout_in_data(self):
        with SmtpRaw(self.dm.smtp_port) as c:
            c.cmd("EHLO x")
            self.tx(c)
            c.send(b"Subject: stalled\r\n\r\nhalf a message")
            raw = c.read_until_close(timeout=6)
        self.assertTrue(raw.startswith(b"421 4.4.2"), raw)
        self.assertEqual(files_with(self.all, b"half a message"), [])

    def test_transaction_timeout(self):
        with SmtpRaw(self.dm.smtp_port) as c:
            t0 = time.monotonic()
            got = []
            try:
                while time.monotonic() - t0 < 6:
                    r = c.cmd("NOOP")
                    got.append(r[0])
                    if not r[0].startswith("250"):
                        break
                    time.sleep(0.4)
            except (EOFError, ConnectionResetError, BrokenPipeError):
                pass
            elapsed = time.monotonic() - t0
        self.assertTrue(any(g.startswith("421 4.4.2") for g in got), got[-3:])
        self.assertGreaterEqual(elapsed, 2.5)
        self.assertLess(elapsed, 5.5)


if __name__ == "__main__":
    unittest.main()
