#! /usr/bin/atf-sh
# The node's side of the relay: cbrelayd and the engine's relay
# transport, with routing relay and client-server, against a stub relay
# (relaystub.py, doc/relay.md) in the lab's edge namespace; the registry
# is cbedged's.  No UDP may pass between the nodes.

common()
{
	. "$(atf_get_srcdir)/common.sh"
	LAB=r$$
	RELAY_PORT=8444
	STUB=$(atf_get_srcdir)/relaystub.py
}

# stub_start [MODE]: the stub relay in the edge namespace, its pid in
# stub.pid; it shows the edge's certificate (STUB_CERT: another one)
# on the edge's address (STUB_LISTEN: another one).
stub_start()
{
	ip netns exec "$LAB-edge" python3 "$STUB" \
	    --listen "${STUB_LISTEN:-$EDGE_IP}:$RELAY_PORT" \
	    --cert "${STUB_CERT:-edge.crt}" --key edge.key \
	    --mode "${1:-normal}" --log stub.log > stub.out 2>&1 < /dev/null &
	echo $! > stub.pid
	cb_until 10 ip netns exec "$LAB-edge" python3 -c "
import socket
socket.create_connection(('${STUB_LISTEN:-$EDGE_IP}', $RELAY_PORT), 1)" ||
	    { cat stub.out stub.log; atf_fail "the stub relay did not start"; }
}

# stub_stop [SIGNAL]: KILL by default; TERM sends RESTARTING first.
stub_stop()
{
	[ -f stub.pid ] || return 0
	kill "-${1:-KILL}" "$(cat stub.pid)" 2>/dev/null
	cb_wait_exit "$(cat stub.pid)" || atf_fail "the stub did not exit"
	rm -f stub.pid
}

# nft_watch NODE OTHER: count UDP between NODE and OTHER's address, and
# TCP to the relay, in NODE's namespace.
nft_watch()
{
	other=$("$NATLAB" -p "$LAB" pub "$2")
	ip netns exec "$(cat "$1.ns")" nft -f - <<NFT || atf_fail "nft"
table inet cbtest {
	chain out {
		type filter hook output priority 0; policy accept;
		ip daddr $other meta l4proto udp counter comment "udp-out"
		ip daddr $EDGE_IP tcp dport $RELAY_PORT counter comment "relay"
	}
	chain in {
		type filter hook input priority 0; policy accept;
		ip saddr $other meta l4proto udp counter comment "udp-in"
	}
}
NFT
}

# nft_packets NODE COMMENT: packets the rules whose comment starts with
# COMMENT counted ("udp": both ways).
nft_packets()
{
	ip netns exec "$(cat "$1.ns")" nft list table inet cbtest |
	    awk -v c="\"$2" '$0 ~ "comment " c {
		for (i = 1; i < NF; i++) if ($i == "packets") s += $(i + 1) }
		END { print s + 0 }'
}

