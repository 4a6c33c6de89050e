#!/usr/bin/env python3
"""Write the seed corpora of regress/fuzz: real messages of each protocol,
built here the way the peers build them, in each target's input layout
(see the comment at the top of each fuzz_NAME.c).  Deterministic, so the
committed corpus is what this prints.

    regress/fuzz/mkcorpus.py [DIR]	(default: the corpus folder beside it)
"""
import base64
import hashlib
import hmac
import json
import os
import struct
import sys
import zlib

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

# What the targets use: fuzz_token.c and fuzz_yaml.c share the secret.
HS_SECRET = b"0123456789abcdef0123456789abcdef-hs256-fuzz-secret"
RS_PUB = (b"-----BEGIN PUBLIC KEY-----\n"
          b"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr5ILnSxdd0kWD52ge21a\n"
          b"YuhaRsfCBx5P/+bCzzudfYPEynlmRWenfgy0Jyn0/3TkwvYwRwx7e+6txEVVg/m/\n"
          b"MaYegDy+yUqi2MbsH5ZS2KyJCCDFIfcIroNM5iAwGO2W4mvRDBspeEqhq9oUE/nl\n"
          b"LsqxPnfNZ1cbVZCCFiKEwd2UXVeAjwd4Axe6EzKeLjKjcS1sP0R9oD+vt+trfySQ\n"
          b"v7Sv7gcOnUI+uhjO1mkGEIzDXdpUHlky8GDRyno2+5n9u7unkICqNzZpQSnfQ3Be\n"
          b"hQSA1DrjYm8Yj5w7HKvd5yTDHVTEqVmzvLxz8BV3VaLcrrGv/SYSBLZe1URkgq33\n"
          b"QwIDAQAB\n"
          b"-----END PUBLIC KEY-----\n")
NOW = 1700000000
# RFC 7748's X25519 test vector, as WireGuard keys.
PRIV_B64 = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo="
PUB_B64 = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="


def key_b64(byte):
    return base64.b64encode(bytes([byte]) * 32).decode()


def be16(v):
    return struct.pack(">H", v)


def be32(v):
    return struct.pack(">I", v)


def be64(v):
    return struct.pack(">Q", v)


