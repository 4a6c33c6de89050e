#! /usr/bin/atf-sh
# Segmentation offload in the data plane: two cbp2pd nodes over a veth
# carry TCP streams both ways, over IPv4 and IPv6 inside the tunnel; the
# bytes that arrive are the bytes that were sent (SHA-256 of 24 MB each
# way), with offload on (the tun hands TSO super-packets, which are cut,
# UDP goes out segmented and comes in coalesced, and the receiver's tun
# gets coalesced super-packets) and with `offload: off`.

common()
{
	. "$(atf_get_srcdir)/common.sh"
	MB=24
	PORT_TCP=5001
	UDP_SEGS=10
	UDP_SEG_WRITES=20
}

# pair EXTRA-YAML: nodes a (A, 10.99.0.1, fd00:99::1) and b (B, .2).
pair()
{
	cb_static_pair "$1"
	cb_until 20 ip netns exec "$A" ping -c 1 -W 1 10.99.0.2 ||
	    atf_fail "no tunnel"
	# IPv6 inside as well: an address each, the peer's as allowed.
	ip -n "$A" addr add fd00:99::1/64 dev "cb$$a" nodad
	ip -n "$B" addr add fd00:99::2/64 dev "cb$$b" nodad
	wg set "cb$$a" peer "$(cat b.pub)" allowed-ips 10.99.0.2/32,fd00:99::2/128
	wg set "cb$$b" peer "$(cat a.pub)" allowed-ips 10.99.0.1/32,fd00:99::1/128
	cb_until 20 ip netns exec "$A" ping -6 -c 1 -W 1 fd00:99::2 ||
	    atf_fail "no IPv6 in the tunnel"
}

# transfer FROM-NS TO-NS TO-ADDR: MB of seeded random bytes over TCP;
# the SHA-256 of what arrived must be that of what was sent.
transfer()
{
	rm -f got.sum sent.sum
	ip netns exec "$2" python3 -c '
import hashlib, socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
open("listening", "w").close()
c, _ = s.accept()
h = hashlib.sha256()
n = 0
while True:
    b = c.recv(1 << 20)
    if not b:
        break
    h.update(b)
    n += len(b)
open("got.sum", "w").write("%d %s\n" % (n, h.hexdigest()))
' "$3" "$PORT_TCP" > srv.out 2>&1 &
	srv=$!
	cb_until 10 test -f listening || atf_fail "receiver"
	rm -f listening
	timeout 120 ip netns exec "$1" python3 -c '
import hashlib, random, socket, sys
r = random.Random(7)
h = hashlib.sha256()
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 10)
n = 0
for i in range(int(sys.argv[3]) * 4):
    b = r.randbytes(1 << 18)
    s.sendall(b)
    h.update(b)
    n += len(b)
s.close()
open("sent.sum", "w").write("%d %s\n" % (n, h.hexdigest()))
' "$3" "$PORT_TCP" "$MB" || atf_fail "sending to $3 failed"
	cb_wait_exit "$srv" || atf_fail "receiver did not finish"
	echo "sent $(cat sent.sum) got $(cat got.sum)"
	[ "$(cat got.sum)" = "$(cat sent.sum)" ] ||
	    atf_fail "$3: received bytes differ from those sent"
}

both_ways()
{
	transfer "$A" "$B" 10.99.0.2
	transfer "$B" "$A" 10.99.0.1
	transfer "$A" "$B" fd00:99::2
	transfer "$B" "$A" fd00:99::1
}

# udp_gso FROM-NS TO-NS TO-ADDR: UDP_SEG_WRITES writes of UDP_SEGS
# datagrams each through UDP_SEGMENT (the sender's kernel hands the tun
# one UDP super-packet per write where the tun took USO); every
# datagram must arrive, intact, in order.
udp_gso()
{
	rm -f udp.got listening
	ip netns exec "$2" timeout 60 python3 -c '
import hashlib, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.bind((sys.argv[1], 5002))
s.settimeout(10)
open("listening", "w").close()
want = int(sys.argv[2])
h = hashlib.sha256()
n = 0
try:
    while n < want:
        h.update(s.recv(65536))
        n += 1
except socket.timeout:
    pass
open("udp.got", "w").write("%d %s\n" % (n, h.hexdigest()))
' "$3" $((UDP_SEG_WRITES * UDP_SEGS)) &
	srv=$!
	cb_until 10 test -f listening || atf_fail "UDP receiver"
	ip netns exec "$1" python3 -c '
import hashlib, random, socket, sys, time
UDP_SEGMENT = 103
seg, segs, writes = 1200, int(sys.argv[2]), int(sys.argv[3])
r = random.Random(11)
h = hashlib.sha256()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_UDP, UDP_SEGMENT, seg)
for w in range(writes):
    buf = r.randbytes(seg * segs)
    for i in range(segs):
        h.update(buf[i * seg:(i + 1) * seg])
    s.sendto(buf, (sys.argv[1], 5002))
    time.sleep(0.01)