# relay_up FILTER NAME...: the lab (nodes of kind NAT_KIND_<name>, else
# NAT_KIND, else public), the registry, the stub, and node i
# (10.99.0.i) with the claims filter and edge.relay.
relay_up()
{
	rf=$1
	shift
	echo "$LAB" > lab
	specs=
	for n in "$@"; do
		eval "k=\${NAT_KIND_$n:-\${NAT_KIND:-public}}"
		specs="$specs $n:$k"
	done
	"$NATLAB" -p "$LAB" up $specs > lab.out 2>&1 ||
	    { cat lab.out; atf_fail "natlab up"; }
	cb_user
	cb_issuer_keys keys
	cb_edge_certs
	if [ -n "${REAL_RELAY:-}" ]; then
		# cbedged's own relay worker instead of the stub.
		cb_edge_start "relay_listen: $EDGE_IP:$RELAY_PORT"
	else
		cb_edge_start
		stub_start "${STUB_MODE:-normal}"
	fi
	ni=1
	for n in "$@"; do
		cb_mesh_node "$n" "10.99.0.$ni" "$rf"
		sed -i "s|^edge:\$|edge:\\
  relay: $EDGE_IP:$RELAY_PORT|" "$n.yaml"
		grep -q "relay: $EDGE_IP" "$n.yaml" || atf_fail "no edge.relay"
		ni=$((ni + 1))
	done
	for n in "$@"; do
		[ $# -lt 2 ] ||
		    nft_watch "$n" "$([ "$n" = n1 ] && echo n2 || echo n1)"
		[ -z "${PRESTART:-}" ] || $PRESTART "$n"
		cb_start "$n"
	done
}

# udp_block NODE: drop every UDP packet between NODE and the other node
# (n1 and n2), both ways, in NODE's namespace; udp_unblock undoes it.
udp_block()
{
	[ "$1" = n1 ] || return 0
	other=$("$NATLAB" -p "$LAB" pub n2)
	ip netns exec "$(cat "$1.ns")" nft -f - <<NFT || atf_fail "nft drop"
table inet cbdrop {
	chain out {
		type filter hook output priority -10; policy accept;
		ip daddr $other meta l4proto udp drop
	}
	chain in {
		type filter hook input priority -10; policy accept;
		ip saddr $other meta l4proto udp drop
	}
}
NFT
}

udp_unblock()
{
	ip netns exec "$(cat "$1.ns")" nft delete table inet cbdrop ||
	    atf_fail "nft undrop"
}

# udp_out_over NODE N: NODE sent more than N UDP packets to the other.
udp_out_over()
{
	[ "$(nft_packets "$1" udp-out)" -gt "$2" ]
}

# peer_field NODE JQ: a field of NODE's only peer.
peer_field()
{
	cb_ctl "$1" -j peers | jq -r ".[0] | $2"
}

# nat_is NODE MAPPING [PEER-MAPPING]: the node's NAT mapping in status,
# and the one its only peer published.
nat_is()
{
	[ "$(cb_ctl "$1" -j status | jq -r .nat)" = "$2" ] &&
	    { [ -z "${3:-}" ] || [ "$(peer_field "$1" .nat)" = "$3" ]; }
}

# wait_nat NODE SECS MAPPING [PEER-MAPPING]
wait_nat()
{
	cb_until "$2" nat_is "$1" "$3" "${4:-}" || {
		cb_ctl "$1" status
		cb_ctl "$1" -j peers
		grep -i "stun\|nat" "$1.log" | tail -20
		atf_fail "$1: NAT not $3, or its peer's not ${4:-any}, within $2 s"
	}
}

# path_is NODE PATH [REASON]
path_is()
{
	[ "$(peer_field "$1" .path)" = "$2" ] &&
	    { [ -z "${3:-}" ] || [ "$(peer_field "$1" .reason)" = "$3" ]; }
}

# wait_path NODE SECS PATH [REASON]
wait_path()
{
	cb_until "$2" path_is "$1" "$3" "${4:-}" || {
		cb_ctl "$1" peers
		grep -i "path\|relay" "$1.log" | tail -20
		atf_fail "$1's peer: not $3 ${4:-} within $2 s"
	}
}

can_ping()
{
	ip netns exec "$(cat "$1.ns")" ping -c 1 -W 1 "$2" >/dev/null 2>&1
}

wait_ping()
{
	cb_until "${3:-30}" can_ping "$1" "$2" || {
		cb_ctl "$1" status
		[ ! -f stub.log ] || cat stub.log
		tail -40 "$1.log"
		atf_fail "$1 cannot reach $2"
	}
}

relay_state()
{
	cb_ctl "$1" -j status | jq -r '.children[] |
	    select(.name == "cbrelayd") | .state'
}

# connects NODE: connections cbrelayd made (AUTH_OK received).
connects()
{
	relay_state "$1" | sed -n 's/.*connects \([0-9]*\).*/\1/p'
}

# connected_since NODE N: cbrelayd is connected, more often than N.
connected_since()
{
	relay_state "$1" | grep -q "^connected to" &&
	    [ "$(connects "$1")" -gt "$2" ]
}

# wait_reconnect NODE N: within 60 s, connected once more than N times.
wait_reconnect()
{
	cb_until 60 connected_since "$1" "$2" ||
	    atf_fail "$1 did not reconnect: $(relay_state "$1")"
}

# relay_key_grew BEFORE: n1 pings once; n2 counted more relay_key drops.
relay_key_grew()
{
	ip netns exec "$(cat n1.ns)" ping -c 1 -W 1 10.99.0.2 >/dev/null 2>&1
	[ "$(drops n2 relay_key)" -gt "$1" ]
}

drops()
{
	cb_ctl "$1" -j status | jq ".drops.$2"
}

# relayed_only: both nodes reach each other, only over the relay.
relayed_only()
{
	wait_ping n1 10.99.0.2
	wait_ping n2 10.99.0.1
	cb_ping "$(cat n1.ns)" 10.99.0.2
	for n in n1 n2; do
		cb_ctl "$n" -j peers > "$n.peers"
		cat "$n.peers"
		[ "$(jq -r '.[0].path' "$n.peers")" = relay ] ||
		    atf_fail "$n: the peer's path is not relay"
		[ "$(jq -r '.[0].endpoint' "$n.peers")" = null ] ||
		    atf_fail "$n: a relayed peer has an endpoint"
		[ "$(jq -r '.[0].relay' "$n.peers")" = \
		    "$EDGE_IP:$RELAY_PORT" ] || atf_fail "$n: relay not named"
		# wg(8) shows no endpoint for a relayed peer.
		wg show "cb$$$n" endpoints | grep -q "(none)" ||
		    atf_fail "$n: wg show gives an endpoint"
		relay_state "$n" | grep "^connected to $EDGE_IP:$RELAY_PORT" ||
		    atf_fail "$n: cbrelayd not connected: $(relay_state "$n")"
		[ "$(nft_packets "$n" udp)" = 0 ] ||
		    atf_fail "$n: UDP between the nodes: $(nft_packets "$n" udp)"
		[ "$(nft_packets "$n" relay)" -gt 0 ] ||
		    atf_fail "$n: nothing went to the relay"
	done
}

atf_test_case routing_relay cleanup
routing_relay_head()
{
	atf_set descr "p2p-mesh with routing relay: two nodes ping through the relay, never over UDP"
	atf_set require.user root
	atf_set timeout 180
}
routing_relay_body()
{
	common
	relay_up '.mesh_config.routing = "relay"' n1 n2
	relayed_only
	# Sandboxed like every child, with the relay's socket and no other.
	pid=$(jq -r '.children[] | select(.name == "cbrelayd") | .pid' \
	    n1.status)
	[ "$(awk '/^Seccomp:/ { print $2 }' /proc/$pid/status)" = 2 ] ||
	    atf_fail "cbrelayd without seccomp"
	[ "$(readlink /proc/$pid/root)" = "$PWD/empty" ] ||
	    atf_fail "cbrelayd not chrooted"
	# The registry token went to the relay, never the node token.
	grep -q "relaystub: auth " stub.log || atf_fail "no AUTH at the stub"
}
routing_relay_cleanup()
{
	common
	cb_mesh_cleanup
}

atf_test_case edge_relay cleanup
edge_relay_head()
{
	atf_set descr "routing relay through cbedged's own relay: cbrelayd against the real worker, no UDP between the nodes"
	atf_set require.user root
	atf_set timeout 180
}
edge_relay_body()
{
	common
	REAL_RELAY=1 relay_up '.mesh_config.routing = "relay"' n1 n2
	relayed_only
	# The edge counted the forwarding and both bound connections.
	ip netns exec "$LAB-edge" env EDGE="$EDGE_IP:8443" \
	    EDGE_CA="$PWD/ca.crt" python3 "$(atf_get_srcdir)/edgecli.py" \
	    req GET /v1/health > health.json || atf_fail "health"
	jq -r .body health.json | jq .relay
	[ "$(jq -r .body health.json | jq '.relay.bound')" = 2 ] ||
	    atf_fail "the relay does not hold both nodes"
	[ "$(jq -r .body health.json | jq '.relay.frames.forwarded')" -gt 0 ] ||
	    atf_fail "the relay forwarded nothing"
	# Every process that holds a key writes no core: cbp2pd, its engine
	# and children (cbrelayd among them), cbedged and its relay worker.
	kids=$(pgrep -P "$(cat n1.pid)")
	[ "$(echo "$kids" | wc -w)" = 4 ] || atf_fail "n1's children: $kids"
	worker=$(pgrep -P "$(cat edge.pid)")
	[ -n "$worker" ] || atf_fail "no relay worker"
	cb_nocore "$(cat n1.pid)" $kids "$(cat edge.pid)" $worker
	echo "no core for:" "$(cat n1.pid)" $kids "$(cat edge.pid)" $worker
}
edge_relay_cleanup()
{
	common
	cb_mesh_cleanup
}

atf_test_case hybrid_switch cleanup
hybrid_switch_head()
{
	atf_set descr "hybrid: relayed with a reason while UDP between the nodes is dropped, direct within 30 s once it passes, the relay again within 30 s when it is dropped again; a ping across both switches loses at most 3 packets"
	atf_set require.user root
	atf_set timeout 300
}
hybrid_switch_body()
{
	common
	PRESTART=udp_block REAL_RELAY=1 \
	    relay_up '.mesh_config.routing = "hybrid"' n1 n2
	wait_ping n1 10.99.0.2 60
	wait_ping n2 10.99.0.1 60
	wait_path n1 30 relay "direct handshake timed out"
	wait_path n2 30 relay "direct handshake timed out"
	[ "$(cb_ctl n1 -j status | jq .paths.p2p_unavailable)" = true ] ||
	    atf_fail "status does not say P2P is unavailable"
	grep -q "no direct path to any peer" n1.log ||
	    atf_fail "no fallback notice in the log"

	# One ping a second across both switches, its replies counted.
	ip netns exec "$(cat n1.ns)" ping -i 1 -W 2 10.99.0.2 \
	    > ping.out 2>&1 &
	echo $! > ping.pid
	sleep 3
	udp_unblock n1
	wait_path n1 30 direct
	wait_path n2 30 direct
	pub2=$("$NATLAB" -p "$LAB" pub n2)
	ep=$(peer_field n1 .endpoint)
	case $ep in
	$pub2:*) ;;
	*) atf_fail "direct, but the endpoint is $ep, not n2's $pub2" ;;
	esac
	wg show "cb$$n1" endpoints |
	    grep -q "$pub2:" || atf_fail "wg show: no direct endpoint"
	[ "$(nft_packets n1 udp-in)" -gt 0 ] || atf_fail "direct, no UDP"
	sleep 3
	udp_block n1
	wait_path n1 30 relay "direct path went silent"
	wait_path n2 30 relay "direct path went silent"
	sleep 3
	kill -INT "$(cat ping.pid)"
	cb_wait_exit "$(cat ping.pid)"
	# Lost: sequence numbers between the first and last answered that
	# never came back.
	lost=$(awk -F'icmp_seq=' '/icmp_seq=/ { split($2, a, " "); s = a[1];
		if (!n++) first = s; last = s; seen[s] = 1 }
		END { m = 0; for (i = first; i <= last; i++) if (!(i in seen)) m++;
		print (n ? m : -1) }' ping.out)
	echo "ping: $lost lost between the first and last reply"
	tail -3 ping.out
	[ "$lost" -ge 0 ] && [ "$lost" -le 3 ] ||
	    atf_fail "$lost pings lost across the switches"
	[ "$(peer_field n1 .switches)" -ge 2 ] || atf_fail "switches not counted"
	grep -q "path relay -> direct" n1.log || atf_fail "no log of the move"
	grep -q "path direct -> relay (direct path went silent)" n1.log ||
	    atf_fail "no log of the fall with its reason"
}
hybrid_switch_cleanup()
{
	common
	cb_mesh_cleanup
}

