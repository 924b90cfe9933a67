"""FETCH items and SEARCH keys of RFC 3501 over Python's imaplib, on a
small corpus: an RFC 2047-encoded (UTF-8) subject, a multipart/mixed with
a multipart/alternative and a PDF attachment, a large message, a plain one.
"""
import imaplib
import re
import unittest

from harness import imap_client, recipe_devmail

M1 = ("From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.net>\r\n"
      "To: Bob <bob@example.com>\r\n"
      "Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\n"
      "Date: Sat, 10 Jan 2026 08:00:00 +0100\r\n"
      "Message-ID: <m1@example.net>\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: 8bit\r\n"
      "\r\n"
      "Viel Sonnenschein heute.\r\n").encode("utf-8")

M2 = ("From: Carol <carol@example.org>\r\n"
      "To: Team <team@example.com>\r\n"
      "Cc: Boss <boss@example.com>\r\n"
      "Subject: Quarterly report\r\n"
      "Date: Fri, 20 Feb 2026 16:30:00 +0000\r\n"
      "Message-ID: <m2@example.org>\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
      "\r\n"
      "This is a multi-part message in MIME format.\r\n"
      "--outer\r\n"
      "Content-Type: multipart/alternative; boundary=\"inner\"\r\n"
      "\r\n"
      "--inner\r\n"
      "Content-Type: text/plain; charset=us-ascii\r\n"
      "\r\n"
      "See the attached report.\r\n"
      "--inner\r\n"
      "Content-Type: text/html; charset=us-ascii\r\n"
      "\r\n"
      "<html><body><p>See the <b>attached</b> report.</p></body></html>\r\n"
      "--inner--\r\n"
      "\r\n"
      "--outer\r\n"
      "Content-Type: application/pdf; name=\"report.pdf\"\r\n"
      "Content-Disposition: attachment; filename=\"report.pdf\"\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "\r\n"
      "JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFI+PgpzdHJlYW0K\r\n"
      "--outer--\r\n").encode()

M3 = ("From: Dave <dave@example.com>\r\n"
      "To: all@example.com\r\n"
      "Subject: Large one\r\n"
      "X-Priority: 1\r\n"
      "Date: Mon, 01 Dec 2025 12:00:00 +0000\r\n"
      "Message-ID: <m3@example.com>\r\n"
      "\r\n" + "".join("line %05d of a large message body with some padding text\r\n" % i
                       for i in range(120))).encode()

M4 = ("From: Erin <erin@example.net>\r\n"
      "To: all@example.com\r\n"
      "Subject: Hello world\r\n"
      "Date: Tue, 03 Mar 2026 09:15:00 -0500\r\n"
      "Message-ID: <m4@example.net>\r\n"
      "\r\n"
      "Just saying hello.\r\n").encode()

MESSAGES = [M1, M2, M3, M4]
# INTERNALDATEs (UTC): 2026-01-10, 2026-02-20, 2025-12-01, 2026-03-03
IDATES = [(2026, 1, 10, 7, 0, 0), (2026, 2, 20, 16, 30, 0), (2025, 12, 1, 12, 0, 0), (2026, 3, 3, 14, 15, 0)]


def ok(res):
    typ, data = res
    if typ != "OK":
        raise AssertionError("expected OK, got %s %r" % (typ, data))
    return data


def literal_of(data, label=None):
    """The literal bytes of a one-message FETCH answer."""
    for d in data:
        if isinstance(d, tuple) and (label is None or label in d[0]):
            return d[1]
    raise AssertionError("no literal %r in %r" % (label, data))