def write(target, name, data):
    d = os.path.join(TOP, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def chunked(stream, sizes=()):
    """Layout of fuzz_relay and fuzz_uapi: chunk sizes, then the stream."""
    return bytes([len(sizes)]) + b"".join(be16(s) for s in sizes) + stream


# ---- replay ------------------------------------------------------------

def replay():
    def absolute(c, check=False):
        return bytes([0x80 if check else 0x00]) + be64(c)

    def behind(v):
        return bytes([0x01]) + be16(v)

    def ahead(v, words=False):
        return bytes([0x42 if words else 0x02]) + be16(v)

    write("replay", "in-order", b"".join(absolute(i) for i in range(64)))
    write("replay", "reordered", b"".join(absolute(c) for c in
          (5, 0, 3, 3, 4, 1, 2, 5, 6)) + absolute(2, True))
    # Past the back edge of the 4032-counter window and just inside it.
    write("replay", "window-edge", absolute(5000) + behind(4031) +
          behind(4032) + behind(4033) + behind(4031) + absolute(967) +
          absolute(968))
    write("replay", "ring-wrap", absolute(10) + ahead(64, True) +
          behind(100) + ahead(4096, True) + behind(4000) + ahead(1))
    write("replay", "limit", bytes([0x03, 0, 0]) + bytes([0x03, 1, 0]) +
          bytes([0x03, 0, 1]) + absolute(2 ** 64 - 2 ** 13 - 2) +
          absolute(2 ** 64 - 2 ** 13 - 1))


# ---- aip ---------------------------------------------------------------

def aip():
    pool = (bytes([10, 1, 2, 3]) + bytes(12) +
            bytes([192, 168, 7, 9]) + bytes(12) +
            bytes.fromhex("20010db8000000010000000000000001") +
            bytes.fromhex("fd000000000000000000000000000042"))
    ops_v4 = b"".join([
        bytes([0x00, 0, 8, 0]),		# insert 10/8 -> peer 0
        bytes([0x00, 0, 16, 1]),	# 10.1/16 -> 1
        bytes([0x00, 0, 24, 2]),	# 10.1.2/24 -> 2
        bytes([0x00, 0, 32, 3]),	# 10.1.2.3/32 -> 3
        bytes([0x00, 0x98, 24, 2]),	# 10.1.2.3 with bit 24 flipped /24
        bytes([0x03, 0, 0, 0]),		# lookup 10.1.2.3
        bytes([0x03, 0x9f, 0, 0]),	# lookup with bit 31 flipped
        bytes([0x05, 0, 16, 0, 0]),	# overlap 10.1/16
        bytes([0x04, 0, 0, 2, 0]),	# walk peer 2
        bytes([0x01, 0, 24, 2, 0]),	# remove 10.1.2/24 of peer 2
        bytes([0x01, 0, 24, 1, 1]),	# remove again by prefix only
        bytes([0x02, 0, 0, 3]),		# remove peer 3
        bytes([0x03, 0, 0, 0]),
        bytes([0x10, 0, 0, 1]),		# 192.168.7.9/0 -> default
        bytes([0x13, 0, 0, 0]),
    ])
    write("aip", "v4-nested", bytes([0]) + pool + ops_v4)
    ops_v6 = b"".join([
        bytes([0xa0, 0, 32, 0]),	# 2001:db8::/32
        bytes([0xa0, 0, 64, 1]),	# 2001:db8:0:1::/64
        bytes([0xa0, 0, 128, 2]),
        bytes([0xb0, 0, 8, 3]),		# fd00::/8
        bytes([0xa3, 0, 0, 0]),
        bytes([0xa3, 0xff, 0, 0]),	# bit 127 flipped
        bytes([0xa5, 0, 48, 0, 0]),
        bytes([0xa5, 0, 0, 0, 2]),	# ::/0, stop after two
        bytes([0xa1, 0, 64, 1, 0]),
        bytes([0xa3, 0, 0, 0]),
        bytes([0xa0, 0, 129, 0]),	# /129: refused
    ])
    write("aip", "v6-nested", bytes([0]) + pool + ops_v6)
    write("aip", "node-limit", bytes([0x83]) + pool + ops_v4 + ops_v6)


# ---- relay -------------------------------------------------------------

RELAY = {"auth": 1, "auth_ok": 2, "send": 3, "recv": 4, "keepalive": 5,
         "gone": 6, "present": 7, "restarting": 8, "error": 9}


def frame(t, payload):
    return bytes([RELAY[t]]) + be32(len(payload)) + payload


def relay():
    k1, k2 = bytes([1]) * 32, bytes([2]) * 32
    wg = bytes([4, 0, 0, 0]) + bytes(28)
    session = (frame("auth", b"eyJhbGciOiJSUzI1NiJ9.e30.c2ln") +
               frame("auth_ok", k1) + frame("send", k2 + wg) +
               frame("recv", k2 + wg) + frame("keepalive", b"") +
               frame("gone", k2 + b"\x01") + frame("present", k2) +
               frame("restarting", be32(1000) + be32(60000)) +
               frame("error", b"auth: expired token"))
    write("relay", "session", chunked(session))
    write("relay", "session-bytewise", chunked(session, (1,)))
    write("relay", "session-chunks", chunked(session, (3, 70, 5)))
    write("relay", "bad-type", chunked(frame("send", k2 + wg) +
                                       b"\x0a\x00\x00\x00\x00"))
    write("relay", "too-big", chunked(bytes([3]) + be32(32 + 65537)))
    write("relay", "short-key", chunked(frame("auth_ok", k1[:31])))


def relayconn():
    """fuzz_relayconn: stop byte, clock byte, then fuzz_relay's layout."""
    NEVER = 0xff
    k1, k2 = bytes([1]) * 32, bytes([2]) * 32
    wg = bytes([4, 0, 0, 0]) + bytes(28)
    session = (frame("auth_ok", k1) + frame("present", k2) +
               frame("recv", k2 + wg) + frame("keepalive", b"") +
               frame("gone", k2 + b"\x00") +
               frame("restarting", be32(1000) + be32(60000)) +
               frame("error", b"replaced by a newer connection"))
    big = frame("recv", k2 + bytes(65536))

    def w(name, stream, sizes=(), stop=NEVER, clock=1):
        write("relayconn", name, bytes([stop, clock]) +
              chunked(stream, sizes))

    w("session", session)
    w("session-bytewise", session, (1,))
    w("session-chunks", session, (3, 70, 5))
    w("stop-at-third", session, (40,), stop=2)
    w("largest-frame", big + frame("keepalive", b""), (1400,))
    w("restarting-asks-too-much", frame("restarting", be32(0xffffffff) +
                                        be32(0xffffffff)), clock=0xff)
    w("restarting-now", frame("restarting", be32(0) + be32(0)))
    w("error-binary", frame("error", bytes(range(256))))
    w("bad-header-after-frames", frame("keepalive", b"") +
      b"\x0a\x00\x00\x00\x00" + frame("keepalive", b""), (2,))
    w("too-big", frame("keepalive", b"") + bytes([4]) + be32(32 + 65537))
    w("short-key", frame("present", k2) + frame("auth_ok", k1[:31]), (9,))
    w("cut-short", session[:-3])


# ---- httpreq -----------------------------------------------------------

def httpreq():
    """fuzz_httpreq: echo size, request-URI, newline, Authorization."""
    jwt = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln"

    def w(name, uri, auth=None, size=128):
        write("httpreq", name, bytes([size - 1]) + uri +
              (b"\n" + auth if auth is not None else b""))

    w("register", b"/v1/register", b"Bearer " + jwt)
    w("peers-long-poll", b"/v1/peers?since=42&wait=30", b"Bearer " + jwt)
    w("peers-since-only", b"/v1/peers?since=18446744073709551615",
      b"bearer   " + jwt)
    w("peers-wait-too-long", b"/v1/peers?wait=31", b"BEARER " + jwt)
    w("peers-repeated", b"/v1/peers?since=1&since=2")
    w("peers-unknown", b"/v1/peers?since=1&debug=1")
    w("peers-encoded", b"/v1/peers?%73ince=0%31&wait=+5")
    w("peers-overflow", b"/v1/peers?since=18446744073709551616")
    w("peers-malformed", b"/v1/peers?since", b"Basic dXNlcjpwYXNz")
    w("leave", b"/v1/peers/self", b"Bearer")
    w("absolute-uri", b"https://edge.example:8443/v1/heartbeat?x#frag",
      b"Bearer " + jwt)
    w("path-near-miss", b"/v1/peers/", b"Bearer  ")
    w("control-bytes", b"/v1/health\x1b[2J\x7f", b"Bearer \x01", size=4)


# ---- stun --------------------------------------------------------------

COOKIE = 0x2112A442


def stun_msg(mtype, txid, attrs, fingerprint=True):
    body = b"".join(be16(t) + be16(len(v)) + v + bytes(-len(v) % 4)
                    for t, v in attrs)
    if fingerprint:
        hdr = be16(mtype) + be16(len(body) + 8) + be32(COOKIE) + txid
        crc = zlib.crc32(hdr + body) ^ 0x5354554E
        body += be16(0x8028) + be16(4) + be32(crc)
    return be16(mtype) + be16(len(body)) + be32(COOKIE) + txid + body


def xor_addr(ip, port, txid):
    mask = be32(COOKIE) + txid
    fam = 1 if len(ip) == 4 else 2
    return (bytes([0, fam]) + be16(port ^ (COOKIE >> 16)) +
            bytes(a ^ b for a, b in zip(ip, mask)))


def stun():
    txid = bytes(range(1, 13))
    seen4 = bytes([203, 0, 113, 7]) + bytes(12)
    seen6 = bytes.fromhex("20010db8000000000000000000000007")
    pre4 = seen4 + be16(51820) + be16(0) + b"\x00"
    pre6 = seen6 + be16(51820) + be16(3479) + b"\x01"
    req = stun_msg(1, txid, [])
    write("stun", "request", pre4 + req)
    write("stun", "request-v6-alt", pre6 + req)
    write("stun", "request-bare", pre4 + stun_msg(1, txid, [], False))
    write("stun", "request-ice", pre4 + stun_msg(1, txid, [
        (0x0006, b"alice:bob"), (0x0024, be32(0x6e7f00ff)),
        (0x0025, b""), (0x0008, bytes(20))]))
    write("stun", "request-unknown-required", pre4 + stun_msg(1, txid, [
        (0x0003, be32(0))]))
    ip4, ip6 = bytes([198, 51, 100, 9]), bytes.fromhex(
        "20010db8000000000000000000000009")
    write("stun", "response-v4", pre4 + stun_msg(0x0101, txid, [
        (0x0020, xor_addr(ip4, 40000, txid)),
        (0xC0B2, be16(3479) + be16(0))]))
    write("stun", "response-v6", pre4 + stun_msg(0x0101, txid, [
        (0x0020, xor_addr(ip6, 40000, txid))]))
    write("stun", "response-rfc3489", pre4 + stun_msg(0x0101, txid, [
        (0x0001, bytes([0, 1]) + be16(40000) + ip4),
        (0x0004, bytes([0, 1]) + be16(3478) + ip4),
        (0x0005, bytes([0, 1]) + be16(3479) + ip4)], False))
    write("stun", "response-integrity", pre4 + stun_msg(0x0101, txid, [
        (0x0020, xor_addr(ip4, 1, txid)), (0x0008, bytes(20)),
        (0x0003, be32(0))]))
    write("stun", "wireguard", pre4 + bytes([4, 0, 0, 0]) + bytes(28))


# ---- uapi --------------------------------------------------------------

KEY_A = "63eb8ba4fea097323aa1b92957b9e8bc7429ca72d239345c467c107bfd782f0e"
KEY_B = "aac7650ee91484e9bebc335d5834c3fb2b7fd57f357bee414173d0b4db69853f"
KEY_C = "b7a5514eaca21ee2757d737584dbdedca0e0083dc359d985191abe5e8da492e4"


def uapi():
    set_full = ("set=1\nprivate_key=%s\nlisten_port=51820\nfwmark=0\n"
                "replace_peers=true\npublic_key=%s\n"
                "preshared_key=%s\nendpoint=192.0.2.1:51820\n"
                "persistent_keepalive_interval=25\n"
                "replace_allowed_ips=true\nallowed_ip=10.0.0.0/24\n"
                "allowed_ip=fd00::1/64\nprotocol_version=1\n"
                "public_key=%s\nendpoint=[fe80::1%%eth0]:51820\n"
                "allowed_ip=0.0.0.0/0\nallowed_ip=::/0\n"
                "public_key=%s\nremove=true\n\n" %
                (KEY_A, KEY_B, KEY_C, KEY_C, KEY_A)).encode()
    write("uapi", "get", chunked(b"get=1\n\n"))
    write("uapi", "set", chunked(set_full))
    write("uapi", "set-bytewise", chunked(set_full, (1,)))
    write("uapi", "pipelined", chunked(b"get=1\n\n" + set_full +
                                       b"get=1\n\n", (5, 64)))
    write("uapi", "update-only", chunked((
        "set=1\npublic_key=%s\nupdate_only=true\n"
        "endpoint=[2001:db8::1%%7]:0051820\nallowed_ip=10.1.2.3/8\n\n" %
        KEY_B).encode()))
    write("uapi", "bad-key", chunked((
        "set=1\nlisten_port=1\npublic_key=%s\nfwmark=1\n\n" %
        KEY_B).encode()))
    write("uapi", "bad-op", chunked(b"put=1\n\n"))


# ---- imsg --------------------------------------------------------------

def imsg_hdr(itype, length, flags=0, peerid=0, pid=4242):
    return struct.pack("<IHHII", itype, length, flags, peerid, pid)


def imsg():
    def w(data, fd=False):
        return bytes([1 if fd else 0]) + be16(len(data)) + data

    msg1 = imsg_hdr(7, 16 + 5, peerid=3) + b"hello"
    msg2 = imsg_hdr(9, 16)
    msgfd = imsg_hdr(11, 16 + 4, flags=1) + be32(1)
    write("imsg", "one", w(msg1))
    write("imsg", "two-in-one", w(msg1 + msg2))
    write("imsg", "split", w(msg1[:3]) + w(msg1[3:17]) + w(msg1[17:]))
    write("imsg", "with-fd", w(msgfd, True) + w(msg1) + w(msgfd, True))
    write("imsg", "fd-early", w(msg1, True) + w(msgfd))
    write("imsg", "fds-flood", b"".join(w(msg2, True) for _ in range(17)))
    write("imsg", "bad-len", w(msg1 + imsg_hdr(1, 8)))
    write("imsg", "max", w(imsg_hdr(2, 16384) + bytes(16384 - 16)))
    write("imsg", "over-max", w(imsg_hdr(2, 16385)))


# ---- offload -----------------------------------------------------------

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def tcp(seq, flags, payload, options=b""):
    doff = (20 + len(options)) // 4
    return (be16(40000) + be16(5201) + be32(seq) + be32(0x01020304) +
            bytes([doff << 4, flags]) + be16(502) + be16(0) + be16(0) +
            options + payload)


def ipv4(seg, ident=0x1234):
    hdr = (bytes([0x45, 0]) + be16(20 + len(seg)) + be16(ident) +
           be16(0x4000) + bytes([64, 6]) + be16(0) +
           bytes([10, 0, 0, 1, 10, 0, 0, 2]))
    hdr = hdr[:10] + be16(csum(hdr)) + hdr[12:]
    return hdr + seg


def ipv6(seg):
    return (bytes([0x60, 0, 0, 0]) + be16(len(seg)) + bytes([6, 64]) +
            bytes.fromhex("fd000000000000000000000000000001") +
            bytes.fromhex("fd000000000000000000000000000002") + seg)


def vnet(gso_type, gso_size, hdr_len, flags=0, csum_start=0, csum_off=0):
    return struct.pack("<BBHHHH", flags, gso_type, hdr_len, gso_size,
                       csum_start, csum_off)


def offload():
    payload = bytes((i * 7) & 0xFF for i in range(3000))
    ack, psh = 0x10, 0x18
    sup4 = ipv4(tcp(1000, psh, payload))
    sup6 = ipv6(tcp(1000, ack, payload))
    opts = b"\x01\x01\x08\x0a" + be32(1) + be32(2)
    sup4o = ipv4(tcp(7, psh, payload[:2000], opts))
    write("offload", "tso-v4", b"\x00" + vnet(1, 1400, 40) + be16(1500) +
          sup4)
    write("offload", "tso-v6", b"\x00" + vnet(4, 1200, 60) + be16(65535) +
          sup6)
    write("offload", "tso-v4-options", b"\x00" + vnet(1, 1000, 52) +
          be16(1052) + sup4o)
    write("offload", "tso-tight-cap", b"\x00" + vnet(1, 1400, 40) +
          be16(1439) + sup4)
    write("offload", "tso-fin-cwr", b"\x00" + vnet(0x81, 1000, 40) +
          be16(65535) + ipv4(tcp(1, 0x99, payload[:2500])))
    write("offload", "csum-partial", b"\x00" + vnet(0, 0, 0, 1, 20, 16) +
          be16(65535) + ipv4(tcp(1, psh, payload[:100])))

    def gro(pkts):
        return b"\x01" + b"".join(be16(len(p)) + p for p in pkts)

    segs4 = [ipv4(tcp(1000 + i * 1000, ack, payload[i * 1000:(i + 1) *
                                                      1000]), 0x100 + i)
             for i in range(3)]
    last = ipv4(tcp(4000, psh, payload[:500]), 0x103)
    write("offload", "gro-v4-run", gro(segs4 + [last]))
    segs6 = [ipv6(tcp(1 + i * 800, ack, payload[:800])) for i in range(3)]
    write("offload", "gro-v6-run", gro(segs6))
    write("offload", "gro-two-flows", gro([segs4[0], segs6[0], segs4[1],
                                           segs6[1]]))
    write("offload", "gro-gap", gro([segs4[0], segs4[2]]))


# ---- registry (cbedged) ------------------------------------------------

def registry():
    def op(o, tok, dt, body=b""):
        return bytes([o, tok]) + be16(dt) + be16(len(body)) + body

    def reg(host, addr, aips=None, eps=None, port=51820, nat=None):
        b = {"hostname": host, "listen_port": port, "address": addr}
        if aips is not None:
            b["allowed_ips"] = aips
        if eps is not None:
            b["endpoints"] = eps
        if nat is not None:
            b["nat"] = nat
        return json.dumps(b).encode()

    r0 = reg("node-0", "10.99.0.1/24", ["10.99.0.0/25", "fd99::1/128"],
             ["192.0.2.7:51820", "[2001:db8::7]:51820"], nat="independent")
    r1 = reg("node-1", "10.99.0.2/24", ["10.99.0.2/32"])
    r2 = reg("node-2", "10.99.0.3/24")
    r3 = reg("node-3", "10.99.0.4/24", ["10.99.0.4/32"])
    r4 = reg("node-4", "10.98.0.1/16", ["10.98.0.0/16"])
    hb = json.dumps({"endpoints": ["198.51.100.1:4000"],
                     "nat": "symmetric"}).encode()
    write("registry", "lifecycle", bytes([0x11]) + op(0, 0, 0, r0) +
          op(0, 1, 10, r1) + op(0, 2, 10, r2) + op(3, 0, 0) +
          op(1, 1, 1000, hb) + op(1, 0, 1000, b"") + op(4, 0, 2500) +
          op(3, 1, 0) + op(2, 1, 0) + op(0, 4, 0, r4) + op(3, 4, 0))
    write("registry", "limits", bytes([0x01]) + op(0, 0, 0, r0) +
          op(0, 1, 0, r1) + op(0, 2, 0, r2) + op(0, 4, 0, r4) +
          op(2, 0, 0) + op(0, 4, 0, r4))
    bad = [reg("node-1", "10.99.0.2/24", ["10.99.0.0/24"]),
           reg("node-0", "10.99.0.9/24"),
           reg("node-3", "10.99.0.4/24", ["10.99.0.5/32"]),
           b'{"hostname": "x", "listen_port": 0, "address": "10.99.0.2/24"}',
           b'{"hostname": "x\\u0001", "listen_port": 1, "address": "1.2.3.4/32"}',
           b'{"public_key": "' + key_b64(2).encode() + b'", "hostname": "a",'
           b' "listen_port": 1, "address": "10.99.0.3/24"}',
           b'{"hostname": "a", "hostname": "b"}', b"[]", b"{"]
    write("registry", "refused", bytes([0x44]) + op(0, 0, 0, r0) +
          op(0, 1, 0, bad[0]) + op(0, 0, 0, bad[1]) + op(0, 3, 0, bad[2]) +
          op(0, 1, 0, bad[3]) + op(0, 1, 0, bad[4]) + op(0, 2, 0, bad[5]) +
          op(0, 2, 0, bad[6]) + op(0, 2, 0, bad[7]) + op(0, 2, 0, bad[8]) +
          op(1, 0, 0, b'{"endpoints": ["example.com:1"]}') +
          op(1, 1, 0, hb) + op(0, 3, 0, r3))


# ---- regreply (cbdiscod) -----------------------------------------------

# What fuzz_regreply.c's cbdiscod takes for its own mesh; tokens good
# until 2100 (it reads the clock).
REG_MESH = "fuzz-mesh"
REG_EXP = 4102444800


def regtoken(keybyte, grants=("0.0.0.0/0", "::/0"), mesh=REG_MESH):
    """A registry token from the fuzz issuer (HS256) for a peer."""
    claims = {"exp": REG_EXP, "token_use": "registry",
              "public_key": key_b64(keybyte), "mesh": mesh}
    if grants is not None:
        claims["allowed_ips"] = list(grants)
    return jwt({"alg": "HS256", "typ": "JWT"}, claims).decode()


def regreply():
    def entry(keybyte, addr, aips=None, eps=None, host=None, nat=None,
              token=True):
        e = {"public_key": key_b64(keybyte), "address": addr,
             "listen_port": 51820}
        if token is True:
            e["registry_token"] = regtoken(keybyte)
        elif token is not None:
            e["registry_token"] = token
        if aips is not None:
            e["allowed_ips"] = aips
        if eps is not None:
            e["endpoints"] = eps
        if host is not None:
            e["hostname"] = host
        if nat is not None:
            e["nat"] = nat
        return e

    peers = [
        entry(1, "10.77.0.2/16", ["10.77.0.2/32", "10.77.8.0/24"],
              ["192.0.2.1:51820", "[2001:db8::1]:51820"], "alpha",
              "independent"),
        entry(2, "10.77.0.3/16", None, None, "beta", "symmetric"),
        entry(3, "10.77.0.4/16", ["10.78.0.0/16"], [], "bad name"),
        entry(4, "10.88.0.1/16", ["10.88.0.0/16"]),
        entry(5, "fd77:1::5/48", ["fd77:1::5/128", "fd77:1:2::/64"],
              ["[fe80::1]:1"], "gamma", "carrier-grade"),
        entry(6, "10.77.0.7/16", ["0.0.0.0/0"]),
        {"public_key": "not a key", "address": "10.77.0.9/16"},
        entry(7, "10.77.0.8/16", ["10.77.0.8"]),
        # Refused for their tokens: a prefix not granted, none, another
        # mesh's, another key's, no allowed_ips claim (a host route only).
        entry(10, "10.77.0.10/16", ["10.77.0.0/16"],
              token=regtoken(10, ["10.77.0.10/32"])),
        entry(11, "10.77.0.11/16", ["10.77.0.11/32"], token=None),
        entry(12, "10.77.0.12/16", ["10.77.0.12/32"],
              token=regtoken(12, mesh="other-mesh")),
        entry(13, "10.77.0.13/16", ["10.77.0.13/32"], token=regtoken(14)),
        entry(15, "10.77.0.15/16", ["10.77.0.15/32"],
              token=regtoken(15, None)),
    ]
    body = json.dumps({"version": 42, "peers": peers}).encode()
    write("regreply", "list-v4", b"\x01" + body)
    write("regreply", "list-v6", b"\x02" + body)
    write("regreply", "list-nosubnet", b"\x00" + body)
    write("regreply", "list-custom", b"\x03" + bytes([10, 77]) + bytes(14) +
          bytes([17]) + body)
    write("regreply", "empty", b"\x01" + b'{"version": 0, "peers": []}')
    write("regreply", "bad", b"\x01" + b'{"version": -1, "peers": []}')
    write("regreply", "too-many-endpoints", b"\x01" + json.dumps(
        {"version": 1, "peers": [entry(9, "10.77.0.9/16", None,
                                       ["192.0.2.1:%d" % p
                                        for p in range(1, 10)])]}).encode())


def regack():
    """fuzz_regack: a register or heartbeat reply body."""
    def w(name, body):
        write("regack", name, body if isinstance(body, bytes) else
              json.dumps(body).encode())

    w("register", {"version": 7, "ttl": 90})
    w("heartbeat-no-ttl", {"version": 8})
    w("ttl-too-short", {"version": 1, "ttl": 2})
    w("ttl-too-long", {"version": 1, "ttl": 86401})
    w("ttl-not-integer", {"version": 1, "ttl": 30.5})
    w("version-largest", {"version": 2 ** 63 - 1, "ttl": 3})
    w("version-too-big", b'{"version": 9223372036854775808}')
    w("version-negative", {"version": -1})
    w("version-string", {"version": "7"})
    w("duplicate-keys", b'{"version": 1, "version": 2}')
    w("not-an-object", [{"version": 1}])
    w("empty", b"")
    w("trailing-bytes", b'{"version": 1} x')


# ---- token -------------------------------------------------------------

def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=")


def jwt(header, claims, key=HS_SECRET):
    h = b64url(json.dumps(header).encode())
    c = b64url(json.dumps(claims).encode())
    sig = hmac.new(key, h + b"." + c, hashlib.sha256).digest()
    return h + b"." + c + b"." + b64url(sig)


def node_claims():
    return {
        "connection_type": "p2p-mesh", "exp": NOW + 3600,
        "nbf": NOW - 60, "iss": "https://edge.example",
        "aud": ["cbp2p-mesh", "other"], "sub": "node-1",
        "wireguard_config": {
            "private_key": PRIV_B64, "public_key": PUB_B64,
            "allowed_ips": ["10.99.0.1/32", "fd99::1/128"],
            "endpoint": "203.0.113.5:51820", "listen_port": 51820},
        "mesh_config": {"auto_discovery": True, "persistent": False,
                        "routing": "hybrid",
                        "encryption": "chacha20-poly1305"},
        "peer_whitelist": {"allowed_peers": [key_b64(1)],
                           "auto_approve": False, "max_peers": 10},
        "network_config": {"address": "10.99.0.1/24",
                           "subnet": "10.99.0.0/16",
                           "dns": ["10.99.0.53", "2001:db8::53"],
                           "mtu": 1400}}


def server_claims():
    c = node_claims()
    c["connection_type"] = "server-server"
    c["peers"] = [{"public_key": key_b64(1), "preshared_key": key_b64(9),
                   "endpoint": "198.51.100.1:51820",
                   "allowed_ips": ["10.99.1.0/24"],
                   "persistent_keepalive": 25}]
    return c


def reg_claims():
    return {"token_use": "registry", "exp": NOW + 3600,
            "iss": "https://edge.example", "aud": "cbp2p-mesh",
            "sub": "node-1", "public_key": PUB_B64, "mesh": "mesh-a",
            "address": "10.99.0.1/24",
            "allowed_ips": ["10.99.0.1/32", "10.99.4.0/22"]}


def token():
    hs = {"alg": "HS256", "typ": "JWT"}
    # Mode byte: 0 raw HS256, 0x08 raw RS256; 0x20 issuer, 0x40 audience.
    write("token", "raw-node", b"\x60" + jwt(hs, node_claims()))
    write("token", "raw-server", b"\x00" + jwt(hs, server_claims()))
    write("token", "raw-registry", b"\x60" + jwt(hs, reg_claims()))
    expired = node_claims()
    expired["exp"] = NOW
    write("token", "raw-expired", b"\x00" + jwt(hs, expired))
    write("token", "raw-crit", b"\x00" + jwt(dict(hs, crit=["x"]),
                                              reg_claims()))
    none = b64url(b'{"alg":"none"}') + b"." + b64url(
        json.dumps(reg_claims()).encode()) + b"."
    write("token", "raw-alg-none", b"\x08" + none)
    write("token", "raw-confusion", b"\x08" + jwt(hs, reg_claims(), RS_PUB))
    write("token", "raw-es256", b"\x04" + jwt({"alg": "ES256"},
                                              reg_claims()))
    write("token", "minted-node", b"\x61" + json.dumps(
        node_claims()).encode())
    write("token", "minted-server", b"\x01" + json.dumps(
        server_claims()).encode())
    write("token", "minted-registry", b"\x61" + json.dumps(
        reg_claims()).encode())
    write("token", "minted-header", b"\x02" + b'{"kid": "2024-01"}\0' +
          json.dumps(reg_claims()).encode())
    cs = node_claims()
    cs["connection_type"] = "client-server"
    cs["network_config"]["mtu"] = 1200
    write("token", "minted-client-v6-mtu", b"\x01" + json.dumps(
        cs).encode())


# ---- yaml --------------------------------------------------------------

def yaml():
    node = (b"token_file: node.jwt\nverify_key: hs256.key\n"
            b"verify_alg: HS256\nissuer: https://edge.example\n"
            b"audience: cbp2p-mesh\ninterface: cbp0\n"
            b"control_socket: /var/run/cbp2pd.sock\nuser: _cbp2p\n"
            b"chroot: /var/empty\nlog_level: debug\nlog_format: json\n"
            b"metrics_address: 127.0.0.1:9100\noffload: off\n"
            b"edge:\n  registry: https://edge.example:8443\n"
            b"  stun: edge.example:3478\n  relay: edge.example:443\n")
    write("yaml", "cbp2pd", b"\x00" + node)
    write("yaml", "cbp2pd-minimal", b"\x00" + b"token_file: node.jwt\n"
          b"verify_key: hs256.key\nverify_alg: HS256\n")
    write("yaml", "cbp2pd-flow", b"\x00" + b"{token_file: node.jwt, "
          b"verify_key: hs256.key, verify_alg: HS256, "
          b"edge: {registry: 'https://e:1'}}\n")
    write("yaml", "cbp2pd-bad", b"\x00" + b"token_file: &a node.jwt\n"
          b"verify_key: *a\nverify_key: x\nnope: 1\n")
    edge = (b"listen: 0.0.0.0:8443\nstun_listen: 0.0.0.0:3478\n"
            b"stun_alt_port: 3479\ncertificate: edge.crt\nkey: edge.key\n"
            b"verify_key: issuer.pub\nverify_alg: ES256\nuser: _cbp2p\n"
            b"chroot: /var/empty\nttl: 90\nmax_body: 16384\n"
            b"max_peers_per_mesh: 1024\nmax_meshes: 1024\nrate: 20\n"
            b"burst: 40\nlong_poll_max: 30\nrelay_listen: 0.0.0.0:443\n"
            b"relay_max_connections: 1024\nrelay_max_handshakes: 64\n"
            b"relay_queue: 262144\nrelay_send_rate: 125000000\n"
            b"relay_send_burst: 1048576\nrelay_keepalive: 60\n"
            b"log_level: info\nlog_format: text\n")
    write("yaml", "cbedged", b"\x01" + edge)
    write("yaml", "cbedged-hs256", b"\x01" + b"certificate: c\nkey: k\n"
          b"verify_key: hs256.key\nverify_alg: HS256\nttl: 1\n")
    write("yaml", "cbedged-same-port", b"\x01" + b"certificate: c\nkey: k\n"
          b"verify_key: issuer.pub\nlisten: 0.0.0.0:443\n"
          b"relay_listen: 0.0.0.0:443\n")


# ---- wg and wg_cookie --------------------------------------------------

def wg():
    INIT, DELIVER, SEND, TICK, RAW, LOAD, KEEPALIVE = range(7)
    B = 0x80

    def deliver(i, flip=None):
        if flip is None:
            return bytes([DELIVER, i, 0])
        return bytes([DELIVER, i, 1]) + be16(flip[0]) + bytes([flip[1]])

    def send(node, data):
        return bytes([SEND | node, len(data)]) + data

    def tick(n, secs=False):
        return bytes([TICK, 1 if secs else 0, n])

    hs = (bytes([INIT]) + deliver(0) + deliver(1) + send(0, b"ping") +
          deliver(2) + send(B, b"pong") + deliver(3))
    write("wg", "handshake", bytes([0]) + be32(1) + hs)
    write("wg", "handshake-psk", bytes([1]) + be32(2) + hs +
          deliver(2) + deliver(3) + deliver(0) + deliver(1))
    write("wg", "psk-mismatch", bytes([2]) + be32(3) + hs)
    write("wg", "replays-and-flips", bytes([0]) + be32(4) + hs +
          deliver(2) + deliver(0, (140, 1)) + deliver(2, (20, 0x80)) +
          send(0, b"again") + deliver(4, (8, 1)) + deliver(4))
    write("wg", "under-load", bytes([0]) + be32(5) + bytes([LOAD | B]) +
          bytes([INIT]) + deliver(0) + deliver(1) + tick(30) +
          bytes([INIT]) + deliver(2) + deliver(3) + deliver(1) +
          send(0, b"x" * 40) + deliver(4))
    write("wg", "timers", bytes([0]) + be32(6) + send(0, b"queued") +
          tick(1) + deliver(0) + deliver(1) + tick(10, True) +
          tick(130, True) + tick(60, True) + tick(250, True) +
          tick(250, True) + bytes([KEEPALIVE, 5]) + tick(6, True))
    write("wg", "crossing", bytes([0]) + be32(7) + bytes([INIT]) +
          bytes([INIT | B]) + deliver(0) + deliver(1) + deliver(2) +
          deliver(3) + send(0, b"a") + send(B, b"b") + deliver(4) +
          deliver(5))
    write("wg", "raw", bytes([0]) + be32(8) + bytes([RAW, 3, 148]) +
          bytes(148) + bytes([RAW, 2, 92]) + bytes(92) +
          bytes([RAW, 0, 64, 3]) + bytes(63) + bytes([RAW, 1, 32, 4]) +
          bytes(31))


def wg_cookie():
    INIT, REPLY, TICK, SOURCE, RAW_CHECK, RAW_REPLY = range(6)
    src = bytes([192, 0, 2, 1, 0xCA, 0x6C])
    zero = bytes(64)
    rx_only = bytes(4) + bytes([1, 2, 3, 4]) + bytes(56)
    write("wg_cookie", "cookie", be32(1) + src + bytes([INIT, REPLY]) + zero +
          bytes([INIT, REPLY]) + zero + bytes([SOURCE, 3, 1, INIT]))
    write("wg_cookie", "masked", be32(2) + src + bytes([INIT, REPLY]) +
          bytes([0, 0, 0, 0, 0, 0, 0, 0, 1]) + bytes(55) +
          bytes([REPLY]) + rx_only + bytes([INIT]))
    write("wg_cookie", "expiry", be32(3) + src + bytes([INIT, REPLY]) +
          zero + bytes([TICK, 1, 119, INIT, TICK, 1, 2, INIT, REPLY]) +
          zero + bytes([INIT]))
    write("wg_cookie", "stale", be32(4) + src + bytes([INIT, INIT, REPLY]) +
          zero + bytes([RAW_REPLY]) + bytes(64) + bytes([1]) +
          bytes([RAW_CHECK, 148]) + bytes(148) + bytes([6]))


# ---- httphead ----------------------------------------------------------

def httphead():
    """Layout of fuzz_httphead: be16 bytes, u8 lines, be32 body limits."""
    lim = be16(8192) + bytes([32]) + be32(16384)
    tok = b"Authorization: Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig\r\n"
    write("httphead", "get-poll", lim + b"GET /v1/peers?since=3&wait=25 "
          b"HTTP/1.1\r\nHost: 203.0.113.1\r\n" + tok + b"\r\n")
    write("httphead", "post-body", lim + b"POST /v1/register HTTP/1.1\r\n"
          + tok + b"Content-Type: application/json\r\n"
          b"Content-Length: 12\r\n\r\n{\"a\": true}")
    write("httphead", "pipelined", lim + b"GET /v1/health HTTP/1.1\n\n"
          b"DELETE /v1/peers/self HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
    write("httphead", "partial", lim + b"GET /v1/health HTTP/1.1\r\nX-A")
    write("httphead", "chunked", lim + b"POST / HTTP/1.1\r\n"
          b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
    write("httphead", "two-lengths", lim + b"PUT / HTTP/1.1\r\n"
          b"Content-Length: 1\r\ncontent-length: 2\r\n\r\nab")
    write("httphead", "folded", lim + b"GET / HTTP/1.1\r\nA: b\r\n\tc\r\n\r\n")
    write("httphead", "big-body", lim + b"POST / HTTP/1.1\r\n"
          b"Content-Length: 99999999\r\n\r\n")
    write("httphead", "many-lines", be16(512) + bytes([4]) + be32(0) +
          b"GET / HTTP/1.1\r\n" + b"X: 1\r\n" * 8 + b"\r\n")
# ---- inner -------------------------------------------------------------

def inner():
    RAW, V4, V6 = range(3)

    def prefix(peer, v6, sel, cidr):
        return bytes([peer << 1 | (1 if v6 else 0), sel, cidr])

    def pkt(peer, how, rest):
        return bytes([how << 2 | peer]) + rest

    def hdr(sel, payload, pad, tweak=0, field=None):
        b = bytes([sel | (0x80 if field is not None else 0), payload,
                   pad]) + bytes(payload) + bytes([tweak])
        return b + (be16(field) if field is not None else b"")

    # Peer 0 owns 10.0.0.0/16, peer 1 the longer 10.0.1.0/24 inside it,
    # peer 2 fd00::/64 and peer 3 the host fd00::1:0:0:0:2.
    table = (bytes([4]) + prefix(0, False, 0, 16) + prefix(1, False, 1, 24) +
             prefix(2, True, 0, 64) + prefix(3, True, 1, 128))
    write("inner", "v4-own", table + pkt(0, V4, hdr(0, 8, 0)))
    write("inner", "v4-padded", table + pkt(0, V4, hdr(0, 36, 12)))
    write("inner", "v4-longer-prefix-of-another", table +
          pkt(0, V4, hdr(1, 8, 0)) + pkt(1, V4, hdr(1, 8, 0)))
    write("inner", "v4-outside", table + pkt(0, V4, hdr(3, 8, 0)))
    write("inner", "v4-tweaked-source", table +
          pkt(1, V4, hdr(1, 8, 0, tweak=0x80)))
    write("inner", "v4-length-lies", table +
          pkt(0, V4, hdr(0, 8, 4, field=40)) +
          pkt(0, V4, hdr(0, 8, 0, field=19)) +
          pkt(0, V4, hdr(0, 8, 0, field=0xffff)))
    write("inner", "v6-own", table + pkt(2, V6, hdr(0, 16, 8)) +
          pkt(3, V6, hdr(1, 0, 0)))
    write("inner", "v6-length-lies", table +
          pkt(2, V6, hdr(0, 16, 0, field=17)) +
          pkt(2, V6, hdr(0, 16, 0, field=0)))
    write("inner", "raw", table + pkt(0, RAW, bytes([20, 0x45]) + bytes(19)) +
          pkt(2, RAW, bytes([1, 0x60])) + pkt(1, RAW, bytes([0])))
    write("inner", "empty-table", bytes([0]) + pkt(0, V4, hdr(0, 8, 0)) +
          pkt(0, V6, hdr(0, 8, 0)))


def main():
    global TOP
    if len(sys.argv) > 1:
        TOP = sys.argv[1]
    for f in (replay, aip, relay, stun, uapi, imsg, offload, registry,
              regreply, token, yaml, wg, wg_cookie, httphead, inner,
              relayconn, httpreq, regack):
        f()


if __name__ == "__main__":
    main()
