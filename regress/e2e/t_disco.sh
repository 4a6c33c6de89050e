#! /usr/bin/atf-sh
# cbdiscod's promises against an edge that is not what it should be: a
# certificate for another host, a registry that lists hostile entries
# (regress/e2e/fakereg.py, talking to the real cbdiscod), a registry that
# is down, and a peer that announces new endpoints.  Each case runs in a
# NAT lab (scripts/natlab.sh) with public nodes; the edge's namespace
# holds cbedged or the scripted registry at 203.0.113.1.

common()
{
	. "$(atf_get_srcdir)/common.sh"
	LAB=d$$
	FAKEREG="$(atf_get_srcdir)/fakereg.py"
}

lab_up()
{
	echo "$LAB" > lab
	"$NATLAB" -p "$LAB" up "$@" > lab.out 2>&1 ||
	    { cat lab.out; atf_fail "natlab up"; }
	cb_user
	cb_issuer_keys keys
	cb_edge_certs
}

# fakereg_start list|dead: the scripted registry in the edge namespace;
# "list" serves peers.json.
fakereg_start()
{
	if [ "$1" = list ]; then
		set -- list "$EDGE_IP" 8443 "$PWD/edge.crt" "$PWD/edge.key" \
		    "$PWD/peers.json" "$PWD/fakereg.log"
	else
		set -- dead "$EDGE_IP" 8443 "$PWD/fakereg.log"
	fi
	ip netns exec "$(cat lab)-edge" python3 "$FAKEREG" "$@" \
	    > fakereg.out 2>&1 < /dev/null &
	echo $! > fakereg.pid
	cb_until $WAIT_SECS grep -qx ready fakereg.out ||
	    { cat fakereg.out; atf_fail "the scripted registry did not start"; }
}

# Everything a case may have started, wireguard-go first (SIGTERM, so it
# removes its socket), then the daemons, the lab, the sockets.
disco_cleanup()
{
	common
	if [ -f wggo.list ]; then
		for ifn in $(cat wggo.list); do
			cb_wggo_stop "$ifn"
		done
	fi
	cb_mesh_cleanup
	for y in *.yaml; do
		[ -f "$y" ] || continue
		ifn=$(sed -n 's/^interface: //p' "$y")
		[ -z "$ifn" ] || rm -f "/var/run/wireguard/$ifn.sock"
	done
	return 0
}

disco_state()
{
	cb_ctl "$1" -j status |
	    jq -r '.children[] | select(.name == "cbdiscod") | .state'
}

# health: the edge's registrations, as an HTTPS client trusting CA.
registrations()
{
	ip netns exec "$LAB-edge" python3 -c "
import http.client, json, ssl
c = ssl.create_default_context(cafile='$1')
c.check_hostname = False
h = http.client.HTTPSConnection('$EDGE_IP', 8443, context=c, timeout=5)
h.request('GET', '/v1/health')
print(json.loads(h.getresponse().read())['registrations'])"
}

atf_test_case wrong_name cleanup
wrong_name_head()
{
	atf_set descr "cbdiscod refuses an edge certificate from the trusted CA that names another host"
	atf_set require.user root
	atf_set timeout 120
}
wrong_name_body()
{
	common
	lab_up n1:public
	# The right CA, the wrong names: another address and a DNS name,
	# never the registry's 203.0.113.1.
	cp edge.crt edge-right.crt
	printf 'subjectAltName=IP:203.0.113.2,DNS:edge.example,DNS:%s\n' \
	    "$EDGE_IP" > other.ext
	openssl x509 -req -in edge.csr -CA ca.crt -CAkey ca.key \
	    -CAcreateserial -out edge.crt -days 2 -extfile other.ext \
	    2>/dev/null || atf_fail "certificate for another host"
	openssl verify -CAfile ca.crt edge.crt || atf_fail "not from the CA"
	cb_edge_start
	cb_mesh_node n1 10.99.0.1
	cb_start n1
	cb_until 20 sh -c "$CBP2PCTL -s n1.sock status | grep -q 'registry unreachable'" ||
	    atf_fail "n1 did not refuse the edge: $(disco_state n1)"
	disco_state n1
	[ "$(registrations ca.crt)" = 0 ] ||
	    atf_fail "n1 registered with an edge named otherwise"
	kill -0 "$(cat n1.pid)" || atf_fail "cbp2pd died"

	# The same edge with a certificate naming it: n1 registers on its
	# next retry (backoff at most 30 s), so the refusal was the name.
	cb_edge_stop
	cp edge-right.crt edge.crt
	cb_edge_start
	cb_until 60 sh -c "$CBP2PCTL -s n1.sock status | grep -q 'registered, mesh'" ||
	    atf_fail "n1 did not register with the right certificate: $(disco_state n1)"
	[ "$(registrations ca.crt)" = 1 ] || atf_fail "not registered"
}
wrong_name_cleanup()
{
	disco_cleanup
}

