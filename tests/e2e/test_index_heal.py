"""A damaged index heals itself: at start the index is checked, and a
damaged one is moved aside and rebuilt from the Maildir, saying so in the
log, so every stored message is visible again (never a server that says
ready and shows nothing).
"""
import os
import unittest

from harness import ImapRaw, recipe_devmail, send_mail


def mail(i):
    return "From: a@example.com\r\nTo: all@example.com\r\nSubject: heal %d\r\n\r\nbody %d\r\n" % (i, i)


class TestIndexHeal(unittest.TestCase):
    def setUp(self):
        self.dm = recipe_devmail(listen=("smtp", "imap")).start()
        self.addCleanup(self.dm.__exit__, None, None, None)
        for i in range(30):
            send_mail(self.dm, mail(i))
        self.index = os.path.join(self.dm.data_dir, "index.sqlite")

    def exists(self):
        c = ImapRaw(self.dm.ports["imap"])
        try:
            c.cmd("LOGIN all@example.com password")
            u, t = c.cmd("SELECT INBOX")
            self.assertIn(" OK", t)
            for line in u:
                if line.endswith(b" EXISTS\r\n"):
                    return int(line.split()[1])
            return None
        finally:
            c.close()

    def damage_and_restart(self, offset, garbage):
        self.assertEqual(self.exists(), 30)
        self.assertEqual(self.dm.stop(), 0)
        with open(self.index, "r+b") as f:
            f.seek(offset)
            f.write(garbage)
        self.dm.start()

    def test_garbage_in_the_middle(self):
        size = os.path.getsize(self.index)
        self.damage_and_restart(max(4096, size // 2 - 4096), bytes((i * 37 + 11) % 256 for i in range(8192)))
        self.assertEqual(self.exists(), 30)
        log = self.dm.log_text()
        self.assertIn("is damaged", log)
        self.assertIn("rebuilding it from the Maildir", log)
        aside = [n for n in os.listdir(self.dm.data_dir) if n.startswith("index.sqlite.damaged-")]
        self.assertTrue(aside, os.listdir(self.dm.data_dir))
        # new mail is indexed too, and a restart finds the rebuilt index sound
        send_mail(self.dm, mail(30))
        self.assertEqual(self.exists(), 31)
        self.assertEqual(self.dm.stop(), 0)
        self.dm.start()
        self.assertEqual(self.dm.log_text().count("is damaged"), 1)
        self.assertEqual(self.exists(), 31)

    def test_damaged_header(self):
        self.damage_and_restart(0, b"\xff" * 100)
        self.assertEqual(self.exists(), 30)
        self.assertIn("is damaged", self.dm.log_text())


if __name__ == "__main__":
    unittest.main()