# presence NODE KEYFILE: what NODE's cbp2pctl peers -j says of that
# peer's presence at the relay.
presence()
{
	cb_ctl "$1" -j peers | jq -r --arg k "$(cat "$2")" \
	    '.[] | select(.public_key == $k) | .relay_state'
}

# presence_is NODE KEYFILE STATE
presence_is()
{
	[ "$(presence "$1" "$2")" = "$3" ]
}

# refused NODE REASON: presence reports NODE refused for REASON.
refused()
{
	cb_ctl "$1" -j status | jq ".relay_presence_refused.$2"
}

# retoken_claims NODE FILTER: the node's claims edited and signed.
retoken_claims()
{
	jq "$2" "$1.claims" > "$1.claims.new" || atf_fail "claims filter"
	mv "$1.claims.new" "$1.claims"
	"$CBP2PCTL" token -r -a ES256 -k keys/es256.key "$1.claims" \
	    > "$1.jwt" || atf_fail "token for $1"
	chmod 600 "$1.jwt"
}

# kill_node NODE: kill -9 its cbp2pd and every child, and wait.
kill_node()
{
	kn_pid=$(cat "$1.pid")
	kn_kids=$(pgrep -P "$kn_pid")
	kill -9 "$kn_pid" $kn_kids 2>/dev/null
	for p in $kn_pid $kn_kids; do
		cb_wait_exit "$p" || atf_fail "$1: pid $p did not exit"
	done
}

