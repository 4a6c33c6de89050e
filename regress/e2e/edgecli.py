#!/usr/bin/env python3
"""A small client of cbedged for the end-to-end tests (stdlib only).

  edgecli.py req [-s SRC] [-t TOKENFILE] [-d BODY | -D FILE | -z SIZE]
                 METHOD PATH
      one HTTPS request; prints {"status", "body", "elapsed"} as JSON
  edgecli.py flood [-s SRC] -n COUNT PATH
      COUNT GETs over keep-alive connections; prints {status: count}
  edgecli.py tls12
      exit 0 when a TLS 1.2-only handshake is refused
  edgecli.py stun HOST PORT
      a Binding request; exit 0 when XOR-MAPPED-ADDRESS is our address
  edgecli.py garbage HOST PORT
      junk on the STUN port; exit 0 when nothing comes back

The edge is $EDGE (address:port), its CA certificate $EDGE_CA.
"""

import argparse
import http.client
import json
import os
import socket
import ssl
import struct
import sys
import time

MAGIC = 0x2112A442
TIMEOUT = 40


def context(maxver=None):
    ctx = ssl.create_default_context(cafile=os.environ["EDGE_CA"])
    if maxver is not None:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.maximum_version = maxver
    return ctx


def connection(src=None, ctx=None):
    host, port = os.environ["EDGE"].rsplit(":", 1)
    host = host.strip("[]")
    return http.client.HTTPSConnection(
        host, int(port), context=ctx or context(), timeout=TIMEOUT,
        source_address=(src, 0) if src else None)


def cmd_req(a):
    headers = {}
    body = None
    if a.token:
        with open(a.token) as f:
            headers["Authorization"] = "Bearer " + f.read().strip()
    if a.data is not None:
        body = a.data.encode()
    elif a.file:
        with open(a.file, "rb") as f:
            body = f.read()
    elif a.size:
        body = b'{"hostname": "' + b"x" * a.size + b'"}'
    if body is not None:
        headers["Content-Type"] = "application/json"
    c = connection(a.src)
    start = time.monotonic()
    try:
        c.request(a.method, a.path, body=body, headers=headers)
        r = c.getresponse()
        raw = r.read()
        status = r.status
        ctype = r.getheader("Content-Type", "")
    except (OSError, http.client.HTTPException) as e:
        print(json.dumps({"status": 0, "body": str(e)}))
        return 0
    elapsed = time.monotonic() - start
    try:
        b = json.loads(raw)
    except ValueError:
        b = raw.decode(errors="replace")
    print(json.dumps({"status": status, "body": b, "ctype": ctype,
                      "elapsed": round(elapsed, 3)}))
    return 0


def cmd_flood(a):
    counts = {}
    c = connection(a.src)
    for _ in range(a.count):
        try:
            c.request("GET", a.path)
            r = c.getresponse()
            r.read()
            counts[r.status] = counts.get(r.status, 0) + 1
            if r.will_close:
                c.close()
                c = connection(a.src)
        except (ConnectionError, http.client.HTTPException):
            counts["error"] = counts.get("error", 0) + 1
            c.close()
            c = connection(a.src)
    print(json.dumps(counts))
    return 0


def cmd_tls12(a):
    c = connection(ctx=context(ssl.TLSVersion.TLSv1_2))
    try:
        c.request("GET", "/v1/health")
        c.getresponse().read()
    except (ssl.SSLError, ConnectionError) as e:
        print("refused:", e)
        return 0
    print("a TLS 1.2 handshake succeeded")
    return 1


def binding_request(txid):
    return struct.pack("!HHI", 0x0001, 0, MAGIC) + txid


def xor_mapped(msg, txid):
    mtype, mlen, cookie = struct.unpack("!HHI", msg[:8])
    if mtype != 0x0101 or cookie != MAGIC or msg[8:20] != txid:
        raise ValueError("not a Binding success for our request")
    i = 20
    while i + 4 <= 20 + mlen:
        atype, alen = struct.unpack("!HH", msg[i:i + 4])
        val = msg[i + 4:i + 4 + alen]
        if atype == 0x0020:
            fam, xport = struct.unpack("!xBH", val[:4])
            port = xport ^ (MAGIC >> 16)
            if fam == 1:
                raw = bytes(b ^ k for b, k in
                            zip(val[4:8], struct.pack("!I", MAGIC)))
                return socket.inet_ntop(socket.AF_INET, raw), port
            key = struct.pack("!I", MAGIC) + txid
            raw = bytes(b ^ k for b, k in zip(val[4:20], key))
            return socket.inet_ntop(socket.AF_INET6, raw), port
        i += 4 + ((alen + 3) & ~3)
    raise ValueError("no XOR-MAPPED-ADDRESS")


def udp_socket(host):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.socket(family, socket.SOCK_DGRAM)


def cmd_stun(a):
    s = udp_socket(a.host)
    s.settimeout(3)
    s.connect((a.host, a.port))
    txid = os.urandom(12)
    s.send(binding_request(txid))
    msg = s.recv(2048)
    mapped = xor_mapped(msg, txid)
    local = s.getsockname()[:2]
    print("mapped %s:%d local %s:%d" % (mapped + local))
    return 0 if mapped == local else 1


def cmd_garbage(a):
    s = udp_socket(a.host)
    s.settimeout(1)
    s.connect((a.host, a.port))
    junk = [b"", b"hello", os.urandom(20), os.urandom(600),
            # a header claiming more attributes than it carries
            struct.pack("!HHI", 0x0001, 40, MAGIC) + os.urandom(12),
            # a Binding response is not a request
            struct.pack("!HHI", 0x0101, 0, MAGIC) + os.urandom(12)]
    for j in junk:
        s.send(j)
    try:
        s.recv(2048)
    except socket.timeout:
        print("no answer to %d junk datagrams" % len(junk))
        return 0
    print("junk was answered")
    return 1


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("req")
    r.add_argument("-s", dest="src")
    r.add_argument("-t", dest="token")
    r.add_argument("-d", dest="data")
    r.add_argument("-D", dest="file")
    r.add_argument("-z", dest="size", type=int)
    r.add_argument("method")
    r.add_argument("path")
    f = sub.add_parser("flood")
    f.add_argument("-s", dest="src")
    f.add_argument("-n", dest="count", type=int, required=True)
    f.add_argument("path")
    sub.add_parser("tls12")
    for name in ("stun", "garbage"):
        s = sub.add_parser(name)
        s.add_argument("host")
        s.add_argument("port", type=int)
    a = p.parse_args()
    return {"req": cmd_req, "flood": cmd_flood, "tls12": cmd_tls12,
            "stun": cmd_stun, "garbage": cmd_garbage}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
