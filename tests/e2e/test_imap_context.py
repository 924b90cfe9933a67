"""Contexts for IMAP (RFC 5267 CONTEXT=SEARCH and CONTEXT=SORT): PARTIAL
results, and updating searches (RETURN (UPDATE)) that report each change of
their result as ESEARCH ADDTO / REMOVEFROM until CANCELUPDATE or the
mailbox is closed.

Two sessions share one mailbox: session A keeps the updating searches,
session B (or A itself) changes flags, appends and expunges. The checks are
on A's replies as a client would read them: REMOVEFROM comes before the
EXPUNGE that removes a message (so sequence numbers are still the ones A
has), ADDTO after the EXISTS that brings it, SORT positions applied in the
order given rebuild the sorted result. A seeded, bounded randomised test
keeps a model of the mailbox, applies every update A receives to its copy
of five contexts (SEARCH and SORT, UID and sequence numbers, one with a
sequence-number key whose meaning moves) and compares each copy with the
model after every step. CONTEXT_SEEDS / CONTEXT_OPS override the seeds and
the number of steps.
"""
import os
import random
import re
import unittest

from harness import ImapRaw, recipe_devmail
from test_imap_model import parse_seeds


def message(subject, size):
    body = "x" * size
    return ("From: a@example.com\r\nTo: all@example.com\r\nSubject: %s\r\n\r\n%s\r\n" % (subject, body)).encode()


def append(c, data, box="INBOX", flags=""):
    tag = c.next_tag()
    c.send(('%s APPEND %s %s{%d}\r\n' % (tag, box, "(%s) " % flags if flags else "", len(data))).encode())
    line = c.read_line()
    assert line.startswith(b"+"), line
    c.send(data + b"\r\n")
    u, t = c.read_until_tagged(tag)
    assert " OK" in t, (u, t)
    return u, t


def seqset(text):
    """'1:3,5' -> [1, 2, 3, 5] (in the order written)."""
    out = []
    for part in text.split(","):
        if ":" in part:
            a, b = (int(x) for x in part.split(":"))
            out += range(a, b + 1) if a <= b else range(a, b - 1, -1)
        else:
            out.append(int(part))
    return out


ESEARCH = re.compile(r'^\* ESEARCH \(TAG "([^"]+)"\)( UID)?(.*)$', re.I)


def pairs(text):
    """'0 1:2,4 3 7' -> [(0, [1, 2, 4]), (3, [7])]"""
    t = text.split()
    assert len(t) % 2 == 0, text
    return [(int(t[i]), seqset(t[i + 1])) for i in range(0, len(t), 2)]


class Context:
    """A client's copy of one updating search: a set (SEARCH) or a list in
    sort order (SORT), of UIDs or sequence numbers."""

    def __init__(self, tag, uid, sort, members):
        self.tag, self.uid, self.sort = tag, uid, sort
        self.members = list(members) if sort else set(members)

    def update(self, data):
        m = re.search(r"REMOVEFROM \(([^)]*)\)", data, re.I)
        r = data.upper().find("REMOVEFROM")
        a = data.upper().find("ADDTO")
        assert r < 0 or a < 0 or r < a, "REMOVEFROM after ADDTO: " + data
        if m:
            for pos, ids in pairs(m.group(1)):
                for k, v in enumerate(ids):
                    if self.sort:
                        assert pos > 0, data
                        assert self.members[pos - 1] == v, (data, self.members)
                        del self.members[pos - 1]
                    else:
                        assert pos == 0 and v in self.members, (data, self.members)
                        self.members.discard(v)
        m = re.search(r"ADDTO \(([^)]*)\)", data, re.I)
        if m:
            for pos, ids in pairs(m.group(1)):
                for k, v in enumerate(ids):
                    if self.sort:
                        assert 0 < pos <= len(self.members) + 1, (data, self.members)
                        assert v not in self.members, (data, self.members)
                        self.members.insert(pos - 1 + k, v)
                    else:
                        assert pos == 0 and v not in self.members, (data, self.members)
                        self.members.add(v)

    def expunge(self, seq):
        """An EXPUNGE: a sequence-number context must no longer hold it."""
        if self.uid:
            return
        assert seq not in self.members, "EXPUNGE %d before its REMOVEFROM (%s)" % (seq, self.tag)
        if self.sort:
            self.members = [v - 1 if v > seq else v for v in self.members]
        else:
            self.members = {v - 1 if v > seq else v for v in self.members}


