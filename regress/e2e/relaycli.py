#!/usr/bin/env python3
"""A relay client for the end-to-end tests (stdlib only): TLS 1.3 with
the test CA, the frames of doc/relay.md.

The relay is $RELAY (address:port), its CA certificate $EDGE_CA.  Every
command prints one JSON object and exits 0 unless the client itself
broke; the test judges the result.

  relaycli.py regtoken NODE.jwt
      print the registry token embedded in a node token (no JSON)
  relaycli.py auth TOKEN
      AUTH with the token in file TOKEN: {"result": "ok", "key"} or
      {"result": "error", "error": text} or {"result": "closed"}
  relaycli.py pair A B [-n N]
      A and B (token files) exchange N packets each way; checks the
      source key of every RECV and PEER_PRESENT both ways, then A
      closes and B must hear PEER_GONE(A, disconnected)
  relaycli.py exchange A B -o STATUS -s STOPFILE
      round trips A -> B -> A until STOPFILE exists; STATUS (JSON,
      rewritten every 0.2 s) counts rounds and failures
  relaycli.py mesh A X
      A and X in different meshes: each SEND to the other gets
      PEER_GONE(not here), and neither ever receives a RECV
  relaycli.py spoof A B M
      M sends to B; B must see M's key as the source, never A's; then
      M sends AUTH again with A's token and must be closed, and A and
      B still exchange
  relaycli.py replace A B
      A connects twice: the first connection must get ERROR and close,
      B hear PEER_PRESENT again and no PEER_GONE, and the second work
  relaycli.py hostile KIND [-t TOKEN] [--wait S]
      after AUTH (with -t) or before, send garbage | oversized |
      badlen | shortsend | early | relayframe | none (nothing); wait
      S seconds (15) for the relay to close: {"closed", "error"}
  relaycli.py slow TOKEN -o READY -s STOPFILE
      AUTH with a tiny receive buffer, then never read until STOPFILE
  relaycli.py flood TOKEN DSTKEY -s STOPFILE [--size N]
      SEND to DSTKEY as fast as it can until STOPFILE; counts
  relaycli.py blast A B --seconds S [--size N]
      A sends to B for S seconds as fast as it can, B counts what
      arrives: {"sent", "received", "rate"} (frames per second)
  relaycli.py connflood -n N -o READY -s STOPFILE [--tls]
      N connections (TLS handshakes with --tls, else idle TCP) held
      until STOPFILE; {"held": k, "refused": m}
  relaycli.py keepalive TOKEN [--send] [--wait S]
      AUTH, then read for S seconds (60), sending nothing or (--send)
      a KEEPALIVE every 0.5 s: the seconds until the first KEEPALIVE,
      and until the relay closed the connection, with its ERROR
  relaycli.py restarting TOKEN -o READY
      AUTH, write READY, wait for RESTARTING and the close
"""

import argparse
import base64
import json
import os
import select
import socket
import ssl
import struct
import sys
import threading
import time

AUTH, AUTH_OK, SEND, RECV, KEEPALIVE, PEER_GONE, PEER_PRESENT, \
    RESTARTING, ERROR = range(1, 10)
NAMES = {AUTH: "auth", AUTH_OK: "auth-ok", SEND: "send", RECV: "recv",
         KEEPALIVE: "keepalive", PEER_GONE: "peer-gone",
         PEER_PRESENT: "peer-present", RESTARTING: "restarting",
         ERROR: "error"}
TIMEOUT = 20


class Closed(Exception):
    pass


def b64(k):
    return base64.b64encode(k).decode()


def relay_addr():
    host, port = os.environ["RELAY"].rsplit(":", 1)
    return host.strip("[]"), int(port)


def context():
    ctx = ssl.create_default_context(cafile=os.environ["EDGE_CA"])
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx


def frame(t, payload=b""):
    return struct.pack(">BI", t, len(payload)) + payload


def read_token(path):
    with open(path) as f:
        return f.read().strip().encode()


