#! /usr/bin/atf-sh
# The registry under abuse.  flood: two real nodes register with cbedged
# and ping each other while a third namespace floods the edge with
# unfinished TLS handshakes, idle connections beyond the caps, slowloris
# heads, oversized heads and bodies and too many long polls; each
# refusal is counted, the nodes stay registered and keep pinging, and
# the edge's memory stays bounded.  reply_caps: a registry that answers
# too much or too slowly is refused by cbdiscod, which registers once
# it behaves.  Both run in the NAT lab (scripts/natlab.sh).

common()
{
	. "$(atf_get_srcdir)/common.sh"
	LAB=fl$$
	FLOOD="$(atf_get_srcdir)/edgeflood.py"
	CLI="$(atf_get_srcdir)/edgecli.py"
}

# Caps small enough to reach with a few dozen connections.
EDGE_CAPS="ttl: 12
rate: 1000
burst: 2000
max_connections: 32
max_connections_per_source: 20
max_handshakes: 8
handshake_timeout: 2
request_timeout: 4
max_header_bytes: 8192
max_header_lines: 32
long_polls_per_token: 2
long_poll_max: 10
metrics_address: 203.0.113.1:9100"
# The flooder's second address, on the lab's public segment.
FLOOD_IP2=203.0.113.200
# VmRSS of cbedged must stay below this, in KiB, through the flood: its
# start (about 10 MiB) and 32 connections of at most 8 KiB of head,
# 16 KiB of body and the TLS and HTTP state, with a wide margin.
RSS_BOUND=65536

# flood ARGS...: edgeflood.py from the flooder's namespace.
flood()
{
	ip netns exec "$FL" env EDGE="$EDGE_IP:8443" EDGE_CA="$PWD/ca.crt" \
	    python3 "$FLOOD" "$@"
}

health()
{
	ip netns exec "$FL" env EDGE="$EDGE_IP:8443" EDGE_CA="$PWD/ca.crt" \
	    python3 "$CLI" req GET /v1/health > health.json
	jq -e '.status == 200' health.json > /dev/null
}

# The flood is over: no more than the nodes' own connections are open.
settled()
{
	health && jq -e '.body.connections.open <= 4' health.json > /dev/null
}

# check FILE JQ-EXPR WHAT
check()
{
	jq -e "$2" "$1" > /dev/null || { cat "$1"; atf_fail "$3"; }
}

rss()
{
	awk '/^VmRSS:/ { print $2 }' "/proc/$(cat edge.pid)/status"
}

# regtok NODE: NODE's registry token, from its node token.
regtok()
{
	python3 -c 'import base64, json, sys
p = open(sys.argv[1]).read().split(".")[1]
print(json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    ["registry_token"])' "$1.jwt" > "$1.regtok" || atf_fail "regtok $1"
}

disco_state()
{
	cb_ctl "$1" -j status |
	    jq -r '.children[] | select(.name == "cbdiscod") | .state'
}

registered()
{
	disco_state "$1" | grep -q '^registered'
}

can_ping()
{
	ip netns exec "$(cat "$1.ns")" ping -c 1 -W 1 "$2" >/dev/null 2>&1
}

# heartbeat_since NODE LINE: the edge took a heartbeat of NODE after
# line LINE of its log.
heartbeat_since()
{
	tail -n +"$(($2 + 1))" edge.log |
	    grep -q "/v1/heartbeat: $(cut -c1-8 "$1.pub") in mesh"
}

