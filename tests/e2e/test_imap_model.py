"""A seeded, bounded randomised model test: two IMAP sessions on one mailbox.

Two raw IMAP connections SELECT the same mailbox and take turns at random
operations (APPEND, STORE +FLAGS/-FLAGS/FLAGS, NOOP+EXPUNGE, COPY into the
mailbox itself or another one, MOVE, FETCH, NOOP). A Python model keeps the
truth (UID -> flags and an identity token carried in the Subject) and, per
session, the sequence -> UID map that session has been told about. Every
reply is checked against it:

- an untagged EXPUNGE names a message the mailbox no longer has, EXISTS
  counts exactly the messages added since, the last FETCH FLAGS a reply
  shows of a message are its stored flags, and a UID or body a FETCH
  returns is that of the message the
  session means by that sequence number (never a newer message);
- APPEND and COPY give the next UIDs; a COPY/MOVE that includes a message
  the other session expunged is NO [EXPUNGEISSUED] and changes nothing;
- at the end both sessions agree with the model after a NOOP.

The seeds are fixed and each run is bounded (OPS operations), so the test
takes a few seconds. MODEL_SEEDS / MODEL_OPS in the environment override
them (e.g. MODEL_SEEDS=1-50 for a longer hunt).
"""
import collections
import os
import random
import re
import unittest

from harness import ImapRaw, recipe_devmail

SYSTEM_FLAGS = ["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"]
KEYWORDS = ["kw1", "kw2"]
ALL_FLAGS = SYSTEM_FLAGS + KEYWORDS


def parse_seeds(text):
    out = []
    for part in text.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            out += range(int(lo), int(hi) + 1)
        elif part:
            out.append(int(part))
    return out


SEEDS = parse_seeds(os.environ.get("MODEL_SEEDS", "1,2,3"))
OPS = int(os.environ.get("MODEL_OPS", "300"))
SESSIONS = int(os.environ.get("MODEL_SESSIONS", "2"))  # 1: a single-session sanity run


