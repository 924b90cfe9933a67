"""Search folds case for all of Unicode, the same way in IMAP SEARCH and
in the JSON API's search (issue 9 item 13): "ÉQUIPE" finds "Réunion de
l'équipe"; accents are kept ("equipe" finds neither). An index whose
full-text table predates the folding is rebuilt once at start.
"""
import base64
import json
import os
import sqlite3
import unittest
import urllib.parse
import urllib.request

from harness import ImapRaw, recipe_devmail, send_mail

MSG = ("From: =?utf-8?q?=C3=89lodie?= <elodie@example.org>\r\n"
       "To: bob@example.com\r\n"
       "Subject: =?utf-8?q?R=C3=A9union_de_l=27=C3=A9quipe?=\r\n"
       "MIME-Version: 1.0\r\n"
       "Content-Type: text/plain; charset=utf-8\r\n"
       "Content-Transfer-Encoding: 8bit\r\n"
       "\r\n"
       "Le compte-rendu est pr\u00eat: GRO\u00dfE STRA\u00dfE.\r\n").encode("utf-8")
OTHER = b"From: bob@example.com\r\nTo: bob@example.com\r\nSubject: plain ascii\r\n\r\nnothing here\r\n"


class SearchFold(unittest.TestCase):
    def setUp(self):
        self.dm = recipe_devmail(listen=("smtp", "imap", "http")).start()
        self.addCleanup(self.dm.__exit__, None, None, None)
        send_mail(self.dm, MSG)
        send_mail(self.dm, OTHER)

    def api_count(self, query):
        url = "http://127.0.0.1:%d/api/v1/search?query=%s" % (self.dm.ports["http"], urllib.parse.quote(query))
        req = urllib.request.Request(url, headers={
            "Authorization": "Basic " + base64.b64encode(b"all@example.com:password").decode()})
        with urllib.request.urlopen(req, timeout=15) as r:
            return json.loads(r.read())["messages_count"]

    def imap_search(self, key, value):
        c = ImapRaw.logged_in(self, self.dm.ports["imap"], "INBOX")
        v = value.encode("utf-8")
        u, t = c.cmd(b"SEARCH CHARSET UTF-8 " + key.encode() + b" {%d+}\r\n" % len(v) + v)
        self.assertIn(" OK", t)
        line = [x for x in u if x.startswith(b"* SEARCH")][0]
        return [int(n) for n in line.split()[2:]]

    def check(self):
        # IMAP: header and body text, folded on both sides
        self.assertEqual(self.imap_search("SUBJECT", "\u00c9QUIPE"), [1])
        self.assertEqual(self.imap_search("SUBJECT", "r\u00c9union"), [1])
        self.assertEqual(self.imap_search("FROM", "\u00c9LODIE"), [1])
        self.assertEqual(self.imap_search("BODY", "gro\u00dfe strasse"), [1])
        self.assertEqual(self.imap_search("TEXT", "PR\u00caT"), [1])
        self.assertEqual(self.imap_search("SUBJECT", "equipe"), [])
        # the API: field terms and full text, the same folding
        self.assertEqual(self.api_count("subject:\u00c9QUIPE"), 1)
        self.assertEqual(self.api_count("from:\u00c9LODIE"), 1)
        self.assertEqual(self.api_count("\u00c9QUIPE"), 1)
        self.assertEqual(self.api_count("STRASSE"), 1)
        self.assertEqual(self.api_count("subject:equipe"), 0)
        self.assertEqual(self.api_count("equipe"), 0)
        self.assertEqual(self.api_count("-\u00c9QUIPE"), 1)
        self.assertEqual(self.api_count("subject:PLAIN"), 1)

    def test_imap_and_api_fold_the_same_way(self):
        self.check()

    def test_an_old_full_text_index_is_rebuilt(self):
        self.api_count("x")  # the queued text is in the full-text index now
        self.dm.stop()
        db = sqlite3.connect(os.path.join(self.dm.data_dir, "index.sqlite"))
        with db:
            rows = db.execute("SELECT rowid, subject, addresses, body FROM messages_fts").fetchall()
            self.assertEqual(len(rows), 2)
            # as an index from before kept it: the default tokenizer, text as written
            db.execute("DROP TABLE messages_fts")
            db.execute("CREATE VIRTUAL TABLE messages_fts USING fts5(subject, addresses, body)")
            db.execute("INSERT INTO messages_fts(rowid, subject, addresses, body) VALUES(?, ?, ?, ?)",
                       (rows[0][0], "R\u00e9union de l'\u00c9QUIPE", rows[0][2], "GRO\u00dfE STRA\u00dfE"))
            db.execute("INSERT INTO messages_fts(rowid, subject, addresses, body) VALUES(?, ?, ?, ?)", rows[1])
        db.close()
        self.dm.start()
        self.check()
        self.assertIn("full-text index rebuilt", self.dm.log_text())
        db = sqlite3.connect(os.path.join(self.dm.data_dir, "index.sqlite"))
        sql = db.execute("SELECT sql FROM sqlite_master WHERE name='messages_fts'").fetchone()[0]
        db.close()
        self.assertIn("remove_diacritics 0", sql)


if __name__ == "__main__":
    unittest.main()