class Client:
    """Session A: reads every reply in order and keeps its contexts."""

    def __init__(self, conn):
        self.c = conn
        self.contexts = {}
        self.log = []

    def cmd(self, line):
        u, t = self.c.cmd(line)
        return self.feed(line, u, t), t

    def feed(self, line, u, t):
        """Read the untagged replies of one command, in order."""
        lines = [x.decode("utf-8", "replace").rstrip("\r\n") for x in u]
        self.log.append((line, lines, t))
        for x in lines:
            m = ESEARCH.match(x)
            if m and m.group(1) in self.contexts:
                ctx = self.contexts[m.group(1)]
                self.check(bool(m.group(2)) == ctx.uid, "UID marker of " + x)
                ctx.update(m.group(3))
                continue
            m = re.match(r"^\* (\d+) EXPUNGE$", x, re.I)
            if m:
                for ctx in self.contexts.values():
                    ctx.expunge(int(m.group(1)))
        return lines

    def check(self, cond, what):
        assert cond, what

    def start(self, line, sort):
        """Run an updating SEARCH/SORT with RETURN (UPDATE ALL ...)."""
        lines, t = self.cmd(line)
        assert " OK" in t, (line, lines, t)
        tag = t.split()[0]
        mine = [x for x in lines if x.startswith('* ESEARCH (TAG "%s")' % tag)]
        assert len(mine) == 1, (line, lines)
        m = ESEARCH.match(mine[0])
        am = re.search(r" ALL (\S+)", m.group(3))
        members = seqset(am.group(1)) if am else []
        self.contexts[tag] = Context(tag, bool(m.group(2)), sort, members)
        return tag


class ContextBase(unittest.TestCase):
    ARGS = []

    def setUp(self):
        self.dm = recipe_devmail(listen=("smtp", "imap"), args=["--retention", "0"] + self.ARGS).start()
        self.addCleanup(self.dm.__exit__, None, None, None)

    def sessions(self, n_messages, subjects=None):
        b = ImapRaw.logged_in(self, self.dm.ports["imap"])
        for i in range(n_messages):
            subject = subjects[i] if subjects else "s%d" % (i + 1)
            append(b, message(subject, 10 * (i + 1)))
        a = ImapRaw.logged_in(self, self.dm.ports["imap"], select="INBOX")
        _, t = b.cmd("SELECT INBOX")
        self.assertIn(" OK", t)
        return Client(a), b


