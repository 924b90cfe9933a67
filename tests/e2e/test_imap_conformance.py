"""RFC-exact IMAP answers that Dovecot's tester (imaptest) checks, issue 9
items 8-12: SENT* dates as written, HEADER field "" as an existence test,
CONDSTORE enabled by FETCH MODSEQ (and ESEARCH MIN/MAX MODSEQ), keywords
announced in * FLAGS to every session, and subscriptions as a list of
names of their own (LSUB, LIST (SUBSCRIBED), RECURSIVEMATCH).
"""
import os
import re
import sqlite3
import unittest

from harness import ImapRaw, recipe_devmail


def message(subject=None, date=None, extra=(), to="bob@example.com", body="body"):
    lines = ["From: Alice <alice@example.net>"]
    if to is not None:
        lines.append("To: %s" % to)
    if subject is not None:
        lines.append("Subject: %s" % subject)
    if date is not None:
        lines.append("Date: %s" % date)
    lines += list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode()


def append(c, box, data, flags=""):
    u, t = c.cmd(b"APPEND " + box.encode() + (b" (" + flags.encode() + b")" if flags else b"") +
                 b" {%d+}\r\n" % len(data) + data)
    assert " OK" in t, (u, t)
    return int(re.search(r"APPENDUID \d+ (\d+)", t).group(1))


def text(untagged):
    return b"".join(untagged).decode("utf-8", "replace")


def search(c, cmd):
    u, t = c.cmd(cmd)
    assert " OK" in t, (cmd, u, t)
    for line in u:
        if line.startswith(b"* SEARCH"):
            return [int(x) for x in line.decode().split()[2:]]
    raise AssertionError("no * SEARCH for %s: %r" % (cmd, u))


