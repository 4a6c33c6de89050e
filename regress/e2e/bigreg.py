#!/usr/bin/env python3
"""A registry whose first answers are too big or too slow (stdlib only).

usage: bigreg.py ADDRESS PORT CERT KEY

The first registrations are answered, in turn, with 64 KiB of headers,
with a 12 MiB body, and with headers sent one byte a second; the next
ones, heartbeats and peer lists are well formed (a peer list after two
seconds, so that a node's polls do not spin).  Every request is logged
as one line: the path and the kind of answer.  Prints "ready" once it
listens.
"""
import http.server
import socketserver
import ssl
import sys
import threading
import time

ADDR, PORT, CERT, KEY = sys.argv[1:5]
ABUSE = ["headers", "body", "slow"]
HEADERS_BYTES = 64 * 1024
BODY_BYTES = 12 * 1024 * 1024	# over cbdiscod's 8 MiB REG_REPLY_MAX
SLOW_SECS = 30
POLL_DELAY = 2
lock = threading.Lock()
registered = [0]


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def note(self, kind):
        with lock:
            print(self.path, kind, flush=True)

    def send(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def abuse(self, kind):
        self.note(kind)
        try:
            if kind == "headers":
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                for i in range(HEADERS_BYTES // 64):
                    self.wfile.write(b"X-Pad-%04d: %s\r\n" % (i, b"a" * 50))
                self.wfile.write(b"Content-Length: 2\r\n\r\n{}")
            elif kind == "body":
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d"
                                 b"\r\n\r\n" % BODY_BYTES)
                chunk = b" " * 65536
                for _ in range(BODY_BYTES // len(chunk)):
                    self.wfile.write(chunk)
            else:
                for b in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * SLOW_SECS:
                    self.wfile.write(bytes([b]))
                    self.wfile.flush()
                    time.sleep(1)
        except OSError:
            pass
        self.close_connection = True

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/v1/register":
            with lock:
                i = registered[0]
                registered[0] += 1
            if i < len(ABUSE):
                self.abuse(ABUSE[i])
                return
        self.note("good")
        self.send(b'{"version": 1, "ttl": 30}')

    def do_GET(self):
        time.sleep(POLL_DELAY)
        self.note("good")
        self.send(b'{"version": 1, "peers": []}')


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.load_cert_chain(CERT, KEY)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self):
        # HTTPServer's own asks the resolver for the address's name.
        socketserver.TCPServer.server_bind(self)
        self.server_name = ADDR
        self.server_port = int(PORT)


srv = Server((ADDR, int(PORT)), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("ready", flush=True)
srv.serve_forever()
