#! /usr/bin/atf-sh
# A reload and the token's static peers (cbp2pd(8): "a reload adds,
# changes and removes them to match"; SIGHUP: "if anything is wrong the
# running configuration, port and peers are kept exactly as they
# were").  A runs cbp2pd with a server-server token; B and C run
# wireguard-go: peer b (10.99.0.2, at 10.200.0.2:51820) and peer c
# (10.99.0.3, at 10.201.0.2:51830).  A reload whose port or endpoint
# fails is t_engine:reload_refused; a bad token is t_daemon:reload.

common()
{
	. "$(atf_get_srcdir)/common.sh"
}

# peer KEYFILE ENDPOINT ALLOWED-JSON [EXTRA-MEMBERS]: one static peer.
peer()
{
	printf '{"public_key": "%s", "endpoint": "%s", "allowed_ips": %s%s}' \
	    "$(cat "$1")" "$2" "$3" "${4:-}"
}

# token PEER-JSON...: a's token with these static peers, signed.
token()
{
	ps=
	for p in "$@"; do
		ps="$ps${ps:+, }$p"
	done
	PORT=51821 cb_claims a server-server 10.99.0.1/24 ",
	\"peers\": [$ps]"
	[ -z "${MAXPEERS:-}" ] || {
		jq --argjson m "$MAXPEERS" '.peer_whitelist.max_peers = $m' \
		    a.claims > a.claims.new && mv a.claims.new a.claims; }
	cb_token a ES256 keys
}

# setup: the namespaces, both wireguard-go, and A with peer b only.
setup()
{
	cb_two_ns
	C=$(cb_ns c)
	ip link add "w$$a" netns "$A" type veth peer "w$$c" netns "$C" ||
	    atf_fail "veth to C"
	ip -n "$A" addr add 10.201.0.1/24 dev "w$$a"
	ip -n "$C" addr add 10.201.0.2/24 dev "w$$c"
	ip -n "$A" link set "w$$a" up
	ip -n "$C" link set "w$$c" up
	umask 077
	for n in b c; do
		wg genkey > $n.priv
		wg pubkey < $n.priv > $n.pub
	done
	wg genpsk > psk
	umask 022
	cb_wgkeys a
	token "$(peer b.pub 10.200.0.2:51820 '["10.99.0.2/32"]')"
	cb_config a ES256 keys
	WGB=wgb$$ WGC=wgc$$
	cb_wggo "$B" "$WGB" 10.99.0.2/24 51820 b.priv
	cb_wggo "$C" "$WGC" 10.99.0.3/24 51830 c.priv
	wg set "$WGB" peer "$(cat a.pub)" endpoint 10.200.0.1:51821 \
	    allowed-ips 10.99.0.1/32 || atf_fail "wg set b"
	wg set "$WGC" peer "$(cat a.pub)" endpoint 10.201.0.1:51821 \
	    allowed-ips 10.99.0.1/32 || atf_fail "wg set c"
	cb_start a
}

# field KEYFILE COLUMN: a column of `wg show dump` for one peer of a
# (2 psk, 3 endpoint, 4 allowed IPs, 5 handshake, 6 rx, 7 tx,
# 8 keepalive).
field()
{
	wg show "cb$$a" dump | awk -v k="$(cat "$1")" -v c="$2" \
	    '$1 == k { print $c }'
}

reload_ok()
{
	out=$("$CBP2PCTL" -s a.sock reload) ||
	    { cat a.log; atf_fail "reload $1 refused: $out"; }
	echo "$out"
	echo "$out" | grep -q "generation $1" ||
	    atf_fail "reload: $out, not generation $1"
	grep -q "half-way" a.log && atf_fail "reload $1 half-way:" $(grep half-way a.log | head -1)
	return 0
}

pings()
{
	ip netns exec "$1" ping -c 1 -W 1 "$2" > /dev/null 2>&1
}