atf_test_case relay_gone cleanup
relay_gone_head()
{
	atf_set descr "a node killed shows as gone to its peers (the relay's PEER_GONE), present again when it is back; a lost relay connection makes presence unknown"
	atf_set require.user root
	atf_set timeout 300
}
relay_gone_body()
{
	common
	REAL_RELAY=1 relay_up '.mesh_config.routing = "relay"' n1 n2
	wait_ping n1 10.99.0.2
	wait_ping n2 10.99.0.1
	cb_until 30 presence_is n1 n2.pub present ||
	    atf_fail "n1 does not show n2 present: $(presence n1 n2.pub)"
	cb_until 30 presence_is n2 n1.pub present ||
	    atf_fail "n2 does not show n1 present: $(presence n2 n1.pub)"
	cb_ctl n1 -j peers > n1.peers
	cat n1.peers
	[ "$(jq '.[0].relay_state_since' n1.peers)" -gt 0 ] ||
	    atf_fail "no time for the presence"
	# The name is what n2 registered: this machine's hostname.
	[ "$(jq -r '.[0].name' n1.peers)" = "$(hostname)" ] ||
	    atf_fail "n2's name: $(jq -r '.[0].name' n1.peers)"
	cb_ctl n1 peers | tee n1.text
	grep -q "^  relay: present for [0-9]*s$" n1.text ||
	    atf_fail "the text does not say present"
	grep -q "^  name: $(hostname)$" n1.text || atf_fail "no name in text"

	# n2 killed: its TLS connection closes, the relay tells n1.
	kill_node n2
	t0=$(cb_now_ms)
	end=$(cb_deadline 30)
	until presence_is n1 n2.pub gone; do
		cb_before "$end" ||
		    atf_fail "n2 not gone after 30 s: $(presence n1 n2.pub)"
		sleep 0.1
	done
	echo "n1 saw n2 gone $(($(cb_now_ms) - t0)) ms after it died"
	cb_ctl n1 peers | tee n1.text
	grep -q "^peer: $(cat n2.pub) (GONE from the relay)$" n1.text ||
	    atf_fail "the text does not make n2's absence obvious"
	grep -q "^  relay: gone for [0-9]*s$" n1.text ||
	    atf_fail "the text does not say gone"
	grep -q "peer .*: gone from the relay" n1.log ||
	    atf_fail "n1 did not log it"

	# n2 back: present again, and the tunnel works.
	mv n2.log n2.log.1
	cb_start n2
	cb_until 60 presence_is n1 n2.pub present ||
	    atf_fail "n2 not present again: $(presence n1 n2.pub)"
	wait_ping n1 10.99.0.2 60
	grep -q "peer .*: back at the relay" n1.log ||
	    atf_fail "n1 did not log the return"

	# The relay restarts: while it is down no one knows, and a new
	# connection hears of n2 afresh.
	c1=$(connects n1)
	cb_edge_stop
	cb_until 30 presence_is n1 n2.pub unknown ||
	    atf_fail "presence kept without a relay: $(presence n1 n2.pub)"
	cb_ctl n1 peers | grep -q "^  relay: unknown$" ||
	    atf_fail "the text does not say unknown"
	cb_edge_start "relay_listen: $EDGE_IP:$RELAY_PORT"
	wait_reconnect n1 "$c1"
	cb_until 60 presence_is n1 n2.pub present ||
	    atf_fail "n2 not present after the relay came back: $(presence n1 n2.pub)"
	# Nothing cbrelayd said was refused but, maybe, nodes not yet peers.
	cb_ctl n1 -j status > n1.status
	jq -c .relay_presence_refused n1.status
	[ "$(jq '.relay_presence_refused | .not_cbrelayd + .relay_off +
	    .not_connected' n1.status)" = 0 ] ||
	    atf_fail "presence reports refused"
	kill -0 "$(cat n1.pid)" || atf_fail "n1 died"
}
relay_gone_cleanup()
{
	common
	cb_mesh_cleanup
}

atf_test_case symmetric_hybrid cleanup
symmetric_hybrid_head()
{
	atf_set descr "both nodes behind symmetric NAT: each learns it from the edge's two STUN ports and publishes it; hybrid ends on the relay, says our NAT is symmetric, keeps probing direct, and works"
	atf_set require.user root
	atf_set timeout 300
}
symmetric_hybrid_body()
{
	common
	NAT_KIND=symmetric REAL_RELAY=1 \
	    relay_up '.mesh_config.routing = "hybrid"' n1 n2
	wait_ping n1 10.99.0.2 60
	wait_ping n2 10.99.0.1 60
	wait_nat n1 30 symmetric symmetric
	wait_nat n2 30 symmetric symmetric
	# Both are: ours comes first.
	wait_path n1 30 relay "our NAT is symmetric"
	wait_path n2 30 relay "our NAT is symmetric"
	grep -q "our NAT's mapping is symmetric" n1.log ||
	    atf_fail "n1 did not log its NAT's mapping"
	# It keeps trying: direct probes go out and none is answered.
	p0=$(peer_field n1 .direct.probes)
	cb_until 40 sh -c "[ \$($CBP2PCTL -j -s n1.sock peers |
	    jq '.[0].direct.probes') -gt $p0 ]" ||
	    atf_fail "no direct probe after $p0"
	[ "$(nft_packets n1 udp-out)" -gt 0 ] || atf_fail "no direct attempt"
	[ "$(peer_field n1 .direct.loss_pct)" = 100 ] ||
	    atf_fail "direct probes answered behind symmetric NATs"
	[ "$(peer_field n1 .switches)" = 0 ] || atf_fail "a switch"
	cb_ping "$(cat n1.ns)" 10.99.0.2
	cb_ctl n1 status | grep -q "^p2p: *unavailable" ||
	    atf_fail "status does not say P2P is unavailable"
}
symmetric_hybrid_cleanup()
{
	common
	cb_mesh_cleanup
}

