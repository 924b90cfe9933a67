"""The API's send endpoint applies the limits SMTP applies: a message over
message_size_limit gets 413 and a disk below min_free_disk 507, and
nothing is stored either way. A request body over http_max_body_size gets
413 from its head, before any of the body is read."""
import base64
import socket
import unittest

from harness import Devmail, wait_for
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
            self.assertIn("message_size_limit", text["Error"])  # Mailpit: {"Error": ...}
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


class WaiterCap(unittest.TestCase):
    def test_waiters_beyond_the_cap_get_503(self):
        with Devmail(listen=("smtp", "http"), args=["--http-max-waiters", "5"]) as dm:
            socks = []
            for _ in range(5):
                s = socket.create_connection(("127.0.0.1", dm.ports["http"]), timeout=10)
                s.sendall(b"GET /api/v1/message/latest?wait=30s HTTP/1.1\r\nHost: localhost\r\n\r\n")
                socks.append(s)
            api = Api(dm.ports["http"])
            self.assertTrue(wait_for(lambda: "devmail_http_waiting 5" in api.get("/metrics")[2], timeout=10))
            st, h, text = api.get("/api/v1/message/latest?wait=30s")
            self.assertEqual(st, 503, text)
            self.assertEqual(h["Retry-After"], "1")
            self.assertIn("http_max_waiters", text)
            # without wait= the API answers as always
            self.assertEqual(api.get("/api/v1/messages")[0], 200)
            # the five held ones are still answered by a delivery
            api.request("POST", "/api/v1/send", mail(10))
            for s in socks:
                data = b""
                while b"\r\n\r\n" not in data:
                    c = s.recv(65536)
                    if not c:
                        break
                    data += c
                self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:100])
                s.close()


class BodyLimit(unittest.TestCase):
    def raw(self, port, length, send_body):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"POST /api/v1/send HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % length)
        if send_body:
            s.sendall(b"{" + b" " * (length - 2) + b"}")
        data = b""
        while b"\r\n\r\n" not in data:
            c = s.recv(65536)
            if not c:
                break
            data += c
        s.close()
        return data

    def test_http_max_body_size(self):
        with Devmail(listen=("smtp", "http"), args=["--http-max-body-size", "64K"]) as dm:
            port = dm.ports["http"]
            # one byte over: 413 at once, without waiting for the body
            head = self.raw(port, 65537, send_body=False)
            self.assertTrue(head.startswith(b"HTTP/1.1 413"), head[:200])
            self.assertIn(b"http_max_body_size", head)
            # at the limit the body is read: the endpoint judges it (400: no From)
            head = self.raw(port, 65536, send_body=True)
            self.assertTrue(head.startswith(b"HTTP/1.1 400"), head[:200])
            # a real message within the limit is stored
            api = Api(port)
            st, _, j = api.request("POST", "/api/v1/send", mail(20000))
            self.assertEqual(st, 200, j)
            st, _, text = api.request("POST", "/api/v1/send", mail(60000))
            self.assertEqual(st, 413, text)
            self.assertEqual(api.get("/api/v1/messages")[2]["messages_count"], 1)


if __name__ == "__main__":
    unittest.main()
