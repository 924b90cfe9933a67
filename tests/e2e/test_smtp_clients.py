"""Ordinary SMTP clients against devmail: Python smtplib, swaks, curl, and
raw-socket BDAT/CHUNKING, DSN and SMTPUTF8 sessions; plain, STARTTLS and
implicit TLS; AUTH PLAIN/LOGIN; zero-config catch-all delivery.

Every test checks what the user sees: the client's result or the reply
lines, and the message files in the Maildir with their content.
"""
import base64
import email
import email.policy
import hashlib
import os
import random
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
import uuid
from email.message import EmailMessage

from harness import Devmail, SmtpRaw, ensure_running, maildir_files

HOST = "devmail.example.com"
VMAILBOX = ("@example.com       example.com/all/Maildir/\n"
            "bob@example.com    bob@example.com\n"
            "@example.org       example.org/ops/Maildir/\n")
PASSDB = "all@example.com:{PLAIN}password\n"


def tls_ctx():
    ctx = ssl._create_unverified_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def token():
    return uuid.uuid4().hex[:16]


def files_with(maildir, needle):
    """Message files of a Maildir whose content contains needle (bytes or str)."""
    if isinstance(needle, str):
        needle = needle.encode("utf-8")
    out = []
    for p in maildir_files(maildir):
        with open(p, "rb") as f:
            if needle in f.read():
                out.append(p)
    return out


def read(path):
    with open(path, "rb") as f:
        return f.read()


def body_of(raw):
    """The part of a stored message after the prepended trace headers and the
    message's own headers: the text after the first blank line."""
    raw = raw.replace(b"\r\n", b"\n")
    return raw.split(b"\n\n", 1)[1]


def run(args, **kw):
    kw.setdefault("timeout", 60)
    return subprocess.run(args, capture_output=True, **kw)


class ClientsBase(unittest.TestCase):
    """One server shared by the tests of a class (started once: keeps the suite fast)."""
    server_kw = {}

    @classmethod
    def setUpClass(cls):
        cls.dm = Devmail(hostname=HOST, **cls.server_kw).start()
        cls.all = cls.dm.maildir("all@example.com")

    @classmethod
    def tearDownClass(cls):
        cls.dm.__exit__(None, None, None)

    def setUp(self):
        # a crash in an earlier test of the class must not fail every later
        # one: restart the shared server (its log keeps the crash report,
        # which tearDownClass turns into an error)
        ensure_running(self.dm)

    def assert_one(self, maildir, tok):
        files = files_with(maildir, tok)
        self.assertEqual(len(files), 1, "expected exactly one message with %s in %s, got %s" % (tok, maildir, files))
        return read(files[0])

    def swaks(self, *extra, port=None, to="someone@example.com", tok=None, ok=True):
        tok = tok or token()
        args = ["swaks", "--server", "127.0.0.1", "--port", str(port or self.dm.smtp_port),
                "--helo", "swaks.test", "--from", "sender@example.com", "--to", to,
                "--header", "Subject: swaks %s" % tok, "--timeout", "20"] + list(extra)
        r = run(args)
        out = r.stdout.decode("utf-8", "replace")
        if ok:
            self.assertEqual(r.returncode, 0, out[-3000:] + r.stderr.decode("utf-8", "replace"))
            self.assertRegex(out, r"250 2\.0\.0 Ok: queued as \w+")
        return tok, out, r.returncode