# peer_json KEY ADDRESS ALLOWED-IPS-JSON: one registry entry, with a
# registry token from the issuer that grants what it lists (in mesh
# $REGMESH, or the subnet's): what a peer cbdiscod is to check.
peer_json()
{
	printf '{"public_key": "%s", "hostname": "h", "listen_port": 51820, "endpoints": ["203.0.113.50:51820"], "address": "%s", "allowed_ips": %s, "registry_token": "%s"}' \
	    "$1" "$2" "$3" "$(cb_regtoken "$1" "$2" "$3" ${REGMESH:-})"
}

# keys p1 ... : a public key for each name, in NAME.pub.
keys()
{
	for k in "$@"; do
		wg genkey | wg pubkey > "$k.pub"
	done
}

# allowed KEYFILE: the allowed IPs n1 gave that peer, sorted, one line.
allowed()
{
	wg show "cb$$n1" allowed-ips | grep "^$(cat "$1")	" | cut -f 2 |
	    tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//'
}

atf_test_case prefixes_subnet cleanup
prefixes_subnet_head()
{
	atf_set descr "a hostile registry's default routes and prefixes outside the subnet never reach the data plane"
	atf_set require.user root
	atf_set timeout 120
}
prefixes_subnet_body()
{
	common
	lab_up n1:public
	keys p1 p2 p3 p4 p5
	# The mesh is 10.99.0.0/24 (cb_claims).  cbdiscod(8): a peer's
	# allowed IPs are those it registered inside the subnet, or else its
	# tunnel address alone; an entry with neither is skipped.  The
	# issuer granted each what it lists: the subnet alone decides here.
	{
		printf '{"version": 5, "peers": [\n'
		peer_json "$(cat p1.pub)" 10.99.0.11/24 '["0.0.0.0/0"]'
		printf ',\n'
		peer_json "$(cat p2.pub)" 10.99.0.12/24 \
		    '["10.99.0.12/32", "192.168.50.0/24", "10.0.0.0/8"]'
		printf ',\n'
		peer_json "$(cat p3.pub)" 192.168.60.1/24 '["192.168.60.0/24"]'
		printf ',\n'
		peer_json "$(cat p4.pub)" 10.99.0.14/24 '["10.99.0.14/32"]'
		printf ',\n'
		peer_json "$(cat p5.pub)" 10.99.0.15/24 \
		    '["::/0", "10.99.0.15/32", "10.99.0.0/16"]'
		printf ']}\n'
	} > peers.json
	jq . peers.json > /dev/null || atf_fail "peers.json"
	fakereg_start list
	cb_mesh_node n1 10.99.0.1
	cb_start n1
	cb_until 30 sh -c "[ \$($CBP2PCTL -j -s n1.sock peers | jq length) = 4 ]" ||
	    atf_fail "n1 did not take the list: $(disco_state n1)"
	disco_state n1
	wg show "cb$$n1" allowed-ips | tee aips
	[ "$(allowed p1.pub)" = 10.99.0.11/32 ] || atf_fail "p1: $(allowed p1.pub)"
	[ "$(allowed p2.pub)" = 10.99.0.12/32 ] || atf_fail "p2: $(allowed p2.pub)"
	[ "$(allowed p4.pub)" = 10.99.0.14/32 ] || atf_fail "p4: $(allowed p4.pub)"
	[ "$(allowed p5.pub)" = 10.99.0.15/32 ] || atf_fail "p5: $(allowed p5.pub)"
	grep -q "$(cat p3.pub)" aips && atf_fail "p3, outside the subnet, is a peer"
	grep -E '0\.0\.0\.0/0|::/0|192\.168\.|10\.0\.0\.0/8|10\.99\.0\.0/16' \
	    aips && atf_fail "a prefix outside the subnet was installed"
	disco_state n1 | grep -q ' 1 bad entries' ||
	    atf_fail "p3's entry not counted as bad: $(disco_state n1)"
	# Nothing was left for the parent to refuse.
	cb_ctl n1 -j status | jq -e '[.discovery.refused[]] | add == 0' ||
	    atf_fail "the parent refused something: $(cb_ctl n1 -j status | jq -c .discovery)"
	# The tunnel's routes: traffic for 192.168.50.1 goes nowhere near p2.
	ip -n "$(cat n1.ns)" route get 192.168.50.1 | grep -q "cb$$n1" &&
	    atf_fail "a route into the tunnel for 192.168.50.1"
	kill -0 "$(cat n1.pid)" || atf_fail "cbp2pd died"
}
prefixes_subnet_cleanup()
{
	disco_cleanup
}