atf_test_case symmetric_cone cleanup
symmetric_cone_head()
{
	atf_set descr "n1 behind symmetric NAT, n2 behind a cone NAT that filters by port: no direct path; n1 says our NAT is symmetric, n2 their NAT is symmetric; both keep probing"
	atf_set require.user root
	atf_set timeout 300
}
symmetric_cone_body()
{
	common
	NAT_KIND_n1=symmetric NAT_KIND_n2=cone REAL_RELAY=1 \
	    relay_up '.mesh_config.routing = "hybrid"' n1 n2
	wait_ping n1 10.99.0.2 60
	wait_ping n2 10.99.0.1 60
	wait_nat n1 30 symmetric independent
	wait_nat n2 30 independent symmetric
	wait_path n1 30 relay "our NAT is symmetric"
	wait_path n2 30 relay "their NAT is symmetric"
	# Both keep trying, and nothing they try gets through.
	for n in n1 n2; do
		p0=$(peer_field $n .direct.probes)
		cb_until 40 sh -c "[ \$($CBP2PCTL -j -s $n.sock peers |
		    jq '.[0].direct.probes') -gt $p0 ]" ||
		    atf_fail "$n: no direct probe after $p0"
		[ "$(nft_packets $n udp-out)" -gt 0 ] ||
		    atf_fail "$n: no direct attempt"
		[ "$(peer_field $n .direct.loss_pct)" = 100 ] ||
		    atf_fail "$n: direct probes answered"
		[ "$(peer_field $n .switches)" = 0 ] || atf_fail "$n: a switch"
	done
	cb_ping "$(cat n1.ns)" 10.99.0.2
}
symmetric_cone_cleanup()
{
	common
	cb_mesh_cleanup
}

atf_test_case symmetric_direct cleanup
symmetric_direct_head()
{
	atf_set descr "both nodes behind symmetric NAT with routing direct: no path, and the reason, while handshakes keep going out; reloaded to routing relay they talk, and send no UDP to each other"
	atf_set require.user root
	atf_set timeout 300
}
symmetric_direct_body()
{
	common
	NAT_KIND=symmetric relay_up '.mesh_config.routing = "direct"' n1 n2
	# Both learnt each other and tried: handshakes left, none answered.
	cb_until 60 udp_out_over n1 2 ||
	    atf_fail "n1 sent no handshakes to n2"
	wait_path n1 30 none "direct handshake timed out"
	wait_path n2 30 none "direct handshake timed out"
	! can_ping n1 10.99.0.2 || atf_fail "a direct path through symmetric NATs"
	[ "$(cb_ctl n1 -j status | jq .paths.none)" = 1 ] ||
	    atf_fail "status does not count the peer without a path"

	# Routing relay behind the same NATs: it works, and from the
	# reload on not one UDP packet goes to the peer.
	retoken n1 '.mesh_config.routing = "relay"'
	retoken n2 '.mesh_config.routing = "relay"'
	cb_ctl n1 status > /dev/null || atf_fail "status"
	cb_ctl n2 status > /dev/null || atf_fail "status"
	out1=$(nft_packets n1 udp-out)
	out2=$(nft_packets n2 udp-out)
	wait_ping n1 10.99.0.2 60
	wait_ping n2 10.99.0.1 60
	wait_path n1 30 relay "routing policy"
	cb_ping "$(cat n1.ns)" 10.99.0.2
	[ "$(nft_packets n1 udp-out)" = "$out1" ] &&
	    [ "$(nft_packets n2 udp-out)" = "$out2" ] ||
	    atf_fail "UDP to the peer under routing relay"
}
symmetric_direct_cleanup()
{
	common
	cb_mesh_cleanup
}