class Clients(ClientsBase):
    server_kw = dict(domains=["example.com", "example.org"], recipient_map=VMAILBOX)

    # ---- Python smtplib -------------------------------------------------

    def test_smtplib_plain(self):
        tok = token()
        with smtplib.SMTP("127.0.0.1", self.dm.smtp_port, timeout=20) as s:
            code, banner = s.ehlo("client.test")
            self.assertEqual(code, 250)
            self.assertTrue(s.has_extn("pipelining"))
            self.assertEqual(s.esmtp_features.get("size"), "10240000")
            refused = s.sendmail("sender@example.com", ["someone@example.com"],
                                 "Subject: plain %s\r\n\r\nhello plain\r\n" % tok)
            self.assertEqual(refused, {})
        raw = self.assert_one(self.all, tok)
        self.assertTrue(raw.startswith(b"Return-Path: <sender@example.com>"), raw[:200])
        self.assertIn(b"Delivered-To: someone@example.com", raw)
        self.assertEqual(body_of(raw), b"hello plain\n")

    def test_smtplib_starttls(self):
        tok = token()
        with smtplib.SMTP("127.0.0.1", self.dm.smtp_port, timeout=20) as s:
            s.ehlo()
            self.assertTrue(s.has_extn("starttls"))
            code, _ = s.starttls(context=tls_ctx())
            self.assertEqual(code, 220)
            s.ehlo()
            self.assertFalse(s.has_extn("starttls"), "STARTTLS must not be offered inside TLS")
            s.sendmail("sender@example.com", ["someone@example.com"], "Subject: starttls %s\r\n\r\nsecret\r\n" % tok)
            version = s.sock.version()
        self.assertIn(version, ("TLSv1.2", "TLSv1.3"))
        raw = self.assert_one(self.all, tok)
        self.assertIn(b"secret", raw)

    def test_smtplib_smtps(self):
        tok = token()
        with smtplib.SMTP_SSL("127.0.0.1", self.dm.ports["smtps"], context=tls_ctx(), timeout=20) as s:
            s.ehlo()
            self.assertFalse(s.has_extn("starttls"))
            s.sendmail("sender@example.com", ["someone@example.com"], "Subject: smtps %s\r\n\r\nimplicit\r\n" % tok)
        self.assert_one(self.all, tok)

    def test_starttls_quit_gets_221_and_server_survives(self):
        """QUIT inside a STARTTLS session: the 221 arrives, the server lives on."""
        for pipelined in (False, True):
            with SmtpRaw(self.dm.smtp_port) as c:
                c.cmd("EHLO x")
                self.assertEqual(c.cmd("STARTTLS"), ["220 2.0.0 Ready to start TLS"])
                t = tls_ctx().wrap_socket(c.sock)
                if pipelined:
                    t.sendall(b"NOOP\r\nQUIT\r\n")
                else:
                    t.sendall(b"NOOP\r\n")
                    got = b""
                    while not got.endswith(b"\r\n"):
                        got += t.recv(1000)
                    self.assertEqual(got, b"250 2.0.0 Ok\r\n")
                    t.sendall(b"QUIT\r\n")
                got = b""
                try:
                    while True:
                        d = t.recv(4096)
                        if not d:
                            break
                        got += d
                except (ssl.SSLError, OSError):
                    pass
                t.close()
                expect = (b"250 2.0.0 Ok\r\n" if pipelined else b"") + b"221 2.0.0 Bye\r\n"
                self.assertEqual(got, expect)
            time.sleep(0.2)
            self.assertIsNone(self.dm.proc.poll(), "devmail died after QUIT in a STARTTLS session")
            with SmtpRaw(self.dm.smtp_port) as c:
                self.assertEqual(c.cmd("NOOP"), ["250 2.0.0 Ok"])

    def test_smtps_quit_gets_221(self):
        with smtplib.SMTP_SSL("127.0.0.1", self.dm.ports["smtps"], context=tls_ctx(), timeout=20) as s:
            s.ehlo()
            self.assertEqual(s.quit()[0], 221)

    def test_tls_below_1_2_refused(self):
        import warnings
        for name in ("TLSv1", "TLSv1_1"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                v = getattr(ssl.TLSVersion, name)
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                try:
                    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
                    ctx.minimum_version = v
                    ctx.maximum_version = v
                except (ssl.SSLError, ValueError):
                    continue
            with self.assertRaises(ssl.SSLError):
                ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.dm.ports["smtps"]), timeout=10)).close()
        with smtplib.SMTP_SSL("127.0.0.1", self.dm.ports["smtps"], context=tls_ctx(), timeout=20) as s:
            self.assertIn(s.sock.version(), ("TLSv1.2", "TLSv1.3"))

    def test_tls_certificate_names_hostname(self):
        ctx = tls_ctx()
        with smtplib.SMTP_SSL("127.0.0.1", self.dm.ports["smtps"], context=ctx, timeout=20) as s:
            der = s.sock.getpeercert(binary_form=True)
        self.assertTrue(der)
        r = run(["openssl", "x509", "-inform", "DER", "-noout", "-text"], input=der)
        text = r.stdout.decode()
        self.assertIn(HOST, text)
        self.assertIn("DNS:localhost", text)

    def test_smtplib_send_message_html_attachment(self):
        tok = token()
        blob = random.Random(7).randbytes(40000)
        msg = EmailMessage()
        msg["From"] = "App <sender@example.com>"
        msg["To"] = "someone@example.com"
        msg["Subject"] = "html %s" % tok
        msg.set_content("plain text part\n.leading dot line\n")
        msg.add_alternative("<html><body><p>Hello <b>HTML</b> %s</p></body></html>\n" % tok, subtype="html")
        msg.add_attachment(blob, maintype="application", subtype="octet-stream", filename="blob.bin")
        with smtplib.SMTP("127.0.0.1", self.dm.smtp_port, timeout=20) as s:
            self.assertEqual(s.send_message(msg), {})
        raw = self.assert_one(self.all, tok)
        got = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertEqual(got["Subject"], "html %s" % tok)
        self.assertEqual(got.get_body(("html",)).get_content().strip(),
                         "<html><body><p>Hello <b>HTML</b> %s</p></body></html>" % tok)
        self.assertEqual(got.get_body(("plain",)).get_content(), "plain text part\n.leading dot line\n")
        atts = list(got.iter_attachments())
        self.assertEqual(len(atts), 1)
        self.assertEqual(atts[0].get_filename(), "blob.bin")
        self.assertEqual(atts[0].get_content(), blob)

    def test_smtplib_several_recipients_and_accounts(self):
        tok = token()
        rcpts = ["someone@example.com", "other@example.com", "bob@example.com", "x@example.org"]
        with smtplib.SMTP("127.0.0.1", self.dm.smtp_port, timeout=20) as s:
            refused = s.sendmail("sender@example.com", rcpts, "Subject: multi %s\r\n\r\nfan out\r\n" % tok)
        self.assertEqual(refused, {})
        # stored once per account: two recipients map to all@example.com
        self.assert_one(self.all, tok)
        bob = self.assert_one(self.dm.maildir("bob@example.com"), tok)
        self.assertIn(b"Delivered-To: bob@example.com", bob)
        ops = self.assert_one(self.dm.maildir("ops@example.org"), tok)
        self.assertIn(b"Delivered-To: x@example.org", ops)

    def test_smtplib_foreign_recipient_refused(self):
        tok = token()
        with smtplib.SMTP("127.0.0.1", self.dm.smtp_port, timeout=20) as s:
            refused = s.sendmail("sender@example.com", ["someone@example.com", "ray@example.net"],
                                 "Subject: partial %s\r\n\r\nx\r\n" % tok)
        self.assertEqual(refused, {"ray@example.net": (554, b"5.7.1 <ray@example.net>: Relay access denied")})
        self.assert_one(self.all, tok)
        with smtplib.SMTP("127.0.0.1", self.dm.smtp_port, timeout=20) as s:
            with self.assertRaises(smtplib.SMTPRecipientsRefused):
                s.sendmail("sender@example.com", ["ray@example.net"], "Subject: none\r\n\r\nx\r\n")

    def test_smtplib_null_sender(self):
        tok = token()
        with smtplib.SMTP("127.0.0.1", self.dm.smtp_port, timeout=20) as s:
            s.sendmail("<>", ["someone@example.com"], "Subject: bounce %s\r\n\r\nx\r\n" % tok)
        raw = self.assert_one(self.all, tok)
        self.assertTrue(raw.startswith(b"Return-Path: <>"), raw[:100])

    # ---- swaks ----------------------------------------------------------

    def test_swaks_plain(self):
        tok, out, _ = self.swaks("--body", "swaks plain body")
        raw = self.assert_one(self.all, tok)
        self.assertIn(b"swaks plain body", raw)

    def test_swaks_starttls(self):
        tok, out, _ = self.swaks("--tls")
        self.assertIn("220 2.0.0 Ready to start TLS", out)
        self.assertIn("TLS started", out)
        self.assert_one(self.all, tok)

    def test_swaks_implicit_tls(self):
        tok, out, _ = self.swaks("--tlsc", port=self.dm.ports["smtps"])
        self.assertIn("TLS started", out)
        self.assert_one(self.all, tok)

    def test_swaks_pipelining(self):
        tok, out, _ = self.swaks("--pipeline", "--to", "someone@example.com,bob@example.com")
        self.assert_one(self.all, tok)
        self.assert_one(self.dm.maildir("bob@example.com"), tok)

    def test_swaks_5mb_attachment(self):
        blob = random.Random(5).randbytes(5 * 1024 * 1024)
        with tempfile.NamedTemporaryFile(suffix=".bin") as f:
            f.write(blob)
            f.flush()
            tok, out, _ = self.swaks("--attach", "@" + f.name, "--suppress-data")
        files = files_with(self.all, tok)
        self.assertEqual(len(files), 1)
        self.assertGreater(os.path.getsize(files[0]), len(blob) * 4 // 3)
        got = email.message_from_bytes(read(files[0]), policy=email.policy.default)
        atts = list(got.iter_attachments())
        self.assertEqual(len(atts), 1)
        self.assertEqual(hashlib.sha256(atts[0].get_content()).hexdigest(), hashlib.sha256(blob).hexdigest())

    # ---- curl -----------------------------------------------------------

    def curl_message(self, tok):
        f = tempfile.NamedTemporaryFile(suffix=".eml", delete=False)
        f.write(("From: sender@example.com\r\nTo: someone@example.com\r\nSubject: curl %s\r\n\r\n"
                 "curl body\r\n.dot line\r\n" % tok).encode())
        f.close()
        self.addCleanup(os.unlink, f.name)
        return f.name

    def test_curl_smtp(self):
        tok = token()
        r = run(["curl", "-sS", "--url", "smtp://127.0.0.1:%d" % self.dm.smtp_port,
                 "--mail-from", "sender@example.com", "--mail-rcpt", "someone@example.com",
                 "--upload-file", self.curl_message(tok)])
        self.assertEqual(r.returncode, 0, r.stderr)
        raw = self.assert_one(self.all, tok)
        self.assertTrue(body_of(raw).endswith(b"curl body\n.dot line\n"), raw)

    def test_curl_smtps(self):
        tok = token()
        r = run(["curl", "-sS", "-k", "--url", "smtps://127.0.0.1:%d" % self.dm.ports["smtps"],
                 "--mail-from", "sender@example.com", "--mail-rcpt", "someone@example.com",
                 "--upload-file", self.curl_message(tok)])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_one(self.all, tok)

    def test_curl_starttls_required(self):
        tok = token()
        r = run(["curl", "-sS", "-k", "--ssl-reqd", "--url", "smtp://127.0.0.1:%d" % self.dm.smtp_port,
                 "--mail-from", "sender@example.com", "--mail-rcpt", "someone@example.com",
                 "--upload-file", self.curl_message(tok)])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_one(self.all, tok)

    def test_curl_relay_denied(self):
        tok = token()
        r = run(["curl", "-sS", "--url", "smtp://127.0.0.1:%d" % self.dm.smtp_port,
                 "--mail-from", "sender@example.com", "--mail-rcpt", "ray@example.net",
                 "--upload-file", self.curl_message(tok)])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"554", r.stderr)
        self.assertEqual(files_with(self.all, tok), [])

    # ---- raw: BDAT / CHUNKING, DSN, SMTPUTF8 -----------------------------

    def start_tx(self, c, rcpt="someone@example.com", mail_params=""):
        ehlo = c.cmd("EHLO raw.test")
        self.assertEqual(c.cmd("MAIL FROM:<sender@example.com>" + mail_params), ["250 2.1.0 Ok"])
        self.assertEqual(c.cmd("RCPT TO:<%s>" % rcpt), ["250 2.1.5 Ok"])
        return ehlo

    def test_bdat_chunking(self):
        tok = token()
        chunk1 = ("Subject: bdat %s\r\n\r\nfirst part\r\n..two dots stay two\r\n" % tok).encode()
        chunk2 = b".\r\nsecond part after a lone dot\r\n"
        with SmtpRaw(self.dm.smtp_port) as c:
            ehlo = self.start_tx(c)
            self.assertIn("CHUNKING", [l[4:] for l in ehlo])
            c.send(b"BDAT %d\r\n" % len(chunk1) + chunk1)
            r1 = c.read_reply()
            self.assertEqual(len(r1), 1)
            self.assertTrue(r1[0].startswith("250 2.0.0"), r1)
            c.send(b"BDAT %d LAST\r\n" % len(chunk2) + chunk2)
            r2 = c.read_reply()
            self.assertTrue(r2[0].startswith("250 2.0.0"), r2)
            self.assertEqual(c.cmd("QUIT"), ["221 2.0.0 Bye"])
        raw = self.assert_one(self.all, tok)
        self.assertEqual(body_of(raw), (b"first part\r\n..two dots stay two\r\n" + chunk2).replace(b"\r\n", b"\n"))

    def test_bdat_pipelined_and_empty_last(self):
        tok = token()
        chunk = ("Subject: bdat2 %s\r\n\r\nall in one go\r\n" % tok).encode()
        with SmtpRaw(self.dm.smtp_port) as c:
            c.cmd("EHLO raw.test")
            c.send(b"MAIL FROM:<sender@example.com>\r\nRCPT TO:<someone@example.com>\r\n"
                   b"BDAT %d\r\n" % len(chunk) + chunk + b"BDAT 0 LAST\r\nQUIT\r\n")
            replies = [c.read_reply() for _ in range(5)]
        self.assertEqual(replies[0], ["250 2.1.0 Ok"])
        self.assertEqual(replies[1], ["250 2.1.5 Ok"])
        self.assertTrue(replies[2][0].startswith("250 "), replies)
        self.assertTrue(replies[3][0].startswith("250 "), replies)
        self.assertEqual(replies[4], ["221 2.0.0 Bye"])
        raw = self.assert_one(self.all, tok)
        self.assertEqual(body_of(raw), b"all in one go\n")

    def test_bdat_then_data_rejected(self):
        with SmtpRaw(self.dm.smtp_port) as c:
            self.start_tx(c)
            c.send(b"BDAT 5\r\nhello")
            self.assertTrue(c.read_reply()[0].startswith("250 "))
            r = c.cmd("DATA")
            self.assertTrue(r[0].startswith("503 5.5.1"), r)

    def test_dsn_parameters_accepted(self):
        tok = token()
        with SmtpRaw(self.dm.smtp_port) as c:
            ehlo = c.cmd("EHLO raw.test")
            self.assertIn("250-DSN", ehlo)
            self.assertEqual(c.cmd("MAIL FROM:<sender@example.com> RET=HDRS ENVID=QQ314159"), ["250 2.1.0 Ok"])
            self.assertEqual(c.cmd("RCPT TO:<someone@example.com> NOTIFY=SUCCESS,DELAY "
                                   "ORCPT=rfc822;someone@example.com"), ["250 2.1.5 Ok"])
            self.assertEqual(c.cmd("RCPT TO:<bob@example.com> NOTIFY=NEVER"), ["250 2.1.5 Ok"])
            self.assertEqual(c.cmd("DATA"), ["354 End data with <CR><LF>.<CR><LF>"])
            r = c.cmd("Subject: dsn %s\r\n\r\nbody\r\n." % tok)
            self.assertRegex(r[0], r"^250 2\.0\.0 Ok: queued as \w+$")
            # bad DSN values and unknown parameters are refused, the session goes on
            self.assertTrue(c.cmd("MAIL FROM:<sender@example.com> RET=BOGUS")[0].startswith("501 5.5.4"))
            self.assertTrue(c.cmd("MAIL FROM:<sender@example.com> FOO=BAR")[0].startswith("555 5.5.4"))
            self.assertEqual(c.cmd("MAIL FROM:<sender@example.com> BODY=8BITMIME SIZE=100"), ["250 2.1.0 Ok"])
            self.assertTrue(c.cmd("RCPT TO:<someone@example.com> FOO=BAR")[0].startswith("555 5.5.4"))
        self.assert_one(self.all, tok)
        self.assert_one(self.dm.maildir("bob@example.com"), tok)

    def test_smtplib_dsn_options(self):
        tok = token()
        with smtplib.SMTP("127.0.0.1", self.dm.smtp_port, timeout=20) as s:
            s.sendmail("sender@example.com", ["someone@example.com"], "Subject: dsn2 %s\r\n\r\nx\r\n" % tok,
                       mail_options=["RET=FULL", "ENVID=abc123"],
                       rcpt_options=["NOTIFY=FAILURE", "ORCPT=rfc822;someone@example.com"])
        self.assert_one(self.all, tok)

    def test_smtputf8_address(self):
        tok = token()
        with SmtpRaw(self.dm.smtp_port) as c:
            self.assertIn("250-SMTPUTF8", c.cmd("EHLO raw.test"))
            self.assertEqual(c.cmd("MAIL FROM:<jöran@example.com> SMTPUTF8 BODY=8BITMIME"), ["250 2.1.0 Ok"])
            self.assertEqual(c.cmd("RCPT TO:<用户@example.com>"), ["250 2.1.5 Ok"])
            self.assertEqual(c.cmd("DATA")[0][:3], "354")
            r = c.cmd("Subject: utf8 %s Grüße\r\nFrom: jöran@example.com\r\n\r\nnaïve café 日本語\r\n." % tok)
            self.assertRegex(r[0], r"^250 2\.0\.0 Ok: queued as \w+$")
        raw = self.assert_one(self.all, tok)
        self.assertIn("Return-Path: <jöran@example.com>".encode(), raw)
        self.assertIn("用户@example.com".encode(), raw)
        self.assertTrue(body_of(raw).endswith("naïve café 日本語\n".encode()))

    def test_smtplib_smtputf8(self):
        tok = token()
        msg = EmailMessage()
        msg["From"] = "jöran@example.com"
        msg["To"] = "用户@example.com"
        msg["Subject"] = "utf8lib %s" % tok
        msg.set_content("ünïcödé\n")
        with smtplib.SMTP("127.0.0.1", self.dm.smtp_port, timeout=20) as s:
            s.send_message(msg)  # smtplib adds SMTPUTF8 itself for non-ASCII addresses
        self.assert_one(self.all, tok)

    def test_vrfy_help_noop_rset(self):
        with SmtpRaw(self.dm.smtp_port) as c:
            c.cmd("EHLO raw.test")
            self.assertTrue(c.cmd("VRFY someone@example.com")[0].startswith("252 2."))
            self.assertTrue(c.cmd("HELP")[0].startswith("214"))
            self.assertEqual(c.cmd("NOOP"), ["250 2.0.0 Ok"])
            self.assertEqual(c.cmd("MAIL FROM:<a@example.com>"), ["250 2.1.0 Ok"])
            self.assertEqual(c.cmd("RSET"), ["250 2.0.0 Ok"])
            # RSET ended the transaction: a new MAIL is fine
            self.assertEqual(c.cmd("MAIL FROM:<a@example.com>"), ["250 2.1.0 Ok"])
            self.assertEqual(c.cmd("QUIT"), ["221 2.0.0 Bye"])

    def test_helo_then_mail(self):
        tok = token()
        with SmtpRaw(self.dm.smtp_port) as c:
            self.assertEqual(c.cmd("HELO old.client"), ["250 " + HOST])
            self.assertEqual(c.cmd("MAIL FROM:<a@example.com>"), ["250 2.1.0 Ok"])
            self.assertEqual(c.cmd("RCPT TO:<someone@example.com>"), ["250 2.1.5 Ok"])
            self.assertEqual(c.cmd("DATA")[0][:3], "354")
            self.assertEqual(c.cmd("Subject: helo %s\r\n\r\nx\r\n." % tok)[0][:3], "250")
        raw = self.assert_one(self.all, tok)
        self.assertIn(b"with SMTP id", raw.replace(b"\n\t", b" ").replace(b"\n ", b" "))


