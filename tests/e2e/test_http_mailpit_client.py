"""The npm `mailpit-api` client, installed from npm, run unchanged against
devmail: list, get, search, delete, raw (plus send, read status, tags and
the HTML/text views). The package is installed once into
build/mailpit_client/ (npm install --no-audit --no-fund); the test is
skipped only when node or npm is missing.
"""
import os
import shutil
import smtplib
import subprocess
import unittest

from harness import ROOT, Devmail

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "mailpit_client")
WORK = os.path.join(ROOT, "build", "mailpit_client")


def prepare():
    os.makedirs(WORK, exist_ok=True)
    for name in ("package.json", "client_test.mjs"):
        shutil.copyfile(os.path.join(SRC, name), os.path.join(WORK, name))
    if not os.path.isdir(os.path.join(WORK, "node_modules", "mailpit-api")):
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=WORK, check=True, timeout=600,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@unittest.skipIf(not shutil.which("npm") or not shutil.which("node"), "node/npm not installed")
class MailpitClientTest(unittest.TestCase):
    def test_mailpit_api_client_unchanged(self):
        prepare()
        with Devmail(listen=("smtp", "http")) as dm:
            s = smtplib.SMTP("127.0.0.1", dm.ports["smtp"], timeout=10)
            s.sendmail("smtp@example.test", ["user@example.test"],
                       b"From: smtp@example.test\r\nTo: user@example.test\r\nSubject: From SMTP\r\n\r\nhi\r\n")
            s.quit()
            out = subprocess.run(["node", "client_test.mjs", "http://127.0.0.1:%d" % dm.ports["http"]], cwd=WORK,
                                 capture_output=True, text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            self.assertEqual(out.stdout.strip(), "ok")


if __name__ == "__main__":
    unittest.main()
