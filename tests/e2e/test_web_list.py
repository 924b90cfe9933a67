"""Browser test of the list side of the web page (web/list.js): tags,
bulk actions over a whole search, release, notifications, favicon badge,
theme and the search box's clear button, in headless Chromium.

tests/e2e/browser/list_test.mjs does the clicking; this file starts two
devmails: the one under test, whose relay_host is the SMTP listener of a
second one (relay_tls none, relay_allowed_recipients *@example.com), so
a released message must arrive in the second one's store.
"""
import os
import unittest

from harness import Devmail
from test_web_browser import BROWSER_MISSING, SHOTS, run_browser_script


@unittest.skipIf(BROWSER_MISSING, "chromium, node or npm not installed")
class WebListTest(unittest.TestCase):
    def test_list_side_in_chromium(self):
        with Devmail(listen=("smtp", "http")) as relay:
            args = ["--relay-host", "127.0.0.1:%d" % relay.smtp_port, "--relay-tls", "none",
                    "--relay-allowed-recipients", "*@example.com"]
            with Devmail(listen=("smtp", "http"), args=args) as dm:
                result = run_browser_script(self, "list_test.mjs",
                                            [dm.ports["http"], dm.smtp_port, relay.ports["http"], SHOTS])
        names = {c["name"] for c in result["checks"]}
        for must in ("phone: choosing a tag filters the list and closes the drawer",
                     "phone: Escape closes the drawer and gives focus back",
                     "the browser's own cancel button is not shown", "tag with a space stored on the message",
                     "sidebar lists the tag with its count", "shift-click selects the range (5 rows)",
                     "all 5 selected messages got both tags", "two tags have different colours",
                     "tag text readable in light (contrast >= 4.5)", "tag text readable in dark (contrast >= 4.5)",
                     "search box shows tag:\"two words\"", "rename reached the server",
                     "tag removed from every message", "tag added to all 60 matches, not only 50",
                     "Read marks all 60 matches read", "delete removed all 60 matches and nothing else",
                     "dialog shows the allow-list", "released message arrived at the relay",
                     "an address outside the allow-list: the server's refusal shown",
                     "a new mail raises a notification with its subject", "favicon has a red badge",
                     "the choice is remembered after a reload", "no JavaScript errors on the page"):
            self.assertIn(must, names)
        for name in ("list-search-clear", "list-tag-dialog", "list-tags", "list-bulk", "list-release", "list-dark"):
            self.assertGreater(os.path.getsize(os.path.join(SHOTS, name + ".png")), 1000)


if __name__ == "__main__":
    unittest.main()
