"""The API's send endpoint applies the limits SMTP applies: a message over
message_size_limit gets 413 and a disk below min_free_disk 507, and
nothing is stored either way."""
import base64
import unittest

from harness import Devmail
from test_http_api import Api


def mail(attachment_bytes):
    return {"From": {"Email": "a@example.org"}, "To": [{"Email": "b@example.com"}], "Subject": "big", "Text": "x",
            "Attachments": [{"Filename": "blob.bin",
                             "Content": base64.b64encode(b"\0" * attachment_bytes).decode()}]}


class SendLimits(unittest.TestCase):
    def test_message_size_limit(self):
        with Devmail(listen=("smtp", "http"), args=["--message-size-limit", "100000"]) as dm:
            api = Api(dm.ports["http"])
            st, _, text = api.request("POST", "/api/v1/send", mail(200000))
            self.assertEqual(st, 413, text)
            self.assertIn("message_size_limit", text)
            self.assertEqual(api.get("/api/v1/messages")[2]["messages_count"], 0)
            self.assertEqual(api.get("/readyz")[0], 200)
            st, _, j = api.request("POST", "/api/v1/send", mail(10000))
            self.assertEqual(st, 200, j)
            self.assertEqual(api.get("/api/v1/messages")[2]["messages_count"], 1)

    def test_min_free_disk(self):
        with Devmail(listen=("smtp", "http"), args=["--min-free-disk", "1000000G"]) as dm:
            api = Api(dm.ports["http"])
            st, _, text = api.request("POST", "/api/v1/send", mail(10))
            self.assertEqual(st, 507, text)
            # not ready while mail is refused; alive all the same
            st, _, text = api.get("/readyz")
            self.assertEqual(st, 503, text)
            self.assertIn("min_free_disk", text)
            self.assertEqual(api.get("/livez")[0], 200)
            self.assertEqual(api.get("/api/v1/messages")[2]["messages_count"], 0)


if __name__ == "__main__":
    unittest.main()
