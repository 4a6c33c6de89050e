#! /usr/bin/atf-sh
# The data plane runs in a sandboxed engine process, not in the root
# parent: who holds the sockets, what its memory holds, and the bugs the
# split fixed.  A runs cbp2pd, B wireguard-go, over a veth pair.

common()
{
	. "$(atf_get_srcdir)/common.sh"
}

# The pids holding UDP port 51821 in namespace A, one per line.
udp_holders()
{
	ip netns exec "$A" ss -uapnH 'sport = :51821' |
	    grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u
}


atf_test_case sandbox cleanup
sandbox_head()
{
	atf_set descr "the process holding the UDP socket is unprivileged, sandboxed and never sees the private key"
	atf_set require.user root
	atf_set timeout 120
}
sandbox_body()
{
	common
	cb_pair_wggo
	cb_ping "$A" 10.99.0.2
	parent=$(cat a.pid)
	holders=$(udp_holders)
	echo "UDP 51821 held by: $holders (parent $parent)"
	[ -n "$holders" ] || atf_fail "nobody holds the UDP socket"
	[ "$(echo "$holders" | wc -l)" = 1 ] ||
	    atf_fail "more than one process holds the socket: $holders"
	pid=$holders
	[ "$pid" != "$parent" ] || atf_fail "the root parent holds the socket"
	[ "$(awk '/^PPid:/ { print $2 }' /proc/$pid/status)" = "$parent" ] ||
	    atf_fail "the socket holder is not cbp2pd's child"
	grep -E '^(Uid|CapEff|NoNewPrivs|Seccomp):' /proc/$pid/status
	uid=$(awk '/^Uid:/ { print $2 }' /proc/$pid/status)
	[ "$uid" = "$(id -u _cbp2p)" ] || atf_fail "engine uid $uid"
	[ "$(awk '/^CapEff:/ { print $2 }' /proc/$pid/status)" = \
	    0000000000000000 ] || atf_fail "engine has capabilities"
	[ "$(awk '/^NoNewPrivs:/ { print $2 }' /proc/$pid/status)" = 1 ] ||
	    atf_fail "engine NoNewPrivs"
	[ "$(awk '/^Seccomp:/ { print $2 }' /proc/$pid/status)" = 2 ] ||
	    atf_fail "engine Seccomp"
	[ "$(readlink /proc/$pid/root)" = "$PWD/empty" ] ||
	    atf_fail "engine root $(readlink /proc/$pid/root)"
	# Its crypto workers (one per other core) are as confined: the
	# filter was loaded for every thread, not only the one that asked.
	for t in /proc/$pid/task/*; do
		echo "thread ${t##*/}: $(grep -E '^(Uid|CapEff|NoNewPrivs|Seccomp):' \
		    $t/status | tr '\n\t' '  ')"
		[ "$(awk '/^Uid:/ { print $2 }' $t/status)" = "$uid" ] &&
		[ "$(awk '/^CapEff:/ { print $2 }' $t/status)" = \
		    0000000000000000 ] &&
		[ "$(awk '/^NoNewPrivs:/ { print $2 }' $t/status)" = 1 ] &&
		[ "$(awk '/^Seccomp:/ { print $2 }' $t/status)" = 2 ] ||
		    atf_fail "engine thread ${t##*/} is not confined"
	done
	[ "$(ls /proc/$pid/task | wc -l)" = "$(nproc)" ] ||
	    atf_fail "engine threads: $(ls /proc/$pid/task | wc -l), not one per core"
	# The tun is the engine's too; the parent holds neither.
	ls -l /proc/$pid/fd | grep -q /dev/net/tun || atf_fail "engine tun"
	ls -l /proc/$parent/fd | grep -q /dev/net/tun &&
	    atf_fail "the parent still holds the tun"

	# The key is in the parent (the scan works) and not in the engine.
	find_key "$parent" a.priv ||
	    atf_fail "the scan does not find the key even in the parent"
	find_key "$pid" a.priv && atf_fail "the engine's memory holds the key"
	# Traffic still flows after the scans.
	cb_ping "$A" 10.99.0.2
}
sandbox_cleanup()
{
	common
	cb_wggo_stop "wgb$$"
	cb_kill a
}

