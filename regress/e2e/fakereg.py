#!/usr/bin/env python3
"""A scripted registry for cbdiscod's tests (stdlib only).

usage: fakereg.py list ADDRESS PORT CERT KEY LISTFILE LOG
       fakereg.py dead ADDRESS PORT LOG

list    serves HTTPS like cbedged, without checking tokens: registrations
        and heartbeats succeed (ttl 30); GET /v1/peers answers the bytes
        of LISTFILE, read again at every request, whatever they are.  A
        long poll (since= the file's "version", wait=S) waits until the
        file's version changes or S seconds pass.  Each request is logged
        to LOG as "METHOD PATH SECONDS" (time.monotonic()).
dead    a registry that is down: accepts each TCP connection, logs
        "connect SECONDS" to LOG and closes it at once.

Both print "ready" once they listen.
"""
import http.server
import json
import socket
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse

lock = threading.Lock()


def log(path, line):
    with lock:
        with open(path, "a") as f:
            f.write(line + "\n")


def version_of(raw):
    try:
        return json.loads(raw).get("version")
    except (ValueError, AttributeError):
        return None


def serve_list(addr, port, cert, key, listfile, logfile):
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def send(self, body):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            log(logfile, "POST %s %.3f" % (self.path, time.monotonic()))
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send(b'{"version": 1, "ttl": 30}')

        def do_GET(self):
            log(logfile, "GET %s %.3f" % (self.path, time.monotonic()))
            q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
            since = int(q.get("since", ["-1"])[0])
            wait = min(float(q.get("wait", ["0"])[0]), 30)
            end = time.monotonic() + wait
            while True:
                with open(listfile, "rb") as f:
                    raw = f.read()
                if version_of(raw) != since or time.monotonic() >= end:
                    break
                time.sleep(0.1)
            self.send(raw)

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert, key)

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def server_bind(self):
            # HTTPServer's own asks the resolver for the address's name
            # (getfqdn), which in a lab namespace waits for DNS timeouts.
            socketserver.TCPServer.server_bind(self)
            self.server_name = addr
            self.server_port = port

        def get_request(self):
            # The TLS handshake in the request's thread, not in accept.
            s, a = self.socket.accept()
            return ctx.wrap_socket(s, server_side=True,
                                   do_handshake_on_connect=False), a

        def finish_request(self, request, client_address):
            try:
                request.settimeout(10)
                request.do_handshake()
            except (OSError, ssl.SSLError):
                return
            super().finish_request(request, client_address)

    srv = Server((addr, port), H)
    print("ready", flush=True)
    srv.serve_forever()


def serve_dead(addr, port, logfile):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(16)
    print("ready", flush=True)
    while True:
        c, _ = s.accept()
        log(logfile, "connect %.3f" % time.monotonic())
        c.close()


def main(argv):
    if len(argv) == 8 and argv[1] == "list":
        serve_list(argv[2], int(argv[3]), argv[4], argv[5], argv[6],
                   argv[7])
    elif len(argv) == 5 and argv[1] == "dead":
        serve_dead(argv[2], int(argv[3]), argv[4])
    else:
        sys.stderr.write(__doc__)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
