"""The store owns the schema: no code outside src/store/ calls SQLite,
includes <sqlite3.h> or reaches the index connection (issue: store
boundary). A grep, so CI catches a query added in the wrong room. The
index's pure name helpers (index_api_id, index_flags_*_info) are allowed."""
import os
import re
import unittest

from harness import ROOT

FORBIDDEN = re.compile(r"\bsqlite3_\w+\s*\(|#include\s*<sqlite3\.h>|\bindex_(?!api_id\b|flags_(to|from)_info\b)\w+\s*\(|store->(commit_)?idx\b|\bst->(commit_)?idx\b")


class StoreBoundary(unittest.TestCase):
    def test_no_sql_outside_the_store(self):
        src = os.path.join(ROOT, "src")
        found = []
        for d, _, files in os.walk(src):
            if os.path.relpath(d, src).split(os.sep)[0] == "store":
                continue
            for name in files:
                if not name.endswith((".c", ".h")):
                    continue
                path = os.path.join(d, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    for n, line in enumerate(f, 1):
                        if FORBIDDEN.search(line):
                            found.append("%s:%d: %s" % (os.path.relpath(path, ROOT), n, line.strip()))
        self.assertEqual(found, [], "SQL outside src/store:\n" + "\n".join(found))


if __name__ == "__main__":
    unittest.main()