atf_test_case static_peers cleanup
static_peers_head()
{
	atf_set descr "reloads add, change and remove the token's static peers"
	atf_set require.user root
	atf_set require.progs "wireguard-go wg jq"
	atf_set timeout 180
}
static_peers_body()
{
	common
	setup
	cb_ping "$A" 10.99.0.2
	pings "$A" 10.99.0.3 && atf_fail "c answered before it was a peer"

	# Add c.
	token "$(peer b.pub 10.200.0.2:51820 '["10.99.0.2/32"]')" \
	    "$(peer c.pub 10.201.0.2:51830 '["10.99.0.3/32"]')"
	reload_ok 2
	[ "$(wg show "cb$$a" peers | sort)" = "$(cat b.pub c.pub | sort)" ] ||
	    atf_fail "peers after adding c:" $(wg show "cb$$a" peers)
	cb_ping "$A" 10.99.0.3
	cb_ping "$A" 10.99.0.2

	# Change b: it moves to port 51825, so a's old endpoint goes
	# nowhere (a sends, nothing answers) until the token says so.
	wg set "$WGB" listen-port 51825 || atf_fail "b's new port"
	tx=$(field b.pub 7)
	pings "$A" 10.99.0.2 && atf_fail "b answered at its old port"
	[ "$(field b.pub 7)" -gt "$tx" ] || atf_fail "a did not even send to b"
	token "$(peer b.pub 10.200.0.2:51825 '["10.99.0.2/32", "10.99.2.0/24"]' \
	    ", \"preshared_key\": \"$(cat psk)\", \"persistent_keepalive\": 7")" \
	    "$(peer c.pub 10.201.0.2:51830 '["10.99.0.3/32"]')"
	reload_ok 3
	wg show "cb$$a" dump
	[ "$(field b.pub 3)" = 10.200.0.2:51825 ] ||
	    atf_fail "b's endpoint: $(field b.pub 3)"
	[ "$(field b.pub 4)" = 10.99.0.2/32,10.99.2.0/24 ] ||
	    atf_fail "b's allowed IPs: $(field b.pub 4)"
	[ "$(field b.pub 2)" = "$(cat psk)" ] || atf_fail "b's preshared key"
	[ "$(field b.pub 8)" = 7 ] || atf_fail "b's keepalive: $(field b.pub 8)"
	[ "$(field c.pub 3)" = 10.201.0.2:51830 ] || atf_fail "c moved"
	cb_ping "$A" 10.99.0.2
	# The new prefix routes to b.
	ip -n "$B" addr add 10.99.2.1/24 dev "$WGB"
	wg set "$WGB" peer "$(cat a.pub)" allowed-ips 10.99.0.1/32
	ip -n "$A" route add 10.99.2.0/24 dev "cb$$a"
	cb_ping "$A" 10.99.2.1
	# The preshared key is used: b forgets a and comes back with the
	# key, and only a handshake with it brings traffic.
	wg set "$WGB" peer "$(cat a.pub)" remove
	wg set "$WGB" peer "$(cat a.pub)" endpoint 10.200.0.1:51821 \
	    allowed-ips 10.99.0.1/32 preshared-key psk || atf_fail "b's psk"
	hs=$(field b.pub 5)
	cb_until 20 pings "$B" 10.99.0.1 ||
	    atf_fail "no handshake with the preshared key"
	[ "$(field b.pub 5)" -gt "$hs" ] || atf_fail "no new handshake"

	# Remove b.
	token "$(peer c.pub 10.201.0.2:51830 '["10.99.0.3/32"]')"
	reload_ok 4
	[ "$(wg show "cb$$a" peers)" = "$(cat c.pub)" ] ||
	    atf_fail "peers after removing b:" $(wg show "cb$$a" peers)
	[ -z "$(wg show "cb$$a" allowed-ips | grep 10.99.2.0/24)" ] ||
	    atf_fail "b's prefix stayed"
	pings "$A" 10.99.0.2 && atf_fail "a still reaches b"
	# b tries a new handshake; a refuses it.
	wg set "$WGB" peer "$(cat a.pub)" remove
	wg set "$WGB" peer "$(cat a.pub)" endpoint 10.200.0.1:51821 \
	    allowed-ips 10.99.0.1/32 preshared-key psk
	d0=$(cb_ctl a -j status | jq .drops.handshake)
	pings "$B" 10.99.0.1 && atf_fail "b reached a after its removal"
	cb_until 10 sh -c "[ \$($CBP2PCTL -j -s a.sock status | jq .drops.handshake) -gt $d0 ]" ||
	    atf_fail "a did not refuse b's handshake: $(cb_ctl a -j status | jq -c .drops)"
	cb_ping "$A" 10.99.0.3
	cb_ctl a -j status > st.json
	[ "$(jq .reloads st.json)" = 3 ] && [ "$(jq .reloads_failed st.json)" = 0 ] ||
	    atf_fail "reload counters: $(jq -c '{reloads, reloads_failed}' st.json)"
}
static_peers_cleanup()
{
	common
	cb_kill a
}

