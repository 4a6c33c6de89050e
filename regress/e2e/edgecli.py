#!/usr/bin/env python3
"""A small client of cbedged for the end-to-end tests (stdlib only).

  edgecli.py req [-s SRC] [-t TOKENFILE] [-d BODY | -D FILE | -z SIZE]
                 METHOD PATH
      one HTTPS request; prints {"status", "body", "elapsed"} as JSON
  edgecli.py flood [-s SRC] -n COUNT PATH
      COUNT GETs over keep-alive connections; prints {status: count,
      "elapsed": seconds from the first request to the last answer}
  edgecli.py expiry -t TTL -a TOKEN -A BODY -b TOKEN -B BODY
      registers a, then b; keeps a alive with heartbeats every TTL/4 and
      reads a's peer list every 0.1 s, all over one connection, until b
      is gone; prints when, as JSON (see cmd_expiry)
  edgecli.py tls12
      exit 0 when a TLS 1.2-only handshake is refused
  edgecli.py stun HOST PORT
      a Binding request; exit 0 when XOR-MAPPED-ADDRESS is our address;
      prints it, ours, and the port ALT-PORT names (0: none)
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
    start = time.monotonic()
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
    counts["elapsed"] = round(time.monotonic() - start, 3)
    print(json.dumps(counts))
    return 0


class Client:
    """Requests over one keep-alive connection, opened again when the
    server closes it; each answer comes with when it was sent and when
    it came back (time.monotonic())."""

    def __init__(self, src=None):
        self.src = src
        self.c = None

    def call(self, method, path, token=None, body=None):
        headers = {}
        if token:
            with open(token) as f:
                headers["Authorization"] = "Bearer " + f.read().strip()
        if body is not None:
            body = body.encode()
            headers["Content-Type"] = "application/json"
        for attempt in (0, 1):
            if self.c is None:
                self.c = connection(self.src)
            sent = time.monotonic()
            try:
                self.c.request(method, path, body=body, headers=headers)
                r = self.c.getresponse()
                raw = r.read()
            except (ConnectionError, http.client.HTTPException):
                # A kept-alive connection the server closed: once more.
                self.c.close()
                self.c = None
                if attempt:
                    raise
                continue
            back = time.monotonic()
            if r.will_close:
                self.c.close()
                self.c = None
            return r.status, json.loads(raw), sent, back


def cmd_expiry(a):
    """Time how long b's registration lives without a heartbeat.

    b's registration is stamped by the edge at some moment between t0,
    when its request was sent, and t1, when the answer came back.  Every
    0.1 s a's peer list is read; "alive_until" is when the last read
    that still listed b was sent, less t1, and "gone_by" is when the
    first read without b came back, less t0.  So b lived at least
    alive_until seconds and at most gone_by seconds after it was
    stamped, and "early" tells whether any read that came back before
    t0 + ttl missed it."""
    cli = Client(a.src)
    st, body, _, _ = cli.call("POST", "/v1/register", a.token_a, a.body_a)
    if st != 200:
        print(json.dumps({"error": "a registered: %d" % st, "body": body}))
        return 1
    beat = time.monotonic()
    st, body, t0, t1 = cli.call("POST", "/v1/register", a.token_b,
                                a.body_b)
    if st != 200:
        print(json.dumps({"error": "b registered: %d" % st, "body": body}))
        return 1
    out = {"ttl": a.ttl, "version_registered": body["version"],
           "registered_in": round(t1 - t0, 3), "reads": 0,
           "alive_until": None, "gone_by": None, "early": False}
    give_up = t1 + a.ttl + a.limit
    while time.monotonic() < give_up:
        if time.monotonic() - beat >= a.ttl / 4:
            st, body, _, _ = cli.call("POST", "/v1/heartbeat", a.token_a,
                                      "{}")
            if st != 200:
                out["error"] = "a's heartbeat answered %d" % st
                break
            beat = time.monotonic()
        st, body, sent, back = cli.call("GET", "/v1/peers", a.token_a)
        if st != 200:
            out["error"] = "a's peer list answered %d" % st
            break
        out["reads"] += 1
        names = sorted(p["hostname"] for p in body["peers"])
        if "b" in names:
            out["alive_until"] = round(sent - t1, 3)
        else:
            out["gone_by"] = round(back - t0, 3)
            out["early"] = back < t0 + a.ttl
            out["version_after"] = body["version"]
            out["peers_after"] = names
            break
        time.sleep(0.1)
    # Then b is refused, a is still registered, and it is alone.
    out["b_heartbeat"] = cli.call("POST", "/v1/heartbeat", a.token_b,
                                  "{}")[0]
    out["a_heartbeat"] = cli.call("POST", "/v1/heartbeat", a.token_a,
                                  "{}")[0]
    out["registrations"] = cli.call("GET", "/v1/health")[1]["registrations"]
    print(json.dumps(out))
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


def alt_port(msg):
    """The port cbedged's ALT-PORT (0xC0B2) names, or 0."""
    mlen = struct.unpack("!H", msg[2:4])[0]
    i = 20
    while i + 4 <= 20 + mlen:
        atype, alen = struct.unpack("!HH", msg[i:i + 4])
        if atype == 0xC0B2 and alen == 4:
            return struct.unpack("!H", msg[i + 4:i + 6])[0]
        i += 4 + ((alen + 3) & ~3)
    return 0


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
    print("mapped %s:%d local %s:%d alt %d" % (mapped + local +
                                               (alt_port(msg),)))
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
    e = sub.add_parser("expiry")
    e.add_argument("-s", dest="src")
    e.add_argument("-t", dest="ttl", type=float, required=True)
    e.add_argument("-l", dest="limit", type=float, default=20)
    e.add_argument("-a", dest="token_a", required=True)
    e.add_argument("-A", dest="body_a", required=True)
    e.add_argument("-b", dest="token_b", required=True)
    e.add_argument("-B", dest="body_b", required=True)
    sub.add_parser("tls12")
    for name in ("stun", "garbage"):
        s = sub.add_parser(name)
        s.add_argument("host")
        s.add_argument("port", type=int)
    a = p.parse_args()
    return {"req": cmd_req, "flood": cmd_flood, "expiry": cmd_expiry,
            "tls12": cmd_tls12,
            "stun": cmd_stun, "garbage": cmd_garbage}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
