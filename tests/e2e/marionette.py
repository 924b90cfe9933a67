"""A minimal client of Gecko's Marionette remote protocol, enough to run
chrome-context scripts in Thunderbird and take screenshots.

Frames are "LENGTH:JSON"; a command is [0, id, name, params] and its
answer [1, id, error, result]. The server greets with one frame first.
"""
import json
import socket
import time


class Marionette:
    def __init__(self, port, timeout=60.0, proc=None):
        deadline = time.time() + timeout
        while True:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError("the browser exited with %s before Marionette answered" % proc.returncode)
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        self.buf = b""
        self.msgid = 0
        self.hello = self._read()

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("Marionette closed the connection")
        self.buf += data

    def _read(self):
        while b":" not in self.buf:
            self._fill()
        n, _, _ = self.buf.partition(b":")
        start = len(n) + 1
        while len(self.buf) < start + int(n):
            self._fill()
        frame, self.buf = self.buf[start:start + int(n)], self.buf[start + int(n):]
        return json.loads(frame)

    def call(self, name, params=None):
        self.msgid += 1
        data = json.dumps([0, self.msgid, name, params or {}]).encode()
        self.sock.sendall(b"%d:%s" % (len(data), data))
        while True:
            msg = self._read()
            if msg[0] == 1 and msg[1] == self.msgid:
                if msg[2]:
                    raise RuntimeError("%s: %s" % (name, msg[2].get("message", msg[2])))
                return msg[3]

    def run_async(self, script, *args):
        """Run an async chrome script; it ends by calling its last argument."""
        return self.call("WebDriver:ExecuteAsyncScript", {"script": script, "args": list(args)})["value"]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
