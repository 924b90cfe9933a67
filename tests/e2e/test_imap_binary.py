"""IMAP BINARY (RFC 3516): FETCH BINARY[part]<partial>, BINARY.PEEK and
BINARY.SIZE give a part's content with its Content-Transfer-Encoding
undone (base64, quoted-printable), NO [UNKNOWN-CTE] for an encoding that
cannot be undone, and APPEND takes a literal8 ~{n} whose binary parts come
back byte for byte."""
import base64
import re
import unittest

from harness import ImapRaw, recipe_devmail

PAYLOAD = bytes(range(256)) + b"\r\n\x00end"

MESSAGE = (b"From: a@example.com\r\n"
           b"Subject: binary test\r\n"
           b"MIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
           b"\r\n"
           b"--b1\r\n"
           b"Content-Type: text/plain\r\n"
           b"\r\n"
           b"plain text\r\n"
           b"--b1\r\n"
           b"Content-Type: application/octet-stream\r\n"
           b"Content-Transfer-Encoding: base64\r\n"
           b"\r\n" +
           base64.encodebytes(PAYLOAD).replace(b"\n", b"\r\n") +
           b"--b1\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n"
           b"Content-Transfer-Encoding: Quoted-Printable\r\n"
           b"\r\n"
           b"caf=C3=A9 au lait=\r\n"
           b" soft   \r\n"
           b"padded = \t\r\n"
           b"end\r\n"
           b"--b1\r\n"
           b"Content-Type: text/plain\r\n"
           b"Content-Transfer-Encoding: x-unknown\r\n"
           b"\r\n"
           b"???\r\n"
           b"--b1--\r\n")


