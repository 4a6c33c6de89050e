#! /usr/bin/atf-sh
# p2p-mesh: nodes holding only a token find each other through cbedged
# and talk directly, also behind NAT (the lab of scripts/natlab.sh).

common()
{
	. "$(atf_get_srcdir)/common.sh"
	LAB=m$$
}

# mesh_up SPEC...: the lab, the edge, and a node for each NAME:KIND;
# node i gets 10.99.0.i.  MESH_FILTER_<name> edits a node's claims.
mesh_up()
{
	echo "$LAB" > lab
	"$NATLAB" -p "$LAB" up "$@" > lab.out 2>&1 ||
	    { cat lab.out; atf_fail "natlab up"; }
	cb_user
	cb_issuer_keys keys
	cb_edge_certs
	cb_edge_start "${EDGE_EXTRA:-}"
	ni=1
	for spec in "$@"; do
		n=${spec%%:*}
		eval "f=\${MESH_FILTER_$n:-.}"
		cb_mesh_node "$n" "10.99.0.$ni" "$f"
		ni=$((ni + 1))
	done
	for spec in "$@"; do
		cb_start "${spec%%:*}"
	done
}

# can_ping NODE ADDR: true when NODE reaches ADDR through the tunnel.
can_ping()
{
	ip netns exec "$(cat "$1.ns")" ping -c 1 -W 1 "$2" >/dev/null 2>&1
}

wait_ping()
{
	cb_until "${3:-30}" can_ping "$1" "$2" ||
	    { cb_ctl "$1" status; atf_fail "$1 cannot reach $2"; }
}

# count_inits NODE FROM: count, in NODE's namespace, the WireGuard
# handshake initiations (type 1) arriving from address FROM (counter
# "inits_FROM" with the dots as _, read with inits).
count_inits()
{
	cn=inits_$(echo "$2" | tr . _)
	ip netns exec "$(cat "$1.ns")" nft -f - <<NFT || atf_fail "nft"
table ip witness {
	counter $cn { }
	chain in {
		type filter hook input priority 0;
		ip saddr $2 meta l4proto udp @th,64,8 1 counter name $cn
	}
}
NFT
}

# inits NODE FROM: what count_inits counted.
inits()
{
	ip netns exec "$(cat "$1.ns")" nft -j list counter ip witness \
	    "inits_$(echo "$2" | tr . _)" |
	    jq '.nftables[] | select(.counter) | .counter.packets'
}

# refused_tries NODE ADDR TO FROM: NODE pings ADDR once; true once node
# TO has seen a handshake initiation from address FROM (count_inits TO
# FROM first), or at once if the ping came back (NODE.reached says so).
refused_tries()
{
	if can_ping "$1" "$2"; then
		echo "$2" >> "$1.reached"
		return 0
	fi
	[ "$(inits "$3" "$4")" -ge 1 ]
}

# is_pending NODE KEY: NODE holds KEY back, waiting for approval.
is_pending()
{
	cb_ctl "$1" pending | grep -q "$2"
}

# nat_all NODE MAPPING: NODE's own NAT mapping in status and that of
# every one of its peers is MAPPING.
nat_all()
{
	[ "$(cb_ctl "$1" -j status | jq -r .nat)" = "$2" ] &&
	    [ "$(cb_ctl "$1" -j peers | jq -r '[.[].nat] | unique | join(" ")')" = "$2" ]
}

# disco_msgs NODE: the messages cbdiscod of NODE has handled.
disco_msgs()
{
	cb_ctl "$1" -j status |
	    jq '.children[] | select(.name == "cbdiscod") | .messages'
}

