"""NOTIFY for IMAP (RFC 5465): a client names the events it wants and the
mailboxes they concern, and hears of them as they happen, without asking.

Session A sets NOTIFY and then mostly only reads; session B (or the SMTP
server) changes mailboxes. Most checks read A's socket without A sending a
command, so a reply that only a NOOP would have brought fails them. The
randomised test keeps A's view of every mailbox (counts from STATUS
notifications, the selected mailbox from EXISTS / FETCH / EXPUNGE) and
compares it with the truth after each of B's steps; NOTIFY_SEEDS /
NOTIFY_OPS override the seeds and the number of steps.
"""
import os
import random
import re
import socket
import unittest

from harness import ImapRaw, recipe_devmail, send_mail
from test_imap_context import append
from test_imap_model import parse_seeds

SUPPORTED = "MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange"


def message(subject, size=10):
    return ("From: a@example.com\r\nTo: all@example.com\r\nSubject: %s\r\n\r\n%s\r\n" %
            (subject, "x" * size)).encode()


def text(lines):
    return [x.decode("utf-8", "replace").rstrip("\r\n") for x in lines]


def unasked(c, n, timeout=10.0):
    """The next n responses the server sends without a command."""
    c.sock.settimeout(timeout)
    try:
        return text([c.read_response() for _ in range(n)])
    finally:
        c.sock.settimeout(10.0)


def silence(c, secs=0.4):
    """What arrives within secs without a command (expected: nothing)."""
    c.sock.settimeout(secs)
    got = []
    try:
        while True:
            got.append(c.read_response())
    except (socket.timeout, TimeoutError):
        pass
    finally:
        c.sock.settimeout(10.0)
    return text(got)


class NotifyBase(unittest.TestCase):
    ARGS = []

    def setUp(self):
        self.dm = recipe_devmail(listen=("smtp", "imap"), args=["--retention", "0"] + self.ARGS).start()
        self.addCleanup(self.dm.__exit__, None, None, None)

    def session(self, select=None):
        return ImapRaw.logged_in(self, self.dm.ports["imap"], select=select)

    def ok(self, c, line):
        u, t = c.cmd(line)
        self.assertRegex(t, r"^t\d+ OK", (line, u))
        return text(u)


