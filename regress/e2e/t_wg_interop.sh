#! /usr/bin/atf-sh
# cbp2pd against wireguard-go and wg(8) from Debian, over a veth pair
# between two namespaces: A runs cbp2pd, B runs wireguard-go.

common()
{
	. "$(atf_get_srcdir)/common.sh"
}

# Transfer counters of both sides: "a_rx a_tx b_rx b_tx".
counters()
{
	set -- $(cb_wga transfer)
	a_rx=$2 a_tx=$3
	set -- $(wg show "$WGB" transfer)
	echo "$a_rx $a_tx $2 $3"
}

# counts_agree BEFORE...: the counters moved by the same amounts on both
# sides since BEFORE (four numbers, as counters prints them).
counts_agree()
{
	set -- "$@" $(counters)
	echo "after:  cbp2pd rx $5 tx $6; wireguard-go rx $7 tx $8" > after.txt
	[ $(($5 - $1)) -gt 0 ] && [ $(($5 - $1)) = $(($8 - $4)) ] &&
	    [ $(($6 - $2)) = $(($7 - $3)) ]
}

# Both sides count the same bytes for the same packets: what cbp2pd sent,
# wireguard-go received, and back.  Compared over a lossless exchange
# (a bulk transfer may lose datagrams in a socket buffer); a counter may
# be updated a moment after the packet it counts is delivered, so they
# get a bounded while to agree.
transfer_agrees()
{
	before=$(counters)
	set -- $before
	echo "before: cbp2pd rx $1 tx $2; wireguard-go rx $3 tx $4"
	cb_ping "$A" 10.99.0.2
	cb_ping "$B" 10.99.0.1
	cb_until 5 counts_agree $before
	counts_agree $before
	ok=$?
	cat after.txt
	set -- $before $(counters)
	[ $ok = 0 ] && return 0
	[ $(($5 - $1)) -gt 0 ] || atf_fail "cbp2pd counted nothing"
	[ $(($5 - $1)) = $(($8 - $4)) ] ||
	    atf_fail "cbp2pd received $(($5 - $1)), wireguard-go sent $(($8 - $4))"
	atf_fail "cbp2pd sent $(($6 - $2)), wireguard-go received $(($7 - $3))"
}

atf_test_case ping_iperf cleanup
ping_iperf_head()
{
	atf_set descr "cbp2pd and wireguard-go: each initiates in turn, ping, iperf3, wg show agrees"
	atf_set require.user root
	atf_set timeout 120
}
ping_iperf_body()
{
	common
	cb_pair_wggo
	# cbp2pd initiates.
	cb_ping "$A" 10.99.0.2
	cb_wga
	cb_wga latest-handshakes | grep -q "$(cat b.pub)	[1-9]" ||
	    atf_fail "wg show has no handshake for the peer"
	cb_wga endpoints | grep -q "10.200.0.2:51820" || atf_fail "endpoint"
	cb_wga allowed-ips | grep -q "10.99.0.2/32" || atf_fail "allowed ips"

	# wireguard-go initiates: restart it so it has no session.
	cb_wggo_stop "$WGB"
	cb_start_wggo
	cb_ping "$B" 10.99.0.1
	wg show "$WGB" latest-handshakes | grep -q "	[1-9]" ||
	    atf_fail "wireguard-go saw no handshake"

	# cbp2pd restarted: wireguard-go still holds a session; cbp2pd has
	# none, so it initiates again when B sends.
	# wireguard-go's data goes unanswered until it starts a new handshake
	# (after KEEPALIVE_TIMEOUT + REKEY_TIMEOUT, 15 s).
	kill "$(cat a.pid)"
	cb_wait_exit "$(cat a.pid)"
	cb_start a
	cb_until 30 ip netns exec "$B" ping -c 1 -W 1 10.99.0.1 ||
	    atf_fail "no traffic after cbp2pd restarted"
	cb_ping "$B" 10.99.0.1

	ip netns exec "$B" iperf3 -s -1 -D -I iperf.pid -B 10.99.0.2 ||
	    atf_fail "iperf3 server"
	cb_until $WAIT_SECS sh -c "ip netns exec '$B' ss -Hltn 'sport = :5201' |
	    grep -q ." || atf_fail "iperf3 server not listening"
	ip netns exec "$A" iperf3 -c 10.99.0.2 -t 5 -J > iperf.json ||
	    atf_fail "iperf3 client"
	bps=$(jq '.end.sum_received.bits_per_second | floor' iperf.json)
	echo "iperf3 TCP through cbp2pd -> wireguard-go: $bps bit/s"
	[ "$bps" -gt 0 ] || atf_fail "no throughput"
	transfer_agrees
}
ping_iperf_cleanup()
{
	common
	[ -f iperf.pid ] && kill "$(cat iperf.pid)" 2>/dev/null
	cb_kill a
}

