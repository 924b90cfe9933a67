"""The store owns the schema: no code outside src/store/ calls SQLite,
includes <sqlite3.h> or reaches the index connection (issue: store
boundary). A grep, so CI catches a query added in the wrong room. The
index's pure name helpers (index_api_id, index_flags_*_info) are allowed.
And struct store is opaque: no source outside src/store/ pulls in
<sqlite3.h> even through the store's headers (checked with the
preprocessor: `gcc -M` of every such source must not list it)."""
import os
import re
import shutil
import subprocess
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


def pkg_cflags():
    pkgs = ["libevent", "gmime-3.0", "libcjson", "openssl", "gdk-pixbuf-2.0", "gumbo", "sqlite3"]
    out = subprocess.run(["pkg-config", "--cflags"] + pkgs, capture_output=True, text=True)
    return out.stdout.split() if out.returncode == 0 else []


class StoreIsOpaque(unittest.TestCase):
    @unittest.skipUnless(shutil.which("gcc"), "needs gcc")
    def test_no_header_outside_the_store_includes_sqlite3(self):
        src = os.path.join(ROOT, "src")
        flags = ["-std=c17", "-D_GNU_SOURCE", "-I" + src, "-I" + os.path.join(ROOT, "build", "gen")] + pkg_cflags()
        found, checked = [], 0
        for d, _, files in os.walk(src):
            if os.path.relpath(d, src).split(os.sep)[0] == "store":
                continue
            for name in sorted(files):
                if not name.endswith(".c"):
                    continue
                path = os.path.join(d, name)
                out = subprocess.run(["gcc"] + flags + ["-M", path], capture_output=True, text=True, timeout=60)
                self.assertEqual(out.returncode, 0, out.stderr)
                checked += 1
                deps = out.stdout.replace("\\\n", " ").split()
                if any(os.path.basename(x) == "sqlite3.h" for x in deps):
                    found.append(os.path.relpath(path, ROOT))
        self.assertGreater(checked, 50)
        self.assertEqual(found, [], "sources outside src/store that include <sqlite3.h> (through):\n" + "\n".join(found))


if __name__ == "__main__":
    unittest.main()
