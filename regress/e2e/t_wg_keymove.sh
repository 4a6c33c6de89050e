#! /usr/bin/atf-sh
# A node's private key moves from wireguard-go to cbp2pd.  The peer
# refuses any initiation whose TAI64N timestamp is not later than the
# last one it took from that key, so both implementations must stamp on
# the same base (2^62 + 10 for the Unix epoch): with a base 10 s
# lower, cbp2pd's initiations look 10 s old and are refused as replays
# until that much time has passed.
#
# Namespaces: A1 runs wireguard-go with key K, A2 runs cbp2pd with the
# same key K, P runs wireguard-go (the peer).  P reaches A1 over one
# veth (10.200.0.0/24) and A2 over another (10.201.0.0/24); both hold
# tunnel address 10.99.0.1, P holds 10.99.0.2.

common()
{
	. "$(atf_get_srcdir)/common.sh"
}

# A handshake that is refused is retried after REKEY_TIMEOUT (5 s); one
# refused for the old base's 10 s takes 10 s or more to complete.  The
# move must complete within this, well under both.
MOVE_SECS=3

atf_test_case from_wireguard_go cleanup
from_wireguard_go_head()
{
	atf_set descr "a key moved from wireguard-go to cbp2pd handshakes" \
	    "with the same peer at once"
	atf_set require.user root
	atf_set require.progs "wireguard-go wg"
	atf_set timeout 120
}
from_wireguard_go_body()
{
	common
	cb_user
	cb_issuer_keys keys
	A1=$(cb_ns a1)
	A2=$(cb_ns a)
	P=$(cb_ns p)
	echo "$A2" > a.ns
	cb_veth "$A1" 10.200.0.1/24 "$P" 10.200.0.2/24
	ip link add "w$$a" netns "$A2" type veth peer "w$$p" netns "$P" ||
	    atf_fail "veth"
	ip -n "$A2" link set "w$$a" name eth0
	ip -n "$P" link set "w$$p" name eth1
	ip -n "$A2" addr add 10.201.0.1/24 dev eth0
	ip -n "$P" addr add 10.201.0.2/24 dev eth1
	ip -n "$A2" link set eth0 up
	ip -n "$P" link set eth1 up

	umask 077
	cb_wgkeys a			# K, the key that moves
	wg genkey > p.priv
	wg pubkey < p.priv > p.pub

	# cbp2pd with K, started first and idle: it initiates only when
	# there is something to send, so P has heard nothing from it yet.
	PORT=51821 cb_claims a server-server 10.99.0.1/24 \
	    "$(cb_peer_json "$(cat p.pub)" 10.201.0.2:51820 10.99.0.2/32)"
	cb_token a ES256 keys
	cb_config a ES256 keys
	cb_start a
	[ "$(cb_wga latest-handshakes | cut -f2)" = 0 ] ||
	    atf_fail "cbp2pd handshook before the test sent anything"

	# P, and K in wireguard-go: K initiates, P records its timestamp.
	WGP=wgp$$ WGK=wgk$$
	cb_wggo "$P" "$WGP" 10.99.0.2/24 51820 p.priv
	wg set "$WGP" peer "$(cat a.pub)" endpoint 10.200.0.1:51821 \
	    allowed-ips 10.99.0.1/32 || atf_fail "wg set P"
	cb_wggo "$A1" "$WGK" 10.99.0.1/24 51821 a.priv
	wg set "$WGK" peer "$(cat p.pub)" endpoint 10.200.0.2:51820 \
	    allowed-ips 10.99.0.2/32 || atf_fail "wg set K"
	cb_ping "$A1" 10.99.0.2
	wg show "$WGP" latest-handshakes | grep -q "	[1-9]" ||
	    atf_fail "P has no handshake from K in wireguard-go"
	wg show "$WGP" endpoints | grep -q "10.200.0.1:51821" ||
	    atf_fail "P did not hear K from A1"

	# K leaves wireguard-go; cbp2pd, with K, talks to P at once.
	cb_wggo_stop "$WGK"
	t0=$(cb_now_ms)
	ip netns exec "$A2" ping -c 1 -i 0.2 -w $MOVE_SECS 10.99.0.2 ||
	    atf_fail "no answer through cbp2pd within $MOVE_SECS s of the" \
	    "move: P refused its initiation as a replay?"
	echo "first answer through cbp2pd after $(($(cb_now_ms) - t0)) ms"
	# It was cbp2pd that P answered, with a handshake of its own.
	wg show "$WGP" endpoints | grep -q "10.201.0.1:51821" ||
	    atf_fail "P's endpoint for K is not cbp2pd's: " \
	    "$(wg show "$WGP" endpoints)"
	cb_wga latest-handshakes | grep -q "$(cat p.pub)	[1-9]" ||
	    atf_fail "cbp2pd shows no handshake"
	cb_ping "$A2" 10.99.0.2
	cb_ping "$P" 10.99.0.1
}
from_wireguard_go_cleanup()
{
	common
	cb_kill a
}

atf_init_test_cases()
{
	atf_add_test_case from_wireguard_go
}