atf_test_case prefixes_no_subnet cleanup
prefixes_no_subnet_head()
{
	atf_set descr "a mesh without a subnet: only host addresses in the node's own network are admitted"
	atf_set require.user root
	atf_set timeout 120
}
prefixes_no_subnet_body()
{
	common
	lab_up n1:public
	keys p1 p2 p3 p4 p5 p6 p7
	REGMESH=no-subnet-mesh
	# No network_config.subnet: the mesh is the network of the node's
	# address, 10.99.0.0/24.  cbdiscod keeps the prefixes inside it (or
	# else the peer's address as a host route, or skips the entry), and
	# the parent (cbp2pd(8)) refuses a whole update with anything but a
	# host address in it.
	{
		printf '{"version": 5, "peers": [\n'
		peer_json "$(cat p1.pub)" 10.99.0.11/24 '["0.0.0.0/0"]'
		printf ',\n'
		peer_json "$(cat p2.pub)" 10.99.0.12/24 \
		    '["10.99.0.12/32", "192.168.50.0/24"]'
		printf ',\n'
		peer_json "$(cat p3.pub)" 192.168.60.1/24 '[]'
		printf ',\n'
		peer_json "$(cat p4.pub)" 10.99.0.14/24 '["10.99.0.14/32"]'
		printf ',\n'
		peer_json "$(cat p5.pub)" 10.99.0.15/24 '["10.99.0.0/24"]'
		printf ',\n'
		peer_json "$(cat p6.pub)" 10.99.1.6/24 '["10.99.1.6/32"]'
		printf ',\n'
		peer_json "$(cat p7.pub)" 10.99.0.17/24 \
		    '["10.99.0.17/32", "10.99.0.128/25"]'
		printf ']}\n'
	} > peers.json
	jq . peers.json > /dev/null || atf_fail "peers.json"
	fakereg_start list
	cb_mesh_node n1 10.99.0.1 \
	    'del(.network_config.subnet) | .mesh = "no-subnet-mesh"'
	jq -e '.network_config | has("subnet") | not' n1.claims ||
	    atf_fail "the claims still have a subnet"
	cb_start n1
	judged()
	{
		cb_ctl n1 -j status > st.json 2>/dev/null &&
		    [ "$(jq '.discovery.admitted + ([.discovery.refused[]] | add)' \
		    st.json)" -ge 5 ]
	}
	cb_until 30 judged ||
	    atf_fail "the list was not judged: $(jq -c .discovery st.json)"
	jq -c .discovery st.json
	disco_state n1
	# p5 and p7 reach the parent and are refused whole.
	[ "$(jq .discovery.refused.outside_subnet st.json)" = 2 ] ||
	    atf_fail "outside_subnet: $(jq .discovery.refused.outside_subnet st.json)"
	[ "$(jq '[.discovery.refused[]] | add' st.json)" = 2 ] ||
	    atf_fail "other refusals: $(jq -c .discovery.refused st.json)"
	grep -q "refused peer .*: outside_subnet 10.99.0.0/24" n1.log ||
	    atf_fail "no log line for the network prefix"
	grep -q "refused peer .*: outside_subnet 10.99.0.128/25" n1.log ||
	    atf_fail "no log line for the /25"
	# p3 and p6, nothing usable in the mesh: skipped by cbdiscod.
	disco_state n1 | grep -q ' 2 bad entries' ||
	    atf_fail "bad entries: $(disco_state n1)"
	wg show "cb$$n1" allowed-ips | tee aips
	[ "$(wc -l < aips)" = 3 ] || atf_fail "not three peers"
	[ "$(allowed p1.pub)" = 10.99.0.11/32 ] || atf_fail "p1: $(allowed p1.pub)"
	[ "$(allowed p2.pub)" = 10.99.0.12/32 ] || atf_fail "p2: $(allowed p2.pub)"
	[ "$(allowed p4.pub)" = 10.99.0.14/32 ] || atf_fail "p4: $(allowed p4.pub)"
	grep -E '0\.0\.0\.0/0|192\.168\.|10\.99\.0\.0/24|10\.99\.1\.|10\.99\.0\.1[57]/|/25' \
	    aips && atf_fail "a refused prefix was installed"
	kill -0 "$(cat n1.pid)" || atf_fail "cbp2pd died"
}
prefixes_no_subnet_cleanup()
{
	disco_cleanup
}