atf_test_case hostile_presence cleanup
hostile_presence_head()
{
	atf_set descr "a lying cbrelayd: presence reports before a connection, about strangers, or with the relay off are refused and counted; the parent asks about a peer it makes"
	atf_set require.user root
	atf_set require.progs "wg jq"
	atf_set timeout 120
}
hostile_presence_body()
{
	common
	cb_user
	cb_issuer_keys keys
	cb_edge_certs
	echo "$(cb_ns a)" > a.ns
	cb_wgkeys a
	cb_wgkeys b
	cb_wgkeys c
	# Node a relays everything; b is a token peer.  Nothing listens at
	# 10.200.0.9: the fake cbrelayd connects nowhere, and cbdiscod
	# finds no registry.
	PORT=51821 cb_claims a p2p-mesh 10.99.0.1/24 \
	    "$(cb_peer_json "$(cat b.pub)" 10.200.0.2:51820 10.99.0.2/32)"
	retoken_claims a '.mesh_config.routing = "relay"'
	cb_config a ES256 keys "edge:
  registry: https://10.200.0.9:8443
  relay: 10.200.0.9:8444
  ca: $PWD/ca.crt"
	mkdir libexec
	ln -s "$OBJ/cbmeshd" "$OBJ/cbdiscod" libexec/
	ln -s "$TOP/regress/e2e/hostile_relay" libexec/cbrelayd
	CBHOSTILE_STATIC_KEY=$(cat b.pub)
	export CBHOSTILE_STATIC_KEY
	cb_start a -x "$PWD/libexec"
	fake=$(jq -r '.children[] | select(.name == "cbrelayd") | .pid' \
	    a.status)
	[ "$(readlink "/proc/$fake/exe")" = \
	    "$(readlink -f "$TOP/regress/e2e/hostile_relay")" ] ||
	    atf_fail "cbrelayd is not the fake"
	[ "$(presence a b.pub)" = unknown ] || atf_fail "b: $(presence a b.pub)"

	# 1: PRESENT before UP, UP, PRESENT of a stranger, PRESENT of b.
	kill -USR1 "$fake"
	cb_until 10 presence_is a b.pub present ||
	    atf_fail "b not present: $(presence a b.pub)"
	[ "$(refused a not_connected)" = 1 ] ||
	    atf_fail "not_connected: $(refused a not_connected)"
	[ "$(refused a unknown_peer)" = 1 ] ||
	    atf_fail "unknown_peer: $(refused a unknown_peer)"
	# A peer made now is asked about; the fake says it is present.
	wg set "cb$$a" peer "$(cat c.pub)" allowed-ips 10.99.0.3/32 ||
	    atf_fail "wg set"
	cb_until 10 presence_is a c.pub present ||
	    atf_fail "c not present: $(presence a c.pub)"
	cb_ctl a status | grep -q "hostile relay: stage 1, asked 1" ||
	    atf_fail "the parent did not ask once: $(cb_ctl a status)"

	# 2: GONE of b.
	kill -USR1 "$fake"
	cb_until 10 presence_is a b.pub gone ||
	    atf_fail "b not gone: $(presence a b.pub)"

	# 3: DOWN forgets everything; PRESENT after it is refused.
	kill -USR1 "$fake"
	cb_until 10 sh -c "[ \$($CBP2PCTL -j -s a.sock status | jq .relay_presence_refused.not_connected) = 2 ]" ||
	    atf_fail "not_connected: $(refused a not_connected)"
	[ "$(presence a b.pub)" = unknown ] || atf_fail "b: $(presence a b.pub)"
	[ "$(presence a c.pub)" = unknown ] || atf_fail "c: $(presence a c.pub)"

	# 4: the relay switched off by a reload: UP and PRESENT refused.
	retoken_claims a '.mesh_config.routing = "direct"'
	cb_ctl a reload || atf_fail "reload refused"
	kill -USR1 "$fake"
	cb_until 10 sh -c "[ \$($CBP2PCTL -j -s a.sock status | jq .relay_presence_refused.relay_off) = 2 ]" ||
	    atf_fail "relay_off: $(refused a relay_off)"
	[ "$(presence a b.pub)" = unknown ] || atf_fail "b: $(presence a b.pub)"
	[ "$(refused a not_cbrelayd)" = 0 ] || atf_fail "not_cbrelayd"
	cb_ctl a status | grep "presence reports refused" ||
	    atf_fail "status text shows no refusals"
	grep -q "presence report from cbrelayd refused: relay_off" a.log ||
	    atf_fail "no warning logged"
	kill -0 "$(cat a.pid)" || atf_fail "cbp2pd died"
	[ "$(jq -r '.children[] | select(.name == "cbrelayd") | .pid' \
	    a.status)" = "$fake" ] || atf_fail "cbrelayd changed"
}
hostile_presence_cleanup()
{
	common
	cb_kill a
}

atf_test_case client_server cleanup
client_server_head()
{
	atf_set descr "client-server: peers from the registry, every packet through the relay, no UDP between the nodes"
	atf_set require.user root
	atf_set timeout 180
}
client_server_body()
{
	common
	relay_up '.connection_type = "client-server"' n1 n2
	relayed_only
	[ "$(cb_ctl n1 -j status | jq -r .connection_type)" = \
	    client-server ] || atf_fail "not a client-server node"
	# A TCP stream works through it too.
	ip netns exec "$(cat n2.ns)" iperf3 -s -1 -B 10.99.0.2 \
	    > iperf.srv 2>&1 &
	cb_until 10 sh -c "ip netns exec $(cat n2.ns) ss -ltn | grep -q 5201" ||
	    atf_fail "iperf3 server"
	ip netns exec "$(cat n1.ns)" iperf3 -c 10.99.0.2 -t 2 > iperf.out ||
	    { cat iperf.out; atf_fail "iperf3 through the relay"; }
	cat iperf.out
	[ "$(nft_packets n1 udp)" = 0 ] || atf_fail "UDP between the nodes"
}
client_server_cleanup()
{
	common
	cb_mesh_cleanup
}

