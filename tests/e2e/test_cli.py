"""The devmail command line: check-config, config errors, unknown flags,
`devmail passwd` (and its output working as a passdb line for SMTP AUTH),
a taken port, and the precedence flag > DEVMAIL_* environment > file.
"""
import os
import re
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
import unittest

from harness import BIN, ROOT, Devmail, free_port, wait_port

LISTENERS_OFF = []
for _p in ("smtp", "smtps", "imap", "imaps", "pop3", "pop3s", "http"):
    LISTENERS_OFF += ["--%s-listen" % _p, ""]


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVMAIL_") or k == "DEVMAIL_BIN"}
    env.pop("DEVMAIL_BIN", None)
    env.update(extra)
    return env


def devmail(*args, env=None, input=None, timeout=30):
    return subprocess.run([BIN] + list(args), capture_output=True, cwd=ROOT, env=env or clean_env(),
                          input=input, timeout=timeout)


def reference_keys():
    r = devmail("check-config", "--reference")
    keys = re.findall(r"^\| `([a-z0-9_]+)` \|", r.stdout.decode(), re.M)
    return keys


def effective(stdout):
    """check-config output as a dict key -> value."""
    out = {}
    for line in stdout.decode().splitlines():
        if " = " in line:
            k, v = line.split(" = ", 1)
            out[k.strip()] = v
        elif line.rstrip().endswith(" ="):
            out[line.rstrip()[:-2].strip()] = ""
    return out


