#!/usr/bin/env python3
"""Floods of cbedged's registry for t_edge_flood (stdlib only).

Each command prints one JSON object of what it saw.

  edgeflood.py handshakes -n N -w SECS [-s SRC]
      N TCP connections that never start TLS; how many the edge closed
      at once (within a second), and how many more within SECS
  edgeflood.py conns -n N -w SECS [-s SRC]
      N TLS connections, one after the other, that then send nothing;
      how many finished the handshake, and how many of those the edge
      closed within SECS
  edgeflood.py slowloris -n N -w SECS [-s SRC]
      N TLS connections each sending a request head one byte a second;
      how many the edge closed within SECS, and after how long
  edgeflood.py head KIND [-t TOKENFILE] [-s SRC]
      one request: KIND "bytes" (a 16 KiB header), "lines" (64 header
      lines) or "body" (a 4 MiB body, all of it sent); prints the status
      and the JSON body of the answer
  edgeflood.py polls -n N -v VERSION -t TOKENFILE [-s SRC]
      N long polls at once (wait=30); the answers that came within
      2 seconds, by code; the others are left waiting

The edge is $EDGE (address:port), its CA certificate $EDGE_CA.
"""

import argparse
import json
import os
import socket
import ssl
import threading
import time

CONNECT_TIMEOUT = 5
AT_ONCE = 1.0		# seconds: "closed at once"
POLL_ANSWER = 2.0	# seconds: refusals of long polls come before this


def edge():
    host, port = os.environ["EDGE"].rsplit(":", 1)
    return host.strip("[]"), int(port)


def tcp(src):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(CONNECT_TIMEOUT)
    if src:
        s.bind((src, 0))
    s.connect(edge())
    return s


def tls(src):
    ctx = ssl.create_default_context(cafile=os.environ["EDGE_CA"])
    s = tcp(src)
    try:
        return ctx.wrap_socket(s, server_hostname=edge()[0])
    except (OSError, ssl.SSLError):
        s.close()
        return None


def closed(s, wait):
    """True when the peer closed s (EOF or reset) within wait seconds."""
    s.settimeout(wait)
    try:
        while True:
            if s.recv(4096) == b"":
                return True
    except socket.timeout:
        return False
    except (OSError, ssl.SSLError):
        return True


def until_closed(socks, secs):
    """How many of socks the peer closes within secs, and when."""
    start = time.monotonic()
    left = list(socks)
    when = []
    while left and time.monotonic() - start < secs:
        for s in list(left):
            if closed(s, 0.05):
                when.append(round(time.monotonic() - start, 2))
                left.remove(s)
    return when


def cmd_handshakes(a):
    socks = [tcp(a.src) for _ in range(a.n)]
    start = time.monotonic()
    at_once = [s for s in socks if closed(s, max(0.01, AT_ONCE -
               (time.monotonic() - start)))]
    held = [s for s in socks if s not in at_once]
    later = until_closed(held, a.wait)
    print(json.dumps({"opened": a.n, "closed_at_once": len(at_once),
                      "held": len(held), "closed_later": len(later),
                      "closed_after": max(later, default=0)}))


def cmd_conns(a):
    ok, refused = [], 0
    for _ in range(a.n):
        s = tls(a.src)
        if s is None:
            refused += 1
        else:
            ok.append(s)
    later = until_closed(ok, a.wait)
    print(json.dumps({"opened": a.n, "tls_ok": len(ok),
                      "refused": refused, "closed_later": len(later),
                      "closed_after": max(later, default=0)}))