atf_test_case names cleanup
names_head()
{
	atf_set descr "the registry's hostnames name the peers in cbp2pctl peers; controls, spaces, non-ASCII and overlong names are dropped and counted, the peers kept"
	atf_set require.user root
	atf_set timeout 120
}
names_body()
{
	common
	lab_up n1:public
	keys p1 p2 p3 p4 p5 p6 p7
	# (A NUL in any string makes jansson refuse the whole list.)
	long=$(printf '%065d' 0)
	# name_json KEYFILE HOST-NUMBER HOSTNAME-MEMBER: an entry whose
	# hostname member is given as JSON text (or empty: none at all).
	name_json()
	{
		nj_member=
		[ -z "$3" ] || nj_member="\"hostname\": $3, "
		printf '{"public_key": "%s", %s"listen_port": 51820, "endpoints": ["203.0.113.50:51820"], "address": "10.99.0.%s/24", "allowed_ips": ["10.99.0.%s/32"], "registry_token": "%s"}' \
		    "$(cat "$1")" "$nj_member" "$2" "$2" \
		    "$(cb_regtoken "$(cat "$1")" "10.99.0.$2/24" \
		    "[\"10.99.0.$2/32\"]")"
	}
	{
		printf '{"version": 5, "peers": [\n'
		name_json p1.pub 11 '"node-p1.example"'
		printf ',\n'
		# A terminal title and a bell, if it were shown.
		name_json p2.pub 12 '"evil\u001b]0;owned\u0007"'
		printf ',\n'
		name_json p3.pub 13 "\"$long\""
		printf ',\n'
		name_json p4.pub 14 '"two words"'
		printf ',\n'
		name_json p5.pub 15 '"caf\u00e9"'
		printf ',\n'
		name_json p6.pub 16 '17'
		printf ',\n'
		name_json p7.pub 17 ''
		printf ']}\n'
	} > peers.json
	jq . peers.json > /dev/null || atf_fail "peers.json"
	fakereg_start list
	cb_mesh_node n1 10.99.0.1
	cb_start n1
	cb_until 30 sh -c "[ \$($CBP2PCTL -j -s n1.sock peers | jq length) = 7 ]" ||
	    atf_fail "n1 did not take the list: $(disco_state n1)"
	disco_state n1
	cb_ctl n1 -j peers > n1.peers
	name_of()
	{
		jq -r --arg k "$(cat "$1")" \
		    '.[] | select(.public_key == $k) | .name' n1.peers
	}
	[ "$(name_of p1.pub)" = node-p1.example ] ||
	    atf_fail "p1's name: $(name_of p1.pub)"
	for p in p2 p3 p4 p5 p6 p7; do
		[ "$(name_of $p.pub)" = null ] ||
		    atf_fail "$p has a name: $(name_of $p.pub)"
	done
	# Five dropped (each time the list is read); p7 had none to drop.
	bad=$(disco_state n1 | sed -n 's/.* \([0-9]*\) bad names.*/\1/p')
	[ -n "$bad" ] && [ "$bad" -ge 5 ] && [ $((bad % 5)) = 0 ] ||
	    atf_fail "bad names: $(disco_state n1)"
	# Nothing was left for the parent to refuse.
	cb_ctl n1 -j status | jq -e '[.discovery.refused[]] | add == 0' ||
	    atf_fail "the parent refused something: $(cb_ctl n1 -j status | jq -c .discovery)"
	# The text: one name line a peer, "-" for none, no control byte.
	cb_ctl n1 peers > n1.text
	cat -v n1.text
	grep -qx "  name: node-p1.example" n1.text || atf_fail "no name line"
	[ "$(grep -c '^  name: -$' n1.text)" = 6 ] || atf_fail "no '-' lines"
	! grep -q "$(printf '[\001-\010\016-\037\177]')" n1.text ||
	    atf_fail "a control character in the output"
	kill -0 "$(cat n1.pid)" || atf_fail "cbp2pd died"
}
names_cleanup()
{
	disco_cleanup
}