atf_test_case psk cleanup
psk_head()
{
	atf_set descr "cbp2pd and wireguard-go with a preshared key; with different ones the handshake is refused and counted"
	atf_set require.user root
	atf_set timeout 120
}

# latest: from wg show's latest-handshakes on stdin, the one peer's
# latest handshake (0: none).
latest()
{
	awk '{ print $2 }'
}

handshake_drops()
{
	cb_ctl a -j status | jq .drops.handshake
}

# hs_count NAME: handshake messages B's netfilter counted (psk_count).
hs_count()
{
	ip netns exec "$B" nft -j list counter ip cnt "$1" |
	    jq '.nftables[] | select(.counter) | .counter.packets'
}

# Count wireguard-go's initiations to cbp2pd and cbp2pd's responses.
psk_count()
{
	ip netns exec "$B" nft -f - <<NFT || atf_fail "nft"
table ip cnt {
	counter init_out { }
	counter resp_in { }
	chain out {
		type filter hook output priority 0;
		ip daddr 10.200.0.1 udp dport 51821 @th,64,8 1 counter name init_out
	}
	chain in {
		type filter hook input priority 0;
		ip saddr 10.200.0.1 udp sport 51821 @th,64,8 2 counter name resp_in
	}
}
NFT
}

# b_tries: B pings once (it must fail: b.pinged records it if not);
# true once wireguard-go sent an initiation and cbp2pd answered it.
b_tries()
{
	ip netns exec "$B" ping -c 1 -W 1 10.99.0.1 && echo >> b.pinged
	[ "$(hs_count init_out)" -ge 1 ] && [ "$(hs_count resp_in)" -ge 1 ]
}

psk_body()
{
	common
	cb_pair_wggo psk
	cb_ping "$A" 10.99.0.2
	cb_ping "$B" 10.99.0.1
	cb_wga preshared-keys | grep -q "$(cat psk)" || atf_fail "psk not shown"
	# Different psks: wireguard-go starts again without one, cbp2pd
	# restarts with the token's, so neither holds a session.
	cb_wggo_stop "$WGB"
	psk=
	cb_start_wggo
	kill "$(cat a.pid)"
	cb_wait_exit "$(cat a.pid)" || atf_fail "cbp2pd did not stop"
	cb_start a
	[ "$(wg show "$WGB" preshared-keys | awk '{ print $2 }')" = "(none)" ] ||
	    atf_fail "wireguard-go has a psk"
	d0=$(handshake_drops)
	# cbp2pd initiates; wireguard-go answers, mixing in no psk; cbp2pd
	# refuses the response and counts it.
	! ip netns exec "$A" ping -c 3 -i 0.5 -W 1 10.99.0.2 ||
	    atf_fail "handshake completed with a mismatched psk"
	cb_until $WAIT_SECS sh -c "[ \$($CBP2PCTL -j -s a.sock status |
	    jq .drops.handshake) -gt $d0 ]" ||
	    { cb_ctl a status; atf_fail "the refused response was not counted"; }
	echo "handshake drops: $d0 -> $(handshake_drops)"
	[ "$(cb_wga latest-handshakes | latest)" = 0 ] ||
	    atf_fail "cbp2pd shows a handshake"
	[ "$(wg show "$WGB" latest-handshakes | latest)" = 0 ] ||
	    atf_fail "wireguard-go shows a handshake"
	# wireguard-go initiates; it refuses cbp2pd's response.  cbp2pd
	# restarts so that its own retries stop, and wireguard-go's peer is
	# made again: wireguard-go holds back an initiation for REKEY_TIMEOUT
	# after any handshake message it sent.
	kill "$(cat a.pid)"
	cb_wait_exit "$(cat a.pid)" || atf_fail "cbp2pd did not stop"
	cb_start a
	wg set "$WGB" peer "$(cat a.pub)" remove || atf_fail "wg set remove"
	wg set "$WGB" peer "$(cat a.pub)" endpoint 10.200.0.1:51821 \
	    allowed-ips 10.99.0.1/32 || atf_fail "wg set peer"
	psk_count
	cb_until $WAIT_SECS b_tries ||
	    atf_fail "wireguard-go's initiation was not answered: $(hs_count init_out) sent, $(hs_count resp_in) responses"
	echo "wireguard-go sent $(hs_count init_out) initiations, cbp2pd answered $(hs_count resp_in)"
	[ ! -f b.pinged ] || atf_fail "handshake completed with a mismatched psk"
	[ "$(wg show "$WGB" latest-handshakes | latest)" = 0 ] ||
	    atf_fail "wireguard-go shows a handshake"
	# A responder's handshake counts once data proves the keys, as in
	# the kernel and wireguard-go: cbp2pd answered, nothing came.
	cb_wga latest-handshakes
	[ "$(cb_wga latest-handshakes | latest)" = 0 ] ||
	    atf_fail "cbp2pd shows a handshake it only answered"
	# The same psk on both sides again: the same two handshake.
	wg set "$WGB" peer "$(cat a.pub)" preshared-key psk ||
	    atf_fail "wg set preshared-key"
	cb_until $WAIT_SECS ip netns exec "$A" ping -c 1 -W 1 10.99.0.2 ||
	    atf_fail "no handshake with the psks equal again"
	cb_ping "$A" 10.99.0.2
	cb_ping "$B" 10.99.0.1
	[ "$(wg show "$WGB" latest-handshakes | latest)" -gt 0 ] ||
	    atf_fail "wireguard-go shows no handshake"
}
psk_cleanup()
{
	common
	cb_kill a
}