class CommandTest(NotifyBase):
    def test_capability(self):
        a = self.session()
        self.assertIn("NOTIFY", text(a.cmd("CAPABILITY")[0])[0].split())

    def test_bad_and_badevent(self):
        a = self.session()
        for line in ["NOTIFY", "NOTIFY SET", "NOTIFY SET STATUS", "NOTIFY NONE x",
                     "NOTIFY SET (selected (MessageNew))",
                     "NOTIFY SET (selected (FlagChange))",
                     "NOTIFY SET (selected (MailboxName))",
                     "NOTIFY SET (selected (MessageNew MessageExpunge)) (selected-delayed NONE)",
                     "NOTIFY SET (personal (MessageNew (UID) MessageExpunge))",
                     "NOTIFY SET (subtree (MessageNew MessageExpunge))",
                     "NOTIFY SET (anywhere (MessageNew MessageExpunge))",
                     "NOTIFY SET (selected (MessageNew (UID NOSUCHITEM) MessageExpunge))"]:
            u, t = a.cmd(line)
            self.assertRegex(t, r"^t\d+ BAD ", line)
        for line in ["NOTIFY SET (personal (AnnotationChange))",
                     "NOTIFY SET (inboxes (MessageNew MessageExpunge ServerMetadataChange))",
                     "NOTIFY SET (personal (X-Future))"]:
            u, t = a.cmd(line)
            self.assertRegex(t, r"^t\d+ NO \[BADEVENT \(%s\)\] " % SUPPORTED, line)
        # a refused NOTIFY leaves none in force
        b = self.session()
        self.ok(b, "CREATE box2")
        self.assertEqual(silence(a), [])
        c = ImapRaw(self.dm.ports["imap"])
        self.addCleanup(c.close)
        u, t = c.cmd("NOTIFY NONE")
        self.assertRegex(t, r"^t\d+ BAD ")

    def test_initial_status(self):
        """NOTIFY SET STATUS: one STATUS per watched mailbox, with the items
        RFC 5465 3.1 names for the events asked (imaptest's notify test)."""
        a, b = self.session(), self.session()
        self.ok(b, "CREATE box2")
        append(b, message("one"), "box2")
        st = self.ok(b, "STATUS box2 (UIDVALIDITY HIGHESTMODSEQ)")[0]
        uidv, hms = re.search(r"UIDVALIDITY (\d+) HIGHESTMODSEQ (\d+)", st).groups()
        self.assertEqual(self.ok(a, "NOTIFY SET STATUS (mailboxes box2 (MessageExpunge))"),
                         ["* STATUS box2 (MESSAGES 1 UNSEEN 1)"])
        self.assertEqual(self.ok(a, "NOTIFY SET STATUS (mailboxes box2 (MessageNew))"),
                         ["* STATUS box2 (MESSAGES 1 UIDNEXT 2 UIDVALIDITY %s UNSEEN 1)" % uidv])
        self.assertEqual(self.ok(a, "NOTIFY SET STATUS (mailboxes box2 (FlagChange))"),
                         ["* STATUS box2 (UIDVALIDITY %s UNSEEN 1 HIGHESTMODSEQ %s)" % (uidv, hms)])
        self.assertEqual(self.ok(a, "NOTIFY SET (mailboxes box2 (MessageNew MessageExpunge FlagChange))"), [])
        # mailbox events only: no STATUS; the selected mailbox: never
        self.assertEqual(self.ok(a, "NOTIFY SET STATUS (personal (MailboxName))"), [])
        self.ok(a, "SELECT box2")
        got = self.ok(a, "NOTIFY SET STATUS (personal (MessageNew MessageExpunge))")
        names = sorted(re.match(r"\* STATUS (\S+) ", x).group(1) for x in got)
        self.assertEqual(names, ["Drafts", "INBOX", "Junk", "Sent", "Trash"])


