"""Accessibility of the web page in headless Chromium: axe-core (npm,
pinned in tests/e2e/browser/package.json) finds no serious or critical
violation in any state (list, message open with each tab, the dialogs,
dark, phone width), and a Tab walk reaches every control, each with an
accessible name. The "Connect a mail client" dialog shows the settings
as a table (from /client-setup.json), for a typed address, with the Apple
profile and the local CA as downloads. The browser side is tests/e2e/browser/a11y_test.mjs.
"""
import os
import unittest

from harness import Devmail
from test_web_browser import BROWSER_MISSING, SHOTS, run_browser_script


@unittest.skipIf(BROWSER_MISSING, "chromium, node or npm not installed")
class WebA11yTest(unittest.TestCase):
    def test_axe_and_keyboard(self):
        with Devmail(listen=("smtp", "imap", "http")) as dm:
            result = run_browser_script(self, "a11y_test.mjs", [dm.ports["http"], dm.smtp_port, SHOTS])
        names = {c["name"] for c in result["checks"]}
        for state in ("list", "message, tab html", "message, tab text", "message, tab headers", "message, tab raw",
                      "setup dialog", "confirm dialog", "dark, list", "dark, message", "phone, list",
                      "phone, message"):
            self.assertIn("axe: no serious or critical violation (%s)" % state, names)
        for state in ("list", "message open", "setup dialog", "phone, message"):
            self.assertTrue(any(n.startswith("keyboard: Tab reaches every control (%s," % state) for n in names), state)
        self.assertIn("keyboard: the focused list opens a message with Enter", names)
        for must in ("setup table: a row for the SMTP listener with host, port and security",
                     "setup table: the typed address becomes the user name",
                     "the Apple profile link gives a plist for the typed address",
                     "the local CA certificate is linked"):
            self.assertIn(must, names)
        for name in ("list", "message-html", "message-headers", "setup-dialog", "confirm-dialog", "setup-table", "dark-list",
                     "phone-list", "phone-message"):
            self.assertGreater(os.path.getsize(os.path.join(SHOTS, "a11y-%s.png" % name)), 1000, name)


if __name__ == "__main__":
    unittest.main()
