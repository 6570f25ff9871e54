#!/usr/bin/env python3
"""A loopback HTTP server that misbehaves on purpose, for remote-file tests.

    fault_server.py PORT FILE MODEL

Serves FILE's bytes under every path (MODEL's under /slow-tensors/); the first path segment picks the
behaviour (the rest only names a counter, so each test gets fresh counts; HEADs and
GETs are counted apart):

    /ok/...            byte ranges answered properly (206, Content-Range)
    /503-then-ok/...   the first two HEADs and GETs of each path get 503
    /always-503/...    every request gets 503
    /reset-once/...    the first GET of each path sends half its body, then resets
    /reset-always/...  every GET sends half its body, then resets
    /trickle/...       GETs send one byte every 100 ms
    /slow-tensors/...  MODEL (a safetensors file): its first 4 KiB (the header)
                       at once, ranges starting past it one byte every 100 ms
    /short-body/...    206 whose body stops at half its Content-Length (then closes)
    /long-body/...     206 with more bytes than the range asked for
    /wrong-range/...   206 whose Content-Range starts one byte late
    /ignore-range/...  200 with the whole file, whatever the Range
    /no-head/...       HEAD answered 405 (the length comes from a ranged GET)
    /captured/PATH     the request headers the last request for PATH carried
                       (any path whose first segment is no mode above: served
                       properly, its headers recorded)
    /404/... /403/... /401/...   that status for every request
    /416/...           416 for every GET (HEAD answers the length)
"""
import http.server
import re
import socket
import struct
import sys
import threading
import time

COUNTS = {}
CAPTURED = {}
MODES = {"ok", "503-then-ok", "always-503", "reset-once", "reset-always", "trickle",
         "slow-tensors", "short-body", "long-body", "wrong-range", "ignore-range", "no-head",
         "captured", "404", "403", "401", "416"}
LOCK = threading.Lock()


def count(method, path):
    with LOCK:
        key = (method, path)
        COUNTS[key] = COUNTS.get(key, 0) + 1
        return COUNTS[key]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    data = b""
    model = b""

    def log_message(self, *args):
        pass

    def mode(self):
        return self.path.strip("/").split("/")[0]

    def status_only(self, code):
        body = f"<Error><Code>Fault{code}</Code><Message>fault server</Message></Error>".encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def reset(self):
        # SO_LINGER 0: close sends RST, which the client sees as a reset.
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def do_HEAD(self):
        self.respond(head=True)

    def do_GET(self):
        self.respond(head=False)

    def respond(self, head):
        mode = self.mode()
        seen = count(self.command, self.path)
        data = self.model if mode == "slow-tensors" else self.data
        if mode == "captured":
            with LOCK:
                data = CAPTURED.get(self.path[len("/captured"):], b"")
        elif mode not in MODES:
            with LOCK:
                CAPTURED[self.path] = "".join(f"{k}: {v}\n" for k, v in self.headers.items()).encode()
        if mode in ("404", "403", "401") or (mode == "416" and not head):
            return self.status_only(int(mode))
        if mode == "always-503" or (mode == "503-then-ok" and seen <= 2):
            return self.status_only(503)
        if head:
            if mode == "no-head":
                return self.status_only(405)
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            return
        match = re.fullmatch(r"bytes=(\d+)-(\d+)", self.headers.get("Range", ""))
        if mode == "ignore-range" or not match:
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        first, last = int(match.group(1)), min(int(match.group(2)), len(data) - 1)
        body = data[first:last + 1]
        start = first + 1 if mode == "wrong-range" else first
        sent = body + b"extra" if mode == "long-body" else body
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{start + len(body) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(sent)))
        self.end_headers()
        half = len(body) // 2
        if mode == "reset-always" or (mode == "reset-once" and seen == 1):
            self.wfile.write(body[:half])
            return self.reset()
        if mode == "short-body":
            self.wfile.write(body[:half])
            self.wfile.flush()
            self.close_connection = True
            return
        if mode == "trickle" or (mode == "slow-tensors" and first >= 4096):
            for i in range(len(body)):
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
                time.sleep(0.1)
            return
        self.wfile.write(sent)


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # clients that give up mid-body (deadlines, refused bytes) are expected


def main():
    port, path, model = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    with open(path, "rb") as f:
        Handler.data = f.read()
    with open(model, "rb") as f:
        Handler.model = f.read()
    server = QuietServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