class Auth(ClientsBase):
    server_kw = dict(domains=["example.com"], recipient_map=VMAILBOX, passdb=PASSDB,
                     args=["--smtp-auth", "required", "--auth-failure-delay-ms", "400"])

    def test_ehlo_advertises_auth(self):
        with SmtpRaw(self.dm.smtp_port) as c:
            ehlo = c.cmd("EHLO x")
        auth = [l for l in ehlo if l[4:].startswith("AUTH ")]
        self.assertEqual(len(auth), 1, ehlo)
        self.assertIn("PLAIN", auth[0].split())
        self.assertIn("LOGIN", auth[0].split())

    def test_mail_without_auth_refused(self):
        with SmtpRaw(self.dm.smtp_port) as c:
            c.cmd("EHLO x")
            r = c.cmd("MAIL FROM:<a@example.com>")
            self.assertTrue(r[0].startswith("530 5.7.0"), r)

    def test_swaks_auth_plain(self):
        tok, out, _ = self.swaks("--auth", "PLAIN", "--auth-user", "all@example.com", "--auth-password", "password")
        self.assertIn("235 2.7.0", out)
        self.assert_one(self.all, tok)

    def test_swaks_auth_login(self):
        tok, out, _ = self.swaks("--auth", "LOGIN", "--auth-user", "all@example.com", "--auth-password", "password")
        self.assertIn("235 2.7.0", out)
        self.assert_one(self.all, tok)

    def test_swaks_auth_plain_over_starttls(self):
        tok, out, _ = self.swaks("--tls", "--auth", "PLAIN", "--auth-user", "all@example.com",
                                 "--auth-password", "password")
        self.assert_one(self.all, tok)

    def test_swaks_wrong_password(self):
        t0 = time.monotonic()
        tok, out, rc = self.swaks("--auth", "PLAIN", "--auth-user", "all@example.com", "--auth-password", "wrong",
                                  ok=False)
        elapsed = time.monotonic() - t0
        self.assertNotEqual(rc, 0)
        self.assertIn("535 5.7.8", out)
        self.assertGreaterEqual(elapsed, 0.35)
        self.assertEqual(files_with(self.all, tok), [])

    def test_wrong_password_delay_raw(self):
        with SmtpRaw(self.dm.smtp_port) as c:
            c.cmd("EHLO x")
            bad = base64.b64encode(b"\0all@example.com\0nope").decode()
            t0 = time.monotonic()
            r = c.cmd("AUTH PLAIN " + bad)
            elapsed = time.monotonic() - t0
            self.assertTrue(r[0].startswith("535 5.7.8"), r)
            self.assertGreaterEqual(elapsed, 0.35)
            # a later correct login in the same session works
            good = base64.b64encode(b"\0all@example.com\0password").decode()
            self.assertTrue(c.cmd("AUTH PLAIN " + good)[0].startswith("235 2.7.0"))
            self.assertTrue(c.cmd("AUTH PLAIN " + good)[0].startswith("503 5.5.1"))
        self.assertIn("all@example.com", self.dm.log_text())

    def test_auth_login_raw(self):
        with SmtpRaw(self.dm.smtp_port) as c:
            c.cmd("EHLO x")
            self.assertEqual(c.cmd("AUTH LOGIN"), ["334 VXNlcm5hbWU6"])
            self.assertEqual(c.cmd(base64.b64encode(b"all@example.com").decode()), ["334 UGFzc3dvcmQ6"])
            self.assertTrue(c.cmd(base64.b64encode(b"password").decode())[0].startswith("235 2.7.0"))
            self.assertEqual(c.cmd("MAIL FROM:<a@example.com>"), ["250 2.1.0 Ok"])

    def test_auth_cancel(self):
        with SmtpRaw(self.dm.smtp_port) as c:
            c.cmd("EHLO x")
            self.assertEqual(c.cmd("AUTH PLAIN"), ["334 "])
            self.assertTrue(c.cmd("*")[0].startswith("501"))
            self.assertTrue(c.cmd("AUTH FOO")[0].startswith("504 5.5.4"))

    def test_smtplib_login(self):
        for mech in ("PLAIN", "LOGIN"):
            tok = token()
            with smtplib.SMTP("127.0.0.1", self.dm.smtp_port, timeout=20) as s:
                s.ehlo()
                s.user, s.password = "all@example.com", "password"
                code, _ = s.auth(mech, getattr(s, "auth_" + mech.lower()), initial_response_ok=True)
                self.assertEqual(code, 235)
                s.sendmail("sender@example.com", ["someone@example.com"], "Subject: %s %s\r\n\r\nx\r\n" % (mech, tok))
            self.assert_one(self.all, tok)
        with smtplib.SMTP("127.0.0.1", self.dm.smtp_port, timeout=20) as s:
            with self.assertRaises(smtplib.SMTPAuthenticationError):
                s.login("all@example.com", "bad")