atf_test_case relay_restart cleanup
relay_restart_head()
{
	atf_set descr "the relay killed, then restarted with RESTARTING: cbrelayd reconnects, pings resume, nodes untouched"
	atf_set require.user root
	atf_set timeout 300
}
relay_restart_body()
{
	common
	relay_up '.mesh_config.routing = "relay"' n1 n2
	wait_ping n1 10.99.0.2
	p1=$(cat n1.pid) p2=$(cat n2.pid)

	# Killed: the connection is lost; cbrelayd backs off and retries.
	stub_stop KILL
	cb_until 30 sh -c "$CBP2PCTL -j -s n1.sock status | grep -q 'reconnecting to'" ||
	    atf_fail "n1 does not say it reconnects: $(relay_state n1)"
	relay_state n1
	stub_start
	wait_ping n1 10.99.0.2 60
	wait_ping n2 10.99.0.1 60
	relay_state n1 | grep -q "connects [2-9]" ||
	    atf_fail "n1 did not reconnect: $(relay_state n1)"

	# A planned restart: RESTARTING, then back in its interval.
	stub_stop TERM
	grep -q "restarts; reconnecting" n1.log ||
	    cb_until 10 grep -q "restarts; reconnecting" n1.log ||
	    atf_fail "n1 did not hear RESTARTING"
	stub_start
	wait_ping n1 10.99.0.2 60
	wait_ping n2 10.99.0.1 60
	[ "$(cat n1.pid)" = "$p1" ] && kill -0 "$p1" && kill -0 "$p2" ||
	    atf_fail "a node restarted"
	relayed_only
}
relay_restart_cleanup()
{
	common
	cb_mesh_cleanup
}

atf_test_case hostile_relay cleanup
hostile_relay_head()
{
	atf_set descr "a relay lying about the sender or sending garbage: dropped, counted, the nodes keep running and recover"
	atf_set require.user root
	atf_set timeout 400
}
hostile_relay_body()
{
	common
	# Handshakes relayed as from a random key: the parent refuses them.
	STUB_MODE=wrongkey relay_up '.mesh_config.routing = "relay"' n1 n2
	p1=$(cat n1.pid) p2=$(cat n2.pid)
	ip netns exec "$(cat n1.ns)" ping -c 3 -i 0.5 -W 1 10.99.0.2 &&
	    atf_fail "n1 reached n2 through a lying relay"
	cb_until 20 sh -c "[ \$($CBP2PCTL -j -s n2.sock status | jq .drops.relay_key) -ge 1 ]" ||
	    atf_fail "n2 did not count the relayed initiation: $(drops n2 relay_key)"
	echo "n2: relay_key drops $(drops n2 relay_key) (handshakes)"

	# An honest relay: the same nodes reach each other.
	stub_stop
	stub_start normal
	wait_ping n1 10.99.0.2 60

	# Data relayed as from a random key: dropped before the replay
	# window moves.
	before=$(drops n2 relay_key)
	c1=$(connects n1) c2=$(connects n2)
	stub_stop
	stub_start wrongkey-data
	wait_reconnect n1 "$c1"
	wait_reconnect n2 "$c2"
	cb_until 30 relay_key_grew "$before" ||
	    atf_fail "n2 did not count data relayed as another key"
	ip netns exec "$(cat n1.ns)" ping -c 3 -i 0.5 -W 1 10.99.0.2 &&
	    atf_fail "n1 reached n2 with data relayed as another key"
	echo "n2: relay_key drops $(drops n2 relay_key) (data)"

	# Garbage after AUTH_OK: cbrelayd drops that connection, counts it,
	# backs off.
	stub_stop
	stub_start garbage
	cb_until 60 sh -c "$CBP2PCTL -j -s n1.sock status | grep -q 'bad frames [1-9]'" ||
	    atf_fail "n1 did not count the garbage: $(relay_state n1)"
	relay_state n1

	# Honest again: everything resumes, nobody restarted.
	stub_stop
	stub_start normal
	wait_ping n1 10.99.0.2 90
	wait_ping n2 10.99.0.1 30
	kill -0 "$p1" && kill -0 "$p2" || atf_fail "a node died"
	[ "$(cat n1.pid)" = "$p1" ] || atf_fail "n1 restarted"
	grep -q "relayed as from a key" n2.log ||
	    atf_fail "n2 did not log the lying relay"
}
hostile_relay_cleanup()
{
	common
	cb_mesh_cleanup
}

# retoken NODE FILTER: the node's claims edited, a new token, a reload.
retoken()
{
	jq "$2" "$1.claims" > "$1.claims.new" || atf_fail "claims filter"
	mv "$1.claims.new" "$1.claims"
	"$CBP2PCTL" token -r -a ES256 -k keys/es256.key "$1.claims" \
	    > "$1.jwt" || atf_fail "token for $1"
	cb_ctl "$1" reload || atf_fail "reload of $1 refused"
}

