#! /usr/bin/atf-sh
# Two cbp2pd instances in two namespaces, server-server tokens naming
# each other.

common()
{
	. "$(atf_get_srcdir)/common.sh"
}

# setup [6]: with 6, the nodes reach each other over IPv6.
setup()
{
	v6=${1:-}
	cb_two_ns
	echo "$B" > b.ns
	ip -n "$A" addr add fd00:200::1/64 dev eth0 nodad
	ip -n "$B" addr add fd00:200::2/64 dev eth0 nodad
	if [ -n "$v6" ]; then
		epa="[fd00:200::1]:51821" epb="[fd00:200::2]:51822"
	else
		epa=10.200.0.1:51821 epb=10.200.0.2:51822
	fi
	cb_wgkeys a
	cb_wgkeys b
	PORT=51821 cb_claims a server-server 10.99.0.1/24 \
	    "$(cb_peer_json "$(cat b.pub)" "$epb" 10.99.0.2/32)"
	PORT=51822 cb_claims b server-server 10.99.0.2/24 \
	    "$(cb_peer_json "$(cat a.pub)" "$epa" 10.99.0.1/32)"
	cb_token a RS256 keys
	cb_token b RS256 keys
	cb_config a RS256 keys
	cb_config b RS256 keys
	cb_start a
	cb_start b
}

atf_test_case ping_mtu cleanup
ping_mtu_head()
{
	atf_set descr "two cbp2pd: a datagram of exactly the MTU arrives whole at the far end, one byte more is refused before the tunnel"
	atf_set require.user root
	atf_set timeout 60
}

# tun_rx NODE: packets and bytes NODE's tun has taken from cbp2pd.
tun_rx()
{
	ip -n "$(cat "$1.ns")" -s -j link show "cb$$$1" |
	    jq -r '.[0].stats64.rx | "\(.packets) \(.bytes)"'
}

# whole FROM TO ADDR: a UDP datagram of 1392 bytes with DF set, the
# largest a 1420 MTU carries (cbp2pd.yaml(5): mtu, default 1420; 1420 -
# 20 - 8), goes from FROM to a receiver on ADDR in TO: the receiver gets
# the same 1392 bytes and TO's tun took one packet of 1420 bytes.  One
# byte more cannot leave FROM (EMSGSIZE), and TO's tun takes nothing.
whole()
{
	from=$1 to=$2 addr=$3
	rm -f recv.out
	ip netns exec "$(cat "$to.ns")" python3 -c '
import hashlib, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 5555))
s.settimeout(20)
print("ready", flush=True)
d = s.recv(65535)
print(len(d), hashlib.sha256(d).hexdigest())' "$addr" > recv.out &
	rpid=$!
	cb_until $WAIT_SECS grep -qx ready recv.out ||
	    atf_fail "the receiver in $to did not start"
	set -- $(tun_rx "$to")
	p0=$1 b0=$2
	sent=$(ip netns exec "$(cat "$from.ns")" python3 -c '
import errno, hashlib, socket, sys
IP_MTU_DISCOVER, IP_PMTUDISC_DO = 10, 2		# <linux/in.h>
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
try:
    s.sendto(bytes(1393), (sys.argv[1], 5555))
    sys.exit("1393 bytes with DF left through a 1420 MTU")
except OSError as e:
    if e.errno != errno.EMSGSIZE:
        raise
d = (bytes(range(256)) * 6)[:1392]
s.sendto(d, (sys.argv[1], 5555))
print(len(d), hashlib.sha256(d).hexdigest())' "$addr") ||
	    atf_fail "sending from $from"
	wait $rpid || atf_fail "nothing arrived in $to"
	echo "sent: $sent; received: $(tail -1 recv.out)"
	[ "$(tail -1 recv.out)" = "$sent" ] ||
	    atf_fail "the datagram did not arrive whole in $to"
	set -- $(tun_rx "$to")
	echo "$to's tun took $(($1 - p0)) packets, $(($2 - b0)) bytes"
	[ $(($1 - p0)) = 1 ] && [ $(($2 - b0)) = 1420 ] ||
	    atf_fail "$to's tun took $(($1 - p0)) packets, $(($2 - b0)) bytes, not one of 1420"
}

ping_mtu_body()
{
	common
	setup
	cb_ping "$A" 10.99.0.2
	cb_ping "$B" 10.99.0.1
	whole a b 10.99.0.2
	whole b a 10.99.0.1
	# 1392 bytes of ICMP payload + 28 of headers = 1420, the tunnel MTU.
	ip netns exec "$A" ping -c 3 -i 0.2 -W 2 -M do -s 1392 10.99.0.2 ||
	    atf_fail "a ping of exactly the MTU failed"
	# One byte more does not fit: the sender's kernel refuses it against
	# the tun's MTU, and nothing reaches the far end.
	set -- $(tun_rx b)
	if ip netns exec "$A" ping -c 1 -W 1 -M do -s 1393 10.99.0.2 \
	    > big.out 2>&1; then
		cat big.out
		atf_fail "a packet over the MTU passed unfragmented"
	fi
	cat big.out
	grep -q "message too long" big.out ||
	    atf_fail "1393 bytes were not refused as too long"
	[ "$(tun_rx b)" = "$1 $2" ] || atf_fail "b's tun took something"
	# Over the MTU: the inner packet is fragmented, each piece tunnelled.
	cb_ping "$A" 10.99.0.2 4000
	cb_ping "$B" 10.99.0.1 8000
	[ "$(ip -n "$A" -j link show "cb$$a" | jq '.[0].mtu')" = 1420 ] ||
	    atf_fail "tun MTU"
	ip -n "$A" -j addr show "cb$$a" | jq -e \
	    '.[0].addr_info[] | select(.local == "10.99.0.1" and .prefixlen == 24)' ||
	    atf_fail "tun address"
}
ping_mtu_cleanup()
{
	common
	cb_kill a b
}

atf_test_case ipv6 cleanup
ipv6_head()
{
	atf_set descr "two cbp2pd whose endpoints are IPv6 addresses"
	atf_set require.user root
	atf_set timeout 60
}
ipv6_body()
{
	common
	setup 6
	cb_ping "$A" 10.99.0.2
	cb_ping "$B" 10.99.0.1
	[ "$(cb_ctl a -j peers | jq -r '.[0].endpoint')" = \
	    "[fd00:200::2]:51822" ] || atf_fail "endpoint is not IPv6"
}
ipv6_cleanup()
{
	common
	cb_kill a b
}

atf_test_case restart cleanup
restart_head()
{
	atf_set descr "one side restarts; the other re-handshakes with no manual step"
	atf_set require.user root
	atf_set timeout 90
}
restart_body()
{
	common
	setup
	cb_ping "$A" 10.99.0.2
	kill "$(cat b.pid)"
	cb_wait_exit "$(cat b.pid)" || atf_fail "b did not stop"
	cb_start b
	# A still holds the old session: its data goes unanswered until it
	# starts a new handshake (KEEPALIVE_TIMEOUT + REKEY_TIMEOUT).
	cb_until 40 ip netns exec "$A" ping -c 1 -W 1 10.99.0.2 ||
	    atf_fail "traffic did not resume after b restarted"
	cb_ping "$A" 10.99.0.2
	cb_ping "$B" 10.99.0.1
	[ "$(cb_ctl b -j peers | jq '.[0].latest_handshake')" -gt 0 ] ||
	    atf_fail "b shows no handshake"
}
restart_cleanup()
{
	common
	cb_kill a b
}

atf_init_test_cases()
{
	atf_add_test_case ping_mtu
	atf_add_test_case ipv6
	atf_add_test_case restart
}