atf_test_case backoff cleanup
backoff_head()
{
	atf_set descr "cbdiscod retries a dead registry with growing intervals"
	atf_set require.user root
	# 1 + 2 + 4 + 8 + 16 s of retries, then margins.
	atf_set timeout 150
}
backoff_body()
{
	common
	lab_up n1:public
	# Every connection is accepted and closed at once: no answer.
	fakereg_start dead
	cb_mesh_node n1 10.99.0.1
	cb_start n1
	# Six attempts: the first, then 1, 2, 4, 8, 16 s (each less a
	# random quarter, cbdiscod(8)).  The 30 s ceiling would take a
	# minute more of waiting; it is left to a unit test of the backoff.
	cb_until 90 sh -c '[ $(grep -c ^connect fakereg.log) -ge 6 ]' ||
	    { cat fakereg.log; atf_fail "fewer than 6 attempts in 90 s"; }
	cb_ctl n1 status | grep "registry unreachable" ||
	    atf_fail "n1 does not say the registry is unreachable"
	awk '/^connect/ { if (n++) printf "%.3f\n", $2 - last; last = $2 }' \
	    fakereg.log | head -5 > intervals
	echo "intervals between attempts, s:" $(cat intervals)
	# Growth: each of the first five longer than the one before, and
	# the fifth at least four times the first.
	awk 'NR <= 5 { if (NR > 1 && $1 <= prev) bad = 1; prev = $1 }
	    NR == 1 { first = $1 } NR == 5 { fifth = $1 }
	    END { exit bad || fifth < 4 * first }' intervals ||
	    atf_fail "the intervals do not grow"
	# Never faster than the documented 1 s less its quarter.
	awk '$1 < 0.5 { exit 1 }' intervals || atf_fail "a retry came too soon"
	kill -0 "$(cat n1.pid)" || atf_fail "cbp2pd died"
}
backoff_cleanup()
{
	disco_cleanup
}

# The latest handshake n1 has with B, in seconds since the epoch.
hs_b()
{
	wg show "cb$$n1" latest-handshakes | awk -v k="$(cat b.pub)" \
	    '$1 == k { print $2 }'
}

ep_b()
{
	wg show "cb$$n1" endpoints | awk -v k="$(cat b.pub)" \
	    '$1 == k { print $2 }'
}

# list_b VERSION ENDPOINT: the registry lists B at ENDPOINT.
list_b()
{
	printf '{"version": %s, "peers": [%s]}\n' "$1" \
	    "$(printf '{"public_key": "%s", "hostname": "b", "listen_port": 51820, "endpoints": ["%s"], "address": "10.99.0.2/24", "allowed_ips": ["10.99.0.2/32"], "registry_token": "%s"}' \
	    "$(cat b.pub)" "$2" "$(cb_regtoken "$(cat b.pub)" 10.99.0.2/24 \
	    '["10.99.0.2/32"]')")" > peers.json.new
	mv peers.json.new peers.json
}