class ImapConformance(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dm = recipe_devmail(listen=("smtp", "imap")).start()
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.dm.__exit__(None, None, None)

    def session(self, select=None):
        return ImapRaw.logged_in(self, self.dm.ports["imap"], select)

    def ok(self, c, cmd):
        u, t = c.cmd(cmd)
        self.assertRegex(t, r"^\S+ OK", (cmd, u, t))
        return text(u)

    def box(self, base):
        ImapConformance.n += 1
        name = "%s%d" % (base, ImapConformance.n)
        self.ok(self.session(), "CREATE " + name)
        return name

    # ---- item 8: SENTBEFORE / SENTON / SENTSINCE --------------------------

    DATES = ["Sat, 24 Mar 2007 23:00:00 +0200",  # 1: UTC 21:00 on the 24th
             "Sun, 25 Mar 2007 00:30:00 +0200",  # 2: UTC 22:30 on the 24th
             "Sat, 24 Mar 2007 22:00:00 -0500",  # 3: UTC 03:00 on the 25th
             "Mon, 26 Mar 2007 00:00:00 +0300"]  # 4: UTC 21:00 on the 25th

    def dated_box(self):
        box = self.box("dates")
        c = self.session()
        for i, d in enumerate(self.DATES):
            append(c, box, message("dated %d" % i, d))
        return box

    def check_dates(self, c):
        self.assertEqual(search(c, "SEARCH SENTON 24-Mar-2007"), [1, 3])
        self.assertEqual(search(c, "SEARCH SENTON 25-Mar-2007"), [2])
        self.assertEqual(search(c, "SEARCH SENTON 26-Mar-2007"), [4])
        self.assertEqual(search(c, "SEARCH SENTBEFORE 25-Mar-2007"), [1, 3])
        self.assertEqual(search(c, "SEARCH SENTSINCE 25-Mar-2007"), [2, 4])
        self.assertEqual(search(c, "SEARCH NOT SENTON 25-Mar-2007"), [1, 3, 4])

    def test_sent_dates_are_compared_as_written(self):
        box = self.dated_box()
        self.check_dates(self.session(box))

    def test_sent_dates_of_rows_indexed_before_the_zone_was_kept(self):
        box = self.dated_box()
        # an index from before: no zone in its rows; SEARCH reads the files
        db = sqlite3.connect(os.path.join(self.dm.data_dir, "index.sqlite"), timeout=10)
        with db:
            db.execute("UPDATE messages SET sent_tz=NULL WHERE mailbox_id="
                       "(SELECT id FROM mailboxes WHERE name=?)", (box,))
        db.close()
        self.check_dates(self.session(box))

    # ---- item 9: HEADER <field> "" ---------------------------------------

    def test_empty_header_search_tests_existence(self):
        box = self.box("hdr")
        c = self.session()
        append(c, box, message("has subject", extra=["Cc: carol@example.com", "X-Extra: hello"]))
        append(c, box, message(None, to=None, extra=["Bcc: dave@example.com"]))
        append(c, box, message("", extra=["X-Extra: another"]))  # an empty Subject is still a Subject
        c = self.session(box)
        self.assertEqual(search(c, 'SEARCH HEADER SUBJECT ""'), [1, 3])
        self.assertEqual(search(c, 'SEARCH NOT HEADER SUBJECT ""'), [2])
        self.assertEqual(search(c, 'SEARCH HEADER TO ""'), [1, 3])
        self.assertEqual(search(c, 'SEARCH HEADER CC ""'), [1])
        self.assertEqual(search(c, 'SEARCH HEADER BCC ""'), [2])
        self.assertEqual(search(c, 'SEARCH HEADER X-Extra ""'), [1, 3])
        self.assertEqual(search(c, 'SEARCH NOT HEADER X-Extra ""'), [2])
        self.assertEqual(search(c, 'SEARCH HEADER FROM ""'), [1, 2, 3])
        self.assertEqual(search(c, 'SEARCH SUBJECT subject'), [1])

    # ---- item 10: CONDSTORE enabled by FETCH MODSEQ ----------------------

    def test_fetch_modseq_enables_condstore(self):
        box = self.box("cs")
        c = self.session()
        for i in range(4):
            append(c, box, message("cs %d" % i))
        c = self.session(box)
        u, t = c.cmd("FETCH 1 (FLAGS)")
        self.assertNotIn("MODSEQ", text(u))
        out = self.ok(c, "FETCH 1 MODSEQ")
        self.assertRegex(out, r"\* OK \[HIGHESTMODSEQ \d+\]")
        self.assertRegex(out, r"\* 1 FETCH \(MODSEQ \(\d+\)\)")
        # the announcement comes once
        self.assertNotIn("HIGHESTMODSEQ", self.ok(c, "FETCH 2 MODSEQ"))
        modseq = {}
        for seq in (1, 3, 2, 4):
            out = self.ok(c, "STORE %d +FLAGS (\\Seen)" % seq)
            modseq[seq] = int(re.search(r"\* %d FETCH \(.*MODSEQ \((\d+)\)" % seq, out).group(1))
        self.assertLess(modseq[3], modseq[2])

        def esearch(cmd):
            return re.search(r"\* ESEARCH [^\r]*", self.ok(c, cmd)).group(0)
        self.assertRegex(esearch("SEARCH RETURN (MIN) 1:3 MODSEQ 1"), r"MIN 1 MODSEQ %d$" % modseq[1])
        self.assertRegex(esearch("SEARCH RETURN (MAX) 1:3 MODSEQ 1"), r"MAX 3 MODSEQ %d$" % modseq[3])
        self.assertRegex(esearch("SEARCH RETURN (MIN MAX) 2:3 MODSEQ 1"),
                         r"MIN 2 MAX 3 MODSEQ %d$" % modseq[2])
        self.assertRegex(esearch("SEARCH RETURN () 1:3 MODSEQ 1"), r"ALL 1:3 MODSEQ %d$" % modseq[2])
        self.assertRegex(esearch("SEARCH RETURN (ALL) 2:3 MODSEQ %d" % modseq[2]), r"ALL 2 MODSEQ %d$" % modseq[2])

    def test_status_highestmodseq_enables_condstore(self):
        box = self.box("cs")
        c = self.session()
        append(c, box, message("status"))
        self.ok(c, "STATUS %s (HIGHESTMODSEQ)" % box)
        out = self.ok(c, "SELECT " + box)
        self.assertRegex(out, r"\* OK \[HIGHESTMODSEQ \d+\]")
        self.assertRegex(self.ok(c, "STORE 1 +FLAGS (\\Seen)"), r"MODSEQ \(\d+\)")

    # ---- item 11: keywords in * FLAGS -------------------------------------

    def flags_line(self, out):
        m = re.search(r"\* FLAGS \(([^)]*)\)", out)
        return m.group(1).split() if m else None

    def test_keywords_are_announced_in_flags(self):
        box = self.box("kw")
        c = self.session()
        append(c, box, message("kw 1"), flags="$Old")
        append(c, box, message("kw 2"))
        a = self.session(box)
        b = self.session(box)
        out = self.ok(self.session(), "EXAMINE " + box)
        self.assertIn("$Old", self.flags_line(out))
        # a new keyword: FLAGS before the FETCH that shows it, in this session...
        out = self.ok(a, "STORE 2 +FLAGS ($Fresh)")
        self.assertIn("$Fresh", self.flags_line(out))
        self.assertLess(out.index("* FLAGS"), out.index("FETCH"))
        self.assertRegex(out, r"PERMANENTFLAGS \([^)]*\$Fresh[^)]*\\\*\)")
        self.assertIsNone(self.flags_line(self.ok(a, "STORE 1 +FLAGS ($Fresh)")))  # known already
        # ...and in the other one, at its next update
        out = self.ok(b, "NOOP")
        self.assertIn("$Fresh", self.flags_line(out))
        self.assertLess(out.index("* FLAGS"), out.index("FETCH"))
        # an APPEND with a new keyword from a third session
        append(self.session(), box, message("kw 3"), flags="$Third")
        out = self.ok(a, "NOOP")
        self.assertIn("$Third", self.flags_line(out))
        self.assertLess(out.index("* FLAGS"), out.index("EXISTS"))
        out = self.ok(self.session(), "SELECT " + box)
        self.assertEqual(set(self.flags_line(out)) & {"$Old", "$Fresh", "$Third"}, {"$Old", "$Fresh", "$Third"})

    # ---- item 12: subscriptions --------------------------------------------

    def lines(self, out, kind="LIST"):
        return [l for l in out.split("\r\n") if l.startswith("* " + kind)]

    def test_create_and_delete_leave_subscriptions_alone(self):
        c = self.session()
        self.ok(c, "CREATE subs1")
        self.assertEqual(self.lines(self.ok(c, 'LSUB "" subs1'), "LSUB"), [])
        self.assertEqual(self.lines(self.ok(c, 'LIST (SUBSCRIBED) "" subs1')), [])
        self.ok(c, "SUBSCRIBE subs1")
        self.ok(c, "DELETE subs1")
        self.assertEqual(self.lines(self.ok(c, 'LSUB "" subs1'), "LSUB"), ['* LSUB () "." subs1'])
        self.assertEqual(self.lines(self.ok(c, 'LIST (SUBSCRIBED) "" subs1')),
                         ['* LIST (\\NonExistent \\Subscribed) "." subs1'])
        self.ok(c, "UNSUBSCRIBE subs1")
        self.assertEqual(self.lines(self.ok(c, 'LSUB "" subs1'), "LSUB"), [])

    def test_subscribe_a_name_that_does_not_exist(self):
        c = self.session()
        self.ok(c, "SUBSCRIBE nosuch.box")
        self.assertEqual(self.lines(self.ok(c, 'LIST (SUBSCRIBED) "" nosuch*')),
                         ['* LIST (\\NonExistent \\Subscribed) "." nosuch.box'])
        self.assertEqual(self.lines(self.ok(c, 'LIST "" nosuch*')), [])

    def test_recursivematch_and_lsub_parents(self):
        c = self.session()
        for name in ("rm", "rm.a", "rm.b.c", "rm.d"):
            self.ok(c, "CREATE " + name)
        for name in ("rm.a", "rm.b.c"):
            self.ok(c, "SUBSCRIBE " + name)
        u, t = c.cmd('LIST (RECURSIVEMATCH) "" "*"')
        self.assertIn(" BAD", t)
        u, t = c.cmd('LIST (RECURSIVEMATCH REMOTE) "" "*"')
        self.assertIn(" BAD", t)
        out = self.lines(self.ok(c, 'LIST (SUBSCRIBED RECURSIVEMATCH) "" rm%'))
        self.assertEqual(out, ['* LIST (\\HasChildren) "." rm ("CHILDINFO" ("SUBSCRIBED"))'])
        out = self.lines(self.ok(c, 'LIST (SUBSCRIBED RECURSIVEMATCH) "" rm.%'))
        self.assertEqual(out, ['* LIST (\\HasNoChildren \\Subscribed) "." rm.a',
                               '* LIST (\\HasChildren) "." rm.b ("CHILDINFO" ("SUBSCRIBED"))'])
        out = self.lines(self.ok(c, 'LSUB "" rm.%'), "LSUB")
        self.assertEqual(out, ['* LSUB (\\HasNoChildren) "." rm.a', '* LSUB (\\Noselect) "." rm.b'])
        out = self.lines(self.ok(c, 'LSUB "" rm*'), "LSUB")
        self.assertEqual(out, ['* LSUB (\\HasNoChildren) "." rm.a', '* LSUB (\\HasNoChildren) "." rm.b.c'])

    def test_rename_keeps_the_subscription(self):
        c = self.session()
        self.ok(c, "CREATE ren1")
        self.ok(c, "SUBSCRIBE ren1")
        self.ok(c, "RENAME ren1 ren2")
        self.assertEqual(self.lines(self.ok(c, 'LSUB "" ren*'), "LSUB"), ['* LSUB (\\HasNoChildren) "." ren2'])

    def test_first_login_folders_are_subscribed(self):
        out = self.ok(self.session(), 'LSUB "" *')
        for name in ("INBOX", "Drafts", "Sent", "Junk", "Trash"):
            self.assertRegex(out, r'\* LSUB \([^)]*\) "\." %s\r\n' % name)


class SubscriptionMigration(unittest.TestCase):
    def test_an_index_from_before_keeps_its_subscriptions(self):
        dm = recipe_devmail(listen=("imap",)).start()
        self.addCleanup(dm.__exit__, None, None, None)
        c = ImapRaw.logged_in(self, dm.ports["imap"])
        for name in ("kept", "dropped"):
            u, t = c.cmd("CREATE " + name)
            self.assertIn(" OK", t)
        c.close()
        dm.stop()
        # as an index from before kept them: a flag of each mailbox (every
        # one subscribed unless unsubscribed), no list of names
        db = sqlite3.connect(os.path.join(dm.data_dir, "index.sqlite"))
        with db:
            db.execute("DROP TABLE subscriptions")
            db.execute("DELETE FROM meta WHERE key='subscriptions'")
            db.execute("UPDATE mailboxes SET subscribed=0 WHERE name='dropped'")
        db.close()
        dm.start()
        c = ImapRaw.logged_in(self, dm.ports["imap"])
        u, t = c.cmd('LSUB "" *')
        names = sorted(l.decode().rstrip("\r\n").split(" ")[-1] for l in u if l.startswith(b"* LSUB"))
        self.assertEqual(names, ["Drafts", "INBOX", "Junk", "Sent", "Trash", "kept"])


if __name__ == "__main__":
    unittest.main()
