"""The README stays true: its settings table is what the binary prints."""
import os
import subprocess
import unittest

from harness import BIN, ROOT


class ReadmeTest(unittest.TestCase):
    def test_config_reference_matches_binary(self):
        out = subprocess.run([BIN, "check-config", "--reference"], capture_output=True, text=True, check=True).stdout
        with open(os.path.join(ROOT, "README.md")) as f:
            text = f.read()
        begin = text.index("<!-- config-reference:begin -->\n") + len("<!-- config-reference:begin -->\n")
        end = text.index("<!-- config-reference:end -->")
        self.assertEqual(text[begin:end], out)

    def test_every_key_has_flag_and_env(self):
        out = subprocess.run([BIN, "check-config"], capture_output=True, text=True, check=True).stdout
        keys = [line.split(" = ")[0] for line in out.splitlines() if " = " in line]
        self.assertGreater(len(keys), 30)
        ref = subprocess.run([BIN, "check-config", "--reference"], capture_output=True, text=True).stdout
        for k in keys:
            self.assertIn("`--%s`" % k.replace("_", "-"), ref)
            self.assertIn("`DEVMAIL_%s`" % k.upper(), ref)


if __name__ == "__main__":
    unittest.main()