def cmd_slowloris(a):
    socks = [s for s in (tls(a.src) for _ in range(a.n)) if s is not None]
    head = b"GET /v1/health HTTP/1.1\r\n" + b"X-Slow: " + b"a" * 1000
    start = time.monotonic()
    when, i = {}, 0
    while len(when) < len(socks) and time.monotonic() - start < a.wait:
        for s in socks:
            if s in when:
                continue
            try:
                s.send(head[i:i + 1])
            except (OSError, ssl.SSLError):
                when[s] = round(time.monotonic() - start, 2)
                continue
            if closed(s, 0.01):
                when[s] = round(time.monotonic() - start, 2)
        i = min(i + 1, len(head) - 1)
        time.sleep(1)
    print(json.dumps({"opened": len(socks), "closed": len(when),
                      "closed_after": max(when.values(), default=0),
                      "bytes_sent": i}))


def answer(s):
    """Status and JSON body of one HTTP answer read from s."""
    data = b""
    s.settimeout(10)
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    except (OSError, ssl.SSLError):
        pass
    if b"\r\n\r\n" not in data:
        return {"status": 0, "body": data.decode(errors="replace")}
    head, body = data.split(b"\r\n\r\n", 1)
    status = int(head.split(b" ", 2)[1])
    try:
        body = json.loads(body)
    except ValueError:
        body = body.decode(errors="replace")
    return {"status": status, "body": body}


def cmd_head(a):
    auth = b""
    if a.token:
        with open(a.token) as f:
            auth = b"Authorization: Bearer " + f.read().strip().encode() + \
                b"\r\n"
    s = tls(a.src)
    if a.kind == "bytes":
        req = b"GET /v1/health HTTP/1.1\r\nX-Big: " + b"a" * 16384 + \
            b"\r\n\r\n"
    elif a.kind == "lines":
        req = b"GET /v1/health HTTP/1.1\r\n" + b"".join(
            b"X-%d: 1\r\n" % i for i in range(64)) + b"\r\n"
    else:
        size = 4 * 1024 * 1024
        req = b"POST /v1/register HTTP/1.1\r\n" + auth + \
            b"Content-Type: application/json\r\nContent-Length: %d" \
            b"\r\n\r\n" % size + b" " * size
    s.sendall(req)
    print(json.dumps(answer(s)))


def cmd_polls(a):
    with open(a.token) as f:
        tok = f.read().strip()
    req = ("GET /v1/peers?since=%d&wait=30 HTTP/1.1\r\nHost: edge\r\n"
           "Authorization: Bearer %s\r\n\r\n" % (a.version, tok)).encode()
    socks = [tls(a.src) for _ in range(a.n)]
    for s in socks:
        s.sendall(req)
    codes = {}
    lock = threading.Lock()

    def read(s):
        s.settimeout(POLL_ANSWER)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                b = s.recv(65536)
                if not b:
                    return
                data += b
            head, body = data.split(b"\r\n\r\n", 1)
            n = 0
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    n = int(v)
            while len(body) < n:
                b = s.recv(65536)
                if not b:
                    break
                body += b
        except (OSError, ssl.SSLError, ValueError):
            return
        try:
            code = json.loads(body).get("code", "ok")
        except ValueError:
            code = "?"
        with lock:
            codes[code] = codes.get(code, 0) + 1

    th = [threading.Thread(target=read, args=(s,)) for s in socks]
    for t in th:
        t.start()
    for t in th:
        t.join()
    print(json.dumps({"sent": a.n, "answered": codes,
                      "waiting": a.n - sum(codes.values())}))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("handshakes", "conns", "slowloris"):
        c = sub.add_parser(name)
        c.add_argument("-n", type=int, required=True)
        c.add_argument("-w", dest="wait", type=float, required=True)
        c.add_argument("-s", dest="src")
    c = sub.add_parser("head")
    c.add_argument("kind", choices=("bytes", "lines", "body"))
    c.add_argument("-t", dest="token")
    c.add_argument("-s", dest="src")
    c = sub.add_parser("polls")
    c.add_argument("-n", type=int, required=True)
    c.add_argument("-v", dest="version", type=int, required=True)
    c.add_argument("-t", dest="token", required=True)
    c.add_argument("-s", dest="src")
    a = p.parse_args()
    globals()["cmd_" + a.cmd](a)


if __name__ == "__main__":
    main()
