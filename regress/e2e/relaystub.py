#!/usr/bin/env python3
"""A small relay speaking doc/relay.md, for the end-to-end tests of the
node's side (cbrelayd and the engine's relay transport); not cbedged's
relay.

    relaystub.py --listen ADDR:PORT --cert FILE --key FILE
                 [--mode MODE] [--restart-ms MS] [--log FILE]

TLS 1.3 only, with the given certificate.  AUTH is accepted without
verifying the token: the connection is bound to the "public_key" and
"mesh" of the registry token's payload.  SEND becomes RECV on the
destination's connection, with the sender's bound key as source, within
one mesh; a destination not connected gets PEER_GONE (reason 1).  A
destination whose connection has more than WRITE_MAX bytes unsent drops
the packet (a slow reader drops its own).

MODE makes it hostile:
    normal          as above
    garbage         after AUTH_OK, bytes that are no frame
    wrongkey        every RECV names a random key as its source
    wrongkey-data   only RECVs of WireGuard data (type 4) do

On SIGTERM it sends every client RESTARTING (reconnect in --restart-ms,
keep trying for 10 s), closes, and exits 0.  On SIGUSR1 it writes its
counters to the log.
"""

import argparse
import asyncio
import base64
import json
import os
import signal
import ssl
import struct
import sys
import time

AUTH, AUTH_OK, SEND, RECV, KEEPALIVE = 1, 2, 3, 4, 5
PEER_GONE, PEER_PRESENT, RESTARTING, ERROR = 6, 7, 8, 9
KEY_LEN = 32
PACKET_MAX = 64 * 1024
WRITE_MAX = 4 << 20
AUTH_SECS = 10

# type: (has key, data min, data max), as lib/relayproto.c
RULES = {
    AUTH: (False, 1, 8192),
    AUTH_OK: (True, 0, 0),
    SEND: (True, 1, PACKET_MAX),
    RECV: (True, 1, PACKET_MAX),
    KEEPALIVE: (False, 0, 0),
    PEER_GONE: (True, 1, 1),
    PEER_PRESENT: (True, 0, 0),
    RESTARTING: (False, 8, 8),
    ERROR: (False, 0, 256),
}


class BadFrame(Exception):
    pass


def frame(ftype, payload=b""):
    return struct.pack(">BI", ftype, len(payload)) + payload


async def read_frame(reader):
    hdr = await reader.readexactly(5)
    ftype, plen = struct.unpack(">BI", hdr)
    if ftype not in RULES:
        raise BadFrame("type %d" % ftype)
    has_key, dmin, dmax = RULES[ftype]
    klen = KEY_LEN if has_key else 0
    if plen < klen or not dmin <= plen - klen <= dmax:
        raise BadFrame("length %d for type %d" % (plen, ftype))
    return ftype, await reader.readexactly(plen)


def token_identity(tok):
    """The key and mesh a registry token names, not verified."""
    try:
        body = tok.decode("ascii").split(".")[1]
        body += "=" * (-len(body) % 4)
        claims = json.loads(base64.urlsafe_b64decode(body))
        key = base64.b64decode(claims["public_key"], validate=True)
        if len(key) != KEY_LEN:
            return None
        return key, str(claims.get("mesh", ""))
    except (ValueError, KeyError, IndexError, TypeError):
        return None


class Stub:
    def __init__(self, mode, restart_ms, log):
        self.mode = mode
        self.restart_ms = restart_ms
        self.logf = log
        self.conns = {}          # key -> Conn
        self.counters = {"auth": 0, "forwarded": 0, "dropped": 0,
                         "not_here": 0, "bad": 0}

    def log(self, msg):
        self.logf.write("%s relaystub: %s\n" % (time.strftime("%H:%M:%S"),
                                                msg))
        self.logf.flush()

    def mesh_peers(self, conn):
        return [c for c in self.conns.values()
                if c is not conn and c.mesh == conn.mesh]