class OtherMailboxTest(NotifyBase):
    def test_status_without_asking(self):
        a, b = self.session(), self.session()
        self.ok(b, "CREATE box2")
        append(b, message("one"), "box2")
        self.ok(a, "NOTIFY SET (mailboxes box2 (MessageNew MessageExpunge FlagChange)) (inboxes (MessageNew MessageExpunge))")
        append(b, message("two"), "box2")
        self.assertEqual(unasked(a, 1), ["* STATUS box2 (MESSAGES 2 UIDNEXT 3 UNSEEN 2)"])
        self.ok(b, "SELECT box2")
        self.ok(b, "STORE 1 +FLAGS (\\Seen)")
        self.assertEqual(unasked(a, 1), ["* STATUS box2 (UNSEEN 1)"])
        self.ok(b, "STORE 2 +FLAGS (\\Deleted)")
        self.assertEqual(unasked(a, 1), ["* STATUS box2 (UNSEEN 1)"])
        self.ok(b, "EXPUNGE")
        self.assertEqual(unasked(a, 1), ["* STATUS box2 (MESSAGES 1 UIDNEXT 3 UNSEEN 0)"])
        # mail delivered over SMTP lands in INBOX, watched as "inboxes"
        send_mail(self.dm, message("by smtp"), rcpt="all@example.com")
        self.assertEqual(unasked(a, 1), ["* STATUS INBOX (MESSAGES 1 UIDNEXT 2 UNSEEN 1)"])
        # a mailbox nobody asked about: nothing
        self.ok(b, "CREATE other")
        append(b, message("x"), "other")
        self.assertEqual(silence(a), [])

    def test_own_changes_are_not_told(self):
        a = self.session()
        self.ok(a, "CREATE box2")
        self.ok(a, "NOTIFY SET (personal (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange))")
        u, _ = append(a, message("mine"), "box2")
        self.assertEqual(text(u), [])
        self.assertEqual(self.ok(a, "CREATE box3"), [])
        self.assertEqual(self.ok(a, "SUBSCRIBE box3"), [])
        self.ok(a, "SELECT INBOX")
        append(a, message("to copy"))
        self.assertNotIn("STATUS", " ".join(self.ok(a, "COPY 1 box2")))
        self.assertEqual(silence(a), [])
        # another session's change still is
        b = self.session()
        append(b, message("theirs"), "box2")
        self.assertEqual(unasked(a, 1), ["* STATUS box2 (MESSAGES 3 UIDNEXT 4 UNSEEN 3)"])

    def test_condstore_and_qresync_items(self):
        a, b = self.session(), self.session()
        self.ok(b, "CREATE box2")
        self.ok(a, "ENABLE QRESYNC")
        self.ok(a, "NOTIFY SET (mailboxes box2 (MessageNew MessageExpunge FlagChange))")
        append(b, message("one"), "box2")
        st = unasked(a, 1)[0]
        self.assertRegex(st, r"^\* STATUS box2 \(MESSAGES 1 UIDNEXT 2 UNSEEN 1 HIGHESTMODSEQ \d+\)$")
        self.ok(b, "SELECT box2")
        self.ok(b, "STORE 1 +FLAGS (\\Deleted)")
        self.assertRegex(unasked(a, 1)[0], r"^\* STATUS box2 \(UIDVALIDITY \d+ UNSEEN 1 HIGHESTMODSEQ \d+\)$")
        self.ok(b, "EXPUNGE")
        self.assertRegex(unasked(a, 1)[0], r"^\* STATUS box2 \(MESSAGES 0 UIDNEXT 2 UNSEEN 0 HIGHESTMODSEQ \d+\)$")

    def test_during_idle(self):
        a, b = self.session(select="INBOX"), self.session()
        self.ok(b, "CREATE box2")
        self.ok(a, "NOTIFY SET (mailboxes box2 (MessageNew MessageExpunge))")
        a.send(b"i1 IDLE\r\n")
        self.assertTrue(a.read_line().startswith(b"+"))
        append(b, message("one"), "box2")
        self.assertEqual(unasked(a, 1), ["* STATUS box2 (MESSAGES 1 UIDNEXT 2 UNSEEN 1)"])
        # RFC 5465 4: during IDLE only what NOTIFY asks for; the selected
        # mailbox is not in this NOTIFY
        append(b, message("inbox"))
        self.assertEqual(silence(a), [])
        a.send(b"DONE\r\n")
        u, t = a.read_until_tagged("i1")
        self.assertIn("OK", t)
        self.assertIn("* 1 EXISTS", self.ok(a, "NOOP"))

    def test_notify_none_stops(self):
        a, b = self.session(), self.session()
        self.ok(b, "CREATE box2")
        self.ok(a, "NOTIFY SET (personal (MessageNew MessageExpunge))")
        append(b, message("one"), "box2")
        self.assertEqual(len(unasked(a, 1)), 1)
        self.ok(a, "NOTIFY NONE")
        append(b, message("two"), "box2")
        self.assertEqual(silence(a), [])


