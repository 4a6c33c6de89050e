#! /usr/bin/atf-sh
# Prometheus metrics: cbp2pd's metrics_address served by cbmeshd from
# its sandbox, and cbedged's, scraped by a real Prometheus server
# (Debian's prometheus package) in the lab's edge namespace; the series
# are checked through its HTTP API and both texts pass promtool.

common()
{
	. "$(atf_get_srcdir)/common.sh"
	LAB=m$$
	RELAY_PORT=8444
	NODE_PORT=9101
	EDGE_METRICS=$EDGE_IP:9102
	PROM=127.0.0.1:9090
}

# scrape NS HOST:PORT [PATH]: the body of GET http://HOST:PORT/PATH.
scrape()
{
	ip netns exec "$1" curl -sf --max-time 5 "http://$2${3:-/metrics}"
}

# promcheck NAME NS HOST:PORT: promtool check metrics passes on a scrape.
promcheck()
{
	scrape "$2" "$3" > "$1.metrics" || atf_fail "cannot scrape $1"
	echo "promtool check metrics on $1:"
	promtool check metrics < "$1.metrics" > "$1.promtool" 2>&1
	rc=$?
	cat "$1.promtool"
	[ $rc -eq 0 ] || atf_fail "promtool check metrics: $1 fails ($rc)"
}

# q QUERY: the first sample's value of an instant PromQL query, or "".
q()
{
	ip netns exec "$LAB-edge" curl -sf --max-time 5 -G \
	    "http://$PROM/api/v1/query" --data-urlencode "query=$1" |
	    jq -r '.data.result[0].value[1] // empty'
}

# q_true QUERY: the query has at least one sample (a comparison held).
q_true()
{
	[ -n "$(q "$1")" ]
}

# wait_q SECONDS QUERY: until Prometheus has a sample for QUERY.
wait_q()
{
	cb_until "$1" q_true "$2" || {
		tail -20 prom.log
		atf_fail "Prometheus: no series for $2 within $1 s"
	}
	echo "ok: $2 = $(q "$2")"
}

# The lab (two public nodes), cbedged with its relay and metrics, and
# two hybrid nodes with metrics_address on their public addresses.
metrics_up()
{
	echo "$LAB" > lab
	"$NATLAB" -p "$LAB" up n1:public n2:public > lab.out 2>&1 ||
	    { cat lab.out; atf_fail "natlab up"; }
	cb_user
	cb_issuer_keys keys
	cb_edge_certs
	cb_edge_start "relay_listen: $EDGE_IP:$RELAY_PORT
metrics_address: $EDGE_METRICS"
	ni=1
	for n in n1 n2; do
		cb_mesh_node "$n" "10.99.0.$ni" '.mesh_config.routing = "hybrid"'
		sed -i "s|^edge:\$|edge:\\
  relay: $EDGE_IP:$RELAY_PORT|" "$n.yaml"
		echo "metrics_address: $("$NATLAB" -p "$LAB" pub "$n"):$NODE_PORT" \
		    >> "$n.yaml"
		cb_start "$n"
		ni=$((ni + 1))
	done
}

# prom_start: Prometheus in the edge namespace, scraping both nodes and
# the edge every second, its data in the work directory.
prom_start()
{
	p1=$("$NATLAB" -p "$LAB" pub n1)
	p2=$("$NATLAB" -p "$LAB" pub n2)
	cat > prom.yml <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['$p1:$NODE_PORT', '$p2:$NODE_PORT']
  - job_name: edge
    static_configs:
      - targets: ['$EDGE_METRICS']
YAML
	promtool check config prom.yml || atf_fail "prom.yml"
	ip netns exec "$LAB-edge" prometheus --config.file="$PWD/prom.yml" \
	    --storage.tsdb.path="$PWD/tsdb" --web.listen-address="$PROM" \
	    > prom.log 2>&1 < /dev/null &
	echo $! > prom.pid
	cb_until $WAIT_SECS scrape "$LAB-edge" "$PROM" /-/ready ||
	    { cat prom.log; atf_fail "Prometheus did not start"; }
}