class ModelError(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise ModelError(msg)


def message(token):
    return ("From: model@example.net\r\nTo: all@example.com\r\nSubject: %s\r\n"
            "Message-ID: <%s@example.net>\r\n\r\nBody of %s.\r\n" % (token, token, token)).encode()


FETCH_RE = re.compile(rb"^\* (\d+) FETCH \((.*)\)\r\n$", re.S)


def fetch_fields(body):
    """UID, FLAGS (set) and Subject token of a FETCH response, each or None."""
    uid = flags = token = None
    m = re.search(rb"\bUID (\d+)", body)
    if m:
        uid = int(m.group(1))
    m = re.search(rb"\bFLAGS \(([^)]*)\)", body)
    if m:
        flags = set(m.group(1).decode().split()) - {"\\Recent"}
    m = re.search(rb"Subject: (\S+)", body)
    if m:
        token = m.group(1).decode()
    return uid, flags, token


class Truth:
    """The mailbox as it really is, and the second mailbox COPY/MOVE fill."""

    def __init__(self):
        self.msgs = {}      # uid -> set of flags
        self.token = {}     # uid -> identity token (kept after expunge)
        self.uidnext = 1
        self.dest_count = 0
        self.dest_uidnext = 1

    def add(self, flags, token):
        uid = self.uidnext
        self.uidnext += 1
        self.msgs[uid] = set(flags)
        self.token[uid] = token
        return uid


class Session:
    def __init__(self, name, conn, truth):
        self.name = name
        self.c = conn
        self.truth = truth
        self.uids = []  # what this session was told: seq - 1 -> uid

    def cmd(self, line):
        untagged, tagged = self.c.cmd(line)
        self.absorb(untagged)
        return untagged, tagged

    def absorb(self, untagged):
        t = self.truth
        last_flags = {}
        for r in untagged:
            m = re.match(rb"^\* (\d+) EXPUNGE\r\n$", r)
            if m:
                n = int(m.group(1))
                check(1 <= n <= len(self.uids), "%s: EXPUNGE %d beyond %d messages" % (self.name, n, len(self.uids)))
                uid = self.uids.pop(n - 1)
                check(uid not in t.msgs, "%s: EXPUNGE %d of UID %d, which still exists" % (self.name, n, uid))
                continue
            m = re.match(rb"^\* (\d+) EXISTS\r\n$", r)
            if m:
                n = int(m.group(1))
                last = self.uids[-1] if self.uids else 0
                new = sorted(u for u in t.msgs if u > last)
                check(n == len(self.uids) + len(new),
                      "%s: EXISTS %d, expected %d (+%r)" % (self.name, n, len(self.uids) + len(new), new))
                self.uids += new
                continue
            m = FETCH_RE.match(r)
            if m:
                n = int(m.group(1))
                check(1 <= n <= len(self.uids), "%s: FETCH %d beyond %d messages" % (self.name, n, len(self.uids)))
                mine = self.uids[n - 1]
                uid, flags, token = fetch_fields(m.group(2))
                check(uid is None or uid == mine, "%s: FETCH %d says UID %s, the session's is %d" %
                      (self.name, n, uid, mine))
                if token is not None:
                    check(token == t.token[mine], "%s: FETCH %d (UID %d) shows message %s, not %s" %
                          (self.name, n, mine, token, t.token[mine]))
                if flags is not None:
                    last_flags[mine] = (n, flags)
                continue
            # FLAGS, OK [..], RECENT and the like carry no model state
        # a command may show a message's cached flags and then an update;
        # the last FLAGS it shows of a message must be the stored ones
        for mine, (n, flags) in last_flags.items():
            if mine in t.msgs:
                check(flags == t.msgs[mine], "%s: FETCH %d (UID %d) FLAGS %s, stored %s" %
                      (self.name, n, mine, sorted(flags), sorted(t.msgs[mine])))

    def fetches_for(self, untagged, seq):
        out = []
        for r in untagged:
            m = FETCH_RE.match(r)
            if m and int(m.group(1)) == seq:
                out.append(fetch_fields(m.group(2)))
        return out


def apply_flags(old, op, flags):
    if op == "+":
        return old | flags
    if op == "-":
        return old - flags
    return set(flags)


class ModelRun:
    def __init__(self, test, dm, seed):
        self.test = test
        self.rnd = random.Random(seed)
        self.seed = seed
        self.truth = Truth()
        self.trace = collections.deque(maxlen=25)
        self.box = "Model%d" % seed
        self.dest = "ModelDest%d" % seed
        self.ntoken = 0
        first = self.connect(dm, "s1")
        for b in (self.box, self.dest):
            _, t = first.c.cmd("CREATE " + b)
            check(" OK" in t, t)
        self.sessions = [first] + [self.connect(dm, "s%d" % (i + 2)) for i in range(SESSIONS - 1)]
        for s in self.sessions:
            _, t = s.cmd("SELECT " + self.box)
            check(" OK [READ-WRITE]" in t, t)
            check(s.uids == [], s.uids)

    def connect(self, dm, name):
        c = ImapRaw(dm.ports["imap"])
        self.test.addCleanup(c.close)
        _, t = c.cmd("LOGIN all@example.com password")
        check(" OK" in t, t)
        return Session(name, c, self.truth)

    def log(self, s, what):
        self.trace.append("%s %s" % (s.name, what))

    def random_flags(self, nonempty):
        k = self.rnd.randint(1 if nonempty else 0, 3)
        return set(self.rnd.sample(ALL_FLAGS, k))

    @staticmethod
    def flag_list(flags):
        return "(%s)" % " ".join(sorted(flags))

    # ---- operations -----------------------------------------------------

    def op_append(self, s):
        self.ntoken += 1
        token = "m%d-%d" % (self.seed, self.ntoken)
        flags = self.random_flags(False) - {"\\Deleted"} if self.rnd.random() < 0.7 else self.random_flags(False)
        data = message(token)
        self.log(s, "APPEND %s %s" % (self.flag_list(flags), token))
        expect = self.truth.uidnext
        self.truth.add(flags, token)
        tag = s.c.next_tag()
        s.c.send(("%s APPEND %s %s {%d+}\r\n" % (tag, self.box, self.flag_list(flags), len(data))).encode()
                 + data + b"\r\n")
        untagged, t = s.c.read_until_tagged(tag)
        s.absorb(untagged)
        m = re.search(r"OK \[APPENDUID \d+ (\d+)\]", t)
        check(m and int(m.group(1)) == expect, "%s: APPEND answered %r, expected UID %d" % (s.name, t, expect))

    def op_store(self, s):
        if not s.uids:
            return self.op_noop(s)
        i = self.rnd.randrange(len(s.uids))
        uid = s.uids[i]
        op = self.rnd.choice(["+", "+", "-", "-", ""])
        flags = self.random_flags(op != "")
        by_uid = self.rnd.random() < 0.5
        line = "%sSTORE %d %sFLAGS %s" % ("UID " if by_uid else "", uid if by_uid else i + 1, op,
                                           self.flag_list(flags))
        self.log(s, line + " (UID %d%s)" % (uid, "" if uid in self.truth.msgs else ", expunged"))
        alive = uid in self.truth.msgs
        if alive:
            self.truth.msgs[uid] = apply_flags(self.truth.msgs[uid], op, flags)
        untagged, t = s.cmd(line)
        if alive:
            check(re.match(r"^t\d+ OK", t), "%s: %s answered %r" % (s.name, line, t))
            seq = s.uids.index(uid) + 1
            f = s.fetches_for(untagged, seq)
            check(f and f[-1][1] is not None, "%s: %s sent no FETCH FLAGS for %d: %r" % (s.name, line, seq, untagged))
        else:
            check(re.match(r"^t\d+ (OK|NO)", t), "%s: %s answered %r" % (s.name, line, t))

    def op_expunge(self, s):
        # NOOP first: which messages EXPUNGE removes must not depend on
        # flag changes the session was not yet told about
        self.op_noop(s)
        gone = sorted(u for u, f in self.truth.msgs.items() if "\\Deleted" in f)
        self.log(s, "EXPUNGE (removes %r)" % gone)
        for u in gone:
            del self.truth.msgs[u]
        _, t = s.cmd("EXPUNGE")
        check(re.match(r"^t\d+ OK", t), "%s: EXPUNGE answered %r" % (s.name, t))
        check(not set(gone) & set(s.uids), "%s: EXPUNGE did not report %r" % (s.name, set(gone) & set(s.uids)))

    def pick_set(self, s):
        a = self.rnd.randrange(len(s.uids))
        b = min(len(s.uids) - 1, a + self.rnd.randrange(3))
        return a, b

    def op_copy(self, s, move=False):
        if not s.uids:
            return self.op_noop(s)
        a, b = self.pick_set(s)
        uids = s.uids[a:b + 1]
        into_self = not move and self.rnd.random() < 0.5
        dest = self.box if into_self else self.dest
        line = "%s %d:%d %s" % ("MOVE" if move else "COPY", a + 1, b + 1, dest)
        alive = all(u in self.truth.msgs for u in uids)
        self.log(s, line + " (UIDs %r%s)" % (uids, "" if alive else ", some expunged"))
        if not alive:
            before = (dict((u, set(f)) for u, f in self.truth.msgs.items()), self.truth.dest_count)
            untagged, t = s.cmd(line)
            check(re.match(r"^t\d+ NO \[EXPUNGEISSUED\]", t), "%s: %s answered %r" % (s.name, line, t))
            check((self.truth.msgs, self.truth.dest_count) == before, "model changed")
            return
        if into_self:
            expect = list(range(self.truth.uidnext, self.truth.uidnext + len(uids)))
            for u in uids:
                self.truth.add(self.truth.msgs[u], self.truth.token[u])
        else:
            expect = list(range(self.truth.dest_uidnext, self.truth.dest_uidnext + len(uids)))
            self.truth.dest_uidnext += len(uids)
            self.truth.dest_count += len(uids)
        if move:
            for u in uids:
                del self.truth.msgs[u]
        untagged, t = s.cmd(line)
        text = t + "".join(r.decode("utf-8", "replace") for r in untagged)
        check(re.match(r"^t\d+ OK", t), "%s: %s answered %r" % (s.name, line, t))
        m = re.search(r"\[COPYUID \d+ (\S+) (\S+)\]", text)
        check(m, "%s: %s without COPYUID: %r" % (s.name, line, text))
        check(expand(m.group(1)) == uids and expand(m.group(2)) == expect,
              "%s: %s COPYUID %s %s, expected %r -> %r" % (s.name, line, m.group(1), m.group(2), uids, expect))
        if move:
            check(not set(uids) & set(s.uids), "%s: MOVE did not expunge %r" % (s.name, uids))

    def op_fetch(self, s):
        if not s.uids:
            return self.op_noop(s)
        i = self.rnd.randrange(len(s.uids))
        uid = s.uids[i]
        alive = uid in self.truth.msgs
        line = "FETCH %d (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])" % (i + 1)
        self.log(s, line + " (UID %d%s)" % (uid, "" if alive else ", expunged"))
        untagged, t = s.cmd(line)
        if alive:
            check(re.match(r"^t\d+ OK", t), "%s: %s answered %r" % (s.name, line, t))
            f = s.fetches_for(untagged, i + 1)
            check(any(x[0] == uid and x[2] == self.truth.token[uid] for x in f),
                  "%s: %s: %r" % (s.name, line, untagged))
        else:
            check(re.match(r"^t\d+ (OK|NO)", t), "%s: %s answered %r" % (s.name, line, t))

    def op_noop(self, s):
        self.log(s, "NOOP")
        _, t = s.cmd("NOOP")
        check(re.match(r"^t\d+ OK", t), "%s: NOOP answered %r" % (s.name, t))

    def run(self, ops):
        choices = ([self.op_append] * 4 + [self.op_store] * 6 + [self.op_expunge] * 2 + [self.op_copy] * 3 +
                   [lambda s: self.op_copy(s, move=True)] + [self.op_fetch] * 3 + [self.op_noop] * 2)
        try:
            for _ in range(ops):
                s = self.rnd.choice(self.sessions)
                self.rnd.choice(choices)(s)
            self.final()
        except (ModelError, EOFError, OSError) as e:
            raise AssertionError("seed %d: %s\nlast operations:\n  %s" %
                                 (self.seed, e, "\n  ".join(self.trace))) from None
        finally:
            # a long seed list must not run into the per-user session limit
            for s in self.sessions:
                try:
                    s.c.cmd("LOGOUT")
                except (EOFError, OSError):
                    pass
                s.c.close()

    def final(self):
        t = self.truth
        for s in self.sessions:
            self.op_noop(s)
            check(s.uids == sorted(t.msgs), "%s: knows %r, the mailbox has %r" % (s.name, s.uids, sorted(t.msgs)))
            untagged, tag = s.cmd("UID FETCH 1:* (UID FLAGS)")
            check(re.match(r"^t\d+ OK", tag), tag)
            seen = [f[0] for f in (fetch_fields(r) for r in untagged if FETCH_RE.match(r))]
            check(seen == sorted(t.msgs), "%s: UID FETCH 1:* gave %r" % (s.name, seen))
        untagged, tag = self.sessions[0].cmd("STATUS %s (MESSAGES UIDNEXT)" % self.dest)
        m = re.search(rb"MESSAGES (\d+) UIDNEXT (\d+)", b"".join(untagged))
        check(m and int(m.group(1)) == t.dest_count and int(m.group(2)) == t.dest_uidnext,
              "STATUS %s: %r, expected %d messages, UIDNEXT %d" % (self.dest, untagged, t.dest_count, t.dest_uidnext))


def expand(uidset):
    out = []
    for part in uidset.split(","):
        if ":" in part:
            lo, hi = (int(x) for x in part.split(":"))
            out += range(min(lo, hi), max(lo, hi) + 1)
        else:
            out.append(int(part))
    return out


class ImapModel(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dm = recipe_devmail(listen=("smtp", "imap")).start()

    @classmethod
    def tearDownClass(cls):
        cls.dm.__exit__(None, None, None)

    def test_two_sessions_random_operations(self):
        for seed in SEEDS:
            with self.subTest(seed=seed):
                ModelRun(self, self.dm, seed).run(OPS)


if __name__ == "__main__":
    unittest.main()
