#! /usr/bin/atf-sh
# IPv6 inside the tunnel: cbp2pd with an IPv6 tunnel address, subnet and
# allowed IPs, against wireguard-go.  The outer packets stay IPv4 (the
# IPv6 endpoints are t_wg_mesh:ipv6).  A runs cbp2pd (fd00:99::1), B
# wireguard-go (fd00:99::2), over a veth pair.

common()
{
	. "$(atf_get_srcdir)/common.sh"
}

setup()
{
	cb_two_ns
	umask 077
	wg genkey > b.priv
	wg pubkey < b.priv > b.pub
	umask 022
	cb_wgkeys a
	PORT=51821 cb_claims a server-server fd00:99::1/64 \
	    "$(cb_peer_json "$(cat b.pub)" 10.200.0.2:51820 fd00:99::2/128)"
	jq '.network_config.subnet = "fd00:99::/64" |
	    .wireguard_config.allowed_ips = ["fd00:99::1/128"]' a.claims \
	    > a.claims.new || atf_fail "claims"
	mv a.claims.new a.claims
	cb_token a ES256 keys
	cb_config a ES256 keys
	atf_check -s exit:0 -e match:"configuration OK" \
	    "$CBP2PD" -n -f "$PWD/a.yaml"
	WGB=wgb$$
	cb_wggo "$B" "$WGB" 10.99.0.2/24 51820 b.priv
	ip -n "$B" addr add fd00:99::2/64 dev "$WGB" nodad
	wg set "$WGB" peer "$(cat a.pub)" endpoint 10.200.0.1:51821 \
	    allowed-ips fd00:99::1/128 || atf_fail "wg set peer"
	cb_start a
}

# ping6s NS ADDR: pings of 56, 1372 (the 1420-byte MTU exactly: 40 of
# IPv6 and 8 of ICMPv6 headers) and 3000 bytes (fragments) come back.
ping6s()
{
	for size in 56 1372 3000; do
		ip netns exec "$1" ping -6 -c 3 -i 0.2 -W 2 -s $size "$2" ||
		    atf_fail "ping -s $size $2 from $1 failed"
	done
}

atf_test_case ping6 cleanup
ping6_head()
{
	atf_set descr "an IPv6 tunnel address and allowed IPs against wireguard-go: ping6 both ways, inner sources checked"
	atf_set require.user root
	atf_set require.progs "wireguard-go wg jq"
	atf_set timeout 120
}
ping6_body()
{
	common
	setup
	# The tun carries the token's IPv6 address and prefix.
	ip -n "$A" -j addr show "cb$$a" | jq -e '.[0].addr_info[] |
	    select(.family == "inet6" and .local == "fd00:99::1" and
	    .prefixlen == 64)' > /dev/null ||
	    atf_fail "tun address: $(ip -n "$A" -br addr show "cb$$a")"
	[ "$(wg show "cb$$a" allowed-ips | cut -f 2)" = fd00:99::2/128 ] ||
	    atf_fail "allowed IPs: $(wg show "cb$$a" allowed-ips)"
	# The first ping waits for the handshake.
	cb_until 20 ip netns exec "$A" ping -6 -c 1 -W 1 fd00:99::2 ||
	    atf_fail "no IPv6 traffic through the tunnel: $(cb_ctl a -j status | jq -c .drops)"
	ping6s "$A" fd00:99::2
	ping6s "$B" fd00:99::1
	cb_ctl a -j status > st.json
	jq -c .drops st.json

	# An inner source outside b's allowed IPs is dropped and counted.
	ip -n "$B" addr add fd00:99::99/64 dev "$WGB" nodad
	wg set "$WGB" peer "$(cat a.pub)" allowed-ips fd00:99::1/128
	d0=$(jq .drops.allowed_ips st.json)
	ip netns exec "$B" ping -6 -c 2 -i 0.2 -W 1 -I fd00:99::99 \
	    fd00:99::1 && atf_fail "a answered a source b does not own"
	cb_until 5 sh -c "[ \$($CBP2PCTL -j -s a.sock status | jq .drops.allowed_ips) -ge $((d0 + 2)) ]" ||
	    atf_fail "the foreign source was not counted: $(cb_ctl a -j status | jq -c .drops)"
	# b's own address still passes.
	ip -n "$B" addr del fd00:99::99/64 dev "$WGB"
	ping6s "$B" fd00:99::1
}
ping6_cleanup()
{
	common
	cb_kill a
}

atf_init_test_cases()
{
	atf_add_test_case ping6
}
