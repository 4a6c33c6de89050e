#!/usr/bin/env python3
"""A DNS server of one name for t_dns: answers an A query for NAME with
ADDR, NXDOMAIN to anything else, on UDP ADDR:53 (the mesh's server).
A query with an EDNS0 OPT record gets one back (RFC 6891), so that
systemd-resolved keeps to UDP with EDNS0 instead of probing lesser
feature sets.  Usage: dnsanswer.py LISTEN-ADDR NAME ADDR"""

import socket
import struct
import sys

QTYPE_A = 1
QCLASS_IN = 1
FLAGS_ANSWER = 0x8180       # response, recursion desired and available
FLAGS_NXDOMAIN = 0x8183
TTL = 5
HEADER = struct.Struct("!HHHHHH")
QTYPE_OPT = 41
EDNS_UDP_SIZE = 512         # what we read
# The OPT record of a reply: root name, type, UDP size, no flags, no data.
OPT_RR = b"\x00" + struct.pack("!HHIH", QTYPE_OPT, EDNS_UDP_SIZE, 0, 0)


def qname(msg, off):
    labels = []
    while msg[off] != 0:
        n = msg[off]
        labels.append(msg[off + 1:off + 1 + n].decode("ascii").lower())
        off += 1 + n
    return ".".join(labels), off + 1


def main():
    listen, name, addr = sys.argv[1], sys.argv[2].lower(), sys.argv[3]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((listen, 53))
    while True:
        msg, peer = s.recvfrom(512)
        if len(msg) < HEADER.size:
            continue
        qid = HEADER.unpack_from(msg)[0]
        try:
            q, end = qname(msg, HEADER.size)
            qtype, qclass = struct.unpack_from("!HH", msg, end)
        except (IndexError, struct.error, UnicodeDecodeError):
            continue
        question = msg[HEADER.size:end + 4]
        arcount = HEADER.unpack_from(msg)[5]
        # The OPT record, when asked with one, is the additional one.
        edns = (arcount == 1 and msg[end + 4:end + 5] == b"\x00" and
                msg[end + 5:end + 7] == struct.pack("!H", QTYPE_OPT))
        opt = OPT_RR if edns else b""
        if q == name and qtype == QTYPE_A and qclass == QCLASS_IN:
            rr = struct.pack("!HHHIH", 0xc00c, QTYPE_A, QCLASS_IN, TTL, 4)
            reply = (HEADER.pack(qid, FLAGS_ANSWER, 1, 1, 0, int(edns))
                     + question + rr + socket.inet_aton(addr) + opt)
        else:
            reply = (HEADER.pack(qid, FLAGS_NXDOMAIN, 1, 0, 0, int(edns))
                     + question + opt)
        s.sendto(reply, peer)


if __name__ == "__main__":
    main()
