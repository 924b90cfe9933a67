"""SIGHUP applies every reloadable key through one path: a changed
http_passdb is read again (and logins cached on an open keep-alive
connection are checked again), a changed restart-only key such as
https_listen is logged and kept, a number outside its key's bounds keeps
the running configuration. Also the per-protocol keys that replaced
literals: imap_max_bad_commands, pop3_max_bad_commands and
pop3_plaintext_login.
"""
import base64
import http.client
import os
import poplib
import signal
import socket
import unittest

from harness import Devmail, wait_for


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def status(conn, auth):
    conn.request("GET", "/api/v1/messages", headers={"Authorization": auth})
    r = conn.getresponse()
    r.read()
    return r.status


class ReloadTest(unittest.TestCase):
    def test_http_passdb_is_read_again(self):
        dm = Devmail(listen=("http",), config="")
        path = os.path.join(dm.tmp, "http-passdb")
        with open(path, "w") as f:
            f.write("ann@example.com:{PLAIN}first\n")
        dm.args += ["--http-passdb", path]
        with dm:
            conn = http.client.HTTPConnection("127.0.0.1", dm.ports["http"], timeout=15)
            self.assertEqual(status(conn, basic("ann@example.com", "first")), 200)
            with open(path, "w") as f:
                f.write("ann@example.com:{PLAIN}second\n")
            dm.proc.send_signal(signal.SIGHUP)
            self.assertTrue(wait_for(lambda: "reloaded the configuration" in dm.log_text()))
            # the same keep-alive connection: its cached login is checked again
            self.assertEqual(status(conn, basic("ann@example.com", "first")), 401)
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", dm.ports["http"], timeout=15)
            self.assertEqual(status(conn, basic("ann@example.com", "second")), 200)
            # a broken file keeps the accounts in force
            with open(path, "w") as f:
                f.write("not a passwd-file line\n")
            dm.proc.send_signal(signal.SIGHUP)
            self.assertTrue(wait_for(lambda: "reload: http_passdb:" in dm.log_text()))
            self.assertIn("keeping the old configuration", dm.log_text())
            self.assertEqual(status(conn, basic("ann@example.com", "second")), 200)
            conn.close()

    def test_restart_only_keys_are_logged_and_kept(self):
        dm = Devmail(listen=("smtp",), config="")
        conf = os.path.join(dm.tmp, "devmail.conf")
        i = dm.args.index("--https-listen")  # the file, not a flag, sets it here
        del dm.args[i:i + 2]
        with dm:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            s.close()
            with open(conf, "w") as f:
                f.write("https_listen = 127.0.0.1:%d\n" % port)
            dm.proc.send_signal(signal.SIGHUP)
            self.assertTrue(wait_for(lambda: "reloaded the configuration" in dm.log_text()))
            self.assertIn("https_listen changed; it takes effect at restart", dm.log_text())
            self.assertIn("restart-only settings kept their running values", dm.log_text())
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=2).close()

    def test_out_of_bounds_value_keeps_running_config(self):
        dm = Devmail(listen=("smtp",), config="message_size_limit = 5000\n")
        conf = os.path.join(dm.tmp, "devmail.conf")
        with dm:
            with open(conf, "w") as f:
                f.write("message_size_limit = 100\n")
            dm.proc.send_signal(signal.SIGHUP)
            self.assertTrue(wait_for(lambda: "keeping the old one" in dm.log_text()))
            self.assertIn("message_size_limit must be at least 1024", dm.log_text())
            s = socket.create_connection(("127.0.0.1", dm.smtp_port), timeout=15)
            f = s.makefile("rb")
            f.readline()
            s.sendall(b"EHLO x\r\n")
            lines = [f.readline()]
            while lines[-1][3:4] == b"-":
                lines.append(f.readline())
            self.assertIn(b"250-SIZE 5000\r\n", lines)
            s.close()


class ProtocolKeysTest(unittest.TestCase):
    def test_imap_max_bad_commands(self):
        dm = Devmail(listen=("imap",), args=["--imap-max-bad-commands", "3"])
        with dm:
            s = socket.create_connection(("127.0.0.1", dm.ports["imap"]), timeout=15)
            f = s.makefile("rb")
            f.readline()
            replies = []
            for i in range(3):
                s.sendall(b"a%d FOO\r\n" % i)
                replies.append(f.readline())
            self.assertTrue(all(b" BAD " in r for r in replies), replies)
            rest = f.read()  # the server says BYE and closes
            self.assertIn(b"* BYE", rest)
            s.close()

    def test_pop3_max_bad_commands(self):
        dm = Devmail(listen=("pop3",), args=["--pop3-max-bad-commands", "2"])
        with dm:
            s = socket.create_connection(("127.0.0.1", dm.ports["pop3"]), timeout=15)
            f = s.makefile("rb")
            f.readline()
            s.sendall(b"FOO\r\n")
            self.assertTrue(f.readline().startswith(b"-ERR"))
            s.sendall(b"BAR\r\n")
            self.assertTrue(f.readline().startswith(b"-ERR"))
            self.assertIn(b"Too many bad commands", f.read())  # and closed after the second
            s.close()

    def test_pop3_plaintext_login_is_its_own_key(self):
        passdb = "ann@example.com:{PLAIN}pw\n"
        dm = Devmail(listen=("pop3", "imap"), passdb=passdb, args=["--pop3-plaintext-login", "no"])
        with dm:
            p = poplib.POP3("127.0.0.1", dm.ports["pop3"], timeout=15)
            caps = p.capa()
            self.assertNotIn("USER", caps)
            with self.assertRaises(poplib.error_proto):
                p.user("ann@example.com")
                p.pass_("pw")
            p.quit()
            # IMAP keeps its own setting (yes by default)
            s = socket.create_connection(("127.0.0.1", dm.ports["imap"]), timeout=15)
            f = s.makefile("rb")
            f.readline()
            s.sendall(b"a LOGIN ann@example.com pw\r\n")
            line = f.readline()
            while line.startswith(b"*"):
                line = f.readline()
            self.assertTrue(line.startswith(b"a OK"), line)
            s.close()


if __name__ == "__main__":
    unittest.main()