class PartialAndCapabilities(ContextBase):
    def test_capabilities(self):
        c = ImapRaw.logged_in(self, self.dm.ports["imap"])
        u, _ = c.cmd("CAPABILITY")
        caps = u[0].decode().split()
        self.assertIn("CONTEXT=SEARCH", caps)
        self.assertIn("CONTEXT=SORT", caps)
        self.assertIn("ESEARCH", caps)

    def one(self, c, line):
        u, t = c.cmd(line)
        self.assertRegex(t, r"^t\d+ OK", (line, u))
        hits = [x.decode().rstrip() for x in u if x.startswith(b"* ESEARCH")]
        self.assertEqual(len(hits), 1, (line, u))
        return hits[0].split(")", 1)[1].strip()

    def test_partial_search_and_sort(self):
        a, b = self.sessions(5)
        c = a.c
        self.assertEqual(self.one(c, "SEARCH RETURN (PARTIAL 1:1) ALL"), "PARTIAL (1:1 1)")
        self.assertEqual(self.one(c, "SEARCH RETURN (PARTIAL 4:2) ALL"), "PARTIAL (2:4 2:4)")
        self.assertEqual(self.one(c, "SEARCH RETURN (PARTIAL 1:6) ALL"), "PARTIAL (1:6 1:5)")
        self.assertEqual(self.one(c, "SEARCH RETURN (PARTIAL 6:9) ALL"), "PARTIAL (6:9 NIL)")
        self.assertEqual(self.one(c, "SEARCH RETURN (PARTIAL 2:3) 1:2,4:5"), "PARTIAL (2:3 2,4)")
        self.assertEqual(self.one(c, "SEARCH RETURN (PARTIAL 2:10 COUNT) 1:2,4:5"), "PARTIAL (2:10 2,4:5) COUNT 4")
        # SORT: positions in sort order, the set keeps that order
        self.assertEqual(self.one(c, "SORT RETURN (PARTIAL 2:4) (REVERSE SIZE) UTF-8 ALL"), "PARTIAL (2:4 4,3,2)")
        self.assertEqual(self.one(c, "SORT RETURN (PARTIAL 1:9) (SIZE) UTF-8 ALL"), "PARTIAL (1:9 1:5)")
        self.assertEqual(self.one(c, "SORT RETURN (PARTIAL 7:9) (SIZE) UTF-8 ALL"), "PARTIAL (7:9 NIL)")
        # UID partials count positions among the hits, not UIDs
        _, t = b.cmd("STORE 2 +FLAGS (\\Deleted)")
        _, t = b.cmd("EXPUNGE")
        a.cmd("NOOP")
        self.assertEqual(self.one(c, "UID SEARCH RETURN (PARTIAL 2:2) ALL"), "UID PARTIAL (2:2 3)")
        self.assertEqual(self.one(c, "UID SORT RETURN (PARTIAL 1:2) (REVERSE SIZE) UTF-8 ALL"),
                         "UID PARTIAL (1:2 5,4)")
        for bad in ("SEARCH RETURN (PARTIAL 1) ALL", "SEARCH RETURN (PARTIAL 1:*) ALL",
                    "SEARCH RETURN (PARTIAL *:1) ALL", "SEARCH RETURN (PARTIAL 0:1) ALL",
                    "SEARCH RETURN (PARTIAL 1:2 ALL) ALL", "SORT RETURN (PARTIAL 1) (SIZE) UTF-8 ALL",
                    "SEARCH RETURN (UPDATE UPDATE) ALL"):
            _, t = c.cmd(bad)
            self.assertIn(" BAD ", t, bad)


