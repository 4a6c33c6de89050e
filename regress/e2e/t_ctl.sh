#! /usr/bin/atf-sh
# cbp2pctl for operators: ping (probes inside a peer's session, the path
# each took), netcheck (STUN, NAT, registry, relay) and monitor (events
# as they happen), against real daemons: static server-server peers,
# wireguard-go, and a hybrid mesh behind a cone NAT with cbedged's
# registry and relay.

common()
{
	. "$(atf_get_srcdir)/common.sh"
	LAB=c$$
	RELAY_PORT=8444
}

# monitor_start NODE NAME [-j]: cbp2pctl monitor of NODE in the
# background, events in NAME.out; returns once it is subscribed.
monitor_start()
{
	"$CBP2PCTL" ${3:-} -s "$PWD/$1.sock" monitor > "$2.out" 2> "$2.err" &
	echo $! > "$2.pid"
	cb_until 10 grep -q "events follow" "$2.err" ||
	    { cat "$2.err"; atf_fail "monitor $2 did not subscribe"; }
}

# wait_event NAME SECS PATTERN: a line of NAME.out matches PATTERN.
wait_event()
{
	cb_until "$2" grep -q -- "$3" "$1.out" ||
	    { cat "$1.out"; atf_fail "monitor $1: no event like '$3' in $2 s"; }
}

# ping_via NODE PEER WHAT: three probes, each answered via WHAT.
ping_via()
{
	cb_ctl "$1" ping -c 3 -i 0.2 "$2" > ping.out 2>&1 ||
	    { cat ping.out; atf_fail "$1: cbp2pctl ping $2 failed"; }
	cat ping.out
	[ "$(grep -c "^pong from .* via $3 in [0-9.]* ms$" ping.out)" = 3 ] ||
	    atf_fail "$1: not three pongs via $3"
	grep -q "^--- .*: 3 probes, 3 pongs, 0% lost$" ping.out ||
	    atf_fail "$1: no summary of three pongs"
}

atf_test_case static_peers cleanup
static_peers_head()
{
	atf_set descr "ping and monitor with static server-server peers: pongs via the peer's endpoint, a handshake event, names by key and address, a bad name refused"
	atf_set require.user root
	atf_set timeout 90
}
static_peers_body()
{
	common
	cb_static_pair
	monitor_start a mon
	monitor_start a monj -j
	cb_ping "$A" 10.99.0.2
	wait_event mon 10 " handshake $(cut -c1-8 b.pub)"
	wait_event monj 10 "\"event\":\"handshake\",\"public_key\":\"$(cat b.pub)\""
	jq -e . monj.out > /dev/null || atf_fail "monitor -j: not JSON lines"
	# By key and by tunnel address: the pong comes from b's endpoint,
	# which is the endpoint cbp2pctl peers shows.
	ep=$(cb_ctl a -j peers | jq -r '.[0].endpoint')
	[ "$ep" = 10.200.0.2:51822 ] || atf_fail "a's peer endpoint: $ep"
	ping_via a "$(cat b.pub)" "direct $ep"
	ping_via a 10.99.0.2 "direct $ep"
	cb_ctl a -j ping -c 2 -i 0.2 10.99.0.2 > ping.json ||
	    atf_fail "ping -j"
	cat ping.json
	jq -e '.answered == 2 and .path == "direct" and
	    .endpoint == "10.200.0.2:51822" and (.probes | length) == 2 and
	    .rtt_ms.min > 0' ping.json > /dev/null || atf_fail "ping -j fields"
	# A peer nobody has: refused with why, exit 1.
	atf_check -s exit:1 -e match:"no peer" "$CBP2PCTL" -s a.sock ping \
	    -c 1 10.99.0.9
	atf_check -s exit:1 -e match:"no peer of that name" "$CBP2PCTL" \
	    -s a.sock ping -c 1 nosuchpeer
	# The monitors leave; the daemon runs on.
	kill "$(cat mon.pid)" "$(cat monj.pid)"
	kill -0 "$(cat a.pid)" || atf_fail "cbp2pd died"
}
static_peers_cleanup()
{
	common
	for m in mon monj; do
		[ -f $m.pid ] && kill "$(cat $m.pid)" 2>/dev/null
	done
	cb_kill a b
}

