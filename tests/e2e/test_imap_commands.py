"""Every IMAP command of issue 3, driven by Python's imaplib over plain
IMAP, STARTTLS and IMAPS (implicit TLS).

Extension commands imaplib has no method for (ID, IDLE, SELECT
(CONDSTORE), ESEARCH...) go through imaplib's generic command path
(xatom/_simple_command) and are checked on its untagged responses.
"""
import base64
import imaplib
import re
import time
import unittest

from harness import ImapRaw, imap_client, recipe_devmail, send_mail

imaplib.Commands.setdefault("ID", ("NONAUTH", "AUTH", "SELECTED"))
imaplib.Commands.setdefault("IDLE", ("AUTH", "SELECTED"))

MSG = ("From: Alice <alice@example.net>\r\n"
       "To: Bob <bob@example.com>\r\n"
       "Subject: %s\r\n"
       "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
       "Message-ID: <%s@example.net>\r\n"
       "\r\n"
       "Body of %s.\r\n")


def msg(subject, ident=None):
    ident = ident or re.sub(r"\W", "", subject)
    return (MSG % (subject, ident, subject)).encode()


def ok(res):
    typ, data = res
    if typ != "OK":
        raise AssertionError("expected OK, got %s %r" % (typ, data))
    return data


def untagged(m, name):
    return m.untagged_responses.pop(name, [])