atf_test_case keeps_sessions cleanup
keeps_sessions_head()
{
	atf_set descr "a reload that changes only peer c keeps b's session (no new handshake) and a ping to b across it loses nothing; after a restart both peers answer again (the time it took is printed)"
	atf_set require.user root
	atf_set require.progs "wireguard-go wg jq"
	atf_set timeout 180
}
keeps_sessions_body()
{
	common
	setup
	token "$(peer b.pub 10.200.0.2:51820 '["10.99.0.2/32"]')" \
	    "$(peer c.pub 10.201.0.2:51830 '["10.99.0.3/32"]')"
	reload_ok 2
	cb_ping "$A" 10.99.0.2
	cb_ping "$A" 10.99.0.3
	hs_b=$(field b.pub 5)
	hs_c=$(field c.pub 5)
	[ "$hs_b" -gt 0 ] && [ "$hs_c" -gt 0 ] || atf_fail "no handshakes"

	# Pings to b, five a second, across a reload that changes only c.
	ip netns exec "$A" ping -i 0.2 -c 25 -W 2 10.99.0.2 > ping.out 2>&1 &
	pp=$!
	sleep 2
	token "$(peer b.pub 10.200.0.2:51820 '["10.99.0.2/32"]')" \
	    "$(peer c.pub 10.201.0.2:51830 '["10.99.0.3/32", "10.99.3.0/24"]' \
	    ', "persistent_keepalive": 9')"
	reload_ok 3
	cb_wait_exit "$pp" || atf_fail "ping did not end"
	tail -2 ping.out
	grep -q "25 packets transmitted, 25 received" ping.out ||
	    atf_fail "pings lost across the reload: $(grep transmitted ping.out)"
	[ "$(field b.pub 5)" = "$hs_b" ] ||
	    atf_fail "b handshook anew: $hs_b, now $(field b.pub 5)"
	[ "$(field c.pub 4)" = 10.99.0.3/32,10.99.3.0/24 ] &&
	    [ "$(field c.pub 8)" = 9 ] || atf_fail "c not changed"

	# A restart: every peer back, and how long it took.
	kill "$(cat a.pid)"
	cb_wait_exit "$(cat a.pid)" || atf_fail "a did not stop"
	cb_start a
	t0=$(cb_now_ms)
	cb_until 20 pings "$A" 10.99.0.2 || atf_fail "b not back"
	cb_until 20 pings "$A" 10.99.0.3 || atf_fail "c not back"
	echo "both peers answered $(($(cb_now_ms) - t0)) ms after the restart"
}
keeps_sessions_cleanup()
{
	common
	cb_kill a
}

# refused_unchanged PATTERN: a reload is refused with PATTERN, and a's
# data plane, generation and traffic are as before.
refused_unchanged()
{
	atf_check -s exit:1 -o match:"reload refused: $1" \
	    "$CBP2PCTL" -s a.sock reload
	grep "half-way" a.log && atf_fail "the data plane changed half-way"
	cb_ctl a -j status > st.json
	[ "$(jq .generation st.json)" = 1 ] || atf_fail "generation moved"
	[ "$(jq .reloads_failed st.json)" = 1 ] || atf_fail "not counted"
	wg show "cb$$a" dump | cut -f 1-4 | sort > after.cut
	diff before.cut after.cut || atf_fail "the data plane changed"
	cb_ping "$A" 10.99.0.2
}

atf_test_case unusable_key cleanup
unusable_key_head()
{
	atf_set descr "a reload naming a static peer whose key cannot handshake is refused whole"
	atf_set require.user root
	atf_set require.progs "wireguard-go wg jq"
	atf_set timeout 120
}
unusable_key_body()
{
	common
	setup
	cb_ping "$A" 10.99.0.2
	wg show "cb$$a" dump | cut -f 1-4 | sort > before.cut
	# The all-zero key is a point of small order: no X25519 exchange
	# with it gives a shared secret, so the peer could never handshake.
	echo AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= > zero.pub
	token "$(peer c.pub 10.201.0.2:51830 '["10.99.0.3/32"]')" \
	    "$(peer zero.pub 10.200.0.2:51840 '["10.99.0.4/32"]')"
	refused_unchanged "token: peers\\[1\\].public_key: is not a usable public key"
	pings "$A" 10.99.0.3 && atf_fail "c, of the refused token, answers"
	# cbp2pd -n says the same of that configuration.
	atf_check -s exit:1 -e match:"token: peers\\[1\\].public_key: is not a usable public key" \
	    "$CBP2PD" -n -f "$PWD/a.yaml"
}
unusable_key_cleanup()
{
	common
	cb_kill a
}

atf_test_case peer_limit cleanup
peer_limit_head()
{
	atf_set descr "a reload whose static peers do not fit max_peers beside the others is refused whole"
	atf_set require.user root
	atf_set require.progs "wireguard-go wg jq"
	atf_set timeout 120
}
peer_limit_body()
{
	common
	MAXPEERS=2
	setup
	cb_ping "$A" 10.99.0.2
	# A second peer through wg set fills max_peers (static peers count).
	wg genkey | wg pubkey > w.pub
	wg set "cb$$a" peer "$(cat w.pub)" allowed-ips 10.99.0.9/32 ||
	    atf_fail "wg set of a second peer"
	wg show "cb$$a" dump | cut -f 1-4 | sort > before.cut
	# b and c in the token: three peers, one more than allowed.
	token "$(peer b.pub 10.200.0.2:51820 '["10.99.0.2/32"]')" \
	    "$(peer c.pub 10.201.0.2:51830 '["10.99.0.3/32"]')"
	refused_unchanged "peer limit"
	pings "$A" 10.99.0.3 && atf_fail "c, of the refused token, answers"
	# Room made: the same token is taken whole.
	wg set "cb$$a" peer "$(cat w.pub)" remove || atf_fail "wg set remove"
	reload_ok 2
	cb_ping "$A" 10.99.0.3
}
peer_limit_cleanup()
{
	common
	cb_kill a
}

atf_init_test_cases()
{
	atf_add_test_case static_peers
	atf_add_test_case keeps_sessions
	atf_add_test_case unusable_key
	atf_add_test_case peer_limit
}
