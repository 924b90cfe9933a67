"""Free space comes back: after every message is deleted, the index gives
its freed pages back to the file system (incremental vacuum, a few
seconds later) and the WAL is cut back, without a restart."""
import os
import random
import smtplib
import string
import time
import unittest
import urllib.request

from harness import Devmail, wait_for

COUNT = 150


def index_bytes(dm):
    total = 0
    for name in ("index.sqlite", "index.sqlite-wal"):
        try:
            total += os.path.getsize(os.path.join(dm.data_dir, name))
        except OSError:
            pass
    return total


class SpaceReclaim(unittest.TestCase):
    def test_deleting_gives_space_back(self):
        rnd = random.Random(7)
        with Devmail(listen=("smtp", "http")) as dm:
            with smtplib.SMTP("127.0.0.1", dm.smtp_port, timeout=30) as s:
                for i in range(COUNT):
                    # words the full-text index has to keep
                    words = " ".join("".join(rnd.choice(string.ascii_lowercase) for _ in range(8))
                                     for _ in range(3000))
                    s.sendmail("a@example.com", ["b@example.com"],
                               ("Subject: m%d\r\n\r\n%s\r\n" % (i, words)).encode())
            # full-text indexing runs when the server is idle
            base = "http://127.0.0.1:%d" % dm.ports["http"]
            wait_for(lambda: index_bytes(dm) > 4 * 1024 * 1024, timeout=30)
            time.sleep(3)
            full = index_bytes(dm)
            self.assertGreater(full, 4 * 1024 * 1024)
            req = urllib.request.Request(base + "/api/v1/messages", method="DELETE")
            urllib.request.urlopen(req, timeout=30).read()
            self.assertTrue(wait_for(lambda: index_bytes(dm) < full / 3, timeout=20),
                            "index still %d bytes of %d after deleting everything" % (index_bytes(dm), full))
            print("index and WAL: %d bytes full, %d bytes after deleting all" % (full, index_bytes(dm)))


if __name__ == "__main__":
    unittest.main()
