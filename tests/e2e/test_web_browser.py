"""Browser tests of the web page: headless Chromium (Debian's `chromium`)
driven by npm `playwright-core`, against a real devmail.

tests/e2e/browser/browser_test.mjs does the clicking (see its header);
this file prepares it (copies it with its package.json into
build/browser_node/ and runs `npm install` there once), starts devmail
with SMTP and HTTP listeners plus a loopback HTTP server standing in for
"the internet" (it records every request, so a remote image or a script
in a hostile mail that reaches out is seen), runs the script and asserts
on its JSON result. Screenshots go to build/test-output/screenshots/.

Skipped only when /usr/bin/chromium, node or npm is missing (scripts/deps.sh
installs them; CI has them).
"""
import http.server
import json
import os
import shutil
import subprocess
import threading
import unittest

from harness import ROOT, Devmail

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "browser")
WORK = os.path.join(ROOT, "build", "browser_node")
SHOTS = os.path.join(ROOT, "build", "test-output", "screenshots")
CHROMIUM = "/usr/bin/chromium"
NPM_TIMEOUT_S = 600
BROWSER_TIMEOUT_S = 150
# 1x1 transparent GIF served for every request to the "remote" server
PIXEL_GIF = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


def pinned_versions():
    with open(os.path.join(SRC, "package.json")) as f:
        return json.load(f)["dependencies"]


def installed_version(name):
    try:
        with open(os.path.join(WORK, "node_modules", name, "package.json")) as f:
            return json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        return None


def prepare():
    os.makedirs(WORK, exist_ok=True)
    for name in os.listdir(SRC):
        if name == "package.json" or name.endswith(".mjs"):
            shutil.copyfile(os.path.join(SRC, name), os.path.join(WORK, name))
    if any(installed_version(name) != version for name, version in pinned_versions().items()):
        env = dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1")
        out = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", WORK], cwd=WORK, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=NPM_TIMEOUT_S)
        if out.returncode != 0:
            raise AssertionError("npm install failed:\n" + out.stdout[-3000:])


class RemoteServer:
    """Loopback HTTP server that answers every path with a tiny image and
    records the paths it was asked for; GET /__hits lists them (JSON)."""

    def __init__(self):
        self.hits = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                path = self.path.split("?", 1)[0]
                if path == "/__hits":
                    with outer.lock:
                        body = json.dumps(outer.hits).encode()
                    ctype = "application/json"
                else:
                    with outer.lock:
                        outer.hits.append(path)
                    body, ctype = PIXEL_GIF, "image/gif"
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_HEAD = _answer

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        return False


BROWSER_MISSING = not os.path.exists(CHROMIUM) or not shutil.which("npm") or not shutil.which("node")


def run_browser_script(test, script, args, timeout=BROWSER_TIMEOUT_S):
    """Run tests/e2e/browser/<script> (after prepare()) with node and the
    given arguments; assert every check it reports passed and return its
    JSON result (see browser_test.mjs for the protocol: the last stdout line
    is {ok, passed, failed, checks:[{name, ok, detail}], ms})."""
    prepare()
    os.makedirs(SHOTS, exist_ok=True)
    out = subprocess.run(["node", script] + [str(a) for a in args], cwd=WORK, capture_output=True, text=True,
                         timeout=timeout, env=dict(os.environ, CHROMIUM=CHROMIUM))
    lines = out.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1])
    except (IndexError, ValueError):
        test.fail("no JSON result from %s (exit %d):\n%s\n%s"
                  % (script, out.returncode, out.stdout[-3000:], out.stderr[-3000:]))
    failed = ["%s: %s" % (c["name"], c["detail"]) for c in result["checks"] if not c["ok"]]
    test.assertEqual(failed, [], "browser checks failed:\n" + "\n".join(failed) + "\n" + out.stderr[-2000:])
    test.assertEqual(out.returncode, 0, out.stderr[-3000:])
    test.assertTrue(result["ok"])
    return result


@unittest.skipIf(BROWSER_MISSING, "chromium, node or npm not installed")
class WebBrowserTest(unittest.TestCase):
    def test_web_page_in_chromium(self):
        with RemoteServer() as remote, Devmail(listen=("smtp", "http")) as dm:
            result = run_browser_script(self, "browser_test.mjs", [dm.ports["http"], dm.smtp_port, remote.port, SHOTS])
            names = {c["name"] for c in result["checks"]}
            for must in ("new mail appears in the list without reload", "HTML rendered inside the sandboxed iframe",
                         "attachment bytes are identical", "inline cid: image displayed in the HTML",
                         "no script ran: messages not deleted",
                         "no request reached the remote server before the user asks",
                         "remote image requested after \"load remote images\"",
                         "clicking a list row still works next to the hostile mail",
                         "subject:\"...\" search filters the list", "j/k move the cursor",
                         "phone: no horizontal scrolling", "deleted message disappears from the list",
                         "delete all empties the mailbox"):
                self.assertIn(must, names)
            # the remote server's own record: only images (and the prefetch
            # Chromium lets through with them, see ALLOWED_REMOTE), only after the click
            with remote.lock:
                hits = list(remote.hits)
            self.assertIn("/remote.png", hits)
            self.assertEqual([h for h in hits if h not in ("/remote.png", "/css-bg.png", "/prefetch")], [])
            for name in ("list-light", "list-dark", "message-light", "message-dark", "phone-list", "phone-message"):
                self.assertGreater(os.path.getsize(os.path.join(SHOTS, name + ".png")), 1000)


if __name__ == "__main__":
    unittest.main()