class AuthDelayIsAsync(ClientsBase):
    server_kw = dict(domains=["example.com"], recipient_map=VMAILBOX, passdb=PASSDB, listen=("smtp",),
                     args=["--smtp-auth", "optional", "--auth-failure-delay-ms", "1500"])

    def test_failed_login_delay_does_not_stall_others(self):
        import threading
        result = {}

        def bad_login():
            with SmtpRaw(self.dm.smtp_port) as c:
                c.cmd("EHLO x")
                t0 = time.monotonic()
                result["reply"] = c.cmd("AUTH PLAIN " + base64.b64encode(b"\0all@example.com\0bad").decode())
                result["elapsed"] = time.monotonic() - t0

        th = threading.Thread(target=bad_login)
        th.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        with SmtpRaw(self.dm.smtp_port) as c:
            self.assertEqual(c.cmd("NOOP"), ["250 2.0.0 Ok"])
        self.assertLess(time.monotonic() - t0, 0.5, "a failed login's delay blocked another session")
        th.join(10)
        self.assertTrue(result["reply"][0].startswith("535 5.7.8"), result)
        self.assertGreaterEqual(result["elapsed"], 1.4)

    def test_optional_auth_mail_without_login(self):
        tok = token()
        with smtplib.SMTP("127.0.0.1", self.dm.smtp_port, timeout=20) as s:
            s.ehlo()
            self.assertTrue(s.has_extn("auth"))
            s.sendmail("a@example.com", ["someone@example.com"], "Subject: opt %s\r\n\r\nx\r\n" % tok)
        self.assert_one(self.all, tok)