atf_test_case roaming cleanup
roaming_head()
{
	atf_set descr "wireguard-go changes its port and address; cbp2pd follows"
	atf_set require.user root
	atf_set timeout 60
}
roaming_body()
{
	common
	cb_pair_wggo
	cb_ping "$B" 10.99.0.1
	wg set "$WGB" listen-port 51900
	cb_ping "$B" 10.99.0.1
	cb_wga endpoints | grep -q "10.200.0.2:51900" ||
	    atf_fail "cbp2pd did not roam to the new port: $(cb_wga endpoints)"
	cb_ping "$A" 10.99.0.2

	# A new source address, as after a NAT rebinding: B's packets from
	# the next port leave as 10.200.0.3 (wireguard-go pins its source
	# address, so the address change is made on the way out).
	ip -n "$B" addr add 10.200.0.3/24 dev eth0
	ip netns exec "$B" nft -f - <<NFT || atf_fail "nft"
table ip roam {
	chain post {
		type nat hook postrouting priority srcnat;
		ip saddr 10.200.0.2 udp sport 51901 snat to 10.200.0.3
	}
}
NFT
	wg set "$WGB" listen-port 51901
	cb_ping "$B" 10.99.0.1
	cb_wga endpoints | grep -q "10.200.0.3:51901" ||
	    atf_fail "cbp2pd did not roam to the new address: $(cb_wga endpoints)"
	cb_ping "$A" 10.99.0.2
}
roaming_cleanup()
{
	common
	cb_kill a
}

atf_test_case wg_set cleanup
wg_set_head()
{
	atf_set descr "wg set changes cbp2pd's running peers"
	atf_set require.user root
	atf_set timeout 60
}
wg_set_body()
{
	common
	cb_pair_wggo
	cb_ping "$A" 10.99.0.2
	# Remove the peer: no route any more.
	wg set "cb$$a" peer "$(cat b.pub)" remove || atf_fail "wg set remove"
	[ -z "$(cb_wga peers)" ] || atf_fail "peer still listed"
	# The ping reaches cbp2pd, which has no peer for it any more.
	n0=$(cb_ctl a -j status | jq .drops.no_route)
	! ip netns exec "$A" ping -c 1 -W 1 10.99.0.2 || atf_fail "still routed"
	[ "$(cb_ctl a -j status | jq .drops.no_route)" -gt "$n0" ] ||
	    atf_fail "the ping was not refused for want of a route"
	# Add it back with wg set alone.
	wg set "cb$$a" peer "$(cat b.pub)" endpoint 10.200.0.2:51820 \
	    allowed-ips 10.99.0.2/32 persistent-keepalive 3 ||
	    atf_fail "wg set add"
	cb_ping "$A" 10.99.0.2
	cb_wga persistent-keepalive | grep -q "	3$" || atf_fail "keepalive"
	cb_ctl a -j peers > peers.json
	cat peers.json
	[ "$(jq -r '.[0].public_key' peers.json)" = "$(cat b.pub)" ] ||
	    atf_fail "cbp2pctl peers"
	[ "$(jq -r '.[0].allowed_ips[0]' peers.json)" = 10.99.0.2/32 ] ||
	    atf_fail "cbp2pctl peers allowed ips"
	[ "$(jq -r '.[0].rx_bytes' peers.json)" -gt 0 ] ||
	    atf_fail "cbp2pctl peers rx"
	# A bad request through the socket is refused, nothing changes.
	printf 'set=1\npublic_key=zz\n\n' | python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.stdin.buffer.read())
print(s.recv(100).decode())' "/var/run/wireguard/cb$$a.sock" | grep -q "errno=-22" ||
	    atf_fail "bad set not refused"
	[ "$(cb_wga peers)" = "$(cat b.pub)" ] || atf_fail "peers changed"
	cb_ping "$A" 10.99.0.2
}
wg_set_cleanup()
{
	common
	cb_kill a
}

atf_init_test_cases()
{
	atf_add_test_case ping_iperf
	atf_add_test_case psk
	atf_add_test_case roaming
	atf_add_test_case wg_set
}