class SelectedMailboxTest(NotifyBase):
    SELECTED = "(selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)]) MessageExpunge FlagChange))"

    def test_new_flags_expunge_without_asking(self):
        a, b = self.session(select="INBOX"), self.session(select="INBOX")
        self.ok(a, "NOTIFY SET " + self.SELECTED)
        append(b, message("hello"))
        got = unasked(a, 3)
        self.assertEqual(got[0], "* 1 EXISTS")
        # \Recent goes to one session: A or B, whichever synced first
        self.assertRegex(got[1], r"^\* [01] RECENT$")
        self.assertEqual(got[2], "* 1 FETCH (UID 1 BODY[HEADER.FIELDS (SUBJECT)] {18}\r\nSubject: hello\r\n\r\n)")
        self.ok(b, "NOOP")
        self.ok(b, "STORE 1 +FLAGS (\\Flagged)")
        got = unasked(a, 1)[0]
        self.assertRegex(got, r"^\* 1 FETCH \(")
        self.assertIn("UID 1", got)
        self.assertIn("\\Flagged", got)
        self.ok(b, "STORE 1 +FLAGS (\\Deleted)")
        unasked(a, 1)
        self.ok(b, "EXPUNGE")
        self.assertEqual(unasked(a, 1), ["* 1 EXPUNGE"])
        # the body was peeked: not \Seen
        append(b, message("second"))
        unasked(a, 3)
        self.assertNotIn("\\Seen", self.ok(a, "FETCH 1 FLAGS")[0])

    def test_own_append_gets_exists_but_no_fetch(self):
        a = self.session(select="INBOX")
        self.ok(a, "NOTIFY SET " + self.SELECTED)
        u, _ = append(a, message("mine"))
        self.assertEqual([x for x in text(u) if "FETCH" in x], [])
        self.assertIn("* 1 EXISTS", text(u))
        self.assertEqual(silence(a), [])

    def test_vanished_with_qresync(self):
        a, b = self.session(), self.session(select="INBOX")
        append(b, message("one"))
        self.ok(a, "ENABLE QRESYNC")
        self.ok(a, "SELECT INBOX")
        self.ok(a, "NOTIFY SET (selected (MessageNew MessageExpunge))")
        self.ok(b, "STORE 1 +FLAGS (\\Deleted)")
        self.ok(b, "EXPUNGE")
        self.assertEqual(unasked(a, 1), ["* VANISHED 1"])

    def test_selected_delayed_holds_expunges(self):
        a, b = self.session(select="INBOX"), self.session(select="INBOX")
        append(b, message("one"))
        self.ok(a, "NOOP")
        self.ok(a, "NOTIFY SET (selected-delayed (MessageNew MessageExpunge))")
        self.ok(b, "STORE 1 +FLAGS (\\Deleted)")
        self.ok(b, "EXPUNGE")
        self.assertEqual(silence(a), [])
        # a new message is told at once, the expunge waits for a command
        # that may report it (RFC 3501 7.4.1): not FETCH, NOOP yes
        append(b, message("two"))
        got = unasked(a, 2)
        self.assertEqual(got[0], "* 2 EXISTS")
        self.assertRegex(got[1], r"^\* [01] RECENT$")
        u = self.ok(a, "FETCH 1 (UID)")
        self.assertNotIn("* 1 EXPUNGE", u)
        self.assertIn("* 1 EXPUNGE", self.ok(a, "NOOP"))

    def test_no_selected_group_reports_at_commands_only(self):
        a, b = self.session(select="INBOX"), self.session()
        self.ok(a, "NOTIFY SET (personal (MessageNew MessageExpunge))")
        append(b, message("one"))
        # the selected mailbox is not reported as an "other" mailbox either
        self.assertEqual(silence(a), [])
        self.assertIn("* 1 EXISTS", self.ok(a, "NOOP"))