atf_test_case scrape cleanup
scrape_head()
{
	atf_set descr "Prometheus scrapes two hybrid nodes' cbmeshd and cbedged: peers by path, per-peer bytes, packets and handshake, the RTT histogram, relay, registry state, errors and RTT, discovery events, build info; promtool check metrics passes on both texts"
	atf_set require.user root
	atf_set require.progs "prometheus promtool curl jq"
	atf_set timeout 300
}
scrape_body()
{
	common
	metrics_up
	ip netns exec "$(cat n1.ns)" ping -c 3 -i 0.2 -W 2 10.99.0.2 ||
	cb_until 60 ip netns exec "$(cat n1.ns)" ping -c 1 -W 1 10.99.0.2 ||
	    atf_fail "the nodes do not talk"
	prom_start
	k2=$(cat n2.pub)
	wait_q 30 'up{job="node"} == 1'
	[ "$(q 'count(up{job="node"} == 1)')" = 2 ] || {
		sleep 3
		[ "$(q 'count(up{job="node"} == 1)')" = 2 ] ||
		    atf_fail "Prometheus does not scrape both nodes"
	}
	wait_q 30 'up{job="edge"} == 1'
	wait_q 30 'cbp2p_build_info{job="node",version!=""} == 1'
	wait_q 30 "sum(cbp2p_peers{job=\"node\",path=~\"direct|relay\"}) >= 2"
	wait_q 30 "cbp2p_peer_receive_bytes_total{peer=\"$k2\"} > 0"
	wait_q 30 "cbp2p_peer_transmit_bytes_total{peer=\"$k2\"} > 0"
	wait_q 30 "cbp2p_peer_latest_handshake_seconds{peer=\"$k2\"} > 0"
	wait_q 30 "cbp2p_peer_info{peer=\"$k2\",routing=\"hybrid\"} == 1"
	wait_q 60 'sum(cbp2p_peer_rtt_seconds_count{job="node"}) > 0'
	wait_q 30 'cbp2p_relay_connected{job="node"} == 1'
	wait_q 30 'cbp2p_relay_connections_total{job="node"} >= 1'
	wait_q 30 'cbp2p_packets_dropped_total{job="node",reason="decrypt"} >= 0'
	wait_q 30 'cbp2p_discovery_updates_total{job="node",result="admitted"} >= 1'
	wait_q 30 "cbp2p_peer_receive_packets_total{peer=\"$k2\"} > 0"
	wait_q 30 "cbp2p_peer_transmit_packets_total{peer=\"$k2\"} > 0"
	# Fewer packets than bytes, and at least as many as pings sent.
	wait_q 30 "cbp2p_peer_transmit_packets_total{peer=\"$k2\"} < cbp2p_peer_transmit_bytes_total{peer=\"$k2\"} / 32"
	wait_q 30 'cbp2p_registry_state{job="node",state="registered"} == 1'
	[ "$(q 'sum(cbp2p_registry_state{job="node"})')" = 2 ] ||
	    atf_fail "a node is in more or less than one registry state"
	wait_q 30 'cbp2p_registry_errors_total{job="node",kind="connect"} == 0'
	wait_q 30 'cbp2p_registry_rtt_seconds{job="node"} > 0'
	wait_q 30 'cbp2p_discovery_events_total{job="node",event="added"} == 1'
	wait_q 30 'cbp2p_discovery_events_total{job="node",event="removed"} == 0'
	wait_q 30 'cbp2p_discovery_events_total{job="node",event="pending"} == 0'
	wait_q 30 'cbp2p_edge_registrations == 2'
	wait_q 30 'cbp2p_edge_meshes == 1'
	wait_q 30 'cbp2p_edge_requests_total{code="200"} > 0'
	wait_q 30 'cbp2p_edge_relay_connections == 2'
	wait_q 30 'cbp2p_edge_stun_requests_total{result="answered"} > 0'
	wait_q 30 'cbp2p_edge_build_info == 1'

	promcheck node "$(cat n1.ns)" "$("$NATLAB" -p "$LAB" pub n1):$NODE_PORT"
	promcheck edge "$LAB-edge" "$EDGE_METRICS"
	# Only /metrics is served, and only GET and HEAD.
	scrape "$(cat n1.ns)" "$("$NATLAB" -p "$LAB" pub n1):$NODE_PORT" / &&
	    atf_fail "cbmeshd serves /"
	# Labels bounded: one peer key on each node, enums otherwise.
	n=$(grep -o 'peer="[^"]*"' node.metrics | sort -u | wc -l)
	[ "$n" -eq 1 ] || atf_fail "$n peer labels on n1"
	# The daemons run on, sandboxed.
	kill -0 "$(cat n1.pid)" "$(cat edge.pid)" || atf_fail "a daemon died"
}
scrape_cleanup()
{
	common
	cb_mesh_cleanup
}