class TestFetchSearch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dm = recipe_devmail(listen=("imap",)).start()
        m = imap_client(cls.dm)
        ok(m.create("Corpus"))
        for data, d in zip(MESSAGES, IDATES):
            idate = '"%02d-%s-%04d %02d:%02d:%02d +0000"' % (d[2], ("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov "
                                                                   "Dec").split()[d[1] - 1], d[0], d[3], d[4], d[5])
            ok(m.append("Corpus", None, idate, data))
        m.logout()

    @classmethod
    def tearDownClass(cls):
        cls.dm.__exit__(None, None, None)

    def setUp(self):
        self.m = imap_client(self.dm)
        ok(self.m.select("Corpus"))

    def tearDown(self):
        try:
            self.m.logout()
        except Exception:
            pass

    def fetch1(self, seq, items):
        return ok(self.m.fetch(str(seq), items))

    # ---- FETCH -----------------------------------------------------------

    def test_flags_internaldate_size_uid(self):
        for i, data in enumerate(MESSAGES, 1):
            d = self.fetch1(i, "(UID FLAGS INTERNALDATE RFC822.SIZE)")[0].decode()
            self.assertRegex(d, r"UID %d\b" % i)
            self.assertIn("RFC822.SIZE %d" % len(data), d)
            body = literal_of(self.fetch1(i, "(BODY.PEEK[])"))
            self.assertEqual(body, data)
        d = self.fetch1(2, "(INTERNALDATE)")[0].decode()
        self.assertRegex(d, r'INTERNALDATE "20-Feb-2026 16:30:00 [+-]\d{4}"')

    def test_rfc822_items(self):
        hdr = literal_of(self.fetch1(4, "(RFC822.HEADER)"))
        self.assertEqual(hdr, M4[:M4.index(b"\r\n\r\n") + 4])
        self.assertNotIn(b"\\Seen", self.fetch1(4, "(FLAGS)")[0])  # RFC822.HEADER is BODY.PEEK[HEADER]
        txt = literal_of(self.fetch1(4, "(RFC822.TEXT)"))
        self.assertEqual(txt, b"Just saying hello.\r\n")
        self.assertIn(b"\\Seen", self.fetch1(4, "(FLAGS)")[0])  # RFC822.TEXT is BODY[TEXT]
        ok(self.m.store("4", "-FLAGS", "(\\Seen)"))
        whole = literal_of(self.fetch1(4, "(RFC822)"))
        self.assertEqual(whole, M4)
        self.assertIn(b"\\Seen", self.fetch1(4, "(FLAGS)")[0])  # RFC822 sets \Seen
        ok(self.m.store("4", "-FLAGS", "(\\Seen)"))

    def test_body_peek_does_not_set_seen_body_does(self):
        ok(self.m.store("3", "-FLAGS", "(\\Seen)"))
        self.fetch1(3, "(BODY.PEEK[])")
        self.fetch1(3, "(BODY.PEEK[TEXT])")
        self.assertNotIn(b"\\Seen", self.fetch1(3, "(FLAGS)")[0])
        data = self.fetch1(3, "(BODY[TEXT])")
        flat = b" ".join(d[0] if isinstance(d, tuple) else d for d in data)
        self.assertIn(b"\\Seen", flat)  # the FETCH answer carries the new FLAGS
        self.assertIn(b"\\Seen", self.fetch1(3, "(FLAGS)")[0])
        ok(self.m.store("3", "-FLAGS", "(\\Seen)"))

    def test_envelope(self):
        d = self.fetch1(2, "(ENVELOPE)")[0].decode()
        self.assertIn('ENVELOPE ("Fri, 20 Feb 2026 16:30:00 +0000" "Quarterly report" '
                      '(("Carol" NIL "carol" "example.org")) (("Carol" NIL "carol" "example.org")) '
                      '(("Carol" NIL "carol" "example.org")) (("Team" NIL "team" "example.com")) '
                      '(("Boss" NIL "boss" "example.com")) NIL NIL "<m2@example.org>")', d)
        d = self.fetch1(1, "(ENVELOPE)")[0].decode()
        # header values stay as sent (RFC 2047 encoded words), as Dovecot does
        self.assertIn('"=?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?="', d)
        self.assertIn('"juergen" "example.net"', d)

    def test_body_and_bodystructure_multipart(self):
        # sizes per RFC 2046: the CRLF before a boundary belongs to the boundary
        d = self.fetch1(2, "(BODYSTRUCTURE)")[0].decode().lower()
        self.assertRegex(d, r'bodystructure \(\(\("text" "plain" \("charset" "us-ascii"\) nil nil "7bit" 24 0 ')
        self.assertIn('("text" "html" ("charset" "us-ascii") nil nil "7bit" 64 0 ', d)
        self.assertIn(' "alternative" ("boundary" "inner") nil nil nil)', d)
        self.assertIn('("application" "pdf" ("name" "report.pdf") nil nil "base64" 64 nil '
                      '("attachment" ("filename" "report.pdf")) nil nil)', d)
        self.assertRegex(d, r' "mixed" \("boundary" "outer"\) nil nil nil\)\)$')
        b = self.fetch1(2, "(BODY)")[0].decode().lower()
        self.assertIn(' "alternative")', b)  # no extension data in BODY
        self.assertNotIn("attachment", b)
        self.assertNotIn("boundary", b)
        s = self.fetch1(4, "(BODYSTRUCTURE)")[0].decode().lower()
        self.assertIn('("text" "plain" ("charset" "us-ascii") nil nil "7bit" 20 1 ', s)
        s = self.fetch1(1, "(BODYSTRUCTURE)")[0].decode().lower()
        self.assertIn('("text" "plain" ("charset" "utf-8") nil nil "8bit" 26 1 ', s)

    def test_sections_and_part_numbers(self):
        d = literal_of(self.fetch1(2, "(BODY.PEEK[1.1])"))
        self.assertEqual(d, b"See the attached report.")
        d = literal_of(self.fetch1(2, "(BODY.PEEK[1.2])"))
        self.assertTrue(d.startswith(b"<html>"), d)
        d = literal_of(self.fetch1(2, "(BODY.PEEK[2])"))
        self.assertEqual(d.strip(), b"JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFI+PgpzdHJlYW0K")
        d = literal_of(self.fetch1(2, "(BODY.PEEK[2.MIME])"))
        self.assertTrue(d.startswith(b"Content-Type: application/pdf"), d)
        self.assertTrue(d.endswith(b"\r\n\r\n"), d)
        d = literal_of(self.fetch1(2, "(BODY.PEEK[1.MIME])"))
        self.assertIn(b"multipart/alternative", d)
        d = literal_of(self.fetch1(2, "(BODY.PEEK[1])"))
        self.assertTrue(d.startswith(b"--inner\r\n"), d[:40])
        # a non-multipart message has part 1 = its body
        d = literal_of(self.fetch1(4, "(BODY.PEEK[1])"))
        self.assertEqual(d, b"Just saying hello.\r\n")
        d = literal_of(self.fetch1(2, "(BODY.PEEK[HEADER])"))
        self.assertEqual(d, M2[:M2.index(b"\r\n\r\n") + 4])
        d = literal_of(self.fetch1(2, "(BODY.PEEK[TEXT])"))
        self.assertEqual(d, M2[M2.index(b"\r\n\r\n") + 4:])
        # nonexistent part: empty string
        data = self.fetch1(4, "(BODY.PEEK[5])")
        flat = b"".join(x[0] + x[1] if isinstance(x, tuple) else x for x in data)
        self.assertRegex(flat, rb'BODY\[5\] (""|\{0\})')

    def test_header_fields(self):
        d = literal_of(self.fetch1(2, "(BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])"))
        self.assertEqual(d, b"From: Carol <carol@example.org>\r\nSubject: Quarterly report\r\n\r\n")
        d = literal_of(self.fetch1(2, "(BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT FROM TO CC DATE MESSAGE-ID "
                                      "CONTENT-TYPE)])"))
        self.assertEqual(d, b"MIME-Version: 1.0\r\n\r\n")
        d = literal_of(self.fetch1(2, "(BODY.PEEK[HEADER.FIELDS (X-NOT-THERE)])"))
        self.assertEqual(d, b"\r\n")

    def test_partial(self):
        d = self.fetch1(3, "(BODY.PEEK[]<5.10>)")
        self.assertIn(b"BODY[]<5>", d[0][0])
        self.assertEqual(d[0][1], M3[5:15])
        d = self.fetch1(3, "(BODY.PEEK[TEXT]<0.20>)")
        self.assertIn(b"BODY[TEXT]<0>", d[0][0])
        self.assertEqual(d[0][1], M3[M3.index(b"\r\n\r\n") + 4:][:20])
        # origin beyond the end: empty
        data = self.fetch1(4, "(BODY.PEEK[]<100000.10>)")
        flat = b"".join(x[0] + x[1] if isinstance(x, tuple) else x for x in data)
        self.assertRegex(flat, rb'BODY\[\]<100000> (""|\{0\})')

    def test_macros(self):
        d = self.fetch1(4, "ALL")[0].decode()
        for item in ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"):
            self.assertIn(item, d)
        d = self.fetch1(4, "FAST")[0].decode()
        self.assertIn("RFC822.SIZE", d)
        self.assertNotIn("ENVELOPE", d)
        d = self.fetch1(4, "FULL")[0].decode()
        self.assertIn("ENVELOPE", d)
        self.assertIn("BODY (", d)
        self.assertNotIn("BODYSTRUCTURE", d)

    def test_bad_fetch_is_bad(self):
        for items in ("(NOSUCHITEM)", "(BODY[HEADER.FIELDS])", "(BODY[1.TEXT.2])", "(BODY[]<1.x>)"):
            with self.assertRaisesRegex(imaplib.IMAP4.error, "FETCH command error: BAD"):
                self.m.fetch("1", items)
        ok(self.m.noop())  # the session goes on

    # ---- SEARCH ----------------------------------------------------------

    def s(self, *crit, charset=None, uid=False):
        if uid:
            return ok(self.m.uid("SEARCH", *crit))[0].decode()
        return ok(self.m.search(charset, *crit))[0].decode()

    def test_search_keys(self):
        self.assertEqual(self.s("ALL"), "1 2 3 4")
        self.assertEqual(self.s("2:3"), "2 3")
        self.assertEqual(self.s("2,4:*"), "2 4")
        self.assertEqual(self.s("UID", "1,3"), "1 3")
        self.assertEqual(self.s("SUBJECT", "report"), "2")
        self.assertEqual(self.s("SUBJECT", '"hello WORLD"'), "4")  # case-insensitive substring
        self.assertEqual(self.s("FROM", "carol"), "2")
        self.assertEqual(self.s("FROM", "example.net"), "1 4")
        self.assertEqual(self.s("TO", "team@"), "2")
        self.assertEqual(self.s("CC", "boss"), "2")
        self.assertEqual(self.s("BODY", "sonnenschein"), "1")
        self.assertEqual(self.s("BODY", "report"), "2")  # in the text parts
        self.assertEqual(self.s("TEXT", "Quarterly"), "2")  # header or body
        self.assertEqual(self.s("HEADER", "X-Priority", "1"), "3")
        self.assertEqual(self.s("HEADER", "Message-ID", "m4@"), "4")
        self.assertEqual(self.s("OR", "FROM", "dave", "SUBJECT", "hello"), "3 4")
        self.assertEqual(self.s("NOT", "FROM", "example.net"), "2 3")
        self.assertEqual(self.s("NOT", "OR", "FROM", "dave", "SUBJECT", "hello"), "1 2")
        self.assertEqual(self.s("LARGER", "5000"), "3")
        self.assertEqual(self.s("SMALLER", "600"), "1 4")
        self.assertEqual(self.s("SINCE", "20-Feb-2026"), "2 4")  # INTERNALDATE
        self.assertEqual(self.s("BEFORE", "10-Jan-2026"), "3")
        self.assertEqual(self.s("ON", "10-Jan-2026"), "1")
        self.assertEqual(self.s("SENTSINCE", "1-Mar-2026"), "4")  # Date: header
        self.assertEqual(self.s("SENTBEFORE", "1-Jan-2026"), "3")
        self.assertEqual(self.s("SENTON", "20-Feb-2026"), "2")
        self.assertEqual(self.s("SUBJECT", "nothing-like-this"), "")
        self.assertEqual(self.s("(FROM carol SUBJECT report)"), "2")

    def test_search_flags_and_keywords(self):
        ok(self.m.store("1:*", "-FLAGS.SILENT", "(\\Seen \\Flagged \\Deleted)"))
        ok(self.m.store("1", "+FLAGS", "(\\Flagged $Important)"))
        ok(self.m.store("2", "+FLAGS", "(\\Seen)"))
        try:
            self.assertEqual(self.s("FLAGGED"), "1")
            self.assertEqual(self.s("UNFLAGGED"), "2 3 4")
            self.assertEqual(self.s("KEYWORD", "$Important"), "1")
            self.assertEqual(self.s("UNKEYWORD", "$Important"), "2 3 4")
            self.assertEqual(self.s("SEEN"), "2")
            self.assertEqual(self.s("UNSEEN", "FLAGGED"), "1")
            self.assertEqual(self.s("UNDELETED"), "1 2 3 4")
            self.assertEqual(self.s("DELETED"), "")
        finally:
            ok(self.m.store("1", "-FLAGS", "(\\Flagged $Important)"))
            ok(self.m.store("2", "-FLAGS", "(\\Seen)"))

    def test_search_charset_utf8_encoded_subject(self):
        self.m.literal = "Grüße".encode("utf-8")
        self.assertEqual(ok(self.m.search("UTF-8", "SUBJECT"))[0], b"1")
        self.m.literal = "köln".encode("utf-8")
        self.assertEqual(ok(self.m.search("UTF-8", "SUBJECT"))[0], b"1")  # case-insensitive
        self.m.literal = "Müller".encode("utf-8")
        self.assertEqual(ok(self.m.search("UTF-8", "FROM"))[0], b"1")
        typ, data = self.m._simple_command("SEARCH", "CHARSET", "X-UNKNOWN", "SUBJECT", "x")
        self.assertEqual(typ, "NO")
        self.assertIn(b"BADCHARSET", data[0])

    def test_uid_search_answers_uids(self):
        self.assertEqual(self.s("SUBJECT", "hello", uid=True), "4")
        self.assertEqual(self.s("ALL", uid=True), "1 2 3 4")


if __name__ == "__main__":
    unittest.main()