atf_test_case wireguard_go cleanup
wireguard_go_head()
{
	atf_set descr "ping to a wireguard-go peer with a working session: no answer, said plainly, exit 1"
	atf_set require.user root
	atf_set timeout 90
}
wireguard_go_body()
{
	common
	cb_pair_wggo
	cb_ping "$A" 10.99.0.2
	cb_ctl a ping -c 2 -i 0.2 -W 1 10.99.0.2 > ping.out 2>&1 &&
	    { cat ping.out; atf_fail "ping of wireguard-go succeeded"; }
	cat ping.out
	grep -q "no answer (peer does not answer cbp2p probes)" ping.out ||
	    atf_fail "no plain word that the peer does not answer probes"
	[ "$(grep -c "^no pong from" ping.out)" = 2 ] ||
	    atf_fail "not two timeouts"
	# The session itself still works.
	cb_ping "$A" 10.99.0.2
}
wireguard_go_cleanup()
{
	common
	cb_kill a
}

# churn N: N times, wg set adds 15 peers to a and removes them: 30
# events each time.
churn()
{
	i=0
	while [ $i -lt "$1" ]; do
		wg set "cb$$a" $add || atf_fail "wg set add"
		wg set "cb$$a" $del || atf_fail "wg set remove"
		i=$((i + 1))
	done
}

monitor_dropped()
{
	[ "$(cb_ctl a -j status | jq .monitors_dropped)" -ge 1 ]
}

atf_test_case monitor_slow cleanup
monitor_slow_head()
{
	atf_set descr "a monitor that stops reading is dropped, logged and counted; the daemon and a monitor that reads carry on"
	atf_set require.user root
	atf_set timeout 120
}
monitor_slow_body()
{
	common
	cb_user
	cb_issuer_keys keys
	cb_wgkeys a
	cb_claims a server-server 10.99.0.1/24
	cb_token a ES256 keys
	cb_config a ES256 keys
	cb_start a
	add= del=
	for k in $(seq 1 15); do
		wg genkey | wg pubkey > k$k.pub
		add="$add peer $(cat k$k.pub) allowed-ips 10.99.0.$((k + 100))/32"
		del="$del peer $(cat k$k.pub) remove"
	done
	monitor_start a mon
	# The slow one: its output goes to a pipe nobody reads.
	"$CBP2PCTL" -s "$PWD/a.sock" monitor 2> slow.err | sleep 300 &
	echo $! > slow.pid
	cb_until 10 grep -q "events follow" slow.err || atf_fail "no slow monitor"
	end=$(cb_deadline 60)
	until monitor_dropped; do
		cb_before $end || atf_fail "the slow monitor was never dropped"
		churn 5
	done
	cb_ctl a status | grep "monitors dropped" ||
	    atf_fail "status does not say a monitor was dropped"
	grep -q "control: a monitor fell 256 events behind: dropped" a.log ||
	    atf_fail "not logged"
	# The one that reads has every event, in order, none lost.
	churn 1
	cb_until 10 sh -c "[ \$(grep -c ' peer_removed ' mon.out) = \
	    \$(grep -c ' peer_added ' mon.out) ]" ||
	    atf_fail "the reading monitor lost events"
	echo "$(wc -l < mon.out) events seen by the monitor that reads"
	[ "$(grep -c " peer_added $(cut -c1-8 k1.pub) direct: by wg set$" mon.out)" -ge 2 ] ||
	    atf_fail "too few events"
	kill -0 "$(cat mon.pid)" || atf_fail "the reading monitor is gone"
	kill -0 "$(cat a.pid)" || atf_fail "cbp2pd died"
}
monitor_slow_cleanup()
{
	common
	for m in mon slow; do
		[ -f $m.pid ] && kill "$(cat $m.pid)" 2>/dev/null
	done
	cb_kill a
}

# ---- a hybrid mesh with an edge, its relay and a cone NAT -------------

peer_field()
{
	cb_ctl "$1" -j peers | jq -r ".[0] | $2"
}

path_is()
{
	[ "$(peer_field "$1" .path)" = "$2" ]
}

wait_path()
{
	cb_until "$2" path_is "$1" "$3" ||
	    { cb_ctl "$1" peers; atf_fail "$1's peer not $3 in $2 s"; }
}

