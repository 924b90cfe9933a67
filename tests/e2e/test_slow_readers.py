"""Clients that ask for much and read nothing do not make devmail buffer
without bound. Ten clients (IMAP FETCH of big messages, pipelined; POP3
RETR, pipelined; HTTP raw downloads, pipelined) send their commands and
never read: devmail stops producing output for a connection once
max_output_buffer bytes wait to be sent (taking no further command from
it), and closes a connection that has read nothing of its output for
send_timeout. RSS before/after is printed (the README's figure).
"""
import os
import socket
import time
import unittest
import urllib.request
import json

from harness import BIN, recipe_devmail, send_mail, wait_for

MSG_BYTES = 2 * 1024 * 1024
N_MSGS = 4


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def big_mail(i):
    line = ("%d" % i) * 75 + "\r\n"
    body = line * (MSG_BYTES // len(line))
    return "From: a@example.com\r\nTo: all@example.com\r\nSubject: big %d\r\n\r\n%s" % (i, body)


def non_reader(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # a small receive window: what the server sends waits in its buffers
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.settimeout(30)
    return s


class SlowReaders(unittest.TestCase):
    SEND_TIMEOUT = 4

    def start(self, args=()):
        dm = recipe_devmail(listen=("smtp", "imap", "pop3", "http"),
                            args=["--retention", "0", "--send-timeout", "%ds" % self.SEND_TIMEOUT] + list(args))
        dm.start()
        self.addCleanup(dm.__exit__, None, None, None)
        for i in range(N_MSGS):
            send_mail(dm, big_mail(i))
        return dm

    def attack(self, dm):
        """Ten clients that send commands for about 400 MB of output and
        read none of it."""
        socks = []
        auth = "Authorization: Basic YWxsQGV4YW1wbGUuY29tOnBhc3N3b3Jk\r\n"
        req = urllib.request.Request("http://127.0.0.1:%d/api/v1/messages" % dm.ports["http"],
                                     headers={"Authorization": auth.split(": ", 1)[1].strip()})
        ids = [m["ID"] for m in json.loads(urllib.request.urlopen(req, timeout=10).read())["messages"]]
        for k in range(5):
            s = non_reader(dm.ports["imap"])
            cmds = "a LOGIN all@example.com password\r\nb SELECT INBOX\r\n"
            cmds += "".join("f%d FETCH %d BODY.PEEK[]\r\n" % (i, i % N_MSGS + 1) for i in range(40))
            cmds += "z FETCH 1:* BODY.PEEK[]\r\n"
            s.sendall(cmds.encode())
            socks.append(s)
        # one POP3 session per maildrop at a time (RFC 1939): one of them
        for k in range(1):
            s = non_reader(dm.ports["pop3"])
            cmds = "USER all@example.com\r\nPASS password\r\n"
            cmds += "".join("RETR %d\r\n" % (i % N_MSGS + 1) for i in range(40))
            s.sendall(cmds.encode())
            socks.append(s)
        for k in range(4):
            s = non_reader(dm.ports["http"])
            cmds = "".join("GET /api/v1/message/%s/raw HTTP/1.1\r\nHost: localhost\r\n%s\r\n"
                           % (ids[i % len(ids)], auth) for i in range(40))
            s.sendall(cmds.encode())
            socks.append(s)
        return socks

    def test_bounded_output_and_send_timeout(self):
        dm = self.start()
        base = rss_kb(dm.proc.pid)
        socks = self.attack(dm)
        peak = base
        deadline = time.time() + self.SEND_TIMEOUT - 1
        while time.time() < deadline:
            peak = max(peak, rss_kb(dm.proc.pid))
            time.sleep(0.1)
        print("\nslow readers: RSS %d MB before, %d MB with 10 non-reading clients" % (base // 1024, peak // 1024))
        # each connection holds at most about max_output_buffer plus one
        # message or reply in progress, not the 80 MB it asked for (without
        # the bound: 16 MB -> 762 MB in these 3 s); ASan keeps freed memory
        # in quarantine for a while
        bound = (400 if "asan" in BIN else 120) * 1024
        self.assertLess(peak - base, bound, "RSS grew from %d to %d kB" % (base, peak))
        # the server is still answering others meanwhile
        c = socket.create_connection(("127.0.0.1", dm.ports["imap"]), timeout=5)
        self.assertTrue(c.recv(100).startswith(b"* OK"))
        c.close()
        # after send_timeout without reading, every one of them is closed
        self.assertTrue(wait_for(lambda: dm.log_text().count("not reading") >= 10, timeout=self.SEND_TIMEOUT + 10),
                        dm.log_text()[-3000:])
        for s in socks:
            s.close()
        self.assertTrue(wait_for(lambda: rss_kb(dm.proc.pid) < peak or peak - base < 20 * 1024, timeout=10))

    def test_a_slow_but_reading_client_gets_everything(self):
        dm = self.start()
        s = socket.create_connection(("127.0.0.1", dm.ports["imap"]), timeout=30)
        s.sendall(b"a LOGIN all@example.com password\r\nb SELECT INBOX\r\n" +
                  b"".join(b"f%d FETCH %d BODY.PEEK[]\r\n" % (i, i % N_MSGS + 1) for i in range(12)) +
                  b"z LOGOUT\r\n")
        got = b""
        # read slowly (about 5 MB/s), well within send_timeout between reads
        while True:
            time.sleep(0.05)
            chunk = s.recv(256 * 1024)
            if not chunk:
                break
            got += chunk
        s.close()
        self.assertIn(b"z OK", got)
        for i in range(12):
            self.assertIn(b"f%d OK" % i, got)
        self.assertGreater(len(got), 12 * MSG_BYTES)


if __name__ == "__main__":
    unittest.main()