class Updates(ContextBase):
    def test_search_updates_from_both_sessions(self):
        """The transcript of Dovecot's imaptest search-context-update, as
        the client sees it."""
        a, b = self.sessions(5)
        lines, t = a.cmd("SEARCH RETURN (UPDATE) BODY x SEEN")
        self.assertEqual(lines, ['* ESEARCH (TAG "%s")' % t.split()[0]])
        tag = t.split()[0]
        a.contexts[tag] = Context(tag, False, False, [])
        # A's own STORE
        lines, _ = a.cmd("STORE 1,2,4 +FLAGS (\\Seen)")
        self.assertIn('* ESEARCH (TAG "%s") ADDTO (0 1:2,4)' % tag, lines)
        lines, _ = a.cmd("STORE 1,2 -FLAGS (\\Seen)")
        self.assertIn('* ESEARCH (TAG "%s") REMOVEFROM (0 1:2)' % tag, lines)
        # B's expunge: REMOVEFROM with A's numbers, before the EXPUNGE
        b.cmd("STORE 3:5 +FLAGS (\\Deleted)")
        b.cmd("EXPUNGE")
        lines, _ = a.cmd("NOOP")
        self.assertEqual([x for x in lines if "ESEARCH" in x or "EXPUNGE" in x],
                         ['* ESEARCH (TAG "%s") REMOVEFROM (0 4)' % tag] + ["* 3 EXPUNGE"] * 3)
        # B's append: ADDTO after the EXISTS that brings it
        append(b, message("new", 5), flags="\\Seen")
        lines, _ = a.cmd("NOOP")
        self.assertLess(lines.index("* 3 EXISTS"), lines.index('* ESEARCH (TAG "%s") ADDTO (0 3)' % tag), lines)
        self.assertEqual(a.contexts[tag].members, {3})
        # a second updating search may not take the same tag
        _, t = a.c.cmd("SEARCH RETURN (UPDATE) ALL", tag=tag)
        self.assertIn(" BAD ", t)
        # CANCELUPDATE ends it; an unknown tag is NO and cancels nothing
        _, t = a.cmd('CANCELUPDATE "%s" "nosuchtag"' % tag)
        self.assertIn(" NO ", t)
        _, t = a.cmd('CANCELUPDATE "%s"' % tag)
        self.assertIn(" OK ", t)
        lines, _ = a.cmd("STORE 1 +FLAGS (\\Seen)")
        self.assertEqual([x for x in lines if "ESEARCH" in x], [])

    def test_uid_search_and_fetch_seen(self):
        a, b = self.sessions(4)
        tag = a.start("UID SEARCH RETURN (UPDATE ALL) UNSEEN", sort=False)
        self.assertEqual(a.contexts[tag].members, {1, 2, 3, 4})
        # a FETCH of the body sets \\Seen: the message leaves the result
        lines, _ = a.cmd("FETCH 2 BODY[TEXT]")
        self.assertIn('* ESEARCH (TAG "%s") UID REMOVEFROM (0 2)' % tag, lines)
        lines, _ = a.cmd("FETCH 3 BODY.PEEK[TEXT]")
        self.assertEqual([x for x in lines if "ESEARCH" in x], [])
        b.cmd("STORE 1:4 FLAGS (\\Seen)")
        lines, _ = a.cmd("NOOP")
        self.assertIn('* ESEARCH (TAG "%s") UID REMOVEFROM (0 1,3:4)' % tag, lines)
        self.assertEqual(a.contexts[tag].members, set())

    def test_sort_positions(self):
        a, b = self.sessions(4, subjects=["d", "b", "c", "a"])
        tag = a.start("SORT RETURN (UPDATE ALL) (SUBJECT) UTF-8 UNSEEN", sort=True)
        self.assertEqual(a.contexts[tag].members, [4, 2, 3, 1])
        b.cmd("STORE 3 +FLAGS (\\Seen)")
        lines, _ = a.cmd("NOOP")
        self.assertIn('* ESEARCH (TAG "%s") REMOVEFROM (3 3)' % tag, lines)
        append(b, message("bb", 1))
        append(b, message("0", 1))
        lines, _ = a.cmd("NOOP")
        self.assertIn('* ESEARCH (TAG "%s") ADDTO (1 6 4 5)' % tag, lines)
        self.assertEqual(a.contexts[tag].members, [6, 4, 2, 5, 1])
        b.cmd("STORE 2,4 +FLAGS (\\Deleted)")
        b.cmd("EXPUNGE")
        lines, _ = a.cmd("NOOP")
        esearch = [x for x in lines if "ESEARCH" in x]
        self.assertEqual(esearch, ['* ESEARCH (TAG "%s") REMOVEFROM (3 2 2 4)' % tag])
        self.assertEqual(a.contexts[tag].members, [4, 3, 1])
        b.cmd("STORE 2 -FLAGS (\\Seen)")  # old message 3, subject c
        lines, _ = a.cmd("NOOP")
        self.assertIn('* ESEARCH (TAG "%s") ADDTO (3 2)' % tag, lines)
        self.assertEqual(a.contexts[tag].members, [4, 3, 2, 1])

    def test_updates_arrive_during_idle(self):
        a, b = self.sessions(3)
        tag = a.start("UID SEARCH RETURN (UPDATE ALL) FLAGGED", sort=False)
        a.c.send(b"i1 IDLE\r\n")
        self.assertTrue(a.c.read_line().startswith(b"+"))
        b.cmd("STORE 2 +FLAGS (\\Flagged)")
        seen = []
        while True:
            line = a.c.read_line().decode().rstrip()
            seen.append(line)
            if "ESEARCH" in line:
                break
        self.assertEqual(line, '* ESEARCH (TAG "%s") UID ADDTO (0 2)' % tag)
        a.c.send(b"DONE\r\n")
        _, t = a.c.read_until_tagged("i1")
        self.assertIn(" OK", t)

    def test_contexts_end_with_the_mailbox(self):
        a, b = self.sessions(2)
        tag = a.start("SEARCH RETURN (UPDATE ALL) SEEN", sort=False)
        _, t = a.cmd("UNSELECT")
        self.assertIn(" OK", t)
        _, t = a.cmd("SELECT INBOX")
        b.cmd("STORE 1 +FLAGS (\\Seen)")
        lines, _ = a.cmd("NOOP")
        self.assertEqual([x for x in lines if "ESEARCH" in x], [])
        _, t = a.cmd('CANCELUPDATE "%s"' % tag)
        self.assertIn(" NO ", t)
        # the tag is free again
        _, t = a.c.cmd("SEARCH RETURN (UPDATE) SEEN", tag=tag)
        self.assertIn(" OK", t)