atf_test_case direct_nat cleanup
direct_nat_head()
{
	atf_set descr "three p2p-mesh nodes, two behind their own NAT, reach each other directly"
	atf_set require.user root
	atf_set timeout 120
}
direct_nat_body()
{
	common
	mesh_up n1:public n2:cone n3:cone
	for a in n1 n2 n3; do
		bi=1
		for b in n1 n2 n3; do
			[ "$a" = "$b" ] || wait_ping "$a" "10.99.0.$bi"
			bi=$((bi + 1))
		done
	done
	for n in n1 n2 n3; do
		[ "$(cb_peer_keys $n | wc -l)" = 2 ] ||
		    atf_fail "$n does not have two peers"
		# Named by the hostname each registered: all this machine's.
		[ "$(cb_ctl $n -j peers | jq -r '.[].name' | sort -u)" = \
		    "$(hostname)" ] ||
		    atf_fail "$n's peers' names: $(cb_ctl $n -j peers | jq -c '[.[].name]')"
	done
	# n2's path to n3 goes to n3's NAT, not through the edge.
	n3pub=$("$NATLAB" -p "$LAB" pub n3)
	wg show "cb$$n2" endpoints
	wg show "cb$$n2" endpoints | grep "$(cat n3.pub)" |
	    grep -q "	$n3pub:[0-9]*$" ||
	    atf_fail "n2 does not reach n3 at its NAT address $n3pub"
	cb_ctl n2 status | grep "registered, mesh version" ||
	    atf_fail "cbdiscod does not say it is registered"
	# No NAT and cone NATs map endpoint-independently: the edge's two
	# STUN ports see each node at one address, and peers hear of it.
	for n in n1 n2 n3; do
		cb_until 30 nat_all "$n" independent || {
			cb_ctl "$n" status
			cb_ctl "$n" -j peers | jq -c '.[] | [.public_key, .nat]'
			atf_fail "$n: NAT mappings not all independent"
		}
	done
	cb_ctl n2 status | grep -q "^nat: *independent mapping" ||
	    atf_fail "status text without the NAT mapping"
	grep -q "our NAT's mapping is independent" n2.log ||
	    atf_fail "n2 did not log its NAT's mapping"
}
direct_nat_cleanup()
{
	common
	cb_mesh_cleanup
}

atf_test_case whitelist cleanup
whitelist_head()
{
	atf_set descr "allowed_peers, auto_approve false and max_peers"
	atf_set require.user root
	# The sum of the waits below, each bounded on the clock.
	atf_set timeout 300
}
whitelist_body()
{
	common
	cb_user
	# Keys first: the whitelists name them.
	for n in n1 n2 n3 n4; do cb_wgkeys "$n.k"; done
	k1=$(cat n1.k.pub) k2=$(cat n2.k.pub) k4=$(cat n4.k.pub)
	# n1 and n2 allow each other only; n3 is outside every list.  n4
	# approves nobody by itself and takes at most one peer.
	MESH_FILTER_n1=".peer_whitelist.allowed_peers = [\"$k2\"]"
	MESH_FILTER_n2=".peer_whitelist.allowed_peers = [\"$k1\", \"$k4\"]"
	MESH_FILTER_n4=".peer_whitelist.auto_approve = false |
	    .peer_whitelist.max_peers = 1"
	export MESH_FILTER_n1 MESH_FILTER_n2 MESH_FILTER_n4
	for n in n1 n2 n3 n4; do
		cp "$n.k.priv" "$n.priv.keep"
		cp "$n.k.pub" "$n.pub.keep"
	done
	# cb_mesh_node makes fresh keys: give it these instead.
	cb_wgkeys()
	{
		cp "$1.priv.keep" "$1.priv"
		cp "$1.pub.keep" "$1.pub"
	}
	mesh_up n1:public n2:cone n3:public n4:public
	# Public addresses: n1 .11, n2's NAT .12, n3 .13, n4 .14.
	count_inits n1 203.0.113.13
	count_inits n4 203.0.113.12
	wait_ping n1 10.99.0.2
	wait_ping n2 10.99.0.1
	# n3: nobody configures it, so it reaches nobody.  It configures
	# everyone itself (auto_approve) and tries: n1 sees its initiations
	# and n1 and n2 see it in the registry's list, and hold it back.
	k3=$(cat n3.pub)
	cb_until 30 sh -c "$CBP2PCTL -j -s n3.sock peers | grep -q '$k1'" ||
	    atf_fail "n3 never configured n1"
	cb_until 30 refused_tries n3 10.99.0.1 n1 203.0.113.13 ||
	    atf_fail "n1 saw no initiation from n3"
	[ ! -f n3.reached ] || atf_fail "n3 reached n1"
	echo "n1 saw $(inits n1 203.0.113.13) initiations from n3"
	cb_until 30 is_pending n1 "$k3" || atf_fail "n3 is not pending at n1"
	cb_until 30 is_pending n2 "$k3" || atf_fail "n3 is not pending at n2"
	! can_ping n3 10.99.0.1 || atf_fail "n3 reached n1"
	! can_ping n3 10.99.0.2 || atf_fail "n3 reached n2"
	cb_peer_keys n1 | grep -q "$k3" && atf_fail "n1 has n3"
	cb_peer_keys n2 | grep -q "$k3" && atf_fail "n2 has n3"
	[ "$(cb_peer_keys n1)" = "$k2" ] || atf_fail "n1 has other peers"
	# n4: everyone pending until approved, and then one peer at most.
	# n2 allows n4, so it tries: n4 sees its initiations, and holds it
	# back with the two others.
	cb_until 30 sh -c "[ \$($CBP2PCTL -s n4.sock pending | wc -l) = 3 ]" ||
	    atf_fail "n4 should have 3 pending peers"
	cb_until 30 refused_tries n2 10.99.0.4 n4 203.0.113.12 ||
	    atf_fail "n4 saw no initiation from n2"
	[ ! -f n2.reached ] || atf_fail "n2 reached n4 before approval"
	echo "n4 saw $(inits n4 203.0.113.12) initiations from n2"
	[ -z "$(cb_peer_keys n4)" ] || atf_fail "n4 configured a peer itself"
	atf_check -s exit:0 -o match:approved "$CBP2PCTL" -s n4.sock \
	    approve "$k2"
	wait_ping n2 10.99.0.4
	wait_ping n4 10.99.0.2
	# n1 approved too, over max_peers 1.  cbdiscod handles the parent's
	# messages in order: once it has answered a status request made
	# after the approval (two more messages), it has judged it, and the
	# parent has whatever peer it sent back.
	m0=$(disco_msgs n4)
	atf_check -s exit:0 -o match:approved "$CBP2PCTL" -s n4.sock \
	    approve "$k1"
	m1=$(disco_msgs n4)
	[ "$m1" -ge $((m0 + 2)) ] ||
	    atf_fail "cbdiscod of n4 did not handle the approval: $m0 -> $m1 messages"
	[ "$(cb_peer_keys n4 | wc -l)" = 1 ] ||
	    atf_fail "n4 exceeds max_peers 1"
	is_pending n4 "$k1" || atf_fail "n1 not pending at n4"
}
whitelist_cleanup()
{
	common
	cb_mesh_cleanup
}