open("udp.sent", "w").write("%d %s\n" % (segs * writes, h.hexdigest()))
' "$3" "$UDP_SEGS" "$UDP_SEG_WRITES" || atf_fail "UDP GSO sender"
	cb_wait_exit "$srv" 30 || atf_fail "UDP receiver did not finish"
	echo "UDP sent $(cat udp.sent) got $(cat udp.got)"
	[ "$(cat udp.got)" = "$(cat udp.sent)" ] ||
	    atf_fail "UDP datagrams lost or changed"
}

# off_field NODE FIELD: a field of status's "offload".
off_field()
{
	cb_ctl "$1" -j status | jq -r ".offload.$2"
}

atf_test_case on cleanup
on_head()
{
	atf_set descr "offload on: TCP both ways over IPv4 and IPv6 arrives intact, super-packets cut, UDP sent segmented and coalesced to the tun"
	atf_set require.user root
	atf_set require.progs "jq python3 wg"
	atf_set timeout 300
}
on_body()
{
	common
	pair ""
	both_ways
	udp_gso "$A" "$B" 10.99.0.2
	# UDP super-packets from the tun: Linux 6.2 and later have them.
	if [ "$(uname -r | awk -F. '{ print $1 * 100 + $2 }')" -ge 602 ]; then
		[ "$(off_field a uso)" = true ] || atf_fail "a: no USO"
		[ "$(off_field a uso_split)" -gt 0 ] ||
		    atf_fail "a: no UDP super-packet from the tun"
	fi
	for n in a b; do
		cb_ctl "$n" -j status | jq -c '.offload, .drops'
		[ "$(off_field "$n" enabled)" = true ] || atf_fail "$n: off"
		[ "$(off_field "$n" tso_split)" -gt 0 ] ||
		    atf_fail "$n: no super-packet from the tun"
		[ "$(off_field "$n" gso_sends)" -gt 0 ] ||
		    atf_fail "$n: no segmented send"
		[ "$(off_field "$n" gro_coalesced)" -gt 0 ] ||
		    atf_fail "$n: nothing coalesced to the tun"
	done
}
on_cleanup()
{
	common
	cb_kill a
	cb_kill b
	cb_ns_cleanup
}

atf_test_case off cleanup
off_head()
{
	atf_set descr "offload: off: the same transfers arrive intact, packet by packet"
	atf_set require.user root
	atf_set require.progs "jq python3 wg"
	atf_set timeout 300
}
off_body()
{
	common
	pair "offload: off"
	both_ways
	udp_gso "$A" "$B" 10.99.0.2
	for n in a b; do
		[ "$(off_field "$n" enabled)" = false ] || atf_fail "$n: on"
		[ "$(off_field "$n" tso_split)" = 0 ] &&
		    [ "$(off_field "$n" gso_sends)" = 0 ] &&
		    [ "$(off_field "$n" gro_coalesced)" = 0 ] ||
		    atf_fail "$n: offload counted with offload off"
	done
}
off_cleanup()
{
	common
	cb_kill a
	cb_kill b
	cb_ns_cleanup
}

# crypt_field NODE FIELD: a field of status's "crypto".
crypt_field()
{
	cb_ctl "$1" -j status | jq -r ".crypto.$2"
}

atf_test_case workers cleanup
workers_head()
{
	atf_set descr "crypto_workers: 1: bursts sealed and opened by two threads arrive intact and in order; a reload to 0 takes the worker off"
	atf_set require.user root
	atf_set require.progs "jq python3 wg"
	atf_set timeout 300
}
workers_body()
{
	common
	[ "$(nproc)" -ge 2 ] || atf_skip "one core: no crypto worker thread"
	pair "crypto_workers: 1"
	both_ways
	for n in a b; do
		cb_ctl "$n" -j status | jq -c '.crypto, .drops'
		[ "$(crypt_field "$n" workers)" = 1 ] || atf_fail "$n: no worker"
		[ "$(crypt_field "$n" parallel_bursts)" -gt 0 ] ||
		    atf_fail "$n: no burst was shared with the worker"
		[ "$(cb_ctl "$n" -j status | jq -r \
		    '[.drops.decrypt // 0, .drops.replay // 0] | add')" = 0 ] ||
		    atf_fail "$n: packets failed to open or came out of order"
	done
	# Live: a reload to no workers, and the engine works alone.
	sed -i 's/^crypto_workers: 1$/crypto_workers: 0/' a.yaml
	grep -q '^crypto_workers: 0$' a.yaml || atf_fail "a.yaml"
	cb_ctl a reload || atf_fail "reload"
	cb_until 10 sh -c "[ \"\$($CBP2PCTL -j -s $PWD/a.sock status |
	    jq -r .crypto.workers)\" = 0 ]" || atf_fail "a: worker still on"
	before=$(crypt_field a parallel_bursts)
	transfer "$A" "$B" 10.99.0.2
	[ "$(crypt_field a parallel_bursts)" = "$before" ] ||
	    atf_fail "a: bursts shared with crypto_workers 0"
}
workers_cleanup()
{
	common
	cb_kill a
	cb_kill b
	cb_ns_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case on
	atf_add_test_case off
	atf_add_test_case workers
}