class Binary(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dm = recipe_devmail(listen=("smtp", "imap")).start()
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.dm.__exit__(None, None, None)

    def box(self, data=MESSAGE, literal8=False):
        Binary.n += 1
        name = "bin%d" % Binary.n
        c = ImapRaw.logged_in(self, self.dm.ports["imap"])
        u, t = c.cmd("CREATE " + name)
        self.assertIn(" OK", t)
        u, t = c.cmd(b"APPEND " + name.encode() + b" " + (b"~" if literal8 else b"") +
                     b"{%d+}\r\n" % len(data) + data)
        self.assertIn(" OK", t)
        u, t = c.cmd("SELECT " + name)
        self.assertIn(" OK", t)
        return c

    def fetch(self, c, items, ok=True):
        u, t = c.cmd("FETCH 1 " + items)
        if ok:
            self.assertRegex(t, r"^\S+ OK", (u, t))
        return b"".join(u), t

    def literal(self, out, name):
        """The bytes of item name (e.g. b"BINARY[2]") and whether it was a literal8."""
        m = re.search(re.escape(name) + rb" (~?)\{(\d+)\}\r\n", out)
        self.assertTrue(m, out[:300])
        start = m.end()
        return out[start:start + int(m.group(2))], m.group(1) == b"~"

    def test_capability(self):
        u, t = ImapRaw.logged_in(self, self.dm.ports["imap"]).cmd("CAPABILITY")
        self.assertIn(b" BINARY", u[0])

    def test_base64_part_is_decoded(self):
        c = self.box()
        out, t = self.fetch(c, "(BINARY.SIZE[2] BINARY.PEEK[2])")
        self.assertIn(b"BINARY.SIZE[2] %d" % len(PAYLOAD), out)
        data, lit8 = self.literal(out, b"BINARY[2]")
        self.assertEqual(data, PAYLOAD)
        self.assertTrue(lit8)  # it holds NUL bytes: a literal8
        # the same part as stored (BODY) is base64 text
        out, t = self.fetch(c, "(BODY.PEEK[2])")
        data, lit8 = self.literal(out, b"BODY[2]")
        self.assertEqual(base64.decodebytes(data), PAYLOAD)

    def test_partial_is_of_the_decoded_bytes(self):
        c = self.box()
        out, t = self.fetch(c, "(BINARY.PEEK[2]<65.10>)")
        data, lit8 = self.literal(out, b"BINARY[2]<65>")
        self.assertEqual(data, PAYLOAD[65:75])
        self.assertFalse(lit8)  # no NUL in this piece

    def test_quoted_printable_part_is_decoded(self):
        c = self.box()
        out, t = self.fetch(c, "(BINARY.PEEK[3] BINARY.SIZE[3])")
        data, _ = self.literal(out, b"BINARY[3]")
        want = "café au lait soft\r\npadded end".encode()  # the CRLF before the boundary is the boundary's
        self.assertEqual(data, want)
        self.assertIn(b"BINARY.SIZE[3] %d" % len(want), out)

    def test_identity_parts_and_whole_message(self):
        c = self.box()
        out, t = self.fetch(c, "(BINARY.PEEK[1] BINARY.PEEK[] BINARY.SIZE[])")
        self.assertEqual(self.literal(out, b"BINARY[1]")[0], b"plain text")
        self.assertEqual(self.literal(out, b"BINARY[]")[0], MESSAGE)
        self.assertIn(b"BINARY.SIZE[] %d" % len(MESSAGE), out)

    def test_missing_part_is_nil(self):
        c = self.box()
        out, t = self.fetch(c, "(BINARY.PEEK[9] BINARY.SIZE[9])")
        self.assertIn(b"BINARY[9] NIL", out)
        self.assertIn(b"BINARY.SIZE[9] NIL", out)

    def test_unknown_encoding(self):
        c = self.box()
        out, t = self.fetch(c, "(BINARY.PEEK[4])", ok=False)
        self.assertRegex(t, r"^\S+ NO \[UNKNOWN-CTE\]")
        self.assertNotIn(b"BINARY[4]", out)
        # BODY of the same part is fine
        out, t = self.fetch(c, "(BODY.PEEK[4])")
        self.assertIn(b"???", out)

    def test_only_part_numbers(self):
        c = self.box()
        for items in ("(BINARY[1.MIME])", "(BINARY.PEEK[HEADER])", "(BINARY[1.TEXT])",
                      "(BINARY.SIZE[1]<0.5>)", "(BINARY[0])"):
            out, t = self.fetch(c, items, ok=False)
            self.assertRegex(t, r"^\S+ BAD", items)

    def test_binary_sets_seen_peek_does_not(self):
        c = self.box()
        out, t = self.fetch(c, "(BINARY.PEEK[1] BINARY.SIZE[1])")
        out, t = self.fetch(c, "(FLAGS)")
        self.assertNotIn(b"\\Seen", out)
        out, t = self.fetch(c, "(BINARY[1])")
        self.assertIn(b"\\Seen", out)

    def test_append_literal8_keeps_binary_bytes(self):
        raw = b"\x00-\xe4\n\r\n\x00\xff\r"
        msg = (b"From: a@example.com\r\nSubject: raw\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n" + raw)
        c = self.box(msg, literal8=True)
        out, t = self.fetch(c, "(BINARY.SIZE[1] BINARY.PEEK[1] BODY.PEEK[1] BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertIn(b"BINARY.SIZE[1] %d" % len(raw), out)
        data, lit8 = self.literal(out, b"BINARY[1]")
        self.assertEqual(data, raw)
        self.assertTrue(lit8)
        # stored as base64 text: BODY[1] has no NUL and decodes to the bytes
        body, _ = self.literal(out, b"BODY[1]")
        self.assertNotIn(b"\x00", body)
        self.assertEqual(base64.b64decode(body), raw)
        self.assertIn(b"Subject: raw", out)

    def test_append_literal8_synchronizing(self):
        c = ImapRaw.logged_in(self, self.dm.ports["imap"])
        msg = b"From: a@example.com\r\nSubject: s\r\n\r\nhello\r\n"
        tag = c.next_tag()
        c.send(tag.encode() + b" APPEND INBOX ~{%d}\r\n" % len(msg))
        self.assertTrue(c.read_line().startswith(b"+"))
        c.send(msg + b"\r\n")
        u, t = c.read_until_tagged(tag)
        self.assertRegex(t, r"OK \[APPENDUID \d+ \d+\]")


if __name__ == "__main__":
    unittest.main()
