#!/usr/bin/env python3
"""A hostile registry for cbdiscod's tests (stdlib only).

usage: badreg.py ADDRESS PORT CERT KEY PEERKEY PEERTOKEN

Registration and heartbeats succeed; every peer-list request gets the
next reply of a fixed sequence of malformed ones, and then, for good,
a well-formed list naming PEERKEY (with one malformed entry beside it;
PEERKEY's entry has a "nat" of a kind no client knows, and the registry
token in the file PEERTOKEN, which the issuer signed for it).
Prints "ready" once it listens.
"""
import http.server
import json
import socketserver
import ssl
import sys
import threading

ADDR, PORT, CERT, KEY, PEER, PEERTOKEN = sys.argv[1:7]
with open(PEERTOKEN) as f:
    TOKEN = f.read().strip()
GOOD = {"public_key": PEER, "hostname": "good", "listen_port": 51820,
        "endpoints": ["203.0.113.99:51820"], "address": "10.99.0.9/24",
        "allowed_ips": ["10.99.0.9/32"], "nat": "full-cone",
        "registry_token": TOKEN}
BAD_REPLIES = [
    b"this is not json",
    b"[1, 2, 3]",
    b'{"version": 7}',
    b'{"version": "seven", "peers": []}',
    b'{"version": 7, "peers": {"a": 1}}',
    b'{"version": -1, "peers": []}',
    b'{"version": 7, "peers": [], "version": 8}',
    b"{" * 5000,
]
GOOD_REPLY = json.dumps({"version": 9, "peers": [
    {"public_key": "not a key", "address": "10.99.0.8/24"},
    {"public_key": PEER, "endpoints": ["nowhere"], "address": "x"},
    GOOD]}).encode()
lock = threading.Lock()
served = [0]


class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def send(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send(b'{"version": 1, "ttl": 30}')

    def do_GET(self):
        with lock:
            i = served[0]
            served[0] += 1
        self.send(BAD_REPLIES[i] if i < len(BAD_REPLIES) else GOOD_REPLY)


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.load_cert_chain(CERT, KEY)


class Server(http.server.ThreadingHTTPServer):
    def server_bind(self):
        # HTTPServer's own asks the resolver for the address's name
        # (getfqdn), which in a lab namespace waits for DNS timeouts.
        socketserver.TCPServer.server_bind(self)
        self.server_name = ADDR
        self.server_port = int(PORT)


srv = Server((ADDR, int(PORT)), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("ready", flush=True)
srv.serve_forever()