atf_test_case reload_paths cleanup
reload_paths_head()
{
	atf_set descr "hybrid moves to direct paths with cbrelayd connected; a reload to routing relay moves every peer to the relay; to direct stops cbrelayd"
	atf_set require.user root
	atf_set timeout 300
}
reload_paths_body()
{
	common
	# Hybrid: the relay first, then direct, the relay connected.
	relay_up '.mesh_config.routing = "hybrid"' n1 n2
	wait_ping n1 10.99.0.2
	wait_path n1 30 direct
	[ "$(nft_packets n1 udp)" -gt 0 ] || atf_fail "direct without UDP"
	cb_until 30 sh -c "$CBP2PCTL -j -s n1.sock status | grep -q 'connected to $EDGE_IP'" ||
	    atf_fail "cbrelayd not connected for hybrid: $(relay_state n1)"

	retoken n1 '.mesh_config.routing = "relay"'
	# From the reload on, n1 sends no UDP to n2.  A status waits for
	# the engine's counters, so the engine has taken the new paths.
	cb_ctl n1 status > /dev/null || atf_fail "status"
	out=$(nft_packets n1 udp-out)
	retoken n2 '.mesh_config.routing = "relay"'
	wait_ping n1 10.99.0.2 60
	wait_ping n2 10.99.0.1 60
	cb_ping "$(cat n1.ns)" 10.99.0.2
	[ "$(cb_ctl n1 -j peers | jq -r '.[0].path')" = relay ] ||
	    atf_fail "n1's peer not relayed after the reload"
	relay_state n1 | grep -q "^connected to" ||
	    atf_fail "cbrelayd not connected: $(relay_state n1)"
	[ "$(nft_packets n1 udp-out)" = "$out" ] ||
	    atf_fail "n1 sent UDP to n2 after the reload to relay"

	retoken n1 '.mesh_config.routing = "direct"'
	retoken n2 '.mesh_config.routing = "direct"'
	wait_ping n1 10.99.0.2 60
	wait_ping n2 10.99.0.1 60
	[ "$(cb_ctl n1 -j peers | jq -r '.[0].path')" = direct ] ||
	    atf_fail "n1's peer not direct after the reload"
	cb_until 10 sh -c "$CBP2PCTL -j -s n1.sock status | grep -q 'relay off'" ||
	    atf_fail "cbrelayd still on: $(relay_state n1)"
	[ "$(nft_packets n1 udp-out)" -gt "$out" ] ||
	    atf_fail "direct again, but no UDP"
}
reload_paths_cleanup()
{
	common
	cb_mesh_cleanup
}

atf_test_case relay_tls cleanup
relay_tls_head()
{
	atf_set descr "cbrelayd shows the token only to a relay whose certificate is from edge.ca and names the configured address"
	atf_set require.user root
	atf_set timeout 200
}
relay_tls_body()
{
	common
	# A certificate for the edge's address from a CA the node does not
	# trust.
	cb_issuer_keys keys
	cb_edge_certs
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	    -nodes -keyout rogue.key -out rogue.crt -subj /CN=rogue \
	    -days 2 2>/dev/null || atf_fail "rogue CA"
	openssl x509 -req -in edge.csr -CA rogue.crt -CAkey rogue.key \
	    -CAcreateserial -out rogue-edge.crt -days 2 -extfile edge.ext \
	    2>/dev/null || atf_fail "rogue certificate"
	# relay_up makes new certificates: keep these.
	cb_edge_certs() { :; }
	STUB_CERT=rogue-edge.crt relay_up '.mesh_config.routing = "relay"' n1
	cb_until 30 sh -c "$CBP2PCTL -j -s n1.sock status | grep -q 'certificate verify failed'" ||
	    atf_fail "n1 accepted a relay of another CA: $(relay_state n1)"
	relay_state n1

	# The right CA, but at another address than its certificate names
	# (and only there, so that n1 cannot find it where it was).
	stub_stop
	ip -n "$LAB-edge" addr add 203.0.113.2/24 dev eth0 ||
	    atf_fail "second edge address"
	sed -i "s|relay: $EDGE_IP:|relay: 203.0.113.2:|" n1.yaml
	cb_ctl n1 reload || atf_fail "reload"
	STUB_LISTEN=203.0.113.2 stub_start normal
	cb_until 60 sh -c "$CBP2PCTL -j -s n1.sock status | grep -q 'reconnecting to 203.0.113.2.*certificate verify failed'" ||
	    atf_fail "n1 accepted a certificate for another address: $(relay_state n1)"
	relay_state n1
	grep -q "relaystub: auth " stub.log && atf_fail "the token went to a relay not verified"

	# Where the certificate says: connected.
	stub_stop
	stub_start normal
	sed -i "s|relay: 203.0.113.2:|relay: $EDGE_IP:|" n1.yaml
	cb_ctl n1 reload || atf_fail "reload"
	cb_until 60 sh -c "$CBP2PCTL -j -s n1.sock status | grep -q 'connected to $EDGE_IP'" ||
	    atf_fail "n1 did not connect: $(relay_state n1)"
	grep -q "relaystub: auth " stub.log || atf_fail "no AUTH at the stub"
}
relay_tls_cleanup()
{
	common
	cb_mesh_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case edge_relay
	atf_add_test_case relay_gone
	atf_add_test_case hostile_presence
	atf_add_test_case relay_tls
	atf_add_test_case reload_paths
	atf_add_test_case routing_relay
	atf_add_test_case hybrid_switch
	atf_add_test_case symmetric_hybrid
	atf_add_test_case symmetric_cone
	atf_add_test_case symmetric_direct
	atf_add_test_case client_server
	atf_add_test_case relay_restart
	atf_add_test_case hostile_relay
}