class Conn:
    def __init__(self, stub, reader, writer):
        self.stub = stub
        self.reader = reader
        self.writer = writer
        self.key = None
        self.mesh = None
        self.gone_sent = {}

    def send(self, data):
        if self.writer.transport.get_write_buffer_size() > WRITE_MAX:
            self.stub.counters["dropped"] += 1
            return
        self.writer.write(data)

    async def run(self):
        stub = self.stub
        try:
            ftype, payload = await asyncio.wait_for(
                read_frame(self.reader), AUTH_SECS)
            ident = token_identity(payload) if ftype == AUTH else None
            if ident is None:
                self.writer.write(frame(ERROR, b"authentication failed"))
                await self.writer.drain()
                return
            self.key, self.mesh = ident
            old = stub.conns.get(self.key)
            stub.conns[self.key] = self
            if old is not None:
                old.writer.close()
            stub.counters["auth"] += 1
            stub.log("auth %s mesh %s" %
                     (base64.b64encode(self.key).decode()[:8], self.mesh))
            self.writer.write(frame(AUTH_OK, self.key))
            if stub.mode == "garbage":
                self.writer.write(b"\xee" * 64)
                await self.writer.drain()
                return
            for c in stub.mesh_peers(self):
                self.writer.write(frame(PEER_PRESENT, c.key))
                c.send(frame(PEER_PRESENT, self.key))
            while True:
                ftype, payload = await read_frame(self.reader)
                if ftype == SEND:
                    self.forward(payload[:KEY_LEN], payload[KEY_LEN:])
                elif ftype == KEEPALIVE:
                    pass
                else:
                    raise BadFrame("type %d from a client" % ftype)
        except BadFrame as e:
            stub.counters["bad"] += 1
            stub.log("bad frame: %s" % e)
        except (asyncio.IncompleteReadError, asyncio.TimeoutError,
                ConnectionError, ssl.SSLError, OSError):
            pass
        finally:
            if self.key is not None and stub.conns.get(self.key) is self:
                del stub.conns[self.key]
                for c in stub.mesh_peers(self):
                    c.send(frame(PEER_GONE, self.key + b"\x00"))
                stub.log("closed %s" %
                         base64.b64encode(self.key).decode()[:8])
            self.writer.close()

    def forward(self, dst, pkt):
        stub = self.stub
        c = stub.conns.get(dst)
        if c is None or c.mesh != self.mesh:
            now = time.monotonic()
            stub.counters["not_here"] += 1
            if now - self.gone_sent.get(dst, 0) >= 1:
                self.gone_sent[dst] = now
                self.send(frame(PEER_GONE, dst + b"\x01"))
            return
        src = self.key
        if stub.mode == "wrongkey" or (stub.mode == "wrongkey-data" and
                                       pkt[:1] == b"\x04"):
            src = os.urandom(KEY_LEN)
        stub.counters["forwarded"] += 1
        c.send(frame(RECV, src + pkt))


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--mode", default="normal",
                    choices=["normal", "garbage", "wrongkey",
                             "wrongkey-data"])
    ap.add_argument("--restart-ms", type=int, default=200)
    ap.add_argument("--log", default="-")
    a = ap.parse_args()
    host, port = a.listen.rsplit(":", 1)
    log = sys.stderr if a.log == "-" else open(a.log, "a")
    stub = Stub(a.mode, a.restart_ms, log)

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(a.cert, a.key)

    async def handle(reader, writer):
        await Conn(stub, reader, writer).run()

    server = await asyncio.start_server(handle, host, int(port), ssl=ctx,
                                        reuse_address=True)
    stub.log("listening on %s:%s, mode %s" % (host, port, a.mode))
    done = asyncio.get_running_loop().create_future()

    def restarting():
        stub.log("restarting: telling %d clients" % len(stub.conns))
        for c in list(stub.conns.values()):
            c.writer.write(frame(RESTARTING,
                                 struct.pack(">II", a.restart_ms, 10000)))
        if not done.done():
            done.set_result(None)

    def counters():
        stub.log("counters %s" % json.dumps(stub.counters))

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, restarting)
    loop.add_signal_handler(signal.SIGUSR1, counters)
    async with server:
        await done
        # Let the notices go out, then close everyone.
        for c in list(stub.conns.values()):
            try:
                await asyncio.wait_for(c.writer.drain(), 1)
            except (asyncio.TimeoutError, ConnectionError, OSError):
                pass
            c.writer.close()
        server.close()
    counters()


if __name__ == "__main__":
    asyncio.run(main())
