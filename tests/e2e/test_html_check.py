"""HTML compatibility check from the command line: `devmail check --html`
on mail caught over SMTP (the newest and by API ID, while the server runs),
in Mailpit's html-check JSON shape with --json, a readable summary
without; unsupported features do not fail the check unless --html-min
asks for a share of support.
"""
import json
import unittest
import urllib.error
import urllib.request

from harness import Devmail, devmail_check, send_mail

HTML_MAIL = (
    "From: Shop <news@shop.example>\r\nTo: ann@example.com\r\nSubject: Flex\r\n"
    "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b1\r\n\r\n"
    "--b1\r\nContent-Type: text/plain\r\n\r\nHello\r\n"
    "--b1\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    "<html><head><style>@media (max-width:600px) { .c { width: 100% !important } }</style></head>\r\n"
    "<body><div style=3D\"display: flex; transform: rotate(2deg)\">Sale</div>\r\n"
    "<script>track()</script></body></html>\r\n"
    "--b1--\r\n"
)

TEXT_MAIL = "From: a@b.example\r\nTo: c@d.example\r\nSubject: Plain\r\n\r\nno html here\r\n"




class HtmlCheckCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dm = Devmail(listen=("smtp", "http")).start()

    @classmethod
    def tearDownClass(cls):
        cls.dm.stop()

    def test_api_route_matches_the_cli(self):
        send_mail(self.dm, HTML_MAIL)
        base = "http://127.0.0.1:%d/api/v1/message/latest/html-check" % self.dm.ports["http"]
        with urllib.request.urlopen(base) as f:
            api = json.load(f)
        cli = json.loads(devmail_check(self.dm, "--html", "--json", "latest").stdout)["HTMLCheck"]
        self.assertEqual(api, cli)
        send_mail(self.dm, TEXT_MAIL)
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(base)
        self.assertEqual(e.exception.code, 400)
        self.assertEqual(e.exception.read(), b"message does not contain HTML")

    def test_json_in_mailpits_shape(self):
        send_mail(self.dm, HTML_MAIL)
        r = devmail_check(self.dm, "--html", "--json", "latest")
        self.assertEqual(r.returncode, 0, r.stderr)  # unsupported features are no failure
        rep = json.loads(r.stdout)["HTMLCheck"]
        self.assertEqual(list(rep), ["Warnings", "Platforms", "Total"])
        by = {w["Slug"]: w for w in rep["Warnings"]}
        for slug in ("css-display-flex", "css-transform", "css-at-media", "css-important", "html-script",
                     "html-body", "html-style", "css-unit-percent"):
            self.assertIn(slug, by)
        # <html>, <head>, <meta> aside: style, body, div, script
        self.assertEqual(rep["Total"]["Nodes"], 4)
        flex = by["css-display-flex"]
        self.assertEqual(list(flex), ["Slug", "Title", "Description", "URL", "Category", "Tags", "Keywords",
                                      "Results", "NotesByNumber", "Score", "Line"])
        self.assertEqual(flex["Score"]["Found"], 1)
        self.assertEqual(flex["URL"], "https://www.caniemail.com/features/css-display-flex/")
        gmail = [x for x in flex["Results"] if x["Family"] == "gmail" and x["Platform"] == "desktop-webmail"]
        self.assertTrue(gmail and gmail[0]["Name"].startswith("Gmail Desktop Webmail ("))
        self.assertIn(gmail[0]["Support"], ("yes", "no", "partial"))
        s = flex["Score"]
        self.assertAlmostEqual(s["Supported"] + s["Partial"] + s["Unsupported"], 100, places=3)
        self.assertEqual(by["html-script"]["Score"]["Unsupported"], 100)
        t = rep["Total"]
        self.assertAlmostEqual(t["Supported"] + t["Partial"] + t["Unsupported"], 100, places=3)
        self.assertLess(t["Supported"], 100)
        self.assertIn("Gmail", rep["Platforms"]["android"])

    def test_text_summary_by_id_and_min(self):
        send_mail(self.dm, HTML_MAIL)
        with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/messages" % self.dm.ports["http"]) as f:
            msgs = json.load(f)["messages"]
        mid = [m["ID"] for m in msgs if m["Subject"] == "Flex"][0]
        r = devmail_check(self.dm, "--html", mid)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("css-display-flex", r.stdout)
        self.assertIn("html-script", r.stdout)
        self.assertRegex(r.stdout, r"html compatibility: [0-9.]+% supported, [0-9.]+% partial, "
                                   r"[0-9.]+% not supported \(4 elements\)")
        r = devmail_check(self.dm, "--html-min=99", mid)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        r = devmail_check(self.dm, "--html-min=1", mid)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_no_html(self):
        send_mail(self.dm, TEXT_MAIL)
        r = devmail_check(self.dm, "--html", "latest")
        self.assertEqual(r.returncode, 3)
        self.assertIn("no HTML part", r.stderr)


if __name__ == "__main__":
    unittest.main()