atf_test_case flood cleanup
flood_head()
{
	atf_set descr "floods of cbedged's registry are refused and counted; two real nodes stay registered and keep pinging; memory stays bounded"
	atf_set require.user root
	atf_set timeout 180
}
flood_body()
{
	common
	echo "$LAB" > lab
	"$NATLAB" -p "$LAB" up n1:public n2:public fl:public > lab.out 2>&1 ||
	    { cat lab.out; atf_fail "natlab up"; }
	cb_user
	cb_issuer_keys keys
	cb_edge_certs
	cb_edge_start "$EDGE_CAPS"
	cb_mesh_node n1 10.99.0.1
	cb_mesh_node n2 10.99.0.2
	cb_start n1
	cb_start n2
	cb_until 30 registered n1 || atf_fail "n1 did not register"
	cb_until 30 registered n2 || atf_fail "n2 did not register"
	cb_until 30 can_ping n1 10.99.0.2 || atf_fail "n1 cannot reach n2"
	cb_until 30 can_ping n2 10.99.0.1 || atf_fail "n2 cannot reach n1"
	FL=$("$NATLAB" -p "$LAB" ns fl)
	ip -n "$FL" addr add "$FLOOD_IP2/24" dev eth0 || atf_fail "address"
	FL_IP1=$(ip -n "$FL" -4 -o addr show dev eth0 |
	    awk '{ sub("/.*", "", $4); print $4; exit }')
	regtok n1

	rss > rss.before
	# Through the flood: the edge's memory, its registrations (from
	# /metrics, which the registry's caps do not touch) and what each
	# node's cbdiscod says.
	( while kill -0 "$(cat edge.pid)" 2>/dev/null; do
		rss >> rss.during
		ip netns exec "$LAB-edge" curl -s -m 1 \
		    "http://$EDGE_IP:9100/metrics" |
		    awk '/^cbp2p_edge_registrations / { print $2 }' \
		    >> regs.during
		for n in n1 n2; do
			disco_state $n | cut -d, -f1 >> states.during
		done
		sleep 0.2
	done ) &
	echo $! > sampler.pid
	# A ping every 0.2 s through the flood, n1 to n2.
	ip netns exec "$(cat n1.ns)" ping -i 0.2 -W 1 10.99.0.2 \
	    > ping.out 2>&1 &
	echo $! > ping.pid

	# TCP connections that never start TLS: eight handshakes wait, the
	# rest are closed at accept; the eight at handshake_timeout.
	flood handshakes -n 40 -w 6 > hs.json
	check hs.json '.held <= 8 and .closed_at_once >= 32 and
	    .closed_later == .held' "handshake flood"
	# Idle TLS connections: 20 from one address, then the second
	# address fills the rest of the 32; all closed at request_timeout.
	flood conns -n 40 -w 10 -s "$FL_IP1" > conns1.json &
	c1=$!
	sleep 1
	flood conns -n 40 -w 10 -s "$FLOOD_IP2" > conns2.json
	wait $c1
	check conns1.json '.tls_ok == 20 and .refused == 20 and
	    .closed_later == 20' "connections from one address"
	check conns2.json '.tls_ok < 20 and .refused > 20 and
	    .closed_later == .tls_ok' "connections beyond the total"
	# Slowloris: a header byte a second is cut at request_timeout.
	flood slowloris -n 10 -w 20 > slow.json
	check slow.json '.opened == 10 and .closed == 10 and
	    .bytes_sent < 20' "slowloris"
	# Heads and bodies over the caps: the edge's own JSON, with codes.
	flood head bytes > bytes.json
	check bytes.json '.status == 431 and .body.code == "headers_too_large"' \
	    "oversized head"
	flood head lines > lines.json
	check lines.json '.status == 431 and .body.code == "too_many_headers"' \
	    "too many header lines"
	flood head -t n1.regtok body > body.json
	check body.json '.status == 413 and .body.code == "too_large"' \
	    "oversized body"
	# Long polls with n1's token: two may wait (n1's own among them).
	ip netns exec "$FL" env EDGE="$EDGE_IP:8443" EDGE_CA="$PWD/ca.crt" \
	    python3 "$CLI" req -t n1.regtok GET /v1/peers > peers.json
	v=$(jq .body.version peers.json)
	flood polls -n 4 -v "$v" -t n1.regtok > polls.json
	check polls.json '.answered.token_poll_limit >= 2' "polls per token"
	mark=$(wc -l < edge.log)

	# Counted, in /v1/health and /metrics.
	health || atf_fail "health"
	check health.json '.body.connections | .refused.handshakes >= 32 and
	    .refused.per_source >= 20 and .refused.connections >= 1 and
	    .closed.handshake_timeout >= 1 and .closed.request_timeout >= 30' \
	    "connection counters"
	check health.json '.body.refused | .headers_too_large >= 1 and
	    .too_many_headers >= 1 and .too_large >= 1 and
	    .token_poll_limit >= 2' "refusal counters"
	ip netns exec "$FL" curl -s "http://$EDGE_IP:9100/metrics" > metrics.txt
	for r in connections per_source handshakes; do
		grep -q "^cbp2p_edge_connections_refused_total{reason=\"$r\"} [1-9]" \
		    metrics.txt || { cat metrics.txt; atf_fail "metrics $r"; }
	done
	grep -q '^cbp2p_edge_refused_total{reason="too_many_headers"} [1-9]' \
	    metrics.txt || atf_fail "metrics too_many_headers"
	# Logged, but not a line a connection.
	lines=$(grep -c "registry connection from" edge.log)
	refusals=$(jq '.body.connections | [.refused[], .closed[]] | add' \
	    health.json)
	[ $((lines * 8)) -lt "$refusals" ] ||
	    atf_fail "$lines log lines for $refusals refusals"

	# The nodes: still registered, a heartbeat taken after the flood,
	# and pinging.
	for n in n1 n2; do
		cb_until 20 heartbeat_since $n "$mark" ||
		    atf_fail "no heartbeat of $n after the flood"
		registered $n || atf_fail "$n: $(disco_state $n)"
	done
	cb_until 10 can_ping n1 10.99.0.2 || atf_fail "n1 cannot reach n2"
	cb_until 10 can_ping n2 10.99.0.1 || atf_fail "n2 cannot reach n1"
	kill -INT "$(cat ping.pid)"
	cb_wait_exit "$(cat ping.pid)"
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' ping.out)
	got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' ping.out)
	[ "${sent:-0}" -gt 0 ] && [ $((${got:-0} * 2)) -ge "$sent" ] ||
	    { cat ping.out; atf_fail "pings through the flood"; }

	# A long poll waits longer than request_timeout: it is not cut.
	regtok n2
	ip netns exec "$FL" env EDGE="$EDGE_IP:8443" EDGE_CA="$PWD/ca.crt" \
	    python3 "$CLI" req -t n2.regtok GET /v1/peers > peers.json
	v=$(jq .body.version peers.json)
	ip netns exec "$FL" env EDGE="$EDGE_IP:8443" EDGE_CA="$PWD/ca.crt" \
	    python3 "$CLI" req -t n2.regtok GET "/v1/peers?since=$v&wait=7" \
	    > longpoll.json
	check longpoll.json '.status == 200 and .elapsed >= 5' \
	    "a long poll of 7 s with request_timeout 4 s"

	# The edge never lost a registration.
	kill "$(cat sampler.pid)"
	[ "$(sort -n regs.during | head -1)" = 2 ] ||
	    { sort -n regs.during | uniq -c; atf_fail "registrations"; }
	# Memory: before, the highest during, and once the flood is gone.
	cb_until 20 settled || atf_fail "connections still open"
	rss > rss.after
	during=$(sort -n rss.during | tail -1)
	echo "cbedged VmRSS KiB: before $(cat rss.before), highest during" \
	    "$during, after $(cat rss.after); bound $RSS_BOUND;" \
	    "pings n1->n2 through the flood: $got of $sent;" \
	    "cbdiscod states sampled: $(sort states.during | uniq -c |
	    tr -s ' \n' ' ')"
	[ "$during" -lt $RSS_BOUND ] ||
	    atf_fail "VmRSS $during KiB, over $RSS_BOUND"
	kill -0 "$(cat edge.pid)" || atf_fail "cbedged died"
}
flood_cleanup()
{
	common
	for f in sampler.pid ping.pid; do
		[ -f $f ] && kill "$(cat $f)" 2>/dev/null
	done
	cb_mesh_cleanup
}