class CheckConfig(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="devmail-cli-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_reference_lists_keys(self):
        keys = reference_keys()
        self.assertGreater(len(keys), 20)
        for k in ("hostname", "data_dir", "domain", "recipient_map", "passdb", "smtp_listen", "smtps_listen",
                  "imap_listen", "http_listen", "message_size_limit", "smtp_max_line_length",
                  "smtp_max_recipients", "smtp_max_bad_commands", "smtp_idle_timeout",
                  "max_connections", "max_connections_per_ip", "smtp_auth", "tls_cert", "tls_key"):
            self.assertIn(k, keys)

    def test_check_config_prints_every_key(self):
        r = devmail("check-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        eff = effective(r.stdout)
        for k in reference_keys():
            self.assertIn(k, eff, "check-config does not print %s" % k)
        self.assertEqual(eff["message_size_limit"], "10240000")
        self.assertEqual(eff["smtp_listen"], "127.0.0.1:1025")

    def test_check_config_recipe(self):
        r = devmail("check-config", "-c", "examples/recipe.conf")
        self.assertEqual(r.returncode, 0, r.stderr)
        eff = effective(r.stdout)
        self.assertEqual(eff["hostname"], "devmail.example.com")
        self.assertEqual(eff["domain"], "example.com")
        self.assertEqual(eff["message_size_limit"], "10240000")
        self.assertEqual(eff["retention"], "7d")
        self.assertEqual(eff["passdb"], "examples/example.com-passdb")

    def test_check_config_comments_and_blank_lines(self):
        path = self.write("ok2.conf", "# a comment\n\n   hostname=mail.test\nsmtp_max_recipients = 7\n")
        r = devmail("check-config", "-c", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        eff = effective(r.stdout)
        self.assertEqual(eff["hostname"], "mail.test")
        self.assertEqual(eff["smtp_max_recipients"], "7")

    def assert_config_error(self, text, line, reason_re):
        path = self.write("bad.conf", text)
        r = devmail("check-config", "-c", path)
        self.assertNotEqual(r.returncode, 0)
        err = r.stderr.decode().strip()
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertIn("%s:%d: " % (path, line), err)
        self.assertRegex(err, reason_re)
        # the server refuses to start with the same file, with the same reason
        s = devmail("-c", path, "--data-dir", os.path.join(self.tmp, "data"), *LISTENERS_OFF, timeout=10)
        self.assertNotEqual(s.returncode, 0)
        self.assertIn("%s:%d: " % (path, line), s.stderr.decode())

    def test_unknown_key(self):
        self.assert_config_error("hostname = a.test\nbogus_key = 1\n", 2, r"bogus_key")

    def test_bad_number(self):
        self.assert_config_error("# x\nhostname = a.test\n\nsmtp_max_recipients = abc\n", 4, r"smtp_max_recipients")

    def test_missing_equals(self):
        self.assert_config_error("hostname a.test\n", 1, r"key = value|=")

    def test_bad_size_and_duration(self):
        self.assert_config_error("message_size_limit = lots\n", 1, r"message_size_limit")
        self.assert_config_error("smtp_idle_timeout = soon\n", 1, r"smtp_idle_timeout")

    def test_missing_config_file(self):
        r = devmail("check-config", "-c", os.path.join(self.tmp, "nope.conf"))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("nope.conf", r.stderr.decode())

    def test_unknown_flag(self):
        for args in (("check-config", "--no-such-flag", "1"), ("--no-such-flag", "1")):
            r = devmail(*args, timeout=10)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("--no-such-flag", r.stderr.decode())

    def test_bad_flag_value(self):
        r = devmail("check-config", "--smtp-max-recipients", "-5")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("smtp_max_recipients", r.stderr.decode())

    def test_precedence_flag_env_file(self):
        path = self.write("p.conf", "hostname = file.test\nsmtp_max_recipients = 11\nsmtp_idle_timeout = 7m\n")
        r = devmail("check-config", "-c", path)
        eff = effective(r.stdout)
        self.assertEqual((eff["hostname"], eff["smtp_max_recipients"]), ("file.test", "11"))
        env = clean_env(DEVMAIL_HOSTNAME="env.test", DEVMAIL_SMTP_MAX_RECIPIENTS="22")
        eff = effective(devmail("check-config", "-c", path, env=env).stdout)
        self.assertEqual((eff["hostname"], eff["smtp_max_recipients"], eff["smtp_idle_timeout"]),
                         ("env.test", "22", "7m"))
        r = devmail("check-config", "-c", path, "--hostname", "flag.test", env=env)
        eff = effective(r.stdout)
        self.assertEqual((eff["hostname"], eff["smtp_max_recipients"]), ("flag.test", "22"))
        # a bad environment value is reported naming the variable or key
        r = devmail("check-config", env=clean_env(DEVMAIL_SMTP_MAX_RECIPIENTS="many"))
        self.assertNotEqual(r.returncode, 0)
        self.assertRegex(r.stderr.decode(), r"DEVMAIL_SMTP_MAX_RECIPIENTS|smtp_max_recipients")

    def test_env_and_flag_reach_the_server(self):
        """The running server uses env over file and flag over env."""
        path = self.write("srv.conf", "hostname = file.test\n")
        port = free_port()
        data = os.path.join(self.tmp, "data")
        args = [BIN, "-c", path, "--data-dir", data] + LISTENERS_OFF + ["--smtp-listen", "127.0.0.1:%d" % port]
        for extra, env, want in (([], clean_env(), "file.test"),
                                 ([], clean_env(DEVMAIL_HOSTNAME="env.test"), "env.test"),
                                 (["--hostname", "flag.test"], clean_env(DEVMAIL_HOSTNAME="env.test"), "flag.test")):
            p = subprocess.Popen(args + extra, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                wait_port(port, proc=p)
                with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                    greeting = s.recv(1000).decode()
                self.assertTrue(greeting.startswith("220 %s ESMTP" % want), greeting)
            finally:
                p.terminate()
                p.wait(timeout=20)
                p.stderr.close()
            self.assertEqual(p.returncode, 0)


class Passwd(unittest.TestCase):

    def hash_line(self, password, *args):
        r = devmail("passwd", *args, input=(password + "\n").encode())
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode().strip()
        self.assertEqual(len(out.splitlines()), 1, out)
        if "PLAIN" not in args:
            self.assertNotIn(password, out)
        return out

    def test_passwd_default_sha512(self):
        h = self.hash_line("s3-cret")
        self.assertRegex(h, r"^\{SHA512-CRYPT\}\$6\$[./A-Za-z0-9]+\$[./A-Za-z0-9]{86}$")
        # salted: two runs differ
        self.assertNotEqual(h, self.hash_line("s3-cret"))

    def test_passwd_with_user(self):
        h = self.hash_line("s3-cret", "all@example.com")
        self.assertTrue(h.startswith("all@example.com:{SHA512-CRYPT}$6$"), h)

    def test_passwd_schemes(self):
        # "-" is outside the crypt hash alphabet, so hash_line's check that
        # the password does not show in the output cannot match by chance
        self.assertRegex(self.hash_line("p-w", "-s", "SHA256-CRYPT"), r"^\{SHA256-CRYPT\}\$5\$")
        self.assertRegex(self.hash_line("p-w", "-s", "BLF-CRYPT"), r"^\{BLF-CRYPT\}\$2[aby]\$")
        self.assertEqual(self.hash_line("p-w", "-s", "PLAIN"), "{PLAIN}p-w")

    def test_passwd_lines_work_for_smtp_auth(self):
        users = {
            "a@example.com": ("pa-ss word", []),
            "b@example.com": ("b-secret", ["-s", "SHA256-CRYPT"]),
            "c@example.com": ("c-secret", ["-s", "BLF-CRYPT"]),
        }
        passdb = ""
        for user, (pw, opts) in users.items():
            passdb += "%s:%s\n" % (user, self.hash_line(pw, *opts))
        # a user line made by `passwd USER` directly, with Dovecot extra fields after it
        passdb += self.hash_line("d-secret", "d@example.com") + "::::::userdb_quota_rule=*:storage=1G\n"
        users["d@example.com"] = ("d-secret", [])
        with Devmail(domains=["example.com"], recipient_map="@example.com example.com/all/Maildir/\n",
                     passdb=passdb, listen=("smtp",),
                     args=["--smtp-auth", "required", "--auth-failure-delay-ms", "100"]) as dm:
            for user, (pw, _) in users.items():
                with smtplib.SMTP("127.0.0.1", dm.smtp_port, timeout=20) as s:
                    code, _ = s.login(user, pw)
                    self.assertEqual(code, 235, user)
                    s.sendmail(user, ["someone@example.com"], "Subject: from %s\r\n\r\nx\r\n" % user)
                with smtplib.SMTP("127.0.0.1", dm.smtp_port, timeout=20) as s:
                    with self.assertRaises(smtplib.SMTPAuthenticationError):
                        s.login(user, pw + "x")
            self.assertEqual(len(dm.read_messages("all@example.com")), len(users))


class Startup(unittest.TestCase):

    def test_port_taken(self):
        busy = socket.socket()
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        tmp = tempfile.mkdtemp(prefix="devmail-cli-")
        try:
            t0 = time.monotonic()
            r = devmail("--data-dir", os.path.join(tmp, "data"), *LISTENERS_OFF,
                        "--smtp-listen", "127.0.0.1:%d" % port, timeout=20)
            self.assertLess(time.monotonic() - t0, 15)
            self.assertNotEqual(r.returncode, 0)
            lines = [l for l in r.stderr.decode().splitlines() if l.strip()]
            self.assertTrue(lines)
            last = lines[-1]
            self.assertIn("127.0.0.1:%d" % port, last)
            self.assertRegex(last, r"(?i)in use|bind|listen")
            self.assertEqual(sum(1 for l in lines if str(port) in l), 1, lines)
        finally:
            busy.close()
            shutil.rmtree(tmp, True)

    def test_bad_listen_address(self):
        tmp = tempfile.mkdtemp(prefix="devmail-cli-")
        try:
            r = devmail("--data-dir", os.path.join(tmp, "data"), *LISTENERS_OFF,
                        "--smtp-listen", "127.0.0.1:notaport", timeout=20)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("notaport", r.stderr.decode())
        finally:
            shutil.rmtree(tmp, True)

    def test_sigterm_exits_zero(self):
        with Devmail(listen=("smtp",)) as dm:
            with smtplib.SMTP("127.0.0.1", dm.smtp_port, timeout=10) as s:
                s.noop()
            self.assertEqual(dm.stop(), 0)

    def test_help(self):
        r = devmail("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn(b"check-config", r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