class Conn:
    """One TLS connection to the relay, with a frame reader."""

    def __init__(self, rcvbuf=None, timeout=TIMEOUT):
        host, port = relay_addr()
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        raw = socket.socket(fam, socket.SOCK_STREAM)
        if rcvbuf:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        raw.settimeout(timeout)
        raw.connect((host, port))
        self.s = context().wrap_socket(raw, server_hostname=host)
        self.buf = b""
        self.key = None
        self.events = []        # (type, key, extra) of control frames
        self.error = None

    def send(self, t, payload=b""):
        self.s.sendall(frame(t, payload))

    def sendto(self, key, data):
        self.send(SEND, key + data)

    def recv(self, timeout=TIMEOUT):
        """The next frame (type, payload), None on timeout; Closed."""
        end = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 5:
                t, n = struct.unpack(">BI", self.buf[:5])
                if len(self.buf) >= 5 + n:
                    p = self.buf[5:5 + n]
                    self.buf = self.buf[5 + n:]
                    return t, p
            left = end - time.monotonic()
            if left <= 0:
                return None
            self.s.settimeout(left)
            try:
                d = self.s.recv(262144)
            except (socket.timeout, TimeoutError):
                return None
            except (ConnectionError, ssl.SSLError, OSError) as e:
                raise Closed(str(e))
            if not d:
                raise Closed("eof")
            self.buf += d

    def note(self, t, p):
        """Keep a control frame for later checks."""
        if t == ERROR:
            self.error = p.decode(errors="replace")
        self.events.append((t, p[:32], p[32:]))

    def next_recv(self, timeout=TIMEOUT):
        """The next RECV as (source, data), control frames noted."""
        end = time.monotonic() + timeout
        while True:
            f = self.recv(max(0.0, end - time.monotonic()))
            if f is None:
                return None
            t, p = f
            if t == RECV:
                return p[:32], p[32:]
            self.note(t, p)
            if t == ERROR:
                raise Closed("ERROR " + self.error)

    def wait_for(self, want, key=None, timeout=TIMEOUT):
        """Read until a frame of type want (and key) comes: its payload."""
        for t, k, extra in self.events:
            if t == want and (key is None or k == key):
                return k + extra
        end = time.monotonic() + timeout
        while True:
            f = self.recv(max(0.0, end - time.monotonic()))
            if f is None:
                return None
            t, p = f
            self.note(t, p)
            if t == want and (key is None or p[:32] == key):
                return p
            if t == ERROR and want != ERROR:
                raise Closed("ERROR " + self.error)

    def auth(self, token):
        self.send(AUTH, token)
        f = self.recv()
        if f is None:
            raise Closed("no answer to AUTH")
        t, p = f
        if t == AUTH_OK:
            self.key = p
            return p
        if t == ERROR:
            self.error = p.decode(errors="replace")
            raise Closed("ERROR " + self.error)
        raise Closed("unexpected %s" % NAMES.get(t, t))

    def closed_within(self, timeout):
        """True once the relay closes; ERROR text noted."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                f = self.recv(max(0.0, end - time.monotonic()))
            except Closed:
                return True
            if f is not None:
                self.note(*f)
        return False

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def connect_auth(path, **kw):
    c = Conn(**kw)
    c.auth(read_token(path))
    return c


def out(obj):
    print(json.dumps(obj))
    sys.stdout.flush()


def write_status(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.replace(tmp, path)


def cmd_regtoken(a):
    with open(a.node) as f:
        jwt = f.read().strip()
    seg = jwt.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4)))
    print(claims["registry_token"])


def cmd_auth(a):
    start = time.monotonic()
    try:
        c = Conn()
        key = c.auth(read_token(a.token))
        out({"result": "ok", "key": b64(key)})
    except Closed as e:
        res = {"result": "closed", "why": str(e)}
        if str(e).startswith("ERROR "):
            res = {"result": "error", "error": str(e)[6:]}
        res["elapsed"] = time.monotonic() - start
        out(res)
    except (OSError, ssl.SSLError) as e:
        out({"result": "closed", "why": str(e)})


def round_trip(x, y, seq):
    """x sends to y, y answers; the sources must be right."""
    data = b"ping %d " % seq + os.urandom(16)
    x.sendto(y.key, data)
    r = y.next_recv()
    if r is None:
        return "no RECV at the destination"
    if r[0] != x.key:
        return "source %s, expected %s" % (b64(r[0]), b64(x.key))
    if r[1] != data:
        return "packet changed"
    y.sendto(x.key, b"pong" + data)
    r = x.next_recv()
    if r is None:
        return "no answer"
    if r[0] != y.key or r[1] != b"pong" + data:
        return "wrong answer from %s" % b64(r[0])
    return None


def cmd_pair(a):
    res = {"ok": 0, "errors": []}
    x = connect_auth(a.a)
    y = connect_auth(a.b)
    res["present_a"] = x.wait_for(PEER_PRESENT, y.key, 10) is not None
    res["present_b"] = y.wait_for(PEER_PRESENT, x.key, 10) is not None
    for i in range(a.n):
        e = round_trip(x, y, i)
        if e:
            res["errors"].append(e)
            break
        res["ok"] += 1
    x.close()
    p = y.wait_for(PEER_GONE, x.key, 10)
    res["gone_b"] = p is not None and p[32:] == b"\x00"
    res["key_a"] = b64(x.key)
    res["key_b"] = b64(y.key)
    out(res)


def cmd_exchange(a):
    st = {"rounds": 0, "failures": 0, "errors": [], "started": False}
    last = 0.0
    try:
        x = connect_auth(a.a)
        y = connect_auth(a.b)
    except (Closed, OSError) as e:
        st["errors"].append("connect: %s" % e)
        st["failures"] += 1
        write_status(a.o, st)
        return
    st["started"] = True
    seq = 0
    while not os.path.exists(a.s):
        try:
            e = round_trip(x, y, seq)
        except (Closed, OSError) as ex:
            e = "closed: %s" % ex
        if e:
            st["failures"] += 1
            st["errors"].append(e)
            write_status(a.o, st)
            break
        st["rounds"] += 1
        seq += 1
        now = time.monotonic()
        if now - last > 0.2:
            write_status(a.o, st)
            last = now
        # Leave the relay to the others a little.
        time.sleep(0.002)
    st["done"] = True
    write_status(a.o, st)


def cmd_mesh(a):
    res = {}
    x = connect_auth(a.a)
    y = connect_auth(a.x)
    res["no_present"] = not any(t == PEER_PRESENT for t, _, _ in
                                x.events + y.events)
    for name, s, d in (("x_to_a", y, x), ("a_to_x", x, y)):
        s.sendto(d.key, b"across meshes")
        p = s.wait_for(PEER_GONE, d.key, 10)
        res[name + "_gone"] = p is not None and p[32:] == b"\x01"
    # A second SEND within a second gets no second PEER_GONE.
    before = sum(1 for t, _, _ in y.events if t == PEER_GONE)
    y.sendto(x.key, b"again")
    y.sendto(x.key, b"and again")
    # Neither got a RECV: after the PEER_GONE the SEND was dropped.
    res["a_recv"] = x.next_recv(1) is not None
    res["x_recv"] = y.next_recv(0.5) is not None
    after = sum(1 for t, _, _ in y.events if t == PEER_GONE)
    res["gone_throttled"] = after == before
    out(res)


def cmd_spoof(a):
    res = {}
    x = connect_auth(a.a)
    y = connect_auth(a.b)
    m = connect_auth(a.m)
    # M has no way to name a source: the frame carries a destination.
    m.sendto(y.key, b"I am " + x.key)
    r = y.next_recv(10)
    res["b_got"] = r is not None
    res["source_is_m"] = r is not None and r[0] == m.key
    res["source_is_a"] = r is not None and r[0] == x.key
    # A bound connection cannot bind again, to A's key or any.
    m.send(AUTH, read_token(a.a))
    res["rebind_closed"] = m.closed_within(10)
    res["rebind_error"] = m.error
    res["after"] = round_trip(x, y, 1)
    out(res)


def cmd_replace(a):
    res = {}
    x1 = connect_auth(a.a)
    y = connect_auth(a.b)
    res["present"] = y.wait_for(PEER_PRESENT, x1.key, 10) is not None
    y.events = []
    x2 = connect_auth(a.a)
    res["old_closed"] = x1.closed_within(10)
    res["old_error"] = x1.error
    # B hears A present again, and never gone.
    res["present_again"] = y.wait_for(PEER_PRESENT, x2.key, 10) is not None
    res["after"] = round_trip(x2, y, 1)
    res["gone"] = any(t == PEER_GONE for t, _, _ in y.events)
    out(res)


def cmd_hostile(a):
    c = Conn()
    if a.t:
        c.auth(read_token(a.t))
    if a.kind == "garbage":
        data = os.urandom(4096)
        data = b"\xee" + data[1:]      # not a frame type
    elif a.kind == "oversized":
        data = struct.pack(">BI", SEND, 0x7fffffff) + os.urandom(100)
    elif a.kind == "badlen":
        data = struct.pack(">BI", KEEPALIVE, 3) + b"abc"
    elif a.kind == "shortsend":
        data = struct.pack(">BI", SEND, 10) + b"0123456789"
    elif a.kind == "early":
        data = frame(SEND, b"\x00" * 32 + b"x")
    elif a.kind == "relayframe":
        data = frame(RECV, b"\x00" * 32 + b"x")
    elif a.kind == "none":
        data = b""
    else:
        raise SystemExit("unknown kind")
    start = time.monotonic()
    try:
        if data:
            c.s.sendall(data)
    except (OSError, ssl.SSLError):
        pass
    closed = c.closed_within(a.wait)
    out({"closed": closed, "error": c.error,
         "elapsed": time.monotonic() - start})


def cmd_slow(a):
    c = Conn(rcvbuf=4096)
    c.auth(read_token(a.token))
    write_status(a.o, {"key": b64(c.key)})
    while not os.path.exists(a.s):
        time.sleep(0.1)
    out({"key": b64(c.key)})


def cmd_flood(a):
    c = connect_auth(a.token)
    dst = base64.b64decode(a.dst)
    f = frame(SEND, dst + os.urandom(a.size))
    batch = f * 32
    sent = 0
    # It never reads: what the relay sends it (a few PEER_PRESENT) fits
    # in its socket buffer.
    start = time.monotonic()
    try:
        while not os.path.exists(a.s):
            c.s.sendall(batch)
            sent += 32
    except (OSError, ssl.SSLError) as e:
        out({"sent": sent, "error": str(e)})
        return
    out({"sent": sent, "seconds": time.monotonic() - start})


def cmd_blast(a):
    x = connect_auth(a.a)
    y = connect_auth(a.b)
    f = frame(SEND, y.key + os.urandom(a.size))
    batch = f * 64
    got = [0]
    done = threading.Event()

    def count():
        s = y.s
        buf = b""
        s.settimeout(1)
        while not done.is_set():
            try:
                d = s.recv(1 << 20)
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                return
            if not d:
                return
            buf += d
            off = 0
            while len(buf) - off >= 5:
                t, n = struct.unpack_from(">BI", buf, off)
                if len(buf) - off < 5 + n:
                    break
                if t == RECV:
                    got[0] += 1
                off += 5 + n
            buf = buf[off:]

    t = threading.Thread(target=count, daemon=True)
    t.start()
    sent = 0
    start = time.monotonic()
    while time.monotonic() - start < a.seconds:
        x.s.sendall(batch)
        sent += 64
    # What is in flight arrives shortly.
    time.sleep(1)
    done.set()
    el = time.monotonic() - start - 1
    out({"sent": sent, "received": got[0], "seconds": el,
         "rate": got[0] / el, "mbit": got[0] * a.size * 8 / el / 1e6})


def cmd_connflood(a):
    host, port = relay_addr()
    conns = []
    refused = 0
    for i in range(a.n):
        try:
            s = socket.create_connection((host, port), timeout=5)
            if a.tls:
                s = context().wrap_socket(s, server_hostname=host)
            else:
                # Idle TCP: the relay closes it at once if it refused it.
                r, _, _ = select.select([s], [], [], 0.5)
                if r and not s.recv(1, socket.MSG_PEEK):
                    s.close()
                    refused += 1
                    continue
            conns.append(s)
        except (OSError, ssl.SSLError):
            refused += 1
    write_status(a.o, {"held": len(conns), "refused": refused})
    while not os.path.exists(a.s):
        time.sleep(0.1)
    for s in conns:
        s.close()
    out({"held": len(conns), "refused": refused})


def cmd_keepalive(a):
    c = connect_auth(a.token)
    start = time.monotonic()
    res = {"keepalive": None, "closed": None}
    sent = start
    while time.monotonic() - start < a.wait:
        if a.send and time.monotonic() - sent >= 0.5:
            c.send(KEEPALIVE)
            sent = time.monotonic()
        try:
            f = c.recv(0.5)
        except Closed:
            res["closed"] = time.monotonic() - start
            break
        if f is None:
            continue
        c.note(*f)
        if f[0] == KEEPALIVE and res["keepalive"] is None:
            res["keepalive"] = time.monotonic() - start
    res["error"] = c.error
    out(res)


def cmd_restarting(a):
    c = connect_auth(a.token)
    write_status(a.o, {"key": b64(c.key)})
    res = {"restarting": False}
    p = None
    try:
        p = c.wait_for(RESTARTING, None, 60)
    except Closed:
        pass
    if p is not None:
        res["restarting"] = True
        res["reconnect_ms"], res["try_ms"] = struct.unpack(">II", p)
        res["closed"] = c.closed_within(10)
    out(res)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("regtoken")
    p.add_argument("node")
    p = sub.add_parser("auth")
    p.add_argument("token")
    p = sub.add_parser("pair")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("-n", type=int, default=20)
    p = sub.add_parser("exchange")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("-o", required=True)
    p.add_argument("-s", required=True)
    p = sub.add_parser("mesh")
    p.add_argument("a")
    p.add_argument("x")
    p = sub.add_parser("spoof")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("m")
    p = sub.add_parser("replace")
    p.add_argument("a")
    p.add_argument("b")
    p = sub.add_parser("hostile")
    p.add_argument("kind")
    p.add_argument("-t")
    p.add_argument("--wait", type=float, default=15)
    p = sub.add_parser("slow")
    p.add_argument("token")
    p.add_argument("-o", required=True)
    p.add_argument("-s", required=True)
    p = sub.add_parser("flood")
    p.add_argument("token")
    p.add_argument("dst")
    p.add_argument("-s", required=True)
    p.add_argument("--size", type=int, default=1400)
    p = sub.add_parser("blast")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--seconds", type=float, default=3)
    p.add_argument("--size", type=int, default=1400)
    p = sub.add_parser("connflood")
    p.add_argument("-n", type=int, required=True)
    p.add_argument("-o", required=True)
    p.add_argument("-s", required=True)
    p.add_argument("--tls", action="store_true")
    p = sub.add_parser("keepalive")
    p.add_argument("token")
    p.add_argument("--send", action="store_true")
    p.add_argument("--wait", type=float, default=60)
    p = sub.add_parser("restarting")
    p.add_argument("token")
    p.add_argument("-o", required=True)
    a = ap.parse_args()
    globals()["cmd_" + a.cmd](a)


if __name__ == "__main__":
    main()