atf_test_case expiry cleanup
expiry_head()
{
	atf_set descr "a node that dies leaves the others' lists within the TTL; it comes back on restart"
	atf_set require.user root
	atf_set timeout 200
}
expiry_body()
{
	common
	# The survivors heartbeat every ttl/3 = 2 s: 4 s of room before they
	# expire too.  n3 must be gone within the ttl, the edge's 1 s sweep
	# and the long poll that tells n1: 6 + 1 + slack.
	EDGE_EXTRA="ttl: 6"
	mesh_up n1:public n2:cone n3:cone
	wait_ping n1 10.99.0.3
	n3=$(cat n3.pub)
	pid=$(cat n3.pid)
	for c in $(pgrep -P "$pid"); do kill -9 "$c"; done
	kill -9 "$pid"
	start=$(date +%s)
	cb_until 15 sh -c "! $CBP2PCTL -j -s n1.sock peers | grep -q '$n3'" ||
	    atf_fail "n3 still a peer of n1"
	took=$(($(date +%s) - start))
	echo "n3 left n1's peers after $took s (ttl 6)"
	[ "$(cb_peer_keys n2 | grep -c "$n3")" = 0 ] ||
	    cb_until 5 sh -c "! $CBP2PCTL -j -s n2.sock peers | grep -q '$n3'" ||
	    atf_fail "n3 still a peer of n2"
	cb_start n3
	wait_ping n1 10.99.0.3
	wait_ping n3 10.99.0.2
}
expiry_cleanup()
{
	common
	cb_mesh_cleanup
}