mtu_counted()
{
	cb_ctl a -j status | jq -e '.drops.mtu >= 1'
}

atf_test_case mtu_overflow cleanup
mtu_overflow_head()
{
	atf_set descr "a tun packet longer than the token MTU, before a session: dropped and counted, no overflow"
	atf_set require.user root
	atf_set timeout 120
}
mtu_overflow_body()
{
	common
	cb_pair_wggo
	ip -n "$A" link set "cb$$a" mtu 9000 || atf_fail "mtu 9000"
	# No session yet: the packet waits in the staging queue, whose
	# slots are sized for the token's 1420.
	ip netns exec "$A" ping -c 1 -W 1 -s 8000 10.99.0.2
	cb_until 10 mtu_counted ||
	    { cb_ctl a -j status; atf_fail "the long packet was not counted"; }
	kill -0 "$(cat a.pid)" || atf_fail "cbp2pd died"
	[ "$(cb_children a | wc -l)" = 4 ] || atf_fail "a child died"
	ip -n "$A" link set "cb$$a" mtu 1420
	cb_ping "$A" 10.99.0.2
}
mtu_overflow_cleanup()
{
	common
	cb_wggo_stop "wgb$$"
	cb_kill a
}

atf_test_case private_key_null cleanup
private_key_null_head()
{
	atf_set descr "wg set private-key /dev/null with a peer: no crash, the key can come back"
	atf_set require.user root
	atf_set timeout 120
}
private_key_null_body()
{
	common
	cb_pair_wggo
	cb_ping "$A" 10.99.0.2
	wg set "cb$$a" private-key /dev/null || { cat a.log; atf_fail "wg set private-key /dev/null"; }
	[ "$(wg show "cb$$a" private-key)" = "(none)" ] ||
	    atf_fail "the key is still set"
	# Traffic without a key: nothing to handshake with, nothing breaks.
	cb_wggo_stop "$WGB"
	cb_start_wggo
	ip netns exec "$B" ping -c 1 -W 1 10.99.0.1 &&
	    atf_fail "a node without a key answered"
	kill -0 "$(cat a.pid)" || atf_fail "cbp2pd died"
	wg show "cb$$a" peers | grep -q "$(cat b.pub)" ||
	    atf_fail "the peer is gone"
	atf_check wg set "cb$$a" private-key a.priv
	# wireguard-go retries its handshake every 5 s.
	cb_until 20 ip netns exec "$B" ping -c 1 -W 1 10.99.0.1 ||
	    atf_fail "no handshake once the key is back"
	cb_ping "$A" 10.99.0.2
}
private_key_null_cleanup()
{
	common
	cb_wggo_stop "wgb$$"
	cb_kill a
}

