#!/usr/bin/env python3
"""Hostile WireGuard traffic for cbp2p's end-to-end tests (stdlib only).

usage: wgpkt.py junk HOST PORT PUBKEY
       wgpkt.py flood HOST PORT PUBKEY SECONDS [SOURCE]
       wgpkt.py replay IFACE HOST PORT SECONDS

junk    sends garbage, truncated messages, initiations with a wrong mac1,
        initiations with a valid mac1 from a key nobody knows, and data
        for an unknown index; prints how many of each.
flood   sends initiations with a valid mac1 from forged keys as fast as
        it can, from one socket (bound to address SOURCE if given), and
        counts the cookie replies that come back; prints "flooding" when
        it starts.  It stops after SECONDS or at SIGTERM, whichever comes
        first, and then prints what it sent and received.
replay  captures one data message on IFACE going to HOST:PORT and sends
        it again, ten times, from another socket; prints "ready" once
        the capture is open, so nothing sent after that line is missed.
"""
import base64
import hashlib
import os
import signal
import socket
import struct
import sys
import time

INITIATION_LEN = 148
MAC1_OFFSET = 116


def mac1_key(pub):
    return hashlib.blake2s(b"mac1----" + pub).digest()


def initiation(pub, good_mac1=True):
    body = struct.pack("<II", 1, int.from_bytes(os.urandom(4), "little"))
    body += os.urandom(MAC1_OFFSET - len(body))
    key = mac1_key(pub if good_mac1 else os.urandom(32))
    mac1 = hashlib.blake2s(body, key=key, digest_size=16).digest()
    return body + mac1 + bytes(16)


def junk(host, port, pub):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sent = {}

    def send(kind, pkt):
        s.sendto(pkt, (host, port))
        sent[kind] = sent.get(kind, 0) + 1

    for n in (0, 1, 3, 4, 15, 31, 147, 149, 500):
        send("garbage", os.urandom(n))
    send("truncated", struct.pack("<I", 1) + os.urandom(100))
    send("truncated", struct.pack("<I", 2) + os.urandom(40))
    send("truncated", struct.pack("<I", 4) + os.urandom(20))
    send("truncated", struct.pack("<I", 5) + os.urandom(60))
    for _ in range(5):
        send("bad_mac1", initiation(pub, good_mac1=False))
    for _ in range(5):
        send("unknown_key", initiation(pub))
    for _ in range(5):
        send("unknown_index", struct.pack("<IIQ", 4,
             int.from_bytes(os.urandom(4), "little"), 0) + os.urandom(48))
    # A STUN Binding request: not WireGuard, handed to discovery.
    send("stun", struct.pack(">HHI", 1, 0, 0x2112A442) + os.urandom(12))
    for k, v in sorted(sent.items()):
        print(k, v)


def flood(host, port, pub, seconds, source=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if source:
        s.bind((source, 0))
    s.setblocking(False)
    pkts = [initiation(pub) for _ in range(256)]
    sent = cookies = 0
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    end = time.monotonic() + seconds
    print("flooding", flush=True)
    while not stop and time.monotonic() < end:
        for p in pkts[:32]:
            try:
                s.sendto(p, (host, port))
                sent += 1
            except BlockingIOError:
                pass
        pkts = pkts[32:] + pkts[:32]
        while True:
            try:
                r = s.recv(2048)
            except BlockingIOError:
                break
            if len(r) == 64 and r[0] == 3:
                cookies += 1
    print("sent", sent)
    print("cookies", cookies, flush=True)


def replay(iface, host, port, seconds):
    # Outgoing packets reach only ETH_P_ALL taps.
    cap = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM,
                        socket.htons(0x0003))
    cap.bind((iface, 0))
    cap.settimeout(seconds)
    print("ready", flush=True)
    want = socket.inet_aton(host)
    while True:
        pkt = cap.recv(65535)
        ihl = (pkt[0] & 0xf) * 4
        if len(pkt) < 28 or pkt[0] >> 4 != 4 or pkt[9] != 17 or pkt[16:20] != want:
            continue
        dport = struct.unpack(">H", pkt[ihl + 2:ihl + 4])[0]
        payload = pkt[ihl + 8:]
        if dport == port and len(payload) >= 32 and payload[0] == 4:
            break
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(10):
        s.sendto(payload, (host, port))
    print("replayed", 10)


def main(argv):
    if len(argv) >= 5 and argv[1] == "junk":
        junk(argv[2], int(argv[3]), base64.b64decode(argv[4]))
    elif len(argv) >= 6 and argv[1] == "flood":
        flood(argv[2], int(argv[3]), base64.b64decode(argv[4]),
              float(argv[5]), argv[6] if len(argv) >= 7 else None)
    elif len(argv) >= 6 and argv[1] == "replay":
        replay(argv[2], argv[3], int(argv[4]), float(argv[5]))
    else:
        sys.stderr.write(__doc__)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