class Limit(ContextBase):
    ARGS = ["--imap-max-update-contexts", "2"]

    def test_beyond_the_limit_no_updates(self):
        a, b = self.sessions(2)
        t1 = a.start("SEARCH RETURN (UPDATE ALL) SEEN", sort=False)
        t2 = a.start("SORT RETURN (UPDATE ALL) (ARRIVAL) UTF-8 SEEN", sort=True)
        lines, t = a.cmd("SEARCH RETURN (UPDATE COUNT) SEEN")
        tag = t.split()[0]
        self.assertIn(" OK", t)
        self.assertIn('* ESEARCH (TAG "%s") COUNT 0' % tag, lines)
        self.assertTrue(any(x.startswith('* NO [NOUPDATE "%s"]' % tag) for x in lines), lines)
        b.cmd("STORE 1 +FLAGS (\\Seen)")
        lines, _ = a.cmd("NOOP")
        tags = sorted(ESEARCH.match(x).group(1) for x in lines if x.startswith("* ESEARCH"))
        self.assertEqual(tags, sorted([t1, t2]))


SEEDS = parse_seeds(os.environ.get("CONTEXT_SEEDS", "1,2"))
OPS = int(os.environ.get("CONTEXT_OPS", "60"))


class Model(ContextBase):
    """Random flag changes, appends, expunges and body fetches by both
    sessions; after each step A's copies of five updating searches must
    equal what the model says they hold."""

    # (command, sort?, model function over the list of (uid, flags, subject, size))
    CONTEXTS = [
        ("SEARCH RETURN (UPDATE ALL) UNSEEN", False),
        ("UID SEARCH RETURN (UPDATE ALL) FLAGGED", False),
        ("UID SORT RETURN (UPDATE ALL) (REVERSE SIZE) UTF-8 OR SEEN FLAGGED", True),
        ("SORT RETURN (UPDATE ALL) (SUBJECT) UTF-8 NOT DELETED", True),
        ("SEARCH RETURN (UPDATE ALL) 2:4", False),
    ]

    @staticmethod
    def expected(i, msgs):
        seq = {m["uid"]: k + 1 for k, m in enumerate(msgs)}
        if i == 0:
            return {seq[m["uid"]] for m in msgs if "\\Seen" not in m["flags"]}
        if i == 1:
            return {m["uid"] for m in msgs if "\\Flagged" in m["flags"]}
        if i == 2:
            hit = [m for m in msgs if m["flags"] & {"\\Seen", "\\Flagged"}]
            return [m["uid"] for m in sorted(hit, key=lambda m: (-m["size"], m["uid"]))]
        if i == 3:
            hit = [m for m in msgs if "\\Deleted" not in m["flags"]]
            return [seq[m["uid"]] for m in sorted(hit, key=lambda m: (m["subject"], m["uid"]))]
        return {k for k in range(2, 5) if k <= len(msgs)}

    def run_seed(self, seed):
        rnd = random.Random(seed)
        b = ImapRaw.logged_in(self, self.dm.ports["imap"])
        _, t = b.cmd("CREATE M%d" % seed)
        box = "M%d" % seed
        msgs = []
        next_uid = [1]

        def add(who, flags=()):
            subject = "k%d" % rnd.randrange(6)
            size = rnd.randrange(1, 8) * 10
            if who == "a":
                u, t = append(a.c, message(subject, size), box=box, flags=" ".join(flags))
                a.feed("APPEND", u, t)
            else:
                append(b, message(subject, size), box=box, flags=" ".join(flags))
            msgs.append({"uid": next_uid[0], "flags": set(flags), "subject": subject, "size": len(message(subject, size))})
            next_uid[0] += 1

        for _ in range(6):
            add("b", rnd.choice([(), ("\\Seen",), ("\\Flagged",)]))
        a = Client(ImapRaw.logged_in(self, self.dm.ports["imap"], select=box))
        b.cmd("SELECT " + box)
        for cmd, sort in self.CONTEXTS:
            a.start(cmd, sort)
        tags = list(a.contexts)
        flags = ["\\Seen", "\\Flagged", "\\Deleted"]
        ops = []
        for step in range(OPS):
            op = rnd.choice(["store", "store", "store", "append", "expunge", "fetch"])
            actor = rnd.choice(["a", "b"])
            if actor == "b":
                # B acts on the messages it knows of, as of now: A's
                # changes of the last step included
                b.cmd("NOOP")
            def conn_cmd(line, actor=actor):
                ops.append((actor, line))
                return a.cmd(line) if actor == "a" else b.cmd(line)
            if op == "store" and msgs:
                picked = rnd.sample(msgs, rnd.randint(1, min(3, len(msgs))))
                f = rnd.choice(flags)
                sign = rnd.choice("+-")
                conn_cmd("UID STORE %s %sFLAGS.SILENT (%s)" % (",".join(str(m["uid"]) for m in picked), sign, f))
                for m in picked:
                    (m["flags"].add if sign == "+" else m["flags"].discard)(f)
            elif op == "append":
                ops.append((actor, "APPEND"))
                add(actor, rnd.choice([(), ("\\Seen",), ("\\Flagged",)]))
            elif op == "expunge":
                conn_cmd("EXPUNGE")
                msgs[:] = [m for m in msgs if "\\Deleted" not in m["flags"]]
            elif op == "fetch" and msgs:
                k = rnd.randrange(len(msgs))
                a.cmd("FETCH %d BODY[TEXT]" % (k + 1))
                msgs[k]["flags"].add("\\Seen")
            a.cmd("NOOP")
            for i, tag in enumerate(tags):
                got = a.contexts[tag].members
                want = self.expected(i, msgs)
                self.assertEqual(got, want, "seed %d step %d context %r\nlast steps: %r\nA's last replies: %r" %
                                 (seed, step, self.CONTEXTS[i][0], ops[-3:], a.log[-4:]))
        # and the server, asked afresh, agrees with the copies
        for i, (cmd, sort) in enumerate(self.CONTEXTS):
            lines, t = a.cmd(cmd.replace("UPDATE ALL", "ALL"))
            mine = [x for x in lines if x.startswith('* ESEARCH (TAG "%s")' % t.split()[0])]
            am = re.search(r" ALL (\S+)", mine[0])
            fresh = seqset(am.group(1)) if am else []
            got = a.contexts[tags[i]].members
            self.assertEqual(fresh if sort else set(fresh), got, cmd)

    def test_random_steps(self):
        for seed in SEEDS:
            with self.subTest(seed=seed):
                self.run_seed(seed)


if __name__ == "__main__":
    unittest.main()
