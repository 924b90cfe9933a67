"""The API document (`GET /api/v1/swagger.json`, OpenAPI 2.0) is true:

- it is well formed: every operation has responses, every `$ref` resolves,
  every path parameter is declared;
- it lists exactly the routes of the server's route table
  (src/http/http_api.c), so a new route cannot go undocumented and a
  removed one cannot stay;
- every documented operation, called with the document's own example body
  and real IDs, answers one of the status codes the document gives for it,
  with a declared content type.
"""
import base64
import json
import os
import re
import socket
import unittest
import urllib.parse

from harness import ROOT, Devmail
from test_http_mailpit_compat import raw

TABLE = os.path.join(ROOT, "src", "http", "http_api.c")
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
# the order the operations are called in: reads first, deletions last
ORDER = {"get": 0, "post": 1, "put": 2, "delete": 3}


def table_routes():
    with open(TABLE) as f:
        src = f.read()
    rows = re.findall(r'\{"(GET|POST|PUT|DELETE|PATCH)", "([^"]+)"', src)
    return {(m.lower(), re.sub(r"\{(\w+)\.\.\.\}", r"{\1}", p)) for m, p in rows}


def resolve(doc, ref):
    node = doc
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                yield v
            else:
                yield from refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from refs(v)


def websocket_status(port, path):
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, port, key)).encode())
        head = b""
        while b"\r\n" not in head:
            chunk = s.recv(1024)
            if not chunk:
                break
            head += chunk
    return int(head.split(b" ", 2)[1])


class OpenApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dm = Devmail(listen=("smtp", "http")).start()
        cls.port = cls.dm.ports["http"]

    @classmethod
    def tearDownClass(cls):
        cls.dm.stop()

    def document(self):
        st, r, doc = raw(self.port, "GET", "/api/v1/swagger.json")
        self.assertEqual(st, 200)
        self.assertEqual(r.getheader("Content-Type"), "application/json")
        return doc

    def test_document_is_well_formed(self):
        doc = self.document()
        self.assertEqual(doc["swagger"], "2.0")
        for ref in refs(doc):
            self.assertTrue(ref.startswith("#/"), ref)
            resolve(doc, ref)  # KeyError if it does not resolve
        ids = set()
        for path, ops in doc["paths"].items():
            names = set(re.findall(r"\{(\w+)\}", path))
            for method, op in ops.items():
                self.assertIn(method, ORDER, path)
                self.assertTrue(op["responses"], (method, path))
                self.assertNotIn(op["operationId"], ids)
                ids.add(op["operationId"])
                declared = {p["name"] for p in op["parameters"] if p["in"] == "path"}
                self.assertEqual(declared, names, (method, path))
                bodies = [p for p in op["parameters"] if p["in"] == "body"]
                self.assertLessEqual(len(bodies), 1)
                for b in bodies:
                    self.assertIn("example", b["schema"], (method, path))

    def test_document_lists_exactly_the_route_table(self):
        doc = self.document()
        documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
        routes = table_routes()
        self.assertGreater(len(routes), 20)
        self.assertEqual(sorted(routes - documented), [], "routes missing from web/swagger.json")
        self.assertEqual(sorted(documented - routes), [], "documented routes the server does not have")

    def test_every_operation_answers_as_documented(self):
        doc = self.document()
        st, _, j = raw(self.port, "POST", "/api/v1/send", {
            "From": {"Email": "app@example.com"}, "To": [{"Email": "ann@example.com"}], "Subject": "openapi",
            "Text": "see https://example.invalid/x", "HTML": "<p>Hi <a href='https://example.invalid/x'>x</a></p>",
            "Tags": ["doc tag"],
            "Attachments": [{"Filename": "dot.png", "Content": base64.b64encode(PNG).decode()}]})
        self.assertEqual(st, 200, j)
        mid = j["ID"]
        st, _, m = raw(self.port, "GET", "/api/v1/message/%s" % mid)
        part = m["Attachments"][0]["PartID"]
        values = {"ID": mid, "PartID": part, "Tag": "doc tag"}
        # a tag is deleted while its messages still exist, and not the one renamed
        ops = sorted(((ORDER[m_], p, op) for p, o in doc["paths"].items() for m_, op in o.items()),
                     key=lambda t: (t[0], "/api/v1/tags" not in t[1], t[1]))
        method_of = {v: k for k, v in ORDER.items()}
        called = 0
        for order, path, op in ops:
            method = method_of[order]
            if method == "delete":
                values["Tag"] = "second tag"
            url = re.sub(r"\{(\w+)\}", lambda g: urllib.parse.quote(values[g.group(1)], safe=""), path)
            query = {p["name"]: ("subject:openapi" if p["name"] == "query" else None)
                     for p in op["parameters"] if p["in"] == "query" and p.get("required")}
            if query:
                url += "?" + urllib.parse.urlencode(query)
            codes = {int(c) for c in op["responses"]}
            if path == "/api/events":
                status = websocket_status(self.port, url)
                self.assertIn(status, codes, (method, path))
                called += 1
                continue
            body = next((p["schema"]["example"] for p in op["parameters"] if p["in"] == "body"), None)
            if body is not None:
                body = json.loads(json.dumps(body).replace("{ID}", mid).replace("{Tag}", values["Tag"]))
            st, r, payload = raw(self.port, method.upper(), url, body)
            self.assertIn(st, codes, "%s %s answered %d: %s" % (method, url, st, str(payload)[:300]))
            if 200 <= st < 300:
                ctype = (r.getheader("Content-Type") or "").split(";")[0]
                produces = op.get("produces", doc["produces"])
                self.assertTrue(ctype in produces or "application/octet-stream" in produces,
                                "%s %s: %s not in %s" % (method, path, ctype, produces))
            called += 1
        self.assertEqual(called, sum(len(o) for o in doc["paths"].values()))


if __name__ == "__main__":
    unittest.main()