atf_test_case idle_peers cleanup
idle_peers_head()
{
	atf_set descr "1000 peers configured through wg set cost no measurable CPU when idle"
	atf_set require.user root
	atf_set timeout 180
}
idle_peers_body()
{
	common
	cb_user
	cb_issuer_keys keys
	cb_wgkeys a
	A=$(cb_ns a)
	echo "$A" > a.ns
	cb_claims a server-server 10.99.0.1/16
	jq '.peer_whitelist.max_peers = 1100 |
	    .network_config.subnet = "10.99.0.0/16"' a.claims > a.claims.new
	mv a.claims.new a.claims
	cb_token a ES256 keys
	cb_config a ES256 keys
	cb_start a
	python3 - > peers.conf <<'PY'
import os
for i in range(1000):
	# Random public keys: peers that never answer.
	k = os.urandom(32).hex()
	print("public_key=%s\nallowed_ip=10.99.%d.%d/32\n"
	    "endpoint=192.0.2.%d:51820" % (k, 4 + i // 250, i % 250, 1 + i % 250))
PY
	{ printf 'set=1\n'; cat peers.conf; printf '\n'; } |
	    python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.stdin.buffer.read())
print(s.recv(4096).decode(), end="")' "/var/run/wireguard/cb$$a.sock" \
	    > set.reply
	cat set.reply
	grep -q '^errno=0$' set.reply || atf_fail "wg set of 1000 peers"
	[ "$(wg show "cb$$a" peers | wc -l)" = 1000 ] || atf_fail "peer count"
	cb_ctl a -j status > st.json
	eng=$(jq -r '.children[] | select(.name == "engine") | .pid' st.json)
	ticks()
	{
		awk '{ print $14 + $15 }' /proc/$1/stat
	}
	t0=$(ticks "$eng")
	p0=$(ticks "$(cat a.pid)")
	sleep 5
	t1=$(ticks "$eng")
	p1=$(ticks "$(cat a.pid)")
	echo "engine: $((t1 - t0)) ticks in 5 s; parent: $((p1 - p0))"
	# A clock tick is 10 ms: a few are noise, a walk of 1000 peers on
	# every wake-up is not.
	[ $((t1 - t0)) -le 5 ] || atf_fail "the idle engine used CPU"
	[ $((p1 - p0)) -le 5 ] || atf_fail "the idle parent used CPU"
}
idle_peers_cleanup()
{
	common
	cb_kill a
}

# A token for a on port 51999 with peers b and c.
claims_port_two_peers()
{
	PORT=51999 cb_claims a server-server 10.99.0.1/24 \
	    "$(cb_peer_json "$(cat b.pub)" 10.200.0.2:51820 10.99.0.2/32)"
	jq --arg c "$(cat c.pub)" '.peers += [{public_key: $c,
	    allowed_ips: ["10.99.0.3/32"]}]' a.claims > a.claims.new
	mv a.claims.new a.claims
	cb_token a ES256 keys
}

atf_test_case reload_refused cleanup
reload_refused_head()
{
	atf_set descr "a reload that cannot bind its port or resolve a peer changes nothing and says refused"
	atf_set require.user root
	atf_set timeout 120
}
reload_refused_body()
{
	common
	cb_pair_wggo
	cb_ping "$A" 10.99.0.2
	wg show "cb$$a" dump > before.dump
	# Someone else holds the new port.
	ip netns exec "$A" python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 51999))
open("held", "w").close()
time.sleep(60)' &
	echo $! > holder.pid
	cb_until 10 test -f held || atf_fail "port holder did not start"
	wg genkey | wg pubkey > c.pub
	claims_port_two_peers
	atf_check -s exit:1 -o match:"reload refused: cannot bind UDP port 51999" \
	    "$CBP2PCTL" -s a.sock reload
	# A peer whose endpoint does not resolve.
	PORT=51821 cb_claims a server-server 10.99.0.1/24 \
	    "$(cb_peer_json "$(cat b.pub)" no-such-host.invalid:51820 \
	    10.99.0.2/32)"
	cb_token a ES256 keys
	atf_check -s exit:1 -o match:"reload refused: peer endpoint" \
	    "$CBP2PCTL" -s a.sock reload
	cb_ctl a -j status > st.json
	[ "$(jq .generation st.json)" = 1 ] || atf_fail "generation moved"
	[ "$(jq .reloads_failed st.json)" = 2 ] || atf_fail "not counted"
	wg show "cb$$a" dump > after.dump
	# Same key, port, peer, endpoint and allowed IPs (counters aside).
	cut -f 1-4 before.dump > before.cut
	cut -f 1-4 after.dump > after.cut
	diff before.cut after.cut || atf_fail "the data plane changed"
	cb_ping "$A" 10.99.0.2

	# Then a good one: the new port and the second peer take effect.
	kill "$(cat holder.pid)"
	claims_port_two_peers
	atf_check -s exit:0 -o match:"generation 2" "$CBP2PCTL" -s a.sock reload
	[ "$(wg show "cb$$a" listen-port)" = 51999 ] || atf_fail "port"
	[ "$(wg show "cb$$a" peers | wc -l)" = 2 ] || atf_fail "peers"
}
reload_refused_cleanup()
{
	common
	[ -f holder.pid ] && kill "$(cat holder.pid)" 2>/dev/null
	cb_wggo_stop "wgb$$"
	cb_kill a
}

atf_init_test_cases()
{
	atf_add_test_case reload_refused
	atf_add_test_case sandbox
	atf_add_test_case mtu_overflow
	atf_add_test_case private_key_null
	atf_add_test_case idle_peers
}
