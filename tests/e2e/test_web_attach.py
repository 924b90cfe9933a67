"""Browser test of the attachments on the web page (web/attach.js): a mail
with an image, a PDF, an .ics invitation and a forwarded message (holding
a file and another forwarded message) is sent over SMTP, and
tests/e2e/browser/attach_test.mjs checks in headless Chromium what the
user sees: icons, sizes and thumbnails, the invitation card in local time,
the PDF preview and image lightbox, downloads' bytes, and the forwarded
messages opened in place with a way back. Screenshots: attach-*.png in
build/test-output/screenshots/."""
import base64
import json
import os
import tempfile
import unittest

import attach_mails as mails
from harness import Devmail, send_mail
from test_web_browser import BROWSER_MISSING, SHOTS, run_browser_script


@unittest.skipIf(BROWSER_MISSING, "chromium, node or npm not installed")
class WebAttachTest(unittest.TestCase):
    def test_attachments_in_chromium(self):
        with Devmail(listen=("smtp", "http")) as dm, tempfile.TemporaryDirectory() as tmp:
            send_mail(dm, mails.outer_mail())
            expect = {
                "outer_subject": mails.OUTER_SUBJECT,
                "inner_subject": mails.INNER_SUBJECT,
                "innermost_subject": mails.INNERMOST_SUBJECT,
                "invite_summary": mails.INVITE_SUMMARY,
                "invite_start_utc": mails.INVITE_START_UTC,
                "pdf_b64": base64.b64encode(mails.PDF).decode(),
                "pdf_size_text": "%d B" % len(mails.PDF),
                "notes_b64": base64.b64encode(mails.NOTES).decode(),
            }
            path = os.path.join(tmp, "expect.json")
            with open(path, "w") as f:
                json.dump(expect, f)
            result = run_browser_script(self, "attach_test.mjs", [dm.ports["http"], path, SHOTS])
            names = {c["name"] for c in result["checks"]}
            for must in ("one entry per attachment, kind by content type", "image thumbnail from /part/{PartID}/thumb",
                         "time shown in local time (New York)", "card shows the title", "organiser shown",
                         "preview URL serves the PDF bytes", "lightbox shows the full image (60x40)",
                         "downloaded PDF bytes are identical", "attached HTML rendered",
                         "its attachment downloads with the right bytes", "back again shows the outer message"):
                self.assertIn(must, names)
            for name in ("attach-list", "attach-pdf", "attach-lightbox", "attach-forwarded", "attach-dark", "attach-phone"):
                self.assertGreater(os.path.getsize(os.path.join(SHOTS, name + ".png")), 1000)


if __name__ == "__main__":
    unittest.main()