class AuthAny(ClientsBase):
    server_kw = dict(domains=["example.com"], recipient_map=VMAILBOX, passdb=PASSDB,
                     args=["--smtp-auth", "any"])

    def test_any_credentials_accepted(self):
        tok = token()
        with smtplib.SMTP("127.0.0.1", self.dm.smtp_port, timeout=20) as s:
            self.assertEqual(s.login("whoever@nowhere.test", "whatever")[0], 235)
            s.sendmail("a@example.com", ["someone@example.com"], "Subject: any %s\r\n\r\nx\r\n" % tok)
        self.assert_one(self.all, tok)


class AuthNeedsTls(ClientsBase):
    server_kw = dict(domains=["example.com"], recipient_map=VMAILBOX, passdb=PASSDB,
                     args=["--smtp-auth", "required", "--smtp-require-tls-for-auth", "yes"])

    def test_auth_offered_only_inside_tls(self):
        with smtplib.SMTP("127.0.0.1", self.dm.smtp_port, timeout=20) as s:
            s.ehlo()
            self.assertFalse(s.has_extn("auth"), s.esmtp_features)
            code, _ = s.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0all@example.com\0password").decode())
            self.assertNotEqual(code, 235)
            s.starttls(context=tls_ctx())
            s.ehlo()
            self.assertTrue(s.has_extn("auth"))
            self.assertEqual(s.login("all@example.com", "password")[0], 235)
        with smtplib.SMTP_SSL("127.0.0.1", self.dm.ports["smtps"], context=tls_ctx(), timeout=20) as s:
            s.ehlo()
            self.assertTrue(s.has_extn("auth"))
            self.assertEqual(s.login("all@example.com", "password")[0], 235)


class ZeroConfig(ClientsBase):
    """No --domain, no map: every recipient lands in catchall@localhost."""
    server_kw = dict()

    def test_any_recipient_to_catchall(self):
        tok = token()
        with smtplib.SMTP("127.0.0.1", self.dm.smtp_port, timeout=20) as s:
            refused = s.sendmail("app@myapp.test", ["anyone@anywhere.test", "ray@example.net", "x@localhost"],
                                 "Subject: zero %s\r\n\r\nzero config\r\n" % tok)
        self.assertEqual(refused, {})
        maildir = os.path.join(self.dm.data_dir, "localhost", "catchall", "Maildir")
        files = files_with(maildir, tok)
        self.assertEqual(len(files), 1, files)
        self.assertTrue(files[0].startswith(os.path.join(maildir, "new")), files[0])
        raw = read(files[0])
        self.assertIn(b"zero config", raw)

    def test_swaks_zero_config(self):
        tok, out, _ = self.swaks(to="dev@whatever.invalid")
        maildir = os.path.join(self.dm.data_dir, "localhost", "catchall", "Maildir")
        self.assertEqual(len(files_with(maildir, tok)), 1)


if __name__ == "__main__":
    unittest.main()