atf_test_case off_and_reload cleanup
off_and_reload_head()
{
	atf_set descr "no metrics_address, no TCP listener; set on reload, cbmeshd serves it; moved on reload to another port, the old one closes; removed, nothing listens; a port in use refuses the reload"
	atf_set require.user root
	atf_set require.progs "curl promtool"
	atf_set timeout 120
}
off_and_reload_body()
{
	common
	cb_user
	cb_issuer_keys keys
	cb_wgkeys a
	cb_claims a server-server 10.99.0.1/24
	cb_token a ES256 keys
	cb_config a ES256 keys
	cb_start a
	ns=$(cat a.ns)
	ip netns exec "$ns" ss -Htln > listen.txt
	[ ! -s listen.txt ] || { cat listen.txt; atf_fail "a TCP listener"; }

	echo "metrics_address: 127.0.0.1:9100" >> a.yaml
	cb_ctl a reload || atf_fail "reload"
	cb_until 10 scrape "$ns" 127.0.0.1:9100 ||
	    { cat a.log; atf_fail "no metrics on 9100 after reload"; }
	promcheck a "$ns" 127.0.0.1:9100
	grep -q '^cbp2p_peers{path="none"} ' a.metrics ||
	    { cat a.metrics; atf_fail "no cbp2p_peers"; }
	# The listener belongs to cbmeshd, not to root.
	ip netns exec "$ns" ss -Htlnp 'sport = :9100' > owner.txt
	grep -q cbmeshd owner.txt || { cat owner.txt; atf_fail "not cbmeshd's"; }

	sed -i 's/^metrics_address: .*/metrics_address: 127.0.0.1:9200/' a.yaml
	cb_ctl a reload || atf_fail "reload to 9200"
	cb_until 10 scrape "$ns" 127.0.0.1:9200 || atf_fail "no metrics on 9200"
	scrape "$ns" 127.0.0.1:9100 && atf_fail "9100 still served"

	# A port something else holds: the reload is refused, 9200 stays.
	ip netns exec "$ns" python3 -c "
import socket, time
s = socket.socket(); s.bind(('127.0.0.1', 9300)); s.listen(1)
time.sleep(30)" &
	echo $! > holder.pid
	cb_until 10 sh -c "ip netns exec $ns ss -Htln | grep -q ':9300 '"
	sed -i 's/^metrics_address: .*/metrics_address: 127.0.0.1:9300/' a.yaml
	cb_ctl a reload > reload.out 2>&1 && atf_fail "reload onto a used port"
	cat reload.out
	grep -q "metrics_address" reload.out || atf_fail "refusal does not say why"
	scrape "$ns" 127.0.0.1:9200 > /dev/null || atf_fail "9200 lost"
	kill "$(cat holder.pid)"

	sed -i '/^metrics_address: /d' a.yaml
	cb_ctl a reload || atf_fail "reload without metrics"
	cb_until 10 sh -c "! ip netns exec $ns ss -Htln | grep -q ':9200 '" ||
	    atf_fail "9200 still listening"
	kill -0 "$(cat a.pid)" || atf_fail "cbp2pd died"
}
off_and_reload_cleanup()
{
	common
	[ -f holder.pid ] && kill "$(cat holder.pid)" 2>/dev/null
	cb_kill a
}

atf_init_test_cases()
{
	atf_add_test_case scrape
	atf_add_test_case off_and_reload
}
