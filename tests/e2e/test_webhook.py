"""Webhooks: each new message's summary is POSTed to webhook_url (JSON,
as Mailpit posts it); a failing receiver is retried with backoff, a 4xx is
not retried, and a slow or absent receiver never delays SMTP delivery.
An https:// URL is verified: a receiver whose certificate chains to
webhook_ca_file and names the URL's host gets the POST; one whose
certificate is untrusted or names another host gets nothing, and the log
says why.
"""
import http.server
import json
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

from harness import Devmail, free_port, wait_for


class Receiver:
    """A loopback HTTP server recording POST bodies; answers from a script."""

    def __init__(self, answers=None, delay=0.0, tls=None):
        self.posts = []
        self.answers = list(answers or [])
        self.delay = delay
        rec = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                rec.posts.append((self.path, dict(self.headers), body, time.monotonic()))
                if rec.delay:
                    time.sleep(rec.delay)
                code = rec.answers.pop(0) if rec.answers else 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        if tls:   # (cert file, key file): serve HTTPS
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def send(dm, subject):
    t0 = time.monotonic()
    with smtplib.SMTP("127.0.0.1", dm.smtp_port, timeout=15) as c:
        c.sendmail("app@example.com", ["ann@example.com"], "From: App <app@example.com>\r\nSubject: %s\r\n\r\nhi\r\n" % subject)
    return time.monotonic() - t0


def make_certs(d):
    """A test CA and two server certificates it signs: one for 127.0.0.1
    and localhost, one for other.test only; and a self-signed look-alike
    CA that signs the first name too. Returns the paths."""
    def run(*args):
        subprocess.run(["openssl"] + list(args), cwd=d, check=True, capture_output=True)

    for ca in ("ca", "rogue"):
        run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=devmail test %s" % ca,
            "-keyout", ca + ".key", "-out", ca + ".pem")
    for name, san, ca in (("good", "IP:127.0.0.1,DNS:localhost", "ca"), ("other", "DNS:other.test", "ca"),
                          ("untrusted", "IP:127.0.0.1,DNS:localhost", "rogue")):
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name, "-keyout", name + ".key",
            "-out", name + ".csr")
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write("subjectAltName=%s\n" % san)
        run("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key", "-CAcreateserial",
            "-days", "2", "-extfile", name + ".ext", "-out", name + ".pem")
    return {n: (os.path.join(d, n + ".pem"), os.path.join(d, n + ".key")) for n in ("good", "other", "untrusted")}, \
        os.path.join(d, "ca.pem")


class HttpsWebhookTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="devmail-webhook-tls-")
        try:
            cls.certs, cls.ca = make_certs(cls.dir)
        except Exception:
            shutil.rmtree(cls.dir, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def start(self, cert, url_host="127.0.0.1"):
        rec = Receiver(tls=self.certs[cert])
        self.addCleanup(rec.close)
        dm = Devmail(listen=("smtp",), args=["--webhook-url", "https://%s:%d/hook" % (url_host, rec.port),
                                             "--webhook-ca-file", self.ca, "--webhook-retries", "0"])
        return rec, dm

    def test_verified_receiver_gets_the_post(self):
        for host in ("127.0.0.1", "localhost"):   # by IP address and by name (SNI)
            rec, dm = self.start("good", host)
            with dm:
                send(dm, "over tls")
                self.assertTrue(wait_for(lambda: len(rec.posts) == 1, timeout=15), dm.log_text()[-2000:])
            self.assertEqual(json.loads(rec.posts[0][2])["Subject"], "over tls")
            self.assertEqual(rec.posts[0][0], "/hook")

    def test_untrusted_or_misnamed_certificate_gets_nothing(self):
        for cert, why in (("untrusted", "the server's certificate is refused"),
                          ("other", "the server's certificate is refused")):
            rec, dm = self.start(cert)
            with dm:
                send(dm, "not for you")
                self.assertTrue(wait_for(lambda: why in dm.log_text(), timeout=15), dm.log_text()[-2000:])
                time.sleep(0.5)
            self.assertEqual(rec.posts, [], cert)

    def test_system_trust_store_by_default(self):
        rec = Receiver(tls=self.certs["good"])
        self.addCleanup(rec.close)
        dm = Devmail(listen=("smtp",), args=["--webhook-url", "https://127.0.0.1:%d/" % rec.port,
                                             "--webhook-retries", "0"])
        with dm:
            send(dm, "unknown CA")
            self.assertTrue(wait_for(lambda: "certificate is refused" in dm.log_text(), timeout=15))
        self.assertEqual(rec.posts, [])


class WebhookTest(unittest.TestCase):
    def test_each_new_message_is_posted(self):
        rec = Receiver()
        self.addCleanup(rec.close)
        dm = Devmail(listen=("smtp",), args=["--webhook-url", "http://127.0.0.1:%d/hook?x=1" % rec.port])
        with dm:
            send(dm, "first")
            send(dm, "second")
            self.assertTrue(wait_for(lambda: len(rec.posts) == 2, timeout=15))
        path, headers, body, _ = rec.posts[0]
        self.assertEqual(path, "/hook?x=1")
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertTrue(headers["User-Agent"].startswith("devmail/"))
        first = json.loads(body)
        self.assertEqual(first["Subject"], "first")
        self.assertEqual(first["From"]["Address"], "app@example.com")
        self.assertTrue(first["ID"])
        self.assertEqual(json.loads(rec.posts[1][2])["Subject"], "second")

    def test_failures_are_retried_with_backoff(self):
        rec = Receiver(answers=[503, 500, 200])
        self.addCleanup(rec.close)
        dm = Devmail(listen=("smtp",), args=["--webhook-url", "http://127.0.0.1:%d/" % rec.port])
        with dm:
            send(dm, "retry me")
            self.assertTrue(wait_for(lambda: len(rec.posts) == 3, timeout=20))
            t = [p[3] for p in rec.posts]
            self.assertGreaterEqual(t[1] - t[0], 0.9)  # 1 s, then 2 s
            self.assertGreaterEqual(t[2] - t[1], 1.9)
            time.sleep(1.5)
            self.assertEqual(len(rec.posts), 3)  # delivered: no more
            self.assertEqual({json.loads(p[2])["Subject"] for p in rec.posts}, {"retry me"})

    def test_client_errors_are_not_retried(self):
        rec = Receiver(answers=[404])
        self.addCleanup(rec.close)
        dm = Devmail(listen=("smtp",), args=["--webhook-url", "http://127.0.0.1:%d/" % rec.port])
        with dm:
            send(dm, "gone")
            self.assertTrue(wait_for(lambda: len(rec.posts) == 1, timeout=15))
            self.assertTrue(wait_for(lambda: "answered 404; dropping" in dm.log_text(), timeout=15))
            send(dm, "next")
            self.assertTrue(wait_for(lambda: len(rec.posts) == 2, timeout=15))

    def test_slow_or_absent_receiver_never_delays_delivery(self):
        rec = Receiver(delay=3.0)
        self.addCleanup(rec.close)
        dm = Devmail(listen=("smtp",), args=["--webhook-url", "http://127.0.0.1:%d/" % rec.port])
        with dm:
            times = [send(dm, "slow %d" % i) for i in range(5)]
            self.assertLess(max(times), 2.0, times)
        port = free_port()  # nothing listens there
        dm = Devmail(listen=("smtp",), args=["--webhook-url", "http://127.0.0.1:%d/" % port,
                                             "--webhook-retries", "1"])
        with dm:
            times = [send(dm, "nobody %d" % i) for i in range(5)]
            self.assertLess(max(times), 2.0, times)
            self.assertTrue(wait_for(lambda: "dropping the notification" in dm.log_text(), timeout=15))


if __name__ == "__main__":
    unittest.main()