atf_test_case reply_caps cleanup
reply_caps_head()
{
	atf_set descr "cbdiscod refuses registry replies over its caps on headers, body and time, counts them, and registers once the registry behaves"
	atf_set require.user root
	atf_set timeout 120
}
reply_caps_body()
{
	common
	echo "$LAB" > lab
	"$NATLAB" -p "$LAB" up n1:public > lab.out 2>&1 ||
	    { cat lab.out; atf_fail "natlab up"; }
	cb_user
	cb_issuer_keys keys
	cb_edge_certs
	ip netns exec "$LAB-edge" python3 "$(atf_get_srcdir)/bigreg.py" \
	    "$EDGE_IP" 8443 edge.crt edge.key > bigreg.log 2>&1 < /dev/null &
	echo $! > bigreg.pid
	cb_until $WAIT_SECS grep -qx ready bigreg.log ||
	    { cat bigreg.log; atf_fail "the registry did not start"; }
	cb_mesh_node n1 10.99.0.1
	cb_start n1
	disco=$(cb_children n1 | sort)
	# Headers, body, slowness: three refusals, retried with backoff
	# (1, 2, 4 s), the slow one after its 10 s; then registered.
	cb_until 60 registered n1 ||
	    { cat bigreg.log; atf_fail "never registered: $(disco_state n1)"; }
	st=$(disco_state n1)
	echo "$st"
	echo "$st" | grep -q " 2 refused replies, 1 late replies" ||
	    atf_fail "counts: $st"
	grep -q "reply headers malformed or over 8192 bytes: refused" n1.log &&
	    grep -q "reply body over 8388608 bytes: refused" n1.log ||
	    atf_fail "not logged"
	[ "$(grep -c '^/v1/register' bigreg.log)" -eq 4 ] ||
	    { cat bigreg.log; atf_fail "registrations"; }
	[ "$(cb_children n1 | sort)" = "$disco" ] ||
	    atf_fail "cbdiscod was restarted"
	kill -0 "$(cat n1.pid)" || atf_fail "cbp2pd died"
}
reply_caps_cleanup()
{
	common
	cb_mesh_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case flood
	atf_add_test_case reply_caps
}
