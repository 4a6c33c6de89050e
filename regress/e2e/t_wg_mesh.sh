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
	cb_user
	cb_issuer_keys keys
	A=$(cb_ns a)
	B=$(cb_ns b)
	echo "$A" > a.ns
	echo "$B" > b.ns
	cb_veth "$A" 10.200.0.1/24 "$B" 10.200.0.2/24
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
	atf_set descr "two cbp2pd: ping, pings of exactly the MTU and over it"
	atf_set require.user root
	atf_set timeout 60
}
ping_mtu_body()
{
	common
	setup
	cb_ping "$A" 10.99.0.2
	cb_ping "$B" 10.99.0.1
	# 1392 bytes of ICMP payload + 28 of headers = 1420, the tunnel MTU.
	ip netns exec "$A" ping -c 3 -i 0.2 -W 2 -M do -s 1392 10.99.0.2 ||
	    atf_fail "a ping of exactly the MTU failed"
	# One byte more does not fit without fragmenting.
	! ip netns exec "$A" ping -c 1 -W 1 -M do -s 1393 10.99.0.2 ||
	    atf_fail "a packet over the MTU passed unfragmented"
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