class CommandsBase:
    """Test bodies; subclasses choose the transport (MODE)."""
    MODE = "plain"
    seq = 0

    @classmethod
    def setUpClass(cls):
        cls.dm = recipe_devmail(listen=("smtp", "imap", "imaps")).start()

    @classmethod
    def tearDownClass(cls):
        cls.dm.__exit__(None, None, None)

    def client(self, login=True):
        m = imap_client(self.dm, self.MODE, login=login)
        self.addCleanup(self._logout, m)
        return m

    @staticmethod
    def _logout(m):
        try:
            m.logout()
        except Exception:
            pass

    def raw(self):
        if self.MODE == "imaps":
            c = ImapRaw(self.dm.ports["imaps"], tls=True)
        else:
            c = ImapRaw(self.dm.ports["imap"])
            if self.MODE == "starttls":
                self.assertIn(" OK", c.starttls())
        self.addCleanup(c.close)
        return c

    def folder(self, base):
        CommandsBase.seq += 1
        return "%s%d" % (base, CommandsBase.seq)

    def fill(self, m, box, subjects, flags=None):
        """APPEND one message per subject; returns the APPENDUIDs."""
        uids = []
        for s in subjects:
            typ, data = m.append(box, flags, None, msg(s))
            self.assertEqual(typ, "OK", data)
            mm = re.search(rb"\[APPENDUID (\d+) (\d+)\]", data[0])
            self.assertIsNotNone(mm, data)
            self.assertGreater(int(mm.group(2)), 0)
            uids.append(int(mm.group(2)))
        return uids

    # ---- any state ---------------------------------------------------------

    def test_capability_noop_logout(self):
        m = self.client(login=False)
        caps = m.capabilities
        for c in ("IMAP4REV1", "IDLE", "UIDPLUS", "MOVE", "NAMESPACE", "ID", "ENABLE", "UNSELECT", "LITERAL+",
                  "SASL-IR", "SPECIAL-USE", "CHILDREN", "LIST-EXTENDED", "LIST-STATUS", "ESEARCH", "CONDSTORE",
                  "QRESYNC", "AUTH=PLAIN"):
            self.assertIn(c, caps)
        if self.MODE == "plain":
            self.assertIn("STARTTLS", caps)
        else:
            self.assertNotIn("STARTTLS", caps)  # already secure
        ok(m.noop())
        typ, data = m.capability()
        self.assertEqual(typ, "OK")
        typ, data = m.logout()
        self.assertEqual(typ, "BYE")

    def test_login_wrong_password_is_no(self):
        m = self.client(login=False)
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            m.login("all@example.com", "wrong")
        self.assertIn("AUTHENTICATIONFAILED", str(cm.exception))
        m.login("all@example.com", "password")  # the session is still usable

    def test_authenticate_plain_without_initial_response(self):
        m = self.client(login=False)
        typ, _ = m.authenticate("PLAIN", lambda _c: b"\0all@example.com\0password")
        self.assertEqual(typ, "OK")
        self.assertEqual(m.state, "AUTH")
        ok(m.select("INBOX"))

    def test_authenticate_plain_sasl_ir(self):
        c = self.raw()
        ir = base64.b64encode(b"\0all@example.com\0password").decode()
        u, t = c.cmd("AUTHENTICATE PLAIN " + ir)
        self.assertRegex(t, r"^t\d+ OK ")
        u, t = c.cmd("SELECT INBOX")
        self.assertRegex(t, r"^t\d+ OK \[READ-WRITE\]")
        bad = base64.b64encode(b"\0all@example.com\0nope").decode()
        c2 = self.raw()
        u, t = c2.cmd("AUTHENTICATE PLAIN " + bad)
        self.assertRegex(t, r"^t\d+ NO ")

    def test_id_namespace_enable(self):
        m = self.client()
        ok(m.xatom("ID", '("name" "e2e" "version" "1")'))
        idr = untagged(m, "ID")
        self.assertTrue(idr and b'"name" "devmail"' in idr[0], idr)
        data = ok(m.namespace())
        self.assertEqual(data[0], b'(("" ".")) NIL NIL')
        ok(m.enable("CONDSTORE"))
        self.assertIn(b"CONDSTORE", b" ".join(untagged(m, "ENABLED")))

    # ---- mailboxes ---------------------------------------------------------

    def test_special_use_folders_exist_after_first_login(self):
        m = self.client()
        data = ok(m.list('""', "*"))
        lines = [d.decode() for d in data]
        for name, attr in (("Sent", "\\Sent"), ("Drafts", "\\Drafts"), ("Trash", "\\Trash"), ("Junk", "\\Junk")):
            line = [l for l in lines if l.endswith('"." ' + name)]
            self.assertEqual(len(line), 1, lines)
            self.assertIn(attr, line[0])
        self.assertIn('(\\HasNoChildren) "." INBOX', lines)
        # LIST-EXTENDED: (SPECIAL-USE) selection returns only those
        typ, data = m._simple_command("LIST", "(SPECIAL-USE)", '""', "*")
        data = m._untagged_response(typ, data, "LIST")[1]
        names = sorted(d.decode().rsplit(" ", 1)[1] for d in data)
        self.assertEqual(names, ["Drafts", "Junk", "Sent", "Trash"])

    def test_create_delete_rename_subscribe_list_lsub_status(self):
        m = self.client()
        a = self.folder("Proj")
        ok(m.create(a))
        ok(m.create(a + ".Sub"))
        typ, data = m.create(a)
        self.assertEqual(typ, "NO")
        lines = [d.decode() for d in ok(m.list('""', a + "*"))]
        self.assertEqual(len(lines), 2, lines)
        self.assertIn('\\HasChildren', [l for l in lines if l.endswith(" " + a)][0])
        self.assertIn('\\HasNoChildren', [l for l in lines if l.endswith(a + ".Sub")][0])
        # % does not descend
        lines = [d.decode() for d in ok(m.list('""', a + "%"))]
        self.assertEqual(len(lines), 1, lines)
        ok(m.subscribe(a + ".Sub"))
        lines = [d.decode() for d in ok(m.lsub('""', a + "*"))]
        self.assertTrue(any(l.endswith(a + ".Sub") for l in lines), lines)
        ok(m.unsubscribe(a + ".Sub"))
        lines = [d for d in ok(m.lsub('""', a + ".Sub")) if d]
        self.assertEqual(lines, [])
        # STATUS
        self.fill(m, a, ["s1", "s2"])
        data = ok(m.status(a, "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN RECENT)"))
        st = data[0].decode()
        self.assertRegex(st, r"MESSAGES 2\b")
        self.assertRegex(st, r"UNSEEN 2\b")
        self.assertRegex(st, r"UIDNEXT 3\b")
        self.assertRegex(st, r"UIDVALIDITY [1-9]")
        # RENAME keeps the messages, moves children along
        b = self.folder("Renamed")
        ok(m.rename(a, b))
        data = ok(m.status(b, "(MESSAGES)"))
        self.assertIn(b"MESSAGES 2", data[0])
        lines = [d.decode() for d in ok(m.list('""', b + "*"))]
        self.assertTrue(any(l.endswith(b + ".Sub") for l in lines), lines)
        self.assertEqual(m.status(a, "(MESSAGES)")[0], "NO")
        # DELETE
        ok(m.delete(b + ".Sub"))
        ok(m.delete(b))
        self.assertEqual([d for d in ok(m.list('""', b + "*")) if d], [])
        self.assertEqual(m.delete("INBOX")[0], "NO")
        self.assertEqual(m.select(b)[0], "NO")

    def test_list_status_return_option(self):
        m = self.client()
        a = self.folder("LS")
        ok(m.create(a))
        self.fill(m, a, ["x"])
        typ, data = m._simple_command("LIST", '""', a, "RETURN", "(STATUS (MESSAGES UNSEEN))")
        self.assertEqual(typ, "OK")
        st = m.untagged_responses.pop("STATUS", [])
        lst = m.untagged_responses.pop("LIST", [])
        self.assertTrue(lst and lst[0].decode().endswith(a), lst)
        self.assertTrue(st and b"MESSAGES 1" in st[0] and b"UNSEEN 1" in st[0], st)

    def test_select_examine_unselect_close(self):
        m = self.client()
        a = self.folder("Sel")
        ok(m.create(a))
        self.fill(m, a, ["one", "two", "three"])
        data = ok(m.select(a))
        self.assertEqual(data, [b"3"])
        self.assertEqual(untagged(m, "RECENT"), [b"3"])
        self.assertTrue(untagged(m, "UIDVALIDITY"))
        self.assertEqual(untagged(m, "UIDNEXT"), [b"4"])
        self.assertTrue(untagged(m, "UNSEEN"))
        ok(m.store("2", "+FLAGS", "(\\Deleted)"))
        ok(m.unselect())  # UNSELECT does not expunge
        data = ok(m.select(a, readonly=True))
        self.assertEqual(data, [b"3"])
        self.assertEqual(m.store("1", "+FLAGS", "(\\Seen)")[0], "NO")
        ok(m.close())  # CLOSE on a read-only mailbox does not expunge
        ok(m.select(a))
        ok(m.check())
        ok(m.close())  # this one expunges message 2
        data = ok(m.select(a))
        self.assertEqual(data, [b"2"])
        data = ok(m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
        subjects = [d[1].strip() for d in data if isinstance(d, tuple)]
        self.assertEqual(subjects, [b"Subject: one", b"Subject: three"])

    def test_recent_is_given_to_one_session(self):
        # RFC 3501 2.3.2: a message is \Recent in the first session that
        # selects the mailbox after it arrived, in no other one later
        if self.MODE != "plain":
            self.skipTest("transport-independent; run once")
        m = self.client()
        a = self.folder("Rec")
        ok(m.create(a))
        self.fill(m, a, ["r1", "r2", "r3"])
        ok(m.select(a))
        self.assertEqual(untagged(m, "RECENT"), [b"3"])
        ok(m.unselect())
        m2 = self.client()
        ok(m2.select(a, readonly=True))
        self.assertEqual(untagged(m2, "RECENT"), [b"0"])
        data = ok(m2.fetch("1:*", "(FLAGS)"))
        self.assertFalse(any(b"\\Recent" in d for d in data), data)

    # ---- messages ----------------------------------------------------------

    def test_append_with_flags_and_date_then_fetch(self):
        m = self.client()
        a = self.folder("App")
        ok(m.create(a))
        date = imaplib.Time2Internaldate(time.mktime((2025, 6, 15, 12, 30, 0, 0, 0, -1)))
        typ, data = m.append(a, "(\\Flagged \\Seen $Work)", date, msg("appended"))
        self.assertEqual(typ, "OK")
        ok(m.select(a))
        data = ok(m.fetch("1", "(FLAGS INTERNALDATE RFC822.SIZE)"))[0].decode()
        self.assertIn("\\Flagged", data)
        self.assertIn("\\Seen", data)
        self.assertIn("$Work", data)
        self.assertIn('"15-Jun-2025', data)
        self.assertIn("RFC822.SIZE %d" % len(msg("appended")), data)
        # APPEND to a missing mailbox: NO [TRYCREATE]
        typ, data = m.append("NoSuchBox" + a, None, None, msg("x"))
        self.assertEqual(typ, "NO")
        self.assertIn(b"TRYCREATE", data[0])

    def test_search_fetch_store_copy_uid_commands(self):
        m = self.client()
        a, b = self.folder("Src"), self.folder("Dst")
        ok(m.create(a))
        ok(m.create(b))
        uids = self.fill(m, a, ["apple", "banana", "cherry", "date"])
        ok(m.select(a))
        self.assertEqual(ok(m.search(None, "ALL"))[0], b"1 2 3 4")
        self.assertEqual(ok(m.search(None, "SUBJECT", "banana"))[0], b"2")
        self.assertEqual(ok(m.uid("SEARCH", "SUBJECT", "cherry"))[0], str(uids[2]).encode())
        data = ok(m.store("1:2", "+FLAGS", "(\\Flagged)"))
        self.assertEqual(len([d for d in data if b"\\Flagged" in d]), 2)
        ok(m.store("1", "-FLAGS.SILENT", "(\\Flagged)"))
        ok(m.store("3", "FLAGS", "(\\Answered)"))
        self.assertEqual(ok(m.search(None, "FLAGGED"))[0], b"2")
        self.assertEqual(ok(m.search(None, "ANSWERED"))[0], b"3")
        data = ok(m.uid("STORE", str(uids[3]), "+FLAGS", "(\\Draft)"))
        self.assertRegex(data[0].decode(), r"UID %d" % uids[3])  # UID STORE reports the UID
        data = ok(m.uid("FETCH", "%d:%d" % (uids[0], uids[1]), "(FLAGS)"))
        self.assertEqual(len(data), 2)
        for d in data:
            self.assertRegex(d.decode(), r"UID \d+")
        typ, data = m.copy("1:2", b)
        self.assertEqual(typ, "OK")
        self.assertRegex(data[0].decode(), r"\[COPYUID \d+ \d+(:\d+|,\d+) \d+(:\d+|,\d+)\]")
        typ, data = m._simple_command("UID", "COPY", str(uids[2]), b)  # tagged text: m.uid() drops it
        self.assertRegex(data[0].decode(), r"\[COPYUID \d+ %d 3\]" % uids[2])
        st = ok(m.status(b, "(MESSAGES)"))[0]
        self.assertIn(b"MESSAGES 3", st)
        # UID MOVE: gone from the source, in the destination
        typ, data = m.uid("MOVE", str(uids[0]), b)
        self.assertEqual(typ, "OK")
        self.assertEqual(ok(m.search(None, "ALL"))[0], b"1 2 3")
        self.assertIn(b"MESSAGES 4", ok(m.status(b, "(MESSAGES)"))[0])
        # MOVE by sequence number
        ok(m._simple_command("MOVE", "1", b))
        self.assertEqual(ok(m.search(None, "ALL"))[0], b"1 2")
        # UID EXPUNGE only removes the named UID even if others are \Deleted
        ok(m.store("1:2", "+FLAGS.SILENT", "(\\Deleted)"))
        ok(m.uid("EXPUNGE", str(uids[3])))
        self.assertEqual(ok(m.uid("SEARCH", "ALL"))[0], str(uids[2]).encode())
        ok(m.expunge())
        self.assertEqual(ok(m.search(None, "ALL"))[0], b"")

    def test_idle_sees_smtp_delivery(self):
        c = self.raw()
        c.cmd("LOGIN all@example.com password")
        u, t = c.cmd("SELECT INBOX")
        exists = int([x for x in u if x.endswith(b" EXISTS\r\n")][0].split()[1])
        c.send("t99 IDLE\r\n")
        self.assertTrue(c.read_response().startswith(b"+ "))
        send_mail(self.dm, "Subject: idle %s\r\n\r\nhi\r\n" % self.MODE)
        r = c.read_response()
        self.assertEqual(r, b"* %d EXISTS\r\n" % (exists + 1))
        c.send("DONE\r\n")
        u, t = c.read_until_tagged("t99")
        self.assertRegex(t, r"^t99 OK")

    def test_condstore(self):
        m = self.client()
        a = self.folder("Cond")
        ok(m.create(a))
        self.fill(m, a, ["c1", "c2", "c3"])
        typ, data = m._simple_command("SELECT", a, "(CONDSTORE)")
        self.assertEqual(typ, "OK")
        m.state = "SELECTED"  # imaplib does not know SELECT with parameters
        hms = untagged(m, "OK")
        hms = [x for x in hms if x.startswith(b"[HIGHESTMODSEQ ")]
        self.assertEqual(len(hms), 1, hms)
        highest = int(re.search(rb"\d+", hms[0]).group())
        data = ok(m.fetch("1:3", "(MODSEQ)"))
        mods = [int(re.search(rb"MODSEQ \((\d+)\)", d).group(1)) for d in data]
        self.assertTrue(all(0 < x <= highest for x in mods), (mods, highest))
        ok(m.store("2", "+FLAGS", "(\\Seen)"))
        # CHANGEDSINCE: only message 2 changed after `highest`
        typ, data = m._simple_command("FETCH", "1:3", "(FLAGS)", "(CHANGEDSINCE %d)" % highest)
        data = m._untagged_response(typ, data, "FETCH")[1]
        self.assertEqual(len(data), 1, data)
        self.assertTrue(data[0].startswith(b"2 ("), data)
        self.assertIn(b"MODSEQ", data[0])
        m2 = int(re.search(rb"MODSEQ \((\d+)\)", data[0]).group(1))
        self.assertGreater(m2, highest)
        # UNCHANGEDSINCE older than message 2's modseq: MODIFIED 2, message 3 stored
        typ, data = m._simple_command("STORE", "2:3", "(UNCHANGEDSINCE %d)" % highest, "+FLAGS", "(\\Flagged)")
        self.assertEqual(typ, "OK")
        self.assertRegex(data[-1].decode() if data and data[-1] else m.untagged_responses.get("OK", [b""])[0].decode(),
                         r"MODIFIED 2")
        data = ok(m.fetch("2:3", "(FLAGS)"))
        self.assertNotIn(b"\\Flagged", [d for d in data if d.startswith(b"2 ")][0])
        self.assertIn(b"\\Flagged", [d for d in data if d.startswith(b"3 ")][0])
        # SEARCH MODSEQ
        data = ok(m.search(None, "MODSEQ", str(highest + 1)))
        self.assertRegex(data[0].decode(), r"^2 3 \(MODSEQ \d+\)$")

    def test_qresync(self):
        m = self.client()
        a = self.folder("QR")
        ok(m.create(a))
        uids = self.fill(m, a, ["q1", "q2", "q3", "q4"])
        ok(m.enable("QRESYNC"))
        ok(m.select(a))
        uv = int(untagged(m, "UIDVALIDITY")[0])
        hms = [x for x in untagged(m, "OK") if x.startswith(b"[HIGHESTMODSEQ ")]
        highest = int(re.search(rb"\d+", hms[0]).group())
        # another session expunges q2 and flags q3
        m2 = self.client()
        ok(m2.select(a))
        ok(m2.store("2", "+FLAGS.SILENT", "(\\Deleted)"))
        ok(m2.expunge())
        ok(m2.store("2", "+FLAGS.SILENT", "(\\Flagged)"))
        ok(m.unselect())
        c = self.raw()
        c.cmd("LOGIN all@example.com password")
        c.cmd("ENABLE QRESYNC")
        u, t = c.cmd("SELECT %s (QRESYNC (%d %d 1:%d))" % (a, uv, highest, uids[-1]))
        self.assertRegex(t, r"^t\d+ OK \[READ-WRITE\]")
        text = b"".join(u).decode()
        self.assertIn("* VANISHED (EARLIER) %d\r\n" % uids[1], text)
        self.assertRegex(text, r"\* 2 FETCH \((?=[^\r]*UID %d)(?=[^\r]*\\Flagged)(?=[^\r]*MODSEQ)" % uids[2])
        self.assertNotRegex(text, r"\* [13] FETCH")  # unchanged ones are not sent
        # UID FETCH ... (CHANGEDSINCE x VANISHED)
        u, t = c.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % highest)
        text = b"".join(u).decode()
        self.assertIn("* VANISHED (EARLIER) %d\r\n" % uids[1], text)
        # in a QRESYNC session an expunge is reported as VANISHED, not EXPUNGE
        ok(m2.store("1", "+FLAGS.SILENT", "(\\Deleted)"))
        ok(m2.expunge())
        u, t = c.cmd("NOOP")
        self.assertIn(b"* VANISHED %d\r\n" % uids[0], u)

    def test_esearch(self):
        m = self.client()
        a = self.folder("ES")
        ok(m.create(a))
        uids = self.fill(m, a, ["e1 match", "e2", "e3 match", "e4 match"])
        ok(m.select(a))
        typ, data = m._simple_command("SEARCH", "RETURN", "(MIN MAX COUNT ALL)", "SUBJECT", "match")
        self.assertEqual(typ, "OK")
        es = m.untagged_responses.pop("ESEARCH", [])
        self.assertEqual(len(es), 1, es)
        text = es[0].decode()
        self.assertRegex(text, r"^\(TAG \"[^\"]+\"\) ")
        self.assertIn("MIN 1", text)
        self.assertIn("MAX 4", text)
        self.assertIn("COUNT 3", text)
        self.assertRegex(text, r"ALL 1,3:4\b")
        typ, data = m._simple_command("UID", "SEARCH", "RETURN", "(COUNT MIN)", "SUBJECT", "match")
        es = m.untagged_responses.pop("ESEARCH", [])[0].decode()
        self.assertIn(" UID ", es)
        self.assertIn("MIN %d" % uids[0], es)
        self.assertIn("COUNT 3", es)
        # no match: no MIN/MAX, COUNT 0
        typ, data = m._simple_command("SEARCH", "RETURN", "(MIN COUNT)", "SUBJECT", "nothing-matches")
        es = m.untagged_responses.pop("ESEARCH", [])[0].decode()
        self.assertNotIn("MIN", es)
        self.assertIn("COUNT 0", es)


class TestCommandsPlain(CommandsBase, unittest.TestCase):
    MODE = "plain"


class TestCommandsStarttls(CommandsBase, unittest.TestCase):
    MODE = "starttls"


class TestCommandsImaps(CommandsBase, unittest.TestCase):
    MODE = "imaps"


if __name__ == "__main__":
    unittest.main()
