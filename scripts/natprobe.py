#!/usr/bin/env python3
"""natprobe.py: see a NAT from both sides (python3 stdlib only).

usage: natprobe.py udp-reflect [-b ADDR] [-L SECONDS] PORT
       natprobe.py tcp-reflect [-b ADDR] [-L SECONDS] PORT
       natprobe.py udp-probe [-l LPORT] [-t SECONDS] [-w SECONDS] HOST:PORT...
       natprobe.py tcp-probe [-t SECONDS] HOST:PORT
       natprobe.py punch -l LPORT -r HOST:PORT -o MINE -i PEERS [-t SECONDS]

The reflectors answer every datagram (or connection) with the source
address and port they saw, "ADDR:PORT", print "ready" once bound, and
exit after -L seconds (default 300).  udp-probe sends from one socket
(bound to LPORT, 0 for any) to each HOST:PORT in turn, retrying every
0.2 s, and prints one line per destination: what that reflector saw;
with -w it then listens that long on the same socket and prints
"from ADDR:PORT" for every datagram that still comes in.
tcp-probe prints what a TCP reflector saw.  punch learns its public
endpoint from the reflector -r, writes it to the file MINE, waits for
the peer's file PEERS, then both sides send to each other's public
endpoint from the same socket: it exits 0 once it has heard from the
peer and the peer has said it heard from us, 1 on timeout.  Every wait
is bounded by -t (default 5 s).
"""

import argparse
import os
import socket
import sys
import time


def hostport(s):
    host, _, port = s.rpartition(":")
    return host, int(port)


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def udp_reflect(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.bind, a.port))
    out("ready")
    end = time.monotonic() + a.lifetime
    while time.monotonic() < end:
        s.settimeout(max(0.01, end - time.monotonic()))
        try:
            data, peer = s.recvfrom(2048)
        except socket.timeout:
            break
        s.sendto(("%s:%d" % peer).encode(), peer)
    return 0


def tcp_reflect(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.bind, a.port))
    s.listen(16)
    out("ready")
    end = time.monotonic() + a.lifetime
    while time.monotonic() < end:
        s.settimeout(max(0.01, end - time.monotonic()))
        try:
            c, peer = s.accept()
        except socket.timeout:
            break
        with c:
            c.settimeout(2)
            try:
                c.sendall(("%s:%d\n" % peer).encode())
            except OSError:
                pass
    return 0


def ask(s, dest, deadline):
    """Send to a reflector until it answers; its answer or None."""
    while time.monotonic() < deadline:
        s.sendto(b"probe", dest)
        until = min(deadline, time.monotonic() + 0.2)
        while time.monotonic() < until:
            s.settimeout(max(0.01, until - time.monotonic()))
            try:
                data, src = s.recvfrom(2048)
            except socket.timeout:
                break
            except ConnectionRefusedError:
                continue
            if src == dest:
                return data.decode()
    return None


def udp_probe(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", a.lport))
    rc = 0
    for d in a.dest:
        seen = ask(s, hostport(d), time.monotonic() + a.timeout)
        if seen is None:
            out("timeout")
            rc = 1
        else:
            out(seen)
    end = time.monotonic() + a.wait
    while time.monotonic() < end:
        s.settimeout(max(0.01, end - time.monotonic()))
        try:
            data, src = s.recvfrom(2048)
        except socket.timeout:
            break
        except ConnectionRefusedError:
            continue
        out("from %s:%d" % src)
    return rc


def tcp_probe(a):
    try:
        c = socket.create_connection(hostport(a.dest), timeout=a.timeout)
        c.settimeout(a.timeout)
        data = c.recv(256).decode().strip()
        c.close()
    except OSError as e:
        out("error: %s" % e)
        return 1
    out(data)
    return 0 if data else 1


def punch(a):
    deadline = time.monotonic() + a.timeout
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", a.lport))
    refl = hostport(a.reflector)
    mine = ask(s, refl, deadline)
    if mine is None:
        out("reflector did not answer")
        return 1
    with open(a.mine + ".tmp", "w") as f:
        f.write(mine + "\n")
    os.rename(a.mine + ".tmp", a.mine)
    out("mine %s" % mine)
    peer = None
    while time.monotonic() < deadline:
        try:
            with open(a.peer) as f:
                peer = hostport(f.read().strip())
            break
        except (OSError, ValueError):
            time.sleep(0.05)
    if peer is None:
        out("no peer endpoint")
        return 1
    out("peer %s:%d" % peer)
    heard = False       # we received something from the peer
    confirmed = False   # the peer said it received something from us
    heard_from = None
    while time.monotonic() < deadline and not confirmed:
        s.sendto(b"punch got=%d" % heard, peer)
        until = min(deadline, time.monotonic() + 0.05)
        while time.monotonic() < until:
            s.settimeout(max(0.005, until - time.monotonic()))
            try:
                data, src = s.recvfrom(2048)
            except socket.timeout:
                break
            except ConnectionRefusedError:
                continue
            if src == refl or not data.startswith(b"punch"):
                continue
            heard, heard_from = True, src
            if data.endswith(b"got=1"):
                confirmed = True
    if not (heard and confirmed):
        out("no contact (heard=%s)" % heard)
        return 1
    for _ in range(5):  # let the peer see got=1 too
        s.sendto(b"punch got=1", peer)
        time.sleep(0.02)
    out("punched %s:%d" % heard_from)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("udp-reflect", "tcp-reflect"):
        r = sub.add_parser(name)
        r.add_argument("-b", "--bind", default="0.0.0.0")
        r.add_argument("-L", "--lifetime", type=float, default=300)
        r.add_argument("port", type=int)
    r = sub.add_parser("udp-probe")
    r.add_argument("-l", "--lport", type=int, default=0)
    r.add_argument("-t", "--timeout", type=float, default=3)
    r.add_argument("-w", "--wait", type=float, default=0)
    r.add_argument("dest", nargs="+")
    r = sub.add_parser("tcp-probe")
    r.add_argument("-t", "--timeout", type=float, default=3)
    r.add_argument("dest")
    r = sub.add_parser("punch")
    r.add_argument("-l", "--lport", type=int, required=True)
    r.add_argument("-r", "--reflector", required=True)
    r.add_argument("-o", "--mine", required=True)
    r.add_argument("-i", "--peer", required=True)
    r.add_argument("-t", "--timeout", type=float, default=5)
    a = p.parse_args()
    return {"udp-reflect": udp_reflect, "tcp-reflect": tcp_reflect,
            "udp-probe": udp_probe, "tcp-probe": tcp_probe,
            "punch": punch}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