# udp_block: drop UDP between n1 and n2's NAT address, in n1.
udp_block()
{
	other=$("$NATLAB" -p "$LAB" pub n2)
	ip netns exec "$(cat n1.ns)" nft -f - <<NFT || atf_fail "nft drop"
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

mesh_node()
{
	cb_mesh_node "$1" "$2" '.mesh_config.routing = "hybrid"'
	sed -i "s|^edge:\$|edge:\\
  relay: $EDGE_IP:$RELAY_PORT|" "$1.yaml"
	grep -q "relay: $EDGE_IP" "$1.yaml" || atf_fail "no edge.relay"
}

atf_test_case mesh cleanup
mesh_head()
{
	atf_set descr "hybrid mesh behind a cone NAT: monitor sees the peer, its handshake and path switches; ping goes direct then via the relay as peers says; netcheck gives the NAT's outside address, the registry's and the relay's RTT, and the registry's fall"
	atf_set require.user root
	atf_set timeout 180
}
mesh_body()
{
	common
	echo "$LAB" > lab
	"$NATLAB" -p "$LAB" up n1:cone n2:public > lab.out 2>&1 ||
	    { cat lab.out; atf_fail "natlab up"; }
	cb_user
	cb_issuer_keys keys
	cb_edge_certs
	cb_edge_start "relay_listen: $EDGE_IP:$RELAY_PORT"
	mesh_node n1 10.99.0.1
	mesh_node n2 10.99.0.2
	cb_start n1
	monitor_start n1 mon
	monitor_start n1 monj -j
	cb_start n2
	n2key=$(cat n2.pub)
	wait_event mon 30 " peer_added $(hostname) ($(cut -c1-8 n2.pub)) hybrid: from the registry"
	wait_event monj 30 "\"event\":\"peer_added\",\"public_key\":\"$n2key\""
	cb_until 30 ip netns exec "$(cat n1.ns)" ping -c 1 -W 1 10.99.0.2 ||
	    atf_fail "n1 cannot reach n2"
	wait_event mon 10 " handshake $(hostname) ($(cut -c1-8 n2.pub))"
	wait_path n1 30 direct
	wait_event mon 10 " path $(hostname) ($(cut -c1-8 n2.pub)) direct: relay -> direct"
	wait_event monj 10 "\"event\":\"path\",\"public_key\":\"$n2key\",\"name\":\"$(hostname)\",\"state\":\"direct\""

	# ping goes the way peers says: direct to n2's endpoint.
	ep=$(peer_field n1 .endpoint)
	ping_via n1 10.99.0.2 "direct $ep"
	# UDP between them dropped: relayed with a reason, and so is ping.
	udp_block
	wait_path n1 40 relay
	wait_event mon 10 " path $(hostname) ($(cut -c1-8 n2.pub)) relay ([a-z ]*): direct -> relay"
	ping_via n1 "$n2key" relay

	# netcheck: the NAT's outside address, a fresh registry request,
	# the relay's connection measured.
	cb_ctl n1 -j netcheck > nc.json || atf_fail "netcheck -j"
	cat nc.json
	cb_ctl n1 netcheck || atf_fail "netcheck"
	natpub=$("$NATLAB" -p "$LAB" pub n1)
	[ "$(jq -r '.stun.reflexive[0]' nc.json | sed 's/:[0-9]*$//')" = \
	    "$natpub" ] || atf_fail "reflexive address is not $natpub"
	jq -e '.nat == "independent" and .stun.udp_blocked == false and
	    .registry.state == "registered" and .registry.fresh and
	    .registry.rtt_ms > 0 and .relay.state == "connected" and
	    .relay.tcp_rtt_ms > 0 and .relay.connect_ms > 0' nc.json \
	    > /dev/null || atf_fail "netcheck fields"
	cb_ctl n1 netcheck | grep -q "sees us at $natpub:" ||
	    atf_fail "netcheck text: no reflexive address"

	# The edge goes: netcheck's heartbeat fails at once, and the
	# monitor hears the registry and the relay go.
	cb_edge_stop
	cb_ctl n1 -j netcheck > nc2.json || atf_fail "netcheck -j, edge down"
	cat nc2.json
	jq -e '.registry.state == "unreachable" and .registry.fresh and
	    .registry.errors.connect >= 1' nc2.json > /dev/null ||
	    atf_fail "netcheck does not see the registry gone"
	wait_event mon 10 " registry unreachable: "
	wait_event mon 20 " relay disconnected: $EDGE_IP:$RELAY_PORT"
	wait_event monj 10 "\"event\":\"registry\",.*\"state\":\"unreachable\""
	jq -e . monj.out > /dev/null || atf_fail "monitor -j: not JSON lines"
	cat mon.out
}
mesh_cleanup()
{
	common
	for m in mon monj; do
		[ -f $m.pid ] && kill "$(cat $m.pid)" 2>/dev/null
	done
	cb_mesh_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case static_peers
	atf_add_test_case wireguard_go
	atf_add_test_case monitor_slow
	atf_add_test_case mesh
}