atf_test_case token_expiry cleanup
token_expiry_head()
{
	atf_set descr "at its token's exp a node stops registering and says so, keeps running, and a reload with a new token brings it back"
	atf_set require.user root
	# The sum of the waits below, each bounded on the clock.
	atf_set timeout 300
}
token_expiry_body()
{
	common
	# n2's token (and the registry token made from it) expires LIFE
	# seconds after it is minted: room for the lab, the start and a
	# registration on a slow machine.  ttl 6: n1's list loses n2
	# within 6 s of its last heartbeat, plus the 1 s sweep.
	LIFE=30
	EDGE_EXTRA="ttl: 6"
	MESH_FILTER_n2=".exp = (now | floor) + $LIFE"
	mesh_up n1:public n2:public
	exp=$(jq .exp n2.claims)
	wait_ping n1 10.99.0.2
	[ "$(cb_peer_keys n1)" = "$(cat n2.pub)" ] || atf_fail "n1 lacks n2"
	cb_ctl n2 -j status > before.json
	jq -e --argjson e "$exp" '.token.exp == $e and
	    (.token.expired | not)' before.json > /dev/null ||
	    { cat before.json; atf_fail "status before expiry"; }
	[ "$(date +%s)" -lt "$exp" ] ||
	    atf_skip "the node registered only after its token expired"
	# At exp (plus the timer's second), status says so ...
	cb_until $((exp - $(date +%s) + 15)) sh -c "$CBP2PCTL -j -s n2.sock \
	    status | jq -e .token.expired > /dev/null" ||
	    { cb_ctl n2 status; atf_fail "n2 does not say its token expired"; }
	cb_ctl n2 status > after.txt
	cat after.txt
	grep -q "token expired at " after.txt || atf_fail "status text"
	cb_ctl n2 -j status > after.json
	jq -e '.token.state | startswith("token expired at ")' after.json \
	    > /dev/null || atf_fail "status JSON"
	cb_until 10 sh -c "$CBP2PCTL -j -s n2.sock status | jq -e '.children[] |
	    select(.name == \"cbdiscod\") | .state == \"stopped: token expired\"' \
	    > /dev/null" || { cb_ctl n2 -j status; atf_fail "cbdiscod state"; }
	# Less than a day to live at start: warned then, and at exp.
	grep -q "token: expires at" n2.log || atf_fail "no warning"
	grep -q "token: expired at" n2.log || atf_fail "no log line"
	# ... the edge no longer hears from it: n1's list loses it ...
	cb_until 20 sh -c "! $CBP2PCTL -j -s n1.sock peers | \
	    grep -q '$(cat n2.pub)'" || atf_fail "n2 still a peer of n1"
	[ "$(ip netns exec "$LAB-edge" python3 -c "
import http.client, json, ssl
c = ssl.create_default_context(cafile='ca.crt')
h = http.client.HTTPSConnection('$EDGE_IP', 8443, context=c, timeout=5)
h.request('GET', '/v1/health')
print(json.loads(h.getresponse().read())['registrations'])")" = 1 ] ||
	    atf_fail "the edge still holds n2's registration"
	# ... and it keeps running and answering.
	kill -0 "$(cat n2.pid)" || atf_fail "n2 died"
	cb_ctl n2 status > /dev/null || atf_fail "n2 does not answer"
	# A reload with a new token: registered again, n1 reaches it.
	jq '.exp = (now | floor) + 3600' n2.claims > n2.claims.new &&
	    mv n2.claims.new n2.claims
	"$CBP2PCTL" token -r -a ES256 -k keys/es256.key n2.claims \
	    > n2.jwt || atf_fail "new token"
	cb_ctl n2 reload || atf_fail "reload"
	cb_ctl n2 -j status | jq -e '.token.expired | not' > /dev/null ||
	    atf_fail "still expired after the reload"
	wait_ping n1 10.99.0.2 45
}
token_expiry_cleanup()
{
	common
	cb_mesh_cleanup
}

atf_test_case edge_restart cleanup
edge_restart_head()
{
	atf_set descr "direct paths work while cbedged is down; nodes register again when it returns"
	atf_set require.user root
	# The sum of the waits below, each bounded on the clock.
	atf_set timeout 300
}
edge_restart_body()
{
	common
	# ttl 9: the nodes heartbeat every 3 s, so they notice the edge gone
	# within 3 s (not the default ttl's 30 s).  Once it is back, a node
	# retries after its backoff, at most REG_BACKOFF_MAX = 30 s.
	EDGE_EXTRA="ttl: 9"
	mesh_up n1:public n2:cone
	wait_ping n1 10.99.0.2
	wait_ping n2 10.99.0.1
	cb_edge_stop
	cb_until 20 sh -c "$CBP2PCTL -s n2.sock status | grep -q 'registry unreachable'" ||
	    atf_fail "n2 does not report the registry down"
	cb_ctl n2 status
	cb_ping "$(cat n1.ns)" 10.99.0.2
	cb_ping "$(cat n2.ns)" 10.99.0.1
	[ "$(cb_peer_keys n1)" = "$(cat n2.pub)" ] || atf_fail "n1 lost n2"
	cb_edge_start "$EDGE_EXTRA"
	cb_until 45 sh -c "$CBP2PCTL -s n1.sock status | grep -q 'registered, mesh' && $CBP2PCTL -s n2.sock status | grep -q 'registered, mesh'" ||
	    atf_fail "nodes did not register again"
	[ "$(ip netns exec "$LAB-edge" python3 -c "
import http.client, json, ssl
c = ssl.create_default_context(cafile='ca.crt')
h = http.client.HTTPSConnection('$EDGE_IP', 8443, context=c, timeout=5)
h.request('GET', '/v1/health')
print(json.loads(h.getresponse().read())['registrations'])")" = 2 ] ||
	    atf_fail "the edge does not hold both registrations"
	cb_ping "$(cat n1.ns)" 10.99.0.2
}
edge_restart_cleanup()
{
	common
	cb_mesh_cleanup
}

atf_test_case wrong_ca cleanup
wrong_ca_head()
{
	atf_set descr "cbdiscod refuses an edge whose certificate is not from the configured CA"
	atf_set require.user root
	atf_set timeout 60
}
wrong_ca_body()
{
	common
	echo "$LAB" > lab
	"$NATLAB" -p "$LAB" up n1:public > lab.out 2>&1 ||
	    { cat lab.out; atf_fail "natlab up"; }
	cb_user
	cb_issuer_keys keys
	cb_edge_certs
	# The edge shows a certificate from a CA the node does not trust.
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	    -nodes -keyout rogue.key -out rogue.crt -subj /CN=rogue \
	    -days 2 2>/dev/null || atf_fail "rogue CA"
	openssl x509 -req -in edge.csr -CA rogue.crt -CAkey rogue.key \
	    -CAcreateserial -out edge.crt -days 2 -extfile edge.ext \
	    2>/dev/null || atf_fail "rogue certificate"
	cb_edge_start
	cb_mesh_node n1 10.99.0.1
	cb_start n1
	cb_until 20 sh -c "$CBP2PCTL -s n1.sock status | grep -q 'registry unreachable'" ||
	    atf_fail "n1 did not refuse the edge: $(cb_ctl n1 status)"
	cb_ctl n1 status
	[ "$(ip netns exec "$LAB-edge" python3 -c "
import http.client, json, ssl
c = ssl.create_default_context(cafile='rogue.crt')
h = http.client.HTTPSConnection('$EDGE_IP', 8443, context=c, timeout=5)
h.request('GET', '/v1/health')
print(json.loads(h.getresponse().read())['registrations'])")" = 0 ] ||
	    atf_fail "n1 registered with an untrusted edge"
	kill -0 "$(cat n1.pid)" || atf_fail "cbp2pd died"
}
wrong_ca_cleanup()
{
	common
	cb_mesh_cleanup
}

atf_test_case bad_registry cleanup
bad_registry_head()
{
	atf_set descr "malformed registry replies are refused and counted; cbdiscod keeps going"
	atf_set require.user root
	atf_set timeout 120
}
bad_registry_body()
{
	common
	echo "$LAB" > lab
	"$NATLAB" -p "$LAB" up n1:public > lab.out 2>&1 ||
	    { cat lab.out; atf_fail "natlab up"; }
	cb_user
	cb_issuer_keys keys
	cb_edge_certs
	cb_wgkeys good
	cb_regtoken "$(cat good.pub)" 10.99.0.9/24 '["10.99.0.9/32"]' \
	    > good.regtok
	ip netns exec "$LAB-edge" python3 "$(atf_get_srcdir)/badreg.py" \
	    "$EDGE_IP" 8443 edge.crt edge.key "$(cat good.pub)" good.regtok \
	    > badreg.log 2>&1 < /dev/null &
	echo $! > badreg.pid
	cb_until $WAIT_SECS grep -qx ready badreg.log ||
	    { cat badreg.log; atf_fail "hostile registry did not start"; }
	cb_mesh_node n1 10.99.0.1
	cb_start n1
	# Eight bad lists, retried with backoff, then the good one.
	cb_until 90 sh -c "$CBP2PCTL -j -s n1.sock peers | grep -q '$(cat good.pub)'" ||
	    atf_fail "the good peer never came: $(cb_ctl n1 status)"
	cb_ctl n1 status
	st=$(cb_ctl n1 -j status | jq -r '.children[] | select(.name == "cbdiscod") | .state')
	bad=$(echo "$st" | sed -n 's/.* \([0-9]*\) bad replies.*/\1/p')
	entries=$(echo "$st" | sed -n 's/.* \([0-9]*\) bad entries.*/\1/p')
	[ "${bad:-0}" -ge 8 ] || atf_fail "bad replies counted: ${bad:-none}"
	[ "${entries:-0}" -ge 2 ] || atf_fail "bad entries counted: ${entries:-none}"
	# Only the good entry, with what it registered; its NAT mapping, a
	# kind cbdiscod does not know, is counted and taken as unknown.
	[ "$(cb_ctl n1 -j peers | jq length)" = 1 ] || atf_fail "peer count"
	[ "$(cb_ctl n1 -j peers | jq -r '.[0].allowed_ips[0]')" = \
	    10.99.0.9/32 ] || atf_fail "allowed IPs of the good peer"
	echo "$st" | grep -q " [1-9][0-9]* bad nat values" ||
	    atf_fail "bad nat value not counted: $st"
	[ "$(cb_ctl n1 -j peers | jq -r '.[0].nat')" = unknown ] ||
	    atf_fail "a NAT mapping cbdiscod does not know was kept"
	kill -0 "$(cat n1.pid)" || atf_fail "cbp2pd died"
}
bad_registry_cleanup()
{
	common
	cb_mesh_cleanup
}

# registry_has NODE PORT: the edge's peer list, as n2 reads it with its
# own registry token, has NODE registered with listen_port PORT.
registry_has()
{
	python3 -c 'import base64, json, sys
p = open(sys.argv[1]).read().split(".")[1]
print(json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    ["registry_token"])' n2.jwt > n2.regtok || return 1
	ip netns exec "$(cat n2.ns)" env EDGE="$EDGE_IP:8443" \
	    EDGE_CA="$PWD/ca.crt" python3 "$(atf_get_srcdir)/edgecli.py" \
	    req -t n2.regtok GET /v1/peers > reg.json || return 1
	jq -r '.body' reg.json | jq -e --arg k "$(cat "$1.pub")" \
	    --argjson p "$2" '.peers[] | select(.public_key == $k) |
	    select(.listen_port == $p)' >/dev/null
}

atf_test_case new_port cleanup
new_port_head()
{
	atf_set descr "wg set listen-port: the node's children announce the new port and its peers follow"
	atf_set require.user root
	atf_set timeout 120
}
new_port_body()
{
	common
	mesh_up n1:public n2:public
	wait_ping n2 10.99.0.1
	old=$(wg show "cb$$n1" listen-port)
	new=$((old == 40000 ? 40001 : 40000))
	atf_check wg set "cb$$n1" listen-port "$new"
	[ "$(wg show "cb$$n1" listen-port)" = "$new" ] || atf_fail "port"
	# The registry learns the new port from n1's cbdiscod (n2 could
	# learn it by roaming, the registry by STUN: ask for the port n1
	# registered itself).
	cb_until 60 registry_has n1 "$new" ||
	    { cat reg.json; atf_fail "the registry never heard of :$new"; }
	wait_ping n2 10.99.0.1
	wait_ping n1 10.99.0.2
}
new_port_cleanup()
{
	common
	cb_mesh_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case new_port
	atf_add_test_case bad_registry
	atf_add_test_case wrong_ca
	atf_add_test_case direct_nat
	atf_add_test_case whitelist
	atf_add_test_case expiry
	atf_add_test_case edge_restart
	atf_add_test_case token_expiry
}