atf_test_case new_endpoints cleanup
new_endpoints_head()
{
	atf_set descr "a peer that announces new endpoints gets a new handshake at once, not at the next rekey"
	atf_set require.user root
	atf_set require.progs "wireguard-go wg"
	atf_set timeout 120
}
new_endpoints_body()
{
	common
	lab_up n1:public b:public
	B=$("$NATLAB" -p "$LAB" ns b)
	umask 077
	wg genkey > b.priv
	wg pubkey < b.priv > b.pub
	umask 022
	cb_mesh_node n1 10.99.0.1
	# B is wireguard-go at 203.0.113.12 (natlab: node 2, public).
	cb_wggo "$B" "wgb$$" 10.99.0.2/24 51820 b.priv
	wg set "wgb$$" peer "$(cat n1.pub)" allowed-ips 10.99.0.1/32 ||
	    atf_fail "wg set peer"
	list_b 2 203.0.113.12:51820
	fakereg_start list
	cb_start n1
	N1=$(cat n1.ns)
	cb_until 30 ip netns exec "$N1" ping -c 1 -W 1 10.99.0.2 ||
	    atf_fail "n1 cannot reach B: $(disco_state n1)"
	h1=$(hs_b)
	echo "first handshake at $h1, endpoint $(ep_b)"
	[ "$(ep_b)" = 203.0.113.12:51820 ] || atf_fail "endpoint $(ep_b)"
	# The session is fresh: nothing would handshake again before
	# REKEY_AFTER_TIME (120 s), and only with traffic.  The protocol
	# sends at most one initiation per REKEY_TIMEOUT (5 s), so the
	# announcement comes later than that after h1 (the seconds are
	# whole: one more).
	cb_until 15 sh -c "[ \$(date +%s) -gt $((h1 + 6)) ]"

	# B takes another address too and announces only that one; B
	# counts the handshake initiations that arrive there.
	ip -n "$B" addr add 203.0.113.32/24 dev eth0
	ip netns exec "$B" nft -f - <<'NFT' || atf_fail "nft"
table inet cbtest {
	chain input {
		type filter hook input priority 0;
		ip daddr 203.0.113.32 udp dport 51820 @th,64,8 1 counter
	}
}
NFT
	list_b 3 203.0.113.32:51820
	cb_until 20 sh -c "[ \$(wg show cb$$n1 latest-handshakes | awk '\$1 == \"$(cat b.pub)\" { print \$2 }') -gt $h1 ]" ||
	    atf_fail "no new handshake after B announced 203.0.113.32: $(grep -c '^GET' fakereg.log) polls; $(disco_state n1)"
	echo "second handshake at $(hs_b), endpoint $(ep_b)"
	# Towards the new address (also to the old one, which still
	# works: whichever answers first is the endpoint).
	n=$(ip netns exec "$B" nft list table inet cbtest |
	    sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
	echo "initiations that reached 203.0.113.32: $n"
	[ "${n:-0}" -ge 1 ] || atf_fail "no initiation went to the new address"
	cb_ping "$N1" 10.99.0.2
	kill -0 "$(cat n1.pid)" || atf_fail "cbp2pd died"
}
new_endpoints_cleanup()
{
	disco_cleanup
}

atf_test_case untrusted_entries cleanup
untrusted_entries_head()
{
	atf_set descr "a hostile registry's entries that their registry tokens do not vouch for are refused and counted; the honest peer is kept and answers"
	atf_set require.user root
	atf_set require.progs "wireguard-go wg"
	atf_set timeout 120
}
untrusted_entries_body()
{
	common
	lab_up n1:public b:public
	B=$("$NATLAB" -p "$LAB" ns b)
	umask 077
	wg genkey > b.priv
	wg pubkey < b.priv > b.pub
	umask 022
	keys p1 p2 p3 p4 p5 p6
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out other.key 2>/dev/null || atf_fail "another issuer's key"
	cb_mesh_node n1 10.99.0.1
	cb_wggo "$B" "wgb$$" 10.99.0.2/24 51820 b.priv
	wg set "wgb$$" peer "$(cat n1.pub)" allowed-ips 10.99.0.1/32 ||
	    atf_fail "wg set peer"
	# entry KEYFILE HOST ALLOWED-IPS [TOKEN]: a peer at 10.99.0.HOST in
	# the tunnel and 203.0.113.HOST outside (B is natlab's node 2).
	entry()
	{
		printf '{"public_key": "%s", "hostname": "h%s", "listen_port": 51820, "endpoints": ["203.0.113.%s:51820"], "address": "10.99.0.%s/24", "allowed_ips": %s%s}' \
		    "$(cat "$1")" "$2" "$(($2 == 2 ? 12 : $2))" "$2" "$3" \
		    "${4:+, \"registry_token\": \"$4\"}"
	}
	{
		printf '{"version": 4, "peers": [\n'
		# B, honest: what it lists is what the issuer granted.
		entry b.pub 2 '["10.99.0.2/32"]' \
		    "$(cb_regtoken "$(cat b.pub)" 10.99.0.2/24 '["10.99.0.2/32"]')"
		printf ',\n'
		# A prefix beyond the grant: the registry widens p1's routes.
		entry p1.pub 11 '["10.99.0.11/32", "10.99.0.128/25"]' \
		    "$(cb_regtoken "$(cat p1.pub)" 10.99.0.11/24 '["10.99.0.11/32"]')"
		printf ',\n'
		# Signed by another issuer, granting the whole mesh (an empty
		# MESH argument is the default mesh).
		entry p2.pub 21 '["10.99.0.0/24"]' \
		    "$(cb_regtoken "$(cat p2.pub)" 10.99.0.21/24 '["10.99.0.0/24"]' "" other.key)"
		printf ',\n'
		# p4's token under p3's key.
		entry p3.pub 14 '["10.99.0.14/32"]' \
		    "$(cb_regtoken "$(cat p4.pub)" 10.99.0.14/24 '["10.99.0.14/32"]')"
		printf ',\n'
		# No token at all.
		entry p4.pub 15 '["10.99.0.15/32"]'
		printf ',\n'
		# Another mesh's token.
		entry p5.pub 16 '["10.99.0.16/32"]' \
		    "$(cb_regtoken "$(cat p5.pub)" 10.99.0.16/24 '["10.99.0.16/32"]' other-mesh)"
		printf ',\n'
		# Expired an hour ago.
		entry p6.pub 17 '["10.99.0.17/32"]' \
		    "$(CB_REGTOK_LIFE=-3600 cb_regtoken "$(cat p6.pub)" 10.99.0.17/24 '["10.99.0.17/32"]')"
		printf ']}\n'
	} > peers.json
	jq . peers.json > /dev/null || atf_fail "peers.json"
	fakereg_start list
	cb_start n1
	N1=$(cat n1.ns)
	cb_until 30 ip netns exec "$N1" ping -c 1 -W 1 10.99.0.2 ||
	    atf_fail "n1 cannot reach B: $(disco_state n1)"
	cb_ping "$N1" 10.99.0.2
	disco_state n1
	[ "$(cb_peer_keys n1)" = "$(cat b.pub)" ] ||
	    atf_fail "n1's peers are not B alone: $(cb_peer_keys n1)"
	wg show "cb$$n1" allowed-ips | tee aips
	[ "$(allowed b.pub)" = 10.99.0.2/32 ] || atf_fail "B: $(allowed b.pub)"
	grep -E '10\.99\.0\.(128|0/24|1[1-7])' aips &&
	    atf_fail "a prefix no token grants was installed"
	n=$(disco_state n1 | sed -n 's/.* \([0-9]*\) untrusted entries.*/\1/p')
	[ -n "$n" ] && [ "$n" -ge 6 ] ||
	    atf_fail "untrusted entries not counted: $(disco_state n1)"
	disco_state n1 | grep -q ' 0 bad entries' ||
	    atf_fail "counted as malformed: $(disco_state n1)"
	# Each refusal logged once, saying why.
	for why in "outside what its token grants" "signature" \
	    "not the key of its token" "no registry token" \
	    "another mesh" "exp: expired"; do
		[ "$(grep -c "registry: peer .* refused: .*$why" n1.log)" = 1 ] ||
		    atf_fail "not logged once: $why"
	done
	# Nothing untrusted reached the parent.
	cb_ctl n1 -j status | jq -e '[.discovery.refused[]] | add == 0' ||
	    atf_fail "the parent refused something: $(cb_ctl n1 -j status | jq -c .discovery)"
	kill -0 "$(cat n1.pid)" || atf_fail "cbp2pd died"
}
untrusted_entries_cleanup()
{
	disco_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case wrong_name
	atf_add_test_case prefixes_subnet
	atf_add_test_case prefixes_no_subnet
	atf_add_test_case names
	atf_add_test_case backoff
	atf_add_test_case new_endpoints
	atf_add_test_case untrusted_entries
}