class MailboxEventsTest(NotifyBase):
    def test_names_and_subscriptions(self):
        a, b = self.session(), self.session()
        self.ok(a, "NOTIFY SET (personal (MailboxName SubscriptionChange))")
        self.ok(b, "CREATE box2")
        self.assertEqual(unasked(a, 1), ['* LIST (\\HasNoChildren) "." box2'])
        self.ok(b, "CREATE box2.sub")
        self.assertEqual(unasked(a, 2), ['* LIST (\\HasNoChildren) "." box2.sub', '* LIST (\\HasChildren) "." box2'])
        self.ok(b, "RENAME box2.sub moved")
        self.assertEqual(unasked(a, 1), ['* LIST (\\HasNoChildren) "." moved ("OLDNAME" (box2.sub))'])
        self.ok(b, "SUBSCRIBE moved")
        self.assertEqual(unasked(a, 1), ['* LIST (\\HasNoChildren \\Subscribed) "." moved'])
        self.ok(b, "UNSUBSCRIBE moved")
        self.assertEqual(unasked(a, 1), ['* LIST (\\HasNoChildren) "." moved'])
        self.ok(b, "DELETE moved")
        self.assertEqual(unasked(a, 1), ['* LIST (\\NonExistent) "." moved'])
        # a subscription of a name no mailbox has
        self.ok(b, "SUBSCRIBE ghost")
        self.assertEqual(unasked(a, 1), ['* LIST (\\NonExistent \\Subscribed) "." ghost'])
        # subscribing what is subscribed changes nothing
        self.ok(b, "SUBSCRIBE ghost")
        self.assertEqual(silence(a), [])

    def test_subtree_and_mailboxes_filters(self):
        a, b = self.session(), self.session()
        self.ok(a, "NOTIFY SET (subtree Lists (MailboxName)) (mailboxes (misc \"two words\") (MailboxName))")
        for name in ["Lists", "Lists.imap", "Listserv", "misc", '"two words"', "other"]:
            self.ok(b, "CREATE " + name)
        got = silence(a, 1.0)
        self.assertEqual(got, ['* LIST (\\HasNoChildren) "." Lists',
                               '* LIST (\\HasNoChildren) "." Lists.imap',
                               '* LIST (\\HasChildren) "." Lists',
                               '* LIST (\\HasNoChildren) "." misc',
                               '* LIST (\\HasNoChildren) "." "two words"'])

    def test_subscribed_filter(self):
        a, b = self.session(), self.session()
        self.ok(b, "CREATE watched")
        self.ok(b, "CREATE unwatched")
        self.ok(b, "SUBSCRIBE watched")
        self.ok(a, "NOTIFY SET (subscribed (MessageNew MessageExpunge SubscriptionChange))")
        append(b, message("one"), "unwatched")
        self.assertEqual(silence(a), [])
        append(b, message("two"), "watched")
        self.assertEqual(unasked(a, 1), ["* STATUS watched (MESSAGES 1 UIDNEXT 2 UNSEEN 1)"])
        # it leaves the subscribed set, and the notice of that still comes
        self.ok(b, "UNSUBSCRIBE watched")
        self.assertEqual(unasked(a, 1), ['* LIST (\\HasNoChildren) "." watched'])
        append(b, message("three"), "watched")
        self.assertEqual(silence(a), [])


class OverflowTest(NotifyBase):
    ARGS = ["--max-output-buffer", "64K"]

    def test_client_that_reads_nothing(self):
        """A client that stops reading while notifications pile up gets one
        NOTIFICATIONOVERFLOW and no more notifications (RFC 5465 5.8);
        the server's memory for it stays bounded by max_output_buffer."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(10)
        sock.connect(("127.0.0.1", self.dm.ports["imap"]))
        a = ImapRaw.__new__(ImapRaw)
        a.sock, a.buf, a.n = sock, b"", 0
        self.addCleanup(a.close)
        a.read_response()
        self.ok(a, "LOGIN all@example.com password")
        self.ok(a, "SELECT INBOX")
        self.ok(a, "NOTIFY SET (selected (MessageNew (UID BODY.PEEK[]) MessageExpunge))")
        b = self.session()
        big = message("big", 200 * 1024)
        for _ in range(60):
            append(b, big)
        # now read it all: the overflow notice, then nothing more unasked
        got = []
        a.sock.settimeout(5)
        try:
            while True:
                r = a.read_response()
                got.append(r[:120].decode("utf-8", "replace"))
                if b"NOTIFICATIONOVERFLOW" in r:
                    break
        except (socket.timeout, TimeoutError):
            pass
        a.sock.settimeout(10)
        self.assertTrue(got and "* OK [NOTIFICATIONOVERFLOW]" in got[-1], got[-3:])
        fetched = len([x for x in got if " FETCH " in x])
        self.assertLess(fetched, 60)
        silence(a, 1.0)
        append(b, message("after"))
        self.assertEqual(silence(a), [])
        u = self.ok(a, "NOOP")
        self.assertIn("* 61 EXISTS", u)


class RandomisedModelTest(NotifyBase):
    """B changes random mailboxes at random; A, under NOTIFY, keeps what it
    is told and must match the truth after every step."""

    BOXES = ["INBOX", "box1", "box2", "box2.sub"]

    def test_model(self):
        seeds = parse_seeds(os.environ.get("NOTIFY_SEEDS", "1,2"))
        ops = int(os.environ.get("NOTIFY_OPS", "40"))
        for seed in seeds:
            with self.subTest(seed=seed):
                self.run_seed(seed, ops)

    def run_seed(self, seed, ops):
        rnd = random.Random(seed)
        b = self.session()
        for box in self.BOXES[1:]:
            b.cmd("CREATE " + box)
        b.cmd("SELECT INBOX")
        a = self.session(select="INBOX")
        view = {}       # other mailboxes: name -> {"MESSAGES": n, "UIDNEXT": n, "UNSEEN": n}
        selected = []   # A's INBOX: [uid, ...] in sequence order
        flags = {}      # uid -> set of flags as A was told

        def feed(lines):
            for x in lines:
                m = re.match(r"^\* STATUS (\S+) \((.*)\)$", x)
                if m:
                    items = m.group(2).split()
                    view.setdefault(m.group(1), {}).update(
                        {items[i]: int(items[i + 1]) for i in range(0, len(items), 2)})
                    continue
                m = re.match(r"^\* (\d+) EXPUNGE$", x)
                if m:
                    del selected[int(m.group(1)) - 1]
                    continue
                m = re.match(r"^\* (\d+) FETCH \((.*)\)$", x, re.S)
                if m:
                    seq, data = int(m.group(1)), m.group(2)
                    uid = int(re.search(r"UID (\d+)", data).group(1))
                    if seq == len(selected) + 1:
                        selected.append(uid)
                    self.assertTrue(seq <= len(selected) and selected[seq - 1] == uid, (seed, x, selected, lines))
                    fm = re.search(r"FLAGS \(([^)]*)\)", data)
                    if fm:
                        flags[uid] = set(fm.group(1).split()) - {"\\Recent"}

        feed(self.ok(a, "UID FETCH 1:* (UID FLAGS)"))  # what INBOX holds already
        feed(self.ok(a, "NOTIFY SET STATUS (selected (MessageNew (UID FLAGS) MessageExpunge FlagChange)) "
                        "(personal (MessageNew MessageExpunge FlagChange))"))
        truth = self.session()
        for step in range(ops):
            op = rnd.choice(["append", "append", "flag", "flag", "expunge"])
            box = rnd.choice(self.BOXES)
            if op == "append":
                append(b, message("s%d" % step), box, rnd.choice(["", "\\Seen", "\\Flagged"]))
            else:
                sel = " ".join(text(b.cmd("SELECT " + box)[0]))
                n = int(re.search(r"\* (\d+) EXISTS", sel).group(1))
                if n:
                    seq = rnd.randint(1, n)
                    if op == "flag":
                        b.cmd("STORE %d %sFLAGS (%s)" % (seq, rnd.choice("+-"), rnd.choice(["\\Seen", "\\Flagged"])))
                    else:
                        b.cmd("STORE %d +FLAGS (\\Deleted)" % seq)
                        b.cmd("EXPUNGE")
            # all of it was queued for A before B's reply: a NOOP behind it
            # brings it in (the STATUS ones come unasked in any case)
            feed(self.ok(a, "NOOP"))
            for name in self.BOXES[1:]:
                st = text(truth.cmd("STATUS %s (MESSAGES UIDNEXT UNSEEN)" % name)[0])[0]
                want = dict(re.findall(r"(MESSAGES|UIDNEXT|UNSEEN) (\d+)", st))
                for k, v in want.items():
                    self.assertEqual(view.get(name, {}).get(k), int(v), (seed, step, op, box, name, k))
            _, _ = truth.cmd("SELECT INBOX")
            u = text(truth.cmd("FETCH 1:* (UID FLAGS)")[0])
            real = [(int(re.search(r"UID (\d+)", x).group(1)),
                     set(re.search(r"FLAGS \(([^)]*)\)", x).group(1).split()) - {"\\Recent"})
                    for x in u if " FETCH " in x]
            self.assertEqual(selected, [r[0] for r in real], (seed, step))
            for uid, f in real:
                self.assertEqual(flags.get(uid, set()), f, (seed, step, uid))
            truth.cmd("UNSELECT")


if __name__ == "__main__":
    unittest.main()
